/* SPDX-License-Identifier: ISC */
/* The daemons' connection server: one event loop (epoll) for TLS, framing, deadlines, limits and signals. */
#ifndef PB_SERVER_H
#define PB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "tls.h"

/*
 * policyd and logd both plug into this (STYLE §8: main / conf / server /
 * handler). The server owns sockets, TLS, the frame decoder, deadlines,
 * output queues and signals; the daemon supplies callbacks that see whole
 * frames (protobuf payloads without the 4-byte header) and queue answers.
 *
 * One process, one thread, epoll: the daemons hold thousands of mostly idle
 * persistent connections (one per shell session) and the work per request
 * is a few microseconds of CPU (a policy evaluation, an append to a log),
 * so a worker pool would only add locking to the policy engine and the log
 * store for nothing. Callbacks therefore must not block: long disk work
 * (fsync) is the caller's to batch, e.g. at tick_cb commit points.
 *
 * Life of a connection (enum pb_conn_state):
 *   HANDSHAKE  accepted; TLS handshake under limits.handshake_ms. Then the
 *              per-peer limit is checked and open_cb makes the handler
 *              state (NULL refuses the connection).
 *   OPEN       frames are decoded and handed to frame_cb one at a time, in
 *              order, also when the client pipelines them. Once the first
 *              byte of a frame arrives it must be complete within
 *              limits.frame_ms (slow clients are dropped); with no frame
 *              in progress and nothing queued, limits.idle_ms of silence
 *              closes the connection.
 *   CLOSING    no more frames are read; queued output is flushed (bounded
 *              by limits.frame_ms), close_notify is sent, the socket is
 *              half-closed, and what the peer still sends is read and
 *              discarded (at most 64 KiB or 200 ms, until its end) before
 *              the socket is closed: closing with unread input would
 *              reset the connection and could destroy the last answer. close_cb runs exactly once for every connection
 *              open_cb accepted, at the start of CLOSING for a handler's
 *              close, or when the connection dies.
 *
 * Protocol errors: a frame announcing length 0 or more than
 * limits.max_frame, or a frame that misses its deadline, makes the server
 * call frame_error_cb (the daemon queues its own protocol's error message)
 * and then flush and close. A stream that ends inside a frame closes with
 * why = PB_ERR_TRUNCATED.
 *
 * Signals (signalfd, so handlers run in the loop, never asynchronously):
 * SIGHUP calls reload_cb; SIGTERM or SIGINT starts a graceful stop; a
 * second one stops at once. SIGPIPE is ignored. The signals are blocked
 * from pb_server_new on (one that comes before pb_server_run waits for
 * it, e.g. a SIGHUP right after the pidfile appeared) and the old mask is
 * restored when pb_server_run returns or by pb_server_free.
 *
 * Graceful stop: listeners close; connections still in HANDSHAKE close;
 * every OPEN connection keeps being served until drain_cb says it may
 * close (NULL drain_cb: as soon as no frame is being received and its
 * output is flushed); it then closes after its output is flushed. drain_cb
 * is asked again after every frame and every completed flush.
 * limits.drain_ms bounds the whole drain; then everything closes.
 */

struct pb_server;
struct pb_conn;

enum pb_conn_state {
	PB_CONN_HANDSHAKE,
	PB_CONN_OPEN,
	PB_CONN_CLOSING,
};

struct pb_server_ops {
	/*
	 * After the TLS handshake: make the handler's per-connection state
	 * (the "state" argument of the other callbacks). Returning NULL
	 * refuses the connection (it is closed; close_cb is not called).
	 * Frames may be queued here (a greeting) with pb_conn_send. May be
	 * NULL: every connection is accepted and its state is the server.
	 */
	void *(*open_cb)(struct pb_conn *c, void *arg);

	/*
	 * One complete frame's payload (len >= 1; msg is owned by the server
	 * and valid only during the call). Return 0 to go on, or a negative
	 * value to close the connection once its queued output is flushed
	 * (queue an error first if the protocol wants one). Required.
	 */
	int (*frame_cb)(struct pb_conn *c, void *state, const uint8_t *msg, size_t len);

	/*
	 * A framing error: err is PB_ERR_FRAME_ZERO, PB_ERR_FRAME_BIG or
	 * PB_ERR_TIMEOUT (the frame deadline passed). Queue the protocol's
	 * error message with pb_conn_send; the server then flushes and closes.
	 * May be NULL (close without a message).
	 */
	void (*frame_error_cb)(struct pb_conn *c, void *state, int err);

