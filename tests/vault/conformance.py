#!/usr/bin/python3
"""The Vault emulator checked by real Vault clients.  TAP.

usage: conformance.py hvac|node

hvac: Debian's python3-hvac, in this process.  node: npm's node-vault
(tests/vault/package.json; npm-installed into tests/vault/node_modules
when missing) running conformance_node.js.  Both do the same calls:
AppRole login, KV v2 read (latest and a pinned version), database creds,
lease renew (capped at the max TTL with Vault's warning), lease revoke,
token renew-self and lookup-self, and the error cases (wrong secret_id,
unknown path, sealed).  A call answered differently from the reference
makes the client raise or a check fail.
"""
import json
import os
import shutil
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vault_harness as H  # noqa: E402

NS = "team-a"
ROLE_ID, SECRET_ID = "conf-role-id", "conf-secret-id"


def write_kv(emu, path, data):
    req = urllib.request.Request(
        emu.addr + "/v1/secret/data/" + path,
        data=json.dumps({"data": data}).encode(), method="POST",
        headers={"X-Vault-Token": "root-conf", "X-Vault-Namespace": NS})
    return json.load(urllib.request.urlopen(req, timeout=5))


def start():
    emu = H.Emulator("--namespace", NS, "--root-token", "root-conf",
                     "--role-id", ROLE_ID, "--secret-id", SECRET_ID,
                     "--lease-ttl", "60", "--lease-max-ttl", "120",
                     "--token-ttl", "300", "--token-max-ttl", "600")
    write_kv(emu, "app/config", {"user": "alice", "password": "v1-pass"})
    write_kv(emu, "app/config", {"user": "alice", "password": "v2-pass"})
    return emu


def run_hvac(emu):
    try:
        import hvac
        import hvac.exceptions as hx
    except ImportError:
        H.skip_all("python3-hvac is not installed (apt-get install "
                   "python3-hvac)")
    from importlib.metadata import version
    H.diag("hvac %s" % version("hvac"))
    c = hvac.Client(url=emu.addr, namespace=NS)
    r = c.auth.approle.login(role_id=ROLE_ID, secret_id=SECRET_ID)
    tok = r["auth"]["client_token"]
    H.ok(tok.startswith("hvs.") and c.token == tok and
         r["auth"]["renewable"] and r["auth"]["lease_duration"] == 300,
         "hvac: approle login sets the client token (ttl 300)")
    H.ok(c.is_authenticated(), "hvac: is_authenticated (lookup-self)")
    look = c.auth.token.lookup_self()["data"]
    H.ok(look["id"] == tok and look["ttl"] <= 300 and
         look["path"] == "auth/approle/login", "hvac: lookup_self")

    kv = c.secrets.kv.v2.read_secret_version(path="app/config")
    H.ok(kv["data"]["data"]["password"] == "v2-pass" and
         kv["data"]["metadata"]["version"] == 2, "hvac: kv v2 latest version")
    kv = c.secrets.kv.v2.read_secret_version(path="app/config", version=1)
    H.ok(kv["data"]["data"]["password"] == "v1-pass" and
         kv["data"]["metadata"]["version"] == 1, "hvac: kv v2 version=1")
    meta = c.secrets.kv.v2.read_secret_metadata(path="app/config")
    H.ok(meta["data"]["current_version"] == 2, "hvac: kv v2 metadata")
    try:
        c.secrets.kv.v2.read_secret_version(path="app/nothing")
        H.ok(False, "hvac: missing kv path raises InvalidPath")
    except hx.InvalidPath:
        H.ok(True, "hvac: missing kv path raises InvalidPath")

    db = c.read("database/creds/readonly")
    lid = db["lease_id"]
    H.ok(lid.startswith("database/creds/readonly/") and db["renewable"] and
         db["lease_duration"] == 60 and db["data"]["username"] and
         len(db["data"]["password"]) == 20, "hvac: database creds with a "
         "renewable 60s lease")
    rn = c.sys.renew_lease(lease_id=lid, increment=30)
    H.ok(rn["lease_id"] == lid and rn["lease_duration"] == 30 and
         not rn.get("warnings"), "hvac: renew_lease increment=30")
    rn = c.sys.renew_lease(lease_id=lid, increment=3600)
    H.ok(100 <= rn["lease_duration"] <= 120 and rn["warnings"] and
         "exceeded the effective max_ttl" in rn["warnings"][0],
         "hvac: renew past max TTL is capped with a warning: %s"
         % (rn.get("warnings") or [""])[0])
    c.sys.revoke_lease(lease_id=lid)
    try:
        c.sys.renew_lease(lease_id=lid)
        H.ok(False, "hvac: renew after revoke raises InvalidRequest")
    except hx.InvalidRequest as e:
        H.ok("lease not found" in str(e),
             "hvac: renew after revoke raises InvalidRequest: %s" % e)
    aws = c.read("aws/creds/deploy")
    H.ok(aws["data"]["access_key"].startswith("AKIA") and
         aws["data"]["security_token"] is None, "hvac: aws creds")
    pki = c.write("pki/issue/web", common_name="svc.example")
    H.ok(pki["data"]["certificate"].startswith("-----BEGIN CERTIFICATE") and
         pki["data"]["private_key_type"] == "rsa", "hvac: pki issue")

    rs = c.auth.token.renew_self(increment="10m")
    H.ok(rs["auth"]["client_token"] == tok and
         590 <= rs["auth"]["lease_duration"] <= 600,
         "hvac: renew_self increment=10m")

    bad = hvac.Client(url=emu.addr, namespace=NS)
    try:
        bad.auth.approle.login(role_id=ROLE_ID, secret_id="wrong")
        H.ok(False, "hvac: wrong secret_id raises InvalidRequest")
    except hx.InvalidRequest as e:
        H.ok("invalid role or secret ID" in str(e),
             "hvac: wrong secret_id raises InvalidRequest: %s" % e)
    other = hvac.Client(url=emu.addr, token=tok, namespace="team-b")
    try:
        other.read("database/creds/readonly")
        H.ok(False, "hvac: token used in another namespace is Forbidden")
    except hx.Forbidden:
        H.ok(True, "hvac: token used in another namespace is Forbidden")
    emu.control("seal")
    H.ok(c.sys.is_sealed(), "hvac: is_sealed")
    try:
        c.read("database/creds/readonly")
        H.ok(False, "hvac: sealed raises VaultDown")
    except hx.VaultDown as e:
        H.ok("Vault is sealed" in str(e), "hvac: sealed raises VaultDown: %s"
             % e)
    emu.control("unseal")
    c.auth.token.revoke_self()
    try:
        c.auth.token.lookup_self()
        H.ok(False, "hvac: revoked token is Forbidden")
    except hx.Forbidden:
        H.ok(True, "hvac: revoked token is Forbidden")


