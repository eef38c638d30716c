/* SPDX-License-Identifier: ISC */
/* The command history of an interactive shell (commands as typed), its file shared by sessions, and the fc builtin that lists, edits and re-runs it. */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin.h"
#include "eval.h"
#include "shell.h"
#include "var.h"

const char *(*hist_text_hook)(void);
void (*hist_added_hook)(const char *entry);

static char **hist;       /* ring of the newest commands, oldest first */
static int hist_n;        /* entries held */
static int hist_next = 1; /* the number the next command gets */

static int hist_max(void)
{
	const char *s = var_get("HISTSIZE");
	long n = s ? strtol(s, NULL, 10) : 0;
	return n > 0 && n < 100000 ? (int)n : 128;
}

static char *hist_path;   /* the history file once hist_load() ran, else NULL */

/* Keep one entry in memory (dropping the oldest beyond HISTSIZE). */
static void remember(const char *cmd, size_t len)
{
	int max = hist_max();
	while (hist_n >= max && hist_n > 0) {
		free(hist[0]);
		memmove(hist, hist + 1, (size_t)(hist_n - 1) * sizeof *hist);
		hist_n--;
	}
	hist = xrealloc(hist, (size_t)(hist_n + 1) * sizeof *hist);
	hist[hist_n++] = xstrndup(cmd, len);
	hist_next++;
	if (hist_added_hook != NULL)
		hist_added_hook(hist[hist_n - 1]);
}

/*
 * The file holds one entry per line; the further lines of a multi-line command
 * start with a tab (one tab is removed when reading), so the file stays plain
 * text that a person can read and edit.
 */
static char *file_form(const char *cmd, size_t len, size_t *outlen)
{
	char *r = xmalloc(2 * len + 2);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		r[o++] = cmd[i];
		if (cmd[i] == '\n')
			r[o++] = '\t';
	}
	r[o++] = '\n';
	*outlen = o;
	return r;
}

