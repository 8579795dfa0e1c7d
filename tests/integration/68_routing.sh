# Routing (issue 13): key pools, priority tiers, weighted, latency and
# sticky strategies, seen through the mock's per-key counts and its log.

K1=sk-pool-key-one-0001
K2=sk-pool-key-two-0002
K3=sk-pool-key-three-0003

# pool NAME OPTS: an endpoint on the mock with the three keys above.
pool() {
	printf '{"name":"%s","baseurl":"%s/%s/v1","apikey":["%s","%s","%s"],"model":"model-%s"}' \
		"$1" "$MOCK" "$2" "$K1" "$K2" "$K3" "$1"
}

setup_68_routing() {
	group weighted "{\"strategy\": \"weighted\", \"endpoints\": [$(ep heavy ok,id=wh '"weight":3'), $(ep light ok,id=wl '"weight":1'), $(ep spare ok,id=ws '"priority":1')]}"
	group latency "{\"strategy\": \"latency\", \"endpoints\": [$(ep slow first_delay=400,id=lslow), $(ep fast ok,id=lfast)]}"
	group sticky "{\"strategy\": \"sticky\", \"endpoints\": [$(ep s1 ok,id=st1), $(ep s2 ok,id=st2), $(ep s3 ok,id=st3)]}"
	group pool429 "[$(pool keys keyfail=0001:429,id=p429), $(ep next ok,id=p429b)]"
	group pool401 "[$(pool keys keyfail=0002:401+0001:401,id=p401), $(ep next ok,id=p401b)]"
	group shared "[$(pool keys ok,id=pshare), $(ep next ok,id=psharen)]"
	group sharedfail "[$(pool keys keyfail=0003:401,id=pshf), $(ep next ok,id=pshfn)]"
}

# routing_fcgi BODY: a chat request to the second immortal; prints the status.
routing_fcgi() {
	printf '%s' "$1" | timeout 30 env -i REQUEST_METHOD=POST REQUEST_URI=/v1/chat/completions \
		CONTENT_LENGTH=${#1} CONTENT_TYPE=application/json \
		cgi-fcgi -bind -connect "127.0.0.1:$FCGI2_PORT" >"$T/f" 2>&1
	sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/f" | head -1
}

routing_body() { printf '{"model":"%s","messages":[{"role":"user","content":"hi"}]%s}' "$1" "${2:+,$2}"; }

# keys_of OPTS: the keys the mock saw for OPTS, in arrival order, one a line.
keys_of() { curl -s "$MOCK/control/log" | jq -r --arg o "$1" '.[] | select(.opts == $o) | .key'; }

t_routing_weighted_shares() {
	local n=2000 heavy light spare
	post_many "$n" 8 "$(routing_body weighted)" >/dev/null
	heavy=$(mock_stat ok,id=wh requests); light=$(mock_stat ok,id=wl requests)
	spare=$(mock_stat ok,id=ws requests)
	expect_eq "$((heavy + light))" "$n" "requests served by the first tier" || return 1
	expect_eq "$spare" 0 "requests to the second tier" || return 1
	# 75 % within 5 points
	[ "$heavy" -ge 1400 ] && [ "$heavy" -le 1600 ] ||
		fail "heavy endpoint got $heavy of $n (weight 3 of 4: 1400..1600)"
}

t_routing_latency_prefers_the_fast_endpoint() {
	local i fast slow
	for i in 1 2 3; do expect_eq "$(chat latency)" 200 "status $i" || return 1; done
	# both have a figure now: the fast one leads
	for i in $(seq 10); do chat latency >/dev/null; done
	fast=$(mock_stat ok,id=lfast requests); slow=$(mock_stat first_delay=400,id=lslow requests)
	[ "$fast" -ge 9 ] || fail "the fast endpoint got $fast of 13 requests (slow: $slow)" || return 1
	# ...and the slow one is still probed now and then
	wait_until 120 bash -c "[ \"\$(curl -s '$MOCK/control/count?key=first_delay=400,id=lslow' | jq .requests)\" -gt $slow ] || { curl -s -o /dev/null -H 'Content-Type: application/json' --data '$(routing_body latency)' $URL/v1/chat/completions; false; }" ||
		fail "the slow endpoint was never probed again"
}

# sticky_map: "user opts" for each logged request of the sticky group.
sticky_map() {
	curl -s "$MOCK/control/log" | jq -r '.[] | select(.opts | test("id=st[0-9]$")) | "\(.user) \(.opts)"' | sort -u
}

t_routing_sticky_users_stay_put() {
	local u before after moved=0 line
	for u in $(seq 40); do chat sticky false "\"user\":\"user-$u\"" >/dev/null; done
	for u in $(seq 40); do chat sticky false "\"user\":\"user-$u\"" >/dev/null; done
	before=$(sticky_map)
	expect_eq "$(wc -l <<<"$before")" 40 "one endpoint per user" || return 1
	for u in 1 2 3; do
		[ "$(grep -c "id=st$u\$" <<<"$before")" -gt 0 ] || fail "no user on endpoint s$u" || return 1
	done
	# remove s2; wait for the live reload
	group sticky "{\"strategy\": \"sticky\", \"endpoints\": [$(ep s1 ok,id=st1), $(ep s3 ok,id=st3)]}"
	wait_until 10 bash -c "[ \"\$(curl -s $URL/v1/health | jq '.groups.sticky.endpoints | length')\" = 2 ]" ||
		fail "the group was not reloaded" || return 1
	curl -s -X POST "$MOCK/control/reset" >/dev/null
	for u in $(seq 40); do chat sticky false "\"user\":\"user-$u\"" >/dev/null; done
	after=$(sticky_map)
	while read -r line; do
		case $line in *id=st2) continue ;; esac
		grep -qxF "$line" <<<"$after" || { echo "    moved: $line"; moved=$((moved + 1)); }
	done <<<"$before"
	expect_eq "$moved" 0 "users moved off an endpoint that stayed"
}

