# SPDX-License-Identifier: GPL-2.0
"""ksmtpctl sendmail: a whole message on stdin, its headers kept (read into
test_e2e.py, whose helpers these cases use).

Each case pipes a message as cron, smartd or mdadm write it into the real
ksmtpctl (as "ksmtpctl sendmail" or through a "sendmail" symlink), and
checks what aiosmtpd received: envelope, MAIL parameters and the exact
bytes of the message, headers the caller gave exactly as given and only
Date, From and Message-ID added (matched by pattern: their values depend
on the time and a random number). Also: the pstore command (one mail per
record, the record removed once sent, kept when the send failed), and the
send group (a user that is not root sends as a member of it).
"""
import grp
import shutil

ADDED_DATE = rb"Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000\r\n"
ADDED_MSGID = rb"Message-ID: <\d+\.[0-9a-f]{16}@%s>\r\n"


def sendmail(*args, stdin=b"", check=True, prefix=(), env=None, ctl_path=None):
    if ctl_path is None:
        return ctl("sendmail", *args, stdin=stdin, check=check, prefix=prefix, env=env)
    p = subprocess.run(list(prefix) + [ctl_path, "sendmail"] + list(args), input=stdin,
                       capture_output=True, timeout=120)
    assert not check or p.returncode == 0, p
    return p


def expect_raw(content, given, body, frm=FROM.encode(), date=True, msgid=True,
               extra=b""):
    """@given (the caller's lines, CR LF), then what the kernel adds, the
    empty line and @body, exactly."""
    pat = re.escape(given)
    if date:
        pat += ADDED_DATE
    if frm is not None:
        pat += rb"From: " + re.escape(frm) + rb"\r\n"
    if msgid:
        pat += ADDED_MSGID % re.escape(FROM.split("@")[1].encode())
    pat += re.escape(extra) + rb"\r\n"
    m = re.match(pat, content)
    assert m, "headers differ: %r" % content[:800]
    assert content[m.end():] == body, "body differs: %r" % content[m.end():][:300]


def test_sendmail_t_bcc_removed_dot_ends():
    """-t: To, Cc and Bcc are the recipients (a display name, a comment, a
    folded To), Bcc is not sent; without -i a line of "." ends the
    message."""
    configure(port=PORT_OPEN, auth="none", user="")
    msg = (b"To: Disk Admin <a@example.net>,\n b@example.net (backup)\n"
           b"Cc: \"Ops, on call\" <c@example.net>\nBcc: d@example.net\n"
           b"Subject: disk sda is failing\n\nline 1\n.\nnot sent\n")
    p = sendmail("-t", stdin=msg)
    assert p.stdout == b"" and p.stderr == b"", p
    (m,) = RECOPEN.take()
    assert m["from"] == FROM, m
    assert sorted(m["rcpt"]) == ["a@example.net", "b@example.net", "c@example.net",
                                 "d@example.net"], m
    expect_raw(m["content"],
               b"To: Disk Admin <a@example.net>,\r\n b@example.net (backup)\r\n"
               b"Cc: \"Ops, on call\" <c@example.net>\r\n"
               b"Subject: disk sda is failing\r\n", b"line 1\r\n")
    assert b"Bcc" not in m["content"] and b"d@example.net" not in m["content"], m


def test_sendmail_cron_style_i_8bit():
    """Debian cron's call: sendmail -FCronDaemon -i -B8BITMIME -oem root,
    its own From, MIME headers and an 8-bit body: everything kept as
    given (no re-encoding, BODY=8BITMIME), "." lines are data with -i,
    root goes to the configured recipient, only Date and Message-ID are
    added."""
    configure(port=PORT_OPEN, auth="none", user="")
    given = (b"From: root (Cron Daemon)\nTo: root\nSubject: Cron <root@gw1> /usr/local/bin/check\n"
             b"MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
             b"Content-Transfer-Encoding: 8bit\nX-Cron-Env: <SHELL=/bin/sh>\n"
             b"X-Cron-Env: <HOME=/root>\n")
    body = b"disk temperature 61 \xc2\xb0C\n.\n..two dots\nend\n"
    sendmail("-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root", stdin=given + b"\n" + body)
    (m,) = RECOPEN.take()
    assert m["from"] == FROM and m["rcpt"] == [RCPT], m
    assert "BODY=8BITMIME" in m["mail_options"], m
    expect_raw(m["content"], given.replace(b"\n", b"\r\n"), body.replace(b"\n", b"\r\n"),
               frm=None)


