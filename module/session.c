// SPDX-License-Identifier: GPL-2.0
/*
 * One SMTP session (RFC 5321): connect, greeting, EHLO or HELO, AUTH, MAIL,
 * RCPT, DATA, the message, QUIT, on an in-kernel TCP socket. Each phase
 * has a deadline: a server that stays silent or trickles bytes cannot hold
 * a caller longer than the configured timeout.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/net.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/jiffies.h>
#include <linux/random.h>
#include <linux/timekeeping.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "client.h"
#include "reply.h"
#include "caps.h"
#include "auth.h"
#include "encode.h"

#define KSMTP_RX_BUF	2048
#define KSMTP_CMD_MAX	1024
#define KSMTP_CHUNK	16384

struct ksmtp_session {
	const struct ksmtp_config *cfg;
	const struct ksmtp_mail *mail;
	struct ksmtp_result *res;
	struct socket *sock;
	enum ksmtp_phase phase;
	bool usable;
	bool rcpt_utf8;
	bool from_utf8;
	const char *recv_why;
	struct ksmtp_caps caps;
	struct ksmtp_rparser parser;
	struct ksmtp_reply reply;
	size_t rx_len;
	char rx[KSMTP_RX_BUF];
	char cmd[KSMTP_CMD_MAX];
	char domain[KSMTP_DOMAIN_MAX + 1];
	char *chunk;
};

static bool err_transient(int err)
{
	switch (err) {
	case -ETIMEDOUT:
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ECONNABORTED:
	case -EPIPE:
	case -ENETUNREACH:
	case -EHOSTUNREACH:
	case -ENETDOWN:
	case -EAGAIN:
	case -ENOMEM:
	case -EINTR:
		return true;
	default:
		return false;
	}
}

static const char *err_reason(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "timed out waiting for the server";
	case -ECONNREFUSED:
		return "connection refused";
	case -ECONNRESET:
	case -EPIPE:
		return "connection closed by the server";
	case -ENETUNREACH:
	case -EHOSTUNREACH:
		return "server unreachable";
	case -EBADMSG:
		return "malformed reply from the server";
	case -ENOMEM:
		return "out of memory";
	case -EINTR:
		return "interrupted by a signal";
	default:
		return "local error";
	}
}

static int fail(struct ksmtp_session *s, int err, const char *why)
{
	struct ksmtp_result *r = s->res;

	/* The stream's state is unknown: no QUIT on it. */
	if (err == -ETIMEDOUT || err == -EBADMSG || err == -ECONNRESET ||
	    err == -EPIPE || err == -EINTR)
		s->usable = false;
	/* The first failure is the one reported; QUIT changes no outcome. */
	if (r->kr_err || s->phase == KSMTP_PHASE_QUIT)
		return r->kr_err ?: err;
	if (err == -EBADMSG && !why)
		why = s->recv_why;
	r->kr_err = err;
	r->kr_phase = s->phase;
	r->kr_transient = err_transient(err);
	strscpy(r->kr_reason, why ?: err_reason(err), sizeof(r->kr_reason));
	return err;
}

/* The reply in s->reply ends the session: report it as what it is. */
static int fail_reply(struct ksmtp_session *s)
{
	struct ksmtp_result *r = s->res;
	unsigned int code = s->reply.code;
	const char *why;
	int err;

	switch (code) {
	case 421:
		err = -ECONNABORTED;
		why = "server closing the connection";
		s->usable = false;
		break;
	case 454:
		err = -EAGAIN;
		why = s->phase == KSMTP_PHASE_AUTH ?
		      "temporary authentication failure" : "temporary failure";
		break;
	case 530:
		err = -EACCES;
		why = "authentication required";
		break;
	case 534:
		err = -EPERM;
		why = "authentication mechanism too weak";
		break;
	case 535:
		err = -EACCES;
		why = "authentication credentials invalid";
		break;
	case 538:
		err = -EPERM;
		why = "encryption required for the authentication mechanism";
		break;
	case 504:
		err = -EOPNOTSUPP;
		why = s->phase == KSMTP_PHASE_AUTH ?
		      "authentication mechanism not supported" :
		      "command parameter not implemented";
		break;
	case 552:
		err = -EMSGSIZE;
		why = "message exceeds the server's storage or size limit";
		break;
	case 452:
		err = -EAGAIN;
		why = "insufficient storage on the server";
		break;
	default:
		if (code >= 400 && code < 500) {
			err = -EAGAIN;
			why = "temporary failure";
		} else if (code >= 500) {
			err = -EREMOTEIO;
			why = s->phase == KSMTP_PHASE_RCPT ?
			      "recipient refused" : "permanent failure";
		} else {
			err = -EPROTO;
			why = "unexpected reply";
		}
	}
	if (r->kr_err || s->phase == KSMTP_PHASE_QUIT)
		return fail(s, err, why);
	fail(s, err, why);
	r->kr_code = code;
	strscpy(r->kr_text, s->reply.text, sizeof(r->kr_text));
	r->kr_transient = code >= 400 && code < 500;
	return err;
}

