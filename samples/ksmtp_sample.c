// SPDX-License-Identifier: GPL-2.0
/*
 * A driver that reports a fault by mail through ksmtp's in-kernel API: on
 * load it creates its own client and sends one report, then keeps quiet.
 *
 *   insmod ksmtp_sample.ko server=127.0.0.1 port=2525 \
 *	from=sample@example.org rcpt=ops@example.net
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/ksmtp.h>

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
	return 0;
}

static void __exit ksmtp_sample_exit(void)
{
}

module_init(ksmtp_sample_init);
module_exit(ksmtp_sample_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Sample driver that mails a fault report through ksmtp");
