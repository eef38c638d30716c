#!/bin/sh
f() {
	for i in 1 2 3; do
		case $i in
		1|2) echo small;;
		(3) echo three;&
		*) echo fallthrough
		esac
	done
	while read -r line; do :; done </etc/passwd
	until false; do break; done
	if [ -n "$1" ]; then echo one; elif test -z "$2"; then echo two; else echo three; fi
	{ echo group; } 2>&1 | cat
	( cd /tmp && pwd ) >/dev/null
}
function kf { typeset x=1; return $x; }
g() ( echo sub )
