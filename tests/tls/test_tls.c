/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/tls and lib/net: the test PKI's certificates accepted and refused, identity, resumption, non-blocking I/O. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "net.h"
#include "tls.h"
#include "tlstest.h"

/* Exchange one message each way, so a TLS 1.3 ticket reaches the client. */
static void ping(struct pb_tls *c, struct pb_tls *s)
{
	char buf[16];
	ssize_t r;
	int i;

	cr_assert_eq(pb_tls_write(c, "ping", 4), 4);
	for (i = 0; i < 10 && (r = pb_tls_read(s, buf, sizeof(buf))) == PB_ERR_WANT_READ; i++)
		;
	cr_assert_eq(r, 4, "server read %zd (%s)", r, pb_tls_errstr(s));
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	cr_assert_eq(pb_tls_write(s, "pong", 4), 4);
	for (i = 0; i < 10 && (r = pb_tls_read(c, buf, sizeof(buf))) == PB_ERR_WANT_READ; i++)
		;
	cr_assert_eq(r, 4, "client read %zd (%s)", r, pb_tls_errstr(c));
	cr_assert_eq(memcmp(buf, "pong", 4), 0);
}

/* After a handshake the client thinks is done, the server's refusal arrives as an alert. */
static void expect_refused(struct pb_tls *c, struct pb_tls *s, int crc, int src)
{
	char buf[8];
	ssize_t r;

	cr_expect_eq(src, PB_ERR_TLS, "server handshake: %d (%s)", src, pb_tls_errstr(s));
	if (crc == 0) {
		r = pb_tls_read(c, buf, sizeof(buf));
		cr_expect(r == PB_ERR_TLS || r == PB_ERR_EOF, "client read after refusal: %zd", r);
	} else {
		cr_expect_eq(crc, PB_ERR_TLS);
	}
}

Test(tls, handshake_with_test_pki)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src;

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	cr_assert_eq(crc, 0, "client: %s", pb_tls_errstr(c));
	cr_assert_eq(src, 0, "server: %s", pb_tls_errstr(s));
	cr_expect_str_eq(pb_tls_version(c), "TLSv1.3");
	cr_expect_str_eq(pb_tls_peer_id(s), "host1.test");
	cr_expect_str_eq(pb_tls_peer_id(c), "localhost");
	cr_expect(pb_tls_peer_matches(s, "host1.test"));
	cr_expect(!pb_tls_peer_matches(s, "host2.test"));
	cr_expect(pb_tls_peer_matches(c, "127.0.0.1"));
	cr_expect(!pb_tls_resumed(c));
	cr_expect(!pb_tls_resumed(s));
	ping(c, s);
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, identity_of_each_cert)
{
	static const char *const names[][2] = {
		{"host2", "host2.test"}, {"admin", "admin"}, {"host1", "host1.test"}};
	struct pb_tls_ctx *sc = server_ctx("server");
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct pb_tls_ctx *cc = client_ctx(names[i][0]);
		struct pb_tls *c, *s;
		int crc, src;

		pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
		cr_assert_eq(src, 0, "%s: %s", names[i][0], pb_tls_errstr(s));
		cr_expect_str_eq(pb_tls_peer_id(s), names[i][1]);
		pb_tls_free(c);
		pb_tls_free(s);
		pb_tls_ctx_free(cc);
	}
	pb_tls_ctx_free(sc);
}

