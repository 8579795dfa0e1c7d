# The shared state under attack and under load; health that comes back.

setup_62_state() {
	group stok "[$(ep one ok,id=stok)]"
	group streamhold "[$(ep one gate=sh,id=streamhold)]"
	group onefail "{\"cooldown\": {\"base\": 30}, \"endpoints\": [$(ep flaky status=500,id=onefail '"retries":2'), $(ep next id=onefailb)]}"
	group outage "{\"cooldown\": {\"base\": 1, \"max\": 2}, \"endpoints\": [$(ep primary status=503,fail_until=up,id=outage '"retries":2'), $(ep fallback ok,id=outageb)]}"
}

# state_fcgi METHOD URI BODY [ENV...]: a request to the second immortal
# that gives up after 30 s; answer in $T/f, status printed.
state_fcgi() {
	local method=$1 uri=$2 body=$3; shift 3
	printf '%s' "$body" | timeout 30 env -i REQUEST_METHOD="$method" REQUEST_URI="$uri" \
		CONTENT_LENGTH=${#body} CONTENT_TYPE=application/json "$@" \
		cgi-fcgi -bind -connect "127.0.0.1:$FCGI2_PORT" >"$T/f" 2>&1
	sed -n 's/^Status: \([0-9]*\).*/\1/p' "$T/f" | head -1
}

state_chat_body() { printf '{"model":"%s","stream":%s,"messages":[{"role":"user","content":"hi"}]}' "$1" "${2:-false}"; }

# The name of the test config folder's state file (every folder gets its
# own, and other tests serve other folders): what an immortal run once as
# CGI on $CONF creates in a folder of its own.
state_name() {
	local probe=$T/state-probe
	if [ ! -d "$probe" ]; then
		mkdir -p "$probe"
		env -i PATH="$PATH" IMMORTAL_CONFIG_DIR="$CONF" IMMORTAL_STATE_DIR="$probe" \
			REQUEST_METHOD=GET REQUEST_URI=/v1/health "$BUILD/fcgi/immortal" >/dev/null 2>&1 </dev/null
	fi
	basename "$(ls "$probe"/immortal-*.state | head -1)"
}

streams_gauge() { curl -s "$URL/v1/metrics" | sed -n 's/^immortal_streams_in_flight //p'; }

# state_planted KIND: a second immortal finds a state file planted by
# someone else (KIND: symlink, mode666, nobody); it answers, logs why it
# ignores the file, and leaves the file as it was.
state_planted() {
	local kind=$1 dir=$T/planted-$1 name status
	name=$(state_name) || return 1
	mkdir -p "$dir"
	case $kind in
	symlink) ln -s "$T/planted-target" "$dir/$name" ;;
	mode666) head -c 8192 /dev/zero >"$dir/$name" && chmod 666 "$dir/$name" ;;
	nobody) head -c 8192 /dev/zero >"$dir/$name" && chmod 600 "$dir/$name" && chown nobody "$dir/$name" ;;
	esac
	immortal_start "$FCGI2_PORT" IMMORTAL_STATE_DIR="$dir" || return 1
	status=$(state_fcgi POST /v1/chat/completions "$(state_chat_body stok)")
	immortal_stop "$FCGI2_PORT"
	expect_eq "$status" 200 "status with a planted file ($kind)" || return 1
	expect_match "$(cat "$LOG")" "state file not used: endpoint health and metrics are kept per process.* why=\"?$dir/$name [a-z]" \
		"the log says why the file ($kind) is not used" || return 1
	case $kind in
	symlink) [ ! -e "$T/planted-target" ] || fail "the link's target was created" ;;
	*) expect_eq "$(tr -d '\0' <"$dir/$name" | wc -c)" 0 "the planted file left as it was" ;;
	esac
}

t_state_file_planted_by_others_is_not_trusted() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	state_planted symlink || return 1
	state_planted mode666 || return 1
	# only root can give a file to another user
	if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
		state_planted nobody || return 1
	fi
}

