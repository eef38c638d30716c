#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Integration tests of the shell side of a governed session: the real pbsh, its real monitor, policyd and logd over TLS.
#
# Usage: test_session.py GROUP  (refused, failclosed, lists, builtins, subshell, fds, debug, interp, killed, logging, logservers, interactive, settings, held, execend)
# Environment (meson's integ_env): PBSH, PBSH_MONITOR, POLICYD, LOGD, PBLOG, PB_TESTS.
# Run as root (CI), the shells run as the unprivileged user nobody: a root shell with no policy
# server would be in native root mode, where everything runs.
import os
import pwd
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "monitor"))
import test_monitor as tm  # noqa: E402  (Env, ok, free_port, wait_events)
from test_monitor import ok  # noqa: E402

PBSH = tm.for_users(os.environ.get("PBSH"))
MONITOR = tm.MONITOR

START_ACCEPT = """\
  - name: start
    when: {mode: shell start}
    accept: true
"""


def policy(env, text):
    with open(os.path.join(env.tmp, "policy.yaml"), "w") as f:
        f.write(text)


def user_ids():
    """(uid, gid) the shells run as: ours, or nobody's when we are root."""
    if os.getuid() != 0:
        return os.getuid(), os.getgid()
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


def give_tree(env):
    """The shell's user owns the test folder (its monitor reads the host key and writes the spool)."""
    uid, gid = user_ids()
    if os.getuid() != 0:
        return
    for d, dirs, files in os.walk(env.tmp):
        for n in [d] + [os.path.join(d, x) for x in dirs + files]:
            os.lchown(n, uid, gid)


def as_user():
    """preexec_fn: become the user the shells run as (when we are root)."""
    uid, gid = user_ids()
    if os.getuid() == 0:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)


def shell(env, conf, script, extra_env=None, args=(), timeout=30, config=True):
    e = {"PATH": "/usr/bin:/bin", "HOME": env.tmp, "PBSH_MONITOR": MONITOR}
    e.update(extra_env or {})
    argv = [PBSH] + (["--config", conf] if config else []) + list(args) + (["-c", script] if script is not None else [])
    return subprocess.run(argv, env=e, capture_output=True, text=True, timeout=timeout, preexec_fn=as_user,
                          cwd=env.tmp)


def setup(env, text, log=True):
    policy(env, text)
    pp = env.start_policyd()
    lp = env.start_logd() if log else tm.free_port()
    conf = env.monitor_conf([pp], [lp])
    give_tree(env)
    return conf


def decisions(evs):
    return [(e.get("event"), e.get("pbclientmode"), os.path.basename(e.get("command") or "")) for e in evs
            if e.get("event") in ("accept", "reject")]


def group_refused(env):
    conf = setup(env, "rules:\n  - name: start\n    when: {mode: shell start}\n    reject: \"not today, %u\"\n")
    mark = os.path.join(env.tmp, "ran")
    p = shell(env, conf, f": > {mark}")
    ok(p.returncode == 1 and "not today" in p.stderr and not os.path.exists(mark),
       "a refused start: the reason, exit 1, nothing runs", f"rc={p.returncode} err={p.stderr!r}")
    evs = env.wait_events(lambda e: any(x.get("event") == "reject" for x in e))
    ok(any(e.get("event") == "reject" and e.get("pbclientmode") == "shell start" for e in evs),
       "the refused start is logged", evs)


def group_failclosed(env):
    # No policy server at all: a non-root shell does not start.
    conf = env.monitor_conf([tm.free_port()], [])
    give_tree(env)
    mark = os.path.join(env.tmp, "ran")
    p = shell(env, conf, f": > {mark}")
    ok(p.returncode == 1 and "no policy server answered" in p.stderr and not os.path.exists(mark),
       "no policy server at the start: a clear message, exit 1, nothing runs", f"rc={p.returncode} err={p.stderr!r}")
    # The monitor cannot be run: the shell does not go on without it.
    p = shell(env, conf, f": > {mark}", extra_env={"PBSH_MONITOR": "/nonexistent/pbsh-monitor"})
    ok(p.returncode == 1 and "monitor" in p.stderr and not os.path.exists(mark),
       "no monitor: a message, exit 1, nothing runs", f"rc={p.returncode} err={p.stderr!r}")

    # Mid-session: policyd goes away between two commands.
    policy(env, "lists:\n  ok: [/usr/bin/true, /usr/bin/echo]\nrules:\n" + START_ACCEPT +
           "  - name: ok\n    when: {command: \"@ok\"}\n    accept: true\n")
    pp = env.start_policyd()
    conf = env.monitor_conf([pp], [])
    give_tree(env)
    fifo = os.path.join(env.tmp, "go")
    os.mkfifo(fifo)
    give_tree(env)
    ready = os.path.join(env.tmp, "ready")
    import threading

    def killer():
        tm.wait_file(ready, empty_ok=True, secs=20)
        env.stop("policyd")
        with open(fifo, "w") as f:
            f.write("go\n")
    t = threading.Thread(target=killer)
    t.start()
    p = shell(env, conf, f"/usr/bin/true && : > {ready}; read x < {fifo}; /usr/bin/echo after; echo status=$?")
    t.join()
    ok("after" not in p.stdout and "status=126" in p.stdout and "not run" in p.stderr,
       "policyd gone mid-session: the next command is refused with the reason (fail closed)",
       f"rc={p.returncode} out={p.stdout!r} err={p.stderr!r}")


