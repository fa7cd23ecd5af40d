// oidc_provider.js: the certified OpenID Provider of the npm package
// `oidc-provider` (pinned in tests/oauth2/oauth2_peers.py), configured for
// the oauth2 provider's tests.  Binds 127.0.0.1 only, prints its port on
// stdout once it listens.
//
// usage: CREDFS_NODE_MODULES=DIR node oidc_provider.js CONFIG.json
// CONFIG: {"port": 0, "clients": [oidc-provider client metadata...],
//          "log": "FILE", "jwt_bearer": {"jwks_file", "issuers": [...]}}
//
// With jwt_bearer, the RFC 7523 grant (oidc-provider has none built in)
// is registered: the assertion must be a JWS (RS256/ES256) by a key of
// the JWKS file (re-read each time) with iss in issuers, aud = the token
// endpoint, sub, and exp in the future; it yields a client-credentials
// access token for the authenticated client.
//
// Besides the provider's own endpoints (discovery, /token, /device/auth,
// /token/introspection, /jwks) it serves test hooks nothing else may
// reach (127.0.0.1 only, like the rest):
//   POST /test/approve?user_code=X[&deny=1]  completes a device code as
//        account "alice" (what the user's consent would do), or denies it
//   POST /test/slowdown?n=N   answers the next N device_code polls with
//        slow_down
//   POST /test/delay?ms=N     holds the next token request N ms before
//        the provider sees it, and drops it if the client went away
//        meanwhile (a client killed before its request took effect)
//   GET  /test/refresh?sha256=H  {"state": "active"|"consumed"|"unknown"}
//        of the refresh token whose SHA-256 hex is H
// The log (one JSON line per token request) names the grant, client and
// the SHA-256 of the refresh token sent, never a token.
import fs from 'node:fs';
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// ESM ignores NODE_PATH: the package is loaded from CREDFS_NODE_MODULES.
const { default: Provider, errors } = await import(pathToFileURL(
  path.join(process.env.CREDFS_NODE_MODULES, 'oidc-provider', 'lib', 'index.js'),
).href);

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
const issued = new Map(); // sha256(refresh token) -> value
let delayMs = 0;
let slowDown = 0;

