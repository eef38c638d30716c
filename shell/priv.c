/* SPDX-License-Identifier: ISC */
/* The setuid model: run as the real user, take root only to become runuser/rungroup for one action, drop it for good before exec. */
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shell.h"

bool priv_held;
bool priv_setuid;
const struct priv_run *priv_run_current;

/* The identity the shell runs as between privileged moments (after priv_init). */
static uid_t base_uid;
static gid_t base_gid;
static int base_ngroups;
static gid_t base_groups[PRIV_NGROUPS];

/*
 * Raw system calls for the vfork child: the C library's set*id wrappers may
 * coordinate threads through shared memory, which a vfork child must not touch.
 */
#ifdef SYS_setresuid32
#define NR_SETRESUID SYS_setresuid32
#define NR_SETRESGID SYS_setresgid32
#define NR_SETGROUPS SYS_setgroups32
#else
#define NR_SETRESUID SYS_setresuid
#define NR_SETRESGID SYS_setresgid
#define NR_SETGROUPS SYS_setgroups
#endif

static int raw_setresuid(uid_t r, uid_t e, uid_t s)
{
	return (int)syscall(NR_SETRESUID, r, e, s);
}

static int raw_setresgid(gid_t r, gid_t e, gid_t s)
{
	return (int)syscall(NR_SETRESGID, r, e, s);
}

static int raw_setgroups(int n, const gid_t *g)
{
	return (int)syscall(NR_SETGROUPS, (size_t)n, g);
}

static _Noreturn void fatal_ids(const char *what)
{
	int e = errno;
	fprintf(stderr, "%s: %s: %s\n", sh_name, what, strerror(e));
	_exit(126);
}

void priv_init(void)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		fatal_ids("cannot read the process ids");
	if (ru == 0) {
		/* Started by root: nothing to drop, root is already held. */
		priv_held = true;
	} else if (eu == 0 || su == 0) {
		/* Setuid root, started by a user: the user's ids, root kept only as the saved uid. */
		if (prctl(PR_SET_DUMPABLE, 0) < 0)
			fatal_ids("cannot make the process not dumpable");
		if (setresgid(rg, rg, rg) < 0 || setresuid(ru, ru, 0) < 0)
			fatal_ids("cannot take the user's ids");
		/* A change of the effective ids resets dumpable to fs.suid_dumpable: set it again. */
		prctl(PR_SET_DUMPABLE, 0);
		priv_held = priv_setuid = true;
	} else if (eu != ru || su != ru || eg != rg || sg != rg) {
		/* Setuid (or setgid) to someone else: not a supported install; be the user, for good. */
		if (setresgid(rg, rg, rg) < 0 || setresuid(ru, ru, ru) < 0)
			fatal_ids("cannot take the user's ids");
	}
	base_uid = geteuid();
	base_gid = getegid();
	int n = getgroups(PRIV_NGROUPS, base_groups);
	base_ngroups = n < 0 ? 0 : n;
}

