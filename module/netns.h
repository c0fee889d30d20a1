/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per network namespace state (netns.c): the configuration and the default
 * client made of it, the counters, the queue, and the mails KSMTP_CMD_SEND
 * hands over to be sent at once.
 */
#ifndef _KSMTP_NETNS_H
#define _KSMTP_NETNS_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/atomic.h>
#include <linux/ksmtp.h>
#include <linux/uidgid.h>
#include <net/netns/generic.h>

#include "client.h"
#include "queue.h"
#include "session.h"
#include "stats.h"

/* Mails sent at once (not queued) in one namespace at the same time, at most */
#define KSMTP_SENDS_MAX		64
/* Of those, the sends of send group members (no CAP_NET_ADMIN), at most */
#define KSMTP_SENDS_MEMBER_MAX	(KSMTP_SENDS_MAX / 2)

/**
 * struct ksmtp_klog_cfg - the kernel-log reporter's configuration
 * @enable: on (the initial namespace only)
 * @level: lines of this log level or more severe start a report too;
 *	KSMTP_KLOG_LEVEL_PATTERNS: only the lines that start a fault report
 * @context: lines before the first one that go with it
 * @window_ms: the lines that follow within this time join the report
 * @per_hour: reports mailed per hour at most
 */
struct ksmtp_klog_cfg {
	bool enable;
	unsigned int level;
	unsigned int context;
	unsigned int window_ms;
	unsigned int per_hour;
};

/* KSMTP_A_CFG_KLOG_LEVEL's "no level, the fault patterns only" */
#define KSMTP_KLOG_LEVEL_PATTERNS	8
/* KSMTP_A_CFG_KLOG_CONTEXT's highest */
#define KSMTP_KLOG_CONTEXT_MAX		32

/**
 * ksmtp_klog_default_cfg() - the reporter's defaults (the uAPI's)
 * @k: set to them
 *
 * Context: any.
 */
static inline void ksmtp_klog_default_cfg(struct ksmtp_klog_cfg *k)
{
	*k = (struct ksmtp_klog_cfg){
		.level = KSMTP_KLOG_LEVEL_PATTERNS,
		.context = 8,
		.window_ms = 5000,
		.per_hour = 6,
	};
}

/**
 * struct ksmtp_net_cfg - a namespace's configuration
 * @c: the client's part; its strings are owned (NULL: never set). At most
 *	one of the server's address and name is set.
 * @server_set: a server address (@c.kc_server) is set
 * @limits: the queue's
 * @send_gid: the group whose members may send without CAP_NET_ADMIN
 * @send_gid_set: @send_gid is set (else no such group)
 * @klog: the kernel-log reporter's (used in the initial namespace only)
 */
struct ksmtp_net_cfg {
	struct ksmtp_config c;
	bool server_set;
	struct ksmtp_queue_limits limits;
	kgid_t send_gid;
	bool send_gid_set;
	struct ksmtp_klog_cfg klog;
};

/**
 * ksmtp_net_cfg_configured() - may a client be made of @cfg?
 * @cfg: a namespace's configuration
 *
 * Context: any.
 * Return: true when a server (its address or its name) and the from
 * address are set.
 */
static inline bool ksmtp_net_cfg_configured(const struct ksmtp_net_cfg *cfg)
{
	return (cfg->server_set || (cfg->c.kc_server_name && cfg->c.kc_server_name[0])) &&
	       cfg->c.kc_from && cfg->c.kc_from[0];
}

/**
 * struct ksmtp_net - per network namespace state
 * @lock: serialises configuration updates and reads of @cfg
 * @cfg: the configuration (its limits are the queue's, read there)
 * @client_lock: protects @client
 * @client: the default client, NULL until server and from are set
 * @stats: what the attempts came to
 * @queue: the queue of mails to deliver (queue.c)
 * @sends: sessions of the mails sent at once, cut at namespace exit and
 *	unload
 * @sends_lock: protects @sends_list, @nsends and @sends_closing
 * @sends_list: the mails sent at once, from ksmtp_net_send_new() to their
 *	end
 * @nsends: their number, at most KSMTP_SENDS_MAX
 * @nsends_member: those of send group members, at most
 *	KSMTP_SENDS_MEMBER_MAX
 * @sends_closing: namespace exit or unload began: no new send
 * @send_ids: the last id given to such a mail
 * @node: in netns.c's list of every namespace's state (unload)
 */
struct ksmtp_net {
	struct mutex lock; /* configuration updates; never across a session */
	struct ksmtp_net_cfg cfg;
	spinlock_t client_lock; /* @client; only to take a reference */
	struct ksmtp_client *client;
	struct ksmtp_stats stats;
	struct ksmtp_queue queue;
	struct ksmtp_sessions sends;
	spinlock_t sends_lock; /* see above */
	struct list_head sends_list;
	unsigned int nsends;
	unsigned int nsends_member;
	bool sends_closing;
	atomic64_t send_ids;
	struct list_head node;
};

extern unsigned int ksmtp_net_id;

static inline struct ksmtp_net *ksmtp_net(const struct net *net)
{
	return net_generic(net, ksmtp_net_id);
}

int ksmtp_net_init(void);
void ksmtp_net_close_all(void);
void ksmtp_net_exit(void);

struct ksmtp_client *ksmtp_net_client(struct ksmtp_net *kn);
struct ksmtp_client *ksmtp_net_set_client(struct ksmtp_net *kn,
					  struct ksmtp_client *client);

/**
 * typedef ksmtp_net_cfg_fn - read or change a namespace's configuration
 * @arg: the caller's
 * @cfg: the configuration (a copy to change, for ksmtp_net_configure())
 *
 * Called under the namespace's configuration mutex: it may sleep, but
 * must not wait for the network.
 *
 * Return: 0, or a negative errno that ends the read or the change.
 */
typedef int (*ksmtp_net_cfg_fn)(void *arg, struct ksmtp_net_cfg *cfg);

int ksmtp_net_configure(struct ksmtp_net *kn, bool replace, ksmtp_net_cfg_fn change,
			void *arg, const char **why, int *attr);
int ksmtp_net_config_read(struct ksmtp_net *kn, ksmtp_net_cfg_fn read, void *arg);

/* A mail being sent at once (netns.c) */
struct ksmtp_send;

/**
 * typedef ksmtp_send_done_fn - how a mail sent at once ended
 * @arg: the caller's
 * @id: its id
 * @res: the result
 *
 * Called once, in process context (a worker, or the path that closes the
 * namespace), unless the send was dropped with ksmtp_net_send_drop().
 */
typedef void (*ksmtp_send_done_fn)(void *arg, u64 id, const struct ksmtp_result *res);

struct ksmtp_send *ksmtp_net_send_new(struct ksmtp_net *kn, struct ksmtp_mail *mail,
				      bool member, ksmtp_send_done_fn done, void *arg);
u64 ksmtp_net_send_id(const struct ksmtp_send *s);
void ksmtp_net_send_go(struct ksmtp_send *s);
int ksmtp_mail_queue_kernel(const struct ksmtp_queue_args *args, u64 *id);
void ksmtp_net_send_drop(struct ksmtp_send *s);

#endif /* _KSMTP_NETNS_H */
