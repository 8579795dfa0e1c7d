# Endpoint health, live configuration, access keys, the operator's view.

setup_60_health() {
	group cool401 "[$(ep bad status=401,id=c401), $(ep next id=c401b)]"
	group cool429 "[$(ep limited status=429,retry_after=2,fail_first=1,id=c429 '"retries":0'), $(ep next id=c429b)]"
	group recover "{\"cooldown\": {\"base\": 1}, \"endpoints\": [$(ep flaky status=500,fail_first=1,id=rec '"retries":0'), $(ep next id=recb)]}"
	group halfopen "{\"cooldown\": {\"base\": 1}, \"endpoints\": [$(ep flaky status=500,fail_first=1,gate=half,id=half '"retries":0'), $(ep next id=halfb)]}"
	group allcool "{\"cooldown\": {\"auth\": 600}, \"endpoints\": [$(ep bad1 status=401,fail_first=1,id=ac1), $(ep bad2 status=401,fail_first=1,id=ac2)]}"
	group shared401 "[$(ep bad status=401,id=s401), $(ep next id=s401b)]"
	group editme "[$(ep one ok,id=edit)]"
	group reloadme "[$(ep one gate=rl,id=reload)]"
	group drain "[$(ep one gate=dr,id=drain)]"
	group sharea "[$(ep one ok,id=shared)]"
	group shareb "[$(ep one ok,id=shared)]"
	printf 'k-all\n' >"$T/keys.txt"
}

# fcgi2 METHOD URI [BODY] [ENV...]: a request straight to the FastCGI port
# of the second immortal; the answer (headers and body) goes to $T/f.
fcgi2() {
	local method=$1 uri=$2 body=${3:-}; shift 3 2>/dev/null || shift $#
	printf '%s' "$body" | env -i REQUEST_METHOD="$method" REQUEST_URI="$uri" \
		CONTENT_LENGTH=${#body} CONTENT_TYPE=application/json "$@" \
		cgi-fcgi -bind -connect "127.0.0.1:$FCGI2_PORT" >"$T/f" 2>&1
	sed '1,/^\r$/d' "$T/f" >"$T/b"
}

fcgi2_status() { sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/f" | head -1; }

chat_body() { printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]}' "$1"; }

health_state() { curl -s "$URL/v1/health" | jq -r ".groups[\"$1\"].endpoints[] | select(.name == \"$2\") | .state"; }

t_auth_failure_cools_endpoint_down() {
	expect_eq "$(chat cool401)" 200 status || return 1
	expect_eq "$(chat cool401)" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint || return 1
	expect_eq "$(header X-Immortal-Attempts)" 1 "attempts of the second request" || return 1
	expect_eq "$(mock_stat status=401,id=c401 requests)" 1 "requests to the 401 endpoint" || return 1
	expect_eq "$(health_state cool401 bad)" cooling "health state" || return 1
	curl -s "$URL/v1/health" >"$T/b"
	expect_json "$T/b" '.groups.cool401.endpoints[0].last_error' auth || return 1
	expect_match "$(jq -r '.groups.cool401.endpoints[0].cooldown_seconds' "$T/b")" '^(2[0-9][0-9]|300)(\.|$)' "cooldown near 300 s"
}

t_rate_limit_cooldown_follows_retry_after() {
	local t0 elapsed
	expect_eq "$(chat cool429)" 200 status || return 1
	t0=$(date +%s%N)
	expect_eq "$(header X-Immortal-Endpoint)" next "first request" || return 1
	# Ask again until the 429 endpoint is tried again: not before 2 s.
	wait_until 10 bash -c "[ \"\$(curl -s '$MOCK/control/count?key=status=429,retry_after=2,fail_first=1,id=c429' | jq .requests)\" = 2 ] || { curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data '$(chat_body cool429)' $URL/v1/chat/completions; false; }" ||
		{ fail "the endpoint was never tried again"; return 1; }
	elapsed=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$elapsed" -ge 1900 ] || fail "tried again after ${elapsed} ms, before its Retry-After of 2 s"
}

t_trial_after_cooldown_restores_endpoint() {
	expect_eq "$(chat recover)" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next "while cooling" || return 1
	wait_until 10 bash -c "[ \"\$(curl -s '$URL/v1/health' | jq -r '.groups.recover.endpoints[0].state')\" = half_open ]" ||
		{ fail "never half-open"; return 1; }
	expect_eq "$(chat recover)" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" flaky "the trial" || return 1
	expect_eq "$(health_state recover flaky)" healthy "state after the trial"
}

t_half_open_allows_one_trial_at_a_time() {
	expect_eq "$(chat halfopen)" 200 status || return 1
	wait_until 10 bash -c "[ \"\$(curl -s '$URL/v1/health' | jq -r '.groups.halfopen.endpoints[0].state')\" = half_open ]" ||
		{ fail "never half-open"; return 1; }
	: >"$T/s"
	stream_open halfopen
	stream_read_until '"content":"w1"' || { kill $SPID; fail "the trial did not start"; return 1; }
	expect_eq "$(chat halfopen)" 200 "status during the trial" || { kill $SPID; return 1; }
	expect_eq "$(header X-Immortal-Endpoint)" next "endpoint during the trial" || { kill $SPID; return 1; }
	expect_eq "$(mock_stat status=500,fail_first=1,gate=half,id=half requests)" 2 "requests to the endpoint on trial" || { kill $SPID; return 1; }
	expect_eq "$(health_state halfopen flaky)" trial "state during the trial" || { kill $SPID; return 1; }
	curl -s "$MOCK/control/release?gate=half" >/dev/null
	cat <&"$SFD" >>"$T/s"; exec {SFD}<&-
	expect_eq "$(sse_done_count "$T/s")" 1 "the trial's [DONE]" || return 1
	expect_eq "$(health_state halfopen flaky)" healthy "state after the trial"
}

t_cooldown_never_fails_a_request_by_itself() {
	# Both endpoints fail once with 401 and cool down for 600 s; still, the
	# next request tries them (soonest-healthy first) and gets an answer.
	expect_eq "$(chat allcool)" 502 "first status" || return 1
	expect_eq "$(chat allcool)" 200 "status while all cool down" || return 1
	expect_eq "$(header X-Immortal-Endpoint)" bad1 "endpoint"
}

t_processes_share_cooldowns() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	immortal_start "$FCGI2_PORT" || return 1
	expect_eq "$(chat shared401)" 200 "status via the first process" || { immortal_stop "$FCGI2_PORT"; return 1; }
	fcgi2 POST /v1/chat/completions "$(chat_body shared401)"
	immortal_stop "$FCGI2_PORT"
	expect_eq "$(fcgi2_status)" 200 "status via the second process" || return 1
	expect_eq "$(mock_stat status=401,id=s401 requests)" 1 "requests to the 401 endpoint"
}

