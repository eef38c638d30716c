/* SPDX-License-Identifier: ISC */
/* Shell pattern matching (POSIX XCU 2.13 plus ksh extended groups) over length-bounded strings. */
#include "match.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

/*
 * Plain patterns are matched by one pass with a single backtrack point for
 * the last '*', so the cost is O(pattern * string) whatever the input: the
 * strings matched by the policy engine come from users. Extended groups
 * need real backtracking; that path carries a step budget so a hostile
 * pattern cannot hang the caller (it then fails to match).
 */

struct ctx {
	const char *sbase; /* start of the subject, for the leading-period rule */
	int flags;
	unsigned long steps;
};

#define STEP_BUDGET (1ul << 22)

static int fold(int c, int flags)
{
	return (flags & PB_MATCH_CASEFOLD) ? tolower((unsigned char)c) : (unsigned char)c;
}

/* Is s the first character of a name, where a leading '.' must be explicit? */
static bool at_name_start(const struct ctx *x, const char *s)
{
	if (!(x->flags & PB_MATCH_PERIOD) || *s != '.')
		return false;
	return s == x->sbase || ((x->flags & PB_MATCH_PATHNAME) && s[-1] == '/');
}

static bool class_match(const char *name, size_t len, int c)
{
	static const struct {
		const char *name;
		int (*fn)(int);
	} classes[] = {
		{"alnum", isalnum}, {"alpha", isalpha}, {"blank", isblank}, {"cntrl", iscntrl},
		{"digit", isdigit}, {"graph", isgraph}, {"lower", islower}, {"print", isprint},
		{"punct", ispunct}, {"space", isspace}, {"upper", isupper}, {"xdigit", isxdigit},
	};
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == len && memcmp(classes[i].name, name, len) == 0)
			return classes[i].fn((unsigned char)c) != 0;
	return false;
}

/*
 * Match one character against the bracket expression starting at p ('[').
 * Returns the position after the closing ']', or NULL when the expression is
 * malformed (then '[' is an ordinary character). *ok gets the verdict.
 */
static const char *bracket(const char *p, const char *pe, int c, int flags, bool *ok)
{
	const char *q = p + 1;
	bool neg = false, hit = false;
	int fc = fold(c, flags);

	if (q < pe && (*q == '!' || *q == '^')) {
		neg = true;
		q++;
	}
	bool first = true;
	for (;;) {
		if (q >= pe)
			return NULL;
		if (*q == ']' && !first)
			break;
		first = false;
		if ((flags & PB_MATCH_PATHNAME) && *q == '/')
			return NULL;
		int lo;
		if (*q == '[' && q + 1 < pe && (q[1] == ':' || q[1] == '=' || q[1] == '.')) {
			char kind = q[1];
			const char *e = q + 2;
			while (e + 1 < pe && !(e[0] == kind && e[1] == ']'))
				e++;
			if (e + 1 >= pe)
				return NULL;
			if (kind == ':') {
				if (class_match(q + 2, (size_t)(e - (q + 2)), c))
					hit = true;
				q = e + 2;
				continue;
			}
			/* [=c=] and [.c.]: single characters in the C locale. */
			if (e - (q + 2) != 1)
				return NULL;
			lo = (unsigned char)q[2];
			q = e + 2;
		} else if (*q == '\\' && !(flags & PB_MATCH_NOESCAPE) && q + 1 < pe) {
			lo = (unsigned char)q[1];
			q += 2;
		} else {
			lo = (unsigned char)*q++;
		}
		if (q + 1 < pe && *q == '-' && q[1] != ']') {
			int hi;
			q++;
			if (*q == '\\' && !(flags & PB_MATCH_NOESCAPE) && q + 1 < pe) {
				hi = (unsigned char)q[1];
				q += 2;
			} else if (*q == '[' && q + 1 < pe && q[1] == '.') {
				const char *e = q + 2;
				while (e + 1 < pe && !(e[0] == '.' && e[1] == ']'))
					e++;
				if (e + 1 >= pe || e - (q + 2) != 1)
					return NULL;
				hi = (unsigned char)q[2];
				q = e + 2;
			} else {
				hi = (unsigned char)*q++;
			}
			if ((c >= lo && c <= hi) || (fold(lo, flags) <= fc && fc <= fold(hi, flags)))
				hit = true;
		} else if (fold(lo, flags) == fc) {
			hit = true;
		}
	}
	*ok = hit != neg;
	return q + 1;
}

