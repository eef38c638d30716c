/* SPDX-License-Identifier: ISC */
/* pblog: query logd's JSON Lines event log by time, user, host, command, mode, result, uniqueid and session. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "timearg.h"
#include "conf.h"
#include "err.h"
#include "json.h"
#include "store_event.h"
#include "match.h"


enum outfmt { OUT_TABLE, OUT_JSON, OUT_CSV };

struct filter {
	int64_t since, until;
	const char *user, *host, *command, *mode, *result, *uniqueid, *session;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pblog [-f] [-C config] [-d eventlog] [-o table|json|csv] [-S since] [-U until]\n"
		"             [-u user] [-H host] [-c command] [-m mode] [-r result] [-i uniqueid] [-s session]\n"
		"  -C config    settings file for the default of -d (default %s)\n"
		"  -d eventlog  the event log as logd.eventlog names it (a directory or FILE.jsonl)\n"
		"  -f           follow: print new events as they are written\n"
		"  -o format    table (aligned, default), json (JSON Lines as stored) or csv\n"
		"  -S, -U time  from / until: YYYY-MM-DD[ HH:MM[:SS]], YYYY-MM-DDTHH:MM:SS, @epoch,\n"
		"               or -N[smhd] relative to now (-S -1h)\n"
		"  -u -H -c     submitting user, host, command line: shell patterns\n"
		"  -m mode      pbclientmode pattern (\"shell command\", \"shell start\", ...)\n"
		"  -r result    event kind pattern: accept, reject, exit, finish, alert\n"
		"  -i -s        uniqueid, session (patterns)\n",
		pb_conf_default_path());
}

/* ---- event files, oldest first ---- */

/* list_files: the event log files in dir, oldest first (logd/store_event.c). */
static struct evlog_file *list_files(const char *dir, const char *prefix, size_t *n)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	*n = 0;
	if (fd < 0)
		return NULL;
	struct evlog_file *v = evlog_files(fd, prefix, n);
	close(fd);
	return v;
}

/* ---- one event ---- */

static const char *str_or(const struct jval *v, const char *key, const char *dflt)
{
	const char *s = json_str(v, key);
	return s != NULL ? s : dflt;
}

/* command_line: "command arg1 arg2" from command and runargv (malloc'd). */
static char *command_line(const struct jval *v)
{
	const char *cmd = str_or(v, "command", "");
	const struct jval *argv = json_get(v, "runargv");
	size_t len = strlen(cmd) + 1;
	if (argv != NULL && argv->type == J_ARR)
		for (size_t i = 1; i < argv->n; i++)
			if (argv->items[i].type == J_STR)
				len += strlen(argv->items[i].str) + 1;
	char *out = malloc(len);
	if (out == NULL)
		return NULL;
	strcpy(out, cmd);
	if (argv != NULL && argv->type == J_ARR)
		for (size_t i = 1; i < argv->n; i++)
			if (argv->items[i].type == J_STR) {
				strcat(out, " ");
				strcat(out, argv->items[i].str);
			}
	return out;
}

static bool pat(const char *want, const char *have)
{
	return want == NULL || pb_match(want, have, 0);
}

static bool matches(const struct filter *f, const struct jval *v, const char *cmdline)
{
	int64_t t = json_int(json_get(v, "server_time"), "seconds", 0);
	return t >= f->since && t <= f->until && pat(f->user, str_or(v, "submituser", "")) &&
	       pat(f->host, str_or(v, "submithost", "")) && pat(f->command, cmdline) &&
	       pat(f->mode, str_or(v, "pbclientmode", "")) && pat(f->result, str_or(v, "event", "")) &&
	       pat(f->uniqueid, str_or(v, "uniqueid", "")) && pat(f->session, str_or(v, "session", ""));
}

/* ---- output ---- */

#define NCOLS 9
static const char *const headers[NCOLS] = {
	"TIME", "EVENT", "USER", "HOST", "RUNUSER", "MODE", "SESSION", "RESULT", "COMMAND",
};

struct row {
	char *col[NCOLS];
};

static struct row *rows;
static size_t nrows, caprows;

/* detail: reject reason, exit status or signal, alert reason. */
static void detail(const struct jval *v, char *buf, size_t len)
{
	const char *ev = str_or(v, "event", "");
	const char *sig = json_str(v, "signal");
	buf[0] = '\0';
	if (strcmp(ev, "reject") == 0 || strcmp(ev, "alert") == 0)
		snprintf(buf, len, "%s", str_or(v, "reason", ""));
	else if (sig != NULL)
		snprintf(buf, len, "signal %s", sig);
	else if (json_get(v, "exit_value") != NULL)
		snprintf(buf, len, "exit %" PRId64, json_int(v, "exit_value", 0));
}

