/* SPDX-License-Identifier: ISC */
/* Word expansion: parts are expanded into a character buffer with per-character attributes, then split, globbed and unquoted. */
#include "expand.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arith.h"
#include "exec.h"
#include "jobs.h"
#include "match.h"
#include "options.h"
#include "shell.h"
#include "var.h"

/* Attributes of each character in the expansion buffer. */
enum {
	A_Q = 1,   /* quoted: matches literally, never split */
	A_S = 2,   /* from an unquoted expansion: subject to field splitting */
	A_BRK = 4, /* a field break between the words of "$@" / unquoted $@ $* (placeholder char) */
};

/* What the buffer is turned into. */
enum { XM_FIELDS, XM_STR, XM_PATTERN };

struct xb {
	struct strbuf s;   /* characters */
	struct strbuf a;   /* one attribute byte per character */
	size_t *q;         /* positions of quoted empty strings ("" or '') */
	int nq, capq;
	int mode;
	bool magic;        /* an unquoted *, ? or [ was added */
	int split_lits;    /* >0: inside the word of an unquoted ${x-word}: its unquoted text is split too */
	bool pat_dq_plain; /* a pattern word of a "${x#pat}": its top-level LIT_DQ text is pattern text */
};

static void expand_word_into(struct xb *x, union node *word, bool dq);

void arglist_add(struct arglist *al, char *s)
{
	if (al->n + 1 >= al->cap) {
		int ncap = al->cap ? al->cap * 2 : 16;
		char **nv = stalloc((size_t)ncap * sizeof *nv);
		if (al->n)
			memcpy(nv, al->v, (size_t)al->n * sizeof *nv);
		al->v = nv;
		al->cap = ncap;
	}
	al->v[al->n++] = s;
	al->v[al->n] = NULL;
}

static void xb_init(struct xb *x, int mode)
{
	sb_init(&x->s);
	sb_init(&x->a);
	x->q = NULL;
	x->nq = x->capq = 0;
	x->mode = mode;
	x->magic = false;
	x->split_lits = 0;
	x->pat_dq_plain = false;
}

static void add_qmark(struct xb *x)
{
	if (x->mode != XM_FIELDS)
		return;
	if (x->nq == x->capq) {
		int nc = x->capq ? x->capq * 2 : 4;
		size_t *nq = stalloc((size_t)nc * sizeof *nq);
		if (x->nq)
			memcpy(nq, x->q, (size_t)x->nq * sizeof *nq);
		x->q = nq;
		x->capq = nc;
	}
	x->q[x->nq++] = x->s.len;
}

static bool is_magic(char c)
{
	return c == '*' || c == '?' || c == '[';
}

/* Is s[i] the '(' that opens a ksh extended glob group @( *( +( ?( !( ? */
static bool ext_open(const char *s, size_t i)
{
	return s[i] == '(' && i > 0 && (s[i - 1] == '@' || s[i - 1] == '+' || s[i - 1] == '!');
}

/* Could s be a pattern? '*', '?', a '[' with a ']' after it, or an extended group. */
static bool has_magic(const char *s)
{
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '*':
		case '?':
			return true;
		case '[':
			if (strchr(p + 1, ']'))
				return true;
			break;
		case '(':
			if (p > s && (p[-1] == '@' || p[-1] == '+' || p[-1] == '!'))
				return true;
			break;
		default:
			break;
		}
	}
	return false;
}

/* Add n characters with one attribute. */
static void add_chars(struct xb *x, const char *s, size_t n, int attr)
{
	if (n == 0)
		return;
	sb_putn(&x->s, s, n);
	if (x->mode == XM_STR)
		return;
	/* One attribute byte per character: grow by n, then fill. */
	sb_putn(&x->a, s, n);
	memset(x->a.buf + x->a.len - n, attr, n);
	if (!(attr & A_Q) && !x->magic) {
		size_t base = x->s.len - n;
		for (size_t i = 0; i < n; i++)
			if (is_magic(s[i]) || (s[i] == '(' && ext_open(x->s.buf, base + i)))
				x->magic = true;
	}
}

/* An expansion's value: quoted inside "...", else split- and glob-able. */
static void add_value(struct xb *x, const char *s, size_t n, bool dq)
{
	add_chars(x, s, n, dq ? A_Q : A_S);
}

