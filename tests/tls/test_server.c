/* SPDX-License-Identifier: ISC */
/* Tests of lib/server: an echo handler in a child process over real TLS on loopback, driven by clients here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "frame.h"
#include "net.h"
#include "server.h"
#include "tls.h"
#include "tlstest.h"

/*
 * The echo handler. Requests are text:
 *   close       answer "bye" and ask to close (frame_cb returns -1)
 *   kick        answer "kicked" and pb_conn_close_after_flush
 *   hold        no answer until the next tick ("held-done"); drain_cb says no meanwhile
 *   sessions    the peer ids of every open connection, space-separated
 *   big:N       N bytes of 'x'
 *   stop        pb_server_stop(graceful)
 *   anything else is echoed.
 * Events go to the test over a pipe, one line each: "port N", "open ID RESUMED",
 * "frame_error ERR", "close WHY", "reload".
 */

struct echo_state {
	int held;
};

static int ev_fd = -1;
static pid_t srv_pid = -1;
static char ev_buf[4096];
static size_t ev_have;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	line[n++] = '\n';
	if (write(ev_fd, line, (size_t)n) != n)
		_exit(90);
}

static void *open_cb(struct pb_conn *c, void *arg)
{
	(void)arg;
	emit("open %s %d", pb_conn_peer_id(c), pb_conn_resumed(c));
	return calloc(1, sizeof(struct echo_state));
}

struct list_acc {
	char buf[1024];
};

static void list_cb(struct pb_conn *c, void *state, void *arg)
{
	struct list_acc *a = arg;

	(void)state;
	if (a->buf[0] != '\0')
		strcat(a->buf, " ");
	strncat(a->buf, pb_conn_peer_id(c), sizeof(a->buf) - strlen(a->buf) - 2);
}

static int frame_cb(struct pb_conn *c, void *state, const uint8_t *msg, size_t len)
{
	struct echo_state *st = state;
	char req[64];

	snprintf(req, sizeof(req), "%.*s", (int)(len < 63 ? len : 63), (const char *)msg);
	if (strcmp(req, "close") == 0) {
		pb_conn_send(c, "bye", 3);
		return -1;
	}
	if (strcmp(req, "kick") == 0) {
		pb_conn_send(c, "kicked", 6);
		pb_conn_close_after_flush(c);
		/* The state must still be usable until we return. */
		st->held = 0;
		return 0;
	}
	if (strcmp(req, "hold") == 0) {
		st->held++;
		return 0;
	}
	if (strcmp(req, "sessions") == 0) {
		struct list_acc a = {.buf = ""};

		pb_server_foreach_conn(pb_conn_server(c), list_cb, &a);
		return pb_conn_send(c, a.buf, strlen(a.buf) ? strlen(a.buf) : 1) == 0 ? 0 : -1;
	}
	if (strncmp(req, "big:", 4) == 0) {
		size_t n = (size_t)atol(req + 4);
		char *b = malloc(n);
		int rc;

		memset(b, 'x', n);
		rc = pb_conn_send(c, b, n);
		free(b);
		return rc == PB_ERR_LIMIT ? 0 : rc;
	}
	if (strcmp(req, "stop") == 0) {
		pb_server_stop(pb_conn_server(c), false);
		return pb_conn_send(c, "stopping", 8);
	}
	return pb_conn_send(c, msg, len);
}

static void frame_error_cb(struct pb_conn *c, void *state, int err)
{
	char m[32];

	(void)state;
	emit("frame_error %d", err);
	snprintf(m, sizeof(m), "error %d", err);
	pb_conn_send(c, m, strlen(m));
}

static void close_cb(struct pb_conn *c, void *state, int why)
{
	(void)c;
	emit("close %d", why);
	free(state);
}

static void answer_held(struct pb_conn *c, void *state, void *arg)
{
	struct echo_state *st = state;

	(void)arg;
	for (; st->held > 0; st->held--)
		pb_conn_send(c, "held-done", 9);
}

static void tick_cb(struct pb_server *s, void *arg)
{
	(void)arg;
	pb_server_foreach_conn(s, answer_held, NULL);
}

static void reload_cb(struct pb_server *s, void *arg)
{
	(void)s;
	(void)arg;
	emit("reload");
}

static bool drain_cb(struct pb_conn *c, void *state)
{
	struct echo_state *st = state;

	(void)c;
	return st->held == 0 && pb_conn_outq(c) == 0;
}

static const struct pb_server_ops echo_ops = {
	.open_cb = open_cb,
	.frame_cb = frame_cb,
	.frame_error_cb = frame_error_cb,
	.close_cb = close_cb,
	.tick_cb = tick_cb,
	.reload_cb = reload_cb,
	.drain_cb = drain_cb,
};

