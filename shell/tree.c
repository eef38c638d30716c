/* SPDX-License-Identifier: ISC */
/* Print syntax trees back as shell text that parses to an equal tree. */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "lex.h"
#include "parse.h"
#include "tree.h"

struct pr {
	char *buf;
	size_t len, cap;
	int flags;
	const union node **hd; /* here-documents waiting for the next newline */
	size_t nhd, caphd;
};

enum wctx {
	W_NORMAL,  /* an unquoted shell word */
	W_DQ,      /* inside "..." */
	W_HEREDOC, /* an unquoted here-document body */
	W_ARITH,   /* inside $(( )) / (( )) */
	W_PARAMDQ, /* the word of ${x op word} inside double quotes */
	W_PATDQ,   /* the pattern of ${x#pattern} (# ## % %% /) inside double quotes */
};

static void put(struct pr *p, const char *s, size_t n)
{
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : 128;
		while (cap < p->len + n + 1)
			cap *= 2;
		p->buf = xrealloc(p->buf, cap);
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void puts_(struct pr *p, const char *s)
{
	put(p, s, strlen(s));
}

static void putc_(struct pr *p, char c)
{
	put(p, &c, 1);
}

static void indent(struct pr *p, int ind)
{
	for (int i = 0; i < ind; i++)
		putc_(p, '\t');
}

static void pr_word(struct pr *p, const union node *w, enum wctx ctx);
static void pr_parts(struct pr *p, const union node *parts, enum wctx ctx);
static void pr_cmd(struct pr *p, const union node *n, int ind);
static char *sub_text(const union node *tree);

/* Single-quoted text; $'...' when it holds a quote (only $'...' can have produced
 * it). */
static void pr_squote(struct pr *p, const char *t)
{
	bool ansi = false;
	for (const char *s = t; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\'')
			ansi = true;
	}
	if (!ansi) {
		putc_(p, '\'');
		puts_(p, t);
		putc_(p, '\'');
		return;
	}
	puts_(p, "$'");
	for (const char *s = t; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\'' || c == '\\') {
			putc_(p, '\\');
			putc_(p, (char)c);
		} else if (c < 32 || c == 127) {
			char o[8];
			snprintf(o, sizeof o, "\\%03o", c);
			puts_(p, o);
		} else {
			putc_(p, (char)c);
		}
	}
	putc_(p, '\'');
}

static void pr_lit(struct pr *p, const union node *n, enum wctx ctx)
{
	const char *t = n->lit.text;
	switch (n->lit.quoted) {
	case LIT_PLAIN:
		puts_(p, t);
		return;
	case LIT_SQ:
		if (ctx == W_NORMAL || ctx == W_ARITH || ctx == W_PARAMDQ || ctx == W_PATDQ) {
			pr_squote(p, t);
			return;
		}
		break;
	case LIT_BSLASH:
		if (ctx == W_NORMAL || ctx == W_ARITH || ctx == W_PATDQ) {
			for (; *t; t++) {
				putc_(p, '\\');
				putc_(p, *t);
			}
			return;
		}
		break;
	default:
		break;
	}
	/* LIT_DQ (or anything printed inside double-quote rules). */
	for (; *t; t++) {
		char c = *t;
		bool esc = c == '\\' || c == '$' || c == '`';
		if (c == '"' && (ctx == W_DQ || ctx == W_PARAMDQ || ctx == W_PATDQ))
			esc = true;
		if (c == '}' && (ctx == W_PARAMDQ || ctx == W_PATDQ))
			esc = true;
		if (ctx == W_NORMAL || ctx == W_ARITH) {
			/* A DQ literal outside quotes: print it inside quotes. */
			putc_(p, '"');
			for (; *t; t++) {
				c = *t;
				if (c == '\\' || c == '$' || c == '`' || c == '"')
					putc_(p, '\\');
				putc_(p, c);
			}
			putc_(p, '"');
			return;
		}
		if (esc)
			putc_(p, '\\');
		putc_(p, c);
	}
}

static bool is_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
	}
	return true;
}