def group_lists(env):
    prog = os.path.join(env.tmp, "prog")
    with open(prog, "w") as f:
        f.write("#!/bin/sh\necho prog-ran\n")
    os.chmod(prog, 0o755)
    conf = setup(env, "rules:\n  - name: start\n    when: {mode: shell start}\n    set:\n"
                 "      shellallowedcommands: [/usr/bin/true, \"/usr/bin/e*\"]\n"
                 "      shellforbiddencommands: [/usr/bin/echo, \"/usr/bin/*\"]\n    accept: true\n"
                 f"  - name: tmp\n    when: {{command: \"{env.tmp}/*\"}}\n    accept: true\n"
                 "  - name: never\n    when: {mode: shell command}\n    reject: \"asked the server\"\n")
    p = shell(env, conf, "/usr/bin/true; echo t=$?; /usr/bin/echo no; echo e=$?; /usr/bin/env true; echo v=$?; "
                         f"/usr/bin/ls /; echo l=$?; {prog}; echo p=$?")
    out = p.stdout
    ok("t=0" in out, "an exact allowed entry runs", out)
    ok("e=126" in out and "forbidden" in p.stderr, "an exact forbidden entry wins over an allowed pattern",
       out + p.stderr)
    ok("v=0" in out, "an allowed pattern wins over a forbidden pattern", out + p.stderr)
    ok("l=126" in out, "a forbidden pattern refuses", out)
    ok("prog-ran" in out and "p=0" in out, "what no list settles is asked of the server", out + p.stderr)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    d = decisions(evs)
    ok(d == [("accept", "shell start", "pbsh"), ("accept", "shell command", "prog")],
       "list hits are neither sent nor logged", d)


def group_builtins(env):
    conf = setup(env, "rules:\n  - name: start\n    when: {mode: shell start}\n    set:\n"
                 "      shellcheckbuiltins: true\n      shellcheckredirections: true\n    accept: true\n"
                 "  - name: cd\n    when: {mode: shell builtin, command: cd}\n    reject: \"no cd\"\n"
                 "  - name: builtins\n    when: {mode: shell builtin}\n    accept: true\n"
                 "  - name: no\n    when:\n      mode: shell redirect\n"
                 f"      argv: {{0: \"shell redirect write\", 1: \"{env.tmp}/no*\"}}\n    reject: \"not there\"\n"
                 "  - name: redir\n    when: {mode: shell redirect}\n    accept: true\n")
    os.symlink(os.path.join(env.tmp, "no-target"), os.path.join(env.tmp, "innocent"))
    give_tree(env)
    p = shell(env, conf, "echo a > ok.txt; echo ok=$?; cd /; echo cd=$? $PWD; echo b > no.txt; echo no=$?; "
                         "echo c > innocent; echo link=$?; cat < ok.txt; "
                         "{ echo so >/dev/stdout; echo fd >/dev/fd/1; } | while read l; do echo got-$l; done")
    out = p.stdout
    ok("ok=0" in out and os.path.exists(os.path.join(env.tmp, "ok.txt")), "an allowed redirection opens the file",
       out + p.stderr)
    ok("cd=1" in out and "no cd" in p.stderr and f" {env.tmp}" in out, "a refused builtin: its reason, status 1",
       out + p.stderr)
    ok("no=0" not in out and "not there" in p.stderr and not os.path.exists(os.path.join(env.tmp, "no.txt")),
       "a refused redirection creates nothing", out + p.stderr)
    ok("got-so\ngot-fd\n" in out, "/dev/stdout and /dev/fd/1 (a pipe) still work when redirections are checked",
       out + p.stderr)
    ok("link=0" not in out and "no-target: not there" in p.stderr and not os.path.exists(os.path.join(env.tmp, "no-target")),
       "a link is checked as its target (no way round the check by a symbolic link)", out + p.stderr)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    red = [(e.get("event"), e.get("runargv") or e.get("argv")) for e in evs if e.get("pbclientmode") == "shell redirect"]
    ok(any(a and a[0] == "shell redirect write" and a[1].endswith("/ok.txt") for _, a in red)
       and any(a and a[0] == "shell redirect read" for _, a in red),
       "redirections reach the policy with their kind and path", red)
    ok(any(e.get("event") == "reject" and e.get("command") == "cd" for e in evs), "the refused builtin is logged",
       decisions(evs))


