#!/usr/bin/python3
"""Every `credfs ...` command line the documentation shows is a real command
with real options, and every command says what to do when there is no
config yet.  TAP output.

Where commands are taken from:
  README.md, docs/*.md, examples/*.md   code spans and fenced blocks whose
                                        text starts with `credfs ` (or
                                        `$ credfs `, `sudo credfs `)
  docs/*.scd                            the SYNOPSIS, literal blocks, bold
                                        *credfs ...* mentions and every
                                        entry of COMMANDS
  examples/*.yml, examples/k8s/*.yaml   shell lines starting with `credfs `

Each must name a command of `credfs --help`'s table; for a command with
subcommands there (store, audit, ...) a subcommand of it; and only options
its usage lines show (-c, -h and --help are global; nothing after `--` is
checked).  Then each documented command is run:
  - with no config (-c a path that does not exist): exit 2, and the message
    names `credfs init` (init and demo write their own: init with no AWS
    config must say what to do instead; demo is not run);
  - against a scratch config where that is cheap: check, store list, status
    (no daemon: the documented message), init --from a scratch AWS config.

usage: commands.py CREDFS SOURCE_ROOT
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))
import tap  # noqa: E402

credfs, root = sys.argv[1], sys.argv[2]


def t(ok, msg, detail=""):
    if not tap.ok(ok, msg):
        tap.diag("\n".join("  " + line
                           for line in str(detail).splitlines()[:12]))


def run(args, env=None, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([credfs] + args, capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=60, stdin=subprocess.DEVNULL)


# ---- the help table -------------------------------------------------------

help_out = run(["--help"])
t(help_out.returncode == 0 and "usage: credfs" in help_out.stdout,
  "credfs --help prints the table", help_out.stderr)
commands = {}  # name -> {"subs": set, "opts": set}
entry = None
for line in help_out.stdout.splitlines():
    m = re.match(r"^  ([a-z][a-z0-9-]*)(.*)$", line)
    if m:
        entry = commands.setdefault(m.group(1), {"subs": set(), "opts": set()})
        # the usage part: up to two spaces before the description
        usage = re.split(r"\s{2,}", m.group(2))[0]
        words = re.split(r"[\s|\[\]]+", usage)
        # "lock | unlock": a second command sharing the line
        alias = re.match(r"^\s*\|\s*([a-z][a-z-]*)", m.group(2))
        if alias:
            commands.setdefault(alias.group(1), {"subs": set(), "opts": set()})
            words = []
        for w in words:
            if w.startswith("-") and w not in ("-", "--"):
                entry["opts"].add(w)
            elif re.fullmatch(r"[a-z][a-z0-9-]*", w):
                entry["subs"].add(w)
    elif entry is not None and line.startswith("      "):
        continue  # a description's continuation
    else:
        entry = None
t(len(commands) >= 12 and "store" in commands and
  "add" in commands["store"]["subs"],
  "the table parses (%d commands: %s)" % (len(commands),
                                          " ".join(sorted(commands))))

# ---- documented command lines --------------------------------------------


def strip_scd(s):
    return s.replace("*", "").replace("_", "").replace("++", "").replace(
        "\\", "")


def from_markdown(text):
    out = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            m = re.match(r"^\s*(?:\$ |sudo )?(credfs\s.*)$", line)
            if m:
                out.append(m.group(1))
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    for span in re.findall(r"`([^`\n]+)`", text):
        m = re.match(r"^(?:\$ |sudo )?(credfs\s.*)$", span)
        if m:
            out.append(m.group(1).replace("\\|", "|"))
    return out


def from_scd(text):
    out = []
    for block in re.findall(r"^```\n(.*?)^```", text, re.S | re.M):
        out += [l.strip() for l in block.splitlines()
                if l.strip().startswith("credfs ")]
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    section = None
    for line in text.splitlines():
        if line.startswith("# "):
            section = line[2:].strip()
            continue
        plain = strip_scd(line).strip()
        if section == "SYNOPSIS" and plain.startswith("credfs "):
            out.append(plain)
        if section == "COMMANDS" and line.startswith("*"):
            # "*lock*, *unlock*", "*oidc jwks* _P_, *oidc discovery* _P_"
            for part in re.split(r",\s+(?=\*)", line):
                out.append("credfs " + strip_scd(part).strip())
        for m in re.finditer(r"\*credfs ([a-z][^*]*)\*", line):
            out.append("credfs " + m.group(1))
    return out


def from_yaml(text):
    return [m.group(1) for m in
            re.finditer(r"^\s*(?:- run:\s*|run:\s*)?(credfs\s.*)$", text, re.M)]


docs = []
for pat, fn in (("README.md", from_markdown), ("docs/*.md", from_markdown),
                ("examples/*.md", from_markdown), ("docs/*.scd", from_scd),
                ("examples/*.yml", from_yaml), ("examples/k8s/*.yaml",
                                                from_yaml)):
    for path in sorted(glob.glob(os.path.join(root, pat))):
        with open(path, encoding="utf-8") as f:
            for line in fn(f.read()):
                docs.append((os.path.relpath(path, root), line))
for path in sorted({w for w, _ in docs}):
    print("# %s: %d command lines" % (path, sum(1 for w, _ in docs
                                                if w == path)))
t(len(docs) >= 40 and any(w.startswith("examples/") for w, _ in docs),
  "found %d documented command lines" % len(docs))


def parse(line):
    """(command, sub or None, [options]) of a documented line"""
    line = re.split(r"\s#", line)[0]
    words = [w for w in re.split(r"[\s\[\]()]+", line) if w]
    assert words[0] == "credfs"
    words = words[1:]
    while words and words[0] == "-c":
        words = words[2:]
    if not words:
        return None, None, []
    cmd, rest = words[0], words[1:]
    if "--" in rest:
        rest = rest[:rest.index("--")]
    alts = []
    for w in rest:
        alts += [a for a in w.split("|") if a]
    opts = [re.sub(r"=.*", "", a) for a in alts
            if a.startswith("-") and a not in ("-", "--")]
    sub = rest[0] if rest and re.fullmatch(r"[a-z][a-z0-9|-]*", rest[0]) \
        else None
    return cmd, sub, opts


GLOBAL = {"-c", "-h", "--help"}
seen = set()
for where, line in docs:
    cmd, sub, opts = parse(line)
    if cmd is None or not re.fullmatch(r"[a-z][a-z0-9-]*", cmd):
        continue  # "credfs -c FILE" alone, "credfs [-c CONFIG] COMMAND"
    key = (cmd, sub, tuple(opts))
    if key in seen:
        continue
    seen.add(key)
    what = "%s: `%s`" % (where, line.strip())
    if cmd not in commands:
        t(False, "%s: credfs --help has no command '%s'" % (what, cmd))
        continue
    c = commands[cmd]
    bad = []
    if c["subs"] and sub:
        for s in sub.split("|"):
            if s not in c["subs"]:
                bad.append("subcommand '%s' (has: %s)" %
                           (s, " ".join(sorted(c["subs"]))))
    for o in opts:
        if o not in c["opts"] and o not in GLOBAL:
            bad.append("option '%s' (has: %s)" %
                       (o, " ".join(sorted(c["opts"])) or "none"))
    t(not bad, "%s is a command of credfs --help%s" %
      (what, ": no " + "; no ".join(bad) if bad else ""))

# ---- with no config: what to do next -------------------------------------

tmp = tempfile.mkdtemp(prefix="credfs-doccmd-")
home = os.path.join(tmp, "home")
os.makedirs(home)
env = {"HOME": home, "XDG_CONFIG_HOME": os.path.join(home, ".config"),
       "CREDFS_CONFIG": ""}
env.pop("CREDFS_CONFIG")
os.environ.pop("CREDFS_CONFIG", None)
os.environ.pop("AWS_CONFIG_FILE", None)
os.environ.pop("AWS_SHARED_CREDENTIALS_FILE", None)
none = os.path.join(tmp, "none", "config")
tried = set()
for cmd in sorted(commands):
    subs = sorted(commands[cmd]["subs"]) or [None]
    for sub in subs:
        if cmd == "demo" or (cmd, sub) in tried:
            continue
        tried.add((cmd, sub))
        args = [cmd] + ([sub] if sub else [])
        if cmd == "init":
            r = run(["-c", none] + args, env)
            t(r.returncode != 0 and "credfs demo" in r.stderr and
              "example" in r.stderr,
              "no AWS config: `credfs init` says what to do instead",
              r.stderr)
            continue
        # arguments that get the command past its usage check
        args += {"exec": ["p", "--", "true"], "umount": [tmp],
                 "mount": [tmp]}.get(cmd, ["p"] if cmd in (
                     "login", "refresh", "revoke", "rotate") else [])
        for mode, a in (("-c " + none, ["-c", none] + args),
                        ("the default path", args)):
            r = run(a, env)
            t(r.returncode == 2 and "credfs init" in r.stderr and
              "does not exist yet" in r.stderr,
              "no config (%s): `credfs %s` says to run credfs init" %
              (mode, " ".join(args)), r.stderr)

# ---- cheap runs against a scratch config ---------------------------------

aws = os.path.join(home, ".aws")
os.makedirs(aws)
with open(os.path.join(aws, "config"), "w") as f:
    f.write("[profile base]\nregion = us-east-1\n\n[profile prod]\n"
            "role_arn = arn:aws:iam::123456789012:role/prod\n"
            "source_profile = base\nregion = us-east-1\n")
with open(os.path.join(aws, "credentials"), "w") as f:
    f.write("[base]\naws_access_key_id = AKIAEXAMPLEEXAMPLE01\n"
            "aws_secret_access_key = doc-test-not-a-key\n")
cfg = os.path.join(tmp, "config")
r = run(["init", "-o", cfg], env)
t(r.returncode == 0 and os.path.exists(cfg) and
  "store import-aws" in r.stdout + r.stderr and
  "mount ~/.aws" in r.stdout + r.stderr,
  "credfs init writes a config and names what is left", r.stderr)
with open(cfg) as f:
    text = f.read()
text = re.sub(r"(?m)^state_dir\s*=.*$", "state_dir = %s/state" % tmp, text)
text = re.sub(r"(?m)^key\s*=.*$", "key = keyfile:%s/state/key" % tmp, text)
with open(cfg, "w") as f:
    f.write(text)
r = run(["-c", cfg, "check"], env)
t(r.returncode == 0, "credfs check accepts it", r.stderr)
r = run(["-c", cfg, "store", "list"], env)
t(r.returncode == 0, "credfs store list", r.stderr)
r = run(["-c", cfg, "status"], env)
t(r.returncode == 1 and r.stderr.strip() ==
  "credfs: status: no daemon is running for %s (run `credfs mount`)" % cfg,
  "credfs status without a daemon: the documented message", r.stderr)
r = run(["-c", cfg, "login", "--console", "nosuch", "--print"], env)
t(r.returncode == 2 and "no such profile" in r.stderr,
  "credfs login --console: an unknown profile is a usage error", r.stderr)
r = run(["-c", cfg, "bogus"], env)
t(r.returncode == 2 and "unknown command" in r.stderr,
  "an unknown command is refused (the check above can fail)", r.stderr)
subprocess.run(["rm", "-rf", tmp])
tap.done()