static long left(unsigned long deadline)
{
	return (long)(deadline - jiffies);
}

static int ks_send(struct ksmtp_session *s, const char *buf, size_t len,
		   unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec iov;
	int ret;

	while (len) {
		if (left(deadline) <= 0)
			return -ETIMEDOUT;
		WRITE_ONCE(s->sock->sk->sk_sndtimeo, left(deadline));
		iov.iov_base = (void *)buf;
		iov.iov_len = len;
		ret = kernel_sendmsg(s->sock, &msg, &iov, 1, len);
		if (ret == -EAGAIN)
			continue;
		if (ret < 0)
			return ret == -ERESTARTSYS ? -EINTR : ret;
		buf += ret;
		len -= ret;
	}
	return 0;
}

/* Read one whole reply into s->reply. */
static int ks_recv(struct ksmtp_session *s, unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	struct msghdr msg = {};
	struct kvec iov;
	size_t used;
	int ret;

	ksmtp_reply_init(&s->parser, &s->reply);
	s->recv_why = NULL;
	for (;;) {
		if (s->rx_len) {
			ret = ksmtp_reply_feed(&s->parser, s->rx, s->rx_len,
					       &used);
			memmove(s->rx, s->rx + used, s->rx_len - used);
			s->rx_len -= used;
			if (ret == -EMSGSIZE)
				s->recv_why = "reply too long or with too many lines";
			if (ret < 0)
				return -EBADMSG;
			if (ret)
				return 0;
		}
		if (left(deadline) <= 0)
			return -ETIMEDOUT;
		WRITE_ONCE(s->sock->sk->sk_rcvtimeo, left(deadline));
		iov.iov_base = s->rx;
		iov.iov_len = sizeof(s->rx);
		ret = kernel_recvmsg(s->sock, &msg, &iov, 1, sizeof(s->rx), 0);
		if (ret == 0)
			return -ECONNRESET;
		if (ret == -EAGAIN)
			continue;
		if (ret < 0)
			return ret == -ERESTARTSYS ? -EINTR : ret;
		s->rx_len = ret;
	}
}

static __printf(2, 0) int ks_vcmd(struct ksmtp_session *s, const char *fmt,
				  va_list ap)
{
	int n, err;

	n = vsnprintf(s->cmd, sizeof(s->cmd) - 2, fmt, ap);
	if (n >= sizeof(s->cmd) - 2)
		return fail(s, -E2BIG, "command line too long");
	memcpy(s->cmd + n, "\r\n", 2);
	err = ks_send(s, s->cmd, n + 2, s->cfg->kc_timeouts.kt_command_ms);
	memzero_explicit(s->cmd, n + 2);
	if (!err)
		err = ks_recv(s, s->cfg->kc_timeouts.kt_command_ms);
	return err ? fail(s, err, NULL) : 0;
}

/* Send one command line (CR LF added) and read its reply. */
static __printf(2, 3) int ks_cmd(struct ksmtp_session *s, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = ks_vcmd(s, fmt, ap);
	va_end(ap);
	return err;
}

