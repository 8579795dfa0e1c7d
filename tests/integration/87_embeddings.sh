# POST .../embeddings: the same failover as chat, over OpenAI-style
# endpoints; anthropic endpoints are passed over; the official openai npm
# client works against it.

setup_87_embeddings() {
	group emb "[$(ep one ok,id=emb1)]"
	group emb_refused "[$(ep_refused dead emb), $(ep next id=emb_refused)]"
	group emb_500 "[$(ep flaky status=500,id=emb500 '"retries":0'), $(ep next id=emb500b)]"
	group emb_429 "[$(ep limited status=429,id=emb429), $(ep next id=emb429b)]"
	group emb_400 "[$(ep picky status=400,id=emb400)]"
	group emb_anth "[$(ep claude ok,id=embanth '"type":"anthropic"')]"
	group emb_mixed "[$(ep claude ok,id=embmix1 '"type":"anthropic"'), $(ep next id=embmix2)]"
	group emb_sdk "[$(ep_refused dead embsdk), $(ep next id=embsdk)]"
	group emb_gem "[$(ep_refused dead embgem), $(ep gem ok,id=embgem '"type":"gemini"')]"
}

# A gemini endpoint is asked through batchEmbedContents and answers in
# OpenAI's shape, with the same vectors the OpenAI-style mock gives.
t_embeddings_gemini_translated() {
	expect_eq "$(route_post embeddings '{"model":"emb","input":["alpha","beta"]}')" 200 "openai status" || return 1
	local want
	want=$(jq -c '[.data[].embedding]' "$T/b")
	expect_eq "$(route_post embeddings '{"model":"emb_gem","input":["alpha","beta"]}')" 200 "gemini status" || return 1
	expect_json "$T/b" '.object' list || return 1
	expect_json "$T/b" '.data | length' 2 || return 1
	expect_eq "$(jq -c '[.data[].embedding]' "$T/b")" "$want" "vectors" || return 1
	expect_json "$T/b" '.usage.prompt_tokens > 0' true || return 1
	expect_eq "$(header X-Immortal-Endpoint)" gem endpoint || return 1
	curl -s "$MOCK/control/last?key=ok,id=embgem" >"$T/last"
	expect_json "$T/last" '.path' /ok,id=embgem/v1/models/model-gem:batchEmbedContents
}

t_embeddings_answer() {
	expect_eq "$(route_post embeddings '{"model":"emb","input":["alpha","beta"],"user":"u1"}')" 200 status || return 1
	expect_json "$T/b" '.object' list || return 1
	expect_json "$T/b" '.data | length' 2 || return 1
	expect_json "$T/b" '.data[1].index' 1 || return 1
	expect_json "$T/b" '.data[0].object' embedding || return 1
	expect_json "$T/b" '.data[0].embedding | length' 4 || return 1
	expect_json "$T/b" '.model' model-one || return 1
	# the mock counts a token per four bytes: alpha 2, beta 1
	expect_json "$T/b" '.usage.prompt_tokens' 3 || return 1
	expect_eq "$(header X-Immortal-Endpoint)" one endpoint || return 1
	curl -s "$MOCK/control/last?key=ok,id=emb1" >"$T/last"
	expect_json "$T/last" '.path' /ok,id=emb1/v1/embeddings || return 1
	expect_json "$T/last" '.body.model' model-one || return 1
	expect_json "$T/last" '.body.user' u1 || return 1
	expect_json "$T/last" '.body.input | join(",")' alpha,beta
}

t_embeddings_pass_options() {
	expect_eq "$(route_post embeddings '{"model":"emb","input":"x","dimensions":8}')" 200 status || return 1
	expect_json "$T/b" '.data[0].embedding | length' 8 || return 1
	expect_eq "$(route_post embeddings '{"model":"emb","input":[[1,2,3],[4]],"encoding_format":"base64"}')" 200 status || return 1
	expect_json "$T/b" '.data | length' 2 || return 1
	# 4 float32s: 16 bytes, 24 base64 characters
	expect_json "$T/b" '.data[0].embedding | type + ":" + (length | tostring)' string:24
}

