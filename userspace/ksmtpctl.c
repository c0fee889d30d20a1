// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtpctl: configure the in-kernel SMTP client (ksmtp.ko) over its
 * generic netlink family, show its configuration and statistics, and send
 * a test mail.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <linux/ksmtp.h>

#include "nlack.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static const char *prog = "ksmtpctl";

/* The names ksmtpctl gives the attributes it sends (its own keys), by set. */
static const char * const cfg_names[KSMTP_A_CFG_MAX + 1] = {
	[KSMTP_A_CFG_SERVER_ADDR] = "server",
	[KSMTP_A_CFG_PORT] = "port",
	[KSMTP_A_CFG_USERNAME] = "user",
	[KSMTP_A_CFG_PASSWORD] = "password",
	[KSMTP_A_CFG_FROM] = "from",
	[KSMTP_A_CFG_DOMAIN] = "domain",
	[KSMTP_A_CFG_AUTH] = "auth",
	[KSMTP_A_CFG_HELO_ONLY] = "helo-only",
	[KSMTP_A_CFG_TIMEOUT_CONNECT] = "timeout-connect",
	[KSMTP_A_CFG_TIMEOUT_GREETING] = "timeout-greeting",
	[KSMTP_A_CFG_TIMEOUT_COMMAND] = "timeout-command",
	[KSMTP_A_CFG_TIMEOUT_DATA_BLOCK] = "timeout-data-block",
	[KSMTP_A_CFG_TIMEOUT_FINAL_DOT] = "timeout-final-dot",
	[KSMTP_A_CFG_RCPT] = "rcpt",
	[KSMTP_A_CFG_QUEUE_MAX] = "queue-max",
	[KSMTP_A_CFG_QUEUE_BYTES] = "queue-bytes",
	[KSMTP_A_CFG_RETRY_MAX] = "retry-max",
	[KSMTP_A_CFG_RETRY_AGE] = "retry-age",
	[KSMTP_A_CFG_RETRY_BASE_MS] = "retry-base-ms",
	[KSMTP_A_CFG_COALESCE_MS] = "coalesce-ms",
	[KSMTP_A_CFG_TLS] = "tls",
	[KSMTP_A_CFG_TLS_NAME] = "tls-name",
	[KSMTP_A_CFG_TLS_CA_FILE] = "ca-file",
	[KSMTP_A_CFG_AUTH_CLEARTEXT] = "auth-cleartext",
};

static const char * const mail_names[KSMTP_A_MAIL_MAX + 1] = {
	[KSMTP_A_MAIL_RCPT] = "to",
	[KSMTP_A_MAIL_SUBJECT] = "subject",
	[KSMTP_A_MAIL_PRIORITY] = "priority",
	[KSMTP_A_MAIL_BODY] = "body",
};

static const char * const tls_names[] = {
	[KSMTP_TLS_NONE] = "none",
	[KSMTP_TLS_STARTTLS] = "starttls",
	[KSMTP_TLS_IMPLICIT] = "tls",
};

static const char * const auth_names[] = {
	[KSMTP_AUTH_NONE] = "none",
	[KSMTP_AUTH_PLAIN] = "plain",
	[KSMTP_AUTH_LOGIN] = "login",
	[KSMTP_AUTH_CRAM_MD5] = "cram-md5",
};

static const char * const prio_names[] = {
	[KSMTP_PRIO_NORMAL] = "normal",
	[KSMTP_PRIO_LOW] = "low",
	[KSMTP_PRIO_HIGH] = "high",
};

static const char * const phase_names[] = {
	[KSMTP_PHASE_NONE] = "none",
	[KSMTP_PHASE_CONNECT] = "connect",
	[KSMTP_PHASE_GREETING] = "greeting",
	[KSMTP_PHASE_EHLO] = "EHLO",
	[KSMTP_PHASE_AUTH] = "AUTH",
	[KSMTP_PHASE_MAIL] = "MAIL",
	[KSMTP_PHASE_RCPT] = "RCPT",
	[KSMTP_PHASE_DATA] = "DATA",
	[KSMTP_PHASE_MESSAGE] = "message",
	[KSMTP_PHASE_QUIT] = "QUIT",
	[KSMTP_PHASE_TLS] = "TLS",
};

static const char * const end_names[] = {
	[KSMTP_END_SENT] = "sent",
	[KSMTP_END_FAILED] = "failed",
	[KSMTP_END_EXPIRED] = "expired",
	[KSMTP_END_DROPPED] = "dropped",
	[KSMTP_END_COALESCED] = "coalesced",
};

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", prog);
	exit(2);
}

/* ---- netlink ---- */

/* A message's attributes: its nests at the top level, and what each holds
 * (all NULL where the nest is absent).
 */
struct attrs {
	struct nlattr *top[KSMTP_A_MAX + 1];
	struct nlattr *cfg[KSMTP_A_CFG_MAX + 1];
	struct nlattr *mail[KSMTP_A_MAIL_MAX + 1];
	struct nlattr *res[KSMTP_A_RES_MAX + 1];
	struct nlattr *stats[KSMTP_A_STATS_MAX + 1];
	struct nlattr *qe[KSMTP_A_QE_MAX + 1];
	struct nlattr *ev[KSMTP_A_EV_MAX + 1];
};

struct request {
	struct nl_sock *sk;
	int family;
	struct nl_msg *msg;
	struct attrs a;
	struct nl_msg *reply;
	void (*each)(struct request *rq, struct attrs *a);
	bool json;
	int seen;
	bool done;
	int err;
	char errmsg[512];
};

/* The message being handled, and the outcome of a KSMTP_CMD_SEND: the
 * message with the result for our mail's id.
 */
static struct nl_msg *send_current;
static struct nl_msg *send_result;
static uint64_t send_id;
static bool send_id_known;
static bool family_gone;	/* nlctrl said the family was unregistered */

static void parse_nest(struct nlattr **tb, int max, struct nlattr *nest)
{
	if (nest)
		nla_parse_nested(tb, max, nest, NULL);
}

static void parse_msg(struct attrs *a, struct nl_msg *msg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	memset(a, 0, sizeof(*a));
	nla_parse(a->top, KSMTP_A_MAX, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), NULL);
	parse_nest(a->cfg, KSMTP_A_CFG_MAX, a->top[KSMTP_A_CONFIG]);
	parse_nest(a->mail, KSMTP_A_MAIL_MAX, a->top[KSMTP_A_MAIL]);
	parse_nest(a->res, KSMTP_A_RES_MAX, a->top[KSMTP_A_RESULT]);
	parse_nest(a->stats, KSMTP_A_STATS_MAX, a->top[KSMTP_A_STATS]);
	parse_nest(a->qe, KSMTP_A_QE_MAX, a->top[KSMTP_A_QUEUE_ENTRY]);
	parse_nest(a->ev, KSMTP_A_EV_MAX, a->top[KSMTP_A_EVENT]);
}

