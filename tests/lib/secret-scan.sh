# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Secret scan for the integration tests: no token or secret that a test's
# servers issued (or the test itself made up) may show up in any process's
# argv or environment while the test runs, nor in any captured output, log
# or temporary directory afterwards.  Source it after common.sh:
#
#   . "$MO_LIBDIR/secret-scan.sh"
#   secret_scan_start                     # after mo_init: samples /proc every ~20 ms
#   start_token_server ... --token-style random --issued-file "$SCAN_ISSUED"
#   secret_scan_add "$CLIENT_SECRET" "$INITIAL_RT"
#   ...
#   secret_scan_check "no secret in argv, environment, outputs or logs" [DIR...]
#
# What is scanned at the end:
#  - every distinct /proc/PID/cmdline and /proc/PID/environ the sampler saw
#    (all processes of the machine, every ~20 ms, from secret_scan_start on);
#  - the captured outputs and logs under $TEST_DIR: *.out, *.err, *.log and
#    the token server's log and stderr;
#  - the keyring session's logs (its *.log: the bus's, the keyring daemon's);
#  - every file under each DIR given to secret_scan_check (temporary
#    directories, the directory of a token file, $XDG_RUNTIME_DIR/mailoauth).
# Files that hold tokens by design (a token file, the journal, the stdout of
# `mailoauth token`) are exempted with secret_scan_allow PATH-OR-GLOB.  The
# secrets are looked for as they are, percent-encoded and JSON-escaped.  A
# hit is reported by file and count; the secret itself is never printed.
#
# The secrets reach the scanner through 0600 files written with bash
# builtins (printf), never through argv or the environment: the scanner
# itself must not be a leak.  Tokens the server issues with --token-style
# random carry 16 random hex digits, so a hit is never a coincidence.

SCAN_DIR=
SCAN_ISSUED=
SCAN_PID=
# Secrets shorter than this are not looked for: they would match by chance.
SCAN_MIN_LEN=8

# secret_scan_start: makes $SCAN_DIR (with $SCAN_ISSUED, the file to hand to
# token-server.py's --issued-file) and starts the /proc sampler, which the
# EXIT trap stops if secret_scan_check does not.
secret_scan_start() {
	SCAN_DIR=$TEST_DIR/secret-scan
	SCAN_ISSUED=$SCAN_DIR/issued
	(umask 077 && mkdir -p "$SCAN_DIR" && : >"$SCAN_ISSUED" && : >"$SCAN_DIR/secrets" &&
		: >"$SCAN_DIR/allow") || bail_out "secret scan: cannot make $SCAN_DIR"
	"$MO_PYTHON" -c "$SCAN_SAMPLER_PY" "$SCAN_DIR" 2>"$SCAN_DIR/sampler.err" &
	SCAN_PID=$!
	mo_track_pid "$SCAN_PID"
}

# secret_scan_add SECRET...: look for these too (client secrets, the seeded
# refresh tokens: what the test made up rather than the server issued).
secret_scan_add() {
	local s
	for s in "$@"; do
		[ -n "$s" ] && printf '%s\n' "$s" >>"$SCAN_DIR/secrets"
	done
	return 0
}

# secret_scan_allow PATH-OR-GLOB...: files that hold tokens by design.
secret_scan_allow() {
	local p
	for p in "$@"; do
		printf '%s\n' "$p" >>"$SCAN_DIR/allow"
	done
}

# secret_scan_stop: stops the sampler (secret_scan_check does it first).
secret_scan_stop() {
	[ -n "$SCAN_PID" ] || return 0
	kill "$SCAN_PID" 2>/dev/null
	wait "$SCAN_PID" 2>/dev/null
	mo_untrack_pid "$SCAN_PID"
	SCAN_PID=
}

# secret_scan_check DESC [DIR...]: stops the sampler, scans (see above) and
# reports one TAP line: ok when no secret was found anywhere.
secret_scan_check() {
	local desc=$1 report=$SCAN_DIR/report
	shift
	secret_scan_stop
	if "$MO_PYTHON" -c "$SCAN_CHECK_PY" "$SCAN_DIR" "$TEST_DIR" \
		"${MAILOAUTH_TEST_SESSION_DIR:-}" "$SCAN_MIN_LEN" "$@" >"$report" 2>&1; then
		ok "$desc"
		diag_file "$report" 5
	else
		not_ok "$desc"
		diag_file "$report" 40
		return 1
	fi
}

# The sampler: every ~20 ms, the cmdline and environ of every process; each
# distinct one is appended to $SCAN_DIR/samples once.
# shellcheck disable=SC2016
SCAN_SAMPLER_PY='
import hashlib, os, signal, sys, time
out_dir = sys.argv[1]
running = True
def stop(signum, frame):
    global running
    running = False
