# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The test OpenID provider (tests/provider/server.mjs) for integration tests:
# sourced after common.sh.  Started per test, stopped by PID (the EXIT trap of
# common.sh, or stop_provider).  Secrets stay in files: the clients file is
# $TEST_DIR/clients.json (0600, created by the server).

PROVIDER_DIR=${MO_PROVIDER_DIR:-$MO_LIBDIR/../provider}

# start_provider NAME ARGS...: server.mjs with ARGS; sets PV_PID, PV_DIR and ISSUER.
start_provider() {
	local name=$1 i
	shift
	PV_DIR="$TEST_DIR/provider-$name"
	mkdir -m 0700 "$PV_DIR" || return 1
	node "$PROVIDER_DIR/server.mjs" --clients-file "$TEST_DIR/clients.json" \
		--info-file "$PV_DIR/info.json" --pid-file "$PV_DIR/pid" "$@" 2>"$PV_DIR/log" &
	PV_PID=$!
	mo_track_pid "$PV_PID"
	for ((i = 0; i < 200; i++)); do
		[ -s "$PV_DIR/info.json" ] && break
		kill -0 "$PV_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$PV_DIR/info.json" ]; then
		diag "provider $name did not start:"
		diag_file "$PV_DIR/log"
		return 1
	fi
	ISSUER=$(json_get "$PV_DIR/info.json" 'd["issuer"]')
}

stop_provider() {
	[ -n "${PV_PID:-}" ] || return 0
	kill "$PV_PID" 2>/dev/null
	wait "$PV_PID" 2>/dev/null
	mo_untrack_pid "$PV_PID"
	PV_PID=
}

pv_curl() {
	curl -sS --noproxy '*' --max-time 10 "$@"
}

# pv_control JSON: POST /test/control.
pv_control() {
	pv_curl --fail -H 'Content-Type: application/json' -d "$1" \
		-o "$TEST_DIR/control.json" "$ISSUER/test/control"
}

# pv_stat KEY: token_requests or device_polls, from GET /test/stats.
pv_stat() {
	pv_curl --fail -o "$TEST_DIR/stats.json" "$ISSUER/test/stats" &&
		json_get "$TEST_DIR/stats.json" "d[\"$1\"]"
}

# secret_file NAME VALUE: VALUE (no newline: curl's @file sends a file as it
# is) in a 0600 file of TEST_DIR; prints its path.
secret_file() {
	(umask 077 && printf '%s' "$2" >"$TEST_DIR/$1")
	printf '%s\n' "$TEST_DIR/$1"
}

# introspect TOKEN: POST /token/introspection as Dovecot does (Basic auth from
# $TEST_DIR/dovecot.curlrc); prints the answer's "active" (true/false).
introspect() {
	local tok
	tok=$(secret_file introspect.token "$1")
	pv_curl -K "$TEST_DIR/dovecot.curlrc" --data-urlencode "token@$tok" \
		-o "$TEST_DIR/introspect.json" "$ISSUER/token/introspection"
	rm -f -- "$tok"
	json_get "$TEST_DIR/introspect.json" 'd.get("active")'
}

# revoke TOKEN: POST /token/revocation (mailoauth-public): oidc-provider
# revokes by grant, so every token of the grant dies, for either kind.
revoke() {
	local tok rc
	tok=$(secret_file revoke.token "$1")
	pv_curl --fail -d client_id=mailoauth-public --data-urlencode "token@$tok" \
		-o /dev/null "$ISSUER/token/revocation"
	rc=$?
	rm -f -- "$tok"
	return $rc
}
