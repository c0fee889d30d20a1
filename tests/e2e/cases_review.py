# SPDX-License-Identifier: GPL-2.0
# Reviewer's reproducers (klog reporter, send group). Each asserts the
# behaviour a reviewer expects; at the time of writing they FAIL, which
# is the finding. Read into test_e2e.py after cases_klog.py and
# cases_sendmail.py (their helpers: klog_on, klog_off, Provoked, kmsg,
# wait_log, sendmail, ...).

AS_NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "--inh-caps=-all")


def user_copy_of_ctl():
    d = tempfile.mkdtemp()
    os.chmod(d, 0o755)
    p = os.path.join(d, "ksmtpctl")
    shutil.copy(CTL, p)
    os.chmod(p, 0o755)
    return d, p


MEMBER_FIELDS = (b"From: ceo@example.org", b"Sender: ceo@example.org",
                 b"Return-Path: <ceo@example.org>", b"Resent-From: ceo@example.org",
                 b"reply-to: a@example.net", b"Mail-Reply-To: a@example.net",
                 b"Mail-Followup-To: a@example.net", b"Errors-To: a@example.net",
                 b"Return-Receipt-To: a@example.net",
                 b"Disposition-Notification-To: a@example.net", b"Received: from x",
                 b"DKIM-Signature: v=1", b"ARC-Seal: i=1", b"Authentication-Results: x",
                 b"List-Post: <mailto:a@example.net>", b"List-Id: <ops.example.org>",
                 b"List-Unsubscribe: <mailto:a@example.net>",
                 b"Mail-Copies-To: a@example.net", b"X-Confirm-Reading-To: a@example.net",
                 b"Author: ceo@example.org", b"Received-SPF: pass",
                 b"DomainKey-Signature: a=rsa-sha1", b"Delivered-To: ceo@example.org",
                 b"X-Original-To: ceo@example.org", b"Envelope-To: ceo@example.org")


def member_raw_sends(headers):
    """Raw SENDs (no ksmtpctl to rename anything) from a socket that nobody
    opens with only the group nogroup (cases_review2.py's raw_sends_as):
    the kernel's answer (errno, 0 when taken) to each header section.
    (SUBJECT cannot go with HEADERS: EINVAL before any check.)"""
    return raw_sends_as([[("MAIL_RCPT", b"x@example.net\0"),
                          ("MAIL_HEADERS", h + b"\nSubject: raw %d\0" % i),
                          ("MAIL_BODY", b"hi\n")] for i, h in enumerate(headers)],
                        _as_member)


def test_review_member_raw_headers_refused_by_kernel():
    """ksmtpctl renames what a send group member may not give; the kernel
    is the boundary. A member's raw SEND whose HEADERS name a sender,
    where replies, bounces or receipts go, or a server's trace or verdict
    is refused with EPERM, each field alone, and nothing of it reaches the
    server; the same request with a harmless field is taken and arrives
    with that field."""
    configure(port=PORT_OPEN, auth="none", user="")
    ctl("set", "send-group", str(grp.getgrnam("nogroup").gr_gid))
    try:
        RECOPEN.mails = []
        res = member_raw_sends(list(MEMBER_FIELDS) + [b"Keywords: disk"])
        assert res[:-1] == [-errno.EPERM] * len(MEMBER_FIELDS), list(zip(MEMBER_FIELDS, res))
        assert res[-1] == 0, res
        (m,) = RECOPEN.take(1, timeout=30)
        assert m["from"] == FROM and m["rcpt"] == ["x@example.net"], m
        heads = m["content"].split(b"\r\n\r\n")[0]
        assert b"\r\nKeywords: disk\r\n" in b"\r\n" + heads + b"\r\n", heads
        time.sleep(2)
        assert RECOPEN.mails == [], RECOPEN.mails
    finally:
        ctl("set", "send-group", "4294967295", check=False)


SEGV_AS = r"""
import ctypes, sys
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)
ctypes.string_at(0)
"""


def test_review_klog_unprivileged_segfault_name_starts_report():
    """An unprivileged process named like a fault line ("Kernel panic",
    "Oops", "BUG: ...") that segfaults: x86's show_signal_msg() logs
    "<comm>[pid]: segfault at ..." at KERN_INFO, comm first. That must not
    start a report (nor spend the hour's budget)."""
    old = subprocess.run(["sysctl", "-n", "debug.exception-trace"],
                         capture_output=True, text=True).stdout.strip()
    subprocess.run(["sysctl", "-q", "debug.exception-trace=1"], check=False)
    klog_on("klog-window-ms", "500", "klog-per-hour", "1")
    try:
        with Provoked("review spoofed comm"):
            p = subprocess.run(list(AS_NOBODY) + ["python3", "-c", SEGV_AS, "Kernel panic"],
                               capture_output=True)
            assert p.returncode == -11, p
            time.sleep(4)
        got = list(RECOPEN.mails)
        RECOPEN.mails = []
        assert got == [], "a user's segfault was mailed as a kernel fault: %r" % (
            [m["content"][:600] for m in got],)
    finally:
        klog_off()
        subprocess.run(["sysctl", "-q", "debug.exception-trace=" + (old or "1")], check=False)


