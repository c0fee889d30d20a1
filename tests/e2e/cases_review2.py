# SPDX-License-Identifier: GPL-2.0
# Second review of the send group (reviewer's reproducers, and the
# behaviour since the fixes). Read into test_e2e.py after cases_review.py
# (its AS_NOBODY, user_copy_of_ctl) and cases_sendmail.py (sendmail).
import email
import email.policy
import grp
import unicodedata


def _nogroup():
    return grp.getgrnam("nogroup").gr_gid


def raw_sends_as(mails, before_open, after_open=None):
    """Raw SENDs (tests/e2e/nlfuzz.py, no ksmtpctl) from a forked child:
    before_open() runs before it opens its netlink socket, after_open()
    after. Each mail is a list of (attribute name, payload); the answer is
    the kernel's errno per mail (0 when taken)."""
    nl, g, fam, cmds, A = genl_ksmtp()
    g.close()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            before_open()
            g = nl.Genl(ext_ack=True)
            if after_open:
                after_open()
            out = []
            for attrs in mails:
                mail = b"".join(nl.nla(A[k], v) for k, v in attrs)
                out.append(g.request(fam["id"], cmds["SEND"], nl.nest(A["MAIL"], mail))[0])
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read()
    os.waitpid(pid, 0)
    assert got, "the child wrote nothing"
    return json.loads(got)


def _as_member():
    os.setgroups([_nogroup()])
    os.setgid(65534)
    os.setuid(65534)


def _mail(headers, **extra):
    attrs = [("MAIL_RCPT", b"x@example.net\0"), ("MAIL_HEADERS", headers + b"\0"),
             ("MAIL_BODY", b"hi\n")]
    return attrs + [("MAIL_" + k.upper(), v) for k, v in extra.items()]


def _member_on():
    configure(port=PORT_OPEN, auth="none", user="")
    ctl("set", "send-group", str(_nogroup()))
    RECOPEN.mails = []


def _member_off():
    ctl("set", "send-group", "4294967295", check=False)
    time.sleep(1)
    RECOPEN.mails = []


def test_review2_member_from_name_encoded_word_passes_for_address():
    """A display name that a reader would decode to an address. Readers
    (Python's email, Thunderbird, mutt) decode an RFC 2047 encoded word
    even inside a quoted string, so "=?utf-8?q?ceo=40example.org?=" would
    show as "ceo@example.org"; a full-width commercial at (U+FF20) looks
    like '@'. A send group member's FROM_NAME with "=?" or an 8-bit octet
    is refused (EPERM), nothing sent. CAP_NET_ADMIN may give it: the kernel
    sends a name with "=?" as encoded words of its own, which decode to the
    name as given (no address in it)."""
    names = (b"=?utf-8?q?ceo=40example.org?=", b"=?UTF-8?B?Y2VvQGV4YW1wbGUub3Jn?=",
             b"ceo\xef\xbc\xa0example.org")
    _member_on()
    try:
        res = raw_sends_as([_mail(b"Subject: s%d" % i, from_name=n + b"\0")
                            for i, n in enumerate(names)], _as_member)
        assert res == [-errno.EPERM] * len(names), res
        # an admin (root, CAP_NET_ADMIN): sent, shown as given
        res = raw_sends_as([_mail(b"Subject: a%d" % i, from_name=n + b"\0")
                            for i, n in enumerate(names[:2])], lambda: None)
        assert res == [0, 0], res
        got = sorted(RECOPEN.take(2, timeout=30), key=lambda m: m["content"])
        for n, m in zip(names, got):
            assert m["from"] == FROM, m
            assert b"\r\nFrom: =?UTF-8?B?" in b"\r\n" + m["content"], m["content"]
            msg = email.message_from_bytes(m["content"], policy=email.policy.default)
            (a,) = msg["From"].addresses
            assert a.addr_spec == FROM and a.display_name == n.decode(), str(msg["From"])
            assert "@" not in unicodedata.normalize("NFKC", a.display_name), a
        time.sleep(2)
        assert RECOPEN.mails == [], RECOPEN.mails
    finally:
        _member_off()


