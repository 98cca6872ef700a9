#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# mbsync end to end, everything real, on 127.0.0.1: the test OpenID provider
# (tests/provider, short-lived access tokens), Dovecot checking every token by
# introspection (tests/lib/dovecot.sh), mbsync (tests/lib/mbsync.sh) and
# libsasl2 loading plugins from one directory (SASL_PATH).  TAP on stdout.
#
#  1. Dovecot alone, with tokens from a device flow done with curl: XOAUTH2
#     and OAUTHBEARER log in; a bad token gets the JSON challenge, then NO.
#  2. mbsync with Debian's KDE XOAUTH2 plugin (libsasl2-modules-kdexoauth2)
#     and a PassCmd printing a raw token syncs both ways: the harness works
#     without our plugin.  (Skipped when that plugin is not installed.)
#  3. With our plugin (libmailoauth.so in MAILOAUTH_SASL_DIR; skipped until it
#     is built), accounts signed in by `mailoauth authorize` (device flow):
#     (a) PassCmd "mailoauth token ACCOUNT", XOAUTH2 and OAUTHBEARER;
#     (b) the plugin reading the keyring itself (password "keyring:" / "");
#     (c) a sasl-xoauth2 token file (password = its absolute path);
#     each syncing both ways, again after the access token expired (one token
#     request each: the refresh, whose rotated refresh token was stored), and
#     failing promptly, with a clear message, once the grant is revoked.
#     A bad token makes mbsync fail promptly too (the plugin answers the
#     server's challenge; mbsync would hang otherwise).
#  Finally no token or secret in any mbsync output or in Dovecot's log.
#
# Needs root (Dovecot's mail uid), dovecot-imapd, isync, node + npm ci in
# tests/provider; skipped without them.  Env: MAILOAUTH (the CLI),
# MAILOAUTH_SASL_DIR (the plugin's build directory), MO_PROVIDER_DIR.
# Takes about 50 s (it waits once for 30 s access tokens to expire).

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/provider.sh
. "$MO_LIBDIR/provider.sh"

SASL_DIR=${MAILOAUTH_SASL_DIR:-$MO_LIBDIR/../../build/src/sasl}
PLUGIN="$SASL_DIR/libmailoauth.so"

# (exit 0 on a skip: meson counts a non-zero exit of a TAP test as a failure, 77 included)
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
NODE_VERSION=$(node -p 'process.versions.node' 2>/dev/null)
if [ -z "$NODE_VERSION" ] || [ ! -d "$PROVIDER_DIR/node_modules/oidc-provider" ]; then
	skip_all "node or $PROVIDER_DIR/node_modules missing (tools/dev deps installs them)"
fi
IFS=. read -r NODE_MAJOR NODE_MINOR _ <<<"$NODE_VERSION"
((NODE_MAJOR > 20 || (NODE_MAJOR == 20 && NODE_MINOR >= 12))) ||
	skip_all "node $NODE_VERSION is too old for the test provider (needs 20.12 or later)"
[ "$(id -u)" = 0 ] || skip_all "needs root (Dovecot runs its mail processes as the mail user)"
command -v dovecot >/dev/null || skip_all "dovecot not found (dovecot-imapd)"
command -v mbsync >/dev/null || skip_all "mbsync not found (isync)"
mo_init "$@"
# shellcheck source=../lib/dovecot.sh
. "$MO_LIBDIR/dovecot.sh"
# shellcheck source=../lib/mbsync.sh
. "$MO_LIBDIR/mbsync.sh"

SCOPE="openid offline_access mail"
ACCESS_TTL=30
# `mailoauth token` refreshes a token with less than 25 s left: 5 s after it was issued.
write_config refresh-margin=25
# mbsync must end well within this; a hang is a failure, not a stuck suite.
MB_TIMEOUT=${MB_TIMEOUT:-60}
# A failure must come this fast (ms).
PROMPT_MS=15000

SECRETS=()
learn_secret() {
	[ -n "$1" ] && SECRETS+=("$1")
	return 0
}

# ------------------------------------------------------------- provider ----



# wait_inactive TOKEN MAX_S: until introspection says the token is dead.
wait_inactive() {
	local end=$((EPOCHSECONDS + $2))
	while ((EPOCHSECONDS < end)); do
		[ "$(introspect "$1")" = false ] && return 0
		sleep 1
	done
	return 1
}


# approve URL: tests/provider/approve-device.sh, as a browser would.
approve() {
	timeout -k 5 30 sh "$PROVIDER_DIR/approve-device.sh" "$1" \
		>>"$TEST_DIR/approve.log" 2>&1
}

