#!/bin/sh
# The web console (`imwire web`) on loopback over a SQLite archive made by
# `imwire read --config`, with a conversation whose messages are hostile
# (<script>, <img onerror>), as attacker-controlled text is:
#  - without a session: pages redirect to /login, the event stream and
#    exports answer 401; a login form without its CSRF token is refused;
#  - a real browser (Debian's chromium, headless, through chromium-driver
#    and python3-selenium: tests/peers/review_browser.py) signs in, opens
#    the thread (the payloads are text, nothing runs), searches, downloads
#    an export, watches the live tail, is refused the admin page, and
#    keeps a screenshot under build/test-artifacts/;
#  - an admin reaches /admin; a wrong password is rate limited;
#  - every page view and the export are in the access-audit log;
#  - under TLS (a certificate made here) the session cookie is Secure.
# Run under the team lock (fixed ports).
set -u
. "$TOP/tests/lib.sh"
begin_test
require_root review_web "needs root (chromium runs as root here)" || exit 0
require review_web_prerequisites chromium chromedriver curl openssl py:selenium || exit 0
IMW="$BIN/imwire"
PORT=18471
TLS_PORT=18472
BASE=http://127.0.0.1:$PORT
ART=$TOP/build/test-artifacts
mkdir -p "$ART" "$tmp/dl"
P1='<script>window.__imwire_xss=1;alert(1)</script>'
P2='<img src=x onerror="window.__imwire_xss=2;alert(2)">'

printf 'sqlite_file=%s\n' "$tmp/a.db" >"$tmp/a.conf"
"$IMW" read --config "$tmp/a.conf" --quiet "$TOP/tests/pcaps/xmpp_chat.pcap" \
	"$TOP/tests/pcaps/msn_group.pcap" >/dev/null 2>"$tmp/read.err"
check review_web_archive $? "$(head -3 "$tmp/read.err")"
# Hostile text as the writer stores it: an IRC channel where someone
# sends the payloads (one of them blocked by policy).
sqlite3 "$tmp/a.db" "INSERT INTO messages (timestamp, clientaddress, protocolname, outgoing,
	type, localid, remoteid, filtered, eventdata, sensor, eventid) VALUES
	(1051790500, '10.0.0.2:40000', 'IRC', 0, 1, 'alice', '#xss', 0, 'mallory: ' || '$P1', '', 1),
	(1051790501, '10.0.0.2:40000', 'IRC', 0, 1, 'alice', '#xss', 1, '$P2', '', 2),
	(1051790502, '10.0.0.2:40000', 'IRC', 1, 1, 'alice', '#xss', 0, 'what was that?', '', 3)"
printf 'reviewer-pw-1\n' | "$IMW" web-user add rita --role reviewer --users "$tmp/users" &&
	printf 'admin-pw-22\n' | "$IMW" web-user add adam --role admin --users "$tmp/users"
check review_web_users $?

start_web() { # port, log, extra args...
	local port="$1" log="$2"
	shift 2
	"$IMW" web --config "$tmp/a.conf" --users "$tmp/users" --audit-log "$tmp/audit.log" \
		--listen "127.0.0.1:$port" --control "$tmp/no-such.sock" "$@" >"$log" 2>&1 &
	server_pids="$server_pids $!"
	wait_until 10 $! log_has "$log" "listening on" 1
}
start_web $PORT "$tmp/web.log"
check review_web_starts $? "$(tail -3 "$tmp/web.log")"

code() { curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "$@"; }
check review_web_no_session_redirects "$([ "$(code $BASE/thread?id=1)" = "303 $BASE/login" ]; echo $?)" "$(code $BASE/thread?id=1)"
check review_web_no_session_401_events "$([ "$(code $BASE/events)" = "401 " ]; echo $?)"
check review_web_no_session_401_export "$([ "$(code "$BASE/export?format=csv")" = "401 " ]; echo $?)"
check review_web_login_needs_csrf "$([ "$(code --data 'user=rita&password=reviewer-pw-1' $BASE/login)" = "403 " ]; echo $?)"
curl -s -D "$tmp/h" -o /dev/null $BASE/login
grep -qi '^Content-Security-Policy: default-src .none.; script-src .self.; style-src .self.;.*frame-ancestors .none.' "$tmp/h" &&
	grep -qi '^X-Frame-Options: DENY' "$tmp/h"
