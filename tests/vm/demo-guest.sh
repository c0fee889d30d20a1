#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo, inside the guest: a real SMTP server (aiosmtpd requiring
# STARTTLS, then AUTH), the TLS helper ksmtp-tlsd started as its init line
# or systemd unit would, ksmtp configured with ksmtpctl, one mail sent by
# the kernel over kernel TLS, and the mail as the server received it.
set -e
kabi=$(uname -r)
mkdir -p "/lib/modules/$kabi/extra"
cp module/ksmtp.ko "/lib/modules/$kabi/extra/"
depmod -a
dmesg -n 1
PATH=$PWD/userspace:$PATH
spool=$(mktemp -d)
pw=$(mktemp)
head -c 12 /dev/urandom | base64 > "$pw"

run() {
	echo "# $*"
	"$@"
}

certs=$(mktemp -d)
/usr/bin/python3 -c "import sys; sys.path.insert(0, 'tests/e2e'); import fixture
fixture.make_certs('$certs', 'mail.example.org')"
/usr/bin/python3 tests/e2e/fixture.py 127.0.0.1 2525 gateway "$pw" "$spool" \
	starttls "$certs/server.pem" "$certs/server.key" &
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/2525) 2>/dev/null && break
	sleep 0.2
done
echo
echo "== Linux $kabi (Debian's kernel, in a QEMU guest); ksmtp loads on first use =="
run ksmtpctl set server 127.0.0.1 port 2525 from gateway@example.org \
	rcpt ops@example.net domain gw1.example.org auth plain user gateway \
	password-file "$pw" tls starttls tls-name mail.example.org \
	ca-file "$certs/ca.pem"
run lsmod | grep -E '^(Module|ksmtp)'
echo "# ksmtp-tlsd -v &    (the TLS handshake helper: systemd unit or inittab line)"
ksmtp-tlsd -v &
sleep 1
run ksmtpctl show
echo "# printf 'Fan 2 on board 1 stopped.\n...' | ksmtpctl send subject 'Fan failure on gw1' priority high"
printf 'Fan 2 on board 1 stopped.\nTemperature is rising: 81 C.\n.\nThis line follows a lone dot.\n' |
	ksmtpctl send subject "Fan failure on gw1" priority high
echo
echo "== The mail as the SMTP server received it ($spool/000.eml) =="
cat "$spool/000.eml"
echo
run ksmtpctl stats
