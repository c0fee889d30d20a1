#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A real kernel panic mailed once after the reboot (ksmtpctl pstore over
# ramoops), in a guest that reboots: tests/e2e/panic_guest.py under
# tests/vm/run.sh with KSMTP_VM_REBOOT=1. tests/e2e/run.sh runs it after
# the suite's guest (with --debug: on the debug kernel, KSMTP_VM_DEBUG and
# KSMTP_REPO exported).
#   tests/e2e/panic.sh GUEST_SCRIPT TIMEOUT_SECONDS
# Prints "ok - NAME" or "not ok - NAME" for each check, a check the guest
# did not reach (a hang, a crash loop, a boot too many) counting as failed,
# and as last line "panic: N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
script=$1
limit=$2
checks="pstore_panic_ramoops_loaded pstore_panic_record_after_reboot
	pstore_panic_mailed_once_and_removed pstore_panic_no_kernel_report_boot2
	pstore_panic_not_mailed_again_after_reboot pstore_panic_no_kernel_report_boot3"
res=$(mktemp -d /tmp/ksmtp-panic.XXXXXX)
start=$(date +%s)
KSMTP_VM_REBOOT=1 KSMTP_RESULTS_DIR=$res "$repo/tests/vm/run.sh" "$script" "$limit" \
	> "$res/run.out" 2>&1
rc=$?
boots=$(cat "$res/boots" 2>/dev/null || echo 0)
p=0 f=0
for c in $checks; do
	line=$(grep -E "^(ok|not ok) - $c\$" "$res/panic-results" 2>/dev/null | tail -n 1)
	case $line in
	"ok - $c") p=$((p + 1)); echo "$line" ;;
	"not ok - $c") f=$((f + 1)); echo "$line" ;;
	*) f=$((f + 1)); echo "not ok - $c (not reached: the guest stopped at boot $boots)" ;;
	esac
done
# The guest ends the third boot itself (powered off, its status 0).
if [ "$rc" -eq 0 ] && [ "$boots" -eq 3 ]; then
	p=$((p + 1))
	echo "ok - pstore_panic_three_boots_then_power_off"
else
	f=$((f + 1))
	echo "not ok - pstore_panic_three_boots_then_power_off (boots $boots, run.sh exit $rc)"
fi
if [ "$f" -ne 0 ]; then
	sed -n 's/\r$//; /^panic-guest: \|^Traceback\|^  File\|^AssertionError\|^[A-Za-z]*Error/p' \
		"$res/serial.log" 2>/dev/null | tail -n 80
	tail -n 30 "$res/run.out"
fi
echo "panic: guest took $(($(date +%s) - start)) s for $boots boot(s); serial log $res/serial.log"
echo "panic: $p passed, $f failed"
[ "$f" -eq 0 ]
