#!/usr/bin/env python3
"""Plain http reaches the instance metadata address 169.254.169.254 for
azure-managed-identity only: there the request goes out (and, off an Azure
VM, fails to connect or times out), while any other plain-http host, and
the metadata address for any other provider, is refused before a byte is
sent.  TAP.

usage: imds_url_test.py PROVIDER_TOOL
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "oauth2"))
import oauth2_peers as op  # noqa: E402

T = op.Tap()
tool = op.Tool(sys.argv[1], tempfile.mkdtemp(prefix="credfs-imds-"))
REFUSED = "plain http is only allowed"
IMDS = "http://169.254.169.254/metadata/identity/oauth2/token"

res = tool.fetch("mi", provider="azure-managed-identity",
                 resource="https://vault.azure.net")
T.ok(res["r"] != 0 and REFUSED not in res["msg"],
     "managed identity, default endpoint: the IMDS request is sent: %s"
     % res["msg"])
res = tool.fetch("mi", provider="azure-managed-identity",
                 resource="https://vault.azure.net", endpoint=IMDS)
T.ok(res["r"] != 0 and REFUSED not in res["msg"],
     "managed identity, endpoint = the IMDS URL: sent: %s" % res["msg"])
for url in ("http://169.254.169.254:8080/metadata/identity/oauth2/token",
            "http://169.254.169.253/metadata/identity/oauth2/token",
            "http://10.0.0.1/metadata/identity/oauth2/token",
            "http://metadata.example/token"):
    res = tool.fetch("mi", provider="azure-managed-identity",
                     resource="https://vault.azure.net", endpoint=url)
    T.ok(res["r"] != 0 and REFUSED in res["msg"] and
         "169.254.169.254" in res["msg"],
         "managed identity, %s: refused: %s" % (url, res["msg"]))
res = tool.fetch("o", provider="oauth2",
                 token_url="http://169.254.169.254/token", client_id="x",
                 client_auth="none")
T.ok(res["r"] != 0 and REFUSED in res["msg"] and
     "metadata" not in res["msg"],
     "oauth2 token_url at the metadata address over http: refused: %s"
     % res["msg"])
res = tool.fetch("o", provider="oauth2", token_url="http://127.0.0.1:9/t",
                 client_id="x", client_auth="none")
T.ok(res["r"] != 0 and REFUSED not in res["msg"],
     "oauth2 over http to loopback: allowed (connection refused): %s"
     % res["msg"])
T.done()
