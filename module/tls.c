// SPDX-License-Identifier: GPL-2.0
/*
 * TLS handshakes by upcall, for kernels without net/handshake (6.1).
 *
 * A session that needs TLS queues a request and announces its id through
 * events.c (netlink.c multicasts it on the family's "tls" group). A helper
 * (ksmtp-tlsd, CAP_NET_ADMIN) accepts it through netlink.c, which calls
 * ksmtp_tls_accept(): the session's socket becomes a descriptor in the
 * helper's process, and ksmtp_tls_done() takes its report. The
 * helper does the handshake in userspace (GnuTLS), checks the certificate,
 * installs the kernel TLS state in both directions, closes its descriptor
 * and reports. The session then checks that kernel TLS really is on, and
 * that no descriptor is left, before a single byte more goes out.
 *
 * Lifetime: a request lives in its session (struct ksmtp_conn) and is on
 * the list only while it waits; accept and done touch it only under tls_lock and
 * while it is listed, and the session always takes it off the list (under
 * the lock) before it goes on. A helper that accepts and dies fails the
 * handshake at once (netlink URELEASE); one that never answers is bounded
 * by the accept window and the session's command timeout.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/net.h>
#include <linux/netlink.h>
#include <linux/string.h>
#include <linux/notifier.h>
#include <linux/jiffies.h>
#include <net/sock.h>
#include <net/inet_connection_sock.h>
#include <net/tls.h>

#include "events.h"
#include "tls.h"

enum {
	KSMTP_TLS_REQ_WAITING = 1,	/* listed, no helper yet */
	KSMTP_TLS_REQ_ACCEPTED,		/* listed, a helper holds the socket */
	KSMTP_TLS_REQ_DONE,		/* off the list, @status final */
};

/* A running helper takes a request at once; this only bounds a dead one. */
#define KSMTP_TLS_ACCEPT_MS	5000

static LIST_HEAD(tls_reqs);
static DEFINE_SPINLOCK(tls_lock);	/* tls_reqs and every listed request */
static atomic64_t tls_ids;

#if IS_ENABLED(CONFIG_KSMTP_KUNIT_TEST)
int (*ksmtp_tls_test_hook)(struct ksmtp_tls_req *req);
#endif

/* Under tls_lock: the request ends with @status. */
static void finish(struct ksmtp_tls_req *req, int status, const char *why)
{
	req->status = status;
	if (why)
		strscpy(req->reason, why, sizeof(req->reason));
	req->state = KSMTP_TLS_REQ_DONE;
	list_del_init(&req->node);
	complete(&req->done);
}

/* Did the helper leave kernel TLS on, both ways, and no descriptor? */
static const char *check_ktls(struct socket *sock)
{
	struct sock *sk = sock->sk;
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tls_context *ctx;
	const char *why = NULL;

	lock_sock(sk);
	if (!icsk->icsk_ulp_ops || strcmp(icsk->icsk_ulp_ops->name, "tls")) {
		why = "TLS helper reported success, but the socket has no kernel TLS";
	} else {
		ctx = tls_get_ctx(sk);
		if (!ctx || ctx->tx_conf == TLS_BASE || ctx->rx_conf == TLS_BASE)
			why = "TLS helper set up kernel TLS in one direction only";
	}
	release_sock(sk);
	/* The helper closed its descriptor before it reported: ours is the
	 * only reference left, or someone else can read the session.
	 */
	if (!why && file_count(sock->file) != 1)
		why = "TLS helper kept a descriptor of the socket";
	return why;
}

/**
 * ksmtp_tls_handshake() - have a helper do the TLS handshake on a socket
 * @req: initialised with ksmtp_tls_req_init(); @req->net, @req->sock (with
 *	a file), @req->name and @req->ca_file set, all alive until return
 * @timeout_ms: the whole handshake, from now
 * @aborted: read while waiting; ksmtp_tls_abort() wakes the wait
 *
 * On success the socket carries kernel TLS in both directions and
 * @req->info says which version and cipher.
 *
 * Context: process context; sleeps (at most @timeout_ms). Fatal signals
 * end the wait.
 * Return: 0, or a negative errno with @req->reason: -ESRCH when no helper
 * runs, -ETIMEDOUT, -EKEYREJECTED when the certificate was refused,
 * -ECONNABORTED when the handshake failed or the session was cut, -EPROTO
 * when the helper did not leave kernel TLS on.
 */
