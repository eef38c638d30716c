/* SPDX-License-Identifier: ISC */
/* Print a syntax tree back as shell text (type, functions listing, round-trip tests). */
#ifndef PBSH_TREE_H
#define PBSH_TREE_H

#include <stdio.h>

#include "node.h"

enum {
	TREE_ONELINE = 1, /* separate commands with "; " instead of newlines+indentation
	                     (here-document bodies still need their newlines) */
};

/*
 * tree_text: the command tree n (and its `next` chain, one per line) as shell text
 * that parses back to an equal tree. Compound commands are indented by tabs unless
 * TREE_ONELINE. Returns a malloc'd string (free it); never NULL.
 */
char *tree_text(const union node *n, int flags);

/* word_text: one NWORD (or a single part) as shell text with its quoting; malloc'd. */
char *word_text(const union node *word);

/* tree_fprint: write tree_text(n, flags) to f. */
void tree_fprint(FILE *f, const union node *n, int flags);

#endif
