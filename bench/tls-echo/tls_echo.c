/* SPDX-License-Identifier: ISC */
/* Measures the floor under policyd: a TLS echo round trip on a persistent loopback connection, and full vs resumed handshakes. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "daemon.h"
#include "debug.h"
#include "err.h"
#include "frame.h"
#include "server.h"
#include "tls.h"

/*
 * The server is lib/server.c with a handler that echoes every frame, in a
 * child process (as policyd would be), so the numbers include the real
 * event loop, framing and TLS on both sides. The client uses the blocking
 * helpers of lib/tls.c, as the session monitor does.
 *
 * Usage: tls-echo [-n round-trips] [-H handshakes] [-s payload-bytes] [-c idle-conns]
 *                 [-p pki-dir]
 * Without -p, a temporary PKI is made with tests/pki.sh. With -c, that many
 * idle connections are held open while the round trips are timed (the
 * daemons' normal state: one mostly idle connection per shell session),
 * and the server's resident memory is reported with and without them.
 */

static int echo_cb(struct pb_conn *c, void *state, const uint8_t *msg, size_t len)
{
	(void)state;
	return pb_conn_send(c, msg, len);
}

static char pkidir[512];

static const char *pki_file(const char *name)
{
	static char b[4][600];
	static unsigned n;
	char *p = b[n++ % 4];

	snprintf(p, 600, "%s/%s", pkidir, name);
	return p;
}

/* Start an echo server (TLS or plain) in a child; returns the port, *pid gets the child. */
static int start_server(bool plain, pid_t *pid)
{
	int p[2], port = 0;

	if (pipe(p) < 0)
		return -1;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		struct pb_tls_conf conf = {.ca = pki_file("ca.crt"), .cert = pki_file("server.crt"),
					   .key = pki_file("server.key"), .plain = plain};
		struct pb_server_ops ops = {.frame_cb = echo_cb};
		const char *err = NULL;
		struct pb_tls_ctx *ctx = pb_tls_ctx_new(PB_TLS_SERVER, &conf, &err);
		struct pb_server *s;

		close(p[0]);
		pb_daemon_raise_nofile();
		if (ctx == NULL) {
			fprintf(stderr, "tls-echo: %s\n", err);
			_exit(1);
		}
		struct pb_server_limits lim = {.max_conns = 100000, .max_conns_per_peer = 100000};

		s = pb_server_new(ctx, &ops, NULL, &lim);
		if (s == NULL || pb_server_listen(s, "127.0.0.1:0", &err) < 0) {
			fprintf(stderr, "tls-echo: %s\n", err ? err : "server");
			_exit(1);
		}
		port = pb_server_port(s, 0);
		if (write(p[1], &port, sizeof(port)) != sizeof(port))
			_exit(1);
		close(p[1]);
		_exit(pb_server_run(s) == 0 ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], &port, sizeof(port)) != sizeof(port))
		port = -1;
	close(p[0]);
	return port;
}

