// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the message encoder (line endings, dot-stuffing, quoted-printable,
 * chunking), the header block and the input checks.
 */
#include <kunit/test.h>
#include <linux/string.h>
#include <linux/slab.h>

#include "../encode.h"

struct body_case {
	const char *name;
	const char *in;
	size_t len;		/* 0: strlen(in) */
	bool srv_8bitmime;
	enum ksmtp_cte cte;
	const char *out;	/* everything after the headers */
};

static const struct body_case body_cases[] = {
	{ "empty", "", 0, false, KSMTP_CTE_7BIT, ".\r\n" },
	{ "only_dot", ".", 0, false, KSMTP_CTE_7BIT, "..\r\n.\r\n" },
	{ "two_dots", "..", 0, false, KSMTP_CTE_7BIT, "...\r\n.\r\n" },
	{ "crlf_dot_crlf_inside", "a\r\n.\r\nb", 0, false, KSMTP_CTE_7BIT,
	  "a\r\n..\r\nb\r\n.\r\n" },
	{ "lf_dot_lf", "a\n.\nb", 0, false, KSMTP_CTE_7BIT, "a\r\n..\r\nb\r\n.\r\n" },
	{ "lf_dot_crlf", "a\n.\r\nb", 0, false, KSMTP_CTE_7BIT, "a\r\n..\r\nb\r\n.\r\n" },
	{ "cr_dot_cr", "a\r.\rb", 0, false, KSMTP_CTE_7BIT, "a\r\n..\r\nb\r\n.\r\n" },
	{ "ends_crlf", "line\r\n", 0, false, KSMTP_CTE_7BIT, "line\r\n.\r\n" },
	{ "ends_lf", "line\n", 0, false, KSMTP_CTE_7BIT, "line\r\n.\r\n" },
	{ "ends_cr", "line\r", 0, false, KSMTP_CTE_7BIT, "line\r\n.\r\n" },
	{ "no_eol", "line", 0, false, KSMTP_CTE_7BIT, "line\r\n.\r\n" },
	{ "cr_cr_lf", "a\r\r\nb", 0, false, KSMTP_CTE_7BIT, "a\r\n\r\nb\r\n.\r\n" },
	{ "dot_first_line", ".hidden\r\nx", 0, false, KSMTP_CTE_7BIT,
	  "..hidden\r\nx\r\n.\r\n" },
	{ "dot_mid_line", "a.b\r\n", 0, false, KSMTP_CTE_7BIT, "a.b\r\n.\r\n" },
	{ "body_ends_crlf_dot_crlf", "x\r\n.\r\n", 0, false, KSMTP_CTE_7BIT,
	  "x\r\n..\r\n.\r\n" },
	{ "8bit_with_8bitmime", "caf\xc3\xa9\n", 0, true, KSMTP_CTE_8BIT,
	  "caf\xc3\xa9\r\n.\r\n" },
	{ "8bit_without_8bitmime", "caf\xc3\xa9\n", 0, false, KSMTP_CTE_QP,
	  "caf=C3=A9\r\n.\r\n" },
	{ "qp_equals_and_trailing_space", "\xff=1 \r\nb\t", 0, false, KSMTP_CTE_QP,
	  "=FF=3D1=20\r\nb=09\r\n.\r\n" },
	{ "qp_dot_line", "\xe9\n.\n", 0, false, KSMTP_CTE_QP, "=E9\r\n..\r\n.\r\n" },
	{ "nul_goes_qp", "a\0b", 3, true, KSMTP_CTE_QP, "a=00b\r\n.\r\n" },
};

