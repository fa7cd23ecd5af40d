#!/usr/bin/env python3
"""The STS and IAM Credentials emulators against Node's google-auth-library
(npm, pinned to 10.9.1: its engines range, node >= 18, holds the machine's
Node 20), reading an external_account ADC file with credential_source.file
as it will read the one a credfs mount serves.  TAP.

usage: node_peers_test.py
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))
import tap  # noqa: E402
from tap import ok, skip_all  # noqa: E402

try:
    import gcp_peers
except ImportError as ex:
    skip_all("python3-jwt / python3-cryptography missing: %s" % ex)
VERSION = gcp_peers.NPM_PACKAGES["google-auth-library"]
if not shutil.which("node") or not gcp_peers.npm_modules():
    skip_all("node or npm google-auth-library@%s unavailable" % VERSION)

P = gcp_peers.Peers(prefix="credfs-gcp-node-").start()


def node(adc, subject):
    with open(P.path("subject.jwt"), "w") as f:
        f.write(subject)
    info = {"type": "external_account", "audience": gcp_peers.AUDIENCE,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": P.sts + "/v1/token",
            "credential_source": {"file": P.path("subject.jwt")}}
    info.update(adc)
    path = P.write_json("adc.json", info)
    env = dict(os.environ, GOOGLE_APPLICATION_CREDENTIALS=path,
               GOOGLE_CLOUD_PROJECT="credfs-test",
               NODE_PATH=os.path.join(HERE, "node_modules"))
    p = subprocess.run(["node", os.path.join(HERE, "node_adc.js")],
                       capture_output=True, text=True, timeout=60, env=env,
                       cwd=HERE)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"error": p.stderr[-300:]}


try:
    tok = P.issuer.token(alg="ES256")
    got = node({}, tok)
    e = P.log("sts")[-1]
    ok(got.get("token", "").startswith("ya29.emu.") and e["status"] == 200,
       "google-auth-library %s: STS exchange of credential_source.file "
       "(%s)" % (VERSION, got.get("error")))
    ok(e["fields"]["subject_token"]["sha256"] ==
       hashlib.sha256(tok.encode()).hexdigest() and
       e["fields"]["subject_token_type"] ==
       "urn:ietf:params:oauth:token-type:jwt",
       "STS received exactly the file's JWT")
    imp = ("%s/v1/projects/-/serviceAccounts/%s:generateAccessToken" %
           (P.iam, P.target_sa))
    got = node({"service_account_impersonation_url": imp}, tok)
    e = P.log("iam")[-1]
    ok(got.get("token", "").startswith("ya29.emu.") and e["status"] == 200
       and e["path"].endswith(":generateAccessToken"),
       "google-auth-library: STS then generateAccessToken (%s)" %
       got.get("error"))
    got = node({}, P.issuer.token(aud="https://elsewhere"))
    ok(got.get("status") == 400 and
       (got.get("body") or {}).get("error") == "invalid_grant",
       "google-auth-library sees Google's invalid_grant for a wrong "
       "audience: %s" % got.get("error"))
    got = node({"service_account_impersonation_url": imp.replace(
        P.target_sa, P.delegate_sa)}, tok)
    ok("PERMISSION_DENIED" in json.dumps(got) or got.get("status") == 403,
       "google-auth-library sees IAM's 403 PERMISSION_DENIED: %s" %
       got.get("error"))
finally:
    P.close()

tap.done()
