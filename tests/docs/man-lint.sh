#!/bin/sh
# SPDX-License-Identifier: ISC
# Every manual page in man/ must format with groff without a single warning.
set -u
dir=${1:?usage: man-lint.sh MANDIR}
n=0 bad=0
for page in "$dir"/*.[1-9]; do
  [ -f "$page" ] || continue
  n=$((n + 1))
  out=$(groff -t -man -ww -z "$page" 2>&1)
  if [ -n "$out" ]; then
    printf 'FAIL %s\n%s\n' "$page" "$out"
    bad=$((bad + 1))
  else
    printf 'ok   %s\n' "$page"
  fi
done
if [ "$n" -eq 0 ]; then
  echo "no manual pages found in $dir"
  exit 77
fi
echo "$((n - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]
