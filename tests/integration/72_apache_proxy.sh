# Apache + mod_proxy_fcgi: etc/apache/immortal.conf in front of immortal
# under spawn-fcgi, with Authorization passed on (CGIPassAuth).

APX_KEY=sk-apx-client-0f1e2d3c

setup_72_apache_proxy() { core_groups apx; }

apx_start() {
	local d fcgi keyed
	d=$(srv_dir apx)
	fcgi=$(srv_port apx-fcgi)
	keyed=$(srv_port apx-keyed)
	echo "$APX_KEY" >"$d/keys"
	srv_immortal apx-fcgi "$fcgi" || return 1
	srv_immortal apx-keyed "$keyed" -- IMMORTAL_ACCESS_KEYS_FILE="$d/keys" || return 1
	# The example twice: as shipped, and under /keyed/v1/ for an immortal
	# with access keys on.
	{
		sed "s/127\.0\.0\.1:9000/127.0.0.1:$fcgi/" "$TOP/etc/apache/immortal.conf"
		sed -e "s/127\.0\.0\.1:9000/127.0.0.1:$keyed/" \
		    -e 's|<Location "/v1/">|<Location "/keyed/v1/">|' "$TOP/etc/apache/immortal.conf"
	} >"$d/site.conf"
	srv_apache apx event proxy proxy_fcgi env setenvif
}

apx() {
	srv_need spawn-fcgi || return
	srv_up apx apx_start || return
	URL=http://127.0.0.1:$(srv_port apx)
}

t_apache_proxy_answer() { apx || return; core_answer apx; }
t_apache_proxy_failover() { apx || return; core_failover apx; }
t_apache_proxy_stream_not_buffered() { apx || return; core_stream apx; }
t_apache_proxy_disconnect_aborts_upstream() { apx || return; core_disconnect apx; }

t_apache_proxy_passes_authorization() {
	apx || return
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' "$URL/keyed/v1/models")" 401 "without a key" || return 1
	expect_eq "$(curl -s -o "$T/b" -w '%{http_code}' -H "Authorization: Bearer $APX_KEY" \
		"$URL/keyed/v1/models")" 200 "with the key" || return 1
	expect_json "$T/b" '.object' list
}

t_apache_proxy_stop() {
	srv_running apx || return
	srv_down apx || return 1
	srv_down apx-fcgi || return 1
	srv_down apx-keyed
}
