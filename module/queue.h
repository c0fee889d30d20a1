/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_QUEUE_H
#define _KSMTP_QUEUE_H

#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/ksmtp.h>

#include "client.h"
#include "events.h"
#include "session.h"
#include "stats.h"

struct net;

/**
 * struct ksmtp_queue_limits - a queue's limits and retry rules
 * @max_count: mails queued at most
 * @max_bytes: octets queued at most
 * @retry_max: attempts per mail at most
 * @retry_age_s: seconds a mail may wait at most
 * @retry_base_ms: first retry delay
 * @coalesce_ms: how long a new mail waits for identical ones
 */
struct ksmtp_queue_limits {
	unsigned int max_count;
	size_t max_bytes;
	unsigned int retry_max;
	unsigned int retry_age_s;
	unsigned int retry_base_ms;
	unsigned int coalesce_ms;
};

/**
 * ksmtp_queue_default_limits() - a new queue's limits (the uAPI's defaults)
 * @l: set to them
 *
 * Context: any.
 */
static inline void ksmtp_queue_default_limits(struct ksmtp_queue_limits *l)
{
	*l = (struct ksmtp_queue_limits){
		.max_count = 256,
		.max_bytes = 16 << 20,
		.retry_max = 10,
		.retry_age_s = 86400,
		.retry_base_ms = 30000,
		.coalesce_ms = 2000,
	};
}

/**
 * struct ksmtp_queue_stats - a queue's counters
 * @queued: mails accepted
 * @retried: retries scheduled
 * @expired: mails that expired
 * @dropped: mails dropped
 * @coalesced: mails merged into others
 * @refused: mails refused
 * @len: mails queued now (in flight included)
 * @bytes: their octets
 */
struct ksmtp_queue_stats {
	u64 queued;
	u64 retried;
	u64 expired;
	u64 dropped;
	u64 coalesced;
	u64 refused;
	u64 len;
	u64 bytes;
};

/**
 * struct ksmtp_qmail - a queued mail (one allocation with its strings)
 * @node: in ksmtp_queue.mails while waiting; alone while being delivered
 * @rb: in ksmtp_queue.ids while waiting
 * @due: in ksmtp_queue.due while waiting
 * @fresh: in ksmtp_queue.fresh while waiting and not @announced
 * @hnode: in ksmtp_queue.same while waiting
 * @id: its id, unique in its namespace
 * @hash: keyed hash of what makes two mails the same (coalescing)
 * @key: the caller's coalescing key, 0 for none
 * @queued_at: jiffies when queued
 * @next_try: jiffies of the next attempt
 * @attempts: attempts made
 * @repeats: identical mails merged into this one
 * @announced: the "queued" event went out
 * @size: octets counted against the queue's byte limit
 * @priority: priority
 * @done: completion callback, or NULL
 * @data: for @done
 * @rcpt: recipient, or NULL for the default one
 * @subject: subject
 * @body: body
 * @body_len: its length
 * @last: the last failure (kr_err 0 before any)
 */
struct ksmtp_qmail {
	struct list_head node;
	struct rb_node rb;
	struct rb_node due;
	struct list_head fresh;
	struct hlist_node hnode;
	u64 id;
	u64 hash;
	unsigned long key;
	unsigned long queued_at;
	unsigned long next_try;
	unsigned int attempts;
	unsigned int repeats;
	bool announced;
	size_t size;
	enum ksmtp_priority priority;
	ksmtp_done_fn done;
	void *data;
	char *rcpt;
	char *subject;
	char *body;
	size_t body_len;
	struct ksmtp_result last;
};

