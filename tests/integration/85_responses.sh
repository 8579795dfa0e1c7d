# POST .../responses: OpenAI's Responses API over every endpoint type, with
# the failover of chat (before the first content, continuation mid-stream),
# its event sequence, tools, reasoning, errors, and the official client.

setup_85_responses() {
	group rsp_text "[$(ep one ok,id=rst1)]"
	group rsp_anth "[$(ep one ok,id=rsa1 '"type":"anthropic"')]"
	group rsp_tools "[$(ep one tools,id=rstl1)]"
	group rsp_reason "[$(ep one reasoning=2,id=rsr1)]"
	group rsp_failover "[$(ep one status=503,id=rsf1 '"retries":0'), $(ep two ok,id=rsf2)]"
	group rsp_cut "[$(ep one cut=2,id=rsc1), $(ep two ok,id=rsc2)]"
	group rsp_broke "[$(ep one sse_error_after=2,id=rsb1 '"continuation":"none"')]"
	group rsp_request "[$(ep one status=400,code=context_length_exceeded,id=rsq1)]"
	group rsp_sdk "[$(ep one status=503,id=rsk1 '"retries":0'), $(ep two ok,id=rsk2)]"
	group rsp_sdk_tools "[$(ep one tools,id=rsk3)]"
}

# responses BODY [STREAM]: POSTs to .../responses; body to $T/b (or the
# stream to $T/s), headers to $T/h; prints the status.
responses() {
	local out=$T/b
	[ "${2:-}" = stream ] && out=$T/s
	curl -sN -o "$out" -D "$T/h" -w '%{http_code}' --max-time 60 \
		-H 'Content-Type: application/json' -X POST "$URL/v1/responses" --data "$1"
}

# The event types of the stream in $T/s, one line.
rs_events() { sed -n 's/^event: //p' "$T/s" | tr '\n' ' '; }

# The data of the stream's events, one JSON object a line.
rs_data() { sed -n 's/^data: //p' "$T/s"; }

# The text the stream's output_text.delta events carry.
rsp_text() { rs_data | jq -j 'select(.type == "response.output_text.delta") | .delta'; }

t_responses_answers_whole() {
	expect_eq "$(responses '{"model":"rsp_text","input":"hi","instructions":"be brief"}')" 200 status || return 1
	expect_json "$T/b" .object response || return 1
	expect_json "$T/b" .status completed || return 1
	expect_json "$T/b" '.output[0].type' message || return 1
	expect_json "$T/b" '.output[0].content[0].type' output_text || return 1
	expect_json "$T/b" '.output[0].content[0].text' 'w1 w2 w3 w4 w5' || return 1
	expect_json "$T/b" '"\(.usage.input_tokens) \(.usage.output_tokens) \(.usage.total_tokens)"' '3 5 8' || return 1
	expect_eq "$(header X-Immortal-Endpoint)" one endpoint
}

t_responses_streams_its_events() {
	expect_eq "$(responses '{"model":"rsp_text","input":"hi","stream":true}' stream)" 200 status || return 1
	expect_match "$(header Content-Type)" '^text/event-stream' content-type || return 1
	local first last
	first='response.created response.in_progress response.output_item.added response.content_part.added response.output_text.delta '
	last='response.output_text.done response.content_part.done response.output_item.done response.completed '
	expect_match "$(rs_events)" "^${first}(response.output_text.delta )*${last}\$" events || return 1
	expect_eq "$(rsp_text)" 'w1 w2 w3 w4 w5' text || return 1
	# sequence numbers 0, 1, 2 ... on every event
	expect_eq "$(rs_data | jq -r .sequence_number | tr '\n' ' ')" "$(seq -s ' ' 0 $(($(rs_data | wc -l) - 1))) " sequence || return 1
	local done
	done=$(rs_data | jq -c 'select(.type == "response.completed") | .response')
	expect_eq "$(jq -r '"\(.status) \(.output[0].content[0].text) \(.usage.total_tokens)"' <<<"$done")" \
		'completed w1 w2 w3 w4 w5 8' completed || return 1
	expect_eq "$(rs_data | jq -r 'select(.type == "response.output_text.done") | .text')" 'w1 w2 w3 w4 w5' "text done"
}

t_responses_over_anthropic() {
	expect_eq "$(responses '{"model":"rsp_anth","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}],"stream":true}' stream)" 200 status || return 1
	expect_eq "$(rsp_text)" 'w1 w2 w3 w4 w5' text || return 1
	expect_match "$(rs_events)" 'response.completed $' end
}

