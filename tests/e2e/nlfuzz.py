#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A netlink fuzzer for the generic netlink family "ksmtp".

Pure Python 3 (socket AF_NETLINK/NETLINK_GENERIC and struct), no libnl.
It resolves the family, its commands and its multicast groups through
nlctrl, reads the command and attribute numbers from
include/uapi/linux/ksmtp.h at run time (with a fallback): the top level's
nests (enum ksmtp_a) and the set each holds (enum ksmtp_a_cfg, ...). From a
seeded PRNG it sends random messages for every command number and a few
beyond the last, with flag variants and odd genl headers; nests and
attributes of every type number at many lengths, truncated or overlong
nla_len, NLA_F_NESTED missing or where no nest belongs, garbage nested
deep, strings without NUL, with NUL or CR LF inside, duplicates, hundreds
of body parts over several nests; each command's own nests well formed,
broken, or beside nests it does not take (another command's, a reply's),
one set's attributes in another's nest, the old flat layout; and bit flips,
truncations, splices, attribute surgery at any depth and nest surgery of
valid messages built from the uAPI. It reads every reply (acks, errors,
dumps, events, the outcome of an asynchronous send) with a timeout, so it
never blocks on the kernel's silence, and checks them: no admin command
succeeds without CAP_NET_ADMIN, no unknown command succeeds, no password
comes back in a reply, no descriptor is left behind, errnos are errnos, the
family is still there at the end and (when the kernel log is readable) the
log stayed clean.

Safety: every datagram is walked as netlink_rcv_skb() and nla_parse() will
walk it, just before it is sent: each message goes to the ksmtp family
(never another one), every server address attribute (in every
KSMTP_A_CONFIG nest) becomes 127.0.0.1 or ::1 and every port --port: a
closed loopback port, or with --serve the fuzzer's own SMTP server of
sorts. With CAP_NET_ADMIN it first points the configuration at
127.0.0.1:--port (and does not fuzz if that fails), so no mail leaves the
machine; it changes the configuration and fills the queue.

