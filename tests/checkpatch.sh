#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch --strict on the given kernel sources, from the kernel's own
# tree (Debian's linux-source-6.1; the headers package lacks checkpatch).
# Then kernel-doc -v on all of them (one more case).
# Prints "checkpatch: N passed, N failed" (one case per file).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# Only its scripts are used here. srctree.sh also re-points the tree's
# drivers/ksmtp link at this checkout, which a KUnit run of another checkout
# (CI clones) may be building from: call it only under KUnit's lock, and
# only when the tree is not unpacked yet.
cache=${KSMTP_CACHE:-$HOME/.cache/ksmtp}
src=$cache/linux-source-$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null)
if [ ! -f "$src/.ksmtp-unpacked" ]; then
	mkdir -p "$cache"
	exec 8> "$cache/.kunit.lock"
	flock 8
	src=$("$repo/tests/srctree.sh") || exit 2
	exec 8>&-
fi
pass=0 fail=0
for f in "$@"; do
	if out=$(perl "$src/scripts/checkpatch.pl" --strict --no-tree --terse \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f "$repo/$f" 2>&1) &&
		! grep -qE '(ERROR|WARNING|CHECK):' <<<"$out"; then
		pass=$((pass + 1))
	else
		echo "$out"
		fail=$((fail + 1))
	fi
done
# kernel-doc: every documented function, struct and enum complete.
kdoc=("$@")
if ! out=$(cd "$repo" && perl "$src/scripts/kernel-doc" -none -v "${kdoc[@]}" 2>&1 |
	grep -E 'warning|error'); then
	pass=$((pass + 1))
else
	echo "$out"
	fail=$((fail + 1))
fi
echo "checkpatch: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
