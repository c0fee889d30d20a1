# SPDX-License-Identifier: GPL-2.0
#
# make          build ksmtp.ko and the tools (userspace/)
# make install  ksmtp.ko (modules_install, INSTALL_MOD_DIR=extra), the tools,
#               man pages, units, init script, modprobe rule, config example,
#               bash completion (DESTDIR, PREFIX, INSTALL_MOD_PATH; the rest
#               of the directories: userspace/Makefile); make uninstall
# make dkms     the module's source into /usr/src/ksmtp-VERSION, and
#               dkms install of it for the running kernel (or KVER=...)
# make deb      Debian packages ksmtp-dkms and ksmtp-tools into build/deb
# make demo     install what is missing, boot a guest, deliver a mail with ksmtp
# make test     build, checkpatch, KUnit (UML), the guest end-to-end tests,
#               the packages, cross builds and contrib/ checks
# make test-modules  ksmtp.ko plus the sample driver and the bench module
#               (tests only: never installed)
# make e2e-debug  the end-to-end tests on a debug kernel (KASAN, lockdep, kmemleak)
# make check    checkpatch --strict, kernel-doc, sparse, the layering (tests/layers.sh)
#               and the YAML spec against the uAPI header with ynl (tests/ynl.sh)
# make bench    ksmtp beside smtp-source and msmtp, ratios, in a guest (no test)

KABI ?= $(shell tests/vm/kabi.sh 2>/dev/null)
ifneq ($(wildcard /lib/modules/$(shell uname -r)/build),)
KDIR ?= /lib/modules/$(shell uname -r)/build
else
KDIR ?= /usr/src/linux-headers-$(KABI)
endif
VERSION := $(shell cat VERSION)

KSRC = $(filter-out %.mod.c,$(wildcard module/*.c module/*.h module/tests/*.c module/tests/*.h samples/*.c tests/bench/*.c tests/klog/*.c)) \
       include/linux/ksmtp.h include/uapi/linux/ksmtp.h

# Installation: the module's tree (modules_install puts it under
# $(INSTALL_MOD_PATH)/lib/modules/<release>/$(INSTALL_MOD_DIR)).
INSTALL_MOD_DIR ?= extra
INSTALL_MOD_PATH ?= $(DESTDIR)
# The release the module is built for, as modules_install names its
# directory (Debian's headers say 6.1.192 in kernel.release, but 6.1.0-N-amd64
# here and in KERNELRELEASE).
KREL = $(or $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null),$(shell cat $(KDIR)/include/config/kernel.release))
# What a DKMS tree needs to build the module, and nothing else.
DKMS_SRC = Kbuild VERSION dkms.conf module include

all: module userspace

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# The sample driver and the bench module, for the tests (top-level Kbuild).
test-modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) KSMTP_TESTS=1 modules

userspace:
	$(MAKE) -C userspace

# modules_install of module/ alone (its modules.order lists ksmtp.ko only,
# whatever else was built): <release>/extra/ksmtp.ko. Signed as the kernel
# signs external modules when its key is there; without it (Debian's
# headers) signing is left out rather than tried. Debian's headers have no
# System.map, so the kernel skips depmod: it is run here when installing
# into the running system's tree.
KSIGKEY = $(shell sed -n 's/^CONFIG_MODULE_SIG_KEY="\(.*\)"/\1/p' $(KDIR)/.config 2>/dev/null)
MODSIGN = $(if $(filter pkcs11:%,$(KSIGKEY))$(wildcard $(KSIGKEY) $(KDIR)/$(KSIGKEY)),,CONFIG_MODULE_SIG_ALL=)
install-module: module
	$(MAKE) -C $(KDIR) M=$(CURDIR)/module INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) $(MODSIGN) modules_install
	if [ -z "$(INSTALL_MOD_PATH)" ]; then depmod -a "$(KREL)"; fi

install-tools:
	$(MAKE) -C userspace install

install: install-module install-tools

uninstall:
	rm -f "$(INSTALL_MOD_PATH)/lib/modules/$(KREL)/$(INSTALL_MOD_DIR)/ksmtp.ko"
	if [ -z "$(INSTALL_MOD_PATH)" ]; then depmod -a "$(KREL)"; fi
	$(MAKE) -C userspace uninstall

# DKMS: the source tree dkms.conf describes, then dkms add/build/install.
dkms:
	rm -rf "$(DESTDIR)/usr/src/ksmtp-$(VERSION)"
	mkdir -p "$(DESTDIR)/usr/src/ksmtp-$(VERSION)"
	tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='.*.d' --exclude=modules.order \
		--exclude=Module.symvers $(DKMS_SRC) | tar -xf - -C "$(DESTDIR)/usr/src/ksmtp-$(VERSION)"
	if [ -z "$(DESTDIR)" ]; then \
		dkms remove ksmtp/$(VERSION) --all > /dev/null 2>&1 || true; \
		dkms install ksmtp/$(VERSION) $(if $(KVER),-k $(KVER)); fi

deb:
	tests/pkg.sh --build build/deb

deps:
	tests/deps.sh

# KSMTP_TESTS: sparse checks the sample and the bench module too.
check: export KSMTP_TESTS := 1
check:
	tests/checkpatch.sh $(KSRC)
	tests/sparse.sh $(KDIR)
	tests/layers.sh --selftest
	KSMTP_LAYERS_REQUIRE_OBJS=1 tests/layers.sh
	tests/ynl.sh --check

kunit:
	tests/kunit/run.sh

e2e: all
	tests/e2e/run.sh

e2e-debug:
	tests/e2e/run.sh --debug

bench: all
	tests/bench/run.sh

demo: deps
	$(MAKE) all
	tests/vm/demo.sh

test:
	tests/run-all.sh

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) KSMTP_TESTS=1 clean
	$(MAKE) -C userspace clean
	rm -rf build/deb

.PHONY: all module test-modules userspace install install-module install-tools uninstall \
	dkms deb deps check kunit e2e e2e-debug demo bench test clean
