/* SPDX-License-Identifier: ISC */
/* Redirections: open, dup and close descriptors in order, saving the old ones for builtins and functions. */
#include "redir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec.h"
#include "expand.h"
#include "gate.h"
#include "options.h"
#include "policy.h"
#include "priv.h"
#include "restrict.h"
#include "session.h"
#include "shell.h"

struct saved_fd {
	int fd;      /* the descriptor redirected */
	int copy;    /* where its old file is kept, or -1 if it was closed */
};

struct redirsave {
	int n, cap;
	struct saved_fd *v;
};

static void save_fd(struct redirsave *s, int fd)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].fd == fd)
			return;
	if (s->n == s->cap) {
		int nc = s->cap ? s->cap * 2 : 4;
		struct saved_fd *nv = stalloc((size_t)nc * sizeof *nv);
		if (s->n)
			memcpy(nv, s->v, (size_t)s->n * sizeof *nv);
		s->v = nv;
		s->cap = nc;
	}
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	s->v[s->n++] = (struct saved_fd){.fd = fd, .copy = copy};
}

void redir_restore(struct redirsave *s)
{
	if (s == NULL)
		return;
	/* Builtin output still buffered belongs to the redirected descriptor. */
	out_flush();
	for (int i = s->n - 1; i >= 0; i--) {
		if (s->v[i].copy >= 0) {
			dup2(s->v[i].copy, s->v[i].fd);
			close(s->v[i].copy);
		} else {
			close(s->v[i].fd);
		}
	}
	s->n = 0;
}