Test(tls, server_name_by_ip_address)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src;

	pair_handshake(cc, sc, "127.0.0.1", &c, &s, &crc, &src);
	cr_expect_eq(crc, 0, "client: %s", pb_tls_errstr(c));
	cr_expect_eq(src, 0);
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, refuses_client_from_other_ca)
{
	struct pb_tls_ctx *cc = client_ctx("other"), *sc = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src;

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	expect_refused(c, s, crc, src);
	cr_expect(strstr(pb_tls_errstr(s), "certificate verify failed") != NULL, "%s",
		  pb_tls_errstr(s));
	cr_expect(strstr(pb_tls_errstr(s), "local issuer") != NULL, "%s", pb_tls_errstr(s));
	cr_expect_str_eq(pb_tls_peer_id(s), "");
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, refuses_expired_client)
{
	struct pb_tls_ctx *cc = client_ctx("expired"), *sc = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src;

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	expect_refused(c, s, crc, src);
	cr_expect(strstr(pb_tls_errstr(s), "expired") != NULL, "%s", pb_tls_errstr(s));
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, refuses_client_without_cert)
{
	struct pb_tls_ctx *cc = client_ctx(NULL), *sc = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src;

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	expect_refused(c, s, crc, src);
	cr_expect(strstr(pb_tls_errstr(s), "certificate") != NULL, "%s", pb_tls_errstr(s));
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, client_refuses_wrong_server_name)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src;

	pair_handshake(cc, sc, "policy.example", &c, &s, &crc, &src);
	cr_expect_eq(crc, PB_ERR_TLS);
	cr_expect(strstr(pb_tls_errstr(c), "mismatch") != NULL, "%s", pb_tls_errstr(c));
	cr_expect_neq(src, 0);
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, client_refuses_expired_server)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("expired");
	struct pb_tls *c, *s;
	int crc, src;

	/* expired.crt names host1.test, so only its dates can make it fail. */
	pair_handshake(cc, sc, "host1.test", &c, &s, &crc, &src);
	cr_expect_eq(crc, PB_ERR_TLS);
	cr_expect(strstr(pb_tls_errstr(c), "expired") != NULL, "%s", pb_tls_errstr(c));
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, client_refuses_server_from_other_ca)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("other");
	struct pb_tls *c, *s;
	int crc, src;

	pair_handshake(cc, sc, "host1.test", &c, &s, &crc, &src);
	cr_expect_eq(crc, PB_ERR_TLS);
	cr_expect(strstr(pb_tls_errstr(c), "certificate verify failed") != NULL, "%s",
		  pb_tls_errstr(c));
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, admin_cert_cannot_serve)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("admin");
	struct pb_tls *c, *s;
	int crc, src;

	/* admin.crt is for clientAuth only: a client must not accept it from a server. */
	pair_handshake(cc, sc, "admin", &c, &s, &crc, &src);
	cr_expect_eq(crc, PB_ERR_TLS, "client: %d %s", crc, pb_tls_errstr(c));
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, resumption)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src, i;

	for (i = 0; i < 3; i++) {
		pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
		cr_assert_eq(crc, 0, "%s", pb_tls_errstr(c));
		cr_assert_eq(src, 0, "%s", pb_tls_errstr(s));
		cr_expect_eq(pb_tls_resumed(c), i > 0, "round %d: client resumed %d", i,
			     pb_tls_resumed(c));
		cr_expect_eq(pb_tls_resumed(s), i > 0, "round %d: server resumed %d", i,
			     pb_tls_resumed(s));
		/* The identity survives resumption (it is kept in the session). */
		cr_expect_str_eq(pb_tls_peer_id(s), "host1.test");
		cr_expect_str_eq(pb_tls_peer_id(c), "localhost");
		ping(c, s);
		pb_tls_free(c);
		pb_tls_free(s);
	}
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, no_resumption_across_names_or_contexts)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("server");
	struct pb_tls_ctx *sc2 = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src;

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	ping(c, s);
	pb_tls_free(c);
	pb_tls_free(s);
	/* Another name: the cached session is not offered. */
	pair_handshake(cc, sc, "127.0.0.1", &c, &s, &crc, &src);
	cr_assert_eq(crc, 0);
	cr_expect(!pb_tls_resumed(c));
	ping(c, s);
	pb_tls_free(c);
	pb_tls_free(s);
	/* A server with other ticket keys cannot resume: a full handshake, not a failure. */
	pair_handshake(cc, sc2, "localhost", &c, &s, &crc, &src);
	cr_assert_eq(crc, 0);
	cr_assert_eq(src, 0);
	cr_expect(!pb_tls_resumed(s));
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
	pb_tls_ctx_free(sc2);
}

