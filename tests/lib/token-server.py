#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A tiny OAuth2 token endpoint on 127.0.0.1 for fault-injection tests.

It implements only the refresh_token grant, rotating the refresh token on
every success (rt-N replaces the previous one), and lets a test switch it
into failure modes through POST /control.  Secrets are read from files,
never from argv, so they do not show up in `ps`.

Endpoints:
  POST /token    form: grant_type=refresh_token&refresh_token=..&client_id=..
                 [&client_secret=..]
  POST /control  JSON: {"mode": "...", "rotate": bool, "refresh_token": "...",
                        "expires_in": int, "delay_ms": int, "reset_stats": bool,
                        "retry_after": "..."|null, "revoke_on_reuse": bool,
                        "track_delivery": bool}
                 Setting "refresh_token" starts a new grant: it also clears the
                 replaced tokens and the revocation.
  GET  /stats    JSON: {"token_requests": N, "refreshes": N, "last_form": {...},
                        "last_content_type": "...", "mode": "...", "revoked": bool,
                        "reuses": N, "in_flight": N, "huge_bytes_sent": N}
  GET  /last     text, KEY=VALUE lines, once no other connection is open or waiting
                 to be accepted (at most 10 s; settled=0 if not): counters and how
                 the last /token request went (see "Delivery"); no token in it.
  GET  /wait?event=received|flushed&after=N
                 text: id=ID once a /token request with an id above N was received
                 (or its answer flushed), at most 10 s (id=0); with delivery tracking.
                 Lets a test act at a point of a request: kill its client, say.
  POST /check    body: a token file or keyring item (JSON); text, KEY=VALUE lines:
                 parses, has_tokens, current (its refresh_token is the grant's
                 valid one), access_current (its access_token is the last one
                 issued), revoked, expiry_left (seconds); and the counters
                 token_requests and reuses.  Tells a test whether a stored token
                 is intact and still works without printing it.

Modes (the "mode" key of /control):
  ok                   answer normally (validate client and refresh token)
  invalid_grant        400 {"error":"invalid_grant","error_description":"AADSTS70000: ..."}
  invalid_client       401 {"error":"invalid_client",...}
  unauthorized_client  400 {"error":"unauthorized_client",...}
  invalid_scope        400 {"error":"invalid_scope",...}
  fail503:K            the next K token requests get 503 + Retry-After: 1, then ok
  fail429:K            the same with 429 Too Many Requests
  fail500:K            the same with 500 and no Retry-After
  failNNN:K            the same with any other status NNN (400-599), no Retry-After;
                       "retry_after" of /control overrides the header of all of them
                       (a string; "" or null: as above)
  garbage              200 with a body that is not JSON
  nojson200            200 with an empty body
  noaccess             200 with JSON that lacks access_token
  slow:S               sleep S seconds, then answer as in ok
  hangup               close the connection without answering
  hang                 read the request, never answer (until the client goes)
  slowbody:MS          headers at once, then the body one byte every MS ms
  html:NNN             status NNN with an HTML page (a proxy's or a login page), with
                       the Retry-After of /control's "retry_after" if set
  truncated            200, JSON cut in the middle (Content-Length matches the cut)
  short                200, Content-Length of the whole body, half of it, then close
  huge:MIB             200 with a MIB MiB JSON body, streamed until the client stops
  ctl_access           200 whose access_token holds CR LF ("header injection")
  ctl_refresh          200 whose refresh_token holds ESC ]0; ... BEL (terminal title)
  expires:RAW          answer as in ok, with expires_in as the JSON text RAW, or
                       without expires_in for "expires:none"
The fault modes above commit nothing: the grant stays as it was.

Rotation and reuse: with --revoke-on-reuse (or "revoke_on_reuse" of /control),
a refresh token that a rotation replaced, used again, gets invalid_grant and
revokes the whole grant: every refresh token of it, the newest included, gets
invalid_grant from then on (as Google, Okta, Auth0 and others do).

Delivery (--track-delivery, or "track_delivery" of /control): for every /token
request the server records whether the client was already gone when the answer
was ready (its end of the connection closed), whether the whole answer was
flushed to the socket, and then how the client closed the connection: "fin"
(it had read every byte of the answer), "rst" (it went with bytes of the answer
unread: it never read it), "open" (still open after 5 s).  A flushed answer
is not a received one: a client killed before it read the answer leaves the
provider committed and the client without the new refresh token, which no
client can help.  The connection is closed after each answer in this mode.

