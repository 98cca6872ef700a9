#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `mailoauth authorize` end to end against a real OpenID provider
# (tests/provider: oidc-provider on 127.0.0.1, started and stopped here):
# the device flow (approve, deny, expiry, slow_down, Ctrl-C), the browser
# flow with PKCE (public and confidential clients, a wrong state, denied,
# timeout), the paste flow (and a pasted wrong state), re-authorizing that
# fails and keeps the old token, Google's device flow refused up front; then
# `token` and `refresh` with what was stored, checked by the provider's
# introspection as Dovecot would.  Finally no token, code or secret may have
# appeared in any output but `token`'s stdout.  TAP on stdout.
#
# Needs node and tests/provider/node_modules (`npm ci` there; `tools/dev
# deps` does it); skipped without them.  MO_PROVIDER_DIR names tests/provider.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/provider.sh
. "$MO_LIBDIR/provider.sh"
# shellcheck source=../lib/signin.sh
. "$MO_LIBDIR/signin.sh"

# oidc-provider 9 calls crypto.hash: Node 20.12 or later (Debian 12's nodejs is 18).
# (exit 0 on a skip: meson counts a non-zero exit of a TAP test as a failure, 77 included)
NODE_VERSION=$(node -p 'process.versions.node' 2>/dev/null)
if [ -z "$NODE_VERSION" ] || [ ! -d "$PROVIDER_DIR/node_modules/oidc-provider" ]; then
	echo "1..0 # SKIP node or $PROVIDER_DIR/node_modules missing (tools/dev deps installs them)"
	exit 0
fi
IFS=. read -r NODE_MAJOR NODE_MINOR _ <<<"$NODE_VERSION"
if ((NODE_MAJOR < 20 || (NODE_MAJOR == 20 && NODE_MINOR < 12))); then
	echo "1..0 # SKIP node $NODE_VERSION is too old for the test provider (needs 20.12 or later)"
	exit 0
fi
mo_init "$@"

SCOPE="openid offline_access mail"
# Everything secret this test learns (tokens, codes, client secrets): none of
# it may show up in mailoauth's output except an access token on `token`'s stdout.
SECRETS=()

learn_secret() {
	[ -n "$1" ] && SECRETS+=("$1")
	return 0
}

# --------------------------------------------------------------- provider ----

# introspect NAME TOKEN: POST /token/introspection as Dovecot (Basic auth from
# a curl config file, the token from a 0600 file); sets INTRO to the answer.
introspect() {
	local tok="$TEST_DIR/$1.token" code
	INTRO="$TEST_DIR/$1.json"
	(umask 077 && printf '%s' "$2" >"$tok")
	code=$(curl -sS --noproxy '*' --max-time 10 -K "$TEST_DIR/dovecot.curlrc" \
		--data-urlencode "token@$tok" -o "$INTRO" -w '%{http_code}' \
		"$ISSUER/token/introspection")
	rm -f -- "$tok"
	[ "$code" = 200 ] || diag "introspection answered HTTP $code"
}

# assert_active TOKEN USERNAME CLIENT_ID DESC: introspection says active, for USERNAME and CLIENT_ID.
assert_active() {
	introspect "intro-$TAP_COUNT" "$1"
	assert_eq "$(json_get "$INTRO" '[d.get("active"), d.get("username"), d.get("client_id")]')" \
		"[true, \"$2\", \"$3\"]" "$4"
}

# learn_account NAME: the account's keyring item into ACCT_JSON; its tokens
# into AT and RT (and SECRETS).
learn_account() {
	ACCT_JSON="$TEST_DIR/account-$1-$TAP_COUNT.json"
	AT=
	RT=
	keyring_account_json "$1" "$ACCT_JSON" || {
		diag "no keyring item for account $1"
		return 1
	}
	AT=$(json_get "$ACCT_JSON" 'd["access_token"]')
	RT=$(json_get "$ACCT_JSON" 'd.get("refresh_token") or ""')
	learn_secret "$AT"
	learn_secret "$RT"
}

