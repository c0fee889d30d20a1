/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_CAPS_H
#define _KSMTP_CAPS_H

#include <linux/types.h>
#include <linux/bits.h>

struct ksmtp_reply;

#define KSMTP_CAP_AUTH		BIT(0)
#define KSMTP_CAP_SIZE		BIT(1)
#define KSMTP_CAP_8BITMIME	BIT(2)
#define KSMTP_CAP_PIPELINING	BIT(3)
#define KSMTP_CAP_STARTTLS	BIT(4)
#define KSMTP_CAP_SMTPUTF8	BIT(5)

/**
 * struct ksmtp_caps - what a server's EHLO reply offers
 * @flags: KSMTP_CAP_* bits
 * @auth: BIT(enum ksmtp_auth_type) of each offered mechanism we know
 * @size_max: SIZE limit in octets, 0 for none
 */
struct ksmtp_caps {
	u32 flags;
	u32 auth;
	u64 size_max;
};

bool ksmtp_caps_wanted(const char *line);
void ksmtp_caps_parse(struct ksmtp_caps *caps, const struct ksmtp_reply *r);

#endif /* _KSMTP_CAPS_H */
