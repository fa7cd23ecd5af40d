#!/usr/bin/env python3
"""The Google API emulators of tests/peers against a real client: the
google-auth that gcloud bundles (lib/third_party of the gcloud install).

usage: peers_test.py

Checks that an unmodified google-auth refreshes against them as against
Google: an external_account (identity pool) with credential_source.file,
with and without service account impersonation, with subject tokens from
our OIDC issuer and from oauth2-mock-server; a service_account key; an
authorized_user refresh token; impersonated credentials and ID tokens.
And that the emulators refuse what Google refuses (wrong audience,
expired, unsigned, forged, unknown key, revoked token, no permission) with
Google's error shapes, and log no secret.  TAP.
"""
import glob
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tap  # noqa: E402
from tap import CI, ok, skip_all  # noqa: E402


def gcloud_third_party():
    cands = []
    g = shutil.which("gcloud")
    if g:
        root = os.path.dirname(os.path.dirname(os.path.realpath(g)))
        cands.append(os.path.join(root, "lib", "third_party"))
    cands += ["/usr/lib/google-cloud-sdk/lib/third_party",
              "/usr/share/google-cloud-sdk/lib/third_party",
              "/opt/google-cloud-sdk/lib/third_party"]
    cands += glob.glob(os.path.expanduser(
        "~/google-cloud-sdk/lib/third_party"))
    for c in cands:
        if os.path.exists(os.path.join(c, "google", "auth", "__init__.py")):
            return c
    return None


tp = gcloud_third_party()
if not tp:
    skip_all("gcloud's bundled google-auth not found")
sys.path.insert(0, tp)
sys.path.insert(1, HERE)
try:
    import google.auth
    import google.auth.exceptions
    import google.auth.iam
    import google.auth.transport.requests
    from google.auth import identity_pool, impersonated_credentials
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account
    import gcp_peers
except ImportError as ex:
    skip_all("import failed: %s" % ex)

CLOUD = "https://www.googleapis.com/auth/cloud-platform"
req = google.auth.transport.requests.Request()
P = gcp_peers.Peers().start(mock=True)
os.environ["GOOGLE_CLOUD_PROJECT"] = "credfs-test"


def refresh(creds):
    try:
        creds.refresh(req)
        return creds.token, None
    except google.auth.exceptions.GoogleAuthError as ex:
        return None, str(ex)
    except Exception as ex:  # a transport error is a failure too
        return None, "%s: %s" % (type(ex).__name__, ex)


def pool_creds(token_file, impersonate=None, audience=gcp_peers.AUDIENCE):
    info = {"type": "external_account", "audience": audience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": P.sts + "/v1/token",
            "credential_source": {"file": token_file}}
    if impersonate:
        info["service_account_impersonation_url"] = (
            P.iam + "/v1/projects/-/serviceAccounts/%s:generateAccessToken"
            % impersonate)
    return identity_pool.Credentials.from_info(info, scopes=[CLOUD])


def subject_file(tok):
    path = P.path("subject.jwt")
    with open(path, "w") as f:
        f.write(tok)  # no newline, as credfs serves it
    return path


def last(name):
    return P.log(name)[-1]


