# The mock upstream's Anthropic and Gemini wire formats, asked directly (not
# through immortal): the shapes the providers document, and the mock's faults
# in each format. Catches regressions in the mock that the tests built on it
# would otherwise read as failures of immortal.

MF_ANTH_BODY='{"model":"claude-mock","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}'
MF_GEM_BODY='{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}'

# mf_anth OPTS [BODY] [CURL_ARGS...]: POSTs to the mock's Messages API; the body
# goes to $T/b, the headers to $T/h; prints the HTTP status. MF_VERSION= (empty)
# leaves out the anthropic-version header; MF_KEY sets the API key.
mf_anth() {
	local opts=$1 body=${2:-$MF_ANTH_BODY} ver=()
	shift 2 2>/dev/null || shift $#
	[ -n "${MF_VERSION-2023-06-01}" ] && ver=(-H "anthropic-version: ${MF_VERSION-2023-06-01}")
	curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' --max-time 30 -H 'content-type: application/json' \
		-H "x-api-key: ${MF_KEY:-k-anth-1}" "${ver[@]}" "$@" \
		-X POST "$MOCK/$opts/v1/messages" --data "$body"
}

# mf_anth_stream OPTS [BODY]: the same, streamed.
mf_anth_stream() {
	mf_anth "$1" "$(jq -c '.stream = true' <<<"${2:-$MF_ANTH_BODY}")"
}

# mf_gem OPTS METHOD [BODY]: POSTs to models/gemini-mock:METHOD (a method may
# carry ?alt=sse); body to $T/b, headers to $T/h; prints the HTTP status.
mf_gem() {
	curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' --max-time 30 -H 'content-type: application/json' \
		-H 'x-goog-api-key: k-gem-1' -X POST "$MOCK/$1/v1beta/models/gemini-mock:$2" \
		--data "${3:-$MF_GEM_BODY}"
}

# mf_data FILE: the data of each SSE event, one a line, CRs dropped.
mf_data() { tr -d '\r' <"$1" | sed -n 's/^data: //p'; }

# mf_events FILE: the event names, space-separated.
mf_events() { sed -n 's/^event: //p' "$1" | tr '\n' ' '; }

t_mock_anthropic_message() {
	expect_eq "$(mf_anth ok)" 200 status || return 1
	expect_json "$T/b" '[.type, .role, .model, (.id | startswith("msg_mock_"))] | @tsv' \
		"$(printf 'message\tassistant\tclaude-mock\ttrue')" || return 1
	expect_json "$T/b" '.content | map(.type + ":" + .text) | join("|")' 'text:w1 w2 w3 w4 w5' || return 1
	expect_json "$T/b" '[.stop_reason, .usage.input_tokens, .usage.output_tokens] | @tsv' \
		"$(printf 'end_turn\t3\t5')"
}

t_mock_anthropic_stream() {
	expect_eq "$(mf_anth_stream chunks=3)" 200 status || return 1
	expect_match "$(header content-type)" '^text/event-stream' content-type || return 1
	expect_eq "$(mf_events "$T/b")" 'message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop ' events || return 1
	# every data names the event it belongs to
	expect_eq "$(mf_data "$T/b" | jq -r .type | tr '\n' ' ')" "$(mf_events "$T/b")" "data types" || return 1
	expect_eq "$(mf_data "$T/b" | jq -j 'select(.delta.type == "text_delta") | .delta.text')" 'w1 w2 w3' text || return 1
	expect_eq "$(mf_data "$T/b" | jq -r 'select(.type == "message_start") | .message.usage.input_tokens')" 3 "input tokens" || return 1
	expect_eq "$(mf_data "$T/b" | jq -r 'select(.type == "message_delta") | "\(.delta.stop_reason) \(.usage.output_tokens)"')" 'end_turn 3' "message_delta"
}

t_mock_anthropic_tools() {
	mf_anth_stream tools >/dev/null
	expect_eq "$(mf_data "$T/b" | jq -r 'select(.type == "content_block_start") | .content_block | "\(.type) \(.name) \(.id)"')" \
		'tool_use get_weather toolu_mock_1' "tool block" || return 1
	expect_eq "$(mf_data "$T/b" | jq -j 'select(.delta.type == "input_json_delta") | .delta.partial_json')" '{"city":"Paris"}' "input json" || return 1
	expect_eq "$(mf_data "$T/b" | jq -r 'select(.type == "message_delta") | .delta.stop_reason')" tool_use "stop reason" || return 1
	mf_anth tools >/dev/null
	expect_json "$T/b" '.content[0] | "\(.type) \(.name) \(.input.city)"' 'tool_use get_weather Paris' || return 1
	expect_json "$T/b" .stop_reason tool_use
}

