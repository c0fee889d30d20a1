// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the whole session engine, over real loopback TCP (IPv4 and IPv6),
 * against a scripted in-kernel server. Each case checks the result (errno,
 * phase, reply code and text, transient or not) and the exact bytes the
 * client sent ('*' in a pattern stands for the Date and Message-ID values).
 */
#include <kunit/test.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <net/sock.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ksmtp.h>

#include "server.h"
#include "../client.h"
#include "../session.h"
#include "../tls.h"

#define GREET		"S220 mx.example ESMTP ready\r\n"
#define EHLO_BASIC	"S250 mx.example\r\n"
#define OK		"S250 ok\r\n"
#define QUIT_OK		"R", "S221 bye\r\n"
#define TXN		"R", OK, "R", OK, "R", "S354 go ahead\r\n", "D", \
			"S250 2.0.0 queued as 1234\r\n", QUIT_OK

#define HDRS(to, subj, cte, prio) \
	"Date: *\r\nFrom: dev@example.org\r\nTo: " to "\r\nSubject: " subj \
	"\r\nMessage-ID: <*@example.org>\r\nMIME-Version: 1.0\r\n" \
	"Content-Type: text/plain; charset=utf-8\r\n" \
	"Content-Transfer-Encoding: " cte "\r\nX-Priority: " prio "\r\n\r\n"
#define MSG		HDRS("ops@example.net", "Fault", "7bit", "3 (Normal)") \
			"Fan 2 failed.\r\n.\r\n"
#define C_EHLO		"EHLO client.example\r\n"
#define C_MAIL		"MAIL FROM:<dev@example.org>\r\n"
#define C_RCPT		"RCPT TO:<ops@example.net>\r\n"
#define C_TXN		C_MAIL C_RCPT "DATA\r\n" MSG "QUIT\r\n"
#define C_AUTH_PLAIN	"AUTH PLAIN AHVzZXIAc2VjcmV0\r\n"

static const char * const s_basic[] = {
	GREET, "R", EHLO_BASIC, TXN,
	NULL
};

static const char * const s_split_greeting[] = {
	"S22|0 mx.exa|mple ESMTP ready\r|\n", "R", EHLO_BASIC, TXN,
	NULL
};

static const char * const s_split_ehlo[] = {
	GREET, "R", "S250-mx.example\r\n25|0-SIZE 1000000\r\n250-8BIT|MIME\r\n250 HE|LP\r\n", TXN,
	NULL
};

static const char * const s_greet_and_ehlo_one_segment[] = {
	"S220 mx ready\r\n250 mx\r\n", "R",
	NULL
};

/* RFC 5321 3.8: a 421 sent unasked, read with the greeting */
static const char * const s_async_421[] = {
	"S220 mx ready\r\n421 4.3.2 shutting down\r\n",
	NULL
};

/* A CRAM-MD5 challenge of 1400 base64 octets (built at init): cut where it
 * is kept, it must not be answered (the HMAC would be over the wrong one)
 */
static char long_chal[1500];
static const char * const s_cram_long_chal[] = {
	GREET, "R", "S250-mx.example\r\n250 AUTH CRAM-MD5\r\n", "R", long_chal, "R",
	"S535 5.7.8 bad\r\n", QUIT_OK,
	NULL
};

static const char * const s_second_greeting[] = {
	"S220 mx ready\r\n220 mx ready again\r\n", "R",
	NULL
};

/* Built by session_suite_init(): an EHLO reply of 200 lines of 60 octets
 * with the extensions ksmtp reads at the end, and a greeting line of 2000
 * octets, where the limit of RFC 5321 is 512.
 */
#define PAD_LINE	"250-X-PADDING-PADDING-PADDING-PADDING-PADDING-PADDING-PADDI\r\n"
static char ehlo_200_lines[1 + 200 * (sizeof(PAD_LINE) - 1) + 128];
static char long_greeting[2100];

static const char * const s_ehlo_200_lines[] = {
	GREET, "R", ehlo_200_lines, "R", "S235 ok\r\n", TXN,
	NULL
};

static const char * const s_long_reply_line[] = {
	long_greeting, "R", EHLO_BASIC, TXN,
	NULL
};

static const char * const s_bare_code[] = {
	GREET, "R", "S250-mx.example\r\n250\r\n", TXN,
	NULL
};

static const char * const s_greet_554[] = {
	"S554 no service for you\r\n", QUIT_OK,
	NULL
};

static const char * const s_greet_421[] = {
	"S421 mx.example shutting down\r\n", "Z",
	NULL
};

static const char * const s_silent[] = {
	"Z",
	NULL
};

static const char * const s_trickle[] = {
	"T100:220 mx.example ESMTP ready\r\n",
	NULL
};

static const char * const s_close[] = {
	"C",
	NULL
};

static const char * const s_garbage[] = {
	"Shello there\r\n", "Z",
	NULL
};

static const char * const s_mixed_codes[] = {
	GREET, "R", "S250-mx\r\n251 odd\r\n", "Z",
	NULL
};

static const char * const s_ehlo_502[] = {
	GREET, "R", "S502 5.5.1 EHLO not implemented\r\n", "R", EHLO_BASIC, TXN,
	NULL
};

static const char * const s_ehlo_500[] = {
	GREET, "R", "S500 syntax error\r\n", "R", EHLO_BASIC, TXN,
	NULL
};

static const char * const s_ehlo_501[] = {
	GREET, "R", "S501 bad argument\r\n", "R", EHLO_BASIC, TXN,
	NULL
};

static const char * const s_ehlo_550[] = {
	GREET, "R", "S550 no\r\n", "R", EHLO_BASIC, TXN,
	NULL
};

static const char * const s_ehlo_502_auth[] = {
	GREET, "R", "S502 EHLO not implemented\r\n", QUIT_OK,
	NULL
};

static const char * const s_ehlo_421[] = {
	GREET, "R", "S421 4.3.2 going down\r\n", "Z",
	NULL
};

static const char * const s_helo[] = {
	GREET, "R", "S250 mx.example\r\n", TXN,
	NULL
};

static const char * const s_helo_refused[] = {
	GREET, "R", "S502 no EHLO\r\n", "R", "S501 no HELO either\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_plain[] = {
	GREET, "R", "S250-mx\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n",
	"R", "S235 2.7.0 Authentication successful\r\n", TXN,
	NULL
};

static const char * const s_auth_login[] = {
	GREET, "R", "S250-mx\r\n250 AUTH LOGIN\r\n",
	"R", "S334 VXNlcm5hbWU6\r\n", "R", "S334 UGFzc3dvcmQ6\r\n", "R", "S235 ok\r\n", TXN,
	NULL
};

static const char * const s_auth_login_odd[] = {
	GREET, "R", "S250-mx\r\n250 AUTH LOGIN\r\n",
	"R", "S334 eHl6\r\n", "R", "S334\r\n", "R", "S235 ok\r\n", TXN,
	NULL
};

static const char * const s_auth_login_bad_chal[] = {
	GREET, "R", "S250-mx\r\n250 AUTH LOGIN\r\n",
	"R", "S334 Username:\r\n", "R", "S501 cancelled\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_login_third_334[] = {
	GREET, "R", "S250-mx\r\n250 AUTH LOGIN\r\n",
	"R", "S334 VXNlcm5hbWU6\r\n", "R", "S334 UGFzc3dvcmQ6\r\n", "R", "S334 eHl6\r\n",
	"R", "S501 cancelled\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_plain_334[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n",
	"R", "S334 \r\n", "R", "S501 cancelled\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_cram[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN CRAM-MD5\r\n",
	"R", "S334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
	"R", "S235 ok\r\n", TXN,
	NULL
};

