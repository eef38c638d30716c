/* SPDX-License-Identifier: ISC */
/* The stack of input sources the lexer reads: fds, strings, line readers and alias text. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "alias.h"
#include "arena.h"
#include "input.h"
#include "options.h"
#include "session.h"

enum src_type { SRC_FD, SRC_STRING, SRC_READER, SRC_ALIAS };

#define FD_BUFSIZE 4096

struct source {
	struct source *prev;
	enum src_type type;
	int flags;
	char *name;       /* malloc'd or NULL */
	int lineno;
	const char *buf;  /* current text: fd buffer, string, reader line, alias copy */
	char *own;        /* what we allocated for buf (freed on pop / refill) */
	size_t pos, len;
	size_t cap;       /* fd buffer size */
	int *unget;       /* given-back characters, a stack */
	size_t nunget, capunget;
	int fd;
	bool eof;
	bool eoa_done;    /* alias: INPUT_EOA already returned */
	bool seekable;    /* INPUT_SYNC fd that can be repositioned */
	bool midline;     /* the last character consumed was not a newline */
	input_reader_cb cb;
	void *ctx;
	struct alias *alias;
};

static struct source *top;
static int depth;
static int prompt_level; /* 0: next new line is a new command (PS1), 1: continuation */

void (*input_prompt_hook)(int level);
void (*input_intr_hook)(void);
bool input_verbose;
bool input_eoa_blank;

/* Verbose echo (set -v): characters are collected per line as first consumed. */
static struct {
	char *buf;
	size_t len, cap;
} vline;

