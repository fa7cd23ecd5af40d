#!/usr/bin/env python3
"""leakscan.py SECRETS PATH...: search files (directories recursively, as
bytes) for secrets in any of the encodings a careless program would write.

SECRETS holds one "LABEL<TAB>VALUE" per line.  Each value is looked for
raw, hex (lower and upper case), and base64 / base64url at each of the three
byte alignments (the value inside a longer base64 stream starts at offset 0,
1 or 2 mod 3: the whole 3-byte groups of v, v[1:] and v[2:] are matched).  Hits are printed by label, encoding and file, never the
value; exit status 1 if anything was found, 2 on a usage error.
"""
import base64
import os
import sys


def encodings(value):
    v = value.encode()
    yield "raw", v
    yield "hex", v.hex().encode()
    yield "HEX", v.hex().upper().encode()
    for name, enc in (("base64", base64.b64encode),
                      ("base64url", base64.urlsafe_b64encode)):
        # Wherever the value sits in a base64 stream, one of v[0:], v[1:],
        # v[2:] starts on a 3-byte group boundary; whole groups from there
        # encode to the same characters whatever surrounds the value.
        for k in range(3):
            sub = v[k:]
            sub = sub[:len(sub) // 3 * 3]
            frag = enc(sub)
            if len(frag) >= 16:
                yield "%s@%d" % (name, k), frag


def files(paths):
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            for root, _dirs, names in os.walk(p):
                for n in names:
                    yield os.path.join(root, n)
        elif os.path.exists(p):
            yield p


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    secrets = []
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            label, _, value = line.partition("\t")
            if len(value) < 8:
                print("leakscan: secret %s is too short to search" % label,
                      file=sys.stderr)
                return 2
            secrets.append((label, list(encodings(value))))
    hits = 0
    scanned = 0
    for path in files(sys.argv[2:]):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            print("leakscan: cannot read %s: %s" % (path, e.strerror),
                  file=sys.stderr)
            return 2
        scanned += 1
        for label, encs in secrets:
            for ename, pat in encs:
                if pat in data:
                    print("LEAK: %s (%s) in %s" % (label, ename, path))
                    hits += 1
    print("leakscan: %d files, %d secrets x %d encodings, %d hits"
          % (scanned, len(secrets), len(secrets[0][1]) if secrets else 0,
             hits))
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