Test(tls, nonblocking_want_read_want_write)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src;
	size_t total = 4u << 20, sent = 0, got = 0, i;
	uint8_t *out = malloc(total), *in = malloc(total);
	bool saw_want_write = false;
	ssize_t r;

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	cr_assert_eq(crc, 0);
	cr_assert_eq(src, 0);
	cr_expect_eq(pb_tls_read(s, in, 10), PB_ERR_WANT_READ);
	for (i = 0; i < total; i++)
		out[i] = (uint8_t)(i * 7 + i / 251);
	/* Write until the socket is full, then drain a little, and so on: bytes arrive intact. */
	while (got < total) {
		while (sent < total) {
			r = pb_tls_write(c, out + sent, total - sent);
			if (r == PB_ERR_WANT_WRITE) {
				saw_want_write = true;
				break;
			}
			cr_assert_gt(r, 0, "write: %zd", r);
			sent += (size_t)r;
		}
		r = pb_tls_read(s, in + got, 3000);
		if (r == PB_ERR_WANT_READ)
			continue;
		cr_assert_gt(r, 0, "read: %zd %s", r, pb_tls_errstr(s));
		got += (size_t)r;
	}
	cr_expect(saw_want_write, "4 MiB never filled the socket");
	cr_expect_eq(memcmp(in, out, total), 0);
	cr_expect_eq(pb_tls_read(s, in, 10), PB_ERR_WANT_READ);
	/* A clean close is an end of stream. */
	pb_tls_shutdown(c);
	cr_expect_eq(pb_tls_read(s, in, 10), PB_ERR_EOF);
	free(out);
	free(in);
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, frames_and_their_errors)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("server");
	struct pb_tls *c, *s;
	int crc, src;
	uint8_t *p;
	size_t len;
	static uint8_t big[100000];

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	cr_assert_eq(src, 0);
	cr_assert_eq(pb_tls_send_frame(c, "hello", 5, 1000), 0);
	cr_assert_eq(pb_tls_send_frame(c, big, sizeof(big), 1000), 0);
	cr_assert_eq(pb_tls_recv_frame(s, 0, 1000, &p, &len), 0);
	cr_expect_eq(len, 5);
	cr_expect_eq(memcmp(p, "hello", 5), 0);
	free(p);
	/* Over the receiver's maximum. */
	cr_expect_eq(pb_tls_recv_frame(s, 1000, 1000, &p, &len), PB_ERR_FRAME_BIG);
	cr_expect_null(p);
	pb_tls_free(c);
	pb_tls_free(s);

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	cr_assert_eq(pb_tls_write_all(c, "\0\0\0\0", 4, 1000), 0);
	cr_expect_eq(pb_tls_recv_frame(s, 0, 1000, &p, &len), PB_ERR_FRAME_ZERO);
	/* Nothing arrives: the deadline. */
	cr_expect_eq(pb_tls_recv_frame(c, 0, 100, &p, &len), PB_ERR_TIMEOUT);
	/* A stream that ends inside a frame. */
	cr_assert_eq(pb_tls_write_all(c, "\0\0\0\x10" "abc", 7, 1000), 0);
	pb_tls_shutdown(c);
	cr_expect_eq(pb_tls_recv_frame(s, 0, 1000, &p, &len), PB_ERR_TRUNCATED);
	pb_tls_free(c);
	pb_tls_free(s);

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	pb_tls_shutdown(c);
	cr_expect_eq(pb_tls_recv_frame(s, 0, 1000, &p, &len), PB_ERR_EOF);
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, context_errors_name_the_file)
{
	struct pb_tls_conf conf = {0};
	const char *err = NULL;

	conf.ca = "/nonexistent/ca.crt";
	conf.cert = pki("server.crt");
	conf.key = pki("server.key");
	cr_expect_null(pb_tls_ctx_new(PB_TLS_SERVER, &conf, &err));
	cr_expect(err != NULL && strstr(err, "/nonexistent/ca.crt") != NULL, "%s", err);
	conf.ca = pki("ca.crt");
	conf.key = pki("host1.key");
	cr_expect_null(pb_tls_ctx_new(PB_TLS_SERVER, &conf, &err));
	cr_expect(err != NULL && strstr(err, "mismatch") != NULL && strstr(err, "host1.key") != NULL, "%s", err);
	conf.key = pki("ca.crt");
	cr_expect_null(pb_tls_ctx_new(PB_TLS_SERVER, &conf, &err));
	cr_expect(err != NULL && strstr(err, "key") != NULL, "%s", err);
	conf.key = pki("server.key");
	conf.ca = pki("server.key");
	cr_expect_null(pb_tls_ctx_new(PB_TLS_SERVER, &conf, &err));
	cr_expect(err != NULL && strstr(err, "ca") != NULL, "%s", err);
	conf.cert = NULL;
	conf.ca = pki("ca.crt");
	cr_expect_null(pb_tls_ctx_new(PB_TLS_SERVER, &conf, &err), "a server needs a cert");
}

