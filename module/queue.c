// SPDX-License-Identifier: GPL-2.0
/*
 * The queue: drivers hand mails over from any context (hard IRQ, timers,
 * under spinlocks) and a workqueue delivers them through the namespace's
 * configured client, several per session, retrying transient failures with
 * exponential backoff and jitter. Every accepted mail ends exactly once
 * (sent, failed, expired, dropped or coalesced), with its callback, an
 * event and a counter.
 *
 * Locking: q->lock (irqsave) guards the list and the counters and is the
 * only lock ksmtp_mail_queue() takes. Mails leave the list only under
 * q->mutex (worker, flush, cancel, unload), so its holder may read the
 * waiting mails' immutable fields outside q->lock. A mail being delivered
 * is off the list and belongs to the worker alone.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/siphash.h>
#include <linux/random.h>
#include <linux/jiffies.h>
#include <linux/hardirq.h>
#include <net/net_namespace.h>

#include "client.h"
#include "session.h"
#include "encode.h"
#include "events.h"
#include "queue.h"
#include "trace.h"

#define KSMTP_BATCH	32
/* Mails due this close together go in one session. */
#define KSMTP_SLACK	(HZ / 10)
#define KSMTP_BACKOFF_MAX_MS	(3600 * 1000)

static struct workqueue_struct *ksmtp_wq;
/* The key of the coalescing hash: nobody outside can make two mails
 * collide, so a mail's body is known the same by its hash alone.
 */
static siphash_key_t same_key __read_mostly;

/* A completion owed to a mail merged into another one, with the result
 * its callback gets (allocated with it: nothing to allocate at the end).
 */
struct ksmtp_merged {
	struct list_head node;
	u64 id;
	u64 into;
	ksmtp_done_fn done;
	void *data;
	struct ksmtp_result res;
};

static bool due_before(const struct ksmtp_qmail *a, const struct ksmtp_qmail *b)
{
	return time_before(a->next_try, b->next_try) ||
	       (a->next_try == b->next_try && a->id < b->id);
}

/* Into the tree by due time. A new mail is due last (the same window
 * after a later time): it goes right of the last one, without a walk
 * down the tree; a retried one walks.
 */
static void due_add(struct ksmtp_queue *q, struct ksmtp_qmail *m)
{
	struct rb_node **link = &q->due.rb_root.rb_node, *parent = NULL;
	bool leftmost = true, rightmost = true;

	lockdep_assert_held(&q->lock);
	if (q->due_last &&
	    !due_before(m, rb_entry(q->due_last, struct ksmtp_qmail, due))) {
		parent = q->due_last;
		link = &parent->rb_right;
		leftmost = false;
	}
	while (*link) {
		parent = *link;
		if (due_before(m, rb_entry(parent, struct ksmtp_qmail, due))) {
			link = &parent->rb_left;
			rightmost = false;
		} else {
			link = &parent->rb_right;
			leftmost = false;
		}
	}
	rb_link_node(&m->due, parent, link);
	rb_insert_color_cached(&m->due, &q->due, leftmost);
	if (rightmost)
		q->due_last = &m->due;
}

/* A mail joins the waiting list, the index by id (QUEUE_GET, cancel,
 * "retry now"), the one by due time (the worker), the coalescing hash,
 * and the mails to announce if it has not been. Each is a tree or list
 * update, O(log n) at most: interrupts may be off.
 */
static void q_add(struct ksmtp_queue *q, struct ksmtp_qmail *m)
{
	struct rb_node **link = &q->ids.rb_node, *parent = NULL;
	bool last = !q->ids_last ||
		    m->id > rb_entry(q->ids_last, struct ksmtp_qmail, rb)->id;

	lockdep_assert_held(&q->lock);
	/* A new mail has the highest id: it goes right of the last one,
	 * without a walk down the tree (a retried one walks).
	 */
	if (last && q->ids_last) {
		parent = q->ids_last;
		link = &parent->rb_right;
	}
	while (*link) {
		parent = *link;
		if (m->id < rb_entry(parent, struct ksmtp_qmail, rb)->id)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&m->rb, parent, link);
	rb_insert_color(&m->rb, &q->ids);
	if (last)
		q->ids_last = &m->rb;
	due_add(q, m);
	hash_add(q->same, &m->hnode, m->hash);
	list_add_tail(&m->node, &q->mails);
	if (!m->announced)
		list_add_tail(&m->fresh, &q->fresh);
}

