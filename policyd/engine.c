/* SPDX-License-Identifier: ISC */
/* Pure evaluation of a compiled policy: ordered rules, first decision wins, default deny. */
#include "engine.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match.h"

static const char *const mode_names[PE_MODE_COUNT] = {
	"shell start",
	"shell command",
	"shell builtin",
	"shell redirect",
};

static const struct {
	const char *name;
	enum pe_vartype type;
} vars[PE_VAR_COUNT] = {
	[PE_VAR_RUNUSER] = {"runuser", PE_VT_STRING},
	[PE_VAR_RUNGROUP] = {"rungroup", PE_VT_STRING},
	[PE_VAR_RUNUMASK] = {"runumask", PE_VT_UMASK},
	[PE_VAR_RUNLOCALMODE] = {"runlocalmode", PE_VT_BOOL},
	[PE_VAR_IOLOG] = {"iolog", PE_VT_STRING},
	[PE_VAR_LOGSERVERS] = {"logservers", PE_VT_LIST},
	[PE_VAR_SHELLALLOWEDCOMMANDS] = {"shellallowedcommands", PE_VT_LIST},
	[PE_VAR_SHELLFORBIDDENCOMMANDS] = {"shellforbiddencommands", PE_VT_LIST},
	[PE_VAR_SHELLCHECKBUILTINS] = {"shellcheckbuiltins", PE_VT_BOOL},
	[PE_VAR_SHELLCHECKREDIRECTIONS] = {"shellcheckredirections", PE_VT_BOOL},
	[PE_VAR_SHELLLOGINCLUDEFILES] = {"shelllogincludefiles", PE_VT_BOOL},
	[PE_VAR_SHELLREADONLY] = {"shellreadonly", PE_VT_LIST},
	[PE_VAR_SHELLRESTRICTED] = {"shellrestricted", PE_VT_BOOL},
};

const char *pe_mode_name(enum pe_mode m)
{
	return (unsigned)m < PE_MODE_COUNT ? mode_names[m] : NULL;
}

int pe_mode_parse(const char *s)
{
	for (int i = 0; i < PE_MODE_COUNT; i++)
		if (strcmp(s, mode_names[i]) == 0)
			return i;
	return -1;
}

const char *pe_var_name(enum pe_var v)
{
	return (unsigned)v < PE_VAR_COUNT ? vars[v].name : NULL;
}

enum pe_vartype pe_var_type(enum pe_var v)
{
	return (unsigned)v < PE_VAR_COUNT ? vars[v].type : PE_VT_STRING;
}

int pe_var_parse(const char *s)
{
	for (int i = 0; i < PE_VAR_COUNT; i++)
		if (strcmp(s, vars[i].name) == 0)
			return i;
	return -1;
}

/* Per-request values computed at most once, whatever the number of rules. */
struct evalctx {
	const struct pe_request *rq;
	char uidbuf[24];
	struct tm tm;
	bool have_tm;
	char *argline;
	bool argline_done;
};

void pe_pat_compile(struct pe_pat *p, const char *s, int flags)
{
	size_t i = 0;
	p->s = s;
	for (; s[i] != '\0'; i++) {
		char c = s[i];
		if (c == '*' || c == '?' || c == '[' || c == '\\')
			break;
		if ((flags & PB_MATCH_EXTGLOB) && (c == '@' || c == '+' || c == '!') && s[i + 1] == '(')
			break;
	}
	p->plen = (uint32_t)i;
	if (s[i] == '\0')
		p->kind = PE_PAT_LITERAL;
	else if (s[i] == '*' && s[i + 1] == '\0' && !(flags & PB_MATCH_PERIOD))
		p->kind = PE_PAT_PREFIX;
	else
		p->kind = PE_PAT_GLOB;
	p->literal = p->kind == PE_PAT_LITERAL;
}

static bool pat_match(const struct pe_pat *p, const char *s, int flags)
{
	bool fold = (flags & PB_MATCH_CASEFOLD) != 0;
	/* Most comparisons fail on the first byte: decide those without a call. */
	if (!fold && p->plen > 0 && p->s[0] != s[0])
		return false;
	switch (p->kind) {
	case PE_PAT_LITERAL:
		return fold ? strcasecmp(p->s, s) == 0 : strcmp(p->s, s) == 0;
	case PE_PAT_PREFIX:
		if ((fold ? strncasecmp(p->s, s, p->plen) : strncmp(p->s, s, p->plen)) != 0)
			return false;
		/* with PATHNAME, the final '*' does not cross a '/' */
		return !(flags & PB_MATCH_PATHNAME) || strchr(s + p->plen, '/') == NULL;
	default:
		/* Most patterns fail on their literal start: check it before the general matcher. */
		if (p->plen > 0 && (fold ? strncasecmp(p->s, s, p->plen) : strncmp(p->s, s, p->plen)) != 0)
			return false;
		return pb_match(p->s, s, flags);
	}
}

