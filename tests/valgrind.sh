#!/usr/bin/env bash
# tests/valgrind.sh: the unit tests, and immortal run as plain CGI for a
# handful of requests, under valgrind (memory errors and definite leaks fail).
# `make check-valgrind` runs it after building the unit tests.
#
# usage: tests/valgrind.sh BUILD_DIR
# Ends with one line: "valgrind: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)"; exit 77; }
vg=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect)
tmp=$(mktemp -d /tmp/immortal-valgrind.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# check NAME [-s STATUS] CMD...: runs CMD under valgrind (exit 99 is a
# finding); with -s, its output must start with that CGI Status.
check() {
	local name=$1 status= rc; shift
	[ "$1" = -s ] && { status=$2; shift 2; }
	"${vg[@]}" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
	if [ $rc -eq 99 ] || grep -q '^==[0-9]*==' "$tmp/err"; then
		failed=$((failed + 1)); echo "FAIL $name"; head -40 "$tmp/err"
	elif [ -n "$status" ] && ! head -1 "$tmp/out" | grep -q "^Status: $status "; then
		failed=$((failed + 1)); echo "FAIL $name: expected Status $status, got: $(head -c 300 "$tmp/out")"
	else
		passed=$((passed + 1)); echo "ok   $name"
	fi
}

for src in "$top"/tests/unit/test_*.c; do
	t=$build/tests/unit/$(basename "$src" .c)
	[ -x "$t" ] || { failed=$((failed + 1)); echo "FAIL $(basename "$t"): not built"; continue; }
	check "$(basename "$t")" "$t"
done

# immortal as plain CGI: routes, errors and a failover over refused
# endpoints (no upstream needed), with the last-good folder in $tmp.
mkdir -p "$tmp/groups" "$tmp/state" "$tmp/log"
printf '[{"name":"a","baseurl":"http://127.0.0.1:1/v1","model":"m"},{"name":"b","baseurl":"http://127.0.0.1:1/w/v1","model":"m"}]\n' \
	>"$tmp/groups/g.json"
echo '{ broken' >"$tmp/groups/broken.json"
# cgi NAME STATUS METHOD PATH [BODY] (the "strict" argument is what Apache
# passes for a query string without "=")
cgi() {
	local name=$1 status=$2 method=$3 path=$4 body=${5:-}
	printf '%s' "$body" >"$tmp/body"
	check "cgi $name" -s "$status" env -i PATH="$PATH" GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD="$method" \
		SCRIPT_NAME=/ai PATH_INFO="$path" REQUEST_URI="/ai$path" CONTENT_LENGTH=${#body} \
		IMMORTAL_CONFIG_DIR="$tmp/groups" IMMORTAL_STATE_DIR="$tmp/state" \
		IMMORTAL_LOG_DIR="$tmp/log" IMMORTAL_MAX_BODY=1024 \
		sh -c 'exec "$@" <"$0"' "$tmp/body" "$build/fcgi/immortal" strict
}
cgi health 200 GET /v1/health
cgi models 200 GET /v1/models
cgi metrics 200 GET /v1/metrics
cgi not-found 404 GET /v1/nothing
cgi bad-json 400 POST /v1/chat/completions '{"model":'
cgi too-large 413 POST /v1/chat/completions "$(head -c 2000 /dev/zero | tr '\0' x)"
cgi failover 502 POST /v1/chat/completions '{"model":"g","messages":[{"role":"user","content":"hi"}]}'
cgi stream 502 POST /v1/chat/completions '{"model":"g","stream":true,"messages":[{"role":"user","content":"hi"}]}'

echo "valgrind: $passed passed, $failed failed"
[ $failed -eq 0 ]
