"""tests/tap.py: the one TAP (Test Anything Protocol) module of the Python
tests, the counterpart of tests/tap.h.

    ok(cond, what)   one test point, "ok N - what" or "not ok N - what";
                     returns cond.  A description is one line: a newline
                     or CR in what becomes " / ".
    diag(msg)        every line of msg as a "# " comment line
    skip_all(why)    the whole plan skipped, "1..0 # SKIP why"; exits 1
                     under CI=true (a missing prerequisite is a failure
                     there), else 0
    finish()         the plan "1..N"; returns the exit status (1 when a
                     point failed), for a main() that returns it
    done()           finish(), then exit with its status

n (points so far) and failed (failures so far) may be read: tap.n,
tap.failed.  Every line is flushed as it is printed.

A script finds this module from its own directory:
    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), ".."))
"""
import os
import sys

CI = os.environ.get("CI") == "true"
n = 0
failed = 0


def _line(s):
    print(s, flush=True)


def ok(cond, what):
    global n, failed
    n += 1
    what = " / ".join(str(what).splitlines())
    _line("%s %d - %s" % ("ok" if cond else "not ok", n, what))
    if not cond:
        failed += 1
    return cond


def diag(msg):
    for line in str(msg).splitlines():
        _line("# " + line)


def skip_all(why):
    _line("1..0 # SKIP %s" % " / ".join(str(why).splitlines()))
    sys.exit(1 if CI else 0)


def finish():
    _line("1..%d" % n)
    if failed:
        _line("# %d of %d failed" % (failed, n))
    return 1 if failed else 0


def done():
    sys.exit(finish())
