/* SPDX-License-Identifier: ISC */
/* Event log storage: JSON Lines appended with one write each, rotated by day and size, synced before acknowledgements. */
#include "store_event.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
		int fd = openat(e->dirfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
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
