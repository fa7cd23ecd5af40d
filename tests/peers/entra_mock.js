// entra_mock.js: the npm oauth2-mock-server over HTTPS posing as an Entra
// ID tenant: /<tenant>/oauth2/v2.0/token, /<tenant>/v2.0/.well-known/
// openid-configuration, /<tenant>/discovery/v2.0/keys.  It checks the
// client the way Entra does for the client_credentials grant (what the
// mock itself does not):
//   - client_secret must be the configured one;
//   - a client_assertion (RFC 7523) must verify: a federated one
//     (iss = a configured issuer) with that issuer's JWKS (a file) and
//     aud api://AzureADTokenExchange; a certificate one by its x5t#S256
//     header naming the configured certificate, aud = the token URL;
//     both with exp in the future and sub = the expected subject.
// Refusals answer 401 {"error":"invalid_client","error_description":
// "AADSTS...: ..."} like Entra.  One JSON line per token request in the
// log: client_id, scope, auth, and the SHA-256 of the assertion.
//
// usage: CREDFS_NODE_MODULES=DIR node entra_mock.js CONFIG.json
// CONFIG: {"tenant", "client_id", "client_secret", "key", "cert" (TLS PEM
//          files), "fed_issuer", "fed_jwks_file", "fed_subject",
//          "cert_pem_file" (the client certificate), "log"}
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

const { OAuth2Server, Events } = await import(pathToFileURL(
  path.join(process.env.CREDFS_NODE_MODULES, 'oauth2-mock-server', 'dist', 'index.js'),
).href);

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const t = cfg.tenant;
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
const b64d = (s) => Buffer.from(s, 'base64url');

const server = new OAuth2Server(cfg.key, cfg.cert, {
  endpoints: {
    token: `/${t}/oauth2/v2.0/token`,
    wellKnownDocument: `/${t}/v2.0/.well-known/openid-configuration`,
    jwks: `/${t}/discovery/v2.0/keys`,
    authorize: `/${t}/oauth2/v2.0/authorize`,
  },
});
await server.issuer.keys.generate('RS256');

class Refused extends Error {}

function verifyJws(tok, key) {
  const [h, p, s] = tok.split('.');
  const header = JSON.parse(b64d(h));
  const alg = header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key;
  if (!['RS256', 'ES256'].includes(header.alg)
      || !crypto.verify('sha256', Buffer.from(`${h}.${p}`), alg, b64d(s))) {
    throw new Refused('AADSTS700027: Client assertion contains an invalid signature.');
  }
  return JSON.parse(b64d(p));
}

function checkAssertion(tok, tokenUrl) {
  let header;
  try {
    header = JSON.parse(b64d(tok.split('.')[0]));
  } catch (e) {
    throw new Refused('AADSTS50027: JWT token is invalid or malformed.');
  }
  let claims;
  let aud;
  if (header['x5t#S256']) {
    const cert = new crypto.X509Certificate(fs.readFileSync(cfg.cert_pem_file));
    const want = crypto.createHash('sha256').update(cert.raw).digest('base64url');
    if (header['x5t#S256'] !== want) {
      throw new Refused('AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.');
    }
    claims = verifyJws(tok, cert.publicKey);
    aud = tokenUrl;
    if (claims.sub !== cfg.client_id || claims.iss !== cfg.client_id) {
      throw new Refused('AADSTS700023: Client assertion audience claim does not match.');
    }
  } else {
    const jwks = JSON.parse(fs.readFileSync(cfg.fed_jwks_file, 'utf8'));
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    if (!jwk) throw new Refused('AADSTS700211: No matching federated identity record found for presented assertion issuer.');
    claims = verifyJws(tok, crypto.createPublicKey({ key: jwk, format: 'jwk' }));
    aud = 'api://AzureADTokenExchange';
    if (claims.iss !== cfg.fed_issuer) {
      throw new Refused('AADSTS700211: No matching federated identity record found for presented assertion issuer.');
    }
    if (claims.sub !== cfg.fed_subject) {
      throw new Refused('AADSTS70021: No matching federated identity record found for presented assertion.');
    }
  }
  const auds = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!auds.includes(aud)) {
    throw new Refused('AADSTS700212: No matching federated identity record found for presented assertion audience.');
  }
  if (!(claims.exp > Date.now() / 1000)) {
    throw new Refused('AADSTS700024: Client assertion is not within its valid time range.');
  }
}

server.service.on(Events.BeforeResponse, (resp, req) => {
  const b = req.body || {};
  const tokenUrl = `https://${req.headers.host}${req.path}`;
  const entry = { client_id: b.client_id, scope: b.scope, grant_type: b.grant_type };
  try {
    if (b.client_id !== cfg.client_id) {
      throw new Refused(`AADSTS700016: Application with identifier '${b.client_id}' was not found in the directory.`);
    }
    if (b.client_assertion) {
      entry.auth = 'assertion';
      entry.assertion_sha256 = sha(b.client_assertion);
      if (b.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        throw new Refused('AADSTS50027: invalid client_assertion_type');
      }
      checkAssertion(b.client_assertion, tokenUrl);
    } else if (b.client_secret) {
      entry.auth = 'secret';
      if (b.client_secret !== cfg.client_secret) {
        throw new Refused(`AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${cfg.client_id}'.`);
      }
    } else {
      throw new Refused("AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    entry.status = 200;
    delete resp.body.refresh_token;
    delete resp.body.id_token;
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    resp.statusCode = 401;
    resp.body = { error: 'invalid_client', error_description: e.message, error_codes: [Number(e.message.slice(5, e.message.indexOf(':')))] };
    entry.status = 401;
  }
  if (cfg.log) fs.appendFileSync(cfg.log, `${JSON.stringify(entry)}\n`);
});

await server.start(cfg.port || 0, '127.0.0.1');
// The discovery document names 127.0.0.1 (the TLS certificate's address).
server.issuer.url = `https://127.0.0.1:${server.address().port}`;
process.stdout.write(`${server.address().port}\n`);
