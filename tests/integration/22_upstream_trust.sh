# Upstreams that lie: Retry-After values, error answers without end, every
# SSE framing, and the client's values reaching the upstream unchanged.

# The SSE framings the mock can send (tests/MOCK_UPSTREAM.md); fr_N groups.
FRAMINGS=(crlf cr nospace multiline split=1 cr,multiline,nospace,split=3
	crlf,multiline,split=5 bigevent=100,split=1 bigevent=3000000,split=65536
	bigevent=3000000,multiline,crlf,nospace,split=7777)

setup_22_upstream_trust() {
	group ranegative "[$(ep lim status=429,retry_after=-5,id=ran), $(ep next id=ran2)]"
	group rahuge "[$(ep lim status=429,retry_after=99999999999999999999999,id=rah), $(ep next id=rah2)]"
	group rams "[$(ep lim status=429,retry_after_ms=10000,id=ram), $(ep next id=ram2)]"
	group errbig "[$(ep picky status=400,errbody=1000000,id=errbig)]"
	group errendless "[$(ep flaky status=503,errbody=8000000,id=errend '"retries":0'), $(ep next id=errend2)]"
	local i=0 f
	for f in "${FRAMINGS[@]}"; do
		group "fr_$i" "[$(ep framed "$f,id=fr$i" '"stream":true')]"
		i=$((i + 1))
	done
	group bigover "[$(ep huge bigevent=9000000,split=65536,id=bigover '"stream":true'), $(ep next id=bigover2)]"
	group values "[$(ep vals echo,id=values '"temperature":0.1')]"
}

# ---- Retry-After ------------------------------------------------------------

# retry_after_absent GROUP KEY: the 429's hint counted as absent: the endpoint
# is retried once (an absent hint does not forbid it), then cools down for
# the rate_limit default, so the next request does not try it again.
retry_after_absent() {
	expect_eq "$(chat "$1")" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint || return 1
	expect_eq "$(mock_stat "$2" requests)" 2 "requests to the 429 endpoint" || return 1
	expect_eq "$(chat "$1")" 200 "second status" || return 1
	expect_eq "$(mock_stat "$2" requests)" 2 "requests to the cooling 429 endpoint"
}

t_lie_retry_after_negative_counts_as_absent() {
	retry_after_absent ranegative status=429,retry_after=-5,id=ran
}

t_lie_retry_after_huge_counts_as_absent() {
	retry_after_absent rahuge status=429,retry_after=99999999999999999999999,id=rah
}

# (HTTP-dates, which hold a comma, cannot be mock options: the unit table
# in tests/unit/test_retryafter.c covers them.)

# 10 s is over the endpoint's retry_after_max (3 s): no retry on it.
t_lie_retry_after_ms_is_read() {
	expect_eq "$(chat rams)" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint || return 1
	expect_eq "$(mock_stat status=429,retry_after_ms=10000,id=ram requests)" 1 "requests to the 429 endpoint"
}

# ---- error answers ------------------------------------------------------------

t_lie_error_body_capped() {
	expect_eq "$(chat errbig)" 400 status || return 1
	local size
	size=$(stat -c %s "$T/b")
	[ "$size" -le 70000 ] || { fail "the client got $size bytes of the upstream's error"; return 1; }
	expect_json "$T/b" '.error.code' request
}

t_lie_endless_error_body_dropped() {
	expect_eq "$(chat errendless)" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint || return 1
	expect_match "$(grep 'endpoint=flaky .*status=503' "$LOG" | tail -1)" 'connection dropped' log
}

# ---- SSE framing ----------------------------------------------------------------

# sse_events FILE: the data of each event in FILE as a conforming SSE parser
# reads it (any line ends, "data:" with or without its space, comments,
# several data lines), each followed by a line holding 0x1e.
sse_events() {
	perl -0777 -ne '
		s/\r\n|\r/\n/g;
		my $d;
		for my $l (split /\n/, $_, -1) {
			if ($l eq "") {
				if (defined $d) { chop $d; print $d, "\n\x1e\n"; undef $d; }
				next;
			}
			next if $l =~ /^:/;
			my ($f, $v) = $l =~ /^([^:]*):(.*)$/s ? ($1, $2) : ($l, "");
			$v =~ s/^ //;
			$d = (defined $d ? $d : "") . $v . "\n" if $f eq "data";
		}' "$1" | sed 's/chatcmpl-mock-[0-9]*/chatcmpl-mock-N/g'
}

