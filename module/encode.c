// SPDX-License-Identifier: GPL-2.0
/*
 * Message encoder: the header block, and the body turned into what may go
 * on the wire after DATA (RFC 5321 4.5.2, RFC 5322, RFC 2045, RFC 2047).
 *
 * The body may hold anything: every bare CR, bare LF or CR LF becomes one
 * CR LF and every line starting with "." gets one more, so no "\n.\n",
 * "\n.\r\n" or "\r.\r" can reach the server (SMTP smuggling,
 * CVE-2023-51764). Lines over 998 octets, NUL, or 8-bit text to a server
 * without 8BITMIME are sent quoted-printable.
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/time64.h>
#include <linux/time.h>
#include <linux/base64.h>
#include <linux/sched.h>

#include "encode.h"

/**
 * ksmtp_body_cte() - choose how to send a body
 * @body: the body
 * @len: its length
 * @srv_8bitmime: the server offered 8BITMIME
 *
 * Context: any.
 * Return: the content transfer encoding to use.
 */
enum ksmtp_cte ksmtp_body_cte(const char *body, size_t len, bool srv_8bitmime)
{
	bool has8bit = false, qp = false;
	size_t i, line = 0;

	for (i = 0; i < len && !qp; i++) {
		u8 c = body[i];

		if (c == '\r' || c == '\n') {
			line = 0;
			continue;
		}
		if (++line > KSMTP_TEXT_LINE_MAX || !c)
			qp = true;
		if (c & 0x80)
			has8bit = true;
	}
	if (qp || (has8bit && !srv_8bitmime))
		return KSMTP_CTE_QP;
	return has8bit ? KSMTP_CTE_8BIT : KSMTP_CTE_7BIT;
}

/**
 * ksmtp_check_address() - may this address go into MAIL/RCPT and a header?
 * @addr: local@domain, NUL-terminated
 * @utf8: set to true when it holds 8-bit octets (needs SMTPUTF8)
 *
 * Context: any.
 * Return: NULL when it may, else a static string saying what is wrong.
 */
const char *ksmtp_check_address(const char *addr, bool *utf8)
{
	const char *at, *p;

	*utf8 = false;
	if (!addr || !*addr)
		return "is empty";
	for (p = addr; *p; p++) {
		u8 c = *p;

		if (c == '\r' || c == '\n')
			return "holds CR or LF";
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
			return "holds a space, a control character or an angle bracket";
		if (c & 0x80)
			*utf8 = true;
	}
	if (p - addr > KSMTP_ADDR_MAX)
		return "is longer than 254 octets";
	at = strrchr(addr, '@');
	if (!at || at == addr || !at[1])
		return "is not of the form local@domain";
	if (at - addr > KSMTP_LOCAL_MAX)
		return "has a local part longer than 64 octets";
	return NULL;
}

/**
 * ksmtp_check_rcpt_list() - may this recipient list go into RCPT and To:?
 * @list: one address, or up to KSMTP_RCPT_MAX separated by commas
 * @utf8: set to true when one holds 8-bit octets (needs SMTPUTF8)
 *
 * Context: any.
 * Return: NULL when it may, else a static string saying what is wrong.
 */
const char *ksmtp_check_rcpt_list(const char *list, bool *utf8)
{
	char addr[KSMTP_ADDR_MAX + 2];
	unsigned int n = 0;
	const char *why;
	bool u;
	size_t len;

	*utf8 = false;
	if (strlen(list) > KSMTP_RCPT_LIST_MAX)
		return "is a list longer than 1000 octets";
	do {
		list = skip_spaces(list);
		len = strcspn(list, ",");
		while (len && list[len - 1] == ' ')
			len--;
		if (len > KSMTP_ADDR_MAX)
			return "is longer than 254 octets";
		strscpy(addr, list, len + 1);
		why = ksmtp_check_address(addr, &u);
		if (why)
			return why;
		*utf8 |= u;
		if (++n > KSMTP_RCPT_MAX)
			return "is a list of more than 16 addresses";
		list += strcspn(list, ",");
	} while (*list++ == ',');
	return NULL;
}

/**
 * ksmtp_check_domain() - may this be the argument of EHLO/HELO?
 * @domain: a host name or an address literal ("[192.0.2.1]")
 *
 * Context: any.
 * Return: NULL when it may, else a static string saying what is wrong.
 */
const char *ksmtp_check_domain(const char *domain)
{
	size_t len = strlen(domain);
	const char *p;

	if (len > KSMTP_DOMAIN_MAX)
		return "is longer than 255 octets";
	if (strpbrk(domain, "\r\n"))
		return "holds CR or LF";
	if (domain[0] == '[') {
		if (len < 3 || domain[len - 1] != ']')
			return "is not a valid address literal";
		for (p = domain + 1; p < domain + len - 1; p++)
			if (!isalnum(*p) && !strchr(".:", *p))
				return "is not a valid address literal";
		return NULL;
	}
	for (p = domain; *p; p++)
		if (!isalnum(*p) && !strchr(".-_", *p))
			return "holds a character not allowed in a host name";
	return NULL;
}

