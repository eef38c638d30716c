#!/bin/bash
# SPDX-License-Identifier: ISC
# Runs the malformed-input battery (badinput.py) against a plain logd and certificate checks against a TLS logd.
. "$PB_TESTS/logd/lib.sh"
write_conf plain
start_logd
mkdir -p "$T/io"
ln -s / "$T/io/evil" # a restart must never follow it
# The TLS logd: its own folder and configuration.
mkdir -p "$T/tls"
"$PB_TESTS/pki.sh" "$T/pki" >/dev/null || fail "pki.sh"
cat >"$T/tls/pbsh.yaml" <<EOC
tls:
  ca: $T/pki/ca.crt
  cert: $T/pki/server.crt
  key: $T/pki/server.key
logd:
  listen: [127.0.0.1:0]
  eventlog: $T/tls/events/
  iolog_dir: $T/tls/io
  pidfile: $T/tls/logd.pid
EOC
"$LOGD" -D -f "$T/tls/pbsh.yaml" --port-file "$T/tls/port" 2>>"$T/tls/logd.err" &
PIDS="$PIDS $!"
wait_for "$T/tls/port" || fail "TLS logd did not start"
python3 "$PB_TESTS/logd/badinput.py" "$PORT" "$T/io" "$T/events" "$(cat "$T/tls/port")" "$T/pki" || fail "battery"
kill -0 "$LOGD_PID" || fail "logd died"
echo PASS
