#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the modules (ksmtp, the sample driver, the bench helper) against
# the headers of exactly the kernel the guest boots, and ksmtpctl.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
kabi=$("$repo/tests/vm/kabi.sh")
make -s -C "$repo" module KDIR="/usr/src/linux-headers-$kabi" >/dev/null
make -s -C "$repo" userspace >/dev/null
