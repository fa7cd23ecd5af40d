// An unmodified @azure/identity WorkloadIdentityCredential, as an AKS pod
// runs it: AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE,
// AZURE_AUTHORITY_HOST; instance discovery off (the authority is local).
// Prints {"token", "expires"} or {"error"}.
const { WorkloadIdentityCredential } = require('@azure/identity');

(async () => {
  if (process.env.CREDFS_DEBUG) { require('@azure/logger').setLogLevel('verbose'); }
  const cred = new WorkloadIdentityCredential({
    tenantId: process.env.AZURE_TENANT_ID,
    clientId: process.env.AZURE_CLIENT_ID,
    tokenFilePath: process.env.AZURE_FEDERATED_TOKEN_FILE,
    authorityHost: process.env.AZURE_AUTHORITY_HOST,
    disableInstanceDiscovery: true,
  });
  const t = await cred.getToken(process.argv[2]);
  process.stdout.write(`${JSON.stringify({ token: t.token, expires: t.expiresOnTimestamp })}\n`);
})().catch((e) => {
  process.stdout.write(`${JSON.stringify({ error: String(e && e.message ? e.message : e) })}\n`);
  process.exit(1);
});
