#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Integration tests of pbsh-monitor driven by a fake shell (fakeshell.py) against the real policyd and logd over mutual TLS.
#
# Usage: test_monitor.py GROUP  (basic, refused, failover, midsession, nativeroot, spool, iolog, subshell)
# Environment (meson's integ_env): PBSH_MONITOR or PB_BUILD, POLICYD, LOGD, PBLOG, PBREPLAY, PB_TESTS.
import fcntl
import json
import os
import re
import pty
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.environ.get("PB_TESTS", os.path.join(HERE, ".."))
BUILD = os.environ.get("PB_BUILD", "")


def _others_reach(path):
    """Can a user other than the owner execute path (every folder above it searchable by others)?"""
    d = os.path.dirname(os.path.abspath(path))
    while True:
        if not os.stat(d).st_mode & 0o001:
            return False
        if d == "/":
            return True
        d = os.path.dirname(d)


_for_users_dir = None


def for_users(path):
    """path, or when we are root and other users cannot reach it (a checkout in a 0700 folder, such as
    mktemp -d makes), a copy in a folder they can reach: the shells and their monitor run as an
    unprivileged user in these tests."""
    global _for_users_dir
    if not path or os.getuid() != 0 or not os.path.exists(path) or _others_reach(path):
        return path
    if _for_users_dir is None:
        _for_users_dir = tempfile.mkdtemp(prefix="pbsh-progs-")
        os.chmod(_for_users_dir, 0o755)
        import atexit
        atexit.register(shutil.rmtree, _for_users_dir, True)
    copy = os.path.join(_for_users_dir, os.path.basename(path))
    if not os.path.exists(copy):
        shutil.copy2(path, copy)
        os.chmod(copy, 0o755)
    return copy


MONITOR = for_users(os.environ.get("PBSH_MONITOR") or os.path.join(BUILD, "monitor", "pbsh-monitor"))
POLICYD = os.environ.get("POLICYD")
LOGD = os.environ.get("LOGD")
PBLOG = os.environ.get("PBLOG")
PBREPLAY = os.environ.get("PBREPLAY")
PBCTL = os.environ.get("PBCTL") or os.path.join(BUILD, "tools", "pbctl")


def forward(conf):
    """`pbctl -f CONF forward` (monitor/spool.c's pb_spool_forward): (exit status, journals sent, output)."""
    p = subprocess.run([PBCTL, "-f", conf, "forward"], capture_output=True, text=True, timeout=30)
    out = p.stdout + p.stderr
    m = re.search(r"(\d+) journals? sent", out)
    return p.returncode, int(m.group(1)) if m else 0, out

POLICY = """\
lists:
  allowed: [/bin/ls, /bin/echo, /bin/true]
rules:
  - name: io
    when: {mode: shell start, user: ivan}
    set: {iolog: "%u/%i"}
  - name: start
    when: {mode: shell start, user: "!mallory"}
    accept: true
  - name: allowed
    when: {command: "@allowed"}
    set: {runuser: "%u"}
    accept: true
  - name: rm
    when: {command: /bin/rm}
    reject: "no rm for %u"
"""

_n = 0
_failed = 0


def ok(cond, name, info=""):
    global _n, _failed
    _n += 1
    print(f"{'ok' if cond else 'not ok'} {_n} {name}", flush=True)
    if not cond:
        _failed += 1
        # Also on stderr: a CI log shows a failed test's stderr, not its TAP stream.
        print(f"not ok {_n} {name}", file=sys.stderr, flush=True)
        for line in str(info).splitlines()[-40:]:
            print(f"# {line}", flush=True)
            print(f"# {line}", file=sys.stderr, flush=True)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_file(path, proc=None, secs=10, empty_ok=False):
    for _ in range(int(secs * 20)):
        if os.path.exists(path) and (empty_ok or os.path.getsize(path) > 0):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


