# SPDX-License-Identifier: GPL-2.0
# The body path (#13): ksmtpctl reads the body straight into the netlink
# request in parts of 60000 octets (the sizes around the parts, from a file
# and from a pipe), the kernel's one scan decides the transfer encoding and
# the SIZE together, the encoder copies runs of octets a word at a time.
# Exact bytes on the wire, and SIZE= exactly the octets the server got.
# Read into test_e2e.py (its helpers: ctl, send, configure, expect_message,
# crlf, REC4, ...).
import quopri


def body_file(data):
    f = tempfile.NamedTemporaryFile(prefix="ksmtp-body.", delete=False)
    f.write(data)
    f.close()
    return f.name


def configure_slow_server():
    """configure(), with time for a 1 MiB body to be taken in by aiosmtpd
    on the debug kernel of a loaded host (20 s was seen to be too short)."""
    configure()
    ctl("set", "timeout-final-dot", "100000")


def size_param(m):
    """The SIZE= of MAIL FROM, as an int (None without one)."""
    for o in m["mail_options"]:
        if o.upper().startswith("SIZE="):
            return int(o[5:])
    return None


def test_body_parts_from_file_and_pipe_exact():
    """Bodies around the 60000-octet parts ksmtpctl sends, from a file and
    from a pipe (stdin), arrive whole, and SIZE= is what the server got."""
    configure_slow_server()
    for n in (0, 1, 59999, 60000, 60001, 120000, 120001, 1 << 20):
        # lines of 70 octets, some starting with a dot, CR LF, bare CR;
        # cut anywhere (no final line break, or a CR without its LF)
        unit = b".dot line\n" + b"y" * 69 + b"\n" + b"\r\n..x\r"
        body = (unit * (n // len(unit) + 1))[:n]
        for how in ("file", "pipe"):
            if how == "file":
                path = body_file(body)
                try:
                    ctl("send", "subject", "Test mail", "body-file", path)
                finally:
                    os.unlink(path)
            else:
                send(body)
            (m,) = REC4.take(timeout=60)
            expect_message(m["content"], crlf(body))
            assert size_param(m) == len(m["content"]), (n, how, size_param(m),
                                                         len(m["content"]))


def test_body_over_limit_from_file_refused():
    configure()
    path = body_file(b"a\n" * ((1 << 19) + 1))
    try:
        p = ctl("send", "body-file", path, check=False)
    finally:
        os.unlink(path)
    err = p.stderr.decode()
    assert p.returncode == 1 and "larger than the limit of 1 MiB" in err, err
    assert REC4.mails == []


def test_body_8bit_sent_as_8bitmime_exact_size():
    """UTF-8 text to a server that offers 8BITMIME: 8bit, BODY=8BITMIME, the
    octets as they are (bare CR, bare LF, dots), SIZE= exact."""
    configure()
    body = ("Grüße aus Köln\r\n.punkt\rzwei\n..\nÄrger über Öl — ✓\n" * 3000).encode()
    send(body)
    (m,) = REC4.take(timeout=60)
    opts = " ".join(m["mail_options"]).upper()
    assert "BODY=8BITMIME" in opts, m["mail_options"]
    expect_message(m["content"], crlf(body), cte=b"8bit")
    assert size_param(m) == len(m["content"]), (size_param(m), len(m["content"]))


def test_body_long_line_and_nul_quoted_printable_exact_size():
    """A line of 2000 octets, and a NUL: quoted-printable (lines of at most
    76 octets), decoding to the body; SIZE= exact."""
    configure()
    for body in (b"y" * 2000 + b"\n.dot\n" + b"x" * 78 + b"\n",
                 b"a NUL \x00 here\n. and = and trailing space \n",
                 b"z" * 998 + b"\n" + b"w" * 999):
        send(body)
        (m,) = REC4.take(timeout=60)
        content = m["content"]
        hdr_end = content.index(b"\r\n\r\n") + 4
        assert b"Content-Transfer-Encoding: quoted-printable\r\n" in content[:hdr_end], content[:hdr_end]
        lines = content[hdr_end:].split(b"\r\n")
        assert all(len(x) <= 76 for x in lines), max(len(x) for x in lines)
        assert quopri.decodestring(content[hdr_end:]) == crlf(body)
        assert size_param(m) == len(content), (size_param(m), len(content))


def test_body_998_octet_lines_stay_7bit():
    """Lines of exactly 998 octets, at every alignment, stay 7bit."""
    configure()
    body = b"".join(b"." * k + b"q" * (998 - k) + b"\n" for k in range(9))
    send(body)
    (m,) = REC4.take(timeout=60)
    expect_message(m["content"], crlf(body))
    assert size_param(m) == len(m["content"])


def test_batch_sends_reuse_one_request_exact():
    """ksmtpctl -batch: one request message serves every send; each mail,
    a large one between small and empty ones, arrives as it was."""
    configure_slow_server()
    bodies = [b"first\n.dot\n", b"L" * 70 + b"\n" + (b"m" * 77 + b"\n") * 13000,
              b"", b"after the large one\r\nno final break"]
    paths = [body_file(b) for b in bodies]
    try:
        batch = "".join("send subject 'batch %d' body-file %s\n" % (i, p)
                        for i, p in enumerate(paths))
        ctl("-batch", "-", stdin=batch.encode())
    finally:
        for p in paths:
            os.unlink(p)
    got = REC4.take(n=len(bodies), timeout=60)
    for i, (m, body) in enumerate(zip(got, bodies)):
        expect_message(m["content"], crlf(body), subject=b"batch %d" % i)
        assert size_param(m) == len(m["content"]), (i, size_param(m), len(m["content"]))
