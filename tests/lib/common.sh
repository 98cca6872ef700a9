# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Helpers for the integration tests; source it from a test script:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
#   mo_init "$@"          # re-execs inside keyring-session.sh, makes $TEST_DIR
#   ...
#   tap_done
#
# Run one test by hand (it sets up its own keyring session):
#   MAILOAUTH=build/src/cli/mailoauth bash tests/integration/test-lifecycle.sh
# MO_KEEP_TEST_DIR=1 keeps the captured outputs in /tmp/mailoauth-test.*.
#
# Rules these helpers keep: tokens and secrets are never put in argv or the
# environment of a child process (they go through 0600 files and stdin, and
# are compared with bash builtins), everything talks to 127.0.0.1 only, and
# every process a test starts is stopped by its PID from the EXIT trap.

MO_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly MO_LIBDIR
if [ -z "${MO_PYTHON:-}" ]; then
	MO_PYTHON=/usr/bin/python3
	[ -x "$MO_PYTHON" ] || MO_PYTHON=$(command -v python3)
fi
# How every error message starts (spec: "mailoauth: <what failed>").
# shellcheck disable=SC2034 # used by the test scripts
MO_MSG_RE='^mailoauth [a-z ]+: '
# Upper bound for one mailoauth run; a hang becomes a failed test, not a stuck suite.
MO_CMD_TIMEOUT=${MO_CMD_TIMEOUT:-30}

TAP_COUNT=0
TAP_FAILED=0
TAP_PLANNED=
MO_PIDS=()
TEST_DIR=
RC=
OUT=
ERR=
ELAPSED_MS=

# ---------------------------------------------------------------- TAP ----

tap_plan() {
	TAP_PLANNED=$1
	echo "1..$1"
}

