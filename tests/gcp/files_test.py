#!/usr/bin/env python3
"""The Google files and `credfs store import-gcp` from the command line.

usage: files_test.py CREDFS_BINARY

1. `credfs check` reports each gcp-adc / gcloud-config / static mistake
   once, at its line, exit 2.
2. store import-gcp: a service-account key and an authorized_user file
   are sealed (only the fields a provider uses) and the plaintext is
   named for shredding; an external_account file, a file with no type,
   malformed JSON, a key that does not load, a user file without its
   refresh token are refused with a clear line and store nothing; no
   secret reaches the state directory, the audit log or any output.
3. A mount: gcloud-config with mount_path writes the path readers see;
   static serves its line with no newline (or with newline = yes); both
   are ordinary files (written through the mount, other files beside
   them) and a remount merges credfs's keys back, keeping the user's.  TAP.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LEAKSCAN = os.path.join(os.path.dirname(HERE), "sealed-mount", "leakscan.py")
sys.path.insert(0, os.path.dirname(HERE))
import tap  # noqa: E402
from tap import CI, ok  # noqa: E402

CREDFS = os.path.abspath(sys.argv[1])
tmp = tempfile.mkdtemp(prefix="credfs-gcp-files-")
os.chmod(tmp, 0o700)
state = os.path.join(tmp, "state")
os.environ["CREDFS_KEYRING"] = "off"

HEAD = """[credfs]
state_dir = {tmp}/state
key = keyfile:{tmp}/state/key
audit_log = {tmp}/state/audit.log

[profile jwt]
provider = exec
command = echo '{{"id_token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln","expires_in":3600}}'

[profile wif]
provider = gcp-external-account
source = jwt
audience = //iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/o

[file subject]
format = token
profiles = jwt
field = id_token
"""

BAD = HEAD + """
[file adc1]
format = gcp-adc
profiles = wif
token_file = nowhere                ; EXPECT is not a file of format token

[file adc2]
format = gcp-adc
profiles = jwt                      ; EXPECT shows a gcp-external-account
token_file = subject

[file nl]
format = token
profiles = jwt
field = id_token
newline = yes

[file adc3]
format = gcp-adc
profiles = wif
token_file = nl                     ; EXPECT ends in a newline

[file adc4]
format = gcp-adc
profiles = wif
token_file = adc1                   ; EXPECT is not a file of format token

[file gc1]
format = gcloud-config
token_file = subject                ; EXPECT gcloud needs an access_token
deny = exe:/usr/bin/curl            ; EXPECT does not apply
project = my%project                ; EXPECT would not keep

[file gc2]
format = gcloud-config
profiles = wif                      ; EXPECT shows no profile
token_file = wiftok
mount_path = relative/dir           ; EXPECT mount_path must be an absolute

[file wiftok]
format = token
profiles = wif

[file gc3]                          ; EXPECT needs 'token_file ='
format = gcloud-config

[file active]                       ; EXPECT needs 'content ='
format = static

[file conf/config_a]                ; EXPECT would hide it
format = gcloud-config
token_file = wiftok