static void pr_param(struct pr *p, const union node *n)
{
	const char *name = n->param.name;
	bool dq = n->param.flags & PF_DQUOTED;
	enum wctx actx = dq ? W_PARAMDQ : W_NORMAL;
	if (n->param.op == PO_NONE && n->param.index == NULL && !(n->param.flags & (PF_BRACED | PF_BANG)) &&
	    !(is_digits(name) && name[1] != '\0')) {
		putc_(p, '$');
		puts_(p, name);
		return;
	}
	puts_(p, "${");
	if (n->param.op == PO_LENGTH)
		putc_(p, '#');
	if (n->param.flags & PF_BANG)
		putc_(p, '!');
	puts_(p, name);
	if (n->param.index != NULL) {
		putc_(p, '[');
		pr_word(p, n->param.index, dq ? W_PARAMDQ : W_ARITH);
		putc_(p, ']');
	}
	const char *op = "";
	bool colon = n->param.flags & PF_COLON;
	switch (n->param.op) {
	case PO_MINUS: op = colon ? ":-" : "-"; break;
	case PO_ASSIGN: op = colon ? ":=" : "="; break;
	case PO_QUESTION: op = colon ? ":?" : "?"; break;
	case PO_PLUS: op = colon ? ":+" : "+"; break;
	case PO_TRIM_SS: op = "#"; break;
	case PO_TRIM_LS: op = "##"; break;
	case PO_TRIM_SP: op = "%"; break;
	case PO_TRIM_LP: op = "%%"; break;
	case PO_SUBSTR: op = ":"; break;
	case PO_REPL: op = "/"; break;
	case PO_REPL_ALL: op = "//"; break;
	case PO_REPL_PFX: op = "/#"; break;
	case PO_REPL_SFX: op = "/%"; break;
	default: break;
	}
	puts_(p, op);
	bool pattern = n->param.op >= PO_TRIM_SS && n->param.op != PO_SUBSTR;
	if (n->param.arg != NULL)
		pr_word(p, n->param.arg, dq && pattern ? W_PATDQ : actx);
	if (n->param.op == PO_SUBSTR && n->param.arg2 != NULL) {
		putc_(p, ':');
		pr_word(p, n->param.arg2, actx);
	} else if (n->param.op >= PO_REPL && n->param.arg2 != NULL) {
		putc_(p, '/');
		pr_word(p, n->param.arg2, actx);
	}
	putc_(p, '}');
}

/* An unclosed extglob group such as `@(a` in the text just printed would swallow a
 * closing parenthesis printed right after it: callers then add a space. */
static bool has_extglob(const char *s, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i + 1] == '(' && (s[i] == '@' || s[i] == '*' || s[i] == '+' || s[i] == '?' ||
					s[i] == '!'))
			return true;
	}
	return false;
}

static void pr_part(struct pr *p, const union node *n, enum wctx ctx)
{
	switch (n->kind) {
	case NLIT:
		pr_lit(p, n, ctx);
		break;
	case NDQ:
		putc_(p, '"');
		pr_parts(p, n->dq.parts, W_DQ);
		putc_(p, '"');
		break;
	case NPARAM:
		pr_param(p, n);
		break;
	case NCMDSUB:
		if (n->cmdsub.flags & CS_BACKQUOTE) {
			putc_(p, '`');
			for (const char *t = n->cmdsub.text ? n->cmdsub.text : ""; *t; t++) {
				if (*t == '\\' || *t == '`' || *t == '$' ||
				    (*t == '"' && (n->cmdsub.flags & CS_DQUOTED) && ctx != W_HEREDOC))
					putc_(p, '\\');
				putc_(p, *t);
			}
			putc_(p, '`');
		} else {
			char *s = sub_text(n->cmdsub.tree);
			puts_(p, "$(");
			if (s[0] == '(')
				putc_(p, ' ');
			puts_(p, s);
			if (has_extglob(s, strlen(s)))
				putc_(p, ' ');
			putc_(p, ')');
			free(s);
		}
		break;
	case NARITH:
		puts_(p, "$((");
		pr_word(p, n->arith.expr, W_ARITH);
		puts_(p, "))");
		break;
	case NTILDE:
		putc_(p, '~');
		puts_(p, n->tilde.user);
		break;
	default:
		/* A command node where a part was expected: print it as a command. */
		pr_cmd(p, n, 0);
		break;
	}
}

