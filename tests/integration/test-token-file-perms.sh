#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Who may lock and rewrite a token file, with real users (issue 9, items 2, 3 and 7): root
# (the export's timer, `mailoauth refresh --file`) and postfix (the SASL plugin in smtp,
# here also through the real libsasl2) take turns on the same file, in either order, with a
# provider that rotates refresh tokens, so that every turn must find what the last one
# wrote. A token file in a directory others can write is refused with what to do, and a
# hard link planted as the lock file is refused and left alone.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

[ "$(id -u)" -eq 0 ] || skip_all "needs root: the files belong to root and postfix"
id postfix >/dev/null 2>&1 || skip_all "no postfix user (apt-get install postfix)"
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not found"
mo_init "$@"

PROBE=${MO_SASL_PROBE:-$MO_LIBDIR/../../build/tests/sasl/mo-sasl-probe}
PLUGIN_DIR=${MAILOAUTH_SASL_DIR:-$MO_LIBDIR/../../build/src/sasl}
[ -x "$PROBE" ] || bail_out "no probe client at $PROBE (set MO_SASL_PROBE)"

ACCOUNT=me@example.com
CLIENT_SECRET='p+e&r=m%'
CURRENT_RT=rt-perms-initial
NOBODY=$(id -u nobody)
# postfix must reach the directories below, as it reaches its spool
chmod 0711 "$TEST_DIR"

write_secret_file "$TEST_DIR/client-secret" "$CLIENT_SECRET"
write_secret_file "$TEST_DIR/initial-rt" "$CURRENT_RT"
start_token_server --refresh-token-file "$TEST_DIR/initial-rt" \
	--client-secret-file "$TEST_DIR/client-secret" || bail_out "cannot start the token server"

# As the timer and the plugin run: the mail owner, its own group only, a bare environment.
AS_POSTFIX=(setpriv --reuid=postfix --regid=postfix --clear-groups --reset-env --
	env PATH=/usr/sbin:/usr/bin:/bin)

owner_mode() {
	stat -c '%U:%G %a' "$1"
}

# case_dir NAME OWNER:GROUP MODE: a fresh directory; prints its path.
case_dir() {
	local dir=$TEST_DIR/$1
	mkdir "$dir" && chown "$2" "$dir" && chmod "$3" "$dir"
	printf '%s\n' "$dir"
}

# put_token FILE OWNER:GROUP MODE: an expired token file holding the current refresh token.
put_token() {
	write_token_file "$1" "user=$ACCOUNT" "access_token=at-stale" "refresh_token=$CURRENT_RT" \
		"expiry=1" "client_id=test-client" "client_secret=$CLIENT_SECRET" \
		"token_endpoint=$TS_ENDPOINT"
	chown "$2" "$1" && chmod "$3" "$1"
}

# expire FILE: the file's expiry set in the past, in place (its owner and mode stay).
expire() {
	"$MO_PYTHON" - "$1" <<'EOF'
import json, sys
with open(sys.argv[1], "r+", encoding="utf-8") as f:
    d = json.load(f)
    d["expiry"] = "1"
    f.seek(0)
    f.truncate()
    json.dump(d, f)
EOF
}

# refreshed WHO FILE NAME: `mailoauth refresh --file FILE` as WHO (root or postfix)
# refreshed it, and the file holds the rotated refresh token for the next turn.
refreshed() {
	local who=$1 file=$2 name=$3 new
	expire "$file"
	if [ "$who" = root ]; then
		run_cmd "$name" "$MAILOAUTH" refresh --file "$file"
	else
		run_cmd "$name" "${AS_POSTFIX[@]}" "$MAILOAUTH" refresh --file "$file"
	fi
	assert_rc 0 "$name: $who refreshes $(basename "$(dirname "$file")")/$(basename "$file")"
	new=$(json_get "$file" 'd["refresh_token"]')
	check "$name: ... and wrote the rotated refresh token back" test "$new" != "$CURRENT_RT"
	CURRENT_RT=$new
}

# --- item 3: root:postfix 0660 in a 2775 root:postfix directory -------------------------

