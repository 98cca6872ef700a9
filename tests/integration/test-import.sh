#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Coming from sasl-xoauth2 without editing a file: `mailoauth import` reads
# token files and /etc/sasl-xoauth2.conf as sasl-xoauth2 does (the client
# from the conf when the file has only tokens, comments and trailing commas),
# imports a whole directory file by file, checks what the keyring holds, and
# removes the plaintext originals only with --remove and only after that
# check.  The imported accounts then refresh through the token server with
# the conf's client.  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

CLIENT_SECRET='c0nf-s3cret'
write_secret_file "$TEST_DIR/client-secret" "$CLIENT_SECRET"
write_secret_file "$TEST_DIR/initial-rt" rt-import-a
start_token_server --refresh-token-file "$TEST_DIR/initial-rt" \
	--client-secret-file "$TEST_DIR/client-secret" || bail_out "cannot start the token server"

# sasl-xoauth2's configuration, as people write it: comments, a trailing comma.
CONF=$TEST_DIR/sasl-xoauth2.conf
cat >"$CONF" <<EOF
{
  // the app registered for the mail server
  "client_id": "test-client",
  "client_secret": "$CLIENT_SECRET", /* from the portal */
  "token_endpoint": "$TS_ENDPOINT",
}
EOF
export MAILOAUTH_SASL_XOAUTH2_CONF=$CONF

TOKENS=$TEST_DIR/tokens
mkdir -m 0700 "$TOKENS"
write_token_file "$TOKENS/a@example.com" "access_token=at-import-a" \
	"refresh_token=rt-import-a" "expiry=$(($(now) - 100))" "user=a@example.com"
write_token_file "$TOKENS/token.b@example.com" "access_token=at-import-b" \
	"refresh_token=rt-import-b" "expiry=$(($(now) + 3600))"
printf '{ "refresh_token": ' >"$TOKENS/broken@example.com"
chmod 0600 "$TOKENS/broken@example.com"
: >"$TOKENS/.a@example.com.lock"

mo dir import "$TOKENS"
assert_rc 1 "import DIR with one broken file: exit 1"
assert_contains "$ERR" "2 of 3 token files imported" "... reports each file and the count"
assert_contains "$ERR" "broken@example.com" "... names the broken one"
check "... without --remove, every original stays" \
	test -f "$TOKENS/a@example.com" -a -f "$TOKENS/token.b@example.com"
keyring_app_json sasl-xoauth2 "$TEST_DIR/app.json"
assert_eq "$(json_get "$TEST_DIR/app.json" '[d["client_id"], d["token_endpoint"]]')" \
	"[\"test-client\", \"$TS_ENDPOINT\"]" \
	"files with only tokens get the conf's client: app sasl-xoauth2 with its endpoint"
assert_secret_eq "$(json_get "$TEST_DIR/app.json" 'd.get("client_secret") or ""')" \
	"$CLIENT_SECRET" "... and its secret"
mo status-b status b@example.com --json
assert_eq "$(json_get "$OUT" '[(a["account"], a["app"]) for a in d["accounts"]]')" \
	'[["b@example.com", "sasl-xoauth2"]]' "token.b@example.com became account b@example.com"

mo token-a token a@example.com
assert_rc 0 "the expired imported account refreshes with the conf's client"
assert_eq "$(ts_requests)" 1 "... one request"
assert_eq "$(ts_stat 'd["last_form"].get("client_id")')" test-client "... as test-client"

# --remove: only after the keyring holds it, and only the ones imported
write_token_file "$TOKENS/c@example.com" "access_token=at-import-c" \
	"refresh_token=rt-import-c" "expiry=$(($(now) + 3600))"
rm -f -- "$TOKENS/a@example.com" "$TOKENS/token.b@example.com"
mo remove import "$TOKENS" --remove
assert_rc 1 "import DIR --remove (the broken file still there): exit 1"
check "... the imported file is removed" test ! -e "$TOKENS/c@example.com"
check "... the broken one is kept" test -f "$TOKENS/broken@example.com"
check "... and our lock file is no token file" test -f "$TOKENS/.a@example.com.lock"
mo token-c token c@example.com
assert_stdout_is at-import-c "the removed file's token is in the keyring"

# one file with the client in the file (as the seed guides add it) keeps its own app
write_token_file "$TEST_DIR/own.json" "access_token=at-import-own" "refresh_token=rt-own" \
	"expiry=$(($(now) + 3600))" "client_id=other-client" "token_endpoint=$TS_ENDPOINT"
mo own import "$TEST_DIR/own.json" --account own@example.com
assert_rc 0 "a file with its own client_id"
keyring_app_json own@example.com "$TEST_DIR/own-app.json"
assert_eq "$(json_get "$TEST_DIR/own-app.json" 'd["client_id"]')" other-client \
	"... gets an app of its own client, not the conf's"

# a broken conf is an error of the conf, not "no client_id"
printf '{"client_id": "x" "client_secret": "y"}' >"$CONF"
write_token_file "$TEST_DIR/bare.json" "access_token=at-bare" "refresh_token=rt-bare" \
	"expiry=$(($(now) + 3600))"
mo bad-conf import "$TEST_DIR/bare.json" --account bare@example.com
assert_rc 1 "import with a broken sasl-xoauth2.conf: exit 1"
assert_contains "$ERR" "$CONF" "... naming the configuration file"
assert_not_contains "$ERR" "names no client_id" "... not as a missing client"

tap_done
