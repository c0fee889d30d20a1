// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtp: an SMTP client in the kernel, so that drivers can send mail when
 * they detect a fault.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "netlink.h"

static int __init ksmtp_init(void)
{
	int err;

	err = ksmtp_nl_init();
	if (err)
		return err;
	pr_info("SMTP client loaded\n");
	return 0;
}

static void __exit ksmtp_exit(void)
{
	ksmtp_nl_exit();
}

module_init(ksmtp_init);
module_exit(ksmtp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("In-kernel SMTP client");
MODULE_AUTHOR("ksmtp developers");