class Env:
    """A private folder with the test PKI, a policyd, a logd and a monitor configuration."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="monitor-test.")
        self.pki = os.path.join(self.tmp, "pki")
        subprocess.run([os.path.join(TESTS, "pki.sh"), self.pki], check=True, stdout=subprocess.DEVNULL)
        self.procs = {}
        self.ports = {}
        self.spool = os.path.join(self.tmp, "spool")
        self.events = os.path.join(self.tmp, "events")
        self.io = os.path.join(self.tmp, "io")
        with open(os.path.join(self.tmp, "policy.yaml"), "w") as f:
            f.write(POLICY)

    def tls(self, cert):
        return f"tls:\n  ca: {self.pki}/ca.crt\n  cert: {self.pki}/{cert}.crt\n  key: {self.pki}/{cert}.key\n"

    def start_policyd(self, name="policyd", extra="", admins=False):
        """extra: lines added under policyd: (e.g. "  audit: FILE\n"); admins: the test PKI's "admin" may
        administer it (kill_session)."""
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "pbsh.yaml")
        with open(conf, "w") as f:
            f.write(self.tls("server") + ("admins: [admin]\n" if admins else "")
                    + f"policyd:\n  listen: [127.0.0.1:0]\n  policy: {self.tmp}/policy.yaml\n"
                    f"  pidfile: {d}/pid\n  log: {d}/log\n{extra}")
        pf = os.path.join(d, "port")
        p = subprocess.Popen([POLICYD, "-D", "-f", conf, "--port-file", pf], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(d, "stderr"), "w"))
        if not wait_file(pf, p):
            raise RuntimeError(f"{name} did not start: " + open(os.path.join(d, "stderr")).read())
        self.procs[name] = p
        self.ports[name] = int(open(pf).read())
        return self.ports[name]

    def kill_session(self, name="policyd", message="maintenance now"):
        """`pbctl kill-session` as the test PKI's admin of the one shell session policyd `name` has:
        (exit status, output, the rows `pbctl sessions` showed)."""
        aconf = os.path.join(self.tmp, f"admin-{name}.yaml")
        with open(aconf, "w") as f:
            f.write(self.tls("admin") + f"  servername: localhost\npolicyd:\n  listen: [127.0.0.1:{self.ports[name]}]\n")
        r = subprocess.run([PBCTL, "-f", aconf, "sessions", "policyd"], capture_output=True, text=True, timeout=30)
        rows = [ln.split() for ln in r.stdout.splitlines() if len(ln.split()) >= 6 and ln.split()[1] == "policyd"]
        sid = rows[0][2] if rows else "0"
        r = subprocess.run([PBCTL, "-f", aconf, "kill-session", "-m", message, sid, "policyd"], capture_output=True,
                           text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr, rows

    def start_logd(self, port=0, name="logd"):
        """A second logd (name other than "logd") keeps its event log and I/O logs in its own folder."""
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        conf = os.path.join(d, "pbsh.yaml")
        events, io = (self.events, self.io) if name == "logd" else (os.path.join(d, "events"), os.path.join(d, "io"))
        with open(conf, "w") as f:
            f.write(self.tls("server") + f"logd:\n  listen: [127.0.0.1:{port}]\n  eventlog: {events}/\n"
                    f"  iolog_dir: {io}\n  iolog_path: \"%{{user}}/%{{seq}}\"\n  commit_interval: 100ms\n"
                    f"  pidfile: {d}/pid\n  log: {d}/log\n")
        pf = os.path.join(d, "port")
        if os.path.exists(pf):
            os.unlink(pf)
        for _ in range(20):
            p = subprocess.Popen([LOGD, "-D", "-f", conf, "--port-file", pf], stdout=subprocess.DEVNULL,
                                 stderr=open(os.path.join(d, "stderr"), "a"))
            if wait_file(pf, p):
                break
            time.sleep(0.2)  # a fixed port may still be in use: try again
        else:
            raise RuntimeError("logd did not start: " + open(os.path.join(d, "stderr")).read())
        self.procs[name] = p
        self.ports[name] = int(open(pf).read())
        return self.ports[name]

    def stop(self, name, sig=signal.SIGTERM):
        p = self.procs.pop(name, None)
        if p is not None and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def monitor_conf(self, policy=(), log=(), cert="host1", extra="", name="monitor.yaml"):
        """extra: lines added under timeouts:; name: the file's (another name keeps the first one)."""
        conf = os.path.join(self.tmp, name)
        pl = ", ".join(f"127.0.0.1:{p}" for p in policy)
        ll = ", ".join(f"127.0.0.1:{p}" for p in log)
        with open(conf, "w") as f:
            f.write(self.tls(cert) + "  servername: localhost\n" + f"policyservers: [{pl}]\nlogservers: [{ll}]\n"
                    f"spooldir: {self.spool}\ntimeouts:\n  connect: 1s\n  request: 2s\n{extra}")
        return conf

    def run(self, conf, actions, stdio=None, timeout=30, name="run"):
        script = os.path.join(self.tmp, f"{name}.json")
        out = os.path.join(self.tmp, f"{name}.out")
        err = os.path.join(self.tmp, f"{name}.err")
        with open(script, "w") as f:
            json.dump(actions, f)
        if os.path.exists(out):
            os.unlink(out)
        argv = [sys.executable, os.path.join(HERE, "fakeshell.py"), MONITOR, conf, script, out, os.environ.get("MONITOR_DEBUG", "monitor@4")]
        if stdio is None:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=open(err, "w"), timeout=timeout)
            rc = p.returncode
        else:
            rc = stdio(argv, err)
        recs = []
        if os.path.exists(out):
            recs = [json.loads(line) for line in open(out)]
        return rc, recs, open(err).read() if os.path.exists(err) else ""

    def events_json(self, events=None):
        events = events or self.events
        if not os.path.isdir(events):
            return []
        p = subprocess.run([PBLOG, "-d", events + "/", "-o", "json"], capture_output=True, text=True)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def wait_events(self, pred, secs=10, events=None):
        evs = []
        for _ in range(int(secs * 10)):
            evs = self.events_json(events)
            if pred(evs):
                return evs
            time.sleep(0.1)
        return evs

    def close(self):
        for name in list(self.procs):
            self.stop(name, signal.SIGKILL)
        shutil.rmtree(self.tmp, ignore_errors=True)


def kill_between(env, steps):
    """A thread that, for each (ready, name, go): waits for the shell's file ready, kills name, touches go."""
    import threading

    def run():
        for ready, name, go, *sig in steps:
            wait_file(ready, empty_ok=True)
            if sig:
                env.procs[name].send_signal(sig[0])  # a stopped server: connected but mute
            else:
                env.stop(name, signal.SIGKILL)
            open(go, "w").close()

    th = threading.Thread(target=run)
    th.start()
    return th


def pty_talk(fd, lines, first=1.5, each=1.0):
    """Type lines on a pty master after a first wait, reading what comes back meanwhile; returns all of it."""
    seen = b""

    def read_for(secs):
        nonlocal seen
        end = time.monotonic() + secs
        while time.monotonic() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    d = os.read(fd, 4096)
                except OSError:
                    return
                if not d:
                    return
                seen += d
    read_for(first)
    for line in lines:
        os.write(fd, line)
        read_for(each)
    return seen


def finished_iolog(env, evs, what):
    """The I/O log id named by the events (checked), once logd has written its end."""
    lid = next((e.get("iolog_path") for e in evs if e.get("iolog_path")), None)
    ok(lid is not None, what, evs)
    for _ in range(50 if lid else 0):
        if "exit_value" in open(os.path.join(env.io, lid, "log.json")).read():
            break
        time.sleep(0.1)
    return lid


def replay(env, lid, sudo=False):
    argv = ["sudoreplay", "-d", env.io, "-n", "-m", "0", lid] if sudo else [PBREPLAY, "-d", env.io, "-n", lid]
    p = subprocess.run(argv, capture_output=True, timeout=30)
    return p.returncode, p.stdout, p.stdout + p.stderr


def by_op(recs, op):
    return [r for r in recs if r.get("op") == op]


def start(user="alice", uid=1000 if os.getuid() == 0 else os.getuid(), **kw):
    a = {"op": "start", "user": user, "uid": uid, "argv": ["pbsh", "-c", "x"]}
    a.update(kw)
    return a


def chk(cmd, rid, tag="", mode="shell command"):
    return {"op": "check", "id": rid, "command": cmd, "argv": [os.path.basename(cmd) or cmd, "-x"], "tag": tag,
            "mode": mode}


# ---- groups ----