static void body_case_desc(const struct body_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(body, body_cases, body_case_desc);

/* Encode with chunks of @cap octets; returns the NUL-terminated output. */
static char *encode_all(struct kunit *test, const char *hdr, const char *in,
			size_t len, enum ksmtp_cte cte, size_t cap,
			size_t *out_len)
{
	size_t max = 8 * len + strlen(hdr) + 64, n = 0, k;
	char *out = kunit_kzalloc(test, max + 1, GFP_KERNEL);
	char *chunk = kunit_kzalloc(test, cap, GFP_KERNEL);
	struct ksmtp_enc e;

	KUNIT_ASSERT_NOT_NULL(test, out);
	KUNIT_ASSERT_NOT_NULL(test, chunk);
	ksmtp_enc_init(&e, hdr, strlen(hdr), in, len, cte);
	while ((k = ksmtp_enc_next(&e, chunk, cap))) {
		KUNIT_ASSERT_LE(test, k, cap);
		KUNIT_ASSERT_LE(test, n + k, max);
		memcpy(out + n, chunk, k);
		n += k;
	}
	KUNIT_EXPECT_EQ(test, (u64)n, e.total);
	*out_len = n;
	return out;
}

static void body_encode(struct kunit *test)
{
	const struct body_case *c = test->param_value;
	size_t len = c->len ?: strlen(c->in), n;
	u64 octets;
	enum ksmtp_cte cte = ksmtp_body_scan(c->in, len, c->srv_8bitmime, &octets);
	char *out;

	KUNIT_EXPECT_EQ(test, cte, c->cte);
	out = encode_all(test, "H: v\r\n\r\n", c->in, len, cte, 32, &n);
	KUNIT_EXPECT_EQ(test, n, strlen(c->out) + 8);
	KUNIT_EXPECT_STREQ(test, out + 8, c->out);
	KUNIT_EXPECT_EQ(test, memcmp(out, "H: v\r\n\r\n", 8), 0);
}

/* No line over 998 (7bit) or 76 (QP) octets; only CR LF line breaks. */
static void check_lines(struct kunit *test, const char *out, size_t n,
			size_t max)
{
	size_t i, line = 0;

	for (i = 0; i < n; i++) {
		if (out[i] == '\r') {
			KUNIT_ASSERT_TRUE(test, i + 1 < n && out[i + 1] == '\n');
			line = 0;
			i++;
			continue;
		}
		KUNIT_ASSERT_NE(test, out[i], '\n');
		KUNIT_ASSERT_LE(test, ++line, max);
	}
}

static void long_lines(struct kunit *test)
{
	char *in = kunit_kzalloc(test, 1000, GFP_KERNEL);
	u64 octets;
	size_t n;
	char *out;

	KUNIT_ASSERT_NOT_NULL(test, in);
	memset(in, 'a', 999);
	/* 998 octets: as is, and a line break after them. */
	KUNIT_EXPECT_EQ(test, ksmtp_body_scan(in, 998, false, &octets), KSMTP_CTE_7BIT);
	KUNIT_EXPECT_EQ(test, octets, 1000ULL);
	out = encode_all(test, "", in, 998, KSMTP_CTE_7BIT, 64, &n);
	KUNIT_EXPECT_EQ(test, n, 998 + 5);
	check_lines(test, out, n, 998);
	/* 999 octets: quoted-printable, 75 octets and "=" a line. */
	KUNIT_EXPECT_EQ(test, ksmtp_body_scan(in, 999, true, &octets), KSMTP_CTE_QP);
	out = encode_all(test, "", in, 999, KSMTP_CTE_QP, 64, &n);
	check_lines(test, out, n, KSMTP_QP_LINE_MAX);
	KUNIT_EXPECT_EQ(test, memcmp(out + 75, "=\r\naaa", 6), 0);
	/* 13 full lines of 75 + "=", then 24 octets, CR LF, ".", CR LF */
	KUNIT_EXPECT_EQ(test, n, 13 * 78 + 24 + 5);
}

/* The output does not depend on how it is chunked. */
static void chunking(struct kunit *test)
{
	static const char pattern[] = ".x\r\n\n.\r\xe9=  \r\r\n..";
	size_t len = 100000, i, n1, n2;
	char *in = kunit_kzalloc(test, len, GFP_KERNEL);
	char *a, *b;

	KUNIT_ASSERT_NOT_NULL(test, in);
	for (i = 0; i < len; i++)
		in[i] = pattern[i % (sizeof(pattern) - 1)];
	a = encode_all(test, "H: v\r\n\r\n", in, len, KSMTP_CTE_QP, 32, &n1);
	b = encode_all(test, "H: v\r\n\r\n", in, len, KSMTP_CTE_QP, 16384, &n2);
	KUNIT_ASSERT_EQ(test, n1, n2);
	KUNIT_EXPECT_EQ(test, memcmp(a, b, n1), 0);
	check_lines(test, a, n1, KSMTP_QP_LINE_MAX);
	KUNIT_EXPECT_NULL(test, strnstr(a, "\r\n.\r\n", n1 - 3));
	a = encode_all(test, "", in, len, KSMTP_CTE_8BIT, 32, &n1);
	b = encode_all(test, "", in, len, KSMTP_CTE_8BIT, 4096, &n2);
	KUNIT_ASSERT_EQ(test, n1, n2);
	KUNIT_EXPECT_EQ(test, memcmp(a, b, n1), 0);
	KUNIT_EXPECT_NULL(test, strnstr(a, "\r\n.\r\n", n1 - 3));
	check_lines(test, a, n1, 998);
}

static void size_count(struct kunit *test)
{
	char *scratch = kunit_kzalloc(test, 64, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, scratch);
	/* "H\r\n\r\n" + "..a\r\n" less one stuffed dot */
	KUNIT_EXPECT_EQ(test, ksmtp_enc_size("H\r\n\r\n", 5, ".a", 2,
					     KSMTP_CTE_7BIT, scratch, 64), 5 + 4);
	KUNIT_EXPECT_EQ(test, ksmtp_enc_size("", 0, "", 0, KSMTP_CTE_7BIT,
					     scratch, 64), 0);
}

static const char want_headers[] =
	"Date: Thu, 1 Jan 1970 00:00:00 +0000\r\n"
	"From: dev@example.org\r\n"
	"To: ops@example.net\r\n"
	"Subject: Disk fault\r\n"
	"Message-ID: <0.0000000000001234@example.org>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: text/plain; charset=utf-8\r\n"
	"Content-Transfer-Encoding: 7bit\r\n"
	"X-Priority: 1 (Highest)\r\n\r\n";

static const char want_folded[] =
	"Subject: A fault was detected on the primary storage controller of the gateway\r\n"
	" and the secondary one took over\r\nMessage-ID:";

static const char want_encoded[] =
	"Subject: =?UTF-8?B?U3TDtnJ1bmc6IEzDvGZ0ZXIgMiBhdXNnZWZhbGxlbiwgVGVtcGVy?=\r\n"
	" =?UTF-8?B?YXR1ciBzdGVpZ3Qgw7xiZXIgODAgwrBD?=\r\nMessage-ID:";

static void headers(struct kunit *test)
{
	size_t len;
	char *h;

	h = ksmtp_headers_build("dev@example.org", "ops@example.net", "Disk fault",
				KSMTP_PRIO_HIGH, KSMTP_CTE_7BIT, 0, 0x1234, &len);
	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_EXPECT_STREQ(test, h, want_headers);
	KUNIT_EXPECT_EQ(test, len, strlen(h));
	kfree(h);

	h = ksmtp_headers_build("a@b.c", "d@e.f", "", KSMTP_PRIO_LOW,
				KSMTP_CTE_QP, 1795867274, 1, &len);
	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_EXPECT_NOT_NULL(test, strstr(h, "Date: Sat, 28 Nov 2026 12:01:14 +0000\r\n"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(h, "\r\nSubject: \r\n"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(h, "Content-Transfer-Encoding: quoted-printable\r\n"));
	KUNIT_EXPECT_NOT_NULL(test, strstr(h, "X-Priority: 5 (Lowest)\r\n\r\n"));
	kfree(h);
}

/* The fields a header section may hold, and their flags: Bcc refused for
 * every caller; another sender's or a server's fields flagged (a send
 * group member may not give them: netlink.c).
 */
static void header_fields(struct kunit *test)
{
	static const struct {
		const char *hdrs;
		unsigned int flags;
	} cases[] = {
		{ "Subject: x", 0 },
		{ "Resent-From: a@b.c", KSMTP_HDR_RESENT },
		{ "resent-sender: a@b.c", KSMTP_HDR_RESENT },
		{ "Reply-To: a@b.c", KSMTP_HDR_RESENT },
		{ "mail-reply-to: a@b.c", KSMTP_HDR_RESENT },
		{ "Mail-Followup-To: a@b.c", KSMTP_HDR_RESENT },
		{ "Errors-To: a@b.c", KSMTP_HDR_RESENT },
		{ "Return-Receipt-To: a@b.c", KSMTP_HDR_RESENT },
		{ "Disposition-Notification-To: a@b.c", KSMTP_HDR_RESENT },
		{ "Errors-Top: a@b.c", 0 },
		{ "Received: from x", KSMTP_HDR_RESENT },
		{ "DKIM-Signature: v=1", KSMTP_HDR_RESENT },
		{ "ARC-Seal: i=1", KSMTP_HDR_RESENT },
		{ "Authentication-Results: x; dkim=pass", KSMTP_HDR_RESENT },
		{ "Resent-: x", 0 },
		{ "X-Resent-From: a@b.c", 0 },
		{ "Bcc: a@b.c", KSMTP_HDR_BCC },
		{ "From: a@b.c\nSender: d@e.f", KSMTP_HDR_FROM | KSMTP_HDR_SENDER },
	};
	struct ksmtp_mail m = { .km_subject = "" };
	enum ksmtp_mail_field field;
	unsigned int i, flags;
	const char *why;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_EXPECT_NULL_MSG(test, ksmtp_check_headers(cases[i].hdrs, &flags),
				      "%s", cases[i].hdrs);
		KUNIT_EXPECT_EQ_MSG(test, flags, cases[i].flags, "%s", cases[i].hdrs);
		m.km_headers = cases[i].hdrs;
		why = ksmtp_mail_check(&m, false, &field, NULL);
		KUNIT_EXPECT_EQ_MSG(test, !why, !(cases[i].flags & KSMTP_HDR_BCC),
				    "%s: %s", cases[i].hdrs, why ?: "");
		if (why)
			KUNIT_EXPECT_EQ(test, field, KSMTP_MAIL_HEADERS);
	}
}

/* Review 2: fields that say where replies, copies or receipts go, name
 * the author or a list's addresses, or pass for a receiving server's
 * trace or verdict: each flagged KSMTP_HDR_RESENT (a send group member
 * may not give them); names that only start or end alike are not.
 */
static void review2_more_member_fields(struct kunit *test)
{
	static const char * const fields[] = {
		"List-Post: <mailto:attacker@example.net>",
		"Mail-Copies-To: attacker@example.net",
		"X-Confirm-Reading-To: attacker@example.net",
		"Author: ceo@example.org",
		"Received-SPF: pass (example.org: domain of ceo@example.org)",
		"DomainKey-Signature: a=rsa-sha1; d=example.org; b=AAAA",
		"Delivered-To: ceo@example.org",
		"list-id: <ops.example.org>",
		"List-Unsubscribe: <mailto:attacker@example.net>",
		"X-Original-To: ceo@example.org",
		"Envelope-To: ceo@example.org",
	};
	static const char * const others[] = {
		"List-: x", "Authors: x", "X-Delivered-To: x", "X-List-Post: x",
		"Received-SPFx: x",
	};
	unsigned int i, flags;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		KUNIT_EXPECT_NULL_MSG(test, ksmtp_check_headers(fields[i], &flags),
				      "%s", fields[i]);
		KUNIT_EXPECT_TRUE_MSG(test, flags & KSMTP_HDR_RESENT, "not flagged: %s",
				      fields[i]);
	}
	for (i = 0; i < ARRAY_SIZE(others); i++) {
		KUNIT_EXPECT_NULL_MSG(test, ksmtp_check_headers(others[i], &flags),
				      "%s", others[i]);
		KUNIT_EXPECT_EQ_MSG(test, flags, 0U, "%s", others[i]);
	}
}

/* Review 2 (holds): what a receiver could take for From, Sender or a
 * redirect but the checker parses otherwise is refused; a field inside a
 * continuation is the field before it's; the worst sections are bounded.
 */
static void review2_hostile_field_names(struct kunit *test)
{
	static const char * const refused[] = {
		"From : a@b.c",			/* RFC 5322 4.5.3 obs-optional */
		"From\t: a@b.c",
		"Fr\xc3\xb6m: a@b.c",
		"\357\273\277From: a@b.c",	/* a BOM before the name */
		"From\n : a@b.c",
		" From: a@b.c",
		"Subject: x\rFrom: a@b.c",
		"Subject: x\n\t\nFrom: a@b.c",	/* a blank line to some readers */
		"Subject: x\n\nFrom: a@b.c",
		"Subject: x\vFrom: a@b.c",
		"Subject: x\fFrom: a@b.c",
		"Subject: x\034From: a@b.c",	/* str.splitlines() breaks there */
		".From: a@b.c",
	};
	static const struct {
		const char *hdrs;
		unsigned int flags;
	} flagged[] = {
		{ "FROM: a@b.c", KSMTP_HDR_FROM },
		{ "Subject: x\r\nreply-TO: a@b.c", KSMTP_HDR_RESENT },
		{ "Subject: x\nsender:a@b.c", KSMTP_HDR_SENDER },
		{ "X-Note: a\n From: a@b.c", 0 },
		{ "X-Note: a\r\n\tReply-To: a@b.c", 0 },
	};
	unsigned int i, flags;
	char *big;

	for (i = 0; i < ARRAY_SIZE(refused); i++)
		KUNIT_EXPECT_NOT_NULL_MSG(test, ksmtp_check_headers(refused[i], &flags),
					  "taken: %s", refused[i]);
	for (i = 0; i < ARRAY_SIZE(flagged); i++) {
		KUNIT_EXPECT_NULL_MSG(test, ksmtp_check_headers(flagged[i].hdrs, &flags),
				      "%s", flagged[i].hdrs);
		KUNIT_EXPECT_EQ_MSG(test, flags, flagged[i].flags, "%s", flagged[i].hdrs);
	}
	/* 32768 octets of the shortest fields, then of continuation lines */
	big = kunit_kzalloc(test, KSMTP_HEADERS_MAX + 2, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, big);
	for (i = 0; i + 3 <= KSMTP_HEADERS_MAX; i += 3)
		memcpy(big + i, "a:\n", 3);
	KUNIT_EXPECT_NULL(test, ksmtp_check_headers(big, &flags));
	for (i = 3; i + 3 <= KSMTP_HEADERS_MAX; i += 3)
		memcpy(big + i, " x\n", 3);
	KUNIT_EXPECT_NULL(test, ksmtp_check_headers(big, &flags));
	memset(big + i, 'x', KSMTP_HEADERS_MAX + 1 - i);
	KUNIT_EXPECT_NOT_NULL(test, ksmtp_check_headers(big, &flags));
}

static void subject_folding(struct kunit *test)
{
	char subj[128];
	size_t len;
	char *h, *s;

	snprintf(subj, sizeof(subj), "%s %s",
		 "A fault was detected on the primary storage controller of the gateway",
		 "and the secondary one took over");
	h = ksmtp_headers_build("a@b.c", "d@e.f", subj, KSMTP_PRIO_NORMAL,
				KSMTP_CTE_7BIT, 0, 0, &len);
	KUNIT_ASSERT_NOT_NULL(test, h);
	s = strstr(h, "Subject: ");
	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_EXPECT_EQ(test, strncmp(s, want_folded, strlen(want_folded)), 0);
	kfree(h);

	/* Non-ASCII: RFC 2047 words, never a bare CR or LF, never split UTF-8 */
	h = ksmtp_headers_build("a@b.c", "d@e.f",
				"Störung: Lüfter 2 ausgefallen, Temperatur steigt über 80 °C",
				KSMTP_PRIO_NORMAL, KSMTP_CTE_7BIT, 0, 0, &len);
	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_EXPECT_NOT_NULL(test, strstr(h, want_encoded));
	kfree(h);
}

/* Every line of a header block: CR LF ended, at most 998 octets. */
static void expect_header_lines(struct kunit *test, const char *h, size_t len)
{
	size_t i, col = 0;

	KUNIT_EXPECT_EQ(test, strlen(h), len);
	for (i = 0; i < len; i++) {
		if (h[i] == '\r') {
			KUNIT_ASSERT_EQ_MSG(test, h[i + 1], '\n', "bare CR at %zu", i);
			KUNIT_EXPECT_LE_MSG(test, col, 998U, "line ending at %zu", i);
			col = 0;
			i++;
			continue;
		}
		KUNIT_ASSERT_NE_MSG(test, h[i], '\n', "bare LF at %zu", i);
		col++;
	}
	KUNIT_EXPECT_EQ(test, col, 0U);
}

/* The worst cases of the subject and To: encoders: the heap overflow of
 * invalid UTF-8 (each continuation octet once shrank an encoded word to a
 * single octet), runs of spaces, a To: of a 1000-octet list.
 */
static void header_worst_cases(struct kunit *test)
{
	char *subj = kunit_kzalloc(test, KSMTP_SUBJECT_MAX + 1, GFP_KERNEL);
	char *list = kunit_kzalloc(test, KSMTP_RCPT_LIST_MAX + 1, GFP_KERNEL);
	size_t len, i;
	bool utf8;
	char *h;

	KUNIT_ASSERT_NOT_NULL(test, subj);
	KUNIT_ASSERT_NOT_NULL(test, list);
	memset(subj, 0x80, KSMTP_SUBJECT_MAX);
	KUNIT_ASSERT_NULL(test, ksmtp_check_subject(subj));
	h = ksmtp_headers_build("a@b.c", "d@e.f", subj, KSMTP_PRIO_NORMAL,
				KSMTP_CTE_7BIT, 0, 0, &len);
	KUNIT_ASSERT_NOT_NULL(test, h);
	expect_header_lines(test, h, len);
	/* bytewise, 45 octets a word: base64 of 0x80 0x80 0x80 is "gICA" */
	KUNIT_EXPECT_NOT_NULL(test, strstr(h, "Subject: =?UTF-8?B?gICAgICA"));
	kfree(h);

	/* a word, 2000 spaces, a word: not one line of 2000 */
	memset(subj, 0, KSMTP_SUBJECT_MAX + 1);
	memset(subj, ' ', 2010);
	memcpy(subj, "fan", 3);
	memcpy(subj + 2007, "off", 3);
	h = ksmtp_headers_build("a@b.c", "d@e.f", subj, KSMTP_PRIO_NORMAL,
				KSMTP_CTE_7BIT, 0, 0, &len);
	KUNIT_ASSERT_NOT_NULL(test, h);
	expect_header_lines(test, h, len);
	kfree(h);

	/* 16 addresses making a list of 1000 octets */
	for (i = 0; i < 16; i++) {
		size_t n = i < 15 ? 61 : 1000 - 15 * 63;

		memset(list + i * 63, 'a', n);
		memcpy(list + i * 63 + n - 6, "@x.org", 6);
		if (i < 15)
			memcpy(list + i * 63 + 61, ", ", 2);
	}
	KUNIT_EXPECT_EQ(test, strlen(list), (size_t)KSMTP_RCPT_LIST_MAX);
	KUNIT_ASSERT_NULL(test, ksmtp_check_rcpt_list(list, &utf8));
	h = ksmtp_headers_build("a@b.c", list, "s", KSMTP_PRIO_NORMAL,
				KSMTP_CTE_7BIT, 0, 0, &len);
	KUNIT_ASSERT_NOT_NULL(test, h);
	expect_header_lines(test, h, len);
	KUNIT_EXPECT_NOT_NULL(test, strstr(h, "x.org,\r\n aaa"));
	kfree(h);

	/* printable ASCII that looks like an encoded word is encoded */
	h = ksmtp_headers_build("a@b.c", "d@e.f", "=?UTF-8?B?QUJD?=", KSMTP_PRIO_NORMAL,
				KSMTP_CTE_7BIT, 0, 0, &len);
	KUNIT_ASSERT_NOT_NULL(test, h);
	KUNIT_EXPECT_NOT_NULL(test, strstr(h, "Subject: =?UTF-8?B?PT9VVEYtOD9CP1FVSkQ/PQ==?=\r\n"));
	kfree(h);
}

/* The display name of an added From: printable ASCII quoted ('"' and
 * '\\' escaped), but with "=?" in encoded words, as a reader would
 * decode an encoded word even inside a quoted string.
 */
static void display_names(struct kunit *test)
{
	static const struct {
		const char *name, *from;
	} cases[] = {
		{ "Cron \"x\" \\ =", "From: \"Cron \\\"x\\\" \\\\ =\" <a@b.c>\r\n" },
		{ "?= ?", "From: \"?= ?\" <a@b.c>\r\n" },
		{ "=?utf-8?q?ceo=40x.org?=",
		  "From: =?UTF-8?B?PT91dGYtOD9xP2Nlbz00MHgub3JnPz0=?= <a@b.c>\r\n" },
		{ "a =?", "From: =?UTF-8?B?YSA9Pw==?= <a@b.c>\r\n" },
	};
	unsigned int i;
	size_t len;
	char *h;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		KUNIT_EXPECT_NULL(test, ksmtp_check_from_name(cases[i].name));
		h = ksmtp_headers_merge("Subject: s", "a@b.c", cases[i].name,
					KSMTP_CTE_7BIT, 0, 0, &len);
		KUNIT_ASSERT_NOT_NULL(test, h);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strnstr(h, cases[i].from, len), "%s: %.*s",
					  cases[i].name, (int)len, h);
		kfree(h);
	}
}

