#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What a user sees when things go wrong: provider errors (exit 4), transient
# failures with retries (exit 6), protocol errors (exit 1), unknown accounts
# (exit 3), usage errors (exit 2), bad token files (exit 1) -- and that no
# token or secret ever shows up in the messages.  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

ACCOUNT=err@example.com
APP=errapp
CLIENT_SECRET='e+r&r=o%3Dr'
INITIAL_RT=rt-err-initial-3d2c
FILE_AT=at-err-file-8e0f

write_secret_file "$TEST_DIR/client-secret" "$CLIENT_SECRET"
write_secret_file "$TEST_DIR/initial-rt" "$INITIAL_RT"
start_token_server --refresh-token-file "$TEST_DIR/initial-rt" \
	--client-secret-file "$TEST_DIR/client-secret" || bail_out "cannot start the token server"
setup_app "$APP" "$TEST_DIR/client-secret"

# expire_account: store an expired token with $INITIAL_RT, make the server
# accept $INITIAL_RT again, zero its request counter.
expire_account() {
	write_token_file "$TEST_DIR/expired.json" "user=$ACCOUNT" "access_token=$FILE_AT" \
		"refresh_token=$INITIAL_RT" "expiry=$(($(now) - 100))"
	mo "import-expired-$1" import "$TEST_DIR/expired.json" --app "$APP"
	if [ "$RC" -ne 0 ]; then
		diag "set-up for '$1': import failed"
		show_run
	fi
	ts_control "{\"mode\":\"ok\",\"refresh_token\":$(json_escape "$INITIAL_RT"),\"reset_stats\":true}" ||
		diag "set-up for '$1': cannot reset the token server"
}

# stored_rt_unchanged DESC: the keyring still has $INITIAL_RT.
stored_rt_unchanged() {
	keyring_account_json "$ACCOUNT" "$TEST_DIR/account.json"
	assert_secret_eq "$(json_get "$TEST_DIR/account.json" 'd["refresh_token"]')" "$INITIAL_RT" "$1"
}

# --- the provider says: authorize again (exit 4) ------------------------------------
expire_account invalid_grant
ts_mode invalid_grant
mo invalid-grant token "$ACCOUNT"
assert_rc 4 "invalid_grant: exit 4 (authorize again)"
assert_contains "$ERR" "$ACCOUNT" "invalid_grant: the message names the account"
assert_contains "$ERR" "AADSTS70000: The provided grant has expired" \
	"invalid_grant: the provider's error_description is shown verbatim"
assert_empty "$OUT" "invalid_grant: nothing on stdout"
assert_eq "$(ts_requests)" 1 "invalid_grant is not retried"
stored_rt_unchanged "invalid_grant: the stored refresh token is unchanged"
mo invalid-grant-status status "$ACCOUNT"
assert_contains "$OUT" "refused by the provider: sign in again with “mailoauth authorize $ACCOUNT”" \
	"invalid_grant: status says a new sign-in is needed, not 'refresh token: present'"
mo invalid-grant-json status "$ACCOUNT" --json
assert_eq "$(json_get "$OUT" 'd["accounts"][0]["needs_sign_in"]')" true \
	"invalid_grant: status --json has needs_sign_in"

ts_mode invalid_client
mo invalid-client token "$ACCOUNT"
assert_rc 7 "invalid_client (HTTP 401): exit 7 (the app's client, not the sign-in)"
assert_contains "$ERR" "mailoauth app add APP … --force" "invalid_client: points at registering the app again"
assert_contains "$ERR" "$ACCOUNT" "invalid_client: the message names the account"

ts_mode unauthorized_client
mo unauthorized-client token "$ACCOUNT"
assert_rc 7 "unauthorized_client (the app is not known): exit 7"
stored_rt_unchanged "after the authorization errors the stored refresh token is unchanged"

