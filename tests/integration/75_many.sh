# Many processes on one host (spawn-fcgi -F) sharing one log file, and many
# backends behind one nginx (etc/nginx/immortal-upstream.conf), one of which
# goes away.

LOG_LINE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (info|error|warn) pid=[0-9]+ '

setup_75_many() {
	group many-ok "[$(ep one ok,id=many-ok)]"
	group many-gated "[$(ep one gate=manyp,id=many-gated)]"
	group many-stream "[$(ep one chunks=20,id=many-stream)]"
	group up-ok "[$(ep one ok,id=up-ok)]"
	group up-held "[$(ep one gate=updrain,id=up-held)]"
}

# Three processes of two workers each: six requests at once need them all.
manyp_start() {
	local fcgi
	fcgi=$(srv_port manyp-fcgi)
	srv_immortal manyp-fcgi "$fcgi" -F 3 -- IMMORTAL_THREADS=2 IMMORTAL_MAX_THREADS=2 || return 1
	srv_nginx manyp "$(srv_port manyp)" immortal.conf "s/127\.0\.0\.1:9000/127.0.0.1:$fcgi/"
}

manyp() {
	srv_need nginx spawn-fcgi || return
	srv_up manyp manyp_start || return
	URL=http://127.0.0.1:$(srv_port manyp)
}

t_many_processes_all_serve() {
	local i n=6 fds=() pids=() bad=0
	manyp || return
	for ((i = 0; i < n; i++)); do
		stream_open many-gated
		fds[i]=$SFD pids[i]=$SPID
	done
	for ((i = 0; i < n; i++)); do
		SFD=${fds[i]}
		stream_read_until '"content":"w1"' ||
			{ kill "${pids[@]}" 2>/dev/null; fail "stream $i got no first chunk while the others were held"; return 1; }
	done
	curl -s "$MOCK/control/release?gate=manyp" >/dev/null
	for ((i = 0; i < n; i++)); do
		SFD=${fds[i]}
		cat <&"$SFD" >"$T/many.$i"
		exec {SFD}<&-
		[ "$(sse_done_count "$T/many.$i")" = 1 ] || bad=$((bad + 1))
	done
	expect_eq "$bad" 0 "incomplete streams" || return 1
	expect_eq "$(grep 'group=many-gated outcome=' "$SRV/manyp-fcgi/log/immortal.log" |
		grep -o ' pid=[0-9]* ' | sort -u | wc -l)" 3 "processes that served"
}

t_many_processes_log_lines_stay_whole() {
	local log=$SRV/manyp-fcgi/log/immortal.log n=90 i s g reqs=()
	manyp || return
	# streamed and plain requests alternate, 18 at a time, from one curl
	for ((i = 1; i <= n; i++)); do
		if [ $((i % 2)) = 0 ]; then s=true g=many-stream; else s=false g=many-ok; fi
		reqs+=(-o /dev/null --max-time 60 -H "Content-Type: application/json" -X POST "$URL/v1/chat/completions"
		       --data "{\"model\":\"$g\",\"stream\":$s,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" --next)
	done
	curl -s --parallel --parallel-immediate --parallel-max 18 "${reqs[@]:0:${#reqs[@]}-1}"
	expect_eq "$(grep -Ec 'group=many-(ok|stream) outcome=ok' "$log")" $n "requests logged" || return 1
	expect_eq "$(grep -Evc "$LOG_LINE" "$log")" 0 "malformed lines in the shared log" || return 1
	expect_eq "$(grep -o ' pid=[0-9]* ' "$log" | sort -u | wc -l)" 3 "processes in the log"
}

t_many_processes_stop() {
	srv_running manyp || return
	srv_down manyp || return 1
	srv_down manyp-fcgi || return 1
	expect_match "$(grep -c ' stopped' "$SRV/manyp-fcgi/log/immortal.log")" '^3$' "processes that stopped cleanly"
}

upstream_start() {
	local a b
	a=$(srv_port up-a) b=$(srv_port up-b)
	srv_immortal up-a "$a" || return 1
	srv_immortal up-b "$b" || return 1
	srv_nginx upstream "$(srv_port upstream)" immortal-upstream.conf \
		"s/server 127\.0\.0\.1:9000 /server 127.0.0.1:$a /" \
		"s/server 127\.0\.0\.1:9001 /server 127.0.0.1:$b /"
}

upstream() {
	srv_need nginx spawn-fcgi || return
	srv_up upstream upstream_start || return
	URL=http://127.0.0.1:$(srv_port upstream)
}

# up_served NAME: requests for group up-ok that backend NAME answered.
up_served() { grep -c 'group=up-ok outcome=ok' "$SRV/$1/log/immortal.log"; }

t_upstream_spreads_over_backends() {
	local i
	upstream || return
	for i in 1 2 3 4; do
		expect_eq "$(chat up-ok)" 200 "status of request $i" || return 1
	done
	expect_eq "$(up_served up-a)" 2 "answered by backend a" || return 1
	expect_eq "$(up_served up-b)" 2 "answered by backend b"
}

# up_refusing_or_queued PORT: nothing listens on PORT any more, or two
# connections wait in its accept queue.
up_refusing_or_queued() {
	local q
	q=$(ss -Hltn "sport = :$1" | awk '{print $2}')
	[ -z "$q" ] || [ "$q" -ge 2 ]
}

t_upstream_skips_a_draining_backend() {
	local i fds=() pids=() codes
	upstream || return
	# A stream in flight on each backend keeps a draining one alive.
	for i in 0 1; do
		stream_open up-held
		fds[i]=$SFD pids[i]=$SPID
		stream_read_until '"content":"w1"' || { kill "${pids[@]}"; fail "stream $i did not start"; return 1; }
	done
	kill -TERM $(cat "$SRV/up-a/pids")
	for i in 1 2 3 4; do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 -H 'Content-Type: application/json' \
			-X POST "$URL/v1/chat/completions" >"$T/drain.$i" \
			--data '{"model":"up-ok","messages":[{"role":"user","content":"hi"}]}' &
		pids+=($!)
	done
	wait_until 10 up_refusing_or_queued "$(srv_port up-a)"
	curl -s "$MOCK/control/release?gate=updrain" >/dev/null
	wait "${pids[@]:2}"
	for i in 0 1; do SFD=${fds[i]}; cat <&"$SFD" >"$T/drain.s$i"; exec {SFD}<&-; done
	codes=$(cat "$T"/drain.[1-4] | sort | uniq -c | tr -s ' \n' ' ')
	expect_eq "$codes" " 4 200 " "statuses while a backend drains" || return 1
	expect_eq "$(sse_done_count "$T/drain.s0")$(sse_done_count "$T/drain.s1")" 11 "streams finished"
}

t_upstream_skips_a_stopped_backend() {
	local i before
	upstream || return
	srv_down up-a || return 1
	before=$(up_served up-b)
	for i in 1 2 3 4 5 6; do
		expect_eq "$(chat up-ok)" 200 "status of request $i" || return 1
		expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5' || return 1
	done
	expect_eq "$(up_served up-b)" $((before + 6)) "answered by backend b"
}

t_upstream_stop() {
	srv_running upstream || return
	srv_down upstream || return 1
	srv_down up-b
}
