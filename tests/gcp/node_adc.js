// Node google-auth-library as an unmodified reader of an ADC file:
// prints {"token": ...} or {"error": ...} as one JSON line.
// usage: GOOGLE_APPLICATION_CREDENTIALS=FILE node node_adc.js
'use strict';
const {GoogleAuth} = require('google-auth-library');

(async () => {
  try {
    const auth = new GoogleAuth({
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    });
    const client = await auth.getClient();
    const t = await client.getAccessToken();
    process.stdout.write(JSON.stringify({token: t.token}) + '\n');
  } catch (e) {
    const body = e.response && e.response.data;
    process.stdout.write(JSON.stringify({
      error: String(e.message || e),
      status: e.response && e.response.status,
      body: body || null,
    }) + '\n');
  }
})();
