#!/usr/bin/env python3
"""The oidc-issuer provider against PyJWT (Debian python3-jwt): every
token verifies with the exported JWKS, claims and lifetime, EC JWK
coordinates of exactly 32 bytes, RS256, key rotation keeping the old key
until its tokens expire, discovery document.  TAP.

usage: oidc_issuer_test.py PROVIDER_TOOL
"""
import base64
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oauth2_peers as op  # noqa: E402

try:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
except ImportError as ex:
    op.skip_all("python3-jwt / python3-cryptography missing: %s" % ex)

T = op.Tap()
tmp = tempfile.mkdtemp(prefix="credfs-oidc-")
tool = op.Tool(sys.argv[1], tmp)
ISS = "https://credfs.example.test/wl"
AUD = "sts.amazonaws.com"


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwks(name, **kv):
    p = tool.run("oidc", "jwks", name, *["%s=%s" % i for i in kv.items()])
    return json.loads(p.stdout) if p.returncode == 0 else {"err": p.stderr}


def verify(tok, keys, aud=AUD):
    kid = jwt.get_unverified_header(tok)["kid"]
    for k in keys["keys"]:
        if k["kid"] == kid:
            key = jwt.PyJWK(k)
            return jwt.decode(tok, key.key, algorithms=[k["alg"]],
                              audience=aud, issuer=ISS)
    raise jwt.InvalidTokenError("kid %s not in the JWKS" % kid)


try:
    prof = {"provider": "oidc-issuer", "issuer": ISS, "audience": AUD,
            "subject": "host-a/{profile}"}
    res = tool.fetch("wl", **prof)
    tok = res["fields"].get("token", "")
    keys = jwks("wl", **prof)
    claims = {}
    try:
        claims = verify(tok, keys)
    except Exception as ex:  # noqa: BLE001
        T.note("verify: %r %s" % (ex, keys))
    now = time.time()
    T.ok(res["r"] == 0 and claims.get("sub") == "host-a/wl" and
         claims["exp"] - claims["iat"] == 900 and
         abs(claims["iat"] - now) < 5 and len(claims["jti"]) == 32 and
         res["exp"] == claims["exp"] and res["fields"]["id_token"] == tok and
         jwt.get_unverified_header(tok)["alg"] == "ES256",
         "ES256 token verified by PyJWT with the JWKS; iss, aud, sub "
         "template, 15 min, jti: %s" % res["msg"])
    pem = tool.get("oidc-wl", "private_key") or ""
    T.ok(pem.startswith("-----BEGIN PRIVATE KEY-----") and
         tool.get("oidc-wl", "kid") == keys["keys"][0]["kid"],
         "the signing key was generated into store entry oidc-wl")
    res2 = tool.fetch("wl", **prof)
    c2 = verify(res2["fields"]["token"], keys)
    T.ok(c2["jti"] != claims["jti"] and
         jwks("wl", **prof) == keys,
         "a second token: same key, new jti")
    try:
        verify(tok, keys, aud="someone-else")
        T.ok(False, "PyJWT refuses another audience")
    except jwt.InvalidAudienceError:
        T.ok(True, "PyJWT refuses another audience")

    # RFC 7638 kid, padded EC coordinates over many keys.
    bad = 0
    for i in range(40):
        k = jwks("pad%d" % i, **prof)["keys"][0]
        if len(b64d(k["x"])) != 32 or len(b64d(k["y"])) != 32:
            bad += 1
        canon = json.dumps({"crv": k["crv"], "kty": "EC", "x": k["x"],
                            "y": k["y"]}, separators=(",", ":"))
        import hashlib
        if op.b64url(hashlib.sha256(canon.encode()).digest()) != k["kid"]:
            bad += 1
    T.ok(bad == 0, "40 EC keys: x and y are 32 bytes, kid is the RFC 7638 "
         "thumbprint")

    rs = dict(prof, alg="RS256", lifetime="1h", key="rs-key")
    res = tool.fetch("rs", **rs)
    k = jwks("rs", **rs)
    c = verify(res["fields"].get("token", ""), k)
    T.ok(res["r"] == 0 and k["keys"][0]["kty"] == "RSA" and
         c["exp"] - c["iat"] == 3600 and c["sub"] == "host-a/rs",
         "RS256, lifetime 1h, key = rs-key: %s" % res["msg"])

    # Rotation: the old key stays in the JWKS until its tokens expire.
    old_tok = tool.fetch("wl", **prof)["fields"]["token"]
    p = tool.run("oidc", "rotate", "wl",
                 *["%s=%s" % i for i in prof.items()])
    new_tok = tool.fetch("wl", **prof)["fields"]["token"]
    k2 = jwks("wl", **prof)
    kids = [x["kid"] for x in k2["keys"]]
    T.ok(p.returncode == 0 and len(kids) == 2 and
         kids[1] == keys["keys"][0]["kid"] and
         verify(old_tok, k2)["jti"] and verify(new_tok, k2)["jti"] and
         jwt.get_unverified_header(new_tok)["kid"] == kids[0],
         "rotate: new tokens use the new key; the JWKS still verifies "
         "tokens of the old one")
    until = int(tool.get("oidc-wl", "old.%s.until" % kids[1]) or 0)
    T.ok(abs(until - (time.time() + 900 + 300)) < 10,
         "the retired key is kept for lifetime + 5 min")

    # A retired key past its time leaves the JWKS (and the entry at the
    # next rotation).
    def pub(k):
        return k.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    cur = ec.generate_private_key(ec.SECP256R1())
    gone = ec.generate_private_key(ec.SECP256R1())
    kept = ec.generate_private_key(ec.SECP256R1())
    tool.put("oidc-hand", alg="ES256", kid="cur", private_key=cur.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode(),
        **{"old.gone": pub(gone), "old.gone.until": "1000",
           "old.kept": pub(kept),
           "old.kept.until": str(int(time.time()) + 600)})
    k3 = jwks("hand", **dict(prof, key="oidc-hand"))
    T.ok([x["kid"] for x in k3.get("keys", [])] == ["cur", "kept"],
         "an expired retired key is left out of the JWKS: %s"
         % [x["kid"] for x in k3.get("keys", [])])
    tool.run("oidc", "rotate", "hand", "key=oidc-hand",
             *["%s=%s" % i for i in prof.items()])
    T.ok(tool.get("oidc-hand", "old.gone") is None and
         tool.get("oidc-hand", "old.kept") and
         tool.get("oidc-hand", "old.cur"),
         "rotate drops expired retired keys, keeps the others")

    p = tool.run("oidc", "discovery", "wl",
                 *["%s=%s" % i for i in prof.items()])
    d = json.loads(p.stdout or "{}")
    T.ok(d.get("issuer") == ISS and
         d.get("jwks_uri") == ISS + "/.well-known/jwks.json" and
         d.get("id_token_signing_alg_values_supported") == ["ES256"] and
         "id_token" in d.get("response_types_supported", []),
         "discovery document")

    res = tool.fetch("x", provider="oidc-issuer", issuer=ISS)
    T.ok(res["r"] != 0 and "audience" in res["msg"],
         "no audience: %s" % res["msg"])
    res = tool.fetch("x", **dict(prof, lifetime="2d"))
    T.ok(res["r"] != 0 and "lifetime" in res["msg"],
         "lifetime out of range: %s" % res["msg"])
finally:
    shutil.rmtree(tmp, ignore_errors=True)
T.done()
