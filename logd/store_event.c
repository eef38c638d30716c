/* SPDX-License-Identifier: ISC */
/* Event log storage: JSON Lines appended with one write each, rotated by day and size, synced before acknowledgements. */
#include "store_event.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "err.h"

struct evlog {
	char *dir;
	char prefix[128];
	int dirfd;
	int fd;
	uint64_t max_bytes;
	uint64_t size;
	int day;		/* yyyymmdd of the open file */
	unsigned seq;		/* .N suffix of the open file (0: none) */
	bool dirty;
	uint64_t count;
	char path[PATH_MAX];
};

static int today(void)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static int open_file(struct evlog *e)
{
	int day = today();
	unsigned seq = e->day == day ? e->seq : 0;
	for (;;) {
		char name[192];
		if (seq == 0)
			snprintf(name, sizeof(name), "%s-%08d.jsonl", e->prefix, day);
		else
			snprintf(name, sizeof(name), "%s-%08d.%u.jsonl", e->prefix, day, seq);
		int fd = openat(e->dirfd, name, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return errno == ENOSPC ? PB_ERR_NOSPC : PB_ERR_IO;
		struct stat st;
		if (fstat(fd, &st) != 0) {
			close(fd);
			return PB_ERR_IO;
		}
		if (e->max_bytes > 0 && (uint64_t)st.st_size >= e->max_bytes && seq < 100000) {
			close(fd);
			seq++;
			continue;
		}
		char last = '\n';
		if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
			/*
			 * A crash cut the last line short: end it, so the next event
			 * starts a line of its own (readers skip the broken one).
			 */
			if (write(fd, "\n", 1) == 1)
				st.st_size++;
		}
		if (st.st_size == 0 && fsync(e->dirfd) != 0) {
			/* A new file: its name must survive a crash like its lines. */
			close(fd);
			return PB_ERR_IO;
		}
		if (e->fd >= 0)
			close(e->fd);
		e->fd = fd;
		e->size = (uint64_t)st.st_size;
		e->day = day;
		e->seq = seq;
		snprintf(e->path, sizeof(e->path), "%s/%s", e->dir, name);
		return 0;
	}
}

bool evlog_split(const char *path, char *dir, size_t dirlen, char *prefix, size_t prefixlen)
{
	struct stat st;
	size_t n = strlen(path);
	if ((n > 0 && path[n - 1] == '/') || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
		while (n > 1 && path[n - 1] == '/')
			n--;
		return snprintf(dir, dirlen, "%.*s", (int)n, path) < (int)dirlen &&
		       snprintf(prefix, prefixlen, "events") < (int)prefixlen;
	}
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	size_t bl = strlen(base);
	if (bl > 6 && strcmp(base + bl - 6, ".jsonl") == 0)
		bl -= 6;
	if (bl == 0 || bl >= prefixlen)
		return false;
	memcpy(prefix, base, bl);
	prefix[bl] = '\0';
	if (slash == NULL)
		return snprintf(dir, dirlen, ".") < (int)dirlen;
	if (slash == path)
		return snprintf(dir, dirlen, "/") < (int)dirlen;
	return snprintf(dir, dirlen, "%.*s", (int)(slash - path), path) < (int)dirlen;
}

int evlog_open(const char *path, uint64_t max_bytes, struct evlog **out, const char **errstr)
{
	char dir[PATH_MAX];
	struct evlog *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		*errstr = "out of memory";
		return PB_ERR_NOMEM;
	}
	if (!evlog_split(path, dir, sizeof(dir), e->prefix, sizeof(e->prefix))) {
		free(e);
		*errstr = "event log path too long";
		return PB_ERR_INVAL;
	}
	if ((e->dir = strdup(dir)) == NULL) {
		free(e);
		*errstr = "out of memory";
		return PB_ERR_NOMEM;
	}
	e->dirfd = -1;
	e->fd = -1;
	e->max_bytes = max_bytes;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*errstr = "cannot create the event log directory";
		evlog_close(e);
		return PB_ERR_IO;
	}
	e->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->dirfd < 0) {
		*errstr = "cannot open the event log directory";
		evlog_close(e);
		return PB_ERR_IO;
	}
	int rc = open_file(e);
	if (rc < 0) {
		*errstr = "cannot open the event log file";
		evlog_close(e);
		return rc;
	}
	*out = e;
	return 0;
}

int evlog_append(struct evlog *e, const char *json, size_t len)
{
	if (e->day != today() || (e->max_bytes > 0 && e->size >= e->max_bytes)) {
		int rc = evlog_sync(e);
		if (rc == 0) {
			if (e->day != today())
				e->seq = 0;
			rc = open_file(e);
		}
		if (rc < 0)
			return rc;
	}
	struct iovec iov[2] = {
		{(void *)json, len},
		{(void *)"\n", 1},
	};
	ssize_t n = writev(e->fd, iov, 2);
	if (n != (ssize_t)len + 1) {
		int rc = (n < 0 && (errno == ENOSPC || errno == EDQUOT)) || n >= 0 ? PB_ERR_NOSPC : PB_ERR_IO;
		/* Never leave half a line behind: cut back to the last complete event. */
		if (n > 0 && ftruncate(e->fd, (off_t)e->size) != 0) {
			/* readers skip a line that does not parse */
		}
		return rc;
	}
	e->size += (uint64_t)n;
	e->dirty = true;
	e->count++;
	return 0;
}

int evlog_sync(struct evlog *e)
{
	if (!e->dirty)
		return 0;
	if (fdatasync(e->fd) != 0)
		return errno == ENOSPC ? PB_ERR_NOSPC : PB_ERR_IO;
	e->dirty = false;
	return 0;
}

