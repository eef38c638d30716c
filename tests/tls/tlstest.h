/* SPDX-License-Identifier: ISC */
/* Shared helpers of the TLS, server and daemon tests: the test PKI, contexts, in-process handshakes. */
#ifndef PB_TLSTEST_H
#define PB_TLSTEST_H

#include <stdbool.h>

#include "tls.h"

/* The PKI made once per test program by tests/pki.sh (a PRE_ALL hook); "DIR/name". */
const char *pki(const char *name);

/* A server context from NAME.crt/NAME.key; asserts success. */
struct pb_tls_ctx *server_ctx(const char *name);

/* A client context from NAME.crt/NAME.key (NULL: no certificate); asserts success. */
struct pb_tls_ctx *client_ctx(const char *name);

/* A plain (test-only) context of role. */
struct pb_tls_ctx *plain_ctx(enum pb_tls_role role);

/*
 * Run both ends of a handshake over a non-blocking socketpair in this
 * process, alternating while they want I/O. *crc / *src get each side's
 * final result. Both connections are made here and returned.
 */
void pair_handshake(struct pb_tls_ctx *cctx, struct pb_tls_ctx *sctx, const char *servername,
		    struct pb_tls **cli, struct pb_tls **srv, int *crc, int *src);

/* Monotonic milliseconds. */
long long ms_now(void);

#endif
