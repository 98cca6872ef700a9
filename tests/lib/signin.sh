# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Signing in against the test provider from a test: mailoauth in the
# background (authorize, export), waiting for what it prints, and approving
# the device code or logging in as a browser would.  Sourced after common.sh
# and provider.sh.

BG_PREFIX=()


# bg_start NAME ARGS...: mailoauth ARGS in the background (stdin from
# $MO_STDIN or /dev/null), after the command prefix BG_PREFIX (an array, e.g.
# to run it as another user); sets BG_PID, OUT and ERR.  bg_wait ends it.
bg_start() {
	BG_NAME=$1
	shift
	OUT="$TEST_DIR/$BG_NAME.out"
	ERR="$TEST_DIR/$BG_NAME.err"
	BG_START=${EPOCHREALTIME/./}
	"${BG_PREFIX[@]}" "$MAILOAUTH" "$@" <"${MO_STDIN:-/dev/null}" >"$OUT" 2>"$ERR" 7>&- &
	BG_PID=$!
	mo_track_pid "$BG_PID"
}

bg_running() {
	kill -0 "$BG_PID" 2>/dev/null
}

# bg_wait [MAX_S]: waits at most MAX_S (default $MO_CMD_TIMEOUT) seconds for
# the background mailoauth; sets RC (124 if it had to be killed) and ELAPSED_MS.
bg_wait() {
	local max=${1:-$MO_CMD_TIMEOUT} end
	end=$((${EPOCHREALTIME/./} + max * 1000000))
	while bg_running && ((${EPOCHREALTIME/./} < end)); do
		sleep 0.05
	done
	if bg_running; then
		diag "$BG_NAME: still running after ${max}s; killed"
		kill -KILL "$BG_PID" 2>/dev/null
		wait "$BG_PID" 2>/dev/null
		RC=124
	else
		wait "$BG_PID"
		RC=$?
	fi
	mo_untrack_pid "$BG_PID"
	ELAPSED_MS=$(((${EPOCHREALTIME/./} - BG_START) / 1000))
}

# wait_for_line FILE ERE [MAX_S]: until a line of FILE matches (MATCH holds
# BASH_REMATCH); gives up early when the background mailoauth is gone.
wait_for_line() {
	local file=$1 re=$2 max=${3:-15} end line alive
	end=$((${EPOCHREALTIME/./} + max * 1000000))
	while ((${EPOCHREALTIME/./} < end)); do
		alive=0
		bg_running && alive=1
		if [ -f "$file" ]; then
			while IFS= read -r line; do
				if [[ $line =~ $re ]]; then
					MATCH=("${BASH_REMATCH[@]}")
					return 0
				fi
			done <"$file"
		fi
		[ "$alive" = 1 ] || break
		sleep 0.05
	done
	diag "no line of $(basename "$file") matched /$re/ within ${max}s; it holds:"
	diag_file "$file"
	return 1
}

# wait_for_stat KEY MIN [MAX_S]: until the provider's counter KEY is at least MIN.
wait_for_stat() {
	local end
	end=$((${EPOCHREALTIME/./} + ${3:-20} * 1000000))
	while ((${EPOCHREALTIME/./} < end)); do
		[ "$(pv_stat "$1")" -ge "$2" ] && return 0
		bg_running || return 1
		sleep 0.1
	done
	return 1
}

DEVICE_RE='^  (http://127\.0\.0\.1:[0-9]+/device\?user_code=([B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4}))$'
AUTH_RE='^  (http://127\.0\.0\.1:[0-9]+/auth\?[^ ]+)$'
LISTENER_RE='come back to http://127\.0\.0\.1:([0-9]+)/ '

# wait_device_url: the complete verification URI from the background
# mailoauth's stderr into DEVICE_URL (user code in USER_CODE).
wait_device_url() {
	DEVICE_URL=
	USER_CODE=
	wait_for_line "$ERR" "$DEVICE_RE" || return 1
	DEVICE_URL=${MATCH[1]}
	USER_CODE=${MATCH[2]}
}

# wait_auth_url: the authorization URL from the background mailoauth's stderr into AUTH_URL.
wait_auth_url() {
	AUTH_URL=
	wait_for_line "$ERR" "$AUTH_RE" || return 1
	AUTH_URL=${MATCH[1]}
}

# approve NAME [--deny] URL: approve-device.sh; sets HELPER_RC.
approve() {
	local name=$1
	shift
	timeout -k 5 "$MO_CMD_TIMEOUT" sh "$PROVIDER_DIR/approve-device.sh" "$@" \
		>"$TEST_DIR/$name.approve.log" 2>&1
	HELPER_RC=$?
}

# browser NAME [--print-redirect] URL: browser-login.sh; stdout to NAME.redirect; sets HELPER_RC.
browser() {
	local name=$1
	shift
	(umask 077 && timeout -k 5 "$MO_CMD_TIMEOUT" sh "$PROVIDER_DIR/browser-login.sh" "$@" \
		>"$TEST_DIR/$name.redirect" 2>"$TEST_DIR/$name.browser.log")
	HELPER_RC=$?
}

# query_param URL NAME: one parameter of URL, still encoded.
query_param() {
	local re="[?&]$2=([^&#]*)"
	[[ $1 =~ $re ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

