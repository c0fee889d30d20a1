// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtp-tlsd: the TLS handshake helper of ksmtp.ko (6.1 has no
 * net/handshake, so the module asks us, as mainline asks tlshd).
 *
 * It listens on the family's "tls" multicast group. For each request it
 * accepts the handshake (the session's TCP socket arrives as a descriptor),
 * does a TLS 1.3 or 1.2 handshake with GnuTLS, verifies the certificate
 * chain and the server name, installs the kernel TLS transmit and receive
 * state on the socket, closes its descriptor and reports to the module. On
 * any failure it reports why instead. It keeps no secret after that.
 *
 * One handshake at a time; each is bounded by the time the module gives.
 * Needs CAP_NET_ADMIN in its network namespace, and serves that namespace.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/tls.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <linux/ksmtp.h>

#include "nlack.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Ciphers kernel TLS on 6.1 can take over. */
#define PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
		 "-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305"

static bool verbose;
static volatile sig_atomic_t stop;

static void logmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ksmtp-tlsd: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void __attribute__((noreturn)) die(const char *what)
{
	logmsg("%s", what);
	exit(1);
}

/* ---- netlink: one socket for our requests, one for the multicasts ---- */

static struct nl_sock *cmd_sk, *ev_sk;
static int family;

struct reply {
	struct nlattr *tls[KSMTP_A_TLS_MAX + 1];	/* in its KSMTP_A_TLS */
	struct nl_msg *msg;
	int err;
	bool done;
	char errmsg[256];
};

/* The attributes in @msg's KSMTP_A_TLS nest (all NULL without one). */
static void parse_tls(struct nl_msg *msg, struct nlattr **tls)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[KSMTP_A_MAX + 1];

	memset(tls, 0, sizeof(*tls) * (KSMTP_A_TLS_MAX + 1));
	nla_parse(tb, KSMTP_A_MAX, genlmsg_attrdata(gh, 0), genlmsg_attrlen(gh, 0), NULL);
	if (tb[KSMTP_A_TLS])
		nla_parse_nested(tls, KSMTP_A_TLS_MAX, tb[KSMTP_A_TLS], NULL);
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct reply *r = arg;

	parse_tls(msg, r->tls);
	nlmsg_get(msg);
	r->msg = msg;
	return NL_OK;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct reply *r = arg;

	(void)msg;
	r->done = true;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct reply *r = arg;
	const char *text;
	uint32_t offs;

	(void)nla;
	r->err = e->error;
	r->done = true;
	nlack_parse(e, &text, &offs);
	snprintf(r->errmsg, sizeof(r->errmsg), "%s", text ? text : strerror(-e->error));
	return NL_STOP;
}

/* Send @msg on cmd_sk and wait for its reply and ack. */
static int transact(struct nl_msg *msg, struct reply *r)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int err;

	memset(r, 0, sizeof(*r));
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, r);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, r);
	err = nl_send_auto(cmd_sk, msg);
	while (err >= 0 && !r->done)
		err = nl_recvmsgs(cmd_sk, cb);
	nl_cb_put(cb);
	if (err < 0 && !r->done) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", nl_geterror(err));
		return -EIO;
	}
	return r->err;
}

static struct nl_msg *new_msg(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, cmd,
				 KSMTP_GENL_VERSION))
		die("out of memory");
	return msg;
}

/* Open @msg's KSMTP_A_TLS nest: nla_nest_end() closes it. */
static struct nlattr *tls_nest(struct nl_msg *msg)
{
	struct nlattr *nest = nla_nest_start(msg, KSMTP_A_TLS | NLA_F_NESTED);

	if (!nest)
		die("out of memory");
	return nest;
}