/* Open a nest; nla_nest_end() it (end_nest() checks that it fits). */
static struct nlattr *start_nest(struct nl_msg *msg, int type)
{
	struct nlattr *nest = nla_nest_start(msg, type | NLA_F_NESTED);

	if (!nest)
		die("out of memory");
	return nest;
}

static void end_nest(struct nl_msg *msg, struct nlattr *nest)
{
	/* An attribute, and so a nest, holds at most 64 KiB. */
	if (nla_nest_end(msg, nest) < 0)
		die("the request does not fit in a netlink attribute");
}

static void open_family(struct request *rq)
{
	int one = 1, big = 4 << 20;

	rq->sk = nl_socket_alloc();
	if (!rq->sk)
		die("out of memory");
	if (genl_connect(rq->sk))
		die("cannot open a generic netlink socket");
	/* The kernel's reason for a refusal, and no echo of a 1 MiB body. */
	setsockopt(nl_socket_get_fd(rq->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(rq->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(nl_socket_get_fd(rq->sk), SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		setsockopt(nl_socket_get_fd(rq->sk), SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	nl_socket_enable_msg_peek(rq->sk);
	rq->family = genl_ctrl_resolve(rq->sk, KSMTP_GENL_NAME);
	if (rq->family < 0)
		die("generic netlink family '%s' not found: is ksmtp.ko loaded?", KSMTP_GENL_NAME);
}

static void start(struct request *rq, uint8_t cmd, size_t extra)
{
	open_family(rq);
	rq->msg = nlmsg_alloc_size(extra + 65536);
	if (!rq->msg || !genlmsg_put(rq->msg, NL_AUTO_PORT, NL_AUTO_SEQ, rq->family, 0, 0,
				     cmd, KSMTP_GENL_VERSION))
		die("out of memory");
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	if (nlmsg_hdr(msg)->nlmsg_type != rq->family) {
		/* nlctrl's notifications, to a send waiting for its outcome */
		struct nlattr *name;

		name = nla_find(genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0),
				CTRL_ATTR_FAMILY_NAME);
		if (nlmsg_hdr(msg)->nlmsg_type == GENL_ID_CTRL &&
		    gh->cmd == CTRL_CMD_DELFAMILY && name &&
		    !strcmp(nla_get_string(name), KSMTP_GENL_NAME))
			family_gone = true;
		return NL_OK;
	}
	parse_msg(&rq->a, msg);
	send_current = msg;
	if (rq->each) {
		rq->each(rq, &rq->a);
		rq->seen++;
		return NL_OK;
	}
	rq->reply = msg;
	nlmsg_get(msg);
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;

	(void)msg;
	rq->done = true;
	return NL_STOP;
}

/* The name of the attribute at @offs of our own request (the ack does not
 * echo it): one inside a nest of the top level (a nest itself has none).
 */
static const char *attr_at(struct request *rq, uint32_t offs)
{
	struct nlmsghdr *nlh = nlmsg_hdr(rq->msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	const char * const *names;
	struct nlattr *nest, *a;
	int rem, rem2, max;

	nla_for_each_attr(nest, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), rem) {
		switch (nla_type(nest)) {
		case KSMTP_A_CONFIG:
			names = cfg_names;
			max = KSMTP_A_CFG_MAX;
			break;
		case KSMTP_A_MAIL:
			names = mail_names;
			max = KSMTP_A_MAIL_MAX;
			break;
		default:
			continue;
		}
		nla_for_each_nested(a, nest, rem2) {
			if ((char *)a - (char *)nlh != (long)offs)
				continue;
			return nla_type(a) <= max && names[nla_type(a)] ? names[nla_type(a)] : NULL;
		}
	}
	return NULL;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct request *rq = arg;
	const char *text, *attr;
	uint32_t offs;

	(void)nla;
	rq->err = e->error;
	rq->done = true;
	nlack_parse(e, &text, &offs);
	attr = offs ? attr_at(rq, offs) : NULL;
	snprintf(rq->errmsg, sizeof(rq->errmsg), "%s%s%s%s",
		 text ? text : strerror(-e->error),
		 attr ? " (attribute '" : "", attr ? attr : "", attr ? "')" : "");
	return NL_STOP;
}

static int seq_any(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

/* Send the request, wait for its reply and ack, and then for as long as
 * @more says; die with the kernel's words.
 */
static void transact_until(struct request *rq, bool (*more)(struct request *rq))
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int err;

	if (!cb)
		die("out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, rq);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, rq);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_ack, rq);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, rq);
	/* What follows the ack is not in sequence: the caller matches it. */
	if (more)
		nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_any, NULL);
	err = nl_send_auto(rq->sk, rq->msg);
	if (err < 0)
		die("cannot send the request: %s", nl_geterror(err));
	while (!rq->done || (!rq->err && more && more(rq))) {
		err = nl_recvmsgs(rq->sk, cb);
		if (err < 0 && (!rq->done || (more && !rq->err)))
			die("netlink: %s", nl_geterror(err));
	}
	nl_cb_put(cb);
	if (rq->err) {
		if (rq->err == -EPERM)
			die("kernel refused: %s (this needs CAP_NET_ADMIN)", rq->errmsg);
		die("kernel refused: %s", rq->errmsg);
	}
}

static void transact(struct request *rq)
{
	transact_until(rq, NULL);
}

/* ---- helpers ---- */

static void json_fstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_str(const char *s)
{
	json_fstr(stdout, s);
}

static int lookup(const char *word, const char * const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcasecmp(word, names[i]))
			return i;
	return -1;
}

static unsigned long number(const char *key, const char *s, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v > max)
		usage_die("%s: '%s' is not a number from 0 to %lu", key, s, max);
	return v;
}

static bool on_off(const char *key, const char *v)
{
	if (strcmp(v, "on") && strcmp(v, "off"))
		usage_die("%s: '%s' is not on or off", key, v);
	return !strcmp(v, "on");
}

/* Read a whole file ('-': stdin) of at most @max octets (+1 to tell). */
static char *slurp(const char *path, size_t max, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	ssize_t r;

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (!buf)
		die("out of memory");
	while (n <= max) {
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			if (!buf)
				die("out of memory");
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0)
			die("%s: %s", path, strerror(errno));
		if (!r)
			break;
		n += r;
	}
	if (fd)
		close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Returns true when @host was a name (not an address): the TLS name. */
static bool put_address(struct nl_msg *msg, const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int err = getaddrinfo(host, NULL, &hints, &ai);
	unsigned char bin[16];

	if (err)
		usage_die("server: cannot resolve '%s': %s", host, gai_strerror(err));
	if (ai->ai_family == AF_INET)
		nla_put(msg, KSMTP_A_CFG_SERVER_ADDR, 4,
			&((struct sockaddr_in *)ai->ai_addr)->sin_addr);
	else
		nla_put(msg, KSMTP_A_CFG_SERVER_ADDR, 16,
			&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
	freeaddrinfo(ai);
	return inet_pton(AF_INET, host, bin) != 1 && inet_pton(AF_INET6, host, bin) != 1;
}

/* ---- set ---- */

static const char set_help[] =
	"usage: ksmtpctl set KEY VALUE [KEY VALUE]...\n"
	"Change the configuration of this network namespace's default client.\n"
	"Keys not given keep their value; an empty string clears a string.\n"
	"  server ADDR|HOST          SMTP server (IPv4, IPv6 or a name resolved now)\n"
	"  port N                    TCP port (default 25)\n"
	"  from ADDR                 sender address (envelope and From:)\n"
	"  rcpt ADDR[, ADDR]...      default recipient(s), up to 16: one mail to all\n"
	"  domain NAME               EHLO argument (empty: address literal)\n"
	"  auth none|plain|login|cram-md5\n"
	"  user NAME                 user name for AUTH\n"
	"  password-file PATH|-      read the password from a file or stdin\n"
	"  password-env VAR          read the password from an environment variable\n"
	"  helo-only on|off          greet with HELO instead of EHLO\n"
	"  tls none|starttls|tls     STARTTLS (required: no fallback) or implicit TLS\n"
	"                            (port 465 by default); the handshake is done by\n"
	"                            ksmtp-tlsd, which must be running\n"
	"  tls-name NAME             name the server's certificate must carry (default:\n"
	"                            the host name given as server; needed for an address)\n"
	"  ca-file PATH              CA bundle to trust (empty: the system trust store)\n"
	"  auth-cleartext on|off     allow AUTH without TLS (off by default)\n"
	"  timeout-connect MS, timeout-greeting MS, timeout-command MS,\n"
	"  timeout-data-block MS, timeout-final-dot MS   (100 to 3600000)\n"
	"The queue (ksmtpctl send ... queue, and drivers' queued mails):\n"
	"  queue-max N, queue-bytes N   bounds (256 mails, 16 MiB)\n"
	"  retry-max N, retry-age SECONDS, retry-base-ms MS   transient failures are\n"
	"                            retried, the delay doubling with jitter\n"
	"  coalesce-ms MS            identical mails within MS become one with a count\n"
	"The password is never taken from the command line.\n";

static int cmd_set(int argc, char **argv)
{
	static const struct {
		const char *key;
		int attr;
	} strs[] = {
		{ "from", KSMTP_A_CFG_FROM }, { "rcpt", KSMTP_A_CFG_RCPT },
		{ "domain", KSMTP_A_CFG_DOMAIN }, { "user", KSMTP_A_CFG_USERNAME },
		{ "tls-name", KSMTP_A_CFG_TLS_NAME }, { "ca-file", KSMTP_A_CFG_TLS_CA_FILE },
	}, timeouts[] = {
		{ "queue-max", KSMTP_A_CFG_QUEUE_MAX },
		{ "queue-bytes", KSMTP_A_CFG_QUEUE_BYTES },
		{ "retry-max", KSMTP_A_CFG_RETRY_MAX },
		{ "retry-age", KSMTP_A_CFG_RETRY_AGE },
		{ "retry-base-ms", KSMTP_A_CFG_RETRY_BASE_MS },
		{ "coalesce-ms", KSMTP_A_CFG_COALESCE_MS },
		{ "timeout-connect", KSMTP_A_CFG_TIMEOUT_CONNECT },
		{ "timeout-greeting", KSMTP_A_CFG_TIMEOUT_GREETING },
		{ "timeout-command", KSMTP_A_CFG_TIMEOUT_COMMAND },
		{ "timeout-data-block", KSMTP_A_CFG_TIMEOUT_DATA_BLOCK },
		{ "timeout-final-dot", KSMTP_A_CFG_TIMEOUT_FINAL_DOT },
	};
	struct request rq = {};
	const char *server_name = NULL;
	struct nlattr *cfg;
	bool tls_name = false;
	int i, n;
	size_t j;

	if (argc < 2)
		usage_die("set: nothing to set");
	if ((argc - 1) % 2)
		usage_die("set: '%s' needs a value", argv[argc - 1]);
	start(&rq, KSMTP_CMD_CONFIG_SET, 0);
	cfg = start_nest(rq.msg, KSMTP_A_CONFIG);
	for (i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		bool found = false;

		for (j = 0; j < sizeof(strs) / sizeof(strs[0]); j++)
			if (!strcmp(k, strs[j].key)) {
				nla_put_string(rq.msg, strs[j].attr, v);
				found = true;
			}
		for (j = 0; j < sizeof(timeouts) / sizeof(timeouts[0]); j++)
			if (!strcmp(k, timeouts[j].key)) {
				nla_put_u32(rq.msg, timeouts[j].attr, number(k, v, UINT32_MAX));
				found = true;
			}
		if (!strcmp(k, "tls-name"))
			tls_name = true;
		if (found)
			continue;
		if (!strcmp(k, "server")) {
			server_name = put_address(rq.msg, v) ? v : NULL;
		} else if (!strcmp(k, "tls")) {
			n = lookup(v, tls_names, KSMTP_TLS_MAX + 1);
			if (n < 0)
				usage_die("tls: '%s' is not none, starttls or tls", v);
			nla_put_u32(rq.msg, KSMTP_A_CFG_TLS, n);
		} else if (!strcmp(k, "auth-cleartext")) {
			nla_put_u8(rq.msg, KSMTP_A_CFG_AUTH_CLEARTEXT, on_off(k, v));
		} else if (!strcmp(k, "port")) {
			nla_put_u16(rq.msg, KSMTP_A_CFG_PORT, number(k, v, 65535));
		} else if (!strcmp(k, "auth")) {
			n = lookup(v, auth_names, KSMTP_AUTH_MAX + 1);
			if (n < 0)
				usage_die("auth: '%s' is not none, plain, login or cram-md5", v);
			nla_put_u32(rq.msg, KSMTP_A_CFG_AUTH, n);
		} else if (!strcmp(k, "helo-only")) {
			nla_put_u8(rq.msg, KSMTP_A_CFG_HELO_ONLY, on_off(k, v));
		} else if (!strcmp(k, "password-file") || !strcmp(k, "password-env")) {
			char *pw;
			size_t len;

			if (!strcmp(k, "password-env")) {
				const char *e = getenv(v);

				if (!e)
					usage_die("password-env: %s is not set", v);
				pw = strdup(e);
				if (!pw)
					die("out of memory");
				len = strlen(pw);
			} else {
				pw = slurp(v, KSMTP_STR_MAX + 2, &len);
			}
			while (len && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
				pw[--len] = '\0';
			if (strlen(pw) != len)
				die("password: holds a NUL octet");
			nla_put_string(rq.msg, KSMTP_A_CFG_PASSWORD, pw);
			explicit_bzero(pw, len);
			free(pw);
		} else if (!strcmp(k, "password")) {
			usage_die("password: not on the command line; use password-file or password-env");
		} else {
			usage_die("set: unknown key '%s'", k);
		}
	}
	/* A server given by name is the name its certificate must carry. */
	if (server_name && !tls_name)
		nla_put_string(rq.msg, KSMTP_A_CFG_TLS_NAME, server_name);
	end_nest(rq.msg, cfg);
	transact(&rq);
	/* The request held the password: clear it before freeing. */
	explicit_bzero(nlmsg_hdr(rq.msg), nlmsg_hdr(rq.msg)->nlmsg_len);
	return 0;
}

/* ---- show ---- */

static const char show_help[] =
	"usage: ksmtpctl show [-j]\n"
	"Print the configuration of this network namespace's default client.\n"
	"The password is never shown, only whether one is set. -j prints JSON.\n";

static const char *get_str(struct nlattr *a)
{
	return a ? nla_get_string(a) : "";
}

static void addr_str(struct nlattr *a, char *buf, size_t len)
{
	if (a && nla_len(a) == 4)
		inet_ntop(AF_INET, nla_data(a), buf, len);
	else if (a && nla_len(a) == 16)
		inet_ntop(AF_INET6, nla_data(a), buf, len);
	else
		snprintf(buf, len, "%s", "");
}

static bool want_json(int argc, char **argv, const char *help)
{
	int i;
	bool json = false;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			json = true;
		else
			usage_die("%s: unexpected '%s'", argv[0], argv[i]);
	}
	(void)help;
	return json;
}

static int cmd_show(int argc, char **argv)
{
	static const struct {
		const char *name;
		int attr;
	} timeouts[] = {
		{ "connect", KSMTP_A_CFG_TIMEOUT_CONNECT },
		{ "greeting", KSMTP_A_CFG_TIMEOUT_GREETING },
		{ "command", KSMTP_A_CFG_TIMEOUT_COMMAND },
		{ "data_block", KSMTP_A_CFG_TIMEOUT_DATA_BLOCK },
		{ "final_dot", KSMTP_A_CFG_TIMEOUT_FINAL_DOT },
	};
	bool json = want_json(argc, argv, show_help);
	struct request rq = {};
	struct nlattr **cfg;
	char server[INET6_ADDRSTRLEN];
	uint32_t auth, tls;
	bool cleartext;
	size_t i;

	start(&rq, KSMTP_CMD_CONFIG_GET, 0);
	transact(&rq);
	cfg = rq.a.cfg;
	addr_str(cfg[KSMTP_A_CFG_SERVER_ADDR], server, sizeof(server));
	auth = cfg[KSMTP_A_CFG_AUTH] ? nla_get_u32(cfg[KSMTP_A_CFG_AUTH]) : 0;
	if (auth > KSMTP_AUTH_MAX)
		auth = 0;
	tls = cfg[KSMTP_A_CFG_TLS] ? nla_get_u32(cfg[KSMTP_A_CFG_TLS]) : 0;
	if (tls > KSMTP_TLS_MAX)
		tls = 0;
	cleartext = cfg[KSMTP_A_CFG_AUTH_CLEARTEXT] &&
		    nla_get_u8(cfg[KSMTP_A_CFG_AUTH_CLEARTEXT]);
	if (json) {
		printf("{\"configured\": %s, \"server\": ",
		       cfg[KSMTP_A_CFG_CONFIGURED] &&
		       nla_get_u8(cfg[KSMTP_A_CFG_CONFIGURED]) ? "true" : "false");
		json_str(server);
		printf(", \"port\": %u, \"from\": ", nla_get_u16(cfg[KSMTP_A_CFG_PORT]));
		json_str(get_str(cfg[KSMTP_A_CFG_FROM]));
		printf(", \"rcpt\": ");
		json_str(get_str(cfg[KSMTP_A_CFG_RCPT]));
		printf(", \"domain\": ");
		json_str(get_str(cfg[KSMTP_A_CFG_DOMAIN]));
		printf(", \"auth\": \"%s\", \"user\": ", auth_names[auth]);
		json_str(get_str(cfg[KSMTP_A_CFG_USERNAME]));
		printf(", \"password_set\": %s, \"helo_only\": %s",
		       nla_get_u8(cfg[KSMTP_A_CFG_PASSWORD_SET]) ? "true" : "false",
		       nla_get_u8(cfg[KSMTP_A_CFG_HELO_ONLY]) ? "true" : "false");
		printf(", \"tls\": \"%s\", \"tls_name\": ", tls_names[tls]);
		json_str(get_str(cfg[KSMTP_A_CFG_TLS_NAME]));
		printf(", \"ca_file\": ");
		json_str(get_str(cfg[KSMTP_A_CFG_TLS_CA_FILE]));
		printf(", \"auth_cleartext\": %s", cleartext ? "true" : "false");
		printf(", \"timeouts_ms\": {");
		for (i = 0; i < 5; i++)
			printf("%s\"%s\": %u", i ? ", " : "", timeouts[i].name,
			       nla_get_u32(cfg[timeouts[i].attr]));
		printf("}, \"queue\": {\"max\": %u, \"bytes\": %u, \"retry_max\": %u, "
		       "\"retry_age_s\": %u, \"retry_base_ms\": %u, \"coalesce_ms\": %u}}\n",
		       nla_get_u32(cfg[KSMTP_A_CFG_QUEUE_MAX]),
		       nla_get_u32(cfg[KSMTP_A_CFG_QUEUE_BYTES]),
		       nla_get_u32(cfg[KSMTP_A_CFG_RETRY_MAX]),
		       nla_get_u32(cfg[KSMTP_A_CFG_RETRY_AGE]),
		       nla_get_u32(cfg[KSMTP_A_CFG_RETRY_BASE_MS]),
		       nla_get_u32(cfg[KSMTP_A_CFG_COALESCE_MS]));
		return 0;
	}
	printf("server:     %s port %u%s\n", server[0] ? server : "(not set)",
	       nla_get_u16(cfg[KSMTP_A_CFG_PORT]),
	       cfg[KSMTP_A_CFG_CONFIGURED] && nla_get_u8(cfg[KSMTP_A_CFG_CONFIGURED]) ?
	       "" : "  (not configured: set server and from)");
	printf("from:       %s\n", get_str(cfg[KSMTP_A_CFG_FROM]));
	printf("rcpt:       %s\n", get_str(cfg[KSMTP_A_CFG_RCPT]));
	printf("domain:     %s\n", cfg[KSMTP_A_CFG_DOMAIN] &&
	       *get_str(cfg[KSMTP_A_CFG_DOMAIN]) ? get_str(cfg[KSMTP_A_CFG_DOMAIN]) :
	       "(address literal of the connection)");
	printf("auth:       %s\n", auth_names[auth]);
	printf("user:       %s\n", get_str(cfg[KSMTP_A_CFG_USERNAME]));
	printf("password:   %s\n", nla_get_u8(cfg[KSMTP_A_CFG_PASSWORD_SET]) ?
	       "(set)" : "(none)");
	printf("helo-only:  %s\n", nla_get_u8(cfg[KSMTP_A_CFG_HELO_ONLY]) ? "on" : "off");
	printf("tls:        %s", tls_names[tls]);
	if (tls)
		printf(", server name %s, trusting %s", get_str(cfg[KSMTP_A_CFG_TLS_NAME]),
		       *get_str(cfg[KSMTP_A_CFG_TLS_CA_FILE]) ?
		       get_str(cfg[KSMTP_A_CFG_TLS_CA_FILE]) : "the system trust store");
	printf("\nauth-cleartext: %s\n", cleartext ? "on (AUTH allowed without TLS)" : "off");
	printf("timeouts:  ");
	for (i = 0; i < 5; i++)
		printf(" %s %u ms%s", timeouts[i].name, nla_get_u32(cfg[timeouts[i].attr]),
		       i < 4 ? "," : "\n");
	printf("queue:      at most %u mails, %u octets; %u attempts over %u s, first retry "
	       "after %u ms; coalesce %u ms\n",
	       nla_get_u32(cfg[KSMTP_A_CFG_QUEUE_MAX]), nla_get_u32(cfg[KSMTP_A_CFG_QUEUE_BYTES]),
	       nla_get_u32(cfg[KSMTP_A_CFG_RETRY_MAX]), nla_get_u32(cfg[KSMTP_A_CFG_RETRY_AGE]),
	       nla_get_u32(cfg[KSMTP_A_CFG_RETRY_BASE_MS]),
	       nla_get_u32(cfg[KSMTP_A_CFG_COALESCE_MS]));
	return 0;
}

/* ---- send ---- */

/* The body goes in parts of this size (an attribute holds at most 64 KiB). */
#define BODY_PART 60000

static const char send_help[] =
	"usage: ksmtpctl send [to ADDR] [subject TEXT] [priority low|normal|high]\n"
	"                     [body-file PATH|-] [queue] [-j]\n"
	"Send one mail through the kernel's default client and wait for the outcome.\n"
	"The body comes from body-file, or from stdin (at most 1 MiB). 'to' takes one\n"
	"address or up to 16 separated by commas (one mail to all). Without 'to',\n"
	"the configured default recipient is used. Exit status 0 when the server\n"
	"accepted the mail; 1 with the failed phase and the server's reply if not.\n"
	"With 'queue', the mail goes into the kernel's queue instead (retried on\n"
	"transient failures): its id is printed at once, its fate comes as events\n"
	"(ksmtpctl monitor).\n";

/* @tb: the attributes of a KSMTP_A_RESULT nest. */
static void print_result(FILE *f, struct nlattr **tb, bool json)
{
	uint32_t err = tb[KSMTP_A_RES_ERRNO] ? nla_get_u32(tb[KSMTP_A_RES_ERRNO]) : 0;
	uint32_t phase = tb[KSMTP_A_RES_PHASE] ? nla_get_u32(tb[KSMTP_A_RES_PHASE]) : 0;
	uint32_t code = tb[KSMTP_A_RES_CODE] ? nla_get_u32(tb[KSMTP_A_RES_CODE]) : 0;
	bool transient = tb[KSMTP_A_RES_TRANSIENT] && nla_get_u8(tb[KSMTP_A_RES_TRANSIENT]);
	bool unknown = tb[KSMTP_A_RES_UNKNOWN] && nla_get_u8(tb[KSMTP_A_RES_UNKNOWN]);

	if (phase > KSMTP_PHASE_MAX)
		phase = 0;
	if (json) {
		fprintf(f, "{\"ok\": %s, \"errno\": %u, \"error\": ", err ? "false" : "true", err);
		json_fstr(f, err ? strerror(err) : "");
		fprintf(f, ", \"phase\": \"%s\", \"code\": %u, \"text\": ", phase_names[phase], code);
		json_fstr(f, get_str(tb[KSMTP_A_RES_TEXT]));
		fprintf(f, ", \"reason\": ");
		json_fstr(f, get_str(tb[KSMTP_A_RES_REASON]));
		fprintf(f, ", \"transient\": %s, \"unknown\": %s, \"tls\": ",
		       transient ? "true" : "false", unknown ? "true" : "false");
		json_fstr(f, get_str(tb[KSMTP_A_RES_TLS]));
		fputc('}', f);
		return;
	}
	fprintf(f, "%s in %s: %s", err ? "failed" : "ok", phase_names[phase],
	       get_str(tb[KSMTP_A_RES_REASON]));
	if (code)
		fprintf(f, ": server said %u %s", code, get_str(tb[KSMTP_A_RES_TEXT]));
	fprintf(f, " (%s, %s)", strerror(err),
	       unknown ? "may have been delivered" : transient ? "transient" : "permanent");
	if (tb[KSMTP_A_RES_TLS])
		fprintf(f, " over %s", get_str(tb[KSMTP_A_RES_TLS]));
}

static void on_send_msg(struct request *rq, struct attrs *a)
{
	uint64_t id;

	(void)rq;
	if (!a->mail[KSMTP_A_MAIL_ID])
		return;
	id = nla_get_u64(a->mail[KSMTP_A_MAIL_ID]);
	if (!a->res[KSMTP_A_RES_ERRNO]) {
		send_id = id;
		send_id_known = true;
		return;
	}
	/* The outcome may come before the ack: keep it until the id is known. */
	if (!send_result) {
		send_result = send_current;
		nlmsg_get(send_result);
	}
}

static bool send_pending(struct request *rq)
{
	struct attrs a;
	uint64_t id;

	(void)rq;
	if (family_gone)
		return false;
	if (!send_result)
		return true;
	parse_msg(&a, send_result);
	id = nla_get_u64(a.mail[KSMTP_A_MAIL_ID]);
	if (send_id_known && id != send_id) {
		nlmsg_free(send_result);
		send_result = NULL;
		return true;
	}
	return !send_id_known;
}

static int cmd_send(int argc, char **argv)
{
	const char *to = NULL, *subject = "ksmtp test message", *body_path = "-";
	struct request rq = {};
	bool json = false, queue = false;
	int i, prio = KSMTP_PRIO_NORMAL;
	struct nlattr *mail, **res;
	size_t len, off, part, meta;
	char *body;
	uint32_t err;

	for (i = 1; i < argc; i++) {
		const char *k = argv[i];

		if (!strcmp(k, "-j") || !strcmp(k, "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(k, "queue")) {
			queue = true;
			continue;
		}
		if (i + 1 >= argc)
			usage_die("send: '%s' needs a value", k);
		if (!strcmp(k, "to")) {
			to = argv[++i];
		} else if (!strcmp(k, "subject")) {
			subject = argv[++i];
		} else if (!strcmp(k, "body-file")) {
			body_path = argv[++i];
		} else if (!strcmp(k, "priority")) {
			prio = lookup(argv[++i], prio_names, KSMTP_PRIO_MAX + 1);
			if (prio < 0)
				usage_die("priority: '%s' is not low, normal or high", argv[i]);
		} else {
			usage_die("send: unknown key '%s'", k);
		}
	}
	body = slurp(body_path, KSMTP_BODY_MAX, &len);
	start(&rq, KSMTP_CMD_SEND, len + len / BODY_PART * 2 * NLA_HDRLEN + 4096);
	/* A netlink attribute holds at most 64 KiB, a nest too: the body goes
	 * in parts, each in a KSMTP_A_MAIL nest of its own but the last, which
	 * goes in the last nest with the rest of the mail (the whole of a body
	 * of up to BODY_PART octets, and an empty one: one nest in all).
	 */
	meta = (to ? (size_t)nla_total_size(strlen(to) + 1) : 0) +
	       (size_t)nla_total_size(strlen(subject) + 1) + (size_t)nla_total_size(4) +
	       (queue ? (size_t)nla_total_size(1) : 0);
	for (off = 0; off < len && (len - off > BODY_PART ||
				    NLA_HDRLEN + meta + nla_total_size(len - off) > 0xffff);
	     off += part) {
		part = len - off < BODY_PART ? len - off : BODY_PART;
		mail = start_nest(rq.msg, KSMTP_A_MAIL);
		if (nla_put(rq.msg, KSMTP_A_MAIL_BODY, part, body + off))
			die("out of memory");
		end_nest(rq.msg, mail);
	}
	mail = start_nest(rq.msg, KSMTP_A_MAIL);
	if (to)
		nla_put_string(rq.msg, KSMTP_A_MAIL_RCPT, to);
	nla_put_string(rq.msg, KSMTP_A_MAIL_SUBJECT, subject);
	nla_put_u32(rq.msg, KSMTP_A_MAIL_PRIORITY, prio);
	if (queue)
		nla_put_u8(rq.msg, KSMTP_A_MAIL_QUEUE, 1);
	if ((off < len || !len) && nla_put(rq.msg, KSMTP_A_MAIL_BODY, len - off, body + off))
		die("out of memory");
	end_nest(rq.msg, mail);
	free(body);
	if (queue) {
		transact(&rq);
		if (!rq.reply)
			die("no reply from the kernel");
	} else {
		/* The kernel answers with the mail's id at once; the outcome
		 * follows when the session is over, as a message of its own
		 * (after the ack, so not in sequence: matched by id).
		 */
		int grp;

		/* Hear it if the module goes before the outcome comes. */
		grp = genl_ctrl_resolve_grp(rq.sk, "nlctrl", "notify");
		if (grp >= 0)
			nl_socket_add_membership(rq.sk, grp);
		rq.each = on_send_msg;
		transact_until(&rq, send_pending);
		if (!send_result)
			die("the kernel module went away before the outcome of mail %llu: it may or may not have been sent",
			    (unsigned long long)send_id);
		parse_msg(&rq.a, send_result);
	}
	if (queue) {
		unsigned long long id = rq.a.mail[KSMTP_A_MAIL_ID] ?
					nla_get_u64(rq.a.mail[KSMTP_A_MAIL_ID]) : 0;

		if (json)
			printf("{\"queued\": true, \"id\": %llu}\n", id);
		else
			printf("queued as %llu\n", id);
		return 0;
	}
	res = rq.a.res;
	err = res[KSMTP_A_RES_ERRNO] ? nla_get_u32(res[KSMTP_A_RES_ERRNO]) : EPROTO;
	if (json) {
		print_result(stdout, res, true);
		putchar('\n');
	} else if (err) {
		fprintf(stderr, "%s: send ", prog);
		print_result(stderr, res, false);
		fputc('\n', stderr);
	} else {
		if (res[KSMTP_A_RES_TLS])
			printf("sent over %s\n", get_str(res[KSMTP_A_RES_TLS]));
		else
			printf("sent\n");
		if (res[KSMTP_A_RES_CODE] && nla_get_u32(res[KSMTP_A_RES_CODE]))
			fprintf(stderr, "%s: %s: server said %u %s\n", prog,
				get_str(res[KSMTP_A_RES_REASON]),
				nla_get_u32(res[KSMTP_A_RES_CODE]),
				get_str(res[KSMTP_A_RES_TEXT]));
	}
	return err ? 1 : 0;
}

/* ---- stats ---- */

static const char stats_help[] =
	"usage: ksmtpctl stats [-j]\n"
	"Print how many mails were sent and failed, failures by phase, and the\n"
	"last failure. -j prints JSON.\n";

static uint64_t get_u64(struct nlattr *a)
{
	return a ? nla_get_u64(a) : 0;
}

static int cmd_stats(int argc, char **argv)
{
	bool json = want_json(argc, argv, stats_help);
	struct nlattr *phases[KSMTP_PHASE_MAX + 1] = {};
	struct request rq = {};
	struct nlattr **st;
	int i;

	start(&rq, KSMTP_CMD_STATS_GET, 0);
	transact(&rq);
	st = rq.a.stats;
	if (st[KSMTP_A_STATS_FAILED_PHASE])
		nla_parse_nested(phases, KSMTP_PHASE_MAX, st[KSMTP_A_STATS_FAILED_PHASE], NULL);
	if (json) {
		printf("{\"sent\": %llu, \"failed_transient\": %llu, \"failed_permanent\": %llu",
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_SENT]),
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_FAILED_TRANSIENT]),
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_FAILED_PERMANENT]));
		printf(", \"failed_by_phase\": {");
		for (i = 1; i <= KSMTP_PHASE_MAX; i++)
			printf("%s\"%s\": %llu", i > 1 ? ", " : "", phase_names[i],
			       (unsigned long long)get_u64(phases[i]));
		printf("}, \"queue\": {\"queued\": %llu, \"retried\": %llu, \"expired\": %llu, "
		       "\"dropped\": %llu, \"coalesced\": %llu, \"refused\": %llu, "
		       "\"length\": %llu, \"bytes\": %llu",
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_QUEUED]),
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_RETRIED]),
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_EXPIRED]),
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_DROPPED]),
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_COALESCED]),
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_REFUSED]),
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_QUEUE_LEN]),
		       (unsigned long long)get_u64(st[KSMTP_A_STATS_QUEUE_BYTES]));
		printf("}, \"last_error\": ");
		if (rq.a.res[KSMTP_A_RES_ERRNO])
			print_result(stdout, rq.a.res, true);
		else
			printf("null");
		printf("}\n");
		return 0;
	}
	printf("sent:              %llu\n", (unsigned long long)get_u64(st[KSMTP_A_STATS_SENT]));
	printf("failed transient:  %llu\n",
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_FAILED_TRANSIENT]));
	printf("failed permanent:  %llu\n",
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_FAILED_PERMANENT]));
	printf("failed by phase:  ");
	for (i = 1; i <= KSMTP_PHASE_MAX; i++)
		printf(" %s %llu%s", phase_names[i], (unsigned long long)get_u64(phases[i]),
		       i < KSMTP_PHASE_MAX ? "," : "\n");
	printf("queue:             %llu queued, %llu retried, %llu expired, %llu dropped, "
	       "%llu coalesced, %llu refused; now %llu mails, %llu octets\n",
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_QUEUED]),
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_RETRIED]),
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_EXPIRED]),
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_DROPPED]),
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_COALESCED]),
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_REFUSED]),
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_QUEUE_LEN]),
	       (unsigned long long)get_u64(st[KSMTP_A_STATS_QUEUE_BYTES]));
	if (rq.a.res[KSMTP_A_RES_ERRNO]) {
		printf("last error:        ");
		print_result(stdout, rq.a.res, false);
		putchar('\n');
	}
	return 0;
}