# assert_not_stored ACCOUNT DESC: `mailoauth status ACCOUNT` exits 3.
assert_not_stored() {
	local rc=$RC out=$OUT err=$ERR ms=$ELAPSED_MS
	mo "status-$TAP_COUNT" status "$1"
	assert_rc 3 "$2"
	RC=$rc OUT=$out ERR=$err ELAPSED_MS=$ms
}

# ====================================================== device code expiry ====
# A provider of its own whose device codes live 3 s.

start_provider expiry --device-code-ttl 3 --device-interval 1 --quiet ||
	bail_out "cannot start the provider (node $PROVIDER_DIR/server.mjs)"
ok "a provider with 3 s device codes started"
# The one every later test uses reads the secrets this one wrote.
check "the provider created the clients file mode 0600" \
	test "$(stat -c %a "$TEST_DIR/clients.json")" = 600
CONF_SECRET=$(json_get "$TEST_DIR/clients.json" 'd["mailoauth-confidential"]["client_secret"]')
DOVECOT_SECRET=$(json_get "$TEST_DIR/clients.json" 'd["dovecot"]["client_secret"]')
learn_secret "$CONF_SECRET"
learn_secret "$DOVECOT_SECRET"
write_secret_file "$TEST_DIR/conf.secret" "$CONF_SECRET"
(umask 077 && printf 'user = "dovecot:%s"\n' "$DOVECOT_SECRET" >"$TEST_DIR/dovecot.curlrc")

bg_start expire authorize exp@example.com --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow device
wait_device_url
bg_wait 20
assert_rc_nonzero "device flow: nobody approves a 3 s code: authorize fails (exit $RC)"
check "... within 10 s (${ELAPSED_MS} ms)" test "$ELAPSED_MS" -lt 10000
ASSERT_NOCASE=1 assert_matches "$ERR" "$MO_MSG_RE.*expire" "... saying that the code expired"
assert_not_stored exp@example.com "... and nothing is stored (status exits 3)"
stop_provider

# ================================================================ main provider ====

start_provider main --device-interval 1 --quiet || bail_out "cannot start the provider"

# ------------------------------------------------ device flow, public client ----
pv_control '{"account":"dev@example.com"}'
bg_start device authorize dev@example.com --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow device
if wait_device_url; then
	ok "device flow: stderr shows the complete verification URI"
else
	not_ok "device flow: stderr shows the complete verification URI"
fi
assert_matches "$ERR" "^  ${ISSUER//./\\.}/device\$" "... the verification URI on a line of its own"
assert_matches "$ERR" "enter the code ${USER_CODE:-NONE}\$" "... and the user code"
approve device "$DEVICE_URL"
assert_eq "$HELPER_RC" 0 "approve-device.sh approves the code"
bg_wait 20
assert_rc 0 "device flow (public client, one-off app from --issuer): authorize succeeds"
assert_contains "$ERR" "Signed in: dev@example.com" "... and says so"
assert_empty "$OUT" "... printing nothing on stdout"

learn_account dev@example.com
AT0=$AT
RT0=$RT
check "the keyring holds an access and a refresh token" test -n "$AT0" -a -n "$RT0"
assert_eq "$(json_get "$ACCT_JSON" '[d["account"], d["app"], d["user"]]')" \
	'["dev@example.com", "dev@example.com", "dev@example.com"]' \
	"the account item names the account, its one-off app and the user"
keyring_app_json dev@example.com "$TEST_DIR/app-dev.json"
assert_eq "$(json_get "$TEST_DIR/app-dev.json" '[d["client_id"], d["token_endpoint"], d.get("client_secret")]')" \
	"[\"mailoauth-public\", \"$ISSUER/token\", null]" \
	"the one-off app has the client id, the discovered token endpoint and no secret"