Message N of a seed is always the same (but for sequence numbers, and TLS
request ids the kernel announced): --seed S --index N -v sends and shows
it. Exit status: 0; 1 when something was found ("violations" in the last
line, "nlfuzz-summary: {json}"); 2 on a setup error; 3 when the kernel did
not answer within --hang seconds (the message is printed); 4 when --userns
is not allowed.
"""
import argparse
import errno
import json
import os
import random
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK = 1, 10, 11, 12
SO_SNDBUFFORCE, SO_RCVBUFFORCE = 32, 33
NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN, NLMSG_MIN_TYPE = 1, 2, 3, 4, 0x10
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x2, 0x4, 0x8
NLM_F_ROOT, NLM_F_MATCH, NLM_F_DUMP = 0x100, 0x200, 0x300
NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_TYPE_MASK = 0x8000, 0x4000, 0x3fff
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_VERSION = 1, 2, 3
CTRL_ATTR_MAXATTR, CTRL_ATTR_OPS, CTRL_ATTR_MCAST_GROUPS = 5, 6, 7
GENL_ADMIN_PERM, GENL_UNS_ADMIN_PERM = 0x01, 0x10
CAP_NET_ADMIN = 12
KERNEL_PROBLEM = re.compile(r"BUG:|WARNING:|general protection|KASAN|Oops|Call Trace|"
                            r"blocked for more than|soft lockup|rcu.*stall|kmemleak")
PW_TOKEN = re.compile(rb"FzPw-[0-9a-f]{16}")

UAPI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                    "include", "uapi", "linux", "ksmtp.h")

# What the header said when this was written: used only if it cannot be read.
FALLBACK_CMDS = ["UNSPEC", "CONFIG_SET", "CONFIG_GET", "SEND", "STATS_GET", "QUEUE_GET",
                 "QUEUE_FLUSH", "QUEUE_RETRY", "EVENT", "TLS_REQUEST", "TLS_ACCEPT",
                 "TLS_DONE"]
# The top level (enum ksmtp_a) holds only nests, each its own set.
FALLBACK_TOP = ["UNSPEC", "CONFIG", "MAIL", "RESULT", "STATS", "QUEUE_ENTRY", "EVENT", "TLS"]
FALLBACK_SETS = {
    "CFG": ["UNSPEC", "SERVER_ADDR", "PORT", "USERNAME", "PASSWORD", "PASSWORD_SET", "FROM",
            "DOMAIN", "AUTH", "AUTH_CLEARTEXT", "HELO_ONLY", "TLS", "TLS_NAME", "TLS_CA_FILE",
            "RCPT", "TIMEOUT_CONNECT", "TIMEOUT_GREETING", "TIMEOUT_COMMAND",
            "TIMEOUT_DATA_BLOCK", "TIMEOUT_FINAL_DOT", "QUEUE_MAX", "QUEUE_BYTES",
            "RETRY_MAX", "RETRY_AGE", "RETRY_BASE_MS", "COALESCE_MS", "CONFIGURED"],
    "MAIL": ["UNSPEC", "ID", "RCPT", "SUBJECT", "PRIORITY", "BODY", "QUEUE", "PAD",
             "HEADERS", "ENVELOPE_FROM", "FROM_NAME"],
    "RES": ["UNSPEC", "ERRNO", "PHASE", "CODE", "TEXT", "TRANSIENT", "UNKNOWN", "REASON",
            "TLS"],
    "STATS": ["UNSPEC", "SENT", "FAILED_TRANSIENT", "FAILED_PERMANENT", "FAILED_PHASE",
              "QUEUED", "RETRIED", "EXPIRED", "DROPPED", "COALESCED", "REFUSED", "QUEUE_LEN",
              "QUEUE_BYTES", "PAD"],
    "QE": ["UNSPEC", "ID", "RCPT", "SUBJECT", "PRIORITY", "ATTEMPTS", "REPEATS", "AGE_MS",
           "NEXT_MS", "PAD"],
    "EV": ["UNSPEC", "TYPE", "END"],
    "TLS": ["UNSPEC", "ID", "FD", "NAME", "CA_FILE", "TIMEOUT_MS", "STATUS", "REASON", "INFO",
            "PAD"],
    # inside KSMTP_A_STATS_FAILED_PHASE: one u64 per enum ksmtp_phase (0: pad)
    "PHASE": ["NONE", "CONNECT", "GREETING", "EHLO", "AUTH", "MAIL", "RCPT", "DATA",
              "MESSAGE", "QUIT", "TLS"],
}
FALLBACK_NESTS = {"CONFIG": "CFG", "MAIL": "MAIL", "RESULT": "RES", "STATS": "STATS",
                  "QUEUE_ENTRY": "QE", "EVENT": "EV", "TLS": "TLS"}
FALLBACK_SUBNESTS = {("STATS", "FAILED_PHASE"): "PHASE"}

# What each command takes (the header's top comment): {nest: [attributes]};
# None: every attribute of the set but REPLY_ONLY's. A command not here
# takes no attribute at all. TLS_ACCEPT may also come without its nest.
REQUESTS = {"CONFIG_SET": {"CONFIG": None},
            "SEND": {"MAIL": ["RCPT", "SUBJECT", "PRIORITY", "BODY", "QUEUE", "HEADERS",
                              "ENVELOPE_FROM", "FROM_NAME"]},
            "TLS_ACCEPT": {"TLS": ["ID"]},
            "TLS_DONE": {"TLS": ["ID", "STATUS", "REASON", "INFO"]}}
REPLY_ONLY = {"CFG": ["PASSWORD_SET", "CONFIGURED"]}
# Commands without GENL_ADMIN_PERM whose handler still requires CAP_NET_ADMIN
# (or a configured send group, which the unprivileged runs are never in: the
# fuzzer never sets one that holds uid/gid 65534, and resets it when done).
ADMIN_BY_HANDLER = ["SEND"]
# Header sections for KSMTP_A_MAIL_HEADERS: well formed, and each way of
# being refused (bare CR, empty line, continuation first, long line, NUL
# is impossible in a NUL string, control octets, no colon, space in name).
HEADERS = [b"", b"Subject: x", b"To: a@b.c\nSubject: y\n", b"Subject: a\r\n b\r\n",
           b"From: root (Cron Daemon)\nMIME-Version: 1.0\nContent-Type: text/plain\n"
           b"Content-Transfer-Encoding: 8bit", b"Subject: \xc3\xbc", b"Subject: a\rb",
           b"Subject: a\n\nBcc: x@y.z", b" Subject: x", b"X-L: " + b"y" * 994,
           b"X-L: " + b"y" * 993, b"Sub ject: x", b"Subject x", b"Subject: \x01",
           b"Subject: a\n \n", b":x", b"Subject: a\n\t\n", b"Date: x\nMessage-ID: <a@b>",
           b"Subject: \r\n.\r\nMAIL FROM:<x@y>"]

LENGTHS = [0, 1, 2, 3, 4, 7, 8, 16, 17, 255, 256, 1000, 2047, 2048, 2049, 4096, 65000]
INTS = [0, 1, 2, 3, 4, 5, 10, 99, 100, 101, 127, 128, 255, 256, 999, 1000, 1001, 4095,
        4096, 65535, 65536, 65537, 86400, 604800, 604801, 3600000, 3600001,
        268435456, 268435457, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]
STRINGS = [b"fuzz@example.org", b"a@b", b"", b"x", b"ops@example.net, oncall@example.net",
           b"\xc3\xbc@ex\xc3\xa4mple.org", b"<a@b>", b"a b@c", b"gw1.example.org",
           b"[127.0.0.1]", b"[IPv6:::1]", b"/etc/ssl/certs/ca-certificates.crt",
           b"mail.example.org", b"\xff\xfe\x80", b"user", b"%s%n%p", b".", b"\r\n.\r\n",
           b"Subject: x", b"a@b>\r\nRCPT TO:<c@d>", b"-", b"@", b"a@", b"@b",
           b",,,,", b"a@b," * 20, b"relative/path.pem"]


class Layout(dict):
    """The attribute numbers of the uAPI. As a dict: every attribute by its
    name without KSMTP_A_, {"CONFIG": 1, "CFG_PASSWORD": 4, "MAIL_BODY": 5,
    ...} (the nests of the top level by their own name, the others with
    their set's prefix). And the structure:
      top        {name: type} of enum ksmtp_a (the nests)
      sets       {set: {name: type}}: "CFG", "MAIL", "RES", "STATS", "QE",
                 "EV", "TLS" (enum ksmtp_a_cfg...), "PHASE" (the types inside
                 KSMTP_A_STATS_FAILED_PHASE, enum ksmtp_phase)
      nest_set   {top type: set it holds}
      sub_set    {(set, type): set it holds}: nests inside a nest
    """

    def __init__(self, top, sets, nest_set, sub_set):
        super().__init__(top)
        self.top, self.sets, self.nest_set, self.sub_set = top, sets, nest_set, sub_set
        for s, vals in sets.items():
            if s in nest_set.values():   # not PHASE: its types are not attributes
                self.update({s + "_" + n: v for n, v in vals.items()})
        self.names = {s: {v: n for n, v in vals.items()} for s, vals in sets.items()}
        self.names["A"] = {v: n for n, v in top.items()}
        # where each set sits: (None, top type) or (parent set, type)
        self.place = {s: (None, t) for t, s in nest_set.items()}
        self.place.update({s: p for p, s in sub_set.items()})

    def types(self, s="A"):
        """The types of a set ("A": the top level)."""
        return sorted(self.top.values() if s == "A" else self.sets.get(s, {}).values())

    def maxtype(self, s="A"):
        return max(self.types(s) + [0])

    def inner(self, s, t):
        """The set a nest of type t in set s holds, or None: not a nest."""
        return self.nest_set.get(t) if s == "A" else self.sub_set.get((s, t))


def parse_uapi(path):
    """(commands {name: value} without KSMTP_CMD_, a Layout of the
    attributes, where they came from): from the header, or the fallback if
    it cannot be read. The nests are found by the comments beside them
    ("nest, enum ksmtp_a_cfg", "nest: u64 per enum ksmtp_phase"); the
    header is taken only with a KSMTP_A_CONFIG nest the sanitiser knows."""
    cmds = {n: i for i, n in enumerate(FALLBACK_CMDS)}
    sets = {s: {n: i for i, n in enumerate(names)} for s, names in FALLBACK_SETS.items()}
    top = {n: i for i, n in enumerate(FALLBACK_TOP)}
    fallback = Layout(top, sets, {top[n]: s for n, s in FALLBACK_NESTS.items()},
                      {(p, sets[p][n]): s for (p, n), s in FALLBACK_SUBNESTS.items()})
    try:
        with open(path) as f:
            raw = f.read()
    except OSError:
        return cmds, fallback, "fallback"
    nests = re.findall(r"\bKSMTP_A_(\w+)\s*(?:=[^,/]*)?,\s*/\*\s*nest\b[^*]*?\benum\s+(\w+)", raw)
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", raw, flags=re.S)
    enums = {}
    for m in re.finditer(r"enum\s+(\w+)\s*\{(.*?)\}", text, re.S):
        vals, n = {}, -1
        for item in m.group(2).split(","):
            name, _, expr = (s.strip() for s in item.partition("="))
            if not re.match(r"^\w+$", name):
                continue
            if expr:
                expr = re.sub(r"\b[A-Za-z_]\w*\b", lambda w: str(vals.get(w.group(0), 0)), expr)
                if not re.match(r"^[\d\s+\-*()x<>|&]+$", expr):
                    continue
                n = eval(expr)  # digits and operators only, checked above
            else:
                n += 1
            vals[name] = n
        enums[m.group(1)] = vals

    def strip(vals, prefix):   # without the enum's own PREFIX_MAX (not CFG_QUEUE_MAX)
        return {k[len(prefix):]: v for k, v in vals.items()
                if k.startswith(prefix) and k != prefix + "MAX" and not k.startswith("__")}

    def prefix(vals):
        """KSMTP_A_CFG_ of enum ksmtp_a_cfg, KSMTP_PHASE_ of enum ksmtp_phase."""
        names = [k for k in vals if not k.startswith("__") and not k.endswith("_MAX")]
        p = os.path.commonprefix(names) if len(names) > 1 else ""
        return p[:p.rfind("_") + 1]

    def set_name(p):
        return re.sub(r"^KSMTP_(A_)?", "", p).rstrip("_")

    c = strip(enums.get("ksmtp_cmd", {}), "KSMTP_CMD_")
    t = strip(enums.get("ksmtp_a", {}), "KSMTP_A_")
    psets, nest_set, sub_set, pending = {}, {}, {}, []
    for member, enum in nests:
        p = prefix(enums.get(enum, {}))
        if not p:
            continue
        s = set_name(p)
        psets[s] = strip(enums[enum], p)
        if member in t:
            nest_set[t[member]] = s
        else:
            pending.append((member, s))
    for member, s in pending:   # a nest inside a set: KSMTP_A_STATS_FAILED_PHASE
        for ps, vals in psets.items():
            if ps in nest_set.values() and member.startswith(ps + "_") and \
                    member[len(ps) + 1:] in vals:
                sub_set[(ps, vals[member[len(ps) + 1:]])] = s
    cfg = psets.get("CFG", {})
    if len(c) > 3 and len(t) > 3 and len(nest_set) >= len(t) - 1 and \
            all(len(v) > 1 for v in psets.values()) and "CFG" in nest_set.values() and \
            all(n in cfg for n in ("SERVER_ADDR", "PORT", "PASSWORD")):
        return c, Layout(t, psets, nest_set, sub_set), path
    return cmds, fallback, "fallback"


def nla(atype, payload, flags=0):
    """One attribute, padded to 4 octets (its payload cut to what nla_len holds)."""
    payload = payload[:0xffff - 4]
    b = struct.pack("=HH", 4 + len(payload), atype | flags) + payload
    return b + b"\0" * (-len(b) % 4)


def nest(atype, attrs, flags=NLA_F_NESTED):
    """A nest holding the attributes attrs (bytes), NLA_F_NESTED set."""
    return nla(atype, attrs, flags)


def nlmsg(mtype, flags, seq, payload, pid=0):
    return struct.pack("=IHHII", 16 + len(payload), mtype, flags, seq, pid) + payload


def genlmsg(family, cmd, attrs=b"", flags=NLM_F_REQUEST | NLM_F_ACK, seq=0, version=1,
            reserved=0):
    return nlmsg(family, flags, seq, struct.pack("=BBH", cmd, version, reserved) + attrs)


def walk_attrs(buf, off, end):
    """(offset, nla_len, type with flags) of each attribute, as the kernel's
    nla_for_each_attr() walks them."""
    out = []
    rem = end - off
    while rem >= 4:
        alen, atype = struct.unpack_from("=HH", buf, off)
        if alen < 4 or alen > rem:
            break
        out.append((off, alen, atype))
        step = (alen + 3) & ~3
        off += step
        rem -= step
    return out


def is_attr_list(buf, off, end):
    """Whether buf[off:end] is a whole list of attributes (a nest's payload)."""
    items = walk_attrs(buf, off, end)
    if not items:
        return False
    o, alen, _ = items[-1]
    return o + alen <= end <= o + ((alen + 3) & ~3)


def walk_tree(buf, off, end, depth=0, max_depth=4):
    """(offset, nla_len, type with flags, depth) of each attribute and of
    those inside each one that holds a whole list of attributes (at the
    top level, or flagged NLA_F_NESTED), depth first."""
    out = []
    for o, alen, atype in walk_attrs(buf, off, end):
        out.append((o, alen, atype, depth))
        if depth < max_depth and alen > 4 and (depth == 0 or atype & NLA_F_NESTED) and \
                is_attr_list(buf, o + 4, o + alen):
            out += walk_tree(buf, o + 4, o + alen, depth + 1, max_depth)
    return out


def parse_attrs(buf, off, end):
    """{type: [payload, ...]} of the attributes in buf[off:end]."""
    d = {}
    for o, alen, atype in walk_attrs(buf, off, end):
        d.setdefault(atype & NLA_TYPE_MASK, []).append(bytes(buf[o + 4:o + alen]))
    return d


def walk_msgs(buf):
    """(offset, nlmsg_len) of each message, as netlink_rcv_skb() walks them."""
    out = []
    off = 0
    while len(buf) - off >= 16:
        mlen = struct.unpack_from("=I", buf, off)[0]
        if mlen < 16 or len(buf) - off < mlen:
            break
        out.append((off, mlen))
        off += min((mlen + 3) & ~3, len(buf) - off)
    return out


def cap_eff():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


class Genl:
    """One generic netlink socket."""

    def __init__(self, rcvbuf=1 << 20, ext_ack=True, cap_ack=False, strict=False, force=False):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        s = self.sock
        for opt, val in ((socket.SO_RCVBUF, rcvbuf), (socket.SO_SNDBUF, 1 << 20)):
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, val)
            except OSError:
                pass
        if force:   # root: room for messages over KSMTP_BODY_MAX
            for opt in (SO_SNDBUFFORCE, SO_RCVBUFFORCE):
                try:
                    s.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)
                except OSError:
                    pass
        for opt, on in ((NETLINK_EXT_ACK, ext_ack), (NETLINK_CAP_ACK, cap_ack),
                        (NETLINK_GET_STRICT_CHK, strict)):
            try:
                s.setsockopt(SOL_NETLINK, opt, int(on))
            except OSError:
                pass
        s.bind((0, 0))
        self.seq = int(time.time()) & 0xffff

    def close(self):
        self.sock.close()

    def send(self, buf):
        self.sock.sendto(buf, (0, 0))

    def recv(self, timeout):
        """One datagram, or None after timeout seconds."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None
        return self.sock.recv(1 << 21)

    def request(self, family, cmd, attrs=b"", flags=NLM_F_REQUEST | NLM_F_ACK, timeout=10):
        """Send one message, return (error, [data payloads after the genl header])."""
        self.seq += 1
        seq = self.seq
        self.send(genlmsg(family, cmd, attrs, flags, seq))
        data, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            d = self.recv(end - time.monotonic())
            if d is None:
                break
            for off, mlen in walk_msgs(d):
                mtype, mflags, mseq = struct.unpack_from("=HHI", d, off + 4)
                if mseq != seq:
                    continue
                if mtype == NLMSG_ERROR:
                    return struct.unpack_from("=i", d, off + 16)[0], data
                if mtype == NLMSG_DONE:
                    return 0, data
                data.append(d[off + 16:off + mlen])
                if not flags & NLM_F_ACK and not mflags & NLM_F_MULTI:
                    return 0, data
        raise TimeoutError("no answer from the kernel to command %d" % cmd)


def resolve_family(g, name):
    """{id, version, maxattr, ops: {cmd: flags}, groups: {name: id}} or None."""
    err, data = g.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                          nla(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"))
    if err or not data:
        return None
    a = parse_attrs(data[0], 4, len(data[0]))
    fam = {"id": struct.unpack("=H", a[CTRL_ATTR_FAMILY_ID][0][:2])[0],
           "version": struct.unpack("=I", a.get(CTRL_ATTR_VERSION, [b"\0" * 4])[0][:4])[0],
           "maxattr": struct.unpack("=I", a.get(CTRL_ATTR_MAXATTR, [b"\0" * 4])[0][:4])[0],
           "ops": {}, "groups": {}}
    for blob in a.get(CTRL_ATTR_OPS, []):
        for inner in parse_attrs(blob, 0, len(blob)).values():
            for op in inner:
                o = parse_attrs(op, 0, len(op))
                if 1 in o:
                    fam["ops"][struct.unpack("=I", o[1][0][:4])[0]] = (
                        struct.unpack("=I", o[2][0][:4])[0] if 2 in o else 0)
    for blob in a.get(CTRL_ATTR_MCAST_GROUPS, []):
        for inner in parse_attrs(blob, 0, len(blob)).values():
            for grp in inner:
                o = parse_attrs(grp, 0, len(grp))
                if 1 in o and 2 in o:
                    fam["groups"][o[1][0].rstrip(b"\0").decode(errors="replace")] = \
                        struct.unpack("=I", o[2][0][:4])[0]
    return fam


def kernel_log():
    """The kernel log's records as [(sequence number, text)], or None when
    this user may not read it."""
    try:
        with open("/dev/kmsg", "rb") as f:
            os.set_blocking(f.fileno(), False)
            lines = []
            while True:
                try:
                    rec = f.read(8192)
                except BlockingIOError:
                    break
                except OSError as e:
                    if e.errno == errno.EPIPE:
                        continue   # overwritten records: go on
                    break
                if not rec:
                    break
                head, _, text = rec.decode(errors="replace").partition(";")
                fields = head.split(",")
                seq = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
                lines.append((seq, text.rstrip("\n")))
            return lines
    except OSError:
        return None


class Fuzzer:
    """The generator, the sanitiser, the sender and the bookkeeping."""

    def __init__(self, args, fam, cmds, attrs):
        self.args = args
        self.fam = fam
        self.fid = fam["id"]
        self.cmds = cmds
        self.A = attrs   # a Layout: the flat names, and the nests
        self.L = attrs
        self.cmd_names = {v: k for k, v in cmds.items()}
        self.cmd_max = max(list(cmds.values()) + list(fam["ops"]) + [0])
        self.attr_max = max(attrs.types("A") + [fam["maxattr"], 0])
        self.set_list = ["A"] + sorted(attrs.sets)   # "A": the top level
        self.privileged = bool(cap_eff() & (1 << CAP_NET_ADMIN))
        # the nests the checks look into: the configuration, TLS handshakes
        self.cfg_type = next((t for t, s in attrs.nest_set.items() if s == "CFG"), None)
        self.tls_type = next((t for t, s in attrs.nest_set.items() if s == "TLS"), None)
        cfg, tls = attrs.sets.get("CFG", {}), attrs.sets.get("TLS", {})
        # attributes the sanitiser rewrites, in a KSMTP_A_CONFIG nest (the
        # only place the kernel takes them from): the server's address, port
        self.addr_types = {v for k, v in cfg.items() if "ADDR" in k or "SERVER" in k}
        self.port_types = {v for k, v in cfg.items() if k.endswith("PORT")}
        self.fd_types = {v for k, v in tls.items() if k.endswith("FD")}
        self.tls_id_type = tls.get("ID")
        self.pw_type = cfg.get("PASSWORD")
        self.g = None
        self.seq = 1
        self.sent = {}   # seq -> (cmd, processed by the family)
        self.passwords = set()   # FzPw- tokens sent as KSMTP_A_CFG_PASSWORD only
        self.tainted = set()     # FzPw- tokens also sent elsewhere (by mutation)
        self.st = {"messages": 0, "nlmsgs": 0, "bytes": 0, "send_errors": {}, "acks": {},
                   "replies": 0, "dumps_done": 0, "events": 0, "overruns": 0,
                   "recv_errors": {}, "foreign": 0, "fds_closed": 0,
                   "password_echoed_in_error_ack": 0, "kinds": {}, "cmds_sent": {},
                   "socket_variants": 0, "abandoned_dumps": 0, "sanitised": 0,
                   "tls_ids_heard": 0, "replies_off_layout": 0}
        self.violations = []
        self.busy = None
        self.current = (None, b"")
        self.tls_ids = []   # TLS handshake requests the kernel announced
        self.server = None

    # ------------------------------------------------------------ generators

    def c(self, name):
        return self.cmds.get(name)

    def a(self, name):
        """An attribute's type by its flat name ("CONFIG", "CFG_PASSWORD")."""
        return self.A.get(name)

    def rand_flags(self, rng):
        return rng.choice([NLM_F_REQUEST, NLM_F_REQUEST | NLM_F_ACK, NLM_F_REQUEST | NLM_F_ACK,
                           NLM_F_REQUEST | NLM_F_DUMP, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP,
                           NLM_F_REQUEST | NLM_F_ECHO, NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO,
                           NLM_F_REQUEST | NLM_F_ROOT, NLM_F_REQUEST | NLM_F_MATCH, NLM_F_ACK,
                           0, rng.randrange(0x10000)])

    def rand_header(self, rng):
        version = rng.choice([1, 1, 1, 0, 2, 255, rng.randrange(256)])
        reserved = rng.choice([0, 0, 0, 0, 1, 0xffff, rng.randrange(0x10000)])
        return version, reserved

    def rand_int(self, rng, width):
        v = rng.choice(INTS + [rng.randrange(1 << (8 * width))])
        return (v & ((1 << (8 * width)) - 1)).to_bytes(width, sys.byteorder)

    def rand_str(self, rng):
        s = rng.choice(STRINGS)
        k = rng.randrange(9)
        if k == 0:
            return s                                   # no NUL
        if k == 1:
            return s + b"\0" + rng.choice(STRINGS) + b"\0"   # embedded NUL
        if k == 2:
            return s + b"\r\n" + rng.choice(STRINGS) + b"\0"   # CR LF
        if k == 3:
            return rng.choice([b"\r", b"\n", b"a\rb", b"a\nb"]) + b"\0"
        if k == 4:
            n = rng.choice(LENGTHS)
            return bytes([rng.choice(b"ax@.-,")]) * n + b"\0"   # long
        if k == 5:
            return b"\0" * rng.choice([1, 2, 3, 4, 16, 256])
        if k == 6:
            return bytes(rng.randrange(1, 256) for _ in range(rng.choice(LENGTHS[:12]))) + b"\0"
        return s + b"\0"

    def kind(self, s, t):
        """What an attribute of type t in set s ("A": the top level) holds:
        "nest", "addr", "u8", "u16", "u32", "u64", "str", "bin", or None."""
        if self.L.inner(s, t):
            return "nest"
        if s == "PHASE":   # KSMTP_A_STATS_FAILED_PHASE: u64 per phase, 0 pads
            return "u64" if t else "bin"
        name = self.L.names.get(s, {}).get(t, "")
        if not name or name == "UNSPEC" or s == "A":
            return None
        if "ADDR" in name:
            return "addr"
        if name.endswith("PORT"):
            return "u16"
        if name.endswith("PAD") or name == "BODY":
            return "bin"
        if name == "QUEUE" or name.endswith(("HELO_ONLY", "CLEARTEXT", "PASSWORD_SET",
                                             "CONFIGURED", "TRANSIENT", "UNKNOWN")):
            return "u8"
        if name == "ID" or s == "STATS":
            return "u64"
        if (s, name) == ("RES", "TLS") or name.endswith((
                "USERNAME", "PASSWORD", "FROM", "DOMAIN", "RCPT", "SUBJECT", "TEXT", "REASON",
                "NAME", "CA_FILE", "INFO")):
            return "str"
        return "u32"

    def wrap(self, rng, s, attrs):
        """attrs (of set s) in their nest, and that in its own, up to the top
        level (now and then without NLA_F_NESTED)."""
        while s != "A" and s in self.L.place:
            parent, t = self.L.place[s]
            attrs = nest(t, attrs, NLA_F_NESTED if rng.random() < 0.95 else 0)
            s = parent or "A"
        return attrs

    def rand_payload(self, rng, s, atype, depth=0):
        k = rng.randrange(10)
        kind = self.kind(s, atype)
        if kind == "nest" and k < 7 and depth < 4:
            return self.rand_nest_body(rng, self.L.inner(s, atype), depth + 1)
        if k < 4 and kind:
            if kind in ("u8", "u16", "u32", "u64"):
                width = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}[kind]
                if rng.random() < 0.2:
                    width = rng.choice([0, 1, 2, 3, 4, 5, 8, 16])
                return self.rand_int(rng, width) if width else b""
            if kind == "str":
                return self.rand_str(rng)
            if kind == "addr":
                return rng.choice([b"\x7f\0\0\x01", bytes(15) + b"\x01",
                                   bytes(rng.randrange(256) for _ in
                                         range(rng.choice([0, 1, 3, 4, 5, 8, 15, 16, 17, 32])))])
        if k < 6:
            n = rng.choice(LENGTHS)
            fill = rng.randrange(3)
            if fill == 0:
                return bytes(n)
            if fill == 1:
                return bytes([rng.randrange(256)]) * n
            return rng.randbytes(n)
        if k < 8:
            return self.rand_str(rng)
        if k == 8 and depth < 3:   # nested garbage, of any set
            return self.rand_attrs(rng, rng.randrange(6), depth + 1, rng.choice(self.set_list))
        return self.rand_int(rng, rng.choice([1, 2, 4, 8]))

    def rand_nest_body(self, rng, s, depth):
        """What goes in a nest of set s: its attributes well formed, with odd
        ones among them, or random ones."""
        r = rng.random()
        if r < 0.4:
            return self.valid_set(rng, s)
        if r < 0.55:
            return self.valid_set(rng, s) + self.rand_attrs(rng, rng.randrange(1, 4), depth, s)
        return self.rand_attrs(rng, rng.randrange(6), depth, s)

    def rand_type(self, rng, s="A"):
        """A type for an attribute in set s, with flags (NLA_F_NESTED
        mostly on nests, now and then on others, or missing)."""
        types, mx = self.L.types(s), self.L.maxtype(s)
        r = rng.random()
        if r < 0.45:
            t = rng.choice(types or [0])
        elif r < 0.75:
            t = rng.randrange(0, max(mx + 4, 16))
        elif r < 0.9:
            t = rng.randrange(0, max(81, self.attr_max + 4))
        else:
            t = rng.choice([mx + 1, mx + 2, 81, 100, 127, 128, 255, 256, 1000, 0x3ffe, 0x3fff])
        flags = [NLA_F_NESTED] * 12 if self.kind(s, t) == "nest" else [0] * 12
        return t | rng.choice(flags + [0, NLA_F_NESTED, NLA_F_NET_BYTEORDER,
                                       NLA_F_NESTED | NLA_F_NET_BYTEORDER])

    def rand_attr(self, rng, atype=None, depth=0, s="A"):
        """One attribute in set s ("A": at the top level); now and then one
        of another set (its type and what it holds) in its place."""
        ks = s
        if atype is None:
            if rng.random() < 0.15:
                ks = rng.choice(self.set_list)
            atype = self.rand_type(rng, ks)
        elif not atype & ~NLA_TYPE_MASK and self.kind(ks, atype) == "nest" and \
                rng.random() < 0.9:
            atype |= NLA_F_NESTED
        t = atype & NLA_TYPE_MASK
        payload = self.rand_payload(rng, ks, t, depth)
        if atype & NLA_F_NESTED and self.kind(ks, t) != "nest" and rng.random() < 0.5 and \
                depth < 3:
            payload = self.rand_attrs(rng, rng.randrange(4), depth + 1,
                                      rng.choice(self.set_list))
        return nla(atype & 0xffff, payload[:65000])

    def rand_attrs(self, rng, n, depth=0, s="A"):
        out = b"".join(self.rand_attr(rng, depth=depth, s=s) for _ in range(n))
        if rng.random() < 0.15:
            out += self.malformed_tail(rng, s)
        return out

    def malformed_tail(self, rng, s="A"):
        k = rng.randrange(5)
        t = self.rand_type(rng, s)
        if k == 0:   # nla_len past the end of the message (or of the nest)
            return struct.pack("=HH", rng.choice([8, 100, 1000, 65535]), t) + rng.randbytes(
                rng.randrange(4))
        if k == 1:   # nla_len shorter than its own header
            return struct.pack("=HH", rng.randrange(4), t) + rng.randbytes(rng.randrange(8))
        if k == 2:   # half a header
            return rng.randbytes(rng.randrange(1, 4))
        if k == 3:   # unaligned length, no padding
            return struct.pack("=HH", 5, t) + b"x"
        return struct.pack("=HH", 4, t)   # empty

    def msg(self, rng, cmd, attrs, flags=None, version=1, reserved=0):
        return genlmsg(self.fid, cmd, attrs,
                       NLM_F_REQUEST | NLM_F_ACK if flags is None else flags, 0, version,
                       reserved)

    def gen_random(self, rng):
        cmd = rng.randrange(0, self.cmd_max + 4)
        version, reserved = self.rand_header(rng)
        attrs = self.rand_attrs(rng, rng.choice([0, 1, 1, 2, 3, 5, 8, 16, 40]))
        return self.msg(rng, cmd, attrs, self.rand_flags(rng), version, reserved)

    def gen_every_type(self, rng):
        """One command with one attribute of each type at the top level, or
        in a nest one of each type of its set, or one type at any length."""
        cmd = rng.randrange(0, self.cmd_max + 4)
        r = rng.random()
        if r < 0.35:
            attrs = b"".join(self.rand_attr(rng, t) for t in range(0, self.attr_max + 3))
        elif r < 0.75:
            s = rng.choice(self.set_list[1:])
            attrs = self.wrap(rng, s, b"".join(self.rand_attr(rng, t, 1, s)
                                               for t in range(0, self.L.maxtype(s) + 3)))
        else:
            s = rng.choice(self.set_list)
            t = rng.randrange(0, self.L.maxtype(s) + 3)
            attrs = self.wrap(rng, s, nla(t, rng.randbytes(rng.choice(LENGTHS))))
        return self.msg(rng, cmd, attrs, rng.choice([NLM_F_REQUEST | NLM_F_ACK,
                                                     NLM_F_REQUEST]))

    def gen_dups(self, rng):
        """The same nest again and again, or the same attribute inside one."""
        cmd = rng.randrange(0, self.cmd_max + 4)
        if rng.random() < 0.4:
            t = rng.choice(self.L.types("A")[1:] or [1])
            attrs = b"".join(self.rand_attr(rng, t) for _ in range(rng.randrange(2, 12)))
        else:
            s = rng.choice(self.set_list[1:])
            t = rng.choice(self.L.types(s)[1:] or [1])
            attrs = self.wrap(rng, s, b"".join(self.rand_attr(rng, t, 1, s)
                                               for _ in range(rng.randrange(2, 12))))
        attrs = self.valid_attrs(rng, cmd) + attrs if rng.random() < 0.5 else attrs
        return self.msg(rng, cmd, attrs, NLM_F_REQUEST | NLM_F_ACK)

    def pack(self, t, chunks, limit=0xffff - 4):
        """The attributes chunks in as few nests of type t as hold them."""
        out, cur = [], b""
        for c in chunks:
            if cur and len(cur) + len(c) > limit:
                out.append(nest(t, cur))
                cur = b""
            cur += c
        if cur or not out:
            out.append(nest(t, cur))
        return out

    def gen_bodies(self, rng):
        """A send with many body parts (sometimes over KSMTP_BODY_MAX in all),
        over several KSMTP_A_MAIL nests (a nest holds at most 64 KiB)."""
        body, mail = self.L.sets.get("MAIL", {}).get("BODY"), self.a("MAIL")
        if body is None or mail is None or self.c("SEND") is None:
            return self.gen_random(rng)
        big = self.privileged and rng.random() < 0.1
        n = rng.choice([2, 17, 50, 200, 400]) if not big else 17
        parts = []
        total = 0
        for _ in range(n):
            ln = 65000 if big else rng.choice(LENGTHS[:-1])
            if total + ln > (1200000 if big else 150000):
                break
            total += ln
            parts.append(nla(body, (rng.choice([b"a", b".", b"\r\n.", b"\0"]) * ln)[:ln]))
        meta = self.valid_set(rng, "MAIL", body=False)
        mode = rng.choice([0, 0, 1, 1, 2, 3])
        if mode == 0:   # as ksmtpctl: a nest a part, the rest of the mail in the last
            nests = [nest(mail, p) for p in parts[:-1]] + [nest(mail, meta + b"".join(parts[-1:]))]
        elif mode == 1:   # the rest of the mail first, the parts in as few nests as hold them
            nests = self.pack(mail, [meta] + parts)
        elif mode == 2:   # all in one nest: cut at 64 KiB (nla_len holds no more)
            nests = [nest(mail, meta + b"".join(parts))]
        else:   # the parts at the top level, or each in a nest of another kind
            other = rng.choice(self.L.types("A"))
            nests = [nest(mail, meta)] + ([b"".join(parts)] if rng.random() < 0.5 else
                                          [nest(other, p) for p in parts])
        return self.msg(rng, self.c("SEND"), b"".join(nests))

    def value(self, rng, s, t):
        """A plausible, well-formed payload for type t of set s."""
        kind = self.kind(s, t)
        if kind == "nest":
            return self.valid_set(rng, self.L.inner(s, t))
        if kind == "addr":
            return rng.choice([b"\x7f\0\0\x01", bytes(15) + b"\x01"])
        if kind == "u16":
            return struct.pack("=H", self.args.port)
        if kind == "str":
            return rng.choice(STRINGS[:5]) + b"\0"
        if kind in ("u8", "u32", "u64"):
            width = {"u8": 1, "u32": 4, "u64": 8}[kind]
            return rng.choice([0, 1, 2, 3, 100, 30000][:4 if width == 1 else 6]).to_bytes(
                width, sys.byteorder)
        return rng.randbytes(rng.choice([0, 4, 8]))

    def valid_set(self, rng, s, body=True, cmd_name=""):
        """The attributes a well-formed nest of set s holds (for a request of
        cmd_name, where it matters), without the nest's own header."""
        V, out = self.L.sets.get(s, {}), []

        def put(name, payload):
            if name in V:
                out.append(nla(V[name], payload))

        u8 = lambda v: struct.pack("=B", v)
        u16 = lambda v: struct.pack("=H", v)
        u32 = lambda v: struct.pack("=I", v)
        u64 = lambda v: struct.pack("=Q", v)
        if s == "CFG":
            put("SERVER_ADDR", rng.choice([b"\x7f\0\0\x01", bytes(15) + b"\x01"]))
            put("PORT", u16(self.args.port))
            if rng.random() < 0.5:
                put("FROM", rng.choice([b"fuzz@example.org", b"a@b.c"]) + b"\0")
            if rng.random() < 0.5:
                put("RCPT", rng.choice([b"fuzz@example.net", b"a@b.c, d@e.f"]) + b"\0")
            if rng.random() < 0.4:
                put("DOMAIN", rng.choice([b"gw1.example.org", b""]) + b"\0")
            if rng.random() < 0.4:
                pw = "FzPw-%016x" % rng.getrandbits(64)
                put("USERNAME", b"fuzzuser\0")
                put("PASSWORD", pw.encode() + b"\0")
                put("AUTH", u32(rng.randrange(4)))
            for t in ("TIMEOUT_CONNECT", "TIMEOUT_GREETING", "TIMEOUT_COMMAND",
                      "TIMEOUT_DATA_BLOCK", "TIMEOUT_FINAL_DOT", "RETRY_BASE_MS"):
                if rng.random() < 0.2:
                    put(t, u32(rng.choice([100, 1000, 3600000])))
            for t, vals in (("QUEUE_MAX", [1, 16, 65536]), ("QUEUE_BYTES", [4096, 1 << 20]),
                            ("RETRY_MAX", [1, 2, 1000]), ("RETRY_AGE", [1, 60]),
                            ("COALESCE_MS", [0, 100, 2000])):
                if rng.random() < 0.2:
                    put(t, u32(rng.choice(vals)))
            if rng.random() < 0.3:
                put("HELO_ONLY", u8(rng.randrange(2)))
                put("AUTH_CLEARTEXT", u8(rng.randrange(2)))
            if rng.random() < 0.1:
                # never a group of uid/gid 65534 (the unprivileged runs)
                put("SEND_GID", u32(rng.choice([0xffffffff, 0, 1])))
            if rng.random() < 0.2:
                put("TLS", u32(rng.randrange(3)))
                put("TLS_NAME", b"mail.example.org\0")
                put("TLS_CA_FILE", rng.choice([b"", b"/etc/ssl/certs/ca.pem"]) + b"\0")
            elif rng.random() < 0.5:
                put("TLS", u32(0))
        elif s == "MAIL" and "HEADERS" in V and rng.random() < 0.35:
            # a whole message: the caller's headers, no subject or priority
            if rng.random() < 0.7:
                put("RCPT", rng.choice([b"fuzz@example.net", b"a@b.c, d@e.f"]) + b"\0")
            put("HEADERS", rng.choice(HEADERS) + b"\0")
            if rng.random() < 0.3:
                put("ENVELOPE_FROM", rng.choice([b"", b"fuzz@example.org", b"a b@c",
                                                 b"x@y>\r\nRCPT TO:<z@w>"]) + b"\0")
            if rng.random() < 0.3:
                put("FROM_NAME", rng.choice([b"Cron Daemon", b"a\"b\\c", "J\u00fcrgen".encode(),
                                             b"x\r\nBcc: y@z", b"\xff" * 255]) + b"\0")
            if rng.random() < 0.1:
                put("QUEUE", u8(1))
            if body:
                for _ in range(rng.randrange(3)):
                    put("BODY", rng.choice([b"hello\n", b".\r\n", b"x" * 1200,
                                            b"\xc3\xbc\n", b"\0"]))
        elif s == "MAIL":
            if rng.random() < 0.7:
                put("RCPT", rng.choice([b"fuzz@example.net", b"a@b.c, d@e.f"]) + b"\0")
            if rng.random() < 0.7:
                put("SUBJECT", rng.choice([b"fuzz", b"", "\u00fcml".encode()]) + b"\0")
            if rng.random() < 0.5:
                put("PRIORITY", u32(rng.randrange(3)))
            if rng.random() < 0.5:
                put("QUEUE", u8(1))
            if body:
                for _ in range(rng.randrange(3)):
                    put("BODY", rng.choice([b"hello\n", b".\r\n", b"x" * 300]))
        elif s == "TLS" and cmd_name != "TLS_DONE" and (cmd_name == "TLS_ACCEPT" or
                                                        rng.random() < 0.5):
            put("ID", u64(rng.choice([0, 1, 2, rng.getrandbits(64)] + self.tls_ids * 4)))
        elif s == "TLS":
            put("ID", u64(rng.choice([0, 1, rng.getrandbits(64)] + self.tls_ids * 4)))
            put("STATUS", u32(rng.choice([0, 1, 129, 4095])))
            if rng.random() < 0.5:
                put("REASON", b"handshake failed\0")
            if rng.random() < 0.5:
                put("INFO", b"TLS1.3 AES-256-GCM\0")
        else:   # a reply's set: some of its attributes, each well formed
            for t in self.L.types(s):
                if (t or s == "PHASE") and rng.random() < 0.5:
                    out.append(nla(t, self.value(rng, s, t),
                                   NLA_F_NESTED if self.kind(s, t) == "nest" else 0))
        return b"".join(out)

    def valid_attrs(self, rng, cmd, body=True):
        """The attributes a well-formed message of this command carries: its
        nests (none for a command that takes no attribute)."""
        name = self.cmd_names.get(cmd, "")
        if name == "TLS_ACCEPT" and rng.random() < 0.5:
            return b""   # the oldest request waiting
        out = b""
        for top in REQUESTS.get(name, {}):
            t = self.a(top)
            if t is not None and t in self.L.nest_set:
                out += nest(t, self.valid_set(rng, self.L.nest_set[t], body, name))
        return out

    def gen_valid(self, rng):
        names = ["CONFIG_SET", "SEND", "SEND", "STATS_GET", "QUEUE_GET", "CONFIG_GET",
                 "TLS_ACCEPT", "TLS_DONE", "QUEUE_FLUSH", "QUEUE_RETRY"]
        name = rng.choice([n for n in names if self.c(n) is not None] or ["UNSPEC"])
        cmd = self.c(name) or 0
        flags = NLM_F_REQUEST | NLM_F_ACK
        if name == "QUEUE_GET":
            flags = NLM_F_REQUEST | NLM_F_DUMP | rng.choice([0, NLM_F_ACK])
        return self.msg(rng, cmd, self.valid_attrs(rng, cmd), flags)

    def bad_nest(self, rng, t, s, inner):
        """A nest of type t (set s) broken inside."""
        k = rng.randrange(7)
        if k == 0:   # empty
            return nest(t, b"")
        if k == 1:   # less than an attribute header
            return nest(t, rng.randbytes(rng.randrange(1, 4)))
        if k == 2:   # an attribute whose nla_len runs past the nest's end
            a = bytearray(nla(rng.randrange(1, self.L.maxtype(s) + 2),
                              rng.randbytes(rng.randrange(16))))
            struct.pack_into("=H", a, 0, min(0xffff, len(a) + rng.choice([1, 4, 100, 0xffff])))
            return nest(t, inner + bytes(a))
        if k == 3:   # an attribute whose nla_len is shorter than its header
            return nest(t, inner + struct.pack("=HH", rng.randrange(4), 1) + rng.randbytes(4))
        if k == 4:   # trailing garbage after the attributes
            return nest(t, inner + rng.randbytes(rng.randrange(1, 8)))
        if k == 5:   # the nest's own nla_len past the message's end
            b = bytearray(nest(t, inner))
            struct.pack_into("=H", b, 0, min(0xffff, len(b) + rng.choice([4, 8, 1000])))
            return bytes(b)
        # an attribute of odd length without its padding, then another
        return nest(t, struct.pack("=HH", 5, rng.randrange(1, self.L.maxtype(s) + 2)) + b"x" +
                    inner)

    def gen_nests(self, rng):
        """Nests right and wrong: the command's own layout with one thing
        broken, nests the command does not take (another's, a reply's), one
        set's attributes in another's nest, a nest without NLA_F_NESTED or a
        scalar with it, malformed and deep nests, the old flat layout."""
        names = [n for n in ("CONFIG_SET", "SEND", "TLS_ACCEPT", "TLS_DONE", "CONFIG_GET",
                             "STATS_GET", "QUEUE_GET", "QUEUE_FLUSH", "QUEUE_RETRY", "EVENT",
                             "TLS_REQUEST") if self.c(n) is not None]
        cmd = self.c(rng.choice(names)) if names and rng.random() < 0.9 else \
            rng.randrange(0, self.cmd_max + 4)
        name = self.cmd_names.get(cmd, "")
        tops = self.L.types("A")[1:] or [1]
        own = [self.a(n) for n in REQUESTS.get(name, {}) if self.a(n) in self.L.nest_set]
        t = rng.choice(own or tops)   # the nest to play with
        s = self.L.nest_set.get(t) or rng.choice(self.set_list[1:])
        inner = self.valid_set(rng, s, True, name)
        k = rng.randrange(12)
        if k == 0:   # the right nest without NLA_F_NESTED
            attrs = nla(t, inner)
        elif k == 1:   # NLA_F_NESTED on an attribute that is not a nest
            b = bytearray(inner)
            items = walk_attrs(b, 0, len(b))
            if items:
                o, _, at = rng.choice(items)
                struct.pack_into("=H", b, o + 2, at | NLA_F_NESTED)
            attrs = nest(t, bytes(b))
        elif k == 2:   # a nest the command does not take: another's, a reply's
            other = rng.choice(tops)
            attrs = (nest(t, inner) if rng.random() < 0.5 else b"") + nest(
                other, self.valid_set(rng, self.L.nest_set.get(other, "CFG"), True, name))
        elif k == 3:   # attributes the command does not take, in its own nest
            allowed = REQUESTS.get(name, {}).get(self.L.names["A"].get(t))
            extra = [x for n, x in self.L.sets.get(s, {}).items()
                     if x and (n in REPLY_ONLY.get(s, []) if allowed is None else
                               n not in allowed)] or self.L.types(s)
            add = b"".join(nla(x, self.value(rng, s, x)) for x in
                           rng.sample(extra, min(len(extra), rng.randrange(1, 4))))
            attrs = nest(t, inner + add if rng.random() < 0.5 else add + inner)
        elif k == 4:   # another set's attributes in this nest
            s2 = rng.choice([x for x in self.set_list[1:] if x != s] or [s])
            attrs = nest(t, self.valid_set(rng, s2, True, name) +
                         (inner if rng.random() < 0.5 else b""))
        elif k == 5:   # a malformed nest
            attrs = self.bad_nest(rng, t, s, inner)
        elif k == 6:   # a scalar, or nothing, where a nest belongs
            attrs = nla(t, rng.choice([struct.pack("=I", rng.getrandbits(32)), b"",
                                       rng.choice(STRINGS) + b"\0",
                                       struct.pack("=Q", rng.getrandbits(64))]),
                        rng.choice([0, NLA_F_NESTED]))
        elif k == 7:   # deep: nests in nests, garbage at the bottom
            deep = self.rand_attrs(rng, rng.randrange(3), 3, rng.choice(self.set_list))
            for _ in range(rng.choice([2, 3, 5, 8, 16, 33, 64, 200])):
                deep = nest(rng.choice(self.L.types(rng.choice(self.set_list)) +
                                       [rng.randrange(0x4000)]), deep,
                            rng.choice([NLA_F_NESTED] * 4 + [0]))
            attrs = nest(t, inner + deep if rng.random() < 0.5 else deep)
        elif k == 8:   # a type the set does not have, in the right nest
            bad = rng.choice([0, self.L.maxtype(s) + 1, self.L.maxtype(s) + 2, 100, 0x3fff])
            attrs = nest(t, inner + nla(bad, self.rand_payload(rng, s, bad)))
        elif k == 9:   # the nest twice, or its attributes split over two
            items = [bytes(inner[o:o + ((ln + 3) & ~3)]) for o, ln, _ in
                     walk_attrs(inner, 0, len(inner))]
            if rng.random() < 0.5 or len(items) < 2:
                attrs = nest(t, inner) + nest(t, self.valid_set(rng, s, True, name))
            else:
                cut = rng.randrange(1, len(items))
                attrs = nest(t, b"".join(items[:cut])) + nest(t, b"".join(items[cut:]))
        elif k == 10:   # the old flat layout: the nest's attributes at the top level
            attrs = inner
        else:   # a nest of every kind: empty, or holding its own set's attributes
            attrs = b"".join(nest(x, b"" if rng.random() < 0.5 else self.valid_set(
                rng, self.L.nest_set.get(x, "CFG"), True, name)) for x in tops)
        flags = NLM_F_REQUEST | NLM_F_ACK
        if name == "QUEUE_GET" and rng.random() < 0.5:
            flags = NLM_F_REQUEST | NLM_F_DUMP
        return self.msg(rng, cmd, attrs, flags)

    def mutate(self, rng, buf):
        """Bit flips, truncation, extension, splicing, attribute surgery (at
        any depth), nest surgery."""
        b = bytearray(buf)
        for _ in range(rng.randrange(1, 4)):
            k = rng.randrange(12)
            if k == 0 and b:
                for _ in range(rng.randrange(1, 17)):
                    i = rng.randrange(len(b) * 8)
                    b[i // 8] ^= 1 << (i % 8)
            elif k == 1 and b:
                for _ in range(rng.randrange(1, 5)):
                    b[rng.randrange(len(b))] = rng.choice([0, 1, 0x7f, 0x80, 0xff, 0x0d, 0x0a])
            elif k == 2:
                b = b[:rng.randrange(len(b) + 1)]
                if rng.random() < 0.5 and len(b) >= 4:
                    struct.pack_into("=I", b, 0, len(b))
            elif k == 3:
                b += self.rand_attr(rng) if rng.random() < 0.7 else rng.randbytes(
                    rng.randrange(1, 64))
                if rng.random() < 0.7 and len(b) >= 4:
                    struct.pack_into("=I", b, 0, len(b))
            elif k == 4:   # splice: this one's head and another valid one's tail
                other = self.gen_valid(rng)
                b = b[:rng.randrange(len(b) + 1)] + other[rng.randrange(len(other) + 1):]
                if rng.random() < 0.5 and len(b) >= 4:
                    struct.pack_into("=I", b, 0, len(b))
            elif k == 5:   # several messages in one datagram
                b = b + bytes(-len(b) % 4) + self.gen_valid(rng)
            elif k == 6 or k == 7:   # an attribute's length or type, at any depth
                attrs = walk_tree(b, 20, len(b)) if len(b) >= 20 else []
                if attrs:
                    off, alen, atype, depth = rng.choice(attrs)
                    if k == 6:
                        struct.pack_into("=H", b, off, rng.choice(
                            [0, 1, 3, 4, 5, alen - 1, alen + 1, alen + 4, 0xffff,
                             rng.randrange(0x10000)]) & 0xffff)
                    else:
                        struct.pack_into("=H", b, off + 2, self.rand_type(
                            rng, "A" if not depth else rng.choice(self.set_list)))
            elif k == 8 and len(b) >= 20:   # shuffle or duplicate attributes, or a nest's
                tops = walk_attrs(b, 20, len(b))
                nests = [x for x in tops if x[1] > 4 and is_attr_list(b, x[0] + 4, x[0] + x[1])]
                o, ln, t = rng.choice(nests) if nests and rng.random() < 0.5 else (
                    16, len(b) - 16, None)   # (the top level, as if a nest)
                chunks = [bytes(b[io:io + ((il + 3) & ~3)]) for io, il, _ in
                          walk_attrs(b, o + 4, o + ln)]
                if chunks:
                    if rng.random() < 0.5:
                        rng.shuffle(chunks)
                    else:
                        chunks += [rng.choice(chunks)] * rng.randrange(1, 5)
                    if t is None:
                        b = b[:20] + b"".join(chunks)
                    else:
                        b = b[:o] + nla(t, b"".join(chunks)) + b[o + ((ln + 3) & ~3):]
                    struct.pack_into("=I", b, 0, len(b))
            elif k == 9 and len(b) >= 20:   # header fields
                f = rng.randrange(5)
                if f == 0:
                    struct.pack_into("=I", b, 0, rng.choice([0, 15, 16, 19, 20, len(b) + 1,
                                                             len(b) + 100, 0xffffffff]))
                elif f == 1:
                    struct.pack_into("=H", b, 6, self.rand_flags(rng))
                elif f == 2:
                    b[16] = rng.randrange(0, self.cmd_max + 4)
                elif f == 3:
                    b[17] = rng.randrange(256)
                else:
                    struct.pack_into("=H", b, 18, rng.randrange(0x10000))
            elif k == 10:   # the type field: NOOP/ERROR/DONE, or other families
                if len(b) >= 6:   # (the sanitiser puts ours back over >= 0x10)
                    struct.pack_into("=H", b, 4, rng.choice([0, 1, 2, 3, 4, 0x10, 0xffff]))
            elif k == 11 and len(b) >= 20:   # a top-level attribute unnested, or nested again
                tops = walk_attrs(b, 20, len(b))
                if tops:
                    o, ln, t = rng.choice(tops)
                    if rng.random() < 0.5 and ln > 4:
                        new = bytes(b[o + 4:o + ln])
                        new += bytes(-len(new) % 4)
                    else:
                        new = nest(rng.choice(self.L.types("A") + [rng.randrange(0x4000)]),
                                   bytes(b[o:o + ln]))
                    b = b[:o] + new + b[o + ((ln + 3) & ~3):]
                    struct.pack_into("=I", b, 0, len(b))
        return bytes(b)

    def generate(self, i):
        """Message number i of this seed: (kind, bytes)."""
        rng = random.Random("%d:%d" % (self.args.seed, i))
        r = rng.random()
        if r < 0.25:
            return "random", self.gen_random(rng)
        if r < 0.33:
            return "every-type", self.gen_every_type(rng)
        if r < 0.40:
            return "duplicates", self.gen_dups(rng)
        if r < 0.45:
            return "bodies", self.gen_bodies(rng)
        if r < 0.58:
            return "valid", self.gen_valid(rng)
        if r < 0.72:
            return "nests", self.gen_nests(rng)
        return "mutated", self.mutate(rng, self.gen_valid(rng))

    # ----------------------------------------------------------- sanitiser

    def sanitise(self, buf):
        """Walk buf as the kernel will; send every message to our family,
        number it, and rewrite server addresses and ports (in every
        KSMTP_A_CONFIG nest, with or without NLA_F_NESTED). Returns the new
        bytes and [(seq, cmd, processed, flags)] of its messages."""
        b = bytearray(buf)
        out = []
        for off, mlen in walk_msgs(b):
            mtype, flags = struct.unpack_from("=HH", b, off + 4)
            if mtype >= NLMSG_MIN_TYPE and mtype != self.fid:
                struct.pack_into("=H", b, off + 4, self.fid)
                mtype = self.fid
            seq = self.seq
            self.seq = self.seq + 1 if self.seq < 0xfffffff0 else 1
            struct.pack_into("=I", b, off + 8, seq)
            cmd = b[off + 16] if mlen > 16 else None
            processed = mtype == self.fid and bool(flags & NLM_F_REQUEST) and mlen >= 20
            out.append((seq, cmd, processed, flags))
            if mlen < 20:
                continue
            blanked = bytearray(b[off:off + mlen])
            for noff, nlen, ntype in walk_attrs(b, off + 20, off + mlen):
                if ntype & NLA_TYPE_MASK != self.cfg_type:
                    continue
                for aoff, alen, atype in walk_attrs(b, noff + 4, noff + nlen):
                    t = atype & NLA_TYPE_MASK
                    n = alen - 4
                    if t == self.pw_type:
                        self.passwords.update(PW_TOKEN.findall(b[aoff + 4:aoff + alen]))
                        blanked[aoff - off + 4:aoff - off + alen] = bytes(n)
                    if t in self.addr_types:
                        new = (b"\x7f\0\0\x01" if n == 4 else bytes(15) + b"\x01" if n == 16
                               else bytes(n))
                        if b[aoff + 4:aoff + alen] != new:
                            self.st["sanitised"] += 1
                        b[aoff + 4:aoff + alen] = new
                    elif t in self.port_types and n >= 2:
                        struct.pack_into("=H", b, aoff + 4, self.args.port)
            self.tainted.update(PW_TOKEN.findall(blanked))
        return bytes(b), out

    # -------------------------------------------------------------- sending

    def count(self, d, key, n=1):
        d[str(key)] = d.get(str(key), 0) + n

    def violation(self, what, i, detail=""):
        self.violations.append({"what": what, "index": i, "detail": detail,
                                "bytes": self.current[1][:4096].hex()})
        print("nlfuzz: VIOLATION %s at message %d (seed %d): %s\n  bytes: %s" % (
            what, i, self.args.seed, detail, self.current[1][:4096].hex()), flush=True)

    def handle_reply(self, d, i):
        """Account for every message of one datagram. Returns the seqs of
        dumps that ended."""
        ended = set()
        for off, mlen in walk_msgs(d):
            mtype, mflags, mseq = struct.unpack_from("=HHI", d, off + 4)
            req = self.sent.get(mseq)
            if mtype == NLMSG_ERROR and mlen >= 20:
                err = struct.unpack_from("=i", d, off + 16)[0]
                cmd = req[0] if req else None
                self.count(self.st["acks"].setdefault(str(cmd), {}), err)
                if err > 0 or err < -4095:
                    self.violation("bad-errno", i, "error %d in an ack" % err)
                if req and req[1] and err == 0:
                    self.success(req, i, "ack 0")
                if err and PW_TOKEN.search(d[off:off + mlen]):
                    self.st["password_echoed_in_error_ack"] += 1
                ended.add(mseq)
            elif mtype == NLMSG_DONE:
                self.st["dumps_done"] += 1
                if req and req[1]:
                    self.success(req, i, "dump")
                ended.add(mseq)
            elif mtype == NLMSG_OVERRUN:
                self.st["overruns"] += 1
            elif mtype == self.fid:
                body = d[off + 16:off + mlen]
                if mseq == 0:
                    self.st["events"] += 1
                else:
                    self.st["replies"] += 1
                    if req and req[1]:
                        self.success(req, i, "reply")
                if mlen >= 20:
                    # the top level holds only nests (counted, not a violation)
                    if any(at & NLA_TYPE_MASK not in self.L.nest_set or not at & NLA_F_NESTED
                           for _, _, at in walk_attrs(body, 4, len(body))):
                        self.st["replies_off_layout"] += 1
                    a = parse_attrs(body, 4, len(body))
                    for blob in a.get(self.cfg_type, []):
                        if self.pw_type is not None and \
                                self.pw_type in parse_attrs(blob, 0, len(blob)):
                            self.violation("password-attribute-in-reply", i, body[:64].hex())
                    for blob in a.get(self.tls_type, []):
                        tls = parse_attrs(blob, 0, len(blob))
                        for v in tls.get(self.tls_id_type, []):   # a request, or one we took
                            if len(v) == 8:
                                self.tls_ids = (self.tls_ids +
                                                [struct.unpack("=Q", v)[0]])[-16:]
                                self.st["tls_ids_heard"] += 1
                        for t in self.fd_types if mseq else ():
                            for v in tls.get(t, []):
                                fd = struct.unpack("=I", v[:4])[0] if len(v) >= 4 else -1
                                if fd > 2:
                                    try:
                                        os.close(fd)
                                        self.st["fds_closed"] += 1
                                    except OSError:
                                        pass
                for p in PW_TOKEN.findall(body):
                    if p in self.passwords and p not in self.tainted:
                        self.violation("password-in-reply", i, p.decode())
            else:
                self.st["foreign"] += 1
        return ended

    def success(self, req, i, how):
        cmd = req[0]
        flags = self.fam["ops"].get(cmd)
        if flags is None:
            self.violation("unknown-command-succeeded", i, "command %s: %s" % (cmd, how))
        elif ((flags & (GENL_ADMIN_PERM | GENL_UNS_ADMIN_PERM) or
               self.cmd_names.get(cmd) in ADMIN_BY_HANDLER) and not self.privileged):
            self.violation("admin-command-succeeded-unprivileged", i,
                           "command %s (%s): %s" % (cmd, self.cmd_names.get(cmd, "?"), how))

    def drain(self, i, dumps, wait):
        """Read what is queued; wait up to `wait` s for dumps to end."""
        end = time.monotonic() + wait
        for _ in range(100000):
            timeout = 0 if not dumps else max(0.0, end - time.monotonic())
            try:
                d = self.g.recv(timeout)
            except OSError as e:   # ENOBUFS: events overran the socket
                self.count(self.st["recv_errors"], errno.errorcode.get(e.errno, e.errno))
                if time.monotonic() > end:
                    return
                continue
            if d is None:
                return
            dumps -= self.handle_reply(d, i)

    def new_socket(self, rng):
        if self.g:
            self.g.close()
        self.g = Genl(rcvbuf=rng.choice([1 << 20, 1 << 20, 4096, 65536]),
                      ext_ack=rng.random() < 0.8, cap_ack=rng.random() < 0.3,
                      strict=rng.random() < 0.3, force=self.privileged)
        self.st["socket_variants"] += 1
        if self.privileged or rng.random() < 0.5:   # root: hear of TLS requests
            for gid in self.fam["groups"].values():
                try:
                    self.g.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, gid)
                except OSError:
                    pass

    def abandoned_dump(self):
        """Start a queue dump on a socket with a tiny buffer and close it."""
        if self.c("QUEUE_GET") is None:
            return
        g = Genl(rcvbuf=1024)
        try:
            g.send(genlmsg(self.fid, self.c("QUEUE_GET"), b"", NLM_F_REQUEST | NLM_F_DUMP, 1))
        except OSError:
            pass
        g.close()
        self.st["abandoned_dumps"] += 1

    def join_groups(self):
        res = {}
        for name, gid in sorted(self.fam["groups"].items()):
            g = Genl()
            try:
                g.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, gid)
                res[name] = "joined"
            except OSError as e:
                res[name] = errno.errorcode.get(e.errno, str(e.errno))
            g.close()
        return res

    def watchdog(self):
        while True:
            time.sleep(1)
            busy = self.busy
            if busy and time.monotonic() - busy > self.args.hang:
                idx, buf = self.current
                print("nlfuzz: HANG: no answer to message %s (seed %d) for %d s\n  bytes: %s"
                      % (idx, self.args.seed, self.args.hang, buf[:65536].hex()), flush=True)
                os._exit(3)

    def preconfigure(self):
        """With CAP_NET_ADMIN: server 127.0.0.1:--port, before anything else."""
        A = self.a
        attrs = nla(A("CFG_SERVER_ADDR"), b"\x7f\0\0\x01") + nla(
            A("CFG_PORT"), struct.pack("=H", self.args.port))
        for name, val in (("CFG_FROM", b"fuzz@example.org\0"),
                          ("CFG_RCPT", b"fuzz@example.net\0"),
                          ("CFG_TLS", struct.pack("=I", 0)),
                          ("CFG_AUTH", struct.pack("=I", 0)),
                          ("CFG_HELO_ONLY", b"\0"),
                          ("CFG_SEND_GID", struct.pack("=I", 0xffffffff))):
            if A(name) is not None:
                attrs += nla(A(name), val)
        err, _ = self.g.request(self.fid, self.c("CONFIG_SET"), nest(self.cfg_type, attrs))
        return err

    def run(self):
        args = self.args
        rng0 = random.Random("%d:sockets" % args.seed)
        self.new_socket(rng0)
        if self.privileged and not args.no_preconfigure:
            err = self.preconfigure()
            if err == -errno.EPERM:
                # CAP_NET_ADMIN of a user namespace the family does not honour
                print("nlfuzz: CAP_NET_ADMIN refused by the family: fuzzing as unprivileged",
                      flush=True)
                self.privileged = False
            elif err:
                print("nlfuzz: cannot point the configuration at 127.0.0.1:%d (error %d);"
                      " not fuzzing as root with an unknown server" % (args.port, err),
                      file=sys.stderr)
                return 2
        self.st["groups"] = self.join_groups()
        threading.Thread(target=self.watchdog, daemon=True).start()
        fds_before = set(os.listdir("/proc/self/fd"))
        start = time.monotonic()
        indices = args.index or range(args.count)
        last = -1
        for i in indices:
            if time.monotonic() - start > args.time:
                break
            last = i
            if i and i % 997 == 0:
                self.new_socket(rng0)
            if i % 1999 == 1000:
                self.abandoned_dump()
            kind, raw = self.generate(i)
            buf, msgs = self.sanitise(raw)
            self.current = (i, buf)
            if args.verbose:
                print("nlfuzz: %d %s %s" % (i, kind, buf[:512].hex()), flush=True)
            self.count(self.st["kinds"], kind)
            dumps = set()
            for seq, cmd, processed, flags in msgs:
                self.sent[seq] = (cmd, processed)
                if processed:
                    self.count(self.st["cmds_sent"], cmd)
                    if (flags & NLM_F_DUMP) == NLM_F_DUMP:
                        dumps.add(seq)
            self.st["messages"] += 1
            self.st["nlmsgs"] += len(msgs)
            self.st["bytes"] += len(buf)
            self.busy = time.monotonic()
            try:
                self.g.send(buf)
            except OSError as e:
                self.count(self.st["send_errors"], errno.errorcode.get(e.errno, e.errno))
                dumps = set()
            self.drain(i, dumps, 2.0)
            self.busy = None
            if len(self.sent) > 50000:
                for k in list(self.sent)[:25000]:
                    del self.sent[k]
        # what is still on its way (asynchronous results, events)
        self.busy = time.monotonic()
        end = time.monotonic() + args.settle
        while time.monotonic() < end:
            try:
                d = self.g.recv(end - time.monotonic())
            except OSError:
                continue
            if d is None:
                break
            self.handle_reply(d, last)
        self.busy = None
        self.st["last_index"] = last
        self.st["elapsed_s"] = round(time.monotonic() - start, 1)
        self.g.close()
        self.g = None
        if self.server:   # its connections are not the kernel's doing
            self.server.quiesce(10)
        new = []
        for fd in sorted(set(os.listdir("/proc/self/fd")) - fds_before):
            try:
                new.append("%s -> %s" % (fd, os.readlink("/proc/self/fd/" + fd)))
            except OSError:
                pass   # listdir's own descriptor
        if new:
            self.violation("descriptor-leak", last, ", ".join(new))
        return 0

    def cleanup(self):
        """With CAP_NET_ADMIN: empty the queue the fuzzing filled."""
        if not self.privileged or self.c("QUEUE_FLUSH") is None:
            return
        g = Genl()
        try:
            g.request(self.fid, self.c("QUEUE_FLUSH"))
            if self.a("CFG_SEND_GID") is not None:   # no send group left behind
                g.request(self.fid, self.c("CONFIG_SET"), nest(self.cfg_type, nla(
                    self.a("CFG_SEND_GID"), struct.pack("=I", 0xffffffff))))
        except (OSError, TimeoutError):
            pass
        g.close()


