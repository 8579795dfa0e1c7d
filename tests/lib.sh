# tests/lib.sh: the integration test stack and assertions, sourced by
# tests/integration.sh. Starts the mock upstream, immortal under spawn-fcgi
# and nginx configured from etc/nginx/immortal.conf, all on loopback ports
# of their own, and stops them again.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-$TOP/build}
T=${T:-$(mktemp -d /tmp/immortal-test.XXXXXX)}
SECRET=sk-test-SECRET-0123456789abcdef

# ---- ports and waiting ---------------------------------------------------------

# No socket in any state (listening, connected, TIME-WAIT) uses the port.
port_free() { ! ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }

# Picks N consecutive free ports from a base derived from our pid, below
# the kernel's ephemeral range (32768 up) so client sockets never take them.
pick_ports() {
	local base=$((10000 + ($$ * 7) % 20000)) i ok
	while :; do
		ok=1
		for ((i = 0; i < $1; i++)); do port_free $((base + i)) || { ok=0; break; }; done
		[ $ok = 1 ] && { echo $base; return; }
		base=$((base + $1 + 1))
	done
}

# wait_until SECONDS CMD...: polls CMD until it succeeds; fails after SECONDS.
wait_until() {
	local deadline=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- the stack -------------------------------------------------------------------

base=$(pick_ports 6)
MOCK_PORT=$base
FCGI_PORT=$((base + 1))
NGINX_PORT=$((base + 2))
FCGI2_PORT=$((base + 3))
MOCK="http://127.0.0.1:$MOCK_PORT"
URL="http://127.0.0.1:$NGINX_PORT"
CONF=$T/groups
LOG=$T/log/immortal.log
mkdir -p "$CONF" "$T/log" "$T/nginx" "$T/run" "$T/state"
# Every immortal of the tests keeps its shared state in the test's folder.
export IMMORTAL_STATE_DIR=$T/state

mock_start() {
	"$BUILD/tests/mock_upstream" --port "$MOCK_PORT" --quiet 2>"$T/run/mock.err" &
	MOCK_PID=$!
	wait_until 10 port_open "$MOCK_PORT" || { echo "mock upstream did not start"; cat "$T/run/mock.err"; return 1; }
}

# immortal_start PORT [ENV=VALUE...]: immortal under spawn-fcgi.
immortal_start() {
	local port=$1; shift
	env IMMORTAL_CONFIG_DIR="$CONF" IMMORTAL_LOG_DIR="$T/log" LOG_LEVEL=true \
	    IMMORTAL_KEEPALIVE=1 IMMORTAL_MAX_BODY=65536 IMMORTAL_THREADS=4 \
	    ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/log/asan" \
	    UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/log/ubsan" \
	    "$@" spawn-fcgi -a 127.0.0.1 -p "$port" -P "$T/run/immortal-$port.pid" \
	    -- "$BUILD/fcgi/immortal" >"$T/run/spawn-$port.out" 2>&1 ||
		{ echo "spawn-fcgi failed"; cat "$T/run/spawn-$port.out"; return 1; }
	wait_until 10 port_open "$port"
}

immortal_pid() { cat "$T/run/immortal-$1.pid"; }

# immortal_stop PORT: SIGTERM, then wait for a clean exit.
immortal_stop() {
	local pid
	pid=$(immortal_pid "$1") || return 0
	kill -TERM "$pid" 2>/dev/null
	wait_until 30 bash -c "! kill -0 $pid"
}

# The nginx config is the shipped example with the test's ports.
nginx_start() {
	cp /etc/nginx/fastcgi_params "$T/nginx/"
	{
		[ "$(id -u)" = 0 ] && echo "user root;"
		cat <<-CONF
		worker_processes 1;
		daemon on;
		pid $T/nginx/nginx.pid;
		error_log $T/nginx/error.log warn;
		events { worker_connections 4096; }
		http {
		    access_log off;
		    client_body_temp_path $T/nginx/body;
		    fastcgi_temp_path $T/nginx/fastcgi;
		    proxy_temp_path $T/nginx/proxy;
		    uwsgi_temp_path $T/nginx/uwsgi;
		    scgi_temp_path $T/nginx/scgi;
		CONF
		sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$NGINX_PORT/" \
		    -e "s/127\.0\.0\.1:9000/127.0.0.1:$FCGI_PORT/" "$TOP/etc/nginx/immortal.conf"
		echo "}"
	} >"$T/nginx/nginx.conf"
	nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" 2>"$T/nginx/start.err" ||
		{ echo "nginx failed to start"; cat "$T/nginx/start.err"; return 1; }
	wait_until 10 port_open "$NGINX_PORT"
}

nginx_stop() {
	local pid
	pid=$(cat "$T/nginx/nginx.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null
}

stack_stop() {
	nginx_stop
	immortal_stop "$FCGI_PORT"
	[ -n "${MOCK_PID:-}" ] && kill -TERM "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
	true
}

# group NAME JSON: writes a group file.
group() { printf '%s\n' "$2" >"$CONF/$1.json"; }

# ep NAME OPTS [EXTRA_JSON_MEMBERS]: an endpoint on the mock with path options.
ep() {
	printf '{"name":"%s","baseurl":"%s/%s/v1","apikey":"%s","model":"model-%s"%s}' \
		"$1" "$MOCK" "$2" "$SECRET" "$1" "${3:+,$3}"
}

# ep_refused NAME ID: an endpoint nobody listens on (ID keeps its health
# state apart from the other refused endpoints').
ep_refused() {
	printf '{"name":"%s","baseurl":"http://127.0.0.1:1/v1","apikey":"%s","model":"m-%s"}' "$1" "$SECRET" "$2"
}

# ---- clients ---------------------------------------------------------------------

# chat GROUP [STREAM] [EXTRA]: POSTs a chat request through nginx; the answer's
# headers go to $T/h, its body to $T/b; prints the HTTP status.
chat() {
	local stream=${2:-false} extra=${3:-}
	curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' --max-time 60 \
		-H 'Content-Type: application/json' -X POST "$URL/v1/chat/completions" \
		--data "{\"model\":\"$1\",\"stream\":$stream,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]${extra:+,$extra}}"
}

# route_post PATH JSON: POSTs JSON to $URL/v1/PATH (embeddings, completions, ...);
# the answer's headers go to $T/h, its body to $T/b; prints the HTTP status.
route_post() {
	curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' --max-time 60 \
		-H 'Content-Type: application/json' -X POST "$URL/v1/$1" --data "$2"
}

# post_many N PARALLEL JSON: POSTs JSON to $URL/v1/chat/completions N times,
# PARALLEL at a time, and prints each answer's HTTP status (000: no answer),
# one a line. One curl process makes them all: a process per request costs
# more than the request.
post_many() {
	local i urls=()
	for ((i = 0; i < $1; i++)); do urls+=(-o /dev/null "$URL/v1/chat/completions"); done
	curl -s --parallel --parallel-immediate --parallel-max "$2" --max-time 60 -H 'Content-Type: application/json' \
		-X POST --data "$3" -w '%{http_code}\n' "${urls[@]}"
}

# stream_open GROUP: starts a streaming request; its output is readable on
# fd $SFD, the curl's pid is $SPID.
stream_open() {
	exec {SFD}< <(exec curl -sN --max-time 120 -H 'Content-Type: application/json' \
		-X POST "$URL/v1/chat/completions" \
		--data "{\"model\":\"$1\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")
	SPID=$!
}

# stream_read_until REGEX: reads lines of the stream until one matches.
stream_read_until() {
	local line
	while IFS= read -r -t 30 -u "$SFD" line; do
		printf '%s\n' "$line" >>"$T/s"
		[[ $line =~ $1 ]] && return 0
	done
	return 1
}

# stream_to GROUP [EXTRA]: a whole streaming request; the stream goes to
# $T/s, the headers to $T/h.
stream_to() {
	curl -sN -o "$T/s" -D "$T/h" --max-time 60 -H 'Content-Type: application/json' -X POST "$URL/v1/chat/completions" \
		--data "{\"model\":\"$1\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]${2:+,$2}}"
}

# expect_unbuffered GROUP GATE KEY: the first event of GROUP's stream (an
# endpoint with mock options KEY, holding the rest at gate GATE) reaches
# the client while the upstream still holds back the rest: nothing on the
# way buffers the stream.
expect_unbuffered() {
	: >"$T/s"
	stream_open "$1"
	stream_read_until '"content":"w1"' || { kill $SPID; fail "the first chunk did not arrive while the upstream held the rest"; return 1; }
	expect_eq "$(mock_stat "$3" completed)" 0 "upstream completed" || { kill $SPID; return 1; }
	curl -s "$MOCK/control/release?gate=$2" >/dev/null
	cat <&"$SFD" >>"$T/s"
	exec {SFD}<&-
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count"
}

# expect_disconnect_aborts GROUP KEY: a client that leaves GROUP's stream
# after the first event aborts the upstream transfer (mock options KEY).
expect_disconnect_aborts() {
	: >"$T/s"
	stream_open "$1"
	stream_read_until '"content":"w1"' || { kill $SPID; fail "no first chunk"; return 1; }
	kill $SPID; exec {SFD}<&-
	wait_until 10 mock_is "$2" aborted 1 ||
		fail "the upstream transfer was not aborted after the client left"
}

# header NAME: a header of the last answer.
header() { sed -n "s/^$1: *//Ip" "$T/h" | tr -d '\r' | tail -1; }

# sse_text FILE: the content the SSE stream in FILE carries, joined.
sse_text() {
	sed -n 's/^data: //p' "$1" | grep -v '^\[DONE\]$' |
		jq -j '.choices[]?.delta.content // empty' 2>/dev/null
}

# sse_done_count FILE: how many data: [DONE] lines.
sse_done_count() { grep -c '^data: \[DONE\]$' "$1"; }

mock_stat() { curl -s "$MOCK/control/count?key=$1" | jq -r ".$2"; }

# mock_is KEY FIELD VALUE: true when the mock's counter has that value.
mock_is() { [ "$(mock_stat "$1" "$2")" = "$3" ]; }

# ---- assertions ------------------------------------------------------------------

fail() { echo "    FAIL: $*"; return 1; }

expect_eq() {
	[ "$1" = "$2" ] || fail "${3:-value}: expected [$2], got [$1]"
}

# (here-strings, not pipes: grep -q would leave a writer to die of SIGPIPE)
expect_match() {
	grep -Eq -- "$2" <<<"$1" || fail "${3:-value}: [${1:0:2000}] does not match /$2/"
}

expect_no_match() {
	! grep -Eq -- "$2" <<<"$1" || fail "${3:-value}: [${1:0:2000}] matches /$2/"
}

# expect_json FILE JQ EXPECTED
expect_json() {
	local got
	got=$(jq -r "$2" "$1" 2>/dev/null) || { fail "$1 is not JSON: $(head -c 300 "$1")"; return 1; }
	[ "$got" = "$3" ] || fail "$2: expected [$3], got [$got] in $(head -c 400 "$1")"
}

. "$TOP/tests/lib_servers.sh"   # the other front servers and deployment shapes
