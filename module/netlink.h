/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_NETLINK_H
#define _KSMTP_NETLINK_H

struct net;
struct sk_buff;

/* The family's multicast groups, by index */
#define KSMTP_MCGRP_EVENTS_ID	0
#define KSMTP_MCGRP_TLS_ID	1

int ksmtp_nl_init(void);
void ksmtp_nl_exit(void);
int ksmtp_nl_multicast(struct net *net, struct sk_buff *msg, unsigned int group);

#endif /* _KSMTP_NETLINK_H */
