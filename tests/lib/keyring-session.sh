#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# keyring-session.sh CMD [ARGS...]
# keyring-session.sh --check
#
# Runs CMD inside a private D-Bus session bus with its own Secret Service
# and its default collection, in a fresh HOME and XDG_* tree that is removed
# afterwards.  Exits with CMD's exit status (or 125 if the session
# could not be set up).
#
# MO_KEYRING chooses the Secret Service (see DESIGN.md §4):
#   gnome      (default) gnome-keyring-daemon --unlock --components=secrets,
#              password on stdin; the collection is `login`.
#   kwallet    kwalletd5 (libkf5wallet-bin) with its Secret Service API on
#              (kwalletrc), started headless (QT_QPA_PLATFORM=offscreen)
#              through its --pam-login path as pam_kwallet5 does: a password
#              hash on a pipe, the environment on a socket.  The first start
#              creates the wallet `kdewallet`; the second opens it, and CMD
#              starts as after a KDE login: the collection says Locked until
#              a client calls Unlock and runs the prompt, which then completes
#              without a dialog (mailoauth does; secret-tool does not).
#   keepassxc  keepassxc (the GUI, offscreen) with its Secret Service
#              integration on (keepassxc.ini), a database made with
#              keepassxc-cli from an XML file that exposes a group
#              (FDO_SECRETS_EXPOSED_GROUP), opened with --pw-stdin; the
#              collection is named after the file: `login`.
# gnome-keyring and KeePassXC start unlocked.
#
# --check prints why MO_KEYRING=kwallet|keepassxc cannot run here (a
# missing program, with its Debian package) and exits 77, or exits 0; the
# tests then skip.  A missing gnome-keyring stays an error (exit 125).
#
# Why it is done this way:
#  - HOME/XDG_* must be set before dbus-run-session: services the bus
#    activates inherit the bus's environment, not ours.
#  - We wait until org.freedesktop.secrets has an owner before running CMD;
#    otherwise CMD's first call D-Bus-activates a second, locked daemon.
#  - For kwallet and keepassxc the bus activates nothing (no service
#    directories): a call that reached gnome-keyring by activation would
#    test the wrong keyring.
#  - Daemons are stopped by their PID, never by name.
#
# The bus's own log (and that of services it activates) is kept out of the
# way; set MAILOAUTH_TEST_SHOW_BUS_LOG=1 to see it.
#
# Inside, MAILOAUTH_TEST_KEYRING_SESSION=1 is set, MAILOAUTH_TEST_SESSION_DIR
# names the temporary tree, MAILOAUTH_TEST_KEYRING is the backend,
# MAILOAUTH_TEST_COLLECTION the D-Bus path of the default collection and
# MAILOAUTH_TEST_KEYRING_PID the daemon's PID.

set -u

readonly SETUP_FAILED=125
readonly SKIPPED=77
readonly OWNER_WAIT_STEPS=100 # x 0.1 s
readonly SECRETS_PATH=/org/freedesktop/secrets

MO_KEYRING=${MO_KEYRING:-gnome}
# Debian's python3, not a wrapper that may be first in PATH (pyenv's takes seconds)
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

die() {
	echo "keyring-session.sh: $*" >&2
	exit "$SETUP_FAILED"
}

# why_not: prints why $MO_KEYRING cannot run here, or nothing; fails for
# a name it does not know (a mistake, not a skip).
why_not() {
	local need=(dbus-run-session:dbus gdbus:libglib2.0-bin) prog
	case "$MO_KEYRING" in
	gnome) need+=(gnome-keyring-daemon:gnome-keyring) ;;
	kwallet) need+=(kwalletd5:libkf5wallet-bin "$PYTHON":python3) ;;
	keepassxc) need+=(keepassxc:keepassxc keepassxc-cli:keepassxc) ;;
	*)
		echo "unknown MO_KEYRING=$MO_KEYRING (gnome, kwallet or keepassxc)"
		return 1
		;;
	esac
	for prog in "${need[@]}"; do
		command -v "${prog%%:*}" >/dev/null ||
			echo "${prog%%:*} not found (Debian package ${prog#*:})"
	done
	# kwalletd5's Secret Service fails every session without QCA's OpenSSL
	# plugin ("createDLGroup failed: maybe libqca-ossl is missing")
	if [ "$MO_KEYRING" = kwallet ] &&
		! compgen -G '/usr/lib/*/qca-qt5/crypto/libqca-ossl.so' >/dev/null; then
		echo "libqca-ossl.so not found (Debian package libqca-qt5-2-plugins)"
	fi
}

