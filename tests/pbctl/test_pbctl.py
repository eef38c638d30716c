#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Integration tests of pbctl against real policyd and logd on loopback with the test PKI; one group per run.
#
# Usage: test_pbctl.py GROUP   (status, admin, hosts, sessions, stop, cancel, start)
# Environment: PBCTL, POLICYD, LOGD (the programs), PB_TESTS (tests/ folder).
import json
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

TESTS = os.environ.get("PB_TESTS", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(TESTS, "policyd"))
import pbwire as pw  # noqa: E402
import test_policyd as tp  # noqa: E402  (its TAP counter: one `ok` for both suites)

PBCTL = os.environ.get("PBCTL")
POLICYD = os.environ.get("POLICYD")
LOGD = os.environ.get("LOGD")

POLICY = """\
rules:
  - name: start
    when: {mode: shell start}
    accept: true
  - name: ls
    when: {command: /bin/ls}
    accept: true
"""

ok = tp.ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_gone(pid, secs):
    end = time.time() + secs
    while time.time() < end:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return not pid_alive(pid)


class Site:
    """One "host": a policyd and a logd with their own ports, files and pbsh.yaml per identity."""

    def __init__(self, tmp, pki, name="site", stop_timeout="3s"):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.pki = pki
        self.stop_timeout = stop_timeout
        with open(os.path.join(self.dir, "policy.yaml"), "w") as f:
            f.write(POLICY)
        self.pport = self.lport = 0
        self.new_ports()

    def new_ports(self):
        self.pport, self.lport = free_port(), free_port()
        for who in ("server", "admin", "host1"):
            self.write_conf(who)

    def conf(self, who="admin"):
        return os.path.join(self.dir, who + ".yaml")

    def write_conf(self, who):
        d = self.dir
        with open(self.conf(who), "w") as f:
            f.write(f"""\
admins: [admin]
tls:
  ca: {self.pki}/ca.crt
  cert: {self.pki}/{who}.crt
  key: {self.pki}/{who}.key
timeouts:
  connect: 2s
  request: 5s
policyd:
  listen: [127.0.0.1:{self.pport}]
  policy: {d}/policy.yaml
  pidfile: {d}/policyd.pid
  log: {d}/policyd.log
  frame_timeout: 30s
  stop_timeout: {self.stop_timeout}
logd:
  listen: [127.0.0.1:{self.lport}]
  eventlog: {d}/events.jsonl
  iolog_dir: {d}/io
  pidfile: {d}/logd.pid
  log: {d}/logd.log
  commit_interval: 200ms
  stop_timeout: {self.stop_timeout}
""")

    def start(self, daemon):
        prog = POLICYD if daemon == "policyd" else LOGD
        for _ in range(5):
            r = subprocess.run([prog, "-f", self.conf("server")], capture_output=True, text=True, timeout=20)
            if r.returncode == 0:
                return self.pid(daemon)
            if "in use" not in r.stderr + self.log(daemon):
                raise RuntimeError(f"{daemon} did not start: {r.stderr}")
            self.new_ports()  # someone took the port between our probe and the bind
        raise RuntimeError(f"{daemon}: no free port")

    def pid(self, daemon):
        try:
            return int(open(os.path.join(self.dir, daemon + ".pid")).read())
        except (OSError, ValueError):
            return 0

    def log(self, daemon):
        try:
            return open(os.path.join(self.dir, daemon + ".log")).read()
        except OSError:
            return ""

    def port(self, daemon):
        return self.pport if daemon == "policyd" else self.lport

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def start_both(self):
        return self.start("policyd"), self.start("logd")

    def kill(self):
        for d in ("policyd", "logd"):
            pid = self.pid(d)
            if pid > 0 and pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
                wait_gone(pid, 3)


