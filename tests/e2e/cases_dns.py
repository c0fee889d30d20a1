# SPDX-License-Identifier: GPL-2.0
"""The server by name (read into test_e2e.py, whose helpers these cases use).

A small DNS server on the guest's loopback, dnsmasq (package dnsmasq-base,
run here in the foreground, no service), serves DNS_NAME with two
addresses: AAAA ::1, where nothing listens on the port, and A 127.0.0.1,
where aiosmtpd does. The guest's /etc/resolv.conf (the tmpfs overlay's)
points to it, and keyutils' /etc/request-key.conf hands the kernel's
dns_resolver keys to /sbin/key.dns_resolver, so the kernel's upcall asks
that server. The server name goes in over netlink as KSMTP_A_CFG_SERVER_NAME
with the kernel's ynl CLI (ksmtpctl is not needed for it).
"""
import errno

DNS_NAME = "relay.ksmtp.test"       # AAAA ::1 (refused), A 127.0.0.1 (aiosmtpd)
DNS_GONE = "nowhere.ksmtp.test"     # no such name (the server answers NXDOMAIN)
DNSMASQ_LOG = "/run/ksmtp-dnsmasq.log"
KEY_DNS_CONF = "/etc/keyutils/key.dns_resolver.conf"
NO_RESOLVER = "this kernel has no DNS resolver"


