#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# sparse (C=2) over the module and the sample driver; any warning fails.
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
kdir=$1
out=$(make -C "$kdir" M="$repo" C=2 CHECK=sparse modules 2>&1) || { echo "$out"; exit 1; }
if grep -E 'warning:|error:' <<<"$out"; then
	echo "sparse: warnings"
	exit 1
fi
echo "sparse: clean"