bool pe_patlist_index(struct pe_patlist *l, uint64_t *bits)
{
	bool any_pos = false;
	memset(bits, 0, 4 * sizeof(*bits));
	for (uint32_t i = 0; i < l->n; i++) {
		const struct pe_pat *p = &l->v[i];
		if (p->neg)
			continue;
		/* A positive pattern starting with magic may match any first byte. */
		if (p->plen == 0 && p->kind != PE_PAT_LITERAL)
			return false;
		any_pos = true;
		unsigned char c = (unsigned char)p->s[0];
		bits[c >> 6] |= 1ull << (c & 63);
		if (l->flags & PB_MATCH_CASEFOLD) {
			unsigned char lc = (unsigned char)tolower(c), uc = (unsigned char)toupper(c);
			bits[lc >> 6] |= 1ull << (lc & 63);
			bits[uc >> 6] |= 1ull << (uc & 63);
		}
	}
	if (!any_pos)
		return false;
	l->first = bits;
	return true;
}

/*
 * Does the list hold for one subject string? Any negative match refuses;
 * otherwise a positive match (or having no positive at all) accepts.
 */
static bool list_match1(const struct pe_patlist *l, const char *s)
{
	bool pos_seen = false, pos_hit = false;
	if (l->first != NULL) {
		/* Holding needs a positive match, and none starts with this byte. */
		unsigned char c = (unsigned char)s[0];
		if (!((l->first[c >> 6] >> (c & 63)) & 1))
			return false;
	}
	for (uint32_t i = 0; i < l->n; i++) {
		const struct pe_pat *p = &l->v[i];
		if (p->neg) {
			if (pat_match(p, s, l->flags))
				return false;
		} else {
			pos_seen = true;
			if (!pos_hit && pat_match(p, s, l->flags))
				pos_hit = true;
		}
	}
	return pos_hit || !pos_seen;
}

/*
 * The same over a set of subjects (a user's groups): a negative pattern
 * matching any of them refuses, a positive one matching any accepts.
 */
static bool list_match_any(const struct pe_patlist *l, const char *const *ss, size_t n,
			   const char *first)
{
	bool pos_seen = false, pos_hit = false;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct pe_pat *p = &l->v[i];
		bool hit = first != NULL && first[0] != '\0' && pat_match(p, first, l->flags);
		for (size_t j = 0; !hit && j < n; j++)
			hit = ss[j] != NULL && pat_match(p, ss[j], l->flags);
		if (p->neg) {
			if (hit)
				return false;
		} else {
			pos_seen = true;
			pos_hit = pos_hit || hit;
		}
	}
	return pos_hit || !pos_seen;
}

static const char *basename_of(const char *s)
{
	const char *slash = strrchr(s, '/');
	return slash != NULL ? slash + 1 : s;
}

/*
 * The list over a subject known by two names (a shell's path and its last
 * component): a negative pattern matching either refuses, a positive one
 * matching either accepts, so "!pbsh" refuses /usr/bin/pbsh too.
 */
static bool list_match2(const struct pe_patlist *l, const char *a, const char *b)
{
	bool pos_seen = false, pos_hit = false;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct pe_pat *p = &l->v[i];
		bool hit = pat_match(p, a, l->flags) || (b != a && pat_match(p, b, l->flags));
		if (p->neg) {
			if (hit)
				return false;
		} else {
			pos_seen = true;
			pos_hit = pos_hit || hit;
		}
	}
	return pos_hit || !pos_seen;
}

static const char *get_argline(struct evalctx *x)
{
	if (!x->argline_done) {
		const struct pe_request *rq = x->rq;
		size_t len = 1;
		x->argline_done = true;
		for (size_t i = 0; i < rq->argc; i++)
			len += strlen(rq->argv[i]) + 1;
		x->argline = malloc(len);
		if (x->argline != NULL) {
			char *p = x->argline;
			for (size_t i = 0; i < rq->argc; i++) {
				size_t l = strlen(rq->argv[i]);
				if (i > 0)
					*p++ = ' ';
				memcpy(p, rq->argv[i], l);
				p += l;
			}
			*p = '\0';
		}
	}
	return x->argline;
}

