# Ordered failover: one test per error kind, retries, and the final answers.

setup_10_failover() {
	group ok "[$(ep one ok,id=ok)]"
	group refused "[$(ep_refused dead refused), $(ep next id=refused)]"
	group auth "[$(ep bad status=401,id=auth), $(ep next id=auth2)]"
	group perm "[$(ep bad status=403,id=perm), $(ep next id=perm2)]"
	group hang "[$(ep slow hang,id=hang '"timeout":1'), $(ep next id=hang2)]"
	group e500 "[$(ep flaky status=500,id=e500), $(ep next id=e500b)]"
	group e500once "[$(ep flaky status=500,fail_first=1,id=e500once), $(ep next id=e500onceb)]"
	group e500noretry "[$(ep flaky status=500,id=e500nr '"retries":0'), $(ep next id=e500nrb)]"
	group r429 "[$(ep limited status=429,retry_after=1,fail_first=1,id=r429), $(ep next id=r429b)]"
	group r429long "[$(ep limited status=429,retry_after=30,id=r429l), $(ep next id=r429lb)]"
	group badreq "[$(ep picky status=400,id=badreq), $(ep next id=badreq2)]"
	group allreq "[$(ep picky status=400,id=allreq1), $(ep picky2 status=422,code=bad_field,id=allreq2)]"
	group filter "[$(ep strict status=400,code=content_policy_violation,id=filter), $(ep next id=filter2)]"
	group filterover "{\"failover_on_content_filter\": true, \"endpoints\": [$(ep strict status=400,code=content_policy_violation,id=filtero), $(ep next id=filtero2)]}"
	group garbage "[$(ep junk garbage,id=garbage), $(ep next id=garbage2)]"
	group orerror "[$(ep router or_error,id=orerr '"type":"openrouter"'), $(ep next id=orerr2)]"
	group sseerror "[$(ep broken sse_error,id=sseerr '"stream":true'), $(ep next id=sseerr2)]"
	group emptystream "[$(ep mute empty,id=empty '"stream":true'), $(ep next id=empty2)]"
	group allfail "[$(ep_refused dead allfail), $(ep bad status=401,id=allf), $(ep flaky status=503,id=allf2 '"retries":0')]"
}

t_ok_answer() {
	expect_eq "$(chat ok)" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5' || return 1
	expect_json "$T/b" '.model' 'model-one' || return 1
	expect_eq "$(header X-Immortal-Endpoint)" one endpoint || return 1
	expect_eq "$(header X-Immortal-Attempts)" 1 attempts
}

# failover_case GROUP SERVED ATTEMPTS: the request succeeds via SERVED.
failover_case() {
	expect_eq "$(chat "$1")" 200 "status of $1" || return 1
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5' || return 1
	expect_eq "$(header X-Immortal-Endpoint)" "$2" endpoint || return 1
	expect_eq "$(header X-Immortal-Attempts)" "$3" attempts
}

t_network_refused_fails_over() {
	failover_case refused next 2 || return 1
	expect_match "$(grep 'endpoint=dead ' "$LOG" | tail -1)" 'kind=network' log
}

t_auth_fails_over_without_retry() {
	failover_case auth next 2 || return 1
	expect_eq "$(mock_stat status=401,id=auth requests)" 1 "requests to the 401 endpoint" || return 1
	expect_match "$(grep 'endpoint=bad .*kind=auth' "$LOG" | tail -1)" 'hint="endpoint bad: check the apikey' log
}

t_permission_fails_over() {
	failover_case perm next 2 || return 1
	expect_match "$(grep 'endpoint=bad .*status=403' "$LOG" | tail -1)" 'kind=permission' log
}

t_timeout_fails_over_without_retry() {
	failover_case hang next 2 || return 1
	expect_match "$(grep 'endpoint=slow ' "$LOG" | tail -1)" 'kind=timeout' log || return 1
	wait_until 5 mock_is hang,id=hang aborted 1 ||
		fail "the hung upstream transfer was not aborted"
}

t_server_error_retried_once_then_fails_over() {
	failover_case e500 next 3 || return 1
	expect_eq "$(mock_stat status=500,id=e500 requests)" 2 "requests to the 500 endpoint"
}

t_server_error_retry_succeeds_on_same_endpoint() {
	failover_case e500once flaky 2 || return 1
	expect_eq "$(mock_stat status=500,fail_first=1,id=e500once requests)" 2 "requests to the flaky endpoint"
}

t_retries_zero_disables_retry() {
	failover_case e500noretry next 2 || return 1
	expect_eq "$(mock_stat status=500,id=e500nr requests)" 1 "requests to the 500 endpoint"
}

t_rate_limit_retried_after_retry_after() {
	failover_case r429 limited 2 || return 1
	expect_eq "$(mock_stat status=429,retry_after=1,fail_first=1,id=r429 requests)" 2 "requests to the 429 endpoint" || return 1
	expect_match "$(grep 'endpoint=limited .*attempt=1 ' "$LOG" | tail -1)" 'kind=rate_limit' log
}

t_long_retry_after_moves_on_at_once() {
	failover_case r429long next 2 || return 1
	expect_eq "$(mock_stat status=429,retry_after=30,id=r429l requests)" 1 "requests to the 429 endpoint"
}

t_request_error_fails_over() {
	failover_case badreq next 2 || return 1
	expect_match "$(grep 'endpoint=picky ' "$LOG" | tail -1)" 'kind=request' log
}

t_all_request_errors_return_last_4xx() {
	expect_eq "$(chat allreq)" 422 status || return 1
	expect_json "$T/b" '.error.code' 'bad_field'
}

t_content_filter_goes_back_to_client() {
	expect_eq "$(chat filter)" 400 status || return 1
	expect_json "$T/b" '.error.code' 'content_policy_violation' || return 1
	expect_eq "$(mock_stat id=filter2 requests)" 0 "requests to the next endpoint"
}

t_content_filter_fails_over_when_group_says_so() {
	failover_case filterover next 2
}

t_garbage_answer_fails_over() {
	failover_case garbage next 2 || return 1
	expect_match "$(grep 'endpoint=junk ' "$LOG" | tail -1)" 'kind=invalid_response' log
}

t_openrouter_200_with_error_fails_over() {
	failover_case orerror next 2 || return 1
	expect_match "$(grep 'endpoint=router ' "$LOG" | tail -1)" 'kind=invalid_response' log
}

t_sse_error_before_content_fails_over() {
	failover_case sseerror next 2 || return 1
	expect_match "$(grep 'endpoint=broken ' "$LOG" | tail -1)" 'kind=invalid_response' log
}

t_stream_without_content_fails_over() {
	failover_case emptystream next 2 || return 1
	expect_match "$(grep 'endpoint=mute ' "$LOG" | tail -1)" 'kind=invalid_response' log
}

t_all_failed_is_502_with_attempts() {
	expect_eq "$(chat allfail)" 502 status || return 1
	expect_json "$T/b" '.error.code' all_endpoints_failed || return 1
	expect_json "$T/b" '.error.type' upstream_error || return 1
	expect_json "$T/b" '[.error.attempts[].kind] | join(",")' 'network,auth,server' || return 1
	expect_match "$(jq -r .error.message "$T/b")" '^all 3 endpoints of group allfail failed; last: ' message || return 1
	expect_no_match "$(cat "$T/b" "$T/h")" "$SECRET" "the answer"
}
