# SPDX-License-Identifier: GPL-2.0
"""A second, independent SMTP server for the end-to-end tests: Debian's
Postfix, run inside the guest from its own configuration directory, with
STARTTLS required (smtpd_tls_security_level = encrypt), AUTH only over
TLS (Cyrus SASL, sasldb, PLAIN and LOGIN), and delivery to a Maildir that
the tests read. Nothing of the host's /etc/postfix is used.
"""
import glob
import os
import pwd
import socket
import subprocess
import time

MASTER_CF = """\
{port}      inet  n       -       n       -       -       smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
showq     unix  n       -       n       -       -       showq
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
myhostname = {name}
mydomain = ksmtp.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 192.0.2.1/32
smtpd_tls_cert_file = {d}/server.pem
smtpd_tls_key_file = {d}/server.key
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_tls_received_header = yes
smtpd_tls_loglevel = 1
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_local_domain = {name}
cyrus_sasl_config_path = {d}/sasl
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
virtual_mailbox_domains = example.net
virtual_mailbox_base = {d}/vmail
virtual_mailbox_maps = static:inbox/
virtual_minimum_uid = 100
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
"""


class Postfix:
    """Postfix listening on 127.0.0.1:port; mails land in self.maildir."""

    def __init__(self, d, port, user, password, name, cert, key):
        self.d = d
        self.maildir = os.path.join(d, "vmail", "inbox")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o755)
        nobody = pwd.getpwnam("nobody")
        for sub in ("etc", "spool", "data", "sasl", "vmail"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        os.chown(os.path.join(d, "vmail"), nobody.pw_uid, nobody.pw_gid)
        os.chown(os.path.join(d, "data"), pwd.getpwnam("postfix").pw_uid, -1)
        for src, dst in ((cert, "server.pem"), (key, "server.key")):
            with open(src, "rb") as f, open(os.path.join(d, dst), "wb") as g:
                g.write(f.read())
        os.chmod(os.path.join(d, "server.key"), 0o600)
        etc = os.path.join(d, "etc")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=d, name=name, uid=nobody.pw_uid, gid=nobody.pw_gid))
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=port))
        # Cyrus reads smtpd.conf from cyrus_sasl_config_path but looks up
        # users in its default /etc/sasldb2 all the same: in the guest,
        # whose /etc is a throwaway overlay, that is where they go.
        sasldb = "/etc/sasldb2"
        with open(os.path.join(d, "sasl", "smtpd.conf"), "w") as f:
            f.write("pwcheck_method: auxprop\nauxprop_plugin: sasldb\n"
                    "mech_list: PLAIN LOGIN\n")
        subprocess.run(["saslpasswd2", "-c", "-p", "-f", sasldb, "-u", name, user],
                       input=password.encode(), check=True)
        os.chown(sasldb, 0, pwd.getpwnam("postfix").pw_gid)
        os.chmod(sasldb, 0o640)
        # Privileged daemons (virtual) read another configuration directory
        # only when the default one names it: again the guest's own /etc.
        with open("/etc/postfix/main.cf", "w") as f:
            f.write("alternate_config_directories = %s\nmyhostname = %s\n" % (etc, name))
        # And a host name: the guest's is "(none)", which Postfix refuses.
        socket.sethostname(name)
        self.etc = etc
        p = subprocess.run(["postfix", "-c", etc, "start"], capture_output=True, text=True)
        if p.returncode:
            raise AssertionError("postfix start: %s%s%s" % (p.stdout, p.stderr, self.log()))
        end = time.time() + 30
        while time.time() < end and not self._listening(port):
            time.sleep(0.2)

    @staticmethod
    def _listening(port):
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def mails(self, n, timeout=30):
        """The first n mails delivered to the Maildir, as bytes."""
        end = time.time() + timeout
        while time.time() < end:
            files = sorted(glob.glob(os.path.join(self.maildir, "new", "*")))
            if len(files) >= n:
                out = []
                for name in files[:n]:
                    with open(name, "rb") as f:
                        out.append(f.read())
                return out
            time.sleep(0.2)
        raise AssertionError("postfix delivered %d mail(s), wanted %d; log:\n%s" % (
            len(glob.glob(os.path.join(self.maildir, "new", "*"))), n, self.log()[-3000:]))

    def log(self):
        try:
            with open(os.path.join(self.d, "maillog")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True)
