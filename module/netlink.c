// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "ksmtp": per network namespace, the default
 * client (configure, read back, send through it) and its statistics.
 *
 * Locking: the family is parallel_ops, so no genl mutex is held; genetlink
 * still holds its global cb_lock for reading around every handler, so no
 * handler here waits for the network: SEND hands the mail to a worker and
 * answers at once, and the outcome follows as a message to the sender's
 * socket. Each namespace has a mutex for configuration updates (short,
 * never across a session) and a spinlock for the pointer to its current
 * client, taken only to grab a reference. A send holds a client reference
 * and no lock, so a slow server blocks nothing but its own mail, and a new
 * configuration never disturbs the mails in flight: they finish with the
 * client they started with.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/rtnetlink.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <net/net_namespace.h>

#include "client.h"
#include "session.h"
#include "encode.h"
#include "netlink.h"
#include "netns.h"
#include "queue.h"
#include "tls.h"

unsigned int ksmtp_net_id __read_mostly;
/* Every namespace's state, so that unload reaches each one, including one
 * whose setup runs meanwhile (not yet on the kernel's list of namespaces);
 * and the module going: namespaces set up after that start closed.
 */
static DEFINE_MUTEX(nets_lock);
/* KSMTP_CMD_SEND's workers: apart from the queue's, so that a host's
 * fault reports never wait behind an admin's sends.
 */
static struct workqueue_struct *sends_wq;
static LIST_HEAD(nets);
static bool ksmtp_going;

static struct netlink_range_validation timeout_range = {
	.min = 100,
	.max = 3600 * 1000,
};

static struct netlink_range_validation queue_max_range = { .min = 1, .max = 65536 };

static struct netlink_range_validation queue_bytes_range = { .min = 4096, .max = 256 << 20 };

static struct netlink_range_validation retry_max_range = { .min = 1, .max = 1000 };

static struct netlink_range_validation retry_age_range = { .min = 1, .max = 7 * 86400 };

static struct netlink_range_validation coalesce_range = { .min = 0, .max = 3600 * 1000 };

static const struct nla_policy ksmtp_cfg_policy[KSMTP_A_MAX + 1] = {
	[KSMTP_A_CFG_SERVER_ADDR] = { .type = NLA_BINARY, .len = 16 },
	[KSMTP_A_CFG_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[KSMTP_A_CFG_USERNAME] = { .type = NLA_NUL_STRING, .len = KSMTP_STR_MAX },
	[KSMTP_A_CFG_PASSWORD] = { .type = NLA_NUL_STRING, .len = KSMTP_STR_MAX },
	[KSMTP_A_CFG_FROM] = { .type = NLA_NUL_STRING, .len = KSMTP_ADDR_MAX },
	[KSMTP_A_CFG_DOMAIN] = { .type = NLA_NUL_STRING, .len = KSMTP_DOMAIN_MAX },
	[KSMTP_A_CFG_AUTH] = NLA_POLICY_MAX(NLA_U32, KSMTP_AUTH_MAX),
	[KSMTP_A_CFG_HELO_ONLY] = NLA_POLICY_MAX(NLA_U8, 1),
	[KSMTP_A_CFG_TIMEOUT_CONNECT] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_TIMEOUT_GREETING] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_TIMEOUT_COMMAND] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_TIMEOUT_DATA_BLOCK] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_TIMEOUT_FINAL_DOT] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_RCPT] = { .type = NLA_NUL_STRING, .len = KSMTP_RCPT_LIST_MAX },
	[KSMTP_A_CFG_QUEUE_MAX] = NLA_POLICY_FULL_RANGE(NLA_U32, &queue_max_range),
	[KSMTP_A_CFG_QUEUE_BYTES] = NLA_POLICY_FULL_RANGE(NLA_U32, &queue_bytes_range),
	[KSMTP_A_CFG_RETRY_MAX] = NLA_POLICY_FULL_RANGE(NLA_U32, &retry_max_range),
	[KSMTP_A_CFG_RETRY_AGE] = NLA_POLICY_FULL_RANGE(NLA_U32, &retry_age_range),
	[KSMTP_A_CFG_RETRY_BASE_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_COALESCE_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &coalesce_range),
	[KSMTP_A_CFG_TLS] = NLA_POLICY_MAX(NLA_U32, KSMTP_TLS_MAX),
	[KSMTP_A_CFG_TLS_NAME] = { .type = NLA_NUL_STRING, .len = KSMTP_DOMAIN_MAX },
	[KSMTP_A_CFG_TLS_CA_FILE] = { .type = NLA_NUL_STRING, .len = KSMTP_PATH_MAX },
	[KSMTP_A_CFG_AUTH_CLEARTEXT] = NLA_POLICY_MAX(NLA_U8, 1),
};

static const struct nla_policy ksmtp_tls_policy[KSMTP_A_MAX + 1] = {
	[KSMTP_A_TLS_ID] = { .type = NLA_U64 },
	[KSMTP_A_TLS_STATUS] = NLA_POLICY_MAX(NLA_U32, 4095),
	[KSMTP_A_TLS_REASON] = { .type = NLA_NUL_STRING, .len = KSMTP_REASON_MAX - 1 },
	[KSMTP_A_TLS_INFO] = { .type = NLA_NUL_STRING, .len = KSMTP_TLS_INFO_MAX - 1 },
};

static const struct nla_policy ksmtp_send_policy[KSMTP_A_MAX + 1] = {
	[KSMTP_A_MAIL_RCPT] = { .type = NLA_NUL_STRING, .len = KSMTP_RCPT_LIST_MAX },
	[KSMTP_A_MAIL_SUBJECT] = { .type = NLA_NUL_STRING, .len = KSMTP_SUBJECT_MAX },
	[KSMTP_A_MAIL_PRIORITY] = NLA_POLICY_MAX(NLA_U32, KSMTP_PRIO_MAX),
	[KSMTP_A_MAIL_BODY] = { .type = NLA_BINARY },
	[KSMTP_A_MAIL_QUEUE] = NLA_POLICY_MAX(NLA_U8, 1),
};

static void nlcfg_free(struct ksmtp_nlcfg *cfg)
{
	kfree(cfg->user);
	kfree_sensitive(cfg->pass);
	kfree(cfg->from);
	kfree(cfg->domain);
	kfree(cfg->rcpt);
	kfree(cfg->tls_name);
	kfree(cfg->ca_file);
}