	/*
	 * The connection is closing: free state here (it is not used again).
	 * why: 0 when the handler or a stop closed it, PB_ERR_EOF (peer
	 * closed between frames), PB_ERR_TRUNCATED (peer closed inside a
	 * frame), PB_ERR_TIMEOUT (idle or frame deadline), PB_ERR_FRAME_ZERO,
	 * PB_ERR_FRAME_BIG, PB_ERR_LIMIT (output queue over max_outq),
	 * PB_ERR_TLS, PB_ERR_IO. Queued output may still be flushed after
	 * close_cb when why is 0 or a frame error; pb_conn_send is refused
	 * from here on. May be NULL.
	 */
	void (*close_cb)(struct pb_conn *c, void *state, int why);

	/* Every limits.tick_ms (if > 0), e.g. logd's commit points. May be NULL. */
	void (*tick_cb)(struct pb_server *s, void *arg);

	/*
	 * After each turn of the loop: the events of one wait handled and the
	 * answers they queued written (as far as the sockets took them). E.g.
	 * policyd's audit lines of the turn's decisions, in one write after the
	 * answers. May be NULL.
	 */
	void (*round_cb)(struct pb_server *s, void *arg);

	/* SIGHUP. May be NULL (SIGHUP then only logs). */
	void (*reload_cb)(struct pb_server *s, void *arg);

	/* Graceful stop: may this connection close now? May be NULL (see above). */
	bool (*drain_cb)(struct pb_conn *c, void *state);
};

/* Limits; a field left 0 takes the default shown. */
struct pb_server_limits {
	uint32_t max_frame;		/* largest frame payload: 2 MiB (PB_FRAME_MAX_DEFAULT) */
	unsigned max_conns;		/* connections at once (all states): 4096 */
	unsigned max_conns_per_peer;	/* OPEN connections per peer identity: 256 */
	int handshake_ms;		/* TLS handshake deadline: 10000 */
	int frame_ms;			/* a started frame must be complete within: 30000 */
	int idle_ms;			/* silence that closes a connection: 3600000 (1 h);
					   < 0: never */
	int tick_ms;			/* tick_cb period; 0: no tick */
	int drain_ms;			/* graceful stop bound: 10000 */
	size_t max_outq;		/* queued output bytes before a non-reading
					   peer is dropped: 4 * max_frame + 64 KiB */
};

/*
 * pb_server_new: a server using tls for accepted connections (a
 * PB_TLS_SERVER context, or a plain one in tests; the server takes a
 * reference of its own, so the caller may free its context), handler
 * callbacks ops (copied) with arg passed to open/tick/reload, and lim
 * (copied; NULL = all defaults). Also ignores SIGPIPE for the process.
 * Returns NULL when tls is not a server context, ops->frame_cb is NULL, or
 * memory or epoll fail. Free with pb_server_free.
 */
struct pb_server *pb_server_new(struct pb_tls_ctx *tls, const struct pb_server_ops *ops,
				void *arg, const struct pb_server_limits *lim);

/*
 * pb_server_free: close every connection (close_cb with why 0) and
 * listener, and free the server. Accepts NULL. Not from a callback.
 */
void pb_server_free(struct pb_server *s);

/*
 * pb_server_listen: add a listener on addr ("127.0.0.1:0", "[::1]:4343",
 * "*:4343"; see pb_net_listen). With a plain TLS context, only loopback
 * addresses are accepted. Returns 0, or a negative PB_ERR_* with *errstr
 * (static storage).
 */
int pb_server_listen(struct pb_server *s, const char *addr, const char **errstr);

/* pb_server_port: the port listener idx (0 = first added) is bound to, or PB_ERR_NOTFOUND. */
int pb_server_port(const struct pb_server *s, unsigned idx);

/*
 * pb_server_run: serve until stopped (signal or pb_server_stop) and every
 * connection has closed. Returns 0 after a stop, or PB_ERR_IO when the
 * event loop itself failed (logged).
 */
int pb_server_run(struct pb_server *s);

/*
 * pb_server_stop: begin a graceful stop, or with force close everything at
 * once; pb_server_run returns when done. Safe from any callback.
 */
void pb_server_stop(struct pb_server *s, bool force);

/* pb_server_stopping: true once a stop has begun (e.g. to answer "shutting down"). */
bool pb_server_stopping(const struct pb_server *s);

/*
 * pb_server_set_tls: use ctx for connections accepted from now on (after a
 * reload changed certificates); existing connections keep theirs. The
 * server takes its own reference. Returns 0 or PB_ERR_INVAL (a plain
 * context on a TLS server or the reverse).
 */
int pb_server_set_tls(struct pb_server *s, struct pb_tls_ctx *ctx);

