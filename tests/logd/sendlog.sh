#!/bin/bash
# SPDX-License-Identifier: ISC
# sudo's own tools against logd: sudo_sendlog sends a made-up I/O log over mutual TLS, sudoreplay replays logd's copy byte for byte; interrupted transfers resume from a commit point.
. "$PB_TESTS/logd/lib.sh"
if ! command -v sudo_sendlog >/dev/null || ! command -v sudoreplay >/dev/null; then
	echo "SKIP: sudo_sendlog/sudoreplay (Debian package sudo) not installed"
	exit 77
fi
# Debian's sudo_sendlog has no TLS: tlsbridge.py carries its bytes over TLS with host1's certificate.
# It reports this machine's host name as submithost: "record" keeps the certificate's identity instead.
write_conf tls "hostcheck: record"
start_logd
start_bridge host1
TLSC="$T/pki/ca.crt,$T/pki/host1.crt,$T/pki/host1.key"
$MKIOLOG "$T/orig" --mb 2 --seed 7 --user alice || fail "mkiolog"

echo "1. a whole log through sudo_sendlog"
sudo_sendlog -h 127.0.0.1 -p "$BPORT" "$T/orig" >"$T/s1.out" 2>&1 || { cat "$T/s1.out"; fail "sudo_sendlog"; }
id1=$(sed -n 's/^Remote log ID: //p' "$T/s1.out")
[ -n "$id1" ] || fail "no log id reported"
case $id1 in /* | *..*) fail "log id $id1 is not a safe relative id" ;; esac
replay_cmp "$T/orig" "$id1"
[ -z "$(find "$T/io/$id1/timing" -perm /222)" ] || fail "timing of a complete log is still writable"
[ "$(stat -c %a "$T/io/$id1/ttyout")" = 600 ] || fail "ttyout mode is not 0600"
ev=$(cat "$T"/events/*.jsonl)
echo "$ev" | grep '"event":"accept"' | grep -q '"submithost":"host1.test"' || fail "accept event does not carry the certificate's host"
echo "$ev" | grep '"event":"accept"' | grep -q "\"claimedhost\":\"$(hostname)\"" || fail "claimed host not recorded"
echo "$ev" | grep '"event":"exit"' | grep -q "\"log_id\":\"$id1\"" || fail "no exit event for $id1"

echo "2. interrupted after a commit point, finished by sudo_sendlog -r -i"
"$LOGCLIENT" -c "$TLSC" -p "$PORT" -n 60 "$T/orig" >"$T/c2.out" 2>>"$T/client.err" || fail "logclient -n 60"
id2=$(sed -n 's/^log_id //p' "$T/c2.out")
cp2=$(sed -n 's/^commit //p' "$T/c2.out" | tail -1)
[ -n "$id2" ] && [ -n "$cp2" ] || fail "no log id or commit point"
[ "$(wc -l <"$T/io/$id2/timing")" -eq 60 ] || fail "partial log does not hold exactly 60 records"
sudo_sendlog -h 127.0.0.1 -p "$BPORT" -r "${cp2%.*},${cp2#*.}" -i "$id2" "$T/orig" >"$T/s2.out" 2>&1 ||
	{ cat "$T/s2.out"; fail "sudo_sendlog -r"; }
replay_cmp "$T/orig" "$id2"

echo "2b. the same with zero-delay records around the commit point"
$MKIOLOG "$T/zero" --records 60 --zero-delays --seed 5 --user alice || fail "mkiolog"
for n in 5 6 7 31; do
	"$LOGCLIENT" -c "$TLSC" -p "$PORT" -n $n "$T/zero" >"$T/cz.out" 2>>"$T/client.err" || fail "logclient -n $n"
	idz=$(sed -n 's/^log_id //p' "$T/cz.out")
	cpz=$(sed -n 's/^commit //p' "$T/cz.out" | tail -1)
	[ -n "$cpz" ] || fail "no commit point after $n records"
	sudo_sendlog -h 127.0.0.1 -p "$BPORT" -r "${cpz%.*},${cpz#*.}" -i "$idz" "$T/zero" >"$T/sz.out" 2>&1 ||
		{ cat "$T/sz.out"; fail "sudo_sendlog -r after $n records"; }
	replay_cmp "$T/zero" "$idz"
done

echo "3. a client killed mid-stream, resumed by sudo_sendlog from its last commit point"
# Where the kill lands depends on timing, and so does the client's last commit point. sudo_sendlog
# crashes resuming at a point that a suspend record follows before any data (sendlog_can_resume in
# lib.sh: its bug, on valid input; logd resumes there, step 3b). So the client is stopped once it
# has seen two commit points, and killed at the first commit point sudo_sendlog can resume from.
: >"$T/c3.out"
"$LOGCLIENT" -c "$TLSC" -p "$PORT" -d 4 "$T/orig" >>"$T/c3.out" 2>>"$T/client.err" &
cpid=$!
PIDS="$PIDS $cpid"
want=2
while :; do
	n=100
	while [ "$(grep -c '^commit' "$T/c3.out")" -lt $want ] && [ $n -gt 0 ]; do sleep 0.05; n=$((n - 1)); done
	kill -STOP $cpid
	seen=$(grep -c '^commit' "$T/c3.out")
	[ "$seen" -ge $want ] || fail "the client saw $seen commit points, waited for $want"
	cp3=$(sed -n 's/^commit //p' "$T/c3.out" | tail -1)
	sendlog_can_resume "$T/orig" "$cp3" && break
	[ $? -eq 1 ] || fail "commit point $cp3 is not the end of a record"
	echo "   (commit point $cp3 is followed by a suspend record: waiting for the next one)"
	want=$((seen + 1))
	kill -CONT $cpid
done
kill -9 $cpid
wait $cpid 2>/dev/null
id3=$(sed -n 's/^log_id //p' "$T/c3.out")
[ -n "$cp3" ] || fail "killed client saw no commit point"
[ -n "$(find "$T/io/$id3/timing" -perm /200)" ] || fail "killed transfer is marked complete"
sudo_sendlog -h 127.0.0.1 -p "$BPORT" -r "${cp3%.*},${cp3#*.}" -i "$id3" "$T/orig" >"$T/s3.out" 2>&1 ||
	{ cat "$T/s3.out"; fail "sudo_sendlog -r after kill"; }
replay_cmp "$T/orig" "$id3"

echo "3b. logd resumes at a commit point a suspend record follows (where sudo_sendlog cannot)"
# -n 8: the last point the server can announce is the end of record 7, and record 8 is TSTP.
"$LOGCLIENT" -c "$TLSC" -p "$PORT" -n 8 "$T/orig" >"$T/c3b.out" 2>>"$T/client.err" || fail "logclient -n 8"
id3b=$(sed -n 's/^log_id //p' "$T/c3b.out")
cp3b=$(sed -n 's/^commit //p' "$T/c3b.out" | tail -1)
[ -n "$cp3b" ] || fail "no commit point after 8 records"
sendlog_can_resume "$T/orig" "$cp3b"
[ $? -eq 1 ] || fail "commit point $cp3b is not followed by a suspend record: the step tests nothing"
"$LOGCLIENT" -c "$TLSC" -p "$PORT" -r "$id3b,${cp3b%.*},${cp3b#*.}" "$T/orig" >"$T/c3b2.out" 2>>"$T/client.err" ||
	fail "logclient -r at $cp3b"
replay_cmp "$T/orig" "$id3b"

echo "4. another host may not restart this host's log"
"$LOGCLIENT" -c "$TLSC" -p "$PORT" -n 10 "$T/orig" >"$T/c4.out" 2>>"$T/client.err" || fail "logclient -n 10"
id4=$(sed -n 's/^log_id //p' "$T/c4.out")
cp4=$(sed -n 's/^commit //p' "$T/c4.out" | tail -1)
before=$(md5sum <"$T/io/$id4/timing")
"$LOGCLIENT" -c "$T/pki/ca.crt,$T/pki/host2.crt,$T/pki/host2.key" -p "$PORT" -r "$id4,${cp4%.*},${cp4#*.}" "$T/orig" \
	>"$T/c4b.out" 2>&1 && fail "host2 restarted host1's log"
grep -q '^error.*unknown log id' "$T/c4b.out" || fail "host2's restart was not refused as an unknown log"
[ "$(md5sum <"$T/io/$id4/timing")" = "$before" ] || fail "a refused restart changed the log"

echo "5. a finished log cannot be restarted"
total=$(awk '{ split($2, t, "."); s += t[1]; n += t[2] } END { s += int(n / 1e9); printf "%d,%09d", s, n % 1e9 }' "$T/orig/timing")
sudo_sendlog -h 127.0.0.1 -p "$BPORT" -r "$total" -i "$id1" "$T/orig" >"$T/s5.out" 2>&1 && fail "restart of a complete log succeeded"
grep -q 'complete' "$T/s5.out" || { cat "$T/s5.out"; fail "no 'complete' in the refusal"; }
replay_cmp "$T/orig" "$id1"

echo "6. an accept-only and a reject event through sudo_sendlog"
sudo_sendlog -h 127.0.0.1 -p "$BPORT" -A "$T/orig" >/dev/null 2>&1 || fail "sudo_sendlog -A"
sudo_sendlog -h 127.0.0.1 -p "$BPORT" -R "not today" "$T/orig" >/dev/null 2>&1 || fail "sudo_sendlog -R"
sleep 0.3
grep '"event":"reject"' "$T"/events/*.jsonl | grep -q '"reason":"not today"' || fail "reject event missing"
[ "$(log_ids | wc -l)" -eq 9 ] || fail "expected 9 I/O logs, found $(log_ids | wc -l)"
echo "PASS"
