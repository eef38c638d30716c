/* SPDX-License-Identifier: ISC */
/* The lexer: characters from input.c to tokens, and words to structured parts (node.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "error.h"
#include "input.h"
#include "lex.h"
#include "parse.h"

/* ---- characters ---- */

/* getcc: next character with backslash-newline (line continuation) removed. */
static int getcc(void)
{
	for (;;) {
		int c = input_getc();
		if (c != '\\')
			return c;
		int d = input_getc();
		if (d == '\n') {
			input_need_more();
			continue;
		}
		input_ungetc(d);
		return '\\';
	}
}

bool lex_next_is_lparen(void)
{
	int c = input_getc();
	input_ungetc(c);
	return c == '(';
}

/* getcq: getcc, skipping the end-of-alias marker (inside quotes and expansions). */
static int getcq(void)
{
	int c;
	while ((c = getcc()) == INPUT_EOA)
		;
	return c;
}

/* getraw: a raw character (no continuation), skipping end-of-alias markers. */
static int getraw(void)
{
	int c;
	while ((c = input_getc()) == INPUT_EOA)
		;
	return c;
}

static bool is_meta(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' ||
	       c == '<' || c == '>' || c == '(' || c == ')';
}

static bool is_name_start(int c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_name_char(int c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

void lex_enter(struct parser *p)
{
	if (++p->depth > PARSE_MAX_DEPTH)
		sh_syntax_error(0, "nesting too deep (more than %d levels)", PARSE_MAX_DEPTH);
}

void lex_leave(struct parser *p)
{
	p->depth--;
}

/* ---- word builder ---- */

struct wb {
	union node *first, **tail;
	struct strbuf lit;
	bool have_lit;
	int litq;
	int line;
};

static void wb_init(struct wb *w, int line)
{
	w->first = NULL;
	w->tail = &w->first;
	sb_init(&w->lit);
	w->have_lit = false;
	w->litq = LIT_PLAIN;
	w->line = line;
}

static void wb_append(struct wb *w, union node *n)
{
	*w->tail = n;
	w->tail = &n->head.next;
}

static void wb_flush(struct wb *w)
{
	if (!w->have_lit)
		return;
	union node *n = node_new(NLIT, w->line);
	n->lit.text = ststrndup(sb_str(&w->lit), w->lit.len);
	n->lit.quoted = w->litq;
	wb_append(w, n);
	w->lit.len = 0;
	w->have_lit = false;
}

/* wb_start: begin (or continue) literal text quoted as q, even if it stays empty. */
static void wb_start(struct wb *w, int q)
{
	if (w->have_lit && w->litq != q)
		wb_flush(w);
	w->have_lit = true;
	w->litq = q;
}

static void wb_char(struct wb *w, int c, int q)
{
	wb_start(w, q);
	sb_putc(&w->lit, c);
}

static void wb_part(struct wb *w, union node *n)
{
	wb_flush(w);
	wb_append(w, n);
}

static union node *wb_word(struct wb *w)
{
	wb_flush(w);
	union node *n = node_new(NWORD, w->line);
	n->word.parts = w->first;
	return n;
}

/* ---- word contexts ---- */

enum ctx {
	CTX_NORMAL,  /* a shell word: ends at a metacharacter */
	CTX_PARAM,   /* the word of ${x op word}: ends at } (and stops) */
	CTX_ARITH,   /* $(( ... )) or (( ... )): ends at )) outside parentheses */
	CTX_INDEX,   /* a[ ... ]: ends at ] outside brackets */
};

struct wopt {
	enum ctx ctx;
	bool dq;           /* inside double quotes */
	bool pattern;      /* a pattern operand: ' quotes even inside double quotes */
	const char *stops; /* CTX_PARAM: extra terminators besides } */
	bool regex;        /* CTX_NORMAL: a [[ =~ ]] operand, ( ) and | within them are literal */
};

static union node *read_word(struct parser *p, const struct wopt *o);
static void read_dq(struct parser *p, struct wb *w, bool heredoc);
static union node *read_dollar(struct parser *p, bool dq);
static union node *read_backquote(struct parser *p, bool dq);

static void read_squote(struct wb *w, int line)
{
	wb_start(w, LIT_SQ);
	for (;;) {
		int c = getraw();
		if (c == '\'')
			return;
		if (c == INPUT_EOF)
			sh_syntax_error(line, "unterminated quoted string");
		sb_putc(&w->lit, c);
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* $'...': ANSI-C escapes decoded into single-quoted literal text. */
static void read_dollar_squote(struct wb *w, int line)
{
	wb_start(w, LIT_SQ);
	bool cut = false; /* after \0 the rest is dropped, as in ksh93/bash */
	for (;;) {
		int c = getraw();
		if (c == INPUT_EOF)
			sh_syntax_error(line, "unterminated quoted string");
		if (c == '\'')
			return;
		if (c == '\\') {
			int d = getraw();
			int v = -1;
			switch (d) {
			case 'a': v = 7; break;
			case 'b': v = 8; break;
			case 'e': case 'E': v = 27; break;
			case 'f': v = 12; break;
			case 'n': v = '\n'; break;
			case 'r': v = '\r'; break;
			case 't': v = '\t'; break;
			case 'v': v = 11; break;
			case '\\': case '\'': case '"': case '?': v = d; break;
			case 'c': {
				int e = getraw();
				if (e == INPUT_EOF)
					sh_syntax_error(line, "unterminated quoted string");
				v = e == '?' ? 127 : (toupper(e) & 0x1f);
				break;
			}
			case 'x': {
				int n = 0, k = 0, h;
				int e;
				while (k < 2 && (h = hexval(e = getraw())) >= 0) {
					n = n * 16 + h;
					k++;
				}
				if (k < 2)
					input_ungetc(e);
				v = k ? n : -2;
				break;
			}
			case INPUT_EOF:
				sh_syntax_error(line, "unterminated quoted string");
			default:
				if (d >= '0' && d <= '7') {
					int n = d - '0', k = 1, e;
					while (k < 3 && (e = getraw()) >= '0' && e <= '7') {
						n = n * 8 + (e - '0');
						k++;
					}
					if (k < 3 && e != INPUT_EOF)
						input_ungetc(e);
					v = n & 0xff;
				}
				break;
			}
			if (v == -2) { /* \x without digits: keep it */
				if (!cut) {
					sb_putc(&w->lit, '\\');
					sb_putc(&w->lit, 'x');
				}
				continue;
			}
			if (v < 0) {
				if (!cut) {
					sb_putc(&w->lit, '\\');
					sb_putc(&w->lit, d);
				}
				continue;
			}
			if (v == 0)
				cut = true;
			if (!cut)
				sb_putc(&w->lit, v);
			continue;
		}
		if (!cut)
			sb_putc(&w->lit, c);
	}
}

/* Apply tilde recognition to the first part of a finished word (and, for assignment
 * values, after each unquoted colon): the parser calls lex_tilde for those. */
static union node *tilde_split(union node *lit, union node *next, bool assign, int line)
{
	/* lit is a LIT_PLAIN part starting with '~'. Returns the replacement chain. */
	const char *t = lit->lit.text;
	const char *end = strchr(t, '/');
	if (assign) {
		const char *colon = strchr(t, ':');
		if (colon != NULL && (end == NULL || colon < end))
			end = colon;
	}
	if (end == NULL) {
		/* The prefix runs to the end of this literal: only a tilde prefix when the
		 * word ends here too (anything quoted or expanded would be part of it). */
		if (next != NULL && !(next->kind == NLIT && next->lit.quoted == LIT_PLAIN))
			return NULL;
		end = t + strlen(t);
	}
	union node *tn = node_new(NTILDE, line);
	tn->tilde.user = ststrndup(t + 1, (size_t)(end - t - 1));
	if (*end != '\0') {
		union node *rest = node_new(NLIT, line);
		rest->lit.text = ststrdup(end);
		rest->lit.quoted = LIT_PLAIN;
		rest->head.next = next;
		tn->head.next = rest;
	} else {
		tn->head.next = next;
	}
	return tn;
}

/* lex_tilde_word: tilde prefix at the start of word's parts (in place). */
static void tilde_word(union node *word)
{
	union node *f = word->word.parts;
	if (f == NULL || f->kind != NLIT || f->lit.quoted != LIT_PLAIN || f->lit.text[0] != '~')
		return;
	union node *r = tilde_split(f, f->head.next, false, f->head.line);
	if (r != NULL)
		word->word.parts = r;
}

/* Assignment values: tilde after the start and after every unquoted ':'. */
void lex_assign_tilde(union node *word)
{
	union node **pp = &word->word.parts;
	bool at_start = true;
	while (*pp != NULL) {
		union node *n = *pp;
		if (n->kind == NLIT && n->lit.quoted == LIT_PLAIN) {
			char *t = n->lit.text;
			/* Split the literal at each ':' so each segment can hold a tilde. */
			char *colon = strchr(t, ':');
			if (colon != NULL && colon[1] != '\0') {
				union node *rest = node_new(NLIT, n->head.line);
				rest->lit.text = ststrdup(colon + 1);
				rest->lit.quoted = LIT_PLAIN;
				rest->head.next = n->head.next;
				colon[1] = '\0';
				n->head.next = rest;
			}
			if (at_start && t[0] == '~') {
				union node *r = tilde_split(n, n->head.next, true, n->head.line);
				if (r != NULL) {
					*pp = r;
					n = r;
				}
			}
			at_start = colon != NULL;
		} else {
			at_start = false;
		}
		pp = &(*pp)->head.next;
		(void)n;
	}
	/* Literals split at ':' above are merged back where no tilde was found, so the
	 * tree stays canonical (print and re-parse give the same tree). */
	for (union node *n = word->word.parts; n != NULL && n->head.next != NULL;) {
		union node *m = n->head.next;
		if (n->kind == NLIT && m->kind == NLIT && n->lit.quoted == LIT_PLAIN &&
		    m->lit.quoted == LIT_PLAIN) {
			n->lit.text = stprintf("%s%s", n->lit.text, m->lit.text);
			n->head.next = m->head.next;
		} else {
			n = m;
		}
	}
}

/* ---- $... ---- */

static union node *param_node(struct parser *p, const char *name, int flags)
{
	union node *n = node_new(NPARAM, p->tokline);
	n->param.name = ststrdup(name);
	n->param.flags = flags;
	return n;
}

static bool is_special_param(int c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
	       c == '0';
}

static union node *read_index(struct parser *p, bool dq)
{
	struct wopt o = {.ctx = CTX_INDEX, .dq = dq};
	return read_word(p, &o);
}

static _Noreturn void bad_subst(int line)
{
	sh_syntax_error(line, "bad substitution");
}

/* ${...} after the opening brace. */
static union node *read_braced(struct parser *p, bool dq, int line)
{
	int flags = PF_BRACED | (dq ? PF_DQUOTED : 0);
	struct strbuf name;
	sb_init(&name);
	bool length = false;
	union node *index = NULL;
	int c = getcq();
	if (c == '!' && !(p->flags & PARSE_NOKSH)) {
		int d = getcq();
		if (is_name_start(d)) {
			flags |= PF_BANG;
			c = d;
		} else {
			input_ungetc(d);
		}
	}
	if (c == '#' && !(flags & PF_BANG)) {
		int d = getcq();
		if (d == '}') {
			union node *n = param_node(p, "#", flags);
			return n;
		}
		if (d == '-' || d == '?' || d == '=' || d == '+' || d == ':') {
			/* ${#-} is the length of $-, ${#-word} is $# with a default. */
			int e = getcq();
			input_ungetc(e);
			if (e == '}' && d != ':' && d != '=' && d != '+') {
				length = true;
				c = d;
			} else {
				input_ungetc(d);
				sb_putc(&name, '#');
				goto op;
			}
		} else if (is_name_char(d) || is_special_param(d)) {
			length = true;
			c = d;
		} else {
			input_ungetc(d);
			sb_putc(&name, '#');
			goto op;
		}
	}
	if (is_name_start(c)) {
		sb_putc(&name, c);
		while (is_name_char(c = getcq()))
			sb_putc(&name, c);
		if (c == '[' && !(p->flags & PARSE_NOKSH))
			index = read_index(p, dq);
		else
			input_ungetc(c);
	} else if (c >= '0' && c <= '9') {
		sb_putc(&name, c);
		while ((c = getcq()) >= '0' && c <= '9')
			sb_putc(&name, c);
		input_ungetc(c);
	} else if (is_special_param(c) || c == '#') {
		sb_putc(&name, c);
	} else {
		bad_subst(line);
	}
op:;
	union node *n = param_node(p, sb_str(&name), flags);
	n->param.index = index;
	c = getcq();
	if (c == INPUT_EOF)
		sh_syntax_error(line, "missing '}'");
	if (length) {
		if (c != '}')
			bad_subst(line);
		n->param.op = PO_LENGTH;
		return n;
	}
	struct wopt o = {.ctx = CTX_PARAM, .dq = dq, .stops = ""};
	switch (c) {
	case '}':
		return n;
	case ':': {
		int d = getcq();
		if (d == '-' || d == '=' || d == '?' || d == '+') {
			n->param.flags |= PF_COLON;
			c = d;
			break;
		}
		if (p->flags & PARSE_NOKSH)
			bad_subst(line);
		input_ungetc(d);
		n->param.op = PO_SUBSTR;
		o.stops = ":";
		n->param.arg = read_word(p, &o);
		if (getcq() == ':') {
			o.stops = "";
			n->param.arg2 = read_word(p, &o);
			getcq(); /* the } */
		}
		return n;
	}
	case '#':
	case '%': {
		int d = getcq();
		bool two = d == c;
		if (!two)
			input_ungetc(d);
		n->param.op = c == '#' ? (two ? PO_TRIM_LS : PO_TRIM_SS) : (two ? PO_TRIM_LP : PO_TRIM_SP);
		o.pattern = true;
		n->param.arg = read_word(p, &o);
		getcq();
		return n;
	}
	case '/': {
		if (p->flags & PARSE_NOKSH)
			bad_subst(line);
		int d = getcq();
		n->param.op = d == '/' ? PO_REPL_ALL : d == '#' ? PO_REPL_PFX : d == '%' ? PO_REPL_SFX : PO_REPL;
		if (n->param.op == PO_REPL)
			input_ungetc(d);
		o.pattern = true;
		o.stops = "/";
		n->param.arg = read_word(p, &o);
		if (getcq() == '/') {
			o.stops = "";
			o.pattern = false;
			n->param.arg2 = read_word(p, &o);
			getcq();
		}
		return n;
	}
	default:
		break;
	}
	switch (c) {
	case '-': n->param.op = PO_MINUS; break;
	case '=': n->param.op = PO_ASSIGN; break;
	case '?': n->param.op = PO_QUESTION; break;
	case '+': n->param.op = PO_PLUS; break;
	default: bad_subst(line);
	}
	n->param.arg = read_word(p, &o);
	getcq();
	return n;
}

/*
 * prescan_arith: after "((" (already consumed), look ahead to see
 * whether the text closes with "))" (arithmetic) or with ")" then something else
 * (nested subshells / command substitution). Everything read is given back.
 */
static bool prescan_arith(void)
{
	/* The look-ahead is given back at once, so one buffer reused by every scan
	 * (never in the arena: nested $(( would keep a copy per level). */
	static char *buf;
	static size_t cap;
	size_t len = 0;
	int depth = 0;
	bool arith = true;
#define PUT(ch)                                                   \
	do {                                                      \
		if (len == cap) {                                 \
			cap = cap ? cap * 2 : 256;                \
			buf = xrealloc(buf, cap);                 \
		}                                                 \
		buf[len++] = (char)(ch);                          \
	} while (0)
	for (;;) {
		int c = getraw();
		if (c == INPUT_EOF)
			break;
		PUT(c);
		if (c == '\\') {
			int d = getraw();
			if (d == INPUT_EOF)
				break;
			PUT(d);
		} else if (c == '\'' || c == '"') {
			int d;
			while ((d = getraw()) != INPUT_EOF) {
				PUT(d);
				if (d == c)
					break;
				if (d == '\\' && c == '"') {
					int e = getraw();
					if (e == INPUT_EOF)
						break;
					PUT(e);
				}
			}
			if (d == INPUT_EOF)
				break;
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			if (depth > 0) {
				depth--;
				continue;
			}
			int d = getraw();
			if (d != INPUT_EOF)
				PUT(d);
			arith = d == ')';
			break;
		}
	}
#undef PUT
	input_unread(buf, len);
	return arith;
}

static union node *read_arith(struct parser *p, bool dq, int line)
{
	/* Quoting does not change arithmetic text: literals stay plain inside "$(( ))". */
	struct wopt o = {.ctx = CTX_ARITH};
	union node *n = node_new(NARITH, line);
	n->arith.expr = read_word(p, &o);
	n->arith.dquoted = dq;
	return n;
}

static union node *read_dollar(struct parser *p, bool dq)
{
	int line = input_lineno();
	int c = getcc();
	int flags = dq ? PF_DQUOTED : 0;
	if (c == '{') {
		lex_enter(p);
		union node *n = read_braced(p, dq, line);
		lex_leave(p);
		return n;
	}
	if (c == '(') {
		int d = getcc();
		lex_enter(p);
		union node *n;
		if (d == '(' && prescan_arith()) {
			n = read_arith(p, dq, line);
		} else {
			input_ungetc(d);
			n = node_new(NCMDSUB, line);
			n->cmdsub.tree = parse_subst(p, true);
			n->cmdsub.flags = dq ? CS_DQUOTED : 0;
		}
		lex_leave(p);
		return n;
	}
	if (is_name_start(c)) {
		struct strbuf name;
		sb_init(&name);
		sb_putc(&name, c);
		while (is_name_char(c = getcc()))
			sb_putc(&name, c);
		input_ungetc(c);
		return param_node(p, sb_str(&name), flags);
	}
	if ((c >= '0' && c <= '9') || is_special_param(c)) {
		char s[2] = {(char)c, '\0'};
		return param_node(p, s, flags);
	}
	input_ungetc(c);
	return NULL;
}

/* `...`: collect the text by the backslash rules, then parse it. */
static union node *read_backquote(struct parser *p, bool dq)
{
	int line = input_lineno();
	struct strbuf sb;
	sb_init(&sb);
	for (;;) {
		int c = getcq();
		if (c == '`')
			break;
		if (c == INPUT_EOF)
			sh_syntax_error(line, "unterminated backquote (`)");
		if (c == '\\') {
			int d = getraw();
			if (d == '$' || d == '`' || d == '\\' || (dq && d == '"')) {
				sb_putc(&sb, d);
				continue;
			}
			sb_putc(&sb, '\\');
			if (d == INPUT_EOF)
				continue;
			c = d;
		}
		sb_putc(&sb, c);
	}
	char *text = sb_str(&sb);
	lex_enter(p);
	union node *n = node_new(NCMDSUB, line);
	n->cmdsub.text = text;
	n->cmdsub.flags = CS_BACKQUOTE | (dq ? CS_DQUOTED : 0);
	input_push_string(text, NULL, line);
	n->cmdsub.tree = parse_subst(p, false);
	input_pop();
	lex_leave(p);
	return n;
}

/* The inside of "..." (heredoc = false, ends at ") or of a here-document body or
 * prompt string (heredoc = true, ends at the end of the source; " is literal). */
static void read_dq(struct parser *p, struct wb *w, bool heredoc)
{
	int line = input_lineno();
	for (;;) {
		int c = getcq();
		if (c == INPUT_EOF) {
			if (heredoc)
				return;
			sh_syntax_error(line, "unterminated quoted string");
		}
		if (c == '"' && !heredoc)
			return;
		if (c == '\\') {
			int d = getraw();
			if (d == '$' || d == '`' || d == '\\' || (d == '"' && !heredoc)) {
				wb_char(w, d, LIT_DQ);
				continue;
			}
			wb_char(w, '\\', LIT_DQ);
			if (d != INPUT_EOF)
				input_ungetc(d);
			continue;
		}
		if (c == '$') {
			union node *n = read_dollar(p, true);
			if (n != NULL)
				wb_part(w, n);
			else
				wb_char(w, '$', LIT_DQ);
			continue;
		}
		if (c == '`') {
			wb_part(w, read_backquote(p, !heredoc));
			continue;
		}
		wb_char(w, c, LIT_DQ);
	}
}

static union node *read_dq_group(struct parser *p)
{
	struct wb w;
	wb_init(&w, input_lineno());
	lex_enter(p);
	read_dq(p, &w, false);
	lex_leave(p);
	wb_flush(&w);
	union node *n = node_new(NDQ, w.line);
	n->dq.parts = w.first;
	return n;
}

/*
 * read_word: one word in the given context. CTX_NORMAL words end before a
 * metacharacter (left unread); the others consume nothing past their terminator
 * except CTX_ARITH (consumes "))") and CTX_INDEX (consumes "]").
 */
static union node *read_word(struct parser *p, const struct wopt *o)
{
	struct wb w;
	wb_init(&w, input_lineno());
	/* Inside "${x#pattern}" the pattern characters stay active (POSIX 2.6.2):
	 * only escaped or quoted characters of a pattern are quoted. */
	int plainq = o->dq && !o->pattern ? LIT_DQ : LIT_PLAIN;
	int depth = 0;  /* parentheses (arith), brackets (index), extglob groups (normal) */
	bool ksh = !(p->flags & PARSE_NOKSH);
	for (;;) {
		int c = o->ctx == CTX_NORMAL ? getcc() : getcq();
		switch (o->ctx) {
		case CTX_NORMAL:
			if (c == INPUT_EOF || c == INPUT_EOA) {
				input_ungetc(c);
				goto done;
			}
			if ((depth > 0 && (c == '(' || c == ')' || c == '|')) || (o->regex && c == '(')) {
				depth += c == '(' ? 1 : c == ')' ? -1 : 0;
				wb_char(&w, c, LIT_PLAIN);
				continue;
			}
			if (is_meta(c)) {
				input_ungetc(c);
				goto done;
			}
			if (ksh && (c == '@' || c == '*' || c == '+' || c == '?' || c == '!')) {
				int d = getcc();
				if (d == '(') {
					wb_char(&w, c, LIT_PLAIN);
					wb_char(&w, d, LIT_PLAIN);
					depth++;
					continue;
				}
				input_ungetc(d);
			}
			break;
		case CTX_PARAM:
			if (c == INPUT_EOF)
				sh_syntax_error(w.line, "missing '}'");
			if (c == '}' || (c > 0 && strchr(o->stops, c) != NULL)) {
				input_ungetc(c);
				goto done;
			}
			break;
		case CTX_ARITH:
			if (c == INPUT_EOF)
				sh_syntax_error(w.line, "missing '))'");
			if (c == '(')
				depth++;
			if (c == ')') {
				if (depth == 0) {
					int d = getcq();
					if (d != ')')
						sh_syntax_error(w.line, "missing '))'");
					goto done;
				}
				depth--;
			}
			break;
		case CTX_INDEX:
			if (c == INPUT_EOF)
				sh_syntax_error(w.line, "missing ']'");
			if (c == '[')
				depth++;
			if (c == ']') {
				if (depth == 0)
					goto done;
				depth--;
			}
			break;
		}
		switch (c) {
		case '\\': {
			int d = getraw();
			if (d == INPUT_EOF) {
				/* A backslash at the very end stands for itself. */
				wb_char(&w, '\\', o->dq ? LIT_DQ : LIT_BSLASH);
				continue;
			}
			/* In a pattern, even inside double quotes, a backslash quotes
			 * any character ("${v#\*}" removes a literal star). */
			bool dqtext = o->dq && !o->pattern;
			if (dqtext && !(d == '$' || d == '`' || d == '\\' || d == '"' || d == '}')) {
				wb_char(&w, '\\', LIT_DQ);
				input_ungetc(d);
				continue;
			}
			wb_char(&w, d, dqtext ? LIT_DQ : LIT_BSLASH);
			continue;
		}
		case '\'':
			if (o->dq && !o->pattern) {
				wb_char(&w, c, LIT_DQ);
				continue;
			}
			if (o->ctx == CTX_ARITH) {
				wb_char(&w, c, plainq);
				continue;
			}
			read_squote(&w, input_lineno());
			continue;
		case '"':
			wb_part(&w, read_dq_group(p));
			continue;
		case '$': {
			int d = getcc();
			if (d == '\'' && ksh && !o->dq && (o->ctx == CTX_NORMAL || o->ctx == CTX_PARAM)) {
				read_dollar_squote(&w, input_lineno());
				continue;
			}
			if (d == '"' && ksh && !o->dq && (o->ctx == CTX_NORMAL || o->ctx == CTX_PARAM)) {
				/* $"..." (a message to translate in ksh93/bash/mksh): the
				 * translation is the identity, so it is just "...". */
				wb_part(&w, read_dq_group(p));
				continue;
			}
			input_ungetc(d);
			union node *n = read_dollar(p, o->dq);
			if (n != NULL)
				wb_part(&w, n);
			else
				wb_char(&w, '$', plainq);
			continue;
		}
		case '`':
			wb_part(&w, read_backquote(p, o->dq));
			continue;
		default:
			wb_char(&w, c, plainq);
			continue;
		}
	}
done:;
	union node *word = wb_word(&w);
	if (o->ctx == CTX_NORMAL || (o->ctx == CTX_PARAM && !o->dq && !o->pattern))
		tilde_word(word);
	return word;
}

union node *lex_word_string(struct parser *p, bool heredoc)
{
	struct wb w;
	wb_init(&w, input_lineno());
	read_dq(p, &w, true);
	(void)heredoc;
	return wb_word(&w);
}

/* ---- here-documents ---- */

void lex_heredoc_add(struct parser *p, union node *redir)
{
	struct heredoc *h = stzalloc(sizeof *h);
	int quoted = 0;
	h->delim = parse_heredoc_delim(redir->redir.target, &quoted);
	/* No line could ever match it (bash reads to end of file with a warning). */
	if (strchr(h->delim, '\n') != NULL)
		sh_syntax_error(redir->head.line, "here-document delimiter contains a newline");
	if (redir->redir.op == R_HEREDOC_STRIP && h->delim[0] == '\t')
		sh_syntax_error(redir->head.line, "<<- here-document delimiter starts with a tab");
	redir->redir.quoted = quoted;
	h->redir = redir;
	*p->hd_tail = h;
	p->hd_tail = &h->next;
}

static void read_heredocs(struct parser *p)
{
	struct heredoc *h = p->heredocs;
	p->heredocs = NULL;
	p->hd_tail = &p->heredocs;
	for (; h != NULL; h = h->next) {
		union node *r = h->redir;
		bool strip = r->redir.op == R_HEREDOC_STRIP;
		int line = input_lineno();
		struct strbuf body, ln;
		sb_init(&body);
		sb_init(&ln);
		size_t dlen = strlen(h->delim);
		for (;;) {
			ln.len = 0;
			int c;
			bool at_start = true;
			while ((c = getraw()) != INPUT_EOF && c != '\n') {
				if (strip && at_start && c == '\t')
					continue;
				at_start = false;
				sb_putc(&ln, c);
			}
			if (ln.len == dlen && memcmp(sb_str(&ln), h->delim, dlen) == 0)
				break;
			if (c == INPUT_EOF && ln.len == 0)
				break;
			/* A last line cut by end of file still ends with a newline. */
			sb_putn(&body, ln.buf, ln.len);
			sb_putc(&body, '\n');
			if (c == INPUT_EOF)
				break;
		}
		char *text = sb_str(&body);
		union node *w;
		if (r->redir.quoted) {
			w = node_new(NWORD, line);
			union node *l = node_new(NLIT, line);
			l->lit.text = text;
			l->lit.quoted = LIT_SQ;
			w->word.parts = l;
		} else {
			input_push_string(text, NULL, line);
			w = lex_word_string(p, true);
			input_pop();
		}
		r->redir.heredoc = w;
	}
}

/* ---- tokens ---- */

enum tok lex_next(struct parser *p, int mode)
{
	int c;
	p->alias_next = false;
	for (;;) {
		c = getcc();
		if (c == ' ' || c == '\t')
			continue;
		if (c == INPUT_EOA) {
			if (input_eoa_blank)
				p->alias_next = true;
			continue;
		}
		if (c == '#') {
			while ((c = getraw()) != INPUT_EOF && c != '\n')
				;
			if (c == '\n')
				input_ungetc(c);
			continue;
		}
		break;
	}
	p->tokline = input_lineno();
	p->word = NULL;
	enum tok t;
	if ((mode & LX_REGEX) && c == '(') {
		input_ungetc(c);
		struct wopt o = {.ctx = CTX_NORMAL, .regex = true};
		p->word = read_word(p, &o);
		p->tok = T_WORD;
		return T_WORD;
	}
	switch (c) {
	case INPUT_EOF:
		if (p->heredocs != NULL)
			read_heredocs(p);
		t = T_EOF;
		break;
	case '\n':
		p->tokline--; /* the newline belongs to the line it ends */
		if (p->heredocs != NULL)
			read_heredocs(p);
		t = T_NEWLINE;
		break;
	case ';':
		c = getcc();
		if (c == ';')
			t = T_DSEMI;
		else if (c == '&')
			t = T_SEMIAMP;
		else {
			input_ungetc(c);
			t = T_SEMI;
		}
		break;
	case '&':
		c = getcc();
		if (c == '&')
			t = T_AND_IF;
		else {
			input_ungetc(c);
			t = T_AMP;
		}
		break;
	case '|':
		c = getcc();
		if (c == '|')
			t = T_OR_IF;
		else if (c == '&' && !(p->flags & PARSE_NOKSH))
			t = T_PIPEAMP;
		else {
			input_ungetc(c);
			t = T_PIPE;
		}
		break;
	case '(':
		if ((mode & LX_CMD) && !(p->flags & PARSE_NOKSH)) {
			c = getcc();
			if (c == '(' && prescan_arith()) {
				lex_enter(p);
				struct wopt o = {.ctx = CTX_ARITH};
				p->word = read_word(p, &o);
				lex_leave(p);
				t = T_ARITH;
				break;
			}
			input_ungetc(c);
		}
		t = T_LPAREN;
		break;
	case ')':
		t = T_RPAREN;
		break;
	case '<':
		c = getcc();
		if (c == '<') {
			c = getcc();
			if (c == '-')
				t = T_DLESSDASH;
			else {
				input_ungetc(c);
				t = T_DLESS;
			}
		} else if (c == '&')
			t = T_LESSAND;
		else if (c == '>')
			t = T_LESSGREAT;
		else {
			input_ungetc(c);
			t = T_LESS;
		}
		break;
	case '>':
		c = getcc();
		if (c == '>')
			t = T_DGREAT;
		else if (c == '&')
			t = T_GREATAND;
		else if (c == '|')
			t = T_CLOBBER;
		else {
			input_ungetc(c);
			t = T_GREAT;
		}
		break;
	default: {
		input_ungetc(c);
		struct wopt o = {.ctx = CTX_NORMAL, .regex = (mode & LX_REGEX) != 0};
		p->word = read_word(p, &o);
		t = T_WORD;
		/* IO_NUMBER: only digits, directly followed by < or >. */
		union node *f = p->word->word.parts;
		if (f != NULL && f->head.next == NULL && f->kind == NLIT && f->lit.quoted == LIT_PLAIN) {
			const char *s = f->lit.text;
			size_t n = strspn(s, "0123456789");
			if (n > 0 && s[n] == '\0' && n < 10) {
				c = getcc();
				input_ungetc(c);
				if (c == '<' || c == '>') {
					p->ionum = atoi(s);
					t = T_IONUM;
				}
			}
		}
		break;
	}
	}
	p->tok = t;
	return t;
}