int ksmtp_tls_handshake(struct ksmtp_tls_req *req, unsigned int timeout_ms,
			const bool *aborted)
{
	unsigned long accept_by, until;
	const char *why;
	long left;
	int state, err;

	req->reason[0] = '\0';
	req->info[0] = '\0';
	req->status = 0;
#if IS_ENABLED(CONFIG_KSMTP_KUNIT_TEST)
	if (ksmtp_tls_test_hook)
		return ksmtp_tls_test_hook(req);
#endif
	req->deadline = jiffies + msecs_to_jiffies(timeout_ms);
	accept_by = jiffies + msecs_to_jiffies(min(timeout_ms, KSMTP_TLS_ACCEPT_MS));
	req->id = atomic64_inc_return(&tls_ids);
	spin_lock(&tls_lock);
	req->state = KSMTP_TLS_REQ_WAITING;
	list_add_tail(&req->node, &tls_reqs);
	spin_unlock(&tls_lock);

	err = ksmtp_event_tls_request(req->net, req->id);
	if (err) {
		/* Nobody listens (-ESRCH): fail now, not after a timeout. */
		spin_lock(&tls_lock);
		if (req->state == KSMTP_TLS_REQ_WAITING)
			finish(req, err, err == -ESRCH ?
			       "no TLS helper running (start ksmtp-tlsd)" :
			       "cannot ask the TLS helper");
		spin_unlock(&tls_lock);
	}
	for (;;) {
		spin_lock(&tls_lock);
		state = req->state;
		if (state != KSMTP_TLS_REQ_DONE && READ_ONCE(*aborted))
			finish(req, -ECONNABORTED, "session cut");
		until = state == KSMTP_TLS_REQ_WAITING ? accept_by : req->deadline;
		if (req->state != KSMTP_TLS_REQ_DONE && time_after_eq(jiffies, until))
			finish(req, -ETIMEDOUT, state == KSMTP_TLS_REQ_WAITING ?
			       "no TLS helper answered" : "TLS handshake timed out");
		state = req->state;
		spin_unlock(&tls_lock);
		if (state == KSMTP_TLS_REQ_DONE)
			break;
		/* until may have passed since the check: at least one tick. */
		left = max_t(long, (long)(until - jiffies), 1);
		left = wait_for_completion_killable_timeout(&req->done, left);
		if (left < 0) {
			spin_lock(&tls_lock);
			if (req->state != KSMTP_TLS_REQ_DONE)
				finish(req, -EINTR, "interrupted during the TLS handshake");
			spin_unlock(&tls_lock);
		}
	}
	if (req->status)
		return req->status;
	why = check_ktls(req->sock);
	if (why) {
		strscpy(req->reason, why, sizeof(req->reason));
		return -EPROTO;
	}
	return 0;
}

/**
 * ksmtp_tls_abort() - wake a handshake wait (the session is being cut)
 * @req: the session's request; the caller set the session's aborted flag
 *
 * Context: any.
 */
void ksmtp_tls_abort(struct ksmtp_tls_req *req)
{
	complete(&req->done);
}

/**
 * ksmtp_tls_accept() - a helper takes a waiting handshake
 * @net: the helper's namespace
 * @id: the request it asks for, or 0 for the oldest one waiting
 * @portid: the helper's netlink port, that must report on it
 * @out: filled: the request's id, name, CA file and time left, and a
 *	reference on the session socket's file, which the caller must
 *	either install as a descriptor of the helper or fput()
 *
 * Context: process context.
 * Return: 0, or -ENOENT when no such request waits.
 */
int ksmtp_tls_accept(struct net *net, u64 id, u32 portid,
		     struct ksmtp_tls_accepted *out)
{
	struct ksmtp_tls_req *req, *found = NULL;
	long left;

