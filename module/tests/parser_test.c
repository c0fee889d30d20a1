// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the reply parser, the EHLO capability parser, the AUTH mechanism
 * choice and the AUTH responses.
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "../reply.h"
#include "../caps.h"
#include "../auth.h"
#include "../client.h"

struct reply_case {
	const char *name;
	const char *in;
	int ret;		/* of feeding all of @in */
	unsigned int code;
	unsigned int nlines;
	const char *text;
	size_t used;		/* 0: all of @in */
};

static char long_line[1200];
static char many_lines[200 * 6 + 8];
static char huge_reply[70000];
static char long_text[KSMTP_TEXT_MAX];
static char nul_late[1200];

static const struct reply_case reply_cases[] = {
	{ "single", "220 mx.example ESMTP\r\n", 1, 220, 1, "mx.example ESMTP" },
	{ "bare_code", "250\r\n", 1, 250, 1, "" },
	{ "multi", "250-mx\r\n250-SIZE 10\r\n250 OK\r\n", 1, 250, 3, "mx" },
	{ "multi_bare_last", "250-mx\r\n250\r\n", 1, 250, 2, "mx" },
	{ "bare_lf", "250-a\n250 b\n", 1, 250, 2, "a" },
	{ "partial", "250-mx\r\n250 O", 0, 250, 1, "mx" },
	{ "two_in_one", "220 hi\r\n250 ok\r\n", 1, 220, 1, "hi", 8 },
	{ "not_digits", "hello\r\n", -EBADMSG },
	{ "first_digit_1", "150 x\r\n", -EBADMSG },
	{ "first_digit_6", "650 x\r\n", -EBADMSG },
	{ "bad_separator", "250+x\r\n", -EBADMSG },
	{ "short", "25\r\n", -EBADMSG },
	{ "mixed_codes", "250-a\r\n251 b\r\n", -EBADMSG },
	{ "nul", "250 a\0b\r\n", -EBADMSG },
	{ "control_text", "550 a\x1b[31mb\r\n", 1, 550, 1, "a?[31mb" },
	/* A line over KSMTP_LINE_MAX is read whole, kept in part. */
	{ "long_line_kept_in_part", long_line, 1, 250, 1, long_text },
	/* 200 lines: read whole, the first KSMTP_REPLY_LINES_MAX kept. */
	{ "two_hundred_lines", many_lines, 1, 250, KSMTP_REPLY_LINES_MAX, "x" },
	{ "over_64_kib", huge_reply, -EMSGSIZE },
	/* A NUL past the part kept is refused as one inside it is. */
	{ "nul_past_kept_part", nul_late, -EBADMSG },
};

