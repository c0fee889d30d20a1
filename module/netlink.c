// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "ksmtp": turns messages into calls on the
 * namespace's state (netns.c), the queue (queue.c) and the TLS upcall
 * (tls.c), and their results and events (events.c) into messages. It
 * keeps no state of its own but the family, and takes no lock of another
 * file's structure.
 *
 * Every operation has its own policy: the top level holds only the nests
 * it takes, each validated against the attribute set of that operation.
 *
 * Locking: the family is parallel_ops, so no genl mutex is held; genetlink
 * still holds its global cb_lock for reading around every handler, so no
 * handler here waits for the network: SEND hands the mail to a worker and
 * answers at once, and the outcome follows as a message to the sender's
 * socket.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/file.h>
#include <linux/cred.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <net/genetlink.h>
#include <net/sock.h>
#include <net/net_namespace.h>

#include "client.h"
#include "encode.h"
#include "events.h"
#include "netlink.h"
#include "netns.h"
#include "queue.h"
#include "tls.h"

/* The family's multicast groups, by index */
enum {
	KSMTP_MCGRP_EVENTS_ID,
	KSMTP_MCGRP_TLS_ID,
};

static struct genl_family ksmtp_nl_family;

static struct netlink_range_validation timeout_range = {
	.min = 100,
	.max = 3600 * 1000,
};

static struct netlink_range_validation queue_max_range = { .min = 1, .max = 65536 };

static struct netlink_range_validation queue_bytes_range = { .min = 4096, .max = 256 << 20 };

static struct netlink_range_validation retry_max_range = { .min = 1, .max = 1000 };

static struct netlink_range_validation retry_age_range = { .min = 1, .max = 7 * 86400 };

static struct netlink_range_validation coalesce_range = { .min = 0, .max = 3600 * 1000 };

static struct netlink_range_validation klog_window_range = { .min = 0, .max = 600 * 1000 };

static struct netlink_range_validation klog_per_hour_range = { .min = 1, .max = 3600 };

/* KSMTP_A_CONFIG in CONFIG_SET: what may be set (not PASSWORD_SET,
 * CONFIGURED); the strings are filled in from ksmtp_config_strings[] at
 * init.
 */
static struct nla_policy cfg_set_policy[KSMTP_A_CFG_MAX + 1] __ro_after_init = {
	[KSMTP_A_CFG_SERVER_ADDR] = { .type = NLA_BINARY, .len = 16 },
	[KSMTP_A_CFG_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[KSMTP_A_CFG_AUTH] = NLA_POLICY_MAX(NLA_U32, KSMTP_AUTH_MAX),
	[KSMTP_A_CFG_AUTH_CLEARTEXT] = NLA_POLICY_MAX(NLA_U8, 1),
	[KSMTP_A_CFG_HELO_ONLY] = NLA_POLICY_MAX(NLA_U8, 1),
	[KSMTP_A_CFG_TLS] = NLA_POLICY_MAX(NLA_U32, KSMTP_TLS_MAX),
	[KSMTP_A_CFG_TIMEOUT_CONNECT] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_TIMEOUT_GREETING] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_TIMEOUT_COMMAND] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_TIMEOUT_DATA_BLOCK] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_TIMEOUT_FINAL_DOT] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_QUEUE_MAX] = NLA_POLICY_FULL_RANGE(NLA_U32, &queue_max_range),
	[KSMTP_A_CFG_QUEUE_BYTES] = NLA_POLICY_FULL_RANGE(NLA_U32, &queue_bytes_range),
	[KSMTP_A_CFG_RETRY_MAX] = NLA_POLICY_FULL_RANGE(NLA_U32, &retry_max_range),
	[KSMTP_A_CFG_RETRY_AGE] = NLA_POLICY_FULL_RANGE(NLA_U32, &retry_age_range),
	[KSMTP_A_CFG_RETRY_BASE_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &timeout_range),
	[KSMTP_A_CFG_COALESCE_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &coalesce_range),
	[KSMTP_A_CFG_REPLACE] = NLA_POLICY_MAX(NLA_U8, 1),
	[KSMTP_A_CFG_SEND_GID] = { .type = NLA_U32 },
	[KSMTP_A_CFG_KLOG] = NLA_POLICY_MAX(NLA_U8, 1),
	[KSMTP_A_CFG_KLOG_LEVEL] = NLA_POLICY_MAX(NLA_U32, KSMTP_KLOG_LEVEL_PATTERNS),
	[KSMTP_A_CFG_KLOG_CONTEXT] = NLA_POLICY_MAX(NLA_U32, KSMTP_KLOG_CONTEXT_MAX),
	[KSMTP_A_CFG_KLOG_WINDOW_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &klog_window_range),
	[KSMTP_A_CFG_KLOG_PER_HOUR] = NLA_POLICY_FULL_RANGE(NLA_U32, &klog_per_hour_range),
};

/* KSMTP_A_MAIL in SEND: the mail (not its ID, which the reply carries) */
static const struct nla_policy mail_send_policy[KSMTP_A_MAIL_MAX + 1] = {
	[KSMTP_A_MAIL_RCPT] = { .type = NLA_NUL_STRING, .len = KSMTP_RCPT_LIST_MAX },
	[KSMTP_A_MAIL_SUBJECT] = { .type = NLA_NUL_STRING, .len = KSMTP_SUBJECT_MAX },
	[KSMTP_A_MAIL_PRIORITY] = NLA_POLICY_MAX(NLA_U32, KSMTP_PRIO_MAX),
	[KSMTP_A_MAIL_BODY] = { .type = NLA_BINARY },
	[KSMTP_A_MAIL_QUEUE] = NLA_POLICY_MAX(NLA_U8, 1),
	[KSMTP_A_MAIL_HEADERS] = { .type = NLA_NUL_STRING, .len = KSMTP_HEADERS_MAX },
	[KSMTP_A_MAIL_ENVELOPE_FROM] = { .type = NLA_NUL_STRING, .len = KSMTP_ADDR_MAX },
	[KSMTP_A_MAIL_FROM_NAME] = { .type = NLA_NUL_STRING, .len = KSMTP_STR_MAX },
};

/* KSMTP_A_TLS in TLS_ACCEPT: which request, if any in particular */
static const struct nla_policy tls_accept_policy[KSMTP_A_TLS_MAX + 1] = {
	[KSMTP_A_TLS_ID] = NLA_POLICY_MIN(NLA_U64, 1),
};