/* ks_cmd(), then insist on the reply code @want (or @alt, if not 0). */
static __printf(4, 5) int ks_expect(struct ksmtp_session *s, unsigned int want,
				    unsigned int alt, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = ks_vcmd(s, fmt, ap);
	va_end(ap);
	if (!err && s->reply.code != want && s->reply.code != alt)
		err = fail_reply(s);
	return err;
}

static int ks_connect(struct ksmtp_session *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	struct sockaddr_storage addr = cfg->kc_server;
	int len, err;

	if (addr.ss_family == AF_INET) {
		((struct sockaddr_in *)&addr)->sin_port = htons(cfg->kc_port);
		len = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)&addr)->sin6_port = htons(cfg->kc_port);
		len = sizeof(struct sockaddr_in6);
	}
	err = sock_create_kern(cfg->kc_net, addr.ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &s->sock);
	if (err)
		return err;
	s->sock->sk->sk_sndtimeo = msecs_to_jiffies(cfg->kc_timeouts.kt_connect_ms);
	err = kernel_connect(s->sock, (struct sockaddr *)&addr, len, 0);
	if (err == -EINPROGRESS || err == -EALREADY)
		err = -ETIMEDOUT;
	if (err)
		return err == -ERESTARTSYS ? -EINTR : err;
	s->usable = true;

	if (cfg->kc_domain[0]) {
		strscpy(s->domain, cfg->kc_domain, sizeof(s->domain));
		return 0;
	}
	err = kernel_getsockname(s->sock, (struct sockaddr *)&addr);
	if (err < 0)
		return err;
	if (addr.ss_family == AF_INET)
		snprintf(s->domain, sizeof(s->domain), "[%pI4]",
			 &((struct sockaddr_in *)&addr)->sin_addr);
	else
		snprintf(s->domain, sizeof(s->domain), "[IPv6:%pI6c]",
			 &((struct sockaddr_in6 *)&addr)->sin6_addr);
	return 0;
}

static int ks_greet(struct ksmtp_session *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	unsigned int code;
	int err;

	memset(&s->caps, 0, sizeof(s->caps));
	if (cfg->kc_helo_only)
		return ks_expect(s, 250, 0, "HELO %s", s->domain);
	err = ks_cmd(s, "EHLO %s", s->domain);
	if (err)
		return err;
	code = s->reply.code;
	if (code == 250) {
		ksmtp_caps_parse(&s->caps, &s->reply);
		return 0;
	}
	/* RFC 5321 4.1.4: HELO instead, unless AUTH is required. */
	if ((code == 500 || code == 501 || code == 502 || code == 550) &&
	    cfg->kc_auth == KSMTP_AUTH_NONE)
		return ks_expect(s, 250, 0, "HELO %s", s->domain);
	return fail_reply(s);
}

/* Answer a 334 with @resp, or "*" when its challenge is not base64. */
static int ks_answer(struct ksmtp_session *s, const char *resp)
{
	if (s->reply.code != 334)
		return s->reply.code == 235 ? 0 : fail_reply(s);
	if (!ksmtp_auth_challenge_ok(s->reply.text)) {
		ks_cmd(s, "*");
		return fail(s, -EPROTO, "AUTH challenge is not base64");
	}
	return ks_cmd(s, "%s", resp);
}