def group_basic(env):
    pp = env.start_policyd()
    lp = env.start_logd()
    conf = env.monitor_conf([pp], [lp])
    trace = os.path.join(env.tmp, "pbsh.trace")
    with open(conf, "a") as f:
        f.write(f"shlog: {trace}\n")
    rc, recs, err = env.run(conf, [
        start(),
        chk("/bin/ls", 7, "ls"),
        {"op": "include", "file": "/home/alice/.profile", "text": "PATH=/bin\necho \"hi\"\n"},
        chk("/bin/rm", 8, "rm"),
        {"op": "pipeline", "checks": [
            {"id": 21, "command": "/bin/echo", "argv": ["echo", "a"]},
            {"id": 22, "command": "/bin/rm", "argv": ["rm", "b"]},
            {"id": 23, "command": "/bin/true", "argv": ["true"]}]},
        chk("/bin/ls", 9, "ls2"),
        {"op": "finish", "status": 3},
        chk("/bin/echo", 10, "echo"),
        {"op": "exec", "argv": ["/bin/sh", "-c", "exit 5"]},
    ])
    ok(rc == 5, "the monitor exits with the status of the shell's exec'd last command", f"rc={rc}\n{err}")
    s = by_op(recs, "start")
    ok(len(s) == 1 and s[0]["kind"] == "started" and s[0]["accept"] and not s[0]["native_root"]
       and s[0]["policyserver"] == f"127.0.0.1:{pp}" and s[0]["logserver"] == f"127.0.0.1:{lp}",
       "start accepted through policyd, logd named", f"{s}\n{err}")
    c = {r["tag"]: r for r in by_op(recs, "check")}
    ok(c.get("ls", {}).get("accept") is True and c["ls"]["id"] == 7 and c["ls"]["rule"] == "allowed"
       and len(c["ls"]["uniqueid"]) == 32 and c["ls"]["runuser"] == "alice", "check accepted with its id", c)
    ok(c.get("rm", {}).get("accept") is False and c["rm"]["id"] == 8 and c["rm"]["reason"] == "no rm for alice",
       "check refused with the policy's reason", c)
    pl = {r["id"]: r for r in by_op(recs, "pipeline")}
    ok(sorted(pl) == [21, 22, 23] and pl[21]["accept"] and not pl[22]["accept"] and pl[23]["accept"],
       "pipelined checks: each reply carries its own request's id and decision", pl)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    kinds = [(e.get("event"), e.get("pbclientmode"), e.get("command")) for e in evs]
    want = [("accept", "shell start", "/bin/pbsh"), ("accept", "shell command", "/bin/ls"),
            ("accept", "shell include", "/home/alice/.profile"), ("reject", "shell command", "/bin/rm"), ("accept", "shell command", "/bin/echo"),
            ("reject", "shell command", "/bin/rm"), ("accept", "shell command", "/bin/true"),
            ("accept", "shell command", "/bin/ls"), ("finish", None, None),
            ("accept", "shell command", "/bin/echo"), ("finish", None, None), ("exit", None, "/bin/pbsh")]
    ok(kinds == want, "logd has the session: start, every relayed decision, the finishes, the exit",
       "\n".join(map(str, kinds)) + "\n" + err)
    fin = [e for e in evs if e.get("event") == "finish"]
    ok(len(fin) == 2 and fin[0].get("uniqueid") == c["ls2"]["uniqueid"] and fin[0].get("exit_value") == 3
       and fin[1].get("uniqueid") == c["echo"]["uniqueid"] and fin[1].get("exit_value") == 5,
       "FINISH events carry the uniqueid and status; the exec'd last command's finish is the shell's status",
       fin)
    rej = [e for e in evs if e.get("event") == "reject"]
    ok(all(e.get("reason") == "no rm for alice" and e.get("submituser") == "alice" for e in rej),
       "reject events carry the reason and the user", rej)
    inc = [e for e in evs if e.get("pbclientmode") == "shell include"]
    ok(len(inc) == 1 and inc[0].get("text") == 'PATH=/bin\necho "hi"\n' and inc[0].get("textbytes") == 20,
       "a sourced file (shelllogincludefiles) is logged with its text", inc)
    ex = [e for e in evs if e.get("event") == "exit"]
    ok(len(ex) == 1 and ex[0].get("exit_value") == 5, "the exit event has the shell's status", ex)
    tr = open(trace).read() if os.path.exists(trace) else ""
    ok("connected to 127.0.0.1" in tr and "connected to" not in err, "with --debug, traces go to shlog", tr + err)


def group_refused(env):
    pp = env.start_policyd()
    lp = env.start_logd()
    conf = env.monitor_conf([pp], [lp])
    rc, recs, err = env.run(conf, [start(user="mallory"), chk("/bin/ls", 2)], name="mallory")
    s = by_op(recs, "start")
    ok(rc == 1 and len(s) == 1 and s[0]["kind"] == "started" and not s[0]["accept"],
       "a start the policy refuses: accept false, the shell ends", f"rc={rc} {s}\n{err}")
    ok(not by_op(recs, "check"), "nothing was checked after the refusal", recs)
    evs = env.wait_events(lambda e: any(x.get("event") == "reject" for x in e))
    ok([(e.get("event"), e.get("submituser")) for e in evs] == [("reject", "mallory")],
       "the refused start is logged once as a reject", evs)

    rc, recs, err = env.run(conf, [start(host="evil.example"), chk("/bin/ls", 2)], name="hosterr")
    s = by_op(recs, "start")
    ok(rc == 1 and s and s[0]["kind"] == "error" and "does not match" in s[0]["message"],
       "non-root whose start the server answers with an error: the error, nothing runs", f"{s}\n{err}")

    dead = free_port()
    conf = env.monitor_conf([dead], [lp])
    rc, recs, err = env.run(conf, [start(), chk("/bin/ls", 2)], name="noserver")
    s = by_op(recs, "start")
    ok(rc == 1 and len(s) == 1 and s[0]["kind"] == "error" and "no policy server answered" in s[0]["message"]
       and f"127.0.0.1:{dead}" in s[0]["message"],
       "non-root and no policy server: an error naming what failed (fail closed)", f"rc={rc} {s}\n{err}")


def group_failover(env):
    pp = env.start_policyd()
    lp = env.start_logd()
    dead = free_port()
    # A server that accepts TCP but never answers: the connect timeout must move on.
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(5)
    conf = env.monitor_conf([dead, mute.getsockname()[1], pp], [lp])
    t0 = time.monotonic()
    rc, recs, err = env.run(conf, [start(), chk("/bin/ls", 2), {"op": "exit", "status": 0}])
    took = time.monotonic() - t0
    s = by_op(recs, "start")
    ok(rc == 0 and s and s[0]["accept"] and s[0]["policyserver"] == f"127.0.0.1:{pp}",
       "failover in order: refused, then mute (connect timeout), then the third answers", f"{s}\n{err}")
    ok(1.0 <= took < 10, f"the mute server cost about one connect timeout ({took:.1f}s)", took)
    c = by_op(recs, "check")
    ok(c and c[0]["accept"], "checks go to the server that answered", c)
    mute.close()


