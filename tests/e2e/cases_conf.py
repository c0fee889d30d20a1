# SPDX-License-Identifier: GPL-2.0
# The configuration file (ksmtpctl setconf / showconf, #11) and ksmtpctl's
# command-line habits: usage errors before any netlink socket, -V, JSON
# that is valid UTF-8 with recipients as arrays, -batch, bash completion.
# Read into test_e2e.py (its helpers: ctl, show, configure, raw_config,
# RawServer, silent_listener, REC4, ...).

CONF_DIR = "/etc/ksmtp"


def conf_file(text, mode=0o600, name="ksmtp.conf", d=None):
    """A configuration file (bytes or str) in a directory of its own."""
    d = d or tempfile.mkdtemp(prefix="ksmtp-conf.")
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode())
    os.chmod(path, mode)
    return path


def setconf(path, check=True, prefix=()):
    return ctl("setconf", path, check=check, prefix=prefix)


def showconf(prefix=()):
    return ctl("showconf", prefix=prefix).stdout.decode()


def reset_config():
    """Every key back to its default (an empty file replaces all)."""
    setconf(conf_file(""))


def pw_file(secret=PASSWORD, mode=0o600, newline=b"\n"):
    return conf_file(secret.encode() + newline, mode=mode, name="pw")


def in_netns(name):
    return ("ip", "netns", "exec", name)


FULL_CONF = """# a gateway's configuration
server = 127.0.0.1
port = %d
from = %s
rcpt = ops@example.net, oncall@example.net
domain = gw1.example.org

auth = plain
user = %s
password-file = %%s
auth-cleartext = on
   timeout-greeting=10000
timeout-command = 10000\r
timeout-final-dot = 20000
queue-max = 100
coalesce-ms = 0
""" % (PORT_AUTH4, FROM, USER)


def test_conf_setconf_applies_and_showconf_prints():
    reset_config()
    pw = pw_file()
    path = conf_file(FULL_CONF % pw)
    p = setconf(path)
    assert p.stdout == b"" and p.stderr == b"", p
    cfg = show()
    assert cfg["configured"] is True, cfg
    assert (cfg["server"], cfg["port"], cfg["from"], cfg["domain"], cfg["auth"],
            cfg["user"], cfg["password_set"], cfg["password_file"], cfg["auth_cleartext"]) == \
        ("127.0.0.1", PORT_AUTH4, FROM, "gw1.example.org", "plain", USER, True, pw, True), cfg
    assert cfg["rcpt"] == "ops@example.net, oncall@example.net", cfg
    assert cfg["recipients"] == ["ops@example.net", "oncall@example.net"], cfg
    assert cfg["timeouts_ms"] == {"connect": 60000, "greeting": 10000, "command": 10000,
                                  "data_block": 180000, "final_dot": 20000}, cfg
    assert cfg["queue"]["max"] == 100 and cfg["queue"]["coalesce_ms"] == 0, cfg
    out = showconf()
    assert out == (
        "server = 127.0.0.1\nport = %d\ntls = none\nfrom = %s\n"
        "rcpt = ops@example.net, oncall@example.net\ndomain = gw1.example.org\n"
        "helo-only = off\nauth = plain\nuser = %s\npassword-file = %s\n"
        "auth-cleartext = on\ntimeout-connect = 60000\ntimeout-greeting = 10000\n"
        "timeout-command = 10000\ntimeout-data-block = 180000\ntimeout-final-dot = 20000\n"
        "queue-max = 100\nqueue-bytes = 16777216\nretry-max = 10\nretry-age = 86400\n"
        "retry-base-ms = 30000\ncoalesce-ms = 0\nklog = off\nklog-level = 8\n"
        "klog-context = 8\nklog-window-ms = 5000\nklog-per-hour = 6\n"
        % (PORT_AUTH4, FROM, USER, pw)), out
    assert PASSWORD not in out
    # the password came from the file, its newline off: the server takes it
    p = ctl("send", "subject", "from setconf", stdin=b"configured from a file\n")
    assert p.stdout == b"sent\n", p
    (m,) = REC4.take()
    assert m["mech"] == "PLAIN" and m["rcpt"] == ["ops@example.net", "oncall@example.net"], m
    expect_message(m["content"], b"configured from a file\r\n", subject=b"from setconf",
                   to="ops@example.net, oncall@example.net")
    # the human form names the file, never the password
    human = ctl("show").stdout.decode()
    assert "password:   (set) from %s" % pw in human and PASSWORD not in human, human
    reset_config()