Test(tls, connect_over_tcp)
{
	struct pb_tls_ctx *cc = client_ctx("host1"), *sc = server_ctx("server");
	const char *err = NULL;
	char port[16];
	int lfd, fd, status;
	pid_t pid;
	struct pb_tls *c;
	uint8_t *p;
	size_t len;

	lfd = pb_net_listen("127.0.0.1:0", &err);
	cr_assert_geq(lfd, 0, "%s", err);
	snprintf(port, sizeof(port), "%d", pb_net_local_port(lfd));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pollfd pfd = {.fd = lfd, .events = POLLIN};
		struct pb_tls *s;

		poll(&pfd, 1, 5000);
		fd = accept(lfd, NULL, NULL);
		close(lfd);
		s = pb_tls_new(sc, fd, NULL, NULL);
		if (s == NULL || pb_tls_handshake_wait(s, 5000) != 0)
			_exit(1);
		if (pb_tls_recv_frame(s, 0, 5000, &p, &len) != 0)
			_exit(2);
		if (pb_tls_send_frame(s, p, len, 5000) != 0)
			_exit(3);
		free(p);
		(void)pb_tls_recv_frame(s, 0, 5000, &p, &len);
		_exit(0);
	}
	c = pb_tls_connect(cc, "127.0.0.1", port, 5000, &err);
	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(pb_tls_send_frame(c, "echo", 4, 5000), 0);
	cr_assert_eq(pb_tls_recv_frame(c, 0, 5000, &p, &len), 0);
	cr_expect_eq(len, 4);
	free(p);
	pb_tls_free(c);
	close(lfd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "server side failed: %d", status);
	/* Nothing listens any more. */
	c = pb_tls_connect(cc, "127.0.0.1", port, 2000, &err);
	cr_expect_null(c);
	cr_expect(strstr(err, "refused") != NULL, "%s", err);
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(tls, plain_mode_loopback_only)
{
	struct pb_tls_ctx *cc = plain_ctx(PB_TLS_CLIENT), *sc = plain_ctx(PB_TLS_SERVER);
	struct pb_tls *c, *s;
	struct ifaddrs *ifa, *i;
	const char *err = NULL;
	char buf[8], host[PB_NET_ADDRSTRLEN] = "";
	int crc, src, lfd, fd;

	pair_handshake(cc, sc, "localhost", &c, &s, &crc, &src);
	cr_assert_eq(crc, 0);
	cr_assert_eq(src, 0);
	cr_expect_str_eq(pb_tls_version(c), "plain");
	cr_expect_str_eq(pb_tls_peer_id(s), "");
	cr_expect(!pb_tls_peer_matches(s, "localhost"));
	cr_assert_eq(pb_tls_write(c, "abc", 3), 3);
	cr_assert_eq(pb_tls_read(s, buf, sizeof(buf)), 3);
	pb_tls_free(c);
	pb_tls_free(s);

	/* A non-loopback address of this machine, if it has one: refused. */
	cr_assert_eq(getifaddrs(&ifa), 0);
	for (i = ifa; i != NULL; i = i->ifa_next)
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET &&
		    !pb_net_is_loopback(i->ifa_addr)) {
			char as[PB_NET_ADDRSTRLEN], *colon;

			pb_net_addr_str(i->ifa_addr, sizeof(struct sockaddr_in), as, sizeof(as));
			colon = strrchr(as, ':');
			*colon = '\0';
			snprintf(host, sizeof(host), "%s", as);
			break;
		}
	freeifaddrs(ifa);
	if (host[0] != '\0') {
		char spec[96], port[16];

		snprintf(spec, sizeof(spec), "%s:0", host);
		lfd = pb_net_listen(spec, &err);
		cr_assert_geq(lfd, 0, "%s", err);
		snprintf(port, sizeof(port), "%d", pb_net_local_port(lfd));
		fd = pb_net_connect(host, port, 2000, &err);
		cr_assert_geq(fd, 0, "%s", err);
		c = pb_tls_new(cc, fd, host, &err);
		cr_expect_null(c, "plain mode accepted %s", host);
		cr_expect(err != NULL && strstr(err, "loopback") != NULL);
		close(lfd);
	}
	pb_tls_ctx_free(cc);
	pb_tls_ctx_free(sc);
}

