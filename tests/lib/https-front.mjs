// SPDX-License-Identifier: LGPL-2.1-or-later
//
// An HTTPS reverse proxy on 127.0.0.1 in front of a plain-http server on
// 127.0.0.1 (the test OpenID provider), for tests that need an https://
// token endpoint: node's https and http modules only, no npm packages.
//
// Every request is passed on as it came: method, path with its query,
// headers (Host included) and body, streamed; the answer comes back with its
// status, headers and body.  Only the hop-by-hop headers (Connection,
// Keep-Alive, Transfer-Encoding, ...) are left to each side's own framing.
// Nothing in a body is looked at or changed, so the token endpoint works as
// it does without the front.  (Discovery through the front is another matter:
// oidc-provider builds its endpoint URLs from the Host header and its own
// http: scheme, so they come out as http://127.0.0.1:FRONT_PORT/...; give a
// client the https:// token endpoint itself.)
//
// usage: node https-front.mjs --upstream http://127.0.0.1:PORT --cert F --key F
//                             [--port N] [--info-file F] [--pid-file F] [--quiet]
//
//   --info-file F   written once listening (whole, by rename):
//                   {"port":N,"url":"https://127.0.0.1:N","pid":P}
//   --pid-file F    the process id, once listening
//   --quiet         no request log
//
// The log on stderr: `https-front: METHOD PATH STATUS` per request (the path
// without its query: it may hold codes), and `https-front: TLS handshake
// failed: CODE MESSAGE` when a client gives up on the certificate (a client
// that does not trust the CA), so that a test can tell "never connected" from
// "connected but refused the certificate".
//
// Stop it by its PID (SIGTERM or SIGINT): it closes, removes the info and pid
// files and exits 0.  Exit 1: start-up failure (port in use, unreadable
// certificate); 2: usage.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';

const USAGE = `usage: node https-front.mjs --upstream http://127.0.0.1:PORT --cert F --key F
                         [--port N] [--info-file F] [--pid-file F] [--quiet]`;

// RFC 9110 §7.6.1: meaningful for one connection only.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate',
  'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

function die(message) {
  process.stderr.write(`https-front: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, quiet: false };
  const valued = {
    '--upstream': 'upstream', '--cert': 'cert', '--key': 'key', '--port': 'port',
    '--info-file': 'infoFile', '--pid-file': 'pidFile',
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--quiet') {
      opts.quiet = true;
    } else if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (valued[arg]) {
      if (i + 1 >= argv.length) die(`${arg} needs a value`);
      opts[valued[arg]] = argv[i + 1];
      i += 1;
    } else {
      die(`unknown argument "${arg}"`);
    }
  }
  for (const need of ['upstream', 'cert', 'key']) {
    if (!opts[need]) die(`--${need} is required`);
  }
  let url;
  try {
    url = new URL(opts.upstream);
  } catch {
    die(`--upstream is not a URL: ${opts.upstream}`);
  }
  // Loopback plain http only: this is a test fixture, not a general proxy.
  if (url.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(url.hostname)) {
    die('--upstream must be http://127.0.0.1:PORT');
  }
  opts.upstreamHost = '127.0.0.1';
  opts.upstreamPort = Number(url.port || 80);
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) die('--port out of range');
  opts.port = port;
  return opts;
}

function writeFileAtomic(file, data) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, data, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

function endToEndHeaders(headers) {
  const out = {};
  // A Connection header may name more hop-by-hop headers.
  const named = new Set(String(headers.connection ?? '').toLowerCase().split(',')
    .map((s) => s.trim()).filter(Boolean));
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name) && !named.has(name)) out[name] = value;
  }
  return out;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = (line) => { if (!opts.quiet) process.stderr.write(`https-front: ${line}\n`); };
  let tls;
  try {
    tls = { cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) };
  } catch (e) {
    process.stderr.write(`https-front: ${e.message}\n`);
    process.exit(1);
  }
  // Keep-alive towards the upstream is not needed; one connection per request is simplest.
  const agent = new http.Agent({ keepAlive: false });

  const server = https.createServer(tls, (req, res) => {
    const reqPath = req.url.split('?')[0];
    const upstream = http.request({
      host: opts.upstreamHost,
      port: opts.upstreamPort,
      method: req.method,
      path: req.url,
      headers: endToEndHeaders(req.headers),
      agent,
    }, (up) => {
      res.writeHead(up.statusCode, up.statusMessage, endToEndHeaders(up.headers));
      up.pipe(res);
      up.on('end', () => log(`${req.method} ${reqPath} ${up.statusCode}`));
    });
    upstream.on('error', (e) => {
      log(`${req.method} ${reqPath} upstream error: ${e.code ?? e.message}`);
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"error":"temporarily_unavailable","error_description":"https-front: upstream unreachable"}');
      } else {
        res.destroy();
      }
    });
    req.pipe(upstream);
  });
  // Always logged (also under --quiet): it is what a test looks for when a
  // client does not trust the certificate.
  server.on('tlsClientError', (err) => {
    process.stderr.write(`https-front: TLS handshake failed: ${err.code ?? ''} ${String(err.message).trim()}\n`);
  });

  server.once('error', (e) => {
    process.stderr.write(`https-front: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(opts.port, '127.0.0.1', () => {
    const { port } = server.address();
    if (opts.pidFile) writeFileAtomic(opts.pidFile, `${process.pid}\n`);
    if (opts.infoFile) {
      writeFileAtomic(opts.infoFile,
        `${JSON.stringify({ port, url: `https://127.0.0.1:${port}`, pid: process.pid })}\n`);
    }
    log(`listening on https://127.0.0.1:${port} for http://127.0.0.1:${opts.upstreamPort} (pid ${process.pid})`);
  });

  const stop = () => {
    for (const f of [opts.pidFile, opts.infoFile]) {
      if (f) fs.rmSync(f, { force: true });
    }
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
