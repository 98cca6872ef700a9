# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# A private polkit for tests of code that runs `pkexec PROGRAM ARGS`: a
# system D-Bus, polkitd, action policies, JavaScript rules and a test user,
# so that `pkexec` run as that user is allowed (or refused) without any
# authentication agent.  Source it after common.sh (it uses diag, diag_file):
#
#   . "$MO_LIBDIR/polkit.sh"
#   pk_enter_namespace "$@"      # FIRST, before mo_init: re-execs the script
#   mo_init "$@"                 # (optional) keyring session, TEST_DIR, traps
#   pk_setup "$TEST_DIR/polkit" || pk_skip_all_or_bail
#   pk_install_file build/src/export-helper/mailoauth-export-helper \
#           /usr/local/libexec/mailoauth-export-helper
#   pk_install_action org.example.test /usr/local/libexec/mailoauth-export-helper
#   #   or a real policy, @KEY@ placeholders replaced:
#   #   pk_install_policy data/org.mailoauth.export.policy.in libexecdir=/usr/local/libexec
#   pk_allow "$PK_USER" org.example.test
#   pk_run_as "$PK_USER" pkexec /usr/local/libexec/mailoauth-export-helper write acct <in.json
#   run_cmd NAME "${PK_AS[@]}" "$MAILOAUTH" export acct   # with common.sh's timeout
#   pk_teardown                  # or leave it to the EXIT trap pk_setup chains in
#
# How, and why this way:
#  - pkexec clears its environment before it connects, so it only finds the
#    system bus at /run/dbus/system_bus_socket, and polkitd only reads
#    /usr/share/polkit-1/actions and /etc/polkit-1/rules.d (plus the
#    packages' rules in /usr/share/polkit-1/rules.d, left as they are).
#  - "namespace" mode (the normal one, root with CAP_SYS_ADMIN):
#    pk_enter_namespace re-runs the whole script under `unshare --mount
#    --pid --fork --mount-proc` (private propagation).  pk_setup then
#    bind-mounts directories of its own over /run/dbus,
#    /usr/share/polkit-1/actions (a copy of the installed actions plus
#    ours) and /etc/polkit-1/rules.d, and private copies of /etc/passwd and
#    /etc/group that add the test user.  Nothing outside the namespace sees
#    any of it, and when the script (PID 1 of the new PID namespace) ends,
#    the kernel kills whatever is left in it: even a killed test leaves no
#    process, mount or user behind (only its directory in /tmp).
#  - "host" mode (no mount namespace possible, e.g. an unprivileged
#    container): only if no system bus is running.  The bus listens on the
#    real /run/dbus/system_bus_socket, policies, rules and files go into the
#    real directories under names that do not exist yet, the user is made
#    with useradd --system; pk_teardown removes every one of them.
#    MO_PK_MODE=host forces it (to test it); MO_PK_MODE=namespace refuses it.
#  - polkitd re-reads rules and actions through file monitors, but not at a
#    moment a test can wait for (a reload can even catch a rule file being
#    replaced: "Error loading script"); so every change (pk_install_action,
#    pk_install_policy, pk_allow, pk_deny_all, pk_reset_rules) restarts
#    polkitd, by its PID, and waits until it owns org.freedesktop.PolicyKit1
#    again (tens of ms).  Call those from the script's own shell, not from
#    $(...) or a pipeline: a restart in a subshell would lose the new PID.
#  - What pkexec (polkit 122) does that a test must allow for:
#    . it authorizes its parent process and refuses if that is PID 1
#      ("Refusing to render service to dead parents"), which the script
#      may be in namespace mode: PK_AS runs CMD from a bash owned by the
#      user, as the real caller (mailoauth) would be;
#    . it looks at PROGRAM's path with the caller's rights: a program in a
#      directory the caller cannot enter (TEST_DIR is 0700) is refused
#      ("Error accessing PATH: Permission denied", 127) whatever the rules;
#    . it refuses a SHELL variable that /etc/shells does not list (nobody's
#      /usr/sbin/nologin): PK_AS sets SHELL=/bin/sh;
#    . when polkit wants authentication (no rule, auth_admin) and there is
#      no agent, it starts its own text agent on the controlling terminal
#      and asks for root's password there, waiting forever; without a
#      terminal that fails: "Error creating textual authentication agent:
#      Error opening current controlling terminal for the process
#      (`/dev/tty'): No such device or address", exit 127.  PK_AS runs CMD
#      in a new session (setsid) when there is a terminal (a run by hand;
#      meson gives none).  A rule saying NO gives "Error executing command
#      as another user: Not authorized", exit 127;
#    . the program gets argv as given, stdin, and a new environment (SHELL,
#      LANG, LOGNAME, USER=root, HOME=/root, PATH, TERM, PKEXEC_UID=caller);
#      nothing else of the caller's.
#  - polkitd is started as root and drops to the user polkitd by itself; the
#    rules directory must be readable by polkitd (0700 polkitd:root, as the
#    package makes it).  Without logind (no systemd here) polkitd finds no
#    session for the subject: subject.local and subject.active are false,
#    so allow_active defaults never apply; the harness's rules say YES or NO
#    without looking at them.  A first rule logs every check into
#    PK_POLKITD_LOG ("mailoauth-test: check ACTION for USER ..."):
#    pk_diag_log shows it.
#
# Variables set by pk_setup: PK_MODE (namespace|host), PK_DIR, PK_USER (the
# test user, default mo-export-test or $MO_PK_USER), PK_UID, PK_GID,
# PK_HOME (a 0700 home of PK_USER's, outside TEST_DIR so PK_USER reaches it),
# PK_BUS_PID, PK_POLKITD_PID, PK_POLKITD_LOG, PK_BUS_LOG; and PK_SKIP_REASON
# when pk_setup returns 2.

