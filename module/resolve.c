// SPDX-License-Identifier: GPL-2.0
/*
 * The server's addresses. An address literal ("192.0.2.1", "2001:db8::1",
 * "[2001:db8::1]") is taken as it is. A host name goes to the kernel's DNS
 * resolver (net/dns_resolver, as CIFS and NFS use it): dns_query() asks
 * for a key of type dns_resolver, which the kernel's request-key upcall
 * has keyutils' key.dns_resolver make (getaddrinfo(), in the initial
 * namespaces' userspace, whatever namespace asks). With the option "list"
 * it answers every address, IPv6 and IPv4, in getaddrinfo()'s order, as
 * text separated by commas; without it, one IPv4 address only.
 *
 * Each session asks anew: the key made for ksmtp is invalidated as soon
 * as it is read, so a relay whose address changed is found at the next
 * session, and no list of ksmtp's stays in the cache where NFS or CIFS,
 * which look keys up by name alone and want one address, would find it.
 * An answer cached for them (one IPv4 address, for their TTL) may be what
 * ksmtp finds.
 *
 * dns_query() sleeps, uninterruptibly, until the upcall is done: as long
 * as request-key and the resolver take (resolv.conf: 5 s per try and
 * server by default; a stuck helper has no bound). Only a session's
 * worker, or a driver's ksmtp_mail_send(), calls it, never a netlink
 * handler, and with no lock of ksmtp's held. It runs holding a reference
 * on the module, so that rmmod meanwhile fails ("in use") rather than
 * waiting for the upcall while holding up namespace creation.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/ctype.h>
#include <linux/errno.h>
#include <linux/inet.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/dns_resolver.h>

#include "resolve.h"

/* A part of dotted decimal @s with a leading zero ("010"): in4_pton()
 * reads it as decimal, the C library's inet_aton() and getaddrinfo() as
 * octal, so the admin and the kernel would mean two addresses: refused.
 */
static bool v4_leading_zero(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (s[i] == '0' && (i == 0 || s[i - 1] == '.') && isdigit(s[i + 1]))
			return true;
	return false;
}

/* @s (not NUL-terminated) is exactly one IPv4 or IPv6 address. */
static bool addr_parse(const char *s, size_t len, union ksmtp_addr *a)
{
	const char *end;

	memset(a, 0, sizeof(*a));
	if (!len || len > KSMTP_ADDR_TEXT_MAX)
		return false;
	/* With no delimiter (-1) both stop at any octet they do not take:
	 * only an end at @len means the whole of @s is the address.
	 */
	if (in4_pton(s, len, (u8 *)&a->v4.sin_addr.s_addr, -1, &end) && end == s + len) {
		if (v4_leading_zero(s, len))
			goto bad;
		a->v4.sin_family = AF_INET;
		return true;
	}
	if (in6_pton(s, len, a->v6.sin6_addr.s6_addr, -1, &end) && end == s + len) {
		a->v6.sin6_family = AF_INET6;
		return true;
	}
bad:
	memset(a, 0, sizeof(*a));
	return false;
}

/**
 * ksmtp_addr_literal() - is @name an address rather than a host name?
 * @name: the server as configured
 * @a: set to the address (its port 0) when it is one
 *
 * An IPv4 address in dotted decimal, an IPv6 address, or either in
 * brackets ("[2001:db8::1]").
 *
 * Context: any.
 * Return: true when @name is an address literal.
 */
bool ksmtp_addr_literal(const char *name, union ksmtp_addr *a)
{
	size_t len = strlen(name);

	if (len >= 2 && name[0] == '[' && name[len - 1] == ']')
		return addr_parse(name + 1, len - 2, a);
	return addr_parse(name, len, a);
}

/* An octet of a host name: an ASCII letter or digit, '-' or '_' (the
 * kernel's ctype takes Latin-1's letters for letters too).
 */
static bool host_char(char c)
{
	return isascii(c) && (isalnum(c) || c == '-' || c == '_');
}

