#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Self-test of tests/lib/polkit.sh, the private system bus + polkitd that the
# export's tests run `pkexec` against: run as the test user, `pkexec PROG`
# runs PROG as root with the arguments and stdin it was given and a clean
# environment, once a rule allows it; without the rule, for another user, for
# a program without an action, or after pk_deny_all, pkexec refuses (exit
# 127) and PROG does not run; and pk_teardown leaves nothing running or
# mounted.  Needs root, pkexec and polkitd; skips without them.  TAP on stdout.
#
# Run by hand: bash tests/integration/test-pkexec-harness.sh
# (MO_PK_MODE=host tries the mode without a mount namespace.)

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/polkit.sh
. "$MO_LIBDIR/polkit.sh"
pk_enter_namespace "$@"

T0=${EPOCHREALTIME/./}
ACTION=org.mailoauth.test.pkexec-harness
ACTION2=org.mailoauth.test.pkexec-harness-policy
LIBEXEC=/usr/local/libexec
PROG=$LIBEXEC/mailoauth-pkexec-selftest
PROG2=$LIBEXEC/mailoauth-pkexec-selftest2
OTHER_USER=nobody

TEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailoauth-test.XXXXXX") || bail_out "mktemp failed"
chmod 0700 "$TEST_DIR"
trap mo_cleanup EXIT

pk_setup "$TEST_DIR/polkit" || pk_skip_all_or_bail
SETUP_MS=$(((${EPOCHREALTIME/./} - T0) / 1000))
ok "private system bus and polkitd run ($PK_MODE mode, set up in $SETUP_MS ms)"
diag "polkitd PID $PK_POLKITD_PID, dbus-daemon PID $PK_BUS_PID, user $PK_USER ($PK_UID)"
[ "$PK_MODE" = namespace ] || diag "no namespace: ${MO_PK_NS_ERROR:-}"

# ---------------------------------------------------------------- the program ----

