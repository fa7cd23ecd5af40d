#!/usr/bin/env python3
"""The oauth2 and oidc-issuer providers through the credfs command and a
mount: `credfs login` of a `grant = device_code` profile against npm
oidc-provider (the test approves as the user; slow_down, denial), the
access token as a `token` file, an `Authorization:` header file for
`curl -H @FILE`, a `.netrc` line for `curl --netrc-file` and an `.npmrc`
`_authToken` line, all accepted by a resource server that introspects the
token at oidc-provider; `credfs oidc jwks|discovery` and `credfs rotate`
of an oidc-issuer profile, its tokens verified with PyJWT against the
printed JWKS before and after rotation.  TAP.

As root, the whole test then runs again as the unprivileged user
credfs-test (created under CI=true), which mounts for itself.

usage: cli_mount_test.py CREDFS
"""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import oauth2_peers as op  # noqa: E402

try:
    import jwt
except ImportError as ex:
    op.skip_all("python3-jwt missing: %s" % ex)
if not shutil.which("node") or not op.npm_modules():
    op.skip_all("node or npm oidc-provider@%s unavailable"
                % op.NPM_PACKAGES["oidc-provider"])
if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
    op.skip_all("FUSE is not usable here (/dev/fuse, fusermount3)")
if not shutil.which("curl"):
    op.skip_all("curl is not installed")

CREDFS = os.path.abspath(sys.argv[1])
os.environ["CREDFS_KEYRING"] = "off"
T = op.Tap()
tmp = tempfile.mkdtemp(prefix="credfs-oauth2-cli-")
SECRET = "device-secret-0123456789abcdef"
RS_SECRET = "rs-secret-0123456789abcdef"
clients = [
    {"client_id": "device", "client_secret": SECRET,
     "grant_types": ["urn:ietf:params:oauth:grant-type:device_code",
                     "refresh_token"],
     "redirect_uris": [], "response_types": [],
     "token_endpoint_auth_method": "client_secret_basic",
     "scope": "openid offline_access api:read"},
    {"client_id": "rs", "client_secret": RS_SECRET, "grant_types": [],
     "redirect_uris": [], "response_types": [],
     "token_endpoint_auth_method": "client_secret_basic"},
]
proc, port = op.start_node("oidc_provider.js",
                           {"clients": clients,
                            "log": os.path.join(tmp, "op.log")}, tmp)
ISS = "http://127.0.0.1:%d" % port


def hook(path):
    req = urllib.request.Request(ISS + path, method="POST", data=b"")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def introspect(token):
    body = urllib.parse.urlencode({"token": token}).encode()
    req = urllib.request.Request(ISS + "/token/introspection", data=body)
    req.add_header("Authorization", "Basic " + base64.b64encode(
        ("rs:" + RS_SECRET).encode()).decode())
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def resource(headers):
    """A resource server: Bearer or Basic (netrc: the password is the
    token) checked by introspection at the provider."""
    a = headers.get("Authorization", "")
    tok = None
    if a.startswith("Bearer "):
        tok = a[7:]
    elif a.startswith("Basic "):
        tok = base64.b64decode(a[6:]).decode().split(":", 1)[-1]
    info = introspect(tok) if tok else {"active": False}
    if info.get("active") is True:
        return 200, ("hello %s" % info.get("sub")).encode()
    return 401, b"denied"


rs, RS_URL = op.serve(resource)
RS_PORT = rs.server_address[1]

state = os.path.join(tmp, "state")
mnt = os.path.join(tmp, "mnt")
os.mkdir(state, 0o700)
os.mkdir(mnt)
for name, text in (
        ("hdr.tpl", "Authorization: Bearer {{ dev.access_token }}\n"),
        ("netrc.tpl", "machine 127.0.0.1 login oauth password "
                      "{{ dev.access_token }}\n"),
        ("npmrc.tpl", "//127.0.0.1:%d/:_authToken={{ dev.access_token }}\n"
         % RS_PORT)):
    with open(os.path.join(tmp, name), "w") as f:
        f.write(text)
