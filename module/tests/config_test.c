// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the server by name and whole configurations. The resolver's
 * answer parser (lists, IPv4 and IPv6, garbage, too long), address
 * literals and host names; a session to a name that is a literal, and to
 * one that cannot be resolved; then CONFIG_SET's handler itself, on
 * messages built here, on init_net: the server's address and name clear
 * each other, REPLACE brings back every default (password and server
 * included) in one step, and a refused request changes nothing.
 */
#include <kunit/test.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/inet.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <linux/ksmtp.h>

#include "server.h"
#include "../client.h"
#include "../encode.h"
#include "../netlink.h"
#include "../netns.h"
#include "../queue.h"
#include "../resolve.h"

/* ---- address literals and host names ---- */

static void addr_literals(struct kunit *test)
{
	static const struct {
		const char *s;
		int family;
		const char *addr;	/* in text, for in4_pton()/in6_pton() */
	} cases[] = {
		{ "192.0.2.1", AF_INET, "192.0.2.1" },
		{ "[192.0.2.1]", AF_INET, "192.0.2.1" },
		{ "255.255.255.255", AF_INET, "255.255.255.255" },
		{ "2001:db8::1", AF_INET6, "2001:db8::1" },
		{ "[2001:db8::1]", AF_INET6, "2001:db8::1" },
		{ "::1", AF_INET6, "::1" },
		{ "::ffff:192.0.2.7", AF_INET6, "::ffff:192.0.2.7" },
		{ "1:2:3:4:5:6:7:8", AF_INET6, "1:2:3:4:5:6:7:8" },
		{ "192.0.2.256" }, { "192.0.2" }, { "192.0.2.1.5" },
		{ "192.0.2.1:25" }, { "192.0.2.1x" }, { " 192.0.2.1" },
		{ "[192.0.2.1" }, { "2001:db8::1]" }, { "[]" }, { "" },
		{ "2001:db8::1%eth0" }, { "2001:db8:::1" }, { "1:2:3:4:5:6:7:8:9" },
		{ "[IPv6:2001:db8::1]" }, { "mx.example.org" }, { "[[::1]]" },
	};
	union ksmtp_addr a, want;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool lit = ksmtp_addr_literal(cases[i].s, &a);

		KUNIT_EXPECT_EQ_MSG(test, lit, !!cases[i].family, "%s", cases[i].s);
		if (!lit || !cases[i].family)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, a.sa.sa_family, cases[i].family, "%s", cases[i].s);
		memset(&want, 0, sizeof(want));
		if (cases[i].family == AF_INET)
			KUNIT_ASSERT_TRUE(test, in4_pton(cases[i].addr, -1,
							 (u8 *)&want.v4.sin_addr, -1, NULL));
		else
			KUNIT_ASSERT_TRUE(test, in6_pton(cases[i].addr, -1,
							 want.v6.sin6_addr.s6_addr, -1, NULL));
		want.sa.sa_family = cases[i].family;
		KUNIT_EXPECT_TRUE_MSG(test, !memcmp(&a, &want, sizeof(a)), "%s", cases[i].s);
	}
}