class Server:
    """--serve: an SMTP server of sorts on 127.0.0.1 and ::1 at --port, the
    only place the fuzzed configurations can send to. Each connection is,
    at random: closed at once, left silent, or answered (STARTTLS offered and
    accepted, so that sessions ask for TLS handshakes; AUTH accepted or not;
    the message taken and dropped)."""

    def __init__(self, port, seed):
        self.rng = random.Random("%d:server" % seed)
        self.lock = threading.Lock()
        self.active = 0
        self.sessions = 0
        self.closing = False
        for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            try:
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((host, port))
                s.listen(64)
            except OSError:
                continue
            threading.Thread(target=self.accept, args=(s,), daemon=True).start()

    def accept(self, s):
        while True:
            c, _ = s.accept()
            with self.lock:
                kind = self.rng.choice(["close", "silent", "talk", "talk", "talk"])
                busy = self.active >= 48 or self.closing
                if not busy:
                    self.active += 1
                self.sessions += 1
            if busy or kind == "close":
                c.close()
                if not busy:
                    with self.lock:
                        self.active -= 1
                continue
            threading.Thread(target=self.session, args=(c, kind), daemon=True).start()

    def quiesce(self, timeout):
        """Take no more sessions; wait for those under way to end."""
        self.closing = True
        end = time.monotonic() + timeout
        while self.active and time.monotonic() < end:
            time.sleep(0.05)

    def session(self, c, kind):
        try:
            c.settimeout(5)
            if kind == "silent":
                c.recv(1)
                return
            f = c.makefile("rb")
            say = lambda b: c.sendall(b)
            say(b"220 nlfuzz ESMTP\r\n")
            data = False
            while True:
                line = f.readline(4096)
                if not line:
                    return
                if data:
                    if line == b".\r\n":
                        data = False
                        say(self.rng.choice([b"250 ok\r\n", b"451 later\r\n", b"554 no\r\n"]))
                    continue
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    say(b"250-nlfuzz\r\n250-PIPELINING\r\n250-STARTTLS\r\n"
                        b"250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 SIZE 100000\r\n")
                elif verb == b"STAR":
                    say(b"220 go ahead\r\n")   # then no TLS: the helper's part
                    c.recv(1)
                    return
                elif verb == b"AUTH":
                    say(self.rng.choice([b"235 ok\r\n", b"535 no\r\n", b"334 PDw+\r\n"]))
                elif verb == b"DATA":
                    data = True
                    say(b"354 go\r\n")
                elif verb == b"QUIT":
                    say(b"221 bye\r\n")
                    return
                else:
                    say(self.rng.choice([b"250 ok\r\n"] * 6 + [b"451 later\r\n",
                                                               b"550 no\r\n", b"421 bye\r\n"]))
        except OSError:
            pass
        finally:
            c.close()
            with self.lock:
                self.active -= 1