static void report(uint64_t id, int status, const char *why, const char *info)
{
	struct nl_msg *msg = new_msg(KSMTP_CMD_TLS_DONE);
	struct nlattr *nest = tls_nest(msg);
	struct reply r;

	nla_put_u64(msg, KSMTP_A_TLS_ID, id);
	nla_put_u32(msg, KSMTP_A_TLS_STATUS, status);
	if (status && why)
		nla_put_string(msg, KSMTP_A_TLS_REASON, why);
	if (!status && info)
		nla_put_string(msg, KSMTP_A_TLS_INFO, info);
	nla_nest_end(msg, nest);
	if (transact(msg, &r))
		logmsg("handshake %llu: the module did not take the report: %s",
		       (unsigned long long)id, r.errmsg);
	if (r.msg)
		nlmsg_free(r.msg);
	nlmsg_free(msg);
}

/* ---- kernel TLS ---- */

static int ktls_dir(int fd, gnutls_session_t ss, int version,
		    gnutls_cipher_algorithm_t cipher, bool rx)
{
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
	union {
		struct tls12_crypto_info_aes_gcm_128 g128;
		struct tls12_crypto_info_aes_gcm_256 g256;
		struct tls12_crypto_info_chacha20_poly1305 cc;
	} ci;
	size_t len, keylen;
	int err;

	if (gnutls_record_get_state(ss, rx, &mac, &iv, &key, seq) < 0)
		return -EIO;
	memset(&ci, 0, sizeof(ci));
	switch (cipher) {
	case GNUTLS_CIPHER_AES_128_GCM:
	case GNUTLS_CIPHER_AES_256_GCM: {
		/* The same layout but for the key's size. */
		bool big = cipher == GNUTLS_CIPHER_AES_256_GCM;
		unsigned char *civ = big ? ci.g256.iv : ci.g128.iv;
		unsigned char *salt = big ? ci.g256.salt : ci.g128.salt;
		unsigned char *ckey = big ? ci.g256.key : ci.g128.key;
		unsigned char *rec = big ? ci.g256.rec_seq : ci.g128.rec_seq;

		keylen = big ? 32 : 16;
		if (key.size != keylen || iv.size < 4 ||
		    (version == TLS_1_3_VERSION && iv.size != 12))
			return -EINVAL;
		ci.g128.info.version = version;
		ci.g128.info.cipher_type = big ? TLS_CIPHER_AES_GCM_256 : TLS_CIPHER_AES_GCM_128;
		memcpy(ckey, key.data, keylen);
		memcpy(salt, iv.data, 4);
		/* TLS 1.3: the 12-octet IV; 1.2: an explicit nonce, the sequence. */
		memcpy(civ, version == TLS_1_3_VERSION ? iv.data + 4 : seq, 8);
		memcpy(rec, seq, 8);
		len = big ? sizeof(ci.g256) : sizeof(ci.g128);
		break;
	}
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		if (key.size != 32 || iv.size != 12)
			return -EINVAL;
		ci.cc.info.version = version;
		ci.cc.info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		memcpy(ci.cc.key, key.data, 32);
		memcpy(ci.cc.iv, iv.data, 12);
		memcpy(ci.cc.rec_seq, seq, 8);
		len = sizeof(ci.cc);
		break;
	default:
		return -EOPNOTSUPP;
	}
	err = setsockopt(fd, SOL_TLS, rx ? TLS_RX : TLS_TX, &ci, len) ? -errno : 0;
	explicit_bzero(&ci, sizeof(ci));
	return err;
}

