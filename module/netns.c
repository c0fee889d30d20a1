// SPDX-License-Identifier: GPL-2.0
/*
 * Per network namespace state: the configuration and the default client
 * made of it, the counters, the queue, and the mails sent at once for
 * KSMTP_CMD_SEND. The exported queue API finds its namespace here.
 *
 * Locking: a mutex per namespace serialises configuration updates (short,
 * never across a session); a spinlock guards the pointer to the current
 * client, taken only to grab a reference. A send holds a client reference
 * and no lock, so a slow server blocks nothing but its own mail, and a new
 * configuration never disturbs the mails in flight: they finish with the
 * client they started with.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/workqueue.h>
#include <linux/wait_bit.h>
#include <net/net_namespace.h>

#include "netns.h"

unsigned int ksmtp_net_id __read_mostly;
/* Every namespace's state, so that unload reaches each one, including one
 * whose setup runs meanwhile (not yet on the kernel's list of namespaces);
 * and the module going: namespaces set up after that start closed.
 */
static DEFINE_MUTEX(nets_lock);
static LIST_HEAD(nets);
static bool ksmtp_going;
/* The workers of the mails sent at once: apart from the queue's, so that
 * a host's fault reports never wait behind an admin's sends.
 */
static struct workqueue_struct *sends_wq;

/**
 * ksmtp_net_client() - a reference on the namespace's default client
 * @kn: the namespace
 *
 * Context: any but hard IRQ.
 * Return: the client (ksmtp_client_put() it), or NULL if not configured.
 */
struct ksmtp_client *ksmtp_net_client(struct ksmtp_net *kn)
{
	struct ksmtp_client *client;

	spin_lock_bh(&kn->client_lock);
	client = kn->client ? ksmtp_client_get(kn->client) : NULL;
	spin_unlock_bh(&kn->client_lock);
	return client;
}

/**
 * ksmtp_net_set_client() - make @client the namespace's default client
 * @kn: the namespace
 * @client: the new client; its reference passes to @kn (may be NULL)
 *
 * The queue delivers through it from now on too. Sends in flight keep
 * the client they started with.
 *
 * Context: any but hard IRQ.
 * Return: the previous client, whose reference passes to the caller.
 */
struct ksmtp_client *ksmtp_net_set_client(struct ksmtp_net *kn,
					  struct ksmtp_client *client)
{
	struct ksmtp_client *old;

	spin_lock_bh(&kn->client_lock);
	old = kn->client;
	kn->client = client;
	spin_unlock_bh(&kn->client_lock);
	ksmtp_client_put(ksmtp_queue_set_client(&kn->queue, client));
	return old;
}

/**
 * ksmtp_net_configure() - change a namespace's configuration
 * @kn: the namespace
 * @replace: @change starts from the defaults (nothing set, the queue's
 *	default limits) rather than from the current configuration
 * @change: changes a copy of the configuration
 * @arg: for @change
 * @why: set to what is wrong, in words, when the result is refused
 * @attr: set to the KSMTP_A_CFG_* attribute at fault (0: none)
 *
 * The copy is checked whole (ksmtp_config_check()); when the server and
 * the from address are set, a client is made of it and becomes the
 * default one; when not (a configuration replaced, a server cleared),
 * there is no default client any more. Either all of the change takes
 * effect or none. A change that took effect is announced
 * (ksmtp_event_config()) once the mutex is released.
 *
 * Context: process context; sleeps (a mutex, GFP_KERNEL).
 * Return: 0, @change's error, -EINVAL (with @why), -ENOMEM.
 */