Test(net, split_addresses)
{
	char h[64], p[16];
	const char *err;

	cr_assert_eq(pb_net_split("127.0.0.1:4343", h, sizeof(h), p, sizeof(p), &err), 0);
	cr_expect_str_eq(h, "127.0.0.1");
	cr_expect_str_eq(p, "4343");
	cr_assert_eq(pb_net_split("[::1]:0", h, sizeof(h), p, sizeof(p), &err), 0);
	cr_expect_str_eq(h, "::1");
	cr_expect_str_eq(p, "0");
	cr_assert_eq(pb_net_split("*:99", h, sizeof(h), p, sizeof(p), &err), 0);
	cr_expect_str_eq(h, "");
	cr_assert_eq(pb_net_split("policy.example.com:pbsh", h, sizeof(h), p, sizeof(p), &err),
		     0);
	cr_expect_str_eq(h, "policy.example.com");
	cr_expect_str_eq(p, "pbsh");
	cr_expect_eq(pb_net_split("::1:4343", h, sizeof(h), p, sizeof(p), &err), PB_ERR_INVAL);
	cr_expect_eq(pb_net_split("host", h, sizeof(h), p, sizeof(p), &err), PB_ERR_INVAL);
	cr_expect_eq(pb_net_split("host:", h, sizeof(h), p, sizeof(p), &err), PB_ERR_INVAL);
	cr_expect_eq(pb_net_split("[::1]4343", h, sizeof(h), p, sizeof(p), &err), PB_ERR_INVAL);
	cr_expect_eq(pb_net_split("", h, sizeof(h), p, sizeof(p), &err), PB_ERR_INVAL);
	cr_expect_eq(pb_net_split("averyveryveryverylonghostnamethatdoesnotfit.example:1", h, 16, p,
				  sizeof(p), &err),
		     PB_ERR_INVAL);
}