[file conf/sub/virtual]
format = token
profiles = wif
"""


def credfs(cfg, *args, stdin=None):
    return subprocess.run([CREDFS, "-c", cfg] + list(args),
                          capture_output=True, text=True, timeout=60,
                          input=stdin)


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text.format(tmp=tmp))
    return path


# ---- 1. check ----
path = write("bad.conf", BAD)
p = credfs(path, "check")
out = (p.stdout + p.stderr).splitlines()
ok(p.returncode == 2, "check of the bad config exits 2 (got %d)" %
   p.returncode)
want = [(i, line.split("; EXPECT ", 1)[1].strip())
        for i, line in enumerate(BAD.format(tmp=tmp).splitlines(), 1)
        if "; EXPECT " in line]
for lineno, text in want:
    hits = [o for o in out if o.startswith("%s:%d: " % (path, lineno))]
    ok(len(hits) == 1 and text in hits[0],
       "line %d reported once with '%s': %s" % (lineno, text, hits))
extra = [o for o in out if not any(o.startswith("%s:%d: " % (path, x))
                                   for x, _ in want)]
ok(not extra, "nothing else reported: %s" % extra)

# ---- 2. store import-gcp ----
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402


def pem(k):
    return k.private_bytes(serialization.Encoding.PEM,
                           serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption()).decode()


key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
SA = {"type": "service_account", "project_id": "credfs-test",
      "private_key_id": "0123456789abcdef", "private_key": pem(key),
      "client_email": "runner@credfs-test.iam.gserviceaccount.com",
      "client_id": "1098", "token_uri": "https://oauth2.googleapis.com/token",
      "auth_provider_x509_cert_url": "https://www.googleapis.com/x"}
USER = {"type": "authorized_user", "client_id": "1234.apps.example",
        "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty-" + os.urandom(6).hex(),
        "refresh_token": "1//0refresh-" + os.urandom(12).hex()}
cfg = write("good.conf", HEAD)


def keyfile(name, obj):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    os.chmod(path, 0o600)
    return path


outputs = []
p = credfs(cfg, "store", "import-gcp", keyfile("sa.json", SA))
outputs.append(p.stdout + p.stderr)
ok(p.returncode == 0 and "imported gcp-runner" in p.stdout and
   "provider = gcp-service-account" in p.stdout and
   "shred -u %s" % os.path.join(tmp, "sa.json") in p.stdout,
   "a service-account key is sealed as gcp-runner, the plaintext named "
   "(%s)" % p.stderr.strip())
p = credfs(cfg, "store", "import-gcp", keyfile("adc.json", USER), "me")
outputs.append(p.stdout + p.stderr)
ok(p.returncode == 0 and "imported me" in p.stdout and
   "gcp-authorized-user" in p.stdout and "shred -u" in p.stdout,
   "an authorized_user file is sealed as me (%s)" % p.stderr.strip())
p = credfs(cfg, "store", "list")
ok("gcp-runner: client_email, private_key, private_key_id, token_uri, "
   "project_id" in p.stdout and
   "me: client_id, client_secret, refresh_token" in p.stdout,
   "store list: only the fields a provider uses: %s" % p.stdout.strip())

ec_sa = dict(SA, private_key=pem(ec.generate_private_key(ec.SECP256R1())))
refused = [
    ("external_account", {"type": "external_account", "audience": "x"},
     "type external_account holds no long-lived secret"),
    ("no type", {"client_email": "a@b"}, "no \"type\""),
    ("malformed JSON", '{"type": "service_account", ', "not a JSON object"),
    ("an EC key", ec_sa, "not an RSA key"),
    ("a key without private_key_id",
     {k: v for k, v in SA.items() if k != "private_key_id"},
     "no private_key_id"),
    ("a user file without refresh_token",
     {k: v for k, v in USER.items() if k != "refresh_token"},
     "authorized_user without refresh_token"),
    ("a plain-http token_uri", dict(SA, token_uri="http://example.com/t"),
     "token_uri"),
]
for i, (what, obj, msg) in enumerate(refused):
    p = credfs(cfg, "store", "import-gcp", keyfile("bad%d.json" % i, obj),
               "bad%d" % i)
    outputs.append(p.stdout + p.stderr)
    lines = p.stderr.strip().splitlines()
    ok(p.returncode == 1 and len(lines) == 1 and
       lines[0].startswith("credfs: store import-gcp: ") and msg in lines[0]
       and not p.stdout,
       "%s is refused: %s" % (what, lines))
p = credfs(cfg, "store", "list")
ok("bad" not in p.stdout, "nothing refused was stored")
p = credfs(cfg, "store", "import-gcp", os.path.join(tmp, "missing.json"))
ok(p.returncode == 1 and "missing.json: No such file" in p.stderr,
   "a missing file: %s" % p.stderr.strip())
p = credfs(cfg, "store", "import-gcp")
ok(p.returncode == 2 and "import-gcp KEY.json" in p.stderr,
   "no file: usage, exit 2")

secrets = os.path.join(tmp, "secrets")
with open(secrets, "w") as f:
    lines = [x for x in SA["private_key"].splitlines() if "-" not in x]
    for i, line in enumerate(lines[1:8]):
        f.write("key-line-%d\t%s\n" % (i, line))
    f.write("client_secret\t%s\n" % USER["client_secret"])
    f.write("refresh_token\t%s\n" % USER["refresh_token"])
with open(os.path.join(tmp, "outputs"), "w") as f:
    f.write("\n".join(outputs))
p = subprocess.run([sys.executable, LEAKSCAN, secrets, state,
                    os.path.join(tmp, "outputs")],
                   capture_output=True, text=True)
ok(p.returncode == 0, "no key line, client secret or refresh token in the "
   "state dir, the audit log or any output (%s)" %
   (p.stdout + p.stderr).strip()[-300:])
ev = [json.loads(x) for x in open(os.path.join(state, "audit.log"))
      if x.strip()]
ok(sum(1 for e in ev if e.get("event") == "store") == 2,
   "two store events in the audit log")

# ---- 3. a mount: mount_path, static ----
mnt = os.path.join(tmp, "mnt")
os.mkdir(mnt)
mcfg = write("mount.conf", HEAD + """
[profile at]
provider = exec
command = echo '{{"access_token":"ya29.test","expires_in":3600}}'

