/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_REPLY_H
#define _KSMTP_REPLY_H

#include <linux/types.h>
#include <linux/ksmtp.h>

/* RFC 5321 allows 512 octets a reply line; a longer one is kept up to this
 * many octets, the rest read and dropped.
 */
#define KSMTP_LINE_MAX		1000
/* Lines kept of one reply, and their text; the others are read and dropped */
#define KSMTP_REPLY_LINES_MAX	64
#define KSMTP_REPLY_BUF		4096
/* A whole reply, every line and line break counted, at most */
#define KSMTP_REPLY_TOTAL_MAX	65536

/**
 * struct ksmtp_reply - one whole SMTP reply
 * @code: its three-digit code
 * @nlines: number of lines kept (the first always is)
 * @seen: number of lines read
 * @cut0: the first line was longer than KSMTP_LINE_MAX: what is kept of it
 *	is not all of it
 * @text: first line's text, control characters replaced by '?'
 * @buf: every line's text, each NUL-terminated
 * @buf_len: octets used in @buf
 * @line_off: offset of each line's text in @buf
 */
struct ksmtp_reply {
	unsigned int code;
	unsigned int nlines;
	unsigned int seen;
	bool cut0;
	char text[KSMTP_TEXT_MAX];
	char buf[KSMTP_REPLY_BUF];
	size_t buf_len;
	u16 line_off[KSMTP_REPLY_LINES_MAX];
};

/**
 * struct ksmtp_rparser - incremental reply parser: bytes in, replies out
 * @line: the line being gathered (its first KSMTP_LINE_MAX + 1 octets)
 * @len: octets in @line
 * @total: octets of the reply so far
 * @nul: the line holds a NUL past the octets kept
 * @reply: the reply being filled
 * @keep: which lines after the first to keep (their text without the code),
 *	NULL for all while there is room
 */
struct ksmtp_rparser {
	char line[KSMTP_LINE_MAX + 2];
	size_t len;
	size_t total;
	bool nul;
	struct ksmtp_reply *reply;
	bool (*keep)(const char *text);
};

void ksmtp_reply_init(struct ksmtp_rparser *p, struct ksmtp_reply *r);
int ksmtp_reply_feed(struct ksmtp_rparser *p, const char *data, size_t len,
		     size_t *used);

static inline const char *ksmtp_reply_line(const struct ksmtp_reply *r,
					   unsigned int i)
{
	return r->buf + r->line_off[i];
}

#endif /* _KSMTP_REPLY_H */