/* KSMTP_A_TLS in TLS_DONE: the helper's report */
static const struct nla_policy tls_done_policy[KSMTP_A_TLS_MAX + 1] = {
	[KSMTP_A_TLS_ID] = NLA_POLICY_MIN(NLA_U64, 1),
	[KSMTP_A_TLS_STATUS] = NLA_POLICY_MAX(NLA_U32, 4095),
	[KSMTP_A_TLS_REASON] = { .type = NLA_NUL_STRING, .len = KSMTP_REASON_MAX - 1 },
	[KSMTP_A_TLS_INFO] = { .type = NLA_NUL_STRING, .len = KSMTP_TLS_INFO_MAX - 1 },
};

/* The top level of each operation: the nests it takes, nothing else. */
static const struct nla_policy config_set_policy[KSMTP_A_MAX + 1] = {
	[KSMTP_A_CONFIG] = NLA_POLICY_NESTED(cfg_set_policy),
};

static const struct nla_policy send_policy[KSMTP_A_MAX + 1] = {
	[KSMTP_A_MAIL] = NLA_POLICY_NESTED(mail_send_policy),
};

static const struct nla_policy tls_accept_top_policy[KSMTP_A_MAX + 1] = {
	[KSMTP_A_TLS] = NLA_POLICY_NESTED(tls_accept_policy),
};

static const struct nla_policy tls_done_top_policy[KSMTP_A_MAX + 1] = {
	[KSMTP_A_TLS] = NLA_POLICY_NESTED(tls_done_policy),
};

/* Operations without attributes: any attribute is refused. */
static const struct nla_policy no_attrs_policy[KSMTP_A_MAX + 1] = {};

/* Name the attribute at fault (6.1 has no formatted extack: a static
 * reason, the attribute by its offset; ksmtpctl prints its name).
 */
static void bad_attr(struct genl_info *info, const struct nlattr *a, const char *why)
{
	if (info->extack)
		info->extack->_msg = why;
	NL_SET_BAD_ATTR(info->extack, a);
}

/* A string attribute: no NUL inside (NLA_NUL_STRING stops at the first).
 * Its syntax is checked later, with the whole configuration or mail.
 */
static int take_str(struct genl_info *info, const struct nlattr *a, const char **dst)
{
	char *s;

	if (!a)
		return 0;
	if (strnlen(nla_data(a), nla_len(a)) + 1 != nla_len(a)) {
		bad_attr(info, a, "string holds a NUL octet");
		return -EINVAL;
	}
	s = kstrdup(nla_data(a), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	kfree_sensitive(*dst);
	*dst = s;
	return 0;
}

/* Every @type nest at the top level, into @tb: each attribute from the
 * last nest that has it. A nest holds at most 64 KiB, so what is larger
 * (a mail's body) comes in several; the policy validated each one.
 */
static int parse_nests(struct genl_info *info, int type, struct nlattr **tb,
		       unsigned int max, const struct nla_policy *policy)
{
	struct nlattr **one;
	struct nlattr *nest;
	unsigned int i;
	int rem, err = 0;

	one = kcalloc(max + 1, sizeof(*one), GFP_KERNEL);
	if (!one)
		return -ENOMEM;
	nla_for_each_attr(nest, genlmsg_data(info->genlhdr), genlmsg_len(info->genlhdr), rem) {
		if (nla_type(nest) != type)
			continue;
		err = nla_parse_nested(one, max, nest, policy, info->extack);
		if (err)
			break;
		for (i = 0; i <= max; i++)
			if (one[i])
				tb[i] = one[i];
	}
	kfree(one);
	return err;
}

/* The KSMTP_A_CONFIG nests, parsed. */
struct cfg_request {
	struct genl_info *info;
	struct nlattr *tb[KSMTP_A_CFG_MAX + 1];
};

/* A string this request set to "" is unset (not reported). */
static void unset_if_empty(const char **s)
{
	if (*s && !(*s)[0]) {
		kfree(*s);
		*s = NULL;
	}
}

/* KSMTP_A_CONFIG onto the namespace's configuration (a copy; with
 * KSMTP_A_CFG_REPLACE, the defaults).
 */
static int cfg_apply(void *arg, struct ksmtp_net_cfg *cfg)
{
	static const struct {
		int type;
		size_t off;
	} u32s[] = {
#define U32_ATTR(type, base, field) \
		{ type, offsetof(struct ksmtp_net_cfg, base.field) }
		U32_ATTR(KSMTP_A_CFG_TIMEOUT_CONNECT, c.kc_timeouts, kt_connect_ms),
		U32_ATTR(KSMTP_A_CFG_TIMEOUT_GREETING, c.kc_timeouts, kt_greeting_ms),
		U32_ATTR(KSMTP_A_CFG_TIMEOUT_COMMAND, c.kc_timeouts, kt_command_ms),
		U32_ATTR(KSMTP_A_CFG_TIMEOUT_DATA_BLOCK, c.kc_timeouts, kt_data_block_ms),
		U32_ATTR(KSMTP_A_CFG_TIMEOUT_FINAL_DOT, c.kc_timeouts, kt_final_dot_ms),
		U32_ATTR(KSMTP_A_CFG_QUEUE_MAX, limits, max_count),
		U32_ATTR(KSMTP_A_CFG_RETRY_MAX, limits, retry_max),
		U32_ATTR(KSMTP_A_CFG_RETRY_AGE, limits, retry_age_s),
		U32_ATTR(KSMTP_A_CFG_RETRY_BASE_MS, limits, retry_base_ms),
		U32_ATTR(KSMTP_A_CFG_COALESCE_MS, limits, coalesce_ms),
		U32_ATTR(KSMTP_A_CFG_KLOG_LEVEL, klog, level),
		U32_ATTR(KSMTP_A_CFG_KLOG_CONTEXT, klog, context),
		U32_ATTR(KSMTP_A_CFG_KLOG_WINDOW_MS, klog, window_ms),
		U32_ATTR(KSMTP_A_CFG_KLOG_PER_HOUR, klog, per_hour),
#undef U32_ATTR
	};
	struct cfg_request *rq = arg;
	struct nlattr **tb = rq->tb;
	struct nlattr *a = tb[KSMTP_A_CFG_SERVER_ADDR];
	unsigned int i;
	int err = 0;

	if (a && tb[KSMTP_A_CFG_SERVER_NAME]) {
		NL_SET_ERR_MSG_ATTR(rq->info->extack, tb[KSMTP_A_CFG_SERVER_NAME],
				    "server-addr and server-name cannot both be given");
		return -EINVAL;
	}
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
			NL_SET_ERR_MSG_ATTR(rq->info->extack, a,
					    "server address must be 4 (IPv4) or 16 (IPv6) octets");
			return -EINVAL;
		}
		cfg->server_set = true;
		/* The server is either an address or a name. */
		kfree(cfg->c.kc_server_name);
		cfg->c.kc_server_name = NULL;
	}
	if (tb[KSMTP_A_CFG_PORT])
		cfg->c.kc_port = nla_get_u16(tb[KSMTP_A_CFG_PORT]);
	if (tb[KSMTP_A_CFG_AUTH])
		cfg->c.kc_auth = nla_get_u32(tb[KSMTP_A_CFG_AUTH]);
	if (tb[KSMTP_A_CFG_AUTH_CLEARTEXT])
		cfg->c.kc_auth_cleartext = nla_get_u8(tb[KSMTP_A_CFG_AUTH_CLEARTEXT]);
	if (tb[KSMTP_A_CFG_HELO_ONLY])
		cfg->c.kc_helo_only = nla_get_u8(tb[KSMTP_A_CFG_HELO_ONLY]);
	if (tb[KSMTP_A_CFG_TLS])
		cfg->c.kc_tls = nla_get_u32(tb[KSMTP_A_CFG_TLS]);
	if (tb[KSMTP_A_CFG_KLOG]) {
		cfg->klog.enable = nla_get_u8(tb[KSMTP_A_CFG_KLOG]);
		if (cfg->klog.enable && !net_eq(genl_info_net(rq->info), &init_net)) {
			NL_SET_ERR_MSG_ATTR(rq->info->extack, tb[KSMTP_A_CFG_KLOG],
					    "the kernel-log reporter runs in the initial network namespace only");
			return -EOPNOTSUPP;
		}
	}
	if (tb[KSMTP_A_CFG_QUEUE_BYTES])
		cfg->limits.max_bytes = nla_get_u32(tb[KSMTP_A_CFG_QUEUE_BYTES]);
	if (tb[KSMTP_A_CFG_SEND_GID]) {
		u32 g = nla_get_u32(tb[KSMTP_A_CFG_SEND_GID]);

		/* The setter's numbering (a handler runs in its context). */
		cfg->send_gid = make_kgid(current_user_ns(), g);
		cfg->send_gid_set = g != (u32)-1;
		if (cfg->send_gid_set && !gid_valid(cfg->send_gid)) {
			NL_SET_ERR_MSG_ATTR(rq->info->extack, tb[KSMTP_A_CFG_SEND_GID],
					    "send-group is not a group of your user namespace");
			return -EINVAL;
		}
	}
	for (i = 0; i < ARRAY_SIZE(u32s); i++)
		if (tb[u32s[i].type])
			*(unsigned int *)((char *)cfg + u32s[i].off) =
				nla_get_u32(tb[u32s[i].type]);
	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings) && !err; i++) {
		const struct ksmtp_config_string *cs = &ksmtp_config_strings[i];

		err = take_str(rq->info, tb[cs->attr], ksmtp_config_str(&cfg->c, cs));
	}
	if (err)
		return err;
	if (tb[KSMTP_A_CFG_SERVER_NAME]) {
		memset(&cfg->c.kc_server, 0, sizeof(cfg->c.kc_server));
		cfg->server_set = false;
		unset_if_empty(&cfg->c.kc_server_name);
	}
	/* The file names where the password came from: not a new one's. */
	if (tb[KSMTP_A_CFG_PASSWORD] && !tb[KSMTP_A_CFG_PASSWORD_FILE]) {
		kfree(cfg->c.kc_password_file);
		cfg->c.kc_password_file = NULL;
	}
	unset_if_empty(&cfg->c.kc_password_file);
	return 0;
}

