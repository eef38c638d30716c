#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# The malformed-input battery against a running logd (plain mode), plus certificate checks against a TLS logd.
"""usage: badinput.py PLAIN_PORT IO_DIR EVENT_DIR [TLS_PORT PKI_DIR]

Every case opens a new connection, sends something wrong, and checks what
logd answers (an error message naming the problem, and a close); after
each case a well-formed hello must still be answered, so logd survived.
Prints one line per case and "N passed, N failed" at the end.
"""
import glob
import json
import os
import socket
import ssl
import struct
import sys
import time

PORT = int(sys.argv[1])
IODIR = sys.argv[2]
EVDIR = sys.argv[3]
TLS_PORT = int(sys.argv[4]) if len(sys.argv) > 5 else None
PKI = sys.argv[5] if len(sys.argv) > 5 else None

passed = failed = 0


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fld(num, payload):
    """A length-delimited field."""
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def fint(num, v):
    return varint(num << 3) + varint(v)


def ts(sec, nsec=0):
    return fint(1, sec) + (fint(2, nsec) if nsec else b"")


def info(k, v):
    return fld(1, k) + fld(3, v)


def hello(exts=()):
    return fld(13, fld(1, "badinput") + b"".join(fld(100, e) for e in exts))


def evhello():
    """A client using extension event-acks (pbsh-monitor)."""
    return hello(["event-acks"])


def accept(iobufs=True, user="mallory", extra=b""):
    body = fld(1, ts(1700000000))
    for k, v in (("command", "/bin/sh"), ("runuser", "root"), ("submituser", user),
                 ("submithost", "badhost")):
        body += fld(2, info(k, v))
    if iobufs:
        body += fint(3, 1)
    return fld(1, body + extra)


def iobuf(kind=7, data=b"hello", sec=0, nsec=1000):
    return fld(kind, fld(1, ts(sec, nsec)) + fld(2, data))


def exitmsg():
    return fld(3, fld(1, ts(0, 5000)) + fint(2, 0))


def restart(log_id, sec=0, nsec=0, acked=None):
    return fld(4, fld(1, log_id) + fld(2, ts(sec, nsec)) + (fint(100, acked) if acked is not None else b""))


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    return s


def read_msgs(s, timeout=3.0):
    """Server messages until close or timeout: list of (field, value)."""
    s.settimeout(timeout)
    buf = b""
    msgs = []
    closed = False
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not d:
            closed = True
            break
        buf += d
        while len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            payload, buf = buf[4:4 + n], buf[4 + n:]
            # top-level field: its key, then a varint value or a length and bytes
            key, p = get_varint(payload, 0)
            val, p = get_varint(payload, p)
            msgs.append((key >> 3, val if key & 7 == 0 else payload[p:p + val]))
    return msgs, closed


def get_varint(b, p):
    v = shift = 0
    while p < len(b):
        c = b[p]
        v |= (c & 0x7F) << shift
        p += 1
        shift += 7
        if not c & 0x80:
            break
    return v, p


def errors(msgs):
    return [v.decode(errors="replace") for k, v in msgs if k == 4]


def alive():
    try:
        s = connect()
        s.sendall(frame(hello()))
        s.shutdown(socket.SHUT_WR)
        msgs, _ = read_msgs(s, 2.0)
        s.close()
        return any(k == 1 for k, _ in msgs)
    except OSError:
        return False


def case(name, data, want_error=None, want_close=True, prefix=None, half_close=False, first=None):
    """Send first (a hello), prefix messages (answers ignored), then data; check the answer."""
    global passed, failed
    ok = True
    why = ""
    try:
        s = connect()
        s.sendall(frame(first or hello()))
        for m in prefix or []:
            s.sendall(frame(m))
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        msgs, closed = read_msgs(s, 3.0 if want_close else 0.5)
        s.close()
        errs = errors(msgs)
        if want_error is not None and not any(want_error in e for e in errs):
            ok, why = False, "no error containing %r (got %r)" % (want_error, errs)
        if want_close and not closed:
            ok, why = False, "connection not closed"
    except OSError as e:
        ok, why = False, str(e)
    if not alive():
        ok, why = False, "logd no longer answers"
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + why))
    if ok:
        passed += 1
    else:
        failed += 1


# A finished log and an unfinished one to restart.
s = connect()
s.sendall(frame(hello()) + frame(accept()) + frame(iobuf()) + frame(exitmsg()))
msgs, _ = read_msgs(s)
s.close()
done_id = [v.decode() for k, v in msgs if k == 3][0]
s = connect()
s.sendall(frame(hello()) + frame(accept()) + frame(iobuf()))
# The log id comes once the log is durable (a sync worker's job): wait for it before the close.
msgs, _ = read_msgs(s, 0.5)
s.shutdown(socket.SHUT_WR)
more, _ = read_msgs(s, 2.0)
msgs += more
s.close()
open_id = [v.decode() for k, v in msgs if k == 3][0]

