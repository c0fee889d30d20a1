// SPDX-License-Identifier: GPL-2.0
/*
 * One SMTP session (RFC 5321): connect, greeting, EHLO or HELO, AUTH, MAIL,
 * RCPT, DATA, the message, QUIT, on an in-kernel TCP socket. Each phase
 * has a deadline: a server that stays silent or trickles bytes cannot hold
 * a caller longer than the configured timeout.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/net.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/jiffies.h>
#include <linux/random.h>
#include <linux/timekeeping.h>
#include <linux/file.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#if IS_ENABLED(CONFIG_NET_HANDSHAKE)
#include <net/tls_prot.h>
#else
#include <net/tls.h>
#endif
#include <uapi/linux/tls.h>

#include "client.h"
#include "session.h"
#include "trace.h"
#include "reply.h"
#include "caps.h"
#include "auth.h"
#include "encode.h"
#include "resolve.h"
#include "tls.h"

#define KSMTP_RX_BUF	2048
#define KSMTP_CMD_MAX	2048
#define KSMTP_CHUNK	16384

/* TLS record content types (RFC 8446 5.1): kernels with net/handshake (6.5
 * on, the same switch as module/Kbuild's) name them all in <net/tls_prot.h>;
 * 6.1's <net/tls.h> names DATA only.
 */
#if !IS_ENABLED(CONFIG_NET_HANDSHAKE)
#define TLS_RECORD_TYPE_ALERT		0x15
#define TLS_RECORD_TYPE_HANDSHAKE	0x16
#endif

struct ksmtp_conn {
	struct ksmtp_client *client;
	struct ksmtp_sessions *reg;
	struct list_head reg_node;
	struct net *net;
	const struct ksmtp_config *cfg;
	const struct ksmtp_mail *mail;
	struct ksmtp_mail mail_copy;
	struct ksmtp_result *res;
	struct socket *sock;
	enum ksmtp_phase phase;
	bool usable;
	bool need_rset;
	bool aborted;
	bool rcpt_utf8;
	bool from_utf8;
	bool tls_on;
	const char *recv_why;
	struct ksmtp_tls_req tls;
	struct ksmtp_addrs addrs;
	struct ksmtp_caps caps;
	struct ksmtp_rparser parser;
	bool (*keep)(const char *text);
	struct ksmtp_reply reply;
	struct ksmtp_reply refusal;
	unsigned int refused;
	size_t rx_len;
	char rx[KSMTP_RX_BUF];
	char cmd[KSMTP_CMD_MAX];
	char domain[KSMTP_DOMAIN_MAX + 1];
	char *chunk;
};

/* The session enters @phase (traced: ksmtp:ksmtp_session_phase). */
static void set_phase(struct ksmtp_conn *s, enum ksmtp_phase phase)
{
	s->phase = phase;
	trace_ksmtp_session_phase(s, phase);
}

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
	case -ESRCH:
	case -ESHUTDOWN:
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

static int fail(struct ksmtp_conn *s, int err, const char *why)
{
	struct ksmtp_result *r = s->res;

	/* Cut from outside: whatever broke, that is why. */
	if (READ_ONCE(s->aborted)) {
		err = -ESHUTDOWN;
		why = "cut: the module or namespace goes away";
	}

	/* The stream's state is unknown: no QUIT on it. */
	if (err == -ETIMEDOUT || err == -EBADMSG || err == -ECONNRESET ||
	    err == -EPIPE || err == -EINTR || err == -ESHUTDOWN)
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

/* The reply @reply ends the mail: report it as what it is. */
static int fail_reply_of(struct ksmtp_conn *s, const struct ksmtp_reply *reply)
{
	struct ksmtp_result *r = s->res;
	unsigned int code = reply->code;
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
		      "temporary authentication failure" :
		      s->phase == KSMTP_PHASE_TLS ? "TLS not available for now" :
		      "temporary failure";
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
	strscpy(r->kr_text, reply->text, sizeof(r->kr_text));
	r->kr_transient = code >= 400 && code < 500;
	return err;
}

static int fail_reply(struct ksmtp_conn *s)
{
	return fail_reply_of(s, &s->reply);
}

static long left(unsigned long deadline)
{
	return (long)(deadline - jiffies);
}

static unsigned long deadline_in(unsigned int ms)
{
	return jiffies + msecs_to_jiffies(ms);
}

/* Send all of @buf before @deadline (jiffies); MSG_MORE in @flags: more
 * follows at once (TCP and kernel TLS fill whole segments and records).
 */
static int ks_send_flags(struct ksmtp_conn *s, const char *buf, size_t len,
			 unsigned long deadline, int flags)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL | flags };
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

static int ks_send(struct ksmtp_conn *s, const char *buf, size_t len,
		   unsigned long deadline)
{
	return ks_send_flags(s, buf, len, deadline, 0);
}

/* What kernel TLS says the octets just read are: data, or a record of
 * another type (TLS 1.3 session tickets, alerts) returned on its own.
 */
static int record_type(const struct msghdr *msg, const struct cmsghdr *cmsg)
{
	if (msg->msg_flags & MSG_CTRUNC)
		return -1;
	if (cmsg->cmsg_len && cmsg->cmsg_level == SOL_TLS &&
	    cmsg->cmsg_type == TLS_GET_RECORD_TYPE)
		return *(u8 *)CMSG_DATA(cmsg);
	return TLS_RECORD_TYPE_DATA;
}