/* The attribute to name for a refused configuration: the one at fault
 * if this request set it, else the first of those that conflict with it.
 */
static const struct nlattr *cfg_fault(struct nlattr **tb, int attr)
{
	static const int auth[] = { KSMTP_A_CFG_AUTH, KSMTP_A_CFG_USERNAME, 0 };
	static const int tls[] = {
		KSMTP_A_CFG_TLS, KSMTP_A_CFG_TLS_NAME, KSMTP_A_CFG_HELO_ONLY,
		KSMTP_A_CFG_SERVER_NAME, KSMTP_A_CFG_SERVER_ADDR, 0
	};
	const int *p = attr == KSMTP_A_CFG_AUTH ? auth :
		       attr == KSMTP_A_CFG_TLS ? tls : NULL;

	if (!p)
		return attr > 0 && attr <= KSMTP_A_CFG_MAX ? tb[attr] : NULL;
	for (; *p; p++)
		if (tb[*p])
			return tb[*p];
	return NULL;
}

/* The password leaves the request once copied (or refused): an error's
 * ack echoes the request, and the skb may linger. (A request the policy
 * refuses before the handler runs is echoed as it came, to its sender.)
 * Every copy of it: the nest and the attribute may come more than once.
 */
static void wipe_password(struct genl_info *info)
{
	struct nlattr *nest, *a;
	int rem, rem2;

	nla_for_each_attr(nest, genlmsg_data(info->genlhdr),
			  genlmsg_len(info->genlhdr), rem) {
		if (nla_type(nest) != KSMTP_A_CONFIG)
			continue;
		nla_for_each_nested(a, nest, rem2)
			if (nla_type(a) == KSMTP_A_CFG_PASSWORD)
				memzero_explicit(nla_data(a), nla_len(a));
	}
}

static int config_set(struct genl_info *info)
{
	struct ksmtp_net *kn = ksmtp_net(genl_info_net(info));
	struct cfg_request *rq;
	const char *why;
	int attr, err;
	bool replace;

	rq = kzalloc(sizeof(*rq), GFP_KERNEL);
	if (!rq)
		return -ENOMEM;
	rq->info = info;
	err = parse_nests(info, KSMTP_A_CONFIG, rq->tb, KSMTP_A_CFG_MAX, cfg_set_policy);
	if (err)
		goto out;
	replace = rq->tb[KSMTP_A_CFG_REPLACE] && nla_get_u8(rq->tb[KSMTP_A_CFG_REPLACE]);
	err = ksmtp_net_configure(kn, replace, cfg_apply, rq, &why, &attr);
	if (why)
		bad_attr(info, cfg_fault(rq->tb, attr), why);
out:
	kfree(rq);
	return err;
}

