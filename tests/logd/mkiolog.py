#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Makes a sudo-format I/O log directory for tests and benchmarks (deterministic for a given seed).
"""usage: mkiolog.py DIR [--mb N] [--records N] [--seed N] [--host H] [--user U] [--zero-delays]

Writes DIR/log, DIR/log.json, DIR/timing, DIR/ttyout, DIR/ttyin, DIR/stdout,
DIR/stderr, DIR/stdin with a mix of every record kind (all five streams,
window changes, suspend/resume), as sudoers(5) "I/O log format" describes.
"""
import argparse
import json
import os
import random

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--mb", type=float, default=0.05, help="approximate MB of ttyout")
ap.add_argument("--records", type=int, default=0, help="number of records (0: from --mb)")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--host", default="host1.test")
ap.add_argument("--user", default="alice")
ap.add_argument("--command", default="/bin/bash")
ap.add_argument("--zero-delays", action="store_true", help="use some zero delays")
a = ap.parse_args()

rng = random.Random(a.seed)
os.makedirs(a.dir, exist_ok=True)
streams = {0: "stdin", 1: "stdout", 2: "stderr", 3: "ttyin", 4: "ttyout"}
files = {k: open(os.path.join(a.dir, v), "wb") for k, v in streams.items()}
target = int(a.mb * 1024 * 1024)
nrec = a.records or max(40, target // 8192)
ttyout_total = 0
total_ns = 0
with open(os.path.join(a.dir, "timing"), "w") as t:
    for i in range(nrec):
        if a.zero_delays and i % 3 == 1:
            sec, nsec = 0, 0
        else:
            sec, nsec = 0, rng.randrange(1, 20_000_000)
        total_ns += sec * 1_000_000_000 + nsec
        r = rng.random()
        if i % 17 == 5:
            t.write("5 %d.%09d %d %d\n" % (sec, nsec, rng.randrange(20, 60), rng.randrange(60, 200)))
            continue
        if i % 29 == 7:
            t.write("7 %d.%09d %s\n" % (sec, nsec, "TSTP"))
            continue
        if i % 29 == 8:
            t.write("7 %d.%09d %s\n" % (sec, nsec, "CONT"))
            continue
        if r < 0.70:
            kind = 4
        else:
            kind = rng.choice([0, 1, 2, 3])
        if kind == 4:
            n = rng.randrange(1, max(2, 2 * target // nrec))
        else:
            n = rng.randrange(1, 200)
        data = bytes(rng.randrange(0, 256) for _ in range(min(n, 64)))
        data = (data * (n // len(data) + 1))[:n]
        files[kind].write(data)
        if kind == 4:
            ttyout_total += n
        t.write("%d %d.%09d %d\n" % (kind, sec, nsec, n))
for f in files.values():
    f.close()
ts = 1700000000
with open(os.path.join(a.dir, "log"), "w") as f:
    f.write("%d:%s:root::/dev/pts/3:24:80\n/home/%s\n%s -c test\n" % (ts, a.user, a.user, a.command))
info = {
    "exit_value": 0, "run_time": {"seconds": total_ns // 1_000_000_000, "nanoseconds": total_ns % 1_000_000_000},
    "timestamp": {"seconds": ts, "nanoseconds": 0},
    "columns": 80, "lines": 24,
    "command": a.command, "runargv": [os.path.basename(a.command), "-c", "test"],
    "runuser": "root", "runuid": 0, "submitcwd": "/home/" + a.user,
    "submithost": a.host, "submituser": a.user, "ttyname": "/dev/pts/3",
}
with open(os.path.join(a.dir, "log.json"), "w") as f:
    json.dump(info, f, indent=4)
    f.write("\n")
