#!/usr/bin/env python3
"""Cross-checks providers/jwt against PyJWT and python3-cryptography.

usage: jwt_crosscheck.py TEST_GCP_JWT_BINARY

Keys are made with cryptography (RSA 2048 PKCS#8 and PKCS#1, EC P-256
PKCS#8 and SEC1).  A token credfs signs must verify in PyJWT (alg, kid,
claims); a token PyJWT signs must verify in credfs; a tampered one, a DER
ES256 signature, another key's token and alg=none must fail.  TAP.
"""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import tap  # noqa: E402
from tap import ok  # noqa: E402

try:
    import jwt
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import \
        decode_dss_signature
except ImportError as ex:
    tap.skip_all("python3-jwt / python3-cryptography missing: %s" % ex)

BIN = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="credfs-jwt-")


def write(name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)
    return path


def run(*args):
    p = subprocess.run([BIN] + list(args), capture_output=True, text=True)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def flip(tok, part):
    parts = tok.split(".")
    p = parts[part]
    parts[part] = ("B" if p[1] == "A" else "A").join([p[:1], p[2:]])
    return ".".join(parts)


def keys():
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    e = ec.generate_private_key(ec.SECP256R1())
    nopw = serialization.NoEncryption()
    pem = serialization.Encoding.PEM
    pk8 = serialization.PrivateFormat.PKCS8
    trad = serialization.PrivateFormat.TraditionalOpenSSL
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    for alg, k, fmt in (("RS256", r, pk8), ("RS256", r, trad),
                        ("ES256", e, pk8), ("ES256", e, trad)):
        priv = k.private_bytes(pem, fmt, nopw)
        pub = k.public_key().public_bytes(pem, spki)
        yield alg, k, priv, pub, "PKCS#8" if fmt is pk8 else "traditional"


now = int(time.time())
claims = {"iss": "sa@proj.iam.gserviceaccount.com",
          "scope": "https://www.googleapis.com/auth/cloud-platform",
          "aud": "https://oauth2.googleapis.com/token",
          "iat": now, "exp": now + 3600, "uni": "ünï \"q\" \\"}
other_r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
other_e = ec.generate_private_key(ec.SECP256R1())

try:
    for alg, key, priv, pub, fmt in keys():
        what = "%s %s" % (alg, fmt)
        kp = write("priv.pem", priv)
        pubp = write("pub.pem", pub)
        # credfs signs, PyJWT verifies.
        rc, tok, err = run("sign", kp, "key-7", json.dumps(claims))
        ok(rc == 0, "%s: credfs signs (%s)" % (what, err))
        try:
            got = jwt.decode(tok, pub, algorithms=[alg],
                             audience=claims["aud"])
            hdr = jwt.get_unverified_header(tok)
            ok(got == claims and hdr.get("kid") == "key-7" and
               hdr.get("alg") == alg and hdr.get("typ") == "JWT",
               "%s: PyJWT verifies credfs's token, claims and kid equal" %
               what)
        except Exception as ex:
            ok(False, "%s: PyJWT verifies credfs's token: %r" % (what, ex))
        if alg == "ES256":
            ok(len(b64d(tok.split(".")[2])) == 64,
               "%s: credfs's signature is 64 bytes r||s" % what)
        for part in range(3):
            try:
                jwt.decode(flip(tok, part), pub, algorithms=[alg],
                           audience=claims["aud"])
                ok(False, "%s: PyJWT refuses credfs's token tampered in "
                   "part %d" % (what, part))
            except jwt.exceptions.PyJWTError:
                ok(True, "%s: PyJWT refuses credfs's token tampered in "
                   "part %d" % (what, part))
        # PyJWT signs, credfs verifies.
        ptok = jwt.encode(claims, priv, algorithm=alg,
                          headers={"kid": "py-1"})
        rc, out, err = run("verify", pubp, ptok, str(now))
        ok(rc == 0 and json.loads(out) == claims,
           "%s: credfs verifies PyJWT's token (%s)" % (what, err))
        for part in range(3):
            rc, out, err = run("verify", pubp, flip(ptok, part), str(now))
            ok(rc == 1 and out == "",
               "%s: credfs refuses PyJWT's token tampered in part %d: %s" %
               (what, part, err))
        ctok = jwt.encode(claims, priv, algorithm=alg,
                          headers={"crit": ["exp"], "exp": 1})
        rc, out, err = run("verify", pubp, ctok, str(now))
        ok(rc == 1 and "critical" in err,
           "%s: credfs refuses a token with a crit header: %s" % (what, err))
        other = other_r if alg == "RS256" else other_e
        otok = jwt.encode(claims, other, algorithm=alg)
        rc, out, err = run("verify", pubp, otok, str(now))
        ok(rc == 1 and "signature" in err,
           "%s: credfs refuses another key's token: %s" % (what, err))
        expd = dict(claims, exp=now - 10)
        rc, out, err = run("verify", pubp,
                           jwt.encode(expd, priv, algorithm=alg), str(now))
        ok(rc == 1 and "expired" in err,
           "%s: credfs refuses PyJWT's expired token: %s" % (what, err))
        h, p, _ = ptok.split(".")
        none = "%s.%s." % (b64e(b'{"alg":"none","typ":"JWT"}'), p)
        rc, out, err = run("verify", pubp, none, str(now))
        ok(rc == 1, "%s: credfs refuses alg=none: %s" % (what, err))
        if alg == "ES256":
            # The DER form (what OpenSSL emits) is not JOSE: refused.
            signing = ("%s.%s" % (h, p)).encode()
            der = key.sign(signing, ec.ECDSA(hashes.SHA256()))
            rc, out, err = run("verify", pubp,
                               "%s.%s.%s" % (h, p, b64e(der)), str(now))
            ok(rc == 1, "%s: credfs refuses a DER signature: %s" %
               (what, err))
            r_, s_ = decode_dss_signature(der)
            jose = r_.to_bytes(32, "big") + s_.to_bytes(32, "big")
            rc, out, err = run("verify", pubp,
                               "%s.%s.%s" % (h, p, b64e(jose)), str(now))
            ok(rc == 0, "%s: the same signature as r||s verifies (%s)" %
               (what, err))
        else:
            # HS256 signed with the public key as secret (key confusion).
            hs = "%s.%s" % (b64e(b'{"alg":"HS256","typ":"JWT"}'), p)
            import hmac
            import hashlib
            mac = hmac.new(pub, hs.encode(), hashlib.sha256).digest()
            rc, out, err = run("verify", pubp, hs + "." + b64e(mac),
                               str(now))
            ok(rc == 1, "%s: credfs refuses HS256 with the public key as "
               "secret: %s" % (what, err))
finally:
    subprocess.run(["rm", "-rf", tmp])

tap.done()