t_state_lock_held_elsewhere_does_not_hang() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	local dir=$T/held hold ok=1 n
	mkdir -p "$dir"
	"$BUILD/tests/state_hold" "$CONF" "$dir" "$T/held.ready" 2>"$T/held.err" &
	hold=$!
	wait_until 10 test -s "$T/held.ready" || { fail "the neighbour never held the lock: $(cat "$T/held.err")"; kill $hold; return 1; }
	immortal_start "$FCGI2_PORT" IMMORTAL_STATE_DIR="$dir" || { kill $hold; return 1; }
	for i in 1 2 3; do
		expect_eq "$(state_fcgi POST /v1/chat/completions "$(state_chat_body stok)")" 200 "chat $i while the lock is held" || ok=0
		expect_eq "$(state_fcgi POST /v1/chat/completions "$(state_chat_body stok true)")" 200 "stream $i while the lock is held" || ok=0
	done
	expect_eq "$(state_fcgi GET /v1/health "")" 200 "health while the lock is held" || ok=0
	expect_eq "$(state_fcgi GET /v1/metrics "")" 200 "metrics while the lock is held" || ok=0
	immortal_stop "$FCGI2_PORT"
	kill $hold; wait $hold 2>/dev/null
	[ $ok = 1 ] || return 1
	n=$(grep -c "state file: path=$dir/.*lock could not be had" "$LOG")
	expect_eq "$n" 1 "log lines about the held lock (once per process)"
}

t_state_longest_group_name_keeps_its_counters() {
	local name
	name=$(printf 'L%.0s' $(seq 128))
	group "$name" "[$(ep one ok,id=longname)]"
	wait_until 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data '$(state_chat_body "$name")' $URL/v1/chat/completions)\" = 200 ]" ||
		{ fail "the group was never served"; return 1; }
	expect_eq "$(chat "$name")" 200 status || return 1
	expect_match "$(curl -s "$URL/v1/metrics")" "immortal_requests_total\\{group=\"$name\",outcome=\"ok\",route=\"chat\"\\} 2" "its requests counted"
}

# state_wave PREFIX N: N groups PREFIXi appear, each is asked once, and
# they disappear again.
state_wave() {
	local i cfg=$T/wave-$1.curl
	: >"$cfg"
	for ((i = 0; i < $2; i++)); do
		group "$1$i" "[$(ep one "ok,id=$1$i")]"
		printf 'url = "%s/v1/chat/completions"\nheader = "Content-Type: application/json"\ndata = "{\\"model\\":\\"%s\\",\\"messages\\":[{\\"role\\":\\"user\\",\\"content\\":\\"hi\\"}]}"\noutput = "/dev/null"\nnext\n' \
			"$URL" "$1$i" >>"$cfg"
	done
	sed -i '$d' "$cfg"   # no `next` after the last one
	wait_until 20 bash -c "[ \"\$(curl -s $URL/v1/models | jq '[.data[].id | select(startswith(\"$1\"))] | length')\" = $2 ]" ||
		{ fail "wave $1 was not loaded"; return 1; }
	expect_eq "$(curl -s --parallel --parallel-max 8 -K "$cfg" -w '%{http_code}\n' | sort -u)" 200 "answers to wave $1" || return 1
	rm -f "$CONF/$1"*.json
	wait_until 20 bash -c "[ \"\$(curl -s $URL/v1/models | jq '[.data[].id | select(startswith(\"$1\"))] | length')\" = 0 ]" ||
		fail "wave $1 did not go"
}

