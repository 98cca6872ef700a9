#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `mailoauth export` end to end, against the real OpenID provider (which
# rotates refresh tokens and revokes a whole grant when an old one is used
# again), a scratch postfix configuration whose smtp client runs chrooted
# (asked through the real postconf) and the real export helper: run directly
# as root, and through the real pkexec and polkitd as an ordinary user
# (tests/lib/polkit.sh, in a private mount namespace).  It checks the
# separate grant (the keyring's token untouched, both surviving rotations),
# where and how the file is written, the printed postfix settings, --apply,
# --list, --remove, export without a keyring, the refresh of exported files
# as the systemd timer runs it, what --copy risks, and that no token shows
# in any output.  Runs as root (as CI does).  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/provider.sh
. "$MO_LIBDIR/provider.sh"
# shellcheck source=../lib/signin.sh
. "$MO_LIBDIR/signin.sh"
# shellcheck source=../lib/polkit.sh
. "$MO_LIBDIR/polkit.sh"

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

NODE_VERSION=$(node -p 'process.versions.node' 2>/dev/null)
[ -n "$NODE_VERSION" ] && [ -d "$PROVIDER_DIR/node_modules/oidc-provider" ] ||
	skip_all "node or $PROVIDER_DIR/node_modules missing (tools/dev deps installs them)"
[ "$(id -u)" -eq 0 ] || skip_all "needs root: the export helper runs as root"
[ -x /usr/sbin/postconf ] || skip_all "postfix is not installed"
HELPER=${MAILOAUTH_EXPORT_HELPER:?MAILOAUTH_EXPORT_HELPER: the built export helper}
command -v setpriv >/dev/null || skip_all "setpriv (util-linux) not found"

pk_enter_namespace "$@"
mo_init "$@"
# the postfix user (the timer) and the test user (pkexec) must reach their parts
chmod 0755 "$TEST_DIR"

SCOPE="openid offline_access mail"
SPOOL=$TEST_DIR/spool
PFDIR=$TEST_DIR/postfix
CONF=$TEST_DIR/export.conf
TOKENS=$SPOOL/etc/sasl-tokens
SECRETS=()

learn_secret() {
	[ -n "$1" ] && SECRETS+=("$1")
	return 0
}

# A scratch postfix configuration, smtp chrooted in $SPOOL as Debian ships it.
mkdir -p "$PFDIR"
printf 'queue_directory = %s\ncompatibility_level = 3.6\n' "$SPOOL" >"$PFDIR/main.cf"
echo "smtp      unix  -       -       y       -       -       smtp" >"$PFDIR/master.cf"
# postfix waits for a main.cf written this very second to settle
touch -d '-1 minute' "$PFDIR/main.cf"
printf '[export]\ndirectory=/etc/sasl-tokens\npostfix-config=%s\n' "$PFDIR" >"$CONF"
chmod 0644 "$CONF"
export MAILOAUTH_EXPORT_CONF=$CONF

start_provider main --device-interval 1 --quiet || bail_out "cannot start the provider"

# device_sign_in NAME ARGS...: mailoauth ARGS in the background, its device
# code approved at the provider; sets RC, OUT, ERR.
device_sign_in() {
	local name=$1
	shift
	bg_start "$name" "$@"
	if wait_device_url; then
		approve "$name" "$DEVICE_URL"
	fi
	bg_wait
}

# file_json ACCOUNT EXPR: a value of the exported file (as root).
file_json() {
	json_get "$TOKENS/$1" "$2"
}

# As the systemd timer runs it: the mail owner, a bare environment.
AS_POSTFIX=(setpriv --reuid=postfix --regid=postfix --clear-groups --reset-env --
	env PATH=/usr/sbin:/usr/bin:/bin MAILOAUTH_EXPORT_CONF="$CONF")

# ------------------------------------------------- the keyring's account ----
device_sign_in auth authorize me@example.com --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow device
assert_rc 0 "authorize me@example.com (device flow) for the keyring"
keyring_account_json me@example.com "$TEST_DIR/keyring-before.json"
KR_RT=$(json_get "$TEST_DIR/keyring-before.json" 'd["refresh_token"]')
learn_secret "$KR_RT"
learn_secret "$(json_get "$TEST_DIR/keyring-before.json" 'd["access_token"]')"

# ------------------------------------------- export: a grant of its own ----
device_sign_in export export me@example.com
assert_rc 0 "export me@example.com signs in a separate grant and exports it (root: no pkexec)"
assert_contains "$ERR" "separate grant" "... saying it signs in a grant of postfix's own"
FILE=$TOKENS/me@example.com
check "the file is inside the chroot of postfix's smtp: $FILE" test -f "$FILE"
assert_eq "$(stat -c '%U %a' "$FILE")" "postfix 600" "... owned by postfix, mode 0600"
assert_eq "$(stat -c '%U %a' "$TOKENS")" "postfix 700" "... in a directory of postfix's, 0700"
FILE_RT=$(file_json me@example.com 'd["refresh_token"]')
learn_secret "$FILE_RT"
learn_secret "$(file_json me@example.com 'd["access_token"]')"
check "... holding a refresh token of its own, not the keyring's" \
	test -n "$FILE_RT" -a "$FILE_RT" != "$KR_RT"
