#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# End-to-end policy enforcement: the real pbsh/pbksh, started with --config, govern every command through
# the real pbsh-monitor against the real policyd (with its audit file) and logd over mutual TLS.
#
# Usage: test_enforce.py GROUP   (see GROUPS at the end; one meson test per group, TAP on stdout)
# Environment (meson's integ_env): PBSH, PBKSH, PBSH_MONITOR, POLICYD, LOGD, PBLOG, PBREPLAY, PBCTL, PB_TESTS.
#
# What policyd was asked is read from its audit file (JSON Lines: mode, command, argv, result, reason);
# what was logged, from logd's event log through pblog. Groups that need root (running commands as another
# user, native root mode, a shell run as an unprivileged user) skip with a message when not run as root.
import grp
import os
import pwd
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # the imported helpers live in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "monitor"))
sys.path.insert(0, os.path.join(HERE, "..", "interactive"))
import test_monitor as tm  # noqa: E402  (Env: PKI, policyd, logd, monitor configuration, pblog)
from term import Term, Timeout  # noqa: E402  (the pty driver of the interactive tests)

PBSH = tm.for_users(os.environ.get("PBSH", ""))
PBKSH = tm.for_users(os.environ.get("PBKSH", ""))
PATH = "/usr/bin:/bin"
TEST_USER = "pbsh-enforce"

ok = tm.ok  # TAP lines (failures on stderr too); tm._n / tm._failed count them


def skip(why):
    tm._n += 1
    print(f"ok {tm._n} # SKIP {why}", flush=True)


def which(cmd):
    """The file the shell's PATH search finds (PATH=/usr/bin:/bin), by its real path, as the gate sends it."""
    return os.path.realpath(shutil.which(cmd, path=PATH))


def in_dir(path, pattern):
    """A pattern in the folder of path (a list entry like /usr/bin/d*)."""
    return os.path.join(os.path.dirname(path), pattern)


# ---- the policy ----

