/* SPDX-License-Identifier: ISC */
/* The parser: the POSIX shell grammar plus ksh's [[ ]], (( )), function, select, time and |&. */
#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "arena.h"
#include "error.h"
#include "input.h"
#include "lex.h"
#include "parse.h"
#include "tree.h"

int parse_last_line;

/* next() flags */
enum {
	N_KW = 1,    /* recognise reserved words */
	N_ALIAS = 2, /* command-name position: alias substitution */
	N_CMD = 4,   /* command position for the lexer (`((`) */
	N_REGEX = 8, /* the operand of [[ =~ ]] (parenthesised groups stay in the word) */
};
#define N_START (N_KW | N_ALIAS | N_CMD)

static const struct {
	const char *text;
	enum tok tok;
	bool ksh;
} keywords[] = {
	{"!", K_BANG, false},      {"[[", K_DLBRACKET, true}, {"]]", K_DRBRACKET, true},
	{"case", K_CASE, false},   {"do", K_DO, false},       {"done", K_DONE, false},
	{"elif", K_ELIF, false},   {"else", K_ELSE, false},   {"esac", K_ESAC, false},
	{"fi", K_FI, false},       {"for", K_FOR, false},     {"function", K_FUNCTION, true},
	{"if", K_IF, false},       {"in", K_IN, false},       {"select", K_SELECT, true},
	{"then", K_THEN, false},   {"time", K_TIME, true},    {"until", K_UNTIL, false},
	{"while", K_WHILE, false}, {"{", K_LBRACE, false},    {"}", K_RBRACE, false},
};

static const char *const opnames[] = {
	[T_SEMI] = ";",     [T_AMP] = "&",       [T_PIPE] = "|",       [T_AND_IF] = "&&",
	[T_OR_IF] = "||",   [T_DSEMI] = ";;",    [T_SEMIAMP] = ";&",   [T_PIPEAMP] = "|&",
	[T_LPAREN] = "(",   [T_RPAREN] = ")",    [T_LESS] = "<",       [T_GREAT] = ">",
	[T_DGREAT] = ">>",  [T_DLESS] = "<<",    [T_DLESSDASH] = "<<-", [T_LESSAND] = "<&",
	[T_GREATAND] = ">&", [T_LESSGREAT] = "<>", [T_CLOBBER] = ">|",
};

