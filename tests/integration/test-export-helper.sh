#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The privileged export helper (src/export-helper), run directly as root with
# the test-only MAILOAUTH_EXPORT_CONF: where it writes for a chrooted and an
# unchrooted postfix (scratch configurations asked through the real
# postconf), owners and modes, the atomic replace, the status file, remove,
# and every refusal with its exit code.  Everything it writes is under
# $TEST_DIR; nothing under /etc is touched.  No keyring, no network.
# Runs as root (as CI does); skipped otherwise.  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

HELPER=${MAILOAUTH_EXPORT_HELPER:-$MO_LIBDIR/../../build/src/export-helper/mailoauth-export-helper}
POSTCONF=/usr/sbin/postconf
ACCOUNT=me@example.com
NOBODY=65534
AT1=at-export-one-5b7c
RT1=rt-export-one-9e2a
AT2=at-export-two-c41d
RT2=rt-export-two-07f3
EXPIRY1=1900000000
EXPIRY2=1900003600
export LC_ALL=C

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

[ "$(id -u)" -eq 0 ] || skip_all "needs root: the helper refuses anyone else"
[ -x "$POSTCONF" ] || skip_all "postfix is not installed (no $POSTCONF)"
id postfix >/dev/null 2>&1 || skip_all "no postfix user"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not found"
[ -x "$HELPER" ] || bail_out "export helper not found: $HELPER (set MAILOAUTH_EXPORT_HELPER)"

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailoauth-test.XXXXXX") || bail_out "mktemp failed"
trap mo_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
# nobody must reach its copy of the helper; the tokens stay in 0700 and 0600 below
chmod 0755 "$TEST_DIR"

SPOOL=$TEST_DIR/spool
REAL=$SPOOL/etc/sasl-tokens
STATUS=$SPOOL/etc/sasl-tokens.status
PLAIN=$TEST_DIR/plain/sasl-tokens

# postfix_config DIR CHROOT [MAIL_OWNER]: a scratch postfix configuration,
# queue in $SPOOL, whose smtp client runs chrooted (y) or not (n).
postfix_config() {
	mkdir -p "$1"
	{
		echo "queue_directory = $SPOOL"
		echo "compatibility_level = 3.6"
		[ -z "${3:-}" ] || echo "mail_owner = $3"
	} >"$1/main.cf"
	echo "smtp      unix  -       -       $2       -       -       smtp" >"$1/master.cf"
	# postfix waits for a main.cf written this very second to settle
	touch -d '-1 minute' "$1/main.cf"
}

# export_conf FILE DIRECTORY POSTFIX_CONFIG [LINE]: root's, 0644.
export_conf() {
	{
		echo "[export]"
		echo "directory=$2"
		echo "postfix-config=$3"
		[ -z "${4:-}" ] || echo "$4"
	} >"$1"
	chmod 0644 "$1"
}

# helper NAME CONF ARGS...: the helper as root with MAILOAUTH_EXPORT_CONF=CONF,
# stdin from $MO_STDIN or /dev/null; sets RC, OUT, ERR (see run_cmd).
helper() {
	local name=$1 conf=$2
	shift 2
	run_cmd "$name" env MAILOAUTH_EXPORT_CONF="$conf" "$HELPER" "$@"
}

# helper_stdin NAME CONF FILE ARGS...: the same with stdin from FILE.
helper_stdin() {
	local name=$1 conf=$2 file=$3
	shift 3
	MO_STDIN=$file helper "$name" "$conf" "$@"
}

# json_lines FILE... -- EXPR...: one line per EXPR, evaluated with f[0], f[1]...
# the parsed FILEs; strings bare, anything else as JSON.  One python run for
# many checks: each run costs a few tenths of a second.  Lines may hold
# secrets: read them into variables, compare with assert_secret_eq.
json_lines() {
	"$MO_PYTHON" - "$@" <<'EOF'
import json, sys
args = sys.argv[1:]
sep = args.index("--")
f = []
for path in args[:sep]:
    with open(path, encoding="utf-8") as fp:
        f.append(json.load(fp))
for expr in args[sep + 1:]:
    v = eval(expr, {"f": f})
    print(v if isinstance(v, str) else json.dumps(v))
EOF
}

owner_mode() {
	stat -c '%U %a' "$1"
}

# listing DIR: the names in DIR, dot files too, sorted, on one line.
listing() {
	local names=() f
	shopt -s nullglob dotglob
	for f in "$1"/*; do
		names+=("${f##*/}")
	done
	shopt -u nullglob dotglob
	echo "${names[*]}"
}