BEFORE=$(pv_stat token_requests)
mo token-dev-1 token dev@example.com
assert_rc 0 "token succeeds"
assert_stdout_is "$AT0" "token prints the access token the device flow stored"
assert_eq "$(pv_stat token_requests)" "$BEFORE" "... without a request (it is fresh)"
assert_active "$AT0" dev@example.com mailoauth-public \
	"the provider introspects it (as dovecot) active, username = the account"
assert_contains "$INTRO" '"scope":"openid offline_access mail"' "... with the scope asked for"

mo refresh-dev-1 refresh dev@example.com --force
assert_rc 0 "refresh --force against the provider succeeds"
learn_account dev@example.com
AT1=$AT
RT1=$RT
check "it stored a new access token" test -n "$AT1" -a "$AT1" != "$AT0"
check "it stored the rotated refresh token" test -n "$RT1" -a "$RT1" != "$RT0"
assert_active "$AT1" dev@example.com mailoauth-public "the new access token is active"

mo refresh-dev-2 refresh dev@example.com --force
assert_rc 0 "a second refresh --force succeeds (the rotated refresh token was stored: reusing the old one would revoke the grant)"
learn_account dev@example.com
AT2=$AT
check "... and rotated again" test -n "$RT" -a "$RT" != "$RT1" -a "$AT2" != "$AT1"
mo token-dev-2 token dev@example.com
assert_stdout_is "$AT2" "token prints the latest access token"
assert_active "$AT2" dev@example.com mailoauth-public "... which is active"
pv_control '{"account":"me@example.com"}'

# ------------------------------------------------------------ device: denied ----
bg_start device-deny authorize deny@example.com --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow device
wait_device_url
approve device-deny --deny "$DEVICE_URL"
assert_eq "$HELPER_RC" 0 "approve-device.sh --deny aborts the sign-in"
bg_wait 20
assert_rc 4 "device flow, user aborts: authorize exits 4"
assert_matches "$ERR" "$MO_MSG_RE.*access_denied" "... with access_denied in the message"
assert_not_stored deny@example.com "... and nothing is stored (status exits 3)"

# --------------------------------------------------------- device: slow_down ----
pv_control '{"slow_down":2,"reset_stats":true}'
bg_start device-slow authorize slow@example.com --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow device
wait_device_url
# Approve only after both slow_downs were sent: a poll that would issue tokens never gets one.
if wait_for_stat device_polls 2 25; then
	approve device-slow "$DEVICE_URL"
else
	diag "mailoauth did not poll twice"
fi
bg_wait
assert_rc 0 "device flow with two slow_down answers (interval 1 s): authorize succeeds"
# interval 1, then 6, then 11 s: the third poll comes after about 18 s; at 1 s it would be 3 s.
check "... after at least 17 s: the interval grew by 5 s twice (${ELAPSED_MS} ms)" \
	test "$ELAPSED_MS" -ge 17000
check "... but not much longer (${ELAPSED_MS} ms)" test "$ELAPSED_MS" -lt 26000
assert_eq "$(pv_stat device_polls)" 3 "... in exactly 3 polls"
learn_account slow@example.com
mo token-slow token slow@example.com
assert_stdout_is "$AT" "token prints the stored access token"

# ------------------------------------------------------------ device: Ctrl-C ----
bg_start device-int authorize int@example.com --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow device
wait_for_line "$ERR" 'Ctrl-C cancels' && sleep 1.2
SIG_AT=${EPOCHREALTIME/./}
kill -INT "$BG_PID" 2>/dev/null
bg_wait 10
SIG_MS=$(((${EPOCHREALTIME/./} - SIG_AT) / 1000))
assert_rc 130 "device flow: SIGINT while waiting: authorize exits 130"
check "... within 2 s of the signal (${SIG_MS} ms)" test "$SIG_MS" -lt 2000
assert_matches "$ERR" "$MO_MSG_RE.*[Cc]ancel" "... saying it was cancelled"
assert_not_stored int@example.com "... and nothing is stored (status exits 3)"

