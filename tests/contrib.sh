#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# contrib/: the Yocto layer and the Buildroot external tree, checked without
# Yocto or Buildroot (neither is in Debian), as far as that honestly goes:
# - Yocto: tests/contrib-bitbake.py parses each recipe, include and
#   layer.conf as BitBake's grammar has it (assignments and their operators,
#   overrides and flags, inherit, require, shell and python tasks, addtask,
#   line continuations, quoting), checks that each recipe inherits what it
#   must (module; pkgconfig systemd update-rc.d), names LICENSE, SRC_URI,
#   LIC_FILES_CHKSUM (each file and md5 checked against this checkout), is
#   versioned as VERSION, and that the make targets and variables it hands
#   the top-level and userspace Makefiles exist there.
# - Buildroot: Config.in read by the kernel's own Kconfig parser (Debian's
#   linux-kbuild conf) beside stubs of the symbols it uses, ksmtp selected
#   and its selections checked; ksmtp.mk evaluated by make with the package
#   infrastructures stubbed (kernel-module, then generic-package, as
#   Buildroot evaluates them), its variables checked, and its build, install
#   and init commands run for real with the host's compiler, installing into
#   a scratch target directory, whose files are checked.
# Last line: "contrib: N passed, N failed".
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

. "$repo/tests/result.sh"