# --- transient failures are retried (3 attempts), then exit 6 -----------------------
expire_account fail503-1
ts_mode fail503:1
mo fail503-1 token "$ACCOUNT"
assert_rc 0 "one 503 then success: token succeeds"
N=$(ts_stat 'd["refreshes"]')
assert_stdout_is "at-$N" "one 503 then success: token prints the new token"
assert_eq "$(ts_requests)" 2 "one 503 then success: 2 requests"
keyring_account_json "$ACCOUNT" "$TEST_DIR/account.json"
assert_eq "$(json_get "$TEST_DIR/account.json" 'd["refresh_token"]')" "rt-$N" \
	"one 503 then success: the rotated refresh token is stored"

for status in 503 429 500; do
	expire_account "fail$status-5"
	ts_mode "fail$status:5"
	mo "fail$status-5" token "$ACCOUNT"
	assert_rc 6 "HTTP $status on every attempt: exit 6 (try again later)"
	assert_eq "$(ts_requests)" 3 "HTTP $status: 3 attempts"
	assert_contains "$ERR" "$ACCOUNT" "HTTP $status: the message names the account"
	assert_empty "$OUT" "HTTP $status: nothing on stdout"
	stored_rt_unchanged "HTTP $status: the stored refresh token is unchanged"
done
check "retries back off (1 s then 2 s) before giving up: ${ELAPSED_MS} ms" \
	test "$ELAPSED_MS" -ge 2500 -a "$ELAPSED_MS" -le 15000

# --- protocol errors (exit 1) ---------------------------------------------------------
for mode in garbage nojson200 noaccess; do
	expire_account "$mode"
	ts_mode "$mode"
	mo "$mode" token "$ACCOUNT"
	assert_rc 1 "$mode answer (HTTP 200): exit 1 (provider protocol error)"
	assert_matches "$ERR" "$MO_MSG_RE.*$ACCOUNT" "$mode: a 'mailoauth: ...' message naming the account"
	assert_empty "$OUT" "$mode: nothing on stdout"
	stored_rt_unchanged "$mode: the stored refresh token is unchanged"
done

# --- network failures (exit 6) ------------------------------------------------------------
expire_account hangup
ts_mode hangup
mo hangup token "$ACCOUNT"
assert_rc 6 "the server closes the connection without answering: exit 6"

expire_account slow
ts_mode slow:5
write_config http-timeout=1 http-connect-timeout=1
mo slow token "$ACCOUNT"
assert_rc 6 "a server slower than http-timeout=1: exit 6"
check "the timeout is enforced: done in ${ELAPSED_MS} ms (server takes 5 s a request)" \
	test "$ELAPSED_MS" -lt 12000
assert_contains "$ERR" "$ACCOUNT" "timeout: the message names the account"
remove_config
stored_rt_unchanged "timeout: the stored refresh token is unchanged"

# --- no such account / app (exit 3) ---------------------------------------------------
mo unknown-account token nobody@example.com
assert_rc 3 "token for an unknown account: exit 3"
assert_contains "$ERR" nobody@example.com "the message names the unknown account"
mo unknown-refresh refresh nobody@example.com
assert_rc 3 "refresh of an unknown account: exit 3"
mo unknown-forget forget nobody@example.com
assert_rc 3 "forget of an unknown account: exit 3"
mo unknown-status status nobody@example.com
assert_rc 3 "status of an unknown account: exit 3"
mo unknown-app-remove app remove noapp
assert_rc 3 "app remove of an unknown app: exit 3"

# --- usage errors (exit 2) ---------------------------------------------------------------
mo usage-noargs
assert_rc 2 "no arguments: exit 2"
check "no arguments: a usage message on stderr" test -s "$ERR"
mo usage-command frobnicate
assert_rc 2 "unknown command: exit 2"
mo usage-option token --no-such-option "$ACCOUNT"
assert_rc 2 "unknown option: exit 2"
mo usage-missing token
assert_rc 2 "token without an account: exit 2"
mo usage-import import
assert_rc 2 "import without a file: exit 2"
mo usage-custom app add nope --provider custom --client-id x
assert_rc_nonzero "app add --provider custom without --token-endpoint fails"
mo usage-http app add nope --provider custom --client-id x --token-endpoint http://example.com/token
assert_rc_nonzero "app add with a plain http endpoint off loopback fails"
i=0
for url in http://127.0.0.2:9/token "http://[::1]:9/token" http://localhost:9/token; do
	i=$((i + 1))
	mo "loopback-$i" app add loopback --provider custom --client-id x --token-endpoint "$url"
	assert_rc 0 "app add accepts plain http on loopback: $url"
	mo "loopback-rm-$i" app remove loopback
