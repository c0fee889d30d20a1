// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the kernel-log reporter's core. The line matcher (what starts a
 * report, levels, ksmtp's own lines), the parser of the lines the kmsg
 * iterator gives, the window (context before, the lines that follow, the
 * report complete after it, by a line or by the clock), the body's
 * bound, and the rate limit (reports per hour, the count said in the
 * next one, a new hour). The core is fed lines and times made here; the
 * feeding runs with interrupts off, as nothing in it may sleep.
 */
#include <kunit/test.h>
#include <linux/irqflags.h>
#include <linux/jiffies.h>
#include <linux/ratelimit.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../events.h"
#include "../klog.h"

/* ---- the matcher ---- */

struct match_case {
	const char *text;
	int level;
	unsigned int trig;
	bool match;
};

static const struct match_case match_cases[] = {
	{ "WARNING: CPU: 0 PID: 1 at lib/x.c:12 f+0x1/0x2", 4, 8, true },
	{ "BUG: kernel NULL pointer dereference, address: 0000000000000000", 1, 8, true },
	{ "BUG: KASAN: slab-out-of-bounds in f+0x1/0x2", 3, 8, true },
	{ "kernel BUG at drivers/x.c:3!", 0, 8, true },
	{ "invalid opcode: 0000 [#1] PREEMPT SMP NOPTI", 4, 8, true },
	{ "general protection fault, probably for non-canonical address", 4, 8, true },
	{ "Oops: 0002 [#1] SMP", 4, 8, true },
	{ "INFO: task kworker/0:1:12 blocked for more than 2 seconds.", 3, 8, true },
	{ "watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [x:1]", 0, 8, true },
	{ "NMI watchdog: Watchdog detected hard LOCKUP on cpu 1", 0, 8, true },
	{ "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:", 3, 8, true },
	{ "stress invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE)", 4, 8, true },
	{ "Out of memory: Killed process 123 (stress)", 3, 8, true },
	{ "Kernel panic - not syncing: Fatal exception", 0, 8, true },
	/* not a start: inside a line, other words, ksmtp's own */
	{ "e1000e: eth0 NIC Link is Up 1000 Mbps", 6, 8, false },
	{ "a WARNING: in the middle", 4, 8, false },
	{ "WARNING", 4, 8, false },
	{ "", 4, 8, false },
	{ "ksmtp: WARNING: server said 550", 4, 8, false },
	{ "ksmtp: queued mail 3 not sent", 0, 0, false },
	/* a fault's pattern below KERN_WARNING is no fault line: x86's
	 * KERN_INFO "<comm>[<pid>]: segfault at", comm chosen by any process
	 */
	{ "Kernel panic[1234]: segfault at 0 ip 00007f00 sp 00007ffd error 4", 6, 8, false },
	{ "BUG: soft lockup", 5, 8, false },
	{ "Oops: 0002 [#1] SMP", 7, 8, false },
	/* no level, or not the kernel's line (ksmtp_klog_feed()'s -1) */
	{ "Kernel panic - not syncing: x", -1, 8, false },
	{ "WARNING: CPU: 0 PID: 1 at lib/x.c:12 f+0x1/0x2", -1, 0, false },
	/* levels: at or above the configured one (lower number) */
	{ "ata1: error", 3, 3, true },
	{ "ata1: notice", 5, 3, false },
	{ "no level", -1, 7, false },
	{ "emergency", 0, 0, true },
	{ "debug", 7, 7, true },
};

/* By number: the texts would read as kernel reports in the test's log. */
static void match_desc(const struct match_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "line %td, level %d, trigger level %u",
		 c - match_cases, c->level, c->trig);
}

KUNIT_ARRAY_PARAM(match, match_cases, match_desc);

static void matcher(struct kunit *test)
{
	const struct match_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, ksmtp_klog_match(c->text, strlen(c->text), c->level, c->trig),
			c->match);
}

/* ksmtp's rate-limited lines: the count of those suppressed is said in a
 * line of ksmtp's own, not by ___ratelimit()'s "<function>: N callbacks
 * suppressed" (KERN_WARNING, without the prefix: at a trigger level of 4
 * or more, a report of ksmtp's own output). The line it prints, as
 * printed, is neither a start nor a line the core takes.
 */
