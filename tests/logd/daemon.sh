#!/bin/bash
# SPDX-License-Identifier: ISC
# logd as a daemon: -t, detaching with a pidfile, admin requests for admins only, disable/enable, SIGHUP rotation and reload, graceful stop.
. "$PB_TESTS/logd/lib.sh"
ADMIN="python3 $PB_TESTS/logd/admin.py"
write_conf tls "hostcheck: strict"

echo "-t checks the configuration"
"$LOGD" -t -f "$T/pbsh.yaml" >/dev/null || fail "-t on a good configuration"
cp "$T/pbsh.yaml" "$T/bad.yaml"
echo "  iolog_mode: 9999" >>"$T/bad.yaml"
"$LOGD" -t -f "$T/bad.yaml" 2>"$T/t.err" && fail "-t accepted iolog_mode: 9999"
[ $? -eq 2 ] || fail "-t on a bad configuration did not exit 2"
grep -q 'bad.yaml:[0-9]*:[0-9]*: .*iolog_mode' "$T/t.err" || fail "-t error does not name file:line:col and key"

echo "detaches, writes its pidfile, serves"
"$LOGD" -f "$T/pbsh.yaml" --port-file "$T/port" || fail "logd did not start in the background"
wait_for "$T/logd.pid" || fail "no pidfile"
LOGD_PID=$(cat "$T/logd.pid")
kill -0 "$LOGD_PID" || fail "pid in pidfile is not running"
PORT=$(cat "$T/port")
"$LOGD" -f "$T/pbsh.yaml" --port-file "$T/port2" 2>/dev/null && fail "a second instance started"

echo "admin requests: admins only"
$ADMIN "$PORT" "$T/pki" admin status >"$T/st.out" || fail "status as admin"
grep -q '^status ENABLED program=logd' "$T/st.out" || fail "status reply: $(cat "$T/st.out")"
$ADMIN "$PORT" "$T/pki" host1 status >"$T/st2.out" && fail "status as a non-admin host"
grep -q '^error -15' "$T/st2.out" || fail "non-admin not refused with PB_ERR_DENIED"

echo "strict host check: a claim the certificate does not cover is refused"
$MKIOLOG "$T/a" --records 30 --seed 5 --user dave
"$LOGCLIENT" -c "$T/pki/ca.crt,$T/pki/host1.crt,$T/pki/host1.key" -p "$PORT" -H host2.test "$T/a" >"$T/h.out" 2>&1 &&
	fail "host1 logged as host2.test"
grep -q 'does not match the client certificate' "$T/h.out" || fail "no host mismatch error"
"$LOGCLIENT" -c "$T/pki/ca.crt,$T/pki/host1.crt,$T/pki/host1.key" -p "$PORT" -H host1 "$T/a" >/dev/null 2>&1 ||
	fail "short host name of the certificate refused"

echo "sessions lists a connected log session"
: >"$T/slow.out"
"$LOGCLIENT" -c "$T/pki/ca.crt,$T/pki/host1.crt,$T/pki/host1.key" -p "$PORT" -H host1.test -d 60 "$T/a" >>"$T/slow.out" 2>&1 &
PIDS="$PIDS $!"
wait_for "$T/slow.out"
$ADMIN "$PORT" "$T/pki" admin sessions >"$T/se.out" || fail "sessions"
grep -q '^session host=host1.test user=dave .*state=running' "$T/se.out" || fail "sessions: $(cat "$T/se.out")"

echo "disable refuses new sessions, enable takes them again"
$ADMIN "$PORT" "$T/pki" admin disable >/dev/null || fail "disable"
$ADMIN "$PORT" "$T/pki" admin status | grep -q DISABLED || fail "status after disable"
"$LOGCLIENT" -c "$T/pki/ca.crt,$T/pki/host1.crt,$T/pki/host1.key" -p "$PORT" -H host1.test "$T/a" >"$T/d.out" 2>&1 &&
	fail "new session while disabled"
grep -q disabled "$T/d.out" || fail "no 'disabled' error"
$ADMIN "$PORT" "$T/pki" admin enable >/dev/null || fail "enable"
"$LOGCLIENT" -c "$T/pki/ca.crt,$T/pki/host1.crt,$T/pki/host1.key" -p "$PORT" -H host1.test "$T/a" >/dev/null 2>&1 ||
	fail "session after enable"
