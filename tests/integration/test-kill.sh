#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# kill -9 at random points (issue 9): `mailoauth refresh --file F --force` (a token file)
# and `mailoauth token ACCOUNT` (the keyring; its token always stale), 300 runs in all, both
# targets at once, each against a provider of its own that rotates refresh tokens and
# revokes the whole grant when a replaced one is used again.  After each kill a plain
# `mailoauth refresh` follows: not forced, but the provider's tokens live 300 s, less than
# the 600 s refresh margin, so it always takes the lock, where the refresh journal is
# recovered and what a killed writer left is tidied.
#
# Where a kill can land, and what must follow.  The token server delays each answer
# (DELAY_MS), and records per request whether it committed (rotated the grant), whether it
# flushed the whole answer to the socket, and how the client's end then closed: after
# reading every byte (FIN), or with bytes unread or before the answer came (RST: a socket
# closed with unread data is reset; data sent to a closed one is answered with a reset).
#
#  1. Before the provider committed (no request yet, or killed before it was read whole):
#     the stored refresh token is still the valid one.  The next refresh must succeed.
#  2. The provider committed, the client never read the answer (killed while the provider
#     worked, or with the answer unread in its socket): the provider replaced the refresh
#     token and no copy of the new one exists on the client's side.  No client can help
#     that: the next refresh uses the replaced token, the provider revokes the grant, and
#     the user must be told to sign in again (exit 4 and the command, for `token`; exit 1
#     naming invalid_grant, for `refresh --file`).  Counted and reported apart.
#  3. The client read the answer: from then on it is mailoauth's to keep.  It is written
#     to the refresh journal (a temporary file, fsynced, renamed) before the store is
#     touched, and the next refresh stores a journal it finds (and takes back a token file's
#     complete temporary file).  So the next refresh must succeed and the stored refresh
#     token must be the one the provider holds valid: 0 refresh tokens lost.  Two parts:
#     - once the answer was written down whole (a journal, or a temporary file of the
#       journal or the token file that parses) nothing may be lost: asserted;
#     - between the client's last read() and the first write of it (parsing, opening the
#       file: about a millisecond here) a kill loses it too, and no outside observer can
#       tell that from a journal never written.  Reported as a TAP TODO when it happens.
#  4. The run finished before the kill: the next refresh must succeed.
#
# In every case, right after the kill the token file or keyring item must parse and hold
# both tokens (a torn write would not), every refresh journal left must parse, and after the
# next refresh no temporary file the killed run made may be left (beside the token file, in
# $XDG_RUNTIME_DIR/mailoauth), nor a journal once that refresh succeeded.  The kill points
# are random within three phases, a third of the runs each: after the start, before the
# request reaches the provider; while the provider answers (after it received the request,
# within DELAY_MS); after the provider flushed its answer (reading, journal, store, exit).
# The last two are timed from the provider's own events (GET /wait), so that a loaded
# machine does not move the kill points out of their phase.  The secret scan runs
# throughout.  TAP on stdout; the counts are TAP diagnostics.
# MO_KILL_RUNS (300) and MO_KILL_DELAY_MS (40) change the plan; MO_KILL_TRACE=FILE writes a
# line per run (phase, kill point, the provider's times, how it was classified).

# L_*, C_*, J_*: set by kv from the token server's answers
# shellcheck disable=SC2154
set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/secret-scan.sh
. "$MO_LIBDIR/secret-scan.sh"
mo_init "$@"
secret_scan_start

RUNS=${MO_KILL_RUNS:-300}
DELAY_MS=${MO_KILL_DELAY_MS:-40}
ACCOUNT=kill@example.com
APP=killapp
CLIENT_SECRET="kill-secret-$RANDOM$RANDOM-$$"
TOKENS=$TEST_DIR/tokens
FILE=$TOKENS/token.json
RUNTIME=$XDG_RUNTIME_DIR/mailoauth
START=$(now)
# a token file names its client itself; no /etc/sasl-xoauth2.conf of the machine applies
export MAILOAUTH_SASL_XOAUTH2_CONF=$TEST_DIR/no-sasl-xoauth2.conf

