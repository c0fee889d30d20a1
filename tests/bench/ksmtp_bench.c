// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark helper: writing N to /sys/kernel/debug/ksmtp_bench/queue
 * queues N small distinct mails with ksmtp_mail_queue(), each call made
 * with a spinlock held and interrupts off, and timed; writing "W N" first
 * queues W mails untimed (they wait: the caller configures a long
 * coalescing window) and then times N calls. Reading
 * /sys/kernel/debug/ksmtp_bench/result gives
 * "queued N refused N median_ns N max_ns N p99_ns N". Writing N to .../big
 * queues N bodies of 1 MiB (lines of 78 octets) the same way, untimed;
 * "N qp" the same bodies with a first line of 2000 octets (quoted-printable).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/debugfs.h>
#include <linux/ktime.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/ksmtp.h>

static struct dentry *dir;
static DEFINE_SPINLOCK(lock);
static DEFINE_MUTEX(result_lock);
static char result[128];
static unsigned long keys;

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static ssize_t queue_write(struct file *file, const char __user *buf,
			   size_t len, loff_t *ppos)
{
	struct ksmtp_queue_args a = {
		.kq_rcpt = "bench@example.net",
		.kq_subject = "ksmtp bench",
		.kq_body = "A small mail for the benchmark.\n",
		.kq_body_len = 32,
	};
	unsigned int w = 0, n, i, refused = 0;
	unsigned long flags;
	char req[32];
	u64 *ns, t0;
	int err;

	if (len >= sizeof(req))
		return -EINVAL;
	if (copy_from_user(req, buf, len))
		return -EFAULT;
	req[len] = '\0';
	if (sscanf(req, "%u %u", &w, &n) != 2) {
		w = 0;
		if (kstrtouint(strim(req), 10, &n))
			return -EINVAL;
	}
	if (!n || n > 100000 || w > 100000)
		return -EINVAL;
	ns = kvmalloc_array(n, sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < w; i++) {
		a.kq_key = ++keys;	/* distinct: no coalescing */
		ksmtp_mail_queue(&a, NULL);
	}
	for (i = 0; i < n; i++) {
		a.kq_key = ++keys;
		spin_lock_irqsave(&lock, flags);
		t0 = ktime_get_ns();
		err = ksmtp_mail_queue(&a, NULL);
		ns[i] = ktime_get_ns() - t0;
		spin_unlock_irqrestore(&lock, flags);
		if (err)
			refused++;
	}
	sort(ns, n, sizeof(*ns), cmp_u64, NULL);
	mutex_lock(&result_lock);
	snprintf(result, sizeof(result),
		 "queued %u refused %u median_ns %llu max_ns %llu p99_ns %llu\n",
		 n - refused, refused, ns[n / 2], ns[n - 1], ns[n - 1 - n / 100]);
	mutex_unlock(&result_lock);
	kvfree(ns);
	return len;
}

static ssize_t big_write(struct file *file, const char __user *buf,
			 size_t len, loff_t *ppos)
{
	struct ksmtp_queue_args a = {
		.kq_rcpt = "bench@example.net",
		.kq_subject = "ksmtp bench 1 MiB",
		.kq_body_len = 1 << 20,
	};
	unsigned int n, i, qp = 0;
	char req[32], *body;
	int err = 0;

	if (len >= sizeof(req))
		return -EINVAL;
	if (copy_from_user(req, buf, len))
		return -EFAULT;
	req[len] = '\0';
	if (sscanf(req, "%u qp%n", &n, &qp) < 1)
		return -EINVAL;
	if (!n || n > 1000)
		return -EINVAL;
	body = kvmalloc(a.kq_body_len, GFP_KERNEL);
	if (!body)
		return -ENOMEM;
	for (i = 0; i < a.kq_body_len; i++)
		body[i] = i % 79 == 78 ? '\n' : 'x';
	/* "N qp": a first line of 2000 octets, over SMTP's 998: the body
	 * goes quoted-printable
	 */
	if (qp)
		memset(body, 'y', 2000);
	a.kq_body = body;
	for (i = 0; i < n && !err; i++) {
		a.kq_key = ++keys;
		err = ksmtp_mail_queue(&a, NULL);
	}
	kvfree(body);
	return err ?: len;
}

static ssize_t result_read(struct file *file, char __user *buf, size_t len,
			   loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&result_lock);
	ret = simple_read_from_buffer(buf, len, ppos, result, strlen(result));
	mutex_unlock(&result_lock);
	return ret;
}

static const struct file_operations queue_fops = {
	.owner = THIS_MODULE,
	.write = queue_write,
	.llseek = noop_llseek,
};

static const struct file_operations big_fops = {
	.owner = THIS_MODULE,
	.write = big_write,
	.llseek = noop_llseek,
};

static const struct file_operations result_fops = {
	.owner = THIS_MODULE,
	.read = result_read,
	.llseek = default_llseek,
};

static int __init ksmtp_bench_init(void)
{
	dir = debugfs_create_dir("ksmtp_bench", NULL);
	debugfs_create_file("queue", 0200, dir, NULL, &queue_fops);
	debugfs_create_file("big", 0200, dir, NULL, &big_fops);
	debugfs_create_file("result", 0400, dir, NULL, &result_fops);
	return 0;
}

static void __exit ksmtp_bench_exit(void)
{
	debugfs_remove_recursive(dir);
}

module_init(ksmtp_bench_init);
module_exit(ksmtp_bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ksmtp queue benchmark helper");
