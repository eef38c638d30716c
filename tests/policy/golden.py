#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# Golden tests of `policyd --test`: each cases/*.test holds arguments, the exit status and the expected output.
#
# Case file format:
#   # comments
#   args: ARGUMENTS (shell-quoted; appended after the defaults below)
#   status: N
#   ---
#   expected standard output, then standard error
#
# Defaults: --test -f policy.yaml --uniqueid UID --time '2026-11-23 10:00' (a Monday),
# run in this folder with TZ=UTC so every output is stable. A later option overrides.
# With --update the expected outputs are rewritten (review the diff before committing).
import os
import shlex
import subprocess
import sys

DEFAULTS = ["--test", "-f", "policy.yaml", "--uniqueid", "UID", "--time", "2026-11-23 10:00"]


def parse(path):
    head, sep, body = open(path, encoding="utf-8").read().partition("---\n")
    if not sep:
        raise SystemExit(f"{path}: no '---' line")
    args, status = None, None
    for line in head.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, val = line.partition(":")
        if key == "args":
            args = shlex.split(val)
        elif key == "status":
            status = int(val)
        else:
            raise SystemExit(f"{path}: unknown header '{key}'")
    if args is None or status is None:
        raise SystemExit(f"{path}: needs args: and status:")
    return head, args, status, body


def main():
    update = "--update" in sys.argv
    argv = [a for a in sys.argv[1:] if a != "--update"]
    policyd = argv[0] if argv else os.environ.get("POLICYD")
    here = os.path.dirname(os.path.abspath(__file__))
    cases = sorted(f for f in os.listdir(os.path.join(here, "cases")) if f.endswith(".test"))
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    failed = 0
    print(f"1..{len(cases)}")
    for i, name in enumerate(cases, 1):
        path = os.path.join(here, "cases", name)
        head, args, status, want = parse(path)
        p = subprocess.run([policyd] + DEFAULTS + args, cwd=here, env=env,
                           capture_output=True, text=True, timeout=30)
        got = p.stdout + p.stderr
        if update:
            with open(path, "w", encoding="utf-8") as f:
                f.write(head.replace(f"status: {status}", f"status: {p.returncode}") + "---\n" + got)
            print(f"ok {i} {name} # updated")
            continue
        if got == want and p.returncode == status:
            print(f"ok {i} {name}")
        else:
            failed += 1
            print(f"not ok {i} {name}")
            print(f"# status: want {status}, got {p.returncode}")
            for line in (want.splitlines()):
                print(f"# want: {line}")
            for line in (got.splitlines()):
                print(f"# got:  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
