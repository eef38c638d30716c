/* SPDX-License-Identifier: ISC */
/* The alias table (permanent heap) behind alias/unalias and the lexer's alias substitution. */
#ifndef PBSH_ALIAS_H
#define PBSH_ALIAS_H

#include <stdbool.h>

/*
 * Substitution follows POSIX: a word in command-name position that is an unquoted,
 * valid alias name and not an alias currently being expanded is replaced by the
 * alias's value (re-lexed; reserved words and further aliases recognised in it);
 * when the value ends in a blank, the next word is also checked. The parser does
 * this itself; the back end only maintains the table.
 */

enum {
	ALIAS_TRACKED = 1, /* ksh `alias -t` tracked alias (value is a path) */
	ALIAS_INUSE = 2,   /* being expanded (internal) */
	ALIAS_DEAD = 4,    /* removed while in use; freed when its expansion ends (internal) */
};

struct alias {
	char *name;
	char *value;
	int flags;
	int refs; /* internal: expansions in progress */
};

/* alias_valid_name: true when name may be an alias name (non-empty, no blanks,
 * quotes, metacharacters, `$`, backquote, `/` or `=`). */
bool alias_valid_name(const char *name);

/* alias_set: define or redefine name (both copied). flags: ALIAS_TRACKED or 0.
 * Returns 0, or -1 for an invalid name. */
int alias_set(const char *name, const char *value, int flags);

/* alias_unset: remove name. Returns 0, or -1 when it is not defined. */
int alias_unset(const char *name);

/* alias_clear: remove every alias (unalias -a); with tracked_only, only ALIAS_TRACKED ones. */
void alias_clear(bool tracked_only);

/* alias_lookup: the alias, or NULL. Valid until it is unset/redefined. */
struct alias *alias_lookup(const char *name);

/* alias_foreach: call cb for every alias in name order (the callback must not
 * change the table). */
void alias_foreach(void (*cb)(const struct alias *a, void *ctx), void *ctx);

/* alias_release: internal (input.c): an expansion of a ended. */
void alias_release(struct alias *a);

#endif