static void server_names(struct kunit *test)
{
	static const char * const good[] = {
		"mx.example.org", "mx.example.org.", "relay-1.example", "a_b.example",
		"localhost", "abc", "ab.", "192.0.2.1", "[2001:db8::1]", "1.example",
		"x.123a", "123.example.org", "0x7f.example", "1.2.3.4.example", "0xg",
	};
	static const struct {
		const char *s;
		const char *why;	/* a part of the reason */
	} bad[] = {
		{ "mx..example.org", "empty label" },
		{ ".mx.example.org", "empty label" },
		{ "mx.example.org..", "empty label" },
		{ ".", "empty label" },
		{ "mx example.org", "not allowed" },
		{ "mx.example.org:25", "not allowed" },
		{ "2001:db8::zz", "not allowed" },
		{ "[mx.example.org]", "address literal" },
		{ "[192.0.2.1", "address literal" },
		{ "192.0.2.256", "neither" },
		{ "1.2.3", "neither" },
		{ "10", "neither" },
		/* what the C library's resolver takes for IPv4 addresses */
		{ "0x7f000001", "neither" },
		{ "0x7f.0x1", "neither" },
		{ "127.0.0.0x1", "neither" },
		{ "127.1", "neither" },
		/* octal to the C library, decimal to in4_pton() */
		{ "010.0.0.1", "neither" },
		{ "192.168.001.010", "neither" },
		{ "mx", "3 octets" },
		{ "m.", "3 octets" },
		/* Latin-1 letters to the kernel's isalpha(), not to DNS */
		{ "r\xe9lais.example", "not allowed" },
		{ "r\xc3\xa9lais.example", "not allowed" },
	};
	char label[80];
	const char *why;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(good); i++)
		KUNIT_EXPECT_NULL_MSG(test, ksmtp_check_server_name(good[i]), "%s", good[i]);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		why = ksmtp_check_server_name(bad[i].s);
		KUNIT_ASSERT_NOT_NULL_MSG(test, why, "%s", bad[i].s);
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(why, bad[i].why), "%s: %s", bad[i].s, why);
	}
	/* labels of 63 octets, not 64 */
	memset(label, 'a', sizeof(label));
	strcpy(label + 63, ".example");
	KUNIT_EXPECT_NULL(test, ksmtp_check_server_name(label));
	memset(label, 'a', sizeof(label));
	strcpy(label + 64, ".example");
	KUNIT_EXPECT_NOT_NULL(test, ksmtp_check_server_name(label));
	/* nor in the EHLO argument */
	KUNIT_EXPECT_NOT_NULL(test, ksmtp_check_domain("gw\xe9.example"));
	KUNIT_EXPECT_NOT_NULL(test, ksmtp_check_domain("[192.0.2.\xe9]"));
	KUNIT_EXPECT_NULL(test, ksmtp_check_domain("gw-1_a.example"));
}

/* ---- the resolver's answer ---- */

static void expect_addr(struct kunit *test, const union ksmtp_addr *a, const char *text)
{
	union ksmtp_addr want = {};

	if (strchr(text, ':')) {
		KUNIT_ASSERT_TRUE(test, in6_pton(text, -1, want.v6.sin6_addr.s6_addr, -1, NULL));
		want.sa.sa_family = AF_INET6;
	} else {
		KUNIT_ASSERT_TRUE(test, in4_pton(text, -1, (u8 *)&want.v4.sin_addr, -1, NULL));
		want.sa.sa_family = AF_INET;
	}
	KUNIT_EXPECT_TRUE_MSG(test, !memcmp(a, &want, sizeof(want)), "%s", text);
}

static int parse(struct ksmtp_addrs *addrs, const char *s, size_t len, const char **why)
{
	*why = NULL;
	return ksmtp_resolve_parse(s, len, addrs, why);
}