/* Start the echo server in a child; returns its port. */
static int start_server(const struct pb_server_limits *lim, bool plain)
{
	int p[2], port = 0;
	char line[64];
	long long end;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	srv_pid = fork();
	cr_assert_geq(srv_pid, 0);
	if (srv_pid == 0) {
		struct pb_tls_conf conf = {0};
		struct pb_tls_ctx *ctx;
		struct pb_server *s;
		const char *err = NULL;
		int rc;

		close(p[0]);
		ev_fd = p[1];
		conf.ca = pki("ca.crt");
		conf.cert = pki("server.crt");
		conf.key = pki("server.key");
		conf.plain = plain;
		ctx = pb_tls_ctx_new(PB_TLS_SERVER, &conf, &err);
		if (ctx == NULL)
			_exit(80);
		s = pb_server_new(ctx, &echo_ops, NULL, lim);
		pb_tls_ctx_free(ctx);
		if (s == NULL || pb_server_listen(s, "127.0.0.1:0", &err) != 0)
			_exit(81);
		emit("port %d", pb_server_port(s, 0));
		rc = pb_server_run(s);
		pb_server_free(s);
		emit("exit %d", rc);
		_exit(rc == 0 ? 0 : 82);
	}
	close(p[1]);
	ev_fd = p[0];
	ev_have = 0;
	end = ms_now() + 5000;
	while (port == 0 && ms_now() < end) {
		struct pollfd pfd = {.fd = ev_fd, .events = POLLIN};
		char *nl;
		ssize_t r;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = read(ev_fd, ev_buf + ev_have, sizeof(ev_buf) - ev_have - 1);
		cr_assert_gt(r, 0, "the server died before listening");
		ev_have += (size_t)r;
		ev_buf[ev_have] = '\0';
		nl = strchr(ev_buf, '\n');
		if (nl != NULL) {
			snprintf(line, sizeof(line), "%.*s", (int)(nl - ev_buf), ev_buf);
			memmove(ev_buf, nl + 1, ev_have - (size_t)(nl + 1 - ev_buf) + 1);
			ev_have -= (size_t)(nl + 1 - ev_buf);
			cr_assert_eq(sscanf(line, "port %d", &port), 1, "first event: %s", line);
		}
	}
	cr_assert_gt(port, 0);
	return port;
}

/*
 * Wait for an event line starting with prefix; earlier lines are skipped.
 * Returns true when seen within timeout_ms.
 */
static bool wait_event(const char *prefix, int timeout_ms, char *out, size_t outsz)
{
	long long end = ms_now() + timeout_ms;

	for (;;) {
		char *nl;

		while ((nl = strchr(ev_buf, '\n')) != NULL) {
			size_t l = (size_t)(nl - ev_buf);
			bool hit = strncmp(ev_buf, prefix, strlen(prefix)) == 0;

			if (hit && out != NULL)
				snprintf(out, outsz, "%.*s", (int)l, ev_buf);
			memmove(ev_buf, nl + 1, ev_have - l);
			ev_have -= l + 1;
			if (hit)
				return true;
		}
		long long left = end - ms_now();
		struct pollfd pfd = {.fd = ev_fd, .events = POLLIN};
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		r = read(ev_fd, ev_buf + ev_have, sizeof(ev_buf) - ev_have - 1);
		if (r <= 0)
			return false;
		ev_have += (size_t)r;
		ev_buf[ev_have] = '\0';
	}
}

static void kill_server(void)
{
	if (srv_pid > 0) {
		kill(srv_pid, SIGKILL);
		waitpid(srv_pid, NULL, 0);
		srv_pid = -1;
	}
	if (ev_fd >= 0)
		close(ev_fd);
	ev_fd = -1;
}

/* Wait for the server to exit by itself; returns its exit status or -1. */
static int server_exit(int timeout_ms)
{
	long long end = ms_now() + timeout_ms;
	int status;

	while (ms_now() < end) {
		pid_t r = waitpid(srv_pid, &status, WNOHANG);

		if (r == srv_pid) {
			srv_pid = -1;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
		}
		usleep(10000);
	}
	return -1;
}

static struct pb_tls_ctx *cctx_cache[4];

static struct pb_tls *cli(const char *who, int port)
{
	static const char *const names[] = {"host1", "host2", "admin", "other"};
	struct pb_tls_ctx *ctx = NULL;
	struct pb_tls *t;
	const char *err = NULL;
	char ps[16];
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(who, names[i]) == 0) {
			if (cctx_cache[i] == NULL)
				cctx_cache[i] = client_ctx(who);
			ctx = cctx_cache[i];
		}
	cr_assert_not_null(ctx);
	snprintf(ps, sizeof(ps), "%d", port);
	t = pb_tls_connect(ctx, "127.0.0.1", ps, 5000, &err);
	cr_assert_not_null(t, "connect as %s: %s", who, err);
	return t;
}