# PROG is a copy of this script (root:root 0755, in a root-owned directory):
# it counts its runs in RUNS (root-only TEST_DIR), prints its uid, the owner
# of its parent (pkexec exec()s it, so that is pkexec's caller), each
# argument, its environment, then its stdin.
RUNS="$TEST_DIR/runs"
mkdir "$RUNS"
cat >"$TEST_DIR/prog" <<EOF
#!/bin/sh
: >"$RUNS/run.\$\$"
echo "uid=\$(id -u)"
echo "caller=\$(stat -c %U /proc/\$PPID)"
for a in "\$@"; do echo "arg=\$a"; done
env | sed 's/^/env:/'
echo "--stdin--"
exec cat
EOF
runs() {
	local f n=0
	for f in "$RUNS"/run.*; do
		[ -e "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

check "pk_install_file puts PROG at $PROG" pk_install_file "$TEST_DIR/prog" "$PROG"
check "pk_install_action registers $ACTION for PROG" pk_install_action "$ACTION" "$PROG"
assert_eq "$(stat -c '%U %a' "$PROG") $(stat -c %U "$LIBEXEC")" "root 755 root" \
	"PROG is root's, 0755, in a root-owned directory"
# shellcheck disable=SC2317 # called through check
user_ok() {
	[ "$(getent passwd "$PK_USER" | cut -d: -f3)" = "$PK_UID" ] &&
		[ "$(stat -c '%u %a' "$PK_HOME")" = "$PK_UID 700" ]
}
check "the test user $PK_USER exists, with a 0700 home $PK_HOME" user_ok

# pkexec_as NAME USER PROGRAM ARGS...: runs `pkexec PROGRAM ARGS` as USER with
# FOO=bar in its environment and $TEST_DIR/stdin on stdin (see run_cmd).
printf '{"account": "a@example.com",\n "token": "x y\\\\z"}' >"$TEST_DIR/stdin"
pkexec_as() {
	local name=$1 user=$2
	shift 2
	pk_as_cmd "$user" || return 1
	MO_STDIN="$TEST_DIR/stdin" run_cmd "$name" "${PK_AS[@]}" env FOO=bar pkexec "$@"
}

# What pkexec says when polkit asks for authentication (auth_admin and no
# rule) and there is no agent: it tries its own text agent, which needs a
# controlling terminal; when a rule says NO, it is refused outright.
readonly NO_AGENT="Error creating textual authentication agent"
readonly NOT_AUTHORIZED="Error executing command as another user: Not authorized"

# refused NAME USER PROGRAM DESC MESSAGE: pkexec refuses with 127 and
# MESSAGE, and PROG did not run.
refused() {
	local before
	before=$(runs)
	pkexec_as "$1" "$2" "$3" arg
	assert_rc 127 "$4: pkexec exits 127"
	assert_contains "$ERR" "$5" "$4: pkexec says: ${5%%:*}"
	assert_eq "$(runs)" "$before" "$4: the program did not run"
}

# ------------------------------------------------------------------ refused ----

refused no-rule "$PK_USER" "$PROG" "no rule (auth_admin, no agent)" "$NO_AGENT"

# ------------------------------------------------------------------ allowed ----

check "pk_allow $PK_USER $ACTION" pk_allow "$PK_USER" "$ACTION"
before=$(runs)
pkexec_as allowed "$PK_USER" "$PROG" a1 "b 2" ""
assert_rc 0 "allowed: pkexec exits 0 (took $ELAPSED_MS ms)"
assert_eq "$(runs)" "$((before + 1))" "allowed: the program ran once"
assert_matches "$OUT" '^uid=0$' "allowed: the program runs as uid 0"
assert_matches "$OUT" "^caller=$PK_USER\$" "allowed: pkexec's caller was the test user's process"
assert_eq "$(grep '^arg=' "$OUT" | tr '\n' '|')" "arg=a1|arg=b 2|arg=|" \
	"allowed: the arguments arrive as given"
got='' want=''
slurp got "$OUT"
slurp want "$TEST_DIR/stdin"
assert_eq "${got#*--stdin--$'\n'}" "$want" "allowed: stdin reaches the program byte for byte"
assert_not_contains "$OUT" "env:FOO=" "allowed: FOO=bar of the caller does not reach the program"
assert_matches "$OUT" "^env:PKEXEC_UID=$PK_UID\$" "allowed: PKEXEC_UID names the test user"
assert_matches "$OUT" '^env:USER=root$' "allowed: USER=root (pkexec's own environment)"
[ "$RC" = 0 ] || pk_diag_log 40

refused other-user "$OTHER_USER" "$PROG" "another user ($OTHER_USER)" "$NO_AGENT"

# A program with no action of its own falls back to org.freedesktop.policykit.exec.
pk_install_file "$TEST_DIR/prog" "$LIBEXEC/mailoauth-pkexec-unlisted" || not_ok "pk_install_file unlisted"
refused no-action "$PK_USER" "$LIBEXEC/mailoauth-pkexec-unlisted" "a program without an action" "$NO_AGENT"

# pkexec looks at the program's path with the caller's rights: a program
# the caller cannot reach (here in the 0700 TEST_DIR) is refused, whatever
# the rules say.
install -m 0755 -o root -g root "$TEST_DIR/prog" "$TEST_DIR/hidden"
refused unreachable "$PK_USER" "$TEST_DIR/hidden" "a program in a directory the caller cannot enter" \
	"Error accessing $TEST_DIR/hidden: Permission denied"

# ------------------------------------------- a policy file, as the real one ----

cat >"$TEST_DIR/selftest.policy.in" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD PolicyKit Policy Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/PolicyKit/1/policyconfig.dtd">
<policyconfig>
  <action id="@action@">
    <description>Self-test of the polkit harness</description>
    <message>Authentication is required to run the self-test program</message>
    <defaults>
      <allow_any>auth_admin_keep</allow_any>
      <allow_inactive>auth_admin_keep</allow_inactive>
      <allow_active>auth_admin_keep</allow_active>
    </defaults>
    <annotate key="org.freedesktop.policykit.exec.path">@libexecdir@/mailoauth-pkexec-selftest2</annotate>
  </action>
</policyconfig>
EOF
check "pk_install_file puts a second program into the same directory" \
	pk_install_file "$TEST_DIR/prog" "$PROG2"
check "pk_install_policy FILE.policy.in KEY=VALUE... registers $ACTION2" \
	pk_install_policy "$TEST_DIR/selftest.policy.in" "libexecdir=$LIBEXEC" "action=$ACTION2"
check "pk_allow $PK_USER $ACTION2" pk_allow "$PK_USER" "$ACTION2"
pkexec_as policy-file "$PK_USER" "$PROG2" x
assert_rc 0 "installed policy file: pkexec exits 0"
assert_matches "$OUT" '^uid=0$' "installed policy file: the program runs as uid 0"

# --------------------------------------------------------- deny all, reset ----

check "pk_deny_all" pk_deny_all
refused deny-all "$PK_USER" "$PROG" "after pk_deny_all" "$NOT_AUTHORIZED"
check "pk_allow after pk_deny_all" pk_allow "$PK_USER" "$ACTION"
pkexec_as allowed-again "$PK_USER" "$PROG"
assert_rc 0 "pk_allow lifts pk_deny_all"
check "pk_reset_rules" pk_reset_rules
refused reset "$PK_USER" "$PROG" "after pk_reset_rules" "$NO_AGENT"

# ---------------------------------------------------------------- teardown ----

bus_pid=$PK_BUS_PID polkitd_pid=$PK_POLKITD_PID mode=$PK_MODE user=$PK_USER made_user=$PK_MADE_USER
pk_teardown
check "pk_teardown stops polkitd and the bus" \
	test ! -e "/proc/$polkitd_pid" -a ! -e "/proc/$bus_pid"
check "pk_teardown leaves no socket at /run/dbus/system_bus_socket" test ! -e /run/dbus/system_bus_socket
check "pk_teardown removes the programs" test ! -e "$PROG" -a ! -e "$PROG2" -a ! -e "$LIBEXEC/mailoauth-pkexec-unlisted"
check "pk_teardown leaves no action or rule of ours" \
	test ! -e "/usr/share/polkit-1/actions/$ACTION.policy" -a -z "$(compgen -G '/etc/polkit-1/rules.d/00-mailoauth-test-*')"
if [ "$mode" = namespace ]; then
	check "pk_teardown unmounts everything it mounted" \
		test -z "$(findmnt -rn -o TARGET | grep -E '^(/run/dbus|/usr/share/polkit-1/actions|/etc/polkit-1/rules.d|/etc/passwd|/etc/group|/usr/local)$')"
fi
if [ "$mode" = namespace ] || [ -n "$made_user" ]; then
	check "the test user $user is gone" test -z "$(getent passwd "$user")"
fi
diag "whole run: $(((${EPOCHREALTIME/./} - T0) / 1000)) ms"
tap_done