/**
 * ksmtp_check_subject() - may this be a subject?
 * @subject: the subject
 *
 * Context: any.
 * Return: NULL when it may, else a static string saying what is wrong.
 */
const char *ksmtp_check_subject(const char *subject)
{
	if (strpbrk(subject, "\r\n"))
		return "holds CR or LF";
	if (strlen(subject) > KSMTP_SUBJECT_MAX)
		return "is longer than 2048 octets";
	return NULL;
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Printable ASCII whose words each fit a line: fold at white space. */
static bool subject_foldable(const char *s)
{
	size_t word = 0;

	for (; *s; s++) {
		if ((*s < 0x20 && *s != '\t') || (u8)*s >= 0x7f)
			return false;
		word = is_wsp(*s) ? 0 : word + 1;
		if (word > KSMTP_TEXT_LINE_MAX - 100)
			return false;
	}
	return true;
}

/* RFC 5322 2.2.3: insert CR LF before white space, lines near 78 octets. */
static size_t fold_subject(char *out, const char *s)
{
	size_t n = 0, col = strlen("Subject: ");

	while (*s) {
		const char *end = s;
		bool has_word;

		while (is_wsp(*end))
			end++;
		has_word = *end;
		while (*end && !is_wsp(*end))
			end++;
		if (is_wsp(*s) && has_word && col + (end - s) > 78) {
			out[n++] = '\r';
			out[n++] = '\n';
			col = 0;
		}
		memcpy(out + n, s, end - s);
		n += end - s;
		col += end - s;
		s = end;
	}
	return n;
}

/* RFC 2047 encoded words, 45 octets each, not splitting UTF-8 sequences. */
static size_t encode_subject(char *out, const char *s)
{
	size_t n = 0, left = strlen(s);

	while (left) {
		size_t take = min_t(size_t, left, 45);

		while (take < left && take > 1 && ((u8)s[take] & 0xc0) == 0x80)
			take--;
		if (n) {
			memcpy(out + n, "\r\n ", 3);
			n += 3;
		}
		memcpy(out + n, "=?UTF-8?B?", 10);
		n += 10;
		n += base64_encode(s, take, out + n);
		memcpy(out + n, "?=", 2);
		n += 2;
		s += take;
		left -= take;
	}
	return n;
}

static const char * const prio_header[] = {
	[KSMTP_PRIO_NORMAL] = "3 (Normal)",
	[KSMTP_PRIO_LOW] = "5 (Lowest)",
	[KSMTP_PRIO_HIGH] = "1 (Highest)",
};

static const char * const cte_name[] = {
	[KSMTP_CTE_7BIT] = "7bit",
	[KSMTP_CTE_8BIT] = "8bit",
	[KSMTP_CTE_QP] = "quoted-printable",
};

/**
 * ksmtp_headers_build() - the header block of a mail
 * @from: sender, checked by ksmtp_check_address()
 * @rcpt: recipient, checked by ksmtp_check_address()
 * @subject: subject, checked by ksmtp_check_subject()
 * @prio: priority
 * @cte: body encoding
 * @now: the Date, seconds since the epoch (UTC)
 * @id: unique number for the Message-ID
 * @len: set to the block's length
 *
 * Date, From, To, Subject (folded, or RFC 2047 encoded when it is not plain
 * ASCII), Message-ID, MIME-Version, Content-Type, Content-Transfer-Encoding,
 * X-Priority, then the empty line.
 *
 * Context: may sleep (GFP_KERNEL).
 * Return: the block (kfree() it), or NULL when out of memory.
 */
char *ksmtp_headers_build(const char *from, const char *rcpt,
			  const char *subject, enum ksmtp_priority prio,
			  enum ksmtp_cte cte, time64_t now, u64 id,
			  size_t *len)
{
	static const char * const day[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char * const mon[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	size_t slen = strlen(subject);
	size_t cap = 512 + 2 * strlen(from) + strlen(rcpt) + 2 * slen + 32 * (slen / 45 + 1);
	const char *domain = strrchr(from, '@') + 1;
	struct tm tm;
	char *h;
	size_t n;

	h = kmalloc(cap, GFP_KERNEL);
	if (!h)
		return NULL;
	time64_to_tm(now, 0, &tm);
	n = scnprintf(h, cap,
		      "Date: %s, %d %s %ld %02d:%02d:%02d +0000\r\nFrom: %s\r\nTo: %s\r\nSubject: ",
		      day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
		      tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		      from, rcpt);
	if (subject_foldable(subject))
		n += fold_subject(h + n, subject);
	else
		n += encode_subject(h + n, subject);
	n += scnprintf(h + n, cap - n,
		       "\r\nMessage-ID: <%lld.%016llx@%s>\r\nMIME-Version: 1.0\r\n"
		       "Content-Type: text/plain; charset=utf-8\r\n"
		       "Content-Transfer-Encoding: %s\r\nX-Priority: %s\r\n\r\n",
		       (long long)now, id, domain, cte_name[cte],
		       prio_header[prio]);
	*len = n;
	return h;
}

/**
 * ksmtp_enc_init() - set up an encoder for one mail
 * @e: encoder
 * @hdr: header block (from ksmtp_headers_build())
 * @hdr_len: its length
 * @body: body
 * @len: body length
 * @cte: body encoding (from ksmtp_body_cte())
 *
 * Context: any.
 */
void ksmtp_enc_init(struct ksmtp_enc *e, const char *hdr, size_t hdr_len,
		    const char *body, size_t len, enum ksmtp_cte cte)
{
	memset(e, 0, sizeof(*e));
	e->hdr = hdr;
	e->hdr_len = hdr_len;
	e->in = body;
	e->in_len = len;
	e->cte = cte;
	e->bol = true;
}

static void put(struct ksmtp_enc *e, char *out, size_t *n, char c)
{
	out[(*n)++] = c;
	e->total++;
}

static void emit_eol(struct ksmtp_enc *e, char *out, size_t *n)
{
	put(e, out, n, '\r');
	put(e, out, n, '\n');
	e->bol = true;
	e->col = 0;
}

static void emit_text(struct ksmtp_enc *e, char *out, size_t *n,
		      const char *tok, size_t len)
{
	size_t i;

	if (e->bol && tok[0] == '.') {
		put(e, out, n, '.');
		e->stuffed++;
	}
	for (i = 0; i < len; i++)
		put(e, out, n, tok[i]);
	e->bol = false;
	e->col += len;
}

/* One body octet: at most 9 octets out. */
static void body_step(struct ksmtp_enc *e, char *out, size_t *n)
{
	char c = e->in[e->in_pos++];
	char tok[3];
	size_t tlen = 1;
	bool at_eol;
	u8 u = c;

	if (c == '\r' || c == '\n') {
		if (c == '\n' || e->saw_cr)
			emit_eol(e, out, n);
		e->saw_cr = c == '\r';
		return;
	}
	if (e->saw_cr) {
		emit_eol(e, out, n);
		e->saw_cr = false;
	}
	tok[0] = c;
	if (e->cte == KSMTP_CTE_QP) {
		at_eol = e->in_pos == e->in_len || e->in[e->in_pos] == '\r' ||
			 e->in[e->in_pos] == '\n';
		if (c == '=' || u > 126 || (u < 32 && c != '\t') ||
		    (is_wsp(c) && at_eol)) {
			tok[0] = '=';
			tok[1] = hex_asc_upper_hi(u);
			tok[2] = hex_asc_upper_lo(u);
			tlen = 3;
		}
		if (e->col + tlen > KSMTP_QP_LINE_MAX - 1) {
			emit_text(e, out, n, "=", 1);
			emit_eol(e, out, n);
		}
	}
	emit_text(e, out, n, tok, tlen);
}

/**
 * ksmtp_enc_next() - produce the next chunk of the message
 * @e: encoder
 * @out: buffer
 * @cap: its size, at least 32
 *
 * Context: any.
 * Return: octets written to @out; 0 once the final ".\r\n" was produced.
 */
size_t ksmtp_enc_next(struct ksmtp_enc *e, char *out, size_t cap)
{
	size_t n = 0, k;

	while (!e->done && n + 16 <= cap) {
		if (e->hdr_pos < e->hdr_len) {
			k = min(e->hdr_len - e->hdr_pos, cap - n);
			memcpy(out + n, e->hdr + e->hdr_pos, k);
			e->hdr_pos += k;
			e->total += k;
			n += k;
		} else if (e->in_pos < e->in_len) {
			body_step(e, out, &n);
		} else {
			if (e->saw_cr || !e->bol)
				emit_eol(e, out, &n);
			e->saw_cr = false;
			put(e, out, &n, '.');
			put(e, out, &n, '\r');
			put(e, out, &n, '\n');
			e->done = true;
		}
	}
	return n;
}

/**
 * ksmtp_enc_size() - the SIZE (RFC 1870) of a message
 * @hdr: header block
 * @hdr_len: its length
 * @body: body
 * @len: body length
 * @cte: body encoding
 * @scratch: a buffer to encode into
 * @cap: its size, at least 32
 *
 * Context: process context; may sleep (it yields on long bodies).
 * Return: the octets of the encoded message, CR LF included, the final
 * dot and the dots added by dot-stuffing not.
 */
u64 ksmtp_enc_size(const char *hdr, size_t hdr_len, const char *body,
		   size_t len, enum ksmtp_cte cte, char *scratch, size_t cap)
{
	struct ksmtp_enc e;

	ksmtp_enc_init(&e, hdr, hdr_len, body, len, cte);
	while (ksmtp_enc_next(&e, scratch, cap))
		cond_resched();
	return e.total - e.stuffed - 3;
}