int ksmtp_net_configure(struct ksmtp_net *kn, bool replace, ksmtp_net_cfg_fn change,
			void *arg, const char **why, int *attr)
{
	struct ksmtp_client *client = NULL;
	struct ksmtp_net_cfg cfg;
	int err;

	*why = NULL;
	*attr = 0;
	mutex_lock(&kn->lock);
	if (replace) {
		cfg = (struct ksmtp_net_cfg){ .c.kc_net = kn->cfg.c.kc_net };
		ksmtp_queue_default_limits(&cfg.limits);
		ksmtp_klog_default_cfg(&cfg.klog);
	} else {
		cfg = kn->cfg;
		err = ksmtp_config_dup_strings(&cfg.c, &kn->cfg.c, false);
		if (err)
			goto unlock;
		ksmtp_queue_get_limits(&kn->queue, &cfg.limits);
	}
	err = change(arg, &cfg);
	if (err)
		goto refuse;
	*why = ksmtp_config_check(&cfg.c, false, attr);
	if (*why) {
		err = -EINVAL;
		goto refuse;
	}
	if (ksmtp_net_cfg_configured(&cfg)) {
		client = ksmtp_client_create(&cfg.c);
		if (IS_ERR(client)) {
			err = PTR_ERR(client);
			*why = "configuration refused";
			goto refuse;
		}
	}
	ksmtp_config_free_strings(&kn->cfg.c);
	kn->cfg = cfg;
	ksmtp_queue_set_limits(&kn->queue, &cfg.limits);
	ksmtp_client_put(ksmtp_net_set_client(kn, client));
	mutex_unlock(&kn->lock);
	/* Outside the mutex: a listener reads the configuration back. */
	ksmtp_event_config(kn->cfg.c.kc_net);
	return 0;

refuse:
	ksmtp_config_free_strings(&cfg.c);
unlock:
	mutex_unlock(&kn->lock);
	return err;
}

/**
 * ksmtp_net_config_read() - look at a namespace's configuration
 * @kn: the namespace
 * @read: called with it (it must not change it)
 * @arg: for @read
 *
 * Context: process context; sleeps (a mutex).
 * Return: what @read returns.
 */
int ksmtp_net_config_read(struct ksmtp_net *kn, ksmtp_net_cfg_fn read, void *arg)
{
	int err;

	mutex_lock(&kn->lock);
	ksmtp_queue_get_limits(&kn->queue, &kn->cfg.limits);
	err = read(arg, &kn->cfg);
	mutex_unlock(&kn->lock);
	return err;
}

/**
 * struct ksmtp_send - a mail sent at once, by a worker
 * @work: runs the session
 * @node: in ksmtp_net.sends_list from ksmtp_net_send_new() to its end
 * @cancel_node: on sends_close()'s list when cancelled before it ran
 * @kn: the namespace's state (its exit waits for every send)
 * @member: a send group member's: counted in ksmtp_net.nsends_member
 * @client: the client it goes through (a reference)
 * @id: the mail's id
 * @mail: the mail; its strings and body belong to this structure
 * @res: the outcome
 * @done: told the outcome
 * @arg: for @done
 */
struct ksmtp_send {
	struct work_struct work;
	struct list_head node;
	struct list_head cancel_node;
	struct ksmtp_net *kn;
	bool member;
	struct ksmtp_client *client;
	u64 id;
	struct ksmtp_mail mail;
	struct ksmtp_result res;
	ksmtp_send_done_fn done;
	void *arg;
};

static void send_free(struct ksmtp_send *s)
{
	ksmtp_client_put(s->client);
	kfree(s->mail.km_rcpt);
	kfree(s->mail.km_subject);
	kvfree(s->mail.km_body);
	kfree(s->mail.km_headers);
	kfree(s->mail.km_env_from);
	kfree(s->mail.km_from_name);
	kfree(s);
}

/* The end of a send: its outcome (unless dropped), then it leaves the
 * count that an exiting namespace or module waits on.
 */
static void send_end(struct ksmtp_send *s, bool tell)
{
	struct ksmtp_net *kn = s->kn;
	bool member = s->member;
	bool last;

	spin_lock(&kn->sends_lock);
	list_del(&s->node);
	spin_unlock(&kn->sends_lock);
	if (tell && s->res.kr_err)
		ksmtp_log_failure("sent mail", s->id, &s->res);
	if (tell)
		s->done(s->arg, s->id, &s->res);
	send_free(s);

	spin_lock(&kn->sends_lock);
	if (member)
		kn->nsends_member--;
	last = !--kn->nsends && kn->sends_closing;
	spin_unlock(&kn->sends_lock);
	/* sends_idle() reads under the lock: it sees the count and then
	 * sleeps, or this wakes it; it never sees 0 before the unlock. After
	 * the unlock @kn may be gone: wake_up_var() only hashes the address.
	 */
	if (last)
		wake_up_var(&kn->nsends);
}

static void send_cut(struct ksmtp_send *s)
{
	s->res.kr_err = -ESHUTDOWN;
	s->res.kr_transient = true;
	strscpy(s->res.kr_reason, "the namespace or module goes away",
		sizeof(s->res.kr_reason));
	send_end(s, true);
}