# Fields that name where replies, copies or receipts go, or pass for a
# receiving server's trace or verdict (on the kernel's list since review 2).
MORE_FIELDS = (
    b"List-Post: <mailto:attacker@example.net>",   # Thunderbird "Reply List"
    b"Mail-Copies-To: attacker@example.net",       # Gnus/slrn: copies of replies
    b"X-Confirm-Reading-To: attacker@example.net",  # old read receipts
    b"Author: ceo@example.org",                    # RFC 9057: the author
    b"Received-SPF: pass (example.org: domain of ceo@example.org designates "
    b"127.0.0.1 as permitted sender)",            # RFC 7208 9.1: a verdict
    b"DomainKey-Signature: a=rsa-sha1; d=example.org; s=x; b=AAAA",  # RFC 4870
    b"Delivered-To: ceo@example.org",              # a delivery agent's trace
)


def test_review2_member_more_redirect_and_verdict_fields():
    """List-Post (the reply target of Thunderbird's Reply List, its
    default reply button when present), Mail-Copies-To,
    X-Confirm-Reading-To, Author (RFC 9057), Received-SPF (RFC 7208
    trace/verdict), DomainKey-Signature and Delivered-To from a send group
    member: each refused with EPERM like Reply-To and
    Authentication-Results, nothing sent; through ksmtpctl sendmail each
    is renamed X-Original-* and the mail goes."""
    _member_on()
    d, user_ctl = user_copy_of_ctl()
    try:
        res = raw_sends_as([_mail(h) for h in MORE_FIELDS], _as_member)
        taken = [h for h, e in zip(MORE_FIELDS, res) if e == 0]
        got = RECOPEN.take(len(taken), timeout=30) if taken else []
        for h in taken:
            assert any(b"\r\n" + h + b"\r\n" in b"\r\n" + m["content"] for m in got), (h, got)
        assert not taken, "a member's mail carried: %r" % taken
        assert res == [-errno.EPERM] * len(MORE_FIELDS), res
        sendmail("x@example.net", stdin=b"\n".join(MORE_FIELDS) + b"\nSubject: m\n\nhi\n",
                 prefix=AS_NOBODY, ctl_path=user_ctl)
        (m,) = RECOPEN.take(1, timeout=30)
        heads = b"\r\n" + m["content"].split(b"\r\n\r\n")[0] + b"\r\n"
        assert m["from"] == FROM, m
        for h in MORE_FIELDS:
            assert b"\r\nX-Original-" + h + b"\r\n" in heads, (h, heads)
        time.sleep(2)
        assert RECOPEN.mails == [], RECOPEN.mails
    finally:
        _member_off()
        shutil.rmtree(d)


def test_review2_member_header_syntax_tricks_refused():
    """Holds: obsolete "From :" (RFC 5322 4.5.3), a tab before the colon,
    an 8-bit or BOM-prefixed name, a field after CR LF or LF, upper case,
    a folded name, CR/LF in SUBJECT, RCPT or FROM_NAME: each refused (EPERM
    or EINVAL), nothing sent. A From inside a continuation line is the
    value of the field before it for every reader: taken, and the mail has
    one From, the configured sender."""
    bad = [_mail(h) for h in (
        b"From : ceo@example.org", b"From\t: ceo@example.org", b"FROM: ceo@example.org",
        b"Subject: x\r\nReply-to: a@example.net", b"Subject: x\nsender:ceo@example.org",
        b"Fr\xc3\xb6m: x", b"\xef\xbb\xbfFrom: ceo@example.org", b"From\n : ceo@example.org",
        b"Subject: x\rFrom: ceo@example.org", b" From: ceo@example.org",
        b"Subject: x\n \nFrom: ceo@example.org")]
    bad += [_mail(b"Subject: x", from_name=b"n\r\nFrom: ceo@example.org\0"),
            _mail(b"Subject: x", from_name=b"n\nReply-To: a@example.net\0"),
            [("MAIL_RCPT", b"x@example.net\r\nFrom: ceo@example.org\0"),
             ("MAIL_SUBJECT", b"s\0"), ("MAIL_BODY", b"hi\n")],
            [("MAIL_RCPT", b"x@example.net\0"),
             ("MAIL_SUBJECT", b"s\nFrom: ceo@example.org\0"), ("MAIL_BODY", b"hi\n")],
            _mail(b"Subject: x", envelope_from=b"\0")]
    good = _mail(b"X-Note: a\n From: ceo@example.org")
    _member_on()
    try:
        res = raw_sends_as(bad + [good], _as_member)
        assert all(e in (-errno.EPERM, -errno.EINVAL) for e in res[:-1]), res
        assert res[-1] == 0, res
        (m,) = RECOPEN.take(1, timeout=30)
        msg = email.message_from_bytes(m["content"], policy=email.policy.default)
        assert [a.addr_spec for a in msg["From"].addresses] == [FROM], msg["From"]
        assert len(msg.get_all("From")) == 1, msg.get_all("From")
        time.sleep(2)
        assert RECOPEN.mails == [], RECOPEN.mails
    finally:
        _member_off()


