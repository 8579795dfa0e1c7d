#!/usr/bin/env bash
# tests/integration.sh: runs the integration tests against the real stack.
# usage: tests/integration.sh [BUILD_DIR] [PATTERN]
# Each tests/integration/*.sh defines functions named t_*; each is run once,
# in definition order, and reported as ok or FAIL. Ends with:
#   integration: N passed, N failed, N skipped
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$TOP/build}
PATTERN=${2:-}
BUILD=$(cd "$BUILD" && pwd)
. "$TOP/tests/lib.sh"
ulimit -n 65536 2>/dev/null || true

tests=()
for f in "$TOP"/tests/integration/*.sh; do
	. "$f"
	while read -r name; do tests+=("$name"); done < <(grep -o '^t_[a-z0-9_]*' "$f")
done
# Every group file a test needs is written before immortal starts.
for f in "$TOP"/tests/integration/*.sh; do
	setup=setup_$(basename "$f" .sh)
	declare -F "$setup" >/dev/null && "$setup"
done

passed=0 failed=0 skipped=0
trap 'stack_stop' EXIT
if ! { mock_start && immortal_start "$FCGI_PORT" && nginx_start; }; then
	echo "integration: the stack did not start (logs in $T)"
	echo "integration: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

for t in "${tests[@]}"; do
	if [ -n "$PATTERN" ] && [[ $t != *$PATTERN* ]]; then
		continue
	fi
	out=$( (set -o pipefail; "$t") 2>&1 ); rc=$?
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1)); echo "ok   $t"
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1)); echo "skip $t ${out:+($out)}"
	else
		failed=$((failed + 1)); echo "FAIL $t"; printf '%s\n' "$out" | tail -15
	fi
done

# The process must stop cleanly on SIGTERM, and under sanitizers leave no report.
nginx_stop
if [ -z "$PATTERN" ]; then
	if immortal_stop "$FCGI_PORT"; then
		passed=$((passed + 1)); echo "ok   sigterm_stops_cleanly"
	else
		failed=$((failed + 1)); echo "FAIL immortal did not exit on SIGTERM"
	fi
fi
stack_stop
trap - EXIT
if [ -n "$(ls "$T"/log/asan* "$T"/log/ubsan* 2>/dev/null)" ]; then
	failed=$((failed + 1)); echo "FAIL sanitizer reports:"; head -60 "$T"/log/asan* "$T"/log/ubsan* 2>/dev/null
elif [ -z "$PATTERN" ]; then
	passed=$((passed + 1)); echo "ok   no_sanitizer_reports"
fi
if grep -q -- "$SECRET" "$T"/log/* 2>/dev/null; then
	failed=$((failed + 1)); echo "FAIL the API key appears in the log"
elif [ -z "$PATTERN" ]; then
	passed=$((passed + 1)); echo "ok   api_key_never_logged"
fi
[ $failed -eq 0 ] && rm -rf "$T" || echo "logs kept in $T"
echo "integration: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