static const struct tm *get_tm(struct evalctx *x)
{
	if (!x->have_tm) {
		time_t t = x->rq->now;
		if (localtime_r(&t, &x->tm) == NULL)
			memset(&x->tm, 0, sizeof(x->tm));
		x->have_tm = true;
	}
	return &x->tm;
}

static bool when_match(const struct pe_when *w, struct evalctx *x);

static bool argv_match(const struct pe_when *w, struct evalctx *x)
{
	const struct pe_request *rq = x->rq;
	if (w->argc_min >= 0 && rq->argc < (size_t)w->argc_min)
		return false;
	if (w->argc_max >= 0 && rq->argc > (size_t)w->argc_max)
		return false;
	for (uint32_t i = 0; i < w->n_argv; i++) {
		const struct pe_argcond *a = &w->argv[i];
		long long pos = a->pos < 0 ? (long long)rq->argc + a->pos : a->pos;
		/* A missing argument is matched as "" so `!x` holds and `x` does not. */
		const char *s = pos >= 0 && (size_t)pos < rq->argc ? rq->argv[pos] : "";
		if (!list_match1(&a->pats, s))
			return false;
	}
	if (w->anyarg.n > 0) {
		/* Holds when some argument after argv[0] satisfies the list. */
		bool hit = false;
		for (size_t i = 1; !hit && i < rq->argc; i++)
			hit = list_match1(&w->anyarg, rq->argv[i]);
		if (!hit)
			return false;
	}
	if (w->argline.n > 0) {
		const char *line = get_argline(x);
		if (line == NULL || !list_match1(&w->argline, line))
			return false;
	}
	return true;
}

static bool time_match(const struct pe_when *w, struct evalctx *x)
{
	const struct tm *tm = get_tm(x);
	if (w->weekdays != 0 && !(w->weekdays & (1u << tm->tm_wday)))
		return false;
	if (w->n_times > 0) {
		unsigned m = (unsigned)(tm->tm_hour * 60 + tm->tm_min);
		bool hit = false;
		for (uint32_t i = 0; !hit && i < w->n_times; i++) {
			const struct pe_window *t = &w->times[i];
			if (t->start <= t->end)
				hit = m >= t->start && m < t->end;
			else
				hit = m >= t->start || m < t->end;
		}
		if (!hit)
			return false;
	}
	return true;
}

/* Cheapest and most selective conditions first: most rules fail on mode or user. */
static bool when_match(const struct pe_when *w, struct evalctx *x)
{
	const struct pe_request *rq = x->rq;

	if (w->modes != 0 && !(w->modes & (1u << rq->mode)))
		return false;
	if (w->user.n > 0 && !list_match1(&w->user, rq->user))
		return false;
	if (w->uid.n > 0) {
		if (x->uidbuf[0] == '\0')
			snprintf(x->uidbuf, sizeof(x->uidbuf), "%lld", rq->uid);
		if (!list_match1(&w->uid, x->uidbuf))
			return false;
	}
	if (w->host.n > 0 && !list_match1(&w->host, rq->host))
		return false;
	if (w->command.n > 0 && !list_match1(&w->command, rq->command))
		return false;
	if (w->group.n > 0 && !list_match_any(&w->group, rq->groups, rq->n_groups, rq->group))
		return false;
	if (w->shell.n > 0 && !list_match2(&w->shell, rq->shell, basename_of(rq->shell)))
		return false;
	if (w->cwd.n > 0 && !list_match1(&w->cwd, rq->cwd))
		return false;
	if (w->tty.n > 0 && !list_match1(&w->tty, rq->tty))
		return false;
	if ((w->n_argv > 0 || w->anyarg.n > 0 || w->argline.n > 0 || w->argc_min >= 0 ||
	     w->argc_max >= 0) &&
	    !argv_match(w, x))
		return false;
	if ((w->weekdays != 0 || w->n_times > 0) && !time_match(w, x))
		return false;
	for (uint32_t i = 0; i < w->n_nots; i++)
		if (when_match(&w->nots[i], x))
			return false;
	return true;
}

