# lighttpd + mod_fastcgi, in both shapes of etc/lighttpd/: in front of
# immortal under spawn-fcgi (immortal.conf), and starting immortal itself
# (immortal-spawn.conf).

setup_71_lighttpd() {
	core_groups lighty
	core_groups lightyspawn
}

# lighty_conf NAME EXAMPLE [SED_EXPR...]: a lighttpd.conf on NAME's port that
# includes etc/lighttpd/EXAMPLE with SED_EXPR applied.
lighty_start_with() {
	local name=$1 example=$2 d e sed=()
	shift 2
	for e; do sed+=(-e "$e"); done
	d=$(srv_dir "$name")
	mkdir -p "$d/www"
	sed "${sed[@]}" "$TOP/etc/lighttpd/$example" >"$d/immortal.conf"
	cat >"$d/lighttpd.conf" <<-CONF
	server.document-root = "$d/www"
	server.bind = "127.0.0.1"
	server.port = $(srv_port "$name")
	server.pid-file = "$d/lighttpd.pid"
	server.errorlog = "$d/error.log"
	include "$d/immortal.conf"
	CONF
	[ "$(id -u)" = 0 ] && printf 'server.username = "%s"\nserver.groupname = "%s"\n' \
		"$SRV_USER" "$SRV_GROUP" >>"$d/lighttpd.conf"
	lighttpd -tt -f "$d/lighttpd.conf" >"$d/start.err" 2>&1 &&
		lighttpd -f "$d/lighttpd.conf" </dev/null >>"$d/start.err" 2>&1 ||
		{ echo "lighttpd $name failed to start"; cat "$d/start.err"; return 1; }
	wait_until 10 pid_of_file "$d/lighttpd.pid" || { echo "lighttpd $name wrote no pid"; cat "$d/error.log"; return 1; }
	srv_on_stop "$name" TERM "$(cat "$d/lighttpd.pid")"
	wait_until 10 port_open "$(srv_port "$name")"
}

lighty_start() {
	local port
	port=$(srv_port lighty-fcgi)
	srv_immortal lighty-fcgi "$port" || return 1
	lighty_start_with lighty immortal.conf "s/\"port\" => 9000/\"port\" => $port/"
}

lightyspawn_start() {
	local d log bin
	d=$(srv_dir lightyspawn)
	bin=$(srv_binary lightyspawn) || return 1
	log=$d/log
	mkdir -p "$log/state"
	chown -R "$SRV_USER:$SRV_GROUP" "$log"
	lighty_start_with lightyspawn immortal-spawn.conf \
		"s|/usr/local/bin/immortal|$bin|" \
		"s|/run/lighttpd/immortal.sock|$d/immortal.sock|" \
		"s|/etc/immortal/groups|$CONF|" \
		"s|/var/log/immortal|$log|" \
		"/\"IMMORTAL_LOG_DIR\"/a \"IMMORTAL_STATE_DIR\" => \"$log/state\", \"IMMORTAL_KEEPALIVE\" => \"1\","
}

lighty() {
	srv_need lighttpd spawn-fcgi || return
	srv_up lighty lighty_start || return
	URL=http://127.0.0.1:$(srv_port lighty)
}

lightyspawn() {
	srv_need lighttpd || return
	srv_up lightyspawn lightyspawn_start || return
	URL=http://127.0.0.1:$(srv_port lightyspawn)
}

t_lighttpd_answer() { lighty || return; core_answer lighty; }
t_lighttpd_failover() { lighty || return; core_failover lighty; }
t_lighttpd_stream_not_buffered() { lighty || return; core_stream lighty; }
t_lighttpd_disconnect_aborts_upstream() { lighty || return; core_disconnect lighty; }
t_lighttpd_stop() {
	srv_running lighty || return
	srv_down lighty || return 1
	srv_down lighty-fcgi
}

t_lighttpd_spawn_answer() { lightyspawn || return; core_answer lightyspawn; }
t_lighttpd_spawn_failover() { lightyspawn || return; core_failover lightyspawn; }
t_lighttpd_spawn_stream_not_buffered() { lightyspawn || return; core_stream lightyspawn; }
t_lighttpd_spawn_disconnect_aborts_upstream() { lightyspawn || return; core_disconnect lightyspawn; }
t_lighttpd_spawn_stop() {
	local log=$SRV/lightyspawn/log/immortal.log pids p
	srv_running lightyspawn || return
	pids=$(grep -o ' pid=[0-9]*' "$log" 2>/dev/null | sort -u | cut -d= -f2)
	[ -n "$pids" ] || { fail "no immortal started by lighttpd in $log"; return 1; }
	# It runs as lighttpd's server.username.
	for p in $pids; do
		kill -0 "$p" 2>/dev/null || continue
		expect_eq "$(ps -o user= -p "$p")" "$SRV_USER" "user of immortal $p" || return 1
	done
	srv_down lightyspawn || return 1
	# lighttpd stops the immortal it started.
	for p in $pids; do
		wait_until 30 pid_gone "$p" || { fail "immortal (pid $p) outlived lighttpd"; return 1; }
	done
}
