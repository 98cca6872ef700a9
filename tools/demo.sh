#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The token lifecycle, narrated: register an app, import a sasl-xoauth2 token file, hand out the
# cached token, refresh it when it gets close to expiry, force a refresh, and show the status.
# Everything runs against a private keyring and a token server on 127.0.0.1; the user's own
# keyring, $HOME and network are never touched. Tokens and secrets go through files and stdin,
# never argv or the environment.
#
# Usage: tools/demo.sh            (after tools/dev build; or simply: tools/dev demo)
# MAILOAUTH=/path/to/mailoauth tools/demo.sh runs another binary.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MAILOAUTH="${MAILOAUTH:-$ROOT/build/src/cli/mailoauth}"
KEYRING_SESSION="$ROOT/tests/lib/keyring-session.sh"
TOKEN_SERVER="$ROOT/tests/lib/token-server.py"

ACCOUNT="me@example.com"
APP="demo"
CLIENT_ID="demo-client"
MARGIN=600         # mailoauth's default refresh margin, in seconds
FIRST_LIFETIME=605 # the imported token is fresh for only a few more seconds

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

stop_token_server() {
	if [[ -n "${SERVER_PID:-}" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill "$SERVER_PID"
		wait "$SERVER_PID" 2>/dev/null || true
	fi
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

step_setup() {
	say "The private keyring is unlocked; HOME is now $HOME."
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
	say "An existing sasl-xoauth2 token file (0600), its token valid for $FIRST_LIFETIME more seconds:"
	show "stat -c '%A %U %s %n' ~/.tokens/$ACCOUNT"
	stat -c '%A %U %s %n' "$TOKEN_FILE" | sed "s|$HOME|~|"
	say "Its keys (token values hidden here, as everywhere in mailoauth's output):"
	sed -E 's/("(access|refresh)_token": *")[^"]*"/\1…"/' "$TOKEN_FILE"
	say "Import it into the keyring; the file has no client_id, so name the app."
	show "mailoauth import ~/.tokens/$ACCOUNT --app $APP"
	"$MAILOAUTH" import "$TOKEN_FILE" --app "$APP"
}

step_token_cached() {
	local token
	say "The token is still fresh (more than $MARGIN s left): mailoauth prints it without a request."
	show "mailoauth token $ACCOUNT"
	token="$("$MAILOAUTH" token "$ACCOUNT")"
	printf '%s\n' "$token"
	[[ "$token" == "$SEEDED_TOKEN" ]] || die "expected the imported token"
	expect_requests 0
}

step_token_refreshed() {
	local token wait_s
	wait_s=$((EXPIRY - MARGIN + 1 - $(date +%s)))
	if [[ $wait_s -gt 0 ]]; then
		say "Waiting $wait_s s until less than the $MARGIN s refresh margin remains..."
		sleep "$wait_s"
	fi
	say "Now the token is stale: mailoauth refreshes it (one request) and prints the new one."
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

step_refresh_force() {
	say "Refresh now even though the token is fresh; the token itself is not printed."
	show "mailoauth refresh $ACCOUNT --force"
	"$MAILOAUTH" refresh "$ACCOUNT" --force
	expect_requests 2
	say "The same status as JSON, for scripts:"
	show "mailoauth status --json"
	"$MAILOAUTH" status --json
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
	trap stop_token_server EXIT
	cd "$WORK"
	step_setup
	step_app_add
	step_import
	step_token_cached
	step_token_refreshed
	step_status
	step_refresh_force
	step_mbsync
	stop_token_server
	say "Done: the token server is stopped; the private keyring goes away with its session."
}

outside() {
	local python
	[[ -x "$MAILOAUTH" ]] || die "no $MAILOAUTH: run tools/dev build first"
	[[ -x "$KEYRING_SESSION" ]] || die "no $KEYRING_SESSION"
	[[ -f "$TOKEN_SERVER" ]] || die "no $TOKEN_SERVER"
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
