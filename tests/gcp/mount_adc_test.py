#!/usr/bin/env python3
"""A credfs mount over a directory standing in for ~/.config/gcloud, read by
unmodified Google readers, as root and as the unprivileged test user.

usage: mount_adc_test.py CREDFS_BINARY

The service-account key goes into the store with `credfs store import-gcp`
(the plaintext named for shredding, then removed).  The mount serves:
  application_default_credentials.json  gcp-adc (external_account) whose
                                        credential_source.file is
  subject_token                         the subject JWT (an exec profile
                                        standing in for an OIDC source)
  access_token                          the service account's token
and writes into the directory underneath at mount (seeded, then ordinary
files):
  configurations/config_credfs          gcloud-config -> access_token
  active_config                         static "credfs", no newline
(a) gcloud's bundled google-auth and Node google-auth-library (npm,
pinned), found through HOME, exchange the subject JWT at the STS emulator
(then IAM impersonation); after credfs serves a new subject token, their
next refresh sends it, exactly, no newline.  (b) gcloud 528 with
CLOUDSDK_CONFIG on the mount lists the configuration, prints the token
credfs served, and writes its logs and databases through the mount;
`gcloud config set` changes credfs's configuration, a second configuration
is created beside it, and a remount keeps what the user set.
(c) access_token admits gcloud's python and denies curl with a deny audit
line.  No secret reaches the state directory, the
daemon log, the audit log or status.  TAP.
"""
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))
import tap  # noqa: E402
from tap import CI, ok, skip_all  # noqa: E402

TEST_USER = os.environ.get("CREDFS_TEST_USER", "credfs-test")
LEAKSCAN = os.path.join(os.path.dirname(HERE), "sealed-mount", "leakscan.py")


try:
    import gcp_peers
except ImportError as ex:
    gcp_peers = None
    MISSING = str(ex)


def third_party():
    g = shutil.which("gcloud")
    cands = []
    if g:
        root = os.path.dirname(os.path.dirname(os.path.realpath(g)))
        cands.append(os.path.join(root, "lib", "third_party"))
    cands.append("/usr/lib/google-cloud-sdk/lib/third_party")
    for c in cands:
        if os.path.exists(os.path.join(c, "google", "auth", "__init__.py")):
            return c
    return None


CREDFS = os.path.abspath(sys.argv[1])
GCLOUD = shutil.which("gcloud")
TP = third_party()
if gcp_peers is None:
    skip_all("python3-jwt / python3-cryptography missing: %s" % MISSING)
if not GCLOUD or not TP:
    skip_all("gcloud (and its bundled google-auth) is not installed")
if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
    skip_all("FUSE is not usable here (/dev/fuse, fusermount3)")
if not shutil.which("node") or not gcp_peers.npm_modules():
    skip_all("node or npm google-auth-library unavailable")
if not shutil.which("curl"):
    skip_all("curl is not installed")

GENV = {"CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
        "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
        "GOOGLE_CLOUD_PROJECT": "credfs-test"}


def gcloud_python():
    """The interpreter gcloud runs (the rule names it, not gcloud's sh)."""
    d = tempfile.mkdtemp(prefix="credfs-gcp-info-")
    p = subprocess.run([GCLOUD, "info", "--format=value(basic.python_location)"],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, CLOUDSDK_CONFIG=d, **GENV))
    shutil.rmtree(d, ignore_errors=True)
    loc = p.stdout.strip()
    return os.path.realpath(loc) if loc else None


class Runner:
    """Runs commands as the current user or, via setpriv, as user."""

    def __init__(self, user):
        self.user = user
        if user:
            pw = pwd.getpwnam(user)
            self.uid, self.gid, self.home = pw.pw_uid, pw.pw_gid, pw.pw_dir
        else:
            self.uid, self.gid = os.getuid(), os.getgid()

    def argv(self, args, env):
        if not self.user:
            return list(args), dict(os.environ, **env)
        e = ["%s=%s" % kv for kv in sorted(env.items())]
        return (["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
                 "--init-groups", "env", "-i",
                 "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
                 "USER=" + self.user] + e + list(args), None)

    def run(self, args, env=None, timeout=120):
        a, e = self.argv(args, env or {})
        return subprocess.run(a, capture_output=True, text=True,
                              timeout=timeout, env=e)

    def popen(self, args, env=None):
        a, e = self.argv(args, env or {})
        return subprocess.Popen(a, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=e)


