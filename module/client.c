// SPDX-License-Identifier: GPL-2.0
/*
 * Client objects and the exported API. A client is immutable once created,
 * so sends through it need no lock: each one takes a reference, runs its
 * own session on its own socket, and drops the reference.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <net/net_namespace.h>

#include "client.h"
#include "session.h"
#include "encode.h"

static void client_free(struct ksmtp_client *c)
{
	kfree(c->cfg.kc_username);
	kfree_sensitive(c->cfg.kc_password);
	kfree(c->cfg.kc_from);
	kfree(c->cfg.kc_domain);
	kfree(c->cfg.kc_tls_name);
	kfree(c->cfg.kc_tls_ca_file);
	kfree(c);
}

static void client_release(struct kref *ref)
{
	client_free(container_of(ref, struct ksmtp_client, ref));
}

static unsigned int or_default(unsigned int ms, unsigned int def)
{
	return ms ?: def;
}

static bool cred_ok(const char *s)
{
	return !s || (strlen(s) <= KSMTP_STR_MAX && !strpbrk(s, "\r\n"));
}

/**
 * ksmtp_check_tls_name() - is @s a server name a certificate can carry?
 * @s: the name, not empty
 *
 * Context: any.
 * Return: NULL, or what is wrong, in words.
 */
const char *ksmtp_check_tls_name(const char *s)
{
	return s[0] == '[' || ksmtp_check_domain(s) ? "TLS server name must be a DNS name" : NULL;
}

/**
 * ksmtp_check_ca_file() - is @s a CA bundle path the helper may open?
 * @s: the path, not empty
 *
 * Context: any.
 * Return: NULL, or what is wrong, in words.
 */
const char *ksmtp_check_ca_file(const char *s)
{
	return s[0] != '/' || strlen(s) > KSMTP_PATH_MAX || strpbrk(s, "\r\n") ?
	       "CA file must be an absolute path" : NULL;
}

/**
 * ksmtp_config_tls_check() - is the TLS part of a configuration sound?
 * @cfg: the configuration
 *
 * Context: any.
 * Return: NULL, or what is wrong, in words.
 */
const char *ksmtp_config_tls_check(const struct ksmtp_config *cfg)
{
	const char *why = NULL;

	if (cfg->kc_tls > KSMTP_TLS_MAX)
		return "unknown TLS mode";
	if (cfg->kc_tls_name && cfg->kc_tls_name[0])
		why = ksmtp_check_tls_name(cfg->kc_tls_name);
	if (!why && cfg->kc_tls_ca_file && cfg->kc_tls_ca_file[0])
		why = ksmtp_check_ca_file(cfg->kc_tls_ca_file);
	if (why || cfg->kc_tls == KSMTP_TLS_NONE)
		return why;
	if (!cfg->kc_tls_name || !cfg->kc_tls_name[0])
		return "TLS needs the server name to verify (tls-name)";
	if (cfg->kc_helo_only)
		return "TLS needs EHLO: helo-only cannot be on";
	return NULL;
}

/**
 * ksmtp_client_create() - create a client
 * @cfg: the configuration; every string is copied
 *
 * The client is checked here, before any mail: the server address must be
 * AF_INET or AF_INET6, the from address local@domain without CR, LF,
 * spaces or angle brackets, the domain a host name or an address literal,
 * the user name and password at most 255 octets without CR or LF, and a
 * mechanism other than KSMTP_AUTH_NONE needs a user name. With TLS, the
 * server name to verify is required (a DNS name), HELO-only is refused,
 * and a CA file, if any, is an absolute path.
 *
 * Context: process context; may sleep (GFP_KERNEL).
 * Return: the client, holding one reference for the caller (drop it with
 * ksmtp_client_destroy()), or ERR_PTR(-EINVAL) for a bad configuration,
 * ERR_PTR(-ENOMEM).
 */
