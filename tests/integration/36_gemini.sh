# type: gemini endpoints: the same client-visible answers as OpenAI's,
# failover between the API families before the first token and
# mid-stream, the request translated, thought signatures round-tripped,
# blocked prompts and errors in the taxonomy. (Helpers answer_summary,
# stream_summary, stream_tools, last_prefill and expect_whole_answer come
# from 35_anthropic.sh and 65_resume.sh.)

# ep_gem NAME OPTS [EXTRA_JSON_MEMBERS]: a gemini endpoint on the mock.
ep_gem() { ep "$1" "$2" "\"type\":\"gemini\"${3:+,$3}"; }

setup_36_gemini() {
	group gm_text "[$(ep_gem one ok,id=gmt1)]"
	group gm_tools "[$(ep_gem one tools,id=gmt2)]"
	group gm_reason "[$(ep_gem one reasoning=2,id=gmt3)]"
	group gm_req "[$(ep_gem one ok,id=gmreq '"max_tokens":200,"temperature":0.3')]"
	group gm_sig "[$(ep_gem one tools,require=signature,id=gmsig)]"
	group gm_sig_streamed "[$(ep_gem one tools,id=gmsigs '"stream":true')]"
	group gm_to_oa "[$(ep_gem one overloaded,id=go1 '"retries":0'), $(ep two ok,id=go2)]"
	group oa_to_gm "[$(ep one status=503,id=og1 '"retries":0'), $(ep_gem two ok,id=og2)]"
	group gm_sse_error "[$(ep_gem one sse_error,id=gse1), $(ep two ok,id=gse2)]"
	group gm_cut_to_oa "[$(ep_gem one cut=2,id=gco1), $(ep two ok,id=gco2)]"
	group gm_nodone_to_oa "[$(ep_gem one nodone,id=gnd1), $(ep two ok,id=gnd2)]"
	group oa_cut_to_gm "[$(ep one cut=2,reject_prefill,id=ocg1), $(ep_gem two ok,id=ocg2 '"continuation":"prefill"')]"
	group oa_cut_gm_none "[$(ep one cut=2,reject_prefill,id=ocn1), $(ep_gem two ok,id=ocn2)]"
	group gm_blocked "[$(ep_gem one blocked,id=gbl1), $(ep two ok,id=gbl2)]"
	group gm_blocked_over "{\"failover_on_content_filter\": true, \"endpoints\": [$(ep_gem one blocked,id=gbo1), $(ep two ok,id=gbo2)]}"
	group gm_auth "[$(ep_gem one status=401,id=gau1), $(ep two ok,id=gau2)]"
	group gm_limit "[$(ep_gem one status=429,id=gli1 '"retries":0'), $(ep two ok,id=gli2)]"
	group gm_request "[$(ep_gem one status=400,code=context_length_exceeded,id=grq1)]"
	group gm_max "[$(ep_gem one finish=MAX_TOKENS,id=gfm)]"
	group gm_safety "[$(ep_gem one finish=SAFETY,id=gfs)]"
	group gm_other "[$(ep_gem one finish=MALFORMED_FUNCTION_CALL,id=gfo)]"
}

t_gemini_answers_as_openai_does() {
	expect_eq "$(chat oa_text false)" 200 status || return 1
	local want
	want=$(answer_summary "$T/b")
	expect_eq "$(chat gm_text false)" 200 status || return 1
	expect_eq "$(answer_summary "$T/b")" "$want" "answer" || return 1
	expect_eq "$want" "$(printf 'chat.completion\tw1 w2 w3 w4 w5\tstop\t3\t5\t8')" "expected answer" || return 1
	expect_json "$T/b" .model model-one || return 1
	expect_json "$T/b" '.choices[0].message.role' assistant || return 1
	expect_eq "$(header X-Immortal-Endpoint)" one endpoint
}

t_gemini_streams_as_openai_does() {
	stream_to oa_text '"stream_options":{"include_usage":true}'
	local want
	want=$(stream_summary "$T/s")
	stream_to gm_text '"stream_options":{"include_usage":true}'
	expect_eq "$(stream_summary "$T/s")" "$want" "stream" || return 1
	expect_eq "$want" 'w1 w2 w3 w4 w5|stop|3 5 8|1' "expected stream" || return 1
	expect_match "$(header Content-Type)" '^text/event-stream' content-type || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '"\(.id) \(.created) \(.object)"' | sort -u | wc -l)" 1 "one id and created" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '.choices[0]?.delta.role // empty' | wc -l)" 1 "role deltas" || return 1
	stream_to gm_text
	expect_eq "$(stream_summary "$T/s")" 'w1 w2 w3 w4 w5|stop||1' "stream without usage" || return 1
	curl -s "$MOCK/control/last?key=ok,id=gmt1" >"$T/last"
	expect_json "$T/last" .path "/ok,id=gmt1/v1/models/model-one:streamGenerateContent" "streamed path"
}

