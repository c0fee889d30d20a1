// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit: the queue. Mails queued from atomic context (a spinlock held with
 * interrupts off, a timer callback), delivered by the real workqueue over
 * loopback to the scripted server; retries and their schedule, permanent
 * failures, coalescing, bounds, exactly-once completion, cancel, shutdown.
 * Every case runs on init_net's queue, set up and restored around it.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/hrtimer.h>
#include <linux/slab.h>
#include <linux/in.h>
#include <linux/delay.h>
#include <linux/random.h>
#include <linux/rbtree.h>
#include <net/net_namespace.h>
#include <linux/ksmtp.h>

#include "server.h"
#include "../client.h"
#include "../netns.h"
#include "../queue.h"

#define GREET	"S220 mx.example ESMTP\r\n"
#define EHLO	"S250 mx.example\r\n"
#define TXN	"R", "S250 ok\r\n", "R", "S250 ok\r\n", "R", "S354 go\r\n", "D", "S250 queued\r\n"
#define QUIT	"R", "S221 bye\r\n"

#define MAX_IDS	2048

/* What the callbacks saw: each id must end exactly once. */
struct ends {
	spinlock_t lock; /* the fields below; callbacks run concurrently */
	unsigned int calls[MAX_IDS];
	enum ksmtp_end end[MAX_IDS];
	unsigned int attempts_err[MAX_IDS];
	unsigned int total;
	unsigned int want;
	unsigned int null_res;
	struct completion all;
};

static struct ends *ends;

static unsigned int count_mail_from(const struct ksmtp_test_server *srv)
{
	const char *p = srv->rx, *end = srv->rx + srv->rx_len;
	unsigned int n = 0;

	while ((p = strnstr(p, "MAIL FROM:", end - p))) {
		n++;
		p++;
	}
	return n;
}

static void done(void *data, u64 id, enum ksmtp_end end, const struct ksmtp_result *res)
{
	struct ends *e = data;

	spin_lock(&e->lock);
	if (id < MAX_IDS) {
		e->calls[id]++;
		e->end[id] = end;
		e->attempts_err[id] = res ? -res->kr_err : 0;
	}
	e->null_res += !res;	/* the API promises a result, always */
	if (++e->total == e->want)
		complete(&e->all);
	spin_unlock(&e->lock);
}

static struct ksmtp_queue *q0(void)
{
	return &ksmtp_net(&init_net)->queue;
}

static void set_limits(unsigned int coalesce_ms, unsigned int base_ms, unsigned int retry_max,
		       unsigned int max_count)
{
	struct ksmtp_queue *q = q0();
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	q->limits.coalesce_ms = coalesce_ms;
	q->limits.retry_base_ms = base_ms;
	q->limits.retry_max = retry_max;
	q->limits.max_count = max_count;
	q->limits.max_bytes = 16 << 20;
	q->limits.retry_age_s = 3600;
	spin_unlock_irqrestore(&q->lock, flags);
}

static void use_server(struct kunit *test, const struct sockaddr_storage *addr)
{
	struct ksmtp_config cfg = {
		.kc_server = *addr,
		.kc_port = ntohs(((const struct sockaddr_in *)addr)->sin_port),
		.kc_from = "dev@example.org",
		.kc_domain = "client.example",
		.kc_timeouts = { 3000, 3000, 3000, 3000, 3000 },
	};
	struct ksmtp_client *c = ksmtp_client_create(&cfg);

	KUNIT_ASSERT_FALSE(test, IS_ERR(c));
	ksmtp_client_put(ksmtp_net_set_client(ksmtp_net(&init_net), c));
}

static int queue_init(struct kunit *test)
{
	ends = kunit_kzalloc(test, sizeof(*ends), GFP_KERNEL);
	if (!ends)
		return -ENOMEM;
	spin_lock_init(&ends->lock);
	init_completion(&ends->all);
	return 0;
}

static void queue_exit(struct kunit *test)
{
	struct ksmtp_queue *q = q0();

	ksmtp_queue_flush(q);
	ksmtp_client_put(ksmtp_net_set_client(ksmtp_net(&init_net), NULL));
	set_limits(2000, 30000, 10, 256);
}

static void expect_ends(struct kunit *test, unsigned int n)
{
	bool reached;

	/* Under the lock: callbacks may be running on another CPU. */
	spin_lock(&ends->lock);
	ends->want = n;
	reached = ends->total >= n;
	spin_unlock(&ends->lock);
	if (!reached)
		KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&ends->all, 20 * HZ));
}

static u64 queue_one(struct kunit *test, const char *subject, const char *body,
		     const char *rcpt, unsigned long key)
{
	struct ksmtp_queue_args a = {
		.kq_rcpt = rcpt ?: "ops@example.net",
		.kq_subject = subject,
		.kq_body = body,
		.kq_body_len = strlen(body),
		.kq_done = done,
		.kq_data = ends,
		.kq_key = key,
	};
	u64 id = 0;

	KUNIT_EXPECT_EQ(test, ksmtp_mail_queue(&a, &id), 0);
	KUNIT_EXPECT_LT(test, id, (u64)MAX_IDS);
	return id;
}

struct timer_ctx {
	struct timer_list t;
	struct kunit *test;
	int err;
	u64 id;
	struct completion fired;
};

