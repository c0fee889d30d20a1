#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the path of a scratch copy of Debian's linux-source-6.1 tree, in the
# cache outside the checkout (KSMTP_CACHE, default ~/.cache/ksmtp), unpacking
# it the first time. The copy has a Kconfig entry and a Makefile line for
# drivers/ksmtp, which links to this checkout's module/ (re-pointed on every
# call: CI clones elsewhere each time).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KSMTP_CACHE:-$HOME/.cache/ksmtp}
tarball=/usr/src/linux-source-6.1.tar.xz

if [ ! -f "$tarball" ]; then
	echo "srctree.sh: $tarball missing: apt-get install linux-source-6.1" >&2
	exit 2
fi
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
src=$cache/linux-source-$ver
mkdir -p "$cache"
if [ ! -f "$src/.ksmtp-unpacked" ]; then
	echo "srctree.sh: unpacking linux-source $ver into $src" >&2
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	echo 'source "drivers/ksmtp/Kconfig"' >> "$src.tmp/drivers/Kconfig"
	echo 'obj-$(CONFIG_KSMTP) += ksmtp/' >> "$src.tmp/drivers/Makefile"
	touch "$src.tmp/.ksmtp-unpacked"
	mv "$src.tmp" "$src"
fi
ln -sfn "$repo/module" "$src/drivers/ksmtp"
ln -sfn "$repo/include/linux/ksmtp.h" "$src/include/linux/ksmtp.h"
ln -sfn "$repo/include/uapi/linux/ksmtp.h" "$src/include/uapi/linux/ksmtp.h"
echo "$src"