static void nlcfg_link(struct ksmtp_nlcfg *cfg)
{
	cfg->c.kc_username = cfg->user;
	cfg->c.kc_password = cfg->pass;
	cfg->c.kc_from = cfg->from;
	cfg->c.kc_domain = cfg->domain;
	cfg->c.kc_tls_name = cfg->tls_name;
	cfg->c.kc_tls_ca_file = cfg->ca_file;
}

/* A string attribute: no NUL inside (NLA_NUL_STRING stops at the first). */
static int take_str(struct genl_info *info, int type, char **dst,
		    const char *(*check)(const char *s))
{
	struct nlattr *a = info->attrs[type];
	const char *why = NULL;
	char *s;

	if (!a)
		return 0;
	if (strnlen(nla_data(a), nla_len(a)) + 1 != nla_len(a)) {
		NL_SET_ERR_MSG_ATTR(info->extack, a, "string holds a NUL octet");
		return -EINVAL;
	}
	if (strpbrk(nla_data(a), "\r\n"))
		why = "string holds CR or LF";
	else if (check && *(char *)nla_data(a))
		why = check(nla_data(a));
	if (why) {
		/* 6.1 has no formatted extack: a static reason, the attribute
		 * named by its offset (ksmtpctl prints its name).
		 */
		if (info->extack)
			info->extack->_msg = why;
		NL_SET_BAD_ATTR(info->extack, a);
		return -EINVAL;
	}
	s = kstrdup(nla_data(a), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	/* The request's copy of a password goes in wipe_password(). */
	if (type == KSMTP_A_CFG_PASSWORD)
		kfree_sensitive(*dst);
	else
		kfree(*dst);
	*dst = s;
	return 0;
}

static const char *check_addr(const char *s)
{
	bool utf8;

	return ksmtp_check_address(s, &utf8);
}

static const char *check_rcpts(const char *s)
{
	bool utf8;

	return ksmtp_check_rcpt_list(s, &utf8);
}

static int nlcfg_apply(struct ksmtp_nlcfg *cfg, struct genl_info *info)
{
	static const struct {
		int type;
		size_t off;
	} timeouts[] = {
		{ KSMTP_A_CFG_TIMEOUT_CONNECT, offsetof(struct ksmtp_timeouts, kt_connect_ms) },
		{ KSMTP_A_CFG_TIMEOUT_GREETING, offsetof(struct ksmtp_timeouts, kt_greeting_ms) },
		{ KSMTP_A_CFG_TIMEOUT_COMMAND, offsetof(struct ksmtp_timeouts, kt_command_ms) },
		{ KSMTP_A_CFG_TIMEOUT_DATA_BLOCK,
		  offsetof(struct ksmtp_timeouts, kt_data_block_ms) },
		{ KSMTP_A_CFG_TIMEOUT_FINAL_DOT, offsetof(struct ksmtp_timeouts, kt_final_dot_ms) },
	};
	struct nlattr **attrs = info->attrs;
	struct nlattr *a = attrs[KSMTP_A_CFG_SERVER_ADDR];
	const char *why;
	unsigned int i;
	int err;

	if (a) {
		struct sockaddr_storage *ss = &cfg->c.kc_server;

		memset(ss, 0, sizeof(*ss));
		if (nla_len(a) == 4) {
			ss->ss_family = AF_INET;
			memcpy(&((struct sockaddr_in *)ss)->sin_addr, nla_data(a), 4);
		} else if (nla_len(a) == 16) {
			ss->ss_family = AF_INET6;
			memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, nla_data(a), 16);
		} else {
			NL_SET_ERR_MSG_ATTR(info->extack, a,
					    "server address must be 4 (IPv4) or 16 (IPv6) octets");
			return -EINVAL;
		}
		cfg->server_set = true;
	}
	if (attrs[KSMTP_A_CFG_PORT])
		cfg->c.kc_port = nla_get_u16(attrs[KSMTP_A_CFG_PORT]);
	if (attrs[KSMTP_A_CFG_AUTH])
		cfg->c.kc_auth = nla_get_u32(attrs[KSMTP_A_CFG_AUTH]);
	if (attrs[KSMTP_A_CFG_HELO_ONLY])
		cfg->c.kc_helo_only = nla_get_u8(attrs[KSMTP_A_CFG_HELO_ONLY]);
	if (attrs[KSMTP_A_CFG_TLS])
		cfg->c.kc_tls = nla_get_u32(attrs[KSMTP_A_CFG_TLS]);
	if (attrs[KSMTP_A_CFG_AUTH_CLEARTEXT])
		cfg->c.kc_auth_cleartext = nla_get_u8(attrs[KSMTP_A_CFG_AUTH_CLEARTEXT]);
	for (i = 0; i < ARRAY_SIZE(timeouts); i++)
		if (attrs[timeouts[i].type])
			*(unsigned int *)((char *)&cfg->c.kc_timeouts + timeouts[i].off) =
				nla_get_u32(attrs[timeouts[i].type]);

	err = take_str(info, KSMTP_A_CFG_USERNAME, &cfg->user, NULL) ?:
	      take_str(info, KSMTP_A_CFG_PASSWORD, &cfg->pass, NULL) ?:
	      take_str(info, KSMTP_A_CFG_FROM, &cfg->from, check_addr) ?:
	      take_str(info, KSMTP_A_CFG_DOMAIN, &cfg->domain, ksmtp_check_domain) ?:
	      take_str(info, KSMTP_A_CFG_RCPT, &cfg->rcpt, check_rcpts) ?:
	      take_str(info, KSMTP_A_CFG_TLS_NAME, &cfg->tls_name, ksmtp_check_tls_name) ?:
	      take_str(info, KSMTP_A_CFG_TLS_CA_FILE, &cfg->ca_file, ksmtp_check_ca_file);
	if (err)
		return err;
	if (attrs[KSMTP_A_CFG_FROM] && !cfg->from[0]) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[KSMTP_A_CFG_FROM],
				    "from address cannot be empty");
		return -EINVAL;
	}
	if (cfg->c.kc_auth != KSMTP_AUTH_NONE && (!cfg->user || !cfg->user[0])) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[KSMTP_A_CFG_AUTH] ?:
				    attrs[KSMTP_A_CFG_USERNAME],
				    "an auth mechanism needs a username");
		return -EINVAL;
	}
	nlcfg_link(cfg);
	why = ksmtp_config_tls_check(&cfg->c);
	if (why) {
		/* Name the attribute the admin just set that conflicts. */
		static const int tls_attrs[] = {
			KSMTP_A_CFG_TLS, KSMTP_A_CFG_TLS_NAME, KSMTP_A_CFG_HELO_ONLY,
		};

		if (info->extack)
			info->extack->_msg = why;
		for (i = 0; i < ARRAY_SIZE(tls_attrs); i++) {
			if (attrs[tls_attrs[i]]) {
				NL_SET_BAD_ATTR(info->extack, attrs[tls_attrs[i]]);
				break;
			}
		}
		return -EINVAL;
	}
	return 0;
}

