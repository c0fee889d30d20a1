/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksmtp: the in-kernel API through which drivers send mail.
 *
 * Modelled on NetX Duo's nxd_smtp_client_create() / nx_smtp_mail_send() /
 * nx_smtp_client_delete(): create a client from a configuration, send mails
 * through it (one TCP connection and one whole SMTP session per mail), and
 * drop it. Unlike NetX Duo, a failed send tells the caller the phase that
 * failed and the server's reply code and text.
 *
 * Two ways to send: ksmtp_mail_send() runs a whole session and sleeps:
 * never call it from atomic context (interrupt handlers, timers, softirqs,
 * under a spinlock or in an RCU read side section). ksmtp_mail_queue() and
 * ksmtp_notify() never sleep and may be called from any context: they copy
 * the mail into a bounded queue that a workqueue delivers, with retries,
 * through the network namespace's configured client.
 *
 * Lifetime: a module that calls this API depends on ksmtp, so "rmmod ksmtp"
 * is refused (module in use) while it is loaded: unload the callers first.
 * When ksmtp goes away, every session in progress is cut at once and every
 * queued mail ends as dropped, its callback and event included; nothing
 * waits for a server's timeout (but a server's host name being resolved,
 * whose upcall cannot be cut, is waited for: the resolver's own timeouts
 * bound it). A session in progress holds its network namespace (as a
 * user's socket would): a namespace deleted meanwhile goes once that
 * session ends (within its timeouts), and its queued mails end as dropped
 * then.
 */
#ifndef _LINUX_KSMTP_H
#define _LINUX_KSMTP_H

#include <linux/types.h>
#include <linux/socket.h>
#include <uapi/linux/ksmtp.h>

struct net;
struct ksmtp_client;

/* RFC 5321 4.5.3.2 minima, the defaults of struct ksmtp_timeouts */
#define KSMTP_TIMEOUT_CONNECT_MS	(60 * 1000)
#define KSMTP_TIMEOUT_GREETING_MS	(5 * 60 * 1000)
#define KSMTP_TIMEOUT_COMMAND_MS	(5 * 60 * 1000)
#define KSMTP_TIMEOUT_DATA_BLOCK_MS	(3 * 60 * 1000)
#define KSMTP_TIMEOUT_FINAL_DOT_MS	(10 * 60 * 1000)

#define KSMTP_TEXT_MAX		256
#define KSMTP_REASON_MAX	128
#define KSMTP_TLS_INFO_MAX	48
#define KSMTP_PATH_MAX		255

/**
 * struct ksmtp_timeouts - per-phase timeouts, in milliseconds
 * @kt_connect_ms: TCP connect
 * @kt_greeting_ms: the server's greeting
 * @kt_command_ms: the reply to each command (EHLO, AUTH, MAIL, RCPT, DATA, QUIT)
 * @kt_data_block_ms: sending the message: headers, body and final dot,
 *	all of it (a server that reads slowly does not extend it)
 * @kt_final_dot_ms: the reply to the final dot
 *
 * A zero field takes the default (KSMTP_TIMEOUT_*_MS). Each timeout bounds
 * the whole phase: a server that trickles bytes does not extend it.
 */
struct ksmtp_timeouts {
	unsigned int kt_connect_ms;
	unsigned int kt_greeting_ms;
	unsigned int kt_command_ms;
	unsigned int kt_data_block_ms;
	unsigned int kt_final_dot_ms;
};

/**
 * struct ksmtp_config - what a client is created from
 * @kc_server: server address, AF_INET or AF_INET6; its port is ignored.
 *	Not used when @kc_server_name is set.
 * @kc_port: TCP port; 0 means 25
 * @kc_username: user name for AUTH, or NULL
 * @kc_password: password for AUTH, or NULL
 * @kc_from: sender address, local@domain (envelope and From: header)
 * @kc_domain: EHLO/HELO argument; NULL or "" means an address literal of
 *	the connection's local address ("[192.0.2.1]", "[IPv6:2001:db8::1]")
 * @kc_auth: wanted mechanism, see enum ksmtp_auth_type
 * @kc_helo_only: greet with HELO instead of EHLO (no extensions, no AUTH)
 * @kc_timeouts: per-phase timeouts
 * @kc_net: network namespace to connect from; NULL means &init_net. The
 *	client does not pin it: the caller keeps it alive while the client
 *	lives (each session holds a reference while it runs).
 * @kc_tls: TLS mode, see enum ksmtp_tls_mode. The handshake is done by the
 *	TLS helper (ksmtp-tlsd) running in @kc_net; without one, a session
 *	fails at once with "no TLS helper running" (transient).
 * @kc_tls_name: with TLS, the server name its certificate must carry (a
 *	DNS name); NULL or "": @kc_server_name when that is a host name,
 *	else required
 * @kc_tls_ca_file: absolute path of a PEM CA bundle for the helper to
 *	trust; NULL or "" means the system trust store
 * @kc_rcpt: default recipient(s), as in struct ksmtp_mail, for the mails
 *	sent through this client without one; NULL or "" for none
 * @kc_auth_cleartext: allow AUTH without TLS. When false (the default) a
 *	session that would authenticate over cleartext fails instead, before
 *	any credential is sent.
 * @kc_server_name: the server as a host name (at most 253 octets), or an
 *	address literal ("192.0.2.1", "2001:db8::1", "[2001:db8::1]"); NULL
 *	or "" to use @kc_server. A host name is resolved at each session,
 *	in the session's worker, through the kernel's DNS resolver (the
 *	dns_resolver upcall to keyutils' key.dns_resolver; answers cached
 *	for the key's time to live), and its addresses, IPv6 and IPv4, are
 *	tried in the resolver's order until one connects, each within the
 *	connect timeout. A name that cannot be resolved fails the mail in
 *	the connect phase, transiently. With TLS, the default @kc_tls_name.
 * @kc_password_file: where the password came from, kept for the owner of
 *	the configuration to report; the client never opens it (NULL or "")
 *
 * ksmtp_client_create() copies every string: the caller may free its own.
 */
struct ksmtp_config {
	struct sockaddr_storage kc_server;
	u16 kc_port;
	const char *kc_username;
	const char *kc_password;
	const char *kc_from;
	const char *kc_domain;
	enum ksmtp_auth_type kc_auth;
	bool kc_helo_only;
	struct ksmtp_timeouts kc_timeouts;
	struct net *kc_net;
	enum ksmtp_tls_mode kc_tls;
	const char *kc_tls_name;
	const char *kc_tls_ca_file;
	bool kc_auth_cleartext;
	const char *kc_rcpt;
	const char *kc_server_name;
	const char *kc_password_file;
};

/**
 * struct ksmtp_mail - one mail to send
 * @km_rcpt: recipient address, local@domain; or up to 16 of them separated
 *	by commas ("ops@example.org, oncall@example.org"): one mail, one RCPT
 *	each; it is delivered when at least one recipient is accepted. NULL:
 *	the client's kc_rcpt
 * @km_priority: priority, see enum ksmtp_priority
 * @km_subject: subject (folded or encoded as needed; never a new header)
 * @km_body: body text, UTF-8; any line endings, any bytes
 * @km_body_len: length of @km_body in octets
 * @km_headers: NULL, or the caller's header section (KSMTP_A_MAIL_HEADERS
 *	in the uAPI header says what it may hold); then @km_subject is ""
 *	and @km_priority normal, and the kernel adds only the headers that
 *	are missing
 * @km_env_from: with @km_headers: NULL, or the envelope sender instead of
 *	the client's kc_from ("" for the null sender)
 * @km_from_name: with @km_headers: NULL, or the display name of an added
 *	From header
 */
struct ksmtp_mail {
	const char *km_rcpt;
	enum ksmtp_priority km_priority;
	const char *km_subject;
	const char *km_body;
	size_t km_body_len;
	const char *km_headers;
	const char *km_env_from;
	const char *km_from_name;
};

/**
 * struct ksmtp_result - how a send ended
 * @kr_err: 0 on success, else the negative errno ksmtp_mail_send() returned
 * @kr_phase: the phase that failed (KSMTP_PHASE_NONE on success, or when
 *	the input was refused before connecting)
 * @kr_code: the server's reply code that ended it, 0 if there was none
 * @kr_text: first line of the server's reply text (NUL-terminated, possibly
 *	truncated), or "" if there was none
 * @kr_transient: true when a later retry may succeed (4xx, timeout,
 *	connection refused or reset); false for 5xx and bad input
 * @kr_unknown: true when the mail may have been delivered although the
 *	send failed (no reply to the final dot): do not resend blindly
 * @kr_reason: what the failure means, in words; "" on success, or which
 *	recipients were refused when a mail to several was delivered (then
 *	@kr_code and @kr_text give the first refusal)
 * @kr_tls: the TLS session the mail went over ("TLS1.3 AES-256-GCM"), or
 *	"" in cleartext
 */
struct ksmtp_result {
	int kr_err;
	enum ksmtp_phase kr_phase;
	unsigned int kr_code;
	char kr_text[KSMTP_TEXT_MAX];
	bool kr_transient;
	bool kr_unknown;
	char kr_reason[KSMTP_REASON_MAX];
	char kr_tls[KSMTP_TLS_INFO_MAX];
};

/**
 * typedef ksmtp_done_fn - how a queued mail ended
 * @data: the caller's kq_data
 * @id: the mail's id (from ksmtp_mail_queue())
 * @end: how it ended
 * @res: the last attempt's result (kr_err 0 when sent); for an end without
 *	attempt (dropped, coalesced) a result with only kr_reason set
 *
 * Called exactly once per mail accepted by ksmtp_mail_queue(), never for
 * one it refused; in process context (a workqueue, or the flush, cancel
 * or unload path), without any ksmtp lock held. It may sleep, and must
 * not call back into the queue of the same mail.
 */
typedef void (*ksmtp_done_fn)(void *data, u64 id, enum ksmtp_end end,
			      const struct ksmtp_result *res);

/**
 * struct ksmtp_queue_args - a mail to queue
 * @kq_net: network namespace whose configuration and queue to use; NULL
 *	means &init_net
 * @kq_rcpt: recipient(s) as in struct ksmtp_mail, or NULL for the
 *	configured default recipient(s)
 * @kq_priority: priority
 * @kq_subject: subject
 * @kq_body: body
 * @kq_body_len: its length
 * @kq_done: completion callback, or NULL
 * @kq_data: passed to @kq_done
 * @kq_key: a mail still waiting for its first attempt, to the same
 *	recipients with the same subject and priority, and the same non-zero
 *	key, takes this one in (it carries the count, its body is the one
 *	sent); 0: only a mail with the same body too is the same mail
 *
 * Every string and the body are copied: the caller may free them at once.
 */
struct ksmtp_queue_args {
	struct net *kq_net;
	const char *kq_rcpt;
	enum ksmtp_priority kq_priority;
	const char *kq_subject;
	const char *kq_body;
	size_t kq_body_len;
	ksmtp_done_fn kq_done;
	void *kq_data;
	unsigned long kq_key;
};

int ksmtp_mail_queue(const struct ksmtp_queue_args *args, u64 *id);
bool ksmtp_mail_cancel(struct net *net, u64 id);
__printf(3, 4) int ksmtp_notify(enum ksmtp_priority prio, const char *subject,
				const char *fmt, ...);

struct ksmtp_client *ksmtp_client_create(const struct ksmtp_config *cfg);
struct ksmtp_client *ksmtp_client_get(struct ksmtp_client *client);
void ksmtp_client_put(struct ksmtp_client *client);
void ksmtp_client_destroy(struct ksmtp_client *client);
int ksmtp_mail_send(struct ksmtp_client *client, const struct ksmtp_mail *mail,
		    struct ksmtp_result *result);
const char *ksmtp_phase_name(enum ksmtp_phase phase);

#endif /* _LINUX_KSMTP_H */
