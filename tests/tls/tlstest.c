/* SPDX-License-Identifier: ISC */
/* Shared helpers of the TLS, server and daemon tests: the test PKI, contexts, in-process handshakes. */
#include "tlstest.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "net.h"

static char pki_dir[256];

/* Made once, in the runner, before any test is forked: each test inherits PB_TEST_PKI. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char cmd[512];

	(void)set;
	snprintf(pki_dir, sizeof(pki_dir), "%s/pbsh-tls-XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(pki_dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "sh '%s' '%s'", PKI_SH, pki_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "%s failed\n", cmd);
		exit(1);
	}
	setenv("PB_TEST_PKI", pki_dir, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char cmd[512];

	(void)stats;
	if (pki_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", pki_dir);
	}
}

const char *pki(const char *name)
{
	static char bufs[8][512];
	static unsigned n;
	char *b = bufs[n++ % 8];
	const char *d = getenv("PB_TEST_PKI");

	cr_assert_not_null(d, "PB_TEST_PKI is not set (the PRE_ALL hook did not run)");
	snprintf(b, 512, "%s/%s", d, name);
	return b;
}

static struct pb_tls_ctx *make(enum pb_tls_role role, const char *name)
{
	struct pb_tls_conf conf = {0};
	char cert[300], key[300];
	const char *err = NULL;
	struct pb_tls_ctx *ctx;

	conf.ca = pki("ca.crt");
	if (name != NULL) {
		snprintf(cert, sizeof(cert), "%s", pki(name));
		strcat(cert, ".crt");
		snprintf(key, sizeof(key), "%s", pki(name));
		strcat(key, ".key");
		conf.cert = cert;
		conf.key = key;
	}
	ctx = pb_tls_ctx_new(role, &conf, &err);
	cr_assert_not_null(ctx, "context for %s: %s", name ? name : "(none)", err ? err : "?");
	return ctx;
}

struct pb_tls_ctx *server_ctx(const char *name)
{
	return make(PB_TLS_SERVER, name);
}

struct pb_tls_ctx *client_ctx(const char *name)
{
	return make(PB_TLS_CLIENT, name);
}

struct pb_tls_ctx *plain_ctx(enum pb_tls_role role)
{
	struct pb_tls_conf conf = {.plain = true};
	struct pb_tls_ctx *ctx = pb_tls_ctx_new(role, &conf, NULL);

	cr_assert_not_null(ctx);
	return ctx;
}

void pair_handshake(struct pb_tls_ctx *cctx, struct pb_tls_ctx *sctx, const char *servername,
		    struct pb_tls **cli, struct pb_tls **srv, int *crc, int *src)
{
	int sv[2], i;
	const char *err = NULL;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	*cli = pb_tls_new(cctx, sv[0], servername, &err);
	cr_assert_not_null(*cli, "client: %s", err);
	*srv = pb_tls_new(sctx, sv[1], NULL, &err);
	cr_assert_not_null(*srv, "server: %s", err);
	*crc = *src = PB_ERR_WANT_READ;
	/*
	 * Each step moves one flight; a handshake is a handful of them. When one
	 * side fails it sends an alert and the other fails at its next step; the
	 * bound ends the loop if one never learns of it.
	 */
	for (i = 0; i < 50; i++) {
		bool cw = *crc == PB_ERR_WANT_READ || *crc == PB_ERR_WANT_WRITE;
		bool sw = *src == PB_ERR_WANT_READ || *src == PB_ERR_WANT_WRITE;

		if (!cw && !sw)
			break;
		if (cw)
			*crc = pb_tls_handshake(*cli);
		if (sw)
			*src = pb_tls_handshake(*srv);
	}
}

long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