t_state_tables_survive_thousands_of_groups() {
	local i cfg=$T/unknown.curl
	# thousands of names nobody configured
	: >"$cfg"
	for ((i = 0; i < 2000; i++)); do
		printf 'url = "%s/v1/chat/completions"\nheader = "Content-Type: application/json"\ndata = "{\\"model\\":\\"nosuch%d-%d\\",\\"messages\\":[{\\"role\\":\\"user\\",\\"content\\":\\"hi\\"}]}"\noutput = "/dev/null"\nnext\n' \
			"$URL" $i $RANDOM >>"$cfg"
	done
	sed -i '$d' "$cfg"
	expect_eq "$(curl -s --parallel --parallel-max 8 -K "$cfg" -w '%{http_code}\n' | sort -u)" 404 "answers to unknown groups" || return 1
	# two waves of a thousand groups with endpoints of their own come and go
	state_wave churna 1000 || return 1
	state_wave churnb 1000 || return 1
	# a real group's failing endpoint still cools down (once the records
	# of the groups that went are reclaimed)
	group realcool "{\"cooldown\": {\"base\": 600}, \"endpoints\": [$(ep bad status=500,id=realcool '"retries":0'), $(ep next id=realcoolb)]}"
	wait_until 90 bash -c "curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data '$(state_chat_body realcool)' $URL/v1/chat/completions;
		[ \"\$(curl -s $URL/v1/health | jq -r '.groups.realcool.endpoints[0].state')\" = cooling ]" ||
		{ fail "the real group's endpoint never cooled down"; return 1; }
	expect_eq "$(chat realcool)" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next "endpoint while the failing one cools down" || return 1
	# whether the tables filled up depends on how fast the waves came (the
	# unit tests count a full table); the counter is always there
	expect_match "$(curl -s "$URL/v1/metrics")" 'immortal_state_table_full_total [0-9]+' "the table-full counter"
}

t_state_killed_process_leaves_no_streams() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	local base pid client body
	base=$(streams_gauge)
	immortal_start "$FCGI2_PORT" || return 1
	pid=$(immortal_pid "$FCGI2_PORT")
	body=$(state_chat_body streamhold true)
	(printf '%s' "$body" | env -i REQUEST_METHOD=POST REQUEST_URI=/v1/chat/completions CONTENT_LENGTH=${#body} \
		cgi-fcgi -bind -connect "127.0.0.1:$FCGI2_PORT" >/dev/null 2>&1) &
	client=$!
	wait_until 10 mock_is gate=sh,id=streamhold active 1 || { fail "the stream did not start"; kill -9 $pid; return 1; }
	expect_eq "$(streams_gauge)" $((base + 1)) "streams in flight while the second process streams" || { kill -9 $pid; return 1; }
	kill -9 "$pid"
	wait $client 2>/dev/null
	curl -s "$MOCK/control/release?gate=sh" >/dev/null
	wait_until 10 bash -c "[ \"\$(curl -s $URL/v1/metrics | sed -n 's/^immortal_streams_in_flight //p')\" = $base ]" ||
		fail "streams in flight stay at $(streams_gauge) after the process died (expected $base)"
}

t_health_retries_count_as_one_failure() {
	expect_eq "$(chat onefail)" 200 status || return 1
	expect_eq "$(mock_stat status=500,id=onefail requests)" 3 "attempts (one and two retries)" || return 1
	curl -s "$URL/v1/health" >"$T/b"
	expect_json "$T/b" '.groups.onefail.endpoints[0].consecutive_failures' 1
}

t_health_outage_served_by_fallback_until_primary_returns() {
	local key=status=503,fail_until=up,id=outage n=0 failures=0 attempts
	# requests at a steady rate until the primary failed four times, that
	# is until three of its cooldowns ran out
	while [ "$failures" -lt 4 ]; do
		expect_eq "$(chat outage)" 200 "status during the outage" || return 1
		expect_eq "$(header X-Immortal-Endpoint)" fallback "endpoint during the outage" || return 1
		failures=$(curl -s "$URL/v1/health" | jq -r '.groups.outage.endpoints[0].consecutive_failures')
		n=$((n + 1))
		[ $n -lt 600 ] || { fail "the primary was not tried again ($failures failures)"; return 1; }
		sleep 0.1   # the rate of arrivals, not a wait for something
	done
	attempts=$(mock_stat "$key" requests)
	# the first failure came with its two retries; each cooldown since let
	# one attempt through, with no retries (a half-open trial)
	expect_eq "$attempts" $((3 + failures - 1)) "attempts at the primary for $failures failures in $n requests" || return 1
	curl -s "$MOCK/control/release?gate=up" >/dev/null
	# back in use within its cooldown.max (2 s) of recovering
	wait_until 30 bash -c "curl -s -o /dev/null -D '$T/h' -X POST -H 'Content-Type: application/json' --data '$(state_chat_body outage)' $URL/v1/chat/completions;
		grep -qi '^X-Immortal-Endpoint: primary' '$T/h'" ||
		{ fail "the primary was not used again after it recovered"; return 1; }
	curl -s "$URL/v1/health" >"$T/b"
	expect_json "$T/b" '.groups.outage.endpoints[0].state' healthy
}