static void timer_fn(struct timer_list *t)
{
	struct timer_ctx *c = from_timer(c, t, t);
	struct ksmtp_queue_args a = {
		.kq_rcpt = "ops@example.net",
		.kq_subject = "from a timer",
		.kq_body = "timer\n",
		.kq_body_len = 6,
		.kq_done = done,
		.kq_data = ends,
	};

	c->err = ksmtp_mail_queue(&a, &c->id);
	complete(&c->fired);
}

static const char want_two[] =
	"EHLO client.example\r\n"
	"MAIL FROM:<dev@example.org>\r\nRCPT TO:<ops@example.net>\r\nDATA\r\n"
	"Date: *\r\nFrom: dev@example.org\r\nTo: ops@example.net\r\n"
	"Subject: under a spinlock\r\n*\r\n*\r\n*\r\n*\r\n*\r\n\r\nspinlock\r\n.\r\n"
	"MAIL FROM:<dev@example.org>\r\nRCPT TO:<ops@example.net>\r\nDATA\r\n"
	"Date: *\r\nFrom: dev@example.org\r\nTo: ops@example.net\r\n"
	"Subject: from a timer\r\n*\r\n*\r\n*\r\n*\r\n*\r\n\r\ntimer\r\n.\r\nQUIT\r\n";

/* Queued with a spinlock held (irqs off) and from a timer: both arrive,
 * in one session, each completed once as sent.
 */
static void atomic_contexts(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO, TXN, TXN, QUIT, NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct timer_ctx *tc = kunit_kzalloc(test, sizeof(*tc), GFP_KERNEL);
	spinlock_t lock; /* a driver's lock, held while queueing */
	unsigned long flags;
	u64 a;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	KUNIT_ASSERT_NOT_NULL(test, tc);
	spin_lock_init(&lock);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	use_server(test, &srv->addr);
	set_limits(600000, 30000, 10, 256);

	spin_lock_irqsave(&lock, flags);
	a = queue_one(test, "under a spinlock", "spinlock\n", NULL, 0);
	spin_unlock_irqrestore(&lock, flags);
	init_completion(&tc->fired);
	timer_setup_on_stack(&tc->t, timer_fn, 0);
	mod_timer(&tc->t, jiffies + 1);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&tc->fired, 5 * HZ));
	del_timer_sync(&tc->t);
	destroy_timer_on_stack(&tc->t);
	KUNIT_ASSERT_EQ(test, tc->err, 0);

	ksmtp_queue_retry_now(q0());
	expect_ends(test, 2);
	ksmtp_test_server_wait(test, srv);
	KUNIT_EXPECT_EQ(test, ends->calls[a], 1);
	KUNIT_EXPECT_EQ(test, ends->calls[tc->id], 1);
	KUNIT_EXPECT_EQ(test, ends->end[a], KSMTP_END_SENT);
	KUNIT_EXPECT_EQ(test, ends->end[tc->id], KSMTP_END_SENT);
	KUNIT_EXPECT_TRUE_MSG(test, ksmtp_test_glob(want_two, srv->rx, srv->rx_len),
			      "client sent: %*pE", (int)min_t(size_t, srv->rx_len, 2000), srv->rx);
}

struct hr_ctx {
	struct hrtimer t;
	int err;
	bool hardirq;
	u64 id;
	struct completion fired;
};

static enum hrtimer_restart hr_fn(struct hrtimer *t)
{
	struct hr_ctx *c = container_of(t, struct hr_ctx, t);
	struct ksmtp_queue_args a = {
		.kq_rcpt = "ops@example.net",
		.kq_subject = "from hard irq",
		.kq_body = "hardirq\n",
		.kq_body_len = 8,
		.kq_done = done,
		.kq_data = ends,
	};

	c->hardirq = in_hardirq();
	c->err = ksmtp_mail_queue(&a, &c->id);
	complete(&c->fired);
	return HRTIMER_NORESTART;
}

/* From a hard interrupt (an hrtimer in hard mode), as a driver's handler. */
static void hard_irq(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO, TXN, QUIT, NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct hr_ctx *c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, srv);
	KUNIT_ASSERT_NOT_NULL(test, c);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	use_server(test, &srv->addr);
	set_limits(0, 30000, 10, 256);
	init_completion(&c->fired);
	hrtimer_init(&c->t, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	c->t.function = hr_fn;
	hrtimer_start(&c->t, ms_to_ktime(1), HRTIMER_MODE_REL_HARD);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&c->fired, 5 * HZ));
	hrtimer_cancel(&c->t);
	KUNIT_EXPECT_TRUE(test, c->hardirq);
	KUNIT_ASSERT_EQ(test, c->err, 0);
	expect_ends(test, 1);
	ksmtp_test_server_wait(test, srv);
	KUNIT_EXPECT_EQ(test, ends->calls[c->id], 1);
	KUNIT_EXPECT_EQ(test, ends->end[c->id], KSMTP_END_SENT);
	KUNIT_EXPECT_NOT_NULL(test, strnstr(srv->rx, "\r\n\r\nhardirq\r\n.\r\n", srv->rx_len));
}

