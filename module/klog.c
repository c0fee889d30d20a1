// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel-log reporter: the lines that start a fault report in the
 * kernel's log (an oops, BUG, WARNING, hung task, lockup, RCU stall, OOM
 * kill, panic), or any line of a configured level, become mails to the
 * configured recipients, through the initial namespace's queue. A report
 * is the line that started it, the lines before it (context) and the
 * lines that follow within a window, so one oops is one mail with its
 * whole trace; at most so many reports are mailed per hour, and the next
 * one says how many were not.
 *
 * Why the reporter reads the log rather than being a console: a console's
 * write() is called only for the lines above the console log level, which
 * is global (a "quiet" boot sets 4: no WARNING reaches any console; the
 * tests' guest sets 1). So a worker reads every record itself with the
 * kmsg_dump iterator (kmsg_dump_get_line(), lockless, process context),
 * once a second while the reporter is on (ten times while the log is
 * busy), and at once after an oops: a
 * kmsg_dumper's dump() is called at the end of each oops. That callback
 * is the only code here that runs where printk does (any context, NMI
 * included, holding whatever the faulting code holds); all it does is
 * irq_work_queue(), which takes no lock and may be called from NMI. The
 * irq_work then queues the worker: queue_work() itself takes the pool's
 * lock and wakes a task (the runqueue's lock), which the faulting code may
 * hold, hence the step through irq_work (as printk's own wake-ups do).
 * Everything else runs in the worker, in process context: it allocates
 * nothing (its buffers are allocated when the reporter is switched on) but
 * the queue's copy of each report, ksmtp_mail_queue_kernel() (GFP_KERNEL:
 * a report is up to an order-4 allocation, which may reclaim).
 *
 * Recursion: the lines ksmtp prints start with "ksmtp: " (pr_fmt); they
 * never start a report, nor join one, so a mail that fails (its one line,
 * ksmtp_log_failure()) cannot cause another mail. The worker prints
 * nothing but such lines; nor does printk's rate limit print one of its
 * own for ksmtp's ("<function>: N callbacks suppressed", without the
 * prefix): see ksmtp_ratelimit().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/ctype.h>
#include <linux/irq_work.h>
#include <linux/kmsg_dump.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/notifier.h>
#include <linux/ratelimit.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/utsname.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>

#include "events.h"
#include "klog.h"
#include "netns.h"

/* Where a line starts that starts a fault report (after its subsystem's
 * prefix, for the ones printed with one).
 */
static const char * const klog_starts[] = {
	"BUG: ",			/* BUG:, KASAN, KFENCE, page faults, lockups */
	"kernel BUG at ",
	"Oops",
	"general protection fault",
	"invalid opcode: ",
	"Unable to handle kernel ",	/* arm, arm64 */
	"Internal error: ",		/* arm, arm64 */
	"WARNING: ",			/* WARN(), lockdep */
	"INFO: task ",			/* hung task */
	"watchdog: BUG: soft lockup",
	"watchdog: Watchdog detected hard LOCKUP",
	"NMI watchdog: Watchdog detected hard LOCKUP",
	"rcu: INFO: rcu_",		/* RCU stall */
	"INFO: rcu_",
	"Out of memory",
	"Memory cgroup out of memory",
	"Kernel panic",
	"UBSAN: ",
};

/* The one that is found anywhere in its line: "<comm> invoked oom-killer: " */
static const char klog_oom[] = " invoked oom-killer: ";

/* ksmtp's own lines (pr_fmt) */
static const char klog_own[] = KBUILD_MODNAME ": ";

static bool starts_with(const char *text, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && !memcmp(text, s, n);
}

/**
 * ksmtp_klog_match() - does a line start a report?
 * @text: the message (no prefix: see ksmtp_klog_parse())
 * @len: its length
 * @level: its log level; -1 if unknown, or not a line of the kernel's
 *	(see ksmtp_klog_parse()'s facility)
 * @trig_level: lines of this level or lower (more severe) start one too;
 *	KSMTP_KLOG_LEVEL_PATTERNS: none
 *
 * Context: any.
 * Return: true when it starts a fault report (a fault line's pattern at
 * KERN_WARNING or above, or at the default message level), or its level
 * is at or above @trig_level; never for ksmtp's own lines, nor for a
 * @level of -1.
 */
bool ksmtp_klog_match(const char *text, size_t len, int level, unsigned int trig_level)
{
	unsigned int i;

	if (starts_with(text, len, klog_own) || level < 0)
		return false;
	if (trig_level < KSMTP_KLOG_LEVEL_PATTERNS && level <= trig_level)
		return true;
	/* The kernel prints its fault lines at KERN_WARNING or above, or
	 * KERN_DEFAULT (x86's "Oops:", "general protection fault" and
	 * "invalid opcode:"), which the record holds as the default
	 * message level: 4 unless set otherwise. Lines below, such as
	 * x86's KERN_INFO "<comm>[<pid>]: segfault at ...", whose comm any
	 * process chooses, never match.
	 */
	if (level > max_t(int, LOGLEVEL_WARNING, READ_ONCE(default_message_loglevel)))
		return false;
	for (i = 0; i < ARRAY_SIZE(klog_starts); i++)
		if (starts_with(text, len, klog_starts[i]))
			return true;
	return len >= sizeof(klog_oom) - 1 &&
	       strnstr(text, klog_oom, len);
}

/* @n digits at @p, at most @max of them; their value in @v */
static size_t digits(const char *p, size_t n, size_t max, u64 *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n && i < max && isdigit(p[i]); i++)
		*v = *v * 10 + (p[i] - '0');
	return i;
}