int priv_monitor(void)
{
	if (!priv_held) {
		errno = EPERM;
		return -1;
	}
	if (setresuid(-1, 0, -1) < 0 || setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return -1;
	prctl(PR_SET_DUMPABLE, 0);
	priv_held = true;
	priv_setuid = false;
	return 0;
}

/* A number after '#' ("#1000"), or -1. */
static long id_number(const char *s)
{
	if (s[0] != '#' || s[1] == '\0')
		return -1;
	char *end;
	errno = 0;
	long n = strtol(s + 1, &end, 10);
	if (*end || errno || n < 0 || n > 0x7fffffffL)
		return -1;
	return n;
}

int priv_resolve(const struct priv_run *r, struct priv_ids *ids)
{
	ids->set_ids = false;
	ids->umask = -1;
	if (r == NULL)
		return 0;
	if (r->umask >= 0)
		ids->umask = r->umask & 0777;
	if (r->user == NULL && r->group == NULL)
		return 0;
	ids->uid = base_uid;
	ids->gid = base_gid;
	ids->ngroups = base_ngroups;
	memcpy(ids->groups, base_groups, sizeof(gid_t) * (size_t)base_ngroups);
	if (r->user) {
		long n = id_number(r->user);
		struct passwd *pw = n >= 0 ? getpwuid((uid_t)n) : getpwnam(r->user);
		if (pw == NULL) {
			sh_warnf("runuser %s: no such user", r->user);
			return -1;
		}
		ids->uid = pw->pw_uid;
		ids->gid = pw->pw_gid;
		int ng = PRIV_NGROUPS;
		if (getgrouplist(pw->pw_name, pw->pw_gid, ids->groups, &ng) < 0) {
			sh_warnf("runuser %s: more than %d groups", r->user, PRIV_NGROUPS);
			return -1;
		}
		ids->ngroups = ng;
	}
	if (r->group) {
		long n = id_number(r->group);
		struct group *gr = n >= 0 ? getgrgid((gid_t)n) : getgrnam(r->group);
		if (gr == NULL) {
			sh_warnf("rungroup %s: no such group", r->group);
			return -1;
		}
		ids->gid = gr->gr_gid;
	}
	if (!priv_held) {
		/* Not setuid root and not root: only the shell's own identity can be had. */
		if (ids->uid != base_uid || ids->gid != base_gid) {
			sh_warnf("%s %s cannot be honoured: the shell is not privileged (not installed setuid root)",
			    ids->uid != base_uid ? "runuser" : "rungroup", ids->uid != base_uid ? r->user : r->group);
			return -1;
		}
		return 0;
	}
	ids->set_ids = true;
	return 0;
}

int priv_exec_apply(const struct priv_ids *ids)
{
	if (ids && ids->umask >= 0)
		umask((mode_t)ids->umask);
	if (ids && ids->set_ids) {
		/* Root back (saved uid 0, or real root), then the run identity for good. */
		if (geteuid() != 0 && raw_setresuid((uid_t)-1, 0, (uid_t)-1) < 0)
			return -1;
		if (raw_setgroups(ids->ngroups, ids->groups) < 0 || raw_setresgid(ids->gid, ids->gid, ids->gid) < 0
		    || raw_setresuid(ids->uid, ids->uid, ids->uid) < 0)
			return -1;
		return 0;
	}
	/* Setuid start: the program must not carry the saved root. */
	if (priv_setuid && raw_setresuid(base_uid, base_uid, base_uid) < 0)
		return -1;
	return 0;
}

/* Back to the saved identity; a failure here leaves no safe state to go on in. */
void priv_leave(struct priv_saved *sv)
{
	if (sv->ids) {
		if (setresuid((uid_t)-1, 0, (uid_t)-1) < 0 || setgroups((size_t)sv->ngroups, sv->groups) < 0
		    || setresgid((gid_t)-1, sv->egid, (gid_t)-1) < 0 || setresuid((uid_t)-1, sv->euid, (uid_t)-1) < 0)
			fatal_ids("cannot give back the run identity");
		if (priv_setuid)
			prctl(PR_SET_DUMPABLE, 0);
		sv->ids = false;
	}
	if (sv->umask >= 0) {
		umask((mode_t)sv->umask);
		sv->umask = -1;
	}
}

int priv_enter(const struct priv_run *r, struct priv_saved *sv)
{
	struct priv_ids ids;
	sv->ids = false;
	sv->umask = -1;
	if (priv_resolve(r, &ids) < 0)
		return -1;
	if (!ids.set_ids && ids.umask < 0)
		return 0;
	if (ids.umask >= 0)
		sv->umask = (int)umask((mode_t)ids.umask);
	if (ids.set_ids) {
		sv->euid = geteuid();
		sv->egid = getegid();
		int n = getgroups(PRIV_NGROUPS, sv->groups);
		sv->ngroups = n < 0 ? 0 : n;
		sv->ids = true;
		if ((geteuid() != 0 && setresuid((uid_t)-1, 0, (uid_t)-1) < 0) || setgroups((size_t)ids.ngroups, ids.groups) < 0
		    || setresgid((gid_t)-1, ids.gid, (gid_t)-1) < 0 || setresuid((uid_t)-1, ids.uid, (uid_t)-1) < 0) {
			int e = errno;
			priv_leave(sv);
			sh_warnf("%s: cannot take the run identity: %s", r->user ? r->user : r->group, strerror(e));
			errno = e;
			return -1;
		}
		if (priv_setuid)
			prctl(PR_SET_DUMPABLE, 0);
	}
	return 1;
}

int priv_open(const struct priv_run *r, const char *path, int flags, mode_t mode)
{
	return priv_openat(r, AT_FDCWD, path, flags, mode);
}

int priv_openat(const struct priv_run *r, int dfd, const char *path, int flags, mode_t mode)
{
	if (r == NULL)
		return openat(dfd, path, flags, mode);
	struct priv_saved sv;
	int in = priv_enter(r, &sv);
	if (in < 0) {
		errno = EPERM;
		return -1;
	}
	int fd = openat(dfd, path, flags, mode);
	int e = errno;
	if (in > 0)
		priv_leave(&sv);
	errno = e;
	return fd;
}