static void add_break(struct xb *x)
{
	sb_putc(&x->s, ' ');
	sb_putc(&x->a, A_BRK);
}

const char *tilde_dir(const char *user)
{
	if (user[0] == '\0') {
		const char *h = var_get("HOME");
		if (h)
			return h;
		struct passwd *pw = getpwuid(getuid());
		return pw ? ststrdup(pw->pw_dir) : NULL;
	}
	if (strcmp(user, "+") == 0)
		return var_get("PWD");
	if (strcmp(user, "-") == 0)
		return var_get("OLDPWD");
	struct passwd *pw = getpwnam(user);
	return pw ? ststrdup(pw->pw_dir) : NULL;
}

/* The value of a special or positional parameter, or of a variable; NULL when unset. */
static const char *param_value(const char *name, char *buf, size_t bufsz)
{
	char c = name[0];
	if (name[1] == '\0') {
		switch (c) {
		case '?':
			fmt_ll(buf, sh_exitstatus);
			return buf;
		case '$':
			snprintf(buf, bufsz, "%ld", (long)sh_rootpid);
			return buf;
		case '!':
			if (sh_lastbg == 0)
				return NULL;
			snprintf(buf, bufsz, "%ld", (long)sh_lastbg);
			return buf;
		case '#':
			fmt_ll(buf, sh_pos.n);
			return buf;
		case '-':
			return opt_flags();
		case '0':
			return sh_arg0 ? sh_arg0 : "pbsh";
		}
	}
	if (c == '_' && name[1] == '\0' && !var_lookup("_"))
		return sh_lastarg ? sh_lastarg : "";
	if (c >= '0' && c <= '9') {
		long n = strtol(name, NULL, 10);
		if (n == 0)
			return sh_arg0;
		if (n > sh_pos.n)
			return NULL;
		return sh_pos.v[n - 1];
	}
	return var_get(name);
}

static bool plain_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strchr("*?[\\(", s[i]))
			return false;
	return true;
}

static const char *last_occurrence(const char *hay, const char *needle, size_t nl)
{
	const char *found = NULL;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		found = p;
	(void)nl;
	return found;
}

/*
 * The trims scripts use most (strip a directory, an extension, a literal) done with
 * string searches; -2 means "not one of those shapes, use the matcher".
 */
static long quick_trim(int op, const char *pat, const char *val)
{
	size_t pl = strlen(pat), n = strlen(val);
	bool lead = pl > 0 && pat[0] == '*', trail = pl > 0 && pat[pl - 1] == '*';
	if (pl == 1 && lead)
		return (op == PO_TRIM_SS || op == PO_TRIM_LP) ? 0 : (long)n;
	bool prefix_op = op == PO_TRIM_SS || op == PO_TRIM_LS;
	if (!lead && !trail && plain_text(pat, pl)) {
		if (prefix_op)
			return strncmp(val, pat, pl) == 0 ? (long)pl : -1;
		return (n >= pl && memcmp(val + n - pl, pat, pl) == 0) ? (long)(n - pl) : -1;
	}
	if (prefix_op && lead && !trail && plain_text(pat + 1, pl - 1)) {
		const char *lit = pat + 1;
		const char *hit = op == PO_TRIM_SS ? strstr(val, lit) : last_occurrence(val, lit, pl - 1);
		return hit ? (long)(hit - val) + (long)(pl - 1) : -1;
	}
	if (!prefix_op && trail && !lead && plain_text(pat, pl - 1)) {
		char *lit = ststrndup(pat, pl - 1);
		const char *hit = op == PO_TRIM_LP ? strstr(val, lit) : last_occurrence(val, lit, pl - 1);
		return hit ? (long)(hit - val) : -1;
	}
	return -2;
}

