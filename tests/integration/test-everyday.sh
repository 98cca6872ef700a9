#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# First-run traps a new user meets, each as the user sees it: the README's
# settings block copied as printed, a misspelt setting, an expired token shown
# as "valid until … ago", a mistyped command or option, "help COMMAND", and
# the quotes of messages under LC_ALL=C (cron, bare units).  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

CONF="$XDG_CONFIG_HOME/mailoauth/mailoauth.conf"

# ------------------------------------------------------------ settings ----
printf '[mailoauth]\nrefresh-margin=600        # seconds\n' >"$CONF"
mo inline-comment status
assert_rc 1 "a comment after a value: exit 1"
assert_contains "$ERR" "refresh-margin has a comment after its value; a comment must have a line of its own" \
	"... saying why, instead of 'must be a number'"
printf '[mailoauth]\n# seconds\nrefresh_margin=300\n' >"$CONF"
mo misspelt status
assert_rc 0 "a misspelt setting does not stop mailoauth"
assert_contains "$ERR" "has no setting “mailoauth.refresh_margin”; it is ignored" \
	"... but it is reported, with the known ones"
# the README's block, as printed there
sed -n '/^```ini$/,/^```$/p' "$G_TEST_SRCDIR/../../README.md" | sed '1d;$d' >"$CONF"
mo readme-settings status
assert_rc 0 "the README's settings block, copied as printed, works"
assert_not_contains "$ERR" "warning" "... without a warning"
rm -f -- "$CONF"

# ----------------------------------------------------------- expired ----
write_token_file "$TEST_DIR/old.json" "access_token=at-everyday" "refresh_token=rt-everyday" \
	"expiry=$(($(now) - 60))" "client_id=c" "token_endpoint=http://127.0.0.1:9/token"
mo import import "$TEST_DIR/old.json" --account old@example.com
assert_rc 0 "import of a token that expired a minute ago"
assert_contains "$ERR" "access token expired " "... says it expired"
assert_not_contains "$ERR" "valid until" "... not 'valid until … ago'"
mo status-old status old@example.com
assert_matches "$OUT" "^  access token: +expired [0-9-]+ [0-9:]+ \([0-9]+ s ago\)" "status says 'expired … ago'"

# ------------------------------------------------------------- help ----
mo typo tokne
assert_rc 2 "a mistyped command: exit 2"
assert_contains "$ERR" "Did you mean “mailoauth token”?" "... with the command it may be"
mo help-token help token
assert_rc 0 "mailoauth help token"
assert_contains "$OUT" "mailoauth token [OPTION…] ACCOUNT" "... is token's own help"
mo bad-option status --jsn
assert_rc 2 "an unknown option: exit 2"
assert_contains "$ERR" "Unknown option --jsn (see “mailoauth status --help”)" "... pointing to --help"

# ----------------------------------------------------------- LC_ALL=C ----
LC_ALL=C run_cmd c-locale "$MAILOAUTH" status nobody@example.com
assert_rc 3 "under LC_ALL=C, status of an unknown account: exit 3"
assert_contains "$ERR" 'No account "nobody@example.com" in the keyring' "... with plain quotes, not ?"
assert_not_contains "$ERR" "?nobody" "... and no question marks"

tap_done