Test(net, listen_ephemeral_v4_v6)
{
	const char *err = NULL;
	int fd, port, c;
	char spec[32], as[PB_NET_ADDRSTRLEN];

	fd = pb_net_listen("127.0.0.1:0", &err);
	cr_assert_geq(fd, 0, "%s", err);
	port = pb_net_local_port(fd);
	cr_expect_gt(port, 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	c = pb_net_connect_spec(spec, 1000, &err);
	cr_assert_geq(c, 0, "%s", err);
	cr_expect(pb_net_fd_is_loopback(c));
	pb_net_local_str(fd, as, sizeof(as));
	cr_expect_str_eq(as, spec);
	close(c);
	/* The same port again while bound: an error that names it. */
	cr_expect_lt(pb_net_listen(spec, &err), 0);
	cr_expect(strstr(err, "in use") != NULL, "%s", err);
	close(fd);

	fd = pb_net_listen("[::1]:0", &err);
	if (fd >= 0) {
		snprintf(spec, sizeof(spec), "[::1]:%d", pb_net_local_port(fd));
		c = pb_net_connect_spec(spec, 1000, &err);
		cr_assert_geq(c, 0, "%s", err);
		pb_net_peer_str(c, as, sizeof(as));
		cr_expect_str_eq(as, spec);
		cr_expect(pb_net_fd_is_loopback(c));
		close(c);
		close(fd);
	}
	cr_expect_lt(pb_net_listen("256.1.1.1:0", &err), 0);
	cr_expect_lt(pb_net_listen("127.0.0.1", &err), 0);
	cr_expect_lt(pb_net_connect_spec("*:1", 100, &err), 0);
}

Test(tls, optional_client_cert_is_still_verified)
{
	struct pb_tls_conf conf = {0};
	struct pb_tls_ctx *sc, *anon = client_ctx(NULL), *other = client_ctx("other");
	struct pb_tls_ctx *good = client_ctx("host2");
	struct pb_tls *c, *s;
	const char *err = NULL;
	int crc, src;

	conf.ca = pki("ca.crt");
	conf.cert = pki("server.crt");
	conf.key = pki("server.key");
	conf.no_client_cert = true;
	sc = pb_tls_ctx_new(PB_TLS_SERVER, &conf, &err);
	cr_assert_not_null(sc, "%s", err);
	pair_handshake(anon, sc, "localhost", &c, &s, &crc, &src);
	cr_expect_eq(src, 0, "%s", pb_tls_errstr(s));
	cr_expect_str_eq(pb_tls_peer_id(s), "");
	ping(c, s);
	pb_tls_free(c);
	pb_tls_free(s);
	pair_handshake(other, sc, "localhost", &c, &s, &crc, &src);
	expect_refused(c, s, crc, src);
	pb_tls_free(c);
	pb_tls_free(s);
	pair_handshake(good, sc, "localhost", &c, &s, &crc, &src);
	cr_expect_eq(src, 0);
	cr_expect_str_eq(pb_tls_peer_id(s), "host2.test");
	pb_tls_free(c);
	pb_tls_free(s);
	pb_tls_ctx_free(sc);
	pb_tls_ctx_free(anon);
	pb_tls_ctx_free(other);
	pb_tls_ctx_free(good);
}

Test(net, connect_timeout)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	const char *err = NULL;
	char port[16];
	int lfd, fds[8], n = 0, fd, i;
	long long t0;

	/* A listener that never accepts, with the smallest queue: later SYNs are dropped. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 0), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
	for (i = 0; i < 8; i++) {
		t0 = ms_now();
		fd = pb_net_connect("127.0.0.1", port, 300, &err);
		if (fd < 0)
			break;
		fds[n++] = fd;
	}
	cr_assert_lt(fd, 0, "8 connections went into a queue of 1");
	cr_expect_eq(fd, PB_ERR_TIMEOUT, "%s", err);
	cr_expect(strstr(err, "timed out") != NULL, "%s", err);
	cr_expect_geq(ms_now() - t0, 290);
	cr_expect_lt(ms_now() - t0, 1500);
	while (n > 0)
		close(fds[--n]);
	close(lfd);
}

Test(net, listen_any_serves_both_families)
{
	const char *err = NULL;
	char spec[32];
	int fd, c, port;

	fd = pb_net_listen("*:0", &err);
	cr_assert_geq(fd, 0, "%s", err);
	port = pb_net_local_port(fd);
	cr_assert_gt(port, 0);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	c = pb_net_connect_spec(spec, 1000, &err);
	cr_expect_geq(c, 0, "IPv4 to *: %s", err);
	if (c >= 0)
		close(c);
	snprintf(spec, sizeof(spec), "[::1]:%d", port);
	c = pb_net_connect_spec(spec, 1000, &err);
	/* Only where the machine has IPv6 at all. */
	if (c >= 0)
		close(c);
	else
		cr_expect(strstr(err, "refused") == NULL, "IPv6 to *: %s", err);
	close(fd);
	fd = pb_net_listen(":0", &err);
	cr_expect_geq(fd, 0, "\":port\" means any address: %s", err);
	if (fd >= 0)
		close(fd);
}