$ADMIN "$PORT" "$T/pki" admin trace log@3 | grep -q '^done' || fail "trace"

echo "SIGHUP reopens the event log (rotation) and reloads"
ev=$(ls "$T"/events/*.jsonl)
mv "$ev" "$ev.old"
kill -HUP "$LOGD_PID"
sleep 0.3
"$LOGCLIENT" -c "$T/pki/ca.crt,$T/pki/host1.crt,$T/pki/host1.key" -p "$PORT" -H host1.test "$T/a" >/dev/null 2>&1 ||
	fail "session after SIGHUP"
[ -s "$ev" ] || fail "no new event file after SIGHUP"
n_old=$(wc -l <"$ev.old")
cat "$ev.old" "$ev" | python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' || fail "event files not JSON Lines"
# A reload with a broken file keeps the running configuration.
cp "$T/pbsh.yaml" "$T/good.yaml"
echo "  commit_interval: nonsense" >>"$T/pbsh.yaml"
$ADMIN "$PORT" "$T/pki" admin reload >"$T/rl.out" && fail "reload of a broken file succeeded"
cp "$T/good.yaml" "$T/pbsh.yaml"
$ADMIN "$PORT" "$T/pki" admin reload | grep -q '^done' || fail "reload of a good file"
$ADMIN "$PORT" "$T/pki" admin status | grep -q ENABLED || fail "not serving after reloads"

echo "stop: graceful, the running session first gets its final commit"
$ADMIN "$PORT" "$T/pki" admin stop >/dev/null || fail "stop"
n=100
while running "$LOGD_PID" && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
running "$LOGD_PID" && fail "logd did not stop"
[ -e "$T/logd.pid" ] && fail "pidfile left behind"
LOGD_PID=""
[ "$n_old" -gt 0 ] || fail "old event file empty"

echo "privilege drop: as root, logd runs as logd.user after binding"
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
	echo "  user: nobody" >>"$T/pbsh.yaml"
	mkdir -p "$T/io" "$T/events"
	chown -R nobody "$T/io" "$T/events"
	chmod 755 "$T"
	rm -f "$T/port"
	"$LOGD" -f "$T/pbsh.yaml" --port-file "$T/port" || fail "logd with logd.user did not start"
	LOGD_PID=$(cat "$T/logd.pid")
	PORT=$(cat "$T/port")
	[ "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$LOGD_PID/status")" = "$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)" ] ||
		fail "logd did not drop to nobody"
	"$LOGCLIENT" -c "$T/pki/ca.crt,$T/pki/host1.crt,$T/pki/host1.key" -p "$PORT" -H host1.test "$T/a" >"$T/p.out" 2>&1 ||
		fail "no session after the privilege drop: $(cat "$T/p.out")"
	echo "forced stop: at once, even with a session running; what arrived stays restartable"
	: >"$T/f.out"
	"$LOGCLIENT" -c "$T/pki/ca.crt,$T/pki/host1.crt,$T/pki/host1.key" -p "$PORT" -H host1.test -d 200 "$T/a" >>"$T/f.out" 2>&1 &
	PIDS="$PIDS $!"
	n=50
	while ! grep -q '^log_id' "$T/f.out" && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	sleep 0.5
	$ADMIN "$PORT" "$T/pki" admin forcestop >/dev/null || fail "forced stop refused"
	n=20
	while running "$LOGD_PID" && [ $n -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	running "$LOGD_PID" && fail "logd still runs 2 s after a forced stop"
	LOGD_PID=""
	idf=$(sed -n 's/^log_id //p' "$T/f.out")
	[ -s "$T/io/$idf/timing" ] || fail "nothing of the running session was kept"
	[ -n "$(find "$T/io/$idf/timing" -perm /200)" ] || fail "an interrupted session is marked complete"
else
	echo "  (skipped: not root)"
fi
grep -q '^done' "$T/slow.out" || fail "the session running at the stop did not get its final commit point"
echo PASS