static void queue_config(struct ksmtp_queue *q, struct nlattr **attrs)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (attrs[KSMTP_A_CFG_QUEUE_MAX])
		q->max_count = nla_get_u32(attrs[KSMTP_A_CFG_QUEUE_MAX]);
	if (attrs[KSMTP_A_CFG_QUEUE_BYTES])
		q->max_bytes = nla_get_u32(attrs[KSMTP_A_CFG_QUEUE_BYTES]);
	if (attrs[KSMTP_A_CFG_RETRY_MAX])
		q->retry_max = nla_get_u32(attrs[KSMTP_A_CFG_RETRY_MAX]);
	if (attrs[KSMTP_A_CFG_RETRY_AGE])
		q->retry_age_s = nla_get_u32(attrs[KSMTP_A_CFG_RETRY_AGE]);
	if (attrs[KSMTP_A_CFG_RETRY_BASE_MS])
		q->retry_base_ms = nla_get_u32(attrs[KSMTP_A_CFG_RETRY_BASE_MS]);
	if (attrs[KSMTP_A_CFG_COALESCE_MS])
		q->coalesce_ms = nla_get_u32(attrs[KSMTP_A_CFG_COALESCE_MS]);
	spin_unlock_irqrestore(&q->lock, flags);
}

static char *dup_or_null(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = kstrdup(s, GFP_KERNEL);
	if (!d)
		*err = -ENOMEM;
	return d;
}

/* The password leaves the request once copied (or refused): an error's
 * ack echoes the request, and the skb may linger. (A request the policy
 * refuses before the handler runs is echoed as it came, to its sender.)
 */
static void wipe_password(struct genl_info *info)
{
	struct nlattr *a;
	int rem;

	/* Every copy of it: the attribute may come more than once. */
	nla_for_each_attr(a, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem)
		if (nla_type(a) == KSMTP_A_CFG_PASSWORD)
			memzero_explicit(nla_data(a), nla_len(a));
}

static int config_set(struct genl_info *info)
{
	struct ksmtp_net *kn = ksmtp_net(genl_info_net(info));
	struct ksmtp_client *client = NULL;
	struct ksmtp_nlcfg cfg;
	int err = 0;

	mutex_lock(&kn->lock);
	cfg = kn->cfg;
	cfg.user = dup_or_null(kn->cfg.user, &err);
	cfg.pass = dup_or_null(kn->cfg.pass, &err);
	cfg.from = dup_or_null(kn->cfg.from, &err);
	cfg.domain = dup_or_null(kn->cfg.domain, &err);
	cfg.rcpt = dup_or_null(kn->cfg.rcpt, &err);
	cfg.tls_name = dup_or_null(kn->cfg.tls_name, &err);
	cfg.ca_file = dup_or_null(kn->cfg.ca_file, &err);
	if (!err)
		err = nlcfg_apply(&cfg, info);
	if (err)
		goto refuse;
	nlcfg_link(&cfg);
	if (cfg.server_set && cfg.from) {
		client = ksmtp_client_create(&cfg.c);
		if (IS_ERR(client)) {
			err = PTR_ERR(client);
			NL_SET_ERR_MSG_MOD(info->extack, "configuration refused");
			goto refuse;
		}
	}
	nlcfg_free(&kn->cfg);
	kn->cfg = cfg;
	queue_config(&kn->queue, info->attrs);
	if (client)
		ksmtp_client_put(ksmtp_net_set_client(kn, client));
	mutex_unlock(&kn->lock);
	return 0;

refuse:
	mutex_unlock(&kn->lock);
	nlcfg_free(&cfg);
	return err;
}

static int ksmtp_nl_config_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	int err = config_set(info);

	wipe_password(info);
	return err;
}

static int put_str(struct sk_buff *skb, int type, const char *s)
{
	return s ? nla_put_string(skb, type, s) : 0;
}

static int put_queue_config(struct sk_buff *msg, struct ksmtp_queue *q)
{
	u32 v[6];
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	v[0] = q->max_count;
	v[1] = q->max_bytes;
	v[2] = q->retry_max;
	v[3] = q->retry_age_s;
	v[4] = q->retry_base_ms;
	v[5] = q->coalesce_ms;
	spin_unlock_irqrestore(&q->lock, flags);
	return nla_put_u32(msg, KSMTP_A_CFG_QUEUE_MAX, v[0]) ?:
	       nla_put_u32(msg, KSMTP_A_CFG_QUEUE_BYTES, v[1]) ?:
	       nla_put_u32(msg, KSMTP_A_CFG_RETRY_MAX, v[2]) ?:
	       nla_put_u32(msg, KSMTP_A_CFG_RETRY_AGE, v[3]) ?:
	       nla_put_u32(msg, KSMTP_A_CFG_RETRY_BASE_MS, v[4]) ?:
	       nla_put_u32(msg, KSMTP_A_CFG_COALESCE_MS, v[5]);
}