Tokens: --token-style counter (default) issues at-N and rt-N; random issues
at-N-<16 hex> and rt-N-<16 hex>, which a test can look for in its outputs
without false hits.  --issued-file appends every token issued (and the
printable head of the broken ones the fault modes send), one per line.
"""

import argparse
import collections
import json
import os
import secrets
import select
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AADSTS_EXPIRED = "AADSTS70000: The provided grant has expired"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY = 1024 * 1024
# how long the delivery tracking waits for the client to close its end
PEER_WAIT = 5.0
# how long a "hang" answer waits for the client to give up, at most
HANG_MAX = 120.0
# how long GET /last waits for the /token requests in flight
SETTLE_MAX = 10.0
MIB = 1024 * 1024
TCP_CLOSE = 7

# Modes taking no argument, and those that take one (name:ARG).
PLAIN_MODES = ("ok", "invalid_grant", "invalid_client", "unauthorized_client",
               "invalid_scope", "garbage", "nojson200", "noaccess", "hangup", "hang",
               "truncated", "short", "ctl_access", "ctl_refresh")
ARG_MODES = ("slow", "slowbody", "html", "huge", "expires")

HTML_PAGE = ("<!DOCTYPE html>\n<html><head><title>%d</title></head>\n"
             "<body><h1>%d</h1><p>The upstream server is not available; "
             "<a href=\"/login\">sign in</a> to continue.</p></body></html>\n")


class State:
    """Everything the handlers share, guarded by one lock."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.settled = threading.Condition(self.lock)
        self.client_id = args.client_id
        self.client_secret = read_secret(args.client_secret_file)
        self.refresh_token = read_secret(args.refresh_token_file)
        self.expires_in = args.expires_in
        self.rotate = not args.no_rotate
        self.delay_ms = args.delay
        self.scope = args.scope
        self.random_tokens = args.token_style == "random"
        self.issued = open(args.issued_file, "a", encoding="utf-8") if args.issued_file else None
        self.revoke_on_reuse = args.revoke_on_reuse
        self.track_delivery = args.track_delivery
        self.mode = "ok"
        self.mode_arg = ""
        self.fail_status = 0
        self.fail_left = 0
        self.retry_after = None
        self.slow_seconds = 0.0
        self.token_requests = 0
        self.refreshes = 0
        self.last_form = None
        self.last_content_type = None
        self.last_access_token = None
        self.replaced = set()
        self.revoked = False
        self.reuses = 0
        self.in_flight = 0
        self.connections = 0
        self.next_id = 0
        self.records = collections.deque(maxlen=64)
        self.huge_bytes_sent = 0

    def set_mode(self, mode):
        name, _, arg = mode.partition(":")
        if name.startswith("fail") and name[4:].isdigit():
            status = int(name[4:])
            if not 400 <= status <= 599:
                raise ValueError("no error status: " + mode)
            self.fail_status = status
            self.fail_left = int(arg) if arg else 1
        elif name == "slow":
            self.slow_seconds = float(arg) if arg else 5.0
        elif name == "html":
            int(arg or "200")
        elif name in ("slowbody", "huge"):
            if float(arg or "1") <= 0:
                raise ValueError("bad argument: " + mode)
        elif name == "expires":
            if arg != "none":
                json.loads(arg)
        elif name not in PLAIN_MODES:
            raise ValueError("unknown mode: " + mode)
        self.mode = name
        self.mode_arg = arg

    def new_grant(self, refresh_token):
        self.refresh_token = refresh_token
        self.replaced.clear()
        self.revoked = False

    def issue(self, n, kind):
        token = "%s-%d" % (kind, n)
        if self.random_tokens:
            token += "-" + secrets.token_hex(8)
        self.note_issued(token)
        return token

    def note_issued(self, token):
        if self.issued is not None:
            self.issued.write(token + "\n")
            self.issued.flush()

    def stats(self):
        return {
            "token_requests": self.token_requests,
            "refreshes": self.refreshes,
            "last_form": self.last_form,
            "last_content_type": self.last_content_type,
            "mode": self.mode,
            "mode_arg": self.mode_arg,
            "rotate": self.rotate,
            "revoked": self.revoked,
            "reuses": self.reuses,
            "in_flight": self.in_flight,
            "huge_bytes_sent": self.huge_bytes_sent,
        }


def read_secret(path):
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\r\n")


def oauth_error(status, error, description):
    return status, {"error": error, "error_description": description}