static void send_work(struct work_struct *work)
{
	struct ksmtp_send *s = container_of(work, struct ksmtp_send, work);

	ksmtp_session_run(s->client, &s->kn->sends, &s->mail, &s->res);
	ksmtp_stats_account(&s->kn->stats, &s->res);
	send_end(s, true);
}

/**
 * ksmtp_net_send_new() - a mail to send at once through the default client
 * @kn: the namespace
 * @mail: the mail, checked (ksmtp_mail_check()); its strings (kmalloc)
 *	and body (kvmalloc) pass to the send on success, and @mail is
 *	cleared; a NULL recipient means the configured default ones
 * @member: a send group member's (no CAP_NET_ADMIN): such sends are at
 *	most KSMTP_SENDS_MEMBER_MAX of the KSMTP_SENDS_MAX
 * @done: told the outcome, once, after ksmtp_net_send_go()
 * @arg: for @done
 *
 * The send counts against the namespace's limit from now on, and its exit
 * waits for it: follow with ksmtp_net_send_go() or ksmtp_net_send_drop().
 *
 * Context: process context; may sleep (GFP_KERNEL).
 * Return: the send, or ERR_PTR(): -EDESTADDRREQ no recipient given and
 * none configured, -ENOTCONN not configured, -ESHUTDOWN the namespace or
 * the module goes away, -EBUSY KSMTP_SENDS_MAX in flight (or, for a
 * member, KSMTP_SENDS_MEMBER_MAX of members'), -ENOMEM.
 */
struct ksmtp_send *ksmtp_net_send_new(struct ksmtp_net *kn, struct ksmtp_mail *mail,
				      bool member, ksmtp_send_done_fn done, void *arg)
{
	struct ksmtp_send *s;
	int err = 0;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	/* The client and the configuration change together, under the
	 * mutex: one look at both.
	 */
	mutex_lock(&kn->lock);
	s->client = ksmtp_net_client(kn);
	if (!mail->km_rcpt && (!kn->cfg.c.kc_rcpt || !kn->cfg.c.kc_rcpt[0]))
		err = -EDESTADDRREQ;
	mutex_unlock(&kn->lock);
	if (!err && !s->client)
		err = -ENOTCONN;
	if (err) {
		ksmtp_client_put(s->client);
		kfree(s);
		return ERR_PTR(err);
	}
	INIT_WORK(&s->work, send_work);
	s->kn = kn;
	s->member = member;
	s->done = done;
	s->arg = arg;
	s->id = atomic64_inc_return(&kn->send_ids);

	spin_lock(&kn->sends_lock);
	if (kn->sends_closing) {
		err = -ESHUTDOWN;
	} else if (kn->nsends >= KSMTP_SENDS_MAX ||
		   (member && kn->nsends_member >= KSMTP_SENDS_MEMBER_MAX)) {
		err = -EBUSY;
	} else {
		kn->nsends++;
		kn->nsends_member += member;
		list_add_tail(&s->node, &kn->sends_list);
	}
	spin_unlock(&kn->sends_lock);
	if (err) {
		ksmtp_client_put(s->client);
		kfree(s);
		return ERR_PTR(err);
	}
	s->mail = *mail;
	*mail = (struct ksmtp_mail){};
	return s;
}

/**
 * ksmtp_net_send_id() - the id of a mail sent at once
 * @s: the send
 *
 * Context: any.
 * Return: the id, unique in its namespace.
 */
u64 ksmtp_net_send_id(const struct ksmtp_send *s)
{
	return s->id;
}

/**
 * ksmtp_net_send_go() - start it; its done callback follows
 * @s: from ksmtp_net_send_new(); not to be touched afterwards
 *
 * Context: process context.
 */
void ksmtp_net_send_go(struct ksmtp_send *s)
{
	struct ksmtp_net *kn = s->kn;
	bool closing;

	spin_lock(&kn->sends_lock);
	closing = kn->sends_closing;
	if (!closing)
		queue_work(sends_wq, &s->work);
	spin_unlock(&kn->sends_lock);
	if (closing)
		send_cut(s);
}

/**
 * ksmtp_net_send_drop() - never start it; no callback
 * @s: from ksmtp_net_send_new(); freed, with its mail
 *
 * Context: process context.
 */
