#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# Installs what is missing, builds pbsh in a fresh build directory and runs every test suite
# (unit, shell, integration, fuzz). --sanitize does the same under ASan+UBSan.
# Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
. .ci/deps.sh

sanitize=false
case "${1:-}" in
  --sanitize) sanitize=true ;;
  "") ;;
  *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac

# shellcheck disable=SC2086
pb_install_deps $PB_BUILD_PKGS $PB_TEST_PKGS

if $sanitize; then
  dir=build-test-sanitize
  opts=(-Db_sanitize=address,undefined -Db_lundef=false)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
else
  dir=build-test
  opts=()
fi

rm -rf "$dir"
meson setup "$dir" --buildtype=debugoptimized "${opts[@]}" >/dev/null
meson compile -C "$dir"
# The timeout multiplier leaves room for the sanitizer build and a loaded machine.
rc=0
meson test -C "$dir" --print-errorlogs --num-processes 2 \
  --timeout-multiplier "$($sanitize && echo 3 || echo 1)" || rc=$?
# One closing line any reader understands, from meson's record of every test.
.ci/summary "$dir/meson-logs/testlog.json"
exit "$rc"