class ResourceManager:
    """`gcloud config set core/project` looks the project up (with the
    configuration's token) before it writes: a stand-in for Cloud Resource
    Manager's projects.get, logging the bearer token it was sent."""

    def __init__(self):
        self.seen = []
        rm = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                pid = self.path.split("?")[0].rsplit("/", 1)[-1]
                rm.seen.append((pid, self.headers.get("Authorization", "")))
                b = json.dumps({"projectId": pid, "projectNumber": "1",
                                "lifecycleState": "ACTIVE"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(b)))
                self.end_headers()
                self.wfile.write(b)

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d/" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()


RM = ResourceManager()


def one_line(s):
    return " ".join(s.split())[-200:]


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


def audit_events(state):
    with open(os.path.join(state, "audit.log")) as f:
        return [json.loads(x) for x in f if x.strip()]


def reader_line(p):
    line = p.stdout.readline()
    try:
        return json.loads(line)
    except ValueError:
        return {"error": "no output: " + p.stderr.read()[-300:]}


def scenario(P, who, gpy):
    R = Runner(who)
    tag = who or "root"
    B = P.path("u-" + tag)
    home = os.path.join(B, "home")
    mnt = os.path.join(home, ".config", "gcloud")
    state = os.path.join(B, "state")
    os.makedirs(os.path.join(mnt, "logs"))
    os.makedirs(os.path.join(B, "bin"))
    os.mkdir(state, 0o700)
    # Something of gcloud's already there: it must stay reachable.
    with open(os.path.join(mnt, "config_sentinel"), "w") as f:
        f.write("")
    shutil.copy(CREDFS, os.path.join(B, "bin", "credfs"))
    credfs_bin = os.path.join(B, "bin", "credfs")
    cfg = os.path.join(B, "config")
    subj_json = os.path.join(B, "subject.json")

    def set_subject(sub):
        tok = P.issuer.token(sub=sub, life=3600)
        with open(subj_json + ".new", "w") as f:
            json.dump({"id_token": tok, "expires_in": 3600}, f)
        os.chmod(subj_json + ".new", 0o644)
        os.replace(subj_json + ".new", subj_json)
        return tok

    sub1 = set_subject("workload-1")
    sa_file = os.path.join(B, "sa-key.json")
    sa = P.sa_info()
    with open(sa_file, "w") as f:
        json.dump(sa, f)
    os.chmod(sa_file, 0o600)
    imp = ("%s/v1/projects/-/serviceAccounts/%s:generateAccessToken" %
           (P.iam, P.target_sa))
    rules = ("allow = exe:%s\nallow = exe:/usr/bin/python3*\n"
             "deny = exe:/usr/bin/curl\n" % gpy)
    with open(cfg, "w") as f:
        f.write("""[credfs]
state_dir = {state}
key = keyfile:{state}/key
audit_log = {state}/audit.log

[profile oidc]
provider = exec
command = cat {subj}

[profile wif]
provider = gcp-external-account
source = oidc
token_field = id_token
audience = {aud}
endpoint = {sts}/v1/token
service_account_impersonation_url = {imp}

[profile sa]
provider = gcp-service-account
secret = gcp-sa

[file subject_token]
format = token
profiles = oidc
field = id_token

[file application_default_credentials.json]
format = gcp-adc
profiles = wif
token_file = subject_token

[file access_token]
format = token
profiles = sa
{rules}
[file configurations/config_credfs]
format = gcloud-config
token_file = access_token
project = credfs-test
account = {email}

[file active_config]
format = static
content = credfs
""".format(state=state, subj=subj_json, aud=gcp_peers.AUDIENCE, sts=P.sts,
           imp=imp, email=P.sa_email, rules=rules))
    if who:
        subprocess.run(["chown", "-R", "%d:%d" % (R.uid, R.gid), B],
                       check=True)
        os.chmod(B, 0o755)

    def credfs(*args):
        return R.run([credfs_bin, "-c", cfg] + list(args),
                     {"CREDFS_KEYRING": "off", "HOME": home}, timeout=90)

    mounted = False
    readers = []
    tok = tok2 = sub2 = status = ""
    try:
        # ---- import-gcp: the key into the store, the plaintext named ----
        p = credfs("store", "import-gcp", sa_file, "gcp-sa")
        ok(p.returncode == 0 and "shred -u %s" % sa_file in p.stdout and
           "imported gcp-sa" in p.stdout,
           "%s: store import-gcp seals the key and names the plaintext for "
           "shredding (%s)" % (tag, p.stderr.strip()))
        os.unlink(sa_file)
        p = credfs("store", "list")
        ok("gcp-sa: client_email, private_key, private_key_id, token_uri, "
           "project_id" in p.stdout,
           "%s: store list: the five fields, no value" % tag)
        p = credfs("check")
        ok(p.returncode == 0, "%s: credfs check (%s)" %
           (tag, (p.stdout + p.stderr).strip()))
        p = credfs("mount", mnt)
        if not ok(p.returncode == 0, "%s: credfs mount %s (%s)" %
                  (tag, mnt, p.stderr.strip())):
            return
        mounted = True
        r_env = {"HOME": home, "GOOGLE_CLOUD_PROJECT": "credfs-test",
                 "NODE_PATH": os.path.join(HERE, "node_modules")}

        # ---- the files as a reader sees them ----
        p = R.run(["cat", os.path.join(mnt, "active_config")])
        ok(p.returncode == 0 and p.stdout == "credfs",
           "%s: active_config is 'credfs', no newline" % tag)
        p = R.run(["/usr/bin/python3", "-c",
                   "import json,sys;print(json.dumps(json.load(open("
                   "sys.argv[1]))))", os.path.join(
                       mnt, "application_default_credentials.json")])
        adc = json.loads(p.stdout) if p.returncode == 0 else {}
        ok(adc.get("type") == "external_account" and
           adc.get("credential_source", {}).get("file") ==
           os.path.join(mnt, "subject_token") and
           adc.get("token_url") == P.sts + "/v1/token" and
           adc.get("service_account_impersonation_url") == imp and
           adc.get("audience") == gcp_peers.AUDIENCE,
           "%s: the ADC points at the mount's subject_token (%s)" %
           (tag, p.stderr.strip()[-200:]))
        p = R.run(["cat", os.path.join(mnt, "subject_token")])
        ok(p.stdout == sub1, "%s: subject_token is the JWT, no newline" % tag)

        # ---- (a) the client libraries, long-running ----
        py = R.popen(["/usr/bin/python3", os.path.join(HERE,
                                                        "py_adc_refresh.py"),
                      TP], r_env)
        nd = R.popen(["node", os.path.join(HERE, "node_adc_refresh.js")],
                     dict(r_env))
        readers += [py, nd]
        first = {}
        for name, proc in (("google-auth", py),
                           ("google-auth-library", nd)):
            got = reader_line(proc)
            sts = [e for e in P.log("sts") if e["status"] == 200]
            last = sts[-1]["fields"]["subject_token"] if sts else {}
            first[name] = got.get("token")
            ok(got.get("token", "").startswith("ya29.emu.") and
               last.get("sha256") == sha(sub1) and
               last.get("len") == len(sub1),
               "%s: %s reads the ADC from the mount, STS got exactly the "
               "served JWT (%s)" % (tag, name, got.get("error")))
        sub2 = set_subject("workload-1")
        p = credfs("refresh", "oidc")
        p2 = R.run(["cat", os.path.join(mnt, "subject_token")])
        ok(p.returncode == 0 and p2.stdout == sub2 and sub2 != sub1,
           "%s: credfs serves a new subject token" % tag)
        for name, proc in (("google-auth", py),
                           ("google-auth-library", nd)):
            proc.stdin.write("again\n")
            proc.stdin.flush()
            got = reader_line(proc)
            sts = [e for e in P.log("sts") if e["status"] == 200]
            last = sts[-1]["fields"]["subject_token"] if sts else {}
            ok(got.get("token", "").startswith("ya29.emu.") and
               got.get("token") != first[name] and
               last.get("sha256") == sha(sub2),
               "%s: %s's next refresh sends the new subject token (%s)" %
               (tag, name, got.get("error") or "new token %s, new subject "
                "%s" % (got.get("token") != first[name],
                        last.get("sha256") == sha(sub2))))
        for proc in readers:
            proc.stdin.close()
            proc.wait(timeout=30)

        # ---- (b) gcloud with CLOUDSDK_CONFIG on the mount ----
        g_env = dict(GENV, HOME=home, CLOUDSDK_CONFIG=mnt)
        tok = R.run(["cat", os.path.join(mnt, "access_token")])
        ok(tok.returncode != 0,
           "%s: cat is not admitted to access_token (%s)" %
           (tag, tok.stderr.strip()))
        tok = R.run(["/usr/bin/python3", "-c",
                     "import sys;sys.stdout.write(open(sys.argv[1]).read())",
                     os.path.join(mnt, "access_token")]).stdout
        g = R.run([GCLOUD, "config", "list", "--format=json"], g_env)
        props = json.loads(g.stdout) if g.returncode == 0 else {}
        ok(props.get("core", {}).get("project") == "credfs-test" and
           props.get("core", {}).get("account") == P.sa_email and
           props.get("auth", {}).get("access_token_file") ==
           os.path.join(mnt, "access_token"),
           "%s: gcloud config list shows credfs's configuration (%s)" %
           (tag, g.stderr.strip()[-300:]))
        g = R.run([GCLOUD, "config", "configurations", "list",
                   "--format=value(name,is_active)"], g_env)
        ok(g.returncode == 0 and g.stdout.split() == ["credfs", "True"],
           "%s: the active configuration is credfs (%s)" %
           (tag, (g.stdout + g.stderr).strip()[-200:]))
        g = R.run([GCLOUD, "auth", "print-access-token"], g_env)
        ok(g.returncode == 0 and tok.startswith("ya29.emu.") and
           g.stdout.strip() == tok,
           "%s: gcloud auth print-access-token prints the token credfs "
           "served (%s)" % (tag, g.stderr.strip()[-300:]))
        credfs("refresh", "sa")
        tok2 = R.run(["/usr/bin/python3", "-c",
                      "import sys;sys.stdout.write(open(sys.argv[1]).read())",
                      os.path.join(mnt, "access_token")]).stdout
        g = R.run([GCLOUD, "auth", "print-access-token"], g_env)
        ok(g.returncode == 0 and tok2 != tok and g.stdout.strip() == tok2,
           "%s: after a refresh the next gcloud prints the new token" % tag)
        # ---- the configuration is gcloud's to write ----
        g = R.run([GCLOUD, "config", "set", "core/project", "other-proj"],
                  dict(g_env, **{"CLOUDSDK_API_ENDPOINT_OVERRIDES_"
                                 "CLOUDRESOURCEMANAGER": RM.url}))
        ok(g.returncode == 0 and
           RM.seen[-1:] == [("other-proj", "Bearer " + tok2)],
           "%s: gcloud config set core/project, looked up with credfs's "
           "token (%s)" % (tag, one_line(g.stderr)))
        g = R.run([GCLOUD, "config", "list", "--format=json"], g_env)
        props = json.loads(g.stdout) if g.returncode == 0 else {}
        ok(props.get("core", {}).get("project") == "other-proj" and
           props.get("core", {}).get("account") == P.sa_email and
           props.get("auth", {}).get("access_token_file") ==
           os.path.join(mnt, "access_token"),
           "%s: gcloud config list shows the project set, credfs's token "
           "file kept (%s)" % (tag, one_line(g.stderr)))
        g = R.run([GCLOUD, "config", "configurations", "create", "x",
                   "--no-activate"], g_env)
        ok(g.returncode == 0 and R.run(["test", "-f", os.path.join(
            mnt, "configurations", "config_x")]).returncode == 0,
           "%s: a second configuration is created beside credfs's (%s)" %
           (tag, one_line(g.stderr)))
        g = R.run([GCLOUD, "auth", "print-access-token"], g_env)
        ok(g.returncode == 0 and g.stdout.strip() == tok2,
           "%s: print-access-token still prints credfs's token (%s)" %
           (tag, one_line(g.stderr)))
        # As the mount's owner: root is not let into another user's mount.
        logs = R.run(["find", os.path.join(mnt, "logs"), "-type", "f"]
                     ).stdout.split()
        ok(logs and R.run(["test", "-e", os.path.join(
            mnt, "config_sentinel")]).returncode == 0,
           "%s: gcloud's logs are written through the mount (%d)" %
           (tag, len(logs)))

        # ---- (c) per-process rules: curl denied, audited ----
        c = R.run(["curl", "-sS", "file://" + os.path.join(mnt,
                                                           "access_token")])
        ok(c.returncode != 0 and tok2 not in c.stdout,
           "%s: curl gets nothing from access_token (%s)" %
           (tag, c.stderr.strip()))
        ev = audit_events(state)
        deny = [e for e in ev if e.get("event") == "open" and
                e.get("decision") == "deny" and
                e.get("file") == "access_token" and
                e.get("exe", "").endswith("/curl")]
        ok(deny and deny[-1].get("uid") == R.uid,
           "%s: the denial is an audit line (exe curl, uid %d)" %
           (tag, R.uid))
        allow = [e for e in ev if e.get("event") == "open" and
                 e.get("decision") == "allow" and
                 e.get("exe") == gpy and e.get("file") == "access_token"]
        ok(len(allow) >= 2, "%s: gcloud's opens are audited as allowed for "
           "its python %s (%d)" % (tag, gpy, len(allow)))
        status = credfs("status").stdout + credfs("status", "--json").stdout

        # ---- a remount keeps what the user set ----
        p = credfs("umount", mnt)
        for _ in range(50):
            if (" %s " % mnt) not in open("/proc/mounts").read():
                break
            time.sleep(0.1)
        mounted = False
        p = credfs("mount", mnt)
        mounted = p.returncode == 0
        g = R.run([GCLOUD, "config", "list", "--format=json"], g_env)
        props = json.loads(g.stdout) if g.returncode == 0 else {}
        ok(mounted and props.get("core", {}).get("project") == "other-proj"
           and props.get("auth", {}).get("access_token_file") ==
           os.path.join(mnt, "access_token"),
           "%s: after a remount gcloud still sees the project the user set "
           "(%s)" % (tag, one_line(p.stderr + g.stderr)))
    finally:
        for proc in readers:
            if proc.poll() is None:
                proc.kill()
        if mounted:
            credfs("umount", mnt)
            for _ in range(50):
                if (" %s " % mnt) not in open("/proc/mounts").read():
                    break
                time.sleep(0.1)
            else:
                subprocess.run(["fusermount3", "-uz", mnt])
    # gcloud's databases and the seeded files went underneath; no
    # virtual file did.
    under = os.listdir(mnt)
    confs = os.listdir(os.path.join(mnt, "configurations"))
    with open(os.path.join(mnt, "active_config")) as f:
        active = f.read()
    st = os.stat(os.path.join(mnt, "configurations", "config_credfs"))
    ok(active == "credfs" and
       "application_default_credentials.json" not in under and
       "access_token" not in under and "subject_token" not in under and
       any(x.endswith(".db") for x in under) and
       sorted(confs) == ["config_credfs", "config_x"] and
       st.st_uid == R.uid and st.st_mode & 0o777 == 0o600,
       "%s: underneath: gcloud's databases, active_config, both "
       "configurations (owned by uid %d, 0600), no virtual file (%s; %s)" %
       (tag, R.uid, " ".join(sorted(under)), " ".join(sorted(confs))))
    with open(os.path.join(B, "status.txt"), "w") as f:
        f.write(status)
    secrets = os.path.join(P.tmp, "secrets-" + tag)
    with open(secrets, "w") as f:
        pem = [x for x in sa["private_key"].splitlines() if "-" not in x]
        for i, line in enumerate(pem[1:6]):
            f.write("key-line-%d\t%s\n" % (i, line))
        for k, v in (("tok", tok), ("tok2", tok2), ("sub1", sub1),
                     ("sub2", sub2)):
            f.write("%s\t%s\n" % (k, v))
    # gcloud's own logs/ record what print-access-token printed: gcloud's
    # doing, not credfs's; everything else of gcloud's directory is
    # scanned.
    scan = [os.path.join(mnt, x) for x in under if x != "logs"]
    p = subprocess.run([sys.executable, LEAKSCAN, secrets, state,
                        os.path.join(B, "status.txt")] + scan,
                       capture_output=True, text=True)
    ok(p.returncode == 0, "%s: no key line or token in the state dir, the "
       "logs, gcloud's directory or status (%s)" %
       (tag, (p.stdout + p.stderr).strip()[-300:]))