def test_conf_showconf_setconf_identity():
    """showconf > f; setconf f changes nothing: CONFIG_GET's attributes, as
    the kernel sends them, are the same, and so is showconf's output; for a
    configuration made with set, with TLS and every string, one from
    setconf, and the defaults."""
    pw = pw_file()
    ctl("set", "server", "::1", "port", str(PORT_AUTH6), "from", FROM, "rcpt", RCPT,
        "domain", "", "auth", "cram-md5", "user", USER, "password-file", pw,
        "tls", "starttls", "tls-name", TLS_NAME, "ca-file", os.path.join(CERTS, "ca.pem"),
        "helo-only", "off", "auth-cleartext", "off", "timeout-connect", "1234",
        "timeout-data-block", "4321", "queue-bytes", "65536", "retry-max", "3",
        "retry-age", "600", "retry-base-ms", "700", "coalesce-ms", "5")
    for what in ("set", "setconf", "defaults"):
        before_raw, before_conf, before_show = raw_config(), showconf(), show()
        if what == "defaults":
            assert before_show["configured"] is False, before_show
        f = conf_file(before_conf)
        setconf(f)
        assert raw_config() == before_raw, (what, before_conf, showconf())
        assert showconf() == before_conf and show() == before_show, what
        if what == "set":
            assert "password-file = %s\n" % pw in before_conf, before_conf
            assert "domain =\n" in before_conf and "tls = starttls\n" in before_conf, before_conf
            # again from the file itself: the same once more
            setconf(f)
            assert raw_config() == before_raw
        if what == "setconf":
            reset_config()
    # a password that came from no file cannot be printed back: a comment says so
    configure()
    out = showconf()
    assert "\n# password" in out and "password-file" not in out and PASSWORD not in out, out
    reset_config()


def test_conf_absent_keys_go_back_to_defaults():
    configure(extra=("port", "2600", "retry-max", "3", "helo-only", "on",
                     "timeout-connect", "1000"))
    cfg = show()
    assert cfg["port"] == 2600 and cfg["password_set"] and cfg["helo_only"], cfg
    setconf(conf_file("server = 127.0.0.1\nfrom = %s\n" % FROM))
    cfg = show()
    assert cfg["configured"] is True and cfg["server"] == "127.0.0.1", cfg
    assert cfg["port"] == 25 and cfg["queue"]["retry_max"] == 10, cfg
    assert cfg["helo_only"] is False and cfg["timeouts_ms"]["connect"] == 60000, cfg
    assert cfg["password_set"] is False and cfg["user"] == "" and cfg["auth"] == "none", cfg
    assert cfg["rcpt"] == "" and cfg["recipients"] == [] and cfg["domain"] == "", cfg
    reset_config()


BAD_CONFS = [
    # (file text, the line and key the error names, what it says)
    ("server = 127.0.0.1\nfrom = %s\ncolour = blue\n" % FROM, "3: colour:", "unknown key"),
    ("server = 127.0.0.1\nport = 25x\n", "2: port:", "not a number"),
    ("server = 127.0.0.1\ntls = maybe\n", "2: tls:", "not none, starttls or tls"),
    ("# c\nserver = 127.0.0.1\nport\n", "3:", "not a 'key = value' line"),
    ("server = 127.0.0.1\nserver = ::1\n", "2: server:", "given twice (first on line 1)"),
    ("password-file = pw\n", "1: password-file:", "not an absolute path"),
    ("password-env = KSMTP_PW\n", "1: password-env:", "not in a configuration file"),
    ("namespace = ../x\n", "1: namespace:", "not the name of a namespace"),
    # what the kernel refuses, named by its extended ack, mapped to the line
    ("server = 127.0.0.1\n\nfrom = gw@example.org\rRCPT TO:<x@y.z>\n", "3: from:",
     "kernel refused: "),
    ("server = 127.0.0.1\nfrom = a b@example.org\n", "2: from:", "kernel refused: "),
    ("server = 127.0.0.1\nport = 0\nfrom = %s\n" % FROM, "2: port:", "kernel refused: "),
    ("server = 127.0.0.1\nfrom = %s\ntimeout-connect = 5\n" % FROM, "3: timeout-connect:",
     "kernel refused: "),
    ("from = %s\nserver = 127.0.0.1\ntls = starttls\n" % FROM, "3: tls:",
     "kernel refused: TLS needs"),
    ("server = 127.0.0.1\nfrom = %s\nauth = plain\n" % FROM, "3: auth:", "kernel refused: "),
    ("server = bad host name\nfrom = %s\n" % FROM, "1: server:", "kernel refused: "),
]


