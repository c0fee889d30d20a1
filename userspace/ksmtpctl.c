// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtpctl: configure the in-kernel SMTP client (ksmtp.ko) over its
 * generic netlink family, from the command line (set) or from a file
 * (setconf, showconf: wg(8)'s habits), show its configuration, statistics
 * and queue, and send a mail.
 *
 * Everything a command is given is checked before the kernel is asked
 * (a usage error exits 2 without a netlink socket ever being opened); what
 * the kernel refuses, or a mail that fails, exits 1. JSON comes from
 * json-c, every string first made valid UTF-8.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <linux/netlink.h>
#include <json-c/json.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <linux/ksmtp.h>

#include "nlack.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef KSMTP_VERSION
#define KSMTP_VERSION "unknown"
#endif
/* Where `setconf -a` finds its files (*.conf, in sorted order). */
#ifndef KSMTP_CONF_DIR
#define KSMTP_CONF_DIR "/etc/ksmtp"
#endif
#define NETNS_DIR "/run/netns"

/* A configuration file, and a file holding a password, at most. */
#define CONF_MAX (256 * 1024)

static const char *prog = "ksmtpctl";
static bool opt_json;		/* -j, before the command or in it */
static const char *batch_where;	/* "FILE:LINE" of the -batch line being run */

/* The names ksmtpctl gives the attributes it sends (its own keys), by set. */
static const char * const cfg_names[KSMTP_A_CFG_MAX + 1] = {
	[KSMTP_A_CFG_SERVER_ADDR] = "server",
	[KSMTP_A_CFG_SERVER_NAME] = "server",
	[KSMTP_A_CFG_PORT] = "port",
	[KSMTP_A_CFG_USERNAME] = "user",
	[KSMTP_A_CFG_PASSWORD] = "password",
	[KSMTP_A_CFG_PASSWORD_FILE] = "password-file",
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
	[KSMTP_A_CFG_REPLACE] = "replace",
	[KSMTP_A_CFG_SEND_GID] = "send-group",
	[KSMTP_A_CFG_KLOG] = "klog",
	[KSMTP_A_CFG_KLOG_LEVEL] = "klog-level",
	[KSMTP_A_CFG_KLOG_CONTEXT] = "klog-context",
	[KSMTP_A_CFG_KLOG_WINDOW_MS] = "klog-window-ms",
	[KSMTP_A_CFG_KLOG_PER_HOUR] = "klog-per-hour",
};

static const char * const mail_names[KSMTP_A_MAIL_MAX + 1] = {
	[KSMTP_A_MAIL_RCPT] = "to",
	[KSMTP_A_MAIL_SUBJECT] = "subject",
	[KSMTP_A_MAIL_PRIORITY] = "priority",
	[KSMTP_A_MAIL_BODY] = "body",
	[KSMTP_A_MAIL_HEADERS] = "headers",
	[KSMTP_A_MAIL_ENVELOPE_FROM] = "-f",
	[KSMTP_A_MAIL_FROM_NAME] = "-F",
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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void vsay(const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	if (batch_where)
		fprintf(stderr, "%s: ", batch_where);
	vfprintf(stderr, fmt, ap);
}

/* A runtime failure: exit 1. */
static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A usage error, found before the kernel is asked anything: exit 2. */
static void __attribute__((noreturn, format(printf, 1, 2))) usage_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see '%s --help')\n", prog);
	exit(2);
}

/* ---- JSON (json-c) ---- */

/* @s with each octet that is not part of valid UTF-8 (a stray continuation
 * octet, a cut or overlong sequence, a surrogate, beyond U+10FFFF) replaced
 * by U+FFFD: json-c copies octets as they are. Control characters are
 * valid UTF-8; json-c escapes them (\u00XX).
 */
static char *utf8_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		die("out of memory");
	while (*p) {
		unsigned int len, i;
		uint32_t cp, min;

		if (*p < 0x80) {
			*o++ = *p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			len = 2;
			cp = *p & 0x1f;
			min = 0x80;
		} else if ((*p & 0xf0) == 0xe0) {
			len = 3;
			cp = *p & 0x0f;
			min = 0x800;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			len = 4;
			cp = *p & 0x07;
			min = 0x10000;
		} else {
			goto bad;
		}
		/* stops at the first octet that does not continue (the NUL too) */
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto bad;
		memcpy(o, p, len);
		o += len;
		p += len;
		continue;
bad:
		memcpy(o, "\xef\xbf\xbd", 3);
		o += 3;
		p++;
	}
	*o = '\0';
	return out;
}

static struct json_object *jcheck(struct json_object *o)
{
	if (!o)
		die("out of memory");
	return o;
}

static struct json_object *jstr(const char *s)
{
	char *clean = utf8_clean(s ? s : "");
	struct json_object *o = jcheck(json_object_new_string(clean));

	free(clean);
	return o;
}

static struct json_object *jobj(void)
{
	return jcheck(json_object_new_object());
}

static struct json_object *jarr(void)
{
	return jcheck(json_object_new_array());
}

static struct json_object *jbool(bool v)
{
	return jcheck(json_object_new_boolean(v));
}

static struct json_object *ju64(uint64_t v)
{
	return jcheck(json_object_new_uint64(v));
}

static void jset(struct json_object *o, const char *key, struct json_object *v)
{
	/* a NULL @v is JSON's null */
	if (json_object_object_add(o, key, v))
		die("out of memory");
}

static void jpush(struct json_object *a, struct json_object *v)
{
	if (json_object_array_add(a, v))
		die("out of memory");
}

/* Print @o on one line, and drop it. */
static void jprint(FILE *f, struct json_object *o)
{
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE), f);
	fputc('\n', f);
	json_object_put(o);
}

/* "a@x, b@y" as ["a@x", "b@y"] (commas and blanks separate). */
static struct json_object *jrcpts(const char *list)
{
	struct json_object *a = jarr();
	const char *p = list ? list : "";

	for (;;) {
		size_t n;
		char *one;

		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (!n)
			break;
		one = strndup(p, n);
		if (!one)
			die("out of memory");
		jpush(a, jstr(one));
		free(one);
		p += n;
	}
	return a;
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
	struct nl_msg *msg;
	struct attrs a;
	struct nl_msg *reply;
	void (*each)(struct request *rq, struct attrs *a);
	struct json_object *list;	/* what each() collects for -j */
	int seen;
	bool done;
	int err;
	int bad_nest, bad_attr;		/* the attribute the kernel refused, or 0 */
	char errmsg[512];		/* the kernel's reason */
};

/* One socket for the process (and for all the lines of a -batch file),
 * opened at the first request, never before the command line is checked.
 */
static struct nl_sock *nl_sk;
static int nl_family;

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

