/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _KSMTP_TEST_SERVER_H
#define _KSMTP_TEST_SERVER_H

#include <linux/completion.h>
#include <linux/socket.h>
#include <linux/net.h>
#include <kunit/test.h>

/**
 * struct ksmtp_test_server - a scripted SMTP server on loopback, for KUnit
 * @lsock: listening socket
 * @addr: the address it listens on (127.0.0.1 or ::1, ephemeral port)
 * @script: the script of the current connection, NULL-terminated (server.c)
 * @scripts: one script per connection, served one after the other
 * @nconns: how many connections to serve
 * @done: completed when the server thread has finished
 * @rx: every byte the client sent
 * @rx_len: their number
 * @rx_cap: size of @rx
 * @scan: how far the script has consumed @rx
 * @err: 0, or why the server itself failed
 */
struct ksmtp_test_server {
	struct socket *lsock;
	struct sockaddr_storage addr;
	const char * const *script;
	const char * const * const *scripts;
	unsigned int nconns;
	struct completion done;
	char *rx;
	size_t rx_len;
	size_t rx_cap;
	size_t scan;
	int err;
};

int ksmtp_test_lo_up(void);
int ksmtp_test_server_thread(void *data);
void ksmtp_test_server_start(struct kunit *test, struct ksmtp_test_server *srv,
			     int family, const char * const *script,
			     size_t rx_cap);
void ksmtp_test_server_start_multi(struct kunit *test, struct ksmtp_test_server *srv,
				   int family, const char * const * const *scripts,
				   unsigned int nconns, size_t rx_cap);
void ksmtp_test_server_wait(struct kunit *test, struct ksmtp_test_server *srv);
void ksmtp_test_refused_addr(struct kunit *test, int family,
			     struct sockaddr_storage *addr);
bool ksmtp_test_glob(const char *pat, const char *text, size_t len);

#endif /* _KSMTP_TEST_SERVER_H */