/* 421 at the greeting: retried after the backoff, then sent, once. */
static void transient_then_sent(struct kunit *test)
{
	static const char * const busy[] = { "S421 mx.example busy\r\n", "Z", NULL };
	static const char * const ok[] = { GREET, "R", EHLO, TXN, QUIT, NULL };
	static const char * const * const scripts[] = { busy, ok };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	unsigned long t0 = jiffies;
	u64 id;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start_multi(test, srv, AF_INET, scripts, 2, 65536);
	use_server(test, &srv->addr);
	set_limits(0, 300, 10, 256);
	id = queue_one(test, "retry me", "again\n", NULL, 0);
	expect_ends(test, 1);
	ksmtp_test_server_wait(test, srv);
	KUNIT_EXPECT_EQ(test, ends->calls[id], 1);
	KUNIT_EXPECT_EQ(test, ends->end[id], KSMTP_END_SENT);
	/* not before the first backoff (300 ms, jitter only adds) */
	KUNIT_EXPECT_GE(test, jiffies_to_msecs(jiffies - t0), 300U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&q0()->retried) > 0, true);
	KUNIT_EXPECT_NOT_NULL(test, strnstr(srv->rx, "Subject: retry me\r\n", srv->rx_len));
}

/* 550: failed at once, never retried. */
static void permanent_not_retried(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO, "R", "S250 ok\r\n",
		"R", "S550 5.1.1 no such user\r\n", QUIT, NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	u64 id;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	use_server(test, &srv->addr);
	set_limits(0, 100, 10, 256);
	id = queue_one(test, "bounce", "x\n", "nobody@example.net", 0);
	expect_ends(test, 1);
	ksmtp_test_server_wait(test, srv);
	msleep(500);	/* five retry periods: nothing more may happen */
	KUNIT_EXPECT_EQ(test, ends->calls[id], 1);
	KUNIT_EXPECT_EQ(test, ends->end[id], KSMTP_END_FAILED);
	KUNIT_EXPECT_EQ(test, ends->attempts_err[id], (unsigned int)EREMOTEIO);
	KUNIT_EXPECT_TRUE(test, ksmtp_test_glob("EHLO client.example\r\n"
						"MAIL FROM:<dev@example.org>\r\n"
						"RCPT TO:<nobody@example.net>\r\nQUIT\r\n",
						srv->rx, srv->rx_len));
}

/* A fault storm: 1000 identical mails from atomic context are one mail. */
static void coalescing(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO, TXN, QUIT, NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	spinlock_t lock; /* a driver's lock, held while queueing */
	unsigned long flags;
	unsigned int i, merged = 0;
	u64 first = 0, id;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	spin_lock_init(&lock);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	use_server(test, &srv->addr);
	/* The window outlasts the storm however slow the machine (KASAN under
	 * TCG); then delivery is asked for at once.
	 */
	set_limits(600000, 30000, 10, 256);
	for (i = 0; i < 1000; i++) {
		spin_lock_irqsave(&lock, flags);
		id = queue_one(test, "fan 2 failed", "Fan 2 stopped.\n", NULL, 42);
		spin_unlock_irqrestore(&lock, flags);
		if (!i)
			first = id;
	}
	ksmtp_queue_retry_now(q0());
	expect_ends(test, 1000);
	ksmtp_test_server_wait(test, srv);
	for (i = first; i < first + 1000; i++) {
		KUNIT_EXPECT_EQ(test, ends->calls[i], 1);
		merged += ends->end[i] == KSMTP_END_COALESCED;
	}
	KUNIT_EXPECT_EQ(test, ends->end[first], KSMTP_END_SENT);
	KUNIT_EXPECT_EQ(test, merged, 999);
	KUNIT_EXPECT_NOT_NULL(test, strnstr(srv->rx,
					    "\r\n\r\nFan 2 stopped.\r\n[repeated 999 times]\r\n.\r\n",
					    srv->rx_len));
	KUNIT_EXPECT_EQ(test, (int)count_mail_from(srv), 1);
}

/* Only the same mail merges: same recipients, subject and priority, and
 * the same body unless the caller gave a key. "daily report" to alice and
 * to bob are two mails.
 */
static void coalescing_only_same_mail(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO, TXN, TXN, TXN, TXN, TXN, QUIT, NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct ksmtp_queue_args a = {
		.kq_rcpt = "alice@example.net", .kq_subject = "daily report",
		.kq_body = "A\n", .kq_body_len = 2, .kq_done = done, .kq_data = ends,
		.kq_priority = KSMTP_PRIO_HIGH,
	};
	u64 id[7];
	int i;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	use_server(test, &srv->addr);
	set_limits(600000, 30000, 10, 256);
	id[0] = queue_one(test, "daily report", "A\n", "alice@example.net", 0);
	id[1] = queue_one(test, "daily report", "A\n", "bob@example.net", 0);
	id[2] = queue_one(test, "daily report", "B\n", "alice@example.net", 0);
	id[3] = queue_one(test, "daily report", "A\n", "alice@example.net", 0);
	KUNIT_EXPECT_EQ(test, ksmtp_mail_queue(&a, &id[4]), 0);
	id[5] = queue_one(test, "fan", "rpm 0\n", NULL, 7);
	id[6] = queue_one(test, "fan", "rpm 10\n", NULL, 7);
	ksmtp_queue_retry_now(q0());
	expect_ends(test, 7);
	ksmtp_test_server_wait(test, srv);
	for (i = 0; i < 7; i++)
		KUNIT_EXPECT_EQ(test, ends->end[id[i]],
				i == 3 || i == 6 ? KSMTP_END_COALESCED : KSMTP_END_SENT);
	KUNIT_EXPECT_EQ(test, ends->null_res, 0U);
	KUNIT_EXPECT_EQ(test, (int)count_mail_from(srv), 5);
	KUNIT_EXPECT_NOT_NULL(test, strnstr(srv->rx, "RCPT TO:<bob@example.net>", srv->rx_len));
	KUNIT_EXPECT_NOT_NULL(test, strnstr(srv->rx, "\r\n\r\nB\r\n.\r\n", srv->rx_len));
	KUNIT_EXPECT_NOT_NULL(test, strnstr(srv->rx, "X-Priority: 1 (Highest)", srv->rx_len));
	KUNIT_EXPECT_NOT_NULL(test, strnstr(srv->rx,
					    "\r\n\r\nrpm 0\r\n[repeated 1 times]\r\n.\r\n",
					    srv->rx_len));
}