def yval(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(yval(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def policy(start_set=None, rules="", pre=""):
    """A policy: `pre` rules, the shell start (with start_set's variables), then `rules`, then rm refused,
    the harmless commands accepted, and default deny with a reason naming the command."""
    s = "    set:\n" + "".join(f"      {k}: {yval(v)}\n" for k, v in (start_set or {}).items()) if start_set else ""
    harmless = [p for c in ("ls", "echo", "true", "false", "cat", "touch", "id", "printf", "sleep", "stat", "env", "printenv", "uname")
                for p in (f"/bin/{c}", f"/usr/bin/{c}")]
    return ("lists:\n"
            f"  harmless: {yval(harmless)}\n"
            f"  rm: {yval(['/bin/rm', '/usr/bin/rm'])}\n"
            "rules:\n" + pre +
            "  - name: start\n"
            "    when: {mode: shell start}\n" + s + "    accept: true\n"
            + rules +
            "  - name: rm\n"
            "    when: {mode: shell command, command: \"@rm\"}\n"
            "    reject: \"no rm for %u\"\n"
            "  - name: harmless\n"
            "    when: {mode: shell command, command: \"@harmless\"}\n"
            "    accept: true\n"
            "  - name: deny\n"
            "    reject: \"denied: %c\"\n")


class Gov:
    """A governed setting: tm.Env's PKI, policyd (with an audit file) and logd, and a shell configuration."""

    def __init__(self, env, pol, policyds=("policyd",), logd=True):
        self.env = env
        with open(os.path.join(env.tmp, "policy.yaml"), "w") as f:
            f.write(pol)
        self.pports = [env.start_policyd(n, extra=f"  audit: {env.tmp}/{n}/audit.jsonl\n") for n in policyds]
        self.lport = env.start_logd() if logd else tm.free_port()
        self.conf = env.monitor_conf(self.pports, [self.lport])
        self.work = os.path.join(env.tmp, "work")
        os.makedirs(self.work, exist_ok=True)

    def audit(self, name="policyd", start=False):
        path = os.path.join(self.env.tmp, name, "audit.jsonl")
        if not os.path.exists(path):
            return []
        import json
        recs = [json.loads(line) for line in open(path) if line.strip()]
        return [r for r in recs if start or r.get("mode") != "shell start"]

    def events(self, n_exit=1):
        return self.env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= n_exit)


def shell_env(env, **extra):
    e = {"PATH": PATH, "HOME": env.tmp, "PBSH_MONITOR": tm.MONITOR, "LC_ALL": "C"}
    e.update(extra)
    return e


def run(gov, script, shell=None, user=None, extra_env=None, timeout=60, conf=None):
    """Run `SHELL --config CONF -c script` (as user, a (uid, gid) pair, when given)."""
    argv = [shell or PBSH, "--config", conf or gov.conf, "-c", script]
    if user is not None and user[0] != os.getuid():
        argv = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", "--"] + argv
    return subprocess.run(argv, env=shell_env(gov.env, **(extra_env or {})), cwd=gov.work, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def show(p):
    return f"rc={p.returncode}\nstdout={p.stdout!r}\nstderr={p.stderr!r}"


def governed(env):
    """Does this pbsh start a monitor? A stand-in monitor that leaves a mark and refuses tells."""
    if not PBSH or not os.path.exists(PBSH):
        return "no pbsh built"
    probe = os.path.join(env.tmp, "probe.sh")
    with open(probe, "w") as f:
        f.write(f"#!/bin/sh\n: > {env.tmp}/probed\nexit 1\n")
    os.chmod(probe, 0o755)
    conf = env.monitor_conf([tm.free_port()], [tm.free_port()])
    subprocess.run([PBSH, "--config", conf, "-c", "true"], env=dict(shell_env(env), PBSH_MONITOR=probe),
                   capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    if not os.path.exists(os.path.join(env.tmp, "probed")):
        return "this pbsh has no governed mode (pbsh --config does not start the session monitor)"
    return None


def test_user():
    """The unprivileged user the tests run shells as (created when running as root): (uid, gid) or None."""
    if os.getuid() != 0:
        return None
    if not shutil.which("useradd"):
        return None
    for _ in range(50):
        try:
            pw = pwd.getpwnam(TEST_USER)
            return pw.pw_uid, pw.pw_gid
        except KeyError:
            pass
        # Parallel groups may race to create it: useradd fails on the lock or 'exists'; look again.
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", TEST_USER], capture_output=True)
        time.sleep(0.1)
    raise RuntimeError(f"could not create the test user {TEST_USER}")


def give_to(env, user):
    """Hand the test folder (configuration, host key, spool, work) to the shell's unprivileged user."""
    for root, dirs, files in os.walk(env.tmp):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), user[0], user[1])
    os.chown(env.tmp, user[0], user[1])


def fifo_killer(gov, steps):
    """For each (ready, name): wait for the shell's file ready, kill server name, then write a line to the fifo
    ready + '.fifo' the shell is blocked reading."""
    def go():
        for ready, name in steps:
            reached = tm.wait_file(ready, empty_ok=True, secs=30)
            gov.env.stop(name, signal.SIGKILL)
            try:  # a shell that never got there is not waited for
                fd = os.open(ready + ".fifo", os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                if reached:
                    raise
                continue
            os.write(fd, b"go\n")
            os.close(fd)
    th = threading.Thread(target=go)
    th.start()
    return th


def pause_point(gov, name):
    """Shell text that signals `name` is reached and blocks until fifo_killer lets it go (builtins only)."""
    ready = os.path.join(gov.work, name)
    os.mkfifo(ready + ".fifo")
    return ready, f": > {ready}; read _go < {ready}.fifo"


# ---- groups ----

def group_lists(env):
    """shellallowedcommands / shellforbiddencommands: DESIGN §3.2 precedence; list hits are neither sent nor logged."""
    uname, basename, base64, dirname, wc, idp, head = (which(c) for c in
                                                     ("uname", "basename", "base64", "dirname", "wc", "id", "head"))
    gov = Gov(env, policy({
        "shellallowedcommands": [uname, in_dir(basename, "base*"), in_dir(dirname, "d*")],
        "shellforbiddencommands": [in_dir(uname, "un*"), basename, in_dir(dirname, "di*"), in_dir(wc, "w*")],
    }, rules="  - name: id\n    when: {mode: shell command, command: " + yval(idp) + "}\n    accept: true\n"))
    p = run(gov, "uname -s; basename /x/BN; echo b64 | base64; dirname /DN/x; echo wc | wc -c; id -u; "
                 "echo HD | head -n1; echo end")
    out = p.stdout.splitlines()
    ran = out[-1:] == ["end"]
    ok("Linux" in out, "exact allowed beats pattern forbidden: uname runs", show(p))
    ok(ran and "BN" not in out, "exact forbidden beats pattern allowed: basename is refused", show(p))
    ok("YjY0Cg==" in out, "a pattern in the allowed list accepts base64", show(p))
    ok("/DN" in out, "allowed pattern beats forbidden pattern: dirname runs", show(p))
    ok(ran and "3" not in out, "a pattern in the forbidden list refuses wc", show(p))
    ok(str(os.getuid()) in out and "end" in out, "a command in neither list is asked (id accepted by the server)",
       show(p))
    ok("HD" not in out and "denied: " + head in p.stderr, "and head is refused by the server with its reason",
       show(p))
    asked = sorted(r["command"] for r in gov.audit())
    ok(asked == sorted([idp, head]), "policyd's audit has only the commands no list settled", asked)
    evs = gov.events()
    cmds = sorted(e.get("command") for e in evs if e.get("pbclientmode") == "shell command" and e.get("event") != "finish")
    ok(cmds == sorted([idp, head]), "logd has no event for a list hit", [(e.get("event"), e.get("command")) for e in evs])
    ok(len(gov.audit(start=True)) == 3, "one shell start, two checks: nothing sent twice", gov.audit(start=True))


def group_builtins(env):
    """shellcheckbuiltins: every builtin is asked for, after alias/function resolution, with its argv."""
    rules = ("  - name: pwd\n    when: {mode: shell builtin, command: pwd}\n    reject: \"no pwd here\"\n"
             "  - name: builtins\n    when: {mode: shell builtin}\n    accept: true\n")
    gov = Gov(env, policy({"shellcheckbuiltins": True}, rules=rules))
    p = run(gov, "echo one; pwd; command pwd; eval pwd; echo two")
    ok(p.stdout == "one\ntwo\n" and p.stderr.count("no pwd here") == 3,
       "a refused builtin does not run (directly, through command, through eval)", show(p))
    a = [(r["mode"], r["command"], r["argv"], r["result"]) for r in gov.audit()]
    ok(("shell builtin", "echo", ["echo", "one"], "accept") in a and ("shell builtin", "echo", ["echo", "two"], "accept") in a,
       "builtins are sent with mode shell builtin, their name and argv", a)
    ok(sum(1 for x in a if x[1] == "pwd" and x[3] == "reject") == 3, "pwd is asked for each time it would run", a)
    # Without shellcheckbuiltins nothing about builtins reaches policyd.
    env2 = tm.Env()
    try:
        gov2 = Gov(env2, policy({"shellcheckbuiltins": False}, rules=rules))
        p = run(gov2, "echo one; pwd >/dev/null; echo two")
        ok(p.stdout == "one\ntwo\n" and not [r for r in gov2.audit() if r["mode"] == "shell builtin"],
           "shellcheckbuiltins false: builtins run unasked", show(p) + str(gov2.audit()))
    finally:
        env2.close()


def group_redirections(env):
    """shellcheckredirections: argv ["shell redirect read"|"shell redirect write", path], refused ones not opened."""
    work = os.path.join(env.tmp, "work")
    rules = (f"  - name: nowrite\n    when: {{mode: shell redirect, argv: {{0: \"shell redirect write\", 1: {yval(work + '/deny/*')}}}}}\n"
             "    reject: \"no writes there\"\n"
             f"  - name: noread\n    when: {{mode: shell redirect, argv: {{0: \"shell redirect read\", 1: {yval(work + '/secret')}}}}}\n"
             "    reject: \"no reading that\"\n"
             "  - name: redirect\n    when: {mode: shell redirect}\n    accept: true\n")
    gov = Gov(env, policy({"shellcheckredirections": True}, rules=rules))
    os.makedirs(os.path.join(work, "deny"))
    with open(os.path.join(work, "secret"), "w") as f:
        f.write("SECRET\n")
    with open(os.path.join(work, "fine"), "w") as f:
        f.write("FINE\n")
    w = work
    os.symlink(f"{w}/deny/w5", f"{w}/innocent")  # a link whose target is in the refused folder (not there yet)
    os.symlink(f"{w}/secret", f"{w}/readme")
    p = run(gov, f"echo a > {w}/w1; echo b >> {w}/deny/w2; echo c >| {w}/deny/w3; /usr/bin/cat < {w}/secret; "
                 f"read x < {w}/fine; echo $x; echo d 2> {w}/deny/w4; echo e > {w}/innocent; /usr/bin/cat < {w}/readme; "
                 "echo end")
    ok(os.path.exists(f"{w}/w1") and open(f"{w}/w1").read() == "a\n", "an accepted write redirection opens the file",
       show(p))
    ok(p.stdout.endswith("end\n") and not any(os.path.exists(f"{w}/deny/{n}") for n in ("w2", "w3", "w4", "w5")),
       "refused write redirections (>>, >|, 2>, through a link) create nothing", show(p) + str(os.listdir(f"{w}/deny")))
    ok("SECRET" not in p.stdout and "FINE" in p.stdout and p.stdout.endswith("end\n"),
       "a refused read redirection is not opened (the command does not run), an accepted one is", show(p))
    ok("no writes there" in p.stderr and "no reading that" in p.stderr, "with the policy's reasons", show(p))
    a = [(r["mode"], r["command"], r["argv"], r["result"]) for r in gov.audit() if r["mode"] == "shell redirect"]
    want = [("shell redirect", "", ["shell redirect write", f"{w}/w1"], "accept"),
            ("shell redirect", "", ["shell redirect write", f"{w}/deny/w2"], "reject"),
            ("shell redirect", "", ["shell redirect write", f"{w}/deny/w3"], "reject"),
            ("shell redirect", "", ["shell redirect read", f"{w}/secret"], "reject"),
            ("shell redirect", "", ["shell redirect read", f"{w}/fine"], "accept"),
            ("shell redirect", "", ["shell redirect write", f"{w}/deny/w4"], "reject"),
            ("shell redirect", "", ["shell redirect write", f"{w}/deny/w5"], "reject"),
            ("shell redirect", "", ["shell redirect read", f"{w}/secret"], "reject")]
    ok(a == want, "policyd got each redirection once, in the argv form, with an empty command, links resolved", a)


def group_includes(env):
    """shelllogincludefiles: a sourced file is logged (its name and text) as a `shell include` event."""
    gov = Gov(env, policy({"shelllogincludefiles": True}))
    inc = os.path.join(gov.work, "inc.sh")
    text = "x=from-include\necho \"$x\"\n"
    with open(inc, "w") as f:
        f.write(text)
    p = run(gov, f". {inc}; /usr/bin/echo after")
    ok(p.returncode == 0 and p.stdout == "from-include\nafter\n", "the sourced file runs", show(p))
    evs = gov.events()
    incs = [e for e in evs if e.get("pbclientmode") == "shell include"]
    ok(len(incs) == 1 and incs[0].get("command") == inc and incs[0].get("text") == text,
       "one include event with the file's name and text", [(e.get("event"), e.get("pbclientmode"), e.get("command")) for e in evs])
    env2 = tm.Env()
    try:
        gov2 = Gov(env2, policy({"shelllogincludefiles": False}))
        p = run(gov2, f". {inc}; /usr/bin/echo after")
        evs = gov2.events()
        ok(p.stdout == "from-include\nafter\n" and not [e for e in evs if e.get("pbclientmode") == "shell include"],
           "shelllogincludefiles false: no include event", show(p) + str(evs))
    finally:
        env2.close()


def group_readonly(env):
    """shellreadonly: no assignment, unset, typeset, read, for, export or `VAR=x cmd` prefix changes the variables."""
    gov = Gov(env, policy({"shellreadonly": ["FOO", "PATH"]}))
    common = ("(FOO=x; echo \"A:$FOO\"); (unset FOO; echo \"U:${FOO-unset}\"); "
              "(read FOO <<EOF\nx\nEOF\necho \"R:$FOO\"); (for FOO in x; do echo \"F:$FOO\"; done); "
              "(export FOO=x; echo \"E:$FOO\"); (FOO=x /usr/bin/printenv FOO); (PATH=/tmp; echo \"P:$PATH\"); "
              "(PATH=/tmp /usr/bin/printenv PATH); (readonly FOO=x; echo \"O:$FOO\"); ")
    for name, sh, extra in (("pbsh", PBSH, ""), ("pbksh", PBKSH, "(typeset FOO=x; echo \"T:$FOO\"); "
                                                                  "(typeset +r FOO; FOO=x; echo \"T2:$FOO\"); ")):
        if not sh or not os.path.exists(sh):
            skip(f"no {name} built")
            continue
        p = run(gov, common + extra + "echo \"end:$FOO:$PATH\"", shell=sh, extra_env={"FOO": "orig"})
        lines = p.stdout.splitlines()
        bad = [ln for ln in lines if ln == "x" or ln == "/tmp" or ln.endswith(":x") or ln.endswith(":/tmp")
               or ln.endswith(":unset")]
        ok(lines[-1:] and lines[-1].startswith("end:") and not bad,
             f"{name}: no way of changing a shellreadonly variable worked", show(p))
        ok(lines[-1:] == [f"end:orig:{PATH}"], f"{name}: the values are the ones the shell started with", show(p))
        ok("FOO" in p.stderr and "PATH" in p.stderr, f"{name}: the attempts are reported naming the variable",
             show(p))


def group_restricted(env):
    """shellrestricted: no cd, SHELL/ENV/PATH read-only, no '/' in command names, no command -p,
    no file-creating redirections."""
    gov = Gov(env, policy({"shellrestricted": True}))
    w = gov.work
    p = run(gov, f"(cd /; echo \"C:$(pwd)\"); (SHELL=/x; echo \"S:$SHELL\"); (ENV=/x; echo \"V:$ENV\"); "
                 f"(PATH=/x; echo \"P:$PATH\"); /usr/bin/id -u; ./x; command -p id -u; (exec id -u); "
                 f"echo a > {w}/r1; echo b >> {w}/r2; echo c >| {w}/r3; echo d <> {w}/r4; echo e 2> {w}/r5; "
                 "id -un; echo end",
            extra_env={"SHELL": "/bin/sh", "ENV": ""})
    out = p.stdout.splitlines()
    ran = out[-1:] == ["end"]
    ok(ran and not [ln for ln in out if ln.startswith("C:") and ln != f"C:{w}"], "cd is refused", show(p))
    ok(ran and not [ln for ln in out if ln in ("S:/x", "V:/x", "P:/x")], "SHELL, ENV and PATH are read-only",
         show(p))
    ok(ran and str(os.getuid()) not in out, "a command name with '/', command -p and exec are refused",
         show(p))
    ok(ran and not [n for n in ("r1", "r2", "r3", "r4", "r5") if os.path.exists(os.path.join(w, n))],
       "redirections that could create a file are refused", show(p) + str(os.listdir(w)))
    ok(out[-2:] == [pwd.getpwuid(os.getuid()).pw_name, "end"], "commands found by PATH still run", show(p))
    asked = [r["command"] for r in gov.audit()]
    ok(asked == [which("id")], "the refusals are the shell's own: policyd saw only the allowed id", asked)


def group_runas(env):
    """runuser / rungroup / runumask from a decision apply to commands, builtins and redirections' files."""
    if os.getuid() != 0:
        skip("runuser/rungroup/runumask need root (the shell switches to the test user for the command)")
        return
    user = test_user()
    if user is None:
        skip(f"cannot create the test user {TEST_USER} (no useradd)")
        return
    uid, gid = user
    gname = grp.getgrgid(gid).gr_name
    rules = (f"  - name: asuser\n    when: {{mode: shell command, command: {yval([which('id'), which('touch')])}}}\n"
             f"    set: {{runuser: {TEST_USER}, rungroup: {gname}, runumask: \"027\"}}\n    accept: true\n"
             "  - name: redirect\n    when: {mode: shell redirect}\n"
             f"    set: {{runuser: {TEST_USER}, rungroup: {gname}, runumask: \"077\"}}\n    accept: true\n"
             "  - name: test-as-user\n    when: {mode: shell builtin, command: test}\n"
             f"    set: {{runuser: {TEST_USER}}}\n    accept: true\n"
             "  - name: builtins\n    when: {mode: shell builtin}\n    accept: true\n")
    gov = Gov(env, policy({"shellcheckredirections": True, "shellcheckbuiltins": True}, rules=rules))
    d = os.path.join(gov.work, "shared")
    os.makedirs(d)
    os.chmod(d, 0o777)
    for p_ in (env.tmp, gov.work):  # the test user's commands reach d
        os.chmod(p_, 0o711)
    private = os.path.join(gov.work, "private")
    open(private, "w").close()
    os.chmod(private, 0o600)
    p = run(gov, f"id -u; id -g; id -G; touch {d}/t; echo x > {d}/r; /usr/bin/stat -c %u /proc/self; "
                 f"test -w {private} && echo T:writable || echo T:not-writable; [ -w {private} ] && echo B:writable")
    out = p.stdout.splitlines()
    ok(out[:3] == [str(uid), str(gid), str(gid)], f"the command ran as {TEST_USER}:{gname} (no other groups)",
         show(p))
    st = os.stat(f"{d}/t") if os.path.exists(f"{d}/t") else None
    ok(st is not None and (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o640),
         "a file the command created has that owner, group and runumask 027", st)
    st = os.stat(f"{d}/r") if os.path.exists(f"{d}/r") else None
    ok(st is not None and (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o600),
         "a file a redirection created has the redirection decision's owner, group and umask 077", st)
    ok(out[3:4] == [str(os.getuid())], "a command without runuser runs as the shell's user", show(p))
    ok("T:not-writable" in out, f"a builtin (test -w) whose decision sets runuser runs as {TEST_USER}", show(p))
    ok("B:writable" in out, "a builtin ([) without runuser runs as the shell's user", show(p))


def group_iolog(env):
    """A command whose decision sets iolog with runlocalmode false: that command's I/O alone, replayable."""
    rules = (f"  - name: logged\n    when: {{mode: shell command, command: {yval(which('printf'))}}}\n"
             "    set: {iolog: \"%u/%i\", runlocalmode: false}\n    accept: true\n")
    gov = Gov(env, policy(rules=rules))
    p = run(gov, f"{which('printf')} 'only-this-command\\n'; echo not-logged")
    ok(p.returncode == 0 and sorted(p.stdout.splitlines()) == ["not-logged", "only-this-command"],
       "the command's output still reaches stdout", show(p))
    evs = gov.events()
    own = [e for e in evs if e.get("event") == "accept" and e.get("iolog_path") and e.get("command") == which("printf")]
    ok(len(own) == 1, "the command has an I/O log of its own", [(e.get("event"), e.get("command"), e.get("iolog_path")) for e in evs])
    if not own:
        return
    lid = own[0]["iolog_path"]
    out = b""
    for _ in range(50):
        f = os.path.join(env.io, lid, "stdout")
        if os.path.exists(f) and os.path.getsize(f):
            out = open(f, "rb").read()
            break
        time.sleep(0.1)
    ok(b"only-this-command" in out and b"not-logged" not in out, "its output, and only its, is in the log", out)
    rc, played, info = tm.replay(env, lid)
    ok(rc == 0 and b"only-this-command" in played, "pbreplay plays it", info)
    # The relay races the shell: repeated, a lost race is all but certain while the relay is not drained.
    q = run(gov, f"i=0; while [ $i -lt 20 ]; do {which('printf')} 'logged-%d\\n' $i; echo plain-$i; i=$((i+1)); done")
    want = "".join(f"logged-{i}\nplain-{i}\n" for i in range(20))
    ok(q.stdout == want, "all of it before the shell goes on (the relayed output is not overtaken by the next command's)",
       show(q))


def group_logservers(env):
    """A start decision's logservers replace the configuration's: the session is logged there."""
    second = env.start_logd(name="logd2")
    gov = Gov(env, policy({"logservers": [f"127.0.0.1:{second}"]}))
    p = run(gov, "/usr/bin/echo hi; /usr/bin/true")
    ok(p.returncode == 0 and p.stdout == "hi\n", "the session runs", show(p))
    ev2 = os.path.join(env.tmp, "logd2", "events")
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e), events=ev2, secs=5)
    kinds = [(e.get("event"), e.get("command")) for e in evs if e.get("event") != "finish"]
    ok([k[0] for k in kinds] == ["accept", "accept", "accept", "exit"]
       and [k[1] for k in kinds[1:3]] == [which("echo"), which("true")],
       "the decision's log server has the whole session", kinds)
    ok(not [e for e in env.events_json() if e.get("event") != "accept" or e.get("pbclientmode") != "shell start"],
       "the configured log server got nothing after the start", env.events_json())


def group_failover(env):
    """policyservers in order: a closed port is skipped; a server killed mid-session fails over to the next."""
    dead = tm.free_port()
    gov = Gov(env, policy(), policyds=("pa", "pb"))
    conf = env.monitor_conf([dead] + gov.pports, [gov.lport])
    p = run(gov, "/usr/bin/echo first", conf=conf)
    ok(p.returncode == 0 and p.stdout == "first\n", "first server's port closed: the next one answers", show(p))
    ok([r["command"] for r in gov.audit("pa")] == [which("echo")] and not gov.audit("pb"),
       "the check went to the first server that answered", (gov.audit("pa"), gov.audit("pb")))
    ready, wait = pause_point(gov, "ready")
    th = fifo_killer(gov, [(ready, "pa")])
    p = run(gov, f"/usr/bin/echo before; {wait}; /usr/bin/echo after; rm -f {gov.work}/nothing; /usr/bin/true")
    th.join()
    ok(p.stdout == "before\nafter\n" and "no rm for" in p.stderr, "policyd killed mid-session: the session goes on",
       show(p))
    pb = [(r["command"], r["result"]) for r in gov.audit("pb")]
    ok(pb == [(which("echo"), "accept"), (which("rm"), "reject"), (which("true"), "accept")],
       "the second server decided everything after the failure (and nothing before)", pb)


def group_failclosed(env):
    """Non-root and no policy server: nothing runs, at the start and in the middle of a session."""
    user = test_user()
    if user is None and os.getuid() == 0:
        skip(f"running as root and cannot create the unprivileged test user {TEST_USER} (no useradd)")
        return
    if user is None:
        user = (os.getuid(), os.getgid())  # already unprivileged
    gov = Gov(env, policy())
    w = gov.work
    dead = env.monitor_conf([tm.free_port(), tm.free_port()], [gov.lport])
    os.rename(dead, os.path.join(env.tmp, "dead.yaml"))
    dead = os.path.join(env.tmp, "dead.yaml")
    conf = env.monitor_conf(gov.pports, [gov.lport])
    ready, wait = pause_point(gov, "ready")
    give_to(env, user)
    p = run(gov, f": > {w}/b1; /usr/bin/touch {w}/c1", user=user, conf=dead)
    ok(p.returncode != 0 and not os.path.exists(f"{w}/b1") and not os.path.exists(f"{w}/c1"),
       "no policy server at the start: the shell runs nothing, not even a builtin", show(p))
    ok("policy server" in p.stderr, "and says why", show(p))
    th = fifo_killer(gov, [(ready, "policyd")])
    p = run(gov, f"/usr/bin/touch {w}/c2; {wait}; /usr/bin/touch {w}/c3; /usr/bin/echo ran", user=user, conf=conf)
    th.join()
    ok(os.path.exists(f"{w}/c2") and os.stat(f"{w}/c2").st_uid == user[0],
       "a command before the server died ran (as the unprivileged user)", show(p))
    ok(not os.path.exists(f"{w}/c3") and "ran" not in p.stdout and p.returncode != 0,
       "policyd killed mid-session: the next commands do not run", show(p))
    ok("policy server" in p.stderr, "and the message says why", show(p))


def group_takeover(env):
    """The session monitor is killed mid-session: a root shell starts a new one that takes over (new log session,
    the policy still asked, the shell's end logged); anyone else's shell runs nothing more."""
    if os.getuid() != 0:
        skip("a takeover is for root sessions: the test needs a real uid of 0")
        return
    gov = Gov(env, policy())
    w = gov.work
    # The shell's parent is its monitor: root may kill it from inside the session.
    # (The sleep: the monitor writes its log a batch at a time, at most 5 ms apart; what it had not written
    # yet is lost with it.)
    script = ("/usr/bin/sleep 0.1; read -r _p _c _s mon _r < /proc/$$/stat; kill -9 $mon; /usr/bin/echo after; "
              f"/usr/bin/rm -f {w}/none; echo rm=$?; /usr/bin/touch {w}/t1; exit 3")
    p = run(gov, script)
    ok(p.returncode == -9 and p.stdout == "after\nrm=126\n" and os.path.exists(f"{w}/t1"),
       "root: the commands after the monitor's death run, and the policy still refuses rm", show(p))
    ok("took over" in p.stderr, "the shell says a new monitor took over", show(p))
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    starts = [e for e in evs if e.get("pbclientmode") == "shell start"]
    after = [e for e in evs if e.get("pbtakeover") == 1]
    dec = [(e.get("event"), os.path.basename(e.get("command") or "")) for e in after
           if e.get("pbclientmode") == "shell command"]
    ok(len(starts) == 2 and starts[1].get("pbtakeover") == 1 and starts[0].get("pbtakeover") is None,
       "a second log session, marked pbtakeover", starts)
    ok(dec == [("accept", "echo"), ("reject", "rm"), ("accept", "touch")],
       "its decisions: what policyd answered after the takeover", dec)
    ex = [e for e in evs if e.get("event") == "exit"]
    ok(len(ex) == 1 and ex[0].get("exit_value") == 3 and starts and ex[0].get("session") == starts[-1].get("session"),
       "the new session's end: the shell's exit status (the first session has none)", ex)
    asked = [r["command"] for r in gov.audit()]
    ok(asked.count(which("echo")) == 1 and asked.count(which("touch")) == 1,
       "policyd was asked once per command", asked)
    # The monitor that took over ends the session when an administrator says so (it is not the shell's parent:
    # it hangs the shell up through its pidfd).
    adm = env.start_policyd("admpolicyd", admins=True)
    conf = env.monitor_conf([adm], [gov.lport], name="adm.yaml")
    ready, wait = pause_point(gov, "taken")
    got = {}

    def admin():
        got["reached"] = tm.wait_file(ready, empty_ok=True, secs=30)
        got["kill"] = env.kill_session("admpolicyd")
        time.sleep(2)  # past this a shell still there would read the line and go on
        try:  # a shell already gone reads nothing
            fd = os.open(ready + ".fifo", os.O_WRONLY | os.O_NONBLOCK)
            os.write(fd, b"go\n")
            os.close(fd)
        except OSError:
            pass
    th = threading.Thread(target=admin)
    th.start()
    p = run(gov, "read -r _p _c _s mon _r < /proc/$$/stat; kill -9 $mon; /usr/bin/true; "
            f"{wait}; /usr/bin/echo reached", conf=conf)
    th.join()
    ok(got.get("reached") and got.get("kill", (1,))[0] == 0 and "took over" in p.stderr
       and "session was ended" in p.stderr and "maintenance now" in p.stderr and "reached" not in p.stdout,
       "an administrator ends a session a new monitor took over: the shell is hung up at once", (got, show(p)))
    # (No interactive case: a terminal's pbksh ends with its monitor all the same. The monitor is the process
    # the login or the launching shell started and waits for: when it dies, that parent takes the terminal back,
    # and a login's kernel hangs up the terminal's foreground.)
    # Anyone else fails closed: the monitor, root's, is killed by the test while the shell waits.
    user = test_user()
    if user is None:
        skip(f"cannot create the unprivileged test user {TEST_USER} (no useradd)")
        return
    ready, wait = pause_point(gov, "ready")
    give_to(env, user)
    argv = ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}", "--clear-groups", "--", PBSH, "--config",
            gov.conf, "-c", f"{wait}; /usr/bin/touch {w}/u1; /usr/bin/echo ran"]
    q = subprocess.Popen(argv, env=shell_env(env), cwd=w, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, stdin=subprocess.DEVNULL)
    reached = tm.wait_file(ready, empty_ok=True, secs=30)
    os.kill(q.pid, signal.SIGKILL)  # setpriv exec'd pbsh, whose first process became the monitor
    if reached:
        fd = os.open(ready + ".fifo", os.O_WRONLY)
        os.write(fd, b"go\n")
        os.close(fd)
    out, err = q.communicate(timeout=60)
    ok(reached and not os.path.exists(f"{w}/u1") and "ran" not in out and "monitor is gone" in err,
       "not root: after the monitor's death nothing runs, and the shell says why", (out, err))