def group_midsession(env):
    pa = env.start_policyd("pa")
    pb = env.start_policyd("pb")
    lp = env.start_logd()
    conf = env.monitor_conf([pa, pb], [lp])
    ready, go = os.path.join(env.tmp, "ready"), os.path.join(env.tmp, "go")
    ready2, go2 = ready + "2", go + "2"
    th = kill_between(env, [(ready, "pa", go, signal.SIGSTOP), (ready2, "pb", go2)])
    rc, recs, err = env.run(conf, [
        start(), chk("/bin/ls", 2, "before"),
        {"op": "touch", "path": ready}, {"op": "wait_file", "path": go},
        chk("/bin/ls", 3, "failover"),
        {"op": "touch", "path": ready2}, {"op": "wait_file", "path": go2},
        chk("/bin/ls", 4, "none"),
        chk("/bin/echo", 5, "none2"),
        {"op": "exit", "status": 0}])
    th.join()
    c = {r["tag"]: r for r in by_op(recs, "check")}
    ok(c.get("before", {}).get("accept") is True, "check before the failure", c)
    ok(c.get("failover", {}).get("accept") is True and c["failover"]["id"] == 3,
       "policyd stops answering mid-session: after the request timeout the check fails over to the second server",
       f"{c}\n{err}")
    ok(c.get("none", {}).get("kind") == "error" and "no policy server answered" in c["none"].get("message", "")
       and c["none"]["id"] == 4, "no server left, non-root: the check gets an error (fail closed)", c)
    ok(c.get("none2", {}).get("kind") == "error", "and so does the next one", c)


def group_nativeroot(env):
    if os.getuid() != 0:
        print("ok 1 # SKIP native root mode needs a real uid of 0")
        return
    pp = env.start_policyd()
    lp = env.start_logd()
    conf = env.monitor_conf([pp], [lp])
    ready, go = os.path.join(env.tmp, "ready"), os.path.join(env.tmp, "go")
    th = kill_between(env, [(ready, "policyd", go)])
    rc, recs, err = env.run(conf, [
        start(user="root", uid=0), chk("/bin/rm", 2, "server"),
        {"op": "touch", "path": ready}, {"op": "wait_file", "path": go},
        chk("/bin/rm", 3, "native"), {"op": "finish", "status": 0}, chk("/bin/ls", 4, "native2"),
        {"op": "exit", "status": 0}])
    th.join()
    c = {r["tag"]: r for r in by_op(recs, "check")}
    ok(c.get("server", {}).get("accept") is False, "root is still refused while policyd answers", c)
    ok(c.get("native", {}).get("accept") is True and c["native"]["rule"] == "native-root"
       and len(c["native"]["uniqueid"]) == 32 and c["native"]["id"] == 3,
       "policyd gone, real uid 0: native root mode accepts locally", f"{c}\n{err}")
    ok(c.get("native2", {}).get("rule") == "native-root", "and goes on doing so", c)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    nat = [e for e in evs if e.get("rule") == "native-root"]
    ok(len(nat) == 2 and all(e.get("event") == "accept" for e in nat), "native root decisions are logged", evs)
    # A root start with no policy server at all starts in native root mode.
    conf = env.monitor_conf([free_port()], [lp])
    rc, recs, err = env.run(conf, [start(user="root", uid=0), chk("/bin/rm", 2), {"op": "exit", "status": 0}],
                            name="rootstart")
    s = by_op(recs, "start")
    ok(rc == 0 and s and s[0]["accept"] and s[0]["native_root"] and s[0]["rule"] == "native-root",
       "root with no policy server starts in native root mode", f"{s}\n{err}")
    # A server that answers the start with an error cannot decide: for root that is native root mode too.
    pp = env.start_policyd("pd2")
    conf = env.monitor_conf([pp], [lp])
    rc, recs, err = env.run(conf, [start(user="root", uid=0, host="evil.example"), chk("/bin/rm", 2, "after"),
                                   {"op": "exit", "status": 0}], name="rooterr")
    s = by_op(recs, "start")
    c = by_op(recs, "check")
    ok(rc == 0 and s and s[0]["native_root"] and "does not match" in err and c and c[0]["rule"] == "native-root",
       "root whose start the server answers with an error: native root mode", f"{s} {c}\n{err}")
    # A shell that only claims uid 0 (real uid nobody, effective 0, as a setuid shell is) is not root.
    rc, recs, err = env.run(conf, [{"op": "setruid", "uid": 65534}, start(user="root", uid=0), chk("/bin/rm", 2)],
                            name="claims")
    s = by_op(recs, "start")
    ok(rc == 1 and s and s[0]["kind"] == "error" and "not the shell's real uid" in s[0]["message"],
       "claiming uid 0 with another real uid is refused (no native root mode)", f"{s}\n{err}")