	spin_lock(&tls_lock);
	list_for_each_entry(req, &tls_reqs, node) {
		if (req->state == KSMTP_TLS_REQ_WAITING && net_eq(req->net, net) &&
		    (!id || id == req->id)) {
			found = req;
			break;
		}
	}
	if (found) {
		left = (long)(found->deadline - jiffies);
		out->id = found->id;
		strscpy(out->name, found->name, sizeof(out->name));
		strscpy(out->ca_file, found->ca_file, sizeof(out->ca_file));
		out->timeout_ms = left > 0 ? jiffies_to_msecs(left) : 1;
		out->file = get_file(found->sock->file);
		found->state = KSMTP_TLS_REQ_ACCEPTED;
		found->portid = portid;
	}
	spin_unlock(&tls_lock);
	return found ? 0 : -ENOENT;
}

/**
 * ksmtp_tls_unaccept() - a helper could not be told of what it took
 * @net: the helper's namespace
 * @id: the request
 * @portid: the helper's netlink port
 *
 * The request waits again for a helper (its deadline unchanged).
 *
 * Context: process context.
 */
void ksmtp_tls_unaccept(struct net *net, u64 id, u32 portid)
{
	struct ksmtp_tls_req *req;

	spin_lock(&tls_lock);
	list_for_each_entry(req, &tls_reqs, node) {
		if (req->id == id && req->state == KSMTP_TLS_REQ_ACCEPTED &&
		    req->portid == portid && net_eq(req->net, net)) {
			req->state = KSMTP_TLS_REQ_WAITING;
			req->portid = 0;
			break;
		}
	}
	spin_unlock(&tls_lock);
}

/**
 * ksmtp_tls_done() - a helper reports on the handshake it took
 * @net: the helper's namespace
 * @id: the request
 * @portid: the helper's netlink port (only the one that accepted reports)
 * @status: 0, or a positive errno
 * @reason: the failure in words, or NULL
 * @info: on success, the version and cipher, or NULL
 *
 * Context: process context.
 * Return: 0, or -ENOENT when this helper holds no such request.
 */
int ksmtp_tls_done(struct net *net, u64 id, u32 portid, u32 status,
		   const char *reason, const char *info)
{
	struct ksmtp_tls_req *req, *found = NULL;

	spin_lock(&tls_lock);
	list_for_each_entry(req, &tls_reqs, node) {
		if (req->id == id && req->state == KSMTP_TLS_REQ_ACCEPTED &&
		    req->portid == portid && net_eq(req->net, net)) {
			found = req;
			break;
		}
	}
	if (found && !status) {
		if (info)
			strscpy(found->info, info, sizeof(found->info));
		finish(found, 0, NULL);
	} else if (found) {
		if (reason)
			strscpy(found->reason, reason, sizeof(found->reason));
		finish(found, -(int)status, reason ? NULL : "TLS handshake failed");
	}
	spin_unlock(&tls_lock);
	return found ? 0 : -ENOENT;
}

/* A helper's netlink socket closed: the handshakes it held fail now. */
static int tls_netlink_event(struct notifier_block *nb, unsigned long event,
			     void *ptr)
{
	struct netlink_notify *n = ptr;
	struct ksmtp_tls_req *req, *tmp;

	if (event != NETLINK_URELEASE || n->protocol != NETLINK_GENERIC)
		return NOTIFY_DONE;
	spin_lock(&tls_lock);
	list_for_each_entry_safe(req, tmp, &tls_reqs, node)
		if (req->state == KSMTP_TLS_REQ_ACCEPTED &&
		    req->portid == n->portid && net_eq(req->net, n->net))
			finish(req, -ECONNABORTED,
			       "TLS helper exited during the handshake");
	spin_unlock(&tls_lock);
	return NOTIFY_DONE;
}

static struct notifier_block tls_netlink_nb = {
	.notifier_call = tls_netlink_event,
};

/**
 * ksmtp_tls_init() - watch for helpers that go away
 *
 * Context: process context (module init).
 * Return: 0 or a negative errno.
 */
int ksmtp_tls_init(void)
{
	return netlink_register_notifier(&tls_netlink_nb);
}

/**
 * ksmtp_tls_exit() - undo ksmtp_tls_init()
 *
 * Context: process context (module exit), once no session runs.
 */
void ksmtp_tls_exit(void)
{
	netlink_unregister_notifier(&tls_netlink_nb);
}