static void nl_open(void)
{
	int one = 1, big = 4 << 20;

	if (nl_sk)
		return;
	nl_sk = nl_socket_alloc();
	if (!nl_sk)
		die("out of memory");
	if (genl_connect(nl_sk))
		die("cannot open a generic netlink socket");
	/* The kernel's reason for a refusal, and no echo of a 1 MiB body. */
	setsockopt(nl_socket_get_fd(nl_sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl_sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(nl_socket_get_fd(nl_sk), SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		setsockopt(nl_socket_get_fd(nl_sk), SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	nl_socket_enable_msg_peek(nl_sk);
	nl_family = genl_ctrl_resolve(nl_sk, KSMTP_GENL_NAME);
	if (nl_family < 0)
		die("generic netlink family '%s' not found: is ksmtp.ko loaded?", KSMTP_GENL_NAME);
}

/* A request, built before any socket is opened (the family's id is filled
 * in when it is sent).
 */
static void rq_init(struct request *rq, uint8_t cmd, int flags, size_t extra)
{
	memset(rq, 0, sizeof(*rq));
	rq->msg = nlmsg_alloc_size(extra + 65536);
	if (!rq->msg || !genlmsg_put(rq->msg, NL_AUTO_PORT, NL_AUTO_SEQ, 0, 0, flags, cmd,
				     KSMTP_GENL_VERSION))
		die("out of memory");
}

static void rq_free(struct request *rq)
{
	if (rq->reply)
		nlmsg_free(rq->reply);
	nlmsg_free(rq->msg);
	rq->reply = NULL;
	rq->msg = NULL;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	if (nlmsg_hdr(msg)->nlmsg_type != nl_family) {
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
	if (rq->reply)
		nlmsg_free(rq->reply);
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

/* Which attribute of our own request is at @offs (the ack does not echo
 * it): one inside a nest of the top level (a nest itself has none).
 */
static void attr_at(struct request *rq, uint32_t offs)
{
	struct nlmsghdr *nlh = nlmsg_hdr(rq->msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *nest, *a;
	int rem, rem2;

	nla_for_each_attr(nest, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), rem) {
		nla_for_each_nested(a, nest, rem2) {
			if ((char *)a - (char *)nlh != (long)offs)
				continue;
			rq->bad_nest = nla_type(nest);
			rq->bad_attr = nla_type(a);
			return;
		}
	}
}

/* Our name for the attribute the kernel refused, or NULL. */
static const char *bad_name(struct request *rq)
{
	if (rq->bad_nest == KSMTP_A_CONFIG && rq->bad_attr > 0 && rq->bad_attr <= KSMTP_A_CFG_MAX)
		return cfg_names[rq->bad_attr];
	if (rq->bad_nest == KSMTP_A_MAIL && rq->bad_attr > 0 && rq->bad_attr <= KSMTP_A_MAIL_MAX)
		return mail_names[rq->bad_attr];
	return NULL;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct request *rq = arg;
	const char *text;
	uint32_t offs;

	(void)nla;
	rq->err = e->error;
	rq->done = true;
	nlack_parse(e, &text, &offs);
	if (offs)
		attr_at(rq, offs);
	snprintf(rq->errmsg, sizeof(rq->errmsg), "%s", text ? text : strerror(-e->error));
	return NL_STOP;
}

static int seq_any(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

/* Send the request, wait for its reply and ack, and then for as long as
 * @more says. Returns 0, or the kernel's error (its reason in rq->errmsg,
 * the attribute in rq->bad_nest and rq->bad_attr); dies on any other
 * failure.
 */
static int transact_err(struct request *rq, bool (*more)(struct request *rq))
{
	struct nl_cb *cb;
	int err;

	nl_open();
	nlmsg_hdr(rq->msg)->nlmsg_type = nl_family;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		die("out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, rq);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, rq);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_ack, rq);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, rq);
	/* What follows the ack is not in sequence: the caller matches it. */
	if (more)
		nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, seq_any, NULL);
	err = nl_send_auto(nl_sk, rq->msg);
	if (err < 0)
		die("cannot send the request: %s", nl_geterror(err));
	while (!rq->done || (!rq->err && more && more(rq))) {
		err = nl_recvmsgs(nl_sk, cb);
		if (err < 0 && (!rq->done || (more && !rq->err)))
			die("netlink: %s", nl_geterror(err));
	}
	nl_cb_put(cb);
	return rq->err;
}

/* Print the kernel's refusal of @rq and exit 1. */
static void __attribute__((noreturn)) refused(struct request *rq)
{
	const char *attr = bad_name(rq);

	die("kernel refused: %s%s%s%s%s", rq->errmsg,
	    attr ? " (attribute '" : "", attr ? attr : "", attr ? "')" : "",
	    rq->err == -EPERM && !strstr(rq->errmsg, "CAP_NET_ADMIN") ?
	    " (this needs CAP_NET_ADMIN)" : "");
}

static void transact_until(struct request *rq, bool (*more)(struct request *rq))
{
	if (transact_err(rq, more))
		refused(rq);
}

static void transact(struct request *rq)
{
	transact_until(rq, NULL);
}

/* A request without attributes, and its reply. */
static void simple(struct request *rq, uint8_t cmd)
{
	rq_init(rq, cmd, 0, 0);
	transact(rq);
}

/* ---- helpers ---- */

static int lookup(const char *word, const char * const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcasecmp(word, names[i]))
			return i;
	return -1;
}

/* A decimal number from 0 to @max, or false. */
static bool parse_number(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return !errno && !*end && *v <= max;
}

/* Read all of @fd (named @path in messages), at most @max octets (one more
 * is read, to tell); NUL-terminated.
 */
static char *slurp_fd(int fd, const char *path, size_t max, size_t *len)
{
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap + 1);
	ssize_t r;

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
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("%s: %s", path, strerror(errno));
		if (!r)
			break;
		n += r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Open @path ('-': stdin) for reading, or die. */
static int open_in(const char *path)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(0);

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	return fd;
}

/* Read a whole file ('-': stdin) of at most @max octets (+1 to tell). */
static char *slurp(const char *path, size_t max, size_t *len)
{
	int fd = open_in(path);
	char *buf = slurp_fd(fd, path, max, len);

	close(fd);
	return buf;
}

/*
 * A file that holds a password (a configuration file with "password =",
 * or a password file) must belong to root or to the user running ksmtpctl,
 * and give group and others no permission at all (mode 0600 or 0400), as
 * ssh asks of a private key. NULL when @fd's file is such a one, else why
 * not.
 */
static const char *secret_file_problem(int fd)
{
	static char why[160];
	struct stat st;

	if (fstat(fd, &st))
		return strerror(errno);
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(why, sizeof(why), "it belongs to uid %u, neither root nor you",
			 (unsigned int)st.st_uid);
		return why;
	}
	if (st.st_mode & 077) {
		snprintf(why, sizeof(why), "its mode %04o lets group or others in (chmod 600)",
			 (unsigned int)(st.st_mode & 07777));
		return why;
	}
	return NULL;
}

/* Strip one trailing newline (LF or CR LF) of a password read from a file,
 * stdin or the environment.
 */
static void strip_newline(char *pw, size_t *len)
{
	if (!*len || pw[*len - 1] != '\n')
		return;
	pw[--*len] = '\0';
	if (*len && pw[*len - 1] == '\r')
		pw[--*len] = '\0';
}

/* ---- the configuration's keys: set, setconf, showconf ---- */

enum key_kind {
	KEY_STR,	/* a string, as it is (an empty one clears it) */
	KEY_U32,	/* a decimal number; the kernel checks its range */
	KEY_PORT,
	KEY_BOOL,	/* on or off */
	KEY_TLS,
	KEY_AUTH,
	KEY_SERVER,	/* a host name or an address: the kernel resolves it */
	KEY_PASSWORD,	/* the password itself: configuration files only */
	KEY_PW_FILE,	/* the password from a file (set: or '-', stdin) */
	KEY_PW_ENV,	/* the password from the environment: set only */
	KEY_NAMESPACE,	/* the network namespace: configuration files only */
};

/* Every key, in the order showconf prints them. */
static const struct cfg_key {
	const char *name;
	enum key_kind kind;
	int attr;
} cfg_keys[] = {
	{ "namespace", KEY_NAMESPACE, 0 },
	{ "server", KEY_SERVER, KSMTP_A_CFG_SERVER_NAME },
	{ "port", KEY_PORT, KSMTP_A_CFG_PORT },
	{ "tls", KEY_TLS, KSMTP_A_CFG_TLS },
	{ "tls-name", KEY_STR, KSMTP_A_CFG_TLS_NAME },
	{ "ca-file", KEY_STR, KSMTP_A_CFG_TLS_CA_FILE },
	{ "from", KEY_STR, KSMTP_A_CFG_FROM },
	{ "rcpt", KEY_STR, KSMTP_A_CFG_RCPT },
	{ "domain", KEY_STR, KSMTP_A_CFG_DOMAIN },
	{ "helo-only", KEY_BOOL, KSMTP_A_CFG_HELO_ONLY },
	{ "auth", KEY_AUTH, KSMTP_A_CFG_AUTH },
	{ "user", KEY_STR, KSMTP_A_CFG_USERNAME },
	{ "password", KEY_PASSWORD, KSMTP_A_CFG_PASSWORD },
	{ "password-file", KEY_PW_FILE, KSMTP_A_CFG_PASSWORD_FILE },
	{ "password-env", KEY_PW_ENV, KSMTP_A_CFG_PASSWORD },
	{ "auth-cleartext", KEY_BOOL, KSMTP_A_CFG_AUTH_CLEARTEXT },
	{ "timeout-connect", KEY_U32, KSMTP_A_CFG_TIMEOUT_CONNECT },
	{ "timeout-greeting", KEY_U32, KSMTP_A_CFG_TIMEOUT_GREETING },
	{ "timeout-command", KEY_U32, KSMTP_A_CFG_TIMEOUT_COMMAND },
	{ "timeout-data-block", KEY_U32, KSMTP_A_CFG_TIMEOUT_DATA_BLOCK },
	{ "timeout-final-dot", KEY_U32, KSMTP_A_CFG_TIMEOUT_FINAL_DOT },
	{ "queue-max", KEY_U32, KSMTP_A_CFG_QUEUE_MAX },
	{ "queue-bytes", KEY_U32, KSMTP_A_CFG_QUEUE_BYTES },
	{ "retry-max", KEY_U32, KSMTP_A_CFG_RETRY_MAX },
	{ "retry-age", KEY_U32, KSMTP_A_CFG_RETRY_AGE },
	{ "retry-base-ms", KEY_U32, KSMTP_A_CFG_RETRY_BASE_MS },
	{ "coalesce-ms", KEY_U32, KSMTP_A_CFG_COALESCE_MS },
	{ "send-group", KEY_U32, KSMTP_A_CFG_SEND_GID },
	{ "klog", KEY_BOOL, KSMTP_A_CFG_KLOG },
	{ "klog-level", KEY_U32, KSMTP_A_CFG_KLOG_LEVEL },
	{ "klog-context", KEY_U32, KSMTP_A_CFG_KLOG_CONTEXT },
	{ "klog-window-ms", KEY_U32, KSMTP_A_CFG_KLOG_WINDOW_MS },
	{ "klog-per-hour", KEY_U32, KSMTP_A_CFG_KLOG_PER_HOUR },
};

struct setting {
	const struct cfg_key *key;
	const char *value;
	unsigned int line;	/* of the file; 0 on the command line */
	unsigned long num;	/* the value of a number, on/off, tls, auth */
};

/* A configuration from the command line (set: what it names changes) or
 * from a file (setconf: the whole configuration).
 */
struct conf {
	const char *file;	/* NULL: the command line */
	struct setting *s;
	unsigned int n;
	const char *ns;		/* namespace = */
	unsigned int ns_line;
	unsigned int pw_line;	/* of password = or password-file = */
	bool inline_pw;		/* password = */
	/* what was sent: the setting each attribute came from */
	const struct setting *from[KSMTP_A_CFG_MAX + 1];
};

/* A bad setting: on the command line a usage error (exit 2), in a file
 * "FILE:LINE: KEY: why" (exit 1).
 */
static void __attribute__((noreturn, format(printf, 4, 5)))
conf_fail(const struct conf *c, unsigned int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	if (batch_where)
		fprintf(stderr, "%s: ", batch_where);
	if (c->file)
		fprintf(stderr, "%s:%u: ", c->file, line);
	if (key)
		fprintf(stderr, "%s: ", key);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!c->file)
		fprintf(stderr, " (see '%s --help')", prog);
	fputc('\n', stderr);
	exit(c->file ? 1 : 2);
}

static const struct cfg_key *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cfg_keys); i++)
		if (!strcmp(name, cfg_keys[i].name))
			return &cfg_keys[i];
	return NULL;
}

static bool netns_name_ok(const char *s)
{
	return *s && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
	       strlen(s) <= NAME_MAX;
}

/* Check one setting's syntax and add it. */
static void conf_add(struct conf *c, const char *name, const char *v, unsigned int line)
{
	const struct cfg_key *k = find_key(name);
	struct setting *s;
	unsigned int i;
	int n;

	if (!k && c->file)
		conf_fail(c, line, name, "unknown key");
	if (!k)
		usage_die("set: unknown key '%s'", name);
	if (c->file) {
		for (i = 0; i < c->n; i++)
			if (c->s[i].key == k)
				conf_fail(c, line, name, "given twice (first on line %u)",
					  c->s[i].line);
	}
	s = realloc(c->s, (c->n + 1) * sizeof(*s));
	if (!s)
		die("out of memory");
	c->s = s;
	s = &c->s[c->n++];
	*s = (struct setting){ .key = k, .value = v, .line = line };
	switch (k->kind) {
	case KEY_U32:
		if (!parse_number(v, UINT32_MAX, &s->num))
			conf_fail(c, line, name, "'%s' is not a number from 0 to %u", v,
				  UINT32_MAX);
		break;
	case KEY_PORT:
		if (!parse_number(v, 65535, &s->num))
			conf_fail(c, line, name, "'%s' is not a number from 0 to 65535", v);
		break;
	case KEY_BOOL:
		if (strcmp(v, "on") && strcmp(v, "off"))
			conf_fail(c, line, name, "'%s' is not on or off", v);
		s->num = !strcmp(v, "on");
		break;
	case KEY_TLS:
		n = lookup(v, tls_names, KSMTP_TLS_MAX + 1);
		if (n < 0)
			conf_fail(c, line, name, "'%s' is not none, starttls or tls", v);
		s->num = n;
		break;
	case KEY_AUTH:
		n = lookup(v, auth_names, KSMTP_AUTH_MAX + 1);
		if (n < 0)
			conf_fail(c, line, name, "'%s' is not none, plain, login or cram-md5", v);
		s->num = n;
		break;
	case KEY_NAMESPACE:
		if (!c->file)
			usage_die("namespace: only in a configuration file (on the command line: "
				  "ip netns exec NAME %s ...)", prog);
		if (!netns_name_ok(v))
			conf_fail(c, line, name, "'%s' is not the name of a namespace (one in %s)",
				  v, NETNS_DIR);
		c->ns = v;
		c->ns_line = line;
		break;
	case KEY_PASSWORD:
	case KEY_PW_FILE:
	case KEY_PW_ENV:
		if (k->kind == KEY_PASSWORD && !c->file)
			usage_die("password: not on the command line; use password-file or "
				  "password-env");
		if (k->kind == KEY_PW_ENV && c->file)
			conf_fail(c, line, name, "not in a configuration file: use password "
				  "or password-file");
		if (k->kind == KEY_PW_FILE && c->file && v[0] != '/')
			conf_fail(c, line, name, "'%s' is not an absolute path", v);
		if (c->file && c->pw_line)
			conf_fail(c, line, name, "the password is already given on line %u",
				  c->pw_line);
		c->pw_line = line;
		c->inline_pw = k->kind == KEY_PASSWORD;
		break;
	case KEY_STR:
	case KEY_SERVER:
		break;
	}
}

/* @path made absolute (without resolving links), for the kernel to keep. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		out = strdup(path);
	else if (!getcwd(cwd, sizeof(cwd)))
		die("cannot tell the current directory: %s", strerror(errno));
	else if (asprintf(&out, "%s/%s", cwd, path) < 0)
		out = NULL;
	if (!out)
		die("out of memory");
	return out;
}

/* The password of a password-file or password-env setting into @msg,
 * with the file's name (empty: none, so that showconf names no file).
 */
