#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare the guest: Debian's own kernel (linux-image-<ABI>, fetched with
# apt-get download and unpacked into a cache, never installed into /boot),
# its vmlinux (from the bzImage's xz stream, booted through PVH), the
# module tree (depmod'ed, for modprobe inside the guest) and an initramfs
# with busybox-static and the modules that mount the host's root over 9p.
# Prints the guest directory. Idempotent: a ready cache is reused.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KSMTP_CACHE:-$HOME/.cache/ksmtp}
kabi=${KABI:-$("$repo/tests/vm/kabi.sh")}
dir=$cache/vm-$kabi
initramfs_rev=6

fetch_kernel() {
	echo "prepare: guest kernel $kabi into $dir" >&2
	rm -rf "$dir"
	mkdir -p "$dir/deb"
	local try
	for try in 1 2 3; do
		(cd "$dir/deb" && apt-get download "linux-image-$kabi" >&2) && break
		[ "$try" -lt 3 ] || { echo "prepare: cannot download linux-image-$kabi" >&2; exit 1; }
		sleep 5
	done
	dpkg-deb -x "$dir/deb/"linux-image-*.deb "$dir/root" ||
		{ echo "prepare: cannot unpack linux-image-$kabi" >&2; exit 1; }
	rm -rf "$dir/deb"

	# vmlinux: the xz stream inside the bzImage.
	local vmlinuz=$dir/root/boot/vmlinuz-$kabi off
	# (no "| head" here: under pipefail its SIGPIPE to grep would fail us)
	off=$(grep -abo -m1 $'\xfd7zXZ\x00' "$vmlinuz" || true)
	off=${off%%$'\n'*}
	off=${off%%:*}
	[ -n "$off" ] || { echo "prepare: no xz stream in $vmlinuz" >&2; exit 1; }
	tail -c +"$((off + 1))" "$vmlinuz" | xz -dc > "$dir/vmlinux" 2>/dev/null || true
	if [ "$(head -c 4 "$dir/vmlinux" | od -An -c | tr -d ' ')" != '177ELF' ]; then
		echo "prepare: could not unpack vmlinux" >&2
		exit 1
	fi
	depmod -b "$dir/root" "$kabi"
	touch "$dir/.kernel-ready"
}

if [ -f "$dir/.ready-$initramfs_rev" ]; then
	echo "$dir"
	exit 0
fi
[ -f "$dir/.kernel-ready" ] || fetch_kernel
rm -rf "$dir/initramfs" "$dir/initramfs.gz" "$dir"/.ready-*

# initramfs: busybox, the 9p/overlay modules in dependency order, /init.
ird=$dir/initramfs
mkdir -p "$ird"/{bin,dev,proc,sys,mnt/lower,mnt/rw,newroot,modules}
cp /bin/busybox "$ird/bin/busybox"
mknod -m 600 "$ird/dev/console" c 5 1
: > "$ird/modules/order"
for m in virtio_pci 9pnet_virtio 9p overlay; do
	modprobe -d "$dir/root" -S "$kabi" --show-depends "$m" |
	while read -r kind path _; do
		[ "$kind" = insmod ] || continue
		base=$(basename "$path")
		if ! grep -qx "$base" "$ird/modules/order"; then
			cp "$path" "$ird/modules/$base"
			echo "$base" >> "$ird/modules/order"
		fi
	done
done
cp "$repo/tests/vm/init" "$ird/init"
# The kernel runs its modprobe helper in the initramfs's root, not in the
# chroot that /init runs the tests in: hand it over.
mkdir -p "$ird/sbin"
printf '#!/bin/busybox sh\nexec /bin/busybox chroot /newroot /sbin/modprobe "$@"\n' > "$ird/sbin/modprobe"
chmod +x "$ird/sbin/modprobe"
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$dir/initramfs.gz"
touch "$dir/.ready-$initramfs_rev"
echo "$dir"
