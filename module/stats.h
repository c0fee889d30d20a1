/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_STATS_H
#define _KSMTP_STATS_H

#include <linux/atomic.h>
#include <linux/spinlock.h>
#include <linux/ksmtp.h>

/**
 * struct ksmtp_stats - what a namespace's attempts came to
 * @sent: mails accepted by the server
 * @failed_transient: attempts that failed, a retry may succeed
 * @failed_permanent: attempts that failed for good
 * @failed_phase: failures by phase
 * @lock: protects @last
 * @last: the last failure
 *
 * Owned by the namespace (netns.c), handed to those who deliver (the
 * queue, the SEND workers), read by netlink.c.
 */
struct ksmtp_stats {
	atomic64_t sent;
	atomic64_t failed_transient;
	atomic64_t failed_permanent;
	atomic64_t failed_phase[KSMTP_PHASE_MAX + 1];
	spinlock_t lock; /* @last */
	struct ksmtp_result last;
};

static inline void ksmtp_stats_init(struct ksmtp_stats *st)
{
	spin_lock_init(&st->lock);
}

/**
 * ksmtp_stats_account() - count the outcome of one attempt
 * @st: the counters
 * @r: the result
 *
 * Context: any but hard IRQ.
 */
static inline void ksmtp_stats_account(struct ksmtp_stats *st,
				       const struct ksmtp_result *r)
{
	if (!r->kr_err) {
		atomic64_inc(&st->sent);
		return;
	}
	atomic64_inc(r->kr_transient ? &st->failed_transient :
		     &st->failed_permanent);
	if (r->kr_phase <= KSMTP_PHASE_MAX)
		atomic64_inc(&st->failed_phase[r->kr_phase]);
	spin_lock_bh(&st->lock);
	st->last = *r;
	spin_unlock_bh(&st->lock);
}

/**
 * ksmtp_stats_last() - a copy of the last failure
 * @st: the counters
 * @r: the copy (kr_err 0 when nothing failed yet)
 *
 * Context: any but hard IRQ.
 */
static inline void ksmtp_stats_last(struct ksmtp_stats *st,
				    struct ksmtp_result *r)
{
	spin_lock_bh(&st->lock);
	*r = st->last;
	spin_unlock_bh(&st->lock);
}

#endif /* _KSMTP_STATS_H */
