/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The TLS upcall: one small interface between the session engine and
 * whoever does the handshake. On 6.1 that is our own helper (ksmtp-tlsd)
 * over the family's genl commands (tls.c); the session then reads and
 * writes through kernel TLS on the same socket. See README.md ("TLS") for
 * using net/handshake's tlshd on kernels that have it instead.
 */
#ifndef _KSMTP_TLS_H
#define _KSMTP_TLS_H

#include <linux/list.h>
#include <linux/completion.h>
#include <linux/ksmtp.h>

#include "encode.h"
#include <linux/fs.h>

struct socket;
struct net;

/**
 * struct ksmtp_tls_req - one handshake, owned by its session
 * @node: in the list of handshakes waiting for or held by a helper
 * @net: the session's namespace (the helper must run in it)
 * @id: unique, what the helper names the handshake by
 * @sock: the session's socket; it has a file (sock->file)
 * @name: the server name to verify
 * @ca_file: the CA bundle, "" for the system trust store
 * @deadline: jiffies by which the handshake must be done
 * @portid: the netlink port of the helper that accepted it
 * @state: KSMTP_TLS_REQ_*
 * @status: 0 or a negative errno, once done
 * @done: completed when the helper reports, dies, or the session is cut
 * @reason: the failure in words
 * @info: the version and cipher, on success
 */
struct ksmtp_tls_req {
	struct list_head node;
	struct net *net;
	u64 id;
	struct socket *sock;
	const char *name;
	const char *ca_file;
	unsigned long deadline;
	u32 portid;
	int state;
	int status;
	struct completion done;
	char reason[KSMTP_REASON_MAX];
	char info[KSMTP_TLS_INFO_MAX];
};

/**
 * ksmtp_tls_req_init() - prepare a session's handshake request
 * @req: the request
 *
 * Context: any.
 */
static inline void ksmtp_tls_req_init(struct ksmtp_tls_req *req)
{
	INIT_LIST_HEAD(&req->node);
	init_completion(&req->done);
}

int ksmtp_tls_handshake(struct ksmtp_tls_req *req, unsigned int timeout_ms,
			const bool *aborted);
void ksmtp_tls_abort(struct ksmtp_tls_req *req);

int ksmtp_tls_init(void);
void ksmtp_tls_exit(void);

/**
 * struct ksmtp_tls_accepted - a handshake a helper took
 * @id: the request's id
 * @file: the session socket's file (a reference)
 * @name: the server name to verify
 * @ca_file: the CA bundle, "" for the system trust store
 * @timeout_ms: the time left for the handshake
 */
struct ksmtp_tls_accepted {
	u64 id;
	struct file *file;
	char name[KSMTP_DOMAIN_MAX + 1];
	char ca_file[KSMTP_PATH_MAX + 1];
	unsigned int timeout_ms;
};

int ksmtp_tls_accept(struct net *net, u64 id, u32 portid,
		     struct ksmtp_tls_accepted *out);
void ksmtp_tls_unaccept(struct net *net, u64 id, u32 portid);
int ksmtp_tls_done(struct net *net, u64 id, u32 portid, u32 status,
		   const char *reason, const char *info);

#if IS_ENABLED(CONFIG_KSMTP_KUNIT_TEST)
/* KUnit replaces the helper to script what comes after the handshake. */
extern int (*ksmtp_tls_test_hook)(struct ksmtp_tls_req *req);
#endif

#endif /* _KSMTP_TLS_H */
