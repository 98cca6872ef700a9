# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# A private Dovecot 2.3 IMAP server on 127.0.0.1 for end-to-end tests, and
# maildir helpers.  Source it after common.sh (it uses TEST_DIR, diag,
# diag_file, json_get, mo_track_pid / mo_untrack_pid):
#
#   . "$MO_LIBDIR/dovecot.sh"
#   dv_start "$ISSUER" "$TEST_DIR/clients.json" || bail_out "no dovecot"
#   dv_put_message me@example.com "a subject"
#   dv_count me@example.com            # -> 1
#   dv_stop                            # or leave it to the EXIT trap
#
# The server:
#  - runs as root (`dovecot -F -c FILE`, a child of the test shell, so the
#    EXIT trap of common.sh stops it by its PID; dv_stop kills the PID in
#    base_dir/master.pid and waits), with every path under its own directory
#    DV_DIR: base_dir (sockets, master.pid), state_dir, the log DV_LOG;
#  - listens on 127.0.0.1:DV_PORT only (a free high port), IMAP without TLS
#    (ssl = no, disable_plaintext_auth = no), mechanisms XOAUTH2 and OAUTHBEARER;
#  - checks every token with the test provider's introspection endpoint
#    (passdb oauth2, client `dovecot`, secret from the provider's clients file,
#    written only to a 0600 file), user = the token's `username`;
#  - keeps mail in maildir:DV_DIR/mail/%n (the local part of the login), owned
#    by the unprivileged system user `mail` (Debian's uid 8: first_valid_uid
#    is lowered to it);
#  - has no login penalty (auth_failure_delay = 0, anvil penalty listener off),
#    so a failed login does not slow the next ones down.
#
# DV_DIR is not under TEST_DIR: the mail uid must be able to reach its
# maildirs, and TEST_DIR (mode 0700, holding tokens) stays closed.  DV_DIR is
# mode 0711 (no listing) and removed by dv_stop / the EXIT trap, unless
# MO_KEEP_TEST_DIR is set.  DV_DEBUG=1 before dv_start turns on auth_debug
# (which logs tokens and the introspection secret: only for a look by hand).
#
# SMTP submission (opt-in): set DV_SUBMISSION_RELAY_PORT=N before dv_start
# and Dovecot also runs `protocols = imap submission`: a submission server on
# 127.0.0.1:DV_SUBMISSION_PORT (plain SMTP, no TLS) taking AUTH XOAUTH2 /
# OAUTHBEARER checked like the IMAP logins (same passdb), relaying every
# accepted message to 127.0.0.1:N (plain SMTP, no auth: a test sink such as
# sink_start of postfix.sh).  Without it nothing changes: IMAP only.
#
# What Dovecot 2.3.19 answers (seen with tokens from tests/provider):
#  - a good token: `OK Logged in`;
#  - a bad, expired or revoked token (introspection says active:false): a
#    continuation with the base64 JSON challenge, for XOAUTH2
#    {"status":"401","schemes":"bearer","scope":"mail"}, for OAUTHBEARER
#    {"status":"invalid_token"}; after the client's (empty / \x01) answer
#    `NO [AUTHENTICATIONFAILED] Authentication failed.`; the log says
#    "oauth2 failed: Introspection failed: Provided token is not valid";
#  - a good token for another user: the same challenge, and the log says
#    "Introspection failed: Username 'X' did not match 'Y'".

readonly DV_MAIL_USER=${DV_MAIL_USER:-mail}
DV_DIR=
DV_PORT=
DV_PID=
DV_LOG=
DV_MAILROOT=
DV_CONF=
DV_SUBMISSION_PORT=

