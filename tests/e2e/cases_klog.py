# SPDX-License-Identifier: GPL-2.0
# The kernel-log reporter (#12 part A): kernel faults provoked on purpose
# (tests/klog/ksmtp_klog_test.ko: WARN 1000 times, a hung task, an oops in
# a kthread) read back at the real server, one mail per report, the rate
# limit's count in the next mail; the log line of a mail not sent; the
# tracepoints of a delivery. Read into test_e2e.py (its helpers: ctl,
# show, configure, send, REC4, RECOPEN, PORT_*, ...).
#
# The faults provoked here are between two lines of our own in the
# kernel's log, "ksmtp-e2e: provoked begin NAME" and "... end NAME": the
# guest's check for kernel reports (tests/e2e/guest.sh) leaves out what is
# between them, and only that. A storm of WARNINGs wraps the kernel's log:
# what was logged before it is saved first, in $KSMTP_RESULTS/dmesg-saved.N,
# and checked there. The oops case comes last: an oops turns lockdep off
# for the rest of the boot.
import email
import email.policy

KLOGTEST = os.path.join(REPO, "tests", "klog", "ksmtp_klog_test.ko")


def host():
    """The host's name now, as the kernel will put it in a subject (the
    Postfix case renames the guest, so not at import)."""
    return os.uname().nodename

RELEASE = os.uname().release


def kmsg(text):
    with open("/dev/kmsg", "w") as f:
        f.write(text + "\n")


class Provoked:
    """The section of the kernel's log where faults are provoked on purpose."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        res = os.environ.get("KSMTP_RESULTS")
        if res:
            n = len([f for f in os.listdir(res) if f.startswith("dmesg-saved.")])
            with open(os.path.join(res, "dmesg-saved.%03d" % n), "wb") as f:
                f.write(subprocess.run(["dmesg"], capture_output=True, check=True).stdout)
        kmsg("ksmtp-e2e: provoked begin %s" % self.name)
        return self

    def __exit__(self, *exc):
        kmsg("ksmtp-e2e: provoked end %s" % self.name)
        # an oops raised the console's level (console_verbose()): every
        # line would go to the slow serial console from now on
        subprocess.run(["dmesg", "-n", "1"], check=False)


def sysctl(name, value=None):
    path = "/proc/sys/kernel/" + name
    with open(path) as f:
        old = f.read().strip()
    if value is not None:
        with open(path, "w") as f:
            f.write(str(value))
    return old


def klog_test(*params):
    subprocess.run(["insmod", KLOGTEST] + list(params), check=True, timeout=600)


def klog_test_gone():
    if subprocess.run(["grep", "-q", "^ksmtp_klog_test ", "/proc/modules"]).returncode == 0:
        subprocess.run(["rmmod", "ksmtp_klog_test"], check=True, timeout=120)


def klog_on(*extra):
    configure(port=PORT_OPEN, auth="none", user="",
              extra=("coalesce-ms", "0", "klog", "on", "klog-context", "8") + extra)


def klog_off():
    ctl("set", "klog", "off", "klog-level", "8", "klog-context", "8",
        "klog-window-ms", "5000", "klog-per-hour", "6")


def report(m):
    """(subject, body text) of a report, as a mail reader shows them, after
    the exact header bytes of the message were checked."""
    raw = m["content"]
    assert m["rcpt"] == [RCPT], m
    assert re.match(HDR_RE % (re.escape(FROM.encode()), re.escape(RCPT.encode()),
                              rb"[^\r\n]+(\r\n [^\r\n]+)*", rb"7bit", rb"1 \(Highest\)"),
                    raw), raw[:800]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return str(msg["subject"]), msg.get_content().replace("\r\n", "\n")


def wait_log(pattern, timeout=120, since=None):
    """The first line of dmesg (after the mark) that matches."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for line in kernel_log_since(since)[0]:
            if re.search(pattern, line):
                return line
        time.sleep(0.5)
    raise AssertionError("no %r in the kernel's log" % pattern)


def test_klog_refused_outside_the_initial_namespace():
    ns = "ksmtp-klog-ns"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        p = ctl("set", "klog", "on", check=False, prefix=("ip", "netns", "exec", ns))
        err = p.stderr.decode()
        assert p.returncode == 1, (p.returncode, err)
        assert "the kernel-log reporter runs in the initial network namespace only" in err, err
        p = ctl("set", "klog", "off", "klog-per-hour", "7",
                prefix=("ip", "netns", "exec", ns))
        cfg = json.loads(ctl("show", "-j", prefix=("ip", "netns", "exec", ns)).stdout)
        assert cfg["klog"] == {"on": False, "level": 8, "context": 8, "window_ms": 5000,
                               "per_hour": 7}, cfg
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    # ranges: the kernel's policy, its message printed
    for key, value in (("klog-per-hour", "0"), ("klog-context", "33"),
                       ("klog-level", "9"), ("klog-window-ms", "600001")):
        p = ctl("set", key, value, check=False)
        assert p.returncode == 1 and key in p.stderr.decode(), (key, p.stderr)