static int ksmtp_nl_config_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	int err = config_set(info);

	wipe_password(info);
	return err;
}

#if IS_ENABLED(CONFIG_KSMTP_KUNIT_TEST)
/* For the tests: CONFIG_SET's handler, on a message a test built. */
int ksmtp_nl_test_config_set(struct sk_buff *skb, struct genl_info *info)
{
	return ksmtp_nl_config_set_doit(skb, info);
}
#endif

static int put_str(struct sk_buff *skb, int type, const char *s)
{
	return s ? nla_put_string(skb, type, s) : 0;
}

/* The configuration into KSMTP_A_CONFIG, the password excepted. */
static int cfg_put(void *arg, struct ksmtp_net_cfg *cfg)
{
	const struct ksmtp_timeouts *t = &cfg->c.kc_timeouts;
	const struct ksmtp_queue_limits *l = &cfg->limits;
	struct sk_buff *msg = arg;
	struct nlattr *nest;
	unsigned int i;
	int err;

	nest = nla_nest_start(msg, KSMTP_A_CONFIG);
	if (!nest)
		return -EMSGSIZE;
	err = nla_put_u8(msg, KSMTP_A_CFG_CONFIGURED, ksmtp_net_cfg_configured(cfg));
	if (!err && cfg->server_set) {
		const struct sockaddr_storage *ss = &cfg->c.kc_server;

		if (ss->ss_family == AF_INET)
			err = nla_put_in_addr(msg, KSMTP_A_CFG_SERVER_ADDR,
					      ((struct sockaddr_in *)ss)->sin_addr.s_addr);
		else
			err = nla_put_in6_addr(msg, KSMTP_A_CFG_SERVER_ADDR,
					       &((struct sockaddr_in6 *)ss)->sin6_addr);
	}
	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings) && !err; i++) {
		const struct ksmtp_config_string *cs = &ksmtp_config_strings[i];

		if (cs->readable)
			err = put_str(msg, cs->attr, *ksmtp_config_str(&cfg->c, cs));
	}
	err = err ?:
	      nla_put_u8(msg, KSMTP_A_CFG_PASSWORD_SET,
			 cfg->c.kc_password && cfg->c.kc_password[0]) ?:
	      nla_put_u16(msg, KSMTP_A_CFG_PORT,
			  cfg->c.kc_port ?: ksmtp_default_port(cfg->c.kc_tls)) ?:
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
			  t->kt_final_dot_ms ?: KSMTP_TIMEOUT_FINAL_DOT_MS) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_QUEUE_MAX, l->max_count) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_QUEUE_BYTES, l->max_bytes) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_RETRY_MAX, l->retry_max) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_RETRY_AGE, l->retry_age_s) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_RETRY_BASE_MS, l->retry_base_ms) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_COALESCE_MS, l->coalesce_ms) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_SEND_GID, !cfg->send_gid_set ? (u32)-1 :
			  from_kgid_munged(current_user_ns(), cfg->send_gid)) ?:
	      nla_put_u8(msg, KSMTP_A_CFG_KLOG, cfg->klog.enable) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_KLOG_LEVEL, cfg->klog.level) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_KLOG_CONTEXT, cfg->klog.context) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_KLOG_WINDOW_MS, cfg->klog.window_ms) ?:
	      nla_put_u32(msg, KSMTP_A_CFG_KLOG_PER_HOUR, cfg->klog.per_hour);
	if (err)
		return err;
	nla_nest_end(msg, nest);
	return 0;
}

static int ksmtp_nl_config_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ksmtp_net *kn = ksmtp_net(genl_info_net(info));
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &ksmtp_nl_family, 0, KSMTP_CMD_CONFIG_GET);
	if (!hdr || ksmtp_net_config_read(kn, cfg_put, msg)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int put_result(struct sk_buff *msg, const struct ksmtp_result *r)
{
	struct nlattr *nest = nla_nest_start(msg, KSMTP_A_RESULT);

	if (!nest ||
	    nla_put_u32(msg, KSMTP_A_RES_ERRNO, -r->kr_err) ||
	    nla_put_u32(msg, KSMTP_A_RES_PHASE, r->kr_phase) ||
	    nla_put_u32(msg, KSMTP_A_RES_CODE, r->kr_code) ||
	    nla_put_string(msg, KSMTP_A_RES_TEXT, r->kr_text) ||
	    nla_put_u8(msg, KSMTP_A_RES_TRANSIENT, r->kr_transient) ||
	    nla_put_u8(msg, KSMTP_A_RES_UNKNOWN, r->kr_unknown) ||
	    nla_put_string(msg, KSMTP_A_RES_REASON, r->kr_reason) ||
	    (r->kr_tls[0] && nla_put_string(msg, KSMTP_A_RES_TLS, r->kr_tls)))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

static int put_mail_id(struct sk_buff *msg, u64 id)
{
	struct nlattr *nest = nla_nest_start(msg, KSMTP_A_MAIL);

	if (!nest || nla_put_u64_64bit(msg, KSMTP_A_MAIL_ID, id, KSMTP_A_MAIL_PAD))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
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
	if (!hdr || put_mail_id(msg, id)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/* SEND with KSMTP_A_MAIL_QUEUE: answer with the id at once. */
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
 * struct nl_send - where the outcome of a SEND goes
 * @net: the namespace, to answer in (alive: its exit waits for the send)
 * @sk: the requesting socket (a reference): the outcome goes to it only
 *	while it lives, never to another socket that took its port id
 * @portid: its port id
 * @seq: the request's sequence number, repeated in the outcome
 * @out: the message that carries it, allocated up front so that the
 *	sender, who waits for it, gets it
 */
struct nl_send {
	struct net *net;
	struct sock *sk;
	u32 portid;
	u32 seq;
	struct sk_buff *out;
};

static void nl_send_free(struct nl_send *ns)
{
	if (ns->sk)
		sock_put(ns->sk);
	nlmsg_free(ns->out);
	kfree(ns);
}

/* The outcome of a SEND, to the socket that asked (ksmtp_send_done_fn). */
static void send_done(void *arg, u64 id, const struct ksmtp_result *res)
{
	struct nl_send *ns = arg;
	struct sk_buff *msg = ns->out;
	void *hdr;

	/* Its socket closed: its port id may be another's now. */
	if (!ns->sk || sock_flag(ns->sk, SOCK_DEAD))
		goto out;
	hdr = genlmsg_put(msg, ns->portid, ns->seq, &ksmtp_nl_family, 0, KSMTP_CMD_SEND);
	if (hdr && !put_mail_id(msg, id) && !put_result(msg, res)) {
		genlmsg_end(msg, hdr);
		ns->out = NULL;
		/* The sender may be gone: then nobody waits for it. */
		genlmsg_unicast(ns->net, msg, ns->portid);
	}
out:
	nl_send_free(ns);
}

/* SEND: a worker runs the session; the answer goes out now. */
static int send_mail(struct sk_buff *skb, struct genl_info *info, struct ksmtp_mail *m,
		     bool member)
{
	struct ksmtp_send *s;
	struct nl_send *ns;
	int err;

	ns = kzalloc(sizeof(*ns), GFP_KERNEL);
	if (!ns)
		return -ENOMEM;
	ns->out = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!ns->out) {
		kfree(ns);
		return -ENOMEM;
	}
	ns->net = genl_info_net(info);
	ns->sk = NETLINK_CB(skb).sk;
	if (ns->sk)
		sock_hold(ns->sk);
	ns->portid = info->snd_portid;
	ns->seq = info->snd_seq;

	s = ksmtp_net_send_new(ksmtp_net(ns->net), m, member, send_done, ns);
	if (IS_ERR(s)) {
		err = PTR_ERR(s);
		nl_send_free(ns);
		if (err == -EDESTADDRREQ) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "no recipient given and no default recipient configured");
			err = -EINVAL;
		} else if (err == -ENOTCONN) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "not configured: set a server and a from address first");
		} else if (err == -EBUSY && member) {
			NL_SET_ERR_MSG_MOD(info->extack,
					   "too many sends of send group members in progress: wait");
		} else if (err == -EBUSY && info->extack) {
			info->extack->_msg = "too many sends in progress: wait, or queue the mail";
		} else if (err == -ESHUTDOWN && info->extack) {
			info->extack->_msg = "the namespace or module is going away";
		}
		return err;
	}
	err = reply_id(info, ksmtp_net_send_id(s));
	if (err) {
		/* The sender hears of it; nothing was sent, no outcome follows. */
		ksmtp_net_send_drop(s);
		nl_send_free(ns);
		return err;
	}
	ksmtp_net_send_go(s);
	return 0;
}

