/* SPDX-License-Identifier: ISC */
/* Writes I/O logs in sudo's directory format, durably: data reaches disk before the timing that covers it. */
#include "iolog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

/*
 * Buffers: data records go to per-stream buffers and timing lines to the
 * timing buffer. A flush writes every data buffer before the timing
 * buffer, so on disk the timing file never refers to data that is not
 * there; a crash leaves at worst extra data after the last timing line,
 * which readers ignore and a restart cuts off.
 */
#define STREAM_BUF (128u * 1024u)
#define TIMING_BUF (16u * 1024u)

struct obuf {
	int fd;
	char *buf;
	size_t len, cap;
	off_t size;	/* bytes on disk (flushed) */
	bool dirty;	/* written since the last fsync */
};

struct iolog_w {
	int dirfd;
	struct obuf stream[IOLOG_NSTREAMS];
	struct obuf timing;
	struct timespec elapsed;	/* after the last record written */
	struct timespec flushed_elapsed;	/* after the last record in the timing file on disk */
	/*
	 * safe: the end of the last record that has a positive delay and is
	 * followed by one with a positive delay, so exactly one record ends
	 * there. A client resuming at a commit point skips every record whose
	 * elapsed time is not past it: a point followed by zero-delay records
	 * the server has not seen yet would lose them, and sudo_sendlog
	 * misplaces its data when a zero-delay record ends at the point.
	 * Commit points therefore stop here until the session's end.
	 */
	struct timespec safe;
	bool last_positive;	/* the last record written had a positive delay */
	uint64_t bytes;
};

