// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A real OpenID provider (panva's oidc-provider) for the mailoauth tests and
// the demo.  It listens on 127.0.0.1 only, approves every authorization
// automatically (or denies it, see /test/control), and adds the few things
// oidc-provider lacks that a client's polling logic must be tested against:
// the device authorization `interval` and `slow_down` answers.
//
// See README.md in this directory for the options, clients and quirks.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

import Provider, { errors } from 'oidc-provider';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// Fixed client ids; the tests and README refer to them by these names.
const CLIENT_PUBLIC = 'mailoauth-public';
const CLIENT_CONFIDENTIAL = 'mailoauth-confidential';
const CLIENT_INTROSPECTION = 'dovecot';

const USAGE = `usage: node server.mjs --clients-file F [options]
  --port N                 TCP port on 127.0.0.1 (default 0: any free port)
  --info-file F            write {"port":N,"issuer":"http://127.0.0.1:N"} once listening
  --pid-file F             write the process id once listening
  --clients-file F         JSON file with the client secrets; created (0600) with
                           random secrets if absent
  --account ID             account approved by the automatic login (default me@example.com)
  --access-token-ttl S     access token lifetime in seconds (default 3600)
  --refresh-token-ttl S    refresh token lifetime in seconds (default 1209600)
  --device-code-ttl S      device code lifetime in seconds (default 600)
  --device-interval N      add "interval": N to the device authorization response
  --refresh-tokens MODE    always (default): every client allowed the refresh_token
                           grant gets one; offline_access: only when offline_access
                           was granted (oidc-provider's default behaviour)
  --quiet                  no request log on stderr`;

function die(message) {
  process.stderr.write(`server.mjs: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseSeconds(name, value, { allowZero = false } = {}) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || (!allowZero && n === 0)) {
    die(`${name} needs a positive integer, got "${value}"`);
  }
  return n;
}

function parseArgs(argv) {
  const opts = {
    port: 0,
    infoFile: undefined,
    pidFile: undefined,
    clientsFile: undefined,
    account: 'me@example.com',
    accessTokenTtl: 3600,
    refreshTokenTtl: 14 * 24 * 3600,
    deviceCodeTtl: 600,
    deviceInterval: undefined,
    refreshTokens: 'always',
    quiet: false,
  };
  const valued = {
    '--port': (v) => { opts.port = parseSeconds('--port', v, { allowZero: true }); },
    '--info-file': (v) => { opts.infoFile = v; },
    '--pid-file': (v) => { opts.pidFile = v; },
    '--clients-file': (v) => { opts.clientsFile = v; },
    '--account': (v) => { opts.account = v; },
    '--access-token-ttl': (v) => { opts.accessTokenTtl = parseSeconds('--access-token-ttl', v); },
    '--refresh-token-ttl': (v) => { opts.refreshTokenTtl = parseSeconds('--refresh-token-ttl', v); },
    '--device-code-ttl': (v) => { opts.deviceCodeTtl = parseSeconds('--device-code-ttl', v); },
    '--device-interval': (v) => { opts.deviceInterval = parseSeconds('--device-interval', v); },
    '--refresh-tokens': (v) => {
      if (!['always', 'offline_access'].includes(v)) die('--refresh-tokens is always or offline_access');
      opts.refreshTokens = v;
    },
  };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (arg === '--quiet') {
      opts.quiet = true;
    } else if (valued[arg]) {
      if (i + 1 >= argv.length) die(`${arg} needs a value`);
      valued[arg](argv[i + 1]);
      i += 1;
    } else {
      die(`unknown argument "${arg}"`);
    }
  }
  if (!opts.clientsFile) die('--clients-file is required');
  if (opts.port > 65535) die('--port out of range');
  return opts;
}

// Write a whole file at once (temporary file + rename), so a test polling for
// it never reads half of it.
function writeFileAtomic(file, data, mode) {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, data, { mode });
  fs.renameSync(tmp, file);
}

function randomSecret() {
  return crypto.randomBytes(32).toString('base64url');
}

// The secrets live in a file, never in argv or the environment.  A missing
// file is created with fresh random secrets, mode 0600.
function loadClientSecrets(file) {
  if (!fs.existsSync(file)) {
    const fresh = {
      [CLIENT_CONFIDENTIAL]: { client_secret: randomSecret() },
      [CLIENT_INTROSPECTION]: { client_secret: randomSecret() },
    };
    fs.writeFileSync(file, `${JSON.stringify(fresh, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  }
  const secrets = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const id of [CLIENT_CONFIDENTIAL, CLIENT_INTROSPECTION]) {
    const secret = secrets[id]?.client_secret;
    if (typeof secret !== 'string' || secret.length < 16) {
      throw new Error(`${file}: "${id}".client_secret missing or shorter than 16 characters`);
    }
  }
  return secrets;
}

function buildClients(secrets) {
  const loopback = ['http://127.0.0.1/'];
  const grants = ['authorization_code', 'refresh_token', DEVICE_GRANT];
  return [
    {
      // Like a "desktop app" registration: no secret, any loopback port.
      client_id: CLIENT_PUBLIC,
      client_name: 'mailoauth (public test client)',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: grants,
      response_types: ['code'],
      redirect_uris: loopback,
    },
    {
      // Like Google's desktop clients: a secret, and still a loopback redirect.
      // 'native' is what lets the redirect port vary (RFC 8252 §7.3).
      client_id: CLIENT_CONFIDENTIAL,
      client_name: 'mailoauth (confidential test client)',
      client_secret: secrets[CLIENT_CONFIDENTIAL].client_secret,
      application_type: 'native',
      token_endpoint_auth_method: 'client_secret_post',
      grant_types: grants,
      response_types: ['code'],
      redirect_uris: loopback,
    },
    {
      // Dovecot's oauth2 passdb: only introspects.
      client_id: CLIENT_INTROSPECTION,
      client_name: 'dovecot (introspection)',
      client_secret: secrets[CLIENT_INTROSPECTION].client_secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [],
      response_types: [],
      redirect_uris: [],
    },
  ];
}

function rsaSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test-rs256' };
}