struct check_case {
	const char *name;
	const char *s;
	int kind;	/* 0 address, 1 domain, 2 subject, 3 recipient list */
	bool ok;
	bool utf8;
};

static char long_local[80];
static char long_subject[KSMTP_SUBJECT_MAX + 2];
static char many_rcpts[17 * 9 + 1];

static const struct check_case check_cases[] = {
	{ "addr_ok", "ops@example.net", 0, true },
	{ "addr_utf8", "d\xc3\xa9v@example.net", 0, true, true },
	{ "addr_crlf", "a@b.c\r\nRCPT TO:<x@y.z>", 0, false },
	{ "addr_lf", "a@b\n", 0, false },
	{ "addr_space", "a b@c.d", 0, false },
	{ "addr_angle", "a>@c.d", 0, false },
	{ "addr_no_at", "abc", 0, false },
	{ "addr_no_domain", "abc@", 0, false },
	{ "addr_no_local", "@abc", 0, false },
	{ "addr_empty", "", 0, false },
	{ "addr_long_local", long_local, 0, false },
	{ "domain_ok", "gw1.example.org", 1, true },
	{ "domain_v4_literal", "[192.0.2.1]", 1, true },
	{ "domain_v6_literal", "[IPv6:2001:db8::1]", 1, true },
	{ "domain_crlf", "gw\r\nMAIL", 1, false },
	{ "domain_space", "gw 1", 1, false },
	{ "domain_bad_literal", "[1.2.3.4", 1, false },
	{ "subject_ok", "Fan 2 failed", 2, true },
	{ "subject_lf", "a\nBcc: x@y.z", 2, false },
	{ "subject_cr", "a\rb", 2, false },
	{ "subject_too_long", long_subject, 2, false },
	{ "list_one", "ops@example.net", 3, true },
	{ "list_two", "ops@example.net, oncall@example.net", 3, true },
	{ "list_no_space", "ops@example.net,oncall@example.net", 3, true },
	{ "list_utf8", "ops@example.net, j\303\266rg@example.net", 3, true, true },
	{ "list_empty_item", "ops@example.net,,oncall@example.net", 3, false },
	{ "list_trailing_comma", "ops@example.net, ", 3, false },
	{ "list_bad_item", "ops@example.net, on call@example.net", 3, false },
	{ "list_crlf", "ops@example.net,\r\nRCPT TO:<x@y.z>", 3, false },
	/* Every octet is checked: nothing but commas and spaces between. */
	{ "list_crlf_header", "ops@example.net,\r\nReply-To:x@evil.example", 3, false },
	{ "list_lf_header", "ops@example.net,\nBcc:x@evil.example", 3, false },
	{ "list_tab", "ops@example.net,\toncall@example.net", 3, false },
	{ "list_vt_ff", "ops@example.net,\v\foncall@example.net", 3, false },
	{ "list_crlf_first", "\r\nBcc:x@evil.example", 3, false },
	{ "list_spaces_around", "  ops@example.net ,  oncall@example.net  ", 3, true },
	{ "list_seventeen", many_rcpts, 3, false },
};

