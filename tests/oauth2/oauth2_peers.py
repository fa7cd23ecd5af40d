"""Starts the OAuth 2.0 peers of tests/oauth2 and tests/azure: the npm
`oidc-provider` (tests/peers/oidc_provider.js) and a sealed store the
provider tool opens.  npm packages are installed under tests/oauth2 on
first use, pinned to versions whose engines range holds Node 20."""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tap  # noqa: E402
from tap import skip_all  # noqa: E402,F401 (the scripts' op.skip_all)

PEERS = os.path.join(os.path.dirname(HERE), "peers")
NODE_MODULES = os.path.join(HERE, "node_modules")
# Installed together: npm prunes what it was not asked for.
NPM_PACKAGES = {"oidc-provider": "8.8.1", "oauth2-mock-server": "8.1.0",
                "@azure/identity": "4.10.0"}


class Tap:
    """The scripts' T (T.ok, T.note, T.done, T.n, T.failed): tests/tap.py."""
    ok = staticmethod(tap.ok)
    note = staticmethod(tap.diag)
    done = staticmethod(tap.done)
    n = property(lambda self: tap.n)
    failed = property(lambda self: tap.failed)


def npm_modules():
    def have():
        for name, ver in NPM_PACKAGES.items():
            try:
                with open(os.path.join(NODE_MODULES, name,
                                       "package.json")) as f:
                    if json.load(f)["version"] != ver:
                        return False
            except (OSError, ValueError, KeyError):
                return False
        return True

    if have():
        return True
    npm = shutil.which("npm")
    if not npm:
        return False
    with open(os.path.join(tempfile.gettempdir(),
                           "credfs-oauth2-npm.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not have():
            subprocess.run([npm, "install", "--no-save", "--no-audit",
                            "--no-fund", "--prefix", HERE] +
                           ["%s@%s" % kv for kv in NPM_PACKAGES.items()],
                           capture_output=True, timeout=600)
        return have()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def start_node(script, config, tmp, env=None):
    """Runs node SCRIPT CONFIG; returns (process, port)."""
    cfgpath = os.path.join(tmp, os.path.basename(script) + ".json")
    with open(cfgpath, "w") as f:
        json.dump(config, f)
    e = dict(os.environ, CREDFS_NODE_MODULES=NODE_MODULES,
             NODE_PATH=NODE_MODULES)
    e.update(env or {})
    p = subprocess.Popen(["node", os.path.join(PEERS, script), cfgpath],
                         stdout=subprocess.PIPE,
                         stderr=open(os.path.join(tmp, script + ".err"),
                                     "w"),
                         env=e, text=True)
    line = p.stdout.readline().strip()
    if not line.isdigit():
        p.kill()
        raise RuntimeError("%s did not start: %s" % (script, open(
            os.path.join(tmp, script + ".err")).read()[-2000:]))
    return p, int(line)


class Tool:
    """The provider tool with its own sealed store."""

    def __init__(self, exe, tmp):
        self.exe = exe
        self.state = os.path.join(tmp, "state")
        os.mkdir(self.state, 0o700)
        self.env = dict(os.environ, CREDFS_TEST_KEY=os.urandom(32).hex())

    def run(self, *args, check=False, timeout=60):
        p = subprocess.run([self.exe, self.state] + list(args),
                           capture_output=True, text=True, env=self.env,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("%s: %s" % (args[0], p.stderr))
        return p

    def popen(self, *args):
        return subprocess.Popen([self.exe, self.state] + list(args),
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=self.env)

    def put(self, entry, **kv):
        self.run("put", entry, *["%s=%s" % i for i in kv.items()],
                 check=True)

    def get(self, entry, field):
        p = self.run("get", entry, field)
        return p.stdout.strip() if p.returncode == 0 else None

    def fetch(self, profile_name, **kv):
        p = self.run("fetch", profile_name, *["%s=%s" % i for i in kv.items()])
        try:
            return json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"r": -999, "msg": "tool: " + p.stderr[-500:],
                    "fields": {}, "exp": 0}


def serve(get):
    """A local HTTP server in this process: get(headers) -> (status,
    bytes) answers every GET.  Returns (server, base URL)."""
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status, body = get(self.headers)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://127.0.0.1:%d/" % srv.server_address[1]
