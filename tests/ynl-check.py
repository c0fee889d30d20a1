#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Check include/uapi/linux/ksmtp.yaml with the kernel's own YNL tooling.

Run by `tests/ynl.sh --check`, which passes the unpacked tooling
(tools/net/ynl and Documentation/netlink of Debian's linux-source-6.12):

1. The spec loads through ynl's library (lib/nlspec.py) with schema
   validation against Documentation/netlink/<protocol>.yaml.
2. Its references hold: every attribute an operation lists is in the
   operation's attribute set, every subset's attribute is in its parent,
   a nest's nested-attributes in a subset is the parent's nested set or a
   subset of it, every enum and multicast group named exists.
3. It renders, through the kernel's generator (ynl-gen-c.py --mode uapi),
   to the names and values of include/uapi/linux/ksmtp.h: every enum (same
   name, same entries in the same order, same values) and every #define,
   both ways. The one set that is not an enum of the header, the stats'
   failed-phase nest (attribute type = enum ksmtp_phase value, 0 padding),
   must name exactly the phases 1..KSMTP_PHASE_MAX with their values, and
   its padding KSMTP_A_PHASE_PAD.
4. ynl's own encoder builds a config-set and a send request from the spec
   (no kernel needed: the family id is made up), and its decoder reads
   them back to the same values, with the top-level and nested attribute
   types the header gives.

Prints one line on success; else every difference, and exits 1.
"""
import argparse
import ast
import os
import re
import subprocess
import sys
import tempfile

problems = []


def bad(msg):
    problems.append(msg)


# ------------------------------------------------------------ C parsing

def c_eval(expr, known):
    """Value of an enum initialiser or #define: integers, names, + - ( )."""
    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in known:
            return known[node.id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            a, b = ev(node.left), ev(node.right)
            return a + b if isinstance(node.op, ast.Add) else a - b
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        raise ValueError("cannot evaluate %r" % expr)
    expr = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", expr.strip())
    return ev(ast.parse(expr, mode="eval"))


def parse_c(path):
    """(enums {name or '<anon N>': [(entry, value)]}, defines {name: value})."""
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    defines, known = {}, {}
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+(.+?)[ \t]*$", text, re.M):
        name, val = m.group(1), m.group(2)
        if val.startswith('"'):
            defines[name] = ast.literal_eval(val)
        else:
            defines[name] = c_eval(val, known)
            known[name] = defines[name]
    enums, anon = {}, 0
    for m in re.finditer(r"\benum\s+(\w+)?\s*\{(.*?)\}\s*;", text, re.S):
        name = m.group(1)
        if not name:
            anon += 1
            name = "<anonymous enum %d>" % anon
        entries, val = [], -1
        for item in m.group(2).split(","):
            item = item.strip()
            if not item:
                continue
            ent, _, init = item.partition("=")
            ent = ent.strip()
            val = c_eval(init, known) if init.strip() else val + 1
            known[ent] = val
            entries.append((ent, val))
        enums[name] = entries
    return enums, defines


# ------------------------------------------------------------ the checks

def check_refs(fam):
    """What the schema does not check: the spec's names refer to something."""
    sets = fam.attr_sets
    for name, aset in sets.items():
        raw = aset.yaml
        for attr in raw["attributes"]:
            an = attr["name"]
            if aset.subset_of:
                parent = sets[aset.subset_of]
                if an not in parent:
                    bad("attribute-set %s: %s is not in %s" % (name, an, aset.subset_of))
                    continue
                nested = attr.get("nested-attributes")
                real = parent[an].get("nested-attributes")
                if nested and nested != real:
                    if nested not in sets:
                        bad("attribute-set %s: %s: no attribute-set %s" % (name, an, nested))
                    elif sets[nested].subset_of != real:
                        bad("attribute-set %s: %s: %s is not a subset of %s"
                            % (name, an, nested, real))
            else:
                if attr.get("type") == "nest" and attr.get("nested-attributes") not in sets:
                    bad("attribute-set %s: nest %s has no attribute-set %r"
                        % (name, an, attr.get("nested-attributes")))
                if "enum" in attr and attr["enum"] not in fam.consts:
                    bad("attribute-set %s: %s: no enum %s" % (name, an, attr["enum"]))
                if attr.get("type") == "u64" and not any(
                        a.get("type") == "pad" for a in raw["attributes"]):
                    bad("attribute-set %s: u64 %s but no pad attribute" % (name, an))
    for op in fam.msgs.values():
        if op.is_resv:
            continue
        if "attribute-set" not in op.yaml:
            bad("operation %s: no attribute-set" % op.name)
            continue
        aset = sets[op.yaml["attribute-set"]]
        lists = []
        for mode in ("do", "dump"):
            for way in ("request", "reply"):
                lists.append(("%s %s" % (mode, way),
                              op.yaml.get(mode, {}).get(way, {}).get("attributes", [])))
        lists.append(("event", op.yaml.get("event", {}).get("attributes", [])))
        for where, names in lists:
            for n in names:
                if n not in aset:
                    bad("operation %s: %s lists %s, not in attribute-set %s"
                        % (op.name, where, n, aset.name))
        if "mcgrp" in op.yaml and op.yaml["mcgrp"] not in fam.mcast_groups:
            bad("operation %s: no multicast group %s" % (op.name, op.yaml["mcgrp"]))


def render_uapi(ynl_root, spec, schema):
    """The uAPI header the kernel's generator makes of the spec."""
    with tempfile.TemporaryDirectory(prefix="ksmtp-ynl.") as tmp:
        # ynl-gen-c.py looks for the kernel tree (MAINTAINERS) above the
        # spec, and for the schema two levels above it.
        os.makedirs(os.path.join(tmp, "Documentation", "netlink", "specs"))
        open(os.path.join(tmp, "MAINTAINERS"), "w").close()
        dst = os.path.join(tmp, "Documentation", "netlink", "specs", "ksmtp.yaml")
        with open(spec, "rb") as src, open(dst, "wb") as out:
            out.write(src.read())
        with open(schema, "rb") as src, \
                open(os.path.join(tmp, "Documentation", "netlink",
                                  os.path.basename(schema)), "wb") as out:
            out.write(src.read())
        hdr = os.path.join(tmp, "ksmtp.h")
        p = subprocess.run([sys.executable, os.path.join(ynl_root, "tools", "net", "ynl",
                                                         "ynl-gen-c.py"),
                            "--mode", "uapi", "--header", "--spec", dst, "-o", hdr],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0 or not os.path.exists(hdr):
            bad("ynl-gen-c.py --mode uapi failed (exit %d):\n%s%s"
                % (p.returncode, p.stdout, p.stderr))
            return None
        return parse_c(hdr)


def check_names(fam, rendered, header, header_path):
    r_enums, r_defs = rendered
    h_enums, h_defs = header
    hname = os.path.relpath(header_path)
    guard = [d for d in h_defs if d.startswith("_UAPI_")]
    h_defs = {k: v for k, v in h_defs.items() if k not in guard}
    r_defs = {k: v for k, v in r_defs.items() if not k.startswith("_UAPI_")}
    for k in sorted(set(h_defs) | set(r_defs)):
        if k not in r_defs:
            bad("%s defines %s %r, the spec does not" % (hname, k, h_defs[k]))
        elif k not in h_defs:
            bad("the spec defines %s %r, %s does not" % (k, r_defs[k], hname))
        elif h_defs[k] != r_defs[k]:
            bad("%s: %s is %r in the header, %r in the spec" % (hname, k, h_defs[k], r_defs[k]))
    named = {k: v for k, v in r_enums.items() if not k.startswith("<")}
    for k in sorted(set(h_enums) | set(named)):
        if k.startswith("<"):
            bad("%s has an anonymous enum %r" % (hname, h_enums[k]))
        elif k not in named:
            bad("%s has enum %s, the spec does not" % (hname, k))
        elif k not in h_enums:
            bad("the spec has enum %s, %s does not" % (k, hname))
        elif named[k] != h_enums[k]:
            h, r = h_enums[k], named[k]
            for i in range(max(len(h), len(r))):
                he = h[i] if i < len(h) else None
                re_ = r[i] if i < len(r) else None
                if he != re_:
                    bad("enum %s, entry %d: %s in %s, %s in the spec"
                        % (k, i, "%s = %d" % he if he else "nothing", hname,
                           "%s = %d" % re_ if re_ else "nothing"))
    # The failed-phase nest: the one set that is no enum of the header.
    anon = [v for k, v in r_enums.items() if k.startswith("<")]
    phases = dict(h_enums.get("ksmtp_phase", []))
    fp = fam.attr_sets.get("failed-phase")
    if fp is None:
        bad("the spec has no attribute-set failed-phase (KSMTP_A_STATS_FAILED_PHASE)")
    else:
        stats = fam.attr_sets.get("stats")
        if stats is None or "failed-phase" not in stats or \
                stats["failed-phase"].get("nested-attributes") != "failed-phase":
            bad("stats: failed-phase is not a nest of attribute-set failed-phase")
        pfx = fp.yaml.get("name-prefix", "")
        want = {n: v for n, v in phases.items()
                if v >= 1 and not n.startswith("__") and n != "KSMTP_PHASE_MAX"}
        got = {}
        for an, attr in fp.items():
            cname = (pfx + an).upper().replace("-", "_")
            if attr["type"] == "pad":
                if attr.value != h_defs.get("KSMTP_A_PHASE_PAD"):
                    bad("failed-phase: pad is %d, KSMTP_A_PHASE_PAD is %r"
                        % (attr.value, h_defs.get("KSMTP_A_PHASE_PAD")))
                continue
            if attr["type"] != "u64":
                bad("failed-phase: %s is %s, not u64" % (an, attr["type"]))
            got[cname] = attr.value
        for n in sorted(set(want) | set(got)):
            if n not in got:
                bad("failed-phase: no attribute for %s = %d" % (n, want[n]))
            elif n not in want:
                bad("failed-phase: %s = %d is no phase of enum ksmtp_phase (1..MAX)"
                    % (n, got[n]))
            elif got[n] != want[n]:
                bad("failed-phase: %s is %d in the spec, %d in enum ksmtp_phase"
                    % (n, got[n], want[n]))
        if len(anon) != 1:
            bad("the spec renders %d enums without a name; only failed-phase may" % len(anon))
    return len(h_enums), len(h_defs)


def check_codec(ynl_root, spec, schema, h_enums):
    """ynl's encoder and decoder on two requests, with a made-up family id."""
    sys.path.insert(0, os.path.join(ynl_root, "tools", "net", "ynl"))
    import lib.ynl as ynl

    def fake_init(self, family_name):
        ynl.NetlinkProtocol.__init__(self, family_name, ynl.Netlink.NETLINK_GENERIC)
        self.genl_family = {"id": 0x7ff0, "name": family_name, "mcast": {}}
        self.family_id = 0x7ff0
    ynl.GenlProtocol.__init__ = fake_init
    fam = ynl.YnlFamily(spec, schema)
    val = {n: dict(v) for n, v in h_enums.items()}
    cases = [
        ("config-set", {"config": {
            "server-addr": "7f000001", "port": 2525, "username": "gwuser",
            "password": "secret", "from": "gw@example.org", "domain": "gw1.example.org",
            "auth": "cram-md5", "auth-cleartext": 1, "helo-only": 0, "tls": "implicit",
            "tls-name": "mail.example.org", "tls-ca-file": "/etc/ca.pem",
            "rcpt": "ops@example.net", "timeout-connect": 100, "timeout-greeting": 200,
            "timeout-command": 300, "timeout-data-block": 400, "timeout-final-dot": 500,
            "queue-max": 1, "queue-bytes": 4096, "retry-max": 2, "retry-age": 3,
            "retry-base-ms": 100, "coalesce-ms": 0, "klog": 1, "klog-level": 3,
            "klog-context": 4, "klog-window-ms": 100, "klog-per-hour": 2}},
         "KSMTP_CMD_CONFIG_SET", "KSMTP_A_CONFIG", "ksmtp_a_cfg", "KSMTP_A_CFG_"),
        ("send", {"mail": {"rcpt": "ops@example.net", "subject": "Fan failure",
                           "priority": "high", "body": ["6f6e650a", "74776f0a"],
                           "queue": 1}},
         "KSMTP_CMD_SEND", "KSMTP_A_MAIL", "ksmtp_a_mail", "KSMTP_A_MAIL_"),
    ]
    for opname, vals, cmd, top, inner_enum, pfx in cases:
        op = fam.ops[opname]
        msg = fam._encode_message(op, vals, [], 1)
        nl = ynl.NlMsg(msg, 0)
        gm = ynl.GenlMsg(nl)
        if nl.nl_type != 0x7ff0 or gm.genl_cmd != val["ksmtp_cmd"].get(cmd):
            bad("%s: ynl encodes command %d, %s is %r"
                % (opname, gm.genl_cmd, cmd, val["ksmtp_cmd"].get(cmd)))
        attrs = list(ynl.NlAttrs(gm.raw))
        if len(attrs) != 1 or attrs[0].type != val["ksmtp_a"].get(top) or not attrs[0].is_nest:
            bad("%s: ynl encodes top-level %r, want one nest %s"
                % (opname, [(a.type, bool(a.is_nest)) for a in attrs], top))
            continue
        want_types = []
        (nest_name, inner), = vals.items()
        for k, v in inner.items():
            t = val[inner_enum].get(pfx + k.upper().replace("-", "_"))
            want_types += [t] * (len(v) if isinstance(v, list) else 1)
        got_types = [a.type for a in ynl.NlAttrs(attrs[0].raw)]
        if got_types != want_types:
            bad("%s: ynl encodes %s types %r, the header gives %r"
                % (opname, nest_name, got_types, want_types))
        back = fam._decode(ynl.NlAttrs(gm.raw), op.attr_set.name)
        norm = back[nest_name]
        # what ynl decodes by display hint or enum, as it was given
        if "server-addr" in norm:
            norm["server-addr"] = "7f000001" if norm["server-addr"] == "127.0.0.1" \
                else norm["server-addr"]
        if "body" in norm:
            norm["body"] = [b.hex() for b in norm["body"]]
        if norm != inner:
            bad("%s: ynl decodes its own request as %r, not %r" % (opname, norm, inner))
    return len(fam.ops) + len(fam.ntfs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ynl", required=True, help="the unpacked tooling (tests/ynl.sh)")
    ap.add_argument("--spec", required=True)
    ap.add_argument("--header", required=True)
    ap.add_argument("--label", default="ynl")
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.ynl, "tools", "net", "ynl"))
    from lib import SpecFamily
    import yaml

    proto = yaml.safe_load(open(args.spec)).get("protocol", "genetlink")
    schema = os.path.join(args.ynl, "Documentation", "netlink", proto + ".yaml")
    try:
        fam = SpecFamily(args.spec, schema)
    except Exception as e:   # jsonschema's ValidationError, yaml, KeyError...
        msg = str(e).splitlines()
        if isinstance(e, KeyError):
            msg = ["%s is used but not defined" % e]
        print("%s: %s does not load with schema %s: %s: %s" % (
            args.label, args.spec, os.path.basename(schema), type(e).__name__,
            "\n  ".join(msg[:40])))
        return 1
    check_refs(fam)
    header = parse_c(args.header)
    rendered = render_uapi(args.ynl, args.spec, schema)
    n_enums = n_defs = 0
    if rendered:
        n_enums, n_defs = check_names(fam, rendered, header, args.header)
    n_ops = check_codec(args.ynl, args.spec, schema, header[0])
    if problems:
        for p in problems:
            print("%s: %s" % (args.label, p))
        print("%s: %s differs from %s or from the ynl schema: %d problems"
              % (args.label, os.path.relpath(args.spec), os.path.relpath(args.header),
                 len(problems)))
        return 1
    print("%s: %s valid (schema %s, %d operations, %d attribute sets); its %d enums and "
          "%d defines match %s; ynl encodes and decodes requests from it"
          % (args.label, os.path.relpath(args.spec), os.path.basename(schema), n_ops,
             len(fam.attr_sets), n_enums, n_defs, os.path.relpath(args.header)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
