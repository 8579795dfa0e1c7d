# The last resort: Apache + mod_cgi configured by etc/apache/htaccess-cgi,
# immortal.cgi a copy of the binary started for every request; in /keyed/
# the same with access keys turned on by one more SetEnv.

CGI_KEY=sk-cgi-client-1a2b3c4d

setup_74_apache_cgi() { core_groups cgi; }

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

t_apache_cgi_stop() {
	srv_running apcgi || return
	srv_down apcgi || return 1
	expect_no_match "$(cat "$SRV/apcgi/error.log" "$SRV/apcgi/log/immortal.log")" "$SECRET" "logs"
}
