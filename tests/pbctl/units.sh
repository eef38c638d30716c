#!/bin/sh
# SPDX-License-Identifier: ISC
# The systemd units meson installs: systemd-analyze verify accepts them (run against the built daemons).
set -eu
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
fail=0
for d in policyd logd; do
	unit=$PB_BUILD/conf/pbsh-$d.service
	[ -f "$unit" ] || { echo "missing $unit"; exit 1; }
	for want in 'Type=notify' 'Restart=on-failure' 'StartLimitBurst=' 'NoNewPrivileges=yes' \
		'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID' "ExecStart=.*/$d -D\$"; do
		grep -q "^$want" "$unit" || { echo "pbsh-$d.service lacks $want"; fail=1; }
	done
	grep -q '@[a-z]*@' "$unit" && { echo "pbsh-$d.service: a @variable@ is not filled in"; fail=1; }
	# verify checks that ExecStart exists: point it at the built daemon.
	sed "s#^\(Exec[A-Za-z]*=\)[^ ]*/$d#\1$(dirname "$PB_BUILD/$d/$d")/$d#" "$unit" >"$T/pbsh-$d.service"
done
fwd=$PB_BUILD/conf/pbsh-forward.service
for want in 'Type=oneshot' 'ExecStart=.*/pbctl forward$' 'NoNewPrivileges=yes'; do
	grep -q "^$want" "$fwd" || { echo "pbsh-forward.service lacks $want"; fail=1; }
done
grep -q '^OnUnitActiveSec=' "$PB_BUILD/conf/pbsh-forward.timer" || { echo "pbsh-forward.timer has no period"; fail=1; }
grep -q '@[a-z]*@' "$fwd" && { echo "pbsh-forward.service: a @variable@ is not filled in"; fail=1; }
sed "s#^ExecStart=[^ ]*/pbctl#ExecStart=$PB_BUILD/tools/pbctl#" "$fwd" >"$T/pbsh-forward.service"
cp "$PB_BUILD/conf/pbsh-forward.timer" "$T/"
[ "$fail" = 0 ] || exit 1
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-analyze not installed: content checked only"
	exit 0
fi
out=$(cd "$T" && systemd-analyze verify --man=no pbsh-policyd.service pbsh-logd.service pbsh-forward.service pbsh-forward.timer 2>&1) || {
	echo "systemd-analyze verify failed: $out"
	exit 1
}
if [ -n "$out" ]; then
	echo "systemd-analyze verify warns: $out"
	exit 1
fi
echo "units verified"
