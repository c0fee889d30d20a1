// SPDX-License-Identifier: GPL-2.0
/*
 * EHLO capability parser (RFC 5321 4.1.1.1): every line after the first is
 * "keyword [params]". Keywords are matched whole and case-insensitively, so
 * "X-AUTH-PLAIN" or "8BITMIMEX" offer nothing.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/ksmtp.h>

#include "auth.h"
#include "caps.h"
#include "reply.h"

static bool word_is(const char *w, size_t len, const char *name)
{
	return len == strlen(name) && !strncasecmp(w, name, len);
}

/* The EHLO keywords ksmtp_caps_parse() reads */
static const char * const wanted[] = {
	"AUTH", "SIZE", "8BITMIME", "PIPELINING", "STARTTLS", "SMTPUTF8",
};

/**
 * ksmtp_caps_wanted() - is this EHLO line one ksmtp_caps_parse() reads?
 * @line: the line's text, without its code
 *
 * A server may list any number of extensions: only these lines are kept
 * (struct ksmtp_rparser's keep).
 *
 * Context: any.
 * Return: true for a keyword ksmtp uses.
 */
bool ksmtp_caps_wanted(const char *line)
{
	size_t len = strcspn(line, " =");
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(wanted); i++)
		if (word_is(line, len, wanted[i]))
			return true;
	return false;
}

/**
 * ksmtp_caps_parse() - read the capabilities from an EHLO reply
 * @caps: filled (cleared first)
 * @r: a 250 reply to EHLO
 *
 * Both "AUTH PLAIN LOGIN" and the old "AUTH=PLAIN LOGIN" form are read.
 *
 * Context: any.
 */
void ksmtp_caps_parse(struct ksmtp_caps *caps, const struct ksmtp_reply *r)
{
	unsigned int i;

	memset(caps, 0, sizeof(*caps));
	for (i = 1; i < r->nlines; i++) {
		const char *l = ksmtp_reply_line(r, i);
		const char *param;
		size_t len = strcspn(l, " =");
		bool bare;
		u64 size;

		param = l[len] ? l + len + 1 : l + len;
		bare = l[len] != '=' && !*skip_spaces(param);
		if (word_is(l, len, "AUTH")) {
			caps->flags |= KSMTP_CAP_AUTH;
			caps->auth |= ksmtp_auth_offered(param);
		} else if (word_is(l, len, "SIZE") && l[len] != '=') {
			caps->flags |= KSMTP_CAP_SIZE;
			if (!kstrtou64(skip_spaces(param), 10, &size))
				caps->size_max = size;
		} else if (word_is(l, len, "8BITMIME") && bare) {
			caps->flags |= KSMTP_CAP_8BITMIME;
		} else if (word_is(l, len, "PIPELINING") && bare) {
			caps->flags |= KSMTP_CAP_PIPELINING;
		} else if (word_is(l, len, "STARTTLS") && bare) {
			caps->flags |= KSMTP_CAP_STARTTLS;
		} else if (word_is(l, len, "SMTPUTF8") && bare) {
			caps->flags |= KSMTP_CAP_SMTPUTF8;
		}
	}
}
