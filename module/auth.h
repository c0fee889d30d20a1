/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_AUTH_H
#define _KSMTP_AUTH_H

#include <linux/types.h>
#include <linux/ksmtp.h>

/* base64 of "\0" + 255 + "\0" + 255 octets, or of "user <32 hex>" */
#define KSMTP_AUTH_RESP_MAX	700
/* 334 challenges a session answers at most, whatever the mechanism */
#define KSMTP_AUTH_STEPS_MAX	8

/**
 * struct ksmtp_auth_mech - one SASL mechanism (RFC 4954), in auth.c's table
 * @type: its value in the uAPI
 * @name: as the EHLO AUTH line offers it and the AUTH command names it
 * @pref: which to choose among those offered: the highest
 * @strict: chosen to keep the password off the wire, so never replaced
 *	by another mechanism when the server does not offer it
 * @initial: writes the initial response to @out (NUL-terminated, at most
 *	KSMTP_AUTH_RESP_MAX octets); NULL when the mechanism has none.
 *	Returns its length or a negative errno.
 * @step: writes the answer to the @n-th 334 challenge @chal (0 first);
 *	NULL when the mechanism expects none. Returns its length, -EBADMSG
 *	for a challenge that is not base64, -ENOMSG when the mechanism has
 *	no answer left, or another negative errno.
 *
 * Adding a mechanism: its entry in auth.c, its value in the uAPI enum
 * ksmtp_auth_type, its name in ksmtpctl. Nothing else.
 */
struct ksmtp_auth_mech {
	enum ksmtp_auth_type type;
	const char *name;
	unsigned int pref;
	bool strict;
	int (*initial)(const char *user, const char *pass, char *out);
	int (*step)(unsigned int n, const char *chal, const char *user,
		    const char *pass, char *out);
};

const struct ksmtp_auth_mech *ksmtp_auth_mech(enum ksmtp_auth_type type);
u32 ksmtp_auth_offered(const char *list);
int ksmtp_auth_select(enum ksmtp_auth_type want, bool creds, u32 offered,
		      bool listed, enum ksmtp_auth_type *mech);
int ksmtp_auth_plain(const char *user, const char *pass, char *out);
int ksmtp_auth_b64(const char *s, char *out);
bool ksmtp_auth_challenge_ok(const char *chal);
int ksmtp_auth_cram_md5(const char *user, const char *pass, const char *chal,
			char *out);

#endif /* _KSMTP_AUTH_H */
