# SPDX-License-Identifier: GPL-2.0
SUMMARY = "ksmtp: an SMTP client in the Linux kernel (ksmtp.ko)"
DESCRIPTION = "ksmtp.ko runs an SMTP client on in-kernel sockets, so that a \
driver that detects a fault can send mail itself. TLS needs the kernel's \
CONFIG_TLS, server names CONFIG_DNS_RESOLVER."

require ksmtp.inc

inherit module

# The top-level Makefile against the kernel this image builds: its module
# target builds module/ only (the top Kbuild; the sample and bench modules
# are for the project's tests), install-module runs the kernel's
# modules_install for it (module.bbclass passes O=, CC, LD and MODLIB;
# INSTALL_MOD_PATH keeps depmod off the build host).
EXTRA_OEMAKE += "KDIR=${STAGING_KERNEL_DIR} INSTALL_MOD_PATH=${D}"
MAKE_TARGETS = "module"
MODULES_INSTALL_TARGET = "install-module"

RPROVIDES:${PN} += "kernel-module-ksmtp"