/* Apply a trim or ksh substitution operator to one value; returns an arena string. */
static const char *apply_op(struct n_param *p, const char *val, const char *pat, const char *rep, long off, long len)
{
	long r;
	switch (p->op) {
	case PO_TRIM_SS:
	case PO_TRIM_LS:
		r = quick_trim(p->op, pat, val);
		if (r == -2)
			r = pb_match_prefix(pat, val, p->op == PO_TRIM_LS, PB_MATCH_EXTGLOB);
		return r < 0 ? val : val + r;
	case PO_TRIM_SP:
	case PO_TRIM_LP:
		r = quick_trim(p->op, pat, val);
		if (r == -2)
			r = pb_match_suffix(pat, val, p->op == PO_TRIM_LP, PB_MATCH_EXTGLOB);
		return r < 0 ? val : ststrndup(val, (size_t)r);
	case PO_SUBSTR: {
		long n = (long)strlen(val);
		if (off < 0)
			off += n;
		if (off < 0)
			off = 0; /* mksh: an offset before the start is the start */
		if (off > n)
			return "";
		if (len < 0)
			len = n - off + len;
		if (len < 0)
			return "";
		if (off + len > n)
			len = n - off;
		return ststrndup(val + off, (size_t)len);
	}
	case PO_REPL:
	case PO_REPL_ALL:
	case PO_REPL_PFX:
	case PO_REPL_SFX: {
		struct strbuf sb;
		sb_init(&sb);
		size_t n = strlen(val);
		if (p->op == PO_REPL_PFX) {
			r = pb_match_prefix(pat, val, true, PB_MATCH_EXTGLOB);
			if (r < 0)
				return val;
			sb_puts(&sb, rep);
			sb_puts(&sb, val + r);
			return sb_str(&sb);
		}
		if (p->op == PO_REPL_SFX) {
			/* longest match anchored at the end: the earliest start that matches */
			r = pb_match_suffix(pat, val, true, PB_MATCH_EXTGLOB);
			if (r < 0)
				return val;
			sb_putn(&sb, val, (size_t)r);
			sb_puts(&sb, rep);
			return sb_str(&sb);
		}
		size_t i = 0;
		bool done = false;
		while (i <= n) {
			long m = done ? -1 : pb_match_prefix(pat, val + i, true, PB_MATCH_EXTGLOB);
			if (m > 0) {
				sb_puts(&sb, rep);
				i += (size_t)m;
				if (p->op == PO_REPL)
					done = true;
				continue;
			}
			if (i == n)
				break;
			sb_putc(&sb, val[i++]);
		}
		return sb_str(&sb);
	}
	default:
		return val;
	}
}

/* The word of ${x-word} / ${x+word}: unquoted, its own unquoted text is split like an expansion. */
static void expand_alt_word(struct xb *x, union node *w, bool dq)
{
	if (!dq)
		x->split_lits++;
	expand_word_into(x, w, dq);
	if (!dq)
		x->split_lits--;
}

static _Noreturn void unset_error(const char *name)
{
	sh_errorf(2, "%s: parameter not set", name);
}

/* The subscript of ${a[@]} / ${a[*]}: '@' or '*', else 0 (an arithmetic subscript). */
static int list_index(union node *idx)
{
	union node *p = idx->kind == NWORD ? idx->word.parts : idx;
	if (p && p->head.next == NULL && p->kind == NLIT && (p->lit.text[0] == '@' || p->lit.text[0] == '*') &&
	    p->lit.text[1] == '\0')
		return p->lit.text[0];
	return 0;
}

long expand_index(union node *idx)
{
	return var_check_index(arith_eval(expand_str(idx)));
}

/*
 * The values of ${a[@]} (keys: ${!a[@]}, their indexes) as an arena vector;
 * *np gets the count.
 */
static char **array_values(const char *name, bool keys, int *np)
{
	struct var *v = var_lookup(name);
	size_t n = var_array_count(v);
	char **out = stalloc((n + 1) * sizeof *out);
	for (size_t i = 0; i < n; i++) {
		long idx;
		const char *val = var_array_nth(v, i, &idx);
		out[i] = keys ? stprintf("%ld", idx) : (char *)val;
	}
	out[n] = NULL;
	*np = (int)n;
	return out;
}

/* ${!name}: the name a reference (typeset -n) leads to, else name itself. */
static const char *ref_name(const char *name)
{
	struct var *v = var_lookup(name);
	return v ? ststrndup(v->text, v->nlen) : name;
}

/*
 * ${a[i]}, ${a[@]}, ${!a[@]}, ${!name}: the value, or for the list forms
 * the values in *lvp / *lnp with *list and *star set. Out of line: plain
 * parameters never come here.
 */
