#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Sessions' events delivered exactly once (logd's extension event-acks): logd killed with events in flight,
# a forward cut half-way, two forwarders at once; the same for I/O-logged sessions, whose I/O log must also play
# whole. The real monitor, logd and policyd, as in test_monitor.py.
#
# Usage: test_exact.py GROUP  (killed, cutforward, twoforwarders, iokilled, iocutforward)
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_monitor as tm  # noqa: E402
from test_monitor import ok, start, chk, by_op, forward, free_port, wait_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def slow_commits(env, interval="2s"):
    """logd acknowledges only every interval (reload): events written in between are in flight."""
    conf = os.path.join(env.tmp, "logd", "pbsh.yaml")
    log = os.path.join(env.tmp, "logd", "log")
    text = open(conf).read()
    with open(conf, "w") as f:
        f.write(text.replace("commit_interval: 100ms", f"commit_interval: {interval}"))
    n = open(log).read().count("reloaded") if os.path.exists(log) else 0
    env.procs["logd"].send_signal(signal.SIGHUP)
    for _ in range(100):
        if os.path.exists(log) and open(log).read().count("reloaded") > n:
            return
        time.sleep(0.05)
    raise RuntimeError("logd did not reload")


def journals(env):
    return sorted(f for f in os.listdir(env.spool) if f.endswith(".journal")) if os.path.isdir(env.spool) else []


def session_checks(n, first_id=10, tag="c"):
    """n commands, each checked (an accept event) and finished (a finish event)."""
    acts = []
    for i in range(n):
        acts += [chk("/bin/echo" if i % 2 else "/bin/ls", first_id + i, f"{tag}{i}"), {"op": "finish", "status": i % 7}]
    return acts


def once_each(env, evs, recs, what):
    """Every check of recs has its accept and its finish in evs exactly once; one start and one exit."""
    uids = [r["uniqueid"] for r in by_op(recs, "check") if r.get("accept")]
    acc = [e.get("uniqueid") for e in evs if e.get("event") == "accept" and e.get("pbclientmode") == "shell command"]
    fin = [e.get("uniqueid") for e in evs if e.get("event") == "finish"]
    starts = [e for e in evs if e.get("event") == "accept" and e.get("pbclientmode") == "shell start"]
    exits = [e for e in evs if e.get("event") == "exit"]
    good = (len(uids) > 0 and sorted(acc) == sorted(uids) and sorted(fin) == sorted(uids) and len(starts) == 1
            and len(exits) == 1 and len({e.get("session") for e in evs}) == 1)
    no_acc = [u for u in uids if u not in acc]
    no_fin = [u for u in uids if u not in fin]
    dups = [u for u in set(acc + fin) if acc.count(u) > 1 or fin.count(u) > 1]
    # (On failure: which events, where they are in the session's order, and what logd said.)
    order = [(e.get("event"), (e.get("uniqueid") or "")[:8]) for e in evs]
    ok(good, what, f"{len(uids)} commands; no accept {no_acc}; no finish {no_fin}; twice {dups}; "
       f"starts {len(starts)} exits {len(exits)}; sessions {sorted({str(e.get('session')) for e in evs})}\n"
       f"checked {[u[:8] for u in uids]}\nlogged {order}" + ("" if good else "\n" + logd_log(env)[-3000:]))
    return good


def logd_log(env):
    p = os.path.join(env.tmp, "logd", "log")
    return open(p).read() if os.path.exists(p) else ""


# ---- groups ----

def killed_setup(env, stored):
    """policyd, a logd whose acknowledgements are slow, the monitor's settings, the signal files and a
    thread (not started): when the session touches `ready`, logd is stopped (what it wrote is stored, not
    acknowledged) and `stopped` touched; at `ready2` (more written to its socket, never read) the events it
    stored (those for which stored(event) holds) go into seen["stored"], logd is killed and started again,
    and `go` is touched."""
    pp = env.start_policyd()
    lport = free_port()
    env.start_logd(lport)
    slow_commits(env)
    conf = env.monitor_conf([pp], [lport], extra="  spool_retry: 200ms\n")
    ready, stopped, ready2, go = (os.path.join(env.tmp, x) for x in ("ready", "stopped", "ready2", "go"))
    seen = {}

    def killer():
        wait_file(ready, empty_ok=True, secs=30)
        time.sleep(0.1)  # the last batch is written (5 ms) and stored, its acknowledgement up to 2 s away
        env.procs["logd"].send_signal(signal.SIGSTOP)
        open(stopped, "w").close()
        wait_file(ready2, empty_ok=True, secs=30)
        time.sleep(0.1)  # these are written to logd's socket, and never read by this logd
        seen["stored"] = {e.get("uniqueid") for e in env.events_json() if stored(e)}
        env.stop("logd", signal.SIGKILL)
        env.start_logd(lport)
        open(go, "w").close()

    th = threading.Thread(target=killer)
    return conf, lport, ready, stopped, ready2, go, seen, th



