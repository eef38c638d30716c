/* SPDX-License-Identifier: ISC */
/* Arithmetic: a recursive-descent evaluator for shell $(( )) with C precedence, assignment operators and 64-bit wrap-around. */
#include "arith.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "shell.h"
#include "var.h"

/* Deep nesting (parentheses, variables holding expressions) is bounded so input cannot exhaust the stack. */
#define MAX_DEPTH 512
#define MAX_VAR_DEPTH 32

struct ar {
	const char *expr; /* the whole expression, for messages */
	const char *p;
	int noeval;       /* >0 inside a branch that is not taken: no side effects, no errors for /0 */
	int depth;
	int vdepth;
	const char *err;  /* first error, or NULL */
	char errbuf[256];
};

static long long ar_assign(struct ar *a);

static void fail(struct ar *a, const char *msg)
{
	if (a->err)
		return;
	snprintf(a->errbuf, sizeof a->errbuf, "%.120s: %.120s", a->expr, msg);
	a->err = a->errbuf;
}

static void skip_ws(struct ar *a)
{
	while (*a->p == ' ' || *a->p == '\t' || *a->p == '\n' || *a->p == '\r')
		a->p++;
}

static bool is_name_start(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 36;
	if (c == '@')
		return 62;
	if (c == '_')
		return 63;
	return 99;
}

/* Parse a numeric constant at *pp: decimal, 0x hex, 0 octal, or ksh base#digits. */
static bool parse_number(const char **pp, long long *out)
{
	const char *p = *pp;
	uint64_t v = 0;
	int base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
		if (digit_value(*p) >= 16 && !(*p >= 'A' && *p <= 'F'))
			return false;
	} else if (p[0] == '0') {
		base = 8;
	} else {
		const char *q = p;
		unsigned b = 0;
		while (*q >= '0' && *q <= '9' && b <= 64)
			b = b * 10 + (unsigned)(*q++ - '0');
		if (*q == '#') {
			if (b < 2 || b > 64)
				return false;
			base = (int)b;
			p = q + 1;
		}
	}
	const char *start = p;
	for (;;) {
		int d;
		char c = *p;
		if (base == 16 && c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else if (base <= 36 && c >= 'A' && c <= 'Z')
			d = c - 'A' + 10;
		else
			d = digit_value(c);
		if (d >= base)
			break;
		v = v * (uint64_t)base + (uint64_t)d;
		p++;
	}
	if (p == start && base != 8)
		return false;
	/* Something like 08 or 1a: a constant followed by name characters is invalid. */
	if (is_name_char(*p) || *p == '#')
		return false;
	*out = (long long)v;
	*pp = p;
	return true;
}

/* The value of a variable: empty/unset is 0, otherwise the value evaluated as an expression. */
static long long var_num(struct ar *a, const char *name, size_t n, long idx)
{
	char nbuf[256];
	if (n >= sizeof nbuf) {
		fail(a, "variable name too long");
		return 0;
	}
	memcpy(nbuf, name, n);
	nbuf[n] = '\0';
	const char *val = idx < 0 ? var_get(nbuf) : var_get_elem(var_lookup(nbuf), idx);
	if (val == NULL) {
		if (opt[OPT_NOUNSET] && !a->noeval) {
			char m[300];
			snprintf(m, sizeof m, "%s: parameter not set", nbuf);
			fail(a, m);
		}
		return 0;
	}
	const char *s = val;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	if (*s == '\0')
		return 0;
	long long r;
	const char *q = s;
	if (*q == '-' || *q == '+')
		q++;
	if (parse_number(&q, &r)) {
		while (*q == ' ' || *q == '\t' || *q == '\n')
			q++;
		if (*q == '\0')
			return s[0] == '-' ? (long long)(0 - (uint64_t)r) : r;
	}
	if (a->vdepth >= MAX_VAR_DEPTH) {
		fail(a, "expression recursion level exceeded");
		return 0;
	}
	struct ar sub = {.expr = val, .p = val, .noeval = a->noeval, .depth = a->depth, .vdepth = a->vdepth + 1};
	long long res = ar_assign(&sub);
	skip_ws(&sub);
	if (sub.err == NULL && *sub.p != '\0')
		fail(&sub, "syntax error");
	if (sub.err) {
		if (!a->err) {
			snprintf(a->errbuf, sizeof a->errbuf, "%s", sub.err);
			a->err = a->errbuf;
		}
		return 0;
	}
	return res;
}

