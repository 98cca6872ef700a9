#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The life of an account as a user sees it: register an app, import a
# sasl-xoauth2 token file, get tokens (cached, then refreshed through the
# local token server), force a refresh, check status and the keyring item,
# forget the account.  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

ACCOUNT=me@example.com
APP=work
# Characters a form encoder must escape; a missing escape changes the value.
CLIENT_SECRET='c+s&e=c%2Bret/x'
FILE_AT_FRESH=at-file-fresh-7c1e
FILE_AT_EXPIRED=at-file-expired-2b9d
INITIAL_RT=rt-initial-5e1f

write_secret_file "$TEST_DIR/client-secret" "$CLIENT_SECRET"
write_secret_file "$TEST_DIR/initial-rt" "$INITIAL_RT"
start_token_server --refresh-token-file "$TEST_DIR/initial-rt" \
	--client-secret-file "$TEST_DIR/client-secret" --expires-in 3600 ||
	bail_out "cannot start the token server"

# --- app add / app list ------------------------------------------------------
setup_app "$APP" "$TEST_DIR/client-secret"
assert_empty "$OUT" "app add prints nothing on stdout"
assert_not_contains "$ERR" "$CLIENT_SECRET" "app add does not echo the client secret"

mo app-list app list
assert_rc 0 "app list succeeds"
assert_matches "$OUT" "^${APP}[[:space:]]+custom[[:space:]]+test-client[[:space:]]+yes[[:space:]]+http://127\.0\.0\.1:$TS_PORT/token\$" \
	"app list shows NAME PROVIDER CLIENT-ID SECRET=yes TOKEN-ENDPOINT"
assert_not_contains "$OUT" "$CLIENT_SECRET" "app list does not print the client secret"

if keyring_app_json "$APP" "$TEST_DIR/app.json"; then
	assert_secret_eq "$(json_get "$TEST_DIR/app.json" 'd["client_secret"]')" "$CLIENT_SECRET" \
		"the keyring app item holds the client secret intact"
else
	not_ok "the keyring app item holds the client secret intact"
	diag "secret-tool lookup xdg:schema $MO_APP_SCHEMA app $APP found nothing"
fi

# --- import a token that is still fresh ------------------------------------------
NOW=$(now)
write_token_file "$TEST_DIR/fresh.json" "user=$ACCOUNT" "access_token=$FILE_AT_FRESH" \
	"refresh_token=$INITIAL_RT" "expiry=$((NOW + 7200))" "token_type=Bearer"
mo import-fresh import "$TEST_DIR/fresh.json" --app "$APP"
assert_rc 0 "import of a token file with a future expiry (a string) and --app"

mo token-fresh token "$ACCOUNT"
assert_rc 0 "token succeeds for the imported account"
assert_stdout_is "$FILE_AT_FRESH" "token prints exactly the file's access token and a newline"
assert_eq "$(ts_requests)" 0 "a fresh token makes no request to the token endpoint"

# --- import an expired token: token refreshes it ---------------------------------
write_token_file "$TEST_DIR/expired.json" "user=$ACCOUNT" "access_token=$FILE_AT_EXPIRED" \
	"refresh_token=$INITIAL_RT" "expiry=$((NOW - 100))"
mo import-expired import "$TEST_DIR/expired.json" --app "$APP"
assert_rc 0 "import of a token file whose expiry is past replaces the account"

mo token-refresh token "$ACCOUNT"
assert_rc 0 "token succeeds with an expired stored token"
assert_stdout_is at-1 "token prints the refreshed access token at-1"
assert_eq "$(ts_requests)" 1 "exactly one request to the token endpoint"
assert_not_contains "$ERR" "$FILE_AT_EXPIRED" "the stale token is not printed on stderr"

ts_stats
S="$TEST_DIR/stats.json"
assert_eq "$(json_get "$S" 'd["last_content_type"].split(";")[0]')" \
	application/x-www-form-urlencoded "the request is form-urlencoded"