assert_eq "$(file_json me@example.com '[d["user"], d["client_id"], d["token_endpoint"]]')" \
	"[\"me@example.com\", \"mailoauth-public\", \"$ISSUER/token\"]" \
	"... and user, client_id, token_endpoint, as sasl-xoauth2 reads them"
assert_eq "$(file_json me@example.com 'type(d["expiry"]).__name__')" str \
	"... expiry as a decimal string, as sasl-xoauth2 writes it"
keyring_account_json me@example.com "$TEST_DIR/keyring-after.json"
check "the keyring's item is untouched" cmp -s "$TEST_DIR/keyring-before.json" \
	"$TEST_DIR/keyring-after.json"
assert_contains "$OUT" "me@example.com:/etc/sasl-tokens/me@example.com" \
	"stdout: the sasl_passwd line names the file as postfix sees it in its chroot"
assert_contains "$OUT" "hash:$PFDIR/sasl_passwd" "stdout: smtp_sasl_password_maps of this postfix"
for setting in "smtp_sasl_auth_enable = yes" "smtp_sasl_security_options = noanonymous" \
	"smtp_sasl_mechanism_filter = xoauth2" "smtp_tls_security_level = encrypt" \
	"smtp_sender_dependent_authentication = yes" "postmap $PFDIR/sasl_passwd"; do
	assert_contains "$OUT" "$setting" "stdout: $setting"
done
check "a status file anyone can read, without tokens" \
	test "$(stat -c '%a' "$SPOOL/etc/sasl-tokens.status/me@example.com")" = 644

# ---------------------------- both grants rotate, neither breaks the other ----
for round in 1 2; do
	mo "kr-refresh-$round" refresh --force me@example.com
	assert_rc 0 "round $round: the keyring's account refreshes (its refresh token rotates)"
	run_cmd "timer-$round" "${AS_POSTFIX[@]}" "$MAILOAUTH" refresh --exported --margin 1200 --force
	assert_rc 0 "round $round: 'refresh --exported' as the timer runs it (as postfix) refreshes the file"
	learn_secret "$(file_json me@example.com 'd["refresh_token"]')"
done
check "... the file's refresh token rotated" \
	test "$(file_json me@example.com 'd["refresh_token"]')" != "$FILE_RT"
assert_eq "$(stat -c '%U %a' "$FILE")" "postfix 600" "... owner and mode kept"
mo token-after token me@example.com
assert_rc 0 "the keyring's account still works after the file's rotations"

# ---------------------------------------------------------------- --list ----
mo list export --list
assert_rc 0 "export --list (from the status files, no root needed)"
assert_contains "$OUT" "me@example.com	/etc/sasl-tokens/me@example.com" "... names the account and its path"
assert_contains "$OUT" "last refresh" "... and when it was last refreshed"
mo list-json export --list --json
assert_eq "$(json_get "$OUT" '[(s["account"], s["needs_sign_in"]) for s in d]')" \
	'[["me@example.com", false]]' "export --list --json"

# ---------------------------------------------------- --apply, --copy ----
device_sign_in auth2 authorize copy@example.com --issuer "$ISSUER" \
	--client-id mailoauth-public --scope "$SCOPE" --flow device
assert_rc 0 "authorize copy@example.com"
mo apply export copy@example.com --copy --apply --relay 127.0.0.1:2525
assert_rc 0 "export --copy --apply --relay 127.0.0.1:2525"
keyring_account_json copy@example.com "$TEST_DIR/copy.json"
assert_secret_eq "$(file_json copy@example.com 'd["refresh_token"]')" \
	"$(json_get "$TEST_DIR/copy.json" 'd["refresh_token"]')" \
	"--copy exports the keyring's own grant"
learn_secret "$(json_get "$TEST_DIR/copy.json" 'd["refresh_token"]')"
assert_eq "$(postconf -c "$PFDIR" -h relayhost smtp_sasl_auth_enable smtp_sasl_password_maps \
	smtp_sasl_mechanism_filter | tr '\n' ' ')" \
	"[127.0.0.1]:2525 yes hash:$PFDIR/sasl_passwd xoauth2 " "--apply: postconf -e set main.cf"
assert_eq "$(cat "$PFDIR/sasl_passwd")" \
	"[127.0.0.1]:2525 copy@example.com:/etc/sasl-tokens/copy@example.com" \
	"--apply: sasl_passwd has the line"
check "--apply: postmap made sasl_passwd.db" test -s "$PFDIR/sasl_passwd.db"
has_backup() { compgen -G "$PFDIR/main.cf.mailoauth-*" >/dev/null; }
check "--apply: main.cf was backed up first" has_backup