def main():
    users = [None]
    if os.getuid() == 0:
        try:
            pwd.getpwnam(TEST_USER)
            users.append(TEST_USER)
        except KeyError:
            if CI:
                subprocess.run(["useradd", "--create-home", "--shell",
                                "/bin/bash", TEST_USER], check=True)
                users.append(TEST_USER)
            else:
                print("# no user %s: add it with useradd --create-home %s"
                      % (TEST_USER, TEST_USER))
                ok(False, "the test user %s exists" % TEST_USER)
    else:
        print("# not root: the %s round needs root to switch user" %
              TEST_USER)
    gpy = gcloud_python()
    if not ok(gpy and os.path.exists(gpy), "gcloud's python: %s" % gpy):
        return
    os.environ["CREDFS_KEYRING"] = "off"
    os.environ.update(GENV)
    P = gcp_peers.Peers(prefix="credfs-gcp-adc-").start()
    try:
        # STS tokens of 2 min: google-auth refreshes an impersonation's
        # source (re-reading the subject file) only within 3m45s of its
        # expiry, so each of its refreshes here is one near expiry.
        P.sts = P.spawn("sts-short", "gcp_sts.py", {
            "providers": [{"audience": gcp_peers.AUDIENCE,
                           "issuer": P.issuer.url,
                           "jwks_uri": P.issuer.url + "/jwks"}],
            "lifetime": 120})
        P.logs["sts"] = P.logs["sts-short"]
        for who in users:
            scenario(P, who, gpy)
    finally:
        P.close()


main()
tap.done()