# refused NAME CODE DESC ARGS...: the helper as root with $CONF exits CODE
# with one line on stderr starting with its name.
refused() {
	local name=$1 code=$2 desc=$3
	shift 3
	helper "$name" "$CONF" "$@"
	if [ "$RC" = "$code" ] && [[ $(<"$ERR") == mailoauth-export-helper:\ * ]]; then
		ok "$desc: exit $code"
	else
		not_ok "$desc: exit $code"
		diag "expected exit status $code and a message starting with mailoauth-export-helper:"
		show_run
	fi
}

# refused_write NAME CODE DESC FILE ACCOUNT: write ACCOUNT with FILE on
# stdin is refused with CODE; nothing appears at the target.
refused_write() {
	local name=$1 code=$2 desc=$3 file=$4 account=$5
	MO_STDIN=$file helper "$name" "$CONF" write "$account"
	assert_rc "$code" "$desc: exit $code"
}

postfix_config "$TEST_DIR/postfix-chroot" y
postfix_config "$TEST_DIR/postfix-plain" n
postfix_config "$TEST_DIR/postfix-no-owner" n mailoauth-no-such-user
CONF_CHROOT=$TEST_DIR/chroot.conf
CONF_PLAIN=$TEST_DIR/plain.conf
export_conf "$CONF_CHROOT" /etc/sasl-tokens "$TEST_DIR/postfix-chroot"
export_conf "$CONF_PLAIN" "$PLAIN" "$TEST_DIR/postfix-plain"
CONF=$CONF_CHROOT

write_token_file "$TEST_DIR/token1.json" "user=$ACCOUNT" "access_token=$AT1" \
	"refresh_token=$RT1" "expiry=$EXPIRY1" "client_id=test-client" \
	"token_endpoint=https://127.0.0.1/token" "x_custom=kept"
write_token_file "$TEST_DIR/token2.json" "user=$ACCOUNT" "access_token=$AT2" \
	"refresh_token=$RT2" "expiry:=$EXPIRY2"

# --- locate: where, without writing ------------------------------------------------
helper locate-chroot "$CONF_CHROOT" locate "$ACCOUNT"
assert_rc 0 "locate (chrooted smtp): exit 0"
assert_stdout_is "file=$REAL/$ACCOUNT"$'\n'"path=/etc/sasl-tokens/$ACCOUNT"$'\n'"chroot=yes" \
	"locate: the file inside the queue directory, postfix's path, chroot=yes"
check "locate writes nothing" test ! -e "$SPOOL"

helper locate-plain "$CONF_PLAIN" locate "$ACCOUNT"
assert_stdout_is "file=$PLAIN/$ACCOUNT"$'\n'"path=$PLAIN/$ACCOUNT"$'\n'"chroot=no" \
	"locate (smtp not chrooted): file and path are the same, chroot=no"

# --- write, chrooted ---------------------------------------------------------------
helper_stdin write-chroot "$CONF_CHROOT" "$TEST_DIR/token1.json" write "$ACCOUNT"
assert_rc 0 "write (chrooted smtp): exit 0"
assert_stdout_is "file=$REAL/$ACCOUNT"$'\n'"path=/etc/sasl-tokens/$ACCOUNT"$'\n'"chroot=yes" \
	"write prints file=, path= and chroot= lines"
assert_empty "$ERR" "write: nothing on stderr"
assert_eq "$(owner_mode "$REAL/$ACCOUNT")" "postfix 600" "the token file is postfix's, 0600"
assert_eq "$(stat -c %G "$REAL/$ACCOUNT")" "$(id -gn postfix)" "... in postfix's group"
assert_eq "$(owner_mode "$REAL")" "postfix 700" "the token directory is postfix's, 0700"
assert_eq "$(owner_mode "$SPOOL/etc") $(owner_mode "$SPOOL")" "root 755 root 755" \
	"missing parents are made root's, 0755"
ST=$STATUS/$ACCOUNT
mapfile -t FACTS < <(json_lines "$REAL/$ACCOUNT" "$ST" -- 'f[0]["refresh_token"]' \
	'f[0]["access_token"]' '[f[0]["expiry"], f[0]["user"], f[0]["x_custom"]]' \
	'[f[1]["version"], f[1]["account"], f[1]["path"], f[1]["expiry"], f[1]["needs_sign_in"], "last_error" in f[1]]' \
	'f[1]["last_refresh"]')
