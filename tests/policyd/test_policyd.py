#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Integration tests of the real policyd over mutual TLS with the test PKI; one group of checks per run.
#
# Usage: test_policyd.py GROUP   (decisions, malformed, tls, reload, admin, lifecycle)
# Environment: POLICYD (the program), PB_TESTS (tests/ folder, for pki.sh).
import hashlib
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pbwire as pw  # noqa: E402

POLICYD = os.environ.get("POLICYD")
TESTS = os.environ.get("PB_TESTS", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

POLICY = """\
lists:
  allowed: [/bin/ls, /bin/cat]
rules:
  - name: start
    when: {mode: shell start, user: "!mallory"}
    set: {shellcheckbuiltins: true, shellallowedcommands: [/bin/true]}
    accept: true
  - name: allowed
    when: {command: "@allowed"}
    set: {runuser: "%u"}
    accept: true
  - name: rm
    when: {command: /bin/rm}
    reject: "no rm for %u on %h"
  - name: wheel
    when: {group: wheel, command: /usr/bin/id}
    accept: true
"""

_n = 0
_failed = 0


def ok(cond, name, info=""):
    global _n, _failed
    _n += 1
    if cond:
        print(f"ok {_n} {name}", flush=True)
    else:
        _failed += 1
        print(f"not ok {_n} {name}", flush=True)
        for line in str(info).splitlines():
            print(f"# {line}", flush=True)
    return cond


class Daemon:
    def __init__(self, tmp, pki, policy=POLICY, conf_extra="", start=True):
        self.tmp, self.pki = tmp, pki
        self.policy = os.path.join(tmp, "policy.yaml")
        self.conf = os.path.join(tmp, "pbsh.yaml")
        self.portfile = os.path.join(tmp, "port")
        self.audit = os.path.join(tmp, "audit.jsonl")
        self.log = os.path.join(tmp, "policyd.log")
        with open(self.policy, "w") as f:
            f.write(policy)
        with open(self.conf, "w") as f:
            f.write(f"""\
admins: [admin]
tls:
  ca: {pki}/ca.crt
  cert: {pki}/server.crt
  key: {pki}/server.key
policyd:
  listen: [127.0.0.1:0]
  policy: {self.policy}
  audit: {self.audit}
  pidfile: {tmp}/policyd.pid
  log: {self.log}
  frame_timeout: 1s
  stop_timeout: 5s
{conf_extra}""")
        self.proc = None
        if start:
            self.start()

    def start(self, *extra):
        if os.path.exists(self.portfile):
            os.unlink(self.portfile)
        self.proc = subprocess.Popen([POLICYD, "-D", "-f", self.conf, "--port-file", self.portfile, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(200):
            if os.path.exists(self.portfile):
                self.port = int(open(self.portfile).read())
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"policyd exited {self.proc.returncode}: {self.proc.stderr.read().decode()}")
            time.sleep(0.05)
        raise RuntimeError("policyd did not write its port file")

    def conn(self, cert="host1", **kw):
        return pw.Conn(self.port, self.pki, cert=cert, **kw)

    def logtext(self):
        try:
            return open(self.log).read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def session(d, cert="host1", user="alice", groups=(), rid=1):
    c = d.conn(cert)
    c.send(pw.hello(rid))
    c.send(pw.shell_start(rid + 1, user=user, groups=groups))
    h = c.recv()
    s = c.recv()
    return c, h, s


def expect_error(c, name, want_text=None):
    try:
        rid, kind, f = c.recv()
    except (EOFError, OSError) as e:
        return ok(False, name, f"no reply: {e}")
    msg = pw.s(f, 2) if kind == "error" else ""
    good = kind == "error" and (want_text is None or want_text in msg)
    ok(good, name, f"kind={kind} message={msg!r}")
    ok(c.closed(), name + ": connection closed after the error")
    return msg


def bystander_ok(d, by, rid, name):
    """A connection that was open all along still gets decisions."""
    try:
        by.send(pw.check(rid, "shell command", "/bin/ls", ["ls"]))
        r, kind, f = by.recv()
        ok(kind == "decision" and r == rid and pw.decision(f)["accept"], name)
    except Exception as e:  # noqa: BLE001
        ok(False, name, repr(e))


# ---------------------------------------------------------------------------

def group_decisions(tmp, pki):
    d = Daemon(tmp, pki)
    try:
        c, h, s = session(d)
        ok(h[1] == "hello" and h[0] == 1 and pw.n(h[2], 1) == 1, "hello answered with the server's version", h)
        dec = pw.decision(s[2])
        ok(s[1] == "decision" and s[0] == 2 and dec["accept"] and dec["rule"] == "start",
           "shell start accepted by rule 'start'", dec)
        ok(dec["runlocalmode"] and "runlocalmode" in dec["set"], "shell start is local mode", dec)
        ok(dec["shellallowedcommands"] == ["/bin/true"], "local lists returned at shell start", dec)
        want_hash = hashlib.sha256(POLICY.encode()).hexdigest()
        ok(dec["hash"] == want_hash, "decision carries the policy's SHA-256", dec["hash"])
        ok(len(dec["uniqueid"]) == 32 and all(ch in "0123456789abcdef" for ch in dec["uniqueid"]),
           "uniqueid is 128 bits of hex", dec["uniqueid"])

        # pipelined checks: ids echoed, order kept
        reqs = [(10, "/bin/ls", ["ls", "-l"]), (11, "/bin/rm", ["rm", "-rf", "/"]),
                (12, "/usr/bin/id", ["id"]), (13, "/bin/cat", ["cat", "x"])]
        for rid, cmd, argv in reqs:
            c.send(pw.check(rid, "shell command", cmd, argv))
        got = [c.recv() for _ in reqs]
        ok([g[0] for g in got] == [10, 11, 12, 13], "pipelined replies echo ids in order", got)
        decs = [pw.decision(g[2]) for g in got]
        ok(decs[0]["accept"] and decs[0]["runuser"] == "alice", "ls accepted with runuser template", decs[0])
        ok(not decs[1]["accept"] and decs[1]["reason"] == "no rm for alice on host1.test" and decs[1]["rule"] == "rm",
           "rm rejected with reason naming the certificate host", decs[1])
        ok(not decs[2]["accept"] and decs[2]["rule"] == "", "id without wheel: default deny", decs[2])
        ids = {x["uniqueid"] for x in decs}
        ok(len(ids) == 4, "every decision has its own uniqueid")

        # supplementary groups sent by the shell
        c2, _, s2 = session(d, user="bob", groups=["audio", "wheel"])
        c2.send(pw.check(5, "shell command", "/usr/bin/id", ["id"]))
        r = c2.recv()
        ok(pw.decision(r[2])["accept"], "supplementary group from ShellStart matches", r)
        c2.close()

        # redirect shape and builtin
        c.send(pw.check(20, "shell redirect", "", ["shell redirect write", "/etc/passwd"]))
        r = c.recv()
        ok(r[1] == "decision" and not pw.decision(r[2])["accept"], "redirect decided (default deny)", r)

        # the audit trail
        c.close()
        time.sleep(0.2)
        lines = [json.loads(x) for x in open(d.audit)]
        ok(len(lines) >= 7, "audit trail has a line per decision", len(lines))
        rm = [x for x in lines if x["command"] == "/bin/rm"]
        ok(rm and rm[0]["result"] == "reject" and rm[0]["argv"] == ["rm", "-rf", "/"] and
           rm[0]["host"] == "host1.test" and rm[0]["user"] == "alice" and rm[0]["rule"] == "rm" and
           rm[0]["policy_hash"] == want_hash and rm[0]["mode"] == "shell command" and
           rm[0]["uniqueid"] == decs[1]["uniqueid"] and rm[0]["reason"] == decs[1]["reason"] and "time" in rm[0],
           "audit line has every field", rm)

        # host claims
        c = d.conn()
        c.send(pw.hello(1, host="host2.test"))
        expect_error(c, "Hello naming another host is refused", "does not match")
        ok("claimed to be host host2.test" in d.logtext(), "host mismatch is logged", d.logtext()[-400:])
        c = d.conn()
        c.send(pw.hello(1, host="host1.test"))
        r = c.recv()
        ok(r[1] == "hello", "Hello naming its own host is fine", r)
        c.send(pw.shell_start(2, host="host2.test"))
        expect_error(c, "ShellStart naming another host is refused", "does not match")

        # version mismatch
        c = d.conn()
        c.send(pw.hello(1, version=7))
        msg = expect_error(c, "version mismatch gets an Error")
        ok("7" in msg and "1" in msg, "the error names both versions", msg)

        # rejected user
        c, _, s = session(d, user="mallory")
        ok(not pw.decision(s[2])["accept"], "shell start refused by policy", s)
        ok(c.closed(), "a refused shell's connection is closed after the decision")
        c.close()
    finally:
        d.stop()


def group_malformed(tmp, pki):
    d = Daemon(tmp, pki)
    try:
        by, _, s = session(d)
        ok(s[1] == "decision", "bystander session started")
        rid = 100
        cases = [
            ("zero length frame", struct.pack(">I", 0), "length 0"),
            ("oversized frame", struct.pack(">I", 3 * 1024 * 1024), "longer than"),
            ("garbage protobuf", struct.pack(">I", 5) + b"\xff\xff\xff\xff\xff", "malformed"),
            ("truncated protobuf field", struct.pack(">I", 4) + pw.field_varint(1, 1)[:2] + b"\x22\x09", "malformed"),
            ("unknown oneof member", struct.pack(">I", 4) + pw.field_varint(1, 1) + pw.field_varint(15, 1), "unknown"),
            ("duplicate oneof", None, "oneof"),
            ("NUL inside a string", None, "NUL"),
            ("Check before Hello", None, "before Hello"),
            ("ShellStart before Hello", None, "before Hello"),
            ("empty request", struct.pack(">I", 2) + pw.field_varint(1, 9), "empty"),
        ]
        for name, raw, want in cases:
            c = d.conn()
            if name == "duplicate oneof":
                m = pw.hello(1) + pw.field_bytes(4, b"")
                c.send(m)
            elif name == "NUL inside a string":
                c.send(pw.hello(1))
                c.recv()
                c.send(pw.shell_start(2, user="al\0ice"))
            elif name == "Check before Hello":
                c.send(pw.check(1, "shell command", "/bin/ls", ["ls"]))
            elif name == "ShellStart before Hello":
                c.send(pw.shell_start(1))
            else:
                c.send_raw(raw)
            expect_error(c, name + " is answered with an Error", want)
            c.close()
            rid += 1
            bystander_ok(d, by, rid, f"others still served after: {name}")

        # a frame cut short by the peer's close: nothing to answer, daemon unharmed
        c = d.conn()
        c.send_raw(struct.pack(">I", 100) + b"abc")
        c.close()
        rid += 1
        bystander_ok(d, by, rid, "others still served after a truncated frame and close")

        # Check before ShellStart
        c = d.conn()
        c.send(pw.hello(1))
        c.recv()
        c.send(pw.check(2, "shell command", "/bin/ls", ["ls"]))
        expect_error(c, "Check before ShellStart is answered with an Error", "before ShellStart")

        # a bad redirect shape
        c, _, _ = session(d)
        c.send(pw.check(3, "shell redirect", "/bin/ls", ["x"]))
        expect_error(c, "redirect of the wrong shape gets an Error", "redirect")

        # 2 MiB of empty repeated strings: refused by the decoding budget, memory stays small
        c, _, _ = session(d)
        inner = b"".join(pw.field_bytes(3, b"") for _ in range(1024 * 1024 - 16))
        body = pw.field_varint(1, 2) + pw.field_bytes(2, "/bin/ls") + inner
        msg = pw.field_varint(1, 9) + pw.field_bytes(4, body)
        ok(len(msg) <= 2 * 1024 * 1024, "flood message fits the frame cap", len(msg))
        c.send(msg)
        expect_error(c, "a message of a million empty strings is refused", "budget")
        rss = 0
        for line in open(f"/proc/{d.proc.pid}/status"):
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1])
        ok(rss < 60 * 1024, "peak RSS stays small after the flood", f"{rss} KiB")
        rid += 1
        bystander_ok(d, by, rid, "others still served after the flood")

        # slow-loris: a started frame must complete within frame_timeout (1 s)
        c = d.conn()
        c.send_raw(b"\x00\x00")
        t0 = time.time()
        msg = expect_error(c, "slow-loris client gets an Error", "deadline")
        dt = time.time() - t0
        ok(0.5 < dt < 4, "slow-loris dropped at the deadline", f"{dt:.2f}s")
        rid += 1
        bystander_ok(d, by, rid, "others still served after a slow-loris")
        ok(d.proc.poll() is None, "daemon still running after all malformed input")
    finally:
        d.stop()