done
(umask 077 && printf 's\xffx\n' >"$TEST_DIR/latin1-secret")
mo_stdin usage-latin1 "$TEST_DIR/latin1-secret" app add nope --provider custom --client-id x \
	--token-endpoint "$TS_ENDPOINT" --secret
assert_rc 2 "app add with a client secret that is not UTF-8: exit 2"
assert_contains "$ERR" "UTF-8" "a secret that is not UTF-8: the message says so"
mo usage-list app list
check "the rejected apps were not added" test -z "$(grep '^nope[[:space:]]' "$OUT")"

# --- bad token files (exit 1, naming the file) ------------------------------------------
(umask 077 && printf '{"refresh_token": "rt-x", \n' >"$TEST_DIR/bad-json.json")
mo import-badjson import "$TEST_DIR/bad-json.json" --app "$APP"
assert_rc 1 "import of a file with bad JSON: exit 1"
assert_contains "$ERR" bad-json.json "bad JSON: the message names the file"

write_token_file "$TEST_DIR/no-rt.json" "user=nort@example.com" "access_token=at-nort-4c4c" \
	"expiry=$(($(now) + 3600))"
mo import-nort import "$TEST_DIR/no-rt.json" --app "$APP"
assert_rc 1 "import of a file without refresh_token: exit 1"
assert_contains "$ERR" no-rt.json "no refresh_token: the message names the file"
ASSERT_NOCASE=1 assert_contains "$ERR" refresh_token "no refresh_token: the message says what is missing"

mo import-missing import "$TEST_DIR/does-not-exist.json" --app "$APP"
assert_rc 1 "import of a missing file: exit 1"
assert_contains "$ERR" does-not-exist.json "missing file: the message names the file"

write_token_file "$TEST_DIR/noclient.json" "user=noclient@example.com" \
	"refresh_token=rt-noclient" "expiry=$(($(now) + 3600))"
mo import-noapp import "$TEST_DIR/noclient.json"
assert_rc_nonzero "import of a file without client_id and without --app fails"
assert_contains "$ERR" "--app" "the message tells to use --app"
mo import-badapp import "$TEST_DIR/noclient.json" --app no-such-app
assert_rc 3 "import --app naming an unknown app: exit 3"
assert_contains "$ERR" no-such-app "the message names the unknown app"
mo status-noclient status noclient@example.com
assert_rc 3 "the failed imports stored no account"

# --- what reaches the terminal: no control characters from names, files or providers ----
# terminal_safe FILE: UTF-8 without control or format characters but newline and tab:
# nothing a terminal would act on (escape sequences, forged lines, reordered text).
terminal_safe() {
	"$MO_PYTHON" - "$1" <<'EOF'
import sys, unicodedata
try:
    text = open(sys.argv[1], "rb").read().decode("utf-8")
except UnicodeDecodeError:
    sys.exit(1)
sys.exit(any(c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Cn")
             for c in text))
EOF
}

# A name that is not UTF-8 made libsecret fail without an error, and token/refresh crashed.
BAD_NAME=$'\xff'
i=0
for command in token refresh status forget "app remove"; do
	i=$((i + 1))
	read -ra words <<<"$command"
	mo "badname-$i" "${words[@]}" "$BAD_NAME"
	assert_rc 2 "$command with a name that is not UTF-8: exit 2 (usage), no crash"
	check "$command with a name that is not UTF-8: the message shows it escaped" \
		grep -qF '\xff' "$ERR"
