/* SPDX-License-Identifier: ISC */
/* Per-command arena (a chain of blocks used as a stack) and the never-NULL permanent-heap allocators. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"

/* Alignment for any object the shell stores. */
#define ALIGN (sizeof(max_align_t))
#define ALIGN_UP(n) (((n) + ALIGN - 1) & ~(ALIGN - 1))
#define BLOCK_MIN 8192

struct block {
	struct block *prev;
	size_t size; /* usable bytes after the header */
	size_t used;
	max_align_t data[];
};

static struct block *top;   /* current block, NULL before the first allocation */
static struct block *spare; /* one released block kept for reuse */
static size_t held;         /* bytes in blocks on the chain */

_Noreturn void sh_nomem(void)
{
	static const char msg[] = "pbsh: out of memory\n";
	ssize_t r = write(2, msg, sizeof msg - 1);
	(void)r;
	exit(2);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		sh_nomem();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (p == NULL)
		sh_nomem();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		sh_nomem();
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		sh_nomem();
	return s;
}

static struct block *new_block(size_t need)
{
	size_t size = need < BLOCK_MIN ? BLOCK_MIN : ALIGN_UP(need);
	struct block *b;
	if (spare != NULL && spare->size >= size) {
		b = spare;
		spare = NULL;
	} else {
		if (size > SIZE_MAX - sizeof(struct block))
			sh_nomem();
		b = malloc(sizeof(struct block) + size);
		if (b == NULL)
			sh_nomem();
		b->size = size;
	}
	b->used = 0;
	b->prev = top;
	held += b->size;
	top = b;
	return b;
}

void *stalloc(size_t n)
{
	if (n > SIZE_MAX / 2)
		sh_nomem();
	n = ALIGN_UP(n ? n : 1);
	struct block *b = top;
	if (b == NULL || b->size - b->used < n)
		b = new_block(n);
	void *p = (char *)b->data + b->used;
	b->used += n;
	return p;
}

void *stzalloc(size_t n)
{
	void *p = stalloc(n);
	memset(p, 0, n);
	return p;
}

char *ststrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = stalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *ststrdup(const char *s)
{
	return ststrndup(s, strlen(s));
}

char *stprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[256];
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ststrdup("");
	char *p = stalloc((size_t)n + 1);
	if ((size_t)n < sizeof buf) {
		memcpy(p, buf, (size_t)n + 1);
	} else {
		va_start(ap, fmt);
		vsnprintf(p, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	return p;
}

void arena_mark(struct arena_mark *m)
{
	m->block = top;
	m->used = top != NULL ? top->used : 0;
}

static void release(struct block *b)
{
	held -= b->size;
	/* Keep the largest recently released block: loops that reset every iteration
	 * then reuse it instead of calling malloc and free each time. */
	if (spare == NULL || spare->size < b->size) {
		free(spare);
		spare = b;
	} else {
		free(b);
	}
}

void arena_reset(const struct arena_mark *m)
{
	while (top != NULL && top != m->block) {
		struct block *b = top;
		top = b->prev;
		release(b);
	}
	if (top != NULL)
		top->used = m->used;
}

size_t arena_bytes(void)
{
	return held;
}

void sb_init(struct strbuf *sb)
{
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
}

static void sb_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	if (need <= sb->cap)
		return;
	if (need < extra)
		sh_nomem();
	size_t cap = sb->cap ? sb->cap : 32;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			sh_nomem();
		cap *= 2;
	}
	/* When the buffer is the newest allocation of the top block, grow it in place. */
	struct block *b = top;
	if (sb->buf != NULL && b != NULL) {
		char *end = (char *)b->data + b->used;
		if (sb->buf + ALIGN_UP(sb->cap) == end &&
		    (size_t)(sb->buf - (char *)b->data) + ALIGN_UP(cap) <= b->size) {
			b->used = (size_t)(sb->buf - (char *)b->data) + ALIGN_UP(cap);
			sb->cap = cap;
			return;
		}
	}
	char *nb = stalloc(cap);
	if (sb->len)
		memcpy(nb, sb->buf, sb->len);
	sb->buf = nb;
	sb->cap = cap;
}

void sb_putc(struct strbuf *sb, int c)
{
	if (sb->len + 1 >= sb->cap)
		sb_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
}

void sb_putn(struct strbuf *sb, const char *s, size_t n)
{
	if (n == 0)
		return;
	sb_grow(sb, n);
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
}

void sb_puts(struct strbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[256];
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof buf) {
		sb_putn(sb, buf, (size_t)n);
		return;
	}
	sb_grow(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *sb_str(struct strbuf *sb)
{
	sb_grow(sb, 0);
	sb->buf[sb->len] = '\0';
	return sb->buf;
}