static void put_password(struct conf *c, struct nl_msg *msg, const struct setting *s)
{
	char *pw, *file = NULL;
	size_t len;
	int fd;

	if (s->key->kind == KEY_PW_ENV) {
		const char *e = getenv(s->value);

		if (!e)
			usage_die("password-env: %s is not set", s->value);
		pw = strdup(e);
		if (!pw)
			die("out of memory");
		len = strlen(pw);
	} else {
		const char *why;

		fd = open_in(s->value);
		why = strcmp(s->value, "-") ? secret_file_problem(fd) : NULL;
		if (why && c->file)
			conf_fail(c, s->line, s->key->name, "%s: refused: %s", s->value, why);
		if (why)
			die("password-file: %s: refused: %s", s->value, why);
		pw = slurp_fd(fd, s->value, KSMTP_STR_MAX + 2, &len);
		close(fd);
		if (strcmp(s->value, "-"))
			file = absolute(s->value);
	}
	strip_newline(pw, &len);
	if (strlen(pw) != len && c->file)
		conf_fail(c, s->line, s->key->name, "%s: the password holds a NUL octet",
			  s->value);
	if (strlen(pw) != len)
		die("password: holds a NUL octet");
	if (nla_put_string(msg, KSMTP_A_CFG_PASSWORD, pw) ||
	    nla_put_string(msg, KSMTP_A_CFG_PASSWORD_FILE, file ? file : ""))
		die("out of memory");
	explicit_bzero(pw, len);
	free(pw);
	free(file);
	c->from[KSMTP_A_CFG_PASSWORD] = s;
	c->from[KSMTP_A_CFG_PASSWORD_FILE] = s;
}

/* Every setting into @msg (inside a KSMTP_A_CONFIG nest), in order. */
static void conf_put(struct conf *c, struct nl_msg *msg)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < c->n && !err; i++) {
		const struct setting *s = &c->s[i];
		int attr = s->key->attr;

		switch (s->key->kind) {
		case KEY_STR:
		case KEY_SERVER:
		case KEY_PASSWORD:
			err = nla_put_string(msg, attr, s->value);
			break;
		case KEY_U32:
		case KEY_TLS:
		case KEY_AUTH:
			err = nla_put_u32(msg, attr, s->num);
			break;
		case KEY_PORT:
			err = nla_put_u16(msg, attr, s->num);
			break;
		case KEY_BOOL:
			err = nla_put_u8(msg, attr, s->num);
			break;
		case KEY_PW_FILE:
		case KEY_PW_ENV:
			put_password(c, msg, s);
			continue;
		case KEY_NAMESPACE:
			continue;
		}
		c->from[attr] = s;
	}
	if (err)
		die("out of memory");
}

/* The request for @c (@replace: the whole configuration; @tls_name: one
 * more attribute), its password wiped from our memory by rq_wipe().
 */
static void conf_request(struct conf *c, struct request *rq, bool replace,
			 const char *tls_name)
{
	struct nlattr *nest;

	rq_init(rq, KSMTP_CMD_CONFIG_SET, 0, 0);
	nest = start_nest(rq->msg, KSMTP_A_CONFIG);
	if (replace && nla_put_u8(rq->msg, KSMTP_A_CFG_REPLACE, 1))
		die("out of memory");
	conf_put(c, rq->msg);
	if (tls_name && nla_put_string(rq->msg, KSMTP_A_CFG_TLS_NAME, tls_name))
		die("out of memory");
	end_nest(rq->msg, nest);
}

static void rq_wipe(struct request *rq)
{
	explicit_bzero(nlmsg_hdr(rq->msg), nlmsg_hdr(rq->msg)->nlmsg_len);
	rq_free(rq);
}

/* ---- set ---- */

static const char set_help[] =
	"usage: ksmtpctl set KEY VALUE [KEY VALUE]...\n"
	"Change the configuration of this network namespace's default client.\n"
	"Keys not given keep their value; an empty string clears a string.\n"
	"  server HOST|ADDR          SMTP server: a host name, which the kernel resolves\n"
	"                            at each session (each address tried in turn), or\n"
	"                            an IPv4 or IPv6 address\n"
	"  port N                    TCP port (default 25, 465 with tls tls)\n"
	"  from ADDR                 sender address (envelope and From:)\n"
	"  rcpt ADDR[, ADDR]...      default recipient(s), up to 16: one mail to all\n"
	"  domain NAME               EHLO argument (empty: address literal)\n"
	"  auth none|plain|login|cram-md5\n"
	"  user NAME                 user name for AUTH\n"
	"  password-file PATH|-      read the password from a file (mode 0600, owned by\n"
	"                            root or you; the kernel keeps its name) or stdin\n"
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
	"The kernel-log reporter (initial namespace only): kernel faults mailed to rcpt:\n"
	"  klog on|off               report oopses, BUGs, WARNINGs, hung tasks, lockups,\n"
	"                            OOM kills (off by default)\n"
	"  klog-level N              lines of level N (0 emerg .. 7 debug) or more severe\n"
	"                            start a report too; 8: the fault lines only (8)\n"
	"  klog-context N            lines before the first one (8, at most 32)\n"
	"  klog-window-ms MS         the lines that follow within MS join it (5000)\n"
	"  klog-per-hour N           reports mailed per hour at most (6); the next one\n"
	"                            says how many were suppressed\n"
	"The password is never taken from the command line. A whole configuration\n"
	"from a file: ksmtpctl setconf (see ksmtpctl(8)).\n";

/* An address literal, as opposed to a host name. */
static bool is_address(const char *host)
{
	unsigned char bin[16];

	return inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host, bin) == 1;
}

static int cmd_set(int argc, char **argv)
{
	const struct setting *server = NULL;
	struct conf c = { 0 };
	struct request rq;
	bool tls_name = false;
	unsigned int i;
	int j;

	if (argc < 2)
		usage_die("set: nothing to set");
	if ((argc - 1) % 2)
		usage_die("set: '%s' needs a value", argv[argc - 1]);
	for (j = 1; j < argc; j += 2)
		conf_add(&c, argv[j], argv[j + 1], 0);
	for (i = 0; i < c.n; i++) {
		if (c.s[i].key->kind == KEY_SERVER)
			server = &c.s[i];
		if (c.s[i].key->attr == KSMTP_A_CFG_TLS_NAME)
			tls_name = true;
		if (batch_where && c.s[i].key->kind == KEY_PW_FILE && !strcmp(c.s[i].value, "-"))
			usage_die("password-file: not '-' in a batch");
	}
	/* A server given by name is the name its certificate must carry. */
	if (!server || tls_name || !server->value[0] || is_address(server->value))
		server = NULL;
	conf_request(&c, &rq, false, server ? server->value : NULL);
	transact(&rq);
	/* The request held the password: clear it before freeing. */
	rq_wipe(&rq);
	free(c.s);
	return 0;
}

/* ---- setconf, showconf ---- */

static const char setconf_help[] =
	"usage: ksmtpctl setconf FILE\n"
	"       ksmtpctl setconf -a\n"
	"Apply the whole configuration in FILE ('-': stdin) at once: what it does not\n"
	"name goes back to its default. Lines 'key = value' with the keys of\n"
	"'ksmtpctl set', and 'password = SECRET' or 'password-file = PATH', and\n"
	"'namespace = NAME' (a namespace in " NETNS_DIR ", entered first); '#' starts\n"
	"a comment line. A file holding a password must be mode 0600 (or 0400) and\n"
	"belong to root (or to you). A bad file changes nothing: the error names\n"
	"its line.\n"
	"-a applies each " KSMTP_CONF_DIR "/*.conf in turn (sorted), each in the\n"
	"namespace it names; one naming a namespace that does not exist is skipped.\n";

static const char showconf_help[] =
	"usage: ksmtpctl showconf\n"
	"Print the running configuration of this network namespace in the format\n"
	"of setconf, never the password: its file if it came from one\n"
	"(password-file = PATH). 'showconf > f; setconf f' changes nothing.\n";

/* Parse a configuration file's text (@buf, NUL-terminated, changed in place). */
static void conf_parse(struct conf *c, char *buf, size_t len)
{
	char *p = buf, *end = buf + len;
	unsigned int line = 0;

	while (p < end) {
		char *e = memchr(p, '\n', end - p), *k, *ke, *v, *eq;

		line++;
		if (!e)
			e = end;
		if (memchr(p, '\0', e - p))
			conf_fail(c, line, NULL, "holds a NUL octet");
		*e = '\0';
		k = p + strspn(p, " \t");
		p = e + 1;
		/* trailing blanks (and the CR of a CR LF) are not the value's */
		while (e > k && strchr(" \t\r", e[-1]))
			*--e = '\0';
		if (!*k || *k == '#')
			continue;
		eq = strchr(k, '=');
		if (!eq || eq == k)
			conf_fail(c, line, NULL, "not a 'key = value' line");
		v = eq + 1 + strspn(eq + 1, " \t");
		ke = eq;
		while (ke > k && strchr(" \t", ke[-1]))
			ke--;
		*ke = '\0';
		conf_add(c, k, v, line);
	}
}

/* Enter the namespace the file names. False: it does not exist, and
 * @skip says to skip the file (setconf -a).
 */
static bool enter_netns(struct conf *c, bool skip)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, c->ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && skip) {
		fprintf(stderr, "%s: %s:%u: namespace '%s' does not exist (no %s): skipped\n",
			prog, c->file, c->ns_line, c->ns, path);
		return false;
	}
	if (fd < 0)
		conf_fail(c, c->ns_line, "namespace", "%s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		conf_fail(c, c->ns_line, "namespace", "cannot enter %s: %s", path,
			  strerror(errno));
	close(fd);
	return true;
}

/* Apply one file; exits 1 on any failure (in a -a run, each file is a
 * process of its own).
 */
static void setconf_file(const char *path, bool all)
{
	struct conf c = { .file = path };
	const struct setting *s;
	struct request rq;
	const char *why;
	struct stat st;
	int fd, err = 0;
	size_t len;
	char *buf;

	fd = open_in(path);
	buf = slurp_fd(fd, path, CONF_MAX, &len);
	if (len > CONF_MAX)
		die("%s: larger than %u octets", path, CONF_MAX);
	conf_parse(&c, buf, len);
	/* Applied by root at boot: as wg-quick does, say so when others may
	 * change it (a file holding a password is refused below).
	 */
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && (st.st_mode & 022) && !c.inline_pw)
		fprintf(stderr, "%s: warning: %s may be changed by group or others (mode %04o)\n",
			prog, path, (unsigned int)(st.st_mode & 07777));
	if (c.inline_pw) {
		why = secret_file_problem(fd);
		if (why)
			conf_fail(&c, c.pw_line, "password",
				  "refused: the file holds a password and %s", why);
	}
	close(fd);
	if (c.ns && !enter_netns(&c, all))
		goto out;
	conf_request(&c, &rq, true, NULL);
	err = transact_err(&rq, NULL);
	rq_wipe(&rq);
out:
	explicit_bzero(buf, len);
	free(buf);
	if (!err) {
		free(c.s);
		return;
	}
	/* The attribute the kernel named, back to the line that gave it. */
	s = rq.bad_nest == KSMTP_A_CONFIG && rq.bad_attr > 0 && rq.bad_attr <= KSMTP_A_CFG_MAX ?
	    c.from[rq.bad_attr] : NULL;
	if (s)
		die("%s:%u: %s: kernel refused: %s%s", path, s->line, s->key->name, rq.errmsg,
		    err == -EPERM ? " (this needs CAP_NET_ADMIN)" : "");
	die("%s: kernel refused: %s%s", path, rq.errmsg,
	    err == -EPERM ? " (this needs CAP_NET_ADMIN)" : "");
}

static bool batch_running;

/* @fn(@arg) in a child process (its own socket, its own namespace);
 * returns its exit status.
 */
static int in_child(void (*fn)(const char *arg, bool all), const char *arg, bool all)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		nl_sk = NULL;	/* the parent's, in its namespace */
		fn(arg, all);
		exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int cmd_setconf(int argc, char **argv)
{
	glob_t g;
	size_t i;
	int rc = 0, err;

	if (argc != 2)
		usage_die("setconf: %s", argc < 2 ? "which file? (or -a)" : "one file only");
	if (strcmp(argv[1], "-a")) {
		if (batch_running)
			return in_child(setconf_file, argv[1], false);
		setconf_file(argv[1], false);
		return 0;
	}
	err = glob(KSMTP_CONF_DIR "/*.conf", 0, NULL, &g);
	if (err == GLOB_NOMATCH)
		return 0;
	if (err)
		die("%s: cannot list its files", KSMTP_CONF_DIR);
	for (i = 0; i < g.gl_pathc; i++)
		if (in_child(setconf_file, g.gl_pathv[i], true))
			rc = 1;
	globfree(&g);
	return rc;
}

