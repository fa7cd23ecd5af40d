#!/usr/bin/env python3
"""The oauth2 provider against the certified OpenID Provider of the npm
package oidc-provider (tests/peers/oidc_provider.js): client_secret_basic,
client_secret_post, private_key_jwt, a wrong secret, the device grant
driven by the test, refresh-token rotation, and kill -9 around the sealed
write of a rotated refresh token.  TAP.

usage: oauth2_test.py PROVIDER_TOOL
"""
import errno
import hashlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oauth2_peers as op  # noqa: E402

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError as ex:
    op.skip_all("python3-cryptography missing: %s" % ex)
if not shutil.which("node") or not op.npm_modules():
    op.skip_all("node or npm oidc-provider@%s unavailable"
                % op.NPM_PACKAGES["oidc-provider"])

T = op.Tap()
tmp = tempfile.mkdtemp(prefix="credfs-oauth2-")
tool = op.Tool(sys.argv[1], tmp)
log = os.path.join(tmp, "op.log")
sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731

eckey = ec.generate_private_key(ec.SECP256R1())
nums = eckey.public_key().public_numbers()
jwk = {"kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig",
       "x": op.b64url(nums.x.to_bytes(32, "big")),
       "y": op.b64url(nums.y.to_bytes(32, "big"))}
