#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the modules (ksmtp, and for the tests the sample driver and the bench
# helper: make test-modules) against the headers of exactly the kernel the
# guest boots, and ksmtpctl.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
kabi=$("$repo/tests/vm/kabi.sh")
make -s -C "$repo" test-modules KDIR="/usr/src/linux-headers-$kabi" >/dev/null
make -s -C "$repo" userspace >/dev/null