def kill_logd_at(env, ready, go):
    """A started thread: once the session touches ready, logd is SIGKILLed (not started again), then go touched."""
    def killer():
        wait_file(ready, empty_ok=True, secs=30)
        time.sleep(0.1)
        env.stop("logd", signal.SIGKILL)
        open(go, "w").close()
    th = threading.Thread(target=killer)
    th.start()
    return th


def group_killed(env):
    """logd stopped with events unread in its socket and more stored but not acknowledged, then SIGKILLed and
    started again; the session goes on and ends."""
    conf, lport, ready, stopped, ready2, go, seen, th = killed_setup(env, lambda e: e.get("session", "").startswith("@"))
    th.start()
    # (The sleep: logd acknowledges what came so far, every 2 s here, so the continuation has a place to name.)
    rc, recs, err = env.run(conf, [start()] + session_checks(6) + [{"op": "sleep", "s": 2.5}] + session_checks(6, 16, "b")
        + [{"op": "touch", "path": ready}, {"op": "wait_file", "path": stopped}] + session_checks(5, 30, "inflight")
        + [{"op": "touch", "path": ready2}, {"op": "wait_file", "path": go}, {"op": "sleep", "s": 0.6}]
        + session_checks(6, 40, "after") + [{"op": "exit", "status": 0}], timeout=60)
    th.join()
    inflight = {r["uniqueid"] for r in by_op(recs, "check") if r.get("tag", "").startswith("inflight")}
    ok(rc == 0 and len(seen.get("stored", ())) > 1 and len(inflight) == 5 and not (inflight & seen["stored"]),
       "logd killed with events stored (not acknowledged) and events unread in its socket", f"rc={rc} {seen}\n{err}")
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    once_each(env, evs, recs, "logd killed in the middle: every event of the session once (pblog)")
    log = logd_log(env)
    m = re.search(r"session (@\S+) restarted: (\d+) events stored, (\d+) acknowledged", log)
    ok(m is not None and int(m.group(2)) > int(m.group(3)),
       "the continuation restarted the session: logd had stored more than it had acknowledged, and dropped those",
       log[-3000:])
    ok(m is not None and evs and evs[0].get("session") == m.group(1), "the events are all in the restarted session",
       evs[:1])
    ok(not journals(env), "nothing is left in the spool", journals(env))

    # Killed again, and the session ends while logd is down: the rest stays in the spool, forwarded later.
    env.stop("logd", signal.SIGKILL)
    env.start_logd(lport)
    slow_commits(env)
    ready2, go2 = ready + "2", go + "2"
    before = len(env.events_json())
    th = kill_logd_at(env, ready2, go2)
    rc, recs2, err = env.run(conf, [start()] + session_checks(8, 60, "d") + [
        {"op": "touch", "path": ready2}, {"op": "wait_file", "path": go2}] + session_checks(3, 80, "e")
        + [{"op": "exit", "status": 0}], timeout=60, name="second")
    th.join()
    ok(rc == 0 and len(journals(env)) == 1, "logd killed and the session over: its rest is in the spool",
       f"rc={rc} {journals(env)}\n{err}")
    env.start_logd(lport)
    frc, fsent, fout = forward(conf)
    ok(frc == 0 and fsent == 1 and not journals(env), "pbctl forward sends the continuation", fout)
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 2)
    once_each(env, evs[before:], recs2, "the spooled continuation, forwarded: every event of the session once")
    # A restarted logd knows no session: it counts in its event log, from the place of the acknowledgement the
    # client names (only a client that saw none reads from the session's start).
    restarts = re.findall(r"session @\S+ restarted: \d+ events stored, (\d+) acknowledged( \(the event log read "
                          r"from the last acknowledgement\))?", logd_log(env))
    ok(any(int(a) > 0 for a, _ in restarts) and all(t for a, t in restarts if int(a) > 0),
       "after logd's restart, a session acknowledged before is counted from where that acknowledgement said",
       restarts)


