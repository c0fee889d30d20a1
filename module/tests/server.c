// SPDX-License-Identifier: GPL-2.0
/*
 * A scripted SMTP server for the session suites: a kernel thread that
 * accepts one connection on 127.0.0.1 or ::1, plays its script, and
 * records every byte the client sent. Script lines:
 *
 *   "S<bytes>"  send; each '|' splits the bytes into separate TCP segments
 *   "R"         read one line from the client
 *   "D"         read the message, up to CR LF . CR LF
 *   "W<ms>"     wait
 *   "T<ms>"     trickle the rest of this line's bytes, one every <ms>:
 *               "T100:220 hi\r\n"
 *   "L<ms>"     read slowly: at most 4 KiB every <ms>, discarded, for 3 s
 *   "C"         close the connection now
 *   "Z"         stay silent until the client closes
 *
 * After the last line the server reads until the client closes, so that
 * whatever the client still sends (QUIT) is recorded too.
 */
#include <linux/kthread.h>
#include <linux/delay.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/tcp.h>
#include <linux/rtnetlink.h>
#include <linux/netdevice.h>
#include <linux/string.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/net_namespace.h>

#include "server.h"

#define SRV_TIMEOUT	(5 * HZ)

/**
 * ksmtp_test_lo_up() - bring up "lo" of init_net: KUnit runs before userspace
 *
 * Return: 0 or a negative errno.
 */
int ksmtp_test_lo_up(void)
{
	struct net_device *dev;
	int err = -ENODEV;

	rtnl_lock();
	dev = __dev_get_by_name(&init_net, "lo");
	if (dev)
		err = (dev->flags & IFF_UP) ? 0 : dev_open(dev, NULL);
	rtnl_unlock();
	return err;
}

static int addr_len(int family)
{
	return family == AF_INET ? sizeof(struct sockaddr_in) :
				   sizeof(struct sockaddr_in6);
}

static void loopback(int family, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = family;
	if (family == AF_INET)
		((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
}

/* Bind to loopback, port 0; ::1 may still be tentative just after lo up. */
static int bind_loopback(struct socket *sock, int family,
			 struct sockaddr_storage *ss)
{
	int i, err = 0;

	loopback(family, ss);
	for (i = 0; i < 100; i++) {
		err = kernel_bind(sock, (struct sockaddr *)ss, addr_len(family));
		if (err != -EADDRNOTAVAIL)
			break;
		msleep(20);
	}
	if (err)
		return err;
	return kernel_getsockname(sock, (struct sockaddr *)ss) < 0 ? -EIO : 0;
}

/**
 * ksmtp_test_refused_addr() - a loopback address where nobody listens
 * @test: the test
 * @family: AF_INET or AF_INET6
 * @addr: set to the address, with its port
 */
void ksmtp_test_refused_addr(struct kunit *test, int family,
			     struct sockaddr_storage *addr)
{
	struct socket *sock;

	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, family, SOCK_STREAM,
					       IPPROTO_TCP, &sock), 0);
	KUNIT_ASSERT_EQ(test, bind_loopback(sock, family, addr), 0);
	sock_release(sock);
}

static int srv_recv(struct ksmtp_test_server *srv, struct socket *c)
{
	struct msghdr msg = {};
	struct kvec iov;
	int ret;

	if (srv->rx_len == srv->rx_cap)
		return -ENOSPC;
	iov.iov_base = srv->rx + srv->rx_len;
	iov.iov_len = srv->rx_cap - srv->rx_len;
	ret = kernel_recvmsg(c, &msg, &iov, 1, iov.iov_len, 0);
	if (ret > 0)
		srv->rx_len += ret;
	return ret;
}

static int srv_send(struct socket *c, const char *buf, size_t len)
{
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };

	return len ? kernel_sendmsg(c, &msg, &iov, 1, len) : 0;
}

/* Read until @needle appears after srv->scan; consume through it. */
static int srv_read_until(struct ksmtp_test_server *srv, struct socket *c,
			  const char *needle)
{
	size_t nlen = strlen(needle);
	int ret;

	for (;;) {
		char *hit = NULL;

		if (srv->rx_len >= srv->scan + nlen)
			hit = strnstr(srv->rx + srv->scan, needle,
				      srv->rx_len - srv->scan);
		if (hit) {
			srv->scan = hit - srv->rx + nlen;
			return 0;
		}
		ret = srv_recv(srv, c);
		if (ret <= 0)
			return ret ?: -ECONNRESET;
	}
}

