/* SPDX-License-Identifier: ISC */
/* Shared handling of administration requests (proto/admin.proto) for policyd and logd. */
#ifndef PB_ADMIN_H
#define PB_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin.pb-c.h"

/*
 * How a daemon uses this module:
 *
 *   struct pb_admin_ops ops = { .arg = d, .status_cb = ..., ... };
 *   struct pb_admin *adm = pb_admin_new("policyd", config_path, &ops);
 *   pb_admin_set_admins(adm, conf_admins, n_admins);   // again on reload
 *   ...
 *   // an AdminRequest arrived inside the daemon's own envelope:
 *   AdminReply *r = pb_admin_handle(adm, peer_identity, peer_address, req);
 *   // put r into the envelope, pack, send, then pb_admin_reply_free(r).
 *
 * pb_admin_handle checks the peer identity against the admins list first:
 * a peer not on it gets an AdminError with code PB_ERR_DENIED and the
 * attempt is logged (pb_log WARN, with identity, address and request).
 * Every request is logged with who asked, from where, what, and the
 * outcome: refusals and failures at WARN, actions that change something
 * (reload, enable, disable, stop, trace, kill-session) at NOTICE, queries
 * (status, sessions) at INFO, so the daemon's log holds every admin action. The generic fields of a status
 * (program, version, pid, start time, uptime, config path, debug spec) are
 * filled here; the daemon adds the rest in its callbacks.
 *
 * Every string in a reply is malloc'd, so a reply is freed with
 * pb_admin_reply_free (protobuf_c_message_free_unpacked underneath).
 */

struct pb_admin;

/* Daemon callbacks. arg is passed back unchanged. Any callback may be NULL: the request then gets an AdminError (PB_ERR_INVAL, "not supported"). */
struct pb_admin_ops {
	void *arg;
	/*
	 * status_cb: set st->state, st->connections, st->sessions and add
	 * counters and info with pb_admin_status_counter/_info. Returns 0 or
	 * a PB_ERR_* (the request then gets an AdminError).
	 */
	int (*status_cb)(void *arg, AdminStatus *st);
	/* sessions_cb: add one row per session with pb_admin_sessions_add. Returns 0 or PB_ERR_*. */
	int (*sessions_cb)(void *arg, AdminSessions *rows);
	/*
	 * reload_cb: re-read configuration (and policy) atomically. Returns 0,
	 * or PB_ERR_* with a message in err (file:line:col ...) — the running
	 * configuration must then stay in force.
	 */
	int (*reload_cb)(void *arg, char *err, size_t errlen);
	/* enable_cb: enable (true) or disable (false) new sessions; existing ones stay. Returns 0 or PB_ERR_*. */
	int (*enable_cb)(void *arg, bool enable);
	/*
	 * stop_cb: begin a stop; force means exit as soon as the reply could
	 * be written. It must not exit inside the callback: the reply is sent
	 * first. timeout_s 0 means the daemon's default. Returns 0 or PB_ERR_*.
	 */
	int (*stop_cb)(void *arg, bool force, unsigned timeout_s);
	/*
	 * trace_cb: optional hook after the debug spec was applied with
	 * pb_debug_parse (which this module does itself), e.g. to log it.
	 */
	void (*trace_cb)(void *arg, const char *spec);
	/*
	 * kill_cb: end the session on connection id (the AdminSession.id the
	 * daemon lists), on behalf of administrator `admin`, with the
	 * message `why` (already says who ended it, and the reason if one
	 * was given) for the session's client. Returns 0, PB_ERR_NOTFOUND
	 * (no such session) or another PB_ERR_* with a message in err.
	 */
	int (*kill_cb)(void *arg, uint64_t id, const char *admin, const char *why, char *err,
		       size_t errlen);
	/*
	 * stop_watch_cb: optional; a normal stop asked with watch: keep the
	 * requesting connection open while sessions remain. conn_arg is the
	 * conn argument given to pb_admin_handle_conn.
	 */
	void (*stop_watch_cb)(void *arg, void *conn_arg);
};

/* A row of the sessions table. Strings are copied; NULL is stored as "". */
struct pb_admin_session {
	const char *host;
	const char *address;
	const char *user;
	const char *tty;
	const char *shell;
	int64_t uid;
	int64_t pid;
	int64_t ppid;
	int64_t start_time; /* Unix seconds */
	uint64_t requests;
	uint64_t id; /* the daemon's connection id, which kill-session takes */
};