/**
 * ksmtp_klog_parse() - a line of the log, as kmsg_dump_get_line() gives it
 * @line: the line, without its LF: "<L>", "[ SSSSS.UUUUUU]" when printk
 *	time stamps are on, "[ T123]" or "[ C1]" with CONFIG_PRINTK_CALLER,
 *	a space after those two, then the message
 * @len: its length
 * @rec: set to its parts; a prefix that is not there, or not as expected,
 *	is taken as part of the message
 *
 * Context: any.
 */
void ksmtp_klog_parse(const char *line, size_t len, struct ksmtp_klog_rec *rec)
{
	const char *p = line;
	size_t n = len, i;
	bool bracket = false;
	u64 v, us;

	*rec = (struct ksmtp_klog_rec){ .level = -1 };
	if (n > 2 && p[0] == '<') {
		i = 1 + digits(p + 1, n - 1, 4, &v);
		if (i > 1 && i < n && p[i] == '>') {
			rec->level = v & 7;
			rec->facility = v >> 3;
			p += i + 1;
			n -= i + 1;
		}
	}
	/* "[%5lu.%06lu]" */
	if (n && p[0] == '[') {
		i = 1;
		while (i < n && p[i] == ' ')
			i++;
		i += digits(p + i, n - i, 20, &v);
		if (i < n && p[i] == '.' && digits(p + i + 1, n - i - 1, 6, &us) == 6 &&
		    i + 7 < n && p[i + 7] == ']') {
			rec->has_ts = true;
			rec->ts_ns = v * NSEC_PER_SEC + us * NSEC_PER_USEC;
			p += i + 8;
			n -= i + 8;
			bracket = true;
		}
	}
	/* "[%6s]" of "T%u" or "C%u" */
	if (n && p[0] == '[') {
		i = 1;
		while (i < n && p[i] == ' ')
			i++;
		if (i < n && (p[i] == 'T' || p[i] == 'C')) {
			size_t d = digits(p + i + 1, n - i - 1, 10, &v);

			if (d && i + 1 + d < n && p[i + 1 + d] == ']') {
				p += i + 2 + d;
				n -= i + 2 + d;
				bracket = true;
			}
		}
	}
	if (bracket && n && p[0] == ' ') {
		p++;
		n--;
	}
	rec->text = p;
	rec->len = n;
}

/**
 * ksmtp_klog_core_init() - a reporter's state, with its buffers
 * @c: the state
 * @cfg: its configuration
 * @emit: told of each complete report
 * @arg: for @emit
 *
 * Context: process context; sleeps (GFP_KERNEL).
 * Return: 0 or -ENOMEM.
 */
int ksmtp_klog_core_init(struct ksmtp_klog_core *c, const struct ksmtp_klog_cfg *cfg,
			 ksmtp_klog_emit_fn emit, void *arg)
{
	*c = (struct ksmtp_klog_core){ .cfg = *cfg, .emit = emit, .arg = arg };
	c->hist = kcalloc(KSMTP_KLOG_CONTEXT_MAX, sizeof(*c->hist), GFP_KERNEL);
	c->buf = kvmalloc(KSMTP_KLOG_BODY_MAX + KSMTP_KLOG_NOTE_MAX, GFP_KERNEL);
	if (!c->hist || !c->buf) {
		ksmtp_klog_core_free(c);
		return -ENOMEM;
	}
	return 0;
}