assert_secret_eq "${FACTS[0]-}" "$RT1" "the refresh token round-trips"
assert_secret_eq "${FACTS[1]-}" "$AT1" "the access token round-trips"
assert_eq "${FACTS[2]-}" "[\"$EXPIRY1\", \"$ACCOUNT\", \"kept\"]" \
	"expiry (a string, as sasl-xoauth2 has it), user and unknown keys kept"

# the status file: for anyone to read, no secret in it
assert_eq "$(owner_mode "$STATUS") $(owner_mode "$ST")" "postfix 755 postfix 644" \
	"status directory postfix's 0755, status file 0644"
assert_not_contains "$ST" "$RT1" "the status file holds no refresh token"
assert_not_contains "$ST" "$AT1" "the status file holds no access token"
assert_eq "${FACTS[3]-}" "[1, \"$ACCOUNT\", \"/etc/sasl-tokens/$ACCOUNT\", $EXPIRY1, false, false]" \
	"status: version, account, postfix's path, expiry, no sign-in needed, no error"
assert_le $(($(now) - ${FACTS[4]:-0})) 60 "status: last_refresh is now"

# --- a second write replaces the file atomically --------------------------------------
INODE1=$(stat -c %i "$REAL/$ACCOUNT")
helper_stdin write-again "$CONF_CHROOT" "$TEST_DIR/token2.json" write "$ACCOUNT"
assert_rc 0 "a second write: exit 0"
mapfile -t FACTS < <(json_lines "$REAL/$ACCOUNT" "$ST" -- 'f[0]["refresh_token"]' 'f[1]["expiry"]')
assert_secret_eq "${FACTS[0]-}" "$RT2" "the second write's refresh token is in the file"
check "the file was replaced, not rewritten in place (new inode)" \
	test "$(stat -c %i "$REAL/$ACCOUNT")" != "$INODE1"
assert_eq "$(listing "$REAL")" ".$ACCOUNT.lock $ACCOUNT" \
	"no temporary file is left; the lock file stays"
assert_eq "$(owner_mode "$REAL/.$ACCOUNT.lock")" "postfix 600" "the lock file is postfix's"
assert_eq "${FACTS[1]-}" "$EXPIRY2" "the status follows the new expiry"
assert_eq "$(listing "$STATUS")" "$ACCOUNT" "no temporary file is left beside the status"

chmod 0750 "$REAL"
helper_stdin write-tighten "$CONF_CHROOT" "$TEST_DIR/token1.json" write "$ACCOUNT"
assert_eq "$RC $(owner_mode "$REAL")" "0 postfix 700" \
	"a token directory readable by its group is tightened to 0700"

# --- write, not chrooted -------------------------------------------------------------
helper_stdin write-plain "$CONF_PLAIN" "$TEST_DIR/token1.json" write "$ACCOUNT"
assert_rc 0 "write (smtp not chrooted): exit 0"
assert_stdout_is "file=$PLAIN/$ACCOUNT"$'\n'"path=$PLAIN/$ACCOUNT"$'\n'"chroot=no" \
	"write (not chrooted) prints the directory itself and chroot=no"
assert_eq "$(owner_mode "$PLAIN/$ACCOUNT") $(owner_mode "$PLAIN")" "postfix 600 postfix 700" \
	"not chrooted: file 0600 and directory 0700, postfix's"
mapfile -t FACTS < <(json_lines "$PLAIN/$ACCOUNT" "$PLAIN.status/$ACCOUNT" -- \
	'f[0]["refresh_token"]' 'f[1]["path"]')
assert_secret_eq "${FACTS[0]-}" "$RT1" "not chrooted: the refresh token round-trips"
assert_eq "${FACTS[1]-}" "$PLAIN/$ACCOUNT" "not chrooted: the status names the file"

# --- not root: exit 4 ----------------------------------------------------------------
mkdir -m 0755 "$TEST_DIR/bin"
cp "$HELPER" "$TEST_DIR/bin/mailoauth-export-helper"
chmod 0755 "$TEST_DIR/bin/mailoauth-export-helper"
run_cmd as-nobody setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups \
	"$TEST_DIR/bin/mailoauth-export-helper" locate "$ACCOUNT"
