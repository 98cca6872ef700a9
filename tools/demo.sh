#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The token lifecycle, narrated. Act 1, against a real OpenID provider (oidc-provider): sign in
# with the device flow, hand out the cached token, refresh it when it gets close to expiry, force
# a refresh, show the status, then let mbsync log in to a private Dovecot through the SASL
# plugin, which reads the keyring itself. Act 2, for users of sasl-xoauth2: register an app,
# import a token file, refresh through a local token endpoint. Act 3: postfix relays a mail
# through a token file that "mailoauth export" wrote into its chroot. Everything runs against a
# private keyring and servers on 127.0.0.1; the user's own keyring, $HOME and network are never
# touched. Tokens and secrets go through files and stdin, never argv or the environment.
# MO_DEMO_TRACE=1 traces every command (set -x).
#
# Usage: tools/demo.sh            (after tools/dev build; or simply: tools/dev demo)
# MAILOAUTH=/path/to/mailoauth tools/demo.sh runs another binary.

set -euo pipefail
[[ -n "${MO_DEMO_TRACE:-}" ]] && set -x

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAILOAUTH="${MAILOAUTH:-$ROOT/build/src/cli/mailoauth}"
KEYRING_SESSION="$ROOT/tests/lib/keyring-session.sh"
TOKEN_SERVER="$ROOT/tests/lib/token-server.py"
PROVIDER_DIR="$ROOT/tests/provider"
SASL_DIR="$ROOT/build/src/sasl"

ACCOUNT="me@example.com"
SSO_ACCOUNT="me@example.org"
SSO_LIFETIME=606 # the provider's access tokens are fresh for only a few seconds past the margin
APP="demo"
CLIENT_ID="demo-client"
MARGIN=600         # mailoauth's default refresh margin, in seconds
FIRST_LIFETIME=-60 # the imported access token expired a minute ago

# Explanations in bold on a terminal, plain in a log.
if [[ -t 1 ]]; then
	BOLD=$'\033[1m' PLAIN=$'\033[0m'
else
	BOLD='' PLAIN=''
fi

say() {
	printf '\n%s# %s%s\n' "$BOLD" "$*" "$PLAIN"
}

show() {
	printf '$ %s\n' "$*"
}

die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

# The token server's request count, from GET /stats.
server_requests() {
	"$PYTHON" - "$PORT" <<'PY'
import json
import sys
import urllib.request

url = "http://127.0.0.1:%s/stats" % sys.argv[1]
with urllib.request.urlopen(url, timeout=5) as answer:
    print(json.load(answer)["token_requests"])
PY
}

expect_requests() {
	local n
	n="$(server_requests)"
	printf '(token server: %s token request(s) so far)\n' "$n"
	[[ "$n" == "$1" ]] || die "expected $1 token request(s), the server got $n"
}

# A random value that never appears on a command line.
random_secret() {
	"$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))'
}

start_token_server() {
	local _
	random_secret >"$WORK/client-secret"
	random_secret >"$WORK/server-refresh-token"
	"$PYTHON" "$TOKEN_SERVER" \
		--port-file "$WORK/port" \
		--pid-file "$WORK/server.pid" \
		--client-id "$CLIENT_ID" \
		--client-secret-file "$WORK/client-secret" \
		--refresh-token-file "$WORK/server-refresh-token" \
		--log-file "$WORK/server.log" &
	SERVER_PID=$!
	for _ in $(seq 100); do
		[[ -s "$WORK/port" ]] && break
		kill -0 "$SERVER_PID" 2>/dev/null || die "the token server did not start"
		sleep 0.1
	done
	[[ -s "$WORK/port" ]] || die "the token server did not write its port"
	PORT="$(cat "$WORK/port")"
	ENDPOINT="http://127.0.0.1:$PORT/token"
}

