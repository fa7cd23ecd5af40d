"""Secrets-engine back ends for vault_emu.py: PostgreSQL roles through
psql, a test PKI CA (python3-cryptography), and Vault's formatting helpers.

Nothing here logs a secret: passwords reach psql on its stdin, never its
argv, and errors carry psql's message with the statement left out.
"""
import datetime
import secrets
import string
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def go_duration(secs):
    """A Go time.Duration string, as Vault prints TTLs in warnings."""
    secs = int(secs)
    if secs == 0:
        return "0s"
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    if h:
        return "%dh%dm%ds" % (h, m, s)
    if m:
        return "%dm%ds" % (m, s)
    return "%ds" % s


def parse_ttl(v):
    """Vault accepts an integer (seconds) or a duration string: 90, "90",
    "90s", "5m", "1h".  None for absent/invalid."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return int(v)
    v = str(v).strip()
    if v.isdigit():
        return int(v)
    total, num = 0, ""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    for ch in v:
        if ch.isdigit():
            num += ch
        elif ch in units and num:
            total += int(num) * units[ch]
            num = ""
        else:
            return None
    return None if num else total


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def random_id(n=24):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def uuid4():
    h = secrets.token_hex(16)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def vault_password():
    """Vault's default password policy: 20 characters, letters, digits and
    '-', at least one of each class."""
    pool = string.ascii_letters + string.digits + "-"
    while True:
        p = "".join(secrets.choice(pool) for _ in range(20))
        if (any(c.islower() for c in p) and any(c.isupper() for c in p)
                and any(c.isdigit() for c in p) and "-" in p):
            return p


class Postgres:
    """Runs the database engine's statements in a real PostgreSQL."""

    def __init__(self, dsn):
        self.dsn = dsn

    def _run(self, sql):
        r = subprocess.run(
            ["psql", self.dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"],
            input=sql.encode(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=20)
        if r.returncode != 0:
            msg = r.stderr.decode(errors="replace").strip().splitlines()
            # psql echoes no statement text with -q; keep the first line.
            raise RuntimeError(msg[0] if msg else "psql failed")

    @staticmethod
    def _until(expire):
        return datetime.datetime.fromtimestamp(
            expire, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S+0000")

    def create(self, name, password, expire):
        self._run('CREATE ROLE "%s" WITH LOGIN PASSWORD \'%s\' '
                  "VALID UNTIL '%s';\n"
                  'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "%s";\n'
                  % (name, password, self._until(expire), name))

    def renew(self, name, expire):
        self._run('ALTER ROLE "%s" VALID UNTIL \'%s\';\n'
                  % (name, self._until(expire)))

    def drop(self, name):
        self._run('SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                  "WHERE usename = '%s';\n"
                  'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "%s";\n'
                  'DROP ROLE IF EXISTS "%s";\n' % (name, name, name))


def db_username(display_name, role):
    """v-{{display_name}}-{{role}}-{{random 20}}-{{unix_time}}, at most 63
    characters (PostgreSQL's limit), as the postgres plugin makes them."""
    import time
    name = "v-%s-%s-%s-%d" % (display_name[:8], role[:8], random_id(20),
                              int(time.time()))
    return name[:63]


def _hex_serial(n):
    h = "%x" % n
    if len(h) % 2:
        h = "0" + h
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


class PKI:
    """A test root CA that issues leaf certificates the way pki/issue does."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537,
                                            key_size=2048)
        now = datetime.datetime.now(datetime.timezone.utc)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                             "credfs test root CA")])
        self.cert = (x509.CertificateBuilder()
                     .subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key())
                     .serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(minutes=5))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True,
                                                          path_length=None),
                                    critical=True)
                     .add_extension(x509.KeyUsage(
                         digital_signature=True, content_commitment=False,
                         key_encipherment=False, data_encipherment=False,
                         key_agreement=False, key_cert_sign=True,
                         crl_sign=True, encipher_only=False,
                         decipher_only=False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.ca_pem = self.cert.public_bytes(
            serialization.Encoding.PEM).decode().strip()

    def issue(self, common_name, alt_names, ttl):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = datetime.datetime.now(datetime.timezone.utc)
        not_after = now + datetime.timedelta(seconds=ttl)
        serial = x509.random_serial_number()
        sans = [x509.DNSName(common_name)] + [
            x509.DNSName(a) for a in alt_names if a and a != common_name]
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(
                    NameOID.COMMON_NAME, common_name)]))
                .issuer_name(self.cert.subject)
                .public_key(key.public_key())
                .serial_number(serial)
                .not_valid_before(now - datetime.timedelta(seconds=30))
                .not_valid_after(not_after)
                .add_extension(x509.SubjectAlternativeName(sans),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False,
                                                     path_length=None),
                               critical=True)
                .sign(self.key, hashes.SHA256()))
        return {
            "certificate": cert.public_bytes(
                serialization.Encoding.PEM).decode().strip(),
            "issuing_ca": self.ca_pem,
            "ca_chain": [self.ca_pem],
            "private_key": key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption()).decode().strip(),
            "private_key_type": "rsa",
            "serial_number": _hex_serial(serial),
            "expiration": int(not_after.timestamp()),
        }