# ------------------------------------------------ browser flow, public client ----
bg_start browser-pub authorize pub@example.com --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow browser --no-browser
wait_auth_url
wait_for_line "$ERR" "$LISTENER_RE" && PORT=${MATCH[1]}
assert_eq "$(query_param "$AUTH_URL" code_challenge_method)" S256 \
	"browser flow: the authorization URL has code_challenge_method=S256"
check "... a code_challenge (43 base64url characters)" \
	test "$(query_param "$AUTH_URL" code_challenge | grep -cE '^[A-Za-z0-9_-]{43}$')" = 1
STATE=$(query_param "$AUTH_URL" state)
check "... a state of at least 16 characters (${#STATE})" test "${#STATE}" -ge 16
assert_eq "$(query_param "$AUTH_URL" redirect_uri)" "http%3A%2F%2F127.0.0.1%3A${PORT:-NONE}%2F" \
	"... the listener's address as redirect_uri"
assert_eq "$(query_param "$AUTH_URL" client_id)/$(query_param "$AUTH_URL" response_type)" \
	mailoauth-public/code "... client_id and response_type=code"

# A redirect with a state not ours: refused, and the real one still accepted.
WRONG_CODE=$(curl -sS --noproxy '*' --max-time 10 -o "$TEST_DIR/wrong-state.html" -w '%{http_code}' \
	"http://127.0.0.1:${PORT:-1}/?code=x&state=wrong")
assert_eq "$WRONG_CODE" 400 "a redirect with a wrong state gets HTTP 400 from the listener"
sleep 0.3
check "... and authorize keeps waiting" bg_running
assert_matches "$ERR" "$MO_MSG_RE.*state" "... after saying why on stderr"

browser browser-pub "$AUTH_URL"
assert_eq "$HELPER_RC" 0 "browser-login.sh signs in and the listener answers 2xx"
bg_wait 20
assert_rc 0 "browser flow (public client): authorize succeeds after the wrong state"
learn_account pub@example.com
mo token-pub token pub@example.com
assert_rc 0 "token succeeds"
assert_stdout_is "$AT" "token prints the access token the browser flow stored"
assert_active "$AT" me@example.com mailoauth-public "... which is active"
check "a refresh token was stored" test -n "$RT"

# ------------------------------------------ browser flow, confidential client ----
mo_stdin app-add-conf "$TEST_DIR/conf.secret" app add conf --issuer "$ISSUER" \
	--client-id mailoauth-confidential --secret
assert_rc 0 "app add conf (--issuer, confidential client, secret on stdin)"
bg_start browser-conf authorize conf@example.com --app conf --scope "$SCOPE" \
	--flow browser --no-browser
wait_auth_url
assert_eq "$(query_param "$AUTH_URL" client_id)/$(query_param "$AUTH_URL" code_challenge_method)" \
	mailoauth-confidential/S256 "browser flow, confidential client: client_id and S256 in the URL"
browser browser-conf "$AUTH_URL"
assert_eq "$HELPER_RC" 0 "browser-login.sh signs in"
bg_wait 20
assert_rc 0 "browser flow (confidential client): authorize succeeds"
learn_account conf@example.com
RT_CONF=$RT
mo token-conf token conf@example.com
assert_stdout_is "$AT" "token prints the stored access token"
assert_active "$AT" me@example.com mailoauth-confidential "... which is active, for the confidential client"
mo refresh-conf refresh conf@example.com --force
assert_rc 0 "refresh --force with the client secret succeeds"
learn_account conf@example.com
check "... and stores the rotated refresh token" test -n "$RT" -a "$RT" != "$RT_CONF"

# ------------------------------------------------------- browser flow, denied ----
pv_control '{"mode":"deny"}'
bg_start browser-deny authorize bdeny@example.com --app conf --scope "$SCOPE" \
	--flow browser --no-browser