def spool_session(env, conf, n, name):
    """A session logged to the spool from its start (no log server): n commands."""
    rc, recs, err = env.run(conf, [start()] + session_checks(n) + [{"op": "exit", "status": 0}], name=name)
    s = by_op(recs, "start")
    ok(rc == 0 and s and s[0].get("logserver") == "spool", f"{name}: a session in the spool", f"rc={rc} {s}\n{err}")
    return recs


def cut_forward(env, lport, frames):
    """pbctl forward through a proxy that passes `frames` client frames, then logd's next acknowledgement, and cuts."""
    pf = os.path.join(env.tmp, f"proxyport{frames}")
    proxy = subprocess.Popen([sys.executable, os.path.join(HERE, "cutproxy.py"), pf, str(lport), env.pki,
                              str(frames)])
    env.procs[f"proxy{frames}"] = proxy
    wait_file(pf, proxy)
    res = forward(env.monitor_conf([free_port()], [int(open(pf).read())]))
    proxy.wait(10)
    return res


def group_cutforward(env):
    pp = env.start_policyd()
    lport = free_port()
    conf = env.monitor_conf([pp], [lport])
    recs = spool_session(env, conf, 15, "spooled")
    env.start_logd(lport)
    frc, fsent, fout = cut_forward(env, lport, 12)
    ok(frc != 0 and fsent == 0 and len(journals(env)) == 1, "a forward cut after part was stored keeps the journal",
       fout)
    stored = len(env.events_json())
    ok(0 < stored < 32, "part of the session reached logd", stored)
    frc, fsent, fout = cut_forward(env, lport, 8)
    ok(frc != 0 and len(journals(env)) == 1, "a second cut forward, resumed, keeps it too", fout)
    # logd restarted meanwhile: it knows nothing of the session and counts in its event log, from the place the
    # journal recorded with the last acknowledgement.
    env.stop("logd")
    env.start_logd(lport)
    conf = env.monitor_conf([pp], [lport])
    frc, fsent, fout = forward(conf)
    ok(frc == 0 and fsent == 1 and not journals(env), "the next forward completes it", fout)
    restarts = re.findall(r"session @\S+ restarted: \d+ events stored, (\d+) acknowledged( \(the event log read "
                          r"from the last acknowledgement\))?", logd_log(env))
    ok(len(restarts) == 2, "both resumed forwards restarted the session", logd_log(env)[-2000:])
    ok(restarts and int(restarts[-1][0]) > 0 and restarts[-1][1],
       "the forward after logd's restart named the place of its last acknowledgement (from the journal)", restarts)
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    once_each(env, evs, recs, "after forwards cut twice: every event of the session once (pblog)")
    frc, fsent, fout = forward(conf)
    time.sleep(0.3)
    ok(frc == 0 and fsent == 0 and len(env.events_json()) == len(evs), "forwarding again sends nothing", fout)


def group_twoforwarders(env):
    pp = env.start_policyd()
    lport = free_port()
    conf = env.monitor_conf([pp], [lport])
    sessions = [spool_session(env, conf, 6, f"spooled{i}") for i in range(4)]
    ok(len(journals(env)) == 4, "four sessions in the spool", journals(env))
    env.start_logd(lport)
    # Two forwarders at once: pbctl forward, and a session starting (it forwards the spool before its own log).
    results = {}

    def pbctl():
        results["pbctl"] = forward(conf)

    th = threading.Thread(target=pbctl)
    th.start()
    rc, recs, err = env.run(conf, [start(), {"op": "sleep", "s": 1.0}, {"op": "exit", "status": 0}], name="next")
    th.join()
    for _ in range(50):
        if not journals(env):
            break
        time.sleep(0.1)
    ok(rc == 0 and not journals(env), "the two forwarders sent the whole spool", f"{results} {journals(env)}\n{err}")
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 5)
    by_session = {}
    for e in evs:
        by_session.setdefault(e.get("session"), []).append(e)
    for i, recs_i in enumerate(sessions):
        uids = {r["uniqueid"] for r in by_op(recs_i, "check")}
        mine = next((v for v in by_session.values() if any(e.get("uniqueid") in uids for e in v)), [])
        once_each(env, mine, recs_i, f"spooled session {i}: every event once")
    ok(len(by_session) == 5, "five sessions in logd, each once", sorted(by_session))


# ---- I/O-logged sessions (the policy gives user ivan an I/O log): their events exactly once too ----

