#!/usr/bin/env bash
# tests/build.sh: configures (when needed) and builds immortal and its tests
# out of tree, for tests/run.
#
# usage: tests/build.sh [--configure-only] BUILD_DIR [CONFIGURE_ARGS...]
#
# A build folder configured before the test libraries (cmocka,
# libmicrohttpd) were installed, e.g. by etc/quickstart.sh, would build no
# unit test and no mock upstream, and the suite would quietly test less:
# such a folder is configured again. When configure still cannot find
# them, this fails, naming what is missing.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
configure_only=no
[ "${1:-}" = --configure-only ] && { configure_only=yes; shift; }
mkdir -p "$1"
build=$(cd "$1" && pwd); shift

# build_lacks: what the tests need that config.h says was not found.
build_lacks() {
	local lacks= what
	for what in HAVE_CMOCKA HAVE_MHD; do
		grep -q "^#define $what 1" "$build/config.h" 2>/dev/null || lacks="$lacks $what"
	done
	echo "${lacks# }"
}

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null 2>&1
fi
cd "$build"
if [ ! -f Makefile ]; then
	"$top/configure" -q "$@" >/dev/null
elif [ -n "$(build_lacks)" ]; then
	echo "tests/build.sh: $build was configured without $(build_lacks): configuring again" >&2
	"$top/configure" -q "$@" >/dev/null
fi
lacks=$(build_lacks)
if [ -n "$lacks" ]; then
	echo "tests/build.sh: configure found no $lacks (install libcmocka-dev and libmicrohttpd-dev)" >&2
	exit 1
fi
[ "$configure_only" = yes ] && exit 0
make -j2 >/dev/null
make -j2 check TESTS= >/dev/null   # builds the unit tests without running them