readonly PK_DEFAULT_USER=mo-export-test
readonly PK_ACTIONS_DIR=/usr/share/polkit-1/actions
readonly PK_RULES_DIR=/etc/polkit-1/rules.d
readonly PK_BUS_DIR=/run/dbus
readonly PK_BUS_SOCKET=/run/dbus/system_bus_socket
readonly PK_BUS_NAME=org.freedesktop.PolicyKit1
# Every rule file the harness writes starts with this (sorted before the
# packages' rules, so the harness decides first).
readonly PK_RULE_PREFIX=00-mailoauth-test-
readonly PK_WAIT_STEPS=1000 # x 0.01 s

PK_MODE=
PK_DIR=
PK_USER=
PK_UID=
PK_GID=
PK_HOME=
PK_BUS_PID=
PK_POLKITD_PID=
PK_POLKITD_LOG=
PK_BUS_LOG=
PK_SKIP_REASON=
PK_AS=()
PK_POLKITD=
PK_OWNER_PID=
PK_STARTS=0
PK_RULES=           # the directory our rules go to (ours, or the real one)
PK_ACTIONS=         # the directory our actions go to
PK_MOUNTS=()        # mount points, unmounted in reverse order
PK_OVERLAYS=()      # directories made private and writable (overlay or tmpfs)
PK_FILES=()         # files we created outside PK_DIR (removed)
PK_NEW_DIRS=()      # directories we created outside PK_DIR (rmdir'ed, reverse order)
PK_MADE_USER=       # 1 if host mode useradd'ed PK_USER
PK_DIR_MADE=        # 1 if pk_setup made PK_DIR (then pk_teardown removes it)

# ------------------------------------------------------------ namespace ----

# pk_enter_namespace "$@": call first.  Re-runs the calling script
# ($0 "$@", with bash) in a private mount and PID namespace, unless it
# already runs in one made for it.  Without one (not root, no
# CAP_SYS_ADMIN, MO_PK_MODE=host) it returns and pk_setup uses host mode.
# Sets the HUP/INT/TERM traps (PID 1 of a namespace ignores signals it
# has no handler for) so that the EXIT trap runs.
pk_enter_namespace() {
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
	if [ "${MO_PK_NS:-}" = pending ]; then
		MO_PK_NS=$(readlink /proc/self/ns/mnt)
		export MO_PK_NS
	fi
	case ${MO_PK_NS:-} in
	mnt:*) [ "$(readlink /proc/self/ns/mnt)" = "$MO_PK_NS" ] && return 0 ;;
	host) return 0 ;;
	esac
	export MO_PK_NS_ERROR=
	if [ "${MO_PK_MODE:-}" = host ]; then
		MO_PK_NS_ERROR="MO_PK_MODE=host"
	elif [ "$EUID" != 0 ]; then
		MO_PK_NS_ERROR="not root"
	elif ! command -v unshare >/dev/null; then
		MO_PK_NS_ERROR="unshare not found (util-linux)"
	elif ! MO_PK_NS_ERROR=$(unshare --mount --pid --fork --mount-proc true 2>&1); then
		MO_PK_NS_ERROR="unshare --mount --pid: ${MO_PK_NS_ERROR:-failed}"
	else
		export MO_PK_NS=pending
		# --kill-child=TERM: if unshare alone is killed, the script still
		# runs its EXIT trap.  Private propagation is unshare's default.
		exec unshare --mount --propagation private --pid --fork --kill-child=TERM \
			--mount-proc -- bash "$0" "$@"
	fi
	export MO_PK_NS=host
}

# pk_in_namespace: true if this script runs in the namespace made for it.
pk_in_namespace() {
	[[ ${MO_PK_NS:-} == mnt:* ]] && [ "$(readlink /proc/self/ns/mnt)" = "$MO_PK_NS" ]
}

# ------------------------------------------------------------- helpers ----

_pk_skip() {
	PK_SKIP_REASON=$*
	return 2
}

_pk_fail() {
	diag "polkit harness: $*"
	return 1
}

# _pk_main_shell: the state-changing functions must run in the shell that
# owns the processes (a subshell would lose a new polkitd PID).
_pk_main_shell() {
	[ "$BASHPID" = "$PK_OWNER_PID" ] || _pk_fail "${FUNCNAME[1]}: call it from the test's own shell, not a subshell"
}

# _pk_id_ok STRING: a name safe to put into XML, JS and file names.
_pk_id_ok() {
	[[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]]
}

