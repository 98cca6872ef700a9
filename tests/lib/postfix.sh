# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Postfix end to end on 127.0.0.1: a private postfix instance relaying with
# the SASL plugin, an HTTPS front for the test provider, and an SMTP sink that
# delivers into a maildir.  Source it after common.sh (and dovecot.sh, whose
# submission service is the usual relay):
#
#   pki_make "$TEST_DIR/pki"                       # throw-away CA + leaf for 127.0.0.1
#   hf_start "$ISSUER" "$PKI_CERT" "$PKI_KEY"      # https://127.0.0.1:HF_PORT -> provider
#   sink_start "$TEST_DIR/sink"                    # SMTP on 127.0.0.1:SINK_PORT -> maildir
#   DV_SUBMISSION_RELAY_PORT=$SINK_PORT dv_start "$ISSUER" "$TEST_DIR/clients.json"
#   pf_start "[127.0.0.1]:$DV_SUBMISSION_PORT" "$MAILOAUTH_SASL_DIR"
#   pf_sasl_passwd "[127.0.0.1]:$DV_SUBMISSION_PORT" me@example.com /etc/sasl-tokens/me@example.com
#   pf_put_token_file me@example.com access_token=... refresh_token=... ...
#   pf_send "first"; pf_wait_delivered "$PF_SUBJECT"
#   pf_stop                                        # or leave it to the EXIT trap
#
# The postfix instance (PF_DIR, a directory of its own under /tmp, mode 0755
# so that the postfix user can reach it; removed by pf_stop unless
# MO_KEEP_TEST_DIR is set):
#  - PF_CONF = PF_DIR/conf: main.cf, master.cf, sasl_passwd (texthash: no
#    postmap), header_checks.  Commands: `postfix -c PF_CONF start|stop|reload`,
#    `sendmail -C PF_CONF`, `postqueue -c PF_CONF`, `postsuper -c PF_CONF`.
#  - PF_QUEUE = PF_DIR/queue: queue_directory, and the chroot of every
#    service with `y` in master.cf column 5 -- smtp among them, as Debian
#    ships it.  A sasl_passwd path /etc/sasl-tokens/X is opened there as
#    PF_QUEUE/etc/sasl-tokens/X (pf_token_file X), in a directory of mode 0700
#    owned by postfix.  `postfix -c DIR start` copies nothing into the chroot
#    (Debian's init script does, for the system instance only): pf_start copies
#    what that script copies from /etc (PF_CHROOT_FILES).
#  - PF_LOG = PF_DIR/maillog (maillog_file + the postlog service of master.cf:
#    without them a private instance exits 1 and says nothing).
#  - no listening service at all (no smtpd in master.cf), inet_interfaces =
#    127.0.0.1; it only sends: relayhost = the NEXTHOP given to pf_start, with
#    XOAUTH2 from the SASL plugin of the directory given (SASL_PATH through
#    import_environment: libsasl2 loads plugins from there only).
#  - mydestination is empty and local delivery off: a bounce would go to the
#    relay too, never into the system's mailboxes.
#  - header_checks put a message with an `X-Mailoauth-Hold:` header on hold
#    (pf_send --hold), so that a test can queue many and release them at once.
#  - PF_IMPORT_ENV="NAME=VALUE ..." before pf_start: more import_environment
#    entries (the smtp process's environment, e.g. MAILOAUTH_SASL_XOAUTH2_CONF).
#  - PF_DEBUG=1 before pf_start adds debug_peer_list = 127.0.0.1: the SASL
#    exchange in the maillog (base64; that holds the token: only for a look by
#    hand).
#
# Postfix writes its errors to the terminal only: every postfix command runs
# under `script -qc` (pf_ctl), its output in PF_DIR/ctl.out.

PF_DIR=
PF_CONF=
PF_QUEUE=
PF_LOG=
PF_MASTER_PID=
PF_SUBJECT=
PF_SEQ=0
PF_LOG_MARK=0
# Who the test messages are from and to (the relay delivers every recipient to the sink).
PF_SENDER=${PF_SENDER:-sender@example.org}
PF_RCPT=${PF_RCPT:-rcpt@example.com}
# What Debian's configure-instance.sh copies into /var/spool/postfix/etc (those present).
PF_CHROOT_FILES=${PF_CHROOT_FILES-etc/localtime etc/services etc/resolv.conf etc/hosts etc/host.conf etc/nsswitch.conf}