# Framing
case("zero length", struct.pack(">I", 0), "length zero")
case("oversized length", struct.pack(">I", 0x7FFFFFFF) + b"x" * 16, "too large")
case("just over 2 MiB", struct.pack(">I", 2 * 1024 * 1024 + 1) + b"x" * 1024, "too large")
case("truncated frame then close", struct.pack(">I", 100) + b"\x0a\x03abc", None, half_close=True)
case("truncated header then close", b"\x00\x00", None, half_close=True)
# Decoding
case("garbage payload", frame(bytes(range(256)) * 4), "ClientMessage")
case("all 0xff", frame(b"\xff" * 64), "ClientMessage")
case("unknown oneof member", frame(fint(50, 1)), "unknown or no type")
case("empty message (no oneof)", frame(fld(60, b"")), "unknown or no type")
case("duplicate oneof: accept and reject", frame(accept()[:] + fld(2, fld(2, "why"))), None)
case("duplicate hello member", frame(hello() + hello()), "ClientHello")
case("NUL in a string", frame(accept(user="al\0ice")), "NUL")
case("NUL in an info key", frame(fld(1, fld(1, ts(1)) + fld(2, info("sub\0mituser", "x")))), "NUL")
case("bad UTF-8 and control characters", frame(accept(user="\x1b[31m\xff")), None, want_close=False)
case("negative nanoseconds", frame(fld(1, fld(1, fint(1, 1) + fint(2, (1 << 64) - 1)))), "submit_time")
case("huge delay", frame(iobuf(sec=1 << 60)), "delay", prefix=[accept()])
case("missing required info", frame(fld(1, fld(1, ts(1)))), "required")
# State order
case("IoBuffer before Accept", frame(iobuf()), "not allowed in state init")
case("Exit before Accept", frame(exitmsg()), "not allowed in state init")
case("ChangeWindowSize before Accept", frame(fld(11, fld(1, ts(0, 1)) + fint(2, 24) + fint(3, 80))),
     "not allowed")
case("hello after accept", frame(hello()), "ClientHello", prefix=[accept()])
case("restart after accept", frame(restart(open_id)), "not allowed", prefix=[accept()])

# Extension event-acks: an events-only session (two events, acknowledged), then bad restarts of it.
s = connect()
s.sendall(frame(evhello()) + frame(accept(iobufs=False)) + frame(accept(iobufs=False)))
msgs, _ = read_msgs(s, 1.5)
s.close()
ev_id = next((v.decode() for k, v in msgs if k == 3), "")
print("%s event-acks: an events-only session gets a log id and its events stored (%r)" %
      ("ok  " if ev_id.startswith("@") and (102, 2) in msgs else "FAIL", msgs))
passed += ev_id.startswith("@") and (102, 2) in msgs
failed += not (ev_id.startswith("@") and (102, 2) in msgs)
EV = dict(first=evhello())
case("event-acks: malformed events-only log id", frame(restart("@2026x", acked=0)), "invalid log_id", **EV)
case("event-acks: log id with a huge offset", frame(restart("@20260101.0.99999999999999999999999.0123456789abcdef",
                                                            acked=0)), "invalid log_id", **EV)
case("event-acks: unknown log id", frame(restart("@20260101.0.0.0123456789abcdef", acked=0)), "unknown log_id", **EV)
case("event-acks: count above the stored one", frame(restart(ev_id, acked=3)), "events_acked 3 is more than the 2",
     **EV)
case("event-acks: count of 2^64-1", frame(restart(ev_id, acked=(1 << 64) - 1)), "events_acked", **EV)
case("event-acks: count cut short", frame(fld(4, fld(1, ev_id) + b"\xa0\x06\xff\xff")), "cannot decode", **EV)
case("event-acks: a count in the restart of an I/O log made without it", frame(restart(open_id, 0, 1000, acked=1)),
     "not counted", **EV)
case("event-acks: restart without the extension", frame(restart(ev_id, acked=0)), "event-acks")
case("event-acks: restart, then more than was resent after the end", frame(exitmsg()), None, want_close=True,
     prefix=[restart(ev_id, acked=2), exitmsg()], **EV)

# Extension event-acks on an I/O-logged session: its accept and a sub-command's are counted and acknowledged.
def check(name, good, detail):
    global passed, failed
    print("%s %s%s" % ("ok  " if good else "FAIL", name, "" if good else ": %r" % (detail,)))
    passed += bool(good)
    failed += not good


s = connect()
s.sendall(frame(evhello()) + frame(accept()) + frame(iobuf()) + frame(accept(iobufs=False)))
msgs, _ = read_msgs(s, 1.5)
s.close()
evio_id = next((v.decode() for k, v in msgs if k == 3), "")
check("event-acks: an I/O-logged session's events stored", evio_id and (102, 2) in msgs, msgs)
case("event-acks: I/O restart, count above the stored one", frame(restart(evio_id, 0, 1000, acked=3)),
     "events_acked 3 is more than the 2", **EV)
case("event-acks: I/O restart, count of 2^64-1", frame(restart(evio_id, 0, 1000, acked=(1 << 64) - 1)),
     "events_acked", **EV)
