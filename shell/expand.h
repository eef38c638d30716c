/* SPDX-License-Identifier: ISC */
/* Word expansion in POSIX order: tilde, parameters, command substitution, arithmetic, field splitting, pathname expansion, quote removal. */
#ifndef PB_SH_EXPAND_H
#define PB_SH_EXPAND_H

#include <stddef.h>

#include "node.h"

/* A growing argument vector in the per-command arena; v is NULL-terminated. */
struct arglist {
	char **v;
	int n, cap;
};

/* arglist_add: append s (not copied) to al. */
void arglist_add(struct arglist *al, char *s);

/*
 * expand_args: fully expand a chain of NWORD (command arguments, for-loop
 * words) into fields appended to out. Strings live in the arena. Errors
 * (${x?}, arithmetic, set -u) unwind through error.h.
 */
void expand_args(union node *words, struct arglist *out);

/*
 * expand_decl_args: as expand_args, for the operands of a declaration
 * utility (export, readonly, local): NAME=value operands expand like
 * assignments (tilde after = and :, no splitting or globbing).
 */
void expand_decl_args(union node *words, struct arglist *out);

/*
 * expand_str: expand one NWORD without field splitting or pathname
 * expansion (assignment values, redirection targets, here-document bodies,
 * case subjects); "$@" is joined with spaces. NULL word gives "". The
 * result is in the arena.
 */
char *expand_str(union node *word);

/*
 * expand_pattern: expand an NWORD into a pattern for lib/match.h: quoted
 * characters are backslash-escaped so they match literally. Arena string.
 */
char *expand_pattern(union node *word);

/* expand_index: expand and evaluate an array subscript word (a[i]=, ${a[i]}, unset a[i]); shell error when out of range. */
long expand_index(union node *idx);

/* expand_regex: expand an NWORD into a POSIX ERE in which quoted characters match literally (arena). */
char *expand_regex(union node *word);

/* tilde_dir: the directory for ~user ("" = $HOME, "+" = $PWD, "-" = $OLDPWD), or NULL if unknown. */
const char *tilde_dir(const char *user);

/* Hook the executor supplies: run tree as a command substitution and return its output (arena, trailing newlines removed). */
char *exec_cmdsub(union node *tree, size_t *lenp);

/* glob_expand (glob.c): append the sorted pathnames that match pattern to out; returns how many matched. */
int glob_expand(const char *pattern, struct arglist *out);

#endif
