#!/bin/bash
# SPDX-License-Identifier: ISC
# Benchmark: the same recorded session through sudo_sendlog to logd and to sudo's sudo_logsrvd, in one run; prints MB/s and events/s.
#
# usage: bench/logd/run.sh [BUILD_DIR] [MB] [PARALLEL] [EVENTS]
#   BUILD_DIR  where logd was built (default: build)
#   MB         MB of ttyout in the recorded session (default 8)
#   PARALLEL   simultaneous transfers (sudo_sendlog -t, default 4)
#   EVENTS     accept events for the events/s figure (default 2000, sent as -A -t EVENTS/20 x 20)
#
# Both servers run plain TCP on loopback (Debian's sudo tools are built without TLS).
# logd fsyncs data, timing and event log at every commit point (commit_interval 1s, and
# at each Exit) and every new log before its id, in its sync worker threads; sudo_logsrvd flushes its files but never fsyncs. Numbers are wall-clock
# over each whole batch, best of 3 runs.
set -eu
BUILD=${1:-build}
MB=${2:-8}
PAR=${3:-4}
EVENTS=${4:-2000}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
LOGD=$(cd "$BUILD" && pwd)/logd/logd
for p in sudo_sendlog sudo_logsrvd python3; do
	command -v $p >/dev/null || { echo "bench/logd: $p not installed (Debian package sudo)" >&2; exit 77; }
done
[ -x "$LOGD" ] || { echo "bench/logd: $LOGD not built" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/logd-bench.XXXXXX")
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT INT TERM

python3 "$SRC/tests/logd/mkiolog.py" "$T/session" --mb "$MB" --seed 42 >/dev/null
bytes=$(cat "$T"/session/{ttyout,ttyin,stdin,stdout,stderr} | wc -c)
records=$(wc -l <"$T/session/timing")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# logd
cat >"$T/pbsh.yaml" <<EOC
tls: {plaintext_for_tests: true}
policyd: {listen: [127.0.0.1:0]}
logd:
  listen: [127.0.0.1:0]
  eventlog: $T/logd/events/
  iolog_dir: $T/logd/io
  commit_interval: 1s
  pidfile: $T/logd.pid
  hostcheck: record
  max_connections: 10000
  max_connections_per_peer: 10000
EOC
"$LOGD" -D -f "$T/pbsh.yaml" --port-file "$T/logd.port" 2>"$T/logd.err" &
LOGD_PID=$!
PIDS="$PIDS $!"
# sudo_logsrvd, with its own configuration in the temp folder (never /etc)
SPORT=$(free_port)
mkdir -p "$T/slr"
cat >"$T/slr/sudo_logsrvd.conf" <<EOC
[server]
listen_address = 127.0.0.1:$SPORT
pid_file = $T/slr/pid
server_log = stderr
[iolog]
iolog_dir = $T/slr/io
iolog_file = %{seq}
[eventlog]
log_type = logfile
log_format = json
[logfile]
path = $T/slr/events.log
EOC
sudo_logsrvd -n -f "$T/slr/sudo_logsrvd.conf" 2>"$T/slr.err" &
SLR_PID=$!
PIDS="$PIDS $!"
for i in $(seq 50); do [ -s "$T/logd.port" ] && break; sleep 0.1; done
sleep 0.3
LPORT=$(cat "$T/logd.port")

now() { date +%s.%N; }
# run PORT ARGS...: seconds for one sudo_sendlog batch (best of 3)
run() {
	local port=$1 best=999999 s e d
	shift
	for k in 1 2 3; do
		s=$(now)
		sudo_sendlog -h 127.0.0.1 -p "$port" "$@" >/dev/null 2>"$T/sendlog.err" || { cat "$T/sendlog.err" >&2; return 1; }
		e=$(now)
		d=$(python3 -c "print($e - $s)")
		best=$(python3 -c "print(min($best, $d))")
	done
	echo "$best"
}
per=20
conns=$((EVENTS / per))
printf 'session: %s MB in %d records, %d transfers at once; events: %d accepts (%d connections x %d runs)\n' \
	"$(python3 -c "print(round($bytes / 1e6, 2))")" "$records" "$PAR" "$EVENTS" "$conns" "$per"
# cpu PID: the server's user+system CPU seconds so far (less sensitive to a busy machine than wall time).
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
printf '%-14s %10s %12s %12s %14s\n' server 'I/O MB/s' 'records/s' 'events/s' 'CPU s per GB'
for srv in logd sudo_logsrvd; do
	port=$LPORT
	pid=$LOGD_PID
	[ $srv = sudo_logsrvd ] && port=$SPORT && pid=$SLR_PID
	c0=$(cpu "$pid")
	t_io=$(run "$port" -t "$PAR" "$T/session")
	c1=$(cpu "$pid")
	# events: -A sends only the accept; -t opens that many connections at once
	t_ev=0
	for k in $(seq $per); do
		s=$(now)
		sudo_sendlog -h 127.0.0.1 -p "$port" -A -t "$conns" "$T/session" >/dev/null 2>&1
		e=$(now)
		t_ev=$(python3 -c "print($t_ev + $e - $s)")
	done
	python3 -c "print('%-14s %10.1f %12.0f %12.0f %14.2f' % ('$srv', $bytes * $PAR / 1e6 / $t_io, $records * $PAR / $t_io, $EVENTS / $t_ev, ($c1 - $c0) / ($bytes * $PAR * 3 / 1e9)))"
done
# What each stored: the same number of complete logs.
n_logd=$(find "$T/logd/io" -name timing | wc -l)
n_slr=$(find "$T/slr/io" -name timing | wc -l)
echo "stored I/O logs: logd $n_logd, sudo_logsrvd $n_slr (logd fsyncs at every commit point, sudo_logsrvd never)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
