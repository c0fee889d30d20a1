#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's 6.12 headers for tests/compat.sh, without a 6.12 kernel.
# linux-headers-6.12-amd64 (the meta package) resolves to the versioned
# linux-headers-<ABI>-amd64, which depends on its linux-image: installing it
# would put a second kernel and its initramfs into /boot, and change what
# the boot loader starts. Only that package's other dependencies (the
# -common headers, linux-kbuild, gcc-12, ...) are installed (tests/deps.sh);
# the package itself (its .config, Module.symvers, generated headers, and
# links to kbuild) is unpacked into the cache (KSMTP_CACHE, default
# ~/.cache/ksmtp), its relative links made absolute. The ABI is resolved
# at run time, never hard-coded.
#
#   tests/headers-6.12.sh --packages   the apt packages to install first
#   tests/headers-6.12.sh              the KDIR to build against (unpacked
#                                      on the first call); when the package
#                                      is installed, its /usr/src directory
set -euo pipefail

cache=${KSMTP_CACHE:-$HOME/.cache/ksmtp}
meta=linux-headers-6.12-amd64
abi=$(apt-cache depends "$meta" 2>/dev/null |
	sed -n 's/^ *Depends: linux-headers-\([0-9][^ ]*-amd64\)$/\1/p' | head -n1)
if [ -z "$abi" ]; then
	echo "headers-6.12: cannot resolve $meta (apt-get update?)" >&2
	exit 1
fi
pkg=linux-headers-$abi
if [ "${1:-}" = --packages ]; then
	# Its dependencies but the kernel image (an alternative: |Depends).
	apt-cache depends "$pkg" | sed -n 's/^  Depends: \([^ <]*\)$/\1/p' | grep -v '^linux-image-'
	exit 0
fi
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' &&
	[ -d "/usr/src/$pkg" ]; then
	echo "/usr/src/$pkg"
	exit 0
fi
dir=$cache/$pkg
mkdir -p "$cache"
exec 9> "$cache/.headers-6.12.lock"
flock 9
if [ ! -f "$dir/.ksmtp-unpacked" ]; then
	tmp=$(mktemp -d "$cache/.headers-6.12.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -q "$pkg" > download.log 2>&1) ||
		{ cat "$tmp/download.log" >&2; echo "headers-6.12: apt-get download $pkg failed" >&2; exit 1; }
	dpkg-deb -x "$tmp"/"${pkg}"_*.deb "$tmp/root"
	[ -f "$tmp/root/usr/src/$pkg/Makefile" ] ||
		{ echo "headers-6.12: no usr/src/$pkg in the package" >&2; exit 1; }
	# scripts -> ../../lib/linux-kbuild-*/scripts: relative to /usr/src.
	for l in "$tmp/root/usr/src/$pkg"/*; do
		[ -L "$l" ] || continue
		t=$(readlink "$l")
		case $t in ../../*) ln -sfn "/usr/${t#../../}" "$l" ;; esac
	done
	rm -rf "$dir"
	mv "$tmp/root/usr/src/$pkg" "$dir"
	touch "$dir/.ksmtp-unpacked"
fi
echo "$dir"