static int ksmtp_nl_config_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ksmtp_net *kn = ksmtp_net(genl_info_net(info));
	const struct ksmtp_timeouts *t;
	const struct ksmtp_nlcfg *cfg;
	struct sk_buff *msg;
	void *hdr;
	int err;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ksmtp_nl_family, 0,
				KSMTP_CMD_CONFIG_GET);
	if (!hdr) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	mutex_lock(&kn->lock);
	cfg = &kn->cfg;
	t = &cfg->c.kc_timeouts;
	err = nla_put_u8(msg, KSMTP_A_CFG_CONFIGURED, cfg->server_set && cfg->from);
	if (!err && cfg->server_set) {
		const struct sockaddr_storage *ss = &cfg->c.kc_server;

		if (ss->ss_family == AF_INET)
			err = nla_put_in_addr(msg, KSMTP_A_CFG_SERVER_ADDR,
					      ((struct sockaddr_in *)ss)->sin_addr.s_addr);
		else
			err = nla_put_in6_addr(msg, KSMTP_A_CFG_SERVER_ADDR,
					       &((struct sockaddr_in6 *)ss)->sin6_addr);
	}
	err = err ?:
	      nla_put_u16(msg, KSMTP_A_CFG_PORT,
			  cfg->c.kc_port ?: ksmtp_default_port(cfg->c.kc_tls)) ?:
	      put_str(msg, KSMTP_A_CFG_USERNAME, cfg->user) ?:
	      nla_put_u8(msg, KSMTP_A_CFG_PASSWORD_SET, cfg->pass && cfg->pass[0]) ?:
	      put_str(msg, KSMTP_A_CFG_FROM, cfg->from) ?:
	      put_str(msg, KSMTP_A_CFG_DOMAIN, cfg->domain) ?:
	      put_str(msg, KSMTP_A_CFG_RCPT, cfg->rcpt) ?:
	      put_str(msg, KSMTP_A_CFG_TLS_NAME, cfg->tls_name) ?:
	      put_str(msg, KSMTP_A_CFG_TLS_CA_FILE, cfg->ca_file) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_TLS, cfg->c.kc_tls) ?:
	      nla_put_u8(msg, KSMTP_A_CFG_AUTH_CLEARTEXT, cfg->c.kc_auth_cleartext) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_AUTH, cfg->c.kc_auth) ?:
	      nla_put_u8(msg, KSMTP_A_CFG_HELO_ONLY, cfg->c.kc_helo_only) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_TIMEOUT_CONNECT,
			  t->kt_connect_ms ?: KSMTP_TIMEOUT_CONNECT_MS) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_TIMEOUT_GREETING,
			  t->kt_greeting_ms ?: KSMTP_TIMEOUT_GREETING_MS) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_TIMEOUT_COMMAND,
			  t->kt_command_ms ?: KSMTP_TIMEOUT_COMMAND_MS) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_TIMEOUT_DATA_BLOCK,
			  t->kt_data_block_ms ?: KSMTP_TIMEOUT_DATA_BLOCK_MS) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_TIMEOUT_FINAL_DOT,
			  t->kt_final_dot_ms ?: KSMTP_TIMEOUT_FINAL_DOT_MS);
	mutex_unlock(&kn->lock);
	err = err ?: put_queue_config(msg, &kn->queue);
	if (err) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int put_result(struct sk_buff *msg, const struct ksmtp_result *r)
{
	return nla_put_u32(msg, KSMTP_A_RES_ERRNO, -r->kr_err) ?:
	       nla_put_u32(msg, KSMTP_A_RES_PHASE, r->kr_phase) ?:
	       nla_put_u32(msg, KSMTP_A_RES_CODE, r->kr_code) ?:
	       nla_put_string(msg, KSMTP_A_RES_TEXT, r->kr_text) ?:
	       nla_put_u8(msg, KSMTP_A_RES_TRANSIENT, r->kr_transient) ?:
	       nla_put_u8(msg, KSMTP_A_RES_UNKNOWN, r->kr_unknown) ?:
	       nla_put_string(msg, KSMTP_A_RES_REASON, r->kr_reason) ?:
	       (r->kr_tls[0] ? nla_put_string(msg, KSMTP_A_RES_TLS, r->kr_tls) : 0);
}

/**
 * ksmtp_net_account() - count the outcome of one attempt
 * @kn: the namespace
 * @r: the result
 *
 * Context: any but hard IRQ.
 */
void ksmtp_net_account(struct ksmtp_net *kn, const struct ksmtp_result *r)
{
	if (!r->kr_err) {
		atomic64_inc(&kn->sent);
		return;
	}
	atomic64_inc(r->kr_transient ? &kn->failed_transient :
		     &kn->failed_permanent);
	atomic64_inc(&kn->failed_phase[r->kr_phase]);
	spin_lock_bh(&kn->client_lock);
	kn->last = *r;
	spin_unlock_bh(&kn->client_lock);
}

/**
 * ksmtp_net_client() - a reference on the namespace's default client
 * @kn: the namespace
 *
 * Context: any but hard IRQ.
 * Return: the client (ksmtp_client_put() it), or NULL if not configured.
 */
struct ksmtp_client *ksmtp_net_client(struct ksmtp_net *kn)
{
	struct ksmtp_client *client;

	spin_lock_bh(&kn->client_lock);
	client = kn->client ? ksmtp_client_get(kn->client) : NULL;
	spin_unlock_bh(&kn->client_lock);
	return client;
}

/**
 * ksmtp_net_set_client() - make @client the namespace's default client
 * @kn: the namespace
 * @client: the new client; its reference passes to @kn (may be NULL)
 *
 * Sends in flight keep the client they started with.
 *
 * Context: any but hard IRQ.
 * Return: the previous client, whose reference passes to the caller.
 */
struct ksmtp_client *ksmtp_net_set_client(struct ksmtp_net *kn,
					  struct ksmtp_client *client)
{
	struct ksmtp_client *old;

	spin_lock_bh(&kn->client_lock);
	old = kn->client;
	kn->client = client;
	spin_unlock_bh(&kn->client_lock);
	return old;
}

/**
 * ksmtp_net_default_rcpt() - a copy of the configured default recipient
 * @kn: the namespace
 *
 * Context: process context; sleeps.
 * Return: the copy (kfree() it), or NULL if none is configured.
 */
char *ksmtp_net_default_rcpt(struct ksmtp_net *kn)
{
	char *rcpt = NULL;

	mutex_lock(&kn->lock);
	if (kn->cfg.rcpt && kn->cfg.rcpt[0])
		rcpt = kstrdup(kn->cfg.rcpt, GFP_KERNEL);
	mutex_unlock(&kn->lock);
	return rcpt;
}

