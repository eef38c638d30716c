/* SPDX-License-Identifier: ISC */
/* Unit tests of logd's storage: log ids and templates, timing lines, the I/O log writer/reader/restart, the event log, JSON. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "iolog.h"
#include "json.h"
#include "store_event.h"

static char tmpdir[PATH_MAX];
static int rootfd = -1;

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/logd-unit.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	rootfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	cr_assert_geq(rootfd, 0);
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];
	close(rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

Test(iolog, id_valid)
{
	cr_assert(iolog_id_valid("alice/00/00/01-ABC"));
	cr_assert(iolog_id_valid("a"));
	cr_assert_not(iolog_id_valid(""));
	cr_assert_not(iolog_id_valid("/etc/passwd"));
	cr_assert_not(iolog_id_valid("../x"));
	cr_assert_not(iolog_id_valid("a/../b"));
	cr_assert_not(iolog_id_valid("a/./b"));
	cr_assert_not(iolog_id_valid("a//b"));
	cr_assert_not(iolog_id_valid("a/"));
	cr_assert_not(iolog_id_valid("a b"));
	cr_assert_not(iolog_id_valid("a@1"));
	cr_assert_not(iolog_id_valid("a\\b"));
	char big[IOLOG_ID_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_not(iolog_id_valid(big));
}

Test(iolog, expand_path)
{
	char out[IOLOG_ID_MAX + 1], out2[IOLOG_ID_MAX + 1];
	const char *errstr;
	struct iolog_vars v = {.user = "../..", .host = "h/x", .command = "/usr/bin/vim", .seq = 37, .when = 86400};
	cr_assert_eq(iolog_expand_path("%{user}/%{hostname}/%{command}/%{seq}", &v, out, sizeof(out), &errstr), 0);
	/* Values can neither climb out nor add components; a random suffix is appended. */
	cr_assert_eq(strncmp(out, ".._../h_x/vim/00/00/11-", 23), 0, "got %s", out);
	cr_assert_eq(strlen(out), 23 + 16);
	cr_assert(iolog_id_valid(out));
	cr_assert_eq(iolog_expand_path("%{user}/%{hostname}/%{command}/%{seq}", &v, out2, sizeof(out2), &errstr), 0);
	cr_assert_str_neq(out, out2, "ids must be unguessable, got the same twice");
	cr_assert_eq(iolog_expand_path("x/XXXXXXXX", &v, out, sizeof(out), &errstr), 0);
	cr_assert_eq(strlen(out), 10);
	cr_assert_eq(strchr(out + 2, 'X') == NULL || strspn(out + 2, "X") < 8, 1);
	cr_assert_eq(iolog_expand_path("%Y", &v, out, sizeof(out), &errstr), 0);
	cr_assert_eq(strncmp(out, "1970-", 5), 0, "got %s", out);
	cr_assert_lt(iolog_expand_path("%{nope}", &v, out, sizeof(out), &errstr), 0);
	cr_assert_lt(iolog_expand_path("a b", &v, out, sizeof(out), &errstr), 0);
	cr_assert_lt(iolog_expand_path("../%u", &v, out, sizeof(out), &errstr), 0);
}

