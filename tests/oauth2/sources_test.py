#!/usr/bin/env python3
"""The token sources: github-actions against an emulator of the Actions
OIDC token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN; GET
URL&audience=A with "Authorization: bearer T" -> {"count", "value"}),
and token-env.  TAP.

usage: sources_test.py PROVIDER_TOOL
"""
import errno
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oauth2_peers as op  # noqa: E402

try:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa
except ImportError as ex:
    op.skip_all("python3-jwt / python3-cryptography missing: %s" % ex)

T = op.Tap()
tmp = tempfile.mkdtemp(prefix="credfs-sources-")
tool = op.Tool(sys.argv[1], tmp)
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
REQ_TOKEN = "ghs_request_token_0123456789"
ISS = "https://token.actions.githubusercontent.com"
seen = []


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        seen.append(q)
        auth = self.headers.get("Authorization", "")
        if u.path != "/_apis/token" or q.get("api-version") != "2.0":
            status, body = 404, {"message": "Not Found"}
        elif auth.lower() != "bearer " + REQ_TOKEN.lower() or \
                auth[7:] != REQ_TOKEN:
            status, body = 401, {"message": "Bad credentials"}
        else:
            now = int(time.time())
            status, body = 200, {"count": 1, "value": jwt.encode(
                {"iss": ISS, "aud": q.get("audience", "https://github.com/o"),
                 "sub": "repo:o/r:ref:refs/heads/main", "iat": now,
                 "nbf": now, "exp": now + 300}, KEY, algorithm="RS256",
                headers={"kid": "gh1"})}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
URL = "http://127.0.0.1:%d/_apis/token?api-version=2.0" % \
    srv.server_address[1]


def fetch(envs, **kv):
    saved = tool.env
    tool.env = dict(saved, **envs)
    for k in ("ACTIONS_ID_TOKEN_REQUEST_URL",
              "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "CI_JWT"):
        if k not in envs:
            tool.env.pop(k, None)
    try:
        return tool.fetch("p", **kv)
    finally:
        tool.env = saved


gh = {"ACTIONS_ID_TOKEN_REQUEST_URL": URL,
      "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQ_TOKEN}
try:
    res = fetch(gh, provider="github-actions", audience="sts.amazonaws.com")
    tok = res["fields"].get("token", "")
    c = {}
    try:
        c = jwt.decode(tok, KEY.public_key(), algorithms=["RS256"],
                       audience="sts.amazonaws.com", issuer=ISS)
    except jwt.PyJWTError as ex:
        T.note(repr(ex))
    T.ok(res["r"] == 0 and c.get("sub") == "repo:o/r:ref:refs/heads/main"
         and res["exp"] == c["exp"] and res["fields"]["id_token"] == tok and
         seen[-1].get("audience") == "sts.amazonaws.com",
         "github-actions: the job token for the audience, expiring at its "
         "exp: %s" % res["msg"])
    res = fetch(gh, provider="github-actions")
    T.ok(res["r"] == 0 and "audience" not in seen[-1],
         "github-actions: no audience: GitHub's default: %s" % res["msg"])
    res = fetch(dict(gh, ACTIONS_ID_TOKEN_REQUEST_TOKEN="wrong"),
                provider="github-actions")
    T.ok(res["r"] == -errno.EKEYREJECTED and
         "HTTP 401: Bad credentials" in res["msg"] and
         "wrong" not in res["msg"],
         "github-actions: a bad request token: %s" % res["msg"])
    res = fetch({}, provider="github-actions")
    T.ok(res["r"] == -errno.ENOKEY and "id-token: write" in res["msg"],
         "github-actions outside a job: %s" % res["msg"])

    now = int(time.time())
    good = jwt.encode({"iss": "ci", "exp": now + 600}, KEY,
                      algorithm="RS256")
    res = fetch({"CI_JWT": good}, provider="token-env", env="CI_JWT")
    T.ok(res["r"] == 0 and res["fields"]["token"] == good and
         res["exp"] == now + 600, "token-env: %s" % res["msg"])
    res = fetch({"CI_JWT": jwt.encode({"exp": now - 5}, KEY,
                                      algorithm="RS256")},
                provider="token-env", env="CI_JWT")
    T.ok(res["r"] == -errno.EKEYEXPIRED and "expired" in res["msg"],
         "token-env: an expired JWT: %s" % res["msg"])
    res = fetch({"CI_JWT": "not-a-jwt"}, provider="token-env", env="CI_JWT")
    T.ok(res["r"] == -errno.EBADMSG and "not-a-jwt" not in res["msg"],
         "token-env: not a JWT: %s" % res["msg"])
    res = fetch({}, provider="token-env", env="CI_JWT")
    T.ok(res["r"] == -errno.ENOKEY and "CI_JWT is not set" in res["msg"],
         "token-env: unset: %s" % res["msg"])
finally:
    srv.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
T.done()