def test_sendmail_envelope_and_name_added_from_and_mime():
    """-f is the envelope sender and the address of the From the kernel
    adds, -F its display name; a body of 8-bit text in a message without
    MIME headers gets them (and only then); recipients as arguments."""
    configure(port=PORT_OPEN, auth="none", user="")
    sendmail("-f", "smartd@example.org", "-F", "SMART \"disk\" Monitor", "x@example.net,y@example.net",
             stdin=b"Subject: SMART error (ATA) on /dev/sda\n\nsector 1234 \xe2\x9c\x97\n")
    (m,) = RECOPEN.take()
    assert m["from"] == "smartd@example.org", m
    assert m["rcpt"] == ["x@example.net", "y@example.net"], m
    expect_raw(m["content"], b"Subject: SMART error (ATA) on /dev/sda\r\n",
               b"sector 1234 \xe2\x9c\x97\r\n",
               frm=b"\"SMART \\\"disk\\\" Monitor\" <smartd@example.org>",
               extra=b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     b"Content-Transfer-Encoding: 8bit\r\n")
    # a 7-bit body: nothing MIME added; a UTF-8 name in encoded words
    sendmail("-F", "J\u00fcrgen", "x@example.net",
             stdin=b"Subject: plain\n\nascii\n")
    (m,) = RECOPEN.take()
    expect_raw(m["content"], b"Subject: plain\r\n", b"ascii\r\n",
               frm=b"=?UTF-8?B?SsO8cmdlbg==?= <" + FROM.encode() + b">")


def test_sendmail_header_checks():
    """The kernel checks every line the caller gave: refused with its
    reason (the extended ack), nothing reaches the server."""
    configure(port=PORT_OPEN, auth="none", user="")
    bad = [
        (b"Subject: " + b"x" * 990 + b"\n\nbody\n", "998"),
        (b"Subject: a\rb\n\nbody\n", "bare CR"),
        (b"Subject: a\x01b\n\nbody\n", "control"),
        (b"Subject: a\n \n\nbody\n", "white space only"),
        (b".Subject: a\n\nbody\n", "starting with '.'"),
    ]
    for msg, why in bad:
        p = sendmail("x@example.net", stdin=msg, check=False)
        assert p.returncode == 1, (msg[:40], p)
        assert why in p.stderr.decode(), (msg[:40], p.stderr)
    # a folded line of 998 octets is fine
    line = b"X-Long: " + b"y" * 990
    sendmail("x@example.net", stdin=line + b"\n\tfolded\n\nbody\n")
    (m,) = RECOPEN.take()
    expect_raw(m["content"], line + b"\r\n\tfolded\r\n", b"body\r\n")
    time.sleep(0.5)
    assert RECOPEN.mails == [], RECOPEN.mails


def test_sendmail_symlink_name_and_usage():
    """Installed as "sendmail" it takes sendmail's options; an option it
    does not know is a usage error (2) before any socket."""
    configure(port=PORT_OPEN, auth="none", user="")
    d = tempfile.mkdtemp()
    link = os.path.join(d, "sendmail")
    os.symlink(CTL, link)
    try:
        p = subprocess.run([link, "-oi", "-t"], input=b"To: z@example.net\nSubject: via link\n\nok\n",
                           capture_output=True, timeout=60)
        assert p.returncode == 0 and p.stdout == b"", p
        (m,) = RECOPEN.take()
        assert m["rcpt"] == ["z@example.net"], m
        expect_raw(m["content"], b"To: z@example.net\r\nSubject: via link\r\n", b"ok\r\n")
        p = subprocess.run([link, "-bp"], input=b"", capture_output=True, timeout=60)
        assert p.returncode == 2 and b"not supported" in p.stderr, p
    finally:
        shutil.rmtree(d)