def group_subshell(env):
    conf = setup(env, "lists:\n  ok: [/usr/bin/true, /usr/bin/echo, /usr/bin/cat]\nrules:\n" + START_ACCEPT +
                 "  - name: ok\n    when: {command: \"@ok\"}\n    accept: true\n")
    p = shell(env, conf, "(/usr/bin/true; /usr/bin/true); /usr/bin/echo x | /usr/bin/cat; y=$(/usr/bin/echo y); "
                         "/usr/bin/true & wait; echo $y")
    ok(p.returncode == 0 and p.stdout == "x\ny\n", "subshells, pipelines, substitutions and & run", p.stdout + p.stderr)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    acc = [e.get("uniqueid") for e in evs if e.get("event") == "accept" and e.get("pbclientmode") == "shell command"]
    fin = [e.get("uniqueid") for e in evs if e.get("event") == "finish"]
    ok(len(acc) == 6 and sorted(fin) == sorted(acc), "six commands from five processes: each accepted once, finished once",
       [(e.get("event"), e.get("command"), e.get("uniqueid")) for e in evs])
    start_pid = next((e.get("pbpid") for e in evs if e.get("pbclientmode") == "shell start"), None)
    pids = {e.get("pbpid") for e in evs if e.get("event") == "accept" and e.get("pbclientmode") == "shell command"}
    ok(len(pids) == 5 and start_pid not in pids and None not in pids,
       "each subshell asked on a channel of its own (five processes, none the shell's)",
       [(e.get("command"), e.get("pbpid")) for e in evs])
    # Subshells that run their commands themselves and end by themselves: the parent's report of their
    # end (by pid) must never be taken for a command they finished themselves.
    conf2 = env.monitor_conf([env.ports["policyd"]], [env.ports["logd"]])
    give_tree(env)
    before = len(env.events_json())
    p = shell(env, conf2, "i=0; while [ $i -lt 15 ]; do (/usr/bin/true; /usr/bin/true; :); i=$((i+1)); done")
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 2)[before:]
    acc = [e.get("uniqueid") for e in evs if e.get("event") == "accept" and e.get("pbclientmode") == "shell command"]
    fin = [e.get("uniqueid") for e in evs if e.get("event") == "finish"]
    ok(p.returncode == 0 and len(acc) == 30 and sorted(fin) == sorted(acc),
       "30 commands in 15 subshells that end by themselves: one finish each, none twice",
       f"{len(acc)} accepts, {len(fin)} finishes, {len(set(fin))} distinct")


def group_fds(env):
    conf = setup(env, "lists:\n  ok: [/usr/bin/true, /usr/bin/ls]\nrules:\n" + START_ACCEPT +
                 "  - name: ok\n    when: {command: \"@ok\"}\n    accept: true\n")
    p = shell(env, conf, "command exec 1000>/dev/null; echo a=$?; echo hi >&1000; echo b=$?; command exec 1001<&-; "
                         "/usr/bin/ls /proc/self/fd | while read n; do [ \"$n\" -ge 1000 ] && echo leak $n; done; "
                         "/usr/bin/true; echo d=$?")
    out = p.stdout
    ok("leak" not in out and "d=0" in out, "programs inherit none of the shell's channels", out + p.stderr)
    ok("reserved" in p.stderr and "d=0" in out, "redirections cannot touch the channels; the session goes on",
       out + p.stderr)


def group_debug(env):
    trace = os.path.join(env.tmp, "trace")
    os.mkdir(trace)
    conf = setup(env, "lists:\n  ok: [/usr/bin/true]\nrules:\n" + START_ACCEPT +
                 "  - name: ok\n    when: {command: \"@ok\"}\n    accept: true\n")
    with open(conf, "a") as f:
        f.write(f"shlog: {trace}/sh.log\n")
    give_tree(env)
    p = shell(env, conf, "/usr/bin/true", args=["--debug=gate@5"])
    log = open(os.path.join(trace, "sh.log")).read() if os.path.exists(os.path.join(trace, "sh.log")) else ""
    ok(p.returncode == 0 and "gate command" in log and "gate command" not in p.stderr + p.stdout,
       "--debug traces into the shlog file, not to the user", f"{p.stderr!r} {log[-400:]!r}")
    p = shell(env, conf, "true", args=["--debug=nosuch@3"])
    ok(p.returncode == 2 and "--debug" in p.stderr, "a bad --debug spec: a message, exit 2", p.stderr)
    p = shell(env, None, None, args=["--config"], config=False)
    ok(p.returncode == 2, "--config without a file: exit 2", p.stderr)