assert_eq "$(json_get "$S" 'sorted(d["last_form"])')" \
	'["client_id", "client_secret", "grant_type", "refresh_token"]' \
	"the form has exactly grant_type, refresh_token, client_id, client_secret"
assert_eq "$(json_get "$S" 'd["last_form"]["grant_type"]')" refresh_token "grant_type=refresh_token"
assert_eq "$(json_get "$S" 'd["last_form"]["client_id"]')" test-client "client_id is the app's"
assert_secret_eq "$(json_get "$S" 'd["last_form"]["refresh_token"]')" "$INITIAL_RT" \
	"the stored refresh token was sent"
assert_secret_eq "$(json_get "$S" 'd["last_form"]["client_secret"]')" "$CLIENT_SECRET" \
	"the client secret with + & = % arrived intact"

if keyring_account_json "$ACCOUNT" "$TEST_DIR/account.json"; then
	A="$TEST_DIR/account.json"
	assert_eq "$(json_get "$A" 'd["refresh_token"]')" rt-1 "the keyring item holds the rotated refresh token rt-1"
	assert_eq "$(json_get "$A" 'd["access_token"]')" at-1 "the keyring item holds the new access token"
	assert_eq "$(json_get "$A" '[d["version"], d["account"], d["app"]]')" "[1, \"$ACCOUNT\", \"$APP\"]" \
		"the keyring item has version 1, the account and the app"
	EXP=$(json_get "$A" 'd["expiry"]')
	check "the stored expiry is about now + expires_in (got $EXP)" \
		test "$EXP" -ge $((NOW + 3500)) -a "$EXP" -le $((NOW + 3700))
	LR=$(json_get "$A" 'd["last_refresh"]')
	check "the keyring item records last_refresh (got $LR)" \
		test "$LR" -ge $((NOW - 5)) -a "$LR" -le $((NOW + 120))
else
	not_ok "the keyring item holds the rotated refresh token rt-1"
	diag "secret-tool lookup xdg:schema $MO_ACCOUNT_SCHEMA account $ACCOUNT found nothing"
fi

mo token-again token "$ACCOUNT"
assert_rc 0 "a second token succeeds"
assert_stdout_is at-1 "a second token prints the cached at-1"
assert_eq "$(ts_requests)" 1 "a second token makes no new request"

# --- refresh --force ---------------------------------------------------------------
mo refresh-force refresh "$ACCOUNT" --force
assert_rc 0 "refresh --force succeeds"
assert_eq "$(ts_requests)" 2 "refresh --force makes one request"
check "refresh prints a confirmation on stderr" test -s "$ERR"
assert_not_contains "$OUT" at-2 "refresh does not print the access token on stdout"
assert_not_contains "$ERR" at-2 "refresh does not print the access token on stderr"
assert_not_contains "$ERR" rt-2 "refresh does not print the refresh token"
keyring_account_json "$ACCOUNT" "$TEST_DIR/account2.json"
assert_eq "$(json_get "$TEST_DIR/account2.json" 'd["refresh_token"]')" rt-2 \
	"after refresh --force the keyring holds rt-2"

mo token-after-force token "$ACCOUNT"
assert_stdout_is at-2 "token then prints at-2 without a request"
assert_eq "$(ts_requests)" 2 "no request after refresh --force"

# --- status ------------------------------------------------------------------------
mo status status
assert_rc 0 "status succeeds"
assert_contains "$OUT" "$ACCOUNT" "status names the account"
assert_contains "$OUT" "$APP" "status names the app"
assert_not_contains "$OUT" at-2 "status does not print the access token"
assert_not_contains "$OUT" rt-2 "status does not print the refresh token"

mo status-account status "$ACCOUNT"
assert_rc 0 "status ACCOUNT succeeds"
assert_contains "$OUT" "$ACCOUNT" "status ACCOUNT names the account"