/* Answer a SEND at once with the mail's id. */
static int reply_id(struct genl_info *info, u64 id)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ksmtp_nl_family, 0, KSMTP_CMD_SEND);
	if (!hdr || nla_put_u64_64bit(msg, KSMTP_A_EV_ID, id, KSMTP_A_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* KSMTP_CMD_SEND with KSMTP_A_MAIL_QUEUE: answer with the id at once. */
static int queue_mail(struct genl_info *info, const struct ksmtp_mail *m)
{
	struct ksmtp_queue_args a = {
		.kq_net = genl_info_net(info),
		.kq_rcpt = m->km_rcpt,
		.kq_priority = m->km_priority,
		.kq_subject = m->km_subject,
		.kq_body = m->km_body,
		.kq_body_len = m->km_body_len,
	};
	u64 id;
	int err;

	err = ksmtp_mail_queue(&a, &id);
	if (err == -ENOSPC)
		NL_SET_ERR_MSG_MOD(info->extack, "the queue is full");
	else if (err == -ESHUTDOWN)
		NL_SET_ERR_MSG_MOD(info->extack, "the queue is going away");
	if (err)
		return err;
	return reply_id(info, id);
}

/**
 * struct ksmtp_nlsend - a KSMTP_CMD_SEND being delivered by a worker
 * @work: runs the session
 * @node: in ksmtp_net.sends_list from acceptance to the outcome
 * @cancel_node: on sends_close()'s list when cancelled before it ran
 * @kn: the namespace's state (its exit waits for every send)
 * @net: the namespace, to answer in
 * @client: the client it goes through (a reference)
 * @sk: the requesting socket (a reference): the outcome goes to it only
 *	while it lives, never to another socket that took its port id
 * @portid: its port id, 0 when no outcome is to be sent
 * @seq: the request's sequence number, repeated in the outcome
 * @id: the mail's id, in the immediate answer and in the outcome
 * @mail: the mail; its strings and body belong to this structure
 * @res: the outcome
 * @out: the message that carries it, allocated up front so that the
 *	sender, who waits for it, gets it
 */
struct ksmtp_nlsend {
	struct work_struct work;
	struct list_head node;
	struct list_head cancel_node;
	struct ksmtp_net *kn;
	struct net *net;
	struct ksmtp_client *client;
	struct sock *sk;
	u32 portid;
	u32 seq;
	u64 id;
	struct ksmtp_mail mail;
	struct ksmtp_result res;
	struct sk_buff *out;
};

static void nlsend_free(struct ksmtp_nlsend *ns)
{
	if (ns->sk)
		sock_put(ns->sk);
	nlmsg_free(ns->out);
	ksmtp_client_put(ns->client);
	kfree(ns->mail.km_rcpt);
	kfree(ns->mail.km_subject);
	kvfree(ns->mail.km_body);
	kfree(ns);
}

/* The family can carry messages: from its registration until the module
 * goes (taken for reading around every message sent outside a handler).
 */
static DECLARE_RWSEM(family_lock);
static bool family_live;

/**
 * ksmtp_nl_multicast() - multicast @msg on a group of the family
 * @net: the namespace
 * @msg: the message; consumed
 * @group: the group's index (enum in the uapi header)
 *
 * Never after the family is unregistered (its group numbers may be
 * another family's by then): the message is dropped then.
 *
 * Context: process context; may sleep.
 * Return: as genlmsg_multicast_netns(), -ESRCH when gone.
 */
int ksmtp_nl_multicast(struct net *net, struct sk_buff *msg, unsigned int group)
{
	int err = -ESRCH;

	down_read(&family_lock);
	if (family_live)
		err = genlmsg_multicast_netns(&ksmtp_nl_family, net, msg, 0, group,
					      GFP_KERNEL);
	else
		nlmsg_free(msg);
	up_read(&family_lock);
	return err;
}

/* The end of a send: its outcome to the sender, then it leaves the count
 * that an exiting namespace or module waits on.
 */
static void nlsend_end(struct ksmtp_nlsend *ns)
{
	struct ksmtp_net *kn = ns->kn;
	struct sk_buff *msg = ns->out;
	bool last;
	void *hdr;
	u32 portid;

	spin_lock(&kn->sends_lock);
	list_del(&ns->node);
	spin_unlock(&kn->sends_lock);
	/* Its socket closed: its port id may be another's now. */
	portid = ns->sk && !sock_flag(ns->sk, SOCK_DEAD) ? ns->portid : 0;

	down_read(&family_lock);
	hdr = family_live && portid ?
	      genlmsg_put(msg, portid, ns->seq, &ksmtp_nl_family, 0, KSMTP_CMD_SEND) : NULL;
	if (hdr && !nla_put_u64_64bit(msg, KSMTP_A_EV_ID, ns->id, KSMTP_A_PAD) &&
	    !put_result(msg, &ns->res)) {
		genlmsg_end(msg, hdr);
		ns->out = NULL;
		/* The sender may be gone: then nobody waits for it. */
		genlmsg_unicast(ns->net, msg, portid);
	}
	up_read(&family_lock);
	nlsend_free(ns);

	spin_lock(&kn->sends_lock);
	last = !--kn->nsends && kn->sends_closing;
	spin_unlock(&kn->sends_lock);
	/* sends_idle() reads under the lock: it sees the count and then
	 * sleeps, or this wakes it; it never sees 0 before the unlock. After
	 * the unlock @kn may be gone: wake_up_var() only hashes the address.
	 */
	if (last)
		wake_up_var(&kn->nsends);
}

static void nlsend_work(struct work_struct *work)
{
	struct ksmtp_nlsend *ns = container_of(work, struct ksmtp_nlsend, work);

	ksmtp_session_run(ns->client, &ns->kn->sends, &ns->mail, &ns->res);
	ksmtp_net_account(ns->kn, &ns->res);
	nlsend_end(ns);
}

/* KSMTP_CMD_SEND: a worker runs the session; the answer goes out now. */
static int send_mail(struct sk_buff *skb, struct genl_info *info,
		     struct ksmtp_net *kn, struct ksmtp_mail *m)
{
	struct ksmtp_nlsend *ns;
	const char *why = NULL;
	int err = 0;

	ns = kzalloc(sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;
	ns->out = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	ns->client = ksmtp_net_client(kn);
	if (!ns->out || !ns->client) {
		err = ns->out ? -ENOTCONN : -ENOMEM;
		nlsend_free(ns);
		if (err == -ENOTCONN)
			NL_SET_ERR_MSG_MOD(info->extack,
					   "not configured: set a server and a from address first");
		return err;
	}
	INIT_WORK(&ns->work, nlsend_work);
	ns->kn = kn;
	ns->net = genl_info_net(info);
	ns->sk = NETLINK_CB(skb).sk;
	if (ns->sk)
		sock_hold(ns->sk);
	ns->portid = info->snd_portid;
	ns->seq = info->snd_seq;
	ns->id = atomic64_inc_return(&kn->send_ids);

	spin_lock(&kn->sends_lock);
	if (kn->sends_closing) {
		err = -ESHUTDOWN;
		why = "the namespace or module is going away";
	} else if (kn->nsends >= KSMTP_SENDS_MAX) {
		err = -EBUSY;
		why = "too many sends in progress: wait, or queue the mail";
	} else {
		kn->nsends++;
		list_add_tail(&ns->node, &kn->sends_list);
	}
	spin_unlock(&kn->sends_lock);
	if (err) {
		nlsend_free(ns);
		if (info->extack)
			info->extack->_msg = why;
		return err;
	}
	err = reply_id(info, ns->id);
	if (err) {
		/* The sender hears of it; nothing was sent, no outcome follows. */
		ns->portid = 0;
		nlsend_end(ns);
		return err;
	}
	/* The strings and body are the worker's now. */
	ns->mail = *m;
	*m = (struct ksmtp_mail){};
	queue_work(sends_wq, &ns->work);
	return 0;
}

/* Namespace exit or unload, first half: no new send; a send not started
 * yet ends here, failed; the sessions of the others are cut.
 */
static void sends_close(struct ksmtp_net *kn)
{
	struct ksmtp_nlsend *ns, *tmp;
	LIST_HEAD(cancelled);

	spin_lock(&kn->sends_lock);
	kn->sends_closing = true;
	list_for_each_entry_safe(ns, tmp, &kn->sends_list, node)
		if (cancel_work(&ns->work))
			list_add_tail(&ns->cancel_node, &cancelled);
	spin_unlock(&kn->sends_lock);
	ksmtp_sessions_abort_all(&kn->sends);
	list_for_each_entry_safe(ns, tmp, &cancelled, cancel_node) {
		ns->res.kr_err = -ESHUTDOWN;
		ns->res.kr_transient = true;
		strscpy(ns->res.kr_reason, "the namespace or module goes away",
			sizeof(ns->res.kr_reason));
		nlsend_end(ns);
	}
}

static bool sends_idle(struct ksmtp_net *kn)
{
	bool idle;

	spin_lock(&kn->sends_lock);
	idle = !kn->nsends;
	spin_unlock(&kn->sends_lock);
	return idle;
}

/* ... second half: wait for the sends that were running (cut already). */
static void sends_wait(struct ksmtp_net *kn)
{
	wait_var_event(&kn->nsends, sends_idle(kn));
}

/* Join the KSMTP_A_MAIL_BODY parts, in order. */
static char *gather_body(struct genl_info *info, size_t *len)
{
	const struct nlattr *a;
	size_t total = 0, off = 0;
	char *body;
	int rem;

	nla_for_each_attr(a, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem)
		if (nla_type(a) == KSMTP_A_MAIL_BODY)
			total += nla_len(a);
	if (total > KSMTP_BODY_MAX) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "body is larger than the limit of 1 MiB (KSMTP_BODY_MAX)");
		return ERR_PTR(-EMSGSIZE);
	}
	body = kvmalloc(total ?: 1, GFP_KERNEL);
	if (!body)
		return ERR_PTR(-ENOMEM);
	nla_for_each_attr(a, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem) {
		if (nla_type(a) == KSMTP_A_MAIL_BODY) {
			memcpy(body + off, nla_data(a), nla_len(a));
			off += nla_len(a);
		}
	}
	*len = total;
	return body;
}

static int ksmtp_nl_send_doit(struct sk_buff *skb, struct genl_info *info)
{
	static const int field_attr[] = {
		[KSMTP_MAIL_RCPT] = KSMTP_A_MAIL_RCPT,
		[KSMTP_MAIL_SUBJECT] = KSMTP_A_MAIL_SUBJECT,
		[KSMTP_MAIL_BODY] = KSMTP_A_MAIL_BODY,
		[KSMTP_MAIL_PRIORITY] = KSMTP_A_MAIL_PRIORITY,
	};
	struct ksmtp_net *kn = ksmtp_net(genl_info_net(info));
	char *rcpt = NULL, *subject = NULL, *body = NULL;
	enum ksmtp_mail_field field;
	struct ksmtp_mail mail = {};
	const char *why;
	bool queue;
	int err;

	/* Queued mail without a recipient takes the default at delivery. */
	queue = info->attrs[KSMTP_A_MAIL_QUEUE] &&
		nla_get_u8(info->attrs[KSMTP_A_MAIL_QUEUE]);
	err = take_str(info, KSMTP_A_MAIL_RCPT, &rcpt, NULL) ?:
	      take_str(info, KSMTP_A_MAIL_SUBJECT, &subject, NULL);
	if (err)
		goto out;
	if (!rcpt && !queue) {
		rcpt = ksmtp_net_default_rcpt(kn);
		if (!rcpt) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "no recipient given and no default recipient configured");
			err = -EINVAL;
			goto out;
		}
	}
	if (!subject) {
		subject = kstrdup("", GFP_KERNEL);
		if (!subject) {
			err = -ENOMEM;
			goto out;
		}
	}
	body = gather_body(info, &mail.km_body_len);
	if (IS_ERR(body)) {
		err = PTR_ERR(body);
		body = NULL;
		goto out;
	}
	mail.km_rcpt = rcpt;
	mail.km_subject = subject;
	mail.km_body = body;
	if (info->attrs[KSMTP_A_MAIL_PRIORITY])
		mail.km_priority = nla_get_u32(info->attrs[KSMTP_A_MAIL_PRIORITY]);
	/* The same check as every other way in (ksmtp_mail_check()). */
	why = ksmtp_mail_check(&mail, !queue, &field, NULL);
	if (why) {
		if (info->extack)
			info->extack->_msg = why;
		NL_SET_BAD_ATTR(info->extack, info->attrs[field_attr[field]]);
		err = -EINVAL;
		goto out;
	}
	if (queue) {
		err = queue_mail(info, &mail);
		goto out;
	}
	err = send_mail(skb, info, kn, &mail);
	/* On success the worker owns them, and send_mail() cleared @mail. */
	if (!err)
		return 0;
