// SPDX-License-Identifier: GPL-2.0
/*
 * A driver that reports faults by mail through ksmtp's in-kernel API:
 *
 * - on load, from process context, it creates its own client and sends one
 *   report synchronously (ksmtp_mail_send());
 * - with storm=N, a timer fires and its callback (atomic context) reports
 *   the same fault N times with ksmtp_notify(): the queue turns the storm
 *   into one mail "repeated N-1 times";
 * - writing to /sys/kernel/debug/ksmtp_sample/fault queues a report with a
 *   spinlock held (ksmtp_mail_queue()), as an interrupt handler would.
 *
 *   insmod ksmtp_sample.ko server=127.0.0.1 port=2525 \
 *	from=sample@example.org rcpt=ops@example.net storm=10000
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/ksmtp.h>
#include <linux/timer.h>
#include <linux/debugfs.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

static char *server = "127.0.0.1";
module_param(server, charp, 0444);
MODULE_PARM_DESC(server, "SMTP server address, IPv4 or IPv6");
static ushort port = 25;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "SMTP server port");
static char *from = "sample@example.org";
module_param(from, charp, 0444);
MODULE_PARM_DESC(from, "sender address");
static char *rcpt = "ops@example.net";
module_param(rcpt, charp, 0444);
MODULE_PARM_DESC(rcpt, "recipient address");
static uint storm;
module_param(storm, uint, 0444);
MODULE_PARM_DESC(storm, "report the same fault this many times from a timer");

static struct timer_list storm_timer;
static struct dentry *dir;
static DEFINE_SPINLOCK(dev_lock);
static unsigned int faults;

/* Timer callback: softirq context, nothing here may sleep. */
static void storm_fire(struct timer_list *t)
{
	unsigned int i, refused = 0;

	for (i = 0; i < storm; i++)
		if (ksmtp_notify(KSMTP_PRIO_HIGH, "ksmtp_sample: overtemperature",
				 "Device 0 is at %d C, over its limit of %d C.\n", 97, 90))
			refused++;
	pr_info("fault storm of %u reports queued from a timer (%u refused)\n",
		storm, refused);
}

static ssize_t fault_write(struct file *file, const char __user *buf,
			   size_t len, loff_t *ppos)
{
	struct ksmtp_queue_args a = {
		.kq_rcpt = rcpt,
		.kq_priority = KSMTP_PRIO_HIGH,
		.kq_subject = "ksmtp_sample: fault injected through debugfs",
	};
	char report[128];
	unsigned long flags;
	int err;

	/* As an interrupt handler would: under the device's spinlock. */
	spin_lock_irqsave(&dev_lock, flags);
	faults++;
	a.kq_body_len = scnprintf(report, sizeof(report),
				  "Fault number %u injected through debugfs.\n", faults);
	a.kq_body = report;
	a.kq_key = faults;	/* each injected fault is a mail of its own */
	err = ksmtp_mail_queue(&a, NULL);
	spin_unlock_irqrestore(&dev_lock, flags);
	return err ?: len;
}

static const struct file_operations fault_fops = {
	.owner = THIS_MODULE,
	.write = fault_write,
	.llseek = noop_llseek,
};

static int __init ksmtp_sample_init(void)
{
	struct ksmtp_config cfg = {
		.kc_port = port,
		.kc_from = from,
		.kc_domain = "sample.example.org",
		.kc_auth = KSMTP_AUTH_NONE,
		.kc_timeouts = { .kt_connect_ms = 5000, .kt_greeting_ms = 10000,
				 .kt_command_ms = 10000, .kt_final_dot_ms = 10000 },
	};
	static const char body[] = "The sample driver detected a fault on device 0.\n"
				   "Temperature: 97 C\n.\nThis line follows a lone dot.\n";
	struct ksmtp_mail mail = {
		.km_rcpt = rcpt,
		.km_priority = KSMTP_PRIO_HIGH,
		.km_subject = "ksmtp_sample: fault on device 0",
		.km_body = body,
		.km_body_len = sizeof(body) - 1,
	};
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg.kc_server;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg.kc_server;
	struct ksmtp_client *client;
	struct ksmtp_result *res;
	int err;

	if (in4_pton(server, -1, (u8 *)&sin->sin_addr, -1, NULL)) {
		sin->sin_family = AF_INET;
	} else if (in6_pton(server, -1, (u8 *)&sin6->sin6_addr, -1, NULL)) {
		sin6->sin6_family = AF_INET6;
	} else {
		pr_err("server=%s is not an IP address\n", server);
		return -EINVAL;
	}
	client = ksmtp_client_create(&cfg);
	if (IS_ERR(client))
		return PTR_ERR(client);
	res = kzalloc(sizeof(*res), GFP_KERNEL);
	if (!res) {
		ksmtp_client_destroy(client);
		return -ENOMEM;
	}
	err = ksmtp_mail_send(client, &mail, res);
	if (err)
		pr_warn("fault report not sent: %s failed: %d %s (%s)\n",
			ksmtp_phase_name(res->kr_phase), res->kr_code, res->kr_text,
			res->kr_reason);
	else
		pr_info("fault report sent to %s\n", rcpt);
	kfree(res);
	ksmtp_client_destroy(client);

	dir = debugfs_create_dir("ksmtp_sample", NULL);
	debugfs_create_file("fault", 0200, dir, NULL, &fault_fops);
	timer_setup(&storm_timer, storm_fire, 0);
	if (storm)
		mod_timer(&storm_timer, jiffies + HZ / 10);
	return 0;
}

static void __exit ksmtp_sample_exit(void)
{
	del_timer_sync(&storm_timer);
	debugfs_remove_recursive(dir);
}

module_init(ksmtp_sample_init);
module_exit(ksmtp_sample_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample driver that mails a fault report through ksmtp");