/**
 * struct ksmtp_queue - a namespace's queue of mails to deliver
 * @lock: protects everything but @conn and the counters; taken with
 *	interrupts off, since ksmtp_mail_queue() runs in hard IRQ context too
 * @mails: all waiting mails (what a flush or unload drops at once)
 * @ids: the same mails by id
 * @ids_last: the one with the highest id, where a new mail goes
 * @due: the same mails by the time of their next attempt (then id), the
 *	earliest cached: the worker finds what is due without a walk
 * @due_last: the one due last, where a new mail usually goes
 * @fresh: the waiting mails whose "queued" event has not gone out, oldest
 *	first
 * @retry_after: with @retry_upto, "retry now" in progress: the mails with
 *	an id above @retry_after and up to @retry_upto are due (the worker
 *	takes them in id order, moving @retry_after on)
 * @retry_upto: the highest id given when "retry now" was last asked, 0 for
 *	none
 * @same: the same mails by hash, to find one to coalesce with
 * @merged: completions owed to mails merged into others
 * @count: mails accepted and not yet ended (in flight included)
 * @bytes: their octets
 * @next_id: the next id
 * @dying: no more mails: module unload or namespace exit
 * @kicked: @work is scheduled, for @kick_at
 * @kick_at: jiffies it is scheduled for
 * @limits: limits on @count and @bytes, retry rules
 * @client: the client it delivers through (a reference), or NULL
 * @work: delivery
 * @mutex: held to take mails off @mails (worker, flush, cancel, unload),
 *	so that whoever holds it may read the waiting mails
 * @sessions: the session being used, for the unload path to abort
 * @net: the namespace
 * @stats: where attempts are counted (the namespace's)
 * @queued: mails accepted
 * @retried: retries scheduled
 * @expired: mails that expired
 * @dropped: mails dropped (flush, cancel, unload)
 * @coalesced: mails merged into others
 * @refused: mails refused (queue full, going away)
 */
struct ksmtp_queue {
	spinlock_t lock; /* irqsave; see above */
	struct list_head mails;
	struct rb_root ids;
	struct rb_node *ids_last;
	struct rb_root_cached due;
	struct rb_node *due_last;
	struct list_head fresh;
	u64 retry_after;
	u64 retry_upto;
	DECLARE_HASHTABLE(same, 10);
	struct list_head merged;
	unsigned int count;
	size_t bytes;
	u64 next_id;
	bool dying;
	bool kicked;
	unsigned long kick_at;
	struct ksmtp_queue_limits limits;
	struct ksmtp_client *client;
	struct delayed_work work;
	struct mutex mutex; /* taking mails off @mails; see above */
	struct ksmtp_sessions sessions;
	struct net *net;
	struct ksmtp_stats *stats;
	atomic64_t queued;
	atomic64_t retried;
	atomic64_t expired;
	atomic64_t dropped;
	atomic64_t coalesced;
	atomic64_t refused;
};

int ksmtp_queue_wq_init(void);
void ksmtp_queue_wq_exit(void);
void ksmtp_queue_init(struct ksmtp_queue *q, struct net *net,
		      struct ksmtp_stats *stats);
void ksmtp_queue_shutdown(struct ksmtp_queue *q);
int ksmtp_queue_add(struct ksmtp_queue *q, const struct ksmtp_queue_args *args,
		    u64 *id);
int ksmtp_queue_add_gfp(struct ksmtp_queue *q, const struct ksmtp_queue_args *args,
			u64 *id, gfp_t gfp);
bool ksmtp_queue_cancel(struct ksmtp_queue *q, u64 id);
void ksmtp_queue_flush(struct ksmtp_queue *q);
void ksmtp_queue_retry_now(struct ksmtp_queue *q);
unsigned int ksmtp_queue_backoff_ms(const struct ksmtp_queue *q, unsigned int attempts);
struct ksmtp_client *ksmtp_queue_set_client(struct ksmtp_queue *q,
					    struct ksmtp_client *client);
void ksmtp_queue_get_limits(struct ksmtp_queue *q, struct ksmtp_queue_limits *l);
void ksmtp_queue_set_limits(struct ksmtp_queue *q, const struct ksmtp_queue_limits *l);
void ksmtp_queue_get_stats(struct ksmtp_queue *q, struct ksmtp_queue_stats *st);

/**
 * typedef ksmtp_queue_visit_fn - look at one waiting mail
 * @arg: the caller's
 * @m: the mail, as may be told of it
 *
 * Called with the queue's spinlock held and interrupts off: it must not
 * sleep or take another lock.
 *
 * Return: 0 to go on, non-zero to stop before this mail (it is not
 * counted as visited).
 */
typedef int (*ksmtp_queue_visit_fn)(void *arg, const struct ksmtp_qinfo *m);
u64 ksmtp_queue_walk(struct ksmtp_queue *q, u64 after,
		     ksmtp_queue_visit_fn fn, void *arg);

#endif /* _KSMTP_QUEUE_H */
