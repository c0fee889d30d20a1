// SPDX-License-Identifier: GPL-2.0
/*
 * The KUnit suites of an out-of-tree ksmtp.ko (KSMTP_KUNIT=1, module/Kbuild;
 * tests only): run once the module is initialized, not as it comes
 * (kunit_module.h), when the parameter is written:
 *
 *   modprobe ksmtp && echo 1 > /sys/module/ksmtp/parameters/kunit_run
 *
 * The write returns when every suite has run, in the writer's context; the
 * KTAP goes to the kernel log, as KUnit prints it for any module. The
 * suites' debugfs entries are removed again at once: they would outlive
 * the module (tests/kunit/run.sh --atomic reads the log).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include "kunit_module.h"

static struct {
	struct kunit_suite **suites;
	int n;
} sets[16];
static int nsets;	/* set by the constructors, before the module's init */
static DEFINE_MUTEX(run_lock);

/**
 * ksmtp_kunit_defer() - keep a kunit_test_suites() array for kunit_run
 * @suites: the array
 * @n: its length
 *
 * Context: the module's constructors, before its init function; one
 * thread.
 */
void ksmtp_kunit_defer(struct kunit_suite **suites, int n)
{
	if (WARN_ON(nsets >= ARRAY_SIZE(sets)))
		return;
	sets[nsets].suites = suites;
	sets[nsets].n = n;
	nsets++;
}

static int kunit_run_set(const char *val, const struct kernel_param *kp)
{
	int i, n = 0;

	mutex_lock(&run_lock);
	for (i = 0; i < nsets; i++) {
		__kunit_test_suites_init(sets[i].suites, sets[i].n);
		n += sets[i].n;
	}
	for (i = 0; i < nsets; i++)
		__kunit_test_suites_exit(sets[i].suites, sets[i].n);
	mutex_unlock(&run_lock);
	pr_info("%d KUnit suites run\n", n);
	return 0;
}

static const struct kernel_param_ops kunit_run_ops = {
	.set = kunit_run_set,
};
module_param_cb(kunit_run, &kunit_run_ops, NULL, 0200);
MODULE_PARM_DESC(kunit_run, "written: run the KUnit suites (KSMTP_KUNIT=1 builds only)");
