/* SPDX-License-Identifier: ISC */
/* read: one line (or up to a delimiter) split by IFS into variables; buffered with lseek back on regular files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin.h"
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

static bool is_ifs(const struct line *l, size_t i, const char *ifs)
{
	return !l->esc[i] && l->s[i] != '\0' && strchr(ifs, l->s[i]) != NULL;
}

static bool is_ifs_ws(const struct line *l, size_t i, const char *ifs)
{
	return is_ifs(l, i, ifs) && ifs_white(l->s[i]);
}

/*
 * Read bytes until delim. Returns 0 at the delimiter, 1 at end of file,
 * or 128+n when a trapped signal interrupted the read, -1 on error.
 */
static int read_line(int fd, struct line *l, int delim, bool raw)
{
	struct stat st;
	bool seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	char buf[1024];
	bool esc = false;
	for (;;) {
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

int c_read(int argc, char **argv)
{
	bool raw = false;
	int delim = '\n';
	int fd = 0;
	const char *prompt = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *p = argv[i] + 1; *p; p++) {
			if (*p == 'r')
				raw = true;
			else if (*p == 'd' || *p == 'u' || *p == 'p') {
				const char *val = p[1] ? p + 1 : argv[++i];
				if (val == NULL) {
					sh_warnf("read: -%c: option requires an argument", *p);
					return 2;
				}
				if (*p == 'd')
					delim = (unsigned char)val[0];
				else if (*p == 'u')
					fd = atoi(val);
				else
					prompt = val;
				break;
			} else {
				sh_warnf("read: -%c: unknown option", *p);
				return 2;
			}
		}
	}
	char *def[] = {"REPLY", NULL};
	char **names = i < argc ? argv + i : def;
	int nnames = i < argc ? argc - i : 1;
	for (int k = 0; k < nnames; k++)
		if (!var_valid_name(names[k], (size_t)-1)) {
			sh_warnf("read: %s: bad variable name", names[k]);
			return 2;
		}
	if (prompt && isatty(fd)) {
		fputs(prompt, stderr);
		fflush(stderr);
	}
	struct line l = {0};
	int r = read_line(fd, &l, delim, raw);
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
	for (int k = 0; k < nnames; k++) {
		while (p < l.len && is_ifs_ws(&l, p, ifs))
			p++;
		sb_init(&sb);
		if (k == nnames - 1) {
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
		} else {
			while (p < l.len && !is_ifs(&l, p, ifs))
				sb_putc(&sb, l.s[p++]);
			/* Skip the separator: white space, at most one non-white delimiter, white space. */
			while (p < l.len && is_ifs_ws(&l, p, ifs))
				p++;
			if (p < l.len && is_ifs(&l, p, ifs) && !ifs_white(l.s[p])) {
				p++;
				while (p < l.len && is_ifs_ws(&l, p, ifs))
					p++;
			}
		}
		if (var_set(names[k], sb_str(&sb), V_NOERR) < 0) {
			r = 2;
			break;
		}
	}
	free(l.s);
	free(l.esc);
	return r;
}