/**
 * ksmtp_klog_core_free() - free a reporter's buffers
 * @c: the state; a report being collected is dropped
 *
 * Context: process context.
 */
void ksmtp_klog_core_free(struct ksmtp_klog_core *c)
{
	kfree(c->hist);
	kvfree(c->buf);
	c->hist = NULL;
	c->buf = NULL;
}

/**
 * ksmtp_klog_core_set_cfg() - a new configuration
 * @c: the state
 * @cfg: the configuration; a new number of reports per hour starts a new
 *	hour
 *
 * Context: any.
 */
void ksmtp_klog_core_set_cfg(struct ksmtp_klog_core *c, const struct ksmtp_klog_cfg *cfg)
{
	if (cfg->per_hour != c->cfg.per_hour)
		c->hour_valid = false;
	c->cfg = *cfg;
}

static void hist_push(struct ksmtp_klog_core *c, const char *text, size_t len)
{
	struct ksmtp_klog_line *l = &c->hist[c->hist_next];

	/* A gap this far back is no longer news for the next report. */
	if (c->gap && ++c->since_gap > KSMTP_KLOG_GAP_LINES)
		c->gap = 0;

	l->len = min_t(size_t, len, KSMTP_KLOG_LINE_MAX);
	memcpy(l->text, text, l->len);
	c->hist_next = (c->hist_next + 1) % KSMTP_KLOG_CONTEXT_MAX;
	if (c->hist_n < KSMTP_KLOG_CONTEXT_MAX)
		c->hist_n++;
}

/* A line into the body: whole, or counted as left out. The body never
 * passes KSMTP_KLOG_BODY_MAX: the notes have their own room after it.
 * (c->len is at most KSMTP_KLOG_BODY_MAX here; it may be exactly that,
 * so no "- 1" on the right, which would wrap.)
 */
static void add_line(struct ksmtp_klog_core *c, const char *text, size_t len)
{
	if (len >= KSMTP_KLOG_BODY_MAX - c->len) {
		c->cut++;
		return;
	}
	memcpy(c->buf + c->len, text, len);
	c->len += len;
	c->buf[c->len++] = '\n';
}

/* The rate limit: may a report start at @ts? Counted if so. */
static bool allow(struct ksmtp_klog_core *c, u64 ts)
{
	/* Signed: a line stamped a little before the hour began (another
	 * CPU's clock, a line without a stamp) is in that hour, not in a new
	 * one.
	 */
	if (!c->hour_valid || (s64)(ts - c->hour_start) >= 3600LL * NSEC_PER_SEC) {
		c->hour_valid = true;
		c->hour_start = ts;
		c->sent = 0;
	}
	if (c->sent >= c->cfg.per_hour)
		return false;
	c->sent++;
	return true;
}

static void start(struct ksmtp_klog_core *c, const char *text, size_t len, u64 ts)
{
	unsigned int n = min(c->hist_n, c->cfg.context), i;
	size_t flen = min_t(size_t, len, KSMTP_KLOG_LINE_MAX);

	c->collecting = true;
	c->deadline = ts + (u64)c->cfg.window_ms * NSEC_PER_MSEC;
	memcpy(c->first, text, flen);
	c->first[flen] = '\0';
	c->len = 0;
	c->triggers = 1;
	c->cut = 0;
	c->lost = c->gap;
	c->gap = 0;
	c->suppressed_before = c->suppressed;
	c->suppressed = 0;
	for (i = 0; i < n; i++) {
		const struct ksmtp_klog_line *l;

		l = &c->hist[(c->hist_next + KSMTP_KLOG_CONTEXT_MAX - n + i) %
			     KSMTP_KLOG_CONTEXT_MAX];
		add_line(c, l->text, l->len);
	}
	c->hist_n = 0;
	add_line(c, text, len);
}