static const char *get_str(struct nlattr *a)
{
	return a ? nla_get_string(a) : "";
}

static uint32_t u32_or0(struct nlattr *a)
{
	return a ? nla_get_u32(a) : 0;
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

/* The server as given: its name, or the address an older client set. */
static const char *server_of(struct nlattr **cfg, char *buf, size_t len)
{
	if (cfg[KSMTP_A_CFG_SERVER_NAME])
		return nla_get_string(cfg[KSMTP_A_CFG_SERVER_NAME]);
	addr_str(cfg[KSMTP_A_CFG_SERVER_ADDR], buf, len);
	return buf;
}

/* The name in /run/netns of the namespace we are in, or NULL (as `ip netns
 * identify` finds it; the first in sorted order if it has several).
 */
static const char *netns_self(void)
{
	static char name[NAME_MAX + 1];
	struct dirent **list;
	struct stat self, st;
	char path[PATH_MAX];
	const char *found = NULL;
	int n, i;

	if (stat("/proc/self/ns/net", &self))
		return NULL;
	n = scandir(NETNS_DIR, &list, NULL, alphasort);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, list[i]->d_name);
		if (!found && list[i]->d_name[0] != '.' && !stat(path, &st) &&
		    st.st_dev == self.st_dev && st.st_ino == self.st_ino) {
			snprintf(name, sizeof(name), "%s", list[i]->d_name);
			found = name;
		}
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	return found;
}

static int cmd_showconf(int argc, char **argv)
{
	char addr[INET6_ADDRSTRLEN];
	struct request rq;
	struct nlattr **cfg;
	const char *ns;
	uint32_t v;
	size_t i;

	(void)argv;
	if (argc > 1)
		usage_die("showconf: unexpected '%s'", argv[1]);
	simple(&rq, KSMTP_CMD_CONFIG_GET);
	cfg = rq.a.cfg;
	ns = netns_self();
	for (i = 0; i < ARRAY_SIZE(cfg_keys); i++) {
		const struct cfg_key *k = &cfg_keys[i];
		struct nlattr *a = k->attr ? cfg[k->attr] : NULL;

		switch (k->kind) {
		case KEY_NAMESPACE:
			if (ns)
				printf("namespace = %s\n", ns);
			break;
		case KEY_SERVER:
			if (*server_of(cfg, addr, sizeof(addr)) || a)
				printf("server = %s\n", server_of(cfg, addr, sizeof(addr)));
			break;
		case KEY_STR:
			if (a && *nla_get_string(a))
				printf("%s = %s\n", k->name, nla_get_string(a));
			else if (a)
				printf("%s =\n", k->name);
			break;
		case KEY_PORT:
			if (a)
				printf("port = %u\n", nla_get_u16(a));
			break;
		case KEY_U32:
			/* the send group only when there is one */
			if (a && !(k->attr == KSMTP_A_CFG_SEND_GID && nla_get_u32(a) == UINT32_MAX))
				printf("%s = %u\n", k->name, nla_get_u32(a));
			break;
		case KEY_BOOL:
			if (a)
				printf("%s = %s\n", k->name, nla_get_u8(a) ? "on" : "off");
			break;
		case KEY_TLS:
			v = u32_or0(a);
			printf("tls = %s\n", tls_names[v <= KSMTP_TLS_MAX ? v : 0]);
			break;
		case KEY_AUTH:
			v = u32_or0(a);
			printf("auth = %s\n", auth_names[v <= KSMTP_AUTH_MAX ? v : 0]);
			break;
		case KEY_PW_FILE:
			if (a && *nla_get_string(a))
				printf("password-file = %s\n", nla_get_string(a));
			else if (cfg[KSMTP_A_CFG_PASSWORD_SET] &&
				 nla_get_u8(cfg[KSMTP_A_CFG_PASSWORD_SET]))
				printf("# password: set, not shown (it came from no file)\n");
			break;
		case KEY_PASSWORD:
		case KEY_PW_ENV:
			break;
		}
	}
	rq_free(&rq);
	return 0;
}

/* ---- show ---- */

static const char show_help[] =
	"usage: ksmtpctl show [-j]\n"
	"Print the configuration of this network namespace's default client.\n"
	"The password is never shown, only whether one is set (and its file).\n"
	"-j prints JSON.\n";

/* Only -j (or --json) among a command's arguments. */
static void want_json(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			opt_json = true;
		else
			usage_die("%s: unexpected '%s'", argv[0], argv[i]);
	}
}

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

static bool flag(struct nlattr *a)
{
	return a && nla_get_u8(a);
}

static void show_json(struct nlattr **cfg, const char *server, uint32_t auth, uint32_t tls)
{
	struct json_object *o = jobj(), *t = jobj(), *q = jobj(), *k = jobj();
	size_t i;

	jset(o, "configured", jbool(flag(cfg[KSMTP_A_CFG_CONFIGURED])));
	jset(o, "server", jstr(server));
	jset(o, "port", ju64(cfg[KSMTP_A_CFG_PORT] ? nla_get_u16(cfg[KSMTP_A_CFG_PORT]) : 0));
	jset(o, "from", jstr(get_str(cfg[KSMTP_A_CFG_FROM])));
	jset(o, "rcpt", jstr(get_str(cfg[KSMTP_A_CFG_RCPT])));
	jset(o, "recipients", jrcpts(get_str(cfg[KSMTP_A_CFG_RCPT])));
	jset(o, "domain", jstr(get_str(cfg[KSMTP_A_CFG_DOMAIN])));
	jset(o, "auth", jstr(auth_names[auth]));
	jset(o, "user", jstr(get_str(cfg[KSMTP_A_CFG_USERNAME])));
	jset(o, "password_set", jbool(flag(cfg[KSMTP_A_CFG_PASSWORD_SET])));
	jset(o, "password_file", jstr(get_str(cfg[KSMTP_A_CFG_PASSWORD_FILE])));
	jset(o, "helo_only", jbool(flag(cfg[KSMTP_A_CFG_HELO_ONLY])));
	jset(o, "tls", jstr(tls_names[tls]));
	jset(o, "tls_name", jstr(get_str(cfg[KSMTP_A_CFG_TLS_NAME])));
	jset(o, "ca_file", jstr(get_str(cfg[KSMTP_A_CFG_TLS_CA_FILE])));
	jset(o, "auth_cleartext", jbool(flag(cfg[KSMTP_A_CFG_AUTH_CLEARTEXT])));
	for (i = 0; i < ARRAY_SIZE(timeouts); i++)
		jset(t, timeouts[i].name, ju64(u32_or0(cfg[timeouts[i].attr])));
	jset(o, "timeouts_ms", t);
	jset(q, "max", ju64(u32_or0(cfg[KSMTP_A_CFG_QUEUE_MAX])));
	jset(q, "bytes", ju64(u32_or0(cfg[KSMTP_A_CFG_QUEUE_BYTES])));
	jset(q, "retry_max", ju64(u32_or0(cfg[KSMTP_A_CFG_RETRY_MAX])));
	jset(q, "retry_age_s", ju64(u32_or0(cfg[KSMTP_A_CFG_RETRY_AGE])));
	jset(q, "retry_base_ms", ju64(u32_or0(cfg[KSMTP_A_CFG_RETRY_BASE_MS])));
	jset(q, "coalesce_ms", ju64(u32_or0(cfg[KSMTP_A_CFG_COALESCE_MS])));
	jset(o, "queue", q);
	/* the send group: a number, or null for none */
	if (cfg[KSMTP_A_CFG_SEND_GID] && nla_get_u32(cfg[KSMTP_A_CFG_SEND_GID]) != UINT32_MAX)
		jset(o, "send_group", ju64(nla_get_u32(cfg[KSMTP_A_CFG_SEND_GID])));
	else
		jset(o, "send_group", NULL);
	jset(k, "on", jbool(flag(cfg[KSMTP_A_CFG_KLOG])));
	jset(k, "level", ju64(u32_or0(cfg[KSMTP_A_CFG_KLOG_LEVEL])));
	jset(k, "context", ju64(u32_or0(cfg[KSMTP_A_CFG_KLOG_CONTEXT])));
	jset(k, "window_ms", ju64(u32_or0(cfg[KSMTP_A_CFG_KLOG_WINDOW_MS])));
	jset(k, "per_hour", ju64(u32_or0(cfg[KSMTP_A_CFG_KLOG_PER_HOUR])));
	jset(o, "klog", k);
	jprint(stdout, o);
}

static int cmd_show(int argc, char **argv)
{
	char addr[INET6_ADDRSTRLEN];
	const char *server, *pwfile;
	struct request rq;
	struct nlattr **cfg;
	uint32_t auth, tls;
	size_t i;

	want_json(argc, argv);
	simple(&rq, KSMTP_CMD_CONFIG_GET);
	cfg = rq.a.cfg;
	server = server_of(cfg, addr, sizeof(addr));
	auth = u32_or0(cfg[KSMTP_A_CFG_AUTH]);
	if (auth > KSMTP_AUTH_MAX)
		auth = 0;
	tls = u32_or0(cfg[KSMTP_A_CFG_TLS]);
	if (tls > KSMTP_TLS_MAX)
		tls = 0;
	if (opt_json) {
		show_json(cfg, server, auth, tls);
		rq_free(&rq);
		return 0;
	}
	printf("server:     %s port %u%s\n", server[0] ? server : "(not set)",
	       cfg[KSMTP_A_CFG_PORT] ? nla_get_u16(cfg[KSMTP_A_CFG_PORT]) : 0,
	       flag(cfg[KSMTP_A_CFG_CONFIGURED]) ? "" : "  (not configured: set server and from)");
	printf("from:       %s\n", get_str(cfg[KSMTP_A_CFG_FROM]));
	printf("rcpt:       %s\n", get_str(cfg[KSMTP_A_CFG_RCPT]));
	printf("domain:     %s\n", *get_str(cfg[KSMTP_A_CFG_DOMAIN]) ?
	       get_str(cfg[KSMTP_A_CFG_DOMAIN]) : "(address literal of the connection)");
	printf("auth:       %s\n", auth_names[auth]);
	printf("user:       %s\n", get_str(cfg[KSMTP_A_CFG_USERNAME]));
	pwfile = get_str(cfg[KSMTP_A_CFG_PASSWORD_FILE]);
	printf("password:   %s%s%s\n", flag(cfg[KSMTP_A_CFG_PASSWORD_SET]) ? "(set)" : "(none)",
	       *pwfile ? " from " : "", pwfile);
	printf("helo-only:  %s\n", flag(cfg[KSMTP_A_CFG_HELO_ONLY]) ? "on" : "off");
	printf("tls:        %s", tls_names[tls]);
	if (tls)
		printf(", server name %s, trusting %s", get_str(cfg[KSMTP_A_CFG_TLS_NAME]),
		       *get_str(cfg[KSMTP_A_CFG_TLS_CA_FILE]) ?
		       get_str(cfg[KSMTP_A_CFG_TLS_CA_FILE]) : "the system trust store");
	printf("\nauth-cleartext: %s\n", flag(cfg[KSMTP_A_CFG_AUTH_CLEARTEXT]) ?
	       "on (AUTH allowed without TLS)" : "off");
	printf("timeouts:  ");
	for (i = 0; i < ARRAY_SIZE(timeouts); i++)
		printf(" %s %u ms%s", timeouts[i].name, u32_or0(cfg[timeouts[i].attr]),
		       i + 1 < ARRAY_SIZE(timeouts) ? "," : "\n");
	printf("queue:      at most %u mails, %u octets; %u attempts over %u s, first retry "
	       "after %u ms; coalesce %u ms\n",
	       u32_or0(cfg[KSMTP_A_CFG_QUEUE_MAX]), u32_or0(cfg[KSMTP_A_CFG_QUEUE_BYTES]),
	       u32_or0(cfg[KSMTP_A_CFG_RETRY_MAX]), u32_or0(cfg[KSMTP_A_CFG_RETRY_AGE]),
	       u32_or0(cfg[KSMTP_A_CFG_RETRY_BASE_MS]), u32_or0(cfg[KSMTP_A_CFG_COALESCE_MS]));
	if (cfg[KSMTP_A_CFG_SEND_GID] && nla_get_u32(cfg[KSMTP_A_CFG_SEND_GID]) != UINT32_MAX)
		printf("send-group: %u (may send without CAP_NET_ADMIN)\n",
		       nla_get_u32(cfg[KSMTP_A_CFG_SEND_GID]));
	if (flag(cfg[KSMTP_A_CFG_KLOG]))
		printf("klog:       on, level %u, %u lines of context, window %u ms, "
		       "at most %u reports per hour\n",
		       u32_or0(cfg[KSMTP_A_CFG_KLOG_LEVEL]), u32_or0(cfg[KSMTP_A_CFG_KLOG_CONTEXT]),
		       u32_or0(cfg[KSMTP_A_CFG_KLOG_WINDOW_MS]),
		       u32_or0(cfg[KSMTP_A_CFG_KLOG_PER_HOUR]));
	else
		printf("klog:       off\n");
	rq_free(&rq);
	return 0;
}