/* The handshake on @fd; 0, or a positive errno and @why. */
static int handshake(int fd, const char *name, const char *ca, unsigned int timeout_ms,
		     char *info, size_t ilen, char *why, size_t wlen)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_session_t ss = NULL;
	gnutls_cipher_algorithm_t cipher;
	const char *errpos;
	int version, r, status = 0;

	if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
	    gnutls_init(&ss, GNUTLS_CLIENT) < 0) {
		snprintf(why, wlen, "TLS helper out of memory");
		status = ENOMEM;
		goto out;
	}
	r = ca ? gnutls_certificate_set_x509_trust_file(cred, ca, GNUTLS_X509_FMT_PEM) :
		 gnutls_certificate_set_x509_system_trust(cred);
	if (r <= 0) {
		snprintf(why, wlen, "no CA certificate could be read from %s%s%s",
			 ca ? ca : "the system trust store", r < 0 ? ": " : "",
			 r < 0 ? gnutls_strerror(r) : "");
		status = EKEYREJECTED;
		goto out;
	}
	if (gnutls_server_name_set(ss, GNUTLS_NAME_DNS, name, strlen(name)) < 0 ||
	    gnutls_priority_set_direct(ss, PRIORITY, &errpos) < 0 ||
	    gnutls_credentials_set(ss, GNUTLS_CRD_CERTIFICATE, cred) < 0) {
		snprintf(why, wlen, "TLS helper cannot set up the session");
		status = EINVAL;
		goto out;
	}
	gnutls_session_set_verify_cert(ss, name, 0);
	gnutls_transport_set_int(ss, fd);
	gnutls_handshake_set_timeout(ss, timeout_ms);
	do {
		r = gnutls_handshake(ss);
	} while (r < 0 && !gnutls_error_is_fatal(r) && !stop);
	if (r == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t out = { NULL, 0 };
		unsigned int st = gnutls_session_get_verify_cert_status(ss);

		gnutls_certificate_verification_status_print(st, GNUTLS_CRT_X509, &out, 0);
		snprintf(why, wlen, "certificate refused: %s", out.data ? (char *)out.data : "");
		gnutls_free(out.data);
		status = EKEYREJECTED;
		goto out;
	}
	if (r < 0) {
		snprintf(why, wlen, "TLS handshake failed: %s", gnutls_strerror(r));
		status = r == GNUTLS_E_TIMEDOUT ? ETIMEDOUT : ECONNABORTED;
		goto out;
	}
	version = gnutls_protocol_get_version(ss) == GNUTLS_TLS1_3 ? TLS_1_3_VERSION :
		  TLS_1_2_VERSION;
	cipher = gnutls_cipher_get(ss);
	if (gnutls_record_check_pending(ss)) {
		snprintf(why, wlen, "server sent data during the TLS handshake");
		status = EPROTO;
		goto out;
	}
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls"))) {
		r = errno;
		snprintf(why, wlen, "kernel TLS unavailable (tls.ko): %s", strerror(r));
		status = r;
		goto out;
	}
	r = ktls_dir(fd, ss, version, cipher, false);
	if (!r)
		r = ktls_dir(fd, ss, version, cipher, true);
	if (r) {
		snprintf(why, wlen, "kernel TLS refused the %s keys: %s",
			 gnutls_cipher_get_name(cipher), strerror(-r));
		status = -r;
		goto out;
	}
	snprintf(info, ilen, "%s %s", gnutls_protocol_get_name(gnutls_protocol_get_version(ss)),
		 gnutls_cipher_get_name(cipher));
out:
	/* No gnutls_bye(): the session goes on, in the kernel. */
	if (ss)
		gnutls_deinit(ss);
	if (cred)
		gnutls_certificate_free_credentials(cred);
	return status;
}

