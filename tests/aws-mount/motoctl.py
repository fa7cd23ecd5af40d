#!/usr/bin/env python3
"""Helpers for the aws-mount tests: set up IAM in a moto_server, look at it
with admin credentials, and read its request recording.

usage:
  motoctl.py setup URL            IAM users/roles; turns auth on; prints
                                  shell assignments (eval them)
  motoctl.py webrole URL          role for web identity (auth-off moto)
  motoctl.py keys URL USER        "ID Status" per access key (admin creds
                                  from ADMIN_AK/ADMIN_SK)
  motoctl.py delete-key URL USER ID
  motoctl.py set-status URL USER ID Active|Inactive
  motoctl.py count URL ACTION     AssumeRole etc. requests moto recorded
  motoctl.py whoami URL            GetCallerIdentity Arn or the error code
  motoctl.py list-users URL        "OK" or the error code
      both sign with KEY_AK, KEY_SK[, KEY_TOKEN] from the environment: a
      secret in argv would land in credfs's audit log (it records the
      cmdline of every process that opens a virtual file, and botocore
      opens ~/.aws/credentials even with explicit keys)

moto 5.2.1 counts INITIAL_NO_AUTH_ACTION_COUNT requests before it enforces
auth.  Rather than count the setup calls exactly, moto is started with a
large count and `setup` switches auth on with POST /moto-api/reset-auth 0
once IAM is in place (moto's own API for this; it also zeroes its request
counter), then checks that a dummy key is refused.
"""
import base64
import json
import os
import shlex
import sys
import urllib.parse
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

ACCT = "123456789012"
CFG = botocore.config.Config(retries={"max_attempts": 1})


def client(url, svc, ak="testing", sk="testing", tok=None):
    return boto3.client(svc, endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=ak, aws_secret_access_key=sk,
                        aws_session_token=tok, config=CFG)


def policy(*stmts):
    return json.dumps({"Version": "2012-10-17", "Statement": list(stmts)})


