#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install, from Debian's archive, whatever the build, the tests and the demo
# need and this machine lacks. Nothing else is needed.
set -euo pipefail
pkgs=(
	make gcc libc6-dev perl python3 bc bison flex libelf-dev libssl-dev sparse
	xz-utils cpio kmod iproute2 util-linux pkg-config
	linux-headers-amd64 linux-source-6.1
	linux-source-6.12 python3-yaml python3-jsonschema
	libnl-3-dev libnl-genl-3-dev libgnutls28-dev libjson-c-dev strace bash-completion
	qemu-system-x86 busybox-static
	python3-aiosmtpd swaks libio-socket-inet6-perl msmtp
	postfix libsasl2-modules sasl2-bin
	ca-certificates openssl
	keyutils dnsmasq-base
	mdadm mount
	build-essential dpkg-dev debhelper dh-dkms dkms fakeroot lintian systemd man-db procps binutils
	gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf
)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
install_missing() {	# install_missing PKG...: those not installed
	local p missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "deps: installing ${missing[*]}"
	if [ -z "$updated" ]; then
		# Postfix is a test peer run inside the guest only: installed
		# unconfigured, so that it never starts as this machine's MTA.
		echo "postfix postfix/main_mailer_type select No configuration" |
			$sudo debconf-set-selections
		$sudo apt-get update -q
		updated=1
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
}
updated=
install_missing "${pkgs[@]}"
# The meta package may point at a newer ABI than the headers installed.
kabi=$("$(dirname "$0")/vm/kabi.sh")
[ -d "/usr/src/linux-headers-$kabi" ] || install_missing "linux-headers-$kabi"
# Debian's 6.12 headers (tests/compat.sh), without the 6.12 kernel image
# that the versioned headers package depends on: its other dependencies
# here, the package itself unpacked into the cache (tests/headers-6.12.sh).
h612=$(dirname "$0")/headers-6.12.sh
if ! p612=$("$h612" --packages); then
	[ -n "$updated" ] || $sudo apt-get update -q
	updated=1
	p612=$("$h612" --packages)
fi
# shellcheck disable=SC2086 # one package per word
install_missing $p612
"$h612" > /dev/null