def test_conf_bad_files_change_nothing():
    configure()
    before = raw_config()
    for text, where, what in BAD_CONFS:
        path = conf_file(text)
        p = setconf(path, check=False)
        err = p.stderr.decode()
        assert p.returncode == 1, (text, p.returncode, err)
        assert err.startswith("ksmtpctl: %s:%s " % (path, where)), (text, where, err)
        assert what in err, (text, what, err)
        assert raw_config() == before, (text, show())
    # a file that cannot be read, and a missing namespace: errors too
    p = setconf("/nonexistent/ksmtp.conf", check=False)
    assert p.returncode == 1 and b"No such file" in p.stderr, p
    path = conf_file("namespace = ksmtp-none\nserver = 127.0.0.1\nfrom = %s\n" % FROM)
    p = setconf(path, check=False)
    assert p.returncode == 1 and ("%s:1: namespace:" % path).encode() in p.stderr, p
    assert raw_config() == before
    assert REC4.mails == []


def test_conf_password_files_guarded():
    """A file holding a password must be mode 0600 (0400) and belong to root
    (or the caller): a configuration file with password =, and a password
    file; inline, the password works."""
    configure()
    before = raw_config()
    text = ("server = 127.0.0.1\nport = %d\nfrom = %s\nrcpt = %s\nauth = plain\nuser = %s\n"
            "auth-cleartext = on\npassword = %s\n" % (PORT_AUTH4, FROM, RCPT, USER, PASSWORD))
    for mode in (0o644, 0o640, 0o604, 0o660):
        path = conf_file(text, mode=mode)
        p = setconf(path, check=False)
        err = p.stderr.decode()
        assert p.returncode == 1 and "%s:8: password: refused" % path in err, (mode, err)
        assert "mode 0%o" % mode in err and PASSWORD not in err, err
        assert raw_config() == before
    path = conf_file(text)
    os.chown(path, 65534, 65534)
    p = setconf(path, check=False)
    assert p.returncode == 1 and b"belongs to uid 65534" in p.stderr, p.stderr
    # a password file: the same rules
    for mode, owner in ((0o644, 0), (0o600, 65534)):
        pw = pw_file(mode=mode)
        os.chown(pw, owner, owner)
        path = conf_file(text.replace("password = %s" % PASSWORD, "password-file = %s" % pw))
        p = setconf(path, check=False)
        assert p.returncode == 1 and ("%s:8: password-file: %s: refused" % (path, pw)).encode() \
            in p.stderr, p.stderr
        p = ctl("set", "password-file", pw, check=False)
        assert p.returncode == 1 and b"refused" in p.stderr, p.stderr
        assert raw_config() == before
    # mode 0600 (or 0400), root's: taken, and the mail authenticates
    setconf(conf_file(text, mode=0o400))
    cfg = show()
    assert cfg["password_set"] is True and cfg["password_file"] == "", cfg
    send(b"inline password\n")
    (m,) = REC4.take()
    assert m["mech"] == "PLAIN", m
    # set password-file keeps the (absolute) path, with CR LF off; and
    # password-env or stdin forget it
    d = tempfile.mkdtemp(prefix="ksmtp-pw.")
    with open(os.path.join(d, "pw"), "wb") as f:
        f.write(PASSWORD.encode() + b"\r\n")
    os.chmod(os.path.join(d, "pw"), 0o600)
    subprocess.run([CTL, "set", "password-file", "pw"], cwd=d, check=True)
    assert show()["password_file"] == os.path.join(d, "pw"), show()
    assert "password-file = %s\n" % os.path.join(d, "pw") in showconf()
    send(b"password file with CR LF\n")
    (m,) = REC4.take()
    assert m["mech"] == "PLAIN", m
    ctl("set", "password-env", "KSMTP_PW", env={"KSMTP_PW": PASSWORD})
    assert show()["password_file"] == "" and "password-file" not in showconf()
    reset_config()


def conf_dir_saved():
    """/etc/ksmtp (the guest's overlay) emptied for a test; its former
    files, to put back with conf_dir_restore()."""
    saved = {}
    if os.path.isdir(CONF_DIR):
        for n in os.listdir(CONF_DIR):
            p = os.path.join(CONF_DIR, n)
            with open(p, "rb") as f:
                saved[n] = (f.read(), os.stat(p).st_mode)
            os.unlink(p)
    os.makedirs(CONF_DIR, mode=0o755, exist_ok=True)
    return saved