static void answer_lists(struct kunit *test)
{
	struct ksmtp_addrs *addrs = kunit_kzalloc(test, sizeof(*addrs), GFP_KERNEL);
	const char *why, *s;
	char *many;
	size_t off;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, addrs);
	s = "192.0.2.1";
	KUNIT_EXPECT_EQ(test, parse(addrs, s, strlen(s), &why), 0);
	KUNIT_ASSERT_EQ(test, addrs->n, 1U);
	expect_addr(test, &addrs->addr[0], "192.0.2.1");

	/* the order is kept: IPv6 first when the resolver puts it first */
	s = "2001:db8::25,192.0.2.25,::ffff:198.51.100.1,2001:db8:0:0:0:0:0:26";
	KUNIT_EXPECT_EQ(test, parse(addrs, s, strlen(s), &why), 0);
	KUNIT_ASSERT_EQ(test, addrs->n, 4U);
	expect_addr(test, &addrs->addr[0], "2001:db8::25");
	expect_addr(test, &addrs->addr[1], "192.0.2.25");
	expect_addr(test, &addrs->addr[2], "::ffff:198.51.100.1");
	expect_addr(test, &addrs->addr[3], "2001:db8::26");

	/* the same address twice is tried once */
	s = "::1,127.0.0.1,0:0::1,127.0.0.1";
	KUNIT_EXPECT_EQ(test, parse(addrs, s, strlen(s), &why), 0);
	KUNIT_ASSERT_EQ(test, addrs->n, 2U);
	expect_addr(test, &addrs->addr[0], "::1");
	expect_addr(test, &addrs->addr[1], "127.0.0.1");

	/* 20 addresses: the first KSMTP_ADDRS_MAX are kept, the rest not read */
	many = kunit_kzalloc(test, 8192, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, many);
	for (i = 0, off = 0; i < 20; i++)
		off += sprintf(many + off, "%s192.0.2.%u", i ? "," : "", i + 1);
	KUNIT_EXPECT_EQ(test, parse(addrs, many, off, &why), 0);
	KUNIT_ASSERT_EQ(test, addrs->n, (unsigned int)KSMTP_ADDRS_MAX);
	expect_addr(test, &addrs->addr[KSMTP_ADDRS_MAX - 1], "192.0.2.8");
	strcpy(many + off, ",x");
	KUNIT_EXPECT_EQ(test, parse(addrs, many, off + 2, &why), 0);
	KUNIT_EXPECT_EQ(test, addrs->n, (unsigned int)KSMTP_ADDRS_MAX);

	/* keyutils' longest answer, 128 IPv6 addresses (over 4 KiB) */
	for (i = 0, off = 0; i < 128; i++)
		off += sprintf(many + off, "%s2001:db8:1234:5678:9abc:def0:1234:%x",
			       i ? "," : "", i + 1);
	KUNIT_ASSERT_GT(test, off, (size_t)4096);
	KUNIT_EXPECT_EQ(test, parse(addrs, many, off, &why), 0);
	KUNIT_ASSERT_EQ(test, addrs->n, (unsigned int)KSMTP_ADDRS_MAX);
	expect_addr(test, &addrs->addr[0], "2001:db8:1234:5678:9abc:def0:1234:1");
	expect_addr(test, &addrs->addr[7], "2001:db8:1234:5678:9abc:def0:1234:8");

	/* duplicates do not count: the 8 distinct ones are found */
	for (i = 0, off = 0; i < 200; i++)
		off += sprintf(many + off, "%s192.0.2.%u", i ? "," : "", i % 2 ? 1 : i / 2 + 1);
	KUNIT_EXPECT_EQ(test, parse(addrs, many, off, &why), 0);
	KUNIT_ASSERT_EQ(test, addrs->n, (unsigned int)KSMTP_ADDRS_MAX);
	expect_addr(test, &addrs->addr[7], "192.0.2.8");

	/* an IPv4 part with a leading zero is not taken */
	s = "010.0.0.1";
	KUNIT_EXPECT_EQ(test, parse(addrs, s, strlen(s), &why), -EBADMSG);
	s = "10.0.0.1";
	KUNIT_EXPECT_EQ(test, parse(addrs, s, strlen(s), &why), 0);
	s = "10.0.0.0";
	KUNIT_EXPECT_EQ(test, parse(addrs, s, strlen(s), &why), 0);
}

static void answer_garbage(struct kunit *test)
{
	static const struct {
		const char *s;
		size_t len;	/* 0: strlen() */
	} bad[] = {
		{ "" }, { "," }, { "192.0.2.1," }, { ",192.0.2.1" }, { "192.0.2.1,,::1" },
		{ " 192.0.2.1" }, { "192.0.2.1 " }, { "192.0.2.1, ::1" }, { "192.0.2.1;::1" },
		{ "192.0.2.1:25" }, { "[::1]" }, { "fe80::1%eth0" }, { "192.0.2.256" },
		{ "mx.example.org" }, { "192.0.2.1\n" }, { "0x7f.0.0.1" },
		{ "#dnserror=6" }, { "1234:5678:9abc:def0:1234:5678:9abc:def0:1" },
		{ "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:1" },
		{ "192.0.2.1\0::1", 13 }, { "\0\1\0\0\0\0", 6 }, { "192.0.2.1\0", 10 },
	};
	struct ksmtp_addrs *addrs = kunit_kzalloc(test, sizeof(*addrs), GFP_KERNEL);
	const char *why;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, addrs);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		size_t len = bad[i].len ?: strlen(bad[i].s);

		addrs->n = 5;
		KUNIT_EXPECT_EQ_MSG(test, parse(addrs, bad[i].s, len, &why), -EBADMSG,
				    "case %u", i);
		KUNIT_EXPECT_EQ_MSG(test, addrs->n, 0U, "case %u", i);
		KUNIT_EXPECT_NOT_NULL_MSG(test, why, "case %u", i);
	}
}

/* ---- sessions to a server given by name ---- */

static const char * const s_name[] = {
	"S220 mx.example ESMTP\r\n", "R", "S250 mx.example\r\n",
	"R", "S250 ok\r\n", "R", "S250 ok\r\n", "R", "S354 go\r\n", "D",
	"S250 queued\r\n", "R", "S221 bye\r\n",
	NULL
};

static struct ksmtp_client *name_client(struct kunit *test, const char *name, u16 port)
{
	struct ksmtp_config cfg = {
		.kc_server_name = name,
		.kc_port = port,
		.kc_from = "dev@example.org",
		.kc_domain = "client.example",
		.kc_timeouts = { 3000, 3000, 3000, 3000, 3000 },
	};
	struct ksmtp_client *client = ksmtp_client_create(&cfg);

