/* SPDX-License-Identifier: ISC */
/* The setuid model (DESIGN §3.3): the shell runs as the real user and takes root only for runuser/rungroup/runumask. */
#ifndef PB_SH_PRIV_H
#define PB_SH_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The shells are installed setuid root. priv_init() makes the process run
 * with the real user's ids (the saved set-user-ID stays 0 so root can be
 * taken back) and not dumpable. Root is used only:
 *   - by a child about to exec a program as runuser/rungroup
 *     (priv_exec_prepare), which then holds those ids for good;
 *   - around the open of a redirection target as the run identity
 *     (priv_open), given back before it returns;
 *   - around a builtin run as the run identity (priv_enter/priv_leave);
 *   - by the process that becomes the session monitor (priv_monitor).
 * Every child that execs a program drops the saved root for good first.
 *
 * Nothing here reads the environment. The shell reads these variables at
 * start, all of them after priv_init() has set the effective ids to the real
 * user's, so they can only open what the user could: ENV (interactive),
 * HOME (login profile, ~), PATH, HISTFILE/HISTSIZE (pbksh), FCEDIT, CDPATH,
 * TMPDIR (big here-documents), the locale (LC_*, LANG: pbksh's line editor;
 * the C library ignores LOCPATH and other unsafe ones under AT_SECURE);
 * tracing is turned on only by --debug, never by a variable. The dynamic
 * loader ignores LD_* for a setuid program (AT_SECURE).
 *
 * For the governed start (session.c): the parent that becomes the monitor
 * calls priv_monitor() before it execs pbsh-monitor; a file only root may
 * read is read inside priv_enter(&(struct priv_run){"#0", NULL, -1}, &sv)
 * ... priv_leave(&sv).
 */

/* What a decision asks for: NULL / -1 = not set. Strings are borrowed. */
struct priv_run {
	const char *user;  /* runuser: user name or #uid */
	const char *group; /* rungroup: group name or #gid */
	int umask;         /* runumask, or -1 */
};

/*
 * priv_run_current: the run settings of the action the gate has just
 * allowed, or NULL. gate_check() clears it before it asks the policy; the
 * policy's decision function points it at the decision's runuser/rungroup/
 * runumask; the caller of gate_check (run_program, builtin_run,
 * redir_apply) applies it to that one action.
 */
extern const struct priv_run *priv_run_current;

/* The ids a priv_run resolves to, computed in the shell before a fork (no lookups in a vfork child). */
#define PRIV_NGROUPS 256
struct priv_ids {
	bool set_ids;  /* change uid/gid/groups (runuser or rungroup given) */
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[PRIV_NGROUPS];
	int umask;     /* -1: keep */
};

/* State read on the hot path: set once by priv_init. */
extern bool priv_held;   /* the process can take root (setuid start, or real root) */
extern bool priv_setuid; /* started setuid root by a user: children must drop the saved root */

/*
 * priv_init: the first thing in main(). Started setuid root by a user
 * (euid 0, real uid not 0): not dumpable, effective (and fs) uid and gid
 * the real user's, saved uid 0 kept. Started by root: nothing to drop.
 * Started setuid to another user: that identity is dropped for good. On a
 * failure to drop it prints a message and exits 126 (never runs with more
 * than it should).
 */
void priv_init(void);

/* priv_privileged: can this shell take root (setuid start or real root)? */
static inline bool priv_privileged(void)
{
	return priv_held;
}

/*
 * priv_monitor: in the process that becomes the session monitor, before it
 * execs pbsh-monitor: every uid and gid root for good, no supplementary
 * groups. Returns 0, or -1 with errno (EPERM when the shell is not
 * privileged).
 */
int priv_monitor(void);

/*
 * priv_resolve: turn r into ids (names looked up with getpwnam/getgrnam,
 * "#n" is a number). r NULL, or nothing set: ids->set_ids false, umask -1.
 * Asking for a user or group other than the shell's own from a shell that
 * is not privileged is refused: returns -1 after a message naming the
 * setting; an unknown name likewise. Returns 0 on success.
 */
int priv_resolve(const struct priv_run *r, struct priv_ids *ids);

/*
 * priv_exec_apply: the slow part of priv_exec_prepare (system calls only,
 * safe in a vfork child): with ids->set_ids, groups, gid and uid become the
 * run identity for good; else, in a setuid-started shell, every uid and gid
 * becomes the real user's for good; umask when given. Returns 0 or -1 with
 * errno; the caller (a child) then reports and exits 126.
 */
int priv_exec_apply(const struct priv_ids *ids);

/*
 * priv_exec_prepare: in a child just before it execs a program (ids NULL:
 * no run settings). Costs one branch when the shell is not setuid-started
 * and there are no settings.
 */
static inline int priv_exec_prepare(const struct priv_ids *ids)
{
	if (ids == NULL && !priv_setuid)
		return 0;
	return priv_exec_apply(ids);
}

/*
 * priv_open: open(2) a redirection target as the run identity of r (a file
 * it creates gets that owner and group, and mode & ~runumask); root is
 * given back before it returns, also on error. r NULL: a plain open as the
 * user. Returns the fd, or -1 with errno (a refused setting: after a message,
 * errno EPERM).
 */
int priv_open(const struct priv_run *r, const char *path, int flags, mode_t mode);

/* priv_openat: priv_open relative to the directory dfd (a checked redirection opens the name it checked there). */
int priv_openat(const struct priv_run *r, int dfd, const char *path, int flags, mode_t mode);

/* What priv_enter changed, to be put back by priv_leave (nests: a builtin run as X may run one as Y). */
struct priv_saved {
	bool ids;      /* effective ids and groups were changed */
	uid_t euid;
	gid_t egid;
	int ngroups;
	gid_t groups[PRIV_NGROUPS];
	int umask;     /* the previous umask, or -1 */
};

/*
 * priv_enter: run what follows (a builtin) as the run identity of r:
 * effective and fs ids, groups and umask only; the previous state goes to
 * *sv. Returns 1 when something was changed (the caller must call
 * priv_leave(sv), also when the builtin unwinds), 0 when r asks for
 * nothing, -1 after a message when it cannot be honoured.
 */
int priv_enter(const struct priv_run *r, struct priv_saved *sv);

/* priv_leave: back to the ids, groups and umask saved in *sv by priv_enter (exits 126 if impossible). */
void priv_leave(struct priv_saved *sv);

#endif
