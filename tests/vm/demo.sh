#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: build for the guest's kernel, boot a guest, deliver a mail with
# ksmtp to a real SMTP server in it, and print what happened.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
"$repo/tests/vm/build.sh" || exit 2
res=$(mktemp -d /tmp/ksmtp-demo.XXXXXX)
echo "demo: booting Debian's $("$repo/tests/vm/kabi.sh") kernel in QEMU (TCG, no network card)..."
KSMTP_RESULTS_DIR=$res "$repo/tests/vm/run.sh" "$repo/tests/vm/demo-guest.sh" 600
rc=$?
tr -d '\r' < "$res/serial.log" | sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
	sed -n '/init: running/,$p' | grep -v -e 'init: running' -e 'reboot: Power down'
exit $rc