int redir_heredoc_fd(const char *text, size_t len)
{
#ifdef MFD_CLOEXEC
	/*
	 * A memory file is seekable, so `read` takes a whole line per system
	 * call (it seeks back), where a pipe must be read a byte at a time.
	 */
	int mfd = memfd_create("pbsh-heredoc", MFD_CLOEXEC);
	if (mfd >= 0) {
		size_t off = 0;
		while (off < len) {
			ssize_t w = write(mfd, text + off, len - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				close(mfd);
				return -1;
			}
			off += (size_t)w;
		}
		lseek(mfd, 0, SEEK_SET);
		return mfd;
	}
#endif
	if (len <= 4096) {
		int p[2];
		if (pipe(p) < 0)
			return -1;
		if (len && write(p[1], text, len) != (ssize_t)len) {
			close(p[0]);
			close(p[1]);
			return -1;
		}
		close(p[1]);
		return p[0];
	}
	/* Too big for a pipe we fill before the reader starts: an unlinked temporary file. */
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/pbshXXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	unlink(path);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* Move src onto fd (dup2 then close src), unless they are the same. */
static int move_to(int src, int fd)
{
	if (src == fd) {
		/* The open returned exactly the target fd: make sure it is inherited. */
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && (fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
		return 0;
	}
	int r = dup2(src, fd);
	int e = errno;
	close(src);
	errno = e;
	return r < 0 ? -1 : 0;
}

/* dir/name in the arena. */
static char *xasprintf_st(const char *dir, const char *name)
{
	char *p = stalloc(strlen(dir) + strlen(name) + 2);
	sprintf(p, "%s/%s", dir, name);
	return p;
}

/* Is dir a directory only root can change (no link in it can be swapped by the user)? */
static bool root_dir(int dfd)
{
	struct stat st;
	return fstat(dfd, &st) == 0 && st.st_uid == 0 && !(st.st_mode & 022);
}

/*
 * A governed session: the file opened is the file checked. The directory is
 * opened first and held, the path sent is its real path plus the last
 * component, and the last component is opened from that directory without
 * following a link. A last component that is a link is resolved first (once)
 * and its target checked and opened instead. Links no user can swap are
 * followed as they are: the kernel's under /proc (/dev/stdout, /dev/fd/N
 * naming a pipe), and an unresolvable one in a directory only root can change.
 * Returns the new fd, -2 after a refusal, -1 with errno set.
 */
static int open_checked(const char *path, int flags, bool write_)
{
	int fd = -1;
	for (int round = 0; round < 2; round++) {
		const char *slash = strrchr(path, '/');
		const char *base = slash ? slash + 1 : path;
		char *dir = slash ? ststrndup(path, slash == path ? 1 : (size_t)(slash - path)) : ".";
		if (*base == '\0') {
			errno = EISDIR;
			break;
		}
		int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			break;
		char real[PATH_MAX], lk[32];
		snprintf(lk, sizeof lk, "/proc/self/fd/%d", dfd);
		ssize_t n = readlink(lk, real, sizeof real - 1);
		if (n <= 0) {
			close(dfd);
			errno = ENOENT;
			break;
		}
		real[n] = '\0';
		struct stat st;
		bool link = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
		bool follow = link && strncmp(real, "/proc/", 6) == 0;
		if (link && !follow && round == 0) {
			char *res = realpath(path, NULL);
			if (res != NULL) {
				close(dfd);
				path = ststrdup(res);
				free(res);
				continue;
			}
			/* A link to a file not there yet (a write creates it): check and open its target. */
			char lt[PATH_MAX];
			ssize_t ln = errno == ENOENT ? readlinkat(dfd, base, lt, sizeof lt - 1) : -1;
			lt[ln > 0 ? ln : 0] = '\0';
			if (ln > 0) {
				close(dfd);
				path = lt[0] == '/' ? ststrdup(lt) : ststrdup(slash ? xasprintf_st(dir, lt) : lt);
				continue;
			}
			/* Unresolvable: followed as it is only where no user can have put it. */
			follow = root_dir(dfd);
			if (!follow) {
				close(dfd);
				errno = ELOOP;
				break;
			}
		}
		char *checked = stalloc((size_t)n + strlen(base) + 2);
		sprintf(checked, "%s%s%s", real, real[n - 1] == '/' ? "" : "/", base);
		char *gargv[] = {write_ ? "shell redirect write" : "shell redirect read", checked, NULL};
		if (gate_check(GATE_REDIRECT, checked, gargv) != GATE_ALLOW) {
			close(dfd);
			return -2;
		}
		fd = priv_openat(priv_run_current, dfd, base, flags | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0666);
		int e = errno;
		close(dfd);
		errno = e;
		break;
	}
	return fd;
}

int redir_apply(union node *redirs, struct redirsave **savep)
{
	struct redirsave *save = NULL;
	if (redirs == NULL)
		return 0;
	if (savep) {
		save = *savep;
		if (save == NULL) {
			save = stzalloc(sizeof *save);
			*savep = save;
		}
	}
	out_flush();
	for (union node *r = redirs; r; r = r->head.next) {
		struct n_redir *rd = &r->redir;
		int fd = rd->fd;
		int src = -1;
		if (session_fd_reserved(fd)) {
			sh_warnf("%d: descriptor reserved by the shell", fd);
			return -1;
		}
		if (rd->op == R_HEREDOC || rd->op == R_HEREDOC_STRIP) {
			const char *body = rd->heredoc ? expand_str(rd->heredoc) : "";
			src = redir_heredoc_fd(body, strlen(body));
			if (src < 0) {
				sh_warnf("cannot create here-document: %s", strerror(errno));
				return -1;
			}
		} else if (rd->op == R_DUPIN || rd->op == R_DUPOUT) {
			const char *t = expand_str(rd->target);
			if (save)
				save_fd(save, fd);
			if (strcmp(t, "-") == 0) {
				close(fd);
				continue;
			}
			if (strcmp(t, "p") == 0) {
				/* ksh >&p <&p: the coprocess's input or output. */
				int *cfd = rd->op == R_DUPOUT ? &coproc_wfd : &coproc_rfd;
				if (*cfd < 0) {
					sh_warnf("p: no coprocess");
					return -1;
				}
				if (dup2(*cfd, fd) < 0) {
					sh_warnf("p: %s", strerror(errno));
					return -1;
				}
				if (save == NULL) {
					/* exec n>&p moves the descriptor: the shell's own copy is closed. */
					close(*cfd);
					*cfd = -1;
				}
				continue;
			}
			char *end;
			long n = strtol(t, &end, 10);
			if (*t == '\0' || *end || n < 0 || n > INT_MAX) {
				sh_warnf("%s: bad file descriptor number", t);
				return -1;
			}
			if (session_fd_reserved((int)n)) {
				sh_warnf("%ld: descriptor reserved by the shell", n);
				return -1;
			}
			if ((int)n == fd)
				continue;
			if (dup2((int)n, fd) < 0) {
				sh_warnf("%ld: %s", n, strerror(errno));
				return -1;
			}
			continue;
		} else {
			const char *path = expand_str(rd->target);
			int flags;
			bool write_ = true;
			switch (rd->op) {
			case R_IN: flags = O_RDONLY; write_ = false; break;
			case R_RDWR: flags = O_RDWR | O_CREAT; break;
			case R_APPEND: flags = O_WRONLY | O_CREAT | O_APPEND; break;
			case R_CLOBBER: flags = O_WRONLY | O_CREAT | O_TRUNC; break;
			default:
				flags = O_WRONLY | O_CREAT | O_TRUNC;
				if (opt[OPT_NOCLOBBER]) {
					/* noclobber: only an existing non-regular file (e.g. /dev/null) may be opened. */
					struct stat st;
					if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
						sh_warnf("%s: cannot overwrite existing file", path);
						return -1;
					}
					if (stat(path, &st) != 0)
						flags = O_WRONLY | O_CREAT | O_EXCL;
					else
						flags = O_WRONLY;
				}
				break;
			}
			/* The restricted shell creates and truncates no file (> >| >> <>). */
			if (write_ && restrict_on()) {
				restrict_refuse(path);
				return -1;
			}
			/* As the decision's runuser/rungroup/runumask when it gives them (a created file is theirs). */
			if (gate_enabled() && policy_checks_redirections()) {
				src = open_checked(path, flags, write_);
			} else {
				char *gargv[] = {write_ ? "shell redirect write" : "shell redirect read", (char *)path, NULL};
				if (gate_check(GATE_REDIRECT, path, gargv) != GATE_ALLOW)
					return -1;
				src = priv_open(priv_run_current, path, flags | O_CLOEXEC, 0666);
			}
			if (src == -2)
				return -1; /* refused: the gate said why */
			if (src < 0) {
				sh_warnf("cannot %s %s: %s", write_ ? "create" : "open", path, strerror(errno));
				return -1;
			}
		}
		if (save)
			save_fd(save, fd);
		if (move_to(src, fd) < 0) {
			sh_warnf("%d: %s", fd, strerror(errno));
			return -1;
		}
	}
	return 0;
}
