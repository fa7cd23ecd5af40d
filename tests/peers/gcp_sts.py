#!/usr/bin/env python3
"""Google Security Token Service emulator: POST /v1/token (token exchange).

Follows https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token:
the request is application/x-www-form-urlencoded (or JSON) with grant_type
urn:ietf:params:oauth:grant-type:token-exchange, audience (the workload
identity pool provider's full resource name), scope (space separated),
requested_token_type urn:ietf:params:oauth:token-type:access_token,
subject_token and subject_token_type (jwt or id_token for OIDC providers);
the answer is {"access_token", "issued_token_type", "token_type":"Bearer",
"expires_in"}; errors are OAuth 2.0 style {"error", "error_description"}
with status 400 (RFC 8693 2.2.2).

The subject JWT is verified like a workload identity pool OIDC provider
does: signature against the issuer's JWKS (fetched from the provider's
jwks_uri at each exchange, so rotated keys are seen), RS256 or ES256 only,
iss equal to the provider's issuer, aud one of its allowed audiences
(default: "https:" + the provider's resource name), exp in the future, iat
not in the future and the lifetime at most 24 h.

Config (--config JSON):
  {"providers": [{"audience": "//iam.googleapis.com/projects/123/locations/
     global/workloadIdentityPools/POOL/providers/PROV",
     "issuer": "http://127.0.0.1:P", "jwks_uri": "http://127.0.0.1:P/jwks",
     "allowed_audiences": ["..."]   (optional)
  }], "lifetime": 3600}
usage: gcp_sts.py --port N --log FILE --state DIR --config FILE
"""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcp_common as gc  # noqa: E402

import jwt  # noqa: E402  python3-jwt

GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
JWT_TYPES = ("urn:ietf:params:oauth:token-type:jwt",
             "urn:ietf:params:oauth:token-type:id_token")
ALL_TYPES = JWT_TYPES + ("urn:ietf:params:aws:token-type:aws4_request",
                         "urn:ietf:params:oauth:token-type:saml2",
                         ACCESS)


class Refused(Exception):
    def __init__(self, error, desc):
        super().__init__(desc)
        self.error, self.desc = error, desc


def fetch_jwks(uri):
    """The usable keys of the issuer's JWKS (one bad key does not hide the
    others, as with Google)."""
    with urllib.request.urlopen(uri, timeout=5) as r:
        doc = json.load(r)
    keys = []
    for k in doc.get("keys", []):
        try:
            keys.append(jwt.PyJWK.from_dict(k))
        except jwt.exceptions.PyJWTError:
            continue
    return keys


def verify_subject(prov, token):
    try:
        header = jwt.get_unverified_header(token)
    except jwt.exceptions.PyJWTError:
        raise Refused("invalid_grant", "Unable to parse the ID Token.")
    alg = header.get("alg")
    if alg not in ("RS256", "ES256"):
        raise Refused("invalid_grant",
                      "Invalid ID Token: the signing algorithm %s is not "
                      "supported." % json.dumps(str(alg))[1:-1][:20])
    try:
        keys = fetch_jwks(prov["jwks_uri"])
    except Exception as ex:
        raise Refused("invalid_grant", "Unable to retrieve the JWKS from "
                      "the issuer: %s." % type(ex).__name__)
    kid = header.get("kid")
    cands = [k for k in keys if kid is None or k.key_id == kid]
    if not cands:
        raise Refused("invalid_grant", "The key ID %s in the ID Token is "
                      "not in the issuer's JWKS." % kid)
    audiences = prov.get("allowed_audiences") or \
        ["https:" + prov["audience"]]
    claims = None
    for k in cands:
        try:
            claims = jwt.decode(token, k.key, algorithms=[alg],
                                options={"verify_aud": False,
                                         "verify_exp": False,
                                         "verify_iat": False,
                                         "verify_nbf": False})
            break
        except jwt.exceptions.InvalidSignatureError:
            continue
        except jwt.exceptions.PyJWTError:
            raise Refused("invalid_grant", "Unable to parse the ID Token.")
    if claims is None:
        raise Refused("invalid_grant", "Invalid ID Token: the signature "
                      "could not be verified.")
    now = time.time()
    if claims.get("iss") != prov["issuer"]:
        raise Refused("invalid_grant", "The issuer in ID Token %s does not "
                      "match the expected ones." % claims.get("iss"))
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if not any(a in audiences for a in auds):
        raise Refused("invalid_grant", "The audience in ID Token [%s] does "
                      "not match the expected audience." %
                      ", ".join(str(a) for a in auds))
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
        raise Refused("invalid_grant", "The ID Token must have exp and iat "
                      "claims.")
    if exp <= now:
        raise Refused("invalid_grant", "ID Token expired at %d." % exp)
    if iat > now + 300:
        raise Refused("invalid_grant", "ID Token issued at %d is in the "
                      "future." % iat)
    if exp - iat > 86400:
        raise Refused("invalid_grant", "ID Token lifetime exceeds 24 "
                      "hours.")
    if not claims.get("sub"):
        raise Refused("invalid_grant", "The ID Token has no sub claim.")
    return claims