/* ---- queue ---- */

static const char queue_help[] =
	"usage: ksmtpctl queue [-j]\n"
	"       ksmtpctl queue flush\n"
	"       ksmtpctl queue retry-now\n"
	"List the mails waiting in this namespace's queue; drop them all (each\n"
	"reported as dropped); or retry them all now. flush and retry-now need\n"
	"CAP_NET_ADMIN.\n";

static const char *str_or(struct nlattr *a, const char *dflt)
{
	return a ? nla_get_string(a) : dflt;
}

static uint32_t u32_or0(struct nlattr *a)
{
	return a ? nla_get_u32(a) : 0;
}

static void print_qmail(struct request *rq, struct attrs *a)
{
	struct nlattr **qe = a->qe, **res = a->res;
	unsigned long long id = qe[KSMTP_A_QE_ID] ? nla_get_u64(qe[KSMTP_A_QE_ID]) : 0;

	if (rq->json) {
		printf("%s{\"id\": %llu, \"rcpt\": ", rq->seen ? ", " : "", id);
		json_str(str_or(qe[KSMTP_A_QE_RCPT], ""));
		printf(", \"subject\": ");
		json_str(str_or(qe[KSMTP_A_QE_SUBJECT], ""));
		printf(", \"attempts\": %u, \"repeats\": %u, \"age_ms\": %u, \"next_ms\": %u, "
		       "\"last_error\": ", u32_or0(qe[KSMTP_A_QE_ATTEMPTS]),
		       u32_or0(qe[KSMTP_A_QE_REPEATS]), u32_or0(qe[KSMTP_A_QE_AGE_MS]),
		       u32_or0(qe[KSMTP_A_QE_NEXT_MS]));
		if (res[KSMTP_A_RES_ERRNO])
			print_result(stdout, res, true);
		else
			printf("null");
		printf("}");
		return;
	}
	printf("%-6llu to %s, \"%s\", %u attempts, %u repeats, age %u ms, next in %u ms",
	       id, str_or(qe[KSMTP_A_QE_RCPT], "(default)"),
	       str_or(qe[KSMTP_A_QE_SUBJECT], ""), u32_or0(qe[KSMTP_A_QE_ATTEMPTS]),
	       u32_or0(qe[KSMTP_A_QE_REPEATS]), u32_or0(qe[KSMTP_A_QE_AGE_MS]),
	       u32_or0(qe[KSMTP_A_QE_NEXT_MS]));
	if (res[KSMTP_A_RES_ERRNO]) {
		printf("; last: ");
		print_result(stdout, res, false);
	}
	putchar('\n');
}

