#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark, inside the guest, side by side in one boot, against
# Postfix's own load-test pair: smtp-sink as the server, smtp-source (the C
# client Postfix ships for this) beside ksmtp. It prints rates and ratios;
# it never fails on a figure (the guest is emulated, the host shared).
#  - N small mails: the kernel queue, `ksmtpctl send` one by one, msmtp one
#    by one, smtp-source with a session per mail and with one session (-d);
#  - M bodies of 1 MiB: `ksmtpctl send` and smtp-source;
#  - the cost of one ksmtp_mail_queue() call (median, 99th percentile and
#    maximum, in interleaved rounds; spinlock held, interrupts off) with 10
#    and with 10,000 mails waiting.
set -e
[ -f "${KSMTP_RESULTS:-}/bench.env" ] && . "$KSMTP_RESULTS/bench.env"
n=${KSMTP_BENCH_N:-500}
m=${KSMTP_BENCH_BIG:-20}
# KSMTP_BENCH_ONLY=big: the 1 MiB bodies only (with the `show` call);
# KSMTP_BENCH_PERF=1: profiles of the -batch and smtp-source runs, after
# the timed ones (perf record -a, the
# cpu-clock: TCG has no PMU) into $KSMTP_RESULTS/perf-*.txt
only=${KSMTP_BENCH_ONLY:-}
profile=${KSMTP_BENCH_PERF:-}
kabi=$(uname -r)
mkdir -p "/lib/modules/$kabi/extra"
cp module/ksmtp.ko "/lib/modules/$kabi/extra/"
depmod -a
modprobe ksmtp
insmod tests/bench/ksmtp_bench.ko
dmesg -n 1
PATH=$PWD/userspace:$PATH
work=$(mktemp -d)
smtp-sink -u nobody 127.0.0.1:2550 256 &
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/2550) 2>/dev/null && break
	sleep 0.2
done
ksmtpctl set server 127.0.0.1 port 2550 from bench@example.org rcpt bench@example.net \
	auth none coalesce-ms 0 queue-max 65536 queue-bytes 268435456 retry-base-ms 100

# (no python in the polling loop: its start-up alone takes long under TCG)
sent() { ksmtpctl stats -j | sed -n 's/^{ *"sent": *\([0-9]*\),.*/\1/p'; }
now() { date +%s.%N; }
declare -A T
src() { smtp-source -M bench.example -f bench@example.org -t bench@example.net "$@" 127.0.0.1:2550; }

# Small mails
if [ "$only" != big ]; then
base=$(sent)
t0=$(now)
echo "$n" > /sys/kernel/debug/ksmtp_bench/queue
while [ "$(sent)" -lt $((base + n)) ]; do sleep 0.05; done
T[queue]=$(python3 -c "print($(now) - $t0)")
read -r _ queued _ refused _ _ _ _ < /sys/kernel/debug/ksmtp_bench/result

t0=$(now)
for i in $(seq "$n"); do
	echo "A small mail for the benchmark." | ksmtpctl send subject "ksmtpctl $i" >/dev/null
done
T[ksmtpctl]=$(python3 -c "print($(now) - $t0)")

printf 'account default\nhost 127.0.0.1\nport 2550\nfrom bench@example.org\nauth off\ntls off\n' > "$work/msmtprc"
t0=$(now)
for i in $(seq "$n"); do
	printf 'Subject: msmtp %s\n\nA small mail for the benchmark.\n' "$i" |
		msmtp -C "$work/msmtprc" bench@example.net
done
T[msmtp]=$(python3 -c "print($(now) - $t0)")

t0=$(now); src -s 1 -m "$n" -l 32; T[source]=$(python3 -c "print($(now) - $t0)")
t0=$(now); src -s 1 -d -m "$n" -l 32; T[source_d]=$(python3 -c "print($(now) - $t0)")
else
	queued=0 refused=0
	for k in queue ksmtpctl msmtp source source_d; do T[$k]=1; done
fi

# Bodies of 1 MiB: lines of 78 octets, 7bit; the same with one line of
# 2000 octets first: quoted-printable
python3 -c 'import sys; l = b"x" * 78 + b"\n"; sys.stdout.buffer.write((l * (1048576 // 79 + 1))[:1048576])' > "$work/big"
{ head -c 2000 /dev/zero | tr '\0' y; echo; head -c $((1048576 - 2001)) "$work/big"; } > "$work/bigqp"
# In rounds, each way in turn (m / rounds mails each a round), so that a
# host whose load changes during the run weighs on all of them alike.
rounds=${KSMTP_BENCH_ROUNDS:-5}
per=$(( (m + rounds - 1) / rounds ))
m=$((per * rounds))
for k in big_ksmtpctl big_batch big_qp big_source big_source1 big_queue big_queue_qp; do
	T[$k]=0