def setup(url):
    iam = client(url, "iam")
    ext = "ext-" + base64.b32encode(os.urandom(5)).decode().lower()
    role_arn = "arn:aws:iam::%s:role/prod" % ACCT
    out = {"ACCOUNT": ACCT, "ROLE_ARN": role_arn, "EXTERNAL_ID": ext,
           "OTHER_ROLE_ARN": "arn:aws:iam::%s:role/nonexistent" % ACCT}
    # base: may assume prod (only), get session tokens, manage its keys
    iam.create_user(UserName="base")
    k = iam.create_access_key(UserName="base")["AccessKey"]
    out["BASE_AK"], out["BASE_SK"] = k["AccessKeyId"], k["SecretAccessKey"]
    iam.put_user_policy(UserName="base", PolicyName="p", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn},
        {"Effect": "Allow", "Action": ["sts:GetSessionToken",
                                       "sts:GetCallerIdentity"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": ["iam:CreateAccessKey",
                                       "iam:DeleteAccessKey",
                                       "iam:UpdateAccessKey",
                                       "iam:ListAccessKeys"],
         # moto authorizes IAM actions against resource "*" only
         "Resource": "*"}))
    # a second user whose key the failure test deletes
    iam.create_user(UserName="doomed")
    k = iam.create_access_key(UserName="doomed")["AccessKey"]
    out["DOOMED_AK"], out["DOOMED_SK"] = (k["AccessKeyId"],
                                          k["SecretAccessKey"])
    iam.put_user_policy(UserName="doomed", PolicyName="p",
                        PolicyDocument=policy(
                            {"Effect": "Allow", "Action": "sts:*",
                             "Resource": "*"}))
    # halfrot: may create its keys but not delete them (rotate's
    # "both keys are active" path)
    iam.create_user(UserName="halfrot")
    k = iam.create_access_key(UserName="halfrot")["AccessKey"]
    out["HALF_AK"], out["HALF_SK"] = k["AccessKeyId"], k["SecretAccessKey"]
    iam.put_user_policy(UserName="halfrot", PolicyName="p",
                        PolicyDocument=policy(
                            {"Effect": "Allow",
                             "Action": ["iam:CreateAccessKey",
                                        "iam:ListAccessKeys",
                                        "sts:GetCallerIdentity"],
                             "Resource": "*"}))
    # prod trusts base with the external id; may not list users
    iam.create_role(RoleName="prod", AssumeRolePolicyDocument=policy({
        "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::%s:user/base" % ACCT,
                              "arn:aws:iam::%s:user/doomed" % ACCT]},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": ext}}}))
    iam.put_role_policy(RoleName="prod", PolicyName="p", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "sts:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}))
    # admin: for checks once auth is on
    iam.create_user(UserName="admin")
    k = iam.create_access_key(UserName="admin")["AccessKey"]
    out["ADMIN_AK"], out["ADMIN_SK"] = k["AccessKeyId"], k["SecretAccessKey"]
    iam.put_user_policy(UserName="admin", PolicyName="p", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*"}))
    # auth on, from now
    # text/plain: with urllib's default form type werkzeug eats the body
    req = urllib.request.Request(url + "/moto-api/reset-auth", data=b"0",
                                 headers={"Content-Type": "text/plain"},
                                 method="POST")
    urllib.request.urlopen(req, timeout=10).read()
    try:
        client(url, "sts").get_caller_identity()
        sys.exit("moto does not enforce auth after reset-auth 0")
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] != "InvalidClientTokenId":
            sys.exit("dummy key: unexpected %s" % e.response["Error"])
    for k, v in out.items():
        print("%s=%s" % (k, shlex.quote(v)))


def webrole(url):
    iam = client(url, "iam")
    arn = iam.create_role(RoleName="web", AssumeRolePolicyDocument=policy({
        "Effect": "Allow", "Principal": {"Federated": "oidc"},
        "Action": "sts:AssumeRoleWithWebIdentity"}))["Role"]["Arn"]
    print("WEB_ROLE_ARN=%s" % shlex.quote(arn))


def admin(url, svc):
    return client(url, svc, os.environ["ADMIN_AK"], os.environ["ADMIN_SK"])


def recorded(url):
    """The requests moto recorded (MOTO_ENABLE_RECORDING), as forms."""
    path = os.environ["MOTO_RECORDING"]
    forms = []
    if not os.path.exists(path):
        return forms
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            body = e.get("body") or ""
            if e.get("body_encoded"):
                body = base64.b64decode(body).decode("utf-8", "replace")
            forms.append(urllib.parse.parse_qs(body))
    return forms


def env_key():
    return (os.environ["KEY_AK"], os.environ["KEY_SK"],
            os.environ.get("KEY_TOKEN") or None)


def main():
    cmd, url = sys.argv[1], sys.argv[2]
    a = sys.argv[3:]
    if cmd == "setup":
        setup(url)
    elif cmd == "webrole":
        webrole(url)
    elif cmd == "keys":
        for k in admin(url, "iam").list_access_keys(
                UserName=a[0])["AccessKeyMetadata"]:
            print(k["AccessKeyId"], k["Status"])
    elif cmd == "delete-key":
        admin(url, "iam").delete_access_key(UserName=a[0], AccessKeyId=a[1])
    elif cmd == "set-status":
        admin(url, "iam").update_access_key(UserName=a[0], AccessKeyId=a[1],
                                            Status=a[2])
    elif cmd == "count":
        print(sum(1 for f in recorded(url)
                  if f.get("Action", [""])[0] == a[0]))
    elif cmd == "whoami":
        try:
            print(client(url, "sts", *env_key()).get_caller_identity()["Arn"])
        except botocore.exceptions.ClientError as e:
            print(e.response["Error"]["Code"])
    elif cmd == "list-users":
        try:
            client(url, "iam", *env_key()).list_users()
            print("OK")
        except botocore.exceptions.ClientError as e:
            print(e.response["Error"]["Code"])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