/* The BODY parts of every KSMTP_A_MAIL nest, in order, joined; charged
 * to the caller's memory cgroup (up to KSMTP_BODY_MAX, kept until the
 * send ends).
 */
static char *gather_body(struct genl_info *info, size_t *len)
{
	const struct nlattr *nest, *a;
	size_t total = 0, off = 0;
	int rem, rem2;
	char *body;

	nla_for_each_attr(nest, genlmsg_data(info->genlhdr), genlmsg_len(info->genlhdr), rem)
		if (nla_type(nest) == KSMTP_A_MAIL)
			nla_for_each_nested(a, nest, rem2)
				if (nla_type(a) == KSMTP_A_MAIL_BODY)
					total += nla_len(a);
	if (total > KSMTP_BODY_MAX) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "body is larger than the limit of 1 MiB (KSMTP_BODY_MAX)");
		return ERR_PTR(-EMSGSIZE);
	}
	body = kvmalloc(total ?: 1, GFP_KERNEL_ACCOUNT);
	if (!body)
		return ERR_PTR(-ENOMEM);
	nla_for_each_attr(nest, genlmsg_data(info->genlhdr), genlmsg_len(info->genlhdr), rem) {
		if (nla_type(nest) != KSMTP_A_MAIL)
			continue;
		nla_for_each_nested(a, nest, rem2) {
			if (nla_type(a) == KSMTP_A_MAIL_BODY) {
				memcpy(body + off, nla_data(a), nla_len(a));
				off += nla_len(a);
			}
		}
	}
	*len = total;
	return body;
}

/* The send group of the namespace, as ksmtp_net_config_read() reads it. */
struct send_group {
	kgid_t gid;
	bool set;
};

static int read_send_group(void *arg, struct ksmtp_net_cfg *cfg)
{
	struct send_group *g = arg;

	g->gid = cfg->send_gid;
	g->set = cfg->send_gid_set;
	return 0;
}

/* May the socket that sent @skb send mail without CAP_NET_ADMIN? When its
 * opener's credentials (the file's, as netlink_capable() looks at them,
 * not the current task's) hold the namespace's send group, effective or
 * supplementary.
 */
static bool sender_in_group(struct sk_buff *skb, struct ksmtp_net *kn)
{
	const struct sock *sk = NETLINK_CB(skb).sk;
	const struct group_info *gi;
	struct send_group g = {};
	const struct cred *cred;
	int i;

	ksmtp_net_config_read(kn, read_send_group, &g);
	if (!g.set || !sk || !sk->sk_socket || !sk->sk_socket->file)
		return false;
	cred = sk->sk_socket->file->f_cred;
	if (gid_eq(cred->egid, g.gid))
		return true;
	gi = cred->group_info;
	for (i = 0; gi && i < gi->ngroups; i++)
		if (gid_eq(gi->gid[i], g.gid))
			return true;
	return false;
}

/* A display name a send group member may give: ASCII without '@', '<',
 * '>', '"' or "=?". A reader would show it as an address otherwise: as
 * it is, decoded from an encoded word (which readers decode even inside
 * a quoted string), or through a look-alike such as U+FF20 for '@'.
 */
static bool member_name_ok(const char *s)
{
	for (; *s; s++)
		if ((u8)*s >= 0x80 || strchr("@<>\"", *s) || (s[0] == '=' && s[1] == '?'))
			return false;
	return true;
}

/* What a send group member may not do: name another sender (in the
 * envelope, a field or a display name that looks like an address), or
 * give what passes for a server's trace or authentication verdict.
 */
