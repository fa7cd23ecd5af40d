#!/usr/bin/env python3
"""TAP: the variables `credfs exec` sets (SPEC "Environment", issue 10 and
11): a gcp-service-account profile (against tests/peers' Google OAuth2
emulator) gives CLOUDSDK_AUTH_ACCESS_TOKEN and GOOGLE_OAUTH_ACCESS_TOKEN,
azure-managed-identity (tests/peers/azure_imds.py) AZURE_ACCESS_TOKEN,
AZURE_TOKEN_TYPE and AZURE_ACCESS_TOKEN_EXPIRATION, azure-keyvault and
token-env CREDFS_<FIELD> and CREDFS_EXPIRATION; every one CREDFS_PROFILE
and nothing of another cloud.  With no daemon (the same reply either way).
usage: exec_env.py CREDFS"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "gcp"))
sys.path.insert(1, os.path.dirname(HERE))
import tap  # noqa: E402
from tap import ok  # noqa: E402

try:
    import gcp_peers
except ImportError as ex:
    tap.skip_all("python3-jwt / python3-cryptography missing: %s" % ex)

CREDFS = os.path.abspath(sys.argv[1])
os.environ["CREDFS_KEYRING"] = "off"


def exec_env(cfg, profile, extra=None):
    env = dict(os.environ)
    env.update(extra or {})
    p = subprocess.run([CREDFS, "-c", cfg, "exec", profile, "--", "env",
                        "-0"], capture_output=True, timeout=120, env=env)
    out = {}
    for kv in p.stdout.decode().split("\0"):
        if "=" in kv:
            k, v = kv.split("=", 1)
            out[k] = v
    return p.returncode, out, p.stderr.decode().strip()


def main():
    P = gcp_peers.Peers(prefix="credfs-exec-env-").start()
    T = P.tmp
    procs = []
    try:
        state = os.path.join(T, "credfs-state")
        os.mkdir(state, 0o700)
        sa_file = P.write_json("sa.json", P.sa_info())
        os.chmod(sa_file, 0o600)
        imds_cfg = P.write_json("imds.json", {
            "identities": ["mi-1111"],
            "secrets": {"db-password": {"v1": "kv secret value"}},
            "latest": {"db-password": "v1"}})
        ip = subprocess.Popen([gcp_peers.PYTHON, os.path.join(
            gcp_peers.PEERS, "azure_imds.py"), "--config", imds_cfg],
            stdout=subprocess.PIPE, text=True)
        procs.append(ip)
        imds = "http://127.0.0.1:%d" % int(ip.stdout.readline())
        jwt_value = P.issuer.token(life=3600)
        cfg = os.path.join(T, "config")
        with open(cfg, "w") as f:
            f.write("""[credfs]
state_dir = {state}
key = keyfile:{state}/key

[profile gsa]
provider = gcp-service-account
secret_file = {sa}

[profile ami]
provider = azure-managed-identity
endpoint = {imds}/metadata/identity/oauth2/token
resource = https://vault.azure.net
client_id = mi-1111
# a source of akv: handed out only because it says so
exportable = yes

[profile akv]
provider = azure-keyvault
source = ami
vault = {imds}
name = db-password

[profile tok]
provider = token-env
env = EXEC_ENV_JWT
""".format(state=state, sa=sa_file, imds=imds))
        os.chmod(cfg, 0o600)
        env0 = {"AWS_PROFILE": "x", "EXEC_ENV_JWT": jwt_value}

        rc, e, err = exec_env(cfg, "gsa", env0)
        tok = e.get("CLOUDSDK_AUTH_ACCESS_TOKEN", "")
        ok(rc == 0 and tok.startswith("ya29."),
           "gcp-service-account: CLOUDSDK_AUTH_ACCESS_TOKEN is the access "
           "token (%s)" % (err or tok[:8]))
        ok(e.get("GOOGLE_OAUTH_ACCESS_TOKEN") == tok and tok,
           "gcp-service-account: GOOGLE_OAUTH_ACCESS_TOKEN is the same token")
        ok(e.get("CREDFS_EXPIRATION", "").startswith("20") and
           e.get("CREDFS_PROFILE") == "gsa",
           "gcp-service-account: CREDFS_EXPIRATION and CREDFS_PROFILE")
        ok("CREDFS_ACCESS_TOKEN" not in e and
           not any(k.startswith("AZURE_") for k in e) and
           "AWS_ACCESS_KEY_ID" not in e,
           "gcp-service-account: no CREDFS_ACCESS_TOKEN, nothing of Azure "
           "or AWS")

        rc, e, err = exec_env(cfg, "ami", env0)
        at = e.get("AZURE_ACCESS_TOKEN", "")
        ok(rc == 0 and at.startswith("imds."),
           "azure-managed-identity: AZURE_ACCESS_TOKEN is the IMDS token "
           "(%s)" % (err or at[:5]))
        ok(e.get("AZURE_TOKEN_TYPE") == "Bearer",
           "azure-managed-identity: AZURE_TOKEN_TYPE")
        ok(e.get("AZURE_ACCESS_TOKEN_EXPIRATION", "").startswith("20") and
           "CREDFS_EXPIRATION" not in e,
           "azure-managed-identity: AZURE_ACCESS_TOKEN_EXPIRATION")
        ok(e.get("CREDFS_PROFILE") == "ami" and
           "CLOUDSDK_AUTH_ACCESS_TOKEN" not in e and
           "CREDFS_ACCESS_TOKEN" not in e,
           "azure-managed-identity: CREDFS_PROFILE, nothing of Google")

        rc, e, err = exec_env(cfg, "akv", env0)
        ok(rc == 0 and e.get("CREDFS_VALUE") == "kv secret value" and
           "AZURE_VALUE" not in e,
           "azure-keyvault: the secret is CREDFS_VALUE (%s)" % err)

        rc, e, err = exec_env(cfg, "tok", env0)
        ok(rc == 0 and e.get("CREDFS_TOKEN") == jwt_value and
           e.get("CREDFS_EXPIRATION", "").startswith("20") and
           e.get("CREDFS_PROFILE") == "tok",
           "token-env: CREDFS_TOKEN, CREDFS_EXPIRATION (%s)" % err)

        with open(os.path.join(state, "audit.log")) as f:
            lines = [json.loads(x) for x in f]
        ex = [x for x in lines if x.get("event") == "exec" and
              x.get("decision") == "allow"]
        ok(sorted(x["profile"] for x in ex) == ["akv", "ami", "gsa", "tok"],
           "four exec allow lines")
        text = json.dumps(lines)
        ok("kv secret value" not in text and jwt_value not in text,
           "no secret value in the audit log")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        P.close()
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())