static void put(struct pb_tls *t, const char *s)
{
	cr_assert_eq(pb_tls_send_frame(t, s, strlen(s), 2000), 0);
}

/* The next frame as a string, or NULL with *rc. */
static char *get(struct pb_tls *t, int timeout_ms, int *rc)
{
	uint8_t *p;
	size_t len;
	char *s;
	int r = pb_tls_recv_frame(t, 0, timeout_ms, &p, &len);

	if (rc != NULL)
		*rc = r;
	if (r < 0)
		return NULL;
	s = malloc(len + 1);
	memcpy(s, p, len);
	s[len] = '\0';
	free(p);
	return s;
}

static void expect_reply(struct pb_tls *t, const char *want)
{
	int rc;
	char *s = get(t, 3000, &rc);

	cr_assert_not_null(s, "waiting for \"%s\": %s", want, pb_strerror(rc));
	cr_expect_str_eq(s, want);
	free(s);
}

static void expect_eof(struct pb_tls *t, int timeout_ms)
{
	int rc;
	char *s = get(t, timeout_ms, &rc);

	cr_expect_null(s, "expected the end, got \"%s\"", s ? s : "");
	cr_expect_eq(rc, PB_ERR_EOF, "expected EOF, got %s", pb_strerror(rc));
	free(s);
}

static void fini(void)
{
	int i;

	kill_server();
	for (i = 0; i < 4; i++) {
		pb_tls_ctx_free(cctx_cache[i]);
		cctx_cache[i] = NULL;
	}
}

TestSuite(server, .fini = fini, .timeout = 30);