/* ---- send ---- */

/* The body goes in parts of this size (an attribute holds at most 64 KiB). */
#define BODY_PART 60000
/* Room for a body of KSMTP_BODY_MAX + 1 octets (one more tells that it is
 * too large) in parts, each in a nest, headers and padding included.
 */
#define BODY_MSG_MAX (KSMTP_BODY_MAX + 1 + \
		      (KSMTP_BODY_MAX / BODY_PART + 2) * (2 * NLA_HDRLEN + NLA_ALIGNTO))

/* A SEND request with room for the largest body. In a batch, one message
 * serves every send (a reference kept here): its megabyte of pages is
 * faulted in and zeroed once, not for every mail.
 */
static void rq_init_send(struct request *rq)
{
	static struct nl_msg *batch_msg;

	if (!batch_running) {
		rq_init(rq, KSMTP_CMD_SEND, 0, BODY_MSG_MAX);
		return;
	}
	if (!batch_msg) {
		rq_init(rq, KSMTP_CMD_SEND, 0, BODY_MSG_MAX);
		batch_msg = rq->msg;
	} else {
		memset(rq, 0, sizeof(*rq));
		rq->msg = batch_msg;
		/* nlmsg_put() appends to what the message holds: empty it. */
		nlmsg_hdr(batch_msg)->nlmsg_len = NLMSG_HDRLEN;
		if (!genlmsg_put(batch_msg, NL_AUTO_PORT, NL_AUTO_SEQ, 0, 0, 0,
				 KSMTP_CMD_SEND, KSMTP_GENL_VERSION))
			die("out of memory");
	}
	nlmsg_get(batch_msg);
}

/* Read all of @path ('-': stdin), at most @max + 1 octets, straight into
 * @msg: a KSMTP_A_MAIL nest with one KSMTP_A_MAIL_BODY of up to BODY_PART
 * octets each (none for an empty body). No copy of the body but the
 * read() itself: a 1 MiB body costs one pass here.
 */
static void put_body(struct nl_msg *msg, const char *path, size_t max)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	size_t total = 0, want, got;
	struct nlattr *nest, *a;
	int fd = open_in(path);
	bool eof = false;
	ssize_t r;

	while (!eof && total <= max) {
		want = max + 1 - total < BODY_PART ? max + 1 - total : BODY_PART;
		nest = start_nest(msg, KSMTP_A_MAIL);
		a = nla_reserve(msg, KSMTP_A_MAIL_BODY, want);
		if (!a)
			die("out of memory");
		for (got = 0; got < want; got += r) {
			r = read(fd, (char *)nla_data(a) + got, want - got);
			if (r < 0 && errno == EINTR) {
				r = 0;
				continue;
			}
			if (r < 0)
				die("%s: %s", path, strerror(errno));
			if (!r) {
				eof = true;
				break;
			}
		}
		total += got;
		if (!got) {
			/* Nothing more: no empty part (nor its nest). */
			nlh->nlmsg_len = (char *)nest - (char *)nlh;
			break;
		}
		/* A short last part: the message ends after it. */
		a->nla_len = NLA_HDRLEN + got;
		nlh->nlmsg_len = (char *)a - (char *)nlh + NLA_ALIGN(a->nla_len);
		end_nest(msg, nest);
	}
	close(fd);
}

/* As put_body(), from @len octets at @body (in memory). */
static void put_body_mem(struct nl_msg *msg, const char *body, size_t len)
{
	struct nlattr *nest;
	size_t off, part;

	for (off = 0; off < len; off += part) {
		part = len - off < BODY_PART ? len - off : BODY_PART;
		nest = start_nest(msg, KSMTP_A_MAIL);
		if (nla_put(msg, KSMTP_A_MAIL_BODY, part, body + off))
			die("out of memory");
		end_nest(msg, nest);
	}
}

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
static struct json_object *result_json(struct nlattr **tb)
{
	uint32_t err = u32_or0(tb[KSMTP_A_RES_ERRNO]), phase = u32_or0(tb[KSMTP_A_RES_PHASE]);
	struct json_object *o = jobj();

	if (phase > KSMTP_PHASE_MAX)
		phase = 0;
	jset(o, "ok", jbool(!err));
	jset(o, "errno", ju64(err));
	jset(o, "error", jstr(err ? strerror(err) : ""));
	jset(o, "phase", jstr(phase_names[phase]));
	jset(o, "code", ju64(u32_or0(tb[KSMTP_A_RES_CODE])));
	jset(o, "text", jstr(get_str(tb[KSMTP_A_RES_TEXT])));
	jset(o, "reason", jstr(get_str(tb[KSMTP_A_RES_REASON])));
	jset(o, "transient", jbool(flag(tb[KSMTP_A_RES_TRANSIENT])));
	jset(o, "unknown", jbool(flag(tb[KSMTP_A_RES_UNKNOWN])));
	jset(o, "tls", jstr(get_str(tb[KSMTP_A_RES_TLS])));
	return o;
}

