#!/usr/bin/env python3
"""An unmodified gcloud 528 reading tokens from a credfs mount.

usage: mount_gcloud_test.py CREDFS_BINARY

Mounts credfs with a gcp-service-account profile (its key in a 0600 file,
its token_uri the OAuth2 emulator) and a gcp-external-account profile
(subject JWT file -> STS emulator -> IAM emulator), each served as a
`token` file.  gcloud, with CLOUDSDK_AUTH_ACCESS_TOKEN_FILE on the mount,
prints the token credfs obtained; after `credfs refresh` the next gcloud
prints the new one.  With the key disabled at the token endpoint, a
refresh fails with Google's error in `credfs status` and a refresh_failed
audit event, the valid token is still served, and no secret reaches the
daemon log or the audit log.  TAP.
"""
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))
import tap  # noqa: E402
from tap import CI, ok, skip_all  # noqa: E402

try:
    import gcp_peers
except ImportError as ex:
    skip_all("python3-jwt / python3-cryptography missing: %s" % ex)

CREDFS = os.path.abspath(sys.argv[1])
GCLOUD = shutil.which("gcloud")
if not GCLOUD:
    skip_all("gcloud is not installed")
if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
    skip_all("FUSE is not usable here (/dev/fuse, fusermount3)")
os.environ["CREDFS_KEYRING"] = "off"


def credfs(cfg, *args, check=False):
    p = subprocess.run([CREDFS, "-c", cfg] + list(args), capture_output=True,
                       text=True, timeout=60)
    if check and p.returncode != 0:
        raise RuntimeError("credfs %s: %s" % (" ".join(args), p.stderr))
    return p


def gcloud(env, *args):
    return subprocess.run([GCLOUD] + list(args), capture_output=True,
                          text=True, timeout=120, env=env)


def read(path):
    with open(path) as f:
        return f.read()


def main():
    P = gcp_peers.Peers(prefix="credfs-gcp-mnt-").start()
    T = P.tmp
    mnt = os.path.join(T, "mnt")
    state = os.path.join(T, "credfs-state")
    os.mkdir(mnt)
    os.mkdir(state, 0o700)
    cfg = os.path.join(T, "config")
    sa_file = P.write_json("sa.json", P.sa_info())
    os.chmod(sa_file, 0o600)
    subject = P.path("subject.jwt")
    with open(subject, "w") as f:
        f.write(P.issuer.token(life=3600))
    imp = ("%s/v1/projects/-/serviceAccounts/%s:generateAccessToken" %
           (P.iam, P.target_sa))
    with open(cfg, "w") as f:
        f.write("""[credfs]
state_dir = {state}
key = keyfile:{state}/key
audit_log = {state}/audit.log

[profile sa]
provider = gcp-service-account
secret_file = {sa}

[profile wif]
provider = gcp-external-account
audience = {aud}
token_file = {subject}
endpoint = {sts}/v1/token
service_account_impersonation_url = {imp}

[file token]
format = token
profiles = sa

[file wif-token]
format = token
profiles = wif
""".format(state=state, sa=sa_file, aud=gcp_peers.AUDIENCE, subject=subject,
           sts=P.sts, imp=imp))
    mounted = False
    try:
        p = credfs(cfg, "check")
        ok(p.returncode == 0, "credfs check accepts the GCP profiles (%s)" %
           (p.stdout + p.stderr).strip())
        p = credfs(cfg, "mount", mnt)
        if p.returncode != 0:
            why = p.stderr.strip()
            if "fuse" in why.lower() or "mount" in why.lower():
                print("# cannot mount here: %s" % why)
                ok(not CI, "FUSE mount possible (not under CI=true)")
                return
            ok(False, "credfs mount: %s" % why)
            return
        mounted = True
        tok = read(os.path.join(mnt, "token"))
        ok(tok.startswith("ya29.emu.") and not tok.endswith("\n"),
           "token file: the service account's access token, no newline")
        wif = read(os.path.join(mnt, "wif-token"))
        ok(wif.startswith("ya29.emu.") and wif != tok,
           "wif-token file: the impersonated token of the federation chain")

        gdir = os.path.join(T, "gcloud")
        os.mkdir(gdir, 0o700)
        env = dict(os.environ, CLOUDSDK_CONFIG=gdir,
                   CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=os.path.join(mnt,
                                                                "token"),
                   CLOUDSDK_CORE_DISABLE_PROMPTS="1",
                   CLOUDSDK_CORE_DISABLE_USAGE_REPORTING="1",
                   CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK="1",
                   GOOGLE_CLOUD_PROJECT="credfs-test")
        g = gcloud(env, "auth", "print-access-token")
        ok(g.returncode == 0 and g.stdout.strip() == tok,
           "gcloud auth print-access-token prints the token credfs "
           "obtained (%s)" % g.stderr.strip()[-200:])

        p = credfs(cfg, "refresh", "sa")
        tok2 = read(os.path.join(mnt, "token"))
        ok(p.returncode == 0 and tok2.startswith("ya29.emu.") and
           tok2 != tok, "credfs refresh sa: a new token is served (%s)" %
           p.stderr.strip())
        g = gcloud(env, "auth", "print-access-token")
        ok(g.returncode == 0 and g.stdout.strip() == tok2,
           "the next gcloud prints the new token")

        # The key is disabled at Google: the refresh fails, loudly.
        P.revoke_key()
        p = credfs(cfg, "refresh", "sa")
        st = json.loads(credfs(cfg, "status", "--json").stdout)
        prof = [x for x in st.get("profiles", []) if x.get("profile") ==
                "sa"]
        err = (prof[0].get("last_error") or "") if prof else ""
        ok(p.returncode != 0 and "invalid_grant" in err and
           "account not found" in err,
           "disabled key: refresh fails, status names Google's error: %s" %
           err)
        text = credfs(cfg, "status").stdout
        ok("invalid_grant" in text, "text status shows invalid_grant")
        ok(read(os.path.join(mnt, "token")) == tok2,
           "the still-valid token is served after the failed refresh")
        g = gcloud(env, "auth", "print-access-token")
        ok(g.returncode == 0 and g.stdout.strip() == tok2,
           "gcloud still works with the valid token")
        audit = read(os.path.join(state, "audit.log"))
        ev = [json.loads(x) for x in audit.splitlines() if x.strip()]
        rf = [e for e in ev if e.get("event") == "refresh_failed" and
              e.get("profile") == "sa"]
        ok(rf and "invalid_grant" in json.dumps(rf[-1]),
           "audit: refresh_failed for sa with invalid_grant")
        opens = [e for e in ev if e.get("event") == "open" and
                 e.get("file") == "token"]
        ok(len(opens) >= 3, "audit: each gcloud open of the token file is "
           "an open event (%d)" % len(opens))
        P.restore_key()
        logs = audit + read(os.path.join(state, "credfs.log")) if \
            os.path.exists(os.path.join(state, "credfs.log")) else audit
        key = P.sa_info()["private_key"].splitlines()[5]
        ok(tok not in logs and tok2 not in logs and key not in logs and
           wif not in logs,
           "no token or key line in the daemon log or the audit log")
    finally:
        if mounted:
            credfs(cfg, "umount", mnt)
            for _ in range(50):
                if mnt not in open("/proc/mounts").read():
                    break
                time.sleep(0.1)
            else:
                subprocess.run(["fusermount3", "-uz", mnt])
        P.close()


main()
tap.done()
