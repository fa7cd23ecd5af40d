#!/usr/bin/python3
"""A HashiCorp Vault HTTP API emulator for credfs's tests.

usage: vault_emu.py PORT LOGFILE [options]     (PORT 0: pick a free one)

Follows Vault's HTTP API reference for exactly the calls credfs makes and
the real clients (hvac, node-vault) make in the conformance scripts:

  X-Vault-Token, X-Vault-Namespace (or a namespace path prefix)
  POST auth/approle/login, POST auth/jwt/login (JWT checked against a
  JWKS URL), POST auth/token/renew-self, GET auth/token/lookup-self,
  POST auth/token/revoke-self; KV v2 under secret/ (GET data?version=N,
  POST data, GET metadata); GET database/creds/ROLE (a real PostgreSQL
  role through psql with --pg-dsn); GET aws/creds/ROLE, aws/sts/ROLE;
  POST pki/issue/ROLE (a real certificate from a test CA);
  PUT sys/leases/renew, PUT sys/leases/revoke (and the /ID forms and the
  old sys/renew, sys/revoke); GET sys/health, sys/seal-status.

Leases and tokens keep a TTL and a max TTL; a renewal past the max TTL is
capped with Vault's warning; expired leases are revoked (the PostgreSQL
role dropped), and a token's leases are revoked with it.  Errors are
{"errors": [...]} with Vault's status codes (400, 403, 404, 405, 503).

Test control (not Vault API): POST /emu/seal, /emu/unseal, GET /emu/leases.

Prints the port on stdout when ready.  LOGFILE gets one line per request
(method, path, namespace, status) and per lease event: never a token,
secret_id, password or key.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vault_backends as vb  # noqa: E402


class VaultError(Exception):
    def __init__(self, status, *errors):
        Exception.__init__(self, status)
        self.status = status
        self.errors = list(errors)


def denied():
    return VaultError(403, "permission denied")


class Token:
    def __init__(self, ns, policies, ttl, max_ttl, path, display, meta,
                 renewable=True, root=False):
        self.id = "hvs." + vb.random_id(24)
        self.accessor = vb.random_id(24)
        self.ns = ns
        self.policies = policies
        self.issue = time.time()
        self.ttl = ttl
        self.max_ttl = max_ttl
        self.expire = None if root else self.issue + ttl
        self.path = path
        self.display = display
        self.meta = meta
        self.renewable = renewable and not root
        self.root = root

    def remaining(self, now):
        return 0 if self.expire is None else max(0, int(round(self.expire - now)))

    def auth(self, now, ttl=None):
        return {
            "client_token": self.id,
            "accessor": self.accessor,
            "policies": self.policies,
            "token_policies": self.policies,
            "identity_policies": None,
            "metadata": self.meta,
            "lease_duration": self.remaining(now) if ttl is None else ttl,
            "renewable": self.renewable,
            "entity_id": "",
            "token_type": "service",
            "orphan": True,
            "mfa_requirement": None,
            "num_uses": 0,
        }


class Lease:
    def __init__(self, lid, ns, ttl, max_ttl, renewable, token, kind,
                 default_ttl, name=None):
        self.id = lid
        self.ns = ns
        self.issue = time.time()
        self.expire = self.issue + ttl
        self.max_ttl = max_ttl
        self.default_ttl = default_ttl
        self.renewable = renewable
        self.token = token
        self.kind = kind
        self.name = name
        self.renewals = 0


class Vault:
    def __init__(self, args):
        self.a = args
        self.lock = threading.RLock()
        self.sealed = args.sealed
        self.ns = args.namespace.strip("/")
        self.tokens = {}
        self.leases = {}
        self.kv = {}
        self.pg = vb.Postgres(args.pg_dsn) if args.pg_dsn else None
        self.pki = vb.PKI()
        self.log_f = open(args.log, "a", buffering=1)
        if args.root_token:
            t = Token("", ["root"], 0, 0, "auth/token/root", "root", None,
                      root=True)
            t.id = args.root_token
            self.tokens[t.id] = t
        for spec in args.kv:
            path, _, js = spec.partition("=")
            self.kv_put(path.strip("/"), json.loads(js))
        self.jwks = None
        if args.jwks_url:
            import jwt
            self.jwks = jwt.PyJWKClient(args.jwks_url, cache_keys=False)

    def log(self, line):
        self.log_f.write("%s %s\n" % (time.strftime("%H:%M:%S"), line))

    # -- tokens and leases ------------------------------------------------
    def token(self, handler, req_ns):
        tid = handler.headers.get("X-Vault-Token", "")
        authz = handler.headers.get("Authorization", "")
        if not tid and authz.startswith("Bearer "):
            tid = authz[7:]
        t = self.tokens.get(tid)
        if not t or (t.expire is not None and t.expire <= time.time()):
            raise denied()
        if not (t.ns == "" or req_ns == t.ns or
                req_ns.startswith(t.ns + "/")):
            raise denied()
        return t

    def capped_ttl(self, want, issue, max_ttl, now):
        """Vault's CalculateTTL: the granted TTL and a warning if capped."""
        left = int(issue + max_ttl - now)
        if want > left:
            return max(left, 0), [
                'TTL of "%s" exceeded the effective max_ttl of "%s"; TTL '
                "value is capped accordingly"
                % (vb.go_duration(want), vb.go_duration(max(left, 0)))]
        return want, None

    def new_lease(self, path, ns, token, kind, renewable, name=None):
        lid = path + "/" + vb.random_id(24)
        if ns:
            lid += "." + vb.random_id(5)
        lease = Lease(lid, ns, self.a.lease_ttl, self.a.lease_max_ttl,
                      renewable, token.id, kind, self.a.lease_ttl, name)
        self.leases[lid] = lease
        self.log("lease create %s ttl=%d max_ttl=%d" %
                 (lid, self.a.lease_ttl, self.a.lease_max_ttl))
        return lease

    def revoke_lease(self, lease, why):
        self.leases.pop(lease.id, None)
        if lease.kind == "database" and self.pg and lease.name:
            try:
                self.pg.drop(lease.name)
            except Exception as e:  # noqa: BLE001
                self.log("lease %s %s: drop failed: %s" % (why, lease.id, e))
                return
        self.log("lease %s %s" % (why, lease.id))

    def revoke_token(self, t, why):
        self.tokens.pop(t.id, None)
        self.log("token %s accessor=%s" % (why, t.accessor))
        for lease in [x for x in self.leases.values() if x.token == t.id]:
            self.revoke_lease(lease, "revoke")

    def reap(self):
        while True:
            time.sleep(0.25)
            now = time.time()
            with self.lock:
                for lease in [x for x in self.leases.values()
                              if x.expire <= now]:
                    self.revoke_lease(lease, "expire")
                for t in [x for x in self.tokens.values()
                          if x.expire is not None and x.expire <= now]:
                    self.revoke_token(t, "expire")

    # -- KV v2 -------------------------------------------------------------
    def kv_put(self, path, data):
        versions = self.kv.setdefault(path, [])
        meta = {"created_time": vb.rfc3339(time.time()),
                "custom_metadata": None, "deletion_time": "",
                "destroyed": False, "version": len(versions) + 1}
        versions.append({"data": data, "metadata": meta})
        return meta