static __attribute__((noinline)) const char *ksh_param(struct n_param *p, bool *list, bool *star, char ***lvp, int *lnp)
{
	if (p->index == NULL)
		return ref_name(p->name);
	int li = list_index(p->index);
	if (li == 0)
		return var_get_elem(var_lookup(p->name), expand_index(p->index));
	*list = true;
	*star = li == '*';
	*lvp = array_values(p->name, p->flags & PF_BANG, lnp);
	return NULL;
}

static void expand_param(struct xb *x, struct n_param *p, bool dq)
{
	char buf[32];
	const char *name = p->name;
	dq = dq || (p->flags & PF_DQUOTED);
	bool list = (name[0] == '@' || name[0] == '*') && name[1] == '\0';
	bool star = false;
	char **lv = NULL;
	int ln = 0;
	const char *val = NULL;
	bool set;
	if (__builtin_expect(p->index != NULL || (p->flags & PF_BANG), 0)) {
		val = ksh_param(p, &list, &star, &lv, &ln);
	} else if (!list) {
		val = param_value(name, buf, sizeof buf);
	} else {
		star = name[0] == '*';
		lv = sh_pos.v;
		ln = sh_pos.n;
	}
	set = list ? ln > 0 : val != NULL;
	/* For the colon forms, "null" means the value (or "$*") is empty. */
	bool null = !set || (!list && val[0] == '\0') || (list && ln == 1 && lv[0][0] == '\0');
	bool use_default = (p->flags & PF_COLON) ? null : !set;

	switch (p->op) {
	case PO_MINUS:
		if (use_default) {
			expand_alt_word(x, p->arg, dq);
			return;
		}
		break;
	case PO_PLUS:
		if (!use_default)
			expand_alt_word(x, p->arg, dq);
		return;
	case PO_ASSIGN:
		if (use_default) {
			if (list || !var_valid_name(name, (size_t)-1) || (p->flags & PF_BANG))
				sh_errorf(2, "%s: cannot assign in this way", name);
			char *v = expand_str(p->arg);
			if (p->index) {
				/* ${a[i]:=w} assigns the element (ksh93, bash) */
				long idx = expand_index(p->index);
				var_set_elem(name, idx, v);
				val = var_get_elem(var_lookup(name), idx);
			} else {
				var_set(name, v, 0);
				val = var_get(name);
			}
			if (val == NULL)
				val = "";
			add_value(x, val, strlen(val), dq);
			return;
		}
		break;
	case PO_QUESTION:
		if (use_default) {
			const char *msg = p->arg ? expand_str(p->arg) : NULL;
			if (msg == NULL || msg[0] == '\0')
				msg = set ? "parameter null" : "parameter not set";
			sh_errorf(2, "%s: %s", name, msg);
		}
		break;
	case PO_LENGTH:
		if (list) {
			fmt_ll(buf, ln);
		} else {
			if (!set && opt[OPT_NOUNSET])
				unset_error(name);
			snprintf(buf, sizeof buf, "%zu", set ? strlen(val) : (size_t)0);
		}
		add_value(x, buf, strlen(buf), dq);
		return;
	default:
		break;
	}
	if (!set && !list && opt[OPT_NOUNSET])
		unset_error(name);

	/* Operators that transform each value. */
	const char *pat = NULL, *rep = "";
	long off = 0, len = -1;
	bool transform = p->op >= PO_TRIM_SS && p->op <= PO_REPL_SFX;
	if (transform) {
		if (p->op == PO_SUBSTR) {
			off = (long)arith_eval(expand_str(p->arg));
			len = p->arg2 ? (long)arith_eval(expand_str(p->arg2)) : 0x7fffffffL;
		} else {
			pat = expand_pattern(p->arg);
			if (p->op >= PO_REPL && p->arg2)
				rep = expand_str(p->arg2);
		}
	}
	if (!list) {
		if (!set)
			return;
		if (transform)
			val = apply_op(p, val, pat, rep, off, len);
		add_value(x, val, strlen(val), dq);
		return;
	}
	if (p->op == PO_SUBSTR) {
		/* ${@:off:len} ${a[@]:off:len}: a slice of the list (ksh93, bash); for $@ offset 0 is $0. */
		if (p->index == NULL) {
			char **all = stalloc(((size_t)ln + 2) * sizeof *all);
			all[0] = sh_arg0 ? sh_arg0 : "pbsh";
			memcpy(all + 1, lv, ((size_t)ln + 1) * sizeof *all);
			lv = all;
			ln++;
		}
		if (off < 0)
			off += ln;
		if (off < 0 || off > ln)
			off = ln;
		long cnt = len < 0 ? ln - off + len : len;
		if (cnt > ln - off)
			cnt = ln - off;
		if (cnt < 0)
			cnt = 0;
		lv += off;
		ln = (int)cnt;
		transform = false;
	}
	/* $@ and $* (and ${a[@]} ${a[*]}): one value per positional parameter (element). */
	/* "$*" and $* outside field splitting (x=$*) join with the first IFS character; $@ with a space. */
	char sep = star ? sh_ifs[0] : ' ';
	for (int i = 0; i < ln; i++) {
		const char *v = lv[i];
		if (transform)
			v = apply_op(p, v, pat, rep, off, len);
		if (i > 0) {
			if (x->mode == XM_FIELDS && !(star && dq))
				add_break(x);
			else if (sep)
				add_chars(x, &sep, 1, A_Q);
		}
		if (dq && x->mode == XM_FIELDS && !star)
			add_qmark(x);
		add_value(x, v, strlen(v), dq);
	}
}

