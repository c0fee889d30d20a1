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
#include "resolve.h"

static void client_release(struct kref *ref)
{
	struct ksmtp_client *c = container_of(ref, struct ksmtp_client, ref);

	ksmtp_config_free_strings(&c->cfg);
	kfree(c);
}

static unsigned int or_default(unsigned int ms, unsigned int def)
{
	return ms ?: def;
}

/**
 * ksmtp_check_from() - is @s a from address?
 * @s: the address, not empty
 *
 * Context: any.
 * Return: NULL, or what is wrong, in words.
 */
const char *ksmtp_check_from(const char *s)
{
	bool utf8;

	return ksmtp_check_address(s, &utf8);
}

/**
 * ksmtp_check_rcpts() - is @s a list of recipients?
 * @s: the list, not empty
 *
 * Context: any.
 * Return: NULL, or what is wrong, in words.
 */
const char *ksmtp_check_rcpts(const char *s)
{
	bool utf8;

	return ksmtp_check_rcpt_list(s, &utf8);
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
	return s[0] != '/' ? "CA file must be an absolute path" : NULL;
}

#define CFG_STRING(f, a, m, c, r) {				\
	.off = offsetof(struct ksmtp_config, f), .attr = a, .max = m,	\
	.check = c, .readable = r,					\
}

const struct ksmtp_config_string ksmtp_config_strings[KSMTP_CONFIG_NSTRINGS] = {
	CFG_STRING(kc_username, KSMTP_A_CFG_USERNAME, KSMTP_STR_MAX, NULL, true),
	CFG_STRING(kc_password, KSMTP_A_CFG_PASSWORD, KSMTP_STR_MAX, NULL, false),
	CFG_STRING(kc_from, KSMTP_A_CFG_FROM, KSMTP_ADDR_MAX, ksmtp_check_from, true),
	CFG_STRING(kc_domain, KSMTP_A_CFG_DOMAIN, KSMTP_DOMAIN_MAX, ksmtp_check_domain, true),
	CFG_STRING(kc_rcpt, KSMTP_A_CFG_RCPT, KSMTP_RCPT_LIST_MAX, ksmtp_check_rcpts, true),
	CFG_STRING(kc_tls_name, KSMTP_A_CFG_TLS_NAME, KSMTP_DOMAIN_MAX,
		   ksmtp_check_tls_name, true),
	CFG_STRING(kc_tls_ca_file, KSMTP_A_CFG_TLS_CA_FILE, KSMTP_PATH_MAX,
		   ksmtp_check_ca_file, true),
	CFG_STRING(kc_server_name, KSMTP_A_CFG_SERVER_NAME, KSMTP_HOST_MAX,
		   ksmtp_check_server_name, true),
	CFG_STRING(kc_password_file, KSMTP_A_CFG_PASSWORD_FILE, KSMTP_PASSWORD_FILE_MAX,
		   NULL, true),
};

static const char **cfg_string(const struct ksmtp_config *cfg, unsigned int i)
{
	return ksmtp_config_str(cfg, &ksmtp_config_strings[i]);
}

/* One string of the configuration: at most its longest, no CR or LF, and
 * what its check says when it is not empty.
 */
static const char *check_string(const char *s, unsigned int i)
{
	if (!s)
		return NULL;
	if (strnlen(s, ksmtp_config_strings[i].max + 1) > ksmtp_config_strings[i].max)
		return "string too long";
	if (strpbrk(s, "\r\n"))
		return "string holds CR or LF";
	return s[0] && ksmtp_config_strings[i].check ? ksmtp_config_strings[i].check(s) : NULL;
}

/**
 * ksmtp_config_server_is_host() - is the server given as a host name?
 * @cfg: the configuration
 *
 * Context: any.
 * Return: true when kc_server_name is set and not an address literal.
 */
bool ksmtp_config_server_is_host(const struct ksmtp_config *cfg)
{
	union ksmtp_addr a;

	return cfg->kc_server_name && cfg->kc_server_name[0] &&
	       !ksmtp_addr_literal(cfg->kc_server_name, &a);
}

/**
 * ksmtp_config_check() - is a configuration sound?
 * @cfg: the configuration
 * @complete: it is to make a client of: the server (an address, or a
 *	name) and the from address are required
 * @attr: set to the KSMTP_A_CFG_* attribute at fault, 0 if none is
 *
 * The one check of a configuration, whether it comes from netlink or a
 * driver: every string (its length, no CR or LF, its syntax), the from
 * address not empty, a mechanism other than KSMTP_AUTH_NONE with a user
 * name, and with TLS the server name to verify (a DNS name: tls-name, or
 * else the server's host name) and EHLO.
 *
 * Context: any.
 * Return: NULL, or what is wrong, in words.
 */
