#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# A stand-in for a governed pbsh: forks like the shell does (the parent execs pbsh-monitor with the channels on fds 3 and 4, the child plays the shell) and runs a JSON script of session requests, writing every reply as a JSON line.
#
# Usage: fakeshell.py MONITOR CONFIG SCRIPT.json OUT.jsonl [DEBUG]
# The script is a list of actions (see run()); the process's exit status is the monitor's.
import array
import fcntl
import json
import os
import select
import socket
import sys
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "policyd"))
import pbwire as pw  # noqa: E402

MORE = 1
MODES = {"shell start": 1, "shell command": 2, "shell builtin": 3, "shell redirect": 4}
KINDS = {"accept": 1, "reject": 2, "finish": 3, "exit": 4}


def chan_send(sock, payload, fds=()):
    """One message as lib/chan records: a flag byte, then at most 64 KiB; fds ride on the first."""
    off, first = 0, True
    while True:
        chunk = payload[off:off + 65536]
        off += len(chunk)
        flag = MORE if off < len(payload) else 0
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if first and fds else []
        sock.sendmsg([bytes([flag]) + chunk], anc)
        first = False
        if not flag:
            return


def chan_recv(sock, timeout=30):
    sock.settimeout(timeout)
    data, fds = b"", []
    while True:
        msg, anc, flags, _ = sock.recvmsg(70000, socket.CMSG_SPACE(4 * 4))
        if not msg:
            raise EOFError("channel closed")
        for level, typ, d in anc:
            if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(d[:len(d) - len(d) % 4])
                fds.extend(a)
        data += msg[1:]
        if not msg[0] & MORE:
            return data, fds


def shell_start(a):
    b = b""
    if a.get("host"):
        b += pw.field_bytes(1, a["host"])
    b += pw.field_bytes(2, a.get("user", "alice")) + pw.field_varint(3, a.get("uid", 1000))
    b += pw.field_bytes(4, a.get("group", "users")) + pw.field_varint(5, a.get("gid", 100))
    b += pw.field_varint(7, os.getpid()) + pw.field_varint(8, os.getppid())
    if a.get("tty"):
        b += pw.field_bytes(9, a["tty"])
    b += pw.field_bytes(10, a.get("cwd", "/tmp")) + pw.field_bytes(11, a.get("shell", "/bin/pbsh"))
    for x in a.get("argv", ["pbsh"]):
        b += pw.field_bytes(12, x)
    return b


def request(rid, num, body):
    return pw.field_varint(1, rid) + pw.field_bytes(num, body)


def check_body(a):
    b = pw.field_varint(1, MODES[a.get("mode", "shell command")]) + pw.field_bytes(2, a.get("command", ""))
    for x in a.get("argv", []):
        b += pw.field_bytes(3, x)
    return b + pw.field_bytes(4, a.get("cwd", "/tmp"))


def decode_reply(buf, nfds):
    d = pw.decode(buf)
    out = {"id": pw.n(d, 1), "nfds": nfds}
    if 2 in d:
        st = pw.decode(d[2][-1])
        out.update(kind="started", native_root=bool(pw.n(st, 2)), pty=bool(pw.n(st, 3)),
                   policyserver=pw.s(st, 4), logserver=pw.s(st, 5))
        out.update(pw.decision(pw.decode(st[1][-1])) if 1 in st else {})
    elif 3 in d:
        out.update(kind="decision", **pw.decision(pw.decode(d[3][-1])))
    elif 4 in d:
        e = pw.decode(d[4][-1])
        code = pw.n(e, 1)
        out.update(kind="error", code=code - (1 << 64) if code >= 1 << 63 else code, message=pw.s(e, 2))
    return out


