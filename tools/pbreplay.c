/* SPDX-License-Identifier: ISC */
/* pbreplay: replay a sudo-format I/O log with its timing, or list stored sessions with filters. */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "timearg.h"
#include "conf.h"
#include "err.h"
#include "iolog.h"
#include "json.h"
#include "match.h"


static void usage(FILE *f)
{
	fprintf(f,
		"usage: pbreplay [-n] [-C config] [-d dir] [-f filter] [-m max_wait] [-o offset] [-s speed] ID[@offset]\n"
		"       pbreplay [-C config] [-d dir] -l [key=pattern ...]\n"
		"  -C config  settings file whose logd.iolog_dir is the default of -d (default %s)\n"
		"  -d dir     I/O log root\n"
		"  -f filter  streams to show: ttyout,stdout,stderr (default), ttyin, stdin\n"
		"  -m secs    longest pause between records (0: none)\n"
		"  -n         non-interactive: write the output at once, without pauses\n"
		"  -o secs    start at this offset; earlier output is written without pauses\n"
		"  -s factor  speed factor (2 = twice as fast)\n"
		"  -l         list sessions; keys: user host runuser command tty id from to complete\n",
		pb_conf_default_path());
}

static bool parse_secs(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0)
		return false;
	*out = v;
	return true;
}

static void sleep_secs(double s)
{
	if (s <= 0)
		return;
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* ---- replay ---- */

struct replay_opts {
	double speed, max_wait, offset;
	bool nonint;
	bool show[IOLOG_NSTREAMS];
};

static bool parse_filter(const char *s, bool show[IOLOG_NSTREAMS])
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	memset(show, 0, sizeof(bool) * IOLOG_NSTREAMS);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		int i;
		for (i = 0; i < IOLOG_NSTREAMS; i++)
			if (strcmp(t, iolog_stream_name(i)) == 0)
				break;
		if (i == IOLOG_NSTREAMS)
			return false;
		show[i] = true;
	}
	return true;
}

static int replay(const char *path, const struct replay_opts *o)
{
	struct iolog_reader *r;
	const char *errstr = NULL;
	int rc = iolog_reader_open(path, &r, &errstr);
	if (rc < 0) {
		fprintf(stderr, "pbreplay: %s: %s\n", path, errstr);
		return 1;
	}
	struct iolog_rec rec;
	unsigned lineno = 0;
	double elapsed = 0, pending = 0;
	size_t cap = 65536;
	char *buf = malloc(cap);
	int status = 0;
	if (buf == NULL) {
		iolog_reader_close(r);
		return 1;
	}
	while ((rc = iolog_reader_next(r, &rec, &errstr, &lineno)) == 1) {
		double d = (double)rec.delay.tv_sec + (double)rec.delay.tv_nsec / 1e9;
		elapsed += d;
		pending += d;
		if (iolog_stream_name(rec.type) == NULL)
			continue; /* window changes and suspends carry no output here */
		int s = rec.type == IOLOG_TTYOUT_187 ? IOLOG_TTYOUT : rec.type;
		if (!o->show[s]) {
			if (iolog_reader_skip(r, &rec) < 0) {
				fprintf(stderr, "pbreplay: %s: read error\n", path);
				status = 1;
				break;
			}
			continue;
		}
		if (rec.len > cap) {
			char *nb = realloc(buf, rec.len);
			if (nb == NULL) {
				status = 1;
				break;
			}
			buf = nb;
			cap = rec.len;
		}
		ssize_t got = iolog_reader_data(r, &rec, buf);
		if (got < 0) {
			fprintf(stderr, "pbreplay: %s: read error\n", path);
			status = 1;
			break;
		}
		/* The pause before this output: scaled, capped, skipped before the start offset and in a dump. */
		if (!o->nonint && elapsed > o->offset) {
			double w = pending / o->speed;
			if (o->max_wait >= 0 && w > o->max_wait)
				w = o->max_wait;
			fflush(stdout);
			sleep_secs(w);
		}
		pending = 0;
		if (write_all(STDOUT_FILENO, buf, (size_t)got) < 0) {
			status = 1;
			break;
		}
		if ((size_t)got < rec.len) {
			fprintf(stderr, "pbreplay: %s: %s is shorter than its timing file says\n", path,
				iolog_stream_name(rec.type));
			status = 1;
			break;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "pbreplay: %s/timing:%u: %s\n", path, lineno, errstr);
		status = 1;
	}
	free(buf);
	iolog_reader_close(r);
	return status;
}

