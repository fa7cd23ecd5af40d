#!/usr/bin/env python3
"""Google OAuth 2.0 token endpoint emulator: POST /token.

Follows https://developers.google.com/identity/protocols/oauth2/service-account
("Preparing to make an authorized API call", HTTP/REST) and the web-server
flow's refresh: application/x-www-form-urlencoded with
  grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, assertion=JWT
    (RS256, header kid = private_key_id, claims iss = client_email, scope
    space separated, aud = the token URL, iat, exp at most 1 h after iat,
    optional sub for domain-wide delegation, or target_audience for an ID
    token), answered {"access_token", "expires_in", "token_type":"Bearer"}
    or {"id_token"};
  grant_type=refresh_token with client_id, client_secret, refresh_token,
    answered {"access_token", "expires_in", "scope", "token_type"}.
Errors are {"error", "error_description"}: 400 invalid_grant (bad
signature, bad times, unknown account or key, revoked refresh token),
400 invalid_scope, 401 unauthorized_client (delegation not allowed),
401 invalid_client (unknown client or wrong secret), 400
unsupported_grant_type, 400 invalid_request.

Config (--config JSON):
  {"token_uri": "http://127.0.0.1:P/token" (the aud assertions must carry;
     "https://oauth2.googleapis.com/token" is accepted too),
   "service_accounts": [{"client_email": "...", "keys": {"KID": "PUBLIC
     PEM"}, "domain_wide_delegation": false, "disabled": false}],
   "clients": [{"client_id": "...", "client_secret": "...",
     "refresh_tokens": ["..."]}], "lifetime": 3600}
The config file is re-read at each request, so a test revokes a key or a
refresh token by rewriting it.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gcp_common as gc  # noqa: E402

import jwt  # noqa: E402

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


class Refused(Exception):
    def __init__(self, status, error, desc):
        super().__init__(desc)
        self.status, self.error, self.desc = status, error, desc


def jwt_bearer(cfg, tokens, assertion):
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature":
                                                    False})
    except jwt.exceptions.PyJWTError:
        raise Refused(400, "invalid_grant", "Invalid JWT: Unable to parse "
                      "the assertion.")
    if header.get("alg") != "RS256":
        raise Refused(400, "invalid_grant", "Invalid JWT Signature.")
    sa = next((s for s in cfg.get("service_accounts", [])
               if s["client_email"] == unverified.get("iss")), None)
    if sa is None or sa.get("disabled"):
        raise Refused(400, "invalid_grant", "Invalid grant: account not "
                      "found")
    kid = header.get("kid")
    keys = sa["keys"]
    if kid is not None and kid not in keys:
        raise Refused(400, "invalid_grant", "Invalid JWT Signature.")
    cands = [keys[kid]] if kid is not None else list(keys.values())
    claims = None
    for pem in cands:
        try:
            claims = jwt.decode(assertion, pem, algorithms=["RS256"],
                                options={"verify_aud": False,
                                         "verify_exp": False,
                                         "verify_iat": False})
            break
        except jwt.exceptions.InvalidSignatureError:
            continue
        except jwt.exceptions.PyJWTError:
            break
    if claims is None:
        raise Refused(400, "invalid_grant", "Invalid JWT Signature.")
    auds = (cfg.get("token_uri"), GOOGLE_TOKEN_URI)
    if claims.get("aud") not in auds:
        raise Refused(400, "invalid_grant", "Invalid JWT: Failed audience "
                      "check. The right audience is %s" % cfg.get("token_uri"))
    now = time.time()
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, (int, float)) or not isinstance(exp, (int, float)) \
            or exp - iat > 3600 or exp <= now or iat > now + 300 or \
            iat > exp:
        raise Refused(400, "invalid_grant", "Invalid JWT: Token must be a "
                      "short-lived token (60 minutes) and in a reasonable "
                      "timeframe. Check your iat and exp values in the JWT "
                      "claim.")
    life = int(cfg.get("lifetime", 3600))
    if claims.get("target_audience"):
        idt = {"iss": "https://accounts.google.com",
               "aud": claims["target_audience"], "sub": sa["client_email"],
               "email": sa["client_email"], "iat": int(now),
               "exp": int(now) + 3600}
        return {"id_token": jwt.encode(idt, "emulator-id-token-key",
                                       algorithm="HS256")}, sa
    scope = claims.get("scope")
    if not isinstance(scope, str) or not scope.strip():
        raise Refused(400, "invalid_scope", "Invalid OAuth scope or ID "
                      "token audience provided.")
    principal = sa["client_email"]
    if claims.get("sub") and claims["sub"] != sa["client_email"]:
        if not sa.get("domain_wide_delegation"):
            raise Refused(401, "unauthorized_client", "Client is "
                          "unauthorized to retrieve access tokens using "
                          "this method, or client not authorized for any "
                          "of the scopes requested.")
        principal = claims["sub"]
    return {"access_token": tokens.issue(principal, scope, life, "oauth2"),
            "expires_in": life - 1, "token_type": "Bearer"}, principal


def refresh(cfg, tokens, body):
    cl = next((c for c in cfg.get("clients", [])
               if c["client_id"] == body.get("client_id")), None)
    if cl is None:
        raise Refused(401, "invalid_client", "The OAuth client was not "
                      "found.")
    if body.get("client_secret") != cl["client_secret"]:
        raise Refused(401, "invalid_client", "Unauthorized")
    if body.get("refresh_token") not in cl.get("refresh_tokens", []):
        raise Refused(400, "invalid_grant", "Token has been expired or "
                      "revoked.")
    life = int(cfg.get("lifetime", 3600))
    scope = cl.get("scope", "https://www.googleapis.com/auth/cloud-platform")
    who = cl.get("user", "user@example.com")
    return {"access_token": tokens.issue(who, scope, life, "oauth2"),
            "expires_in": life - 1, "scope": scope,
            "token_type": "Bearer"}, who


class Token(gc.Handler):
    service = "oauth2"
    config_path = None
    tokens = None

    def route(self, method):
        if method != "POST" or self.path.split("?")[0] != "/token":
            self.reply(404, {"error": "not_found",
                             "error_description": "Not Found"})
            return
        body, logged = self.parse_body()
        cfg = gc.load_config(self.config_path)
        try:
            if body is None or not body.get("grant_type"):
                raise Refused(400, "invalid_request", "Missing required "
                              "parameter: grant_type")
            g = body["grant_type"]
            if g == JWT_BEARER:
                if not body.get("assertion"):
                    raise Refused(400, "invalid_request", "Missing required "
                                  "parameter: assertion")
                out, who = jwt_bearer(cfg, self.tokens, body["assertion"])
            elif g == "refresh_token":
                out, who = refresh(cfg, self.tokens, body)
            else:
                raise Refused(400, "unsupported_grant_type", "Invalid "
                              "grant_type: %s" % g[:80])
        except Refused as r:
            self.reply(r.status, {"error": r.error,
                                  "error_description": r.desc},
                       logged, r.error)
            return
        logged["_principal"] = who if isinstance(who, str) else \
            who.get("client_email")
        self.reply(200, out, logged)


def main():
    a = gc.args(__doc__.split("\n")[0])
    gc.load_config(a.config)
    Token.config_path = a.config
    Token.tokens = gc.Tokens(a.state)
    gc.serve(Token, a.port, a.log)


if __name__ == "__main__":
    main()