def drop_privileges(uid):
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        libc_call("prctl", 4, 1, 0, 0, 0)   # PR_SET_DUMPABLE: /proc/self is ours again


def libc_call(name, *args):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s%r: %s" % (name, args, os.strerror(e)))


def userns_refused():
    """Whether the kernel refuses this process a new user namespace (EPERM:
    it does so to a chrooted process), tried in a child."""
    pid = os.fork()
    if pid == 0:
        try:
            libc_call("unshare", 0x10000000)   # CLONE_NEWUSER
            os._exit(0)
        except OSError as e:
            os._exit(1 if e.errno == errno.EPERM else 0)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 1


def leave_chroot():
    """The kernel refuses a new user namespace to a chrooted process (the e2e
    guest runs its tests in a chroot). As root: a private mount namespace
    whose root is the chroot's, as a container runtime or switch_root makes
    it. Only this process's view of the mounts changes."""
    CLONE_NEWNS, MS_MOVE, MS_REC, MS_PRIVATE = 0x20000, 0x2000, 0x4000, 1 << 18
    libc_call("unshare", CLONE_NEWNS)
    libc_call("mount", b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    top = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    jail = "/tmp/nlfuzz-jail.%d" % os.getpid()
    os.mkdir(jail)
    try:
        os.chroot(jail)         # the working directory stays outside it
        os.fchdir(top)
        for _ in range(256):
            os.chdir("..")
        os.chroot(".")          # the mount namespace's own root
        old = os.readlink("/proc/self/fd/%d" % top)
        os.chdir(old)
        libc_call("mount", b".", b"/", None, MS_MOVE, None)
        os.chroot(".")
        os.chdir("/")
    finally:
        os.close(top)
        try:
            os.rmdir(jail)
        except OSError:
            pass


def enter_userns():
    """Become root of a new user namespace owning a new network namespace
    (what any user may do, e.g. unshare -Urn): a container's root."""
    uid, gid = os.geteuid(), os.getegid()
    libc_call("unshare", 0x10000000 | 0x40000000)   # CLONE_NEWUSER | CLONE_NEWNET
    for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", "0 %d 1" % uid),
                       ("/proc/self/gid_map", "0 %d 1" % gid)):
        with open(path, "w") as f:
            f.write(text)


