/* SPDX-License-Identifier: ISC */
/* The event log: JSON Lines files, one per day (UTC) and size limit, reopened on SIGHUP, fsync'ed in batches. */
#ifndef LOGD_STORE_EVENT_H
#define LOGD_STORE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct evlog;

/*
 * The configured path (logd.eventlog) names either a directory (an existing
 * one, or a path ending in '/') or a file such as /var/log/pbsh/events.jsonl.
 * Either way logd writes one file per UTC day beside or inside it:
 * DIR/PREFIX-YYYYMMDD.jsonl, then PREFIX-YYYYMMDD.1.jsonl, .2 ... once a
 * file reaches max_bytes (0: no size limit), where PREFIX is the file name
 * without ".jsonl" ("events" for a directory). Mode 0600.
 */

/*
 * evlog_split: the directory and prefix a configured path stands for.
 * Returns false when they do not fit the buffers.
 */
bool evlog_split(const char *path, char *dir, size_t dirlen, char *prefix, size_t prefixlen);

/* evlog_open: open (creating) the current file for path. Returns 0 with *out, or PB_ERR_* with *errstr. */
int evlog_open(const char *path, uint64_t max_bytes, struct evlog **out, const char **errstr);

/*
 * evlog_append: write one event (a JSON object without newline; one is
 * added) with a single write(2) so lines never interleave. Switches file at
 * a new day or the size limit. Returns 0, PB_ERR_NOSPC or PB_ERR_IO.
 */
int evlog_append(struct evlog *e, const char *json, size_t len);

/* evlog_sync: fsync the file when something was appended since the last sync; 0 or PB_ERR_*. */
int evlog_sync(struct evlog *e);

/*
 * evlog_sync_begin: for an fsync done elsewhere (a thread): *fd gets a
 * duplicate of the file's descriptor when something was appended since the
 * last sync (the caller fdatasyncs and closes it), or -1 when nothing was;
 * the log counts as synced from here on. Returns 0 or PB_ERR_IO.
 */
int evlog_sync_begin(struct evlog *e, int *fd);

/* evlog_reopen: sync, close and open the current name again (after rotation by SIGHUP); 0 or PB_ERR_*. */
int evlog_reopen(struct evlog *e);

/* evlog_path: the file being written now (owned by e). */
const char *evlog_path(const struct evlog *e);

/* evlog_count: events appended since open. */
uint64_t evlog_count(const struct evlog *e);

/*
 * evlog_where: the place the next event goes at the earliest: the open
 * file's day (yyyymmdd), its .N suffix and its size. An event appended
 * later lies at or after it in evlog_scan's order (a switch of file only
 * moves forward).
 */
void evlog_where(const struct evlog *e, int *day, unsigned *seq, uint64_t *off);

/* One file of an event log: its name, its day (yyyymmdd) and its .N suffix (0: none). */
struct evlog_file {
	char *name;
	int day;
	unsigned seq;
};

/*
 * evlog_files: the files PREFIX-YYYYMMDD[.N].jsonl in the directory dirfd,
 * oldest first: by day, then suffix (a name sort would put .1 first).
 * Returns the array (evlog_files_free) with *n, or NULL with *n = 0 when
 * there are none or the directory cannot be read.
 */
struct evlog_file *evlog_files(int dirfd, const char *prefix, size_t *n);
void evlog_files_free(struct evlog_file *f, size_t n);

/*
 * evlog_scan: every complete line (without its newline) from the place
 * day/seq/off (evlog_where) to the end of the newest file, in order, to
 * cb; a non-zero return from cb stops the scan and is returned. Each file
 * read is fdatasync'ed first, so what the scan sees is durable. Returns 0,
 * cb's value, or PB_ERR_IO / PB_ERR_NOMEM.
 */
int evlog_scan(struct evlog *e, int day, unsigned seq, uint64_t off,
	       int (*cb)(void *arg, const char *line, size_t len), void *arg);

/* evlog_close: sync and release; NULL accepted. */
void evlog_close(struct evlog *e);

#endif
