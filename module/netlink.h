/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_NETLINK_H
#define _KSMTP_NETLINK_H

int ksmtp_nl_init(void);
void ksmtp_nl_exit(void);

#if IS_ENABLED(CONFIG_KSMTP_KUNIT_TEST)
struct sk_buff;
struct genl_info;
int ksmtp_nl_test_config_set(struct sk_buff *skb, struct genl_info *info);
#endif

#endif /* _KSMTP_NETLINK_H */