def group_tls(tmp, pki):
    d = Daemon(tmp, pki)
    try:
        for name, cert in (("certificate from another CA", "other"), ("expired certificate", "expired"),
                           ("no client certificate", None)):
            refused = False
            try:
                c = d.conn(cert=cert, timeout=5)
                # TLS 1.3: the client may finish before the server checks; the first read fails
                c.send(pw.hello(1))
                try:
                    c.recv()
                except (EOFError, OSError, ssl.SSLError):
                    refused = True
            except (ssl.SSLError, OSError):
                refused = True
            ok(refused, f"{name} refused")
        c, h, s = session(d)
        ok(s[1] == "decision", "a good client is served after the refusals")
        c.close()
    finally:
        d.stop()


def group_reload(tmp, pki):
    d = Daemon(tmp, pki)
    try:
        c, _, s = session(d)
        h1 = pw.decision(s[2])["hash"]
        new = POLICY.replace("/bin/rm}\n    reject", "/bin/rm}\n    accept: true\n    set: {runuser: root}\n  - name: rm2\n    when: {command: /bin/rmdir}\n    reject")
        with open(d.policy, "w") as f:
            f.write(new)
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        c.send(pw.check(5, "shell command", "/bin/rm", ["rm"]))
        r = pw.decision(c.recv()[2])
        ok(r["accept"] and r["hash"] == hashlib.sha256(new.encode()).hexdigest() and r["hash"] != h1,
           "SIGHUP reload: new policy in force on an existing connection", r)
        with open(d.policy, "w") as f:
            f.write(new + "  - name: broken\n    when: {usr: x}\n")
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        c.send(pw.check(6, "shell command", "/bin/rm", ["rm"]))
        r2 = pw.decision(c.recv()[2])
        ok(r2["hash"] == r["hash"] and r2["accept"], "bad reload keeps the running policy", r2)
        log = d.logtext()
        ok("policy.yaml:" in log and "reload failed" in log and "usr" in log,
           "failed reload logged with file:line:col", log[-600:])
        import re
        ok(re.search(r"policy\.yaml:\d+:\d+: unknown key 'usr'", log) is not None,
           "the position is file:line:col", log[-600:])
        # admin reload reports the error too
        a = d.conn("admin")
        a.send(pw.admin(1, "reload"))
        rid, kind, f = a.recv()
        k, v = pw.admin_reply(f)
        ok(kind == "admin" and k == "error" and "usr" in v["message"], "admin reload of a bad policy fails with the position", v)
        with open(d.policy, "w") as f:
            f.write(POLICY)
        a.send(pw.admin(2, "reload"))
        k, v = pw.admin_reply(a.recv()[2])
        ok(k == "done", "admin reload of a good policy", v)
        c.send(pw.check(7, "shell command", "/bin/rm", ["rm"]))
        r3 = pw.decision(c.recv()[2])
        ok(not r3["accept"] and r3["hash"] == h1, "reloaded policy back in force", r3)
        ok(d.proc.poll() is None, "daemon still running after reloads")
    finally:
        d.stop()


