#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Harness self-test: crash the guest kernel on purpose. tests/vm/run.sh
# must report it (exit 125, "guest died") instead of hanging.
echo 1 > /proc/sys/kernel/sysrq
echo c > /proc/sysrq-trigger
sleep 60
