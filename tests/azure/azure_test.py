#!/usr/bin/env python3
"""The Azure providers: azure-client against oauth2-mock-server over HTTPS
with a test CA posing as an Entra tenant (tests/peers/entra_mock.js:
client secret, certificate assertion with x5t#S256, federated assertion
from an oidc-issuer profile), azure-managed-identity and azure-keyvault
against tests/peers/azure_imds.py, and Node's @azure/identity
WorkloadIdentityCredential exchanging an assertion credfs minted.  TAP.

With CREDFS as well, the assertion is served by a mount as the
AZURE_FEDERATED_TOKEN_FILE of @azure/identity and of Debian's
python3-azure (azure-identity): the tenant sees exactly the served JWT, a
refreshed one reaches the next reader, and none is ever served with less
than refresh_before left.

usage: azure_test.py PROVIDER_TOOL [CREDFS]
"""
import base64
import datetime
import errno
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "oauth2"))
import oauth2_peers as op  # noqa: E402

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID
except ImportError as ex:
    op.skip_all("python3-cryptography missing: %s" % ex)
if not shutil.which("node") or not op.npm_modules():
    op.skip_all("node or the npm packages of tests/oauth2 unavailable")

T = op.Tap()
tmp = tempfile.mkdtemp(prefix="credfs-azure-")
tool = op.Tool(sys.argv[1], tmp)
path = lambda n: os.path.join(tmp, n)  # noqa: E731
sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CID = "8a5f2c1e-0d6b-4f7e-9a3c-5b1d2e3f4a5b"
SECRET = "Q~entra-test-secret-0123456789"
FED_ISS = "https://credfs.test/wl"
FED_SUB = "system:serviceaccount:apps:wl"


def write(name, data):
    with open(path(name), "w") as f:
        f.write(data)
    return path(name)


def pem_key(k):
    return k.private_bytes(serialization.Encoding.PEM,
                           serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()


def cert(subject, key, issuer=None, issuer_key=None, ca=False, ip=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    b = (x509.CertificateBuilder().subject_name(name)
         .issuer_name(issuer.subject if issuer else name)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None),
                        critical=True))
    if ip:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
    c = b.sign(issuer_key or key, hashes.SHA256())
    return c.public_bytes(serialization.Encoding.PEM).decode()


ca_key = ec.generate_private_key(ec.SECP256R1())
ca_pem = cert("credfs test CA", ca_key, ca=True)
ca_obj = x509.load_pem_x509_certificate(ca_pem.encode())
srv_key = ec.generate_private_key(ec.SECP256R1())
write("ca.pem", ca_pem)
write("other-ca.pem", cert("another CA", ec.generate_private_key(
    ec.SECP256R1()), ca=True))
write("tls.key", pem_key(srv_key))
write("tls.crt", cert("127.0.0.1", srv_key, ca_obj, ca_key, ip="127.0.0.1"))
app_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
app_cert = cert("credfs-app", app_key)
write("app.crt", app_cert)
stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

# The oidc-issuer profile whose tokens the tenant trusts.
fed = {"s.provider": "oidc-issuer", "s.issuer": FED_ISS,
       "s.audience": "api://AzureADTokenExchange", "s.subject": FED_SUB,
       "s.key": "oidc-wl"}
fed_plain = {k[2:]: v for k, v in fed.items()}
p = tool.run("oidc", "jwks", "wl", *["%s=%s" % i for i in fed_plain.items()])
write("fed_jwks.json", p.stdout)

entra_log, imds_log = path("entra.log"), path("imds.log")
procs = []
PY_WI = """
# Debian's azure-identity 1.13: ManagedIdentityCredential exchanges
# AZURE_FEDERATED_TOKEN_FILE when AZURE_TENANT_ID and AZURE_CLIENT_ID are
# set too (the AKS workload identity path); newer releases add
# WorkloadIdentityCredential for the same.
import json, sys
import azure.identity as ai
c = getattr(ai, "WorkloadIdentityCredential", ai.ManagedIdentityCredential)()
print(json.dumps({"token": c.get_token(sys.argv[1]).token}))
"""


