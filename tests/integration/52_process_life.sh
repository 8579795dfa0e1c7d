# Process life under hostile input: a stop that outlasts its drain deadline,
# log lines nobody can forge, headers of any length, and config folders
# chosen per request that keep their own access keys.

life_long_name() { printf 'n%.0s' {1..600}; }

setup_52_process_life() {
	group life-cut "[$(ep one gate=lifecut,id=life-cut)]"
	group life-longname "[$(ep "$(life_long_name)" ok,id=life-longname)]"
	group life-forge "[$(ep one "status=400,msg=bad%0A2026-01-01T00:00:00.000Z%20error%20pid=1%20forged%20%22q%22%5C%FF")]"
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

# ---- the log cannot be forged ------------------------------------------------

LIFE_LINE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (info|error) pid=[0-9]+ '

# life_forge: a client's model name and an upstream's error message, each
# trying to start a log line of their own (newline, quotes, backslash, a
# byte that is not UTF-8).
life_forge() {
	printf '{"model":"x\\n2026-01-01T00:00:00.000Z error pid=1 forged \\"q\\" \\\\ \xff","messages":[{"role":"user","content":"hi"}]}' >"$T/forge.json"
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$T/forge.json" "$URL/v1/chat/completions")" 404 "unknown group" || return 1
	expect_eq "$(chat life-forge)" 400 "upstream error passed through"
}

t_log_text_cannot_be_forged() {
	life_forge || return 1
	wait_until 5 grep -q 'group=life-forge outcome=' "$LOG" || { fail "request not logged"; return 1; }
	expect_eq "$(grep -Evc "$LIFE_LINE" "$LOG")" 0 "lines without a timestamp" || return 1
	expect_eq "$(LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]' "$LOG")" 0 "lines with control characters" || return 1
	expect_match "$(grep 'unknown group' "$LOG" | tail -1)" 'group="x\\n2026-01-01T00:00:00.000Z error pid=1 forged \\"q\\" \\\\ \\xff"$' "the escaped name"
}

life_json_start() {
	local fcgi
	fcgi=$(srv_port lifejson-fcgi)
	srv_immortal lifejson-fcgi "$fcgi" -- LOG_FORMAT=json || return 1
	srv_nginx lifejson "$(srv_port lifejson)" immortal.conf "s/127\.0\.0\.1:9000/127.0.0.1:$fcgi/"
}

t_log_json_lines_are_objects() {
	srv_need nginx spawn-fcgi || return
	srv_up lifejson life_json_start || return
	local URL=http://127.0.0.1:$(srv_port lifejson) log=$SRV/lifejson-fcgi/log/immortal.log
	life_forge || return 1
	wait_until 5 grep -q '"group":"life-forge","outcome"' "$log" || { fail "request not logged"; return 1; }
	jq -c . "$log" >"$T/json.lines" || { fail "the log is not JSON: $(head -c 600 "$log")"; return 1; }
	expect_eq "$(wc -l <"$T/json.lines")" "$(wc -l <"$log")" "objects per line" || return 1
	expect_eq "$(grep -vc '^{"time":"[0-9T:.-]*Z","level":"\(info\|error\)","pid":[0-9]*[,}]' "$log")" 0 "lines without time, level, pid" || return 1
	expect_eq "$(jq -r 'select(.msg == "unknown group") | .group' "$log")" \
		"$(printf 'x\n2026-01-01T00:00:00.000Z error pid=1 forged "q" \\ \xef\xbf\xbd')" "the name, whole" || return 1
	expect_eq "$(jq -r 'select(.kind == "request") | .endpoint' "$log")" one "an attempt's fields"
}

t_log_format_must_be_known() {
	env -i PATH="$PATH" IMMORTAL_CONFIG_DIR="$CONF" LOG_FORMAT=yaml REQUEST_METHOD=GET REQUEST_URI=/v1/health \
		"$BUILD/fcgi/immortal" >"$T/out" 2>&1 </dev/null
	expect_eq "$?" 2 "exit status" || return 1
	expect_match "$(cat "$T/out")" 'LOG_FORMAT=yaml' message
}

# ---- headers of any length -----------------------------------------------------

t_long_endpoint_name_gives_whole_headers() {
	expect_eq "$(chat life-longname)" 200 status || return 1
	expect_eq "$(header X-Immortal-Endpoint)" "$(life_long_name)" "the endpoint header" || return 1
	expect_eq "$(header X-Immortal-Attempts)" 1 "the header after it" || return 1
	stream_to life-longname || return 1
	expect_eq "$(header X-Immortal-Endpoint)" "$(life_long_name)" "the stream's endpoint header" || return 1
	expect_eq "$(sse_text "$T/s")" 'w1 w2 w3 w4 w5' text
}

# ---- config folders chosen per request keep their own keys ---------------------

# One immortal (requiring keys of its own folder) behind an nginx whose
# locations name three more folders: /a/ (keys in the folder's
# access.keys), /b/ (keys named by IMMORTAL_ACCESS_KEYS_FILE beside
# IMMORTAL_CONFIG_DIR), /c/ (no keys at all) and /slow/ (a group file that
# is a FIFO: reading the folder waits until the test writes into it).
life_sites_start() {
	local fcgi s loc=()
	fcgi=$(srv_port lifesites-fcgi)
	for s in a b c slow; do
		mkdir -p "$T/site-$s/groups"
		printf '%s\n' "[$(ep one ok,id=life-site-$s)]" >"$T/site-$s/groups/life-site.json"
	done
	echo key-a >"$T/site-a/groups/access.keys"
	echo key-slow >"$T/site-slow/groups/access.keys"
	mkfifo "$T/site-slow/groups/fifo.json"
	echo key-b >"$T/site-b/b.keys"
	echo key-main >"$T/site-main.keys"
	srv_immortal lifesites-fcgi "$fcgi" -- IMMORTAL_ACCESS_KEYS_FILE="$T/site-main.keys" || return 1
	for s in a b c slow; do
		loc+=("/^    location \/v1\/ {/i location /$s/v1/ { include fastcgi_params; fastcgi_pass 127.0.0.1:$fcgi; fastcgi_param IMMORTAL_CONFIG_DIR $T/site-$s/groups; $([ $s = b ] && echo "fastcgi_param IMMORTAL_ACCESS_KEYS_FILE $T/site-b/b.keys;") }")
	done
	srv_nginx lifesites "$(srv_port lifesites)" immortal.conf "${loc[@]}" "s/127\.0\.0\.1:9000/127.0.0.1:$fcgi/"
}

# site_chat SITE KEY: a chat request to folder SITE with KEY; prints the status.
site_chat() {
	curl -s -o "$T/b" -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' -X POST "http://127.0.0.1:$(srv_port lifesites)/$1/v1/chat/completions" \
		--data '{"model":"life-site","messages":[{"role":"user","content":"hi"}]}'
}

life_sites() {
	srv_need nginx spawn-fcgi || return
	srv_up lifesites life_sites_start
}

t_sites_never_share_keys() {
	life_sites || return
	expect_eq "$(site_chat a key-a)" 200 "site a, key of a" || return 1
	expect_eq "$(site_chat b key-b)" 200 "site b, key of b" || return 1
	expect_eq "$(site_chat b key-a)" 401 "site b, key of a" || return 1
	expect_eq "$(site_chat a key-b)" 401 "site a, key of b" || return 1
	expect_eq "$(site_chat a key-main)" 401 "site a, the process's own key" || return 1
	expect_eq "$(site_chat b key-main)" 401 "site b, the process's own key"
}

t_site_without_keys_is_refused_when_keys_are_required() {
	life_sites || return
	expect_eq "$(site_chat c key-main)" 500 "site c (no keys of its own)" || return 1
	expect_json "$T/b" .error.code config_unreadable || return 1
	expect_match "$(cat "$SRV/lifesites-fcgi/log/immortal.log")" 'has none of its own.* dir=[^ ]*site-c/groups' "log"
}

t_site_keys_are_watched() {
	life_sites || return
	expect_eq "$(site_chat a key-a)" 200 "site a before the change" || return 1
	echo key-a2 >"$T/site-a/groups/access.keys.new"
	mv "$T/site-a/groups/access.keys.new" "$T/site-a/groups/access.keys"
	wait_until 10 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer key-a2' \
		-H 'Content-Type: application/json' -X POST http://127.0.0.1:$(srv_port lifesites)/a/v1/chat/completions \
		--data '{\"model\":\"life-site\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}')\" = 200 ]" ||
		{ fail "the new key of site a was not taken"; return 1; }
	expect_eq "$(site_chat a key-a)" 401 "the old key of site a" || return 1
	expect_eq "$(site_chat b key-b)" 200 "site b unchanged"
}

# fifo_holder FIFO: opens FIFO for writing (so its reader's open returns)
# and says so ($T/fifo.open); once told ($T/fifo.go) closes it unwritten:
# the reader sees an empty file, and the FIFO's time stays as it was, so
# the config watcher never reads it again.
fifo_holder() {
	exec 3>"$1"
	: >"$T/fifo.open"
	until [ -e "$T/fifo.go" ]; do sleep 0.05; done
	exec 3>&-
}

t_loading_a_folder_does_not_stall_other_sites() {
	life_sites || return
	local fifo=$T/site-slow/groups/fifo.json holder slow rc=0
	expect_eq "$(site_chat b key-b)" 200 "site b before" || return 1
	rm -f "$T"/fifo.*
	timeout 60 bash -c "$(declare -f fifo_holder); T=$T; fifo_holder '$fifo'" &
	holder=$!
	(site_chat slow key-slow >"$T/slow.status") &
	slow=$!
	# The holder's open returns only when the slow folder's loader opened
	# the FIFO: it now waits there for the group file's end.
	wait_until 20 test -e "$T/fifo.open" || { fail "the folder's loader never read the FIFO"; rc=1; }
	[ $rc = 0 ] && { expect_eq "$(site_chat b key-b)" 200 "site b while another folder loads" || rc=1; }
	: >"$T/fifo.go"
	wait $holder
	wait $slow
	rm -f "$fifo"
	[ $rc = 0 ] || return 1
	expect_eq "$(cat "$T/slow.status")" 200 "the slow folder, once loaded"
}