class Shell:
    def __init__(self, chan, factory, out, who):
        self.chan, self.factory, self.out, self.who = chan, factory, out, who
        self.last_uid = ""
        self.last_sub = 0
        self.slave = None
        self.held = []  # FINISH events (serialised) for the next request's `before`

    def emit(self, rec):
        rec["who"] = self.who
        with open(self.out, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def req(self, rid, num, body):
        """A request, with the events held back (SessionRequest.before) ahead of it, as pbsh sends its FINISH."""
        b = request(rid, num, body) + b"".join(pw.field_bytes(7, ev) for ev in self.held)
        self.held = []
        return b

    def ask(self, rid, num, body, fds=()):
        chan_send(self.chan, self.req(rid, num, body), fds)
        buf, rfds = chan_recv(self.chan)
        r = decode_reply(buf, len(rfds))
        if r.get("accept") and r.get("uniqueid"):
            self.last_uid = r["uniqueid"]
        return r, rfds

    def exec_word(self):
        """What the shell sends just before it execs its last accepted command in place (an EXEC event)."""
        chan_send(self.chan, self.req(0, 4, pw.field_varint(1, 6) + pw.field_bytes(2, self.last_uid)
                                      + pw.field_varint(12, os.getpid())))

    def run(self, actions):
        for a in actions:
            op = a["op"]
            if op == "start":
                # The monitor holds the shell to its real uid: be the user we claim (effective uid stays 0).
                if os.getuid() == 0 and a.get("uid", 1000) != 0:
                    os.setresuid(a.get("uid", 1000), 0, 0)
                body = pw.field_bytes(1, shell_start(a)) + pw.field_bytes(2, a.get("program", "pbsh"))
                body += pw.field_varint(3, int(a.get("interactive", False)))
                body += pw.field_varint(4, int(a.get("has_tty", False)))
                r, fds = self.ask(a.get("id", 1), 2, body)
                r["op"] = "start"
                self.emit(r)
                if fds:
                    self.slave = fds[0]
                    if a.get("use_pty", True):
                        os.setsid()
                        fcntl.ioctl(self.slave, termios.TIOCSCTTY, 0)
                        for fd in (0, 1, 2):
                            os.dup2(self.slave, fd)
                if r.get("kind") != "started" or not r.get("accept"):
                    return 1
            elif op == "check":
                r, _ = self.ask(a.get("id", 2), 3, check_body(a))
                r["op"] = "check"
                r["tag"] = a.get("tag", "")
                self.emit(r)
            elif op == "pipeline":
                # Several checks sent before any reply is read: each reply must carry its own id.
                for c in a["checks"]:
                    chan_send(self.chan, request(c["id"], 3, check_body(c)))
                for _ in a["checks"]:
                    buf, fds = chan_recv(self.chan)
                    r = decode_reply(buf, len(fds))
                    r["op"] = "pipeline"
                    self.emit(r)
            elif op in ("finish", "event_accept", "event_reject", "exit"):
                kind = {"finish": 3, "event_accept": 1, "event_reject": 2, "exit": 4}[op]
                uid = a.get("uniqueid", "$last")
                uid = self.last_uid if uid == "$last" else uid
                b = pw.field_varint(1, kind)
                if uid:
                    b += pw.field_bytes(2, uid)
                if "command" in a:
                    b += pw.field_varint(3, MODES[a.get("mode", "shell command")])
                    b += pw.field_bytes(4, a["command"])
                    for x in a.get("argv", []):
                        b += pw.field_bytes(5, x)
                if "reason" in a:
                    b += pw.field_bytes(7, a["reason"])
                b += pw.field_varint(8, a.get("status", 0)) + pw.field_varint(9, a.get("signal", 0))
                pid = self.last_sub if a.get("pid") == "$lastsub" else a.get("pid", os.getpid())
                b += pw.field_varint(11, a.get("run_ns", 1500000)) + pw.field_varint(12, pid)
                if "end_ns" in a:
                    b += pw.field_varint(16, a["end_ns"])
                if a.get("held"):
                    self.held.append(b)  # goes with the next request
                else:
                    chan_send(self.chan, self.req(0, 4, b))
            elif op == "include":
                b = pw.field_varint(1, 5) + pw.field_varint(12, os.getpid()) + pw.field_bytes(14, a["file"])
                b += pw.field_bytes(15, a["text"].encode())
                chan_send(self.chan, request(0, 4, b))
            elif op == "subshell":
                # A forked child never uses its parent's channel: it makes its own and hands it to the factory.
                pid = os.fork()
                if pid == 0:
                    code = 0
                    try:
                        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                        chan_send(self.factory, request(0, 6, pw.field_varint(1, os.getpid())), [theirs.fileno()])
                        theirs.close()
                        Shell(mine, self.factory, self.out, a.get("who", "sub")).run(a["actions"])
                    except Exception as e:  # noqa: BLE001
                        print(f"subshell: {e!r}", file=sys.stderr)
                        code = 1
                    os._exit(code)
                _, st = os.waitpid(pid, 0)
                self.last_sub = pid
                self.emit({"op": "subshell", "pid": pid, "status": os.waitstatus_to_exitcode(st)})
            elif op == "setruid":
                # What the setuid shell is: the user's real uid, effective uid 0.
                os.setresuid(a["uid"], 0, 0)
            elif op == "io_start":
                # A command whose I/O the monitor relays: its stdin, stdout, stderr go over, a pty slave comes back.
                in_r, in_w = os.pipe()
                out_r, out_w = os.pipe()
                uid = self.last_uid if a.get("uniqueid", "$last") == "$last" else a["uniqueid"]
                r, fds = self.ask(a.get("id", 30), 5, pw.field_bytes(1, uid), [in_r, out_w, out_w])
                r["op"] = "io_start"
                os.close(in_r)
                os.close(out_w)
                if fds:
                    # Play the command: write on the pty, then end (close every slave descriptor).
                    os.write(fds[0], a.get("output", "cmd-output\n").encode())
                    for fd in fds:
                        os.close(fd)
                os.close(in_w)
                got = b""
                deadline = time.time() + 5
                while time.time() < deadline and a.get("output", "cmd-output").strip().encode() not in got:
                    rl, _, _ = select.select([out_r], [], [], 0.2)
                    if rl:
                        d = os.read(out_r, 4096)
                        if not d:
                            break
                        got += d
                os.close(out_r)
                r["relayed"] = got.decode(errors="replace")
                self.emit(r)
            elif op == "touch":
                open(a["path"], "w").close()
            elif op == "wait_file":
                for _ in range(int(a.get("timeout", 20) * 20)):
                    if os.path.exists(a["path"]):
                        break
                    time.sleep(0.05)
            elif op == "write":
                os.write(1, a["text"].encode())
            elif op == "readline":
                line = b""
                while not line.endswith(b"\n") and not line.endswith(b"\r"):
                    c = os.read(0, 1)
                    if not c:
                        break
                    line += c
                self.emit({"op": "readline", "text": line.decode(errors="replace")})
            elif op == "sleep":
                time.sleep(a["s"])
            elif op == "execword":
                self.exec_word()
            elif op == "exec":
                if a.get("word", True) and self.last_uid:
                    self.exec_word()
                os.execv(a["argv"][0], a["argv"])
            elif op == "exit_code":
                return a["code"]
        return 0


def main():
    monitor, config, script, out = sys.argv[1:5]
    debug = sys.argv[5] if len(sys.argv) > 5 else None
    actions = json.load(open(script))
    root_m, root_s = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fact_m, fact_s = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        root_m.close()
        fact_m.close()
        code = 1
        try:
            code = Shell(root_s, fact_s, out, "shell").run(actions)
        except Exception as e:  # noqa: BLE001
            print(f"fakeshell: {e!r}", file=sys.stderr)
        os._exit(code)
    # The parent becomes the monitor, as the real shell's parent does.
    root_s.close()
    fact_s.close()
    # Through spare descriptors first: a channel may already sit on 3 or 4 (close-on-exec).
    a, b = os.dup(root_m.fileno()), os.dup(fact_m.fileno())
    root_m.close()
    fact_m.close()
    os.dup2(a, 3)
    os.dup2(b, 4)
    os.set_inheritable(3, True)
    os.set_inheritable(4, True)
    argv = [monitor, "--config", config, "--shell-pid", str(pid)]
    if debug:
        argv += ["--debug", debug]
    os.execve(monitor, argv, {})


if __name__ == "__main__":
    main()