def mount_readers():
    """The assertion as a file of a mount, read by unmodified SDKs."""
    credfs = os.path.abspath(sys.argv[2])
    state, mnt = path("mstate"), path("mnt")
    os.mkdir(state, 0o700)
    os.mkdir(mnt)
    cfg = write("credfs.conf", """[credfs]
state_dir = {s}
key = keyfile:{s}/key
audit_log = {s}/audit.log
refresh_before = 1m

[profile wl]
provider = oidc-issuer
issuer = {iss}
audience = api://AzureADTokenExchange
subject = {sub}
lifetime = 2m
key = oidc-mnt

[file azure/assertion]
format = token
field = id_token
profiles = wl
""".format(s=state, iss=FED_ISS, sub=FED_SUB))

    def cf(*a):
        return subprocess.run([credfs, "-c", cfg] + list(a), text=True,
                              capture_output=True, timeout=60,
                              env=dict(os.environ, CREDFS_KEYRING="off"))

    p = cf("oidc", "jwks", "wl")
    with open(path("fed_jwks.json")) as f:
        keys = json.load(f)["keys"]
    write("fed_jwks.json", json.dumps(
        {"keys": keys + json.loads(p.stdout)["keys"]}))
    p = cf("mount", mnt)
    if p.returncode != 0:
        T.ok(False, "credfs mount: %s" % p.stderr.strip())
        return
    f_path = os.path.join(mnt, "azure", "assertion")
    env = dict(os.environ, NODE_PATH=op.NODE_MODULES,
               NODE_EXTRA_CA_CERTS=path("ca.pem"),
               REQUESTS_CA_BUNDLE=path("ca.pem"),
               AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=CID,
               AZURE_FEDERATED_TOKEN_FILE=f_path, AZURE_AUTHORITY_HOST=AUTH)

    def reader(argv):
        p = subprocess.run(argv + ["https://vault.azure.net/.default"],
                           capture_output=True, text=True, env=env,
                           timeout=120)
        try:
            return json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"error": p.stderr[-800:]}

    node = ["node", os.path.join(HERE, "node_wi.js")]
    pyr = ["/usr/bin/python3", "-c", PY_WI]
    try:
        served = open(f_path).read()
        out = reader(node)
        L = last(entra_log)
        T.ok(out.get("token", "").count(".") == 2 and
             L.get("assertion_sha256") == sha(served),
             "@azure/identity with AZURE_FEDERATED_TOKEN_FILE on the mount: "
             "the tenant saw exactly the served JWT %s" % out.get("error",
                                                                  ""))
        out = reader(pyr)
        L = last(entra_log)
        T.ok(out.get("token", "").count(".") == 2 and
             L.get("assertion_sha256") == sha(open(f_path).read()),
             "python3-azure (azure-identity) with AZURE_FEDERATED_TOKEN_FILE "
             "on the mount: the tenant saw the served JWT %s"
             % out.get("error", ""))
        # lifetime 2m, refresh_before 1m: read for 75 s; every assertion
        # served has at least a minute left, and a new one replaces it.
        seen, worst, end = [], 999, time.time() + 75
        while time.time() < end:
            tok = open(f_path).read()
            left = json.loads(base64.urlsafe_b64decode(
                tok.split(".")[1] + "==="))["exp"] - time.time()
            worst = min(worst, left)
            if tok not in seen:
                seen.append(tok)
            time.sleep(3)
        T.ok(len(seen) >= 2 and worst >= 60 - 2,
             "never an assertion with less than refresh_before left "
             "(%d served, least left %.0f s)" % (len(seen), worst))
        out = reader(node)
        L = last(entra_log)
        T.ok(out.get("token") and L.get("assertion_sha256") == sha(seen[-1])
             and sha(seen[-1]) != sha(served),
             "the refreshed assertion reaches the next SDK read")
    finally:
        cf("umount", mnt)
