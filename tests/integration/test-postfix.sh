#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Postfix end to end, everything real, on 127.0.0.1 (tests/lib/postfix.sh):
#
#   sendmail -> postfix (private instance, `smtp` chrooted as Debian ships it,
#   XOAUTH2 from libmailoauth.so with a sasl-xoauth2 token file in the chroot)
#   -> Dovecot submission (tokens checked by introspection at the provider)
#   -> an SMTP sink writing a maildir.
#
# The token file's token_endpoint is https:// -- an HTTPS front
# (tests/lib/https-front.mjs) before the test provider, with a certificate
# from a throw-away CA that exists only outside the chroot; the token file
# names it in `ca_bundle_file` (a sasl-xoauth2 key; or a sasl-xoauth2.conf
# does, see MO_PF_CA_VIA below).  So a refresh inside postfix works only if
# the plugin loaded that CA before postfix chrooted the smtp process
# (postfix's pre_init).
#
#  (a) a message goes through while the access token is valid (no refresh);
#  (b) after the access token expired, the next message goes through too: the
#      plugin refreshed in the chroot over HTTPS and wrote the file back
#      (rotated refresh token, owner postfix and mode 0600 kept);
#  (c) 20 messages released at once after the token expired: all delivered
#      with exactly one refresh at the provider;
#  (d) after the grant is revoked, a message is deferred (not bounced) with a
#      SASL failure in the maillog -- with the cached access token (refused by
#      Dovecot), and with an expired one (the refresh refused: invalid_grant);
#  finally no token or secret in any log, and every process gone.
#
# "Expired", with the plugin's refresh margin of 600 s (MO_DEFAULT_REFRESH_MARGIN,
# fixed in the plugin; 1200 s for the export's timer): the provider's access
# tokens live ACCESS_TTL = 1800 s,
# more than that margin -- with a TTL under it, every SMTP session would
# refresh (a token just refreshed is stale again at once) and (c) could not
# hold.  So the test expires a token the way the plugin sees time: the
# file's expiry goes 60 s into the past.  The plugin then may neither send
# nor keep the old token (it keeps one only with 60 s or more left when a
# refresh fails for now), so a message arrives only if the refresh worked.
# (The old token stays active at the provider until its 1800 s are up: it
# cannot be killed alone -- oidc-provider's revocation of an access token
# revokes every token of its grant, the refresh token too.)
#
# Where the plugin learns of the CA -- MO_PF_CA_VIA (default both):
#   token  only the token file's ca_bundle_file key: cannot work inside the
#          chroot (the plugin reads CA files in pre_init, before any token file
#          is named), kept to show that;
#   conf   ca_bundle_file in a sasl-xoauth2.conf (/etc/sasl-xoauth2.conf, here
#          given by MAILOAUTH_SASL_XOAUTH2_CONF through import_environment):
#          the only file the plugin can know of in pre_init, before any token
#          file is named (sasl_passwd is postfix's, looked up per session);
#   both   both: the token file's CA, unreadable in the chroot, falls back to
#          the bundle the plugin read from the conf before the chroot; the
#          timer outside the chroot reads the token file's.
# MO_PF_CA_IN_CHROOT=1 (by hand): the CA goes inside the chroot too, where
# libcurl looks by default -- to tell a harness problem from the plugin's
# pre-chroot CA loading.
#
# Needs root, postfix, dovecot-imapd + dovecot-submissiond, openssl, node +
# npm ci in tests/provider; skipped without them.  Env: MAILOAUTH (the CLI),
# MAILOAUTH_SASL_DIR (the plugin's build directory), MO_PROVIDER_DIR.
# Takes about 20 s; about 45 s while the refreshes fail (it waits for the
# deferrals: the plugin tries a failed refresh 3 times per SMTP session).

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/provider.sh
. "$MO_LIBDIR/provider.sh"
# shellcheck source=../lib/signin.sh
. "$MO_LIBDIR/signin.sh"