# The file sasl-xoauth2-tool leaves behind, as the seed guide's users have it in ~/.tokens/.
write_token_file() {
	local refresh_token
	refresh_token="$(cat "$WORK/server-refresh-token")"
	EXPIRY=$(($(date +%s) + FIRST_LIFETIME))
	SEEDED_TOKEN="demo-access-token-from-file"
	TOKEN_FILE="$HOME/.tokens/$ACCOUNT"
	mkdir -m 0700 "$HOME/.tokens"
	(
		umask 077
		printf '{\n  "access_token": "%s",\n  "refresh_token": "%s",\n  "expiry": "%s",\n  "user": "%s"\n}\n' \
			"$SEEDED_TOKEN" "$refresh_token" "$EXPIRY" "$ACCOUNT" >"$TOKEN_FILE"
	)
}

# --- act 1: a real OpenID provider -------------------------------------------------------

provider_stat() {
	"$PYTHON" - "$ISSUER" "$1" <<'PY'
import json
import sys
import urllib.request

with urllib.request.urlopen(sys.argv[1] + "/test/stats", timeout=5) as answer:
    print(json.load(answer)[sys.argv[2]])
PY
}

expect_provider_requests() {
	local n
	n="$(provider_stat token_requests)"
	printf '(provider: %s token request(s) so far)\n' "$n"
	[[ "$n" == "$1" ]] || die "expected $1 token request(s) at the provider, it got $n"
}

start_provider() {
	local _
	node "$PROVIDER_DIR/server.mjs" --quiet \
		--clients-file "$WORK/provider-clients.json" \
		--info-file "$WORK/provider.json" \
		--pid-file "$WORK/provider.pid" \
		--account "$SSO_ACCOUNT" \
		--access-token-ttl "$SSO_LIFETIME" \
		--device-interval 1 2>"$WORK/provider.log" &
	PROVIDER_PID=$!
	for _ in $(seq 150); do
		[[ -s "$WORK/provider.json" ]] && break
		kill -0 "$PROVIDER_PID" 2>/dev/null || die "the provider did not start: $(cat "$WORK/provider.log")"
		sleep 0.1
	done
	[[ -s "$WORK/provider.json" ]] || die "the provider did not write its address"
	ISSUER="$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["issuer"])' "$WORK/provider.json")"
}

stop_servers() {
	local pid
	for pid in "${PROVIDER_PID:-}" "${SERVER_PID:-}"; do
		if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
			kill "$pid"
			wait "$pid" 2>/dev/null || true
		fi
	done
}

step_authorize() {
	local uri _
	start_provider
	say "A real OpenID provider (oidc-provider) listens on $ISSUER; the private keyring is unlocked."
	say "Sign in with the device flow, as for Microsoft 365. --issuer finds the endpoints."
	show "mailoauth authorize $SSO_ACCOUNT --issuer $ISSUER --client-id mailoauth-public --scope 'openid offline_access mail'"
	"$MAILOAUTH" authorize "$SSO_ACCOUNT" --issuer "$ISSUER" --client-id mailoauth-public \
		--scope "openid offline_access mail" 2>"$WORK/authorize.err" &
	AUTHORIZE_PID=$!
	for _ in $(seq 100); do
		grep -q 'user_code=' "$WORK/authorize.err" && break
		sleep 0.1
	done
	cat "$WORK/authorize.err"
	uri="$(grep -o 'http://127\.0\.0\.1:[0-9]*/device?user_code=[A-Z0-9-]*' "$WORK/authorize.err" | head -n 1)"
	[[ -n "$uri" ]] || die "mailoauth authorize printed no verification address"
	say "You would open that address on any device and approve; here a script plays the browser:"
	show "tests/provider/approve-device.sh $uri"
	sh "$PROVIDER_DIR/approve-device.sh" "$uri" >/dev/null || die "the approval failed"
	wait "$AUTHORIZE_PID" || die "mailoauth authorize failed: $(cat "$WORK/authorize.err")"
	tail -n +"$(($(wc -l <"$WORK/authorize.err") - 1))" "$WORK/authorize.err"
	SSO_EXPIRY=$(($(date +%s) + SSO_LIFETIME))
	expect_provider_requests 1
}

