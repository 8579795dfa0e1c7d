# Conversions between streamed and non-streamed, and the request sent upstream.

setup_30_convert() {
	group agg "[$(ep one ok,id=agg '"stream":true')]"
	group aggtools "[$(ep one tools,id=aggtools '"stream":true')]"
	group aggreason "[$(ep one reasoning=2,id=aggreason '"stream":true')]"
	group tosse "[$(ep one ok,id=tosse '"stream":false')]"
	group tossetools "[$(ep one tools,id=tossetools '"stream":false')]"
	group build "[$(ep rb ok,id=build '"temperature":0.1,"max_tokens":100,"type":"openrouter","referer":"https://example.org","title":"My App"')]"
	group plain "[$(ep plainep ok,id=plain)]"
}

t_streamed_upstream_aggregated_for_plain_client() {
	expect_eq "$(chat agg false)" 200 status || return 1
	expect_json "$T/b" .object chat.completion || return 1
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5' || return 1
	expect_json "$T/b" '.choices[0].finish_reason' stop || return 1
	expect_json "$T/b" '.model' model-one || return 1
	expect_json "$T/b" '.usage.completion_tokens' 5 || return 1
	expect_match "$(jq -r .id "$T/b")" '^chatcmpl-mock-' id || return 1
	curl -s "$MOCK/control/last?key=ok,id=agg" >"$T/last"
	expect_json "$T/last" .body.stream true || return 1
	expect_json "$T/last" .body.stream_options.include_usage true
}

t_streamed_tool_calls_aggregated() {
	expect_eq "$(chat aggtools false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.tool_calls[0].function.name' get_weather || return 1
	expect_json "$T/b" '.choices[0].message.tool_calls[0].function.arguments | fromjson | .city' Paris || return 1
	expect_json "$T/b" '.choices[0].finish_reason' tool_calls
}

t_streamed_reasoning_aggregated() {
	expect_eq "$(chat aggreason false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.reasoning_content' 'w1 w2' || return 1
	expect_json "$T/b" '.choices[0].message.content' ' w3 w4 w5'
}

t_plain_upstream_streamed_to_client() {
	stream_to tosse '"stream_options":{"include_usage":true}'
	expect_match "$(header Content-Type)" '^text/event-stream' content-type || return 1
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r 'select(.usage != null) | .usage.completion_tokens')" 5 usage || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | head -1 | jq -r .object)" chat.completion.chunk object || return 1
	curl -s "$MOCK/control/last?key=ok,id=tosse" >"$T/last"
	expect_json "$T/last" '.body | has("stream") and .stream == true' false || return 1
	expect_json "$T/last" '.body | has("stream_options")' false
}

t_plain_tool_calls_streamed_to_client() {
	stream_to tossetools
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '.choices[0].delta.tool_calls[0]? | select(. != null) | "\(.index) \(.function.name)"')" '0 get_weather' "tool call delta" || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count"
}

t_request_built_for_endpoint() {
	expect_eq "$(chat build false '"max_tokens":500,"foo":{"bar":[1,2.5,"x"]},"top_p":0.7')" 200 status || return 1
	curl -s "$MOCK/control/last?key=ok,id=build" >"$T/last"
	expect_json "$T/last" .body.model model-rb || return 1
	expect_json "$T/last" .body.temperature 0.1 || return 1
	expect_json "$T/last" .body.max_tokens 100 || return 1
	expect_json "$T/last" '.body.foo | tojson' '{"bar":[1,2.5,"x"]}' || return 1
	expect_json "$T/last" .body.top_p 0.7 || return 1
	expect_json "$T/last" '.body.messages[0].content' hi || return 1
	expect_json "$T/last" .authorization "Bearer $SECRET" || return 1
	expect_json "$T/last" .referer https://example.org || return 1
	expect_json "$T/last" .title "My App"
}

t_request_keeps_client_values_within_caps() {
	expect_eq "$(chat build false '"max_tokens":50,"temperature":0.9')" 200 status || return 1
	curl -s "$MOCK/control/last?key=ok,id=build" >"$T/last"
	expect_json "$T/last" .body.temperature 0.9 || return 1
	expect_json "$T/last" .body.max_tokens 50
}

t_openai_type_sends_no_attribution_headers() {
	expect_eq "$(chat plain)" 200 status || return 1
	curl -s "$MOCK/control/last?key=ok,id=plain" >"$T/last"
	expect_json "$T/last" .referer null || return 1
	expect_json "$T/last" '.body | has("temperature")' false
}
