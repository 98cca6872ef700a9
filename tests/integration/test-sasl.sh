#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The SASL plugin inside the real libsasl2, driven by tests/sasl/mo-sasl-probe (a client that
# authenticates postfix's way, with callbacks, or mbsync's, with prompts): both mechanisms,
# every password form (access token, token file, keyring), the server's error challenge,
# unload and reload, and that the token-file path loads no GIO, libsecret or D-Bus.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

PROBE=${MO_SASL_PROBE:-$MO_LIBDIR/../../build/tests/sasl/mo-sasl-probe}
PLUGIN_DIR=${MAILOAUTH_SASL_DIR:-$MO_LIBDIR/../../build/src/sasl}
[ -x "$PROBE" ] || bail_out "no probe client at $PROBE (set MO_SASL_PROBE)"
[ -f "$PLUGIN_DIR/libmailoauth.so" ] || bail_out "no plugin in $PLUGIN_DIR (set MAILOAUTH_SASL_DIR)"
# the keyring form runs the CLI; tell the plugin which one
export MAILOAUTH_CLI=$MAILOAUTH

USER_NAME=me@example.com

# probe NAME PASSWORD ARGS...: runs the probe with PASSWORD on stdin.
probe() {
	local name=$1
	write_secret_file "$TEST_DIR/$name.pw" "$2"
	shift 2
	MO_STDIN="$TEST_DIR/$name.pw" run_cmd "$name" "$PROBE" --dir "$PLUGIN_DIR" "$@"
}

# expect_initial TEXT DESC: the probe printed this initial response (^A shown as ^A).
expect_initial() {
	assert_contains "$OUT" "initial: $1"$'\n' "$2"
}

# --- the raw access token, both mechanisms, both client styles ---------------------------

for style in callbacks prompts; do
	flag=()
	[ "$style" = prompts ] && flag=(--prompts)
	probe "xoauth2-$style" "ya29.raw-token" --mech XOAUTH2 --user "$USER_NAME" "${flag[@]}"
	assert_rc 0 "XOAUTH2 with $style: libsasl2 accepts the exchange"
	expect_initial "user=$USER_NAME^Aauth=Bearer ya29.raw-token^A^A" \
		"XOAUTH2 with $style: exact initial response"
	probe "oauthbearer-$style" "ya29.raw-token" --mech OAUTHBEARER --user "$USER_NAME" "${flag[@]}"
	assert_rc 0 "OAUTHBEARER with $style: libsasl2 accepts the exchange"
	expect_initial "n,a=$USER_NAME,^Ahost=localhost^Aport=993^Aauth=Bearer ya29.raw-token^A^A" \
		"OAUTHBEARER with $style: exact initial response (RFC 7628, host and port)"
done
assert_contains "$OUT" "prompt: password" "prompt clients are asked for the password (as mbsync is)"
assert_contains "$OUT" "initial-response: none" \
	"no initial response: the token is not in the command clients print on failure"

# --- the server says yes; a client that asks for no initial response ---------------------

probe success "ya29.raw-token" --mech OAUTHBEARER --user "$USER_NAME" --prompts --success
assert_contains "$OUT" "final: successful result, 0 byte(s)" \
	"after the server's OK, one more empty step (as mbsync makes) completes the exchange"
assert_not_contains "$OUT" "rejected" "a successful login is not reported as a rejection"
probe no-ir "ya29.raw-token" --mech XOAUTH2 --user "$USER_NAME" --prompts --no-ir
expect_initial "user=$USER_NAME^Aauth=Bearer ya29.raw-token^A^A" \
	"a client that asks for no initial response gets the token at the server's empty challenge"

# --- the server says no -----------------------------------------------------------------

probe reject-x "ya29.raw-token" --mech XOAUTH2 --user "$USER_NAME" \
	--challenge '{"status":"401","schemes":"bearer","scope":"mail"}'
assert_contains "$OUT" "response: "$'\n' "XOAUTH2 answers the error challenge with an empty response"
assert_matches "$OUT" "detail: .*mailoauth: the server rejected the access token .*$USER_NAME \\(status 401, scope mail\\)" \
	"XOAUTH2: the error names the user and what the server said"
