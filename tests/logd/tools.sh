#!/bin/bash
# SPDX-License-Identifier: ISC
# pblog (filters, table/JSON/CSV, follow) and pbreplay (timing, speed, pause cap, offset, dump, list) on logs logd stored.
. "$PB_TESTS/logd/lib.sh"
PBLOG=${PBLOG:?PBLOG not set}
PBREPLAY=${PBREPLAY:?PBREPLAY not set}
write_conf plain "eventlog_rotate: 2k" # several files, so pblog must read them in order
start_logd
$MKIOLOG "$T/a" --records 40 --seed 1 --user alice --command /bin/bash || fail mkiolog
$MKIOLOG "$T/b" --records 30 --seed 2 --user bob --command /usr/bin/vim || fail mkiolog
"$LOGCLIENT" -p "$PORT" -x uid-7 "$T/a" >"$T/ca.out" 2>>"$T/client.err" || fail "logclient alice"
"$LOGCLIENT" -p "$PORT" -H bhost "$T/b" >"$T/cb.out" 2>>"$T/client.err" || fail "logclient bob"
ida=$(sed -n 's/^log_id //p' "$T/ca.out")
idb=$(sed -n 's/^log_id //p' "$T/cb.out")
EV="$T/events"

echo "pblog: filters and formats"
rows() { "$PBLOG" -d "$EV" "$@" | tail -n +2 | grep -c .; }
[ "$(rows)" -eq 6 ] || fail "expected 6 events (2 accepts, sub accept, finish, 2 exits), got $(rows)"
[ "$(rows -u alice)" -eq 4 ] || fail "-u alice"
[ "$(rows -u 'b*')" -eq 2 ] || fail "-u b*"
[ "$(rows -H bhost)" -eq 2 ] || fail "-H bhost"
[ "$(rows -c '*vim*')" -eq 2 ] || fail "-c *vim*"
[ "$(rows -r accept)" -eq 3 ] || fail "-r accept"
[ "$(rows -r finish -i uid-7)" -eq 1 ] || fail "-r finish -i uid-7"
"$PBLOG" -d "$EV" -r finish | grep -q 'exit 3' || fail "finish row does not show exit 3"
[ "$(rows -m 'shell command')" -eq 1 ] || fail "-m 'shell command'"
[ "$(rows -s "$idb")" -eq 2 ] || fail "-s session"
[ "$(rows -S @4000000000)" -eq 0 ] || fail "-S in the future"
[ "$(rows -U @1000)" -eq 0 ] || fail "-U in the past"
[ "$(rows -S -1h)" -eq 6 ] || fail "-S -1h"
"$PBLOG" -d "$EV" -o json -u alice | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    e = json.loads(line)
    assert e["submituser"] == "alice", e
    n += 1
assert n == 4, n
' || fail "-o json"
[ "$(ls "$EV" | wc -l)" -gt 1 ] || fail "the size limit did not start a second event file"
"$PBLOG" -d "$EV" -o json | python3 -c '
import json, sys
t = [(e["server_time"]["seconds"], e["server_time"]["nanoseconds"]) for e in map(json.loads, sys.stdin)]
assert len(t) == 6 and t == sorted(t), t
' || fail "events across rotated files are not in order"
"$PBLOG" -d "$EV" -o csv | python3 -c '
import csv, sys
r = list(csv.reader(sys.stdin))
assert r[0][:3] == ["TIME", "EVENT", "USER"], r[0]
assert len(r) == 7, len(r)
' || fail "-o csv"
# Aligned table: every row starts its second column at the same offset.
"$PBLOG" -d "$EV" | awk 'NR == 1 { c = index($0, "EVENT") } NR > 1 { if (substr($0, c, 1) == " " || substr($0, c - 2, 2) != "  ") exit 1 }' ||
	fail "table columns not aligned"
"$PBLOG" -d "$EV" -S garbage >/dev/null 2>&1 && fail "bad time accepted"
"$PBLOG" -d "$T/nowhere/" >/dev/null 2>&1 && fail "missing event log accepted"

