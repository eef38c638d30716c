/* SPDX-License-Identifier: ISC */
/* Shell variables: hashed table, environment cache, special variables, local scopes and positional parameters. */
#include "var.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alias.h"
#include "arith.h"
#include "options.h"
#include "shell.h"

#define NBUCKET 512

static struct var *table[NBUCKET];
static unsigned nvars;

const char *sh_ifs = " \t\n";
struct posparams sh_pos;
char *sh_arg0;
int getopts_offset;
int sh_lineno;
unsigned var_path_gen;

/* The environment cache: rebuilt lazily after an exported variable changes. */
static char **env_cache;
static bool env_dirty = true;

/* Variables whose assignment has side effects or whose value is computed. */
enum { SP_NONE, SP_IFS, SP_PATH, SP_OPTIND, SP_LINENO, SP_RANDOM, SP_SECONDS };
static const struct {
	const char *name;
	unsigned char id;
} specials[] = {
	{"IFS", SP_IFS}, {"PATH", SP_PATH}, {"OPTIND", SP_OPTIND},
	{"LINENO", SP_LINENO}, {"RANDOM", SP_RANDOM}, {"SECONDS", SP_SECONDS},
};

static unsigned long random_state;
static time_t seconds_base;

static unsigned hash_name(const char *s, size_t n)
{
	unsigned h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

bool var_valid_name(const char *s, size_t n)
{
	if (n == (size_t)-1)
		n = strlen(s);
	if (n == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static struct var *lookupn(const char *name, size_t n, unsigned h)
{
	for (struct var *v = table[h % NBUCKET]; v; v = v->next)
		if (v->hash == h && v->nlen == n && memcmp(v->text, name, n) == 0)
			return v;
	return NULL;
}

struct var *var_raw_lookup(const char *name)
{
	size_t n = strlen(name);
	return lookupn(name, n, hash_name(name, n));
}

/* Follow name references (typeset -n), a bounded number of steps so a loop of references ends. */
static struct var *resolve_ref(struct var *v)
{
	for (int i = 0; i < 16 && v && (v->flags & (V_NAMEREF | V_UNSET)) == V_NAMEREF; i++)
		v = var_raw_lookup(v->text + v->nlen + 1);
	return v;
}

struct var *var_lookup(const char *name)
{
	size_t n = strlen(name);
	struct var *v = lookupn(name, n, hash_name(name, n));
	if (v && (v->flags & V_NAMEREF))
		v = resolve_ref(v);
	return v;
}

const char *var_value(struct var *v)
{
	static char buf[32];
	if (v->flags & V_DYNAMIC) {
		switch (v->special) {
		case SP_LINENO:
			fmt_ll(buf, sh_lineno);
			return buf;
		case SP_RANDOM:
			random_state = random_state * 1103515245u + 12345u;
			snprintf(buf, sizeof buf, "%lu", (random_state >> 16) & 0x7fff);
			return buf;
		case SP_SECONDS:
			snprintf(buf, sizeof buf, "%lld", (long long)(time(NULL) - seconds_base));
			return buf;
		}
	}
	if (v->flags & V_UNSET)
		return NULL;
	return v->text + v->nlen + 1;
}

const char *var_get(const char *name)
{
	struct var *v = var_lookup(name);
	return v ? var_value(v) : NULL;
}

static void special_hook(struct var *v)
{
	const char *val = (v->flags & V_UNSET) ? NULL : v->text + v->nlen + 1;
	switch (v->special) {
	case SP_IFS:
		sh_ifs = val ? val : " \t\n";
		break;
	case SP_PATH:
		var_path_gen++;
		alias_clear(true); /* tracked aliases (alias -t) name paths found with the old PATH */
		break;
	case SP_OPTIND:
		getopts_offset = 0;
		break;
	case SP_RANDOM:
		if (val) {
			random_state = strtoul(val, NULL, 10);
			v->flags |= V_DYNAMIC;
		}
		break;
	case SP_SECONDS:
		if (val) {
			seconds_base = time(NULL) - strtoll(val, NULL, 10);
			v->flags |= V_DYNAMIC;
		}
		break;
	case SP_LINENO:
		/* Assigning LINENO makes it an ordinary variable, as in ksh. */
		v->flags &= ~V_DYNAMIC;
		break;
	}
}

static struct var *create(const char *name, size_t n, unsigned h)
{
	struct var *v = xmalloc(sizeof *v);
	v->nlen = (unsigned)n;
	v->hash = h;
	v->flags = V_UNSET;
	v->special = SP_NONE;
	v->base = 0;
	v->width = 0;
	v->arr = NULL;
	v->text = xmalloc(n + 2);
	memcpy(v->text, name, n);
	v->text[n] = '=';
	v->text[n + 1] = '\0';
	for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
		if (strlen(specials[i].name) == n && memcmp(specials[i].name, name, n) == 0)
			v->special = specials[i].id;
	v->next = table[h % NBUCKET];
	table[h % NBUCKET] = v;
	nvars++;
	return v;
}

/* Text of v in base (typeset -i16): "16#ff"; base 10 (or 0) is plain decimal. */
static char *fmt_base(long long n, int base)
{
	if (base == 0 || base == 10) {
		char buf[32];
		fmt_ll(buf, n);
		return ststrdup(buf);
	}
	char digits[80];
	size_t i = sizeof digits;
	digits[--i] = '\0';
	uint64_t u = n < 0 ? 0 - (uint64_t)n : (uint64_t)n;
	do {
		unsigned d = (unsigned)(u % (unsigned)base);
		digits[--i] = (char)(d < 10 ? '0' + d : d < 36 ? 'a' + d - 10 : d < 62 ? 'A' + d - 36 : d == 62 ? '@' : '_');
		u /= (unsigned)base;
	} while (u);
	return stprintf("%s%d#%s", n < 0 ? "-" : "", base, digits + i);
}

/* -L / -R / -Z: fit s into the variable's field width (set from the first value when 0). */
static char *justify(struct var *v, const char *s)
{
	bool left = v->flags & V_LJUST;
	if (left) {
		while (*s == ' ' || *s == '\t' || *s == '\n' || ((v->flags & V_ZFILL) && *s == '0' && s[1]))
			s++;
	}
	size_t n = strlen(s);
	if (!left)
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n'))
			n--;
	if (v->width == 0)
		v->width = (unsigned short)(n > 0xffff ? 0xffff : n);
	size_t w = v->width;
	char *out = stalloc(w + 1);
	if (left) {
		size_t k = n < w ? n : w;
		memcpy(out, s, k);
		memset(out + k, ' ', w - k);
	} else if (n >= w) {
		memcpy(out, s + n - w, w);
	} else {
		char fill = (v->flags & V_ZFILL) ? '0' : ' '; /* mksh zero-fills whatever the value */
		memset(out, fill, w - n);
		memcpy(out + w - n, s, n);
	}
	out[w] = '\0';
	return out;
}

/* The value an assignment stores in a variable with the attributes in V_CONVERT (arena string). */
static const char *convert(struct var *v, const char *value)
{
	char *s = (v->flags & V_INTEGER) ? fmt_base(arith_eval(value), v->base) : ststrdup(value);
	if (v->flags & (V_UPPER | V_LOWER))
		for (char *p = s; *p; p++)
			*p = (char)((v->flags & V_UPPER) ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
	if (v->flags & (V_LJUST | V_RJUST | V_ZFILL))
		s = justify(v, s);
	return s;
}

/* Store value as v's element 0, reusing the buffer when it fits (loops assigning counters do no malloc). */
static inline void store_value(struct var *v, const char *value)
{
	size_t n = v->nlen, vl = strlen(value);
	size_t cur = (v->flags & V_UNSET) ? 0 : strlen(v->text + n + 1);
	if (vl > cur) {
		char *t = xmalloc(n + vl + 2);
		memcpy(t, v->text, n + 1);
		free(v->text);
		v->text = t;
	}
	memcpy(v->text + n + 1, value, vl + 1);
	v->flags &= ~V_UNSET;
}

int var_setn(const char *name, size_t n, const char *value, unsigned flags)
{
	unsigned h = hash_name(name, n);
	struct var *v = lookupn(name, n, h);
	if (v != NULL && (v->flags & V_NAMEREF) && !(flags & V_NAMEREF) && !(v->flags & V_UNSET)) {
		struct var *t = resolve_ref(v);
		const char *tn = t ? t->text : v->text + v->nlen + 1;
		size_t tl = t ? t->nlen : strlen(tn);
		if (t != v && var_valid_name(tn, tl))
			return var_setn(ststrndup(tn, tl), tl, value, flags);
	}
	if (v == NULL)
		v = create(name, n, h);
	else if ((v->flags & V_READONLY) && (value != NULL || (flags & V_READONLY) == 0)) {
		if (value == NULL && (flags & ~V_NOERR) != 0 && !(flags & V_READONLY)) {
			/* export of a readonly variable is allowed */
			v->flags |= flags & V_EXPORT;
			if (flags & V_EXPORT)
				env_dirty = true;
			return 0;
		}
		if (flags & V_NOERR) {
			sh_warnf("%.*s: is read only", (int)n, name);
			return -1;
		}
		sh_errorf(2, "%.*s: is read only", (int)n, name);
	}
	if (value != NULL && (v->flags & V_CONVERT))
		value = convert(v, value);
	if (value != NULL) {
		store_value(v, value);
		if (opt[OPT_ALLEXPORT])
			v->flags |= V_EXPORT;
	}
	v->flags |= flags & (V_EXPORT | V_READONLY | V_INTEGER | V_NAMEREF);
	if (v->flags & V_EXPORT)
		env_dirty = true;
	if (v->special && value != NULL)
		special_hook(v);
	return 0;
}

int var_set(const char *name, const char *value, unsigned flags)
{
	return var_setn(name, strlen(name), value, flags);
}

void var_set_int(const char *name, long long val)
{
	char buf[32];
	fmt_ll(buf, val);
	var_set(name, buf, 0);
}

static void free_array(struct var *v)
{
	if (v->arr) {
		for (size_t i = 0; i < v->arr->n; i++)
			free(v->arr->e[i].val);
		free(v->arr->e);
		free(v->arr);
		v->arr = NULL;
	}
	v->flags &= ~V_ARRAY;
}

int var_unset(const char *name)
{
	size_t n = strlen(name);
	unsigned h = hash_name(name, n);
	struct var **pp = &table[h % NBUCKET];
	for (struct var *v = *pp; v; pp = &v->next, v = *pp) {
		if (v->hash != h || v->nlen != n || memcmp(v->text, name, n) != 0)
			continue;
		if (v->flags & V_READONLY) {
			sh_warnf("%s: is read only", name);
			return -1;
		}
		if (v->flags & V_EXPORT)
			env_dirty = true;
		free_array(v);
		if (v->special) {
			/* Keep the entry so the hook sees the unset (IFS back to default, PATH rehash). */
			v->flags = V_UNSET;
			v->text[n + 1] = '\0';
			special_hook(v);
			return 0;
		}
		*pp = v->next;
		free_array(v);
		free(v->text);
		free(v);
		nvars--;
		return 0;
	}
	return 0;
}

char **var_environ(void)
{
	if (!env_dirty && env_cache)
		return env_cache;
	free(env_cache);
	size_t n = 0;
	for (int i = 0; i < NBUCKET; i++)
		for (struct var *v = table[i]; v; v = v->next)
			if ((v->flags & (V_EXPORT | V_UNSET)) == V_EXPORT)
				n++;
	env_cache = xmalloc((n + 1) * sizeof *env_cache);
	n = 0;
	for (int i = 0; i < NBUCKET; i++)
		for (struct var *v = table[i]; v; v = v->next)
			if ((v->flags & (V_EXPORT | V_UNSET)) == V_EXPORT)
				env_cache[n++] = v->text;
	env_cache[n] = NULL;
	env_dirty = false;
	return env_cache;
}

/* Print a value quoted so that the shell reads it back unchanged. */
static void print_quoted(const char *s)
{
	if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:,@%^") == strlen(s)) {
		out_str(s);
		return;
	}
	out_char('\'');
	for (; *s; s++) {
		if (*s == '\'')
			out_str("'\\''");
		else
			out_char(*s);
	}
	out_char('\'');
}

static int cmp_var(const void *a, const void *b)
{
	const struct var *x = *(struct var *const *)a, *y = *(struct var *const *)b;
	return strcmp(x->text, y->text);
}

void var_foreach(void (*fn)(struct var *v, void *ctx), void *ctx)
{
	struct var **all = xmalloc((nvars + 1) * sizeof *all);
	size_t n = 0;
	for (int i = 0; i < NBUCKET; i++)
		for (struct var *v = table[i]; v; v = v->next)
			all[n++] = v;
	qsort(all, n, sizeof *all, cmp_var);
	for (size_t i = 0; i < n; i++)
		fn(all[i], ctx);
	free(all);
}

void var_print_value(const char *s)
{
	print_quoted(s);
}

static void list_cb(struct var *v, void *ctx)
{
	int mode = *(int *)ctx;
	const char *val = var_value(v);
	if (mode == 0) {
		if (val == NULL)
			return;
		out_printf("%.*s=", (int)v->nlen, v->text);
	} else {
		if (mode == 'x' && !(v->flags & V_EXPORT))
			return;
		if (mode == 'r' && !(v->flags & V_READONLY))
			return;
		out_printf("%s %.*s", mode == 'x' ? "export" : "readonly", (int)v->nlen, v->text);
		if (val == NULL) {
			out_char('\n');
			return;
		}
		out_char('=');
	}
	print_quoted(val);
	out_char('\n');
}

void var_list(int mode)
{
	var_foreach(list_cb, &mode);
}

/* ---- indexed arrays ---- */

long var_check_index(long long idx)
{
	if (idx < 0 || idx > INT32_MAX)
		sh_errorf(2, "%lld: subscript out of range", idx);
	return (long)idx;
}

/* The variable to assign for name (references followed), created when missing; a readonly one is an error. */
static struct var *writable(const char *name)
{
	struct var *v = var_lookup(name);
	if (v == NULL) {
		struct var *raw = var_raw_lookup(name);
		if (raw && (raw->flags & V_NAMEREF) && var_valid_name(raw->text + raw->nlen + 1, (size_t)-1))
			name = raw->text + raw->nlen + 1;
		size_t n = strlen(name);
		v = create(name, n, hash_name(name, n));
	}
	if (v->flags & V_READONLY)
		sh_errorf(2, "%.*s: is read only", (int)v->nlen, v->text);
	return v;
}

/* Binary search for idx in a's elements: its position, or where it would go (*found false). */
static size_t elem_pos(const struct varray *a, long idx, bool *found)
{
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->e[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < a->n && a->e[lo].idx == idx;
	return lo;
}

/* Set element idx (>= 1) of v to an already converted value. */
static void put_elem(struct var *v, long idx, const char *value)
{
	if (v->arr == NULL)
		v->arr = xcalloc(1, sizeof *v->arr);
	struct varray *a = v->arr;
	bool found;
	size_t i = elem_pos(a, idx, &found);
	if (found) {
		free(a->e[i].val);
		a->e[i].val = xstrdup(value);
		return;
	}
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->e = xrealloc(a->e, a->cap * sizeof *a->e);
	}
	memmove(a->e + i + 1, a->e + i, (a->n - i) * sizeof *a->e);
	a->e[i].idx = idx;
	a->e[i].val = xstrdup(value);
	a->n++;
	v->flags |= V_ARRAY;
}

void var_set_elem(const char *name, long idx, const char *value)
{
	if (idx == 0) {
		var_set(name, value, 0);
		return;
	}
	struct var *v = writable(name);
	put_elem(v, idx, (v->flags & V_CONVERT) ? convert(v, value) : value);
}

const char *var_get_elem(struct var *v, long idx)
{
	if (v == NULL)
		return NULL;
	if (idx == 0)
		return var_value(v);
	if (v->arr == NULL)
		return NULL;
	bool found;
	size_t i = elem_pos(v->arr, idx, &found);
	return found ? v->arr->e[i].val : NULL;
}

int var_unset_elem(const char *name, long idx)
{
	struct var *v = var_lookup(name);
	if (v == NULL)
		return 0;
	if (v->flags & V_READONLY) {
		sh_warnf("%.*s: is read only", (int)v->nlen, v->text);
		return -1;
	}
	if (idx == 0) {
		if (v->arr == NULL || v->arr->n == 0)
			return var_unset(ststrndup(v->text, v->nlen));
		/* The other elements stay: only element 0 becomes unset. */
		v->text[v->nlen + 1] = '\0';
		v->flags |= V_UNSET;
		if (v->flags & V_EXPORT)
			env_dirty = true;
		return 0;
	}
	if (v->arr == NULL)
		return 0;
	bool found;
	size_t i = elem_pos(v->arr, idx, &found);
	if (found) {
		free(v->arr->e[i].val);
		memmove(v->arr->e + i, v->arr->e + i + 1, (v->arr->n - i - 1) * sizeof *v->arr->e);
		v->arr->n--;
	}
	return 0;
}

size_t var_array_count(struct var *v)
{
	if (v == NULL)
		return 0;
	return (var_value(v) != NULL) + (v->arr ? v->arr->n : 0);
}

const char *var_array_nth(struct var *v, size_t i, long *idx)
{
	const char *v0 = var_value(v);
	if (v0 != NULL) {
		if (i == 0) {
			*idx = 0;
			return v0;
		}
		i--;
	}
	*idx = v->arr->e[i].idx;
	return v->arr->e[i].val;
}

void var_set_array(const char *name, char **vals, int n, bool clear)
{
	struct var *v = writable(name);
	if (clear) {
		if (n == 0) {
			var_unset(ststrndup(v->text, v->nlen));
			return;
		}
		free_array(v);
	}
	char *vname = ststrndup(v->text, v->nlen);
	for (int i = 0; i < n; i++)
		var_set_elem(vname, i, vals[i]);
}

/* ---- attributes (typeset) ---- */

int var_set_attrs(const char *name, unsigned on, unsigned off, int width, int base)
{
	struct var *v = (on & V_NAMEREF) ? var_raw_lookup(name) : var_lookup(name);
	if (v == NULL) {
		size_t n = strlen(name);
		v = create(name, n, hash_name(name, n));
	}
	/* Only the export attribute of a read-only variable may change (typeset +r is refused too). */
	if ((v->flags & V_READONLY) && (((on | off) & ~(V_EXPORT | V_READONLY)) || (off & V_READONLY))) {
		sh_warnf("%.*s: is read only", (int)v->nlen, v->text);
		return -1;
	}
	/* Exclusive pairs: the attribute named last wins. */
	if (on & V_UPPER)
		off |= V_LOWER;
	if (on & V_LOWER)
		off |= V_UPPER;
	if (on & V_LJUST)
		off |= V_RJUST;
	if (on & V_RJUST)
		off |= V_LJUST;
	unsigned old = v->flags;
	v->flags = (v->flags & ~(off & ~V_READONLY)) | (on & ~V_READONLY);
	if (width > 0)
		v->width = (unsigned short)(width > 0xffff ? 0xffff : width);
	else if ((on & (V_LJUST | V_RJUST | V_ZFILL)) && !(old & (V_LJUST | V_RJUST | V_ZFILL)))
		v->width = 0;
	if (base > 0)
		v->base = (unsigned char)base;
	if ((on & V_CONVERT) || width > 0 || base > 0) {
		/* The value (and every element) is converted again under the new attributes. */
		if (!(v->flags & V_UNSET) && !(v->flags & V_DYNAMIC))
			store_value(v, convert(v, v->text + v->nlen + 1));
		for (size_t i = 0; v->arr && i < v->arr->n; i++) {
			const char *c = convert(v, v->arr->e[i].val);
			free(v->arr->e[i].val);
			v->arr->e[i].val = xstrdup(c);
		}
	}
	v->flags |= on & V_READONLY;
	if ((old ^ v->flags) & V_EXPORT || (v->flags & V_EXPORT))
		env_dirty = true;
	return 0;
}

/* Local scopes: each saved variable state is restored when its scope is popped. */
struct saved {
	struct saved *next;
	char *name;
	char *text;     /* the old "name=value", or NULL if it did not exist */
	unsigned flags;
	unsigned short width;
	unsigned char base;
	struct varray *arr; /* the old elements [1..], moved here while the local lives */
};
struct scope {
	struct scope *up;
	struct saved *list;
};
static struct scope *scopes;

void var_push_scope(void)
{
	struct scope *s = xmalloc(sizeof *s);
	s->up = scopes;
	s->list = NULL;
	scopes = s;
}

bool var_in_function(void)
{
	return scopes != NULL;
}

bool var_make_local(const char *name)
{
	if (scopes == NULL)
		return false;
	for (struct saved *s = scopes->list; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return false;
	struct var *v = var_raw_lookup(name);
	/*
	 * A read-only variable (readonly, shellreadonly) is not shadowed: the
	 * function sees and keeps it, so no local can stand in for it (the
	 * assignment that follows fails) and its elements are never detached.
	 */
	if (v && (v->flags & V_READONLY))
		return false;
	struct saved *s = xmalloc(sizeof *s);
	s->name = xstrdup(name);
	s->text = v ? xstrdup(v->text) : NULL;
	s->flags = v ? v->flags : 0;
	s->width = v ? v->width : 0;
	s->base = v ? v->base : 0;
	s->arr = v ? v->arr : NULL;
	if (v) {
		/* The local starts without the global's other elements. */
		v->arr = NULL;
		v->flags &= ~V_ARRAY;
	}
	if (v && (v->flags & V_UNSET))
		s->text[v->nlen + 1] = '\0';
	s->next = scopes->list;
	scopes->list = s;
	return true;
}

void var_pop_scope(void)
{
	struct scope *sc = scopes;
	if (sc == NULL)
		return;
	scopes = sc->up;
	while (sc->list) {
		struct saved *s = sc->list;
		sc->list = s->next;
		struct var *v = var_raw_lookup(s->name);
		if (v)
			v->flags &= ~(V_READONLY | V_NAMEREF | V_CONVERT);
		if (s->text == NULL) {
			var_unset(s->name);
		} else {
			const char *val = strchr(s->text, '=') + 1;
			if (v == NULL) {
				var_set(s->name, NULL, 0);
				v = var_lookup(s->name);
			}
			v->flags = 0;
			if (s->flags & V_UNSET) {
				var_unset(s->name);
				var_set(s->name, NULL, 0);
				v = var_lookup(s->name);
			} else {
				var_set(s->name, val, 0);
			}
			v = var_raw_lookup(s->name);
			free_array(v);
			v->flags = s->flags;
			v->width = s->width;
			v->base = s->base;
			v->arr = s->arr;
			env_dirty = true;
		}
		free(s->name);
		free(s->text);
		free(s);
	}
	free(sc);
}

void pos_free(struct posparams *p)
{
	if (!p->owned)
		return;
	for (int i = 0; i < p->n; i++)
		free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
	p->owned = false;
}

static void pos_copy(struct posparams *p, char **argv, int n)
{
	p->v = xmalloc(((size_t)n + 1) * sizeof *p->v);
	for (int i = 0; i < n; i++)
		p->v[i] = xstrdup(argv[i]);
	p->v[n] = NULL;
	p->n = n;
	p->owned = true;
}

void pos_set(char **argv, int n)
{
	struct posparams np;
	pos_copy(&np, argv, n);
	pos_free(&sh_pos);
	sh_pos = np;
}

void pos_save(struct posparams *saved, char **argv, int n)
{
	*saved = sh_pos;
	pos_copy(&sh_pos, argv, n);
}

void pos_restore(struct posparams *saved)
{
	pos_free(&sh_pos);
	sh_pos = *saved;
}

void var_init(char **env)
{
	for (char **e = env; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (eq == NULL || !var_valid_name(*e, (size_t)(eq - *e)))
			continue;
		var_setn(*e, (size_t)(eq - *e), eq + 1, V_EXPORT);
	}
	var_set("IFS", " \t\n", 0);
	if (var_get("PATH") == NULL)
		var_set("PATH", "/usr/local/bin:/usr/bin:/bin", 0);
	if (var_get("PS1") == NULL)
		var_set("PS1", geteuid() == 0 ? "# " : "$ ", 0);
	if (var_get("PS2") == NULL)
		var_set("PS2", "> ", 0);
	if (var_get("PS4") == NULL)
		var_set("PS4", "+ ", 0);
	var_set("OPTIND", "1", 0);
	var_set_int("PPID", (long long)getppid());
	var_set("LINENO", "", 0);
	var_lookup("LINENO")->flags |= V_DYNAMIC;
	random_state = (unsigned long)getpid() ^ (unsigned long)time(NULL);
	seconds_base = time(NULL);
	var_set("RANDOM", "", 0);
	var_lookup("RANDOM")->flags |= V_DYNAMIC;
	var_set("SECONDS", "0", 0);
	/* PWD is kept only if it names the current directory. */
	const char *pwd = var_get("PWD");
	char *cwd = getcwd(NULL, 0);
	if (cwd) {
		if (pwd == NULL || pwd[0] != '/' || !same_file(pwd, cwd))
			var_set("PWD", cwd, V_EXPORT);
		free(cwd);
	}
}
