# POST .../completions (legacy text completions): streamed and not, over
# OpenAI-style endpoints only, with failover before the first token; a
# break after it is continued with the delivered text appended to the
# prompt, or ends with an error event when it cannot be.

setup_88_completions() {
	group cmp "[$(ep one ok,id=cmp1 '"max_tokens":7,"temperature":0.25')]"
	group cmp_refused "[$(ep_refused dead cmp), $(ep next id=cmp_refused)]"
	group cmp_500 "[$(ep flaky status=500,id=cmp500 '"retries":0'), $(ep next id=cmp500b)]"
	group cmp_429 "[$(ep limited status=429,id=cmp429), $(ep next id=cmp429b)]"
	group cmp_cut0 "[$(ep early cut=0,id=cmpcut0), $(ep next id=cmpcut0b)]"
	group cmp_cut2 "[$(ep breaks cut=2,id=cmpcut2), $(ep next id=cmpcut2b)]"
	group cmp_overlap "[$(ep breaks cut=3,reject_prefill,id=cmpov1), $(ep claude ok,id=cmpov2 '"type":"anthropic"'), $(ep next repeat=2,id=cmpov3)]"
	group cmp_noecho "[$(ep breaks cut=2,id=cmpecho), $(ep next id=cmpechob)]"
	group cmp_anth "[$(ep claude ok,id=cmpanth '"type":"anthropic"')]"
	group cmp_mixed "[$(ep claude ok,id=cmpmix1 '"type":"anthropic"'), $(ep next id=cmpmix2)]"
}

# completion_stream GROUP [EXTRA]: a streamed completions request into $T/s.
completion_stream() {
	curl -sN -o "$T/s" -D "$T/h" --max-time 60 -H 'Content-Type: application/json' \
		-X POST "$URL/v1/completions" --data "{\"model\":\"$1\",\"prompt\":\"Say\",\"stream\":true${2:+,$2}}"
}

# completion_text FILE: the text the SSE stream in FILE carries, joined.
completion_text() {
	sed -n 's/^data: //p' "$1" | grep -v '^\[DONE\]$' | jq -j '.choices[]?.text // empty' 2>/dev/null
}

t_completions_answer() {
	expect_eq "$(route_post completions '{"model":"cmp","prompt":"Say","max_tokens":100}')" 200 status || return 1
	expect_json "$T/b" '.object' text_completion || return 1
	expect_json "$T/b" '.choices[0].text' 'w1 w2 w3 w4 w5' || return 1
	expect_json "$T/b" '.usage.completion_tokens' 5 || return 1
	expect_eq "$(header X-Immortal-Endpoint)" one endpoint || return 1
	curl -s "$MOCK/control/last?key=ok,id=cmp1" >"$T/last"
	expect_json "$T/last" '.path' /ok,id=cmp1/v1/completions || return 1
	expect_json "$T/last" '.body.model' model-one || return 1
	expect_json "$T/last" '.body.prompt' Say || return 1
	expect_json "$T/last" '.body.max_tokens' 7 || return 1
	expect_json "$T/last" '.body.temperature' 0.25
}

t_completions_stream_event_by_event() {
	completion_stream cmp || return 1
	expect_eq "$(completion_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	# one event per token, then the finish event, then [DONE]
	sed -n 's/^data: //p' "$T/s" >"$T/ev"
	expect_eq "$(wc -l <"$T/ev")" 7 "events" || return 1
	expect_eq "$(sed -n 1p "$T/ev" | jq -r '.object + "|" + .choices[0].text')" 'text_completion|w1' "first event" || return 1
	expect_eq "$(sed -n 6p "$T/ev" | jq -r .choices[0].finish_reason)" stop "finish event" || return 1
	expect_eq "$(sed -n 7p "$T/ev")" '[DONE]' "last event" || return 1
	expect_eq "$(header Content-Type)" text/event-stream content-type
}

# completion_failover_case GROUP: served by endpoint next, streamed and not.
completion_failover_case() {
	expect_eq "$(route_post completions "{\"model\":\"$1\",\"prompt\":\"Say\"}")" 200 "status of $1" || return 1
	expect_json "$T/b" '.choices[0].text' 'w1 w2 w3 w4 w5' || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint || return 1
	completion_stream "$1" || return 1
	expect_eq "$(completion_text "$T/s")" 'w1 w2 w3 w4 w5' "streamed text of $1" || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count" || return 1
	expect_no_match "$(cat "$T/s")" '"error"'
}

t_completions_failover_refused() { completion_failover_case cmp_refused; }
t_completions_failover_500() { completion_failover_case cmp_500; }
t_completions_failover_429() { completion_failover_case cmp_429; }

t_completions_stream_failover_before_first_token() {
	completion_stream cmp_cut0 || return 1
	expect_eq "$(completion_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count" || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint
}