/* ---- list ---- */

struct session {
	char *id;
	char *user, *host, *runuser, *command, *tty;
	int64_t when;
	bool complete;
};

static struct session *sessions;
static size_t nsessions, capsessions;
static const char *list_root;

static char *read_small(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	size_t n = fread(buf, 1, max, f);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static char *dupstr(const char *s)
{
	return strdup(s != NULL ? s : "");
}

/* load_session: read log.json (or the older "log" file) of one I/O log directory. */
static bool load_session(const char *dir, struct session *s)
{
	char path[PATH_MAX];
	size_t len;
	memset(s, 0, sizeof(*s));
	if (snprintf(path, sizeof(path), "%s/log.json", dir) >= (int)sizeof(path))
		return false;
	char *text = read_small(path, 1u << 20, &len);
	if (text != NULL) {
		const char *errstr;
		size_t off;
		struct jval *v = json_parse(text, len, &errstr, &off);
		free(text);
		if (v == NULL)
			return false;
		const struct jval *ts = json_get(v, "timestamp");
		s->when = json_int(ts, "seconds", 0);
		s->user = dupstr(json_str(v, "submituser"));
		s->host = dupstr(json_str(v, "submithost"));
		s->runuser = dupstr(json_str(v, "runuser"));
		s->tty = dupstr(json_str(v, "ttyname"));
		/* The command line: runargv when present, else command. */
		const struct jval *argv = json_get(v, "runargv");
		const char *cmd = json_str(v, "command");
		size_t cl = strlen(cmd != NULL ? cmd : "") + 1;
		if (argv != NULL && argv->type == J_ARR)
			for (size_t i = 1; i < argv->n; i++)
				if (argv->items[i].type == J_STR)
					cl += strlen(argv->items[i].str) + 1;
		s->command = malloc(cl);
		if (s->command != NULL) {
			snprintf(s->command, cl, "%s", cmd != NULL ? cmd : "");
			if (argv != NULL && argv->type == J_ARR)
				for (size_t i = 1; i < argv->n; i++)
					if (argv->items[i].type == J_STR) {
						strcat(s->command, " ");
						strcat(s->command, argv->items[i].str);
					}
		}
		json_free(v);
	} else {
		if (snprintf(path, sizeof(path), "%s/log", dir) >= (int)sizeof(path))
			return false;
		text = read_small(path, 65536, &len);
		if (text == NULL)
			return false;
		/* time:user:runuser:rungroup:tty:lines:cols \n cwd \n command */
		char *l1 = text, *save = NULL;
		char *nl = strchr(l1, '\n');
		char *cmd = NULL;
		if (nl != NULL) {
			*nl = '\0';
			char *l2 = nl + 1;
			char *nl2 = strchr(l2, '\n');
			if (nl2 != NULL) {
				cmd = nl2 + 1;
				cmd[strcspn(cmd, "\n")] = '\0';
			}
		}
		char *f[5] = {0};
		char *p = l1;
		for (int i = 0; i < 5 && p != NULL; i++) {
			f[i] = p;
			p = strchr(p, ':');
			if (p != NULL)
				*p++ = '\0';
		}
		(void)save;
		s->when = f[0] ? strtoll(f[0], NULL, 10) : 0;
		s->user = dupstr(f[1]);
		s->runuser = dupstr(f[2]);
		s->tty = dupstr(f[4]);
		s->host = dupstr("");
		s->command = dupstr(cmd);
		free(text);
	}
	s->complete = iolog_is_complete(dir);
	return s->user != NULL && s->host != NULL && s->runuser != NULL && s->tty != NULL &&
	       s->command != NULL;
}

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type != FTW_F || strcmp(path + strlen(path) - strlen("/timing"), "/timing") != 0)
		return 0;
	if (strlen(path) < strlen("/timing"))
		return 0;
	char dir[PATH_MAX];
	size_t dl = strlen(path) - strlen("/timing");
	if (dl >= sizeof(dir))
		return 0;
	memcpy(dir, path, dl);
	dir[dl] = '\0';
	struct session s;
	if (!load_session(dir, &s))
		return 0;
	size_t rl = strlen(list_root);
	s.id = strdup(dl > rl && strncmp(dir, list_root, rl) == 0 && dir[rl] == '/' ? dir + rl + 1 : dir);
	if (s.id == NULL)
		return 0;
	if (nsessions == capsessions) {
		size_t nc = capsessions ? capsessions * 2 : 64;
		struct session *ns = realloc(sessions, nc * sizeof(*ns));
		if (ns == NULL)
			return 1;
		sessions = ns;
		capsessions = nc;
	}
	sessions[nsessions++] = s;
	return 0;
}