struct ksmtp_client *ksmtp_client_create(const struct ksmtp_config *cfg)
{
	struct ksmtp_timeouts *t;
	struct ksmtp_client *c;
	bool utf8;

	if (cfg->kc_server.ss_family != AF_INET &&
	    cfg->kc_server.ss_family != AF_INET6)
		return ERR_PTR(-EINVAL);
	if (ksmtp_check_address(cfg->kc_from, &utf8) ||
	    (cfg->kc_domain && ksmtp_check_domain(cfg->kc_domain)) ||
	    !cred_ok(cfg->kc_username) || !cred_ok(cfg->kc_password) ||
	    cfg->kc_auth > KSMTP_AUTH_MAX ||
	    (cfg->kc_auth != KSMTP_AUTH_NONE &&
	     (!cfg->kc_username || !cfg->kc_username[0])) ||
	    ksmtp_config_tls_check(cfg))
		return ERR_PTR(-EINVAL);

	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	kref_init(&c->ref);
	c->cfg = *cfg;
	c->cfg.kc_username = kstrdup(cfg->kc_username ?: "", GFP_KERNEL);
	c->cfg.kc_password = kstrdup(cfg->kc_password ?: "", GFP_KERNEL);
	c->cfg.kc_from = kstrdup(cfg->kc_from, GFP_KERNEL);
	c->cfg.kc_domain = kstrdup(cfg->kc_domain ?: "", GFP_KERNEL);
	c->cfg.kc_tls_name = kstrdup(cfg->kc_tls_name ?: "", GFP_KERNEL);
	c->cfg.kc_tls_ca_file = kstrdup(cfg->kc_tls_ca_file ?: "", GFP_KERNEL);
	if (!c->cfg.kc_username || !c->cfg.kc_password || !c->cfg.kc_from ||
	    !c->cfg.kc_domain || !c->cfg.kc_tls_name || !c->cfg.kc_tls_ca_file) {
		client_free(c);
		return ERR_PTR(-ENOMEM);
	}
	if (!c->cfg.kc_port)
		c->cfg.kc_port = ksmtp_default_port(cfg->kc_tls);
	if (!c->cfg.kc_net)
		c->cfg.kc_net = &init_net;
	t = &c->cfg.kc_timeouts;
	t->kt_connect_ms = or_default(t->kt_connect_ms, KSMTP_TIMEOUT_CONNECT_MS);
	t->kt_greeting_ms = or_default(t->kt_greeting_ms, KSMTP_TIMEOUT_GREETING_MS);
	t->kt_command_ms = or_default(t->kt_command_ms, KSMTP_TIMEOUT_COMMAND_MS);
	t->kt_data_block_ms = or_default(t->kt_data_block_ms,
					 KSMTP_TIMEOUT_DATA_BLOCK_MS);
	t->kt_final_dot_ms = or_default(t->kt_final_dot_ms,
					KSMTP_TIMEOUT_FINAL_DOT_MS);
	return c;
}
EXPORT_SYMBOL_GPL(ksmtp_client_create);

/**
 * ksmtp_client_get() - take a reference on a client
 * @client: a client the caller holds a reference on
 *
 * Context: any; does not sleep.
 * Return: @client.
 */
struct ksmtp_client *ksmtp_client_get(struct ksmtp_client *client)
{
	kref_get(&client->ref);
	return client;
}
EXPORT_SYMBOL_GPL(ksmtp_client_get);

/**
 * ksmtp_client_put() - drop a reference on a client
 * @client: the client, or NULL
 *
 * The client is freed with the last reference (its password cleared).
 *
 * Context: any; does not sleep.
 */
void ksmtp_client_put(struct ksmtp_client *client)
{
	if (client)
		kref_put(&client->ref, client_release);
}
EXPORT_SYMBOL_GPL(ksmtp_client_put);

/**
 * ksmtp_client_destroy() - drop the creator's reference on a client
 * @client: from ksmtp_client_create(), or NULL
 *
 * Sends in flight through @client finish normally; the client is freed
 * when the last of them returns.
 *
 * Context: any; does not sleep.
 */
