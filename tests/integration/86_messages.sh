# POST .../messages: Anthropic's Messages API as the client's face, over
# every endpoint type: its event stream, tools, thinking, pings, failover
# before the first content and continuation mid-stream, errors in
# Anthropic's shape, x-api-key, and the official client.

setup_86_messages() {
	group ms_text "[$(ep one ok,id=mst1)]"
	group ms_anth "[$(ep one ok,id=msa1 '"type":"anthropic"')]"
	group ms_tools "[$(ep one tools,id=mstl1)]"
	group ms_reason "[$(ep one reasoning=2,id=msr1)]"
	group ms_slow "[$(ep one first_delay=2500,id=mss1)]"
	group ms_failover "[$(ep one status=503,id=msf1 '"retries":0'), $(ep two ok,id=msf2)]"
	group ms_cut "[$(ep one cut=2,id=msc1), $(ep two ok,id=msc2)]"
	group ms_broke "[$(ep one sse_error_after=2,id=msb1 '"continuation":"none"')]"
	group ms_down "[$(ep_refused down ms1)]"
	group ms_sdk "[$(ep one status=503,id=msk1 '"retries":0'), $(ep two ok,id=msk2)]"
	group ms_sdk_tools "[$(ep one tools,id=msk3)]"
}

# messages BODY [stream] [CURL_ARGS...]: POSTs to .../messages; the body to
# $T/b (the stream to $T/s), headers to $T/h; prints the status.
messages() {
	local out=$T/b body=$1
	[ "${2:-}" = stream ] && out=$T/s
	shift; shift 2>/dev/null
	curl -sN -o "$out" -D "$T/h" -w '%{http_code}' --max-time 60 "$@" \
		-H 'Content-Type: application/json' -H 'anthropic-version: 2023-06-01' \
		-X POST "$URL/v1/messages" --data "$body"
}

ms_body() {
	printf '{"model":"%s","max_tokens":100,"messages":[{"role":"user","content":"hi"}]%s}' "$1" "${2:+,$2}"
}

ms_events() { sed -n 's/^event: //p' "$T/s" | grep -v '^ping$' | tr '\n' ' '; }
ms_data() { sed -n 's/^data: //p' "$T/s"; }
ms_text() { ms_data | jq -j 'select(.type == "content_block_delta" and .delta.type == "text_delta") | .delta.text'; }

t_messages_answers_whole() {
	expect_eq "$(messages "$(ms_body ms_text '"system":"be brief"')")" 200 status || return 1
	expect_json "$T/b" '"\(.type) \(.role) \(.stop_reason)"' 'message assistant end_turn' || return 1
	expect_json "$T/b" '.content[0].type' text || return 1
	expect_json "$T/b" '.content[0].text' 'w1 w2 w3 w4 w5' || return 1
	expect_json "$T/b" '"\(.usage.input_tokens) \(.usage.output_tokens)"' '3 5'
}

t_messages_streams_its_events() {
	expect_eq "$(messages "$(ms_body ms_text '"stream":true')" stream)" 200 status || return 1
	expect_match "$(header Content-Type)" '^text/event-stream' content-type || return 1
	expect_match "$(ms_events)" '^message_start content_block_start (content_block_delta )+content_block_stop message_delta message_stop $' events || return 1
	expect_eq "$(ms_text)" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(ms_data | jq -r 'select(.type == "message_delta") | "\(.delta.stop_reason) \(.usage.output_tokens)"')" 'end_turn 5' "message_delta"
}

t_messages_over_anthropic() {
	expect_eq "$(messages "$(ms_body ms_anth '"stream":true')" stream)" 200 status || return 1
	expect_eq "$(ms_text)" 'w1 w2 w3 w4 w5' text
}

t_messages_tool_use() {
	local tools='"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]'
	expect_eq "$(messages "$(ms_body ms_tools "\"stream\":true,$tools")" stream)" 200 status || return 1
	expect_eq "$(ms_data | jq -r 'select(.type == "content_block_start") | "\(.content_block.type) \(.content_block.name)"')" 'tool_use get_weather' block || return 1
	expect_eq "$(ms_data | jq -j 'select(.delta.type == "input_json_delta") | .delta.partial_json')" '{"city":"Paris"}' input || return 1
	expect_eq "$(ms_data | jq -r 'select(.type == "message_delta") | .delta.stop_reason')" tool_use stop_reason || return 1
	# the result goes back as a tool_result block
	local body='{"model":"ms_text","max_tokens":100,"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"sunny"}]}]}'
	expect_eq "$(messages "$body")" 200 "status with a tool result" || return 1
	expect_json "$T/b" '.content[0].text' 'w1 w2 w3 w4 w5'
}

t_messages_thinking() {
	expect_eq "$(messages "$(ms_body ms_reason '"stream":true,"thinking":{"type":"enabled","budget_tokens":2048}')" stream)" 200 status || return 1
	expect_eq "$(ms_data | jq -r 'select(.type == "content_block_start") | .content_block.type' | tr '\n' ' ')" 'thinking text ' blocks || return 1
	expect_eq "$(ms_data | jq -j 'select(.delta.type == "thinking_delta") | .delta.thinking')" 'w1 w2' thinking || return 1
	expect_eq "$(ms_text)" ' w3 w4 w5' text
}

