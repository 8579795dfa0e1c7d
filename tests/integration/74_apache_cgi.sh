# The last resort: Apache + mod_cgi configured by etc/apache/htaccess-cgi,
# immortal.cgi a copy of the binary started for every request; in /keyed/
# the same with access keys turned on by one more SetEnv.

CGI_KEY=sk-cgi-client-1a2b3c4d

setup_74_apache_cgi() {
	core_groups cgi
	group cgi-lastgood "[$(ep one ok,id=cgi-lastgood)]"
}

cgi_start() {
	local d www
	d=$(srv_dir apcgi)
	www=$d/www
	mkdir -p "$www/ai" "$www/keyed" "$d/state" "$d/log"
	sed "s|/home/USER/immortal/groups|$CONF|" "$TOP/etc/apache/htaccess-cgi" >"$www/ai/.htaccess"
	cp "$www/ai/.htaccess" "$www/keyed/.htaccess"
	echo "SetEnv IMMORTAL_ACCESS_KEYS_FILE $d/keys" >>"$www/keyed/.htaccess"
	echo "$CGI_KEY" >"$d/keys"
	cp "$BUILD/fcgi/immortal" "$www/ai/immortal.cgi"
	cp "$BUILD/fcgi/immortal" "$www/keyed/immortal.cgi"
	mkdir -p "$www/ai/groups"
	cp "$CONF/cgi-ok.json" "$www/ai/groups/leak.json"
	cp "$CONF/cgi-ok.json" "$www/ai/leak.json"
	chown -R "$SRV_USER:$SRV_GROUP" "$d/state" "$d/log"
	# What the host sets (here for the tests): short keep-alives, the
	# shared state and the log in the test's folder.
	cat >"$d/site.conf" <<-CONF
	<Directory $www>
	    AllowOverride FileInfo Options AuthConfig Limit
	    SetEnv IMMORTAL_KEEPALIVE 1
	    SetEnv IMMORTAL_STATE_DIR $d/state
	    SetEnv IMMORTAL_LOG_DIR $d/log
	</Directory>
	CONF
	srv_apache apcgi prefork cgi rewrite env
}

apcgi() {
	srv_up apcgi cgi_start || return
	URL=http://127.0.0.1:$(srv_port apcgi)/ai
}

t_apache_cgi_answer() { apcgi || return; core_answer cgi; }
t_apache_cgi_failover() { apcgi || return; core_failover cgi; }
t_apache_cgi_stream_not_buffered() { apcgi || return; core_stream cgi; }
t_apache_cgi_disconnect_aborts_upstream() { apcgi || return; core_disconnect cgi; }

t_apache_cgi_refuses_group_files() {
	local f code
	apcgi || return
	for f in groups/leak.json leak.json groups/ .htaccess; do
		code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/$f")
		[[ $code == 403 || $code == 404 ]] || { fail "GET /ai/$f: $code"; return 1; }
	done
}

t_apache_cgi_passes_authorization() {
	apcgi || return
	URL=${URL%/ai}/keyed
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/models")" 401 "without a key" || return 1
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' -H "Authorization: Bearer $CGI_KEY" \
		"$URL/v1/models")" 200 "with the key" || return 1
	expect_json "$T/b" .object list
}


# A query string without "=" reaches a CGI program as command-line
# arguments (Apache's ISINDEX convention); immortal must not take them
# for options.
t_apache_cgi_query_without_equals() {
	apcgi || return
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/health?strict")" 200 "health?strict" || return 1
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/models?a+--listen+b")" 200 "models?a+--listen+b" || return 1
	expect_json "$T/b" .object list
}

# Apache logs AH02651 (broken pipe) when the program exits before reading
# the body it was writing; depending on the server and timing the client
# then gets no answer at all.
# cgi_log_mark prints where the error log ends now; cgi_body_was_read MARK
# checks what was logged after it.
cgi_log_mark() { wc -l <"$SRV/apcgi/error.log"; }
cgi_body_was_read() {
	expect_no_match "$(tail -n +$(($1 + 1)) "$SRV/apcgi/error.log")" "AH02651" "Apache's error log"
}

# A body over IMMORTAL_MAX_BODY (16 MiB by default): immortal reads and
# discards it, so Apache (still writing it) does not hit a broken pipe and
# the client gets the JSON 413.
t_apache_cgi_large_body_gets_413() {
	local mark
	apcgi || return
	mark=$(cgi_log_mark)
	head -c $((20 * 1024 * 1024)) /dev/zero | tr '\0' 'x' >"$T/big"
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' \
		-H 'Expect:' --data-binary @"$T/big" "$URL/v1/chat/completions")" 413 "20 MB body" || return 1
	expect_json "$T/b" .error.code request_too_large || return 1
	cgi_body_was_read "$mark"
}

# An answer decided before the body is read (no key: 401) reaches the
# client every time, not only when immortal happens to exit after Apache
# finished writing the body.
t_apache_cgi_early_answer_reaches_client() {
	local i code mark
	apcgi || return
	mark=$(cgi_log_mark)
	URL=${URL%/ai}/keyed
	head -c 200000 /dev/zero | tr '\0' 'x' >"$T/mid"
	for i in $(seq 1 30); do
		code=$(curl -s -o "$T/b" -w '%{http_code}' -H 'Content-Type: application/json' \
			-H 'Expect:' --data-binary @"$T/mid" "$URL/v1/chat/completions")
		expect_eq "$code" 401 "request $i without a key" || return 1
		expect_json "$T/b" .error.code invalid_api_key || return 1
	done
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' -H "Authorization: Bearer $CGI_KEY" \
		--data-binary @"$T/mid" "$URL/v1/nothing")" 404 "unknown path with a body"
}

# A broken edit of a group file: the next CGI process serves the version
# the last one loaded (kept privately in the state folder) and logs why.
t_apache_cgi_broken_edit_keeps_last_good() {
	local kept
	apcgi || return
	expect_eq "$(chat cgi-lastgood)" 200 "before the edit" || return 1
	kept=$(ls -d "$SRV"/apcgi/state/*.lastgood) || { fail "no last-good folder in the state folder"; return 1; }
	expect_eq "$(stat -c '%a %U' "$kept")" "700 $SRV_USER" "the folder" || return 1
	expect_eq "$(stat -c '%a' "$kept/cgi-lastgood.json")" 600 "the copy" || return 1
	echo '{"endpoints": [ broken' >"$CONF/cgi-lastgood.json"
	expect_eq "$(chat cgi-lastgood)" 200 "after a broken edit" || return 1
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5' || return 1
	expect_match "$(cat "$SRV/apcgi/log/immortal.log")" \
		'cgi-lastgood.json.*the last good version of group cgi-lastgood keeps serving' "the log" || return 1
	# The broken text never becomes the last good one.
	expect_eq "$(chat cgi-lastgood)" 200 "a second time" || return 1
	# Removing the file retires its copy.
	rm -f "$CONF/cgi-lastgood.json"
	expect_eq "$(chat cgi-lastgood)" 404 "after the file is gone" || return 1
	[ ! -e "$kept/cgi-lastgood.json" ] || fail "the copy of a removed group is still kept"
}

t_apache_cgi_stop() {
	srv_running apcgi || return
	srv_down apcgi || return 1
	expect_no_match "$(cat "$SRV/apcgi/error.log" "$SRV/apcgi/log/immortal.log")" "$SECRET" "logs"
}