function htmlEscape(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${htmlEscape(title)}</title></head>
<body>
<h1>${htmlEscape(title)}</h1>
${body}
</body></html>
`;
}

// Mutable test state, changed through POST /test/control.
const state = {
  mode: 'approve',
  account: undefined,
  slowDown: 0,
  failToken: 0,
  failStatus: 503,
  retryAfter: undefined,
  stats: { token_requests: 0, device_polls: 0 },
};

function buildConfiguration(opts, secrets) {
  return {
    clients: buildClients(secrets),
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { sub, email: sub, email_verified: true };
        },
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    // `mail` plays https://mail.google.com/ or IMAP.AccessAsUser.All.
    scopes: ['openid', 'offline_access', 'email', 'mail'],
    responseTypes: ['code'],
    cookies: { keys: [randomSecret()] },
    jwks: { keys: [rsaSigningKey()] },
    features: {
      devInteractions: { enabled: false },
      introspection: {
        enabled: true,
        // Any confidential client may introspect (Dovecot is the one that does).
        async allowedPolicy(ctx, client, token) {
          return client.clientAuthMethod !== 'none' || token.clientId === client.clientId;
        },
      },
      revocation: {
        enabled: true,
        async allowedPolicy(ctx, client, token) {
          return token.clientId === client.clientId;
        },
      },
      deviceFlow: {
        enabled: true,
        userCodeInputSource,
        userCodeConfirmSource,
        successSource,
      },
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    async issueRefreshToken(ctx, client, source) {
      if (!client.grantTypeAllowed('refresh_token')) return false;
      return opts.refreshTokens === 'always' || source.scopes.has('offline_access');
    },
    // Tokens outlive the (curl) browser session that approved them.
    async expiresWithSession() {
      return false;
    },
    // Dovecot: username_attribute = username.
    async extraTokenClaims(ctx, token) {
      return { username: token.accountId };
    },
    ttl: {
      AccessToken: opts.accessTokenTtl,
      AuthorizationCode: 60,
      DeviceCode: opts.deviceCodeTtl,
      IdToken: 3600,
      RefreshToken: opts.refreshTokenTtl,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: Math.max(14 * 24 * 3600, opts.refreshTokenTtl),
    },
    interactions: {
      url(ctx, interaction) {
        return `/interaction/${interaction.uid}`;
      },
    },
    renderError,
  };
}

// Pages a browser sees.  They are plain and carry stable markers that the
// helper scripts look for: the error page's <p id="error"> and
// <p id="error_description">, and the device success page's title.

async function renderError(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('Error', `<p id="error">${htmlEscape(out.error)}</p>
<p id="error_description">${htmlEscape(out.error_description ?? '')}</p>`);
}

async function userCodeInputSource(ctx, form, out, err) {
  let msg = 'Enter the code displayed on your device';
  if (err && (err.userCode || err.name === 'NoCodeError')) {
    msg = 'The code you entered is incorrect. Try again';
  } else if (err && err.name === 'AbortedError') {
    msg = 'The Sign-in request was interrupted';
  } else if (err) {
    msg = 'There was an error processing your request';
  }
  ctx.type = 'html';
  ctx.body = page('Sign-in', `<p id="message">${htmlEscape(msg)}</p>
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`);
}

async function userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
  ctx.type = 'html';
  ctx.body = page('Confirm Device', `<p>${htmlEscape(client.clientName || client.clientId)}
wants access; your device shows <code>${htmlEscape(userCode)}</code>.</p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button>`);
}

async function successSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Sign-in Success', '<p>You can close this page now.</p>');
}

// --- automatic interactions -------------------------------------------------

async function consentGrant(provider, details) {
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return grant.save();
}

async function interactionResult(provider, opts, details) {
  if (state.mode === 'deny') {
    return { error: 'access_denied', error_description: 'End-User denied the request (test provider in deny mode)' };
  }
  switch (details.prompt.name) {
    case 'login':
      return { login: { accountId: state.account ?? opts.account } };
    case 'consent': {
      const grantId = await consentGrant(provider, details);
      return details.grantId ? { consent: {} } : { consent: { grantId } };
    }
    default:
      throw new Error(`unexpected prompt ${details.prompt.name}`);
  }
}

function interactionMiddleware(provider, opts) {
  return async function interaction(ctx, next) {
    if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const result = await interactionResult(provider, opts, details);
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result,
      { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  };
}

// --- test control and the device-flow gaps --------------------------------

function isLoopback(address) {
  return address === '127.0.0.1' || address === '::ffff:127.0.0.1' || address === '::1';
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 4096) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function applyControl(change) {
  if ('mode' in change) {
    if (!['approve', 'deny'].includes(change.mode)) throw new Error('mode is approve or deny');
    state.mode = change.mode;
  }
  if ('account' in change) {
    if (typeof change.account !== 'string' || !change.account) throw new Error('account is a string');
    state.account = change.account;
  }
  if ('slow_down' in change) {
    if (!Number.isInteger(change.slow_down) || change.slow_down < 0) throw new Error('slow_down is a count');
    state.slowDown = change.slow_down;
  }
  if ('fail_token' in change) {
    if (!Number.isInteger(change.fail_token) || change.fail_token < 0) throw new Error('fail_token is a count');
    state.failToken = change.fail_token;
    state.failStatus = change.fail_status ?? 503;
    state.retryAfter = change.retry_after;
  }
  if (change.reset_stats) {
    state.stats = { token_requests: 0, device_polls: 0 };
  }
}

function controlMiddleware() {
  return async function control(ctx, next) {
    if (!ctx.path.startsWith('/test/')) return next();
    if (!isLoopback(ctx.req.socket.remoteAddress)) {
      ctx.status = 403;
      return undefined;
    }
    if (ctx.method === 'GET' && ctx.path === '/test/stats') {
      ctx.body = state.stats;
    } else if (ctx.method === 'POST' && ctx.path === '/test/control') {
      try {
        applyControl(await readJson(ctx.req));
      } catch (e) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_request', error_description: e.message };
        return undefined;
      }
      ctx.body = {
        mode: state.mode, slow_down: state.slowDown, fail_token: state.failToken,
      };
    } else {
      ctx.status = 404;
    }
    return undefined;
  };
}

// oidc-provider never sends `interval` nor `slow_down`; add them after the
// fact, so the request bodies stay untouched for oidc-provider to parse.
function deviceGapsMiddleware(opts) {
  return async function deviceGaps(ctx, next) {
    const isToken = ctx.method === 'POST' && ctx.path === '/token';
    if (isToken) {
      state.stats.token_requests += 1;
      if (state.failToken > 0) {
        state.failToken -= 1;
        ctx.status = state.failStatus;
        if (state.retryAfter !== undefined) ctx.set('Retry-After', String(state.retryAfter));
        ctx.body = { error: 'temporarily_unavailable', error_description: 'test provider: injected failure' };
        return;
      }
    }
    await next();
    if (isToken && ctx.oidc?.params?.grant_type === DEVICE_GRANT) {
      state.stats.device_polls += 1;
      // Only a pending answer becomes slow_down: never swallow issued tokens.
      if (state.slowDown > 0 && ctx.status === 400 && ctx.body?.error === 'authorization_pending') {
        state.slowDown -= 1;
        ctx.body = { error: 'slow_down', error_description: new errors.SlowDown().error_description };
      }
    }
    if (opts.deviceInterval !== undefined && ctx.method === 'POST' && ctx.path === '/device/auth'
        && ctx.status === 200 && ctx.body?.device_code) {
      ctx.body = { ...ctx.body, interval: opts.deviceInterval };
    }
  };
}

function requestLog(opts) {
  return async function log(ctx, next) {
    let status;
    try {
      await next();
      status = ctx.status;
    } catch (err) {
      status = err.status ?? err.statusCode ?? 500;
      throw err;
    } finally {
      // Path only: queries and bodies may carry codes and tokens.
      if (!opts.quiet) process.stderr.write(`provider: ${ctx.method} ${ctx.path} ${status}\n`);
    }
  };
}

// --- main -------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const secrets = loadClientSecrets(opts.clientsFile);

  const server = http.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, buildConfiguration(opts, secrets));
  provider.use(requestLog(opts));
  provider.use(controlMiddleware());
  provider.use(deviceGapsMiddleware(opts));
  provider.use(interactionMiddleware(provider, opts));
  provider.on('server_error', (ctx, err) => process.stderr.write(`provider: server_error: ${err.stack}\n`));
  server.on('request', provider.callback());

  if (opts.pidFile) writeFileAtomic(opts.pidFile, `${process.pid}\n`, 0o644);
  if (opts.infoFile) writeFileAtomic(opts.infoFile, `${JSON.stringify({ port, issuer })}\n`, 0o644);
  process.stderr.write(`provider: listening on ${issuer} (pid ${process.pid})\n`);

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

main().catch((e) => {
  process.stderr.write(`server.mjs: ${e.message}\n`);
  process.exit(1);
});