static void rate_limited_lines(struct kunit *test)
{
	struct ratelimit_state rs;
	char line[64];
	int i, n = 0;

	/* On the stack: its lock needs a key of lockdep's (the init). */
	ratelimit_state_init(&rs, 60 * HZ, 2);
	ratelimit_set_flags(&rs, RATELIMIT_MSG_ON_RELEASE);
	for (i = 0; i < 7; i++)
		n += ksmtp_ratelimit(&rs);
	KUNIT_EXPECT_EQ(test, n, 2);
	KUNIT_EXPECT_EQ(test, rs.missed, 5);
	/* The interval over: ___ratelimit() prints nothing (the flag), the
	 * next line may go, and the count is said, then reset.
	 */
	rs.begin = jiffies - 61 * HZ;
	KUNIT_EXPECT_TRUE(test, ksmtp_ratelimit(&rs));
	KUNIT_EXPECT_EQ(test, rs.missed, 0);

	snprintf(line, sizeof(line), KBUILD_MODNAME ": " KSMTP_SUPPRESSED_FMT, 5);
	KUNIT_EXPECT_TRUE(test, !strncmp(line, "ksmtp: 5 ", 9));
	KUNIT_EXPECT_FALSE(test, ksmtp_klog_match(line, strlen(line) - 1, 4, 4));
	KUNIT_EXPECT_FALSE(test, ksmtp_klog_match(line, strlen(line) - 1, 4, 7));
}

/* ---- the parser ---- */

static void parse_one(struct kunit *test, const char *line, int level, bool has_ts,
		      u64 ts, const char *text)
{
	struct ksmtp_klog_rec r;

	ksmtp_klog_parse(line, strlen(line), &r);
	KUNIT_EXPECT_EQ_MSG(test, r.level, level, "%s", line);
	KUNIT_EXPECT_EQ_MSG(test, r.has_ts, has_ts, "%s", line);
	if (has_ts)
		KUNIT_EXPECT_EQ_MSG(test, r.ts_ns, ts, "%s", line);
	KUNIT_EXPECT_EQ_MSG(test, r.len, strlen(text), "%s", line);
	KUNIT_EXPECT_TRUE_MSG(test, r.len == strlen(text) && !memcmp(r.text, text, r.len),
			      "%s", line);
}

static void parser(struct kunit *test)
{
	parse_one(test, "<4>[   12.345678] WARNING: CPU: 0", 4, true,
		  12345678000ULL, "WARNING: CPU: 0");
	parse_one(test, "<12>[    0.000001] x", 4, true, 1000, "x");
	parse_one(test, "<3>[ 1234.500000][  T123] INFO: task x", 3, true,
		  1234500000000ULL, "INFO: task x");
	parse_one(test, "<6>[     5.000000][    C1] y", 6, true, 5000000000ULL, "y");
	/* no time stamps (printk.time=0) */
	parse_one(test, "<2>kernel BUG at x.c:1!", 2, false, 0, "kernel BUG at x.c:1!");
	/* prefixes not as expected stay in the text */
	parse_one(test, "<4[1.2] a", -1, false, 0, "<4[1.2] a");
	parse_one(test, "<4>[12.34] a", 4, false, 0, "[12.34] a");
	parse_one(test, "<4>", 4, false, 0, "");
	parse_one(test, "", -1, false, 0, "");
	parse_one(test, "<99999>x", -1, false, 0, "<99999>x");
}

/* The facility: 0 for the kernel's lines; /dev/kmsg's writers have 1
 * (user) or their own, never 0.
 */
static void parser_facility(struct kunit *test)
{
	struct ksmtp_klog_rec r;

	ksmtp_klog_parse("<0>[    1.000000] Kernel panic", 30, &r);
	KUNIT_EXPECT_EQ(test, r.level, 0);
	KUNIT_EXPECT_EQ(test, r.facility, 0u);
	ksmtp_klog_parse("<12>[    1.000000] BUG: x", 25, &r);
	KUNIT_EXPECT_EQ(test, r.level, 4);
	KUNIT_EXPECT_EQ(test, r.facility, 1u);
	ksmtp_klog_parse("<184>BUG: x", 11, &r);
	KUNIT_EXPECT_EQ(test, r.level, 0);
	KUNIT_EXPECT_EQ(test, r.facility, 23u);
	ksmtp_klog_parse("BUG: x", 6, &r);
	KUNIT_EXPECT_EQ(test, r.level, -1);
	KUNIT_EXPECT_EQ(test, r.facility, 0u);
}

/* ---- the core ---- */

