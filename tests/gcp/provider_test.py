#!/usr/bin/env python3
"""Runs test_providers (the GCP providers in C) against the emulators of
tests/peers and a hostile server, then checks what the emulators saw.

usage: provider_test.py TEST_GCP_PROVIDERS_BINARY

Starts, on free loopback ports: the STS, IAM Credentials and OAuth2 token
emulators, an OIDC issuer of subject tokens, and a server that answers
garbage, wrong types, huge values and control characters.  Writes the key
and token files the C test reads, runs it (its TAP renumbered into ours),
then checks in the emulators' logs that credfs sent exactly the subject
token of the file, Google's form fields, and that no secret was logged.
Everything it starts is killed on exit.  TAP.
"""
import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))
import tap  # noqa: E402
from tap import ok  # noqa: E402
try:
    import gcp_peers
except ImportError as ex:
    tap.skip_all("python3-jwt / python3-cryptography missing: %s" % ex)

HOSTILE = {
    "/garbage": (200, b"<html>Welcome to nginx</html>"),
    "/array": (200, b'["access_token"]'),
    "/missing": (200, b'{"token_type":"Bearer","expires_in":3599}'),
    "/notstring": (200, b'{"access_token":{"a":1},"expires_in":3599}'),
    "/huge": (200, json.dumps({"access_token": "y" * 20000,
                               "expires_in": 3599}).encode()),
    "/control": (200, b'{"access_token":"ya29.a\\nb","expires_in":3599}'),
    "/noexpiry": (200, b'{"access_token":"ya29.x"}'),
    "/hugeexpiry": (200, b'{"access_token":"ya29.x","expires_in":1e300}'),
    "/negexpiry": (200, b'{"access_token":"ya29.x","expires_in":-5}'),
    "/html500": (503, b"<html>Service Unavailable</html>"),
    "/errctl": (400, b'{"error":"invalid_grant\\u0007","error_description":'
                b'"line one\\nline two\\u001b[31m"}'),
    "/errlong": (400, json.dumps({"error": "invalid_grant",
                                  "error_description": "x" * 5000}).encode()),
    "/errenv": (403, b'{"error":{"code":403,"message":"denied",'
                b'"status":"PERMISSION_DENIED"}}'),
    "/errnojson": (418, b"I'm a teapot"),
}


