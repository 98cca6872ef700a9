#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The files in data/ as their consumers read them: the export's systemd units pass
# `systemd-analyze verify` without a warning, and the timer runs the service.

. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

DATA_BUILD_DIR=${MO_DATA_BUILD_DIR:?MO_DATA_BUILD_DIR: the build directory of data/}
DATA_SRC_DIR=$G_TEST_SRCDIR/../../data

command -v systemd-analyze >/dev/null || bail_out "systemd-analyze not found (package systemd)"

# ------------------------------------------------------------ the units ----
units="$TEST_DIR/units"
mkdir -p "$units"
# verify checks that ExecStart exists: point it at the build tree's binary
sed "s|^ExecStart=[^ ]*/mailoauth |ExecStart=$MAILOAUTH |" \
	"$DATA_BUILD_DIR/mailoauth-export-refresh.service" >"$units/mailoauth-export-refresh.service"
cp "$DATA_SRC_DIR/mailoauth-export-refresh.timer" "$units/"

run_cmd verify systemd-analyze verify --man=no \
	"$units/mailoauth-export-refresh.service" "$units/mailoauth-export-refresh.timer"
assert_rc 0 "systemd-analyze verify accepts the service and the timer"
assert_empty "$ERR" "... without a warning"

svc="$units/mailoauth-export-refresh.service"
check "the service runs 'mailoauth refresh --exported' as postfix" \
	grep -qE "^ExecStart=.*/mailoauth refresh --exported" "$svc"
check "... as the mail owner, not root" grep -qx "User=postfix" "$svc"
for key in ProtectSystem=strict NoNewPrivileges=yes CapabilityBoundingSet= PrivateTmp=yes \
	ProtectHome=yes RestrictAddressFamilies="AF_UNIX AF_INET AF_INET6"; do
	check "hardened: $key" grep -qx "$key" "$svc"
done
check "it may write only the token and status directories" \
	test "$(grep -c '^ReadWritePaths=' "$svc")" -eq 2
check "the timer repeats the refresh every 10 minutes" \
	grep -qx "OnUnitActiveSec=10min" "$units/mailoauth-export-refresh.timer"

tap_done
