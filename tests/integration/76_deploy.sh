# Deployment files: etc/systemd/immortal.service (checked by systemd-analyze,
# and its command line run as the unit would run it) and
# etc/logrotate.d/immortal (checked by logrotate, then a real rotation under
# a running immortal).

setup_76_deploy() { group deploy-ok "[$(ep one ok,id=deploy-ok)]"; }

# deploy_unit: the unit with the test's port and paths, in $SRV/deploy.
deploy_unit() {
	local d=$SRV/deploy
	mkdir -p "$d/log"
	sed -e "s|-a 127\.0\.0\.1 -p 9000|-a 127.0.0.1 -p $(srv_port deploy)|" \
	    -e "s|/usr/local/bin/immortal|$BUILD/fcgi/immortal|" \
	    -e "s|/etc/immortal/groups|$CONF|" \
	    -e "s|/var/log/immortal|$d/log|" "$TOP/etc/systemd/immortal.service" >"$d/immortal.service"
}

# deploy_start: runs the unit's ExecStart with its Environment= lines, as
# systemd would (but as the test user); immortal is then the process started.
deploy_start() {
	local d=$SRV/deploy envs=() cmd pid
	deploy_unit
	while IFS= read -r line; do envs+=("$line"); done < <(sed -n 's/^Environment=//p' "$d/immortal.service")
	cmd=$(sed -n 's/^ExecStart=//p' "$d/immortal.service")
	[ -n "$cmd" ] || { echo "no ExecStart in the unit"; return 1; }
	# shellcheck disable=SC2086 # the command line is split as systemd splits it
	env "${envs[@]}" IMMORTAL_KEEPALIVE=1 $cmd </dev/null >"$d/out" 2>&1 &
	pid=$!
	srv_on_stop deploy TERM $pid
	wait_until 10 port_open "$(srv_port deploy)" || { echo "the unit's command does not listen"; cat "$d/out"; return 1; }
	echo $pid >"$d/pid"
}

deploy() {
	srv_need spawn-fcgi cgi-fcgi || return
	srv_up deploy deploy_start
}

# deploy_chat: one chat request straight to the FastCGI port; prints the
# status line.
deploy_chat() {
	local body='{"model":"deploy-ok","messages":[{"role":"user","content":"hi"}]}'
	printf '%s' "$body" | env -i REQUEST_METHOD=POST REQUEST_URI=/v1/chat/completions \
		CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
		cgi-fcgi -bind -connect "127.0.0.1:$(srv_port deploy)" 2>/dev/null | head -1 | tr -d '\r'
}

t_systemd_unit_verifies() {
	local out
	srv_need systemd-analyze spawn-fcgi || return
	deploy_unit
	# verify warns about unknown keys and bad values but exits 0: any output fails.
	out=$(systemd-analyze verify "$SRV/deploy/immortal.service" 2>&1) || { fail "$out"; return 1; }
	expect_eq "$out" "" "systemd-analyze verify"
}

t_systemd_unit_command_runs_immortal_in_the_foreground() {
	deploy || return
	expect_eq "$(deploy_chat)" "Status: 200 OK" status || return 1
	# spawn-fcgi -n execs immortal: the process systemd started is immortal.
	expect_match "$(ss -Htlnp "sport = :$(srv_port deploy)")" "pid=$(cat "$SRV/deploy/pid")," "listener" || return 1
	expect_match "$(cat "/proc/$(cat "$SRV/deploy/pid")/comm")" '^immortal' "process name"
}

t_logrotate_config_parses() {
	local d=$SRV/deploy out
	srv_need logrotate || return
	mkdir -p "$d/log"
	sed -e "s|/var/log/immortal|$d/log|" \
	    -e 's|systemctl kill --signal=HUP immortal.service|true|' \
	    "$TOP/etc/logrotate.d/immortal" >"$d/logrotate.conf"
	out=$(logrotate -d -s "$d/logrotate.state" "$d/logrotate.conf" 2>&1) || { fail "$out"; return 1; }
	expect_no_match "$out" '(^|\n)error' "logrotate -d"
}

t_logrotate_rotation_is_followed() {
	local d=$SRV/deploy
	srv_need logrotate || return
	deploy || return
	[ -f "$d/logrotate.conf" ] || t_logrotate_config_parses || return 1
	expect_eq "$(deploy_chat)" "Status: 200 OK" "status before" || return 1
	logrotate -f -s "$d/logrotate.state" "$d/logrotate.conf" 2>"$d/logrotate.err" ||
		{ fail "logrotate: $(cat "$d/logrotate.err")"; return 1; }
	[ -f "$d/log/immortal.log.1" ] || { fail "no rotated file"; return 1; }
	expect_match "$(cat "$d/log/immortal.log.1")" 'group=deploy-ok outcome=ok' "rotated file" || return 1
	# immortal goes on in the new file by itself (no signal here).
	wait_until 10 deploy_logged_in_new_file ||
		fail "no request logged in the new immortal.log after the rotation"
}

deploy_logged_in_new_file() {
	[ "$(deploy_chat)" = "Status: 200 OK" ] &&
		grep -q 'group=deploy-ok outcome=ok' "$SRV/deploy/log/immortal.log"
}

t_deploy_stop() {
	srv_running deploy || return
	srv_down deploy
}

# Last of all: no log of any server of tests/integration/7*.sh holds the
# endpoints' API key.
t_servers_never_log_the_key() {
	local hits
	hits=$(grep -rl --include='*.log' --include='*.out' --include='*.err' -- "$SECRET" "$SRV")
	expect_eq "$hits" "" "logs holding the API key"
}