def group_admin(tmp, pki):
    d = Daemon(tmp, pki)
    try:
        c, _, _ = session(d)
        c.send(pw.check(5, "shell command", "/bin/ls", ["ls"]))
        c.recv()
        a = d.conn("admin")
        a.send(pw.admin(1, "status"))
        rid, kind, f = a.recv()
        k, st = pw.admin_reply(f)
        ok(kind == "admin" and rid == 1 and k == "status", "status answered", (kind, k))
        ok(st["state"] == 2 and st["pid"] == d.proc.pid and st["program"] == "policyd" and st["version"],
           "status: ENABLED, pid, program, version", st)
        ok(st["config"] == d.conf and st["info"].get("policy_path") == d.policy and
           st["info"].get("policy_hash") == hashlib.sha256(POLICY.encode()).hexdigest(),
           "status: config and policy paths and hash", st)
        ok(st["counters"].get("decisions.start.accept") == 1 and st["counters"].get("decisions.command.accept") == 1,
           "status: decisions per kind and result", st["counters"])
        ok(st["connections"] >= 2 and st["sessions"] == 1, "status: connections and sessions", st)
        a.send(pw.admin(2, "sessions"))
        k, rows = pw.admin_reply(a.recv()[2])
        ok(k == "sessions" and len(rows) == 1 and rows[0]["host"] == "host1.test" and rows[0]["user"] == "alice" and
           rows[0]["uid"] == 1000 and rows[0]["pid"] == 4242 and rows[0]["ppid"] == 1 and rows[0]["tty"] == "/dev/pts/1" and
           rows[0]["shell"] == "pbksh" and rows[0]["requests"] == 2 and rows[0]["start"] > 0,
           "sessions: one row with host, user, uid, pid, ppid, tty, shell, start, requests", rows)
        # a non-admin
        n = d.conn("host2")
        n.send(pw.admin(3, "status"))
        rid, kind, f = n.recv()
        k, v = pw.admin_reply(f)
        ok(kind == "admin" and k == "error" and v["code"] == -15, "non-admin gets an Error", v)
        ok("refused: not an administrator" in d.logtext() and "host2.test" in d.logtext(), "refusal logged")
        # trace
        a.send(pw.admin(4, "trace", spec="policy@5"))
        k, v = pw.admin_reply(a.recv()[2])
        ok(k == "done" and "policy@5" in v, "trace level set", v)
        a.send(pw.admin(5, "trace", spec="bogus@@"))
        k, v = pw.admin_reply(a.recv()[2])
        ok(k == "error", "bad trace spec refused", v)
        # disable: new shells refused, existing served
        a.send(pw.admin(6, "disable"))
        k, v = pw.admin_reply(a.recv()[2])
        ok(k == "done", "disable", v)
        a.send(pw.admin(7, "status"))
        k, st = pw.admin_reply(a.recv()[2])
        ok(st["state"] == 3, "state DISABLED", st["state"])
        c2 = d.conn()
        c2.send(pw.hello(1))
        c2.send(pw.shell_start(2))
        c2.recv()
        expect_error(c2, "new shell refused while disabled", "disabled")
        c.send(pw.check(6, "shell command", "/bin/ls", ["ls"]))
        r = c.recv()
        ok(r[1] == "decision" and pw.decision(r[2])["accept"], "existing session served while disabled", r)
        a.send(pw.admin(8, "enable"))
        pw.admin_reply(a.recv()[2])
        c3, _, s3 = session(d)
        ok(s3[1] == "decision", "new shells welcome after enable", s3)
        # stop: normal
        a.send(pw.admin(9, "stop"))
        k, v = pw.admin_reply(a.recv()[2])
        ok(k == "done", "stop acknowledged", v)
        try:
            d.proc.wait(8)
        except subprocess.TimeoutExpired:
            pass
        ok(d.proc.poll() == 0, "daemon exited 0 after stop", d.proc.poll())
    finally:
        d.stop()


