#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: build for the guest's kernel (make test-modules: the bench
# module too) and run tests/bench/guest.sh in a guest; prints its figures.
# KSMTP_BENCH_N sets the number of small mails (500), KSMTP_BENCH_BIG the
# number of 1 MiB bodies (20, sent in KSMTP_BENCH_ROUNDS rounds, 5, each
# way in turn); KSMTP_BENCH_ONLY=big runs the 1 MiB part
# only; KSMTP_BENCH_PERF=1 adds a profile (perf, in the guest) of the
# -batch and smtp-source runs, printed after the figures.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
"$repo/tests/vm/build.sh" || exit 2
res=$(mktemp -d /tmp/ksmtp-bench.XXXXXX)
printf 'KSMTP_BENCH_N=%s\nKSMTP_BENCH_BIG=%s\nKSMTP_BENCH_ROUNDS=%s\nKSMTP_BENCH_ONLY=%s\nKSMTP_BENCH_PERF=%s\n' \
	"${KSMTP_BENCH_N:-500}" "${KSMTP_BENCH_BIG:-20}" "${KSMTP_BENCH_ROUNDS:-5}" \
	"${KSMTP_BENCH_ONLY:-}" "${KSMTP_BENCH_PERF:-}" > "$res/bench.env"
KSMTP_RESULTS_DIR=$res "$repo/tests/vm/run.sh" "$repo/tests/bench/guest.sh" 3600
rc=$?
tr -d '\r' < "$res/serial.log" | sed -n '/^ksmtp bench:/,/ratios at 10,000/p'
echo "(profiles and their call graphs: $res/perf-*.txt)"
for f in "$res"/perf-batch.txt "$res"/perf-source.txt; do
	[ -f "$f" ] || continue
	echo "== profile: $(basename "$f" .txt)"
	grep -v '^#' "$f" | grep -v '^$' | head -n 60
done
exit $rc