out:
	kvfree(body);
	kfree(rcpt);
	kfree(subject);
	return err;
}

static int put_queue_stats(struct sk_buff *msg, struct ksmtp_queue *q)
{
	unsigned long flags;
	u64 len, bytes;

	spin_lock_irqsave(&q->lock, flags);
	len = q->count;
	bytes = q->bytes;
	spin_unlock_irqrestore(&q->lock, flags);
	return nla_put_u64_64bit(msg, KSMTP_A_STATS_QUEUED, atomic64_read(&q->queued),
				 KSMTP_A_PAD) ?:
	       nla_put_u64_64bit(msg, KSMTP_A_STATS_RETRIED, atomic64_read(&q->retried),
				 KSMTP_A_PAD) ?:
	       nla_put_u64_64bit(msg, KSMTP_A_STATS_EXPIRED, atomic64_read(&q->expired),
				 KSMTP_A_PAD) ?:
	       nla_put_u64_64bit(msg, KSMTP_A_STATS_DROPPED, atomic64_read(&q->dropped),
				 KSMTP_A_PAD) ?:
	       nla_put_u64_64bit(msg, KSMTP_A_STATS_COALESCED, atomic64_read(&q->coalesced),
				 KSMTP_A_PAD) ?:
	       nla_put_u64_64bit(msg, KSMTP_A_STATS_REFUSED, atomic64_read(&q->refused),
				 KSMTP_A_PAD) ?:
	       nla_put_u64_64bit(msg, KSMTP_A_STATS_QUEUE_LEN, len, KSMTP_A_PAD) ?:
	       nla_put_u64_64bit(msg, KSMTP_A_STATS_QUEUE_BYTES, bytes, KSMTP_A_PAD);
}