# device_tokens ACCOUNT FILE: a device flow for ACCOUNT done with curl (the
# public client), approved; the token response into FILE (0600).  No
# mailoauth involved.
device_tokens() {
	local acct=$1 out=$2 dev="$TEST_DIR/device-$1.json" dc url
	pv_control "{\"account\":\"$acct\"}" || return 1
	pv_curl --fail -d client_id=mailoauth-public --data-urlencode "scope=$SCOPE" \
		-o "$dev" "$ISSUER/device/auth" || return 1
	url=$(json_get "$dev" 'd["verification_uri_complete"]') || return 1
	approve "$url" || {
		diag "approve-device.sh failed:"
		diag_file "$TEST_DIR/approve.log"
		return 1
	}
	dc=$(secret_file device-code "$(json_get "$dev" 'd["device_code"]')")
	(umask 077 && pv_curl -d client_id=mailoauth-public \
		-d grant_type=urn:ietf:params:oauth:grant-type:device_code \
		--data-urlencode "device_code@$dc" -o "$out" "$ISSUER/token")
	rm -f -- "$dc" "$dev"
	pv_control '{"account":"me@example.com"}'
	json_get "$out" 'd["access_token"]' >/dev/null 2>&1
}

# authorize ACCOUNT: `mailoauth authorize ACCOUNT --flow device` with the
# provider signing in ACCOUNT, approved by approve-device.sh.  Sets RC.
authorize() {
	local acct=$1 err="$TEST_DIR/authorize-$1.err" pid i line url=
	pv_control "{\"account\":\"$acct\"}"
	"$MAILOAUTH" authorize "$acct" --issuer "$ISSUER" --client-id mailoauth-public \
		--scope "$SCOPE" --flow device </dev/null >"$TEST_DIR/authorize-$acct.out" 2>"$err" &
	pid=$!
	mo_track_pid "$pid"
	for ((i = 0; i < 300; i++)); do
		[ -f "$err" ] && while IFS= read -r line; do
			[[ $line =~ ^\ \ (http://127\.0\.0\.1:[0-9]+/device\?user_code=[A-Z-]+)$ ]] &&
				url=${BASH_REMATCH[1]}
		done <"$err"
		[ -n "$url" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$url" ] && approve "$url"
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill "$pid" 2>/dev/null
	wait "$pid"
	RC=$?
	mo_untrack_pid "$pid"
	pv_control '{"account":"me@example.com"}'
	[ "$RC" = 0 ] || {
		diag "mailoauth authorize $acct exited $RC:"
		diag_file "$err"
	}
}

# keyring_tokens ACCOUNT: the account's tokens from the keyring into AT, RT.
keyring_tokens() {
	local f="$TEST_DIR/keyring-$1.json"
	AT=
	RT=
	keyring_account_json "$1" "$f" || return 1
	AT=$(json_get "$f" 'd["access_token"]')
	RT=$(json_get "$f" 'd.get("refresh_token") or ""')
	rm -f -- "$f"
	learn_secret "$AT"
	learn_secret "$RT"
}

# file_tokens FILE: a token file's tokens into AT, RT.
file_tokens() {
	AT=$(json_get "$1" 'd["access_token"]')
	RT=$(json_get "$1" 'd.get("refresh_token") or ""')
	learn_secret "$AT"
	learn_secret "$RT"
}

# ------------------------------------------------------------- asserts ----

show_sync() {
	diag "exit status: $RC, ${ELAPSED_MS} ms"
	diag "stdout:"
	diag_file "$OUT" 30
	diag "stderr:"
	diag_file "$ERR" 30
	diag "dovecot log (last lines):"
	tail -n 8 "$DV_LOG" >"$TEST_DIR/dovecot-tail.log" 2>/dev/null
	diag_file "$TEST_DIR/dovecot-tail.log"
}

# assert_sync_ok DESC: the last mb_sync exited 0.
assert_sync_ok() {
	if [ "$RC" = 0 ]; then
		ok "$1"
	else
		not_ok "$1"
		show_sync
		return 1
	fi
}

# assert_sync_fails_fast DESC: the last mb_sync failed (not by the timeout) within PROMPT_MS.
assert_sync_fails_fast() {
	if [ "$RC" != 0 ] && [ "$RC" != 124 ] && [ "$ELAPSED_MS" -le "$PROMPT_MS" ]; then
		ok "$1 (exit $RC, ${ELAPSED_MS} ms)"
	else
		not_ok "$1 (exit $RC, ${ELAPSED_MS} ms)"
		[ "$RC" = 124 ] && diag "mbsync hung: killed after ${MB_TIMEOUT}s"
		show_sync
		return 1
	fi
}

# mb_has_all NAME SUBJECT...: NAME's local INBOX has a message with each SUBJECT.
# shellcheck disable=SC2317 # called through check
mb_has_all() {
	local name=$1 subject
	shift
	for subject in "$@"; do
		mb_has "$name" "$subject" || return 1
	done
}

# sync_both_ways NAME USER SASL_DIR LABEL [VAR=VALUE...]: two new messages in
# Dovecot come down, then a new local one goes up.  7 TAP lines.
sync_both_ways() {
	local name=$1 user=$2 sasl=$3 label=$4 before
	shift 4
	dv_put_message "$user" "$label: down 1" >/dev/null
	dv_put_message "$user" "$label: down 2" >/dev/null
	mb_sync "$name" "$sasl" "$@"
	assert_sync_ok "$label: mbsync exits 0" || return 1
	assert_contains "$OUT" "Authenticating with SASL mechanism $(sed -n 's/^AuthMechs //p' "$(mb_dir "$name")/mbsyncrc")" \
		"... having authenticated with that mechanism"
	check "... and fetched the 2 new messages from Dovecot" \
		mb_has_all "$name" "$label: down 1" "$label: down 2"
	assert_eq "$(mb_count "$name")" "$(dv_count "$user")" "... having all of Dovecot's messages"
	mb_put_message "$name" "$label: up" >/dev/null
	before=$(dv_count "$user")
	mb_sync "$name" "$sasl" "$@"
	assert_sync_ok "$label: mbsync exits 0 again"
	check "... and put the new local message into Dovecot's maildir" \
		test "$(dv_count "$user")" -eq $((before + 1))
	check "... the one with its subject" dv_has "$user" "$label: up"
}

# sync_one_down NAME USER SASL_DIR LABEL [VAR=VALUE...]: one new message comes down.  2 lines.
sync_one_down() {
	local name=$1 user=$2 sasl=$3 label=$4
	shift 4
	dv_put_message "$user" "$label" >/dev/null
	mb_sync "$name" "$sasl" "$@"
	assert_sync_ok "$label: mbsync exits 0" || {
		not_ok "... and fetches the new message"
		return 1
	}
	check "... and fetches the new message" mb_has "$name" "$label"
}

# ============================================================ servers ====

start_provider main --access-token-ttl "$ACCESS_TTL" --device-interval 1 --quiet ||
	bail_out "cannot start the provider (node $PROVIDER_DIR/server.mjs)"
ok "the provider runs ($ISSUER, access tokens live ${ACCESS_TTL} s)"
DOVECOT_SECRET=$(json_get "$TEST_DIR/clients.json" 'd["dovecot"]["client_secret"]')
learn_secret "$DOVECOT_SECRET"
learn_secret "$(json_get "$TEST_DIR/clients.json" 'd["mailoauth-confidential"]["client_secret"]')"
(umask 077 && printf 'user = "dovecot:%s"\n' "$DOVECOT_SECRET" >"$TEST_DIR/dovecot.curlrc")

dv_start "$ISSUER" "$TEST_DIR/clients.json" || bail_out "cannot start dovecot"
ok "Dovecot runs on 127.0.0.1:$DV_PORT (pid $DV_PID)"
check "... its master.pid names the process we started" \
	test "$(cat "$DV_DIR/run/master.pid" 2>/dev/null)" = "$DV_PID"
check "... the introspection secret is only in a 0600 file" \
	test "$(stat -c %a "$DV_DIR/oauth2.conf.ext")" = 600

# =================================================== 1. Dovecot alone ====

if device_tokens base@example.com "$TEST_DIR/base.tokens.json"; then
	ok "a device flow with curl gives an access token for base@example.com"
else
	not_ok "a device flow with curl gives an access token for base@example.com"
	diag_file "$TEST_DIR/base.tokens.json"
fi
BASE_AT=$(json_get "$TEST_DIR/base.tokens.json" 'd["access_token"]' 2>/dev/null)
learn_secret "$BASE_AT"
learn_secret "$(json_get "$TEST_DIR/base.tokens.json" 'd.get("refresh_token") or ""' 2>/dev/null)"
BASE_AT_FILE=$(secret_file base.at "$BASE_AT")
# (not a secret: it may show up anywhere)
secret_file bogus.at "bogus-$RANDOM-not-a-token" >/dev/null

dv_put_message base@example.com "seed 0" >/dev/null
for MECH in XOAUTH2 OAUTHBEARER; do
	dv_imap_auth "good-$MECH" "$MECH" base@example.com "$BASE_AT_FILE"
	assert_contains "$IMAP_OUT" "result: OK" "Dovecot: AUTHENTICATE $MECH with the provider's token succeeds"
	assert_contains "$IMAP_OUT" "exists: 1" "... and SELECT INBOX sees the message put into its maildir"
done
dv_imap_auth bad-XOAUTH2 XOAUTH2 base@example.com "$TEST_DIR/bogus.at"
assert_contains "$IMAP_OUT" 'challenge: {"status":"401","schemes":"bearer","scope":"mail"}'$'\n' \
	'Dovecot: a bad token with XOAUTH2 gets the challenge {"status":"401","schemes":"bearer","scope":"mail"}'
assert_contains "$IMAP_OUT" "result: NO [AUTHENTICATIONFAILED] Authentication failed." \
	"... and, after the empty answer, NO [AUTHENTICATIONFAILED]"
dv_imap_auth bad-OAUTHBEARER OAUTHBEARER base@example.com "$TEST_DIR/bogus.at"
assert_contains "$IMAP_OUT" 'challenge: {"status":"invalid_token"}'$'\n' \
	'Dovecot: a bad token with OAUTHBEARER gets the challenge {"status":"invalid_token"}'
assert_contains "$IMAP_OUT" "result: NO [AUTHENTICATIONFAILED] Authentication failed." \
	"... and, after the ^A answer, NO [AUTHENTICATIONFAILED]"
dv_imap_auth wrong-user XOAUTH2 other@example.com "$BASE_AT_FILE"
assert_contains "$IMAP_OUT" "result: NO" "Dovecot: a good token for another user is refused"
assert_contains "$DV_LOG" "did not match 'base@example.com'" "... the log says the username did not match"
assert_contains "$DV_LOG" "Provided token is not valid" "... and for the bad token: not valid"

# ======================================= 2. mbsync + KDE's XOAUTH2 plugin ====

SYSTEM_SASL=$(mb_system_sasl_dir)
if [ -n "$SYSTEM_SASL" ] && [ -f "$SYSTEM_SASL/libkdexoauth2.so" ]; then
	# Only that plugin (ours may be installed in the system directory too).
	mkdir -m 0700 "$TEST_DIR/sasl-kde"
	ln -s "$SYSTEM_SASL/libkdexoauth2.so" "$TEST_DIR/sasl-kde/"
	mb_config kde XOAUTH2 base@example.com PassCmd "cat $BASE_AT_FILE"
	sync_both_ways kde base@example.com "$TEST_DIR/sasl-kde" "KDE plugin, PassCmd printing the token"
	# (mbsync registers USER/AUTHNAME/PASS without procs: the plugin got
	# the user and the token only by mbsync answering its prompts.)
else
	for i in 1 2 3 4 5 6 7; do
		skip "mbsync with Debian's KDE XOAUTH2 plugin" "libsasl2-modules-kdexoauth2 not installed"
	done
fi

# =========================================== 3. mbsync + our plugin ====

if [ ! -f "$PLUGIN" ]; then
	skip "mbsync with libmailoauth.so" "not built: $PLUGIN"
	stop_all=1
else
	stop_all=
fi

if [ -z "$stop_all" ]; then
	# ------------------------------------------------ (a) PassCmd ----
	authorize a@example.com
	assert_eq "$RC" 0 "(a) mailoauth authorize a@example.com (device flow) succeeds"
	keyring_tokens a@example.com
	mb_config a XOAUTH2 a@example.com PassCmd "$MAILOAUTH token a@example.com"
	sync_both_ways a a@example.com "$SASL_DIR" "(a) PassCmd mailoauth token, XOAUTH2"
	mb_set_mech a OAUTHBEARER
	sync_one_down a a@example.com "$SASL_DIR" "(a) PassCmd mailoauth token, OAUTHBEARER"
	assert_contains "$OUT" "Authenticating with SASL mechanism OAUTHBEARER" "... with OAUTHBEARER"
	mb_set_mech a XOAUTH2

	# A token Dovecot refuses: the plugin must answer the JSON challenge, or
	# mbsync hangs with AUTHENTICATE open (as it does with KDE's plugin).
	for MECH in XOAUTH2 OAUTHBEARER; do
		mb_config bogus "$MECH" a@example.com PassCmd "cat $TEST_DIR/bogus.at"
		mb_sync bogus "$SASL_DIR"
		assert_sync_fails_fast "(a) a bad token, $MECH: mbsync fails promptly, no hang"
		assert_contains "$ERR" "AUTHENTICATIONFAILED" "... showing Dovecot's NO"
	done

	# ---------------------------------------------- (b) the keyring ----
	# The plugin runs `mailoauth token ACCOUNT` itself (the CLI from
	# MAILOAUTH_CLI): password "keyring:" (account = User) or empty.
	authorize b@example.com
	assert_eq "$RC" 0 "(b) mailoauth authorize b@example.com succeeds"
	keyring_tokens b@example.com
	mb_config b XOAUTH2 b@example.com Pass "keyring:"
	sync_both_ways b b@example.com "$SASL_DIR" "(b) password keyring:, XOAUTH2" MAILOAUTH_CLI="$MAILOAUTH"
	mb_config b OAUTHBEARER b@example.com Pass ""
	sync_one_down b b@example.com "$SASL_DIR" "(b) empty password, OAUTHBEARER" MAILOAUTH_CLI="$MAILOAUTH"

	# ---------------------------------------------- (c) a token file ----
	# The plugin refreshes the file itself (client_id, token_endpoint in it).
	if device_tokens c@example.com "$TEST_DIR/c.tokens.json"; then
		ok "(c) a device flow with curl gives tokens for c@example.com"
	else
		not_ok "(c) a device flow with curl gives tokens for c@example.com"
	fi
	file_tokens "$TEST_DIR/c.tokens.json"
	C_FILE="$TEST_DIR/c-token.json"
	write_token_file "$C_FILE" "user=c@example.com" "access_token=$AT" "refresh_token=$RT" \
		"expiry=$((EPOCHSECONDS + ACCESS_TTL))" "client_id=mailoauth-public" \
		"token_endpoint=$ISSUER/token"
	mb_config c XOAUTH2 c@example.com Pass "$C_FILE"
	sync_both_ways c c@example.com "$SASL_DIR" "(c) password = token file, XOAUTH2"

	# --------------------------------------------------- expiry ----
	keyring_tokens a@example.com
	A_AT=$AT A_RT=$RT
	keyring_tokens b@example.com
	B_AT=$AT B_RT=$RT
	file_tokens "$C_FILE"
	C_AT=$AT C_RT=$RT
	START=$EPOCHSECONDS
	if wait_inactive "$A_AT" $((ACCESS_TTL + 15)) && wait_inactive "$B_AT" 15 &&
		wait_inactive "$C_AT" 15; then
		ok "the stored access tokens of a, b and c expired (waited $((EPOCHSECONDS - START)) s)"
	else
		not_ok "the stored access tokens of a, b and c expired"
	fi

	for M in a b c; do
		ENV=()
		[ "$M" = b ] && ENV=(MAILOAUTH_CLI="$MAILOAUTH")
		BEFORE=$(pv_stat token_requests)
		sync_one_down "$M" "$M@example.com" "$SASL_DIR" "($M) after the access token expired" "${ENV[@]}"
		assert_eq "$(pv_stat token_requests)" $((BEFORE + 1)) "... with exactly one token request (the refresh)"
		if [ "$M" = c ]; then
			file_tokens "$C_FILE"
			OLD_RT=$C_RT
			check "... the token file holds the rotated refresh token" test -n "$RT" -a "$RT" != "$OLD_RT"
			assert_eq "$(stat -c %a "$C_FILE")" 600 "... and kept its mode"
		else
			keyring_tokens "$M@example.com"
			if [ "$M" = a ]; then OLD_RT=$A_RT; else OLD_RT=$B_RT; fi
			check "... the keyring holds the rotated refresh token" test -n "$RT" -a "$RT" != "$OLD_RT"
		fi
		assert_eq "$(introspect "$AT")" true "... and a new access token, active"
	done

	# ------------------------------------------------- revoked grant ----
	# The cached access token dies with the grant while mailoauth still
	# thinks it fresh (margin 0): Dovecot refuses it.
	write_config refresh-margin=0
	keyring_tokens a@example.com
	revoke "$RT"
	assert_eq "$(introspect "$AT")" false "revoking a's refresh token kills its access token"
	mb_sync a "$SASL_DIR"
	assert_sync_fails_fast "(a) revoked grant, cached token: mbsync fails promptly"
	assert_contains "$ERR" "AUTHENTICATIONFAILED" "... showing Dovecot's NO"
	# Now mailoauth refreshes (margin above the lifetime): invalid_grant.
	write_config refresh-margin=3600
	mb_sync a "$SASL_DIR"
	assert_sync_fails_fast "(a) revoked grant, refresh refused: mbsync fails promptly"
	assert_contains "$ERR" "PassCmd exited with status" "... because PassCmd failed"
	ASSERT_NOCASE=1 assert_contains "$ERR" "mailoauth authorize" "... whose message says to authorize again"

	# The plugin fails before AUTHENTICATE is sent; mbsync prints its
	# sasl_errdetail ("Error performing SASL authentication step: ...").
	# Issue 4 wants the account, the reason and what to run in it.
	keyring_tokens b@example.com
	revoke "$RT"
	mb_sync b "$SASL_DIR" MAILOAUTH_CLI="$MAILOAUTH"
	assert_sync_fails_fast "(b) revoked grant: mbsync fails promptly"
	ASSERT_NOCASE=1 assert_contains "$ERR" "mailoauth authorize b@example.com" \
		"... saying what to run: mailoauth authorize b@example.com"

	# The same for a token file whose grant is gone.
	file_tokens "$C_FILE"
	revoke "$RT"
	write_token_file "$C_FILE" "user=c@example.com" "access_token=$AT" "refresh_token=$RT" \
		"expiry=$((EPOCHSECONDS - 10))" "client_id=mailoauth-public" "token_endpoint=$ISSUER/token"
	mb_sync c "$SASL_DIR"
	assert_sync_fails_fast "(c) revoked grant, expired token file: mbsync fails promptly"
	ASSERT_NOCASE=1 assert_contains "$ERR" "invalid_grant" "... naming invalid_grant"
	write_config refresh-margin=25
fi

# ============================================================ no secrets ====
# Raw, and base64-encoded too: mbsync 1.4.4 prints a refused AUTHENTICATE
# command whole, its initial response (SASL-IR) included.
(umask 077 && printf '%s\n' "${SECRETS[@]}" >"$TEST_DIR/secrets.list")
FILES=()
for f in "$TEST_DIR"/mbsync-*.out "$TEST_DIR"/mbsync-*.err "$TEST_DIR"/mbsync-*/mbsyncrc \
	"$TEST_DIR"/authorize-*.out "$TEST_DIR"/authorize-*.err "$DV_LOG"; do
	[ -f "$f" ] && FILES+=("$f")
done
"$MO_PYTHON" - "$TEST_DIR/secrets.list" "${FILES[@]}" >"$TEST_DIR/leaks.txt" <<'PY'
import base64, binascii, re, sys
secrets = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
for path in sys.argv[2:]:
    text = open(path, encoding="utf-8", errors="replace").read()
    name = path.rsplit("/", 1)[-1]
    if any(s in text for s in secrets):
        print("raw", name)
        continue
    for word in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        try:
            dec = base64.b64decode(word + "=" * (-len(word) % 4)).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            continue
        if any(s in dec for s in secrets):
            print("base64", name)
            break
PY
rm -f -- "$TEST_DIR/secrets.list"
RAW_LEAKS=$(sed -n 's/^raw //p' "$TEST_DIR/leaks.txt" | tr '\n' ' ')
B64_LEAKS=$(sed -n 's/^base64 //p' "$TEST_DIR/leaks.txt" | tr '\n' ' ')
check "no token or secret (${#SECRETS[@]}) in mbsync's output or config, authorize's output or Dovecot's log (${#FILES[@]} files)" \
	test -z "$RAW_LEAKS" -a "${#SECRETS[@]}" -ge 4
[ -z "$RAW_LEAKS" ] || diag "secrets found in: $RAW_LEAKS"
# A plugin sending the token as SASL-IR shows it here whenever Dovecot
# refuses it (a revoked token below; a live one for a wrong user or scope):
# gather the credentials in the first step, answer the server's empty "+".
check "... nor base64-encoded (mbsync prints a refused AUTHENTICATE command with its initial response)" \
	test -z "$B64_LEAKS"
[ -z "$B64_LEAKS" ] || diag "base64-encoded secrets found in: $B64_LEAKS"

DV_MASTER=$DV_PID
dv_stop
check "Dovecot stopped (pid $DV_MASTER)" test -z "$DV_DIR" -a ! -e "/proc/$DV_MASTER"
tap_done
