/* SPDX-License-Identifier: ISC */
/* The command history of an interactive shell (commands as parsed) and the fc builtin that lists, edits and re-runs it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "eval.h"
#include "shell.h"
#include "var.h"

static char **hist;       /* ring of the newest commands, oldest first */
static int hist_n;        /* entries held */
static int hist_next = 1; /* the number the next command gets */

static int hist_max(void)
{
	const char *s = var_get("HISTSIZE");
	long n = s ? strtol(s, NULL, 10) : 0;
	return n > 0 && n < 100000 ? (int)n : 128;
}

void hist_add(const char *cmd)
{
	int max = hist_max();
	size_t len = strlen(cmd);
	while (len > 0 && cmd[len - 1] == '\n')
		len--;
	if (len == 0)
		return;
	while (hist_n >= max && hist_n > 0) {
		free(hist[0]);
		memmove(hist, hist + 1, (size_t)(hist_n - 1) * sizeof *hist);
		hist_n--;
	}
	hist = xrealloc(hist, (size_t)(hist_n + 1) * sizeof *hist);
	hist[hist_n++] = xstrndup(cmd, len);
	hist_next++;
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
			if (nonum)
				out_printf("\t%s\n", hist[idx]);
			else
				out_printf("%d\t%s\n", num_of(idx), hist[idx]);
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