static int ksmtp_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ksmtp_net *kn = ksmtp_net(genl_info_net(info));
	struct ksmtp_result *last;
	struct nlattr *nest;
	struct sk_buff *msg;
	unsigned int i;
	void *hdr;
	int err;

	last = kmalloc(sizeof(*last), GFP_KERNEL);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!last || !msg) {
		kfree(last);
		nlmsg_free(msg);
		return -ENOMEM;
	}
	spin_lock_bh(&kn->client_lock);
	*last = kn->last;
	spin_unlock_bh(&kn->client_lock);

	err = -EMSGSIZE;
	hdr = genlmsg_put_reply(msg, info, &ksmtp_nl_family, 0,
				KSMTP_CMD_STATS_GET);
	if (!hdr)
		goto fail;
	if (nla_put_u64_64bit(msg, KSMTP_A_STATS_SENT,
			      atomic64_read(&kn->sent), KSMTP_A_PAD) ||
	    nla_put_u64_64bit(msg, KSMTP_A_STATS_FAILED_TRANSIENT,
			      atomic64_read(&kn->failed_transient), KSMTP_A_PAD) ||
	    nla_put_u64_64bit(msg, KSMTP_A_STATS_FAILED_PERMANENT,
			      atomic64_read(&kn->failed_permanent), KSMTP_A_PAD))
		goto fail;
	if (put_queue_stats(msg, &kn->queue))
		goto fail;
	nest = nla_nest_start(msg, KSMTP_A_STATS_FAILED_PHASE);
	if (!nest)
		goto fail;
	for (i = 1; i <= KSMTP_PHASE_MAX; i++)
		if (nla_put_u64_64bit(msg, i, atomic64_read(&kn->failed_phase[i]),
				      0))
			goto fail;
	nla_nest_end(msg, nest);
	if (last->kr_err && put_result(msg, last))
		goto fail;
	kfree(last);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
fail:
	kfree(last);
	nlmsg_free(msg);
	return err;
}

static int put_qmail(struct sk_buff *msg, const struct ksmtp_qmail *m)
{
	unsigned long now = jiffies;

	return nla_put_u64_64bit(msg, KSMTP_A_EV_ID, m->id, KSMTP_A_PAD) ?:
	       (m->rcpt ? nla_put_string(msg, KSMTP_A_MAIL_RCPT, m->rcpt) : 0) ?:
	       nla_put_string(msg, KSMTP_A_MAIL_SUBJECT, m->subject) ?:
	       nla_put_u32(msg, KSMTP_A_EV_ATTEMPTS, m->attempts) ?:
	       nla_put_u32(msg, KSMTP_A_EV_REPEATS, m->repeats) ?:
	       nla_put_u32(msg, KSMTP_A_EV_AGE_MS, jiffies_to_msecs(now - m->queued_at));
}

struct dump_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
};