/* Take request @id (0: the oldest waiting) and do it. False: none waits. */
static bool serve(uint64_t id)
{
	struct nl_msg *msg = new_msg(KSMTP_CMD_TLS_ACCEPT);
	char info[48] = "", why[128] = "";	/* the module's sizes */
	const char *name, *ca;
	unsigned int timeout;
	struct reply r;
	int fd, status;

	if (id) {
		struct nlattr *nest = tls_nest(msg);

		nla_put_u64(msg, KSMTP_A_TLS_ID, id);
		nla_nest_end(msg, nest);
	}
	status = transact(msg, &r);
	nlmsg_free(msg);
	if (status || !r.msg || !r.tls[KSMTP_A_TLS_FD] || !r.tls[KSMTP_A_TLS_ID] ||
	    !r.tls[KSMTP_A_TLS_NAME]) {
		if (status && status != -ENOENT)
			logmsg("cannot accept a handshake: %s", r.errmsg);
		if (r.msg)
			nlmsg_free(r.msg);
		return false;
	}
	id = nla_get_u64(r.tls[KSMTP_A_TLS_ID]);
	fd = nla_get_u32(r.tls[KSMTP_A_TLS_FD]);
	name = nla_get_string(r.tls[KSMTP_A_TLS_NAME]);
	ca = r.tls[KSMTP_A_TLS_CA_FILE] ? nla_get_string(r.tls[KSMTP_A_TLS_CA_FILE]) : NULL;
	timeout = r.tls[KSMTP_A_TLS_TIMEOUT_MS] ? nla_get_u32(r.tls[KSMTP_A_TLS_TIMEOUT_MS]) : 30000;
	status = handshake(fd, name, ca, timeout, info, sizeof(info), why, sizeof(why));
	/* Before the report: the module checks that no descriptor is left. */
	close(fd);
	if (status)
		logmsg("handshake %llu with %s failed: %s", (unsigned long long)id, name, why);
	else if (verbose)
		logmsg("handshake %llu with %s: %s", (unsigned long long)id, name, info);
	report(id, status, why, info);
	nlmsg_free(r.msg);
	return true;
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tls[KSMTP_A_TLS_MAX + 1];

	(void)arg;
	if (gh->cmd != KSMTP_CMD_TLS_REQUEST)
		return NL_OK;
	parse_tls(msg, tls);
	if (tls[KSMTP_A_TLS_ID])
		serve(nla_get_u64(tls[KSMTP_A_TLS_ID]));
	return NL_OK;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char usage[] =
	"usage: ksmtp-tlsd [-v]\n"
	"The TLS handshake helper of ksmtp.ko: keep it running (systemd unit\n"
	"ksmtp-tlsd.service) in each network namespace whose ksmtp uses TLS.\n"
	"-v logs every handshake, not only failures.\n";

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct nl_cb *cb;
	int grp, one = 1;

	if (argc == 2 && !strcmp(argv[1], "-v"))
		verbose = true;
	else if (argc != 1) {
		fputs(usage, argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (gnutls_global_init() < 0)
		die("cannot initialise GnuTLS");

	cmd_sk = nl_socket_alloc();
	ev_sk = nl_socket_alloc();
	if (!cmd_sk || !ev_sk)
		die("out of memory");
	if (genl_connect(cmd_sk) || genl_connect(ev_sk))
		die("cannot open a generic netlink socket");
	setsockopt(nl_socket_get_fd(cmd_sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	family = genl_ctrl_resolve(cmd_sk, KSMTP_GENL_NAME);
	if (family < 0)
		die("generic netlink family 'ksmtp' not found: is ksmtp.ko loaded?");
	grp = genl_ctrl_resolve_grp(ev_sk, KSMTP_GENL_NAME, KSMTP_MCGRP_TLS);
	if (grp < 0 || nl_socket_add_membership(ev_sk, grp))
		die("cannot join the 'tls' group of the ksmtp family");
	nl_socket_disable_seq_check(ev_sk);
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb)
		die("out of memory");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, NULL);
	logmsg("ready");
	/* Requests made before we listened. */
	while (!stop && serve(0))
		;
	while (!stop) {
		struct pollfd p = { .fd = nl_socket_get_fd(ev_sk), .events = POLLIN };

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (nl_recvmsgs(ev_sk, cb) < 0) {
			/* Multicasts lost (buffer overrun): take what waits. */
			while (!stop && serve(0))
				;
		}
	}
	nl_cb_put(cb);
	nl_socket_free(ev_sk);
	nl_socket_free(cmd_sk);
	gnutls_global_deinit();
	return 0;
}