t_gemini_tools_as_openai_does() {
	stream_to oa_tools
	local want
	want=$(stream_tools "$T/s")
	stream_to gm_tools
	expect_eq "$(stream_tools "$T/s")" "$want" "streamed tool calls" || return 1
	expect_eq "$(stream_tools "$T/s")" '0 get_weather {"city":"Paris"}' "tool call" || return 1
	expect_eq "$(stream_summary "$T/s" | cut -d'|' -f2,4)" 'tool_calls|1' "finish" || return 1
	expect_match "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '.choices[0]?.delta.tool_calls[]?.id')" '^call_[0-9a-f]{24}$' "generated id" || return 1
	expect_eq "$(chat gm_tools false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.tool_calls[0] | "\(.type) \(.function.name)"' 'function get_weather' || return 1
	expect_match "$(jq -r '.choices[0].message.tool_calls[0].id' "$T/b")" '^call_[0-9a-f]{24}$' "generated id" || return 1
	expect_json "$T/b" '.choices[0].message.tool_calls[0].function.arguments | fromjson | .city' Paris || return 1
	expect_json "$T/b" '.choices[0].finish_reason' tool_calls
}

t_gemini_thinking_is_reasoning() {
	expect_eq "$(chat gm_reason false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.reasoning_content' 'w1 w2' || return 1
	expect_json "$T/b" '.choices[0].message.content' ' w3 w4 w5' || return 1
	expect_json "$T/b" '.usage.completion_tokens' 5 "thoughts count as completion tokens" || return 1
	stream_to gm_reason
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -j '.choices[0]?.delta.reasoning_content // empty')" 'w1 w2' reasoning || return 1
	expect_eq "$(sse_text "$T/s")" ' w3 w4 w5' text
}

t_gemini_request_translated() {
	local tools='"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"tool_choice":{"type":"function","function":{"name":"get_weather"}}'
	expect_eq "$(chat gm_req false '"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"},{"role":"user","content":[{"type":"text","text":"there"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}}]}],"logit_bias":{"1":2},"stop":"END","top_p":0.5,"reasoning_effort":"low",'"$tools")" 200 status || return 1
	curl -s "$MOCK/control/last?key=ok,id=gmreq" >"$T/last"
	expect_json "$T/last" .path "/ok,id=gmreq/v1/models/model-one:generateContent" || return 1
	jq '.body | if type == "string" then fromjson else . end' "$T/last" >"$T/body"
	expect_json "$T/body" '.systemInstruction.parts[0].text' 'Be brief.' || return 1
	expect_json "$T/body" '.contents | length' 1 "user turns merged" || return 1
	expect_json "$T/body" '.contents[0] | "\(.role) \(.parts[0].text) \(.parts[1].text) \(.parts[2].inlineData.mimeType) \(.parts[2].inlineData.data)"' 'user hi there image/png iVBOR' || return 1
	expect_json "$T/body" '.generationConfig | "\(.maxOutputTokens) \(.temperature) \(.topP) \(.stopSequences[0]) \(.thinkingConfig.thinkingBudget)"' '200 0.3 0.5 END 1024' || return 1
	expect_json "$T/body" '.tools[0].functionDeclarations[0] | "\(.name) \(.description) \(.parametersJsonSchema.properties.city.type)"' 'get_weather Weather string' || return 1
	expect_json "$T/body" '.toolConfig.functionCallingConfig | "\(.mode) \(.allowedFunctionNames[0])"' 'ANY get_weather' || return 1
	expect_json "$T/body" 'has("logit_bias") or has("model") or has("stream")' false || return 1
	jq '.headers | if type == "string" then fromjson else . end | with_entries(.key |= ascii_downcase)' "$T/last" >"$T/hdr"
	expect_json "$T/hdr" '."x-goog-api-key"' "$SECRET" || return 1
	expect_json "$T/hdr" 'has("authorization")' false || return 1
	expect_no_match "$(jq -r .path "$T/last")" "$SECRET" "key in the URL" || return 1
	expect_match "$(grep 'endpoint=one dropped a field with no meaning in Gemini.s API field=logit_bias' "$LOG" | tail -1)" logit_bias "log of the dropped field"
}