def envelope(data=None, auth=None, lease=None, warnings=None):
    return {
        "request_id": vb.uuid4(),
        "lease_id": lease.id if lease else "",
        "renewable": bool(lease and lease.renewable),
        "lease_duration": int(round(lease.expire - time.time())) if lease
        else 0,
        "data": data,
        "wrap_info": None,
        "warnings": warnings,
        "auth": auth,
        "mount_type": "",
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vault-emu"
    V = None  # the Vault, set in main

    def log_message(self, fmt, *args):  # quiet stderr; the log file is ours
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_LIST(self):
        self.handle_any("LIST")

    def send_json(self, status, obj):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Cache-Control", "no-store")
        if obj is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise VaultError(400, "failed to parse JSON input: %s" % e)
        if not isinstance(body, dict):
            raise VaultError(400, "failed to parse JSON input: not an object")
        return body

    def handle_any(self, method):
        V = self.V
        url = urllib.parse.urlsplit(self.path)
        ns = self.headers.get("X-Vault-Namespace", "").strip("/")
        status = 500
        try:
            with V.lock:
                status, obj = self.route(method, url, ns)
        except VaultError as e:
            status, obj = e.status, {"errors": e.errors}
        except Exception as e:  # noqa: BLE001
            status, obj = 500, {"errors": ["internal error: %s" % type(e)
                                           .__name__]}
        V.log("%s %s ns=%s -> %d" % (method, url.path, ns or "-", status))
        self.send_json(status, obj)

    def route(self, method, url, ns):
        V = self.V
        p = url.path
        q = urllib.parse.parse_qs(url.query)
        if p.startswith("/emu/"):
            return self.control(method, p[5:])
        if not p.startswith("/v1/"):
            raise VaultError(404)
        p = p[4:].strip("/")
        if method == "GET" and q.get("list") == ["true"]:
            method = "LIST"
        if p in ("sys/health", "sys/seal-status"):
            return self.health(p)
        if V.sealed:
            raise VaultError(503, "Vault is sealed")
        # A namespace may also be given as a path prefix.
        if V.ns and (p == V.ns or p.startswith(V.ns + "/")):
            ns = (ns + "/" + V.ns).strip("/") if ns != V.ns else V.ns
            p = p[len(V.ns):].strip("/")
        write = method in ("POST", "PUT")
        body = self.read_body() if write else {}
        in_ns = ns == V.ns

        def no_route():
            return VaultError(404, 'no handler for route "%s". route entry '
                              "not found." % ((ns + "/" + p).strip("/")))

        def need(*methods):
            if method not in methods:
                raise VaultError(405, "unsupported operation")

        parts = p.split("/")
        # -- auth methods (no token needed) --
        if p in ("auth/approle/login", "auth/jwt/login"):
            need("POST", "PUT")
            if not in_ns:
                raise no_route()
            return self.approle(body, ns) if "approle" in p else \
                self.jwt_login(body, ns)
        # -- everything else needs a token valid in this namespace --
        t = V.token(self, ns)
        now = time.time()
        if p == "auth/token/lookup-self":
            need("GET", "POST", "PUT")
            return 200, envelope(data=self.lookup(t, now))
        if p == "auth/token/renew-self":
            need("POST", "PUT")
            return self.renew_self(t, body, now)
        if p == "auth/token/revoke-self":
            need("POST", "PUT")
            V.revoke_token(t, "revoke")
            return 204, None
        if p in ("sys/leases/renew", "sys/renew") or \
                p.startswith("sys/leases/renew/") or p.startswith("sys/renew/"):
            need("POST", "PUT")
            lid = p.split("renew/", 1)[1] if "/renew/" in p \
                else body.get("lease_id")
            return self.renew_lease(lid, body.get("increment"), ns, now)
        if p in ("sys/leases/revoke", "sys/revoke") or \
                p.startswith("sys/leases/revoke/") or \
                p.startswith("sys/revoke/"):
            need("POST", "PUT")
            lid = p.split("revoke/", 1)[-1] if "/revoke/" in p \
                else body.get("lease_id")
            if not lid:
                raise VaultError(400, "missing lease_id")
            lease = V.leases.get(lid)
            if lease and lease.ns == ns:
                V.revoke_lease(lease, "revoke")
            return 204, None
        if not in_ns:
            raise no_route()
        if parts[0] == "secret" and len(parts) >= 3 and \
                parts[1] in ("data", "metadata"):
            return self.kv(method, parts[1], "/".join(parts[2:]), q, body)
        if p.startswith("database/creds/") and len(parts) == 3:
            need("GET")
            return self.db_creds(parts[2], t, ns)
        if parts[0] == "aws" and len(parts) == 3 and \
                parts[1] in ("creds", "sts"):
            need("GET", "POST", "PUT")
            return self.aws_creds(parts[1], parts[2], t, ns)
        if p.startswith("pki/issue/") and len(parts) == 3:
            need("POST", "PUT")
            return self.pki_issue(parts[2], body)
        raise no_route()

    # -- handlers ----------------------------------------------------------
    def control(self, method, what):
        V = self.V
        if what == "seal" and method == "POST":
            V.sealed = True
        elif what == "unseal" and method == "POST":
            V.sealed = False
        elif what == "leases" and method == "GET":
            return 200, {"leases": [
                {"lease_id": x.id, "expire": x.expire, "renewals": x.renewals,
                 "kind": x.kind} for x in V.leases.values()]}
        else:
            raise VaultError(404)
        V.log("control %s" % what)
        return 204, None

    def health(self, p):
        V = self.V
        if p == "sys/seal-status":
            return 200, {"type": "shamir", "initialized": True,
                         "sealed": V.sealed, "t": 1, "n": 1,
                         "progress": 0, "version": "1.15.0-emu"}
        return (503 if V.sealed else 200), {
            "initialized": True, "sealed": V.sealed, "standby": False,
            "server_time_utc": int(time.time()), "version": "1.15.0-emu"}

    def approle(self, body, ns):
        V, a = self.V, self.V.a
        role_id = body.get("role_id")
        if not role_id:
            raise VaultError(400, "missing role_id")
        if role_id != a.role_id or body.get("secret_id") != a.secret_id:
            raise VaultError(400, "invalid role or secret ID")
        t = Token(ns, ["default", a.role_name], a.token_ttl, a.token_max_ttl,
                  "auth/approle/login", "approle",
                  {"role_name": a.role_name})
        V.tokens[t.id] = t
        V.log("token create accessor=%s ttl=%d" % (t.accessor, t.ttl))
        return 200, envelope(auth=t.auth(time.time()))

    def jwt_login(self, body, ns):
        V, a = self.V, self.V.a
        role, token = body.get("role"), body.get("jwt")
        if not token:
            raise VaultError(400, "missing token")
        if not role or role != a.jwt_role:
            raise VaultError(400, 'role "%s" could not be found' % role)
        if not V.jwks:
            raise VaultError(400, "error validating token: no JWKS URL "
                             "configured")
        import jwt
        try:
            key = V.jwks.get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, key, algorithms=["RS256", "ES256"],
                                audience=a.jwt_audience or None,
                                options={"verify_aud": bool(a.jwt_audience)})
        except Exception as e:  # noqa: BLE001
            raise VaultError(400, "error validating token: %s" %
                             str(e).splitlines()[0][:200])
        if "sub" not in claims:
            raise VaultError(400, 'claim "sub" not found in token')
        t = Token(ns, ["default", role], a.token_ttl, a.token_max_ttl,
                  "auth/jwt/login", "jwt-" + str(claims["sub"])[:20],
                  {"role": role})
        V.tokens[t.id] = t
        V.log("token create accessor=%s ttl=%d" % (t.accessor, t.ttl))
        return 200, envelope(auth=t.auth(time.time()))

    def lookup(self, t, now):
        return {
            "accessor": t.accessor,
            "creation_time": int(t.issue),
            "creation_ttl": t.ttl,
            "display_name": t.display,
            "entity_id": "",
            "expire_time": None if t.expire is None else vb.rfc3339(t.expire),
            "explicit_max_ttl": 0,
            "id": t.id,
            "issue_time": vb.rfc3339(t.issue),
            "meta": t.meta,
            "num_uses": 0,
            "orphan": True,
            "path": t.path,
            "policies": t.policies,
            "renewable": t.renewable,
            "ttl": t.remaining(now),
            "type": "service",
        }

    def renew_self(self, t, body, now):
        if not t.renewable:
            raise VaultError(400, "lease is not renewable")
        inc = vb.parse_ttl(body.get("increment"))
        want = inc if inc else t.ttl
        ttl, warn = self.V.capped_ttl(want, t.issue, t.max_ttl, now)
        t.expire = now + ttl
        self.V.log("token renew accessor=%s ttl=%d" % (t.accessor, ttl))
        return 200, envelope(auth=t.auth(now, ttl), warnings=warn)

    def renew_lease(self, lid, increment, ns, now):
        V = self.V
        if not lid:
            raise VaultError(400, "missing lease_id")
        lease = V.leases.get(lid)
        if not lease or lease.ns != ns:
            raise VaultError(400, "lease not found")
        if not lease.renewable:
            raise VaultError(400, "lease is not renewable")
        inc = vb.parse_ttl(increment)
        want = inc if inc else lease.default_ttl
        ttl, warn = V.capped_ttl(want, lease.issue, lease.max_ttl, now)
        lease.expire = now + ttl
        lease.renewals += 1
        if lease.kind == "database" and V.pg and lease.name:
            V.pg.renew(lease.name, lease.expire)
        V.log("lease renew %s ttl=%d%s" % (lid, ttl, " capped" if warn
                                           else ""))
        return 200, {"request_id": vb.uuid4(), "lease_id": lid,
                     "renewable": lease.renewable, "lease_duration": ttl,
                     "data": None, "wrap_info": None, "warnings": warn,
                     "auth": None, "mount_type": ""}

    def kv(self, method, kind, path, q, body):
        V = self.V
        versions = V.kv.get(path)
        if kind == "metadata":
            if method != "GET":
                raise VaultError(405, "unsupported operation")
            if not versions:
                raise VaultError(404)
            cur = versions[-1]["metadata"]
            return 200, envelope(data={
                "cas_required": False,
                "created_time": versions[0]["metadata"]["created_time"],
                "current_version": len(versions),
                "custom_metadata": None, "delete_version_after": "0s",
                "max_versions": 0, "oldest_version": 1,
                "updated_time": cur["created_time"],
                "versions": {str(i + 1): {
                    "created_time": v["metadata"]["created_time"],
                    "deletion_time": "", "destroyed": False}
                    for i, v in enumerate(versions)}})
        if method in ("POST", "PUT"):
            data = body.get("data")
            if not isinstance(data, dict):
                raise VaultError(400, "no data provided")
            cas = (body.get("options") or {}).get("cas")
            if cas is not None and int(cas) != len(versions or []):
                raise VaultError(400, "check-and-set parameter did not match "
                                 "the current version")
            return 200, envelope(data=V.kv_put(path, data))
        if method != "GET":
            raise VaultError(405, "unsupported operation")
        if not versions:
            raise VaultError(404)
        want = q.get("version", ["0"])[0]
        try:
            n = int(want)
        except ValueError:
            raise VaultError(400, "error parsing version: %s" % want[:20])
        n = n or len(versions)
        if n < 1 or n > len(versions):
            raise VaultError(404)
        v = versions[n - 1]
        return 200, envelope(data={"data": v["data"],
                                   "metadata": v["metadata"]})

    def db_creds(self, role, t, ns):
        V = self.V
        if role not in V.a.db_role:
            raise VaultError(400, "unknown role: %s" % role)
        name = vb.db_username(t.display, role)
        password = vb.vault_password()
        lease = V.new_lease("database/creds/" + role, ns, t, "database",
                            True, name)
        if V.pg:
            try:
                V.pg.create(name, password, lease.expire)
            except Exception as e:  # noqa: BLE001
                V.leases.pop(lease.id, None)
                raise VaultError(500, "1 error occurred:\n\t* %s\n\n" % e)
        return 200, envelope(data={"username": name, "password": password},
                             lease=lease)

    def aws_creds(self, kind, role, t, ns):
        V = self.V
        if role not in V.a.aws_role:
            raise VaultError(400, 'Role "%s" not found' % role)
        up = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        import secrets
        ak = ("ASIA" if kind == "sts" else "AKIA") + "".join(
            secrets.choice(up) for _ in range(16))
        data = {"access_key": ak, "secret_key": vb.random_id(40),
                "security_token": ("FQoGZXIvYXdzE" + vb.random_id(120))
                if kind == "sts" else None}
        lease = V.new_lease("aws/%s/%s" % (kind, role), ns, t, "aws",
                            kind == "creds")
        return 200, envelope(data=data, lease=lease)

    def pki_issue(self, role, body):
        V = self.V
        if role not in V.a.pki_role:
            raise VaultError(400, "unknown role: %s" % role)
        cn = body.get("common_name")
        if not cn:
            raise VaultError(400, 'the common_name field is required, or '
                             'must be provided in a CSR with '
                             '"use_csr_common_name" set to true, unless '
                             '"require_cn" is set to false')
        want = vb.parse_ttl(body.get("ttl")) or V.a.pki_ttl
        warn = None
        if want > V.a.pki_max_ttl:
            warn = ['TTL "%s" is longer than permitted maxTTL "%s", so '
                    "maxTTL is being used" % (vb.go_duration(want),
                                              vb.go_duration(V.a.pki_max_ttl))]
            want = V.a.pki_max_ttl
        alt = [x.strip() for x in str(body.get("alt_names", "")).split(",")]
        return 200, envelope(data=V.pki.issue(cn, alt, want), warnings=warn)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("port", type=int)
    ap.add_argument("log")
    ap.add_argument("--namespace", default="",
                    help="the namespace the mounts live in ('' = root)")
    ap.add_argument("--root-token", default="")
    ap.add_argument("--role-id", default="credfs-role-id")
    ap.add_argument("--secret-id", default="credfs-secret-id")
    ap.add_argument("--role-name", default="credfs")
    ap.add_argument("--token-ttl", type=int, default=600)
    ap.add_argument("--token-max-ttl", type=int, default=3600)
    ap.add_argument("--lease-ttl", type=int, default=300)
    ap.add_argument("--lease-max-ttl", type=int, default=900)
    ap.add_argument("--db-role", action="append", default=["readonly"])
    ap.add_argument("--aws-role", action="append", default=["deploy"])
    ap.add_argument("--pki-role", action="append", default=["web"])
    ap.add_argument("--pki-ttl", type=int, default=3600)
    ap.add_argument("--pki-max-ttl", type=int, default=86400)
    ap.add_argument("--jwks-url", default="")
    ap.add_argument("--jwt-role", default="credfs")
    ap.add_argument("--jwt-audience", default="")
    ap.add_argument("--pg-dsn", default="",
                    help="libpq conninfo of a superuser connection")
    ap.add_argument("--kv", action="append", default=[],
                    help="PATH=JSON: an initial KV v2 version")
    ap.add_argument("--sealed", action="store_true")
    args = ap.parse_args()

    vault = Vault(args)
    Handler.V = vault
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    threading.Thread(target=vault.reap, daemon=True).start()
    vault.log("listening on 127.0.0.1:%d ns=%s" %
              (srv.server_address[1], vault.ns or "-"))
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
