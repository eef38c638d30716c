/* SPDX-License-Identifier: ISC */
/* pbctl's admin connection to one daemon: TLS, the daemon's own envelope around AdminRequest/AdminReply. */
#ifndef PB_TOOLS_PBCTL_CONN_H
#define PB_TOOLS_PBCTL_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "admin.pb-c.h"
#include "tls.h"

/* Which envelope: policyd's PolicyRequest.admin or logd's ClientMessage.admin_req. */
enum pbctl_daemon {
	PBCTL_D_POLICYD,
	PBCTL_D_LOGD,
};

/* Why a connection or request failed, as status states it. */
enum pbctl_fail {
	PBCTL_F_NONE,
	PBCTL_F_NOTRUNNING, /* nothing accepted the TCP connection */
	PBCTL_F_FAILED,	    /* it answered, but TLS, the protocol or the daemon failed */
	PBCTL_F_CLOSED,	    /* the daemon closed the connection (after a stop, or a kill) */
};

struct pbctl_conn;

/*
 * pbctl_conn_open: connect to daemon d at host:port and complete the TLS
 * handshake (and, for logd, read its ServerHello) within timeout_ms.
 * Returns the connection (free with pbctl_conn_free) or NULL with *why and
 * a message in err.
 */
struct pbctl_conn *pbctl_conn_open(struct pb_tls_ctx *ctx, enum pbctl_daemon d, const char *host,
				   const char *port, int timeout_ms, enum pbctl_fail *why, char *err,
				   size_t errlen);

/*
 * pbctl_conn_request: send req (its id is set here) and wait at most
 * timeout_ms for the answer. Returns the reply (caller frees with
 * admin_reply__free_unpacked(r, NULL)), or NULL with *why and err. An
 * AdminError from the daemon is a reply, not a failure.
 */
AdminReply *pbctl_conn_request(struct pbctl_conn *c, AdminRequest *req, int timeout_ms,
			       enum pbctl_fail *why, char *err, size_t errlen);

/*
 * pbctl_conn_wait_close: wait at most timeout_ms for the daemon to close
 * the connection, discarding what it sends. True when it closed.
 */
bool pbctl_conn_wait_close(struct pbctl_conn *c, int timeout_ms);

/* pbctl_conn_free: close and free; NULL accepted. */
void pbctl_conn_free(struct pbctl_conn *c);

#endif