WL_ISS = "https://credfs.test/wl"
cfg = os.path.join(tmp, "config")
with open(cfg, "w") as f:
    f.write("""[credfs]
state_dir = {state}
key = keyfile:{state}/key
audit_log = {state}/audit.log

[profile dev]
provider = oauth2
grant = device_code
issuer = {iss}
client_id = device
client_auth = basic
secret = cl-dev
scope = openid offline_access api:read

[profile wl]
provider = oidc-issuer
issuer = {wliss}
audience = test-aud
subject = svc/{{profile}}
lifetime = 5m

[file dev-token]
format = token
profiles = dev

[file auth-header]
format = template
template = {tmp}/hdr.tpl
profiles = dev

[file netrc]
format = template
template = {tmp}/netrc.tpl
profiles = dev

[file npmrc]
format = template
template = {tmp}/npmrc.tpl
profiles = dev

[file wl-token]
format = token
field = id_token
profiles = wl

[file wl-caller]
format = token
field = id_token
profiles = wl
view = per-caller
allow = uid:{uid} profiles:wl
""".format(state=state, iss=ISS, wliss=WL_ISS, tmp=tmp, uid=os.getuid()))


def credfs(*args, stdin=None, timeout=60):
    return subprocess.run([CREDFS, "-c", cfg] + list(args), input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def read(name):
    with open(os.path.join(mnt, name)) as f:
        return f.read()


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "20"] + list(args),
                          capture_output=True, text=True, timeout=30)


