#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make test: install what is missing, build, checkpatch --strict, the KUnit
# suites (UML, KASAN, lockdep), a build against 6.12 (net/handshake side of
# the TLS switch), make install/uninstall and the Makefiles' flags
# (tests/install.sh, with systemd-analyze verify), the contrib/ Yocto and
# Buildroot checks (tests/contrib.sh), cross builds for arm64 and armhf
# (tests/cross.sh), the Debian packages built, linted, DKMS-built and
# installed in a guest (tests/pkg.sh), and the end-to-end tests in a guest,
# on Debian's kernel and again on a debug kernel built from its
# linux-source-6.1 (KASAN, lockdep, kmemleak, DEBUG_ATOMIC_SLEEP with
# preemption: any report fails), where the KUnit suites run again too. The
# debug kernel, the longest chain, is built in the background from the
# start (tests/vm/debug-kernel.sh, its own lock), while the other steps run
# one after the other; the two steps that boot it wait for it. The last line is
# "N passed, N failed": the cases and checks of every step; a failed build
# or checkpatch, or a step that printed no count, is one more failure.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
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
	local log=$logs/$1.log name=$1 t=$SECONDS rc
	shift
	echo "== $*"
	"$@" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	echo "-- $name: $((SECONDS - t)) s"
	return "$rc"
}

# The background build: ended with run-all.sh (its own process group).
bg=
# shellcheck disable=SC2317 # (the EXIT trap)
stop_bg() {
	[ -z "$bg" ] || kill -TERM -- "-$bg" 2>/dev/null
}
trap stop_bg EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

logs=$(mktemp -d /tmp/ksmtp-test.XXXXXX)
start=$SECONDS
step deps tests/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
echo "== tests/vm/debug-kernel.sh in the background (log: $logs/debug-kernel.log)"
setsid tests/vm/debug-kernel.sh > "$logs/debug-kernel.log" 2>&1 < /dev/null &
bg=$!
bg_start=$SECONDS
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
step e2e tests/e2e/run.sh
count e2e "$logs/e2e.log"
# The debug kernel: if its build failed, the two steps below try again and
# fail with their own count.
echo "== waiting for tests/vm/debug-kernel.sh"
wait "$bg"
bg_rc=$?
bg=
cat "$logs/debug-kernel.log"
echo "-- debug-kernel: exit $bg_rc, $((SECONDS - bg_start)) s"
# The directory it printed, last: kunit-atomic and e2e-debug boot it as it is.
dk=$(tail -n 1 "$logs/debug-kernel.log")
[ "$bg_rc" -eq 0 ] && [ -d "$dk" ] || dk=
KSMTP_VM_DEBUG=$dk step kunit-atomic tests/kunit/run.sh --atomic
count kunit-atomic "$logs/kunit-atomic.log"
KSMTP_VM_DEBUG=$dk step e2e-debug tests/e2e/run.sh --debug
count e2e-debug "$logs/e2e-debug.log"
echo "logs: $logs"
echo "-- all steps: $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
