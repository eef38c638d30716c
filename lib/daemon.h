/* SPDX-License-Identifier: ISC */
/* What policyd's and logd's main share: pidfile, detaching, privilege drop, logging, readiness. */
#ifndef PB_DAEMON_H
#define PB_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The order a daemon's main follows (option parsing stays in each main):
 *
 *   parse options, load and check the configuration (-t exits here)
 *   pb_daemon_log_setup(ident, dest)     syslog / stderr / a file
 *   pb_daemon_pidfile_lock(path)         refuses a second instance
 *   pb_daemon_detach()                   unless -D; parent waits (below)
 *   pb_tls_ctx_new, pb_server_new, pb_server_listen ...
 *   pb_daemon_drop_privs(user, group)    when root, after binding
 *   pb_daemon_ready()                    pid into the pidfile, parent exits 0,
 *                                        READY=1 to $NOTIFY_SOCKET
 *   pb_server_run()
 *   pb_daemon_stopping()                 STOPPING=1
 *   pb_daemon_cleanup()                  removes the pidfile
 *
 * After pb_daemon_detach the parent does not exit at once: it waits until
 * the child calls pb_daemon_ready (exit 0) or dies first (exit 1, after
 * the child's error has gone to the log), so "policyd && next-step" in
 * scripts and tests sees a bound, serving daemon or a failure.
 */

/*
 * pb_daemon_log_setup: send pb_log output to dest: "syslog", "stderr", or
 * an absolute file path (appended, 0600). NULL or "" means stderr when in
 * the foreground, syslog otherwise (decided by the foreground argument).
 * Returns 0, or PB_ERR_INVAL / PB_ERR_IO with *errstr (static storage).
 */
int pb_daemon_log_setup(const char *ident, const char *dest, bool foreground,
			const char **errstr);

/*
 * pb_daemon_pidfile_lock: open (creating, 0644) and lock path so that only
 * one instance runs; the pid is written by pb_daemon_ready. The lock, not
 * the file's existence, decides: a stale file left by a crash is taken over.
 * Returns 0, PB_ERR_EXISTS when another live process holds it (*errstr
 * names its pid), or PB_ERR_IO with *errstr. NULL path: no pidfile, 0.
 */
int pb_daemon_pidfile_lock(const char *path, const char **errstr);

/*
 * pb_daemon_pidfile_write: write the current pid into the locked pidfile
 * (pb_daemon_ready calls it). 0 or PB_ERR_IO; 0 when there is no pidfile.
 */
int pb_daemon_pidfile_write(void);

/*
 * pb_daemon_detach: fork into the background: the child gets a new session,
 * "/" as its directory, and /dev/null as stdin and stdout; stderr follows
 * at pb_daemon_ready, so start-up errors still reach the terminal (a
 * detached daemon then logs to syslog or a file: pb_daemon_log_setup's
 * default).
 * Returns 0 in the child; the parent waits as described above and never
 * returns. PB_ERR_IO if fork fails (still in the foreground).
 */
int pb_daemon_detach(void);

/*
 * pb_daemon_drop_privs: when running as root and user is set, switch to
 * user and group (NULL group: the user's primary group): setgroups to that
 * one group, setgid, setuid, then verify that root cannot be regained.
 * Not root or NULL user: nothing to do, 0. Returns 0, PB_ERR_NOTFOUND (no
 * such user/group) or PB_ERR_IO with *errstr (static storage); a caller
 * must not go on serving after a failure.
 */
int pb_daemon_drop_privs(const char *user, const char *group, const char **errstr);

/*
 * pb_daemon_notify: send state ("READY=1", "STOPPING=1", "RELOADING=1",
 * "STATUS=...") to the service manager at $NOTIFY_SOCKET (a path, or
 * "@name" for an abstract socket), as sd_notify does, with plain socket
 * code. No variable: nothing, 0. Returns 0 or PB_ERR_IO.
 */
int pb_daemon_notify(const char *state);

/*
 * pb_daemon_ready: the daemon serves now: write the pidfile, release a
 * parent waiting in pb_daemon_detach, and notify READY=1. Returns 0 or
 * PB_ERR_IO (logged; the daemon may go on).
 */
int pb_daemon_ready(void);

/* pb_daemon_stopping: notify STOPPING=1 (at the start of a stop). */
void pb_daemon_stopping(void);

/* pb_daemon_cleanup: remove the pidfile (best effort: after a privilege drop the
   directory may not allow it; the released lock is what counts) and close it. */
void pb_daemon_cleanup(void);

/*
 * pb_daemon_raise_nofile: raise the soft RLIMIT_NOFILE to the hard limit
 * (thousands of connections). Returns the new soft limit, or PB_ERR_IO.
 */
long pb_daemon_raise_nofile(void);

struct pb_server;
struct pb_hostport;
struct pb_conf;
struct pb_conf_err;
struct pb_tls_ctx;

#include "server.h"

/*
 * The settings every daemon reads the same way: its section's listen,
 * pidfile, user, group, log, debug and limits, plus the top-level tls and
 * admins. Strings belong to the pb_conf they were read from.
 */
struct pb_daemon_settings {
	const struct pb_hostport *listen; /* every address to listen on */
	size_t n_listen;
	const char *pidfile; /* NULL: none */
	const char *user;    /* drop to this user when started as root; NULL: stay */
	const char *group;
	const char *log;   /* "syslog", "stderr" or a file; NULL: default */
	const char *debug; /* the section's debug spec; NULL: leave as is */
	const char *ca, *cert, *key;
	bool plain; /* tls.plaintext_for_tests */
	char *const *admins;
	size_t n_admins;
	struct pb_server_limits limits;
};

/*
 * pb_daemon_settings_read: fill ds from section ("policyd", "logd") of c and
 * check what every daemon needs: at least one listen address, and a CA,
 * certificate and key unless in plain test mode. Returns 0, or PB_ERR_CONF
 * with err naming the file and key.
 */
int pb_daemon_settings_read(const struct pb_conf *c, const char *section,
			    struct pb_daemon_settings *ds, struct pb_conf_err *err);

/*
 * pb_daemon_tls_new: the server TLS context of ds, with session id context
 * sid (one per daemon, so sessions never resume across daemons). NULL with
 * *errstr on failure; free with pb_tls_ctx_free().
 */
struct pb_tls_ctx *pb_daemon_tls_new(const struct pb_daemon_settings *ds, const char *sid,
				     const char **errstr);

/*
 * pb_daemon_listen: listen on each of the n addresses of a daemon's `listen`
 * setting and, when portfile is not NULL, write the port of the first
 * listener there (written to PATH.tmp, then renamed, so a test that starts
 * the daemon on port 0 never reads half a number). Returns 0, or a negative
 * PB_ERR_* after logging which address or file failed.
 */
int pb_daemon_listen(struct pb_server *srv, const struct pb_hostport *listen, size_t n,
		     const char *portfile);

#endif
