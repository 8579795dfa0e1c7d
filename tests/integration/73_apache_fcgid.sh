# Shared hosting: Apache + mod_fcgid configured by etc/apache/htaccess, with
# immortal.fcgi a copy of the binary in the web folder /ai/ (the config
# folder named by the .htaccess's SetEnv), and in /keyed/ the wrapper script
# etc/apache/immortal-wrapper.sh turning access keys on.

FCG_KEY=sk-fcgid-client-7a6b5c4d

setup_73_apache_fcgid() { core_groups fcgid; }

fcgid_start() {
	local d www home
	d=$(srv_dir fcgid)
	www=$d/www home=$d/home
	mkdir -p "$www/ai" "$www/keyed" "$home/bin" "$home/log" "$d/state" "$d/ipc"
	sed "s|/home/USER/immortal/groups|$CONF|" "$TOP/etc/apache/htaccess" >"$www/ai/.htaccess"
	cp "$www/ai/.htaccess" "$www/keyed/.htaccess"
	cp "$BUILD/fcgi/immortal" "$www/ai/immortal.fcgi"
	# The wrapper, as a user would fill it in.
	cp "$BUILD/fcgi/immortal" "$home/bin/immortal"
	ln -sfn "$CONF" "$home/groups"
	echo "$FCG_KEY" >"$home/keys"
	sed -e "s|^dir=/home/USER/immortal|dir=$home|" \
	    -e 's|^#export IMMORTAL_ACCESS_KEYS_FILE|export IMMORTAL_ACCESS_KEYS_FILE|' \
	    "$TOP/etc/apache/immortal-wrapper.sh" >"$www/keyed/immortal.fcgi"
	chmod 755 "$www/keyed/immortal.fcgi"
	# Files a careless user left in the web folder: never served.
	mkdir -p "$www/ai/groups"
	cp "$CONF/fcgid-ok.json" "$www/ai/groups/leak.json"
	cp "$CONF/fcgid-ok.json" "$www/ai/leak.json"
	echo "$FCG_KEY" >"$www/ai/groups/keys"
	chown -R "$SRV_USER:$SRV_GROUP" "$home/log" "$d/state" "$d/ipc"
	# What the host sets: streaming, and short keep-alives for the tests.
	cat >"$d/site.conf" <<-CONF
	FcgidIPCDir $d/ipc
	FcgidProcessTableFile $d/ipc/shm
	FcgidOutputBufferSize 0
	FcgidInitialEnv IMMORTAL_STATE_DIR $d/state
	FcgidInitialEnv IMMORTAL_KEEPALIVE 1
	<Directory $www>
	    AllowOverride FileInfo Options AuthConfig Limit
	</Directory>
	CONF
	srv_apache fcgid event fcgid rewrite env
}

fcgid() {
	srv_up fcgid fcgid_start || return
	URL=http://127.0.0.1:$(srv_port fcgid)/ai
}

t_apache_fcgid_answer() { fcgid || return; core_answer fcgid; }
t_apache_fcgid_failover() { fcgid || return; core_failover fcgid; }
t_apache_fcgid_stream_not_buffered() { fcgid || return; core_stream fcgid; }
t_apache_fcgid_disconnect_aborts_upstream() { fcgid || return; core_disconnect fcgid; }

t_apache_fcgid_refuses_group_files() {
	local f code
	fcgid || return
	for f in groups/leak.json leak.json groups/keys groups/ .htaccess; do
		code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/$f")
		[[ $code == 403 || $code == 404 ]] || { fail "GET /ai/$f: $code"; return 1; }
	done
}

t_apache_fcgid_wrapper_and_authorization() {
	fcgid || return
	URL=${URL%/ai}/keyed
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/v1/models")" 401 "without a key" || return 1
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' -H "Authorization: Bearer $FCG_KEY" \
		"$URL/v1/models")" 200 "with the key" || return 1
	expect_match "$(jq -r '.data[].id' "$T/b")" '^fcgid-ok$' "groups listed" || return 1
	expect_match "$(cat "$SRV/fcgid/home/log/immortal.log")" ' pid=[0-9]+ ' "the wrapper's log"
}

t_apache_fcgid_stop() {
	srv_running fcgid || return
	srv_down fcgid || return 1
	expect_no_match "$(cat "$SRV/fcgid/error.log" "$SRV/fcgid/home/log/immortal.log")" "$SECRET" "logs"
}
