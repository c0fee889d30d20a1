// SPDX-License-Identifier: GPL-2.0
/*
 * SMTP reply parser (RFC 5321 4.2). Bytes arrive in any split: a reply may
 * span many TCP segments and one segment may hold several replies, so the
 * parser consumes only up to the end of one reply and leaves the rest.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/ctype.h>

#include "reply.h"

/**
 * ksmtp_reply_init() - start parsing a new reply
 * @p: parser
 * @r: reply to fill
 */
void ksmtp_reply_init(struct ksmtp_rparser *p, struct ksmtp_reply *r)
{
	p->len = 0;
	p->total = 0;
	p->nul = false;
	p->reply = r;
	p->keep = NULL;
	r->code = 0;
	r->nlines = 0;
	r->seen = 0;
	r->cut0 = false;
	r->text[0] = '\0';
	r->buf_len = 0;
}

static void copy_text(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = (src[i] < 0x20 || src[i] == 0x7f) ? '?' : src[i];
	dst[i] = '\0';
}

/* One whole line, CR LF stripped. Returns 1 at the last line of a reply. */
static int parse_line(struct ksmtp_rparser *p, bool cut)
{
	struct ksmtp_reply *r = p->reply;
	char *l = p->line;
	const char *text;
	unsigned int code;
	size_t tlen;
	bool last;

	if (p->len < 3 || l[0] < '2' || l[0] > '5' ||
	    !isdigit(l[1]) || !isdigit(l[2]))
		return -EBADMSG;
	if (p->len > 3 && l[3] != ' ' && l[3] != '-')
		return -EBADMSG;
	if (p->nul || memchr(l, '\0', p->len))
		return -EBADMSG;
	l[p->len] = '\0';
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (r->seen && code != r->code)
		return -EBADMSG;

	last = p->len == 3 || l[3] == ' ';
	text = p->len > 4 ? l + 4 : "";
	tlen = strlen(text);
	r->code = code;
	r->seen++;
	/* The first line always; the others if wanted and there is room:
	 * a reply of any number of lines is read whole, kept in part.
	 */
	if (r->nlines && (cut || (p->keep && !p->keep(text)) ||
			  r->nlines >= KSMTP_REPLY_LINES_MAX ||
			  r->buf_len + tlen + 1 > KSMTP_REPLY_BUF))
		return last;
	memcpy(r->buf + r->buf_len, text, tlen + 1);
	r->line_off[r->nlines] = r->buf_len;
	r->buf_len += tlen + 1;
	if (!r->nlines)
		r->cut0 = cut;
	if (!r->nlines)
		copy_text(r->text, sizeof(r->text), text);
	r->nlines++;
	return last;
}

/**
 * ksmtp_reply_feed() - feed received bytes to the parser
 * @p: parser, set up by ksmtp_reply_init()
 * @data: received bytes
 * @len: number of them
 * @used: set to how many bytes were consumed; the rest belongs to the next
 *	reply and must be fed again after a new ksmtp_reply_init()
 *
 * Lines end with CR LF (a bare LF is accepted too). A reply ends at a line
 * "NNN text" or a bare "NNN"; "NNN-text" lines continue it. A reply may
 * have any number of lines of any length: a line is kept up to
 * KSMTP_LINE_MAX octets, and the lines kept are the first and those
 * @p->keep wants, as many as fit (KSMTP_REPLY_LINES_MAX, KSMTP_REPLY_BUF).
 *
 * Context: any.
 * Return: 1 when a whole reply is in @p->reply, 0 when more bytes are
 * needed, -EBADMSG for a malformed line (bad code, mixed codes, NUL),
 * -EMSGSIZE for a reply over KSMTP_REPLY_TOTAL_MAX octets.
 */
int ksmtp_reply_feed(struct ksmtp_rparser *p, const char *data, size_t len,
		     size_t *used)
{
	size_t i;
	bool cut;
	int ret;

	for (i = 0; i < len; i++) {
		char c = data[i];

		if (++p->total > KSMTP_REPLY_TOTAL_MAX) {
			*used = i;
			return -EMSGSIZE;
		}
		if (c != '\n') {
			/* Past the octets kept, the line is read and dropped
			 * (one more is kept, for its CR).
			 */
			if (p->len < KSMTP_LINE_MAX + 1)
				p->line[p->len++] = c;
			else if (!c)
				p->nul = true;
			continue;
		}
		if (p->len && p->line[p->len - 1] == '\r')
			p->len--;
		cut = p->len > KSMTP_LINE_MAX;
		if (cut)
			p->len = KSMTP_LINE_MAX;
		ret = parse_line(p, cut);
		p->len = 0;
		p->nul = false;
		if (ret) {
			*used = i + 1;
			return ret;
		}
	}
	*used = len;
	return 0;
}