t_mock_anthropic_thinking() {
	mf_anth_stream reasoning=2 >/dev/null
	expect_eq "$(mf_data "$T/b" | jq -r 'select(.type == "content_block_start") | "\(.index):\(.content_block.type)"' | tr '\n' ' ')" \
		'0:thinking 1:text ' blocks || return 1
	expect_eq "$(mf_data "$T/b" | jq -j 'select(.delta.type == "thinking_delta") | .delta.thinking')" 'w1 w2' thinking || return 1
	expect_eq "$(mf_data "$T/b" | jq -j 'select(.delta.type == "text_delta") | .delta.text')" ' w3 w4 w5' text || return 1
	# the signature closes the thinking block, before its content_block_stop
	expect_eq "$(mf_data "$T/b" | jq -r 'select(.index == 0) | .delta.type // .type' | tail -2 | tr '\n' ' ')" \
		'signature_delta content_block_stop ' "thinking block end" || return 1
	mf_anth reasoning=2 >/dev/null
	expect_json "$T/b" '.content | map(.type) | join(",")' 'thinking,text' || return 1
	expect_json "$T/b" '.content[0].signature | length > 0' true
}

t_mock_anthropic_errors() {
	expect_eq "$(mf_anth status=429,retry_after=7)" 429 "429 status" || return 1
	expect_json "$T/b" '"\(.type) \(.error.type)"' 'error rate_limit_error' || return 1
	expect_eq "$(header retry-after)" 7 retry-after || return 1
	expect_eq "$(mf_anth overloaded)" 529 "overloaded status" || return 1
	expect_json "$T/b" .error.type overloaded_error || return 1
	expect_eq "$(mf_anth status=401)" 401 "401 status" || return 1
	expect_json "$T/b" .error.type authentication_error || return 1
	expect_eq "$(mf_anth status=500,etype=api_error_custom)" 500 "500 status" || return 1
	expect_json "$T/b" .error.type api_error_custom || return 1
	expect_eq "$(mf_anth status=400,code=context_length_exceeded)" 400 "too long status" || return 1
	expect_match "$(jq -r .error.message "$T/b")" '^prompt is too long' "too long message" || return 1
	# what the real API refuses
	expect_eq "$(MF_VERSION='' mf_anth ok)" 400 "no anthropic-version" || return 1
	expect_json "$T/b" .error.type invalid_request_error || return 1
	expect_eq "$(mf_anth ok '{"model":"m","messages":[{"role":"user","content":"hi"}]}')" 400 "no max_tokens" || return 1
	expect_json "$T/b" '"\(.error.type) \(.error.message)"' 'invalid_request_error max_tokens: Field required' || return 1
	expect_eq "$(mf_anth ok "$(jq -c '.n = 1' <<<"$MF_ANTH_BODY")")" 400 "unknown member" || return 1
	expect_eq "$(mf_anth ok "$(jq -c '.messages = [{"role":"system","content":"x"}]' <<<"$MF_ANTH_BODY")")" 400 "system role" || return 1
	expect_eq "$(mf_anth ok "$(jq -c '.thinking = {"type":"enabled","budget_tokens":2048}' <<<"$MF_ANTH_BODY")")" 400 "budget over max_tokens"
}

t_mock_anthropic_stream_faults() {
	mf_anth_stream sse_error_after=1 >/dev/null
	expect_eq "$(mf_events "$T/b" | awk '{print $NF}')" error "last event" || return 1
	expect_eq "$(mf_data "$T/b" | tail -1 | jq -r .error.type)" overloaded_error "error type" || return 1
	mf_anth_stream nodone >/dev/null
	expect_match "$(mf_events "$T/b")" 'message_delta $' "ends without message_stop" || return 1
	mf_anth_stream cut=2 >/dev/null
	expect_eq "$(mf_data "$T/b" | jq -j 'select(.delta.type == "text_delta") | .delta.text')" 'w1 w2' "text before the cut" || return 1
	expect_no_match "$(mf_events "$T/b")" message_delta "no message_delta after a cut" || return 1
	mf_anth_stream comments=2 >/dev/null
	expect_match "$(mf_events "$T/b")" '^message_start ping ping content_block_start ping ' "keep-alives are pings" || return 1
	mf_anth_stream blocked >/dev/null
	expect_eq "$(mf_data "$T/b" | jq -r 'select(.type == "message_delta") | .delta.stop_reason')" refusal "blocked stream" || return 1
	mf_anth_stream badevent >/dev/null
	expect_match "$(cat "$T/b")" 'data: this is not json' "bad event"
}