done
mo badname-import-account import "$TEST_DIR/expired.json" --account "$BAD_NAME"
assert_rc 2 "import --account with a name that is not UTF-8: exit 2"
mo badname-import-app import "$TEST_DIR/expired.json" --app "$BAD_NAME"
assert_rc 2 "import --app with a name that is not UTF-8: exit 2"
mo badname-authorize-app authorize "$ACCOUNT" --app "$BAD_NAME"
assert_rc 2 "authorize --app with a name that is not UTF-8: exit 2"
mo badname-app-add app add "$BAD_NAME" --provider custom --client-id x \
	--token-endpoint "$TS_ENDPOINT"
assert_rc 2 "app add with a name that is not UTF-8: exit 2"

ESC_NAME=$'evil\e]0;owned\a\r\nmailoauth token: FORGED'
i=0
for command in token refresh status forget "app remove"; do
	i=$((i + 1))
	read -ra words <<<"$command"
	mo "escname-$i" "${words[@]}" "$ESC_NAME"
	assert_rc 2 "$command with escape sequences in the name: exit 2"
	check "$command with escape sequences in the name: none reaches the terminal" \
		terminal_safe "$ERR"
	check "$command with a newline in the name: no forged line" \
		test "$(grep -c 'FORGED' "$ERR")" -le 1 -a "$(grep -c '^mailoauth token: FORGED' "$ERR")" -eq 0
	assert_contains "$ERR" 'evil\x1b]0;owned\x07\x0d\x0amailoauth' \
		"$command with escape sequences in the name: the message shows them as \\xNN"
done

# The "user" of an imported file is shown by status; the keyring may hold anything there.
(umask 077 && printf '{"user":"evil\\u001b]0;owned\\u0007\\nFORGED-LINE\\u009b2J\\u202e",%s}\n' \
	"\"refresh_token\":\"$INITIAL_RT\",\"expiry\":\"$(($(now) + 3600))\"" \
	>"$TEST_DIR/esc-user.json")
mo import-escuser import "$TEST_DIR/esc-user.json" --account escuser@example.com --app "$APP"
assert_rc 0 "import of a file whose user holds escape sequences, with --account"
mo status-escuser status escuser@example.com
assert_rc 0 "status of that account: exit 0"
check "status: the user's escape sequences do not reach the terminal" terminal_safe "$OUT"
check "status: the user's newline forges no line" test "$(grep -c '^FORGED-LINE' "$OUT")" -eq 0
assert_contains "$OUT" 'evil\x1b]0;owned\x07\x0aFORGED-LINE\xc2\x9b2J\xe2\x80\xae' \
	"status: the user is shown with its control characters as \\xNN"
mo status-all-escuser status
check "status of all accounts: nothing reaches the terminal raw" terminal_safe "$OUT"
mo import-escuser-default import "$TEST_DIR/esc-user.json" --app "$APP"
assert_rc 2 "import naming the account after such a user: exit 2"
check "import naming the account after such a user: the message is escaped" terminal_safe "$ERR"
assert_contains "$ERR" "--account" "import naming the account after such a user: says to use --account"
mo forget-escuser forget escuser@example.com
assert_rc 0 "forget escuser@example.com"

# An app item another program stored: its name and client ID come from the keyring.
ESC_APP=$'evil\e[2Japp'
printf '%s' '{"version":1,"provider":"custom","client_id":"cid\u001b[31m","token_endpoint":"http://127.0.0.1:9/token"}' |
	secret-tool store --label 'mailoauth test' xdg:schema "$MO_APP_SCHEMA" app "$ESC_APP"
mo app-list-esc app list
assert_rc 0 "app list with an app whose name holds escape sequences: exit 0"
check "app list: no escape sequence reaches the terminal" terminal_safe "$OUT"
assert_contains "$OUT" 'evil\x1b[2Japp' "app list: the name is shown with \\xNN"
assert_contains "$OUT" 'cid\x1b[31m' "app list: the client ID is shown with \\xNN"
secret-tool clear xdg:schema "$MO_APP_SCHEMA" app "$ESC_APP"

# --- tokens with control characters from the provider: refused, nothing stored (exit 1) --
# A provider of its own, answering by path: token-server.py serves only printable tokens.
cat >"$TEST_DIR/evil-server.py" <<'EOF'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

