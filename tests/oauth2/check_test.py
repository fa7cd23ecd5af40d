#!/usr/bin/env python3
"""`credfs check` on profiles of the oauth2, oidc-issuer, Azure and token
source providers: good ones pass, each bad one is named with its line.
TAP.

usage: check_test.py CREDFS
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oauth2_peers as op  # noqa: E402

T = op.Tap()
GOOD = """
[profile api]
provider = oauth2
issuer = https://login.example.com
secret = api-client
client_auth = private_key_jwt
scope = read write

[profile wl]
provider = oidc-issuer
issuer = https://credfs.example.com
audience = api://AzureADTokenExchange
subject = node1/{profile}
lifetime = 10m
alg = RS256

[profile az]
provider = azure-client
source = wl
tenant = contoso.onmicrosoft.com
scope = https://management.azure.com/.default

[profile mi]
provider = azure-managed-identity
resource = https://vault.azure.net
client_id = 0000-1111

[profile kv]
provider = azure-keyvault
source = mi
vault = https://x.vault.azure.net
name = db-pass

[profile gha]
provider = github-actions
audience = sts.amazonaws.com

[profile ce]
provider = token-env
env = CI_JOB_JWT_V2
"""
BAD = [
    ("[profile a]\nprovider = oauth2\nissuer = https://x\n"
     "grant = refresh_token\n", "needs secret = STORE_ENTRY"),
    ("[profile a]\nprovider = oauth2\nscope = x\n",
     "needs token_url or issuer"),
    ("[profile a]\nprovider = oauth2\ntoken_url = https://x/t\n"
     "grant = password\n", "grant: client_credentials"),
    ("[profile a]\nprovider = oauth2\ntoken_url = https://x/t\n"
     "client_auth = tls\nsecret = s\n", "client_auth: basic"),
    ("[profile a]\nprovider = oidc-issuer\nissuer = https://i\n"
     "audience = x\nlifetime = 2d\n", "lifetime: a duration"),
    ("[profile a]\nprovider = oidc-issuer\nissuer = https://i\n"
     "audience = x\nalg = HS256\n", "alg: ES256 or RS256"),
    ("[profile a]\nprovider = azure-client\ntenant = a/b\nscope = s\n",
     "tenant: a tenant id"),
    ("[profile mi]\nprovider = azure-managed-identity\n"
     "resource = https://vault.azure.net\n"
     "[profile a]\nprovider = azure-keyvault\nsource = mi\n"
     "vault = https://v\nname = a/../b\n", "name, version"),
    ("[profile a]\nprovider = token-env\nenv = A-B\n",
     "env: an environment variable name"),
]


def check(text):
    with tempfile.NamedTemporaryFile("w", suffix=".conf",
                                     delete=False) as f:
        f.write(text)
    try:
        p = subprocess.run([sys.argv[1], "-c", f.name, "check"],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout + p.stderr
    finally:
        os.unlink(f.name)


rc, out = check(GOOD)
T.ok(rc == 0, "good profiles pass credfs check")
if rc:
    T.note(out)
for text, want in BAD:
    rc, out = check(text)
    # The line of the offending key when there is one.
    key = want.split(":")[0].split(",")[0]
    line = [i + 1 for i, ln in enumerate(text.splitlines())
            if ln.startswith(key + " =")]
    at = ".conf:%d: " % line[-1] if line else ".conf:"
    T.ok(rc != 0 and want in out and at in out,
         "refused: %s" % out.strip())
T.done()