def mount_readers_user(last):
    """The same as credfs-test: its own mount (fusermount3), and Debian's
    azure-identity run as that user reading the assertion from it."""
    import pwd
    user = os.environ.get("CREDFS_TEST_USER", "credfs-test")
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        T.ok(False, "the test user %s exists (run-all adds it under "
             "CI=true; else: useradd --create-home %s)" % (user, user))
        return
    ud = tempfile.mkdtemp(prefix="credfs-azure-user-")
    os.chmod(ud, 0o755)
    shutil.copy(os.path.abspath(sys.argv[2]), os.path.join(ud, "credfs"))
    shutil.copy(path("ca.pem"), os.path.join(ud, "ca.pem"))
    for d in ("state", "mnt"):
        os.mkdir(os.path.join(ud, d), 0o700)
    cfg = os.path.join(ud, "credfs.conf")
    with open(cfg, "w") as f:
        f.write("""[credfs]
state_dir = {d}/state
key = keyfile:{d}/state/key
refresh_before = 1m

[profile wl]
provider = oidc-issuer
issuer = {iss}
audience = api://AzureADTokenExchange
subject = {sub}
lifetime = 2m
key = oidc-user

[file azure/assertion]
format = token
field = id_token
profiles = wl
""".format(d=ud, iss=FED_ISS, sub=FED_SUB))
    for root, dirs, files in os.walk(ud):
        for n in dirs + files:
            os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
    os.chown(ud, pw.pw_uid, pw.pw_gid)
    os.chmod(cfg, 0o600)
    mnt = os.path.join(ud, "mnt")
    f_path = os.path.join(mnt, "azure", "assertion")

    def as_user(argv, **env):
        e = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + ud,
             "LANG=C.UTF-8", "CREDFS_KEYRING=off"]
        e += ["%s=%s" % kv for kv in env.items()]
        return subprocess.run(
            ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
             "--init-groups", "env", "-i"] + e + argv,
            capture_output=True, text=True, timeout=120)

    cf = [os.path.join(ud, "credfs"), "-c", cfg]
    mounted = False
    try:
        p = as_user(cf + ["oidc", "jwks", "wl"])
        with open(path("fed_jwks.json")) as f:
            keys = json.load(f)["keys"]
        write("fed_jwks.json", json.dumps(
            {"keys": keys + json.loads(p.stdout)["keys"]}))
        p = as_user(cf + ["mount", mnt])
        mounted = p.returncode == 0
        mounts = open("/proc/self/mounts").read().split()
        T.ok(mounted and mnt in mounts,
             "as %s: its own mount of the assertion %s" % (user, p.stderr))
        if not mounted:
            return
        p = as_user(["/usr/bin/python3", "-c", PY_WI + "\n"
                     "print(json.dumps({'served': open(%r).read()}))\n"
                     % f_path, "https://vault.azure.net/.default"],
                    REQUESTS_CA_BUNDLE=os.path.join(ud, "ca.pem"),
                    AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=CID,
                    AZURE_FEDERATED_TOKEN_FILE=f_path,
                    AZURE_AUTHORITY_HOST=AUTH)
        try:
            lines = p.stdout.strip().splitlines()
            tok = json.loads(lines[-2])["token"]
            served = json.loads(lines[-1])["served"]
        except (ValueError, IndexError, KeyError):
            tok, served = "", ""
        L = last(entra_log)
        T.ok(tok.count(".") == 2 and served.count(".") == 2 and
             L.get("assertion_sha256") == sha(served),
             "as %s: python3-azure read the assertion from the user's mount "
             "and the tenant saw exactly it %s" % (user, p.stderr[-600:]))
        p = subprocess.run(["cat", f_path], capture_output=True, text=True)
        T.ok(p.returncode != 0,
             "root is refused by the user's mount (no allow_other): %s"
             % p.stderr.strip())
    finally:
        if mounted:
            as_user(cf + ["umount", mnt])
        shutil.rmtree(ud, ignore_errors=True)