static void set_var(struct ar *a, const char *name, size_t n, long idx, long long v)
{
	if (a->noeval || a->err)
		return;
	char buf[32];
	fmt_ll(buf, v);
	if (idx > 0) {
		char *nm = ststrndup(name, n);
		struct var *var = var_lookup(nm);
		if (var && (var->flags & V_READONLY))
			fail(a, "assignment to a read-only variable");
		else
			var_set_elem(nm, idx, buf);
		return;
	}
	if (var_setn(name, n, buf, V_NOERR) < 0)
		fail(a, "assignment to a read-only variable");
}

static long long ar_assign(struct ar *a);

/* A comma list: expressions evaluated left to right, the value of the last. */
static long long ar_list(struct ar *a)
{
	long long v = ar_assign(a);
	skip_ws(a);
	while (!a->err && *a->p == ',') {
		a->p++;
		v = ar_assign(a);
		skip_ws(a);
	}
	return v;
}

/* After a variable name: an optional [subscript] (ksh arrays), evaluated once; -1 when there is none. */
static long read_subscript(struct ar *a)
{
	if (*a->p != '[')
		return -1;
	a->p++;
	long long v = ar_list(a);
	if (a->err)
		return 0;
	if (*a->p != ']') {
		fail(a, "missing ']'");
		return 0;
	}
	a->p++;
	if (v < 0 || v > INT32_MAX) {
		fail(a, "subscript out of range");
		return 0;
	}
	return (long)v;
}

/* Skip a [subscript] without evaluating it (to look at what follows); returns p unchanged if none. */
static const char *skip_subscript(const char *p)
{
	if (*p != '[')
		return p;
	int depth = 0;
	for (const char *q = p; *q; q++) {
		if (*q == '[')
			depth++;
		else if (*q == ']' && --depth == 0)
			return q + 1;
	}
	return p;
}

static long long ar_unary(struct ar *a);

static long long ar_primary(struct ar *a)
{
	skip_ws(a);
	char c = *a->p;
	if (c == '(') {
		a->p++;
		if (++a->depth > MAX_DEPTH) {
			fail(a, "expression nested too deeply");
			return 0;
		}
		long long v = ar_list(a); /* a comma list inside parentheses */
		a->depth--;
		if (*a->p != ')') {
			fail(a, "missing ')'");
			return 0;
		}
		a->p++;
		return v;
	}
	if (c >= '0' && c <= '9') {
		long long v;
		if (!parse_number(&a->p, &v)) {
			fail(a, "invalid number");
			return 0;
		}
		return v;
	}
	if (is_name_start(c)) {
		const char *name = a->p;
		while (is_name_char(*a->p))
			a->p++;
		size_t n = (size_t)(a->p - name);
		long idx = read_subscript(a);
		skip_ws(a);
		/* Postfix ++ / -- */
		if ((a->p[0] == '+' && a->p[1] == '+') || (a->p[0] == '-' && a->p[1] == '-')) {
			int d = a->p[0] == '+' ? 1 : -1;
			a->p += 2;
			long long v = var_num(a, name, n, idx);
			set_var(a, name, n, idx, (long long)((uint64_t)v + (uint64_t)(long long)d));
			return v;
		}
		return var_num(a, name, n, idx);
	}
	if (c == '\0')
		fail(a, "expression expected");
	else
		fail(a, "syntax error");
	return 0;
}