t_responses_tool_calls() {
	expect_eq "$(responses '{"model":"rsp_tools","input":"weather?","stream":true,"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}' stream)" 200 status || return 1
	expect_eq "$(rs_data | jq -r 'select(.type == "response.output_item.added") | .item.type')" function_call "item" || return 1
	expect_eq "$(rs_data | jq -r 'select(.type == "response.function_call_arguments.done") | .arguments')" '{"city":"Paris"}' arguments || return 1
	expect_eq "$(rs_data | jq -j 'select(.type == "response.function_call_arguments.delta") | .delta')" '{"city":"Paris"}' deltas || return 1
	expect_eq "$(rs_data | jq -r 'select(.type == "response.completed") | .response.output[0] | "\(.name) \(.call_id != null)"')" 'get_weather true' "completed output" || return 1
	# the tool's result goes back as items of the next request
	local body='{"model":"rsp_text","input":[{"role":"user","content":"weather?"},{"type":"function_call","call_id":"c1","name":"get_weather","arguments":"{}"},{"type":"function_call_output","call_id":"c1","output":"sunny"}]}'
	expect_eq "$(responses "$body")" 200 "status with tool output" || return 1
	expect_json "$T/b" '.output[0].content[0].text' 'w1 w2 w3 w4 w5'
}

t_responses_reasoning_summary() {
	expect_eq "$(responses '{"model":"rsp_reason","input":"think","stream":true,"reasoning":{"effort":"low"}}' stream)" 200 status || return 1
	expect_eq "$(rs_data | jq -r 'select(.type == "response.output_item.added") | .item.type' | tr '\n' ' ')" 'reasoning message ' items || return 1
	expect_eq "$(rs_data | jq -r 'select(.type == "response.reasoning_summary_text.done") | .text')" 'w1 w2' summary || return 1
	expect_eq "$(rsp_text)" ' w3 w4 w5' text || return 1
	expect_eq "$(responses '{"model":"rsp_reason","input":"think"}')" 200 "whole status" || return 1
	expect_json "$T/b" '[.output[] | .type] | join(" ")' 'reasoning message' || return 1
	expect_json "$T/b" '.output[0].summary[0].text' 'w1 w2'
}

t_responses_fail_over_before_first_content() {
	expect_eq "$(responses '{"model":"rsp_failover","input":"hi","stream":true}' stream)" 200 status || return 1
	expect_eq "$(rsp_text)" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sed -n 's/^event: //p' "$T/s" | grep -c '^response.created$')" 1 "one response.created" || return 1
	expect_eq "$(header X-Immortal-Endpoint)" two endpoint || return 1
	expect_match "$(grep 'group=rsp_failover' "$LOG" | grep 'outcome=' | tail -1)" 'route=responses' "log line names the route"
}

t_responses_break_is_continued() {
	expect_eq "$(responses '{"model":"rsp_cut","input":"hi","stream":true}' stream)" 200 status || return 1
	expect_eq "$(rsp_text)" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sed -n 's/^event: //p' "$T/s" | grep -c '^response.output_item.added$')" 1 "one message item" || return 1
	expect_match "$(rs_events)" 'response.completed $' end
}

t_responses_broken_stream_fails_in_band() {
	expect_eq "$(responses '{"model":"rsp_broke","input":"hi","stream":true}' stream)" 200 status || return 1
	local last
	last=$(rs_data | tail -1)
	expect_eq "$(jq -r '"\(.type) \(.response.status) \(.response.error.code)"' <<<"$last")" \
		'response.failed failed stream_interrupted' "last event" || return 1
	expect_no_match "$(rs_events)" 'response.completed' "no completion"
}

t_responses_refuses_state_and_builtin_tools() {
	expect_eq "$(responses '{"model":"rsp_text","input":"hi","previous_response_id":"resp_1"}')" 400 status || return 1
	expect_json "$T/b" .error.param previous_response_id || return 1
	expect_match "$(jq -r .error.message "$T/b")" 'whole conversation' message || return 1
	expect_eq "$(responses '{"model":"rsp_text","input":"hi","store":true}')" 400 "store status" || return 1
	expect_json "$T/b" .error.param store || return 1
	expect_eq "$(responses '{"model":"rsp_text","input":"hi","tools":[{"type":"web_search"}]}')" 400 "tool status" || return 1
	expect_match "$(jq -r .error.message "$T/b")" 'web_search' "tool message" || return 1
	expect_eq "$(responses '{"model":"rsp_text"}')" 400 "no input" || return 1
	expect_json "$T/b" .error.param input || return 1
	expect_eq "$(responses '{"model":"rsp_text","input":')" 400 "bad json" || return 1
	expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/responses")" 405 "GET" || return 1
	expect_eq "$(responses '{"model":"rsp_request","input":"hi"}')" 400 "upstream refusal" || return 1
	expect_json "$T/b" .error.code context_length_exceeded
}

t_responses_metrics_route() {
	responses '{"model":"rsp_text","input":"hi"}' >/dev/null
	expect_match "$(curl -s "$URL/v1/metrics")" 'immortal_requests_total\{[^}]*route="responses"' "route label"
}

t_responses_official_client() {
	local mods=$BUILD/node/node_modules
	command -v node >/dev/null || { echo "node missing"; return 77; }
	[ -d "$mods/openai" ] || { echo "the openai npm package is missing in $mods"; return 77; }
	NODE_PATH=$mods node "$TOP/tests/clients/sdk_responses.js" "$URL/v1" rsp_sdk rsp_sdk_tools
}