static void reply_case_desc(const struct reply_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(reply, reply_cases, reply_case_desc);

static size_t case_len(const struct reply_case *c)
{
	/* The "nul" cases hold a NUL: their length is not their strlen. */
	if (!strcmp(c->name, "nul"))
		return sizeof("250 a\0b\r\n") - 1;
	if (c->in == nul_late)
		return sizeof(nul_late) - 1;
	return strlen(c->in);
}

static void check_reply(struct kunit *test, const struct reply_case *c,
			bool bytewise)
{
	struct ksmtp_rparser *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	struct ksmtp_reply *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	size_t len = case_len(c), used = 0, u, i;
	int ret = 0;

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_NOT_NULL(test, r);
	ksmtp_reply_init(p, r);
	if (bytewise) {
		/* One octet a segment: the worst split a server can make. */
		for (i = 0; i < len && !ret; i++) {
			ret = ksmtp_reply_feed(p, c->in + i, 1, &u);
			used += u;
		}
	} else {
		ret = ksmtp_reply_feed(p, c->in, len, &used);
	}
	KUNIT_EXPECT_EQ(test, ret, c->ret);
	if (c->ret < 0)
		return;
	KUNIT_EXPECT_EQ(test, r->code, c->code);
	KUNIT_EXPECT_EQ(test, r->nlines, c->nlines);
	KUNIT_EXPECT_STREQ(test, r->text, c->text);
	KUNIT_EXPECT_EQ(test, used, c->used ?: len);
}

static void reply_whole(struct kunit *test)
{
	check_reply(test, test->param_value, false);
}

static void reply_bytewise(struct kunit *test)
{
	check_reply(test, test->param_value, true);
}

static void reply_next_after_first(struct kunit *test)
{
	struct ksmtp_rparser *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	struct ksmtp_reply *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	static const char in[] = "220 hi\r\n250-a\r\n250 b\r\n";
	size_t used;

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_NOT_NULL(test, r);
	ksmtp_reply_init(p, r);
	KUNIT_ASSERT_EQ(test, ksmtp_reply_feed(p, in, sizeof(in) - 1, &used), 1);
	KUNIT_EXPECT_EQ(test, r->code, 220);
	ksmtp_reply_init(p, r);
	KUNIT_ASSERT_EQ(test, ksmtp_reply_feed(p, in + used, sizeof(in) - 1 - used,
					       &used), 1);
	KUNIT_EXPECT_EQ(test, r->code, 250);
	KUNIT_EXPECT_EQ(test, r->nlines, 2);
	KUNIT_EXPECT_STREQ(test, ksmtp_reply_line(r, 1), "b");
}

struct caps_case {
	const char *name;
	const char *ehlo;
	u32 flags;
	u32 auth;
	u64 size_max;
};

static const struct caps_case caps_cases[] = {
	{ "none", "250 mx\r\n", 0, 0, 0 },
	{ "all", "250-mx\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250-SIZE 35882577\r\n"
	  "250-8BITMIME\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n",
	  KSMTP_CAP_AUTH | KSMTP_CAP_SIZE | KSMTP_CAP_8BITMIME |
	  KSMTP_CAP_PIPELINING | KSMTP_CAP_STARTTLS | KSMTP_CAP_SMTPUTF8,
	  BIT(KSMTP_AUTH_PLAIN) | BIT(KSMTP_AUTH_LOGIN) | BIT(KSMTP_AUTH_CRAM_MD5),
	  35882577 },
	{ "lower_case", "250-mx\r\n250-auth login\r\n250 8bitmime\r\n",
	  KSMTP_CAP_AUTH | KSMTP_CAP_8BITMIME, BIT(KSMTP_AUTH_LOGIN), 0 },
	{ "old_auth_form", "250-mx\r\n250 AUTH=PLAIN LOGIN\r\n", KSMTP_CAP_AUTH,
	  BIT(KSMTP_AUTH_PLAIN) | BIT(KSMTP_AUTH_LOGIN), 0 },
	{ "unknown_mech", "250-mx\r\n250 AUTH XOAUTH2 GSSAPI\r\n", KSMTP_CAP_AUTH, 0, 0 },
	{ "no_substring", "250-mx\r\n250-X-AUTH-PLAIN\r\n250-8BITMIMEX\r\n"
	  "250-XPIPELINING\r\n250 PLAIN\r\n", 0, 0, 0 },
	{ "auth_in_first_line", "250 mx AUTH PLAIN\r\n", 0, 0, 0 },
	{ "size_no_limit", "250-mx\r\n250 SIZE\r\n", KSMTP_CAP_SIZE, 0, 0 },
	{ "size_zero", "250-mx\r\n250 SIZE 0\r\n", KSMTP_CAP_SIZE, 0, 0 },
	{ "mech_substring", "250-mx\r\n250 AUTH PLAINX XLOGIN\r\n", KSMTP_CAP_AUTH, 0, 0 },
};

static void caps_case_desc(const struct caps_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(caps, caps_cases, caps_case_desc);

static void caps_parse(struct kunit *test)
{
	const struct caps_case *c = test->param_value;
	struct ksmtp_rparser *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	struct ksmtp_reply *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct ksmtp_caps caps;
	size_t used;

	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_ASSERT_NOT_NULL(test, r);
	ksmtp_reply_init(p, r);
	KUNIT_ASSERT_EQ(test, ksmtp_reply_feed(p, c->ehlo, strlen(c->ehlo), &used), 1);
	ksmtp_caps_parse(&caps, r);
	KUNIT_EXPECT_EQ(test, caps.flags, c->flags);
	KUNIT_EXPECT_EQ(test, caps.auth, c->auth);
	KUNIT_EXPECT_EQ(test, caps.size_max, c->size_max);
}

struct select_case {
	const char *name;
	enum ksmtp_auth_type want;
	bool creds;
	u32 flags;
	u32 offered;
	int ret;
	enum ksmtp_auth_type mech;
};

#define P BIT(KSMTP_AUTH_PLAIN)
#define L BIT(KSMTP_AUTH_LOGIN)
#define M BIT(KSMTP_AUTH_CRAM_MD5)
#define A KSMTP_CAP_AUTH

static const struct select_case select_cases[] = {
	{ "none_no_creds", KSMTP_AUTH_NONE, false, A, P | L, 0, KSMTP_AUTH_NONE },
	{ "none_creds_offered", KSMTP_AUTH_NONE, true, A, P | L, 0, KSMTP_AUTH_PLAIN },
	{ "none_creds_best_cram", KSMTP_AUTH_NONE, true, A, P | L | M, 0, KSMTP_AUTH_CRAM_MD5 },
	{ "none_creds_not_offered", KSMTP_AUTH_NONE, true, 0, 0, 0, KSMTP_AUTH_NONE },
	{ "none_creds_unknown_only", KSMTP_AUTH_NONE, true, A, 0, 0, KSMTP_AUTH_NONE },
	{ "plain_offered", KSMTP_AUTH_PLAIN, true, A, P | L | M, 0, KSMTP_AUTH_PLAIN },
	{ "login_offered", KSMTP_AUTH_LOGIN, true, A, P | L, 0, KSMTP_AUTH_LOGIN },
	{ "login_only_plain", KSMTP_AUTH_LOGIN, true, A, P, 0, KSMTP_AUTH_PLAIN },
	{ "plain_only_login", KSMTP_AUTH_PLAIN, true, A, L, 0, KSMTP_AUTH_LOGIN },
	{ "plain_no_auth_listed", KSMTP_AUTH_PLAIN, true, 0, 0, 0, KSMTP_AUTH_PLAIN },
	{ "login_no_auth_listed", KSMTP_AUTH_LOGIN, true, 0, 0, 0, KSMTP_AUTH_PLAIN },
	{ "cram_no_auth_listed", KSMTP_AUTH_CRAM_MD5, true, 0, 0, 0, KSMTP_AUTH_CRAM_MD5 },
	{ "plain_unknown_only", KSMTP_AUTH_PLAIN, true, A, 0, -EOPNOTSUPP, KSMTP_AUTH_NONE },
	{ "cram_offered", KSMTP_AUTH_CRAM_MD5, true, A, P | M, 0, KSMTP_AUTH_CRAM_MD5 },
	/* Chosen to hide the password: never replaced by PLAIN or LOGIN. */
	{ "cram_only_plain_login", KSMTP_AUTH_CRAM_MD5, true, A, P | L, -EOPNOTSUPP,
	  KSMTP_AUTH_NONE },
	{ "cram_unknown_only", KSMTP_AUTH_CRAM_MD5, true, A, 0, -EOPNOTSUPP, KSMTP_AUTH_NONE },
};

static void select_case_desc(const struct select_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(select, select_cases, select_case_desc);

static void auth_select(struct kunit *test)
{
	const struct select_case *c = test->param_value;
	enum ksmtp_auth_type mech;

	KUNIT_EXPECT_EQ(test, ksmtp_auth_select(c->want, c->creds, c->offered,
						c->flags & KSMTP_CAP_AUTH, &mech),
			c->ret);
	KUNIT_EXPECT_EQ(test, mech, c->mech);
}

static const char rfc2195_chal[] =
	"PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";

static void auth_responses(struct kunit *test)
{
	char *out = kunit_kzalloc(test, KSMTP_AUTH_RESP_MAX, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, out);
	/* RFC 4616: "\0tim\0tanstaaftanstaaf" */
	KUNIT_EXPECT_EQ(test, ksmtp_auth_plain("tim", "tanstaaftanstaaf", out), 28);
	KUNIT_EXPECT_STREQ(test, out, "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
	KUNIT_EXPECT_EQ(test, ksmtp_auth_b64("user", out), 8);
	KUNIT_EXPECT_STREQ(test, out, "dXNlcg==");
	KUNIT_EXPECT_EQ(test, ksmtp_auth_b64("", out), 1);
	KUNIT_EXPECT_STREQ(test, out, "=");
	/* RFC 2195 section 2 example */
	KUNIT_EXPECT_GT(test, ksmtp_auth_cram_md5("tim", "tanstaaftanstaaf", rfc2195_chal, out),
			0);
	KUNIT_EXPECT_STREQ(test, out,
			   "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
	KUNIT_EXPECT_EQ(test, ksmtp_auth_cram_md5("tim", "x", "!!!", out), -EBADMSG);
	KUNIT_EXPECT_TRUE(test, ksmtp_auth_challenge_ok("VXNlcm5hbWU6"));
	KUNIT_EXPECT_TRUE(test, ksmtp_auth_challenge_ok(""));
	KUNIT_EXPECT_FALSE(test, ksmtp_auth_challenge_ok("Username:"));
}

/* Every mechanism of the uAPI has its own entry, found by its value and
 * offered by its name; a value without an entry is no mechanism at all,
 * so it can never run another one.
 */
static void auth_table_complete(struct kunit *test)
{
	const struct ksmtp_auth_mech *m;
	char list[64];
	int t;

	KUNIT_EXPECT_NULL(test, ksmtp_auth_mech(KSMTP_AUTH_NONE));
	KUNIT_EXPECT_NULL(test, ksmtp_auth_mech(__KSMTP_AUTH_MAX));
	KUNIT_EXPECT_NULL(test, ksmtp_auth_mech(-1));
	for (t = KSMTP_AUTH_NONE + 1; t <= KSMTP_AUTH_MAX; t++) {
		m = ksmtp_auth_mech(t);
		KUNIT_ASSERT_NOT_NULL_MSG(test, m, "mechanism %d has no entry", t);
		KUNIT_EXPECT_EQ(test, m->type, t);
		KUNIT_EXPECT_TRUE(test, m->initial || m->step);
		snprintf(list, sizeof(list), "X-OTHER %s", m->name);
		KUNIT_EXPECT_EQ(test, ksmtp_auth_offered(list), BIT(t));
		/* Offered alone, it is the one chosen. */
		{
			enum ksmtp_auth_type mech;

			KUNIT_EXPECT_EQ(test, ksmtp_auth_select(KSMTP_AUTH_NONE, true, BIT(t),
								true, &mech), 0);
			KUNIT_EXPECT_EQ(test, mech, t);
		}
	}
	KUNIT_EXPECT_EQ(test, ksmtp_auth_offered("XOAUTH2 PLAINX LOGI"), 0U);
	KUNIT_EXPECT_EQ(test, ksmtp_auth_offered("plain  cram-md5"),
			BIT(KSMTP_AUTH_PLAIN) | BIT(KSMTP_AUTH_CRAM_MD5));
}

/* Each string of the configuration table is checked, and named by its
 * own attribute when it is refused; copies and frees cover each one.
 */
static void config_strings_each_checked(struct kunit *test)
{
	struct ksmtp_config cfg = {}, copy = {};
	unsigned int i, j;
	int attr;

	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings); i++) {
		const struct ksmtp_config_string *cs = &ksmtp_config_strings[i];

		memset(&cfg, 0, sizeof(cfg));
		*ksmtp_config_str(&cfg, cs) = "a\r\nRCPT TO:<x@y>";
		KUNIT_EXPECT_NOT_NULL(test, ksmtp_config_check(&cfg, false, &attr));
		KUNIT_EXPECT_EQ(test, attr, cs->attr);
		for (j = 0; j < i; j++)
			KUNIT_EXPECT_NE(test, ksmtp_config_strings[j].off, cs->off);
	}
	memset(&cfg, 0, sizeof(cfg));
	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings); i++)
		*ksmtp_config_str(&cfg, &ksmtp_config_strings[i]) = "";
	cfg.kc_from = "dev@example.org";
	KUNIT_EXPECT_NULL(test, ksmtp_config_check(&cfg, false, &attr));
	KUNIT_ASSERT_EQ(test, ksmtp_config_dup_strings(&copy, &cfg, false), 0);
	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings); i++) {
		const char *s = *ksmtp_config_str(&copy, &ksmtp_config_strings[i]);

		KUNIT_ASSERT_NOT_NULL(test, s);
		KUNIT_EXPECT_STREQ(test, s, *ksmtp_config_str(&cfg, &ksmtp_config_strings[i]));
		KUNIT_EXPECT_PTR_NE(test, s, *ksmtp_config_str(&cfg, &ksmtp_config_strings[i]));
	}
	ksmtp_config_free_strings(&copy);
	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings); i++)
		KUNIT_EXPECT_NULL(test, *ksmtp_config_str(&copy, &ksmtp_config_strings[i]));
	/* The empty from address is refused, named as FROM. */
	cfg.kc_from = "";
	KUNIT_EXPECT_NOT_NULL(test, ksmtp_config_check(&cfg, false, &attr));
	KUNIT_EXPECT_EQ(test, attr, KSMTP_A_CFG_FROM);
}