def test_review_member_fills_queue_kernel_reports_refused():
    """A send group member (no CAP_NET_ADMIN) queues mails until the queue
    is full: a kernel report (klog, ksmtp_notify()) then is refused with
    -ENOSPC. Members should not be able to starve the kernel's own mails.
    (Adapted with the fix: the queue is CAP_NET_ADMIN's and the kernel's;
    a member's QUEUE is refused, with its message, so the member fills
    nothing, and a real kernel WARNING is queued.)"""
    mark = kernel_log_since()[1]
    gid = grp.getgrnam("nogroup").gr_gid
    klog_on("klog-window-ms", "300", "klog-per-hour", "10")
    ctl("set", "port", str(PORT_DOWN), "queue-max", "4", "retry-base-ms", "600000",
        "send-group", str(gid))
    d, user_ctl = user_copy_of_ctl()
    try:
        n = 0
        for i in range(8):
            p = subprocess.run(list(AS_NOBODY) + [user_ctl, "send", "subject", "fill %d" % i,
                                                  "priority", "high", "queue"],
                               input=b"x\n", capture_output=True, timeout=60)
            if p.returncode != 0:
                assert b"only CAP_NET_ADMIN may queue a mail" in p.stderr, p
                continue
            n += 1
        assert n == 0, n
        assert json.loads(ctl("queue", "-j").stdout) == [], ctl("queue", "-j").stdout
        before = json.loads(ctl("stats", "-j").stdout)["queue"]
        with Provoked("review queue starved"):
            klog_test("mode=warn", "count=1")
            klog_test_gone()
            time.sleep(4)
        # the report is queued (its server down, it fails: that is later)
        end = time.monotonic() + 60
        while True:
            after = json.loads(ctl("stats", "-j").stdout)["queue"]
            if after["queued"] > before["queued"] or time.monotonic() > end:
                break
            time.sleep(0.5)
        assert after["queued"] == before["queued"] + 1, (before, after)
        assert after["refused"] == before["refused"], (before, after)
        lines = [x for x in kernel_log_since(mark)[0] if "kernel-log report not queued" in x]
        assert lines == [], "member filled the queue, kernel report refused: %r" % lines
    finally:
        klog_test_gone()
        ctl("queue", "flush", check=False)
        ctl("set", "send-group", "4294967295", "queue-max", "256", "retry-base-ms", "60000",
            check=False)
        klog_off()
        shutil.rmtree(d)


def test_review_member_resent_from_and_display_name():
    """A member may not name another sender: From, Sender, Return-Path are
    refused. Resent-From / Resent-Sender / Reply-To / Errors-To /
    Disposition-Notification-To and a display name that is an address are
    not."""
    configure(port=PORT_OPEN, auth="none", user="")
    gid = grp.getgrnam("nogroup").gr_gid
    ctl("set", "send-group", str(gid))
    d, user_ctl = user_copy_of_ctl()
    try:
        msg = (b"Resent-From: ceo@example.org\nResent-Sender: ceo@example.org\n"
               b"Reply-To: attacker@example.net\nErrors-To: attacker@example.net\n"
               b"Disposition-Notification-To: attacker@example.net\n"
               b"Subject: wire the money\n\nhi\n")
        p = sendmail("-F", "ceo@example.org via", "x@example.net", stdin=msg,
                     prefix=AS_NOBODY, ctl_path=user_ctl, check=False)
        got = RECOPEN.take(1, timeout=30) if p.returncode == 0 else []
        heads = got[0]["content"].split(b"\r\n\r\n")[0] if got else b""
        assert b"Resent-From: ceo@example.org" not in heads, heads
        # (with the fix) the display name is refused, with its message
        assert p.returncode == 1 and b"display name with '@'" in p.stderr, p
        # without it: the fields go, renamed, under the configured sender
        sendmail("x@example.net", stdin=msg, prefix=AS_NOBODY, ctl_path=user_ctl)
        (m,) = RECOPEN.take(1, timeout=30)
        heads = m["content"].split(b"\r\n\r\n")[0]
        assert m["from"] == FROM, m
        for f in (b"Resent-From: ceo", b"Resent-Sender: ceo", b"Reply-To: attacker",
                  b"Errors-To: attacker", b"Disposition-Notification-To: attacker"):
            assert b"\r\nX-Original-" + f in b"\r\n" + heads, heads
            assert b"\r\n" + f not in b"\r\n" + heads, heads
        # a Bcc without -t (root): removed by ksmtpctl, as sendmail does
        sendmail("x@example.net", stdin=b"Bcc: hidden@example.net\nSubject: b\n\nhi\n")
        (m,) = RECOPEN.take(1, timeout=30)
        assert b"Bcc" not in m["content"] and b"hidden@" not in m["content"], m
        assert m["rcpt"] == ["x@example.net"], m
    finally:
        ctl("set", "send-group", "4294967295", check=False)
        shutil.rmtree(d)