/* ... and leaves both, to @to (or alone). */
static void q_del(struct ksmtp_queue *q, struct ksmtp_qmail *m,
		  struct list_head *to)
{
	lockdep_assert_held(&q->lock);
	if (q->ids_last == &m->rb)
		q->ids_last = rb_prev(&m->rb);
	rb_erase(&m->rb, &q->ids);
	if (q->due_last == &m->due)
		q->due_last = rb_prev(&m->due);
	rb_erase_cached(&m->due, &q->due);
	hash_del(&m->hnode);
	if (!m->announced)
		list_del_init(&m->fresh);
	if (to)
		list_move_tail(&m->node, to);
	else
		list_del_init(&m->node);
}

/* The indexes of the waiting mails, empty (the list aside). */
static void q_reset(struct ksmtp_queue *q)
{
	q->ids = RB_ROOT;
	q->ids_last = NULL;
	q->due = RB_ROOT_CACHED;
	q->due_last = NULL;
	INIT_LIST_HEAD(&q->fresh);
	q->retry_upto = 0;
	hash_init(q->same);
}

/* Every waiting mail leaves, to @to. */
static void q_del_all(struct ksmtp_queue *q, struct list_head *to)
{
	lockdep_assert_held(&q->lock);
	q_reset(q);
	list_splice_tail_init(&q->mails, to);
}

/* The waiting mail with the lowest id above @after, or NULL. */
static struct ksmtp_qmail *q_first_after(struct ksmtp_queue *q, u64 after)
{
	struct rb_node *n = q->ids.rb_node;
	struct ksmtp_qmail *m, *first = NULL;