/* What the client sends: a refused mail, a reset refused, a new session. */
#define RSET_THEN_NEW_SESSION \
	"EHLO client.example\r\nMAIL FROM:<dev@example.org>\r\n" \
	"RCPT TO:<nobody@example.net>\r\nRSET\r\n" \
	"EHLO client.example\r\nMAIL FROM:<dev@example.org>\r\n" \
	"RCPT TO:<ops@example.net>\r\nDATA\r\nDate: *\r\nFrom: dev@example.org\r\n" \
	"To: ops@example.net\r\nSubject: second\r\nMessage-ID: <*>\r\n" \
	"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n" \
	"Content-Transfer-Encoding: 7bit\r\nX-Priority: 3 (Normal)\r\n\r\n" \
	"y\r\n.\r\nQUIT\r\n"

/* A refused mail's RSET that fails ends that session, not the next mail:
 * it goes over a new session, in the same run.
 */
static void failed_rset_does_not_fail_next(struct kunit *test)
{
	static const char * const s1[] = {
		GREET, "R", EHLO, "R", "S250 ok\r\n", "R", "S550 5.1.1 no such user\r\n",
		"R", "S421 4.3.2 closing\r\n", "C", NULL
	};
	static const char * const s2[] = { GREET, "R", EHLO, TXN, QUIT, NULL };
	static const char * const * const scripts[] = { s1, s2 };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	u64 a, b;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start_multi(test, srv, AF_INET, scripts, 2, 65536);
	use_server(test, &srv->addr);
	set_limits(600000, 30000, 10, 256);
	a = queue_one(test, "first", "x\n", "nobody@example.net", 0);
	b = queue_one(test, "second", "y\n", NULL, 0);
	ksmtp_queue_retry_now(q0());
	expect_ends(test, 2);
	ksmtp_test_server_wait(test, srv);
	KUNIT_EXPECT_EQ(test, ends->end[a], KSMTP_END_FAILED);
	KUNIT_EXPECT_EQ(test, ends->end[b], KSMTP_END_SENT);
	KUNIT_EXPECT_TRUE_MSG(test, ksmtp_test_glob(RSET_THEN_NEW_SESSION, srv->rx, srv->rx_len),
			      "client sent: %*pE", (int)min_t(size_t, srv->rx_len, 2000), srv->rx);
}

/* Shutdown cuts a session waiting in QUIT too (a server that never
 * answers it), instead of waiting for the command timeout.
 */