SASL_DIR=${MAILOAUTH_SASL_DIR:-$MO_LIBDIR/../../build/src/sasl}
SASL_DIR=$(cd "$SASL_DIR" 2>/dev/null && pwd) || SASL_DIR=
PLUGIN="$SASL_DIR/libmailoauth.so"

# (exit 0 on a skip: meson counts a non-zero exit of a TAP test as a failure, 77 included)
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
NODE_VERSION=$(node -p 'process.versions.node' 2>/dev/null)
if [ -z "$NODE_VERSION" ] || [ ! -d "$PROVIDER_DIR/node_modules/oidc-provider" ]; then
	skip_all "node or $PROVIDER_DIR/node_modules missing (tools/dev deps installs them)"
fi
IFS=. read -r NODE_MAJOR NODE_MINOR _ <<<"$NODE_VERSION"
((NODE_MAJOR > 20 || (NODE_MAJOR == 20 && NODE_MINOR >= 12))) ||
	skip_all "node $NODE_VERSION is too old for the test provider (needs 20.12 or later)"
[ "$(id -u)" = 0 ] || skip_all "needs root (postfix instance, Dovecot's mail uid)"
command -v postfix >/dev/null || skip_all "postfix not found"
command -v dovecot >/dev/null || skip_all "dovecot not found (dovecot-imapd)"
[ -x /usr/lib/dovecot/submission ] || skip_all "Dovecot's submission service not found (dovecot-submissiond)"
command -v openssl >/dev/null || skip_all "openssl not found"
command -v script >/dev/null || skip_all "script not found (util-linux)"
if [ -z "$SASL_DIR" ] || [ ! -f "$PLUGIN" ]; then
	skip_all "the plugin is not built: $PLUGIN"
fi
mo_init "$@"
# shellcheck source=../lib/dovecot.sh
. "$MO_LIBDIR/dovecot.sh"
# shellcheck source=../lib/postfix.sh
. "$MO_LIBDIR/postfix.sh"

SCOPE="openid offline_access mail"
ACCESS_TTL=1800
ACCOUNT=pf@example.com
BURST=20
T0=$EPOCHSECONDS

SECRETS=()
learn_secret() {
	[ -n "$1" ] && SECRETS+=("$1")
	return 0
}

# ------------------------------------------------------------- provider ----




# file_tokens: the token file's access and refresh tokens into AT, RT, its
# expiry (as written) into EXPIRY_JSON.
file_tokens() {
	local f
	f=$(pf_token_file "$ACCOUNT")
	AT=$(json_get "$f" 'd["access_token"]')
	RT=$(json_get "$f" 'd.get("refresh_token") or ""')
	EXPIRY_JSON=$(json_get "$f" '__import__("json").dumps(d.get("expiry"))')
	learn_secret "$AT"
	learn_secret "$RT"
}

# expire_token: the token file's expiry goes 60 s into the past (see the top).
expire_token() {
	pf_token_set "$ACCOUNT" expiry "\"$((EPOCHSECONDS - 60))\""
}

# ------------------------------------------------------------- asserts ----

# show_step: what a failed step leaves to look at.
show_step() {
	pf_log_since "$TEST_DIR/maillog.all"
	# (without the pickup, cleanup and "queue active" lines of every message)
	grep -v -e '/pickup\[' -e '/cleanup\[' -e '(queue active)' -e ': removed$' \
		"$TEST_DIR/maillog.all" >"$TEST_DIR/maillog.step"
	diag "maillog since the step began (pickup, cleanup, qmgr lines left out):"
	diag_file "$TEST_DIR/maillog.step" 12
	diag "queue: $(pf_queue_count) message(s), $(pf_queue_count deferred) deferred"
	if grep -q -e 'SSL peer certificate' -e 'SSL CA cert' -e 'SSL certificate problem' "$TEST_DIR/maillog.step"; then
		diag "=> the refresh failed on the certificate: inside the chroot the plugin did not"
		diag "   have the test CA ($CA_VIA: $CA_OUTSIDE, outside the chroot; MO_PF_CA_VIA)"
	fi
	grep -v -e ' GET ' -e ' listening on ' -e '^$' "$HF_LOG" >"$TEST_DIR/front.tail" 2>/dev/null
	diag "https front log (no GETs):"
	diag_file "$TEST_DIR/front.tail" 10
}