HF_PID=
HF_PORT=
HF_URL=
HF_LOG=
SINK_PID=
SINK_PORT=
SINK_MAILDIR=
SINK_LOG=

# ---------------------------------------------------------------- PKI ----

# pki_make DIR: a throw-away CA and a leaf certificate for 127.0.0.1 signed by
# it (subjectAltName IP:127.0.0.1, DNS:localhost; P-256 keys, valid 2 days),
# all made by `openssl req -x509`.  Sets PKI_CA (CA certificate), PKI_CA_KEY,
# PKI_CERT, PKI_KEY.  Keys are 0600; DIR is created 0700.
pki_make() {
	local dir=$1
	mkdir -m 0700 "$dir" || return 1
	PKI_CA="$dir/ca.crt"
	PKI_CA_KEY="$dir/ca.key"
	PKI_CERT="$dir/leaf.crt"
	PKI_KEY="$dir/leaf.key"
	(
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$PKI_CA_KEY" -out "$PKI_CA" -days 2 \
			-subj "/CN=mailoauth throw-away test CA $$" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" &&
			openssl req -x509 -CA "$PKI_CA" -CAkey "$PKI_CA_KEY" \
				-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout "$PKI_KEY" -out "$PKI_CERT" -days 2 -subj "/CN=127.0.0.1" \
				-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
				-addext "basicConstraints=critical,CA:FALSE" \
				-addext "keyUsage=critical,digitalSignature" \
				-addext "extendedKeyUsage=serverAuth"
	) >"$dir/openssl.log" 2>&1 || {
		diag "pki_make: openssl failed:"
		diag_file "$dir/openssl.log"
		return 1
	}
	chmod 0644 "$PKI_CA" "$PKI_CERT"
	openssl verify -CAfile "$PKI_CA" "$PKI_CERT" >>"$dir/openssl.log" 2>&1 || {
		diag "pki_make: the leaf does not verify against the CA"
		return 1
	}
}

# ---------------------------------------------------------- HTTPS front ----

# hf_start UPSTREAM CERT KEY: tests/lib/https-front.mjs on a free port of
# 127.0.0.1, passing every request on to UPSTREAM (http://127.0.0.1:PORT).
# Sets HF_PID, HF_PORT, HF_URL (https://127.0.0.1:PORT) and HF_LOG (its
# stderr: one line per request, paths only, and failed TLS handshakes).
hf_start() {
	local upstream=$1 cert=$2 key=$3 dir i
	dir=$(mktemp -d "$TEST_DIR/https-front.XXXXXX") || return 1
	HF_LOG="$dir/log"
	node "$MO_LIBDIR/https-front.mjs" --upstream "$upstream" --cert "$cert" --key "$key" \
		--info-file "$dir/info.json" --pid-file "$dir/pid" 2>"$HF_LOG" &
	HF_PID=$!
	mo_track_pid "$HF_PID"
	for ((i = 0; i < 200; i++)); do
		[ -s "$dir/info.json" ] && break
		kill -0 "$HF_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$dir/info.json" ]; then
		diag "https-front did not start:"
		diag_file "$HF_LOG"
		return 1
	fi
	HF_PORT=$(json_get "$dir/info.json" 'd["port"]')
	# shellcheck disable=SC2034 # for the caller
	HF_URL="https://127.0.0.1:$HF_PORT"
}

hf_stop() {
	[ -n "$HF_PID" ] || return 0
	kill "$HF_PID" 2>/dev/null
	wait "$HF_PID" 2>/dev/null
	mo_untrack_pid "$HF_PID"
	HF_PID=
}

# ------------------------------------------------------------ SMTP sink ----