/* A challenge longer than the 255 octets of text kept for messages. */
#define LONG_CHAL "PDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkw" \
	"MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3" \
	"ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0" \
	"NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAx" \
	"MjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4" \
	"OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MC40MkBwb3N0b2ZmaWNlLmV4YW1wbGUubmV0Pg=="
static const char * const s_auth_cram_long[] = {
	GREET, "R", "S250-mx\r\n250 AUTH CRAM-MD5\r\n",
	"R", "S334 " LONG_CHAL "\r\n", "R", "S235 ok\r\n", TXN,
	NULL
};

static const char * const s_auth_cram_not_offered[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN LOGIN\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_535[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n",
	"R", "S535 5.7.8 Authentication credentials invalid\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_534[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n",
	"R", "S534 5.7.9 Authentication mechanism is too weak\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_538[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n",
	"R", "S538 5.7.11 Encryption required\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_454[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n",
	"R", "S454 4.7.0 Temporary authentication failure\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_530[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n",
	"R", "S530 5.7.0 Authentication required\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_504[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n",
	"R", "S504 5.5.4 Unrecognized authentication type\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_unlisted[] = {
	GREET, "R", EHLO_BASIC,
	"R", "S503 5.5.1 AUTH not available\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_unknown_mechs[] = {
	GREET, "R", "S250-mx\r\n250 AUTH XOAUTH2 GSSAPI\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_offered_plain[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n",
	"R", "S235 ok\r\n", TXN,
	NULL
};

static const char * const s_auth_offered_txn[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n", TXN,
	NULL
};

static const char * const s_mail_550[] = {
	GREET, "R", EHLO_BASIC, "R", "S550 5.7.1 sender rejected\r\n", QUIT_OK,
	NULL
};

static const char * const s_mail_451[] = {
	GREET, "R", EHLO_BASIC, "R", "S451 4.3.0 try later\r\n", QUIT_OK,
	NULL
};

static const char * const s_rcpt_251[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", "S251 user not local; will forward\r\n",
	"R", "S354 go\r\n", "D", "S250 ok\r\n", QUIT_OK,
	NULL
};

static const char * const s_rcpt_550[] = {
	GREET, "R", EHLO_BASIC, "R", OK,
	"R", "S550-5.1.1 The email account that you tried to reach does not exist.\r\n"
	"550 5.1.1 Please try again.\r\n", QUIT_OK,
	NULL
};

static const char * const s_rcpt_452[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", "S452 4.5.3 Too many recipients\r\n", QUIT_OK,
	NULL
};

static const char * const s_data_554[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", OK,
	"R", "S554 5.5.1 no valid recipients\r\n", QUIT_OK,
	NULL
};

static const char * const s_data_250[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", OK, "R", OK, QUIT_OK,
	NULL
};

static const char * const s_dot_552[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", OK, "R", "S354 go\r\n", "D",
	"S552 5.3.4 Message too big\r\n", QUIT_OK,
	NULL
};

static const char * const s_dot_451[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", OK, "R", "S354 go\r\n", "D",
	"S451 4.3.0 local error\r\n", QUIT_OK,
	NULL
};

static const char * const s_dot_silent[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", OK, "R", "S354 go\r\n", "Z",
	NULL
};

static const char * const s_close_after_mail[] = {
	GREET, "R", EHLO_BASIC, "R", "C",
	NULL
};

static const char * const s_rcpt_timeout[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "Z",
	NULL
};

static const char * const s_size_exceeded[] = {
	GREET, "R", "S250-mx\r\n250 SIZE 100\r\n", QUIT_OK,
	NULL
};

static const char * const s_8bitmime[] = {
	GREET, "R", "S250-mx\r\n250 8BITMIME\r\n", TXN,
	NULL
};

static const char * const s_smtputf8[] = {
	GREET, "R", "S250-mx\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n", TXN,
	NULL
};

static const char * const s_no_smtputf8[] = {
	GREET, "R", "S250-mx\r\n250 8BITMIME\r\n", QUIT_OK,
	NULL
};

static const char * const s_quit_silent[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", OK, "R", "S354 go\r\n", "D",
	"S250 ok\r\n", "R", "Z",
	NULL
};

static const char * const s_dot_body[] = {
	GREET, "R", EHLO_BASIC, TXN,
	NULL
};

static const char * const s_pipelining[] = {
	GREET, "R", "S250-mx\r\n250 PIPELINING\r\n",
	/* the three lines before any reply: only a batch gets through */
	"R", "R", "R", "S250 ok\r\n250 ok\r\n354 go\r\n", "D", "S250 queued\r\n", QUIT_OK,
	NULL
};

static const char * const s_pipelining_rcpt_550[] = {
	GREET, "R", "S250-mx\r\n250 PIPELINING\r\n",
	"R", "R", "R", "S250 ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n",
	QUIT_OK,
	NULL
};

static const char * const s_pipelining_354_anyway[] = {
	GREET, "R", "S250-mx\r\n250 PIPELINING\r\n",
	"R", "R", "R", "S250 ok\r\n550 5.1.1 no such user\r\n354 go\r\n",
	"R", "S554 5.5.1 no valid recipients\r\n", QUIT_OK,
	NULL
};

static const char * const s_two_rcpts[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", OK, "R", OK,
	"R", "S354 go\r\n", "D", "S250 queued\r\n", QUIT_OK,
	NULL
};

static const char * const s_two_rcpts_one_refused[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", OK, "R", "S550 5.1.1 oncall: no such user\r\n",
	"R", "S354 go\r\n", "D", "S250 queued\r\n", QUIT_OK,
	NULL
};

static const char * const s_two_rcpts_refused[] = {
	GREET, "R", EHLO_BASIC, "R", OK, "R", "S550 5.1.1 ops: no such user\r\n",
	"R", "S450 4.2.0 oncall: busy\r\n", QUIT_OK,
	NULL
};

static const char * const s_two_rcpts_pipelined[] = {
	GREET, "R", "S250-mx\r\n250 PIPELINING\r\n",
	"R", "R", "R", "R", "S250 ok\r\n250 ok\r\n550 5.1.1 oncall: no such user\r\n354 go\r\n",
	"D", "S250 queued\r\n", QUIT_OK,
	NULL
};

#define TWO	"ops@example.net, oncall@example.net"
#define C_TWO	"RCPT TO:<ops@example.net>\r\nRCPT TO:<oncall@example.net>\r\n"
#define MSG_TWO	HDRS(TWO, "Fault", "7bit", "3 (Normal)") "Fan 2 failed.\r\n.\r\n"

/* STARTTLS offered with PLAIN; after the handshake, LOGIN only. What the
 * server said after its 220 (an attacker's injection) must be dropped.
 */
static const char * const s_starttls[] = {
	GREET, "R", "S250-mx\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n",
	"R", "S220 2.0.0 Ready to start TLS\r\n250-mx\r\n250 AUTH PLAIN\r\n",
	"R", "S250-mx\r\n250 AUTH LOGIN\r\n",
	"R", "S334 VXNlcm5hbWU6\r\n", "R", "S334 UGFzc3dvcmQ6\r\n", "R", "S235 ok\r\n",
	TXN,
	NULL
};

static const char * const s_no_starttls[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN LOGIN\r\n", QUIT_OK,
	NULL
};

static const char * const s_starttls_454[] = {
	GREET, "R", "S250-mx\r\n250 STARTTLS\r\n", "R",
	"S454 4.7.0 TLS not available due to temporary reason\r\n", QUIT_OK,
	NULL
};

static const char * const s_starttls_then_silence[] = {
	GREET, "R", "S250-mx\r\n250 STARTTLS\r\n", "R", "S220 go ahead\r\n", "Z",
	NULL
};

static const char * const s_ehlo_502_tls[] = {
	GREET, "R", "S502 5.5.2 EHLO not implemented\r\n", QUIT_OK,
	NULL
};

static const char * const s_auth_offered[] = {
	GREET, "R", "S250-mx\r\n250 AUTH PLAIN\r\n", QUIT_OK,
	NULL
};

struct sess_case {
	const char *name;
	const char * const *script;	/* NULL: nobody listens */
	const char *expect;
	int err;
	enum ksmtp_phase phase;
	unsigned int code;
	const char *text;
	bool transient;
	bool unknown;
	int family;
	enum ksmtp_auth_type auth;
	bool creds;
	const char *user;
	const char *pass;
	bool helo_only;
	const char *domain;
	unsigned int timeout_ms;
	const char *rcpt;
	const char *subject;
	const char *body;
	enum ksmtp_tls_mode tls;
	bool strict;		/* AUTH over cleartext not allowed */
	bool real_helper;	/* no stand-in for the TLS helper */
	int hs_err;		/* what the stand-in handshake returns */
	const char *reason;	/* kr_reason must hold this */
};

static const struct sess_case sess_cases[] = {
	{ "basic", s_basic, C_EHLO C_TXN },
	{ "ipv6", s_basic, C_EHLO C_TXN, .family = AF_INET6 },
	{ "ipv4_address_literal", s_basic, "EHLO [127.0.0.1]\r\n" C_TXN, .domain = "" },
	{ "ipv6_address_literal", s_basic, "EHLO [IPv6:::1]\r\n" C_TXN,
	  .family = AF_INET6, .domain = "" },
	{ "greeting_split_in_segments", s_split_greeting, C_EHLO C_TXN },
	{ "ehlo_reply_split_mid_line", s_split_ehlo,
	  C_EHLO "MAIL FROM:<dev@example.org> SIZE=*\r\n" C_RCPT "DATA\r\n" MSG "QUIT\r\n" },
	/* Bytes ahead of a command, read with the previous reply (or queued
	 * on the socket when it is sent), are never taken for its reply: the
	 * session ends before anything is sent, QUIT included; the mail may
	 * be tried again. (Bytes that come after the command went out cannot
	 * be told from its reply: then its code is checked as always.)
	 */
	{ "reply_ahead_of_ehlo_out_of_step", s_greet_and_ehlo_one_segment, "", -EPROTO,
	  KSMTP_PHASE_EHLO, .transient = true },
	{ "second_greeting_out_of_step", s_second_greeting, "", -EPROTO, KSMTP_PHASE_EHLO,
	  .transient = true },
	{ "unasked_421_with_greeting", s_async_421, "", -ECONNABORTED, KSMTP_PHASE_EHLO, 421,
	  "4.3.2 shutting down", .transient = true },
	{ "cram_md5_challenge_too_long_cancelled", s_cram_long_chal,
	  C_EHLO "AUTH CRAM-MD5\r\n*\r\nQUIT\r\n", -EPROTO, KSMTP_PHASE_AUTH,
	  .reason = "too long",
	  .auth = KSMTP_AUTH_CRAM_MD5 },
	{ "ehlo_reply_of_200_lines", s_ehlo_200_lines,
	  C_EHLO C_AUTH_PLAIN "MAIL FROM:<dev@example.org> SIZE=*\r\n" C_RCPT "DATA\r\n"
	  MSG "QUIT\r\n", .auth = KSMTP_AUTH_PLAIN },
	{ "greeting_line_of_2000_octets", s_long_reply_line, C_EHLO C_TXN },
	{ "bare_code_last_line", s_bare_code, C_EHLO C_TXN },
	{ "greeting_554_quits", s_greet_554, "QUIT\r\n", -EREMOTEIO,
	  KSMTP_PHASE_GREETING, 554, "no service for you" },
	{ "greeting_421_closes", s_greet_421, "", -ECONNABORTED,
	  KSMTP_PHASE_GREETING, 421, "mx.example shutting down", true },
	{ "greeting_timeout", s_silent, "", -ETIMEDOUT, KSMTP_PHASE_GREETING,
	  .transient = true, .timeout_ms = 300 },
	{ "greeting_trickle_timeout", s_trickle, "", -ETIMEDOUT,
	  KSMTP_PHASE_GREETING, .transient = true, .timeout_ms = 300 },
	{ "greeting_closed", s_close, "", -ECONNRESET, KSMTP_PHASE_GREETING,
	  .transient = true },
	{ "greeting_garbage", s_garbage, "", -EBADMSG, KSMTP_PHASE_GREETING },
	{ "mixed_reply_codes", s_mixed_codes, C_EHLO, -EBADMSG, KSMTP_PHASE_EHLO },
	{ "ehlo_502_helo_fallback", s_ehlo_502, C_EHLO "HELO client.example\r\n" C_TXN },
	{ "ehlo_500_helo_fallback", s_ehlo_500, C_EHLO "HELO client.example\r\n" C_TXN },
	{ "ehlo_501_helo_fallback", s_ehlo_501, C_EHLO "HELO client.example\r\n" C_TXN },
	{ "ehlo_550_helo_fallback", s_ehlo_550, C_EHLO "HELO client.example\r\n" C_TXN },
	{ "ehlo_502_no_fallback_with_auth", s_ehlo_502_auth, C_EHLO "QUIT\r\n",
	  -EREMOTEIO, KSMTP_PHASE_EHLO, 502, "EHLO not implemented",
	  .auth = KSMTP_AUTH_PLAIN },
	{ "ehlo_421_closes", s_ehlo_421, C_EHLO, -ECONNABORTED, KSMTP_PHASE_EHLO,
	  421, "4.3.2 going down", true },
	{ "helo_only", s_helo, "HELO client.example\r\n" C_TXN, .helo_only = true },
	{ "helo_fallback_refused", s_helo_refused, C_EHLO "HELO client.example\r\nQUIT\r\n",
	  -EREMOTEIO, KSMTP_PHASE_EHLO, 501, "no HELO either" },
	{ "auth_plain", s_auth_plain, C_EHLO C_AUTH_PLAIN C_TXN, .auth = KSMTP_AUTH_PLAIN },
	{ "auth_login", s_auth_login, C_EHLO "AUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\n" C_TXN,
	  .auth = KSMTP_AUTH_LOGIN },
	{ "auth_login_any_prompt_wording", s_auth_login_odd,
	  C_EHLO "AUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\n" C_TXN, .auth = KSMTP_AUTH_LOGIN },
	{ "auth_login_challenge_not_base64", s_auth_login_bad_chal,
	  C_EHLO "AUTH LOGIN\r\n*\r\nQUIT\r\n", -EPROTO, KSMTP_PHASE_AUTH,
	  .auth = KSMTP_AUTH_LOGIN },
	/* A challenge more than the mechanism answers: cancelled, not QUIT
	 * taken for an answer.
	 */
	{ "auth_login_third_challenge_cancelled", s_auth_login_third_334,
	  C_EHLO "AUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\n*\r\nQUIT\r\n", -EPROTO,
	  KSMTP_PHASE_AUTH, .auth = KSMTP_AUTH_LOGIN },
	{ "auth_plain_initial_response_ignored", s_auth_plain_334,
	  C_EHLO C_AUTH_PLAIN "*\r\nQUIT\r\n", -EPROTO, KSMTP_PHASE_AUTH,
	  .auth = KSMTP_AUTH_PLAIN },
	{ "auth_cram_md5_challenge_over_255_octets", s_auth_cram_long,
	  C_EHLO "AUTH CRAM-MD5\r\ndGltIGUzYzYwYjhhMjIyYjQzNDA0ZTBlZTczZTBmNzJjZDEz\r\n" C_TXN,
	  .auth = KSMTP_AUTH_CRAM_MD5, .user = "tim", .pass = "tanstaaftanstaaf" },
	{ "auth_cram_md5_strict_never_plain", s_auth_cram_not_offered, C_EHLO "QUIT\r\n",
	  -EOPNOTSUPP, KSMTP_PHASE_AUTH, .auth = KSMTP_AUTH_CRAM_MD5, .user = "tim",
	  .pass = "tanstaaftanstaaf", .reason = "does not offer CRAM-MD5" },
	{ "auth_cram_md5", s_auth_cram,
	  C_EHLO "AUTH CRAM-MD5\r\ndGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n" C_TXN,
	  .auth = KSMTP_AUTH_CRAM_MD5, .user = "tim", .pass = "tanstaaftanstaaf" },
	{ "auth_535", s_auth_535, C_EHLO C_AUTH_PLAIN "QUIT\r\n", -EACCES,
	  KSMTP_PHASE_AUTH, 535, "5.7.8 Authentication credentials invalid",
	  .auth = KSMTP_AUTH_PLAIN },
	{ "auth_534", s_auth_534, C_EHLO C_AUTH_PLAIN "QUIT\r\n", -EPERM,
	  KSMTP_PHASE_AUTH, 534, "5.7.9 Authentication mechanism is too weak",
	  .auth = KSMTP_AUTH_PLAIN },
	{ "auth_538", s_auth_538, C_EHLO C_AUTH_PLAIN "QUIT\r\n", -EPERM,
	  KSMTP_PHASE_AUTH, 538, "5.7.11 Encryption required", .auth = KSMTP_AUTH_PLAIN },
	{ "auth_454", s_auth_454, C_EHLO C_AUTH_PLAIN "QUIT\r\n", -EAGAIN,
	  KSMTP_PHASE_AUTH, 454, "4.7.0 Temporary authentication failure", true,
	  .auth = KSMTP_AUTH_PLAIN },
	{ "auth_530", s_auth_530, C_EHLO C_AUTH_PLAIN "QUIT\r\n", -EACCES,
	  KSMTP_PHASE_AUTH, 530, "5.7.0 Authentication required", .auth = KSMTP_AUTH_PLAIN },
	{ "auth_504", s_auth_504, C_EHLO C_AUTH_PLAIN "QUIT\r\n", -EOPNOTSUPP,
	  KSMTP_PHASE_AUTH, 504, "5.5.4 Unrecognized authentication type",
	  .auth = KSMTP_AUTH_PLAIN },
	{ "auth_login_none_listed_tries_plain", s_auth_unlisted,
	  C_EHLO C_AUTH_PLAIN "QUIT\r\n", -EREMOTEIO, KSMTP_PHASE_AUTH, 503,
	  "5.5.1 AUTH not available", .auth = KSMTP_AUTH_LOGIN },
	{ "auth_only_unknown_mechanisms", s_auth_unknown_mechs, C_EHLO "QUIT\r\n",
	  -EOPNOTSUPP, KSMTP_PHASE_AUTH, .auth = KSMTP_AUTH_PLAIN },
	{ "auth_login_wanted_plain_offered", s_auth_offered_plain,
	  C_EHLO C_AUTH_PLAIN C_TXN, .auth = KSMTP_AUTH_LOGIN },
	{ "auth_none_with_credentials_offered", s_auth_offered_plain,
	  C_EHLO C_AUTH_PLAIN C_TXN, .creds = true },
	{ "auth_none_without_credentials", s_auth_offered_txn, C_EHLO C_TXN },
	{ "mail_550", s_mail_550, C_EHLO C_MAIL "QUIT\r\n", -EREMOTEIO,
	  KSMTP_PHASE_MAIL, 550, "5.7.1 sender rejected" },
	{ "mail_451", s_mail_451, C_EHLO C_MAIL "QUIT\r\n", -EAGAIN,
	  KSMTP_PHASE_MAIL, 451, "4.3.0 try later", true },
	{ "rcpt_251_accepted", s_rcpt_251, C_EHLO C_TXN },
	{ "rcpt_550", s_rcpt_550, C_EHLO C_MAIL C_RCPT "QUIT\r\n", -EREMOTEIO,
	  KSMTP_PHASE_RCPT, 550,
	  "5.1.1 The email account that you tried to reach does not exist." },
	{ "rcpt_452", s_rcpt_452, C_EHLO C_MAIL C_RCPT "QUIT\r\n", -EAGAIN,
	  KSMTP_PHASE_RCPT, 452, "4.5.3 Too many recipients", true },
	{ "data_554", s_data_554, C_EHLO C_MAIL C_RCPT "DATA\r\nQUIT\r\n",
	  -EREMOTEIO, KSMTP_PHASE_DATA, 554, "5.5.1 no valid recipients" },
	{ "data_without_354", s_data_250, C_EHLO C_MAIL C_RCPT "DATA\r\nQUIT\r\n",
	  -EPROTO, KSMTP_PHASE_DATA, 250, "ok" },
	{ "final_dot_552", s_dot_552, C_EHLO C_MAIL C_RCPT "DATA\r\n" MSG "QUIT\r\n",
	  -EMSGSIZE, KSMTP_PHASE_MESSAGE, 552, "5.3.4 Message too big" },
	{ "final_dot_451", s_dot_451, C_EHLO C_MAIL C_RCPT "DATA\r\n" MSG "QUIT\r\n",
	  -EAGAIN, KSMTP_PHASE_MESSAGE, 451, "4.3.0 local error", true },
	{ "final_dot_timeout_unknown", s_dot_silent, C_EHLO C_MAIL C_RCPT "DATA\r\n" MSG,
	  -ETIMEDOUT, KSMTP_PHASE_MESSAGE, .transient = true, .unknown = true,
	  .timeout_ms = 300 },
	{ "closed_after_mail", s_close_after_mail, C_EHLO C_MAIL, -ECONNRESET,
	  KSMTP_PHASE_MAIL, .transient = true },
	{ "rcpt_timeout", s_rcpt_timeout, C_EHLO C_MAIL C_RCPT, -ETIMEDOUT,
	  KSMTP_PHASE_RCPT, .transient = true, .timeout_ms = 300 },
	{ "size_over_limit_refused_before_mail", s_size_exceeded, C_EHLO "QUIT\r\n",
	  -EMSGSIZE, KSMTP_PHASE_MAIL },
	{ "8bit_with_8bitmime", s_8bitmime,
	  C_EHLO "MAIL FROM:<dev@example.org> BODY=8BITMIME\r\n" C_RCPT "DATA\r\n"
	  HDRS("ops@example.net", "Fault", "8bit", "3 (Normal)")
	  "L\303\274fter 2 ausgefallen\r\n.\r\nQUIT\r\n",
	  .body = "L\303\274fter 2 ausgefallen\n" },
	{ "8bit_without_8bitmime_qp", s_basic,
	  C_EHLO C_MAIL C_RCPT "DATA\r\n"
	  HDRS("ops@example.net", "Fault", "quoted-printable", "3 (Normal)")
	  "L=C3=BCfter 2 ausgefallen\r\n.\r\nQUIT\r\n",
	  .body = "L\303\274fter 2 ausgefallen\n" },
	{ "smtputf8_recipient", s_smtputf8,
	  C_EHLO "MAIL FROM:<dev@example.org> SMTPUTF8\r\nRCPT TO:<j\303\266rg@example.net>\r\n"
	  "DATA\r\n" HDRS("j\303\266rg@example.net", "Fault", "7bit", "3 (Normal)")
	  "Fan 2 failed.\r\n.\r\nQUIT\r\n", .rcpt = "j\303\266rg@example.net" },
	{ "utf8_recipient_without_smtputf8", s_no_smtputf8, C_EHLO "QUIT\r\n",
	  -EINVAL, KSMTP_PHASE_MAIL, .rcpt = "j\303\266rg@example.net" },
	{ "quit_unanswered_after_success", s_quit_silent, C_EHLO C_TXN, 0,
	  .timeout_ms = 300 },
	{ "dot_stuffing_on_the_wire", s_dot_body,
	  C_EHLO C_MAIL C_RCPT "DATA\r\n"
	  HDRS("ops@example.net", "Fault", "7bit", "3 (Normal)")
	  "..\r\nx\r\n..\r\ny\r\n..\r\n..\r\nz\r\n.\r\nQUIT\r\n",
	  .body = ".\r\nx\r\n.\r\ny\n.\r.\rz" },
	{ "empty_body", s_basic,
	  C_EHLO C_MAIL C_RCPT "DATA\r\n"
	  HDRS("ops@example.net", "Fault", "7bit", "3 (Normal)") ".\r\nQUIT\r\n",
	  .body = "" },
	{ "pipelining_one_batch", s_pipelining, C_EHLO C_TXN },
	{ "pipelining_rcpt_refused", s_pipelining_rcpt_550, C_EHLO C_MAIL C_RCPT "DATA\r\nQUIT\r\n",
	  -EREMOTEIO, KSMTP_PHASE_RCPT, 550, "5.1.1 no such user" },
	{ "pipelining_354_after_refusal_ends_empty", s_pipelining_354_anyway,
	  C_EHLO C_MAIL C_RCPT "DATA\r\n.\r\nQUIT\r\n", -EREMOTEIO, KSMTP_PHASE_RCPT, 550,
	  "5.1.1 no such user" },
	{ "several_recipients", s_two_rcpts, C_EHLO C_MAIL C_TWO "DATA\r\n" MSG_TWO "QUIT\r\n",
	  .rcpt = TWO },
	{ "several_recipients_one_refused", s_two_rcpts_one_refused,
	  C_EHLO C_MAIL C_TWO "DATA\r\n" MSG_TWO "QUIT\r\n", 0, KSMTP_PHASE_NONE, 550,
	  "5.1.1 oncall: no such user", .rcpt = TWO },
	{ "several_recipients_all_refused", s_two_rcpts_refused, C_EHLO C_MAIL C_TWO "QUIT\r\n",
	  -EREMOTEIO, KSMTP_PHASE_RCPT, 550, "5.1.1 ops: no such user", .rcpt = TWO },
	{ "several_recipients_pipelined", s_two_rcpts_pipelined,
	  C_EHLO C_MAIL C_TWO "DATA\r\n" MSG_TWO "QUIT\r\n", 0, KSMTP_PHASE_NONE, 550,
	  "5.1.1 oncall: no such user", .rcpt = TWO },
	{ "connection_refused", NULL, NULL, -ECONNREFUSED, KSMTP_PHASE_CONNECT,
	  .transient = true },
	{ "connection_refused_ipv6", NULL, NULL, -ECONNREFUSED, KSMTP_PHASE_CONNECT,
	  .transient = true, .family = AF_INET6 },
	{ "recipient_injection_refused", NULL, NULL, -EINVAL, KSMTP_PHASE_NONE,
	  .rcpt = "ops@example.net>\r\nRCPT TO:<spy@evil.example" },
	{ "subject_injection_refused", NULL, NULL, -EINVAL, KSMTP_PHASE_NONE,
	  .subject = "Fault\r\nBcc: spy@evil.example" },
	{ "recipient_with_space_refused", NULL, NULL, -EINVAL, KSMTP_PHASE_NONE,
	  .rcpt = "ops @example.net" },
	{ "starttls_discards_injection_and_forgets_capabilities", s_starttls,
	  C_EHLO "STARTTLS\r\n" C_EHLO "AUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\n" C_TXN,
	  .tls = KSMTP_TLS_STARTTLS, .creds = true, .strict = true },
	{ "starttls_not_offered_fails_without_auth", s_no_starttls, C_EHLO "QUIT\r\n",
	  -EPROTONOSUPPORT, KSMTP_PHASE_TLS, .tls = KSMTP_TLS_STARTTLS,
	  .auth = KSMTP_AUTH_PLAIN, .strict = true, .reason = "does not offer STARTTLS" },
	{ "starttls_454_transient", s_starttls_454, C_EHLO "STARTTLS\r\nQUIT\r\n",
	  -EAGAIN, KSMTP_PHASE_TLS, 454, "4.7.0 TLS not available due to temporary reason",
	  true, .tls = KSMTP_TLS_STARTTLS, .reason = "TLS not available" },
	{ "starttls_handshake_refused_no_quit", s_starttls_then_silence,
	  C_EHLO "STARTTLS\r\n", -EKEYREJECTED, KSMTP_PHASE_TLS,
	  .tls = KSMTP_TLS_STARTTLS, .auth = KSMTP_AUTH_PLAIN, .strict = true,
	  .hs_err = -EKEYREJECTED, .reason = "certificate refused: test" },
	{ "starttls_no_helo_fallback", s_ehlo_502_tls, C_EHLO "QUIT\r\n", -EREMOTEIO,
	  KSMTP_PHASE_EHLO, 502, "5.5.2 EHLO not implemented", .tls = KSMTP_TLS_STARTTLS },
	{ "starttls_no_helper_fails_at_once", s_starttls_then_silence,
	  C_EHLO "STARTTLS\r\n", -ESRCH, KSMTP_PHASE_TLS, .transient = true,
	  .tls = KSMTP_TLS_STARTTLS, .real_helper = true, .reason = "no TLS helper running" },
	{ "implicit_tls_handshake_before_greeting", s_basic, C_EHLO C_TXN,
	  .tls = KSMTP_TLS_IMPLICIT },
	{ "implicit_tls_handshake_fails", s_silent, "", -ECONNABORTED, KSMTP_PHASE_TLS,
	  .transient = true, .tls = KSMTP_TLS_IMPLICIT, .hs_err = -ECONNABORTED,
	  .reason = "certificate refused: test" },
	{ "auth_over_cleartext_refused", s_auth_offered, C_EHLO "QUIT\r\n", -EPERM,
	  KSMTP_PHASE_AUTH, .auth = KSMTP_AUTH_PLAIN, .strict = true,
	  .reason = "AUTH without TLS refused" },
	{ "auth_best_offered_over_cleartext_refused", s_auth_offered, C_EHLO "QUIT\r\n",
	  -EPERM, KSMTP_PHASE_AUTH, .creds = true, .strict = true,
	  .reason = "AUTH without TLS refused" },
};

static void sess_case_desc(const struct sess_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(sess, sess_cases, sess_case_desc);

static u16 port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

static struct ksmtp_client *make_client(struct kunit *test,
					const struct sess_case *c,
					const struct sockaddr_storage *addr)
{
	unsigned int t = c->timeout_ms ?: 3000;
	struct ksmtp_config cfg = {
		.kc_server = *addr,
		.kc_port = port_of(addr),
		.kc_username = c->user ?: "user",
		.kc_password = c->pass ?: "secret",
		.kc_from = "dev@example.org",
		.kc_domain = c->domain ?: "client.example",
		.kc_auth = c->auth,
		.kc_helo_only = c->helo_only,
		.kc_timeouts = { t, t, t, t, t },
		.kc_tls = c->tls,
		.kc_tls_name = "mx.example",
		.kc_auth_cleartext = !c->strict,
	};
	struct ksmtp_client *client;

	/* Credentials only where a case asks for them. */
	if (c->auth == KSMTP_AUTH_NONE && !c->creds)
		cfg.kc_username = "";
	client = ksmtp_client_create(&cfg);
	KUNIT_ASSERT_FALSE(test, IS_ERR(client));
	return client;
}

/* Stands in for the helper: the handshake "succeeds" without changing
 * the stream, so the script sees what the session says after it.
 */
static const struct sess_case *hs_case;
static unsigned int hs_calls;

static int fake_handshake(struct ksmtp_tls_req *req)
{
	hs_calls++;
	if (hs_case->hs_err) {
		strscpy(req->reason, "certificate refused: test", sizeof(req->reason));
		return hs_case->hs_err;
	}
	strscpy(req->info, "TLS1.3 TEST", sizeof(req->info));
	return 0;
}

static void session(struct kunit *test)
{
	const struct sess_case *c = test->param_value;
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct ksmtp_result *res = kunit_kzalloc(test, sizeof(*res), GFP_KERNEL);
	int family = c->family ?: AF_INET;
	const char *body = c->body ?: "Fan 2 failed.\n";
	struct ksmtp_mail mail = {
		.km_rcpt = c->rcpt ?: "ops@example.net",
		.km_priority = KSMTP_PRIO_NORMAL,
		.km_subject = c->subject ?: "Fault",
		.km_body = body,
		.km_body_len = strlen(body),
	};
	struct ksmtp_client *client;
	struct sockaddr_storage addr;
	int err;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	KUNIT_ASSERT_NOT_NULL(test, res);
	if (c->script) {
		ksmtp_test_server_start(test, srv, family, c->script, 65536);
		addr = srv->addr;
	} else {
		ksmtp_test_refused_addr(test, family, &addr);
	}
	client = make_client(test, c, &addr);
	hs_case = c;
	hs_calls = 0;
	if (c->tls != KSMTP_TLS_NONE && !c->real_helper)
		ksmtp_tls_test_hook = fake_handshake;
	err = ksmtp_mail_send(client, &mail, res);
	ksmtp_tls_test_hook = NULL;
	ksmtp_client_destroy(client);
	if (c->script)
		ksmtp_test_server_wait(test, srv);

	KUNIT_EXPECT_EQ(test, err, c->err);
	KUNIT_EXPECT_EQ(test, res->kr_err, c->err);
	KUNIT_EXPECT_EQ(test, res->kr_phase, c->phase);
	KUNIT_EXPECT_EQ(test, res->kr_code, c->code);
	KUNIT_EXPECT_STREQ(test, res->kr_text, c->text ?: "");
	KUNIT_EXPECT_EQ(test, res->kr_transient, c->transient);
	KUNIT_EXPECT_EQ(test, res->kr_unknown, c->unknown);
	if (c->err || c->code)
		KUNIT_EXPECT_NE(test, res->kr_reason[0], '\0');
	else
		KUNIT_EXPECT_STREQ(test, res->kr_reason, "");
	if (c->reason)
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(res->kr_reason, c->reason),
					  "reason: %s", res->kr_reason);
	if (c->tls != KSMTP_TLS_NONE && !c->real_helper && !c->err) {
		KUNIT_EXPECT_EQ(test, hs_calls, 1U);
		KUNIT_EXPECT_STREQ(test, res->kr_tls, "TLS1.3 TEST");
	} else {
		KUNIT_EXPECT_STREQ(test, res->kr_tls, "");
	}
	if (c->script) {
		KUNIT_EXPECT_TRUE_MSG(test, ksmtp_test_glob(c->expect, srv->rx, srv->rx_len),
				      "client sent: %*pE", (int)min_t(size_t, srv->rx_len, 3000),
				      srv->rx);
	}
}

/* SIZE= is the exact size of the message the client then sends. */
static void size_parameter(struct kunit *test)
{
	static const char * const s[] = { GREET, "R",
		"S250-mx\r\n250 SIZE 1000000\r\n", TXN, NULL };
	static const struct sess_case c = { "size" };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct ksmtp_mail mail = {
		.km_rcpt = "ops@example.net", .km_subject = "Fault",
		.km_body = ".a\nb\n", .km_body_len = 5,
	};
	struct ksmtp_client *client;
	unsigned long long size;
	char *p, *data, *end;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	client = make_client(test, &c, &srv->addr);
	KUNIT_EXPECT_EQ(test, ksmtp_mail_send(client, &mail, NULL), 0);
	ksmtp_client_destroy(client);
	ksmtp_test_server_wait(test, srv);

	p = strstr(srv->rx, "MAIL FROM:<dev@example.org> SIZE=");
	KUNIT_ASSERT_NOT_NULL(test, p);
	ret = sscanf(p + strlen("MAIL FROM:<dev@example.org> SIZE="), "%llu", &size);
	KUNIT_ASSERT_EQ(test, ret, 1);
	data = strstr(srv->rx, "DATA\r\n");
	KUNIT_ASSERT_NOT_NULL(test, data);
	data += 6;
	end = strstr(data, "\r\n.\r\n");
	KUNIT_ASSERT_NOT_NULL(test, end);
	/* Message without the final dot, less the one stuffed dot of ".a" */
	KUNIT_EXPECT_EQ(test, size, (unsigned long long)(end + 2 - data) - 1);
	KUNIT_EXPECT_NOT_NULL(test, strstr(data, "\r\n\r\n..a\r\nb\r\n.\r\n"));
}

/* A 1 MiB body arrives exactly, encoded by a reference written here. */
static void one_mib_body(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO_BASIC, TXN, NULL };
	static const struct sess_case c = { "1mib" };
	const size_t len = 1 << 20;
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	char *body = kunit_kzalloc(test, len, GFP_KERNEL);
	char *want = kunit_kzalloc(test, 2 * len + 1024, GFP_KERNEL);
	struct ksmtp_mail mail = {
		.km_rcpt = "ops@example.net", .km_subject = "Big",
		.km_body = body, .km_body_len = len,
	};
	struct ksmtp_client *client;
	size_t i, n = 0, col = 0;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	KUNIT_ASSERT_NOT_NULL(test, body);
	KUNIT_ASSERT_NOT_NULL(test, want);
	/* Lines of 0..99 octets, every seventh starting with a dot. */
	for (i = 0; i < len; i++) {
		if (col >= (i / 128) % 100) {
			body[i] = '\n';
			col = 0;
		} else {
			body[i] = (col == 0 && (i % 7) == 0) ? '.' : 'a' + (i % 26);
			col++;
		}
	}
	n = scnprintf(want, 1024, "%s", C_EHLO C_MAIL C_RCPT "DATA\r\n"
		      HDRS("ops@example.net", "Big", "7bit", "3 (Normal)"));
	col = 0;
	for (i = 0; i < len; i++) {
		if (body[i] == '\n') {
			want[n++] = '\r';
			want[n++] = '\n';
			col = 0;
			continue;
		}
		if (col++ == 0 && body[i] == '.')
			want[n++] = '.';
		want[n++] = body[i];
	}
	if (col) {
		want[n++] = '\r';
		want[n++] = '\n';
	}
	strcpy(want + n, ".\r\nQUIT\r\n");

	ksmtp_test_server_start(test, srv, AF_INET, s, 2 * len + 4096);
	client = make_client(test, &c, &srv->addr);
	KUNIT_EXPECT_EQ(test, ksmtp_mail_send(client, &mail, NULL), 0);
	ksmtp_client_destroy(client);
	ksmtp_test_server_wait(test, srv);
	KUNIT_EXPECT_TRUE_MSG(test, ksmtp_test_glob(want, srv->rx, srv->rx_len),
			      "sent %zu octets, want %zu: %*pE", srv->rx_len, strlen(want),
			      (int)min_t(size_t, srv->rx_len, 600), srv->rx);
}