LONG = "x" * 5000
ANSWERS = {
    "/crlf-access": (200, {"access_token": "at-evil\r\nX-Injected: 1",
                           "refresh_token": "rt-evil-crlf", "expires_in": 3600}),
    "/esc-refresh": (200, {"access_token": "at-evil-esc",
                           "refresh_token": "rt-evil\u001b]0;owned\u0007", "expires_in": 3600}),
    "/high-access": (200, {"access_token": "at-\u00e9vil", "expires_in": 3600}),
    "/del-access": (200, {"access_token": "at-evil\u007f", "expires_in": 3600}),
    "/esc-description": (400, {"error": "invalid_grant", "error_description":
                               "AADSTS70000:\u001b]0;owned\u0007\r\nmailoauth token: FORGED "
                               + LONG + " THE-END"}),
}

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, answer = ANSWERS.get(self.path, (404, {"error": "invalid_request"}))
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
EOF
"$MO_PYTHON" "$TEST_DIR/evil-server.py" "$TEST_DIR/evil-port" 2>"$TEST_DIR/evil-server.log" &
EVIL_PID=$!
mo_track_pid "$EVIL_PID"
for ((i = 0; i < 100; i++)); do
	[ -s "$TEST_DIR/evil-port" ] && break
	sleep 0.05
done
[ -s "$TEST_DIR/evil-port" ] || bail_out "cannot start the test provider that sends control characters"
EVIL_URL="http://127.0.0.1:$(<"$TEST_DIR/evil-port")"

# evil_account CASE: an app whose token endpoint answers CASE, and an account of it whose
# access token has expired; its refresh token is rt-keep-CASE.
evil_account() {
	mo_stdin "evil-app-$1" "$TEST_DIR/client-secret" app add "evil-$1" --provider custom \
		--client-id test-client --token-endpoint "$EVIL_URL/$1" --secret
	write_token_file "$TEST_DIR/evil-$1.json" "access_token=at-keep-$1" \
		"refresh_token=rt-keep-$1" "expiry=$(($(now) - 100))"
	mo "evil-import-$1" import "$TEST_DIR/evil-$1.json" --account "evil-$1@example.com" \
		--app "evil-$1"
	[ "$RC" -eq 0 ] || {
		diag "set-up for '$1' failed"
		show_run
	}
}

for case in crlf-access esc-refresh high-access del-access; do
	evil_account "$case"
	mo "evil-token-$case" token "evil-$case@example.com"
	assert_rc 1 "$case: a token with control characters is refused (exit 1, provider error)"
	assert_empty "$OUT" "$case: nothing on stdout"
	check "$case: the message is terminal-safe" terminal_safe "$ERR"
	assert_contains "$ERR" "evil-$case@example.com" "$case: the message names the account"
	assert_contains "$ERR" "mailoauth authorize" "$case: the message says a new sign-in may be needed"
	for needle in at-evil rt-evil at-é; do
		assert_not_contains "$ERR" "$needle" "$case: the message does not quote the token"
	done
	keyring_account_json "evil-$case@example.com" "$TEST_DIR/evil-account.json"
	assert_secret_eq "$(json_get "$TEST_DIR/evil-account.json" 'd["refresh_token"]')" \
		"rt-keep-$case" "$case: the stored refresh token is kept"
	assert_secret_eq "$(json_get "$TEST_DIR/evil-account.json" 'd["access_token"]')" \
		"at-keep-$case" "$case: the stored access token is kept"
	mo "evil-refresh-$case" refresh "evil-$case@example.com"
	assert_rc 1 "$case: refresh refuses it too"
done

evil_account esc-description
mo evil-token-esc-description token evil-esc-description@example.com
assert_rc 4 "an error_description with escape sequences: still invalid_grant (exit 4)"
check "error_description: no escape sequence reaches the terminal" terminal_safe "$ERR"
check "error_description: its newline forges no line" \
	test "$(grep -c '^mailoauth token: FORGED' "$ERR")" -eq 0