def test_sendmail_aliases():
    """Local names go through /etc/ksmtp/aliases; one it does not map goes
    to the configured recipient."""
    configure(port=PORT_OPEN, auth="none", user="")
    os.makedirs("/etc/ksmtp", exist_ok=True)
    with open("/etc/ksmtp/aliases", "w") as f:
        f.write("# test\npostmaster: pm1@example.net, pm2@example.net\nops: postmaster\n")
    try:
        sendmail("ops", stdin=b"Subject: a\n\nb\n")
        (m,) = RECOPEN.take()
        assert m["rcpt"] == ["pm1@example.net", "pm2@example.net"], m
        sendmail("root", stdin=b"Subject: a\n\nb\n")
        (m,) = RECOPEN.take()
        assert m["rcpt"] == [RCPT], m
    finally:
        os.unlink("/etc/ksmtp/aliases")


def test_sendmail_send_group():
    """Without CAP_NET_ADMIN a user may send only as a member of the
    configured send group, and only as the configured sender: its From
    becomes X-Original-From, its -f is not used."""
    configure(port=PORT_OPEN, auth="none", user="")
    gid = grp.getgrnam("nogroup").gr_gid
    as_nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                 "--inh-caps=-all")
    msg = b"From: someone@example.com\nSubject: from a user\n\nhi\n"
    # the checkout may be in a directory only root may enter
    d = tempfile.mkdtemp()
    os.chmod(d, 0o755)
    user_ctl = os.path.join(d, "ksmtpctl")
    shutil.copy(CTL, user_ctl)
    os.chmod(user_ctl, 0o755)
    try:
        p = sendmail("x@example.net", stdin=msg, check=False, prefix=as_nobody, ctl_path=user_ctl)
        assert p.returncode == 1 and b"send group" in p.stderr, p
        ctl("set", "send-group", str(gid))
        assert show()["send_group"] == gid, show()
        sendmail("-f", "other@example.com", "x@example.net", stdin=msg, prefix=as_nobody, ctl_path=user_ctl)
        (m,) = RECOPEN.take()
        assert m["from"] == FROM, m
        expect_raw(m["content"], b"X-Original-From: someone@example.com\r\n"
                   b"Subject: from a user\r\n", b"hi\r\n")
        # the group unset again: refused again
        ctl("set", "send-group", "4294967295")
        assert show()["send_group"] is None, show()
        p = sendmail("x@example.net", stdin=msg, check=False, prefix=as_nobody, ctl_path=user_ctl)
        assert p.returncode == 1 and b"send group" in p.stderr, p
    finally:
        ctl("set", "send-group", "4294967295")
        shutil.rmtree(d)


def test_pstore_command_mails_and_removes():
    """ksmtpctl pstore over records named as pstore names them: one mail
    per record (subject: host, kind, the panic line), each removed once
    the server took it; a record whose mail failed stays. (The real
    ramoops round trip across a panic and two reboots: tests/e2e/panic.sh.)"""
    configure(port=PORT_OPEN, auth="none", user="")
    d = tempfile.mkdtemp()
    rec = (b"Panic#1 Part1\n<6>[   12.5] sysrq: Trigger a crash\n"
           b"<0>[   12.6] Kernel panic - not syncing: sysrq triggered crash\n"
           b"<4>[   12.6] CPU: 0 PID: 1 Comm: sh\n")
    try:
        with open(os.path.join(d, "dmesg-ramoops-0"), "wb") as f:
            f.write(rec)
        with open(os.path.join(d, "console-ramoops-0"), "wb") as f:
            f.write(b"not a dmesg record\n")
        p = ctl("pstore", d)
        assert p.stdout == ("%s/dmesg-ramoops-0: sent and removed\n" % d).encode(), p
        (m,) = RECOPEN.take()
        subj = "Subject: %s: kernel panic (%s, dmesg-ramoops-0): Kernel panic - not syncing: sysrq triggered crash" % (
            socket.gethostname(), os.uname().release)
        assert subj.encode() in m["content"].replace(b"\r\n ", b" "), m["content"][:400]
        assert m["content"].endswith(rec.replace(b"\n", b"\r\n")), m
        assert sorted(os.listdir(d)) == ["console-ramoops-0"], os.listdir(d)
        # the server down: the record stays, exit 1
        with open(os.path.join(d, "dmesg-ramoops-1"), "wb") as f:
            f.write(rec)
        configure(port=PORT_DOWN, auth="none", user="")
        p = ctl("pstore", d, check=False)
        assert p.returncode == 1, p
        assert "dmesg-ramoops-1" in os.listdir(d), os.listdir(d)
    finally:
        shutil.rmtree(d)