/* One queued mail into the dump; under the queue's lock, irqs off. */
static int dump_one(void *arg, const struct ksmtp_qmail *m, unsigned int next_ms)
{
	struct dump_ctx *d = arg;
	void *hdr;

	hdr = genlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid, d->cb->nlh->nlmsg_seq,
			  &ksmtp_nl_family, NLM_F_MULTI, KSMTP_CMD_QUEUE_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (put_qmail(d->skb, m) || nla_put_u32(d->skb, KSMTP_A_EV_NEXT_MS, next_ms) ||
	    (m->last.kr_err && put_result(d->skb, &m->last))) {
		genlmsg_cancel(d->skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(d->skb, hdr);
	return 0;
}

/* In id order, resumed after the last id sent: no mail skipped or twice. */
static int ksmtp_nl_queue_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct ksmtp_queue *q = &ksmtp_net(sock_net(skb->sk))->queue;
	struct dump_ctx d = { .skb = skb, .cb = cb };

	cb->args[0] = ksmtp_queue_walk(q, cb->args[0], dump_one, &d);
	return skb->len;
}

static int ksmtp_nl_queue_flush_doit(struct sk_buff *skb, struct genl_info *info)
{
	ksmtp_queue_flush(&ksmtp_net(genl_info_net(info))->queue);
	return 0;
}

static int ksmtp_nl_queue_retry_doit(struct sk_buff *skb, struct genl_info *info)
{
	ksmtp_queue_retry_now(&ksmtp_net(genl_info_net(info))->queue);
	return 0;
}

/**
 * ksmtp_nl_event() - multicast one event about a queued mail
 * @net: its namespace
 * @type: what happened
 * @m: the mail, kept alive by the caller
 * @end: with KSMTP_EV_END, how it ended
 * @res: the attempt's result, or NULL
 * @next_ms: with KSMTP_EV_RETRY, the delay to the next attempt
 *
 * Context: process context; may sleep (GFP_KERNEL).
 */
void ksmtp_nl_event(struct net *net, enum ksmtp_event_type type,
		    const struct ksmtp_qmail *m, enum ksmtp_end end,
		    const struct ksmtp_result *res, unsigned int next_ms)
{
	struct sk_buff *msg;
	void *hdr;

	/* Sized to fit: a burst of events must not overrun a listener. */
	msg = genlmsg_new(256 + strlen(m->subject) + (m->rcpt ? strlen(m->rcpt) : 0) +
			  (res ? sizeof(*res) + 64 : 0), GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &ksmtp_nl_family, 0, KSMTP_CMD_EVENT);
	if (!hdr || nla_put_u32(msg, KSMTP_A_EV_TYPE, type) || put_qmail(msg, m) ||
	    (type == KSMTP_EV_END && nla_put_u32(msg, KSMTP_A_EV_END, end)) ||
	    (type == KSMTP_EV_RETRY && nla_put_u32(msg, KSMTP_A_EV_NEXT_MS, next_ms)) ||
	    (res && put_result(msg, res))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	ksmtp_nl_multicast(net, msg, KSMTP_MCGRP_EVENTS_ID);
}

static const struct genl_multicast_group ksmtp_nl_mcgrps[] = {
	[KSMTP_MCGRP_EVENTS_ID] = { .name = KSMTP_MCGRP_EVENTS },
	/* Only a process that may act as the TLS helper may listen. */
	[KSMTP_MCGRP_TLS_ID] = { .name = KSMTP_MCGRP_TLS,
				 .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static const struct genl_ops ksmtp_nl_ops[] = {
	{
		.cmd = KSMTP_CMD_CONFIG_SET,
		.doit = ksmtp_nl_config_set_doit,
		.policy = ksmtp_cfg_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KSMTP_CMD_CONFIG_GET,
		.doit = ksmtp_nl_config_get_doit,
		.policy = ksmtp_cfg_policy,
		.maxattr = KSMTP_A_MAX,
	},
	{
		.cmd = KSMTP_CMD_SEND,
		.doit = ksmtp_nl_send_doit,
		.policy = ksmtp_send_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KSMTP_CMD_STATS_GET,
		.doit = ksmtp_nl_stats_get_doit,
		.policy = ksmtp_cfg_policy,
		.maxattr = KSMTP_A_MAX,
	},
	{
		.cmd = KSMTP_CMD_QUEUE_GET,
		.dumpit = ksmtp_nl_queue_get_dumpit,
		.policy = ksmtp_cfg_policy,
		.maxattr = KSMTP_A_MAX,
	},
	{
		.cmd = KSMTP_CMD_QUEUE_FLUSH,
		.doit = ksmtp_nl_queue_flush_doit,
		.policy = ksmtp_cfg_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KSMTP_CMD_QUEUE_RETRY,
		.doit = ksmtp_nl_queue_retry_doit,
		.policy = ksmtp_cfg_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KSMTP_CMD_TLS_ACCEPT,
		.doit = ksmtp_nl_tls_accept_doit,
		.policy = ksmtp_tls_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KSMTP_CMD_TLS_DONE,
		.doit = ksmtp_nl_tls_done_doit,
		.policy = ksmtp_tls_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

struct genl_family ksmtp_nl_family __ro_after_init = {
	.name = KSMTP_GENL_NAME,
	.version = KSMTP_GENL_VERSION,
	.maxattr = KSMTP_A_MAX,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = ksmtp_nl_ops,
	.n_ops = ARRAY_SIZE(ksmtp_nl_ops),
	.mcgrps = ksmtp_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(ksmtp_nl_mcgrps),
};

static int __net_init ksmtp_net_init(struct net *net)
{
	struct ksmtp_net *kn = ksmtp_net(net);

	mutex_init(&kn->lock);
	spin_lock_init(&kn->client_lock);
	kn->cfg.c.kc_net = net;
	ksmtp_queue_init(&kn->queue, net);
	ksmtp_sessions_init(&kn->sends);
	spin_lock_init(&kn->sends_lock);
	INIT_LIST_HEAD(&kn->sends_list);
	mutex_lock(&nets_lock);
	list_add_tail(&kn->node, &nets);
	/* Set up while the module goes: nothing may start here. */
	if (ksmtp_going) {
		ksmtp_queue_shutdown(&kn->queue);
		sends_close(kn);
	}
	mutex_unlock(&nets_lock);
	return 0;
}

static void __net_exit ksmtp_net_exit(struct net *net)
{
	struct ksmtp_net *kn = ksmtp_net(net);

	ksmtp_queue_shutdown(&kn->queue);
	sends_close(kn);
	sends_wait(kn);
	mutex_lock(&nets_lock);
	list_del(&kn->node);
	mutex_unlock(&nets_lock);
	ksmtp_client_put(kn->client);
	kn->client = NULL;
	nlcfg_free(&kn->cfg);
}

static struct pernet_operations ksmtp_net_ops = {
	.init = ksmtp_net_init,
	.exit = ksmtp_net_exit,
	.id = &ksmtp_net_id,
	.size = sizeof(struct ksmtp_net),
};

/**
 * ksmtp_nl_init() - register the per-namespace state and the family
 *
 * Context: process context (module init).
 * Return: 0 or a negative errno.
 */
int __init ksmtp_nl_init(void)
{
	int err;

	err = ksmtp_queue_wq_init();
	if (err)
		return err;
	err = -ENOMEM;
	sends_wq = alloc_workqueue("ksmtp_send", WQ_UNBOUND, 0);
	if (!sends_wq)
		goto err_wq;
	err = register_pernet_subsys(&ksmtp_net_ops);
	if (err)
		goto err_sends_wq;
	err = genl_register_family(&ksmtp_nl_family);
	if (err)
		goto err_pernet;
	family_live = true;
	err = ksmtp_tls_init();
	if (err)
		goto err_family;
	return 0;

err_family:
	down_write(&family_lock);
	family_live = false;
	up_write(&family_lock);
	genl_unregister_family(&ksmtp_nl_family);
err_pernet:
	unregister_pernet_subsys(&ksmtp_net_ops);
err_sends_wq:
	destroy_workqueue(sends_wq);
err_wq:
	ksmtp_queue_wq_exit();
	return err;
}

/**
 * ksmtp_nl_exit() - drop what is queued, unregister, in reverse order
 *
 * Context: process context (module exit).
 */
void ksmtp_nl_exit(void)
{
	struct ksmtp_net *kn;

	/* Every session of every namespace is cut first, then waited for:
	 * nobody waits on a server while another namespace's session runs.
	 * Every queued mail is reported dropped while the family can still
	 * carry the events. A namespace set up meanwhile starts closed.
	 */
	mutex_lock(&nets_lock);
	ksmtp_going = true;
	list_for_each_entry(kn, &nets, node) {
		ksmtp_queue_shutdown(&kn->queue);
		sends_close(kn);
	}
	list_for_each_entry(kn, &nets, node)
		sends_wait(kn);
	mutex_unlock(&nets_lock);
	ksmtp_tls_exit();
	down_write(&family_lock);
	family_live = false;
	up_write(&family_lock);
	genl_unregister_family(&ksmtp_nl_family);
	unregister_pernet_subsys(&ksmtp_net_ops);
	destroy_workqueue(sends_wq);
	ksmtp_queue_wq_exit();
}

MODULE_ALIAS_GENL_FAMILY(KSMTP_GENL_NAME);