/* What inet_aton() takes: 1 to 4 parts separated by dots, each decimal,
 * octal or hexadecimal ("0x..."); a final dot aside.
 */
static bool inet_aton_form(const char *name)
{
	unsigned int parts = 0;
	const char *p = name;

	while (*p) {
		if (++parts > 4)
			return false;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			for (p += 2; isxdigit(*p); p++)
				;
		} else {
			if (!isdigit(*p))
				return false;
			while (isdigit(*p))
				p++;
		}
		if (*p == '.')
			p++;
		else if (*p)
			return false;
	}
	return parts > 0;
}

/**
 * ksmtp_check_server_name() - may @name be the server's name?
 * @name: an address literal or a host name, not empty
 *
 * A host name is labels of letters, digits, '-' and '_' separated by dots
 * (one final dot allowed), each of 1 to 63 octets, the last not all
 * digits and the whole not what the C library's inet_aton() takes for an
 * IPv4 address ("127.1", "0x7f000001", "0x7f.0x1": getaddrinfo() would
 * connect there, and the name would become the TLS name), 3 octets at least in
 * all (the kernel's resolver takes no shorter name). A kernel without
 * CONFIG_DNS_RESOLVER takes address literals only.
 *
 * Context: any.
 * Return: NULL, or what is wrong, in words.
 */
const char *ksmtp_check_server_name(const char *name)
{
	const char *p, *q, *start = name;
	union ksmtp_addr a;
	bool numeric = false;

	if (ksmtp_addr_literal(name, &a))
		return NULL;
	if (name[0] == '[')
		return "server name is not a valid address literal";
	for (p = name; ; p++) {
		if (*p && *p != '.') {
			if (!host_char(*p))
				return "server name holds a character not allowed in a host name";
			continue;
		}
		if (p == start) {
			if (!*p && p > name)
				break;	/* one final dot */
			return "server name has an empty label";
		}
		if (p - start > 63)
			return "server name has a label longer than 63 octets";
		numeric = true;
		for (q = start; q < p && numeric; q++)
			numeric = isdigit(*q);
		if (!*p)
			break;
		start = p + 1;
	}
	if (numeric || inet_aton_form(name))
		return "server name is neither an address nor a host name";
	if (p - name < 3)
		return "server name must be 3 octets at least (the kernel's resolver wants 3)";
	if (!IS_ENABLED(CONFIG_DNS_RESOLVER))
		return "this kernel has no DNS resolver (CONFIG_DNS_RESOLVER): give an address";
	return NULL;
}

/**
 * ksmtp_resolve_parse() - the addresses in the resolver's answer
 * @answer: the answer: addresses separated by commas (not NUL-terminated)
 * @len: its length
 * @addrs: set to the first KSMTP_ADDRS_MAX distinct addresses, in order
 * @why: set to what is wrong, in words, on failure
 *
 * Every part up to the KSMTP_ADDRS_MAX-th distinct address must be exactly
 * one IPv4 or IPv6 address: an empty answer, an empty part, a NUL, a
 * space, a port, a scope or any other octet there refuse the whole
 * answer. What follows is not read (keyutils answers up to 128
 * addresses: over 4 KiB of IPv6 ones).
 *
 * Context: any.
 * Return: 0, or -EBADMSG (and @addrs->n is 0).
 */
int ksmtp_resolve_parse(const char *answer, size_t len, struct ksmtp_addrs *addrs,
			const char **why)
{
	const char *p = answer, *end = answer + len, *comma;
	union ksmtp_addr a;
	unsigned int i;

	addrs->n = 0;
	if (!len) {
		*why = "the resolver's answer is empty";
		return -EBADMSG;
	}
	for (;;) {
		comma = memchr(p, ',', end - p) ?: end;
		if (!addr_parse(p, comma - p, &a)) {
			addrs->n = 0;
			*why = "the resolver's answer is not a list of addresses";
			return -EBADMSG;
		}
		for (i = 0; i < addrs->n; i++)
			if (!memcmp(&addrs->addr[i], &a, sizeof(a)))
				break;
		if (i == addrs->n)
			addrs->addr[addrs->n++] = a;
		if (comma == end || addrs->n == KSMTP_ADDRS_MAX)
			return 0;
		p = comma + 1;
	}
}

