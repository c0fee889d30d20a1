/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel-log reporter (klog.c): faults in the kernel's log become
 * mails. The core (what a line is, when a report starts and ends, the
 * rate limit) is apart from the reading of the log, so KUnit drives it
 * with lines and times of its own.
 */
#ifndef _KSMTP_KLOG_H
#define _KSMTP_KLOG_H

#include <linux/types.h>

#include "netns.h"

/* The octets of a line kept; the rest of a longer line is cut. */
#define KSMTP_KLOG_LINE_MAX	240
/* The lines of one report, at most (the rest are counted): an oops with
 * its trace is 5 to 10 KiB. The queue copies a mail in one kmalloc(): a
 * full report (with its notes and subject, about 33.5 KiB) is order 4,
 * from the worker with GFP_KERNEL (ksmtp_mail_queue_kernel()), which may
 * reclaim for it; should it fail, the report is counted as suppressed.
 */
#define KSMTP_KLOG_BODY_MAX	(32 << 10)
/* Lines after a gap in the log (records lost before they were read)
 * within which a report that starts says so: longer than the block of
 * one fault report (a WARNING with its trace, registers, lockdep's
 * lines), whose first lines may be what was lost.
 */
#define KSMTP_KLOG_GAP_LINES	128
/* What a report says of itself after its lines, at most */
#define KSMTP_KLOG_NOTE_MAX	512

/**
 * struct ksmtp_klog_line - a line of context
 * @len: its length
 * @text: its text (not NUL-terminated)
 */
struct ksmtp_klog_line {
	u16 len;
	char text[KSMTP_KLOG_LINE_MAX];
};

/**
 * typedef ksmtp_klog_emit_fn - a report is complete
 * @arg: the core's owner's
 * @first: the line that started it (NUL-terminated, at most
 *	KSMTP_KLOG_LINE_MAX octets)
 * @body: its lines, each ending in LF, and what it says of itself
 * @len: @body's length
 *
 * Called from ksmtp_klog_feed() or ksmtp_klog_tick(), in their context.
 * Return: 0 when the report is on its way; else it was refused (the queue
 * full): it is then not one of the hour's, and is counted as suppressed
 * (the next report says so).
 */
typedef int (*ksmtp_klog_emit_fn)(void *arg, const char *first,
				  const char *body, size_t len);

/**
 * struct ksmtp_klog_core - the reporter's state, without the log
 * @cfg: the configuration
 * @emit: told of each complete report
 * @arg: for @emit
 * @hist: the last lines outside a report (KSMTP_KLOG_CONTEXT_MAX of them)
 * @hist_next: where the next one goes in @hist
 * @hist_n: how many @hist holds
 * @collecting: a report is being collected
 * @deadline: the time (ns) after which a line no longer joins it
 * @first: the line that started it
 * @buf: its body (KSMTP_KLOG_BODY_MAX + KSMTP_KLOG_NOTE_MAX octets)
 * @len: the body's length
 * @triggers: the lines in it that would have started a report
 * @cut: lines left out, the body being full
 * @lost: log records lost before they were read, while it was collected
 * @suppressed_before: reports suppressed before this one (said in it)
 * @hour_valid: @hour_start is set
 * @hour_start: when (ns) the rate limit's hour began
 * @sent: reports started in that hour
 * @suppressed: reports suppressed since the last one started
 * @gap: log records lost outside a report, at most KSMTP_KLOG_GAP_LINES
 *	lines ago: the next report says so (its first line may not be the
 *	first one of the fault)
 * @since_gap: lines taken since then
 */
struct ksmtp_klog_core {
	struct ksmtp_klog_cfg cfg;
	ksmtp_klog_emit_fn emit;
	void *arg;
	struct ksmtp_klog_line *hist;
	unsigned int hist_next;
	unsigned int hist_n;
	bool collecting;
	u64 deadline;
	char first[KSMTP_KLOG_LINE_MAX + 1];
	char *buf;
	size_t len;
	unsigned int triggers;
	unsigned int cut;
	u64 lost;
	u64 suppressed_before;
	bool hour_valid;
	u64 hour_start;
	unsigned int sent;
	u64 suppressed;
	u64 gap;
	unsigned int since_gap;
};

/**
 * struct ksmtp_klog_rec - a line of the log, as read (ksmtp_klog_parse())
 * @level: its log level (0..7), -1 if it carries none
 * @facility: its syslog facility: 0 for the kernel's lines; a line
 *	written to /dev/kmsg has 1 (user), or what its writer put there
 * @has_ts: @ts_ns is the printk time stamp
 * @ts_ns: it
 * @text: the message, after the prefixes
 * @len: its length
 */
struct ksmtp_klog_rec {
	int level;
	unsigned int facility;
	bool has_ts;
	u64 ts_ns;
	const char *text;
	size_t len;
};

bool ksmtp_klog_match(const char *text, size_t len, int level, unsigned int trig_level);
void ksmtp_klog_parse(const char *line, size_t len, struct ksmtp_klog_rec *rec);
int ksmtp_klog_core_init(struct ksmtp_klog_core *c, const struct ksmtp_klog_cfg *cfg,
			 ksmtp_klog_emit_fn emit, void *arg);
void ksmtp_klog_core_free(struct ksmtp_klog_core *c);
void ksmtp_klog_core_set_cfg(struct ksmtp_klog_core *c, const struct ksmtp_klog_cfg *cfg);
void ksmtp_klog_feed(struct ksmtp_klog_core *c, int level, const char *text, size_t len,
		     u64 ts_ns);
void ksmtp_klog_lost(struct ksmtp_klog_core *c, u64 records);
void ksmtp_klog_tick(struct ksmtp_klog_core *c, u64 now_ns);

int ksmtp_klog_init(void);
void ksmtp_klog_exit(void);

#endif /* _KSMTP_KLOG_H */