/* Read one whole reply into s->reply. */
static int ks_recv(struct ksmtp_conn *s, unsigned int timeout_ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	union {
		struct cmsghdr cmsg;
		u8 buf[CMSG_SPACE(sizeof(u8))];
	} ctl;
	struct msghdr msg;
	struct kvec iov;
	size_t used;
	int ret;

	ksmtp_reply_init(&s->parser, &s->reply);
	s->parser.keep = s->keep;
	s->recv_why = NULL;
	for (;;) {
		if (s->rx_len) {
			ret = ksmtp_reply_feed(&s->parser, s->rx, s->rx_len,
					       &used);
			memmove(s->rx, s->rx + used, s->rx_len - used);
			s->rx_len -= used;
			if (ret == -EMSGSIZE)
				s->recv_why = "reply over 64 KiB";
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
		memset(&msg, 0, sizeof(msg));
		if (s->tls_on) {
			memset(&ctl, 0, sizeof(ctl));
			msg.msg_control = &ctl;
			msg.msg_controllen = sizeof(ctl);
		}
		ret = kernel_recvmsg(s->sock, &msg, &iov, 1, sizeof(s->rx), 0);
		if (ret == 0)
			return -ECONNRESET;
		if (ret == -EAGAIN)
			continue;
		if (ret < 0)
			return ret == -ERESTARTSYS ? -EINTR : ret;
		if (s->tls_on) {
			switch (record_type(&msg, &ctl.cmsg)) {
			case TLS_RECORD_TYPE_DATA:
				break;
			case TLS_RECORD_TYPE_HANDSHAKE:
				/* Post-handshake messages: tickets we keep none of. */
				continue;
			case TLS_RECORD_TYPE_ALERT:
				s->recv_why = "TLS alert from the server";
				return -ECONNRESET;
			default:
				s->recv_why = "unexpected TLS record from the server";
				return -EBADMSG;
			}
		}
		s->rx_len = ret;
	}
}

/* Bytes the server sent that answer nothing sent yet (a second greeting,
 * a reply ahead of its command) would be taken for the reply to what
 * comes next: the session is out of step, and nothing more is sent to
 * it, QUIT neither.
 */
static int ks_out_of_step(struct ksmtp_conn *s)
{
	struct ksmtp_result *r = s->res;
	size_t used;
	bool first;
	int err;

	/* Not yet read, but queued on a cleartext socket: read it now. (On
	 * kernel TLS the queue holds records, session tickets among them.)
	 */
	if (!s->rx_len && !s->tls_on &&
	    !skb_queue_empty_lockless(&s->sock->sk->sk_receive_queue)) {
		struct msghdr msg = { .msg_flags = MSG_DONTWAIT };
		struct kvec iov = { .iov_base = s->rx, .iov_len = sizeof(s->rx) };
		int ret;

		ret = kernel_recvmsg(s->sock, &msg, &iov, 1, sizeof(s->rx), MSG_DONTWAIT);
		if (ret > 0)
			s->rx_len = ret;
	}
	if (!s->rx_len)
		return 0;
	s->usable = false;
	/* RFC 5321 3.8: 421 may come at any time, unasked: report it as the
	 * server's closing, as if it answered this command.
	 */
	ksmtp_reply_init(&s->parser, &s->reply);
	if (ksmtp_reply_feed(&s->parser, s->rx, s->rx_len, &used) == 1 &&
	    s->reply.code == 421)
		return fail_reply(s);
	first = !r->kr_err && s->phase != KSMTP_PHASE_QUIT;
	err = fail(s, -EPROTO, "server sent data ahead of the command: out of step");
	/* Nothing of this command went out: worth another try. */
	if (first)
		r->kr_transient = true;
	return err;
}

static __printf(2, 0) int ks_vcmd(struct ksmtp_conn *s, const char *fmt,
				  va_list ap)
{
	int n, err;

	err = ks_out_of_step(s);
	if (err)
		return err;
	n = vsnprintf(s->cmd, sizeof(s->cmd) - 2, fmt, ap);
	if (n >= sizeof(s->cmd) - 2)
		return fail(s, -E2BIG, "command line too long");
	memcpy(s->cmd + n, "\r\n", 2);
	err = ks_send(s, s->cmd, n + 2,
		      deadline_in(s->cfg->kc_timeouts.kt_command_ms));
	memzero_explicit(s->cmd, n + 2);
	if (!err)
		err = ks_recv(s, s->cfg->kc_timeouts.kt_command_ms);
	return err ? fail(s, err, NULL) : 0;
}

/* Send one command line (CR LF added) and read its reply. */
static __printf(2, 3) int ks_cmd(struct ksmtp_conn *s, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = ks_vcmd(s, fmt, ap);
	va_end(ap);
	return err;
}

/* ks_cmd(), then insist on the reply code @want (or @alt, if not 0). */
static __printf(4, 5) int ks_expect(struct ksmtp_conn *s, unsigned int want,
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

/* One address: a new socket, connected within the connect timeout. */
static int ks_connect_to(struct ksmtp_conn *s, const union ksmtp_addr *a)
{
	const struct ksmtp_config *cfg = s->cfg;
	struct sockaddr_storage addr = {};
	struct socket *sock;
	int len, err;

	if (a->sa.sa_family == AF_INET) {
		memcpy(&addr, &a->v4, sizeof(a->v4));
		((struct sockaddr_in *)&addr)->sin_port = htons(cfg->kc_port);
		len = sizeof(struct sockaddr_in);
	} else {
		memcpy(&addr, &a->v6, sizeof(a->v6));
		((struct sockaddr_in6 *)&addr)->sin6_port = htons(cfg->kc_port);
		len = sizeof(struct sockaddr_in6);
	}
	err = sock_create_kern(s->net, addr.ss_family, SOCK_STREAM,
			       IPPROTO_TCP, &sock);
	if (err)
		return err;
	/* A kernel socket holds no reference on its namespace, yet after
	 * sock_release() TCP may keep it (FIN_WAIT, LAST_ACK) with timers
	 * running past the namespace's end. Pin it as a user's socket does
	 * (as CIFS, SMC and RDS do in this kernel). The TLS helper also gets
	 * the socket as a descriptor: it must pin it anyway.
	 */
	sock->sk->sk_net_refcnt = 1;
	get_net_track(s->net, &sock->sk->ns_tracker, GFP_KERNEL);
	sock_inuse_add(s->net, 1);
	if (cfg->kc_tls != KSMTP_TLS_NONE) {
		struct file *file;

		file = sock_alloc_file(sock, 0, NULL);
		if (IS_ERR(file))
			return PTR_ERR(file);	/* and the socket is gone */
	}
	/* Pairs with ksmtp_conn_abort(). */
	smp_store_mb(s->sock, sock);
	if (READ_ONCE(s->aborted))
		return -ECONNABORTED;
	s->sock->sk->sk_sndtimeo = msecs_to_jiffies(cfg->kc_timeouts.kt_connect_ms);
	err = kernel_connect(s->sock, (struct sockaddr *)&addr, len, 0);
	if (err == -EINPROGRESS || err == -EALREADY)
		err = -ETIMEDOUT;
	return err == -ERESTARTSYS ? -EINTR : err;
}

/* The socket of an address that did not answer, before the next one. */
static void ks_drop_socket(struct ksmtp_conn *s)
{
	struct socket *sock = s->sock;

	if (!sock)
		return;
	/* ksmtp_conn_abort() takes the socket under the set's lock: out
	 * of its sight first.
	 */
	if (s->reg)
		mutex_lock(&s->reg->lock);
	WRITE_ONCE(s->sock, NULL);
	if (s->reg)
		mutex_unlock(&s->reg->lock);
	if (sock->file)
		fput(sock->file);
	else
		sock_release(sock);
}

/* The server's addresses: its address, or those of its name (resolved
 * here, in the session's worker, never in a netlink handler).
 */
static int ks_addresses(struct ksmtp_conn *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	char why[KSMTP_REASON_MAX];
	const char *what = NULL;
	int err;

	if (!cfg->kc_server_name[0]) {
		if (cfg->kc_server.ss_family == AF_INET)
			memcpy(&s->addrs.addr[0].v4, &cfg->kc_server, sizeof(struct sockaddr_in));
		else
			memcpy(&s->addrs.addr[0].v6, &cfg->kc_server, sizeof(struct sockaddr_in6));
		s->addrs.n = 1;
		return 0;
	}
	err = ksmtp_resolve(s->net, cfg->kc_server_name, &s->addrs, &what);
	if (!err)
		return 0;
	/* The name cut to 64 octets, so that the cause shows too */
	snprintf(why, sizeof(why), "cannot resolve %.64s: %s", cfg->kc_server_name, what);
	fail(s, err, why);
	/* The name may resolve later; a kernel without a resolver never
	 * will. (Unless the session was cut meanwhile: that is reported.)
	 */
	if (s->res->kr_err == err)
		s->res->kr_transient = err != -EOPNOTSUPP;
	return err;
}

/* Each address in turn until one connects, each within the connect
 * timeout.
 */
static int ks_connect(struct ksmtp_conn *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	struct sockaddr_storage local;
	char why[KSMTP_REASON_MAX];
	unsigned int i;
	int err;

	err = ks_addresses(s);
	if (err)
		return err;
	for (i = 0; i < s->addrs.n; i++) {
		if (i)
			ks_drop_socket(s);
		err = ks_connect_to(s, &s->addrs.addr[i]);
		if (!err || READ_ONCE(s->aborted) || err == -EINTR || err == -ENOMEM)
			break;
	}
	if (err && s->addrs.n > 1) {
		snprintf(why, sizeof(why), "%s (%u addresses of %s tried)",
			 err_reason(err), i < s->addrs.n ? i + 1 : i, cfg->kc_server_name);
		return fail(s, err, why);
	}
	if (err)
		return fail(s, err, NULL);
	s->usable = true;

	if (cfg->kc_domain[0]) {
		strscpy(s->domain, cfg->kc_domain, sizeof(s->domain));
		return 0;
	}
	err = kernel_getsockname(s->sock, (struct sockaddr *)&local);
	if (err < 0)
		return fail(s, err, NULL);
	if (local.ss_family == AF_INET)
		snprintf(s->domain, sizeof(s->domain), "[%pI4]",
			 &((struct sockaddr_in *)&local)->sin_addr);
	else
		snprintf(s->domain, sizeof(s->domain), "[IPv6:%pI6c]",
			 &((struct sockaddr_in6 *)&local)->sin6_addr);
	return 0;
}

static int ks_greet(struct ksmtp_conn *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	unsigned int code;
	int err;

	memset(&s->caps, 0, sizeof(s->caps));
	if (cfg->kc_helo_only)
		return ks_expect(s, 250, 0, "HELO %s", s->domain);
	/* Of a reply of any length, the lines ksmtp reads. */
	s->keep = ksmtp_caps_wanted;
	err = ks_cmd(s, "EHLO %s", s->domain);
	s->keep = NULL;
	if (err)
		return err;
	code = s->reply.code;
	if (code == 250) {
		ksmtp_caps_parse(&s->caps, &s->reply);
		return 0;
	}
	/* RFC 5321 4.1.4: HELO instead, unless AUTH or TLS is required. */
	if ((code == 500 || code == 501 || code == 502 || code == 550) &&
	    cfg->kc_auth == KSMTP_AUTH_NONE && cfg->kc_tls == KSMTP_TLS_NONE)
		return ks_expect(s, 250, 0, "HELO %s", s->domain);
	return fail_reply(s);
}

/* The challenge of a 334: its line as the server sent it, not the
 * sanitised and shortened text kept for messages.
 */
static const char *challenge(const struct ksmtp_conn *s)
{
	/* A cut challenge would be answered wrongly (CRAM-MD5's HMAC). */
	return s->reply.cut0 ? NULL : ksmtp_reply_line(&s->reply, 0);
}

static int ks_auth(struct ksmtp_conn *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	const struct ksmtp_auth_mech *m;
	enum ksmtp_auth_type mech;
	unsigned int n;
	char *resp;
	int err;

	err = ksmtp_auth_select(cfg->kc_auth, cfg->kc_username[0], s->caps.auth,
				s->caps.flags & KSMTP_CAP_AUTH, &mech);
	if (err)
		return fail(s, err, cfg->kc_auth == KSMTP_AUTH_CRAM_MD5 ?
			    "the server does not offer CRAM-MD5, the configured mechanism" :
			    "the server offers no AUTH mechanism we know");
	if (mech == KSMTP_AUTH_NONE)
		return 0;
	/* A mechanism without an entry of its own never runs another. */
	m = ksmtp_auth_mech(mech);
	if (!m)
		return fail(s, -EOPNOTSUPP, "AUTH mechanism not implemented");
	if (!s->tls_on && !cfg->kc_auth_cleartext)
		return fail(s, -EPERM,
			    "AUTH without TLS refused: configure TLS, or allow auth-cleartext");
	resp = kmalloc(KSMTP_AUTH_RESP_MAX, GFP_KERNEL);
	if (!resp)
		return fail(s, -ENOMEM, NULL);

	if (m->initial) {
		err = m->initial(cfg->kc_username, cfg->kc_password, resp);
		if (err < 0)
			err = fail(s, err, NULL);
		else
			err = ks_cmd(s, "AUTH %s %s", m->name, resp);
	} else {
		err = ks_cmd(s, "AUTH %s", m->name);
	}
	/* Each step is a command under its deadline, and a mechanism has
	 * few: a server that challenges on and on is cut off all the same.
	 */
	for (n = 0; !err && s->reply.code == 334; n++) {
		if (!m->step) {
			/* The initial response was not taken: cancel. */
			ks_cmd(s, "*");
			err = fail(s, -EPROTO, "server ignored the initial response");
			break;
		}
		if (!challenge(s)) {
			ks_cmd(s, "*");
			err = fail(s, -EPROTO, "AUTH challenge too long");
			break;
		}
		err = n < KSMTP_AUTH_STEPS_MAX ?
		      m->step(n, challenge(s), cfg->kc_username, cfg->kc_password, resp) :
		      -ENOMSG;
		if (err == -ENOMSG) {
			/* More challenges than the mechanism has answers:
			 * cancel, or the next command would be taken for one.
			 */
			ks_cmd(s, "*");
			err = fail(s, -EPROTO, "server sent more AUTH challenges than expected");
			break;
		}
		if (err == -EBADMSG) {
			ks_cmd(s, "*");
			err = fail(s, -EPROTO, "AUTH challenge is not base64");
		} else if (err < 0) {
			err = fail(s, err, NULL);
		} else {
			err = ks_cmd(s, "%s", resp);
		}
	}
	kfree_sensitive(resp);
	if (!err && s->reply.code != 235)
		err = fail_reply(s);
	return err;
}

/* One RCPT reply: count it, keep the first refusal. */
static void rcpt_reply(struct ksmtp_conn *s, unsigned int *accepted)
{
	unsigned int code = s->reply.code;

	if (code == 250 || code == 251) {
		(*accepted)++;
		return;
	}
	if (!s->refused++)
		s->refusal = s->reply;
}

/* MAIL, RCPT (one per recipient) and DATA: one at a time, or in one batch
 * (RFC 2920). Refused recipients among several do not stop the mail; when
 * all are refused, the first refusal is the failure.
 */
static int ks_envelope(struct ksmtp_conn *s, const char *params)
{
	const struct ksmtp_config *cfg = s->cfg;
	unsigned int t = cfg->kc_timeouts.kt_command_ms;
	const char *from = s->mail->km_env_from ?: cfg->kc_from;
	unsigned int accepted = 0, i;
	char addr[KSMTP_ADDR_MAX + 1];
	const char *p;
	int n, err;

	s->refused = 0;
	set_phase(s, KSMTP_PHASE_MAIL);
	if (!(s->caps.flags & KSMTP_CAP_PIPELINING)) {
		err = ks_expect(s, 250, 0, "MAIL FROM:<%s>%s", from, params);
		if (err)
			return err;
		set_phase(s, KSMTP_PHASE_RCPT);
		for (p = s->mail->km_rcpt; *p;) {
			if (!ksmtp_rcpt_next(&p, addr))
				continue;
			err = ks_cmd(s, "RCPT TO:<%s>", addr);
			if (err)
				return err;
			if (s->reply.code == 421)
				return fail_reply(s);
			rcpt_reply(s, &accepted);
		}
		if (!accepted)
			return fail_reply_of(s, &s->refusal);
		set_phase(s, KSMTP_PHASE_DATA);
		return ks_expect(s, 354, 0, "DATA");
	}

	n = snprintf(s->cmd, sizeof(s->cmd), "MAIL FROM:<%s>%s\r\n", from, params);
	for (p = s->mail->km_rcpt, i = 0; *p && n < sizeof(s->cmd);) {
		if (!ksmtp_rcpt_next(&p, addr))
			continue;
		n += snprintf(s->cmd + n, sizeof(s->cmd) - n, "RCPT TO:<%s>\r\n", addr);
		i++;
	}
	if (n < sizeof(s->cmd))
		n += snprintf(s->cmd + n, sizeof(s->cmd) - n, "DATA\r\n");
	if (n >= sizeof(s->cmd))
		return fail(s, -E2BIG, "command lines too long");
	err = ks_out_of_step(s);
	if (err)
		return err;
	err = ks_send(s, s->cmd, n, deadline_in(t));
	if (err)
		return fail(s, err, NULL);
	/* Every reply is read, in order, to keep the stream in step; the
	 * first refusal is the one reported.
	 */
	err = ks_recv(s, t);
	if (err)
		return fail(s, err, NULL);
	if (s->reply.code != 250)
		fail_reply(s);
	set_phase(s, KSMTP_PHASE_RCPT);
	while (i--) {
		err = ks_recv(s, t);
		if (err)
			return fail(s, err, NULL);
		rcpt_reply(s, &accepted);
	}
	set_phase(s, KSMTP_PHASE_DATA);
	err = ks_recv(s, t);
	if (err)
		return fail(s, err, NULL);
	if (!accepted && !s->res->kr_err) {
		set_phase(s, KSMTP_PHASE_RCPT);
		fail_reply_of(s, &s->refusal);
		set_phase(s, KSMTP_PHASE_DATA);
	}
	if (s->reply.code != 354)
		return s->res->kr_err ?: fail_reply(s);
	if (s->res->kr_err) {
		/* 354 although MAIL or every RCPT failed: end an empty message;
		 * the session stays in step only if its reply came.
		 */
		if (s->rx_len || ks_send(s, ".\r\n", 3, deadline_in(t)) ||
		    ks_recv(s, cfg->kc_timeouts.kt_final_dot_ms))
			s->usable = false;
		return s->res->kr_err;
	}
	return 0;
}

/* A mail with the caller's header section: its body goes as it is when
 * those headers declare a MIME type or encoding (never re-encoded: it must
 * fit, and an 8-bit one needs 8BITMIME); else as any body, and the MIME
 * headers come with it when it is not 7bit. 8-bit headers need SMTPUTF8.
 */
static int ks_raw_headers(struct ksmtp_conn *s, enum ksmtp_cte *cte,
			  u64 *body_octets, char **hdr, size_t *hdr_len,
			  bool *utf8)
{
	const struct ksmtp_mail *m = s->mail;
	bool has8 = s->caps.flags & KSMTP_CAP_8BITMIME;
	const char *from = m->km_env_from;
	unsigned int flags;

	*hdr = NULL;
	if (ksmtp_check_headers(m->km_headers, &flags))
		return fail(s, -EINVAL, "header section refused");
	if (flags & KSMTP_HDR_8BIT) {
		if (!(s->caps.flags & KSMTP_CAP_SMTPUTF8))
			return fail(s, -EINVAL,
				    "8-bit header and the server does not offer SMTPUTF8");
		*utf8 = true;
	}
	if (flags & KSMTP_HDR_MIME) {
		*cte = ksmtp_body_scan(m->km_body, m->km_body_len, true, body_octets);
		if (*cte == KSMTP_CTE_QP)
			return fail(s, -EINVAL,
				    "body needs encoding (NUL or a line over 998 octets) but its headers declare its MIME type");
		if (*cte == KSMTP_CTE_8BIT && !has8)
			return fail(s, -EINVAL,
				    "8-bit body and the server does not offer 8BITMIME");
	} else {
		*cte = ksmtp_body_scan(m->km_body, m->km_body_len, has8, body_octets);
	}
	if (!from || !from[0])
		from = s->cfg->kc_from;
	*hdr = ksmtp_headers_merge(m->km_headers, from, m->km_from_name, *cte,
				   ktime_get_real_seconds(), get_random_u64(),
				   hdr_len);
	return 0;
}

static int ks_message(struct ksmtp_conn *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	const struct ksmtp_mail *m = s->mail;
	enum ksmtp_cte cte;
	struct ksmtp_enc enc;
	char params[64] = "";
	unsigned long deadline;
	size_t hdr_len, n;
	u64 body_octets = 0;
	bool utf8 = s->from_utf8 || s->rcpt_utf8;
	char *hdr;
	int err;

	set_phase(s, KSMTP_PHASE_MAIL);
	if (utf8 && !(s->caps.flags & KSMTP_CAP_SMTPUTF8))
		return fail(s, -EINVAL,
			    "non-ASCII address and the server does not offer SMTPUTF8");
	if (m->km_headers) {
		err = ks_raw_headers(s, &cte, &body_octets, &hdr, &hdr_len, &utf8);
		if (err)
			return err;
	} else {
		cte = ksmtp_body_scan(m->km_body, m->km_body_len,
				      s->caps.flags & KSMTP_CAP_8BITMIME, &body_octets);
		hdr = ksmtp_headers_build(cfg->kc_from, m->km_rcpt, m->km_subject,
					  m->km_priority, cte, ktime_get_real_seconds(),
					  get_random_u64(), &hdr_len);
	}
	if (!hdr)
		return fail(s, -ENOMEM, NULL);

	if (s->caps.flags & KSMTP_CAP_SIZE) {
		/* The scan measured a 7bit or 8bit body already. */
		u64 octets = cte != KSMTP_CTE_QP ? hdr_len + body_octets :
			     ksmtp_enc_size(hdr, hdr_len, m->km_body, m->km_body_len,
					    cte, s->chunk, KSMTP_CHUNK);

		if (s->caps.size_max && octets > s->caps.size_max) {
			snprintf(s->res->kr_reason, sizeof(s->res->kr_reason),
				 "message of %llu octets exceeds the server's SIZE limit of %llu",
				 octets, s->caps.size_max);
			err = fail(s, -EMSGSIZE, s->res->kr_reason);
			goto out;
		}
		snprintf(params, sizeof(params), " SIZE=%llu", octets);
	}
	if (cte == KSMTP_CTE_8BIT)
		strlcat(params, " BODY=8BITMIME", sizeof(params));
	if (utf8)
		strlcat(params, " SMTPUTF8", sizeof(params));
	err = ks_envelope(s, params);
	if (err)
		goto out;

	/* One deadline for the whole message, however slowly it is read. */
	set_phase(s, KSMTP_PHASE_MESSAGE);
	err = ks_out_of_step(s);
	if (err)
		goto out;
	deadline = deadline_in(cfg->kc_timeouts.kt_data_block_ms);
	ksmtp_enc_init(&enc, hdr, hdr_len, m->km_body, m->km_body_len, cte);
	while ((n = ksmtp_enc_next(&enc, s->chunk, KSMTP_CHUNK))) {
		/* Each chunk but the last: more follows (no segment of a
		 * chunk's size waits for the ACK of the one before).
		 */
		err = ks_send_flags(s, s->chunk, n, deadline, enc.done ? 0 : MSG_MORE);
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
	} else if (s->refused) {
		/* Delivered, but not to every recipient: say which refusal. */
		s->res->kr_code = s->refusal.code;
		strscpy(s->res->kr_text, s->refusal.text, sizeof(s->res->kr_text));
		snprintf(s->res->kr_reason, sizeof(s->res->kr_reason),
			 "delivered, but %u recipient(s) refused", s->refused);
	}
out:
	kfree(hdr);
	return err;
}

/* The helper does the handshake; then the socket speaks kernel TLS. */
static int ks_handshake(struct ksmtp_conn *s)
{
	const struct ksmtp_config *cfg = s->cfg;
	struct ksmtp_tls_req *req = &s->tls;
	int err;

	set_phase(s, KSMTP_PHASE_TLS);
	req->net = s->net;
	req->sock = s->sock;
	req->name = cfg->kc_tls_name;
	req->ca_file = cfg->kc_tls_ca_file;
	err = ksmtp_tls_handshake(req, cfg->kc_timeouts.kt_command_ms, &s->aborted);
	if (err) {
		/* Half a handshake: nothing more may cross, not even QUIT. */
		s->usable = false;
		return fail(s, err, req->reason[0] ? req->reason : NULL);
	}
	s->tls_on = true;
	return 0;
}

/* RFC 3207: only when offered; 220, the handshake, EHLO again. */
static int ks_starttls(struct ksmtp_conn *s)
{
	int err;

	set_phase(s, KSMTP_PHASE_TLS);
	if (!(s->caps.flags & KSMTP_CAP_STARTTLS))
		return fail(s, -EPROTONOSUPPORT,
			    "server does not offer STARTTLS, which is required");
	err = ks_cmd(s, "STARTTLS");
	if (err)
		return err;
	if (s->reply.code != 220)
		return fail_reply(s);
	/* Whatever followed the 220 came before the handshake: not the
	 * server's to say (response injection, RFC 3207 section 6).
	 */
	s->rx_len = 0;
	err = ks_handshake(s);
	if (err)
		return err;
	/* ks_greet() forgets what the server offered in cleartext. */
	set_phase(s, KSMTP_PHASE_EHLO);
	return ks_greet(s);
}

static int ks_open(struct ksmtp_conn *s)
{
	int err;

	set_phase(s, KSMTP_PHASE_CONNECT);
	err = ks_connect(s);
	if (err)
		return err;

	if (s->cfg->kc_tls == KSMTP_TLS_IMPLICIT) {
		err = ks_handshake(s);
		if (err)
			return err;
	}

	set_phase(s, KSMTP_PHASE_GREETING);
	err = ks_recv(s, s->cfg->kc_timeouts.kt_greeting_ms);
	if (err)
		return fail(s, err, NULL);
	if (s->reply.code != 220)
		return fail_reply(s);

	set_phase(s, KSMTP_PHASE_EHLO);
	err = ks_greet(s);
	if (err)
		return err;

	if (s->cfg->kc_tls == KSMTP_TLS_STARTTLS) {
		err = ks_starttls(s);
		if (err)
			return err;
	}

	set_phase(s, KSMTP_PHASE_AUTH);
	return ks_auth(s);
}

/* A mail without recipients goes to the client's default ones. */
static const struct ksmtp_mail *with_rcpt(const struct ksmtp_config *cfg,
					  const struct ksmtp_mail *m,
					  struct ksmtp_mail *copy)
{
	if (m->km_rcpt || !cfg->kc_rcpt || !cfg->kc_rcpt[0])
		return m;
	*copy = *m;
	copy->km_rcpt = cfg->kc_rcpt;
	return copy;
}

/* Bad input is refused before anything is sent. */
static int check_input(const struct ksmtp_config *cfg,
		       const struct ksmtp_mail *m, struct ksmtp_result *res,
		       bool *rcpt_utf8, bool *from_utf8)
{
	enum ksmtp_mail_field field;
	const char *why;

	why = ksmtp_mail_check(m, true, &field, rcpt_utf8);
	if (!why) {
		if (m->km_env_from && m->km_env_from[0])
			ksmtp_check_address(m->km_env_from, from_utf8);
		else
			ksmtp_check_address(cfg->kc_from, from_utf8);
		return 0;
	}
	memset(res, 0, sizeof(*res));
	res->kr_err = -EINVAL;
	snprintf(res->kr_reason, sizeof(res->kr_reason), "%s %s",
		 ksmtp_mail_field_name(field), why);
	return -EINVAL;
}

static void result_oom(struct ksmtp_result *res)
{
	memset(res, 0, sizeof(*res));
	res->kr_err = -ENOMEM;
	res->kr_transient = true;
	strscpy(res->kr_reason, "out of memory", sizeof(res->kr_reason));
}

/**
 * ksmtp_sessions_init() - an empty set of sessions
 * @reg: the set
 *
 * Context: any.
 */
void ksmtp_sessions_init(struct ksmtp_sessions *reg)
{
	mutex_init(&reg->lock);
	INIT_LIST_HEAD(&reg->list);
	reg->dying = false;
}

/**
 * ksmtp_conn_abort() - cut a session from another thread
 * @s: the session
 *
 * Its socket is shut down: whatever the session waits for ends at once,
 * and so does every later step (QUIT included).
 *
 * Context: process context; may sleep. The caller keeps @s alive.
 */
static void ksmtp_conn_abort(struct ksmtp_conn *s)
{
	struct socket *sock;

	/* Pairs with ks_connect(): either it sees aborted, or we its socket. */
	smp_store_mb(s->aborted, true);
	sock = READ_ONCE(s->sock);
	if (sock)
		kernel_sock_shutdown(sock, SHUT_RDWR);
	ksmtp_tls_abort(&s->tls);
}

/**
 * ksmtp_sessions_abort_all() - cut every session of @reg, refuse new ones
 * @reg: the set
 *
 * Each session's socket is shut down: its owner sees its steps fail at
 * once and closes it (ksmtp_conn_close()) without waiting for the server.
 * Idempotent.
 *
 * Context: process context; sleeps (a mutex).
 */
void ksmtp_sessions_abort_all(struct ksmtp_sessions *reg)
{
	struct ksmtp_conn *s;

	mutex_lock(&reg->lock);
	reg->dying = true;
	list_for_each_entry(s, &reg->list, reg_node)
		ksmtp_conn_abort(s);
	mutex_unlock(&reg->lock);
}

/**
 * ksmtp_sessions_revive() - accept sessions again after an abort_all
 * @reg: the set, with no session left
 *
 * Context: process context; sleeps (a mutex).
 */
void ksmtp_sessions_revive(struct ksmtp_sessions *reg)
{
	mutex_lock(&reg->lock);
	WARN_ON(!list_empty(&reg->list));
	reg->dying = false;
	mutex_unlock(&reg->lock);
}

/**
 * ksmtp_conn_alloc() - a session, not yet connected
 * @client: the client; the session holds a reference until closed
 * @reg: the set that may cut it (ksmtp_sessions_abort_all()), or NULL
 * @res: filled when it cannot be had
 *
 * Context: process context; may sleep (GFP_KERNEL).
 * Return: the session, or ERR_PTR(-ENOMEM), or ERR_PTR(-ESHUTDOWN) when
 * @reg is being aborted.
 */
struct ksmtp_conn *ksmtp_conn_alloc(struct ksmtp_client *client,
				    struct ksmtp_sessions *reg,
				    struct ksmtp_result *res)
{
	struct ksmtp_conn *s;

	memset(res, 0, sizeof(*res));
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (s)
		s->chunk = kmalloc(KSMTP_CHUNK, GFP_KERNEL);
	if (!s || !s->chunk) {
		kfree(s);
		result_oom(res);
		return ERR_PTR(-ENOMEM);
	}
	INIT_LIST_HEAD(&s->reg_node);
	/* Whole before it is visible to ksmtp_sessions_abort_all(). */
	s->client = ksmtp_client_get(client);
	s->cfg = &client->cfg;
	s->res = res;
	ksmtp_tls_req_init(&s->tls);
	if (reg) {
		mutex_lock(&reg->lock);
		if (reg->dying) {
			mutex_unlock(&reg->lock);
			ksmtp_client_put(s->client);
			kfree(s->chunk);
			kfree(s);
			res->kr_err = -ESHUTDOWN;
			strscpy(res->kr_reason, "the module or namespace goes away",
				sizeof(res->kr_reason));
			return ERR_PTR(-ESHUTDOWN);
		}
		s->reg = reg;
		list_add_tail(&s->reg_node, &reg->list);
		mutex_unlock(&reg->lock);
	}
	return s;
}

/**
 * ksmtp_conn_start() - connect, greet and authenticate
 * @s: from ksmtp_conn_alloc()
 * @res: filled when the session could not be opened
 *
 * Context: process context; sleeps.
 * Return: 0, or a negative errno (and the failure in @res); close @s
 * either way when done.
 */
int ksmtp_conn_start(struct ksmtp_conn *s, struct ksmtp_result *res)
{
	int err;

	memset(res, 0, sizeof(*res));
	s->res = res;
	s->net = maybe_get_net(s->cfg->kc_net);
	if (!s->net)
		return fail(s, -ENETUNREACH, "network namespace is going away");
	err = ks_open(s);
	if (s->tls_on)
		strscpy(res->kr_tls, s->tls.info, sizeof(res->kr_tls));
	return err;
}

/**
 * ksmtp_conn_open() - connect, greet and authenticate: an open session
 * @client: the client; the session holds a reference until closed
 * @reg: the set that may cut it, or NULL
 * @res: filled when the session could not be opened
 *
 * Context: process context; sleeps.
 * Return: the session, or an ERR_PTR (and the failure in @res).
 */
struct ksmtp_conn *ksmtp_conn_open(struct ksmtp_client *client,
				   struct ksmtp_sessions *reg,
				   struct ksmtp_result *res)
{
	struct ksmtp_conn *s = ksmtp_conn_alloc(client, reg, res);
	int err;

	if (IS_ERR(s))
		return s;
	err = ksmtp_conn_start(s, res);
	if (err) {
		ksmtp_conn_close(s);
		return ERR_PTR(err);
	}
	return s;
}

/**
 * ksmtp_conn_ready() - may the next mail go over this session?
 * @s: the session
 *
 * After a refused transaction, this is where the session is reset (RSET,
 * RFC 5321 4.1.1.5): only when another mail follows. A reset that fails
 * ends the session's usefulness, not the next mail's chances: its caller
 * takes another session.
 *
 * Context: process context; sleeps (the RSET).
 * Return: true when the session is open, in step and reset.
 */
bool ksmtp_conn_ready(struct ksmtp_conn *s)
{
	struct ksmtp_result rset;

	/* Bytes ahead of the next command: take another session. */
	if (s->rx_len)
		s->usable = false;
	if (s->need_rset && s->usable) {
		memset(&rset, 0, sizeof(rset));
		s->res = &rset;
		set_phase(s, KSMTP_PHASE_MAIL);
		if (ks_cmd(s, "RSET") || s->reply.code != 250)
			s->usable = false;
		s->res = NULL;	/* the next mail brings its own */
	}
	s->need_rset = false;
	return s->usable;
}

/**
 * ksmtp_conn_mail() - one mail transaction on an open session
 * @s: the session
 * @mail: the mail
 * @res: the result, filled in every case
 *
 * After a refused transaction the session is reset (RSET) before the next
 * (ksmtp_conn_ready()).
 *
 * Context: process context; sleeps.
 * Return: 0 when the server accepted the mail, else a negative errno;
 * -ENOTCONN (transient, nothing of the mail sent) when the session was no
 * longer usable.
 */
int ksmtp_conn_mail(struct ksmtp_conn *s, const struct ksmtp_mail *mail,
		    struct ksmtp_result *res)
{
	int err;

	mail = with_rcpt(s->cfg, mail, &s->mail_copy);
	err = check_input(s->cfg, mail, res, &s->rcpt_utf8, &s->from_utf8);
	if (err)
		return err;
	if (!ksmtp_conn_ready(s)) {
		memset(res, 0, sizeof(*res));
		res->kr_err = -ENOTCONN;
		res->kr_transient = true;
		strscpy(res->kr_reason, "the session ended before this mail",
			sizeof(res->kr_reason));
		return -ENOTCONN;
	}
	memset(res, 0, sizeof(*res));
	if (s->tls_on)
		strscpy(res->kr_tls, s->tls.info, sizeof(res->kr_tls));
	s->res = res;
	s->mail = mail;
	set_phase(s, KSMTP_PHASE_NONE);
	err = ks_message(s);
	s->need_rset = err && s->usable;
	trace_ksmtp_session_end(s, res);
	return err;
}

/**
 * ksmtp_conn_usable() - may another mail go over this session?
 * @s: the session
 *
 * Context: any.
 * Return: true while the connection is open and in step.
 */
bool ksmtp_conn_usable(const struct ksmtp_conn *s)
{
	return s->usable;
}

/**
 * ksmtp_conn_close() - QUIT (when the connection allows) and free
 * @s: the session, or an ERR_PTR or NULL
 *
 * The session stays in its set until QUIT is over, so that an abort cuts
 * a QUIT that the server never answers.
 *
 * Context: process context; sleeps up to the command timeout (unless
 * aborted).
 */
void ksmtp_conn_close(struct ksmtp_conn *s)
{
	struct ksmtp_result quit;

	if (IS_ERR_OR_NULL(s))
		return;
	if (s->usable && !READ_ONCE(s->aborted)) {
		/* QUIT after success and after an error reply alike; its
		 * outcome changes no mail's.
		 */
		s->res = &quit;
		memset(&quit, 0, sizeof(quit));
		set_phase(s, KSMTP_PHASE_QUIT);
		ks_cmd(s, "QUIT");
	}
	if (s->reg) {
		mutex_lock(&s->reg->lock);
		list_del(&s->reg_node);
		mutex_unlock(&s->reg->lock);
	}
	if (s->sock && s->usable)
		kernel_sock_shutdown(s->sock, SHUT_RDWR);
	if (s->sock && s->sock->file)
		fput(s->sock->file);
	else if (s->sock)
		sock_release(s->sock);
	if (s->net)
		put_net(s->net);
	ksmtp_client_put(s->client);
	kfree(s->chunk);
	kfree(s);
}

#if IS_ENABLED(CONFIG_KSMTP_KUNIT_TEST)
/* For the tests: the session's socket, NULL before connecting. */
struct socket *ksmtp_conn_socket(const struct ksmtp_conn *s)
{
	return s->sock;
}
#endif

/**
 * ksmtp_session_run() - send one mail in one SMTP session
 * @client: the client
 * @reg: the set that may cut the session, or NULL
 * @mail: the mail
 * @res: the result, filled in every case
 *
 * Context: process context; sleeps. Takes no lock.
 * Return: 0 when the server accepted the mail, else a negative errno
 * (also in @res->kr_err).
 */
int ksmtp_session_run(struct ksmtp_client *client,
		      struct ksmtp_sessions *reg,
		      const struct ksmtp_mail *mail,
		      struct ksmtp_result *res)
{
	struct ksmtp_mail copy;
	struct ksmtp_conn *s;
	bool utf8;
	int err;

	memset(res, 0, sizeof(*res));
	mail = with_rcpt(&client->cfg, mail, &copy);
	err = check_input(&client->cfg, mail, res, &utf8, &utf8);
	if (err)
		return err;
	s = ksmtp_conn_open(client, reg, res);
	if (IS_ERR(s)) {
		trace_ksmtp_session_end(NULL, res);
		return PTR_ERR(s);
	}
	err = ksmtp_conn_mail(s, mail, res);
	ksmtp_conn_close(s);
	return err;
}

/**
 * ksmtp_mail_send() - send one mail
 * @client: the client (the caller holds a reference)
 * @mail: the mail; nothing of it is kept after the return
 * @result: filled in every case; may be NULL
 *
 * Opens one TCP connection to the client's server (its address, or the
 * first address of its name that connects: the name is resolved here,
 * see kc_server_name), runs the whole SMTP
 * session (greeting, EHLO or HELO, STARTTLS and the handshake if so
 * configured, AUTH, MAIL, RCPT, DATA, message, QUIT) and closes it.
 * Whatever the outcome, the client is ready for the next mail. Several
 * callers may send through one client at the same time; each gets its own
 * connection. The recipient and the subject are checked
 * before connecting (no CR, LF, spaces, control characters; RFC lengths).
 *
 * Context: process context; sleeps: resolving a name as long as the DNS
 * upcall takes (uninterruptibly), then the connect timeout for each
 * address tried (up to KSMTP_ADDRS_MAX of them), then up to the sum of
 * the client's other timeouts. Never call it from atomic context
 * (interrupt handlers, timers, softirqs, under a spinlock or
 * rcu_read_lock()). Takes no lock of the caller's. A signal pending
 * after the name is resolved ends it with -EINTR.
 * Return: 0 when the server accepted the mail (250 to the final dot), else
 * a negative errno: -EINVAL bad input (nothing sent), -ECONNREFUSED,
 * -ETIMEDOUT, -ECONNRESET, -EBADMSG (malformed reply), -EACCES (535, 530),
 * -EPERM (534, 538), -EOPNOTSUPP (504 or no usable mechanism), -EMSGSIZE
 * (over the server's SIZE, 552), -EAGAIN (other 4xx), -EREMOTEIO (other
 * 5xx), -ECONNABORTED (421), -EPROTO (an unexpected reply; or data from
 * the server ahead of a command, out of step: transient), -ENOMEM, -EINTR. With TLS (phase TLS):
 * -ESRCH (no TLS helper running: transient), -EPROTONOSUPPORT (STARTTLS
 * required, not offered), -EKEYREJECTED (certificate refused),
 * -ECONNABORTED (handshake failed, helper gone), -ETIMEDOUT, -EPROTO (the
 * helper left no kernel TLS); -EPERM when AUTH would cross in cleartext
 * and kc_auth_cleartext is false. A name that cannot be resolved (phase
 * connect, transient, kr_reason "cannot resolve NAME: ..."): -ENODATA (no
 * address), -EAGAIN, -ECONNREFUSED (DNS server failure), -ENOKEY (no
 * upcall), -EKEYREJECTED (the upcall refused the query; phase connect,
 * not TLS), -EBADMSG (an answer that is not a list of addresses),
 * -ESHUTDOWN (module unload), -EHOSTUNREACH (other); -EOPNOTSUPP (permanent) on a kernel
 * without CONFIG_DNS_RESOLVER. @result says which phase failed, with
 * the server's code and text, and the TLS session used.
 */
int ksmtp_mail_send(struct ksmtp_client *client, const struct ksmtp_mail *mail,
		    struct ksmtp_result *result)
{
	struct ksmtp_result local;
	int err;

	might_sleep();
	ksmtp_client_get(client);
	err = ksmtp_session_run(client, NULL, mail, result ?: &local);
	ksmtp_client_put(client);
	return err;
}
EXPORT_SYMBOL_GPL(ksmtp_mail_send);
