# Bad input gets OpenAI-shaped errors, and the process keeps serving.

setup_40_input() {
	group broken '[{"baseurl": "http://127.0.0.1:1/v1", "model": "m", "timeout": "soon"}]'
	printf '{"endpoints": [' >"$CONF/truncated.json"
	group unknowntype '[{"baseurl": "http://127.0.0.1:1/v1", "model": "m", "type": "azure"}]'
}

# post BODY [PATH] [METHOD]: raw request; body to $T/b, prints the status.
post() {
	curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' -X "${3:-POST}" -H 'Content-Type: application/json' \
		--data-binary "$1" "$URL${2:-/v1/chat/completions}"
}

openai_error() {
	expect_json "$T/b" '.error | (has("message") and has("type") and has("code"))' true
}

t_malformed_json_is_400() {
	expect_eq "$(post '{"model": "ok", "messages": [')" 400 status || return 1
	openai_error || return 1
	expect_json "$T/b" .error.type invalid_request_error
}

t_not_an_object_is_400() {
	expect_eq "$(post '[1,2,3]')" 400 status || return 1
	openai_error
}

t_missing_messages_is_400() {
	expect_eq "$(post '{"model": "ok"}')" 400 status || return 1
	openai_error || return 1
	expect_json "$T/b" .error.param messages
}

t_missing_model_is_400() {
	expect_eq "$(post '{"messages": [{"role":"user","content":"x"}]}')" 400 status || return 1
	expect_json "$T/b" .error.param model
}

t_unknown_group_is_404() {
	expect_eq "$(post '{"model": "nosuchgroup", "messages": [{"role":"user","content":"x"}]}')" 404 status || return 1
	openai_error || return 1
	expect_json "$T/b" .error.code model_not_found
}

t_wrong_method_is_405() {
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/chat/completions")" 405 status || return 1
	openai_error
}

t_unknown_path_is_404() {
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/audio/speech")" 404 status || return 1
	openai_error
}

t_body_over_limit_is_413() {
	local big
	big=$(head -c 70000 /dev/zero | tr '\0' a)
	expect_eq "$(post "{\"model\":\"ok\",\"messages\":[{\"role\":\"user\",\"content\":\"$big\"}]}")" 413 status || return 1
	openai_error
}

t_binary_garbage_is_400() {
	head -c 4096 /dev/urandom >"$T/garbage"
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' -X POST --data-binary @"$T/garbage" "$URL/v1/chat/completions")" 400 status
}

t_group_with_config_error_is_not_served() {
	expect_eq "$(post '{"model": "broken", "messages": [{"role":"user","content":"x"}]}')" 404 status || return 1
	expect_match "$(grep 'config: ' "$LOG")" 'broken.json: endpoint 1: field \\"timeout\\": must be a number' "log" || return 1
	expect_match "$(grep 'config: ' "$LOG")" 'truncated.json: invalid JSON' "log" || return 1
	expect_match "$(grep 'config: ' "$LOG")" 'unknowntype.json: endpoint 1: field \\"type\\": unknown type \\"azure\\"' "log"
}

t_models_lists_groups() {
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/models")" 200 status || return 1
	expect_json "$T/b" .object list || return 1
	expect_json "$T/b" '[.data[].id] | index("ok") != null' true || return 1
	expect_json "$T/b" '[.data[].id] | index("broken")' null
}

t_health_answers() {
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/health")" 200 status || return 1
	expect_match "$(jq -r .status "$T/b")" '^(ok|degraded)$' status || return 1
	expect_json "$T/b" '.groups.ok.endpoints[0].state' healthy
}

t_still_serving_after_bad_input() {
	expect_eq "$(chat ok)" 200 status
}