# shellcheck disable=SC2317 # (called through check)
not_delivered() {
	! maildir_has "$SINK_MAILDIR" "$1"
}

# queued_not_bounced MAILLOG: one message still queued, none bounced.
# shellcheck disable=SC2317
queued_not_bounced() {
	! grep -q "status=bounced" "$1" && [ "$(pf_queue_count)" = 1 ]
}

# owner_mode FILE: "user mode", e.g. "postfix 600".
owner_mode() {
	stat -c '%U %a' "$1"
}

# step_begin: marks the logs and counters a step is judged by, and lifts the
# queue manager's back-off from an earlier step's failures (postqueue -f):
# else a destination that failed is "temporarily suspended", not tried.
step_begin() {
	pf_flush || diag "postqueue -f failed"
	SINK_BASE=$(maildir_count "$SINK_MAILDIR")
	pf_log_mark
	DV_LOG_MARK=$(wc -l <"$DV_LOG")
	HF_LOG_MARK=$(wc -l <"$HF_LOG")
	STEP_REQUESTS=$(pv_stat token_requests)
}

since() { # FILE MARK
	tail -n "+$(($2 + 1))" -- "$1"
}

# token_requests_since_step: token requests the provider saw in this step.
token_requests_since_step() {
	echo $(($(pv_stat token_requests) - STEP_REQUESTS))
}

# end_step: an empty queue for the next step (a failed step leaves its
# messages deferred: they would be retried in the next one).
end_step() {
	if [ "$(pf_queue_count)" != 0 ]; then
		pf_clear_queue
	fi
}

