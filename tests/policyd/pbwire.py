# SPDX-License-Identifier: ISC
# A minimal protobuf encoder/decoder and policy.proto/admin.proto message builders for policyd's tests.
# Hand-written so the tests need no generated Python code and can also build malformed messages.
import socket
import ssl
import struct


def varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    if isinstance(b, str):
        b = b.encode()
    return varint((num << 3) | 2) + varint(len(b)) + b


def decode(buf):
    """Parse one message level into {field number: [values]} (bytes for length-delimited)."""
    out = {}
    i = 0
    while i < len(buf):
        tag, i = _get_varint(buf, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = _get_varint(buf, i)
        elif wt == 2:
            ln, i = _get_varint(buf, i)
            v = bytes(buf[i:i + ln])
            i += ln
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        elif wt == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("bad wire type")
        out.setdefault(num, []).append(v)
    return out


def _get_varint(buf, i):
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def s(d, num, default=""):
    return d[num][-1].decode() if num in d else default


def n(d, num, default=0):
    return d[num][-1] if num in d else default


def strs(d, num):
    return [x.decode() for x in d.get(num, [])]


# --- policy.proto requests ---

def hello(rid, version=1, host=None, name="test", cversion="1"):
    body = field_varint(1, version) + field_bytes(2, name) + field_bytes(3, cversion)
    if host is not None:
        body += field_bytes(4, host)
    return field_varint(1, rid) + field_bytes(2, body)


def shell_start(rid, user="alice", uid=1000, group="users", groups=(), host=None, tty="/dev/pts/1",
                shell="pbksh", argv=("pbksh",), pid=4242, ppid=1, cwd="/home/alice"):
    body = b""
    if host is not None:
        body += field_bytes(1, host)
    body += field_bytes(2, user) + field_varint(3, uid) + field_bytes(4, group) + field_varint(5, 100)
    for g in groups:
        body += field_bytes(6, g)
    body += field_varint(7, pid) + field_varint(8, ppid) + field_bytes(9, tty) + field_bytes(10, cwd)
    body += field_bytes(11, shell)
    for a in argv:
        body += field_bytes(12, a)
    return field_varint(1, rid) + field_bytes(3, body)


MODES = {"shell start": 1, "shell command": 2, "shell builtin": 3, "shell redirect": 4}


def check(rid, mode, command, argv, cwd=""):
    body = field_varint(1, MODES[mode]) + field_bytes(2, command)
    for a in argv:
        body += field_bytes(3, a)
    if cwd:
        body += field_bytes(4, cwd)
    return field_varint(1, rid) + field_bytes(4, body)


ADMIN = {"status": 2, "sessions": 3, "reload": 4, "enable": 5, "disable": 6, "stop": 7, "trace": 8}


def admin(rid, what, force=False, spec=None):
    if what == "stop":
        inner = field_varint(1, 1) if force else b""
    elif what == "trace":
        inner = field_bytes(1, spec or "0")
    else:
        inner = b""
    body = field_varint(1, rid) + field_bytes(ADMIN[what], inner)
    return field_varint(1, rid) + field_bytes(20, body)


# --- replies ---

def reply(buf):
    """Decode a PolicyReply into (id, kind, fields-dict) with kind hello/decision/error/admin."""
    d = decode(buf)
    rid = n(d, 1)
    for num, kind in ((2, "hello"), (3, "decision"), (4, "error"), (20, "admin")):
        if num in d:
            return rid, kind, decode(d[num][-1])
    return rid, "none", {}


def decision(f):
    return {
        "accept": bool(n(f, 1)), "reason": s(f, 2), "uniqueid": s(f, 3), "rule": s(f, 4),
        "hash": s(f, 5), "runuser": s(f, 6), "rungroup": s(f, 7), "runumask": n(f, 8),
        "runlocalmode": bool(n(f, 9)), "iolog": s(f, 10), "logservers": strs(f, 11),
        "shellallowedcommands": strs(f, 12), "shellforbiddencommands": strs(f, 13),
        "mode": n(f, 19), "set": strs(f, 20),
    }


def admin_reply(f):
    """AdminReply fields → (kind, dict)."""
    if 2 in f:
        st = decode(f[2][-1])
        counters = {}
        for c in st.get(11, []):
            cd = decode(c)
            counters[s(cd, 1)] = n(cd, 2)
        info = {}
        for c in st.get(12, []):
            cd = decode(c)
            info[s(cd, 1)] = s(cd, 2)
        return "status", {"state": n(st, 1), "program": s(st, 2), "version": s(st, 3),
                          "pid": n(st, 4), "uptime": n(st, 6), "config": s(st, 7),
                          "debug": s(st, 8), "connections": n(st, 9), "sessions": n(st, 10),
                          "counters": counters, "info": info}
    if 3 in f:
        rows = []
        for r in decode(f[3][-1]).get(1, []):
            rd = decode(r)
            rows.append({"host": s(rd, 1), "user": s(rd, 3), "uid": n(rd, 4), "pid": n(rd, 5),
                         "ppid": n(rd, 6), "tty": s(rd, 7), "shell": s(rd, 8),
                         "start": n(rd, 9), "requests": n(rd, 10)})
        return "sessions", rows
    if 4 in f:
        return "done", s(decode(f[4][-1]), 1)
    if 5 in f:
        e = decode(f[5][-1])
        code = n(e, 1)
        if code >= 1 << 63:
            code -= 1 << 64
        return "error", {"code": code, "message": s(e, 2)}
    return "none", {}


# --- connections ---

class Conn:
    def __init__(self, port, pki, cert="host1", timeout=10, tls=True):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(f"{pki}/ca.crt")
            if cert:
                ctx.load_cert_chain(f"{pki}/{cert}.crt", f"{pki}/{cert}.key")
            self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        else:
            self.sock = raw
        self.sock.settimeout(timeout)

    def send_raw(self, b):
        self.sock.sendall(b)

    def send(self, msg):
        self.sock.sendall(struct.pack(">I", len(msg)) + msg)

    def _read(self, k):
        buf = b""
        while len(buf) < k:
            chunk = self.sock.recv(k - len(buf))
            if not chunk:
                raise EOFError("connection closed")
            buf += chunk
        return buf

    def recv(self):
        (ln,) = struct.unpack(">I", self._read(4))
        return reply(self._read(ln))

    def closed(self):
        """True when the server has closed the connection (EOF or reset) with nothing more to read."""
        try:
            data = self.sock.recv(1)
            return data == b""
        except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