/* The report is complete: what it says of itself, then out it goes. */
static void finish(struct ksmtp_klog_core *c)
{
	size_t room = KSMTP_KLOG_BODY_MAX + KSMTP_KLOG_NOTE_MAX;

	c->collecting = false;
	c->len += scnprintf(c->buf + c->len, room - c->len, "\n");
	if (c->triggers > 1)
		c->len += scnprintf(c->buf + c->len, room - c->len,
				    "%u lines in this report would each have started one.\n",
				    c->triggers);
	if (c->cut)
		c->len += scnprintf(c->buf + c->len, room - c->len,
				    "%u lines left out: a report holds at most %u octets.\n",
				    c->cut, KSMTP_KLOG_BODY_MAX);
	if (c->lost)
		c->len += scnprintf(c->buf + c->len, room - c->len,
				    "%llu log records lost before they were read.\n", c->lost);
	if (c->suppressed_before)
		c->len += scnprintf(c->buf + c->len, room - c->len,
				    "%llu more reports suppressed by the rate limit (%u per hour) before this one.\n",
				    c->suppressed_before, c->cfg.per_hour);
	/* Refused (the queue is full): not one of the hour's reports, but
	 * one more suppressed, with those it would have told of.
	 */
	if (c->emit(c->arg, c->first, c->buf, c->len)) {
		if (c->sent)
			c->sent--;
		c->suppressed += c->suppressed_before + 1;
	}
}

/**
 * ksmtp_klog_feed() - the next line of the log
 * @c: the state
 * @level: the line's log level; -1 if unknown, or not the kernel's line:
 *	then it never starts a report
 * @text: the message (no prefix); only the first KSMTP_KLOG_LINE_MAX
 *	octets of it are kept as context
 * @len: its length
 * @ts_ns: its time (ns: printk's clock)
 *
 * A line after the window of the report being collected completes it
 * (@c's emit is called) before it is taken. A line that starts a report
 * starts one (the context lines first), unless the hour's reports are
 * spent: then it is counted, for the next report to say. Lines of ksmtp's
 * own are ignored.
 *
 * Context: any; does not sleep. The caller serialises calls on @c.
 */
void ksmtp_klog_feed(struct ksmtp_klog_core *c, int level, const char *text, size_t len,
		     u64 ts_ns)
{
	bool trig;

	if (starts_with(text, len, klog_own))
		return;
	trig = ksmtp_klog_match(text, len, level, c->cfg.level);
	if (c->collecting && ts_ns > c->deadline)
		finish(c);
	if (c->collecting) {
		if (trig)
			c->triggers++;
		add_line(c, text, len);
	} else if (!trig) {
		hist_push(c, text, len);
	} else if (allow(c, ts_ns)) {
		start(c, text, len, ts_ns);
	} else {
		c->suppressed++;
		hist_push(c, text, len);
	}
}

/**
 * ksmtp_klog_lost() - records of the log were lost before they were read
 * @c: the state
 * @records: how many
 *
 * A report being collected says so; outside one, the context is no longer
 * the lines just before the next one, and is forgotten, and a report that
 * starts within KSMTP_KLOG_GAP_LINES lines says so too (the fault's
 * first lines may have been lost).
 *
 * Context: any; does not sleep. The caller serialises calls on @c.
 */
void ksmtp_klog_lost(struct ksmtp_klog_core *c, u64 records)
{
	if (c->collecting) {
		c->lost += records;
		return;
	}
	c->hist_n = 0;
	c->gap += records;
	c->since_gap = 0;
}

/**
 * ksmtp_klog_tick() - the time is now @now_ns
 * @c: the state
 * @now_ns: printk's clock
 *
 * Completes the report being collected if its window is over.
 *
 * Context: any; does not sleep. The caller serialises calls on @c.
 */
void ksmtp_klog_tick(struct ksmtp_klog_core *c, u64 now_ns)
{
	if (c->collecting && now_ns > c->deadline)
		finish(c);
}

/* ---- the reporter: reading the log, in the initial namespace ---- */

/* A record as kmsg_dump_get_line() gives it: its lines with their prefixes
 * (a record is at most 1024 octets of text; its lines' prefixes come on
 * top, and a longer one is cut by printk, not overrun).
 */
#define KLOG_READ_MAX	2048
/* Records read in one run of the worker, at most, before it yields */
#define KLOG_BATCH	512
/* How often the worker reads the log: a quiet one, and one that had
 * records at the last read (a storm of WARNINGs fills a 128 KiB log in
 * well under a second; read it before it wraps)
 */
#define KLOG_POLL	HZ
#define KLOG_POLL_BUSY	(HZ / 10)

/**
 * struct ksmtp_klog - the reporter
 * @apply_lock: serialises switching it on and off
 * @lock: the rest, between the worker and the configuration
 * @running: it is on
 * @core: its state
 * @iter: where the worker is in the log
 * @line: the record being read
 * @subject: the subject of the report being mailed
 * @dumper: called at the end of each oops
 * @kick: from @dumper to @work
 * @work: reads the log, mails the reports
 * @nb: on the events chain: configuration changes
 */