step_sso_token_cycle() {
	local first second wait_s
	say "mbsync's PassCmd: the token is fresh, so it comes from the keyring without a request."
	show "mailoauth token $SSO_ACCOUNT"
	first="$("$MAILOAUTH" token "$SSO_ACCOUNT")"
	printf '%s\n' "$first"
	expect_provider_requests 1
	wait_s=$((SSO_EXPIRY - MARGIN + 1 - $(date +%s)))
	if [[ $wait_s -gt 0 ]]; then
		say "Waiting $wait_s s until less than the $MARGIN s refresh margin remains..."
		sleep "$wait_s"
	fi
	say "Now it is stale: mailoauth refreshes it (one request; the provider rotates the refresh token)."
	show "mailoauth token $SSO_ACCOUNT"
	second="$("$MAILOAUTH" token "$SSO_ACCOUNT")"
	printf '%s\n' "$second"
	[[ -n "$second" && "$second" != "$first" ]] || die "expected a new token"
	expect_provider_requests 2
	say "Refresh again, forced: it works only because the rotated refresh token was stored."
	show "mailoauth refresh $SSO_ACCOUNT --force"
	"$MAILOAUTH" refresh "$SSO_ACCOUNT" --force
	expect_provider_requests 3
	show "mailoauth status $SSO_ACCOUNT"
	"$MAILOAUTH" status "$SSO_ACCOUNT"
}

# --- act 1b: a SASL login through the plugin ---------------------------------------------

# The test libraries run Dovecot and mbsync; they need TEST_DIR and the PID bookkeeping of
# tests/lib/common.sh, sourced for its functions only (no TAP output here). A subshell keeps
# their names (some are the demo's own) and stops Dovecot by its PID on the way out.
step_sasl_login() (
	local count
	trap 'dv_stop >/dev/null 2>&1' EXIT
	# shellcheck source=../tests/lib/common.sh
	. "$ROOT/tests/lib/common.sh"
	# shellcheck source=../tests/lib/dovecot.sh
	. "$ROOT/tests/lib/dovecot.sh"
	# shellcheck source=../tests/lib/mbsync.sh
	. "$ROOT/tests/lib/mbsync.sh"
	# its own directory: the test libraries' EXIT trap removes TEST_DIR
	TEST_DIR="$WORK/sasl"
	mkdir -m 0700 "$TEST_DIR"
	say "A private Dovecot IMAP server on 127.0.0.1 checks every token with the provider."
	dv_start "$ISSUER" "$WORK/provider-clients.json" >/dev/null 2>"$WORK/dovecot.err" ||
		die "Dovecot did not start: $(cat "$WORK/dovecot.err")"
	dv_put_message "$SSO_ACCOUNT" "Hello from the demo" >/dev/null
	say "mbsync logs in with XOAUTH2 through mailoauth's SASL plugin, which reads the keyring itself:"
	mb_config demo XOAUTH2 "$SSO_ACCOUNT" Pass "keyring:"
	sed -n '/^IMAPAccount/,/^SSLType/p' "$MB_CONF"
	show "SASL_PATH=build/src/sasl mbsync -a"
	mb_sync demo "$SASL_DIR" MAILOAUTH_CLI="$MAILOAUTH"
	grep -E '^(Logging in|Authenticating|Channel|Far:|Near:)' "$OUT" || true
	[ "$RC" -eq 0 ] || die "mbsync failed: $(cat "$ERR")"
	count=$(maildir_count "$(mb_inbox demo)")
	printf '(local INBOX: %s message(s): "%s")\n' "$count" "Hello from the demo"
	[ "$count" -eq 1 ] || die "expected the message in the local INBOX"
)

# --- act 3: postfix, through an exported token file --------------------------------------

