# Memory per open stream: immortal serving FastCGI limits glibc's per-thread
# cache of freed chunks (bench/README, "Memory per open stream"), unless the
# operator chose a cache setting, and a worker holding an open stream keeps
# only the stack pages its live frames need.

setup_26_memory() {
	group memwarm "[$(ep memwarm id=memwarm)]"
	group memgate "[$(ep memgate gate=memstack,id=memgate)]"
	group memecho "[$(ep memecho echo,id=memecho)]"
	group memhold "[$(ep memhold gate=memhold,id=memhold)]"
}

# environ_of PID: the environment a process runs with, one variable a line.
environ_of() { tr '\0' '\n' <"/proc/$1/environ"; }

t_memory_fcgi_limits_malloc_thread_cache() {
	local pid
	pid=$(immortal_pid "$FCGI_PORT") || { fail "no immortal pid"; return 1; }
	expect_eq "$(environ_of "$pid" | grep -c '^GLIBC_TUNABLES=.*glibc\.malloc\.tcache_max=128')" 1 \
		"GLIBC_TUNABLES with tcache_max=128 in immortal's environment ($(environ_of "$pid" | grep GLIBC || echo none))" || return 1
	# re-executed under its own name (ps, pkill and systemd show it)
	expect_eq "$(cat "/proc/$pid/comm")" immortal "process name"
}

t_memory_operator_tunable_kept() {
	local pid rc=0
	immortal_start "$FCGI2_PORT" GLIBC_TUNABLES=glibc.malloc.tcache_count=3 || return 1
	pid=$(immortal_pid "$FCGI2_PORT")
	expect_eq "$(environ_of "$pid" | grep '^GLIBC_TUNABLES=')" GLIBC_TUNABLES=glibc.malloc.tcache_count=3 \
		"the operator's setting, untouched" || rc=1
	immortal_stop "$FCGI2_PORT"
	return $rc
}

# worker_stack_kib PID: the most resident KiB of any worker thread's stack
# (the 256 KiB mappings right above a guard page in /proc/PID/smaps).
worker_stack_kib() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / {
		split($1, a, "-")
		cand = $2 == "rw-p" && NF == 5 && a[1] == prev_hi && prev_perm == "---p"
		prev_hi = a[2]; prev_perm = $2; stack = 0; next
	}
	$1 == "Size:" { stack = cand && $2 == 256 }
	stack && $1 == "Rss:" && $2 > max { max = $2 }
	END { print max + 0 }' "/proc/$1/smaps"
}

# fcgi_stream PORT GROUP OUT [CONTENT]: a streamed chat request straight to
# immortal over FastCGI (cgi-fcgi), its answer appended to OUT as it comes.
fcgi_stream() {
	local body="{\"model\":\"$2\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"${4:-hi}\"}]}"
	printf '%s' "$body" | env -i REQUEST_METHOD=POST REQUEST_URI=/v1/chat/completions \
		CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
		cgi-fcgi -bind -connect "127.0.0.1:$1" >>"$3" 2>&1
}

# While a stream waits for its upstream, its worker holds the pages of its
# live frames only: no 16 KiB body chunk, 8 KiB log line or 2 KiB path copy
# on the stack, and the pages libcurl's deepest calls touched while sending
# the request are given back (common/stacktrim.c). It held 24-28 KiB before.
t_memory_stream_worker_keeps_a_shallow_stack() {
	ldd "$BUILD/fcgi/immortal" | grep -q libasan && { echo "sanitized build: its frames are larger by design"; return 77; }
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	local pid out=$T/memstream kib rc=0
	immortal_start "$FCGI2_PORT" IMMORTAL_THREADS=1 || { fail "immortal did not start"; return 1; }
	pid=$(immortal_pid "$FCGI2_PORT")
	# a first stream warms the process (lazily bound symbols, first connection)
	: >"$out"
	fcgi_stream "$FCGI2_PORT" memwarm "$out"
	expect_eq "$(grep -c '^data: \[DONE\]' "$out")" 1 "warm-up stream complete" || rc=1
	: >"$out"
	fcgi_stream "$FCGI2_PORT" memgate "$out" &
	local cpid=$!
	if wait_until 10 grep -q '"content":"w1"' "$out"; then
		kib=$(worker_stack_kib "$pid")
		[ "$kib" -gt 0 ] && [ "$kib" -le 16 ] ||
			{ fail "a worker's stack holds $kib KiB during an open stream (at most 16 expected)"; rc=1; }
	else
		fail "no first chunk: $(head -c 300 "$out")"; rc=1
	fi
	curl -s "$MOCK/control/release?gate=memstack" >/dev/null
	wait $cpid
	expect_eq "$(grep -c '^data: \[DONE\]' "$out")" 1 "stream complete after the wait" || rc=1
	immortal_stop "$FCGI2_PORT"
	return $rc
}