bool pe_eval(const struct pe_policy *p, const struct pe_request *rq, struct pe_result *res)
{
	struct evalctx x;

	memset(&x, 0, sizeof(x));
	x.rq = rq;
	res->accept = false;
	res->rule = -1;
	res->reason = "no rule accepted the request (default deny)";
	res->n_matched = 0;
	memset(res->vars, 0, sizeof(res->vars));

	for (uint32_t i = 0; p != NULL && i < p->n_rules; i++) {
		const struct pe_rule *r = &p->rules[i];
		if (!when_match(&r->when, &x))
			continue;
		if (res->matched != NULL && res->n_matched < res->matched_cap)
			res->matched[res->n_matched] = i;
		res->n_matched++;
		for (uint32_t s = 0; s < r->n_sets; s++)
			res->vars[r->sets[s].var] = &r->sets[s];
		if (r->decision != PE_NONE) {
			res->accept = r->decision == PE_ACCEPT;
			res->rule = (int)i;
			res->reason = r->reason != NULL ? r->reason
				      : res->accept ? ""
						    : "rejected by policy";
			break;
		}
	}
	free(x.argline);
	return res->accept;
}

static bool known_escape(char c)
{
	return strchr("uUghiTDcbmp%", c) != NULL && c != '\0';
}

const char *pe_template_check(const char *tmpl)
{
	for (const char *p = tmpl; *p; p++) {
		if (*p != '%')
			continue;
		if (!known_escape(p[1]))
			return p;
		p++;
	}
	return NULL;
}

size_t pe_expand(const char *tmpl, const struct pe_request *rq, char *buf, size_t len)
{
	size_t o = 0;
	char tmp[32];
	struct tm tm;
	time_t t = rq->now;

	if (len == 0)
		return 0;
	for (const char *p = tmpl; *p; p++) {
		const char *add = NULL;
		char one[2] = {*p, '\0'};
		if (*p != '%' || p[1] == '\0') {
			add = one;
		} else {
			p++;
			switch (*p) {
			case 'u':
				add = rq->user;
				break;
			case 'U':
				snprintf(tmp, sizeof(tmp), "%lld", rq->uid);
				add = tmp;
				break;
			case 'g':
				add = rq->group;
				break;
			case 'h':
				add = rq->host;
				break;
			case 'i':
				add = rq->uniqueid;
				break;
			case 'T':
			case 'D':
				if (localtime_r(&t, &tm) == NULL)
					memset(&tm, 0, sizeof(tm));
				strftime(tmp, sizeof(tmp), *p == 'T' ? "%Y%m%d-%H%M%S" : "%Y%m%d", &tm);
				add = tmp;
				break;
			case 'c':
				add = rq->command;
				break;
			case 'b':
				add = basename_of(rq->command);
				break;
			case 'm':
				add = pe_mode_name(rq->mode);
				break;
			case 'p':
				snprintf(tmp, sizeof(tmp), "%lld", rq->pid);
				add = tmp;
				break;
			case '%':
				add = "%";
				break;
			default:
				/* The loader refuses unknown escapes; keep them literally if one slips by. */
				one[0] = '%';
				add = one;
				p--;
				break;
			}
		}
		if (add == NULL)
			add = "";
		for (; *add && o + 1 < len; add++)
			buf[o++] = *add;
	}
	buf[o] = '\0';
	return o;
}

/* The arena: a chain of blocks, freed together with the policy. */
struct pe_block {
	struct pe_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct pe_arena {
	struct pe_block *head;
};

struct pe_arena *pe_arena_new(void)
{
	return calloc(1, sizeof(struct pe_arena));
}

void pe_arena_free(struct pe_arena *a)
{
	if (a == NULL)
		return;
	struct pe_block *b = a->head;
	while (b != NULL) {
		struct pe_block *n = b->next;
		free(b);
		b = n;
	}
	free(a);
}

void *pe_arena_alloc(struct pe_arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	size = (size + align - 1) / align * align;
	if (size == 0)
		size = align;
	struct pe_block *b = a->head;
	if (b == NULL || b->cap - b->used < size) {
		size_t cap = size > 32768 ? size : 32768;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *pe_arena_strdup(struct pe_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = pe_arena_alloc(a, n);
	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

void pe_policy_free(struct pe_policy *p)
{
	if (p == NULL)
		return;
	pe_arena_free(p->arena);
	free(p);
}
