"""Shared plumbing for the tests/vault scripts: TAP, the Vault emulator,
a private PostgreSQL cluster and a JWKS issuer, all on loopback and all
stopped on exit (failure included).  Run with Debian's /usr/bin/python3
(python3-hvac, python3-cryptography, python3-jwt).
"""
import atexit
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tap  # noqa: E402
# The scripts call H.ok, H.diag and read H.CI.
from tap import CI, diag, ok  # noqa: E402,F401

EMU = os.path.join(HERE, "..", "peers", "vault_emu.py")
_procs = []
_cleanups = []
tmp = tempfile.mkdtemp(prefix="credfs-vault-")
os.chmod(tmp, 0o711)


def done():
    rc = tap.finish()
    cleanup()
    sys.exit(rc)


def skip_all(why):
    """No peer: a skip, except under CI=true where it is a failure."""
    cleanup()
    tap.skip_all(why)


def cleanup():
    while _cleanups:
        try:
            _cleanups.pop()()
        except Exception as e:  # noqa: BLE001
            diag("cleanup: %s" % e)
    for p in _procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                pass
    for p in _procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
    _procs.clear()
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(1)))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Emulator:
    def __init__(self, *args):
        self.log = os.path.join(tmp, "vault-emu-%d.log" % len(_procs))
        self.proc = subprocess.Popen(
            [sys.executable, EMU, "0", self.log] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        _procs.append(self.proc)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            err = self.proc.stderr.read().decode(errors="replace")
            raise RuntimeError("vault_emu did not start: %s" % err[-400:])
        self.port = int(line)
        self.addr = "http://127.0.0.1:%d" % self.port

    def log_lines(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def control(self, what):
        import urllib.request
        req = urllib.request.Request(self.addr + "/emu/" + what, data=b"",
                                     method="POST")
        urllib.request.urlopen(req, timeout=5).read()


def _as_user(user):
    """preexec_fn dropping to user when we are root (initdb refuses root)."""
    if os.getuid() != 0:
        return None
    import pwd
    pw = pwd.getpwnam(user)

    def drop():
        os.setgroups([])
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    return drop, pw.pw_uid, pw.pw_gid


def pg_bindir():
    for v in ("17", "16", "15", "14", "13"):
        d = "/usr/lib/postgresql/%s/bin" % v
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    d = shutil.which("initdb")
    return os.path.dirname(d) if d else None


class Postgres:
    """A private cluster on a private socket directory and port."""

    def __init__(self):
        bindir = pg_bindir()
        if not bindir or not shutil.which("psql"):
            raise RuntimeError("PostgreSQL (initdb, pg_ctl, psql) not found")
        self.dir = os.path.join(tmp, "pg")
        self.sock = os.path.join(tmp, "pgsock")
        os.mkdir(self.dir, 0o700)
        os.mkdir(self.sock, 0o755)
        drop = _as_user("postgres")
        pre = None
        if drop:
            pre, uid, gid = drop
            os.chown(self.dir, uid, gid)
            os.chown(self.sock, uid, gid)
        self.super = "postgres" if drop else os.environ.get("USER", "postgres")
        self.port = free_port()
        self.pre = pre
        self.ctl = os.path.join(bindir, "pg_ctl")
        data = os.path.join(self.dir, "data")
        r = subprocess.run([os.path.join(bindir, "initdb"), "-D", data,
                            "-U", self.super, "--auth-local=trust",
                            "--auth-host=scram-sha-256", "-E", "UTF8"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           preexec_fn=pre, cwd=self.dir)
        if r.returncode:
            raise RuntimeError("initdb: %s" % r.stdout.decode()[-400:])
        with open(os.path.join(data, "pg_hba.conf"), "w") as f:
            f.write("local all %s trust\n" % self.super)
            f.write("local all all scram-sha-256\n")
            f.write("host all all 127.0.0.1/32 scram-sha-256\n")
        self.data = data
        r = subprocess.run([self.ctl, "-D", data, "-w", "-t", "30", "-l",
                            os.path.join(self.dir, "log"), "-o",
                            "-p %d -k %s -c listen_addresses=127.0.0.1"
                            % (self.port, self.sock), "start"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           preexec_fn=pre, cwd=self.dir)
        if r.returncode:
            raise RuntimeError("pg_ctl start: %s" % r.stdout.decode()[-400:])
        _cleanups.append(self.stop)
        self.dsn = "host=%s port=%d user=%s dbname=postgres" % (
            self.sock, self.port, self.super)
        self.sql("CREATE TABLE IF NOT EXISTS inventory(item text);"
                 "INSERT INTO inventory VALUES ('widget');")

    def stop(self):
        subprocess.run([self.ctl, "-D", self.data, "-m", "fast", "-w",
                        "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, preexec_fn=self.pre,
                       cwd=self.dir)

    def sql(self, q):
        r = subprocess.run(["psql", self.dsn, "-X", "-qAt", "-c", q],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode:
            raise RuntimeError("psql: %s" % r.stderr.decode().strip())
        return r.stdout.decode().strip()

    def role_exists(self, name):
        return self.sql("SELECT count(*) FROM pg_roles WHERE rolname = '%s'"
                        % name.replace("'", "''")) == "1"

    def login(self, user, password):
        """psql as user over TCP with the password from a 0600 pgpass."""
        pgpass = os.path.join(tmp, "pgpass-%d" % time.monotonic_ns())
        fd = os.open(pgpass, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, ("127.0.0.1:%d:postgres:%s:%s\n" % (
            self.port, user, password)).encode())
        os.close(fd)
        env = dict(os.environ, PGPASSFILE=pgpass)
        env.pop("PGPASSWORD", None)
        r = subprocess.run(["psql", "-X", "-w", "-qAt", "-h", "127.0.0.1",
                            "-p", str(self.port), "-U", user, "-d",
                            "postgres", "-c", "SELECT item FROM inventory"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=20)
        os.unlink(pgpass)
        return r.returncode, (r.stdout + r.stderr).decode().strip()


def _b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class JWKS:
    """An RSA signing key served as a JWKS document on loopback."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import rsa
        self.key = rsa.generate_private_key(public_exponent=65537,
                                            key_size=2048)
        pub = self.key.public_key().public_numbers()
        jwk = {"kty": "RSA", "kid": "credfs-test", "use": "sig",
               "alg": "RS256",
               "n": _b64(pub.n.to_bytes((pub.n.bit_length() + 7) // 8,
                                        "big")),
               "e": _b64(pub.e.to_bytes(3, "big"))}
        body = json.dumps({"keys": [jwk]}).encode()

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/jwks" % self.srv.server_address[1]
        _cleanups.append(self.srv.shutdown)

    def mint(self, sub, aud, key=None, ttl=600):
        import jwt
        now = int(time.time())
        return jwt.encode({"sub": sub, "aud": aud, "iss": "credfs-test",
                           "iat": now, "exp": now + ttl},
                          key or self.key, algorithm="RS256",
                          headers={"kid": "credfs-test"})