/*
 * pb_admin_new: a handler for the daemon `program` ("policyd") whose
 * configuration is config_path (both copied). ops is copied. The admins
 * list starts empty (nobody is an admin). Returns NULL when out of memory.
 */
struct pb_admin *pb_admin_new(const char *program, const char *config_path,
			      const struct pb_admin_ops *ops);

/* pb_admin_free: release a handler; NULL is accepted. */
void pb_admin_free(struct pb_admin *adm);

/*
 * pb_admin_set_admins: replace the list of administrator identities
 * (certificate identities, compared exactly; an entry may be a shell
 * pattern, matched with pb_match). Strings are copied. Returns 0 or
 * PB_ERR_NOMEM (the old list then stays).
 */
int pb_admin_set_admins(struct pb_admin *adm, char *const *admins, size_t n);

/* pb_admin_set_config_path: record a new configuration path (copied); returns 0 or PB_ERR_NOMEM. */
int pb_admin_set_config_path(struct pb_admin *adm, const char *config_path);

/* pb_admin_is_admin: is identity on the admins list? NULL or "" never is. */
bool pb_admin_is_admin(const struct pb_admin *adm, const char *identity);

/*
 * pb_admin_handle: answer one request from the peer with certificate
 * identity `identity` at `address` (for the log; may be NULL). Returns a
 * malloc'd reply carrying req->id (caller frees with pb_admin_reply_free),
 * or NULL only when memory ran out.
 */
AdminReply *pb_admin_handle(struct pb_admin *adm, const char *identity, const char *address,
			    const AdminRequest *req);

/*
 * pb_admin_handle_conn: pb_admin_handle for a daemon that can keep the
 * requesting connection open (stop with watch): conn_arg is handed to
 * ops.stop_watch_cb. Same return.
 */
AdminReply *pb_admin_handle_conn(struct pb_admin *adm, const char *identity, const char *address,
				 const AdminRequest *req, void *conn_arg);

/*
 * pb_admin_request_text: the request with its arguments as the log shows
 * it ("status", "stop timeout=30s watch", "trace \"tls@5\"",
 * "kill-session 17"), written into buf. Returns buf.
 */
char *pb_admin_request_text(const AdminRequest *req, char *buf, size_t len);

/*
 * pb_admin_kill_message: the text a killed session gets: "session N
 * ended by administrator WHO" plus ": REASON" when reason is not empty,
 * written into buf. Returns buf.
 */
char *pb_admin_kill_message(char *buf, size_t len, uint64_t id, const char *admin,
			    const char *reason);

/*
 * pb_admin_error_reply: a malloc'd AdminReply holding an AdminError
 * (code, message), for a daemon that refuses a request before handing it
 * here. Returns NULL when out of memory. Free with pb_admin_reply_free.
 */
AdminReply *pb_admin_error_reply(uint64_t id, int code, const char *message);

/* pb_admin_reply_free: free a reply from this module; NULL is accepted. */
void pb_admin_reply_free(AdminReply *reply);

/* pb_admin_status_counter: append a counter to a status; returns 0 or PB_ERR_NOMEM. */
int pb_admin_status_counter(AdminStatus *st, const char *name, uint64_t value);

/* pb_admin_status_info: append a named text to a status; returns 0 or PB_ERR_NOMEM. */
int pb_admin_status_info(AdminStatus *st, const char *name, const char *value);

/*
 * pb_admin_sessions_add: append a row; *row (may be NULL) receives it so
 * extra fields can be added with pb_admin_session_extra. Returns 0 or
 * PB_ERR_NOMEM.
 */
int pb_admin_sessions_add(AdminSessions *rows, const struct pb_admin_session *s, AdminSession **row);

/* pb_admin_session_extra: add a daemon-specific field to a row; returns 0 or PB_ERR_NOMEM. */
int pb_admin_session_extra(AdminSession *row, const char *name, const char *value);

/* pb_admin_state_name: "STARTING", "ENABLED", "DISABLED", "STOPPING" or "UNKNOWN" (static). */
const char *pb_admin_state_name(AdminState state);

/*
 * pb_admin_debug_spec: write the current debug levels as a spec
 * ("0", "5", "policy@9,tls@5") into buf. Returns buf.
 */
char *pb_admin_debug_spec(char *buf, size_t len);

#endif