t_mock_anthropic_gate() {
	local key=gate=mfa,id=mfgate
	curl -sN --max-time 30 -H 'x-api-key: k' -H 'anthropic-version: 2023-06-01' -X POST "$MOCK/$key/v1/messages" \
		--data "$(jq -c '.stream = true' <<<"$MF_ANTH_BODY")" >"$T/g" &
	local pid=$!
	wait_until 10 grep -q '"text":"w1"' "$T/g" || { kill $pid; fail "no first delta"; return 1; }
	expect_eq "$(mock_stat "$key" active)" 1 "held at the gate" || { kill $pid; return 1; }
	curl -s "$MOCK/control/release?gate=mfa" >/dev/null
	wait $pid
	expect_eq "$(mf_events "$T/g" | awk '{print $NF}')" message_stop "released stream ends"
}

t_mock_anthropic_prefill() {
	local body
	body=$(jq -c '.messages += [{"role":"assistant","content":"w1 w2"}]' <<<"$MF_ANTH_BODY")
	mf_anth_stream ok "$body" >/dev/null
	expect_eq "$(mf_data "$T/b" | jq -j 'select(.delta.type == "text_delta") | .delta.text')" ' w3 w4 w5' "continues the prefill" || return 1
	expect_eq "$(mf_anth_stream reject_prefill "$body")" 400 "reject_prefill" || return 1
	expect_json "$T/b" .error.type invalid_request_error || return 1
	expect_eq "$(mf_anth_stream ok "$(jq -c '.messages[-1].content = "w1 "' <<<"$body")")" 400 "trailing whitespace"
}

t_mock_gemini_generate() {
	expect_eq "$(mf_gem ok generateContent)" 200 status || return 1
	expect_json "$T/b" '.candidates[0] | "\(.content.role) \(.finishReason) \(.index) \(.content.parts[0].text)"' \
		'model STOP 0 w1 w2 w3 w4 w5' || return 1
	expect_json "$T/b" '.usageMetadata | "\(.promptTokenCount) \(.candidatesTokenCount) \(.totalTokenCount)"' '3 5 8' || return 1
	expect_json "$T/b" .modelVersion gemini-mock
}

t_mock_gemini_stream() {
	expect_eq "$(mf_gem chunks=3 'streamGenerateContent?alt=sse')" 200 status || return 1
	expect_match "$(header content-type)" '^text/event-stream' content-type || return 1
	expect_match "$(head -1 "$T/b" | od -c)" '\\r  \\n' "CRLF line ends" || return 1
	expect_eq "$(mf_events "$T/b")" '' "no event lines" || return 1
	expect_eq "$(grep -c DONE "$T/b")" 0 "no [DONE]" || return 1
	expect_eq "$(mf_data "$T/b" | jq -j '.candidates[0].content.parts[].text')" 'w1 w2 w3' text || return 1
	expect_eq "$(mf_data "$T/b" | jq -r '.candidates[0].finishReason // "-"' | tr '\n' ' ')" '- - - STOP ' "finish only at the end" || return 1
	expect_eq "$(mf_data "$T/b" | tail -1 | jq -r '.usageMetadata | "\(.promptTokenCount) \(.candidatesTokenCount) \(.totalTokenCount)"')" '3 3 6' usage || return 1
	# without alt=sse, streamGenerateContent answers one JSON array
	mf_gem ok streamGenerateContent >/dev/null
	expect_json "$T/b" '.[0].candidates[0].content.parts[0].text' 'w1 w2 w3 w4 w5'
}

t_mock_gemini_tools_and_thoughts() {
	mf_gem tools 'streamGenerateContent?alt=sse' >/dev/null
	expect_eq "$(mf_data "$T/b" | head -1 | jq -c '.candidates[0].content.parts[0].functionCall')" \
		'{"name":"get_weather","args":{"city":"Paris"}}' "function call" || return 1
	expect_eq "$(mf_data "$T/b" | head -1 | jq -r '.candidates[0].content.parts[0].thoughtSignature | length > 0')" true "signature" || return 1
	mf_gem tools generateContent >/dev/null
	expect_json "$T/b" '.candidates[0].content.parts[0].functionCall.name' get_weather || return 1
	mf_gem reasoning=2 'streamGenerateContent?alt=sse' >/dev/null
	expect_eq "$(mf_data "$T/b" | jq -j '.candidates[0].content.parts[] | select(.thought) | .text')" 'w1 w2' thoughts || return 1
	expect_eq "$(mf_data "$T/b" | jq -j '.candidates[0].content.parts[] | select(.thought | not) | .text')" ' w3 w4 w5' text || return 1
	expect_eq "$(mf_data "$T/b" | tail -1 | jq -r '.usageMetadata | "\(.candidatesTokenCount) \(.thoughtsTokenCount) \(.totalTokenCount)"')" '3 2 8' usage
}