# answer_text: what the chunks in $T/events carry (content, tool arguments).
stream_answer() {
	grep -v $'^\x1e$' "$T/events" | grep -v '^\[DONE\]$' |
		jq -j '.choices[]?.delta | (.content // ""), (.tool_calls[]?.function.arguments // "")'
}

# framing_case N: the stream of fr_N reaches a streaming client as the same
# events the upstream sent (compared with the mock's own stream for the same
# request), and a plain client gets the same content.
framing_case() {
	local key="${FRAMINGS[$1]},id=fr$1"
	stream_to "fr_$1" || return 1
	sse_events "$T/s" >"$T/events"
	curl -s "$MOCK/control/last?key=$key&raw=1" >"$T/upbody"
	curl -sN -X POST -H 'Content-Type: application/json' --data-binary @"$T/upbody" \
		"$MOCK/$key/v1/chat/completions" -o "$T/direct"
	sse_events "$T/direct" >"$T/direct_events"
	cmp -s "$T/events" "$T/direct_events" ||
		{ fail "events differ from the upstream's: $(diff "$T/direct_events" "$T/events" | head -c 600)"; return 1; }
	expect_eq "$(grep -c $'^\x1e$' "$T/events")" "$(grep -c $'^\x1e$' "$T/direct_events")" "event count" || return 1
	stream_answer >"$T/streamed"
	[ -s "$T/streamed" ] || { fail "no content in the stream"; return 1; }
	expect_eq "$(chat "fr_$1")" 200 "plain status" || return 1
	jq -j '.choices[0].message | (.content // ""), (.tool_calls[]?.function.arguments // "")' "$T/b" >"$T/plain"
	cmp -s "$T/streamed" "$T/plain" || { fail "plain and streamed content differ ($(wc -c <"$T/plain") vs $(wc -c <"$T/streamed") bytes)"; return 1; }
}

t_lie_framing_crlf() { framing_case 0; }
t_lie_framing_cr() { framing_case 1; }
t_lie_framing_data_without_space() { framing_case 2; }
t_lie_framing_multiline_data_and_comments() { framing_case 3; }
t_lie_framing_one_byte_writes() { framing_case 4; }
t_lie_framing_cr_multiline_nospace_split() { framing_case 5; }
t_lie_framing_crlf_multiline_split() { framing_case 6; }
t_lie_framing_utf8_split_at_every_byte() { framing_case 7; }
t_lie_framing_event_of_3mib() { framing_case 8; }
t_lie_framing_event_of_3mib_every_framing() { framing_case 9; }

# An event past immortal's cap fails over, saying so.
t_lie_event_over_cap_fails_over() {
	expect_eq "$(chat bigover)" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint || return 1
	expect_match "$(grep 'endpoint=huge ' "$LOG" | tail -1)" 'kind=invalid_response.*event larger than' log
}

# ---- the client's values ----------------------------------------------------------

t_lie_client_values_reach_upstream_unchanged() {
	local body members m
	members=('"n1":123456789012345678901234567890' '"n2":-0' '"n3":0.10' '"n4":1e-7'
		'"n5":1E+2' '"n6":18446744073709551616' '"n7":-9223372036854775809'
		'"n8":-0.0' '"n9":[1,-0,2.50,99999999999999999999]'
		'"s1":"\u00e9\ud83d\ude00 \ud800 x\u0000y"' '"s2":"é😀\n\"\\"')
	body=$(printf '%s,' "${members[@]}")
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' \
		-X POST "$URL/v1/chat/completions" \
		--data-binary "{\"model\":\"values\",\"messages\":[{\"role\":\"user\",\"content\":\"\\ud83d\\ude00 caf\\u00e9\"}],${body%,}}")" 200 status || return 1
	curl -s "$MOCK/control/last?key=echo,id=values&raw=1" >"$T/upbody"
	for m in "${members[@]}" '"messages":[{"role":"user","content":"\ud83d\ude00 caf\u00e9"}]' '"temperature":0.1'; do
		grep -qF -- "$m" "$T/upbody" || { fail "upstream body lacks $m: $(head -c 600 "$T/upbody")"; return 1; }
	done
}
