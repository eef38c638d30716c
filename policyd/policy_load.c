/* SPDX-License-Identifier: ISC */
/* The policy.yaml loader: YAML tree (lib/conf) → checked, precompiled rules with file:line:col errors. */
#include "policy_load.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "err.h"
#include "match.h"

/* A named list: its node, then (once resolved) its flattened entries. */
struct namedlist {
	const char *name;
	const struct pb_yaml_node *key;
	const struct pb_yaml_node *value;
	int state; /* 0 unresolved, 1 resolving (cycle guard), 2 done */
	const char **items;
	bool *neg;
	uint32_t n;
};

/* A growable vector of (string, negated) entries while a list is built. */
struct strvec {
	const char **s;
	bool *neg;
	uint32_t n, cap;
};

struct loader {
	struct pe_arena *a;
	struct pb_conf_err *err;
	EVP_MD_CTX *md;
	bool allow_include;
	struct pb_yaml_doc *docs[PD_POLICY_MAX_FILES];
	char *real[PD_POLICY_MAX_FILES]; /* realpath of each file, for include cycles */
	const char *files[PD_POLICY_MAX_FILES];
	uint32_t n_docs;
	const char *stack[PD_POLICY_MAX_DEPTH + 1]; /* realpaths being read */
	int depth;
	const struct pb_yaml_node **rule_nodes;
	uint32_t n_rules, cap_rules;
	struct namedlist *lists;
	uint32_t n_lists, cap_lists;
	bool uses_time, uses_argline;
};