static int cmd_queue(int argc, char **argv)
{
	struct request rq = {};

	if (argc == 2 && !strcmp(argv[1], "flush")) {
		start(&rq, KSMTP_CMD_QUEUE_FLUSH, 0);
		transact(&rq);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "retry-now")) {
		start(&rq, KSMTP_CMD_QUEUE_RETRY, 0);
		transact(&rq);
		return 0;
	}
	rq.json = want_json(argc, argv, queue_help);
	rq.each = print_qmail;
	open_family(&rq);
	rq.msg = nlmsg_alloc();
	if (!rq.msg || !genlmsg_put(rq.msg, NL_AUTO_PORT, NL_AUTO_SEQ, rq.family, 0,
				    NLM_F_DUMP, KSMTP_CMD_QUEUE_GET, KSMTP_GENL_VERSION))
		die("out of memory");
	if (rq.json)
		printf("[");
	transact(&rq);
	if (rq.json)
		printf("]\n");
	else if (!rq.seen)
		printf("the queue is empty\n");
	return 0;
}

/* ---- monitor ---- */

static const char monitor_help[] =
	"usage: ksmtpctl monitor [-j]\n"
	"Print the queue's events as they happen: a mail queued, retried (why,\n"
	"and when next), and how it ended (sent, failed, expired, dropped,\n"
	"coalesced), with the server's reply. -j prints one JSON object a line.\n";