/* A server that reads a message slowly, for 3 s: 4 KiB every @ms. */
static int srv_read_slowly(struct socket *c, unsigned int ms)
{
	unsigned long end = jiffies + 3 * HZ;
	struct msghdr msg = {};
	struct kvec iov;
	char *buf;
	int ret = 0;

	buf = kmalloc(4096, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	while (time_before(jiffies, end)) {
		iov.iov_base = buf;
		iov.iov_len = 4096;
		ret = kernel_recvmsg(c, &msg, &iov, 1, iov.iov_len, MSG_DONTWAIT);
		if (ret == 0 || (ret < 0 && ret != -EAGAIN))
			break;
		msleep(ms);
	}
	kfree(buf);
	return ret < 0 && ret != -EAGAIN ? ret : 0;
}

static int srv_play(struct ksmtp_test_server *srv, struct socket *c)
{
	const char * const *step;
	unsigned int ms;
	int err = 0;

	for (step = srv->script; *step && !err; step++) {
		const char *s = *step;
		const char *bar;

		switch (s[0]) {
		case 'S':
			s++;
			while ((bar = strchr(s, '|'))) {
				err = srv_send(c, s, bar - s);
				if (err < 0)
					return err;
				msleep(20);
				s = bar + 1;
			}
			err = srv_send(c, s, strlen(s));
			err = err < 0 ? err : 0;
			break;
		case 'T':
			if (sscanf(s + 1, "%u:", &ms) != 1)
				return -EINVAL;
			for (s = strchr(s, ':') + 1; *s && !err; s++) {
				err = srv_send(c, s, 1);
				err = err < 0 ? err : 0;
				msleep(ms);
			}
			break;
		case 'R':
			err = srv_read_until(srv, c, "\n");
			break;
		case 'D':
			err = srv_read_until(srv, c, "\r\n.\r\n");
			break;
		case 'W':
			if (kstrtouint(s + 1, 10, &ms))
				return -EINVAL;
			msleep(ms);
			break;
		case 'L':
			if (kstrtouint(s + 1, 10, &ms))
				return -EINVAL;
			err = srv_read_slowly(c, ms);
			break;
		case 'C':
			return 0;
		case 'Z':
			while ((err = srv_recv(srv, c)) > 0)
				;
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (err)
		return err;
	/* Record whatever the client still sends, until it closes. */
	while (srv_recv(srv, c) > 0)
		;
	return 0;
}

/**
 * ksmtp_test_server_thread() - serve one connection of @data's socket
 * @data: the struct ksmtp_test_server
 *
 * Return: 0; the outcome is in srv->err, srv->done completes at the end.
 */
int ksmtp_test_server_thread(void *data)
{
	struct ksmtp_test_server *srv = data;
	struct socket *c = NULL;
	unsigned int i;
	int err = 0;

	for (i = 0; i < srv->nconns && !err; i++) {
		err = kernel_accept(srv->lsock, &c, 0);
		if (err)
			break;
		srv->script = srv->scripts ? srv->scripts[i] : srv->script;
		tcp_sock_set_nodelay(c->sk);
		c->sk->sk_rcvtimeo = SRV_TIMEOUT;
		c->sk->sk_sndtimeo = SRV_TIMEOUT;
		err = srv_play(srv, c);
		kernel_sock_shutdown(c, SHUT_RDWR);
		sock_release(c);
	}
	srv->err = err;
	complete(&srv->done);
	return 0;
}

/**
 * ksmtp_test_server_start() - listen on loopback and play @script
 * @test: the test
 * @srv: the server, filled in
 * @family: AF_INET (127.0.0.1) or AF_INET6 (::1)
 * @script: NULL-terminated script
 * @rx_cap: how many client bytes to record at most
 */
void ksmtp_test_server_start(struct kunit *test, struct ksmtp_test_server *srv,
			     int family, const char * const *script,
			     size_t rx_cap)
{
	struct task_struct *t;

	ksmtp_test_server_start_multi(test, srv, family, NULL, 1, rx_cap);
	srv->script = script;
	t = kthread_run(ksmtp_test_server_thread, srv, "ksmtp-test-srv");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
}

/**
 * ksmtp_test_server_start_multi() - serve @nconns connections in turn
 * @test: the test
 * @srv: the server, filled in
 * @family: AF_INET (127.0.0.1) or AF_INET6 (::1)
 * @scripts: the script of each connection (NULL: srv->script for all)
 * @nconns: how many connections
 * @rx_cap: how many client bytes to record at most, over all of them
 */
void ksmtp_test_server_start_multi(struct kunit *test, struct ksmtp_test_server *srv,
				   int family, const char * const * const *scripts,
				   unsigned int nconns, size_t rx_cap)
{
	struct task_struct *t;

	memset(srv, 0, sizeof(*srv));
	init_completion(&srv->done);
	srv->scripts = scripts;
	srv->nconns = nconns;
	srv->rx_cap = rx_cap;
	srv->rx = kunit_kzalloc(test, rx_cap + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, srv->rx);
	KUNIT_ASSERT_EQ(test, sock_create_kern(&init_net, family, SOCK_STREAM,
					       IPPROTO_TCP, &srv->lsock), 0);
	KUNIT_ASSERT_EQ(test, bind_loopback(srv->lsock, family, &srv->addr), 0);
	KUNIT_ASSERT_EQ(test, kernel_listen(srv->lsock, 4), 0);
	srv->lsock->sk->sk_rcvtimeo = SRV_TIMEOUT;
	if (!scripts && nconns == 1)
		return;	/* ksmtp_test_server_start() sets the script, then runs */
	t = kthread_run(ksmtp_test_server_thread, srv, "ksmtp-test-srv");
	KUNIT_ASSERT_FALSE(test, IS_ERR(t));
}

/**
 * ksmtp_test_server_wait() - wait for the server to finish, and clean up
 * @test: the test
 * @srv: the server
 *
 * srv->rx (NUL-terminated) and srv->rx_len stay valid until the test ends.
 */
void ksmtp_test_server_wait(struct kunit *test, struct ksmtp_test_server *srv)
{
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&srv->done, 30 * HZ));
	sock_release(srv->lsock);
	srv->rx[srv->rx_len] = '\0';
}

/**
 * ksmtp_test_glob() - does @text match @pat?
 * @pat: pattern; '*' matches any run of octets other than CR and LF
 * @text: text
 * @len: its length
 *
 * Return: true when it matches.
 */
bool ksmtp_test_glob(const char *pat, const char *text, size_t len)
{
	const char *star = NULL;
	size_t i = 0, mark = 0;

	while (i < len) {
		if (*pat == '*') {
			star = pat++;
			mark = i;
		} else if (*pat && *pat == text[i]) {
			pat++;
			i++;
		} else if (star && text[mark] != '\r' && text[mark] != '\n') {
			pat = star + 1;
			i = ++mark;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}
