/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_CLIENT_H
#define _KSMTP_CLIENT_H

#include <linux/kref.h>
#include <linux/ksmtp.h>

/**
 * struct ksmtp_client - a configured client, immutable once created
 * @ref: one reference for the creator, one for each send in flight
 * @cfg: the configuration; its strings are the client's own copies,
 *	never NULL ("" when unset), and the timeouts are all filled in
 */
struct ksmtp_client {
	struct kref ref;
	struct ksmtp_config cfg;
};

const char *ksmtp_check_tls_name(const char *s);
const char *ksmtp_check_ca_file(const char *s);
const char *ksmtp_config_tls_check(const struct ksmtp_config *cfg);

/* The port when none is set: 465 for implicit TLS (RFC 8314), else 25. */
static inline u16 ksmtp_default_port(enum ksmtp_tls_mode tls)
{
	return tls == KSMTP_TLS_IMPLICIT ? 465 : 25;
}

#endif /* _KSMTP_CLIENT_H */
