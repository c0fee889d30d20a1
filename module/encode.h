/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_ENCODE_H
#define _KSMTP_ENCODE_H

#include <linux/types.h>
#include <linux/ksmtp.h>

/* RFC 5321 4.5.3.1: 64 local part, 255 domain, 256 path with <> */
#define KSMTP_LOCAL_MAX		64
#define KSMTP_DOMAIN_MAX	255
#define KSMTP_ADDR_MAX		254
/* Several recipients of one mail: "a@b.c, d@e.f" */
#define KSMTP_RCPT_MAX		16
#define KSMTP_RCPT_LIST_MAX	1000
/* Longest line we send, CRLF excluded (RFC 5322 2.1.1) */
#define KSMTP_TEXT_LINE_MAX	998
/* Quoted-printable lines, soft break "=" included (RFC 2045 6.7) */
#define KSMTP_QP_LINE_MAX	76

/**
 * enum ksmtp_cte - how the body goes on the wire
 * @KSMTP_CTE_7BIT: as is: 7-bit text, lines of at most 998 octets
 * @KSMTP_CTE_8BIT: as is, with BODY=8BITMIME (the server offered it)
 * @KSMTP_CTE_QP: quoted-printable (long lines, NUL, or 8-bit text to a
 *	server without 8BITMIME)
 */
enum ksmtp_cte {
	KSMTP_CTE_7BIT,
	KSMTP_CTE_8BIT,
	KSMTP_CTE_QP,
};

enum ksmtp_cte ksmtp_body_scan(const char *body, size_t len, bool srv_8bitmime,
			       u64 *octets);

/**
 * enum ksmtp_mail_field - the part of a mail that ksmtp_mail_check() refused
 * @KSMTP_MAIL_RCPT: the recipient list
 * @KSMTP_MAIL_SUBJECT: the subject
 * @KSMTP_MAIL_BODY: the body
 * @KSMTP_MAIL_PRIORITY: the priority
 * @KSMTP_MAIL_HEADERS: the caller's header section
 * @KSMTP_MAIL_ENVELOPE_FROM: the envelope sender
 * @KSMTP_MAIL_FROM_NAME: the display name of the From header
 */
enum ksmtp_mail_field {
	KSMTP_MAIL_RCPT,
	KSMTP_MAIL_SUBJECT,
	KSMTP_MAIL_BODY,
	KSMTP_MAIL_PRIORITY,
	KSMTP_MAIL_HEADERS,
	KSMTP_MAIL_ENVELOPE_FROM,
	KSMTP_MAIL_FROM_NAME,
};

/* What a caller's header section holds (ksmtp_check_headers()) */
#define KSMTP_HDR_DATE		BIT(0)
#define KSMTP_HDR_FROM		BIT(1)
#define KSMTP_HDR_MESSAGE_ID	BIT(2)
#define KSMTP_HDR_MIME		BIT(3)	/* MIME-Version, Content-Type or -Transfer-Encoding */
#define KSMTP_HDR_SENDER	BIT(4)	/* Sender or Return-Path */
#define KSMTP_HDR_8BIT		BIT(5)	/* 8-bit octets: needs SMTPUTF8 */
/* Resent-*, Reply-To and the other fields naming another author or where
 * replies, copies, bounces or receipts go, List-*, the trace fields
 * (Received, Delivered-To...) and the signatures and verdicts (DKIM-,
 * DomainKey-Signature, ARC-*, Authentication-Results, Received-SPF)
 */
#define KSMTP_HDR_RESENT	BIT(6)
#define KSMTP_HDR_BCC		BIT(7)	/* refused: its recipients would read it */

const char *ksmtp_check_address(const char *addr, bool *utf8);
size_t ksmtp_rcpt_next(const char **p, char *addr);
const char *ksmtp_check_rcpt_list(const char *list, bool *utf8);
const char *ksmtp_mail_check(const struct ksmtp_mail *m, bool need_rcpt,
			     enum ksmtp_mail_field *field, bool *rcpt_utf8);
const char *ksmtp_mail_field_name(enum ksmtp_mail_field f);
const char *ksmtp_check_domain(const char *domain);
const char *ksmtp_check_subject(const char *subject);

const char *ksmtp_check_headers(const char *hdrs, unsigned int *flags);
const char *ksmtp_check_from_name(const char *name);
char *ksmtp_headers_merge(const char *hdrs, const char *from,
			  const char *from_name, enum ksmtp_cte cte,
			  time64_t now, u64 id, size_t *len);

char *ksmtp_headers_build(const char *from, const char *rcpt,
			  const char *subject, enum ksmtp_priority prio,
			  enum ksmtp_cte cte, time64_t now, u64 id,
			  size_t *len);

/**
 * struct ksmtp_enc - streaming message encoder
 * @hdr: header block (ends with the empty line)
 * @hdr_len: its length
 * @hdr_pos: octets of it already produced
 * @in: body
 * @in_len: body length
 * @in_pos: body octets already consumed
 * @cte: body encoding
 * @saw_cr: the previous body octet was a CR not yet turned into a line break
 * @bol: the output is at the beginning of a line
 * @col: octets in the current output line (for quoted-printable)
 * @done: the final "." line was produced
 * @stuffed: dots added by dot-stuffing so far
 * @total: octets produced so far
 *
 * Produces headers, body (every bare CR or LF turned into CR LF,
 * dot-stuffed, encoded) and the final ".", in chunks of the caller's size:
 * its memory does not grow with the body.
 */
struct ksmtp_enc {
	const char *hdr;
	size_t hdr_len;
	size_t hdr_pos;
	const char *in;
	size_t in_len;
	size_t in_pos;
	enum ksmtp_cte cte;
	bool saw_cr;
	bool bol;
	bool done;
	unsigned int col;
	u64 stuffed;
	u64 total;
};

void ksmtp_enc_init(struct ksmtp_enc *e, const char *hdr, size_t hdr_len,
		    const char *body, size_t len, enum ksmtp_cte cte);
size_t ksmtp_enc_next(struct ksmtp_enc *e, char *out, size_t cap);
u64 ksmtp_enc_size(const char *hdr, size_t hdr_len, const char *body,
		   size_t len, enum ksmtp_cte cte, char *scratch, size_t cap);

#endif /* _KSMTP_ENCODE_H */
