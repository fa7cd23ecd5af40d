// node-vault against the Vault emulator: one JSON line per check
// ({"ok": bool, "what": "..."}), read by conformance.py.  Env: VAULT_ADDR,
// NS, ROLE_ID, SECRET_ID, EMU_CONTROL.
'use strict';
const http = require('http');
const nodeVault = require('node-vault');

const env = process.env;
let failures = 0;
function check(ok, what) {
  if (!ok) failures++;
  console.log(JSON.stringify({ ok: !!ok, what }));
}
function control(what) {
  return new Promise((resolve, reject) => {
    const req = http.request(env.EMU_CONTROL + what, { method: 'POST' },
      (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end();
  });
}
async function expectError(p, status, text, what) {
  try {
    await p;
    check(false, what + ' (no error)');
  } catch (e) {
    const code = e.response && (e.response.statusCode || e.response.status);
    check(code === status && String(e.message).includes(text),
      `${what}: ${code} ${e.message}`);
  }
}

async function main() {
  const v = nodeVault({ apiVersion: 'v1', endpoint: env.VAULT_ADDR,
    namespace: env.NS });
  const login = await v.approleLogin({ role_id: env.ROLE_ID,
    secret_id: env.SECRET_ID });
  const tok = login.auth.client_token;
  check(tok.startsWith('hvs.') && v.token === tok &&
    login.auth.lease_duration === 300 && login.auth.renewable,
    'approleLogin sets the client token (ttl 300)');
  const look = await v.tokenLookupSelf();
  check(look.data.id === tok && look.data.ttl <= 300, 'tokenLookupSelf');

  const kv = await v.read('secret/data/app/config');
  check(kv.data.data.password === 'v2-pass' && kv.data.metadata.version === 2,
    'read kv v2 latest');
  const kv1 = await v.read('secret/data/app/config?version=1');
  check(kv1.data.data.password === 'v1-pass' &&
    kv1.data.metadata.version === 1, 'read kv v2 ?version=1');
  await expectError(v.read('secret/data/app/none'), 404, 'Status 404',
    'missing kv path is a 404');

  const db = await v.read('database/creds/readonly');
  check(db.lease_id.startsWith('database/creds/readonly/') && db.renewable &&
    db.lease_duration === 60 && db.data.username &&
    db.data.password.length === 20, 'read database creds (60s lease)');
  const rn = await v.renew({ lease_id: db.lease_id, increment: 30 });
  check(rn.lease_id === db.lease_id && rn.lease_duration === 30,
    'renew increment=30');
  const cap = await v.renew({ lease_id: db.lease_id, increment: 3600 });
  check(cap.lease_duration <= 120 && cap.lease_duration >= 100 &&
    cap.warnings && /exceeded the effective max_ttl/.test(cap.warnings[0]),
  'renew past max TTL capped with a warning');
  await v.revoke({ lease_id: db.lease_id });
  check(true, 'revoke');
  await expectError(v.renew({ lease_id: db.lease_id }), 400,
    'lease not found', 'renew after revoke');

  const rs = await v.tokenRenewSelf({ increment: '10m' });
  check(rs.auth.client_token === tok && rs.auth.lease_duration >= 590 &&
    rs.auth.lease_duration <= 600, 'tokenRenewSelf increment=10m');

  const bad = nodeVault({ apiVersion: 'v1', endpoint: env.VAULT_ADDR,
    namespace: env.NS });
  await expectError(bad.approleLogin({ role_id: env.ROLE_ID,
    secret_id: 'wrong' }), 400, 'invalid role or secret ID',
  'approleLogin with a wrong secret_id');
  const other = nodeVault({ apiVersion: 'v1', endpoint: env.VAULT_ADDR,
    namespace: 'team-b', token: tok });
  await expectError(other.read('database/creds/readonly'), 403,
    'permission denied', 'token in another namespace');
  await control('seal');
  await expectError(v.read('database/creds/readonly'), 503,
    'Vault is sealed', 'sealed');
  await control('unseal');
  await v.tokenRevokeSelf();
  await expectError(v.tokenLookupSelf(), 403, 'permission denied',
    'revoked token');
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
  console.error('node-vault: ' + (e && e.stack ? e.stack : e));
  process.exit(2);
});
