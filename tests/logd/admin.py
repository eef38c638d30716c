#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Admin requests to logd over its TLS port (field 101 of ClientMessage), as pbctl sends them.
"""usage: admin.py PORT PKI_DIR CERTNAME REQUEST [ARG]

REQUEST: status, sessions, reload, enable, disable, stop, forcestop, trace SPEC.
Prints the reply: "status STATE program=... connections=N sessions=N",
one "session host=... user=... log_id=..." line per session, "done MESSAGE",
or "error CODE MESSAGE"; exits 0 for a non-error reply, 1 for an error reply.
"""
import os
import socket
import ssl
import struct
import sys

port, pki, who, req = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
arg = sys.argv[5] if len(sys.argv) > 5 else ""


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
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def fint(num, v):
    return varint(num << 3) + varint(v)


def parse(buf):
    """Top-level fields of a message: list of (num, wiretype, value)."""
    out, p = [], 0
    while p < len(buf):
        key, shift = 0, 0
        while True:
            b = buf[p]
            p += 1
            key |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, shift = 0, 0
            while True:
                b = buf[p]
                p += 1
                v |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            out.append((num, wt, v))
        elif wt == 2:
            ln, shift = 0, 0
            while True:
                b = buf[p]
                p += 1
                ln |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            out.append((num, wt, buf[p:p + ln]))
            p += ln
        else:
            raise ValueError("wire type %d" % wt)
    return out


kinds = {"status": 2, "sessions": 3, "reload": 4, "enable": 5, "disable": 6, "stop": 7, "forcestop": 7,
         "trace": 8}
body = fint(1, 42)
if req == "stop":
    body += fld(7, fint(2, 5))
elif req == "forcestop":
    body += fld(7, fint(1, 1))
elif req == "trace":
    body += fld(8, fld(1, arg))
else:
    body += fld(kinds[req], b"")
msg = fld(101, body)

ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=os.path.join(pki, "ca.crt"))
ctx.load_cert_chain(os.path.join(pki, who + ".crt"), os.path.join(pki, who + ".key"))
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
s.sendall(struct.pack(">I", len(msg)) + msg)
buf = b""
reply = None
while reply is None:
    d = s.recv(65536)
    if not d:
        break
    buf += d
    while len(buf) >= 4:
        n = struct.unpack(">I", buf[:4])[0]
        if len(buf) < 4 + n:
            break
        payload, buf = buf[4:4 + n], buf[4 + n:]
        for num, wt, v in parse(payload):
            if num == 101:
                reply = v
s.close()
if reply is None:
    print("no reply")
    sys.exit(2)
rc = 0
for num, wt, v in parse(reply):
    if num == 2:  # status
        f = {n: x for n, _, x in parse(v)}
        states = {1: "STARTING", 2: "ENABLED", 3: "DISABLED", 4: "STOPPING"}
        print("status %s program=%s connections=%d sessions=%d" % (
            states.get(f.get(1, 0), "UNKNOWN"), f.get(2, b"").decode(), f.get(9, 0), f.get(10, 0)))
    elif num == 3:  # sessions
        for n, _, row in parse(v):
            r = parse(row)
            fields = {n2: x for n2, _, x in r if n2 != 11}
            extra = {}
            for n2, _, x in r:
                if n2 == 11:
                    kv = {a: b for a, _, b in parse(x)}
                    extra[kv.get(1, b"").decode()] = kv.get(2, b"").decode()
            print("session host=%s user=%s %s" % (fields.get(1, b"").decode(), fields.get(3, b"").decode(),
                                                  " ".join("%s=%s" % kv for kv in sorted(extra.items()))))
    elif num == 4:
        f = {n: x for n, _, x in parse(v)}
        print("done %s" % f.get(1, b"").decode())
    elif num == 5:
        f = {n: x for n, _, x in parse(v)}
        code = f.get(1, 0)
        if code >= 1 << 63:
            code -= 1 << 64
        print("error %d %s" % (code, f.get(2, b"").decode()))
        rc = 1
sys.exit(rc)
