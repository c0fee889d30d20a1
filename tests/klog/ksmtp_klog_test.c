// SPDX-License-Identifier: GPL-2.0
/*
 * Faults on purpose, for the kernel-log reporter's end-to-end tests
 * (tests/e2e/cases_klog.py); built with make test-modules only, never
 * installed. mode=warn: WARN() count times from module init, gap_us
 * apart (so that a storm lasts a known time at least); mode=oops:
 * a call through a NULL function pointer in a kthread of its own (an
 * oops, "BUG: kernel NULL pointer dereference", on every kernel: KASAN
 * does not check calls; the thread dies, the system goes on unless
 * panic_on_oops is set); mode=hung: a kthread that waits
 * uninterruptibly until the module is removed (a hung task once
 * hung_task_timeout_secs have passed).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/bug.h>
#include <linux/string.h>

static char *mode = "warn";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "warn, oops or hung");
static unsigned int count = 1;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "warn: how many times (1)");
static unsigned int gap_us;
module_param(gap_us, uint, 0444);
MODULE_PARM_DESC(gap_us, "warn: microseconds between two, at least (0)");

static DECLARE_COMPLETION(release);
static struct task_struct *hung;

static void (*nowhere)(void);

static int oops_fn(void *arg)
{
	void (*f)(void) = nowhere;

	/* The compiler must not know it is NULL: a call it knows to be
	 * through NULL it may drop or turn into a trap.
	 */
	OPTIMIZER_HIDE_VAR(f);
	pr_info("oopsing on purpose\n");
	f();
	return 0;
}

static int hung_fn(void *arg)
{
	pr_info("hanging on purpose\n");
	wait_for_completion(&release);
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static int __init klog_test_init(void)
{
	struct task_struct *t;
	unsigned int i;

	if (!strcmp(mode, "warn")) {
		for (i = 0; i < count; i++) {
			WARN(1, "ksmtp_klog_test: warning %u of %u\n", i + 1, count);
			if (gap_us)
				usleep_range(gap_us, gap_us + gap_us / 10 + 1);
		}
		return 0;
	}
	if (!strcmp(mode, "oops")) {
		t = kthread_run(oops_fn, NULL, "ksmtp_klog_oops");
		return PTR_ERR_OR_ZERO(t);
	}
	if (!strcmp(mode, "hung")) {
		t = kthread_run(hung_fn, NULL, "ksmtp_klog_hung");
		if (IS_ERR(t))
			return PTR_ERR(t);
		hung = get_task_struct(t);
		return 0;
	}
	return -EINVAL;
}

static void __exit klog_test_exit(void)
{
	if (hung) {
		complete(&release);
		kthread_stop(hung);
		put_task_struct(hung);
	}
}

module_init(klog_test_init);
module_exit(klog_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ksmtp tests: kernel faults on purpose");
