#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the debug guest (tests/kunit/run.sh --atomic, through
# tests/vm/run.sh): load the ksmtp.ko built with KSMTP_KUNIT=1 and run its
# KUnit suites, under the debug kernel's DEBUG_ATOMIC_SLEEP,
# preemption, KASAN, lockdep and kmemleak. Leaves in $KSMTP_RESULTS:
#   ktap            the kernel's log from the load on (the suites' KTAP)
#   dmesg           the whole kernel log, at the end
#   kernel-report   what the kernel reported (absent when nothing)
# The host counts the results (kunit.py parse) and the reports.
set -e
kabi=$(uname -r)
kmemleak=/sys/kernel/debug/kmemleak
res=$KSMTP_RESULTS
report=$res/kernel-report
rm -f "$report"
# What boot left unreferenced is not ours: two scans (the first only takes
# checksums; only objects older than 5 s count), then forget it.
{ echo scan > "$kmemleak" && sleep 5 && echo scan > "$kmemleak" &&
	echo clear > "$kmemleak"; } 2>/dev/null || true
mkdir -p "/lib/modules/$kabi/extra"
cp module/ksmtp.ko "/lib/modules/$kabi/extra/"
depmod -a
dmesg -n 1
before=$(dmesg | wc -l)
rc=0
# The suites run once ksmtp is initialized, when the parameter is written
# (module/tests/kunit_module.c); the write returns when they are done.
if ! modprobe ksmtp; then
	echo "kunit-atomic: modprobe ksmtp failed" | tee -a "$report"
	rc=1
elif ! echo 1 > /sys/module/ksmtp/parameters/kunit_run; then
	echo "kunit-atomic: cannot run the suites (kunit_run)" | tee -a "$report"
	rc=1
fi
dmesg --notime | tail -n +"$((before + 1))" > "$res/ktap"

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
if grep -q '^ksmtp ' /proc/modules && ! rmmod ksmtp; then
	echo "rmmod ksmtp failed" | tee -a "$report"
	rc=1
fi
sleep 2	# RCU callbacks and work the unload queued
leaks "after the suites and rmmod ksmtp" || rc=1

dmesg > "$res/dmesg"
# As tests/e2e/guest.sh: kmemleak's own lines are left out (its report
# above is the one that counts); KUnit's failures are counted by the host.
pat='BUG:|WARNING:|Oops|general protection|Call Trace|Kernel panic|UBSAN'
pat="$pat|possible circular locking|possible recursive locking|inconsistent lock state"
pat="$pat|sleeping function called|refcount_t:|list_(add|del) corruption|ref_tracker"
pat="$pat|memory leak detector disabled"
if grep -E "$pat" "$res/dmesg" > "$res/kernel-lines"; then
	rc=1
	{
		echo "kernel reports:"
		cat "$res/kernel-lines"
		echo "the first one in full:"
		first=$(grep -n -m1 -E "$pat" "$res/dmesg" | cut -d: -f1)
		tail -n +"$((first > 5 ? first - 5 : 1))" "$res/dmesg" | head -n 80
	} | tee -a "$report"
fi
rm -f "$res/kernel-lines"
exit $rc