def group_nativeroot(env):
    """Real uid 0, no policy server, logd down: everything runs, the spool is forwarded, each event once."""
    if os.getuid() != 0:
        skip("native root mode needs a real uid of 0")
        return
    gov = Gov(env, policy(), policyds=(), logd=False)
    conf = env.monitor_conf([tm.free_port()], [gov.lport])
    w = gov.work
    p = run(gov, f"/usr/bin/touch {w}/a; /usr/bin/rm {w}/a; /usr/bin/echo done; /usr/bin/true", conf=conf)
    ok(p.returncode == 0 and p.stdout == "done\n" and not os.path.exists(f"{w}/a"),
       "native root: every command runs (rm too)", show(p))
    spool = [f for f in os.listdir(env.spool) if f.endswith(".journal")] if os.path.isdir(env.spool) else []
    ok(len(spool) == 1, "logd down: the session is in the spool", spool)
    env.start_logd(gov.lport)
    rc, sent, out = tm.forward(conf)
    ok(rc == 0 and sent == 1, "pbctl forward sends it when logd is back", out)
    evs = gov.events()
    kinds = [(e.get("event"), e.get("command")) for e in evs if e.get("event") != "finish"]
    ok([k[0] for k in kinds] == ["accept"] * 5 + ["exit"] and kinds[0][1] == kinds[-1][1] == PBSH
       and [k[1] for k in kinds[1:-1]] == [which(c) for c in ("touch", "rm", "echo", "true")],
       "pblog shows every decision of the session", kinds)
    ok(sum(1 for e in evs if e.get("event") == "finish") == 4, "and every command's finish", evs)
    uids = [e.get("uniqueid") for e in evs if e.get("event") == "accept"]
    ok(len(uids) == len(set(uids)) and all(e.get("rule") == "native-root" for e in evs if e.get("event") == "accept"
                                           and e.get("pbclientmode") == "shell command"),
       "each once, decided by native-root", evs)
    rc, sent, out = tm.forward(conf)
    time.sleep(0.3)
    ok(rc == 0 and sent == 0 and len(env.events_json()) == len(evs), "forwarding again sends nothing twice", out)
    # The next root session with logd up forwards what an earlier one spooled.
    env.stop("logd")
    run(gov, "/usr/bin/true", conf=conf)
    env.start_logd(gov.lport)
    run(gov, "/usr/bin/true", conf=conf)
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 3)
    # The forwarder deletes the journal once logd has acknowledged all of it, which may be a
    # moment after the events are in the log.
    end = time.monotonic() + 10
    while [f for f in os.listdir(env.spool) if f.endswith(".journal")] and time.monotonic() < end:
        time.sleep(0.05)
    evs = env.events_json()
    ok(sum(1 for e in evs if e.get("event") == "exit") == 3
       and not [f for f in os.listdir(env.spool) if f.endswith(".journal")],
       "the next session forwarded the one spooled before it, once", [(e.get("event"), e.get("command")) for e in evs])
    # An interactive root session with no server at all: its terminal I/O is spooled too, then replayable.
    if not PBKSH or not os.path.exists(PBKSH):
        skip("no pbksh built")
        return
    env.stop("logd")
    status, t, err = pty_session([PBKSH, "--config", conf, "-i"], shell_env(env, PS1="R> ", ENV="", TERM="dumb"), [
        ("expect", r"R> "), ("line", "/usr/bin/echo native-io"), ("expect", r"native-io"), ("expect", r"R> "),
        ("line", "exit 4")])
    ok(err is None and status == 4, "an interactive native root pbksh runs", f"{err} {status} {t.buf[-500:]!r}")
    env.start_logd(gov.lport)
    rc, sent, out = tm.forward(conf)
    ok(rc == 0 and sent == 1, "its journal is forwarded", out)
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 4)
    lid = tm.finished_iolog(env, evs, "the forwarded session has an I/O log")
    if lid is None:
        return
    rc, played, info = tm.replay(env, lid)
    ok(rc == 0 and played.count(b"native-io") >= 1 and b"exit 4" in played, "pbreplay plays it", info)