# check_refreshed OLD_AT OLD_RT LABEL: the file holds a new refresh token and
# a new, active access token, with a decimal-string expiry in the future;
# postfix still owns it, mode 0600, and the unknown key ca_bundle_file survived.
check_refreshed() {
	local old_at=$1 old_rt=$2 label=$3 f
	f=$(pf_token_file "$ACCOUNT")
	file_tokens
	check "$label: the token file holds a new refresh token (the rotation was written back)" \
		test -n "$RT" -a "$RT" != "$old_rt"
	check "... and a new access token, active at the provider" \
		test -n "$AT" -a "$AT" != "$old_at" -a "$(introspect "$AT")" = true
	if [[ $EXPIRY_JSON =~ ^\"([0-9]+)\"$ ]] && ((BASH_REMATCH[1] > EPOCHSECONDS + 600)); then
		ok "... its expiry a decimal string, in the future"
	else
		not_ok "... its expiry a decimal string, in the future"
		diag "expiry: $EXPIRY_JSON (now $EPOCHSECONDS)"
	fi
	assert_eq "$(owner_mode "$f")" "postfix 600" "... still owned by postfix, mode 0600"
	assert_eq "$(find "$(dirname "$f")" -mindepth 1 -printf '%f\n' | LC_ALL=C sort | paste -sd ' ')" \
		".$ACCOUNT.lock $ACCOUNT" \
		"... beside it only the plugin's lock file (no temporary file left)"
	if [ "$CA_VIA" != conf ]; then
		assert_eq "$(json_get "$f" 'd.get("ca_bundle_file")')" "$CA_OUTSIDE" \
			"... keeping its ca_bundle_file"
	else
		assert_eq "$(json_get "$f" 'd.get("ca_bundle_file")')" null "... with no ca_bundle_file added"
	fi
}

# ============================================================ servers ====

start_provider main --access-token-ttl "$ACCESS_TTL" --quiet ||
	bail_out "cannot start the provider (node $PROVIDER_DIR/server.mjs)"
ok "the provider runs ($ISSUER, access tokens live ${ACCESS_TTL} s)"
DOVECOT_SECRET=$(json_get "$TEST_DIR/clients.json" 'd["dovecot"]["client_secret"]')
learn_secret "$DOVECOT_SECRET"
learn_secret "$(json_get "$TEST_DIR/clients.json" 'd["mailoauth-confidential"]["client_secret"]')"
(umask 077 && printf 'user = "dovecot:%s"\n' "$DOVECOT_SECRET" >"$TEST_DIR/dovecot.curlrc")

pki_make "$TEST_DIR/pki" || bail_out "cannot make the test CA"
hf_start "$ISSUER" "$PKI_CERT" "$PKI_KEY" || bail_out "cannot start the HTTPS front"
ok "the HTTPS front runs ($HF_URL, pid $HF_PID)"
CODE=$(pv_curl --cacert "$PKI_CA" -o "$TEST_DIR/front-discovery.json" -w '%{http_code}' \
	"$HF_URL/.well-known/openid-configuration")
assert_eq "$CODE" 200 "... it answers through TLS with a certificate the throw-away CA verifies"
CODE=$(pv_curl --cacert "$PKI_CA" -d client_id=mailoauth-public -d grant_type=refresh_token \
	-d refresh_token=not-a-token -o "$TEST_DIR/front-token.json" -w '%{http_code}' "$HF_URL/token")
assert_eq "$CODE:$(json_get "$TEST_DIR/front-token.json" 'd["error"]')" 400:invalid_grant \
	"... and passes a token request on untouched (a bogus refresh token: 400 invalid_grant)"
pv_curl -o /dev/null "$HF_URL/.well-known/openid-configuration" 2>/dev/null
assert_eq "$?" 60 "... which curl refuses without that CA (exit 60)"

sink_start "$TEST_DIR/sink" || bail_out "cannot start the SMTP sink"
ok "the SMTP sink runs (127.0.0.1:$SINK_PORT, pid $SINK_PID)"

DV_SUBMISSION_RELAY_PORT=$SINK_PORT dv_start "$ISSUER" "$TEST_DIR/clients.json" ||
	bail_out "cannot start dovecot"
ok "Dovecot runs: IMAP on 127.0.0.1:$DV_PORT, submission on 127.0.0.1:$DV_SUBMISSION_PORT relaying to the sink"

# The CA outside the chroot: under TEST_DIR (root only; postfix's pre_init runs as root).
CA_VIA=${MO_PF_CA_VIA:-both}
case $CA_VIA in
token | conf | both) ;;
*) bail_out "MO_PF_CA_VIA is token, conf or both, not $CA_VIA" ;;
esac
# readable by postfix: the timer (as postfix, outside the chroot) verifies with it
# too, and reads the export's configuration there (TEST_DIR: enter, not list)
chmod 0711 "$TEST_DIR"
mkdir -m 0755 "$TEST_DIR/outside"
CA_OUTSIDE="$TEST_DIR/outside/test-ca.crt"
install -m 0644 "$PKI_CA" "$CA_OUTSIDE"
TOKEN_CA=("ca_bundle_file=$CA_OUTSIDE")
PF_IMPORT_ENV=
if [ "$CA_VIA" != token ]; then
	printf '{"ca_bundle_file": "%s"}\n' "$CA_OUTSIDE" >"$TEST_DIR/outside/sasl-xoauth2.conf"
	PF_IMPORT_ENV="MAILOAUTH_SASL_XOAUTH2_CONF=$TEST_DIR/outside/sasl-xoauth2.conf"
fi
[ "$CA_VIA" != conf ] || TOKEN_CA=()

NEXTHOP="[127.0.0.1]:$DV_SUBMISSION_PORT"
pf_start "$NEXTHOP" "$SASL_DIR" || bail_out "cannot start postfix"
ok "postfix runs (master pid $PF_MASTER_PID, $PF_DIR)"
assert_eq "$(postconf -c "$PF_CONF" -M smtp/unix | awk '{print $5}')" y \
	"... its smtp service chrooted (master.cf column 5: y) to $PF_QUEUE"