# The stream in $T/s is the whole answer, once: one id, one [DONE], no error.
expect_one_completion() {
	expect_eq "$(completion_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r .id | sort -u | wc -l)" 1 "distinct ids" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r .created | sort -u | wc -l)" 1 "distinct created" || return 1
	expect_no_match "$(cat "$T/s")" '"error"'
}

t_completions_midstream_break_continued() {
	completion_stream cmp_cut2 '"max_tokens":20,"stream_options":{"include_usage":true}' || return 1
	expect_one_completion || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r 'select(.usage != null) | .usage.completion_tokens')" 5 "usage counts every token received" || return 1
	# the broken endpoint is asked first (it breaks again after w3 w4), then
	# the next one with the prompt and all the text delivered
	curl -s "$MOCK/control/last?key=cut=2,id=cmpcut2" >"$T/last"
	expect_json "$T/last" '.body.prompt' 'Sayw1 w2' || return 1
	expect_json "$T/last" '.body.max_tokens' 18 || return 1
	curl -s "$MOCK/control/last?key=id=cmpcut2b" >"$T/last"
	expect_json "$T/last" '.body.prompt' 'Sayw1 w2 w3 w4' || return 1
	expect_json "$T/last" '.body.max_tokens' 16 || return 1
	expect_json "$T/last" '.body.stream' true || return 1
	expect_match "$(grep 'group=cmp_cut2 endpoint=next .*resume=1' "$LOG" | tail -1)" 'kind=ok' "log marks the continuation"
}

# A continuation that repeats the end of the text delivered loses the
# repeat; an endpoint refusing the longer prompt (4xx) and one that cannot
# serve the route are passed over.
t_completions_continuation_drops_overlap() {
	completion_stream cmp_overlap || return 1
	expect_one_completion || return 1
	expect_eq "$(mock_stat cut=3,reject_prefill,id=cmpov1 requests)" 2 "requests to the refusing endpoint" || return 1
	expect_eq "$(mock_stat ok,id=cmpov2 requests)" 0 "requests to the anthropic endpoint" || return 1
	curl -s "$MOCK/control/last?key=repeat=2,id=cmpov3" >"$T/last"
	expect_json "$T/last" '.body.prompt' 'Sayw1 w2 w3' || return 1
	# without max_tokens from the client none is invented
	expect_json "$T/last" '.body.max_tokens' null
}

t_completions_echo_break_ends_with_error() {
	completion_stream cmp_noecho '"echo":true' || return 1
	expect_eq "$(completion_text "$T/s")" 'w1 w2' "text before the break" || return 1
	expect_eq "$(sse_done_count "$T/s")" 0 "[DONE] count" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | tail -1 | jq -r .error.code)" stream_interrupted "last event" || return 1
	expect_eq "$(mock_stat id=cmpechob requests)" 0 "continuation requests" || return 1
	expect_match "$(grep 'group=cmp_noecho .*cannot continue the broken answer' "$LOG" | tail -1)" 'asks for echo'
}

# Every series of immortal_requests_total names its route; completions
# have their own, apart from chat's.
t_completions_counted_under_their_route() {
	expect_eq "$(route_post completions '{"model":"cmp","prompt":"Say"}')" 200 status || return 1
	curl -s "$URL/v1/metrics" >"$T/m"
	expect_match "$(cat "$T/m")" 'immortal_requests_total\{group="cmp",outcome="ok",route="completions"\} [1-9]' "completions series" || return 1
	expect_match "$(cat "$T/m")" 'immortal_requests_total\{group="cmp",outcome="ok",route="chat"\} [0-9]' "chat series" || return 1
	expect_eq "$(grep '^immortal_requests_total' "$T/m" | grep -vc ',route="[a-z]*"}')" 0 "series without a route"
}

t_completions_anthropic_only_group_400() {
	expect_eq "$(route_post completions '{"model":"cmp_anth","prompt":"x"}')" 400 status || return 1
	expect_json "$T/b" '.error.code' route_not_supported || return 1
	expect_match "$(jq -r .error.message "$T/b")" 'can serve /completions' || return 1
	expect_eq "$(mock_stat ok,id=cmpanth requests)" 0 "requests to the anthropic endpoint"
}

t_completions_skip_anthropic() {
	completion_stream cmp_mixed || return 1
	expect_eq "$(completion_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint
}

t_completions_bad_requests() {
	expect_eq "$(route_post completions '{"model":"cmp"}')" 400 "no prompt" || return 1
	expect_json "$T/b" '.error.param' prompt || return 1
	expect_eq "$(route_post completions '{"model":"cmp","prompt":"x","stream":"yes"}')" 400 "stream" || return 1
	expect_eq "$(route_post completions '[1]')" 400 "not an object" || return 1
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' -X PUT "$URL/v1/completions")" 405 "PUT" || return 1
	# chat completions still reach the chat route, not this one
	expect_eq "$(chat cmp)" 200 "chat on the same group" || return 1
	expect_json "$T/b" '.object' chat.completion
}