struct sender {
	struct ksmtp_client *client;
	struct ksmtp_mail mail;
	struct completion done;
	int err;
};

static int sender_thread(void *data)
{
	struct sender *s = data;

	s->err = ksmtp_mail_send(s->client, &s->mail, NULL);
	ksmtp_client_put(s->client);
	complete(&s->done);
	return 0;
}

/* Two sends through one client at once, each on its own connection; the
 * creator drops its reference while they run.
 */
static void concurrent_sends(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO_BASIC, TXN, NULL };
	static const struct sess_case c = { "concurrent" };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, 2 * sizeof(*srv), GFP_KERNEL);
	struct sender *snd = kunit_kzalloc(test, 2 * sizeof(*snd), GFP_KERNEL);
	struct ksmtp_client *client;
	struct sockaddr_storage addr;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	KUNIT_ASSERT_NOT_NULL(test, snd);
	ksmtp_test_server_start(test, &srv[0], AF_INET, s, 65536);
	addr = srv[0].addr;
	client = make_client(test, &c, &addr);
	for (i = 0; i < 2; i++) {
		snd[i].client = ksmtp_client_get(client);
		snd[i].mail = (struct ksmtp_mail){
			.km_rcpt = "ops@example.net", .km_subject = "Fault",
			.km_body = "Fan 2 failed.\n", .km_body_len = 14,
		};
		init_completion(&snd[i].done);
	}
	/* The second connection waits in the backlog of the first server's
	 * socket until its script is over; a second server then takes it.
	 */
	ksmtp_client_destroy(client);
	KUNIT_ASSERT_FALSE(test, IS_ERR(kthread_run(sender_thread, &snd[0], "ksmtp-snd0")));
	KUNIT_ASSERT_FALSE(test, IS_ERR(kthread_run(sender_thread, &snd[1], "ksmtp-snd1")));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&srv[0].done, 20 * HZ));
	/* Serve the second connection on the same listening socket. */
	init_completion(&srv[0].done);
	srv[1] = srv[0];
	srv[1].rx = kunit_kzalloc(test, 65537, GFP_KERNEL);
	srv[1].rx_len = 0;
	srv[1].scan = 0;
	init_completion(&srv[1].done);
	KUNIT_ASSERT_FALSE(test, IS_ERR(kthread_run(ksmtp_test_server_thread, &srv[1],
						    "ksmtp-test-srv2")));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&snd[0].done, 20 * HZ));
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&snd[1].done, 20 * HZ));
	ksmtp_test_server_wait(test, &srv[1]);
	KUNIT_EXPECT_EQ(test, snd[0].err, 0);
	KUNIT_EXPECT_EQ(test, snd[1].err, 0);
	KUNIT_EXPECT_TRUE(test, ksmtp_test_glob(C_EHLO C_TXN, srv[0].rx, srv[0].rx_len));
	KUNIT_EXPECT_TRUE(test, ksmtp_test_glob(C_EHLO C_TXN, srv[1].rx, srv[1].rx_len));
}

