/* SPDX-License-Identifier: ISC */
/* Completion for the interactive shell: which words can finish the word under the cursor (commands, files, $variables). */
#ifndef PB_SH_COMPLETE_H
#define PB_SH_COMPLETE_H

#include <stddef.h>

enum complete_kind {
	COMPLETE_COMMAND,  /* first word of a command: builtins, functions, aliases, keywords, PATH */
	COMPLETE_FILE,     /* any other word, or a command word with a '/' */
	COMPLETE_VARIABLE, /* a word that is `$name` or `${name` at the cursor */
};

/*
 * What complete_line() found. `start` is the offset in the line where the word being
 * completed begins (after a `$` or `${` for a variable); `prefix` the word's text up to
 * the cursor with quoting removed (malloc'd). `v` holds `n` candidates (each malloc'd,
 * sorted, no duplicates), each the whole word; a directory ends in '/'.
 */
struct completion {
	enum complete_kind kind;
	size_t start;
	char *prefix;
	char **v;
	size_t n;
};

/*
 * complete_line: the candidates for the word that ends at `cursor` in `line` (the first
 * `cursor` bytes are looked at). Fills *c (free it with complete_free). Never fails:
 * no candidate gives n == 0.
 */
void complete_line(const char *line, size_t cursor, struct completion *c);

/* complete_common: the length of the longest common prefix of c's candidates (0 if none). */
size_t complete_common(const struct completion *c);

/*
 * complete_quote: text (a candidate's part that is to be inserted) with the
 * characters the shell would treat specially escaped by a backslash; malloc'd.
 */
char *complete_quote(const char *text);

/* complete_free: release what complete_line allocated (c itself is the caller's). */
void complete_free(struct completion *c);

#endif