/* Does this double-quoted group contain "$@" (which may expand to no field at all)? */
static bool dq_has_at(union node *parts)
{
	for (union node *p = parts; p; p = p->head.next)
		if (p->kind == NPARAM && p->param.op != PO_LENGTH &&
		    ((p->param.name[0] == '@' && p->param.name[1] == '\0') ||
		     (p->param.index && list_index(p->param.index) == '@')))
			return true;
	return false;
}

static void expand_part(struct xb *x, union node *p, bool dq)
{
	switch (p->kind) {
	case NLIT: {
		bool q = dq || p->lit.quoted != LIT_PLAIN;
		if (x->pat_dq_plain && !dq && p->lit.quoted == LIT_DQ)
			q = false;
		size_t n = strlen(p->lit.text);
		if (q && n == 0)
			add_qmark(x);
		add_chars(x, p->lit.text, n, q ? A_Q : x->split_lits ? A_S : 0);
		break;
	}
	case NDQ:
		if (!dq_has_at(p->dq.parts))
			add_qmark(x);
		for (union node *c = p->dq.parts; c; c = c->head.next)
			expand_part(x, c, true);
		break;
	case NPARAM:
		expand_param(x, &p->param, dq);
		break;
	case NCMDSUB: {
		size_t n;
		char *out = exec_cmdsub(p->cmdsub.tree, &n);
		add_value(x, out, n, dq || (p->cmdsub.flags & CS_DQUOTED));
		break;
	}
	case NARITH: {
		char *e = expand_str(p->arith.expr);
		long long v = arith_eval(e);
		char buf[32];
		int n = fmt_ll(buf, v);
		add_value(x, buf, (size_t)n, dq || p->arith.dquoted);
		break;
	}
	case NTILDE: {
		const char *d = tilde_dir(p->tilde.user);
		if (d == NULL) {
			add_chars(x, "~", 1, A_Q);
			add_chars(x, p->tilde.user, strlen(p->tilde.user), A_Q);
		} else {
			if (d[0] == '\0')
				add_qmark(x);
			add_chars(x, d, strlen(d), A_Q);
		}
		break;
	}
	case NWORD:
		expand_word_into(x, p, dq);
		break;
	default:
		break;
	}
}

static void expand_word_into(struct xb *x, union node *word, bool dq)
{
	if (word == NULL)
		return;
	if (word->kind != NWORD) {
		expand_part(x, word, dq);
		return;
	}
	for (union node *p = word->word.parts; p; p = p->head.next)
		expand_part(x, p, dq);
}