const server = http.createServer();
server.listen(cfg.port || 0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: cfg.clients,
    scopes: ['openid', 'offline_access', 'api:read', 'api:write'],
    features: {
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      devInteractions: { enabled: false },
    },
    rotateRefreshToken: true,
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && code.scopes.has('offline_access'),
    ttl: { AccessToken: 600, ClientCredentials: 600, DeviceCode: 600 },
    findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
  });
  provider.proxy = false;
  // Remember the refresh tokens issued, by hash, for /test/refresh.
  provider.on('refresh_token.saved', (t) => issued.set(sha(t.jti), t.jti));
  provider.on('grant.success', (ctx) => {
    const rt = ctx.body && ctx.body.refresh_token;
    if (rt) issued.set(sha(rt), rt);
  });
  const log = (o) => { if (cfg.log) fs.appendFileSync(cfg.log, JSON.stringify(o) + '\n'); };
  if (cfg.jwt_bearer) {
    const b64d = (x) => Buffer.from(x, 'base64url');
    provider.registerGrantType('urn:ietf:params:oauth:grant-type:jwt-bearer', async (ctx, next) => {
      const parts = String(ctx.oidc.params.assertion || '').split('.');
      let header;
      let claims;
      try {
        header = JSON.parse(b64d(parts[0]));
        claims = JSON.parse(b64d(parts[1]));
      } catch (e) {
        throw new errors.InvalidGrant('assertion is not a JWT');
      }
      const jwks = JSON.parse(fs.readFileSync(cfg.jwt_bearer.jwks_file, 'utf8'));
      const jwk = jwks.keys.find((k) => k.kid === header.kid);
      if (!jwk || !['RS256', 'ES256'].includes(header.alg)) {
        throw new errors.InvalidGrant('assertion signed by an unknown key');
      }
      const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
      const ok = crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`),
        header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key, b64d(parts[2]));
      if (!ok) throw new errors.InvalidGrant('assertion signature invalid');
      if (!cfg.jwt_bearer.issuers.includes(claims.iss)) {
        throw new errors.InvalidGrant('assertion issuer not trusted');
      }
      const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!auds.includes(`${issuer}/token`)) throw new errors.InvalidGrant('assertion audience mismatch');
      if (!claims.sub) throw new errors.InvalidGrant('assertion has no sub');
      if (!(claims.exp > Date.now() / 1000)) throw new errors.InvalidGrant('assertion expired');
      const token = new provider.ClientCredentials({
        client: ctx.oidc.client,
        scope: ctx.oidc.params.scope || undefined,
      });
      const value = await token.save();
      log({ jwt_bearer_sub: claims.sub, jwt_bearer_iss: claims.iss });
      ctx.body = {
        access_token: value, expires_in: token.expiration, token_type: 'Bearer', scope: token.scope,
      };
      await next();
    }, ['assertion', 'scope']);
  }
  const cb = provider.callback();

  server.on('request', async (req, res) => {
    const url = new URL(req.url, issuer);
    const json = (status, o) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(o));
    };
    try {
      if (url.pathname === '/test/approve') {
        const code = await provider.DeviceCode.findByUserCode(
          url.searchParams.get('user_code').replace(/[^A-Za-z]/g, '').toUpperCase(),
        );
        if (!code) return json(404, { error: 'no such user code' });
        if (url.searchParams.get('deny')) {
          code.error = 'access_denied';
          code.errorDescription = 'the user said no';
        } else {
          // What the user's login and consent would record.
          const scope = code.params.scope || 'openid';
          const grant = new provider.Grant({ accountId: 'alice', clientId: code.clientId });
          grant.addOIDCScope(scope);
          Object.assign(code, {
            grantId: await grant.save(),
            accountId: 'alice',
            authTime: Math.floor(Date.now() / 1000),
            scope,
          });
        }
        await code.save();
        return json(200, { ok: true });
      }
      if (url.pathname === '/test/slowdown') {
        slowDown = Number(url.searchParams.get('n'));
        return json(200, { ok: true });
      }
      if (url.pathname === '/test/delay') {
        delayMs = Number(url.searchParams.get('ms'));
        return json(200, { ok: true });
      }
      if (url.pathname === '/test/refresh') {
        const v = issued.get(url.searchParams.get('sha256'));
        if (!v) return json(200, { state: 'unknown' });
        const t = await provider.RefreshToken.find(v, { ignoreExpiration: true });
        return json(200, { state: !t ? 'unknown' : (t.consumed ? 'consumed' : 'active') });
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const body = Buffer.concat(chunks);
        const form = new URLSearchParams(body.toString());
        log({
          grant_type: form.get('grant_type'),
          client_id: form.get('client_id'),
          basic: (req.headers.authorization || '').startsWith('Basic '),
          client_assertion: !!form.get('client_assertion'),
          refresh_token_sha256: form.get('refresh_token') ? sha(form.get('refresh_token')) : null,
        });
        // oidc-provider never asks a device client to slow down; the
        // test makes it (RFC 8628 3.5).
        if (slowDown > 0 && form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:device_code') {
          slowDown -= 1;
          return json(400, { error: 'slow_down', error_description: 'polling too fast' });
        }
        if (delayMs) {
          const ms = delayMs;
          delayMs = 0;
          let gone = false;
          res.on('close', () => { gone = true; });
          await new Promise((r) => { setTimeout(r, ms); });
          // A client killed meanwhile: as if its request never arrived.
          if (gone || req.socket.destroyed) return undefined;
        }
        // Hand the provider a fresh stream of the body it would have read.
        const { Readable } = await import('node:stream');
        const replay = Object.assign(Readable.from([body]), {
          headers: req.headers, method: req.method, url: req.url,
          httpVersion: req.httpVersion, socket: req.socket, connection: req.socket,
        });
        return cb(replay, res);
      }
      return cb(req, res);
    } catch (err) {
      return json(500, { error: 'server_error', error_description: String(err) });
    }
  });
  process.stdout.write(`${port}\n`);
});
