#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A real panic, kept by ramoops across a reboot, mailed once by ksmtpctl
pstore (tests/e2e/panic.sh runs it).

Runs inside a guest that reboots (tests/vm/run.sh with KSMTP_VM_REBOOT=1:
no -no-reboot, panic=1, and 1 MiB of RAM at $KSMTP_RAMOOPS_ADDR reserved
with memmap= for ramoops; QEMU keeps the RAM across the reset). The boots
are counted in the results share ($KSMTP_RESULTS/boots):
  1. load ramoops over the reserved RAM (no record there yet), then
     crash the kernel (sysrq c);
  2. load ramoops again: the panic's dmesg record is in /sys/fs/pstore;
     ksmtp's init script's start (the boot path, as BusyBox's rcS runs
     it: modprobe, setconf -a, ksmtpctl pstore) mails it to a real server
     (aiosmtpd) and removes it; then reboot (sysrq b);
  3. ksmtpctl pstore by hand: nothing to mail, nothing printed, exit 0;
     then the script ends and the guest powers off.
A fourth boot fails the run (a crash loop). Each check appends "ok - NAME"
or "not ok - NAME" to $KSMTP_RESULTS/panic-results; panic.sh counts any
it expects but does not find as failed.
"""
import glob
import os
import re
import socket
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e as t  # noqa: E402  (its helpers: ctl, configure, crlf)
from fixture import start_server  # noqa: E402

RES = os.environ.get("KSMTP_RESULTS", "/ksmtp-results")

def _addr():
    """tests/vm/run.sh's KSMTP_RAMOOPS_ADDR (in $KSMTP_RESULTS/env)."""
    with open(os.path.join(RES, "env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k == "KSMTP_RAMOOPS_ADDR":
                return v
    return "0x7f000000"


ADDR = _addr()
PSTORE = "/sys/fs/pstore"
PORT = 2527
KREPORT = re.compile(r"BUG:|WARNING:|Oops|general protection|Call Trace|Kernel panic|UBSAN"
                     r"|possible circular locking|possible recursive locking"
                     r"|inconsistent lock state|sleeping function called|refcount_t:"
                     r"|list_(add|del) corruption")
failed = False


def run(cmd, check=True, timeout=300):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s%s" % (cmd, p.returncode, p.stdout, p.stderr))
    return p


def result(name, fn):
    """Run check @fn; record and print its result. True when it passed."""
    global failed
    try:
        fn()
        line = "ok - %s" % name
    except Exception:
        traceback.print_exc(file=sys.stdout)
        line = "not ok - %s" % name
        failed = True
    note(line)
    with open(os.path.join(RES, "panic-results"), "a") as f:
        f.write(line + "\n")
    return line.startswith("ok")


def note(msg):
    print("panic-guest: boot %d, %.0f s: %s" % (BOOT, time.monotonic(), msg), flush=True)


def ramoops():
    """ramoops over the reserved RAM; pstore's file system mounted."""
    run(["modprobe", "ramoops", "mem_address=" + ADDR, "mem_size=0x100000",
         "record_size=0x20000"])
    note("ramoops loaded")
    if not os.path.ismount(PSTORE):
        run(["mount", "-t", "pstore", "pstore", PSTORE])
    with open("/sys/module/ramoops/parameters/mem_address") as f:
        assert int(f.read()) == int(ADDR, 16), "ramoops not at " + ADDR
    with open("/proc/iomem") as f:
        iomem = f.read()
    start = "%08x" % int(ADDR, 16)
    assert re.search(r"^\s*%s-%08x : Reserved" % (start, int(ADDR, 16) + 0xfffff), iomem,
                     re.M | re.I), "memmap= did not reserve %s:\n%s" % (ADDR, iomem)


def records():
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(PSTORE, "dmesg-*")))


def ksmtp():
    """The checkout's module (insmod: no depmod -a, which takes minutes
    under TCG on a loaded host), after what it needs."""
    run(["modprobe", "dns_resolver"])
    run(["insmod", t.KO])


def init_script_start():
    """The boot path: ksmtp's init script (userspace/ksmtp.init.in, its
    tools the checkout's), started as BusyBox init's rcS would, with an
    /etc/ksmtp/ksmtp.conf for the test server. Its modprobe finds the
    checkout's module: depmod over it and what it needs only (all of the
    tree takes minutes under TCG; modules.dep is on the guest's tmpfs)."""
    kabi = os.uname().release
    extra = "/lib/modules/%s/extra" % kabi
    os.makedirs(extra, exist_ok=True)
    run(["cp", t.KO, extra])
    files = [os.path.join(extra, "ksmtp.ko")]
    for dep in filter(None, run(["modinfo", "-F", "depends", t.KO]).stdout.strip().split(",")):
        path = run(["modinfo", "-n", dep]).stdout.strip()
        if path.startswith("/"):
            files.append(path)
    run(["depmod", kabi] + files)
    os.makedirs("/etc/ksmtp", exist_ok=True)
    with open("/etc/ksmtp/ksmtp.conf", "w") as f:
        f.write("server = 127.0.0.1\nport = %d\nfrom = %s\nrcpt = %s\n"
                "domain = gw1.example.org\nauth = none\ntls = none\n" % (PORT, t.FROM, t.RCPT))
    os.chmod("/etc/ksmtp/ksmtp.conf", 0o600)
    with open(os.path.join(t.REPO, "userspace", "ksmtp.init.in")) as f:
        script = f.read().replace("@SBINDIR@", os.path.join(t.REPO, "userspace"))
    with open("/etc/init.d/ksmtp", "w") as f:
        f.write(script)
    os.chmod("/etc/init.d/ksmtp", 0o755)
    return run(["/bin/busybox", "sh", "/etc/init.d/ksmtp", "start"], check=False)