	KUNIT_ASSERT_FALSE(test, IS_ERR(client));
	return client;
}

/* An address literal as the name: no upcall, the session as by address. */
static void literal_name_session(struct kunit *test)
{
	static const char * const names[] = { "::1", "[::1]", "127.0.0.1" };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct ksmtp_result *res = kunit_kzalloc(test, sizeof(*res), GFP_KERNEL);
	struct ksmtp_mail mail = {
		.km_rcpt = "ops@example.net", .km_subject = "Fault",
		.km_body = "Fan 2 failed.\n", .km_body_len = 14,
	};
	struct ksmtp_client *client;
	unsigned int i;
	u16 port;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	KUNIT_ASSERT_NOT_NULL(test, res);
	KUNIT_ASSERT_EQ(test, ksmtp_test_lo_up(), 0);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		int family = strchr(names[i], ':') ? AF_INET6 : AF_INET;

		memset(srv, 0, sizeof(*srv));
		ksmtp_test_server_start(test, srv, family, s_name, 8192);
		port = family == AF_INET6 ?
		       ntohs(((struct sockaddr_in6 *)&srv->addr)->sin6_port) :
		       ntohs(((struct sockaddr_in *)&srv->addr)->sin_port);
		client = name_client(test, names[i], port);
		KUNIT_EXPECT_EQ_MSG(test, ksmtp_mail_send(client, &mail, res), 0, "%s: %s",
				    names[i], res->kr_reason);
		ksmtp_client_destroy(client);
		ksmtp_test_server_wait(test, srv);
		KUNIT_EXPECT_NOT_NULL(test, strstr(srv->rx, "MAIL FROM:<dev@example.org>"));
	}
}

/* A name the resolver cannot answer (here no upcall program at all):
 * the connect phase fails, transiently, and says why.
 */
static void unresolvable_name_is_transient(struct kunit *test)
{
	struct ksmtp_result *res = kunit_kzalloc(test, sizeof(*res), GFP_KERNEL);
	struct ksmtp_mail mail = {
		.km_rcpt = "ops@example.net", .km_subject = "Fault",
		.km_body = "x\n", .km_body_len = 2,
	};
	struct ksmtp_client *client;
	int err;

	KUNIT_ASSERT_NOT_NULL(test, res);
	client = name_client(test, "no-such-host.invalid", 25);
	err = ksmtp_mail_send(client, &mail, res);
	ksmtp_client_destroy(client);
	kunit_info(test, "errno %d: %s\n", err, res->kr_reason);
	KUNIT_EXPECT_LT(test, err, 0);
	KUNIT_EXPECT_EQ(test, res->kr_err, err);
	KUNIT_EXPECT_EQ(test, res->kr_phase, KSMTP_PHASE_CONNECT);
	KUNIT_EXPECT_TRUE(test, res->kr_transient);
	KUNIT_EXPECT_EQ(test, res->kr_code, 0U);
	KUNIT_EXPECT_TRUE_MSG(test, str_has_prefix(res->kr_reason,
						   "cannot resolve no-such-host.invalid: "),
			      "%s", res->kr_reason);
}

/* With TLS, the name to verify defaults to the server's host name (not
 * to an address literal, and not over a tls-name given).
 */
static void tls_name_defaults_to_host_name(struct kunit *test)
{
	static const struct {
		const char *server;
		const char *tls_name;
		const char *want;	/* NULL: refused */
	} cases[] = {
		{ "mx.example.org", "", "mx.example.org" },
		{ "mx.example.org.", NULL, "mx.example.org" },
		{ "mx.example.org", "other.example", "other.example" },
		{ "192.0.2.1", "", NULL },
		{ "[2001:db8::1]", NULL, NULL },
		{ "192.0.2.1", "mx.example.org", "mx.example.org" },
		{ "", "", NULL },
	};
	struct ksmtp_config cfg = {
		.kc_from = "dev@example.org",
		.kc_tls = KSMTP_TLS_STARTTLS,
	};
	struct ksmtp_client *client;
	unsigned int i;
	int attr;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		cfg.kc_server_name = cases[i].server;
		cfg.kc_tls_name = cases[i].tls_name;
		client = ksmtp_client_create(&cfg);
		KUNIT_EXPECT_EQ_MSG(test, IS_ERR(client), !cases[i].want, "case %u", i);
		if (!cases[i].want) {
			KUNIT_EXPECT_NOT_NULL(test, ksmtp_config_check(&cfg, true, &attr));
			continue;
		}
		if (IS_ERR(client))
			continue;
		KUNIT_EXPECT_STREQ(test, client->cfg.kc_tls_name, cases[i].want);
		KUNIT_EXPECT_STREQ(test, client->cfg.kc_server_name, cases[i].server);
		ksmtp_client_destroy(client);
	}
	/* without TLS, nothing is made up */
	cfg.kc_tls = KSMTP_TLS_NONE;
	cfg.kc_server_name = "mx.example.org";
	cfg.kc_tls_name = NULL;
	client = ksmtp_client_create(&cfg);
	KUNIT_ASSERT_FALSE(test, IS_ERR(client));
	KUNIT_EXPECT_STREQ(test, client->cfg.kc_tls_name, "");
	ksmtp_client_destroy(client);
}