struct seen {
	unsigned int n;
	int refuse;
	char first[KSMTP_KLOG_LINE_MAX + 1];
	char *body;
	size_t len;
};

/* Called with interrupts off in these tests: copies, nothing more. */
static int emit(void *arg, const char *first, const char *body, size_t len)
{
	struct seen *s = arg;

	s->n++;
	strscpy(s->first, first, sizeof(s->first));
	memcpy(s->body, body, len);
	s->body[len] = '\0';
	s->len = len;
	return s->refuse;
}

static void core_exit(struct kunit *test)
{
	struct ksmtp_klog_core *c = test->priv;

	if (c)
		ksmtp_klog_core_free(c);
}

static struct ksmtp_klog_core *core(struct kunit *test, struct seen **seen,
				    unsigned int context, unsigned int window_ms,
				    unsigned int per_hour)
{
	struct ksmtp_klog_cfg cfg;
	struct ksmtp_klog_core *c;
	struct seen *s;

	ksmtp_klog_default_cfg(&cfg);
	cfg.enable = true;
	cfg.context = context;
	cfg.window_ms = window_ms;
	cfg.per_hour = per_hour;
	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	s->body = kunit_kzalloc(test, KSMTP_KLOG_BODY_MAX + KSMTP_KLOG_NOTE_MAX + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s->body);
	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_EQ(test, ksmtp_klog_core_init(c, &cfg, emit, s), 0);
	test->priv = c;
	*seen = s;
	return c;
}

#define MS(x)	((u64)(x) * NSEC_PER_MSEC)

static void feed(struct ksmtp_klog_core *c, const char *text, u64 ts)
{
	unsigned long flags;

	local_irq_save(flags);
	ksmtp_klog_feed(c, 4, text, strlen(text), ts);
	local_irq_restore(flags);
}

static void tick(struct ksmtp_klog_core *c, u64 now)
{
	unsigned long flags;

	local_irq_save(flags);
	ksmtp_klog_tick(c, now);
	local_irq_restore(flags);
}

/* The context lines, the first line, those within the window; a line
 * after it completes the report and is context for the next.
 */
static void window_by_line(struct kunit *test)
{
	struct seen *s;
	struct ksmtp_klog_core *c = core(test, &s, 2, 1000, 6);

	feed(c, "a", MS(10000));
	feed(c, "b", MS(10001));
	feed(c, "c", MS(10002));
	feed(c, "WARNING: CPU: 0 PID: 1 at x.c:1 f", MS(10003));
	feed(c, "Call Trace:", MS(10500));
	feed(c, "ksmtp: not this one", MS(10600));
	feed(c, "WARNING: again", MS(11003));
	KUNIT_EXPECT_EQ(test, s->n, 0);
	feed(c, "after", MS(11004));
	KUNIT_ASSERT_EQ(test, s->n, 1);
	KUNIT_EXPECT_STREQ(test, s->first, "WARNING: CPU: 0 PID: 1 at x.c:1 f");
	KUNIT_EXPECT_STREQ(test, s->body,
			   "b\nc\nWARNING: CPU: 0 PID: 1 at x.c:1 f\nCall Trace:\n"
			   "WARNING: again\n\n"
			   "2 lines in this report would each have started one.\n");
	/* "after" is context now; no context asked: none */
	feed(c, "BUG: x", MS(20000));
	tick(c, MS(21000));
	KUNIT_EXPECT_EQ(test, s->n, 1);
	tick(c, MS(21001));
	KUNIT_ASSERT_EQ(test, s->n, 2);
	KUNIT_EXPECT_STREQ(test, s->body, "after\nBUG: x\n\n");
	tick(c, MS(99999));
	KUNIT_EXPECT_EQ(test, s->n, 2);
}

/* A window of 0 and no context: the first line alone; lost records are
 * said in the report they fell into.
 */
static void window_zero_and_lost(struct kunit *test)
{
	struct seen *s;
	struct ksmtp_klog_core *c = core(test, &s, 0, 0, 6);

	feed(c, "x", MS(1));
	feed(c, "INFO: task a:1 blocked for more than 2 seconds.", MS(2));
	ksmtp_klog_lost(c, 7);
	feed(c, "same time", MS(2));
	tick(c, MS(3));
	KUNIT_ASSERT_EQ(test, s->n, 1);
	KUNIT_EXPECT_STREQ(test, s->body,
			   "INFO: task a:1 blocked for more than 2 seconds.\nsame time\n\n"
			   "7 log records lost before they were read.\n");
}