bool is_name(const char *t)
{
	if (t == NULL || !(*t == '_' || (*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z')))
		return false;
	for (t++; *t; t++) {
		if (!(*t == '_' || (*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		      (*t >= '0' && *t <= '9')))
			return false;
	}
	return true;
}

bool is_reserved_word(const char *text)
{
	for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
		if (strcmp(text, keywords[i].text) == 0)
			return true;
	}
	return false;
}

/* plain_text: the text of a word made of one unquoted literal, else NULL. */
static const char *plain_text(const union node *w)
{
	if (w == NULL || w->kind != NWORD)
		return NULL;
	const union node *f = w->word.parts;
	if (f == NULL || f->head.next != NULL || f->kind != NLIT || f->lit.quoted != LIT_PLAIN)
		return NULL;
	return f->lit.text;
}

static enum tok kwcheck(struct parser *p)
{
	const char *t = plain_text(p->word);
	/* Most words start with a letter no reserved word starts with. */
	if (t == NULL || t[0] == '\0' || strchr("![]cdefistuw{}", t[0]) == NULL)
		return T_WORD;
	for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
		if (t[0] == keywords[i].text[0] && strcmp(t, keywords[i].text) == 0) {
			if (keywords[i].ksh && (p->flags & PARSE_NOKSH))
				return T_WORD;
			return keywords[i].tok;
		}
	}
	return T_WORD;
}

/* next: the next token (the pushed-back one first), with reserved words and alias
 * substitution as flags ask. */
static enum tok next(struct parser *p, int flags)
{
	for (;;) {
		if (p->pushed)
			p->pushed = false;
		else
			lex_next(p, ((flags & N_CMD) ? LX_CMD : 0) | ((flags & N_REGEX) ? LX_REGEX : 0));
		if (p->tok != T_WORD)
			return p->tok;
		if (flags & N_KW) {
			enum tok k = kwcheck(p);
			if (k != T_WORD)
				return k;
		}
		if (((flags & N_ALIAS) || p->alias_next) && !(p->flags & PARSE_NOALIAS)) {
			const char *t = plain_text(p->word);
			struct alias *a = t != NULL ? alias_lookup(t) : NULL;
			if (a != NULL && !(a->flags & ALIAS_INUSE)) {
				input_push_alias(a);
				continue;
			}
		}
		return T_WORD;
	}
}

static void pushback(struct parser *p)
{
	p->pushed = true;
}

/* unexpected: report the current token. */
static _Noreturn void unexpected(struct parser *p, const char *expecting)
{
	const char *what;
	enum tok t = p->tok;
	if (t == T_EOF)
		what = "end of file";
	else if (t == T_NEWLINE)
		what = "newline";
	else if (t == T_WORD || t == T_IONUM) {
		char *s = word_text(p->word);
		if (t == T_IONUM) {
			char *u = xasprintf("'%s'", s);
			what = ststrdup(u);
			free(u);
		} else if (strlen(s) > 60) {
			what = stprintf("'%.60s...'", s);
		} else {
			what = stprintf("'%s'", s);
		}
		free(s);
	} else if (t == T_ARITH) {
		what = "'(('";
	} else if (t < T_COUNT && t < (int)(sizeof opnames / sizeof opnames[0]) && opnames[t]) {
		what = stprintf("'%s'", opnames[t]);
	} else {
		what = "token";
	}
	if (expecting != NULL)
		sh_syntax_error(p->tokline, "unexpected %s (expecting %s)", what, expecting);
	sh_syntax_error(p->tokline, "unexpected %s", what);
}

static void expect(struct parser *p, enum tok want, const char *name)
{
	if (next(p, N_KW) != want)
		unexpected(p, name);
}

static bool starts_command(enum tok t)
{
	switch (t) {
	case T_WORD: case T_IONUM: case T_ARITH: case T_LPAREN:
	case T_LESS: case T_GREAT: case T_DGREAT: case T_DLESS: case T_DLESSDASH:
	case T_LESSAND: case T_GREATAND: case T_LESSGREAT: case T_CLOBBER:
	case K_IF: case K_WHILE: case K_UNTIL: case K_FOR: case K_CASE: case K_LBRACE:
	case K_BANG: case K_FUNCTION: case K_SELECT: case K_TIME: case K_DLBRACKET:
		return true;
	default:
		return false;
	}
}

static bool is_redir_op(enum tok t)
{
	return t >= T_LESS && t <= T_CLOBBER;
}

/* skip_newlines: read tokens (as flags say) past newlines; the next one is pushed back. */
static enum tok skip_newlines(struct parser *p, int flags)
{
	enum tok t;
	while ((t = next(p, flags)) == T_NEWLINE)
		;
	pushback(p);
	return t;
}

static union node *list(struct parser *p, bool top);
static union node *command(struct parser *p);

/* A compound list that must hold at least one command. */
static union node *clist(struct parser *p, const char *expecting)
{
	union node *n = list(p, false);
	if (n == NULL) {
		next(p, N_KW);
		unexpected(p, expecting);
	}
	return n;
}

static union node *wrap(enum node_kind kind, union node *body)
{
	union node *n = node_new(kind, body->head.line);
	/* All wrappers (NASYNC, NCOPROC) have body as their only field. */
	if (kind == NASYNC)
		n->async.body = body;
	else
		n->coproc.body = body;
	return n;
}

/* ---- redirections and simple commands ---- */

static union node *redirection(struct parser *p, enum tok t)
{
	int fd = -1;
	int line = p->tokline;
	if (t == T_IONUM) {
		fd = p->ionum;
		t = next(p, 0);
		if (!is_redir_op(t))
			unexpected(p, NULL);
	}
	union node *r = node_new(NREDIR, line);
	int op, dfd;
	switch (t) {
	case T_LESS: op = R_IN; dfd = 0; break;
	case T_GREAT: op = R_OUT; dfd = 1; break;
	case T_DGREAT: op = R_APPEND; dfd = 1; break;
	case T_LESSGREAT: op = R_RDWR; dfd = 0; break;
	case T_CLOBBER: op = R_CLOBBER; dfd = 1; break;
	case T_LESSAND: op = R_DUPIN; dfd = 0; break;
	case T_GREATAND: op = R_DUPOUT; dfd = 1; break;
	case T_DLESS: op = R_HEREDOC; dfd = 0; break;
	default: op = R_HEREDOC_STRIP; dfd = 0; break;
	}
	r->redir.op = op;
	r->redir.fd = fd >= 0 ? fd : dfd;
	if (next(p, 0) != T_WORD)
		unexpected(p, "a word after the redirection");
	r->redir.target = p->word;
	if (op == R_HEREDOC || op == R_HEREDOC_STRIP)
		lex_heredoc_add(p, r);
	return r;
}

/* Split a word's parts at byte `at` of the literal part `lit` into (before, after). */
static void split_at(union node *lit, size_t at, size_t skip, union node **before_tail,
		     union node **after_first)
{
	int line = lit->head.line;
	const char *t = lit->lit.text;
	if (at > 0) {
		union node *b = node_new(NLIT, line);
		b->lit.text = ststrndup(t, at);
		b->lit.quoted = LIT_PLAIN;
		*before_tail = b;
	} else {
		*before_tail = NULL;
	}
	const char *rest = t + at + skip;
	if (*rest != '\0') {
		union node *a = node_new(NLIT, line);
		a->lit.text = ststrdup(rest);
		a->lit.quoted = LIT_PLAIN;
		a->head.next = lit->head.next;
		*after_first = a;
	} else {
		*after_first = lit->head.next;
	}
}

/* try_assign: NAME=value, NAME+=value, NAME[index]=value (ksh) → NASSIGN, else NULL. */
static union node *try_assign(struct parser *p, union node *w)
{
	union node *f = w->word.parts;
	if (f == NULL || f->kind != NLIT || f->lit.quoted != LIT_PLAIN)
		return NULL;
	const char *t = f->lit.text;
	if (!(t[0] == '_' || (t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
		return NULL;
	size_t i = 1;
	while (t[i] == '_' || (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
	       (t[i] >= '0' && t[i] <= '9'))
		i++;
	bool ksh = !(p->flags & PARSE_NOKSH);
	union node *a = node_new(NASSIGN, w->head.line);
	union node *value = node_new(NWORD, w->head.line);
	a->assign.value = value;
	if (t[i] == '=' || (ksh && t[i] == '+' && t[i + 1] == '=')) {
		a->assign.name = ststrndup(t, i);
		a->assign.append = t[i] == '+';
		union node *before;
		split_at(f, i, a->assign.append ? 2 : 1, &before, &value->word.parts);
		lex_assign_tilde(value);
		return a;
	}
	if (!ksh || t[i] != '[')
		return NULL;
	/* NAME[...]=: the subscript may span parts ($i); it ends at the first "]=" or
	 * "]+=" in an unquoted literal. */
	a->assign.name = ststrndup(t, i);
	union node *ifirst = NULL, **itail = &ifirst;
	union node *part = f;
	size_t from = i + 1;
	for (; part != NULL; part = part->head.next, from = 0) {
		if (part->kind == NLIT && part->lit.quoted == LIT_PLAIN) {
			const char *s = part->lit.text;
			for (size_t k = from; s[k]; k++) {
				if (s[k] != ']')
					continue;
				size_t skip = s[k + 1] == '=' ? 2 : (s[k + 1] == '+' && s[k + 2] == '=') ? 3 : 0;
				if (skip == 0)
					continue;
				a->assign.append = skip == 3;
				if (k > from) {
					union node *b = node_new(NLIT, part->head.line);
					b->lit.text = ststrndup(s + from, k - from);
					b->lit.quoted = LIT_PLAIN;
					*itail = b;
					itail = &b->head.next;
				}
				*itail = NULL;
				union node *idx = node_new(NWORD, w->head.line);
				idx->word.parts = ifirst;
				a->assign.index = idx;
				union node *before;
				split_at(part, k, skip, &before, &value->word.parts);
				lex_assign_tilde(value);
				return a;
			}
			if (from > 0 || part == f) {
				union node *b = node_new(NLIT, part->head.line);
				b->lit.text = ststrdup(s + from);
				b->lit.quoted = LIT_PLAIN;
				if (*b->lit.text) {
					*itail = b;
					itail = &b->head.next;
				}
				continue;
			}
		}
		/* Copy the part node into the index chain (it keeps its own children). */
		union node *c = node_new(part->kind, part->head.line);
		memcpy(c, part, node_size(part->kind));
		c->head.next = NULL;
		*itail = c;
		itail = &c->head.next;
	}
	return NULL;
}

/* valid_fname: an unquoted word usable as a function name (dash wants a NAME; mksh
 * and bash take more, e.g. a-b; nothing that an extglob group could have put
 * parentheses or bars into). */
static bool valid_fname(const char *name)
{
	return name != NULL && *name != '\0' && strpbrk(name, "$`()|<>;&") == NULL;
}

static bool starts_compound(enum tok t)
{
	switch (t) {
	case K_LBRACE: case T_LPAREN: case K_IF: case K_WHILE: case K_UNTIL: case K_FOR:
	case K_CASE: case K_SELECT: case K_DLBRACKET: case T_ARITH:
		return true;
	default:
		return false;
	}
}

static union node *func_body(struct parser *p, const char *name, int line, bool ksh)
{
	/* POSIX wants a compound command; dash and mksh also take a simple one. */
	enum tok t = skip_newlines(p, N_START);
	if (!starts_compound(t) && t != T_WORD && t != T_IONUM && !is_redir_op(t) &&
	    t != K_FUNCTION) {
		next(p, N_START);
		unexpected(p, "a function body");
	}
	union node *f = node_new(NFUNC, line);
	f->func.name = ststrdup(name);
	f->func.ksh = ksh;
	f->func.body = command(p);
	return f;
}

/*
 * Declaration utilities (export, readonly, typeset, local): their NAME=word
 * operands get tilde expansion like assignments (POSIX 2024, dash, mksh). The
 * parser splits the word after "NAME=" only when a tilde prefix follows, so the
 * back end expands them as ordinary words.
 */
static void declaration_tilde(union node *cmd)
{
	const char *name = plain_text(cmd->cmd.args);
	if (name == NULL || (strcmp(name, "export") != 0 && strcmp(name, "readonly") != 0 &&
			     strcmp(name, "typeset") != 0 && strcmp(name, "local") != 0))
		return;
	for (union node *w = cmd->cmd.args->head.next; w != NULL; w = w->head.next) {
		union node *f = w->word.parts;
		if (f == NULL || f->kind != NLIT || f->lit.quoted != LIT_PLAIN)
			continue;
		const char *t = f->lit.text;
		const char *eq = strchr(t, '=');
		if (eq == NULL || eq == t)
			continue;
		char *nm = ststrndup(t, (size_t)(eq - t));
		if (!is_name(nm) || (eq[1] != '~' && strstr(eq + 1, ":~") == NULL))
			continue;
		union node *value = node_new(NWORD, w->head.line);
		union node *rest = node_new(NLIT, f->head.line);
		rest->lit.text = ststrdup(eq + 1);
		rest->lit.quoted = LIT_PLAIN;
		rest->head.next = f->head.next;
		value->word.parts = rest;
		lex_assign_tilde(value);
		union node *v = value->word.parts;
		if (v != NULL && v->kind == NLIT && v->lit.quoted == LIT_PLAIN) {
			/* no tilde at the start: keep "NAME=text" as one literal */
			f->lit.text = stprintf("%s=%s", nm, v->lit.text);
			f->head.next = v->head.next;
		} else {
			f->lit.text = stprintf("%s=", nm);
			f->head.next = v;
		}
	}
}

/* NAME=( words ) (ksh93, mksh): the words up to ')', newlines allowed between them. */
static void array_list(struct parser *p, union node *a)
{
	next(p, 0); /* the ( */
	union node **tail = &a->assign.list;
	for (;;) {
		enum tok t = next(p, 0);
		if (t == T_NEWLINE)
			continue;
		if (t == T_RPAREN)
			break;
		if (t != T_WORD)
			unexpected(p, "')'");
		*tail = p->word;
		tail = &p->word->head.next;
	}
	/* An empty list still differs from NAME=: the parts stay empty, the list marks it. */
	if (a->assign.list == NULL)
		a->assign.list = node_new(NWORD, a->head.line);
}

static union node *simple_command(struct parser *p)
{
	union node *n = node_new(NCMD, p->tokline);
	union node **atail = &n->cmd.assigns, **wtail = &n->cmd.args, **rtail = &n->cmd.redirs;
	bool have_name = false, first = true;
	for (;; first = false) {
		enum tok t = next(p, have_name || first ? 0 : N_ALIAS);
		if (t == T_IONUM || is_redir_op(t)) {
			union node *r = redirection(p, t);
			*rtail = r;
			rtail = &r->head.next;
			continue;
		}
		if (t != T_WORD) {
			pushback(p);
			break;
		}
		union node *w = p->word;
		if (!have_name) {
			union node *a = try_assign(p, w);
			if (a != NULL && a->assign.index == NULL && a->assign.value->word.parts == NULL &&
			    !(p->flags & PARSE_NOKSH) && lex_next_is_lparen())
				array_list(p, a);
			if (a != NULL) {
				*atail = a;
				atail = &a->head.next;
				continue;
			}
			if (n->cmd.assigns == NULL && n->cmd.redirs == NULL) {
				int line = p->tokline;
				if (next(p, 0) == T_LPAREN) {
					const char *name = plain_text(w);
					if (!valid_fname(name))
						sh_syntax_error(line, "bad function name");
					if (next(p, 0) != T_RPAREN)
						unexpected(p, "')'");
					return func_body(p, name, line, false);
				}
				pushback(p);
			}
		}
		*wtail = w;
		wtail = &w->head.next;
		have_name = true;
	}
	if (n->cmd.assigns == NULL && n->cmd.args == NULL && n->cmd.redirs == NULL) {
		next(p, 0);
		unexpected(p, NULL);
	}
	declaration_tilde(n);
	return n;
}

/* ---- [[ ]] ---- */

static bool is_unary_test(const char *s)
{
	return s != NULL && s[0] == '-' && s[1] != '\0' && s[2] == '\0' &&
	       strchr("abcdefghknoprstuwxzGLOSN", s[1]) != NULL;
}

static const char *binary_test(const char *s)
{
	static const char *const ops[] = {"=", "==", "!=", "-eq", "-ne", "-lt", "-le", "-gt",
					  "-ge", "-nt", "-ot", "-ef", "=~"}; /* =~ as ksh93 (mksh lacks it) */
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		if (strcmp(s, ops[i]) == 0)
			return ops[i];
	}
	return NULL;
}

static bool is_dbracket_end(struct parser *p)
{
	const char *t = plain_text(p->word);
	return (p->tok == T_WORD) && t != NULL && strcmp(t, "]]") == 0;
}

static union node *t_or(struct parser *p);

static union node *t_primary(struct parser *p)
{
	enum tok t = next(p, 0);
	int line = p->tokline;
	if (t == T_LPAREN) {
		lex_enter(p);
		union node *e = t_or(p);
		if (next(p, 0) != T_RPAREN)
			unexpected(p, "')'");
		lex_leave(p);
		return e;
	}
	if ((t != T_WORD && t != T_IONUM) || is_dbracket_end(p))
		unexpected(p, "a test expression");
	union node *w1 = p->word;
	const char *s1 = plain_text(w1);
	if (is_unary_test(s1)) {
		enum tok t2 = next(p, 0);
		if ((t2 == T_WORD || t2 == T_IONUM) && !is_dbracket_end(p)) {
			union node *n = node_new(NTUNARY, line);
			n->tunary.op = ststrdup(s1);
			n->tunary.arg = p->word;
			return n;
		}
		pushback(p);
	}
	enum tok t2 = next(p, 0);
	const char *op = NULL;
	if (t2 == T_LESS)
		op = "<";
	else if (t2 == T_GREAT)
		op = ">";
	else if (t2 == T_WORD)
		op = binary_test(plain_text(p->word));
	if (op != NULL) {
		enum tok t3 = strcmp(op, "=~") == 0 ? next(p, N_REGEX) : next(p, 0);
		if ((t3 != T_WORD && t3 != T_IONUM) || is_dbracket_end(p))
			unexpected(p, "an operand");
		union node *n = node_new(NTBINARY, line);
		n->tbinary.op = ststrdup(op);
		n->tbinary.left = w1;
		n->tbinary.right = p->word;
		return n;
	}
	pushback(p);
	union node *n = node_new(NTUNARY, line);
	n->tunary.op = ststrdup("-n");
	n->tunary.arg = w1;
	return n;
}

static union node *t_not(struct parser *p)
{
	enum tok t = next(p, 0);
	const char *s = t == T_WORD ? plain_text(p->word) : NULL;
	if (s != NULL && strcmp(s, "!") == 0) {
		lex_enter(p);
		union node *n = node_new(NTNOT, p->tokline);
		n->tnot.arg = t_not(p);
		lex_leave(p);
		return n;
	}
	pushback(p);
	return t_primary(p);
}

static union node *t_binop(struct parser *p, bool is_or)
{
	union node *a = is_or ? t_binop(p, false) : t_not(p);
	int extra = 0;
	for (;;) {
		enum tok t = next(p, 0);
		if (t != (is_or ? T_OR_IF : T_AND_IF)) {
			pushback(p);
			break;
		}
		skip_newlines(p, 0);
		union node *b = is_or ? t_binop(p, false) : t_not(p);
		union node *n = node_new(NTANDOR, a->head.line);
		n->tandor.left = a;
		n->tandor.right = b;
		n->tandor.op = is_or ? ANDOR_OR : ANDOR_AND;
		a = n;
		lex_enter(p);
		extra++;
	}
	while (extra-- > 0)
		lex_leave(p);
	return a;
}

static union node *t_or(struct parser *p)
{
	return t_binop(p, true);
}

/* ---- compound commands ---- */

static union node *if_command(struct parser *p, int line)
{
	union node *n = node_new(NIF, line), *cur = n;
	int extra = 0;
	for (;;) {
		cur->ifs.cond = clist(p, "a condition");
		expect(p, K_THEN, "'then'");
		cur->ifs.thenp = clist(p, "a command");
		enum tok t = next(p, N_KW);
		if (t == K_ELIF) {
			union node *e = node_new(NIF, p->tokline);
			cur->ifs.elsep = e;
			cur = e;
			lex_enter(p);
			extra++;
			continue;
		}
		if (t == K_ELSE) {
			cur->ifs.elsep = clist(p, "a command");
			expect(p, K_FI, "'fi'");
			break;
		}
		if (t != K_FI)
			unexpected(p, "'fi'");
		break;
	}
	while (extra-- > 0)
		lex_leave(p);
	return n;
}

static union node *for_command(struct parser *p, int line, bool select)
{
	if (next(p, 0) != T_WORD || !is_name(plain_text(p->word))) {
		if (p->tok == T_WORD)
			sh_syntax_error(p->tokline, "bad %s variable", select ? "select" : "for");
		unexpected(p, "a variable name");
	}
	union node *n = node_new(NFOR, line);
	n->fors.var = ststrdup(plain_text(p->word));
	n->fors.select = select;
	enum tok t;
	while ((t = next(p, N_KW)) == T_NEWLINE)
		;
	if (t == K_IN) {
		n->fors.has_in = 1;
		union node **tail = &n->fors.words;
		while ((t = next(p, 0)) == T_WORD) {
			*tail = p->word;
			tail = &p->word->head.next;
		}
		if (t != T_SEMI && t != T_NEWLINE)
			unexpected(p, "';' or newline");
		t = skip_newlines(p, N_KW);
		next(p, N_KW);
	} else if (t == T_SEMI) {
		t = skip_newlines(p, N_KW);
		next(p, N_KW);
	}
	if (t != K_DO)
		unexpected(p, "'do'");
	n->fors.body = clist(p, "a command");
	expect(p, K_DONE, "'done'");
	return n;
}

/* A pattern word in case: reserved words are plain words there. */
static bool case_word(struct parser *p, enum tok t)
{
	return t == T_WORD || (t >= K_IF && p->tok == T_WORD);
}

static union node *case_command(struct parser *p, int line)
{
	union node *n = node_new(NCASE, line);
	if (next(p, 0) != T_WORD)
		unexpected(p, "a word");
	n->cases.word = p->word;
	skip_newlines(p, N_KW);
	expect(p, K_IN, "'in'");
	union node **tail = &n->cases.items;
	for (;;) {
		enum tok t = skip_newlines(p, N_KW);
		t = next(p, N_KW);
		if (t == K_ESAC)
			break;
		union node *item = node_new(NCASEITEM, p->tokline);
		if (t == T_LPAREN)
			t = next(p, 0);
		union node **ptail = &item->caseitem.patterns;
		for (;;) {
			if (!case_word(p, t))
				unexpected(p, "a pattern");
			*ptail = p->word;
			ptail = &p->word->head.next;
			t = next(p, 0);
			if (t != T_PIPE)
				break;
			t = next(p, 0);
		}
		if (t != T_RPAREN)
			unexpected(p, "')'");
		item->caseitem.body = list(p, false);
		*tail = item;
		tail = &item->head.next;
		t = next(p, N_KW);
		if (t == T_DSEMI || t == T_SEMIAMP) {
			item->caseitem.fallthrough = t == T_SEMIAMP;
			continue;
		}
		if (t == K_ESAC)
			break;
		unexpected(p, "';;' or 'esac'");
	}
	return n;
}

/* Redirections after a compound command wrap it in NREDIRCMD. */
static union node *compound_redirs(struct parser *p, union node *body)
{
	union node *first = NULL, **tail = &first;
	for (;;) {
		enum tok t = next(p, 0);
		if (t != T_IONUM && !is_redir_op(t)) {
			pushback(p);
			break;
		}
		union node *r = redirection(p, t);
		*tail = r;
		tail = &r->head.next;
	}
	if (first == NULL)
		return body;
	union node *n = node_new(NREDIRCMD, body->head.line);
	n->redircmd.body = body;
	n->redircmd.redirs = first;
	return n;
}

static union node *command(struct parser *p)
{
	lex_enter(p);
	enum tok t = next(p, N_START);
	int line = p->tokline;
	union node *n;
	switch (t) {
	case K_LBRACE:
		n = node_new(NBRACE, line);
		n->brace.body = clist(p, "a command");
		expect(p, K_RBRACE, "'}'");
		break;
	case T_LPAREN:
		n = node_new(NSUBSHELL, line);
		n->subshell.body = clist(p, "a command");
		expect(p, T_RPAREN, "')'");
		break;
	case K_IF:
		n = if_command(p, line);
		break;
	case K_WHILE:
	case K_UNTIL:
		n = node_new(NWHILE, line);
		n->loop.until = t == K_UNTIL;
		n->loop.cond = clist(p, "a condition");
		expect(p, K_DO, "'do'");
		n->loop.body = clist(p, "a command");
		expect(p, K_DONE, "'done'");
		break;
	case K_FOR:
	case K_SELECT:
		n = for_command(p, line, t == K_SELECT);
		break;
	case K_CASE:
		n = case_command(p, line);
		break;
	case K_DLBRACKET:
		n = node_new(NDBRACKET, line);
		n->dbracket.expr = t_or(p);
		next(p, 0);
		if (!is_dbracket_end(p))
			unexpected(p, "']]'");
		break;
	case T_ARITH:
		n = node_new(NARITHCMD, line);
		n->arithcmd.expr = p->word;
		break;
	case K_FUNCTION: {
		if (next(p, 0) != T_WORD || !valid_fname(plain_text(p->word)))
			unexpected(p, "a function name");
		const char *name = plain_text(p->word);
		if (next(p, 0) == T_LPAREN) {
			if (next(p, 0) != T_RPAREN)
				unexpected(p, "')'");
		} else {
			pushback(p);
		}
		n = func_body(p, name, line, true);
		lex_leave(p);
		return n;
	}
	case T_WORD:
	case T_IONUM:
	case T_LESS: case T_GREAT: case T_DGREAT: case T_DLESS: case T_DLESSDASH:
	case T_LESSAND: case T_GREATAND: case T_LESSGREAT: case T_CLOBBER:
		pushback(p);
		n = simple_command(p);
		lex_leave(p);
		return n;
	default:
		unexpected(p, NULL);
	}
	n = compound_redirs(p, n);
	lex_leave(p);
	return n;
}

static union node *pipeline(struct parser *p)
{
	int negate = 0;
	enum tok t = next(p, N_START);
	if (t == K_TIME) {
		union node *n = node_new(NTIME, p->tokline);
		t = next(p, N_START);
		const char *s = t == T_WORD ? plain_text(p->word) : NULL;
		if (s != NULL && strcmp(s, "-p") == 0) {
			n->time.posix = 1;
			t = next(p, N_START);
		}
		pushback(p);
		if (starts_command(t)) {
			lex_enter(p);
			n->time.body = pipeline(p);
			lex_leave(p);
		}
		return n;
	}
	while (t == K_BANG) {
		negate ^= 1;
		t = next(p, N_START);
	}
	pushback(p);
	union node *first = command(p), **tail = &first->head.next;
	int count = 1;
	while (next(p, 0) == T_PIPE) {
		skip_newlines(p, N_START);
		union node *c = command(p);
		*tail = c;
		tail = &c->head.next;
		count++;
	}
	pushback(p);
	if (count == 1 && !negate)
		return first;
	union node *n = node_new(NPIPE, first->head.line);
	n->pipe.cmds = first;
	n->pipe.negate = negate;
	return n;
}

static union node *and_or(struct parser *p)
{
	union node *n = pipeline(p);
	int extra = 0;
	for (;;) {
		enum tok t = next(p, 0);
		if (t != T_AND_IF && t != T_OR_IF) {
			pushback(p);
			break;
		}
		skip_newlines(p, N_START);
		union node *r = pipeline(p);
		union node *a = node_new(NANDOR, n->head.line);
		a->andor.left = n;
		a->andor.right = r;
		a->andor.op = t == T_AND_IF ? ANDOR_AND : ANDOR_OR;
		n = a;
		/* Left-nested chains recurse in every tree walker: count them. */
		lex_enter(p);
		extra++;
	}
	while (extra-- > 0)
		lex_leave(p);
	return n;
}

/* list: and-or lists separated by ; & |& (and newlines unless top); stops before the
 * first token that cannot start a command (pushed back). NULL when empty. */
static union node *list(struct parser *p, bool top)
{
	union node *first = NULL, **tail = &first;
	int count = 0;
	for (;;) {
		enum tok t = next(p, N_START);
		if (!top) {
			while (t == T_NEWLINE)
				t = next(p, N_START);
		}
		pushback(p);
		if (!starts_command(t))
			break;
		union node *n = and_or(p);
		t = next(p, 0);
		if (t == T_AMP)
			n = wrap(NASYNC, n);
		else if (t == T_PIPEAMP)
			n = wrap(NCOPROC, n);
		*tail = n;
		tail = &n->head.next;
		count++;
		if (t == T_SEMI || t == T_AMP || t == T_PIPEAMP)
			continue;
		if (t == T_NEWLINE && !top)
			continue;
		pushback(p);
		break;
	}
	if (count <= 1)
		return first;
	union node *n = node_new(NLIST, first->head.line);
	n->list.items = first;
	return n;
}

/* ---- entry points ---- */

union node *parse_subst(struct parser *p, bool dollar_paren)
{
	/* A nested parse: its own token and here-document state. */
	enum tok stok = p->tok;
	union node *sword = p->word;
	int sion = p->ionum, sline = p->tokline;
	bool spushed = p->pushed, salias = p->alias_next;
	struct heredoc *shd = p->heredocs, **stail = p->hd_tail;
	p->pushed = false;
	p->heredocs = NULL;
	p->hd_tail = &p->heredocs;
	union node *n = list(p, false);
	enum tok t = next(p, N_KW);
	if (dollar_paren ? t != T_RPAREN : t != T_EOF)
		unexpected(p, dollar_paren ? "')'" : "end of backquoted command");
	if (p->heredocs != NULL)
		sh_syntax_error(p->tokline, "here-document '%s' has no body before ')'",
				p->heredocs->delim);
	p->tok = stok;
	p->word = sword;
	p->ionum = sion;
	p->tokline = sline;
	p->pushed = spushed;
	p->alias_next = salias;
	p->heredocs = shd;
	p->hd_tail = stail;
	return n;
}

static void delim_text(struct strbuf *sb, union node *parts, int *quoted)
{
	for (union node *n = parts; n != NULL; n = n->head.next) {
		switch (n->kind) {
		case NLIT:
			if (n->lit.quoted != LIT_PLAIN)
				*quoted = 1;
			sb_puts(sb, n->lit.text);
			break;
		case NDQ:
			*quoted = 1;
			delim_text(sb, n->dq.parts, quoted);
			break;
		default: {
			/* $x, $(...), ~ in a delimiter are taken as written. */
			union node *nx = n->head.next;
			n->head.next = NULL;
			char *s = word_text(n);
			n->head.next = nx;
			sb_puts(sb, s);
			free(s);
			break;
		}
		}
	}
}

char *parse_heredoc_delim(union node *word, int *quoted)
{
	struct strbuf sb;
	sb_init(&sb);
	*quoted = 0;
	delim_text(&sb, word->word.parts, quoted);
	return sb_str(&sb);
}

static struct parser *new_parser(int flags)
{
	struct parser *p = stzalloc(sizeof *p);
	p->flags = flags;
	p->hd_tail = &p->heredocs;
	return p;
}

/* One complete command at top level, or NULL at EOF. */
static union node *top_command(struct parser *p)
{
	input_begin_command();
	for (;;) {
		enum tok t = next(p, N_START);
		if (t == T_NEWLINE) {
			input_begin_command();
			continue;
		}
		if (t == T_EOF)
			return NULL;
		break;
	}
	pushback(p);
	parse_last_line = p->tokline;
	union node *n = list(p, true);
	enum tok t = next(p, 0);
	if (t != T_NEWLINE && t != T_EOF)
		unexpected(p, NULL);
	if (n == NULL)
		unexpected(p, NULL);
	return n;
}

union node *parse_command(int flags)
{
	struct parser *p = new_parser(flags);
	int base = input_depth();
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) != 0) {
		input_pop_to(base);
		sh_unwind(j.kind, j.status);
	}
	union node *n = top_command(p);
	sh_pop(&j);
	input_sync();
	return n;
}

/* Append the commands of n (flattening an NLIST) to *tail. */
static union node **append_items(union node **tail, union node *n)
{
	union node *items = n->kind == NLIST ? n->list.items : n;
	*tail = items;
	while (*tail != NULL)
		tail = &(*tail)->head.next;
	return tail;
}

union node *parse_string(const char *text, const char *name, int lineno, int flags)
{
	int base = input_depth();
	input_push_string(text, name, lineno);
	struct parser *p = new_parser(flags);
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) != 0) {
		input_pop_to(base);
		sh_unwind(j.kind, j.status);
	}
	union node *first = NULL, **tail = &first;
	int count = 0;
	union node *n;
	while ((n = top_command(p)) != NULL) {
		count += n->kind == NLIST ? 2 : 1;
		tail = append_items(tail, n);
	}
	sh_pop(&j);
	input_pop_to(base);
	if (first == NULL || count == 1)
		return first;
	union node *l = node_new(NLIST, first->head.line);
	l->list.items = first;
	return l;
}

union node *parse_word_string(const char *text, const char *name, int lineno)
{
	int base = input_depth();
	input_push_string(text, name, lineno);
	struct parser *p = new_parser(0);
	struct sh_jmp j;
	sh_push(&j);
	if (setjmp(j.jb) != 0) {
		input_pop_to(base);
		sh_unwind(j.kind, j.status);
	}
	union node *w = lex_word_string(p, true);
	sh_pop(&j);
	input_pop_to(base);
	return w;
}
