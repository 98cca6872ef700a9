# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# mbsync (isync 1.4) against the private Dovecot of dovecot.sh.  Source it
# after common.sh and dovecot.sh:
#
#   mb_config a XOAUTH2 a@example.com PassCmd "$MAILOAUTH token a@example.com"
#   mb_sync a "$MAILOAUTH_SASL_DIR"          # RC, OUT, ERR as run_cmd sets them
#   maildir_count "$(mb_inbox a)"
#
# What mbsync 1.4.4 does with SASL (src/drv_imap.c), for the plugin:
#  - sasl_client_init() with SASL_CB_USER, SASL_CB_AUTHNAME and SASL_CB_PASS
#    registered with NULL procs, so libsasl2 turns every request for them into
#    an interaction prompt; mbsync answers USER and AUTHNAME with `User`, PASS
#    with `Pass` / `PassCmd`'s first output line (newline stripped, at most
#    8191 bytes).  Any other prompt id fails: "Error: Unknown SASL interaction ID".
#  - `Pass ""` reaches the plugin as an empty password (result "", len 0).
#    Without Pass and PassCmd it calls getpass() ("Password (ACCOUNT): ").
#  - A PassCmd that exits non-zero or prints nothing: "Skipping account
#    ACCOUNT, PassCmd exited with status N" / "produced no output", exit 1,
#    before anything is sent.  PassCmd runs again for every connection.
#  - sasl_client_new("imap", Host, NULL, NULL, NULL, 0): no ip ports, so an
#    OAUTHBEARER plugin learns the host (serverFQDN) but not the port.
#  - The initial response goes with SASL-IR (Dovecot has it).
#  - If the plugin has returned SASL_OK and the server still sends a
#    continuation (Dovecot's JSON error challenge), or a step returns an
#    error, mbsync prints "Error: IMAP wants more steps despite successful
#    SASL authentication." / "Error performing SASL authentication step: ..."
#    and then HANGS with the AUTHENTICATE command open (seen with Debian's KDE
#    XOAUTH2 plugin and a bad token: still waiting after 100 s).  A plugin
#    must therefore return SASL_CONTINUE after the initial response and answer
#    the challenge, so that the server ends the exchange with NO.
#  - Errors found before the AUTHENTICATE command (a step failing while
#    mbsync builds the initial response) end mbsync at once (exit 1) with
#    "Error performing SASL authentication step: <sasl_errdetail>".

# mb_dir NAME: the directory of mbsync setup NAME (config, local maildirs, state).
mb_dir() {
	printf '%s/mbsync-%s\n' "$TEST_DIR" "$1"
}

# mb_inbox NAME: the local INBOX maildir of setup NAME.
mb_inbox() {
	printf '%s/mail/INBOX\n' "$(mb_dir "$1")"
}

# mb_config NAME MECH USER PassCmd|Pass VALUE: writes $(mb_dir NAME)/mbsyncrc
# for Dovecot at 127.0.0.1:DV_PORT: account USER with AuthMechs MECH, no TLS,
# the password line `Pass "VALUE"` or `PassCmd "VALUE"`; a Maildir store in
# $(mb_dir NAME)/mail; channel NAME syncing INBOX both ways (Create Both,
# Expunge None, SyncState *).  Sets MB_CONF.  VALUE may not hold `"` or `\`
# (mbsync's quoting is not worth the trouble here) and a secret belongs in a
# PassCmd, never in Pass.
mb_config() {
	local name=$1 mech=$2 user=$3 kind=$4 value=$5 dir
	case $kind in
	Pass | PassCmd) ;;
	*)
		diag "mb_config: $kind is neither Pass nor PassCmd"
		return 1
		;;
	esac
	if [[ $value == *[\"\\]* ]]; then
		diag "mb_config: the $kind value may not contain \" or \\"
		return 1
	fi
	dir=$(mb_dir "$name")
	mkdir -m 0700 "$dir" "$dir/mail" 2>/dev/null
	[ -d "$dir/mail" ] || return 1
	MB_CONF="$dir/mbsyncrc"
	(
		umask 077
		cat >"$MB_CONF" <<-EOF
			# Written by tests/lib/mbsync.sh for Dovecot on 127.0.0.1:$DV_PORT
			IMAPAccount $name
			Host 127.0.0.1
			Port $DV_PORT
			User $user
			$kind "$value"
			AuthMechs $mech
			SSLType None
			Timeout 20

			IMAPStore $name-remote
			Account $name

			MaildirStore $name-local
			Path $dir/mail/
			Inbox $dir/mail/INBOX
			SubFolders Verbatim

			Channel $name
			Far :$name-remote:INBOX
			Near :$name-local:INBOX
			Create Both
			Expunge None
			SyncState *
		EOF
	)
}

# mb_set_mech NAME MECH: changes AuthMechs in NAME's config.
mb_set_mech() {
	sed -i "s/^AuthMechs .*/AuthMechs $2/" "$(mb_dir "$1")/mbsyncrc"
}

# mb_sync NAME SASL_DIR [VAR=VALUE...]: `mbsync -V -c CONFIG -a` with
# SASL_PATH=SASL_DIR (libsasl2 then loads plugins from there only) and the
# extra environment given, under a MB_TIMEOUT (default 60 s) timeout.  Sets
# RC, OUT, ERR, ELAPSED_MS like run_cmd (files $TEST_DIR/NAME-N.out/.err).
MB_RUNS=0
mb_sync() {
	local name=$1 sasl_dir=$2
	shift 2
	MB_RUNS=$((MB_RUNS + 1))
	MO_CMD_TIMEOUT=${MB_TIMEOUT:-60} run_cmd "mbsync-$name-$MB_RUNS" \
		env SASL_PATH="$sasl_dir" "$@" mbsync -V -c "$(mb_dir "$name")/mbsyncrc" -a
}

# mb_put_message NAME SUBJECT: a new message in NAME's local INBOX (to be
# synced up).  Prints the Message-ID.
mb_put_message() {
	maildir_put "$(mb_inbox "$1")" "$2"
}

# mb_count NAME: messages in NAME's local INBOX.
mb_count() {
	maildir_count "$(mb_inbox "$1")"
}

# mb_has NAME SUBJECT
mb_has() {
	maildir_has "$(mb_inbox "$1")" "$2"
}

# mb_system_sasl_dir: libsasl2's own plugin directory (Debian:
# /usr/lib/<triplet>/sasl2), or nothing.
mb_system_sasl_dir() {
	local d
	d=$(pkg-config --variable=libdir libsasl2 2>/dev/null)
	if [ -n "$d" ] && [ -d "$d/sasl2" ]; then
		echo "$d/sasl2"
		return
	fi
	for d in /usr/lib/*/sasl2 /usr/lib/sasl2; do
		[ -d "$d" ] && {
			echo "$d"
			return
		}
	done
}
