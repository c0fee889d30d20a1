#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make install, make uninstall and the userspace Makefile's flags, in
# scratch directories (DESTDIR), against Debian's headers:
# - make install installs ksmtp.ko alone (modules_install of module/, in
#   extra/: never the sample or the bench module, even freshly built), the
#   tools, man pages, both units, the init script, the modprobe rule, the
#   config example and the bash completion, every path in them following
#   PREFIX (/usr/local and /usr); make uninstall leaves no file behind;
# - systemd-analyze verify passes on the units make install wrote, in a
#   root made of them and the host's own units;
# - the init script is POSIX sh (dash and BusyBox ash parse it); kmod
#   parses the modprobe rule;
# - userspace/Makefile honours a caller's CPPFLAGS, CFLAGS and LDFLAGS
#   (dpkg-buildflags with hardening=+all: they reach the compiler and the
#   binary, and the build, still with -Werror, passes), and a caller's
#   CFLAGS without the project's own flags (-O0) does not break it.
# Last line: "install: N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
kabi=$(tests/vm/kabi.sh)
kdir=/usr/src/linux-headers-$kabi

. "$repo/tests/result.sh"

tmp=$(mktemp -d /tmp/ksmtp-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# A copy: the checkout's own objects stay as they are.
src=$tmp/src
mkdir "$src"
tar -cf - --exclude=./.git --exclude=./build --exclude='*.o' --exclude='*.ko' \
	--exclude='.*.cmd' --exclude='*.mod' --exclude='*.mod.c' --exclude='.*.d' \
	--exclude=Module.symvers --exclude=modules.order --exclude=__pycache__ \
	--exclude=./userspace/ksmtpctl --exclude=./userspace/ksmtp-tlsd . | tar -xf - -C "$src"
# The test modules built first: make install must still leave them out.
make -s -C "$src" test-modules KDIR="$kdir" > "$tmp/test-modules.log" 2>&1

for prefix in /usr/local /usr; do
	d=$tmp/dest${prefix//\//-}
	log=$tmp/install${prefix//\//-}.log
	make -C "$src" install KDIR="$kdir" DESTDIR="$d" PREFIX="$prefix" > "$log" 2>&1
	rc=$?
	files=$(cd "$d" 2>/dev/null && find . -type f | sed 's|^\./||' | sort)
	want="etc/init.d/ksmtp
etc/ksmtp/ksmtp.conf.example
etc/modprobe.d/ksmtp.conf
etc/systemd/system/ksmtp-tlsd.service
etc/systemd/system/ksmtp.service
lib/modules/$kabi/extra/ksmtp.ko
${prefix#/}/sbin/ksmtp-tlsd
${prefix#/}/sbin/ksmtpctl
${prefix#/}/share/man/man8/ksmtp-tlsd.8
${prefix#/}/share/man/man8/ksmtpctl.8"
	[ -f "$src/userspace/ksmtpctl.bash-completion" ] &&
		want="$want
${prefix#/}/share/bash-completion/completions/ksmtpctl"
	want=$(sort <<<"$want")
	[ "$rc" -eq 0 ] && [ "$files" = "$want" ]
	result "install_files_prefix${prefix//\//_}" $? "$(tail -n 15 "$log")
installed:
$files
wanted:
$want"

	bad=$(unit_paths "$prefix/sbin" "$d/etc/systemd/system/ksmtp.service" \
		"$d/etc/systemd/system/ksmtp-tlsd.service" "$d/etc/modprobe.d/ksmtp.conf" \
		"$d/etc/init.d/ksmtp")
	! grep -rq '@[A-Z]*@' "$d/etc" || bad="$bad
a template's @VAR@ left in etc/"
	[ -z "$bad" ]
	result "install_paths_follow_prefix${prefix//\//_}" $? "wrong:
$bad"

	root=$tmp/root${prefix//\//-}
	mkdir -p "$root/sbin" "$root/lib/systemd"
	cp -a "$d"/. "$root"/
	cp -a /lib/systemd/system "$root/lib/systemd/"
	cp -L /sbin/modprobe "$root/sbin/modprobe"
	v=$(MANPATH=$root$prefix/share/man systemd-analyze verify --root="$root" \
		/etc/systemd/system/ksmtp.service /etc/systemd/system/ksmtp-tlsd.service 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] && [ -z "$v" ]
	result "install_systemd_analyze_verify${prefix//\//_}" $? "$v"

	make -C "$src" uninstall KDIR="$kdir" DESTDIR="$d" PREFIX="$prefix" > "$log" 2>&1
	rc=$?
	left=$(find "$d" -type f)
	[ "$rc" -eq 0 ] && [ -z "$left" ]
	result "uninstall_prefix${prefix//\//_}" $? "$(tail -n 5 "$log")
left: $left"
done

# The init script and the modprobe rule, as written for /usr.
d=$tmp/dest-usr
make -s -C "$src/userspace" install DESTDIR="$d" PREFIX=/usr > /dev/null 2>&1
out=$(sh -n "$d/etc/init.d/ksmtp" 2>&1 && busybox sh -n "$d/etc/init.d/ksmtp" 2>&1 &&
	"$d/etc/init.d/ksmtp" 2>&1)
rc=$?
# (Without an argument: its usage, exit 2, and ksmtpctl not installed on the
# host: it exits 0 first. Either way it ran.)
[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]
result install_init_script_posix_sh $? "$out"
out=$(modprobe -C "$d/etc/modprobe.d/ksmtp.conf" --showconfig 2>&1)
grep -q '^install ksmtp /sbin/modprobe --ignore-install ksmtp \$CMDLINE_OPTS && ' <<<"$out"
result install_modprobe_rule_parsed_by_kmod $? "$out"

# The caller's flags: Debian's, hardened, with the project's -Werror kept.
u=$tmp/flags
mkdir -p "$u"
cp -a "$src/userspace" "$src/include" "$src/VERSION" "$u/"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags=$(dpkg-buildflags --get CFLAGS) cppflags=$(dpkg-buildflags --get CPPFLAGS)
ldflags=$(dpkg-buildflags --get LDFLAGS)
unset DEB_BUILD_MAINT_OPTIONS
out=$(make -C "$u/userspace" clean all CFLAGS="$cflags" CPPFLAGS="$cppflags" LDFLAGS="$ldflags" 2>&1)
rc=$?
bad=""
for f in -D_FORTIFY_SOURCE=2 -fstack-protector-strong -Wl,-z,now -Werror -std=gnu11; do
	grep -q -- "$f" <<<"$out" || bad="$bad no:$f"
done
for b in ksmtpctl ksmtp-tlsd; do
	elf=$(readelf -d "$u/userspace/$b" 2>&1)
	grep -q BIND_NOW <<<"$elf" || bad="$bad $b:no-BIND_NOW"
done
[ "$rc" -eq 0 ] && [ -z "$bad" ]
result userspace_makefile_honours_callers_flags $? "$bad
$out"
out=$(make -C "$u/userspace" clean all CFLAGS=-O0 CPPFLAGS= LDFLAGS= 2>&1)
rc=$?
[ "$rc" -eq 0 ] && [ -x "$u/userspace/ksmtpctl" ] && grep -q -- '-std=gnu11' <<<"$out"
result userspace_makefile_callers_bare_cflags $? "$out"
echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