static void pr_parts(struct pr *p, const union node *parts, enum wctx ctx)
{
	for (const union node *n = parts; n != NULL; n = n->head.next)
		pr_part(p, n, ctx);
}

static void pr_word(struct pr *p, const union node *w, enum wctx ctx)
{
	if (w == NULL)
		return;
	if (w->kind == NWORD)
		pr_parts(p, w->word.parts, ctx);
	else
		pr_part(p, w, ctx);
}

/* Here-documents print after the next newline. */
static void add_heredoc(struct pr *p, const union node *r)
{
	if (p->nhd == p->caphd) {
		p->caphd = p->caphd ? p->caphd * 2 : 4;
		p->hd = xrealloc(p->hd, p->caphd * sizeof *p->hd);
	}
	p->hd[p->nhd++] = r;
}

static void flush_heredocs(struct pr *p)
{
	for (size_t i = 0; i < p->nhd; i++) {
		const union node *r = p->hd[i];
		const union node *body = r->redir.heredoc;
		size_t start = p->len;
		if (body != NULL && r->redir.quoted) {
			/* A quoted body is one literal: its text as is. */
			const union node *l = body->word.parts;
			if (l != NULL && l->kind == NLIT)
				puts_(p, l->lit.text);
		} else if (body != NULL) {
			pr_word(p, body, W_HEREDOC);
		}
		/* An unquoted body can only lack its final newline when its last line
		 * ended in backslash-newline (a continuation): write it that way. */
		if (p->len > start && p->buf[p->len - 1] != '\n')
			puts_(p, "\\\n");
		int quoted = 0;
		char *d = parse_heredoc_delim(r->redir.target, &quoted);
		puts_(p, d);
		putc_(p, '\n');
	}
	p->nhd = 0;
}

/* newline: end the line (flushing here-documents) and indent the next one. */
static void newline(struct pr *p, int ind)
{
	putc_(p, '\n');
	flush_heredocs(p);
	indent(p, ind);
}

static const char *const redir_ops[] = {
	[R_IN] = "<", [R_OUT] = ">", [R_APPEND] = ">>", [R_RDWR] = "<>", [R_CLOBBER] = ">|",
	[R_DUPIN] = "<&", [R_DUPOUT] = ">&", [R_HEREDOC] = "<<", [R_HEREDOC_STRIP] = "<<-",
};

static int default_fd(int op)
{
	switch (op) {
	case R_OUT: case R_APPEND: case R_CLOBBER: case R_DUPOUT:
		return 1;
	default:
		return 0;
	}
}

static void pr_redirs(struct pr *p, const union node *r)
{
	for (; r != NULL; r = r->head.next) {
		putc_(p, ' ');
		if (r->redir.fd != default_fd(r->redir.op)) {
			char b[16];
			snprintf(b, sizeof b, "%d", r->redir.fd);
			puts_(p, b);
		}
		puts_(p, redir_ops[r->redir.op]);
		size_t at = p->len;
		pr_word(p, r->redir.target, W_NORMAL);
		/* `<< -x` must not read as `<<-` `x`. */
		if (p->len > at && p->buf[at] == '-' && r->redir.op == R_HEREDOC) {
			put(p, " ", 1);
			memmove(p->buf + at + 1, p->buf + at, p->len - at - 1);
			p->buf[at] = ' ';
		}
		if (r->redir.op == R_HEREDOC || r->redir.op == R_HEREDOC_STRIP)
			add_heredoc(p, r);
	}
}

static bool is_async(const union node *n)
{
	return n->kind == NASYNC || n->kind == NCOPROC;
}

static const union node *items_of(const union node *n)
{
	return n != NULL && n->kind == NLIST ? n->list.items : n;
}

/* inline list: a; b & c -- returns whether the last item was asynchronous. */
static bool pr_inline(struct pr *p, const union node *list, int ind)
{
	bool async = false;
	for (const union node *n = items_of(list); n != NULL; n = n->head.next) {
		if (n != items_of(list))
			puts_(p, async ? " " : "; ");
		pr_cmd(p, n, ind);
		async = is_async(n);
	}
	return async;
}