def group_interp(env):
    # Ungoverned (no configuration): which interpreter runs a file the kernel cannot execute.
    noshebang = os.path.join(env.tmp, "plain")
    with open(noshebang, "w") as f:
        f.write("echo plain-ran\n")
    os.chmod(noshebang, 0o755)
    fake = os.path.join(env.tmp, "fakesh")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho \"fake $(basename $0) $*\"\n")
    os.chmod(fake, 0o755)
    give_tree(env)
    base = {"PATH": "/usr/bin:/bin"}
    cases = [({"EXECSHELL": fake, "SHELL": "/nonexistent"}, f"fake fakesh {noshebang} a"),
             ({"SHELL": fake}, f"fake fakesh {noshebang} a"),
             ({"EXECSHELL": "relative", "SHELL": fake}, f"fake fakesh {noshebang} a"),
             ({}, "plain-ran")]
    for e, want in cases:
        p = subprocess.run([PBSH, "-c", f"{noshebang} a"], env=dict(base, **e), capture_output=True, text=True,
                           timeout=10)
        ok(p.stdout.strip() == want, f"no #!: interpreter with {sorted(e)}", p.stdout + p.stderr)
    # A #! script starts by its interpreter, whatever EXECSHELL says.
    sb = os.path.join(env.tmp, "sb")
    with open(sb, "w") as f:
        f.write(f"#!{fake}\n")
    os.chmod(sb, 0o755)
    p = subprocess.run([PBSH, "-c", f"{sb} b"], env=dict(base, EXECSHELL="/bin/false"), capture_output=True,
                       text=True, timeout=10)
    ok(p.stdout.strip() == f"fake fakesh {sb} b", "#!: its own interpreter", p.stdout + p.stderr)
    # Governed: a #! script is checked by its real path and run by that path (its $0 stays a name).
    conf = setup(env, f"rules:\n" + START_ACCEPT + f"  - name: tmp\n    when: {{command: \"{env.tmp}/*\"}}\n"
                 "    accept: true\n")
    link = os.path.join(env.tmp, "via-link")
    os.symlink(sb, link)
    give_tree(env)
    p = shell(env, conf, f"{link} c")
    ok(p.stdout.strip() == f"fake fakesh {sb} c", "governed: a script through a link runs as checked",
       p.stdout + p.stderr)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    ok([e.get("command") for e in evs if e.get("pbclientmode") == "shell command"] == [sb],
       "the path sent is the real path (links resolved)", decisions(evs))


def sleeps_left(*secs):
    """The processes still running `/usr/bin/sleep S` for one of secs (each test's own odd durations)."""
    want = [[b"/usr/bin/sleep", str(x).encode()] for x in secs]
    found = []
    for d in os.listdir("/proc"):
        try:
            argv = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")[:-1]
            state = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if argv in want and state not in ("Z", "X"):
            found.append((int(d), argv))
    return found


def group_killed(env):
    """pbctl kill-session ends the session at once: the monitor, told by policyd, says why and hangs the shell up
    (one that ignores the hang-up is killed), and with it what the session started; a check asked after it is
    refused with the reason."""
    import threading
    import time
    policy(env, "lists:\n  ok: [/usr/bin/true, /usr/bin/sleep, /usr/bin/env]\nrules:\n"
           "  - name: start\n    when: {mode: shell start}\n    set: {shellallowedcommands: [/usr/bin/true]}\n"
           "    accept: true\n"
           "  - name: ok\n    when: {command: \"@ok\"}\n    accept: true\n")
    conf = env.monitor_conf([env.start_policyd(admins=True)], [])

    def ended(name, script, fifo=None):
        """Run script; once it made file `name`, end its session; then let it past a `read` of fifo if any."""
        ready = os.path.join(env.tmp, name)
        result = {}

        def admin():
            tm.wait_file(ready, empty_ok=True, secs=20)
            result["kill"] = env.kill_session()
            result["t"] = time.monotonic()
            if fifo:
                time.sleep(2)  # past this a shell still there would read the line and go on
                try:  # a shell already gone reads nothing
                    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                    os.write(fd, b"go\n")
                    os.close(fd)
                except OSError:
                    pass
        give_tree(env)
        t = threading.Thread(target=admin)
        t.start()
        p = shell(env, conf, script.replace("READY", ready))
        end = time.monotonic()
        t.join()
        return p, result, end - result.get("t", end)

    fifo = os.path.join(env.tmp, "go")
    os.mkfifo(fifo)
    # (A job in the background: hung up with the shell. Its output goes elsewhere, so a job left running
    # would not hold the test's pipes: it is looked for.)
    p, result, after = ended("ready1", "/usr/bin/sleep 3071.5 >/dev/null 2>&1 & /usr/bin/true && : > READY; "
                             f"read x < {fifo}; /usr/bin/true; echo reached", fifo)
    ok(result.get("kill", (1,))[0] == 0, "the administrator ends the session", result.get("kill"))
    ok(p.returncode == -signal.SIGHUP and "reached" not in p.stdout and "session was ended" in p.stderr
       and "maintenance now" in p.stderr and after < 2,
       "a shell waiting for input ends at once (hung up), and the user reads why",
       f"rc={p.returncode} after={after:.2f}s {p.stdout!r} {p.stderr!r}")
    left = sleeps_left("3071.5")
    ok(not left, "its job in the background was hung up with it", left)
    # Ignoring the hang-up and running only what the lists allow (nothing asked of policyd): killed all the same.
    p, result, after = ended("ready2", "trap '' HUP; : > READY; while :; do /usr/bin/true; done")
    ok(result.get("kill", (1,))[0] == 0 and p.returncode == -signal.SIGKILL and "maintenance now" in p.stderr
       and after < 10, "a shell that ignores the hang-up is killed a moment later",
       f"rc={p.returncode} after={after:.2f}s {p.stderr!r}")
    # A script's running command and a job that ignore the hang-up too (ignoring is inherited), and one the
    # job left behind (its parent gone, it is an orphan): killed with the shell.
    p, result, after = ended("ready4", "trap '' HUP; (/usr/bin/sleep 3072.5 >/dev/null 2>&1 &) ; "
                             "/usr/bin/sleep 3073.5 >/dev/null 2>&1 & : > READY; /usr/bin/sleep 3074.5 >/dev/null 2>&1; "
                             "echo reached")
    left = sleeps_left("3072.5", "3073.5", "3074.5")
    ok(result.get("kill", (1,))[0] == 0 and p.returncode == -signal.SIGKILL and "reached" not in p.stdout
       and after < 10 and not left,
       "the commands of a session ignoring the hang-up are killed with its shell, orphans too",
       f"rc={p.returncode} after={after:.2f}s left={left} {p.stdout!r} {p.stderr!r}")
    # A check asked after the end is refused with the reason (the shell's own message, status 1).
    p, result, after = ended("ready3", "trap 'echo hup' HUP; : > READY; /usr/bin/sleep 1; /usr/bin/true; "
                                       "/usr/bin/env true; echo reached")
    ok(p.returncode == 1 and "reached" not in p.stdout and "hup" in p.stdout
       and p.stderr.count("maintenance now") == 2,
       "a check after the end is refused with the reason", f"rc={p.returncode} {p.stdout!r} {p.stderr!r} {result}")


