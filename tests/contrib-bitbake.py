#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Check contrib/yocto without BitBake (tests/contrib.sh): usage: REPO.

Each .bb, .inc and layer.conf is parsed with BitBake's statement grammar
(lib/bb/parse/parse_py/ConfHandler.py and BBHandler.py): assignments with
their operators, override and flag syntax, inherit, include and require,
export, shell, python and fakeroot tasks, def blocks, addtask/deltask,
continuation lines and quoting; anything else is an error, as it is to
BitBake. Then what a build would need: the required variables, the
LIC_FILES_CHKSUM files and md5 sums (computed as BitBake does, over the
selected lines), the version in each recipe's file name against VERSION,
the classes each recipe inherits, and the make targets, variables, units
and scripts the recipes hand to this checkout's Makefiles.
"""
import glob
import hashlib
import os
import re
import sys

NAME = r"[A-Za-z0-9_${}+.\-/~]+"
OVERRIDES = r"(?::[A-Za-z0-9_${}\-]+)*"
ASSIGN = re.compile(r"^(export\s+)?(%s)(%s)(\[[A-Za-z0-9_\-]+\])?\s*"
                    r"(\?\?=|\?=|:=|\+=|=\+|\.=|=\.|=)\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*')\s*$"
                    % (NAME, OVERRIDES))
EXPORT = re.compile(r"^export\s+%s\s*$" % NAME)
INHERIT = re.compile(r"^inherit\s+([A-Za-z0-9_.\-${}\s]+)$")
INCLUDE = re.compile(r"^(include|require)\s+(\S+)$")
FUNC = re.compile(r"^((?:python|fakeroot)\s+)?(%s)%s\s*\(\s*\)\s*\{\s*$" % (NAME, OVERRIDES))
PYFUNC = re.compile(r"^python\s*\(\s*\)\s*\{\s*$|^python\s+%s\s*\{\s*$" % NAME)
DEF = re.compile(r"^def\s+[A-Za-z_][A-Za-z0-9_]*\s*\(.*\)\s*:\s*$")
ADDTASK = re.compile(r"^(addtask|deltask)\s+\S+(\s+(after|before)\s+\S+(\s+\S+)*)*$")
OTHER = re.compile(r"^(EXPORT_FUNCTIONS|addhandler|unset)\s+\S+")

errors = []


def parse(path, state):
    """Parse one file into state: {'vars': {name: value}, 'inherit': set()}."""
    with open(path) as f:
        raw = f.read().split("\n")
    i = 0
    while i < len(raw):
        lineno, line = i + 1, raw[i]
        i += 1
        # a continuation joins the next line (also inside a value)
        while line.endswith("\\") and i < len(raw):
            line = line[:-1] + " " + raw[i].strip()
            i += 1
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        where = "%s:%d" % (os.path.relpath(path, REPO), lineno)
        m = ASSIGN.match(s)
        if m:
            name = m.group(2) + m.group(3)
            value = m.group(6)[1:-1]
            if m.group(4):
                continue
            old = state["vars"].get(name)
            op = m.group(5)
            if op in ("?=", "??=") and old is not None:
                continue
            if op == "+=" and old is not None:
                value = old + " " + value
            elif op == "=+" and old is not None:
                value = value + " " + old
            elif op == ".=" and old is not None:
                value = old + value
            elif op == "=." and old is not None:
                value = value + old
            state["vars"][name] = value
            continue
        if EXPORT.match(s) or OTHER.match(s) or ADDTASK.match(s):
            continue
        m = INHERIT.match(s)
        if m:
            state["inherit"].update(m.group(1).split())
            continue
        m = INCLUDE.match(s)
        if m:
            inc = os.path.join(os.path.dirname(path), m.group(2))
            if os.path.exists(inc):
                parse(inc, state)
            elif m.group(1) == "require":
                errors.append("%s: require %s: no such file" % (where, m.group(2)))
            continue
        if FUNC.match(s) or PYFUNC.match(s):
            # a task's body runs to a line holding only "}"
            while i < len(raw) and raw[i].rstrip() != "}":
                i += 1
            if i >= len(raw):
                errors.append("%s: task not closed by a line '}'" % where)
            i += 1
            continue
        if DEF.match(s):
            while i < len(raw) and (not raw[i].strip() or raw[i][:1] in " \t"):
                i += 1
            continue
        errors.append("%s: not BitBake syntax: %s" % (where, s))


def need(recipe, state, *names):
    for n in names:
        if not state["vars"].get(n):
            errors.append("%s: %s not set" % (recipe, n))


def check_lic(recipe, value):
    for entry in value.split():
        if not entry.startswith("file://"):
            errors.append("%s: LIC_FILES_CHKSUM entry %s" % (recipe, entry))
            continue
        path, *params = entry[len("file://"):].split(";")
        p = dict(x.split("=", 1) for x in params)
        full = os.path.join(REPO, path)
        if not os.path.exists(full):
            errors.append("%s: LIC_FILES_CHKSUM: %s does not exist" % (recipe, path))
            continue
        begin, end = int(p.get("beginline", 1)), int(p.get("endline", 0))
        md5 = hashlib.md5()
        with open(full, "rb") as f:
            for n, line in enumerate(f, 1):
                if n >= begin and (not end or n <= end):
                    md5.update(line)
        if md5.hexdigest() != p.get("md5"):
            errors.append("%s: LIC_FILES_CHKSUM md5 of %s is %s, not %s" % (
                recipe, path, md5.hexdigest(), p.get("md5")))


def makefile_has(makefile, target=None, var=None):
    with open(os.path.join(REPO, makefile)) as f:
        text = f.read()
    if target:
        return re.search(r"^%s\s*:" % re.escape(target), text, re.M) is not None
    return re.search(r"\$\(%s\)|^%s\s*[?:]?=" % (var, var), text, re.M) is not None


REPO = os.path.abspath(sys.argv[1])
layer = os.path.join(REPO, "contrib", "yocto", "meta-ksmtp")
with open(os.path.join(REPO, "VERSION")) as f:
    VERSION = f.read().strip()
conf = {"vars": {}, "inherit": set()}
parse(os.path.join(layer, "conf", "layer.conf"), conf)
need("layer.conf", conf, "BBFILES", "BBFILE_COLLECTIONS", "BBFILE_PATTERN_ksmtp",
     "LAYERSERIES_COMPAT_ksmtp")
recipes = sorted(glob.glob(os.path.join(layer, "recipes-*", "*", "*.bb")))
names = {}
for path in recipes:
    rname = os.path.basename(path)
    st = {"vars": {}, "inherit": set()}
    parse(path, st)
    names[rname.split("_")[0]] = st
    m = re.match(r"^([a-z0-9\-]+)_([^_]+)\.bb$", rname)
    if not m or m.group(2) != VERSION:
        errors.append("%s: file name's version is not VERSION's (%s)" % (rname, VERSION))
    need(rname, st, "SUMMARY", "LICENSE", "LIC_FILES_CHKSUM", "SRC_URI", "S")
    check_lic(rname, st["vars"].get("LIC_FILES_CHKSUM", ""))
    print("yocto: %s parsed: inherits %s; %d variables" % (
        rname, " ".join(sorted(st["inherit"])), len(st["vars"])))

mod, tools = names.get("ksmtp-module"), names.get("ksmtp-tools")
if not mod or not tools:
    errors.append("recipes ksmtp-module and ksmtp-tools expected, found %s" % sorted(names))
else:
    if "module" not in mod["inherit"]:
        errors.append("ksmtp-module does not inherit module")
    for v in ("MAKE_TARGETS", "MODULES_INSTALL_TARGET"):
        for target in mod["vars"].get(v, "").split():
            if not makefile_has("Makefile", target=target):
                errors.append("ksmtp-module: %s %s: no such target in Makefile" % (v, target))
    for kv in mod["vars"].get("EXTRA_OEMAKE", "").split():
        if "=" in kv and not makefile_has("Makefile", var=kv.split("=")[0]):
            errors.append("ksmtp-module: the Makefile does not use %s" % kv.split("=")[0])
    for c in ("pkgconfig", "systemd", "update-rc.d"):
        if c not in tools["inherit"]:
            errors.append("ksmtp-tools does not inherit %s" % c)
    for kv in tools["vars"].get("EXTRA_OEMAKE", "").split():
        if "=" in kv and not makefile_has("userspace/Makefile", var=kv.split("=")[0]):
            errors.append("ksmtp-tools: userspace/Makefile does not use %s" % kv.split("=")[0])
    for unit in tools["vars"].get("SYSTEMD_SERVICE:${PN}", "").split():
        if not os.path.exists(os.path.join(REPO, "userspace", unit + ".in")):
            errors.append("ksmtp-tools: no userspace/%s.in" % unit)
    init = tools["vars"].get("INITSCRIPT_NAME", "")
    if not os.path.exists(os.path.join(REPO, "userspace", init + ".init.in")):
        errors.append("ksmtp-tools: INITSCRIPT_NAME %s: no userspace/%s.init.in" % (init, init))
    if not makefile_has("userspace/Makefile", target="install"):
        errors.append("ksmtp-tools: userspace/Makefile has no install target")

for e in errors:
    print("yocto: error: %s" % e)
sys.exit(1 if errors else 0)