case("event-acks: I/O restart, count cut short", frame(fld(4, fld(1, evio_id) + fld(2, ts(0, 1000)) + b"\xa0\x06\xff")),
     "cannot decode", **EV)
case("event-acks: I/O restart with a count, without the extension", frame(restart(evio_id, 0, 1000, acked=1)),
     "events_acked needs the client's event-acks")
# Acknowledged 1 of 2: the sub-command's accept resent is dropped, a new alert is the third; the end is the fourth.
s = connect()
s.sendall(frame(evhello()) + frame(restart(evio_id, 0, 1000, acked=1)) + frame(accept(iobufs=False)) +
          frame(fld(5, fld(1, ts(1700000001)) + fld(2, "an alert"))))
msgs, _ = read_msgs(s, 1.5)
s.sendall(frame(iobuf(nsec=2000)) + frame(exitmsg()))
more, closed = read_msgs(s, 3.0)
s.close()
msgs += more

def session_events(sid):
    evs = []
    for f in sorted(glob.glob(os.path.join(EVDIR, "*"))):
        with open(f, errors="replace") as fh:
            for line in fh:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get("session") == sid:
                    evs.append(e.get("event"))
    return evs


check("event-acks: I/O restart drops the stored event resent, counts the rest",
      not errors(msgs) and (102, 4) in msgs and (102, 5) not in msgs and closed and
      session_events(evio_id) == ["accept", "accept", "alert", "exit"], (msgs, session_events(evio_id)))
case("second I/O accept", frame(accept()), "second I/O log", prefix=[accept()])
case("message after exit", frame(iobuf()), None, prefix=[accept(), exitmsg()])
case("bad signal name", frame(fld(12, fld(1, ts(0, 1)) + fld(2, "../x"))), "signal", prefix=[accept()])
# Restart
case("restart of an unknown log", frame(restart("nosuch/00/00/99-AAAAAAAAAAAAAAAA", 0, 1)), "unknown log id")
case("restart of a finished log", frame(restart(done_id, 0, 1000)), "complete")
case("restart at a point never committed", frame(restart(open_id, 0, 999)), "not a commit point")
case("restart with .. in the id", frame(restart("../../etc", 0, 1)), "invalid log_id")
case("restart with an absolute id", frame(restart("/etc/passwd", 0, 1)), "invalid log_id")
case("restart with a dot component", frame(restart("a/./b", 0, 1)), "invalid log_id")
case("restart with an empty id", frame(restart("", 0, 1)), "invalid log_id")
case("restart with a NUL in the id", frame(restart("ab\0/../x", 0, 1)), "NUL")
case("restart through a symlink", frame(restart("evil", 0, 1)), "unknown log id")

# Nothing escaped the I/O log root, and the event log is valid JSON Lines.
if os.path.exists("/etc/timing") or os.path.exists(os.path.join(os.path.dirname(IODIR), "timing")):
    print("FAIL something was written outside the I/O log directory")
    failed += 1
for path in glob.glob(os.path.join(EVDIR, "*.jsonl")):
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            try:
                json.loads(line)
            except ValueError as e:
                print("FAIL %s:%d is not JSON: %s" % (path, n, e))
                failed += 1
                break
        else:
            passed += 1
            print("ok   event log %s is valid JSON Lines" % os.path.basename(path))

# Certificates (TLS logd)
if TLS_PORT:
    def tls_try(cert, key, ca="ca.crt"):
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=os.path.join(PKI, ca))
        if cert:
            ctx.load_cert_chain(os.path.join(PKI, cert), os.path.join(PKI, key))
        try:
            raw = socket.create_connection(("127.0.0.1", TLS_PORT), timeout=5)
            t = ctx.wrap_socket(raw, server_hostname="localhost")
            t.sendall(frame(hello()))
            t.settimeout(3)
            d = t.recv(4)  # TLS 1.3 reports a refused certificate on the first read
            t.close()
            return len(d) > 0
        except (OSError, ssl.SSLError):
            return False

    for name, cert, key, want in (
        ("good host certificate", "host1.crt", "host1.key", True),
        ("certificate from another CA", "other.crt", "other.key", False),
        ("expired certificate", "expired.crt", "expired.key", False),
        ("no client certificate", None, None, False),
    ):
        got = tls_try(cert, key)
        ok = got == want
        print("%s TLS: %s %s" % ("ok  " if ok else "FAIL", name, "accepted" if got else "refused"))
        passed += ok
        failed += not ok
    # The client must refuse a server outside its CA (the server's name is checked too).
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=os.path.join(PKI, "other-ca.crt"))
    try:
        raw = socket.create_connection(("127.0.0.1", TLS_PORT), timeout=5)
        ctx.wrap_socket(raw, server_hostname="localhost").close()
        print("FAIL TLS: a server from the wrong CA was accepted by the client")
        failed += 1
    except (OSError, ssl.SSLError):
        print("ok   TLS: server certificate checked by the client")
        passed += 1

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
