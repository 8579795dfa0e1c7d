# type: anthropic endpoints: the same client-visible answers as OpenAI's,
# failover between the two API families before the first token and
# mid-stream, the request translated, errors in the taxonomy.

# ep_anth NAME OPTS [EXTRA_JSON_MEMBERS]: an anthropic endpoint on the mock.
ep_anth() { ep "$1" "$2" "\"type\":\"anthropic\"${3:+,$3}"; }

setup_35_anthropic() {
	group an_text "[$(ep_anth one ok,id=ant1)]"
	group oa_text "[$(ep one ok,id=oat1)]"
	group an_tools "[$(ep_anth one tools,id=ant2)]"
	group oa_tools "[$(ep one tools,id=oat2)]"
	group an_reason "[$(ep_anth one reasoning=2,id=ant3)]"
	group an_req "[$(ep_anth one ok,id=anreq '"max_tokens":200,"headers":{"anthropic-beta":"tools-1","X-Extra":"v ${IMMORTAL_LOG_DIR}"}')]"
	group an_to_oa "[$(ep_anth one overloaded,id=ao1 '"retries":0'), $(ep two ok,id=ao2)]"
	group oa_to_an "[$(ep one status=503,id=oa1 '"retries":0'), $(ep_anth two ok,id=oa2)]"
	group an_sse_error "[$(ep_anth one sse_error,id=ase1), $(ep two ok,id=ase2)]"
	group an_cut_to_oa "[$(ep_anth one cut=2,id=aco1), $(ep two ok,id=aco2)]"
	group oa_cut_to_an "[$(ep one cut=2,reject_prefill,id=oca1), $(ep_anth two ok,id=oca2)]"
	group an_cut_to_an "[$(ep_anth one cut=3,fail_first=1,id=acs1)]"
	group an_broke_error "[$(ep_anth one sse_error_after=2,id=abe1 '"continuation":"none"')]"
	group an_auth "[$(ep_anth one status=401,id=aau1), $(ep two ok,id=aau2)]"
	group an_request "[$(ep_anth one status=400,code=context_length_exceeded,id=arq1)]"
	group an_pings "[$(ep_anth one comments=20,delay=200,id=apg1 '"timeout":1,"retries":0'), $(ep two ok,id=apg2)]"
}

# The visible part of a non-streamed answer: content, finish, usage.
answer_summary() {
	jq -r '[.object, .choices[0].message.content, .choices[0].finish_reason,
		.usage.prompt_tokens, .usage.completion_tokens, .usage.total_tokens] | @tsv' "$1"
}

# The visible part of a streamed answer: text, finish, usage, [DONE]s.
stream_summary() {
	local data
	data=$(sed -n 's/^data: //p' "$1" | grep -v '^\[DONE\]$')
	printf '%s|%s|%s|%s\n' "$(sse_text "$1")" \
		"$(jq -r '.choices[0]?.finish_reason // empty' <<<"$data")" \
		"$(jq -r 'select(.usage != null) | "\(.usage.prompt_tokens) \(.usage.completion_tokens) \(.usage.total_tokens)"' <<<"$data")" \
		"$(sse_done_count "$1")"
}

# The tool calls of a stream, aggregated: "index id name arguments".
stream_tools() {
	sed -n 's/^data: //p' "$1" | grep -v '^\[DONE\]$' |
		jq -rs '[.[] | .choices[0]?.delta.tool_calls[]?] | group_by(.index)[] |
			"\(.[0].index) \(.[0].function.name) \(map(.function.arguments) | join(""))"'
}

t_anthropic_answers_as_openai_does() {
	expect_eq "$(chat oa_text false)" 200 status || return 1
	local want
	want=$(answer_summary "$T/b")
	expect_eq "$(chat an_text false)" 200 status || return 1
	expect_eq "$(answer_summary "$T/b")" "$want" "answer" || return 1
	expect_eq "$want" "$(printf 'chat.completion\tw1 w2 w3 w4 w5\tstop\t3\t5\t8')" "expected answer" || return 1
	expect_json "$T/b" .model model-one || return 1
	expect_json "$T/b" '.choices[0].message.role' assistant || return 1
	expect_eq "$(header X-Immortal-Endpoint)" one endpoint
}

