# Kept FastCGI connections: nginx as etc/nginx/immortal.conf ships it
# (fastcgi_keep_conn on, upstream keepalive) sends request after request on
# one connection, and every one is answered.

setup_25_keepconn() {
	group kc "[$(ep one ok,id=kc)]"
	group kcstream "[$(ep held gate=kcgate,id=kcs '"stream":true')]"
}

# fcgi_conns: connections from nginx to immortal now established.
fcgi_conns() { ss -Htn state established "( dport = :$FCGI_PORT )" 2>/dev/null | wc -l; }

t_keepconn_sequential_requests_share_a_connection() {
	local i code
	for i in $(seq 1 20); do
		code=$(chat kc)
		[ "$code" = 200 ] || { fail "request $i answered $code: $(head -c 300 "$T/b")"; return 1; }
	done
	# Closing after each answer (as immortal did) leaves nothing open.
	wait_until 5 test "$(fcgi_conns)" -ge 1 || fail "no FastCGI connection is kept open after 20 requests"
}

t_keepconn_concurrent_requests_all_answered() {
	local n=600 body
	body='{"model":"kc","messages":[{"role":"user","content":"hi"}]}'
	post_many $n 16 "$body" >"$T/codes"
	expect_eq "$(grep -c '^200$' "$T/codes")" $n "requests answered 200 (others: $(grep -v '^200$' "$T/codes" | sort | uniq -c | tr '\n' ' '))" || return 1
	expect_eq "$(grep -c 'prematurely closed' "$T/nginx/error.log")" 0 "nginx 'upstream prematurely closed' errors"
}

t_keepconn_client_leaving_mid_stream_aborts_upstream() {
	expect_eq "$(chat kc)" 200 "a request that leaves a kept connection" || return 1
	wait_until 5 test "$(fcgi_conns)" -ge 1 || { fail "no kept connection"; return 1; }
	expect_disconnect_aborts kcstream gate=kcgate,id=kcs || return 1
	curl -s "$MOCK/control/release?gate=kcgate" >/dev/null
	expect_eq "$(chat kc)" 200 "the next request after the abort"
}
