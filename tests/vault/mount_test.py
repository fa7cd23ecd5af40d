#!/usr/bin/python3
"""credfs mounted with vault profiles: psql and curl read the files.  TAP.

usage: mount_test.py CREDFS_BINARY

A private PostgreSQL, the Vault emulator (namespace team-a, --pg-dsn) and a
basic-auth HTTP server; credfs mounts a `pgpass` and a `netrc` rendered by
the `template` format from a database/creds lease (AppRole) and a KV v2
secret.  Checks: psql logs in through the virtual ~/.pgpass (libpq accepts
its mode), 100 opens cause one /creds read, curl --netrc-file passes the
basic auth, `credfs revoke` revokes the lease at Vault (the role is gone
from PostgreSQL, the old password fails), and no token or secret_id is in
any log.  Needs root and /dev/fuse.
"""
import base64
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vault_harness as H  # noqa: E402

NS = "team-a"
ROOT = "root-" + os.urandom(8).hex()
ROLE_ID, SECRET_ID = "role-" + os.urandom(4).hex(), os.urandom(16).hex()
KV_PASS = "kv-" + os.urandom(6).hex()


def private(path, data, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.write(fd, data if isinstance(data, bytes) else data.encode())
    os.close(fd)
    return path


def basic_auth_server(user, password):
    """password: a string, or a one-element list the test may change."""
    pw = password if isinstance(password, list) else [password]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            want = "Basic " + base64.b64encode(
                ("%s:%s" % (user, pw[0])).encode()).decode()
            good = self.headers.get("Authorization") == want
            body = b"welcome\n" if good else b"no\n"
            self.send_response(200 if good else 401)
            if not good:
                self.send_header("WWW-Authenticate", 'Basic realm="t"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    H._cleanups.append(srv.shutdown)
    return srv.server_address[1]


def main():
    credfs = os.path.abspath(sys.argv[1])
    if os.getuid() != 0 or not os.path.exists("/dev/fuse"):
        H.skip_all("needs root and /dev/fuse")
    try:
        pg = H.Postgres()
    except Exception as e:  # noqa: BLE001
        H.skip_all("no PostgreSQL: %s" % e)
    emu = H.Emulator("--namespace", NS, "--root-token", ROOT,
                     "--role-id", ROLE_ID, "--secret-id", SECRET_ID,
                     "--lease-ttl", "600", "--lease-max-ttl", "1200",
                     "--pg-dsn", pg.dsn)
    req = urllib.request.Request(
        emu.addr + "/v1/secret/data/web/login",
        data=json.dumps({"data": {"user": "bob",
                                  "password": KV_PASS}}).encode(),
        method="POST", headers={"X-Vault-Token": ROOT,
                                "X-Vault-Namespace": NS})
    urllib.request.urlopen(req, timeout=5).read()
    web = basic_auth_server("bob", KV_PASS)
    web_pw = [KV_PASS]
    web2 = basic_auth_server("bob", web_pw)

    d = os.path.join(H.tmp, "m")
    os.mkdir(d, 0o700)
    mnt = os.path.join(d, "mnt")
    os.mkdir(mnt)
    private(os.path.join(d, "keyfile"), os.urandom(32))
    private(os.path.join(d, "approle"), "role_id = %s\nsecret_id = %s\n"
            % (ROLE_ID, SECRET_ID))
    private(os.path.join(d, "root-token"), ROOT + "\n")
    private(os.path.join(d, "pgpass.tmpl"),
            "127.0.0.1:%d:postgres:{{ db.username }}:{{ db.password }}\n"
            % pg.port, 0o644)
    private(os.path.join(d, "netrc.tmpl"),
            "machine 127.0.0.1 login {{ web.user }} password "
            "{{ web.password }}\n", 0o644)
    cfg = os.path.join(d, "config")
    with open(cfg, "w") as f:
        f.write("""[credfs]
state_dir = {d}/state
key = keyfile:{d}/keyfile
audit_log = {d}/audit.log

[profile db]
provider = vault
address = {addr}
namespace = {ns}
auth = approle
secret_file = {d}/approle
path = database/creds/readonly
revoke_on_unmount = yes

[profile web]
provider = vault
address = {addr}
namespace = {ns}
token_file = {d}/root-token
kv_version = 2
path = web/login
refresh_interval = 1m

[profile web2]
provider = vault
address = {addr}
namespace = {ns}
token_file = {d}/root-token
kv_version = 2
path = web/login
fields = username=user password
refresh_interval = 3s

[file netrc-native]
profiles = web2
format = netrc
machine = 127.0.0.1
mode = 0400

[file pgpass]
profiles = db
format = template
template = {d}/pgpass.tmpl
mode = 0400

[file netrc]
profiles = web
format = template
template = {d}/netrc.tmpl
mode = 0400
""".format(d=d, addr=emu.addr, ns=NS))
    err_path = os.path.join(d, "mount.err")
    with open(err_path, "w") as err:
        mount = subprocess.Popen([credfs, "-c", cfg, "mount", "-f", mnt],
                                 stdout=err, stderr=err,
                                 start_new_session=True)
    H._procs.append(mount)
    H._cleanups.append(lambda: subprocess.run(
        ["fusermount3", "-u", "-z", mnt], stderr=subprocess.DEVNULL))
    pgpass = os.path.join(mnt, "pgpass")
    for _ in range(100):
        if os.path.exists(pgpass):
            break
        time.sleep(0.1)
    if not H.ok(os.path.exists(pgpass), "credfs mounted with vault profiles"):
        H.diag(open(err_path, errors="replace").read()[-2000:])
        H.done()

    st = os.stat(pgpass)
    H.ok(st.st_mode & 0o077 == 0, "the virtual pgpass has no group or other "
         "bits (%o)" % (st.st_mode & 0o777))
    env = dict(os.environ, PGPASSFILE=pgpass)
    env.pop("PGPASSWORD", None)
    r = subprocess.run(["psql", "-X", "-w", "-qAt", "-h", "127.0.0.1", "-p",
                        str(pg.port), "-d", "postgres", "-U",
                        open(pgpass).read().split(":")[3], "-c",
                        "SELECT item FROM inventory"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env, timeout=30)
    H.ok(r.returncode == 0 and r.stdout.decode().strip() == "widget",
         "psql logs in through the virtual pgpass: %s"
         % r.stdout.decode().strip()[:200])
    first = open(pgpass).read()
    for _ in range(100):
        with open(pgpass) as f:
            same = f.read() == first
    reads = sum("GET /v1/database/creds/readonly" in x
                for x in emu.log_lines())
    H.ok(same and reads == 1, "100 opens, one database/creds read (%d)"
         % reads)

    r = subprocess.run(["curl", "-sS", "--netrc-file",
                        os.path.join(mnt, "netrc"),
                        "http://127.0.0.1:%d/" % web],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    H.ok(r.stdout.decode().strip() == "welcome",
         "curl --netrc-file with the KV secret passes basic auth: %s"
         % r.stdout.decode().strip()[:200])

    native = os.path.join(mnt, "netrc-native")

    def curl(port):
        r = subprocess.run(["curl", "-sS", "--netrc-file", native,
                            "http://127.0.0.1:%d/" % port],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        return r.stdout.decode().strip()[:200]
    out = curl(web2)
    H.ok(out == "welcome", "curl --netrc-file with format netrc (fields "
         "renamed from the KV secret) passes basic auth: %s" % out)
    new_pass = "kv2-" + os.urandom(6).hex()
    req = urllib.request.Request(
        emu.addr + "/v1/secret/data/web/login",
        data=json.dumps({"data": {"user": "bob",
                                  "password": new_pass}}).encode(),
        method="POST", headers={"X-Vault-Token": ROOT,
                                "X-Vault-Namespace": NS})
    urllib.request.urlopen(req, timeout=5).read()
    web_pw[0] = new_pass
    seen = False
    for _ in range(40):  # refresh_interval = 3s, read again after it
        time.sleep(0.5)
        if new_pass in open(native).read():
            seen = True
            break
    out = curl(web2)
    H.ok(seen and out == "welcome", "a new KV version appears after "
         "refresh_interval; curl passes with it: %s" % out)

    # Vault sealed: a clear status line, refresh_failed, the valid
    # secret (web: 1m) still served.
    tmpl_netrc = os.path.join(mnt, "netrc")
    served = open(tmpl_netrc).read()
    emu.control("seal")
    r = subprocess.run([credfs, "-c", cfg, "refresh", "web"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    msg = r.stdout.decode().strip()
    H.ok(r.returncode != 0 and "503 Vault is sealed" in msg,
         "sealed: credfs refresh web fails with Vault's reason: %s"
         % msg[:200])
    st = subprocess.run([credfs, "-c", cfg, "status", "--json"],
                        stdout=subprocess.PIPE, timeout=30).stdout.decode()
    prof = [p for p in json.loads(st).get("profiles", [])
            if p.get("profile") == "web"]
    H.ok(prof and "503 Vault is sealed" in (prof[0].get("last_error") or ""),
         "sealed: status names it: %s"
         % (prof[0].get("last_error") if prof else st[:200]))
    events = [json.loads(x) for x in open(os.path.join(d, "audit.log"))]
    H.ok(any(ev.get("event") == "refresh_failed" and
             ev.get("profile") == "web" for ev in events),
         "sealed: the audit log has refresh_failed for web")
    r = subprocess.run(["curl", "-sS", "--netrc-file", tmpl_netrc,
                        "http://127.0.0.1:%d/" % web],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30)
    H.ok(open(tmpl_netrc).read() == served and
         r.stdout.decode().strip() == "welcome",
         "sealed: the valid secret is still served")
    emu.control("unseal")

    user, password = first.strip().split(":")[3:5]
    H.ok(pg.role_exists(user), "the leased role exists before revoke")
    r = subprocess.run([credfs, "-c", cfg, "revoke", "db"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    H.ok(r.returncode == 0, "credfs revoke db: %s"
         % r.stdout.decode().strip()[:200])
    H.ok(not pg.role_exists(user), "the role is gone from PostgreSQL")
    rc, out = pg.login(user, password)
    H.ok(rc != 0 and "authentication failed" in out,
         "the revoked password fails: %s" % out[-120:])
    H.ok(any("lease revoke database/creds/readonly/" in x
             for x in emu.log_lines()), "the emulator log shows the revoke")

    # Restarts: the lease in the sealed cache is renewed before it is
    # served; one Vault ended meanwhile is replaced by a new read.
    again = open(pgpass).read().strip().split(":")[3]
    H.ok(pg.role_exists(again), "a read after revoke leases a new role")

    def restart(old):
        os.kill(old.pid, signal.SIGKILL)  # no unmount: the lease stays
        old.wait(timeout=20)
        subprocess.run(["fusermount3", "-u", "-z", mnt],
                       stderr=subprocess.DEVNULL)
        with open(err_path, "a") as err:
            new = subprocess.Popen([credfs, "-c", cfg, "mount", "-f", mnt],
                                   stdout=err, stderr=err,
                                   start_new_session=True)
        H._procs.append(new)
        for _ in range(100):
            if os.path.exists(pgpass):
                break
            time.sleep(0.1)
        return new

    def count(needle):
        return sum(needle in x for x in emu.log_lines())
    reads0 = count("GET /v1/database/creds/readonly")
    renews0 = count(" lease renew database/creds/readonly/")
    mount = restart(mount)
    user_r = open(pgpass).read().strip().split(":")[3]
    H.ok(user_r == again and count(" lease renew database/creds/"
                                   "readonly/") == renews0 + 1 and
         count("GET /v1/database/creds/readonly") == reads0,
         "restart: the cached lease is renewed, not read again (%s)"
         % (user_r == again))
    req = urllib.request.Request(emu.addr + "/emu/leases")
    leases = json.loads(urllib.request.urlopen(req, timeout=5).read())
    for x in leases["leases"]:
        if x["kind"] == "database":
            req = urllib.request.Request(
                emu.addr + "/v1/sys/leases/revoke", method="PUT",
                data=json.dumps({"lease_id": x["lease_id"]}).encode(),
                headers={"X-Vault-Token": ROOT, "X-Vault-Namespace": NS})
            urllib.request.urlopen(req, timeout=5).read()
    H.ok(not pg.role_exists(again), "the lease ended at Vault behind "
         "credfs's back")
    mount = restart(mount)
    again = open(pgpass).read().strip().split(":")[3]
    H.ok(again != user_r and pg.role_exists(again) and
         count("GET /v1/database/creds/readonly") == reads0 + 1,
         "restart: a cached lease Vault ended is read again, never served")

    # revoke_on_unmount: a daemon stopped by SIGTERM revokes its lease
    os.kill(mount.pid, signal.SIGTERM)
    try:
        mount.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    gone = not pg.role_exists(again)
    if not H.ok(mount.returncode is not None and gone,
                "SIGTERM: the daemon exits and revokes the lease "
                "(revoke_on_unmount), the role is gone (%s, rc %s)"
                % (gone, mount.returncode)):
        H.diag(open(err_path, errors="replace").read()[-1500:])
    subprocess.run(["fusermount3", "-u", mnt], stderr=subprocess.DEVNULL)
    texts = []
    for p in (err_path, os.path.join(d, "audit.log"), emu.log):
        try:
            texts.append(open(p, errors="replace").read())
        except OSError:
            pass
    blob = "\n".join(texts)
    leaked = [name for name, s in (("token", ROOT), ("secret_id", SECRET_ID),
                                   ("client token", "hvs."),
                                   ("password", password),
                                   ("kv password", KV_PASS),
                                   ("kv password 2", new_pass)) if s in blob]
    H.ok(not leaked, "no secret in the mount's stderr, the audit log or "
         "the emulator log %s" % (leaked or ""))
    H.done()


if __name__ == "__main__":
    main()