def conf_dir_restore(saved):
    for n in os.listdir(CONF_DIR):
        os.unlink(os.path.join(CONF_DIR, n))
    for n, (data, mode) in saved.items():
        conf_file(data, mode=mode & 0o7777, name=n, d=CONF_DIR)


def test_conf_setconf_all_and_namespaces():
    """setconf -a: each /etc/ksmtp/*.conf in its namespace; one naming a
    missing namespace skipped (not an error), a bad one an error that does
    not stop the others; showconf in a namespace names it; ip netns exec NS
    setconf works."""
    reset_config()
    saved = conf_dir_saved()
    subprocess.run(["ip", "netns", "add", "ksmtp-c1"], check=True)
    try:
        conf_file("server = 127.0.0.1\nport = 2601\nfrom = main@example.org\n",
                  name="10-main.conf", d=CONF_DIR)
        conf_file("namespace = ksmtp-c1\nserver = ::1\nport = 2602\nfrom = c1@example.org\n",
                  name="20-c1.conf", d=CONF_DIR)
        conf_file("namespace = ksmtp-gone\nserver = 127.0.0.1\nfrom = gone@example.org\n",
                  name="30-gone.conf", d=CONF_DIR)
        conf_file("server = 127.0.0.1\nfrom = a b@example.org\n", name="40-bad.conf", d=CONF_DIR)
        conf_file("port = 1\n", name="not-a-conf-file", d=CONF_DIR)
        p = ctl("setconf", "-a", check=False)
        err = p.stderr.decode()
        assert p.returncode == 1, (p.returncode, err)
        assert "%s/30-gone.conf:1: namespace 'ksmtp-gone' does not exist" % CONF_DIR in err, err
        assert "skipped" in err and "%s/40-bad.conf:2: from: kernel refused" % CONF_DIR in err, err
        cfg = show()
        assert (cfg["server"], cfg["port"], cfg["from"]) == \
            ("127.0.0.1", 2601, "main@example.org"), cfg
        c1 = json.loads(ctl("show", "-j", prefix=in_netns("ksmtp-c1")).stdout)
        assert (c1["server"], c1["port"], c1["from"]) == ("::1", 2602, "c1@example.org"), c1
        # without the bad file: exit 0, the missing namespace only reported
        os.unlink(os.path.join(CONF_DIR, "40-bad.conf"))
        p = ctl("setconf", "-a")
        assert b"skipped" in p.stderr, p.stderr
        # showconf in the namespace names it; the file it prints, applied
        # from here, goes there; ip netns exec NS setconf too
        out = showconf(prefix=in_netns("ksmtp-c1"))
        assert out.startswith("namespace = ksmtp-c1\nserver = ::1\nport = 2602\n"), out
        assert not showconf().startswith("namespace"), showconf()
        setconf(conf_file(out.replace("port = 2602", "port = 2603")))
        c1 = json.loads(ctl("show", "-j", prefix=in_netns("ksmtp-c1")).stdout)
        assert c1["port"] == 2603 and show()["port"] == 2601, (c1, show())
        setconf(conf_file(out), prefix=in_netns("ksmtp-c1"))
        assert showconf(prefix=in_netns("ksmtp-c1")) == out
        setconf(conf_file("port = 2604\n"), prefix=in_netns("ksmtp-c1"))
        c1 = json.loads(ctl("show", "-j", prefix=in_netns("ksmtp-c1")).stdout)
        assert c1["port"] == 2604 and c1["configured"] is False and show()["port"] == 2601, c1
        # no file at all: nothing to do
        conf_dir_restore({})
        p = ctl("setconf", "-a")
        assert p.stdout == p.stderr == b"", p
    finally:
        subprocess.run(["ip", "netns", "del", "ksmtp-c1"], check=True)
        conf_dir_restore(saved)
    reset_config()


USAGE_ERRORS = [
    ("set",), ("set", "port"), ("set", "port", "x"), ("set", "colour", "blue"),
    ("set", "password", "x"), ("set", "namespace", "x"), ("set", "tls", "maybe"),
    ("set", "auth", "none", "helo-only", "yes"), ("set", "password-env", "KSMTP_UNSET_VAR"),
    ("bogus",), ("-x", "show"), ("--json",), ("show", "extra"), ("stats", "-x"),
    ("queue", "flush", "now"), ("monitor", "x"), ("send", "priority", "urgent"),
    ("send", "colour", "blue"), ("send", "subject"), ("setconf",), ("setconf", "a", "b"),
    ("showconf", "-j"), ("help", "bogus"), ("-b",), ("-b", "/dev/null", "show"),
]


