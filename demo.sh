#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The pbsh demo: installs what is missing, builds, makes a throwaway CA, starts policyd and
# logd on loopback with the conf/ samples, opens an interactive pbksh governed by them, and
# stops the daemons when the shell exits. Parts that are not built yet are named and skipped.
set -euo pipefail
cd "$(dirname "$0")"
src=$(pwd)
. .ci/deps.sh

say() { printf 'demo: %s\n' "$*" >&2; }

# 1. Packages and build.
# shellcheck disable=SC2086
pb_install_deps $PB_BUILD_PKGS
build=build-demo
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=debugoptimized -Dtests=false >/dev/null
fi
meson compile -C "$build" >/dev/null

find_prog() { # name: path of a built program, or empty
  local p
  for p in "$build/shell/$1" "$build/$1/$1" "$build/tools/$1" "$build/monitor/$1"; do
    if [ -x "$p" ]; then printf '%s\n' "$src/$p"; return 0; fi
  done
  return 0
}
policyd=$(find_prog policyd)
logd=$(find_prog logd)
shell=$(find_prog pbksh)
[ -n "$shell" ] || shell=$(find_prog pbsh)
missing=()
[ -n "$policyd" ] || missing+=(policyd)
[ -n "$logd" ] || missing+=(logd)
[ -n "$(find_prog pbksh)" ] || missing+=(pbksh)

# 2. A private working folder with a throwaway CA, host and admin certificates.
work=$(mktemp -d "${TMPDIR:-/tmp}/pbsh-demo.XXXXXX")
chmod 700 "$work"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$src/tests/pki.sh" "$work/pki" >/dev/null
# This machine's own certificate: a governed shell's host is the identity in its certificate,
# and the shell names the host by its host name, so the name must be in it.
host=$(hostname)
(
  cd "$work/pki"
  printf '%s\n' "basicConstraints = critical, CA:FALSE" "keyUsage = critical, digitalSignature" \
    "extendedKeyUsage = clientAuth, serverAuth" \
    "subjectAltName = DNS:$host, DNS:localhost, IP:127.0.0.1" > thishost.ext
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out thishost.key 2>/dev/null
  openssl req -new -key thishost.key -subj "/CN=$host" -out thishost.csr 2>/dev/null
  openssl x509 -req -in thishost.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -sha256 -extfile thishost.ext -out thishost.crt 2>/dev/null
  chmod 600 thishost.key
)
say "throwaway CA and certificates in $work/pki (this host: $host)"

# 3. Configuration: the conf/ samples, with this demo's certificates, ports and folders.
free_port() { # first loopback port from $1 on that nothing listens on
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  printf '%s\n' "$p"
}
pport=$(free_port 17714)
lport=$(free_port $((pport + 1)))
mkdir -p "$work/log/events" "$work/log/io" "$work/spool" "$work/run"
if [ -f "$src/conf/policy.yaml" ]; then
  # The sample's log server address becomes this demo's logd.
  sed "s/127\.0\.0\.1:30344/127.0.0.1:$lport/g" "$src/conf/policy.yaml" > "$work/policy.yaml"
else
  missing+=(conf/policy.yaml)
  policyd=
fi
cat > "$work/pbsh.yaml" <<YAML
# Written by demo.sh from conf/pbsh.yaml's defaults for a loopback demo.
policyservers: ["127.0.0.1:$pport"]
logservers: ["127.0.0.1:$lport"]
tls:
  ca: $work/pki/ca.crt
  cert: $work/pki/thishost.crt
  key: $work/pki/thishost.key
  servername: localhost
admins: [admin]
spooldir: $work/spool
policyd:
  listen: ["127.0.0.1:$pport"]
  policy: $work/policy.yaml
  audit: $work/log/decisions.jsonl
  pidfile: $work/run/policyd.pid
  log: file:$work/log/policyd.log
logd:
  listen: ["127.0.0.1:$lport"]
  eventlog: $work/log/events
  iolog_dir: $work/log/io
  pidfile: $work/run/logd.pid
  log: file:$work/log/logd.log
YAML

# 4. The daemons, in the foreground of their own processes, stopped by cleanup.
wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
start_daemon() { # name program port
  "$2" -t -f "$work/pbsh.yaml" >/dev/null || { say "$1 rejects the demo configuration"; exit 1; }
  "$2" -D -f "$work/pbsh.yaml" &
  pids+=($!)
  wait_port "$3" 10 || { say "$1 did not start; see $work/log/$1.log"; exit 1; }
  say "$1 listening on 127.0.0.1:$3"
}
[ -n "$policyd" ] && start_daemon policyd "$policyd" "$pport"
[ -n "$logd" ] && start_daemon logd "$logd" "$lport"

if [ ${#missing[@]} -gt 0 ]; then
  say "not built yet: ${missing[*]} (the demo runs the parts that exist)"
fi

# 5. The shell.
if [ -z "$shell" ]; then
  say "no shell is built yet; nothing to open"
  exit 0
fi
say "opening $(basename "$shell"); policy: conf/policy.yaml; type 'exit' to end the demo"
if [ "$(basename "$shell")" = pbksh ]; then
  # The demo's history stays in its own folder; the user's ~/.sh_history is not touched.
  export HISTFILE="$work/history"
  say "emacs editing (set -o vi for vi), TAB completes, ^Z/fg/jobs for job control"
fi
# The shell forks its session monitor (pbsh-monitor(8)); a build that is not installed names it
# by PBSH_MONITOR, which the shell honours only when it runs without privilege.
monitor=$(find_prog pbsh-monitor)
[ -n "$monitor" ] && export PBSH_MONITOR="$monitor"
rc=0
"$shell" --config "$work/pbsh.yaml" -i || rc=$?
pblog=$(find_prog pblog)
if [ -n "$pblog" ] && [ -n "$logd" ]; then
  sleep 0.3 # logd writes the session's last events after the shell's exit
  say "what logd recorded of this session (pblog -d $work/log/events):"
  "$pblog" -d "$work/log/events" || true
  pbreplay=$(find_prog pbreplay)
  if [ -n "$pbreplay" ] && [ -n "$("$pbreplay" -d "$work/log/io" -l 2>/dev/null)" ]; then
    say "I/O-logged sessions (the demo folder goes away now; pbreplay -d DIR ID replays one):"
    "$pbreplay" -d "$work/log/io" -l || true
  fi
fi
exit "$rc"
