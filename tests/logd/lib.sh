# SPDX-License-Identifier: ISC
# Shared set-up for logd's integration tests (sourced by bash): a private folder, a test PKI, a logd on port 0, cleanup.
# Needs LOGD (and PB_TESTS, PB_BUILD) from meson's integ_env.

set -u
T=$(mktemp -d "${TMPDIR:-/tmp}/logd-test.XXXXXX")
PIDS=""
LOGD_PID=""
fail() {
	echo "FAIL: $*" >&2
	[ -f "$T/logd.err" ] && { echo "--- logd stderr (tail)" >&2; tail -20 "$T/logd.err" >&2; }
	exit 1
}
cleanup() {
	for p in $PIDS $LOGD_PID; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if mountpoint -q "$T/full" 2>/dev/null; then umount "$T/full" 2>/dev/null; fi
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

: "${LOGD:?LOGD is not set (run through meson test)}"
LOGCLIENT=${LOGCLIENT:-$PB_BUILD/tests/logd/logclient}
MKIOLOG="python3 $PB_TESTS/logd/mkiolog.py"
TLSBRIDGE="$PB_TESTS/logd/tlsbridge.py"

# wait_for FILE [tenths]: wait until FILE is non-empty.
wait_for() {
	n=${2:-100}
	while [ ! -s "$1" ] && [ "$n" -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	[ -s "$1" ]
}

# write_conf MODE(tls|plain) [extra yaml lines for logd:]
write_conf() {
	mode=$1
	shift
	{
		if [ "$mode" = tls ]; then
			"$PB_TESTS/pki.sh" "$T/pki" >/dev/null || fail "pki.sh"
			printf 'tls:\n  ca: %s\n  cert: %s\n  key: %s\n' "$T/pki/ca.crt" "$T/pki/server.crt" "$T/pki/server.key"
		else
			printf 'tls:\n  plaintext_for_tests: true\n'
		fi
		printf 'admins: [admin]\npolicyd:\n  listen: [127.0.0.1:0]\n'
		printf 'logd:\n  listen: [127.0.0.1:0]\n  eventlog: %s/events/\n  iolog_dir: %s/io\n' "$T" "$T"
		printf '  iolog_path: "%%{user}/%%{seq}"\n  commit_interval: 100ms\n  pidfile: %s/logd.pid\n' "$T"
		for l in "$@"; do printf '  %s\n' "$l"; done
	} >"$T/pbsh.yaml"
}

# start_logd [extra args]: run logd in the foreground, wait for its port in $PORT.
start_logd() {
	rm -f "$T/port"
	"$LOGD" -D -f "$T/pbsh.yaml" --port-file "$T/port" -d log@6 "$@" 2>>"$T/logd.err" &
	LOGD_PID=$!
	wait_for "$T/port" || fail "logd did not start"
	PORT=$(cat "$T/port")
}

stop_logd() {
	[ -n "$LOGD_PID" ] || return 0
	kill -TERM "$LOGD_PID" 2>/dev/null
	wait "$LOGD_PID" 2>/dev/null
	LOGD_PID=""
}

# start_bridge CERTNAME: a plain port ($BPORT) that reaches logd over TLS as that host.
start_bridge() {
	rm -f "$T/bport"
	python3 "$TLSBRIDGE" "$T/bport" "$PORT" "$T/pki/ca.crt" "$T/pki/$1.crt" "$T/pki/$1.key" \
		2>>"$T/bridge.err" &
	PIDS="$PIDS $!"
	wait_for "$T/bport" || fail "tlsbridge did not start"
	BPORT=$(cat "$T/bport")
}

# replay_cmp ORIGDIR ID: sudoreplay of the original and of logd's copy must be byte-identical.
replay_cmp() {
	sudoreplay -d "$(dirname "$1")" -n -m 0 "$(basename "$1")" >"$T/replay.orig" || fail "sudoreplay of the original"
	sudoreplay -d "$T/io" -n -m 0 "$2" >"$T/replay.copy" || fail "sudoreplay of logd's copy $2"
	[ -s "$T/replay.orig" ] || fail "empty replay"
	cmp -s "$T/replay.orig" "$T/replay.copy" || fail "sudoreplay output differs for $2"
	cmp -s "$1/timing" "$T/io/$2/timing" || fail "timing differs for $2"
	for s in stdin stdout stderr ttyin ttyout; do
		cmp -s "$1/$s" "$T/io/$2/$s" || fail "$s differs for $2"
	done
}

# only_log_id: the single I/O log id under io/ (fails if there is not exactly one, or given user).
log_ids() {
	(cd "$T/io" && find . -name timing | sed 's|^\./||; s|/timing$||' | sort)
}

# sendlog_can_resume DIR POINT: can sudo_sendlog (1.9.13) resume DIR's transfer at commit point
# POINT (S.NNNNNNNNN)? Its fmt_suspend() writes the signal name into the read buffer that only a
# data record with bytes allocates, so a suspend record sent before any such record is a write
# through NULL: SIGSEGV. A fresh transfer of a log that starts with a suspend record crashes the
# same way, so this is sudo_sendlog's bug on valid input, not a bad commit point. Status 0: it
# can; 1: a suspend record comes first after POINT; 2: POINT is not the end of a record of DIR.
sendlog_can_resume() {
	awk -v p="$2" '
		BEGIN { split(p, a, "."); want = a[1] * 1e9 + a[2]; found = (want == 0); rc = 2 }
		found { if ($1 == 7) { rc = 1; exit } if ($1 != 5 && $3 > 0) { rc = 0; exit } next }
		{ split($2, d, "."); cum += d[1] * 1e9 + d[2]; if (cum == want) found = 1; else if (cum > want) exit }
		END { if (found && rc == 2) rc = 0; exit rc }' "$1/timing"
}

# running PID: is PID a live process? A detached logd that exited is a zombie until the
# container's init reaps it (seconds, here), and kill -0 still succeeds on a zombie.
running() {
	[ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]
}