/* Resident memory of a process in KiB, or -1. */
static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void stop_server(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static struct pb_tls_ctx *client_ctx(bool plain)
{
	struct pb_tls_conf conf = {.ca = pki_file("ca.crt"), .cert = pki_file("host1.crt"),
				   .key = pki_file("host1.key"), .plain = plain};
	const char *err = NULL;
	struct pb_tls_ctx *ctx = pb_tls_ctx_new(PB_TLS_CLIENT, &conf, &err);

	if (ctx == NULL) {
		fprintf(stderr, "tls-echo: %s\n", err);
		exit(1);
	}
	return ctx;
}

static struct pb_tls *connect_to(struct pb_tls_ctx *ctx, const char *port)
{
	const char *err = NULL;
	struct pb_tls *t = pb_tls_connect(ctx, "127.0.0.1", port, 5000, &err);

	if (t == NULL) {
		fprintf(stderr, "tls-echo: connect: %s\n", err);
		exit(1);
	}
	return t;
}

static struct pb_tls *connect_to(struct pb_tls_ctx *ctx, const char *port);

/* Open n connections (resumed handshakes, one echo each) and leave them idle. */
static struct pb_tls **open_idle(struct pb_tls_ctx *ctx, const char *port, size_t n, pid_t srv)
{
	struct pb_tls **v = calloc(n, sizeof(*v));
	long before = rss_kib(srv), after;
	int64_t t0 = pb_bench_now_ns();
	double us;
	size_t i;

	for (i = 0; i < n; i++) {
		v[i] = connect_to(ctx, port);
		if (pb_bench_rtt(v[i], "idle", 4, 1, &us) < 0) {
			fprintf(stderr, "tls-echo: idle connection %zu failed\n", i);
			exit(1);
		}
	}
	after = rss_kib(srv);
	printf("%-28s %zu opened in %.0f ms; server RSS %ld -> %ld KiB (%.1f KiB each)\n",
	       "idle connections", n, (double)(pb_bench_now_ns() - t0) / 1e6, before, after,
	       n ? (double)(after - before) / (double)n : 0.0);
	return v;
}

static void rtt_run(const char *name, bool plain, const char *port, size_t n, size_t size)
{
	struct pb_tls_ctx *ctx = client_ctx(plain);
	struct pb_tls *t = connect_to(ctx, port);
	struct pb_bench_stats st;
	double *v = calloc(n, sizeof(*v));
	char *req = malloc(size);
	size_t warm = n / 10 + 10;
	double *w = calloc(warm, sizeof(*w));
	int rc;

	memset(req, 'r', size);
	rc = pb_bench_rtt(t, req, size, warm, w);
	if (rc == 0)
		rc = pb_bench_rtt(t, req, size, n, v);
	if (rc < 0) {
		fprintf(stderr, "tls-echo: %s: %s (%s)\n", name, pb_strerror(rc), pb_tls_errstr(t));
		exit(1);
	}
	pb_bench_stats(v, n, &st);
	pb_bench_print(name, "us", &st);
	pb_tls_free(t);
	pb_tls_ctx_free(ctx);
	free(v);
	free(w);
	free(req);
}

/* After a handshake, one echo: it also brings the TLS 1.3 ticket to the client. */
static void one_echo(struct pb_tls *t)
{
	double us;

	if (pb_bench_rtt(t, "x", 1, 1, &us) < 0) {
		fprintf(stderr, "tls-echo: echo after handshake failed\n");
		exit(1);
	}
}

static void handshakes(const char *port, size_t n)
{
	double *full = calloc(n, sizeof(double)), *res = calloc(n, sizeof(double));
	struct pb_bench_stats st;
	struct pb_tls_ctx *ctx;
	struct pb_tls *t;
	size_t i, resumed = 0;

	/* Full: a fresh context each time, so no session is offered (made outside the timing). */
	for (i = 0; i < n; i++) {
		int64_t t0;

		ctx = client_ctx(false);
		t0 = pb_bench_now_ns();
		t = connect_to(ctx, port);
		full[i] = (double)(pb_bench_now_ns() - t0) / 1000.0;
		one_echo(t);
		pb_tls_free(t);
		pb_tls_ctx_free(ctx);
	}
	pb_bench_stats(full, n, &st);
	pb_bench_print("connect+handshake full", "us", &st);

	ctx = client_ctx(false);
	t = connect_to(ctx, port);
	one_echo(t);
	pb_tls_free(t);
	for (i = 0; i < n; i++) {
		int64_t t0 = pb_bench_now_ns();

		t = connect_to(ctx, port);
		res[i] = (double)(pb_bench_now_ns() - t0) / 1000.0;
		resumed += pb_tls_resumed(t);
		one_echo(t);
		pb_tls_free(t);
	}
	pb_tls_ctx_free(ctx);
	pb_bench_stats(res, n, &st);
	pb_bench_print("connect+handshake resumed", "us", &st);
	printf("%-28s %zu of %zu\n", "resumed handshakes", resumed, n);
	if (resumed != n)
		fprintf(stderr, "tls-echo: warning: only %zu of %zu handshakes resumed\n", resumed, n);
	free(full);
	free(res);
}

int main(int argc, char **argv)
{
	size_t n = 20000, hs = 300, size = 64, idle = 0, i;
	struct pb_tls **idle_conns = NULL;
	struct pb_tls_ctx *idle_ctx = NULL;
	bool own_pki = false;
	char port[16], cmd[1200];
	pid_t pid;
	int opt, p;

	while ((opt = getopt(argc, argv, "n:H:s:c:p:")) != -1) {
		switch (opt) {
		case 'n':
			n = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'H':
			hs = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 's':
			size = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			idle = (size_t)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			snprintf(pkidir, sizeof(pkidir), "%s", optarg);
			break;
		default:
			fprintf(stderr, "usage: tls-echo [-n round-trips] [-H handshakes] "
					"[-s payload-bytes] [-c idle-conns] [-p pki-dir]\n");
			return 2;
		}
	}
	if (n == 0 || hs == 0 || size == 0 || size > PB_FRAME_MAX_DEFAULT) {
		fprintf(stderr, "tls-echo: counts and size must be positive (size <= 2 MiB)\n");
		return 2;
	}
	if (pkidir[0] == '\0') {
		snprintf(pkidir, sizeof(pkidir), "%s/pbsh-bench-XXXXXX",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (mkdtemp(pkidir) == NULL) {
			perror("tls-echo: mkdtemp");
			return 1;
		}
		own_pki = true;
		snprintf(cmd, sizeof(cmd), "sh '%s' '%s'", PKI_SH, pkidir);
		if (system(cmd) != 0) {
			fprintf(stderr, "tls-echo: %s failed\n", cmd);
			return 1;
		}
	}
	/* The warnings of plain mode and connection logs would drown the numbers. */
	pb_log_open("tls-echo", PB_LOG_FILE, "/dev/null");
	printf("tls-echo: %zu round trips of %zu-byte frames on one loopback connection, "
	       "%zu handshakes each way\n", n, size, hs);

	p = start_server(false, &pid);
	if (p <= 0)
		return 1;
	snprintf(port, sizeof(port), "%d", p);
	rtt_run("rtt TLS 1.3 (echo)", false, port, n, size);
	handshakes(port, hs);
	if (idle > 0) {
		pb_daemon_raise_nofile();
		idle_ctx = client_ctx(false);
		idle_conns = open_idle(idle_ctx, port, idle, pid);
		rtt_run("rtt TLS 1.3 with idle conns", false, port, n, size);
		for (i = 0; i < idle; i++)
			pb_tls_free(idle_conns[i]);
		free(idle_conns);
		pb_tls_ctx_free(idle_ctx);
	}
	stop_server(pid);

	p = start_server(true, &pid);
	if (p <= 0)
		return 1;
	snprintf(port, sizeof(port), "%d", p);
	rtt_run("rtt plain TCP (echo, floor)", true, port, n, size);
	stop_server(pid);

	if (own_pki) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pkidir);
		if (system(cmd) != 0)
			fprintf(stderr, "tls-echo: could not remove %s\n", pkidir);
	}
	return 0;
}