/* Several mails over one session: RSET after a refused one, then on. */
/* What a TLS configuration must have, and the implicit-TLS port. */
static void tls_config_rules(struct kunit *test)
{
	static const struct {
		enum ksmtp_tls_mode tls;
		const char *name;
		const char *ca;
		bool helo_only;
		bool ok;
	} rules[] = {
		{ KSMTP_TLS_STARTTLS, "mx.example", NULL, false, true },
		{ KSMTP_TLS_IMPLICIT, "mx.example", "/etc/ssl/ca.pem", false, true },
		{ KSMTP_TLS_NONE, NULL, NULL, true, true },
		{ KSMTP_TLS_STARTTLS, NULL, NULL, false, false },
		{ KSMTP_TLS_STARTTLS, "", NULL, false, false },
		{ KSMTP_TLS_IMPLICIT, "[192.0.2.1]", NULL, false, false },
		{ KSMTP_TLS_STARTTLS, "mx.example", "ca.pem", false, false },
		{ KSMTP_TLS_STARTTLS, "mx.example", NULL, true, false },
		{ KSMTP_TLS_MAX + 1, "mx.example", NULL, false, false },
	};
	struct ksmtp_config cfg = {
		.kc_from = "dev@example.org",
	};
	struct ksmtp_client *client;
	unsigned int i;
	int attr;

	cfg.kc_server.ss_family = AF_INET;
	for (i = 0; i < ARRAY_SIZE(rules); i++) {
		cfg.kc_tls = rules[i].tls;
		cfg.kc_tls_name = rules[i].name;
		cfg.kc_tls_ca_file = rules[i].ca;
		cfg.kc_helo_only = rules[i].helo_only;
		client = ksmtp_client_create(&cfg);
		KUNIT_EXPECT_EQ_MSG(test, !IS_ERR(client), rules[i].ok, "rule %u", i);
		KUNIT_EXPECT_EQ_MSG(test, !ksmtp_config_check(&cfg, true, &attr), rules[i].ok,
				    "rule %u", i);
		if (IS_ERR(client))
			continue;
		KUNIT_EXPECT_EQ(test, client->cfg.kc_port,
				rules[i].tls == KSMTP_TLS_IMPLICIT ? 465 : 25);
		ksmtp_client_destroy(client);
	}
}