def test_sendmail_mdadm_monitor_test():
    """mdadm's own mail: a RAID1 of two loop devices, then
    mdadm --monitor --oneshot --test --mail ADDR, which runs
    "/usr/sbin/sendmail -t" (the guest's, pointed at ksmtpctl for the case)
    and writes its From, To and Subject and the body with /proc/mdstat.
    The stock kernel has md as modules; the debug kernel has no md and no
    loop: there the case is skipped (said, not counted), never passed."""
    configure(port=PORT_OPEN, auth="none", user="")
    host = socket.gethostname()
    subprocess.run(["modprobe", "loop"], capture_output=True)
    r = subprocess.run(["modprobe", "raid1"], capture_output=True, text=True)
    if r.returncode and os.uname().release.endswith("-ksmtp-debug"):
        raise NotHere("the debug kernel has no md (Debian's kernel runs this case)")
    assert r.returncode == 0, "no md raid1 in this kernel: %s" % r.stderr
    d = tempfile.mkdtemp()
    loops, saved = [], "/usr/sbin/sendmail.ksmtp-test-saved"
    md = "/dev/md127"
    try:
        for i in range(2):
            img = os.path.join(d, "disk%d.img" % i)
            with open(img, "wb") as f:
                f.truncate(16 << 20)
            loops.append(subprocess.run(["losetup", "-f", "--show", img], check=True,
                                        capture_output=True, text=True).stdout.strip())
        subprocess.run(["mdadm", "--create", md, "--level=1", "--raid-devices=2", "--run",
                        "--assume-clean", "--metadata=1.2", "--homehost=any"] + loops,
                       check=True, capture_output=True, timeout=120)
        # the guest's /usr/sbin/sendmail (Postfix's, on the tmpfs overlay)
        # becomes ksmtpctl for the case
        os.rename("/usr/sbin/sendmail", saved)
        os.symlink(CTL, "/usr/sbin/sendmail")
        with open("/proc/mdstat", "rb") as f:
            mdstat = f.read()
        p = subprocess.run(["mdadm", "--monitor", "--oneshot", "--test",
                            "--mail=raid-admin@example.net", md],
                           capture_output=True, timeout=120)
        assert p.returncode == 0, p
        (m,) = RECOPEN.take(timeout=30)
        assert m["from"] == FROM and m["rcpt"] == ["raid-admin@example.net"], m
        given = ("From: mdadm monitoring <root@%s>\r\nTo: raid-admin@example.net\r\n"
                 "Subject: TestMessage event on %s:%s\r\n" % (host, md, host)).encode()
        body = ("This is an automatically generated mail message from mdadm\n"
                "running on %s\n\n" % host).encode()
        c = m["content"]
        pat = re.escape(given) + ADDED_DATE + ADDED_MSGID % rb"example\.org" + rb"\r\n"
        mm = re.match(pat, c)
        assert mm, "headers differ: %r" % c[:600]
        got = c[mm.end():]
        assert got.startswith(body.replace(b"\n", b"\r\n")), got[:400]
        assert b"A TestMessage event had been detected on md device /dev/md127.\r\n" in got, got
        # mdstat as it was (no resync: --assume-clean), the last thing sent
        assert got.endswith(mdstat.replace(b"\n", b"\r\n")), (got[-400:], mdstat)
    finally:
        if os.path.islink("/usr/sbin/sendmail") and os.path.exists(saved):
            os.unlink("/usr/sbin/sendmail")
            os.rename(saved, "/usr/sbin/sendmail")
        subprocess.run(["mdadm", "--stop", md], capture_output=True, timeout=60)
        for lo in loops:
            subprocess.run(["losetup", "-d", lo], capture_output=True)
        shutil.rmtree(d)
