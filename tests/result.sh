# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by the test steps that print "ok - NAME" / "not ok - NAME" and end
# with "STEP: N passed, N failed" (contrib, cross, install, pkg).
passed=0 failed=0
result_tail=${result_tail:-30}	# lines of DETAILS shown for a failure

result() {	# result NAME STATUS [DETAILS]: print and count one check
	if [ "$2" -eq 0 ]; then
		echo "ok - $1"
		passed=$((passed + 1))
	else
		echo "not ok - $1"
		[ -z "${3:-}" ] || printf '%s\n' "$3" | tail -n "$result_tail" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
}
