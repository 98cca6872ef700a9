#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Nothing lost: a refresh whose answer reached mailoauth but could not be
# stored.  A token file on a full disk (a small tmpfs the test mounts) is
# refreshed against a token endpoint that rotates refresh tokens and refuses
# a replaced one: the caller still gets the new token, the answer is kept in
# the refresh journal on $XDG_RUNTIME_DIR's tmpfs, and once there is room the
# next refresh stores it without asking the provider again; the rotated
# refresh token then works.  A complete temporary file that a killed writer
# left is taken back when newer than the file; a torn one is removed.
# Runs as root (mount); skipped otherwise.  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root: the test mounts a small tmpfs to fill"
	exit 0
fi
mo_init "$@"

CLIENT_SECRET='j0urnal-s3cret'
INITIAL_RT=rt-journal-initial-7a7a
FULL=$TEST_DIR/full
FILE=$FULL/token.json
SECRETS=("$CLIENT_SECRET" "$INITIAL_RT")

write_secret_file "$TEST_DIR/client-secret" "$CLIENT_SECRET"
write_secret_file "$TEST_DIR/initial-rt" "$INITIAL_RT"
start_token_server --refresh-token-file "$TEST_DIR/initial-rt" \
	--client-secret-file "$TEST_DIR/client-secret" || bail_out "cannot start the token server"

umount_full() {
	mountpoint -q "$FULL" && umount "$FULL"
	return 0
}
trap 'umount_full; mo_cleanup' EXIT

mkdir -m 0700 "$FULL"
mount -t tmpfs -o size=64k,mode=0700 mailoauth-journal-test "$FULL" ||
	bail_out "cannot mount a tmpfs on $FULL"
write_token_file "$FILE" "user=me@example.com" "access_token=at-journal-old" \
	"refresh_token=$INITIAL_RT" "expiry=$(($(now) - 100))" "client_id=test-client" \
	"client_secret=$CLIENT_SECRET" "token_endpoint=$TS_ENDPOINT"
# the lock exists before the disk is full (an empty file needs no block anyway)
: >"$FULL/.token.json.lock"
chmod 0600 "$FULL/.token.json.lock"
dd if=/dev/zero of="$FULL/filler" bs=4k >/dev/null 2>&1
check "the tmpfs with the token file is full" test "$(df --output=avail -B1 "$FULL" | tail -n 1)" -lt 4096
cp "$FILE" "$TEST_DIR/before.json"

# ----------------------------------------------- the disk is full ----
mo full refresh --file "$FILE" --force
assert_rc 0 "refresh --file on a full disk: exit 0, the caller is served"
assert_contains "$ERR" "refresh journal" "... warning that the answer is kept in the refresh journal"
assert_eq "$(ts_requests)" 1 "... after one request (the provider rotated the refresh token)"
check "... the token file could not be replaced: it is as before" cmp -s "$FILE" "$TEST_DIR/before.json"
JOURNAL=$(ls "$XDG_RUNTIME_DIR"/mailoauth/file-*.journal 2>/dev/null | head -n 1)
check "... the answer is in the journal on \$XDG_RUNTIME_DIR: ${JOURNAL##*/}" test -n "$JOURNAL" -a -f "$JOURNAL"
assert_eq "$(stat -c %a "$JOURNAL" 2>/dev/null)" 600 "... mode 0600"
NEW_RT=$(json_get "$JOURNAL" 'd["refresh_token"]')
SECRETS+=("$NEW_RT")
check "... holding the rotated refresh token" test -n "$NEW_RT" -a "$NEW_RT" != "$INITIAL_RT"

# Still full: the next caller is served from the journal, which stays.
mo full-again refresh --file "$FILE"
assert_rc 0 "a second refresh while the disk is still full: served from the journal"
assert_eq "$(ts_requests)" 1 "... without a request (the replaced refresh token would be refused)"
check "... the journal is still there" test -f "$JOURNAL"

# ------------------------------------------------ room again ----
rm -f -- "$FULL/filler"
mo recover refresh --file "$FILE"
assert_rc 0 "with room again, the next refresh succeeds"
assert_eq "$(ts_requests)" 1 "... without asking the provider: the journal was stored"
assert_secret_eq "$(json_get "$FILE" 'd["refresh_token"]')" "$NEW_RT" \
	"... the token file now holds the rotated refresh token"
check "... and the journal is gone" test ! -e "$JOURNAL"
mo forced refresh --file "$FILE" --force
assert_rc 0 "a forced refresh with the recovered refresh token works"
assert_eq "$(ts_requests)" 2 "... (one more request, accepted)"
SECRETS+=("$(json_get "$FILE" 'd["refresh_token"]')" "$(json_get "$FILE" 'd["access_token"]')")

# -------------------------------------- a killed writer's leftovers ----
cp "$FILE" "$FULL/.token.json.0badcafe.tmp"
printf '{"access_token": "torn' >"$FULL/.token.json.deadbeef.tmp"
"$MO_PYTHON" - "$FULL/.token.json.0badcafe.tmp" <<'EOF'
import json, sys
path = sys.argv[1]
d = json.load(open(path))
d["expiry"] = str(int(d["expiry"]) + 100)
d["access_token"] = "at-from-the-temp-file"
open(path, "w").write(json.dumps(d))
EOF
chmod 0600 "$FULL"/.token.json.*.tmp
# stale by the margin (the file's expiry moves back), so the lock is taken
"$MO_PYTHON" - "$FILE" <<'EOF'
import json, sys, time
d = json.load(open(sys.argv[1]))
d["expiry"] = str(int(time.time()) + 30)
open(sys.argv[1], "w").write(json.dumps(d))
EOF
mo tidy refresh --file "$FILE" --margin 60
assert_rc 0 "a refresh with two temporary files left by a killed writer"
assert_eq "$(json_get "$FILE" 'd["access_token"]')" at-from-the-temp-file \
	"... the complete, newer one replaced the file (it was a journal too)"
assert_eq "$(ts_requests)" 2 "... so no request was needed"
assert_eq "$(ls -A "$FULL" | grep -c '\.tmp$')" 0 "... and no temporary file is left"

# ----------------------------------------------------------- no secret ----
leaked=0
for f in "$TEST_DIR"/*.out "$TEST_DIR"/*.err; do
	for s in "${SECRETS[@]}"; do
		[ -n "$s" ] && grep -qF -- "$s" "$f" && {
			diag "a secret appears in $(basename "$f")"
			leaked=1
		}
	done
done
check "no token or secret in any output" test "$leaked" = 0

tap_done