FIRST_KEYS = {"seed", "last_index", "cmd_max", "attr_max", "family_id", "commands", "uapi",
              "groups", "privileged", "userns"}


def merge(a, b):
    """Two summaries as one: counters added, lists joined."""
    out = dict(a)
    for k, v in b.items():
        if k not in out:
            out[k] = v
        elif k == "elapsed_s":
            out[k] = max(out[k], v)
        elif k in FIRST_KEYS or isinstance(v, (bool, str)):
            continue
        elif isinstance(v, dict):
            out[k] = merge(out[k], v)
        elif isinstance(v, (int, float, list)):
            out[k] = out[k] + v
    return out


def run_jobs(args, argv):
    """--jobs N: N copies of this fuzzer at once (seeds S..S+N-1), one summary."""
    rest, skip = [], False
    for x in argv:
        if skip:
            skip = False
        elif x in ("--jobs", "--seed"):
            skip = True
        elif not x.startswith(("--jobs=", "--seed=")):
            rest.append(x)
    procs = []
    for k in range(args.jobs):
        seed = (args.seed + k) % (1 << 32)
        print("nlfuzz: job %d: seed %d" % (k, seed), flush=True)
        procs.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "--jobs", "1",
                                       "--seed", str(seed)] + rest,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True))
    total, codes = None, []
    for k, p in enumerate(procs):
        out = p.communicate()[0]
        codes.append(p.returncode)
        for line in out.splitlines():
            if line.startswith("nlfuzz-summary: "):
                st = json.loads(line.split(": ", 1)[1])
                total = st if total is None else merge(total, st)
            else:
                print("[%d] %s" % (k, line), flush=True)
    if total is not None:
        total.update(seed=args.seed, jobs=args.jobs, job_exits=codes)
        total["violations"] = total.get("violations", [])[:20]
        print("nlfuzz-summary: " + json.dumps(total, sort_keys=True), flush=True)
    for rc in (3, 1, 4, 2):
        if rc in codes:
            return rc
    return max(codes) if total is not None else 2


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Fuzz the generic netlink family ksmtp (see the docstring of this file).",
        epilog="As root it reconfigures ksmtp (server 127.0.0.1:PORT) and fills its "
               "queue; --unprivileged drops to uid 65534 first. Reproduce a run with "
               "the same --seed; one message with --seed S --index N -v.")
    p.add_argument("--seed", type=int, default=None, help="PRNG seed (default: random)")
    p.add_argument("--count", type=int, default=1000000, help="messages at most")
    p.add_argument("--time", type=float, default=60.0, help="seconds at most (default 60)")
    p.add_argument("--unprivileged", action="store_true",
                   help="drop to --uid (and every capability) before opening a socket")
    p.add_argument("--uid", type=int, default=65534, help="uid/gid for --unprivileged")
    p.add_argument("--userns", action="store_true",
                   help="fuzz as root of a new user and network namespace (after "
                        "--unprivileged: a container's root); exit 4 if not allowed")
    p.add_argument("--port", type=int, default=2599,
                   help="the port every server port attribute becomes (default 2599: "
                        "nothing listens there; with --serve, the fuzzer does)")
    p.add_argument("--jobs", type=int, default=1,
                   help="run N fuzzers at once (seeds SEED..SEED+N-1): races")
    p.add_argument("--index", type=int, action="append",
                   help="send only message N of the seed (repeatable)")
    p.add_argument("--hang", type=float, default=30.0,
                   help="seconds without an answer that count as a hang (exit 3)")
    p.add_argument("--settle", type=float, default=2.0,
                   help="seconds to read late answers after the last message")
    p.add_argument("--uapi", default=UAPI, help="the uAPI header (commands, attributes)")
    p.add_argument("--family", default="ksmtp", help="generic netlink family name")
    p.add_argument("--serve", action="store_true",
                   help="answer at --port (127.0.0.1, ::1) as an SMTP server of sorts, so "
                        "that the fuzzed mails get somewhere (and ask for TLS handshakes)")
    p.add_argument("--no-preconfigure", action="store_true",
                   help="as root, do not point the configuration at 127.0.0.1 first")
    p.add_argument("--no-cleanup", action="store_true", help="as root, leave the queue")
    p.add_argument("-v", "--verbose", action="store_true", help="print every message")
    args = p.parse_args(argv)
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    if args.jobs > 1:
        return run_jobs(args, sys.argv[1:] if argv is None else argv)
    cmds, attrs, source = parse_uapi(args.uapi)
    if args.userns and os.geteuid() == 0 and userns_refused():
        try:
            leave_chroot()
        except OSError as e:
            print("nlfuzz: cannot leave the chroot for a user namespace: %s" % e,
                  file=sys.stderr)
            return 4
    if args.unprivileged:
        drop_privileges(args.uid)
        if cap_eff() & (1 << CAP_NET_ADMIN):
            print("nlfuzz: still holds CAP_NET_ADMIN after dropping privileges",
                  file=sys.stderr)
            return 2
    if args.userns:
        try:
            enter_userns()
        except OSError as e:
            print("nlfuzz: no user namespace: %s" % e, file=sys.stderr)
            return 4
    print("nlfuzz: seed %d, uid %d%s, CapEff %#x, uapi %s" % (
        args.seed, os.geteuid(), " in a new user namespace" if args.userns else "",
        cap_eff(), source), flush=True)
    log_before = kernel_log()
    g = Genl()
    try:
        fam = resolve_family(g, args.family)
    except (OSError, TimeoutError) as e:
        fam, why = None, e
    else:
        why = "not registered"
    g.close()
    if not fam:
        print("nlfuzz: family %s: %s" % (args.family, why), file=sys.stderr)
        return 2
    print("nlfuzz: family %s id %d, commands %s, groups %s" % (
        args.family, fam["id"], sorted(fam["ops"]), fam["groups"]), flush=True)
    server = Server(args.port, args.seed) if args.serve else None
    fz = Fuzzer(args, fam, cmds, attrs)
    fz.server = server
    rc = fz.run()
    if server:
        fz.st["smtp_sessions"] = server.sessions
    if rc:
        return rc
    if not args.no_cleanup:
        fz.cleanup()
    # the family must still be there, and answer
    g = Genl()
    try:
        again = resolve_family(g, args.family)
    except (OSError, TimeoutError):
        again = None
    g.close()
    if not again or again["id"] != fam["id"]:
        fz.violation("family-lost", fz.st.get("last_index", -1), "after fuzzing")
    log_after = kernel_log()
    if log_before is not None and log_after is not None:
        top = max([s for s, _ in log_before] + [-1])
        bad = [line for s, line in log_after if s > top and KERNEL_PROBLEM.search(line)]
        if bad:
            fz.violation("kernel-log", fz.st.get("last_index", -1), "\n".join(bad[:40]))
    st = dict(fz.st, seed=args.seed, privileged=fz.privileged, uapi=source, userns=args.userns,
              family_id=fam["id"], commands=sorted(fam["ops"]), cmd_max=fz.cmd_max,
              attr_max=fz.attr_max, violation_count=len(fz.violations),
              violations=fz.violations[:20])
    print("nlfuzz-summary: " + json.dumps(st, sort_keys=True), flush=True)
    return 1 if fz.violations else 0


if __name__ == "__main__":
    sys.exit(main())