static void shutdown_cuts_quit(struct kunit *test)
{
	static const char * const s[] = { GREET, "R", EHLO, TXN, "Z", NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct ksmtp_queue *q = q0();
	unsigned long flags, t0;
	u64 id;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	use_server(test, &srv->addr);	/* 3 s timeouts */
	set_limits(0, 30000, 10, 256);
	id = queue_one(test, "quit hangs", "x\n", NULL, 0);
	expect_ends(test, 1);
	KUNIT_EXPECT_EQ(test, ends->end[id], KSMTP_END_SENT);
	msleep(300);	/* the worker now waits for the reply to QUIT */
	t0 = jiffies;
	ksmtp_queue_shutdown(q);
	KUNIT_EXPECT_LT(test, jiffies_to_msecs(jiffies - t0), 1500U);
	ksmtp_test_server_wait(test, srv);
	spin_lock_irqsave(&q->lock, flags);
	q->dying = false;
	spin_unlock_irqrestore(&q->lock, flags);
	ksmtp_sessions_revive(&q->sessions);
}

struct walk_ctx {
	u64 seen[8];
	unsigned int n;
	unsigned int stop_after;
};

static int walk_fn(void *arg, const struct ksmtp_qinfo *m)
{
	struct walk_ctx *w = arg;

	if (w->n == w->stop_after || w->n == ARRAY_SIZE(w->seen))
		return 1;
	w->seen[w->n++] = m->id;
	return 0;
}

/* The queue dump's walk goes by id, whatever the order on the list: a
 * mail retried after a newer one was queued is neither skipped nor seen
 * twice by a dump resumed after the last id it sent.
 */
static void walk_in_id_order(struct kunit *test)
{
	static const char * const s[] = { "W600", "C", NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct walk_ctx w = { .stop_after = 8 };
	struct ksmtp_queue *q = q0();
	u64 a, b, last;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	use_server(test, &srv->addr);
	set_limits(0, 60000, 10, 256);
	a = queue_one(test, "older", "x\n", NULL, 0);
	msleep(300);	/* its attempt waits for the greeting */
	set_limits(600000, 60000, 10, 256);
	b = queue_one(test, "newer", "y\n", NULL, 0);
	ksmtp_test_server_wait(test, srv);
	for (i = 0; i < 50; i++) {	/* @a back on the list, after @b */
		w.n = 0;
		ksmtp_queue_walk(q, 0, walk_fn, &w);
		if (w.n == 2)
			break;
		msleep(100);
	}
	KUNIT_ASSERT_EQ(test, w.n, 2U);
	KUNIT_EXPECT_EQ(test, w.seen[0], a);
	KUNIT_EXPECT_EQ(test, w.seen[1], b);
	/* one mail per part, as a dump into small messages goes */
	w.n = 0;
	w.stop_after = 1;
	last = ksmtp_queue_walk(q, 0, walk_fn, &w);
	KUNIT_EXPECT_EQ(test, last, a);
	w.n = 0;
	last = ksmtp_queue_walk(q, last, walk_fn, &w);
	KUNIT_EXPECT_EQ(test, last, b);
	w.n = 0;
	KUNIT_EXPECT_EQ(test, ksmtp_queue_walk(q, last, walk_fn, &w), b);
	KUNIT_EXPECT_EQ(test, w.n, 0U);
}

/* The worker takes what is due by its time, not by its place in the
 * queue: a mail queued later with a shorter window goes first, the other
 * waits its time; a cancel finds a mail by its id; "retry now" makes the
 * waiting one due at once. Two sessions, in that order.
 */
static void due_by_time(struct kunit *test)
{
	static const char * const one[] = { GREET, "R", EHLO, TXN, QUIT, NULL };
	static const char * const * const scripts[] = { one, one };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct walk_ctx w = { .stop_after = 8 };
	u64 later, gone, soon;
	const char *p1, *p2;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start_multi(test, srv, AF_INET, scripts, 2, 65536);
	use_server(test, &srv->addr);
	set_limits(600000, 60000, 10, 256);
	later = queue_one(test, "later", "x\n", NULL, 0);
	gone = queue_one(test, "cancelled", "z\n", NULL, 0);
	set_limits(200, 60000, 10, 256);
	soon = queue_one(test, "soon", "y\n", NULL, 0);
	expect_ends(test, 1);
	KUNIT_EXPECT_EQ(test, ends->calls[soon], 1);
	KUNIT_EXPECT_EQ(test, ends->end[soon], KSMTP_END_SENT);
	KUNIT_EXPECT_EQ(test, ends->calls[later], 0);
	KUNIT_EXPECT_FALSE(test, ksmtp_queue_cancel(q0(), soon));
	KUNIT_EXPECT_TRUE(test, ksmtp_queue_cancel(q0(), gone));
	KUNIT_EXPECT_FALSE(test, ksmtp_queue_cancel(q0(), gone));
	expect_ends(test, 2);
	KUNIT_EXPECT_EQ(test, ends->end[gone], KSMTP_END_DROPPED);
	ksmtp_queue_walk(q0(), 0, walk_fn, &w);
	KUNIT_ASSERT_EQ(test, w.n, 1U);
	KUNIT_EXPECT_EQ(test, w.seen[0], later);
	KUNIT_EXPECT_EQ(test, ends->calls[later], 0);

	ksmtp_queue_retry_now(q0());
	expect_ends(test, 3);
	ksmtp_test_server_wait(test, srv);
	KUNIT_EXPECT_EQ(test, ends->calls[later], 1);
	KUNIT_EXPECT_EQ(test, ends->end[later], KSMTP_END_SENT);
	p1 = strnstr(srv->rx, "Subject: soon\r\n", srv->rx_len);
	p2 = strnstr(srv->rx, "Subject: later\r\n", srv->rx_len);
	KUNIT_ASSERT_NOT_NULL(test, p1);
	KUNIT_ASSERT_NOT_NULL(test, p2);
	KUNIT_EXPECT_LT(test, p1 - srv->rx, p2 - srv->rx);
	KUNIT_EXPECT_NULL(test, strnstr(srv->rx, "Subject: cancelled", srv->rx_len));
	KUNIT_EXPECT_EQ(test, count_mail_from(srv), 2U);
}

/* Bounds and bad input are refused at once, and no callback follows. */
static void bounds(struct kunit *test)
{
	struct ksmtp_queue_args a = {
		.kq_rcpt = "ops@example.net", .kq_subject = "s", .kq_body = "b",
		.kq_body_len = 1, .kq_done = done, .kq_data = ends,
	};
	u64 refused = atomic64_read(&q0()->refused);
	u64 id;

	set_limits(60000, 30000, 10, 2);
	a.kq_key = 1;
	KUNIT_EXPECT_EQ(test, ksmtp_mail_queue(&a, &id), 0);
	a.kq_key = 2;
	KUNIT_EXPECT_EQ(test, ksmtp_mail_queue(&a, &id), 0);
	a.kq_key = 3;
	KUNIT_EXPECT_EQ(test, ksmtp_mail_queue(&a, &id), -ENOSPC);
	KUNIT_EXPECT_EQ(test, atomic64_read(&q0()->refused), refused + 1);
	a.kq_rcpt = "ops@example.net\r\nRCPT TO:<x@y.z>";
	KUNIT_EXPECT_EQ(test, ksmtp_mail_queue(&a, &id), -EINVAL);
	a.kq_rcpt = NULL;
	a.kq_subject = "a\nBcc: x@y.z";
	KUNIT_EXPECT_EQ(test, ksmtp_mail_queue(&a, &id), -EINVAL);
	a.kq_subject = "s";
	a.kq_body_len = KSMTP_BODY_MAX + 1;
	KUNIT_EXPECT_EQ(test, ksmtp_mail_queue(&a, &id), -EMSGSIZE);
	/* the two accepted ones end, as dropped, when flushed */
	ksmtp_queue_flush(q0());
	expect_ends(test, 2);
	KUNIT_EXPECT_EQ(test, ends->total, 2U);
}

/* Cancel settles with complete: exactly one callback, whoever wins. */
/* New mails go right of the one with the highest id, without a walk; the
 * tree stays in id order when that one leaves (cancelled) and others come.
 */
static void walk_after_last_cancelled(struct kunit *test)
{
	struct walk_ctx w = { .stop_after = 8 };
	struct ksmtp_queue *q = q0();
	u64 id[5];

	set_limits(600000, 30000, 10, 256);
	id[0] = queue_one(test, "one", "1\n", NULL, 0);
	id[1] = queue_one(test, "two", "2\n", NULL, 0);
	id[2] = queue_one(test, "three", "3\n", NULL, 0);
	KUNIT_EXPECT_TRUE(test, ksmtp_mail_cancel(&init_net, id[2]));
	id[3] = queue_one(test, "four", "4\n", NULL, 0);
	KUNIT_EXPECT_TRUE(test, ksmtp_mail_cancel(&init_net, id[3]));
	KUNIT_EXPECT_TRUE(test, ksmtp_mail_cancel(&init_net, id[1]));
	id[4] = queue_one(test, "five", "5\n", NULL, 0);
	ksmtp_queue_walk(q, 0, walk_fn, &w);
	KUNIT_ASSERT_EQ(test, w.n, 2U);
	KUNIT_EXPECT_EQ(test, w.seen[0], id[0]);
	KUNIT_EXPECT_EQ(test, w.seen[1], id[4]);
	w.n = 0;
	KUNIT_EXPECT_EQ(test, ksmtp_queue_walk(q, id[0], walk_fn, &w), id[4]);
	KUNIT_EXPECT_EQ(test, w.n, 1U);
	ksmtp_queue_flush(q);
}

static void cancel_once(struct kunit *test)
{
	u64 id;

	set_limits(60000, 30000, 10, 256);
	id = queue_one(test, "to cancel", "x\n", NULL, 0);
	KUNIT_EXPECT_TRUE(test, ksmtp_mail_cancel(&init_net, id));
	KUNIT_EXPECT_FALSE(test, ksmtp_mail_cancel(&init_net, id));
	KUNIT_EXPECT_EQ(test, ends->calls[id], 1);
	KUNIT_EXPECT_EQ(test, ends->end[id], KSMTP_END_DROPPED);
	ksmtp_queue_flush(q0());
	KUNIT_EXPECT_EQ(test, ends->calls[id], 1);
}

/* Cancel against delivery: a mail being delivered cannot be cancelled; it
 * ends on its own, once; a waiting one can, once.
 */
static void cancel_vs_delivery(struct kunit *test)
{
	static const char * const silent[] = { "Z", NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct ksmtp_queue *q = q0();
	unsigned long flags;
	u64 flying, waiting;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start(test, srv, AF_INET, silent, 65536);
	use_server(test, &srv->addr);
	set_limits(0, 30000, 1, 256);
	flying = queue_one(test, "in flight", "x\n", NULL, 1);
	msleep(300);	/* taken by the worker, waiting for a greeting (3 s) */
	spin_lock_irqsave(&q->lock, flags);
	q->limits.coalesce_ms = 600000;
	spin_unlock_irqrestore(&q->lock, flags);
	waiting = queue_one(test, "waiting", "y\n", NULL, 2);
	KUNIT_EXPECT_FALSE(test, ksmtp_mail_cancel(&init_net, flying));
	KUNIT_EXPECT_TRUE(test, ksmtp_mail_cancel(&init_net, waiting));
	KUNIT_EXPECT_FALSE(test, ksmtp_mail_cancel(&init_net, waiting));
	expect_ends(test, 2);	/* the greeting timeout ends the first: expired */
	ksmtp_test_server_wait(test, srv);
	KUNIT_EXPECT_EQ(test, ends->calls[flying], 1);
	KUNIT_EXPECT_EQ(test, ends->end[flying], KSMTP_END_EXPIRED);
	KUNIT_EXPECT_EQ(test, ends->attempts_err[flying], (unsigned int)ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, ends->calls[waiting], 1);
	KUNIT_EXPECT_EQ(test, ends->end[waiting], KSMTP_END_DROPPED);
}

/* Shutdown (unload, namespace exit): a silent server does not hold it up;
 * every mail ends once, dropped; nothing more is accepted.
 */
static void shutdown_drops_everything(struct kunit *test)
{
	static const char * const s[] = { "Z", NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct ksmtp_queue *q = q0();
	unsigned long flags, t0;
	unsigned int i;
	u64 id;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	use_server(test, &srv->addr);
	set_limits(0, 30000, 10, 256);
	for (i = 0; i < 20; i++)
		queue_one(test, "stuck", "x\n", NULL, i);
	msleep(200);	/* the worker is now waiting for a greeting (3 s) */
	t0 = jiffies;
	ksmtp_queue_shutdown(q);
	KUNIT_EXPECT_LT(test, jiffies_to_msecs(jiffies - t0), 2500U);
	expect_ends(test, 20);
	for (i = 0; i < MAX_IDS; i++)
		KUNIT_EXPECT_LE(test, ends->calls[i], 1U);
	KUNIT_EXPECT_EQ(test, ksmtp_mail_queue(&(struct ksmtp_queue_args){
		.kq_subject = "late", .kq_body = "", }, &id), -ESHUTDOWN);
	ksmtp_test_server_wait(test, srv);
	/* bring init_net's queue back for the other cases */
	spin_lock_irqsave(&q->lock, flags);
	q->dying = false;
	spin_unlock_irqrestore(&q->lock, flags);
	ksmtp_sessions_revive(&q->sessions);
}

/* The backoff schedule: doubling from the base, capped, jitter up to 1/4. */
static void backoff_schedule(struct kunit *test)
{
	struct ksmtp_queue *q = kunit_kzalloc(test, sizeof(*q), GFP_KERNEL);
	unsigned int a, i, v;

	KUNIT_ASSERT_NOT_NULL(test, q);
	q->limits.retry_base_ms = 1000;

	for (a = 1; a <= 25; a++) {
		u64 want = min_t(u64, 1000ULL << (a - 1), 3600 * 1000);

		for (i = 0; i < 20; i++) {
			v = ksmtp_queue_backoff_ms(q, a);
			KUNIT_EXPECT_GE(test, (u64)v, want);
			KUNIT_EXPECT_LE(test, (u64)v, want + want / 4);
		}
	}
}

/* Review reproducers (3a53e12): the trees, the fresh list and "retry now". */

/* Both trees, the waiting list and the fresh list agree, under the lock:
 * ids strictly ascending, due order strict (time, then id), the cached
 * first and the two "last" pointers are the real ends, the fresh ones
 * waiting and not announced.
 */
static void check_trees(struct kunit *test)
{
	struct ksmtp_queue *q = q0();
	struct ksmtp_qmail *m, *prev = NULL;
	unsigned int nid = 0, ndue = 0, nlist = 0, nfresh = 0, bad = 0;
	unsigned long flags;
	struct rb_node *n;

	spin_lock_irqsave(&q->lock, flags);
	for (n = rb_first(&q->ids); n; n = rb_next(n)) {
		m = rb_entry(n, struct ksmtp_qmail, rb);
		if (prev && prev->id >= m->id)
			bad |= 1;
		prev = m;
		nid++;
	}
	if (q->ids_last != rb_last(&q->ids))
		bad |= 2;
	prev = NULL;
	for (n = rb_first(&q->due.rb_root); n; n = rb_next(n)) {
		m = rb_entry(n, struct ksmtp_qmail, due);
		if (prev && !(time_before(prev->next_try, m->next_try) ||
			      (prev->next_try == m->next_try && prev->id < m->id)))
			bad |= 4;
		prev = m;
		ndue++;
	}
	if (q->due_last != rb_last(&q->due.rb_root))
		bad |= 8;
	if (rb_first_cached(&q->due) != rb_first(&q->due.rb_root))
		bad |= 16;
	list_for_each_entry(m, &q->mails, node)
		nlist++;
	list_for_each_entry(m, &q->fresh, fresh) {
		nfresh++;
		if (m->announced)
			bad |= 32;
	}
	if (nid != ndue || nid != nlist || nfresh > nid)
		bad |= 64;
	spin_unlock_irqrestore(&q->lock, flags);
	KUNIT_EXPECT_EQ(test, bad, 0U);
}

/* Random windows (the fast path and the walk down the due tree), merges,
 * cancels of any id (the last ones included), "retry now", and retries
 * put back by settle() (no client: every attempt fails at once): the
 * invariants hold throughout, and every mail ends exactly once.
 */
static void review_trees_stress(struct kunit *test)
{
	struct ksmtp_queue *q = q0();
	unsigned int i, n = 0, total = 0, over = 0;
	unsigned long flags;
	u64 *ids = kunit_kcalloc(test, 400, sizeof(*ids), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ids);
	ksmtp_client_put(ksmtp_net_set_client(ksmtp_net(&init_net), NULL));
	set_limits(0, 100, 1000, 1024);
	for (i = 0; i < 400; i++) {
		u32 r = get_random_u32();

		spin_lock_irqsave(&q->lock, flags);
		q->limits.coalesce_ms = (r & 3) ? (r >> 8) % 300 : 0;
		spin_unlock_irqrestore(&q->lock, flags);
		ids[n++] = queue_one(test, "stress", "x\n", NULL, 1 + (r >> 16) % 300);
		if (r & 0x10)
			ksmtp_mail_cancel(&init_net, ids[get_random_u32_below(n)]);
		if (r & 0x20)
			ksmtp_mail_cancel(&init_net, ids[n - 1]);
		if ((r & 0xc0) == 0x40)
			ksmtp_queue_retry_now(q);
		if (!(i % 8))
			check_trees(test);
		if (!(i % 32))
			msleep(20);
	}
	msleep(500);
	check_trees(test);
	ksmtp_queue_flush(q);
	check_trees(test);
	expect_ends(test, n);
	for (i = 0; i < MAX_IDS; i++) {
		total += ends->calls[i];
		over += ends->calls[i] > 1;
	}
	KUNIT_EXPECT_EQ(test, total, n);
	KUNIT_EXPECT_EQ(test, over, 0U);
}

struct attempts_ctx {
	u64 id;
	unsigned int attempts;
	unsigned int next_ms;
	bool found;
	unsigned int min, max, n;
};

static int attempts_fn(void *arg, const struct ksmtp_qinfo *m)
{
	struct attempts_ctx *c = arg;

	if (m->id == c->id) {
		c->found = true;
		c->attempts = m->attempts;
		c->next_ms = m->next_ms;
	}
	c->min = min(c->min, m->attempts);
	c->max = max(c->max, m->attempts);
	c->n++;
	return 0;
}

/* "retry now" while a mail is being delivered: a mail in flight that
 * comes back before the worker reaches its id is retried at once, as the
 * kernel-doc says, alone as with another mail waiting (the control case).
 */
static void retry_now_in_flight(struct kunit *test, bool other_waiting)
{
	static const char * const s[] = { "W600", "C", NULL };
	struct ksmtp_test_server *srv = kunit_kzalloc(test, sizeof(*srv), GFP_KERNEL);
	struct attempts_ctx c = { .min = UINT_MAX };
	struct ksmtp_queue *q = q0();
	unsigned long flags;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, srv);
	ksmtp_test_server_start(test, srv, AF_INET, s, 65536);
	use_server(test, &srv->addr);
	set_limits(0, 60000, 10, 256);
	c.id = queue_one(test, "in flight", "x\n", NULL, 1);
	msleep(300);	/* taken; its session waits 600 ms, then is closed */
	if (other_waiting) {
		spin_lock_irqsave(&q->lock, flags);
		q->limits.coalesce_ms = 600000;
		spin_unlock_irqrestore(&q->lock, flags);
		queue_one(test, "waiting", "y\n", NULL, 2);
	}
	ksmtp_queue_retry_now(q);
	ksmtp_test_server_wait(test, srv);
	/* retried at once: a second attempt (refused: nobody listens now) */
	for (i = 0; i < 40; i++) {
		c.found = false;
		ksmtp_queue_walk(q, 0, attempts_fn, &c);
		if (c.found && c.attempts >= 2)
			break;
		msleep(100);
	}
	KUNIT_EXPECT_TRUE(test, c.found);
	KUNIT_EXPECT_GE_MSG(test, c.attempts, 2U,
			    "retry now in flight (other mail waiting: %d): next in %u ms",
			    other_waiting, c.next_ms);
}

static void review_retry_now_in_flight_alone(struct kunit *test)
{
	retry_now_in_flight(test, false);
}

static void review_retry_now_in_flight_control(struct kunit *test)
{
	retry_now_in_flight(test, true);
}

/* "retry now" asked again and again (a script, an operator) while the
 * worker goes through the range: a call keeps the cursor of the one in
 * progress, so every mail gets its turn (the review found each call
 * restarting at id 0: the lowest ids tried every time, the highest
 * seldom). No client: each attempt fails at once.
 */
static void review_retry_now_repeated_fairness(struct kunit *test)
{
	struct attempts_ctx c = { .min = UINT_MAX };
	struct ksmtp_queue *q = q0();
	unsigned long flags;
	unsigned int i;

	ksmtp_client_put(ksmtp_net_set_client(ksmtp_net(&init_net), NULL));
	set_limits(600000, 60000, 1000, 1024);
	spin_lock_irqsave(&q->lock, flags);
	q->limits.retry_age_s = 7 * 86400;	/* nothing expires here */
	spin_unlock_irqrestore(&q->lock, flags);
	for (i = 0; i < 600; i++) {
		struct ksmtp_queue_args a = {
			.kq_rcpt = "ops@example.net", .kq_subject = "many",
			.kq_body = "x\n", .kq_body_len = 2, .kq_key = 1000 + i,
		};

		KUNIT_ASSERT_EQ(test, ksmtp_mail_queue(&a, NULL), 0);
	}
	for (i = 0; i < 200; i++) {
		ksmtp_queue_retry_now(q);
		usleep_range(500, 1000);
	}
	msleep(1000);	/* the last range drained */
	ksmtp_queue_walk(q, 0, attempts_fn, &c);
	KUNIT_EXPECT_EQ(test, c.n, 600U);
	KUNIT_EXPECT_LE_MSG(test, c.max - c.min, 2U, "attempts: min %u, max %u",
			    c.min, c.max);
}

static struct kunit_case queue_cases[] = {
	KUNIT_CASE(backoff_schedule),
	KUNIT_CASE(bounds),
	KUNIT_CASE(cancel_once),
	KUNIT_CASE(cancel_vs_delivery),
	KUNIT_CASE(atomic_contexts),
	KUNIT_CASE(hard_irq),
	KUNIT_CASE(transient_then_sent),
	KUNIT_CASE(permanent_not_retried),
	KUNIT_CASE(coalescing),
	KUNIT_CASE(coalescing_only_same_mail),
	KUNIT_CASE(failed_rset_does_not_fail_next),
	KUNIT_CASE(shutdown_cuts_quit),
	KUNIT_CASE(walk_in_id_order),
	KUNIT_CASE(due_by_time),
	KUNIT_CASE(walk_after_last_cancelled),
	KUNIT_CASE(shutdown_drops_everything),
	KUNIT_CASE(review_trees_stress),
	KUNIT_CASE(review_retry_now_in_flight_control),
	KUNIT_CASE(review_retry_now_in_flight_alone),
	KUNIT_CASE(review_retry_now_repeated_fairness),
	{}
};

static int queue_suite_init(struct kunit_suite *suite)
{
	return ksmtp_test_lo_up();
}

static struct kunit_suite queue_suite = {
	.name = "ksmtp-queue",
	.suite_init = queue_suite_init,
	.init = queue_init,
	.exit = queue_exit,
	.test_cases = queue_cases,
};

kunit_test_suite(queue_suite);
