#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the KUnit suites of ksmtp under UML with the kernel's own kunit.py,
# from Debian's linux-source-6.1. module/ is linked into a scratch copy of
# the tree (a Kconfig entry and one Makefile line, as WireGuard's harness
# does). The unpacked tree and the UML build directory live in a cache
# outside the checkout (KSMTP_CACHE, default ~/.cache/ksmtp), keyed by the
# kernel source version and the .kunitconfig, so later runs are incremental.
#
# Prints "kunit: N passed, N failed" last; a KASAN, lockdep or other kernel
# report anywhere in the log counts as one more failure.
#
# --atomic: the suites again, on the debug guest kernel
# (tests/vm/debug-kernel.sh: x86_64 in QEMU with preemption and
# DEBUG_ATOMIC_SLEEP, which UML lacks, KASAN, lockdep, kmemleak, KUnit).
# ksmtp.ko is built out of tree for it with the suites compiled in
# (KSMTP_KUNIT=1, module/Kbuild), in a copy of the checkout under /tmp so
# that the checkout's objects stay as they are; the guest loads it
# (tests/kunit/guest.sh), which runs the suites, and the KTAP they print
# is counted with kunit.py's parser. Any kernel report (KASAN, lockdep,
# sleeping in atomic context, a leak kmemleak finds once ksmtp is
# unloaded, ...) is one more failure. Prints "kunit-atomic: N passed, N
# failed" last; the guest's logs stay in /tmp/ksmtp-kunit-atomic.*.
# The fuzz suites are not in it: they read get_taint(), which modules
# cannot (they run under UML only).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KSMTP_CACHE:-$HOME/.cache/ksmtp}

count_json() {	# count_json FILE: "PASSED FAILED" in kunit.py's --json output
	python3 - "$1" <<'PY'
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception:
    print(0, 0)
    sys.exit()
p = f = 0
def walk(node):
    global p, f
    for c in node.get("test_cases", []):
        st = c.get("status")
        if st == "PASS":
            p += 1
        elif st in ("FAIL", "ERROR", "CRASHED", "TIMED_OUT"):
            f += 1
    for g in node.get("sub_groups", []):
        walk(g)
walk(data)
print(p, f)
PY
}