static int member_limits(struct genl_info *info, struct nlattr **tb,
			 const struct ksmtp_mail *m)
{
	unsigned int flags;

	if (tb[KSMTP_A_MAIL_ENVELOPE_FROM]) {
		bad_attr(info, tb[KSMTP_A_MAIL_ENVELOPE_FROM],
			 "only CAP_NET_ADMIN may set the envelope sender");
		return -EPERM;
	}
	if (m->km_headers && !ksmtp_check_headers(m->km_headers, &flags) &&
	    (flags & (KSMTP_HDR_FROM | KSMTP_HDR_SENDER | KSMTP_HDR_RESENT))) {
		bad_attr(info, tb[KSMTP_A_MAIL_HEADERS],
			 "only CAP_NET_ADMIN may give a field naming a sender, where replies, bounces or receipts go, or a server's trace or verdict (From, Sender, Return-Path, Resent-*, Reply-To, Errors-To, Received, DKIM-Signature...)");
		return -EPERM;
	}
	if (m->km_from_name && !member_name_ok(m->km_from_name)) {
		bad_attr(info, tb[KSMTP_A_MAIL_FROM_NAME],
			 "only CAP_NET_ADMIN may give a display name with '@', '<', '>', '\"', \"=?\" or a non-ASCII octet (it could pass for an address)");
		return -EPERM;
	}
	return 0;
}

static int ksmtp_nl_send_doit(struct sk_buff *skb, struct genl_info *info)
{
	static const int field_attr[] = {
		[KSMTP_MAIL_RCPT] = KSMTP_A_MAIL_RCPT,
		[KSMTP_MAIL_SUBJECT] = KSMTP_A_MAIL_SUBJECT,
		[KSMTP_MAIL_BODY] = KSMTP_A_MAIL_BODY,
		[KSMTP_MAIL_PRIORITY] = KSMTP_A_MAIL_PRIORITY,
		[KSMTP_MAIL_HEADERS] = KSMTP_A_MAIL_HEADERS,
		[KSMTP_MAIL_ENVELOPE_FROM] = KSMTP_A_MAIL_ENVELOPE_FROM,
		[KSMTP_MAIL_FROM_NAME] = KSMTP_A_MAIL_FROM_NAME,
	};
	struct nlattr *tb[KSMTP_A_MAIL_MAX + 1] = {};
	const char *rcpt = NULL, *subject = NULL;
	const char *headers = NULL, *env_from = NULL, *from_name = NULL;
	bool admin = netlink_capable(skb, CAP_NET_ADMIN);
	enum ksmtp_mail_field field;
	struct ksmtp_mail mail = {};
	const char *why;
	char *body;
	bool queue;
	int err;

	if (!admin && !sender_in_group(skb, ksmtp_net(genl_info_net(info)))) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "sending needs CAP_NET_ADMIN or the configured send group");
		return -EPERM;
	}
	err = parse_nests(info, KSMTP_A_MAIL, tb, KSMTP_A_MAIL_MAX, mail_send_policy);
	if (err)
		return err;
	/* A mail without a recipient takes the default one(s). */
	queue = tb[KSMTP_A_MAIL_QUEUE] && nla_get_u8(tb[KSMTP_A_MAIL_QUEUE]);
	/* The queue is the kernel's too (its reports, ksmtp_notify()): a
	 * member that filled it would have them refused.
	 */
	if (queue && !admin) {
		bad_attr(info, tb[KSMTP_A_MAIL_QUEUE],
			 "only CAP_NET_ADMIN may queue a mail: send it at once");
		return -EPERM;
	}
	if (queue && tb[KSMTP_A_MAIL_HEADERS]) {
		bad_attr(info, tb[KSMTP_A_MAIL_QUEUE],
			 "a mail with its own headers is sent at once, never queued");
		return -EINVAL;
	}
	err = take_str(info, tb[KSMTP_A_MAIL_RCPT], &rcpt) ?:
	      take_str(info, tb[KSMTP_A_MAIL_SUBJECT], &subject) ?:
	      take_str(info, tb[KSMTP_A_MAIL_HEADERS], &headers) ?:
	      take_str(info, tb[KSMTP_A_MAIL_ENVELOPE_FROM], &env_from) ?:
	      take_str(info, tb[KSMTP_A_MAIL_FROM_NAME], &from_name);
	if (err)
		goto out;
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
		goto out;
	}
	mail.km_rcpt = rcpt;
	mail.km_subject = subject;
	mail.km_body = body;
	mail.km_headers = headers;
	mail.km_env_from = env_from;
	mail.km_from_name = from_name;
	if (tb[KSMTP_A_MAIL_PRIORITY])
		mail.km_priority = nla_get_u32(tb[KSMTP_A_MAIL_PRIORITY]);
	/* The same check as every other way in (ksmtp_mail_check()). */
	why = ksmtp_mail_check(&mail, false, &field, NULL);
	if (!why && !admin)
		err = member_limits(info, tb, &mail);
	if (why) {
		bad_attr(info, tb[field_attr[field]], why);
		err = -EINVAL;
	} else if (err) {
		/* A send group member named another sender. */
	} else if (queue) {
		err = queue_mail(info, &mail);
	} else {
		/* On success the strings and body are the send's. */
		err = send_mail(skb, info, &mail, !admin);
	}
	kvfree(mail.km_body);
	rcpt = mail.km_rcpt;
	subject = mail.km_subject;
	headers = mail.km_headers;
	env_from = mail.km_env_from;
	from_name = mail.km_from_name;
out:
	kfree(rcpt);
	kfree(subject);
	kfree(headers);
	kfree(env_from);
	kfree(from_name);
	return err;
}

static int put_u64s(struct sk_buff *msg, const int *types, const u64 *v, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (nla_put_u64_64bit(msg, types[i], v[i], KSMTP_A_STATS_PAD))
			return -EMSGSIZE;
	return 0;
}

static int put_stats(struct sk_buff *msg, struct ksmtp_net *kn)
{
	static const int types[] = {
		KSMTP_A_STATS_SENT, KSMTP_A_STATS_FAILED_TRANSIENT,
		KSMTP_A_STATS_FAILED_PERMANENT, KSMTP_A_STATS_QUEUED,
		KSMTP_A_STATS_RETRIED, KSMTP_A_STATS_EXPIRED,
		KSMTP_A_STATS_DROPPED, KSMTP_A_STATS_COALESCED,
		KSMTP_A_STATS_REFUSED, KSMTP_A_STATS_QUEUE_LEN,
		KSMTP_A_STATS_QUEUE_BYTES,
	};
	struct ksmtp_queue_stats q;
	struct nlattr *nest, *phases;
	unsigned int i;

	ksmtp_queue_get_stats(&kn->queue, &q);
	{
		const u64 v[] = {
			atomic64_read(&kn->stats.sent),
			atomic64_read(&kn->stats.failed_transient),
			atomic64_read(&kn->stats.failed_permanent),
			q.queued, q.retried, q.expired, q.dropped, q.coalesced,
			q.refused, q.len, q.bytes,
		};

		BUILD_BUG_ON(ARRAY_SIZE(v) != ARRAY_SIZE(types));
		nest = nla_nest_start(msg, KSMTP_A_STATS);
		if (!nest || put_u64s(msg, types, v, ARRAY_SIZE(v)))
			return -EMSGSIZE;
	}
	phases = nla_nest_start(msg, KSMTP_A_STATS_FAILED_PHASE);
	if (!phases)
		return -EMSGSIZE;
	for (i = 1; i <= KSMTP_PHASE_MAX; i++)
		if (nla_put_u64_64bit(msg, i, atomic64_read(&kn->stats.failed_phase[i]),
				      KSMTP_A_PHASE_PAD))
			return -EMSGSIZE;
	nla_nest_end(msg, phases);
	nla_nest_end(msg, nest);
	return 0;
}

