#!/usr/bin/env python3
"""An oidc-issuer profile as the `source` of aws-web-identity (at
moto_server: the role's trust policy names the issuer; the request carries
exactly the minted token, which verifies against `credfs oidc jwks`) and of
gcp-external-account (at tests/peers/gcp_sts.py, which verifies the token
with PyJWT against the exported JWKS, served from a file: a rotation is
seen once the new JWKS is published).  TAP.

usage: federation_test.py PROVIDER_TOOL
"""
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oauth2_peers as op  # noqa: E402

try:
    import jwt
except ImportError as ex:
    op.skip_all("python3-jwt missing: %s" % ex)
MOTO_PY = shutil.which("python3")
if not MOTO_PY or subprocess.run(
        [MOTO_PY, "-c", "import boto3, moto.server"],
        capture_output=True).returncode != 0:
    op.skip_all("no python3 with boto3 and moto (moto_server) on PATH")

T = op.Tap()
tmp = tempfile.mkdtemp(prefix="credfs-federation-")
tool = op.Tool(sys.argv[1], tmp)
PEERS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                     "peers")
ISS = "https://credfs.test/wl"
POOL = ("//iam.googleapis.com/projects/123/locations/global/"
        "workloadIdentityPools/credfs/providers/wl")
procs = []


def wl(aud, **extra):
    kv = {"s.provider": "oidc-issuer", "s.issuer": ISS, "s.audience": aud,
          "s.key": "oidc-wl", "s.subject": "node1/{profile}",
          "source": "src"}
    kv.update(extra)
    return kv


def jwks():
    p = tool.run("oidc", "jwks", "wl", "provider=oidc-issuer",
                 "issuer=" + ISS, "audience=x", "key=oidc-wl", check=True)
    return json.loads(p.stdout)


def verify(tok, keys, aud):
    kid = jwt.get_unverified_header(tok)["kid"]
    k = [x for x in jwt.PyJWKSet.from_dict(keys).keys if x.key_id == kid]
    return jwt.decode(tok, k[0].key, algorithms=["ES256"], audience=aud,
                      issuer=ISS) if k else None


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc):
    import socket
    for _ in range(300):
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


# ---- AWS: AssumeRoleWithWebIdentity at moto -----------------------------
rec = os.path.join(tmp, "moto.jsonl")
port = free_port()
home = os.path.join(tmp, "moto-home")
os.mkdir(home)
moto = subprocess.Popen(
    [MOTO_PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
    stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "moto.log"),
                                           "w"),
    env=dict(os.environ, HOME=home, AWS_CONFIG_FILE="/dev/null",
             AWS_SHARED_CREDENTIALS_FILE="/dev/null",
             MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=rec,
             INITIAL_NO_AUTH_ACTION_COUNT="inf"))
procs.append(moto)
MOTO = "http://127.0.0.1:%d" % port
try:
    if not wait_port(port, moto):
        raise RuntimeError("moto_server did not start")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": "arn:aws:iam::123456789012:"
                      "oidc-provider/credfs.test/wl"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"credfs.test/wl:aud":
                                       "sts.amazonaws.com",
                                       "credfs.test/wl:sub": "node1/src"}}}]}
    mk = subprocess.run([MOTO_PY, "-c", """
import boto3, json, sys
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1",
          aws_access_key_id="AKIDSETUP", aws_secret_access_key="x")
iam = boto3.client("iam", **kw)
iam.create_open_id_connect_provider(Url="https://credfs.test/wl",
    ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40])
print(iam.create_role(RoleName="wl", AssumeRolePolicyDocument=sys.argv[2])
      ["Role"]["Arn"])
""", MOTO, json.dumps(trust)], capture_output=True, text=True, timeout=60,
        env=dict(os.environ, HOME=home))
    arn = mk.stdout.strip()
    T.ok(mk.returncode == 0 and arn.startswith("arn:aws:iam::"),
         "moto: OIDC provider and a role trusting the issuer (%s)"
         % (arn or mk.stderr[-300:]))
    res = tool.fetch("aws", provider="aws-web-identity", role_arn=arn,
                     endpoint=MOTO, region="us-east-1",
                     token_field="id_token",
                     **wl("sts.amazonaws.com"))
    f = res["fields"]
    T.ok(res["r"] == 0 and f.get("access_key_id") and
         f.get("session_token"),
         "aws-web-identity with an oidc-issuer source: moto issues a "
         "session: %s" % res["msg"])
    sent = []
    if os.path.exists(rec):
        for line in open(rec):
            e = json.loads(line)
            body = e.get("body") or ""
            if e.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            form = urllib.parse.parse_qs(body)
            if form.get("Action") == ["AssumeRoleWithWebIdentity"]:
                sent.append(form["WebIdentityToken"][0])
    keys = jwks()
    cl = verify(sent[-1], keys, "sts.amazonaws.com") if sent else None
    T.ok(cl and cl["iss"] == ISS and cl["sub"] == "node1/src" and
         cl["exp"] - cl["iat"] == 900,
         "the request carried a token credfs minted, verified with the "
         "exported JWKS: %s" % (cl and cl["sub"]))
