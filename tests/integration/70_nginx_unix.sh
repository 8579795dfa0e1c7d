# nginx over a unix socket: etc/nginx/immortal-unix.conf in front of
# immortal started by `spawn-fcgi -s`.

setup_70_nginx_unix() { core_groups nxunix; }

nxunix_start() {
	local d sock
	d=$(srv_dir nxunix)
	sock=$d/immortal.sock
	srv_immortal nxunix-fcgi "$sock" -M 0600 || return 1
	srv_nginx nxunix "$(srv_port nxunix)" immortal-unix.conf \
		"s|unix:/run/immortal/immortal.sock|unix:$sock|"
}

nxunix() {
	srv_need nginx spawn-fcgi || return
	srv_up nxunix nxunix_start || return
	URL=http://127.0.0.1:$(srv_port nxunix)
}

t_nginx_unix_answer() { nxunix || return; core_answer nxunix; }
t_nginx_unix_failover() { nxunix || return; core_failover nxunix; }
t_nginx_unix_stream_not_buffered() { nxunix || return; core_stream nxunix; }
t_nginx_unix_disconnect_aborts_upstream() { nxunix || return; core_disconnect nxunix; }
t_nginx_unix_stop() {
	srv_running nxunix || return
	srv_down nxunix || return 1
	srv_down nxunix-fcgi
}