def no_kernel_reports():
    out = run(["dmesg"]).stdout
    bad = [line for line in out.splitlines() if KREPORT.search(line)]
    assert not bad, "the kernel reported:\n" + "\n".join(bad[:40])


def sysrq(key):
    """Sync, then the magic SysRq key (b: reboot, c: crash); waits for it
    to take the guest away, and returns if it did not."""
    os.sync()
    with open("/proc/sys/kernel/sysrq", "w") as f:
        f.write("1\n")
    with open("/proc/sysrq-trigger", "w") as f:
        f.write(key + "\n")
    time.sleep(120)


def reboot():
    sysrq("b")
    raise AssertionError("sysrq b did not reboot")


def boot1():
    def loaded():
        ramoops()
        assert records() == [], "a record before any crash: %s" % records()
    if not result("pstore_panic_ramoops_loaded", loaded):
        return 1
    note("crashing the kernel (sysrq c)")
    sysrq("c")
    print("sysrq c did not crash the kernel", flush=True)
    return 1


def boot2():
    state = {}

    def record():
        ramoops()
        recs = records()
        assert recs == ["dmesg-ramoops-0"], "records: %s" % recs
        with open(os.path.join(PSTORE, recs[0]), "rb") as f:
            log = f.read()
        assert log.startswith(b"Panic#1 Part1\n"), log[:200]
        for want in (rb"<6>\[ *\d+\.\d+\] sysrq: Trigger a crash\n",
                     rb"<0>\[ *\d+\.\d+\] Kernel panic - not syncing: sysrq triggered crash\n"):
            assert re.search(want, log), "%r not in the record:\n%r" % (want, log[-1500:])
        state["log"] = log

    def mailed():
        assert "log" in state, "no record to mail"
        ctl, rec = start_server("127.0.0.1", PORT)
        try:
            p = init_script_start()
            assert p.returncode == 0 and p.stderr == "", p
            assert p.stdout.splitlines() == [
                "ksmtp: applying /etc/ksmtp/*.conf",
                "%s/dmesg-ramoops-0: sent and removed" % PSTORE], p
            (m,) = rec.take(1, timeout=60)
            time.sleep(2)
            assert rec.mails == [], "more than one mail: %r" % rec.mails
        finally:
            ctl.stop()
        assert m["from"] == t.FROM and m["rcpt"] == [t.RCPT], m
        subj = ("Subject: %s: kernel panic (%s, dmesg-ramoops-0): "
                "Kernel panic - not syncing: sysrq triggered crash\r\n" % (
                    socket.gethostname(), os.uname().release)).encode()
        head, sep, body = m["content"].partition(b"\r\n\r\n")
        assert sep, m["content"][:600]
        assert subj in head.replace(b"\r\n ", b" ") + b"\r\n", head
        assert b"X-Priority: 1 (Highest)" in head, head
        assert body == t.crlf(state["log"]), "body differs:\n got %r\nwant %r" % (
            body[-600:], t.crlf(state["log"])[-600:])
        assert records() == [], "the record is still there: %s" % records()

    result("pstore_panic_record_after_reboot", record)
    result("pstore_panic_mailed_once_and_removed", mailed)
    result("pstore_panic_no_kernel_report_boot2", no_kernel_reports)
    note("rebooting (sysrq b)")
    reboot()
    return 1


def boot3():
    def again():
        ramoops()
        before = records()
        ksmtp()
        ctl, rec = start_server("127.0.0.1", PORT)
        try:
            t.configure(port=PORT, auth="none", user="")
            p = t.ctl("pstore", check=False)
            time.sleep(3)
            assert rec.mails == [], "mailed again (records after the reboot: %s): %r" % (
                before, [m["content"][:300] for m in rec.mails])
        finally:
            ctl.stop()
        assert (p.returncode, p.stdout, p.stderr) == (0, b"", b""), p
        assert before == [] and records() == [], "records: %s, then %s" % (before, records())

    result("pstore_panic_not_mailed_again_after_reboot", again)
    result("pstore_panic_no_kernel_report_boot3", no_kernel_reports)
    return 1 if failed else 0


def main():
    global BOOT
    path = os.path.join(RES, "boots")
    try:
        with open(path) as f:
            BOOT = int(f.read()) + 1
    except FileNotFoundError:
        BOOT = 1
    with open(path, "w") as f:
        f.write("%d\n" % BOOT)
        f.flush()
        os.fsync(f.fileno())
    note("kernel %s, %s" % (os.uname().release, open("/proc/cmdline").read().strip()))
    if BOOT > 3:
        print("not ok - pstore_panic_boots (boot %d: the guest crashed or rebooted "
              "once too often)" % BOOT, flush=True)
        return 1
    return (boot1, boot2, boot3)[BOOT - 1]()


if __name__ == "__main__":
    sys.exit(main())
