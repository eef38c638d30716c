/* SPDX-License-Identifier: ISC */
/* read: one line (or up to a delimiter) split by IFS into variables; buffered with lseek back on regular files. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin.h"
#include "exec.h"
#include "expand.h"
#include "session.h"
#include "shell.h"
#include "trap.h"
#include "var.h"

struct line {
	char *s;
	char *esc;  /* esc[i]: s[i] was escaped by a backslash (never a separator) */
	size_t len, cap;
};

static void line_put(struct line *l, char c, bool esc)
{
	if (l->len + 1 >= l->cap) {
		l->cap = l->cap ? l->cap * 2 : 128;
		l->s = xrealloc(l->s, l->cap);
		l->esc = xrealloc(l->esc, l->cap);
	}
	l->s[l->len] = c;
	l->esc[l->len] = esc;
	l->len++;
}

static inline bool is_ifs(const struct line *l, size_t i, const char *ifs)
{
	return !l->esc[i] && l->s[i] != '\0' && strchr(ifs, l->s[i]) != NULL;
}

static inline bool is_ifs_ws(const struct line *l, size_t i, const char *ifs)
{
	return is_ifs(l, i, ifs) && ifs_white(l->s[i]);
}

/*
 * read -t: wait until fd has input. 0 when it has, -1 to try again (EINTR
 * without a trap), else the status: 128+SIGALRM when the time ran out (as
 * mksh, like an alarm that interrupted the read), 128+n for a trapped signal.
 */
static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int pr = poll(&pfd, 1, timeout_ms);
	if (pr < 0 && errno == EINTR)
		return trap_pending ? 128 + trap_lastsig : -1;
	return pr == 0 ? 128 + SIGALRM : 0;
}

/*
 * Read bytes until delim. Returns 0 at the delimiter, 1 at end of file,
 * or 128+n when a trapped signal interrupted the read (or -t timed out:
 * 128+SIGALRM), -1 on error.
 */
static int read_line(int fd, struct line *l, int delim, bool raw, int timeout_ms)
{
	struct stat st;
	bool seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	char buf[1024];
	bool esc = false;
	for (;;) {
		if (timeout_ms >= 0 && !seekable) {
			int w = wait_readable(fd, timeout_ms);
			if (w < 0)
				continue;
			if (w > 0)
				return w;
		}
		ssize_t n = read(fd, buf, seekable ? sizeof buf : 1);
		if (n < 0) {
			if (errno == EINTR) {
				if (trap_pending)
					return 128 + trap_lastsig;
				continue;
			}
			return -1;
		}
		if (n == 0)
			return 1;
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			if (esc) {
				esc = false;
				if (c == '\n')
					continue; /* line continuation */
				line_put(l, c, true);
				continue;
			}
			if (c == '\\' && !raw) {
				esc = true;
				continue;
			}
			if ((unsigned char)c == (unsigned char)delim) {
				/* Give back what we read past the delimiter. */
				if (seekable && i + 1 < n)
					lseek(fd, (off_t)(i + 1 - n), SEEK_CUR);
				return 0;
			}
			line_put(l, c, false);
		}
	}
}

/* The next field of l from *pp (for all but the last variable): up to one separator, which is skipped. */
/* Inlined: it runs for every field of every line read. */
static inline __attribute__((always_inline)) char *next_field(struct line *l, size_t *pp, const char *ifs)
{
	size_t p = *pp;
	struct strbuf sb;
	sb_init(&sb);
	while (p < l->len && !is_ifs(l, p, ifs))
		sb_putc(&sb, l->s[p++]);
	/* Skip the separator: white space, at most one non-white delimiter, white space. */
	while (p < l->len && is_ifs_ws(l, p, ifs))
		p++;
	if (p < l->len && is_ifs(l, p, ifs) && !ifs_white(l->s[p])) {
		p++;
		while (p < l->len && is_ifs_ws(l, p, ifs))
			p++;
	}
	*pp = p;
	return sb_str(&sb);
}

/* read -t: seconds (fractions allowed) to milliseconds; -1 if s is not a number. */
static int parse_timeout(const char *s)
{
	char *end;
	double d = strtod(s, &end);
	if (end == s || *end != '\0' || d < 0 || d > 2000000)
		return -1;
	return (int)(d * 1000 + 0.5);
}