def group_spool(env):
    if os.getuid() != 0:
        print("ok 1 # SKIP the spool test runs a native root session (real uid 0)")
        return
    lport = free_port()
    conf = env.monitor_conf([free_port()], [lport])
    acts = [start(user="root", uid=0), chk("/bin/ls", 2, "a"), {"op": "finish", "status": 0},
            chk("/bin/rm", 3, "b"), {"op": "finish", "status": 1}, {"op": "exit", "status": 4},
            {"op": "exit_code", "code": 4}]
    rc, recs, err = env.run(conf, acts, name="spooled")
    s = by_op(recs, "start")
    ok(rc == 4 and s and s[0]["native_root"] and s[0]["logserver"] == "spool",
       "no policy server and no log server: native root, logged to the spool", f"rc={rc} {s}\n{err}")
    journals = sorted(os.listdir(env.spool)) if os.path.isdir(env.spool) else []
    ok(len(journals) == 1 and journals[0].endswith(".journal"), "one journal in the spool", journals)
    st = os.stat(env.spool)
    ok(st.st_mode & 0o777 == 0o700 and st.st_uid == os.getuid(), "the spool is 0700 and the monitor's", oct(st.st_mode))
    # logd comes back; the forwarder (what pbctl forward calls) hands the journal over.
    env.start_logd(lport)
    frc, fsent, fout = forward(conf)
    ok(frc == 0 and fsent == 1, "pbctl forward sends the journal",
       fout)
    ok(not [f for f in os.listdir(env.spool) if f.endswith(".journal")], "the acknowledged journal is deleted",
       os.listdir(env.spool))
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    kinds = [(e.get("event"), e.get("command")) for e in evs]
    want = [("accept", "/bin/pbsh"), ("accept", "/bin/ls"), ("finish", None), ("accept", "/bin/rm"),
            ("finish", None), ("exit", "/bin/pbsh")]
    ok(kinds == want, "pblog shows every event of the spooled session once", kinds)
    frc, fsent, fout = forward(conf)
    time.sleep(0.3)
    ok(frc == 0 and fsent == 0 and len(env.events_json()) == len(want),
       "forwarding again sends nothing twice", fout + str(len(env.events_json())))

    # A session spooled while logd is down is forwarded by the next session that starts.
    env.stop("logd")
    rc, recs, err = env.run(conf, acts, name="spooled2")
    ok(len([f for f in os.listdir(env.spool) if f.endswith(".journal")]) == 1, "second session spooled",
       os.listdir(env.spool))
    env.start_logd(lport)
    rc, recs, err = env.run(conf, [start(user="root", uid=0), {"op": "sleep", "s": 1.0}, {"op": "exit", "status": 0}],
                            name="next")
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 3)
    # The forwarder deletes the journal once logd acknowledged all of it, a moment after.
    end = time.monotonic() + 10
    while [f for f in os.listdir(env.spool) if f.endswith(".journal")] and time.monotonic() < end:
        time.sleep(0.05)
    evs = env.events_json()
    ok(sum(1 for e in evs if e.get("event") == "exit") == 3 and len(evs) == 2 * len(want) + 2
       and not [f for f in os.listdir(env.spool) if f.endswith(".journal")],
       "the next session's start forwarded the leftover journal, once", [(e.get("event"), e.get("command")) for e in evs])

    # logd goes away in the middle of a session: the rest is spooled, then forwarded.
    ready, go = os.path.join(env.tmp, "ready"), os.path.join(env.tmp, "go")
    th = kill_between(env, [(ready, "logd", go)])
    rc, recs, err = env.run(conf, [start(user="root", uid=0), chk("/bin/ls", 2), {"op": "sleep", "s": 0.3},
                                   {"op": "touch", "path": ready}, {"op": "wait_file", "path": go},
                                   chk("/bin/echo", 3), {"op": "finish", "status": 0}, {"op": "exit", "status": 0}],
                            name="midlog")
    th.join()
    ok(len([f for f in os.listdir(env.spool) if f.endswith(".journal")]) == 1,
       "logd killed mid-session: the rest of the session is in the spool", err)
    env.start_logd(lport)
    frc, fsent, fout = forward(conf)
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 4)
    mine = [e for e in evs if e.get("command") in ("/bin/ls", "/bin/echo") and e.get("event") == "accept"]
    ok(frc == 0 and sum(1 for e in evs if e.get("event") == "exit") == 4
       and sum(1 for e in evs if e.get("command") == "/bin/echo") == 1,
       "after forwarding, the command logged after logd died is there once, and the session's exit",
       fout + str([(e.get("event"), e.get("command")) for e in evs]) + str(mine))


def in_pty(argv, errpath):
    """Run argv on a new pty as the user's terminal: answer the shell's hello with typing, resize once."""
    pid, fd = pty.fork()
    if pid != 0:
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    if pid == 0:
        # The monitor's stderr goes to a file, so only the relayed session is on the terminal.
        e = os.open(errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(e, 2)
        os.execv(argv[0], argv)
    seen = b""
    sent = False
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            seen += data
        if not sent and b"hello-from-the-shell" in seen:
            # The user resizes the window (the monitor passes it on and logs it), then types.
            fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
            time.sleep(0.2)
            os.write(fd, b"typed-by-the-user\r")
            sent = True
    _, st = os.waitpid(pid, 0)
    in_pty.seen = seen
    return os.waitstatus_to_exitcode(st)


def group_iolog(env):
    pp = env.start_policyd()
    lp = env.start_logd()
    conf = env.monitor_conf([pp], [lp])

    rc, recs, err = env.run(conf, [
        start(user="ivan", has_tty=True, tty="/dev/pts/0"),
        {"op": "write", "text": "hello-from-the-shell\r\n"},
        {"op": "readline"},
        {"op": "write", "text": "bye\r\n"},
        {"op": "exit", "status": 0}], stdio=in_pty)
    s = by_op(recs, "start")
    ok(rc == 0 and s and s[0]["pty"] and s[0]["nfds"] == 1 and s[0]["iolog"].startswith("ivan/"),
       "iolog at start: the reply carries a pty slave", f"rc={rc} {s}\n{err}")
    rl = by_op(recs, "readline")
    ok(rl and "typed-by-the-user" in rl[0]["text"], "the user's typing reaches the shell through the pty", rl)
    ok(b"hello-from-the-shell" in in_pty.seen and b"bye" in in_pty.seen,
       "the shell's output reaches the user's terminal", in_pty.seen)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    lid = finished_iolog(env, evs, "the start event names its I/O log")
    if lid is None:
        return
    ok(lid.startswith("ivan/"), "named by the policy's iolog template", lid)
    out = open(os.path.join(env.io, lid, "ttyout"), "rb").read() if os.path.exists(os.path.join(env.io, lid, "ttyout")) else b""
    tin = open(os.path.join(env.io, lid, "ttyin"), "rb").read() if os.path.exists(os.path.join(env.io, lid, "ttyin")) else b""
    ok(b"hello-from-the-shell" in out and b"bye" in out, "ttyout logged", out)
    ok(b"typed-by-the-user" in tin, "ttyin logged", tin)
    timing = open(os.path.join(env.io, lid, "timing")).read()
    ok(any(line.split()[:1] == ["5"] and line.split()[2:] == ["30", "100"] for line in timing.splitlines()),
       "the window size change is in the timing file", timing)
    ok('"lines": 24' in open(os.path.join(env.io, lid, "log.json")).read(), "the terminal's size at the start is logged")
    rc, out, info = replay(env, lid)
    ok(rc == 0 and b"hello-from-the-shell" in out, "pbreplay replays the session", info)
    if shutil.which("sudoreplay"):
        rc, out, info = replay(env, lid, sudo=True)
        ok(rc == 0 and b"hello-from-the-shell" in out, "sudoreplay replays the session", info)


def group_subshell(env):
    pp = env.start_policyd()
    lp = env.start_logd()
    conf = env.monitor_conf([pp], [lp])
    rc, recs, err = env.run(conf, [
        start(),
        {"op": "subshell", "who": "sub0", "actions": [chk("/bin/rm", 2, "sub-rm"), chk("/bin/ls", 1, "sub-ls"),
                                                       {"op": "execword"}]},
        # The subshell exec'd /bin/ls (it said so; its channel closed with it): the parent reaps the pid and
        # reports it.
        {"op": "finish", "uniqueid": "", "pid": "$lastsub", "status": 2},
        {"op": "subshell", "who": "sub2", "actions": [
            chk("/bin/echo", 1, "sub-echo"),
            {"op": "subshell", "who": "subsub", "actions": [chk("/bin/true", 5, "subsub")]},
            {"op": "execword"}]},
        {"op": "finish", "uniqueid": "", "pid": "$lastsub", "status": 0},
        # A subshell that ends without saying it exec'd its command (killed while it held the command's
        # FINISH): its end, reported by pid, is not taken for the command's.
        {"op": "subshell", "who": "sub3", "actions": [chk("/bin/ls", 1, "sub-killed")]},
        {"op": "finish", "uniqueid": "", "pid": "$lastsub", "status": 137},
        chk("/bin/ls", 9, "parent"),
        {"op": "exit", "status": 0}])
    c = {r["tag"]: r for r in by_op(recs, "check")}
    ok(rc == 0, "session ended cleanly", err)
    ok(c.get("sub-ls", {}).get("accept") is True and c["sub-ls"]["who"] == "sub0"
       and c.get("sub-rm", {}).get("accept") is False,
       "a subshell's checks are answered on its own channel", c)
    ok(c.get("subsub", {}).get("accept") is True and c["subsub"]["id"] == 5,
       "a subshell of a subshell gets its channel from the factory too", c)
    ok(c.get("parent", {}).get("accept") is True, "the parent's channel still works", c)
    subs = [r for r in by_op(recs, "subshell") if r["who"] == "shell"]
    ok(len(subs) == 3 and all(s["status"] == 0 for s in subs), "subshells ended well", subs)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    acc = [e for e in evs if e.get("event") == "accept" and e.get("pbclientmode") == "shell command"]
    pids = {e.get("pbpid") for e in acc}
    ok(len(acc) == 5 and len(pids) == 5, "each accept is logged with the pid of the process that asked",
       [(e.get("command"), e.get("pbpid")) for e in acc])
    fin = [(e.get("uniqueid"), e.get("exit_value")) for e in evs if e.get("event") == "finish"]
    ok(fin == [(c.get("sub-ls", {}).get("uniqueid"), 2), (c.get("sub-echo", {}).get("uniqueid"), 0)],
       "a FINISH by pid, sent after the subshell's channel closed, is logged for the command it said it exec'd "
       "(and only for it)", fin)


def group_cmdio(env):
    pp = env.start_policyd()
    lp = env.start_logd()
    conf = env.monitor_conf([pp], [lp])
    rc, recs, err = env.run(conf, [
        start(), chk("/bin/echo", 2, "echo"),
        {"op": "io_start", "id": 3, "output": "only-this-command\r\n"},
        {"op": "finish", "status": 0},
        chk("/bin/ls", 4, "after"),
        {"op": "exit", "status": 0}])
    io = by_op(recs, "io_start")
    ok(rc == 0 and io and io[0]["kind"] == "decision" and io[0]["accept"] and io[0]["nfds"] == 1 and io[0]["id"] == 3,
       "SessionIoStart: the reply carries the pty slave", f"{io}\n{err}")
    ok(io and "only-this-command" in io[0].get("relayed", ""), "the command's output is relayed to its stdout", io)
    c = {r["tag"]: r for r in by_op(recs, "check")}
    ok(c.get("after", {}).get("accept") is True, "the session goes on after the command", c)
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 2)
    echo_uid = c.get("echo", {}).get("uniqueid")
    own = [e for e in evs if e.get("event") == "accept" and e.get("iolog_path") and e.get("uniqueid") == echo_uid]
    ok(len(own) == 1 and own[0].get("command") == "/bin/echo", "the command has a log session of its own", evs)
    if own:
        lid = own[0]["iolog_path"]
        for _ in range(50):
            if os.path.exists(os.path.join(env.io, lid, "stdout")) and os.path.getsize(os.path.join(env.io, lid, "stdout")):
                break
            time.sleep(0.1)
        out = open(os.path.join(env.io, lid, "stdout"), "rb").read()
        ok(b"only-this-command" in out, "its output is in its I/O log", out)
        p = subprocess.run([PBREPLAY, "-d", env.io, "-n", lid], capture_output=True, timeout=30)
        ok(b"only-this-command" in p.stdout, "pbreplay plays the command's log", p.stdout + p.stderr)


