/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_SESSION_H
#define _KSMTP_SESSION_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/ksmtp.h>

struct ksmtp_client;

/* An open SMTP session, for several mails in a row (session.c) */
struct ksmtp_conn;

/**
 * struct ksmtp_sessions - the sessions an owner may cut at once
 * @lock: protects @list and @dying; held while a session is aborted
 * @list: the sessions open now, from ksmtp_conn_alloc() to the end of
 *	ksmtp_conn_close() (QUIT included)
 * @dying: ksmtp_sessions_abort_all() ran: no session may start
 *
 * The queue and the netlink SEND command each keep one per namespace, so
 * that module unload and namespace exit cut every session in progress,
 * whatever it waits for, instead of waiting for a server's timeout.
 */
struct ksmtp_sessions {
	struct mutex lock; /* @list, @dying; see above */
	struct list_head list;
	bool dying;
};

void ksmtp_sessions_init(struct ksmtp_sessions *reg);
void ksmtp_sessions_abort_all(struct ksmtp_sessions *reg);
void ksmtp_sessions_revive(struct ksmtp_sessions *reg);

struct ksmtp_conn *ksmtp_conn_alloc(struct ksmtp_client *client,
				    struct ksmtp_sessions *reg,
				    struct ksmtp_result *res);
int ksmtp_conn_start(struct ksmtp_conn *conn, struct ksmtp_result *res);
struct ksmtp_conn *ksmtp_conn_open(struct ksmtp_client *client,
				   struct ksmtp_sessions *reg,
				   struct ksmtp_result *res);
bool ksmtp_conn_ready(struct ksmtp_conn *conn);
int ksmtp_conn_mail(struct ksmtp_conn *conn, const struct ksmtp_mail *mail,
		    struct ksmtp_result *res);
bool ksmtp_conn_usable(const struct ksmtp_conn *conn);
void ksmtp_conn_close(struct ksmtp_conn *conn);

int ksmtp_session_run(struct ksmtp_client *client,
		      struct ksmtp_sessions *reg,
		      const struct ksmtp_mail *mail,
		      struct ksmtp_result *res);

#if IS_ENABLED(CONFIG_KSMTP_KUNIT_TEST)
struct socket *ksmtp_conn_socket(const struct ksmtp_conn *conn);
#endif

#endif /* _KSMTP_SESSION_H */