def login_popen():
    return subprocess.Popen([CREDFS, "-c", cfg, "login", "dev"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def start_login():
    p = login_popen()
    head = ""
    while "expires in" not in head:
        line = p.stdout.readline()
        if not line:
            break
        head += line
    m = re.search(r"enter the code: (\S+)", head)
    iv = re.search(r"checking every (\d+) s", head)
    return p, head, m.group(1) if m else "", int(iv.group(1)) if iv else 5


def verify(tok, jwks):
    kid = jwt.get_unverified_header(tok)["kid"]
    key = [k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid]
    if not key:
        return None
    return jwt.decode(tok, key[0].key, algorithms=["ES256", "RS256"],
                      audience="test-aud", issuer=WL_ISS)


mounted = False
try:
    p = credfs("check")
    T.ok(p.returncode == 0, "credfs check: device_code and oidc-issuer "
         "profiles (%s)" % (p.stdout + p.stderr).strip())
    p = credfs("store", "add", "cl-dev",
               stdin="client_id=device\nclient_secret=%s\n" % SECRET)
    T.ok(p.returncode == 0, "store add cl-dev: %s" % p.stderr.strip())
    p = credfs("mount", mnt)
    if p.returncode != 0:
        T.ok(False, "credfs mount: %s" % p.stderr.strip())
        raise SystemExit
    mounted = True

    st = json.loads(credfs("status", "--json").stdout or "{}")
    try:
        read("dev-token")
    except OSError:
        pass
    st = json.loads(credfs("status", "--json").stdout or "{}")
    err = [x.get("last_error") or "" for x in st.get("profiles", [])
           if x.get("profile") == "dev"]
    T.ok(err and "credfs login dev" in err[0],
         "before login, status says to run credfs login: %s" % err)

    # Login: the test is the user; the first poll is told to slow down.
    p, head, code, interval = start_login()
    T.ok(code and (ISS + "/device") in head and
         ("user_code=" + code) in head,
         "login prints the user code, the URL and the complete URL:\n# " +
         head.replace("\n", "\n# "))
    hook("/test/slowdown?n=1")
    time.sleep(interval + 1.5)
    hook("/test/approve?user_code=" + code)
    out, errout = p.communicate(timeout=90)
    T.ok(p.returncode == 0 and "signed in" in out and
         "sealed in store entry cl-dev" in out and
         "the running mount refreshed" in out,
         "login: approved, refresh token sealed, the mount refreshed: "
         "%r %r" % (out, errout[-300:]))
    T.ok("slow_down" in errout and
         "checking every %d s" % (interval + 5) in errout,
         "login: slow_down lengthens the polling interval by 5 s")

    tok = read("dev-token")
    info = introspect(tok)
    T.ok(info.get("active") is True and info.get("client_id") == "device",
         "dev-token: an access token the provider says is active")
    hdr = os.path.join(mnt, "auth-header")
    c = curl("-H", "@" + hdr, RS_URL)
    T.ok(c.returncode == 0 and c.stdout.startswith("hello "),
         "curl -H @auth-header: the resource server admits it (%s)"
         % (c.stdout + c.stderr).strip())
    c = curl("--netrc-file", os.path.join(mnt, "netrc"), RS_URL)
    T.ok(c.returncode == 0 and c.stdout.startswith("hello "),
         "curl --netrc-file: admitted (%s)" % (c.stdout + c.stderr).strip())
    npmrc = read("npmrc")
    m = re.match(r"^//127\.0\.0\.1:\d+/:_authToken=(\S+)\n$", npmrc)
    c = curl("-H", "Authorization: Bearer " + (m.group(1) if m else ""),
             RS_URL)
    T.ok(m and m.group(1) == tok and c.stdout.startswith("hello "),
         ".npmrc: one _authToken line with the live token")
    c = curl("-H", "Authorization: Bearer not-a-token", RS_URL)
    T.ok("denied" in c.stdout, "the resource server refuses a wrong token")

    # Denied at the provider: exit 1, a clear line; the token stays.
    p, head, code, interval = start_login()
    hook("/test/approve?deny=1&user_code=" + code)
    out, errout = p.communicate(timeout=90)
    T.ok(p.returncode == 1 and "denied" in errout and
         "access_denied" in errout and read("dev-token") == tok,
         "login denied: exit 1, says so, the served token is kept: %r"
         % errout.strip()[-200:])

    # oidc-issuer: JWKS and discovery; tokens verify before and after
    # rotation, the old key staying in the JWKS.
    p = credfs("oidc", "discovery", "wl")
    disc = json.loads(p.stdout) if p.returncode == 0 else {}
    T.ok(disc.get("issuer") == WL_ISS and
         disc.get("jwks_uri", "").startswith(WL_ISS),
         "credfs oidc discovery wl: issuer and jwks_uri")
    p = credfs("oidc", "jwks", "wl")
    jwks1 = json.loads(p.stdout) if p.returncode == 0 else {"keys": []}
    T.ok(len(jwks1["keys"]) == 1 and "d" not in jwks1["keys"][0] and
         "private" not in p.stdout.lower(),
         "credfs oidc jwks wl: one public key, no private member")
    t1 = read("wl-token")
    c1 = verify(t1, jwks1)
    T.ok(c1 and c1["sub"] == "svc/wl" and c1["exp"] - c1["iat"] == 300,
         "wl-token verifies with PyJWT against the printed JWKS")
    p = credfs("oidc", "jwks", "dev")
    T.ok(p.returncode == 2 and "oidc-issuer" in p.stderr,
         "credfs oidc jwks of an oauth2 profile: a usage error")
    p = credfs("rotate", "wl")
    T.ok(p.returncode == 0 and "new signing key" in p.stdout,
         "credfs rotate wl: %s" % (p.stdout + p.stderr).strip())
    jwks2 = json.loads(credfs("oidc", "jwks", "wl").stdout)
    t2 = read("wl-token")
    c2 = verify(t2, jwks2)
    k1 = jwt.get_unverified_header(t1)["kid"]
    k2 = jwt.get_unverified_header(t2)["kid"]
    T.ok(len(jwks2["keys"]) == 2 and k1 != k2 and c2 and
         verify(t1, jwks2) is not None,
         "after rotate: a new key signs, the old one stays in the JWKS "
         "and its token still verifies")
    T.ok(verify(t2, jwks1) is None,
         "the new token's key is not in the old JWKS")

    # view = per-caller: the token describes its reader.
    def read_with(prog):
        exe = os.path.realpath(shutil.which(prog[0]))
        out = subprocess.run(prog + [os.path.join(mnt, "wl-caller")],
                             capture_output=True, text=True, timeout=30)
        with open(exe, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        return out.stdout, exe, digest

    with open("/proc/self/cgroup") as f:
        cg = [x[3:].strip() for x in f if x.startswith("0::")]
    got = []
    for prog in (["cat"], ["head", "-c", "100000"]):
        tok, exe, digest = read_with(prog)
        cl = verify(tok, jwks2) if tok else None
        got.append(cl)
        T.ok(cl and cl["exe"] == exe and cl["exe_sha256"] == digest and
             cl["uid"] == os.getuid() and cl["cgroup"] == (cg or [""])[0]
             and cl["sub"] == "svc/wl:uid:%d:exe_sha256:%s"
             % (os.getuid(), digest),
             "per-caller token read by %s names its exe, hash, uid and "
             "cgroup: %s" % (prog[0], cl and {k: cl[k] for k in cl if k in
                             ("sub", "exe", "uid", "cgroup")}))
    T.ok(got[0] and got[1] and got[0]["sub"] != got[1]["sub"] and
         got[0]["jti"] != got[1]["jti"],
         "two executables reading one file get different sub")
    shared = jwt.decode(read("wl-token"), options={"verify_signature":
                                                   False})
    T.ok("exe" not in shared and "uid" not in shared,
         "the shared (not per-caller) file carries no reader claims")

    audit = open(os.path.join(state, "audit.log")).read()
    ev = [json.loads(x) for x in audit.splitlines() if x.strip()]
    T.ok(any(e.get("event") == "rotate" and e.get("profile") == "wl"
             for e in ev) and
         any(e.get("event") == "store" and e.get("command") == "login"
             for e in ev), "audit: rotate and the login's store event")
    logs = audit
    for root, _, files in os.walk(state):
        for n in files:
            if n.endswith(".log"):
                logs += open(os.path.join(root, n), errors="replace").read()
    leak = [s for s in (tok, SECRET, t1, t2) if s in logs or
            base64.b64encode(s.encode()).decode() in logs]
    T.ok(not leak and tok not in out + errout,
         "no token or client secret in the logs or the login's output")
finally:
    if mounted:
        credfs("umount", mnt)
    proc.kill()
    rs.shutdown()


def as_test_user():
    """This test again as credfs-test: one TAP line for its result."""
    user = os.environ.get("CREDFS_TEST_USER", "credfs-test")
    import pwd
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        if os.environ.get("CI") == "true":
            subprocess.run(["useradd", "--create-home", "--shell",
                            "/bin/bash", user], check=False)
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            T.ok(False, "the test user %s exists (add it: useradd "
                 "--create-home %s)" % (user, user))
            return
    home = tempfile.mkdtemp(prefix="credfs-oauth2-user-")
    os.chown(home, pw.pw_uid, pw.pw_gid)
    p = subprocess.run(
        ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
         "--init-groups", "env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin",
         "HOME=" + home, "TMPDIR=" + home, "USER=" + user, "LANG=C.UTF-8",
         "CI=" + os.environ.get("CI", ""), "/usr/bin/python3",
         os.path.abspath(__file__), CREDFS],
        capture_output=True, text=True, timeout=240)
    bad = [x for x in p.stdout.splitlines() if x.startswith("not ok")]
    n = len([x for x in p.stdout.splitlines() if x.startswith("ok")])
    T.ok(p.returncode == 0 and not bad and n >= 25,
         "as %s: %d passed%s" % (user, n, "".join(
             "\n# " + x for x in bad + p.stderr.splitlines()[-5:])))
    shutil.rmtree(home, ignore_errors=True)


if os.getuid() == 0:
    as_test_user()
T.done()