t_group_added_while_running_is_served() {
	group added "[$(ep one ok,id=added)]"
	wait_until 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '$(chat_body added)' $URL/v1/chat/completions)\" = 200 ]" ||
		fail "the new group was not served"
}

t_group_removed_while_running_is_gone() {
	group removeme "[$(ep one ok,id=removed)]"
	wait_until 10 bash -c "curl -s $URL/v1/models | jq -e '.data | map(.id) | index(\"removeme\")'" || { fail "never added"; return 1; }
	rm "$CONF/removeme.json"
	wait_until 10 bash -c "curl -s $URL/v1/models | jq -e '.data | map(.id) | index(\"removeme\") == null'" ||
		fail "the removed group is still listed"
}

t_broken_edit_keeps_last_good_version() {
	expect_eq "$(chat editme)" 200 "status before" || return 1
	printf '[{"baseurl": "nope", "model": ' >"$CONF/editme.json"
	wait_until 10 grep -q 'last good version of group editme' "$LOG" || { fail "no log line about the broken edit"; return 1; }
	expect_eq "$(chat editme)" 200 "status after the broken edit" || return 1
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5'
}

t_stream_in_flight_survives_reload() {
	local loads
	: >"$T/s"
	stream_open reloadme
	stream_read_until '"content":"w1"' || { kill $SPID; fail "no first chunk"; return 1; }
	loads=$(grep -c 'group(s) loaded' "$LOG")
	group reloadme "[$(ep_refused gone reloadme)]"
	wait_until 10 bash -c "[ \$(grep -c 'group(s) loaded' '$LOG') -gt $loads ]" || { kill $SPID; fail "no reload"; return 1; }
	curl -s "$MOCK/control/release?gate=rl" >/dev/null
	cat <&"$SFD" >>"$T/s"; exec {SFD}<&-
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text || return 1
	expect_eq "$(sse_done_count "$T/s")" 1 "[DONE] count"
}

t_access_keys_accept_and_refuse() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	printf '{"k-all": ["*"], "k-some": ["ok", "stream"]}\n' >"$T/keys.json"
	immortal_start "$FCGI2_PORT" IMMORTAL_ACCESS_KEYS_FILE="$T/keys.json" || return 1
	local ok=0
	{
		fcgi2 POST /v1/chat/completions "$(chat_body ok)"
		expect_eq "$(fcgi2_status)" 401 "no key" && expect_json "$T/b" .error.code invalid_api_key &&
		fcgi2 POST /v1/chat/completions "$(chat_body ok)" HTTP_AUTHORIZATION="Bearer k-wrong" &&
		expect_eq "$(fcgi2_status)" 401 "unknown key" &&
		fcgi2 POST /v1/chat/completions "$(chat_body ok)" HTTP_AUTHORIZATION="Bearer k-some" &&
		expect_eq "$(fcgi2_status)" 200 "allowed group" &&
		fcgi2 POST /v1/chat/completions "$(chat_body agg)" HTTP_AUTHORIZATION="Bearer k-some" &&
		expect_eq "$(fcgi2_status)" 403 "group outside the key's list" &&
		fcgi2 POST /v1/chat/completions "$(chat_body agg)" HTTP_AUTHORIZATION="Bearer k-all" &&
		expect_eq "$(fcgi2_status)" 200 "key for all groups" &&
		fcgi2 GET /v1/models "" HTTP_AUTHORIZATION="Bearer k-some" &&
		expect_json "$T/b" '[.data[].id] | sort | join(",")' "ok,stream" &&
		fcgi2 GET /v1/models "" &&
		expect_eq "$(fcgi2_status)" 401 "models without key" &&
		fcgi2 GET /v1/health "" &&
		expect_eq "$(fcgi2_status)" 200 "health stays open" &&
		fcgi2 GET /v1/metrics "" &&
		expect_eq "$(fcgi2_status)" 200 "metrics stay open" && ok=1
	}
	immortal_stop "$FCGI2_PORT"
	[ $ok = 1 ] || return 1
	expect_no_match "$(cat "$LOG")" 'k-some|k-all' "keys in the log"
}

