"""Starts the Google API emulators of tests/peers and the upstreams they
trust, for peers_test.py and provider_test.py.

Everything listens on 127.0.0.1 on free ports and is killed by close().
"""
import base64
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(os.path.dirname(HERE), "peers")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable
PROJECT_NUMBER = "123456789012"
POOL = ("//iam.googleapis.com/projects/%s/locations/global/"
        "workloadIdentityPools/credfs-pool" % PROJECT_NUMBER)
AUDIENCE = POOL + "/providers/test-oidc"
MOCK_AUDIENCE = POOL + "/providers/oauth2-mock"
JWT_AUD = "https:" + AUDIENCE


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def pem_private(k):
    return k.private_bytes(serialization.Encoding.PEM,
                           serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()


def pem_public(k):
    return k.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


# The npm packages of tests/gcp, installed together: npm prunes what it was
# not asked for, so installing one at a time would remove the other.
NPM_PACKAGES = {"oauth2-mock-server": "8", "google-auth-library": "10.9.1"}


def npm_modules():
    """True when every NPM_PACKAGES is under tests/gcp/node_modules
    (installing them, under a lock, if not)."""
    import fcntl

    def have():
        for name, ver in NPM_PACKAGES.items():
            pkg = os.path.join(HERE, "node_modules", name, "package.json")
            try:
                with open(pkg) as f:
                    got = json.load(f)["version"]
            except (OSError, ValueError, KeyError):
                return False
            if got != ver and not got.startswith(ver + "."):
                return False
        return True

    if have():
        return True
    npm = shutil.which("npm")
    if not npm:
        return False
    with open(os.path.join(tempfile.gettempdir(),
                           "credfs-gcp-npm.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not have():
            subprocess.run([npm, "install", "--no-save", "--no-audit",
                            "--no-fund", "--prefix", HERE] +
                           ["%s@%s" % kv for kv in NPM_PACKAGES.items()],
                           capture_output=True, timeout=300)
        return have()


class Issuer:
    """An OIDC issuer in this process: ES256 and RS256 keys, /jwks and
    /.well-known/openid-configuration, tokens signed on demand."""

    def __init__(self):
        self.rsa = rsa.generate_private_key(public_exponent=65537,
                                            key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.stranger = rsa.generate_private_key(public_exponent=65537,
                                                 key_size=2048)
        issuer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path == "/jwks":
                    body = issuer.jwks()
                elif self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url,
                            "jwks_uri": issuer.url + "/jwks"}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def jwks(self):
        keys = []
        j = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(
            self.rsa.public_key()))
        j.update({"kid": "rsa-1", "alg": "RS256", "use": "sig"})
        keys.append(j)
        # By hand: PyJWT 2.6's to_jwk drops leading zero bytes of x and y
        # (RFC 7518 6.2.1.2 wants the full 32), and its own from_jwk then
        # refuses the key, one time in 64.
        pub = self.ec.public_key().public_numbers()
        keys.append({"kty": "EC", "crv": "P-256", "kid": "ec-1",
                     "alg": "ES256", "use": "sig",
                     "x": b64url(pub.x.to_bytes(32, "big")),
                     "y": b64url(pub.y.to_bytes(32, "big"))})
        return {"keys": keys}

    def token(self, sub="workload-1", aud=JWT_AUD, life=600, alg="RS256",
              iss=None, iat=None, key=None):
        now = int(time.time())
        claims = {"iss": iss or self.url, "sub": sub, "aud": aud,
                  "iat": iat if iat is not None else now,
                  "exp": (iat if iat is not None else now) + life}
        if alg == "none":
            h = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}')
            p = base64.urlsafe_b64encode(json.dumps(claims).encode())
            return "%s.%s." % (h.rstrip(b"=").decode(),
                               p.rstrip(b"=").decode())
        k = key or (self.rsa if alg == "RS256" else self.ec)
        kid = "rsa-1" if alg == "RS256" else "ec-1"
        return jwt.encode(claims, k, algorithm=alg, headers={"kid": kid})

    def close(self):
        self.srv.shutdown()


class Peers:
    def __init__(self, prefix="credfs-gcp-"):
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.tmp, 0o755)
        self.state = os.path.join(self.tmp, "state")
        os.mkdir(self.state)
        self.procs = []
        self.logs = {}
        self.issuer = Issuer()
        self.sa_key = rsa.generate_private_key(public_exponent=65537,
                                               key_size=2048)
        self.sa_email = "runner@credfs-test.iam.gserviceaccount.com"
        self.target_sa = "deployer@credfs-test.iam.gserviceaccount.com"
        self.delegate_sa = "hop@credfs-test.iam.gserviceaccount.com"
        self.kid = "0123456789abcdef0123456789abcdef01234567"
        self.client = {"client_id": "1234-test.apps.googleusercontent.com",
                       "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty",
                       "refresh_tokens": ["1//0-refresh-token-alice"],
                       "user": "alice@example.com"}
        self.mock = None

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write_json(self, name, obj):
        p = self.path(name)
        with open(p + ".new", "w") as f:
            json.dump(obj, f)
        os.replace(p + ".new", p)
        return p

    def spawn(self, name, script, config):
        cfg = self.write_json(name + ".json", config)
        log = self.path(name + ".log")
        open(log, "w").close()
        p = subprocess.Popen([PYTHON, os.path.join(PEERS, script),
                              "--port", "0", "--log", log, "--state",
                              self.state, "--config", cfg],
                             stdout=subprocess.PIPE,
                             stderr=open(self.path(name + ".err"), "w"),
                             start_new_session=True, text=True)
        self.procs.append(p)
        line = p.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError("%s did not start: %s" % (
                script, open(self.path(name + ".err")).read()[-500:]))
        self.logs[name] = log
        return "http://127.0.0.1:%s" % line

    def oauth2_config(self):
        return {"token_uri": self.token_uri,
                "service_accounts": [
                    {"client_email": self.sa_email,
                     "keys": {self.kid: pem_public(self.sa_key)},
                     "domain_wide_delegation": True}],
                "clients": [self.client]}

    def start(self, mock=False):
        providers = [{"audience": AUDIENCE, "issuer": self.issuer.url,
                      "jwks_uri": self.issuer.url + "/jwks"}]
        if mock:
            self.mock = self.start_oauth2_mock()
            if self.mock:
                port = self.mock.rsplit(":", 1)[1]
                providers.append({"audience": MOCK_AUDIENCE,
                                  "issuer": "http://localhost:" + port,
                                  "jwks_uri": self.mock + "/jwks",
                                  "allowed_audiences": ["credfs-wif"]})
        self.sts = self.spawn("sts", "gcp_sts.py", {"providers": providers})
        # The token endpoint must know its own URL (the assertion's aud),
        # known once it listens: it re-reads its config at each request.
        self.token_uri = "http://127.0.0.1:0/token"
        self.oauth2 = self.spawn("oauth2", "gcp_oauth2.py",
                                 self.oauth2_config())
        self.token_uri = self.oauth2 + "/token"
        self.write_json("oauth2.json", self.oauth2_config())
        principal = "principal:%s/subject/workload-1" % POOL
        self.iam = self.spawn("iam", "gcp_iam.py", {"service_accounts": {
            self.target_sa: {"token_creators": [principal, self.sa_email,
                                                self.delegate_sa]},
            self.delegate_sa: {"token_creators": [self.sa_email]},
            self.sa_email: {"token_creators": []}}})
        return self

    def revoke_key(self):
        cfg = self.oauth2_config()
        cfg["service_accounts"][0]["disabled"] = True
        self.write_json("oauth2.json", cfg)

    def restore_key(self):
        self.write_json("oauth2.json", self.oauth2_config())

    def sa_info(self, key=None, token_uri=None):
        return {"type": "service_account", "project_id": "credfs-test",
                "private_key_id": self.kid,
                "private_key": pem_private(key or self.sa_key),
                "client_email": self.sa_email,
                "client_id": "109876543210987654321",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": token_uri or self.token_uri}

    def log(self, name):
        with open(self.logs[name]) as f:
            return [json.loads(line) for line in f if line.strip()]

    def start_oauth2_mock(self):
        cli = os.path.join(HERE, "node_modules", "oauth2-mock-server",
                           "dist", "oauth2-mock-server.mjs")
        if not npm_modules():
            return None
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        p = subprocess.Popen(["node", cli, "-a", "127.0.0.1", "-p",
                              str(port)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             start_new_session=True)
        self.procs.append(p)
        end = time.time() + 20
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return "http://127.0.0.1:%d" % port
            except OSError:
                time.sleep(0.1)
        return None

    def mock_id_token(self, aud="credfs-wif"):
        """An id_token from oauth2-mock-server (sub johndoe, aud = the
        client_id), through its password grant."""
        data = urllib.parse.urlencode({"grant_type": "password",
                                       "username": "johndoe",
                                       "password": "x", "scope": "openid",
                                       "client_id": aud}).encode()
        with urllib.request.urlopen(self.mock + "/token", data,
                                    timeout=10) as r:
            return json.load(r)["id_token"]

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except OSError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.issuer.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def gc_fingerprint(v):
    import hashlib
    b = v.encode() if isinstance(v, str) else v
    return {"sha256": hashlib.sha256(b).hexdigest(), "len": len(b)}