try:
    ep, eport = op.start_node("entra_mock.js", {
        "tenant": TENANT, "client_id": CID, "client_secret": SECRET,
        "key": path("tls.key"), "cert": path("tls.crt"),
        "fed_issuer": FED_ISS, "fed_subject": FED_SUB,
        "fed_jwks_file": path("fed_jwks.json"),
        "cert_pem_file": path("app.crt"), "log": entra_log}, tmp)
    procs.append(ep)
    write("imds.json", json.dumps({
        "identities": ["mi-1111", "mi-2222"],
        "secrets": {"db-password": {"v1": "old pass", "v2": "s3cr3t pass"}},
        "latest": {"db-password": "v2"}}))
    ip = subprocess.Popen([sys.executable if not os.path.exists(
        "/usr/bin/python3") else "/usr/bin/python3",
        os.path.join(op.PEERS, "azure_imds.py"), "--config",
        path("imds.json"), "--log", imds_log], stdout=subprocess.PIPE,
        text=True)
    procs.append(ip)
    iport = int(ip.stdout.readline())
    AUTH = "https://127.0.0.1:%d" % eport
    IMDS = "http://127.0.0.1:%d" % iport

    def last(log):
        with open(log) as f:
            return json.loads(f.read().splitlines()[-1])

    client = {"provider": "azure-client", "tenant": TENANT,
              "client_id": CID, "authority": AUTH,
              "ca_file": path("ca.pem"),
              "scope": "https://management.azure.com/.default"}

    def good(res, life=3600):
        now = time.time()
        return (res["r"] == 0 and
                res["fields"].get("access_token", "").count(".") == 2 and
                now + life - 10 <= res["exp"] <= now + life + 5)

    tool.put("az-app", client_secret=SECRET)
    res = tool.fetch("app", secret="az-app", **client)
    L = last(entra_log)
    T.ok(good(res) and L["auth"] == "secret" and L["status"] == 200 and
         L["scope"] == client["scope"],
         "azure-client, client secret, over HTTPS with the test CA: %s"
         % res["msg"])
    tool.put("az-bad", client_secret="not-it")
    res = tool.fetch("app", secret="az-bad", **client)
    T.ok(res["r"] == -errno.EKEYREJECTED and "invalid_client" in res["msg"]
         and "AADSTS7000215" in res["msg"] and "not-it" not in res["msg"],
         "wrong client secret: %s" % res["msg"])
    res = tool.fetch("app", secret="az-app",
                     **dict(client, ca_file=path("other-ca.pem")))
    T.ok(res["r"] != 0 and not res["fields"] and
         "certificate" in res["msg"],
         "a server the CA file does not vouch for is refused: %s"
         % res["msg"])

    tool.put("az-cert", certificate=app_cert, private_key=pem_key(app_key))
    res = tool.fetch("app", secret="az-cert", **client)
    T.ok(good(res) and last(entra_log)["auth"] == "assertion",
         "azure-client, certificate assertion with x5t#S256: %s" % res["msg"])
    other = cert("other", stranger)
    tool.put("az-cert2", certificate=other, private_key=pem_key(stranger))
    res = tool.fetch("app", secret="az-cert2", **client)
    T.ok(res["r"] == -errno.EKEYREJECTED and "AADSTS700027" in res["msg"],
         "a certificate the app does not have: %s" % res["msg"])
    tool.put("az-cert3", certificate=app_cert, private_key=pem_key(stranger))
    res = tool.fetch("app", secret="az-cert3", **client)
    T.ok(res["r"] == -errno.EINVAL and "certificate" in res["msg"],
         "a key that is not the certificate's: %s" % res["msg"])

    res = tool.fetch("app", **dict(client, **fed))
    T.ok(good(res) and last(entra_log)["auth"] == "assertion",
         "azure-client, federated assertion from an oidc-issuer source: %s"
         % res["msg"])
    res = tool.fetch("app", **dict(client, **dict(fed, **{
        "s.subject": "system:serviceaccount:apps:other"})))
    T.ok(res["r"] == -errno.EKEYREJECTED and "AADSTS70021" in res["msg"],
         "federated assertion with another subject: %s" % res["msg"])

    # Node @azure/identity WorkloadIdentityCredential with a credfs token.
    VER = op.NPM_PACKAGES["@azure/identity"]
    minted = tool.fetch("wl", **fed_plain)["fields"].get("token", "")
    write("federated-token", minted)
    env = dict(os.environ, NODE_PATH=op.NODE_MODULES,
               NODE_EXTRA_CA_CERTS=path("ca.pem"),
               AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=CID,
               AZURE_FEDERATED_TOKEN_FILE=path("federated-token"),
               AZURE_AUTHORITY_HOST=AUTH)
    p = subprocess.run(["node", os.path.join(HERE, "node_wi.js"),
                        "https://vault.azure.net/.default"],
                       capture_output=True, text=True, env=env, timeout=120)
    try:
        out = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        out = {"error": p.stderr[-1500:]}
    if "token" not in out:
        T.note(p.stderr[-2000:])
    L = last(entra_log)
    T.ok(out.get("token", "").count(".") == 2 and
         L.get("assertion_sha256") == sha(minted) and L["status"] == 200,
         "@azure/identity %s WorkloadIdentityCredential: token for the "
         "assertion credfs minted; the tenant saw exactly that JWT%s"
         % (VER, "" if "token" in out else ": " + out.get("error", "")))

    # Managed identity.
    mi = {"provider": "azure-managed-identity",
          "endpoint": IMDS + "/metadata/identity/oauth2/token",
          "resource": "https://vault.azure.net", "client_id": "mi-2222"}
    res = tool.fetch("mi", **mi)
    L = last(imds_log)
    T.ok(res["r"] == 0 and
         res["fields"]["access_token"].startswith("imds.") and
         L["client_id"] == "mi-2222" and
         abs(res["exp"] - (time.time() + 86399)) < 10,
         "azure-managed-identity: IMDS token for a user-assigned identity, "
         "expires_in as a string: %s" % res["msg"])
    res = tool.fetch("mi", **dict(mi, client_id="mi-9999"))
    T.ok(res["r"] == -errno.EINVAL and "Identity not found" in res["msg"],
         "unknown identity: %s" % res["msg"])
    res = tool.fetch("mi", **{k: v for k, v in mi.items()
                              if k != "client_id"})
    T.ok(res["r"] != 0 and "Multiple user assigned" in res["msg"],
         "two identities and no client_id: %s" % res["msg"])

    # Key Vault with a managed-identity token.
    src = {"s." + k: v for k, v in mi.items()}
    kv = {"provider": "azure-keyvault", "vault": IMDS, "name": "db-password"}
    res = tool.fetch("kv", **dict(kv, **src))
    T.ok(res["r"] == 0 and res["fields"].get("value") == "s3cr3t pass" and
         abs(res["exp"] - (time.time() + 3600)) < 10,
         "azure-keyvault: the latest version, 1 h: %s" % res["msg"])
    res = tool.fetch("kv", version="v1", **dict(kv, **src))
    T.ok(res["r"] == 0 and res["fields"].get("value") == "old pass",
         "azure-keyvault: a given version: %s" % res["msg"])
    res = tool.fetch("kv", **dict(kv, name="nope", **src))
    T.ok(res["r"] == -errno.ENOENT and "SecretNotFound" in res["msg"],
         "azure-keyvault: no such secret: %s" % res["msg"])
    res = tool.fetch("kv", **dict(kv, **dict(
        src, **{"s.resource": "https://management.azure.com"})))
    T.ok(res["r"] == -errno.EKEYREJECTED and "Unauthorized" in res["msg"],
         "azure-keyvault: a token for another resource: %s" % res["msg"])
    res = tool.fetch("kv", **dict(kv, name="../x", **src))
    T.ok(res["r"] == -errno.EINVAL and "name" in res["msg"],
         "azure-keyvault: a name that is not a secret name: %s" % res["msg"])
    if len(sys.argv) > 2:
        mount_readers()
        if os.getuid() == 0:
            mount_readers_user(last)
finally:
    for p in procs:
        p.kill()
        p.wait()
    shutil.rmtree(tmp, ignore_errors=True)
T.done()
