#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# mbsync and postfix run many `mailoauth token` at once.  With an expired
# token, 20 of them started together must make exactly one refresh (the
# others wait on the per-account lock and re-read the keyring), and all must
# print the same new token.  With refresh-token rotation, a second refresh
# with the old token would fail: this is the test that proves the lock.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

ACCOUNT=busy@example.com
APP=busyapp
CLIENT_SECRET='b+u&s=y%'
INITIAL_RT=rt-busy-initial-d4d4
PROCS=20

write_secret_file "$TEST_DIR/client-secret" "$CLIENT_SECRET"
write_secret_file "$TEST_DIR/initial-rt" "$INITIAL_RT"
# The delay keeps the first refresh in flight while the others arrive.
start_token_server --refresh-token-file "$TEST_DIR/initial-rt" \
	--client-secret-file "$TEST_DIR/client-secret" --delay 300 ||
	bail_out "cannot start the token server"
setup_app "$APP" "$TEST_DIR/client-secret"

write_token_file "$TEST_DIR/expired.json" "user=$ACCOUNT" "access_token=at-busy-file-e5e5" \
	"refresh_token=$INITIAL_RT" "expiry=$(($(now) - 100))"
mo import import "$TEST_DIR/expired.json" --app "$APP"
assert_rc 0 "import of an expired token"

# run_together ROUND: starts $PROCS `mailoauth token` at once (they wait for a
# go file, so process start-up does not spread them out) and waits for all.
# Leaves exit statuses in $TEST_DIR/ROUND.rc.I, stdout in ROUND.out.I.
run_together() {
	local round=$1 i pids=() go="$TEST_DIR/$1.go" rc
	for ((i = 0; i < PROCS; i++)); do
		(
			while [ ! -e "$go" ]; do sleep 0.01; done
			# exec: the tracked PID is then timeout's, which passes a kill on.
			exec timeout -k 5 "$MO_CMD_TIMEOUT" "$MAILOAUTH" token "$ACCOUNT" \
				</dev/null >"$TEST_DIR/$round.out.$i" 2>"$TEST_DIR/$round.err.$i"
		) &
		pids+=($!)
		mo_track_pid "$!"
	done
	sleep 0.3
	: >"$go"
	for ((i = 0; i < PROCS; i++)); do
		wait "${pids[i]}"
		rc=$?
		echo "$rc" >"$TEST_DIR/$round.rc.$i"
		mo_untrack_pid "${pids[i]}"
	done
}

# check_round ROUND TOKEN: all exited 0 and printed exactly TOKEN.
check_round() {
	local round=$1 token=$2 i failed=0 wrong=0 out
	for ((i = 0; i < PROCS; i++)); do
		if [ "$(<"$TEST_DIR/$round.rc.$i")" != 0 ]; then
			failed=$((failed + 1))
			diag "process $i exited $(<"$TEST_DIR/$round.rc.$i"); stderr:"
			diag_file "$TEST_DIR/$round.err.$i" 5
		fi
		slurp out "$TEST_DIR/$round.out.$i"
		if [ "$out" != "$token"$'\n' ]; then
			wrong=$((wrong + 1))
		fi
	done
	assert_eq "$failed" 0 "$round: all $PROCS processes exit 0"
	assert_eq "$wrong" 0 "$round: all $PROCS processes print exactly $token"
}

START=${EPOCHREALTIME/./}
run_together expired
END=${EPOCHREALTIME/./}
check_round expired at-1
assert_eq "$(ts_requests)" 1 "expired: exactly one POST to the token endpoint"
keyring_account_json "$ACCOUNT" "$TEST_DIR/account.json"
assert_eq "$(json_get "$TEST_DIR/account.json" 'd["refresh_token"]')" rt-1 \
	"expired: the keyring holds the rotated refresh token rt-1"
assert_le $(((END - START) / 1000)) 30000 "expired: all done within 30 s ($(((END - START) / 1000)) ms)"

run_together fresh
check_round fresh at-1
assert_eq "$(ts_requests)" 1 "fresh: no further request"

stop_token_server
tap_done
