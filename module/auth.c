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

/* LOGIN: the user name, then the password, each to its own challenge. */
static int login_step(unsigned int n, const char *chal, const char *user,
		      const char *pass, char *out)
{
	if (n > 1)
		return -ENOMSG;
	if (!ksmtp_auth_challenge_ok(chal))
		return -EBADMSG;
	return ksmtp_auth_b64(n ? pass : user, out);
}

static int cram_md5_step(unsigned int n, const char *chal, const char *user,
			 const char *pass, char *out)
{
	if (n)
		return -ENOMSG;
	return ksmtp_auth_cram_md5(user, pass, chal, out);
}

/* The mechanisms: CRAM-MD5 first, since it does not send the password. */
static const struct ksmtp_auth_mech mechs[] = {
	{
		.type = KSMTP_AUTH_CRAM_MD5,
		.name = "CRAM-MD5",
		.pref = 3,
		.strict = true,
		.step = cram_md5_step,
	},
	{
		.type = KSMTP_AUTH_PLAIN,
		.name = "PLAIN",
		.pref = 2,
		.initial = ksmtp_auth_plain,
	},
	{
		.type = KSMTP_AUTH_LOGIN,
		.name = "LOGIN",
		.pref = 1,
		.step = login_step,
	},
};

/**
 * ksmtp_auth_mech() - the mechanism of a uAPI value
 * @type: the value
 *
 * Context: any.
 * Return: its entry, or NULL for KSMTP_AUTH_NONE and values without one.
 */
const struct ksmtp_auth_mech *ksmtp_auth_mech(enum ksmtp_auth_type type)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(mechs); i++)
		if (mechs[i].type == type)
			return &mechs[i];
	return NULL;
}

/**
 * ksmtp_auth_offered() - the mechanisms we know in an EHLO AUTH list
 * @list: the mechanism names, separated by spaces (case does not matter)
 *
 * Context: any.
 * Return: BIT(type) of each one offered.
 */
u32 ksmtp_auth_offered(const char *list)
{
	const char *p = list;
	unsigned int i;
	u32 offered = 0;
	size_t len;

	while (*p) {
		p = skip_spaces(p);
		len = strcspn(p, " ");
		for (i = 0; i < ARRAY_SIZE(mechs); i++)
			if (len == strlen(mechs[i].name) &&
			    !strncasecmp(p, mechs[i].name, len))
				offered |= BIT(mechs[i].type);
		p += len;
	}
	return offered;
}

/**
 * ksmtp_auth_select() - the mechanism to use with this server
 * @want: the configured mechanism
 * @creds: a user name is configured
 * @offered: BIT(type) of each offered mechanism we know
 *	(ksmtp_auth_offered())
 * @listed: the server lists AUTH at all (false after HELO)
 * @mech: set to the mechanism, KSMTP_AUTH_NONE for no AUTH
 *
 * The rules of the NetX Duo client: NONE means no AUTH, unless credentials
 * are set and the server offers a mechanism we know, then the preferred
 * one. A configured mechanism is used when offered; when it is not but
 * another one is, the preferred offered one is used; when the server lists
 * no AUTH at all, PLAIN is tried. A strict mechanism (CRAM-MD5, chosen so
 * that the password never crosses the wire) is used when offered or when
 * no AUTH is listed, and never replaced by another (a server or a man in
 * the middle that offers only PLAIN and LOGIN gets no AUTH, and the mail
 * fails).
 *
 * Context: any.
 * Return: 0, or -EOPNOTSUPP when AUTH is configured and the server offers
 * only mechanisms we do not know, or a strict mechanism is configured and
 * the server lists AUTH without it.
 */
int ksmtp_auth_select(enum ksmtp_auth_type want, bool creds, u32 offered,
		      bool listed, enum ksmtp_auth_type *mech)
{
	const struct ksmtp_auth_mech *w = ksmtp_auth_mech(want), *best = NULL;
	unsigned int i;

	*mech = KSMTP_AUTH_NONE;
	if (!creds)
		return 0;
	if (w && (offered & BIT(want))) {
		*mech = want;
		return 0;
	}
	if (w && w->strict && listed)
		return -EOPNOTSUPP;
	for (i = 0; i < ARRAY_SIZE(mechs); i++)
		if ((offered & BIT(mechs[i].type)) && (!best || mechs[i].pref > best->pref))
			best = &mechs[i];
	if (best) {
		*mech = best->type;
		return 0;
	}
	if (want == KSMTP_AUTH_NONE)
		return 0;
	if (listed || !w)
		return -EOPNOTSUPP;
	*mech = w->strict ? want : KSMTP_AUTH_PLAIN;
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