# The same test libraries run a private postfix (its smtp client chrooted, as Debian ships
# it), Dovecot's submission service and an SMTP sink; mailoauth export writes the token file
# into postfix's chroot through its root helper (run directly: the demo runs as root).
step_postfix() (
	local uri nexthop _
	# (|| true: under set -e a stop that reports a killed child would fail the demo)
	# shellcheck source=../tests/lib/common.sh
	. "$ROOT/tests/lib/common.sh"
	# shellcheck source=../tests/lib/dovecot.sh
	. "$ROOT/tests/lib/dovecot.sh"
	# shellcheck source=../tests/lib/postfix.sh
	. "$ROOT/tests/lib/postfix.sh"
	TEST_DIR="$WORK/postfix"
	mkdir -m 0711 "$TEST_DIR"
	say "Postfix cannot reach the keyring: it needs a token file. A private postfix on 127.0.0.1"
	say "relays through Dovecot's submission service (XOAUTH2 checked at the provider)."
	sink_start "$TEST_DIR/sink" >/dev/null || die "the SMTP sink did not start"
	DV_SUBMISSION_RELAY_PORT=$SINK_PORT dv_start "$ISSUER" "$WORK/provider-clients.json" \
		>/dev/null 2>"$WORK/dovecot.err" || die "Dovecot did not start: $(cat "$WORK/dovecot.err")"
	nexthop="[127.0.0.1]:$DV_SUBMISSION_PORT"
	pf_start "$nexthop" "$SASL_DIR" >/dev/null 2>"$WORK/postfix.err" ||
		die "postfix did not start: $(cat "$WORK/postfix.err")"
	# after pf_start and dv_start, which set EXIT traps of their own for the tests; under
	# set -e a stop that reports a killed child must not fail the demo
	trap '{ pf_stop; dv_stop; sink_stop; mo_cleanup; } >/dev/null 2>&1 || true' EXIT
	(umask 022 && printf '[export]\ndirectory=/etc/sasl-tokens\npostfix-config=%s\n' \
		"$PF_CONF" >"$TEST_DIR/export.conf")
	export MAILOAUTH_EXPORT_CONF="$TEST_DIR/export.conf"
	export MAILOAUTH_EXPORT_HELPER="$ROOT/build/src/export-helper/mailoauth-export-helper"
	say "Export a grant of postfix's own (a second device sign-in; the keyring's token stays):"
	show "mailoauth export $SSO_ACCOUNT --relay $nexthop"
	"$MAILOAUTH" export "$SSO_ACCOUNT" --relay "$nexthop" >"$WORK/export.out" \
		2>"$WORK/export.err" &
	EXPORT_PID=$!
	for _ in $(seq 100); do
		grep -q 'user_code=' "$WORK/export.err" && break
		sleep 0.1
	done
	uri="$(grep -o 'http://127\.0\.0\.1:[0-9]*/device?user_code=[A-Z0-9-]*' "$WORK/export.err" | head -n 1)"
	[[ -n "$uri" ]] || die "mailoauth export printed no verification address: $(cat "$WORK/export.err")"
	sh "$PROVIDER_DIR/approve-device.sh" "$uri" >/dev/null || die "the approval failed"
	wait "$EXPORT_PID" || die "mailoauth export failed: $(cat "$WORK/export.err")"
	cat "$WORK/export.out"
	say "The file, as postfix's chrooted smtp client finds it:"
	ls -l "$PF_QUEUE/etc/sasl-tokens/"
	say "sasl_passwd as printed (this postfix needs no TLS on 127.0.0.1, so no --apply here):"
	pf_sasl_passwd "$nexthop" "$SSO_ACCOUNT" "/etc/sasl-tokens/$SSO_ACCOUNT" >/dev/null
	cat "$PF_CONF/sasl_passwd"
	show "sendmail rcpt@example.com < message"
	pf_send "hello through postfix" || die "sendmail failed"
	pf_wait_delivered "$PF_SUBJECT" 30 || die "the mail did not arrive; maillog: $(tail -n 5 "$PF_LOG")"
	grep -E 'status=sent' "$PF_LOG" | tail -n 1
	printf '(the sink received: "%s")\n' "$PF_SUBJECT"
	show "mailoauth export --list"
	"$MAILOAUTH" export --list
)

# --- act 2: moving from sasl-xoauth2 token files ------------------------------------------

