/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_NETNS_H
#define _KSMTP_NETNS_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/ksmtp.h>
#include <net/netns/generic.h>

#include "queue.h"
#include "session.h"

/* KSMTP_CMD_SEND mails being delivered at once in one namespace, at most */
#define KSMTP_SENDS_MAX		64

struct ksmtp_nlcfg {
	struct ksmtp_config c;
	char *user;
	char *pass;
	char *from;
	char *domain;
	char *rcpt;
	char *tls_name;
	char *ca_file;
	bool server_set;
};

/**
 * struct ksmtp_net - per network namespace state
 * @lock: serialises configuration updates and reads of @cfg
 * @cfg: the configuration as set by userspace (strings owned)
 * @client_lock: protects @client and @last
 * @client: the default client, NULL until server and from are set
 * @last: the last failure
 * @sent: mails accepted by the server
 * @failed_transient: mails that failed, a retry may succeed
 * @failed_permanent: mails that failed for good
 * @failed_phase: failures by phase
 * @queue: the queue of mails to deliver (queue.c)
 * @sends: sessions of KSMTP_CMD_SEND mails, cut at namespace exit and unload
 * @sends_lock: protects @sends_list, @nsends, @sends_closing and each
 *	send's port id
 * @sends_list: the SEND mails accepted and not yet answered (netlink.c)
 * @nsends: their number, at most KSMTP_SENDS_MAX
 * @sends_closing: namespace exit or unload began: no new SEND
 * @send_ids: the last id given to a SEND mail
 * @node: in netlink.c's list of every namespace's state (unload)
 */
struct ksmtp_net {
	struct mutex lock; /* configuration updates; never across a session */
	struct ksmtp_nlcfg cfg;
	spinlock_t client_lock; /* @client and @last; only to take a reference */
	struct ksmtp_client *client;
	struct ksmtp_result last;
	atomic64_t sent;
	atomic64_t failed_transient;
	atomic64_t failed_permanent;
	atomic64_t failed_phase[KSMTP_PHASE_MAX + 1];
	struct ksmtp_queue queue;
	struct ksmtp_sessions sends;
	spinlock_t sends_lock; /* see above */
	struct list_head sends_list;
	unsigned int nsends;
	bool sends_closing;
	atomic64_t send_ids;
	struct list_head node;
};

extern unsigned int ksmtp_net_id;

static inline struct ksmtp_net *ksmtp_net(const struct net *net)
{
	return net_generic(net, ksmtp_net_id);
}

struct ksmtp_client *ksmtp_net_client(struct ksmtp_net *kn);
struct ksmtp_client *ksmtp_net_set_client(struct ksmtp_net *kn,
					  struct ksmtp_client *client);
char *ksmtp_net_default_rcpt(struct ksmtp_net *kn);
void ksmtp_net_account(struct ksmtp_net *kn, const struct ksmtp_result *r);

#endif /* _KSMTP_NETNS_H */