static long long ar_unary(struct ar *a)
{
	skip_ws(a);
	if (++a->depth > MAX_DEPTH) {
		fail(a, "expression nested too deeply");
		return 0;
	}
	long long r;
	char c = *a->p;
	if ((c == '+' || c == '-') && a->p[1] == c) {
		/* Prefix ++ / -- on a variable. */
		const char *q = a->p + 2;
		while (*q == ' ' || *q == '\t')
			q++;
		if (is_name_start(*q)) {
			const char *name = q;
			while (is_name_char(*q))
				q++;
			a->p = q;
			long idx = read_subscript(a);
			long long v = (long long)((uint64_t)var_num(a, name, (size_t)(q - name), idx) + (c == '+' ? 1u : (uint64_t)-1));
			set_var(a, name, (size_t)(q - name), idx, v);
			r = v;
		} else {
			fail(a, "++ or -- needs a variable");
			r = 0;
		}
	} else if (c == '+') {
		a->p++;
		r = ar_unary(a);
	} else if (c == '-') {
		a->p++;
		r = (long long)(0 - (uint64_t)ar_unary(a));
	} else if (c == '!') {
		a->p++;
		r = !ar_unary(a);
	} else if (c == '~') {
		a->p++;
		r = ~ar_unary(a);
	} else {
		r = ar_primary(a);
	}
	a->depth--;
	return r;
}

/* Binary operators by precedence level (higher binds tighter). */
enum { B_NONE, B_MUL, B_DIV, B_MOD, B_ADD, B_SUB, B_SHL, B_SHR, B_LT, B_LE, B_GT, B_GE,
	B_EQ, B_NE, B_BAND, B_BXOR, B_BOR, B_LAND, B_LOR };

static int prec_of(int op)
{
	switch (op) {
	case B_MUL: case B_DIV: case B_MOD: return 10;
	case B_ADD: case B_SUB: return 9;
	case B_SHL: case B_SHR: return 8;
	case B_LT: case B_LE: case B_GT: case B_GE: return 7;
	case B_EQ: case B_NE: return 6;
	case B_BAND: return 5;
	case B_BXOR: return 4;
	case B_BOR: return 3;
	case B_LAND: return 2;
	case B_LOR: return 1;
	}
	return 0;
}

/* Peek a binary operator; returns B_NONE for assignment operators and others. Sets *len. */
static int peek_binop(struct ar *a, int *len)
{
	const char *p = a->p;
	*len = 1;
	int op = B_NONE;
	switch (p[0]) {
	case '*': op = B_MUL; break;
	case '/': op = B_DIV; break;
	case '%': op = B_MOD; break;
	case '+': op = B_ADD; break;
	case '-': op = B_SUB; break;
	case '<':
		if (p[1] == '<') { op = B_SHL; *len = 2; }
		else if (p[1] == '=') { op = B_LE; *len = 2; }
		else op = B_LT;
		break;
	case '>':
		if (p[1] == '>') { op = B_SHR; *len = 2; }
		else if (p[1] == '=') { op = B_GE; *len = 2; }
		else op = B_GT;
		break;
	case '=':
		if (p[1] == '=') { op = B_EQ; *len = 2; }
		break;
	case '!':
		if (p[1] == '=') { op = B_NE; *len = 2; }
		break;
	case '&':
		if (p[1] == '&') { op = B_LAND; *len = 2; }
		else op = B_BAND;
		break;
	case '^': op = B_BXOR; break;
	case '|':
		if (p[1] == '|') { op = B_LOR; *len = 2; }
		else op = B_BOR;
		break;
	}
	/* x op= y is an assignment, not a binary operator. */
	if (op != B_NONE && op != B_EQ && op != B_NE && op != B_LE && op != B_GE && op != B_LAND && op != B_LOR && p[*len] == '=')
		return B_NONE;
	return op;
}

static long long apply(struct ar *a, int op, long long l, long long r)
{
	uint64_t ul = (uint64_t)l, ur = (uint64_t)r;
	switch (op) {
	case B_MUL: return (long long)(ul * ur);
	case B_DIV:
	case B_MOD:
		if (r == 0) {
			if (!a->noeval)
				fail(a, "division by zero");
			return 0;
		}
		if (l == INT64_MIN && r == -1)
			return op == B_DIV ? l : 0;
		return op == B_DIV ? l / r : l % r;
	case B_ADD: return (long long)(ul + ur);
	case B_SUB: return (long long)(ul - ur);
	case B_SHL: return (long long)(ul << (ur & 63));
	case B_SHR: return l >> (ur & 63);
	case B_LT: return l < r;
	case B_LE: return l <= r;
	case B_GT: return l > r;
	case B_GE: return l >= r;
	case B_EQ: return l == r;
	case B_NE: return l != r;
	case B_BAND: return l & r;
	case B_BXOR: return l ^ r;
	case B_BOR: return l | r;
	}
	return 0;
}

