#!/usr/bin/env python3
"""Cross-checks credfs's SigV4 signer against botocore's SigV4Auth.

usage: botocore_crosscheck.py TEST_SIGV4_BINARY

Random requests (methods, hosts with ports, queries with reserved
characters, form bodies, session tokens, extra headers) are signed by both
at a fixed time; the Authorization headers must be identical.  Prints TAP.
"""
import datetime
import os
import random
import string
import subprocess
import sys
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import tap  # noqa: E402
from tap import ok  # noqa: E402

try:
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as exc:  # pragma: no cover
    tap.skip_all("botocore missing: %s" % exc)

BIN = sys.argv[1]
rng = random.Random(20150830)


def rand_word(alphabet=string.ascii_letters + string.digits, lo=1, hi=12):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def botocore_sign(method, host, path, query, body, akid, secret, token,
                  region, service, when, headers):
    url = "https://%s%s" % (host, path)
    if query:
        url += "?" + query
    req = AWSRequest(method=method, url=url, data=body.encode(),
                     headers=dict(headers))
    req.headers["Host"] = host
    creds = Credentials(akid, secret, token)
    fixed = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    fixed = fixed.replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime",
                           return_value=fixed):
        botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
    return req.headers["Authorization"], req.headers["X-Amz-Date"]


def credfs_sign(method, host, path, query, body, akid, secret, token,
                region, service, when, headers):
    args = [BIN, "sign", method, host, path, query, body, akid, secret,
            token or "-", region, service, str(when)]
    args += ["%s: %s" % kv for kv in headers]
    out = subprocess.run(args, capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        return "ERROR " + out.stderr.strip(), ""
    lines = out.stdout.splitlines()
    return lines[0], lines[1]


QCHARS = string.ascii_letters + string.digits + "-_.~ /+=:,@!$"
cases = []
# The shapes credfs actually sends: STS/IAM Query POSTs and the SSO GET.
cases.append(("POST", "sts.us-east-1.amazonaws.com", "/", "",
              "Action=GetCallerIdentity&Version=2011-06-15", None,
              "us-east-1", "sts",
              [("Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8")]))
cases.append(("POST", "127.0.0.1:5000", "/", "",
              "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012"
              "%3Arole%2Fr&RoleSessionName=s&Version=2011-06-15",
              "FQoGZXIvYXdzEJr//////////wEaDM+tok/en=", "us-east-1", "sts",
              [("Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8")]))
cases.append(("POST", "iam.amazonaws.com", "/", "",
              "Action=CreateAccessKey&Version=2010-05-08", None,
              "us-east-1", "iam",
              [("Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8")]))
for i in range(60):
    method = rng.choice(["GET", "POST"])
    host = rng.choice(["sts.eu-west-1.amazonaws.com", "127.0.0.1:%d" %
                       rng.randint(1024, 65535), "example.amazonaws.com",
                       "[::1]:8080"])
    params = []
    for _ in range(rng.randint(0, 5)):
        k = rand_word(QCHARS, 1, 8)
        v = rand_word(QCHARS, 0, 10)
        params.append((k, v))
    import urllib.parse
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote,
                                   safe="-_.~")
    body = ""
    if method == "POST":
        body = urllib.parse.urlencode(
            [("Action", rand_word()), ("Version", "2011-06-15")] +
            [(rand_word(), rand_word(QCHARS, 0, 20)) for _ in
             range(rng.randint(0, 4))],
            quote_via=urllib.parse.quote, safe="-_.~")
    token = rand_word(string.ascii_letters + string.digits + "+/=", 20,
                      300) if rng.random() < 0.5 else None
    headers = [("Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8")]
    if rng.random() < 0.4:
        headers.append(("X-Custom-%s" % rand_word(string.ascii_letters),
                        rand_word(string.ascii_letters + "  ", 1, 20)
                        .strip() or "v"))
    region = rng.choice(["us-east-1", "eu-central-1", "ap-southeast-2"])
    service = rng.choice(["sts", "iam", "service"])
    cases.append((method, host, "/", query, body, token, region, service,
                  headers))

when = 1764369000 + 3600 * 7
for idx, (method, host, path, query, body, token, region, service,
          headers) in enumerate(cases):
    akid = "AKIA" + rand_word(string.ascii_uppercase + string.digits, 16, 16)
    secret = rand_word(string.ascii_letters + string.digits + "+/", 40, 40)
    want, want_date = botocore_sign(method, host, path, query, body, akid,
                                    secret, token, region, service, when,
                                    headers)
    got, got_date = credfs_sign(method, host, path, query, body, akid,
                                secret, token, region, service, when,
                                headers)
    good = want == got and want_date == got_date
    ok(good, "case %d: %s %s%s%s matches botocore" %
       (idx, method, host, path, "?" + query[:40] if query else ""))
    if not good:
        print("#   botocore: %s %s" % (want, want_date))
        print("#   credfs:   %s %s" % (got, got_date))

tap.done()