def netlink_sockets(args, stdin=b""):
    """(exit status, how many AF_NETLINK sockets ksmtpctl opened) under strace."""
    log = tempfile.mktemp(prefix="ksmtp-strace.")
    p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=socket", "-o", log, CTL] +
                       list(args), input=stdin, capture_output=True, timeout=60,
                       env={k: v for k, v in os.environ.items() if k != "KSMTP_UNSET_VAR"})
    with open(log) as f:
        trace = f.read()
    os.unlink(log)
    return p, trace.count("AF_NETLINK")


def test_conf_usage_errors_exit_2_before_any_netlink_socket():
    configure()
    before = raw_config()
    p, n = netlink_sockets(("show",))
    assert p.returncode == 0 and n >= 1, (p, n)    # the method sees a socket
    for args in USAGE_ERRORS:
        p, n = netlink_sockets(args)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert n == 0, (args, "opened %d netlink sockets" % n)
        assert b"ksmtpctl" in p.stderr and p.stdout == b"", (args, p.stdout, p.stderr)
    # a runtime failure is 1: a refused value, a file not there
    p = ctl("set", "port", "0", check=False)
    assert p.returncode == 1 and b"kernel refused" in p.stderr, p
    p = ctl("send", "body-file", "/nonexistent", check=False)
    assert p.returncode == 1, p
    assert raw_config() == before


def test_conf_version_and_help():
    with open(os.path.join(REPO, "VERSION")) as f:
        version = f.read().strip()
    for opt in ("-V", "--version"):
        p = ctl(opt)
        assert p.stdout.decode() == "ksmtpctl %s\n" % version, p.stdout
    for args in (("-h",), ("--help",), ("help",)):
        p = ctl(*args)
        assert b"setconf" in p.stdout and b"--version" in p.stdout, p.stdout
    assert ctl("help", "setconf").stdout.startswith(b"usage: ksmtpctl setconf FILE")
    assert ctl("setconf", "--help").stdout.startswith(b"usage: ksmtpctl setconf FILE")
    p = ctl(check=False)
    assert p.returncode == 2 and b"usage:" in p.stderr, p


def utf8_json(out):
    """Parse ksmtpctl's JSON: UTF-8 as it is, nothing replaced on the way."""
    return json.loads(out.decode("utf-8", errors="strict"))