def flag(value):
    return "1" if value else "0"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mailoauth-test-token-server/1"

    # -- plumbing ---------------------------------------------------------

    def setup(self):
        super().setup()
        with self.server.state.lock:
            self.server.state.connections += 1

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.state.lock:
                self.server.state.connections -= 1
                self.server.state.settled.notify_all()

    def log_message(self, fmt, *args):
        if self.server.log_file is not None:
            line = "%s %s\n" % (self.log_date_time_string(), fmt % args)
            with self.server.log_lock:
                self.server.log_file.write(line)
                self.server.log_file.flush()

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def send_head(self, status, content_type, length, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        if getattr(self, "record", None) is not None:
            self.send_header("Connection", "close")
        self.end_headers()

    def send(self, status, body, content_type="application/json", headers=()):
        """Returns True once the whole answer is flushed to the socket."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        try:
            self.send_head(status, content_type, len(body), headers)
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its timeout fired in slow mode).
            self.close_connection = True
            return False
        return True

    def send_text(self, pairs):
        self.send(200, "".join("%s=%s\n" % kv for kv in pairs), content_type="text/plain")

    # -- delivery tracking --------------------------------------------------

    def peer_closed(self):
        """Has the client closed its end (or reset it)?  Never blocks."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def reset_seen(self):
        """After the client's FIN: did an RST follow (our answer reached a closed socket)?"""
        sock = self.connection
        deadline = time.monotonic() + 0.05
        while time.monotonic() < deadline:
            try:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    return True
                info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
                if struct.unpack("B", info[:1])[0] == TCP_CLOSE:
                    return True
            except OSError:
                return True
            time.sleep(0.005)
        return False

    def wait_peer(self):
        """How the client closed the connection after the answer: fin (it read all of
        it), rst (it went with some of it unread), open (not within PEER_WAIT)."""
        sock = self.connection
        self.close_connection = True
        try:
            sock.settimeout(PEER_WAIT)
            data = sock.recv(1)
        except ConnectionResetError:
            return "rst"
        except socket.timeout:
            return "open"
        except OSError:
            return "rst"
        if data:
            return "data"
        return "rst" if self.reset_seen() else "fin"

    # -- routes -----------------------------------------------------------

    def do_GET(self):
        state = self.server.state
        if self.path == "/stats":
            with state.lock:
                stats = state.stats()
            self.send(200, stats)
        elif self.path == "/last":
            self.handle_last()
        elif self.path.startswith("/wait?"):
            self.handle_wait()
        else:
            self.send(404, {"error": "not_found"})

    def do_POST(self):
        try:
            body = self.read_body()
        except ValueError:
            self.send(400, {"error": "invalid_request"})
            return
        if self.path == "/token":
            self.handle_token(body)
        elif self.path == "/control":
            self.handle_control(body)
        elif self.path == "/check":
            self.handle_check(body)
        else:
            self.send(404, {"error": "not_found"})

    def handle_control(self, body):
        state = self.server.state
        try:
            req = json.loads(body or b"{}")
            with state.lock:
                if "mode" in req:
                    state.set_mode(req["mode"])
                if "rotate" in req:
                    state.rotate = bool(req["rotate"])
                if "refresh_token" in req:
                    state.new_grant(req["refresh_token"])
                if "expires_in" in req:
                    state.expires_in = int(req["expires_in"])
                if "delay_ms" in req:
                    state.delay_ms = int(req["delay_ms"])
                if "retry_after" in req:
                    state.retry_after = req["retry_after"] or None
                if "revoke_on_reuse" in req:
                    state.revoke_on_reuse = bool(req["revoke_on_reuse"])
                if "track_delivery" in req:
                    state.track_delivery = bool(req["track_delivery"])
                if req.get("reset_stats"):
                    state.token_requests = 0
                    state.last_form = None
                    state.last_content_type = None
                    state.reuses = 0
                    state.huge_bytes_sent = 0
                stats = state.stats()
        except (ValueError, TypeError, AttributeError) as e:
            self.send(400, {"error": str(e)})
            return
        self.send(200, stats)

    def is_settled(self):
        """Under the state lock: no other connection open or waiting to be accepted, so
        no /token request of a killed client can still arrive."""
        return self.server.state.connections <= 1 and self.server.backlog() == 0

    def handle_last(self):
        state = self.server.state
        with state.lock:
            end = time.monotonic() + SETTLE_MAX
            while not self.is_settled() and time.monotonic() < end:
                state.settled.wait(0.01)
            rec = state.records[-1] if state.records else {}
            pairs = [
                ("settled", flag(self.is_settled())),
                ("in_flight", state.in_flight),
                ("token_requests", state.token_requests),
                ("refreshes", state.refreshes),
                ("revoked", flag(state.revoked)),
                ("reuses", state.reuses),
                ("last_id", rec.get("id", 0)),
                ("last_refresh_token", rec.get("refresh_token", "none")),
                ("last_outcome", rec.get("outcome", "none")),
                ("last_committed", flag(rec.get("committed"))),
                ("last_gone_before_send", flag(rec.get("gone_before_send"))),
                ("last_flushed", flag(rec.get("flushed"))),
                ("last_peer", rec.get("peer", "none")),
                ("last_t_received", "%.6f" % rec.get("t_received", 0.0)),
                ("last_t_flushed", "%.6f" % rec.get("t_flushed", 0.0)),
            ]
        self.send_text(pairs)

    def handle_wait(self):
        """GET /wait?event=received|flushed&after=N: once a /token request with an id above
        N got that far (at most 10 s); text: id=ID, or id=0 on a timeout."""
        state = self.server.state
        query = dict(urllib.parse.parse_qsl(self.path.partition("?")[2]))
        event, after = query.get("event", "received"), int(query.get("after", "0"))
        key = "t_received" if event == "received" else "t_flushed"

        def reached():
            return next((r["id"] for r in state.records if r["id"] > after and key in r), 0)
        with state.lock:
            found = state.settled.wait_for(reached, timeout=SETTLE_MAX)
        self.send_text([("id", found or 0)])

    def handle_check(self, body):
        state = self.server.state
        try:
            doc = json.loads(body.decode("utf-8"))
            parses = isinstance(doc, dict)
        except (UnicodeDecodeError, ValueError):
            doc, parses = {}, False
        if not parses:
            doc = {}
        rt, at = doc.get("refresh_token"), doc.get("access_token")
        try:
            left = int(doc.get("expiry")) - int(time.time())
        except (TypeError, ValueError):
            left = "none"
        with state.lock:
            pairs = [
                ("parses", flag(parses)),
                ("has_tokens", flag(isinstance(rt, str) and rt and isinstance(at, str) and at)),
                ("current", flag(not state.revoked and rt is not None
                                 and rt == state.refresh_token)),
                ("access_current", flag(at is not None and at == state.last_access_token)),
                ("revoked", flag(state.revoked)),
                ("expiry_left", left),
                ("token_requests", state.token_requests),
                ("reuses", state.reuses),
            ]
        self.send_text(pairs)

    def handle_token(self, body):
        state = self.server.state
        try:
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"),
                                           keep_blank_values=True,
                                           strict_parsing=bool(body),
                                           errors="strict")
            form = dict(pairs)
        except (UnicodeDecodeError, ValueError):
            pairs, form = None, None

        with state.lock:
            state.token_requests += 1
            state.in_flight += 1
            state.next_id += 1
            state.last_form = form
            state.last_content_type = self.headers.get("Content-Type")
            mode, arg = state.mode, state.mode_arg
            delay = state.delay_ms / 1000.0
            slow = state.slow_seconds if mode == "slow" else 0.0
            failing = mode.startswith("fail") and state.fail_left > 0
            if failing:
                state.fail_left -= 1
            self.record = None
            if state.track_delivery:
                self.record = {"id": state.next_id, "t_received": time.time()}
                state.records.append(self.record)
                state.settled.notify_all()
        try:
            if delay:
                time.sleep(delay)
            if slow:
                time.sleep(slow)
            self.answer_token(form, mode, arg, failing)
            if self.record is not None and self.record.get("flushed"):
                self.record["peer"] = self.wait_peer()
        finally:
            with state.lock:
                state.in_flight -= 1
                state.settled.notify_all()

    def answer_token(self, form, mode, arg, failing):
        if failing:
            self.answer_failure()
            return
        if mode in ("hangup", "hang"):
            self.answer_hang(mode)
            return
        if mode in ("slowbody", "huge", "truncated", "short", "ctl_access", "ctl_refresh"):
            self.answer_broken(mode, arg)
            return
        if mode == "html":
            status = int(arg or "200")
            retry_after = self.server.state.retry_after
            self.send(status, HTML_PAGE % (status, status), content_type="text/html",
                      headers=[("Retry-After", retry_after)] if retry_after else [])
            return
        if mode == "garbage":
            self.send(200, "<html><body>Service temporarily confused</body></html>",
                      content_type="application/json")
            return
        if mode == "nojson200":
            self.send(200, b"")
            return
        if mode == "invalid_grant":
            self.send(*oauth_error(400, "invalid_grant", AADSTS_EXPIRED))
            return
        if mode == "invalid_client":
            self.send(*oauth_error(401, "invalid_client",
                                   "AADSTS7000215: Invalid client secret provided."),
                      headers=[("WWW-Authenticate", 'Basic realm="token"')])
            return
        if mode == "unauthorized_client":
            self.send(*oauth_error(400, "unauthorized_client",
                                   "AADSTS700016: Application not found in the directory."))
            return
        if mode == "invalid_scope":
            self.send(*oauth_error(400, "invalid_scope",
                                   "AADSTS70011: The provided value for the input "
                                   "parameter 'scope' is not valid."))
            return

        if form is None:
            self.send(*oauth_error(400, "invalid_request", "body is not a valid form"))
            return
        self.answer_grant(form, mode, arg)

    def answer_failure(self):
        state = self.server.state
        status = state.fail_status
        headers = []
        retry_after = state.retry_after
        if retry_after is None and status in (503, 429):
            retry_after = "1"
        if retry_after is not None:
            headers.append(("Retry-After", retry_after))
        if status == 503:
            body = {"error": "temporarily_unavailable"}
        elif status == 429:
            body = {"error": "slow_down"}
        else:
            body = {"error": "server_error"}
        self.send(status, body, headers=headers)

    def answer_hang(self, mode):
        self.close_connection = True
        if mode == "hang":
            # Wait until the client gives up (its end closes), bounded.
            end = time.monotonic() + HANG_MAX
            while time.monotonic() < end and not self.peer_closed():
                time.sleep(0.05)
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def answer_broken(self, mode, arg):
        """Answers that commit nothing and that no client should accept."""
        state = self.server.state
        n = state.next_id
        token = {"access_token": "at-broken-%d-%s" % (n, secrets.token_hex(8)),
                 "refresh_token": "rt-broken-%d-%s" % (n, secrets.token_hex(8)),
                 "token_type": "Bearer", "expires_in": 3600}
        with state.lock:
            state.note_issued(token["access_token"])
            state.note_issued(token["refresh_token"])
        if mode == "ctl_access":
            token["access_token"] += "\r\nX-Injected: 1"
        elif mode == "ctl_refresh":
            token["refresh_token"] += "\x1b]0;owned\x07"
        body = json.dumps(token).encode()
        if mode in ("ctl_access", "ctl_refresh"):
            self.send(200, body)
        elif mode == "truncated":
            self.send(200, body[:len(body) // 2])
        elif mode == "short":
            self.close_connection = True
            try:
                self.send_head(200, "application/json", len(body))
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        elif mode == "slowbody":
            self.answer_slowly(body, float(arg or "1") / 1000.0)
        else:
            self.answer_huge(int(float(arg or "64") * MIB))

    def answer_slowly(self, body, pause):
        self.close_connection = True
        try:
            self.send_head(200, "application/json", len(body))
            self.wfile.flush()
            for i in range(len(body)):
                time.sleep(pause)
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
        except OSError:
            pass

    def answer_huge(self, size):
        state = self.server.state
        head = b'{"token_type":"Bearer","expires_in":3600,"access_token":"'
        tail = b'"}'
        chunk = b"A" * (256 * 1024)
        self.close_connection = True
        sent = 0
        try:
            self.send_head(200, "application/json", size)
            self.wfile.write(head)
            sent = len(head)
            while sent < size - len(tail):
                piece = chunk[:size - len(tail) - sent]
                self.wfile.write(piece)
                sent += len(piece)
            self.wfile.write(tail)
            sent += len(tail)
            self.wfile.flush()
        except OSError:
            pass
        with state.lock:
            state.huge_bytes_sent += sent

    def check_grant(self, form):
        """Under the state lock: None when the form's refresh token may be used, else the
        error answer (and what it was, for the delivery record)."""
        state = self.server.state
        rt = form.get("refresh_token")
        if form.get("client_id") != state.client_id:
            return oauth_error(401, "invalid_client", "unknown client_id"), "unknown"
        if state.client_secret is not None and form.get("client_secret") != state.client_secret:
            return oauth_error(401, "invalid_client", "client secret does not match"), "unknown"
        if state.revoked:
            kind = "replaced" if rt in state.replaced else "current" \
                if rt == state.refresh_token else "unknown"
            return oauth_error(400, "invalid_grant", "the grant was revoked"), kind
        if rt is not None and rt in state.replaced:
            state.reuses += 1
            if state.revoke_on_reuse:
                state.revoked = True
                return oauth_error(400, "invalid_grant",
                                   "a replaced refresh token was used again; the grant "
                                   "is revoked"), "replaced"
            return oauth_error(400, "invalid_grant", "refresh token is not valid"), "replaced"
        if rt != state.refresh_token:
            return oauth_error(400, "invalid_grant", "refresh token is not valid"), "unknown"
        return None, "current"

    def answer_grant(self, form, mode, arg):
        state = self.server.state
        if not (self.headers.get("Content-Type") or "").startswith(FORM_TYPE):
            self.send(*oauth_error(400, "invalid_request", "expected " + FORM_TYPE))
            return
        if form.get("grant_type") != "refresh_token":
            self.send(*oauth_error(400, "unsupported_grant_type",
                                   "only refresh_token is supported"))
            return
        record = self.record
        with state.lock:
            status, kind = self.check_grant(form)
            if record is not None:
                record["refresh_token"] = kind
                record["outcome"] = "refused" if status is not None else "refreshed"
            if status is None:
                state.refreshes += 1
                n = state.refreshes
                answer = {
                    "access_token": state.issue(n, "at"),
                    "token_type": "Bearer",
                    "expires_in": state.expires_in,
                    "scope": state.scope,
                }
                state.last_access_token = answer["access_token"]
                if state.rotate:
                    state.replaced.add(state.refresh_token)
                    state.refresh_token = state.issue(n, "rt")
                    answer["refresh_token"] = state.refresh_token
                    if record is not None:
                        record["outcome"] = "rotated"
                if mode == "noaccess":
                    del answer["access_token"]
                status = (200, answer)
                if record is not None:
                    record["committed"] = True
        if mode == "expires" and status[0] == 200:
            status = (200, self.with_expires(status[1], arg))
        if record is not None:
            record["gone_before_send"] = self.peer_closed()
        flushed = self.send(*status)
        if record is not None:
            with state.lock:
                record["flushed"] = flushed
                record["t_flushed"] = time.time()
                state.settled.notify_all()

    @staticmethod
    def with_expires(answer, raw):
        """The answer as JSON text, expires_in replaced by the JSON text @raw (or left out)."""
        answer = dict(answer)
        del answer["expires_in"]
        text = json.dumps(answer)
        if raw == "none":
            return text.encode()
        return (text[:-1] + ', "expires_in": ' + raw + "}").encode()


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def backlog(self):
        """Connections waiting to be accepted (tcpi_unacked of a listening socket)."""
        try:
            info = self.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 32)
            return struct.unpack_from("I", info, 24)[0]
        except OSError:
            return 0


def write_atomically(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--pid-file")
    p.add_argument("--refresh-token-file", required=True,
                   help="file holding the initially valid refresh token")
    p.add_argument("--client-id", default="test-client")
    p.add_argument("--client-secret-file",
                   help="file holding the expected client secret (else none is checked)")
    p.add_argument("--expires-in", type=int, default=3600)
    p.add_argument("--no-rotate", action="store_true",
                   help="do not return a new refresh token")
    p.add_argument("--delay", type=int, default=0, metavar="MS",
                   help="delay every token response by MS milliseconds")
    p.add_argument("--scope", default="https://outlook.office.com/IMAP.AccessAsUser.All")
    p.add_argument("--log-file")
    p.add_argument("--revoke-on-reuse", action="store_true",
                   help="a replaced refresh token used again revokes the whole grant")
    p.add_argument("--track-delivery", action="store_true",
                   help="record whether each answer was flushed and read (see GET /last)")
    p.add_argument("--token-style", choices=("counter", "random"), default="counter")
    p.add_argument("--issued-file", help="append every issued token to this file")
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    server = Server(("127.0.0.1", 0), Handler)
    server.state = State(args)
    server.log_lock = threading.Lock()
    server.log_file = open(args.log_file, "a", encoding="utf-8") if args.log_file else None

    # SIGTERM from the test's cleanup trap: stop serving and exit 0.
    def on_term(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, on_term)

    if args.pid_file:
        write_atomically(args.pid_file, "%d\n" % os.getpid())
    write_atomically(args.port_file, "%d\n" % server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