pem = eckey.private_bytes(serialization.Encoding.PEM,
                          serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode()
SECRET = "basic-secret-0123456789abcdef"
cc = {"grant_types": ["client_credentials"], "redirect_uris": [],
      "response_types": [], "scope": "api:read api:write"}
clients = [
    dict(cc, client_id="basic", client_secret=SECRET,
         token_endpoint_auth_method="client_secret_basic"),
    dict(cc, client_id="post", client_secret=SECRET,
         token_endpoint_auth_method="client_secret_post"),
    dict(cc, client_id="keyjwt", jwks={"keys": [jwk]},
         token_endpoint_auth_method="private_key_jwt",
         token_endpoint_auth_signing_alg="ES256"),
    {"client_id": "device", "client_secret": SECRET,
     "grant_types": ["urn:ietf:params:oauth:grant-type:device_code",
                     "refresh_token"],
     "redirect_uris": [], "response_types": [],
     "token_endpoint_auth_method": "client_secret_basic",
     "scope": "openid offline_access api:read"},
]
JB = ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
clients += [
    {"client_id": "bearer", "client_secret": SECRET, "grant_types": JB,
     "redirect_uris": [], "response_types": [], "scope": "api:read",
     "token_endpoint_auth_method": "client_secret_basic"},
    {"client_id": "keybearer", "jwks": {"keys": [jwk]}, "grant_types": JB,
     "redirect_uris": [], "response_types": [], "scope": "api:read",
     "token_endpoint_auth_method": "private_key_jwt",
     "token_endpoint_auth_signing_alg": "ES256"},
]
# The assertions the jwt-bearer grant trusts: an oidc-issuer profile's
# (its JWKS from credfs) and the keybearer client's own key.
FED_ISS = "https://credfs.test/wl"
fed = {"s.provider": "oidc-issuer", "s.issuer": FED_ISS, "s.key": "oidc-wl",
       "s.subject": "workload-7"}
jb_jwks = os.path.join(tmp, "jb_jwks.json")
p = tool.run("oidc", "jwks", "wl", "provider=oidc-issuer",
             "issuer=" + FED_ISS, "audience=x", "key=oidc-wl", check=True)
with open(jb_jwks, "w") as f:
    json.dump({"keys": json.loads(p.stdout)["keys"] + [jwk]}, f)
proc, port = op.start_node("oidc_provider.js", {
    "clients": clients, "log": log,
    "jwt_bearer": {"jwks_file": jb_jwks,
                   "issuers": [FED_ISS, "keybearer"]}}, tmp)
ISS = "http://127.0.0.1:%d" % port


def hook(path, method="POST"):
    req = urllib.request.Request(ISS + path, method=method, data=b""
                                 if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as ex:
        raise RuntimeError("%s: HTTP %d %s" % (path, ex.code, ex.read()))


def rt_state(rt):
    return hook("/test/refresh?sha256=" + sha(rt), "GET")["state"]


def last_log():
    with open(log) as f:
        return json.loads(f.read().splitlines()[-1])


def good(res, scope=None):
    f = res["fields"]
    now = time.time()
    return (res["r"] == 0 and len(f.get("access_token", "")) > 20 and
            f.get("token_type") == "Bearer" and
            (scope is None or f.get("scope") == scope) and
            now + 590 <= res["exp"] <= now + 610)


try:
    # client_secret_basic, discovery from the issuer.
    tool.put("cl-basic", client_id="basic", client_secret=SECRET)
    res = tool.fetch("api", provider="oauth2", issuer=ISS, secret="cl-basic",
                     scope="api:read")
    T.ok(good(res, "api:read") and last_log()["basic"] and
         last_log()["grant_type"] == "client_credentials",
         "client_credentials, client_secret_basic, discovery: %s"
         % res["msg"])

    # client_secret_post (client_id from the profile), token_url.
    tool.put("cl-post", client_secret=SECRET)
    res = tool.fetch("api2", provider="oauth2", token_url=ISS + "/token",
                     client_id="post", client_auth="post", secret="cl-post",
                     scope="api:read api:write")
    L = last_log()
    T.ok(good(res, "api:read api:write") and not L["basic"] and
         L["client_id"] == "post",
         "client_credentials, client_secret_post, token_url: %s"
         % res["msg"])

    # A wrong secret: invalid_client in the error, never the secret.
    tool.put("cl-wrong", client_id="basic", client_secret="not-the-secret")
    res = tool.fetch("wrong", provider="oauth2", issuer=ISS, secret="cl-wrong")
    T.ok(res["r"] == -errno.EKEYREJECTED and "invalid_client" in res["msg"]
         and "HTTP 401" in res["msg"] and "not-the-secret" not in res["msg"]
         and not res["fields"],
         "wrong secret: %s" % res["msg"])

    # private_key_jwt (RFC 7523) with an ES256 key from the store.
    tool.put("cl-keyjwt", client_id="keyjwt", private_key=pem, kid="k1")
    res = tool.fetch("kj", provider="oauth2", issuer=ISS, secret="cl-keyjwt",
                     client_auth="private_key_jwt", scope="api:write")
    T.ok(good(res, "api:write") and last_log()["client_assertion"],
         "client_credentials, private_key_jwt: %s" % res["msg"])
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    tool.put("cl-keyjwt2", client_id="keyjwt", private_key=other, kid="k1")
    res = tool.fetch("kj", provider="oauth2", issuer=ISS, secret="cl-keyjwt2",
                     client_auth="private_key_jwt")
    T.ok(res["r"] == -errno.EKEYREJECTED and "invalid_client" in res["msg"],
         "private_key_jwt with a key the server does not know: %s"
         % res["msg"])

    # jwt-bearer (RFC 7523 2.1) with the assertion of a source profile
    # (an oidc-issuer whose aud is this token endpoint).
    tool.put("cl-bearer", client_id="bearer", client_secret=SECRET)
    jb = dict(provider="oauth2", issuer=ISS, secret="cl-bearer",
              grant="jwt-bearer", scope="api:read",
              **dict(fed, **{"s.audience": ISS + "/token"}))
    res = tool.fetch("jb", **jb)
    L = last_log()
    T.ok(good(res, "api:read") and L.get("jwt_bearer_sub") == "workload-7",
         "jwt-bearer grant with the source profile's token: %s" % res["msg"])
    res = tool.fetch("jb", **dict(jb, **{"s.audience": "elsewhere"}))
    T.ok(res["r"] == -errno.EKEYREJECTED and "invalid_grant" in res["msg"]
         and not res["fields"],
         "jwt-bearer, an assertion for another audience: %s" % res["msg"])
    # ... and a self-signed assertion (iss = client_id) with the client's
    # private_key_jwt key.
    tool.put("cl-keybearer", client_id="keybearer", private_key=pem, kid="k1")
    res = tool.fetch("jb2", provider="oauth2", issuer=ISS,
                     secret="cl-keybearer", grant="jwt-bearer",
                     client_auth="private_key_jwt", subject="svc-a")
    L = last_log()
    T.ok(res["r"] == 0 and L.get("jwt_bearer_sub") == "svc-a" and
         L.get("jwt_bearer_iss") == "keybearer",
         "jwt-bearer grant with a self-signed assertion: %s" % res["msg"])

    # Device authorization grant, approved by the test as the user.
    dev = ["provider=oauth2", "issuer=" + ISS, "secret=cl-dev",
           "client_id=device", "client_auth=basic",
           "scope=openid offline_access api:read"]
    tool.put("cl-dev", client_id="device", client_secret=SECRET)
    p = tool.popen("device", "dev", *dev)
    first = json.loads(p.stdout.readline())
    T.ok(len(first["user_code"]) >= 8 and
         first["verification_uri"] == ISS + "/device" and
         first["interval"] >= 1,
         "device: user code, verification URI %s, interval %d"
         % (first["verification_uri"], first["interval"]))
    time.sleep(first["interval"] + 1.5)  # at least one authorization_pending
    hook("/test/approve?user_code=" + first["user_code"])
    out, err = p.communicate(timeout=60)
    res = json.loads(out.strip().splitlines()[-1])
    rt0 = tool.get("cl-dev", "refresh_token")
    T.ok(res["r"] == 0 and res["fields"].get("access_token") and
         "authorization_pending" in err and rt0 and
         rt_state(rt0) == "active" and
         tool.get("cl-dev", "client_secret") == SECRET,
         "device: pending, then approved; the refresh token is sealed: %s"
         % res["msg"])
    T.note(err)

    p = tool.popen("device", "dev2", *dev)
    first = json.loads(p.stdout.readline())
    hook("/test/slowdown?n=1")
    time.sleep(first["interval"] + 1.5)  # the first poll got slow_down
    hook("/test/approve?deny=1&user_code=" + first["user_code"])
    out, err = p.communicate(timeout=60)
    res = json.loads(out.strip().splitlines()[-1])
    T.ok("poll 1: -11" in err and "slow_down" in err and
         "(interval %d)" % (first["interval"] + 5) in err,
         "device: slow_down adds 5 s to the polling interval")
    T.ok(res["r"] == -errno.EACCES and "access_denied" in res["msg"],
         "device: denied by the user: %s" % res["msg"])

    # Refresh with rotation: the store holds only the newest token.
    refresh = ["provider=oauth2", "issuer=" + ISS, "secret=cl-dev",
               "grant=refresh_token"]

    def do_refresh():
        return tool.fetch("rt", **dict(a.split("=", 1) for a in refresh))

    res = do_refresh()
    rt1 = tool.get("cl-dev", "refresh_token")
    T.ok(res["r"] == 0 and res["fields"].get("id_token") and rt1 != rt0 and
         rt_state(rt0) == "consumed" and rt_state(rt1) == "active" and
         last_log()["refresh_token_sha256"] == sha(rt0) and
         "refresh_token" not in res["fields"],
         "refresh_token grant: rotated, the store holds the new token: %s"
         % res["msg"])
    res = do_refresh()
    rt2 = tool.get("cl-dev", "refresh_token")
    T.ok(res["r"] == 0 and rt2 not in (rt0, rt1) and
         rt_state(rt2) == "active",
         "second refresh rotates again: %s" % res["msg"])

    # kill -9 while the request is in flight (the server holds it):
    # the old token stays sealed and still works.
    hook("/test/delay?ms=2000")
    p = tool.popen("fetch", "rt", *refresh)
    time.sleep(0.8)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    time.sleep(1.5)  # the server now answers into a closed socket
    after = tool.get("cl-dev", "refresh_token")
    res = do_refresh()
    rt3 = tool.get("cl-dev", "refresh_token")
    T.ok(after == rt2 and res["r"] == 0 and rt3 not in (rt0, rt1, rt2) and
         rt_state(rt3) == "active",
         "kill -9 before the request took effect: the sealed token is "
         "unchanged and the next run refreshes: %s" % res["msg"])
    # kill -9 right after a refresh returned: the new token is sealed.
    p = tool.popen("fetch", "rt", *refresh)
    line = p.stdout.readline()
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    rt4 = tool.get("cl-dev", "refresh_token")
    res = do_refresh()
    T.ok(json.loads(line)["r"] == 0 and rt4 != rt3 and
         rt_state(rt3) == "consumed" and res["r"] == 0,
         "kill -9 once the access token is out: the rotated token was "
         "already sealed and the next run refreshes: %s" % res["msg"])

    # kill -9 at random instants around the sealed write: the entry
    # always opens and holds the last value written or the one being
    # written; never nothing.
    bad = 0
    for i in range(8):
        p = tool.popen("hammer", "hammer", "100000")
        first = p.stdout.readline()  # writing has begun
        time.sleep(random.uniform(0.0, 0.3))
        os.kill(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        done = [int(x) for x in (first + out).split()]
        last = done[-1]
        got = tool.get("hammer", "refresh_token")
        okk = got in ("rt-%d" % last, "rt-%d" % (last + 1))
        if not okk:
            bad += 1
            T.note("kill %d: last written %d, store has %s" % (i, last, got))
    T.ok(bad == 0, "kill -9 during store writes (8 times): the entry always "
         "holds the last or the next refresh token")

    # A refresh token the server no longer honours (here: a consumed one,
    # which also revokes the grant): invalid_grant, and the store keeps
    # what it had.
    tool.put("cl-stale", client_id="device", client_secret=SECRET,
             refresh_token=rt0)
    res = tool.fetch("rt", **dict(dict(a.split("=", 1) for a in refresh),
                                  secret="cl-stale"))
    T.ok(res["r"] == -errno.EKEYREJECTED and "invalid_grant" in res["msg"]
         and rt0 not in res["msg"] and
         tool.get("cl-stale", "refresh_token") == rt0,
         "a consumed refresh token: invalid_grant, store unchanged: %s"
         % res["msg"])
    tool.put("cl-none", client_id="device", client_secret=SECRET)
    res = tool.fetch("rt", **dict(dict(a.split("=", 1) for a in refresh),
                                  secret="cl-none"))
    T.ok(res["r"] == -errno.ENOKEY and "credfs login rt" in res["msg"],
         "no refresh token yet: says to run credfs login: %s" % res["msg"])
finally:
    proc.kill()
    proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
T.done()
