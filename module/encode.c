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

/* Octets of one machine word, each set to @b. */
#define WORD_OF(b)	(~0UL / 0xff * (b))

/*
 * The length of the run of ordinary octets at @p (at most @n): up to the
 * first CR or LF, NUL when @stop_nul, 8-bit octet when @stop_8bit. A word
 * at a time where every octet of it is 0x0e or more (no CR, LF or NUL can
 * be in it) and, with @stop_8bit, below 0x80; an octet at a time in any
 * other word. @hi gets the octets of the run OR'ed in (bit 7: an 8-bit
 * octet). The same run octet by octet: see ksmtp-fuzz-body, which checks
 * both callers against a reference that walks every octet.
 */
static size_t plain_run(const u8 *p, size_t n, bool stop_nul, bool stop_8bit,
			unsigned long *hi)
{
	unsigned long acc = 0, w;
	size_t i = 0, end;

	while (i < n) {
		if (n - i >= sizeof(w)) {
			/* One load where unaligned loads are allowed; no
			 * header that moved (asm/ to linux/unaligned.h, 6.12).
			 */
			memcpy(&w, p + i, sizeof(w));
			/* Bit 7 of an octet set when some octet is below 0x0e
			 * (exact for "some": Bit Twiddling Hacks, hasless()).
			 */
			if (!((w - WORD_OF(0x0e)) & ~w & WORD_OF(0x80)) &&
			    !(stop_8bit && (w & WORD_OF(0x80)))) {
				acc |= w;
				i += sizeof(w);
				continue;
			}
		}
		for (end = min(n, i + sizeof(w)); i < end; i++) {
			u8 c = p[i];

			if (c == '\r' || c == '\n' || (stop_nul && !c) ||
			    (stop_8bit && (c & 0x80)))
				goto out;
			acc |= c;
		}
	}
out:
	*hi |= acc;
	return i;
}

/**
 * ksmtp_body_scan() - choose how to send a body, and its size so sent
 * @body: the body
 * @len: its length
 * @srv_8bitmime: the server offered 8BITMIME
 * @octets: set, unless the encoding is quoted-printable, to the octets
 *	the body takes once encoded (every line break as CR LF, a last line
 *	ended), dots added by dot-stuffing not counted (RFC 1870)
 *
 * One pass decides the encoding and the SIZE together, over runs of
 * ordinary octets a word at a time: a body that needs quoted-printable (a
 * NUL, a line over 998 octets, 8-bit octets without 8BITMIME) stops the
 * scan, and ksmtp_enc_size() measures it instead.
 *
 * Context: any.
 * Return: the content transfer encoding to use.
 */
