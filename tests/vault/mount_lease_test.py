#!/usr/bin/python3
"""credfs mounted with a Vault database lease and a PKI certificate: the
lease's whole life as psql and PostgreSQL see it.  TAP.

usage: mount_lease_test.py CREDFS_BINARY [USER]

USER (default: whoever runs it, root) mounts and reads; `credfs-test` runs
the same as the unprivileged user (under CI=true tests/host.sh adds what
it needs; elsewhere a missing user or /dev/fuse mode skips).

A private PostgreSQL, the Vault emulator (database leases: TTL 20s, max TTL
45s) and credfs with examples/vault-postgres.conf's shape (format pgpass,
revoke_on_unmount = yes).  Checks, counting roles in pg_roles: psql logs in
with the virtual pgpass (PGPASSFILE); 100 opens make one role; the lease is
renewed before its TTL ends (emulator log, audit lease_renew, the role's
VALID UNTIL moves, no new role); at the max TTL a new lease replaces it and
the old one is revoked (its role dropped); `credfs revoke db` drops the
role and the old password fails; unmount revokes the lease it holds.  pem:
the certificate, chain and key parse with openssl, the key matches the
certificate, the certificate verifies against the chain.  No secret in the
stderr, audit log, emulator log or state directory (raw, base64, hex).
"""
import base64
import os
import pwd
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vault_harness as H  # noqa: E402

ROLE_ID, SECRET_ID = "role-" + os.urandom(4).hex(), os.urandom(16).hex()
HOST_SH = os.path.join(H.HERE, "..", "host.sh")


class Runner:
    """Runs commands as the mounting user (root: as is)."""

    def __init__(self, user):
        self.user = user
        self.env = {"PATH": "/usr/local/bin:/usr/bin:/bin",
                    "LANG": "C.UTF-8"}
        if user == "root":
            self.uid = self.gid = 0
            self.pre = None
            self.env["HOME"] = os.environ.get("HOME", "/root")
            return
        pw = pwd.getpwnam(user)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.env.update(HOME=pw.pw_dir, USER=user)

        def drop():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        self.pre = drop

    def run(self, argv, env=None, timeout=60, **kw):
        e = dict(self.env, **(env or {}))
        return subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=e,
                              preexec_fn=self.pre, timeout=timeout, **kw)

    def read(self, path):
        r = self.run(["cat", path])
        return r.stdout.decode(errors="replace") if r.returncode == 0 \
            else None

    def private(self, path, data, mode=0o600):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        os.write(fd, data if isinstance(data, bytes) else data.encode())
        os.close(fd)
        os.chown(path, self.uid, self.gid)
        return path


def need_user(user):
    """The unprivileged run's prerequisites, or a skip (a failure under
    CI=true, where host.sh adds them first)."""
    if user == "root":
        return
    if H.CI:
        subprocess.run(["bash", "-c", 'source "$0" && host_setup vault',
                        HOST_SH], stdout=sys.stderr, stderr=sys.stderr)
    missing = []
    try:
        pwd.getpwnam(user)
    except KeyError:
        missing.append("the user %s does not exist" % user)
    if os.path.exists("/dev/fuse") and \
            os.stat("/dev/fuse").st_mode & 0o006 != 0o006:
        missing.append("/dev/fuse is not mode 0666")
    if missing:
        H.skip_all("; ".join(missing) + " (tests/host.sh: host_setup)")


