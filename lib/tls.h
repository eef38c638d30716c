/* SPDX-License-Identifier: ISC */
/* TLS client and server connections (OpenSSL 3) with mutual authentication against a private CA. */
#ifndef PB_TLS_H
#define PB_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Policy (DESIGN §4): TLS 1.2 minimum, 1.3 preferred; both sides present a
 * certificate and verify the other against one private CA file only (the
 * system trust store is never loaded: it costs ~32 ms and would trust the
 * whole world); a client verifies the server's name; sessions are resumed
 * (session ids with a session id context under 1.2, tickets under 1.3).
 * Certificates that fail verification are refused and the OpenSSL reason
 * is written with pb_log().
 *
 * Everything here works on blocking and non-blocking descriptors alike:
 * on a non-blocking one, calls return PB_ERR_WANT_READ / PB_ERR_WANT_WRITE
 * and must be repeated, with the same arguments, once the descriptor is
 * ready. Writing to a peer that has gone raises SIGPIPE unless the caller
 * ignores it (pb_server and pb_daemon do).
 *
 * Plain mode (tests only): a context made with conf.plain carries bytes in
 * clear over TCP. It warns loudly when made, and a connection refuses any
 * socket whose local or peer address is not loopback (AF_UNIX socketpairs
 * are allowed). There is no peer identity in plain mode.
 */

enum pb_tls_role {
	PB_TLS_CLIENT,
	PB_TLS_SERVER,
};

struct pb_tls_conf {
	const char *ca;		/* PEM file of the private CA(s) that peers must chain to */
	const char *cert;	/* our certificate (PEM, may hold the chain) */
	const char *key;	/* our private key (PEM); a client with neither cert nor key
				   presents none (servers refuse it: only for tests) */
	const char *sid_ctx;	/* server: session id context; NULL = "pbsh" (different
				   services should use different ones) */
	bool plain;		/* tests only: no TLS at all, loopback only (see above) */
	bool no_client_cert;	/* server: do not require a client certificate (one
				   that is sent is still verified against ca); for
				   clients such as sudo_sendlog that may not have one.
				   Without one, the peer id is "" */
	bool no_resume;		/* client: never offer a saved session, as a process
				   that connects once (a session monitor) does */
};

struct pb_tls_ctx;	/* shared settings, keys and the client's session cache */
struct pb_tls;		/* one connection */

/*
 * pb_tls_ctx_new: load the CA, certificate and key for role. Returns a new
 * context (free with pb_tls_ctx_free), or NULL with *errstr describing what
 * failed, naming the file (static storage, valid until the next call).
 */
struct pb_tls_ctx *pb_tls_ctx_new(enum pb_tls_role role, const struct pb_tls_conf *conf,
				  const char **errstr);

/*
 * pb_tls_ctx_free: drop the caller's reference; the context lives on until
 * the last connection made from it is freed. Accepts NULL.
 */
void pb_tls_ctx_free(struct pb_tls_ctx *ctx);

/* pb_tls_ctx_ref: take one more reference (each is dropped by pb_tls_ctx_free); returns ctx. */
struct pb_tls_ctx *pb_tls_ctx_ref(struct pb_tls_ctx *ctx);

/*
 * pb_tls_ctx_peer_certs: how many distinct client certificates a server
 * context holds decoded now; connections presenting the same certificate
 * share one copy (0 for a client or plain context).
 */
size_t pb_tls_ctx_peer_certs(const struct pb_tls_ctx *ctx);

/* pb_tls_ctx_plain: true for a plain (test-only, no TLS) context. */
bool pb_tls_ctx_plain(const struct pb_tls_ctx *ctx);

/* pb_tls_ctx_role: the role the context was made for. */
enum pb_tls_role pb_tls_ctx_role(const struct pb_tls_ctx *ctx);

/*
 * pb_tls_new: wrap a connected socket fd. The connection owns fd from now
 * on, also when this fails (fd is then closed). servername (client only,
 * required unless plain) is the name or address the server's certificate
 * must match; it also keys the session cache, so the next connection to the
 * same name resumes. Nothing is sent until pb_tls_handshake. Returns NULL on
 * failure (plain mode on a non-loopback socket, out of memory) with
 * *errstr set (static storage).
 */
struct pb_tls *pb_tls_new(struct pb_tls_ctx *ctx, int fd, const char *servername,
			  const char **errstr);

/* pb_tls_free: free the connection and close its fd (no close_notify; see pb_tls_shutdown). Accepts NULL. */
void pb_tls_free(struct pb_tls *t);

/* pb_tls_fd: the connection's socket. */
int pb_tls_fd(const struct pb_tls *t);

/*
 * pb_tls_set_label: a name for log messages about this connection (the
 * server uses the peer address). Copied. Default: "peer".
 */
void pb_tls_set_label(struct pb_tls *t, const char *label);

/*
 * pb_tls_handshake: run (or continue) the handshake. Returns 0 when done,
 * PB_ERR_WANT_READ / PB_ERR_WANT_WRITE to be called again, PB_ERR_EOF when
 * the peer closed, PB_ERR_IO, or PB_ERR_TLS (verification or protocol
 * failure: the reason is logged and kept for pb_tls_errstr).
 */