t_messages_ping_while_the_model_thinks() {
	expect_eq "$(messages "$(ms_body ms_slow '"stream":true')" stream)" 200 status || return 1
	expect_match "$(cat "$T/s")" 'event: ping' "a ping event" || return 1
	expect_no_match "$(cat "$T/s")" '^: ' "an SSE comment" || return 1
	expect_eq "$(ms_text)" 'w1 w2 w3 w4 w5' text
}

t_messages_fail_over_and_continue() {
	expect_eq "$(messages "$(ms_body ms_failover '"stream":true')" stream)" 200 status || return 1
	expect_eq "$(ms_text)" 'w1 w2 w3 w4 w5' "text after failover" || return 1
	expect_eq "$(ms_events | grep -o message_start | wc -l)" 1 "one message_start" || return 1
	expect_eq "$(messages "$(ms_body ms_cut '"stream":true')" stream)" 200 status || return 1
	expect_eq "$(ms_text)" 'w1 w2 w3 w4 w5' "text after a break" || return 1
	expect_match "$(ms_events)" '^message_start content_block_start (content_block_delta )+content_block_stop message_delta message_stop $' "events after a break" || return 1
	expect_match "$(grep 'group=ms_cut' "$LOG" | grep 'outcome=' | tail -1)" 'route=messages' "log line names the route"
}

t_messages_broken_stream_error_event() {
	expect_eq "$(messages "$(ms_body ms_broke '"stream":true')" stream)" 200 status || return 1
	expect_eq "$(sed -n 's/^event: //p' "$T/s" | tail -1)" error "last event" || return 1
	expect_eq "$(ms_data | tail -1 | jq -r '"\(.type) \(.error.type)"')" 'error overloaded_error' "error shape" || return 1
	expect_no_match "$(ms_events)" message_stop "no message_stop"
}

t_messages_errors_in_anthropic_shape() {
	expect_eq "$(messages '{"model":"ms_text","messages":[{"role":"user","content":"hi"}]}')" 400 "no max_tokens" || return 1
	expect_json "$T/b" '"\(.type) \(.error.type)"' 'error invalid_request_error' || return 1
	expect_match "$(jq -r .error.message "$T/b")" max_tokens message || return 1
	expect_eq "$(messages "$(ms_body nosuchgroup)")" 404 "unknown model" || return 1
	expect_json "$T/b" .error.type not_found_error || return 1
	expect_eq "$(messages "$(ms_body ms_down)")" 529 "all endpoints down" || return 1
	expect_json "$T/b" '"\(.type) \(.error.type)"' 'error overloaded_error' || return 1
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/messages")" 405 GET || return 1
	expect_json "$T/b" .type error
}

t_messages_official_client() {
	local mods=$BUILD/node/node_modules
	command -v node >/dev/null || { echo "node missing"; return 77; }
	[ -d "$mods/@anthropic-ai/sdk" ] || { echo "the @anthropic-ai/sdk npm package is missing in $mods"; return 77; }
	NODE_PATH=$mods node "$TOP/tests/clients/sdk_messages.js" "$URL" ms_sdk ms_sdk_tools
}

# x-api-key is a client key beside Authorization: Bearer, and a refusal on
# this route is in Anthropic's shape (fcgi2 and fcgi2_status: 60_health.sh).
t_messages_x_api_key() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	printf '{"k-msg": ["ms_text"]}\n' >"$T/keys-ms.json"
	immortal_start "$FCGI2_PORT" IMMORTAL_ACCESS_KEYS_FILE="$T/keys-ms.json" || return 1
	local ok=0
	{
		fcgi2 POST /v1/messages "$(ms_body ms_text)" &&
		expect_eq "$(fcgi2_status)" 401 "no key" &&
		expect_json "$T/b" '"\(.type) \(.error.type)"' 'error authentication_error' &&
		fcgi2 POST /v1/messages "$(ms_body ms_text)" HTTP_X_API_KEY=k-wrong &&
		expect_eq "$(fcgi2_status)" 401 "unknown key" &&
		fcgi2 POST /v1/messages "$(ms_body ms_text)" HTTP_X_API_KEY=k-msg &&
		expect_eq "$(fcgi2_status)" 200 "x-api-key" &&
		expect_json "$T/b" '.content[0].text' 'w1 w2 w3 w4 w5' &&
		fcgi2 POST /v1/messages "$(ms_body ms_anth)" HTTP_X_API_KEY=k-msg &&
		expect_eq "$(fcgi2_status)" 403 "group outside the key's list" &&
		expect_json "$T/b" .error.type permission_error &&
		fcgi2 POST /v1/responses '{"model":"ms_text","input":"hi"}' HTTP_X_API_KEY=k-msg &&
		expect_eq "$(fcgi2_status)" 200 "x-api-key on another route" && ok=1
	}
	immortal_stop "$FCGI2_PORT"
	[ $ok = 1 ] || return 1
	expect_no_match "$(cat "$LOG")" 'k-msg' "keys in the log"
}