class DnsServer:
    """dnsmasq on 127.0.0.1:53 for the zone ksmtp.test, the resolver of the
    guest while it runs (resolv.conf restored after)."""

    def __enter__(self):
        with open("/etc/resolv.conf") as f:
            self.saved = f.read()
        with open("/etc/resolv.conf", "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
        # the time to live key.dns_resolver gives an address it got from
        # getaddrinfo() (5 s unless set): long enough to see the cache
        # at work under TCG
        with open(KEY_DNS_CONF, "w") as f:
            f.write("default_ttl = 60\n")
        if os.path.exists(DNSMASQ_LOG):
            os.unlink(DNSMASQ_LOG)
        self.proc = subprocess.Popen(
            ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--no-poll", "--listen-address=127.0.0.1", "--bind-interfaces",
             "--port=53", "--user=root", "--pid-file=", "--local=/ksmtp.test/",
             "--host-record=%s,::1,127.0.0.1" % DNS_NAME,
             "--log-queries", "--log-facility=" + DNSMASQ_LOG],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.time() + 30
        while True:
            p = subprocess.run(["getent", "ahosts", DNS_NAME], capture_output=True,
                               text=True, timeout=30)
            if p.returncode == 0:
                break
            assert self.proc.poll() is None, "dnsmasq: %s" % self.proc.stderr.read()
            assert time.time() < end, "dnsmasq does not answer"
            time.sleep(0.2)
        # getaddrinfo()'s order (RFC 6724: ::1 before 127.0.0.1) is the
        # one key.dns_resolver answers: the refused address comes first
        order = [line.split()[0] for line in p.stdout.splitlines()]
        assert order[0] == "::1" and "127.0.0.1" in order, p.stdout
        return self

    def queries(self, name=None):
        """The queries (for @name) that reached the server so far."""
        with open(DNSMASQ_LOG) as f:
            return [line for line in f if "query[" in line and
                    (name is None or " %s from " % name in line)]

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        with open("/etc/resolv.conf", "w") as f:
            f.write(self.saved)
        os.unlink(KEY_DNS_CONF)


def ynl_argv(*args):
    """The kernel's ynl CLI on our spec, as test_e2e.py's ynl() runs it."""
    with open(YNL_SPEC) as f:
        proto = re.search(r"^protocol: *([\w-]+)", f.read(), re.M).group(1)
    schema = os.path.join(os.path.dirname(YNL_CLI), "..", "..", "..", "Documentation",
                          "netlink", proto + ".yaml")
    return [sys.executable, YNL_CLI, "--spec", YNL_SPEC, "--schema", schema,
            "--output-json"] + list(args)


def tcp_counters():
    """ActiveOpens and AttemptFails of this namespace's TCP (/proc/net/snmp)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    tcp = dict(zip(rows[0][1:], (int(v) for v in rows[1][1:])))
    return tcp["ActiveOpens"], tcp["AttemptFails"]


def config_get():
    return json.loads(ynl("--do", "config-get").stdout)["config"]


def config_set(cfg, check=True):
    return ynl("--do", "config-set", "--json", json.dumps({"config": cfg}), check=check)


def refusal(p):
    """(the kernel's reason, the attribute) of a refused ynl request."""
    out = p.stdout + p.stderr
    assert p.returncode == 1 and "Netlink error" in out, out
    msg = re.search(r"'msg': (['\"])(.*?)\1", out)
    attr = re.search(r"'bad-attr': '([^']*)'", out)
    return msg and msg.group(2), attr and attr.group(1)


def kernel_resolves():
    """Has the guest's kernel the DNS resolver (CONFIG_DNS_RESOLVER)? Without
    it, host names are refused when set, saying so (and this is checked)."""
    p = config_set({"server-name": DNS_NAME}, check=False)
    if p.returncode == 0:
        return True
    why, attr = refusal(p)
    assert why and NO_RESOLVER in why and attr == ".config.server-name", (why, attr)
    print("# this kernel has no CONFIG_DNS_RESOLVER: host names refused (%s)" % why,
          flush=True)
    return False


def send_json(body, to=None):
    args = ["send", "subject", "Test mail", "-j"] + (["to", to] if to else [])
    p = ctl(*args, stdin=body, check=False)
    return p.returncode, json.loads(p.stdout)


def test_dns_name_first_address_refused_second_delivers():
    """The name's IPv6 address refuses the connection, its IPv4 address takes
    the mail: the exact bytes arrive, both addresses were tried in order, the
    name went to the DNS server, and config-get reports the name."""
    configure()
    try:
        with DnsServer() as dns:
            if not kernel_resolves():
                return
            cfg = config_get()
            assert cfg.get("server-name") == DNS_NAME and "server-addr" not in cfg, cfg
            assert cfg["configured"] == 1 and cfg["password-set"] == 1, cfg
            opens, fails = tcp_counters()
            asked = len(dns.queries(DNS_NAME))
            body = b"Delivered to the second address of a name.\n"
            send(body)
            (m,) = REC4.take()
            assert m["from"] == FROM and m["rcpt"] == [RCPT] and m["mech"] == "PLAIN", m
            expect_message(m["content"], crlf(body))
            assert REC6.mails == [], REC6.mails
            # one connection refused ([::1], nothing listens on the port),
            # then one that connected (127.0.0.1): nothing else in between
            opens2, fails2 = tcp_counters()
            assert (opens2 - opens, fails2 - fails) == (2, 1), (opens, fails, opens2, fails2)
            assert len(dns.queries(DNS_NAME)) > asked, \
                "the kernel's upcall did not ask the DNS server"
            # each session asks anew (ksmtp's key is invalidated once
            # read, whatever its time to live): a relay whose address
            # changed is found at the next mail
            n = len(dns.queries(DNS_NAME))
            send(b"again\n")
            REC4.take()
            assert len(dns.queries(DNS_NAME)) > n, dns.queries(DNS_NAME)
    finally:
        configure()


def test_dns_name_not_resolving_fails_transient():
    """A name that does not resolve fails the connect phase, transiently,
    with the name and the reason; nothing is sent anywhere."""
    configure()
    try:
        with DnsServer() as dns:
            if not kernel_resolves():
                return
            name = "n%s.%s" % (secrets.token_hex(4), DNS_GONE)   # never cached
            config_set({"server-name": name})
            rc, r = send_json(b"x\n")
            assert rc == 1 and r["ok"] is False and r["phase"] == "connect", r
            assert r["transient"] is True and r["code"] == 0, r
            assert r["reason"].startswith("cannot resolve %s: no address" % name), r
            assert r["errno"] == errno.ENODATA, r
            assert dns.queries(name), "the kernel's upcall did not ask the DNS server"
            stats = json.loads(ctl("stats", "-j").stdout)
            assert "cannot resolve" in json.dumps(stats.get("last_error")), stats
            all_servers_empty()
    finally:
        configure()


def test_dns_address_literals_need_no_resolver():
    """An address literal as the server name connects at once (no upcall),
    IPv4 and bracketed IPv6; setting an address clears the name."""
    configure()
    try:
        with DnsServer() as dns:
            literals = ("127.0.0.1", "[::1]", "::1")
            for name, port, rec in (("127.0.0.1", PORT_AUTH4, REC4),
                                    ("[::1]", PORT_AUTH6, REC6), ("::1", PORT_AUTH6, REC6)):
                config_set({"server-name": name, "port": port})
                cfg = config_get()
                assert cfg.get("server-name") == name and "server-addr" not in cfg, cfg
                body = ("to %s\n" % name).encode()
                send(body)
                (m,) = rec.take()
                expect_message(m["content"], crlf(body))
            # (only the literals count: the guest's other lookups, and the
            # upcall's for earlier cases' names, may reach the server too)
            asked = [q for lit in literals for q in dns.queries(lit)]
            assert not asked, "a literal went to the DNS server: %r" % asked
        # an address (ksmtpctl's, or server-addr: ynl takes binary as hex)
        # clears the name, and back
        config_set({"server-addr": "7f000001", "port": PORT_AUTH4})
        cfg = config_get()
        assert cfg.get("server-addr") == "127.0.0.1" and "server-name" not in cfg, cfg
        p = config_set({"server-addr": "7f000001", "server-name": "127.0.0.1"}, check=False)
        why, attr = refusal(p)
        assert "both" in why and attr == ".config.server-name", (why, attr)
        assert config_get() == cfg
        # an empty name clears the server: no longer configured
        config_set({"server-name": ""})
        cfg = config_get()
        assert "server-name" not in cfg and "server-addr" not in cfg, cfg
        assert cfg["configured"] == 0, cfg
        p = send(b"x\n", check=False)
        assert p.returncode == 1, p
    finally:
        configure()


def test_dns_config_replace_restores_defaults():
    """REPLACE: the request is the whole configuration; what it does not carry
    goes back to its default, password and server included. A refused one
    changes nothing."""
    configure(extra=("retry-max", "3", "queue-max", "17", "timeout-connect", "3000"))
    try:
        before = config_get()
        assert before["password-set"] == 1 and before["retry-max"] == 3, before
        p = config_set({"replace": 1, "server-name": "127.0.0.1", "from": "no-at-sign"},
                       check=False)
        why, attr = refusal(p)
        assert why and attr == ".config.from", (why, attr)
        assert config_get() == before
        config_set({"replace": 1, "server-name": "127.0.0.1", "port": PORT_OPEN,
                    "from": FROM, "password-file": "/etc/ksmtp/gw.pw"})
        cfg = config_get()
        want = {"server-name": "127.0.0.1", "port": PORT_OPEN, "from": FROM,
                "configured": 1, "password-set": 0, "password-file": "/etc/ksmtp/gw.pw",
                "auth": "none", "auth-cleartext": 0, "helo-only": 0, "tls": "none",
                "timeout-connect": 60000, "timeout-greeting": 300000,
                "timeout-command": 300000, "timeout-data-block": 180000,
                "timeout-final-dot": 600000, "queue-max": 256, "queue-bytes": 16 << 20,
                "retry-max": 10, "retry-age": 86400, "retry-base-ms": 30000,
                "coalesce-ms": 2000, "klog": 0, "klog-level": 8, "klog-context": 8,
                "klog-window-ms": 5000, "klog-per-hour": 6, "send-gid": 4294967295}
        assert cfg == want, "after REPLACE:\n got %r\nwant %r" % (cfg, want)
        # and it works: no AUTH, the EHLO argument an address literal, no
        # default recipient
        body = b"after a whole new configuration\n"
        send(body, to=RCPT)
        (m,) = RECOPEN.take()
        assert m["mech"] is None and m["helo"] == "[127.0.0.1]", m
        expect_message(m["content"], crlf(body))
        p = send(b"x\n", check=False)
        assert p.returncode == 1, p     # no recipient, and none configured
        # a new password without its file forgets the file
        configure()
        config_set({"password-file": "/etc/ksmtp/gw.pw"})
        assert config_get()["password-file"] == "/etc/ksmtp/gw.pw"
        ctl("set", "password-env", "KSMTP_PW", env={"KSMTP_PW": PASSWORD})
        assert "password-file" not in config_get()
    finally:
        configure()


NS_SERVER = r"""
import base64, json, sys, time
sys.path.insert(0, sys.argv[1])
from fixture import start_server
ctl, rec = start_server("127.0.0.1", int(sys.argv[2]))
print("ready", flush=True)
end = time.time() + 120
while not rec.mails and time.time() < end:
    time.sleep(0.1)
for m in rec.mails:
    print(json.dumps({"rcpt": m["rcpt"], "content": base64.b64encode(m["content"]).decode()}),
          flush=True)
ctl.stop()
"""


def test_dns_name_in_a_network_namespace():
    """ip netns: the upcall runs in the initial namespaces' userspace, so a
    namespace's names resolve as the host resolves them (its resolv.conf,
    its DNS server), not as `ip netns exec` would (/etc/netns/NS/resolv.conf);
    the connection is the namespace's own. Here the namespace has no DNS
    server at all, and the name still resolves; the mail reaches the
    server in the namespace, on its ::1 refused and its 127.0.0.1."""
    ns_name = "ksmtp-dns"
    ns = ("ip", "netns", "exec", ns_name)
    subprocess.run(["ip", "netns", "add", ns_name], check=True)
    etc = "/etc/netns/" + ns_name
    srv = None
    try:
        subprocess.run(list(ns) + ["ip", "link", "set", "lo", "up"], check=True)
        os.makedirs(etc, exist_ok=True)
        with open(etc + "/resolv.conf", "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        with DnsServer() as dns:
            if not kernel_resolves():
                return
            configure()
            # a process in the namespace cannot resolve the name: no DNS
            # server on its loopback
            p = subprocess.run(list(ns) + ["getent", "ahosts", DNS_NAME],
                               capture_output=True, timeout=60)
            assert p.returncode != 0, p
            srv = subprocess.Popen(list(ns) + [sys.executable, "-c", NS_SERVER,
                                               os.path.dirname(os.path.abspath(NLFUZZ)),
                                               str(PORT_OPEN)],
                                   stdout=subprocess.PIPE, text=True)
            assert srv.stdout.readline() == "ready\n"
            ctl("set", "server", "127.0.0.1", "port", str(PORT_OPEN), "from", FROM,
                "rcpt", RCPT, "timeout-command", "10000", prefix=ns)
            p = subprocess.run(list(ns) + ynl_argv(
                "--do", "config-set", "--json", json.dumps({"config": {"server-name": DNS_NAME}})),
                capture_output=True, text=True, timeout=120)
            assert p.returncode == 0, p.stdout + p.stderr
            n = len(dns.queries(DNS_NAME))
            body = b"From a network namespace, by name.\n"
            p = ctl("send", "subject", "Test mail", stdin=body, prefix=ns)
            assert p.stdout == b"sent\n", p
            (line,) = srv.stdout.read().splitlines()
            m = json.loads(line)
            assert m["rcpt"] == [RCPT], m
            expect_message(base64.b64decode(m["content"]), crlf(body))
            # the namespace asked anew (the kernel caches answers per
            # namespace), and the query came to the host's server
            assert len(dns.queries(DNS_NAME)) > n, dns.queries(DNS_NAME)
            # the host's own configuration is untouched (ksmtpctl sends
            # the server as a name, here a literal)
            assert config_get().get("server-name") == "127.0.0.1", config_get()
            all_servers_empty()
    finally:
        if srv:
            srv.kill()
            srv.wait()
        subprocess.run(["ip", "netns", "del", ns_name], check=True)
        subprocess.run(["rm", "-rf", etc])