static void print_result(FILE *f, struct nlattr **tb)
{
	uint32_t err = u32_or0(tb[KSMTP_A_RES_ERRNO]), phase = u32_or0(tb[KSMTP_A_RES_PHASE]);
	uint32_t code = u32_or0(tb[KSMTP_A_RES_CODE]);
	bool unknown = flag(tb[KSMTP_A_RES_UNKNOWN]);

	if (phase > KSMTP_PHASE_MAX)
		phase = 0;
	fprintf(f, "%s in %s: %s", err ? "failed" : "ok", phase_names[phase],
		get_str(tb[KSMTP_A_RES_REASON]));
	if (code)
		fprintf(f, ": server said %u %s", code, get_str(tb[KSMTP_A_RES_TEXT]));
	fprintf(f, " (%s, %s)", strerror(err), unknown ? "may have been delivered" :
		flag(tb[KSMTP_A_RES_TRANSIENT]) ? "transient" : "permanent");
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

/* A mail for do_send(); the strings may be NULL (not sent). */
struct send_args {
	const char *to;
	const char *subject;
	int prio;
	bool queue;
	const char *headers;	/* with headers: no subject, no priority */
	const char *env_from;
	const char *from_name;
	bool quiet;		/* nothing on stdout when sent (sendmail) */
	bool member_retry;	/* a send group member's refusal: return -1 */
	const char *body_path;	/* the body read from this file ('-': stdin) */
	const char *body;	/* or this one, when body_path is NULL */
	size_t body_len;
};

/* The kernel refused @rq as a send group member's: it names another
 * sender (netlink.c member_limits()), which sendmail can rename.
 */
static bool member_refusal(const struct request *rq)
{
	return rq->err == -EPERM && rq->bad_nest == KSMTP_A_MAIL &&
	       (rq->bad_attr == KSMTP_A_MAIL_HEADERS ||
		rq->bad_attr == KSMTP_A_MAIL_ENVELOPE_FROM);
}

/* Send the mail @sa describes; 0 when sent (or queued), else 1; -1 when
 * @sa->member_retry and the kernel refused it as a send group member's
 * (nothing sent).
 */
static int do_send(const struct send_args *sa)
{
	const char *to = sa->to, *subject = sa->subject;
	int prio = sa->prio, i, rerr;
	bool queue = sa->queue;
	struct nlattr *mail, **res;
	struct request rq;
	uint32_t err;

	/* The rest of the mail first, then the body, in parts (see
	 * put_body()); the kernel takes each attribute from the last nest
	 * that has it and joins the BODY parts in order.
	 */
	rq_init_send(&rq);
	mail = start_nest(rq.msg, KSMTP_A_MAIL);
	if ((to && nla_put_string(rq.msg, KSMTP_A_MAIL_RCPT, to)) ||
	    (subject && nla_put_string(rq.msg, KSMTP_A_MAIL_SUBJECT, subject)) ||
	    (!sa->headers && nla_put_u32(rq.msg, KSMTP_A_MAIL_PRIORITY, prio)) ||
	    (sa->headers && nla_put_string(rq.msg, KSMTP_A_MAIL_HEADERS, sa->headers)) ||
	    (sa->env_from && nla_put_string(rq.msg, KSMTP_A_MAIL_ENVELOPE_FROM, sa->env_from)) ||
	    (sa->from_name && nla_put_string(rq.msg, KSMTP_A_MAIL_FROM_NAME, sa->from_name)) ||
	    (queue && nla_put_u8(rq.msg, KSMTP_A_MAIL_QUEUE, 1)))
		die("out of memory");
	end_nest(rq.msg, mail);
	if (sa->body_path)
		put_body(rq.msg, sa->body_path, KSMTP_BODY_MAX);
	else
		put_body_mem(rq.msg, sa->body, sa->body_len);
	if (queue) {
		unsigned long long id;

		transact(&rq);
		if (!rq.reply)
			die("no reply from the kernel");
		id = rq.a.mail[KSMTP_A_MAIL_ID] ? nla_get_u64(rq.a.mail[KSMTP_A_MAIL_ID]) : 0;
		if (opt_json) {
			struct json_object *o = jobj();

			jset(o, "queued", jbool(true));
			jset(o, "id", ju64(id));
			jprint(stdout, o);
		} else {
			printf("queued as %llu\n", id);
		}
		rq_free(&rq);
		return 0;
	}
	/* The kernel answers with the mail's id at once; the outcome follows
	 * when the session is over, as a message of its own (after the ack, so
	 * not in sequence: matched by id). Hear it too if the module goes
	 * before the outcome comes.
	 */
	nl_open();
	i = genl_ctrl_resolve_grp(nl_sk, "nlctrl", "notify");
	if (i >= 0)
		nl_socket_add_membership(nl_sk, i);
	send_result = NULL;
	send_id_known = false;
	family_gone = false;
	rq.each = on_send_msg;
	rerr = transact_err(&rq, send_pending);
	if (i >= 0)
		nl_socket_drop_membership(nl_sk, i);
	if (rerr && sa->member_retry && member_refusal(&rq)) {
		rq_free(&rq);
		return -1;
	}
	if (rerr)
		refused(&rq);
	if (!send_result)
		die("the kernel module went away before the outcome of mail %llu: it may or may not have been sent",
		    (unsigned long long)send_id);
	parse_msg(&rq.a, send_result);
	res = rq.a.res;
	err = res[KSMTP_A_RES_ERRNO] ? nla_get_u32(res[KSMTP_A_RES_ERRNO]) : EPROTO;
	if (opt_json) {
		jprint(stdout, result_json(res));
	} else if (err) {
		fflush(stdout);
		fprintf(stderr, "%s: ", prog);
		if (batch_where)
			fprintf(stderr, "%s: ", batch_where);
		fprintf(stderr, "send ");
		print_result(stderr, res);
		fputc('\n', stderr);
	} else if (!sa->quiet) {
		if (res[KSMTP_A_RES_TLS])
			printf("sent over %s\n", get_str(res[KSMTP_A_RES_TLS]));
		else
			printf("sent\n");
		if (u32_or0(res[KSMTP_A_RES_CODE])) {
			fflush(stdout);
			fprintf(stderr, "%s: %s: server said %u %s\n", prog,
				get_str(res[KSMTP_A_RES_REASON]),
				nla_get_u32(res[KSMTP_A_RES_CODE]),
				get_str(res[KSMTP_A_RES_TEXT]));
		}
	}
	nlmsg_free(send_result);
	send_result = NULL;
	rq_free(&rq);
	return err ? 1 : 0;
}

static int cmd_send(int argc, char **argv)
{
	const char *to = NULL, *subject = "ksmtp test message", *body_path = NULL;
	int i, prio = KSMTP_PRIO_NORMAL;
	struct send_args sa = {};
	bool queue = false;

	for (i = 1; i < argc; i++) {
		const char *k = argv[i];

		if (!strcmp(k, "-j") || !strcmp(k, "--json")) {
			opt_json = true;
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
	if (batch_running && (!body_path || !strcmp(body_path, "-")))
		usage_die("send: in a batch, the body comes from a file (body-file PATH)");
	sa.to = to;
	sa.subject = subject;
	sa.prio = prio;
	sa.queue = queue;
	sa.body_path = body_path ? body_path : "-";
	return do_send(&sa);
}

/* ---- sendmail: a whole message on stdin ---- */

static const char sendmail_help[] =
	"usage: ksmtpctl sendmail [-t] [-i|-oi] [-f ADDR] [-F NAME] [--] [RCPT...]\n"
	"       sendmail ...  (the same, when installed under that name)\n"
	"Send the message on stdin (headers, an empty line, the body) as cron,\n"
	"smartd, mdadm or zed write it, and wait for the outcome (nothing printed\n"
	"when sent). Its headers go out as they are: the kernel checks every line\n"
	"and adds only Date, From, Message-ID (and the MIME headers an 8-bit or long-\n"
	"lined body needs) when they are missing.\n"
	"  -t        recipients from To, Cc and Bcc too (Bcc is removed)\n"
	"  -i, -oi   a line of a single '.' does not end the message\n"
	"  -f ADDR   envelope sender (CAP_NET_ADMIN; dropped for a send group member;\n"
	"            an address without '@' is ignored)\n"
	"  -F NAME   the sender's full name, for a From the kernel adds\n"
	"Recipients without '@' go through " KSMTP_CONF_DIR "/aliases (lines\n"
	"'name: addr, addr'; 'default: ...' for the others); a name it does not\n"
	"map (root, postmaster, any user) goes to the configured recipients.\n"
	"Other sendmail options (-oem, -odi, -B 8BITMIME, -v, ...) are accepted and\n"
	"ignored. Exit status 0 sent, 1 refused or failed, 2 usage error.\n";

#define SM_RCPT_MAX	16

struct rcpts {
	char *addr[SM_RCPT_MAX];
	unsigned int n;
	bool configured;	/* the configured recipients too */
};

/* The length of @s's first @len octets without the line breaks at their end. */
static size_t trim_eol(const char *s, size_t len)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	return len;
}

/* @a, @len without the white space around it. */
static void trim_space(const char **a, size_t *len)
{
	while (*len && isspace((unsigned char)**a)) {
		(*a)++;
		(*len)--;
	}
	while (*len && isspace((unsigned char)(*a)[*len - 1]))
		(*len)--;
}

static void rcpt_add(struct rcpts *r, const char *a, size_t len)
{
	unsigned int i;

	trim_space(&a, &len);
	if (!len)
		return;
	for (i = 0; i < r->n; i++)
		if (strlen(r->addr[i]) == len && !strncasecmp(r->addr[i], a, len))
			return;
	if (r->n == SM_RCPT_MAX)
		die("sendmail: more than %d recipients", SM_RCPT_MAX);
	r->addr[r->n] = strndup(a, len);
	if (!r->addr[r->n])
		die("out of memory");
	r->n++;
}

/* The aliases of a local name: 0 none found, 1 mapped (added). */
static int alias_lookup(struct rcpts *r, const char *name, size_t nlen, int depth)
{
	FILE *f = fopen(KSMTP_CONF_DIR "/aliases", "re");
	char *line = NULL, *v, *tok, *save;
	size_t cap = 0;
	int found = 0;

	if (!f)
		return 0;
	while (!found && getline(&line, &cap, f) >= 0) {
		v = strchr(line, ':');
		if (line[0] == '#' || !v)
			continue;
		*v++ = '\0';
		if (strlen(line) != nlen || strncasecmp(line, name, nlen))
			continue;
		found = 1;
		for (tok = strtok_r(v, ", \t\r\n", &save); tok;
		     tok = strtok_r(NULL, ", \t\r\n", &save)) {
			if (strchr(tok, '@'))
				rcpt_add(r, tok, strlen(tok));
			else if (depth < 4 && alias_lookup(r, tok, strlen(tok), depth + 1))
				;
			else
				r->configured = true;
		}
	}
	free(line);
	fclose(f);
	return found;
}

/* One recipient: an address, or a local name for the aliases. */
static void rcpt_take(struct rcpts *r, const char *a, size_t len)
{
	trim_space(&a, &len);
	if (!len)
		return;
	if (memchr(a, '@', len))
		rcpt_add(r, a, len);
	else if (!alias_lookup(r, a, len, 0) && !alias_lookup(r, "default", 7, 0))
		r->configured = true;
}

/* The addresses of an address list header's value (RFC 5322 3.4): the
 * part in <> when there is one, comments and quoted strings skipped,
 * group names ("undisclosed-recipients:;") dropped.
 */
static void rcpt_parse_list(struct rcpts *r, const char *v)
{
	const char *p = v, *start = v, *lt = NULL, *gt = NULL;
	int depth = 0;
	bool quote = false;

	for (;; p++) {
		char c = *p;

		if (quote) {
			if (c == '\\' && p[1])
				p++;
			else if (c == '"')
				quote = false;
			else if (!c)
				break;
			continue;
		}
		if (depth && c && c != ')' && c != '(') {
			if (c == '\\' && p[1])
				p++;
			continue;
		}
		if (c == '(') {
			depth++;
		} else if (c == ')' && depth) {
			depth--;
		} else if (c == '"') {
			quote = true;
		} else if (c == '<') {
			lt = p;
		} else if (c == '>' && lt) {
			gt = p;
		} else if (c == ':') {
			start = p + 1;	/* a group's name */
		} else if (c == ',' || c == ';' || !c) {
			if (lt && gt) {
				rcpt_take(r, lt + 1, gt - lt - 1);
			} else {
				/* addr (comment): the address before the comment */
				const char *e = start;

				while (e < p && *e != '(')
					e++;
				rcpt_take(r, start, e - start);
			}
			lt = gt = NULL;
			start = p + 1;
			if (!c)
				break;
		}
	}
}

/* Is this line a header field ("Name:")? */
static bool is_field(const char *l, size_t len)
{
	size_t i;

	for (i = 0; i < len && l[i] != ':'; i++)
		if ((unsigned char)l[i] <= ' ' || (unsigned char)l[i] >= 0x7f)
			return false;
	return i && i < len;
}

static bool field_named(const char *l, const char *name)
{
	size_t n = strlen(name);

	return !strncasecmp(l, name, n) && l[n] == ':';
}

/* A field that a send group member may not give (the kernel's list,
 * encode.c field_flag()): it names a sender or author, where replies,
 * copies, bounces or receipts go, or passes for a server's trace or
 * verdict.
 */
static bool names_sender(const char *l)
{
	static const char * const names[] = {
		"From", "Sender", "Return-Path", "Reply-To", "Mail-Reply-To",
		"Mail-Followup-To", "Mail-Copies-To", "Errors-To", "Return-Receipt-To",
		"Disposition-Notification-To", "X-Confirm-Reading-To", "Author",
		"Received", "Delivered-To", "X-Original-To", "Envelope-To",
		"DKIM-Signature", "DomainKey-Signature", "Authentication-Results",
		"Received-SPF",
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (field_named(l, names[i]))
			return true;
	return !strncasecmp(l, "Resent-", 7) || !strncasecmp(l, "ARC-", 4) ||
	       !strncasecmp(l, "List-", 5);
}

static int cmd_sendmail(int argc, char **argv)
{
	bool opt_t = false, opt_i = false, renamed = false;
	const char *env_from = NULL, *from_name = NULL;
	struct send_args sa = { .prio = KSMTP_PRIO_NORMAL, .quiet = true };
	char *msg, *hdr, *out, *mout, *p, *body, *rcpt_list;
	size_t len, hlen, k, mk, cap;
	struct rcpts r = {};
	unsigned int i;
	int a;

	for (a = 1; a < argc && argv[a][0] == '-'; a++) {
		const char *o = argv[a];

		if (!strcmp(o, "--")) {
			a++;
			break;
		} else if (!strcmp(o, "-t")) {
			opt_t = true;
		} else if (!strcmp(o, "-i") || !strcmp(o, "-oi")) {
			opt_i = true;
		} else if (!strncmp(o, "-f", 2) || !strncmp(o, "-r", 2)) {
			if (!o[2] && ++a == argc)
				usage_die("sendmail: %s needs an address", o);
			env_from = o[2] ? o + 2 : argv[a];
		} else if (!strncmp(o, "-F", 2)) {
			if (!o[2] && ++a == argc)
				usage_die("sendmail: -F needs a name");
			from_name = o[2] ? o + 2 : argv[a];
		} else if (!strncmp(o, "-B", 2) || !strncmp(o, "-N", 2) ||
			   !strncmp(o, "-R", 2) || !strncmp(o, "-V", 2) ||
			   !strncmp(o, "-X", 2) || !strncmp(o, "-O", 2) ||
			   !strncmp(o, "-C", 2) || !strncmp(o, "-L", 2) ||
			   !strncmp(o, "-h", 2)) {
			/* ignored, with their argument */
			if (!o[2] && ++a == argc)
				usage_die("sendmail: %s needs a value", o);
		} else if (!strncmp(o, "-o", 2) || !strcmp(o, "-v") || !strcmp(o, "-bm") ||
			   !strcmp(o, "-U") || !strcmp(o, "-m") || !strcmp(o, "-n")) {
			/* ignored */
		} else {
			usage_die("sendmail: option '%s' is not supported", o);
		}
	}
	for (; a < argc; a++) {
		const char *q = argv[a], *c;

		do {
			c = strchrnul(q, ',');
			rcpt_take(&r, q, c - q);
			q = *c ? c + 1 : c;
		} while (*q);
	}

	msg = slurp("-", KSMTP_BODY_MAX + KSMTP_HEADERS_MAX, &len);
	/* Without -i, a line of a single "." ends it. */
	for (p = msg; !opt_i && p < msg + len;) {
		char *nl = memchr(p, '\n', msg + len - p);
		size_t l = (nl ? nl : msg + len) - p;

		if (l && p[l - 1] == '\r')
			l--;
		if (l == 1 && *p == '.') {
			len = p - msg;
			break;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	/* An mbox "From " line first is no header. */
	p = msg;
	if (len > 5 && !strncmp(p, "From ", 5)) {
		char *nl = memchr(p, '\n', len);

		p = nl ? nl + 1 : msg + len;
	}
	/* The header section: the leading field and continuation lines. */
	hdr = p;
	while (p < msg + len) {
		char *nl = memchr(p, '\n', msg + len - p);
		size_t l = (nl ? nl : msg + len) - p;

		if (l && p[l - 1] == '\r')
			l--;
		if (!l) {
			p = nl ? nl + 1 : msg + len;	/* the empty line */
			break;
		}
		if (!is_field(p, l) && !((*p == ' ' || *p == '\t') && p > hdr))
			break;
		p = nl ? nl + 1 : msg + len;
	}
	body = p;
	hlen = body - hdr;
	if (hlen > KSMTP_HEADERS_MAX)
		die("sendmail: the header section is longer than %d octets", KSMTP_HEADERS_MAX);
	if ((size_t)(msg + len - body) > KSMTP_BODY_MAX)
		die("sendmail: the body is larger than 1 MiB");
	/* Copy the header section twice, without Bcc (as sendmail does, with
	 * -t or not; the kernel refuses it): as given, and for a send group
	 * member with the fields that name a sender renamed X-Original-*
	 * (the kernel refuses them from a member). Which one goes is the
	 * kernel's to say (CAP_NET_ADMIN in the initial user namespace, not
	 * uid 0): see below. A renamed field is at least "From:" (5 octets),
	 * 16 after: at most 4 times its length.
	 */
	cap = hlen * 4 + 64;
	out = malloc(hlen + 1);
	mout = malloc(cap);
	if (!out || !mout)
		die("out of memory");
	k = 0;
	mk = 0;
	for (p = hdr; p < body;) {
		char *nl = memchr(p, '\n', body - p);
		char *end = nl ? nl + 1 : body;
		size_t l = end - p;
		char *v, *vend;

		if (l <= 2 && (*p == '\n' || *p == '\r'))
			break;	/* the empty line */
		/* the field and its continuations */
		while (end < body && (*end == ' ' || *end == '\t')) {
			nl = memchr(end, '\n', body - end);
			end = nl ? nl + 1 : body;
		}
		l = end - p;
		if (opt_t && (field_named(p, "To") || field_named(p, "Cc") ||
			      field_named(p, "Bcc"))) {
			v = strndup(strchr(p, ':') + 1, end - strchr(p, ':') - 1);
			if (!v)
				die("out of memory");
			for (vend = v; *vend; vend++)
				if (*vend == '\r' || *vend == '\n')
					*vend = ' ';
			rcpt_parse_list(&r, v);
			free(v);
		}
		if (field_named(p, "Bcc")) {
			p = end;
			continue;
		}
		if (names_sender(p)) {
			memcpy(mout + mk, "X-Original-", 11);
			mk += 11;
			renamed = true;
		}
		memcpy(mout + mk, p, l);
		mk += l;
		memcpy(out + k, p, l);
		k += l;
		p = end;
	}
	/* Without the line break after the last field (the kernel adds it). */
	k = trim_eol(out, k);
	mk = trim_eol(mout, mk);
	out[k] = '\0';
	mout[mk] = '\0';
	if (strlen(out) != k)
		die("sendmail: the header section holds a NUL octet");

	if (!r.n && !r.configured)
		die("sendmail: no recipients");
	if (r.configured && r.n)
		die("sendmail: a local recipient (the configured recipients) with addresses: give the configured ones in " KSMTP_CONF_DIR "/aliases (default: ADDR, ...)");
	rcpt_list = NULL;
	if (r.n) {
		size_t n = 1;

		for (i = 0; i < r.n; i++)
			n += strlen(r.addr[i]) + 2;
		rcpt_list = calloc(1, n);
		if (!rcpt_list)
			die("out of memory");
		for (i = 0; i < r.n; i++) {
			if (i)
				strcat(rcpt_list, ",");
			strcat(rcpt_list, r.addr[i]);
			free(r.addr[i]);
		}
	}
	if (env_from && env_from[0] && !strchr(env_from, '@'))
		env_from = NULL;
	if (env_from && !strcmp(env_from, "<>"))
		env_from = "";
	sa.to = rcpt_list;
	sa.headers = out;
	sa.env_from = env_from;
	sa.from_name = from_name;
	cap = msg + len - body;
	sa.body = body;
	sa.body_len = cap;
	/* As given; when the kernel refuses it as a send group member's (it
	 * named a sender: nothing was sent), again as a member's: the fields
	 * renamed, without -f.
	 */
	sa.member_retry = renamed || env_from;
	a = do_send(&sa);
	if (a < 0) {
		sa.headers = mout;
		sa.env_from = NULL;
		sa.member_retry = false;
		a = do_send(&sa);
	}
	free(msg);
	free(out);
	free(mout);
	free(rcpt_list);
	return a;
}

/* ---- pstore: the crash logs of earlier boots ---- */

static const char pstore_help[] =
	"usage: ksmtpctl pstore [DIR]\n"
	"Mail each kernel log that pstore kept from an earlier boot (the\n"
	"dmesg-* records in DIR, default /sys/fs/pstore: a panic or oops logged\n"
	"to ramoops, EFI or another backend) to the configured recipients, one\n"
	"mail per record, and remove each record once the server accepted its\n"
	"mail (which erases it from the backend): the next boot does not send it\n"
	"again. Without DIR, also each boot's dmesg.txt that systemd-pstore\n"
	"archived in /var/lib/systemd/pstore, marked (.ksmtp-sent) once mailed.\n"
	"A record whose mail failed stays for the next run. The boot unit runs\n"
	"it. Exit status 0 all sent (or none there), 1 one failed.\n";

/* The line that says what happened: the panic message, else the first
 * BUG/Oops/warning line, else the record's first line; without the
 * "<N>[ time] " prefix.
 */
static void pstore_summary(const char *log, size_t len, char *out, size_t cap)
{
	static const char * const marks[] = {
		"Kernel panic - not syncing", "BUG:", "Oops", "general protection",
		"Unable to handle", "WARNING:", NULL,
	};
	const char *best = NULL, *p, *e;
	size_t l;
	int m, best_m = 99;

	for (p = log; p < log + len; p = e + 1) {
		e = memchr(p, '\n', log + len - p);
		if (!e)
			e = log + len;
		for (m = 0; marks[m] && m < best_m; m++) {
			const char *hit = memmem(p, e - p, marks[m], strlen(marks[m]));

			if (hit) {
				best = hit;
				best_m = m;
				break;
			}
		}
		if (e == log + len)
			break;
	}
	if (!best)
		best = log;
	e = memchr(best, '\n', log + len - best);
	l = (e ? e : log + len) - best;
	if (l >= cap)
		l = cap - 1;
	memcpy(out, best, l);
	out[l] = '\0';
	for (p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			out[p - out] = ' ';
}

static int pstore_filter(const struct dirent *d)
{
	return !strncmp(d->d_name, "dmesg-", 6);
}

static int subdir_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Mail one record; then @marker is created (systemd's archive, which is
 * the admin's to keep) or, without one, the record removed (pstore's file
 * system: that erases it from the backend). 0 when done.
 */
static int pstore_one(const char *path, const char *name, const char *marker)
{
	struct send_args sa = { .prio = KSMTP_PRIO_HIGH, .quiet = true };
	char subject[512], what[200], host[256] = "?";
	struct utsname u;
	const char *kind;
	size_t len;
	char *log;
	int fd;

	gethostname(host, sizeof(host) - 1);
	if (uname(&u))
		strcpy(u.release, "?");
	log = slurp(path, KSMTP_BODY_MAX, &len);
	/* "Panic#1 Part1" or "Oops#2 Part1" first (ramoops, efi) */
	kind = !strncmp(log, "Panic", 5) ? "panic" : !strncmp(log, "Oops", 4) ? "oops" : "crash";
	pstore_summary(log, len, what, sizeof(what));
	snprintf(subject, sizeof(subject), "%.64s: kernel %s (%.64s, %.64s): %s", host, kind, u.release,
		 name, what);
	sa.subject = subject;
	sa.body = log;
	sa.body_len = len;
	if (do_send(&sa)) {
		free(log);
		return 1;
	}
	free(log);
	if (marker) {
		fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			fprintf(stderr, "%s: pstore: %s sent, but %s not made: %s\n", prog, path,
				marker, strerror(errno));
			return 1;
		}
		close(fd);
		printf("%s: sent and marked\n", path);
	} else if (unlink(path)) {
		fprintf(stderr, "%s: pstore: %s sent, but not removed: %s\n", prog, path,
			strerror(errno));
		return 1;
	} else {
		printf("%s: sent and removed\n", path);
	}
	return 0;
}

/* pstore's dmesg-* records in @dir; or, @archive, systemd-pstore's
 * directories (one per boot, each with dmesg.txt) under it.
 */
static int pstore_dir(const char *dir, bool archive)
{
	char path[PATH_MAX], marker[PATH_MAX];
	struct dirent **ents;
	int n, i, rc = 0;

	n = scandir(dir, &ents, archive ? subdir_filter : pstore_filter, alphasort);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;	/* nothing kept there */
		fprintf(stderr, "%s: pstore: %s: %s\n", prog, dir, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (archive) {
			snprintf(path, sizeof(path), "%s/%s/dmesg.txt", dir, ents[i]->d_name);
			snprintf(marker, sizeof(marker), "%s/%s/.ksmtp-sent", dir,
				 ents[i]->d_name);
			if (!access(path, R_OK) && access(marker, F_OK))
				rc |= pstore_one(path, ents[i]->d_name, marker);
		} else {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			rc |= pstore_one(path, ents[i]->d_name, NULL);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static int cmd_pstore(int argc, char **argv)
{
	int rc;

	if (argc > 2)
		usage_die("pstore: one directory at most");
	if (argc == 2)
		return pstore_dir(argv[1], false);
	rc = pstore_dir("/sys/fs/pstore", false);
	/* systemd-pstore may have moved them there first (Storage=external) */
	return rc | pstore_dir("/var/lib/systemd/pstore", true);
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
	static const struct {
		const char *json;
		int attr;
	} qs[] = {
		{ "queued", KSMTP_A_STATS_QUEUED }, { "retried", KSMTP_A_STATS_RETRIED },
		{ "expired", KSMTP_A_STATS_EXPIRED }, { "dropped", KSMTP_A_STATS_DROPPED },
		{ "coalesced", KSMTP_A_STATS_COALESCED }, { "refused", KSMTP_A_STATS_REFUSED },
		{ "length", KSMTP_A_STATS_QUEUE_LEN }, { "bytes", KSMTP_A_STATS_QUEUE_BYTES },
	};
	struct nlattr *phases[KSMTP_PHASE_MAX + 1] = { 0 };
	struct request rq;
	struct nlattr **st;
	size_t i;

	want_json(argc, argv);
	simple(&rq, KSMTP_CMD_STATS_GET);
	st = rq.a.stats;
	if (st[KSMTP_A_STATS_FAILED_PHASE])
		nla_parse_nested(phases, KSMTP_PHASE_MAX, st[KSMTP_A_STATS_FAILED_PHASE], NULL);
	if (opt_json) {
		struct json_object *o = jobj(), *p = jobj(), *q = jobj();

		jset(o, "sent", ju64(get_u64(st[KSMTP_A_STATS_SENT])));
		jset(o, "failed_transient", ju64(get_u64(st[KSMTP_A_STATS_FAILED_TRANSIENT])));
		jset(o, "failed_permanent", ju64(get_u64(st[KSMTP_A_STATS_FAILED_PERMANENT])));
		for (i = 1; i <= KSMTP_PHASE_MAX; i++)
			jset(p, phase_names[i], ju64(get_u64(phases[i])));
		jset(o, "failed_by_phase", p);
		for (i = 0; i < ARRAY_SIZE(qs); i++)
			jset(q, qs[i].json, ju64(get_u64(st[qs[i].attr])));
		jset(o, "queue", q);
		jset(o, "last_error", rq.a.res[KSMTP_A_RES_ERRNO] ? result_json(rq.a.res) : NULL);
		jprint(stdout, o);
		rq_free(&rq);
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
		print_result(stdout, rq.a.res);
		putchar('\n');
	}
	rq_free(&rq);
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

/* A queue entry's figures, for queue -j and monitor -j. */
static void qe_json(struct json_object *o, struct nlattr **qe)
{
	jset(o, "rcpt", jstr(str_or(qe[KSMTP_A_QE_RCPT], "")));
	jset(o, "recipients", jrcpts(str_or(qe[KSMTP_A_QE_RCPT], "")));
	jset(o, "subject", jstr(str_or(qe[KSMTP_A_QE_SUBJECT], "")));
	jset(o, "attempts", ju64(u32_or0(qe[KSMTP_A_QE_ATTEMPTS])));
	jset(o, "repeats", ju64(u32_or0(qe[KSMTP_A_QE_REPEATS])));
}

static void print_qmail(struct request *rq, struct attrs *a)
{
	struct nlattr **qe = a->qe, **res = a->res;
	unsigned long long id = get_u64(qe[KSMTP_A_QE_ID]);
	uint32_t prio = u32_or0(qe[KSMTP_A_QE_PRIORITY]);

	if (opt_json) {
		struct json_object *o = jobj();

		jset(o, "id", ju64(id));
		qe_json(o, qe);
		jset(o, "priority", jstr(prio_names[prio <= KSMTP_PRIO_MAX ? prio : 0]));
		jset(o, "age_ms", ju64(u32_or0(qe[KSMTP_A_QE_AGE_MS])));
		jset(o, "next_ms", ju64(u32_or0(qe[KSMTP_A_QE_NEXT_MS])));
		jset(o, "last_error", res[KSMTP_A_RES_ERRNO] ? result_json(res) : NULL);
		jpush(rq->list, o);
		return;
	}
	printf("%-6llu to %s, \"%s\", %u attempts, %u repeats, age %u ms, next in %u ms",
	       id, str_or(qe[KSMTP_A_QE_RCPT], "(default)"),
	       str_or(qe[KSMTP_A_QE_SUBJECT], ""), u32_or0(qe[KSMTP_A_QE_ATTEMPTS]),
	       u32_or0(qe[KSMTP_A_QE_REPEATS]), u32_or0(qe[KSMTP_A_QE_AGE_MS]),
	       u32_or0(qe[KSMTP_A_QE_NEXT_MS]));
	if (res[KSMTP_A_RES_ERRNO]) {
		printf("; last: ");
		print_result(stdout, res);
	}
	putchar('\n');
}

static int cmd_queue(int argc, char **argv)
{
	struct request rq;

	if (argc == 2 && !strcmp(argv[1], "flush")) {
		simple(&rq, KSMTP_CMD_QUEUE_FLUSH);
		rq_free(&rq);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "retry-now")) {
		simple(&rq, KSMTP_CMD_QUEUE_RETRY);
		rq_free(&rq);
		return 0;
	}
	want_json(argc, argv);
	rq_init(&rq, KSMTP_CMD_QUEUE_GET, NLM_F_DUMP, 0);
	rq.each = print_qmail;
	rq.list = jarr();
	transact(&rq);
	if (opt_json)
		jprint(stdout, rq.list);
	else if (!rq.seen)
		printf("the queue is empty\n");
	if (!opt_json)
		json_object_put(rq.list);
	rq_free(&rq);
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
	unsigned long long id;
	uint32_t type, end;
	const char *what;

	if (nlmsg_hdr(msg)->nlmsg_type != nl_family || gh->cmd != KSMTP_CMD_EVENT)
		return NL_OK;
	parse_msg(&rq->a, msg);
	type = u32_or0(rq->a.ev[KSMTP_A_EV_TYPE]);
	end = u32_or0(rq->a.ev[KSMTP_A_EV_END]);
	id = get_u64(qe[KSMTP_A_QE_ID]);
	if (type > KSMTP_EV_END || end > KSMTP_END_MAX)
		return NL_OK;
	what = type == KSMTP_EV_END ? end_names[end] : types[type];
	if (opt_json) {
		struct json_object *o = jobj();

		jset(o, "event", jstr(what));
		jset(o, "id", ju64(id));
		qe_json(o, qe);
		if (type == KSMTP_EV_RETRY)
			jset(o, "next_ms", ju64(u32_or0(qe[KSMTP_A_QE_NEXT_MS])));
		if (res[KSMTP_A_RES_ERRNO])
			jset(o, "result", result_json(res));
		jprint(stdout, o);
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
			print_result(stdout, res);
		}
		putchar('\n');
	}
	fflush(stdout);
	return NL_OK;
}

static int cmd_monitor(int argc, char **argv)
{
	struct request rq = { 0 };
	int grp, err;

	want_json(argc, argv);
	nl_open();
	grp = genl_ctrl_resolve_grp(nl_sk, KSMTP_GENL_NAME, KSMTP_MCGRP_EVENTS);
	if (grp < 0)
		die("no multicast group '%s': %s", KSMTP_MCGRP_EVENTS, nl_geterror(grp));
	err = nl_socket_add_membership(nl_sk, grp);
	if (err)
		die("cannot join the events group: %s", nl_geterror(err));
	nl_socket_disable_seq_check(nl_sk);
	nl_socket_modify_cb(nl_sk, NL_CB_VALID, NL_CB_CUSTOM, on_event, &rq);
	/* Room for bursts (a flush, an unload): 8 MiB where allowed. */
	if (setsockopt(nl_socket_get_fd(nl_sk), SOL_SOCKET, SO_RCVBUFFORCE, &(int){ 8 << 20 },
		       sizeof(int)))
		setsockopt(nl_socket_get_fd(nl_sk), SOL_SOCKET, SO_RCVBUF, &(int){ 8 << 20 },
			   sizeof(int));
	fprintf(stderr, "%s: monitoring the ksmtp queue's events (Ctrl-C ends)\n", prog);
	for (;;) {
		err = nl_recvmsgs_default(nl_sk);
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

static int cmd_help(int argc, char **argv);

static const char help_help[] =
	"usage: ksmtpctl help [COMMAND]\n"
	"Print what ksmtpctl, or one of its commands, does.\n";

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
	const char *summary;
} commands[] = {
	{ "set", cmd_set, set_help, "change the configuration" },
	{ "config", cmd_set, set_help, "the same as set" },
	{ "setconf", cmd_setconf, setconf_help, "apply a whole configuration from a file" },
	{ "showconf", cmd_showconf, showconf_help, "print the configuration as a file" },
	{ "show", cmd_show, show_help, "print the configuration" },
	{ "send", cmd_send, send_help, "send a mail and print the outcome" },
	{ "sendmail", cmd_sendmail, sendmail_help, "send a whole message from stdin (sendmail -t ...)" },
	{ "pstore", cmd_pstore, pstore_help, "mail each crash log in pstore once, then erase it" },
	{ "stats", cmd_stats, stats_help, "print the statistics" },
	{ "queue", cmd_queue, queue_help, "list, flush or retry the queue" },
	{ "monitor", cmd_monitor, monitor_help, "print the queue's events live" },
	{ "help", cmd_help, help_help, "print this help, or a command's" },
};

static void help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: %s [OPTIONS] COMMAND [ARGS]  (%s help COMMAND for more)\n"
		"       %s [OPTIONS] -batch FILE|-\n"
		"Configure and use ksmtp, the in-kernel SMTP client.\n"
		"Options:\n"
		"  -j, --json          print JSON (show, send, stats, queue, monitor)\n"
		"  -b, -batch FILE     run the commands of FILE ('-': stdin), one a line,\n"
		"                      over one netlink socket; the first failure ends it\n"
		"  -V, --version       print the version\n"
		"  -h, --help          print this help\n"
		"Commands:\n", prog, prog, prog);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "Exit status: 0 done, 1 refused or failed, 2 usage error.\n");
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c;

	if (argc > 2)
		usage_die("help: one command at most");
	if (argc < 2) {
		help(stdout);
		return 0;
	}
	c = find_command(argv[1]);
	if (!c)
		usage_die("help: unknown command '%s'", argv[1]);
	fputs(c->help, stdout);
	return 0;
}

static int run_command(int argc, char **argv)
{
	const struct command *c = find_command(argv[0]);
	int j;

	if (!c)
		usage_die("unknown command '%s'", argv[0]);
	for (j = 1; j < argc; j++) {
		if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
			fputs(c->help, stdout);
			return 0;
		}
	}
	return c->fn(argc, argv);
}

/* Split a -batch line into words: blanks separate them, "..." and '...'
 * quote, a backslash escapes the next character (not within '...'), and a
 * word starting with '#' begins a comment. Returns the number of words.
 */
static int split_line(char *line, char **argv, int max, const char *where)
{
	char *r = line, *w = line;
	int argc = 0;

	for (;;) {
		char quote = 0;

		while (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')
			r++;
		if (!*r || *r == '#')
			return argc;
		if (argc == max)
			die("%s: more than %d words", where, max);
		argv[argc++] = w;
		for (; *r; r++) {
			if (quote && *r == quote) {
				quote = 0;
			} else if (!quote && (*r == '"' || *r == '\'')) {
				quote = *r;
			} else if (quote != '\'' && *r == '\\' && r[1]) {
				*w++ = *++r;
			} else if (!quote && strchr(" \t\r\n", *r)) {
				r++;
				break;
			} else {
				*w++ = *r;
			}
		}
		if (quote)
			die("%s: unmatched %c", where, quote);
		*w++ = '\0';
	}
}

/* ip -batch: each line a command, all over one netlink socket, until the
 * first that fails (its status is ksmtpctl's).
 */
static int run_batch(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	bool json = opt_json;
	char where[PATH_MAX + 32];
	char *line = NULL, *argv[256];
	unsigned int n = 0;
	size_t cap = 0;
	int argc, rc;

	if (!f)
		die("%s: %s", path, strerror(errno));
	batch_running = true;
	while (getline(&line, &cap, f) >= 0) {
		snprintf(where, sizeof(where), "%s:%u", path, ++n);
		argc = split_line(line, argv, ARRAY_SIZE(argv) - 1, where);
		if (!argc)
			continue;
		argv[argc] = NULL;
		batch_where = where;
		opt_json = json;
		rc = run_command(argc, argv);
		fflush(stdout);
		if (rc)
			return rc;
		batch_where = NULL;
	}
	if (ferror(f))
		die("%s: %s", path, strerror(errno));
	free(line);
	return 0;
}

int main(int argc, char **argv)
{
	const char *batch = NULL, *base = strrchr(argv[0], '/');
	int i;

	/* Installed as sendmail: its options, not ksmtpctl's. */
	if (!strcmp(base ? base + 1 : argv[0], "sendmail")) {
		prog = "sendmail";
		argv[0] = "sendmail";
		return cmd_sendmail(argc, argv);
	}
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--")) {
			i++;
			break;
		} else if (!strcmp(o, "-j") || !strcmp(o, "-json") || !strcmp(o, "--json")) {
			opt_json = true;
		} else if (!strcmp(o, "-V") || !strcmp(o, "-version") || !strcmp(o, "--version")) {
			printf("%s %s\n", prog, KSMTP_VERSION);
			return 0;
		} else if (!strcmp(o, "-h") || !strcmp(o, "-help") || !strcmp(o, "--help")) {
			help(stdout);
			return 0;
		} else if (!strcmp(o, "-b") || !strcmp(o, "-batch") || !strcmp(o, "--batch")) {
			if (++i == argc)
				usage_die("%s: which file?", o);
			batch = argv[i];
		} else {
			usage_die("unknown option '%s'", o);
		}
	}
	if (batch) {
		if (i < argc)
			usage_die("-batch runs the commands of its file: no command after it");
		return run_batch(batch);
	}
	if (i == argc) {
		help(stderr);
		return 2;
	}
	return run_command(argc - i, argv + i);
}