static void verbose_flush(void)
{
	size_t off = 0;
	while (off < vline.len) {
		ssize_t w = write(2, vline.buf + off, vline.len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	vline.len = 0;
}

static void verbose_put(int c)
{
	if (vline.len == vline.cap) {
		vline.cap = vline.cap ? vline.cap * 2 : 128;
		vline.buf = xrealloc(vline.buf, vline.cap);
	}
	vline.buf[vline.len++] = (char)c;
	if (c == '\n')
		verbose_flush();
}

static struct source *push(enum src_type type, const char *name, int lineno, int flags)
{
	struct source *s = xcalloc(1, sizeof *s);
	s->type = type;
	s->name = name != NULL ? xstrdup(name) : NULL;
	s->lineno = lineno;
	s->flags = flags;
	s->fd = -1;
	s->prev = top;
	top = s;
	depth++;
	return s;
}

void input_push_fd(int fd, const char *name, int lineno, int flags)
{
	struct source *s = push(SRC_FD, name, lineno, flags);
	s->fd = fd;
	if (flags & INPUT_SYNC)
		s->seekable = lseek(fd, 0, SEEK_CUR) >= 0;
	prompt_level = 0;
}

void input_push_string(const char *text, const char *name, int lineno)
{
	struct source *s = push(SRC_STRING, name, lineno, 0);
	s->buf = text;
	s->len = strlen(text);
}

void input_push_reader(input_reader_cb cb, void *ctx, const char *name, int lineno, int flags)
{
	struct source *s = push(SRC_READER, name, lineno, flags);
	s->cb = cb;
	s->ctx = ctx;
	prompt_level = 0;
}

void input_push_alias(struct alias *a)
{
	struct source *s = push(SRC_ALIAS, NULL, top != NULL ? top->lineno : 0, 0);
	s->own = xstrdup(a->value);
	s->buf = s->own;
	s->len = strlen(s->own);
	s->alias = a;
	a->refs++;
	a->flags |= ALIAS_INUSE;
}

static void pop_one(void)
{
	struct source *s = top;
	if (s == NULL)
		return;
	top = s->prev;
	depth--;
	if (s->alias != NULL)
		alias_release(s->alias);
	free(s->own);
	free(s->unget);
	free(s->name);
	free(s);
}

void input_pop(void)
{
	while (top != NULL && top->type == SRC_ALIAS)
		pop_one();
	if (vline.len)
		verbose_flush();
	pop_one();
}

int input_depth(void)
{
	return depth;
}

void input_pop_to(int d)
{
	while (depth > d && top != NULL)
		pop_one();
}

/* real: the innermost source that is not alias text. */
static struct source *real(void)
{
	struct source *s = top;
	while (s != NULL && s->type == SRC_ALIAS)
		s = s->prev;
	return s;
}

const char *input_name(void)
{
	for (struct source *s = top; s != NULL; s = s->prev) {
		if (s->name != NULL)
			return s->name;
	}
	return NULL;
}

int input_lineno(void)
{
	struct source *s = real();
	return s != NULL ? s->lineno : 0;
}

void input_set_lineno(int lineno)
{
	struct source *s = real();
	if (s != NULL)
		s->lineno = lineno;
}

bool input_interactive(void)
{
	struct source *s = real();
	return s != NULL && (s->flags & INPUT_INTERACTIVE);
}

void input_begin_command(void)
{
	prompt_level = 0;
}

void input_need_more(void)
{
	prompt_level = 1;
}

/* Drop NUL bytes in place; returns the new length. */
static size_t strip_nul(char *p, size_t n)
{
	char *z = memchr(p, '\0', n);
	if (z == NULL)
		return n;
	size_t o = (size_t)(z - p);
	for (size_t i = o; i < n; i++) {
		if (p[i] != '\0')
			p[o++] = p[i];
	}
	return o;
}

/* refill: get more text for an fd or reader source; false at EOF. */
static bool refill(struct source *s)
{
	if (s->eof)
		return false;
	/* Reading input may wait for the user: held FINISH events go first. */
	if (session_nheld)
		session_flush();
	if (s->type == SRC_READER) {
		free(s->own);
		s->own = NULL;
		s->buf = NULL;
		s->pos = s->len = 0;
		for (;;) {
			char *line = s->cb(s->ctx, prompt_level);
			prompt_level = 1;
			if (line == NULL) {
				s->eof = true;
				return false;
			}
			size_t n = strip_nul(line, strlen(line));
			if (n == 0) {
				free(line);
				continue;
			}
			s->own = line;
			s->buf = line;
			s->len = n;
			return true;
		}
	}
	/* SRC_FD */
	if (s->own == NULL) {
		s->cap = FD_BUFSIZE;
		s->own = xmalloc(s->cap);
		s->buf = s->own;
	}
	/* Prompt once per line, even when a shared fd is read a byte at a time. */
	int shown = prompt_level;
	if (!s->midline) {
		if ((s->flags & INPUT_INTERACTIVE) && input_prompt_hook != NULL)
			input_prompt_hook(prompt_level);
		prompt_level = 1;
	}
	size_t want = s->cap;
	/* A shared, unseekable fd: never read past what the parser consumes. */
	if ((s->flags & INPUT_SYNC) && !s->seekable)
		want = 1;
	for (;;) {
		ssize_t r = read(s->fd, s->own, want);
		if (r < 0) {
			if (errno == EINTR) {
				if (input_intr_hook != NULL)
					input_intr_hook();
				continue;
			}
			s->eof = true;
			return false;
		}
		if (r == 0) {
			/* A terminal gives EOF once (^D); let the next command try again. */
			if (!(s->flags & INPUT_INTERACTIVE))
				s->eof = true;
			else if (opt[OPT_IGNOREEOF] && !s->midline && isatty(s->fd)) {
				/* set -o ignoreeof: ^D on an empty line does not end the shell. */
				static const char msg[] = "Use 'exit' to leave the shell.\n";
				if (write(2, msg, sizeof msg - 1) < 0) {
					/* nothing to do: the prompt follows anyway */
				}
				if (input_prompt_hook != NULL)
					input_prompt_hook(shown);
				continue;
			}
			return false;
		}
		size_t n = strip_nul(s->own, (size_t)r);
		if (n == 0)
			continue;
		s->pos = 0;
		s->len = n;
		return true;
	}
}

int input_getc(void)
{
	for (;;) {
		struct source *s = top;
		if (s == NULL)
			return INPUT_EOF;
		if (s->nunget > 0) {
			int c = s->unget[--s->nunget];
			if (c == '\n')
				s->lineno++;
			return c;
		}
		if (s->pos < s->len) {
			int c = (unsigned char)s->buf[s->pos++];
			if (s->type == SRC_STRING && c == '\0')
				continue;
			s->midline = c != '\n';
			if (c == '\n')
				s->lineno++;
			if (input_verbose && (s->type == SRC_FD || s->type == SRC_READER))
				verbose_put(c);
			return c;
		}
		switch (s->type) {
		case SRC_ALIAS:
			if (!s->eoa_done) {
				s->eoa_done = true;
				input_eoa_blank = s->len > 0 &&
				    (s->buf[s->len - 1] == ' ' || s->buf[s->len - 1] == '\t');
				return INPUT_EOA;
			}
			pop_one();
			continue;
		case SRC_STRING:
			return INPUT_EOF;
		case SRC_FD:
		case SRC_READER:
			if (refill(s))
				continue;
			if (vline.len)
				verbose_flush();
			return INPUT_EOF;
		}
	}
}

static void unget_push(struct source *s, int c)
{
	if (s->nunget == s->capunget) {
		s->capunget = s->capunget ? s->capunget * 2 : 16;
		s->unget = xrealloc(s->unget, s->capunget * sizeof *s->unget);
	}
	s->unget[s->nunget++] = c;
	if (c == '\n')
		s->lineno--;
}

void input_ungetc(int c)
{
	if (top == NULL)
		return;
	unget_push(top, c);
}

void input_unread(const char *str, size_t n)
{
	if (top == NULL)
		return;
	while (n-- > 0)
		unget_push(top, (unsigned char)str[n]);
}

void input_flush(void)
{
	while (top != NULL && top->type == SRC_ALIAS)
		pop_one();
	struct source *s = top;
	if (s == NULL)
		return;
	bool had_newline = false;
	for (size_t i = 0; i < s->nunget; i++)
		had_newline |= s->unget[i] == '\n';
	s->nunget = 0;
	if (s->flags & INPUT_INTERACTIVE) {
		/* Drop the rest of the line, also the part not read yet from an fd
		 * that is read a byte at a time. */
		bool nl = had_newline || !s->midline;
		if (had_newline)
			s->lineno++; /* it was counted back when given back */
		while (!nl) {
			while (s->pos < s->len && !nl)
				nl = s->buf[s->pos++] == '\n';
			if (nl)
				s->lineno++;
			else if (s->type != SRC_FD || !refill(s))
				break;
		}
		s->pos = s->len;
		s->midline = false;
	}
	if (vline.len)
		verbose_flush();
	prompt_level = 0;
}

void input_sync(void)
{
	struct source *s = real();
	if (s == NULL || s->type != SRC_FD || !(s->flags & INPUT_SYNC) || !s->seekable)
		return;
	/* Ungotten look-ahead and unread buffer go back to the file. */
	off_t back = (off_t)(s->len - s->pos);
	for (size_t i = 0; i < s->nunget; i++) {
		if (s->unget[i] >= 0)
			back++;
	}
	if (back > 0 && lseek(s->fd, -back, SEEK_CUR) >= 0) {
		s->pos = s->len = 0;
		for (size_t i = 0; i < s->nunget; i++) {
			if (s->unget[i] == '\n')
				s->lineno++; /* refetched from the file, counted again then */
		}
		s->nunget = 0;
		s->eof = false;
	}
}