# TAP reads "#" in a description as the start of a directive.
tap_escape() {
	local s=${1//\\/\\\\}
	printf '%s' "${s//#/\\#}"
}

ok() {
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok $TAP_COUNT - $(tap_escape "$1")"
}

not_ok() {
	TAP_COUNT=$((TAP_COUNT + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_COUNT - $(tap_escape "$1")"
}

diag() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}

# diag_file FILE [MAX_LINES]: show a captured output in the TAP stream.
diag_file() {
	local line n=0 max=${2:-20}
	[ -s "$1" ] || {
		echo "#   ($(basename "$1") is empty)"
		return
	}
	while IFS= read -r line && ((n++ < max)); do
		echo "#   | $line"
	done <"$1"
}

# check DESC CMD...: ok if CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then
		ok "$desc"
	else
		not_ok "$desc"
		return 1
	fi
}

skip() {
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok $TAP_COUNT - $(tap_escape "$1") # SKIP ${2:-}"
}

bail_out() {
	echo "Bail out! $*"
	exit 1
}

# tap_done: prints the plan and exits: 1 if a test failed, but 0 under
# MO_TAP_EXIT_ZERO=1 (meson sets it) so that meson reports the failed
# subtests as FAIL rather than the whole script as ERROR.
tap_done() {
	[ -n "$TAP_PLANNED" ] || echo "1..$TAP_COUNT"
	if [ -n "$TAP_PLANNED" ] && [ "$TAP_PLANNED" -ne "$TAP_COUNT" ]; then
		diag "planned $TAP_PLANNED tests but ran $TAP_COUNT"
		exit 1
	fi
	if [ "$TAP_FAILED" -ne 0 ]; then
		diag "$TAP_FAILED of $TAP_COUNT failed"
		[ -n "${MO_TAP_EXIT_ZERO:-}" ] || exit 1
	fi
	exit 0
}

# ------------------------------------------------------------- set-up ----

mo_cleanup() {
	local pid
	for pid in "${MO_PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	MO_PIDS=()
	if [ -n "$TEST_DIR" ] && [ -z "${MO_KEEP_TEST_DIR:-}" ]; then
		rm -rf -- "$TEST_DIR"
	fi
}

# mo_track_pid PID: stop PID from the EXIT trap if it still runs then.
mo_track_pid() {
	MO_PIDS+=("$1")
}

mo_untrack_pid() {
	local pid keep=()
	for pid in "${MO_PIDS[@]}"; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	MO_PIDS=("${keep[@]}")
}

# mo_init "$@": call first.  Re-runs the calling script inside a private
# keyring session unless it already is in one, finds the binary, makes
# $TEST_DIR and sets the cleanup traps.
mo_init() {
	if [ -z "${MAILOAUTH_TEST_KEYRING_SESSION:-}" ]; then
		# MO_KEYRING=kwallet|keepassxc where that keyring is not installed: a skip
		local reason
		reason=$(bash "$MO_LIBDIR/keyring-session.sh" --check)
		if [ $? -eq 77 ]; then
			echo "1..0 # SKIP $reason"
			exit 0
		fi
		exec bash "$MO_LIBDIR/keyring-session.sh" bash "$0" "$@"
	fi
	if [ -z "${MAILOAUTH:-}" ]; then
		MAILOAUTH="$MO_LIBDIR/../../build/src/cli/mailoauth"
	fi
	[ -x "$MAILOAUTH" ] || bail_out "mailoauth binary not found: $MAILOAUTH (set MAILOAUTH)"
	export G_TEST_SRCDIR=${G_TEST_SRCDIR:-$(cd "$MO_LIBDIR/../integration" && pwd)}
	command -v secret-tool >/dev/null || bail_out "secret-tool not found (libsecret-tools)"
	command -v curl >/dev/null || bail_out "curl not found"

	TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailoauth-test.XXXXXX") || bail_out "mktemp failed"
	chmod 0700 "$TEST_DIR"
	trap mo_cleanup EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$XDG_CONFIG_HOME/mailoauth"
}

now() {
	printf '%s\n' "${EPOCHREALTIME%.*}"
}

# ----------------------------------------------------- running commands ----

# run_cmd NAME CMD...: runs CMD (stdin from $MO_STDIN or /dev/null) with a
# timeout; sets RC, OUT and ERR (files $TEST_DIR/NAME.out/.err) and ELAPSED_MS.
run_cmd() {
	local name=$1 start end
	shift
	OUT="$TEST_DIR/$name.out"
	ERR="$TEST_DIR/$name.err"
	start=${EPOCHREALTIME/./}
	timeout -k 5 "$MO_CMD_TIMEOUT" "$@" <"${MO_STDIN:-/dev/null}" >"$OUT" 2>"$ERR"
	RC=$?
	end=${EPOCHREALTIME/./}
	ELAPSED_MS=$(((end - start) / 1000))
	if [ "$RC" -eq 124 ]; then
		diag "$name: killed after ${MO_CMD_TIMEOUT}s timeout"
	fi
	return 0
}

# mo NAME ARGS...: runs mailoauth ARGS; see run_cmd.
mo() {
	local name=$1
	shift
	run_cmd "$name" "$MAILOAUTH" "$@"
}

# mo_stdin NAME FILE ARGS...: the same with stdin from FILE.
mo_stdin() {
	local name=$1 file=$2
	shift 2
	MO_STDIN=$file run_cmd "$name" "$MAILOAUTH" "$@"
}

# ------------------------------------------------------------ assertions ----

# slurp VAR FILE: the whole of FILE into VAR, trailing newlines kept
# ($(<file) would drop them).
slurp() {
	IFS= read -r -d '' "$1" <"$2"
	return 0
}

show_run() {
	diag "exit status: $RC, ${ELAPSED_MS} ms"
	diag "stdout:"
	diag_file "$OUT"
	diag "stderr:"
	diag_file "$ERR"
}

# assert_rc EXPECTED DESC: the last run exited with EXPECTED.
assert_rc() {
	if [ "$RC" = "$1" ]; then
		ok "$2"
	else
		not_ok "$2"
		diag "expected exit status $1"
		show_run
		return 1
	fi
}

assert_rc_nonzero() {
	if [ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; then
		ok "$1"
	else
		not_ok "$1"
		diag "expected a failure exit status"
		show_run
		return 1
	fi
}

# assert_stdout_is TEXT DESC: stdout is exactly TEXT followed by one newline.
assert_stdout_is() {
	local actual
	slurp actual "$OUT"
	if [ "$actual" = "$1"$'\n' ]; then
		ok "$2"
	else
		not_ok "$2"
		diag "expected stdout: $(printf '%q' "$1"$'\n')"
		diag "actual stdout:   $(printf '%q' "$actual")"
		return 1
	fi
}

# assert_contains FILE NEEDLE DESC (case-insensitive with ASSERT_NOCASE=1)
assert_contains() {
	local hay needle=$2
	slurp hay "$1"
	if [ -n "${ASSERT_NOCASE:-}" ]; then
		hay=${hay,,}
		needle=${needle,,}
	fi
	if [[ $hay == *"$needle"* ]]; then
		ok "$3"
	else
		not_ok "$3"
		diag "$(basename "$1") does not contain the expected text; it holds:"
		diag_file "$1"
		return 1
	fi
}

# assert_not_contains FILE NEEDLE DESC: NEEDLE may be a secret, so it is
# never printed.
assert_not_contains() {
	local hay
	slurp hay "$1"
	if [[ $hay != *"$2"* ]]; then
		ok "$3"
	else
		not_ok "$3"
		diag "$(basename "$1") contains text it must not contain"
		return 1
	fi
}

# assert_matches FILE ERE DESC: some line of FILE matches the extended regex.
assert_matches() {
	local line
	while IFS= read -r line; do
		if [[ $line =~ $2 ]]; then
			ok "$3"
			return 0
		fi
	done <"$1"
	not_ok "$3"
	diag "no line of $(basename "$1") matches /$2/; it holds:"
	diag_file "$1"
	return 1
}

assert_empty() {
	if [ ! -s "$1" ]; then
		ok "$2"
	else
		not_ok "$2"
		diag "$(basename "$1") should be empty; it holds:"
		diag_file "$1"
		return 1
	fi
}

# assert_eq ACTUAL EXPECTED DESC (values are printed on failure: no secrets)
assert_eq() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "expected: $(printf '%q' "$2")"
		diag "actual:   $(printf '%q' "$1")"
		return 1
	fi
}

# assert_secret_eq ACTUAL EXPECTED DESC: like assert_eq, prints nothing secret.
assert_secret_eq() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "values differ (lengths ${#1} and ${#2}; not shown)"
		return 1
	fi
}