static struct kunit_case resolve_cases[] = {
	KUNIT_CASE(addr_literals),
	KUNIT_CASE(server_names),
	KUNIT_CASE(answer_lists),
	KUNIT_CASE(answer_garbage),
	KUNIT_CASE(literal_name_session),
	KUNIT_CASE(unresolvable_name_is_transient),
	KUNIT_CASE(tls_name_defaults_to_host_name),
	{}
};

static struct kunit_suite resolve_suite = {
	.name = "ksmtp-resolve",
	.test_cases = resolve_cases,
};

/* ---- CONFIG_SET through its handler ---- */

/* A CONFIG_SET request being built: one KSMTP_A_CONFIG nest. */
struct cfg_msg {
	struct sk_buff *skb;
	struct nlattr *nest;
};

static void msg_start(struct kunit *test, struct cfg_msg *m)
{
	struct genlmsghdr *g;
	struct nlmsghdr *nlh;

	m->skb = nlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m->skb);
	nlh = nlmsg_put(m->skb, 0, 1, GENL_MIN_ID, GENL_HDRLEN, NLM_F_REQUEST);
	KUNIT_ASSERT_NOT_NULL(test, nlh);
	g = nlmsg_data(nlh);
	g->cmd = KSMTP_CMD_CONFIG_SET;
	g->version = KSMTP_GENL_VERSION;
	m->nest = nla_nest_start(m->skb, KSMTP_A_CONFIG);
	KUNIT_ASSERT_NOT_NULL(test, m->nest);
}

/* Hand it to the handler, as genetlink would, for init_net. */
static int msg_send(struct kunit *test, struct cfg_msg *m, const char **why)
{
	struct netlink_ext_ack *extack = kunit_kzalloc(test, sizeof(*extack), GFP_KERNEL);
	struct genl_info info = {};
	struct nlmsghdr *nlh;
	int err;

	KUNIT_ASSERT_NOT_NULL(test, extack);
	nla_nest_end(m->skb, m->nest);
	nlh = nlmsg_hdr(m->skb);
	nlmsg_end(m->skb, nlh);
	info.nlhdr = nlh;
	info.genlhdr = nlmsg_data(nlh);
	info.extack = extack;
	genl_info_net_set(&info, &init_net);
	err = ksmtp_nl_test_config_set(m->skb, &info);
	kfree_skb(m->skb);
	m->skb = NULL;
	if (why)
		*why = extack->_msg;
	return err;
}

/* What a test looks at in the namespace's configuration. */
struct cfg_seen {
	bool server_set;
	sa_family_t family;
	bool configured;
	bool has_name;
	char name[KSMTP_HOST_MAX + 1];
	bool has_user, has_password, has_password_file;
	char password_file[64];
	u16 port;
	enum ksmtp_tls_mode tls;
	bool helo_only;
	unsigned int connect_ms;
	struct ksmtp_queue_limits limits;
};

static int seen_read(void *arg, struct ksmtp_net_cfg *cfg)
{
	struct cfg_seen *s = arg;

	memset(s, 0, sizeof(*s));
	s->server_set = cfg->server_set;
	s->family = cfg->c.kc_server.ss_family;
	s->configured = ksmtp_net_cfg_configured(cfg);
	s->has_name = !!cfg->c.kc_server_name;
	if (cfg->c.kc_server_name)
		strscpy(s->name, cfg->c.kc_server_name, sizeof(s->name));
	s->has_user = cfg->c.kc_username && cfg->c.kc_username[0];
	s->has_password = cfg->c.kc_password && cfg->c.kc_password[0];
	s->has_password_file = !!cfg->c.kc_password_file;
	if (cfg->c.kc_password_file)
		strscpy(s->password_file, cfg->c.kc_password_file, sizeof(s->password_file));
	s->port = cfg->c.kc_port;
	s->tls = cfg->c.kc_tls;
	s->helo_only = cfg->c.kc_helo_only;
	s->connect_ms = cfg->c.kc_timeouts.kt_connect_ms;
	s->limits = cfg->limits;
	return 0;
}