assert_rc 4 "run as nobody: exit 4"
assert_matches "$ERR" '^mailoauth-export-helper: ' "as nobody: the message starts with the helper's name"
MO_STDIN=$TEST_DIR/token1.json run_cmd as-nobody-write setpriv --reuid=$NOBODY \
	--regid=$NOBODY --clear-groups env MAILOAUTH_EXPORT_CONF="$CONF_CHROOT" \
	"$TEST_DIR/bin/mailoauth-export-helper" write nobody@example.com
assert_eq "$RC $(test -e "$REAL/nobody@example.com" && echo written)" "4 " \
	"write as nobody: exit 4, nothing written"
run_cmd real-uid-nobody setpriv --ruid=$NOBODY "$TEST_DIR/bin/mailoauth-export-helper" \
	locate "$ACCOUNT"
assert_rc 4 "effective uid root but real uid nobody (setuid-like): exit 4"

# --- usage: exit 2 -------------------------------------------------------------------
helper no-args "$CONF"
assert_rc 2 "no arguments: exit 2"
helper one-arg "$CONF" write
assert_rc 2 "write without an account: exit 2"
helper three-args "$CONF" write "$ACCOUNT" extra
assert_rc 2 "one argument too many: exit 2"
helper unknown-verb "$CONF" frobnicate "$ACCOUNT"
assert_rc 2 "an unknown command: exit 2"
LONG_NAME=$(printf 'a%.0s' {1..200})
for name in '../x' 'a/b' '.x' '-x' '' 'ü@example.com' "$LONG_NAME" 'a..b' 'a b' '/etc/passwd'; do
	refused "bad-name" 2 "account name $(printf '%q' "${name:0:20}")" locate "$name"
done
refused_write bad-name-write 2 "write ../x" "$TEST_DIR/token1.json" '../x'
check "a refused name writes nothing" test ! -e "$SPOOL/etc/x"

# --- invalid token on stdin: exit 3 --------------------------------------------------
BAD=bad@example.com
printf 'not json' >"$TEST_DIR/t-notjson"
printf '{"access_token":"at-x"}' >"$TEST_DIR/t-nort"
printf '{"refresh_token":""}' >"$TEST_DIR/t-emptyrt"
printf '[{"refresh_token":"rt"}]' >"$TEST_DIR/t-array"
printf '{"access_token":"at","refresh_token":"rt-ctl-secret\\u0007x"}' >"$TEST_DIR/t-ctl"
printf '{"refresh_token":"rt-del-secret\x7fx"}' >"$TEST_DIR/t-del"
printf '{"access_token":"at-nonascii-secret-\xc3\xa9","refresh_token":"rt"}' >"$TEST_DIR/t-utf8"
printf '{"refresh_token":"rt-nul\\u0000x"}' >"$TEST_DIR/t-nul"
: >"$TEST_DIR/t-empty"
refused_write t-notjson 3 "stdin not JSON" "$TEST_DIR/t-notjson" "$BAD"
refused_write t-nort 3 "no refresh_token" "$TEST_DIR/t-nort" "$BAD"
refused_write t-emptyrt 3 "an empty refresh_token" "$TEST_DIR/t-emptyrt" "$BAD"
refused_write t-array 3 "not a JSON object" "$TEST_DIR/t-array" "$BAD"
refused_write t-ctl 3 "a control character in the refresh token" "$TEST_DIR/t-ctl" "$BAD"
assert_not_contains "$ERR" "rt-ctl-secret" "the refused token is not in the message"
refused_write t-del 3 "DEL in the refresh token" "$TEST_DIR/t-del" "$BAD"
refused_write t-utf8 3 "non-ASCII in the access token" "$TEST_DIR/t-utf8" "$BAD"
assert_not_contains "$ERR" "at-nonascii-secret" "the refused access token is not in the message"
refused_write t-nul 3 "NUL in the refresh token" "$TEST_DIR/t-nul" "$BAD"
refused_write t-empty 3 "empty stdin" "$TEST_DIR/t-empty" "$BAD"