class Hostile(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path
        if path.startswith("/iam/"):
            status, body = 200, json.dumps(
                {"accessToken": "ya29.x",
                 "expireTime": "tomorrow"}).encode()
        else:
            status, body = HOSTILE.get(path, (404, b"{}"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    binary = sys.argv[1]
    P = gcp_peers.Peers(prefix="credfs-gcp-prov-").start(mock=False)
    hostile = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    threading.Thread(target=hostile.serve_forever, daemon=True).start()
    try:
        run(P, binary, "http://127.0.0.1:%d" % hostile.server_address[1])
    finally:
        hostile.shutdown()
        P.close()
    return tap.finish()


def secret(P, name, obj, mode=0o600):
    path = P.write_json(name, obj)
    os.chmod(path, mode)
    return path


def run(P, binary, hostile):
    iss = P.issuer
    out = P.path("out")
    os.mkdir(out)
    good = iss.token()
    src_jwt = iss.token(alg="ES256")
    stranger = gcp_peers.rsa.generate_private_key(public_exponent=65537,
                                                  key_size=2048)
    sa = P.sa_info()
    nokey = dict(sa)
    del nokey["private_key"]
    gone = dict(sa, client_email="gone@credfs-test.iam.gserviceaccount.com")
    user = {"type": "authorized_user", "client_id": P.client["client_id"],
            "client_secret": P.client["client_secret"],
            "refresh_token": P.client["refresh_tokens"][0]}
    env = dict(os.environ,
               TOKEN_URL=P.token_uri, STS_URL=P.sts + "/v1/token",
               IAM_URL=P.iam, HOSTILE_URL=hostile,
               DOWN_URL="http://127.0.0.1:%d/token" % free_port(),
               AUDIENCE=gcp_peers.AUDIENCE, SA_EMAIL=P.sa_email,
               TARGET_SA=P.target_sa, DELEGATE_SA=P.delegate_sa,
               SA_KEY_FILE=secret(P, "sa.json", sa),
               SA_BADKEY_FILE=secret(P, "sa-bad.json",
                                     P.sa_info(key=stranger)),
               SA_GONE_FILE=secret(P, "sa-gone.json", gone),
               SA_OPEN_FILE=secret(P, "sa-open.json", sa, 0o644),
               SA_NOKEY_FILE=secret(P, "sa-nokey.json", nokey),
               USER_FILE=secret(P, "user.json", user),
               USER_REVOKED_FILE=secret(P, "user-revoked.json", dict(
                   user, refresh_token="1//revoked")),
               USER_BADSECRET_FILE=secret(P, "user-bad.json", dict(
                   user, client_secret="wrong")),
               SUBJECT_FILE=P.write_json("subject.jwt", None),
               SUBJECT_WRONG_AUD_FILE=P.path("wrong-aud.jwt"),
               SUBJECT_EXPIRED_FILE=P.path("expired.jwt"),
               SUBJECT_UNSIGNED_FILE=P.path("unsigned.jwt"),
               SUBJECT_JWT=src_jwt, OUT_DIR=out)
    # A token file as credfs serves it (no newline) and one as a human
    # writes it (a newline): both must reach STS as the bare JWT.
    with open(env["SUBJECT_FILE"], "w") as f:
        f.write(good + "\n")
    for name, tok in (("wrong-aud.jwt",
                       iss.token(aud="https://elsewhere.example")),
                      ("expired.jwt", iss.token(iat=int(time.time()) - 900,
                                                life=300)),
                      ("unsigned.jwt", iss.token(alg="none"))):
        with open(P.path(name), "w") as f:
            f.write(tok)

    p = subprocess.run([binary], env=env, capture_output=True, text=True,
                       timeout=240)
    for line in p.stdout.splitlines():
        if line.startswith("ok ") or line.startswith("not ok "):
            good_line = line.startswith("ok ")
            ok(good_line, line.split(" - ", 1)[1] if " - " in line else line)
        elif line.startswith("#"):
            print(line)
    ok(p.returncode == 0 and "1.." in p.stdout,
       "test-gcp-providers ran to its end (exit %d)%s" % (
           p.returncode, (": " + p.stderr[-300:]) if p.stderr else ""))

    # What the emulators saw.
    sts = P.log("sts")
    fp = hashlib.sha256(good.encode()).hexdigest()
    sent = [e for e in sts if e["fields"].get("subject_token", {})
            .get("sha256") == fp]
    ok(sent and all(e["fields"]["subject_token"]["len"] == len(good)
                    for e in sent),
       "STS received exactly the token_file's JWT, trimmed (%d calls)" %
       len(sent))
    fp_src = hashlib.sha256(src_jwt.encode()).hexdigest()
    ok(any(e["fields"].get("subject_token", {}).get("sha256") == fp_src
           for e in sts), "STS received the source profile's id_token")
    e = sts[0]
    ok(e["content_type"] == "application/x-www-form-urlencoded" and
       e["fields"]["grant_type"] ==
       "urn:ietf:params:oauth:grant-type:token-exchange" and
       e["fields"]["requested_token_type"] ==
       "urn:ietf:params:oauth:token-type:access_token" and
       e["fields"]["subject_token_type"] ==
       "urn:ietf:params:oauth:token-type:jwt" and
       e["fields"]["scope"] ==
       "https://www.googleapis.com/auth/cloud-platform",
       "STS request: Google's form fields and token types")
    imp = [e for e in P.log("iam") if e["status"] == 200 and
           e["path"].endswith(":generateAccessToken")]
    ok(any(e["fields"].get("lifetime") == "1200s" and
           e["fields"].get("scope") ==
           ["https://www.googleapis.com/auth/devstorage.read_only"]
           for e in imp),
       "IAM request of the external account: scope list and lifetime "
       "1200s")
    ok(any(e["fields"].get("delegates") ==
           ["projects/-/serviceAccounts/" + P.delegate_sa] and
           e["fields"].get("lifetime") == "1800s" for e in imp),
       "IAM request of gcp-impersonate: delegates as resource names, "
       "lifetime 1800s")
    tok = P.log("oauth2")
    jb = [e for e in tok if e["fields"].get("grant_type") ==
          "urn:ietf:params:oauth:grant-type:jwt-bearer"]
    ok(jb and jb[0]["status"] == 200 and
       jb[0]["content_type"] == "application/x-www-form-urlencoded",
       "token endpoint: the JWT-bearer grant as a form")
    ok(any(e["fields"].get("_principal") == "bob@example.com"
           for e in jb),
       "token endpoint: the delegated subject reached it")
    idt = open(os.path.join(out, "id_token")).read() \
        if os.path.exists(os.path.join(out, "id_token")) else ""
    claims = gcp_peers.jwt.decode(idt, options={"verify_signature": False}) \
        if idt else {}
    ok(claims.get("aud") == "https://run.example" and
       claims.get("email") == P.target_sa,
       "id_token credfs served names the audience and the account")
    raw = "".join(open(P.logs[k]).read() for k in P.logs)
    ok(good not in raw and P.client["client_secret"] not in raw and
       P.client["refresh_tokens"][0] not in raw and "PRIVATE KEY" not in raw,
       "no subject token, key, client secret or refresh token in any "
       "emulator log")


if __name__ == "__main__":
    sys.exit(main())
