# Memory per open stream: immortal serving FastCGI limits glibc's per-thread
# cache of freed chunks (bench/README, "Memory per open stream"), unless the
# operator chose a cache setting.

setup_26_memory() { :; }

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
