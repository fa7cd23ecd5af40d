// Node google-auth-library, unmodified, as a long-running reader of the ADC
// a credfs mount serves (found through HOME: ~/.config/gcloud).  Prints
// {"token": ...} per line: once at start, then once per line read on
// stdin.  eagerRefreshThresholdMillis (a documented option) longer than a
// token's life makes each getAccessToken a refresh, which re-reads the
// credential_source file as a refresh near expiry does.
'use strict';
const {GoogleAuth} = require('google-auth-library');
const readline = require('readline');

(async () => {
  const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
  let client;
  const once = async () => {
    try {
      const t = await client.getAccessToken();
      out({token: t.token});
    } catch (e) {
      out({error: String(e.message || e)});
    }
  };
  try {
    const auth = new GoogleAuth({
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
      clientOptions: {eagerRefreshThresholdMillis: 24 * 3600 * 1000},
    });
    client = await auth.getClient();
  } catch (e) {
    out({error: String(e.message || e)});
    return;
  }
  await once();
  const rl = readline.createInterface({input: process.stdin});
  for await (const _ of rl) await once();
})();