/* A scripted server, and an open session to it (in @reg, if not NULL). */
static struct ksmtp_conn *open_session(struct kunit *test, struct ksmtp_test_server **srvp,
				       const char * const *script, struct ksmtp_sessions *reg,
				       struct ksmtp_result **resp)
{
	static const struct sess_case c = { "open" };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct ksmtp_result *res = kunit_kzalloc(test, sizeof(*res), GFP_KERNEL);
	struct ksmtp_client *client;
	struct ksmtp_conn *conn;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	KUNIT_ASSERT_NOT_NULL(test, res);
	ksmtp_test_server_start(test, srv, AF_INET, script, 65536);
	client = make_client(test, &c, &srv->addr);	/* 3 s timeouts */
	conn = ksmtp_conn_open(client, reg, res);
	ksmtp_client_destroy(client);
	KUNIT_ASSERT_FALSE(test, IS_ERR(conn));
	*srvp = srv;
	*resp = res;
	return conn;
}

static void one_session_several_mails(struct kunit *test)
{
	static const char * const s[] = {
		GREET, "R", EHLO_BASIC,
		"R", OK, "R", "S550 5.1.1 no such user\r\n",
		"R", OK, "R", OK, "R", OK, "R", "S354 go\r\n", "D", "S250 queued\r\n",
		"R", OK, "R", OK, "R", "S354 go\r\n", "D", "S250 queued\r\n",
		QUIT_OK, NULL
	};
	struct ksmtp_mail mail = {
		.km_rcpt = "nobody@example.net", .km_subject = "Fault",
		.km_body = "Fan 2 failed.\n", .km_body_len = 14,
	};
	struct ksmtp_test_server *srv;
	struct ksmtp_result *res;
	struct ksmtp_conn *conn;

	conn = open_session(test, &srv, s, NULL, &res);
	KUNIT_EXPECT_EQ(test, ksmtp_conn_mail(conn, &mail, res), -EREMOTEIO);
	KUNIT_EXPECT_EQ(test, res->kr_code, 550);
	KUNIT_EXPECT_TRUE(test, ksmtp_conn_usable(conn));
	mail.km_rcpt = "ops@example.net";
	KUNIT_EXPECT_EQ(test, ksmtp_conn_mail(conn, &mail, res), 0);
	KUNIT_EXPECT_EQ(test, ksmtp_conn_mail(conn, &mail, res), 0);
	ksmtp_conn_close(conn);
	ksmtp_test_server_wait(test, srv);
	KUNIT_EXPECT_TRUE_MSG(test, ksmtp_test_glob(C_EHLO C_MAIL "RCPT TO:<nobody@example.net>\r\n"
						     "RSET\r\n" C_MAIL C_RCPT "DATA\r\n" MSG
						     C_MAIL C_RCPT "DATA\r\n" MSG "QUIT\r\n",
						     srv->rx, srv->rx_len),
			      "client sent: %*pE", (int)min_t(size_t, srv->rx_len, 3000), srv->rx);
}