BYPASS = [
    # (name, script text using {v} for the victim file, expected command (None: rm's PATH search))
    ("quoting inside the name", "r''m {v}", None),
    ("backslash before the name", "\\rm {v}", None),
    ("name from a variable", "c=rm; $c {v}", None),
    ("command substitution", "x=$(rm {v})", None),
    ("eval", "eval 'r\"\"m {v}'", None),
    ("function named like an allowed command", "ls() {{ rm {v}; }}; ls; unset -f ls", None),
    ("alias named like an allowed command", "alias ls='rm {v}'\nls\nunalias ls", None),
    ("exec", "(exec rm {v})", None),
    ("command", "command rm {v}", None),
    ("command -p (the default PATH)", "command -p rm {v}", None),
    ("sourced file", ". {src}", None),
    ("trap", "trap 'rm {v}' USR1; kill -USR1 $$; trap - USR1", None),
    ("subshell", "(rm {v})", None),
    ("pipeline stage", "echo | rm {v}", None),
    ("background", "rm {v} & wait", None),
    ("arithmetic with a command substitution", ": $(( $(rm {v}) + 0 ))", None),
    ("#! script run by the shell under test (a governed session of its own)", "{script}", None),
    ("symbolic link to rm first in PATH, named like an allowed command (its real path is sent)",
     "PATH={plink}:$PATH; ls {v}; PATH=" + PATH, None),
    ("copy of rm first in PATH, named like an allowed command", "PATH={pbin}:$PATH; ls {v}; PATH=" + PATH,
     "{pbin}/ls"),
]