static void seen(struct kunit *test, struct cfg_seen *s)
{
	KUNIT_ASSERT_EQ(test, ksmtp_net_config_read(ksmtp_net(&init_net), seen_read, s), 0);
}

/* Is there a default client, and does it go to @name? */
static bool client_to(const char *name)
{
	struct ksmtp_client *c = ksmtp_net_client(ksmtp_net(&init_net));
	bool ok;

	if (!c)
		return !name;
	ok = name && !strcmp(c->cfg.kc_server_name, name);
	ksmtp_client_put(c);
	return ok;
}

static int put_addr4(struct cfg_msg *m, const char *text)
{
	__be32 a;

	if (!in4_pton(text, -1, (u8 *)&a, -1, NULL))
		return -EINVAL;
	return nla_put_in_addr(m->skb, KSMTP_A_CFG_SERVER_ADDR, a);
}

/* Back to the defaults after each case: a whole empty configuration. */
static void config_exit(struct kunit *test)
{
	struct cfg_msg m;

	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_u8(m.skb, KSMTP_A_CFG_REPLACE, 1), 0);
	KUNIT_EXPECT_EQ(test, msg_send(test, &m, NULL), 0);
}

static void name_and_address_clear_each_other(struct kunit *test)
{
	struct cfg_seen *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	const char *why;
	struct cfg_msg m;

	KUNIT_ASSERT_NOT_NULL(test, s);
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_string(m.skb, KSMTP_A_CFG_SERVER_NAME,
					     "relay.example.org"), 0);
	KUNIT_ASSERT_EQ(test, nla_put_string(m.skb, KSMTP_A_CFG_FROM, "dev@example.org"), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, &why), 0);
	seen(test, s);
	KUNIT_EXPECT_TRUE(test, s->configured);
	KUNIT_EXPECT_FALSE(test, s->server_set);
	KUNIT_EXPECT_STREQ(test, s->name, "relay.example.org");
	KUNIT_EXPECT_TRUE(test, client_to("relay.example.org"));

	/* an address clears the name */
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, put_addr4(&m, "192.0.2.1"), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, &why), 0);
	seen(test, s);
	KUNIT_EXPECT_TRUE(test, s->configured);
	KUNIT_EXPECT_TRUE(test, s->server_set);
	KUNIT_EXPECT_EQ(test, s->family, (sa_family_t)AF_INET);
	KUNIT_EXPECT_FALSE(test, s->has_name);
	KUNIT_EXPECT_TRUE(test, client_to(""));

	/* a name clears the address */
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_string(m.skb, KSMTP_A_CFG_SERVER_NAME, "::1"), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, &why), 0);
	seen(test, s);
	KUNIT_EXPECT_TRUE(test, s->configured);
	KUNIT_EXPECT_FALSE(test, s->server_set);
	KUNIT_EXPECT_EQ(test, s->family, (sa_family_t)0);
	KUNIT_EXPECT_STREQ(test, s->name, "::1");
	KUNIT_EXPECT_TRUE(test, client_to("::1"));

	/* both at once: refused, named, nothing changed */
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, put_addr4(&m, "192.0.2.2"), 0);
	KUNIT_ASSERT_EQ(test, nla_put_string(m.skb, KSMTP_A_CFG_SERVER_NAME, "mx.example"), 0);
	KUNIT_EXPECT_EQ(test, msg_send(test, &m, &why), -EINVAL);
	KUNIT_EXPECT_TRUE(test, why && strstr(why, "both"));
	seen(test, s);
	KUNIT_EXPECT_STREQ(test, s->name, "::1");
	KUNIT_EXPECT_FALSE(test, s->server_set);

	/* a bad name: refused, nothing changed */
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_string(m.skb, KSMTP_A_CFG_SERVER_NAME, "mx..example"), 0);
	KUNIT_EXPECT_EQ(test, msg_send(test, &m, &why), -EINVAL);
	KUNIT_EXPECT_TRUE(test, why && strstr(why, "empty label"));
	seen(test, s);
	KUNIT_EXPECT_STREQ(test, s->name, "::1");

	/* an empty name clears the server: no longer configured */
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_string(m.skb, KSMTP_A_CFG_SERVER_NAME, ""), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, &why), 0);
	seen(test, s);
	KUNIT_EXPECT_FALSE(test, s->configured);
	KUNIT_EXPECT_FALSE(test, s->server_set);
	KUNIT_EXPECT_FALSE(test, s->has_name);
	KUNIT_EXPECT_TRUE(test, client_to(NULL));
}

