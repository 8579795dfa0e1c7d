# Streams that survive their upstream: continuation after a mid-stream break.

setup_65_resume() {
	group rs_same "[$(ep one cut=2,fail_first=1,id=rs1)]"
	group rs_next "[$(ep one cut=2,id=rs2), $(ep two ok,id=rs2b)]"
	group rs_stall "[$(ep one stall=2,fail_first=1,id=rs3 '"timeout":1')]"
	group rs_overlap "[$(ep one cut=3,reject_prefill,id=ov1), $(ep two repeat=2,id=ov2)]"
	group rs_restart "[$(ep one cut=2,reject_prefill,id=rst1), $(ep two restart,id=rst2)]"
	group rs_reject "[$(ep one cut=2,reject_prefill,id=rj1), $(ep two reject_prefill,id=rj2), $(ep three ok,id=rj3)]"
	group rs_noone "[$(ep one cut=2,reject_prefill,id=en1), $(ep two reject_prefill,id=en2)]"
	group rs_tools "[$(ep one tools,cut=1,id=tl1), $(ep two ok,id=tl2)]"
	group rs_reason "[$(ep one reasoning=2,cut=1,id=re1), $(ep two reasoning=2,id=re2)]"
	group rs_multi "[$(ep one cut=2,id=mu1), $(ep two ok,id=mu2)]"
	group rs_off "{\"resume\": false, \"endpoints\": [$(ep one cut=2,id=off1), $(ep two ok,id=off2)]}"
	group rs_vllm "[$(ep one cut=2,reject_prefill,id=vl1), $(ep two require=vllm,id=vl2 '"continuation":"vllm"')]"
	group rs_deepseek "[$(ep one cut=2,reject_prefill,id=ds1), $(ep two require=deepseek,id=ds2 '"continuation":"deepseek"')]"
	group rs_none "[$(ep one cut=2,id=no1 '"continuation":"none"'), $(ep two ok,id=no2 '"continuation":"none"')]"
}

# The stream is the canonical answer, whole, once, with one [DONE].
expect_whole_answer() {
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '.id' | sort -u | wc -l)" 1 "distinct chunk ids" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '.created' | sort -u | wc -l)" 1 "distinct created" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '.choices[0].delta.role // empty' | wc -l)" 1 "role deltas"
}

# The stream ends with an error naming the original break, and no [DONE].
expect_clean_error() {
	expect_eq "$(sse_done_count "$T/s")" 0 "[DONE] count" || return 1
	local last
	last=$(sed -n 's/^data: //p' "$T/s" | tail -1)
	expect_eq "$(jq -r .error.code <<<"$last")" stream_interrupted "error code" || return 1
	expect_match "$(jq -r .error.message <<<"$last")" "endpoint one .*network" "error names the original failure" || return 1
	expect_no_match "$(jq -r .error.message <<<"$last")" "HTTP 4" "error message"
}

last_prefill() {
	curl -s "$MOCK/control/last?key=$1" | jq -r '.body.messages[-1] | select(.role == "assistant") | .content'
}

t_resume_cut_continued_on_same_endpoint() {
	stream_to rs_same
	expect_whole_answer || return 1
	expect_eq "$(last_prefill cut=2,fail_first=1,id=rs1)" 'w1 w2' "prefill sent" || return 1
	expect_match "$(grep 'group=rs_same endpoint=one .*resume=1' "$LOG" | tail -1)" 'kind=ok' "log marks the continuation"
}

t_resume_cut_continued_on_next_endpoint() {
	stream_to rs_next '"stream_options":{"include_usage":true}'
	expect_whole_answer || return 1
	expect_eq "$(last_prefill ok,id=rs2b)" 'w1 w2 w3 w4' "prefill sent to the next endpoint" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r 'select(.usage != null) | .usage.completion_tokens')" 5 "usage counts every token received" || return 1
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -r '.model' | sort -u | tr '\n' ' ')" 'model-one model-two ' "models stay truthful"
}

t_resume_stall_continued() {
	stream_to rs_stall
	expect_whole_answer || return 1
	expect_match "$(grep 'group=rs_stall endpoint=one attempt=1 ' "$LOG" | tail -1)" 'kind=timeout' "the stall is a timeout"
}

t_resume_drops_repeated_end_of_prefill() {
	stream_to rs_overlap
	expect_whole_answer || return 1
	expect_eq "$(last_prefill repeat=2,id=ov2)" 'w1 w2 w3' "prefill sent"
}

t_resume_drops_full_restart() {
	stream_to rs_restart
	expect_whole_answer
}

t_resume_skips_endpoint_rejecting_prefill() {
	stream_to rs_reject
	expect_whole_answer || return 1
	expect_eq "$(mock_stat reject_prefill,id=rj2 requests)" 1 "continuation requests to the rejecting endpoint" || return 1
	stream_to rs_reject
	expect_whole_answer || return 1
	expect_eq "$(mock_stat reject_prefill,id=rj2 requests)" 1 "the rejecting endpoint is not asked again"
}

t_resume_impossible_names_original_failure() {
	stream_to rs_noone
	expect_eq "$(sse_text "$T/s")" 'w1 w2' "text before the break" || return 1
	expect_clean_error
}

t_resume_refused_for_tool_calls() {
	stream_to rs_tools
	expect_clean_error || return 1
	expect_eq "$(mock_stat ok,id=tl2 requests)" 0 "requests to the next endpoint"
}

t_resume_refused_for_several_choices() {
	stream_to rs_multi '"n":2'
	expect_clean_error
}

t_resume_after_reasoning_restarts_without_prefill() {
	stream_to rs_reason
	expect_eq "$(sed -n 's/^data: //p' "$T/s" | grep -v DONE | jq -j '.choices[0].delta.reasoning_content // empty')" 'w1' "reasoning (one trace only)" || return 1
	expect_eq "$(sse_text "$T/s")" ' w3 w4 w5' "answer content" || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count" || return 1
	expect_eq "$(last_prefill reasoning=2,id=re2)" '' "no prefill on the restart"
}

t_resume_off_for_group() {
	stream_to rs_off
	expect_clean_error || return 1
	expect_eq "$(mock_stat ok,id=off2 requests)" 0 "requests to the next endpoint"
}

t_resume_vllm_style() {
	stream_to rs_vllm
	expect_whole_answer || return 1
	curl -s "$MOCK/control/last?key=require=vllm,id=vl2" >"$T/last"
	expect_json "$T/last" .body.continue_final_message true || return 1
	expect_json "$T/last" .body.add_generation_prompt false
}

t_resume_deepseek_style() {
	stream_to rs_deepseek
	expect_whole_answer || return 1
	curl -s "$MOCK/control/last?key=require=deepseek,id=ds2" >"$T/last"
	expect_json "$T/last" '.body.messages[-1].prefix' true
}

t_resume_none_is_not_asked() {
	stream_to rs_none
	expect_clean_error
}