void ksmtp_net_send_drop(struct ksmtp_send *s)
{
	send_end(s, false);
}

/* Namespace exit or unload, first half: no new send; a send not started
 * yet ends here, failed; the sessions of the others are cut.
 */
static void sends_close(struct ksmtp_net *kn)
{
	struct ksmtp_send *s, *tmp;
	LIST_HEAD(cancelled);

	spin_lock(&kn->sends_lock);
	kn->sends_closing = true;
	list_for_each_entry_safe(s, tmp, &kn->sends_list, node)
		if (cancel_work(&s->work))
			list_add_tail(&s->cancel_node, &cancelled);
	spin_unlock(&kn->sends_lock);
	ksmtp_sessions_abort_all(&kn->sends);
	list_for_each_entry_safe(s, tmp, &cancelled, cancel_node)
		send_cut(s);
}

static bool sends_idle(struct ksmtp_net *kn)
{
	bool idle;

	spin_lock(&kn->sends_lock);
	idle = !kn->nsends;
	spin_unlock(&kn->sends_lock);
	return idle;
}

/* ... second half: wait for the sends that were running (cut already). */
static void sends_wait(struct ksmtp_net *kn)
{
	wait_var_event(&kn->nsends, sends_idle(kn));
}

/**
 * ksmtp_mail_queue() - queue a mail; never sleeps
 * @args: the mail; everything is copied
 * @id: set to the mail's id (for ksmtp_mail_cancel() and the events), may
 *	be NULL
 *
 * The mail is delivered by a workqueue through the namespace's configured
 * client (ksmtpctl set), retried on transient failures. A mail identical
 * to one still waiting for its first attempt (same recipients, subject and
 * priority, and the same body, or the same non-zero @args->kq_key) is
 * merged into it: that one carries the count ("repeated N times") and
 * this one ends as coalesced.
 * After a zero return exactly one call of @args->kq_done follows; after an
 * error none.
 *
 * Context: any: hard or soft interrupt, timer, spinlock held. Allocates
 * with GFP_ATOMIC.
 * Return: 0; -EINVAL for bad input (recipient, subject), -EMSGSIZE for a
 * body over KSMTP_BODY_MAX, -ENOSPC when the queue is full (mails or
 * octets), -ESHUTDOWN while the module or the namespace goes away,
 * -ENOMEM.
 */
int ksmtp_mail_queue(const struct ksmtp_queue_args *args, u64 *id)
{
	return ksmtp_queue_add(&ksmtp_net(args->kq_net ?: &init_net)->queue, args, id);
}
EXPORT_SYMBOL_GPL(ksmtp_mail_queue);

/**
 * ksmtp_mail_queue_kernel() - ksmtp_mail_queue() from process context
 * @args: as ksmtp_mail_queue()
 * @id: as ksmtp_mail_queue()
 *
 * For the kernel-log reporter's worker: its reports are large (an
 * order-4 allocation), which GFP_KERNEL may reclaim for.
 *
 * Context: process context; may sleep (GFP_KERNEL).
 * Return: as ksmtp_mail_queue().
 */
int ksmtp_mail_queue_kernel(const struct ksmtp_queue_args *args, u64 *id)
{
	might_sleep();
	return ksmtp_queue_add_gfp(&ksmtp_net(args->kq_net ?: &init_net)->queue, args, id,
				   GFP_KERNEL);
}

/**
 * ksmtp_mail_cancel() - drop a queued mail that is not being delivered
 * @net: its namespace (NULL: init_net)
 * @id: its id
 *
 * On success the mail ends as dropped: its callback runs before the
 * return. A mail being delivered cannot be cancelled: it ends on its own.
 *
 * Context: process context; sleeps (the callback may).
 * Return: true when it was cancelled, false when it was not queued.
 */
bool ksmtp_mail_cancel(struct net *net, u64 id)
{
	return ksmtp_queue_cancel(&ksmtp_net(net ?: &init_net)->queue, id);
}
EXPORT_SYMBOL_GPL(ksmtp_mail_cancel);