def test_klog_warn_storm_one_mail_rest_counted():
    """WARN() 1000 times in a second or a bit more (1 ms apart at least,
    longer than the window): one mail (the first WARNING, its trace), the
    rest counted; the next mail, in a new hour, says how many."""
    klog_on("klog-window-ms", "500", "klog-per-hour", "1")
    try:
        with Provoked("warn storm"):
            klog_test("mode=warn", "count=1000", "gap_us=1000")
            klog_test_gone()
        (m,) = RECOPEN.take(1, timeout=120)
        subject, body = report(m)
        assert re.fullmatch(r"%s %s: WARNING: CPU: \d+ PID: \d+ at \S*ksmtp_klog_test\.c:\d+ "
                            r"klog_test_init\+0x[0-9a-f]+/0x[0-9a-f]+ \[ksmtp_klog_test\]"
                            % (re.escape(host()), re.escape(RELEASE)), subject), subject
        lines = body.split("\n")
        first = lines.index(subject.split(": ", 1)[1])
        # the context: the cut-here line and the first WARN's own text
        # before it; unless the storm wrapped the log before the reporter
        # read it: then the mail says so, and the first WARNING it saw whole
        # is the subject
        if not re.search(r"^\d+ log records lost before they were read\.$", body, re.M):
            assert lines[first - 2:first] == ["------------[ cut here ]------------",
                                              "ksmtp_klog_test: warning 1 of 1000"], lines
        assert "Call Trace:" in lines, body
        assert b"\r\nCall Trace:\r\n" in m["content"]
        first_body = body
        n_in = re.search(r"^(\d+) lines in this report would each have started one\.$",
                         body, re.M)
        in_first = int(n_in.group(1)) if n_in else 1
        time.sleep(4)
        assert RECOPEN.mails == [], "a second mail within the hour: %r" % RECOPEN.mails
        # a new hour (a new klog-per-hour), one more WARN: its mail says the count
        ctl("set", "klog-per-hour", "2")
        with Provoked("one more warning"):
            klog_test("mode=warn", "count=1")
            klog_test_gone()
        (m,) = RECOPEN.take(1, timeout=120)
        subject, body = report(m)
        assert re.search(r": WARNING: CPU: \d+ PID: \d+ at ", subject), subject
        assert "ksmtp_klog_test: warning 1 of 1\n" in body, body
        s = re.search(r"^(\d+) more reports suppressed by the rate limit \(2 per hour\) "
                      r"before this one\.$", body, re.M)
        assert s, body
        # each WARN is one line that starts a report: those in the first
        # mail and those counted are at most 1000 (fewer when the log
        # wrapped before the reporter read it: then the mails say so)
        suppressed = int(s.group(1))
        assert 1 <= suppressed and in_first + suppressed <= 1000, (in_first, suppressed)
        assert first_body != body
    finally:
        klog_test_gone()
        klog_off()


def test_klog_hung_task_one_mail():
    """A kthread in D state past hung_task_timeout_secs: one mail."""
    timeout = sysctl("hung_task_timeout_secs", 2)
    warnings = sysctl("hung_task_warnings", 10)
    klog_on("klog-window-ms", "1000", "klog-per-hour", "1")
    try:
        with Provoked("hung task"):
            klog_test("mode=hung")
            (m,) = RECOPEN.take(1, timeout=120)
            klog_test_gone()
        subject, body = report(m)
        assert re.fullmatch(r"%s %s: INFO: task ksmtp_klog_hung:\d+ blocked for more than "
                            r"\d+ seconds\." % (re.escape(host()), re.escape(RELEASE)),
                            subject), subject
        assert "ksmtp_klog_test: hanging on purpose" in body, body
        assert re.search(r"^task:ksmtp_klog_hung +state:D ", body, re.M), body
        assert "Call Trace:" in body, body
    finally:
        klog_test_gone()
        sysctl("hung_task_timeout_secs", timeout)
        sysctl("hung_task_warnings", warnings)
        klog_off()


