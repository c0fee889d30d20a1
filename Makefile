# SPDX-License-Identifier: GPL-2.0
#
# make          build ksmtp.ko and ksmtpctl
# make demo     install what is missing, boot a guest, deliver a mail with ksmtp
# make test     build, checkpatch, KUnit (UML) and the guest end-to-end tests
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

KSRC = $(filter-out %.mod.c,$(wildcard module/*.c module/*.h module/tests/*.c module/tests/*.h samples/*.c tests/bench/*.c)) \
       include/linux/ksmtp.h include/uapi/linux/ksmtp.h

all: module userspace

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace:
	$(MAKE) -C userspace

deps:
	tests/deps.sh

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
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C userspace clean

.PHONY: all module userspace deps check kunit e2e e2e-debug demo bench test clean
