#!/bin/bash
# SPDX-License-Identifier: ISC
# Faults: logd killed with -9 mid-stream and restarted (the client resumes; what was acknowledged is there once), and a full disk.
. "$PB_TESTS/logd/lib.sh"
command -v sudoreplay >/dev/null || { echo "SKIP: sudoreplay (Debian package sudo) not installed"; exit 77; }
$MKIOLOG "$T/orig" --mb 2 --seed 11 --user bob || fail "mkiolog"

# elapsed SUMFILE: the elapsed time a timing file covers, as S.NNNNNNNNN.
elapsed() {
	awk '{ split($2, t, "."); s += t[1]; n += t[2] } END { s += int(n / 1e9); printf "%d.%09d\n", s, n % 1e9 }' "$1"
}

echo "1. kill -9 of logd during a stream; logd restarts; the client resumes from its last commit point"
write_conf plain
start_logd
: >"$T/c1.out"
"$LOGCLIENT" -p "$PORT" -R -d 3 "$T/orig" >>"$T/c1.out" 2>>"$T/client.err" &
cpid=$!
PIDS="$PIDS $cpid"
n=100
while [ "$(grep -c '^commit' "$T/c1.out")" -lt 3 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
[ $n -gt 0 ] || fail "no commit points before the kill"
kill -9 "$LOGD_PID"
wait "$LOGD_PID" 2>/dev/null
LOGD_PID=""
acked=$(sed -n 's/^commit //p' "$T/c1.out" | tail -1)
id=$(sed -n 's/^log_id //p' "$T/c1.out")
# Everything acknowledged must be on disk right after the crash.
have=$(elapsed "$T/io/$id/timing")
awk -v a="$acked" -v h="$have" 'BEGIN { exit !(h + 0 >= a + 0) }' || fail "acknowledged $acked but only $have on disk"
# The same port again, so the client finds the new logd.
sed -i "s/listen: \[127.0.0.1:0\]\$/listen: [127.0.0.1:$PORT]/" "$T/pbsh.yaml"
sed -i "0,/listen: \[127.0.0.1:$PORT\]/s//listen: [127.0.0.1:0]/" "$T/pbsh.yaml" # policyd's stays 0
grep -q "127.0.0.1:$PORT" "$T/pbsh.yaml" || fail "could not pin the port"
start_logd
wait $cpid || { cat "$T/client.err"; fail "resuming client failed"; }
grep -q '^restart' "$T/c1.out" || fail "the client never restarted"
grep -q '^done' "$T/c1.out" || fail "the client did not finish"
replay_cmp "$T/orig" "$id"
[ "$(grep -c '"event":"accept"' "$T"/events/*.jsonl)" -eq 1 ] || fail "accept events duplicated"
[ "$(grep -c '"event":"exit"' "$T"/events/*.jsonl)" -eq 1 ] || fail "exit event missing or duplicated"
stop_logd

echo "2. a full disk: the client gets an error, the log still reads, logd serves others"
mkdir -p "$T/full"
if ! mount -t tmpfs -o size=1m tmpfs "$T/full" 2>/dev/null; then
	echo "SKIP: cannot mount a tmpfs (needs root) for the full-disk case"
	exit 77
fi
write_conf plain
sed -i "s|iolog_dir: .*|iolog_dir: $T/full/io|" "$T/pbsh.yaml"
rm -rf "$T/io"
start_logd
"$LOGCLIENT" -p "$PORT" -d 2 "$T/orig" >"$T/c2.out" 2>>"$T/client.err"
rc=$?
[ $rc -eq 3 ] || fail "client on a full disk exited $rc, wanted 3 (server error)"
grep -qi '^error.*no space left' "$T/c2.out" || { cat "$T/c2.out"; fail "no disk-full error sent"; }
id2=$(sed -n 's/^log_id //p' "$T/c2.out")
kill -0 "$LOGD_PID" || fail "logd died on a full disk"
PBREPLAY=${PBREPLAY:-$PB_BUILD/tools/pbreplay}
"$PBREPLAY" -d "$T/full/io" -n "$id2" >"$T/partial.out" || fail "pbreplay cannot read the partial log"
sudoreplay -d "$T/full/io" -n -m 0 "$id2" >/dev/null || fail "sudoreplay cannot read the partial log"
# Its data is a prefix of the original's.
"$PBREPLAY" -d "$T" -n orig >"$T/orig.out"
[ -s "$T/partial.out" ] || fail "nothing stored before the disk filled"
cmp -s "$T/partial.out" <(head -c "$(stat -c %s "$T/partial.out")" "$T/orig.out") || fail "partial log is not a prefix"
acked=$(sed -n 's/^commit //p' "$T/c2.out" | tail -1)
if [ -n "$acked" ]; then
	have=$(elapsed "$T/full/io/$id2/timing")
	awk -v a="$acked" -v h="$have" 'BEGIN { exit !(h + 0 >= a + 0) }' || fail "acknowledged $acked but only $have on disk"
fi
# Other clients: events still go to the event log (another disk), and once space is back, I/O logs too.
"$LOGCLIENT" -p "$PORT" -x uid-42 -n 0 "$T/orig" >/dev/null 2>&1
rm -rf "$T/full/io/$id2"
$MKIOLOG "$T/small" --mb 0.01 --seed 3 --user carol
"$LOGCLIENT" -p "$PORT" "$T/small" >"$T/c3.out" 2>>"$T/client.err" || fail "logd did not serve a new client after the disk-full error"
id3=$(sed -n 's/^log_id //p' "$T/c3.out")
"$PBREPLAY" -d "$T/full/io" -n "$id3" | cmp -s - <("$PBREPLAY" -d "$T" -n small) || fail "log after recovery differs"
stop_logd
echo "PASS"
