#!/usr/bin/env python3
"""Runs test_moto (the AWS providers in C) against real local peers.

usage: moto_test.py TEST_MOTO_BINARY [all|sts|web|sso|rotate]

Starts, on free loopback ports: moto_server with auth switched on after the
setup calls (INITIAL_NO_AUTH_ACTION_COUNT), a recording proxy in front of it
(counts actions, keeps the web identity token that was sent), a flaky proxy
(503, then a Throttling 400, then forwards), a socket that never answers,
oauth2-mock-server (JWTs for web identity; npm-installed into
tests/aws/node_modules when missing) and a fake SSO portal.  Then runs the C
test and checks its results with boto3.  Prints TAP.  Everything it starts
is killed on exit, failure included.
"""
import base64
import hashlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tap  # noqa: E402
from tap import CI, ok  # noqa: E402

procs = []
tmp = tempfile.mkdtemp(prefix="credfs-moto-")


def cleanup(*_):
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except OSError:
                pass
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
    shutil.rmtree(tmp, ignore_errors=True)


def die_skip(why):
    cleanup()
    tap.skip_all(why)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("%s did not listen on %d" % (what, port))


def spawn(args, log, env=None, cwd=None):
    f = open(os.path.join(tmp, log), "wb")
    p = subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT,
                         env=env, cwd=cwd, start_new_session=True)
    procs.append(p)
    return p


# ---- proxies ---------------------------------------------------------------

class Recorder:
    def __init__(self):
        self.calls = []  # (action, status)
        self.web_tokens = []
        self.lock = threading.Lock()