mkdir -m 0700 "$TOKENS"
secret_scan_add "$CLIENT_SECRET"
write_secret_file "$TEST_DIR/client-secret" "$CLIENT_SECRET"
# One provider per target, so that the grant of one is never the other's.
declare -A SERVER_URL SERVER_ENDPOINT SERVER_PORT
for target in file keyring; do
	write_secret_file "$TEST_DIR/initial-rt" "rt-kill-seed-$RANDOM$RANDOM"
	secret_scan_add "$(<"$TEST_DIR/initial-rt")"
	start_token_server --refresh-token-file "$TEST_DIR/initial-rt" \
		--client-secret-file "$TEST_DIR/client-secret" --expires-in 300 --delay "$DELAY_MS" \
		--revoke-on-reuse --track-delivery --token-style random --issued-file "$SCAN_ISSUED" ||
		bail_out "cannot start the token server"
	SERVER_URL[$target]=$TS_URL
	SERVER_ENDPOINT[$target]=$TS_ENDPOINT
	SERVER_PORT[$target]=$TS_PORT
done
setup_app "$APP" "$TEST_DIR/client-secret"
rm -f -- "$TEST_DIR/initial-rt"

# use_server TARGET: the ts_* helpers of common.sh talk to TARGET's provider.
use_server() {
	TS_URL=${SERVER_URL[$1]}
	TS_ENDPOINT=${SERVER_ENDPOINT[$1]}
	TS_PORT=${SERVER_PORT[$1]}
}
write_config keyring-timeout=10 http-timeout=10

# An in-process sleep with sub-millisecond resolution: read with a timeout from a FIFO
# nobody writes (a `sleep` process would add its own start-up to every kill point).
mkfifo "$TEST_DIR/never"
exec {NEVER_FD}<>"$TEST_DIR/never"
pause() {
	read -r -t "$1" -u "$NEVER_FD" _
	return 0
}