/* A 421 sent unasked with the reply to the final dot: the next mail takes
 * another session (transient), nothing more goes over this one.
 */
static void unasked_421_after_dot(struct kunit *test)
{
	static const char * const s[] = {
		GREET, "R", EHLO_BASIC,
		"R", OK, "R", OK, "R", "S354 go\r\n", "D",
		"S250 queued\r\n421 4.3.2 shutting down\r\n",
		NULL
	};
	struct ksmtp_mail mail = {
		.km_rcpt = "ops@example.net", .km_subject = "Fault",
		.km_body = "Fan 2 failed.\n", .km_body_len = 14,
	};
	struct ksmtp_test_server *srv;
	struct ksmtp_result *res;
	struct ksmtp_conn *conn;

	conn = open_session(test, &srv, s, NULL, &res);
	KUNIT_EXPECT_EQ(test, ksmtp_conn_mail(conn, &mail, res), 0);
	KUNIT_EXPECT_TRUE(test, ksmtp_conn_usable(conn));
	KUNIT_EXPECT_EQ(test, ksmtp_conn_mail(conn, &mail, res), -ENOTCONN);
	KUNIT_EXPECT_TRUE(test, res->kr_transient);
	KUNIT_EXPECT_EQ(test, res->kr_code, 0U);
	ksmtp_conn_close(conn);
	ksmtp_test_server_wait(test, srv);
	/* No QUIT after the 421: the session was out of step. */
	KUNIT_EXPECT_TRUE_MSG(test, ksmtp_test_glob(C_EHLO C_MAIL C_RCPT "DATA\r\n" MSG,
						    srv->rx, srv->rx_len),
			      "client sent: %*pE", (int)min_t(size_t, srv->rx_len, 3000), srv->rx);
}

