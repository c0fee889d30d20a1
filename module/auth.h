/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_AUTH_H
#define _KSMTP_AUTH_H

#include <linux/types.h>
#include <linux/ksmtp.h>

struct ksmtp_caps;

/* base64 of "\0" + 255 + "\0" + 255 octets, or of "user <32 hex>" */
#define KSMTP_AUTH_RESP_MAX	700

int ksmtp_auth_select(enum ksmtp_auth_type want, bool creds,
		      const struct ksmtp_caps *caps,
		      enum ksmtp_auth_type *mech);
int ksmtp_auth_plain(const char *user, const char *pass, char *out);
int ksmtp_auth_b64(const char *s, char *out);
bool ksmtp_auth_challenge_ok(const char *chal);
int ksmtp_auth_cram_md5(const char *user, const char *pass, const char *chal,
			char *out);

#endif /* _KSMTP_AUTH_H */
