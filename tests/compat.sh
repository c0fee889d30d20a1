#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The other side of the TLS compile-time switch: build the module against
# Debian's newer kernel line (6.12 in bookworm: its headers, without its
# kernel, from tests/headers-6.12.sh, which tests/deps.sh set up), which has
# net/handshake. There module/Kbuild picks tls_handshake.c (tlshd) instead
# of tls.c (ksmtp-tlsd). Built only: bookworm has no tlshd to run it with. Prints "compat: N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
kdir=$("$repo/tests/headers-6.12.sh")
abi=${kdir##*/linux-headers-}
if [ -z "$kdir" ] || [ ! -f "$kdir/.config" ]; then
	echo "compat: Debian's 6.12 headers are missing (tests/deps.sh sets them up)"
	echo "compat: 0 passed, 1 failed"
	exit 1
fi
if ! grep -q '^CONFIG_NET_HANDSHAKE=y' "$kdir/.config"; then
	echo "compat: $abi has no net/handshake"
	echo "compat: 0 passed, 1 failed"
	exit 1
fi
# A copy, so that the 6.1 objects of the checkout stay as they are.
tmp=$(mktemp -d /tmp/ksmtp-compat.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
(cd "$repo" && tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
	--exclude='*.mod*' --exclude='.*.d' Kbuild module include samples tests/bench) | tar -xf - -C "$tmp"
if make -s -C "$kdir" M="$tmp" modules > "$tmp/build.log" 2>&1 &&
	[ -f "$tmp/module/tls_handshake.o" ] && [ ! -f "$tmp/module/tls.o" ]; then
	echo "compat: ksmtp.ko builds against $abi with net/handshake (tls_handshake.c)"
	echo "compat: 1 passed, 0 failed"
else
	grep -v BTF "$tmp/build.log"
	echo "compat: ksmtp.ko does not build against $abi"
	echo "compat: 0 passed, 1 failed"
	exit 1
fi
