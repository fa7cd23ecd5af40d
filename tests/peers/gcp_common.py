"""Shared plumbing of the Google API emulators in tests/peers.

Each emulator is a stdlib ThreadingHTTPServer bound to 127.0.0.1 on the
port given on its command line (0: any free one), prints that port on
stdout once it listens, and appends one JSON line per request to its log
file: method, path, status, the names of the form or JSON fields, and, for
the fields and headers that carry secrets (tokens, assertions, client
secrets, Authorization), only their sha256 and length, never the value.

Access tokens the emulators issue are "ya29.emu." + base64url(claims) +
"." + base64url(HMAC-SHA256) with a key shared through the state
directory, so the IAM Credentials emulator accepts the tokens the STS and
OAuth2 emulators issued without talking to them.
"""
import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

SECRET_FIELDS = {"subject_token", "assertion", "client_secret",
                 "refresh_token", "access_token", "code", "authorization",
                 "subjecttoken"}


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def fingerprint(v):
    b = v.encode() if isinstance(v, str) else v
    return {"sha256": hashlib.sha256(b).hexdigest(), "len": len(b)}


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def args(description, extra=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True, help="request log (JSON lines)")
    ap.add_argument("--state", required=True,
                    help="directory shared by the emulators (token key)")
    ap.add_argument("--config", required=True, help="JSON configuration")
    if extra:
        extra(ap)
    return ap.parse_args()


def load_config(path):
    with open(path) as f:
        return json.load(f)


class Tokens:
    """HMAC-signed opaque access tokens shared across emulators."""

    def __init__(self, state):
        path = os.path.join(state, "token.key")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, os.urandom(32))
            os.close(fd)
        except FileExistsError:
            pass
        for _ in range(50):
            with open(path, "rb") as f:
                self.key = f.read()
            if len(self.key) == 32:
                break
            time.sleep(0.02)

    def issue(self, sub, scope, lifetime, issuer):
        claims = {"sub": sub, "scope": scope, "iss": issuer,
                  "exp": int(time.time()) + lifetime,
                  "n": b64e(os.urandom(9))}
        body = b64e(json.dumps(claims, sort_keys=True).encode())
        mac = hmac.new(self.key, body.encode(), hashlib.sha256).digest()
        return "ya29.emu.%s.%s" % (body, b64e(mac))

    def check(self, token):
        """The token's claims, or None if forged or expired."""
        if not token.startswith("ya29.emu."):
            return None
        try:
            body, mac = token[len("ya29.emu."):].split(".")
            want = hmac.new(self.key, body.encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(want, b64d(mac)):
                return None
            claims = json.loads(b64d(body))
        except (ValueError, TypeError):
            return None
        if claims.get("exp", 0) <= time.time():
            return None
        return claims


class Handler(http.server.BaseHTTPRequestHandler):
    """Subclasses set service and implement route(method, path, body)."""
    service = "?"
    log_path = None
    log_lock = threading.Lock()
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def _record(self, status, fields, err):
        hdr = {}
        auth = self.headers.get("Authorization")
        if auth:
            scheme, _, cred = auth.partition(" ")
            hdr["authorization"] = dict(fingerprint(cred), scheme=scheme)
        entry = {"time": time.time(), "service": self.service,
                 "method": self.command, "path": self.path,
                 "status": status, "fields": fields, "headers": hdr,
                 "content_type": self.headers.get("Content-Type", "")}
        if err:
            entry["error"] = err
        with self.log_lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def parse_body(self):
        """(dict of fields, description for the log).  Form or JSON."""
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        if ctype.strip() == "application/json":
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return None, {}
            if not isinstance(body, dict):
                return None, {}
        else:
            try:
                q = urllib.parse.parse_qs(raw.decode(), keep_blank_values=True,
                                          strict_parsing=False)
            except UnicodeDecodeError:
                return None, {}
            body = {k: v[-1] for k, v in q.items()}
        logged = {}
        for k, v in body.items():
            if k.lower().replace("_", "") in SECRET_FIELDS or \
                    k.lower() in SECRET_FIELDS:
                logged[k] = fingerprint(v if isinstance(v, str) else
                                        json.dumps(v))
            else:
                logged[k] = v
        return body, logged

    def reply(self, status, obj, fields=None, err=None):
        data = json.dumps(obj).encode()
        # Logged before the answer leaves, so a client that got it finds
        # its line in the log.
        self._record(status, fields or {}, err)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, no-store, max-age=0")
        self.end_headers()
        self.wfile.write(data)

    def bearer(self):
        auth = self.headers.get("Authorization") or ""
        scheme, _, cred = auth.partition(" ")
        return cred.strip() if scheme.lower() == "bearer" else None

    def do_POST(self):
        self.route("POST")

    def do_GET(self):
        self.route("GET")

    def route(self, method):
        raise NotImplementedError


def serve(handler, port, log_path):
    handler.log_path = log_path
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)