void ksmtp_client_destroy(struct ksmtp_client *client)
{
	ksmtp_client_put(client);
}
EXPORT_SYMBOL_GPL(ksmtp_client_destroy);

/**
 * ksmtp_mail_send() - send one mail
 * @client: the client (the caller holds a reference)
 * @mail: the mail; nothing of it is kept after the return
 * @result: filled in every case; may be NULL
 *
 * Opens one TCP connection to the client's server, runs the whole SMTP
 * session (greeting, EHLO or HELO, STARTTLS and the handshake if so
 * configured, AUTH, MAIL, RCPT, DATA, message, QUIT) and closes it.
 * Whatever the outcome, the client is ready for the next mail. Several
 * callers may send through one client at the same time; each gets its own
 * connection. The recipient and the subject are checked
 * before connecting (no CR, LF, spaces, control characters; RFC lengths).
 *
 * Context: process context; sleeps, up to the sum of the client's
 * timeouts. Never call it from atomic context (interrupt handlers, timers,
 * softirqs, under a spinlock or rcu_read_lock()). Takes no lock of the
 * caller's. A pending signal ends it with -EINTR.
 * Return: 0 when the server accepted the mail (250 to the final dot), else
 * a negative errno: -EINVAL bad input (nothing sent), -ECONNREFUSED,
 * -ETIMEDOUT, -ECONNRESET, -EBADMSG (malformed reply), -EACCES (535, 530),
 * -EPERM (534, 538), -EOPNOTSUPP (504 or no usable mechanism), -EMSGSIZE
 * (over the server's SIZE, 552), -EAGAIN (other 4xx), -EREMOTEIO (other
 * 5xx), -ECONNABORTED (421), -ENOMEM, -EINTR. With TLS (phase TLS):
 * -ESRCH (no TLS helper running: transient), -EPROTONOSUPPORT (STARTTLS
 * required, not offered), -EKEYREJECTED (certificate refused),
 * -ECONNABORTED (handshake failed, helper gone), -ETIMEDOUT, -EPROTO (the
 * helper left no kernel TLS); -EPERM when AUTH would cross in cleartext
 * and kc_auth_cleartext is false. @result says which phase failed, with
 * the server's code and text, and the TLS session used.
 */
int ksmtp_mail_send(struct ksmtp_client *client, const struct ksmtp_mail *mail,
		    struct ksmtp_result *result)
{
	struct ksmtp_result local;
	int err;

	might_sleep();
	ksmtp_client_get(client);
	err = ksmtp_session_run(client, NULL, mail, result ?: &local);
	ksmtp_client_put(client);
	return err;
}
EXPORT_SYMBOL_GPL(ksmtp_mail_send);

/**
 * ksmtp_phase_name() - the name of a phase, for messages
 * @phase: a phase
 *
 * Context: any.
 * Return: a static string such as "RCPT".
 */
const char *ksmtp_phase_name(enum ksmtp_phase phase)
{
	static const char * const names[] = {
		[KSMTP_PHASE_NONE] = "none",
		[KSMTP_PHASE_CONNECT] = "connect",
		[KSMTP_PHASE_GREETING] = "greeting",
		[KSMTP_PHASE_EHLO] = "EHLO",
		[KSMTP_PHASE_AUTH] = "AUTH",
		[KSMTP_PHASE_MAIL] = "MAIL",
		[KSMTP_PHASE_RCPT] = "RCPT",
		[KSMTP_PHASE_DATA] = "DATA",
		[KSMTP_PHASE_MESSAGE] = "message",
		[KSMTP_PHASE_QUIT] = "QUIT",
		[KSMTP_PHASE_TLS] = "TLS",
	};

	return phase <= KSMTP_PHASE_MAX ? names[phase] : "unknown";
}
EXPORT_SYMBOL_GPL(ksmtp_phase_name);
