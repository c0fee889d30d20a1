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
kmemleak=/sys/kernel/debug/kmemleak
debug=
case $kabi in *-ksmtp-debug) debug=1 ;; esac
[ ! -e "$kmemleak" ] || debug=1
if [ -n "$debug" ]; then
	# What boot left unreferenced is not ours: two scans (the first only
	# takes checksums; only objects older than 5 s count), then forget it.
	# (A kmemleak that is off fails the leak case below.)
	{ echo scan > "$kmemleak" && sleep 5 && echo scan > "$kmemleak" &&
		echo clear > "$kmemleak"; } 2>/dev/null || true
fi
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
leaks() {	# leaks WHEN: scan twice, 6 s apart; print and forget what was found
	if ! { echo scan > "$kmemleak" && sleep 6 && echo scan > "$kmemleak"; } 2>/dev/null; then
		echo "kmemleak, $1: cannot scan (is it off? see dmesg)" | tee -a "$report"
		return 1
	fi
	found=$(cat "$kmemleak")
	[ -n "$found" ] || return 0
	{
		echo "kmemleak, $1:"
		echo "$found"
	} | tee -a "$report"
	echo clear > "$kmemleak"
	return 1
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
# kmemleak's own "suspected memory leaks" lines are left out: its report
# above is the one that counts (the scans at start found boot's).
pat='BUG:|WARNING:|Oops|general protection|Call Trace|Kernel panic|UBSAN'
pat="$pat|possible circular locking|possible recursive locking|inconsistent lock state"
pat="$pat|sleeping function called|refcount_t:|list_(add|del) corruption|ref_tracker"
pat="$pat|memory leak detector disabled"
bad=0
if grep -E "$pat" "$KSMTP_RESULTS/dmesg-checked" > "$KSMTP_RESULTS/kernel-lines"; then
	bad=1
	{
		echo "kernel reports:"
		cat "$KSMTP_RESULTS/kernel-lines"
		echo "the first one in full:"
		first=$(grep -n -m1 -E "$pat" "$KSMTP_RESULTS/dmesg-checked" | cut -d: -f1)
		tail -n +"$((first > 5 ? first - 5 : 1))" "$KSMTP_RESULTS/dmesg-checked" |
			head -n 80
	} | tee -a "$report"
fi
rm -f "$KSMTP_RESULTS/kernel-lines"
case_result kernel_no_reports "$bad"
exit $rc
