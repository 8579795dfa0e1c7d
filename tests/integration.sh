#!/usr/bin/env bash
# tests/integration.sh: runs the integration tests against the real stack.
# usage: tests/integration.sh [BUILD_DIR] [PATTERN]
# Each tests/integration/*.sh defines functions named t_*; each is run once,
# in definition order, and reported as ok or FAIL with the seconds it took;
# the seconds each file took follow, slowest first. Ends with:
#   integration: N passed, N failed, N skipped
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$TOP/build}
PATTERN=${2:-}
BUILD=$(cd "$BUILD" && pwd)
. "$TOP/tests/lib.sh"
ulimit -n 65536 2>/dev/null || true

tests=()
declare -A test_file file_secs
for f in "$TOP"/tests/integration/*.sh; do
	. "$f"
	while read -r name; do tests+=("$name"); test_file[$name]=${f##*/}; done < <(grep -o '^t_[a-z0-9_]*' "$f")
done

# elapsed_since T0: seconds (one decimal) since $EPOCHREALTIME was T0.
elapsed_since() {
	local now=${EPOCHREALTIME/[.,]/} then=${1/[.,]/}
	local ds=$(((now - then) / 100000))
	echo "$((ds / 10)).$((ds % 10))"
}

# Every group file a test needs is written before immortal starts.
t0=$EPOCHREALTIME
for f in "$TOP"/tests/integration/*.sh; do
	setup=setup_$(basename "$f" .sh)
	declare -F "$setup" >/dev/null && "$setup"
done
echo "time setup (group files)    $(elapsed_since "$t0")s"
t0=$EPOCHREALTIME

passed=0 failed=0 skipped=0
trap 'stack_stop' EXIT
if ! { mock_start && immortal_start "$FCGI_PORT" && nginx_start; }; then
	echo "integration: the stack did not start (logs in $T)"
	echo "integration: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
echo "time setup (stack start)    $(elapsed_since "$t0")s"

for t in "${tests[@]}"; do
	if [ -n "$PATTERN" ] && [[ $t != *$PATTERN* ]]; then
		continue
	fi
	t0=$EPOCHREALTIME
	out=$( (set -o pipefail; "$t") 2>&1 ); rc=$?
	secs=$(elapsed_since "$t0")
	f=${test_file[$t]}
	file_secs[$f]=$(awk -v a="${file_secs[$f]:-0}" -v b="$secs" 'BEGIN { printf "%.1f", a + b }')
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1)); echo "ok   $t [${secs}s]"
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1)); echo "skip $t [${secs}s] ${out:+($out)}"
	else
		failed=$((failed + 1)); echo "FAIL $t [${secs}s]"; printf '%s\n' "$out" | tail -15
	fi
done
for f in "${!file_secs[@]}"; do echo "${file_secs[$f]} $f"; done | sort -rn |
	awk '{ printf "time %-24s %6.1fs\n", $2, $1 }'

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