def wait_for(pred, secs, step=0.5):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def main():
    credfs = os.path.abspath(sys.argv[1])
    user = sys.argv[2] if len(sys.argv) > 2 else "root"
    if os.getuid() != 0 or not os.path.exists("/dev/fuse"):
        H.skip_all("needs root and /dev/fuse")
    need_user(user)
    U = Runner(user)
    try:
        pg = H.Postgres()
    except Exception as e:  # noqa: BLE001
        H.skip_all("no PostgreSQL: %s" % e)
    emu = H.Emulator("--role-id", ROLE_ID, "--secret-id", SECRET_ID,
                     "--lease-ttl", "20", "--lease-max-ttl", "45",
                     "--pg-dsn", pg.dsn)

    def roles():
        return int(pg.sql("SELECT count(*) FROM pg_roles "
                          "WHERE rolname LIKE 'v-%'"))

    def creds_reads():
        return sum("GET /v1/database/creds/readonly" in x
                   for x in emu.log_lines())

    def valid_until(name):
        return pg.sql("SELECT extract(epoch FROM rolvaliduntil)::bigint "
                      "FROM pg_roles WHERE rolname = '%s'" % name)

    d = os.path.join(H.tmp, "lease-" + user)
    os.mkdir(d, 0o700)
    os.chown(d, U.uid, U.gid)
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt, 0o700)
    os.chown(mnt, U.uid, U.gid)
    if user != "root":  # the build tree may be closed to other users
        import shutil
        credfs = shutil.copy(credfs, os.path.join(d, "credfs"))
        os.chmod(credfs, 0o755)
    U.private(os.path.join(d, "keyfile"), os.urandom(32))
    U.private(os.path.join(d, "approle"), "role_id = %s\nsecret_id = %s\n"
              % (ROLE_ID, SECRET_ID))
    cfg = U.private(os.path.join(d, "config"), """[credfs]
state_dir = {d}/state
key = keyfile:{d}/keyfile
audit_log = {d}/audit.log
refresh_before = 10m

[profile db]
provider = vault
address = {addr}
auth = approle
secret_file = {d}/approle
path = database/creds/readonly
revoke_on_unmount = yes

[profile web]
provider = vault
address = {addr}
auth = approle
secret_file = {d}/approle
path = pki/issue/web
common_name = app.example.test
alt_names = localhost

[file pgpass]
format = pgpass
profiles = db
host = 127.0.0.1
port = {port}
database = postgres
mode = 0400

[file tls/app.pem]
format = pem
profiles = web
""".format(d=d, addr=emu.addr, port=pg.port), 0o600)

    err_path = os.path.join(d, "mount.err")
    err = open(err_path, "w")
    os.chown(err_path, U.uid, U.gid)
    mount = subprocess.Popen([credfs, "-c", cfg, "mount", "-f", mnt],
                             stdout=err, stderr=err, env=U.env,
                             preexec_fn=U.pre, start_new_session=True)
    H._procs.append(mount)
    H._cleanups.append(lambda: subprocess.run(
        ["umount", "-l", mnt], stderr=subprocess.DEVNULL))
    pgpass = os.path.join(mnt, "pgpass")
    up = wait_for(lambda: U.read(pgpass), 15)
    if not H.ok(up, "credfs mounted as %s with a database lease" % user):
        H.diag(open(err_path, errors="replace").read()[-2000:])
        H.done()

    def psql():
        r = U.run(["psql", "-X", "-w", "-qAt", "-h", "127.0.0.1", "-p",
                   str(pg.port), "-d", "postgres", "-U",
                   U.read(pgpass).split(":")[3], "-c",
                   "SELECT item FROM inventory"],
                  env={"PGPASSFILE": pgpass}, timeout=30)
        return r.returncode == 0 and r.stdout.decode().strip() == "widget", \
            r.stdout.decode().strip()[-200:]

    good, out = psql()
    H.ok(good, "psql logs in with the virtual pgpass (PGPASSFILE): %s" % out)
    r = U.run(["sh", "-c", 'i=0; while [ $i -lt 100 ]; do cat "$0" '
               '>/dev/null || exit 1; i=$((i+1)); done', pgpass])
    H.ok(r.returncode == 0 and creds_reads() == 1 and roles() == 1,
         "100 opens: one database/creds read (%d), one role in pg_roles "
         "(%d)" % (creds_reads(), roles()))
    first = U.read(pgpass)
    user1, pass1 = first.strip().split(":")[3:5]
    until1 = valid_until(user1)

    # The lease (TTL 20s) is renewed at half its life, not read again.
    renewed = wait_for(lambda: any(" lease renew database/creds/readonly/"
                                   in x for x in emu.log_lines()), 25)
    H.ok(renewed, "the lease is renewed before its TTL ends (emulator log)")
    time.sleep(1)
    H.ok(creds_reads() == 1 and roles() == 1 and U.read(pgpass) == first,
         "renewal: no new read (%d), no new role (%d), the same pgpass"
         % (creds_reads(), roles()))
    H.ok(int(valid_until(user1)) > int(until1),
         "renewal moved the role's VALID UNTIL (%s -> %s)"
         % (until1, valid_until(user1)))
    audit = os.path.join(d, "audit.log")
    H.ok(wait_for(lambda: '"event":"lease_renew"' in
                  open(audit).read().replace(" ", ""), 5),
         "the audit log has a lease_renew event")

    # At the max TTL (45s) the lease is re-issued and the old one revoked.
    second = wait_for(lambda: creds_reads() == 2 and
                      not pg.role_exists(user1) and U.read(pgpass), 45)
    H.ok(second and second != first and roles() == 1,
         "at the max TTL a new lease replaces the old; the old role is "
         "dropped, one role remains (%d)" % roles())
    H.ok(any("lease revoke database/creds/readonly/" in x
             for x in emu.log_lines()),
         "the replaced lease is revoked at Vault (sys/leases/revoke)")
    H.ok(any('"lease_revoke"' in x and '"reissued"' in x
             for x in open(audit)),
         "audit: lease_revoke with reason reissued")
    good, out = psql()
    H.ok(good, "psql logs in with the re-issued lease: %s" % out)

    # credfs revoke: the role goes, the old password fails.
    user2, pass2 = U.read(pgpass).strip().split(":")[3:5]
    r = U.run([credfs, "-c", cfg, "revoke", "db"])
    H.ok(r.returncode == 0 and not pg.role_exists(user2) and roles() == 0,
         "credfs revoke db drops the role: %s"
         % r.stdout.decode().strip()[:200])
    rc, out = pg.login(user2, pass2)
    H.ok(rc != 0 and "authentication failed" in out,
         "psql with the revoked password fails: %s" % out[-120:])

    # pem from pki/issue
    pem = U.read(os.path.join(mnt, "tls/app.pem")) or ""
    blocks = re.findall(r"-----BEGIN ([A-Z ]+)-----\n.*?-----END \1-----\n",
                        pem, re.S)
    H.ok(blocks[:1] == ["CERTIFICATE"] and blocks[-1].endswith("PRIVATE KEY")
         and len(blocks) >= 3, "pem: certificate, chain, key (%s)" % blocks)
    certs = re.findall(r"-----BEGIN CERTIFICATE-----\n.*?"
                       r"-----END CERTIFICATE-----\n", pem, re.S)
    wd = os.path.join(H.tmp, "pem-" + user)
    os.mkdir(wd, 0o700)
    for name, text in (("cert.pem", certs[0] if certs else ""),
                       ("chain.pem", "".join(certs[1:]))):
        with open(os.path.join(wd, name), "w") as f:
            f.write(text)
    r = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in",
                        os.path.join(wd, "cert.pem")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    H.ok(r.returncode == 0 and b"app.example.test" in r.stdout,
         "openssl x509 parses the certificate: %s"
         % r.stdout.decode().strip())
    r = subprocess.run(["openssl", "verify", "-CAfile",
                        os.path.join(wd, "chain.pem"),
                        os.path.join(wd, "cert.pem")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    H.ok(r.returncode == 0, "openssl verify: the certificate chains to "
         "the CA in the pem: %s" % r.stdout.decode().strip()[-160:])
    pub_cert = subprocess.run(["openssl", "x509", "-noout", "-pubkey",
                               "-in", os.path.join(wd, "cert.pem")],
                              stdout=subprocess.PIPE).stdout
    pub_key = U.run(["openssl", "pkey", "-pubout", "-in",
                     os.path.join(mnt, "tls/app.pem")]).stdout
    H.ok(pub_cert and pub_cert == pub_key,
         "openssl pkey reads the key from the mount; it matches the "
         "certificate")

    # revoke_on_unmount: a new lease, then unmount revokes it.
    third = U.read(pgpass)
    user3 = third.strip().split(":")[3] if third else "?"
    H.ok(third and pg.role_exists(user3), "a read after revoke leases a "
         "new role")
    r = U.run([credfs, "-c", cfg, "umount", mnt])
    try:
        mount.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    H.ok(mount.returncode == 0 and not pg.role_exists(user3)
         and roles() == 0,
         "revoke_on_unmount: credfs umount revokes the lease, the role is "
         "gone (%s, rc %s)" % (r.stdout.decode().strip()[:120],
                               mount.returncode))
    revokes = [x for x in open(audit) if '"lease_revoke"' in x and
               '"reissued"' not in x]
    H.ok(len(revokes) == 2, "audit: lease_revoke by credfs revoke and at "
         "unmount (%d)" % len(revokes))

    texts = []
    for p in (err_path, audit, emu.log):
        texts.append(open(p, errors="replace").read())
    for root, _, files in os.walk(os.path.join(d, "state")):
        for fn in files:
            with open(os.path.join(root, fn), "rb") as f:
                texts.append(f.read().decode("latin-1"))
    blob = "\n".join(texts)
    leaked = []
    for name, s in (("secret_id", SECRET_ID), ("password 1", pass1),
                    ("password 2", pass2)):
        for form in (s, base64.b64encode(s.encode()).decode(),
                     s.encode().hex()):
            if form in blob:
                leaked.append(name)
    H.ok(not leaked and "hvs." not in blob,
         "no password, secret_id or client token in stderr, the audit "
         "log, the emulator log or the state directory %s"
         % (leaked or ""))
    H.done()


if __name__ == "__main__":
    main()