def test_klog_failure_lines_in_dmesg():
    """Every mail that ends other than sent leaves one line: id, phase, the
    server's code and text (escaped), transient or not."""
    mark = kernel_log_since()[1]
    configure()
    p = send(b"x\n", to="nobody@example.net", check=False)
    assert p.returncode == 1, p
    line = wait_log(r"ksmtp: sent mail \d+ not sent", since=mark)
    assert re.search(r'ksmtp: sent mail \d+ not sent: phase RCPT, code 550, text '
                     r'"[^"]*<nobody@example\.net>: Recipient address rejected: User unknown", '
                     r'permanent: ', line), line
    # a queued mail that expires, its server down
    configure(port=PORT_DOWN, extra=("retry-max", "1", "coalesce-ms", "0"))
    mid = int(ctl("send", "subject", "to nowhere", "queue", stdin=b"x\n").stdout.split()[-1])
    line = wait_log(r"ksmtp: queued mail %d not sent" % mid, since=mark)
    assert re.search(r'ksmtp: queued mail %d not sent: phase connect, code 0, text "", '
                     r'transient: ' % mid, line), line
    # the server's text is not trusted: its control characters never reach
    # the log (the reply parser makes them '?'), the line stays one line
    rcpt_refused(2579, b"550 evil\x1b[2J\x07 text\r\n")
    out = subprocess.run(["dmesg"], capture_output=True).stdout
    (line,) = [x for x in out.split(b"\n") if b"evil" in x]
    assert re.search(rb'ksmtp: sent mail \d+ not sent: phase RCPT, code 550, text '
                     rb'"evil\?\[2J\? text", permanent: ', line), line
    assert b"\x1b" not in out and b"\x07" not in out


def test_klog_tracepoints_follow_a_delivery():
    tracing = "/sys/kernel/tracing"
    if not os.path.exists(os.path.join(tracing, "events")):
        subprocess.run(["mount", "-t", "tracefs", "nodev", tracing], check=True)
    ev = os.path.join(tracing, "events", "ksmtp")
    assert sorted(os.listdir(ev)) == ["enable", "filter", "ksmtp_queue_event",
                                      "ksmtp_session_end", "ksmtp_session_phase"], os.listdir(ev)

    def put(path, value):
        with open(os.path.join(tracing, path), "w") as f:
            f.write(value)

    put("trace", "")
    put("events/ksmtp/enable", "1")
    try:
        configure(extra=("coalesce-ms", "0"))
        mid = int(ctl("send", "subject", "traced", "queue", stdin=b"x\n").stdout.split()[-1])
        REC4.take(1, timeout=60)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            with open(os.path.join(tracing, "trace")) as f:
                trace = f.read()
            if re.search(r"ksmtp_queue_event: id=%d end sent" % mid, trace):
                break
            time.sleep(0.5)
    finally:
        put("events/ksmtp/enable", "0")
    assert re.search(r"ksmtp_queue_event: id=%d queued attempts=0 err=0" % mid, trace), trace
    assert re.search(r"ksmtp_queue_event: id=%d end sent attempts=1 err=0" % mid, trace), trace
    phases = iter(re.findall(r"ksmtp_session_phase: session=\S+ phase=(\S+)", trace))
    want = ["connect", "greeting", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "message"]
    assert all(p in phases for p in want), trace    # in this order
    assert re.search(r"ksmtp_session_end: session=\S+ err=0 phase=none code=\d+ transient=0",
                     trace), trace


def test_klog_oops_in_kthread_one_mail():
    """An oops in a kthread (the system survives, panic_on_oops off for it):
    one mail with its whole trace."""
    panic = sysctl("panic_on_oops", 0)
    klog_on("klog-window-ms", "3000", "klog-per-hour", "10")
    try:
        with Provoked("oops"):
            mark = kernel_log_since()[1]
            klog_test("mode=oops")
            wait_log(r"---\[ end trace [0-9a-f]+ \]---", since=mark)
        (m,) = RECOPEN.take(1, timeout=120)
        subject, body = report(m)
        assert subject == ("%s %s: BUG: kernel NULL pointer dereference, address: "
                           "0000000000000000" % (host(), RELEASE)), subject
        lines = body.split("\n")
        assert "ksmtp_klog_test: oopsing on purpose" in lines, body
        assert "#PF: supervisor instruction fetch in kernel mode" in lines, body
        assert any(re.match(r"Oops: 0010 \[#\d+\]", x) for x in lines), body
        assert any(re.search(r"Comm: ksmtp_klog_oops ", x) for x in lines), body
        assert "Call Trace:" in lines and any(x.startswith("---[ end trace ") for x in lines)
        time.sleep(5)
        assert RECOPEN.mails == [], "more than one mail for one oops: %r" % RECOPEN.mails
    finally:
        sysctl("panic_on_oops", panic)
        klog_test_gone()
        klog_off()