const char *ksmtp_config_check(const struct ksmtp_config *cfg, bool complete,
			       int *attr)
{
	const char *why;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings); i++) {
		why = check_string(*cfg_string(cfg, i), i);
		if (why) {
			*attr = ksmtp_config_strings[i].attr;
			return why;
		}
	}
	*attr = KSMTP_A_CFG_SERVER_ADDR;
	if (complete && (!cfg->kc_server_name || !cfg->kc_server_name[0]) &&
	    cfg->kc_server.ss_family != AF_INET &&
	    cfg->kc_server.ss_family != AF_INET6)
		return "the server must be an IPv4 or IPv6 address, or a name";
	*attr = KSMTP_A_CFG_FROM;
	if ((complete || cfg->kc_from) && (!cfg->kc_from || !cfg->kc_from[0]))
		return "from address cannot be empty";
	*attr = KSMTP_A_CFG_AUTH;
	if (cfg->kc_auth > KSMTP_AUTH_MAX)
		return "unknown auth mechanism";
	if (cfg->kc_auth != KSMTP_AUTH_NONE &&
	    (!cfg->kc_username || !cfg->kc_username[0]))
		return "an auth mechanism needs a username";
	*attr = KSMTP_A_CFG_TLS;
	if (cfg->kc_tls > KSMTP_TLS_MAX)
		return "unknown TLS mode";
	if (cfg->kc_tls != KSMTP_TLS_NONE) {
		if ((!cfg->kc_tls_name || !cfg->kc_tls_name[0]) &&
		    !ksmtp_config_server_is_host(cfg))
			return "TLS needs the server name to verify (tls-name), or a host name";
		if (cfg->kc_helo_only)
			return "TLS needs EHLO: helo-only cannot be on";
	}
	*attr = 0;
	return NULL;
}

/**
 * ksmtp_config_dup_strings() - give a configuration its own strings
 * @dst: the configuration whose string pointers are replaced by copies
 *	(on failure, by NULL)
 * @src: where they are copied from (may be @dst)
 * @empty: copy a NULL string as "" rather than NULL
 *
 * Context: process context; may sleep (GFP_KERNEL).
 * Return: 0 or -ENOMEM.
 */
int ksmtp_config_dup_strings(struct ksmtp_config *dst,
			     const struct ksmtp_config *src, bool empty)
{
	const char *copy[ARRAY_SIZE(ksmtp_config_strings)];
	unsigned int i;
	int err = 0;

	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings); i++) {
		const char *s = *cfg_string(src, i);

		copy[i] = s || empty ? kstrdup(s ?: "", GFP_KERNEL) : NULL;
		if ((s || empty) && !copy[i])
			err = -ENOMEM;
	}
	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings); i++)
		*cfg_string(dst, i) = copy[i];
	if (err)
		ksmtp_config_free_strings(dst);
	return err;
}

/**
 * ksmtp_config_free_strings() - free the strings a configuration owns
 * @cfg: the configuration; its strings are NULL afterwards
 *
 * Every one is cleared before it is freed (the password among them).
 *
 * Context: any; does not sleep.
 */
void ksmtp_config_free_strings(struct ksmtp_config *cfg)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ksmtp_config_strings); i++) {
		kfree_sensitive(*cfg_string(cfg, i));
		*cfg_string(cfg, i) = NULL;
	}
}

/* With TLS and no name to verify, the server's host name (its final dot
 * off). ksmtp_config_check() made sure there is one.
 */
static int default_tls_name(struct ksmtp_config *cfg)
{
	const char *name = cfg->kc_server_name;
	size_t len;
	char *s;

	if (cfg->kc_tls == KSMTP_TLS_NONE || cfg->kc_tls_name[0] ||
	    !ksmtp_config_server_is_host(cfg))
		return 0;
	len = strlen(name);
	if (name[len - 1] == '.')
		len--;
	s = kstrndup(name, len, GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	kfree(cfg->kc_tls_name);
	cfg->kc_tls_name = s;
	return 0;
}

/**
 * ksmtp_client_create() - create a client
 * @cfg: the configuration; every string is copied
 *
 * The client is checked here, before any mail: the server is an address
 * (AF_INET or AF_INET6), or a name (a host name or an address literal),
 * the from address local@domain without CR, LF,
 * spaces or angle brackets, the domain a host name or an address literal,
 * the user name and password at most 255 octets without CR or LF, the
 * default recipients a list as in struct ksmtp_mail, and a mechanism other
 * than KSMTP_AUTH_NONE needs a user name. With TLS, the server name to
 * verify is required (a DNS name; by default the server's host name),
 * HELO-only is refused, and a CA file, if any, is an absolute path.
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
	int attr;

	if (ksmtp_config_check(cfg, true, &attr))
		return ERR_PTR(-EINVAL);
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	kref_init(&c->ref);
	c->cfg = *cfg;
	if (ksmtp_config_dup_strings(&c->cfg, cfg, true)) {
		kfree(c);
		return ERR_PTR(-ENOMEM);
	}
	if (default_tls_name(&c->cfg)) {
		ksmtp_config_free_strings(&c->cfg);
		kfree(c);
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
