/* SPDX-License-Identifier: ISC */
/* Completion for the interactive shell: finds the word under the cursor and what can finish it (commands, files, $variables). */
#include "complete.h"

#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alias.h"
#include "arena.h"
#include "builtin.h"
#include "exec.h"
#include "var.h"

/* Words after which the next word names a command again. */
static const char *const keywords[] = {
	"!", "case", "do", "done", "elif", "else", "esac", "fi", "for", "function", "if",
	"in", "select", "then", "time", "until", "while", "{", "}", "[[", "]]",
};
static const char *const cmd_keywords[] = {"!", "do", "elif", "else", "if", "then", "time", "until", "while", "{"};

struct cands {
	char **v;
	size_t n, cap;
	const char *prefix;
	size_t plen;
};

static void add(struct cands *c, const char *s, size_t len, const char *suffix)
{
	if (len < c->plen || strncmp(s, c->prefix, c->plen) != 0)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 32;
		c->v = xrealloc(c->v, c->cap * sizeof *c->v);
	}
	size_t sl = strlen(suffix);
	char *w = xmalloc(len + sl + 1);
	memcpy(w, s, len);
	memcpy(w + len, suffix, sl + 1);
	c->v[c->n++] = w;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates (a command in two PATH folders, a builtin also in PATH). */
static void finish(struct cands *c)
{
	if (c->n == 0)
		return;
	qsort(c->v, c->n, sizeof *c->v, cmp_str);
	size_t o = 1;
	for (size_t i = 1; i < c->n; i++) {
		if (strcmp(c->v[i], c->v[o - 1]) == 0)
			free(c->v[i]);
		else
			c->v[o++] = c->v[i];
	}
	c->n = o;
}

static void builtin_cb(const struct builtin *b, void *ctx)
{
	add(ctx, b->name, strlen(b->name), " ");
}

static void func_cb(struct func *f, void *ctx)
{
	add(ctx, f->name, strlen(f->name), " ");
}

static void alias_cb(const struct alias *a, void *ctx)
{
	add(ctx, a->name, strlen(a->name), " ");
}

static void var_cb(struct var *v, void *ctx)
{
	add(ctx, v->text, v->nlen, "");
}

/* Files in the folder of prefix whose names start with its last component; with exec_only, only programs and folders. */
static void add_files(struct cands *c, const char *prefix, bool exec_only)
{
	const char *slash = strrchr(prefix, '/');
	size_t dlen = slash ? (size_t)(slash - prefix) + 1 : 0;
	const char *base = prefix + dlen;
	size_t blen = strlen(base);
	char *dir;
	if (dlen == 0) {
		dir = xstrdup(".");
	} else if (prefix[0] == '~' && (prefix[1] == '/')) {
		const char *home = var_get("HOME");
		dir = xasprintf("%s%.*s", home ? home : "", (int)(dlen - 1), prefix + 1);
	} else {
		dir = xasprintf("%.*s", (int)dlen, prefix);
	}
	DIR *d = opendir(dir);
	if (d == NULL) {
		free(dir);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *nm = e->d_name;
		if (strncmp(nm, base, blen) != 0)
			continue;
		if (nm[0] == '.' && (base[0] != '.' || strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0))
			continue;
		char *full = xasprintf("%s/%s", dir, nm);
		struct stat st;
		bool isdir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
		bool ok = isdir || !exec_only || access(full, X_OK) == 0;
		free(full);
		if (!ok)
			continue;
		char *w = xasprintf("%.*s%s", (int)dlen, prefix, nm);
		add(c, w, strlen(w), isdir ? "/" : " ");
		free(w);
	}
	closedir(d);
	free(dir);
}

/* Programs called prefix* in the folders of PATH. */
static void add_path(struct cands *c)
{
	const char *path = var_get("PATH");
	if (path == NULL)
		return;
	const char *p = path;
	for (;;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *dir = len ? xasprintf("%.*s", (int)len, p) : xstrdup(".");
		DIR *d = opendir(dir);
		if (d != NULL) {
			struct dirent *e;
			while ((e = readdir(d)) != NULL) {
				if (e->d_name[0] == '.' || strncmp(e->d_name, c->prefix, c->plen) != 0)
					continue;
				char *full = xasprintf("%s/%s", dir, e->d_name);
				struct stat st;
				if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
					add(c, e->d_name, strlen(e->d_name), " ");
				free(full);
			}
			closedir(d);
		}
		free(dir);
		if (end == NULL)
			break;
		p = end + 1;
	}
}

static bool is_sep(int ch)
{
	return ch == ';' || ch == '&' || ch == '|' || ch == '(' || ch == ')' || ch == '<' || ch == '>' || ch == '`';
}

static bool in_list(const char *w, size_t n, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(list[i]) == n && strncmp(list[i], w, n) == 0)
			return true;
	return false;
}

static bool is_assignment(const char *w, size_t n)
{
	const char *eq = memchr(w, '=', n);
	return eq != NULL && eq != w && var_valid_name(w, (size_t)(eq - w));
}

/*
 * Scan the line up to the cursor: where the last word starts, and whether it is in
 * command position (start, after an operator, a command keyword or assignments only).
 */