/* Everything set away from its default, then a whole configuration. */
static void set_everything(struct kunit *test)
{
	struct cfg_msg m;

	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_string(m.skb, KSMTP_A_CFG_SERVER_NAME, "mx.example.org") ?:
		nla_put_u16(m.skb, KSMTP_A_CFG_PORT, 2525) ?:
		nla_put_string(m.skb, KSMTP_A_CFG_USERNAME, "gw") ?:
		nla_put_string(m.skb, KSMTP_A_CFG_PASSWORD, "secret") ?:
		nla_put_string(m.skb, KSMTP_A_CFG_PASSWORD_FILE, "/etc/ksmtp/pw") ?:
		nla_put_string(m.skb, KSMTP_A_CFG_FROM, "gw@example.org") ?:
		nla_put_u32(m.skb, KSMTP_A_CFG_AUTH, KSMTP_AUTH_PLAIN) ?:
		nla_put_u32(m.skb, KSMTP_A_CFG_TLS, KSMTP_TLS_STARTTLS) ?:
		nla_put_u32(m.skb, KSMTP_A_CFG_TIMEOUT_CONNECT, 1000) ?:
		nla_put_u32(m.skb, KSMTP_A_CFG_QUEUE_MAX, 10) ?:
		nla_put_u32(m.skb, KSMTP_A_CFG_RETRY_MAX, 3) ?:
		nla_put_u32(m.skb, KSMTP_A_CFG_COALESCE_MS, 0), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, NULL), 0);
}

static void replace_brings_back_defaults(struct kunit *test)
{
	struct cfg_seen *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct ksmtp_queue_limits def;
	struct cfg_msg m;

	KUNIT_ASSERT_NOT_NULL(test, s);
	ksmtp_queue_default_limits(&def);
	set_everything(test);
	seen(test, s);
	KUNIT_ASSERT_TRUE(test, s->configured);
	KUNIT_ASSERT_TRUE(test, s->has_password && s->has_user && s->has_password_file);
	KUNIT_ASSERT_EQ(test, s->limits.max_count, 10U);
	KUNIT_ASSERT_TRUE(test, client_to("mx.example.org"));

	/* REPLACE 0 is a partial update */
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_u8(m.skb, KSMTP_A_CFG_REPLACE, 0) ?:
			nla_put_u8(m.skb, KSMTP_A_CFG_HELO_ONLY, 0), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, NULL), 0);
	seen(test, s);
	KUNIT_EXPECT_TRUE(test, s->has_password);
	KUNIT_EXPECT_EQ(test, s->port, 2525);

	/* a whole configuration of an address and a from address */
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_u8(m.skb, KSMTP_A_CFG_REPLACE, 1) ?:
			put_addr4(&m, "192.0.2.9") ?:
			nla_put_string(m.skb, KSMTP_A_CFG_FROM, "b@example.org"), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, NULL), 0);
	seen(test, s);
	KUNIT_EXPECT_TRUE(test, s->configured);
	KUNIT_EXPECT_TRUE(test, s->server_set);
	KUNIT_EXPECT_FALSE(test, s->has_name);
	KUNIT_EXPECT_FALSE(test, s->has_user);
	KUNIT_EXPECT_FALSE(test, s->has_password);
	KUNIT_EXPECT_FALSE(test, s->has_password_file);
	KUNIT_EXPECT_EQ(test, s->port, 0);
	KUNIT_EXPECT_EQ(test, s->tls, KSMTP_TLS_NONE);
	KUNIT_EXPECT_EQ(test, s->connect_ms, 0U);
	KUNIT_EXPECT_TRUE(test, !memcmp(&s->limits, &def, sizeof(def)));
	KUNIT_EXPECT_TRUE(test, client_to(""));

	/* a whole configuration without a server: no default client */
	set_everything(test);
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_u8(m.skb, KSMTP_A_CFG_REPLACE, 1) ?:
			nla_put_string(m.skb, KSMTP_A_CFG_FROM, "b@example.org"), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, NULL), 0);
	seen(test, s);
	KUNIT_EXPECT_FALSE(test, s->configured);
	KUNIT_EXPECT_FALSE(test, s->server_set || s->has_name || s->has_password);
	KUNIT_EXPECT_TRUE(test, !memcmp(&s->limits, &def, sizeof(def)));
	KUNIT_EXPECT_TRUE(test, client_to(NULL));
}