# ts_http METHOD PATH [BODY]: a request to the token server through bash's /dev/tcp (no
# process to start: 300 runs make ~2000 of them); the answer's body in HTTP_BODY.
ts_http() {
	local LC_ALL=C fd answer body=${3:-}
	HTTP_BODY=
	exec {fd}<>"/dev/tcp/127.0.0.1/$TS_PORT" || return 1
	printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s' \
		"$1" "$2" "${#body}" "$body" >&"$fd"
	IFS= read -r -d '' -t 30 -u "$fd" answer
	exec {fd}>&-
	[[ $answer == "HTTP/1."?" 200 "* ]] || return 1
	HTTP_BODY=${answer#*$'\r\n\r\n'}
}

# kv PREFIX: the KEY=VALUE lines of HTTP_BODY into variables PREFIX_KEY.
kv() {
	local k v
	while IFS='=' read -r k v; do
		[[ $k =~ ^[a-z_]+$ ]] && printf -v "${1}_$k" '%s' "$v"
	done <<<"$HTTP_BODY"
	return 0
}

# last: how the server's last /token request went, once nothing is in flight (L_*).
last() {
	L_settled=0
	ts_http GET /last && kv L
}

# check_doc TEXT PREFIX: a stored token (file, item or journal) as the server sees it,
# without printing it: PREFIX_parses, _has_tokens, _current, _revoked, _token_requests.
check_doc() {
	printf -v "${2}_parses" 0
	printf -v "${2}_has_tokens" 0
	printf -v "${2}_current" 0
	ts_http POST /check "$1" && kv "$2"
}

# check_store TARGET: the token file or keyring item (C_*).
check_store() {
	local doc=
	if [ "$1" = file ]; then
		slurp doc "$FILE"
	else
		doc=$(secret-tool lookup xdg:schema "$MO_ACCOUNT_SCHEMA" account "$ACCOUNT")
	fi
	check_doc "$doc" C
}

# ours TARGET: every journal and temporary file of TARGET's store, into the array OURS:
# beside the token file and in the runtime directory (file-HASH.journal) for the file; in
# the runtime directory (HASH.journal) for the keyring account.
ours() {
	local f
	OURS=()
	if [ "$1" = file ]; then
		for f in "$TOKENS"/.*.journal "$TOKENS"/.*.tmp "$RUNTIME"/file-*.journal \
			"$RUNTIME"/.file-*.tmp; do
			[ -e "$f" ] && OURS+=("$f")
		done
	else
		for f in "$RUNTIME"/*.journal "$RUNTIME"/.*.tmp "$RUNTIME"/*.tmp; do
			[[ ${f##*/} == file-* || ${f##*/} == .file-* ]] && continue
			[ -e "$f" ] && OURS+=("$f")
		done
	fi
}

# says_sign_in_again TARGET: the last run failed as a revoked grant must: exit 4 and the
# command to sign in again (`token`), or exit 1 naming invalid_grant (`refresh --file`).
says_sign_in_again() {
	local text
	slurp text "$ERR"
	if [ "$1" = file ]; then
		[ "$RC" -eq 1 ] && [[ $text == *invalid_grant* ]]
	else
		[ "$RC" -eq 4 ] && [[ $text == *"mailoauth authorize $ACCOUNT"* ]]
	fi
}

# reseed TARGET: a new grant (the old one was revoked), stored where TARGET keeps it.
SEEDS=0
reseed() {
	local rt="rt-kill-seed-$RANDOM$RANDOM-$SEEDS" expired=$((${EPOCHREALTIME%.*} - 100))
	SEEDS=$((SEEDS + 1))
	secret_scan_add "$rt"
	ts_http POST /control "{\"refresh_token\":\"$rt\"}" || diag "reseed: the server refused"
	if [ "$1" = file ]; then
		write_token_file "$FILE" "user=$ACCOUNT" "access_token=at-kill-expired" \
			"refresh_token=$rt" "expiry=$expired" "client_id=test-client" \
			"client_secret=$CLIENT_SECRET" "token_endpoint=$TS_ENDPOINT"
	else
		write_token_file "$TEST_DIR/seed.json" "user=$ACCOUNT" "access_token=at-kill-expired" \
			"refresh_token=$rt" "expiry=$expired"
		mo reseed import "$TEST_DIR/seed.json" --account "$ACCOUNT" --app "$APP"
		keep_log "$ERR"
		[ "$RC" -eq 0 ] || {
			diag "reseed: import failed"
			show_run
		}
		rm -f -- "$TEST_DIR/seed.json"
	fi
}

# spawn TARGET: starts the command under test in the background (PID in $KPID).
spawn() {
	if [ "$1" = file ]; then
		"$MAILOAUTH" refresh --file "$FILE" --force </dev/null >"$TEST_DIR/kill.file.out" \
			2>"$TEST_DIR/kill.file.err" &
	else
		"$MAILOAUTH" token "$ACCOUNT" </dev/null >"$TEST_DIR/kill-token.out" \
			2>"$TEST_DIR/kill.keyring.err" &
	fi
	KPID=$!
}
secret_scan_allow "$FILE" "$TOKENS/.*.journal" "$RUNTIME/*.journal" "$TEST_DIR/kill-token.out"

# keep_log FILE: appends FILE to the log the secret scan reads (outputs are overwritten).
keep_log() {
	local text
	slurp text "$1"
	printf '%s' "$text" >>"$TEST_DIR/all-runs.$target.log"
}

# follow TARGET: the next, plain refresh.
follow() {
	if [ "$1" = file ]; then
		mo follow-file refresh --file "$FILE"
	else
		mo follow-keyring refresh "$ACCOUNT"
	fi
	keep_log "$ERR"
}

# todo_unless_zero VALUE DESC REASON: ok when VALUE is 0, else a TAP TODO (a known gap,
# reported, not failing the run).
todo_unless_zero() {
	if [ "$1" = 0 ]; then
		ok "$2"
	else
		TAP_COUNT=$((TAP_COUNT + 1))
		echo "not ok $TAP_COUNT - $(tap_escape "$2") # TODO $3"
		diag "expected 0, got $1"
	fi
}

# ---------------------------------------------------------------------- kill points ----
# Three phases, a third of the runs each, every kill point random within its phase:
#  0 before the request: uniform in [0, S] after the start, S the time the request takes to
#    reach the provider (a running mean over the runs so far);
#  1 while the provider answers: uniform in [0, DELAY_MS] after the provider received it;
#  2 after the answer: uniform in [0, 3/4 P] after the provider flushed the answer, P the
#    time the rest of a run takes (reading, journal, store, exit; a running mean).
# Phases 1 and 2 wait for the event at the provider (GET /wait), so that a loaded machine
# does not shift the kill points out of their phase.

# kill_loop TARGET RUNS: the loop for one target, run in the background for each target at
# once; its counts go to $TEST_DIR/counts.TARGET, its diagnostics to stdout.
kill_loop() {
	local target=$1 runs=$2 run phase rc kind works f frac wait_us t0 t_kill t_end t_flushed after_flush
	local s_mean=100000 p_mean=20000
	local -A COUNT=() BEFORE=()
	local -a LEFT=()
	use_server "$target"
	for key in before unread reached finished lost lost_written corrupt journal_corrupt \
		temps unexpected revoked_ok revoked_quiet survived crashed aimed0 aimed1 aimed2; do
		COUNT[$key]=0
	done
	count() {
		COUNT[$1]=$((COUNT[$1] + 1))
	}
	reseed "$target"
	last
	local requests=$L_token_requests

	for ((run = 0; run < runs; run++)); do
		phase=$((run % 3))
		count "aimed$phase"
		BEFORE=()
		ours "$target"
		for f in "${OURS[@]}"; do
			BEFORE[$f]=1
		done

		t0=${EPOCHREALTIME/./}
		spawn "$target"
		case $phase in
		0) wait_us=$(((RANDOM * 32768 + RANDOM) % s_mean)) ;;
		1)
			ts_http GET "/wait?event=received&after=$L_last_id"
			wait_us=$(((RANDOM * 32768 + RANDOM) % (DELAY_MS * 1000)))
			;;
		*)
			ts_http GET "/wait?event=flushed&after=$L_last_id"
			wait_us=$(((RANDOM * 32768 + RANDOM) % (p_mean * 3 / 4 + 1)))
			;;
		esac
		printf -v frac '%06d' $((wait_us % 1000000))
		pause "$((wait_us / 1000000)).$frac"
		t_kill=${EPOCHREALTIME/./}
		kill -9 "$KPID" 2>/dev/null
		{ wait "$KPID"; } 2>/dev/null
		rc=$?
		t_end=${EPOCHREALTIME/./}
		keep_log "$TEST_DIR/kill.$target.err"

		# how far it got, as the provider saw it
		last
		[ "$L_settled" = 1 ] || diag "$target run $run: the token server did not settle"
		t_flushed=${L_last_t_flushed/./}
		if [ "$L_token_requests" != "$requests" ] && [ "${L_last_t_received:-0}" != 0.000000 ]; then
			s_mean=$(((s_mean * 3 + ${L_last_t_received/./} - t0) / 4))
		fi
		if [ "$rc" -ne 137 ]; then
			kind=finished
			[ "$L_last_t_flushed" != 0.000000 ] &&
				p_mean=$(((p_mean * 3 + t_end - ${L_last_t_flushed/./}) / 4))
			[ "$rc" -eq 0 ] || diag "$target run $run: finished before the kill with exit $rc"
		elif [ "$L_token_requests" = "$requests" ] || [ "$L_last_committed" != 1 ]; then
			kind=before
		elif [ "$L_last_gone_before_send" = 1 ] || [ "$L_last_flushed" != 1 ] ||
			[ "$L_last_peer" != fin ]; then
			kind=unread
		else
			kind=reached
		fi
		count "$kind"
		[ -n "${MO_KILL_TRACE:-}" ] &&
			echo "$target $run phase=$phase wait=$wait_us kill=$((t_kill - t0))" \
				"end=$((t_end - t0)) recv=$((${L_last_t_received/./} - t0))" \
				"flushed=$((t_flushed - t0)) rc=$rc kind=$kind peer=$L_last_peer" \
				"gone=$L_last_gone_before_send" >>"$MO_KILL_TRACE"

		# nothing torn: the store, the journals, the temporary files
		check_store "$target"
		if [ "$C_parses" != 1 ] || [ "$C_has_tokens" != 1 ]; then
			count corrupt
			diag "$target run $run ($kind): the stored token does not parse after the kill"
		fi
		LEFT=()
		WRITTEN=0
		ours "$target"
		for f in "${OURS[@]}"; do
			[ -n "${BEFORE[$f]:-}" ] && continue
			slurp doc "$f"
			check_doc "$doc" J
			# an empty journal is the kill between its creation and its one write: the
			# read-to-write window of check 3 (its loss is counted there), not torn data;
			# the reader takes it for no journal
			if [[ $f == *.journal ]] && [ -s "$f" ] &&
				{ [ "$J_parses" != 1 ] || [ "$J_has_tokens" != 1 ]; }; then
				count journal_corrupt
				diag "$target run $run ($kind): the refresh journal ${f##*/} does not parse"
			fi
			[ "$J_parses" = 1 ] && [ "$J_has_tokens" = 1 ] && WRITTEN=1
			LEFT+=("${f##*/}")
		done

		# the next refresh
		follow "$target"
		if [ "$RC" -gt 125 ]; then
			count crashed
			diag "$target run $run ($kind): the next refresh crashed (exit $RC) on what the kill" \
				"left: ${LEFT[*]:-nothing}"
			diag_file "$ERR" 3
		fi
		check_store "$target"
		requests=$C_token_requests
		last
		ours "$target"
		for f in "${OURS[@]}"; do
			if [[ $f == *.tmp ]] && [ -z "${BEFORE[$f]:-}" ]; then
				count temps
				diag "$target run $run ($kind): left after the next refresh: ${f##*/}"
			elif [[ $f == *.journal ]] && [ "$RC" -eq 0 ]; then
				count survived
			fi
		done
		works=0
		[ "$RC" -eq 0 ] && [ "$C_current" = 1 ] && works=1
		case $kind in
		unread)
			if [ "$works" = 1 ]; then
				diag "$target run $run: an answer counted as unread, yet the next refresh works"
			elif [ "$C_revoked" = 1 ] && says_sign_in_again "$target"; then
				count revoked_ok
			else
				count revoked_quiet
				diag "$target run $run: after an unread answer, the next refresh exits $RC:"
				diag_file "$ERR" 3
			fi
			;;
		reached)
			if [ "$works" != 1 ]; then
				count lost
				[ "$WRITTEN" = 1 ] && count lost_written
				after_flush=$((t_kill - t_flushed))
				diag "$target run $run: killed $((after_flush / 1000)).$((after_flush % 1000 / 100))" \
					"ms after the provider flushed its answer, which mailoauth read; the" \
					"next refresh exits $RC (current=$C_current revoked=$C_revoked); the kill" \
					"left: ${LEFT[*]:-nothing}$([ "$WRITTEN" = 1 ] && echo ', holding the answer')"
			fi
			;;
		*)
			if [ "$works" != 1 ]; then
				count unexpected
				diag "$target run $run ($kind): the grant was not rotated, yet the next" \
					"refresh exits $RC, current=$C_current:"
				diag_file "$ERR" 3
			fi
			;;
		esac
		if [ "$works" != 1 ]; then
			reseed "$target"
			last
			requests=$L_token_requests
		fi
		[ -n "${MO_KILL_TRACE:-}" ] &&
			echo "$target $run iteration=$(((${EPOCHREALTIME/./} - t0) / 1000)) ms" \
				"follow=$ELAPSED_MS works=$works" >>"$MO_KILL_TRACE"
	done
	declare -p COUNT >"$TEST_DIR/counts.$target"
}

