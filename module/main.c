// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtp: an SMTP client in the kernel, so that drivers can send mail when
 * they detect a fault.
 *
 * The rooms, bottom up:
 *   reply.c, caps.c    the server's replies, the EHLO capabilities
 *   encode.c           the message (headers, body), the checks of mail input
 *   auth.c             the AUTH mechanisms, one table
 *   resolve.c          the server's addresses: a literal, or a host name
 *                      through the kernel's DNS resolver upcall
 *   client.c           a configuration and the client made of it
 *   stats.h            what the attempts came to
 *   events.c           how events leave the lower rooms (a notifier chain),
 *                      and the log line of a mail not sent
 *   trace.c            the tracepoints (trace.h): session phases, queue
 *   tls.c              the TLS handshake upcall (tls_handshake.c with tlshd)
 *   session.c          one SMTP session; ksmtp_mail_send()
 *   queue.c            the queue of mails and its delivery
 *   netns.c            per-namespace state: configuration, default client,
 *                      counters, queue, mails sent at once; the exported
 *                      queue API
 *   netlink.c          the generic netlink family: messages to calls,
 *                      results and events to messages
 *   klog.c             the kernel-log reporter: faults in the kernel's log
 *                      become mails (initial namespace)
 *   main.c             the module: its parts set up in order, undone in
 *                      reverse
 *
 * Layers, bottom first: a file may include and call only files of its own
 * layer or below; no two files may depend on each other.
 *
 *	layer 1: reply caps encode auth events resolve client stats trace
 *	layer 2: tls tls_handshake
 *	layer 3: session
 *	layer 4: queue
 *	layer 5: netns
 *	layer 6: netlink klog
 *	layer 7: main
 *
 * (tests/layers.sh checks this in "make check", from this very block.)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "klog.h"
#include "netlink.h"
#include "netns.h"
#include "queue.h"
#include "tls.h"

static int __init ksmtp_init(void)
{
	int err;

	err = ksmtp_queue_wq_init();
	if (err)
		goto err_queue;
	err = ksmtp_net_init();
	if (err)
		goto err_net;
	err = ksmtp_tls_init();
	if (err)
		goto err_tls;
	err = ksmtp_nl_init();
	if (err)
		goto err_nl;
	err = ksmtp_klog_init();
	if (err)
		goto err_klog;
	pr_info("SMTP client loaded\n");
	return 0;

err_klog:
	ksmtp_nl_exit();
err_nl:
	ksmtp_tls_exit();
err_tls:
	ksmtp_net_exit();
err_net:
	ksmtp_queue_wq_exit();
err_queue:
	return err;
}

static void __exit ksmtp_exit(void)
{
	/* First every session is cut and every queued mail dropped, while
	 * the family still carries their outcomes and events; then the
	 * parts go in the reverse order of ksmtp_init(). The reporter stops
	 * first: it queues mails.
	 */
	ksmtp_klog_exit();
	ksmtp_net_close_all();
	ksmtp_nl_exit();
	ksmtp_tls_exit();
	ksmtp_net_exit();
	ksmtp_queue_wq_exit();
}

module_init(ksmtp_init);
module_exit(ksmtp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("In-kernel SMTP client");
MODULE_AUTHOR("ksmtp developers");
/* The top-level VERSION file (module/Kbuild) */
MODULE_VERSION(KSMTP_VERSION);