/* pb_server_set_limits: replace the limits (after a reload); applies to new deadlines. */
void pb_server_set_limits(struct pb_server *s, const struct pb_server_limits *lim);

/* pb_server_arg: the arg given to pb_server_new. */
void *pb_server_arg(const struct pb_server *s);

/* pb_server_conn_count: connections currently held (all states). */
unsigned pb_server_conn_count(const struct pb_server *s);

/*
 * pb_server_foreach_conn: call cb for every OPEN connection (those with
 * handler state), e.g. for an admin "sessions" listing. cb must not close
 * or free connections other than through pb_conn_close_after_flush.
 */
void pb_server_foreach_conn(struct pb_server *s,
			    void (*cb)(struct pb_conn *c, void *state, void *arg), void *arg);

/*
 * pb_server_watch_fd: also watch descriptor fd (not one of the server's)
 * in the event loop: whenever it is readable, cb(s, fd, arg) runs in the
 * loop like any other callback (level-triggered: cb must consume what
 * made fd readable, e.g. read an eventfd, or it is called again at once).
 * For work done off the loop, e.g. a thread that fsyncs and then signals
 * an eventfd. The caller keeps owning fd: unwatch it before closing it.
 * cb may call pb_server_unwatch_fd (also for its own fd). Returns 0,
 * PB_ERR_INVAL (fd < 0, cb NULL, fd already watched), PB_ERR_NOMEM, or
 * PB_ERR_IO (epoll refused fd, e.g. a regular file).
 */
int pb_server_watch_fd(struct pb_server *s, int fd,
		       void (*cb)(struct pb_server *s, int fd, void *arg), void *arg);

/*
 * pb_server_unwatch_fd: stop watching fd (no callback for it runs after
 * this returns, even for an event already fetched). Unknown fds are
 * ignored. Safe from any callback. pb_server_free unwatches the rest.
 */
void pb_server_unwatch_fd(struct pb_server *s, int fd);

/*
 * pb_conn_send: frame payload (len >= 1 and <= max_frame) and queue it; it
 * is written as the socket allows, in order. Returns 0, PB_ERR_INVAL
 * (length), PB_ERR_NOMEM, PB_ERR_EOF (the connection is closing), or
 * PB_ERR_LIMIT when the queue passed limits.max_outq (the connection is
 * then dropped: the peer is not reading).
 */
int pb_conn_send(struct pb_conn *c, const void *payload, size_t len);

/* pb_conn_send_msg: pack a protobuf-c message and pb_conn_send it; errors as pb_conn_send. */
int pb_conn_send_msg(struct pb_conn *c, const ProtobufCMessage *m);

/*
 * pb_conn_close_after_flush: read no more frames; close once queued output
 * is written. close_cb runs (why 0) as soon as the current callback has
 * returned, never inside it. Safe on any connection from any callback.
 */
void pb_conn_close_after_flush(struct pb_conn *c);

/* pb_conn_peer_id: the peer's certificate identity (pb_tls_peer_id; "" in plain mode). Owned by c. */
const char *pb_conn_peer_id(const struct pb_conn *c);

/* pb_conn_peer_addr: "1.2.3.4:port" / "[::1]:port". Owned by c. */
const char *pb_conn_peer_addr(const struct pb_conn *c);

/* pb_conn_peer_matches: pb_tls_peer_matches on the connection (does the cert cover host name?). */
bool pb_conn_peer_matches(const struct pb_conn *c, const char *name);

/* pb_conn_state: the handler state open_cb returned (NULL before open_cb). */
void *pb_conn_state(const struct pb_conn *c);

/* pb_conn_server: the server the connection belongs to. */
struct pb_server *pb_conn_server(const struct pb_conn *c);

/* pb_conn_id: a number unique to the connection for the server's lifetime (from 1). */
uint64_t pb_conn_id(const struct pb_conn *c);

/* pb_conn_conn_state: HANDSHAKE, OPEN or CLOSING. */
enum pb_conn_state pb_conn_conn_state(const struct pb_conn *c);

/* pb_conn_since: when the connection was accepted (CLOCK_REALTIME seconds). */
int64_t pb_conn_since(const struct pb_conn *c);

/* pb_conn_resumed: true when the TLS session was resumed. */
bool pb_conn_resumed(const struct pb_conn *c);

/* pb_conn_outq: bytes queued and not yet written. */
size_t pb_conn_outq(const struct pb_conn *c);

/*
 * pb_conn_receiving: true while part of a frame has arrived (a drain_cb
 * that wants the default rule, "no frame being received and output
 * flushed", combines it with pb_conn_outq).
 */
bool pb_conn_receiving(const struct pb_conn *c);

#endif
