#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run a script inside a fresh guest and return its exit status.
#   tests/vm/run.sh SCRIPT [TIMEOUT_SECONDS]
# The guest boots Debian's own kernel under QEMU (TCG, -M pc, no network
# card), sees the host's root read-only over 9p with a tmpfs overlay, and
# has /lib/modules/<ABI> from the unpacked image. SCRIPT runs from the
# repository's top, with $KSMTP_RESULTS a writable share back to the host.
# A guest that panics or runs out of time fails clearly; the serial log is
# kept (its path is printed) either way.
# KSMTP_VM_DEBUG set: boot the debug kernel instead (tests/vm/debug-kernel.sh:
# KASAN, lockdep, kmemleak, ...; 4 GiB), its modules at /lib/modules/$(uname
# -r); KSMTP_VM_DEBUG=1 builds or refreshes it first, a directory (what
# debug-kernel.sh printed) is used as it is. KSMTP_REPO, if set, is the
# checkout the guest runs from (a copy built for that kernel).
# KSMTP_VM_REBOOT=1: a guest that reboots (tests/e2e/panic.sh): no
# -no-reboot, panic=1, and 1 MiB of RAM at KSMTP_RAMOOPS_ADDR (0x7f000000)
# reserved (memmap=) for ramoops, which QEMU keeps across the reset; the
# script runs again on each boot and must end it by itself (the timeout
# still applies).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
script=$(realpath "$1")
limit=${2:-900}
if [ -n "${KSMTP_VM_DEBUG:-}" ]; then
	case $KSMTP_VM_DEBUG in
	/*) dir=$KSMTP_VM_DEBUG ;;
	*) dir=$("$repo/tests/vm/debug-kernel.sh") ;;
	esac
	kabi=$(cat "$dir/release")
	moddir=$dir/modroot/lib/modules/$kabi
	kernel=$dir/build/arch/x86/boot/bzImage
	mem=4096
	# Its ACPI interpreter is so slow under TCG that evaluating the PCI
	# routing (_PRT) for each virtio device takes ~20 s and, on a loaded
	# host, hits ACPICA's 30 s loop timeout, leaving 9p without an IRQ:
	# route PCI interrupts from the BIOS's table instead.
	extra=" acpi=noirq"
	# A loaded host can stall the vCPU while the kernel checks the
	# IO-APIC timer ("IO-APIC + timer doesn't work!", a panic at boot).
	extra="$extra no_timer_check"
else
	kabi=${KABI:-$("$repo/tests/vm/kabi.sh")}
	dir=$("$repo/tests/vm/prepare.sh")
	moddir=$dir/root/lib/modules/$kabi
	kernel=$dir/vmlinux
	mem=2048
	extra=
fi
# KSMTP_VM_MEM: the guest's memory in MiB, when a run needs less (kmemleak
# scans all of it: tests/kunit/run.sh --atomic).
mem=${KSMTP_VM_MEM:-$mem}
noreboot=-no-reboot
panic=-1
ramoops=${KSMTP_RAMOOPS_ADDR:-0x7f000000}
if [ -n "${KSMTP_VM_REBOOT:-}" ]; then
	noreboot=
	panic=1
	extra="$extra memmap=1M\$$ramoops"
fi
res=${KSMTP_RESULTS_DIR:-$(mktemp -d /tmp/ksmtp-vm.XXXXXX)}
mkdir -p "$res"
rm -f "$res/rc"
log=$res/serial.log
cat > "$res/env" <<ENV
KSMTP_KABI=$kabi
KSMTP_MODDIR=$moddir
KSMTP_SCRIPT=$script
KSMTP_REPO=${KSMTP_REPO:-$repo}
KSMTP_RAMOOPS_ADDR=$ramoops
ENV

set +e
timeout --foreground -k 10 "$limit" qemu-system-x86_64 -M pc -accel tcg -cpu max \
	-smp 2 -m "$mem" -nographic $noreboot -nic none -monitor none \
	-serial "file:$log" \
	-kernel "$kernel" -initrd "$dir/initramfs.gz" \
	-append "console=ttyS0 panic=$panic oops=panic loglevel=4 mitigations=off$extra" \
	-fsdev "local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap" \
	-device "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot" \
	-fsdev "local,id=results,path=$res,security_model=none" \
	-device "virtio-9p-pci,fsdev=results,mount_tag=results" \
	< /dev/null > "$res/qemu.out" 2>&1
qrc=$?
set -e
if [ ! -f "$res/rc" ]; then
	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		echo "vm: guest timed out after ${limit}s; serial log: $log" >&2
	else
		echo "vm: guest died (qemu exit $qrc) before the script finished; serial log: $log" >&2
	fi
	grep -E 'Kernel panic|BUG:|Oops|WARNING:|Call Trace' "$log" | head -20 >&2 || true
	tail -n 30 "$log" >&2
	exit 125
fi
echo "vm: serial log: $log" >&2
exit "$(cat "$res/rc")"
