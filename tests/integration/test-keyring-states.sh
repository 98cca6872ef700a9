#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# mailoauth when the keyring cannot serve it: no D-Bus session at all, a bus
# without a Secret Service, a locked collection.  Every case must end with
# exit 5 and a clear message, promptly -- never hang (mbsync would hang with
# it) and never claim the account does not exist.  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

ACCOUNT=locked@example.com
STALE=stale@example.com
APP=lockapp
INITIAL_RT=rt-lock-initial-a1a1
# No D-Bus failure needs more than this; a timeout would take keyring-timeout.
PROMPT_MS=5000
KEYRING_TIMEOUT=5

write_secret_file "$TEST_DIR/initial-rt" "$INITIAL_RT"
start_token_server --refresh-token-file "$TEST_DIR/initial-rt" || bail_out "cannot start the token server"

# --- set-up: an app without a client secret, a fresh and a stale account -------------
mo app-add app add "$APP" --provider custom --client-id test-client --token-endpoint "$TS_ENDPOINT"
assert_rc 0 "app add without --secret"
mo app-list app list
assert_matches "$OUT" "^${APP}[[:space:]]+custom[[:space:]]+test-client[[:space:]]+no[[:space:]]" \
	"app list shows SECRET=no for a public client"

write_token_file "$TEST_DIR/fresh.json" "user=$ACCOUNT" "access_token=at-lock-file-b2b2" \
	"refresh_token=$INITIAL_RT" "expiry=$(($(now) + 7200))"
mo import-fresh import "$TEST_DIR/fresh.json" --app "$APP"
assert_rc 0 "import of a fresh token"
write_token_file "$TEST_DIR/stale.json" "user=$STALE" "access_token=at-lock-stale-c3c3" \
	"refresh_token=$INITIAL_RT" "expiry=$(($(now) - 100))"
mo import-stale import "$TEST_DIR/stale.json" --app "$APP"
assert_rc 0 "import of a stale token"
mo token-unlocked token "$ACCOUNT"
assert_stdout_is at-lock-file-b2b2 "with the keyring unlocked, token works"

# clear_keyring_message DESC: stderr is a 'mailoauth:' line about the keyring.
clear_keyring_message() {
	assert_matches "$ERR" "$MO_MSG_RE" "$1: a 'mailoauth: ...' message" &&
		assert_matches_nocase "$ERR" '(keyring|secret service|d-bus|dbus|session bus)' \
			"$1: the message says the keyring is unavailable"
}

# assert_matches_nocase FILE ERE DESC
assert_matches_nocase() {
	local line
	while IFS= read -r line; do
		if [[ ${line,,} =~ $2 ]]; then
			ok "$3"
			return 0
		fi
	done <"$1"
	not_ok "$3"
	diag "no line matches /$2/ (ignoring case); stderr holds:"
	diag_file "$1"
	return 1
}

write_config "keyring-timeout=$KEYRING_TIMEOUT"

# --- no D-Bus session at all ----------------------------------------------------------
run_cmd nobus-bad-address env DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
	"$MAILOAUTH" token "$ACCOUNT"
assert_rc 5 "DBUS_SESSION_BUS_ADDRESS pointing nowhere: exit 5"
clear_keyring_message "bus address pointing nowhere"
assert_le "$ELAPSED_MS" "$PROMPT_MS" "bus address pointing nowhere: fails promptly (${ELAPSED_MS} ms)"
assert_empty "$OUT" "bus address pointing nowhere: nothing on stdout"

mkdir -m 0700 "$TEST_DIR/empty-runtime"
run_cmd nobus-unset env -u DBUS_SESSION_BUS_ADDRESS -u DISPLAY -u WAYLAND_DISPLAY \
	XDG_RUNTIME_DIR="$TEST_DIR/empty-runtime" "$MAILOAUTH" token "$ACCOUNT"
assert_rc 5 "no DBUS_SESSION_BUS_ADDRESS and no bus socket in XDG_RUNTIME_DIR: exit 5"
clear_keyring_message "no session bus"
assert_le "$ELAPSED_MS" "$PROMPT_MS" "no session bus: fails promptly (${ELAPSED_MS} ms)"

run_cmd nobus-stale env -u DBUS_SESSION_BUS_ADDRESS -u DISPLAY -u WAYLAND_DISPLAY \
	XDG_RUNTIME_DIR="$TEST_DIR/empty-runtime" "$MAILOAUTH" refresh "$STALE" --force
assert_rc 5 "no session bus: refresh exits 5"
assert_eq "$(ts_requests)" 0 "no session bus: no request to the token endpoint"

# --- a session bus without any Secret Service ------------------------------------------
# No <servicedir>: nothing can be D-Bus-activated, so org.freedesktop.secrets stays absent.
cat >"$TEST_DIR/bare-session.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$TEST_DIR</listen>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
run_cmd nosvc dbus-run-session --config-file="$TEST_DIR/bare-session.conf" -- \
	"$MAILOAUTH" token "$ACCOUNT"
assert_rc 5 "a session bus without a Secret Service: exit 5"
clear_keyring_message "no Secret Service"
assert_le "$ELAPSED_MS" $((KEYRING_TIMEOUT * 1000 + 3000)) \
	"no Secret Service: fails within keyring-timeout (${ELAPSED_MS} ms)"

# --- a locked login collection ------------------------------------------------------------
check "lock the login collection over D-Bus" lock_login_collection
check "the login collection reports Locked=true" login_collection_locked

mo locked-token token "$ACCOUNT"
assert_rc 5 "locked keyring: token exits 5"
ASSERT_NOCASE=1 assert_contains "$ERR" "locked" "locked keyring: the message says the keyring is locked"
assert_not_contains "$ERR" "no such" "locked keyring: the message does not claim the account is missing"
assert_empty "$OUT" "locked keyring: nothing on stdout"
assert_le "$ELAPSED_MS" $((KEYRING_TIMEOUT * 1000 + 3000)) \
	"locked keyring: token gives up within keyring-timeout=$KEYRING_TIMEOUT (${ELAPSED_MS} ms)"

mo locked-stale token "$STALE"
assert_rc 5 "locked keyring, stale token: exit 5"
mo locked-refresh refresh "$STALE" --force
assert_rc 5 "locked keyring: refresh --force exits 5"
assert_eq "$(ts_requests)" 0 "locked keyring: no request to the token endpoint (a rotated token would be lost)"

mo locked-status status
cat "$OUT" "$ERR" >"$TEST_DIR/locked-status.all"
ASSERT_NOCASE=1 assert_contains "$TEST_DIR/locked-status.all" "locked" "locked keyring: status reports it"
diag "status with a locked keyring exited $RC"

mo locked-status-json status --json
if is_json "$OUT"; then
	assert_eq "$(json_get "$OUT" 'd["keyring"]')" locked 'locked keyring: status --json has "keyring":"locked"'
else
	not_ok 'locked keyring: status --json has "keyring":"locked"'
	show_run
fi

mo locked-import import "$TEST_DIR/fresh.json" --app "$APP"
assert_rc 5 "locked keyring: import exits 5"
check "the collection is still locked afterwards" login_collection_locked

stop_token_server
tap_done
