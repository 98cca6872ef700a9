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
                        "expires_in": int, "delay_ms": int, "reset_stats": bool}
  GET  /stats    JSON: {"token_requests": N, "refreshes": N, "last_form": {...},
                        "last_content_type": "...", "mode": "..."}

Modes (the "mode" key of /control):
  ok                   answer normally (validate client and refresh token)
  invalid_grant        400 {"error":"invalid_grant","error_description":"AADSTS70000: ..."}
  invalid_client       401 {"error":"invalid_client",...}
  unauthorized_client  400 {"error":"unauthorized_client",...}
  fail503:K            the next K token requests get 503 + Retry-After: 1, then ok
  fail429:K            the same with 429 Too Many Requests
  fail500:K            the same with 500 and no Retry-After
  garbage              200 with a body that is not JSON
  nojson200            200 with an empty body
  noaccess             200 with JSON that lacks access_token
  slow:S               sleep S seconds, then answer as in ok
  hangup               close the connection without answering
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AADSTS_EXPIRED = "AADSTS70000: The provided grant has expired"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_BODY = 1024 * 1024


class State:
    """Everything the handlers share, guarded by one lock."""

    def __init__(self, args):
        self.lock = threading.Lock()
        self.client_id = args.client_id
        self.client_secret = read_secret(args.client_secret_file)
        self.refresh_token = read_secret(args.refresh_token_file)
        self.expires_in = args.expires_in
        self.rotate = not args.no_rotate
        self.delay_ms = args.delay
        self.scope = args.scope
        self.mode = "ok"
        self.fail_left = 0
        self.slow_seconds = 0.0
        self.token_requests = 0
        self.refreshes = 0
        self.last_form = None
        self.last_content_type = None

    def set_mode(self, mode):
        name, _, arg = mode.partition(":")
        if name in ("fail503", "fail429", "fail500"):
            self.fail_left = int(arg) if arg else 1
        elif name == "slow":
            self.slow_seconds = float(arg) if arg else 5.0
        elif name not in ("ok", "invalid_grant", "invalid_client",
                          "unauthorized_client", "garbage", "nojson200",
                          "noaccess", "hangup"):
            raise ValueError("unknown mode: " + mode)
        self.mode = name

    def stats(self):
        return {
            "token_requests": self.token_requests,
            "refreshes": self.refreshes,
            "last_form": self.last_form,
            "last_content_type": self.last_content_type,
            "mode": self.mode,
            "rotate": self.rotate,
        }


def read_secret(path):
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        return f.read().rstrip("\r\n")


def oauth_error(status, error, description):
    return status, {"error": error, "error_description": description}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mailoauth-test-token-server/1"

    # -- plumbing ---------------------------------------------------------

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

    def send(self, status, body, content_type="application/json", headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (e.g. its timeout fired in slow mode).
            self.close_connection = True

    # -- routes -----------------------------------------------------------

    def do_GET(self):
        if self.path == "/stats":
            with self.server.state.lock:
                stats = self.server.state.stats()
            self.send(200, stats)
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
                    state.refresh_token = req["refresh_token"]
                if "expires_in" in req:
                    state.expires_in = int(req["expires_in"])
                if "delay_ms" in req:
                    state.delay_ms = int(req["delay_ms"])
                if req.get("reset_stats"):
                    state.token_requests = 0
                    state.last_form = None
                    state.last_content_type = None
                stats = state.stats()
        except (ValueError, TypeError, AttributeError) as e:
            self.send(400, {"error": str(e)})
            return
        self.send(200, stats)

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
            state.last_form = form
            state.last_content_type = self.headers.get("Content-Type")
            mode = state.mode
            delay = state.delay_ms / 1000.0
            slow = state.slow_seconds if mode == "slow" else 0.0
            failing = mode.startswith("fail") and state.fail_left > 0
            if failing:
                state.fail_left -= 1

        if delay:
            time.sleep(delay)
        if slow:
            time.sleep(slow)

        if failing:
            self.answer_failure(mode)
            return
        if mode == "hangup":
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
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

        if form is None:
            self.send(*oauth_error(400, "invalid_request", "body is not a valid form"))
            return
        self.answer_grant(form, mode)

    def answer_failure(self, mode):
        if mode == "fail503":
            self.send(503, {"error": "temporarily_unavailable"},
                      headers=[("Retry-After", "1")])
        elif mode == "fail429":
            self.send(429, {"error": "slow_down"}, headers=[("Retry-After", "1")])
        else:
            self.send(500, {"error": "server_error"})

    def answer_grant(self, form, mode):
        state = self.server.state
        if not (self.headers.get("Content-Type") or "").startswith(FORM_TYPE):
            self.send(*oauth_error(400, "invalid_request", "expected " + FORM_TYPE))
            return
        if form.get("grant_type") != "refresh_token":
            self.send(*oauth_error(400, "unsupported_grant_type",
                                   "only refresh_token is supported"))
            return
        with state.lock:
            if form.get("client_id") != state.client_id:
                status = oauth_error(401, "invalid_client", "unknown client_id")
            elif (state.client_secret is not None
                  and form.get("client_secret") != state.client_secret):
                status = oauth_error(401, "invalid_client", "client secret does not match")
            elif form.get("refresh_token") != state.refresh_token:
                status = oauth_error(400, "invalid_grant", "refresh token is not valid")
            else:
                state.refreshes += 1
                n = state.refreshes
                answer = {
                    "access_token": "at-%d" % n,
                    "token_type": "Bearer",
                    "expires_in": state.expires_in,
                    "scope": state.scope,
                }
                if state.rotate:
                    state.refresh_token = "rt-%d" % n
                    answer["refresh_token"] = state.refresh_token
                if mode == "noaccess":
                    del answer["access_token"]
                status = (200, answer)
        self.send(*status)


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
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
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
