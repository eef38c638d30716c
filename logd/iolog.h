/* SPDX-License-Identifier: ISC */
/* sudo's I/O log directory format (sudoers(5) "I/O log format"): timing records, reader, writer behind an ops table. */
#ifndef LOGD_IOLOG_H
#define LOGD_IOLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Record types as numbered in the timing file. */
enum iolog_type {
	IOLOG_STDIN = 0,
	IOLOG_STDOUT = 1,
	IOLOG_STDERR = 2,
	IOLOG_TTYIN = 3,
	IOLOG_TTYOUT = 4,
	IOLOG_WINSIZE = 5,
	IOLOG_TTYOUT_187 = 6,	/* sudo 1.8.7 wrote terminal output with this number */
	IOLOG_SUSPEND = 7,
	IOLOG_NTYPES
};

#define IOLOG_NSTREAMS 5	/* stdin .. ttyout: the types that carry data */
#define IOLOG_SIG_MAX 32
#define IOLOG_ID_MAX 1024
#define IOLOG_SYNC_FDS (IOLOG_NSTREAMS + 1)	/* the files commit_begin may hand out */
#define IOLOG_CREATE_FDS 8	/* the descriptors create_begin may hand out */

/* iolog_stream_name: "stdin", "stdout", "stderr", "ttyin", "ttyout" for 0-4 (and 6 = ttyout), else NULL. */
const char *iolog_stream_name(int type);

/* One timing record. For data records len is the byte count; winsize has rows/cols; suspend has signame. */
struct iolog_rec {
	int type;
	struct timespec delay;
	size_t len;
	int rows, cols;
	char signame[IOLOG_SIG_MAX];
};

/*
 * iolog_parse_timing: parse one timing line (without its newline) of n
 * bytes. Returns 0, or PB_ERR_PROTO with *errstr (static) naming the problem.
 */
int iolog_parse_timing(const char *line, size_t n, struct iolog_rec *rec, const char **errstr);

/* iolog_format_timing: the timing line for rec (with newline) into buf; returns its length or 0 if it did not fit. */
size_t iolog_format_timing(const struct iolog_rec *rec, char *buf, size_t len);

/* timespec helpers: add, compare (-1/0/1), and validity of a delay (0 <= nsec < 1e9, sec >= 0). */
struct timespec ts_add(struct timespec a, struct timespec b);
int ts_cmp(struct timespec a, struct timespec b);
bool ts_valid_delay(int64_t sec, int32_t nsec);

/*
 * iolog_id_valid: true when id is a safe relative log id: non-empty, at most
 * IOLOG_ID_MAX bytes, no leading '/', no empty, "." or ".." component, and only
 * [A-Za-z0-9._+-] between the slashes. Everything that names a directory
 * under the I/O log root goes through this.
 */
bool iolog_id_valid(const char *id);

/* Values substituted in a path template; NULL or "" becomes "unknown". */
struct iolog_vars {
	const char *user, *group, *runuser, *rungroup, *host, *command;
	time_t when;
	uint64_t seq;	/* %{seq}: six base-36 digits as three directories, 00/00/01 */
};

/*
 * iolog_expand_path: expand a path template: %{seq} %{user} %{group} %{runas_user}
 * %{runas_group} %{hostname} %{command} (also %u %g %U %G %h %c), %% and the
 * strftime(3) escapes; a trailing run of six or more X is replaced by random
 * base-36 characters, and a template that lacks one gets "-" and sixteen
 * appended so every id is unguessable. Substituted values cannot add a '/'
 * or a ".." component. Result (a valid relative id) into out. Returns 0 or
 * PB_ERR_INVAL with *errstr.
 */
int iolog_expand_path(const char *tmpl, const struct iolog_vars *v, char *out, size_t outlen,
		      const char **errstr);

/* ---- reader (pbreplay, restart, tests) ---- */

struct iolog_reader;

/*
 * iolog_reader_open: open the log directory dir for reading records in
 * order. Missing stream files read as empty. Returns 0 with *out (free with
 * iolog_reader_close) or PB_ERR_NOTFOUND / PB_ERR_IO with *errstr.
 */
int iolog_reader_open(const char *dir, struct iolog_reader **out, const char **errstr);
/* iolog_reader_close: release; NULL accepted. */
void iolog_reader_close(struct iolog_reader *r);
/*
 * iolog_reader_next: the next record. Returns 1 with *rec, 0 at the end
 * (a final line without newline, as a crash may leave, is ignored), or
 * PB_ERR_PROTO (bad line; *errstr names it, with the line number in *lineno).
 */
int iolog_reader_next(struct iolog_reader *r, struct iolog_rec *rec, const char **errstr,
		      unsigned *lineno);
