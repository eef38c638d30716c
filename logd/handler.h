/* SPDX-License-Identifier: ISC */
/* logd's protocol handler: per-connection state machine over sudo_logsrv.proto messages, storing events and I/O logs. */
#ifndef LOGD_HANDLER_H
#define LOGD_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "iolog.h"
#include "store_event.h"

struct pb_admin;
struct logd_syncer;
struct logd_evsess;

/*
 * The transport a connection lives on. The daemon wires these to lib/server
 * (pb_conn_*); unit tests wire them to a recorder, so the whole protocol is
 * testable without sockets.
 */
struct logd_transport {
	/* send: queue one ServerMessage; 0 or a negative PB_ERR_*. */
	int (*send)(void *io, const ProtobufCMessage *m);
	/* close: read no more; close once queued output is written. */
	void (*close)(void *io);
	/* peer_matches: does the peer's certificate cover host name? */
	bool (*peer_matches)(void *io, const char *name);
};

/* What to do when a client's submithost differs from its certificate identity. */
enum logd_hostcheck {
	LOGD_HOSTCHECK_STRICT,	/* refuse the message with an error */
	LOGD_HOSTCHECK_RECORD,	/* store the certificate identity, keep the claim as "claimedhost" */
};

/* Server-wide settings and state; built by main, swapped settings on reload. */
struct logd_ctx {
	const struct iolog_store_ops *store;
	int iolog_rootfd;		/* the I/O log root, opened O_DIRECTORY */
	char *iolog_root;
	char *path_template;		/* I/O log id template (iolog_expand_path) */
	mode_t iolog_mode;		/* I/O log file mode */
	uint64_t seq;			/* next %{seq} */
	int seqfd;			/* iolog_dir/seq, or -1 */
	struct evlog *ev;
	char *server_id;
	char **servers;			/* other log servers announced in ServerHello */
	size_t nservers;
	bool plain;			/* no TLS: no peer identity (tests only) */
	enum logd_hostcheck hostcheck;
	bool enabled;			/* false: new sessions refused (admin "disable") */
	struct pb_admin *admin;		/* NULL: admin requests refused */
	struct logd_conn *conns;	/* every open connection, for commit ticks */
	struct logd_syncer *syncer;	/* fsyncs off the loop (syncer.h); NULL: in the loop */
	int ev_error;			/* an event log sync failed: nothing is acknowledged until reload */
	struct logd_evsess *evsess;	/* events-only sessions known here (event-acks), most recent first */
	size_t n_evsess;
	/* counters for status */
	uint64_t n_conns_total, n_accept, n_reject, n_alert, n_exit, n_finish, n_restart;
	uint64_t n_iologs, n_records, n_bytes, n_commits, n_errors;
};

struct logd_conn;

/*
 * logd_conn_new: state for a connection whose transport handle is io. peer is
 * the certificate identity ("" in plain mode), addr the peer address; both
 * copied. The ServerHello is sent here. Returns NULL when out of memory or
 * when the hello could not be queued.
 */
struct logd_conn *logd_conn_new(struct logd_ctx *ctx, const struct logd_transport *tr, void *io,
				const char *peer, const char *addr);

/*
 * logd_conn_frame: handle one frame payload. Returns 0 to go on, or a
 * negative value when the connection must close once its queued output is
 * written: PB_ERR_EOF after a completed session (Exit answered), another
 * PB_ERR_* after an error message was queued. It never closes the
 * connection itself (the caller does, on that return value).
 */
int logd_conn_frame(struct logd_conn *c, const uint8_t *msg, size_t len);

/* logd_conn_frame_error: a framing error (PB_ERR_FRAME_ZERO/BIG/TIMEOUT): queue an error message. */
void logd_conn_frame_error(struct logd_conn *c, int err);

/*
 * logd_conn_free: the connection is gone: an unfinished I/O log is committed
 * (it can be restarted) and closed. NULL accepted.
 */
void logd_conn_free(struct logd_conn *c);

/*
 * logd_conn_idle: true when nothing is pending (graceful stop may close it);
 * for a connection marked with logd_conn_set_watch, only once every other
 * connection is idle too.
 */
bool logd_conn_idle(const struct logd_conn *c);

/* logd_conn_set_watch: an admin asked to follow a normal stop on this connection (AdminStop.watch). */
void logd_conn_set_watch(struct logd_conn *c);

/* logd_conn_is_session: true once the connection carries a session (an Accept, Reject or Restart was stored). */
bool logd_conn_is_session(const struct logd_conn *c);

/*
 * logd_conn_kill: an administrator ended the session: send the sudo
 * protocol's abort with why, refuse anything more, and close once it is
 * written (what arrived is committed when the connection is freed).
 * Returns 0, or PB_ERR_NOTFOUND when the connection is not a session.
 */
int logd_conn_kill(struct logd_conn *c, const char *why);

/*
 * logd_ctx_tick: the commit point timer: sync the event log, then commit
 * every I/O log with new records and send each client its commit point
 * (with a syncer: once the worker has synced it, see logd_ctx_sync_done).
 */
void logd_ctx_tick(struct logd_ctx *ctx);

/*
 * logd_ctx_forget_sessions: drop what logd knows of events-only sessions
 * (a restart of one then reads the event log, as after a restart of logd).
 */
void logd_ctx_forget_sessions(struct logd_ctx *ctx);

/* logd_ctx_sync_done: the syncer's eventfd is readable: acknowledge what its worker made durable. */
void logd_ctx_sync_done(struct logd_ctx *ctx);

/* Read-only views for admin "sessions" (log id: the I/O log, or an events-only session with event-acks). */
const char *logd_conn_peer(const struct logd_conn *c);
const char *logd_conn_addr(const struct logd_conn *c);
const char *logd_conn_user(const struct logd_conn *c);
const char *logd_conn_host(const struct logd_conn *c);
const char *logd_conn_command(const struct logd_conn *c);
const char *logd_conn_log_id(const struct logd_conn *c);
const char *logd_conn_state_name(const struct logd_conn *c);
int64_t logd_conn_start(const struct logd_conn *c);
uint64_t logd_conn_messages(const struct logd_conn *c);

#endif