def test_review2_group_check_uses_opener_credentials():
    """Holds (as the uAPI says: the opener's credentials). A socket opened
    while in the send group keeps the right after the process left the
    group and became another user (taken, configured sender); a socket
    opened by root and then used by a non-member is refused (the current
    task lacks CAP_NET_ADMIN, the opener is not in the group). Note:
    netlink.c's comment says the file's credentials are used "as
    netlink_capable() looks at them", but netlink_capable() also checks
    the current task; the group check does not."""
    def open_in_group():
        # a member opens it: nobody, nogroup, no capability in effect
        # (the saved uid 0 lets it leave the group afterwards)
        os.setgroups([_nogroup()])
        os.setresgid(65534, 65534, 65534)
        os.setresuid(65534, 65534, 0)

    def leave_group():
        os.seteuid(0)
        os.setgroups([])
        os.setresgid(65533, 65533, 65533)
        os.setresuid(65533, 65533, 65533)

    def root_open():
        os.setgroups([])

    _member_on()
    try:
        assert raw_sends_as([_mail(b"Subject: kept")], open_in_group, leave_group) == [0]
        (m,) = RECOPEN.take(1, timeout=30)
        assert m["from"] == FROM and m["content"].startswith(b"Subject: kept\r\n"), m
        res = raw_sends_as([_mail(b"Subject: passed")], root_open, leave_group)
        assert res == [-errno.EPERM], res
        time.sleep(2)
        assert RECOPEN.mails == [], RECOPEN.mails
    finally:
        _member_off()


def test_review2_root_without_cap_net_admin_sendmail_renames():
    """The kernel decides who is a send group member (no CAP_NET_ADMIN in
    the initial user namespace), not uid 0: ksmtpctl sendmail sends the
    message as given and, when the kernel refuses it as a member's, again
    with the fields renamed and without -f. Root without CAP_NET_ADMIN in
    the send group (a hardened unit: CapabilityBoundingSet= with
    SupplementaryGroups=) gets its mail sent, From renamed X-Original-From,
    under the configured sender; a user that is not root but has
    CAP_NET_ADMIN (ambient) keeps its From and -f."""
    _member_on()
    nocap = ("setpriv", "--groups=%d" % _nogroup(), "--inh-caps=-net_admin",
             "--bounding-set=-net_admin")
    cap = ("setpriv", "--reuid=65534", "--regid=65533", "--clear-groups",
           "--inh-caps=-all,+net_admin", "--ambient-caps=+net_admin")
    d, user_ctl = user_copy_of_ctl()
    msg = b"From: boss@example.org\nSubject: cron\n\nhi\n"
    try:
        p = sendmail("-f", "boss@example.org", "x@example.net", stdin=msg,
                     prefix=nocap, check=False)
        got = RECOPEN.take(1, timeout=30) if p.returncode == 0 else []
        assert p.returncode == 0, p
        (m,) = got
        heads = b"\r\n" + m["content"].split(b"\r\n\r\n")[0] + b"\r\n"
        assert m["from"] == FROM and b"\r\nX-Original-From: boss@example.org\r\n" in heads, heads
        assert b"\r\nFrom: %s\r\n" % FROM.encode() in heads, heads
        assert heads.count(b"\r\nFrom:") == 1, heads
        p = sendmail("-f", "boss@example.org", "x@example.net", stdin=msg,
                     prefix=cap, ctl_path=user_ctl, check=False)
        got = RECOPEN.take(1, timeout=30) if p.returncode == 0 else []
        assert p.returncode == 0, p
        (m,) = got
        assert m["from"] == "boss@example.org", m
        assert m["content"].startswith(b"From: boss@example.org\r\n"), m["content"]
        assert b"X-Original-" not in m["content"], m["content"]
        time.sleep(2)
        assert RECOPEN.mails == [], RECOPEN.mails
    finally:
        _member_off()
        shutil.rmtree(d)
