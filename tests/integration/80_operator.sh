# The operator's tools: immortal -t, --check, --help, the manual, the status page.

# Folders of their own: these groups are not the running server's.
OPDIR=$T/operator

setup_80_operator() {
	mkdir -p "$OPDIR/good" "$OPDIR/mixed" "$OPDIR/check" "$OPDIR/checkok"
	printf '[%s]\n' "$(ep one ok,id=op-t)" >"$OPDIR/good/fine.json"
	printf '[%s]\n' "$(ep one ok,id=op-t)" >"$OPDIR/mixed/fine.json"
	printf '[{"name":"x","baseurl":"ftp://example.com/v1","model":"m"}]\n' >"$OPDIR/mixed/broken.json"
	printf '[%s, %s, %s]\n' "$(ep good ok,id=op-check)" "$(ep badkey status=401,id=op-check)" \
		"$(ep_refused down op-check)" >"$OPDIR/check/chk.json"
	printf '[%s]\n' "$(ep good ok,id=op-checkok)" >"$OPDIR/checkok/fine.json"
	mkdir -p "$OPDIR/checkunset" "$OPDIR/checkpool"
	printf '[{"name":"pool","baseurl":"%s/keyfail=2222:401,id=op-pool/v1","model":"m","apikey":["sk-op-pool-key-1111","sk-op-pool-key-2222","sk-op-pool-key-3333"]}, %s]\n' \
		"$MOCK" "$(ep single ok,id=op-pool1)" >"$OPDIR/checkpool/pchk.json"
	printf '[%s, {"name":"unset","baseurl":"%s/ok/v1","apikey":"${OP_UNSET_KEY}","model":"m"}]\n' \
		"$(ep good ok,id=op-checkunset)" "$MOCK" >"$OPDIR/checkunset/fine.json"
	setup_80_operator_status
}

# imm ARGS...: the immortal binary run as the operator runs it; its output
# goes to $T/op, its exit status is returned.
imm() {
	env ASAN_OPTIONS="${ASAN_OPTIONS:-}:log_path=$T/log/asan" \
	    UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:log_path=$T/log/ubsan" \
	    "$BUILD/fcgi/immortal" "$@" >"$T/op" 2>&1
}

t_operator_configtest_catches_a_broken_group_file() {
	local rc
	imm -t "$OPDIR/mixed"; rc=$?
	expect_eq "$rc" 1 "exit status with a broken file" || return 1
	expect_match "$(cat "$T/op")" "$OPDIR/mixed/broken.json: endpoint 1 \\(x\\): field \"baseurl\": must start with http" "problem line" || return 1
	expect_match "$(cat "$T/op")" ': 1 group ok, 1 with errors$' "summary" || return 1
	expect_eq "$(mock_stat ok,id=op-t requests)" 0 "requests sent by -t"
}

t_operator_configtest_passes_a_good_folder() {
	local rc
	imm -t "$OPDIR/good"; rc=$?
	expect_eq "$rc" 0 "exit status" || { cat "$T/op"; return 1; }
	expect_eq "$(cat "$T/op")" "immortal: $OPDIR/good: 1 group ok, 0 with errors" "whole output"
}

t_operator_configtest_reads_the_configured_folder_and_keys() {
	local rc
	printf '{"k-%s": ["fine"], "broken\n' "$SECRET" >"$OPDIR/keys.json"
	IMMORTAL_CONFIG_DIR=$OPDIR/good IMMORTAL_ACCESS_KEYS_FILE=$OPDIR/keys.json imm -t; rc=$?
	expect_eq "$rc" 1 "exit status with a broken keys file" || return 1
	expect_match "$(cat "$T/op")" "access keys $OPDIR/keys.json: errors" "keys verdict" || return 1
	expect_no_match "$(cat "$T/op")" "$SECRET" "a key in the output" || return 1
	printf 'k-one\n' >"$OPDIR/keys.txt"
	IMMORTAL_CONFIG_DIR=$OPDIR/good IMMORTAL_ACCESS_KEYS_FILE=$OPDIR/keys.txt imm -t; rc=$?
	expect_eq "$rc" 0 "exit status with a good keys file" || { cat "$T/op"; return 1; }
	expect_match "$(cat "$T/op")" "access keys $OPDIR/keys.txt: ok" "keys verdict" || return 1
	IMMORTAL_THREADS=many imm -t "$OPDIR/good"; rc=$?
	expect_eq "$rc" 1 "exit status with a bad setting" || return 1
	expect_match "$(cat "$T/op")" 'IMMORTAL_THREADS=many' "the setting named"
}

# check_row ENDPOINT: the table row of that endpoint, squeezed to one space.
check_row() { awk -v e="$1" '$2 == e' "$T/op" | tr -s ' '; }

