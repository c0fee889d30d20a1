#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest (tests/vm/run.sh): install ksmtp.ko where modprobe
# and the genl family alias find it, load it, run the end-to-end tests.
# On the debug kernel (tests/e2e/run.sh --debug: kmemleak, and a release
# ending in -ksmtp-debug, tests/vm/debug.config), two more cases: no leak
# that kmemleak finds, with the modules loaded and once they are unloaded,
# and no kernel report of any kind in dmesg (KASAN, lockdep, sleeping in
# atomic context, warnings, refcounts, list corruption). What the kernel
# reported is printed and left in $KSMTP_RESULTS/kernel-report (dmesg in
# $KSMTP_RESULTS/dmesg).
# Faults the tests provoke on purpose (tests/e2e/cases_klog.py: an oops, a
# hung task, WARNINGs) are logged between "ksmtp-e2e: provoked begin" and
# "ksmtp-e2e: provoked end": those lines, and only those, are left out of
# the checks (a begin without its end leaves out nothing; see
# provoked_out below).
set -e
kabi=$(uname -r)
. tests/vm/debug-checks.sh
debug=
case $kabi in *-ksmtp-debug) debug=1 ;; esac
[ ! -e "$kmemleak" ] || debug=1
[ -z "$debug" ] || leaks_forget_boot
mkdir -p "/lib/modules/$kabi/extra"
cp module/ksmtp.ko "/lib/modules/$kabi/extra/"
depmod -a
modprobe ksmtp
dmesg -n 1
rc=0
# The kernel's log without the sections provoked on purpose: each
# begin..end pair goes; a begin never ended stays; an end whose begin is
# not there (a storm wrapped the log past it) takes everything before it,
# which was logged after that begin. From stdin; the logs saved before
# each provoked section (cases_klog.py: a storm may wrap away what came
# before it) are checked the same way, each on its own.
# Lines in arrays, not strings grown line by line: a WARN storm leaves logs
# of 2 MB, which string appends made quadratic (minutes under TCG).
provoked_out() {
	awk '
		/ksmtp-e2e: provoked begin/ {
			if (n)
				for (i = 1; i <= k; i++)
					o[++m] = h[i]
			k = 0; h[++k] = $0; n = 1; next
		}
		/ksmtp-e2e: provoked end/ { if (n) { k = 0; n = 0 } else m = 0; next }
		n { h[++k] = $0; next }
		{ o[++m] = $0 }
		END {
			for (i = 1; i <= m; i++)
				print o[i]
			if (n)
				for (i = 1; i <= k; i++)
					print h[i]
		}
'
}
dmesg_checked() {
	for f in "${KSMTP_RESULTS:-/nonexistent}"/dmesg-saved.*; do
		[ ! -f "$f" ] || provoked_out < "$f"
	done
	dmesg | provoked_out
}
# tests/e2e/run.sh's KSMTP_E2E_ONLY (the cases to run, when none are given)
# and the fuzzer's KSMTP_FUZZ_SECONDS and KSMTP_FUZZ_SEED.
if [ -f "${KSMTP_RESULTS:-/nonexistent}/e2e-env" ]; then
	. "$KSMTP_RESULTS/e2e-env"
	export KSMTP_FUZZ_SECONDS KSMTP_FUZZ_SEED
	[ $# -gt 0 ] || set -- ${KSMTP_E2E_ONLY:-}
fi
/usr/bin/python3 tests/e2e/test_e2e.py "$@" || rc=$?
if [ -z "$debug" ]; then
	if dmesg_checked | grep -E 'BUG:|WARNING:|Oops|general protection|Call Trace'; then
		echo "e2e: the kernel logged a problem"
		rc=1
	fi
	exit $rc
fi

# The debug kernel.
report=$KSMTP_RESULTS/kernel-report
case_result() {	# case_result NAME OK(0|1): print the case, count it in the summary
	if [ "$2" -eq 0 ]; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		rc=1
	fi
	if [ -f "$KSMTP_RESULTS/e2e-summary" ]; then
		read -r p f < "$KSMTP_RESULTS/e2e-summary"
		if [ "$2" -eq 0 ]; then p=$((p + 1)); else f=$((f + 1)); fi
		echo "$p $f" > "$KSMTP_RESULTS/e2e-summary"
	fi
}
leak=0
leaks "with ksmtp loaded" || leak=1
for m in ksmtp_klog_test ksmtp_bench ksmtp_sample ksmtp; do
	if grep -q "^$m " /proc/modules && ! rmmod "$m"; then
		echo "rmmod $m failed" | tee -a "$report"
		leak=1
	fi
done
sleep 2	# RCU callbacks and work the unload queued
leaks "after rmmod ksmtp" || leak=1
case_result kernel_no_leaks "$leak"

dmesg > "$KSMTP_RESULTS/dmesg"
dmesg_checked > "$KSMTP_RESULTS/dmesg-checked"
bad=0
kernel_reports "$KSMTP_RESULTS/dmesg-checked" || bad=1
case_result kernel_no_reports "$bad"
exit $rc