# embed_failover_case GROUP: answered by endpoint next after the first failed.
embed_failover_case() {
	expect_eq "$(route_post embeddings "{\"model\":\"$1\",\"input\":\"hello\"}")" 200 "status of $1" || return 1
	expect_json "$T/b" '.data[0].embedding | length' 4 || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint
}

t_embeddings_failover_refused() {
	embed_failover_case emb_refused || return 1
	expect_match "$(grep 'endpoint=dead ' "$LOG" | tail -1)" 'kind=network'
}

t_embeddings_failover_500() {
	embed_failover_case emb_500 || return 1
	expect_match "$(grep 'endpoint=flaky ' "$LOG" | tail -1)" 'kind=server'
}

t_embeddings_failover_429() {
	embed_failover_case emb_429 || return 1
	expect_match "$(grep 'endpoint=limited ' "$LOG" | tail -1)" 'kind=rate_limit' || return 1
	expect_match "$(grep 'route=/embeddings' "$LOG" | tail -1)" 'outcome=ok'
}

t_embeddings_request_error_is_passed_on() {
	expect_eq "$(route_post embeddings '{"model":"emb_400","input":"x"}')" 400 status || return 1
	expect_json "$T/b" '.error.code' mock_400
}

t_embeddings_anthropic_only_group_400() {
	expect_eq "$(route_post embeddings '{"model":"emb_anth","input":"x"}')" 400 status || return 1
	expect_json "$T/b" '.error.code' route_not_supported || return 1
	expect_match "$(jq -r .error.message "$T/b")" 'no endpoint of group emb_anth can serve /embeddings' || return 1
	expect_eq "$(mock_stat ok,id=embanth requests)" 0 "requests to the anthropic endpoint"
}

t_embeddings_skip_anthropic() {
	expect_eq "$(route_post embeddings '{"model":"emb_mixed","input":"x"}')" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint || return 1
	expect_eq "$(header X-Immortal-Attempts)" 1 attempts || return 1
	expect_match "$(grep 'endpoint=claude .*skipped: cannot serve this route' "$LOG" | tail -1)" 'route=/embeddings'
}

t_embeddings_bad_requests() {
	expect_eq "$(route_post embeddings '{"model":"emb"}')" 400 "no input" || return 1
	expect_json "$T/b" '.error.param' input || return 1
	expect_eq "$(route_post embeddings '{"model":"emb","input":[]}')" 400 "empty input" || return 1
	expect_eq "$(route_post embeddings '{"model":"emb","input":[1,"a"]}')" 400 "mixed input" || return 1
	expect_eq "$(route_post embeddings '{"model":"emb","input":"x","encoding_format":"hex"}')" 400 "encoding" || return 1
	expect_json "$T/b" '.error.param' encoding_format || return 1
	expect_eq "$(route_post embeddings '{"model":"emb","input":"x","dimensions":0}')" 400 "dimensions" || return 1
	expect_eq "$(route_post embeddings '{"model":"emb",')" 400 "bad JSON" || return 1
	expect_json "$T/b" '.error.type' invalid_request_error || return 1
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/embeddings")" 405 "GET" || return 1
	expect_eq "$(route_post embeddingz '{"model":"emb","input":"x"}')" 404 "unknown route" || return 1
	expect_eq "$(route_post embeddings '{"model":"nosuch","input":"x"}')" 404 "unknown group"
}

t_embeddings_openai_sdk() {
	local node_dir=$BUILD/node/node_modules
	[ -d "$node_dir/openai" ] || { echo "the openai npm package is not in $node_dir (npm install failed, or no npm)"; return 77; }
	NODE_PATH=$node_dir node "$TOP/tests/clients/openai_embed.js" "$URL/v1" emb_sdk >"$T/sdk" 2>&1 ||
		{ cat "$T/sdk"; fail "the openai client failed"; return 1; }
	expect_eq "$(cat "$T/sdk")" "ok 2 4 4 next" "openai client result"
}