t_anthropic_streams_as_openai_does() {
	stream_to oa_text '"stream_options":{"include_usage":true}'
	local want
	want=$(stream_summary "$T/s")
	stream_to an_text '"stream_options":{"include_usage":true}'
	expect_eq "$(stream_summary "$T/s")" "$want" "stream" || return 1
	expect_eq "$want" 'w1 w2 w3 w4 w5|stop|3 5 8|1' "expected stream" || return 1
	expect_match "$(header Content-Type)" '^text/event-stream' content-type || return 1
	# one id, one created, one role, chunk objects throughout
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '"\(.id) \(.created) \(.object)"' | sort -u | wc -l)" 1 "one id and created" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '.choices[0]?.delta.role // empty' | wc -l)" 1 "role deltas" || return 1
	# no usage chunk unless asked, as OpenAI does
	stream_to an_text
	expect_eq "$(stream_summary "$T/s")" 'w1 w2 w3 w4 w5|stop||1' "stream without usage"
}

t_anthropic_tools_as_openai_does() {
	stream_to oa_tools
	local want
	want=$(stream_tools "$T/s" | cut -d' ' -f1,2,3-)
	stream_to an_tools
	expect_eq "$(stream_tools "$T/s" | cut -d' ' -f1,3-)" "$(cut -d' ' -f1,3- <<<"$want")" "streamed tool calls" || return 1
	expect_eq "$(stream_tools "$T/s")" '0 get_weather {"city":"Paris"}' "tool call" || return 1
	expect_eq "$(stream_summary "$T/s" | cut -d'|' -f2,4)" 'tool_calls|1' "finish" || return 1
	expect_eq "$(chat an_tools false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.tool_calls[0] | "\(.id) \(.type) \(.function.name)"' 'toolu_mock_1 function get_weather' || return 1
	expect_json "$T/b" '.choices[0].message.tool_calls[0].function.arguments | fromjson | .city' Paris || return 1
	expect_json "$T/b" '.choices[0].finish_reason' tool_calls
}

t_anthropic_thinking_is_reasoning() {
	expect_eq "$(chat an_reason false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.reasoning_content' 'w1 w2' || return 1
	expect_json "$T/b" '.choices[0].message.content' ' w3 w4 w5' || return 1
	stream_to an_reason
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -j '.choices[0]?.delta.reasoning_content // empty')" 'w1 w2' reasoning || return 1
	expect_eq "$(sse_text "$T/s")" ' w3 w4 w5' text
}

t_anthropic_request_translated() {
	expect_eq "$(chat an_req false '"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"user","content":"there"}],"presence_penalty":0.5,"stop":"END"')" 200 status || return 1
	curl -s "$MOCK/control/last?key=ok,id=anreq" >"$T/last"
	expect_json "$T/last" .path "/ok,id=anreq/v1/messages" || return 1
	expect_json "$T/last" '.body | fromjson? // . | .model' model-one || return 1
	jq '.body | if type == "string" then fromjson else . end' "$T/last" >"$T/body"
	expect_json "$T/body" .system 'Be brief.' || return 1
	expect_json "$T/body" .max_tokens 200 || return 1
	expect_json "$T/body" '.messages | length' 1 || return 1
	expect_json "$T/body" '.messages[0].content | map(.text) | join(" ")' 'hi there' || return 1
	expect_json "$T/body" '.stop_sequences[0]' END || return 1
	expect_json "$T/body" 'has("presence_penalty")' false || return 1
	jq '.headers | if type == "string" then fromjson else . end | with_entries(.key |= ascii_downcase)' "$T/last" >"$T/hdr"
	expect_json "$T/hdr" '."x-api-key"' "$SECRET" || return 1
	expect_json "$T/hdr" '."anthropic-version"' 2023-06-01 || return 1
	expect_json "$T/hdr" '."anthropic-beta"' tools-1 || return 1
	expect_json "$T/hdr" '."x-extra"' "v $T/log" || return 1
	expect_json "$T/hdr" 'has("authorization")' false || return 1
	expect_match "$(grep 'endpoint=one dropped a field with no meaning in Anthropic.s API field=presence_penalty' "$LOG" | tail -1)" presence_penalty "log of the dropped field"
}

t_anthropic_fails_over_to_openai_before_first_token() {
	expect_eq "$(chat an_to_oa false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5' || return 1
	expect_eq "$(header X-Immortal-Endpoint)" two endpoint || return 1
	expect_match "$(grep 'group=an_to_oa endpoint=one' "$LOG" | tail -1)" 'kind=server status=529' "log of the overloaded attempt" || return 1
	stream_to an_sse_error
	expect_eq "$(stream_summary "$T/s" | cut -d'|' -f1,4)" 'w1 w2 w3 w4 w5|1' "stream after an error event" || return 1
	expect_eq "$(header X-Immortal-Endpoint)" two endpoint
}

t_openai_fails_over_to_anthropic_before_first_token() {
	stream_to oa_to_an
	expect_eq "$(stream_summary "$T/s" | cut -d'|' -f1,2,4)" 'w1 w2 w3 w4 w5|stop|1' stream || return 1
	expect_eq "$(header X-Immortal-Endpoint)" two endpoint
}