static int ks_auth(struct ksmtp_session *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	enum ksmtp_auth_type mech;
	char *resp;
	int err;

	err = ksmtp_auth_select(cfg->kc_auth, cfg->kc_username[0], &s->caps,
				&mech);
	if (err)
		return fail(s, err, "the server offers no AUTH mechanism we know");
	if (mech == KSMTP_AUTH_NONE)
		return 0;
	resp = kmalloc(KSMTP_AUTH_RESP_MAX, GFP_KERNEL);
	if (!resp)
		return fail(s, -ENOMEM, NULL);

	switch (mech) {
	case KSMTP_AUTH_PLAIN:
		err = ksmtp_auth_plain(cfg->kc_username, cfg->kc_password, resp);
		if (err < 0) {
			fail(s, err, NULL);
			break;
		}
		err = ks_cmd(s, "AUTH PLAIN %s", resp);
		if (!err && s->reply.code == 334) {
			/* The initial response was not taken: cancel. */
			ks_cmd(s, "*");
			err = fail(s, -EPROTO, "server ignored the PLAIN initial response");
		}
		break;
	case KSMTP_AUTH_LOGIN:
		err = ks_cmd(s, "AUTH LOGIN");
		if (!err && s->reply.code == 334) {
			ksmtp_auth_b64(cfg->kc_username, resp);
			err = ks_answer(s, resp);
		}
		if (!err && s->reply.code == 334) {
			ksmtp_auth_b64(cfg->kc_password, resp);
			err = ks_answer(s, resp);
		}
		break;
	default:
		err = ks_cmd(s, "AUTH CRAM-MD5");
		if (!err && s->reply.code == 334) {
			err = ksmtp_auth_cram_md5(cfg->kc_username,
						  cfg->kc_password,
						  s->reply.text, resp);
			if (err == -EBADMSG) {
				ks_cmd(s, "*");
				err = fail(s, -EPROTO, "AUTH challenge is not base64");
			} else if (err < 0) {
				err = fail(s, err, NULL);
			} else {
				err = ks_cmd(s, "%s", resp);
			}
		}
		break;
	}
	kfree_sensitive(resp);
	if (!err && s->reply.code != 235)
		err = fail_reply(s);
	return err;
}

static int ks_message(struct ksmtp_session *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	const struct ksmtp_mail *m = s->mail;
	enum ksmtp_cte cte;
	struct ksmtp_enc enc;
	char size[32] = "";
	size_t hdr_len, n;
	char *hdr;
	int err;

	if ((s->from_utf8 || s->rcpt_utf8) &&
	    !(s->caps.flags & KSMTP_CAP_SMTPUTF8)) {
		s->phase = KSMTP_PHASE_MAIL;
		return fail(s, -EINVAL,
			    "non-ASCII address and the server does not offer SMTPUTF8");
	}
	cte = ksmtp_body_cte(m->km_body, m->km_body_len,
			     s->caps.flags & KSMTP_CAP_8BITMIME);
	hdr = ksmtp_headers_build(cfg->kc_from, m->km_rcpt, m->km_subject,
				  m->km_priority, cte, ktime_get_real_seconds(),
				  get_random_u64(), &hdr_len);
	if (!hdr)
		return fail(s, -ENOMEM, NULL);

	s->phase = KSMTP_PHASE_MAIL;
	if (s->caps.flags & KSMTP_CAP_SIZE) {
		u64 octets = ksmtp_enc_size(hdr, hdr_len, m->km_body,
					    m->km_body_len, cte, s->chunk,
					    KSMTP_CHUNK);

		if (s->caps.size_max && octets > s->caps.size_max) {
			snprintf(s->res->kr_reason, sizeof(s->res->kr_reason),
				 "message of %llu octets exceeds the server's SIZE limit of %llu",
				 octets, s->caps.size_max);
			err = fail(s, -EMSGSIZE, s->res->kr_reason);
			goto out;
		}
		snprintf(size, sizeof(size), " SIZE=%llu", octets);
	}
	err = ks_expect(s, 250, 0, "MAIL FROM:<%s>%s%s%s", cfg->kc_from, size,
			cte == KSMTP_CTE_8BIT ? " BODY=8BITMIME" : "",
			s->from_utf8 || s->rcpt_utf8 ? " SMTPUTF8" : "");
	if (err)
		goto out;

	s->phase = KSMTP_PHASE_RCPT;
	err = ks_expect(s, 250, 251, "RCPT TO:<%s>", m->km_rcpt);
	if (err)
		goto out;

	s->phase = KSMTP_PHASE_DATA;
	err = ks_expect(s, 354, 0, "DATA");
	if (err)
		goto out;

	s->phase = KSMTP_PHASE_MESSAGE;
	ksmtp_enc_init(&enc, hdr, hdr_len, m->km_body, m->km_body_len, cte);
	while ((n = ksmtp_enc_next(&enc, s->chunk, KSMTP_CHUNK))) {
		err = ks_send(s, s->chunk, n, cfg->kc_timeouts.kt_data_block_ms);
		if (err) {
			err = fail(s, err, NULL);
			goto out;
		}
	}
	err = ks_recv(s, cfg->kc_timeouts.kt_final_dot_ms);
	if (err) {
		/* RFC 5321 4.5.3.2.6: the mail may have been delivered. */
		s->res->kr_unknown = err == -ETIMEDOUT || err == -ECONNRESET;
		err = fail(s, err, s->res->kr_unknown ?
			   "no reply to the end of the message: it may have been delivered" :
			   NULL);
	} else if (s->reply.code != 250) {
		err = fail_reply(s);
	}
out:
	kfree(hdr);
	return err;
}

