/* SPDX-License-Identifier: ISC */
/* The shell's two lifetimes: a per-command arena (stack allocator) and the permanent heap. */
#ifndef PBSH_ARENA_H
#define PBSH_ARENA_H

#include <stdarg.h>
#include <stddef.h>

/*
 * The arena
 * ---------
 * Parse trees, expanded words and every other per-command temporary live in one
 * stack-like arena. Nothing in it is freed one object at a time: the read-eval loop
 * takes a mark before parsing a command and resets to it after executing it (also
 * after an error unwind), so error paths never have to free anything.
 *
 * Loops and function calls inside one command must not grow the arena without
 * bound: take a mark before each iteration / call and reset to it after, once
 * nothing allocated inside is still referenced (e.g. the loop's word list must be
 * allocated before the mark). Reset keeps one spare block so a loop that resets each
 * iteration does not call malloc/free each time.
 *
 * Allocation never returns NULL: on ENOMEM the shell prints "pbsh: out of memory"
 * and exits with status 2 (an interactive shell cannot do anything useful then).
 */

/* A position in the arena to return to. Opaque: only arena_mark/arena_reset use it. */
struct arena_mark {
	void *block;
	size_t used;
};

/* stalloc: n bytes from the arena, aligned for any type; contents undefined. */
void *stalloc(size_t n);

/* stzalloc: n zeroed bytes from the arena. */
void *stzalloc(size_t n);

/* ststrdup / ststrndup: copies of a string (at most n bytes) in the arena. */
char *ststrdup(const char *s);
char *ststrndup(const char *s, size_t n);

/* stprintf: printf into a new arena string. */
char *stprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* arena_mark: remember the current top of the arena in *m. */
void arena_mark(struct arena_mark *m);

/*
 * arena_reset: free everything allocated since *m was taken (m must be a mark taken
 * earlier and not already reset past). Every pointer into that memory dies.
 */
void arena_reset(const struct arena_mark *m);

/* arena_bytes: bytes currently held by the arena (blocks in use), for tests. */
size_t arena_bytes(void);

/*
 * String builder in the arena: grows by doubling (old copies stay in the arena until
 * the next reset). sb_str() gives the NUL-terminated string, valid until the reset;
 * the builder may keep growing after sb_str() (the pointer then goes stale).
 *   struct strbuf sb; sb_init(&sb); sb_putc(&sb, 'x'); char *s = sb_str(&sb);
 */
struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

void sb_init(struct strbuf *sb);
void sb_putc(struct strbuf *sb, int c);
void sb_putn(struct strbuf *sb, const char *s, size_t n);
void sb_puts(struct strbuf *sb, const char *s);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* sb_str: NUL-terminated contents (never NULL, "" when empty). */
char *sb_str(struct strbuf *sb);

/*
 * Permanent heap: malloc/calloc/realloc/strdup that never return NULL (same ENOMEM
 * behaviour as the arena). Free with free().
 */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* sh_nomem: report ENOMEM and exit(2). Called by the allocators; exported for code
 * that gets NULL from another allocator (e.g. a library). */
_Noreturn void sh_nomem(void);

#endif
