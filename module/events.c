// SPDX-License-Identifier: GPL-2.0
/*
 * The events chain (see events.h). Unregistering waits for the listener's
 * calls in progress (the chain's rwsem), so a listener that goes (netlink.c
 * before its family is unregistered) is never called afterwards.
 */
#include <linux/notifier.h>

#include "events.h"

static BLOCKING_NOTIFIER_HEAD(ksmtp_events);

/**
 * ksmtp_events_register() - listen to every event
 * @nb: the listener; its notifier_call gets an enum ksmtp_event_kind and
 *	the event; it returns NOTIFY_DONE for what it ignores. The one that
 *	passes TLS requests on to helpers returns NOTIFY_STOP when it did,
 *	or notifier_from_errno() when it could not.
 *
 * Context: process context; sleeps.
 * Return: 0.
 */
int ksmtp_events_register(struct notifier_block *nb)
{
	return blocking_notifier_chain_register(&ksmtp_events, nb);
}

/**
 * ksmtp_events_unregister() - stop listening
 * @nb: the listener
 *
 * Returns once no call of @nb is in progress.
 *
 * Context: process context; sleeps.
 */
void ksmtp_events_unregister(struct notifier_block *nb)
{
	blocking_notifier_chain_unregister(&ksmtp_events, nb);
}

/**
 * ksmtp_event_mail() - tell the listeners about a queued mail
 * @net: its namespace
 * @type: queued, retry or end
 * @end: with KSMTP_EV_END, how it ended
 * @mail: the mail, alive during the call
 *
 * Context: process context; sleeps. Takes no lock of the caller's.
 */
void ksmtp_event_mail(struct net *net, enum ksmtp_event_type type,
		      enum ksmtp_end end, const struct ksmtp_qinfo *mail)
{
	struct ksmtp_mail_event ev = {
		.net = net,
		.type = type,
		.end = end,
		.mail = mail,
	};

	blocking_notifier_call_chain(&ksmtp_events, KSMTP_EVENT_MAIL, &ev);
}

/**
 * ksmtp_event_tls_request() - ask the listeners for a TLS helper
 * @net: the session's namespace
 * @id: the request's id
 *
 * Context: process context; sleeps.
 * Return: 0 when a listener passed the request on; -ESRCH when nobody
 * listens; a listener's negative errno.
 */
int ksmtp_event_tls_request(struct net *net, u64 id)
{
	struct ksmtp_tls_event ev = { .net = net, .id = id };
	int ret;

	ret = blocking_notifier_call_chain(&ksmtp_events, KSMTP_EVENT_TLS_REQUEST, &ev);
	if (!(ret & NOTIFY_STOP_MASK))
		return -ESRCH;
	return notifier_to_errno(ret);
}
