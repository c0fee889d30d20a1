#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the guest (tests/vm/run.sh): install ksmtp.ko where modprobe
# and the genl family alias find it, load it, run the end-to-end tests.
set -e
kabi=$(uname -r)
mkdir -p "/lib/modules/$kabi/extra"
cp module/ksmtp.ko "/lib/modules/$kabi/extra/"
depmod -a
modprobe ksmtp
dmesg -n 1
rc=0
/usr/bin/python3 tests/e2e/test_e2e.py "$@" || rc=$?
if dmesg | grep -E 'BUG:|WARNING:|Oops|general protection|Call Trace'; then
	echo "e2e: the kernel logged a problem"
	rc=1
fi
exit $rc
