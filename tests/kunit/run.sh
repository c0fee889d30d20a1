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
# --atomic: the queue suite again, on x86_64 in QEMU with DEBUG_ATOMIC_SLEEP
# and preemption (module/atomic.kunitconfig); prints "kunit-atomic: ...".
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KSMTP_CACHE:-$HOME/.cache/ksmtp}
arch=um
label=kunit
kunitconfig=$repo/module/.kunitconfig
if [ "${1:-}" = --atomic ]; then
	# DEBUG_ATOMIC_SLEEP needs preemption, which UML lacks: an x86_64
	# kernel in QEMU, for the suites that queue from atomic context.
	shift
	arch=x86_64
	label=kunit-atomic
	kunitconfig=$repo/module/atomic.kunitconfig
	set -- --arch=x86_64 "$@" 'ksmtp-queue'
fi
# One run at a time per cache: the scratch tree's drivers/ksmtp link and
# the build directory are shared by every checkout that uses the cache.
mkdir -p "$cache"
exec 9> "$cache/.kunit.lock"
flock 9
src=$("$repo/tests/srctree.sh")
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$(sha256sum "$kunitconfig" | cut -c1-12)
build=$cache/$arch-$ver-$key

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

read -r passed failed < <(python3 - "$json" <<'PY'
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
)

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