check "... nothing listens: no inet service in master.cf" \
	test -z "$(postconf -c "$PF_CONF" -M | awk '$2 == "inet"')"
if command -v ss >/dev/null; then
	assert_eq "$(ss -Hltnp 2>/dev/null | grep -E "pid=($(pf_pids | paste -sd '|')),")" "" \
		"... and no process of the instance has a listening TCP socket (ss)"
fi

if [ -n "${MO_PF_CA_IN_CHROOT:-}" ]; then
	# A check of the harness, by hand: the CA also where libcurl looks by
	# default (Debian), inside the chroot -- the refresh then works without
	# the plugin loading ca_bundle_file before the chroot.
	(umask 022 && mkdir -p "$PF_QUEUE/etc/ssl/certs")
	install -m 0644 "$PKI_CA" "$PF_QUEUE/etc/ssl/certs/ca-certificates.crt"
	skip "the CA file is outside the chroot only" "MO_PF_CA_IN_CHROOT: it is inside too"
else
	check "the CA file is outside the chroot only, given by: $CA_VIA (MO_PF_CA_VIA)" \
		test -f "$CA_OUTSIDE" -a ! -e "$PF_QUEUE$CA_OUTSIDE" -a ! -e "$PF_QUEUE/etc/ssl"
fi

# ============================================================ sign in ====

# mailoauth export writes the file, through its root helper, where the
# chrooted smtp reads it; the sign-in is a device flow approved here.
(umask 022 && printf '[export]\ndirectory=/etc/sasl-tokens\npostfix-config=%s\n' "$PF_CONF" \
	>"$TEST_DIR/outside/export.conf")
export MAILOAUTH_EXPORT_CONF=$TEST_DIR/outside/export.conf
pv_control "{\"account\":\"$ACCOUNT\"}" || diag "cannot set the provider's login account"
bg_start export export "$ACCOUNT" --issuer "$ISSUER" --client-id mailoauth-public \
	--scope "$SCOPE" --flow device
