/* SPDX-License-Identifier: ISC */
/* Fuzz harness: logd's protocol decoder and handler, fed a sequence of frames (2-byte little-endian length, payload). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct logd_ctx ctx;
static char dir[64];

static int null_send(void *io, const ProtobufCMessage *m)
{
	(void)io;
	/* Packing exercises the reply path the way the server would. */
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf != NULL)
		protobuf_c_message_pack(m, buf);
	free(buf);
	return 0;
}

static void null_close(void *io)
{
	(void)io;
}

static bool null_matches(void *io, const char *name)
{
	(void)io;
	return name[0] == 'h';
}

static const struct logd_transport tr = {null_send, null_close, null_matches};

static void cleanup(void)
{
	char cmd[96];
	logd_ctx_forget_sessions(&ctx);
	evlog_close(ctx.ev);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz-logproto: could not remove %s\n", dir);
}

static void init(void)
{
	const char *errstr;
	char ev[96];
	snprintf(dir, sizeof(dir), "/tmp/fuzz-logproto.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	ctx.store = &iolog_sudo_ops;
	ctx.iolog_rootfd = open(dir, O_RDONLY | O_DIRECTORY);
	ctx.seqfd = -1;
	ctx.path_template = "%{user}/%{seq}";
	ctx.iolog_mode = 0600;
	ctx.server_id = "fuzz";
	ctx.enabled = true;
	ctx.hostcheck = LOGD_HOSTCHECK_STRICT;
	snprintf(ev, sizeof(ev), "%s/events/", dir);
	mkdir(ev, 0700);
	if (evlog_open(ev, 1u << 20, &ctx.ev, &errstr) < 0)
		abort();
	atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ctx.ev == NULL)
		init();
	/* Odd first byte: a TLS peer with an identity; even: plain mode. */
	ctx.plain = size > 0 && (data[0] & 1) == 0;
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, ctx.plain ? "" : "host1.test", "fuzz");
	if (c == NULL)
		return 0;
	size_t p = size > 0 ? 1 : 0;
	while (p + 2 <= size) {
		size_t n = (size_t)data[p] | (size_t)data[p + 1] << 8;
		p += 2;
		if (n > size - p)
			n = size - p;
		if (n == 0) {
			logd_conn_frame_error(c, -8);
			break;
		}
		/* An exact-size copy so overreads show under ASan. */
		uint8_t *msg = malloc(n);
		if (msg == NULL)
			break;
		memcpy(msg, data + p, n);
		int rc = logd_conn_frame(c, msg, n);
		free(msg);
		p += n;
		if (rc < 0)
			break;
		if ((p & 7) == 0)
			logd_ctx_tick(&ctx);
	}
	logd_ctx_tick(&ctx);
	logd_conn_free(c);
	return 0;
}