int evlog_sync_begin(struct evlog *e, int *fd)
{
	*fd = -1;
	if (!e->dirty)
		return 0;
	*fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
	if (*fd < 0)
		return PB_ERR_IO;
	e->dirty = false;
	return 0;
}

int evlog_reopen(struct evlog *e)
{
	int rc = evlog_sync(e);
	if (rc < 0)
		return rc;
	if (e->day != today())
		e->seq = 0;
	return open_file(e);
}

const char *evlog_path(const struct evlog *e)
{
	return e->path;
}

uint64_t evlog_count(const struct evlog *e)
{
	return e->count;
}

void evlog_where(const struct evlog *e, int *day, unsigned *seq, uint64_t *off)
{
	*day = e->day;
	*seq = e->seq;
	*off = e->size;
}

static int evfile_cmp(const void *a, const void *b)
{
	const struct evlog_file *x = a, *y = b;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* evfile_parse: name -> day and seq when it is one of the files of prefix. */
static bool evfile_parse(const char *prefix, const char *name, struct evlog_file *f)
{
	size_t pl = strlen(prefix);
	if (strncmp(name, prefix, pl) != 0 || name[pl] != '-')
		return false;
	const char *p = name + pl + 1;
	int day = 0;
	for (int i = 0; i < 8; i++, p++) {
		if (*p < '0' || *p > '9')
			return false;
		day = day * 10 + (*p - '0');
	}
	unsigned seq = 0;
	if (*p == '.' && p[1] >= '1' && p[1] <= '9') {
		char *end;
		unsigned long v = strtoul(p + 1, &end, 10);
		if (v > 1000000 || *end != '.')
			return false;
		seq = (unsigned)v;
		p = end;
	}
	if (strcmp(p, ".jsonl") != 0)
		return false;
	f->day = day;
	f->seq = seq;
	return true;
}

struct evlog_file *evlog_files(int dirfd, const char *prefix, size_t *np)
{
	struct evlog_file *v = NULL;
	size_t n = 0, cap = 0;
	/* A descriptor of its own: a dup would share the read position of the directory. */
	int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = dfd >= 0 ? fdopendir(dfd) : NULL;
	*np = 0;
	if (dp == NULL) {
		if (dfd >= 0)
			close(dfd);
		return NULL;
	}
	struct dirent *de;
	while ((de = readdir(dp)) != NULL) {
		struct evlog_file f;
		if (!evfile_parse(prefix, de->d_name, &f))
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct evlog_file *nv = realloc(v, nc * sizeof(*nv));
			if (nv == NULL)
				break;
			v = nv;
			cap = nc;
		}
		if ((f.name = strdup(de->d_name)) != NULL)
			v[n++] = f;
	}
	closedir(dp);
	if (n > 0)
		qsort(v, n, sizeof(*v), evfile_cmp);
	*np = n;
	return v;
}

void evlog_files_free(struct evlog_file *f, size_t n)
{
	for (size_t i = 0; f != NULL && i < n; i++)
		free(f[i].name);
	free(f);
}

/* scan_file: the complete lines of one file from off. */
static int scan_file(int fd, uint64_t off, int (*cb)(void *arg, const char *line, size_t len), void *arg)
{
	size_t cap = 65536, have = 0;
	char *buf = malloc(cap);
	int rc = 0;
	if (buf == NULL)
		return PB_ERR_NOMEM;
	if (lseek(fd, (off_t)off, SEEK_SET) < 0) {
		free(buf);
		return PB_ERR_IO;
	}
	for (;;) {
		if (have == cap) {
			/* A line longer than the buffer: grow it (events are bounded by the frame limit). */
			char *nb = cap < ((size_t)1 << 30) ? realloc(buf, cap * 2) : NULL;
			if (nb == NULL) {
				rc = PB_ERR_NOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = PB_ERR_IO;
			break;
		}
		if (n == 0)
			break; /* a last line without newline is incomplete: not an event */
		have += (size_t)n;
		size_t start = 0;
		char *nl;
		while (rc == 0 && (nl = memchr(buf + start, '\n', have - start)) != NULL) {
			rc = cb(arg, buf + start, (size_t)(nl - (buf + start)));
			start = (size_t)(nl - buf) + 1;
		}
		if (rc != 0)
			break;
		memmove(buf, buf + start, have - start);
		have -= start;
	}
	free(buf);
	return rc;
}

int evlog_scan(struct evlog *e, int day, unsigned seq, uint64_t off,
	       int (*cb)(void *arg, const char *line, size_t len), void *arg)
{
	struct evlog_file first = {.day = day, .seq = seq};
	size_t n = 0;
	int rc = 0;
	struct evlog_file *files = evlog_files(e->dirfd, e->prefix, &n);
	if (files == NULL)
		return PB_ERR_IO; /* the open file at least is there */
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int cmp = evfile_cmp(&files[i], &first);
		if (cmp < 0)
			continue;
		int fd = openat(e->dirfd, files[i].name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			rc = PB_ERR_IO;
			break;
		}
		if (fdatasync(fd) != 0)
			rc = PB_ERR_IO;
		else
			rc = scan_file(fd, cmp == 0 ? off : 0, cb, arg);
		close(fd);
	}
	evlog_files_free(files, n);
	return rc;
}

void evlog_close(struct evlog *e)
{
	if (e == NULL)
		return;
	if (e->fd >= 0) {
		evlog_sync(e);
		close(e->fd);
	}
	if (e->dirfd >= 0)
		close(e->dirfd);
	free(e->dir);
	free(e);
}
