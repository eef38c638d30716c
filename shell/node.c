/* SPDX-License-Identifier: ISC */
/* Node allocation, deep copy to the permanent heap, free and comparison, generated from node.def. */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "node.h"

static const char *const names[] = {
#define NODE(k, m) [k] = #k,
#define F_NODE(m, f)
#define F_STR(m, f)
#define F_INT(m, f)
#define END(m)
#include "node.def"
#undef NODE
#undef F_NODE
#undef F_STR
#undef F_INT
#undef END
};

static const size_t sizes[] = {
#define NODE(k, m) [k] = sizeof(struct n_##m),
#define F_NODE(m, f)
#define F_STR(m, f)
#define F_INT(m, f)
#define END(m)
#include "node.def"
#undef NODE
#undef F_NODE
#undef F_STR
#undef F_INT
#undef END
};

const char *node_name(enum node_kind kind)
{
	if ((unsigned)kind >= NODE_KIND_COUNT)
		return "?";
	return names[kind];
}

size_t node_size(enum node_kind kind)
{
	if ((unsigned)kind >= NODE_KIND_COUNT)
		return 0;
	return sizes[kind];
}

union node *node_new(enum node_kind kind, int line)
{
	union node *n = stzalloc(sizes[kind]);
	n->kind = kind;
	n->head.line = line;
	return n;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static union node *copy_one(const union node *s)
{
	union node *d = xmalloc(sizes[s->kind]);
	memcpy(d, s, sizes[s->kind]);
	d->head.next = NULL;
	switch (s->kind) {
#define NODE(k, m) case k:
#define F_NODE(m, f) d->m.f = node_copy(s->m.f);
#define F_STR(m, f) d->m.f = dup_or_null(s->m.f);
#define F_INT(m, f)
#define END(m) break;
#include "node.def"
#undef NODE
#undef F_NODE
#undef F_STR
#undef F_INT
#undef END
	default:
		abort();
	}
	return d;
}

union node *node_copy(const union node *n)
{
	union node *first = NULL, **tail = &first;
	/* Iterate over the chain so long lists do not recurse. */
	for (; n != NULL; n = n->head.next) {
		*tail = copy_one(n);
		tail = &(*tail)->head.next;
	}
	return first;
}

void node_free(union node *n)
{
	while (n != NULL) {
		union node *next = n->head.next;
		switch (n->kind) {
#define NODE(k, m) case k:
#define F_NODE(m, f) node_free(n->m.f);
#define F_STR(m, f) free(n->m.f);
#define F_INT(m, f)
#define END(m) break;
#include "node.def"
#undef NODE
#undef F_NODE
#undef F_STR
#undef F_INT
#undef END
		default:
			break;
		}
		free(n);
		n = next;
	}
}

static bool str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool node_equal(const union node *a, const union node *b)
{
	for (; a != NULL && b != NULL; a = a->head.next, b = b->head.next) {
		if (a->kind != b->kind)
			return false;
		switch (a->kind) {
#define NODE(k, m) case k:
#define F_NODE(m, f) if (!node_equal(a->m.f, b->m.f)) return false;
#define F_STR(m, f) if (!str_eq(a->m.f, b->m.f)) return false;
#define F_INT(m, f) if (a->m.f != b->m.f) return false;
#define END(m) break;
#include "node.def"
#undef NODE
#undef F_NODE
#undef F_STR
#undef F_INT
#undef END
		default:
			return false;
		}
	}
	return a == NULL && b == NULL;
}