finally:
    moto.kill()

def node_google_auth(sts_url):
    """Node google-auth-library (tests/gcp's pinned one) exchanges a token
    credfs minted, as an external_account credential_source.file."""
    gdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "gcp")
    sys.path.insert(0, gdir)
    import gcp_peers
    if not gcp_peers.npm_modules():
        T.ok(False, "npm google-auth-library@%s is installed"
             % gcp_peers.NPM_PACKAGES["google-auth-library"])
        return
    plain = {k[2:]: v for k, v in wl("https:" + POOL).items()
             if k.startswith("s.")}
    tok = tool.fetch("wl", **plain)["fields"].get("id_token", "")
    subj = os.path.join(tmp, "subject.jwt")
    with open(subj, "w") as f:
        f.write(tok)
    adc = os.path.join(tmp, "adc.json")
    with open(adc, "w") as f:
        json.dump({"type": "external_account", "audience": POOL,
                   "subject_token_type":
                   "urn:ietf:params:oauth:token-type:jwt",
                   "token_url": sts_url,
                   "credential_source": {"file": subj}}, f)
    p = subprocess.run(["node", os.path.join(gdir, "node_adc.js")],
                       capture_output=True, text=True, timeout=90, cwd=gdir,
                       env=dict(os.environ, GOOGLE_APPLICATION_CREDENTIALS=adc,
                                GOOGLE_CLOUD_PROJECT="credfs-test",
                                NODE_PATH=os.path.join(gdir,
                                                       "node_modules")))
    try:
        got = json.loads(p.stdout)
    except ValueError:
        got = {"error": p.stderr[-300:]}
    with open(os.path.join(tmp, "sts.log")) as f:
        last = json.loads(f.read().splitlines()[-1])
    sent = last.get("fields", {}).get("subject_token", {}).get("sha256")
    T.ok(got.get("token") and last.get("status") == 200 and
         sent == hashlib.sha256(tok.encode()).hexdigest(),
         "google-auth-library exchanges the minted token at the STS "
         "emulator, which verified it with the exported JWKS (%s)"
         % got.get("error"))


# ---- GCP: STS token exchange verified against the exported JWKS ---------
jwks_file = os.path.join(tmp, "jwks.json")


js, JWKS_URL = op.serve(lambda h: (200, open(jwks_file, "rb").read()))
with open(jwks_file, "w") as f:
    json.dump(jwks(), f)
cfg = os.path.join(tmp, "sts.json")
with open(cfg, "w") as f:
    json.dump({"providers": [{
        "audience": POOL, "issuer": ISS,
        "jwks_uri": JWKS_URL + "jwks"}]}, f)
state = os.path.join(tmp, "sts-state")
os.mkdir(state)
sts = subprocess.Popen(["/usr/bin/python3", os.path.join(PEERS, "gcp_sts.py"),
                        "--port", "0", "--log", os.path.join(tmp, "sts.log"),
                        "--state", state, "--config", cfg],
                       stdout=subprocess.PIPE, stderr=open(
                           os.path.join(tmp, "sts.err"), "w"), text=True)
procs.append(sts)
try:
    STS = "http://127.0.0.1:%s/v1/token" % sts.stdout.readline().strip()
    gcp = dict(provider="gcp-external-account", audience=POOL, endpoint=STS,
               token_field="id_token", **wl("https:" + POOL))
    res = tool.fetch("gcp", **gcp)
    T.ok(res["r"] == 0 and res["fields"].get("access_token"),
         "gcp-external-account with an oidc-issuer source: the STS "
         "emulator verified the token with the JWKS: %s" % res["msg"])
    tool.run("oidc", "rotate", "wl", "provider=oidc-issuer", "issuer=" + ISS,
             "audience=x", "key=oidc-wl", check=True)
    res = tool.fetch("gcp", **gcp)
    T.ok(res["r"] != 0 and "not in the issuer's JWKS" in res["msg"],
         "after rotate, before the new JWKS is published: refused (%s)"
         % res["msg"])
    with open(jwks_file, "w") as f:
        json.dump(jwks(), f)
    res = tool.fetch("gcp", **gcp)
    T.ok(res["r"] == 0 and res["fields"].get("access_token"),
         "the new JWKS published: the exchange passes again: %s"
         % res["msg"])
    node_google_auth(STS)
finally:
    for p in procs:
        p.kill()
    js.shutdown()
T.done()