static int cmp_session(const void *a, const void *b)
{
	const struct session *x = a, *y = b;
	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int list(const char *root, int argc, char **argv)
{
	const char *want_user = NULL, *want_host = NULL, *want_run = NULL, *want_cmd = NULL,
		   *want_tty = NULL, *want_id = NULL, *want_complete = NULL;
	int64_t from = INT64_MIN, to = INT64_MAX;
	for (int i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (eq == NULL) {
			fprintf(stderr, "pbreplay: filter \"%s\": expected key=pattern\n", argv[i]);
			return 2;
		}
		*eq = '\0';
		const char *k = argv[i], *v = eq + 1;
		if (strcmp(k, "user") == 0)
			want_user = v;
		else if (strcmp(k, "host") == 0)
			want_host = v;
		else if (strcmp(k, "runuser") == 0)
			want_run = v;
		else if (strcmp(k, "command") == 0)
			want_cmd = v;
		else if (strcmp(k, "tty") == 0)
			want_tty = v;
		else if (strcmp(k, "id") == 0)
			want_id = v;
		else if (strcmp(k, "complete") == 0)
			want_complete = v;
		else if (strcmp(k, "from") == 0 || strcmp(k, "to") == 0) {
			if (!tool_parse_time(v, strcmp(k, "from") == 0 ? &from : &to)) {
				fprintf(stderr, "pbreplay: %s=%s: expected YYYY-MM-DD[ HH:MM[:SS]], @epoch or -N[smhd]\n", k, v);
				return 2;
			}
		} else {
			fprintf(stderr, "pbreplay: unknown filter key \"%s\"\n", k);
			return 2;
		}
	}
	list_root = root;
	if (nftw(root, walk_cb, 32, FTW_PHYS) != 0) {
		fprintf(stderr, "pbreplay: %s: %s\n", root, strerror(errno));
		return 1;
	}
	qsort(sessions, nsessions, sizeof(*sessions), cmp_session);
	for (size_t i = 0; i < nsessions; i++) {
		struct session *s = &sessions[i];
		bool ok = (want_user == NULL || pb_match(want_user, s->user, 0)) &&
			  (want_host == NULL || pb_match(want_host, s->host, 0)) &&
			  (want_run == NULL || pb_match(want_run, s->runuser, 0)) &&
			  (want_cmd == NULL || pb_match(want_cmd, s->command, 0)) &&
			  (want_tty == NULL || pb_match(want_tty, s->tty, 0)) &&
			  (want_id == NULL || pb_match(want_id, s->id, 0)) &&
			  (want_complete == NULL || strcmp(want_complete, s->complete ? "yes" : "no") == 0) &&
			  s->when >= from && s->when <= to;
		if (ok) {
			char tbuf[32];
			struct tm tm;
			time_t t = (time_t)s->when;
			localtime_r(&t, &tm);
			strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S", &tm);
			printf("%s  %-10s %-16s %-8s %-12s %-10s %s  %s\n", tbuf, s->user, s->host, s->runuser,
			       s->tty, s->complete ? "complete" : "incomplete", s->id, s->command);
		}
		free(s->id);
		free(s->user);
		free(s->host);
		free(s->runuser);
		free(s->command);
		free(s->tty);
	}
	free(sessions);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *config = NULL;
	struct replay_opts o = {.speed = 1.0, .max_wait = -1, .offset = 0};
	bool do_list = false;
	int ch;
	o.show[IOLOG_TTYOUT] = o.show[IOLOG_STDOUT] = o.show[IOLOG_STDERR] = true;
	static const struct option longopts[] = {
		{"directory", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'C'},
		{"filter", required_argument, NULL, 'f'},
		{"list", no_argument, NULL, 'l'},
		{"max-wait", required_argument, NULL, 'm'},
		{"non-interactive", no_argument, NULL, 'n'},
		{"offset", required_argument, NULL, 'o'},
		{"speed", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	while ((ch = getopt_long(argc, argv, "+C:d:f:lm:no:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'C':
			config = optarg;
			break;
		case 'f':
			if (!parse_filter(optarg, o.show)) {
				fprintf(stderr, "pbreplay: -f %s: streams are stdin, stdout, stderr, ttyin, ttyout\n", optarg);
				return 2;
			}
			break;
		case 'l':
			do_list = true;
			break;
		case 'm':
			if (!parse_secs(optarg, &o.max_wait)) {
				fprintf(stderr, "pbreplay: -m %s: expected seconds\n", optarg);
				return 2;
			}
			break;
		case 'n':
			o.nonint = true;
			break;
		case 'o':
			if (!parse_secs(optarg, &o.offset)) {
				fprintf(stderr, "pbreplay: -o %s: expected seconds\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (!parse_secs(optarg, &o.speed) || o.speed <= 0) {
				fprintf(stderr, "pbreplay: -s %s: expected a positive factor\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	struct pb_conf *conf = NULL;
	if (dir == NULL) {
		/* The default is where logd stores: logd.iolog_dir of the settings file. */
		struct pb_conf_err err;
		if (pb_conf_load_optional(config, &conf, &err) < 0) {
			fprintf(stderr, "pbreplay: %s\n", err.msg);
			return 2;
		}
		dir = pb_conf_str(conf, "logd.iolog_dir");
	}
	if (do_list) {
		int st = list(dir, argc - optind, argv + optind);
		pb_conf_free(conf);
		return st;
	}
	if (argc - optind != 1) {
		usage(stderr);
		pb_conf_free(conf);
		return 2;
	}
	char id[PATH_MAX];
	snprintf(id, sizeof(id), "%s", argv[optind]);
	char *at = strrchr(id, '@');
	if (at != NULL && strchr(at, '/') == NULL) {
		if (!parse_secs(at + 1, &o.offset)) {
			fprintf(stderr, "pbreplay: %s: bad @offset\n", argv[optind]);
			return 2;
		}
		*at = '\0';
	}
	char path[PATH_MAX];
	int pl = id[0] == '/' ? snprintf(path, sizeof(path), "%s", id)
			      : snprintf(path, sizeof(path), "%s/%s", dir, id);
	if (pl < 0 || pl >= (int)sizeof(path)) {
		fprintf(stderr, "pbreplay: %s: path too long\n", id);
		return 2;
	}
	int st = replay(path, &o);
	pb_conf_free(conf);
	return st;
}
