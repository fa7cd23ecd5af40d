#!/usr/bin/env python3
"""Print the command names and config keys the C sources define, one
"KIND NAME" per line, extracted from the code (never a hard-coded list):

  command   the command table in cli/*.c ({"name", cmd_fn...}) and the
            commands main dispatches by name (strcmp(cmd, "name"))
  key       the key tables of core/*.c (arrays named *keys* or *common*,
            checked with in_list) and every provider's .keys = ARRAY
  provider  every provider's .name
  format    the format table ({"name", FMT_...})
  matcher   the rule matchers of core/rules.c (strcmp(name, "uid"))

usage: names.py SOURCE_ROOT
"""
import glob
import os
import re
import sys

root = sys.argv[1]


def read(path):
    with open(path, encoding="utf-8") as f:
        # drop comments so an example in a comment is not taken for code
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def arrays(text):
    """name -> list of strings of every `const char *const name[] = {...}`"""
    out = {}
    for m in re.finditer(
        r"const\s+char\s*\*\s*const\s+(\w+)\s*\[\s*\]\s*=\s*\{(.*?)\};", text, re.S
    ):
        out[m.group(1)] = re.findall(r'"([^"]*)"', m.group(2))
    return out


def c_files(*dirs):
    for d in dirs:
        yield from sorted(glob.glob(os.path.join(root, d, "**", "*.c"), recursive=True))


names = set()
for path in c_files("cli"):
    t = read(path)
    for m in re.finditer(
        r'\{\s*"([a-z][a-z0-9-]*)"\s*,\s*(NULL|\w*cmd\w*)\s*[,}]', t
    ):
        names.add(("command", m.group(1)))
    for m in re.finditer(r'strcmp\(\s*cmd\s*,\s*"([a-z][a-z0-9-]*)"\s*\)', t):
        names.add(("command", m.group(1)))

for path in c_files("core"):
    t = read(path)
    for name, vals in arrays(t).items():
        if ("keys" in name or "common" in name) and re.search(
            r"in_list\(\s*%s\s*," % re.escape(name), t
        ):
            names.update(("key", v) for v in vals if v)
    for m in re.finditer(r'\{\s*"([a-z0-9-]+)"\s*,\s*FMT_\w+', t):
        names.add(("format", m.group(1)))

rules = os.path.join(root, "core", "rules.c")
if os.path.exists(rules):
    for m in re.finditer(r'strcmp\(\s*name\s*,\s*"([a-z_0-9]+)"\s*\)', read(rules)):
        names.add(("matcher", m.group(1)))

for path in c_files("providers"):
    t = read(path)
    arr = arrays(t)
    for m in re.finditer(r"const\s+struct\s+provider_ops\s+\w+\s*=\s*\{(.*?)\};", t, re.S):
        body = m.group(1)
        n = re.search(r'\.name\s*=\s*"([^"]+)"', body)
        if n:
            names.add(("provider", n.group(1)))
        k = re.search(r"\.keys\s*=\s*(\w+)", body)
        if k and k.group(1) in arr:
            names.update(("key", v) for v in arr[k.group(1)] if v)

for kind, name in sorted(names):
    print(kind, name)
