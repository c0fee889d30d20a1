#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test: install what is missing, build, checkpatch --strict, the KUnit
# suites (UML, KASAN, lockdep), a build against 6.12 (net/handshake side of
# the TLS switch), make install/uninstall and the Makefiles' flags
# (tests/install.sh, with systemd-analyze verify), the contrib/ Yocto and
# Buildroot checks (tests/contrib.sh), cross builds for arm64 and armhf
# (tests/cross.sh), the Debian packages built, linted, DKMS-built and
# installed in a guest (tests/pkg.sh), the queue suite again on x86_64 with
# DEBUG_ATOMIC_SLEEP, and the end-to-end tests in a guest, on Debian's
# kernel and again on a debug kernel built from its linux-source-6.1
# (KASAN, lockdep, kmemleak: any report fails). The last line is
# "N passed, N failed": the cases and checks of every step; a failed build
# or checkpatch, or a step that printed no count, is one more failure.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
passed=0 failed=0

count() {	# count LABEL LOGFILE: add the "LABEL: N passed, N failed" line
	local line
	line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$2" | tail -n1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	read -r p f < <(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$line")
	passed=$((passed + p))
	failed=$((failed + f))
}

step() {	# step NAME CMD...: run, keeping the log
	local log=$logs/$1.log
	shift
	echo "== $*"
	"$@" 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}

logs=$(mktemp -d /tmp/ksmtp-test.XXXXXX)
step deps tests/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
kabi=$(tests/vm/kabi.sh)
if ! step build make module userspace KDIR="/usr/src/linux-headers-$kabi"; then
	failed=$((failed + 1))
fi
if ! step checkpatch make -s check; then
	failed=$((failed + 1))
fi
step compat tests/compat.sh
count compat "$logs/compat.log"
step install tests/install.sh
count install "$logs/install.log"
step contrib tests/contrib.sh
count contrib "$logs/contrib.log"
step cross tests/cross.sh
count cross "$logs/cross.log"
step pkg tests/pkg.sh
count pkg "$logs/pkg.log"
step kunit tests/kunit/run.sh
count kunit "$logs/kunit.log"
step kunit-atomic tests/kunit/run.sh --atomic
count kunit-atomic "$logs/kunit-atomic.log"
step e2e tests/e2e/run.sh
count e2e "$logs/e2e.log"
step e2e-debug tests/e2e/run.sh --debug
count e2e-debug "$logs/e2e-debug.log"
echo "logs: $logs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