probe reject-o "ya29.raw-token" --mech OAUTHBEARER --user "$USER_NAME" \
	--challenge '{"status":"invalid_token"}'
assert_contains "$OUT" "response: ^A"$'\n' "OAUTHBEARER answers the error challenge with a lone ^A"
assert_contains "$OUT" "status invalid_token" "OAUTHBEARER: the error says what the server said"
big=$(printf '{"status":"401","pad":"%05000d"}' 0)
probe oversized "ya29.raw-token" --mech XOAUTH2 --user "$USER_NAME" --challenge "$big"
assert_contains "$OUT" "step: bad protocol" "an oversized challenge is refused as a protocol error"

# --- a sasl-xoauth2 token file, refreshed in-process -----------------------------------

write_secret_file "$TEST_DIR/client-secret" 'f+i&l=e%'
write_secret_file "$TEST_DIR/initial-rt" rt-file-initial
start_token_server --refresh-token-file "$TEST_DIR/initial-rt" \
	--client-secret-file "$TEST_DIR/client-secret" || bail_out "cannot start the token server"
mkdir -m 0700 "$TEST_DIR/tokens"
TOKEN_FILE=$TEST_DIR/tokens/$USER_NAME
write_token_file "$TOKEN_FILE" "user=$USER_NAME" "access_token=at-file-fresh" \
	"refresh_token=rt-file-initial" "expiry=$(($(now) + 3600))" "client_id=test-client" \
	"client_secret=f+i&l=e%" "token_endpoint=$TS_ENDPOINT" "proxy_note=kept"
chmod 0640 "$TOKEN_FILE"

probe file-fresh "$TOKEN_FILE" --mech XOAUTH2 --user "$USER_NAME" --maps
assert_rc 0 "token file, fresh: accepted"
expect_initial "user=$USER_NAME^Aauth=Bearer at-file-fresh^A^A" "token file, fresh: its access token is sent"
assert_eq "$(ts_requests)" 0 "token file, fresh: no request to the token endpoint"
for lib in libgio libsecret libdbus libgobject libjson-glib; do
	assert_not_contains "$OUT" "/$lib" "token-file path: $lib is not loaded into the client"
done

write_token_file "$TOKEN_FILE" "user=$USER_NAME" "access_token=at-file-stale" \
	"refresh_token=rt-file-initial" "expiry=$(($(now) - 60))" "client_id=test-client" \
	"client_secret=f+i&l=e%" "token_endpoint=$TS_ENDPOINT" "proxy_note=kept"
chmod 0640 "$TOKEN_FILE"
probe file-stale "$TOKEN_FILE" --mech OAUTHBEARER --user "$USER_NAME"
assert_rc 0 "token file, expired: accepted"
expect_initial "n,a=$USER_NAME,^Ahost=localhost^Aport=993^Aauth=Bearer at-1^A^A" \
	"token file, expired: refreshed, the new token is sent"
assert_eq "$(ts_requests)" 1 "token file, expired: exactly one refresh"
assert_eq "$(json_get "$TOKEN_FILE" 'd["refresh_token"]')" rt-1 "token file: the rotated refresh token was written back"
assert_eq "$(json_get "$TOKEN_FILE" 'type(d["expiry"]).__name__')" str "token file: expiry written as a string, as sasl-xoauth2 does"
assert_eq "$(json_get "$TOKEN_FILE" 'd["proxy_note"]')" kept "token file: unknown keys kept"
assert_eq "$(stat -c %a "$TOKEN_FILE")" 640 "token file: mode kept"
assert_eq "$(json_get "$TEST_DIR/stats.json" 'd["last_form"]["client_secret"]')" 'f+i&l=e%' \
	"token file: the client secret reached the endpoint intact"
leftovers=$(find "$TEST_DIR/tokens" -name '*.tmp' | wc -l)
assert_eq "$leftovers" 0 "token file: no temporary file left behind"

probe file-missing "$TEST_DIR/tokens/nobody" --mech XOAUTH2 --user "$USER_NAME"
assert_rc_nonzero "a missing token file fails"
assert_matches "$OUT" "detail: .*mailoauth: Cannot read $TEST_DIR/tokens/nobody" \
	"a missing token file: the error names the file"