def group_bypass(env):
    """Attempts to slip past the gate: each reaches policyd with the resolved path and is refused."""
    w = os.path.join(env.tmp, "work")
    gov = Gov(env, policy(rules="  - name: scripts\n    when: {mode: shell command, command: "
                               + yval(w + "/script-*") + "}\n    accept: true\n"))
    pbin = os.path.join(w, "pbin")
    os.makedirs(pbin)
    shutil.copy(which("rm"), os.path.join(pbin, "ls"))
    plink = os.path.join(w, "plink")
    os.makedirs(plink)
    os.symlink(which("rm"), os.path.join(plink, "ls"))
    lines = []
    want = {}
    for i, (name, text, cmd) in enumerate(BYPASS):
        v = os.path.join(w, f"victim-{i}")
        open(v, "w").close()
        src = os.path.join(w, f"src-{i}.sh")
        with open(src, "w") as f:
            f.write(f"rm {v}\n")
        script = os.path.join(w, f"script-{i}")
        open(script, "w").close()
        os.chmod(script, 0o755)
        lines.append(text.format(v=v, src=src, pbin=pbin, plink=plink, script=script))
        want[v] = (name, cmd.format(pbin=pbin) if cmd else which("rm"))
    for sh, shname in ((PBSH, "pbsh"), (PBKSH, "pbksh")):
        if not sh or not os.path.exists(sh):
            skip(f"no {shname} built")
            continue
        start = len(gov.audit())
        for i in range(len(BYPASS)):  # the #! scripts name the shell under test
            script = os.path.join(w, f"script-{i}")
            with open(script, "w") as f:
                f.write(f"#!{sh} --config={gov.conf}\nrm {os.path.join(w, f'victim-{i}')}\n")
        p = run(gov, "\n".join(lines) + "\necho end\n", shell=sh)
        ok(p.stdout.endswith("end\n"), f"{shname}: the script ran to its end", show(p))
        aud = gov.audit()[start:]
        for v, (name, cmd) in want.items():
            hits = [r for r in aud if v in r.get("argv", [])]
            ok(os.path.exists(v) and len(hits) == 1 and hits[0]["command"] == cmd and hits[0]["result"] == "reject",
               f"{shname}: {name}: policyd got {cmd} once and refused it",
               f"exists={os.path.exists(v)} audit={hits}\n" + show(p))
            open(v, "a").close()