static size_t scan(const char *line, size_t cursor, bool *cmdpos)
{
	bool sq = false, dq = false, cmd = true;
	size_t start = 0;
	bool inword = false;
	for (size_t i = 0; i < cursor; i++) {
		char ch = line[i];
		if (sq) {
			sq = ch != '\'';
			continue;
		}
		if (ch == '\\' && i + 1 < cursor) {
			if (!inword)
				start = i, inword = true;
			i++;
			continue;
		}
		if (dq) {
			dq = ch != '"';
			continue;
		}
		bool blank = ch == ' ' || ch == '\t' || ch == '\n';
		if (blank || is_sep(ch)) {
			if (inword) {
				/* The word just ended: does the next one still name a command? */
				const char *w = line + start;
				size_t n = i - start;
				cmd = cmd && (in_list(w, n, cmd_keywords, sizeof cmd_keywords / sizeof *cmd_keywords) ||
				              is_assignment(w, n));
				inword = false;
			}
			if (is_sep(ch))
				cmd = !(ch == '<' || ch == '>');
			/* `$(` starts a command too. */
			if (ch == '(' && i > 0 && line[i - 1] == '$')
				cmd = true;
			continue;
		}
		if (!inword)
			start = i, inword = true;
		if (ch == '\'')
			sq = true;
		else if (ch == '"')
			dq = true;
	}
	if (!inword)
		start = cursor;
	*cmdpos = cmd;
	return start;
}

/* The word's text with quotes and backslashes removed (malloc'd). */
static char *unquote(const char *w, size_t n)
{
	char *r = xmalloc(n + 1);
	size_t o = 0;
	bool sq = false, dq = false;
	for (size_t i = 0; i < n; i++) {
		char ch = w[i];
		if (sq) {
			if (ch == '\'')
				sq = false;
			else
				r[o++] = ch;
		} else if (ch == '\\' && i + 1 < n) {
			r[o++] = w[++i];
		} else if (ch == '\'' && !dq) {
			sq = true;
		} else if (ch == '"') {
			dq = !dq;
		} else {
			r[o++] = ch;
		}
	}
	r[o] = '\0';
	return r;
}

void complete_line(const char *line, size_t cursor, struct completion *c)
{
	memset(c, 0, sizeof *c);
	bool cmdpos;
	size_t start = scan(line, cursor, &cmdpos);
	struct cands cs = {0};

	/* `$name` or `${name` right before the cursor: a variable. */
	size_t k = cursor;
	while (k > start && (line[k - 1] == '_' || (line[k - 1] >= 'a' && line[k - 1] <= 'z') ||
	                     (line[k - 1] >= 'A' && line[k - 1] <= 'Z') || (line[k - 1] >= '0' && line[k - 1] <= '9')))
		k--;
	size_t vstart = k;
	if (k > start && line[k - 1] == '{')
		k--;
	if (k > start && line[k - 1] == '$' && (k < 2 || line[k - 2] != '\\')) {
		c->kind = COMPLETE_VARIABLE;
		c->start = vstart;
		c->prefix = xstrndup(line + vstart, cursor - vstart);
		cs.prefix = c->prefix;
		cs.plen = strlen(c->prefix);
		var_foreach(var_cb, &cs);
		finish(&cs);
		c->v = cs.v;
		c->n = cs.n;
		return;
	}

	c->start = start;
	c->prefix = unquote(line + start, cursor - start);
	cs.prefix = c->prefix;
	cs.plen = strlen(c->prefix);
	if (cmdpos && strchr(c->prefix, '/') == NULL) {
		c->kind = COMPLETE_COMMAND;
		builtin_foreach(builtin_cb, &cs);
		func_foreach(func_cb, &cs);
		alias_foreach(alias_cb, &cs);
		for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
			add(&cs, keywords[i], strlen(keywords[i]), " ");
		add_path(&cs);
		/* Nothing by that name: a folder in the current directory may still be meant (cd-less shells, ./x). */
		if (cs.n == 0)
			add_files(&cs, c->prefix, true);
	} else {
		c->kind = COMPLETE_FILE;
		add_files(&cs, c->prefix, cmdpos);
	}
	finish(&cs);
	c->v = cs.v;
	c->n = cs.n;
}

size_t complete_common(const struct completion *c)
{
	if (c->n == 0)
		return 0;
	size_t len = strlen(c->v[0]);
	for (size_t i = 1; i < c->n; i++) {
		size_t j = 0;
		while (j < len && c->v[i][j] == c->v[0][j])
			j++;
		len = j;
	}
	return len;
}

char *complete_quote(const char *text)
{
	size_t n = strlen(text);
	char *r = xmalloc(2 * n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		/* The separator we append after a whole word stays a plain blank. */
		bool last_blank = i == n - 1 && text[i] == ' ';
		if (!last_blank && strchr(" \t\n\\'\"`$&|;<>()*?[]#{}!", text[i]) != NULL)
			r[o++] = '\\';
		r[o++] = text[i];
	}
	r[o] = '\0';
	return r;
}

void complete_free(struct completion *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	free(c->prefix);
	memset(c, 0, sizeof *c);
}