t_mock_gemini_errors() {
	expect_eq "$(mf_gem status=429,retry_after=9 generateContent)" 429 "429 status" || return 1
	expect_json "$T/b" '.error | "\(.code) \(.status) \(.details[0].retryDelay)"' '429 RESOURCE_EXHAUSTED 9s' || return 1
	expect_eq "$(mf_gem overloaded generateContent)" 503 "overloaded" || return 1
	expect_json "$T/b" .error.status UNAVAILABLE || return 1
	expect_eq "$(mf_gem ok generateContent '{"contents":[],"max_tokens":5}')" 400 "unknown member" || return 1
	expect_json "$T/b" .error.status INVALID_ARGUMENT || return 1
	expect_eq "$(mf_gem ok generateContent '{"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}')" 400 "bad role" || return 1
	expect_eq "$(mf_gem blocked generateContent)" 200 "blocked status" || return 1
	expect_json "$T/b" '"\(.promptFeedback.blockReason) \(.candidates // "none")"' 'SAFETY none' || return 1
	mf_gem sse_error_after=1 'streamGenerateContent?alt=sse' >/dev/null
	expect_eq "$(mf_data "$T/b" | tail -1 | jq -r '.error | "\(.code) \(.status)"')" '503 UNAVAILABLE' "error event" || return 1
	mf_gem nodone 'streamGenerateContent?alt=sse' >/dev/null
	expect_eq "$(mf_data "$T/b" | jq -r '.candidates[0].finishReason // empty')" '' "nodone: no finishReason"
}

t_mock_gemini_prefill() {
	local body='{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"text":"w1 w2"}]}]}'
	mf_gem ok 'streamGenerateContent?alt=sse' "$body" >/dev/null
	expect_eq "$(mf_data "$T/b" | jq -j '.candidates[0].content.parts[].text')" ' w3 w4 w5' "continues the prefill" || return 1
	expect_eq "$(mf_gem reject_prefill 'streamGenerateContent?alt=sse' "$body")" 400 "reject_prefill"
}

t_mock_formats_echo_headers() {
	mf_anth echo,id=mfecho >/dev/null
	expect_eq "$(jq -r '.content[0].text | fromjson | "\(.["x-api-key"]) \(.["anthropic-version"]) \(.body.max_tokens)"' "$T/b")" \
		'k-anth-1 2023-06-01 64' "anthropic echo" || return 1
	mf_gem echo,id=mfecho generateContent >/dev/null
	expect_eq "$(jq -r '.candidates[0].content.parts[0].text | fromjson | .["x-goog-api-key"]' "$T/b")" k-gem-1 "gemini echo" || return 1
	expect_eq "$(curl -s "$MOCK/control/last?key=echo,id=mfecho" | jq -r '.headers["x-goog-api-key"]')" k-gem-1 "last request headers"
}

t_mock_keys_counted_and_failed() {
	local k=keyfail=key-1:429,id=mfkeys
	expect_eq "$(MF_KEY=key-1 mf_anth "$k")" 429 "failing key" || return 1
	expect_json "$T/b" .error.type rate_limit_error || return 1
	expect_eq "$(MF_KEY=key-2 mf_anth "$k")" 200 "working key" || return 1
	expect_eq "$(MF_KEY=key-2 mf_anth "$k")" 200 "working key again" || return 1
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer key-1' -X POST \
		"$MOCK/$k/v1/chat/completions" --data '{"model":"m","messages":[{"role":"user","content":"hi"}]}')
	expect_eq "$code" 429 "failing key, OpenAI format" || return 1
	expect_eq "$(mf_gem "$k" generateContent)" 200 "gemini key" || return 1
	expect_eq "$(curl -s "$MOCK/control/keys?key=$k" | jq -c 'to_entries | sort_by(.key) | from_entries')" \
		'{"k-gem-1":1,"key-1":2,"key-2":2}' "requests per key"
}

t_mock_openai_blocked() {
	curl -s -X POST "$MOCK/blocked/v1/chat/completions" --data '{"model":"m","messages":[{"role":"user","content":"hi"}]}' >"$T/b"
	expect_json "$T/b" '.choices[0] | "\(.finish_reason) [\(.message.content)]"' 'content_filter []'
}