static struct {
	struct delayed_work w;
	struct ksmtp_sessions *reg;
} abort_work;

static void abort_fn(struct work_struct *w)
{
	ksmtp_sessions_abort_all(abort_work.reg);
}

static void abort_later(struct ksmtp_sessions *reg, unsigned int ms)
{
	abort_work.reg = reg;
	INIT_DELAYED_WORK(&abort_work.w, abort_fn);
	schedule_delayed_work(&abort_work.w, msecs_to_jiffies(ms));
}

/* The data timeout bounds the whole message: a server that reads a little
 * now and then (here 4 KiB every 50 ms) cannot stretch an 8 MiB mail over
 * minutes, as it could when the timeout was counted per 16 KiB chunk.
 */
static void data_timeout_whole_message(struct kunit *test)
{
	static const char * const s[] = {
		GREET, "R", EHLO_BASIC, "R", OK, "R", OK, "R", "S354 go ahead\r\n", "L50",
		NULL
	};
	static const struct sess_case c = { "slow reader" };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct ksmtp_result *res = kunit_kzalloc(test, sizeof(*res), GFP_KERNEL);
	size_t len = 8 << 20, i;
	struct ksmtp_config cfg;
	struct ksmtp_client *client, *tmp;
	struct ksmtp_mail mail = {
		.km_rcpt = "ops@example.net", .km_subject = "big",
	};
	unsigned long t0;
	char *body;
	int err;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	KUNIT_ASSERT_NOT_NULL(test, res);
	body = vmalloc(len);
	KUNIT_ASSERT_NOT_NULL(test, body);
	for (i = 0; i < len; i++)
		body[i] = i % 64 == 63 ? '\n' : 'a';
	mail.km_body = body;
	mail.km_body_len = len;
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	tmp = make_client(test, &c, &srv->addr);
	cfg = tmp->cfg;
	cfg.kc_timeouts.kt_data_block_ms = 1000;
	client = ksmtp_client_create(&cfg);
	ksmtp_client_destroy(tmp);
	KUNIT_ASSERT_FALSE(test, IS_ERR(client));
	t0 = jiffies;
	err = ksmtp_mail_send(client, &mail, res);
	KUNIT_EXPECT_EQ(test, err, -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, res->kr_phase, KSMTP_PHASE_MESSAGE);
	KUNIT_EXPECT_LT(test, jiffies_to_msecs(jiffies - t0), 2500U);
	ksmtp_client_destroy(client);
	ksmtp_test_server_wait(test, srv);
	vfree(body);
}