def group_lifecycle(tmp, pki):
    d = Daemon(tmp, pki, start=False)
    r = subprocess.run([POLICYD, "-t", "-f", d.conf], capture_output=True, text=True)
    ok(r.returncode == 0, "-t accepts a good configuration and policy", r.stderr)
    with open(d.policy, "a") as f:
        f.write("  - name: bad\n    when: {weekday: someday}\n")
    r = subprocess.run([POLICYD, "-t", "-f", d.conf], capture_output=True, text=True)
    ok(r.returncode == 2 and f"{d.policy}:" in r.stderr and "someday" in r.stderr, "-t: bad policy exits 2 with file:line:col", r.stderr)
    r = subprocess.run([POLICYD, "-D", "-f", d.conf, "--port-file", d.portfile], capture_output=True, text=True, timeout=10)
    ok(r.returncode == 2 and not os.path.exists(d.portfile), "a bad policy never starts the daemon", r.stderr)
    with open(d.policy, "w") as f:
        f.write(POLICY)
    with open(d.conf, "a") as f:
        f.write("  max_connections: lots\n")
    r = subprocess.run([POLICYD, "-t", "-f", d.conf], capture_output=True, text=True)
    ok(r.returncode == 2 and f"{d.conf}:" in r.stderr, "bad configuration exits 2 with file:line:col", r.stderr)
    r = subprocess.run([POLICYD, "--check", os.path.join(TESTS, "policy", "policy.yaml")], capture_output=True, text=True)
    ok(r.returncode == 0 and "rules" in r.stdout, "--check validates a policy", r.stdout + r.stderr)

    d = Daemon(tmp, pki)
    try:
        pid = int(open(os.path.join(tmp, "policyd.pid")).read())
        ok(pid == d.proc.pid, "pidfile holds the pid")
        d2 = subprocess.run([POLICYD, "-D", "-f", d.conf, "--port-file", os.path.join(tmp, "port2")],
                            capture_output=True, text=True, timeout=10)
        ok(d2.returncode != 0, "a second instance is refused by the pidfile lock", d2.stderr)
        # graceful stop with a request in flight: a frame half sent, then SIGTERM, then the rest
        c, _, _ = session(d)
        msg = pw.check(9, "shell command", "/bin/ls", ["ls"])
        frame = struct.pack(">I", len(msg)) + msg
        c.send_raw(frame[:6])
        time.sleep(0.1)
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        refused = False
        try:
            x = pw.Conn(d.port, pki, timeout=2)
            x.send(pw.hello(1))
            x.recv()
        except (OSError, EOFError, ssl.SSLError):
            refused = True
        ok(refused, "no new connections while stopping")
        c.send_raw(frame[6:])
        r = c.recv()
        ok(r[0] == 9 and r[1] == "decision", "in-flight request answered during a graceful stop", r)
        try:
            d.proc.wait(8)
        except subprocess.TimeoutExpired:
            pass
        ok(d.proc.poll() == 0, "exit 0 after the graceful stop", d.proc.poll())
        ok(not os.path.exists(os.path.join(tmp, "policyd.pid")), "pidfile removed")

        # second SIGTERM stops at once even with a connection that stays
        d.start()
        c, _, _ = session(d)
        c.send_raw(b"\x00\x00\x00")  # a frame in progress keeps a graceful stop waiting
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        ok(d.proc.poll() is None, "a graceful stop waits for the frame in progress")
        d.proc.send_signal(signal.SIGTERM)
        try:
            d.proc.wait(3)
        except subprocess.TimeoutExpired:
            pass
        ok(d.proc.poll() is not None, "a second SIGTERM exits at once", d.proc.poll())
    finally:
        d.stop()

    # detached (no -D), configuration named relative to the current folder
    r = subprocess.run([POLICYD, "-f", "pbsh.yaml", "--port-file", d.portfile], cwd=tmp,
                       capture_output=True, text=True, timeout=15)
    ok(r.returncode == 0, "policyd detaches; the parent exits 0 once the child serves", r.stderr)
    pidf = os.path.join(tmp, "policyd.pid")
    try:
        pid = int(open(pidf).read())
        ok(pid != d.proc.pid and os.path.exists(f"/proc/{pid}"), "the detached daemon runs", pid)
        with open(d.policy, "a") as f:
            f.write("  - name: extra\n    accept: true\n")
        os.kill(pid, signal.SIGHUP)
        time.sleep(0.5)
        ok("reloaded" in d.logtext() and "5 rules" in d.logtext(),
           "a detached daemon reloads a configuration named by a relative path", d.logtext()[-400:])
        os.kill(pid, signal.SIGTERM)
        for _ in range(50):
            if not os.path.exists(f"/proc/{pid}"):
                break
            time.sleep(0.1)
        ok(not os.path.exists(pidf), "the detached daemon stopped and removed its pidfile")
    except (OSError, ValueError) as e:
        ok(False, "detached daemon", repr(e))


