#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Cross-build ksmtp.ko for the gateways' usual CPUs, arm64 and armhf, with
# Debian's cross compilers (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf)
# against Debian's linux-source-6.1: each architecture's defconfig
# (arm64: defconfig, arm: multi_v7_defconfig, ARMv7 as armhf) plus what
# the module needs and embedded defconfigs may leave off (the fragment
# below: CONFIG_TLS for kernel TLS, off in both; CONFIG_DNS_RESOLVER for
# server names), each checked to be on afterwards, then modules_prepare. The source is unpacked once, untouched (its own copy,
# not tests/srctree.sh's, whose include/ links to a checkout), and each
# architecture is configured out of tree (O=), all in the cache
# (KSMTP_CACHE, ~/.cache/ksmtp) keyed by the source's version, the
# architecture and the fragment: the first run takes some minutes, later
# ones build the module only. Checks the ELF machine and the vermagic of
# each ksmtp.ko. Last line: "cross: N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KSMTP_CACHE:-$HOME/.cache/ksmtp}
tarball=/usr/src/linux-source-6.1.tar.xz

fragment='CONFIG_MODULES=y
CONFIG_NET=y
CONFIG_INET=y
CONFIG_TLS=m
CONFIG_DNS_RESOLVER=m'

. "$repo/tests/result.sh"

if [ ! -f "$tarball" ]; then
	echo "cross: $tarball missing (tests/deps.sh installs linux-source-6.1)"
	echo "cross: 0 passed, 1 failed"
	exit 1
fi
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
src=$cache/cross-src-$ver
mkdir -p "$cache"
(
	flock 9
	if [ ! -f "$src/.unpacked" ]; then
		echo "cross: unpacking linux-source $ver into $src"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xJf "$tarball" -C "$src.tmp" --strip-components=1 &&
			touch "$src.tmp/.unpacked" && mv "$src.tmp" "$src"
	fi
) 9> "$cache/.cross-src.lock"
if [ ! -f "$src/.unpacked" ]; then
	echo "cross: cannot unpack $tarball"
	echo "cross: 0 passed, 1 failed"
	exit 1
fi
key=$(printf '%s\n' "$fragment" | sha256sum | cut -c1-12)

# The module's source tree alone (what DKMS and the recipes get), so that
# nothing of the checkout's own x86 build is mixed in.
mod=$(mktemp -d /tmp/ksmtp-cross.XXXXXX)
trap 'rm -rf "$mod"' EXIT

for spec in "arm64 arm64 aarch64-linux-gnu- defconfig AArch64 aarch64" \
	"armhf arm arm-linux-gnueabihf- multi_v7_defconfig ARM ARMv7"; do
	read -r name karch cross defconfig machine magic <<<"$spec"
	if ! command -v "${cross}gcc" > /dev/null; then
		result "cross_${name}_ksmtp_ko" 1 "${cross}gcc missing (tests/deps.sh installs it)"
		continue
	fi
	b=$cache/cross-$ver-$name-$key
	mkdir -p "$b"
	log=$b/prepare.log
	kmake() {
		make -C "$src" O="$b" ARCH="$karch" CROSS_COMPILE="$cross" "$@"
	}
	(
		flock 9
		[ -f "$b/.prepared" ] && exit 0
		echo "cross: $name: $defconfig + fragment, modules_prepare in $b (log: $log)"
		rm -f "$b/.config"
		{
			kmake "$defconfig" &&
				printf '%s\n' "$fragment" > "$b/ksmtp.config" &&
				(cd "$b" && "$src/scripts/kconfig/merge_config.sh" -m .config ksmtp.config) &&
				kmake olddefconfig
		} > "$log" 2>&1 || exit 1
		# On (=y where the defconfig builds it in or something selects it).
		while IFS== read -r sym _; do
			grep -Eqx "$sym=(y|m)" "$b/.config" || { echo "not on in .config: $sym" >> "$log"; exit 1; }
		done <<<"$fragment"
		kmake -j"$(nproc)" modules_prepare >> "$log" 2>&1 || exit 1
		touch "$b/.prepared"
	) 9> "$b/.lock"
	if [ ! -f "$b/.prepared" ]; then
		result "cross_${name}_kernel_prepared" 1 "$(tail -n 30 "$log")"
		continue
	fi
	d=$mod/$name
	mkdir -p "$d"
	(cd "$repo" && tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
		--exclude='*.mod' --exclude='*.mod.c' --exclude='.*.d' --exclude=modules.order \
		--exclude=Module.symvers Kbuild VERSION module include) | tar -xf - -C "$d"
	# No Module.symvers from modules_prepare: modpost warns that the
	# kernel's symbols are unknown; the module itself must build clean.
	out=$(kmake -j"$(nproc)" M="$d" modules 2>&1)
	rc=$?
	ko=$d/module/ksmtp.ko
	hdr=$(readelf -h "$ko" 2>&1)
	vm=$(modinfo -F vermagic "$ko" 2>&1)
	[ "$rc" -eq 0 ] && [ -f "$ko" ] && grep -q "^ *Machine: *$machine\$" <<<"$hdr" &&
		grep -qw "$magic" <<<"$vm"
	result "cross_${name}_ksmtp_ko" $? "$out
$hdr
vermagic: $vm"
	[ ! -f "$ko" ] || echo "cross: $name: $(grep -m1 'Machine:' <<<"$hdr" | tr -s ' ' | sed 's/^ //'), vermagic $vm"
done
echo "cross: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