t_routing_key_rotation_on_429() {
	local i
	for i in $(seq 6); do
		expect_eq "$(chat pool429)" 200 "status $i" || return 1
		expect_eq "$(header X-Immortal-Endpoint)" keys "endpoint $i" || return 1
	done
	expect_eq "$(mock_stat ok,id=p429b requests)" 0 "requests to the next endpoint" || return 1
	expect_eq "$(keys_of keyfail=0001:429,id=p429 | grep -c 0001)" 1 "requests with the rate-limited key" || return 1
	grep -q 'key=.*…0001\|"key":"1/…0001"' "$LOG" || grep -q '1/…0001' "$LOG" ||
		fail "the log does not name the key by position and last four characters" || return 1
	if grep -q "$K1" "$LOG"; then fail "a whole key in the log"; fi
}

t_routing_key_rotation_on_401() {
	local i
	for i in $(seq 4); do
		expect_eq "$(chat pool401)" 200 "status $i" || return 1
		expect_eq "$(header X-Immortal-Endpoint)" keys "endpoint $i" || return 1
	done
	expect_eq "$(mock_stat ok,id=p401b requests)" 0 "requests to the next endpoint" || return 1
	expect_eq "$(keys_of keyfail=0002:401+0001:401,id=p401 | grep -c 0003)" 4 "answers from the working key" || return 1
	# /health shows each key's own health, named by position and last four characters
	curl -s "$URL/v1/health" >"$T/b"
	expect_json "$T/b" '.groups.pool401.endpoints[0].state' healthy || return 1
	expect_json "$T/b" '.groups.pool401.endpoints[0].keys[0].key' '1/…0001' || return 1
	expect_json "$T/b" '.groups.pool401.endpoints[0].keys[0].state' cooling || return 1
	expect_json "$T/b" '.groups.pool401.endpoints[0].keys[1].last_error' auth || return 1
	expect_json "$T/b" '.groups.pool401.endpoints[0].keys[2].state' healthy || return 1
	if grep -q "$K1\|$K2\|$K3" "$T/b"; then fail "a whole key in /health"; return 1; fi
	curl -s "$URL/v1/metrics" >"$T/b"
	grep -qF 'immortal_key_cooldown_seconds{group="pool401",endpoint="keys",key="3/…0003"} 0.000' "$T/b" ||
		fail "no cooldown gauge of the working key in /metrics" || return 1
	grep -q 'immortal_key_cooldown_seconds{group="pool401",endpoint="keys",key="1/…0001"} [1-9]' "$T/b" ||
		fail "no cooldown of the revoked key in /metrics" || return 1
	if grep -q "$K1\|$K2\|$K3" "$T/b"; then fail "a whole key in /metrics"; fi
}

t_routing_processes_share_rotation_and_key_health() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	local i seq
	immortal_start "$FCGI2_PORT" || return 1
	for i in 1 2 3; do
		expect_eq "$(chat shared)" 200 "status via the first process" || break
		expect_eq "$(routing_fcgi "$(routing_body shared)")" 200 "status via the second process" || break
	done
	# the turn is shared: six requests, alternating processes, use each key twice
	seq=$(keys_of ok,id=pshare | tr '\n' ' ')
	for k in $K1 $K2 $K3; do
		[ "$(keys_of ok,id=pshare | grep -c "$k")" = 2 ] || { fail "keys in order: $seq"; immortal_stop "$FCGI2_PORT"; return 1; }
	done
	# a revoked key found by one process is skipped by the other
	for i in 1 2 3; do chat sharedfail >/dev/null; done
	for i in 1 2 3 4 5 6; do routing_fcgi "$(routing_body sharedfail)" >/dev/null; done
	immortal_stop "$FCGI2_PORT"
	expect_eq "$(keys_of keyfail=0003:401,id=pshf | grep -c 0003)" 1 "requests with the revoked key"
}
