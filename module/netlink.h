/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_NETLINK_H
#define _KSMTP_NETLINK_H

int ksmtp_nl_init(void);
void ksmtp_nl_exit(void);

#endif /* _KSMTP_NETLINK_H */