_pk_xml_escape() {
	local s=${1//&/&amp;}
	s=${s//</&lt;}
	s=${s//>/&gt;}
	printf '%s' "${s//\"/&quot;}"
}

# _pk_process_gone PID: PID has exited (or is a zombie not reaped yet).
_pk_process_gone() {
	local stat
	{ IFS= read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 0
	stat=${stat##*) }
	[ "${stat%% *}" = Z ]
}

# _pk_sleep SECONDS: sleep(1) without a process (they cost ~15 ms each on
# a small VM): a read with a timeout on a pipe nobody writes to.
PK_SLEEP_FD=
_pk_sleep() {
	if [ -z "$PK_SLEEP_FD" ]; then
		exec {PK_SLEEP_FD}<> <(:)
	fi
	read -r -t "$1" -u "$PK_SLEEP_FD" _
	return 0
}

# _pk_file_has FILE TEXT: FILE contains TEXT (no grep process).
_pk_file_has() {
	local text=
	{ IFS= read -r -d '' text <"$1"; } 2>/dev/null
	[[ $text == *"$2"* ]]
}

# _pk_stop_pid PID: SIGTERM, up to 5 s, then SIGKILL; reaps it.
_pk_stop_pid() {
	local pid=$1 i
	[ -n "$pid" ] || return 0
	if kill -TERM "$pid" 2>/dev/null; then
		for ((i = 0; i < 500; i++)); do
			_pk_process_gone "$pid" && break
			_pk_sleep 0.01
		done
		_pk_process_gone "$pid" || {
			diag "polkit harness: PID $pid ignored SIGTERM; SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		}
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# _pk_mkdirs DIR: mkdir -p, remembering each directory it made.
_pk_mkdirs() {
	local d=$1 missing=()
	while [ ! -e "$d" ]; do
		missing=("$d" "${missing[@]}")
		d=$(dirname "$d")
	done
	for d in "${missing[@]}"; do
		mkdir -m 0755 "$d" || return 1
		PK_NEW_DIRS+=("$d")
	done
}

_pk_bind() {
	mount --bind "$1" "$2" || return 1
	PK_MOUNTS+=("$2")
}

# ---------------------------------------------------------- the daemons ----

_pk_write_bus_config() {
	cat >"$PK_DIR/system-bus.conf" <<-EOF
		<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
		 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
		<!-- Written by tests/lib/polkit.sh: the system bus of a test.  Runs as
		     root, no activation (the test starts polkitd itself), the default
		     policy of Debian's system.conf, and polkit's own policy. -->
		<busconfig>
		  <type>system</type>
		  <auth>EXTERNAL</auth>
		  <listen>unix:path=$PK_BUS_SOCKET</listen>
		  <policy context="default">
		    <allow user="*"/>
		    <deny own="*"/>
		    <deny send_type="method_call"/>
		    <allow send_type="signal"/>
		    <allow send_requested_reply="true" send_type="method_return"/>
		    <allow send_requested_reply="true" send_type="error"/>
		    <allow receive_type="method_call"/>
		    <allow receive_type="method_return"/>
		    <allow receive_type="error"/>
		    <allow receive_type="signal"/>
		    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
		    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
		    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
		    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
		  </policy>
		  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>
		</busconfig>
	EOF
}

_pk_start_bus() {
	local i addr="$PK_DIR/system-bus.address"
	_pk_write_bus_config
	PK_BUS_LOG="$PK_DIR/system-bus.log"
	: >"$addr"
	dbus-daemon --config-file="$PK_DIR/system-bus.conf" --nofork --nopidfile \
		--print-address=3 3>"$addr" </dev/null >"$PK_BUS_LOG" 2>&1 &
	PK_BUS_PID=$!
	for ((i = 0; i < PK_WAIT_STEPS; i++)); do
		[ -s "$addr" ] && break
		_pk_process_gone "$PK_BUS_PID" && break
		_pk_sleep 0.01
	done
	if [ ! -s "$addr" ] || [ ! -S "$PK_BUS_SOCKET" ]; then
		diag "dbus-daemon log:"
		diag_file "$PK_BUS_LOG"
		_pk_fail "the system bus did not start on $PK_BUS_SOCKET"
		return 1
	fi
}

_pk_start_polkitd() {
	local i
	PK_STARTS=$((PK_STARTS + 1))
	PK_POLKITD_LOG="$PK_DIR/polkitd.$PK_STARTS.log"
	# polkitd logs what it loads and every authorization it refuses (debug
	# output, i.e. without --no-debug); it must not see an outer bus address.
	env -u DBUS_SYSTEM_BUS_ADDRESS -u DBUS_SESSION_BUS_ADDRESS \
		"$PK_POLKITD" </dev/null >"$PK_POLKITD_LOG" 2>&1 &
	PK_POLKITD_PID=$!
	for ((i = 0; i < PK_WAIT_STEPS; i++)); do
		_pk_file_has "$PK_POLKITD_LOG" "Acquired the name $PK_BUS_NAME" && return 0
		_pk_process_gone "$PK_POLKITD_PID" && break
		_pk_sleep 0.01
	done
	diag "polkitd log ($PK_POLKITD_LOG):"
	diag_file "$PK_POLKITD_LOG" 40
	_pk_fail "polkitd did not take $PK_BUS_NAME on the test's system bus"
}

# pk_restart: restarts polkitd (by its PID) so it reads the actions and
# rules as they are now.  The pk_* functions that change them call it.
pk_restart() {
	_pk_main_shell || return 1
	_pk_stop_pid "$PK_POLKITD_PID"
	PK_POLKITD_PID=
	_pk_start_polkitd
}

# ------------------------------------------------------------- the user ----

# _pk_free_system_id: prints an id in 100..999 free as a uid and as a gid.
_pk_free_system_id() {
	local id used=" "
	while IFS=: read -r _ _ id _; do
		used+="$id "
	done < <(getent passwd; getent group)
	for ((id = 999; id >= 100; id--)); do
		[[ $used == *" $id "* ]] || {
			echo "$id"
			return 0
		}
	done
	return 1
}

_pk_make_user() {
	local id f
	PK_HOME=$(mktemp -d "/tmp/mailoauth-pk-home.XXXXXX") || return 1
	chmod 0755 "$PK_HOME"
	if ! getent passwd "$PK_USER" >/dev/null; then
		if [ "$PK_MODE" = namespace ]; then
			# Private copies of passwd and group, seen only in here (useradd
			# would rename over the bind mounts, so the lines are added by hand).
			id=$(_pk_free_system_id) || return 1
			getent group "$PK_USER" >/dev/null && return 1
			cp -p /etc/passwd "$PK_DIR/etc/passwd" && cp -p /etc/group "$PK_DIR/etc/group" || return 1
			printf '%s:x:%s:%s:mailoauth test user:%s:/bin/sh\n' "$PK_USER" "$id" "$id" "$PK_HOME" \
				>>"$PK_DIR/etc/passwd"
			printf '%s:x:%s:\n' "$PK_USER" "$id" >>"$PK_DIR/etc/group"
			_pk_bind "$PK_DIR/etc/passwd" /etc/passwd || return 1
			_pk_bind "$PK_DIR/etc/group" /etc/group || return 1
		else
			# useradd and userdel leave the user in their backups
			# (/etc/passwd- ...); pk_teardown puts the old backups back.
			mkdir -p "$PK_DIR/etc/backups" || return 1
			for f in passwd- group- shadow- gshadow-; do
				[ ! -f "/etc/$f" ] || cp -p "/etc/$f" "$PK_DIR/etc/backups/$f" || return 1
			done
			useradd --system --user-group --no-create-home --home-dir "$PK_HOME" \
				--shell /bin/sh --comment "mailoauth test user" "$PK_USER" || return 1
			PK_MADE_USER=1
		fi
	fi
	PK_UID=$(id -u "$PK_USER") && PK_GID=$(id -g "$PK_USER") || return 1
	chown "$PK_UID:$PK_GID" "$PK_HOME" && chmod 0700 "$PK_HOME"
}

# ---------------------------------------------------------------- set-up ----

# pk_setup WORKDIR: the system bus, polkitd and the test user PK_USER.
# Returns 0; 2 if it cannot run here (PK_SKIP_REASON says why); 1 if it
# failed (diagnostics on stdout).  Chains pk_teardown in front of the
# current EXIT trap (so call it after mo_init).
pk_setup() {
	local dir=$1 f prev cmd
	[ -z "$PK_MODE" ] || return 0
	[ -n "$dir" ] || _pk_fail "pk_setup WORKDIR" || return 1
	PK_OWNER_PID=$BASHPID
	PK_USER=${MO_PK_USER:-$PK_DEFAULT_USER}
	_pk_id_ok "$PK_USER" || _pk_fail "bad user name: $PK_USER" || return 1

	[ "$EUID" = 0 ] || _pk_skip "needs root (a system bus, polkitd and a test user)" || return
	[ -u /usr/bin/pkexec ] || _pk_skip "no setuid /usr/bin/pkexec (package pkexec)" || return
	for f in /usr/lib/polkit-1/polkitd /usr/libexec/polkitd /usr/lib/polkit/polkitd; do
		[ -x "$f" ] && PK_POLKITD=$f && break
	done
	[ -n "$PK_POLKITD" ] || _pk_skip "polkitd not found (package polkitd)" || return
	[ -d "$PK_ACTIONS_DIR" ] && [ -d "$PK_RULES_DIR" ] ||
		_pk_skip "no $PK_ACTIONS_DIR or $PK_RULES_DIR (package polkitd)" || return
	getent passwd polkitd >/dev/null || _pk_skip "no polkitd user (package polkitd)" || return
	[ -f /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf ] ||
		_pk_skip "no D-Bus policy for polkitd (package polkitd)" || return
	for f in dbus-daemon setpriv setsid pkaction findmnt; do
		command -v "$f" >/dev/null || _pk_skip "$f not found" || return
	done

	if pk_in_namespace; then
		[ "${MO_PK_MODE:-}" != host ] || _pk_fail "MO_PK_MODE=host but in a namespace" || return 1
		PK_MODE=namespace
	else
		[ "${MO_PK_MODE:-}" != namespace ] ||
			_pk_skip "no mount namespace (${MO_PK_NS_ERROR:-pk_enter_namespace not called}) and MO_PK_MODE=namespace" ||
			return
		# Host mode: only on a machine without a system bus of its own.
		if [ -e "$PK_BUS_SOCKET" ]; then
			_pk_skip "no mount namespace (${MO_PK_NS_ERROR:-pk_enter_namespace not called}) and $PK_BUS_SOCKET exists: the machine's own bus and polkit are left alone"
			return
		fi
		if pgrep -x polkitd >/dev/null 2>&1; then
			_pk_skip "no mount namespace (${MO_PK_NS_ERROR:-pk_enter_namespace not called}) and a polkitd runs already"
			return
		fi
		PK_MODE=host
	fi

	if [ ! -e "$dir" ]; then
		mkdir -p "$dir" || _pk_fail "cannot create $dir" || return 1
		PK_DIR_MADE=1
	fi
	PK_DIR=$(cd "$dir" && pwd) || return 1
	mkdir -p "$PK_DIR/etc" "$PK_DIR/files" || return 1
	# From here on pk_teardown undoes whatever was done.
	prev=$(trap -p EXIT)
	if [[ $prev != *pk_teardown* ]]; then
		eval "set -- $prev"
		cmd=${3:-}
		# shellcheck disable=SC2064 # the old trap's text, now
		trap "pk_teardown${cmd:+; $cmd}" EXIT
	fi
	unset DBUS_SYSTEM_BUS_ADDRESS

	if [ "$PK_MODE" = namespace ]; then
		_pk_mkdirs "$PK_BUS_DIR" || _pk_fail "cannot create $PK_BUS_DIR" || return 1
		mkdir -m 0755 "$PK_DIR/run-dbus" "$PK_DIR/actions" &&
			mkdir -m 0700 "$PK_DIR/rules" &&
			chown polkitd:root "$PK_DIR/rules" || return 1
		# The installed actions stay (pkexec falls back to
		# org.freedesktop.policykit.exec for programs without an action).
		cp -p "$PK_ACTIONS_DIR"/*.policy "$PK_DIR/actions/" 2>/dev/null
		_pk_bind "$PK_DIR/run-dbus" "$PK_BUS_DIR" &&
			_pk_bind "$PK_DIR/actions" "$PK_ACTIONS_DIR" &&
			_pk_bind "$PK_DIR/rules" "$PK_RULES_DIR" ||
			_pk_fail "bind mounts failed" || return 1
		# nscd would answer for the real passwd file.
		if [ -d /run/nscd ]; then
			mkdir -m 0755 "$PK_DIR/no-nscd" && _pk_bind "$PK_DIR/no-nscd" /run/nscd || return 1
		fi
		PK_ACTIONS=$PK_DIR/actions
		PK_RULES=$PK_DIR/rules
	else
		_pk_mkdirs "$PK_BUS_DIR" || _pk_fail "cannot create $PK_BUS_DIR" || return 1
		PK_ACTIONS=$PK_ACTIONS_DIR
		PK_RULES=$PK_RULES_DIR
	fi

	_pk_make_user || _pk_fail "cannot make the test user $PK_USER" || return 1
	_pk_write_log_rule || return 1
	pk_as_cmd "$PK_USER"
	_pk_start_bus || return 1
	[ "$PK_MODE" = host ] && PK_FILES+=("$PK_BUS_SOCKET")
	_pk_start_polkitd || return 1
	return 0
}

# pk_skip_all_or_bail: after a failed pk_setup, "1..0 # SKIP reason" and
# exit 0 (return 2), or Bail out (return 1).  Use: pk_setup DIR || pk_skip_all_or_bail
pk_skip_all_or_bail() {
	local rc=$?
	if [ "$rc" = 2 ]; then
		echo "1..0 # SKIP $PK_SKIP_REASON"
		exit 0
	fi
	echo "Bail out! the private polkit did not start (see above)"
	exit 1
}

# ------------------------------------------------------ actions and rules ----

# pk_install_action ACTION_ID EXEC_PATH [DEFAULT]: a policy with one action
# for `pkexec EXEC_PATH`, DEFAULT (auth_admin) for any, inactive and active.
pk_install_action() {
	local id=$1 path=$2 def=${3:-auth_admin} tmp
	_pk_main_shell || return 1
	_pk_id_ok "$id" || _pk_fail "bad action id: $id" || return 1
	[[ $path == /* ]] || _pk_fail "EXEC_PATH must be absolute: $path" || return 1
	tmp="$PK_DIR/files/$id.policy"
	cat >"$tmp" <<-EOF
		<?xml version="1.0" encoding="UTF-8"?>
		<!DOCTYPE policyconfig PUBLIC "-//freedesktop//DTD PolicyKit Policy Configuration 1.0//EN"
		 "http://www.freedesktop.org/standards/PolicyKit/1/policyconfig.dtd">
		<!-- Written by tests/lib/polkit.sh -->
		<policyconfig>
		  <vendor>mailoauth tests</vendor>
		  <action id="$id">
		    <description>Run a mailoauth test program</description>
		    <message>Authentication is required to run a mailoauth test program</message>
		    <defaults>
		      <allow_any>$def</allow_any>
		      <allow_inactive>$def</allow_inactive>
		      <allow_active>$def</allow_active>
		    </defaults>
		    <annotate key="org.freedesktop.policykit.exec.path">$(_pk_xml_escape "$path")</annotate>
		  </action>
		</policyconfig>
	EOF
	pk_install_policy "$tmp"
}

# pk_install_policy FILE [KEY=VALUE...]: installs the policy FILE (a name
# ending in .policy, or .policy.in: the .in is dropped) with every @KEY@
# replaced by VALUE, restarts polkitd and checks that each action of the
# file is registered.
pk_install_policy() {
	local src=$1 name dest text kv key value ids id
	shift
	_pk_main_shell || return 1
	name=$(basename "$src")
	name=${name%.in}
	[[ $name == *.policy ]] || _pk_fail "not a .policy file: $src" || return 1
	text=$(<"$src") || _pk_fail "cannot read $src" || return 1
	for kv in "$@"; do
		key="@${kv%%=*}@" value=${kv#*=}
		text=${text//"$key"/"$value"}
	done
	if [[ $text =~ @[A-Za-z_]+@ ]]; then
		_pk_fail "$src: ${BASH_REMATCH[0]} left unreplaced (pass ${BASH_REMATCH[0]//@/}=VALUE)"
		return 1
	fi
	dest="$PK_ACTIONS/$name"
	if [ "$PK_MODE" = host ] && [ -e "$dest" ]; then
		local f known=
		for f in "${PK_FILES[@]}"; do [ "$f" = "$dest" ] && known=1; done
		[ -n "$known" ] || _pk_fail "$dest exists already; not replacing the machine's policy" || return 1
	fi
	# Whole file at once: polkitd never sees half of it.
	printf '%s\n' "$text" >"$PK_DIR/files/.$name.tmp" &&
		chmod 0644 "$PK_DIR/files/.$name.tmp" &&
		mv -f "$PK_DIR/files/.$name.tmp" "$dest" || _pk_fail "cannot write $dest" || return 1
	[ "$PK_MODE" = host ] && PK_FILES+=("$dest")
	pk_restart || return 1
	ids=$(grep -o '<action id="[^"]*"' "$dest" | sed 's/.*id="//; s/"$//')
	for id in $ids; do
		pkaction --action-id "$id" >/dev/null 2>&1 || {
			diag "polkitd log:"
			diag_file "$PK_POLKITD_LOG" 40
			_pk_fail "action $id of $name is not registered"
			return 1
		}
	done
}

# _pk_write_rule NAME JS: the rule file PK_RULE_PREFIX<NAME>.rules.
_pk_write_rule() {
	local file="$PK_RULES/$PK_RULE_PREFIX$1.rules"
	printf '// Written by tests/lib/polkit.sh\n%s\n' "$2" >"$PK_DIR/files/.rule.tmp" &&
		chmod 0644 "$PK_DIR/files/.rule.tmp" &&
		mv -f "$PK_DIR/files/.rule.tmp" "$file" || _pk_fail "cannot write $file" || return 1
}

# _pk_remove_rules [all]: removes the allow and deny rules (and with
# "all" the logging rule too).
_pk_remove_rules() {
	rm -f -- "$PK_RULES/$PK_RULE_PREFIX"[1-9]*.rules "$PK_RULES/${PK_RULE_PREFIX}01-deny-all.rules"
	[ "${1:-}" != all ] || rm -f -- "$PK_RULES/$PK_RULE_PREFIX"*.rules
}

# _pk_write_log_rule: a first rule that logs every check into polkitd's log
# (PK_POLKITD_LOG) and decides nothing.  Without logind, subject.local and
# subject.active are false and subject.session is empty.
_pk_write_log_rule() {
	_pk_write_rule 00-log 'polkit.addRule(function(action, subject) {
    polkit.log("mailoauth-test: check " + action.id + " for " + subject.user +
               " (pid " + subject.pid + ", local " + subject.local +
               ", active " + subject.active + ", session \"" + subject.session + "\")");
});'
}

# pk_allow USER ACTION_ID: polkit.Result.YES for USER asking for ACTION_ID
# (no agent, no password); removes a pk_deny_all rule.
pk_allow() {
	local user=$1 id=$2
	_pk_main_shell || return 1
	_pk_id_ok "$user" && _pk_id_ok "$id" || _pk_fail "pk_allow USER ACTION_ID" || return 1
	rm -f -- "$PK_RULES/${PK_RULE_PREFIX}01-deny-all.rules"
	_pk_write_rule "10-allow-$user-$id" "polkit.addRule(function(action, subject) {
    if (action.id == \"$id\" && subject.user == \"$user\") {
        return polkit.Result.YES;
    }
});" && pk_restart
}

# pk_deny_all: replaces the harness's rules with one that answers
# polkit.Result.NO to every request (no authentication is even offered).
pk_deny_all() {
	_pk_main_shell || return 1
	_pk_remove_rules
	_pk_write_rule 01-deny-all "polkit.addRule(function(action, subject) {
    return polkit.Result.NO;
});" && pk_restart
}

# pk_reset_rules: removes the harness's rules; the policies' defaults
# apply again (auth_admin: refused, as there is no agent).
pk_reset_rules() {
	_pk_main_shell || return 1
	_pk_remove_rules
	pk_restart
}

# pk_action_registered ACTION_ID: polkitd knows the action.
pk_action_registered() {
	pkaction --action-id "$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------- files ----

# pk_install_file SRC DEST [MODE]: a copy of SRC (root:root, MODE 0755) at
# the absolute path DEST, e.g. the helper at meson's libexecdir.  In
# namespace mode only the namespace sees it: a private overlay (upper layer
# on a tmpfs) on the nearest existing directory above DEST, so DEST may
# exist or not; where an overlay would hide mounts (/etc: our passwd), a
# tmpfs on DEST's first missing directory (e.g. /etc/mailoauth, made on the
# machine, empty, and removed again), or a bind mount over an existing
# DEST.  In host mode DEST must not exist; it is created with any missing
# parents, and removed by pk_teardown.  For a program run with pkexec, the
# directories above DEST must be open to the caller: pkexec looks at the
# path with the caller's rights.  Also for root's configuration files, e.g.
# pk_install_file "$TEST_DIR/export.conf" /etc/mailoauth/export.conf 0600.
pk_install_file() {
	local src=$1 dest=$2 mode=${3:-0755} copy anc o missing
	_pk_main_shell || return 1
	[[ $dest == /?* && $dest != */ ]] || _pk_fail "DEST must be an absolute file path: $dest" || return 1
	[ -f "$src" ] || _pk_fail "no file $src" || return 1
	copy="$PK_DIR/files/$(printf '%s' "$dest" | tr / _)"
	cp -- "$src" "$copy" && chown root:root "$copy" && chmod "$mode" "$copy" || return 1

	if [ "$PK_MODE" = host ]; then
		if [ -e "$dest" ] || [ -L "$dest" ]; then
			_pk_fail "$dest exists already; not replacing the machine's file"
			return 1
		fi
		_pk_mkdirs "$(dirname "$dest")" && cp -p -- "$copy" "$dest" || return 1
		PK_FILES+=("$dest")
		return 0
	fi

	for o in "${PK_OVERLAYS[@]}"; do
		if [[ $dest == "$o"/* ]]; then # inside a private directory of ours: write it
			mkdir -p "$(dirname "$dest")" && cp -p -- "$copy" "$dest"
			return
		fi
	done
	[ ! -e "$dest" ] || [ -f "$dest" ] || _pk_fail "$dest exists and is not a file" || return 1
	anc=$(dirname "$dest")
	missing=
	while [ ! -d "$anc" ]; do
		missing=$anc
		anc=$(dirname "$anc")
	done
	# An overlay on the nearest existing directory above DEST: the file is
	# on our tmpfs (exec even if PK_DIR's file system is noexec).
	if _pk_overlay "$anc"; then
		mkdir -p "$(dirname "$dest")" && cp -p -- "$copy" "$dest"
		return
	fi
	# No overlay there, e.g. on /etc, whose mounts (our /etc/passwd, or a
	# container's /etc/hosts) it would hide: make the first missing directory
	# (the machine sees it, empty, until pk_teardown removes it) with a
	# tmpfs on it; or bind the copy over an existing DEST.
	if [ -n "$missing" ]; then
		_pk_mkdirs "$missing" && _pk_tmpfs "$missing" || return 1
		mkdir -p "$(dirname "$dest")" && cp -p -- "$copy" "$dest"
		return
	fi
	[ -f "$dest" ] || _pk_fail "cannot install $dest" || return 1
	_pk_bind "$copy" "$dest"
}

# _pk_overlay DIR: a private, writable overlay on DIR (namespace mode).
# Fails (quietly) if mounts below DIR would be hidden by it.
_pk_overlay() {
	local dir=$1 n=${#PK_MOUNTS[@]} up target
	[ "$dir" != / ] || return 1
	while IFS= read -r target; do
		[[ $target != "$dir"/* ]] || return 1
	done < <(findmnt -rn -o TARGET)
	up="$PK_DIR/overlay.$n"
	mkdir -p "$up" && mount -t tmpfs -o mode=0755 "pk-overlay-$n" "$up" || return 1
	PK_MOUNTS+=("$up")
	mkdir "$up/upper" "$up/work" || return 1
	chmod --reference="$dir" "$up/upper" && chown --reference="$dir" "$up/upper" || return 1
	mount -t overlay "pk-overlay-$n" -o "lowerdir=$dir,upperdir=$up/upper,workdir=$up/work" "$dir" ||
		_pk_fail "cannot put an overlay on $dir" || return 1
	PK_MOUNTS+=("$dir")
	PK_OVERLAYS+=("$dir")
}

# _pk_tmpfs DIR: a private tmpfs (0755) on the empty directory DIR.
_pk_tmpfs() {
	mount -t tmpfs -o mode=0755 "pk-tmpfs-${#PK_MOUNTS[@]}" "$1" || _pk_fail "cannot mount a tmpfs on $1" || return 1
	PK_MOUNTS+=("$1")
	PK_OVERLAYS+=("$1")
}

# ------------------------------------------------------------- running ----

# pk_as_cmd USER: sets the array PK_AS to a command prefix that runs a
# command as USER: "${PK_AS[@]}" CMD ARGS... (works with run_cmd and
# timeout).  The environment is reset to HOME, USER, LOGNAME, SHELL, PATH
# (and TERM): put `env NAME=VALUE` in front of CMD for more.  HOME is
# PK_HOME for PK_USER; SHELL is /bin/sh whatever USER's login shell (pkexec
# refuses a SHELL that /etc/shells does not list, e.g. nobody's nologin).
# stdin, stdout and stderr pass through; the cwd is kept if USER may enter
# it, else /.  CMD must be a program, not a shell function; its parent is a
# bash owned by USER (see pkexec above).  pk_setup sets PK_AS for PK_USER.
pk_as_cmd() {
	local user=$1 uid='' gid='' home=''
	IFS=: read -r _ _ uid gid _ home _ < <(getent passwd "$user")
	if [ -z "$uid" ]; then
		diag "pk_as_cmd: no user $user"
		PK_AS=(false)
		return 1
	fi
	[ "$user" = "$PK_USER" ] && home=$PK_HOME
	PK_AS=()
	# A controlling terminal would make pkexec ask for a password on it.
	if { : </dev/tty; } 2>/dev/null; then
		PK_AS+=(setsid --wait)
	fi
	# shellcheck disable=SC2016 # $1 and $@ are the inner bash's
	PK_AS+=(setpriv --reuid="$uid" --regid="$gid" --init-groups --reset-env --
		env HOME="$home" SHELL=/bin/sh PATH=/usr/local/bin:/usr/bin:/bin
		bash -c 'cd -- "$1" 2>/dev/null || cd /; shift; "$@"; exit $?' pk-run-as "$PWD")
}

# pk_run_as USER CMD...: runs CMD as USER (see pk_as_cmd), stdin passed
# through; returns CMD's exit status.
pk_run_as() {
	local user=$1 saved=("${PK_AS[@]}") rc
	shift
	pk_as_cmd "$user" || return 1
	"${PK_AS[@]}" "$@"
	rc=$?
	PK_AS=("${saved[@]}")
	return "$rc"
}

# pk_diag_log [MAX_LINES]: polkitd's log (of its current run) into the TAP stream.
pk_diag_log() {
	diag "polkitd log ($PK_POLKITD_LOG):"
	diag_file "$PK_POLKITD_LOG" "${1:-40}"
}

# ------------------------------------------------------------- teardown ----

# pk_teardown: stops polkitd and the bus by PID, unmounts, removes what it
# created (files, directories, the host-mode user, PK_HOME).  Idempotent.
pk_teardown() {
	local i f
	[ -n "$PK_MODE" ] || return 0
	_pk_stop_pid "$PK_POLKITD_PID"
	PK_POLKITD_PID=
	_pk_stop_pid "$PK_BUS_PID"
	PK_BUS_PID=
	if [ "$PK_MODE" = host ]; then
		_pk_remove_rules all
	fi
	for ((i = ${#PK_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${PK_MOUNTS[i]}" 2>/dev/null || umount --lazy "${PK_MOUNTS[i]}" ||
			diag "polkit harness: cannot unmount ${PK_MOUNTS[i]}"
	done
	PK_MOUNTS=()
	PK_OVERLAYS=()
	for f in "${PK_FILES[@]}"; do
		rm -f -- "$f"
	done
	PK_FILES=()
	if [ -n "$PK_MADE_USER" ]; then
		# (--force if a process of the user's is still running)
		userdel "$PK_USER" 2>/dev/null || userdel --force "$PK_USER" ||
			diag "polkit harness: userdel $PK_USER failed"
		getent group "$PK_USER" >/dev/null && groupdel "$PK_USER" 2>/dev/null
		for f in "$PK_DIR/etc/backups/"*-; do
			[ -f "$f" ] && grep -q "^$PK_USER:" "/etc/${f##*/}" && cp -p "$f" "/etc/${f##*/}"
		done
		PK_MADE_USER=
	fi
	for ((i = ${#PK_NEW_DIRS[@]} - 1; i >= 0; i--)); do
		rmdir -- "${PK_NEW_DIRS[i]}" 2>/dev/null || diag "polkit harness: ${PK_NEW_DIRS[i]} not removed (not empty?)"
	done
	PK_NEW_DIRS=()
	[ -n "$PK_HOME" ] && rm -rf -- "$PK_HOME"
	PK_HOME=
	if [ -n "$PK_DIR_MADE" ] && [ -z "${MO_KEEP_TEST_DIR:-}" ]; then
		rm -rf -- "$PK_DIR"
	fi
	PK_DIR_MADE=
	PK_MODE=
	return 0
}
