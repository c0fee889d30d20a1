/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The server's addresses (resolve.c): an address literal as it is, a host
 * name through the kernel's DNS resolver upcall.
 */
#ifndef _KSMTP_RESOLVE_H
#define _KSMTP_RESOLVE_H

#include <linux/types.h>
#include <linux/in.h>
#include <linux/in6.h>

struct net;

/* Addresses of a name tried per session at most; the others are ignored */
#define KSMTP_ADDRS_MAX		8
/* The longest address in text: an IPv6 address with a dotted IPv4 tail */
#define KSMTP_ADDR_TEXT_MAX	45
/* The longest host name (RFC 1035 2.3.4, without the final dot) */
#define KSMTP_HOST_MAX		253

/**
 * union ksmtp_addr - one address of the server, its port not set
 * @sa: its family
 * @v4: AF_INET
 * @v6: AF_INET6
 */
union ksmtp_addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/**
 * struct ksmtp_addrs - the addresses to try, in order
 * @n: how many
 * @addr: the addresses
 */
struct ksmtp_addrs {
	unsigned int n;
	union ksmtp_addr addr[KSMTP_ADDRS_MAX];
};

bool ksmtp_addr_literal(const char *name, union ksmtp_addr *a);
const char *ksmtp_check_server_name(const char *name);
int ksmtp_resolve_parse(const char *answer, size_t len, struct ksmtp_addrs *addrs,
			const char **why);
int ksmtp_resolve(struct net *net, const char *name, struct ksmtp_addrs *addrs,
		  const char **why);

#endif /* _KSMTP_RESOLVE_H */