t_operator_check_tells_each_endpoint_outcome() {
	local rc
	IMMORTAL_CONFIG_DIR=$OPDIR/check imm --check chk; rc=$?
	expect_eq "$rc" 1 "exit status" || { cat "$T/op"; return 1; }
	expect_match "$(head -1 "$T/op")" '^GROUP +ENDPOINT +KEY +TYPE +OUTCOME +STATUS +TTFB +HINT$' "header" || return 1
	expect_match "$(check_row good)" '^chk good - openai ok 200 [0-9]+ ms -$' "good row" || { cat "$T/op"; return 1; }
	expect_match "$(check_row badkey)" '^chk badkey - openai auth 401 [0-9]+ ms check the apikey' "401 row" || { cat "$T/op"; return 1; }
	expect_match "$(check_row down)" '^chk down - openai network - [0-9]+ ms check the baseurl' "refused row" || { cat "$T/op"; return 1; }
	expect_no_match "$(cat "$T/op")" "$SECRET" "the key in the output" || return 1
	# the request is the tiny one promised
	curl -s "$MOCK/control/last?key=ok,id=op-check" >"$T/b"
	expect_json "$T/b" '.body.max_tokens' 1 || return 1
	expect_json "$T/b" '.body.model' model-good
}

# Every key of a pool gets its own request and row, named as the logs
# name it; the keys themselves are never printed.
t_operator_check_tries_every_key_of_a_pool() {
	local rc
	IMMORTAL_CONFIG_DIR=$OPDIR/checkpool imm --check; rc=$?
	expect_eq "$rc" 1 "exit status with one key revoked" || { cat "$T/op"; return 1; }
	expect_eq "$(check_row pool | cut -d' ' -f3,5,6)" "$(printf '1/…1111 ok 200\n2/…2222 auth 401\n3/…3333 ok 200')" \
		"the pool's rows" || { cat "$T/op"; return 1; }
	expect_match "$(check_row single)" '^pchk single - openai ok 200 ' "a single key's row" || return 1
	expect_match "$(cat "$T/op")" 'pchk/pool key 2/…2222: HTTP 401' "the failure's line" || return 1
	expect_no_match "$(cat "$T/op")" 'sk-op-pool-key' "a key in the output" || return 1
	curl -s "$MOCK/control/keys?key=keyfail=2222:401,id=op-pool" >"$T/b"
	expect_json "$T/b" '[.["sk-op-pool-key-1111"], .["sk-op-pool-key-2222"], .["sk-op-pool-key-3333"]] | join(",")' '1,1,1'
}

t_operator_check_exits_zero_when_all_answer() {
	local rc
	IMMORTAL_CONFIG_DIR=$OPDIR/checkok imm --check; rc=$?
	expect_eq "$rc" 0 "exit status" || { cat "$T/op"; return 1; }
	expect_match "$(tail -1 "$T/op")" '1 endpoint answered, 0 did not' "summary" || return 1
	IMMORTAL_CONFIG_DIR=$OPDIR/checkok imm --check nosuch; rc=$?
	expect_eq "$rc" 1 "exit status for an unknown group" || return 1
	expect_match "$(cat "$T/op")" 'no group nosuch is loaded' "message" || return 1
	# a key that would never be used is found too
	IMMORTAL_CONFIG_DIR=$OPDIR/checkunset imm --check; rc=$?
	expect_eq "$rc" 1 "exit status with an unset \${VAR}" || return 1
	expect_match "$(head -1 "$T/op")" 'endpoint 2 \(unset\) left out: field "apikey": \$\{OP_UNSET_KEY\} is not set' "note"
}

# Apache's mod_cgi turns a query string without "=" into arguments: a
# client asking for ?--check must get an answer, not run the tool.
t_operator_tools_unreachable_as_cgi() {
	GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=GET REQUEST_URI=/v1/models QUERY_STRING=--check \
		IMMORTAL_CONFIG_DIR=$OPDIR/check IMMORTAL_LOG_DIR=$T/log imm --check </dev/null
	expect_match "$(head -1 "$T/op")" '^Status: 200' "answer to a CGI request with --check in argv" || return 1
	expect_no_match "$(cat "$T/op")" 'GROUP +ENDPOINT' "the check table" || return 1
	expect_eq "$(mock_stat ok,id=op-check requests)" 1 "requests to the endpoint (the check's only)"
}

t_operator_help_lists_every_option_and_variable() {
	local vars v
	imm --help || { fail "--help failed"; return 1; }
	for v in --listen -t --check --help --version; do
		expect_match "$(cat "$T/op")" "(^| )$v( |,|$)" "option $v in --help" || return 1
	done
	# every variable of the README's table of environment variables
	vars=$(awk '/^Environment variables:/{on=1; next} on && /^\| `[A-Z_]*`/{sub(/^\| `/, ""); sub(/`.*/, ""); print} on && /^$/ && seen{exit} on && /^\|/{seen=1}' "$TOP/README")
	[ "$(wc -w <<<"$vars")" -ge 10 ] || { fail "could not read the README's table: $vars"; return 1; }
	for v in $vars; do
		expect_match "$(cat "$T/op")" "^  $v " "$v in --help" || return 1
	done
	imm --version || { fail "--version failed"; return 1; }
	expect_match "$(cat "$T/op")" '^immortal [0-9]+\.[0-9]+' "--version"
}

