#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build ksmtp.ko, the sample driver and ksmtpctl for the guest's kernel,
# boot a guest and run the end-to-end tests in it. Last line:
# "e2e: N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
"$repo/tests/vm/build.sh" || exit 2
res=$(mktemp -d /tmp/ksmtp-e2e.XXXXXX)
KSMTP_RESULTS_DIR=$res "$repo/tests/vm/run.sh" "$repo/tests/e2e/guest.sh" 900
rc=$?
sed -n 's/\r$//; /^\(ok\|not ok\) - \|^Traceback\|^  File\|^AssertionError\|^[A-Za-z]*Error/p' \
	"$res/serial.log" 2>/dev/null | tail -n 200
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
echo "e2e: $p passed, $f failed"
[ "$f" -eq 0 ]