DIR=$(case_dir shared-root-first root:postfix 2775)
put_token "$DIR/$ACCOUNT" root:postfix 0660
refreshed root "$DIR/$ACCOUNT" shared-1
assert_eq "$(owner_mode "$DIR/.$ACCOUNT.lock")" "root:postfix 660" \
	"root makes the lock for the token file's owner and group"
refreshed postfix "$DIR/$ACCOUNT" shared-2
refreshed root "$DIR/$ACCOUNT" shared-3
refreshed postfix "$DIR/$ACCOUNT" shared-4

DIR=$(case_dir shared-postfix-first root:postfix 2775)
put_token "$DIR/$ACCOUNT" root:postfix 0660
refreshed postfix "$DIR/$ACCOUNT" shared-first-1
assert_eq "$(owner_mode "$DIR/.$ACCOUNT.lock")" "postfix:postfix 660" \
	"postfix makes the lock for the whole group"
put_token "$DIR/$ACCOUNT" root:postfix 0660
refreshed root "$DIR/$ACCOUNT" shared-first-2
assert_eq "$(owner_mode "$DIR/.$ACCOUNT.lock")" "postfix:postfix 660" "root uses it as it is"

# the plugin inside postfix, through the real libsasl2
expire "$DIR/$ACCOUNT"
write_secret_file "$TEST_DIR/probe.pw" "$DIR/$ACCOUNT"
MO_STDIN="$TEST_DIR/probe.pw" run_cmd probe "${AS_POSTFIX[@]}" "$PROBE" --dir "$PLUGIN_DIR" \
	--mech XOAUTH2 --user "$ACCOUNT"
assert_rc 0 "the SASL plugin as postfix refreshes the file root refreshed last"
CURRENT_RT=$(json_get "$DIR/$ACCOUNT" 'd["refresh_token"]')

# --- what `mailoauth export` writes: postfix:postfix 0600 in postfix's 0700 directory -----

DIR=$(case_dir export-root-first postfix:postfix 0700)
put_token "$DIR/$ACCOUNT" postfix:postfix 0600
refreshed root "$DIR/$ACCOUNT" export-1
assert_eq "$(owner_mode "$DIR/.$ACCOUNT.lock")" "postfix:postfix 600" "an exported file's lock is postfix's"
refreshed postfix "$DIR/$ACCOUNT" export-2

DIR=$(case_dir export-postfix-first postfix:postfix 0700)
put_token "$DIR/$ACCOUNT" postfix:postfix 0600
refreshed postfix "$DIR/$ACCOUNT" export-first-1
assert_eq "$(owner_mode "$DIR/.$ACCOUNT.lock")" "postfix:postfix 600" "... whoever makes it"
refreshed root "$DIR/$ACCOUNT" export-first-2

# --- item 7: a directory others can write ----------------------------------------------

DIR=$(case_dir public root:root 1777)
put_token "$DIR/$ACCOUNT" root:root 0600
# what another user would put there: a lock file of theirs
(umask 022 && : >"$DIR/.$ACCOUNT.lock") && chown nobody "$DIR/.$ACCOUNT.lock"
ts_reset_stats
run_cmd public "$MAILOAUTH" refresh --file "$DIR/$ACCOUNT"
assert_rc 1 "a token file in a directory others can write is refused"
assert_contains "$ERR" "chmod o-w $DIR" "... saying which directory and what to do"
assert_eq "$(ts_requests)" 0 "... before any request"
assert_eq "$(json_get "$DIR/$ACCOUNT" 'd["refresh_token"]')" "$CURRENT_RT" "... and untouched"

# --- item 2: a hard link planted as the lock file --------------------------------------

DIR=$(case_dir planted nobody:nogroup 0755)
put_token "$DIR/$ACCOUNT" nobody:nogroup 0600
write_secret_file "$TEST_DIR/victim" "root's own"
ln "$TEST_DIR/victim" "$DIR/.$ACCOUNT.lock"
run_cmd planted "$MAILOAUTH" refresh --file "$DIR/$ACCOUNT"
assert_rc 1 "a hard link as the lock file is refused"
assert_contains "$ERR" "single link" "... saying why"
assert_eq "$(owner_mode "$TEST_DIR/victim")" "root:root 600" "... and the file behind it stays root's"
check "... no other user was given anything" test "$(stat -c %u "$TEST_DIR/victim")" != "$NOBODY"

stop_token_server
tap_done