static int on_event(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct request *rq = arg;
	struct nlattr **qe = rq->a.qe, **res = rq->a.res;
	static const char * const types[] = { "queued", "retry", "end" };
	uint32_t type, end;
	unsigned long long id;
	const char *what;

	if (gh->cmd != KSMTP_CMD_EVENT)
		return NL_OK;
	parse_msg(&rq->a, msg);
	type = u32_or0(rq->a.ev[KSMTP_A_EV_TYPE]);
	end = u32_or0(rq->a.ev[KSMTP_A_EV_END]);
	id = qe[KSMTP_A_QE_ID] ? nla_get_u64(qe[KSMTP_A_QE_ID]) : 0;
	if (type > KSMTP_EV_END || end > KSMTP_END_MAX)
		return NL_OK;
	what = type == KSMTP_EV_END ? end_names[end] : types[type];
	if (rq->json) {
		printf("{\"event\": \"%s\", \"id\": %llu, \"rcpt\": ", what, id);
		json_str(str_or(qe[KSMTP_A_QE_RCPT], ""));
		printf(", \"subject\": ");
		json_str(str_or(qe[KSMTP_A_QE_SUBJECT], ""));
		printf(", \"attempts\": %u, \"repeats\": %u", u32_or0(qe[KSMTP_A_QE_ATTEMPTS]),
		       u32_or0(qe[KSMTP_A_QE_REPEATS]));
		if (type == KSMTP_EV_RETRY)
			printf(", \"next_ms\": %u", u32_or0(qe[KSMTP_A_QE_NEXT_MS]));
		if (res[KSMTP_A_RES_ERRNO]) {
			printf(", \"result\": ");
			print_result(stdout, res, true);
		}
		printf("}\n");
	} else {
		printf("%-9s id %llu to %s \"%s\" attempts %u", what, id,
		       str_or(qe[KSMTP_A_QE_RCPT], "(default)"),
		       str_or(qe[KSMTP_A_QE_SUBJECT], ""), u32_or0(qe[KSMTP_A_QE_ATTEMPTS]));
		if (u32_or0(qe[KSMTP_A_QE_REPEATS]))
			printf(" repeats %u", u32_or0(qe[KSMTP_A_QE_REPEATS]));
		if (type == KSMTP_EV_RETRY)
			printf(" next in %u ms", u32_or0(qe[KSMTP_A_QE_NEXT_MS]));
		if (res[KSMTP_A_RES_ERRNO] && (type != KSMTP_EV_END || end != KSMTP_END_SENT)) {
			printf(": ");
			print_result(stdout, res, false);
		}
		putchar('\n');
	}
	fflush(stdout);
	return NL_OK;
}