/* What dns_query()'s error means, as one of a few errnos, in words. A
 * key the upcall rejected carries the upcall's number: keyutils 1.6's
 * key.dns_resolver passes the resolver's h_errno as it is (NO_DATA, 4,
 * for any failed address lookup, reads as EINTR), later ones an errno.
 * No request-key program: -ENOENT, then -ENOKEY while that is cached. A
 * signal while waiting for the upcall comes as -ERESTARTSYS.
 */
static int resolve_error(int err, const char **why)
{
	switch (err) {
	case -ENODATA:
	case -EINTR:
	case -EPERM:
		*why = "no address (no such host, or no DNS server answered)";
		return -ENODATA;
	case -EAGAIN:
		*why = "temporary DNS failure";
		return -EAGAIN;
	case -ECONNREFUSED:
	case -ESRCH:
		*why = "DNS server failure";
		return -ECONNREFUSED;
	case -ENOKEY:
	case -ENOENT:
		*why = "no DNS upcall (keyutils' request-key and key.dns_resolver)";
		return -ENOKEY;
	case -EKEYREJECTED:
	case -EKEYREVOKED:
	case -EKEYEXPIRED:
		*why = "the DNS upcall refused the query";
		return -EKEYREJECTED;
	case -EINVAL:
		*why = "the kernel's resolver does not take this name";
		return -EINVAL;
	case -ENOMEM:
		*why = "out of memory";
		return -ENOMEM;
	case -ERESTARTSYS:
		*why = "interrupted by a signal";
		return -EINTR;
	default:
		*why = "DNS resolver error";
		return -EHOSTUNREACH;
	}
}

/**
 * ksmtp_resolve() - the addresses to try for the server @name
 * @net: the namespace the session runs in (the answer is cached there)
 * @name: an address literal or a host name (ksmtp_check_server_name())
 * @addrs: set to the addresses, in the order to try them
 * @why: set to what is wrong, in words, on failure
 *
 * An address literal needs no upcall. A host name is resolved (or found
 * in the kernel's cache) through dns_query(); its answer is checked
 * (ksmtp_resolve_parse()).
 *
 * Context: process context, no lock held; sleeps uninterruptibly, as long
 * as the upcall takes. Never from a netlink handler.
 * Return: 0; -EOPNOTSUPP without CONFIG_DNS_RESOLVER; -EBADMSG for an
 * answer that is not a list of addresses; -ENODATA no address, -EAGAIN a
 * temporary failure, -ECONNREFUSED a DNS server failure, -ENOKEY no
 * upcall, -EKEYREJECTED refused by it, -EINVAL a name it does not take,
 * -ENOMEM, -EINTR a signal, -ESHUTDOWN the module is being unloaded,
 * -EHOSTUNREACH any other error.
 */
int ksmtp_resolve(struct net *net, const char *name, struct ksmtp_addrs *addrs,
		  const char **why)
{
	char *answer = NULL;
	int len, err;

	addrs->n = 0;
	if (ksmtp_addr_literal(name, &addrs->addr[0])) {
		addrs->n = 1;
		return 0;
	}
	if (!IS_ENABLED(CONFIG_DNS_RESOLVER)) {
		*why = "this kernel has no DNS resolver (CONFIG_DNS_RESOLVER)";
		return -EOPNOTSUPP;
	}
	if (!try_module_get(THIS_MODULE)) {
		*why = "the module is being unloaded";
		return -ESHUTDOWN;
	}
	len = dns_query(net, NULL, name, strlen(name), "list", &answer, NULL, true);
	module_put(THIS_MODULE);
	if (len < 0)
		return resolve_error(len, why);
	err = ksmtp_resolve_parse(answer, len, addrs, why);
	kfree(answer);
	return err;
}