static bool make_row(const struct jval *v, const char *cmdline, struct row *r)
{
	char when[32], det[256];
	int64_t t = json_int(json_get(v, "server_time"), "seconds", 0);
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	detail(v, det, sizeof(det));
	const char *vals[NCOLS] = {
		when, str_or(v, "event", ""), str_or(v, "submituser", ""), str_or(v, "submithost", ""),
		str_or(v, "runuser", ""), str_or(v, "pbclientmode", ""), str_or(v, "session", ""), det, cmdline,
	};
	for (int i = 0; i < NCOLS; i++) {
		/* Control characters would break the table: show them as '?'. */
		r->col[i] = strdup(vals[i]);
		if (r->col[i] == NULL)
			return false;
		for (char *p = r->col[i]; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	}
	return true;
}

static void csv_field(const char *s, bool last)
{
	if (strpbrk(s, ",\"\n\r") != NULL) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

static void print_row(const struct row *r, const int *width)
{
	for (int i = 0; i < NCOLS; i++) {
		if (i == NCOLS - 1)
			printf("%s\n", r->col[i]);
		else
			printf("%-*s  ", width[i], r->col[i]);
	}
}

static void free_row(struct row *r)
{
	for (int i = 0; i < NCOLS; i++)
		free(r->col[i]);
}

/* Widths used while following (rows cannot be measured in advance). */
static const int follow_width[NCOLS] = {19, 6, 10, 16, 8, 14, 16, 12, 0};

/*
 * emit: handle one line of an event file. A line that does not parse (a
 * half-written last line of a crashed writer) is skipped.
 */
static void emit(const char *line, size_t len, const struct filter *f, enum outfmt fmt, bool follow)
{
	const char *errstr;
	size_t off;
	struct jval *v = json_parse(line, len, &errstr, &off);
	if (v == NULL || v->type != J_OBJ) {
		json_free(v);
		return;
	}
	char *cmd = command_line(v);
	if (cmd == NULL || !matches(f, v, cmd))
		goto done;
	if (fmt == OUT_JSON) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
	} else {
		struct row r;
		if (!make_row(v, cmd, &r))
			goto done;
		if (fmt == OUT_CSV) {
			for (int i = 0; i < NCOLS; i++)
				csv_field(r.col[i], i == NCOLS - 1);
			free_row(&r);
		} else if (follow) {
			print_row(&r, follow_width);
			free_row(&r);
		} else {
			if (nrows == caprows) {
				caprows = caprows ? caprows * 2 : 256;
				struct row *nr = realloc(rows, caprows * sizeof(*nr));
				if (nr == NULL) {
					free_row(&r);
					goto done;
				}
				rows = nr;
			}
			rows[nrows++] = r;
		}
	}
	if (follow)
		fflush(stdout);
done:
	free(cmd);
	json_free(v);
}

/* read_lines: every complete line of f from its current position; the offset after the last one is kept. */
static void read_lines(FILE *f, const struct filter *flt, enum outfmt fmt, bool follow)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	for (;;) {
		long pos = ftell(f);
		n = getline(&line, &cap, f);
		if (n <= 0)
			break;
		if (line[n - 1] != '\n') {
			/* Not yet complete: read it again when it is. */
			fseek(f, pos, SEEK_SET);
			break;
		}
		emit(line, (size_t)n - 1, flt, fmt, follow);
	}
	clearerr(f);
	free(line);
}