def test_conf_json_valid_utf8_from_any_server_text():
    """A server's reply of any octets (invalid UTF-8, control characters)
    and a subject of invalid UTF-8: -j's output is valid UTF-8 JSON."""
    reply = b"550 5.1.1 \xff\xfe bad \xc3\x28 \xe2\x82 \x01\x1b[31m red \xed\xa0\x80 end\r\n"
    srv = RawServer(PORT_RAW, b"250-raw.example\r\n250 8BITMIME\r\n", {"RCPT": reply})
    configure(port=PORT_RAW, auth="none", user="")
    p = ctl("-j", "send", "subject", "bad \xe9", stdin=b"x\n", check=False)
    srv.join(10)
    r = utf8_json(p.stdout)
    assert p.returncode == 1 and r["ok"] is False and r["phase"] == "RCPT", r
    assert r["code"] == 550 and r["text"].startswith("5.1.1 ") and r["text"].endswith(" end"), r
    assert "bad" in r["text"] and "red" in r["text"], r
    # the last failure, through stats -j, the same
    s = utf8_json(ctl("stats", "--json").stdout)
    assert s["last_error"]["code"] == 550, s
    # subjects of invalid UTF-8 in queue -j and monitor -j, recipients as arrays
    silent = silent_listener(2536, 8)
    mon = subprocess.Popen([CTL, "-j", "monitor"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(mon.stdout), daemon=True)
    try:
        mon.stderr.readline()
        reader.start()
        configure(port=2536, extra=("coalesce-ms", "600000"))
        subject = b"fan \xff\xc3 \x80\x80 \xf0\x9f\x94\xa5 end"
        p = subprocess.run([CTL, "send", "queue", "subject", subject, "to",
                            "a@example.net, b@example.net"], input=b"x\n",
                           capture_output=True, timeout=60, check=True)
        mid = int(p.stdout.split()[-1])
        q = utf8_json(ctl("queue", "-j").stdout)
        (e,) = [e for e in q if e["id"] == mid]
        assert e["subject"] == "fan \ufffd\ufffd \ufffd\ufffd \U0001f525 end", e
        assert e["rcpt"] == "a@example.net, b@example.net", e
        assert e["recipients"] == ["a@example.net", "b@example.net"], e
        q2 = utf8_json(ctl("-j", "queue").stdout)     # the global -j: the same list
        assert [(e["id"], e["subject"]) for e in q2] == [(e["id"], e["subject"]) for e in q]
        ctl("queue", "flush")
        end = time.time() + 30
        while time.time() < end and not any(b'"dropped"' in line for line in list(lines)):
            time.sleep(0.1)
        events = [utf8_json(line) for line in list(lines)]
        ours = [ev for ev in events if ev["id"] == mid]
        assert [ev["event"] for ev in ours] == ["queued", "dropped"], events
        assert all(ev["subject"] == e["subject"] and ev["recipients"] == e["recipients"]
                   for ev in ours), ours
    finally:
        mon.kill()
        mon.wait()
        silent.close()
    cfg = utf8_json(ctl("-j", "show").stdout)
    assert cfg["recipients"] == [RCPT], cfg
    ctl("set", "coalesce-ms", "2000")


def test_conf_batch_one_socket():
    """-batch: the lines' commands over one netlink socket; the first
    failure ends it, naming its line."""
    reset_config()
    d = tempfile.mkdtemp(prefix="ksmtp-batch.")
    body = os.path.join(d, "body")
    with open(body, "wb") as f:
        f.write(b"sent from a batch\n")
    batch = os.path.join(d, "batch")
    with open(batch, "w") as f:
        f.write("# configure, then send twice\n"
                "set server 127.0.0.1 port %d from %s rcpt %s auth none\n"
                "set domain \"gw1.example.org\" rcpt '%s, b@example.net'  # quoted\n"
                "\n"
                "show -j\n"
                "send subject 'batch one' body-file %s\n"
                "send -j subject \"batch two\" to other@example.net body-file %s\n"
                "stats\n" % (PORT_OPEN, FROM, RCPT, RCPT, body, body))
    p, n = netlink_sockets(("-b", batch))
    assert p.returncode == 0, p.stderr
    assert n == 1, "%d netlink sockets" % n
    lines = p.stdout.decode().splitlines()
    cfg = json.loads(lines[0])
    assert cfg["domain"] == "gw1.example.org" and cfg["port"] == PORT_OPEN, cfg
    assert cfg["recipients"] == [RCPT, "b@example.net"], cfg
    assert lines[1] == "sent" and json.loads(lines[2])["ok"] is True, lines
    assert lines[3].startswith("sent:"), lines
    a, b = RECOPEN.take(2)
    assert b"Subject: batch one\r\n" in a["content"] and a["rcpt"] == [RCPT, "b@example.net"], a
    assert b["rcpt"] == ["other@example.net"], b
    # stdin, and a failure: the lines after it do not run
    p = ctl("-batch", "-", stdin=b"set port 2605\nset port 0\nset port 2606\n", check=False)
    assert p.returncode == 1 and p.stderr.startswith(b"ksmtpctl: -:2: kernel refused"), p
    assert show()["port"] == 2605
    p = ctl("-b", "-", stdin=b"show\nsend subject x\n", check=False)
    assert p.returncode == 2 and b"-:2: send: in a batch" in p.stderr, p
    reset_config()


def test_conf_bash_completion():
    script = r"""
source /usr/share/bash-completion/bash_completion
source %s/userspace/ksmtpctl.bash-completion
comp() {
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
    _ksmtpctl ksmtpctl "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
    echo "${COMPREPLY[*]}"
}
cd "$1"
comp ksmtpctl ''
comp ksmtpctl -j sh
comp ksmtpctl set t
comp ksmtpctl set tls ''
comp ksmtpctl set server x auth ''
comp ksmtpctl send priority ''
comp ksmtpctl setconf ''
comp ksmtpctl --
""" % REPO
    d = tempfile.mkdtemp(prefix="ksmtp-comp.")
    conf_file("", name="gw.conf", d=d)
    p = subprocess.run(["bash", "-c", script, "bash", d], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    got = p.stdout.splitlines()
    assert got == [
        "set config setconf showconf show send sendmail pstore stats queue monitor help",
        "showconf show",
        "tls tls-name timeout-connect timeout-greeting timeout-command timeout-data-block "
        "timeout-final-dot",
        "none starttls tls",
        "none plain login cram-md5",
        "low normal high",
        "-a gw.conf",
        "--json --version --help",
    ], got