static int errno_to_pb(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
		return PB_ERR_NOSPC;
	case ENOMEM:
		return PB_ERR_NOMEM;
	case EEXIST:
		return PB_ERR_EXISTS;
	case ENOENT:
		return PB_ERR_NOTFOUND;
	default:
		return PB_ERR_IO;
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno_to_pb(errno);
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * start_writeback: ask the kernel to start writing a range now, without
 * waiting. The fsync at the next commit point then finds most of the data
 * on disk already, so durability costs little more than the page cache.
 */
static void start_writeback(int fd, off_t off, off_t len)
{
#ifdef SYNC_FILE_RANGE_WRITE
	(void)sync_file_range(fd, off, len, SYNC_FILE_RANGE_WRITE);
#else
	(void)fd;
	(void)off;
	(void)len;
#endif
}

/*
 * obuf_flush: write the buffer out. On failure the file is cut back to
 * what it held before, so a full disk never leaves half a timing line.
 */
static int obuf_flush(struct obuf *b)
{
	if (b->len == 0)
		return 0;
	int rc = write_all(b->fd, b->buf, b->len);
	if (rc < 0) {
		if (ftruncate(b->fd, b->size) != 0) {
			/* Nothing better to do: the reader ignores a partial last line. */
		}
		return rc;
	}
	start_writeback(b->fd, b->size, (off_t)b->len);
	b->size += (off_t)b->len;
	b->len = 0;
	b->dirty = true;
	return 0;
}

static int obuf_put(struct obuf *b, const void *data, size_t n, size_t cap)
{
	if (b->buf == NULL) {
		b->buf = malloc(cap);
		if (b->buf == NULL)
			return PB_ERR_NOMEM;
		b->cap = cap;
	}
	if (n > b->cap - b->len) {
		int rc = obuf_flush(b);
		if (rc < 0)
			return rc;
	}
	if (n >= b->cap) {
		/* Large records skip the copy. */
		int rc = write_all(b->fd, data, n);
		if (rc < 0) {
			if (ftruncate(b->fd, b->size) != 0) {
				/* as in obuf_flush */
			}
			return rc;
		}
		start_writeback(b->fd, b->size, (off_t)n);
		b->size += (off_t)n;
		b->dirty = true;
		return 0;
	}
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return 0;
}

static int flush_all(struct iolog_w *w)
{
	for (int i = 0; i < IOLOG_NSTREAMS; i++) {
		int rc = obuf_flush(&w->stream[i]);
		if (rc < 0)
			return rc;
	}
	int rc = obuf_flush(&w->timing);
	if (rc == 0)
		w->flushed_elapsed = w->elapsed;
	return rc;
}

static void wclose(struct iolog_w *w)
{
	if (w == NULL)
		return;
	for (int i = 0; i < IOLOG_NSTREAMS; i++) {
		if (w->stream[i].fd >= 0)
			close(w->stream[i].fd);
		free(w->stream[i].buf);
	}
	if (w->timing.fd >= 0)
		close(w->timing.fd); /* also drops the flock */
	free(w->timing.buf);
	if (w->dirfd >= 0)
		close(w->dirfd);
	free(w);
}

static struct iolog_w *walloc(void)
{
	struct iolog_w *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->dirfd = -1;
	w->timing.fd = -1;
	for (int i = 0; i < IOLOG_NSTREAMS; i++)
		w->stream[i].fd = -1;
	return w;
}

/* A list of descriptors to fsync later (create_begin), or NULL to fsync at once. */
struct defer {
	int *fds;
	size_t n;
};

/* sync_or_defer: fsync fd now, or hand a duplicate to the caller's list when it has room. */
static int sync_or_defer(int fd, struct defer *d)
{
	if (d != NULL && d->n < IOLOG_CREATE_FDS) {
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (nfd >= 0) {
			d->fds[d->n++] = nfd;
			return 0;
		}
	}
	return fsync(fd) != 0 ? errno_to_pb(errno) : 0;
}

/*
 * defer_flush: a create that fails after making directories still syncs
 * them now: the next create finds them existing and would not sync them.
 */
static void defer_flush(struct defer *d)
{
	if (d == NULL)
		return;
	while (d->n > 0) {
		int fd = d->fds[--d->n];
		if (fsync(fd) != 0) {
			/* The create fails anyway; nothing more to report. */
		}
		close(fd);
	}
}

static int write_file_at(int dirfd, const char *name, const char *text, bool excl, mode_t mode,
			 struct defer *d)
{
	int fd = openat(dirfd, name,
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | (excl ? O_EXCL : 0), mode);
	if (fd < 0)
		return errno_to_pb(errno);
	int rc = write_all(fd, text, strlen(text));
	if (rc == 0)
		rc = sync_or_defer(fd, d);
	close(fd);
	return rc;
}

/*
 * mkdirs: create every directory of id under rootfd (0700), fsync'ing each
 * parent that got a new entry, and return the last one opened. The last
 * component must be new (PB_ERR_EXISTS otherwise) so two sessions never share
 * a directory.
 */
static int mkdirs(int rootfd, const char *id, mode_t dmode, int *out, struct defer *d)
{
	char buf[IOLOG_ID_MAX + 1];
	if (!iolog_id_valid(id))
		return PB_ERR_INVAL;
	snprintf(buf, sizeof(buf), "%s", id);
	int dfd = dup(rootfd);
	if (dfd < 0)
		return PB_ERR_IO;
	char *save = NULL;
	char *comp = strtok_r(buf, "/", &save);
	while (comp != NULL) {
		char *next = strtok_r(NULL, "/", &save);
		if (mkdirat(dfd, comp, dmode) == 0) {
			int rc = sync_or_defer(dfd, d);
			if (rc < 0) {
				close(dfd);
				return rc;
			}
		} else if (errno != EEXIST || next == NULL) {
			int rc = errno_to_pb(errno);
			close(dfd);
			return rc;
		}
		int nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(dfd);
		if (nfd < 0)
			return errno_to_pb(e);
		dfd = nfd;
		comp = next;
	}
	*out = dfd;
	return 0;
}

static int create_impl(int rootfd, const char *id, mode_t mode, const char *log_text,
		       const char *log_json, struct iolog_w **out, struct defer *d, const char **errstr)
{
	struct iolog_w *w = walloc();
	int rc;
	/* As sudo's iolog_mode: read/write bits only, owner always both; directories add search bits. */
	mode = (mode & 0666) | 0600;
	mode_t dmode = mode | ((mode & 0444) >> 2);
	if (w == NULL) {
		*errstr = "out of memory";
		return PB_ERR_NOMEM;
	}
	rc = mkdirs(rootfd, id, dmode, &w->dirfd, d);
	if (rc < 0) {
		*errstr = rc == PB_ERR_EXISTS ? "log directory exists" : "cannot create the log directory";
		goto fail;
	}
	if ((rc = write_file_at(w->dirfd, "log", log_text, true, mode, d)) < 0 ||
	    (rc = write_file_at(w->dirfd, "log.json", log_json, true, mode, d)) < 0) {
		*errstr = "cannot write log/log.json";
		goto fail;
	}
	for (int i = 0; i < IOLOG_NSTREAMS; i++) {
		w->stream[i].fd = openat(w->dirfd, iolog_stream_name(i),
					 O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, mode);
		if (w->stream[i].fd < 0) {
			rc = errno_to_pb(errno);
			*errstr = "cannot create a stream file";
			goto fail;
		}
	}
	w->timing.fd = openat(w->dirfd, "timing",
			      O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, mode);
	if (w->timing.fd < 0 || flock(w->timing.fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno_to_pb(errno);
		*errstr = "cannot create the timing file";
		goto fail;
	}
	/*
	 * The log id is about to be handed out: the directory entries must
	 * survive a crash (log and log.json were synced as they were written;
	 * the stream files are empty until their first commit point).
	 */
	if ((rc = sync_or_defer(w->dirfd, d)) < 0) {
		*errstr = "fsync failed";
		goto fail;
	}
	*out = w;
	return 0;
fail:
	defer_flush(d);
	wclose(w);
	return rc;
}

static int sudo_create(int rootfd, const char *id, mode_t mode, const char *log_text,
		       const char *log_json, struct iolog_w **out, const char **errstr)
{
	return create_impl(rootfd, id, mode, log_text, log_json, out, NULL, errstr);
}

static int sudo_create_begin(int rootfd, const char *id, mode_t mode, const char *log_text,
			     const char *log_json, struct iolog_w **out, int *fds, size_t *nfds,
			     const char **errstr)
{
	struct defer d = {fds, 0};
	int rc = create_impl(rootfd, id, mode, log_text, log_json, out, &d, errstr);
	*nfds = d.n;
	return rc;
}

ssize_t iolog_read_json(int dirfd, char *buf, size_t size)
{
	int fd = openat(dirfd, "log.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* peer_matches: does dirfd's log.json name this peer as its creator? */
static bool peer_matches(int dirfd, const char *peer)
{
	char buf[65536];
	if (iolog_read_json(dirfd, buf, sizeof(buf)) < 0)
		return false;
	/*
	 * We wrote "pbpeer" ourselves, as the first member, on a line of its
	 * own; values inside strings cannot contain an unescaped quote, so
	 * this line cannot be forged by a client-supplied value.
	 */
	char want[600];
	int wl = snprintf(want, sizeof(want), "{\n    \"pbpeer\": \"%s\",\n", peer);
	if (wl < 0 || (size_t)wl >= sizeof(want))
		return false;
	return strncmp(buf, want, (size_t)wl) == 0;
}

static int sudo_restart(int rootfd, const char *id, struct timespec resume, const char *peer,
			struct iolog_w **out, const char **errstr)
{
	struct iolog_w *w = walloc();
	FILE *tf = NULL;
	char *line = NULL;
	size_t cap = 0;
	int rc = PB_ERR_PROTO;
	if (w == NULL) {
		*errstr = "out of memory";
		return PB_ERR_NOMEM;
	}
	int dfd = iolog_open_beneath(rootfd, id, O_RDONLY | O_DIRECTORY);
	if (dfd < 0) {
		*errstr = "unknown log id";
		rc = PB_ERR_NOTFOUND;
		goto done;
	}
	w->dirfd = dfd;
	if (!peer_matches(dfd, peer)) {
		/* Same answer as a missing log: do not tell a foreign host what exists. */
		*errstr = "unknown log id";
		rc = PB_ERR_NOTFOUND;
		goto done;
	}
	w->timing.fd = openat(dfd, "timing", O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (w->timing.fd < 0 || fstat(w->timing.fd, &st) != 0) {
		*errstr = "unknown log id";
		rc = PB_ERR_NOTFOUND;
		goto done;
	}
	if ((st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0) {
		*errstr = "log is already complete";
		goto done;
	}
	if (flock(w->timing.fd, LOCK_EX | LOCK_NB) != 0) {
		*errstr = "log is in use by another connection";
		rc = PB_ERR_DENIED;
		goto done;
	}
	off_t have[IOLOG_NSTREAMS];
	for (int i = 0; i < IOLOG_NSTREAMS; i++) {
		w->stream[i].fd = openat(dfd, iolog_stream_name(i),
					 O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (w->stream[i].fd < 0 || fstat(w->stream[i].fd, &st) != 0) {
			*errstr = "cannot open a stream file";
			rc = errno_to_pb(errno);
			goto done;
		}
		have[i] = st.st_size;
	}
	/* Walk the timing file up to the resume point, counting the bytes each stream holds. */
	int tdup = dup(w->timing.fd);
	if (tdup < 0 || lseek(tdup, 0, SEEK_SET) != 0 || (tf = fdopen(tdup, "r")) == NULL) {
		if (tdup >= 0)
			close(tdup);
		*errstr = "cannot read the timing file";
		rc = PB_ERR_IO;
		goto done;
	}
	struct timespec cum = {0, 0};
	off_t keep_timing = 0, used[IOLOG_NSTREAMS] = {0};
	bool found = resume.tv_sec == 0 && resume.tv_nsec == 0;
	ssize_t got;
	while ((got = getline(&line, &cap, tf)) > 0) {
		struct iolog_rec rec;
		const char *perr;
		if (line[got - 1] != '\n')
			break;
		if (iolog_parse_timing(line, (size_t)got - 1, &rec, &perr) < 0)
			break;
		struct timespec next = ts_add(cum, rec.delay);
		if (ts_cmp(next, resume) > 0)
			break;
		int s = rec.type == IOLOG_TTYOUT_187 ? IOLOG_TTYOUT : rec.type;
		if (s < IOLOG_NSTREAMS) {
			if (used[s] + (off_t)rec.len > have[s])
				break; /* data never reached the disk: not part of the log */
			used[s] += (off_t)rec.len;
		}
		cum = next;
		keep_timing += got;
		if (ts_cmp(cum, resume) == 0)
			found = true;
	}
	if (!found || ts_cmp(cum, resume) != 0) {
		*errstr = "resume point is not a commit point of this log";
		rc = PB_ERR_PROTO;
		goto done;
	}
	if (ftruncate(w->timing.fd, keep_timing) != 0) {
		rc = errno_to_pb(errno);
		*errstr = "cannot truncate the timing file";
		goto done;
	}
	w->timing.size = keep_timing;
	for (int i = 0; i < IOLOG_NSTREAMS; i++) {
		if (used[i] != have[i] && ftruncate(w->stream[i].fd, used[i]) != 0) {
			rc = errno_to_pb(errno);
			*errstr = "cannot truncate a stream file";
			goto done;
		}
		w->stream[i].size = used[i];
		if (fsync(w->stream[i].fd) != 0) {
			rc = errno_to_pb(errno);
			*errstr = "fsync failed";
			goto done;
		}
	}
	if (fsync(w->timing.fd) != 0) {
		rc = errno_to_pb(errno);
		*errstr = "fsync failed";
		goto done;
	}
	w->elapsed = w->flushed_elapsed = w->safe = cum;
	*out = w;
	w = NULL;
	rc = 0;
done:
	if (tf != NULL)
		fclose(tf);
	free(line);
	wclose(w);
	return rc;
}

static int sudo_write(struct iolog_w *w, const struct iolog_rec *rec, const void *data)
{
	char line[96];
	size_t ll = iolog_format_timing(rec, line, sizeof(line));
	int rc;
	if (ll == 0)
		return PB_ERR_INVAL;
	int s = rec->type == IOLOG_TTYOUT_187 ? IOLOG_TTYOUT : rec->type;
	if (s < IOLOG_NSTREAMS && rec->len > 0) {
		rc = obuf_put(&w->stream[s], data, rec->len, STREAM_BUF);
		if (rc < 0)
			return rc;
		w->bytes += rec->len;
	}
	if (w->timing.buf != NULL && ll > w->timing.cap - w->timing.len) {
		/* The timing buffer is full: data first, then timing (see the top of this file). */
		rc = flush_all(w);
		if (rc < 0)
			return rc;
	}
	rc = obuf_put(&w->timing, line, ll, TIMING_BUF);
	if (rc < 0)
		return rc;
	bool positive = rec->delay.tv_sec > 0 || rec->delay.tv_nsec > 0;
	if (positive && w->last_positive)
		w->safe = w->elapsed;
	w->last_positive = positive;
	w->elapsed = ts_add(w->elapsed, rec->delay);
	return 0;
}

/*
 * give_back_buffers: most sessions sit idle between commit points: give the
 * (empty) buffers back, so a thousand quiet sessions do not hold a thousand
 * sets of them. A busy stream gets a new one at its next record.
 */
static void give_back_buffers(struct iolog_w *w)
{
	for (int i = 0; i < IOLOG_NSTREAMS; i++) {
		free(w->stream[i].buf);
		w->stream[i].buf = NULL;
		w->stream[i].cap = 0;
	}
	free(w->timing.buf);
	w->timing.buf = NULL;
	w->timing.cap = 0;
}

static int sudo_commit(struct iolog_w *w, struct timespec *point)
{
	int rc = flush_all(w);
	if (rc < 0)
		return rc;
	for (int i = 0; i < IOLOG_NSTREAMS; i++) {
		if (w->stream[i].dirty) {
			if (fdatasync(w->stream[i].fd) != 0)
				return errno_to_pb(errno);
			w->stream[i].dirty = false;
		}
	}
	if (w->timing.dirty) {
		if (fdatasync(w->timing.fd) != 0)
			return errno_to_pb(errno);
		w->timing.dirty = false;
	}
	give_back_buffers(w);
	/* Every record is on disk now; announce only what a resume cannot misread (see safe). */
	*point = w->safe;
	return 0;
}

static int sudo_commit_begin(struct iolog_w *w, int *fds, size_t *nfds, struct timespec *point)
{
	size_t n = 0;
	int rc = flush_all(w);
	if (rc < 0)
		return rc;
	/* Data files first, the timing file last: the order sudo_commit syncs them in. */
	for (int i = 0; i <= IOLOG_NSTREAMS; i++) {
		struct obuf *b = i < IOLOG_NSTREAMS ? &w->stream[i] : &w->timing;
		if (!b->dirty)
			continue;
		/* A duplicate: the sync may outlive this writer (the connection can close meanwhile). */
		int fd = fcntl(b->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			rc = errno_to_pb(errno);
			while (n > 0)
				close(fds[--n]);
			return rc;
		}
		fds[n++] = fd;
	}
	for (int i = 0; i < IOLOG_NSTREAMS; i++)
		w->stream[i].dirty = false;
	w->timing.dirty = false;
	give_back_buffers(w);
	*nfds = n;
	*point = w->safe;
	return 0;
}

static int sudo_finish(struct iolog_w *w, const char *exit_members)
{
	struct timespec point;
	char *buf = NULL;
	int rc = sudo_commit(w, &point);
	if (rc < 0)
		return rc;
	/* log.json gets the exit members before its closing brace, written to a new file and renamed. */
	int fd = openat(w->dirfd, "log.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || st.st_size > 16 * 1024 * 1024) {
		if (fd >= 0)
			close(fd);
		return PB_ERR_IO;
	}
	size_t extra = exit_members != NULL ? strlen(exit_members) : 0;
	buf = malloc((size_t)st.st_size + extra + 8);
	if (buf == NULL) {
		close(fd);
		return PB_ERR_NOMEM;
	}
	ssize_t n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return PB_ERR_IO;
	}
	size_t len = (size_t)n;
	while (len > 0 && buf[len - 1] != '}')
		len--;
	if (len == 0) {
		free(buf);
		return PB_ERR_IO;
	}
	len--; /* drop the closing brace */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		len--;
	if (extra > 0) {
		buf[len++] = ',';
		buf[len++] = '\n';
		memcpy(buf + len, exit_members, extra);
		len += extra;
	}
	buf[len++] = '\n';
	buf[len++] = '}';
	buf[len++] = '\n';
	buf[len] = '\0';
	struct stat jst;
	mode_t jmode = fstatat(w->dirfd, "log.json", &jst, AT_SYMLINK_NOFOLLOW) == 0 ? (jst.st_mode & 0666) : 0600;
	rc = write_file_at(w->dirfd, "log.json.new", buf, false, jmode, NULL);
	free(buf);
	if (rc < 0)
		return rc;
	if (renameat(w->dirfd, "log.json.new", w->dirfd, "log.json") != 0)
		return errno_to_pb(errno);
	/*
	 * sudo's completion mark: the timing file loses its write bits. The
	 * directory sync makes the new log.json durable; the mode change rides
	 * along in practice, and if a crash loses it the log is complete data
	 * that merely reads as unfinished.
	 */
	struct stat tst;
	if (fstat(w->timing.fd, &tst) != 0 || fchmod(w->timing.fd, tst.st_mode & 0444) != 0 ||
	    fsync(w->dirfd) != 0)
		return errno_to_pb(errno);
	return 0;
}

static struct timespec sudo_elapsed(const struct iolog_w *w)
{
	return w->elapsed;
}

static uint64_t sudo_bytes(const struct iolog_w *w)
{
	return w->bytes;
}

const struct iolog_store_ops iolog_sudo_ops = {
	.name = "sudo",
	.create = sudo_create,
	.create_begin = sudo_create_begin,
	.restart = sudo_restart,
	.write = sudo_write,
	.commit = sudo_commit,
	.commit_begin = sudo_commit_begin,
	.finish = sudo_finish,
	.elapsed = sudo_elapsed,
	.bytes = sudo_bytes,
	.close = wclose,
};
