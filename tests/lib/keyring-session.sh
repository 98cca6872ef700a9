#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# keyring-session.sh CMD [ARGS...]
#
# Runs CMD inside a private D-Bus session bus with its own gnome-keyring-daemon
# whose `login` collection is unlocked, in a fresh HOME and XDG_* tree that is
# removed afterwards.  Exits with CMD's exit status (or 125 if the session
# could not be set up).
#
# Why it is done this way (see DESIGN.md §4):
#  - HOME/XDG_* must be set before dbus-run-session: services the bus
#    activates inherit the bus's environment, not ours.
#  - We wait until org.freedesktop.secrets has an owner before running CMD;
#    otherwise CMD's first call D-Bus-activates a second, locked daemon.
#  - The daemon is stopped by its PID, never by name.
#
# The bus's own log (and that of services it activates) is kept out of the
# way; set MAILOAUTH_TEST_SHOW_BUS_LOG=1 to see it.
#
# Inside, MAILOAUTH_TEST_KEYRING_SESSION=1 is set, MAILOAUTH_TEST_SESSION_DIR
# names the temporary tree, and MAILOAUTH_TEST_KEYRING_PID is the daemon's PID.

set -u

readonly SETUP_FAILED=125
readonly OWNER_WAIT_STEPS=100 # x 0.1 s

die() {
	echo "keyring-session.sh: $*" >&2
	exit "$SETUP_FAILED"
}

# --- outer half: fresh directories, then a private bus ---------------------
outer() {
	local top rc
	command -v dbus-run-session >/dev/null || die "dbus-run-session not found (package dbus)"
	command -v gnome-keyring-daemon >/dev/null || die "gnome-keyring-daemon not found"
	command -v gdbus >/dev/null || die "gdbus not found (package libglib2.0-bin)"

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
	# Headless and self-contained: no prompts on a real display, no outer
	# bus or keyring, and loopback traffic never goes through a proxy.
	unset DISPLAY WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS GNOME_KEYRING_CONTROL \
		SSH_AUTH_SOCK SECRET_BACKEND http_proxy https_proxy HTTP_PROXY HTTPS_PROXY \
		all_proxy ALL_PROXY
	export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1

	# The bus and the services it activates (gnome-keyring's prompter, which
	# fails without a display) log to dbus.log; CMD gets our stderr back on fd 3.
	dbus-run-session -- bash "${BASH_SOURCE[0]}" --inner "$@" 3>&2 2>"$top/dbus.log"
	rc=$?
	if [ "$rc" -eq "$SETUP_FAILED" ] || [ -n "${MAILOAUTH_TEST_SHOW_BUS_LOG:-}" ]; then
		sed 's/^/bus: /' "$top/dbus.log" >&2
	fi
	exit "$rc"
}

# --- inner half: on the private bus ----------------------------------------
secrets_has_owner() {
	local reply
	reply=$(gdbus call --session --timeout 2 --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets 2>/dev/null) ||
		return 1
	[ "$reply" = "(true,)" ]
}

inner() {
	local top="$MAILOAUTH_TEST_SESSION_DIR" pwfile daemon_pid i rc

	exec 2>&3 3>&-

	# The login password is a throwaway; it goes to the daemon on stdin.
	pwfile="$top/keyring-password"
	(umask 077 && head -c 24 /dev/urandom | base64 >"$pwfile") || die "cannot write $pwfile"

	gnome-keyring-daemon --foreground --unlock --components=secrets \
		<"$pwfile" >"$top/gnome-keyring.log" 2>&1 &
	daemon_pid=$!
	# shellcheck disable=SC2064 # expand $daemon_pid now
	trap "kill $daemon_pid 2>/dev/null; wait $daemon_pid 2>/dev/null" EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM

	for ((i = 0; i < OWNER_WAIT_STEPS; i++)); do
		secrets_has_owner && break
		kill -0 "$daemon_pid" 2>/dev/null || {
			cat "$top/gnome-keyring.log" >&2
			die "gnome-keyring-daemon exited early"
		}
		sleep 0.1
	done
	if ((i == OWNER_WAIT_STEPS)); then
		cat "$top/gnome-keyring.log" >&2
		die "org.freedesktop.secrets got no owner within $((OWNER_WAIT_STEPS / 10)) s"
	fi

	export MAILOAUTH_TEST_KEYRING_SESSION=1
	export MAILOAUTH_TEST_KEYRING_PID="$daemon_pid"
	"$@"
	rc=$?
	exit "$rc"
}

if [ "${1:-}" = "--inner" ]; then
	shift
	[ $# -gt 0 ] || die "no command"
	inner "$@"
fi

if [ $# -eq 0 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
	echo "usage: keyring-session.sh CMD [ARGS...]" >&2
	exit 2
fi
outer "$@"
