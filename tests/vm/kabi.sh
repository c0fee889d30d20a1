#!/bin/sh
# Print the ABI name (e.g. 6.1.0-56-amd64) of Debian's current bookworm
# kernel, resolved through the linux-image-amd64 / linux-headers-amd64 meta
# packages, never hard-coded. Installed packages win; else apt's candidate.
set -e
for meta in linux-headers-amd64 linux-image-amd64; do
	dep=$(dpkg-query -W -f='${Depends}' "$meta" 2>/dev/null || true)
	[ -n "$dep" ] || dep=$(apt-cache depends "$meta" 2>/dev/null | sed -n 's/^ *Depends: //p' | head -n1)
	abi=$(printf '%s\n' "$dep" | tr ',' '\n' | sed -n 's/^ *linux-\(headers\|image\)-\([0-9][^ ]*-amd64\).*/\2/p' | head -n1)
	if [ -n "$abi" ]; then
		echo "$abi"
		exit 0
	fi
done
echo "kabi.sh: cannot resolve the kernel ABI (apt-get update; apt-get install linux-headers-amd64)" >&2
exit 1