/**
 * ksmtp_notify() - mail the configured default recipient; never sleeps
 * @prio: priority
 * @subject: subject
 * @fmt: printf format of the body
 *
 * A convenience for drivers: ksmtp_mail_queue() in init_net, without a
 * callback, the caller's address as coalescing key, so that the same
 * report firing again and again becomes one mail with a count.
 *
 * Context: any, as ksmtp_mail_queue().
 * Return: as ksmtp_mail_queue().
 */
int ksmtp_notify(enum ksmtp_priority prio, const char *subject,
		 const char *fmt, ...)
{
	struct ksmtp_queue_args a = {
		.kq_priority = prio,
		.kq_subject = subject,
		.kq_key = (unsigned long)__builtin_return_address(0),
	};
	va_list ap;
	char *body;
	int err;

	va_start(ap, fmt);
	body = kvasprintf(GFP_ATOMIC, fmt, ap);
	va_end(ap);
	if (!body)
		return -ENOMEM;
	a.kq_body = body;
	a.kq_body_len = strlen(body);
	err = ksmtp_mail_queue(&a, NULL);
	kfree(body);
	return err;
}
EXPORT_SYMBOL_GPL(ksmtp_notify);

static int __net_init ksmtp_net_setup(struct net *net)
{
	struct ksmtp_net *kn = ksmtp_net(net);

	mutex_init(&kn->lock);
	spin_lock_init(&kn->client_lock);
	ksmtp_stats_init(&kn->stats);
	kn->cfg.c.kc_net = net;
	ksmtp_klog_default_cfg(&kn->cfg.klog);
	ksmtp_queue_init(&kn->queue, net, &kn->stats);
	ksmtp_sessions_init(&kn->sends);
	spin_lock_init(&kn->sends_lock);
	INIT_LIST_HEAD(&kn->sends_list);
	mutex_lock(&nets_lock);
	list_add_tail(&kn->node, &nets);
	/* Set up while the module goes: nothing may start here. */
	if (ksmtp_going) {
		ksmtp_queue_shutdown(&kn->queue);
		sends_close(kn);
	}
	mutex_unlock(&nets_lock);
	return 0;
}

static void __net_exit ksmtp_net_teardown(struct net *net)
{
	struct ksmtp_net *kn = ksmtp_net(net);

	ksmtp_queue_shutdown(&kn->queue);
	sends_close(kn);
	sends_wait(kn);
	mutex_lock(&nets_lock);
	list_del(&kn->node);
	mutex_unlock(&nets_lock);
	ksmtp_client_put(ksmtp_net_set_client(kn, NULL));
	ksmtp_config_free_strings(&kn->cfg.c);
}

static struct pernet_operations ksmtp_net_ops = {
	.init = ksmtp_net_setup,
	.exit = ksmtp_net_teardown,
	.id = &ksmtp_net_id,
	.size = sizeof(struct ksmtp_net),
};

/**
 * ksmtp_net_init() - the per-namespace state, in every namespace
 *
 * Context: process context (module init).
 * Return: 0 or a negative errno.
 */
int __init ksmtp_net_init(void)
{
	int err;

	sends_wq = alloc_workqueue("ksmtp_send", WQ_UNBOUND, 0);
	if (!sends_wq)
		return -ENOMEM;
	err = register_pernet_subsys(&ksmtp_net_ops);
	if (err)
		destroy_workqueue(sends_wq);
	return err;
}

/**
 * ksmtp_net_close_all() - stop every namespace's sending, for unload
 *
 * Context: process context (module exit); sleeps.
 */
void ksmtp_net_close_all(void)
{
	struct ksmtp_net *kn;

	/* Every session of every namespace is cut first, then waited for:
	 * nobody waits on a server while another namespace's session runs.
	 * Every queued mail ends as dropped (its event goes out while the
	 * listeners are still there). A namespace set up meanwhile starts
	 * closed.
	 */

	mutex_lock(&nets_lock);
	ksmtp_going = true;
	list_for_each_entry(kn, &nets, node) {
		ksmtp_queue_shutdown(&kn->queue);
		sends_close(kn);
	}
	list_for_each_entry(kn, &nets, node)
		sends_wait(kn);
	mutex_unlock(&nets_lock);
}

/**
 * ksmtp_net_exit() - undo ksmtp_net_init(), after ksmtp_net_close_all()
 *
 * Context: process context (module exit).
 */
void ksmtp_net_exit(void)
{
	unregister_pernet_subsys(&ksmtp_net_ops);
	destroy_workqueue(sends_wq);
}