if [ "${1:-}" = --atomic ]; then
	label=kunit-atomic
	fail() {
		echo "$label: $*"
		echo "$label: 0 passed, 1 failed"
		exit 1
	}
	t0=$SECONDS
	# KSMTP_VM_DEBUG, a directory debug-kernel.sh printed (tests/run-all.sh
	# built it just before): used as it is, as tests/vm/run.sh does.
	case ${KSMTP_VM_DEBUG:-} in
	/*) kdir=$KSMTP_VM_DEBUG ;;
	*) kdir=$("$repo/tests/vm/debug-kernel.sh") || fail "no debug kernel" ;;
	esac
	tmp=$(mktemp -d /tmp/ksmtp-kunit-atomic.XXXXXX)
	copy=$tmp/src
	trap 'rm -rf "$copy"' EXIT
	mkdir "$copy"
	(cd "$repo" && tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.d' --exclude=Module.symvers \
		--exclude=modules.order VERSION Kbuild module include tests/kunit tests/vm/debug-checks.sh) | tar -xf - -C "$copy"
	make -s -C "$kdir/build" M="$copy" KSMTP_KUNIT=1 modules > "$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; fail "ksmtp.ko with the suites does not build for $kdir/build"; }
	echo "$label: ksmtp.ko with the KUnit suites built for $kdir/build ($((SECONDS - t0)) s)"
	t1=$SECONDS
	rc=0
	# 1.5 GiB: enough for the suites, and kmemleak's scans (most of the
	# guest's time with 4 GiB) cover less.
	KSMTP_VM_DEBUG=$kdir KSMTP_REPO=$copy KSMTP_RESULTS_DIR=$tmp KSMTP_VM_MEM=1536 \
		"$repo/tests/vm/run.sh" "$copy/tests/kunit/guest.sh" 1800 || rc=$?
	echo "$label: the guest took $((SECONDS - t1)) s (logs: $tmp)"
	# The suites of a module have no top-level header: give them one (as
	# many tests as suites started), and number their results from 1.
	ktap=$tmp/suites.ktap
	if [ -f "$tmp/ktap" ]; then
		n=$(grep -c -E '^ {4}# Subtest: ' "$tmp/ktap" || true)
		{
			printf 'KTAP version 1\n1..%d\n' "$n"
			awk '/^(not )?ok [0-9]+ / { i++; sub(/ok [0-9]+ /, "ok " i " ") } { print }' "$tmp/ktap"
		} > "$ktap"
	else
		: > "$ktap"
	fi
	# kunit.py, from the source tree (its links re-pointed under KUnit's lock).
	mkdir -p "$cache"
	exec 9> "$cache/.kunit.lock"
	flock 9
	src=$("$repo/tests/srctree.sh")
	exec 9>&-
	prc=0
	python3 "$src/tools/testing/kunit/kunit.py" parse --json="$tmp/results.json" "$ktap" \
		> "$tmp/parse.out" 2>&1 || prc=$?
	cat "$tmp/parse.out"
	read -r passed failed < <(count_json "$tmp/results.json")
	if grep -q -E 'errors: [1-9]' "$tmp/parse.out"; then
		echo "$label: kunit.py found errors in the KTAP (a test missing?)"
		failed=$((failed + 1))
	fi
	if [ -f "$tmp/kernel-report" ]; then
		echo "$label: the guest's kernel reported (full dmesg: $tmp/dmesg):"
		head -n 300 "$tmp/kernel-report"
		failed=$((failed + 1))
	fi
	if { [ "$rc" -ne 0 ] || [ "$prc" -ne 0 ] || [ "$passed" -eq 0 ]; } && [ "$failed" -eq 0 ]; then
		failed=1
	fi
	echo "$label: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi

label=kunit
kunitconfig=$repo/module/.kunitconfig
# One run at a time per cache: the scratch tree's drivers/ksmtp link and
# the build directory are shared by every checkout that uses the cache.
mkdir -p "$cache"
exec 9> "$cache/.kunit.lock"
flock 9
src=$("$repo/tests/srctree.sh")
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$(sha256sum "$kunitconfig" | cut -c1-12)
build=$cache/um-$ver-$key

# The cache is shared by checkouts (CI clones elsewhere each run): make
# decides by mtimes, so objects built from another checkout may look newer
# than our sources. Rebuild our part whenever the checkout changes.
if [ "$(cat "$build/.ksmtp-repo" 2>/dev/null)" != "$repo" ]; then
	rm -rf "$build/drivers/ksmtp"
	mkdir -p "$build"
	echo "$repo" > "$build/.ksmtp-repo"
fi

json=$(mktemp)
trap 'rm -f "$json"' EXIT
rc=0
(cd "$src" && python3 tools/testing/kunit/kunit.py run \
	--kunitconfig="$kunitconfig" --build_dir="$build" \
	--jobs="$(nproc)" --timeout=1200 --json="$json" "$@") || rc=$?

read -r passed failed < <(count_json "$json")

log=$build/test.log
# UML's virtio-PCI stub warns at boot when no device is configured (it is in
# kunit.py's arch_uml.config): that one warning is not ours.
if [ -f "$log" ] && grep -E -n 'BUG: KASAN|WARNING: possible|possible circular locking|inconsistent lock state|BUG: sleeping function|non-static key|locking correctness validator|general protection|Kernel panic|WARNING: CPU:|BUG: unable|kmemleak|UBSAN' "$log" |
	grep -v 'arch/um/drivers/virt-pci.c'; then
	echo "$label: kernel reported a problem (see $log)" >&2
	failed=$((failed + 1))
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "$label: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
