/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Forced into the KUnit suites of an out-of-tree ksmtp.ko built with
 * KSMTP_KUNIT=1 (module/Kbuild; tests only, never the product).
 *
 * KUnit runs a module's suites as the module is coming, before its init
 * function; ksmtp's need the module initialized (its per-namespace state,
 * its genetlink family), as they are when built in. So the suites are
 * kept out of KUnit's section: each kunit_test_suites() becomes a
 * constructor handing its suites to kunit_module.c, which runs them once
 * the module is live, when its kunit_run parameter is written.
 */
#ifndef _KSMTP_TESTS_KUNIT_MODULE_H
#define _KSMTP_TESTS_KUNIT_MODULE_H

#include <kunit/test.h>

void ksmtp_kunit_defer(struct kunit_suite **suites, int n);

#undef __kunit_test_suites
#define __kunit_test_suites(unique_array, ...)				\
	static void __used __attribute__((constructor)) unique_array(void) \
	{								\
		static struct kunit_suite *suites[] = { __VA_ARGS__ };	\
									\
		ksmtp_kunit_defer(suites, ARRAY_SIZE(suites));		\
	}

#endif /* _KSMTP_TESTS_KUNIT_MODULE_H */
