/* SPDX-License-Identifier: ISC */
/* Shell pattern matching, shared by the shell (case, globbing, ${x#p}, [[ ]]) and the policy engine. */
#ifndef PB_MATCH_H
#define PB_MATCH_H

#include <stdbool.h>
#include <stddef.h>

enum {
	PB_MATCH_PATHNAME = 1 << 0, /* '/' is matched only by a literal '/' (pathname expansion) */
	PB_MATCH_PERIOD = 1 << 1,   /* a leading '.' is matched only by a literal '.' */
	PB_MATCH_NOESCAPE = 1 << 2, /* backslash is an ordinary character */
	PB_MATCH_EXTGLOB = 1 << 3,  /* ksh @(a|b) *(…) +(…) ?(…) !(…) */
	PB_MATCH_CASEFOLD = 1 << 4, /* ASCII letters match regardless of case */
};

/*
 * pb_match: does the whole of str match pattern? Patterns: '*', '?',
 * bracket expressions with ranges, [:classes:] and '!'/'^' negation, and
 * backslash escapes (a quoted character is literal). A malformed bracket
 * expression ('[' with no closing ']') matches a literal '['.
 */
bool pb_match(const char *pattern, const char *str, int flags);

/* pb_match_n: as pb_match, against the first n bytes of str (no NUL needed). */
bool pb_match_n(const char *pattern, const char *str, size_t n, int flags);

/*
 * pb_match_prefix: length of the shortest (longest=false) or longest
 * prefix of str that matches pattern, or -1 when none does. For ${x#p} and
 * ${x##p}; pb_match_suffix gives the start offset of the shortest/longest
 * matching suffix for ${x%p} and ${x%%p}, or -1.
 */
long pb_match_prefix(const char *pattern, const char *str, bool longest, int flags);
long pb_match_suffix(const char *pattern, const char *str, bool longest, int flags);

/* pb_match_has_magic: does pattern contain an unescaped *, ? or [ (or an extglob group)? */
bool pb_match_has_magic(const char *pattern, int flags);

#endif
