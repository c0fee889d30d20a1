/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Events: how what happens below (the queue, the TLS upcall) reaches those
 * who report it (netlink.c today; a kernel-log reporter or another channel
 * later) without the lower files knowing them. One blocking notifier
 * chain: a listener registers a notifier_block and is called, in process
 * context, for each event. And the one line a failed mail leaves in the
 * kernel's log.
 */
#ifndef _KSMTP_EVENTS_H
#define _KSMTP_EVENTS_H

#include <linux/notifier.h>
#include <linux/ksmtp.h>

struct net;

/**
 * struct ksmtp_qinfo - what may be told of a queued mail
 * @id: its id
 * @rcpt: its recipient(s), or NULL for the default ones
 * @subject: its subject
 * @priority: its priority
 * @attempts: attempts made
 * @repeats: identical mails merged into it
 * @age_ms: milliseconds since it was queued
 * @next_ms: milliseconds until its next attempt (0: due, or none)
 * @last: its last failure, or NULL
 */
struct ksmtp_qinfo {
	u64 id;
	const char *rcpt;
	const char *subject;
	enum ksmtp_priority priority;
	unsigned int attempts;
	unsigned int repeats;
	unsigned int age_ms;
	unsigned int next_ms;
	const struct ksmtp_result *last;
};

/* What a listener is called with (its @action, and @data's type) */
enum ksmtp_event_kind {
	KSMTP_EVENT_MAIL,		/* struct ksmtp_mail_event */
	KSMTP_EVENT_TLS_REQUEST,	/* struct ksmtp_tls_event */
	KSMTP_EVENT_CONFIG,		/* struct net: its configuration changed */
};

/**
 * struct ksmtp_mail_event - a queued mail was queued, retried or ended
 * @net: its namespace
 * @type: which (enum ksmtp_event_type)
 * @end: with KSMTP_EV_END, how it ended
 * @mail: the mail; @mail->last is the attempt's result, if there was one
 */
struct ksmtp_mail_event {
	struct net *net;
	enum ksmtp_event_type type;
	enum ksmtp_end end;
	const struct ksmtp_qinfo *mail;
};

/**
 * struct ksmtp_tls_event - a session waits for a TLS helper
 * @net: the session's namespace (the helper must run in it)
 * @id: the request's id
 */
struct ksmtp_tls_event {
	struct net *net;
	u64 id;
};

/* The line ksmtp_ratelimit() prints (after pr_fmt's "ksmtp: ") */
#define KSMTP_SUPPRESSED_FMT	"%d lines like the next one suppressed\n"

struct ratelimit_state;

bool ksmtp_ratelimit(struct ratelimit_state *rs);
int ksmtp_events_register(struct notifier_block *nb);
void ksmtp_events_unregister(struct notifier_block *nb);
void ksmtp_event_mail(struct net *net, enum ksmtp_event_type type,
		      enum ksmtp_end end, const struct ksmtp_qinfo *mail);
int ksmtp_event_tls_request(struct net *net, u64 id);
void ksmtp_event_config(struct net *net);
void ksmtp_log_failure(const char *what, u64 id, const struct ksmtp_result *res);

#endif /* _KSMTP_EVENTS_H */