Test(iolog, timing_lines)
{
	struct iolog_rec r;
	const char *errstr;
	char buf[96];
	cr_assert_eq(iolog_parse_timing("4 0.012345678 42", 16, &r, &errstr), 0);
	cr_assert_eq(r.type, 4);
	cr_assert_eq(r.delay.tv_nsec, 12345678);
	cr_assert_eq(r.len, 42);
	cr_assert_eq(iolog_format_timing(&r, buf, sizeof(buf)), 17);
	cr_assert_str_eq(buf, "4 0.012345678 42\n");
	cr_assert_eq(iolog_parse_timing("1 2.5 3", 7, &r, &errstr), 0);
	cr_assert_eq(r.delay.tv_sec, 2);
	cr_assert_eq(r.delay.tv_nsec, 500000000);
	cr_assert_eq(iolog_parse_timing("5 0.1 24 80", 11, &r, &errstr), 0);
	cr_assert_eq(r.rows, 24);
	cr_assert_eq(r.cols, 80);
	cr_assert_eq(iolog_parse_timing("7 0.1 TSTP", 10, &r, &errstr), 0);
	cr_assert_str_eq(r.signame, "TSTP");
	const char *bad[] = {"", "9 0.1 3", "4", "4 x 3", "4 0.1234567890 3", "4 0.1 -3", "4 0.1 3 4",
			     "5 0.1 24", "7 0.1 tstp", "4 0.1 99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_lt(iolog_parse_timing(bad[i], strlen(bad[i]), &r, &errstr), 0, "accepted '%s'", bad[i]);
}

static void write_recs(struct iolog_w *w, int n)
{
	for (int i = 0; i < n; i++) {
		char data[64];
		struct iolog_rec r = {.type = i % 5, .delay = {0, 1000000 * (i + 1)}};
		r.len = (size_t)snprintf(data, sizeof(data), "record %d\n", i);
		cr_assert_eq(iolog_sudo_ops.write(w, &r, data), 0);
	}
	struct iolog_rec ws = {.type = IOLOG_WINSIZE, .delay = {0, 5}, .rows = 30, .cols = 100};
	cr_assert_eq(iolog_sudo_ops.write(w, &ws, NULL), 0);
}

Test(iolog, write_read_finish, .init = setup, .fini = teardown)
{
	struct iolog_w *w;
	const char *errstr;
	struct timespec point;
	cr_assert_eq(iolog_sudo_ops.create(rootfd, "u/01", 0600, "1:u:root::tty:24:80\n/\n/bin/sh\n",
					   "{\n    \"pbpeer\": \"host1\",\n    \"command\": \"/bin/sh\"\n}\n", &w,
					   &errstr),
		     0);
	cr_assert_eq(iolog_sudo_ops.create(rootfd, "u/01", 0600, "", "{}", &w, &errstr), PB_ERR_EXISTS);
	write_recs(w, 20);
	cr_assert_eq(iolog_sudo_ops.commit(w, &point), 0);
	cr_assert_eq(point.tv_sec, 0);
	/* The last record (a window change) has a delay: the point stops before it. */
	cr_assert_eq(point.tv_nsec, 210000000);
	cr_assert_eq(iolog_sudo_ops.finish(w, "    \"exit_value\": 0"), 0);
	iolog_sudo_ops.close(w);

	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/u/01", tmpdir);
	cr_assert(iolog_is_complete(dir));
	struct iolog_reader *r;
	cr_assert_eq(iolog_reader_open(dir, &r, &errstr), 0);
	struct iolog_rec rec;
	int n = 0;
	while (iolog_reader_next(r, &rec, &errstr, NULL) == 1) {
		if (rec.type == IOLOG_WINSIZE) {
			cr_assert_eq(rec.rows, 30);
			continue;
		}
		char buf[64], want[64];
		cr_assert_eq(iolog_reader_data(r, &rec, buf), (ssize_t)rec.len);
		snprintf(want, sizeof(want), "record %d\n", n);
		cr_assert_eq(memcmp(buf, want, rec.len), 0);
		n++;
	}
	cr_assert_eq(n, 20);
	iolog_reader_close(r);
	/* log.json got the exit members and still parses. */
	char path[PATH_MAX + 32], text[4096];
	snprintf(path, sizeof(path), "%s/log.json", dir);
	FILE *f = fopen(path, "r");
	size_t len = fread(text, 1, sizeof(text), f);
	fclose(f);
	size_t off;
	struct jval *v = json_parse(text, len, &errstr, &off);
	cr_assert_not_null(v, "%s at %zu", errstr, off);
	cr_assert_eq(json_int(v, "exit_value", -1), 0);
	cr_assert_str_eq(json_str(v, "pbpeer"), "host1");
	json_free(v);
	/* A complete log cannot be restarted. */
	cr_assert_lt(iolog_sudo_ops.restart(rootfd, "u/01", point, "host1", &w, &errstr), 0);
}

Test(iolog, restart_truncates, .init = setup, .fini = teardown)
{
	struct iolog_w *w;
	const char *errstr;
	struct timespec point;
	cr_assert_eq(iolog_sudo_ops.create(rootfd, "r", 0600, "x\n", "{\n    \"pbpeer\": \"h1\",\n    \"a\": 1\n}\n",
					   &w, &errstr),
		     0);
	write_recs(w, 10);
	cr_assert_eq(iolog_sudo_ops.commit(w, &point), 0);
	iolog_sudo_ops.close(w);
	/* After 3 records: 1+2+3 ms. */
	struct timespec at = {0, 6000000};
	cr_assert_lt(iolog_sudo_ops.restart(rootfd, "r", at, "h2", &w, &errstr), 0, "other peer allowed");
	struct timespec odd = {0, 6000001};
	cr_assert_lt(iolog_sudo_ops.restart(rootfd, "r", odd, "h1", &w, &errstr), 0, "non-boundary allowed");
	cr_assert_lt(iolog_sudo_ops.restart(rootfd, "../r", at, "h1", &w, &errstr), 0);
	cr_assert_eq(iolog_sudo_ops.restart(rootfd, "r", at, "h1", &w, &errstr), 0, "%s", errstr);
	/* While it is open, nobody else may restart it. */
	struct iolog_w *w2;
	cr_assert_lt(iolog_sudo_ops.restart(rootfd, "r", at, "h1", &w2, &errstr), 0);
	cr_assert_eq(iolog_sudo_ops.elapsed(w).tv_nsec, 6000000);
	iolog_sudo_ops.close(w);
	char path[PATH_MAX + 16];
	struct stat st;
	snprintf(path, sizeof(path), "%s/r/timing", tmpdir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 3 * (long)strlen("0 0.001000000 9\n"));
	snprintf(path, sizeof(path), "%s/r/stdin", tmpdir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, (long)strlen("record 0\n"));
	snprintf(path, sizeof(path), "%s/r/stderr", tmpdir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, (long)strlen("record 2\n"));
	snprintf(path, sizeof(path), "%s/r/ttyin", tmpdir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_size, 0);
}

Test(evlog, append_and_rotate, .init = setup, .fini = teardown)
{
	struct evlog *e;
	const char *errstr;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/ev/events.jsonl", tmpdir);
	mkdir(strcat(strcpy((char[PATH_MAX + 16]){0}, tmpdir), "/ev"), 0700);
	cr_assert_eq(evlog_open(path, 100, &e, &errstr), 0);
	const char *ev = "{\"event\":\"accept\",\"n\":1234567890}";
	for (int i = 0; i < 6; i++)
		cr_assert_eq(evlog_append(e, ev, strlen(ev)), 0);
	cr_assert_eq(evlog_sync(e), 0);
	cr_assert_not_null(strstr(evlog_path(e), "/events-"));
	cr_assert_not_null(strstr(evlog_path(e), ".1.jsonl"), "path %s", evlog_path(e));
	cr_assert_eq(evlog_count(e), 6);
	evlog_close(e);
	char dir[PATH_MAX], prefix[128];
	cr_assert(evlog_split("/var/log/pbsh/events.jsonl", dir, sizeof(dir), prefix, sizeof(prefix)));
	cr_assert_str_eq(dir, "/var/log/pbsh");
	cr_assert_str_eq(prefix, "events");
	cr_assert(evlog_split("/var/log/pbsh/", dir, sizeof(dir), prefix, sizeof(prefix)));
	cr_assert_str_eq(dir, "/var/log/pbsh");
	cr_assert_str_eq(prefix, "events");
	cr_assert(evlog_split("audit", dir, sizeof(dir), prefix, sizeof(prefix)));
	cr_assert_str_eq(dir, ".");
	cr_assert_str_eq(prefix, "audit");
}

struct lines {
	char got[64][16];
	int n;
};

static int collect(void *arg, const char *line, size_t len)
{
	struct lines *l = arg;
	cr_assert_lt(l->n, 64);
	snprintf(l->got[l->n++], sizeof(l->got[0]), "%.*s", (int)len, line);
	return 0;
}

/* A restart of an events-only session reads the event log on from a place: across rotated files, in order. */
Test(evlog, scan_from_a_place, .init = setup, .fini = teardown)
{
	struct evlog *e;
	const char *errstr;
	char path[PATH_MAX + 32], line[64];
	struct lines l = {0};
	int day;
	unsigned seq;
	uint64_t off;
	snprintf(path, sizeof(path), "%s/ev", tmpdir);
	mkdir(path, 0700);
	/* Files that are not this log's, or older than the place, are not read. */
	snprintf(path, sizeof(path), "%s/ev/events-20000101.jsonl", tmpdir);
	FILE *f = fopen(path, "w");
	fputs("old\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ev/other-20991231.jsonl", tmpdir);
	f = fopen(path, "w");
	fputs("other\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/ev/events.jsonl", tmpdir);
	cr_assert_eq(evlog_open(path, 40, &e, &errstr), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(evlog_append(e, "before-xxxxxxxxxxxxxxxxxxxx", 27), 0);
	evlog_where(e, &day, &seq, &off);
	for (int i = 0; i < 30; i++) {
		int n = snprintf(line, sizeof(line), "b%02d-xxxxxxxxxxxxxxxxxxxxxx", i);
		cr_assert_eq(evlog_append(e, line, (size_t)n), 0);
	}
	cr_assert_eq(evlog_scan(e, day, seq, off, collect, &l), 0);
	cr_assert_eq(l.n, 30, "%d lines", l.n);
	for (int i = 0; i < 30; i++) {
		snprintf(line, sizeof(line), "b%02d-", i);
		cr_assert_eq(strncmp(l.got[i], line, 4), 0, "line %d: %s", i, l.got[i]);
	}
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/ev", tmpdir);
	int dfd = open(path, O_RDONLY | O_DIRECTORY);
	struct evlog_file *files = evlog_files(dfd, "events", &n);
	close(dfd);
	cr_assert_geq(n, 12, "rotated into more than ten files (%zu)", n);
	cr_assert_eq(files[0].day, 20000101);
	for (size_t i = 2; i < n; i++)
		cr_assert_eq(files[i].seq, files[i - 1].seq + 1, "numeric order of .N: %s after %s", files[i].name,
			     files[i - 1].name);
	evlog_files_free(files, n);
	evlog_close(e);
}

/* A line a crash cut short is ended when the file is opened again: the next event starts a line of its own. */
Test(evlog, cut_line_ended_on_open, .init = setup, .fini = teardown)
{
	struct evlog *e;
	const char *errstr;
	char dir[PATH_MAX + 32], path[PATH_MAX + 32], buf[128] = {0};
	snprintf(dir, sizeof(dir), "%s/ev/", tmpdir);
	cr_assert_eq(evlog_open(dir, 0, &e, &errstr), 0);
	cr_assert_eq(evlog_append(e, "{\"a\":1}", 7), 0);
	snprintf(path, sizeof(path), "%s", evlog_path(e));
	evlog_close(e);
	int fd = open(path, O_WRONLY | O_APPEND);
	cr_assert_eq(write(fd, "{\"cut", 5), 5);
	close(fd);
	cr_assert_eq(evlog_open(dir, 0, &e, &errstr), 0);
	cr_assert_eq(evlog_append(e, "{\"b\":2}", 7), 0);
	evlog_close(e);
	fd = open(path, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	cr_assert_gt(read(fd, buf, sizeof(buf) - 1), 0);
	close(fd);
	cr_assert_str_eq(buf, "{\"a\":1}\n{\"cut\n{\"b\":2}\n");
}

Test(json, parse_and_pretty)
{
	const char *text = "{\"a\":[1,\"x\\n\\u00e9\\ud83d\\ude00\",true,null],\"b\":{\"c\":-5},\"d\":1.5}";
	const char *errstr;
	size_t off;
	struct jval *v = json_parse(text, strlen(text), &errstr, &off);
	cr_assert_not_null(v);
	const struct jval *a = json_get(v, "a");
	cr_assert_eq(a->n, 4);
	cr_assert_str_eq(a->items[1].str, "x\n\xc3\xa9\xf0\x9f\x98\x80");
	cr_assert_eq(json_int(json_get(v, "b"), "c", 0), -5);
	struct jbuf b = {0};
	jbuf_raw(&b, "{\n", 2);
	json_pretty_members(&b, v);
	jbuf_raw(&b, "\n}\n", 3);
	struct jval *v2 = json_parse(b.s, b.len, &errstr, &off);
	cr_assert_not_null(v2, "pretty output does not parse: %s", b.s);
	cr_assert_not_null(strstr(b.s, "    \"b\": {\n        \"c\": -5\n    }"), "%s", b.s);
	json_free(v2);
	json_free(v);
	jbuf_free(&b);
	const char *bad[] = {"", "{", "{\"a\"}", "[1,]", "\"\\x\"", "01x", "{\"a\":1}x", "\"\x01\""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(json_parse(bad[i], strlen(bad[i]), &errstr, &off), "accepted %s", bad[i]);
	char deep[200];
	memset(deep, '[', sizeof(deep));
	cr_assert_null(json_parse(deep, sizeof(deep), &errstr, &off));
	/* Writer escapes control characters and invalid UTF-8. */
	jbuf_reset(&b);
	jbuf_str(&b, "a\"\\\x01\xff", 5);
	cr_assert_str_eq(b.s, "\"a\\\"\\\\\\u0001\\u00ff\"");
	jbuf_free(&b);
}