# ------------------------------------------------------------------- the runs ----
declare -A LOOP_PID
LOOP_START=${EPOCHREALTIME/./}
for target in file keyring; do
	runs=$((RUNS / 2))
	[ "$target" = keyring ] || runs=$((RUNS - RUNS / 2))
	kill_loop "$target" "$runs" >"$TEST_DIR/loop.$target.tap" 2>"$TEST_DIR/loop.$target.stderr" &
	LOOP_PID[$target]=$!
	mo_track_pid "${LOOP_PID[$target]}"
done
for target in file keyring; do
	wait "${LOOP_PID[$target]}"
	mo_untrack_pid "${LOOP_PID[$target]}"
done
LOOP_MS=$(((${EPOCHREALTIME/./} - LOOP_START) / 1000))

# ------------------------------------------------------------------ the counts ----
declare -A TOTAL
for target in file keyring; do
	cat "$TEST_DIR/loop.$target.tap"
	unset COUNT
	declare -A COUNT=()
	# shellcheck disable=SC1090
	[ -s "$TEST_DIR/counts.$target" ] && . "$TEST_DIR/counts.$target"
	[ ${#COUNT[@]} -gt 0 ] || bail_out "the $target loop did not finish; its stderr:$(
		sed 's/^/ /' "$TEST_DIR/loop.$target.stderr" | tail -n 5)"
	for key in "${!COUNT[@]}"; do
		TOTAL[$key]=$((${TOTAL[$key]:-0} + COUNT[$key]))
	done
	diag "$target: ${COUNT[before]} killed before the provider committed," \
		"${COUNT[unread]} after it committed but before the answer was read," \
		"${COUNT[reached]} after the answer reached mailoauth," \
		"${COUNT[finished]} finished first; ${COUNT[lost]} refresh tokens lost"
done
sum() {
	echo "${TOTAL[$1]:-0}"
}
diag "$RUNS kill runs in $((LOOP_MS / 1000)) s (both targets at once), aimed $(sum aimed0)" \
	"before the request, $(sum aimed1) while the provider answers, $(sum aimed2) after the answer"
diag "refresh tokens lost once their answer reached the client: $(sum lost) of $(sum reached)" \
	"($(sum lost_written) of them although a journal or temporary file held the answer whole)"
diag "answers the provider committed that the client never read (a new sign-in; no client" \
	"can help it): $(sum unread)"

assert_eq "$(sum lost_written)" 0 \
	"0 refresh tokens lost once their answer reached mailoauth and was written down ($(sum reached) runs)"
todo_unless_zero "$(($(sum lost) - $(sum lost_written)))" \
	"0 refresh tokens lost between mailoauth's reading the answer and writing it down" \
	"the answer is parsed before its journal file is even opened"
assert_eq "$(sum unexpected)" 0 \
	"the next refresh succeeds whenever the provider had not committed (or the run finished)"
assert_eq "$(sum revoked_quiet)" 0 \
	"when the provider committed an answer the client never read, the next refresh says to sign in again"
assert_eq "$(sum crashed)" 0 "the next refresh never crashes on what a kill left"
assert_eq "$(sum corrupt)" 0 "0 corrupt token files or keyring items after a kill ($RUNS checked)"
assert_eq "$(sum journal_corrupt)" 0 "0 corrupt refresh journals after a kill"
assert_eq "$(sum temps)" 0 "0 temporary files left after the next refresh"
assert_eq "$(sum survived)" 0 "no refresh journal is left after a next refresh that succeeded"
desc="every phase was hit: before the provider committed ($(sum before)), committed but"
desc+=" unread ($(sum unread)), read by mailoauth ($(sum reached))"
check "$desc" test "$(sum before)" -gt 0 -a "$(sum unread)" -gt 0 -a "$(sum reached)" -gt 0
assert_eq "$(($(sum before) + $(sum unread) + $(sum reached) + $(sum finished)))" "$RUNS" \
	"every run is accounted for"

secret_scan_check "no token or secret in argv, environment, outputs, logs or temp files" \
	"$TOKENS" "$RUNTIME"
diag "all done in $(($(now) - START)) s"
tap_done