# cached=N, cache_write=W: every format reports 3+N+W prompt tokens, in its own words.
t_mock_formats_cached_usage_and_finish() {
	curl -s -X POST "$MOCK/cached=4,finish=length/v1/chat/completions" \
		--data '{"model":"m","messages":[{"role":"user","content":"hi"}]}' >"$T/b"
	expect_json "$T/b" '"\(.usage.prompt_tokens) \(.usage.prompt_tokens_details.cached_tokens) \(.choices[0].finish_reason)"' '7 4 length' || return 1
	mf_anth cached=4,cache_write=2,finish=max_tokens >/dev/null
	expect_json "$T/b" '.usage | "\(.input_tokens) \(.cache_read_input_tokens) \(.cache_creation_input_tokens)"' '3 4 2' || return 1
	expect_json "$T/b" .stop_reason max_tokens || return 1
	mf_gem cached=4,finish=MAX_TOKENS 'streamGenerateContent?alt=sse' >/dev/null
	# a middle event counts only the prompt, as Gemini's do
	expect_eq "$(mf_data "$T/b" | head -1 | jq -r '.usageMetadata | "\(.promptTokenCount) \(.totalTokenCount) \(.candidatesTokenCount)"')" '7 7 null' "middle usage" || return 1
	expect_eq "$(mf_data "$T/b" | tail -1 | jq -r '"\(.usageMetadata.promptTokenCount) \(.usageMetadata.cachedContentTokenCount) \(.candidates[0].finishReason)"')" \
		'7 4 MAX_TOKENS' "final usage"
}

# As the real API: each tool_use is answered in the next message, each tool_result answers one.
t_mock_anthropic_tool_pairs() {
	local use='{"role":"assistant","content":[{"type":"tool_use","id":"toolu_mock_1","name":"get_weather","input":{"city":"Paris"}}]}'
	local ok_body bad_id no_result
	ok_body=$(jq -c ".messages += [$use, {\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_mock_1\",\"content\":\"sunny\"}]}]" <<<"$MF_ANTH_BODY")
	bad_id=$(jq -c '.messages[1].content = "w1"' <<<"$ok_body")
	no_result=$(jq -c '.messages[-1].content = "and?"' <<<"$ok_body")
	expect_eq "$(mf_anth ok "$ok_body")" 200 "paired tool turn" || return 1
	expect_eq "$(mf_anth ok "$bad_id")" 400 "tool_result without its tool_use" || return 1
	expect_match "$(jq -r .error.message "$T/b")" 'unexpected `tool_use_id`' message || return 1
	expect_eq "$(mf_anth ok "$no_result")" 400 "tool_use without its tool_result" || return 1
	expect_match "$(jq -r .error.message "$T/b")" 'without `tool_result` blocks' message
}

# require=signature: a functionCall handed back keeps the thoughtSignature the mock gave it.
t_mock_gemini_signature_required() {
	mf_gem tools generateContent >/dev/null
	local call body
	call=$(jq -c '.candidates[0].content' "$T/b")
	body=$(jq -c ".contents += [$call, {\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":\"get_weather\",\"response\":{\"sky\":\"sunny\"}}}]}]" <<<"$MF_GEM_BODY")
	expect_eq "$(mf_gem require=signature generateContent "$body")" 200 "signature handed back" || return 1
	expect_eq "$(mf_gem require=signature generateContent "$(jq -c 'del(.contents[1].parts[0].thoughtSignature)' <<<"$body")")" 400 "signature dropped" || return 1
	expect_json "$T/b" .error.status INVALID_ARGUMENT || return 1
	expect_eq "$(mf_gem ok generateContent "$(jq -c 'del(.contents[1].parts[0].thoughtSignature)' <<<"$body")")" 200 "not required by default"
}

# /control/log: every model request in arrival order, with its key, user and status.
t_mock_request_log() {
	local k=keyfail=key-1:429,id=mflog
	MF_KEY=key-1 mf_anth "$k" "$(jq -c '.metadata = {"user_id":"u-anth"}' <<<"$MF_ANTH_BODY")" >/dev/null
	MF_KEY=key-2 mf_anth "$k" >/dev/null
	curl -s -o /dev/null -H 'Authorization: Bearer key-3' -X POST "$MOCK/$k/v1/chat/completions" \
		--data '{"model":"m","user":"u-openai","messages":[{"role":"user","content":"hi"}]}'
	expect_eq "$(curl -s "$MOCK/control/log" | jq -r --arg k "$k" '.[] | select(.opts == $k) | "\(.key):\(.user):\(.status)"' | tr '\n' ' ')" \
		'key-1:u-anth:429 key-2:null:200 key-3:u-openai:200 ' "log"
}