/* Pattern text of buffer range [from, to): quoted characters of special are escaped. */
static char *to_pattern_of(struct xb *x, size_t from, size_t to, const char *special)
{
	struct strbuf sb;
	sb_init(&sb);
	const char *s = x->s.buf, *a = x->a.buf;
	for (size_t i = from; i < to; i++) {
		if ((a[i] & A_Q) && s[i] != '\0' && strchr(special, s[i]))
			sb_putc(&sb, '\\');
		sb_putc(&sb, s[i]);
	}
	return sb_str(&sb);
}

static char *to_pattern(struct xb *x, size_t from, size_t to)
{
	return to_pattern_of(x, from, to, "*?[]\\!^-()|@+");
}

/* One field [from, to) is complete: glob it if it has unquoted pattern characters. */
static void emit_field(struct xb *x, size_t from, size_t to, struct arglist *out)
{
	if (x->magic && !opt[OPT_NOGLOB]) {
		bool m = false;
		for (size_t i = from; i < to; i++)
			if ((is_magic(x->s.buf[i]) || (i > from && ext_open(x->s.buf, i))) && !(x->a.buf[i] & A_Q))
				m = true;
		if (m) {
			char *pat = to_pattern(x, from, to);
			if (glob_expand(pat, out) > 0)
				return;
		}
	}
	arglist_add(out, ststrndup(x->s.buf + from, to - from));
}

/*
 * Field splitting (POSIX 2.6.5): only characters from unquoted expansions
 * split. IFS white space delimits and is otherwise dropped; each other IFS
 * character delimits one field, so adjacent ones make empty fields.
 */
static void split_fields(struct xb *x, struct arglist *out)
{
	const char *s = x->s.buf, *a = x->a.buf;
	size_t n = x->s.len;
	const char *ifs = sh_ifs;
	bool in_field = false, saw_nonws = false, fresh = true;
	size_t start = 0;
	int qi = 0;
	for (size_t i = 0; i <= n; i++) {
		while (qi < x->nq && x->q[qi] == i) {
			if (!in_field)
				start = i;
			in_field = true;
			saw_nonws = false;
			qi++;
		}
		if (i == n)
			break;
		int at = (unsigned char)a[i];
		char c = s[i];
		if (at & A_BRK) {
			if (in_field)
				emit_field(x, start, i, out);
			in_field = false;
			saw_nonws = false;
			fresh = true;
			continue;
		}
		if ((at & A_S) && c != '\0' && strchr(ifs, c) != NULL) {
			if (ifs_white(c)) {
				if (in_field) {
					emit_field(x, start, i, out);
					in_field = false;
					saw_nonws = false;
					fresh = false;
				}
				continue;
			}
			if (in_field)
				emit_field(x, start, i, out);
			else if (saw_nonws || fresh)
				arglist_add(out, "");
			in_field = false;
			saw_nonws = true;
			fresh = false;
			continue;
		}
		if (!in_field) {
			start = i;
			in_field = true;
		}
		saw_nonws = false;
	}
	if (in_field)
		emit_field(x, start, n, out);
}

/* A plain $x or "$x" (the commonest words): no buffer, no splitting pass when none is needed. */
static bool simple_param(union node *p, struct arglist *out)
{
	bool dq = false;
	if (p->kind == NDQ) {
		p = p->dq.parts;
		if (p == NULL || p->head.next != NULL)
			return false;
		dq = true;
	}
	if (p->kind != NPARAM || p->param.op != PO_NONE || p->param.index != NULL || (p->param.flags & PF_BANG))
		return false;
	const char *name = p->param.name;
	if ((name[0] == '@' || name[0] == '*') && name[1] == '\0')
		return false;
	char buf[32];
	const char *val = param_value(name, buf, sizeof buf);
	if (val == NULL && opt[OPT_NOUNSET])
		unset_error(name);
	if (dq || (p->param.flags & PF_DQUOTED)) {
		arglist_add(out, ststrdup(val ? val : ""));
		return true;
	}
	if (val == NULL || val[0] == '\0')
		return true;
	if (strpbrk(val, sh_ifs) != NULL || (!opt[OPT_NOGLOB] && has_magic(val)))
		return false;
	arglist_add(out, ststrdup(val));
	return true;
}

