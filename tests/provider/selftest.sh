#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Self-check of the test provider, with curl as the only HTTP client: the
# device flow (interval, slow_down, approval, refresh rotation, reuse
# revoking the grant, introspection as Dovecot), the authorization code flow
# with PKCE S256 for the public and the confidential client (loopback
# listener and paste flow), deny mode, device code expiry and injected token
# endpoint failures.  TAP output; exit 77 (skip) when node_modules is missing.
#
# Secrets and tokens go to curl through files (umask 077), never argv.
#
# usage: tests/provider/selftest.sh      (after `npm ci` in tests/provider)

set -eu
umask 077

here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/oidc-provider" ]; then
	echo "1..0 # SKIP run 'npm ci' in $here first"
	exit 77
fi

work=$(mktemp -d)
cleanup() {
	for f in "$work"/*.pid; do
		if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || :; fi
	done
	[ -n "${KEEP-}" ] || rm -rf "$work"; [ -z "${KEEP-}" ] || echo "# kept $work"
}
trap cleanup EXIT INT TERM

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}
check() { # DESCRIPTION COMMAND...
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
bail() {
	echo "Bail out! $*"
	exit 1
}

# json FILE KEY: one top-level value of a JSON file ("" when absent); jq
# when there is one (a node start costs a quarter second), else node
json() {
	if command -v jq >/dev/null; then
		jq -j --arg k "$2" 'if has($k) then .[$k] | tostring else empty end' "$1"
		return
	fi
	node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		const v = o[process.argv[2]]; process.stdout.write(v === undefined ? "" : String(v));' "$1" "$2"
}
# save FILE KEY FILE2: the value into FILE2, for handing a value to curl as @FILE2
save() { json "$1" "$2" >"$3"; }
# query URL NAME: a query parameter of a URL, still URL-encoded
query() {
	printf '%s\n' "$1" | sed -n "s/.*[?&]$2=\([^&#]*\).*/\1/p"
}
# post URL OUT [curl args]: POST, body to OUT, print the status
post() {
	url=$1 out=$2
	shift 2
	curl -sS -o "$out" -w '%{http_code}' "$@" -- "$url"
}