# A second turn handing back the call (with or without its signature) and its result.
sig_turn() {
	local call=$1
	chat gm_sig false '"messages":[{"role":"user","content":"weather?"},{"role":"assistant","content":null,"tool_calls":['"$call"']},{"role":"tool","tool_call_id":"'"$(jq -r .id <<<"$call")"'","content":"{\"temp\":20}"}]'
}

t_gemini_thought_signature_round_trip() {
	expect_eq "$(chat gm_sig false)" 200 status || return 1
	local call
	call=$(jq -c '.choices[0].message.tool_calls[0]' "$T/b")
	expect_match "$(jq -r .thought_signature <<<"$call")" '^.{8,}$' "signature in the tool call" || return 1
	expect_eq "$(sig_turn "$call")" 200 "second turn with the signature" || return 1
	curl -s "$MOCK/control/last?key=tools,require=signature,id=gmsig" | jq '.body | if type == "string" then fromjson else . end' >"$T/body"
	expect_json "$T/body" '.contents[1] | "\(.role) \(.parts[0].functionCall.name) \(.parts[0].functionCall.args.city)"' 'model get_weather Paris' || return 1
	expect_json "$T/body" '.contents[2].parts[0].functionResponse | "\(.name) \(.response.temp)"' 'get_weather 20' "result named by its call" || return 1
	# the mock refuses a call handed back without it, as Gemini does
	expect_eq "$(sig_turn "$(jq -c 'del(.thought_signature)' <<<"$call")")" 400 "second turn without the signature" || return 1
	expect_match "$(jq -r .error.message "$T/b")" 'thought_signature' message || return 1
	# a streamed upstream's answer, aggregated for a client that does not stream, keeps it
	expect_eq "$(chat gm_sig_streamed false)" 200 "aggregated status" || return 1
	expect_json "$T/b" '.choices[0].message.tool_calls[0].thought_signature' "$(jq -r .thought_signature <<<"$call")" "aggregated signature"
}

t_gemini_fails_over_to_openai_before_first_token() {
	expect_eq "$(chat gm_to_oa false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5' || return 1
	expect_eq "$(header X-Immortal-Endpoint)" two endpoint || return 1
	expect_match "$(grep 'group=gm_to_oa endpoint=one' "$LOG" | tail -1)" 'kind=server status=503' "log of the overloaded attempt" || return 1
	stream_to gm_sse_error
	expect_eq "$(stream_summary "$T/s" | cut -d'|' -f1,4)" 'w1 w2 w3 w4 w5|1' "stream after an error event" || return 1
	expect_eq "$(header X-Immortal-Endpoint)" two endpoint
}

t_openai_fails_over_to_gemini_before_first_token() {
	stream_to oa_to_gm
	expect_eq "$(stream_summary "$T/s" | cut -d'|' -f1,2,4)" 'w1 w2 w3 w4 w5|stop|1' stream || return 1
	expect_eq "$(header X-Immortal-Endpoint)" two endpoint
}

t_gemini_break_continued_on_openai() {
	stream_to gm_cut_to_oa
	expect_whole_answer || return 1
	expect_eq "$(last_prefill ok,id=gco2)" 'w1 w2' "prefill sent to the openai endpoint" || return 1
	expect_eq "$(mock_stat cut=2,id=gco1 requests)" 1 "continuation none: the gemini endpoint is not asked again" || return 1
	# an end of the body without a finishReason is a break too: the next
	# endpoint is asked for the rest (the mock's answer has no more)
	stream_to gm_nodone_to_oa
	expect_match "$(grep 'group=gm_nodone_to_oa endpoint=one' "$LOG" | tail -1)" 'kind=network .*stream ended before it was complete' "break logged" || return 1
	expect_eq "$(last_prefill ok,id=gnd2)" 'w1 w2 w3 w4 w5' "continuation asked"
}

t_openai_break_continued_on_gemini() {
	stream_to oa_cut_to_gm '"stream_options":{"include_usage":true}'
	expect_whole_answer || return 1
	curl -s "$MOCK/control/last?key=ok,id=ocg2" | jq '.body | if type == "string" then fromjson else . end' >"$T/body"
	expect_json "$T/body" '.contents[-1] | "\(.role) \(.parts[0].text)"' 'model w1 w2' "prefill turn" || return 1
	# by default (continuation none) a gemini endpoint continues nothing
	stream_to oa_cut_gm_none
	expect_eq "$(sse_done_count "$T/s")" 0 "[DONE] count" || return 1
	expect_eq "$(mock_stat ok,id=ocn2 requests)" 0 "requests to the gemini endpoint"
}

