# Process life under hostile input: a stop that outlasts its drain deadline,
# log lines nobody can forge, headers of any length, and config folders
# chosen per request that keep their own access keys.

setup_52_process_life() {
	group life-cut "[$(ep one gate=lifecut,id=life-cut)]"
}

# A second immortal (its own log, IMMORTAL_DRAIN_SECONDS=1) behind an nginx
# of its own, so stopping it leaves the main stack alone.
life_cut_start() {
	local fcgi
	fcgi=$(srv_port lifecut-fcgi)
	srv_immortal lifecut-fcgi "$fcgi" -- IMMORTAL_DRAIN_SECONDS=1 || return 1
	srv_nginx lifecut "$(srv_port lifecut)" immortal.conf "s/127\.0\.0\.1:9000/127.0.0.1:$fcgi/"
}

t_stop_past_drain_deadline_ends_streams_cleanly() {
	srv_need nginx spawn-fcgi || return
	srv_up lifecut life_cut_start || return
	local URL=http://127.0.0.1:$(srv_port lifecut) pid rc
	pid=$(cut -d' ' -f2 "$SRV/stop/lifecut-fcgi")
	: >"$T/s"
	stream_open life-cut
	stream_read_until '"content":"w1"' || { kill $SPID; fail "no first chunk"; return 1; }
	# The gate stays shut: the stream outlives the one second of drain.
	kill -TERM "$pid"
	cat <&"$SFD" >>"$T/s"
	exec {SFD}<&-
	wait "$SPID"; rc=$?
	wait_until 15 pid_gone "$pid" || { fail "immortal did not exit"; kill -9 "$pid"; return 1; }
	rm -f "$SRV/stop/lifecut-fcgi"
	expect_eq "$rc" 0 "curl's exit status (18: the stream was torn)" || return 1
	grep '^data: {"error"' "$T/s" | sed 's/^data: //' >"$T/cut.json"
	expect_json "$T/cut.json" .error.code server_shutting_down || return 1
	expect_match "$(cat "$SRV/lifecut-fcgi/log/immortal.log")" 'cutting them off' "log" || return 1
	expect_match "$(cat "$SRV/lifecut-fcgi/log/immortal.log")" ' stopped' "log"
}