static int read_file(const char *path, char **buf, size_t *len, struct pb_conf_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *b = NULL;
	size_t have = 0, cap;
	int rc = PB_ERR_IO;

	if (fd < 0) {
		rc = errno == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO;
		pb_yaml_errf(err, NULL, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pb_yaml_errf(err, NULL, "%s: not a regular file", path);
		goto done;
	}
	if ((uint64_t)st.st_size > PB_YAML_MAX_BYTES) {
		pb_yaml_errf(err, NULL, "%s: larger than %u bytes", path, PB_YAML_MAX_BYTES);
		rc = PB_ERR_LIMIT;
		goto done;
	}
	cap = (size_t)st.st_size + 1;
	b = malloc(cap);
	if (b == NULL) {
		rc = PB_ERR_NOMEM;
		pb_yaml_errf(err, NULL, "%s: out of memory", path);
		goto done;
	}
	for (;;) {
		ssize_t r = read(fd, b + have, cap - have);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			pb_yaml_errf(err, NULL, "%s: %s", path, strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		have += (size_t)r;
		if (have == cap) {
			/* The file grew while we read it: refuse rather than guess. */
			pb_yaml_errf(err, NULL, "%s: changed while being read", path);
			goto done;
		}
	}
	*buf = b;
	*len = have;
	b = NULL;
	rc = 0;
done:
	free(b);
	close(fd);
	return rc;
}

static int oom(struct loader *L)
{
	pb_yaml_errf(L->err, NULL, "out of memory");
	return PB_ERR_NOMEM;
}

/* Copy a string out of a YAML document into the policy's arena (documents are freed after loading). */
static int keep(struct loader *L, const char **s)
{
	if (*s == NULL)
		return 0;
	char *c = pe_arena_strdup(L->a, *s);
	if (c == NULL)
		return oom(L);
	*s = c;
	return 0;
}

static int vec_push(struct loader *L, struct strvec *v, const char *s, bool neg)
{
	if (v->n == v->cap) {
		uint32_t nc = v->cap ? v->cap * 2 : 8;
		const char **ns = realloc(v->s, nc * sizeof(*ns));
		if (ns == NULL)
			return oom(L);
		v->s = ns;
		bool *nn = realloc(v->neg, nc * sizeof(*nn));
		if (nn == NULL)
			return oom(L);
		v->neg = nn;
		v->cap = nc;
	}
	v->s[v->n] = s;
	v->neg[v->n] = neg;
	v->n++;
	return 0;
}

static void vec_free(struct strvec *v)
{
	free(v->s);
	free(v->neg);
	memset(v, 0, sizeof(*v));
}

static struct namedlist *find_list(struct loader *L, const char *name)
{
	for (uint32_t i = 0; i < L->n_lists; i++)
		if (strcmp(L->lists[i].name, name) == 0)
			return &L->lists[i];
	return NULL;
}

static int resolve_list(struct loader *L, struct namedlist *nl);

/*
 * Append the entries a value node stands for: a scalar or a sequence of
 * scalars; "@name" brings in a named list, "!@name" the same negated; a
 * leading '!' negates one entry ("\!" is a literal '!').
 */
static int collect(struct loader *L, const struct pb_yaml_node *n, const char *what,
		   struct strvec *out)
{
	int rc;
	if (n == NULL || pb_yaml_is_null(n))
		return pb_yaml_errf(L->err, n, "%s: a value is required", what);
	if (n->type == PB_YAML_SEQUENCE) {
		if (n->n == 0)
			return pb_yaml_errf(L->err, n, "%s: empty list", what);
		for (size_t i = 0; i < n->n; i++) {
			if (n->items[i]->type != PB_YAML_SCALAR)
				return pb_yaml_errf(L->err, n->items[i],
						    "%s: expected a string, got %s", what,
						    pb_yaml_describe(n->items[i]));
			rc = collect(L, n->items[i], what, out);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	const char *s;
	rc = pb_yaml_str(n, what, &s, L->err);
	if (rc < 0)
		return rc;
	bool neg = false;
	if (s[0] == '!') {
		neg = true;
		s++;
	}
	if (s[0] == '@') {
		struct namedlist *nl = find_list(L, s + 1);
		if (nl == NULL)
			return pb_yaml_errf(L->err, n, "%s: no list named '%s' (see `lists:`)", what,
					    s + 1);
		rc = resolve_list(L, nl);
		if (rc < 0)
			return rc;
		for (uint32_t i = 0; i < nl->n; i++) {
			rc = vec_push(L, out, nl->items[i], nl->neg[i] != neg);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (s[0] == '\\' && (s[1] == '!' || s[1] == '@'))
		s++;
	char *copy = pe_arena_strdup(L->a, s);
	if (copy == NULL)
		return oom(L);
	return vec_push(L, out, copy, neg);
}

static int resolve_list(struct loader *L, struct namedlist *nl)
{
	struct strvec v = {0};
	int rc;
	char what[128];

	if (nl->state == 2)
		return 0;
	if (nl->state == 1)
		return pb_yaml_errf(L->err, nl->key, "list '%s' includes itself", nl->name);
	nl->state = 1;
	snprintf(what, sizeof(what), "list '%s'", nl->name);
	rc = collect(L, nl->value, what, &v);
	if (rc < 0)
		goto done;
	nl->items = pe_arena_alloc(L->a, (v.n ? v.n : 1) * sizeof(*nl->items));
	nl->neg = pe_arena_alloc(L->a, (v.n ? v.n : 1) * sizeof(*nl->neg));
	if (nl->items == NULL || nl->neg == NULL) {
		rc = oom(L);
		goto done;
	}
	memcpy(nl->items, v.s, v.n * sizeof(*v.s));
	memcpy(nl->neg, v.neg, v.n * sizeof(*v.neg));
	nl->n = v.n;
	nl->state = 2;
done:
	vec_free(&v);
	return rc;
}

/* Compile a condition value into patterns: literal where there is nothing to match. */
static int patlist(struct loader *L, const struct pb_yaml_node *n, const char *what, int flags,
		   struct pe_patlist *pl)
{
	struct strvec v = {0};
	int rc = collect(L, n, what, &v);
	if (rc < 0)
		goto done;
	pl->v = pe_arena_alloc(L->a, v.n * sizeof(*pl->v));
	if (pl->v == NULL) {
		rc = oom(L);
		goto done;
	}
	for (uint32_t i = 0; i < v.n; i++) {
		pe_pat_compile(&pl->v[i], v.s[i], flags);
		pl->v[i].neg = v.neg[i];
	}
	pl->n = v.n;
	pl->flags = flags;
	uint64_t *bits = pe_arena_alloc(L->a, 4 * sizeof(uint64_t));
	if (bits == NULL) {
		rc = oom(L);
		goto done;
	}
	pe_patlist_index(pl, bits);
done:
	vec_free(&v);
	return rc;
}

static int parse_weekday(const char *s, size_t len)
{
	static const char *const names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	static const char *const full[] = {"sunday",   "monday", "tuesday", "wednesday",
					   "thursday", "friday", "saturday"};
	for (int i = 0; i < 7; i++) {
		if ((len == 3 && strncasecmp(s, names[i], 3) == 0) ||
		    (len == strlen(full[i]) && strncasecmp(s, full[i], len) == 0))
			return i;
	}
	return -1;
}

static int weekdays(struct loader *L, const struct pb_yaml_node *n, uint8_t *mask)
{
	struct strvec v = {0};
	uint8_t pos = 0, negm = 0;
	bool any_pos = false;
	int rc = collect(L, n, "weekday", &v);
	if (rc < 0)
		goto done;
	for (uint32_t i = 0; i < v.n; i++) {
		const char *s = v.s[i];
		const char *dash = strchr(s, '-');
		int a, b;
		if (dash != NULL) {
			a = parse_weekday(s, (size_t)(dash - s));
			b = parse_weekday(dash + 1, strlen(dash + 1));
		} else {
			a = b = parse_weekday(s, strlen(s));
		}
		if (a < 0 || b < 0) {
			rc = pb_yaml_errf(L->err, n,
					  "weekday: '%s' is not a day (mon..sun) or a range (mon-fri)", s);
			goto done;
		}
		uint8_t m = 0;
		for (int d = a;; d = (d + 1) % 7) {
			m |= (uint8_t)(1u << d);
			if (d == b)
				break;
		}
		if (v.neg[i]) {
			negm |= m;
		} else {
			pos |= m;
			any_pos = true;
		}
	}
	*mask = (uint8_t)((any_pos ? pos : 0x7f) & ~negm);
	if (*mask == 0)
		rc = pb_yaml_errf(L->err, n, "weekday: the days given exclude every day");
done:
	vec_free(&v);
	return rc;
}

static bool parse_hhmm(const char *s, const char *e, uint16_t *out)
{
	unsigned h = 0, m = 0;
	const char *p = s;
	int nd = 0;
	while (p < e && *p >= '0' && *p <= '9' && nd < 2) {
		h = h * 10 + (unsigned)(*p++ - '0');
		nd++;
	}
	if (nd == 0 || p >= e || *p != ':')
		return false;
	p++;
	nd = 0;
	while (p < e && *p >= '0' && *p <= '9' && nd < 2) {
		m = m * 10 + (unsigned)(*p++ - '0');
		nd++;
	}
	if (nd != 2 || p != e || m > 59 || h > 24 || (h == 24 && m != 0))
		return false;
	*out = (uint16_t)(h * 60 + m);
	return true;
}

static int windows(struct loader *L, const struct pb_yaml_node *n, struct pe_when *w)
{
	struct strvec v = {0};
	int rc = collect(L, n, "time", &v);
	if (rc < 0)
		goto done;
	w->times = pe_arena_alloc(L->a, v.n * sizeof(*w->times));
	if (w->times == NULL) {
		rc = oom(L);
		goto done;
	}
	for (uint32_t i = 0; i < v.n; i++) {
		const char *s = v.s[i];
		const char *dash = strchr(s, '-');
		if (v.neg[i] || dash == NULL || !parse_hhmm(s, dash, &w->times[i].start) ||
		    !parse_hhmm(dash + 1, s + strlen(s), &w->times[i].end) ||
		    w->times[i].start == w->times[i].end) {
			rc = pb_yaml_errf(L->err, n,
					  "time: '%s%s' is not a window HH:MM-HH:MM (e.g. 08:00-18:30)",
					  v.neg[i] ? "!" : "", s);
			goto done;
		}
	}
	w->n_times = v.n;
done:
	vec_free(&v);
	return rc;
}

static int modes(struct loader *L, const struct pb_yaml_node *n, uint8_t *mask)
{
	struct strvec v = {0};
	uint8_t pos = 0, negm = 0;
	bool any_pos = false;
	int rc = collect(L, n, "mode", &v);
	if (rc < 0)
		goto done;
	for (uint32_t i = 0; i < v.n; i++) {
		uint8_t m = 0;
		for (int k = 0; k < PE_MODE_COUNT; k++)
			if (pb_match(v.s[i], pe_mode_name((enum pe_mode)k), PB_MATCH_EXTGLOB))
				m |= (uint8_t)(1u << k);
		if (m == 0) {
			rc = pb_yaml_errf(L->err, n,
					  "mode: '%s' names no request kind (shell start, shell command, "
					  "shell builtin, shell redirect)",
					  v.s[i]);
			goto done;
		}
		if (v.neg[i]) {
			negm |= m;
		} else {
			pos |= m;
			any_pos = true;
		}
	}
	*mask = (uint8_t)((any_pos ? pos : (1u << PE_MODE_COUNT) - 1) & ~negm);
	if (*mask == 0)
		rc = pb_yaml_errf(L->err, n, "mode: the kinds given exclude every request");
done:
	vec_free(&v);
	return rc;
}

static int parse_argpos(const char *s, int *pos)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < -4096 || v > 4096)
		return -1;
	*pos = (int)v;
	return 0;
}

static int argc_range(struct loader *L, const struct pb_yaml_node *n, struct pe_when *w)
{
	const char *s;
	int rc = pb_yaml_str(n, "argc", &s, L->err);
	if (rc < 0)
		return rc;
	/* "2", "1-3", "2-" (at least), "-3" (at most) */
	const char *dash = strchr(s, '-');
	char *end;
	long a = -1, b = -1;
	if (dash == NULL) {
		a = b = strtol(s, &end, 10);
		if (s[0] == '\0' || *end != '\0')
			goto bad;
	} else {
		if (dash != s) {
			a = strtol(s, &end, 10);
			if (end != dash)
				goto bad;
		}
		if (dash[1] != '\0') {
			b = strtol(dash + 1, &end, 10);
			if (*end != '\0')
				goto bad;
		}
		if (a < 0 && b < 0)
			goto bad;
	}
	if (a > 65536 || b > 65536 || (a >= 0 && b >= 0 && a > b) || (dash == NULL && a < 0))
		goto bad;
	w->argc_min = (int)a;
	w->argc_max = (int)b;
	return 0;
bad:
	return pb_yaml_errf(L->err, n, "argc: '%s' is not a count (2) or a range (1-3, 2-, -3)", s);
}

static int compile_when(struct loader *L, const struct pb_yaml_node *n, struct pe_when *w, int depth);

static const char *const when_keys[] = {"mode",	  "user",  "uid",    "group", "host",
					"command", "argv",  "argc",   "argline", "anyarg",
					"cwd",	  "tty",   "shell",  "weekday", "time",
					"not",	  NULL};

static int compile_nots(struct loader *L, const struct pb_yaml_node *n, struct pe_when *w, int depth)
{
	size_t cnt = n->type == PB_YAML_SEQUENCE ? n->n : 1;
	int rc;
	if (n->type == PB_YAML_SEQUENCE && n->n == 0)
		return pb_yaml_errf(L->err, n, "not: empty list");
	w->nots = pe_arena_alloc(L->a, cnt * sizeof(*w->nots));
	if (w->nots == NULL)
		return oom(L);
	for (size_t i = 0; i < cnt; i++) {
		const struct pb_yaml_node *c = n->type == PB_YAML_SEQUENCE ? n->items[i] : n;
		rc = compile_when(L, c, &w->nots[i], depth + 1);
		if (rc < 0)
			return rc;
	}
	w->n_nots = (uint32_t)cnt;
	return 0;
}

static int compile_when(struct loader *L, const struct pb_yaml_node *n, struct pe_when *w, int depth)
{
	int rc;
	const int ext = PB_MATCH_EXTGLOB;

	w->argc_min = w->argc_max = -1;
	if (depth > 8)
		return pb_yaml_errf(L->err, n, "not: nested too deeply");
	rc = pb_yaml_expect(n, PB_YAML_MAPPING, depth ? "not" : "when", L->err);
	if (rc < 0)
		return rc;
	rc = pb_yaml_map_check_keys(n, depth ? "not" : "when", when_keys, L->err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n->n; i++) {
		const char *k = n->pairs[i].key->str;
		const struct pb_yaml_node *v = n->pairs[i].value;
		if (strcmp(k, "mode") == 0)
			rc = modes(L, v, &w->modes);
		else if (strcmp(k, "user") == 0)
			rc = patlist(L, v, "user", ext, &w->user);
		else if (strcmp(k, "uid") == 0)
			rc = patlist(L, v, "uid", ext, &w->uid);
		else if (strcmp(k, "group") == 0)
			rc = patlist(L, v, "group", ext, &w->group);
		else if (strcmp(k, "host") == 0)
			rc = patlist(L, v, "host", ext | PB_MATCH_CASEFOLD, &w->host);
		else if (strcmp(k, "command") == 0)
			rc = patlist(L, v, "command", ext | PB_MATCH_PATHNAME, &w->command);
		else if (strcmp(k, "cwd") == 0)
			rc = patlist(L, v, "cwd", ext, &w->cwd);
		else if (strcmp(k, "tty") == 0)
			rc = patlist(L, v, "tty", ext, &w->tty);
		else if (strcmp(k, "shell") == 0)
			rc = patlist(L, v, "shell", ext, &w->shell);
		else if (strcmp(k, "argline") == 0) {
			rc = patlist(L, v, "argline", ext, &w->argline);
			L->uses_argline = true;
		} else if (strcmp(k, "anyarg") == 0)
			rc = patlist(L, v, "anyarg", ext, &w->anyarg);
		else if (strcmp(k, "argc") == 0)
			rc = argc_range(L, v, w);
		else if (strcmp(k, "weekday") == 0) {
			rc = weekdays(L, v, &w->weekdays);
			L->uses_time = true;
		} else if (strcmp(k, "time") == 0) {
			rc = windows(L, v, w);
			L->uses_time = true;
		} else if (strcmp(k, "not") == 0)
			rc = compile_nots(L, v, w, depth);
		else if (strcmp(k, "argv") == 0) {
			rc = pb_yaml_expect(v, PB_YAML_MAPPING,
					    "argv (position: pattern, e.g. 1: \"-l*\")", L->err);
			if (rc < 0)
				return rc;
			w->argv = pe_arena_alloc(L->a, v->n * sizeof(*w->argv));
			if (w->argv == NULL)
				return oom(L);
			for (size_t j = 0; j < v->n; j++) {
				char what[64];
				if (parse_argpos(v->pairs[j].key->str, &w->argv[j].pos) < 0)
					return pb_yaml_errf(L->err, v->pairs[j].key,
							    "argv: '%s' is not a position (0, 1, ..., -1 for the last)",
							    v->pairs[j].key->str);
				snprintf(what, sizeof(what), "argv %d", w->argv[j].pos);
				rc = patlist(L, v->pairs[j].value, what, ext, &w->argv[j].pats);
				if (rc < 0)
					return rc;
			}
			w->n_argv = (uint32_t)v->n;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int compile_set(struct loader *L, const struct pb_yaml_node *n, struct pe_rule *r)
{
	int rc = pb_yaml_expect(n, PB_YAML_MAPPING, "set", L->err);
	if (rc < 0)
		return rc;
	r->sets = pe_arena_alloc(L->a, (n->n ? n->n : 1) * sizeof(*r->sets));
	if (r->sets == NULL)
		return oom(L);
	for (size_t i = 0; i < n->n; i++) {
		const struct pb_yaml_node *k = n->pairs[i].key, *v = n->pairs[i].value;
		struct pe_set *s = &r->sets[i];
		int var = pe_var_parse(k->str);
		if (var < 0)
			return pb_yaml_errf(L->err, k,
					    "set: unknown variable '%s' (see policy.yaml(5) for the list)",
					    k->str);
		s->var = (enum pe_var)var;
		switch (pe_var_type(s->var)) {
		case PE_VT_STRING: {
			const char *str, *bad;
			rc = pb_yaml_str(v, k->str, &str, L->err);
			if (rc < 0)
				return rc;
			bad = pe_template_check(str);
			if (bad != NULL)
				return pb_yaml_errf(L->err, v,
						    "%s: unknown template escape '%%%c' (known: %%u %%U %%g %%h %%i %%T %%D %%c %%b %%m %%p %%%%)",
						    k->str, bad[1] ? bad[1] : ' ');
			s->str = str;
			rc = keep(L, &s->str);
			if (rc < 0)
				return rc;
			break;
		}
		case PE_VT_UMASK: {
			mode_t m;
			rc = pb_yaml_mode(v, k->str, &m, L->err);
			if (rc < 0)
				return rc;
			if (m > 0777)
				return pb_yaml_errf(L->err, v, "%s: a umask is at most 0777", k->str);
			s->num = (unsigned)m;
			break;
		}
		case PE_VT_BOOL:
			rc = pb_yaml_bool(v, k->str, &s->flag, L->err);
			if (rc < 0)
				return rc;
			break;
		case PE_VT_LIST: {
			struct strvec sv = {0};
			if (v->type == PB_YAML_SEQUENCE && v->n == 0) {
				/* An explicit empty list clears what an earlier rule set. */
				s->n_list = 0;
				s->list = NULL;
				break;
			}
			rc = collect(L, v, k->str, &sv);
			if (rc == 0) {
				s->list = pe_arena_alloc(L->a, sv.n * sizeof(*s->list));
				if (s->list == NULL)
					rc = oom(L);
			}
			for (uint32_t j = 0; rc == 0 && j < sv.n; j++) {
				if (sv.neg[j])
					rc = pb_yaml_errf(L->err, v, "%s: '!%s': negation means nothing in a value",
							  k->str, sv.s[j]);
				else
					s->list[j] = sv.s[j];
			}
			s->n_list = sv.n;
			vec_free(&sv);
			if (rc < 0)
				return rc;
			break;
		}
		}
	}
	r->n_sets = (uint32_t)n->n;
	return 0;
}

static const char *const rule_keys[] = {"name", "description", "when", "set", "accept", "reject", NULL};

static int compile_rule(struct loader *L, const struct pb_yaml_node *n, struct pe_policy *p,
			struct pe_rule *r, uint32_t idx)
{
	const struct pb_yaml_node *v;
	int rc;

	rc = pb_yaml_expect(n, PB_YAML_MAPPING, "rule", L->err);
	if (rc < 0)
		return rc;
	rc = pb_yaml_map_check_keys(n, "rule", rule_keys, L->err);
	if (rc < 0)
		return rc;
	r->file = n->file;
	rc = keep(L, &r->file);
	if (rc < 0)
		return rc;
	r->line = (int)n->line;
	r->col = (int)n->col;
	v = pb_yaml_map_get(n, "name");
	if (v == NULL)
		return pb_yaml_errf(L->err, n, "rule: `name:` is required (it is logged with every decision)");
	rc = pb_yaml_str(v, "name", &r->name, L->err);
	if (rc < 0)
		return rc;
	if (r->name[0] == '\0')
		return pb_yaml_errf(L->err, v, "name: must not be empty");
	for (uint32_t i = 0; i < idx; i++)
		if (strcmp(p->rules[i].name, r->name) == 0)
			return pb_yaml_errf(L->err, v, "name: '%s' is already the name of the rule at %s:%d:%d",
					    r->name, p->rules[i].file, p->rules[i].line, p->rules[i].col);
	r->when.argc_min = r->when.argc_max = -1;
	v = pb_yaml_map_get(n, "when");
	if (v != NULL && !pb_yaml_is_null(v)) {
		rc = compile_when(L, v, &r->when, 0);
		if (rc < 0)
			return rc;
	}
	v = pb_yaml_map_get(n, "set");
	if (v != NULL && !pb_yaml_is_null(v)) {
		rc = compile_set(L, v, r);
		if (rc < 0)
			return rc;
	}
	const struct pb_yaml_node *acc = pb_yaml_map_get(n, "accept");
	const struct pb_yaml_node *rej = pb_yaml_map_get(n, "reject");
	if (acc != NULL && rej != NULL)
		return pb_yaml_errf(L->err, rej, "rule '%s': both accept and reject", r->name);
	if (acc != NULL) {
		bool yes;
		if (acc->type == PB_YAML_SCALAR && acc->style == PB_YAML_PLAIN &&
		    pb_yaml_bool(acc, "accept", &yes, NULL) == 0) {
			if (!yes)
				return pb_yaml_errf(L->err, acc,
						    "accept: false is not a decision (leave it out, or use reject)");
		} else {
			rc = pb_yaml_str(acc, "accept", &r->reason, L->err);
			if (rc < 0)
				return rc;
		}
		r->decision = PE_ACCEPT;
	} else if (rej != NULL) {
		bool yes;
		if (rej->type == PB_YAML_SCALAR && rej->style == PB_YAML_PLAIN &&
		    pb_yaml_bool(rej, "reject", &yes, NULL) == 0) {
			if (!yes)
				return pb_yaml_errf(L->err, rej,
						    "reject: false is not a decision (leave it out, or use accept)");
		} else {
			rc = pb_yaml_str(rej, "reject", &r->reason, L->err);
			if (rc < 0)
				return rc;
		}
		r->decision = PE_REJECT;
	}
	rc = keep(L, &r->name);
	if (rc == 0)
		rc = keep(L, &r->reason);
	if (rc < 0)
		return rc;
	if (r->reason != NULL) {
		const char *bad = pe_template_check(r->reason);
		if (bad != NULL)
			return pb_yaml_errf(L->err, acc != NULL ? acc : rej,
					    "unknown template escape '%%%c' in the reason", bad[1] ? bad[1] : ' ');
	}
	return 0;
}

static int load_file(struct loader *L, const char *path, const struct pb_yaml_node *from);

static int add_rule_node(struct loader *L, const struct pb_yaml_node *n)
{
	if (L->n_rules == L->cap_rules) {
		uint32_t nc = L->cap_rules ? L->cap_rules * 2 : 64;
		const struct pb_yaml_node **nr = realloc(L->rule_nodes, nc * sizeof(*nr));
		if (nr == NULL)
			return oom(L);
		L->rule_nodes = nr;
		L->cap_rules = nc;
	}
	L->rule_nodes[L->n_rules++] = n;
	return 0;
}

/* Resolve an include path relative to the including file's directory. */
static int include(struct loader *L, const struct pb_yaml_node *n, const char *cur)
{
	const char *rel;
	char path[PATH_MAX];
	int rc;

	if (!L->allow_include)
		return pb_yaml_errf(L->err, n, "include: not allowed here");
	rc = pb_yaml_str(n, "include", &rel, L->err);
	if (rc < 0)
		return rc;
	if (rel[0] == '/') {
		if (snprintf(path, sizeof(path), "%s", rel) >= (int)sizeof(path))
			return pb_yaml_errf(L->err, n, "include: path too long");
	} else {
		const char *slash = strrchr(cur, '/');
		int dl = slash != NULL ? (int)(slash - cur) : 0;
		if (snprintf(path, sizeof(path), "%.*s%s%s", dl, cur, slash != NULL ? "/" : "", rel) >=
		    (int)sizeof(path))
			return pb_yaml_errf(L->err, n, "include: path too long");
	}
	return load_file(L, path, n);
}

static const char *const top_keys[] = {"include", "lists", "rules", NULL};

/* Process one parsed document: includes first, then lists, then rules in order. */
static int load_doc(struct loader *L, const struct pb_yaml_node *root, const char *file)
{
	const struct pb_yaml_node *v;
	int rc;

	if (root == NULL)
		return 0; /* an empty file holds no rules */
	rc = pb_yaml_expect(root, PB_YAML_MAPPING, "policy", L->err);
	if (rc < 0)
		return rc;
	rc = pb_yaml_map_check_keys(root, "policy", top_keys, L->err);
	if (rc < 0)
		return rc;
	v = pb_yaml_map_get(root, "lists");
	if (v != NULL && !pb_yaml_is_null(v)) {
		rc = pb_yaml_expect(v, PB_YAML_MAPPING, "lists", L->err);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < v->n; i++) {
			const struct pb_yaml_node *k = v->pairs[i].key;
			struct namedlist *old = find_list(L, k->str);
			if (old != NULL)
				return pb_yaml_errf(L->err, k, "lists: '%s' is already defined at %s:%u:%u",
						    k->str, old->key->file, old->key->line, old->key->col);
			if (k->str[0] == '\0' || strpbrk(k->str, "@! ") != NULL)
				return pb_yaml_errf(L->err, k, "lists: '%s' is not a list name", k->str);
			if (L->n_lists == L->cap_lists) {
				uint32_t nc = L->cap_lists ? L->cap_lists * 2 : 16;
				struct namedlist *nl = realloc(L->lists, nc * sizeof(*nl));
				if (nl == NULL)
					return oom(L);
				L->lists = nl;
				L->cap_lists = nc;
			}
			struct namedlist *nl = &L->lists[L->n_lists++];
			memset(nl, 0, sizeof(*nl));
			nl->name = k->str;
			nl->key = k;
			nl->value = v->pairs[i].value;
		}
	}
	v = pb_yaml_map_get(root, "include");
	if (v != NULL && !pb_yaml_is_null(v)) {
		if (v->type == PB_YAML_SEQUENCE) {
			for (size_t i = 0; i < v->n; i++) {
				rc = include(L, v->items[i], file);
				if (rc < 0)
					return rc;
			}
		} else {
			rc = include(L, v, file);
			if (rc < 0)
				return rc;
		}
	}
	v = pb_yaml_map_get(root, "rules");
	if (v != NULL && !pb_yaml_is_null(v)) {
		rc = pb_yaml_expect(v, PB_YAML_SEQUENCE, "rules", L->err);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < v->n; i++) {
			const struct pb_yaml_node *item = v->items[i];
			const struct pb_yaml_node *inc = pb_yaml_map_get(item, "include");
			if (item->type == PB_YAML_MAPPING && inc != NULL) {
				/* `- include: file` puts that file's rules here, in order. */
				if (item->n != 1)
					return pb_yaml_errf(L->err, item,
							    "rules: an include entry has no other keys");
				rc = include(L, inc, file);
			} else {
				rc = add_rule_node(L, item);
			}
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int take_doc(struct loader *L, const char *name, const char *buf, size_t len, char *real,
		    const struct pb_yaml_node *from)
{
	struct pb_yaml_doc *doc = NULL;
	int rc;

	if (L->n_docs == PD_POLICY_MAX_FILES) {
		free(real);
		return pb_yaml_errf(L->err, from, "include: more than %d policy files",
				    PD_POLICY_MAX_FILES);
	}
	rc = pb_yaml_load_buf(name, buf, len, &doc, L->err);
	if (rc < 0) {
		free(real);
		return rc;
	}
	if (EVP_DigestUpdate(L->md, buf, len) != 1) {
		pb_yaml_doc_free(doc);
		free(real);
		return oom(L);
	}
	L->docs[L->n_docs] = doc;
	L->real[L->n_docs] = real;
	L->files[L->n_docs] = pb_yaml_doc_file(doc);
	L->n_docs++;
	if (L->depth >= PD_POLICY_MAX_DEPTH)
		return pb_yaml_errf(L->err, from, "include: nested more than %d deep",
				    PD_POLICY_MAX_DEPTH);
	L->stack[L->depth++] = real;
	rc = load_doc(L, pb_yaml_doc_root(doc), pb_yaml_doc_file(doc));
	L->depth--;
	return rc;
}

static int load_file(struct loader *L, const char *path, const struct pb_yaml_node *from)
{
	char *buf = NULL, *real;
	size_t len = 0;
	int rc;

	real = realpath(path, NULL);
	if (real == NULL) {
		rc = errno == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO;
		if (from != NULL)
			pb_yaml_errf(L->err, from, "include: %s: %s", path, strerror(errno));
		else
			pb_yaml_errf(L->err, NULL, "%s: %s", path, strerror(errno));
		return from != NULL ? PB_ERR_CONF : rc;
	}
	for (int i = 0; i < L->depth; i++) {
		if (strcmp(L->stack[i], real) == 0) {
			free(real);
			return pb_yaml_errf(L->err, from, "include: %s includes itself", path);
		}
	}
	rc = read_file(path, &buf, &len, L->err);
	if (rc < 0) {
		free(real);
		if (from != NULL) {
			char msg[PB_CONF_ERRLEN];
			snprintf(msg, sizeof(msg), "%s", L->err->msg);
			pb_yaml_errf(L->err, from, "include: %s", msg);
			return PB_ERR_CONF;
		}
		return rc;
	}
	rc = take_doc(L, path, buf, len, real, from);
	free(buf);
	return rc;
}

static int finish(struct loader *L, const char *path, struct pe_policy **out)
{
	struct pe_policy *p = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int rc;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return oom(L);
	/* Lists first, so an unused broken list is an error too. */
	for (uint32_t i = 0; i < L->n_lists; i++) {
		rc = resolve_list(L, &L->lists[i]);
		if (rc < 0)
			goto fail;
	}
	p->rules = pe_arena_alloc(L->a, (L->n_rules ? L->n_rules : 1) * sizeof(*p->rules));
	if (p->rules == NULL) {
		rc = oom(L);
		goto fail;
	}
	for (uint32_t i = 0; i < L->n_rules; i++) {
		rc = compile_rule(L, L->rule_nodes[i], p, &p->rules[i], i);
		if (rc < 0)
			goto fail;
	}
	p->n_rules = L->n_rules;
	p->uses_time = L->uses_time;
	p->uses_argline = L->uses_argline;
	if (EVP_DigestFinal_ex(L->md, md, &mdlen) != 1) {
		rc = oom(L);
		goto fail;
	}
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(p->hash + 2 * i, 3, "%02x", md[i]);
	p->path = pe_arena_strdup(L->a, path);
	p->files = pe_arena_alloc(L->a, (L->n_docs ? L->n_docs : 1) * sizeof(*p->files));
	if (p->path == NULL || p->files == NULL) {
		rc = oom(L);
		goto fail;
	}
	for (uint32_t i = 0; i < L->n_docs; i++) {
		p->files[i] = pe_arena_strdup(L->a, L->files[i]);
		if (p->files[i] == NULL) {
			rc = oom(L);
			goto fail;
		}
	}
	p->n_files = L->n_docs;
	/* Every string was copied into the arena: the documents can go, the arena stays. */
	p->arena = L->a;
	L->a = NULL;
	*out = p;
	return 0;
fail:
	free(p);
	return rc;
}

static void loader_free(struct loader *L)
{
	for (uint32_t i = 0; i < L->n_docs; i++) {
		pb_yaml_doc_free(L->docs[i]);
		free(L->real[i]);
	}
	free(L->rule_nodes);
	free(L->lists);
	EVP_MD_CTX_free(L->md);
	pe_arena_free(L->a);
}

static int loader_init(struct loader *L, struct pb_conf_err *err)
{
	memset(L, 0, sizeof(*L));
	L->err = err;
	L->a = pe_arena_new();
	L->md = EVP_MD_CTX_new();
	if (L->a == NULL || L->md == NULL || EVP_DigestInit_ex(L->md, EVP_sha256(), NULL) != 1)
		return oom(L);
	return 0;
}

int pd_policy_load(const char *path, struct pe_policy **out, struct pb_conf_err *err)
{
	struct loader L;
	int rc = loader_init(&L, err);
	if (rc == 0) {
		L.allow_include = true;
		rc = load_file(&L, path, NULL);
	}
	if (rc == 0)
		rc = finish(&L, path, out);
	loader_free(&L);
	return rc;
}

int pd_policy_load_buf(const char *name, const void *buf, size_t len, struct pe_policy **out,
		       struct pb_conf_err *err)
{
	struct loader L;
	int rc = loader_init(&L, err);
	if (rc == 0) {
		char *real = strdup(name);
		rc = real != NULL ? take_doc(&L, name, buf, len, real, NULL) : oom(&L);
	}
	if (rc == 0)
		rc = finish(&L, name, out);
	loader_free(&L);
	return rc;
}
