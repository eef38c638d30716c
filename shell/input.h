/* SPDX-License-Identifier: ISC */
/* Input sources for the lexer: files/fds, strings, an interactive line reader; a stack of them. */
#ifndef PBSH_INPUT_H
#define PBSH_INPUT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Sources form a stack: the script or terminal at the bottom, then `.` files,
 * eval/-c strings, command-substitution text pushed by the shell. The lexer reads the
 * top; when a source pushed by the lexer itself (alias text, look-ahead given back)
 * runs out it is popped automatically; every source pushed through this API must be
 * popped with input_pop() by whoever pushed it (EOF is returned until then).
 *
 * NUL bytes in the input are dropped (shell text is C strings everywhere).
 */

enum {
	INPUT_INTERACTIVE = 1, /* prompt hooks, PS2 continuation; fd sources read a line at a time */
	INPUT_SYNC = 2,        /* fd source shared with commands (script on stdin): never let
	                          the fd's offset run past the last parsed command; seekable
	                          fds are read by blocks and re-positioned at the end of each
	                          parse_command(), others a byte at a time */
};

/*
 * Line reader for the interactive front end (libedit): return the next line,
 * including its '\n' (the last line may lack it), malloc'd (the input layer frees
 * it), or NULL at end of input. `continuation` is 0 when a new command starts (show
 * PS1) and 1 when the parser needs more text for the current command (show PS2).
 */
typedef char *(*input_reader_cb)(void *ctx, int continuation);

/*
 * input_push_fd: read from fd (not closed by input_pop; the caller owns it). name is
 * the name for messages (script path, NULL for the terminal); copied. lineno is the
 * number of the first line (usually 1). flags: INPUT_*.
 */
void input_push_fd(int fd, const char *name, int lineno, int flags);

/*
 * input_push_string: read the NUL-terminated text, which is NOT copied and must stay
 * valid until input_pop(). name (copied, may be NULL) and lineno as above.
 */
void input_push_string(const char *text, const char *name, int lineno);

/* input_push_reader: read lines from cb(ctx, continuation). name, lineno as above. */
void input_push_reader(input_reader_cb cb, void *ctx, const char *name, int lineno, int flags);

/* input_pop: pop the top source pushed by the caller (and any lexer-pushed sources
 * above it). Frees what the input layer allocated for it. */
void input_pop(void);

/* input_depth: number of sources on the stack (0 when empty); the parser and eval
 * use it to pop back to a known depth after an error: input_pop_to(depth). */
int input_depth(void);
void input_pop_to(int depth);

/* input_name: the name of the innermost named source (NULL if none); static until
 * that source is popped. */
const char *input_name(void);

/* input_lineno: the current line of the innermost non-alias source (0 if none). */
int input_lineno(void);

/* input_set_lineno: set it (e.g. LINENO assignment); no-op without a source. */
void input_set_lineno(int lineno);

/* input_interactive: true when the innermost real source has INPUT_INTERACTIVE. */
bool input_interactive(void);

/*
 * input_flush: after a syntax error or interrupt on interactive input, drop the rest
 * of the current line, look-ahead and lexer-pushed sources, so the next
 * parse_command() starts on a fresh line.
 */
void input_flush(void);

/*
 * Hooks set by the back end:
 * input_prompt_hook(level) is called before reading a new line from an interactive
 *   fd source (level 0: PS1, 1: PS2); reader sources get `continuation` instead.
 * input_verbose: when true (set -v), every line read is written to stderr as read.
 */
extern void (*input_prompt_hook)(int level);
extern bool input_verbose;

/* input_intr_hook: called when a read() of input is interrupted by a signal (EINTR),
 * before retrying; it may unwind (SH_INTERRUPT) to abandon the command. */
extern void (*input_intr_hook)(void);

/* ---- used by the lexer/parser ---- */

/* Special values of input_getc() besides bytes 1..255. */
enum {
	INPUT_EOF = -1, /* end of the top source */
	INPUT_EOA = -2, /* end of an alias's text (ends a word; otherwise ignored) */
};

/* True when the alias text whose INPUT_EOA was just returned ended in a blank (the
 * next word is then also checked for aliases). */
extern bool input_eoa_blank;

/* input_getc: next character, INPUT_EOF or INPUT_EOA. */
int input_getc(void);

/* input_ungetc: give back c (a character or INPUT_EOF/EOA); any number may be given
 * back, they come out in reverse order. */
void input_ungetc(int c);

/* input_unread: give back the n characters of s (they come out in order). */
void input_unread(const char *s, size_t n);

/*
 * input_push_alias: read the alias text next (copied), then continue with the
 * current source; the alias is marked in use until its text is consumed.
 */
struct alias;
void input_push_alias(struct alias *a);

/* input_begin_command: the parser starts a new command: next new line gets PS1. */
void input_begin_command(void);
/* input_need_more: the parser is inside a command: next new line gets PS2. */
void input_need_more(void);

/* input_sync: reposition an INPUT_SYNC fd after the text consumed so far (drops
 * buffered look-ahead). parse_command() calls it before returning. */
void input_sync(void);

#endif