/* Every session's socket holds its namespace (sk_net_refcnt), so that
 * TCP's orphan after close cannot outlive the namespace's end.
 */
static void socket_pins_namespace(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO_BASIC, QUIT_OK, NULL };
	struct ksmtp_test_server *srv;
	struct ksmtp_result *res;
	struct ksmtp_conn *conn;
	struct socket *sock;

	conn = open_session(test, &srv, s, NULL, &res);
	sock = ksmtp_conn_socket(conn);
	KUNIT_ASSERT_NOT_NULL(test, sock);
	KUNIT_EXPECT_EQ(test, (int)sock->sk->sk_net_refcnt, 1);
	ksmtp_conn_close(conn);
	ksmtp_test_server_wait(test, srv);
}

/* A session in a set is cut by ksmtp_sessions_abort_all(), even in QUIT
 * against a server that never answers it; and no session starts after.
 */
static void abort_cuts_quit(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO_BASIC, "Z", NULL };
	static const struct sess_case c = { "abort" };
	struct ksmtp_sessions *reg = kunit_kzalloc(test, sizeof(*reg), GFP_KERNEL);
	struct ksmtp_test_server *srv;
	struct ksmtp_result *res;
	struct ksmtp_client *client;
	struct ksmtp_conn *conn;
	unsigned long t0;

	KUNIT_ASSERT_NOT_NULL(test, reg);
	ksmtp_sessions_init(reg);
	conn = open_session(test, &srv, s, reg, &res);
	t0 = jiffies;
	/* QUIT waits for a reply that never comes; cut it from outside. */
	abort_later(reg, 300);
	ksmtp_conn_close(conn);
	KUNIT_EXPECT_LT(test, jiffies_to_msecs(jiffies - t0), 1500U);
	client = make_client(test, &c, &srv->addr);
	conn = ksmtp_conn_open(client, reg, res);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(conn), -ESHUTDOWN);
	KUNIT_EXPECT_EQ(test, res->kr_err, -ESHUTDOWN);
	ksmtp_client_destroy(client);
	ksmtp_test_server_wait(test, srv);
	flush_delayed_work(&abort_work.w);
}

static int session_suite_init(struct kunit_suite *suite)
{
	size_t n, i;

	n = scnprintf(ehlo_200_lines, sizeof(ehlo_200_lines), "S250-mx.example\r\n");
	for (i = 0; i < 200; i++)
		n += scnprintf(ehlo_200_lines + n, sizeof(ehlo_200_lines) - n, PAD_LINE);
	scnprintf(ehlo_200_lines + n, sizeof(ehlo_200_lines) - n,
		  "250-SIZE 100000\r\n250 AUTH PLAIN\r\n");
	n = scnprintf(long_chal, sizeof(long_chal), "S334 ");
	for (i = 0; i < 1400; i++)
		long_chal[n + i] = "QUJD"[i % 4];
	memcpy(long_chal + n + 1400, "\r\n", 3);
	n = scnprintf(long_greeting, sizeof(long_greeting), "S220 mx.example ");
	memset(long_greeting + n, 'x', 2000);
	memcpy(long_greeting + n + 2000, "\r\n", 3);
	return ksmtp_test_lo_up();
}

static struct kunit_case session_cases[] = {
	KUNIT_CASE_PARAM(session, sess_gen_params),
	KUNIT_CASE(size_parameter),
	KUNIT_CASE(one_mib_body),
	KUNIT_CASE(concurrent_sends),
	KUNIT_CASE(one_session_several_mails),
	KUNIT_CASE(unasked_421_after_dot),
	KUNIT_CASE(data_timeout_whole_message),
	KUNIT_CASE(socket_pins_namespace),
	KUNIT_CASE(abort_cuts_quit),
	KUNIT_CASE(tls_config_rules),
	{}
};

static struct kunit_suite session_suite = {
	.name = "ksmtp-session",
	.suite_init = session_suite_init,
	.test_cases = session_cases,
};

kunit_test_suite(session_suite);
