/* SPDX-License-Identifier: ISC */
/* Pathname expansion: walk the directories a pattern names, component by component, with lib/match. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "expand.h"
#include "match.h"
#include "options.h"
#include "shell.h"

/* Copy a pattern component without its escapes (for literal components). */
static void unescape_into(struct strbuf *sb, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n)
			i++;
		sb_putc(sb, s[i]);
	}
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool comp_has_magic(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			i++;
			continue;
		}
		if (s[i] == '*' || s[i] == '?')
			return true;
		/* ksh extended groups @( +( !( (*( and ?( are caught above) */
		if (s[i] == '(' && i > 0 && (s[i - 1] == '@' || s[i - 1] == '+' || s[i - 1] == '!'))
			return true;
		if (s[i] == '[') {
			/* Only a bracket expression with a closing ] is magic. */
			for (size_t j = i + 1; j < n; j++)
				if (s[j] == ']' && j > i + 1 + (s[i + 1] == '!' || s[i + 1] == '^'))
					return true;
		}
	}
	return false;
}

static void glob_rec(struct strbuf *path, const char *rest, struct arglist *out)
{
	while (*rest == '/') {
		sb_putc(path, '/');
		rest++;
	}
	if (*rest == '\0') {
		struct stat st;
		if (stat(sb_str(path), &st) == 0 && S_ISDIR(st.st_mode))
			arglist_add(out, ststrdup(sb_str(path)));
		return;
	}
	const char *slash = rest;
	while (*slash && *slash != '/') {
		if (*slash == '\\' && slash[1])
			slash++;
		slash++;
	}
	size_t clen = (size_t)(slash - rest);
	size_t base = path->len;
	if (!comp_has_magic(rest, clen)) {
		unescape_into(path, rest, clen);
		if (*slash) {
			glob_rec(path, slash, out);
		} else {
			struct stat st;
			if (lstat(sb_str(path), &st) == 0)
				arglist_add(out, ststrdup(sb_str(path)));
		}
		path->len = base;
		return;
	}
	char *comp = ststrndup(rest, clen);
	DIR *d = opendir(base ? sb_str(path) : ".");
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')) && comp[0] != '.')
			continue;
		if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
			continue;
		if (!pb_match(comp, nm, PB_MATCH_PERIOD | PB_MATCH_PATHNAME | PB_MATCH_EXTGLOB))
			continue;
		path->len = base;
		sb_puts(path, nm);
		if (*slash) {
			if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN || de->d_type == DT_LNK)
				glob_rec(path, slash, out);
		} else if (opt[OPT_MARKDIRS] && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) &&
			   is_dir(sb_str(path))) {
			/* set -o markdirs: directories found by a pattern end in '/' */
			arglist_add(out, stprintf("%s/", sb_str(path)));
		} else {
			arglist_add(out, ststrdup(sb_str(path)));
		}
	}
	closedir(d);
	path->len = base;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int glob_expand(const char *pattern, struct arglist *out)
{
	int first = out->n;
	struct strbuf path;
	sb_init(&path);
	glob_rec(&path, pattern, out);
	int n = out->n - first;
	if (n > 1)
		qsort(out->v + first, (size_t)n, sizeof *out->v, cmp_str);
	return n;
}
