#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `mailoauth doctor` against setups made for real: which XOAUTH2 plugin
# libsasl2 gives mail programs, with sasl-xoauth2's stand-in (the same
# advertised properties, tests/sasl/mo-fake-xoauth2.c) beside ours in both
# orders of SASL_PATH and in one directory, and Debian's kdexoauth2 beside
# ours.  Every claim of doctor is checked against what the real libsasl2
# then does (the probe shows which plugin answered).  Also: a locked
# keyring, an account without refresh token.  TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

OURS=${MAILOAUTH_SASL_DIR:?}/libmailoauth.so
FAKE=${MO_FAKE_XOAUTH2:?the stand-in for the plugin of sasl-xoauth2}
KDE=/usr/lib/x86_64-linux-gnu/sasl2/libkdexoauth2.so
PROBE=${MO_SASL_PROBE:?}

mkdir -p "$TEST_DIR"/{ours,fake,both,kde}
ln -s "$OURS" "$TEST_DIR/ours/"
ln -s "$FAKE" "$TEST_DIR/fake/"
ln -s "$OURS" "$FAKE" "$TEST_DIR/both/"
[ -f "$KDE" ] && ln -s "$OURS" "$KDE" "$TEST_DIR/kde/"

# used_plugin PATH: USED is the plugin libsasl2 really uses for XOAUTH2 with
# this SASL_PATH: the stand-in's first message is "fake-xoauth2", ours carries
# the token.  (No $(...): run_cmd sets OUT for the caller.)
used_plugin() {
	write_secret_file "$TEST_DIR/pw" "ya29.doctor-token"
	MO_STDIN="$TEST_DIR/pw" run_cmd "probe-$TAP_COUNT" "$PROBE" --dir "$1" --mech XOAUTH2 --user u
	USED=none
	if grep -q '^initial: fake-xoauth2' "$OUT"; then
		USED=fakexoauth2
	elif grep -q '^initial: user=u^Aauth=Bearer ya29.doctor-token' "$OUT"; then
		USED=mailoauth
	fi
}

# doctor_says PATH: SAID is what doctor says of XOAUTH2; OUT its whole JSON.
doctor_says() {
	SASL_PATH=$1 run_cmd "doctor-$TAP_COUNT" "$MAILOAUTH" doctor --json
	SAID=$(json_get "$OUT" '[f for f in d if f["check"] == "SASL plugin for XOAUTH2"][0]["found"]')
}

for layout in "ours:fake" "fake:ours" "both"; do
	path=""
	IFS=: read -ra parts <<<"$layout"
	for p in "${parts[@]}"; do path+="${path:+:}$TEST_DIR/$p"; done
	used_plugin "$path"
	doctor_says "$path"
	if [ "$USED" = mailoauth ]; then
		assert_contains "$OUT" "mailoauth's is used" \
			"SASL_PATH=$layout: libsasl2 uses ours, and doctor says so"
	else
		check "SASL_PATH=$layout: libsasl2 uses $USED, and doctor names it ($SAID)" \
			test "$USED" = fakexoauth2 -a -n "$(grep -F "gives mail programs the plugin “fakexoauth2”" "$OUT")"
		assert_contains "$OUT" "put mailoauth's directory first in SASL_PATH" "... with the fix"
		assert_eq "$RC" 1 "... and exits 1"
	fi
done

if [ -f "$KDE" ]; then
	used_plugin "$TEST_DIR/kde"
	assert_eq "$USED" mailoauth "beside Debian's kdexoauth2, libsasl2 uses ours"
	doctor_says "$TEST_DIR/kde"
	assert_contains "$OUT" "mailoauth's is used (offered by: mailoauth, kdexoauth2)" \
		"... doctor says so, and lists both"
else
	skip "beside Debian's kdexoauth2" "no $KDE (libsasl2-modules-kdexoauth2)"
fi

SASL_PATH="$TEST_DIR/fake" run_cmd missing "$MAILOAUTH" doctor
assert_rc 1 "our plugin missing from SASL_PATH: doctor exits 1"
assert_contains "$OUT" "mailoauth's plugin is not where libsasl2 looks" "... and says where it is missing"

# a clean setup: keyring unlocked, ours used, an account with a refresh token
write_token_file "$TEST_DIR/t.json" "access_token=at-doc" "refresh_token=rt-doc" \
	"expiry=$(($(now) + 3600))" "client_id=c" "token_endpoint=http://127.0.0.1:9/token"
mo import import "$TEST_DIR/t.json" --account ok@example.com
SASL_PATH="$TEST_DIR/ours" run_cmd clean "$MAILOAUTH" doctor
assert_rc 0 "a clean setup: doctor exits 0"
assert_contains "$OUT" "[ok] keyring: reachable and unlocked" "... the keyring is reachable and unlocked"
assert_contains "$OUT" "[ok] account ok@example.com: has a refresh token" "... the account has a refresh token"

lock_login_collection
SASL_PATH="$TEST_DIR/ours" run_cmd locked "$MAILOAUTH" doctor
assert_rc 1 "a locked keyring: doctor exits 1"
assert_contains "$OUT" "the default collection is locked" "... and says the keyring is locked"

tap_done
