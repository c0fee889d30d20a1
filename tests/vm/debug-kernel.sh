#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, or bring up to date, the debug guest kernel that
# tests/e2e/run.sh --debug boots (tests/vm/run.sh with KSMTP_VM_DEBUG):
# Debian's linux-source-6.1 (the tree tests/srctree.sh unpacks, never
# modified: built out of tree with O=), configured as the Kconfig defaults
# plus tests/vm/debug.config (KASAN, lockdep, DEBUG_ATOMIC_SLEEP with
# PREEMPT, kmemleak, DEBUG_LIST, the netns and netdev refcount trackers;
# 9p, overlayfs and kTLS built in; WireGuard as a module). Everything lives in the cache
# outside the checkout (KSMTP_CACHE, default ~/.cache/ksmtp), keyed by the
# linux-source version and the fragment's hash, so later runs are
# incremental. Prints the directory, which holds:
#   build/                 the O= build directory: arch/x86/boot/bzImage
#                          (QEMU's -kernel) and the KDIR for out-of-tree
#                          modules
#   release                the kernel release (uname -r in the guest)
#   modroot/lib/modules/R  make modules_install's tree, depmod'ed
#   initramfs.gz           busybox and tests/vm/init, no modules
#   build.log              the last build's output
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${KSMTP_CACHE:-$HOME/.cache/ksmtp}
frag=$repo/tests/vm/debug.config
initramfs_rev=2

[ -f /usr/src/linux-source-6.1.tar.xz ] ||
	{ echo "debug-kernel: linux-source-6.1 missing (tests/deps.sh installs it)" >&2; exit 2; }
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$(sha256sum "$frag" | cut -c1-12)
dir=$cache/debug-$ver-$key
b=$dir/build
mkdir -p "$b"
# One build at a time per directory (checkouts share the cache).
exec 9> "$dir/.lock"
flock 9

# The source tree: srctree.sh unpacks it once, and points its drivers/ksmtp
# link (a KUnit-only Kconfig entry, unset here) at a checkout. Kconfig reads
# that link, so it must resolve; re-pointing it only under KUnit's lock, as
# a KUnit run in another checkout may be using it.
src=$cache/linux-source-$ver
if [ ! -f "$src/.ksmtp-unpacked" ] || [ ! -e "$src/drivers/ksmtp/Kconfig" ]; then
	exec 8> "$cache/.kunit.lock"
	flock 8
	src=$("$repo/tests/srctree.sh")
	exec 8>&-
fi

kmake() {
	make -C "$src" O="$b" ARCH=x86_64 "$@"
}

log=$dir/build.log
start=$SECONDS
if [ ! -f "$b/.config" ]; then
	echo "debug-kernel: configuring $b" >&2
	cp "$frag" "$b/.config"
	kmake olddefconfig > "$log" 2>&1 || { cat "$log" >&2; rm -f "$b/.config"; exit 1; }
fi
# Every line of the fragment must have survived (a dependency missing
# would silently drop an option, as kunit.py also checks).
bad=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$b/.config" || { echo "debug-kernel: not in .config: $line" >&2; bad=1; }
		;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		! grep -q "^$sym=" "$b/.config" || { echo "debug-kernel: set in .config: $sym" >&2; bad=1; }
		;;
	esac
done < "$frag"
[ "$bad" -eq 0 ] || exit 1

echo "debug-kernel: building $b (log: $log)" >&2
if ! kmake -j"$(nproc)" bzImage modules > "$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -n 20 >&2
	tail -n 20 "$log" >&2
	echo "debug-kernel: build failed (log: $log)" >&2
	exit 1
fi
release=$(kmake -s kernelrelease)
echo "$release" > "$dir/release"
# Installed again only when a module changed: a guest may be using them.
if [ ! -f "$dir/.modules-installed" ] ||
	[ -n "$(find "$b" -name '*.ko' -newer "$dir/.modules-installed" -print -quit)" ]; then
	rm -rf "$dir/modroot.new" "$dir/.modules-installed"
	kmake INSTALL_MOD_PATH="$dir/modroot.new" modules_install >> "$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; echo "debug-kernel: modules_install failed" >&2; exit 1; }
	# The links back to the build tree would point into the host's cache.
	rm -f "$dir/modroot.new/lib/modules/$release/build" "$dir/modroot.new/lib/modules/$release/source"
	rm -rf "$dir/modroot"
	mv "$dir/modroot.new" "$dir/modroot"
	touch "$dir/.modules-installed"
fi

# initramfs: busybox and tests/vm/init (which switches to the host's root),
# as tests/vm/prepare.sh's but without modules: 9p, virtio-pci and overlayfs
# are built in, so /modules/order is empty. Redone when init changes.
stamp=$initramfs_rev-$(cat "$repo/tests/vm/init" /bin/busybox | sha256sum | cut -c1-12)
if [ "$(cat "$dir/.initramfs" 2>/dev/null)" != "$stamp" ]; then
	ird=$dir/initramfs
	rm -rf "$ird" "$dir/.initramfs"
	mkdir -p "$ird"/{bin,dev,proc,sys,mnt/lower,mnt/rw,newroot,modules}
	cp /bin/busybox "$ird/bin/busybox"
	mknod -m 600 "$ird/dev/console" c 5 1
	: > "$ird/modules/order"
	cp "$repo/tests/vm/init" "$ird/init"
	chmod +x "$ird/init"
	(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$dir/initramfs.gz.new"
	mv "$dir/initramfs.gz.new" "$dir/initramfs.gz"
	echo "$stamp" > "$dir/.initramfs"
fi
echo "debug-kernel: $release ready in $((SECONDS - start))s" >&2
echo "$dir"