/* A whole configuration that is refused leaves the old one whole. */
static void replace_refused_changes_nothing(struct kunit *test)
{
	static const char * const bad_from[] = { "not an address", "a@b\r\nRSET" };
	struct cfg_seen *before = kunit_kzalloc(test, sizeof(*before), GFP_KERNEL);
	struct cfg_seen *after = kunit_kzalloc(test, sizeof(*after), GFP_KERNEL);
	struct ksmtp_client *c0, *c1;
	struct cfg_msg m;
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, before);
	KUNIT_ASSERT_NOT_NULL(test, after);
	set_everything(test);
	seen(test, before);
	c0 = ksmtp_net_client(ksmtp_net(&init_net));
	for (i = 0; i < ARRAY_SIZE(bad_from); i++) {
		msg_start(test, &m);
		KUNIT_ASSERT_EQ(test, nla_put_u8(m.skb, KSMTP_A_CFG_REPLACE, 1) ?:
				put_addr4(&m, "192.0.2.9") ?:
				nla_put_string(m.skb, KSMTP_A_CFG_FROM, bad_from[i]), 0);
		KUNIT_EXPECT_EQ(test, msg_send(test, &m, NULL), -EINVAL);
	}
	/* TLS without a name to verify: the server is an address now */
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_u8(m.skb, KSMTP_A_CFG_REPLACE, 1) ?:
			put_addr4(&m, "192.0.2.9") ?:
			nla_put_u32(m.skb, KSMTP_A_CFG_TLS, KSMTP_TLS_IMPLICIT) ?:
			nla_put_string(m.skb, KSMTP_A_CFG_FROM, "b@example.org"), 0);
	KUNIT_EXPECT_EQ(test, msg_send(test, &m, NULL), -EINVAL);
	/* out of range: the policy refuses */
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_u8(m.skb, KSMTP_A_CFG_REPLACE, 2), 0);
	KUNIT_EXPECT_EQ(test, msg_send(test, &m, NULL), -ERANGE);
	seen(test, after);
	KUNIT_EXPECT_TRUE(test, !memcmp(after, before, sizeof(*after)));
	c1 = ksmtp_net_client(ksmtp_net(&init_net));
	KUNIT_EXPECT_PTR_EQ(test, c0, c1);
	ksmtp_client_put(c0);
	ksmtp_client_put(c1);
}

/* A new password without its file forgets the old file. */
static void password_file_follows_password(struct kunit *test)
{
	struct cfg_seen *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct cfg_msg m;

	KUNIT_ASSERT_NOT_NULL(test, s);
	set_everything(test);
	seen(test, s);
	KUNIT_EXPECT_STREQ(test, s->password_file, "/etc/ksmtp/pw");
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_u16(m.skb, KSMTP_A_CFG_PORT, 26), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, NULL), 0);
	seen(test, s);
	KUNIT_EXPECT_STREQ(test, s->password_file, "/etc/ksmtp/pw");
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_string(m.skb, KSMTP_A_CFG_PASSWORD, "other"), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, NULL), 0);
	seen(test, s);
	KUNIT_EXPECT_TRUE(test, s->has_password);
	KUNIT_EXPECT_FALSE(test, s->has_password_file);
	msg_start(test, &m);
	KUNIT_ASSERT_EQ(test, nla_put_string(m.skb, KSMTP_A_CFG_PASSWORD_FILE, "/run/pw"), 0);
	KUNIT_ASSERT_EQ(test, msg_send(test, &m, NULL), 0);
	seen(test, s);
	KUNIT_EXPECT_STREQ(test, s->password_file, "/run/pw");
}

static struct kunit_case config_cases[] = {
	KUNIT_CASE(name_and_address_clear_each_other),
	KUNIT_CASE(replace_brings_back_defaults),
	KUNIT_CASE(replace_refused_changes_nothing),
	KUNIT_CASE(password_file_follows_password),
	{}
};

static struct kunit_suite config_suite = {
	.name = "ksmtp-config",
	.exit = config_exit,
	.test_cases = config_cases,
};

kunit_test_suites(&resolve_suite, &config_suite);