setup_80_operator_status() {
	# called by setup_80_operator
	group stpage "{\"cooldown\": {\"base\": 8}, \"endpoints\": [$(ep flaky status=500,fail_first=1,id=stpage '"retries":0'), $(ep next id=stpageb)]}"
	group stxss "[$(ep '<img src=x onerror=\"window.pwned=true\">' id=stxss)]"
}

t_operator_status_page_in_a_browser() {
	local mods=$BUILD/node/node_modules
	[ -x /usr/bin/chromium ] || { echo "chromium missing"; return 77; }
	[ -d "$mods/puppeteer-core" ] || { echo "puppeteer-core missing in $mods"; return 77; }
	mkdir -p "$T/log/browser"
	NODE_PATH=$mods node "$TOP/tests/clients/status_browser.js" "$URL" stpage flaky stxss "$T/log/browser" || return 1
	cp "$T/log/browser/status-cooling.png" "$BUILD/status-cooling.png"
	cp "$T/log/browser/status-recovered.png" "$BUILD/status.png"
}

t_operator_status_page_is_html_and_protected() {
	command -v cgi-fcgi >/dev/null || { echo "cgi-fcgi missing"; return 77; }
	curl -s -o "$T/b" -D "$T/h" "$URL/v1/status" || return 1
	expect_match "$(header Content-Type)" '^text/html' content-type || return 1
	expect_match "$(cat "$T/b")" 'data-group="stpage" data-endpoint="flaky"' "a row per endpoint" || return 1
	expect_no_match "$(cat "$T/b")" "$SECRET|http://|https://" "keys or URLs on the page" || return 1
	immortal_start "$FCGI2_PORT" IMMORTAL_ACCESS_KEYS_FILE="$T/keys.txt" IMMORTAL_PROTECT_METRICS=true || return 1
	local ok=0
	fcgi2 GET /v1/status "" && expect_eq "$(fcgi2_status)" 401 "status without key" &&
	fcgi2 GET /v1/status "" HTTP_AUTHORIZATION="Bearer k-all" && expect_eq "$(fcgi2_status)" 200 "status with key" && ok=1
	immortal_stop "$FCGI2_PORT"
	[ $ok = 1 ]
}

# make install puts both pages in place; mandoc finds nothing to say but
# that the two pages, not in the system's manual database, cite each other.
t_operator_man_pages_install_lint_and_render() {
	command -v mandoc >/dev/null || { echo "mandoc missing"; return 77; }
	local dest=$T/install page out
	make -s -C "$BUILD" install DESTDIR="$dest" >"$T/install.out" 2>&1 || { cat "$T/install.out"; fail "make install"; return 1; }
	for page in man8/immortal.8 man5/immortal-groups.5; do
		page=$(find "$dest" -path "*/share/man/$page") && [ -n "$page" ] || { fail "$page not installed"; return 1; }
		out=$(mandoc -T lint "$page" 2>&1 | grep -v 'mandoc\.db' | grep -v 'STYLE: referenced manual not found: Xr immortal')
		expect_eq "$out" "" "mandoc -T lint $(basename "$page")" || return 1
		out=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
		expect_match "$out" '^(IMMORTAL|IMMORTAL-GROUPS)\([58]\)' "man -l $(basename "$page")" || return 1
	done
	out=$(MANWIDTH=80 man -l "$(find "$dest" -name immortal.8)")
	# the manual knows every variable --help lists, and every option
	"$BUILD/fcgi/immortal" --help | sed -n 's/^  \([A-Z_]*\) .*/\1/p' >"$T/vars"
	[ -s "$T/vars" ] || { fail "no variable in --help"; return 1; }
	while read -r v; do expect_match "$out" "$v" "$v in immortal(8)" || return 1; done <"$T/vars"
	for v in --listen --check --help --version "-t"; do
		expect_match "$out" "(^| )$v( |,|$)" "option $v in immortal(8)" || return 1
	done
	# every field and option of the README's two tables has its entry
	out=$(MANWIDTH=80 man -l "$(find "$dest" -name immortal-groups.5)")
	awk '/^(Endpoint fields|Group options)/{on=1; next} on && /^$/ && seen{on=0; seen=0} on && /^\|/{seen=1; print}' \
		"$TOP/README" | cut -d'|' -f2 | grep -o '`[a-z_]*`' | tr -d '`' | grep -vx 'field\|option' >"$T/fields"
	[ "$(wc -l <"$T/fields")" -ge 18 ] || { fail "could not read the README's tables: $(cat "$T/fields")"; return 1; }
	while read -r v; do
		expect_match "$out" "^ +([a-z_]+, )?$v(,| |$)" "field $v in immortal-groups(5)" || return 1
	done <"$T/fields"
}