static int ksmtp_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct ksmtp_net *kn = ksmtp_net(genl_info_net(info));
	struct ksmtp_result *last;
	struct sk_buff *msg;
	void *hdr;
	int err = -EMSGSIZE;

	last = kmalloc(sizeof(*last), GFP_KERNEL);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!last || !msg) {
		err = -ENOMEM;
		goto fail;
	}
	ksmtp_stats_last(&kn->stats, last);
	hdr = genlmsg_put_reply(msg, info, &ksmtp_nl_family, 0, KSMTP_CMD_STATS_GET);
	if (!hdr || put_stats(msg, kn) || (last->kr_err && put_result(msg, last)))
		goto fail;
	kfree(last);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
fail:
	kfree(last);
	nlmsg_free(msg);
	return err;
}

static int put_qinfo(struct sk_buff *msg, const struct ksmtp_qinfo *m, bool next)
{
	struct nlattr *nest = nla_nest_start(msg, KSMTP_A_QUEUE_ENTRY);

	if (!nest ||
	    nla_put_u64_64bit(msg, KSMTP_A_QE_ID, m->id, KSMTP_A_QE_PAD) ||
	    (m->rcpt && nla_put_string(msg, KSMTP_A_QE_RCPT, m->rcpt)) ||
	    nla_put_string(msg, KSMTP_A_QE_SUBJECT, m->subject) ||
	    nla_put_u32(msg, KSMTP_A_QE_PRIORITY, m->priority) ||
	    nla_put_u32(msg, KSMTP_A_QE_ATTEMPTS, m->attempts) ||
	    nla_put_u32(msg, KSMTP_A_QE_REPEATS, m->repeats) ||
	    nla_put_u32(msg, KSMTP_A_QE_AGE_MS, m->age_ms) ||
	    (next && nla_put_u32(msg, KSMTP_A_QE_NEXT_MS, m->next_ms)))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

struct dump_ctx {
	struct sk_buff *skb;
	struct netlink_callback *cb;
};

/* One queued mail into the dump; under the queue's lock, irqs off. */
static int dump_one(void *arg, const struct ksmtp_qinfo *m)
{
	struct dump_ctx *d = arg;
	void *hdr;

	hdr = genlmsg_put(d->skb, NETLINK_CB(d->cb->skb).portid, d->cb->nlh->nlmsg_seq,
			  &ksmtp_nl_family, NLM_F_MULTI, KSMTP_CMD_QUEUE_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (put_qinfo(d->skb, m, true) || (m->last && put_result(d->skb, m->last))) {
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

static int ksmtp_nl_tls_accept_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[KSMTP_A_TLS_MAX + 1] = {};
	struct ksmtp_tls_accepted *acc;
	struct sk_buff *msg = NULL;
	struct nlattr *nest;
	int fd = -1, err;
	void *hdr;

	err = parse_nests(info, KSMTP_A_TLS, tb, KSMTP_A_TLS_MAX, tls_accept_policy);
	if (err)
		return err;
	acc = kzalloc(sizeof(*acc), GFP_KERNEL);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	err = -ENOMEM;
	if (!acc || !msg)
		goto free;
	fd = get_unused_fd_flags(O_CLOEXEC);
	err = fd;
	if (fd < 0)
		goto free;
	err = ksmtp_tls_accept(genl_info_net(info),
			       tb[KSMTP_A_TLS_ID] ? nla_get_u64(tb[KSMTP_A_TLS_ID]) : 0,
			       info->snd_portid, acc);
	if (err == -EOPNOTSUPP) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "this kernel does handshakes through net/handshake: run tlshd");
		goto put_fd;
	}
	if (err) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "no TLS handshake waits (another helper took it, or it timed out)");
		goto put_fd;
	}
	/* From here the request is this helper's: a failure below leaves it
	 * to time out, or to fail when the helper's socket closes.
	 */
	hdr = genlmsg_put_reply(msg, info, &ksmtp_nl_family, 0, KSMTP_CMD_TLS_ACCEPT);
	nest = hdr ? nla_nest_start(msg, KSMTP_A_TLS) : NULL;
	if (!nest ||
	    nla_put_u64_64bit(msg, KSMTP_A_TLS_ID, acc->id, KSMTP_A_TLS_PAD) ||
	    nla_put_u32(msg, KSMTP_A_TLS_FD, fd) ||
	    nla_put_string(msg, KSMTP_A_TLS_NAME, acc->name) ||
	    (acc->ca_file[0] && nla_put_string(msg, KSMTP_A_TLS_CA_FILE, acc->ca_file)) ||
	    nla_put_u32(msg, KSMTP_A_TLS_TIMEOUT_MS, acc->timeout_ms)) {
		err = -EMSGSIZE;
		goto put_file;
	}
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	err = genlmsg_reply(msg, info);
	msg = NULL;
	if (err)
		goto put_file;
	fd_install(fd, acc->file);
	kfree(acc);
	return 0;

put_file:
	/* The helper never got it: another may take it. */
	ksmtp_tls_unaccept(genl_info_net(info), acc->id, info->snd_portid);
	fput(acc->file);
put_fd:
	put_unused_fd(fd);
free:
	nlmsg_free(msg);
	kfree(acc);
	return err;
}