	lockdep_assert_held(&q->lock);
	while (n) {
		m = rb_entry(n, struct ksmtp_qmail, rb);
		if (m->id > after) {
			first = m;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return first;
}

/* Made due by a "retry now" still in progress, whatever its time? */
static bool q_retry_due(const struct ksmtp_queue *q, const struct ksmtp_qmail *m)
{
	return m->id > q->retry_after && m->id <= q->retry_upto;
}

/* The next mail due at @now, or NULL: those a "retry now" made due first,
 * in id order, then the earliest by due time if it is (within
 * KSMTP_SLACK). O(log n).
 */
static struct ksmtp_qmail *q_next_due(struct ksmtp_queue *q, unsigned long now)
{
	struct ksmtp_qmail *m;
	struct rb_node *n;

	lockdep_assert_held(&q->lock);
	if (q->retry_upto) {
		m = q_first_after(q, q->retry_after);
		if (m && q_retry_due(q, m)) {
			q->retry_after = m->id;
			return m;
		}
		q->retry_upto = 0;
	}
	n = rb_first_cached(&q->due);
	if (!n)
		return NULL;
	m = rb_entry(n, struct ksmtp_qmail, due);
	return time_after_eq(now + KSMTP_SLACK, m->next_try) ? m : NULL;
}

static void kick(struct ksmtp_queue *q, unsigned long when)
{
	lockdep_assert_held(&q->lock);
	if (q->dying || (q->kicked && !time_before(when, q->kick_at)))
		return;
	q->kicked = true;
	q->kick_at = when;
	mod_delayed_work(ksmtp_wq, &q->work,
			 time_after(when, jiffies) ? when - jiffies : 0);
}

/* The keyed hash of what makes two mails the same mail, computed before
 * the lock: recipients, subject, priority, and the caller's key or, when
 * there is none, the body.
 */
static u64 mail_hash(const struct ksmtp_queue_args *a)
{
	const char *rcpt = a->kq_rcpt ?: "";
	u64 what;

	what = a->kq_key ?: siphash(a->kq_body ?: "", a->kq_body_len, &same_key);
	return siphash_4u64(siphash(a->kq_subject, strlen(a->kq_subject), &same_key),
			    siphash(rcpt, strlen(rcpt), &same_key), what,
			    ((u64)a->kq_priority << 1) | (a->kq_key ? 1 : 0), &same_key);
}

/* Would @a be the same mail as the waiting @m? Same recipients, subject
 * and priority; and the same body (by its keyed hash, never compared with
 * interrupts off), unless the caller gave a key: then the same key ("this
 * report again"), with a body that may differ.
 */
static bool same_mail(const struct ksmtp_qmail *m,
		      const struct ksmtp_queue_args *a, u64 hash)
{
	if (m->hash != hash || m->key != a->kq_key || m->attempts ||
	    m->priority != a->kq_priority || strcmp(m->subject, a->kq_subject))
		return false;
	if (!m->rcpt != !a->kq_rcpt || (m->rcpt && strcmp(m->rcpt, a->kq_rcpt)))
		return false;
	return a->kq_key || m->body_len == a->kq_body_len;
}

static struct ksmtp_qmail *find_same(struct ksmtp_queue *q,
				     const struct ksmtp_queue_args *a, u64 hash)
{
	struct ksmtp_qmail *m;

	lockdep_assert_held(&q->lock);
	hash_for_each_possible(q->same, m, hnode, hash)
		if (same_mail(m, a, hash))
			return m;
	return NULL;
}

/* A merge into @into: its count grows, the new mail's completion is owed
 * (@mg, allocated by the caller, when there is a callback).
 */
static void merge(struct ksmtp_queue *q, struct ksmtp_qmail *into,
		  const struct ksmtp_queue_args *a, struct ksmtp_merged *mg,
		  u64 *id)
{
	into->repeats++;
	*id = q->next_id++;
	if (mg) {
		memset(&mg->res, 0, sizeof(mg->res));
		mg->done = a->kq_done;
		mg->data = a->kq_data;
		mg->into = into->id;
		mg->id = *id;
		list_add_tail(&mg->node, &q->merged);
		kick(q, jiffies);
	}
	atomic64_inc(&q->queued);
	atomic64_inc(&q->coalesced);
}

/**
 * ksmtp_queue_add() - queue a mail; never sleeps
 * @q: the queue
 * @args: the mail; everything is copied (@args->kq_net is not read)
 * @id: set to the mail's id, may be NULL
 *
 * See ksmtp_mail_queue(), the exported way in (netns.c).
 *
 * Context: any: hard or soft interrupt, timer, spinlock held. Allocates
 * with GFP_ATOMIC.
 * Return: as ksmtp_mail_queue().
 */
int ksmtp_queue_add(struct ksmtp_queue *q, const struct ksmtp_queue_args *args,
		    u64 *id)
{
	return ksmtp_queue_add_gfp(q, args, id, GFP_ATOMIC);
}

/**
 * ksmtp_queue_add_gfp() - queue a mail, allocating with @gfp
 * @q: the queue
 * @args: the mail, as ksmtp_queue_add()
 * @id: as ksmtp_queue_add()
 * @gfp: GFP_ATOMIC, or GFP_KERNEL from process context (a large body:
 *	the kernel-log reporter's up to 33 KiB, an order-4 allocation, which
 *	may then reclaim rather than fail)
 *
 * Context: as @gfp allows; the queue's lock is never held while it
 * allocates.
 * Return: as ksmtp_mail_queue().
 */
int ksmtp_queue_add_gfp(struct ksmtp_queue *q, const struct ksmtp_queue_args *args,
			u64 *id, gfp_t gfp)
{
	struct ksmtp_mail mail = {
		.km_rcpt = args->kq_rcpt,
		.km_priority = args->kq_priority,
		.km_subject = args->kq_subject,
		.km_body = args->kq_body,
		.km_body_len = args->kq_body_len,
	};
	enum ksmtp_mail_field field;
	struct ksmtp_merged *mg = NULL;
	struct ksmtp_qmail *m = NULL, *it;
	size_t rlen, slen, size;
	unsigned long flags;
	u64 hash, dummy;
	int err;

	id = id ?: &dummy;
	if (ksmtp_mail_check(&mail, false, &field, NULL))
		return -EINVAL;
	if (args->kq_body_len > KSMTP_BODY_MAX)
		return -EMSGSIZE;
	rlen = args->kq_rcpt ? strlen(args->kq_rcpt) + 1 : 0;
	slen = strlen(args->kq_subject) + 1;
	size = sizeof(*m) + rlen + slen + args->kq_body_len;
	hash = mail_hash(args);
	/* A merge owes a completion: its small record comes first. */
	if (args->kq_done) {
		mg = kmalloc(sizeof(*mg), gfp | __GFP_NOWARN);
		if (!mg)
			goto nomem;
	}

	/* The same mail waiting? Then nothing more to copy (a storm of
	 * reports costs no allocation of their bodies).
	 */
	spin_lock_irqsave(&q->lock, flags);
	for (;;) {
		err = -ESHUTDOWN;
		if (q->dying)
			goto refuse;
		it = find_same(q, args, hash);
		if (it) {
			merge(q, it, args, mg, id);
			spin_unlock_irqrestore(&q->lock, flags);
			kfree(m);
			return 0;
		}
		if (m)
			break;
		/* Copied with the lock dropped; then looked for again. No
		 * allocation failure warning: it would be a line of the
		 * kernel log at KERN_WARNING, for the kernel-log reporter,
		 * whose mails come this way, to mail.
		 */
		spin_unlock_irqrestore(&q->lock, flags);
		m = kmalloc(size, gfp | __GFP_NOWARN);
		if (!m)
			goto nomem;
		memset(m, 0, sizeof(*m));
		m->subject = (char *)(m + 1);
		memcpy(m->subject, args->kq_subject, slen);
		if (rlen) {
			m->rcpt = m->subject + slen;
			memcpy(m->rcpt, args->kq_rcpt, rlen);
		}
		m->body = m->subject + slen + rlen;
		if (args->kq_body_len)
			memcpy(m->body, args->kq_body, args->kq_body_len);
		m->body_len = args->kq_body_len;
		m->size = size;
		m->hash = hash;
		m->key = args->kq_key;
		m->priority = args->kq_priority;
		m->done = args->kq_done;
		m->data = args->kq_data;
		spin_lock_irqsave(&q->lock, flags);
	}
	err = -ENOSPC;
	if (q->count >= q->limits.max_count || q->bytes + size > q->limits.max_bytes)
		goto refuse;
	m->id = q->next_id++;
	m->queued_at = jiffies;
	m->next_try = m->queued_at + msecs_to_jiffies(q->limits.coalesce_ms);
	q_add(q, m);
	q->count++;
	q->bytes += size;
	*id = m->id;
	atomic64_inc(&q->queued);
	/* Announce at once; deliver once the coalescing window is over. */
	kick(q, jiffies);
	spin_unlock_irqrestore(&q->lock, flags);
	kfree(mg);
	return 0;

refuse:
	atomic64_inc(&q->refused);
	spin_unlock_irqrestore(&q->lock, flags);
	kfree(mg);
	kfree(m);
	return err;
nomem:
	atomic64_inc(&q->refused);
	kfree(mg);
	return -ENOMEM;
}

/* What may be told of @m (the caller keeps it alive and unchanged). */
static void qinfo(const struct ksmtp_qmail *m, unsigned int next_ms,
		  const struct ksmtp_result *last, struct ksmtp_qinfo *i)
{
	*i = (struct ksmtp_qinfo){
		.id = m->id,
		.rcpt = m->rcpt,
		.subject = m->subject,
		.priority = m->priority,
		.attempts = m->attempts,
		.repeats = m->repeats,
		.age_ms = jiffies_to_msecs(jiffies - m->queued_at),
		.next_ms = next_ms,
		.last = last,
	};
}

static void event(struct ksmtp_queue *q, enum ksmtp_event_type type,
		  const struct ksmtp_qmail *m, enum ksmtp_end end,
		  const struct ksmtp_result *res, unsigned int next_ms)
{
	struct ksmtp_qinfo i;

	trace_ksmtp_queue_event(m->id, type, end, m->attempts, res ? res->kr_err : 0);
	qinfo(m, next_ms, res, &i);
	ksmtp_event_mail(q->net, type, end, &i);
}

/* The end of a mail that is off the list: event, callback, counters. */
static void end_mail(struct ksmtp_queue *q, struct ksmtp_qmail *m,
		     enum ksmtp_end end, const struct ksmtp_result *res)
{
	unsigned long flags;

	event(q, KSMTP_EV_END, m, end, res, 0);
	if (end != KSMTP_END_SENT)
		ksmtp_log_failure("queued mail", m->id, res);
	if (m->done)
		m->done(m->data, m->id, end, res);
	if (end == KSMTP_END_EXPIRED)
		atomic64_inc(&q->expired);
	else if (end == KSMTP_END_DROPPED)
		atomic64_inc(&q->dropped);
	spin_lock_irqsave(&q->lock, flags);
	q->count--;
	q->bytes -= m->size;
	spin_unlock_irqrestore(&q->lock, flags);
	kfree(m);
}

static void end_why(struct ksmtp_queue *q, struct ksmtp_qmail *m,
		    enum ksmtp_end end, const char *why)
{
	strscpy(m->last.kr_reason, why, sizeof(m->last.kr_reason));
	if (!m->last.kr_err)
		m->last.kr_err = -ECANCELED;
	end_mail(q, m, end, &m->last);
}

static void complete_merged(struct ksmtp_queue *q, struct list_head *list)
{
	struct ksmtp_merged *mg, *tmp;

	list_for_each_entry_safe(mg, tmp, list, node) {
		mg->res.kr_err = -ECANCELED;
		snprintf(mg->res.kr_reason, sizeof(mg->res.kr_reason),
			 "merged into mail %llu", mg->into);
		mg->done(mg->data, mg->id, KSMTP_END_COALESCED, &mg->res);
		kfree(mg);
	}
}

/**
 * ksmtp_queue_backoff_ms() - the delay before the next attempt
 * @q: the queue (its retry_base_ms)
 * @attempts: attempts made so far, at least 1
 *
 * retry_base_ms doubled for each attempt after the first, at most an hour,
 * plus up to a quarter more of random jitter, so that the senders that a
 * server outage stopped do not all come back at once.
 *
 * Context: any.
 * Return: milliseconds.
 */
unsigned int ksmtp_queue_backoff_ms(const struct ksmtp_queue *q, unsigned int attempts)
{
	u64 ms = (u64)q->limits.retry_base_ms << min(attempts - 1, 20U);

	ms = min_t(u64, ms, KSMTP_BACKOFF_MAX_MS);
	return ms + get_random_u32_below(ms / 4 + 1);
}

/* After an attempt: end the mail, or put it back for a retry. */
static void settle(struct ksmtp_queue *q, struct ksmtp_qmail *m,
		   const struct ksmtp_result *res)
{
	unsigned long flags, age;
	unsigned int next;
	bool expired;

	m->last = *res;
	if (!res->kr_err) {
		end_mail(q, m, KSMTP_END_SENT, res);
		return;
	}
	if (!res->kr_transient) {
		end_mail(q, m, KSMTP_END_FAILED, res);
		return;
	}
	age = jiffies - m->queued_at;
	next = ksmtp_queue_backoff_ms(q, m->attempts);
	spin_lock_irqsave(&q->lock, flags);
	expired = m->attempts >= q->limits.retry_max ||
		  age + msecs_to_jiffies(next) > (unsigned long)q->limits.retry_age_s * HZ;
	spin_unlock_irqrestore(&q->lock, flags);
	if (expired) {
		end_mail(q, m, KSMTP_END_EXPIRED, res);
		return;
	}
	/* The event first: once back on the list, flush may free the mail. */
	m->next_try = jiffies + msecs_to_jiffies(next);
	event(q, KSMTP_EV_RETRY, m, 0, res, next);
	spin_lock_irqsave(&q->lock, flags);
	if (q->dying) {
		spin_unlock_irqrestore(&q->lock, flags);
		end_mail(q, m, KSMTP_END_DROPPED, res);
		return;
	}
	q_add(q, m);
	kick(q, m->next_try);
	spin_unlock_irqrestore(&q->lock, flags);
	atomic64_inc(&q->retried);
}

/* The body as sent: with the count of the identical mails merged into it. */
static char *body_with_repeats(const struct ksmtp_qmail *m, size_t *len)
{
	char *b;
	int n;

	*len = m->body_len;
	if (!m->repeats)
		return m->body;
	b = kvmalloc(m->body_len + 64, GFP_KERNEL);
	if (!b)
		return NULL;
	memcpy(b, m->body, m->body_len);
	n = snprintf(b + m->body_len, 64, "%s[repeated %u times]\n",
		     m->body_len && m->body[m->body_len - 1] != '\n' ? "\n" : "",
		     m->repeats);
	*len = m->body_len + n;
	return b;
}

static struct ksmtp_client *queue_client(struct ksmtp_queue *q)
{
	struct ksmtp_client *client;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	client = q->client ? ksmtp_client_get(q->client) : NULL;
	spin_unlock_irqrestore(&q->lock, flags);
	return client;
}

static void deliver(struct ksmtp_queue *q, struct list_head *batch,
		    struct ksmtp_result *res)
{
	struct ksmtp_client *client = queue_client(q);
	struct ksmtp_conn *conn = NULL;
	struct ksmtp_qmail *m, *tmp;
	const char *rcpt = NULL;
	struct ksmtp_mail mail;
	bool down = false;
	char *body;

	if (!client) {
		memset(res, 0, sizeof(*res));
		res->kr_err = -ENOTCONN;
		res->kr_transient = true;
		strscpy(res->kr_reason, "not configured: no server or from address",
			sizeof(res->kr_reason));
	} else if (client->cfg.kc_rcpt[0]) {
		rcpt = client->cfg.kc_rcpt;
	}
	list_for_each_entry_safe(m, tmp, batch, node) {
		list_del_init(&m->node);
		if (READ_ONCE(q->dying)) {
			end_why(q, m, KSMTP_END_DROPPED,
				"dropped: the module or namespace goes away");
			continue;
		}
		m->attempts++;
		if (!client || down) {
			/* Not configured, or the server could not be reached
			 * just now: the rest of the batch fails the same way,
			 * without a connection (and a timeout) each.
			 */
			if (down)
				ksmtp_stats_account(q->stats, res);
			settle(q, m, res);
			continue;
		}
		mail = (struct ksmtp_mail){
			.km_rcpt = m->rcpt ?: rcpt,
			.km_priority = m->priority,
			.km_subject = m->subject,
		};
		if (!mail.km_rcpt) {
			memset(res, 0, sizeof(*res));
			res->kr_err = -EDESTADDRREQ;
			strscpy(res->kr_reason, "no recipient and no default recipient configured",
				sizeof(res->kr_reason));
			settle(q, m, res);
			continue;
		}
		/* A session whose reset failed gives way to a new one. */
		if (conn && !ksmtp_conn_ready(conn)) {
			ksmtp_conn_close(conn);
			conn = NULL;
		}
		if (!conn) {
			conn = ksmtp_conn_alloc(client, &q->sessions, res);
			if (!IS_ERR(conn) && ksmtp_conn_start(conn, res)) {
				ksmtp_conn_close(conn);
				conn = ERR_PTR(-ENOTCONN);
			}
			if (IS_ERR(conn)) {
				/* The session failed: so does this attempt. */
				conn = NULL;
				down = true;
				ksmtp_stats_account(q->stats, res);
				settle(q, m, res);
				continue;
			}
		}
		body = body_with_repeats(m, &mail.km_body_len);
		if (!body) {
			memset(res, 0, sizeof(*res));
			res->kr_err = -ENOMEM;
			res->kr_transient = true;
			strscpy(res->kr_reason, "out of memory", sizeof(res->kr_reason));
		} else {
			mail.km_body = body;
			ksmtp_conn_mail(conn, &mail, res);
			if (body != m->body)
				kvfree(body);
		}
		ksmtp_stats_account(q->stats, res);
		settle(q, m, res);
		if (!ksmtp_conn_usable(conn)) {
			ksmtp_conn_close(conn);
			conn = NULL;
		}
	}
	ksmtp_conn_close(conn);
	ksmtp_client_put(client);
}

static void ksmtp_queue_work(struct work_struct *work)
{
	struct ksmtp_queue *q = container_of(to_delayed_work(work),
					     struct ksmtp_queue, work);
	struct ksmtp_qmail *announce[16], *m, *tmp;
	struct ksmtp_result *res;
	unsigned long flags, now;
	struct rb_node *first;
	bool more;
	LIST_HEAD(merged);
	LIST_HEAD(batch);
	int i, n, taken = 0;

	mutex_lock(&q->mutex);
	do {
		n = 0;
		spin_lock_irqsave(&q->lock, flags);
		while (n < ARRAY_SIZE(announce) && !list_empty(&q->fresh)) {
			m = list_first_entry(&q->fresh, struct ksmtp_qmail, fresh);
			list_del_init(&m->fresh);
			m->announced = true;
			announce[n++] = m;
		}
		more = !list_empty(&q->fresh);
		spin_unlock_irqrestore(&q->lock, flags);
		/* q->mutex keeps them alive; their fields are immutable. */
		for (i = 0; i < n; i++)
			event(q, KSMTP_EV_QUEUED, announce[i], 0, NULL, 0);
	} while (more);

	spin_lock_irqsave(&q->lock, flags);
	q->kicked = false;
	list_splice_init(&q->merged, &merged);
	now = jiffies;
	while (taken < KSMTP_BATCH && (m = q_next_due(q, now))) {
		q_del(q, m, &batch);
		taken++;
	}
	first = rb_first_cached(&q->due);
	if (q->retry_upto)
		kick(q, now);
	else if (first)
		kick(q, rb_entry(first, struct ksmtp_qmail, due)->next_try);
	spin_unlock_irqrestore(&q->lock, flags);
	/* Queued since the announcements above and due at once (a window
	 * under KSMTP_SLACK): announced before anything else is said of
	 * them. Off the list, they are the worker's alone.
	 */
	list_for_each_entry(m, &batch, node) {
		if (!m->announced) {
			m->announced = true;
			event(q, KSMTP_EV_QUEUED, m, 0, NULL, 0);
		}
	}
	mutex_unlock(&q->mutex);

	complete_merged(q, &merged);
	if (list_empty(&batch))
		return;
	res = kmalloc(sizeof(*res), GFP_KERNEL);
	if (!res) {
		/* Put them back, due (some were due by "retry now" only),
		 * and try again later.
		 */
		spin_lock_irqsave(&q->lock, flags);
		list_for_each_entry_safe(m, tmp, &batch, node) {
			list_del(&m->node);
			m->next_try = jiffies;
			q_add(q, m);
		}
		kick(q, jiffies + HZ);
		spin_unlock_irqrestore(&q->lock, flags);
		return;
	}
	deliver(q, &batch, res);
	kfree(res);
}

/**
 * ksmtp_queue_cancel() - drop a queued mail that is not being delivered
 * @q: the queue
 * @id: its id
 *
 * See ksmtp_mail_cancel(), the exported way in (netns.c).
 *
 * Context: process context; sleeps (the callback may).
 * Return: true when it was cancelled, false when it was not queued.
 */
bool ksmtp_queue_cancel(struct ksmtp_queue *q, u64 id)
{
	struct ksmtp_qmail *found;
	unsigned long flags;

	might_sleep();
	mutex_lock(&q->mutex);
	spin_lock_irqsave(&q->lock, flags);
	found = id ? q_first_after(q, id - 1) : NULL;
	if (found && found->id == id)
		q_del(q, found, NULL);
	else
		found = NULL;
	spin_unlock_irqrestore(&q->lock, flags);
	mutex_unlock(&q->mutex);
	if (found)
		end_why(q, found, KSMTP_END_DROPPED, "dropped: cancelled");
	return found;
}

static void drop_all(struct ksmtp_queue *q, const char *why)
{
	struct ksmtp_qmail *m, *tmp;
	unsigned long flags;
	LIST_HEAD(merged);
	LIST_HEAD(list);

	mutex_lock(&q->mutex);
	spin_lock_irqsave(&q->lock, flags);
	q_del_all(q, &list);
	list_splice_init(&q->merged, &merged);
	spin_unlock_irqrestore(&q->lock, flags);
	mutex_unlock(&q->mutex);
	complete_merged(q, &merged);
	list_for_each_entry_safe(m, tmp, &list, node) {
		list_del_init(&m->node);
		end_why(q, m, KSMTP_END_DROPPED, why);
	}
}

/**
 * ksmtp_queue_flush() - drop every waiting mail (each reported as dropped)
 * @q: the queue
 *
 * Context: process context; sleeps.
 */
void ksmtp_queue_flush(struct ksmtp_queue *q)
{
	drop_all(q, "dropped: the queue was flushed");
}

/**
 * ksmtp_queue_walk() - visit the waiting mails in id order
 * @q: the queue
 * @after: start with the first mail whose id is greater
 * @fn: called for each, see ksmtp_queue_visit_fn
 * @arg: for @fn
 *
 * In id order whatever the order of delivery, so that a walk resumed
 * after the last id it visited (a netlink dump in several parts) skips
 * and repeats no mail that waited all along.
 *
 * Context: any; takes the queue's spinlock with interrupts off.
 * Return: the id of the last mail visited, or @after if none.
 */
u64 ksmtp_queue_walk(struct ksmtp_queue *q, u64 after,
		     ksmtp_queue_visit_fn fn, void *arg)
{
	struct ksmtp_qmail *m;
	unsigned long flags, now;
	struct rb_node *n;
	bool due;

	spin_lock_irqsave(&q->lock, flags);
	now = jiffies;
	m = q_first_after(q, after);
	for (n = m ? &m->rb : NULL; n; n = rb_next(n)) {
		struct ksmtp_qinfo i;

		m = rb_entry(n, struct ksmtp_qmail, rb);
		due = !time_after(m->next_try, now) || q_retry_due(q, m);
		qinfo(m, due ? 0 : jiffies_to_msecs(m->next_try - now),
		      m->last.kr_err ? &m->last : NULL, &i);
		if (fn(arg, &i))
			break;
		after = m->id;
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return after;
}

/**
 * ksmtp_queue_retry_now() - make every waiting mail due now
 * @q: the queue
 *
 * Every id given so far becomes due, whatever its mail's time: the worker
 * takes the waiting mails in id order, a batch at a time, from where a
 * "retry now" still in progress has got to (the mails it passed were just
 * tried: a burst of calls does not try the lowest ids again and again).
 * A mail being delivered now that comes back for a retry before the
 * worker reaches its id is retried at once, as if it had waited. No walk
 * here: interrupts are off for O(1).
 *
 * Context: any.
 */
void ksmtp_queue_retry_now(struct ksmtp_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	if (q->next_id > 1) {
		if (!q->retry_upto)
			q->retry_after = 0;
		q->retry_upto = q->next_id - 1;
	}
	q->kicked = false;
	kick(q, jiffies);
	spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * ksmtp_queue_init() - set up a namespace's queue
 * @q: the queue
 * @net: its namespace
 * @stats: where its attempts are counted (alive as long as @q)
 *
 * Context: process context.
 */
void ksmtp_queue_init(struct ksmtp_queue *q, struct net *net,
		      struct ksmtp_stats *stats)
{
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->mails);
	INIT_LIST_HEAD(&q->merged);
	mutex_init(&q->mutex);
	ksmtp_sessions_init(&q->sessions);
	q_reset(q);
	INIT_DELAYED_WORK(&q->work, ksmtp_queue_work);
	q->net = net;
	q->stats = stats;
	q->next_id = 1;
	ksmtp_queue_default_limits(&q->limits);
}

/**
 * ksmtp_queue_shutdown() - refuse new mails, stop delivery, drop the rest
 * @q: the queue
 *
 * A session in progress is cut at once (its socket shut down), so that a
 * silent or trickling server cannot hold this up. Every mail still queued
 * ends as dropped, with its callback and event. Idempotent.
 *
 * Context: process context; sleeps.
 */
void ksmtp_queue_shutdown(struct ksmtp_queue *q)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	q->dying = true;
	spin_unlock_irqrestore(&q->lock, flags);
	ksmtp_sessions_abort_all(&q->sessions);
	cancel_delayed_work_sync(&q->work);
	drop_all(q, "dropped: the module or namespace goes away");
	ksmtp_client_put(ksmtp_queue_set_client(q, NULL));
}

/**
 * ksmtp_queue_set_client() - the client the queue delivers through
 * @q: the queue
 * @client: the client (the queue takes a reference of its own), or NULL;
 *	its kc_rcpt is the default recipient of mails queued without one
 *
 * Mails being delivered finish with the client they started with.
 *
 * Context: any.
 * Return: the previous client, whose reference passes to the caller.
 */
struct ksmtp_client *ksmtp_queue_set_client(struct ksmtp_queue *q,
					    struct ksmtp_client *client)
{
	struct ksmtp_client *old;
	unsigned long flags;

	if (client)
		ksmtp_client_get(client);
	spin_lock_irqsave(&q->lock, flags);
	old = q->client;
	q->client = client;
	spin_unlock_irqrestore(&q->lock, flags);
	return old;
}

/**
 * ksmtp_queue_get_limits() - the queue's limits and retry rules
 * @q: the queue
 * @l: filled
 *
 * Context: any.
 */
void ksmtp_queue_get_limits(struct ksmtp_queue *q, struct ksmtp_queue_limits *l)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	*l = q->limits;
	spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * ksmtp_queue_set_limits() - change them, for the mails to come and those
 *	waiting
 * @q: the queue
 * @l: the new values (checked by the caller)
 *
 * Context: any.
 */
void ksmtp_queue_set_limits(struct ksmtp_queue *q, const struct ksmtp_queue_limits *l)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	q->limits = *l;
	spin_unlock_irqrestore(&q->lock, flags);
}

/**
 * ksmtp_queue_get_stats() - the queue's counters
 * @q: the queue
 * @st: filled
 *
 * Context: any.
 */
void ksmtp_queue_get_stats(struct ksmtp_queue *q, struct ksmtp_queue_stats *st)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	st->len = q->count;
	st->bytes = q->bytes;
	spin_unlock_irqrestore(&q->lock, flags);
	st->queued = atomic64_read(&q->queued);
	st->retried = atomic64_read(&q->retried);
	st->expired = atomic64_read(&q->expired);
	st->dropped = atomic64_read(&q->dropped);
	st->coalesced = atomic64_read(&q->coalesced);
	st->refused = atomic64_read(&q->refused);
}

/**
 * ksmtp_queue_wq_init() - create the delivery workqueue
 *
 * Context: process context (module init).
 * Return: 0 or -ENOMEM.
 */
int __init ksmtp_queue_wq_init(void)
{
	get_random_bytes(&same_key, sizeof(same_key));
	ksmtp_wq = alloc_workqueue("ksmtp", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	return ksmtp_wq ? 0 : -ENOMEM;
}

/**
 * ksmtp_queue_wq_exit() - destroy it, after every queue was shut down
 *
 * Context: process context (module exit).
 */
void ksmtp_queue_wq_exit(void)
{
	destroy_workqueue(ksmtp_wq);
}
