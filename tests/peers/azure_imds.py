#!/usr/bin/env python3
"""Azure Instance Metadata Service (managed identity tokens) and Key Vault
secrets, after Microsoft's REST reference:

  GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R
      [&client_id=ID]   header Metadata: true
      -> {"access_token","client_id","expires_in":"86399","expires_on",
          "ext_expires_in","not_before","resource","token_type":"Bearer"}
      (400 invalid_request without the header or api-version, or for an
      identity the VM does not have; more than one identity and no
      client_id: 400 too)
  GET /secrets/NAME[/VERSION]?api-version=7.4   Authorization: Bearer
      -> {"value","id","attributes":{"enabled","created","updated"[,"exp"]}}
      (401 Unauthorized for a missing or unknown token or one for another
      resource; 404 SecretNotFound; 400 BadParameter for api-version)

Config (--config FILE, JSON, re-read at each request):
  {"identities": ["CLIENT_ID", ...], "secrets": {"NAME": {"VERSION":
   "value", ...}}, "latest": {"NAME": "VERSION"}, "disabled": ["NAME"]}
usage: azure_imds.py --config FILE [--port N] [--log FILE]
Binds 127.0.0.1, prints its port.  The log holds token hashes only.
"""
import argparse
import hashlib
import http.server
import json
import secrets
import sys
import time
import urllib.parse

KV_RESOURCE = "https://vault.azure.net"
tokens = {}  # access token -> (client_id, resource)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log")
    a = ap.parse_args()

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, body, entry):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            if a.log:
                entry.update(status=status, path=self.path.split("?")[0])
                with open(a.log, "a") as f:
                    f.write(json.dumps(entry) + "\n")

        def do_GET(self):
            with open(a.config) as f:
                cfg = json.load(f)
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            if u.path == "/metadata/identity/oauth2/token":
                return self.imds(cfg, q)
            if u.path.startswith("/secrets/"):
                return self.kv(cfg, u.path.split("/")[2:], q)
            self.reply(404, {"error": "not_found"}, {})

        def imds(self, cfg, q):
            bad = lambda d: self.reply(  # noqa: E731
                400, {"error": "invalid_request", "error_description": d},
                {"imds": True})
            if self.headers.get("Metadata") != "true":
                return bad("Required metadata header not specified")
            if q.get("api-version") != "2018-02-01":
                return bad("Required queryparam 'api-version' not "
                           "specified" if "api-version" not in q else
                           "Invalid api-version")
            if not q.get("resource"):
                return bad("Required queryparam 'resource' not specified")
            ids = cfg.get("identities", [])
            cid = q.get("client_id")
            if cid is None:
                if len(ids) != 1:
                    return bad("Multiple user assigned identities exist, "
                               "please specify the clientId / resourceId "
                               "of the identity in the token request")
                cid = ids[0]
            if cid not in ids:
                return bad("Identity not found")
            tok = "imds." + secrets.token_urlsafe(32)
            tokens[tok] = (cid, q["resource"].rstrip("/"))
            now = int(time.time())
            self.reply(200, {
                "access_token": tok, "client_id": cid,
                "expires_in": "86399", "expires_on": str(now + 86399),
                "ext_expires_in": "86399", "not_before": str(now),
                "resource": q["resource"], "token_type": "Bearer"},
                {"imds": True, "client_id": cid,
                 "token_sha256": hashlib.sha256(tok.encode()).hexdigest()})

        def kv(self, cfg, parts, q):
            auth = self.headers.get("Authorization", "")
            tok = auth[7:] if auth.startswith("Bearer ") else ""
            ent = {"kv": True,
                   "token_sha256": hashlib.sha256(tok.encode()).hexdigest()}
            if tok not in tokens or tokens[tok][1] != KV_RESOURCE:
                return self.reply(401, {"error": {
                    "code": "Unauthorized",
                    "message": "AKV10000: Request is missing a Bearer or "
                               "PoP token."}}, ent)
            if q.get("api-version") != "7.4":
                return self.reply(400, {"error": {
                    "code": "BadParameter",
                    "message": "The specified version (%s) is not "
                               "recognized." % q.get("api-version")}}, ent)
            name = parts[0] if parts else ""
            vers = cfg.get("secrets", {}).get(name, {})
            ver = parts[1] if len(parts) > 1 and parts[1] else \
                cfg.get("latest", {}).get(name)
            if ver not in vers:
                return self.reply(404, {"error": {
                    "code": "SecretNotFound",
                    "message": "A secret with (name/id) %s was not found "
                               "in this key vault." % name}}, ent)
            now = int(time.time())
            self.reply(200, {
                "value": vers[ver],
                "id": "https://vault.example/secrets/%s/%s" % (name, ver),
                "attributes": {"enabled": name not in cfg.get(
                    "disabled", []), "created": now, "updated": now}}, ent)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), H)
    print(srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
