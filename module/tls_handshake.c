// SPDX-License-Identifier: GPL-2.0
/*
 * TLS handshakes through net/handshake and the standard tlshd, for kernels
 * that have it (6.5 on, CONFIG_NET_HANDSHAKE): the other side of the
 * compile-time switch in Kbuild. Same interface as tls.c (tls.h); the
 * family's TLS_ACCEPT/TLS_DONE commands then refuse, naming tlshd.
 *
 * tlshd takes no per-request CA bundle: its trust store is its own
 * configuration (x509.truststore in /etc/tlshd.conf), so a configured
 * ca-file is refused here rather than silently not used.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/net.h>
#include <linux/jiffies.h>
#include <net/sock.h>
#include <net/inet_connection_sock.h>
#include <net/handshake.h>
#include <net/tls.h>

#include "tls.h"

#if IS_ENABLED(CONFIG_KSMTP_KUNIT_TEST)
int (*ksmtp_tls_test_hook)(struct ksmtp_tls_req *req);
#endif

static void hs_done(void *data, int status, key_serial_t peerid)
{
	struct ksmtp_tls_req *req = data;

	req->status = status;
	/* Pairs with smp_load_acquire() in the waiter: status first. */
	smp_store_release(&req->state, 1);
	complete(&req->done);
}

static const char *cipher_name(u16 cipher)
{
	switch (cipher) {
	case TLS_CIPHER_AES_GCM_128:
		return "AES-128-GCM";
	case TLS_CIPHER_AES_GCM_256:
		return "AES-256-GCM";
	case TLS_CIPHER_CHACHA20_POLY1305:
		return "CHACHA20-POLY1305";
	default:
		return "other";
	}
}

int ksmtp_tls_handshake(struct ksmtp_tls_req *req, unsigned int timeout_ms,
			const bool *aborted)
{
	struct tls_handshake_args args = {
		.ta_sock = req->sock,
		.ta_done = hs_done,
		.ta_data = req,
		.ta_peername = req->name,
		.ta_timeout_ms = timeout_ms,
		.ta_keyring = TLS_NO_KEYRING,
	};
	struct sock *sk = req->sock->sk;
	const struct tls_context *ctx;
	long left;
	int err;

	req->reason[0] = '\0';
	req->info[0] = '\0';
	req->status = 0;
	req->state = 0;
#if IS_ENABLED(CONFIG_KSMTP_KUNIT_TEST)
	if (ksmtp_tls_test_hook)
		return ksmtp_tls_test_hook(req);
#endif
	if (req->ca_file[0]) {
		strscpy(req->reason, "ca-file is not used by tlshd: set its x509.truststore",
			sizeof(req->reason));
		return -EOPNOTSUPP;
	}
	err = tls_client_hello_x509(&args, GFP_KERNEL);
	if (err) {
		strscpy(req->reason, "no TLS helper running (start tlshd)", sizeof(req->reason));
		return -ESRCH;
	}
	left = wait_for_completion_killable_timeout(&req->done,
						    msecs_to_jiffies(timeout_ms));
	/* Pairs with smp_store_release() in hs_done(): status is set. */
	while (!smp_load_acquire(&req->state)) {
		/* Timed out, killed, or the session cut (ksmtp_tls_abort()). */
		if (tls_handshake_cancel(sk)) {
			strscpy(req->reason, READ_ONCE(*aborted) ? "session cut" :
				left < 0 ? "interrupted during the TLS handshake" :
				"TLS handshake timed out", sizeof(req->reason));
			return READ_ONCE(*aborted) ? -ECONNABORTED :
			       left < 0 ? -EINTR : -ETIMEDOUT;
		}
		/* hs_done() runs now: it is the one answer. */
		wait_for_completion(&req->done);
	}
	if (req->status) {
		strscpy(req->reason, req->status == -EACCES || req->status == -EKEYREJECTED ?
			"certificate refused (see tlshd's log)" : "TLS handshake failed",
			sizeof(req->reason));
		return req->status == -EACCES ? -EKEYREJECTED : req->status;
	}
	lock_sock(sk);
	ctx = inet_csk(sk)->icsk_ulp_ops ? tls_get_ctx(sk) : NULL;
	if (ctx && ctx->tx_conf != TLS_BASE && ctx->rx_conf != TLS_BASE)
		snprintf(req->info, sizeof(req->info), "TLS1.%d %s",
			 ctx->prot_info.version == TLS_1_3_VERSION ? 3 : 2,
			 cipher_name(ctx->prot_info.cipher_type));
	release_sock(sk);
	if (!req->info[0]) {
		strscpy(req->reason, "tlshd left no kernel TLS on the socket",
			sizeof(req->reason));
		return -EPROTO;
	}
	return 0;
}

void ksmtp_tls_abort(struct ksmtp_tls_req *req)
{
	complete(&req->done);
}

int ksmtp_tls_accept(struct net *net, u64 id, u32 portid,
		     struct ksmtp_tls_accepted *out)
{
	return -EOPNOTSUPP;
}

void ksmtp_tls_unaccept(struct net *net, u64 id, u32 portid)
{
}

int ksmtp_tls_done(struct net *net, u64 id, u32 portid, u32 status,
		   const char *reason, const char *info)
{
	return -EOPNOTSUPP;
}

int ksmtp_tls_init(void)
{
	return 0;
}

void ksmtp_tls_exit(void)
{
}