# A request larger than what libcurl sends in one piece goes through its
# upload buffer, which immortal keeps at libcurl's smallest (16 KiB rather
# than 64, held for a whole stream): it still reaches the upstream whole,
# and the client's text, freed once parsed, is not needed for it.
t_memory_large_request_reaches_upstream_whole() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	local out=$T/membig rc=0 n=300000
	immortal_start "$FCGI2_PORT" IMMORTAL_MAX_BODY=1048576 || { fail "immortal did not start"; return 1; }
	local text
	text=$(head -c $n /dev/zero | tr '\0' 'a')
	local body="{\"model\":\"memecho\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$text\"}]}"
	printf '%s' "$body" | env -i REQUEST_METHOD=POST REQUEST_URI=/v1/chat/completions \
		CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
		cgi-fcgi -bind -connect "127.0.0.1:$FCGI2_PORT" >"$out" 2>&1
	local got
	got=$(sed -n 's/^data: //p' "$out" | grep -v '^\[DONE\]$' | jq -j '.choices[]?.delta.content // empty' |
		jq -r '.body.messages[0].content')
	expect_eq "${#got}" "$n" "length of the content the upstream received" || rc=1
	[ "$got" = "$text" ] || { fail "the content changed on the way"; rc=1; }
	immortal_stop "$FCGI2_PORT"
	return $rc
}

# An open stream holds its request about once, as the parsed tree its
# retries and continuations need: not also the client's text and the body
# sent upstream (freed once libcurl has sent it), nor libcurl's default
# 64 KiB upload buffer, and the large transient buffers of parsing and
# forwarding go back to the system when freed (a fixed mmap threshold)
# instead of staying in the thread's malloc arena. Before: 1.6 MiB per
# stream holding a 256 KiB request.
t_memory_stream_holds_one_copy_of_its_request() {
	ldd "$BUILD/fcgi/immortal" | grep -q libasan && { echo "sanitized build: freed memory is held in quarantine by design"; return 77; }
	local n=16 size=262144 rc=0 i pid rss0 rss1 text
	immortal_start "$FCGI2_PORT" IMMORTAL_MAX_BODY=1048576 || { fail "immortal did not start"; return 1; }
	pid=$(immortal_pid "$FCGI2_PORT")
	text=$(head -c $size /dev/zero | tr '\0' 'a')
	rss0=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status")
	for ((i = 0; i < n; i++)); do
		: >"$T/memhold$i"
		fcgi_stream "$FCGI2_PORT" memhold "$T/memhold$i" "$text" &
	done
	if wait_until 30 bash -c "[ \$(cat $T/memhold* | grep -c '\"content\":\"w1\"') -eq $n ]"; then
		rss1=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status")
		local per=$(( (rss1 - rss0) / n ))
		echo "RSS per stream holding a $((size / 1024)) KiB request: $per KiB"
		[ "$per" -le $((2 * size / 1024)) ] ||
			{ fail "$per KiB of RSS per stream for a $((size / 1024)) KiB request (at most twice its size expected)"; rc=1; }
	else
		fail "not every stream began"; rc=1
	fi
	curl -s "$MOCK/control/release?gate=memhold" >/dev/null
	wait
	expect_eq "$(cat "$T"/memhold* | grep -c '^data: \[DONE\]')" $n "streams complete" || rc=1
	immortal_stop "$FCGI2_PORT"
	return $rc
}