static long long ar_binary(struct ar *a, int minprec)
{
	long long l = ar_unary(a);
	for (;;) {
		if (a->err)
			return 0;
		skip_ws(a);
		int len;
		int op = peek_binop(a, &len);
		int pr = prec_of(op);
		if (op == B_NONE || pr < minprec)
			return l;
		a->p += len;
		if (op == B_LAND || op == B_LOR) {
			bool skip = op == B_LAND ? !l : l != 0;
			if (skip)
				a->noeval++;
			long long r = ar_binary(a, pr + 1);
			if (skip)
				a->noeval--;
			l = op == B_LAND ? (l && r) : (l || r);
			continue;
		}
		long long r = ar_binary(a, pr + 1);
		l = apply(a, op, l, r);
	}
}

static long long ar_ternary(struct ar *a)
{
	long long c = ar_binary(a, 1);
	skip_ws(a);
	if (*a->p != '?' || a->err)
		return c;
	a->p++;
	if (!c)
		a->noeval++;
	long long t = ar_assign(a);
	if (!c)
		a->noeval--;
	skip_ws(a);
	if (*a->p != ':') {
		fail(a, "':' expected");
		return 0;
	}
	a->p++;
	if (c)
		a->noeval++;
	long long f = ar_assign(a);
	if (c)
		a->noeval--;
	return c ? t : f;
}

/* Assignment: name op= expr (right-associative), else a conditional expression. */
static long long ar_assign(struct ar *a)
{
	skip_ws(a);
	if (++a->depth > MAX_DEPTH) {
		fail(a, "expression nested too deeply");
		return 0;
	}
	const char *save = a->p;
	if (is_name_start(*a->p)) {
		const char *name = a->p;
		while (is_name_char(*a->p))
			a->p++;
		size_t n = (size_t)(a->p - name);
		const char *after_name = a->p;
		a->p = skip_subscript(a->p);
		skip_ws(a);
		const char *p = a->p;
		int op = -1, len = 0;
		if (p[0] == '=' && p[1] != '=') {
			op = B_NONE;
			len = 1;
		} else if (p[0] != '\0' && p[1] == '=' && strchr("*/%+-&^|", p[0])) {
			op = (p[0] == '*') ? B_MUL : (p[0] == '/') ? B_DIV : (p[0] == '%') ? B_MOD
				: (p[0] == '+') ? B_ADD : (p[0] == '-') ? B_SUB : (p[0] == '&') ? B_BAND
				: (p[0] == '^') ? B_BXOR : B_BOR;
			len = 2;
		} else if ((p[0] == '<' && p[1] == '<' && p[2] == '=') || (p[0] == '>' && p[1] == '>' && p[2] == '=')) {
			op = p[0] == '<' ? B_SHL : B_SHR;
			len = 3;
		}
		if (op >= 0) {
			a->p = after_name;
			long idx = read_subscript(a);
			skip_ws(a);
			a->p += len;
			long long r = ar_assign(a);
			if (a->err) {
				a->depth--;
				return 0;
			}
			long long v = r;
			if (op != B_NONE)
				v = apply(a, op, var_num(a, name, n, idx), r);
			set_var(a, name, n, idx, v);
			a->depth--;
			return v;
		}
		a->p = save;
	}
	long long v = ar_ternary(a);
	a->depth--;
	return v;
}

int arith_evaluate(const char *expr, long long *out, const char **errmsg)
{
	static char errcopy[256];
	struct ar a = {.expr = expr, .p = expr};
	long long v = 0;
	skip_ws(&a);
	if (*a.p != '\0') {
		v = ar_list(&a);
		if (!a.err && *a.p != '\0')
			fail(&a, "syntax error");
	}
	if (a.err) {
		snprintf(errcopy, sizeof errcopy, "%s", a.err);
		*errmsg = errcopy;
		return -1;
	}
	*out = v;
	return 0;
}

long long arith_eval(const char *expr)
{
	long long v;
	const char *msg;
	if (arith_evaluate(expr, &v, &msg) < 0)
		sh_errorf(2, "arithmetic: %s", msg);
	return v;
}