signal.signal(signal.SIGTERM, stop)
seen, sweeps, size, cap = set(), 0, 0, 256 << 20
me = str(os.getpid())
with open(os.path.join(out_dir, "samples"), "wb") as out:
    os.fchmod(out.fileno(), 0o600)
    while running:
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or pid == me:
                continue
            for kind in ("cmdline", "environ"):
                try:
                    fd = os.open("/proc/%s/%s" % (pid, kind), os.O_RDONLY)
                    try:
                        data = os.read(fd, 1 << 20)
                    finally:
                        os.close(fd)
                except OSError:
                    continue
                key = hashlib.blake2b(data, digest_size=16).digest()
                if data and key not in seen and size < cap:
                    seen.add(key)
                    try:
                        with open("/proc/%s/comm" % pid, "rb") as f:
                            comm = f.read().strip().replace(b" ", b"_")
                    except OSError:
                        comm = b"?"
                    out.write(b"\n--- %s %s %s\n" % (pid.encode(), kind.encode(), comm))
                    out.write(data)
                    size += len(data)
        out.flush()
        sweeps += 1
        time.sleep(0.02)
with open(os.path.join(out_dir, "sweeps"), "w") as f:
    f.write("%d %d\n" % (sweeps, len(seen)))
'

# The check: argv = SCAN_DIR TEST_DIR SESSION_DIR MIN_LEN [DIR...]
# shellcheck disable=SC2016
SCAN_CHECK_PY='
import fnmatch, json, os, sys, urllib.parse
scan_dir, test_dir, session_dir, min_len = sys.argv[1:5]
extra_dirs = sys.argv[5:]
def lines(name):
    try:
        with open(os.path.join(scan_dir, name), encoding="utf-8", errors="replace") as f:
            return [l.rstrip("\n") for l in f if l.strip()]
    except OSError:
        return []
secrets = {s for s in lines("issued") + lines("secrets") if len(s) >= int(min_len)}
needles = set()
for s in secrets:
    needles.add(s.encode())
    needles.add(urllib.parse.quote(s, safe="").encode())
    needles.add(json.dumps(s)[1:-1].encode())
allow = lines("allow")
own = {os.path.join(scan_dir, n) for n in ("issued", "secrets", "allow", "report", "samples")}
def allowed(path):
    return path in own or any(fnmatch.fnmatch(path, pat) for pat in allow)
files = [os.path.join(scan_dir, "samples")]
captured = (".out", ".err", ".log")
for root, dirs, names in os.walk(test_dir):
    for n in names:
        p = os.path.join(root, n)
        if n.endswith(captured) or (os.path.basename(root).startswith("server.") and n in ("log", "stderr")):
            files.append(p)
if session_dir and os.path.isdir(session_dir):
    files.extend(os.path.join(session_dir, n) for n in os.listdir(session_dir)
                 if n.endswith(".log"))
for d in extra_dirs:
    for root, dirs, names in os.walk(d):
        files.extend(os.path.join(root, n) for n in names)
hits, scanned = [], 0
for p in sorted(set(files)):
    if p != os.path.join(scan_dir, "samples") and allowed(p):
        continue
    try:
        with open(p, "rb") as f:
            data = f.read()
    except OSError:
        continue
    scanned += 1
    n = sum(1 for x in needles if x in data)
    if n:
        hits.append((p, n))
try:
    with open(os.path.join(scan_dir, "sweeps")) as f:
        sweeps, blobs = f.read().split()
except (OSError, ValueError):
    sweeps, blobs = "?", "?"
print("secret scan: %d secrets, %d files, %s /proc sweeps (%s distinct cmdlines and environments)"
      % (len(secrets), scanned, sweeps, blobs))
for p, n in hits:
    where = "a process argv or environment" if p.endswith("/samples") else p
    print("secret found in %s (%d of the forms looked for)" % (where, n))
if hits and os.path.exists(os.path.join(scan_dir, "samples")):
    with open(os.path.join(scan_dir, "samples"), "rb") as f:
        data = f.read()
    for chunk in data.split(b"\n--- ")[1:]:
        head, _, body = chunk.partition(b"\n")
        if any(x in body for x in needles):
            pid, kind, comm = (head.split(b" ") + [b"?", b"?"])[:3]
            if any(x in comm for x in needles):
                comm = b"?"
            print("  ... in the %s of process %s (%s)" % (kind.decode(), pid.decode(),
                                                       comm.decode("utf-8", "replace")))
if not secrets:
    print("no secrets to look for: the test registered none")
    sys.exit(1)
if not sweeps.isdigit() or int(sweeps) < 1:
    print("the /proc sampler did not run (see %s/sampler.err)" % scan_dir)
    sys.exit(1)
sys.exit(1 if hits else 0)
'