done
# T[$1] += now - $2
add() { T[$1]=$(awk -v a="${T[$1]}" -v b="$2" -v c="$(now)" 'BEGIN { printf "%.6f", a + c - b }'); }
for i in $(seq "$per"); do echo "send subject 'big batch $i' body-file $work/big"; done > "$work/batch"
for _ in $(seq "$rounds"); do
	t0=$(now)
	for i in $(seq "$per"); do
		ksmtpctl send subject "big $i" < "$work/big" >/dev/null
	done
	add big_ksmtpctl "$t0"
	# ... and all of them from one ksmtpctl process (-batch), as
	# smtp-source sends all its mails from one
	t0=$(now)
	ksmtpctl -batch "$work/batch" >/dev/null
	add big_batch "$t0"
	t0=$(now)
	for i in $(seq "$per"); do
		ksmtpctl send subject "big qp $i" < "$work/bigqp" >/dev/null
	done
	add big_qp "$t0"
	t0=$(now)
	src -s 1 -m "$per" -l 1048576
	add big_source "$t0"
	# ... and with a process per mail, as ksmtpctl send goes
	t0=$(now)
	for _ in $(seq "$per"); do src -s 1 -m 1 -l 1048576; done
	add big_source1 "$t0"
	# The same bodies through the kernel's queue (no process per mail)
	base=$(sent)
	t0=$(now)
	echo "$per" > /sys/kernel/debug/ksmtp_bench/big
	while [ "$(sent)" -lt $((base + per)) ]; do sleep 0.05; done
	add big_queue "$t0"
	# ... and quoted-printable ones (a first line over 998 octets): what
	# the encoding costs the kernel, without a process's own costs
	base=$(sent)
	t0=$(now)
	echo "$per qp" > /sys/kernel/debug/ksmtp_bench/big
	while [ "$(sent)" -lt $((base + per)) ]; do sleep 0.05; done
	add big_queue_qp "$t0"
done
# Profiles, apart from the timed runs: where each one's time goes
prof() {
	local name=$1
	shift
	perf record -q -a -g -e cpu-clock -F 1000 -o "$work/perf-$name.data" -- "$@" \
		>/dev/null 2>"$KSMTP_RESULTS/perf-$name.err" || true
	{
		perf report -q -i "$work/perf-$name.data" --no-children --sort comm \
			--percent-limit 0.3 -g none
		perf report -q -i "$work/perf-$name.data" --no-children --sort comm,dso,sym \
			--percent-limit 0.3 -g none
	} > "$KSMTP_RESULTS/perf-$name.txt" 2>/dev/null || true
	# who calls the kernel's hot spots: callers of the top symbols
	perf report -q -i "$work/perf-$name.data" --no-children --sort comm,sym \
		--percent-limit 1 -g caller,0.5,callee,function,percent \
		> "$KSMTP_RESULTS/perf-$name-graph.txt" 2>/dev/null || true
}
if [ -n "$profile" ]; then
	prof batch ksmtpctl -batch "$work/batch"
	prof source smtp-source -M bench.example -f bench@example.org -t bench@example.net \
		-s 1 -m "$per" -l 1048576 127.0.0.1:2550
fi
# What one ksmtpctl call costs here before any mail: start, netlink, exit
t0=$(now)
for _ in $(seq 20); do ksmtpctl show >/dev/null; done
T[show]=$(python3 -c "print(($(now) - $t0) / 20)")

# The cost of ksmtp_mail_queue() with mails waiting (they wait: a long
# coalescing window): in rounds, 10 and 10,000 waiting in turn, the queue
# flushed before each, so that a moment of the host's (which stops the
# emulated CPU, interrupts off or not) falls on one round, not on one side.
: > "$work/enqueue"
if [ "$only" != big ]; then
ksmtpctl set coalesce-ms 3600000
for _ in $(seq "$rounds"); do
	for w in 10 10000; do
		ksmtpctl queue flush >/dev/null
		echo "$w 1000" > /sys/kernel/debug/ksmtp_bench/queue
		read -r _ _ _ _ _ med _ max _ p99 < /sys/kernel/debug/ksmtp_bench/result
		echo "$w $med $p99 $max" >> "$work/enqueue"
	done