assert_contains "$ERR" 'AADSTS70000:\x1b]0;owned\x07\x0d\x0amailoauth token: FORGED' \
	"error_description: shown with \\xNN"
assert_not_contains "$ERR" "THE-END" "error_description: cut to a few hundred bytes"
check "error_description: the whole message stays short ($(wc -c <"$ERR") bytes)" \
	test "$(wc -c <"$ERR")" -lt 1500

# --- an expiry no calendar has (exit 1, naming the key and the file) --------------------------
write_token_file "$TEST_DIR/far-expiry.json" "user=far@example.com" \
	"refresh_token=rt-far" "expiry=9223372036854775807"
mo import-far-expiry import "$TEST_DIR/far-expiry.json" --app "$APP"
assert_rc 1 "import of a file with expiry INT64_MAX: exit 1"
assert_contains "$ERR" far-expiry.json "expiry INT64_MAX: the message names the file"
assert_contains "$ERR" expiry "expiry INT64_MAX: the message names the key"
mo status-far-expiry status far@example.com
assert_rc 3 "expiry INT64_MAX: nothing was stored"

# --- no core dumps: the CLI holds tokens and secrets ----------------------------------------
# app add --secret waits for the secret on a FIFO; meanwhile its limits and dumpable flag are
# read from /proc. It runs as nobody where it can, since the owner of /proc/PID says whether it
# is dumpable only for a process that is not root's.
mkfifo "$TEST_DIR/hold"
RUN_AS=()
if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1 &&
	setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups test -x "$MAILOAUTH"; then
	RUN_AS=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups)
fi
(
	ulimit -c unlimited
	exec env HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent "${RUN_AS[@]}" "$MAILOAUTH" \
		app add coredump --provider custom --client-id x --token-endpoint "$TS_ENDPOINT" \
		--secret <"$TEST_DIR/hold" >"$TEST_DIR/coredump.out" 2>"$TEST_DIR/coredump.err"
) &
DUMP_PID=$!
mo_track_pid "$DUMP_PID"
# read-write: opening a FIFO so never blocks, even if the command died before opening it
exec 9<>"$TEST_DIR/hold"
CORE_LIMIT=
for ((i = 0; i < 100; i++)); do
	CORE_LIMIT=$(awk '/^Max core file size/ {print $5 " " $6}' "/proc/$DUMP_PID/limits" 2>/dev/null)
	[ "$CORE_LIMIT" = "0 0" ] && break
	sleep 0.05
done
assert_eq "$CORE_LIMIT" "0 0" "the CLI sets its core file size limit to 0 (soft and hard)"
if [ ${#RUN_AS[@]} -gt 0 ]; then
	assert_eq "$(stat -c %u "/proc/$DUMP_PID/status")" 0 \
		"the CLI is not dumpable (its /proc entries belong to root, not to nobody)"
else
	skip "the CLI is not dumpable" "cannot run it as nobody here"
fi
exec 9>&-
wait "$DUMP_PID"
mo_untrack_pid "$DUMP_PID"

# --- the token endpoint is down (connection refused): exit 6 ------------------------------
expire_account refused
stop_token_server
mo refused token "$ACCOUNT"
assert_rc 6 "connection refused: exit 6"
stored_rt_unchanged "connection refused: the stored refresh token is unchanged"

# --- no message ever shows a token or secret ----------------------------------------------
LEAKS=0
for err in "$TEST_DIR"/*.err; do
	text=$(<"$err")
	for needle in "$INITIAL_RT" "$FILE_AT" "$CLIENT_SECRET" rt-x at-nort-4c4c rt-noclient; do
		if [[ $text == *"$needle"* ]]; then
			diag "$(basename "$err") shows a token or secret"
			LEAKS=$((LEAKS + 1))
		fi
	done
	if [[ $text =~ (^|[^[:alnum:]])(at|rt)-[0-9]+([^[:alnum:]]|$) ]]; then
		diag "$(basename "$err") shows a token issued by the server"
		LEAKS=$((LEAKS + 1))
	fi
done
assert_eq "$LEAKS" 0 "no stderr of any command contains a token or the client secret"

tap_done
