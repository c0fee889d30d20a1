// SPDX-License-Identifier: GPL-2.0
/*
 * AUTH (RFC 4954): which mechanism to use, and the responses of PLAIN
 * (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195). Buffers that held a password
 * are cleared with kfree_sensitive().
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/base64.h>
#include <linux/err.h>
#include <crypto/hash.h>

#include "auth.h"
#include "caps.h"

/* Strongest first: CRAM-MD5 does not send the password. */
static const enum ksmtp_auth_type preference[] = {
	KSMTP_AUTH_CRAM_MD5, KSMTP_AUTH_PLAIN, KSMTP_AUTH_LOGIN,
};

/**
 * ksmtp_auth_select() - the mechanism to use with this server
 * @want: the configured mechanism
 * @creds: a user name is configured
 * @caps: what the server offered (all clear after HELO)
 * @mech: set to the mechanism, KSMTP_AUTH_NONE for no AUTH
 *
 * The rules of the NetX Duo client: NONE means no AUTH, unless credentials
 * are set and the server offers a mechanism we know, then the best one. A
 * configured PLAIN or LOGIN is used when offered; when it is not but another
 * one is, the best offered one is used; when the server lists no AUTH at
 * all, PLAIN is tried. CRAM-MD5, chosen so that the password never crosses
 * the wire, is strict: it is used when offered or when no AUTH is listed,
 * and never replaced by another (a server or a man in the middle that
 * offers only PLAIN and LOGIN gets no AUTH, and the mail fails).
 *
 * Context: any.
 * Return: 0, or -EOPNOTSUPP when AUTH is configured and the server offers
 * only mechanisms we do not know, or CRAM-MD5 is configured and the server
 * lists AUTH without it.
 */
int ksmtp_auth_select(enum ksmtp_auth_type want, bool creds,
		      const struct ksmtp_caps *caps,
		      enum ksmtp_auth_type *mech)
{
	unsigned int i;

	*mech = KSMTP_AUTH_NONE;
	if (!creds)
		return 0;
	if (want != KSMTP_AUTH_NONE && (caps->auth & BIT(want))) {
		*mech = want;
		return 0;
	}
	if (want == KSMTP_AUTH_CRAM_MD5 && (caps->flags & KSMTP_CAP_AUTH))
		return -EOPNOTSUPP;
	for (i = 0; i < ARRAY_SIZE(preference); i++) {
		if (caps->auth & BIT(preference[i])) {
			*mech = preference[i];
			return 0;
		}
	}
	if (want == KSMTP_AUTH_NONE)
		return 0;
	if (caps->flags & KSMTP_CAP_AUTH)
		return -EOPNOTSUPP;
	*mech = want == KSMTP_AUTH_CRAM_MD5 ? want : KSMTP_AUTH_PLAIN;
	return 0;
}

/**
 * ksmtp_auth_b64() - base64 of a string, "=" for the empty one (RFC 4954 4)
 * @s: string of at most 255 octets
 * @out: at least KSMTP_AUTH_RESP_MAX octets; NUL-terminated
 *
 * Context: any.
 * Return: the length written.
 */
int ksmtp_auth_b64(const char *s, char *out)
{
	int n;

	if (!*s) {
		strcpy(out, "=");
		return 1;
	}
	n = base64_encode(s, strlen(s), out);
	out[n] = '\0';
	return n;
}

/**
 * ksmtp_auth_plain() - the PLAIN initial response: base64("\0user\0pass")
 * @user: user name, at most 255 octets
 * @pass: password, at most 255 octets
 * @out: at least KSMTP_AUTH_RESP_MAX octets; NUL-terminated
 *
 * Context: may sleep (GFP_KERNEL).
 * Return: the length written, or -ENOMEM.
 */
int ksmtp_auth_plain(const char *user, const char *pass, char *out)
{
	size_t ul = strlen(user), pl = strlen(pass);
	char *raw;
	int n;

	raw = kmalloc(ul + pl + 2, GFP_KERNEL);
	if (!raw)
		return -ENOMEM;
	raw[0] = '\0';
	memcpy(raw + 1, user, ul);
	raw[ul + 1] = '\0';
	memcpy(raw + ul + 2, pass, pl);
	n = base64_encode(raw, ul + pl + 2, out);
	out[n] = '\0';
	kfree_sensitive(raw);
	return n;
}

/**
 * ksmtp_auth_challenge_ok() - is a 334 challenge valid base64?
 * @chal: the text of the 334 reply
 *
 * Context: may sleep (GFP_KERNEL).
 * Return: true if it decodes (an empty one does).
 */
bool ksmtp_auth_challenge_ok(const char *chal)
{
	size_t len = strlen(chal);
	char *raw;
	bool ok;

	if (!len)
		return true;
	raw = kmalloc(len, GFP_KERNEL);
	if (!raw)
		return false;
	ok = base64_decode(chal, len, raw) >= 0;
	kfree(raw);
	return ok;
}

/**
 * ksmtp_auth_cram_md5() - the CRAM-MD5 response to a challenge
 * @user: user name, at most 255 octets
 * @pass: password (the HMAC key)
 * @chal: the base64 challenge of the 334 reply
 * @out: at least KSMTP_AUTH_RESP_MAX octets; NUL-terminated
 *
 * base64("user " + hex(HMAC-MD5(pass, challenge))).
 *
 * Context: may sleep.
 * Return: the length written, -EBADMSG when the challenge is not base64,
 * -ENOMEM, or an error from the crypto API.
 */
int ksmtp_auth_cram_md5(const char *user, const char *pass, const char *chal,
			char *out)
{
	size_t ul = strlen(user), clen = strlen(chal);
	struct crypto_shash *tfm;
	u8 digest[16];
	char *raw, *resp;
	int n, err;

	raw = kmalloc(clen + 1, GFP_KERNEL);
	resp = kmalloc(ul + 1 + 2 * sizeof(digest), GFP_KERNEL);
	if (!raw || !resp) {
		err = -ENOMEM;
		goto out;
	}
	n = base64_decode(chal, clen, raw);
	if (n < 0 || !clen) {
		err = -EBADMSG;
		goto out;
	}
	tfm = crypto_alloc_shash("hmac(md5)", 0, 0);
	if (IS_ERR(tfm)) {
		err = PTR_ERR(tfm);
		goto out;
	}
	err = crypto_shash_setkey(tfm, pass, strlen(pass));
	if (!err)
		err = crypto_shash_tfm_digest(tfm, raw, n, digest);
	crypto_free_shash(tfm);
	if (err)
		goto out;
	memcpy(resp, user, ul);
	resp[ul] = ' ';
	bin2hex(resp + ul + 1, digest, sizeof(digest));
	err = base64_encode(resp, ul + 1 + 2 * sizeof(digest), out);
	out[err] = '\0';
out:
	memzero_explicit(digest, sizeof(digest));
	kfree(raw);
	kfree_sensitive(resp);
	return err;
}