check review_web_security_headers $? "$(cat "$tmp/h")"

# curl_login JAR USER PASSWORD: a session in JAR; prints the status.
curl_login() {
	local tok
	tok=$(curl -s -c "$1" -b "$1" $BASE/login | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
	curl -s -o /dev/null -w '%{http_code}' -c "$1" -b "$1" --data "csrf=$tok&user=$2&password=$3" $BASE/login
}
check review_web_admin_login "$([ "$(curl_login "$tmp/adm" adam admin-pw-22)" = 303 ]; echo $?)"
check review_web_admin_page "$([ "$(code -b "$tmp/adm" $BASE/admin)" = "200 " ]; echo $?)"
curl -s -b "$tmp/adm" "$BASE/export?format=csv&q=lunch" -o "$tmp/x.csv"
check review_web_export_needs_csrf "$(grep -q 'bad CSRF token' "$tmp/x.csv"; echo $?)"

"$PY" "$PEERS/review_browser.py" $BASE rita reviewer-pw-1 "$tmp/dl" "$ART/review_web_thread.png" \
	"mallory: $P1" "$P2" -- sqlite3 "$tmp/a.db" \
	"INSERT INTO messages (timestamp, clientaddress, protocolname, outgoing, type, localid,
	remoteid, filtered, eventdata, sensor, eventid) VALUES (1051790600, '10.0.0.2:40000',
	'IRC', 1, 1, 'alice', '#news', 0, 'tail-news arrives', '', 4)" 2>"$tmp/browser.err"
check review_web_browser_ran $? "$(tail -5 "$tmp/browser.err")"

# Five wrong passwords lock the address and the user name (last: the
# browser has signed in by now).
st=""
for i in 1 2 3 4 5 6; do st="$st $(curl_login "$tmp/bad" adam wrong-$i)"; done
check review_web_rate_limit "$([ "$st" = " 401 401 401 401 401 429" ]; echo $?)" "$st"

# The audit log: every view, the export and the refusals, with who and from where.
log=$tmp/audit.log
fact review_audit_thread_view 1 "$log" '"user":"rita"' '"addr":"127.0.0.1"' '"path":"/thread"' '"what":"view conversation'
fact review_audit_export 1 "$log" '"user":"rita"' '"path":"/export"' '"what":"export html: 3 events, 1 conversations'
fact review_audit_admin_refused 1 "$log" '"user":"rita"' '"path":"/admin"' '"status":403'
fact review_audit_search 1 "$log" '"user":"rita"' '"path":"/search"' 'q=lunch' 'search (1 results)'
fact review_audit_refused_no_session 1 "$log" '"path":"/events"' '"status":401'
fact review_audit_no_csrf_token 0 "$log" 'csrf='
"$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$log"
check review_audit_json_lines $?

# Under TLS: the same console, the cookie Secure.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
	-subj /CN=127.0.0.1 >/dev/null 2>&1
start_web $TLS_PORT "$tmp/tls.log" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
check review_web_tls_starts $? "$(tail -3 "$tmp/tls.log")"
tok=$(curl -sk -c "$tmp/tj" https://127.0.0.1:$TLS_PORT/login | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
curl -sk -D "$tmp/th" -o /dev/null -b "$tmp/tj" --data "csrf=$tok&user=rita&password=reviewer-pw-1" https://127.0.0.1:$TLS_PORT/login
grep -qi '^Set-Cookie: imw_session=[0-9a-f]*; Path=/; HttpOnly; SameSite=Strict; Secure' "$tmp/th"
check review_web_tls_secure_cookie $? "$(cat "$tmp/th")"