struct ksmtp_klog {
	struct mutex apply_lock; /* see above */
	struct mutex lock; /* see above */
	bool running;
	struct ksmtp_klog_core core;
	struct kmsg_dump_iter iter;
	char *line;
	char subject[2 * __NEW_UTS_LEN + KSMTP_KLOG_LINE_MAX + 8];
	struct kmsg_dumper dumper;
	struct irq_work kick;
	struct delayed_work work;
	struct notifier_block nb;
};

static struct ksmtp_klog klog;

/* Not printk_ratelimited(): see ksmtp_ratelimit(). */
static struct ratelimit_state klog_rs =
	RATELIMIT_STATE_INIT_FLAGS(klog_rs, DEFAULT_RATELIMIT_INTERVAL,
				   DEFAULT_RATELIMIT_BURST, RATELIMIT_MSG_ON_RELEASE);

/* A report into the initial namespace's queue, to the configured
 * recipients. The host's name is read without uts_sem (not exported): a
 * concurrent sethostname() may show half a name, never an unterminated
 * one (the last octet of the field is always NUL).
 */
static int klog_emit(void *arg, const char *first, const char *body, size_t len)
{
	struct new_utsname *u = init_utsname();
	struct ksmtp_queue_args a = {
		.kq_net = &init_net,
		.kq_priority = KSMTP_PRIO_HIGH,
		.kq_subject = klog.subject,
		.kq_body = body,
		.kq_body_len = len,
	};
	int err;

	snprintf(klog.subject, sizeof(klog.subject), "%.*s %.*s: %s",
		 (int)sizeof(u->nodename), u->nodename,
		 (int)sizeof(u->release), u->release, first);
	err = ksmtp_mail_queue_kernel(&a, NULL);
	if (err && ksmtp_ratelimit(&klog_rs))
		pr_warn("kernel-log report not queued: %d\n", err);
	return err;
}

/* The next record, fed line by line; false when there is none. */
static bool klog_read(void)
{
	u64 want = klog.iter.cur_seq;
	const char *p, *end, *nl;
	size_t len;

	if (!kmsg_dump_get_line(&klog.iter, true, klog.line, KLOG_READ_MAX, &len))
		return false;
	/* The record read is the first one still there from @want on. */
	if (klog.iter.cur_seq - 1 > want)
		ksmtp_klog_lost(&klog.core, klog.iter.cur_seq - 1 - want);
	len = min_t(size_t, len, KLOG_READ_MAX);
	for (p = klog.line, end = p + len; p < end; p = nl + 1) {
		struct ksmtp_klog_rec r;

		nl = memchr(p, '\n', end - p) ?: end;
		if (nl == p)
			continue;
		ksmtp_klog_parse(p, nl - p, &r);
		/* A line written to /dev/kmsg (facility user, or the one
		 * its writer chose) is no line of the kernel's: it may join
		 * a report, never start one.
		 */
		ksmtp_klog_feed(&klog.core, r.facility ? -1 : r.level, r.text, r.len,
				r.has_ts ? r.ts_ns : local_clock());
	}
	return true;
}

/* Nanoseconds until the window of the report being collected is over */
static u64 left(u64 now)
{
	return klog.core.deadline - min(now, klog.core.deadline);
}

static void klog_work(struct work_struct *work)
{
	unsigned long delay = KLOG_POLL;
	unsigned int n = 0;
	u64 now;

	mutex_lock(&klog.lock);
	if (!klog.running)
		goto out;
	while (n < KLOG_BATCH && klog_read())
		n++;
	now = local_clock();
	ksmtp_klog_tick(&klog.core, now);
	if (n == KLOG_BATCH)
		delay = 0;
	else if (n)
		delay = KLOG_POLL_BUSY;
	if (delay && klog.core.collecting)
		delay = min_t(u64, delay, nsecs_to_jiffies(left(now)) + 1);
	/* A kick queued meanwhile runs sooner: keep it. */
	queue_delayed_work(system_wq, &klog.work, delay);
out:
	mutex_unlock(&klog.lock);
}

/* Runs in hard interrupt context (or, with PREEMPT_RT, its thread):
 * queueing the worker is allowed here.
 */
static void klog_kick(struct irq_work *w)
{
	mod_delayed_work(system_wq, &klog.work, 0);
}

/* The end of an oops (see the top of this file): any context, NMI
 * included. At a panic nothing more will run: nothing to do.
 */
static void klog_dumped(enum kmsg_dump_reason reason)
{
	if (reason == KMSG_DUMP_OOPS)
		irq_work_queue(&klog.kick);
}