t_protect_metrics_needs_a_key() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	immortal_start "$FCGI2_PORT" IMMORTAL_ACCESS_KEYS_FILE="$T/keys.txt" IMMORTAL_PROTECT_METRICS=true || return 1
	local ok=0
	fcgi2 GET /v1/metrics "" && expect_eq "$(fcgi2_status)" 401 "metrics without key" &&
	fcgi2 GET /v1/health "" && expect_eq "$(fcgi2_status)" 401 "health without key" &&
	fcgi2 GET /v1/metrics "" HTTP_AUTHORIZATION="Bearer k-all" && expect_eq "$(fcgi2_status)" 200 "metrics with key" && ok=1
	immortal_stop "$FCGI2_PORT"
	[ $ok = 1 ]
}

t_metrics_report_what_happened() {
	curl -s -o "$T/m" -D "$T/h" "$URL/v1/metrics" || return 1
	expect_match "$(header Content-Type)" '^text/plain' content-type || return 1
	expect_match "$(cat "$T/m")" 'immortal_attempts_total\{group="cool401",endpoint="bad",kind="auth"\} 1' "auth attempts" || return 1
	expect_match "$(cat "$T/m")" 'immortal_requests_total\{group="cool401",outcome="ok",route="chat"\} 2' "requests" || return 1
	expect_match "$(cat "$T/m")" 'immortal_endpoint_state\{group="cool401",endpoint="bad",state="cooling"\} 1' "state" || return 1
	expect_match "$(cat "$T/m")" 'immortal_first_token_seconds_count\{group="ok",endpoint="one"\} [1-9]' "ttft histogram" || return 1
	expect_match "$(cat "$T/m")" 'immortal_streams_in_flight [0-9]+' "streams in flight" || return 1
	# every sample line is NAME{labels} VALUE or NAME VALUE
	expect_eq "$(grep -v '^#' "$T/m" | grep -cvE '^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$')" 0 "malformed lines"
}

t_metrics_count_a_shared_endpoint_per_group() {
	expect_eq "$(chat sharea)" 200 status || return 1
	curl -s -o "$T/m" "$URL/v1/metrics" || return 1
	expect_match "$(cat "$T/m")" 'immortal_attempts_total\{group="sharea",endpoint="one",kind="ok"\} 1' "the group asked" || return 1
	expect_match "$(cat "$T/m")" 'immortal_attempts_total\{group="shareb",endpoint="one",kind="ok"\} 0' "the other group"
}

t_health_strict_is_503_when_degraded() {
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/health")" 200 "plain status" || return 1
	expect_json "$T/b" .status degraded || return 1
	expect_json "$T/b" .groups.cool401.status ok || return 1
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/health?strict")" 503 "strict status"
}

t_sigterm_lets_running_stream_finish() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	immortal_start "$FCGI2_PORT" || return 1
	local pid body
	pid=$(immortal_pid "$FCGI2_PORT")
	body='{"model":"drain","stream":true,"messages":[{"role":"user","content":"hi"}]}'
	(printf '%s' "$body" | env -i REQUEST_METHOD=POST REQUEST_URI=/v1/chat/completions CONTENT_LENGTH=${#body} \
		cgi-fcgi -bind -connect "127.0.0.1:$FCGI2_PORT" >"$T/drain" 2>&1) &
	local client=$!
	wait_until 10 mock_is gate=dr,id=drain active 1 || { fail "stream did not start"; kill -9 $pid; return 1; }
	kill -TERM "$pid"
	wait_until 5 grep -q 'stopping: no new requests' "$LOG" || { fail "no stop logged"; kill -9 $pid; return 1; }
	curl -s "$MOCK/control/release?gate=dr" >/dev/null
	wait $client
	wait_until 10 bash -c "! kill -0 $pid" || { fail "did not exit after the stream"; kill -9 $pid; return 1; }
	expect_eq "$(sse_text "$T/drain")" 'w1 w2 w3 w4 w5' "the stream's text" || return 1
	expect_eq "$(sse_done_count "$T/drain")" 1 "[DONE] count"
}
