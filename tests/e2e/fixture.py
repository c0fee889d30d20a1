# SPDX-License-Identifier: GPL-2.0
"""The SMTP server the tests and the demo deliver to: aiosmtpd, with an
authenticator for one user (PLAIN, LOGIN and CRAM-MD5) that records the
mechanism used, and a record of every mail as the server received it,
with the TLS cipher it came over. With TLS: STARTTLS required before
AUTH and MAIL, or implicit TLS; make_certs() makes a CA and a server
certificate with openssl.

Standalone: fixture.py HOST PORT USER PASSWORD_FILE SPOOL_DIR [starttls CERT KEY]
"""
import hmac
import os
import secrets
import ssl
import subprocess
import sys
import threading
import logging
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, AuthResult, LoginPassword

# aiosmtpd itself logs a deprecation of its own Session.login_data on each AUTH
logging.getLogger("mail.log").setLevel(logging.ERROR)


class Recorder:
    """aiosmtpd handler: records each mail and the AUTH mechanism used."""

    def __init__(self, user=None, password=None, spool=None):
        self.mails = []
        self.lock = threading.Lock()
        self.user = user
        self.password = password
        self.spool = spool
        self.flaked = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if address.startswith("flaky@") and address not in self.flaked:
            self.flaked.add(address)
            return "450 4.2.0 <%s>: mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        cipher = server.transport.get_extra_info("cipher") if server.transport else None
        with self.lock:
            self.mails.append({
                "from": envelope.mail_from,
                "rcpt": list(envelope.rcpt_tos),
                "mail_options": list(envelope.mail_options),
                "content": envelope.original_content,
                "mech": getattr(session, "ksmtp_mech", None),
                "cipher": cipher,
                "helo": session.host_name,
            })
            if self.spool:
                name = os.path.join(self.spool, "%03d.eml" % len(os.listdir(self.spool)))
                with open(name, "wb") as f:
                    f.write(envelope.original_content)
                print("mailserver: %s from <%s> to %s, %s, AUTH %s, %d octets -> %s" % (
                    session.peer[0], envelope.mail_from, envelope.rcpt_tos,
                    "over %s %s" % (cipher[1], cipher[0]) if cipher else "in cleartext",
                    getattr(session, "ksmtp_mech", None), len(envelope.original_content),
                    name), flush=True)
        return "250 2.0.0 Ok: queued"

    async def auth_CRAM__MD5(self, server, args):   # offered as CRAM-MD5
        challenge = ("<%s@ksmtp.test>" % secrets.token_hex(8)).encode()
        resp = await server.challenge_auth(challenge)
        if resp is MISSING:
            return AuthResult(success=False, handled=False)
        user, _, digest = resp.decode().partition(" ")
        want = hmac.new(self.password.encode(), challenge, "md5").hexdigest()
        ok = user == self.user and hmac.compare_digest(digest, want)
        if ok:
            server.session.ksmtp_mech = "CRAM-MD5"
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(user.encode(), b""))

    def take(self, n=1, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if len(self.mails) >= n:
                    got, self.mails = self.mails[:n], self.mails[n:]
                    return got
            time.sleep(0.05)
        raise AssertionError("server received %d mail(s), wanted %d" % (len(self.mails), n))


    def authenticator(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user.encode()
              and auth_data.password == self.password.encode())
        if ok:
            session.ksmtp_mech = mechanism
        # handled=False: aiosmtpd itself answers 535 to a failure
        return AuthResult(success=ok, handled=False)


def make_certs(d, name="mail.ksmtp.test"):
    """A CA and a certificate for @name signed by it, and a second CA that
    signed nothing of ours, in directory @d (openssl, EC P-256)."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)
    for ca in ("ca", "otherca"):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", os.path.join(d, ca + ".key"), "-out", os.path.join(d, ca + ".pem"),
            "-days", "2", "-subj", "/CN=ksmtp test %s" % ca)
    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n" % name)
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", os.path.join(d, "server.key"), "-out", os.path.join(d, "server.csr"),
        "-subj", "/CN=%s" % name)
    run("x509", "-req", "-in", os.path.join(d, "server.csr"), "-CA", os.path.join(d, "ca.pem"),
        "-CAkey", os.path.join(d, "ca.key"), "-CAcreateserial", "-days", "2",
        "-extfile", ext, "-out", os.path.join(d, "server.pem"))
    return os.path.join(d, "server.pem"), os.path.join(d, "server.key")


def start_server(host, port, user=None, password=None, spool=None, tls=None, cert=None,
                 tls12_ciphers=None):
    """Listen on host:port; with a user, AUTH PLAIN, LOGIN, CRAM-MD5 for it.
    tls: None, "starttls" (required before AUTH and MAIL) or "implicit";
    cert: (certificate, key) files; tls12_ciphers: TLS 1.2 only, with
    these (OpenSSL names)."""
    rec = Recorder(user, password, spool)
    kw = dict(hostname=host, port=port, decode_data=False)
    if user:
        # aiosmtpd knows TLS only from STARTTLS: on an implicit-TLS
        # listener it would refuse AUTH as if in cleartext.
        kw.update(authenticator=rec.authenticator, auth_require_tls=tls == "starttls")
    if tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*cert)
        if tls12_ciphers:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers(tls12_ciphers)
        if tls == "starttls":
            kw.update(tls_context=ctx, require_starttls=True)
        else:
            kw.update(ssl_context=ctx)
    ctl = Controller(rec, **kw)
    ctl.start()
    return ctl, rec


if __name__ == "__main__":
    host, port, user, pwfile, spool = sys.argv[1:6]
    tls = sys.argv[6] if len(sys.argv) > 6 else None
    with open(pwfile) as f:
        password = f.read().strip()
    os.makedirs(spool, exist_ok=True)
    ctl, _ = start_server(host, int(port), user, password, spool, tls=tls,
                          cert=tuple(sys.argv[7:9]) if tls else None)
    print("mailserver: aiosmtpd listening on %s port %s%s" % (
        host, port, ", STARTTLS required" if tls == "starttls" else ""), flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        ctl.stop()