static void write_all(int fd, const char *p, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

/* Append one entry to the file: one write with O_APPEND under an exclusive lock, so sessions never interleave. */
static void append_file(const char *cmd, size_t len)
{
	int fd = open(hist_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	size_t n;
	char *text = file_form(cmd, len, &n);
	if (flock(fd, LOCK_EX) == 0)
		write_all(fd, text, n);
	free(text);
	close(fd);
}

void hist_add(const char *cmd)
{
	/* The lines as typed (with comments and the user's spacing) when the line editor knows them. */
	const char *raw = hist_text_hook != NULL ? hist_text_hook() : NULL;
	if (raw != NULL && *raw != '\0')
		cmd = raw;
	while (*cmd == ' ' || *cmd == '\t' || *cmd == '\n')
		cmd++;
	size_t len = strlen(cmd);
	while (len > 0 && cmd[len - 1] == '\n')
		len--;
	if (len == 0)
		return;
	remember(cmd, len);
	if (hist_path != NULL)
		append_file(cmd, len);
}

int hist_number(void)
{
	return hist_next;
}

/* Read the whole file (fd is locked); malloc'd, NUL-terminated; *n its length. */
static char *slurp(int fd, size_t *n)
{
	struct stat st;
	size_t cap = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	char *buf = xmalloc(cap);
	size_t len = 0;
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = pread(fd, buf + len, cap - len - 1, (off_t)len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*n = len;
	return buf;
}

void hist_load(void)
{
	const char *f = var_get("HISTFILE");
	free(hist_path);
	hist_path = NULL;
	if (f == NULL) {
		const char *home = var_get("HOME");
		if (home == NULL || *home == '\0')
			return;
		hist_path = xasprintf("%s/.sh_history", home);
	} else if (*f == '\0') {
		return; /* HISTFILE= : no file */
	} else {
		hist_path = xstrdup(f);
	}
	int fd = open(hist_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		fd = open(hist_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	/* Exclusive: a file that grew too long is cut back here, with no session appending meanwhile. */
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	size_t len;
	char *buf = slurp(fd, &len);
	/* Entry starts: a line that does not begin with a tab. */
	size_t nent = 0;
	for (size_t i = 0; i < len; i++)
		if ((i == 0 || buf[i - 1] == '\n') && buf[i] != '\t')
			nent++;
	int max = hist_max();
	size_t skip = nent > (size_t)max ? nent - (size_t)max : 0;
	size_t keep_from = 0, seen = 0;
	for (size_t i = 0; i < len; i++) {
		if ((i == 0 || buf[i - 1] == '\n') && buf[i] != '\t') {
			if (seen++ == skip) {
				keep_from = i;
				break;
			}
		}
	}
	if (skip == 0)
		keep_from = 0;
	/* Parse the kept entries: join continuation lines, dropping their tab. */
	struct {
		char *s;
		size_t n, cap;
	} e = {0};
	for (size_t i = keep_from; i <= len; i++) {
		bool end = i == len || (buf[i] == '\n' && (i + 1 >= len || buf[i + 1] != '\t'));
		if (end) {
			if (e.n > 0)
				remember(e.s, e.n);
			e.n = 0;
			if (i < len && buf[i] == '\n')
				continue;
			break;
		}
		if (e.n + 2 > e.cap) {
			e.cap = e.cap ? e.cap * 2 : 256;
			e.s = xrealloc(e.s, e.cap);
		}
		e.s[e.n++] = buf[i];
		if (buf[i] == '\n')
			i++; /* the tab of a continuation line */
	}
	free(e.s);
	/* Twice the size allowed: rewrite in place (not rename: other sessions keep appending to this inode). */
	if (nent > 2 * (size_t)max && ftruncate(fd, 0) == 0)
		write_all(fd, buf + keep_from, len - keep_from); /* the offset is still 0: only pread was used */
	free(buf);
	close(fd);
}

/* Number of the entry at index i. */
static int num_of(int i)
{
	return hist_next - hist_n + i;
}

/*
 * Resolve a first/last operand to an index: a number (negative: back from
 * the fc command itself), or the newest command starting with a string.
 * `self` is the index of the fc command (excluded from string searches).
 */
static int resolve(const char *spec, int self)
{
	char *end;
	long n = strtol(spec, &end, 10);
	if (*spec && *end == '\0') {
		long idx = n < 0 ? self + n : n - num_of(0);
		if (idx < 0)
			idx = 0;
		if (idx > self)
			idx = self;
		if (idx >= hist_n) /* listing passes self = hist_n */
			idx = hist_n - 1;
		return (int)idx;
	}
	for (int i = self - 1; i >= 0; i--)
		if (strncmp(hist[i], spec, strlen(spec)) == 0)
			return i;
	return -1;
}

static int run_text(const char *text, int self)
{
	fprintf(stderr, "%s\n", text);
	/* The command run replaces fc in the history (POSIX). */
	if (self >= 0 && self < hist_n) {
		free(hist[self]);
		hist[self] = xstrdup(text);
	}
	return eval_string(text, NULL, 0);
}

int c_fc(int argc, char **argv)
{
	bool list = false, nonum = false, rev = false, redo = false;
	const char *editor = NULL;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1] && !(argv[i][1] >= '0' && argv[i][1] <= '9'); i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *p = argv[i] + 1; *p; p++) {
			switch (*p) {
			case 'l': list = true; break;
			case 'n': nonum = true; break;
			case 'r': rev = true; break;
			case 's': redo = true; break;
			case 'e':
				editor = p[1] ? p + 1 : argv[++i];
				if (editor == NULL) {
					sh_warnf("fc: -e needs an editor");
					return 2;
				}
				p += strlen(p) - 1;
				if (strcmp(editor, "-") == 0)
					redo = true; /* fc -e - is fc -s */
				break;
			default:
				sh_warnf("fc: -%c: unknown option", *p);
				return 2;
			}
		}
	}
	/* The fc command itself is the newest entry when run interactively. */
	int self = hist_n - 1;
	if (hist_n == 0 || (hist_n == 1 && !list)) {
		sh_warnf("fc: no command in the history");
		return 1;
	}
	if (redo) {
		const char *old = NULL, *new = NULL;
		if (i < argc && strchr(argv[i], '=')) {
			char *eq = strchr(argv[i], '=');
			old = ststrndup(argv[i], (size_t)(eq - argv[i]));
			new = eq + 1;
			i++;
		}
		int k = i < argc ? resolve(argv[i], self) : self - 1;
		if (k < 0 || k >= self) {
			sh_warnf("fc: %s: no such command", i < argc ? argv[i] : "-1");
			return 1;
		}
		const char *cmd = hist[k];
		if (old && *old) {
			const char *at = strstr(cmd, old);
			if (at)
				cmd = stprintf("%.*s%s%s", (int)(at - cmd), cmd, new, at + strlen(old));
		}
		return run_text(ststrdup(cmd), self);
	}
	int first, last;
	if (i < argc) {
		first = resolve(argv[i], list ? hist_n : self);
		last = i + 1 < argc ? resolve(argv[i + 1], list ? hist_n : self) : (list ? self : first);
	} else if (list) {
		last = self;
		first = last - 15 < 0 ? 0 : last - 15;
	} else {
		first = last = self - 1;
	}
	if (first < 0 || last < 0) {
		sh_warnf("fc: history specification out of range");
		return 1;
	}
	if (first > last) {
		int t = first;
		first = last;
		last = t;
		rev = !rev;
	}
	if (list) {
		for (int k = 0; k <= last - first; k++) {
			int idx = rev ? last - k : first + k;
			if (!nonum)
				out_printf("%d", num_of(idx));
			/* The further lines of a multi-line command are indented like the first. */
			for (const char *l = hist[idx], *nl; l; l = nl ? nl + 1 : NULL) {
				nl = strchr(l, '\n');
				out_printf("\t%.*s\n", nl ? (int)(nl - l) : (int)strlen(l), l);
			}
		}
		return 0;
	}
	/* Edit: the commands go to a file, the editor runs, the file's text is run. */
	if (editor == NULL) {
		editor = var_get("FCEDIT");
		if (editor == NULL || *editor == '\0')
			editor = "ed";
	}
	const char *tmp = var_get("TMPDIR");
	char *path = stprintf("%s/pbshfcXXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		sh_warnf("fc: %s", strerror(errno));
		return 1;
	}
	FILE *f = fdopen(fd, "w");
	for (int k = 0; k <= last - first; k++)
		fprintf(f, "%s\n", hist[rev ? last - k : first + k]);
	fclose(f);
	int st = eval_string(stprintf("%s %s", editor, path), NULL, 0);
	if (st != 0) {
		unlink(path);
		return st;
	}
	f = fopen(path, "r");
	unlink(path);
	if (f == NULL) {
		sh_warnf("fc: %s", strerror(errno));
		return 1;
	}
	struct strbuf sb;
	sb_init(&sb);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sb_putn(&sb, buf, n);
	fclose(f);
	return run_text(sb_str(&sb), self);
}