static int parser_suite_init(struct kunit_suite *suite)
{
	size_t i;

	memset(long_line, 'x', sizeof(long_line) - 1);
	memcpy(long_line, "250 ", 4);
	memcpy(long_line + sizeof(long_line) - 3, "\r\n", 2);
	memcpy(nul_late, long_line, sizeof(nul_late));
	nul_late[1050] = '\0';
	/* what is kept of its text: KSMTP_TEXT_MAX - 1 octets */
	memset(long_text, 'x', sizeof(long_text) - 1);
	for (i = 0; i < 199; i++)
		memcpy(many_lines + i * 6, "250-x\n", 6);
	memcpy(many_lines + i * 6, "250 y\n", 6);
	/* 693 lines of 101 octets, none the last: over 64 KiB */
	for (i = 0; i + 101 < sizeof(huge_reply); i += 101) {
		memcpy(huge_reply + i, "250-", 4);
		memset(huge_reply + i + 4, 'x', 95);
		memcpy(huge_reply + i + 99, "\r\n", 2);
	}
	return 0;
}

static struct kunit_case parser_cases[] = {
	KUNIT_CASE_PARAM(reply_whole, reply_gen_params),
	KUNIT_CASE_PARAM(reply_bytewise, reply_gen_params),
	KUNIT_CASE(reply_next_after_first),
	KUNIT_CASE_PARAM(caps_parse, caps_gen_params),
	KUNIT_CASE_PARAM(auth_select, select_gen_params),
	KUNIT_CASE(auth_responses),
	KUNIT_CASE(auth_table_complete),
	KUNIT_CASE(config_strings_each_checked),
	{}
};

static struct kunit_suite parser_suite = {
	.name = "ksmtp-parser",
	.suite_init = parser_suite_init,
	.test_cases = parser_cases,
};

kunit_test_suite(parser_suite);