int c_read(int argc, char **argv)
{
	bool raw = false;
	int delim = '\n';
	int fd = 0;
	int timeout_ms = -1;
	const char *prompt = NULL;
	const char *array = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *p = argv[i] + 1; *p; p++) {
			if (*p == 'r') {
				raw = true;
			} else if (*p == 's') {
				/* -s: also to the history; a shell without one just reads */
			} else if (*p == 'p') {
				/* ksh: read from the coprocess */
				if (coproc_rfd < 0) {
					sh_warnf("read: -p: no coprocess");
					return 2;
				}
				fd = coproc_rfd;
			} else if (*p == 'd' || *p == 'u' || *p == 't' || *p == 'A') {
				const char *val = p[1] ? p + 1 : argv[++i];
				if (val == NULL) {
					sh_warnf("read: -%c: option requires an argument", *p);
					return 2;
				}
				if (*p == 'd') {
					delim = (unsigned char)val[0];
				} else if (*p == 'u') {
					fd = atoi(val);
				} else if (*p == 'A') {
					array = val;
				} else if ((timeout_ms = parse_timeout(val)) < 0) {
					sh_warnf("read: -t: %s: bad number", val);
					return 2;
				}
				break;
			} else {
				sh_warnf("read: -%c: unknown option", *p);
				return 2;
			}
		}
	}
	if (session_fd_reserved(fd)) {
		sh_warnf("read: %d: bad file descriptor", fd);
		return 2;
	}
	char *def[] = {"REPLY", NULL};
	char **names = i < argc ? argv + i : def;
	int nnames = i < argc ? argc - i : 1;
	if (array) {
		names = (char **)&array;
		nnames = 1;
	}
	for (int k = 0; k < nnames; k++) {
		if (var_valid_name(names[k], (size_t)-1))
			continue;
		/* ksh: read name?prompt prints the prompt when reading from a terminal. */
		char *qm = k == 0 ? strchr(names[0], '?') : NULL;
		if (qm) {
			prompt = qm + 1;
			names[0] = ststrndup(names[0], (size_t)(qm - names[0]));
		}
		if (qm == NULL || !var_valid_name(names[0], (size_t)-1)) {
			sh_warnf("read: %s: bad variable name", names[k]);
			return 2;
		}
	}
	if (prompt && isatty(fd)) {
		fputs(prompt, stderr);
		fflush(stderr);
	}
	struct line l = {0};
	int r = read_line(fd, &l, delim, raw, timeout_ms);
	if (r > 1 || r < 0) {
		free(l.s);
		free(l.esc);
		if (r < 0) {
			sh_warnf("read: %s", strerror(errno));
			return 2;
		}
		return r;
	}
	line_put(&l, '\0', false);
	l.len--;
	const char *ifs = sh_ifs;
	size_t p = 0;
	struct strbuf sb;
	if (array) {
		/* read -A: every field is an element. */
		struct arglist fields = {0};
		while (p < l.len && is_ifs_ws(&l, p, ifs))
			p++;
		while (p < l.len)
			arglist_add(&fields, next_field(&l, &p, ifs));
		var_set_array(array, fields.v, fields.n, true);
		free(l.s);
		free(l.esc);
		return r;
	}
	for (int k = 0; k < nnames; k++) {
		while (p < l.len && is_ifs_ws(&l, p, ifs))
			p++;
		if (k == nnames - 1) {
			sb_init(&sb);
			size_t end = l.len;
			while (end > p && is_ifs_ws(&l, end - 1, ifs))
				end--;
			/* One field followed by a single delimiter: the delimiter is dropped. */
			if (end > p && is_ifs(&l, end - 1, ifs)) {
				bool more = false;
				for (size_t q = p; q < end - 1; q++)
					if (is_ifs(&l, q, ifs))
						more = true;
				if (!more)
					end--;
			}
			sb_putn(&sb, l.s + p, end - p);
		}
		const char *val = k == nnames - 1 ? sb_str(&sb) : next_field(&l, &p, ifs);
		if (var_set(names[k], val, V_NOERR) < 0) {
			r = 2;
			break;
		}
	}
	free(l.s);
	free(l.esc);
	return r;
}
