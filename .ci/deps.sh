# SPDX-License-Identifier: ISC
# Sourced by test.sh and demo.sh: the Debian packages pbsh needs, and one way to install them.
# Build: compiler, meson, the libraries through pkg-config, protoc-c.
# Tests: criterion; dash and mksh (differential shell tests); sudo (sudo_sendlog,
# sudo_logsrvd, sudoreplay as real log-protocol peers); autoconf (a real configure
# script); tmux and util-linux's script (pseudo-terminals); python3 (test runners);
# openssl (test certificates); clang (fuzz builds); valgrind (leak checks).
PB_BUILD_PKGS="gcc libc6-dev pkg-config meson ninja-build libssl-dev libedit-dev libyaml-dev
libprotobuf-c-dev protobuf-c-compiler openssl"
PB_TEST_PKGS="libcriterion-dev groff-base python3 dash mksh sudo autoconf make tmux util-linux procps
iproute2 valgrind systemd"

# pb_install_deps LIST...: install the packages that are missing. As root it runs apt-get;
# otherwise it prints the one command to run and fails.
pb_install_deps() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing Debian packages. Run as root:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    return 1
  fi
  echo "Installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