/* A client context that never resumes: each connection is a full handshake, as a monitor's. */
static struct pb_tls_ctx *fresh_client_ctx(const char *name)
{
	char crt[64], key[64];
	snprintf(crt, sizeof(crt), "%s.crt", name);
	snprintf(key, sizeof(key), "%s.key", name);
	char *c = strdup(pki(crt)), *k = strdup(pki(key)), *ca = strdup(pki("ca.crt"));
	struct pb_tls_conf conf = {.ca = ca, .cert = c, .key = k, .no_resume = true};
	const char *err = NULL;
	struct pb_tls_ctx *ctx = pb_tls_ctx_new(PB_TLS_CLIENT, &conf, &err);
	cr_assert_not_null(ctx, "%s", err);
	free(c);
	free(k);
	free(ca);
	return ctx;
}

Test(tls, server_shares_one_decoded_certificate_per_client_identity)
{
	struct pb_tls_ctx *c1 = fresh_client_ctx("host1"), *c2 = fresh_client_ctx("host2");
	struct pb_tls_ctx *sc = server_ctx("server");
	struct pb_tls *c[3], *s[3];
	int crc, src;
	size_t base = 0;

	cr_assert_eq(pb_tls_ctx_peer_certs(sc), 0);
	for (int i = 0; i < 3; i++) {
		pair_handshake(i == 2 ? c2 : c1, sc, "localhost", &c[i], &s[i], &crc, &src);
		cr_assert_eq(src, 0, "server %d: %s", i, pb_tls_errstr(s[i]));
		cr_assert(!pb_tls_resumed(s[i]));
		ping(c[i], s[i]);
		if (i == 0)
			base = pb_tls_ctx_peer_certs(sc);	/* host1's, and the CA's if sent */
		/* A second host1 connection holds no copy of its own; host2 adds one. */
		cr_expect_eq(pb_tls_ctx_peer_certs(sc), i < 2 ? base : base + 1, "after %d", i);
	}
	cr_assert_geq(base, 1);
	cr_expect_str_eq(pb_tls_peer_id(s[0]), "host1.test");
	cr_expect_str_eq(pb_tls_peer_id(s[1]), "host1.test");
	cr_expect_str_eq(pb_tls_peer_id(s[2]), "host2.test");
	pb_tls_free(s[0]);
	cr_expect_eq(pb_tls_ctx_peer_certs(sc), base + 1);
	ping(c[1], s[1]);
	pb_tls_free(s[1]);
	cr_expect_eq(pb_tls_ctx_peer_certs(sc), base);	/* host2's (and the CA's) */
	pb_tls_free(s[2]);
	cr_expect_eq(pb_tls_ctx_peer_certs(sc), 0);
	for (int i = 0; i < 3; i++)
		pb_tls_free(c[i]);
	/* A refused certificate is still verified on its own, shared or not. */
	struct pb_tls_ctx *ce = fresh_client_ctx("expired");
	struct pb_tls *cx, *sx;
	pair_handshake(ce, sc, "localhost", &cx, &sx, &crc, &src);
	expect_refused(cx, sx, crc, src);
	pb_tls_free(cx);
	pb_tls_free(sx);
	cr_expect_eq(pb_tls_ctx_peer_certs(sc), 0);
	pb_tls_ctx_free(ce);
	pb_tls_ctx_free(c1);
	pb_tls_ctx_free(c2);
	pb_tls_ctx_free(sc);
}