t_gemini_blocked_prompt_is_a_content_filter() {
	expect_eq "$(chat gm_blocked false)" 502 status || return 1
	expect_json "$T/b" .error.code content_filter || return 1
	expect_match "$(jq -r .error.message "$T/b")" 'blocked the content \(SAFETY\)' message || return 1
	expect_eq "$(mock_stat ok,id=gbl2 requests)" 0 "requests to the next endpoint" || return 1
	stream_to gm_blocked
	expect_json "$T/s" .error.code content_filter "streamed" || return 1
	expect_eq "$(chat gm_blocked_over false)" 200 "status with failover_on_content_filter" || return 1
	expect_eq "$(header X-Immortal-Endpoint)" two endpoint
}

t_gemini_finish_reasons() {
	stream_to gm_max
	expect_eq "$(stream_summary "$T/s" | cut -d'|' -f1,2)" 'w1 w2 w3 w4 w5|length' "MAX_TOKENS" || return 1
	expect_eq "$(chat gm_safety false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].finish_reason' content_filter "SAFETY after content" || return 1
	expect_eq "$(chat gm_other false)" 200 status || return 1
	expect_json "$T/b" '.choices[0].finish_reason' stop "unknown reason" || return 1
	expect_match "$(grep 'MALFORMED_FUNCTION_CALL' "$LOG" | tail -1)" 'no OpenAI counterpart' "unknown reason logged"
}

t_gemini_errors_in_the_taxonomy() {
	expect_eq "$(chat gm_auth false)" 200 status || return 1
	expect_match "$(grep 'group=gm_auth endpoint=one' "$LOG" | tail -1)" 'kind=auth status=401' "auth logged" || return 1
	expect_eq "$(chat gm_limit false)" 200 status || return 1
	expect_match "$(grep 'group=gm_limit endpoint=one' "$LOG" | tail -1)" 'kind=rate_limit status=429' "rate limit logged" || return 1
	# a prompt too long for the model: the client gets OpenAI's shape and code
	expect_eq "$(chat gm_request false)" 400 status || return 1
	expect_json "$T/b" .error.code context_length_exceeded || return 1
	expect_json "$T/b" .error.type INVALID_ARGUMENT || return 1
	expect_match "$(jq -r .error.message "$T/b")" 'input token count' message
}

# The official openai npm client, unchanged, against a gemini group and an
# openai one (openai_client: 35_anthropic.sh).
t_gemini_through_the_openai_npm_client() {
	[ -d "$BUILD/node/node_modules/openai" ] || { echo "the openai npm client is not installed (tests/run installs it into $BUILD/node)"; return 77; }
	local g
	for g in oa gm; do
		expect_eq "$(openai_client ${g}_text text stream)" 'w1 w2 w3 w4 w5 | stop' "$g streamed text" || return 1
		expect_eq "$(openai_client ${g}_text text plain)" 'w1 w2 w3 w4 w5 | stop' "$g text" || return 1
		expect_eq "$(openai_client ${g}_tools tools stream)" 'get_weather {"city":"Paris"} | tool_calls' "$g streamed tool call" || return 1
		expect_eq "$(openai_client ${g}_tools tools plain)" 'get_weather {"city":"Paris"} | tool_calls' "$g tool call" || return 1
	done
	# a gemini break mid-stream, continued on an openai endpoint, is one stream to the client
	expect_eq "$(openai_client gm_cut_to_oa text stream)" 'w1 w2 w3 w4 w5 | stop' "continued stream"
}

# The usual tool loop of the openai npm client (the assistant message sent
# back as it came) returns the thought signature Gemini demands.
t_gemini_signature_through_the_openai_npm_client() {
	[ -d "$BUILD/node/node_modules/openai" ] || { echo "the openai npm client is not installed (tests/run installs it into $BUILD/node)"; return 77; }
	local out
	out=$(node - "$BUILD/node/node_modules" "$URL/v1" 2>&1 <<'JS'
const [moduleDir, baseURL] = process.argv.slice(2);
const { OpenAI } = require(moduleDir + '/openai');
const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
(async () => {
	const messages = [{ role: 'user', content: 'weather?' }];
	const first = await client.chat.completions.create({ model: 'gm_sig', messages });
	const msg = first.choices[0].message;
	messages.push(msg);
	for (const c of msg.tool_calls)
		messages.push({ role: 'tool', tool_call_id: c.id, content: '{"temp":20}' });
	const second = await client.chat.completions.create({ model: 'gm_sig', messages });
	console.log(`${first.choices[0].finish_reason} ${second.choices[0].finish_reason}`);
})().catch((e) => { console.log(`error: ${e.status} ${e.message}`); process.exit(1); });
JS
)
	expect_eq "$out" 'tool_calls tool_calls' "two turns through the client"
}
