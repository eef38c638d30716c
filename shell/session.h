/* SPDX-License-Identifier: ISC */
/* A governed session, shell side: the start, the channels to the session monitor, and the events sent to it. */
#ifndef PB_SH_SESSION_H
#define PB_SH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "session.pb-c.h"

/*
 * True once session_start() made this a governed session (DESIGN §8): a
 * monitor runs and every process of the session talks to it. False (the
 * default, and the mode the interpreter benchmarks measure) means no
 * configuration asked for policy or logging: no monitor, no channel, and
 * every hook below returns at once.
 */
extern bool session_on;

/*
 * session_args: take the shell's own long options out of argv (in place,
 * before the POSIX option words are parsed): `--config FILE`,
 * `--config=FILE`, `--debug=SPEC`, `--debug SPEC`. Only leading words are
 * looked at. A malformed one prints a message and exits 2.
 */
void session_args(char **argv);

/*
 * session_start: read pbsh.yaml (the compiled-in path, or --config when the
 * process has no privilege beyond its real user's), apply --debug, and when
 * `policyservers` or `logservers` is set start the session monitor and ask
 * for the "shell start" decision. argv is the shell's original argv (sent as
 * is). Returns only when the shell may run: a refusal, an error or a missing
 * monitor print a message and exit 1 (2 for a bad --config/--debug). A
 * compiled-in pbsh.yaml that does not load stops an ordinary user (exit 1:
 * the file says the host is governed) but not root, who goes on ungoverned
 * with a warning (root must be able to repair the file).
 * Privilege (shell/priv.h): a setuid shell already runs as the user here; a
 * root-only pbsh.yaml and the trace file are opened as root (priv_enter),
 * and the forked parent takes root for good (priv_monitor) before it execs
 * the monitor.
 */
void session_start(char **argv, bool interactive);

/* session_decision: the "shell start" decision kept for the whole session (NULL when not governed). */
const PolicyDecision *session_decision(void);

/*
 * session_check: ask the monitor about one action on this process's channel
 * (made on first use in a subshell) and wait for the reply with our id.
 * On success returns 0 and *dp is the decision (caller frees with
 * policy_decision__free_unpacked). On failure returns a negative PB_ERR_*
 * and *errmsg points to a static message (valid until the next call); the
 * code is PB_ERR_DENIED when the server refused because the session was
 * ended by an administrator.
 */
int session_check(const PolicyCheck *chk, PolicyDecision **dp, const char **errmsg);

/*
 * session_event: send one event (id 0, never answered) on this process's
 * channel. Best effort: an event that cannot be sent is traced, not fatal
 * (the monitor logs the exec'd/ended command from its own view).
 */
void session_event(SessionEvent *ev);

/*
 * session_child: a child was started that must get a FINISH when reaped:
 * uid is the decision's uniqueid when this process asked and the child
 * executed the command (copied), NULL for a forked subshell (the monitor then
 * takes the command last accepted on that child's own channel). io: the
 * monitor relays the command's I/O (session_io_start): its FINISH waits
 * until the monitor has drained that output.
 */
void session_child(pid_t pid, const char *uid, bool io);

/*
 * session_reaped: a child recorded with session_child ended with wait status
 * wst: its FINISH (exit status or signal, run time, and the time of the reap
 * as its end) is held, to go with this process's next request to the monitor
 * (none of its own); one whose I/O is relayed is sent at once and waited for.
 */
void session_reaped(pid_t pid, int wst);

/*
 * The held FINISH events (at most a few): session_nheld counts them, so that
 * the shell's paths test one variable (0 in an ungoverned shell).
 * session_flush sends them now: the shell calls it where it may block or
 * end (waiting for a child, reading input, `read`, a fork, an exec in
 * place; its exit sends them with the EXIT event). session_tick sends them
 * when the oldest is HOLD_MS old (each loop iteration calls it while the
 * shell holds some, so that a loop of builtins does not keep them).
 */
extern size_t session_nheld;
void session_flush(void);
void session_tick(void);

/*
 * session_cwd: the working directory for a check, got once and kept until
 * session_cwd_changed (called by cd after any chdir); "" when it cannot be
 * named. A directory renamed under the shell keeps its old name here until
 * the next cd, as it does in $PWD.
 */
const char *session_cwd(void);
void session_cwd_changed(void);

/*
 * session_exec: this process is about to exec in place the command of
 * decision uid (NULL or "": one not logged, nothing is sent): the held
 * events and an EXEC event go now, so that the monitor takes this
 * process's end for that command's. session_exec_failed: the exec did not
 * happen: the command's FINISH with that status.
 */
void session_exec(const char *uid);
void session_exec_failed(const char *uid, int status);

/* session_forked: in a forked child: drop the parent's channel (a new one is made on first use). */
void session_forked(void);

/* session_exit: the shell ends by itself with status: the EXIT event, the last of the session. */
void session_exit(int status);

/*
 * session_include: shelllogincludefiles: read the whole file fd (at most
 * 1 MiB) for `.`, send it as an INCLUDE event, and return its text (NUL
 * terminated, malloc'd; the caller runs exactly this text and frees it).
 * NULL when include logging is off; when the file is too long or unreadable
 * it closes fd and unwinds with an error (the file is not run).
 */
char *session_include(const char *path, int fd);

/*
 * session_io_start: the command of decision uid is I/O logged: hand its
 * standard input, output and error to the monitor and get the pty slave it
 * must use instead. Returns the slave fd (close-on-exec; caller closes) or
 * -1 with *errmsg set.
 */
int session_io_start(const char *uid, const char **errmsg);

/*
 * session_trace_dir_ok: may a privileged shell write its --debug trace to
 * path? Only when the file's directory is owned by root and writable by
 * root only (else the user could aim the trace through a link, or read it).
 */
bool session_trace_dir_ok(const char *path);

/* session_fd_reserved: is fd one of the shell's own descriptors (channels, trace log) that no redirection may touch? */
bool session_fd_reserved(int fd);

#endif