wait_device_url && approve export "$DEVICE_URL"
bg_wait
pv_control '{"account":"me@example.com"}'
assert_rc 0 "mailoauth export $ACCOUNT (root: the helper runs directly) signs in and writes the file"
assert_contains "$OUT" "$ACCOUNT:/etc/sasl-tokens/$ACCOUNT" "... and prints the sasl_passwd line for it"
# The provider's endpoints are plain http on 127.0.0.1; postfix's refreshes go
# through the HTTPS front instead, with the CA from outside the chroot.
pf_token_set "$ACCOUNT" token_endpoint "\"$HF_URL/token\""
if [ ${#TOKEN_CA[@]} -gt 0 ]; then
	pf_token_set "$ACCOUNT" ca_bundle_file "\"$CA_OUTSIDE\""
fi
TOKEN_FILE=$(pf_token_file "$ACCOUNT")
assert_eq "$(owner_mode "$TOKEN_FILE"):$(owner_mode "$(dirname "$TOKEN_FILE")")" \
	"postfix 600:postfix 700" \
	"token file at /etc/sasl-tokens/$ACCOUNT in the chroot: 0600 in a 0700 directory, owned by postfix"
pf_sasl_passwd "$NEXTHOP" "$ACCOUNT" "/etc/sasl-tokens/$ACCOUNT" || diag "postfix reload failed"
assert_eq "$(<"$PF_CONF/sasl_passwd")" "$NEXTHOP $ACCOUNT:/etc/sasl-tokens/$ACCOUNT" \
	"sasl_passwd (texthash): $NEXTHOP $ACCOUNT:/etc/sasl-tokens/$ACCOUNT"

# ======================================= (a) a valid token, no refresh ====

step_begin
A_START=$EPOCHREALTIME
pf_send "(a) valid token"
assert_eq "$?" 0 "(a) sendmail -C accepts a message"
pf_wait_settled "$SINK_BASE" 1 20
if maildir_has "$SINK_MAILDIR" "$PF_SUBJECT"; then
	ok "(a) it arrives in the sink's maildir ($(((${EPOCHREALTIME/./} - ${A_START/./}) / 1000)) ms)"
else
	not_ok "(a) it arrives in the sink's maildir"
	show_step
fi
pf_log_since "$TEST_DIR/maillog.a"
assert_matches "$TEST_DIR/maillog.a" "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$DV_SUBMISSION_PORT, .*status=sent" \
	"... postfix says status=sent, relayed by Dovecot's submission service"
since "$DV_LOG" "$DV_LOG_MARK" >"$TEST_DIR/dovecot.a"
assert_matches "$TEST_DIR/dovecot.a" "submission-login: Info: Login: user=<$ACCOUNT>, method=XOAUTH2" \
	"... which took the XOAUTH2 login of $ACCOUNT"
assert_eq "$(token_requests_since_step)" 0 "... with no token request (the token is valid for $ACCESS_TTL s)"
end_step

# ====================================== (b) expired: refresh over HTTPS ====

file_tokens
B_OLD_AT=$AT B_OLD_RT=$RT
if expire_token; then
	ok "(b) the access token expired (its expiry in the file 60 s ago)"
else
	not_ok "(b) the access token expired (its expiry in the file 60 s ago)"
fi
step_begin
pf_send "(b) after expiry"
pf_wait_settled "$SINK_BASE" 1 20
if maildir_has "$SINK_MAILDIR" "$PF_SUBJECT"; then
	ok "(b) the next message arrives too"
else
	not_ok "(b) the next message arrives too"
	show_step
fi
assert_eq "$(token_requests_since_step)" 1 "... after one token request (the refresh)"
since "$HF_LOG" "$HF_LOG_MARK" >"$TEST_DIR/front.b"
assert_contains "$TEST_DIR/front.b" "https-front: POST /token 200" \
	"... made inside the chroot over HTTPS, the CA loaded from outside it"
check_refreshed "$B_OLD_AT" "$B_OLD_RT" "(b)"
end_step

# ========================== (c) 20 messages at once: exactly one refresh ====

file_tokens
C_OLD_AT=$AT C_OLD_RT=$RT
if expire_token; then
	ok "(c) the access token expired again"
else
	not_ok "(c) the access token expired again"
fi
step_begin
C_FAILED=0
C_SUBJECTS=()
for ((i = 1; i <= BURST; i++)); do
	pf_send "(c) burst $i/$BURST" --hold || C_FAILED=$((C_FAILED + 1))
	C_SUBJECTS+=("$PF_SUBJECT")
done
END=$((EPOCHSECONDS + 10))
while [ "$(pf_queue_count hold)" -lt "$BURST" ] && ((EPOCHSECONDS < END)); do
	sleep 0.1
done
assert_eq "$C_FAILED:$(pf_queue_count hold)" "0:$BURST" "(c) $BURST messages queued (on hold)"
C_START=$EPOCHREALTIME
pf_release || diag "postsuper -H / postqueue -f failed"
pf_wait_settled "$SINK_BASE" "$BURST" 40
C_ARRIVED=$(($(maildir_count "$SINK_MAILDIR") - SINK_BASE))
if [ "$C_ARRIVED" = "$BURST" ]; then
	ok "(c) released at once, all $BURST arrive ($(((${EPOCHREALTIME/./} - ${C_START/./}) / 1000)) ms)"
else
	not_ok "(c) released at once, all $BURST arrive"
	diag "$C_ARRIVED of $BURST arrived, $(pf_queue_count deferred) deferred"
	show_step
fi
MISSING=0
for s in "${C_SUBJECTS[@]}"; do
	maildir_has "$SINK_MAILDIR" "$s" || MISSING=$((MISSING + 1))
done
assert_eq "$MISSING" 0 "... each of them (by Subject)"
assert_eq "$(token_requests_since_step)" 1 "... with exactly one token request at the provider"
since "$DV_LOG" "$DV_LOG_MARK" >"$TEST_DIR/dovecot.c"
LOGINS=$(grep -c "submission-login: Info: Login: user=<$ACCOUNT>" "$TEST_DIR/dovecot.c")
diag "(c) $LOGINS SMTP logins at Dovecot carried the $BURST messages"
check_refreshed "$C_OLD_AT" "$C_OLD_RT" "(c)"
end_step

# ============== (e) the timer and the plugin at once: one refresh, intact ====

# The timer's command as its unit runs it: as postfix, outside the chroot,
# in a bare environment (plus the test's configuration files).
TIMER=(setpriv --reuid=postfix --regid=postfix --clear-groups --reset-env --
	env PATH=/usr/sbin:/usr/bin:/bin "MAILOAUTH_EXPORT_CONF=$MAILOAUTH_EXPORT_CONF"
	${PF_IMPORT_ENV:+"$PF_IMPORT_ENV"} "$MAILOAUTH" refresh --exported --margin 1200)
E_BURST=10
file_tokens
E_OLD_AT=$AT E_OLD_RT=$RT
expire_token || diag "cannot expire the token"
step_begin
for ((i = 1; i <= E_BURST; i++)); do
	pf_send "(e) with the timer $i/$E_BURST" --hold
done
END=$((EPOCHSECONDS + 10))
while [ "$(pf_queue_count hold)" -lt "$E_BURST" ] && ((EPOCHSECONDS < END)); do
	sleep 0.1
done
pf_release || diag "postsuper -H / postqueue -f failed"
TIMER_PIDS=()
for k in 1 2 3; do
	(timeout -k 5 "$MO_CMD_TIMEOUT" "${TIMER[@]}" >"$TEST_DIR/timer-e$k.log" 2>&1
	echo $? >"$TEST_DIR/timer-e$k.rc") &
	TIMER_PIDS+=($!)
done
# only these: the servers of the test are children too
wait "${TIMER_PIDS[@]}"
pf_wait_settled "$SINK_BASE" "$E_BURST" 40
assert_eq "$(($(maildir_count "$SINK_MAILDIR") - SINK_BASE))" "$E_BURST" \
	"(e) $E_BURST messages and three runs of the timer's refresh at once: all messages arrive"
assert_eq "$(cat "$TEST_DIR"/timer-e[123].rc | paste -sd ' ')" "0 0 0" \
	"... every run of 'mailoauth refresh --exported' (as postfix) succeeds"
assert_eq "$(token_requests_since_step)" 1 "... with exactly one token request: one lock for both"
check_refreshed "$E_OLD_AT" "$E_OLD_RT" "(e)"
STEP_REQUESTS=$(pv_stat token_requests)
run_cmd timer-force "${TIMER[@]}" --force
assert_rc 0 "(e) a forced refresh afterwards works: the file holds the grant's current refresh token"
assert_eq "$(token_requests_since_step)" 1 "... (one more request)"
file_tokens
end_step

# ============================================ (d) revoked grant: deferred ====

# (d1) The cached access token is "valid" by the file; the provider revoked
# the whole grant, so Dovecot refuses it.  No refresh is involved.
file_tokens
D_AT=$AT
pf_token_set "$ACCOUNT" expiry "\"$((EPOCHSECONDS + ACCESS_TTL))\""
revoke "$RT"
assert_eq "$(introspect "$D_AT")" false "(d) revoking the refresh token revokes the grant: the file's access token is dead"
step_begin
pf_send "(d1) revoked grant, cached token"
if pf_wait_deferred 1 20; then
	ok "(d1) a message with the cached token is deferred"
else
	not_ok "(d1) a message with the cached token is deferred"
	show_step
fi
pf_log_since "$TEST_DIR/maillog.d1"
check "... not delivered" not_delivered "$PF_SUBJECT"
check "... not bounced (no status=bounced, still queued)" queued_not_bounced "$TEST_DIR/maillog.d1"
assert_matches "$TEST_DIR/maillog.d1" "status=deferred \(SASL authentication failed" \
	"... the maillog shows the SASL failure (status=deferred)"
diag "(d1) maillog:"
grep -E 'SASL|status=' "$TEST_DIR/maillog.d1" >"$TEST_DIR/maillog.d1.sasl"
diag_file "$TEST_DIR/maillog.d1.sasl" 8
assert_eq "$(token_requests_since_step)" 0 "... with no token request (the file said the token was valid)"
end_step

# (d2) The same grant, the token expired: the plugin's refresh is refused
# (invalid_grant) -- which needs the HTTPS refresh to reach the provider.
pf_token_set "$ACCOUNT" expiry "\"$((EPOCHSECONDS - 60))\""
step_begin
pf_send "(d2) revoked grant, expired token"
if pf_wait_deferred 1 20; then
	ok "(d2) a message with an expired token is deferred"
else
	not_ok "(d2) a message with an expired token is deferred"
	show_step
fi
pf_log_since "$TEST_DIR/maillog.d2"
check "... not bounced (no status=bounced, still queued)" queued_not_bounced "$TEST_DIR/maillog.d2"
assert_matches "$TEST_DIR/maillog.d2" "status=deferred \(SASL authentication failed" \
	"... the maillog shows the SASL failure (status=deferred)"
assert_eq "$(token_requests_since_step)" 1 "... after one token request: the refresh, refused"
ASSERT_NOCASE=1 assert_contains "$TEST_DIR/maillog.d2" "invalid_grant" \
	"... and the maillog says why: invalid_grant"
diag "(d2) maillog:"
grep -E 'SASL|status=|mailoauth' "$TEST_DIR/maillog.d2" >"$TEST_DIR/maillog.d2.sasl"
diag_file "$TEST_DIR/maillog.d2.sasl" 8
mo status-d2 status
assert_contains "$OUT" "needs a new sign-in: run “mailoauth export $ACCOUNT”" \
	"(d2) mailoauth status says which command fixes it (the plugin recorded it in the chroot)"
end_step

# ============================================================ no secrets ====

(umask 077 && printf '%s\n' "${SECRETS[@]}" >"$TEST_DIR/secrets.list")
FILES=("$PF_LOG" "$DV_LOG" "$HF_LOG" "$SINK_LOG" "$PF_DIR"/*.out "$PF_CONF/main.cf" "$PF_CONF/sasl_passwd")
"$MO_PYTHON" - "$TEST_DIR/secrets.list" "${FILES[@]}" >"$TEST_DIR/leaks.txt" <<'PY'
import base64, binascii, re, sys
secrets = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
for path in sys.argv[2:]:
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        continue
    name = path.rsplit("/", 1)[-1]
    if any(s in text for s in secrets):
        print("raw", name)
        continue
    for word in re.findall(r"[A-Za-z0-9+/]{16,}={0,2}", text):
        try:
            dec = base64.b64decode(word + "=" * (-len(word) % 4)).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            continue
        if any(s in dec for s in secrets):
            print("base64", name)
            break
PY
rm -f -- "$TEST_DIR/secrets.list"
LEAKS=$(tr '\n' ' ' <"$TEST_DIR/leaks.txt")
check "no token or secret (${#SECRETS[@]}) in the maillog, Dovecot's log, the front's or sink's log (${#FILES[@]} files)" \
	test -z "$LEAKS" -a "${#SECRETS[@]}" -ge 4
[ -z "$LEAKS" ] || diag "secrets found: $LEAKS"

# ============================================================ stop ====

PF_ALL=$(pf_pids | tr '\n' ' ')
pf_stop
assert_eq "$?:$(for p in $PF_ALL; do pf_pid_alive "$p" && echo "$p"; done)" "0:" \
	"postfix stopped: none of its processes ($PF_ALL) is left"
hf_stop
sink_stop
DV_MASTER=$DV_PID
dv_stop
check "Dovecot, the front and the sink stopped" \
	test -z "$DV_DIR" -a ! -e "/proc/$DV_MASTER" -a -z "$HF_PID" -a -z "$SINK_PID"
diag "took $((EPOCHSECONDS - T0)) s"
tap_done
