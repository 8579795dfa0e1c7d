# The build itself: a build folder configured before the test libraries
# were installed (the README's quick start, then tests/run) is configured
# again by tests/build.sh instead of quietly building no unit test.

t_build_reconfigures_without_test_libraries() {
	local d=$T/reconf real out
	srv_need "$TOP/configure" || return
	real=$(command -v pkg-config) || { echo "pkg-config missing"; return 77; }
	mkdir -p "$d/bin"
	# A pkg-config that cannot see cmocka, as before libcmocka-dev is installed.
	printf '#!/bin/sh\nfor a; do case $a in *cmocka*) exit 1 ;; esac; done\nexec %s "$@"\n' \
		"$real" >"$d/bin/pkg-config"
	chmod +x "$d/bin/pkg-config"
	(cd "$d" && "$TOP/configure" -q PKG_CONFIG="$d/bin/pkg-config" >/dev/null 2>&1) ||
		{ fail "configure failed: $(tail -5 "$d/config.log")"; return 1; }
	expect_no_match "$(grep HAVE_CMOCKA "$d/config.h")" '^#define HAVE_CMOCKA 1' \
		"config.h configured without cmocka" || return 1
	out=$("$TOP/tests/build.sh" --configure-only "$d" 2>&1) ||
		{ fail "tests/build.sh failed: $out"; return 1; }
	expect_match "$out" "configured without HAVE_CMOCKA: configuring again" "tests/build.sh" || return 1
	expect_match "$(grep HAVE_CMOCKA "$d/config.h")" '^#define HAVE_CMOCKA 1' "config.h afterwards"
}