def io_checks(n, first_id=10, tag="c", pause=0):
    """n commands, each checked and finished, each writing a line of its own to the session's terminal (and
    then pausing for pause seconds)."""
    acts = []
    for i in range(n):
        acts += [chk("/bin/echo" if i % 2 else "/bin/ls", first_id + i, f"{tag}{i}"),
                 {"op": "write", "text": f"out-{tag}{i:02d}\r\n"}, {"op": "finish", "status": i % 7}]
        if pause:
            acts.append({"op": "sleep", "s": pause})
    return acts


def io_lines(acts):
    return [a["text"].strip().encode() for a in acts if a.get("op") == "write"]


def io_whole(env, evs, acts, what):
    """The session's I/O log, finished, plays every line written once, in order (pbreplay)."""
    lid = tm.finished_iolog(env, evs, f"{what}: the start event names the I/O log")
    if lid is None:
        return
    rc, out, info = tm.replay(env, lid)
    got = re.findall(rb"out-[a-z]+\d+", out)
    ok(rc == 0 and got == io_lines(acts), f"{what}: pbreplay plays the I/O log whole, each line once, in order",
       f"rc={rc} want {io_lines(acts)}\ngot {got}\n{info[-2000:]}")
    if shutil.which("sudoreplay"):
        rc, out, info = tm.replay(env, lid, sudo=True)
        got = re.findall(rb"out-[a-z]+\d+", out)
        ok(rc == 0 and got == io_lines(acts), f"{what}: sudoreplay plays it the same", f"rc={rc} {got}\n{info[-2000:]}")


def io_session(user="ivan"):
    return start(user=user, has_tty=True, tty="/dev/pts/0")


def group_iokilled(env):
    """An I/O-logged session (a pty relay) whose logd is stopped with events and records stored but not
    acknowledged and more unread in its socket, SIGKILLed and started again; the session goes on and ends."""
    conf, lport, ready, stopped, ready2, go, seen, th = killed_setup(env, lambda e: e.get("event") == "finish")

    # (A pause past a commit tick: part of the session is acknowledged before logd is lost. Its lines are
    # apart, so each is an I/O record of its own: a pty can hand a busy monitor several writes in one read, and
    # logd's commit point stops before the last record, at 0 if that part were a single record.)
    acts = ([io_session()] + io_checks(6, pause=0.05) + [{"op": "sleep", "s": 2.3}] + io_checks(6, 20, "b")
            + [{"op": "touch", "path": ready}, {"op": "wait_file", "path": stopped}]
            + io_checks(5, 30, "inflight") + [{"op": "touch", "path": ready2}, {"op": "wait_file", "path": go},
                                              {"op": "sleep", "s": 0.6}]
            + io_checks(6, 40, "after") + [{"op": "exit", "status": 0}])
    th.start()
    rc, recs, err = env.run(conf, acts, stdio=tm.in_pty, timeout=60)
    th.join()
    s = by_op(recs, "start")
    inflight = {r["uniqueid"] for r in by_op(recs, "check") if r.get("tag", "").startswith("inflight")}
    ok(rc == 0 and s and s[0].get("pty") and len(seen.get("stored", ())) > 1 and len(inflight) == 5
       and not (inflight & seen["stored"]),
       "an I/O-logged session: logd killed with events stored (not acknowledged) and more unread in its socket",
       f"rc={rc} {s} {seen}\n{err}")
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    once_each(env, evs, recs, "logd killed in the middle of an I/O-logged session: every event once (pblog)")
    log = logd_log(env)
    m = re.search(r"I/O log (\S+) restarted at (\S+), (\d+) of (\d+) events acknowledged", log)
    ok(m is not None and int(m.group(4)) > int(m.group(3)) > 1 and m.group(2) != "0.000000000",
       "the continuation restarted the I/O log after the acknowledged events: logd had stored more, and dropped "
       "those", log[-3000:])
    ok(m is not None and evs and evs[0].get("session") == m.group(1), "the events are all in the I/O log's session",
       evs[:1])
    ok(re.search(r"I/O log \S+ restarted at \S+, [1-9]\d* of \d+ events acknowledged \(the event log read from the "
                 r"last acknowledgement\)", log) is not None,
       "logd (restarted, knowing nothing of the session) counted its events from the last acknowledgement's place",
       log[-3000:])
    io_whole(env, evs, acts, "logd killed")
    ok(not journals(env), "nothing is left in the spool", journals(env))

    # Killed again after part was acknowledged, and the session ends while logd is down: the continuation (a
    # restart of the I/O log after the acknowledged events) stays in the spool, forwarded later.
    env.stop("logd", signal.SIGKILL)
    env.start_logd(lport)
    slow_commits(env, "500ms")
    ready3, go3 = ready + "3", go + "3"
    before = len(env.events_json())
    acts2 = ([io_session()] + io_checks(4, 60, "d") + [{"op": "sleep", "s": 0.8}] + io_checks(4, 70, "e")
             + [{"op": "touch", "path": ready3}, {"op": "wait_file", "path": go3}] + io_checks(3, 80, "f")
             + [{"op": "exit", "status": 0}])
    th = kill_logd_at(env, ready3, go3)
    rc, recs2, err = env.run(conf, acts2, stdio=tm.in_pty, timeout=60, name="second")
    th.join()
    ok(rc == 0 and len(journals(env)) == 1, "logd killed and the I/O-logged session over: its rest is in the spool",
       f"rc={rc} {journals(env)}\n{err}")
    restarts = r"I/O log \S+ restarted at \S+, [1-9]\d* of \d+ events acknowledged"
    n = len(re.findall(restarts, logd_log(env)))
    env.start_logd(lport)
    frc, fsent, fout = forward(conf)
    ok(frc == 0 and fsent == 1 and not journals(env), "pbctl forward sends the continuation", fout)
    ok(len(re.findall(restarts, logd_log(env))) == n + 1,
       "the forward restarted the I/O log after the acknowledged events", logd_log(env)[-2000:])
    evs = env.wait_events(lambda e: sum(1 for x in e if x.get("event") == "exit") >= 2)
    once_each(env, evs[before:], recs2, "the spooled continuation, forwarded: every event of the session once")
    io_whole(env, evs[before:], acts2, "the spooled continuation")


