#!/usr/bin/env python3
"""`credfs check` on a config with GCP and Vault profile mistakes: every
problem is reported once as FILE:LINE: message, at the line of the key at
fault (the providers' parse ops run once at config load), and the command
exits 2.  A config with good GCP and Vault profiles checks ok.  TAP.

usage: check_lines.py CREDFS_BINARY
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import tap  # noqa: E402
from tap import ok  # noqa: E402

CREDFS = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="credfs-check-")
os.chmod(tmp, 0o700)

# Each bad line carries a marker comment naming the message it must get.
BAD = """[credfs]
state_dir = {tmp}/state

[profile sa]
provider = gcp-service-account
secret = a
secret_file = /x                    ; EXPECT exactly one of
scopes = "bad                       ; EXPECT scopes:

[profile imp]
provider = gcp-impersonate
source = sa
service_account = a@b.c
lifetime = 13h                      ; EXPECT lifetime must be

[profile ext]
provider = gcp-external-account
audience = //iam.googleapis.com/x
subject_token_type = nope           ; EXPECT subject_token_type must be
token_file = /t

[profile user]
provider = gcp-authorized-user
secret = u
endpoint = http://example.com/tok   ; EXPECT plain http

[profile v]
provider = vault
address = https://v:8200
token_file = /x
path = ../sys/raw                   ; EXPECT is not a Vault API path

[profile v2]
provider = vault
address = https://v:8200
auth = ldap                         ; EXPECT auth: 'ldap'
path = x

[profile v3]
provider = vault
address = http://vault.example:8200 ; EXPECT plain http
token_file = /x
path = secret/data/app
"""

GOOD = """[credfs]
state_dir = {tmp}/state

[profile sa]
provider = gcp-service-account
secret_file = {tmp}/key.json
scopes = https://www.googleapis.com/auth/cloud-platform

[profile imp]
provider = gcp-impersonate
source = sa
service_account = runner@p.iam.gserviceaccount.com
lifetime = 30m

[profile v]
provider = vault
address = https://v:8200
token_file = {tmp}/vault-token
path = database/creds/readonly

[file gcp]
profiles = imp
format = token

[file db]
profiles = v
format = json
"""


def check(text, name):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text.format(tmp=tmp))
    p = subprocess.run([CREDFS, "-c", path, "check"], capture_output=True,
                       text=True, timeout=60)
    return path, p.returncode, (p.stdout + p.stderr).splitlines()


path, rc, out = check(BAD, "bad.conf")
ok(rc == 2, "check of the bad config exits 2 (got %d)" % rc)
want = []
for i, line in enumerate(BAD.splitlines(), 1):
    if "; EXPECT " in line:
        want.append((i, line.split("; EXPECT ", 1)[1].strip()))
for lineno, text in want:
    hits = [o for o in out if o.startswith("%s:%d: " % (path, lineno))]
    ok(len(hits) == 1 and text in hits[0],
       "line %d reported once with '%s': %s" % (lineno, text, hits))
ok(len(out) == len(want),
   "nothing else reported (%d lines for %d problems)" % (len(out), len(want)))
for o in out:
    if not any(o.startswith("%s:%d: " % (path, l)) for l, _ in want):
        print("# unexpected: %s" % o)

path, rc, out = check(GOOD, "good.conf")
ok(rc == 0 and out == ["%s: ok (3 profiles, 2 files)" % path],
   "the good GCP and Vault config checks ok: %s" % out)

shutil.rmtree(tmp, ignore_errors=True)
tap.done()
