#!/bin/bash
# SPDX-License-Identifier: ISC
# Generate a configure script with autoconf, run it under $PBSH and under dash
# (each as CONFIG_SHELL too) and compare config.h, Makefile and config.status.
set -u
: "${PBSH:?PBSH must name the pbsh binary}"
command -v autoconf >/dev/null || { echo "autoconf not installed: skipped"; exit 77; }
DASH=$(command -v dash) || { echo "dash not installed: skipped"; exit 77; }
case $PBSH in /*) ;; *) PBSH=$PWD/$PBSH ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/src
mkdir "$src"
cat > "$src/configure.ac" <<'AC'
AC_INIT([pbtest], [1.2.3], [bugs@example.org])
AC_CONFIG_SRCDIR([hello.c])
AC_CONFIG_HEADERS([config.h])
AC_PROG_CC
AC_CHECK_HEADERS([stdio.h unistd.h nosuch.h])
AC_CHECK_FUNCS([fork nosuchfunc])
AC_CHECK_SIZEOF([long])
AC_ARG_ENABLE([frob], [AS_HELP_STRING([--enable-frob], [frobnicate])],
  [frob=$enableval], [frob=no])
AS_IF([test "x$frob" = xyes], [AC_DEFINE([FROB], [1], [Define to frobnicate.])])
AC_SUBST([GREETING], ["hello world"])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
AC
cat > "$src/Makefile.in" <<'MK'
# Makefile for @PACKAGE_NAME@ @PACKAGE_VERSION@
CC = @CC@
CFLAGS = @CFLAGS@
CPPFLAGS = @CPPFLAGS@
DEFS = @DEFS@
LIBS = @LIBS@
EXEEXT = @EXEEXT@
OBJEXT = @OBJEXT@
prefix = @prefix@
exec_prefix = @exec_prefix@
bindir = @bindir@
GREETING = @GREETING@
all: hello@EXEEXT@
MK
printf '#include "config.h"\nint main(void) { return 0; }\n' > "$src/hello.c"
(cd "$src" && autoheader && autoconf) || { echo "autoconf failed"; exit 1; }

status=0
for who in pbsh dash; do
	cp -r "$src" "$tmp/$who"
	if [ $who = pbsh ]; then sh=$PBSH; else sh=$DASH; fi
	(cd "$tmp/$who" && env -i PATH=/usr/bin:/bin HOME="$tmp" LC_ALL=C \
		CONFIG_SHELL="$sh" "$sh" ./configure --enable-frob --prefix=/opt/pb \
		> configure.out 2>&1)
	rc=$?
	echo "configure under $who: exit $rc"
	if [ $rc -ne 0 ]; then
		echo "--- configure.out ($who), last lines:"
		tail -n 20 "$tmp/$who/configure.out"
		echo "--- config.log ($who), last lines:"
		tail -n 40 "$tmp/$who/config.log" 2>/dev/null
		status=1
	fi
done
[ $status -eq 0 ] || exit 1

# The lines that legitimately differ: config.status records the shell that
# ran configure (SHELL, CONFIG_SHELL, the #! line), and the paths of the two
# copies; both are normalised before comparing.
norm() {
	sed -e "s|$tmp/pbsh|TOP|g; s|$tmp/dash|TOP|g" \
	    -e "s|$PBSH|THESHELL|g; s|$DASH|THESHELL|g" "$1"
}
for f in config.h Makefile configure.out; do
	if ! diff -u <(norm "$tmp/dash/$f") <(norm "$tmp/pbsh/$f"); then
		echo "$f differs between dash and pbsh"
		status=1
	fi
done
# config.status: compare what it knows (its --config output and the
# substitutions it performs) rather than the file, whose text embeds the shell.
for who in pbsh dash; do
	(cd "$tmp/$who" && ./config.status --config > status.config 2>&1 &&
	 ./config.status --version | head -n 1 > status.version 2>&1)
done
for f in status.config status.version; do
	if ! diff -u <(norm "$tmp/dash/$f") <(norm "$tmp/pbsh/$f"); then
		echo "config.status output ($f) differs between dash and pbsh"
		status=1
	fi
done
# The body of config.status legitimately differs too: configure rewrites
# $LINENO into literal numbers when the shell's LINENO fails its probe, and
# records the shell's path. What must agree is its substitution (S[...]) and
# definition (D[...]) tables, i.e. everything it writes into the outputs.
if ! diff -u <(norm "$tmp/dash/config.status" | grep -E '^[SD]\["') \
	<(norm "$tmp/pbsh/config.status" | grep -E '^[SD]\["'); then
	echo "config.status substitutions differ between dash and pbsh"
	status=1
fi
[ "$(grep -cE '^[SD]\["' "$tmp/pbsh/config.status")" -gt 20 ] ||
	{ echo "config.status has no substitution table"; status=1; }
# Sanity: the results must actually say something, so a shell that skips the
# checks cannot pass by producing two empty files.
grep -q '^#define HAVE_UNISTD_H 1' "$tmp/pbsh/config.h" || { echo "config.h lacks HAVE_UNISTD_H"; status=1; }
grep -q '^#define HAVE_FORK 1' "$tmp/pbsh/config.h" || { echo "config.h lacks HAVE_FORK"; status=1; }
grep -q 'HAVE_NOSUCH_H' "$tmp/pbsh/config.h" && grep -q '^/\* #undef HAVE_NOSUCH_H \*/' "$tmp/pbsh/config.h" || { echo "config.h mishandles nosuch.h"; status=1; }
grep -q '^#define FROB 1' "$tmp/pbsh/config.h" || { echo "config.h lacks FROB"; status=1; }
grep -q '^GREETING = hello world$' "$tmp/pbsh/Makefile" || { echo "Makefile lacks GREETING"; status=1; }
[ $status -eq 0 ] && echo "pbsh and dash agree"
exit $status
