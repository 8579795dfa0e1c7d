# tests/lib_servers.sh: the other front servers and deployment shapes, sourced
# at the end of tests/lib.sh. Each shape's server (a second nginx, lighttpd,
# Apache, more immortals) is started by the first test that needs it, from a
# config generated out of the example under etc/ (ports and paths replaced),
# on loopback ports of its own; stack_stop stops them all again.
#
# Tests run in subshells, so what a started server leaves behind is kept in
# files under $SRV: its port (ports/NAME), how to stop it (stop/NAME).

SRV=$T/srv
mkdir -p "$SRV/ports" "$SRV/stop"

# When the tests run as root, servers that switch users (Apache's children,
# lighttpd, what they start) run as SRV_USER; it needs to reach the group
# files, so $T becomes traversable (not listable) then.
if [ "$(id -u)" = 0 ]; then
	SRV_USER=www-data
	id "$SRV_USER" >/dev/null 2>&1 || SRV_USER=nobody
	SRV_GROUP=$(id -gn "$SRV_USER")
else
	SRV_USER=$(id -un) SRV_GROUP=$(id -gn)
fi

# srv_need CMD|PATH...: returns 77 (skip) naming what is missing.
srv_need() {
	local x
	for x; do
		case $x in
		/*) [ -e "$x" ] || { echo "$x missing"; return 77; } ;;
		*) command -v "$x" >/dev/null 2>&1 || { echo "$x missing"; return 77; } ;;
		esac
	done
}

# srv_port_unused PORT: no socket at all (listening, connected, TIME-WAIT)
# uses PORT locally, so a bind cannot fail.
srv_port_unused() { ! ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }

# srv_port NAME: a free loopback port for NAME, the same in every test.
srv_port() {
	local f=$SRV/ports/$1 p
	[ -s "$f" ] && { cat "$f"; return; }
	p=$((base + 6))   # lib.sh took base .. base+5
	while ! srv_port_unused $p || grep -qx "$p" "$SRV"/ports/* 2>/dev/null; do p=$((p + 1)); done
	echo "$p" >"$f"
	echo "$p"
}

# srv_dir NAME: the folder of server NAME, which SRV_USER may write.
srv_dir() {
	local d=$SRV/$1
	mkdir -p "$d"
	if [ "$(id -u)" = 0 ]; then
		chmod 711 "$T" "$SRV"
		chown "$SRV_USER:$SRV_GROUP" "$d"
	fi
	echo "$d"
}

# srv_binary NAME: a copy of fcgi/immortal in NAME's folder, for servers
# that run it as SRV_USER: the build folder may be where SRV_USER cannot
# go (a clone in root's home, mode 0700).
srv_binary() {
	local d
	d=$(srv_dir "$1")
	install -m 755 "$BUILD/fcgi/immortal" "$d/immortal" && echo "$d/immortal"
}

# srv_up NAME START_FUNCTION: runs START_FUNCTION unless NAME is up already.
# START_FUNCTION registers how to stop it (srv_on_stop) and returns non-zero
# (77: skip) when it cannot start; NAME is then not tried again, and every
# later srv_up NAME returns the same.
srv_up() {
	local rc
	[ -f "$SRV/stop/$1" ] && return 0
	if [ -f "$SRV/failed/$1" ]; then
		read -r rc <"$SRV/failed/$1"
		echo "$1 did not start (see its first test)"
		return "$rc"
	fi
	"$2" && return 0
	rc=$?
	mkdir -p "$SRV/failed"
	echo "$rc" >"$SRV/failed/$1"
	return $rc
}

# srv_on_stop NAME SIGNAL PID...: how srv_down stops NAME.
srv_on_stop() {
	local name=$1; shift
	echo "$*" >"$SRV/stop/$name"
}

# srv_running NAME: true when NAME was started (and not stopped); else
# returns 77 (skip) for a test that would stop it.
srv_running() { [ -f "$SRV/stop/$1" ] || { echo "$1 is not running"; return 77; }; }

# srv_down NAME: signals NAME's processes and waits until they are gone.
srv_down() {
	local f=$SRV/stop/$1 sig pids p
	[ -f "$f" ] || return 0
	read -r sig pids <"$f"
	rm -f "$f"
	for p in $pids; do kill "-$sig" "$p" 2>/dev/null; done
	for p in $pids; do
		wait_until 30 pid_gone "$p" || { echo "$1: pid $p did not stop"; return 1; }
	done
}

# pid_gone PID: no such process, or only its zombie is left.
pid_gone() { ! kill -0 "$1" 2>/dev/null || [ "$(ps -o stat= -p "$1")" = Z ]; }

servers_stop_all() {
	local f
	for f in "$SRV"/stop/*; do
		[ -f "$f" ] && srv_down "$(basename "$f")"
	done
	true
}

# stack_stop (lib.sh) stops the servers of this file first.
eval "stack_stop_core() $(declare -f stack_stop | tail -n +2)"
stack_stop() { servers_stop_all; stack_stop_core; }

# pid_of_file FILE: the pid a server wrote, once it is there.
pid_of_file() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null && cat "$1"; }

# ---- immortal under spawn-fcgi -----------------------------------------------

# srv_immortal NAME ADDR [SPAWN_FCGI_OPTIONS...] [-- ENV=VALUE...]: immortal
# under spawn-fcgi on ADDR (a port, or a unix socket path), with the stack's
# settings and its log in $SRV/NAME/log/immortal.log.
srv_immortal() {
	local name=$1 addr=$2 d opts=() envs=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ "${1:-}" = -- ] && { shift; envs=("$@"); }
	d=$SRV/$name
	mkdir -p "$d/log"
	case $addr in
	/*) opts+=(-s "$addr") ;;
	*) opts+=(-a 127.0.0.1 -p "$addr") ;;
	esac
	env IMMORTAL_CONFIG_DIR="$CONF" IMMORTAL_LOG_DIR="$d/log" LOG_LEVEL=true \
	    IMMORTAL_KEEPALIVE=1 IMMORTAL_THREADS=4 \
	    ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/log/asan" \
	    UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/log/ubsan" \
	    "${envs[@]}" spawn-fcgi "${opts[@]}" -P "$d/pids" -- "$BUILD/fcgi/immortal" \
	    </dev/null >"$d/spawn.out" 2>&1 || { echo "spawn-fcgi failed"; cat "$d/spawn.out"; return 1; }
	srv_on_stop "$name" TERM $(cat "$d/pids")
	case $addr in
	/*) wait_until 10 test -S "$addr" ;;
	*) wait_until 10 port_open "$addr" ;;
	esac || { echo "immortal $name does not listen on $addr"; return 1; }
}

# ---- nginx -------------------------------------------------------------------

# srv_nginx NAME PORT EXAMPLE [SED_EXPR...]: an nginx of its own on PORT
# from etc/nginx/EXAMPLE, with SED_EXPR applied to it.
srv_nginx() {
	local name=$1 port=$2 example=$3 d e sed=()
	shift 3
	for e; do sed+=(-e "$e"); done
	d=$SRV/$name
	mkdir -p "$d"
	cp /etc/nginx/fastcgi_params "$d/"
	{
		[ "$(id -u)" = 0 ] && echo "user root;"
		cat <<-CONF
		worker_processes 1;
		daemon on;
		pid $d/nginx.pid;
		error_log $d/error.log warn;
		events { worker_connections 1024; }
		http {
		    access_log off;
		    client_body_temp_path $d/body;
		    fastcgi_temp_path $d/fastcgi;
		    proxy_temp_path $d/proxy;
		    uwsgi_temp_path $d/uwsgi;
		    scgi_temp_path $d/scgi;
		CONF
		sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$port/" "${sed[@]}" "$TOP/etc/nginx/$example"
		echo "}"
	} >"$d/nginx.conf"
	nginx -p "$d" -c "$d/nginx.conf" </dev/null >"$d/start.err" 2>&1 ||
		{ echo "nginx $name failed to start"; cat "$d/start.err"; return 1; }
	wait_until 10 pid_of_file "$d/nginx.pid" || { echo "nginx $name wrote no pid"; return 1; }
	srv_on_stop "$name" QUIT "$(cat "$d/nginx.pid")"
	wait_until 10 port_open "$port"
}

# ---- the core set: what every front-server shape must do ----------------------

# core_groups SHAPE: the groups the core set needs, named SHAPE-*.
core_groups() {
	local s=$1
	group "$s-ok" "[$(ep one ok,id=$s-ok)]"
	group "$s-failover" "[$(ep_refused dead "$s"), $(ep next id=$s-fo)]"
	group "$s-gated" "[$(ep one gate=$s,id=$s-gated)]"
	group "$s-stall" "[$(ep one stall=1,id=$s-stall)]"
}

# core_answer SHAPE: a non-streamed answer through $URL.
core_answer() {
	expect_eq "$(chat "$1-ok")" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5' || return 1
	expect_eq "$(header X-Immortal-Endpoint)" one endpoint
}

# core_failover SHAPE: the first endpoint refuses, the second answers.
core_failover() {
	expect_eq "$(chat "$1-failover")" 200 status || return 1
	expect_json "$T/b" '.choices[0].message.content' 'w1 w2 w3 w4 w5' || return 1
	expect_eq "$(header X-Immortal-Endpoint)" next endpoint || return 1
	expect_eq "$(header X-Immortal-Attempts)" 2 attempts
}

# core_stream SHAPE: the first event reaches the client while the upstream
# still holds back the rest, so nothing on the way buffers the stream.
core_stream() { expect_unbuffered "$1-gated" "$1" "gate=$1,id=$1-gated"; }

# core_disconnect SHAPE: a client that leaves mid-stream aborts the upstream.
core_disconnect() { expect_disconnect_aborts "$1-stall" "stall=1,id=$1-stall"; }

# ---- Apache --------------------------------------------------------------------

APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}

# srv_apache NAME MPM MODULE... : an Apache of its own on NAME's port, with
# only MPM and the MODULEs (names as in mod_NAME.so) loaded, serving
# $SRV/NAME/www and including $SRV/NAME/site.conf, which the caller wrote.
srv_apache() {
	local name=$1 mpm=$2 m d
	shift 2
	srv_need apache2 "$APACHE_MODULES/mod_mpm_$mpm.so" || return
	for m; do srv_need "$APACHE_MODULES/mod_$m.so" || return; done
	d=$SRV/$name
	{
		cat <<-CONF
		ServerName 127.0.0.1
		Listen 127.0.0.1:$(srv_port "$name")
		PidFile $d/apache.pid
		DefaultRuntimeDir $d/run
		ErrorLog $d/error.log
		LogLevel warn
		LoadModule mpm_${mpm}_module $APACHE_MODULES/mod_mpm_$mpm.so
		StartServers 1
		CONF
		for m in authz_core mime "$@"; do
			echo "LoadModule ${m}_module $APACHE_MODULES/mod_$m.so"
		done
		[ "$(id -u)" = 0 ] && printf 'User %s\nGroup %s\n' "$SRV_USER" "$SRV_GROUP"
		cat <<-CONF
		TypesConfig /etc/mime.types
		DocumentRoot $d/www
		<Directory />
		    AllowOverride None
		    Require all denied
		</Directory>
		<Directory $d/www>
		    Require all granted
		</Directory>
		<Files ".ht*">
		    Require all denied
		</Files>
		Include $d/site.conf
		CONF
	} >"$d/apache.conf"
	mkdir -p "$d/www" "$d/run"
	apache2 -t -f "$d/apache.conf" >"$d/start.err" 2>&1 &&
		apache2 -k start -f "$d/apache.conf" </dev/null >>"$d/start.err" 2>&1 ||
		{ echo "apache $name failed to start"; cat "$d/start.err" "$d/error.log" 2>/dev/null; return 1; }
	wait_until 10 pid_of_file "$d/apache.pid" || { echo "apache $name wrote no pid"; cat "$d/error.log"; return 1; }
	srv_on_stop "$name" TERM "$(cat "$d/apache.pid")"
	wait_until 10 port_open "$(srv_port "$name")"
}