def pty_session(argv, env_vars, steps, timeout=10):
    """Run argv on a pty; steps: ('expect', regex) or ('line', text). Returns (exit status, Term, error)."""
    t = Term(argv, env_vars)
    err = None
    try:
        for kind, arg in steps:
            if kind == "expect":
                t.expect(arg, timeout=timeout)
            else:
                t.line(arg)
        status = t.wait_exit(timeout)
    except (Timeout, EOFError, AssertionError) as e:
        err = str(e)
        status = None
    finally:
        if t.status is None:
            t.close()
    return status, t, err


def group_interactive(env):
    """pbksh on a pty, governed: refused commands' messages, ENV file and prompt expansion checked,
    the session's I/O log (started by the start decision) replays."""
    if not PBKSH or not os.path.exists(PBKSH):
        skip("no pbksh built")
        return
    gov = Gov(env, policy(pre="  - name: io\n    when: {mode: shell start, tty: \"/dev/*\"}\n"
                               "    set: {iolog: \"%u/%i\"}\n"))
    w = gov.work
    vs = {n: os.path.join(w, f"victim-{n}") for n in ("env", "ps1", "line", "fc")}
    for v in vs.values():
        open(v, "w").close()
    envfile = os.path.join(w, "envfile")
    with open(envfile, "w") as f:
        f.write(f"rm {vs['env']}\nPS1='$(rm {vs['ps1']} 2>/dev/null)P> '\n")
    e = shell_env(env, ENV=envfile, TERM="dumb")
    status, t, err = pty_session([PBKSH, "--config", gov.conf, "-i"], e, [
        ("expect", r"P> "), ("line", "/usr/bin/echo hello-io"), ("expect", r"hello-io"), ("expect", r"P> "),
        ("line", f"rm {vs['line']}"), ("expect", r"no rm for"), ("expect", r"P> "),
        # fc re-runs the last command with rm in place of echo
        ("line", f"/usr/bin/echo {vs['fc']}"), ("expect", r"P> "), ("line", "r /usr/bin/echo=rm"),
        ("expect", r"no rm for"), ("expect", r"P> "), ("line", "exit 3")])
    ok(err is None and status == 3, "an interactive governed pbksh: commands run, exit status kept",
       f"{err} status={status}\n{t.buf[-800:]!r}")
    ok(all(os.path.exists(v) for v in vs.values()), "the ENV file's, the prompt's and the typed rm did not run",
       {n: os.path.exists(v) for n, v in vs.items()})
    aud = gov.audit()
    for n, v in vs.items():
        hits = [r for r in aud if v in r.get("argv", [])]
        hits = [r for r in hits if r["command"] != which("echo")]
        what = {"env": "the ENV file", "ps1": "prompt expansion", "line": "the command line", "fc": "fc (r old=new)"}[n]
        ok(hits and all(r["command"] == which("rm") and r["result"] == "reject" for r in hits),
           f"rm from {what} reached policyd and was refused", hits)
    evs = gov.events()
    lid = tm.finished_iolog(env, evs, "the session has an I/O log")
    if lid is None:
        return
    rc, out, info = tm.replay(env, lid)
    ok(rc == 0 and b"hello-io" in out and b"no rm for" in out, "pbreplay plays the session with the refusal", info)


GROUPS = {
    "lists": group_lists, "builtins": group_builtins, "redirections": group_redirections,
    "includes": group_includes, "readonly": group_readonly, "restricted": group_restricted, "runas": group_runas,
    "iolog": group_iolog, "logservers": group_logservers, "failover": group_failover,
    "failclosed": group_failclosed, "nativeroot": group_nativeroot, "takeover": group_takeover,
    "bypass": group_bypass,
    "interactive": group_interactive,
}


if __name__ == "__main__":
    sys.exit(tm.run_group(GROUPS, sys.argv[1], (PBSH, tm.MONITOR, tm.POLICYD, tm.LOGD, tm.PBLOG, tm.PBCTL),
                          keep_var="ENFORCE_KEEP", precheck=governed))