# sink_start MAILDIR: a small SMTP server of our own (python) on a free port of
# 127.0.0.1 that takes every message (no auth, no TLS; EHLO/HELO, MAIL, RCPT,
# DATA, RSET, NOOP, QUIT) and delivers it into MAILDIR (new/, written to tmp/
# first), with Return-Path and X-Sink-Rcpt lines on top.  Count with
# maildir_count / maildir_has of dovecot.sh.  Sets SINK_PID, SINK_PORT,
# SINK_MAILDIR and SINK_LOG (one line per session event: never bodies).
sink_start() {
	local dir i
	SINK_MAILDIR=$1
	mkdir -m 0700 "$SINK_MAILDIR" "$SINK_MAILDIR"/{new,cur,tmp} || return 1
	dir=$(mktemp -d "$TEST_DIR/sink.XXXXXX") || return 1
	SINK_LOG="$dir/log"
	cat >"$dir/sink.py" <<'EOF'
import os, socket, socketserver, sys, threading, time

port_file, maildir, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
seq = [0]
logf = open(log_path, "a", buffering=1, encoding="utf-8")

def log(msg):
    with lock:
        logf.write("%.3f %s\n" % (time.time(), msg))

class Session(socketserver.StreamRequestHandler):
    timeout = 60

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.reply("220 sink.mailoauth.test ESMTP mailoauth test sink")
        sender, rcpts = None, []
        while True:
            raw = self.rfile.readline(65536)
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-sink.mailoauth.test")
                self.reply("250-8BITMIME")
                self.reply("250 ENHANCEDSTATUSCODES")
            elif verb == "HELO":
                self.reply("250 sink.mailoauth.test")
            elif verb == "MAIL":
                sender, rcpts = line[5:].strip(), []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                if sender is None:
                    self.reply("503 5.5.1 MAIL first")
                else:
                    rcpts.append(line[5:].strip())
                    self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if not rcpts:
                    self.reply("503 5.5.1 RCPT first")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                body = []
                while True:
                    raw = self.rfile.readline(1 << 20)
                    if not raw:
                        return
                    if raw in (b".\r\n", b".\n"):
                        break
                    if raw.startswith(b"."):
                        raw = raw[1:]
                    body.append(raw)
                name = self.deliver(sender, rcpts, b"".join(body))
                self.reply("250 2.0.0 Ok: queued as " + name)
                sender, rcpts = None, []
            elif verb == "RSET":
                sender, rcpts = None, []
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 not implemented here")

    def deliver(self, sender, rcpts, data):
        with lock:
            seq[0] += 1
            n = seq[0]
        name = "%d.M%dP%dQ%d.sink" % (time.time(), time.time_ns() % 1000000, os.getpid(), n)
        subject = ""
        for hl in data.split(b"\n"):
            hl = hl.rstrip(b"\r")
            if not hl:
                break
            if hl.lower().startswith(b"subject:"):
                subject = hl[8:].strip().decode("utf-8", "replace")
        head = "Return-Path: %s\r\nX-Sink-Rcpt: %s\r\n" % (sender.split(" ")[0], ", ".join(rcpts))
        tmp = os.path.join(maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(head.encode() + data)
        os.rename(tmp, os.path.join(maildir, "new", name))
        log("delivered %s from %s to %s subject=%s" % (name, sender.split(" ")[0], ", ".join(rcpts), subject))
        return name

class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

srv = Server(("127.0.0.1", 0), Session)
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % srv.server_address[1])
os.rename(tmp, port_file)
log("listening on 127.0.0.1:%d (pid %d)" % (srv.server_address[1], os.getpid()))
srv.serve_forever()
EOF
	"$MO_PYTHON" "$dir/sink.py" "$dir/port" "$SINK_MAILDIR" "$SINK_LOG" 2>"$dir/stderr" &
	SINK_PID=$!
	mo_track_pid "$SINK_PID"
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/port" ] && break
		kill -0 "$SINK_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$dir/port" ]; then
		diag "the SMTP sink did not start:"
		diag_file "$dir/stderr"
		return 1
	fi
	# shellcheck disable=SC2034 # for the caller
	SINK_PORT=$(<"$dir/port")
}

sink_stop() {
	[ -n "$SINK_PID" ] || return 0
	kill "$SINK_PID" 2>/dev/null
	wait "$SINK_PID" 2>/dev/null
	mo_untrack_pid "$SINK_PID"
	SINK_PID=
}

# ------------------------------------------------------ postfix instance ----

