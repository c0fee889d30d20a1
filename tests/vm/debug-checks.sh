# SPDX-License-Identifier: GPL-2.0
# Sourced (sh) by the scripts that run inside the debug guest
# (tests/e2e/guest.sh, tests/kunit/guest.sh): kmemleak's scans and the
# kernel's reports, checked the same way in both. They append what they
# find to $report.
kmemleak=/sys/kernel/debug/kmemleak
# shellcheck disable=SC2154 # report: set by the caller

# What boot left unreferenced is not ours: two scans (the first only takes
# checksums; only objects older than 5 s count), then forget it. (A
# kmemleak that is off fails leaks below.)
leaks_forget_boot() {
	{ echo scan > "$kmemleak" && sleep 5 && echo scan > "$kmemleak" &&
		echo clear > "$kmemleak"; } 2>/dev/null || true
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

# What the debug kernel reports: KASAN, lockdep, sleeping in atomic
# context, warnings, refcounts, list corruption. kmemleak's own "suspected
# memory leaks" lines are left out: leaks above is the check that counts
# (the scans at boot found boot's).
pat='BUG:|WARNING:|Oops|general protection|Call Trace|Kernel panic|UBSAN'
pat="$pat|possible circular locking|possible recursive locking|inconsistent lock state"
pat="$pat|sleeping function called|refcount_t:|list_(add|del) corruption|ref_tracker"
pat="$pat|memory leak detector disabled"

kernel_reports() {	# kernel_reports LOG: 1 (and the report) if LOG holds one
	lines=$(grep -E "$pat" "$1") || return 0
	{
		echo "kernel reports:"
		echo "$lines"
		echo "the first one in full:"
		first=$(grep -n -m1 -E "$pat" "$1" | cut -d: -f1)
		tail -n +"$((first > 5 ? first - 5 : 1))" "$1" | head -n 80
	} | tee -a "$report"
	return 1
}