# The prefill an anthropic endpoint got last: "assistant TEXT".
last_anth_prefill() {
	curl -s "$MOCK/control/last?key=$1" | jq -r '.body | if type == "string" then fromjson else . end |
		.messages[-1] | "\(.role) \(.content | if type == "string" then . else map(.text) | join("") end)"'
}

t_anthropic_pings_are_not_progress() {
	stream_to an_pings
	expect_eq "$(stream_summary "$T/s" | cut -d'|' -f1,4)" 'w1 w2 w3 w4 w5|1' "stream from the next endpoint" || return 1
	# (keep-alives sent the headers before an endpoint was known)
	expect_match "$(grep 'group=an_pings endpoint=one' "$LOG" | tail -1)" 'kind=timeout .*no first token within 1s' "log of the pinging endpoint" || return 1
	expect_match "$(grep 'group=an_pings outcome=' "$LOG" | tail -1)" 'endpoint=two' "the next endpoint answered"
}

t_anthropic_break_continued_on_openai() {
	stream_to an_cut_to_oa
	expect_whole_answer || return 1
	# the broken endpoint got its one more chance first, and broke again
	expect_eq "$(last_anth_prefill cut=2,id=aco1)" 'assistant w1 w2' "prefill sent to the anthropic endpoint" || return 1
	expect_eq "$(last_prefill ok,id=aco2)" 'w1 w2 w3 w4' "prefill sent to the openai endpoint"
}

t_openai_break_continued_on_anthropic() {
	stream_to oa_cut_to_an '"stream_options":{"include_usage":true}'
	expect_whole_answer || return 1
	expect_eq "$(last_anth_prefill ok,id=oca2)" 'assistant w1 w2' "prefill turn" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r 'select(.usage != null) | .usage.completion_tokens')" 5 "usage counts every token received"
}

t_anthropic_break_continued_on_anthropic() {
	stream_to an_cut_to_an
	expect_whole_answer || return 1
	expect_match "$(grep 'group=an_cut_to_an endpoint=one .*resume=1' "$LOG" | tail -1)" 'kind=ok' "log marks the continuation"
}

t_anthropic_error_event_after_content_breaks_the_stream() {
	stream_to an_broke_error
	expect_eq "$(sse_done_count "$T/s")" 0 "[DONE] count" || return 1
	expect_eq "$(sse_text "$T/s")" 'w1 w2' "text before the break" || return 1
	local last
	last=$(sed -n 's/^data: //p' "$T/s" | tail -1)
	expect_eq "$(jq -r .error.code <<<"$last")" stream_interrupted "error code" || return 1
	expect_match "$(jq -r .error.message <<<"$last")" 'Overloaded' "error names the upstream's error"
}

t_anthropic_errors_in_the_taxonomy() {
	expect_eq "$(chat an_auth false)" 200 status || return 1
	expect_match "$(grep 'group=an_auth endpoint=one' "$LOG" | tail -1)" 'kind=auth status=401' "auth logged" || return 1
	# a prompt too long for the model: the client gets OpenAI's shape and code
	expect_eq "$(chat an_request false)" 400 status || return 1
	expect_json "$T/b" .error.code context_length_exceeded || return 1
	expect_json "$T/b" .error.type invalid_request_error || return 1
	expect_match "$(jq -r .error.message "$T/b")" '^prompt is too long' message
}

# openai_client GROUP text|tools stream|plain: what the official openai npm
# client, unchanged, makes of GROUP's answer (tests/clients/openai_chat.cjs).
openai_client() {
	node "$TOP/tests/clients/openai_chat.cjs" "$BUILD/node/node_modules" "$URL/v1" "$@" 2>&1
}

t_anthropic_through_the_openai_npm_client() {
	[ -d "$BUILD/node/node_modules/openai" ] || { echo "the openai npm client is not installed"; return 77; }
	expect_eq "$(openai_client an_text text stream)" 'w1 w2 w3 w4 w5 | stop' "streamed text" || return 1
	expect_eq "$(openai_client an_text text plain)" 'w1 w2 w3 w4 w5 | stop' "text" || return 1
	expect_eq "$(openai_client an_tools tools stream)" 'get_weather {"city":"Paris"} | tool_calls' "streamed tool call" || return 1
	expect_eq "$(openai_client an_tools tools plain)" 'get_weather {"city":"Paris"} | tool_calls' "tool call" || return 1
	# a break mid-stream, continued on the other API family, is one stream to the client
	expect_eq "$(openai_client an_cut_to_oa text stream)" 'w1 w2 w3 w4 w5 | stop' "continued stream"
}