/* term: the separator before a keyword that follows an inline list. */
static void term(struct pr *p, bool async)
{
	puts_(p, async ? " " : "; ");
}

/* body: a compound list on its own lines at ind (or inline with TREE_ONELINE). */
static void pr_body(struct pr *p, const union node *list, int ind)
{
	if (p->flags & TREE_ONELINE) {
		putc_(p, ' ');
		bool async = pr_inline(p, list, ind);
		if (!async)
			putc_(p, ';');
		return;
	}
	for (const union node *n = items_of(list); n != NULL; n = n->head.next) {
		newline(p, ind);
		pr_cmd(p, n, ind);
	}
}

/* close: start the line of a closing keyword. */
static void pr_close(struct pr *p, int ind)
{
	if (p->flags & TREE_ONELINE)
		putc_(p, ' ');
	else
		newline(p, ind);
}

static void pr_texpr(struct pr *p, const union node *n, int parent_op, bool right);

static void pr_tchild(struct pr *p, const union node *n, int parent_op, bool right)
{
	bool paren = n->kind == NTANDOR &&
		     ((parent_op == ANDOR_AND && n->tandor.op == ANDOR_OR) ||
		      (parent_op == -2) || (right && n->tandor.op == parent_op));
	if (paren)
		puts_(p, "( ");
	pr_texpr(p, n, parent_op, right);
	if (paren)
		puts_(p, " )");
}

static void pr_texpr(struct pr *p, const union node *n, int parent_op, bool right)
{
	switch (n->kind) {
	case NTUNARY:
		puts_(p, n->tunary.op);
		putc_(p, ' ');
		pr_word(p, n->tunary.arg, W_NORMAL);
		break;
	case NTBINARY:
		pr_word(p, n->tbinary.left, W_NORMAL);
		putc_(p, ' ');
		puts_(p, n->tbinary.op);
		putc_(p, ' ');
		pr_word(p, n->tbinary.right, W_NORMAL);
		break;
	case NTNOT:
		puts_(p, "! ");
		pr_tchild(p, n->tnot.arg, -2, false);
		break;
	case NTANDOR:
		pr_tchild(p, n->tandor.left, n->tandor.op, false);
		puts_(p, n->tandor.op == ANDOR_AND ? " && " : " || ");
		pr_tchild(p, n->tandor.right, n->tandor.op, true);
		break;
	default:
		break;
	}
	(void)parent_op;
	(void)right;
}

static void pr_assign(struct pr *p, const union node *a)
{
	puts_(p, a->assign.name);
	if (a->assign.index != NULL) {
		putc_(p, '[');
		pr_word(p, a->assign.index, W_ARITH);
		putc_(p, ']');
	}
	puts_(p, a->assign.append ? "+=" : "=");
	if (a->assign.list != NULL) {
		putc_(p, '(');
		for (const union node *w = a->assign.list; w != NULL; w = w->head.next) {
			if (w->word.parts == NULL)
				continue; /* the marker of an empty list */
			pr_word(p, w, W_NORMAL);
			if (w->head.next)
				putc_(p, ' ');
		}
		putc_(p, ')');
		return;
	}
	pr_word(p, a->assign.value, W_NORMAL);
}

static void pr_simple(struct pr *p, const union node *n)
{
	bool space = false;
	for (const union node *a = n->cmd.assigns; a != NULL; a = a->head.next) {
		if (space)
			putc_(p, ' ');
		pr_assign(p, a);
		space = true;
	}
	const union node *args = n->cmd.args;
	/* A plain first word that is a reserved word was not one where it stood: keep
	 * it out of command position by printing the redirections first. */
	bool redirs_first = false;
	if (n->cmd.assigns == NULL && args != NULL && n->cmd.redirs != NULL) {
		const union node *f = args->word.parts;
		/* (and `-p`, which right after `time` would read as its option) */
		if (f != NULL && f->head.next == NULL && f->kind == NLIT &&
		    f->lit.quoted == LIT_PLAIN &&
		    (is_reserved_word(f->lit.text) || strcmp(f->lit.text, "-p") == 0))
			redirs_first = true;
	}
	if (redirs_first) {
		size_t at = p->len;
		pr_redirs(p, n->cmd.redirs);
		/* drop the leading space pr_redirs wrote */
		memmove(p->buf + at, p->buf + at + 1, p->len - at - 1);
		p->len--;
		p->buf[p->len] = '\0';
		space = true;
	}
	for (const union node *w = args; w != NULL; w = w->head.next) {
		if (space)
			putc_(p, ' ');
		pr_word(p, w, W_NORMAL);
		space = true;
	}
	if (!redirs_first) {
		if (!space && n->cmd.redirs != NULL) {
			size_t at = p->len;
			pr_redirs(p, n->cmd.redirs);
			memmove(p->buf + at, p->buf + at + 1, p->len - at - 1);
			p->len--;
			p->buf[p->len] = '\0';
		} else {
			pr_redirs(p, n->cmd.redirs);
		}
	}
}

