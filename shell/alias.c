/* SPDX-License-Identifier: ISC */
/* The alias table: a sorted array of heap-allocated aliases, looked up by binary search. */
#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "arena.h"

static struct alias **tab;
static size_t count, cap;

bool alias_valid_name(const char *name)
{
	if (name == NULL || *name == '\0')
		return false;
	for (const char *p = name; *p; p++) {
		if (strchr(" \t\n;&|<>()'\"\\`$/=", *p) != NULL)
			return false;
	}
	return true;
}

/* find: index of name, or -(insertion point) - 1. */
static long find(const char *name)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, tab[mid]->name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -(long)lo - 1;
}

static void drop(struct alias *a)
{
	/* An alias whose text is still being read is freed when that ends. */
	if (a->refs > 0) {
		a->flags |= ALIAS_DEAD;
		return;
	}
	free(a->name);
	free(a->value);
	free(a);
}

int alias_set(const char *name, const char *value, int flags)
{
	if (!alias_valid_name(name))
		return -1;
	long i = find(name);
	struct alias *a = xcalloc(1, sizeof *a);
	a->name = xstrdup(name);
	a->value = xstrdup(value);
	a->flags = flags & ALIAS_TRACKED;
	if (i >= 0) {
		drop(tab[i]);
		tab[i] = a;
		return 0;
	}
	size_t at = (size_t)(-i - 1);
	if (count == cap) {
		cap = cap ? cap * 2 : 16;
		tab = xrealloc(tab, cap * sizeof *tab);
	}
	memmove(tab + at + 1, tab + at, (count - at) * sizeof *tab);
	tab[at] = a;
	count++;
	return 0;
}

static void remove_at(size_t i)
{
	drop(tab[i]);
	memmove(tab + i, tab + i + 1, (count - i - 1) * sizeof *tab);
	count--;
}

int alias_unset(const char *name)
{
	long i = find(name);
	if (i < 0)
		return -1;
	remove_at((size_t)i);
	return 0;
}

void alias_clear(bool tracked_only)
{
	size_t i = count;
	while (i-- > 0) {
		if (!tracked_only || (tab[i]->flags & ALIAS_TRACKED))
			remove_at(i);
	}
	if (count == 0) {
		free(tab);
		tab = NULL;
		cap = 0;
	}
}

struct alias *alias_lookup(const char *name)
{
	long i = find(name);
	return i >= 0 ? tab[i] : NULL;
}

void alias_foreach(void (*cb)(const struct alias *a, void *ctx), void *ctx)
{
	for (size_t i = 0; i < count; i++)
		cb(tab[i], ctx);
}

void alias_release(struct alias *a)
{
	if (a->refs > 0)
		a->refs--;
	if (a->refs == 0) {
		a->flags &= ~ALIAS_INUSE;
		if (a->flags & ALIAS_DEAD)
			drop(a);
	}
}
