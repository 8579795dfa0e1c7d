# Streaming: relayed as it comes, one [DONE], breaks reported, clients
# that leave abort the upstream.

setup_20_stream() {
	group stream "[$(ep one ok,id=stream)]"
	group gated "[$(ep one gate=g1,id=gated)]"
	group stall "[$(ep one stall=1,id=stall)]"
	group hangforever "[$(ep one hang,id=hangf '"timeout":120')]"
	group many "[$(ep one chunks=10,delay=50,id=many)]"
	group cut "{\"resume\": false, \"endpoints\": [$(ep one cut=2,id=cut), $(ep next id=cut2)]}"
	group nodone "[$(ep one nodone,id=nodone)]"
	group badevent "[$(ep one badevent,id=badevent)]"
	group comments "[$(ep router comments=3,delay=10,id=comments '"type":"openrouter"')]"
	group failstream "[$(ep_refused dead failstream), $(ep flaky status=500,id=fs '"retries":0'), $(ep next id=fs2)]"
	group slowfail "[$(ep slow hang,id=slowf '"timeout":3'), $(ep next id=slowf2)]"
	group slowdead "[$(ep slow hang,id=slowd '"timeout":2,"retries":0')]"
}

t_stream_relayed_with_one_done() {
	stream_to stream || return 1
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count" || return 1
	expect_match "$(header Content-Type)" '^text/event-stream' content-type || return 1
	expect_eq "$(header X-Immortal-Endpoint)" one endpoint || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | head -1 | jq -r '.choices[0].delta.role')" assistant "role chunk first"
}

t_stream_not_buffered() {
	expect_unbuffered gated g1 gate=g1,id=gated
}

t_client_disconnect_aborts_upstream_stream() {
	expect_disconnect_aborts stall stall=1,id=stall
}

t_client_disconnect_before_first_token_aborts_upstream() {
	: >"$T/s"
	stream_open hangforever
	wait_until 10 mock_is hang,id=hangf active 1 || { kill $SPID; fail "request never reached the upstream"; return 1; }
	kill $SPID; exec {SFD}<&-
	wait_until 10 mock_is hang,id=hangf aborted 1 ||
		fail "the upstream transfer was not aborted while waiting for the first token"
}

t_many_concurrent_streams() {
	local n=50 i bad=0 outs=()
	mkdir -p "$T/many"
	for ((i = 0; i < n; i++)); do outs+=(-o "$T/many/$i" "$URL/v1/chat/completions"); done
	# one curl process keeps all n streams open at once
	curl -sN --parallel --parallel-immediate --parallel-max $n --max-time 60 -H 'Content-Type: application/json' -X POST \
		--data '{"model":"many","stream":true,"messages":[{"role":"user","content":"hi"}]}' "${outs[@]}"
	for ((i = 0; i < n; i++)); do
		[ "$(sse_text "$T/many/$i")" = 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10' ] &&
			[ "$(sse_done_count "$T/many/$i")" = 1 ] || bad=$((bad + 1))
	done
	expect_eq "$bad" 0 "incomplete or wrong streams out of $n"
}

t_stream_cut_after_content_ends_with_error_and_no_done() {
	stream_to cut
	expect_eq "$(sse_text "$T/s")" 'w1 w2' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 0 "[DONE] count" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | tail -1 | jq -r .error.code)" stream_interrupted "last event"
}

t_stream_without_done_gets_one() {
	stream_to nodone
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count"
}

t_stream_drops_events_that_are_not_json() {
	stream_to badevent
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_no_match "$(cat "$T/s")" 'not json' "stream" || return 1
	expect_match "$(grep 'dropped an upstream event' "$LOG" | tail -1)" 'endpoint=one' log
}

t_openrouter_keepalive_comments_are_not_content() {
	stream_to comments
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count"
}

t_stream_failover_is_invisible() {
	stream_to failstream
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(grep -c '^data: ' "$T/s")" 8 "events (role, 5 tokens, finish, [DONE])" || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint || return 1
	expect_eq "$(header X-Immortal-Attempts)" 3 attempts
}

t_slow_first_token_keeps_alive_then_fails_over() {
	stream_to slowfail
	expect_match "$(cat "$T/s")" '^: keep-alive' "keep-alive comment" || return 1
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count" || return 1
	expect_match "$(grep 'endpoint=next .*kind=ok' "$LOG" | tail -1)" 'group=slowfail' "log names the answering endpoint"
}

t_slow_first_token_total_failure_is_sse_error() {
	stream_to slowdead
	expect_match "$(head -1 "$T/h")" ' 200' status || return 1
	expect_eq "$(sse_done_count "$T/s")" 0 "[DONE] count" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | tail -1 | jq -r .error.code)" all_endpoints_failed "error event"
}