static void pr_cmd(struct pr *p, const union node *n, int ind)
{
	if (n == NULL)
		return;
	switch (n->kind) {
	case NCMD:
		pr_simple(p, n);
		break;
	case NPIPE:
		if (n->pipe.negate)
			puts_(p, "! ");
		for (const union node *c = n->pipe.cmds; c != NULL; c = c->head.next) {
			if (c != n->pipe.cmds)
				puts_(p, " | ");
			pr_cmd(p, c, ind);
		}
		break;
	case NANDOR:
		pr_cmd(p, n->andor.left, ind);
		puts_(p, n->andor.op == ANDOR_AND ? " && " : " || ");
		pr_cmd(p, n->andor.right, ind);
		break;
	case NLIST:
		if (p->flags & TREE_ONELINE) {
			pr_inline(p, n, ind);
		} else {
			for (const union node *c = n->list.items; c != NULL; c = c->head.next) {
				if (c != n->list.items)
					newline(p, ind);
				pr_cmd(p, c, ind);
			}
		}
		break;
	case NASYNC:
		pr_cmd(p, n->async.body, ind);
		puts_(p, " &");
		break;
	case NCOPROC:
		pr_cmd(p, n->coproc.body, ind);
		puts_(p, " |&");
		break;
	case NSUBSHELL:
		putc_(p, '(');
		pr_body(p, n->subshell.body, ind + 1);
		pr_close(p, ind);
		putc_(p, ')');
		break;
	case NBRACE:
		putc_(p, '{');
		pr_body(p, n->brace.body, ind + 1);
		pr_close(p, ind);
		putc_(p, '}');
		break;
	case NREDIRCMD:
		pr_cmd(p, n->redircmd.body, ind);
		pr_redirs(p, n->redircmd.redirs);
		break;
	case NIF: {
		const union node *c = n;
		puts_(p, "if ");
		for (;;) {
			term(p, pr_inline(p, c->ifs.cond, ind));
			puts_(p, "then");
			pr_body(p, c->ifs.thenp, ind + 1);
			const union node *e = c->ifs.elsep;
			if (e == NULL)
				break;
			pr_close(p, ind);
			if (e->kind == NIF) {
				puts_(p, "elif ");
				c = e;
				continue;
			}
			puts_(p, "else");
			pr_body(p, e, ind + 1);
			break;
		}
		pr_close(p, ind);
		puts_(p, "fi");
		break;
	}
	case NWHILE:
		puts_(p, n->loop.until ? "until " : "while ");
		term(p, pr_inline(p, n->loop.cond, ind));
		puts_(p, "do");
		pr_body(p, n->loop.body, ind + 1);
		pr_close(p, ind);
		puts_(p, "done");
		break;
	case NFOR:
		puts_(p, n->fors.select ? "select " : "for ");
		puts_(p, n->fors.var);
		if (n->fors.has_in) {
			puts_(p, " in");
			for (const union node *w = n->fors.words; w != NULL; w = w->head.next) {
				putc_(p, ' ');
				pr_word(p, w, W_NORMAL);
			}
		}
		puts_(p, "; do");
		pr_body(p, n->fors.body, ind + 1);
		pr_close(p, ind);
		puts_(p, "done");
		break;
	case NCASE:
		puts_(p, "case ");
		pr_word(p, n->cases.word, W_NORMAL);
		puts_(p, " in");
		for (const union node *it = n->cases.items; it != NULL; it = it->head.next) {
			pr_close(p, ind + 1);
			putc_(p, '(');
			size_t at = p->len;
			for (const union node *w = it->caseitem.patterns; w != NULL; w = w->head.next) {
				if (w != it->caseitem.patterns)
					puts_(p, " | ");
				pr_word(p, w, W_NORMAL);
			}
			if (has_extglob(p->buf + at, p->len - at))
				putc_(p, ' ');
			putc_(p, ')');
			if (it->caseitem.body != NULL) {
				if (p->flags & TREE_ONELINE) {
					putc_(p, ' ');
					pr_inline(p, it->caseitem.body, ind + 2);
				} else {
					pr_body(p, it->caseitem.body, ind + 2);
				}
			}
			if (!(p->flags & TREE_ONELINE) && it->caseitem.body != NULL)
				newline(p, ind + 2);
			else
				putc_(p, ' ');
			puts_(p, it->caseitem.fallthrough ? ";&" : ";;");
		}
		pr_close(p, ind);
		puts_(p, "esac");
		break;
	case NFUNC:
		if (n->func.ksh) {
			const union node *b = n->func.body;
			if (b != NULL && b->kind == NREDIRCMD)
				b = b->redircmd.body;
			puts_(p, "function ");
			puts_(p, n->func.name);
			/* `function f (` would read as `function f ()`: say it explicitly. */
			puts_(p, b != NULL && b->kind == NSUBSHELL ? " () " : " ");
		} else {
			puts_(p, n->func.name);
			/* A name ending in @ * + ? ! would make `?!()` an extended glob group. */
			size_t nl = strlen(n->func.name);
			bool ext = nl > 0 && strchr("@*+?!", n->func.name[nl - 1]) != NULL;
			puts_(p, ext ? " () " : "() ");
		}
		pr_cmd(p, n->func.body, ind);
		break;
	case NTIME:
		puts_(p, "time");
		if (n->time.posix)
			puts_(p, " -p");
		if (n->time.body != NULL) {
			putc_(p, ' ');
			pr_cmd(p, n->time.body, ind);
		}
		break;
	case NDBRACKET:
		puts_(p, "[[ ");
		pr_texpr(p, n->dbracket.expr, -1, false);
		puts_(p, " ]]");
		break;
	case NARITHCMD:
		puts_(p, "((");
		pr_word(p, n->arithcmd.expr, W_ARITH);
		puts_(p, "))");
		break;
	case NTUNARY:
	case NTBINARY:
	case NTNOT:
	case NTANDOR:
		pr_texpr(p, n, -1, false);
		break;
	case NREDIR:
		pr_redirs(p, n);
		break;
	case NASSIGN:
		pr_assign(p, n);
		break;
	default:
		pr_part(p, n, W_NORMAL);
		break;
	}
}

static char *finish(struct pr *p)
{
	if (p->nhd > 0) {
		putc_(p, '\n');
		flush_heredocs(p);
		/* The text ends with the last delimiter's newline. */
	}
	free(p->hd);
	if (p->buf == NULL)
		return xstrdup("");
	return p->buf;
}

static char *sub_text(const union node *tree)
{
	struct pr p = {.flags = TREE_ONELINE};
	for (const union node *n = tree; n != NULL; n = n->head.next) {
		if (n != tree)
			puts_(&p, "; ");
		pr_cmd(&p, n, 0);
	}
	/* Pending here-documents end with a newline before the closing parenthesis. */
	return finish(&p);
}

char *tree_text(const union node *n, int flags)
{
	struct pr p = {.flags = flags};
	for (const union node *c = n; c != NULL; c = c->head.next) {
		if (c != n)
			newline(&p, 0);
		pr_cmd(&p, c, 0);
	}
	return finish(&p);
}

char *word_text(const union node *word)
{
	struct pr p = {.flags = TREE_ONELINE};
	pr_word(&p, word, W_NORMAL);
	return finish(&p);
}

void tree_fprint(FILE *f, const union node *n, int flags)
{
	char *s = tree_text(n, flags);
	fputs(s, f);
	free(s);
}