# exactly 64 KiB is accepted, one byte more is not
PREFIX='{"refresh_token":"rt-big","pad":"'
SUFFIX='"}'
PAD=$(head -c $((65536 - ${#PREFIX} - ${#SUFFIX})) /dev/zero | tr '\0' x)
printf '%s%s%s' "$PREFIX" "$PAD" "$SUFFIX" >"$TEST_DIR/t-64k"
printf '%s%sx%s' "$PREFIX" "$PAD" "$SUFFIX" >"$TEST_DIR/t-64k1"
assert_eq "$(stat -c %s "$TEST_DIR/t-64k") $(stat -c %s "$TEST_DIR/t-64k1")" "65536 65537" \
	"(the size-limit inputs are 65536 and 65537 bytes)"
refused_write t-64k1 3 "64 KiB + 1 byte on stdin" "$TEST_DIR/t-64k1" "$BAD"
check "no token file after the refusals" test ! -e "$REAL/$BAD"
helper_stdin t-64k "$CONF" "$TEST_DIR/t-64k" write big@example.com
assert_rc 0 "exactly 64 KiB on stdin: accepted"

# --- unsafe targets: exit 5 -----------------------------------------------------------
echo victim >"$TEST_DIR/victim"
ln -s "$TEST_DIR/victim" "$REAL/sym@example.com"
refused_write unsafe-symlink 5 "a symlink at the target" "$TEST_DIR/token1.json" sym@example.com
assert_eq "$(<"$TEST_DIR/victim") $(stat -c %F "$REAL/sym@example.com")" "victim symbolic link" \
	"the symlink and what it points to are untouched"
touch "$REAL/other@example.com"
chown $NOBODY:$NOBODY "$REAL/other@example.com"
refused_write unsafe-owner 5 "a target owned by another user" "$TEST_DIR/token1.json" other@example.com
assert_contains "$ERR" "expected postfix" "... the message says whose it should be"
echo old >"$REAL/hard@example.com"
chown postfix:postfix "$REAL/hard@example.com"
ln "$REAL/hard@example.com" "$TEST_DIR/hard-link"
refused_write unsafe-hardlink 5 "a hard-linked target" "$TEST_DIR/token1.json" hard@example.com
assert_eq "$(<"$TEST_DIR/hard-link")" "old" "the hard link's content is untouched"
mkdir "$REAL/dir@example.com"
refused_write unsafe-dir 5 "a directory at the target" "$TEST_DIR/token1.json" dir@example.com
ln -s "$TEST_DIR/victim" "$REAL/.lock@example.com.lock"
refused_write unsafe-lock 5 "a symlink at the lock file" "$TEST_DIR/token1.json" lock@example.com
chmod 0770 "$REAL"
refused_write unsafe-dir-group 5 "a group-writable token directory" "$TEST_DIR/token1.json" "$ACCOUNT"
chmod 0700 "$REAL"
chmod 0775 "$STATUS"
refused_write unsafe-status-group 5 "a group-writable status directory" "$TEST_DIR/token1.json" "$ACCOUNT"
chmod 0755 "$STATUS"
chown $NOBODY "$REAL"
refused_write unsafe-dir-owner 5 "a token directory owned by another user" "$TEST_DIR/token1.json" "$ACCOUNT"
assert_contains "$ERR" "owned by nobody, expected postfix" "... the message names both users"
chown postfix "$REAL"
chown $NOBODY "$SPOOL/etc"
refused_write unsafe-parent-owner 5 "a parent directory owned by another user" "$TEST_DIR/token1.json" "$ACCOUNT"
assert_contains "$ERR" "expected root" "... the message says it should be root's"
chown root "$SPOOL/etc"
chmod 0775 "$SPOOL"
refused_write unsafe-parent-group 5 "a group-writable parent directory" "$TEST_DIR/token1.json" "$ACCOUNT"
chmod 0755 "$SPOOL"
ln -s "$TEST_DIR/plain" "$TEST_DIR/plain-link"
export_conf "$TEST_DIR/link-parent.conf" "$TEST_DIR/plain-link/sasl-tokens" "$TEST_DIR/postfix-plain"
MO_STDIN=$TEST_DIR/token1.json helper unsafe-parent-link "$TEST_DIR/link-parent.conf" write "$ACCOUNT"
assert_rc 5 "a symlink among the parents: exit 5"
ln -s "$PLAIN" "$TEST_DIR/plain/tokens-link"
export_conf "$TEST_DIR/link-dir.conf" "$TEST_DIR/plain/tokens-link" "$TEST_DIR/postfix-plain"
MO_STDIN=$TEST_DIR/token1.json helper unsafe-dir-link "$TEST_DIR/link-dir.conf" write "$ACCOUNT"
assert_rc 5 "a symlink as the token directory: exit 5"
helper_stdin after-unsafe "$CONF_CHROOT" "$TEST_DIR/token2.json" write "$ACCOUNT"
assert_rc 0 "with the directories put right, write works again"

# --- configuration problems: exit 6 ---------------------------------------------------
cp "$CONF_CHROOT" "$TEST_DIR/loose.conf"
chmod 0664 "$TEST_DIR/loose.conf"
helper conf-loose "$TEST_DIR/loose.conf" locate "$ACCOUNT"
assert_rc 6 "a group-writable configuration file: exit 6"
assert_contains "$ERR" "$TEST_DIR/loose.conf" "... the message names the file"
cp "$CONF_CHROOT" "$TEST_DIR/nobodys.conf"
chown $NOBODY "$TEST_DIR/nobodys.conf"
helper conf-owner "$TEST_DIR/nobodys.conf" locate "$ACCOUNT"
assert_rc 6 "a configuration file not owned by root: exit 6"
export_conf "$TEST_DIR/unknown.conf" /etc/sasl-tokens "$TEST_DIR/postfix-chroot" "colour=blue"
helper conf-unknown "$TEST_DIR/unknown.conf" locate "$ACCOUNT"
assert_rc 6 "an unknown key in the configuration: exit 6"
export_conf "$TEST_DIR/relative.conf" sasl-tokens "$TEST_DIR/postfix-chroot"
helper conf-relative "$TEST_DIR/relative.conf" locate "$ACCOUNT"
assert_rc 6 "a relative directory: exit 6"
# (postconf failing is unit/export-layout's: a fatal postconf sleeps for a second)
export_conf "$TEST_DIR/no-owner.conf" /etc/sasl-tokens "$TEST_DIR/postfix-no-owner"
helper conf-owner-missing "$TEST_DIR/no-owner.conf" locate "$ACCOUNT"
assert_rc 6 "a mail_owner that is not a user: exit 6"
assert_contains "$ERR" "mailoauth-no-such-user" "... the message names it"
MO_STDIN=$TEST_DIR/token1.json helper conf-write "$TEST_DIR/loose.conf" write conf@example.com
assert_eq "$RC $(test -e "$REAL/conf@example.com" && echo written)" "6 " \
	"write with a bad configuration: exit 6, nothing written"

# --- the override is ignored under pkexec ----------------------------------------------
run_cmd pkexec-uid env PKEXEC_UID=1000 MAILOAUTH_EXPORT_CONF="$CONF_PLAIN" "$HELPER" locate "$ACCOUNT"
if [ "$RC" = 0 ]; then
	assert_contains "$OUT" "path=/etc/sasl-tokens/$ACCOUNT" \
		"PKEXEC_UID set: the default layout is used"
else
	assert_rc 6 "PKEXEC_UID set: the default configuration is read (here: a config error)"
fi
assert_not_contains "$OUT" "$TEST_DIR" "PKEXEC_UID set: the override's directory is not used"
assert_not_contains "$ERR" "$TEST_DIR" "PKEXEC_UID set: the override's postfix is not asked"

# --- remove -------------------------------------------------------------------------
refused unsafe-remove 5 "remove a symlink target" remove sym@example.com
helper remove "$CONF_CHROOT" remove "$ACCOUNT"
assert_rc 0 "remove: exit 0"
assert_empty "$OUT" "remove: nothing on stdout"
check "remove: the token file is gone" test ! -e "$REAL/$ACCOUNT"
check "remove: the lock file is gone" test ! -e "$REAL/.$ACCOUNT.lock"
check "remove: the status file is gone" test ! -e "$STATUS/$ACCOUNT"
helper remove-again "$CONF_CHROOT" remove "$ACCOUNT"
assert_rc 7 "remove again: exit 7 (no such export)"
assert_contains "$ERR" "$ACCOUNT" "... the message names the account"
check "remove again leaves no lock file" test ! -e "$REAL/.$ACCOUNT.lock"
helper remove-plain "$CONF_PLAIN" remove "$ACCOUNT"
assert_eq "$RC $(listing "$PLAIN")|$(listing "$PLAIN.status")" "0 |" \
	"remove (not chrooted): exit 0, both directories empty"
export_conf "$TEST_DIR/never.conf" "$TEST_DIR/never/sasl-tokens" "$TEST_DIR/postfix-plain"
helper remove-never "$TEST_DIR/never.conf" remove "$ACCOUNT"
assert_rc 7 "remove where nothing was ever exported: exit 7"
check "remove creates no directory" test ! -e "$TEST_DIR/never"
refused remove-bad-name 2 "remove ../x" remove '../x'

tap_done