/* Is w a NAME=... word (its first part an unquoted literal starting with a valid name and '=')? */
static bool is_assign_word(union node *w)
{
	union node *p = w->kind == NWORD ? w->word.parts : NULL;
	if (p == NULL || p->kind != NLIT || p->lit.quoted != LIT_PLAIN)
		return false;
	const char *eq = strchr(p->lit.text, '=');
	return eq && var_valid_name(p->lit.text, (size_t)(eq - p->lit.text));
}

/* Expand NAME=value like an assignment: tilde after = and unquoted :, no splitting or globbing. */
static char *expand_assign_word(union node *w)
{
	struct strbuf sb;
	sb_init(&sb);
	bool tilde_ok = false, seen_eq = false;
	for (union node *p = w->word.parts; p; p = p->head.next) {
		if (p->kind != NLIT || p->lit.quoted != LIT_PLAIN) {
			sb_puts(&sb, expand_str(p));
			tilde_ok = false;
			continue;
		}
		for (const char *t = p->lit.text; *t;) {
			if (*t == '~' && tilde_ok) {
				size_t n = strcspn(t + 1, "/:");
				const char *end = t + 1 + n;
				/* Only a prefix wholly inside this literal (ended by / : or the word's end). */
				if (*end || p->head.next == NULL) {
					char *user = ststrndup(t + 1, n);
					const char *d = tilde_dir(user);
					if (d) {
						sb_puts(&sb, d);
						t = end;
						tilde_ok = false;
						continue;
					}
				}
			}
			char c = *t++;
			sb_putc(&sb, c);
			if (c == '=' && !seen_eq) {
				seen_eq = true;
				tilde_ok = true;
			} else {
				tilde_ok = seen_eq && c == ':';
			}
		}
	}
	return sb_str(&sb);
}

void expand_decl_args(union node *words, struct arglist *out)
{
	for (union node *w = words; w; w = w->head.next) {
		if (is_assign_word(w)) {
			arglist_add(out, expand_assign_word(w));
			continue;
		}
		union node *next = w->head.next;
		w->head.next = NULL;
		expand_args(w, out);
		w->head.next = next;
	}
	if (out->v == NULL)
		arglist_add(out, NULL), out->n = 0;
}

void expand_args(union node *words, struct arglist *out)
{
	for (union node *w = words; w; w = w->head.next) {
		/* Fast path: a word that is one plain literal with no pattern characters. */
		union node *p = w->kind == NWORD ? w->word.parts : w;
		if (p && p->head.next == NULL && p->kind == NLIT) {
			const char *t = p->lit.text;
			if (p->lit.quoted != LIT_PLAIN || opt[OPT_NOGLOB] || !has_magic(t)) {
				arglist_add(out, p->lit.text);
				continue;
			}
		}
		if (p && p->head.next == NULL && simple_param(p, out))
			continue;
		struct xb x;
		xb_init(&x, XM_FIELDS);
		expand_word_into(&x, w, false);
		sb_putc(&x.s, '\0');
		x.s.len--;
		sb_putc(&x.a, '\0');
		x.a.len--;
		split_fields(&x, out);
	}
	if (out->v == NULL)
		arglist_add(out, NULL), out->n = 0;
}

char *expand_str(union node *word)
{
	if (word == NULL)
		return "";
	union node *p = word->kind == NWORD ? word->word.parts : word;
	if (p == NULL)
		return "";
	if (p->head.next == NULL && p->kind == NLIT)
		return p->lit.text;
	if (p->head.next == NULL && p->kind == NARITH) {
		char buf[32];
		fmt_ll(buf, arith_eval(expand_str(p->arith.expr)));
		return ststrdup(buf);
	}
	struct xb x;
	xb_init(&x, XM_STR);
	expand_word_into(&x, word, false);
	return sb_str(&x.s);
}

/* Expand word for matching: its quoted characters among special are backslash-escaped. */
static char *expand_quoted_special(union node *word, const char *special)
{
	if (word == NULL)
		return "";
	struct xb x;
	xb_init(&x, XM_PATTERN);
	x.pat_dq_plain = true;
	expand_word_into(&x, word, false);
	return to_pattern_of(&x, 0, x.s.len, special);
}

char *expand_pattern(union node *word)
{
	return expand_quoted_special(word, "*?[]\\!^-()|@+");
}

char *expand_regex(union node *word)
{
	return expand_quoted_special(word, "\\.[]()*+?{}|^$");
}