/* Records lost just before a report: it says so (its first line may not
 * be the fault's first); lost long before (more lines than the context
 * holds since): not news.
 */
static void gap_before_report(struct kunit *test)
{
	struct seen *s;
	struct ksmtp_klog_core *c = core(test, &s, 2, 0, 6);
	unsigned int i;

	feed(c, "a", MS(1));
	ksmtp_klog_lost(c, 40);
	feed(c, "b", MS(2));
	feed(c, "WARNING: k", MS(3));
	tick(c, MS(4));
	KUNIT_ASSERT_EQ(test, s->n, 1);
	KUNIT_EXPECT_STREQ(test, s->body,
			   "b\nWARNING: k\n\n40 log records lost before they were read.\n");
	ksmtp_klog_lost(c, 5);
	for (i = 0; i < KSMTP_KLOG_GAP_LINES + 1; i++)
		feed(c, "x", MS(5));
	feed(c, "WARNING: l", MS(6));
	tick(c, MS(7));
	KUNIT_ASSERT_EQ(test, s->n, 2);
	KUNIT_EXPECT_STREQ(test, s->body, "x\nx\nWARNING: l\n\n");
}

/* The body stops at its bound; the lines left out are counted. A long
 * line is whole in the body, cut as the first line.
 */
static void body_bound(struct kunit *test)
{
	static const char notes[] =
		"\n101 lines in this report would each have started one.\n"
		"69 lines left out: a report holds at most 32768 octets.\n";
	struct seen *s;
	struct ksmtp_klog_core *c = core(test, &s, 0, 1000, 6);
	char *line = kunit_kzalloc(test, 1001, GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, line);
	memset(line, 'y', 1000);
	memcpy(line, "BUG: ", 5);
	feed(c, line, MS(1));
	for (i = 0; i < 100; i++)
		feed(c, line, MS(2));
	tick(c, MS(1002));
	KUNIT_ASSERT_EQ(test, s->n, 1);
	KUNIT_EXPECT_EQ(test, strlen(s->first), KSMTP_KLOG_LINE_MAX);
	/* 32 lines of 1001 octets fit in 32 KiB, 69 do not */
	KUNIT_EXPECT_EQ(test, s->len, 32 * 1001 + strlen(notes));
	KUNIT_EXPECT_STREQ(test, s->body + 32 * 1001, notes);
}

/* Review: a body filled to exactly KSMTP_KLOG_BODY_MAX octets; the next
 * line must be left out (counted), not written past the body's room:
 * add_line()'s "KSMTP_KLOG_BODY_MAX - 1 - c->len" wraps when c->len is
 * KSMTP_KLOG_BODY_MAX.
 */
static void body_exactly_full(struct kunit *test)
{
	struct seen *s;
	struct ksmtp_klog_core *c = core(test, &s, 0, 1000, 6);
	char *line = kunit_kzalloc(test, 1001, GFP_KERNEL);
	unsigned int i;
	size_t left;

	KUNIT_ASSERT_NOT_NULL(test, line);
	feed(c, "BUG: x", MS(1));
	memset(line, 'y', 1000);
	for (i = 0; i < 32; i++)
		feed(c, line, MS(2));
	left = KSMTP_KLOG_BODY_MAX - 1 - c->len;
	line[left] = '\0';
	feed(c, line, MS(2));		/* fills it to the octet */
	KUNIT_EXPECT_EQ(test, c->len, (size_t)KSMTP_KLOG_BODY_MAX);
	line[left] = 'y';
	feed(c, line, MS(3));		/* 1001 more octets: must be cut */
	KUNIT_EXPECT_LE(test, c->len, (size_t)KSMTP_KLOG_BODY_MAX);
	KUNIT_EXPECT_EQ(test, c->cut, 1U);
	/* no finish() with a length past the buffer */
	c->collecting = false;
}

/* At most per_hour reports an hour; the others are counted and said in
 * the next one, in the next hour. A new per_hour starts a new hour.
 */
/* A report the queue refuses (full: -ENOSPC) is not one of the hour's:
 * it is counted as suppressed, with those it told of, and the next one
 * goes and says so.
 */