# --- outer half: fresh directories, then a private bus ---------------------
outer() {
	local top rc reason bus_config=()
	reason=$(why_not)
	[ -z "$reason" ] || die "MO_KEYRING=$MO_KEYRING: ${reason//$'\n'/; }"

	top=$(mktemp -d "${TMPDIR:-/tmp}/mailoauth-keyring.XXXXXX") || die "mktemp failed"
	# shellcheck disable=SC2064 # expand $top now
	trap "rm -rf -- '$top'" EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -m 0700 "$top/home" "$top/config" "$top/data" "$top/cache" "$top/runtime" ||
		die "cannot create directories in $top"

	export HOME="$top/home"
	export XDG_CONFIG_HOME="$top/config"
	export XDG_DATA_HOME="$top/data"
	export XDG_CACHE_HOME="$top/cache"
	export XDG_RUNTIME_DIR="$top/runtime"
	export MAILOAUTH_TEST_SESSION_DIR="$top"
	export MO_KEYRING
	# Headless and self-contained: no prompts on a real display, no outer
	# bus or keyring, and loopback traffic never goes through a proxy.
	unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL \
		SSH_AUTH_SOCK SECRET_BACKEND http_proxy https_proxy HTTP_PROXY HTTPS_PROXY \
		all_proxy ALL_PROXY
	export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1

	if [ "$MO_KEYRING" != gnome ]; then
		# a session bus that activates nothing
		cat >"$top/bus.conf" <<EOF || die "cannot write $top/bus.conf"
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=$top/runtime</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
		bus_config=(--config-file="$top/bus.conf")
	fi

	# The bus and the services it activates (gnome-keyring's prompter, which
	# fails without a display) log to dbus.log; CMD gets our stderr back on fd 3.
	dbus-run-session "${bus_config[@]}" -- bash "${BASH_SOURCE[0]}" --inner "$@" \
		3>&2 2>"$top/dbus.log"
	rc=$?
	if [ "$rc" -eq "$SETUP_FAILED" ] || [ -n "${MAILOAUTH_TEST_SHOW_BUS_LOG:-}" ]; then
		sed 's/^/bus: /' "$top/dbus.log" >&2
		for log in "$top"/*-daemon.log; do
			[ -s "$log" ] && sed "s/^/$(basename "$log" .log): /" "$log" >&2
		done
	fi
	exit "$rc"
}

# --- inner half: on the private bus ----------------------------------------
has_owner() {
	local reply
	reply=$(gdbus call --session --timeout 2 --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.NameHasOwner "$1" 2>/dev/null) ||
		return 1
	[ "$reply" = "(true,)" ]
}

# wait_for_owner PID NAME LOG: until NAME has an owner; fails if PID exits.
wait_for_owner() {
	local pid=$1 name=$2 log=$3 i
	for ((i = 0; i < OWNER_WAIT_STEPS; i++)); do
		has_owner "$name" && return 0
		kill -0 "$pid" 2>/dev/null || {
			cat "$log" >&2
			die "$MO_KEYRING: the daemon exited early"
		}
		sleep 0.1
	done
	cat "$log" >&2
	die "$MO_KEYRING: $name got no owner within $((OWNER_WAIT_STEPS / 10)) s"
}

# collection_locked: true if the default collection says Locked.
collection_locked() {
	local reply
	reply=$(gdbus call --session --timeout 10 --dest org.freedesktop.secrets \
		--object-path "$MAILOAUTH_TEST_COLLECTION" --method org.freedesktop.DBus.Properties.Get \
		org.freedesktop.Secret.Collection Locked 2>&1) || return 2
	[ "$reply" = "(<true>,)" ]
}

# --- gnome-keyring -------------------------------------------------------------
gnome_setup() {
	local top=$1
	MAILOAUTH_TEST_COLLECTION=$SECRETS_PATH/collection/login
	# The login password is a throwaway; it goes to the daemon on stdin.
	(umask 077 && head -c 24 /dev/urandom | base64 >"$top/keyring-password") ||
		die "cannot write $top/keyring-password"
}

gnome_start() {
	local top=$1
	gnome-keyring-daemon --foreground --unlock --components=secrets \
		<"$top/keyring-password" >>"$top/gnome-keyring-daemon.log" 2>&1 &
	echo "$!" >"$top/keyring.pid"
	wait_for_owner "$!" org.freedesktop.secrets "$top/gnome-keyring-daemon.log"
}

# --- KWallet ---------------------------------------------------------------------
kwallet_setup() {
	local top=$1
	MAILOAUTH_TEST_COLLECTION=$SECRETS_PATH/collection/kdewallet
	# Enabled, no manager, never closed for idleness, the Secret Service API on.
	cat >"$XDG_CONFIG_HOME/kwalletrc" <<EOF || die "cannot write kwalletrc"
[Wallet]
Enabled=true
First Use=false
Default Wallet=kdewallet
Close When Idle=false
Close on Screensaver=false
Leave Open=true
Launch Manager=false
Use One Wallet=true

[org.freedesktop.secrets]
apiEnabled=true
EOF
	# The login hash (PBKDF2-SHA512, 56 bytes, in pam_kwallet5) is a throwaway.
	(umask 077 && head -c 56 /dev/urandom >"$top/kwallet-hash") ||
		die "cannot write $top/kwallet-hash"
	# First start: pamOpen creates the wallet, after the Secret Service side
	# has looked for wallets; the second start lists it.
	kwallet_start "$top"
	backend_stop "$top"
}

# kwallet_start TOP: kwalletd5 --pam-login HASH_FD ENV_FD, as pam_kwallet5
# starts it: the hash on a pipe, the environment lines on a socket it
# accepts once.  The process execs into kwalletd5, so its PID is the daemon's.
kwallet_start() {
	local top=$1 pid
	QT_QPA_PLATFORM=offscreen PAM_KWALLET5_LOGIN=1 "$PYTHON" - "$top/kwallet-hash" \
		"$top/kwallet-env.socket" >>"$top/kwalletd5-daemon.log" 2>&1 <<'EOF' &
import os, socket, sys
hash_file, sock_path = sys.argv[1:3]
with open(hash_file, "rb") as f:
    digest = f.read()
r, w = os.pipe()
os.write(w, digest)
os.close(w)
if os.path.exists(sock_path):
    os.unlink(sock_path)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sock_path)
listener.listen(1)
# the environment, as pam_kwallet5 sends it; kwalletd5 accepts the waiting
# connection and reads until EOF
c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
c.connect(sock_path)
c.sendall(("DBUS_SESSION_BUS_ADDRESS=%s\n" % os.environ["DBUS_SESSION_BUS_ADDRESS"]).encode())
c.close()
os.set_inheritable(r, True)
os.set_inheritable(listener.fileno(), True)
os.execvp("kwalletd5", ["kwalletd5", "--pam-login", str(r), str(listener.fileno())])
EOF
	pid=$!
	echo "$pid" >"$top/keyring.pid"
	wait_for_owner "$pid" org.freedesktop.secrets "$top/kwalletd5-daemon.log"
	rm -f -- "$top/kwallet-env.socket"
}


# --- KeePassXC -------------------------------------------------------------------
keepassxc_setup() {
	local top=$1 db=$1/data/login.kdbx root_uuid group_uuid
	MAILOAUTH_TEST_COLLECTION=$SECRETS_PATH/collection/login
	(umask 077 && head -c 24 /dev/urandom | base64 >"$top/keepassxc-password") ||
		die "cannot write $top/keepassxc-password"
	mkdir -p "$XDG_CONFIG_HOME/keepassxc" || die "cannot create keepassxc's config directory"
	# Secret Service on, no confirmations or notifications, nothing that
	# locks the database behind our back, every change saved at once.
	cat >"$XDG_CONFIG_HOME/keepassxc/keepassxc.ini" <<EOF || die "cannot write keepassxc.ini"
[General]
ConfigVersion=2
SingleInstance=false
RememberLastDatabases=false
RememberLastKeyFiles=false
OpenPreviousDatabasesOnStartup=false
AutoSaveAfterEveryChange=true
UpdateCheckMessageShown=true

[GUI]
CheckForUpdates=false
ShowTrayIcon=false
MinimizeOnStartup=false

[Security]
LockDatabaseIdle=false
LockDatabaseScreenLock=false
LockDatabaseMinimize=false
QuickUnlock=false

[FdoSecrets]
Enabled=true
ShowNotification=false
ConfirmDeleteItem=false
ConfirmAccessItem=false
UnlockBeforeSearch=false
EOF
	# keepassxc-cli has no command to expose a group to the Secret Service
	# (database custom data), but imports a KeePass XML file that sets it.
	root_uuid=$(head -c 16 /dev/urandom | base64)
	head -c 16 /dev/urandom >"$top/keepassxc-group" || die "cannot write $top/keepassxc-group"
	# the group's UUID in the XML is base64, in the custom data {8-4-4-4-12} hex
	group_uuid=$(od -An -tx1 "$top/keepassxc-group" | tr -d ' \n' |
		sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12})$/{\1-\2-\3-\4-\5}/')
	cat >"$top/keepassxc.xml" <<EOF || die "cannot write keepassxc.xml"
<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<KeePassFile>
 <Meta>
  <Generator>mailoauth tests</Generator>
  <DatabaseName>login</DatabaseName>
  <CustomData>
   <Item><Key>FDO_SECRETS_EXPOSED_GROUP</Key><Value>$group_uuid</Value></Item>
  </CustomData>
 </Meta>
 <Root>
  <Group>
   <UUID>$root_uuid</UUID>
   <Name>Root</Name>
   <Group>
    <UUID>$(base64 "$top/keepassxc-group")</UUID>
    <Name>Secret Service</Name>
   </Group>
  </Group>
 </Root>
</KeePassFile>
EOF
	# the password twice (new and repeated) on stdin; 100 ms of key derivation
	{ cat "$top/keepassxc-password" "$top/keepassxc-password"; } |
		keepassxc-cli import -q -p -t 100 "$top/keepassxc.xml" "$db" \
			>>"$top/keepassxc-daemon.log" 2>&1 ||
		{
			cat "$top/keepassxc-daemon.log" >&2
			die "keepassxc-cli import failed"
		}
}

keepassxc_start() {
	local top=$1 i
	QT_QPA_PLATFORM=offscreen keepassxc --pw-stdin "$top/data/login.kdbx" \
		<"$top/keepassxc-password" >>"$top/keepassxc-daemon.log" 2>&1 &
	echo "$!" >"$top/keyring.pid"
	wait_for_owner "$!" org.freedesktop.secrets "$top/keepassxc-daemon.log"
	# it takes the name before the database is open and its collection exposed
	for ((i = 0; i < OWNER_WAIT_STEPS; i++)); do
		collection_locked
		[ $? -eq 1 ] && return 0
		sleep 0.1
	done
	cat "$top/keepassxc-daemon.log" >&2
	die "keepassxc: no unlocked $MAILOAUTH_TEST_COLLECTION within $((OWNER_WAIT_STEPS / 10)) s"
}

# --- start and stop --------------------------------------------------------------
backend_start() {
	case "$MO_KEYRING" in
	gnome) gnome_start "$1" ;;
	kwallet) kwallet_start "$1" ;;
	keepassxc) keepassxc_start "$1" ;;
	esac
}

# backend_stop TOP: SIGTERM, and SIGKILL after 5 s (KeePassXC does not
# quit while a prompt of it waits).
backend_stop() {
	local pid i
	pid=$(<"$1/keyring.pid")
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

inner() {
	local top="$MAILOAUTH_TEST_SESSION_DIR" rc

	exec 2>&3 3>&-

	# shellcheck disable=SC2064 # expand $top now
	trap "[ -s '$top/keyring.pid' ] && backend_stop '$top'" EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM

	case "$MO_KEYRING" in
	gnome) gnome_setup "$top" ;;
	kwallet) kwallet_setup "$top" ;;
	keepassxc) keepassxc_setup "$top" ;;
	esac
	export MAILOAUTH_TEST_COLLECTION
	backend_start "$top"

	export MAILOAUTH_TEST_KEYRING_SESSION=1
	export MAILOAUTH_TEST_KEYRING="$MO_KEYRING"
	MAILOAUTH_TEST_KEYRING_PID=$(<"$top/keyring.pid")
	export MAILOAUTH_TEST_KEYRING_PID
	"$@"
	rc=$?
	exit "$rc"
}

case "${1:-}" in
--inner)
	shift
	[ $# -gt 0 ] || die "no command"
	inner "$@"
	;;
--check)
	reason=$(why_not) || die "$reason"
	[ -z "$reason" ] || [ "$MO_KEYRING" = gnome ] && exit 0
	echo "MO_KEYRING=$MO_KEYRING: ${reason//$'\n'/; }"
	exit "$SKIPPED"
	;;
"" | --help | -h)
	echo "usage: keyring-session.sh CMD [ARGS...] | --check" >&2
	exit 2
	;;
esac
outer "$@"