int main(int argc, char **argv)
{
	const char *evpath = NULL, *config = NULL;
	struct filter flt = {.since = INT64_MIN, .until = INT64_MAX};
	enum outfmt fmt = OUT_TABLE;
	bool follow = false;
	int ch;
	static const struct option longopts[] = {
		{"eventlog", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'C'},
		{"follow", no_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"since", required_argument, NULL, 'S'},
		{"until", required_argument, NULL, 'U'},
		{"user", required_argument, NULL, 'u'},
		{"host", required_argument, NULL, 'H'},
		{"command", required_argument, NULL, 'c'},
		{"mode", required_argument, NULL, 'm'},
		{"result", required_argument, NULL, 'r'},
		{"uniqueid", required_argument, NULL, 'i'},
		{"session", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	while ((ch = getopt_long(argc, argv, "C:d:fo:S:U:u:H:c:m:r:i:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': evpath = optarg; break;
		case 'C': config = optarg; break;
		case 'f': follow = true; break;
		case 'o':
			if (strcmp(optarg, "table") == 0)
				fmt = OUT_TABLE;
			else if (strcmp(optarg, "json") == 0)
				fmt = OUT_JSON;
			else if (strcmp(optarg, "csv") == 0)
				fmt = OUT_CSV;
			else {
				fprintf(stderr, "pblog: -o %s: expected table, json or csv\n", optarg);
				return 2;
			}
			break;
		case 'S':
		case 'U':
			if (!tool_parse_time(optarg, ch == 'S' ? &flt.since : &flt.until)) {
				fprintf(stderr, "pblog: -%c %s: expected YYYY-MM-DD[ HH:MM[:SS]], @epoch or -N[smhd]\n",
					ch, optarg);
				return 2;
			}
			break;
		case 'u': flt.user = optarg; break;
		case 'H': flt.host = optarg; break;
		case 'c': flt.command = optarg; break;
		case 'm': flt.mode = optarg; break;
		case 'r': flt.result = optarg; break;
		case 'i': flt.uniqueid = optarg; break;
		case 's': flt.session = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	struct pb_conf *conf = NULL;
	if (evpath == NULL) {
		/* The default is where logd writes: logd.eventlog of the settings file. */
		struct pb_conf_err err;
		if (pb_conf_load_optional(config, &conf, &err) < 0) {
			fprintf(stderr, "pblog: %s\n", err.msg);
			return 2;
		}
		evpath = pb_conf_str(conf, "logd.eventlog");
	}
	char dir[PATH_MAX], prefix[128];
	struct stat st;
	if (!evlog_split(evpath, dir, sizeof(dir), prefix, sizeof(prefix)) || stat(dir, &st) != 0 ||
	    !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "pblog: %s: no event log there\n", evpath);
		pb_conf_free(conf);
		return 1;
	}
	if (follow && fmt == OUT_TABLE) {
		struct row h;
		for (int i = 0; i < NCOLS; i++)
			h.col[i] = (char *)headers[i];
		print_row(&h, follow_width);
	}
	if (fmt == OUT_CSV) {
		for (int i = 0; i < NCOLS; i++)
			csv_field(headers[i], i == NCOLS - 1);
	}
	size_t nfiles;
	struct evlog_file *files = list_files(dir, prefix, &nfiles);
	FILE *cur = NULL;
	char curname[NAME_MAX + 1] = "";
	for (size_t i = 0; i < nfiles; i++) {
		char path[PATH_MAX];
		FILE *f = NULL;
		if (snprintf(path, sizeof(path), "%s/%s", dir, files[i].name) < (int)sizeof(path))
			f = fopen(path, "r");
		if (f == NULL)
			continue;
		read_lines(f, &flt, fmt, follow);
		if (follow && i == nfiles - 1) {
			cur = f;
			snprintf(curname, sizeof(curname), "%s", files[i].name);
		} else {
			fclose(f);
		}
	}
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].name);
	free(files);
	if (!follow) {
		if (fmt == OUT_TABLE && nrows > 0) {
			int width[NCOLS];
			for (int i = 0; i < NCOLS; i++)
				width[i] = (int)strlen(headers[i]);
			for (size_t r = 0; r < nrows; r++)
				for (int i = 0; i < NCOLS; i++)
					if ((int)strlen(rows[r].col[i]) > width[i])
						width[i] = (int)strlen(rows[r].col[i]);
			struct row h;
			for (int i = 0; i < NCOLS; i++)
				h.col[i] = (char *)headers[i];
			print_row(&h, width);
			for (size_t r = 0; r < nrows; r++) {
				print_row(&rows[r], width);
				free_row(&rows[r]);
			}
		}
		free(rows);
		pb_conf_free(conf);
		return 0;
	}
	/* Follow: poll the newest file; move on when a newer one appears (a new day or the size limit). */
	for (;;) {
		if (cur != NULL)
			read_lines(cur, &flt, fmt, true);
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
		files = list_files(dir, prefix, &nfiles);
		if (nfiles > 0 && strcmp(files[nfiles - 1].name, curname) != 0) {
			/* Finish the old file, then start on the files after it. */
			if (cur != NULL) {
				read_lines(cur, &flt, fmt, true);
				fclose(cur);
				cur = NULL;
			}
			bool after = curname[0] == '\0';
			for (size_t i = 0; i < nfiles; i++) {
				if (!after) {
					if (strcmp(files[i].name, curname) == 0)
						after = true;
					continue;
				}
				char path[PATH_MAX];
				FILE *f = NULL;
				if (snprintf(path, sizeof(path), "%s/%s", dir, files[i].name) < (int)sizeof(path))
					f = fopen(path, "r");
				if (f == NULL)
					continue;
				if (i == nfiles - 1) {
					cur = f;
					snprintf(curname, sizeof(curname), "%s", files[i].name);
				} else {
					read_lines(f, &flt, fmt, true);
					fclose(f);
				}
			}
		}
		for (size_t i = 0; i < nfiles; i++)
			free(files[i].name);
		free(files);
	}
}