enum ksmtp_cte ksmtp_body_scan(const char *body, size_t len, bool srv_8bitmime,
			       u64 *octets)
{
	const u8 *p = (const u8 *)body, *end = p + len;
	unsigned long hi = 0;
	size_t line = 0, k;
	u64 n = 0;

	while (p < end) {
		/* A line longer than 998 octets is seen within 999 more. */
		k = plain_run(p, min_t(size_t, end - p, KSMTP_TEXT_LINE_MAX + 1 - line),
			      true, !srv_8bitmime, &hi);
		p += k;
		n += k;
		line += k;
		if (line > KSMTP_TEXT_LINE_MAX)
			return KSMTP_CTE_QP;
		if (p == end)
			break;
		/* NUL, or 8-bit without 8BITMIME */
		if (*p != '\r' && *p != '\n')
			return KSMTP_CTE_QP;
		/* CR LF, a bare CR, a bare LF: one CR LF each. */
		if (*p++ == '\r' && p < end && *p == '\n')
			p++;
		n += 2;
		line = 0;
	}
	*octets = n + (line ? 2 : 0);
	return hi & WORD_OF(0x80) ? KSMTP_CTE_8BIT : KSMTP_CTE_7BIT;
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
 * ksmtp_rcpt_next() - the next address of a recipient list
 * @p: where the list goes on; moved past the address and its separator
 * @addr: set to the address, NUL-terminated (KSMTP_ADDR_MAX + 1 octets)
 *
 * The list is addresses separated by commas, each with optional spaces
 * (0x20, nothing else) around it. An address longer than KSMTP_ADDR_MAX
 * is cut, which ksmtp_check_rcpt_list() refuses beforehand.
 *
 * Context: any.
 * Return: the length the address had in the list; 0 at the end of the
 * list (@p at its NUL), or for an empty element.
 */
size_t ksmtp_rcpt_next(const char **p, char *addr)
{
	const char *s = *p, *end;
	size_t len;

	while (*s == ' ')
		s++;
	end = strchrnul(s, ',');
	len = end - s;
	while (len && s[len - 1] == ' ')
		len--;
	strscpy(addr, s, min_t(size_t, len, KSMTP_ADDR_MAX) + 1);
	*p = *end ? end + 1 : end;
	return len;
}

/**
 * ksmtp_check_rcpt_list() - may this recipient list go into RCPT and To:?
 * @list: one address, or up to KSMTP_RCPT_MAX separated by commas
 * @utf8: set to true when one holds 8-bit octets (needs SMTPUTF8)
 *
 * Every octet is checked: between the addresses only commas and spaces;
 * inside them, what ksmtp_check_address() allows. No empty element.
 *
 * Context: any.
 * Return: NULL when it may, else a static string saying what is wrong.
 */
const char *ksmtp_check_rcpt_list(const char *list, bool *utf8)
{
	char addr[KSMTP_ADDR_MAX + 1];
	unsigned int n = 0;
	const char *why;
	size_t len;
	bool u;

	*utf8 = false;
	if (strlen(list) > KSMTP_RCPT_LIST_MAX)
		return "is a list longer than 1000 octets";
	do {
		len = ksmtp_rcpt_next(&list, addr);
		if (len > KSMTP_ADDR_MAX)
			return "is longer than 254 octets";
		why = ksmtp_check_address(addr, &u);
		if (why)
			return why;
		*utf8 |= u;
		if (++n > KSMTP_RCPT_MAX)
			return "is a list of more than 16 addresses";
	} while (*list);
	/* "a@b.c," ends in an empty element too. */
	if (list[-1] == ',')
		return "is empty";
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
			if (!(isascii(*p) && isalnum(*p)) && !strchr(".:", *p))
				return "is not a valid address literal";
		return NULL;
	}
	for (p = domain; *p; p++)
		if (!(isascii(*p) && isalnum(*p)) && !strchr(".-_", *p))
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

/**
 * ksmtp_mail_field_name() - what a field of a mail is called, for messages
 * @f: the field
 *
 * Context: any.
 * Return: a static string such as "recipient address".
 */
const char *ksmtp_mail_field_name(enum ksmtp_mail_field f)
{
	static const char * const names[] = {
		[KSMTP_MAIL_RCPT] = "recipient address",
		[KSMTP_MAIL_SUBJECT] = "subject",
		[KSMTP_MAIL_BODY] = "body",
		[KSMTP_MAIL_PRIORITY] = "priority",
		[KSMTP_MAIL_HEADERS] = "header section",
		[KSMTP_MAIL_ENVELOPE_FROM] = "envelope sender",
		[KSMTP_MAIL_FROM_NAME] = "sender's name",
	};

	return f < ARRAY_SIZE(names) ? names[f] : "mail";
}

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool field_is(const char *line, size_t n, const char *name)
{
	return strlen(name) == n && !strncasecmp(line, name, n);
}

static bool field_starts(const char *line, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n > k && !strncasecmp(line, prefix, k);
}

/* Fields that name another sender or author, where replies, copies,
 * bounces or receipts go (List-* too: the addresses of a reader's list
 * buttons, and List-Id passes for a list's mail), or that pass for a
 * receiving server's trace (Received, Delivered-To, X-Original-To,
 * Envelope-To) or verdict (signatures, Authentication-Results,
 * Received-SPF). A send group member may not give them.
 */
static const char * const member_refused[] = {
	"Reply-To", "Mail-Reply-To", "Mail-Followup-To", "Mail-Copies-To",
	"Errors-To", "Return-Receipt-To", "Disposition-Notification-To",
	"X-Confirm-Reading-To", "Author", "Received", "Delivered-To",
	"X-Original-To", "Envelope-To", "DKIM-Signature", "DomainKey-Signature",
	"Authentication-Results", "Received-SPF",
};

static const char * const member_refused_prefix[] = { "Resent-", "ARC-", "List-" };

/* The headers the kernel may add, or that a sender group member may not
 * give, by field name.
 */
static unsigned int field_flag(const char *line, size_t n)
{
	unsigned int i;

	if (field_is(line, n, "Date"))
		return KSMTP_HDR_DATE;
	if (field_is(line, n, "From"))
		return KSMTP_HDR_FROM;
	if (field_is(line, n, "Message-ID"))
		return KSMTP_HDR_MESSAGE_ID;
	if (field_is(line, n, "MIME-Version") || field_is(line, n, "Content-Type") ||
	    field_is(line, n, "Content-Transfer-Encoding"))
		return KSMTP_HDR_MIME;
	if (field_is(line, n, "Sender") || field_is(line, n, "Return-Path"))
		return KSMTP_HDR_SENDER;
	for (i = 0; i < ARRAY_SIZE(member_refused); i++)
		if (field_is(line, n, member_refused[i]))
			return KSMTP_HDR_RESENT;
	for (i = 0; i < ARRAY_SIZE(member_refused_prefix); i++)
		if (field_starts(line, n, member_refused_prefix[i]))
			return KSMTP_HDR_RESENT;
	if (field_is(line, n, "Bcc"))
		return KSMTP_HDR_BCC;
	return 0;
}

/**
 * ksmtp_check_headers() - may this header section go out as it is?
 * @hdrs: the caller's header section, NUL-terminated, without the empty
 *	line that ends it; lines end in CR LF or LF, the last may end in
 *	neither
 * @flags: set to the KSMTP_HDR_* it holds
 *
 * Every line is a field ("Name: value": a name of printable ASCII but ':',
 * then ':') or the continuation of the one before (starting with a space
 * or tab, and not only of them); no bare CR, no NUL or control octet but
 * tab, no empty line, no line over 998 octets (RFC 5322 2.1.1, 2.2, 3.2.2).
 * 8-bit octets are allowed (RFC 6532): they set KSMTP_HDR_8BIT. An empty
 * section is allowed (every header is then the kernel's).
 *
 * Context: any; does not sleep or allocate.
 * Return: NULL when it may, else a static string saying what is wrong.
 */
const char *ksmtp_check_headers(const char *hdrs, unsigned int *flags)
{
	const char *p = hdrs;
	bool first = true;

	*flags = 0;
	if (strnlen(hdrs, KSMTP_HEADERS_MAX + 1) > KSMTP_HEADERS_MAX)
		return "is longer than 32768 octets";
	while (*p) {
		const char *line = p;
		size_t len, name = 0;
		bool blank = true;

		for (; *p && *p != '\r' && *p != '\n'; p++) {
			u8 c = *p;

			if (c & 0x80)
				*flags |= KSMTP_HDR_8BIT;
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				return "holds a control octet";
			if (!is_wsp(c))
				blank = false;
		}
		len = p - line;
		if (*p == '\r' && p[1] != '\n')
			return "holds a bare CR";
		p += *p == '\r' ? 2 : *p == '\n' ? 1 : 0;
		if (!len)
			return "holds an empty line";
		if (len > KSMTP_TEXT_LINE_MAX)
			return "has a line longer than 998 octets";
		/* It goes out unstuffed: a server would drop the dot. */
		if (*line == '.')
			return "has a line starting with '.'";
		if (is_wsp(*line)) {
			if (first)
				return "starts with a continuation line";
			if (blank)
				return "has a continuation line of white space only";
			continue;
		}
		first = false;
		for (; name < len && line[name] != ':'; name++)
			if ((u8)line[name] <= ' ' || (u8)line[name] >= 0x7f)
				return "has a field name that is not printable ASCII";
		if (!name || name == len)
			return "has a line that is neither a field nor a continuation";
		*flags |= field_flag(line, name);
	}
	return NULL;
}

/**
 * ksmtp_check_from_name() - may this be the display name of From?
 * @name: the name (sendmail -F), UTF-8 or ASCII
 *
 * Context: any.
 * Return: NULL when it may, else a static string saying what is wrong.
 */
const char *ksmtp_check_from_name(const char *name)
{
	const u8 *p;

	if (strnlen(name, KSMTP_STR_MAX + 1) > KSMTP_STR_MAX)
		return "is longer than 255 octets";
	for (p = (const u8 *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return "holds a control octet";
	return NULL;
}

/* The parts of a mail that only come with a caller's header section. */
static const char *ksmtp_mail_check_raw(const struct ksmtp_mail *m,
					enum ksmtp_mail_field *field)
{
	unsigned int flags;
	const char *why;
	bool utf8;

	if (!m->km_headers) {
		*field = m->km_env_from ? KSMTP_MAIL_ENVELOPE_FROM : KSMTP_MAIL_FROM_NAME;
		return m->km_env_from || m->km_from_name ?
		       "needs a header section" : NULL;
	}
	*field = KSMTP_MAIL_SUBJECT;
	if (m->km_subject && m->km_subject[0])
		return "cannot go with a header section (give Subject there)";
	*field = KSMTP_MAIL_PRIORITY;
	if (m->km_priority != KSMTP_PRIO_NORMAL)
		return "cannot go with a header section";
	*field = KSMTP_MAIL_HEADERS;
	why = ksmtp_check_headers(m->km_headers, &flags);
	if (why)
		return why;
	/* sendmail -t takes Bcc's recipients and removes it; here it would
	 * go out, for every recipient to read.
	 */
	if (flags & KSMTP_HDR_BCC)
		return "holds a Bcc field: give its recipients as RCPT, without it";
	*field = KSMTP_MAIL_ENVELOPE_FROM;
	if (m->km_env_from && m->km_env_from[0]) {
		why = ksmtp_check_address(m->km_env_from, &utf8);
		if (why)
			return why;
	}
	*field = KSMTP_MAIL_FROM_NAME;
	return m->km_from_name ? ksmtp_check_from_name(m->km_from_name) : NULL;
}

/**
 * ksmtp_mail_check() - may this mail be sent? Every way in calls this.
 * @m: the mail; @m->km_rcpt may be NULL unless @need_rcpt
 * @need_rcpt: a recipient list is required
 * @field: set to the field at fault when the mail is refused
 * @rcpt_utf8: set to true when a recipient needs SMTPUTF8; may be NULL
 *
 * Recipients as ksmtp_check_rcpt_list(), the subject as
 * ksmtp_check_subject(), a body pointer when there is a length, a known
 * priority; a caller's header section, envelope sender and sender's name
 * as ksmtp_check_headers(), ksmtp_check_address() and
 * ksmtp_check_from_name() (the last two only with a header section; with
 * one, no subject and the normal priority). The same rules for
 * ksmtp_mail_send(), ksmtp_mail_queue(), ksmtp_notify() and the netlink
 * SEND command.
 *
 * Context: any; does not sleep or allocate.
 * Return: NULL when it may, else a static string saying what is wrong
 * with *@field (see ksmtp_mail_field_name()).
 */
const char *ksmtp_mail_check(const struct ksmtp_mail *m, bool need_rcpt,
			     enum ksmtp_mail_field *field, bool *rcpt_utf8)
{
	const char *why = NULL;
	bool utf8 = false;

	*field = KSMTP_MAIL_RCPT;
	if (m->km_rcpt)
		why = ksmtp_check_rcpt_list(m->km_rcpt, &utf8);
	else if (need_rcpt)
		why = "is missing";
	if (rcpt_utf8)
		*rcpt_utf8 = utf8;
	if (why)
		return why;
	*field = KSMTP_MAIL_SUBJECT;
	why = m->km_subject ? ksmtp_check_subject(m->km_subject) : "is missing";
	if (why)
		return why;
	*field = KSMTP_MAIL_BODY;
	if (!m->km_body && m->km_body_len)
		return "is missing";
	*field = KSMTP_MAIL_PRIORITY;
	if ((unsigned int)m->km_priority > KSMTP_PRIO_MAX)
		return "is out of range";
	return ksmtp_mail_check_raw(m, field);
}

/* A header block being built: never written past @cap. */
struct hbuf {
	char *p;
	size_t len;
	size_t cap;
	bool over;
};

static void hb_put(struct hbuf *b, const char *s, size_t n)
{
	if (b->over || n > b->cap - b->len) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void hb_str(struct hbuf *b, const char *s)
{
	hb_put(b, s, strlen(s));
}

static __printf(2, 3) void hb_printf(struct hbuf *b, const char *fmt, ...)
{
	size_t room = b->cap - b->len;
	va_list ap;
	int n;

	if (b->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= room)
		b->over = true;
	else
		b->len += n;
}

static void hb_base64(struct hbuf *b, const char *s, size_t n)
{
	if (b->over || 4 * DIV_ROUND_UP(n, 3) > b->cap - b->len) {
		b->over = true;
		return;
	}
	b->len += base64_encode(s, n, b->p + b->len);
}

/* Longest run of white space and the word after it that folding keeps on
 * one line: with the 78 octets a line had before, far below 998.
 */
#define KSMTP_FOLD_SEG_MAX	400

/* A subject sent as it is, folded at white space: printable ASCII, no
 * "=?" (a reader would take it for an encoded word), and no run of white
 * space and word longer than KSMTP_FOLD_SEG_MAX.
 */
static bool subject_foldable(const char *s)
{
	size_t seg = 0;

	for (; *s; s++) {
		if ((*s < 0x20 && *s != '\t') || (u8)*s >= 0x7f)
			return false;
		if (s[0] == '=' && s[1] == '?')
			return false;
		/* A new segment starts where white space follows a word. */
		if (is_wsp(*s) && seg && !is_wsp(s[-1]))
			seg = 0;
		if (++seg > KSMTP_FOLD_SEG_MAX)
			return false;
	}
	return true;
}

/* RFC 5322 2.2.3: CR LF before white space, lines near 78 octets. Every
 * line holds a word, but the last may be white space only after one.
 */
static void fold_subject(struct hbuf *b, const char *s)
{
	size_t col = strlen("Subject: ");

	while (*s) {
		const char *end = s;
		bool has_word;

		while (is_wsp(*end))
			end++;
		has_word = *end;
		while (*end && !is_wsp(*end))
			end++;
		if (is_wsp(*s) && has_word && col + (end - s) > 78) {
			hb_put(b, "\r\n", 2);
			col = 0;
		}
		hb_put(b, s, end - s);
		col += end - s;
		s = end;
	}
}

/* Input octets per encoded word: 60 of base64, a word of 72 with "=?UTF-8?B?"
 * and "?=", a line of 73 with the space before it; the first, after
 * "Subject: ", 39 (a line of 73 too): RFC 2047 2 allows 75 a word and 76 a
 * line. A word ends before a UTF-8 sequence it would split, stepping back
 * at most 3 octets, so it carries at least 36.
 */
#define KSMTP_EW_IN		45
#define KSMTP_EW_IN_FIRST	39
#define KSMTP_EW_MIN		(KSMTP_EW_IN_FIRST - 3)
#define KSMTP_EW_OUT		(3 + 10 + 4 * KSMTP_EW_IN / 3 + 2)

static size_t ew_take(const u8 *s, size_t left, size_t max)
{
	size_t take = min(left, max), k;

	if (take == left)
		return take;
	/* s[take] continues a sequence: end before its lead octet, if the
	 * lead is within 3 octets and starts a sequence that long; otherwise
	 * (invalid UTF-8) cut between the octets as they are.
	 */
	for (k = 0; k < 3 && (s[take - k] & 0xc0) == 0x80; k++) {
		u8 lead = s[take - k - 1];
		unsigned int seq = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

		if ((lead & 0xc0) == 0xc0 && lead < 0xf8 && seq > k + 1)
			return take - k - 1;
	}
	return take;
}

/* RFC 2047 "B" encoded words of UTF-8; octets that are not valid UTF-8
 * travel as they are inside the base64 (a reader shows them as it shows
 * invalid UTF-8). Adjacent encoded words decode to their octets joined.
 */
static void encode_subject(struct hbuf *b, const char *s)
{
	size_t left = strlen(s), take;
	bool first = true;

	while (left) {
		take = ew_take((const u8 *)s, left,
			       first ? KSMTP_EW_IN_FIRST : KSMTP_EW_IN);
		if (!first)
			hb_put(b, "\r\n ", 3);
		first = false;
		hb_str(b, "=?UTF-8?B?");
		hb_base64(b, s, take);
		hb_str(b, "?=");
		s += take;
		left -= take;
	}
}

/* To: the addresses, ", " between them, a new line before one that would
 * take the line past 78 octets: each line is at most "To: " or " ", one
 * address of at most 254 octets and a comma.
 */
static void put_to(struct hbuf *b, const char *list)
{
	char addr[KSMTP_ADDR_MAX + 1];
	size_t col = strlen("To: "), len;
	bool first = true;

	hb_str(b, "To: ");
	while (*list) {
		len = ksmtp_rcpt_next(&list, addr);
		if (!len)
			continue;
		len = strlen(addr);
		if (!first && col + 2 + len > 78) {
			hb_put(b, ",\r\n ", 4);
			col = 1;
		} else if (!first) {
			hb_put(b, ", ", 2);
			col += 2;
		}
		first = false;
		hb_put(b, addr, len);
		col += len;
	}
	hb_put(b, "\r\n", 2);
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
 * @rcpt: recipient list, checked by ksmtp_check_rcpt_list()
 * @subject: subject, checked by ksmtp_check_subject()
 * @prio: priority
 * @cte: body encoding
 * @now: the Date, seconds since the epoch (UTC)
 * @id: unique number for the Message-ID
 * @len: set to the block's length
 *
 * Date, From, To (folded between addresses), Subject (folded at white
 * space when it is printable ASCII, else RFC 2047 encoded words: see
 * encode_subject()), Message-ID, MIME-Version, Content-Type,
 * Content-Transfer-Encoding, X-Priority, then the empty line. Every line
 * is at most 998 octets (RFC 5322 2.1.1). The buffer is sized for the
 * worst case and never written past, whatever the input.
 *
 * Context: may sleep (GFP_KERNEL).
 * Return: the block (kfree() it), or NULL when out of memory (or, which
 * cannot happen for checked input, when it would not fit).
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
	size_t slen = strlen(subject), rlen = strlen(rcpt);
	const char *domain = strrchr(from, '@');
	struct hbuf b = {};
	struct tm tm;

	/* Worst cases: every address of To: on its own line (4 octets more
	 * each, at most one per 2 octets of the list); the subject folded
	 * before every space (2 more each) or in encoded words of at least
	 * KSMTP_EW_MIN octets each; the other lines fixed, or with @from twice.
	 */
	b.cap = 512 + 2 * strlen(from) + 8 + 3 * rlen +
		max_t(size_t, 3 * slen, KSMTP_EW_OUT * (slen / KSMTP_EW_MIN + 1));
	b.p = kmalloc(b.cap, GFP_KERNEL);
	if (!b.p)
		return NULL;
	domain = domain ? domain + 1 : from;
	time64_to_tm(now, 0, &tm);
	hb_printf(&b, "Date: %s, %d %s %ld %02d:%02d:%02d +0000\r\nFrom: %s\r\n",
		  day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
		  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, from);
	put_to(&b, rcpt);
	hb_str(&b, "Subject: ");
	if (subject_foldable(subject))
		fold_subject(&b, subject);
	else
		encode_subject(&b, subject);
	hb_printf(&b, "\r\nMessage-ID: <%lld.%016llx@%s>\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: %s\r\nX-Priority: %s\r\n\r\n",
		  (long long)now, id, domain, cte_name[cte],
		  prio_header[prio]);
	if (WARN_ON_ONCE(b.over)) {
		kfree(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* "Date: ..." of @now, UTC (RFC 5322 3.3), with its CR LF. */
static void put_date(struct hbuf *b, time64_t now)
{
	static const char * const day[] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char * const mon[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	time64_to_tm(now, 0, &tm);
	hb_printf(b, "Date: %s, %d %s %ld %02d:%02d:%02d +0000\r\n",
		  day[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon],
		  tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A display name: a quoted string when it is printable ASCII without
 * "=?" (every '"' and '\' escaped), else RFC 2047 encoded words (which
 * may not stand in a quoted string). "=?" goes encoded as the subject's
 * does: readers decode an encoded word even inside a quoted string, so
 * "=?utf-8?q?a=40b?=" would show as "a@b"; encoded, it shows as it is.
 */
static void put_display_name(struct hbuf *b, const char *name)
{
	const char *p;

	for (p = name; *p; p++)
		if ((u8)*p < 0x20 || (u8)*p >= 0x7f || (p[0] == '=' && p[1] == '?'))
			break;
	if (*p) {
		encode_subject(b, name);
		return;
	}
	hb_put(b, "\"", 1);
	for (p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			hb_put(b, "\\", 1);
		hb_put(b, p, 1);
	}
	hb_put(b, "\"", 1);
}

/**
 * ksmtp_headers_merge() - the header block of a mail with the caller's
 *	header section
 * @hdrs: the caller's header section, checked by ksmtp_check_headers()
 * @from: the address of an added From (checked by ksmtp_check_address())
 * @from_name: its display name (ksmtp_check_from_name()), or NULL
 * @cte: the body's encoding; the MIME headers are added when the caller
 *	gave none (no KSMTP_HDR_MIME) and it is not 7bit
 * @now: the Date, seconds since the epoch (UTC)
 * @id: unique number for the Message-ID
 * @len: set to the block's length
 *
 * The caller's lines as they are, each ended by CR LF; then, each only
 * when the caller gave none, Date, From, Message-ID and MIME-Version,
 * Content-Type and Content-Transfer-Encoding; then the empty line. No
 * line is over 998 octets. The buffer is sized for the worst case (every
 * line ending a bare LF) and never written past.
 *
 * Context: may sleep (GFP_KERNEL).
 * Return: the block (kfree() it), or NULL when out of memory.
 */
char *ksmtp_headers_merge(const char *hdrs, const char *from,
			  const char *from_name, enum ksmtp_cte cte,
			  time64_t now, u64 id, size_t *len)
{
	size_t hlen = strlen(hdrs), nlen = from_name ? strlen(from_name) : 0;
	const char *domain = strrchr(from, '@'), *p = hdrs;
	struct hbuf b = {};
	unsigned int flags;

	if (WARN_ON_ONCE(ksmtp_check_headers(hdrs, &flags)))
		return NULL;
	/* Each line's LF may become CR LF, and the last line gain one; the
	 * display name quoted (2 octets an octet) or in encoded words; the
	 * address in From and the Message-ID; the fixed lines.
	 */
	b.cap = 2 * hlen + 2 + 512 + 2 * strlen(from) +
		max_t(size_t, 2 * nlen + 2, KSMTP_EW_OUT * (nlen / KSMTP_EW_MIN + 1));
	b.p = kmalloc(b.cap, GFP_KERNEL);
	if (!b.p)
		return NULL;
	domain = domain ? domain + 1 : from;
	while (*p) {
		size_t n = strcspn(p, "\r\n");

		hb_put(&b, p, n);
		hb_put(&b, "\r\n", 2);
		p += n;
		p += *p == '\r' ? 2 : *p == '\n' ? 1 : 0;
	}
	if (!(flags & KSMTP_HDR_DATE))
		put_date(&b, now);
	if (!(flags & KSMTP_HDR_FROM)) {
		hb_str(&b, "From: ");
		if (from_name && *from_name) {
			put_display_name(&b, from_name);
			hb_printf(&b, " <%s>\r\n", from);
		} else {
			hb_printf(&b, "%s\r\n", from);
		}
	}
	if (!(flags & KSMTP_HDR_MESSAGE_ID))
		hb_printf(&b, "Message-ID: <%lld.%016llx@%s>\r\n",
			  (long long)now, id, domain);
	if (!(flags & KSMTP_HDR_MIME) && cte != KSMTP_CTE_7BIT)
		hb_printf(&b, "MIME-Version: 1.0\r\n"
			  "Content-Type: text/plain; charset=utf-8\r\n"
			  "Content-Transfer-Encoding: %s\r\n", cte_name[cte]);
	hb_put(&b, "\r\n", 2);
	if (WARN_ON_ONCE(b.over)) {
		kfree(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
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

/* A run of ordinary octets of a 7bit or 8bit body, up to the next line
 * break or the room left (at least 8 octets, see ksmtp_enc_next()): found
 * a word at a time, one copy, no per-octet encoding.
 */
static void body_run(struct ksmtp_enc *e, char *out, size_t *n, size_t cap)
{
	const char *p = e->in + e->in_pos;
	size_t room = cap - *n - 8, k, left = e->in_len - e->in_pos;
	unsigned long hi = 0;

	if (e->saw_cr || *p == '\r' || *p == '\n') {
		body_step(e, out, n);
		return;
	}
	if (e->bol && *p == '.') {
		put(e, out, n, '.');
		e->stuffed++;
	}
	k = plain_run((const u8 *)p, min(left, room), false, false, &hi);
	memcpy(out + *n, p, k);
	*n += k;
	e->total += k;
	e->in_pos += k;
	e->bol = false;
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
		} else if (e->in_pos < e->in_len && e->cte != KSMTP_CTE_QP) {
			body_run(e, out, &n, cap);
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
