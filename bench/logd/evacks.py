#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Benchmark: events-only sessions into logd with and without extension event-acks (what pbsh-monitor uses),
# in one run: events/s, and the acknowledgements a session got. Plain TCP on loopback.
#
# usage: bench/logd/evacks.py [BUILD_DIR] [SESSIONS] [EVENTS] [PARALLEL]
#   BUILD_DIR  where logd was built (default: build)
#   SESSIONS   sessions per batch (default 200)
#   EVENTS     accepts per session before its exit (default 20)
#   PARALLEL   sessions at once (default 20)
# Each session sends its accepts in batches of 5 (as the monitor's 5 ms batches do) and its exit, then reads
# until logd closes; with event-acks the close comes after the final events_stored. Best of 3 per mode.
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SESSIONS = int(sys.argv[2]) if len(sys.argv) > 2 else 200
EVENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 20
PAR = int(sys.argv[4]) if len(sys.argv) > 4 else 20


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | 0x80]) if n else bytes([b])
        if not n:
            return out


def fld(num, payload):
    payload = payload.encode() if isinstance(payload, str) else payload
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def frame(p):
    return struct.pack(">I", len(p)) + p


def accept(i):
    body = fld(1, varint(1 << 3) + varint(1700000000))
    for k, v in (("command", "/bin/true"), ("runuser", "root"), ("submituser", "bench"),
                 ("submithost", "benchhost"), ("uniqueid", f"u{i}")):
        body += fld(2, fld(1, k) + fld(3, v))
    return frame(fld(1, body))


EXIT = frame(fld(3, varint(2 << 3) + varint(0)))


def session(port, exts, acks):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(frame(fld(13, fld(1, "bench") + b"".join(fld(100, e) for e in exts))))
    for i in range(0, EVENTS, 5):
        s.sendall(b"".join(accept(j) for j in range(i, min(i + 5, EVENTS))))
    s.sendall(EXIT)
    n = 0
    while True:
        d = s.recv(65536)
        if not d:
            break
        n += d.count(b"\xb0\x06")  # events_stored (field 102) tags, near enough for a count
    s.close()
    acks.append(n)


def batch(port, exts):
    acks = []
    t0 = time.monotonic()
    left = list(range(SESSIONS))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not left:
                    return
                left.pop()
            session(port, exts, acks)

    ths = [threading.Thread(target=worker) for _ in range(PAR)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    return SESSIONS * (EVENTS + 1) / (time.monotonic() - t0), sum(acks) / max(len(acks), 1)


def main():
    logd = os.path.join(BUILD, "logd", "logd")
    with tempfile.TemporaryDirectory(prefix="logd-evacks.") as t:
        conf = os.path.join(t, "pbsh.yaml")
        with open(conf, "w") as f:
            f.write(f"tls: {{plaintext_for_tests: true}}\npolicyd: {{listen: [127.0.0.1:0]}}\nlogd:\n"
                    f"  listen: [127.0.0.1:0]\n  eventlog: {t}/events/\n  iolog_dir: {t}/io\n"
                    f"  commit_interval: 1s\n  pidfile: {t}/pid\n  hostcheck: record\n"
                    f"  max_connections: 10000\n  max_connections_per_peer: 10000\n")
        pf = os.path.join(t, "port")
        p = subprocess.Popen([logd, "-D", "-f", conf, "--port-file", pf], stderr=open(os.path.join(t, "err"), "w"))
        for _ in range(100):
            if os.path.exists(pf) and os.path.getsize(pf) > 0:
                break
            time.sleep(0.05)
        port = int(open(pf).read())
        try:
            print(f"{SESSIONS} events-only sessions of {EVENTS} accepts and an exit, {PAR} at once")
            print(f"{'client':<22}{'events/s':>10}{'acks/session':>14}")
            for name, exts in (("sudo (no extension)", ()), ("event-acks", ("event-acks",))):
                runs = [batch(port, exts) for _ in range(3)]
                best = max(runs)
                print(f"{name:<22}{best[0]:>10.0f}{best[1]:>14.1f}")
        finally:
            p.terminate()
            p.wait()


if __name__ == "__main__":
    main()