def group_logging(env):
    """shelllogincludefiles: a sourced file's text is logged; a command whose decision sets iolog has its own I/O log."""
    inc = os.path.join(env.tmp, "inc.sh")
    text = "/usr/bin/true\nINC=yes\n"
    with open(inc, "w") as f:
        f.write(text)
    conf = setup(env, "rules:\n  - name: start\n    when: {mode: shell start}\n    set: {shelllogincludefiles: true}\n"
                 "    accept: true\n  - name: echo\n    when: {command: /usr/bin/echo}\n"
                 "    set: {iolog: \"%u/%i\", runlocalmode: false}\n    accept: true\n"
                 "  - name: true\n    when: {command: /usr/bin/true}\n    accept: true\n")
    p = shell(env, conf, f". {inc}; echo inc=$INC; /usr/bin/echo own-io; echo st=$?")
    ok("inc=yes" in p.stdout and "own-io" in p.stdout and "st=0" in p.stdout,
       "the sourced file runs; the I/O logged command's output reaches the shell's stdout", p.stdout + p.stderr)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    incs = [e for e in evs if e.get("pbclientmode") == "shell include"]
    ok(len(incs) == 1 and incs[0].get("text") == text, "the sourced file is logged with exactly the text run", incs)
    own = [e for e in evs if e.get("event") == "accept" and e.get("iolog_path") and
           os.path.basename(e.get("command") or "") == "echo"]
    ok(len(own) == 1, "the command's decision names its own I/O log", decisions(evs))
    got = b""
    if own:
        d = os.path.join(env.io, own[0]["iolog_path"])
        for _ in range(50):
            got = b"".join(open(os.path.join(d, n), "rb").read() for n in ("stdout", "ttyout")
                           if os.path.exists(os.path.join(d, n)))
            if b"own-io" in got:
                break
            import time
            time.sleep(0.1)
    ok(b"own-io" in got, "its output is in that log", got)
    fin = [e for e in evs if e.get("event") == "finish" and own and e.get("uniqueid") == own[0].get("uniqueid")]
    ok(len(fin) == 1, "and it has its finish", [(e.get("event"), e.get("command")) for e in evs])
    big = os.path.join(env.tmp, "big.sh")
    with open(big, "w") as f:
        f.write("echo big-ran\n" + ":\n" * (600 * 1024))
    give_tree(env)
    p = shell(env, conf, f". {big}; echo big=$?")
    ok("big-ran" not in p.stdout and "1 MiB" in p.stderr, "a sourced file over 1 MiB is refused, not run",
       p.stdout + p.stderr)
    # The command's output is relayed by the monitor; the shell's next output waits for it.
    q = shell(env, conf, "i=0; while [ $i -lt 20 ]; do /usr/bin/echo own-$i; echo after-$i; i=$((i+1)); done")
    want = "".join(f"own-{i}\nafter-{i}\n" for i in range(20))
    ok(q.stdout == want, "a relayed command's output comes before the shell's next output, every time",
       q.stdout + q.stderr)
    # The last command of -c is not exec'd in place when relayed: its log gets its real finish.
    before = len(env.events_json())
    q = shell(env, conf, "/usr/bin/echo last-relayed")
    evs = env.wait_events(lambda e: sum(1 for x in e[before:] if x.get("event") == "exit") >= 1)[before:]
    acc = [e.get("uniqueid") for e in evs if e.get("event") == "accept" and e.get("iolog_path")]
    fin = [e for e in evs if e.get("event") == "finish" and e.get("uniqueid") in acc]
    ok("last-relayed" in q.stdout and len(acc) == 1 and len(fin) == 1 and fin[0].get("exit_value") == 0,
       "a relayed last command: output, one finish with its status", [(e.get("event"), e.get("exit_value")) for e in evs])
    lid = next((e.get("iolog_path") for e in evs if e.get("iolog_path")), None)
    meta = ""
    for _ in range(50 if lid else 0):
        f = os.path.join(env.io, lid, "log.json")
        meta = open(f).read() if os.path.exists(f) else ""
        if "exit_value" in meta or "error" in meta:
            break
        import time
        time.sleep(0.1)
    ok('"exit_value"' in meta and "ended before" not in meta, "and its own log ends with that status", meta[-400:])