static int ksmtp_nl_tls_done_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[KSMTP_A_TLS_MAX + 1] = {};
	int err;

	if (GENL_REQ_ATTR_CHECK(info, KSMTP_A_TLS))
		return -EINVAL;
	err = parse_nests(info, KSMTP_A_TLS, tb, KSMTP_A_TLS_MAX, tls_done_policy);
	if (err)
		return err;
	if (!tb[KSMTP_A_TLS_ID] || !tb[KSMTP_A_TLS_STATUS]) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[KSMTP_A_TLS],
				    "the report needs the request's id and a status");
		return -EINVAL;
	}
	err = ksmtp_tls_done(genl_info_net(info), nla_get_u64(tb[KSMTP_A_TLS_ID]),
			     info->snd_portid, nla_get_u32(tb[KSMTP_A_TLS_STATUS]),
			     tb[KSMTP_A_TLS_REASON] ? nla_data(tb[KSMTP_A_TLS_REASON]) : NULL,
			     tb[KSMTP_A_TLS_INFO] ? nla_data(tb[KSMTP_A_TLS_INFO]) : NULL);
	if (err == -EOPNOTSUPP)
		NL_SET_ERR_MSG_MOD(info->extack,
				   "this kernel does handshakes through net/handshake: run tlshd");
	else if (err)
		NL_SET_ERR_MSG_MOD(info->extack, "this helper holds no such TLS handshake");
	return err;
}

/* A queued mail's event, multicast on the "events" group. */
static void mail_event(const struct ksmtp_mail_event *ev)
{
	const struct ksmtp_qinfo *m = ev->mail;
	struct nlattr *nest;
	struct sk_buff *msg;
	void *hdr;

	/* Sized to fit: a burst of events must not overrun a listener. */
	msg = genlmsg_new(320 + strlen(m->subject) + (m->rcpt ? strlen(m->rcpt) : 0) +
			  (m->last ? sizeof(*m->last) + 64 : 0), GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &ksmtp_nl_family, 0, KSMTP_CMD_EVENT);
	nest = hdr ? nla_nest_start(msg, KSMTP_A_EVENT) : NULL;
	if (!nest || nla_put_u32(msg, KSMTP_A_EV_TYPE, ev->type) ||
	    (ev->type == KSMTP_EV_END && nla_put_u32(msg, KSMTP_A_EV_END, ev->end)))
		goto fail;
	nla_nest_end(msg, nest);
	if (put_qinfo(msg, m, ev->type == KSMTP_EV_RETRY) ||
	    (m->last && put_result(msg, m->last)))
		goto fail;
	genlmsg_end(msg, hdr);
	genlmsg_multicast_netns(&ksmtp_nl_family, ev->net, msg, 0, KSMTP_MCGRP_EVENTS_ID,
				GFP_KERNEL);
	return;
fail:
	nlmsg_free(msg);
}

/* A TLS request, multicast on the "tls" group to the helpers. */
static int tls_request(const struct ksmtp_tls_event *ev)
{
	struct nlattr *nest;
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(64, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put(msg, 0, 0, &ksmtp_nl_family, 0, KSMTP_CMD_TLS_REQUEST);
	nest = hdr ? nla_nest_start(msg, KSMTP_A_TLS) : NULL;
	if (!nest || nla_put_u64_64bit(msg, KSMTP_A_TLS_ID, ev->id, KSMTP_A_TLS_PAD)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_multicast_netns(&ksmtp_nl_family, ev->net, msg, 0, KSMTP_MCGRP_TLS_ID,
				       GFP_KERNEL);
}

static int nl_event(struct notifier_block *nb, unsigned long kind, void *data)
{
	int err;

	switch (kind) {
	case KSMTP_EVENT_MAIL:
		mail_event(data);
		return NOTIFY_OK;
	case KSMTP_EVENT_TLS_REQUEST:
		err = tls_request(data);
		return err ? notifier_from_errno(err) : NOTIFY_STOP;
	}
	return NOTIFY_DONE;
}

static struct notifier_block nl_events = {
	.notifier_call = nl_event,
};

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
		.policy = config_set_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KSMTP_CMD_CONFIG_GET,
		.doit = ksmtp_nl_config_get_doit,
		.policy = no_attrs_policy,
		.maxattr = KSMTP_A_MAX,
	},
	{
		.cmd = KSMTP_CMD_SEND,
		.doit = ksmtp_nl_send_doit,
		.policy = send_policy,
		.maxattr = KSMTP_A_MAX,
		/* CAP_NET_ADMIN or the send group: checked by the handler */
	},
	{
		.cmd = KSMTP_CMD_STATS_GET,
		.doit = ksmtp_nl_stats_get_doit,
		.policy = no_attrs_policy,
		.maxattr = KSMTP_A_MAX,
	},
	{
		.cmd = KSMTP_CMD_QUEUE_GET,
		.dumpit = ksmtp_nl_queue_get_dumpit,
		.policy = no_attrs_policy,
		.maxattr = KSMTP_A_MAX,
	},
	{
		.cmd = KSMTP_CMD_QUEUE_FLUSH,
		.doit = ksmtp_nl_queue_flush_doit,
		.policy = no_attrs_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KSMTP_CMD_QUEUE_RETRY,
		.doit = ksmtp_nl_queue_retry_doit,
		.policy = no_attrs_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KSMTP_CMD_TLS_ACCEPT,
		.doit = ksmtp_nl_tls_accept_doit,
		.policy = tls_accept_top_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KSMTP_CMD_TLS_DONE,
		.doit = ksmtp_nl_tls_done_doit,
		.policy = tls_done_top_policy,
		.maxattr = KSMTP_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family ksmtp_nl_family __ro_after_init = {
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

/**
 * ksmtp_nl_init() - register the family, and listen to the events
 *
 * Context: process context (module init).
 * Return: 0 or a negative errno.
 */
int __init ksmtp_nl_init(void)
{
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings); i++) {
		struct nla_policy *p = &cfg_set_policy[ksmtp_config_strings[i].attr];

		p->type = NLA_NUL_STRING;
		p->len = ksmtp_config_strings[i].max;
	}
	err = genl_register_family(&ksmtp_nl_family);
	if (err)
		return err;
	err = ksmtp_events_register(&nl_events);
	if (err)
		genl_unregister_family(&ksmtp_nl_family);
	return err;
}

/**
 * ksmtp_nl_exit() - stop listening, then unregister the family
 *
 * Context: process context (module exit), after ksmtp_net_close_all().
 */
void ksmtp_nl_exit(void)
{
	/* Once the listener is off the chain, nothing is multicast any
	 * more: a group number of the family is never used after it may be
	 * another's. Every SEND ended before, its outcome sent.
	 */
	ksmtp_events_unregister(&nl_events);
	genl_unregister_family(&ksmtp_nl_family);
}

MODULE_ALIAS_GENL_FAMILY(KSMTP_GENL_NAME);