step_setup() {
	say "Coming from sasl-xoauth2? Its token files move into the keyring."
	start_token_server
	say "A local OAuth2 token server listens on $ENDPOINT (it rotates refresh tokens)."
	expect_requests 0
}

step_app_add() {
	say "Register the OAuth client; the client secret is read from stdin, never from argv."
	show "mailoauth app add $APP --provider custom --client-id $CLIENT_ID --token-endpoint $ENDPOINT --secret < client-secret"
	"$MAILOAUTH" app add "$APP" --provider custom --client-id "$CLIENT_ID" \
		--token-endpoint "$ENDPOINT" --secret <"$WORK/client-secret"
	show "mailoauth app list"
	"$MAILOAUTH" app list
}

step_import() {
	write_token_file
	say "An existing sasl-xoauth2 token file (0600); its access token expired a minute ago:"
	show "stat -c '%A %U %s %n' ~/.tokens/$ACCOUNT"
	stat -c '%A %U %s %n' "$TOKEN_FILE" | sed "s|$HOME|~|"
	say "Its keys (token values hidden here, as everywhere in mailoauth's output):"
	sed -E 's/("(access|refresh)_token": *")[^"]*"/\1…"/' "$TOKEN_FILE"
	say "Import it into the keyring; the file has no client_id, so name the app."
	show "mailoauth import ~/.tokens/$ACCOUNT --app $APP"
	"$MAILOAUTH" import "$TOKEN_FILE" --app "$APP"
}

step_token_refreshed() {
	local token
	say "Its access token is stale: mailoauth refreshes it (one request) and prints the new one."
	show "mailoauth token $ACCOUNT"
	token="$("$MAILOAUTH" token "$ACCOUNT")"
	printf '%s\n' "$token"
	[[ -n "$token" && "$token" != "$SEEDED_TOKEN" ]] || die "expected a new token"
	expect_requests 1
}

step_status() {
	say "What is stored, and for how long the token stays fresh:"
	show "mailoauth status"
	"$MAILOAUTH" status
}

step_mbsync() {
	say "In ~/.mbsyncrc, mbsync asks mailoauth for a fresh token at every connection:"
	cat <<MBSYNC
IMAPStore work-remote
Host outlook.office365.com
User $ACCOUNT
PassCmd "mailoauth token $ACCOUNT"
AuthMechs XOAUTH2
SSLType IMAPS
MBSYNC
}

# Runs inside the private keyring session, which has its own fresh HOME and XDG_* directories
# under $MAILOAUTH_TEST_SESSION_DIR and removes them when it ends.
inside() {
	PYTHON="$1"
	[[ -n "${MAILOAUTH_TEST_SESSION_DIR:-}" ]] || die "--inside is for keyring-session.sh"
	WORK="$MAILOAUTH_TEST_SESSION_DIR/demo"
	mkdir -m 0700 "$WORK"
	trap stop_servers EXIT
	cd "$WORK"
	step_authorize
	step_sso_token_cycle
	step_sasl_login
	step_setup
	step_app_add
	step_import
	step_token_refreshed
	step_status
	step_mbsync
	step_postfix
	stop_servers
	say "Done: the provider and the token server are stopped; the private keyring goes away with its session."
}

outside() {
	local python
	[[ -x "$MAILOAUTH" ]] || die "no $MAILOAUTH: run tools/dev build first"
	[[ -x "$KEYRING_SESSION" ]] || die "no $KEYRING_SESSION"
	[[ -f "$TOKEN_SERVER" ]] || die "no $TOKEN_SERVER"
	[[ -d "$PROVIDER_DIR/node_modules" ]] || die "the test provider is not installed: run tools/dev deps"
	# Resolved before HOME changes: a pyenv shim would not find its root afterwards.
	python="$(command -v /usr/bin/python3 || command -v python3)" || die "python3 not found"
	say "Starting a private D-Bus session with its own gnome-keyring, in a fresh HOME."
	exec "$KEYRING_SESSION" "$ROOT/tools/demo.sh" --inside "$python"
}

if [[ "${1:-}" == "--inside" ]]; then
	shift
	inside "$@"
else
	outside
fi
