"""google-auth (gcloud's bundled copy), unmodified, as a long-running reader
of the ADC a credfs mount serves (google.auth.default(): ~/.config/gcloud
through HOME).  Prints {"token": ...} per line: once at start, then once
per line read on stdin, each after creds.refresh() (which re-reads the
credential_source file).  usage: py_adc_refresh.py THIRD_PARTY_DIR"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import google.auth  # noqa: E402
import google.auth.transport.requests  # noqa: E402


def out(o):
    sys.stdout.write(json.dumps(o) + "\n")
    sys.stdout.flush()


try:
    creds, _ = google.auth.default(
        scopes=["https://www.googleapis.com/auth/cloud-platform"])
except Exception as ex:  # noqa: BLE001 - reported to the test
    out({"error": "default: %s" % ex})
    sys.exit(0)
req = google.auth.transport.requests.Request()


def once():
    try:
        creds.refresh(req)
        out({"token": creds.token, "type": type(creds).__module__})
    except Exception as ex:  # noqa: BLE001
        out({"error": str(ex)})


once()
for _line in sys.stdin:
    once()