# What the help warns of: one grant in two holders, with a provider that
# revokes a grant whose old refresh token comes back.
run_cmd copy-timer "${AS_POSTFIX[@]}" "$MAILOAUTH" refresh --file "$TOKENS/copy@example.com" --force
assert_rc 0 "--copy: the file refreshes (the provider rotates the shared refresh token)"
mo copy-kr refresh --force copy@example.com
assert_rc 4 "--copy: then the keyring's now old refresh token is refused, the grant revoked (exit 4)"
run_cmd copy-timer2 "${AS_POSTFIX[@]}" "$MAILOAUTH" refresh --file "$TOKENS/copy@example.com" --force
assert_rc 1 "--copy: and the file's grant is gone too"
mo list-broken export --list
assert_contains "$OUT" "needs a new sign-in: run “mailoauth export copy@example.com”" \
	"export --list says which command fixes it"
mo status-broken status
assert_contains "$OUT" "Exported for postfix:" "status shows the exported accounts too"
assert_contains "$OUT" "needs a new sign-in: run “mailoauth export copy@example.com”" \
	"... and which command fixes the broken one"
mo status-json status copy@example.com --json
assert_eq "$(json_get "$OUT" '[(e["account"], e["needs_sign_in"]) for e in d["exports"]]')" \
	'[["copy@example.com", true]]' "status ACCOUNT --json: the account's export, needing a sign-in"

# ---------------------------------------------------------------- --remove ----
mo remove export --remove copy@example.com
assert_rc 0 "export --remove"
check "... the file, its lock and its status are gone" \
	test ! -e "$TOKENS/copy@example.com" -a ! -e "$TOKENS/.copy@example.com.lock" \
	-a ! -e "$SPOOL/etc/sasl-tokens.status/copy@example.com"
mo remove-again export --remove copy@example.com
assert_rc 3 "export --remove of an account not exported: exit 3"
mo bad-name export '../x'
assert_rc 2 "export ../x: refused as a name (exit 2), before any sign-in"

# ------------------------------------------------------ without a keyring ----
BG_PREFIX=(env -u DBUS_SESSION_BUS_ADDRESS)
device_sign_in solo export solo@example.com --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow device
BG_PREFIX=()
assert_rc 0 "export without a keyring (no D-Bus session), the app from the options"
check "... the file is there" test -f "$TOKENS/solo@example.com"
learn_secret "$(file_json solo@example.com 'd["refresh_token"]')"

# ------------------------------------------ through pkexec, as a user ----
if pk_setup "$TEST_DIR/polkit"; then
	ok "a private polkitd and system bus ($PK_MODE mode)"
	# where the CLI runs the helper from: the build's libexecdir
	LIBEXEC=${MO_LIBEXECDIR:?MO_LIBEXECDIR: libexecdir of the build}
	pk_install_file "$HELPER" "$LIBEXEC/mailoauth-export-helper" 0755
	pk_install_file "$CONF" /etc/mailoauth/export.conf 0644
	pk_install_policy "$G_TEST_SRCDIR/../../data/org.mailoauth.export.policy.in" \
		"LIBEXECDIR=$LIBEXEC"
	BG_PREFIX=("${PK_AS[@]}")
	device_sign_in pk-refused export user@example.com --issuer "$ISSUER" \
		--client-id mailoauth-public --scope "$SCOPE" --flow device
	assert_rc 1 "as $PK_USER without a polkit rule: export fails (exit 1)"
	assert_contains "$ERR" "pkexec could not run the export helper" "... and says pkexec refused"
	check "... nothing was written" test ! -e "$TOKENS/user@example.com"
	pk_allow "$PK_USER" org.mailoauth.export
	# The caller's test-only override names another directory; through pkexec
	# the helper must not see it.
	printf '[export]\ndirectory=/etc/evil-tokens\npostfix-config=%s\n' "$PFDIR" \
		>"$TEST_DIR/evil.conf"
	chmod 0644 "$TEST_DIR/evil.conf"
	BG_PREFIX=("${PK_AS[@]}" env "MAILOAUTH_EXPORT_CONF=$TEST_DIR/evil.conf")
	device_sign_in pk export user@example.com --issuer "$ISSUER" \
		--client-id mailoauth-public --scope "$SCOPE" --flow device
	BG_PREFIX=()
	assert_rc 0 "as $PK_USER, allowed by polkit: export runs the helper through pkexec"
	assert_eq "$(stat -c '%U %a' "$TOKENS/user@example.com" 2>&1)" "postfix 600" \
		"... the file is postfix's, 0600, where root's configuration says"
	check "... the caller's MAILOAUTH_EXPORT_CONF did not reach the helper" \
		test ! -e "$SPOOL/etc/evil-tokens" -a ! -e /etc/evil-tokens
	learn_secret "$(file_json user@example.com 'd["refresh_token"]')"
else
	skip "export through pkexec" "${PK_SKIP_REASON:-the private polkit did not start}"
fi

# ------------------------------------------------------- no secret shown ----
leaked=0
for f in "$TEST_DIR"/*.out "$TEST_DIR"/*.err; do
	[[ $f == */token-after.out ]] && continue
	for s in "${SECRETS[@]}"; do
		if grep -qF -- "$s" "$f"; then
			diag "a token appears in $(basename "$f")"
			leaked=1
		fi
	done
done
check "no token or refresh token in any output (${#SECRETS[@]} secrets checked)" test "$leaked" = 0

tap_done
