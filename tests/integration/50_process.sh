# How immortal runs: plain CGI, its own socket, signals, logging.

cgi() {
	env -i PATH="$PATH" IMMORTAL_CONFIG_DIR="$CONF" LOG_LEVEL=false "$@" "$BUILD/fcgi/immortal"
}

t_cgi_mode_answers_one_request() {
	local body='{"model":"ok","messages":[{"role":"user","content":"hi"}]}'
	printf '%s' "$body" | cgi REQUEST_METHOD=POST REQUEST_URI=/v1/chat/completions \
		CONTENT_LENGTH=${#body} >"$T/cgi" 2>"$T/cgi.err" || { fail "exit status $?"; return 1; }
	expect_match "$(head -1 "$T/cgi")" '^Status: 200' status || return 1
	sed '1,/^\r$/d' "$T/cgi" >"$T/b"
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5'
}

t_routes_on_path_tail_under_any_prefix() {
	cgi REQUEST_METHOD=GET REQUEST_URI='/ai/deep/v1/health?x=1' >"$T/cgi" </dev/null || return 1
	expect_match "$(head -1 "$T/cgi")" '^Status: 200' "status via REQUEST_URI" || return 1
	cgi REQUEST_METHOD=GET SCRIPT_NAME=/ai/immortal.fcgi PATH_INFO=/v1/models >"$T/cgi" </dev/null || return 1
	expect_match "$(head -1 "$T/cgi")" '^Status: 200' "status via SCRIPT_NAME+PATH_INFO"
}

t_listen_on_unix_socket() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	local sock=$T/run/immortal.sock pid
	IMMORTAL_CONFIG_DIR="$CONF" IMMORTAL_LOG_DIR="$T/log" "$BUILD/fcgi/immortal" --listen "$sock" &
	pid=$!
	wait_until 10 test -S "$sock" || { kill $pid; fail "no socket"; return 1; }
	env -i REQUEST_METHOD=GET REQUEST_URI=/v1/health cgi-fcgi -bind -connect "$sock" >"$T/out" 2>&1
	kill -TERM $pid
	wait_until 10 bash -c "! kill -0 $pid" || { kill -9 $pid; fail "did not stop on SIGTERM"; return 1; }
	wait $pid
	expect_eq "$?" 0 "exit status" || return 1
	expect_match "$(cat "$T/out")" '"status":"ok"' answer
}

t_listen_on_tcp_port() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	local pid
	IMMORTAL_CONFIG_DIR="$CONF" IMMORTAL_LOG_DIR="$T/log" "$BUILD/fcgi/immortal" --listen "127.0.0.1:$FCGI2_PORT" &
	pid=$!
	wait_until 10 port_open "$FCGI2_PORT" || { kill $pid; fail "not listening"; return 1; }
	env -i REQUEST_METHOD=GET REQUEST_URI=/v1/models cgi-fcgi -bind -connect "127.0.0.1:$FCGI2_PORT" >"$T/out" 2>&1
	kill -TERM $pid; wait $pid
	expect_match "$(cat "$T/out")" '"object":"list"' answer
}

t_bad_environment_is_refused_at_start() {
	cgi IMMORTAL_THREADS=lots REQUEST_METHOD=GET REQUEST_URI=/v1/health >"$T/out" 2>&1 </dev/null
	expect_eq "$?" 2 "exit status" || return 1
	expect_match "$(cat "$T/out")" 'IMMORTAL_THREADS=lots' message
}

t_log_lines_are_whole() {
	# Every line of the shared log starts with a timestamp: none interleaved.
	expect_eq "$(grep -vcE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (info|error) pid=[0-9]+ ' "$LOG")" 0 "malformed log lines"
}