static int cmd_monitor(int argc, char **argv)
{
	struct request rq = {};
	int grp, err;

	rq.json = want_json(argc, argv, monitor_help);
	open_family(&rq);
	grp = genl_ctrl_resolve_grp(rq.sk, KSMTP_GENL_NAME, KSMTP_MCGRP_EVENTS);
	if (grp < 0)
		die("no multicast group '%s': %s", KSMTP_MCGRP_EVENTS, nl_geterror(grp));
	err = nl_socket_add_membership(rq.sk, grp);
	if (err)
		die("cannot join the events group: %s", nl_geterror(err));
	nl_socket_disable_seq_check(rq.sk);
	nl_socket_modify_cb(rq.sk, NL_CB_VALID, NL_CB_CUSTOM, on_event, &rq);
	/* Room for bursts (a flush, an unload): 8 MiB where allowed. */
	if (setsockopt(nl_socket_get_fd(rq.sk), SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 8 << 20 },
		       sizeof(int)))
		setsockopt(nl_socket_get_fd(rq.sk), SOL_SOCKET, SO_RCVBUF, &(int){ 8 << 20 },
			   sizeof(int));
	fprintf(stderr, "%s: monitoring the ksmtp queue's events (Ctrl-C ends)\n", prog);
	for (;;) {
		err = nl_recvmsgs_default(rq.sk);
		if (err == -NLE_NOMEM) {
			/* ENOBUFS: the kernel had to drop events for us. */
			fprintf(stderr, "%s: events were lost (receive buffer overrun)\n", prog);
			continue;
		}
		if (err < 0 && err != -NLE_INTR)
			die("netlink: %s", nl_geterror(err));
	}
}

/* ---- main ---- */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
	const char *summary;
} commands[] = {
	{ "set", cmd_set, set_help, "change the configuration" },
	{ "config", cmd_set, set_help, "the same as set" },
	{ "show", cmd_show, show_help, "print the configuration" },
	{ "send", cmd_send, send_help, "send a mail and print the outcome" },
	{ "stats", cmd_stats, stats_help, "print the statistics" },
	{ "queue", cmd_queue, queue_help, "list, flush or retry the queue" },
	{ "monitor", cmd_monitor, monitor_help, "print the queue's events live" },
};

static void help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: %s COMMAND [ARGS]  (%s COMMAND --help for more)\n"
		"Configure and use ksmtp, the in-kernel SMTP client.\n", prog, prog);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	size_t i;
	int j;

	if (argc < 2) {
		help(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		help(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		for (j = 2; j < argc; j++) {
			if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
				fputs(commands[i].help, stdout);
				return 0;
			}
		}
		return commands[i].fn(argc - 1, argv + 1);
	}
	usage_die("unknown command '%s'", argv[1]);
}
