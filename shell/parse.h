/* SPDX-License-Identifier: ISC */
/* The parser: shell text from the current input source to a syntax tree (node.h). */
#ifndef PBSH_PARSE_H
#define PBSH_PARSE_H

#include <stdbool.h>

#include "node.h"

/* Recursion limit for nested constructs (commands, words, [[ ]] ); deeper input is a
 * syntax error ("nesting too deep"), never a C stack overflow. */
#define PARSE_MAX_DEPTH 1000

/* flags for parse_command / parse_string */
enum {
	PARSE_INTERACTIVE = 1, /* the caller reads a terminal (informational: prompts and
	                          PS1/PS2 follow the source's INPUT_INTERACTIVE flag) */
	PARSE_NOALIAS = 2,     /* no alias substitution (e.g. an option or posix scripts) */
	PARSE_NOKSH = 4,       /* do not recognise the ksh reserved words function, select,
	                          time, [[ ]] and (( )) (a strictly POSIX mode) */
};

/*
 * parse_command: read one complete command from the current input source (input.h):
 * a list up to an unquoted newline at top level, with all its here-document bodies,
 * and return it as a tree in the per-command arena. Blank lines and comment lines are
 * skipped. Returns NULL at end of input (EOF with no command pending).
 * On a syntax error it prints the message (error.h) and unwinds with SH_ERROR,
 * status 2, after popping any source it pushed itself; for interactive input the
 * caller then calls input_flush() and goes on. At return the INPUT_SYNC fd offset
 * is just after the command.
 * The returned tree: a single command node, an NLIST, NASYNC, NANDOR, ... whatever
 * the line contained. `parse_last_line` is the line where it started.
 */
union node *parse_command(int flags);

/* Line number where the last command returned by parse_command() started. */
extern int parse_last_line;

/*
 * parse_string: parse the whole of text as a program (all its commands) into one tree
 * in the arena: an NLIST of the commands, a single command, or NULL when it has no
 * command. name and lineno are for messages (e.g. the caller's file and line).
 * Errors as for parse_command(). Use it for trap strings, fc, tests; for eval and
 * `.`, which must run each command before parsing the next (aliases defined in
 * them apply to later lines), push the source with input_push_string()/input_push_fd()
 * and loop over parse_command() instead.
 */
union node *parse_string(const char *text, const char *name, int lineno, int flags);

/*
 * parse_word_string: parse text as the contents of a double-quoted string without
 * the quotes (used for PS1/PS2/PS4 expansion): returns an NWORD of parts with
 * parameter, command and arithmetic expansions (flagged as inside double quotes).
 * Errors unwind as above.
 */
union node *parse_word_string(const char *text, const char *name, int lineno);

/* is_name: text is a valid variable name ([A-Za-z_][A-Za-z0-9_]*). */
bool is_name(const char *text);

/* is_reserved_word: text is a shell reserved word (if, then, ..., [[, ]], function). */
bool is_reserved_word(const char *text);

#endif