mo status-json status --json
assert_rc 0 "status --json succeeds"
J="$OUT"
check "status --json prints one JSON document" is_json "$J"
assert_eq "$(json_get "$J" 'd["keyring"]')" unlocked 'status --json: "keyring":"unlocked"'
PICK="[a for a in d['accounts'] if a['account'] == '$ACCOUNT'][0]"
assert_eq "$(json_get "$J" "[${PICK}[k] for k in ('user', 'app', 'fresh', 'refresh_token')]")" \
	"[\"$ACCOUNT\", \"$APP\", true, true]" "status --json: user, app, fresh=true, refresh_token=true"
EIN=$(json_get "$J" "${PICK}['expires_in']")
check "status --json: expires_in is about 3600 (got $EIN)" test "$EIN" -gt 3000 -a "$EIN" -le 3600
check "status --json: expiry and last_refresh are numbers" \
	test "$(json_get "$J" "[type(${PICK}[k]).__name__ for k in ('expiry', 'last_refresh')]")" = '["int", "int"]'
assert_not_contains "$J" at-2 "status --json does not contain the access token"

# --- the keyring item as other tools see it ------------------------------------------
keyring_search_account "$ACCOUNT" "$TEST_DIR/search.txt"
assert_eq "$(grep -c '^\[' "$TEST_DIR/search.txt")" 1 "secret-tool search finds exactly one account item"
assert_contains "$TEST_DIR/search.txt" "label = mailoauth account $ACCOUNT" "the item's label is 'mailoauth account NAME'"
assert_contains "$TEST_DIR/search.txt" "schema = $MO_ACCOUNT_SCHEMA" "the item has schema $MO_ACCOUNT_SCHEMA"
assert_eq "$(grep '^attribute\.' "$TEST_DIR/search.txt" | grep -v '^attribute\.xdg:schema = ')" \
	"attribute.account = $ACCOUNT" "the only attribute besides xdg:schema is account=NAME"

# --- a response without refresh_token keeps the old one ---------------------------------
ts_control '{"rotate":false}'
mo refresh-norotate refresh "$ACCOUNT" --force
assert_rc 0 "refresh --force succeeds when the server does not rotate"
keyring_account_json "$ACCOUNT" "$TEST_DIR/account3.json"
assert_eq "$(json_get "$TEST_DIR/account3.json" '[d["access_token"], d["refresh_token"]]')" \
	'["at-3", "rt-2"]' "the new access token is stored and the old refresh token kept"
ts_control '{"rotate":true}'

# --- expiry as a JSON number beyond 32 bits; account name from the file name ----------
write_token_file "$TEST_DIR/far.json" "user=far@example.com" "access_token=at-file-far-91d0" \
	"refresh_token=rt-far" "expiry:=4300000000"
mo import-far import "$TEST_DIR/far.json" --app "$APP"
assert_rc 0 "import of a file with a numeric expiry after 2106"
mo token-far token far@example.com
assert_stdout_is at-file-far-91d0 "a 64-bit expiry counts as fresh (no 32-bit truncation)"
assert_eq "$(ts_requests)" 3 "no request for the far-future token"

mo status-far status far@example.com --json
assert_eq "$(json_get "$OUT" "[a[k] for a in d['accounts'] for k in ('account', 'expiry', 'last_refresh')]")" \
	'["far@example.com", 4300000000, null]' "status --json: the 64-bit expiry, last_refresh null when never refreshed"

write_token_file "$TEST_DIR/token.derived@example.com" "access_token=at-file-derived-11aa" \
	"refresh_token=rt-derived" "expiry=$((NOW + 7200))"
mo import-derived import "$TEST_DIR/token.derived@example.com" --app "$APP"
assert_rc 0 "import of a file without user"
mo token-derived token derived@example.com
assert_stdout_is at-file-derived-11aa "the account is named after the file, without 'token.'"