def run_node(emu):
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node:
        H.skip_all("node not found")
    mod = os.path.join(H.HERE, "node_modules", "node-vault")
    if not os.path.isdir(mod):
        if not npm:
            H.skip_all("node-vault missing and npm not found")
        r = subprocess.run([npm, "install", "--no-audit", "--no-fund"],
                           cwd=H.HERE, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode:
            H.diag(r.stdout.decode()[-1000:])
            H.skip_all("npm install node-vault failed")
    env = dict(os.environ, VAULT_ADDR=emu.addr, NS=NS, ROLE_ID=ROLE_ID,
               SECRET_ID=SECRET_ID, EMU_CONTROL=emu.addr + "/emu/")
    env.pop("VAULT_TOKEN", None)
    env.pop("VAULT_NAMESPACE", None)
    p = subprocess.run([node, os.path.join(H.HERE, "conformance_node.js")],
                       cwd=H.HERE, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    out = p.stdout.decode()
    results = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    for r in results:
        H.ok(r["ok"], "node-vault: %s" % r["what"])
    H.ok(p.returncode == 0 and len(results) >= 12,
         "node-vault script ran to the end (%d checks, rc %d)"
         % (len(results), p.returncode))
    if p.returncode:
        H.diag(p.stderr.decode()[-1500:])


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "hvac"
    emu = start()
    if mode == "hvac":
        run_hvac(emu)
    else:
        run_node(emu)
    log = emu.log_lines()
    for want in ("POST /v1/auth/approle/login ns=team-a -> 200",
                 "GET /v1/database/creds/readonly ns=team-a -> 200",
                 "PUT /v1/sys/leases/renew ns=team-a -> 200",
                 "PUT /v1/sys/leases/revoke ns=team-a -> 204",
                 "POST /v1/auth/token/renew-self ns=team-a -> 200"):
        H.ok(any(line.endswith(want) for line in log),
             "emulator log: %s" % want)
    text = "\n".join(log)
    H.ok(SECRET_ID not in text and "hvs." not in text and
         "v2-pass" not in text, "emulator log holds no secret_id, token or "
         "secret value")
    H.done()


if __name__ == "__main__":
    main()