int pb_tls_handshake(struct pb_tls *t);

/*
 * pb_tls_read: read up to n bytes. Returns the count (> 0), PB_ERR_EOF at
 * the peer's close (clean or not), PB_ERR_WANT_READ / PB_ERR_WANT_WRITE,
 * PB_ERR_IO or PB_ERR_TLS. After a short read more may still be buffered
 * inside TLS (pb_tls_pending), which the descriptor's readiness won't show.
 */
ssize_t pb_tls_read(struct pb_tls *t, void *buf, size_t n);

/*
 * pb_tls_write: write up to n bytes; returns how many were taken (> 0, may
 * be less than n), or PB_ERR_WANT_WRITE / PB_ERR_WANT_READ (repeat with at
 * least the same bytes at the same position; the buffer may move),
 * PB_ERR_EOF, PB_ERR_IO, PB_ERR_TLS.
 */
ssize_t pb_tls_write(struct pb_tls *t, const void *buf, size_t n);

/* pb_tls_pending: decrypted bytes that pb_tls_read can return without touching the socket. */
size_t pb_tls_pending(const struct pb_tls *t);

/*
 * pb_tls_read_ahead: from now on each read from the socket takes what is
 * there (not a record header, then its body: one read per record instead
 * of two). Records may then wait in TLS undecrypted, which the descriptor's
 * readiness won't show and pb_tls_pending does not count: a connection
 * with read-ahead reads on while pb_tls_buffered says so.
 */
void pb_tls_read_ahead(struct pb_tls *t);

/* pb_tls_buffered: TLS holds data that arrived and was not read yet (decrypted or not). */
bool pb_tls_buffered(const struct pb_tls *t);

/*
 * pb_tls_shutdown: send close_notify once, without waiting for the peer's.
 * Best effort: returns 0 or a PB_ERR_* that callers may ignore.
 */
int pb_tls_shutdown(struct pb_tls *t);

/*
 * pb_tls_peer_id: the peer's identity from its verified certificate: the
 * subject CN, or the first DNS subjectAltName when there is no CN. "" when
 * there is none (plain mode, server with no_client_cert). Owned by t.
 */
const char *pb_tls_peer_id(const struct pb_tls *t);

/*
 * pb_tls_peer_matches: true when the peer's verified certificate is valid
 * for host name name (subjectAltName DNS, or CN when there are no SANs), so a
 * server can check a host name a client claims. False in plain mode.
 */
bool pb_tls_peer_matches(const struct pb_tls *t, const char *name);

/* pb_tls_resumed: true when the handshake resumed an earlier session. */
bool pb_tls_resumed(const struct pb_tls *t);

/* pb_tls_version: "TLSv1.3", "TLSv1.2", or "plain". Static storage. */
const char *pb_tls_version(const struct pb_tls *t);

/*
 * pb_tls_errstr: why the last call failed, for a message to the user
 * ("certificate verify failed: certificate has expired"). Owned by t;
 * "" when nothing failed.
 */
const char *pb_tls_errstr(const struct pb_tls *t);

/*
 * Blocking helpers for clients (the session monitor, tools, tests, bench):
 * they wait with poll() on the descriptor whatever its mode. timeout_ms < 0
 * waits forever; each returns 0 or PB_ERR_TIMEOUT or the error of the
 * underlying call.
 *
 * pb_tls_handshake_wait: the whole handshake.
 * pb_tls_write_all: all n bytes.
 * pb_tls_send_frame: one frame (lib/frame.h header + payload).
 * pb_tls_recv_frame: one frame of at most max bytes (0 = default); the
 *   payload is malloc'd for the caller. Errors as pb_frame_read_fd:
 *   PB_ERR_EOF before any byte, PB_ERR_TRUNCATED inside a frame,
 *   PB_ERR_FRAME_ZERO, PB_ERR_FRAME_BIG, plus TLS errors. timeout_ms bounds
 *   the whole frame.
 */
int pb_tls_handshake_wait(struct pb_tls *t, int timeout_ms);
int pb_tls_write_all(struct pb_tls *t, const void *buf, size_t n, int timeout_ms);
int pb_tls_send_frame(struct pb_tls *t, const void *payload, size_t len, int timeout_ms);
int pb_tls_recv_frame(struct pb_tls *t, uint32_t max, int timeout_ms, uint8_t **payload,
		      size_t *len);

/*
 * pb_tls_connect: the usual client sequence: pb_net_connect to host:port,
 * pb_tls_new with host as the server name, pb_tls_handshake_wait; all
 * within timeout_ms. Returns the connection or NULL with *errstr (static
 * storage) saying what failed. The descriptor is non-blocking; use the
 * blocking helpers above or poll yourself.
 */
struct pb_tls *pb_tls_connect(struct pb_tls_ctx *ctx, const char *host, const char *port,
			      int timeout_ms, const char **errstr);

#endif