done
ksmtpctl queue flush >/dev/null
fi

python3 - "$only" "$n" "$m" "$queued" "$refused" "$work/enqueue" \
	"${T[queue]}" "${T[ksmtpctl]}" "${T[msmtp]}" "${T[source]}" "${T[source_d]}" \
	"${T[big_ksmtpctl]}" "${T[big_source]}" "${T[big_qp]}" "${T[big_queue]}" "${T[show]}" "${T[big_source1]}" "${T[big_batch]}" "${T[big_queue_qp]}" <<'PY'
import sys
only = sys.argv[1]
a = sys.argv[2:]
n, m, queued, refused = (int(x) for x in a[:4])
enq = {}
for line in open(a[4]):
    w, med, p99, mx = (int(x) for x in line.split())
    enq.setdefault(w, []).append((med, p99, mx))
q, c, ms, s, sd, bc, bs, bq, bk, show, bs1, bb, bkq = (float(x) for x in a[5:])
r = lambda k, t: k / t
print("ksmtp bench: one TCG guest boot, smtp-sink as the server (one run, no test)")
if only != "big":
  print("  %d small mails:" % n)
  print("    kernel queue (ksmtp_mail_queue)   %8.1f mails/s   (queued %d, refused %d)" % (r(n, q), queued, refused))
  print("    ksmtpctl send, one by one         %8.1f mails/s" % r(n, c))
  print("    msmtp, one by one                 %8.1f mails/s" % r(n, ms))
  print("    smtp-source, a session per mail   %8.1f mails/s" % r(n, s))
  print("    smtp-source -d, one session       %8.1f mails/s" % r(n, sd))
  print("    ratios: queue/smtp-source -d %.2f (target 1.2)   queue/smtp-source %.2f   "
        "ksmtpctl/msmtp %.2f" % (sd / q, s / q, ms / c))
print("  %d bodies of 1 MiB:" % m)
print("    ksmtpctl send                     %8.2f MiB/s" % r(m, bc))
print("    ksmtpctl -batch, one process      %8.2f MiB/s" % r(m, bb))
print("    smtp-source                       %8.2f MiB/s" % r(m, bs))
print("    ksmtpctl send, quoted-printable   %8.2f MiB/s" % r(m, bq))
print("    kernel queue (ksmtp_mail_queue)   %8.2f MiB/s" % r(m, bk))
print("    kernel queue, quoted-printable    %8.2f MiB/s" % r(m, bkq))
print("    smtp-source, a process per mail   %8.2f MiB/s" % r(m, bs1))
print("    ratios: ksmtpctl send/smtp-source %.2f   queue/smtp-source %.2f   "
      "quoted-printable/7bit %.2f (queue %.2f)" % (bs / bc, bs / bk, bc / bq, bk / bkq))
print("    ratio, one process each: ksmtpctl -batch/smtp-source %.2f (target 0.9)" % (bs / bb))
print("    ratio, a process per mail each: ksmtpctl/smtp-source %.2f" % (bs1 / bc))
if only == "big":
    print("    one ksmtpctl call without a mail (show) costs %.0f ms here" % (show * 1000))
    sys.exit(0)
print("    one ksmtpctl call without a mail (show) costs %.0f ms here; a 1 MiB body "
      "adds %.0f ms to a ksmtpctl send, %.0f ms to an smtp-source session" % (
          show * 1000, (bc / m - c / n) * 1000, (bs / m - s / n) * 1000))
rounds = len(enq[10])
mid = lambda v: sorted(v)[len(v) // 2]
fig = {}
print("  ksmtp_mail_queue(), spinlock held, irqs off, %d rounds of 1000 calls each way:" % rounds)
for w, name in ((10, "10 waiting:    "), (10000, "10,000 waiting:")):
    r_ = enq[w]
    # median: the rounds' middle median; p99 and max: of the quietest
    # round (the host's moments are not the queue's), and the worst max
    fig[w] = (mid([x[0] for x in r_]), min(x[1] for x in r_), min(x[2] for x in r_))
    print("    %s median %6d ns, p99 %7d ns, max %8d ns (quietest round; worst max %d ns)" % (
        name, fig[w][0], fig[w][1], fig[w][2], max(x[2] for x in r_)))
ratio = lambda i: fig[10000][i] / max(fig[10][i], 1)
print("    ratios at 10,000 / at 10: median %.2f, p99 %.2f, max %.2f (target 1.5)" % (
      ratio(0), ratio(1), ratio(2)))
PY