def group_spooliolog(env):
    if os.getuid() != 0:
        print("ok 1 # SKIP native root mode needs a real uid of 0")
        return
    lport = free_port()
    conf = env.monitor_conf([free_port()], [lport])
    rc, recs, err = env.run(conf, [
        start(user="root", uid=0, has_tty=True, tty="/dev/pts/0"),
        {"op": "write", "text": "hello-from-the-shell\r\n"},
        {"op": "readline"},
        {"op": "write", "text": "bye\r\n"},
        {"op": "exit", "status": 0}], stdio=in_pty)
    s = by_op(recs, "start")
    ok(rc == 0 and s and s[0]["native_root"] and s[0]["pty"] and s[0]["logserver"] == "spool",
       "native root with a terminal: the session is I/O logged, to the spool", f"{s}\n{err}")
    env.start_logd(lport)
    frc, fsent, fout = forward(conf)
    ok(frc == 0 and fsent == 1, "the I/O journal is forwarded", fout)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    lid = finished_iolog(env, evs, "logd made an I/O log of the spooled session")
    if lid is None:
        return
    rc, out, info = replay(env, lid)
    ok(rc == 0 and out.count(b"hello-from-the-shell") == 1 and b"bye" in out,
       "pbreplay plays the forwarded session, once", info)
    tin = open(os.path.join(env.io, lid, "ttyin"), "rb").read()
    ok(b"typed-by-the-user" in tin, "with the user's input", tin)