# assert_le ACTUAL MAX DESC (integers)
assert_le() {
	if [ "$1" -le "$2" ]; then
		ok "$3"
	else
		not_ok "$3"
		diag "expected at most $2, got $1"
		return 1
	fi
}

# ------------------------------------------------------------------ JSON ----

# json_get FILE PYEXPR: prints eval(PYEXPR) with d = the parsed file.
# Strings print bare, everything else as JSON (true, null, 3, {...}).
# Exit 1 if the file is not JSON or the expression fails.
json_get() {
	"$MO_PYTHON" - "$1" "$2" <<'EOF'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        d = json.load(f)
    v = eval(sys.argv[2], {"d": d})
except Exception as e:
    print("json_get: %s: %s" % (type(e).__name__, e), file=sys.stderr)
    sys.exit(1)
print(v if isinstance(v, str) else json.dumps(v))
EOF
}

# is_json FILE: true if FILE holds one JSON document.
is_json() {
	"$MO_PYTHON" -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$1" 2>/dev/null
}

# json_escape STRING: a JSON string literal (bash only, so secrets stay out of argv).
json_escape() {
	local s=$1
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	s=${s//$'\r'/\\r}
	printf '"%s"' "$s"
}

# ------------------------------------------------------ files and config ----

# write_secret_file PATH VALUE: VALUE plus a newline, mode 0600.
write_secret_file() {
	(umask 077 && printf '%s\n' "$2" >"$1")
}

# write_token_file PATH FIELD=STRING|FIELD:=RAWJSON ...: a sasl-xoauth2
# token file, mode 0600.  expiry=123 writes "123" (a string, as
# sasl-xoauth2 does); expiry:=123 writes a number.
write_token_file() {
	local path=$1 arg key sep="" json="{"
	shift
	for arg in "$@"; do
		if [[ $arg == *:=* && ${arg%%:=*} != *=* ]]; then
			key=${arg%%:=*}
			json+="$sep$(json_escape "$key"):${arg#*:=}"
		else
			key=${arg%%=*}
			json+="$sep$(json_escape "$key"):$(json_escape "${arg#*=}")"
		fi
		sep=","
	done
	json+="}"
	(umask 077 && printf '%s\n' "$json" >"$path")
}

# write_config KEY=VALUE ...: replaces the mailoauth config file.
write_config() {
	local conf="$XDG_CONFIG_HOME/mailoauth/mailoauth.conf" kv
	mkdir -p "$XDG_CONFIG_HOME/mailoauth"
	{
		echo "[mailoauth]"
		for kv in "$@"; do
			echo "$kv"
		done
	} >"$conf"
}

remove_config() {
	rm -f -- "$XDG_CONFIG_HOME/mailoauth/mailoauth.conf"
}

# --------------------------------------------------------- token server ----

# start_token_server ARGS...: starts tests/lib/token-server.py with ARGS
# (add --refresh-token-file, --client-secret-file, ...).  Sets TS_PID,
# TS_PORT, TS_URL and TS_ENDPOINT.  Stopped by the EXIT trap.
start_token_server() {
	local dir i
	dir=$(mktemp -d "$TEST_DIR/server.XXXXXX") || return 1
	"$MO_PYTHON" "$MO_LIBDIR/token-server.py" --port-file "$dir/port" \
		--pid-file "$dir/pid" --log-file "$dir/log" "$@" 2>"$dir/stderr" &
	TS_PID=$!
	mo_track_pid "$TS_PID"
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		kill -0 "$TS_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$dir/port" ]; then
		diag "token server did not start:"
		diag_file "$dir/stderr"
		return 1
	fi
	TS_PORT=$(<"$dir/port")
	TS_URL="http://127.0.0.1:$TS_PORT"
	TS_ENDPOINT="$TS_URL/token"
	# shellcheck disable=SC2034 # for tests that want the server log
	TS_DIR=$dir
}

stop_token_server() {
	[ -n "${TS_PID:-}" ] || return 0
	kill "$TS_PID" 2>/dev/null
	wait "$TS_PID" 2>/dev/null
	mo_untrack_pid "$TS_PID"
	TS_PID=
}

# ts_control JSON: POST /control.  JSON goes on curl's stdin (it may hold a token).
ts_control() {
	printf '%s' "$1" | curl -sS --noproxy '*' --max-time 10 --fail \
		-H 'Content-Type: application/json' --data-binary @- \
		-o "$TEST_DIR/control.json" "$TS_URL/control"
}

ts_mode() {
	ts_control "{\"mode\":\"$1\"}"
}

# ts_stats: GET /stats into $TEST_DIR/stats.json.
ts_stats() {
	curl -sS --noproxy '*' --max-time 10 --fail -o "$TEST_DIR/stats.json" "$TS_URL/stats"
}

# ts_stat PYEXPR: one value from /stats, e.g. ts_stat 'd["token_requests"]'.
ts_stat() {
	ts_stats && json_get "$TEST_DIR/stats.json" "$1"
}

ts_requests() {
	ts_stat 'd["token_requests"]'
}

ts_reset_stats() {
	ts_control '{"reset_stats":true}'
}

# --------------------------------------------------------------- keyring ----

readonly MO_ACCOUNT_SCHEMA=org.mailoauth.Account
readonly MO_APP_SCHEMA=org.mailoauth.App

# secret-tool, on KWallet: tried again, 3 times in all, when it fails.
# kwalletd5 fails about 1-2.5 % of Secret Service sessions (DESIGN §4) and
# secret-tool, unlike mailoauth, does not try again.  (A lookup that finds
# nothing fails alike, and is tried again too.)
if [ "${MAILOAUTH_TEST_KEYRING:-}" = kwallet ]; then
	secret-tool() {
		local input="" i rc
		[ "${1:-}" = store ] && { IFS= read -r -d '' input || true; }
		for ((i = 0; i < 3; i++)); do
			if [ "${1:-}" = store ]; then
				printf '%s' "$input" | command secret-tool "$@"
			else
				command secret-tool "$@"
			fi
			rc=$?
			[ "$rc" -eq 0 ] && return 0
		done
		return "$rc"
	}
fi

# keyring_account_json NAME FILE: the account item's secret into FILE.
keyring_account_json() {
	(umask 077 && secret-tool lookup xdg:schema "$MO_ACCOUNT_SCHEMA" account "$1" >"$2")
}

keyring_app_json() {
	(umask 077 && secret-tool lookup xdg:schema "$MO_APP_SCHEMA" app "$1" >"$2")
}

# keyring_search_account NAME FILE: secret-tool's full listing of the
# matching items (it prints attributes on stderr, so both go to FILE).
# KeePassXC adds attributes of its own to every item (its entry's fields,
# Uuid, Path): left out, so that FILE shows what mailoauth stored.
keyring_search_account() {
	local rc
	(umask 077 && secret-tool search --all xdg:schema "$MO_ACCOUNT_SCHEMA" account "$1" >"$2" 2>&1)
	rc=$?
	if [ "${MAILOAUTH_TEST_KEYRING:-}" = keepassxc ]; then
		sed -i -E '/^attribute\.(Title|UserName|URL|Notes|Uuid|Path|TOTP) = /d' "$2"
	fi
	return "$rc"
}

# The default collection of the keyring under test: gnome-keyring's `login`,
# KWallet's `kdewallet`, KeePassXC's database (see keyring-session.sh).
MO_COLLECTION=${MAILOAUTH_TEST_COLLECTION:-/org/freedesktop/secrets/collection/login}

# lock_login_collection: locks the default collection as a user's session would
# (KWallet closes the wallet, KeePassXC locks the database).
# (`secret-tool lock` of libsecret 0.20.5 crashes or hangs; see DESIGN §4.)
lock_login_collection() {
	local reply prompt i
	reply=$(gdbus call --session --timeout 10 --dest org.freedesktop.secrets \
		--object-path /org/freedesktop/secrets \
		--method org.freedesktop.Secret.Service.Lock \
		"['$MO_COLLECTION']" 2>&1) || {
		diag "Lock failed: $reply"
		return 1
	}
	# KeePassXC may answer with a prompt that does the locking
	prompt=$(grep -o "/org/freedesktop/secrets/prompt/[^']*" <<<"$reply")
	if [ -n "$prompt" ]; then
		reply=$(gdbus call --session --timeout 10 --dest org.freedesktop.secrets \
			--object-path "$prompt" --method org.freedesktop.Secret.Prompt.Prompt "" 2>&1) || {
			diag "Lock's prompt failed: $reply"
			return 1
		}
		for ((i = 0; i < 50; i++)); do
			login_collection_locked && return 0
			sleep 0.1
		done
		diag "Lock's prompt did not lock $MO_COLLECTION"
		return 1
	fi
	[[ $reply == *"$MO_COLLECTION"* ]] || {
		diag "Lock did not lock $MO_COLLECTION: $reply"
		return 1
	}
}

# login_collection_locked: true if the default collection reports Locked.
login_collection_locked() {
	local reply
	reply=$(gdbus call --session --timeout 10 --dest org.freedesktop.secrets \
		--object-path "$MO_COLLECTION" \
		--method org.freedesktop.DBus.Properties.Get \
		org.freedesktop.Secret.Collection Locked 2>&1) || return 2
	[ "$reply" = "(<true>,)" ]
}

# ------------------------------------------------------ common scenarios ----

# setup_app NAME SECRET_FILE: `mailoauth app add` for the running token
# server (provider custom), client secret on stdin.  Reports one TAP line.
setup_app() {
	mo_stdin "app-add-$1" "$2" app add "$1" --provider custom \
		--client-id "${TS_CLIENT_ID:-test-client}" --token-endpoint "$TS_ENDPOINT" --secret
	assert_rc 0 "app add $1 (custom, loopback token endpoint, secret on stdin)"
}
