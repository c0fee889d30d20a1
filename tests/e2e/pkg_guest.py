#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The Debian packages in a guest, as a gateway gets them (tests/pkg.sh).

Runs inside the guest (tests/vm/run.sh), from the checkout's top, with the
packages tests/pkg.sh built in $KSMTP_RESULTS: ksmtp-tools and ksmtp-dkms
are installed with dpkg -i, the package's postinst having DKMS install the
module (from DKMS's prebuilt tarball tests/pkg.sh made with the host's DKMS
against the same headers, or built here: KSMTP_PKG_GUEST_DKMS_BUILD=1);
/etc/ksmtp/ksmtp.conf is written; the boot path runs (the init
script's start, as a BusyBox init gateway's rcS would, and the systemd
unit's own command lines); then the sample driver, whose reports must reach
a real SMTP server (aiosmtpd, AUTH PLAIN) byte for byte with no ksmtpctl
step by hand, also when modprobe pulls ksmtp in as its dependency after an
rmmod (the modprobe.d rule). Prints "ok - NAME" or "not ok - NAME" per case
and "pkg-guest: N passed, N failed"; the counts go to
$KSMTP_RESULTS/pkg-guest-summary.
"""
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
import test_e2e as t  # noqa: E402  (its helpers: expect_message, the servers)

RES = os.environ.get("KSMTP_RESULTS", "/ksmtp-results")
KABI = os.uname().release
SAMPLE_KO = os.path.join(t.REPO, "samples", "ksmtp_sample.ko")
CONF = "/etc/ksmtp/ksmtp.conf"
CTL = "/usr/sbin/ksmtpctl"
PORT_CONF, PORT_SAMPLE = 2535, 2537
FROM = "gw1@example.org"
RCPT = "ops@example.net"
STORM_BODY = b"Device 0 is at 97 C, over its limit of 90 C.\r\n"
SYNC_BODY = (b"The sample driver detected a fault on device 0.\r\nTemperature: 97 C\r\n"
             b".\r\nThis line follows a lone dot.\r\n")
# What the file says, as ksmtpctl showconf must print it back (no password).
# (All of them but tls, whose value is the default, which showconf may leave out.)
SETTINGS = [
    ("server", "127.0.0.1"), ("port", str(PORT_CONF)), ("from", FROM), ("rcpt", RCPT),
    ("domain", "gw1.example.org"), ("auth", "plain"), ("user", t.USER),
    ("auth-cleartext", "on"), ("coalesce-ms", "500"),
]
REC = RECSAMPLE = None


def run(cmd, check=True, timeout=900, **kw):
    p = subprocess.run(cmd, shell=isinstance(cmd, str), capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (cmd, p.returncode, p.stdout, p.stderr))
    return p


def loaded(name):
    with open("/proc/modules") as f:
        return any(line.split()[0] == name for line in f)


def unload_all():
    for m in ("ksmtp_sample", "ksmtp"):
        if loaded(m):
            run(["rmmod", m])


def showconf():
    out = run([CTL, "showconf"]).stdout
    assert t.PASSWORD not in out, "showconf printed the password"
    lines = set()
    for line in out.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            lines.add((k.strip(), v.strip()))
    return lines


def expect_configured(what):
    got = showconf()
    missing = [kv for kv in SETTINGS if kv not in got]
    assert not missing, "%s: the running configuration lacks %s:\n%s" % (
        what, missing, sorted(got))
    assert not any(k == "password" for k, _ in got), got


def expect_storm_report(what):
    """The sample's storm=1 report: ksmtp_notify() through the queue, so the
    configured server, sender, recipient and password."""
    (m,) = REC.take(1, timeout=120)
    assert m["from"] == FROM and m["rcpt"] == [RCPT], (what, m)
    assert m["mech"] == "PLAIN", (what, m["mech"])
    t.expect_message(m["content"], STORM_BODY, to=RCPT, subject=b"ksmtp_sample: overtemperature",
                     prio=b"1 \\(Highest\\)", frm=FROM)


def expect_sync_report(what):
    """Its report on load: its own client (module parameters)."""
    (m,) = RECSAMPLE.take(1, timeout=120)
    assert m["from"] == "sample@example.org" and m["rcpt"] == ["oncall@example.net"], (what, m)
    t.expect_message(m["content"], SYNC_BODY, to="oncall@example.net",
                     subject=b"ksmtp_sample: fault on device 0", prio=b"1 \\(Highest\\)",
                     frm="sample@example.org")


def load_sample():
    run(["modprobe", "ksmtp_sample", "storm=1", "server=127.0.0.1", "port=%d" % PORT_SAMPLE,
         "from=sample@example.org", "rcpt=oncall@example.net"], timeout=120)


# ---------------------------------------------------------------- the cases

def test_pkg_install_with_dkms():
    debs = sorted(glob.glob(os.path.join(RES, "ksmtp-*.deb")))
    assert len(debs) == 2, debs
    with open(os.path.join(t.REPO, "VERSION")) as f:
        version = f.read().strip()
    # DKMS builds against /lib/modules/<release>/build: Debian's headers
    # package makes that link, which the guest's module tree lacks.
    build = "/lib/modules/%s/build" % KABI
    if not os.path.exists(build):
        os.symlink("/usr/src/linux-headers-%s" % KABI, build)
    # The module DKMS built on the host (tests/pkg.sh), as DKMS's own
    # tarball, where the package's postinst loads it from (dkms ldtarball)
    # rather than compiling for 11 minutes under TCG. Without it, DKMS
    # builds here (KSMTP_PKG_GUEST_DKMS_BUILD=1).
    tarball = os.path.join(RES, "ksmtp-%s.dkms.tar.gz" % version)
    prebuilt = os.path.exists(tarball)
    if prebuilt:
        os.makedirs("/usr/share/ksmtp-dkms", exist_ok=True)
        run(["cp", tarball, "/usr/share/ksmtp-dkms/"])
    # dpkg's and the maintainer scripts' lines, each with the seconds
    # since the start (where the time goes under TCG).
    start = time.time()
    p = subprocess.Popen(["dpkg", "-i"] + debs, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    out = []
    for line in p.stdout:
        out.append(line.rstrip())
        print("  %4.0f %s" % (time.time() - start, line.rstrip()), flush=True)
    assert p.wait(timeout=2000) == 0, "dpkg -i: exit %d" % p.returncode
    print("pkg-guest: dpkg -i, with DKMS %s ksmtp.ko, took %.0f s" % (
        "loading the prebuilt" if prebuilt else "building", time.time() - start), flush=True)
    loaded_tarball = any(line.startswith("Loading tarball for ksmtp-") for line in out)
    assert loaded_tarball == prebuilt, "DKMS %s the tarball" % (
        "ignored" if prebuilt else "found")
    status = run(["dkms", "status", "ksmtp"]).stdout
    assert re.search(r"ksmtp/%s, %s, \S+: installed" % (re.escape(version), re.escape(KABI)),
                     status), status
    path = run(["modinfo", "-n", "ksmtp"]).stdout.strip()
    assert path == "/lib/modules/%s/updates/dkms/ksmtp.ko" % KABI, path
    # Nothing started: no module loaded, no helper running.
    assert not loaded("ksmtp"), "installing the packages loaded ksmtp"
    assert run(["pgrep", "-x", "ksmtp-tlsd"], check=False).returncode == 1


def test_pkg_init_script_start_applies_config_file():
    os.makedirs("/etc/ksmtp", exist_ok=True)
    old = os.umask(0o077)
    try:
        with open(CONF, "w") as f:
            f.write("# written by tests/e2e/pkg_guest.py\n")
            for k, v in SETTINGS + [("tls", "none")]:
                f.write("%s = %s\n" % (k, v))
            f.write("password = %s\n" % t.PASSWORD)
    finally:
        os.umask(old)
    assert os.stat(CONF).st_mode & 0o777 == 0o600
    p = run(["/etc/init.d/ksmtp", "start"])
    assert loaded("ksmtp"), p.stdout + p.stderr
    expect_configured("after /etc/init.d/ksmtp start")
    run(["/etc/init.d/ksmtp", "status"])


def test_pkg_sample_report_arrives_without_ksmtpctl():
    # The sample as a driver package would install it.
    extra = "/lib/modules/%s/extra" % KABI
    os.makedirs(extra, exist_ok=True)
    run(["cp", SAMPLE_KO, extra])
    run(["depmod", "-a"])
    load_sample()
    expect_sync_report("sample loaded after the init script")
    expect_storm_report("sample loaded after the init script")
    run(["rmmod", "ksmtp_sample"])


def test_pkg_modprobe_after_rmmod_comes_back_configured():
    unload_all()
    run(["modprobe", "ksmtp"])
    expect_configured("modprobe ksmtp after rmmod")


def test_pkg_dependency_load_is_configured_before_the_driver():
    # modprobe ksmtp_sample loads ksmtp first, through the install rule:
    # the configuration is in before the sample's init queues its report.
    unload_all()
    # kmod's plan: the rule (which applies the files) runs, and returns,
    # before the sample is inserted.
    plan = run(["modprobe", "-n", "-v", "ksmtp_sample"]).stdout.splitlines()
    rule = [i for i, c in enumerate(plan)
            if c.startswith("install /sbin/modprobe --ignore-install ksmtp ")
            and "/usr/sbin/ksmtpctl setconf -a" in c]
    sample = [i for i, c in enumerate(plan)
              if c.startswith("insmod ") and c.rstrip().endswith("/ksmtp_sample.ko")]
    assert len(rule) == 1 and len(sample) == 1 and rule[0] < sample[0], plan
    load_sample()
    assert loaded("ksmtp")
    expect_configured("ksmtp loaded as the sample's dependency")
    expect_sync_report("ksmtp pulled in by the sample")
    expect_storm_report("ksmtp pulled in by the sample")
    # Delivered at its first attempt (the module's counters are new):
    # the configuration was there when the queue first tried, 0.5 s after
    # the report (coalesce-ms), not picked up by a retry 30 s later.
    stats = json.loads(run([CTL, "stats", "-j"]).stdout)["queue"]
    assert stats["retried"] == 0 and stats["queued"] == 1, stats
    unload_all()


def test_pkg_systemd_unit_command_lines():
    # No systemd in the guest: the unit's ExecStartPre and ExecStart lines,
    # as systemd would run them ('+', '-' prefixes dropped).
    unload_all()
    cmds = []
    with open("/lib/systemd/system/ksmtp.service") as f:
        for line in f:
            m = re.match(r"(ExecStartPre|ExecStart)=([-+!@:]*)(.*)", line.strip())
            if m:
                cmds.append(shlex.split(m.group(3)))
    assert [c[0] for c in cmds] == ["/sbin/modprobe", CTL], cmds
    for c in cmds:
        run(c)
    expect_configured("the unit's command lines")


def test_pkg_reload_applies_the_changed_file():
    with open(CONF) as f:
        text = f.read()
    with open(CONF, "w") as f:
        f.write(text.replace("coalesce-ms = 500", "coalesce-ms = 700"))
    try:
        run(["/etc/init.d/ksmtp", "reload"])
        assert ("coalesce-ms", "700") in showconf()
    finally:
        with open(CONF, "w") as f:
            f.write(text)
        run(["/etc/init.d/ksmtp", "reload"])


def main():
    global REC, RECSAMPLE
    only = sys.argv[1:]
    # A gateway with its one kernel: the host's /boot (another kernel's
    # config) would have DKMS build for that kernel too.
    run(["mount", "-t", "tmpfs", "tmpfs", "/boot"])
    # What udev or an rcS makes on a real system, which the guest's devtmpfs
    # lacks: bash's <(...), which dkms uses, needs /dev/fd.
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        if not os.path.lexists("/dev/" + name):
            os.symlink(target, "/dev/" + name)
    # man-db's trigger rebuilds its whole index: minutes under TCG.
    if os.path.exists("/var/lib/man-db/auto-update"):
        os.unlink("/var/lib/man-db/auto-update")
    c1, REC = t.start_server("127.0.0.1", PORT_CONF, t.USER, t.PASSWORD)
    c2, RECSAMPLE = t.start_server("127.0.0.1", PORT_SAMPLE)
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_pkg_") and callable(f)]
    passed = failed = 0
    tests = [(n, f) for n, f in tests if not only or n in only]
    for i, (name, fn) in enumerate(tests):
        REC.mails, RECSAMPLE.mails = [], []
        try:
            fn()
            passed += 1
            print("ok - %s" % name, flush=True)
        except Exception:
            failed += 1
            print("not ok - %s" % name, flush=True)
            traceback.print_exc(file=sys.stdout)
            if name == "test_pkg_install_with_dkms":
                for rest, _ in tests[i + 1:]:
                    print("not ok - %s (the packages are not installed)" % rest)
                failed += len(tests) - i - 1
                break
    c1.stop()
    c2.stop()
    dmesg = run(["dmesg"]).stdout
    if re.search(r"BUG:|WARNING:|Oops|general protection|Call Trace", dmesg):
        print(dmesg[-4000:])
        print("not ok - pkg_kernel_log_clean")
        failed += 1
    if t.PASSWORD in dmesg:
        print("not ok - pkg_password_not_in_kernel_log")
        failed += 1
    print("pkg-guest: %d passed, %d failed" % (passed, failed), flush=True)
    with open(os.path.join(RES, "pkg-guest-summary"), "w") as f:
        f.write("%d %d\n" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