static int ks_run(struct ksmtp_session *s)
{
	int err;

	s->phase = KSMTP_PHASE_CONNECT;
	err = ks_connect(s);
	if (err)
		return fail(s, err, NULL);

	s->phase = KSMTP_PHASE_GREETING;
	err = ks_recv(s, s->cfg->kc_timeouts.kt_greeting_ms);
	if (err)
		return fail(s, err, NULL);
	if (s->reply.code != 220)
		return fail_reply(s);

	s->phase = KSMTP_PHASE_EHLO;
	err = ks_greet(s);
	if (err)
		return err;

	s->phase = KSMTP_PHASE_AUTH;
	err = ks_auth(s);
	if (err)
		return err;

	return ks_message(s);
}

static int ks_check_input(struct ksmtp_session *s)
{
	const struct ksmtp_mail *m = s->mail;
	const char *why;

	why = ksmtp_check_address(m->km_rcpt, &s->rcpt_utf8);
	if (why) {
		snprintf(s->res->kr_reason, sizeof(s->res->kr_reason),
			 "recipient address %s", why);
		return fail(s, -EINVAL, s->res->kr_reason);
	}
	ksmtp_check_address(s->cfg->kc_from, &s->from_utf8);
	why = m->km_subject ? ksmtp_check_subject(m->km_subject) : "is missing";
	if (why) {
		snprintf(s->res->kr_reason, sizeof(s->res->kr_reason),
			 "subject %s", why);
		return fail(s, -EINVAL, s->res->kr_reason);
	}
	if (!m->km_body && m->km_body_len)
		return fail(s, -EINVAL, "body is missing");
	if (m->km_priority > KSMTP_PRIO_MAX)
		return fail(s, -EINVAL, "priority out of range");
	return 0;
}

/**
 * ksmtp_session_run() - send one mail in one SMTP session
 * @client: the client
 * @mail: the mail
 * @res: the result, filled in every case
 *
 * Context: process context; sleeps. Takes no lock.
 * Return: 0 when the server accepted the mail, else a negative errno
 * (also in @res->kr_err).
 */
int ksmtp_session_run(struct ksmtp_client *client,
		      const struct ksmtp_mail *mail,
		      struct ksmtp_result *res)
{
	struct ksmtp_session *s;
	struct net *net;
	int err;

	memset(res, 0, sizeof(*res));
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		goto nomem;
	s->chunk = kmalloc(KSMTP_CHUNK, GFP_KERNEL);
	if (!s->chunk) {
		kfree(s);
		goto nomem;
	}
	s->cfg = &client->cfg;
	s->mail = mail;
	s->res = res;

	err = ks_check_input(s);
	if (err)
		goto out;
	net = maybe_get_net(s->cfg->kc_net);
	if (!net) {
		err = fail(s, -ENETUNREACH, "network namespace is going away");
		goto out;
	}
	err = ks_run(s);
	if (s->usable) {
		/* QUIT after success and after an error reply alike. */
		s->phase = KSMTP_PHASE_QUIT;
		ks_cmd(s, "QUIT");
		kernel_sock_shutdown(s->sock, SHUT_RDWR);
	}
	if (s->sock)
		sock_release(s->sock);
	put_net(net);
out:
	kfree(s->chunk);
	kfree(s);
	return err;
nomem:
	res->kr_err = -ENOMEM;
	res->kr_transient = true;
	strscpy(res->kr_reason, "out of memory", sizeof(res->kr_reason));
	return -ENOMEM;
}
