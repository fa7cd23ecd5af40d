#!/usr/bin/env python3
"""IAM Service Account Credentials API emulator.

Follows https://cloud.google.com/iam/docs/reference/credentials/rest:
  POST /v1/projects/-/serviceAccounts/{email}:generateAccessToken
    body {"delegates": [...], "scope": [...], "lifetime": "3600s"}
    -> {"accessToken", "expireTime" (RFC 3339)}
  POST /v1/projects/-/serviceAccounts/{email}:generateIdToken
    body {"delegates": [...], "audience", "includeEmail"}
    -> {"token"} (an RS256 JWT; its JWKS at GET /v1/certs)
authorised by "Authorization: Bearer" with a token the STS or OAuth2
emulator issued.  Errors use Google's envelope {"error": {"code",
"message", "status", "details"}}: 401 UNAUTHENTICATED (no or bad token),
403 PERMISSION_DENIED (the caller is not a token creator on the account or
on a delegate), 404 NOT_FOUND (no such account), 400 INVALID_ARGUMENT (bad
lifetime, no scope, no audience, bad JSON).

Config (--config JSON, re-read at each request):
  {"service_accounts": {"EMAIL": {"token_creators": ["PRINCIPAL", "*"],
     "max_lifetime": 3600}}}
"""
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcp_common as gc  # noqa: E402

import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

PATH = re.compile(r"^/v1/projects/-/serviceAccounts/([^/:]+):"
                  r"(generateAccessToken|generateIdToken)$")
UNAUTH = ("Request had invalid authentication credentials. Expected OAuth 2 "
          "access token, login cookie or other valid authentication "
          "credential. See https://developers.google.com/identity/sign-in/"
          "web/devconsole-project.")


class Refused(Exception):
    def __init__(self, code, status, message, details=None):
        super().__init__(message)
        self.code, self.status, self.message = code, status, message
        self.details = details


def denied(perm):
    return Refused(403, "PERMISSION_DENIED",
                   "Permission '%s' denied on resource (or it may not "
                   "exist)." % perm,
                   [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "IAM_PERMISSION_DENIED",
                     "domain": "iam.googleapis.com",
                     "metadata": {"permission": perm}}])


LIFETIME = re.compile(r"^([0-9]{1,6})(\.[0-9]{1,9})?s$")


class IAM(gc.Handler):
    service = "iamcredentials"
    config_path = None
    tokens = None
    key = None
    kid = None

    def route(self, method):
        path = urllib.parse.unquote(self.path.split("?")[0])
        if method == "GET" and path == "/v1/certs":
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(
                self.key.public_key()))
            jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
            self.reply(200, {"keys": [jwk]})
            return
        m = PATH.match(path) if method == "POST" else None
        if not m:
            self.reply(404, {"error": {"code": 404, "message": "Not Found",
                                       "status": "NOT_FOUND"}})
            return
        body, logged = self.parse_body()
        email, verb = m.group(1), m.group(2)
        try:
            out = self.generate(email, verb, body)
        except Refused as r:
            err = {"code": r.code, "message": r.message, "status": r.status}
            if r.details:
                err["details"] = r.details
            self.reply(r.code, {"error": err}, logged, r.status)
            return
        self.reply(200, out, logged)

    def generate(self, email, verb, body):
        cfg = gc.load_config(self.config_path)
        tok = self.bearer()
        claims = self.tokens.check(tok) if tok else None
        if claims is None:
            raise Refused(401, "UNAUTHENTICATED", UNAUTH)
        if body is None:
            raise Refused(400, "INVALID_ARGUMENT", "Invalid JSON payload "
                          "received.")
        accounts = cfg.get("service_accounts", {})
        perm = "iam.serviceAccounts.getAccessToken" if \
            verb == "generateAccessToken" else \
            "iam.serviceAccounts.getOpenIdToken"
        delegates = body.get("delegates") or []
        if not isinstance(delegates, list):
            raise Refused(400, "INVALID_ARGUMENT", "Invalid value at "
                          "'delegates'.")
        chain = [d.rsplit("/", 1)[-1] for d in delegates] + [email]
        caller = claims["sub"]
        for target in chain:
            sa = accounts.get(target)
            if sa is None:
                if target == email:
                    raise Refused(404, "NOT_FOUND", "Not found; Gaia id not "
                                  "found for email %s" % target)
                raise denied("iam.serviceAccounts.getAccessToken")
            creators = sa.get("token_creators", [])
            if caller not in creators and "*" not in creators:
                raise denied(perm if target == email else
                             "iam.serviceAccounts.getAccessToken")
            caller = target
        now = int(time.time())
        if verb == "generateAccessToken":
            scope = body.get("scope")
            if not isinstance(scope, list) or not scope:
                raise Refused(400, "INVALID_ARGUMENT", "Scope required.")
            life = 3600
            if body.get("lifetime") is not None:
                lm = LIFETIME.match(str(body["lifetime"]))
                if not lm:
                    raise Refused(400, "INVALID_ARGUMENT", "Invalid value at "
                                  "'lifetime' (type.googleapis.com/"
                                  "google.protobuf.Duration), Field "
                                  "'lifetime', Illegal duration format; "
                                  "duration must end with 's'")
                life = int(lm.group(1))
            maxl = int(accounts[email].get("max_lifetime", 3600))
            if life < 1 or life > maxl:
                raise Refused(400, "INVALID_ARGUMENT", "The lifetime must "
                              "be between 1s and %ds." % maxl)
            return {"accessToken": self.tokens.issue(email, " ".join(scope),
                                                     life, "iam"),
                    "expireTime": gc.rfc3339(now + life)}
        aud = body.get("audience")
        if not isinstance(aud, str) or not aud:
            raise Refused(400, "INVALID_ARGUMENT", "Invalid audience.")
        idc = {"iss": "https://accounts.google.com", "aud": aud,
               "azp": email, "sub": str(abs(hash(email)) % 10**21),
               "iat": now, "exp": now + 3600}
        if body.get("includeEmail"):
            idc.update({"email": email, "email_verified": True})
        return {"token": jwt.encode(idc, self.key, algorithm="RS256",
                                    headers={"kid": self.kid})}


def main():
    a = gc.args(__doc__.split("\n")[0])
    gc.load_config(a.config)
    IAM.config_path = a.config
    IAM.tokens = gc.Tokens(a.state)
    IAM.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = IAM.key.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    IAM.kid = gc.fingerprint(der)["sha256"][:16]
    gc.serve(IAM, a.port, a.log)


if __name__ == "__main__":
    main()
