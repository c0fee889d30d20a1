// SPDX-License-Identifier: GPL-2.0
/*
 * The events chain (see events.h). Unregistering waits for the listener's
 * calls in progress (the chain's rwsem), so a listener that goes (netlink.c
 * before its family is unregistered) is never called afterwards.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/notifier.h>
#include <linux/printk.h>
#include <linux/ratelimit.h>
#include <linux/spinlock.h>
#include <linux/string.h>

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

/**
 * ksmtp_event_config() - tell the listeners a configuration changed
 * @net: whose
 *
 * Context: process context; sleeps. The caller holds no ksmtp lock (a
 * listener reads the configuration back).
 */
void ksmtp_event_config(struct net *net)
{
	blocking_notifier_call_chain(&ksmtp_events, KSMTP_EVENT_CONFIG, net);
}

/**
 * ksmtp_ratelimit() - may a rate-limited line of ksmtp's be printed now?
 * @rs: its state, with RATELIMIT_MSG_ON_RELEASE set (RATELIMIT_STATE_INIT_FLAGS):
 *	___ratelimit() would otherwise print its own "<function>: N callbacks
 *	suppressed" line, at KERN_WARNING and without ksmtp's prefix, which
 *	the kernel-log reporter would take for a line of the kernel's and
 *	mail
 *
 * When the line may be printed, the lines suppressed before it are said
 * first, in a line of ksmtp's own (KSMTP_SUPPRESSED_FMT).
 *
 * Context: any; does not sleep.
 * Return: true when the caller may print its line.
 */
bool ksmtp_ratelimit(struct ratelimit_state *rs)
{
	unsigned long flags;
	int missed;

	if (!__ratelimit(rs))
		return false;
	/* As ___ratelimit(): contended, the count is said the next time. */
	if (!raw_spin_trylock_irqsave(&rs->lock, flags))
		return true;
	missed = rs->missed;
	rs->missed = 0;
	raw_spin_unlock_irqrestore(&rs->lock, flags);
	if (missed)
		pr_warn(KSMTP_SUPPRESSED_FMT, missed);
	return true;
}

static struct ratelimit_state failure_rs =
	RATELIMIT_STATE_INIT_FLAGS(failure_rs, DEFAULT_RATELIMIT_INTERVAL,
				   DEFAULT_RATELIMIT_BURST, RATELIMIT_MSG_ON_RELEASE);

/* The most of the server's text a failure line carries (each octet may
 * become four, "\xHH", when escaped).
 */
#define FAILURE_TEXT_MAX	160

/* @len octets of @src into @dst (4 * @len + 1 octets): '"', '\' and every
 * octet outside 0x20..0x7e as "\xHH", so that the text can neither end
 * its quotes nor pass for another field of the line.
 */
static void escape_text(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		u8 c = src[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
			*dst++ = '\\';
			*dst++ = 'x';
			*dst++ = hex_asc_hi(c);
			*dst++ = hex_asc_lo(c);
		} else {
			*dst++ = c;
		}
	}
	*dst = '\0';
}

/**
 * ksmtp_log_failure() - the kernel-log line of a mail that was not sent
 * @what: which kind of mail ("queued mail", "sent mail")
 * @id: its id
 * @res: how it ended
 *
 * One warning, rate limited (printk's default: 10 in 5 s; the number
 * suppressed is said before the next one, by ksmtp_ratelimit()), with the phase,
 * the server's code and text, and whether the failure is transient. The
 * server's text is not trusted: at most FAILURE_TEXT_MAX octets of it,
 * '"', '\' and every octet outside 0x20..0x7e escaped as \xHH, so it can
 * neither start a line of its own, nor end its quotes, nor pass for
 * another message. The line starts with
 * "ksmtp: ", which the kernel-log reporter never mails.
 *
 * Context: any; does not sleep.
 */
void ksmtp_log_failure(const char *what, u64 id, const struct ksmtp_result *res)
{
	size_t tlen = strnlen(res->kr_text, min_t(size_t, sizeof(res->kr_text),
						  FAILURE_TEXT_MAX));
	int rlen = strnlen(res->kr_reason, sizeof(res->kr_reason));
	char text[4 * FAILURE_TEXT_MAX + 1];

	if (!ksmtp_ratelimit(&failure_rs))
		return;
	escape_text(text, res->kr_text, tlen);
	pr_warn("%s %llu not sent: phase %s, code %u, text \"%s\", %s: %*pE\n",
		what, id, ksmtp_phase_name(res->kr_phase), res->kr_code, text,
		res->kr_transient ? "transient" : "permanent",
		rlen, res->kr_reason);
}
