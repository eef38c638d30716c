/* SPDX-License-Identifier: ISC */
/* Internals shared by the two halves of lib/conf (conf_yaml.c and conf.c); not for other modules. */
#ifndef PB_CONF_INT_H
#define PB_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

/* Memory: every node and string of a document (or configuration) lives in one arena. */
#define ARENA_CHUNK 16384u

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

/* Arena allocation; NULL on ENOMEM. Everything is released by conf_arena_free. */
void *conf_arena_zalloc(struct arena *a, size_t n);
char *conf_arena_strdup(struct arena *a, const char *s);
void conf_arena_free(struct arena *a);

/* Set err to "file:line:col: message" (no position when line is 0); returns rc. */
int conf_errat(struct pb_conf_err *err, int rc, const char *file, unsigned line, unsigned col,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Set err to "file:line:col: message" for node n; returns rc. */
int conf_errnode(struct pb_conf_err *err, int rc, const struct pb_yaml_node *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Quote user text for a message, control bytes escaped, cut at about max bytes. */
void conf_quote_text(char *out, size_t outlen, const char *s, size_t len, size_t max, char q);

/* Spelling distance, and whether a typed key is close enough to a known one to suggest it. */
unsigned conf_edit_distance(const char *a, const char *b);
bool conf_close_enough(const char *typed, const char *known);

/* Did this process start with more privilege than its real user (setuid, AT_SECURE)? */
bool conf_started_privileged(const char **why);

/* May ch appear in a host name? */
bool conf_host_char(unsigned char ch);

/* 0 when n is a non-null scalar; otherwise an error naming what was expected. */
int conf_want_scalar(const struct pb_yaml_node *n, const char *what, const char *expected,
		     struct pb_conf_err *err);

#endif
