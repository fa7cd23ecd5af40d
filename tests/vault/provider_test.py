#!/usr/bin/python3
"""Runs test_vault (the vault provider in C) against the Vault emulator
with a real PostgreSQL behind its database engine.  TAP.

usage: provider_test.py TEST_VAULT_BINARY

Starts, all on loopback and private to this run: a PostgreSQL cluster
(initdb/pg_ctl as the postgres user, its own port and socket directory),
a JWKS issuer, and vault_emu.py in namespace team-a with --pg-dsn.  Then
runs the C test (which prints TAP itself) and checks the emulator's log:
one login for many reads, the renewals and revocations, and no secret.
Everything it starts is stopped on exit, failure included.
"""
import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vault_harness as H  # noqa: E402

NS = "team-a"
ROOT = "root-" + os.urandom(8).hex()
ROLE_ID, SECRET_ID = "role-" + os.urandom(4).hex(), os.urandom(16).hex()


def private(name, text, mode=0o600):
    path = os.path.join(H.tmp, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, text.encode())
    os.close(fd)
    os.chmod(path, mode)
    return path


def write_kv(emu, path, data):
    req = urllib.request.Request(
        emu.addr + "/v1/secret/data/" + path,
        data=json.dumps({"data": data}).encode(), method="POST",
        headers={"X-Vault-Token": ROOT, "X-Vault-Namespace": NS})
    urllib.request.urlopen(req, timeout=5).read()


def main():
    binary = sys.argv[1]
    try:
        pg = H.Postgres()
    except Exception as e:  # noqa: BLE001
        H.skip_all("no PostgreSQL: %s" % e)
    jwks = H.JWKS()
    emu = H.Emulator("--namespace", NS, "--root-token", ROOT,
                     "--role-id", ROLE_ID, "--secret-id", SECRET_ID,
                     "--lease-ttl", "60", "--lease-max-ttl", "120",
                     "--token-ttl", "600", "--token-max-ttl", "3600",
                     "--jwks-url", jwks.url, "--jwt-role", "credfs",
                     "--jwt-audience", "vault", "--pg-dsn", pg.dsn)
    # A second Vault whose client tokens live 9s (max 14s): renew-self,
    # then a fresh login at the max TTL.
    short = H.Emulator("--role-id", ROLE_ID, "--secret-id", SECRET_ID,
                       "--token-ttl", "9", "--token-max-ttl", "14")
    # A third whose tokens live 15s (max 22s): a lease renewed when its
    # token must be replaced by a login ends with the old token.
    short3 = H.Emulator("--role-id", ROLE_ID, "--secret-id", SECRET_ID,
                        "--token-ttl", "15", "--token-max-ttl", "22")
    write_kv(emu, "app/config", {"user": "alice", "password": "kv-one"})
    write_kv(emu, "app/config", {"user": "alice", "password": "kv-two"})
    from cryptography.hazmat.primitives.asymmetric import rsa
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    out = os.path.join(H.tmp, "out")
    os.mkdir(out, 0o700)
    env = dict(os.environ,
               VAULT_ADDR=emu.addr, EMU_LOG=emu.log, NS=NS, ROOT_TOKEN=ROOT,
               VAULT_ADDR2=short.addr, EMU_LOG2=short.log,
               VAULT_ADDR3=short3.addr, EMU_LOG3=short3.log,
               PG_DSN=pg.dsn, PG_PORT=str(pg.port), OUT_DIR=out,
               SECRET_FILE=private("approle", "role_id = %s\nsecret_id = %s\n"
                                   % (ROLE_ID, SECRET_ID)),
               BAD_SECRET_FILE=private("approle-bad", "role_id = %s\n"
                                       "secret_id = wrong-%s\n"
                                       % (ROLE_ID, SECRET_ID[:8])),
               TOKEN_FILE=private("token", ROOT + "\n"),
               OPEN_TOKEN_FILE=private("token-open", ROOT + "\n", 0o644),
               JWT=jwks.mint("svc-a", "vault"),
               BAD_JWT=jwks.mint("svc-a", "vault", key=other),
               SECRET_ID=SECRET_ID)
    wrap = os.environ.get("VAULT_TEST_WRAPPER", "").split()
    r = subprocess.run(wrap + [binary], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=240)
    # The C test numbers its own TAP lines; renumber them into ours.
    for line in r.stdout.decode().splitlines():
        if line.startswith("ok ") or line.startswith("not ok "):
            good = line.startswith("ok ")
            H.ok(good, line.split(" - ", 1)[1] if " - " in line else line)
        elif line.startswith("#"):
            print(line, flush=True)
    H.ok(r.returncode == 0, "test_vault exited %d" % r.returncode)
    if r.returncode:
        H.diag(r.stderr.decode()[-2000:])
    log = emu.log_lines() + short.log_lines()
    text = "\n".join(log)
    H.ok(any("lease renew database/creds/readonly/" in x for x in log),
         "emulator log shows a lease renewal")
    H.ok(any("lease revoke database/creds/readonly/" in x for x in log),
         "emulator log shows a lease revocation")
    leaked = [s for s in (ROOT, SECRET_ID, "hvs.", env["JWT"]) if s in text]
    H.ok(not leaked, "emulator log holds no token, secret_id or JWT")
    left = pg.sql("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-%'")
    H.diag("database roles still leased at the end: %s" % left)
    H.done()


if __name__ == "__main__":
    main()
