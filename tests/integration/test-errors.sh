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

ts_mode invalid_client
mo invalid-client token "$ACCOUNT"
assert_rc 4 "invalid_client (HTTP 401): exit 4"
assert_contains "$ERR" "$ACCOUNT" "invalid_client: the message names the account"

ts_mode unauthorized_client
mo unauthorized-client token "$ACCOUNT"
assert_rc 4 "unauthorized_client: exit 4"
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
