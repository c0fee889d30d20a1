#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build ksmtp.ko, the sample driver (make test-modules) and ksmtpctl for
# the guest's kernel, boot a guest and run the end-to-end tests in it. Last line:
# "e2e: N passed, N failed".
#
# --debug: the same tests on the debug kernel (tests/vm/debug-kernel.sh:
# KASAN, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak, ...), built or refreshed
# first. The modules and userspace are built in a copy of the checkout
# under /tmp, so that the checkout's objects for Debian's kernel stay as
# they are; the guest runs from the copy. Any kernel report, and any leak
# kmemleak finds once ksmtp is unloaded, fails the run
# (tests/e2e/guest.sh). Last line: "e2e-debug: N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
label=e2e
# ~120 cases (the kernel-log reporter's wait for its windows, hung tasks):
# about 15 min on an idle host, twice that on a loaded one.
limit=2400
guest=$repo/tests/e2e/guest.sh
if [ "${1:-}" = --debug ]; then
	shift
	label=e2e-debug
	# TCG with KASAN, lockdep and kmemleak: the guest took 11 to 14 min
	# on two cores shared with one or two other guests, before the
	# reporter's and sendmail's cases.
	limit=3600
	# KSMTP_VM_DEBUG, a directory debug-kernel.sh printed (tests/run-all.sh
	# built it before): used as it is, as tests/vm/run.sh does.
	case ${KSMTP_VM_DEBUG:-} in
	/*) kdir=$KSMTP_VM_DEBUG ;;
	*) kdir=$("$repo/tests/vm/debug-kernel.sh") || { echo "$label: 0 passed, 1 failed"; exit 2; } ;;
	esac
	copy=$(mktemp -d /tmp/ksmtp-debug-src.XXXXXX)
	trap 'rm -rf "$copy"' EXIT
	(cd "$repo" && tar -cf - --exclude=./.git --exclude=./build --exclude='*.o' \
		--exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='.*.d' --exclude=Module.symvers --exclude=modules.order \
		--exclude=__pycache__ .) | tar -xf - -C "$copy"
	if ! make -s -C "$copy" test-modules KDIR="$kdir/build" > "$copy/build.log" 2>&1 ||
		! make -s -C "$copy/userspace" clean all >> "$copy/build.log" 2>&1; then
		cat "$copy/build.log"
		echo "$label: cannot build for the debug kernel"
		echo "$label: 0 passed, 1 failed"
		exit 2
	fi
	echo "$label: kernel $kdir/build, modules and userspace built in $copy"
	export KSMTP_VM_DEBUG=$kdir KSMTP_REPO=$copy
	guest=$copy/tests/e2e/guest.sh
else
	"$repo/tests/vm/build.sh" || exit 2
fi
res=$(mktemp -d /tmp/ksmtp-$label.XXXXXX)
# For a quicker run by hand, passed to the guest (tests/e2e/guest.sh):
# KSMTP_E2E_ONLY="test_a test_b" runs only those cases; KSMTP_FUZZ_SECONDS
# and KSMTP_FUZZ_SEED set the netlink fuzzer's budget (60 s) and seed.
for v in KSMTP_E2E_ONLY KSMTP_FUZZ_SECONDS KSMTP_FUZZ_SEED; do
	[ -z "${!v:-}" ] || printf "%s='%s'\n" "$v" "${!v//\'/}" >> "$res/e2e-env"
done
# The kernel's ynl CLI (test_ynl_cli_config_get_and_send), unpacked here
# into the cache, which the guest sees read-only; the line exports it when
# tests/e2e/guest.sh sources the file. Without it that case fails, saying so.
if ynl=$("$repo/tests/ynl.sh"); then
	printf "export KSMTP_YNL='%s'\n" "${ynl//\'/}" >> "$res/e2e-env"
else
	echo "$label: tests/ynl.sh failed: the ynl case will fail" >&2
fi
KSMTP_RESULTS_DIR=$res "$repo/tests/vm/run.sh" "$guest" "$limit"
rc=$?
sed -n 's/\r$//; /^\(ok\|not ok\) - \|^Traceback\|^  File\|^AssertionError\|^[A-Za-z]*Error/p' \
	"$res/serial.log" 2>/dev/null | tail -n 200
if [ -f "$res/kernel-report" ]; then
	echo "$label: the guest's kernel reported (full dmesg: $res/dmesg):"
	head -n 300 "$res/kernel-report"
fi
if [ -f "$res/e2e-summary" ]; then
	read -r p f < "$res/e2e-summary"
else
	p=0 f=1
fi
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
	f=1
fi
# The harness itself: a guest whose kernel panics is reported, not waited on.
out=$("$repo/tests/vm/run.sh" "$repo/tests/vm/selftest-panic.sh" 300 2>&1)
prc=$?
if [ "$prc" -eq 125 ] && grep -q "guest died" <<<"$out" && grep -q "Kernel panic" <<<"$out"; then
	echo "ok - vm_harness_reports_guest_panic"
	p=$((p + 1))
else
	echo "not ok - vm_harness_reports_guest_panic (exit $prc)"
	echo "$out" | tail -n 20
	f=$((f + 1))
fi
# A real panic kept by ramoops, mailed once after the reboot and not after
# the next (tests/e2e/panic.sh: a guest that reboots twice); with
# KSMTP_E2E_ONLY, only when it names a pstore_panic case.
if [ -z "${KSMTP_E2E_ONLY:-}" ] || [[ " $KSMTP_E2E_ONLY" == *" pstore_panic"* ]]; then
	out=$("$repo/tests/e2e/panic.sh" "$(dirname "$guest")/panic_guest.py" "$limit")
	echo "$out" | grep -v '^panic: [0-9]* passed'
	read -r pp pf < <(sed -n 's/^panic: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' <<<"$out")
	p=$((p + ${pp:-0})) f=$((f + ${pf:-1}))
fi
echo "$label: $p passed, $f failed"
[ "$f" -eq 0 ]