wait_auth_url
browser browser-deny "$AUTH_URL"
assert_eq "$HELPER_RC" 0 "deny mode: the listener answers the browser's error redirect (2xx)"
bg_wait 20
pv_control '{"mode":"approve"}'
assert_rc 4 "browser flow, denied: authorize exits 4"
assert_matches "$ERR" "$MO_MSG_RE.*access_denied" "... with access_denied in the message"
assert_not_stored bdeny@example.com "... and nothing is stored (status exits 3)"

# ------------------------------------------------------ browser flow, timeout ----
bg_start browser-timeout authorize late@example.com --app conf --scope "$SCOPE" \
	--flow browser --no-browser --timeout 2
bg_wait 15
assert_rc_nonzero "browser flow, --timeout 2 and nobody comes: authorize fails (exit $RC)"
check "... after 2 to 6 s (${ELAPSED_MS} ms)" test "$ELAPSED_MS" -ge 1900 -a "$ELAPSED_MS" -lt 6000
assert_matches "$ERR" "$MO_MSG_RE.*(within 2 s|timed out|time)" "... saying no sign-in came in time"
assert_not_stored late@example.com "... and nothing is stored (status exits 3)"

# ------------------------------------------------------- browser flow, Ctrl-C ----
bg_start browser-int authorize bint@example.com --app conf --scope "$SCOPE" \
	--flow browser --no-browser
PORT=
wait_for_line "$ERR" "$LISTENER_RE" && PORT=${MATCH[1]}
kill -INT "$BG_PID" 2>/dev/null
bg_wait 10
assert_rc 130 "browser flow: SIGINT while waiting: authorize exits 130"
check "... and the listener is closed" \
	test "$(curl -sS --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:${PORT:-1}/" 2>/dev/null)" = 000

# ------------------------------------------------------------------ paste flow ----
# mailoauth reads the pasted address from a fifo we write later, as a user would.
FIFO="$TEST_DIR/paste.fifo"
mkfifo -m 0600 "$FIFO"

# paste_start NAME ARGS...: `authorize ARGS --flow paste` reading $FIFO; sets AUTH_URL.
paste_start() {
	local name=$1
	shift
	exec 7<>"$FIFO"
	MO_STDIN=$FIFO bg_start "$name" authorize "$@" --flow paste
	wait_auth_url
}

# paste_send TEXT: the line, then end of input.
paste_send() {
	printf '%s\n' "$1" >&7
	exec 7>&-
}

paste_start paste paste@example.com --issuer "$ISSUER" --client-id mailoauth-public --scope "$SCOPE"
assert_eq "$(query_param "$AUTH_URL" redirect_uri)/$(query_param "$AUTH_URL" code_challenge_method)" \
	"http%3A%2F%2F127.0.0.1%3A1%2F/S256" "paste flow: URL with a loopback redirect_uri and S256"
browser paste --print-redirect "$AUTH_URL"
assert_eq "$HELPER_RC" 0 "browser-login.sh --print-redirect gives the redirected address"
IFS= read -r REDIRECT <"$TEST_DIR/paste.redirect"
learn_secret "$(query_param "$REDIRECT" code)"
check "... which carries a code" test -n "$(query_param "$REDIRECT" code)"
paste_send "$REDIRECT"
bg_wait 20
assert_rc 0 "paste flow: authorize succeeds with the pasted address"
learn_account paste@example.com
mo token-paste token paste@example.com
assert_stdout_is "$AT" "token prints the access token the paste flow stored"
assert_active "$AT" me@example.com mailoauth-public "... which is active"

paste_start paste-wrong pwrong@example.com --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE"
browser paste-wrong --print-redirect "$AUTH_URL"
IFS= read -r REDIRECT <"$TEST_DIR/paste-wrong.redirect"
learn_secret "$(query_param "$REDIRECT" code)"
STATE=$(query_param "$REDIRECT" state)
BEFORE=$(pv_stat token_requests)
paste_send "${REDIRECT/state=$STATE/state=wrong$STATE}"
bg_wait 20
assert_rc_nonzero "paste flow, the pasted address has a wrong state: authorize fails (exit $RC)"
assert_matches "$ERR" "$MO_MSG_RE.*state" "... saying the state differs"
assert_eq "$(pv_stat token_requests)" "$BEFORE" "... without trying the code"
assert_not_stored pwrong@example.com "... and nothing is stored (status exits 3)"

