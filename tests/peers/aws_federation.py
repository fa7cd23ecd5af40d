#!/usr/bin/env python3
"""AWS federation endpoint emulator (signin.aws.amazon.com/federation).

Follows "Enable custom identity broker access to the AWS console"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/
id_roles_providers_enable-console-custom-url.html):

  GET or POST /federation  Action=getSigninToken
      Session          JSON {"sessionId", "sessionKey", "sessionToken"}: the
                       access key id, secret key and session token of
                       temporary credentials
      SessionDuration  optional, 900..43200 seconds
    -> 200 {"SigninToken": "..."}
  GET /federation  Action=login&Issuer=..&Destination=URL&SigninToken=..
    -> 302 to Destination (the console), with a session cookie

What the real endpoint refuses is refused with 400 and a small HTML page (it
says no more): a missing or malformed Session, a field missing or not a
string, a SessionDuration out of range, credentials that are not valid (the
emulator asks the STS it is given, moto_server, GetCallerIdentity with
them, so a wrong key, secret or session token fails), and credentials that
are not a role session or federated user (GetSessionToken credentials, a
user's long-lived keys: the console takes neither).  Action=login with an
unknown or expired (15 minutes) token, or without a Destination, is 400.

Log (--log): one JSON line per request: action, status, the session's arn,
the field names it got, and for the secrets only {"sha256", "len"}.

usage: aws_federation.py --port N --sts URL [--log FILE]
Binds 127.0.0.1, prints its port on stdout once it listens.
"""
import argparse
import hashlib
import http.server
import json
import secrets
import sys
import threading
import time
import urllib.parse

import boto3
import botocore.config
import botocore.exceptions

TOKEN_LIFETIME = 15 * 60
CFG = botocore.config.Config(retries={"max_attempts": 1})


def fingerprint(s):
    return {"sha256": hashlib.sha256(s.encode()).hexdigest(), "len": len(s)}


class Refused(Exception):
    pass


class Federation:
    def __init__(self, sts_url, log):
        self.sts_url = sts_url
        self.log = log
        self.tokens = {}  # token -> (arn, expiry)
        self.lock = threading.Lock()

    def record(self, entry):
        if not self.log:
            return
        with self.lock, open(self.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def caller_arn(self, ak, sk, tok):
        sts = boto3.client("sts", endpoint_url=self.sts_url,
                           region_name="us-east-1", aws_access_key_id=ak,
                           aws_secret_access_key=sk, aws_session_token=tok,
                           config=CFG)
        try:
            return sts.get_caller_identity()["Arn"]
        except botocore.exceptions.ClientError as e:
            raise Refused("GetCallerIdentity: %s" % e.response["Error"]["Code"])

    def get_signin_token(self, q, entry):
        raw = q.get("Session")
        if raw is None:
            raise Refused("no Session")
        try:
            session = json.loads(raw)
        except ValueError:
            raise Refused("Session is not JSON")
        if not isinstance(session, dict):
            raise Refused("Session is not a JSON object")
        entry["fields"] = sorted(session)
        vals = []
        for k in ("sessionId", "sessionKey", "sessionToken"):
            v = session.get(k)
            if not isinstance(v, str) or not v:
                raise Refused("Session.%s missing" % k)
            vals.append(v)
        entry["session_id"] = vals[0]
        entry["session_key"] = fingerprint(vals[1])
        entry["session_token"] = fingerprint(vals[2])
        d = q.get("SessionDuration")
        if d is not None:
            if not d.isdigit() or not 900 <= int(d) <= 43200:
                raise Refused("SessionDuration out of range")
            entry["duration"] = int(d)
        arn = self.caller_arn(*vals)
        entry["arn"] = arn
        if ":assumed-role/" not in arn and ":federated-user/" not in arn:
            raise Refused("not a role session or federated user: " + arn)
        token = secrets.token_urlsafe(240)
        with self.lock:
            self.tokens[token] = (arn, time.time() + TOKEN_LIFETIME)
        entry["signin_token"] = fingerprint(token)
        return {"SigninToken": token}

    def login(self, q, entry):
        token, dest = q.get("SigninToken", ""), q.get("Destination")
        entry["issuer"] = q.get("Issuer")
        entry["destination"] = dest
        with self.lock:
            arn, exp = self.tokens.get(token, (None, 0))
        if not arn or time.time() > exp:
            raise Refused("unknown or expired SigninToken")
        if not dest or not dest.startswith(("https://", "http://")):
            raise Refused("no Destination")
        entry["arn"] = arn
        return dest


def handler(fed):
    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def params(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                body = self.rfile.read(n).decode("utf-8", "replace")
                q.update(urllib.parse.parse_qsl(body, keep_blank_values=True))
            return u.path, q

        def send(self, status, body, ctype, extra=()):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def serve(self):
            path, q = self.params()
            action = q.get("Action")
            entry = {"method": self.command, "path": path, "action": action}
            try:
                if path != "/federation":
                    raise Refused("no such path")
                if action == "getSigninToken":
                    out = fed.get_signin_token(q, entry)
                    self.send(200, json.dumps(out), "application/json")
                    entry["status"] = 200
                elif action == "login" and self.command == "GET":
                    dest = fed.login(q, entry)
                    self.send(302, "", "text/html",
                              [("Location", dest),
                               ("Set-Cookie", "aws-creds=emu; Secure")])
                    entry["status"] = 302
                else:
                    raise Refused("unknown Action")
            except Refused as e:
                entry["status"], entry["why"] = 400, str(e)
                self.send(400, "<html><body>Bad Request</body></html>",
                          "text/html")
            fed.record(entry)

        do_GET = serve
        do_POST = serve

    return H


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--sts", required=True)
    ap.add_argument("--log")
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port),
                                          handler(Federation(a.sts, a.log)))
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
