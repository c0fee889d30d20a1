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
res=$KSMTP_RESULTS
report=$res/kernel-report
rm -f "$report"
. tests/vm/debug-checks.sh
leaks_forget_boot
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

if grep -q '^ksmtp ' /proc/modules && ! rmmod ksmtp; then
	echo "rmmod ksmtp failed" | tee -a "$report"
	rc=1
fi
sleep 2	# RCU callbacks and work the unload queued
leaks "after the suites and rmmod ksmtp" || rc=1

dmesg > "$res/dmesg"
# KUnit's failures are counted by the host.
kernel_reports "$res/dmesg" || rc=1
exit $rc