static void refused_not_spent(struct kunit *test)
{
	struct seen *s;
	struct ksmtp_klog_core *c = core(test, &s, 0, 100, 1);

	s->refuse = -ENOSPC;
	feed(c, "WARNING: a", MS(1000));
	feed(c, "WARNING: b", MS(2000));
	tick(c, MS(3000));
	KUNIT_EXPECT_EQ(test, s->n, 2);
	s->refuse = 0;
	feed(c, "WARNING: c", MS(4000));
	tick(c, MS(5000));
	KUNIT_EXPECT_EQ(test, s->n, 3);
	KUNIT_EXPECT_STREQ(test, s->first, "WARNING: c");
	KUNIT_EXPECT_STREQ(test, s->body,
			   "WARNING: c\n\n2 more reports suppressed by the rate limit (1 per hour) before this one.\n");
	/* that one spent the hour */
	feed(c, "WARNING: d", MS(6000));
	tick(c, MS(7000));
	KUNIT_EXPECT_EQ(test, s->n, 3);
}

static void rate_limit(struct kunit *test)
{
	struct seen *s;
	struct ksmtp_klog_core *c = core(test, &s, 0, 100, 2);
	struct ksmtp_klog_cfg cfg;
	unsigned int i;

	for (i = 0; i < 1000; i++)
		feed(c, "WARNING: storm", MS(1000 + i * 1000));
	tick(c, MS(3000 * 1000));
	KUNIT_EXPECT_EQ(test, s->n, 2);
	KUNIT_EXPECT_STREQ(test, s->body, "WARNING: storm\n\n");
	/* an hour after the first */
	feed(c, "BUG: next", MS(1000 + 3600 * 1000));
	tick(c, MS(1000 + 3600 * 1000 + 101));
	KUNIT_ASSERT_EQ(test, s->n, 3);
	KUNIT_EXPECT_STREQ(test, s->first, "BUG: next");
	KUNIT_EXPECT_STREQ(test, s->body,
			   "BUG: next\n\n"
			   "998 more reports suppressed by the rate limit (2 per hour) before this one.\n");
	/* the new hour's second, then none */
	feed(c, "BUG: 2", MS(3602 * 1000));
	feed(c, "BUG: 3", MS(3603 * 1000));
	tick(c, MS(3700 * 1000));
	KUNIT_EXPECT_EQ(test, s->n, 4);
	/* a new per_hour: a new hour, at once */
	cfg = c->cfg;
	cfg.per_hour = 3;
	ksmtp_klog_core_set_cfg(c, &cfg);
	feed(c, "BUG: 4", MS(3701 * 1000));
	tick(c, MS(3702 * 1000));
	KUNIT_ASSERT_EQ(test, s->n, 5);
	KUNIT_EXPECT_STREQ(test, s->body,
			   "BUG: 4\n\n"
			   "1 more reports suppressed by the rate limit (3 per hour) before this one.\n");
}

/* A level configured: such lines start reports too */
static void by_level(struct kunit *test)
{
	struct seen *s;
	struct ksmtp_klog_core *c = core(test, &s, 1, 0, 6);
	struct ksmtp_klog_cfg cfg = c->cfg;

	cfg.level = 3;
	ksmtp_klog_core_set_cfg(c, &cfg);
	ksmtp_klog_feed(c, 4, "warn", 4, MS(1));
	ksmtp_klog_feed(c, 3, "sda: I/O error", 14, MS(2));
	ksmtp_klog_tick(c, MS(3));
	KUNIT_ASSERT_EQ(test, s->n, 1);
	KUNIT_EXPECT_STREQ(test, s->first, "sda: I/O error");
	KUNIT_EXPECT_STREQ(test, s->body, "warn\nsda: I/O error\n\n");
}

static struct kunit_case klog_cases[] = {
	KUNIT_CASE_PARAM(matcher, match_gen_params),
	KUNIT_CASE(rate_limited_lines),
	KUNIT_CASE(parser),
	KUNIT_CASE(parser_facility),
	KUNIT_CASE(window_by_line),
	KUNIT_CASE(window_zero_and_lost),
	KUNIT_CASE(gap_before_report),
	KUNIT_CASE(body_bound),
	KUNIT_CASE(body_exactly_full),
	KUNIT_CASE(rate_limit),
	KUNIT_CASE(refused_not_spent),
	KUNIT_CASE(by_level),
	{}
};

static struct kunit_suite klog_suite = {
	.name = "ksmtp-klog",
	.exit = core_exit,
	.test_cases = klog_cases,
};

kunit_test_suite(klog_suite);
