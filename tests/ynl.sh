#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's YNL tooling: tools/net/ynl (cli.py, lib/ynl.py, lib/nlspec.py,
# ynl-gen-c.py) and Documentation/netlink (the spec schemas), from Debian's
# linux-source-6.12 (tests/deps.sh installs it). Only those two directories
# are unpacked, once per package version, into the cache outside the
# checkout (KSMTP_CACHE, default ~/.cache/ksmtp): ynl-<version>, made whole
# in a temporary directory and then renamed, under a lock, so that
# concurrent runs and an interrupted one never see a partial tree. The
# guest of the end-to-end tests sees it there (tests/e2e/run.sh passes the
# path on as KSMTP_YNL).
#
#   tests/ynl.sh           print the path of cli.py
#   tests/ynl.sh --check   check include/uapi/linux/ksmtp.yaml with that
#                          tooling (tests/ynl-check.py): it loads with schema
#                          validation, ynl-gen-c.py renders it to exactly the
#                          enums and defines of include/uapi/linux/ksmtp.h,
#                          and ynl encodes and decodes requests from it.
#                          One line on success; else what differs, exit 1.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${KSMTP_CACHE:-$HOME/.cache/ksmtp}
pkg=linux-source-6.12
tarball=/usr/src/$pkg.tar.xz
# Debian's python3: python3-yaml and python3-jsonschema are its packages
# (tests/deps.sh), and the guest runs it too.
py=/usr/bin/python3

if ! ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) || [ -z "$ver" ] ||
	[ ! -f "$tarball" ]; then
	echo "ynl: $pkg is not installed ($tarball); run tests/deps.sh" >&2
	exit 1
fi
dir=$cache/ynl-$ver
if [ ! -d "$dir" ]; then
	mkdir -p "$cache"
	exec 9> "$cache/.ynl.lock"
	flock 9
	if [ ! -d "$dir" ]; then
		# What an interrupted run left (nobody else extracts: we hold the lock).
		rm -rf "$cache"/.ynl-tmp.*
		tmp=$(mktemp -d "$cache/.ynl-tmp.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		echo "ynl: unpacking tools/net/ynl and Documentation/netlink of $pkg $ver" >&2
		# The tarball's top directory is the package's name.
		tar -xJf "$tarball" -C "$tmp" --strip-components=1 \
			"$pkg/tools/net/ynl" "$pkg/Documentation/netlink"
		for f in tools/net/ynl/cli.py tools/net/ynl/lib/ynl.py tools/net/ynl/lib/nlspec.py \
			tools/net/ynl/ynl-gen-c.py Documentation/netlink/genetlink-c.yaml; do
			if [ ! -f "$tmp/$f" ]; then
				echo "ynl: $tarball has no $f" >&2
				exit 1
			fi
		done
		chmod 755 "$tmp"
		mv -T "$tmp" "$dir"
		trap - EXIT
	fi
	exec 9>&-
fi
cli=$dir/tools/net/ynl/cli.py

if [ "${1:-}" != --check ]; then
	echo "$cli"
	exit 0
fi
for m in yaml jsonschema; do
	if ! "$py" -c "import $m" 2>/dev/null; then
		echo "ynl: $py lacks the module $m (python3-$m); run tests/deps.sh" >&2
		exit 1
	fi
done
cd "$repo"
exec "$py" tests/ynl-check.py --ynl "$dir" --spec include/uapi/linux/ksmtp.yaml \
	--header include/uapi/linux/ksmtp.h