def group_logservers(env):
    """A start decision's logservers replace the configuration's: the session is logged there."""
    import json
    d = os.path.join(env.tmp, "logd2")
    os.makedirs(d)
    ev2 = os.path.join(env.tmp, "events2")
    lconf = os.path.join(d, "pbsh.yaml")
    pf = os.path.join(d, "port")
    with open(lconf, "w") as f:
        f.write(env.tls("server") + f"logd:\n  listen: [127.0.0.1:0]\n  eventlog: {ev2}/\n  iolog_dir: {d}/io\n"
                f"  pidfile: {d}/pid\n  log: {d}/log\n")
    env.procs["logd2"] = subprocess.Popen([tm.LOGD, "-D", "-f", lconf, "--port-file", pf], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
    tm.wait_file(pf, env.procs["logd2"])
    second = int(open(pf).read())
    conf = setup(env, "lists:\n  ok: [/usr/bin/true]\nrules:\n  - name: start\n    when: {mode: shell start}\n"
                 f"    set: {{logservers: [\"127.0.0.1:{second}\"]}}\n    accept: true\n"
                 "  - name: ok\n    when: {command: \"@ok\"}\n    accept: true\n")
    p = shell(env, conf, "/usr/bin/true")
    ok(p.returncode == 0, "the session runs", p.stderr)

    def events2():
        q = subprocess.run([tm.PBLOG, "-d", ev2 + "/", "-o", "json"], capture_output=True, text=True)
        return [json.loads(x) for x in q.stdout.splitlines() if x.strip()]
    evs = []
    for _ in range(100):
        evs = events2() if os.path.isdir(ev2) else []
        if any(e.get("event") == "exit" for e in evs):
            break
        import time
        time.sleep(0.1)
    ok([e.get("event") for e in evs if e.get("event") != "finish"] == ["accept", "accept", "exit"],
       "the session is logged on the decision's log server", evs)
    ok(env.events_json() == [], "and not on the configuration's", env.events_json())


def group_interactive(env):
    """pbksh -i on a terminal, governed: line editing, job control and the session's I/O log through the monitor's pty."""
    import pty
    pbksh = tm.for_users(os.environ.get("PBKSH"))
    if not pbksh or not os.path.exists(pbksh):
        print("ok 1 # SKIP no pbksh")
        return
    conf = setup(env, "lists:\n  ok: [/usr/bin/echo, /usr/bin/sleep, /usr/bin/true]\nrules:\n"
                 "  - name: io\n    when: {mode: shell start, tty: \"/dev/*\"}\n    set: {iolog: \"%u/%i\"}\n"
                 + START_ACCEPT + "  - name: ok\n    when: {command: \"@ok\"}\n    accept: true\n"
                 "  - name: rm\n    when: {command: /usr/bin/rm}\n    reject: \"no rm here\"\n")
    uid, gid = user_ids()
    pid, fd = pty.fork()
    if pid == 0:
        if os.getuid() == 0:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
        os.chdir(env.tmp)
        os.execve(pbksh, [pbksh, "--config", conf, "-i"],
                  {"PATH": "/usr/bin:/bin", "HOME": env.tmp, "PS1": "P$ ", "PBSH_MONITOR": MONITOR, "ENV": ""})
    seen = tm.pty_talk(fd, (b"/usr/bin/echo hello-ksh\r", b"/usr/bin/sleep 30 &\r", b"jobs\r", b"kill %1; wait\r",
                            b"/usr/bin/rm x\r", b"(/usr/bin/true; echo sub=$?)\r", b"exit 3\r"), each=0.8)
    _, st = os.waitpid(pid, 0)
    text = seen.decode(errors="replace")
    ok(os.waitstatus_to_exitcode(st) == 3 and "hello-ksh" in text and "sub=0" in text and "no rm here" in text
       and "sleep 30" in text, "an interactive governed pbksh: commands, a job, a refusal, a subshell", text[-800:])
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    d = decisions(evs)
    ok([x[2] for x in d] == ["pbksh", "echo", "sleep", "rm", "true"] and d[3][0] == "reject",
       "every decision logged once, in order", d)
    ok(any(e.get("iolog_path") for e in evs), "the session is I/O logged", evs[:2])


def group_settings(env):
    """The start decision's shellreadonly and shellrestricted; a decision's runuser/runumask (root only)."""
    conf = setup(env, "lists:\n  ok: [/usr/bin/true, /usr/bin/id]\nrules:\n  - name: start\n    when: {mode: shell start}\n"
                 "    set: {shellreadonly: [FOO, PATH], shellrestricted: true, shellcheckredirections: true}\n"
                 "    accept: true\n  - name: ok\n    when: {command: \"@ok\"}\n    accept: true\n"
                 "  - name: redir\n    when: {mode: shell redirect}\n    accept: true\n")
    p = shell(env, conf, "FOO=x 2>/dev/null; echo foo=$?; (PATH=/tmp) 2>/dev/null; echo path=$?; cd / 2>/dev/null; "
                         "echo cd=$? $PWD; /usr/bin/true 2>/dev/null; echo slash=$?; true; echo plain=$?; "
                         "echo x > made 2>/dev/null; echo redir=$?", extra_env={"FOO": "orig"})
    out = p.stdout
    ok("foo=0" not in out and "path=0" not in out, "shellreadonly: FOO and PATH cannot be assigned", out + p.stderr)
    ok("cd=0" not in out and f" {env.tmp}" in out, "shellrestricted: cd is refused", out + p.stderr)
    ok("slash=0" not in out and "plain=0" in out, "shellrestricted: a command name with '/' is refused, a plain one runs",
       out + p.stderr)
    ok("redir=0" not in out and not os.path.exists(os.path.join(env.tmp, "made")),
       "shellrestricted: a redirection that creates a file is refused", out + p.stderr)
    if os.getuid() != 0:
        print(f"ok {tm._n + 1} # SKIP runuser needs a privileged (root) shell")
        tm._n += 1
        return
    # As root (a real root shell is privileged): the decision's run identity for one command and one file.
    env.stop("policyd")
    policy(env, "rules:\n  - name: start\n    when: {mode: shell start}\n    set: {shellcheckredirections: true}\n"
           "    accept: true\n  - name: id\n    when: {command: /usr/bin/id}\n    set: {runuser: nobody, runumask: \"077\"}\n"
           "    accept: true\n  - name: w\n    when: {mode: shell redirect}\n    set: {runuser: nobody, runumask: \"027\"}\n"
           "    accept: true\n")
    pp = env.start_policyd(name="policyd2")
    conf2 = env.monitor_conf([pp], [env.ports["logd"]])
    os.chmod(env.tmp, 0o777)
    e = {"PATH": "/usr/bin:/bin", "HOME": env.tmp, "PBSH_MONITOR": MONITOR}
    p = subprocess.run([PBSH, "--config", conf2, "-c", "/usr/bin/id -u; echo w > owned.txt; /usr/bin/id -u"],
                       env=e, capture_output=True, text=True, timeout=30, cwd=env.tmp)
    st = os.stat(os.path.join(env.tmp, "owned.txt")) if os.path.exists(os.path.join(env.tmp, "owned.txt")) else None
    nobody = pwd.getpwnam("nobody").pw_uid
    ok(p.stdout.split() == [str(nobody), str(nobody)] and st is not None and st.st_uid == nobody
       and (st.st_mode & 0o777) == 0o640,
       "runuser/runumask: the command runs as nobody; the file a redirection creates is nobody's, mode 0640",
       f"{p.stdout!r} {p.stderr!r} {st and (st.st_uid, oct(st.st_mode))}")


def group_held(env):
    """A command's FINISH travels with the shell's next request (no message of its own), yet reaches logd at once
    when the shell then blocks (reading input, `read`, `wait`) and soon in a loop of builtins; its end time is the
    reap's, not the time the event travelled."""
    import time
    conf = setup(env, "rules:\n" + START_ACCEPT + "  - name: ok\n    when: {command: [/usr/bin/true, /usr/bin/false,"
                 " /usr/bin/sleep]}\n    accept: true\n")

    def finishes(evs):
        return [e for e in evs if e.get("event") == "finish"]
    e = {"PATH": "/usr/bin:/bin", "HOME": env.tmp, "PBSH_MONITOR": MONITOR}
    # Commands read from a pipe that stays open: after /usr/bin/false the shell waits for its next line.
    # `wait`: the job started before the command, so only the wait itself can send the finish before the job ends.
    for what, first in (("reading its input", b"/usr/bin/false\n"), ("in `read`", b"/usr/bin/false; read x\n"),
                        ("in `wait`", b"/usr/bin/sleep 5 & /usr/bin/false; wait\n")):
        before = len(finishes(env.events_json()))
        t0 = time.time()
        p = subprocess.Popen([PBSH, "--config", conf], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=e, preexec_fn=as_user, cwd=env.tmp)
        p.stdin.write(first)
        p.stdin.flush()
        evs = env.wait_events(lambda x: any(y.get("exit_value") == 1 for y in finishes(x)[before:]), secs=3)
        fin = [y for y in finishes(evs)[before:] if y.get("exit_value") == 1]
        running = p.poll() is None and time.time() - t0 < 3.5
        p.stdin.close()
        p.wait(timeout=30)
        ok(running and len(fin) == 1,
           f"the finish of the last command reaches logd while the shell blocks {what}",
           [(x.get("event"), x.get("command"), x.get("exit_value")) for x in evs[-6:]])
    # A loop of builtins after a command: its finish goes within a moment, with the time it ended.
    before = len(env.events_json())
    t0 = time.time()
    r = shell(env, conf, "/usr/bin/sleep 0.2; i=0; while [ $i -lt 2000000 ]; do i=$((i+1)); done; /usr/bin/true")
    took = time.time() - t0
    evs = env.wait_events(lambda x: sum(1 for y in x[before:] if y.get("event") == "exit") >= 1)[before:]
    acc = [x for x in evs if x.get("event") == "accept" and x.get("pbclientmode") == "shell command"]
    fin = finishes(evs)

    def secs(ts):
        return (ts or {}).get("seconds", 0) + (ts or {}).get("nanoseconds", 0) / 1e9
    good = r.returncode == 0 and len(acc) == 2 and len(fin) == 2 and took > 0.5
    if good:
        sleep_end = secs(fin[0].get("end_time"))
        run = secs(fin[0].get("run_time"))
        next_start = secs(acc[1].get("submit_time"))
        # The loop of builtins lies between the sleep's end and the next command: the end is the reap's time.
        good = 0.2 <= run < 1.5 and next_start - sleep_end > 0.2 and secs(fin[0].get("server_time")) < next_start
    ok(good, "a finish held over a loop of builtins is sent before the next command, with the time it ended",
       [(x.get("event"), x.get("end_time"), x.get("submit_time"), x.get("server_time")) for x in evs] + [took])


def group_execend(env):
    """A process's end is its last command's end only when it said it execs that command in place: a shell killed
    while it still held a command's FINISH (or while a command ran) does not pass its own death off as the
    command's; a command exec'd in place, by the shell or by a subshell, still ends with its own status."""
    noexec = os.path.join(env.tmp, "noexec")
    with open(noexec, "w") as f:
        f.write("not a program\n")
    os.chmod(noexec, 0o644)
    conf = setup(env, "rules:\n" + START_ACCEPT + "  - name: ok\n    when: {command: [/usr/bin/true, /usr/bin/false,"
                 f" /usr/bin/sleep, {noexec}]}}\n    accept: true\n")

    def by_uid(evs):
        acc = {e.get("uniqueid"): os.path.basename(e.get("command") or "") for e in evs if e.get("event") == "accept"}
        fin = [(acc.get(e.get("uniqueid")), e.get("exit_value"), e.get("signal")) for e in evs
               if e.get("event") == "finish"]
        return acc, fin
    cases = (
        # (script, finishes wanted (command, exit_value, signal), what)
        ("/usr/bin/true; kill -9 $$", [], "a shell killed holding a command's finish"),
        ("/usr/bin/sleep 2 >/dev/null 2>&1 & kill -9 $$", [], "a shell killed while a background command runs"),
        ("/usr/bin/true; /usr/bin/false", [("true", 0, None), ("false", 1, None)],
         "the last command exec'd in place"),
        ("/usr/bin/true; exec /usr/bin/sleep 0.1", [("true", 0, None), ("sleep", 0, None)], "exec of a command"),
        ("(/usr/bin/true; /usr/bin/false); exit 3", [("true", 0, None), ("false", 1, None)],
         "a subshell's last command exec'd in place"),
        # Accepted, then the exec fails (no execute permission): the command ends with 126, once.
        (f"/usr/bin/true; exec {noexec}", [("true", 0, None), ("noexec", 126, None)], "an exec that fails"),
    )
    for script, want, what in cases:
        before = len(env.events_json())
        r = shell(env, conf, script)
        evs = env.wait_events(lambda x: sum(1 for y in x[before:] if y.get("event") == "exit") >= 1, secs=10)[before:]
        _, fin = by_uid(evs)
        # The shell's own exit event is logged however it ended.
        exits = [e for e in evs if e.get("event") == "exit"]
        ok(sorted(fin, key=str) == sorted(want, key=str) and len(exits) == 1,
           f"{what}: the finishes logged are the commands' own", (script, r.returncode, fin, want))


GROUPS = {"execend": group_execend, "held": group_held, "settings": group_settings, "interactive": group_interactive, "logservers": group_logservers, "logging": group_logging, "killed": group_killed, "refused": group_refused, "failclosed": group_failclosed, "lists": group_lists,
          "builtins": group_builtins, "subshell": group_subshell, "fds": group_fds, "debug": group_debug,
          "interp": group_interp}


def main():
    return tm.run_group(GROUPS, sys.argv[1], (PBSH, MONITOR, tm.POLICYD, tm.LOGD, tm.PBLOG, tm.PBCTL))


if __name__ == "__main__":
    sys.exit(main())