# ------------------------------------- re-authorizing keeps the old token on failure ----
learn_account dev@example.com
AT_OLD=$AT
pv_control '{"mode":"deny"}'
bg_start reauth-deny authorize dev@example.com --flow device
wait_device_url
approve reauth-deny "$DEVICE_URL"
check "deny mode: approve-device.sh does not reach the success page" test "$HELPER_RC" -ne 0
bg_wait 20
pv_control '{"mode":"approve"}'
assert_rc 4 "re-authorizing dev@example.com (its own app), denied: authorize exits 4"
learn_account dev@example.com
assert_secret_eq "$AT" "$AT_OLD" "the keyring still holds the old access token"
BEFORE=$(pv_stat token_requests)
mo token-reauth token dev@example.com
assert_stdout_is "$AT_OLD" "token still prints the old access token"
assert_eq "$(pv_stat token_requests)" "$BEFORE" "... without a request (it is still fresh)"

bg_start reauth-ok authorize dev@example.com --flow device
wait_device_url
approve reauth-ok "$DEVICE_URL"
bg_wait 20
assert_rc 0 "re-authorizing dev@example.com, approved: authorize succeeds"
learn_account dev@example.com
check "... and replaces the access token" test -n "$AT" -a "$AT" != "$AT_OLD"
mo token-reauth2 token dev@example.com
assert_stdout_is "$AT" "token prints the new access token"

# ---------------------------------------------------- Google: no device flow ----
mo app-add-google app add g --provider google --client-id x
assert_rc 0 "app add g --provider google"
mo google-device authorize a@gmail.com --app g --flow device
assert_rc 2 "authorize --flow device with a Google app exits 2"
assert_matches "$ERR" "$MO_MSG_RE.*device flow" "... the message names the device flow"
assert_contains "$ERR" "--flow browser" "... and suggests --flow browser"
assert_le "$ELAPSED_MS" 2000 "... at once, without a network attempt (${ELAPSED_MS} ms)"
assert_not_stored a@gmail.com "... and nothing is stored (status exits 3)"

# --------------------------------------- signing in again keeps the scopes ----
# dev@example.com was signed in with --scope "$SCOPE" (its custom mail scope);
# signing in again names neither --scope nor --app.
bg_start reauth-scope authorize dev@example.com --flow device
wait_device_url && approve reauth-scope "$DEVICE_URL"
bg_wait
assert_rc 0 "signing dev@example.com in again, with no --scope and no --app"
mo status-scope status dev@example.com --json
assert_contains "$OUT" '"scope": "openid offline_access mail"' \
	"... keeps the custom scopes, shown by status --json"
mo status-scope-text status dev@example.com
assert_matches "$OUT" '^  scopes: +openid offline_access mail$' "... and by status"
learn_account dev@example.com

# ---------------------------------------------------------------- no secrets ----
# Every stdout and stderr of mailoauth in this test, but token's stdout.
NFILES=0
LEAKS=()
for f in "$TEST_DIR"/*.out "$TEST_DIR"/*.err; do
	[ -f "$f" ] || continue
	case ${f##*/} in token-*.out) continue ;; esac
	NFILES=$((NFILES + 1))
	slurp HAY "$f"
	for s in "${SECRETS[@]}"; do
		if [[ $HAY == *"$s"* ]]; then
			LEAKS+=("${f##*/}")
			break
		fi
	done
done
check "no token, code or client secret (${#SECRETS[@]}) in any of $NFILES outputs but token's stdout" \
	test "${#LEAKS[@]}" -eq 0 -a "${#SECRETS[@]}" -ge 20
[ "${#LEAKS[@]}" -eq 0 ] || diag "secrets found in: ${LEAKS[*]}"

stop_provider
tap_done