#ifdef KSMTP_KMSG_DUMP_DETAIL	/* 6.12 on (module/Kbuild) */
static void klog_dump(struct kmsg_dumper *dumper, struct kmsg_dump_detail *detail)
{
	klog_dumped(detail->reason);
}
#else
static void klog_dump(struct kmsg_dumper *dumper, enum kmsg_dump_reason reason)
{
	klog_dumped(reason);
}
#endif

static int read_cfg(void *arg, struct ksmtp_net_cfg *cfg)
{
	*(struct ksmtp_klog_cfg *)arg = cfg->klog;
	return 0;
}

static void klog_start(const struct ksmtp_klog_cfg *cfg)
{
	struct ksmtp_klog_core core;
	char *line;
	int err;

	line = kmalloc(KLOG_READ_MAX, GFP_KERNEL);
	err = ksmtp_klog_core_init(&core, cfg, klog_emit, NULL);
	if (err || !line) {
		if (!err)
			ksmtp_klog_core_free(&core);
		kfree(line);
		pr_err("kernel-log reporter not started: out of memory\n");
		return;
	}
	mutex_lock(&klog.lock);
	klog.core = core;
	klog.line = line;
	/* From the next record on: what is in the log already is not news. */
	kmsg_dump_rewind(&klog.iter);
	klog.iter.cur_seq = klog.iter.next_seq;
	klog.running = true;
	mutex_unlock(&klog.lock);
	err = kmsg_dump_register(&klog.dumper);
	if (err)
		pr_warn("kernel-log reporter: no dumper (%d), oopses wait for the next read\n",
			err);
	queue_delayed_work(system_wq, &klog.work, KLOG_POLL);
	pr_info("kernel-log reporter on\n");
}

static void klog_stop(void)
{
	mutex_lock(&klog.lock);
	klog.running = false;
	mutex_unlock(&klog.lock);
	/* After it returns no dump() runs (it waits for an RCU grace period);
	 * then no kick is pending or running; then the worker, which does not
	 * queue itself again once it is not running, is cancelled.
	 */
	kmsg_dump_unregister(&klog.dumper);
	irq_work_sync(&klog.kick);
	cancel_delayed_work_sync(&klog.work);
	mutex_lock(&klog.lock);
	ksmtp_klog_core_free(&klog.core);
	kfree(klog.line);
	klog.line = NULL;
	mutex_unlock(&klog.lock);
	pr_info("kernel-log reporter off\n");
}

/* The initial namespace's configuration changed: follow it. */
static void klog_apply(void)
{
	struct ksmtp_klog_cfg cfg;

	mutex_lock(&klog.apply_lock);
	ksmtp_net_config_read(ksmtp_net(&init_net), read_cfg, &cfg);
	if (cfg.enable && !klog.running) {
		klog_start(&cfg);
	} else if (!cfg.enable && klog.running) {
		klog_stop();
	} else if (klog.running) {
		mutex_lock(&klog.lock);
		ksmtp_klog_core_set_cfg(&klog.core, &cfg);
		mutex_unlock(&klog.lock);
	}
	mutex_unlock(&klog.apply_lock);
}

static int klog_event(struct notifier_block *nb, unsigned long kind, void *data)
{
	if (kind != KSMTP_EVENT_CONFIG || data != &init_net)
		return NOTIFY_DONE;
	klog_apply();
	return NOTIFY_OK;
}

/**
 * ksmtp_klog_init() - the reporter, off until configured
 *
 * Context: process context (module init), after ksmtp_net_init().
 * Return: 0 or a negative errno.
 */
int __init ksmtp_klog_init(void)
{
	mutex_init(&klog.apply_lock);
	mutex_init(&klog.lock);
	init_irq_work(&klog.kick, klog_kick);
	INIT_DELAYED_WORK(&klog.work, klog_work);
	klog.dumper.dump = klog_dump;
	klog.dumper.max_reason = KMSG_DUMP_OOPS;
	klog.nb.notifier_call = klog_event;
	ksmtp_events_register(&klog.nb);
	klog_apply();
	return 0;
}

/**
 * ksmtp_klog_exit() - the reporter off for good
 *
 * Context: process context (module exit), before the queues go.
 */
void ksmtp_klog_exit(void)
{
	ksmtp_events_unregister(&klog.nb);
	mutex_lock(&klog.apply_lock);
	if (klog.running)
		klog_stop();
	mutex_unlock(&klog.apply_lock);
}