def group_iocutforward(env):
    """An I/O-logged session spooled whole (no log server), forwarded through cuts, then whole."""
    pp = env.start_policyd()
    lport = free_port()
    conf = env.monitor_conf([pp], [lport])
    acts = [io_session()] + io_checks(15) + [{"op": "exit", "status": 0}]
    rc, recs, err = env.run(conf, acts, stdio=tm.in_pty, name="spooled")
    s = by_op(recs, "start")
    ok(rc == 0 and s and s[0].get("pty") and s[0].get("logserver") == "spool" and len(journals(env)) == 1,
       "an I/O-logged session in the spool", f"rc={rc} {s}\n{err}")
    env.start_logd(lport)
    frc, fsent, fout = cut_forward(env, lport, 20)
    ok(frc != 0 and fsent == 0 and len(journals(env)) == 1, "a forward cut after part was stored keeps the journal",
       fout)
    stored = len(env.events_json())
    ok(0 < stored < 32, "part of the session's events reached logd", stored)
    frc, fsent, fout = cut_forward(env, lport, 14)
    ok(frc != 0 and len(journals(env)) == 1, "a second cut forward, resumed, keeps it too", fout)
    conf = env.monitor_conf([pp], [lport])  # (cut_forward wrote its own)
    frc, fsent, fout = forward(conf)
    ok(frc == 0 and fsent == 1 and not journals(env), "the next forward completes it", fout)
    log = logd_log(env)
    ok(len(re.findall(r"I/O log \S+ restarted at \S+, [1-9]\d* of \d+ events acknowledged", log)) == 2,
       "both resumed forwards restarted the I/O log after the acknowledged events", log[-2000:])
    ok(len(re.findall(r"I/O log \S+ restarted at \S+, [1-9]\d* of \d+ events acknowledged \(the event log read "
                      r"from the last acknowledgement\)", log)) == 2,
       "and named the place of their last acknowledgement (recorded in the journal)", log[-2000:])
    evs = env.wait_events(lambda e: any(x.get("event") == "exit" for x in e))
    once_each(env, evs, recs, "an I/O journal forwarded after two cuts: every event once (pblog)")
    io_whole(env, evs, acts, "forwarded after two cuts")
    frc, fsent, fout = forward(conf)
    time.sleep(0.3)
    ok(frc == 0 and fsent == 0 and len(env.events_json()) == len(evs), "forwarding again sends nothing", fout)


GROUPS = {"killed": group_killed, "cutforward": group_cutforward, "twoforwarders": group_twoforwarders,
          "iokilled": group_iokilled, "iocutforward": group_iocutforward}

if __name__ == "__main__":
    # test_monitor's runner: its environment, checks and TAP plan, with these groups.
    tm.GROUPS.update(GROUPS)
    sys.exit(tm.main())
