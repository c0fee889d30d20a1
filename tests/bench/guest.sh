#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark, inside the guest: one local aiosmtpd, and N small mails
# sent three ways to it, side by side in one run: through the kernel's
# queue, through `ksmtpctl send` one by one, through msmtp one by one.
# It prints rates and ratios; it never fails on a figure.
set -e
[ -f "${KSMTP_RESULTS:-}/bench.env" ] && . "$KSMTP_RESULTS/bench.env"
n=${KSMTP_BENCH_N:-500}
kabi=$(uname -r)
mkdir -p "/lib/modules/$kabi/extra"
cp module/ksmtp.ko "/lib/modules/$kabi/extra/"
depmod -a
modprobe ksmtp
insmod tests/bench/ksmtp_bench.ko
dmesg -n 1
PATH=$PWD/userspace:$PATH
spool=$(mktemp -d)
/usr/bin/python3 tests/bench/server.py 127.0.0.1 2550 "$spool/count" &
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/2550) 2>/dev/null && break
	sleep 0.2
done
ksmtpctl set server 127.0.0.1 port 2550 from bench@example.org rcpt bench@example.net \
	auth none coalesce-ms 0 queue-max 65536 queue-bytes 268435456 retry-base-ms 100

count() { cat "$spool/count" 2>/dev/null || echo 0; }
wait_for() {	# wait until the server counted $1 mails
	while [ "$(count)" -lt "$1" ]; do sleep 0.05; done
}
now() { date +%s.%N; }

base=$(count)
t0=$(now)
echo "$n" > /sys/kernel/debug/ksmtp_bench/queue
wait_for $((base + n))
t1=$(now)
read -r _ queued _ refused _ median < /sys/kernel/debug/ksmtp_bench/result

base=$(count)
t2=$(now)
for i in $(seq "$n"); do
	echo "A small mail for the benchmark." | ksmtpctl send subject "ksmtpctl $i" >/dev/null
done
wait_for $((base + n))
t3=$(now)

printf 'account default\nhost 127.0.0.1\nport 2550\nfrom bench@example.org\nauth off\ntls off\n' > "$spool/msmtprc"
base=$(count)
t4=$(now)
for i in $(seq "$n"); do
	printf 'Subject: msmtp %s\n\nA small mail for the benchmark.\n' "$i" |
		msmtp -C "$spool/msmtprc" bench@example.net
done
wait_for $((base + n))
t5=$(now)

python3 - "$n" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$queued" "$refused" "$median" <<'PY'
import sys
n = int(sys.argv[1])
t = [float(x) for x in sys.argv[2:8]]
queued, refused, median = int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10])
q, c, m = n / (t[1] - t[0]), n / (t[3] - t[2]), n / (t[5] - t[4])
print("ksmtp bench: %d small mails to a local aiosmtpd, in a TCG guest (one run)" % n)
print("  kernel queue (ksmtp_mail_queue)   %8.1f mails/s   (queued %d, refused %d)" % (q, queued, refused))
print("  ksmtpctl send, one by one         %8.1f mails/s" % c)
print("  msmtp, one by one                 %8.1f mails/s" % m)
print("  ratios: queue/ksmtpctl %.2f   queue/msmtp %.2f   ksmtpctl/msmtp %.2f" % (q / c, q / m, c / m))
print("  median cost of one ksmtp_mail_queue() call, spinlock held, irqs off: %d ns" % median)
PY