def group_resume(env):
    if os.getuid() != 0:
        print("ok 1 # SKIP native root mode needs a real uid of 0")
        return
    lport = free_port()
    conf = env.monitor_conf([free_port()], [lport])
    acts = [start(user="root", uid=0, has_tty=True, tty="/dev/pts/0"),
            {"op": "write", "text": "hello-from-the-shell\r\n"}]
    for i in range(12):
        acts += [{"op": "sleep", "s": 0.02}, {"op": "write", "text": f"line-{i:02d}\r\n"}]
    acts += [{"op": "exit", "status": 0}]
    rc, recs, err = env.run(conf, acts, stdio=in_pty)
    ok(rc == 0 and len(os.listdir(env.spool)) == 1, "an I/O-logged session in the spool", err)
    env.start_logd(lport)
    # The first forward goes through a proxy that cuts it after 8 frames and logd's next commit point.
    pf = os.path.join(env.tmp, "proxyport")
    proxy = subprocess.Popen([sys.executable, os.path.join(HERE, "cutproxy.py"), pf, str(lport), env.pki, "8"])
    env.procs["proxy"] = proxy
    wait_file(pf, proxy)
    cut = env.monitor_conf([free_port()], [int(open(pf).read())])
    frc, fsent, fout = forward(cut)
    ok(frc != 0 and fsent == 0 and len(os.listdir(env.spool)) == 1,
       "a forward cut in the middle keeps the journal", fout)
    conf = env.monitor_conf([free_port()], [lport])
    frc, fsent, fout = forward(conf)
    ok(frc == 0 and fsent == 1 and not os.listdir(env.spool),
       "the next forward completes it", fout)
    logtext = open(os.path.join(env.tmp, "logd", "log")).read()
    ok("restarted at" in logtext, "it resumed the I/O log at the commit point (RestartMessage)", logtext[-2000:])
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    kinds = [e.get("event") for e in evs]
    ok(kinds == ["accept", "exit"], "the start and the exit are logged once", kinds)
    lid = next((e.get("iolog_path") for e in evs if e.get("iolog_path")), None)
    out = b""
    if lid:
        out = open(os.path.join(env.io, lid, "ttyout"), "rb").read()
    import re
    lines = re.findall(rb"line-\d\d", out)
    ok(out.count(b"hello-from-the-shell") == 1 and lines == [f"line-{i:02d}".encode() for i in range(12)],
       "the I/O log holds every record exactly once, in order", out)


def group_logback(env):
    pp = env.start_policyd()
    lport = free_port()
    conf = env.monitor_conf([pp], [lport], extra="  spool_retry: 200ms\n")
    ready, go = os.path.join(env.tmp, "ready"), os.path.join(env.tmp, "go")
    import threading

    def driver():
        wait_file(ready, empty_ok=True)
        env.start_logd(lport)
        open(go, "w").close()

    th = threading.Thread(target=driver)
    th.start()
    rc, recs, err = env.run(conf, [
        start(), chk("/bin/ls", 2, "spooled"), {"op": "finish", "status": 0},
        {"op": "touch", "path": ready}, {"op": "wait_file", "path": go}, {"op": "sleep", "s": 0.8},
        chk("/bin/echo", 3, "live"), {"op": "finish", "status": 0}, {"op": "exit", "status": 0}])
    th.join()
    s = by_op(recs, "start")
    ok(rc == 0 and s and s[0]["logserver"] == "spool", "logd down at the start: the session spools", f"{s}\n{err}")
    ok(not [f for f in os.listdir(env.spool) if f.endswith(".journal")],
       "logd back in the middle of the session: the journal was sent and deleted", os.listdir(env.spool))
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    kinds = [(e.get("event"), e.get("command")) for e in evs]
    ok(kinds == [("accept", "/bin/pbsh"), ("accept", "/bin/ls"), ("finish", None), ("accept", "/bin/echo"),
                 ("finish", None), ("exit", "/bin/pbsh")],
       "one logd session holds the spooled part and the live rest, each event once", kinds)
    ok(len({e.get("session") for e in evs}) == 1, "all in one session", evs)


SHELL_POLICY = """\
lists:
  allowed: [/bin/ls, /usr/bin/ls, /bin/echo, /usr/bin/echo, /bin/true, /usr/bin/true]
rules:
  - name: io
    when: {mode: shell start, tty: "/dev/*"}
    set: {iolog: "%u/%i"}
  - name: start
    when: {mode: shell start}
    accept: true
  - name: allowed
    when: {command: "@allowed"}
    accept: true
  - name: rm
    when: {command: [/bin/rm, /usr/bin/rm]}
    reject: "no rm for %u"
"""


def group_shell(env):
    """The real pbsh with the real monitor, once the shell's governed mode is in the tree."""
    pbsh = os.environ.get("PBSH")
    if not pbsh or not os.path.exists(pbsh):
        print("ok 1 # SKIP no pbsh")
        return
    with open(os.path.join(env.tmp, "policy.yaml"), "w") as f:
        f.write(SHELL_POLICY)
    pp = env.start_policyd()
    lp = env.start_logd()
    conf = env.monitor_conf([pp], [lp])
    # Does this pbsh start a monitor at all? A stand-in that leaves a mark and refuses tells.
    probe = os.path.join(env.tmp, "probe.sh")
    with open(probe, "w") as f:
        f.write(f"#!/bin/sh\n: > {env.tmp}/probed\nexit 1\n")
    os.chmod(probe, 0o755)
    shell_env = {"PATH": "/usr/bin:/bin", "HOME": env.tmp}
    subprocess.run([pbsh, "--config", conf, "-c", "true"], env=dict(shell_env, PBSH_MONITOR=probe),
                   capture_output=True, timeout=30)
    if not os.path.exists(os.path.join(env.tmp, "probed")):
        print("ok 1 # SKIP this pbsh has no governed mode (the shell side is not merged)")
        return
    shell_env["PBSH_MONITOR"] = MONITOR
    p = subprocess.run([pbsh, "--config", conf, "-c",
                        "/bin/ls -d /; /bin/rm -f /nonexistent; (/bin/echo sub); x=$(/bin/echo cs); echo $x; /bin/true"],
                       env=shell_env, capture_output=True, text=True, timeout=30)
    ok(p.returncode == 0 and p.stdout == "/\nsub\ncs\n" and "no rm for" in p.stderr,
       "pbsh -c through the monitor: allowed commands run, rm is refused with the policy's reason",
       f"rc={p.returncode} out={p.stdout!r} err={p.stderr!r}")
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    cmds = [(e.get("event"), os.path.basename(e.get("command") or "")) for e in evs if e.get("event") != "finish"]
    ok(cmds == [("accept", "pbsh"), ("accept", "ls"), ("reject", "rm"), ("accept", "echo"), ("accept", "echo"),
                ("accept", "true"), ("exit", "pbsh")], "every decision and the exit are logged once", cmds)
    acc = {e.get("uniqueid") for e in evs if e.get("event") == "accept" and e.get("pbclientmode") == "shell command"}
    fin = [e.get("uniqueid") for e in evs if e.get("event") == "finish"]
    ok(len(fin) == 4 and set(fin) == acc, "each command run has its finish (subshells and the exec'd last one too)",
       [(e.get("event"), e.get("command"), e.get("uniqueid")) for e in evs])

    # An interactive session on a terminal: I/O logged through the monitor's pty, replayable.
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(pbsh, [pbsh, "--config", conf, "-i"], dict(shell_env, PS1="PROMPT$ "))
    seen = pty_talk(fd, (b"/bin/echo hello-io\r", b"/bin/rm x\r", b"exit 3\r"))
    _, st = os.waitpid(pid, 0)
    ok(os.waitstatus_to_exitcode(st) == 3 and b"hello-io" in seen, "an interactive pbsh through the pty",
       seen[-500:])
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 2)
    lid = finished_iolog(env, evs, "the interactive session has an I/O log")
    if lid is None:
        return
    rc, out, info = replay(env, lid)
    ok(rc == 0 and b"hello-io" in out and b"no rm for" in out, "pbreplay plays it", info)
    if shutil.which("sudoreplay"):
        rc, out, info = replay(env, lid, sudo=True)
        ok(rc == 0 and b"hello-io" in out, "sudoreplay plays it", info)