/* Does [p, pe) contain an extended group? */
static bool has_group(const char *p, const char *pe, int flags)
{
	if (!(flags & PB_MATCH_EXTGLOB))
		return false;
	for (; p + 1 < pe; p++) {
		if (*p == '\\' && !(flags & PB_MATCH_NOESCAPE)) {
			p++;
			continue;
		}
		if (strchr("@*+?!", *p) && p[1] == '(')
			return true;
	}
	return false;
}

/* End of the group whose '(' is at p: the matching ')' (or NULL). */
static const char *group_end(const char *p, const char *pe, int flags)
{
	int depth = 0;
	for (; p < pe; p++) {
		if (*p == '\\' && !(flags & PB_MATCH_NOESCAPE)) {
			p++;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p;
	}
	return NULL;
}

static bool match_ext(struct ctx *x, const char *p, const char *pe, const char *s, const char *se);

/* Does any alternative of the group body [b, be) match exactly [s, se)? */
static bool any_alt(struct ctx *x, const char *b, const char *be, const char *s, const char *se)
{
	int depth = 0;
	const char *start = b;
	for (const char *q = b; q <= be; q++) {
		if (q < be && *q == '\\' && !(x->flags & PB_MATCH_NOESCAPE)) {
			q++;
			continue;
		}
		if (q < be && *q == '(')
			depth++;
		else if (q < be && *q == ')')
			depth--;
		else if (q == be || (*q == '|' && depth == 0)) {
			if (match_ext(x, start, q, s, se))
				return true;
			start = q + 1;
		}
	}
	return false;
}

/* *(alts) or +(alts) over [s, se): a concatenation of non-empty alternatives. */
static bool repeat_alt(struct ctx *x, const char *b, const char *be, const char *s, const char *se)
{
	if (s == se)
		return true;
	for (const char *k = s + 1; k <= se; k++)
		if (any_alt(x, b, be, s, k) && repeat_alt(x, b, be, k, se))
			return true;
	return false;
}

static bool single(struct ctx *x, const char **pp, const char *pe, const char *s, bool *ok)
{
	const char *p = *pp;
	int flags = x->flags;

	switch (*p) {
	case '?':
		*ok = !((flags & PB_MATCH_PATHNAME) && *s == '/') && !at_name_start(x, s);
		*pp = p + 1;
		return true;
	case '[': {
		if ((flags & PB_MATCH_PATHNAME) && *s == '/') {
			/* A bracket never matches '/' in a pathname; skip it if well formed. */
			bool dummy;
			const char *q = bracket(p, pe, 'x', flags, &dummy);
			if (q != NULL) {
				*ok = false;
				*pp = q;
				return true;
			}
			break;
		}
		const char *q = bracket(p, pe, (unsigned char)*s, flags, ok);
		if (q == NULL)
			break;
		if (at_name_start(x, s))
			*ok = false;
		*pp = q;
		return true;
	}
	case '\\':
		if (!(flags & PB_MATCH_NOESCAPE) && p + 1 < pe) {
			*ok = fold(p[1], flags) == fold(*s, flags);
			*pp = p + 2;
			return true;
		}
		break;
	default:
		break;
	}
	*ok = fold(*p, flags) == fold(*s, flags);
	*pp = p + 1;
	return true;
}

/* Plain patterns: one pass with a single '*' backtrack point. */
static bool match_plain(struct ctx *x, const char *p, const char *pe, const char *s, const char *se)
{
	const char *star_p = NULL, *star_s = NULL;
	int flags = x->flags;

	while (s < se) {
		if (p < pe && *p == '*') {
			if (at_name_start(x, s))
				return false;
			while (p < pe && *p == '*')
				p++;
			if (p == pe)
				return !(flags & PB_MATCH_PATHNAME) || memchr(s, '/', (size_t)(se - s)) == NULL;
			star_p = p;
			star_s = s;
			continue;
		}
		if (p < pe) {
			bool ok;
			const char *np = p;
			single(x, &np, pe, s, &ok);
			if (ok) {
				p = np;
				s++;
				continue;
			}
		}
		if (star_p == NULL || ((flags & PB_MATCH_PATHNAME) && *star_s == '/'))
			return false;
		star_s++;
		s = star_s;
		p = star_p;
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

/* Patterns with extended groups: recursive, bounded by the step budget. */
static bool match_ext(struct ctx *x, const char *p, const char *pe, const char *s, const char *se)
{
	if (!has_group(p, pe, x->flags))
		return match_plain(x, p, pe, s, se);
	while (p < pe) {
		if (++x->steps > STEP_BUDGET)
			return false;
		if (p + 1 < pe && strchr("@*+?!", *p) && p[1] == '(') {
			const char *ge = group_end(p + 1, pe, x->flags);
			if (ge != NULL) {
				const char *b = p + 2, *after = ge + 1;
				char kind = *p;
				for (const char *k = s; k <= se; k++) {
					bool here;
					switch (kind) {
					case '@':
						here = any_alt(x, b, ge, s, k);
						break;
					case '?':
						here = k == s || any_alt(x, b, ge, s, k);
						break;
					case '*':
						here = repeat_alt(x, b, ge, s, k);
						break;
					case '+':
						here = k > s && repeat_alt(x, b, ge, s, k);
						break;
					default: /* '!' */
						here = !any_alt(x, b, ge, s, k);
						break;
					}
					if (here && match_ext(x, after, pe, k, se))
						return true;
					if (x->steps > STEP_BUDGET)
						return false;
				}
				return false;
			}
		}
		if (*p == '*') {
			if (s < se && at_name_start(x, s))
				return false;
			while (p < pe && *p == '*' && !(p + 1 < pe && p[1] == '('))
				p++;
			for (const char *t = s;; t++) {
				if (match_ext(x, p, pe, t, se))
					return true;
				if (t == se || ((x->flags & PB_MATCH_PATHNAME) && *t == '/'))
					return false;
				if (x->steps > STEP_BUDGET)
					return false;
			}
		}
		if (s == se)
			return false;
		bool ok;
		single(x, &p, pe, s, &ok);
		if (!ok)
			return false;
		s++;
	}
	return s == se;
}

bool pb_match_n(const char *pattern, const char *str, size_t n, int flags)
{
	struct ctx x = {.sbase = str, .flags = flags};
	return match_ext(&x, pattern, pattern + strlen(pattern), str, str + n);
}

bool pb_match(const char *pattern, const char *str, int flags)
{
	return pb_match_n(pattern, str, strlen(str), flags);
}

long pb_match_prefix(const char *pattern, const char *str, bool longest, int flags)
{
	size_t n = strlen(str);
	if (longest) {
		for (size_t k = n + 1; k-- > 0;)
			if (pb_match_n(pattern, str, k, flags))
				return (long)k;
	} else {
		for (size_t k = 0; k <= n; k++)
			if (pb_match_n(pattern, str, k, flags))
				return (long)k;
	}
	return -1;
}

long pb_match_suffix(const char *pattern, const char *str, bool longest, int flags)
{
	size_t n = strlen(str);
	/* The leading-period rule applies to the start of the suffix, so match it as its own string. */
	if (longest) {
		for (size_t k = 0; k <= n; k++)
			if (pb_match(pattern, str + k, flags))
				return (long)k;
	} else {
		for (size_t k = n + 1; k-- > 0;)
			if (pb_match(pattern, str + k, flags))
				return (long)k;
	}
	return -1;
}

bool pb_match_has_magic(const char *pattern, int flags)
{
	for (const char *p = pattern; *p; p++) {
		switch (*p) {
		case '\\':
			if (!(flags & PB_MATCH_NOESCAPE) && p[1])
				p++;
			break;
		case '*':
		case '?':
			return true;
		case '[':
			if (strchr(p + 1, ']') != NULL)
				return true;
			break;
		case '@':
		case '+':
		case '!':
			if ((flags & PB_MATCH_EXTGLOB) && p[1] == '(')
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}