def make_proxy(upstream_port, rec, script=None):
    """Forwards to moto byte for byte, Host header included (it is signed).
    script: list of canned (status, body) answers to give first."""
    canned = list(script or [])

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _do(self):
            ln = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(ln) if ln else b""
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            action = (form.get("Action") or ["?"])[0]
            with rec.lock:
                if canned:
                    status, text = canned.pop(0)
                    rec.calls.append((action, status))
                    data = text.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if "WebIdentityToken" in form:
                    rec.web_tokens.append(form["WebIdentityToken"][0])
            c = http.client.HTTPConnection("127.0.0.1", upstream_port,
                                           timeout=20)
            hdrs = {k: v for k, v in self.headers.items()
                    if k.lower() not in ("connection", "expect")}
            c.request(self.command, self.path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            with rec.lock:
                rec.calls.append((action, r.status))
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("transfer-encoding", "connection",
                                     "content-length", "server", "date"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            c.close()

        do_POST = _do
        do_GET = _do

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


SSO_TOKEN = "sso-access-token-" + base64.b32encode(os.urandom(10)).decode()


def make_sso_portal(seen):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(u.query)
            tok = self.headers.get("x-amz-sso_bearer_token")
            seen.append((u.path, q, tok == SSO_TOKEN))
            if (u.path == "/federation/credentials" and tok == SSO_TOKEN
                    and q == {"account_id": ["123456789012"],
                              "role_name": ["ReadOnly"]}):
                exp = int((time.time() + 3600) * 1000)
                body = json.dumps({"roleCredentials": {
                    "accessKeyId": "ASIASSOEXAMPLE000001",
                    "secretAccessKey": "ssoSecret/" + "x" * 30,
                    "sessionToken": "ssoSessionToken+" + "y" * 40,
                    "expiration": exp}}).encode()
                self.send_response(200)
            else:
                body = json.dumps({"message": "Session token not found or"
                                   " invalid"}).encode()
                self.send_response(401)
                self.send_header("x-amzn-ErrorType",
                                 "UnauthorizedException:http://internal."
                                 "amazon.com/coral/com.amazon.switchboard."
                                 "portal/")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def write_sso_cache(d):
    os.makedirs(d, exist_ok=True)

    def put(key, token, expires):
        name = hashlib.sha1(key.encode()).hexdigest() + ".json"
        with open(os.path.join(d, name), "w") as f:
            json.dump({"startUrl": "https://example.awsapps.com/start",
                       "region": "eu-west-1", "accessToken": token,
                       "expiresAt": expires}, f)

    fmt = "%Y-%m-%dT%H:%M:%SZ"
    put("https://example.awsapps.com/start", SSO_TOKEN,
        time.strftime(fmt, time.gmtime(time.time() + 3600)))
    put("expired", SSO_TOKEN,
        time.strftime(fmt, time.gmtime(time.time() - 60)))
    # CLI v1 style "UTC" suffix
    put("revoked", "revoked-token",
        time.strftime("%Y-%m-%dT%H:%M:%SUTC",
                      time.gmtime(time.time() + 3600)))


# ---- JWTs ------------------------------------------------------------------

def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def start_oauth2_mock():
    modules = os.path.join(HERE, "node_modules")
    cli = os.path.join(modules, "oauth2-mock-server", "dist",
                       "oauth2-mock-server.mjs")
    if not os.path.exists(cli):
        npm = shutil.which("npm")
        if not npm:
            return None, "npm not found"
        r = subprocess.run([npm, "install", "--no-save", "--no-audit",
                            "--no-fund", "--prefix", HERE,
                            "oauth2-mock-server@8"], capture_output=True,
                           timeout=120)
        if r.returncode != 0 or not os.path.exists(cli):
            return None, "npm install oauth2-mock-server failed: %s" % \
                r.stderr.decode()[-300:]
    port = free_port()
    p = spawn(["node", cli, "-a", "127.0.0.1", "-p", str(port)], "oauth2.log")
    wait_port(port, p, "oauth2-mock-server")
    return "http://127.0.0.1:%d" % port, None


def issue_jwt(base, subject):
    data = urllib.parse.urlencode({"grant_type": "client_credentials",
                                   "scope": "sts", "client_id": subject,
                                   }).encode()
    with urllib.request.urlopen(base + "/token", data, timeout=10) as r:
        return json.load(r)["access_token"]


def verify_jwt(base, token):
    """RS256 signature of token against the mock server's JWKS."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    head, payload, sig = token.split(".")
    hdr = json.loads(b64url_decode(head))
    with urllib.request.urlopen(base + "/jwks", timeout=10) as r:
        keys = json.load(r)["keys"]
    key = [k for k in keys if k.get("kid") == hdr.get("kid")][0]
    pub = rsa.RSAPublicNumbers(
        int.from_bytes(b64url_decode(key["e"]), "big"),
        int.from_bytes(b64url_decode(key["n"]), "big")).public_key()
    pub.verify(b64url_decode(sig), (head + "." + payload).encode(),
               padding.PKCS1v15(), hashes.SHA256())
    return json.loads(b64url_decode(payload))


# ---- main --------------------------------------------------------------------

def main():
    binary = sys.argv[1]
    only = sys.argv[2] if len(sys.argv) > 2 else "all"
    try:
        import boto3
        import botocore.exceptions
    except ImportError as exc:
        die_skip("boto3 missing: %s" % exc)
    moto = shutil.which("moto_server")
    if not moto:
        die_skip("moto_server not in PATH")

    # Every boto3 call below before run() counts against the no-auth budget.
    SETUP_CALLS = 11
    mport = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(SETUP_CALLS),
               MOTO_CALL_RESET_API="false")
    mp = spawn([moto, "-H", "127.0.0.1", "-p", str(mport)], "moto.log",
               env=env)
    wait_port(mport, mp, "moto_server")
    murl = "http://127.0.0.1:%d" % mport

    def client(svc, ak="testing", sk="testing", tok=None):
        return boto3.client(svc, endpoint_url=murl, region_name="us-east-1",
                            aws_access_key_id=ak, aws_secret_access_key=sk,
                            aws_session_token=tok)

    iam = client("iam")
    acct = "123456789012"
    # 1-3: alice, who may assume demo (only), get session tokens
    iam.create_user(UserName="alice")
    ak = iam.create_access_key(UserName="alice")["AccessKey"]
    role_arn = "arn:aws:iam::%s:role/demo" % acct
    iam.put_user_policy(UserName="alice", PolicyName="p", PolicyDocument=
                        json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "sts:AssumeRole",
                             "Resource": role_arn},
                            {"Effect": "Allow",
                             "Action": ["sts:GetSessionToken",
                                        "sts:GetCallerIdentity"],
                             "Resource": "*"}]}))
    # 4-5: demo trusts alice only with the external id; may not list users
    ext = "ext-" + base64.b32encode(os.urandom(5)).decode()
    iam.create_role(RoleName="demo", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::%s:user/alice" % acct},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": ext}}}]}))
    iam.put_role_policy(RoleName="demo", PolicyName="p", PolicyDocument=
                        json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "sts:*",
                             "Resource": "*"},
                            {"Effect": "Deny", "Action": "iam:ListUsers",
                             "Resource": "*"}]}))
    # 6-8: admin, for checks after auth is on
    iam.create_user(UserName="admin")
    adm = iam.create_access_key(UserName="admin")["AccessKey"]
    iam.put_user_policy(UserName="admin", PolicyName="p", PolicyDocument=
                        json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "*",
                             "Resource": "*"}]}))
    # 9-11: rot, whose key gets rotated
    iam.create_user(UserName="rot")
    rk = iam.create_access_key(UserName="rot")["AccessKey"]
    iam.put_user_policy(UserName="rot", PolicyName="p", PolicyDocument=
                        json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow",
                             "Action": ["iam:CreateAccessKey",
                                        "iam:DeleteAccessKey",
                                        "iam:UpdateAccessKey",
                                        "iam:ListAccessKeys",
                                        "sts:GetCallerIdentity"],
                             "Resource": "*"}]}))
    # moto 5.2.1 answers an unsigned AssumeRoleWithWebIdentity with a 500
    # (KeyError on Authorization in access_control.py) once auth is on,
    # although AWS takes it unsigned: web identity gets its own moto
    # without auth enforcement.
    wport = free_port()
    wenv = dict(os.environ)
    wenv.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
    wp = spawn([moto, "-H", "127.0.0.1", "-p", str(wport)], "moto-web.log",
               env=wenv)
    wait_port(wport, wp, "moto_server (web identity)")
    wurl = "http://127.0.0.1:%d" % wport
    web_iam = boto3.client("iam", endpoint_url=wurl, region_name="us-east-1",
                           aws_access_key_id="testing",
                           aws_secret_access_key="testing")
    web_role = web_iam.create_role(RoleName="web", AssumeRolePolicyDocument=
                               json.dumps({"Version": "2012-10-17",
                                           "Statement": [{
                                               "Effect": "Allow",
                                               "Principal": {"Federated":
                                                             "oidc"},
                                               "Action": "sts:AssumeRoleWith"
                                                         "WebIdentity"}]})
                               )["Role"]["Arn"]
    admin_iam = client("iam", adm["AccessKeyId"], adm["SecretAccessKey"])
    # auth is on now: the dummy key must be refused
    try:
        client("sts").get_caller_identity()
        ok(False, "moto enforces auth after %d setup calls" % SETUP_CALLS)
    except botocore.exceptions.ClientError as e:
        ok(e.response["Error"]["Code"] == "InvalidClientTokenId",
           "moto enforces auth after %d setup calls (%s)" %
           (SETUP_CALLS, e.response["Error"]["Code"]))

    rec, flaky_rec, web_rec = Recorder(), Recorder(), Recorder()
    proxy = make_proxy(mport, rec)
    web_proxy = make_proxy(wport, web_rec)
    throttle = ("<ErrorResponse><Error><Type>Sender</Type><Code>Throttling"
                "</Code><Message>Rate exceeded</Message></Error>"
                "</ErrorResponse>")
    flaky = make_proxy(mport, flaky_rec, [(503, "busy"), (400, throttle)])
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    sso_seen = []
    sso = make_sso_portal(sso_seen)
    sso_cache = os.path.join(tmp, "sso-cache")
    write_sso_cache(sso_cache)
    out_dir = os.path.join(tmp, "out")
    os.mkdir(out_dir, 0o700)

    jwt_file, jwt1, jwt2, oauth = "", "", "", None
    if only in ("all", "web"):
        oauth, why = start_oauth2_mock()
        if oauth:
            jwt1 = issue_jwt(oauth, "ci-runner")
            jwt2 = issue_jwt(oauth, "oidc-profile")
        elif CI:
            die_skip(why)
        else:
            # no npm here: unsigned stand-ins (moto accepts any JWT) so
            # the rest still runs; the JWKS check is skipped below
            print("# oauth2-mock-server unavailable: %s" % why)

            def fake(sub):
                enc = lambda d: base64.urlsafe_b64encode(  # noqa: E731
                    json.dumps(d).encode()).decode().rstrip("=")
                return "%s.%s.sig" % (enc({"alg": "none"}),
                                      enc({"sub": sub, "iss": "local"}))
            jwt1, jwt2 = fake("ci-runner"), fake("oidc-profile")
        jwt_file = os.path.join(tmp, "jwt")
        with open(jwt_file, "w") as f:
            f.write(jwt1 + "\n")

    cenv = dict(os.environ,
                ENDPOINT="http://127.0.0.1:%d" % proxy.server_address[1],
                WEB_ENDPOINT="http://127.0.0.1:%d" %
                web_proxy.server_address[1],
                FLAKY_ENDPOINT="http://127.0.0.1:%d" %
                flaky.server_address[1],
                SILENT_ENDPOINT="http://127.0.0.1:%d" %
                silent.getsockname()[1],
                ALICE_AK=ak["AccessKeyId"], ALICE_SK=ak["SecretAccessKey"],
                ROLE_ARN=role_arn, EXTERNAL_ID=ext,
                OTHER_ROLE_ARN="arn:aws:iam::%s:role/nonexistent" % acct,
                WEB_ROLE_ARN=web_role, JWT_FILE=jwt_file,
                JWT_SOURCE_TOKEN=jwt2, ROT_AK=rk["AccessKeyId"],
                ROT_SK=rk["SecretAccessKey"],
                SSO_ENDPOINT="http://127.0.0.1:%d" % sso.server_address[1],
                SSO_CACHE=sso_cache, OUT_DIR=out_dir)
    r = subprocess.run([binary, only], env=cenv, capture_output=True,
                       text=True, timeout=60)
    c_ok = 0
    for line in r.stdout.splitlines():
        if line.startswith("ok ") or line.startswith("not ok "):
            good = line.startswith("ok ")
            ok(good, "C: " + line.split(" - ", 1)[-1])
            c_ok += good
        elif line.startswith("#"):
            print(line)
    if r.stderr.strip():
        for line in r.stderr.strip().splitlines()[-20:]:
            print("# stderr: " + line)
    ok(r.returncode == 0 and c_ok > 0,
       "test_moto exit status %d, %d C checks passed" % (r.returncode, c_ok))

    def read_creds(name):
        with open(os.path.join(out_dir, name)) as f:
            a, s, t = (f.read().split("\n") + ["", ""])[:3]
        return a, s, t or None

    actions = [a for a, _ in rec.calls]
    if only in ("all", "sts"):
        a, s, t = read_creds("assumed")
        sts = client("sts", a, s, t)
        arn = sts.get_caller_identity()["Arn"]
        ok(arn.startswith("arn:aws:sts::%s:assumed-role/demo/credfs-prod-"
                          % acct),
           "boto3 with the assumed creds: %s" % arn)
        try:
            client("iam", a, s, t).list_users()
            ok(False, "role policy denies iam:ListUsers")
        except botocore.exceptions.ClientError as e:
            ok(e.response["Error"]["Code"] == "AccessDenied",
               "role policy denies iam:ListUsers (%s)" %
               e.response["Error"]["Code"])
        ok(actions.count("AssumeRole") == 6,
           "AssumeRole calls through the proxy: %d (want 6: one per case, "
           "no retries of errors)" % actions.count("AssumeRole"))
        ok(actions.count("GetSessionToken") == 2,
           "GetSessionToken calls: %d (the MFA-less and bad-code cases "
           "never reached AWS)" % actions.count("GetSessionToken"))
        ok(flaky_rec.calls == [("AssumeRole", 503), ("AssumeRole", 400),
                               ("AssumeRole", 200)],
           "flaky endpoint saw 503, Throttling, success: %s" %
           flaky_rec.calls)
    if only in ("all", "web"):
        ok(web_rec.web_tokens == [jwt1, jwt2],
           "the tokens sent are the ones oauth2-mock-server issued "
           "(%d sent)" % len(web_rec.web_tokens))
        try:
            if not oauth:
                raise LookupError("no issuer")
            claims = verify_jwt(oauth, web_rec.web_tokens[0])
            iss = urllib.parse.urlparse(claims.get("iss", ""))
            ok(iss.port == urllib.parse.urlparse(oauth).port,
               "sent token verifies against the issuer's JWKS (iss %s)" %
               claims.get("iss"))
        except LookupError:
            if CI:
                ok(False, "sent token verifies against the JWKS: "
                   "no oauth2-mock-server (npm) under CI=true")
            else:
                ok(True, "sent token verifies against the JWKS # SKIP no npm")
        except Exception as e:  # noqa: BLE001
            ok(False, "sent token verifies against the JWKS: %r" % e)
        a, s, t = read_creds("web")
        arn = boto3.client("sts", endpoint_url=wurl, region_name="us-east-1",
                           aws_access_key_id=a, aws_secret_access_key=s,
                           aws_session_token=t).get_caller_identity()["Arn"]
        ok(":assumed-role/web/web-" in arn,
           "boto3 with the web identity creds: %s" % arn)
    if only in ("all", "sso"):
        ok(len(sso_seen) == 2 and sso_seen[0][2] and not sso_seen[1][2],
           "SSO portal saw the cached token once, the revoked one once, "
           "and no request for the expired one")
    if only in ("all", "rotate"):
        keys = admin_iam.list_access_keys(UserName="rot")[
            "AccessKeyMetadata"]
        a, s, _ = read_creds("rotated")
        ok(len(keys) == 1 and keys[0]["AccessKeyId"] == a and
           keys[0]["Status"] == "Active",
           "rot has exactly one active key, the new one: %s" %
           [(k["AccessKeyId"], k["Status"]) for k in keys])
        arn = client("sts", a, s).get_caller_identity()["Arn"]
        ok(arn.endswith(":user/rot"), "boto3 with the rotated key: %s" % arn)
        try:
            client("sts", rk["AccessKeyId"],
                   rk["SecretAccessKey"]).get_caller_identity()
            ok(False, "old key refused by moto")
        except botocore.exceptions.ClientError as e:
            ok(e.response["Error"]["Code"] == "InvalidClientTokenId",
               "old key refused by moto (%s)" %
               e.response["Error"]["Code"])
        for act in ("CreateAccessKey", "UpdateAccessKey", "DeleteAccessKey"):
            ok(actions.count(act) >= 1, "%s reached moto" % act)

    if only == "all":
        # the HTTP trace: headers shown, credentials and bodies redacted
        denv = dict(cenv, CREDFS_DEBUG_HTTP="1")
        r = subprocess.run([binary, "debug"], env=denv, capture_output=True,
                           text=True, timeout=30)
        ok(r.returncode == 0 and "\nok 1 " in "\n" + r.stdout,
           "AssumeRole with CREDFS_DEBUG_HTTP=1")
        trace = r.stderr
        a, s_, t = read_creds("debug")
        leaked = [name for name, v in (("source secret",
                                        ak["SecretAccessKey"]),
                                       ("external id", ext),
                                       ("returned secret", s_),
                                       ("returned token", t))
                  if v and v in trace]
        ok("> Authorization: (redacted)" in trace and
           "body: " in trace and "> POST / HTTP/1.1" in trace
           and "Signature=" not in trace and not leaked,
           "trace shows headers, redacts Authorization and bodies "
           "(leaked: %s)" % (leaked or "nothing"))

    silent.close()
    for s in (proxy, flaky, web_proxy, sso):
        s.shutdown()
    return tap.finish()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: (cleanup(), sys.exit(1)))
    rc = 1
    try:
        rc = main()
    except Exception as exc:  # noqa: BLE001
        import traceback
        traceback.print_exc(file=sys.stdout)
        ok(False, "harness error: %r" % exc)
        rc = tap.finish()
    finally:
        cleanup()
    sys.exit(rc)
