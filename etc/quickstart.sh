#!/usr/bin/env bash
# etc/quickstart.sh: build immortal and start a demo stack on this machine.
#
# On Debian 12 as root, from a clean clone: installs the Debian packages
# that are missing, builds immortal in build/, and starts
#   - the mock upstream on 127.0.0.1:8081 (a stand-in provider),
#   - immortal under spawn-fcgi on 127.0.0.1:9000, serving the groups of
#     etc/groups/ (think, fast: need provider keys; demo: works offline),
#   - nginx on 127.0.0.1:8080 with etc/nginx/immortal.conf.
# Then prints a curl line to try. Run it again to restart; `--stop` stops.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/build/quickstart
stop() {
	[ -f "$run/nginx/nginx.pid" ] && kill -QUIT "$(cat "$run/nginx/nginx.pid")" 2>/dev/null || true
	[ -f "$run/immortal.pid" ] && kill -TERM "$(cat "$run/immortal.pid")" 2>/dev/null || true
	[ -f "$run/mock.pid" ] && kill -TERM "$(cat "$run/mock.pid")" 2>/dev/null || true
	sleep 0.5
}
if [ "${1:-}" = --stop ]; then stop; echo "stopped"; exit 0; fi

packages="build-essential autoconf automake pkg-config libfcgi-dev libcurl4-openssl-dev
libjson-c-dev libmicrohttpd-dev spawn-fcgi curl"
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
command -v nginx >/dev/null 2>&1 || missing="$missing nginx-light"
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

echo "building immortal in build/"
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
mkdir -p build && cd build
[ -f Makefile ] || ../configure -q >/dev/null
make -j2 >/dev/null

stop
rm -rf "$run"
mkdir -p "$run/groups" "$run/log" "$run/nginx"
cp "$top"/etc/groups/*.json "$run/groups/"

# Servers get no terminal output of ours: `quickstart.sh | less` must end.
tests/mock_upstream --port 8081 --quiet >/dev/null 2>"$run/mock.err" </dev/null &
echo $! >"$run/mock.pid"

IMMORTAL_CONFIG_DIR=$run/groups IMMORTAL_LOG_DIR=$run/log LOG_LEVEL=true \
	spawn-fcgi -a 127.0.0.1 -p 9000 -P "$run/immortal.pid" -- "$top/build/fcgi/immortal" >/dev/null 2>&1 </dev/null

cp /etc/nginx/fastcgi_params "$run/nginx/"
{
	[ "$(id -u)" = 0 ] && echo "user root;"
	cat <<CONF
pid $run/nginx/nginx.pid;
error_log $run/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log $run/nginx/access.log;
    client_body_temp_path $run/nginx/body;
    fastcgi_temp_path $run/nginx/fastcgi;
    proxy_temp_path $run/nginx/proxy;
    uwsgi_temp_path $run/nginx/uwsgi;
    scgi_temp_path $run/nginx/scgi;
    include $top/etc/nginx/immortal.conf;
}
CONF
} >"$run/nginx/nginx.conf"
nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" >/dev/null 2>"$run/nginx/start.err" </dev/null ||
	{ cat "$run/nginx/start.err" >&2; exit 1; }

for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8080/v1/health && break; sleep 0.1; done
cat <<MSG

immortal is up behind nginx on http://127.0.0.1:8080/v1 (log: $run/log/immortal.log)
Try (the demo group's first endpoint is down; the answer comes from the second):

  curl -s http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{"model":"demo","messages":[{"role":"user","content":"Hello"}]}'

  tail $run/log/immortal.log     # shows the failover
  bash etc/quickstart.sh --stop  # stops the demo
MSG