# pf_ctl NAME CMD...: CMD under `script -qc` (postfix prints its errors only
# to a terminal), output in PF_DIR/NAME.out; returns CMD's exit status.
pf_ctl() {
	local name=$1 cmd="" a
	shift
	for a in "$@"; do
		cmd+=" $(printf '%q' "$a")"
	done
	timeout -k 5 "${PF_CTL_TIMEOUT:-60}" script -qec "${cmd# }" /dev/null \
		</dev/null >"$PF_DIR/$name.out" 2>&1
}

# pf_master_pid: the running master's PID (from its pid file), or nothing.
pf_master_pid() {
	local pid
	read -r pid 2>/dev/null <"$PF_QUEUE/pid/master.pid" || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# pf_pids: every process of this instance -- its root (chroot) or working
# directory is in PF_DIR: master and every daemon (they all chdir to the
# queue directory).  One PID a line.
pf_pids() {
	local line re
	[ -n "$PF_DIR" ] || return 0
	# one stat for all: "'/proc/PID/root' -> '/tmp/...'" (PF_DIR needs no quoting)
	re="^'/proc/([0-9]+)/(root|cwd)' -> '${PF_DIR//./\\.}(/[^']*)?'\$"
	stat -c '%N' /proc/[0-9]*/root /proc/[0-9]*/cwd 2>/dev/null | while IFS= read -r line; do
		[[ $line =~ $re ]] && echo "${BASH_REMATCH[1]}"
	done | sort -un
}

# pf_pid_alive PID: PID exists and is not a zombie.
pf_pid_alive() {
	local stat
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# pf_write_main_cf NEXTHOP SASL_DIR
pf_write_main_cf() {
	local nexthop=$1 sasl_dir=$2 env debug=
	env="$(postconf -d -h import_environment) SASL_PATH=$sasl_dir ${PF_IMPORT_ENV:-}"
	[ -n "${PF_DEBUG:-}" ] && debug=127.0.0.1
	cat >"$PF_CONF/main.cf" <<-EOF
		# Written by tests/lib/postfix.sh: postfix -c $PF_CONF start|stop
		compatibility_level = 3.6
		queue_directory = $PF_QUEUE
		data_directory = $PF_DIR/data
		maillog_file = $PF_LOG
		maillog_file_prefixes = $PF_DIR
		syslog_name = postfix-mailoauth-test
		myhostname = client.mailoauth.test
		mydomain = mailoauth.test
		myorigin = \$mydomain
		mydestination =
		local_recipient_maps =
		local_transport = error:5.1.1 local delivery is off in this test instance
		alias_maps =
		alias_database =
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		mynetworks = 127.0.0.0/8
		smtputf8_enable = no
		biff = no
		header_checks = regexp:$PF_CONF/header_checks
		relayhost = $nexthop
		smtp_sasl_auth_enable = yes
		smtp_sasl_mechanism_filter = xoauth2
		smtp_sasl_security_options = noanonymous
		smtp_sasl_password_maps = texthash:$PF_CONF/sasl_passwd
		smtp_sasl_auth_soft_bounce = yes
		smtp_tls_security_level = none
		import_environment = $env
		debug_peer_list = $debug
	EOF
}

# The services of Debian's master.cf a sending instance needs, with Debian's
# chroot column; no smtpd (nothing listens), no local delivery.
pf_write_master_cf() {
	cat >"$PF_CONF/master.cf" <<-'EOF'
		# service type  private unpriv  chroot  wakeup  maxproc command + args
		pickup    unix  n       -       y       60      1       pickup
		cleanup   unix  n       -       y       -       0       cleanup
		qmgr      unix  n       -       n       300     1       qmgr
		tlsmgr    unix  -       -       y       1000?   1       tlsmgr
		rewrite   unix  -       -       y       -       -       trivial-rewrite
		bounce    unix  -       -       y       -       0       bounce
		defer     unix  -       -       y       -       0       bounce
		trace     unix  -       -       y       -       0       bounce
		verify    unix  -       -       y       -       1       verify
		flush     unix  n       -       y       1000?   0       flush
		proxymap  unix  -       -       n       -       -       proxymap
		proxywrite unix -       -       n       -       1       proxymap
		smtp      unix  -       -       y       -       -       smtp
		relay     unix  -       -       y       -       -       smtp
		showq     unix  n       -       y       -       -       showq
		error     unix  -       -       y       -       -       error
		retry     unix  -       -       y       -       -       error
		discard   unix  -       -       y       -       -       discard
		anvil     unix  -       -       y       -       1       anvil
		scache    unix  -       -       y       -       1       scache
		postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
}

# pf_populate_chroot: PF_CHROOT_FILES from / into PF_QUEUE, world-readable,
# as Debian's configure-instance.sh does; and etc/sasl-tokens (0700 postfix).
pf_populate_chroot() {
	local f
	(umask 022 && mkdir -p "$PF_QUEUE/etc")
	for f in $PF_CHROOT_FILES; do
		[ -f "/$f" ] || continue
		(umask 022 && mkdir -p "$PF_QUEUE/$(dirname "$f")")
		cp -L "/$f" "$PF_QUEUE/$f" && chmod a+rX "$PF_QUEUE/$f"
	done
	mkdir -m 0700 "$PF_QUEUE/etc/sasl-tokens"
	chown postfix:postfix "$PF_QUEUE/etc/sasl-tokens"
}

# pf_start NEXTHOP SASL_DIR: a new instance (see the top) relaying everything
# to NEXTHOP (e.g. [127.0.0.1]:PORT) with the SASL plugins of SASL_DIR, started
# with `postfix -c PF_CONF start`.  The sasl_passwd file starts empty (see
# pf_sasl_passwd).  Sets PF_DIR, PF_CONF, PF_QUEUE, PF_LOG, PF_MASTER_PID; the
# EXIT trap stops it (and Dovecot, if dovecot.sh is loaded: start Dovecot
# first, its dv_start sets a trap of its own).
pf_start() {
	local nexthop=$1 sasl_dir=$2 i
	command -v postfix >/dev/null || {
		diag "postfix not found"
		return 1
	}
	[ "$(id -u)" = 0 ] || {
		diag "pf_start: a postfix instance needs root"
		return 1
	}
	id postfix >/dev/null 2>&1 || {
		diag "pf_start: no postfix user"
		return 1
	}
	PF_DIR=$(mktemp -d "${TMPDIR:-/tmp}/mailoauth-postfix.XXXXXX") || return 1
	chmod 0755 "$PF_DIR"
	PF_CONF="$PF_DIR/conf"
	PF_QUEUE="$PF_DIR/queue"
	PF_LOG="$PF_DIR/maillog"
	mkdir -m 0755 "$PF_CONF" "$PF_QUEUE"
	mkdir -m 0700 "$PF_DIR/data"
	chown postfix:postfix "$PF_DIR/data"
	trap 'pf_stop; if declare -F dv_stop >/dev/null; then dv_stop; fi; mo_cleanup' EXIT
	pf_populate_chroot
	pf_write_main_cf "$nexthop" "$sasl_dir"
	pf_write_master_cf
	: >"$PF_CONF/sasl_passwd"
	printf '%s\n' '/^X-Mailoauth-Hold:/ HOLD held by the test (pf_send --hold)' \
		>"$PF_CONF/header_checks"
	PF_LOG_MARK=0
	if ! pf_ctl start postfix -c "$PF_CONF" start; then
		diag "postfix -c $PF_CONF start failed:"
		diag_file "$PF_DIR/start.out"
		[ -f "$PF_LOG" ] && diag_file "$PF_LOG"
		return 1
	fi
	for ((i = 0; i < 100; i++)); do
		PF_MASTER_PID=$(pf_master_pid) && [ -e "$PF_QUEUE/public/pickup" ] && break
		sleep 0.05
	done
	PF_MASTER_PID=$(pf_master_pid) || {
		diag "postfix master did not start:"
		diag_file "$PF_DIR/start.out"
		[ -f "$PF_LOG" ] && diag_file "$PF_LOG"
		return 1
	}
	# Not our child (postfix start daemonizes it): the EXIT trap kills it
	# if pf_stop could not.
	mo_track_pid "$PF_MASTER_PID"
}

# pf_stop: `postfix -c PF_CONF stop`, then waits until no process of the
# instance is left (pf_pids); what is still there after 10 s gets SIGTERM,
# then SIGKILL, by PID (with a diagnostic: it should not happen).  Removes
# PF_DIR unless MO_KEEP_TEST_DIR.  Safe to call twice.  Returns 1 if a
# process had to be killed.
pf_stop() {
	local i pids before p rc=0
	[ -n "$PF_DIR" ] || return 0
	before=$(pf_pids)
	if [ -n "$(pf_master_pid)" ]; then
		pf_ctl stop postfix -c "$PF_CONF" stop || {
			diag "postfix -c $PF_CONF stop failed:"
			diag_file "$PF_DIR/stop.out"
		}
	fi
	# A process on its way out no longer shows its root and cwd: wait for
	# those seen before the stop by their PIDs too.
	for ((i = 0; i < 200; i++)); do
		pids=$(
			pf_pids
			for p in $before; do
				pf_pid_alive "$p" && echo "$p"
			done
		)
		[ -z "$pids" ] && break
		sleep 0.05
	done
	pids=$(sort -un <<<"$pids")
	if [ -n "$pids" ]; then
		rc=1
		diag "postfix processes left after stop: $(tr '\n' ' ' <<<"$pids")"
		# shellcheck disable=SC2086
		kill $pids 2>/dev/null
		sleep 1
		pids=$(pf_pids)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	fi
	[ -z "$PF_MASTER_PID" ] || mo_untrack_pid "$PF_MASTER_PID"
	PF_MASTER_PID=
	if [ -n "${MO_KEEP_TEST_DIR:-}" ]; then
		diag "postfix directory kept: $PF_DIR"
	else
		rm -rf -- "$PF_DIR"
	fi
	PF_DIR=
	return $rc
}

# pf_reload: `postfix reload` (main.cf, master.cf and maps; import_environment
# needs pf_stop + pf_start).
pf_reload() {
	pf_ctl reload postfix -c "$PF_CONF" reload
}

# pf_sasl_passwd NEXTHOP USER PASSWORD: the one line of sasl_passwd (texthash,
# read when an smtp process starts: running ones keep the old table until
# pf_reload).  PASSWORD is a path here, never a token.
pf_sasl_passwd() {
	printf '%s %s:%s\n' "$1" "$2" "$3" >"$PF_CONF/sasl_passwd"
	[ -z "$(pf_master_pid)" ] || pf_reload
}

# ------------------------------------------------------------ token files ----

# pf_token_file ACCOUNT: where /etc/sasl-tokens/ACCOUNT is seen from outside the chroot.
pf_token_file() {
	printf '%s/etc/sasl-tokens/%s\n' "$PF_QUEUE" "$1"
}

# pf_put_token_file ACCOUNT FIELD=STRING|FIELD:=RAWJSON ...: a sasl-xoauth2
# token file (write_token_file of common.sh) at pf_token_file ACCOUNT, mode
# 0600, owned by postfix.  Values come through argv of a bash function only.
pf_put_token_file() {
	local path
	path=$(pf_token_file "$1")
	shift
	write_token_file "$path.new" "$@" &&
		chown postfix:postfix "$path.new" &&
		mv -f -- "$path.new" "$path"
}

# pf_token_set ACCOUNT KEY RAWJSON: sets one key of the token file in place
# (same inode: owner and mode stay), e.g. pf_token_set me expiry '"123"'.
pf_token_set() {
	"$MO_PYTHON" - "$(pf_token_file "$1")" "$2" "$3" <<'EOF'
import json, sys
path, key, value = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
with open(path, "r+", encoding="utf-8") as f:
    d = json.load(f)
    d[key] = value
    f.seek(0)
    f.write(json.dumps(d) + "\n")
    f.truncate()
EOF
}

# ---------------------------------------------------------------- mail ----

# pf_send LABEL [--hold]: one message from PF_SENDER to PF_RCPT through
# `sendmail -C PF_CONF`, with a unique Subject (set in PF_SUBJECT); --hold
# puts it on hold (header_checks) until pf_release.  Returns sendmail's status.
pf_send() {
	local label=$1 hold=
	[ "${2:-}" = --hold ] && hold="X-Mailoauth-Hold: yes"
	PF_SEQ=$((PF_SEQ + 1))
	PF_SUBJECT="mailoauth postfix test: $label ($$-$PF_SEQ-$EPOCHSECONDS)"
	{
		printf '%s\r\n' "From: Sender <$PF_SENDER>" "To: <$PF_RCPT>" \
			"Subject: $PF_SUBJECT" "Date: $(LC_ALL=C date -R)" \
			"Message-ID: <$$.$PF_SEQ.${EPOCHREALTIME/./}@client.mailoauth.test>"
		[ -z "$hold" ] || printf '%s\r\n' "$hold"
		printf '%s\r\n' "Content-Type: text/plain; charset=us-ascii" "" \
			"Test message: $label"
	} | timeout -k 5 30 sendmail -C "$PF_CONF" -f "$PF_SENDER" -i -- "$PF_RCPT" \
		>"$PF_DIR/sendmail.out" 2>&1
}

# pf_flush: `postqueue -f` (deliver the deferred queue now; also lifts the
# queue manager's back-off for dead destinations).
pf_flush() {
	pf_ctl flush postqueue -c "$PF_CONF" -f
}

# pf_release: every held message back into the queue at once, then pf_flush.
pf_release() {
	pf_ctl release postsuper -c "$PF_CONF" -H ALL && pf_flush
}

# pf_clear_queue: deletes every queued message (between steps, after a failure).
pf_clear_queue() {
	pf_ctl clear postsuper -c "$PF_CONF" -d ALL
}

# pf_queue_count [QUEUE]: messages in the queue (all, or one of maildrop,
# incoming, active, deferred, hold), from `postqueue -j`.
pf_queue_count() {
	postqueue -c "$PF_CONF" -j 2>/dev/null | "$MO_PYTHON" -c '
import json, sys
want = sys.argv[1] if len(sys.argv) > 1 else None
print(sum(1 for l in sys.stdin if l.strip() and (want is None or json.loads(l)["queue_name"] == want)))' "$@"
}

# pf_wait_delivered SUBJECT [TIMEOUT_S]: until the sink's maildir has a
# message with SUBJECT (default 20 s).  Returns 1 on timeout.
pf_wait_delivered() {
	local end=$((EPOCHSECONDS + ${2:-20}))
	while ! maildir_has "$SINK_MAILDIR" "$1"; do
		((EPOCHSECONDS < end)) || return 1
		sleep 0.1
	done
}

# pf_wait_count N [TIMEOUT_S]: until the sink's maildir holds N messages.
pf_wait_count() {
	local end=$((EPOCHSECONDS + ${2:-20}))
	while [ "$(maildir_count "$SINK_MAILDIR")" -lt "$1" ]; do
		((EPOCHSECONDS < end)) || return 1
		sleep 0.1
	done
}

# pf_wait_settled BASE N [TIMEOUT_S]: until N messages are done with, one way
# or the other: delivered to the sink (beyond BASE messages already there) or
# deferred.  Returns 1 on timeout.  Then see maildir_count / pf_queue_count.
pf_wait_settled() {
	local base=$1 n=$2 end=$((EPOCHSECONDS + ${3:-20}))
	while (($(maildir_count "$SINK_MAILDIR") - base + $(pf_queue_count deferred) < n)); do
		((EPOCHSECONDS < end)) || return 1
		sleep 0.2
	done
}

# pf_wait_deferred N [TIMEOUT_S]: until N messages sit in the deferred queue.
pf_wait_deferred() {
	local end=$((EPOCHSECONDS + ${2:-20}))
	while [ "$(pf_queue_count deferred)" -lt "$1" ]; do
		((EPOCHSECONDS < end)) || return 1
		sleep 0.2
	done
}

# pf_log: the maillog so far.
pf_log() {
	cat -- "$PF_LOG" 2>/dev/null
}

# pf_log_mark: later pf_log_since shows only what is logged from now on.
pf_log_mark() {
	PF_LOG_MARK=$(wc -l <"$PF_LOG" 2>/dev/null || echo 0)
}

# pf_log_since FILE: the maillog lines since pf_log_mark into FILE.
pf_log_since() {
	tail -n "+$((PF_LOG_MARK + 1))" -- "$PF_LOG" >"$1" 2>/dev/null
}
