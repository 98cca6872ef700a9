#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `mailoauth test ACCOUNT --imap … --smtp …` logs in for real, against a
# private Dovecot (IMAP and submission, XOAUTH2 and OAUTHBEARER checked by
# introspection at the test provider): accepted with a valid grant, refused
# (with the server's answer and what to check) after the grant is revoked.
# Nothing is read or sent.  Runs as root (Dovecot).  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/provider.sh
. "$MO_LIBDIR/provider.sh"
# shellcheck source=../lib/signin.sh
. "$MO_LIBDIR/signin.sh"

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
[ -d "$PROVIDER_DIR/node_modules/oidc-provider" ] || skip_all "tests/provider/node_modules missing"
[ "$(id -u)" = 0 ] || skip_all "needs root (Dovecot runs its mail processes as the mail user)"
command -v dovecot >/dev/null || skip_all "dovecot not found (dovecot-imapd)"
[ -x /usr/lib/dovecot/submission ] || skip_all "dovecot-submissiond not installed"
mo_init "$@"
# shellcheck source=../lib/dovecot.sh
. "$MO_LIBDIR/dovecot.sh"

ACCOUNT=me@example.com
SCOPE="openid offline_access mail"

start_provider main --device-interval 1 --quiet || bail_out "cannot start the provider"
# submission relays nowhere: a login is all this test needs
DV_SUBMISSION_RELAY_PORT=9 dv_start "$ISSUER" "$TEST_DIR/clients.json" || bail_out "cannot start dovecot"

bg_start auth authorize "$ACCOUNT" --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow device
wait_device_url && approve auth "$DEVICE_URL"
bg_wait
assert_rc 0 "authorize $ACCOUNT"

IMAP=imap://127.0.0.1:$DV_PORT
SMTP=smtp://127.0.0.1:$DV_SUBMISSION_PORT
mo ok test "$ACCOUNT" --imap "$IMAP" --smtp "$SMTP"
assert_rc 0 "test --imap --smtp with a valid grant: exit 0"
assert_contains "$OUT" "$IMAP: XOAUTH2 login of $ACCOUNT accepted" "... IMAP accepted the login"
assert_contains "$OUT" "$SMTP: XOAUTH2 login of $ACCOUNT accepted" "... SMTP (submission) too"
assert_matches "$DV_LOG" "imap-login: Info: Login: user=<$ACCOUNT>, method=XOAUTH2" \
	"... as Dovecot's log confirms"
mo bearer test "$ACCOUNT" --imap "$IMAP" --mech OAUTHBEARER
assert_rc 0 "test --mech OAUTHBEARER: exit 0"
assert_matches "$DV_LOG" "imap-login: Info: Login: user=<$ACCOUNT>, method=OAUTHBEARER" \
	"... Dovecot logged an OAUTHBEARER login"
mo usage test "$ACCOUNT"
assert_rc 2 "test without --imap or --smtp: exit 2"

# revoke the grant: the cached access token is then refused by the server
keyring_account_json "$ACCOUNT" "$TEST_DIR/acct.json"
revoke "$(json_get "$TEST_DIR/acct.json" 'd["refresh_token"]')" || diag "revocation failed"
mo refused test "$ACCOUNT" --imap "$IMAP"
assert_rc 1 "after the grant was revoked: exit 1"
assert_contains "$ERR" "refused the XOAUTH2 login of $ACCOUNT" "... saying the server refused the login"
AT=$(json_get "$TEST_DIR/acct.json" 'd["access_token"]')
assert_not_contains "$ERR" "$AT" "... without the token in the message"

tap_done