try:
    print("# google-auth %s from %s" % (google.auth.__version__, tp))
    ver = tuple(int(x) for x in google.auth.__version__.split(".")[:2])
    ok(ver >= (2, 0), "gcloud bundles google-auth 2.x (%s)" %
       google.auth.__version__)

    # ---- STS: identity pool with credential_source.file -----------------
    tok = P.issuer.token()
    tok_es = P.issuer.token(alg="ES256", sub="workload-1")
    creds = pool_creds(subject_file(tok))
    got, err = refresh(creds)
    ok(got and got.startswith("ya29.emu."),
       "identity pool: google-auth gets a token from the STS emulator (%s)"
       % err)
    e = last("sts")
    f = e["fields"]
    ok(e["path"] == "/v1/token" and e["status"] == 200 and
       f.get("grant_type") ==
       "urn:ietf:params:oauth:grant-type:token-exchange" and
       f.get("audience") == gcp_peers.AUDIENCE and
       f.get("requested_token_type") ==
       "urn:ietf:params:oauth:token-type:access_token" and
       f.get("subject_token_type") ==
       "urn:ietf:params:oauth:token-type:jwt" and
       f.get("scope") == CLOUD,
       "STS saw google-auth's form fields: %s" % sorted(f))
    ok(f["subject_token"]["sha256"] ==
       gcp_peers.gc_fingerprint(tok)["sha256"] and
       f["subject_token"]["len"] == len(tok),
       "STS received exactly the subject JWT of the file, no newline")
    raw = open(P.logs["sts"]).read()
    ok(tok not in raw and got not in raw and tok.split(".")[2] not in raw,
       "STS log holds no token, only its hash and length")

    creds = pool_creds(subject_file(tok_es))
    got, err = refresh(creds)
    ok(got and last("sts")["status"] == 200,
       "identity pool: an ES256 subject token is accepted (%s)" % err)

    for what, bad, want in (
            ("wrong audience", P.issuer.token(aud="https://elsewhere"),
             "audience"),
            ("expired", P.issuer.token(iat=int(time.time()) - 1200,
                                       life=600), "expired"),
            ("unsigned (alg none)", P.issuer.token(alg="none"),
             "algorithm"),
            ("signed by a stranger", P.issuer.token(
                key=P.issuer.stranger), "signature"),
            ("another issuer", P.issuer.token(iss="https://evil"),
             "issuer")):
        got, err = refresh(pool_creds(subject_file(bad)))
        e = last("sts")
        ok(got is None and err and "invalid_grant" in err and want in err
           and e["status"] == 400 and e.get("error") == "invalid_grant",
           "identity pool, %s: google-auth raises Google's invalid_grant: "
           "%s" % (what, err))
    got, err = refresh(pool_creds(subject_file(tok),
                                  audience=gcp_peers.POOL + "/providers/x"))
    ok(got is None and "invalid_target" in (err or ""),
       "unknown pool provider: invalid_target (%s)" % err)

    # ---- STS + IAM: impersonation ---------------------------------------
    creds = pool_creds(subject_file(tok), impersonate=P.target_sa)
    got, err = refresh(creds)
    e = last("iam")
    ok(got and got.startswith("ya29.emu.") and e["status"] == 200 and
       e["path"].endswith(P.target_sa + ":generateAccessToken") and
       e["fields"].get("scope") == [CLOUD] and
       e["headers"]["authorization"]["scheme"] == "Bearer",
       "identity pool + impersonation: google-auth gets the IAM emulator's "
       "token (%s)" % err)
    ok(creds.expiry is not None and
       creds.expiry.timestamp() > time.time() + 3000,
       "impersonated token expiry parsed from expireTime (%s)" %
       creds.expiry)
    got, err = refresh(pool_creds(subject_file(tok),
                                  impersonate=P.delegate_sa))
    e = last("iam")
    ok(got is None and e["status"] == 403 and
       "PERMISSION_DENIED" in json.dumps(e) and "403" in (err or ""),
       "impersonating an account without the role: 403 "
       "PERMISSION_DENIED (%s)" % err)

    # ---- oauth2-mock-server as the OIDC issuer -------------------------
    if P.mock:
        mt = P.mock_id_token()
        got, err = refresh(pool_creds(subject_file(mt),
                                      audience=gcp_peers.MOCK_AUDIENCE))
        ok(got and last("sts")["status"] == 200,
           "identity pool: an oauth2-mock-server id_token, verified with "
           "its JWKS (%s)" % err)
        got, err = refresh(pool_creds(subject_file(
            P.mock_id_token(aud="someone-else")),
            audience=gcp_peers.MOCK_AUDIENCE))
        ok(got is None and "audience" in (err or ""),
           "oauth2-mock-server id_token for another audience refused: %s"
           % err)
    else:
        ok(not CI, "oauth2-mock-server (npm) unavailable")

    # ---- service account key: JWT-bearer at the token emulator -----------
    sa = service_account.Credentials.from_service_account_info(
        P.sa_info(), scopes=[CLOUD])
    got, err = refresh(sa)
    e = last("oauth2")
    ok(got and got.startswith("ya29.emu.") and e["status"] == 200 and
       e["fields"]["grant_type"] ==
       "urn:ietf:params:oauth:grant-type:jwt-bearer" and
       "sha256" in e["fields"]["assertion"],
       "service account: google-auth's JWT-bearer grant accepted (%s)" %
       err)
    got, err = refresh(service_account.Credentials.from_service_account_info(
        P.sa_info(), scopes=[CLOUD], subject="bob@example.com"))
    ok(got, "service account with domain-wide delegation (%s)" % err)
    other = gcp_peers.rsa.generate_private_key(public_exponent=65537,
                                               key_size=2048)
    got, err = refresh(service_account.Credentials.from_service_account_info(
        P.sa_info(key=other), scopes=[CLOUD]))
    ok(got is None and "invalid_grant" in (err or "") and
       "Invalid JWT Signature" in err,
       "service account, wrong key: invalid_grant Invalid JWT Signature "
       "(%s)" % err)
    P.revoke_key()
    got, err = refresh(service_account.Credentials.from_service_account_info(
        P.sa_info(), scopes=[CLOUD]))
    P.restore_key()
    ok(got is None and "account not found" in (err or ""),
       "service account, disabled: invalid_grant (%s)" % err)

    # ---- impersonated credentials from the service account ---------------
    imp = impersonated_credentials.Credentials(
        source_credentials=service_account.Credentials.
        from_service_account_info(P.sa_info(), scopes=[CLOUD]),
        target_principal=P.target_sa, target_scopes=[CLOUD],
        delegates=[P.delegate_sa], lifetime=1800,
        iam_endpoint_override=P.iam + "/v1/projects/-/serviceAccounts/"
        "%s:generateAccessToken" % P.target_sa)
    got, err = refresh(imp)
    e = last("iam")
    ok(got and e["status"] == 200 and e["fields"]["lifetime"] == "1800s" and
       [d.rsplit("/", 1)[-1] for d in e["fields"]["delegates"]] ==
       [P.delegate_sa],
       "impersonated_credentials via a delegate, lifetime 1800s (%s)" % err)
    # IDTokenCredentials has no endpoint option: point google-auth's
    # constant at the emulator, as a universe-domain override would.
    google.auth.iam._IAM_IDTOKEN_ENDPOINT = (
        P.iam + "/v1/projects/-/serviceAccounts/{}:generateIdToken")
    idc = impersonated_credentials.IDTokenCredentials(
        imp, target_audience="https://run.example", include_email=True)
    got, err = refresh(idc)
    claims = gcp_peers.jwt.decode(got, options={"verify_signature": False}) \
        if got else {}
    ok(got and claims.get("aud") == "https://run.example" and
       claims.get("email") == P.target_sa,
       "generateIdToken: an ID token for the audience (%s)" % err)

    # ---- authorized user: refresh_token grant -----------------------------
    c = P.client
    uc = user_credentials.Credentials(
        None, refresh_token=c["refresh_tokens"][0], client_id=c["client_id"],
        client_secret=c["client_secret"], token_uri=P.token_uri)
    got, err = refresh(uc)
    ok(got and last("oauth2")["fields"]["grant_type"] == "refresh_token",
       "authorized_user: refresh_token grant (%s)" % err)
    uc = user_credentials.Credentials(
        None, refresh_token="1//revoked", client_id=c["client_id"],
        client_secret=c["client_secret"], token_uri=P.token_uri)
    got, err = refresh(uc)
    ok(got is None and "invalid_grant" in (err or ""),
       "authorized_user, revoked refresh token: invalid_grant (%s)" % err)
    raw = "".join(open(P.logs[k]).read() for k in P.logs)
    ok(c["client_secret"] not in raw and c["refresh_tokens"][0] not in raw
       and "PRIVATE KEY" not in raw,
       "no client secret, refresh token or key in any emulator log")
finally:
    P.close()

tap.done()