# --- the keyring, through "mailoauth token" ---------------------------------------------

setup_app sasl-app "$TEST_DIR/client-secret"
write_token_file "$TEST_DIR/import.json" "user=$USER_NAME" "access_token=at-keyring-fresh" \
	"refresh_token=rt-1" "expiry=$(($(now) + 3600))"
mo import import "$TEST_DIR/import.json" --app sasl-app
assert_rc 0 "an account in the keyring"
probe keyring-empty "" --mech XOAUTH2 --user "$USER_NAME"
assert_rc 0 "empty password: the keyring account named like the user"
expect_initial "user=$USER_NAME^Aauth=Bearer at-keyring-fresh^A^A" "empty password: the keyring's token is sent"
probe keyring-ref "keyring:$USER_NAME" --mech XOAUTH2 --user other-login@example.com --prompts
expect_initial "user=other-login@example.com^Aauth=Bearer at-keyring-fresh^A^A" \
	"keyring:ACCOUNT names the account; the SASL user stays the login"
probe keyring-missing "keyring:nobody@example.com" --mech XOAUTH2 --user "$USER_NAME"
assert_rc_nonzero "keyring: an unknown account fails"
assert_matches "$OUT" "detail: .*no token for nobody@example.com from the keyring: .*No account" \
	"keyring: the error names the account and passes on what mailoauth said"

# --- beside another XOAUTH2 plugin (Debian's KDE one), ours is chosen ---------------------

KDE_PLUGIN=/usr/lib/x86_64-linux-gnu/sasl2/libkdexoauth2.so
[ -f "$KDE_PLUGIN" ] || bail_out "no $KDE_PLUGIN (tools/dev deps installs libsasl2-modules-kdexoauth2)"
mkdir "$TEST_DIR/both"
ln -s "$(cd "$PLUGIN_DIR" && pwd)/libmailoauth.so" "$KDE_PLUGIN" "$TEST_DIR/both/"
run_cmd viewer saslpluginviewer -c -p "$TEST_DIR/both"
assert_rc 0 "saslpluginviewer -c lists the client plugins"
assert_contains "$OUT" $'Plugin "mailoauth" [loaded], \tAPI version: 4\n\tSASL mechanism: XOAUTH2, best SSF: 60' \
	"saslpluginviewer: ours offers XOAUTH2 with best SSF 60"
assert_contains "$OUT" $'Plugin "kdexoauth2" [loaded], \tAPI version: 4\n\tSASL mechanism: XOAUTH2, best SSF: 0' \
	"saslpluginviewer: the KDE plugin offers XOAUTH2 with SSF 0"
# A password only ours understands: the KDE plugin would send the path as the token.
MAILOAUTH_SASL_DIR_SAVED=$PLUGIN_DIR
PLUGIN_DIR=$TEST_DIR/both
probe both "$TEST_DIR/tokens/nobody" --mech XOAUTH2 --user "$USER_NAME"
assert_contains "$OUT" "mailoauth: Cannot read $TEST_DIR/tokens/nobody" \
	"with both plugins installed, libsasl2 picks ours for XOAUTH2"
probe both-kept "$TOKEN_FILE" --mech XOAUTH2 --user "$USER_NAME" --prompts
expect_initial "user=$USER_NAME^Aauth=Bearer at-1^A^A" "with both plugins, a prompt client gets ours too"
PLUGIN_DIR=$MAILOAUTH_SASL_DIR_SAVED

# --- load, unload, load; many authentications in one process ----------------------------

probe reload "ya29.raw-token" --mech XOAUTH2 --user "$USER_NAME" --reload --repeat 3
assert_rc 0 "sasl_done and sasl_client_init again: the plugin still works"
assert_eq "$(grep -c '^initial: ' "$OUT")" 6 "six authentications across the reload"

probe no-secret-in-output "ya29.raw-token" --mech XOAUTH2 --user "$USER_NAME" \
	--challenge '{"status":"401"}'
grep '^detail' "$OUT" >"$TEST_DIR/detail.txt"
assert_not_contains "$TEST_DIR/detail.txt" "ya29" "the error text never carries the token"

tap_done
