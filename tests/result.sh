# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by the test steps that print "ok - NAME" / "not ok - NAME" and end
# with "STEP: N passed, N failed" (contrib, cross, install, pkg), and the
# check of the installed files' paths that install and pkg share.
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

# unit_paths SBIN SERVICE TLSD_SERVICE MODPROBE_RULE INIT_SCRIPT: what of
# the installed files does not name the tools in SBIN (the directory as
# installed, without DESTDIR), one word each; nothing when all do.
unit_paths() {
	grep -qx "ExecStart=$1/ksmtpctl setconf -a" "$2" || echo "ksmtp.service's ExecStart"
	grep -qx "ExecStartPost=-$1/ksmtpctl pstore" "$2" || echo "ksmtp.service's pstore"
	grep -qx "ExecStart=$1/ksmtp-tlsd" "$3" || echo "ksmtp-tlsd.service's ExecStart"
	grep -q "^install ksmtp .*$1/ksmtpctl setconf -a" "$4" || echo "the modprobe rule"
	grep -qx "CTL=$1/ksmtpctl" "$5" || echo "the init script's ksmtpctl"
	! grep -q '@[A-Z]*@' "$2" "$3" "$4" "$5" || echo "a template's @VAR@ left"
}