/*
 * iolog_reader_data: read the data of a data record (rec->len bytes) from
 * its stream into buf (at least rec->len bytes). Returns the bytes read
 * (fewer when the stream file is short) or PB_ERR_IO.
 */
ssize_t iolog_reader_data(struct iolog_reader *r, const struct iolog_rec *rec, void *buf);
/* iolog_reader_skip: skip a data record's bytes without reading them; 0 or PB_ERR_IO. */
int iolog_reader_skip(struct iolog_reader *r, const struct iolog_rec *rec);
/* iolog_reader_feed: parse timing text from memory instead of a file (fuzzing); data reads return 0 bytes. */
int iolog_reader_mem(const char *timing, size_t len, struct iolog_reader **out);

/* iolog_is_complete: true when dir's timing file has no write bits (sudo's completion mark). */
bool iolog_is_complete(const char *dir);

/* ---- writer, behind an ops table so another back end can replace the directory format ---- */

struct iolog_w;

struct iolog_store_ops {
	const char *name;
	/*
	 * create: make root/id (files of mode, owner read/write always;
	 * directories with the matching search bits) with
	 * the given log and log.json texts, all made durable (files and
	 * directories fsync'ed). PB_ERR_EXISTS when id exists already.
	 */
	int (*create)(int rootfd, const char *id, mode_t mode, const char *log_text, const char *log_json,
		      struct iolog_w **out, const char **errstr);
	/*
	 * create_begin: create cut in two for a sync done elsewhere (a
	 * thread), so the loop never waits for the disk: everything create
	 * does, but the descriptors that must be fsync'ed (directories that
	 * got an entry, log, log.json) are duplicated into fds (room for
	 * IOLOG_CREATE_FDS; any beyond are fsync'ed here), for the caller to
	 * fsync and close. The log is durable (its id may be handed out) once
	 * they all are. On failure nothing is left in fds. 0 or PB_ERR_*.
	 */
	int (*create_begin)(int rootfd, const char *id, mode_t mode, const char *log_text,
			    const char *log_json, struct iolog_w **out, int *fds, size_t *nfds,
			    const char **errstr);
	/*
	 * restart: reopen root/id to continue after resume (elapsed time),
	 * which must be the end of a stored record. Records after it are cut
	 * off, data files are truncated to match. The log must have been
	 * created for peer (log.json "pbpeer") and must not be complete.
	 */
	int (*restart)(int rootfd, const char *id, struct timespec resume, const char *peer,
		       struct iolog_w **out, const char **errstr);
	/* write: append one record (data for data records, else NULL); buffered. */
	int (*write)(struct iolog_w *w, const struct iolog_rec *rec, const void *data);
	/*
	 * commit: make everything written so far durable; *point gets the
	 * commit point to announce: the end of the last record with a positive
	 * delay that a record with a positive delay follows (a resuming client
	 * skips every record not past the point, so no zero-delay record may
	 * end at it or follow it unseen).
	 */
	int (*commit)(struct iolog_w *w, struct timespec *point);
	/*
	 * commit_begin: commit cut in two for a sync done elsewhere (a
	 * thread): write everything to the kernel and put in fds (room for
	 * IOLOG_SYNC_FDS) duplicates of the descriptors that must be
	 * fdatasync'ed, data files before timing, then closed by the caller;
	 * *point (as for commit) may be announced once they all are. The
	 * writer may go on or be closed meanwhile. 0 or PB_ERR_*.
	 */
	int (*commit_begin)(struct iolog_w *w, int *fds, size_t *nfds, struct timespec *point);
	/* finish: commit, add exit members (JSON "key": value pairs text) to log.json, mark complete. */
	int (*finish)(struct iolog_w *w, const char *exit_members);
	/* elapsed: the elapsed time after the last record written. */
	struct timespec (*elapsed)(const struct iolog_w *w);
	/* bytes: data bytes written since open (statistics). */
	uint64_t (*bytes)(const struct iolog_w *w);
	/* close: release (without finishing: an unfinished log can be restarted). NULL accepted. */
	void (*close)(struct iolog_w *w);
};

/* The sudo directory format. */
extern const struct iolog_store_ops iolog_sudo_ops;

/* iolog_open_beneath: open root/id as a directory without following symlinks or leaving root; fd or -errno. */
int iolog_open_beneath(int rootfd, const char *id, int flags);

/*
 * iolog_read_json: the start of dirfd's log.json (at most size - 1 bytes, NUL-terminated
 * into buf), opened without following a link. Bytes read, or -1 when it cannot be read or
 * is empty.
 */
ssize_t iolog_read_json(int dirfd, char *buf, size_t size);

#endif
