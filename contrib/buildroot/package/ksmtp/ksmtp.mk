################################################################################
#
# ksmtp
#
################################################################################

# This checkout, as a BR2_EXTERNAL tree (make BR2_EXTERNAL=.../contrib/buildroot).
KSMTP_SITE = $(BR2_EXTERNAL_KSMTP_PATH)/../..
KSMTP_SITE_METHOD = local
KSMTP_VERSION = $(shell cat $(KSMTP_SITE)/VERSION)
KSMTP_LICENSE = GPL-2.0
KSMTP_DEPENDENCIES = host-pkgconf libnl gnutls json-c

# kernel-module: the top-level Kbuild, which builds module/ (ksmtp.ko) only.
KSMTP_MODULE_SUBDIRS = .

KSMTP_USERSPACE_OPTS = PREFIX=/usr KSMTP_WERROR= \
	UNITDIR=/usr/lib/systemd/system MODPROBEDIR=/lib/modprobe.d

# The tools, with the toolchain's CC and flags (userspace/Makefile adds its
# own to them).
define KSMTP_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(TARGET_CONFIGURE_OPTS) $(MAKE) -C $(@D)/userspace \
		$(KSMTP_USERSPACE_OPTS)
endef

define KSMTP_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(TARGET_CONFIGURE_OPTS) $(MAKE) -C $(@D)/userspace \
		$(KSMTP_USERSPACE_OPTS) DESTDIR=$(TARGET_DIR) install
endef

# BusyBox init's rcS runs /etc/init.d/S??*.
define KSMTP_INSTALL_INIT_SYSV
	mv $(TARGET_DIR)/etc/init.d/ksmtp $(TARGET_DIR)/etc/init.d/S50ksmtp
endef

$(eval $(kernel-module))
$(eval $(generic-package))