Test(server, echo_roundtrip_and_identity)
{
	int port = start_server(NULL, false);
	struct pb_tls *c = cli("host1", port);
	char ev[128];

	put(c, "hello");
	expect_reply(c, "hello");
	cr_assert(wait_event("open", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "open host1.test 0");
	put(c, "close");
	expect_reply(c, "bye");
	expect_eof(c, 2000);
	cr_assert(wait_event("close", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "close 0");
	pb_tls_free(c);
}

Test(server, pipelined_frames_answered_in_order)
{
	int port = start_server(NULL, false);
	struct pb_tls *c = cli("host2", port);
	char *all = malloc(300 * 16), m[16];
	size_t n = 0;
	int i;

	/* 300 requests in one write, before reading any answer. */
	for (i = 0; i < 300; i++) {
		int l = snprintf(m, sizeof(m), "req%d", i);

		pb_frame_put_hdr((uint8_t *)all + n, (uint32_t)l);
		memcpy(all + n + 4, m, (size_t)l);
		n += 4 + (size_t)l;
	}
	cr_assert_eq(pb_tls_write_all(c, all, n, 2000), 0);
	for (i = 0; i < 300; i++) {
		snprintf(m, sizeof(m), "req%d", i);
		expect_reply(c, m);
	}
	free(all);
	pb_tls_free(c);
}

Test(server, zero_length_frame_error_then_close)
{
	int port = start_server(NULL, false);
	struct pb_tls *a = cli("host1", port), *b = cli("host2", port);
	char ev[64];

	put(a, "first");
	expect_reply(a, "first");
	cr_assert_eq(pb_tls_write_all(b, "\0\0\0\0", 4, 1000), 0);
	expect_reply(b, "error -8");
	expect_eof(b, 2000);
	cr_assert(wait_event("frame_error", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "frame_error -8");
	cr_assert(wait_event("close", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "close -8");
	/* The other client is still served. */
	put(a, "second");
	expect_reply(a, "second");
	pb_tls_free(a);
	pb_tls_free(b);
}

Test(server, oversized_frame_error_then_close)
{
	struct pb_server_limits lim = {.max_frame = 1024};
	int port = start_server(&lim, false);
	struct pb_tls *a = cli("host1", port), *b = cli("host1", port);
	static char exact[1024];
	uint8_t *p;
	size_t len;
	char ev[64];

	memset(exact, 'e', sizeof(exact));
	cr_assert_eq(pb_tls_send_frame(a, exact, sizeof(exact), 1000), 0);
	cr_assert_eq(pb_tls_recv_frame(a, 0, 2000, &p, &len), 0);
	cr_expect_eq(len, 1024);
	free(p);
	/* Only the header of a 1025-byte frame: refused before its payload arrives. */
	cr_assert_eq(pb_tls_write_all(b, "\0\0\x04\x01", 4, 1000), 0);
	expect_reply(b, "error -9");
	expect_eof(b, 2000);
	cr_assert(wait_event("close", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "close -9");
	put(a, "still");
	expect_reply(a, "still");
	pb_tls_free(a);
	pb_tls_free(b);
}

Test(server, truncated_stream)
{
	int port = start_server(NULL, false);
	struct pb_tls *c = cli("host1", port), *d = cli("host2", port);
	char ev[64];

	/* A frame of 100 announced, 10 sent, then the socket closes without close_notify. */
	cr_assert_eq(pb_tls_write_all(c, "\0\0\0\x64" "0123456789", 14, 1000), 0);
	usleep(50000);
	pb_tls_free(c);
	cr_assert(wait_event("close", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "close -10");
	/* A client that ends between frames: a plain end. */
	put(d, "x");
	expect_reply(d, "x");
	pb_tls_shutdown(d);
	cr_assert(wait_event("close", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "close -3");
	pb_tls_free(d);
}

Test(server, slow_client_dropped_at_frame_deadline)
{
	struct pb_server_limits lim = {.frame_ms = 300};
	int port = start_server(&lim, false);
	struct pb_tls *c = cli("host1", port), *d = cli("host2", port);
	long long t0;
	char ev[64];

	t0 = ms_now();
	cr_assert_eq(pb_tls_write_all(c, "\0\0\0\x10" "ab", 6, 1000), 0);
	/* A well-behaved neighbour keeps talking meanwhile. */
	put(d, "ok");
	expect_reply(d, "ok");
	expect_reply(c, "error -4");
	cr_expect_geq(ms_now() - t0, 280, "dropped after %lld ms", ms_now() - t0);
	cr_expect_lt(ms_now() - t0, 2000, "dropped after %lld ms", ms_now() - t0);
	expect_eof(c, 2000);
	cr_assert(wait_event("close", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "close -4");
	put(d, "ok2");
	expect_reply(d, "ok2");
	pb_tls_free(c);
	pb_tls_free(d);
}

Test(server, idle_timeout)
{
	struct pb_server_limits lim = {.idle_ms = 700};
	int port = start_server(&lim, false);
	struct pb_tls *c = cli("host1", port), *d = cli("host2", port);
	long long t0 = ms_now();
	char ev[64];
	int i;

	/* d talks every 100 ms for over a second: never idle. c says nothing: closed. */
	for (i = 0; i < 11; i++) {
		put(d, "tick");
		expect_reply(d, "tick");
		usleep(100000);
	}
	cr_assert(wait_event("close", 100, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "close -4");
	expect_eof(c, 100);
	cr_expect_geq(ms_now() - t0, 680);
	put(d, "alive");
	expect_reply(d, "alive");
	pb_tls_free(c);
	pb_tls_free(d);
}

Test(server, per_peer_limit)
{
	struct pb_server_limits lim = {.max_conns_per_peer = 2};
	int port = start_server(&lim, false);
	struct pb_tls *a = cli("host1", port), *b = cli("host1", port), *c, *d;
	char ev[64];

	put(a, "a");
	expect_reply(a, "a");
	put(b, "b");
	expect_reply(b, "b");
	/* The third host1 connection completes TLS, then the server closes it. */
	c = cli("host1", port);
	(void)pb_tls_send_frame(c, "c", 1, 1000);
	expect_eof(c, 2000);
	pb_tls_free(c);
	/* Another identity is not affected. */
	d = cli("host2", port);
	put(d, "d");
	expect_reply(d, "d");
	/* After one host1 connection ends, another may come. */
	put(a, "close");
	expect_reply(a, "bye");
	expect_eof(a, 2000);
	cr_assert(wait_event("close 0", 2000, ev, sizeof(ev)));
	c = cli("host1", port);
	put(c, "c2");
	expect_reply(c, "c2");
	put(c, "sessions");
	{
		int rc;
		char *s = get(c, 2000, &rc);

		cr_assert_not_null(s);
		cr_expect(strstr(s, "host1.test host1.test") || strstr(s, "host1.test host2.test host1.test"),
			  "sessions: %s", s);
		cr_expect(strstr(s, "host2.test") != NULL, "sessions: %s", s);
		free(s);
	}
	pb_tls_free(a);
	pb_tls_free(b);
	pb_tls_free(c);
	pb_tls_free(d);
}

Test(server, connection_limit)
{
	struct pb_server_limits lim = {.max_conns = 2};
	int port = start_server(&lim, false);
	struct pb_tls *a = cli("host1", port), *b = cli("host2", port);
	struct pb_tls_ctx *cc = client_ctx("admin");
	const char *err = NULL;
	char ps[16];

	snprintf(ps, sizeof(ps), "%d", port);
	cr_expect_null(pb_tls_connect(cc, "127.0.0.1", ps, 2000, &err), "a third connection got in");
	put(a, "a");
	expect_reply(a, "a");
	pb_tls_free(b);
	usleep(100000);
	b = pb_tls_connect(cc, "127.0.0.1", ps, 2000, &err);
	cr_expect_not_null(b, "after one left: %s", err);
	pb_tls_free(a);
	pb_tls_free(b);
	pb_tls_ctx_free(cc);
}

Test(server, close_after_flush_from_handler)
{
	int port = start_server(NULL, false);
	struct pb_tls *c = cli("host1", port);
	char ev[64];

	put(c, "kick");
	expect_reply(c, "kicked");
	expect_eof(c, 2000);
	cr_assert(wait_event("close", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "close 0");
	pb_tls_free(c);
}

Test(server, refuses_bad_certificates)
{
	int port = start_server(NULL, false);
	struct pb_tls_ctx *nocert = client_ctx(NULL);
	struct pb_tls *c;
	const char *err = NULL;
	char ps[16], ev[64];
	int rc;

	snprintf(ps, sizeof(ps), "%d", port);
	/* Under TLS 1.3 the client may finish first; the refusal shows at the first read. */
	c = pb_tls_connect(cctx_cache[3] = client_ctx("other"), "127.0.0.1", ps, 2000, &err);
	if (c != NULL) {
		(void)pb_tls_send_frame(c, "x", 1, 1000);
		cr_expect_null(get(c, 2000, &rc));
		cr_expect(rc == PB_ERR_TLS || rc == PB_ERR_EOF, "%s", pb_strerror(rc));
		pb_tls_free(c);
	}
	c = pb_tls_connect(nocert, "127.0.0.1", ps, 2000, &err);
	if (c != NULL) {
		(void)pb_tls_send_frame(c, "x", 1, 1000);
		cr_expect_null(get(c, 2000, &rc));
		pb_tls_free(c);
	}
	/* Neither reached the handler. */
	c = cli("host1", port);
	put(c, "ok");
	expect_reply(c, "ok");
	cr_assert(wait_event("open", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "open host1.test 0");
	pb_tls_free(c);
	pb_tls_ctx_free(nocert);
}

Test(server, handshake_deadline)
{
	struct pb_server_limits lim = {.handshake_ms = 300};
	int port = start_server(&lim, false);
	char ps[16], b;
	const char *err;
	long long t0 = ms_now();
	int fd;
	struct pollfd pfd;

	snprintf(ps, sizeof(ps), "%d", port);
	fd = pb_net_connect("127.0.0.1", ps, 1000, &err);
	cr_assert_geq(fd, 0);
	pfd.fd = fd;
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 3000), 1);
	cr_expect_leq(read(fd, &b, 1), 0, "the server closes a silent connection");
	cr_expect_geq(ms_now() - t0, 280);
	close(fd);
}

Test(server, resumption_seen_by_handler)
{
	int port = start_server(NULL, false);
	struct pb_tls *c;
	char ev[64];

	c = cli("host1", port);
	put(c, "one"); /* the answer brings the TLS 1.3 ticket along */
	expect_reply(c, "one");
	cr_expect(!pb_tls_resumed(c));
	pb_tls_free(c);
	c = cli("host1", port);
	cr_expect(pb_tls_resumed(c));
	put(c, "two");
	expect_reply(c, "two");
	cr_assert(wait_event("open", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "open host1.test 0");
	cr_assert(wait_event("open", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "open host1.test 1", "the identity survives resumption");
	pb_tls_free(c);
}

Test(server, output_queue_limit_drops_non_reader)
{
	struct pb_server_limits lim = {.max_frame = 20000, .max_outq = 65536};
	int port = start_server(&lim, false);
	struct pb_tls *c = cli("host1", port), *d = cli("host2", port);
	char ev[64];
	uint8_t req[4 + 9];
	int i;

	/* Ask for 16 KB answers without ever reading them. */
	pb_frame_put_hdr(req, 9);
	memcpy(req + 4, "big:16000", 9);
	for (i = 0; i < 3000; i++)
		if (pb_tls_write_all(c, req, sizeof(req), 500) != 0)
			break;
	cr_assert(wait_event("close", 5000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "close -16");
	put(d, "fine");
	expect_reply(d, "fine");
	pb_tls_free(c);
	pb_tls_free(d);
}

Test(server, sighup_reload)
{
	int port = start_server(NULL, false);
	struct pb_tls *c = cli("host1", port);

	kill(srv_pid, SIGHUP);
	cr_assert(wait_event("reload", 2000, NULL, 0));
	put(c, "after");
	expect_reply(c, "after");
	pb_tls_free(c);
}

Test(server, graceful_stop_drains)
{
	struct pb_server_limits lim = {.tick_ms = 300};
	int port = start_server(&lim, false);
	struct pb_tls *busy = cli("host1", port), *idle = cli("host2", port);
	struct pb_tls_ctx *cc = client_ctx("admin");
	const char *err = NULL;
	char ps[16];
	long long t0;

	put(busy, "warm");
	expect_reply(busy, "warm");
	put(idle, "warm");
	expect_reply(idle, "warm");
	/* Make sure the hold is registered before the stop, past this tick. */
	put(busy, "hold");
	usleep(50000);
	t0 = ms_now();
	kill(srv_pid, SIGTERM);
	/* The idle connection is closed at once; the busy one gets its answer first. */
	expect_eof(idle, 1000);
	usleep(50000);
	snprintf(ps, sizeof(ps), "%d", port);
	cr_expect_null(pb_tls_connect(cc, "127.0.0.1", ps, 1000, &err), "still accepting");
	expect_reply(busy, "held-done");
	expect_eof(busy, 2000);
	cr_expect_eq(server_exit(3000), 0);
	cr_expect_lt(ms_now() - t0, 2000);
	pb_tls_free(busy);
	pb_tls_free(idle);
	pb_tls_ctx_free(cc);
}

Test(server, second_sigterm_stops_at_once)
{
	int port = start_server(NULL, false); /* no tick: a hold is never answered */
	struct pb_tls *busy = cli("host1", port);
	long long t0;

	put(busy, "hold");
	usleep(50000);
	t0 = ms_now();
	kill(srv_pid, SIGTERM);
	usleep(100000);
	cr_expect_eq(server_exit(10), -1, "the first SIGTERM must wait for the held request");
	kill(srv_pid, SIGTERM);
	cr_expect_eq(server_exit(2000), 0);
	cr_expect_lt(ms_now() - t0, 1500);
	expect_eof(busy, 1000);
	pb_tls_free(busy);
}

Test(server, stop_from_handler)
{
	int port = start_server(NULL, false);
	struct pb_tls *c = cli("admin", port);

	put(c, "stop");
	expect_reply(c, "stopping");
	expect_eof(c, 2000);
	cr_expect_eq(server_exit(3000), 0);
	pb_tls_free(c);
}

Test(server, plain_mode_on_loopback)
{
	int port = start_server(NULL, true);
	struct pb_tls_ctx *pc = plain_ctx(PB_TLS_CLIENT);
	const char *err = NULL;
	struct pb_tls *c;
	char ps[16], ev[64];

	snprintf(ps, sizeof(ps), "%d", port);
	c = pb_tls_connect(pc, "127.0.0.1", ps, 2000, &err);
	cr_assert_not_null(c, "%s", err);
	put(c, "plain");
	expect_reply(c, "plain");
	cr_assert(wait_event("open", 2000, ev, sizeof(ev)));
	cr_expect_str_eq(ev, "open  0", "no identity in plain mode");
	pb_tls_free(c);
	pb_tls_ctx_free(pc);
}

Test(server, plain_mode_refuses_other_addresses)
{
	struct pb_tls_ctx *pc = plain_ctx(PB_TLS_SERVER);
	struct pb_server *s = pb_server_new(pc, &echo_ops, NULL, NULL);
	const char *err = NULL;

	cr_assert_not_null(s);
	cr_expect_lt(pb_server_listen(s, "*:0", &err), 0);
	cr_expect(err != NULL && strstr(err, "loopback") != NULL, "%s", err);
	cr_expect_eq(pb_server_listen(s, "127.0.0.1:0", &err), 0, "%s", err);
	cr_expect_gt(pb_server_port(s, 0), 0);
	cr_expect_eq(pb_server_port(s, 1), PB_ERR_NOTFOUND);
	pb_server_free(s);
	pb_tls_ctx_free(pc);
}

/* Run a shell command, its output into a string (malloc'd). */
static char *run_capture(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char *out = calloc(1, 65536);
	size_t n = 0, r;

	cr_assert_not_null(f);
	while ((r = fread(out + n, 1, 65535 - n, f)) > 0)
		n += r;
	pclose(f);
	return out;
}

Test(server, tls12_client_resumes_by_session_id_context)
{
	int port = start_server(NULL, false);
	char cmd[2048], *out, *p;
	int reused = 0;

	/* OpenSSL's own client, limited to TLS 1.2, reconnecting five times with its session. */
	snprintf(cmd, sizeof(cmd),
		 "openssl s_client -connect 127.0.0.1:%d -tls1_2 -reconnect -CAfile %s "
		 "-cert %s -key %s -verify_return_error -verify_hostname localhost "
		 "</dev/null 2>&1",
		 port, pki("ca.crt"), pki("host1.crt"), pki("host1.key"));
	out = run_capture(cmd);
	for (p = out; (p = strstr(p, "Reused, TLSv1.2")) != NULL; p++)
		reused++;
	cr_expect_geq(reused, 4, "TLS 1.2 resumption: %d reused\n%s", reused, out);
	cr_expect(strstr(out, "Verify return code: 0 (ok)") != NULL, "%s", out);
	free(out);
}

Test(server, refuses_tls11)
{
	int port = start_server(NULL, false);
	char cmd[2048], *out;

	/* A client willing to speak TLS 1.1 (SECLEVEL=0 so that it can) is refused. */
	snprintf(cmd, sizeof(cmd),
		 "openssl s_client -connect 127.0.0.1:%d -tls1_1 -cipher DEFAULT@SECLEVEL=0 "
		 "-CAfile %s -cert %s -key %s </dev/null 2>&1; echo status=$?",
		 port, pki("ca.crt"), pki("host1.crt"), pki("host1.key"));
	out = run_capture(cmd);
	cr_expect(strstr(out, "status=1") != NULL, "%s", out);
	cr_expect(strstr(out, "protocol version") != NULL ||
		  strstr(out, "unsupported protocol") != NULL, "%s", out);
	free(out);
}

Test(server, garbage_instead_of_tls)
{
	int port = start_server(NULL, false);
	char ps[16], b[64];
	const char *err;
	struct pb_tls *c;
	struct pollfd pfd;
	int fd;

	snprintf(ps, sizeof(ps), "%d", port);
	fd = pb_net_connect("127.0.0.1", ps, 1000, &err);
	cr_assert_geq(fd, 0);
	cr_assert_gt(write(fd, "GET / HTTP/1.0\r\n\r\n", 18), 0);
	pfd.fd = fd;
	pfd.events = POLLIN;
	cr_assert_eq(poll(&pfd, 1, 3000), 1);
	/* An alert at most, then the end. */
	while (read(fd, b, sizeof(b)) > 0)
		;
	close(fd);
	c = cli("host1", port);
	put(c, "fine");
	expect_reply(c, "fine");
	pb_tls_free(c);
}

Test(server, frame_split_into_one_byte_records)
{
	int port = start_server(NULL, false);
	struct pb_tls *c = cli("host1", port);
	const char *msg = "\0\0\0\x0bhello world";
	int i;

	/* Each write is its own TLS record, so the server sees 15 reads of one byte. */
	for (i = 0; i < 15; i++)
		cr_assert_eq(pb_tls_write_all(c, msg + i, 1, 1000), 0);
	expect_reply(c, "hello world");
	pb_tls_free(c);
}

Test(server, many_clients_interleaved)
{
	enum { NC = 40, NF = 25 };
	int port = start_server(NULL, false);
	struct pb_tls *c[NC];
	char m[32];
	int i, j;

	for (i = 0; i < NC; i++)
		c[i] = cli(i % 2 ? "host1" : "host2", port);
	for (j = 0; j < NF; j++)
		for (i = 0; i < NC; i++) {
			snprintf(m, sizeof(m), "c%d-f%d", i, j);
			put(c[i], m);
		}
	for (i = 0; i < NC; i++)
		for (j = 0; j < NF; j++) {
			snprintf(m, sizeof(m), "c%d-f%d", i, j);
			expect_reply(c[i], m);
		}
	for (i = 0; i < NC; i++)
		pb_tls_free(c[i]);
}

/* ---- pb_server_watch_fd: an extra descriptor in the loop (in this process) ---- */

struct watch_test {
	int efd;		/* eventfd signalled by a thread, like logd's fsync worker */
	int pipe_rd;		/* watched, then unwatched before anything is written */
	int efd_calls, pipe_calls;
	uint64_t total;
};

static void *signal_later(void *arg)
{
	struct watch_test *wt = arg;
	uint64_t one = 1;
	int i;

	for (i = 0; i < 3; i++) {
		usleep(20000);
		if (write(wt->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
			break;
	}
	return NULL;
}

static void pipe_watch_cb(struct pb_server *s, int fd, void *arg)
{
	struct watch_test *wt = arg;
	char b[16];

	(void)s;
	wt->pipe_calls++;
	if (read(fd, b, sizeof(b)) < 0)
		wt->pipe_calls += 100;
}

static void efd_watch_cb(struct pb_server *s, int fd, void *arg)
{
	struct watch_test *wt = arg;
	uint64_t v;

	wt->efd_calls++;
	if (read(fd, &v, sizeof(v)) == (ssize_t)sizeof(v))
		wt->total += v;
	if (wt->total >= 3) {
		pb_server_unwatch_fd(s, fd);
		pb_server_stop(s, false);
	}
}

Test(server, watch_fd_runs_callback_in_loop)
{
	struct pb_tls_ctx *ctx = plain_ctx(PB_TLS_SERVER);
	struct pb_server *s = pb_server_new(ctx, &echo_ops, NULL, NULL);
	struct watch_test wt = {0};
	pthread_t th;
	int p[2];
	long long t0;

	cr_assert_not_null(s);
	pb_tls_ctx_free(ctx);
	wt.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert_geq(wt.efd, 0);
	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	wt.pipe_rd = p[0];
	cr_assert_eq(pb_server_watch_fd(s, wt.efd, efd_watch_cb, &wt), 0);
	cr_assert_eq(pb_server_watch_fd(s, wt.efd, efd_watch_cb, &wt), PB_ERR_INVAL,
		     "the same fd twice");
	cr_assert_eq(pb_server_watch_fd(s, -1, efd_watch_cb, &wt), PB_ERR_INVAL);
	cr_assert_eq(pb_server_watch_fd(s, p[0], pipe_watch_cb, &wt), 0);
	pb_server_unwatch_fd(s, p[0]);
	pb_server_unwatch_fd(s, 12345);	/* unknown: ignored */
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(pthread_create(&th, NULL, signal_later, &wt), 0);
	t0 = ms_now();
	cr_assert_eq(pb_server_run(s), 0);
	pthread_join(th, NULL);
	cr_expect_eq(wt.total, 3);
	cr_expect_geq(wt.efd_calls, 1);
	cr_expect_leq(wt.efd_calls, 3);
	cr_expect_eq(wt.pipe_calls, 0, "an unwatched fd's callback ran");
	cr_expect_lt(ms_now() - t0, 3000);
	/* Watched again after unwatching (same fd): allowed; free unwatches it. */
	cr_expect_eq(pb_server_watch_fd(s, p[0], pipe_watch_cb, &wt), 0);
	pb_server_free(s);
	close(wt.efd);
	close(p[0]);
	close(p[1]);
}

/*
 * A client that keeps sending after the server decided to close must still
 * read the last answer: the server half-closes and discards input for a
 * bounded time instead of closing with unread input (which makes TCP send
 * a reset that can destroy the answer). Plain mode, so the test sees the
 * TCP ending itself: a reset fails recv with ECONNRESET.
 */
Test(server, last_answer_survives_client_that_keeps_sending)
{
	int port = start_server(NULL, true);
	/* Under the 64 KiB the server discards after its last answer (LINGER_MAX in server.c). */
	static uint8_t junk[60 * 1024];
	char ps[16];
	uint8_t *got = malloc(2 << 20);
	const char *err = NULL;
	size_t have = 0;
	int fd;
	struct pollfd first = {.events = POLLIN};

	snprintf(ps, sizeof(ps), "%d", port);
	fd = pb_net_connect("127.0.0.1", ps, 2000, &err);
	cr_assert_geq(fd, 0, "%s", err);
	/*
	 * A big answer the client does not read yet (so it waits in the
	 * server's socket buffer when the server closes), then "close"
	 * (answered "bye", then the handler closes). Once the answer starts to
	 * arrive the server has handled both, so the input sent next is still
	 * unread in its kernel buffer when it closes: without the half-close
	 * and drain that close would reset the connection and lose the answer.
	 */
	cr_assert_eq(send(fd, "\0\0\0\x0a" "big:900000" "\0\0\0\x05" "close", 23, MSG_NOSIGNAL), 23);
	first.fd = fd;
	cr_assert_gt(poll(&first, 1, 3000), 0, "no answer");
	memset(junk, 'j', sizeof(junk));
	cr_assert_eq(send(fd, junk, sizeof(junk), MSG_NOSIGNAL), (ssize_t)sizeof(junk));
	usleep(300000);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		cr_assert_gt(poll(&pfd, 1, 3000), 0, "no answer and no end");
		r = recv(fd, got + have, (2 << 20) - have, 0);
		cr_assert_geq(r, 0, "after %zu bytes: %s", have, strerror(errno));
		if (r == 0)
			break;
		have += (size_t)r;
		cr_assert_lt(have, 2 << 20);
	}
	cr_assert_eq(have, 4 + 900000 + 4 + 3, "got %zu bytes", have);
	cr_expect_eq(memcmp(got + have - 7, "\0\0\0\x03" "bye", 7), 0);
	free(got);
	close(fd);
}