def pbctl(site, *args, who="admin", timeout=60):
    r = subprocess.run([PBCTL, "-f", site.conf(who), *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def shell_session(site, user="alice"):
    """A policyd session as a shell holds it: Hello, ShellStart accepted."""
    c = pw.Conn(site.pport, site.pki, cert="host1")
    c.send(pw.hello(1))
    c.send(pw.shell_start(2, user=user))
    c.recv()
    rid, kind, f = c.recv()
    if kind != "decision" or not pw.decision(f)["accept"]:
        raise RuntimeError(f"shell start not accepted: {kind} {f}")
    return c


# --- a log session on logd (sudo_logsrv.proto) ---

def fld(num, payload):
    if isinstance(payload, str):
        payload = payload.encode()
    return pw.varint(num << 3 | 2) + pw.varint(len(payload)) + payload


def fint(num, v):
    return pw.varint(num << 3) + pw.varint(v)


class LogSession:
    def __init__(self, site, user="bob"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(f"{site.pki}/ca.crt")
        ctx.load_cert_chain(f"{site.pki}/host1.crt", f"{site.pki}/host1.key")
        raw = socket.create_connection(("127.0.0.1", site.lport), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.s.settimeout(10)
        self.buf = b""
        self.recv()  # ServerHello
        body = fld(1, fint(1, int(time.time())))
        for k, v in (("command", "/bin/sh"), ("runuser", "root"), ("submituser", user),
                     ("submithost", "host1.test")):
            body += fld(2, fld(1, k) + fld(3, v))
        body += fint(3, 1)
        self.send(fld(1, body))
        self.log_id = self.recv()

    def send(self, msg):
        self.s.sendall(struct.pack(">I", len(msg)) + msg)

    def recv(self):
        while True:
            if len(self.buf) >= 4:
                (n,) = struct.unpack(">I", self.buf[:4])
                if len(self.buf) >= 4 + n:
                    msg, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return pw.decode(msg)
            d = self.s.recv(65536)
            if not d:
                raise EOFError("closed")
            self.buf += d

    def ttyout(self, data):
        self.send(fld(7, fld(1, fint(2, 1000)) + fld(2, data)))

    def exit(self):
        self.send(fld(3, fld(1, fint(2, 5000)) + fint(2, 0)))

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def session_rows(out, daemon):
    return [line.split() for line in out.splitlines() if len(line.split()) >= 6 and line.split()[1] == daemon]


# ---------------------------------------------------------------------------

def group_status(tmp, pki):
    with Site(tmp, pki) as s:
        ppid, lpid = s.start_both()
        rc, out, err = pbctl(s, "status")
        lines = out.splitlines()
        ok(rc == 0 and lines == [f"127.0.0.1:{s.pport} policyd ENABLED {ppid}",
                                 f"127.0.0.1:{s.lport} logd ENABLED {lpid}"],
           "status: one line per daemon with state and pid", out + err)
        rc, out, err = pbctl(s, "status", "logd")
        ok(rc == 0 and out == f"127.0.0.1:{s.lport} logd ENABLED {lpid}\n", "status logd: that daemon only", out + err)
        rc, out, err = pbctl(s, "status", "-l")
        ok(rc == 0 and "program: policyd\n" in out and "program: logd\n" in out and f"pid: {ppid}\n" in out and
           "counter.decisions.start.accept: 0\n" in out and f"info.policy_path: {s.dir}/policy.yaml\n" in out and
           "counter.iolog.records: 0\n" in out and "uptime: " in out and "\nconfig: " in out,
           "status -l: every field the daemons report", out + err)

        # a certificate whose identity is not in admins
        rc, out, err = pbctl(s, "status", who="host1")
        ok(rc == 1 and out.split("\n")[0].split()[2] == "FAILED" and "not an administrator" in err and
           f"127.0.0.1:{s.pport} policyd" in err, "non-admin: FAILED, refused, error names host and daemon",
           out + err)
        ok("status request from host1.test at 127.0.0.1:" in s.log("policyd") and
           "refused: not an administrator" in s.log("policyd") and
           "refused: not an administrator" in s.log("logd"), "refusal written to both daemons' logs",
           s.log("policyd")[-600:] + s.log("logd")[-600:])
        ok("admin: status request from admin at 127.0.0.1:" in s.log("policyd"),
           "an accepted admin query is logged too", s.log("policyd")[-600:])

        # nothing listening
        os.kill(lpid, signal.SIGKILL)
        wait_gone(lpid, 3)
        rc, out, err = pbctl(s, "status")
        ok(rc == 3 and out.splitlines()[1] == f"127.0.0.1:{s.lport} logd NOTRUNNING -",
           "status: NOTRUNNING when nothing answers, exit 3", out + err)
        rc, out, err = pbctl(s, "reload", "logd")
        ok(rc == 1 and f"127.0.0.1:{s.lport} logd: not running" in err, "a command on a daemon not running fails",
           out + err)

        # usage errors
        for args, want in ((["bogus"], "unknown command"), (["-h", "127.0.0.1:1", "status"], "name the daemon"),
                           (["stop", "-f", "--cancel"], "exclude"), (["-h", "x", "start"], "local host only"),
                           (["kill-session", "abc"], "not a session id"), (["trace"], "needs a SPEC")):
            rc, out, err = pbctl(s, *args)
            ok(rc == 2 and want in err, f"usage error exits 2: {' '.join(args)}", err)
        r = subprocess.run([PBCTL, "-f", os.path.join(tmp, "missing.yaml"), "status"], capture_output=True, text=True)
        ok(r.returncode == 2 and "missing.yaml" in r.stderr, "unreadable configuration exits 2 naming it", r.stderr)


def group_admin(tmp, pki):
    with Site(tmp, pki) as s:
        s.start_both()
        rc, out, err = pbctl(s, "disable")
        ok(rc == 0 and f"127.0.0.1:{s.pport} policyd: disabled" in out and f"127.0.0.1:{s.lport} logd: disabled" in out,
           "disable both", out + err)
        rc, out, err = pbctl(s, "status")
        ok(rc == 0 and [line.split()[2] for line in out.splitlines()] == ["DISABLED", "DISABLED"], "status DISABLED",
           out)
        try:
            shell_session(s)
            ok(False, "a new shell is refused while disabled")
        except RuntimeError as e:
            ok("disabled" in str(e), "a new shell is refused while disabled", e)
        rc, out, err = pbctl(s, "enable", "policyd")
        ok(rc == 0 and "policyd: enabled" in out, "enable policyd", out + err)
        c = shell_session(s)
        ok(True, "shells welcome again after enable")
        c.close()
        rc, out, err = pbctl(s, "trace", "policy@5", "policyd")
        ok(rc == 0 and "policyd: trace policy@5" in out, "trace sets the spec", out + err)
        rc, out, err = pbctl(s, "status", "-l", "policyd")
        ok("debug: policy@5\n" in out, "status -l shows the trace spec", out)
        rc, out, err = pbctl(s, "trace", "bogus@@", "policyd")
        ok(rc == 1 and "bad trace spec" in err, "a bad trace spec is refused", out + err)
        rc, out, err = pbctl(s, "trace", "0")
        ok(rc == 0 and out.count(": trace 0") == 2, "trace off on both", out + err)

        rc, out, err = pbctl(s, "reload")
        ok(rc == 0 and out.count(": reloaded") == 2, "reload both", out + err)
        with open(os.path.join(s.dir, "policy.yaml"), "a") as f:
            f.write("  - name: bad\n    when: {weekday: someday}\n")
        rc, out, err = pbctl(s, "reload", "policyd")
        ok(rc == 1 and "policy.yaml:" in err and "someday" in err, "a failed reload says where", out + err)
        rc, out, err = pbctl(s, "status", "policyd")
        ok(rc == 0 and "ENABLED" in out, "the running policy stays after a failed reload", out)
        log = s.log("policyd")
        ok("admin: disable request from admin at 127.0.0.1:" in log and "done: disabled" in log and
           "admin: reload request from admin" in log and "failed:" in log,
           "admin actions and their outcomes in the daemon's log", log[-1500:])
        rc, out, err = pbctl(s, "disable", who="host1")
        ok(rc == 1 and "not an administrator" in err, "non-admin cannot disable", out + err)
        rc, out, err = pbctl(s, "status", "policyd")
        ok(" policyd ENABLED " in out, "state unchanged by the refused request", out)
        ok("disable request from host1.test" in s.log("logd") and "refused" in s.log("logd"),
           "refused action logged by logd", s.log("logd")[-800:])
        events = []
        for name in sorted(os.listdir(s.dir)):
            if name.startswith("events") and name.endswith(".jsonl"):
                with open(os.path.join(s.dir, name)) as f:
                    events += [json.loads(line) for line in f if line.strip()]
        adm = [e for e in events if e.get("event") == "admin"]
        ok(any(e["request"] == "disable" and e["outcome"] == "done" and e["peer"] == "admin" for e in adm) and
           any(e["request"] == "disable" and e["outcome"] == "refused" and e["peer"] == "host1.test" for e in adm) and
           any(e["request"] == 'trace "0"' and e["outcome"] == "done" for e in adm) and
           not any(e["request"] in ("status", "sessions") and e["outcome"] == "done" for e in adm),
           "logd stores admin actions (not queries) as events, refusals too", adm)


def group_hosts(tmp, pki):
    a, b = Site(tmp, pki, "a"), Site(tmp, pki, "b")
    try:
        apid, bpid = a.start("policyd"), b.start("policyd")
        hosts = ["-h", f"127.0.0.1:{a.pport}", f"localhost:{b.pport}"]
        rc, out, err = pbctl(a, *hosts, "status", "policyd")
        ok(rc == 0 and out.splitlines() == [f"127.0.0.1:{a.pport} policyd ENABLED {apid}",
                                            f"localhost:{b.pport} policyd ENABLED {bpid}"],
           "-h: two hosts, one line each", out + err)
        rc, out, err = pbctl(a, "-h", "localhost", "status", "policyd")
        ok(rc == 0 and out == f"localhost:{a.pport} policyd ENABLED {apid}\n",
           "-h HOST without port: the port from pbsh.yaml", out + err)
        cb = shell_session(b, user="carol")
        rc, out, err = pbctl(a, *hosts, "sessions", "policyd")
        rows = session_rows(out, "policyd")
        ok(rc == 0 and len(rows) == 1 and rows[0][0] == f"localhost:{b.pport}" and rows[0][4] == "carol",
           "sessions across hosts names the server", out + err)
        rc, out, err = pbctl(a, *hosts, "disable", "policyd")
        ok(rc == 0 and out.count("disabled") == 2, "a command runs on every host", out + err)
        cb.close()
        os.kill(bpid, signal.SIGKILL)
        wait_gone(bpid, 3)
        rc, out, err = pbctl(a, *hosts, "status", "policyd")
        ok(rc == 3 and out.splitlines() == [f"127.0.0.1:{a.pport} policyd DISABLED {apid}",
                                            f"localhost:{b.pport} policyd NOTRUNNING -"],
           "one host down: NOTRUNNING there, the other still answers", out + err)
        rc, out, err = pbctl(a, *hosts, "enable", "policyd")
        ok(rc == 1 and "enabled" in out and f"localhost:{b.pport} policyd: not running" in err,
           "a failing host makes the exit status 1, the others are still done", out + err)
    finally:
        a.kill()
        b.kill()


def group_sessions(tmp, pki):
    with Site(tmp, pki) as s:
        s.start_both()
        c = shell_session(s)
        c.send(pw.check(3, "shell command", "/bin/ls", ["ls"]))
        c.recv()
        ls = LogSession(s)
        rc, out, err = pbctl(s, "sessions")
        prow, lrow = session_rows(out, "policyd"), session_rows(out, "logd")
        ok(rc == 0 and len(prow) == 1 and prow[0][3:] == ["host1.test", "alice", "4242"] and prow[0][2].isdigit(),
           "sessions: policyd row with id, host, user, pid", out + err)
        ok(len(lrow) == 1 and lrow[0][3:] == ["host1.test", "bob", "-"], "sessions: logd row", out)
        rc, out, err = pbctl(s, "sessions", "-l", "policyd")
        ok(rc == 0 and "host=host1.test user=alice pid=4242 ppid=1 uid=1000 tty=/dev/pts/1 age=" in out and
           "program=pbksh requests=2 " in out, "sessions -l: ppid, uid, tty, age, program, requests", out + err)
        pid_ = prow[0][2]

        rc, out, err = pbctl(s, "kill-session", pid_, who="host1")
        ok(rc == 1 and "not an administrator" in err, "kill-session refused to a non-admin", out + err)
        rc, out, err = pbctl(s, "kill-session", "-m", "maintenance", pid_)
        ok(rc == 0 and f"session {pid_} ended by administrator admin: maintenance" in out, "kill-session policyd",
           out + err)
        # Unasked, at once: an error with id 0 and code -15 (denied), the monitor's cue to end the shell.
        rid, kind, f = c.recv()
        msg = pw.s(f, 2) if kind == "error" else ""
        code = pw.n(f, 1) - (1 << 64 if pw.n(f, 1) >= 1 << 63 else 0)
        ok(kind == "error" and rid == 0 and code == -15 and "ended by administrator admin: maintenance" in msg,
           "the killed session's connection hears it at once (id 0, denied, naming the admin)", (rid, kind, msg))
        c.send(pw.check(4, "shell command", "/bin/ls", ["ls"]))
        rid, kind, f = c.recv()
        msg = pw.s(f, 2) if kind == "error" else ""
        ok(kind == "error" and rid == 4 and "ended by administrator admin: maintenance" in msg,
           "the killed session's next request gets an error naming the admin", (kind, msg))
        ok(c.closed(), "then the connection is closed")
        ok(f"session {pid_} of host1.test (user alice, pid 4242) ended by administrator admin" in s.log("policyd") and
           f"kill-session {pid_} request from admin" in s.log("policyd"), "kill-session logged", s.log("policyd")[-800:])
        rc, out, err = pbctl(s, "kill-session", pid_)
        ok(rc == 1 and "no shell session" in err, "a session that is gone cannot be killed", out + err)

        ls.ttyout(b"kept output\n")
        time.sleep(0.3)
        lid = lrow[0][2]
        rc, out, err = pbctl(s, "kill-session", lid, "logd")
        ok(rc == 0 and "ended by administrator admin" in out, "kill-session logd", out + err)
        got = None
        try:
            while True:
                m = ls.recv()
                if 5 in m:
                    got = pw.s(m, 5)
                    break
        except (EOFError, OSError):
            pass
        ok(got is not None and f"session {lid} ended by administrator admin" in got,
           "logd sends the abort with the admin's name", got)
        rc, out, err = pbctl(s, "sessions")
        ok(rc == 0 and out == "", "no sessions left", out + err)
        ok("session of bob aborted" in s.log("logd"), "logd logs the abort", s.log("logd")[-800:])
        ls.close()


def group_stop(tmp, pki):
    with Site(tmp, pki, stop_timeout="30s") as s:
        ppid, lpid = s.start_both()
        c = shell_session(s)
        p = subprocess.Popen([PBCTL, "-f", s.conf(), "stop", "-t", "20", "policyd"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        ok(p.poll() is None and pid_alive(ppid), "normal stop waits while a shell is connected", p.poll())
        c.send(pw.check(3, "shell command", "/bin/ls", ["ls"]))
        rid, kind, f = c.recv()
        ok(kind == "decision" and pw.decision(f)["accept"], "the connected shell is still served while stopping")
        try:
            shell_session(s)
            ok(False, "no new shells while stopping")
        except (RuntimeError, OSError, EOFError):
            ok(True, "no new shells while stopping")
        c.close()
        try:
            out, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        ok(p.returncode == 0 and "sessions still connected:" in out and " alice 4242" in out and
           "0 session(s) still connected" in out and "policyd: stopped" in out,
           "pbctl lists the sessions, waits for them, reports stopped", out + err)
        ok(not pid_alive(ppid), "policyd has exited")
        ok("stop timeout=20s watch request from admin" in s.log("policyd"), "stop logged with its mode",
           s.log("policyd")[-800:])

        # logd: a running I/O log is served to its Exit before logd goes
        ls = LogSession(s)
        p = subprocess.Popen([PBCTL, "-f", s.conf(), "stop", "-t", "20", "logd"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        ok(p.poll() is None and pid_alive(lpid), "logd's normal stop waits for the running I/O log", p.poll())
        ls.ttyout(b"still logging\n")
        ls.exit()
        try:
            out, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        ok(p.returncode == 0 and " bob -" in out and "logd: stopped" in out and not pid_alive(lpid),
           "logd stopped once its session ended", out + err)
        ls.close()
        lpid = s.start("logd")

        # a normal stop whose sessions outlast the timeout: the daemon closes them at the timeout
        ppid = s.start("policyd")
        c = shell_session(s)
        t0 = time.time()
        rc, out, err = pbctl(s, "stop", "-t", "1", "policyd")
        ok(rc == 0 and "policyd: stopped" in out and time.time() - t0 < 8 and not pid_alive(ppid),
           "stop -t 1: the daemon exits at its timeout", out + err)
        c.close()

        # forced stop with a shell connected
        ppid = s.start("policyd")
        c = shell_session(s)
        t0 = time.time()
        rc, out, err = pbctl(s, "stop", "-f")
        ok(rc == 0 and out.count(": stopped") == 2 and time.time() - t0 < 5, "stop -f: both exit at once",
           out + err)
        ok(not pid_alive(ppid) and not pid_alive(lpid), "both processes gone")
        c.close()
        rc, out, err = pbctl(s, "stop")
        ok(rc == 0 and out.count(": not running") == 2, "stop when nothing runs: not running, exit 0", out + err)


def group_cancel(tmp, pki):
    with Site(tmp, pki, stop_timeout="30s") as s:
        ppid, lpid = s.start_both()
        rc, out, err = pbctl(s, "stop", "--cancel", "-t", "5", "logd")
        ok(rc == 0 and f"logd: sent TERM to pid {lpid}" in out and "logd: stopped" in out and not pid_alive(lpid),
           "stop --cancel: TERM ends an idle daemon", out + err)
        # a frame in progress holds policyd's graceful stop past the grace period: KILL
        c = shell_session(s)
        c.send_raw(b"\x00\x00")
        t0 = time.time()
        rc, out, err = pbctl(s, "stop", "--cancel", "-t", "1", "policyd")
        ok(rc == 0 and f"sent KILL to pid {ppid}" in out and "policyd: killed" in out and not pid_alive(ppid) and
           time.time() - t0 < 8, "stop --cancel: KILL after the grace period", out + err)
        c.close()
        # without an answering daemon the pidfile (only while locked) gives the pid
        ppid = s.start("policyd")
        os.kill(ppid, signal.SIGSTOP)
        try:
            rc, out, err = pbctl(s, "stop", "--cancel", "-t", "1", "policyd", timeout=40)
        finally:
            try:
                os.kill(ppid, signal.SIGCONT)
            except OSError:
                pass
        ok(rc == 0 and f"pid {ppid}" in out and not pid_alive(ppid),
           "stop --cancel: pid from the locked pidfile when the daemon does not answer", out + err)
        rc, out, err = pbctl(s, "stop", "--cancel", "policyd")
        ok(rc == 0 and "policyd: not running" in out, "stop --cancel: a stale pidfile is not trusted", out + err)


def group_start(tmp, pki):
    sbin = os.path.join(tmp, "sbin")
    os.makedirs(sbin)
    os.symlink(POLICYD, os.path.join(sbin, "policyd"))
    os.symlink(LOGD, os.path.join(sbin, "logd"))
    with Site(tmp, pki) as s:
        # pbctl starts the daemons with its own pbsh.yaml, as on a real host where tls.cert is the
        # host's certificate for serving and for connecting: make one fit for both (and an admin).
        ext = os.path.join(tmp, "both.ext")
        with open(ext, "w") as f:
            f.write("extendedKeyUsage = serverAuth, clientAuth\n"
                    "subjectAltName = DNS:localhost, IP:127.0.0.1\n")
        both = os.path.join(tmp, "both")
        for cmd in (["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-out", both + ".key"],
                    ["openssl", "req", "-new", "-key", both + ".key", "-subj", "/CN=admin", "-out", both + ".csr"],
                    ["openssl", "x509", "-req", "-in", both + ".csr", "-CA", f"{pki}/ca.crt", "-CAkey",
                     f"{pki}/ca.key", "-CAcreateserial", "-days", "30", "-sha256", "-extfile", ext,
                     "-out", both + ".crt"]):
            subprocess.run(cmd, check=True, capture_output=True, cwd=tmp)
        conf = s.conf("admin")
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace(f"{pki}/admin.", both + "."))
        r = subprocess.run([PBCTL, "-f", conf, "--sbindir", sbin, "start"], capture_output=True, text=True,
                           timeout=60)
        ppid, lpid = s.pid("policyd"), s.pid("logd")
        ok(r.returncode == 0 and f"{sbin}/policyd: started" in r.stdout and
           f"policyd ENABLED {ppid}" in r.stdout and f"logd ENABLED {lpid}" in r.stdout and
           pid_alive(ppid) and pid_alive(lpid), "start runs both daemons and shows their status",
           r.stdout + r.stderr)
        r = subprocess.run([PBCTL, "-f", conf, "--sbindir", sbin, "start", "policyd"], capture_output=True,
                           text=True, timeout=60)
        ok(r.returncode == 0 and f"already running (pid {ppid})" in r.stdout, "start: already running",
           r.stdout + r.stderr)
        os.unlink(os.path.join(sbin, "logd"))
        os.symlink("/bin/false", os.path.join(sbin, "logd"))
        subprocess.run([PBCTL, "-f", conf, "stop", "-f", "logd"], capture_output=True, timeout=30)
        r = subprocess.run([PBCTL, "-f", conf, "--sbindir", sbin, "start", "logd"], capture_output=True,
                           text=True, timeout=60)
        ok(r.returncode == 1 and "did not start" in r.stderr, "start: a daemon that fails to start", r.stderr)


GROUPS = {
    "status": group_status,
    "admin": group_admin,
    "hosts": group_hosts,
    "sessions": group_sessions,
    "stop": group_stop,
    "cancel": group_cancel,
    "start": group_start,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in GROUPS:
        print(f"usage: test_pbctl.py {'|'.join(GROUPS)}", file=sys.stderr)
        return 2
    for v, name in ((PBCTL, "PBCTL"), (POLICYD, "POLICYD"), (LOGD, "LOGD")):
        if not v:
            print(f"1..0 # SKIP {name} not set")
            return 0
    tmp = tempfile.mkdtemp(prefix="pbctl-test-")
    try:
        pki = os.path.join(tmp, "pki")
        subprocess.run(["sh", os.path.join(TESTS, "pki.sh"), pki], check=True, capture_output=True)
        GROUPS[sys.argv[1]](tmp, pki)
    except Exception as e:  # noqa: BLE001
        ok(False, "group ran to the end", repr(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"1..{tp._n}")
    return 1 if tp._failed else 0


if __name__ == "__main__":
    sys.exit(main())