tmp=$(mktemp -d /tmp/ksmtp-contrib.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --- Yocto
out=$(python3 "$repo/tests/contrib-bitbake.py" "$repo" 2>&1)
result contrib_yocto_recipes $? "$out"
printf '%s\n' "$out" | grep '^yocto:' || true

# --- Buildroot: Config.in through Kconfig
br=$repo/contrib/buildroot
conf=$(ls /usr/lib/linux-kbuild-*/scripts/kconfig/conf 2>/dev/null | sort -V | tail -n1)
if [ -z "$conf" ]; then
	result contrib_buildroot_config_in 1 "no Kconfig parser (linux-kbuild, from linux-headers-amd64)"
else
	# What Buildroot's own Config.in defines, as stubs; the external tree's
	# $BR2_EXTERNAL_KSMTP_PATH as Buildroot's kconfig expands it.
	sed "s|\$BR2_EXTERNAL_KSMTP_PATH|$br|g" "$br/Config.in" > "$tmp/external.in"
	{
		echo 'mainmenu "ksmtp contrib check"'
		for s in BR2_LINUX_KERNEL BR2_TOOLCHAIN_HAS_THREADS BR2_USE_WCHAR; do
			printf 'config %s\n\tbool\n\tdefault y\n' "$s"
		done
		printf 'config BR2_STATIC_LIBS\n\tbool\n'
		for s in BR2_PACKAGE_LIBNL BR2_PACKAGE_GNUTLS BR2_PACKAGE_JSON_C; do
			printf 'config %s\n\tbool\n' "$s"
		done
		echo "source \"$tmp/external.in\""
	} > "$tmp/Config.in"
	echo 'BR2_PACKAGE_KSMTP=y' > "$tmp/all.config"
	# CONFIG_ empty: symbols written without the kernel's CONFIG_ prefix, as
	# Buildroot's kconfig writes them.
	kout=$(cd "$tmp" && env CONFIG_= KCONFIG_CONFIG="$tmp/.config" KCONFIG_ALLCONFIG="$tmp/all.config" \
		"$conf" --alldefconfig "$tmp/Config.in" 2>&1)
	rc=$?
	want="BR2_PACKAGE_KSMTP=y BR2_PACKAGE_LIBNL=y BR2_PACKAGE_GNUTLS=y BR2_PACKAGE_JSON_C=y"
	for w in $want; do grep -qx "$w" "$tmp/.config" 2>/dev/null || rc=1; done
	grep -qi 'warning\|error' <<<"$kout" && rc=1
	result contrib_buildroot_config_in "$rc" "$kout
$(cat "$tmp/.config" 2>/dev/null)"
fi

# --- Buildroot: ksmtp.mk with the infrastructures stubbed, its commands run
site=$tmp/build/ksmtp-custom
mkdir -p "$site" "$tmp/target/etc/init.d"
(cd "$repo" && tar -cf - --exclude=./.git --exclude=./build --exclude='*.o' --exclude='*.ko' \
	--exclude='.*.cmd' --exclude='*.mod' --exclude='*.mod.c' --exclude=./userspace/ksmtpctl \
	--exclude=./userspace/ksmtp-tlsd .) | tar -xf - -C "$site"
cat > "$tmp/stub.mk" <<EOF
# Buildroot's infrastructure, stubbed (package/pkg-generic.mk,
# package/pkg-kernel-module.mk): each records its call and the package's
# variables; the build and install steps are rules whose \$(@D) is the
# package's build directory, as in Buildroot.
BR2_EXTERNAL_KSMTP_PATH := $br
BUILD_DIR := $tmp/build
TARGET_DIR := $tmp/target
TARGET_MAKE_ENV := PATH=\$(PATH)
TARGET_CONFIGURE_OPTS := CC=gcc CFLAGS="-O2 -g" CPPFLAGS= LDFLAGS= PKG_CONFIG=pkg-config
MAKE := make
pkgdir = \$(dir \$(lastword \$(MAKEFILE_LIST)))
pkgname = \$(lastword \$(subst /, ,\$(pkgdir)))
UPPERCASE = \$(shell echo \$(1) | tr a-z- A-Z_)
CALLS :=
kernel-module = \$(eval CALLS += kernel-module:\$(pkgname))
define stub-generic
CALLS += generic-package:\$(1)
\$(BUILD_DIR)/\$(1)-custom/.stamp_built:
	\$\$(\$(2)_BUILD_CMDS)
\$(BUILD_DIR)/\$(1)-custom/.stamp_installed: \$(BUILD_DIR)/\$(1)-custom/.stamp_built
	\$\$(\$(2)_INSTALL_TARGET_CMDS)
	\$\$(\$(2)_INSTALL_INIT_SYSV)
endef
generic-package = \$(eval \$(call stub-generic,\$(pkgname),\$(call UPPERCASE,\$(pkgname))))
include $br/external.mk
show:
	@echo 'calls: \$(CALLS)'
	@echo 'version: \$(KSMTP_VERSION)'
	@echo 'site: \$(realpath \$(KSMTP_SITE)) \$(KSMTP_SITE_METHOD)'
	@echo 'license: \$(KSMTP_LICENSE)'
	@echo 'deps: \$(KSMTP_DEPENDENCIES)'
	@echo 'subdirs: \$(KSMTP_MODULE_SUBDIRS)'
EOF
show=$(make -s -f "$tmp/stub.mk" show 2>&1)
rc=$?
exp="calls: kernel-module:ksmtp generic-package:ksmtp
version: $(cat "$repo/VERSION")
site: $repo local
license: GPL-2.0
deps: host-pkgconf libnl gnutls json-c
subdirs: ."
[ "$rc" -eq 0 ] && [ "$show" = "$exp" ]
result contrib_buildroot_mk_variables $? "got:
$show
want:
$exp"
dry=$(make -n -f "$tmp/stub.mk" "$tmp/build/ksmtp-custom/.stamp_installed" 2>&1)
rc=$?
run=$(make -s -f "$tmp/stub.mk" "$tmp/build/ksmtp-custom/.stamp_installed" 2>&1)
rc2=$?
miss=""
for f in usr/sbin/ksmtpctl usr/sbin/ksmtp-tlsd etc/init.d/S50ksmtp lib/modprobe.d/ksmtp.conf \
	usr/lib/systemd/system/ksmtp.service etc/ksmtp/ksmtp.conf.example \
	usr/share/man/man8/ksmtpctl.8; do
	[ -e "$tmp/target/$f" ] || miss="$miss $f"
done
grep -q '^CTL=/usr/sbin/ksmtpctl$' "$tmp/target/etc/init.d/S50ksmtp" 2>/dev/null || miss="$miss (S50ksmtp's path)"
[ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] && [ -z "$miss" ]
result contrib_buildroot_mk_build_and_install "$?" "missing:$miss
$dry
$run"
echo "contrib: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
