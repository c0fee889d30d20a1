/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_CLIENT_H
#define _KSMTP_CLIENT_H

#include <linux/kref.h>
#include <linux/ksmtp.h>

#include "encode.h"

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

/**
 * struct ksmtp_config_string - one string of struct ksmtp_config
 * @off: its offset in the structure
 * @attr: its KSMTP_A_CFG_* attribute
 * @max: its longest, in octets
 * @check: what it must be when not empty (NULL: anything)
 * @readable: it may leave the kernel (the password may not)
 *
 * ksmtp_config_strings[] lists them once: what copies, frees and checks
 * them, and what carries them over netlink (policy, parse, reply),
 * iterates over it.
 */
struct ksmtp_config_string {
	size_t off;
	int attr;
	size_t max;
	const char *(*check)(const char *s);
	bool readable;
};

/* The longest password file name kept (PATH_MAX, its NUL excepted) */
#define KSMTP_PASSWORD_FILE_MAX	4095

#define KSMTP_CONFIG_NSTRINGS	9
extern const struct ksmtp_config_string ksmtp_config_strings[KSMTP_CONFIG_NSTRINGS];

/* The string @cs of @cfg */
static inline const char **ksmtp_config_str(const struct ksmtp_config *cfg,
					    const struct ksmtp_config_string *cs)
{
	return (const char **)((char *)cfg + cs->off);
}

const char *ksmtp_check_from(const char *s);
const char *ksmtp_check_rcpts(const char *s);
const char *ksmtp_check_tls_name(const char *s);
const char *ksmtp_check_ca_file(const char *s);
bool ksmtp_config_server_is_host(const struct ksmtp_config *cfg);
const char *ksmtp_config_check(const struct ksmtp_config *cfg, bool complete,
			       int *attr);
int ksmtp_config_dup_strings(struct ksmtp_config *dst,
			     const struct ksmtp_config *src, bool empty);
void ksmtp_config_free_strings(struct ksmtp_config *cfg);

/* The port when none is set: 465 for implicit TLS (RFC 8314), else 25. */
static inline u16 ksmtp_default_port(enum ksmtp_tls_mode tls)
{
	return tls == KSMTP_TLS_IMPLICIT ? 465 : 25;
}

#endif /* _KSMTP_CLIENT_H */