static void check_case_desc(const struct check_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(check, check_cases, check_case_desc);

static void input_checks(struct kunit *test)
{
	const struct check_case *c = test->param_value;
	const char *why;
	bool utf8 = false;

	if (c->kind == 0)
		why = ksmtp_check_address(c->s, &utf8);
	else if (c->kind == 1)
		why = ksmtp_check_domain(c->s);
	else if (c->kind == 3)
		why = ksmtp_check_rcpt_list(c->s, &utf8);
	else
		why = ksmtp_check_subject(c->s);
	if (c->ok)
		KUNIT_EXPECT_NULL(test, why);
	else
		KUNIT_EXPECT_NOT_NULL(test, why);
	KUNIT_EXPECT_EQ(test, utf8, c->utf8);
}

static int encode_suite_init(struct kunit_suite *suite)
{
	int i;

	memset(long_local, 'a', 70);
	strcpy(long_local + 70, "@b.c");
	memset(long_subject, 's', KSMTP_SUBJECT_MAX + 1);
	for (i = 0; i < 17; i++)
		memcpy(many_rcpts + i * 9, "a@b.c.de,", 9);
	many_rcpts[17 * 9 - 1] = '\0';	/* 17 addresses, no trailing comma */
	return 0;
}

static struct kunit_case encode_cases[] = {
	KUNIT_CASE_PARAM(body_encode, body_gen_params),
	KUNIT_CASE(long_lines),
	KUNIT_CASE(chunking),
	KUNIT_CASE(size_count),
	KUNIT_CASE(headers),
	KUNIT_CASE(header_fields),
	KUNIT_CASE(review2_more_member_fields),
	KUNIT_CASE(review2_hostile_field_names),
	KUNIT_CASE(subject_folding),
	KUNIT_CASE(header_worst_cases),
	KUNIT_CASE(display_names),
	KUNIT_CASE_PARAM(input_checks, check_gen_params),
	{}
};

static struct kunit_suite encode_suite = {
	.name = "ksmtp-encode",
	.suite_init = encode_suite_init,
	.test_cases = encode_cases,
};

kunit_test_suite(encode_suite);