class STS(gc.Handler):
    service = "sts"
    config = None
    tokens = None

    def route(self, method):
        if method != "POST" or self.path.split("?")[0] != "/v1/token":
            self.reply(404, {"error": {"code": 404, "message": "Not Found",
                                       "status": "NOT_FOUND"}})
            return
        body, logged = self.parse_body()
        try:
            if body is None:
                raise Refused("invalid_request", "Request body is not "
                              "valid form or JSON.")
            body = {k.replace("Type", "_type").replace("Token", "_token")
                    .lower(): v for k, v in body.items()}
            for f in ("grant_type", "requested_token_type", "subject_token",
                      "subject_token_type"):
                if not body.get(f):
                    raise Refused("invalid_request",
                                  "Invalid value for \"%s\"." % f)
            if body["grant_type"] != GRANT:
                raise Refused("unsupported_grant_type", "Invalid value for "
                              "\"grant_type\".")
            if body["requested_token_type"] != ACCESS:
                raise Refused("invalid_request", "Invalid value for "
                              "\"requested_token_type\".")
            if body["subject_token_type"] not in ALL_TYPES:
                raise Refused("invalid_request", "Invalid value for "
                              "\"subject_token_type\".")
            prov = next((p for p in self.config["providers"]
                         if p["audience"] == body.get("audience")), None)
            if prov is None:
                raise Refused("invalid_target", "The target service "
                              "indicated by the \"audience\" parameters is "
                              "invalid. This might either be because the "
                              "pool or provider is disabled or deleted or "
                              "because it doesn't exist.")
            if body["subject_token_type"] not in JWT_TYPES:
                raise Refused("invalid_request", "The subject_token_type "
                              "does not match the provider's type (OIDC).")
            claims = verify_subject(prov, body["subject_token"])
        except Refused as r:
            self.reply(400, {"error": r.error, "error_description": r.desc},
                       logged, r.error)
            return
        pool = prov["audience"].split("/providers/")[0]
        principal = "principal:%s/subject/%s" % (pool, claims["sub"])
        life = int(self.config.get("lifetime", 3600))
        tok = self.tokens.issue(principal, body.get("scope", ""), life,
                                "sts")
        logged["_principal"] = principal
        self.reply(200, {"access_token": tok, "issued_token_type": ACCESS,
                         "token_type": "Bearer", "expires_in": life - 1},
                   logged)


def main():
    a = gc.args(__doc__.split("\n")[0])
    STS.config = gc.load_config(a.config)
    STS.tokens = gc.Tokens(a.state)
    gc.serve(STS, a.port, a.log)


if __name__ == "__main__":
    main()