wait_for_file() {
	i=0
	while [ ! -s "$1" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || return 1
		sleep 0.1
	done
}

# start_provider NAME [server options]: sets $issuer
start_provider() {
	name=$1
	shift
	node "$here/server.mjs" --quiet --clients-file "$work/clients.json" \
		--info-file "$work/$name.info" --pid-file "$work/$name.srvpid" "$@" \
		2>"$work/$name.log" &
	echo $! >"$work/$name.pid"
	wait_for_file "$work/$name.info" || { cat "$work/$name.log" >&2; bail "provider $name did not start"; }
	issuer=$(json "$work/$name.info" issuer)
	[ "$(cat "$work/$name.srvpid")" = "$(cat "$work/$name.pid")" ] || bail "pid file of $name is wrong"
}

# --- the provider and a loopback listener playing mailoauth's -----------------

start_provider main --device-interval 1
I=$issuer
# shellcheck disable=SC2016 # a JavaScript template string
node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	process.stdout.write(`user = "dovecot:${o.dovecot.client_secret}"\n`);' \
	"$work/clients.json" >"$work/dovecot.curlrc"
node -e 'const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	process.stdout.write(o["mailoauth-confidential"].client_secret);' \
	"$work/clients.json" >"$work/confidential.secret"

node -e '
	const http = require("http"), fs = require("fs");
	const s = http.createServer((req, res) => {
		fs.appendFileSync(process.argv[1], req.url + "\n");
		res.end("received\n");
	});
	s.listen(0, "127.0.0.1", () => fs.writeFileSync(process.argv[2], String(s.address().port)));
' "$work/listener.requests" "$work/listener.port" &
echo $! >"$work/listener.pid"
wait_for_file "$work/listener.port" || bail "listener did not start"
LP=$(cat "$work/listener.port")
REDIRECT="http://127.0.0.1:$LP/"

curl -sS -o "$work/discovery.json" "$I/.well-known/openid-configuration"
check "discovery announces iss in authorization responses (RFC 9207)" \
	test "$(json "$work/discovery.json" authorization_response_iss_parameter_supported)" = true
check "discovery lists the device authorization endpoint" \
	test "$(json "$work/discovery.json" device_authorization_endpoint)" = "$I/device/auth"

control() {
	curl -sS -o /dev/null -H 'Content-Type: application/json' -d "$1" "$I/test/control"
}
token() { # OUT [curl args]: POST to the token endpoint, print the status
	out=$1
	shift
	post "$I/token" "$out" "$@"
}
poll_device() { # OUT DEVICE_CODE_FILE
	token "$1" -d client_id=mailoauth-public \
		-d grant_type=urn:ietf:params:oauth:grant-type:device_code \
		--data-urlencode "device_code@$2"
}
introspect() { # OUT TOKEN_FILE
	post "$I/token/introspection" "$1" -K "$work/dovecot.curlrc" --data-urlencode "token@$2"
}

# --- device flow ----------------------------------------------------------------

code=$(post "$I/device/auth" "$work/dev.json" -d client_id=mailoauth-public \
	--data-urlencode "scope=openid offline_access mail")
check "device authorization answers 200" test "$code" = 200
check "device authorization response has the added interval" test "$(json "$work/dev.json" interval)" = 1
check "device authorization response has verification_uri_complete" \
	test -n "$(json "$work/dev.json" verification_uri_complete)"
save "$work/dev.json" device_code "$work/dev.code"

code=$(poll_device "$work/poll.json" "$work/dev.code")
check "poll before approval: 400 authorization_pending" \
	test "$code/$(json "$work/poll.json" error)" = "400/authorization_pending"
control '{"slow_down":1}'
code=$(poll_device "$work/poll.json" "$work/dev.code")
check "slow_down injected once" test "$code/$(json "$work/poll.json" error)" = "400/slow_down"
code=$(poll_device "$work/poll.json" "$work/dev.code")
check "then authorization_pending again" test "$(json "$work/poll.json" error)" = authorization_pending

check "approve-device.sh approves" "$here/approve-device.sh" "$(json "$work/dev.json" verification_uri_complete)"
code=$(poll_device "$work/tok1.json" "$work/dev.code")
check "poll after approval: 200 with a refresh token" \
	test "$code" = 200 -a -n "$(json "$work/tok1.json" refresh_token)"
curl -sS -o "$work/stats.json" "$I/test/stats"
check "stats count 4 device polls" test "$(json "$work/stats.json" device_polls)" = 4
save "$work/tok1.json" refresh_token "$work/rt1"
code=$(token "$work/tok2.json" -d client_id=mailoauth-public -d grant_type=refresh_token \
	--data-urlencode "refresh_token@$work/rt1")
save "$work/tok2.json" refresh_token "$work/rt2"
save "$work/tok2.json" access_token "$work/at2"
check "refresh: 200 and a rotated refresh token" \
	test "$code" = 200 -a -s "$work/rt2" -a "$(cat "$work/rt2")" != "$(cat "$work/rt1")"

code=$(introspect "$work/intro.json" "$work/at2")
check "introspection as dovecot: active" test "$code/$(json "$work/intro.json" active)" = 200/true
check "introspection as dovecot: username is the account" \
	test "$(json "$work/intro.json" username)" = me@example.com

code=$(token "$work/reuse.json" -d client_id=mailoauth-public -d grant_type=refresh_token \
	--data-urlencode "refresh_token@$work/rt1")
check "reusing the old refresh token: invalid_grant" \
	test "$code/$(json "$work/reuse.json" error)" = 400/invalid_grant
code=$(token "$work/reuse.json" -d client_id=mailoauth-public -d grant_type=refresh_token \
	--data-urlencode "refresh_token@$work/rt2")
check "... which revoked the grant: the new refresh token fails too" \
	test "$(json "$work/reuse.json" error)" = invalid_grant
introspect "$work/intro.json" "$work/at2" >/dev/null
check "... and its access token is no longer active" test "$(json "$work/intro.json" active)" = false

# a second device grant, to see what polling a redeemed device code does
post "$I/device/auth" "$work/dev.json" -d client_id=mailoauth-public -d scope=mail >/dev/null
save "$work/dev.json" device_code "$work/dev.code"
check "approve-device.sh approves again" \
	"$here/approve-device.sh" "$(json "$work/dev.json" verification_uri_complete)"
poll_device "$work/tok3.json" "$work/dev.code" >/dev/null
save "$work/tok3.json" access_token "$work/at3"
code=$(poll_device "$work/poll.json" "$work/dev.code")
check "a redeemed device code: invalid_grant" test "$(json "$work/poll.json" error)" = invalid_grant
introspect "$work/intro.json" "$work/at3" >/dev/null
check "... which revoked the grant: its access token is no longer active" \
	test "$(json "$work/intro.json" active)" = false

code=$(token "$work/noclient.json" -d grant_type=refresh_token --data-urlencode "refresh_token@$work/rt2")
check "a token request without client_id: invalid_request" \
	test "$code/$(json "$work/noclient.json" error)" = 400/invalid_request

# --- authorization code + PKCE S256 ---------------------------------------------

verifier=$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64url"))')
printf '%s' "$verifier" >"$work/verifier"
challenge=$(printf '%s' "$verifier" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n')
enc_redirect=$(printf '%s' "$REDIRECT" | sed 's,:,%3A,g; s,/,%2F,g')
auth_url() { # CLIENT_ID STATE
	echo "$I/auth?response_type=code&client_id=$1&redirect_uri=$enc_redirect&scope=openid%20offline_access%20mail&state=$2&code_challenge=$challenge&code_challenge_method=S256"
}
exchange() { # OUT CLIENT_ID CODE [curl args]
	out=$1 client=$2 authcode=$3
	shift 3
	printf '%s' "$authcode" >"$work/authcode"
	token "$out" -d grant_type=authorization_code -d "client_id=$client" \
		--data-urlencode "code@$work/authcode" --data-urlencode "code_verifier@$work/verifier" \
		--data-urlencode "redirect_uri=$REDIRECT" "$@"
}

check "browser-login.sh reaches the listener (public client)" \
	"$here/browser-login.sh" "$(auth_url mailoauth-public st1)"
last=$(tail -n 1 "$work/listener.requests")
check "the redirect carries state" test "$(query "$last" state)" = st1
check "the redirect carries iss" \
	test "$(query "$last" iss)" = "$(printf '%s' "$I" | sed 's,:,%3A,g; s,/,%2F,g')"
code=$(exchange "$work/pub.json" mailoauth-public "$(query "$last" code)")
check "public client: code exchanged, with a refresh token" \
	test "$code" = 200 -a -n "$(json "$work/pub.json" refresh_token)"
check "without prompt=consent offline_access is not granted" \
	test "$(json "$work/pub.json" scope)" = "openid mail"
code=$(exchange "$work/pub2.json" mailoauth-public "$(query "$last" code)")
check "a code used twice: invalid_grant" test "$(json "$work/pub2.json" error)" = invalid_grant

pasted=$("$here/browser-login.sh" --print-redirect "$(auth_url mailoauth-confidential st2)&prompt=consent")
check "browser-login.sh --print-redirect prints the loopback URL" \
	test "${pasted%%\?*}" = "$REDIRECT" -a "$(query "$pasted" state)" = st2
code=$(exchange "$work/conf.json" mailoauth-confidential "$(query "$pasted" code)")
check "confidential client without its secret: 401 invalid_client" \
	test "$code/$(json "$work/conf.json" error)" = 401/invalid_client
code=$(exchange "$work/conf.json" mailoauth-confidential "$(query "$pasted" code)" \
	--data-urlencode "client_secret@$work/confidential.secret")
check "confidential client (client_secret_post): code exchanged" \
	test "$code" = 200 -a -n "$(json "$work/conf.json" refresh_token)"
check "prompt=consent keeps offline_access" \
	test "$(json "$work/conf.json" scope)" = "openid offline_access mail"

pasted=$("$here/browser-login.sh" --print-redirect \
	"$(auth_url mailoauth-public st3 | sed 's/&code_challenge=[^&]*&code_challenge_method=S256//')")
check "no PKCE: invalid_request at the redirect" test "$(query "$pasted" error)" = invalid_request

# --- deny -------------------------------------------------------------------------

control '{"mode":"deny"}'
pasted=$("$here/browser-login.sh" --print-redirect "$(auth_url mailoauth-public st4)")
check "deny mode: the redirect has error=access_denied" test "$(query "$pasted" error)" = access_denied

post "$I/device/auth" "$work/dev.json" -d client_id=mailoauth-public -d scope=mail >/dev/null
save "$work/dev.json" device_code "$work/dev.code"
if "$here/approve-device.sh" "$(json "$work/dev.json" verification_uri_complete)" 2>/dev/null; then
	not_ok "deny mode: approve-device.sh fails"
else
	ok "deny mode: approve-device.sh fails"
fi
poll_device "$work/poll.json" "$work/dev.code" >/dev/null
check "deny mode: the device poll gets access_denied" test "$(json "$work/poll.json" error)" = access_denied

control '{"mode":"approve"}'
post "$I/device/auth" "$work/dev.json" -d client_id=mailoauth-public -d scope=mail >/dev/null
save "$work/dev.json" device_code "$work/dev.code"
check "approve-device.sh --deny aborts" \
	"$here/approve-device.sh" --deny "$(json "$work/dev.json" verification_uri_complete)"
poll_device "$work/poll.json" "$work/dev.code" >/dev/null
check "... and the device poll gets access_denied" test "$(json "$work/poll.json" error)" = access_denied

# --- injected token endpoint failures ----------------------------------------------

control '{"fail_token":1,"fail_status":503,"retry_after":7}'
curl -sS -D "$work/headers" -o "$work/fail.json" -d client_id=mailoauth-public \
	-d grant_type=refresh_token -d refresh_token=x "$I/token"
check "fail_token: 503 with Retry-After" \
	grep -qi '^Retry-After: 7' "$work/headers"
code=$(token "$work/fail.json" -d client_id=mailoauth-public -d grant_type=refresh_token -d refresh_token=x)
check "... once" test "$code/$(json "$work/fail.json" error)" = 400/invalid_grant

# --- a second provider: short device code and access token lifetimes ----------------

start_provider short --device-code-ttl 1 --access-token-ttl 2
I=$issuer
post "$I/device/auth" "$work/dev.json" -d client_id=mailoauth-public -d scope=mail >/dev/null
save "$work/dev.json" device_code "$work/dev.code"
check "device code ttl is expires_in" test "$(json "$work/dev.json" expires_in)" = 1
sleep 2
poll_device "$work/poll.json" "$work/dev.code" >/dev/null
check "an expired device code: expired_token" test "$(json "$work/poll.json" error)" = expired_token

# (the authorization code flow here: a 1 s device code expires while approved)
pasted=$("$here/browser-login.sh" --print-redirect "$(auth_url mailoauth-public st5)")
exchange "$work/tok.json" mailoauth-public "$(query "$pasted" code)" >/dev/null
check "access token ttl is expires_in" test "$(json "$work/tok.json" expires_in)" = 2
save "$work/tok.json" access_token "$work/at"
sleep 3
introspect "$work/intro.json" "$work/at" >/dev/null
check "an expired access token introspects inactive" test "$(json "$work/intro.json" active)" = false

echo "1..$n"
[ "$failed" -eq 0 ]