echo "pblog -f follows new events"
"$PBLOG" -d "$EV" -f -o json -u carol >"$T/follow.out" &
fpid=$!
PIDS="$PIDS $fpid"
sleep 0.3
$MKIOLOG "$T/c" --records 5 --seed 3 --user carol || fail mkiolog
"$LOGCLIENT" -p "$PORT" "$T/c" >/dev/null 2>>"$T/client.err" || fail "logclient carol"
n=50
while [ "$(grep -c carol "$T/follow.out")" -lt 2 ] && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
kill $fpid
[ "$(grep -c '"submituser":"carol"' "$T/follow.out")" -eq 2 ] || fail "pblog -f did not show carol's 2 events"

echo "pbreplay: dump, timing, speed, pause cap, offset"
"$PBREPLAY" -d "$T/io" -n "$ida" >"$T/ra.out" || fail "pbreplay -n"
"$PBREPLAY" -d "$T" -n a >"$T/ra.orig" || fail "pbreplay -n of the original"
cmp -s "$T/ra.out" "$T/ra.orig" || fail "pbreplay of logd's copy differs from the original"
[ -s "$T/ra.out" ] || fail "empty replay"
sudoreplay -d "$T/io" -n -m 0 "$ida" 2>/dev/null | grep -c . >/dev/null || true
total=$(awk '{ split($2, t, "."); s += t[1] + t[2] / 1e9 } END { print s }' "$T/io/$ida/timing")
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc -l 2>/dev/null || python3 -c "print($e - $s)"; }
t1=$(secs "$PBREPLAY" -d "$T/io" "$ida")
t2=$(secs "$PBREPLAY" -d "$T/io" -s 4 "$ida")
t3=$(secs "$PBREPLAY" -d "$T/io" -m 0 "$ida")
t4=$(secs "$PBREPLAY" -d "$T/io" -o 1000 "$ida")
python3 - "$total" "$t1" "$t2" "$t3" "$t4" <<'EOP' || fail "replay timing (total, real, x4, -m 0, -o end): $total $t1 $t2 $t3 $t4"
import sys
total, t1, t2, t3, t4 = map(float, sys.argv[1:])
assert t1 >= 0.8 * total, ("real time too fast", t1, total)
assert t2 < 0.6 * t1 and t2 >= 0.8 * total / 4, ("speed 4", t2, t1)
assert t3 < 0.25 * total + 0.05, ("-m 0 waits", t3)
assert t4 < 0.25 * total + 0.05, ("offset past the end waits", t4)
EOP
"$PBREPLAY" -d "$T/io" -f ttyin -n "$ida" | cmp -s - "$T/io/$ida/ttyin" || fail "-f ttyin is not the ttyin stream"
"$PBREPLAY" -d "$T/io" -n "$ida@0.05" | cmp -s - "$T/ra.out" || fail "ID@offset dump differs"
"$PBREPLAY" -d "$T/io" -n nosuch >/dev/null 2>&1 && fail "unknown id accepted"

echo "pbreplay -l: list with filters"
[ "$("$PBREPLAY" -d "$T/io" -l | grep -c .)" -eq 3 ] || fail "-l lists $("$PBREPLAY" -d "$T/io" -l | grep -c .) sessions"
"$PBREPLAY" -d "$T/io" -l user=alice | grep -q "$ida" || fail "-l user=alice"
[ "$("$PBREPLAY" -d "$T/io" -l user=alice | grep -c .)" -eq 1 ] || fail "-l user=alice lists others"
[ "$("$PBREPLAY" -d "$T/io" -l 'command=*vim*' complete=yes | grep -c .)" -eq 1 ] || fail "-l command= complete="
[ "$("$PBREPLAY" -d "$T/io" -l host=bhost | grep -c .)" -eq 1 ] || fail "-l host="
"$PBREPLAY" -d "$T/io" -l bogus=1 >/dev/null 2>&1 && fail "unknown filter key accepted"
echo PASS