def group_args(env):
    conf = env.monitor_conf([free_port()], [free_port()])
    p = subprocess.run([MONITOR, "--config", conf, "--shell-pid", "12345"], capture_output=True, text=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    ok(p.returncode == 2 and "descriptors 3 and 4" in p.stderr, "without its channels it refuses to run", p.stderr)
    p = subprocess.run([MONITOR, "--config", conf], capture_output=True, text=True, timeout=10)
    ok(p.returncode == 2 and "usage" in p.stderr, "--shell-pid is required", p.stderr)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    c, d = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def channels():
        os.dup2(a.fileno(), 3)
        os.dup2(c.fileno(), 4)

    # A process that is not the monitor's child: its end could never be seen.
    p = subprocess.run([MONITOR, "--config", conf, "--shell-pid", str(os.getpid())], capture_output=True,
                       text=True, timeout=10, preexec_fn=channels, pass_fds=(3, 4))
    ok(p.returncode == 1 and "not the monitor's child" in p.stderr, "a --shell-pid that is not its child is refused",
       p.stderr)
    bad = os.path.join(env.tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("timeouts:\n  connect: forever\n")
    p = subprocess.run([MONITOR, "--config", bad, "--shell-pid", str(os.getpid())], capture_output=True, text=True,
                       timeout=10, preexec_fn=channels, pass_fds=(3, 4))
    ok(p.returncode == 1 and "bad.yaml:2:" in p.stderr, "a bad configuration: one positioned message, exit 1", p.stderr)
    for s_ in (a, b, c, d):
        s_.close()


def group_held(env):
    """FINISH events held back by the shell ride on its next request (SessionRequest.before): handled first, in
    order, each with the end time the shell measured (end_ns), not the time it arrived."""
    pp = env.start_policyd()
    lp = env.start_logd()
    conf = env.monitor_conf([pp], [lp])
    now = time.time_ns()
    t1, t2 = now - 30 * 10**9 + 123456789, now - 20 * 10**9 + 987654321
    rc, recs, err = env.run(conf, [
        start(),
        chk("/bin/ls", 2, "ls"),
        {"op": "finish", "status": 4, "end_ns": t1, "held": True},
        chk("/bin/echo", 3, "echo"),
        {"op": "finish", "status": 0, "end_ns": t2, "held": True},
        {"op": "exit", "status": 0},
    ])
    ok(rc == 0, "the session ends", err)
    c = {r["tag"]: r for r in by_op(recs, "check")}
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    kinds = [(e.get("event"), e.get("uniqueid") if e.get("event") != "exit" else None) for e in evs]
    ls, echo = c.get("ls", {}).get("uniqueid"), c.get("echo", {}).get("uniqueid")
    want = [("accept", ls), ("finish", ls), ("accept", echo), ("finish", echo), ("exit", None)]
    ok(kinds[1:] == want, "a held finish is logged before the request that carried it, in order", kinds)
    fin = [e for e in evs if e.get("event") == "finish"]
    ends = [e.get("end_time", {}) for e in fin]
    ok(len(fin) == 2 and [x.get("seconds", 0) * 10**9 + x.get("nanoseconds", 0) for x in ends] == [t1, t2]
       and fin[0].get("exit_value") == 4, "each finish keeps the end time the shell measured", fin)


def group_lastwords(env):
    """What the shell sent just before it ended (events that need no answer, then EXIT) is logged, however many:
    the monitor reads its channels to their end before it logs the session's end."""
    pp = env.start_policyd()
    lp = env.start_logd()
    conf = env.monitor_conf([pp], [lp])
    n = 300
    rc, recs, err = env.run(conf, [start(), chk("/bin/ls", 2, "ls")]
                            + [{"op": "include", "file": f"/etc/inc{i}", "text": f"x{i}\n" * 20} for i in range(n)]
                            + [{"op": "finish", "status": 3}, {"op": "exit", "status": 5}, {"op": "exit_code", "code": 5}])
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    incs = [e.get("text", "")[:6] for e in evs if e.get("pbclientmode") == "shell include"]
    fin = [e for e in evs if e.get("event") == "finish"]
    ex = [e for e in evs if e.get("event") == "exit"]
    ok(rc == 5 and incs == [(f"x{i}\n" * 20)[:6] for i in range(n)]
       and len(fin) == 1 and fin[0].get("exit_value") == 3 and len(ex) == 1 and ex[0].get("exit_value") == 5,
       f"the {n} events and the EXIT sent just before the shell's end are all logged, in order",
       f"rc={rc} includes {len(incs)} finish {fin} exit {ex}\n{err[-2000:]}")


GROUPS = {"lastwords": group_lastwords, "held": group_held, "args": group_args, "shell": group_shell, "logback": group_logback, "resume": group_resume, "spooliolog": group_spooliolog, "cmdio": group_cmdio, "basic": group_basic, "refused": group_refused, "failover": group_failover,
          "midsession": group_midsession, "nativeroot": group_nativeroot, "spool": group_spool,
          "iolog": group_iolog, "subshell": group_subshell}


def run_group(groups, group, progs, keep_var="MONITOR_KEEP", precheck=None):
    """Run one test group in a fresh Env (kept with keep_var=1); returns the exit status. Shared by tests/session
    and tests/enforce. precheck(env): None, or why every test of the group is skipped."""
    for prog in progs:
        if not prog or not os.path.exists(prog):
            print(f"1..0 # SKIP {prog!r} is missing")
            return 0
    env = Env()
    try:
        why = precheck(env) if precheck else None
        if why:
            print(f"1..0 # SKIP {why}")
            return 0
        groups[group](env)
    except Exception:  # noqa: BLE001
        import traceback
        ok(False, f"{group}: exception", traceback.format_exc())
    finally:
        if os.environ.get(keep_var):
            print(f"# kept {env.tmp}")
            for p in env.procs.values():
                p.kill()
        else:
            env.close()
    print(f"1..{_n}")
    return 1 if _failed else 0


def main():
    return run_group(GROUPS, sys.argv[1], (MONITOR, POLICYD, LOGD, PBLOG))


if __name__ == "__main__":
    sys.exit(main())