def refused_conn(d, cert):
    """True when a new connection from cert is closed without being served."""
    try:
        c = d.conn(cert, timeout=3)
        c.send(pw.hello(1))
        c.recv()
        c.close()
        return False
    except (EOFError, OSError, ssl.SSLError):
        return True


def group_limits(tmp, pki):
    d = Daemon(tmp, pki, conf_extra="  max_connections_per_peer: 2\n  max_connections: 4\n  idle_timeout: 1500ms\n")
    try:
        a, _, _ = session(d)
        b, _, _ = session(d)
        ok(refused_conn(d, "host1"), "a third connection from one identity is refused (per-peer limit)")
        ok("host1.test already has 2 connections" in d.logtext(), "per-peer refusal logged", d.logtext()[-300:])
        c, _, s = session(d, cert="host2")
        ok(s[1] == "decision", "another identity is still served")
        x = d.conn("admin")
        x.send(pw.admin(1, "status"))
        ok(pw.admin_reply(x.recv()[2])[0] == "status", "fourth connection (admin) served")
        ok(refused_conn(d, "host2"), "a fifth connection is refused (overall limit)")
        a.send(pw.check(5, "shell command", "/bin/ls", ["ls"]))
        ok(a.recv()[1] == "decision", "existing sessions unaffected by the limits")
        # idle timeout: 1.5 s of silence closes a connection
        t0 = time.time()
        closed = False
        b.sock.settimeout(5)
        closed = b.closed()
        dt = time.time() - t0
        ok(closed and 1.0 < dt < 4.0, "an idle connection is closed after idle_timeout", f"{closed} {dt:.2f}s")
        for k in (a, c, x):
            k.close()
    finally:
        d.stop()

    if os.geteuid() == 0:
        import pwd
        user = "nobody"
        uid = pwd.getpwnam(user).pw_uid
        os.chmod(tmp, 0o755)
        for f in os.listdir(pki):
            os.chmod(os.path.join(pki, f), 0o644)
        os.chmod(pki, 0o755)
        d = Daemon(tmp, pki, conf_extra=f"  user: {user}\n")
        try:
            uids = [l for l in open(f"/proc/{d.proc.pid}/status") if l.startswith("Uid:")][0].split()[1:]
            ok(all(int(u) == uid for u in uids), "privileges dropped to policyd.user after binding", uids)
            c, _, s = session(d)
            ok(s[1] == "decision", "serving after the privilege drop")
            c.close()
        finally:
            d.stop()
    else:
        ok(True, "privilege drop # SKIP not root")

    d = Daemon(tmp, pki)
    try:
        c, _, _ = session(d)
        c.send_raw(b"\x00\x00")  # a frame in progress would hold a graceful stop
        a = d.conn("admin")
        a.send(pw.admin(1, "stop", force=True))
        try:
            a.recv()
        except (EOFError, OSError):
            pass
        try:
            d.proc.wait(3)
        except subprocess.TimeoutExpired:
            pass
        ok(d.proc.poll() is not None, "stop -f exits at once despite a frame in progress", d.proc.poll())
    finally:
        d.stop()


GROUPS = {
    "limits": group_limits,
    "decisions": group_decisions,
    "malformed": group_malformed,
    "tls": group_tls,
    "reload": group_reload,
    "admin": group_admin,
    "lifecycle": group_lifecycle,
}


def main():
    if not POLICYD:
        print("1..0 # SKIP POLICYD not set")
        return 0
    group = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="pbsh-policyd-")
    try:
        pki = os.path.join(tmp, "pki")
        subprocess.run(["sh", os.path.join(TESTS, "pki.sh"), pki], check=True, capture_output=True)
        run = os.path.join(tmp, "run")
        os.mkdir(run)
        try:
            GROUPS[group](run, pki)
        except Exception as e:  # noqa: BLE001
            import traceback
            ok(False, f"{group}: unexpected exception", traceback.format_exc())
            _ = e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"1..{_n}")
    return 1 if _failed else 0


if __name__ == "__main__":
    sys.exit(main())