# dv_free_port: prints a TCP port on 127.0.0.1 that was free a moment ago.
dv_free_port() {
	"$MO_PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# dv_answers PORT: true if an IMAP greeting comes from 127.0.0.1:PORT.
dv_answers() {
	local fd line
	{ exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
	IFS= read -r -t 2 -u "$fd" line
	exec {fd}>&-
	[[ $line == "* OK"* ]]
}

# dv_smtp_answers PORT: true if an SMTP greeting (220) comes from 127.0.0.1:PORT.
dv_smtp_answers() {
	local fd line
	{ exec {fd}<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
	IFS= read -r -t 2 -u "$fd" line
	exec {fd}>&-
	[[ $line == "220 "* ]]
}

# dv_up: every configured listener answers.
dv_up() {
	dv_answers "$DV_PORT" || return 1
	[ -z "${DV_SUBMISSION_RELAY_PORT:-}" ] || dv_smtp_answers "$DV_SUBMISSION_PORT"
}

# dv_write_config: dovecot.conf and the oauth2 passdb file in DV_DIR.
# The introspection secret is in DV_SECRET (a shell variable, never argv).
dv_write_config() {
	local debug=no protocols=imap submission=
	[ -n "${DV_DEBUG:-}" ] && debug=yes
	if [ -n "${DV_SUBMISSION_RELAY_PORT:-}" ]; then
		protocols="imap submission"
		submission="submission_relay_host = 127.0.0.1
submission_relay_port = $DV_SUBMISSION_RELAY_PORT
submission_relay_ssl = no
submission_relay_trusted = no
service submission-login {
  inet_listener submission {
    address = 127.0.0.1
    port = $DV_SUBMISSION_PORT
  }
}"
	fi
	(
		umask 077
		cat >"$DV_DIR/oauth2.conf.ext" <<-EOF
			introspection_url = http://dovecot:$DV_SECRET@127.0.0.1:$DV_PROVIDER_PORT/token/introspection
			introspection_mode = post
			force_introspection = yes
			username_attribute = username
			active_attribute = active
			active_value = true
		EOF
		cat >"$DV_CONF" <<-EOF
			# Written by tests/lib/dovecot.sh; run as: dovecot -F -c $DV_CONF
			instance_name = mailoauth-test-${DV_DIR##*.}
			base_dir = $DV_DIR/run
			state_dir = $DV_DIR/state
			log_path = $DV_LOG
			info_log_path = $DV_LOG
			auth_verbose = yes
			auth_debug = $debug
			protocols = $protocols
			listen = 127.0.0.1
			ssl = no
			disable_plaintext_auth = no
			auth_mechanisms = xoauth2 oauthbearer
			auth_failure_delay = 0
			mail_location = maildir:$DV_MAILROOT/%n
			mail_uid = $DV_MAIL_USER
			mail_gid = $(id -gn "$DV_MAIL_USER")
			first_valid_uid = $(id -u "$DV_MAIL_USER")
			first_valid_gid = $(id -g "$DV_MAIL_USER")
			passdb {
			  driver = oauth2
			  mechanisms = xoauth2 oauthbearer
			  args = $DV_DIR/oauth2.conf.ext
			}
			userdb {
			  driver = static
			}
			service imap-login {
			  inet_listener imap {
			    address = 127.0.0.1
			    port = $DV_PORT
			  }
			  inet_listener imaps {
			    port = 0
			  }
			}
			service anvil {
			  unix_listener anvil-auth-penalty {
			    mode = 0
			  }
			}
			$submission
		EOF
	)
}

# dv_start ISSUER CLIENTS_FILE: starts Dovecot checking tokens at ISSUER's
# introspection endpoint (http://127.0.0.1:PORT) as client `dovecot`, whose
# secret is read from CLIENTS_FILE (tests/provider's --clients-file).  Waits
# until the IMAP port (and the submission port, see DV_SUBMISSION_RELAY_PORT)
# answers.  Sets DV_DIR, DV_CONF, DV_PORT, DV_PID, DV_LOG and DV_MAILROOT (and
# DV_SUBMISSION_PORT).  Returns 1 (with a diagnostic) if it cannot.
dv_start() {
	local issuer=$1 clients=$2 try i
	command -v dovecot >/dev/null || {
		diag "dovecot not found (package dovecot-imapd)"
		return 1
	}
	[ "$(id -u)" = 0 ] || {
		diag "dv_start: Dovecot with its own mail uid needs root"
		return 1
	}
	id "$DV_MAIL_USER" >/dev/null 2>&1 || {
		diag "dv_start: no system user $DV_MAIL_USER for the maildirs"
		return 1
	}
	[[ $issuer =~ ^http://127\.0\.0\.1:([0-9]+)$ ]] || {
		diag "dv_start: the issuer must be http://127.0.0.1:PORT, not $issuer"
		return 1
	}
	DV_PROVIDER_PORT=${BASH_REMATCH[1]}
	DV_SECRET=$(json_get "$clients" 'd["dovecot"]["client_secret"]') || {
		diag "dv_start: no dovecot secret in $clients"
		return 1
	}
	[[ $DV_SECRET =~ ^[A-Za-z0-9_-]+$ ]] || {
		DV_SECRET=
		diag "dv_start: the dovecot secret is not URL-safe"
		return 1
	}

	DV_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailoauth-dovecot.XXXXXX") || return 1
	chmod 0711 "$DV_DIR"
	mkdir -m 0755 "$DV_DIR/run"
	mkdir -m 0700 "$DV_DIR/state"
	mkdir -m 0700 "$DV_DIR/mail"
	chown "$DV_MAIL_USER:$(id -gn "$DV_MAIL_USER")" "$DV_DIR/mail"
	DV_CONF="$DV_DIR/dovecot.conf"
	DV_LOG="$DV_DIR/dovecot.log"
	DV_MAILROOT="$DV_DIR/mail"
	trap 'dv_stop; mo_cleanup' EXIT

	# The port is free when picked; another process may take it before
	# Dovecot binds it, so try a few.
	for ((try = 0; try < 5; try++)); do
		DV_PORT=$(dv_free_port) || return 1
		if [ -n "${DV_SUBMISSION_RELAY_PORT:-}" ]; then
			DV_SUBMISSION_PORT=$DV_PORT
			while [ "$DV_SUBMISSION_PORT" = "$DV_PORT" ]; do
				DV_SUBMISSION_PORT=$(dv_free_port) || return 1
			done
		fi
		dv_write_config
		dovecot -F -c "$DV_CONF" >"$DV_DIR/stderr" 2>&1 &
		DV_PID=$!
		mo_track_pid "$DV_PID"
		for ((i = 0; i < 100; i++)); do
			dv_up && break
			kill -0 "$DV_PID" 2>/dev/null || break
			sleep 0.05
		done
		if dv_up; then
			DV_SECRET=
			return 0
		fi
		kill "$DV_PID" 2>/dev/null
		wait "$DV_PID" 2>/dev/null
		mo_untrack_pid "$DV_PID"
		DV_PID=
		grep -q 'Address already in use' "$DV_LOG" "$DV_DIR/stderr" 2>/dev/null || break
	done
	DV_SECRET=
	diag "dovecot did not start:"
	diag_file "$DV_DIR/stderr"
	[ -f "$DV_LOG" ] && diag_file "$DV_LOG"
	return 1
}

# dv_stop: stops Dovecot by the PID in base_dir/master.pid (waits up to 10 s)
# and removes DV_DIR (kept under MO_KEEP_TEST_DIR).  Safe to call twice.
dv_stop() {
	local pid i
	[ -n "$DV_DIR" ] || return 0
	pid=$(cat "$DV_DIR/run/master.pid" 2>/dev/null)
	[ -n "$pid" ] || pid=$DV_PID
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		for ((i = 0; i < 200; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill -0 "$pid" 2>/dev/null && diag "dovecot (pid $pid) did not stop"
	fi
	if [ -n "$DV_PID" ]; then
		wait "$DV_PID" 2>/dev/null
		mo_untrack_pid "$DV_PID"
	fi
	DV_PID=
	if [ -n "${MO_KEEP_TEST_DIR:-}" ]; then
		diag "dovecot directory kept: $DV_DIR"
	else
		rm -rf -- "$DV_DIR"
	fi
	DV_DIR=
}

# dv_maildir USER: the maildir of USER (Dovecot's %n: the part before @).
dv_maildir() {
	printf '%s/%s\n' "$DV_MAILROOT" "${1%%@*}"
}

# ------------------------------------------------------------- maildirs ----

MO_MSG_SEQ=0

# maildir_put DIR SUBJECT [OWNER]: a new message (From/To/Subject/Date/
# Message-ID, CRLF lines) in DIR/new, written to DIR/tmp first; DIR's
# cur/new/tmp are created as needed.  OWNER (user:group) gets the files.
# Prints the Message-ID.
maildir_put() {
	local dir=$1 subject=$2 owner=${3:-} name id d
	for d in "$dir" "$dir/cur" "$dir/new" "$dir/tmp"; do
		if [ ! -d "$d" ]; then
			mkdir -m 0700 "$d" || return 1
			[ -z "$owner" ] || chown "$owner" "$d"
		fi
	done
	MO_MSG_SEQ=$((MO_MSG_SEQ + 1))
	name="${EPOCHSECONDS}.M${EPOCHREALTIME#*.}P$$Q$MO_MSG_SEQ.mailoauth-test"
	id="<$name@mailoauth.test>"
	(
		umask 077
		printf '%s\r\n' "From: Sender <sender@example.org>" "To: <${MO_MSG_TO:-me@example.com}>" \
			"Subject: $subject" "Date: $(LC_ALL=C date -R)" "Message-ID: $id" \
			"Content-Type: text/plain; charset=us-ascii" "" "Test message: $subject" \
			>"$dir/tmp/$name"
	) || return 1
	[ -z "$owner" ] || chown "$owner" "$dir/tmp/$name"
	mv -- "$dir/tmp/$name" "$dir/new/$name" || return 1
	printf '%s\n' "$id"
}

# maildir_count DIR: the number of messages in DIR (new + cur); 0 if none.
maildir_count() {
	local n=0 f
	for f in "$1"/new/* "$1"/cur/*; do
		[ -f "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

# maildir_has DIR SUBJECT: true if a message in DIR has exactly this Subject.
maildir_has() {
	local f line
	for f in "$1"/new/* "$1"/cur/*; do
		[ -f "$f" ] || continue
		while IFS= read -r line; do
			line=${line%$'\r'}
			[ -z "$line" ] && break
			[ "$line" = "Subject: $2" ] && return 0
		done <"$f"
	done
	return 1
}

# dv_put_message USER SUBJECT: a message in USER's Dovecot INBOX (owned by
# the mail uid), as if it had been delivered.  Prints the Message-ID.
dv_put_message() {
	MO_MSG_TO=$1 maildir_put "$(dv_maildir "$1")" "$2" \
		"$DV_MAIL_USER:$(id -gn "$DV_MAIL_USER")"
}

# dv_count USER: the number of messages in USER's Dovecot INBOX.
dv_count() {
	maildir_count "$(dv_maildir "$1")"
}

# dv_has USER SUBJECT: USER's Dovecot INBOX has a message with this Subject.
dv_has() {
	maildir_has "$(dv_maildir "$1")" "$2"
}

# ------------------------------------------------------------ IMAP login ----

# dv_imap_auth NAME MECH USER TOKEN_FILE: AUTHENTICATE MECH (XOAUTH2 or
# OAUTHBEARER) with SASL-IR on Dovecot, the access token read from
# TOKEN_FILE (never argv).  A JSON challenge is answered as RFC 7628 / Google
# say (an empty line for XOAUTH2, ^A for OAUTHBEARER).  Writes to
# $TEST_DIR/NAME.imap:
#   challenge: <decoded challenge>     (only if one came)
#   result: <the tagged reply, e.g. "OK Logged in" or "NO [AUTHENTICATIONFAILED] ...">
#   select: <the reply to SELECT INBOX, after a successful login>
#   exists: N                          (the message count SELECT reported)
# Sets IMAP_OUT to that file; returns 0 if the login succeeded.
dv_imap_auth() {
	IMAP_OUT="$TEST_DIR/$1.imap"
	"$MO_PYTHON" - "$DV_PORT" "$2" "$3" "$4" >"$IMAP_OUT" 2>&1 <<'EOF'
import base64, socket, sys
port, mech, user, tokfile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with open(tokfile, encoding="ascii") as f:
    tok = f.read().strip()
if mech == "XOAUTH2":
    ir, answer = "user=%s\x01auth=Bearer %s\x01\x01" % (user, tok), b""
else:
    ir = "n,a=%s,\x01host=127.0.0.1\x01port=%d\x01auth=Bearer %s\x01\x01" % (user, port, tok)
    answer = base64.b64encode(b"\x01")
s = socket.create_connection(("127.0.0.1", port), timeout=20)
f = s.makefile("rb")

def line():
    l = f.readline()
    if not l:
        raise SystemExit("result: connection closed")
    return l.decode("utf-8", "replace").rstrip("\r\n")

line()  # greeting
s.sendall(b"a AUTHENTICATE " + mech.encode() + b" " + base64.b64encode(ir.encode()) + b"\r\n")
ok = False
while True:
    l = line()
    if l.startswith("+"):
        print("challenge:", base64.b64decode(l[1:].strip()).decode("utf-8", "replace"))
        s.sendall(answer + b"\r\n")
    elif l.startswith("a "):
        print("result:", l[2:])
        ok = l.startswith("a OK")
        break
if ok:
    s.sendall(b"b SELECT INBOX\r\n")
    while True:
        l = line()
        if l.startswith("* ") and l.endswith(" EXISTS"):
            print("exists:", l.split()[1])
        if l.startswith("b "):
            print("select:", l[2:])
            break
s.sendall(b"c LOGOUT\r\n")
sys.exit(0 if ok else 1)
EOF
}