[file tok]
format = token
profiles = at

[file configurations/config_credfs]
format = gcloud-config
token_file = tok
account = me@example.com
mount_path = /home/app/.config/gcloud/

[file configurations/config_here]
format = gcloud-config
token_file = tok

[file active_config]
format = static
content = credfs

[file motd]
format = static
content = hello
newline = yes
""")
if not os.path.exists("/dev/fuse") or not shutil.which("fusermount3"):
    ok(not CI, "FUSE is usable (not under CI=true)")
else:
    p = credfs(mcfg, "mount", mnt)
    if ok(p.returncode == 0, "mount (%s)" % p.stderr.strip()):
        try:
            def read(name):
                with open(os.path.join(mnt, name)) as f:
                    return f.read()
            gc = read("configurations/config_credfs")
            ok("[auth]\naccess_token_file = /home/app/.config/gcloud/tok\n"
               in gc and "[core]\naccount = me@example.com\n" in gc and
               "project" not in gc,
               "gcloud-config with mount_path: the path readers see")
            gc = read("configurations/config_here")
            ok("access_token_file = %s/tok\n" % os.path.realpath(mnt) in gc
               and "[core]" not in gc,
               "gcloud-config without mount_path: the mountpoint's path")
            ok(read("active_config") == "credfs",
               "static: 'credfs', no newline")
            ok(read("motd") == "hello\n", "static with newline = yes")
            ok(oct(os.stat(os.path.join(mnt, "active_config")).st_mode &
                   0o777) == "0o600", "static: mode 0600 by default")
            # Seeded files are ordinary files: written through the mount,
            # with other files beside them in the real configurations/.
            conf = os.path.join(mnt, "configurations")
            with open(os.path.join(conf, "config_here"), "a") as f:
                f.write("\n[compute]\nzone = europe-west1-b\n")
            with open(os.path.join(conf, "config_mine"), "w") as f:
                f.write("[core]\nproject = mine\n")
            with open(os.path.join(mnt, "active_config"), "w") as f:
                f.write("mine")
            ok(sorted(os.listdir(conf)) ==
               ["config_credfs", "config_here", "config_mine"],
               "configurations/ is the real directory: %s" %
               " ".join(sorted(os.listdir(conf))))
        finally:
            credfs(mcfg, "umount", mnt)
            for _ in range(50):
                if (" %s " % mnt) not in open("/proc/mounts").read():
                    break
                time.sleep(0.1)
    # Underneath: what the user wrote, kept; a remount merges credfs's
    # keys back in and leaves the rest.
    conf = os.path.join(mnt, "configurations")
    with open(os.path.join(conf, "config_credfs"), "w") as f:
        f.write("[core]\nproject = users\n\n[auth]\n"
                "access_token_file = /elsewhere\ndisable_credentials = "
                "False\n")
    p = credfs(mcfg, "mount", mnt)
    if ok(p.returncode == 0, "remount (%s)" % p.stderr.strip()):
        try:
            def read(name):
                with open(os.path.join(mnt, name)) as f:
                    return f.read()
            ok(read("configurations/config_credfs") ==
               "[core]\nproject = users\naccount = me@example.com\n\n"
               "[auth]\naccess_token_file = /home/app/.config/gcloud/tok\n"
               "disable_credentials = False\n",
               "remount: access_token_file is credfs's again, account "
               "added, the user's project and keys kept: %r" %
               read("configurations/config_credfs"))
            gc = read("configurations/config_here")
            ok("[compute]\nzone = europe-west1-b\n" in gc and
               "access_token_file = %s/tok\n" % os.path.realpath(mnt) in gc,
               "remount: a property set through the mount survives")
            ok(read("active_config") == "mine" and
               read("configurations/config_mine") ==
               "[core]\nproject = mine\n",
               "remount: active_config and another configuration kept")
        finally:
            credfs(mcfg, "umount", mnt)
            for _ in range(50):
                if (" %s " % mnt) not in open("/proc/mounts").read():
                    break
                time.sleep(0.1)

shutil.rmtree(tmp, ignore_errors=True)
tap.done()