# --- a token file that carries its client: import creates the app --------------------
write_token_file "$TEST_DIR/withclient.json" "user=self@example.com" "access_token=at-file-self-5b5b" \
	"refresh_token=rt-self" "expiry=$((NOW - 100))" "client_id=test-client" \
	"client_secret=$CLIENT_SECRET" "token_endpoint=$TS_ENDPOINT"
ts_control '{"refresh_token":"rt-self"}'
mo import-withclient import "$TEST_DIR/withclient.json"
assert_rc 0 "import of a file with client_id, client_secret and token_endpoint"
mo app-list-self app list
assert_matches "$OUT" "^self@example\.com[[:space:]]+custom[[:space:]]+test-client[[:space:]]+yes[[:space:]]+http://127\.0\.0\.1:$TS_PORT/token\$" \
	"import created an app named after the account from the file's client"
mo token-self token self@example.com
assert_rc 0 "token refreshes through the imported app"
assert_stdout_is at-4 "token prints the refreshed at-4"
assert_secret_eq "$(ts_stat 'd["last_form"]["client_secret"]')" "$CLIENT_SECRET" \
	"the imported client secret is sent intact"
mo forget-self forget self@example.com
mo app-remove-self app remove self@example.com
assert_rc 0 "the imported app can be removed"

# --- the refresh margin (default 600 s, configurable) --------------------------------------
ts_control '{"refresh_token":"rt-margin"}'
write_token_file "$TEST_DIR/margin.json" "user=margin@example.com" "access_token=at-file-margin-6d6d" \
	"refresh_token=rt-margin" "expiry=$(($(now) + 300))"
mo import-margin import "$TEST_DIR/margin.json" --app "$APP"
BEFORE=$(ts_requests)
mo token-margin token margin@example.com
assert_stdout_is at-5 "a token with 300 s left is refreshed (default margin 600 s)"
assert_eq "$(ts_requests)" $((BEFORE + 1)) "one request for it"

write_config refresh-margin=60
ts_control '{"refresh_token":"rt-margin"}'
mo import-margin2 import "$TEST_DIR/margin.json" --app "$APP"
mo token-margin2 token margin@example.com
assert_stdout_is at-file-margin-6d6d "with refresh-margin=60 in the config the same token is fresh"
assert_eq "$(ts_requests)" $((BEFORE + 1)) "no request for it"
remove_config
mo forget-margin forget margin@example.com

# --- app remove refuses while accounts use the app ------------------------------------
mo app-remove-busy app remove "$APP"
assert_rc_nonzero "app remove refuses while accounts use the app"
mo app-list-2 app list
assert_matches "$OUT" "^${APP}[[:space:]]" "the app is still listed after the refusal"

# --- forget ------------------------------------------------------------------------
mo forget forget "$ACCOUNT"
assert_rc 0 "forget succeeds"
keyring_account_json "$ACCOUNT" "$TEST_DIR/gone.json"
check "the account item is gone from the keyring" test ! -s "$TEST_DIR/gone.json"
mo token-forgotten token "$ACCOUNT"
assert_rc 3 "token for a forgotten account exits 3"
assert_contains "$ERR" "$ACCOUNT" "the message names the account"
assert_empty "$OUT" "nothing on stdout"
mo app-list-3 app list
assert_matches "$OUT" "^${APP}[[:space:]]" "forget keeps the app"

mo forget-far forget far@example.com
mo forget-derived forget derived@example.com
mo app-remove app remove "$APP"
assert_rc 0 "app remove succeeds once no account uses the app"
mo app-list-4 app list
check "the app is no longer listed" test -z "$(grep "^${APP}[[:space:]]" "$OUT")"
keyring_app_json "$APP" "$TEST_DIR/app-gone.json"
check "the app item is gone from the keyring" test ! -s "$TEST_DIR/app-gone.json"

stop_token_server
tap_done
