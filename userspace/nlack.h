/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's extended ack (NETLINK_EXT_ACK), shared by ksmtpctl and
 * ksmtp-tlsd: the reason text and the offset of the refused attribute.
 */
#ifndef _KSMTP_NLACK_H
#define _KSMTP_NLACK_H

#include <stdint.h>
#include <linux/netlink.h>
#include <netlink/attr.h>

/* @text: the kernel's reason or NULL; @offs: the refused attribute's
 * offset in our request, or 0.
 */
static inline void nlack_parse(struct nlmsgerr *e, const char **text, uint32_t *offs)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t ack_len = sizeof(*e);
	int len;

	*text = NULL;
	*offs = 0;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		ack_len += e->msg.nlmsg_len - NLMSG_HDRLEN;
	len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - (int)NLMSG_ALIGN(ack_len);
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || len <= 0)
		return;
	nla_parse(tb, NLMSGERR_ATTR_MAX,
		  (struct nlattr *)((char *)e + NLMSG_ALIGN(ack_len)), len, NULL);
	if (tb[NLMSGERR_ATTR_MSG])
		*text = nla_get_string(tb[NLMSGERR_ATTR_MSG]);
	if (tb[NLMSGERR_ATTR_OFFS])
		*offs = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
}

#endif /* _KSMTP_NLACK_H */
