/* SPDX-License-Identifier: ISC */
/* Unit tests of the shell front end: lexer, parser, tree printer, arena, input, aliases. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "arena.h"
#include "error.h"
#include "input.h"
#include "node.h"
#include "parse.h"
#include "tree.h"

/* ---- helpers ---- */

/* parse: text → tree, or NULL with *status set when it unwinds. */
static union node *parse(const char *text, int *status)
{
	struct sh_jmp j;
	*status = 0;
	sh_push(&j);
	if (setjmp(j.jb) != 0) {
		*status = j.status;
		return NULL;
	}
	union node *t = parse_string(text, "t", 1, 0);
	sh_pop(&j);
	return t;
}

static union node *must_parse(const char *text)
{
	int st;
	union node *t = parse(text, &st);
	cr_assert_eq(st, 0, "parse failed (%d): %s", st, text);
	return t;
}

/* Capture what fn writes to stderr while parsing text. */
static char errbuf[4096];

static int parse_err(const char *text)
{
	fflush(stderr);
	int saved = dup(2);
	char path[] = "/tmp/pbsh-test-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	unlink(path);
	dup2(fd, 2);
	int st;
	union node *t = parse(text, &st);
	(void)t;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, errbuf, sizeof errbuf - 1);
	errbuf[n > 0 ? n : 0] = '\0';
	close(fd);
	return st;
}

/* roundtrip: printed text (both layouts) parses back to an equal tree, and printing
 * that tree again gives the same text. */
static void roundtrip(const char *text)
{
	union node *t = must_parse(text);
	for (int flags = 0; flags <= TREE_ONELINE; flags += TREE_ONELINE) {
		char *s = tree_text(t, flags);
		int st;
		union node *t2 = parse(s, &st);
		cr_assert_eq(st, 0, "reparse failed for %s\nprinted:\n%s", text, s);
		cr_assert(node_equal(t, t2), "round trip differs for:\n%s\nprinted:\n%s", text, s);
		char *s2 = tree_text(t2, flags);
		cr_assert_str_eq(s, s2, "printing is not stable for %s", text);
		free(s);
		free(s2);
	}
	union node *c = node_copy(t);
	cr_assert(node_equal(t, c));
	node_free(c);
}

static const char *lit_text(const union node *part)
{
	cr_assert_not_null(part);
	cr_assert_eq(part->kind, NLIT, "kind %s", node_name(part->kind));
	return part->lit.text;
}

/* ---- round trips ---- */

static const char *const grammar_cases[] = {
	"echo hello world",
	"a=1 b=2",
	"a=1 cmd arg >out 2>&1 <in",
	">f",
	"echo a; echo b & echo c",
	"a && b || c && ! d",
	"a | b | c",
	"! a | b",
	"( a; b ) > f",
	"{ a; b; } 2>/dev/null",
	"if a; then b; fi",
	"if a; then b; elif c; then d; elif e; then f; else g; fi",
	"while a; do b; done",
	"until a; do b; done",
	"for i in 1 2 3; do echo $i; done",
	"for i; do echo $i; done",
	"for i\ndo echo; done",
	"for i in; do :; done",
	"for i\nin a b\ndo :; done",
	"case $x in a) ;; b|c) echo bc;; (d) echo d; echo e;; esac",
	"case x in\n*) echo star\nesac",
	"case x in a) echo a;& b) echo b;; esac",
	"case x in (esac) echo;; esac",
	"f() { echo; }",
	"f() ( echo )",
	"f()\n{\n echo\n} >log",
	"f() echo hi",
	"function g { echo; }",
	"function g () ( echo )",
	"a & b & wait",
	"a |& b",
	"time a | b",
	"time -p a",
	"time",
	"((i = i + 1))",
	"(( (1) + (2) ))",
	"[[ -f x ]]",
	"[[ a == b* && ( c != d || ! -z $e ) ]]",
	"[[ a < b || a > b ]]",
	"[[ x ]]",
	"[[ ! a && ! ( b || c ) ]]",
	"[[ a || b || c ]]",
	"[[ a || ( b || c ) ]]",
	"select x in a b; do break; done",
	"echo if then else fi",
	"echo { } !",
	"a=1 if",
	">f if",
	"x=$(case y in y) echo y;; esac)",
	"x=$( (echo a) )",
	"x=$((1 + (2 * 3)))",
	"x=$((echo a); (echo b))",
	"echo `echo \\`echo inner\\``",
	"echo \"`echo \\\"x\\\"`\"",
	"echo $(echo $(echo $(echo deep)))",
	"echo \"$(echo \"nested \\\"quotes\\\"\")\"",
	"a; b\nc\n\nd",
	"{ a & }",
	"if a & then b & fi",
	"x() { :; } >f 2>&1",
	"exec 3<>f 4>|g 5<&- 6>&3 7<&0",
	"cat << -x\nbody\n-x",
	"a=~ b=~/x:~root/y c=a:~ d=x~ e=\"~\"",
	"a[1]=x a[$i+1]=y b+=z c[i]+=w cmd",
	"echo ~ ~/a ~+ ~- ~user/b \\~ a~ \"~\"",
	"echo @(a|b) *(x) !(y).c +(z) ?(w)",
	"echo $'a\\nb\\tc\\'d\\x41\\101' 'x'\\''y'",
	"echo ${x} ${x:-a b} ${x-\"q\"} ${x:=1} ${x?} ${x:?msg} ${x+set} ${#x} ${#}",
	"echo ${x#a*} ${x##a*} ${x%.c} ${x%%.*} \"${x#\"$y\"}\" \"${x#'a'}\" \"${x-'a'}\"",
	"echo \"${v#\\*}\" \"${v%\\\\b}\" \"${v#\\a}\" \"${v/\\*/\\*}\" \"${v-\\*}\"",
	"echo ${a[1]} ${a[@]} \"${a[@]}\" ${#a[*]} ${x:1} ${x:1:2} ${x/a/b} ${x//a} ${x/#a/b} ${x/%a/b}",
	"echo $1 $10 ${10} $# $? $- $$ $! $0 $@ $* \"$@\"",
	"echo a\"b$c\"'*'${d:-e f}",
	"echo \"\" '' a\"\"b",
	"echo \\$x \\\\ \\\" \"\\$x\" \"\\a\"",
	"echo $ \"$\" a$ $\"x\" $\"a$b\"",
	"echo a#b #comment\necho c",
	"echo a\\\nb",
	"e\\\ncho c",
	"cat <<E\n$x ${y} $(z) `w` $((1+2)) \\$ \\` \\\\ \\x \"q\"\nE",
	"cat <<'E'\n$x `y` \\ \"\nE",
	"cat <<\"E\"\n$x\nE",
	"cat <<-E\n\t\tindented\n\tE",
	"cat <<A <<B\na\nA\nb\nB",
	"cat <<A; cat <<B\na\nA\nb\nB",
	"x=$(cat <<E\ninside\nE\n)",
	"cat <<E | tr a b && echo ok\nbody\nE",
	"{ cat <<E; }\nbody\nE",
	"cat <<E\nno trailing newline",
	"f() { cat <<E\n$1\nE\n}",
	"echo $((x[1] + ${y:-2}))",
	"[[ $x =~ ^(a|b)+$ && y =~ \"(\" ]]",
	"[[ x =~ (a) ]] || [[ y =~ a(b(c)) ]]",
	"echo ${!a[@]} ${!a[*]} ${!ref} \"${!a[@]}\" ${#a[@]}",
	"a[i+1]=x b[2]+=y; echo ${a[i+1]:-d} ${a[@]:1:2}",
	"case $f in @(a|b)*|!(c)) :;; esac; echo +(x)?(y)*(z)",
	"a=(x \"y z\" $w) b+=(1) c=() d=(\n p\n q\n); e=(*.c)",
};

Test(roundtrip, grammar)
{
	for (size_t i = 0; i < sizeof grammar_cases / sizeof grammar_cases[0]; i++)
		roundtrip(grammar_cases[i]);
}

/* ---- structure ---- */

Test(structure, simple_command)
{
	union node *t = must_parse("A=1 B=x echo hi >f");
	cr_assert_eq(t->kind, NCMD);
	cr_assert_str_eq(t->cmd.assigns->assign.name, "A");
	cr_assert_str_eq(lit_text(t->cmd.assigns->assign.value->word.parts), "1");
	cr_assert_str_eq(t->cmd.assigns->head.next->assign.name, "B");
	cr_assert_str_eq(lit_text(t->cmd.args->word.parts), "echo");
	cr_assert_eq(t->cmd.redirs->redir.op, R_OUT);
	cr_assert_eq(t->cmd.redirs->redir.fd, 1);
}

Test(structure, word_parts)
{
	union node *t = must_parse("echo a\"b$c\"'*'\\?");
	union node *w = t->cmd.args->head.next;
	union node *p = w->word.parts;
	cr_assert_str_eq(lit_text(p), "a");
	cr_assert_eq(p->lit.quoted, LIT_PLAIN);
	p = p->head.next;
	cr_assert_eq(p->kind, NDQ);
	cr_assert_str_eq(lit_text(p->dq.parts), "b");
	cr_assert_eq(p->dq.parts->lit.quoted, LIT_DQ);
	cr_assert_eq(p->dq.parts->head.next->kind, NPARAM);
	cr_assert(p->dq.parts->head.next->param.flags & PF_DQUOTED);
	p = p->head.next;
	cr_assert_str_eq(lit_text(p), "*");
	cr_assert_eq(p->lit.quoted, LIT_SQ);
	p = p->head.next;
	cr_assert_str_eq(lit_text(p), "?");
	cr_assert_eq(p->lit.quoted, LIT_BSLASH);
	cr_assert_null(p->head.next);
}

Test(structure, empty_quotes_make_a_word)
{
	union node *t = must_parse("echo \"\" ''");
	union node *a = t->cmd.args->head.next;
	cr_assert_eq(a->word.parts->kind, NDQ);
	cr_assert_null(a->word.parts->dq.parts);
	union node *b = a->head.next;
	cr_assert_str_eq(lit_text(b->word.parts), "");
	cr_assert_eq(b->word.parts->lit.quoted, LIT_SQ);
}

Test(structure, io_number_only_when_adjacent)
{
	union node *t = must_parse("echo 2 >f 3>g 4x>h");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->word.parts), "2");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->head.next->word.parts), "4x");
	union node *r = t->cmd.redirs;
	cr_assert_eq(r->redir.fd, 1);
	cr_assert_eq(r->head.next->redir.fd, 3);
	cr_assert_eq(r->head.next->head.next->redir.fd, 1);
}

Test(structure, reserved_words_only_in_command_position)
{
	union node *t = must_parse("echo if then fi");
	cr_assert_eq(t->kind, NCMD);
	t = must_parse("if echo then; then :; fi");
	cr_assert_eq(t->kind, NIF);
	cr_assert_str_eq(lit_text(t->ifs.cond->cmd.args->head.next->word.parts), "then");
	t = must_parse("\"if\" x");
	cr_assert_eq(t->kind, NCMD);
}

Test(structure, heredocs)
{
	union node *t = must_parse("cat <<A <<-'B'; echo x\nline $v\nA\n\t\ttab\n\tB\necho after");
	cr_assert_eq(t->kind, NLIST);
	union node *c = t->list.items;
	union node *r1 = c->cmd.redirs, *r2 = r1->head.next;
	cr_assert_eq(r1->redir.op, R_HEREDOC);
	cr_assert_eq(r1->redir.quoted, 0);
	union node *b = r1->redir.heredoc->word.parts;
	cr_assert_str_eq(lit_text(b), "line ");
	cr_assert_eq(b->head.next->kind, NPARAM);
	cr_assert_str_eq(b->head.next->param.name, "v");
	cr_assert_str_eq(lit_text(b->head.next->head.next), "\n");
	cr_assert_eq(r2->redir.op, R_HEREDOC_STRIP);
	cr_assert_eq(r2->redir.quoted, 1);
	cr_assert_str_eq(lit_text(r2->redir.heredoc->word.parts), "tab\n");
	union node *last = c->head.next->head.next;
	cr_assert_str_eq(lit_text(last->cmd.args->head.next->word.parts), "after");
}

Test(structure, heredoc_in_command_substitution)
{
	union node *t = must_parse("x=$(cat <<E\nin $y\nE\n) z");
	union node *cs = t->cmd.assigns->assign.value->word.parts;
	cr_assert_eq(cs->kind, NCMDSUB);
	union node *r = cs->cmdsub.tree->cmd.redirs;
	cr_assert_str_eq(lit_text(r->redir.heredoc->word.parts), "in ");
	cr_assert_str_eq(lit_text(t->cmd.args->word.parts), "z");
}

Test(structure, arith_versus_subshell)
{
	union node *t = must_parse("echo $((1+2)) $( (a) ) $((a) | b)");
	union node *w = t->cmd.args->head.next;
	cr_assert_eq(w->word.parts->kind, NARITH);
	w = w->head.next;
	cr_assert_eq(w->word.parts->kind, NCMDSUB);
	cr_assert_eq(w->word.parts->cmdsub.tree->kind, NSUBSHELL);
	w = w->head.next;
	cr_assert_eq(w->word.parts->kind, NCMDSUB);
	cr_assert_eq(w->word.parts->cmdsub.tree->kind, NPIPE);
	t = must_parse("((x)) ; ((a) | b)");
	cr_assert_eq(t->list.items->kind, NARITHCMD);
	cr_assert_eq(t->list.items->head.next->kind, NSUBSHELL);
	cr_assert_eq(t->list.items->head.next->subshell.body->kind, NPIPE);
}

Test(structure, backquotes_nest)
{
	union node *t = must_parse("echo `echo \\`echo in\\``");
	union node *cs = t->cmd.args->head.next->word.parts;
	cr_assert_eq(cs->kind, NCMDSUB);
	cr_assert(cs->cmdsub.flags & CS_BACKQUOTE);
	cr_assert_str_eq(cs->cmdsub.text, "echo `echo in`");
	union node *in = cs->cmdsub.tree->cmd.args->head.next->word.parts;
	cr_assert_eq(in->kind, NCMDSUB);
	cr_assert_str_eq(in->cmdsub.text, "echo in");
}

Test(structure, params)
{
	union node *t = must_parse("echo ${x:-a} ${#y} ${10} ${a[2]} ${x%%*.c} ${x/p/r} ${x:1:2}");
	union node *w = t->cmd.args->head.next;
	union node *p = w->word.parts;
	cr_assert_eq(p->param.op, PO_MINUS);
	cr_assert(p->param.flags & PF_COLON);
	p = (w = w->head.next)->word.parts;
	cr_assert_eq(p->param.op, PO_LENGTH);
	cr_assert_str_eq(p->param.name, "y");
	p = (w = w->head.next)->word.parts;
	cr_assert_str_eq(p->param.name, "10");
	p = (w = w->head.next)->word.parts;
	cr_assert_str_eq(p->param.name, "a");
	cr_assert_str_eq(lit_text(p->param.index->word.parts), "2");
	p = (w = w->head.next)->word.parts;
	cr_assert_eq(p->param.op, PO_TRIM_LP);
	p = (w = w->head.next)->word.parts;
	cr_assert_eq(p->param.op, PO_REPL);
	cr_assert_str_eq(lit_text(p->param.arg2->word.parts), "r");
	p = (w = w->head.next)->word.parts;
	cr_assert_eq(p->param.op, PO_SUBSTR);
	cr_assert_str_eq(lit_text(p->param.arg2->word.parts), "2");
}

Test(structure, assignments_and_tilde)
{
	union node *t = must_parse("a=~/x:~/y b[$i]=v c+=w echo ~u/z");
	union node *a = t->cmd.assigns;
	union node *p = a->assign.value->word.parts;
	cr_assert_eq(p->kind, NTILDE);
	cr_assert_str_eq(p->tilde.user, "");
	cr_assert_str_eq(lit_text(p->head.next), "/x:");
	cr_assert_eq(p->head.next->head.next->kind, NTILDE);
	a = a->head.next;
	cr_assert_str_eq(a->assign.name, "b");
	cr_assert_eq(a->assign.index->word.parts->kind, NPARAM);
	a = a->head.next;
	cr_assert(a->assign.append);
	p = t->cmd.args->head.next->word.parts;
	cr_assert_eq(p->kind, NTILDE);
	cr_assert_str_eq(p->tilde.user, "u");
}

Test(structure, case_items)
{
	union node *t = must_parse("case $x in (a|b) one;& c) ;; esac");
	union node *it = t->cases.items;
	cr_assert_eq(it->caseitem.fallthrough, 1);
	cr_assert_str_eq(lit_text(it->caseitem.patterns->head.next->word.parts), "b");
	cr_assert_null(it->head.next->caseitem.body);
}

Test(structure, line_numbers)
{
	union node *t = must_parse("a\n\nif b\nthen c\nfi\nd \\\ne\nf");
	union node *i = t->list.items;
	cr_assert_eq(i->head.line, 1);
	cr_assert_eq((i = i->head.next)->head.line, 3);
	cr_assert_eq(i->ifs.thenp->head.line, 4);
	cr_assert_eq((i = i->head.next)->head.line, 6);
	cr_assert_eq((i = i->head.next)->head.line, 8);
}

Test(structure, function_definitions)
{
	union node *t = must_parse("f() { :; } >x");
	cr_assert_eq(t->kind, NFUNC);
	cr_assert_str_eq(t->func.name, "f");
	cr_assert_eq(t->func.body->kind, NREDIRCMD);
	cr_assert_eq(t->func.ksh, 0);
	t = must_parse("function g { :; }");
	cr_assert_eq(t->func.ksh, 1);
}

Test(structure, dbracket)
{
	union node *t = must_parse("[[ -n $a && ( b < c || ! d == e* ) ]]");
	union node *e = t->dbracket.expr;
	cr_assert_eq(e->kind, NTANDOR);
	cr_assert_eq(e->tandor.op, ANDOR_AND);
	cr_assert_eq(e->tandor.left->kind, NTUNARY);
	union node *r = e->tandor.right;
	cr_assert_eq(r->tandor.op, ANDOR_OR);
	cr_assert_str_eq(r->tandor.left->tbinary.op, "<");
	cr_assert_eq(r->tandor.right->kind, NTNOT);
	cr_assert_str_eq(r->tandor.right->tnot.arg->tbinary.op, "==");
}

Test(structure, dollar_single_quote)
{
	union node *t = must_parse("echo $'a\\tb\\x41\\0ignored'");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->word.parts), "a\tbA");
}

Test(structure, comments_and_continuation)
{
	union node *t = must_parse("ec\\\nho a#b # c\n# whole line\n");
	cr_assert_str_eq(lit_text(t->cmd.args->word.parts), "echo");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->word.parts), "a#b");
	cr_assert_null(t->cmd.args->head.next->head.next);
	t = must_parse("a &\\\n& b");
	cr_assert_eq(t->kind, NANDOR);
}

Test(structure, empty_program)
{
	cr_assert_null(must_parse(""));
	cr_assert_null(must_parse("\n\n# just a comment\n"));
}

/* ---- aliases ---- */

Test(alias, substitution)
{
	alias_set("ll", "ls -l", 0);
	alias_set("self", "self x", 0);
	alias_set("nice", "command ", 0);
	alias_set("loop1", "loop2", 0);
	alias_set("loop2", "loop1", 0);
	alias_set("begin", "if true; then", 0);
	union node *t = must_parse("ll /tmp");
	cr_assert_str_eq(lit_text(t->cmd.args->word.parts), "ls");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->word.parts), "-l");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->head.next->word.parts), "/tmp");
	t = must_parse("self");
	cr_assert_str_eq(lit_text(t->cmd.args->word.parts), "self");
	t = must_parse("nice ll");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->word.parts), "ls");
	t = must_parse("echo ll");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->word.parts), "ll");
	t = must_parse("loop1");
	cr_assert_str_eq(lit_text(t->cmd.args->word.parts), "loop1");
	t = must_parse("begin echo; fi");
	cr_assert_eq(t->kind, NIF);
	t = must_parse("\\ll x");
	cr_assert_eq(t->cmd.args->word.parts->lit.quoted, LIT_BSLASH);
	cr_assert_str_eq(lit_text(t->cmd.args->word.parts->head.next), "l");
	cr_assert_eq(alias_unset("ll"), 0);
	cr_assert_eq(alias_unset("ll"), -1);
	cr_assert_null(alias_lookup("ll"));
	cr_assert_eq(alias_set("a=b", "x", 0), -1);
	alias_clear(false);
	cr_assert_null(alias_lookup("nice"));
}

static void count_cb(const struct alias *a, void *ctx)
{
	char *s = ctx;
	strcat(s, a->name);
	strcat(s, ",");
}

Test(alias, sorted_iteration)
{
	alias_set("b", "1", 0);
	alias_set("a", "2", 0);
	alias_set("c", "3", ALIAS_TRACKED);
	alias_set("b", "4", 0);
	char buf[64] = "";
	alias_foreach(count_cb, buf);
	cr_assert_str_eq(buf, "a,b,c,");
	cr_assert_str_eq(alias_lookup("b")->value, "4");
	alias_clear(true);
	cr_assert_null(alias_lookup("c"));
	cr_assert_not_null(alias_lookup("a"));
}

/* ---- syntax errors ---- */

static void expect_error(const char *text, const char *msg)
{
	int st = parse_err(text);
	cr_assert_eq(st, 2, "status %d for %s", st, text);
	cr_assert(strstr(errbuf, msg) != NULL, "for %s: wanted '%s', got '%s'", text, msg, errbuf);
}

Test(errors, messages_and_lines)
{
	expect_error("fi", "pbsh: t: line 1: syntax error: unexpected 'fi'");
	expect_error("echo a\nif true\nthen\ndone", "pbsh: t: line 4: syntax error: unexpected 'done'");
	expect_error("if true; then :;", "line 1: syntax error: unexpected end of file");
	expect_error("echo \"abc\n\nx", "line 1: syntax error: unterminated quoted string");
	expect_error("echo 'abc", "unterminated quoted string");
	expect_error("a | | b", "unexpected '|'");
	expect_error("; x", "unexpected ';'");
	expect_error("{ }", "unexpected '}'");
	expect_error("echo ${x", "missing '}'");
	expect_error("echo ${x!}", "bad substitution");
	expect_error("echo $(ls", "unexpected end of file");
	expect_error("echo `ls", "unterminated backquote");
	expect_error("for 1 in a; do :; done", "bad for variable");
	expect_error("case x in a b) ;; esac", "unexpected 'b' (expecting ')')");
	expect_error("x=$((1+2)", "");
	expect_error("(( 1 + 2 )", "");
	expect_error("echo >", "unexpected end of file");
	expect_error("echo <<", "unexpected end of file");
	expect_error("[[ ]]", "unexpected ']]'");
	expect_error("[[ a == ]]", "unexpected ']]'");
	expect_error("f() ", "unexpected end of file");
	expect_error("a &&", "unexpected end of file");
	expect_error("x=$(cat <<E)", "here-document");
}

Test(errors, nesting_limit)
{
	size_t n = 5000;
	char *s = malloc(n * 8 + 16);
	char *q = s;
	for (size_t i = 0; i < n; i++)
		q += sprintf(q, "{ ");
	q += sprintf(q, ":; ");
	for (size_t i = 0; i < n; i++)
		q += sprintf(q, "} ");
	expect_error(s, "nesting too deep");
	q = s;
	for (size_t i = 0; i < n; i++)
		q += sprintf(q, "$(");
	expect_error(s, "nesting too deep");
	q = s;
	for (size_t i = 0; i < n; i++)
		q += sprintf(q, "\"${x-");
	*q = '\0';
	expect_error(s, "nesting too deep");
	free(s);
	/* 200 levels are fine. */
	char *ok = malloc(2000);
	q = ok;
	for (int i = 0; i < 200; i++)
		q += sprintf(q, "( ");
	q += sprintf(q, ":");
	for (int i = 0; i < 200; i++)
		q += sprintf(q, " )");
	roundtrip(ok);
	free(ok);
}

/* ---- big inputs ---- */

Test(big, long_word_and_heredoc)
{
	size_t n = 1 << 20;
	char *s = malloc(n + 64);
	strcpy(s, "echo ");
	memset(s + 5, 'x', n);
	s[5 + n] = '\0';
	union node *t = must_parse(s);
	cr_assert_eq(strlen(lit_text(t->cmd.args->head.next->word.parts)), n);
	/* a 4 MiB here-document of 1 MiB lines */
	size_t lines = 4;
	char *h = malloc(lines * (n + 1) + 64);
	char *q = h + sprintf(h, "cat <<E\n");
	for (size_t i = 0; i < lines; i++) {
		memset(q, 'y', n);
		q += n;
		*q++ = '\n';
	}
	strcpy(q, "E\n");
	t = must_parse(h);
	cr_assert_eq(strlen(lit_text(t->cmd.redirs->redir.heredoc->word.parts)), lines * (n + 1));
	free(s);
	free(h);
}

Test(big, long_lists_do_not_recurse_on_copy)
{
	size_t n = 20000;
	char *s = malloc(n * 3 + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + 3 * i, "a;\n", 3);
	s[3 * n] = '\0';
	union node *t = must_parse(s);
	cr_assert_eq(t->kind, NLIST);
	union node *c = node_copy(t);
	cr_assert(node_equal(t, c));
	node_free(c);
	free(s);
}

/* ---- arena ---- */

Test(arena, constant_memory_with_marks)
{
	struct arena_mark m;
	arena_mark(&m);
	for (int i = 0; i < 100000; i++) {
		struct arena_mark it;
		arena_mark(&it);
		char *p = stalloc(100 + (size_t)(i % 20000));
		p[0] = 1;
		struct strbuf sb;
		sb_init(&sb);
		for (int k = 0; k < 50; k++)
			sb_printf(&sb, "%d,", k);
		cr_assert_eq(strncmp(sb_str(&sb), "0,1,2,", 6), 0);
		arena_reset(&it);
	}
	size_t held = arena_bytes();
	for (int i = 0; i < 100000; i++) {
		struct arena_mark it;
		arena_mark(&it);
		must_parse("for i in 1 2 3; do echo \"$i\" $(date) >>f; done");
		arena_reset(&it);
	}
	cr_assert_leq(arena_bytes(), held + 65536, "arena grew: %zu -> %zu", held, arena_bytes());
	arena_reset(&m);
}

Test(arena, strbuf_and_printf)
{
	struct strbuf sb;
	sb_init(&sb);
	cr_assert_str_eq(sb_str(&sb), "");
	char *big = malloc(10000);
	memset(big, 'z', 9999);
	big[9999] = '\0';
	sb_printf(&sb, "%s-%d", big, 42);
	cr_assert_eq(sb.len, 10002);
	cr_assert_str_eq(stprintf("%s/%s", "a", "b"), "a/b");
	cr_assert_eq(strlen(stprintf("%s", big)), 9999);
	free(big);
}

/* ---- input sources ---- */

Test(input, fd_source_sync_leaves_offset_after_command)
{
	char path[] = "/tmp/pbsh-in-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	const char *text = "echo one\nif true\nthen two\nfi\nrest of file\n";
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	lseek(fd, 0, SEEK_SET);
	input_push_fd(fd, "script", 1, INPUT_SYNC);
	union node *t = parse_command(0);
	cr_assert_eq(t->kind, NCMD);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 9);
	t = parse_command(0);
	cr_assert_eq(t->kind, NIF);
	cr_assert_eq(parse_last_line, 2);
	cr_assert_eq(lseek(fd, 0, SEEK_CUR), 29);
	char rest[32] = {0};
	cr_assert_eq(read(fd, rest, 12), 12);
	cr_assert_str_eq(rest, "rest of file");
	input_pop();
	close(fd);
}

static const char *const lines_in[] = {"echo a; fi; echo b\n", "echo ok\n", "while true\n", "do :\n", "done\n"};
static int lines_at;
static int conts[8];

static char *reader_cb(void *ctx, int continuation)
{
	(void)ctx;
	if (lines_at >= 5)
		return NULL;
	conts[lines_at] = continuation;
	return strdup(lines_in[lines_at++]);
}

Test(input, interactive_recovers_after_syntax_error)
{
	input_push_reader(reader_cb, NULL, NULL, 1, INPUT_INTERACTIVE);
	int saved = dup(2);
	int null = open("/dev/null", O_WRONLY);
	dup2(null, 2);
	struct sh_jmp j;
	int st = 0;
	sh_push(&j);
	if (setjmp(j.jb) == 0) {
		parse_command(PARSE_INTERACTIVE);
		sh_pop(&j);
	} else {
		st = j.status;
	}
	dup2(saved, 2);
	cr_assert_eq(st, 2);
	input_flush();
	union node *t = parse_command(PARSE_INTERACTIVE);
	cr_assert_eq(t->kind, NCMD);
	t = parse_command(PARSE_INTERACTIVE);
	cr_assert_eq(t->kind, NWHILE);
	cr_assert_eq(conts[2], 0); /* new command: PS1 */
	cr_assert_eq(conts[3], 1); /* continuation: PS2 */
	cr_assert_eq(conts[4], 1);
	cr_assert_null(parse_command(PARSE_INTERACTIVE));
	input_pop();
}

Test(input, nul_bytes_are_dropped)
{
	char path[] = "/tmp/pbsh-nul-XXXXXX";
	int fd = mkstemp(path);
	unlink(path);
	cr_assert_eq(write(fd, "ec\0ho a\0b\n", 10), 10);
	lseek(fd, 0, SEEK_SET);
	input_push_fd(fd, "nul", 1, 0);
	union node *t = parse_command(0);
	cr_assert_str_eq(lit_text(t->cmd.args->word.parts), "echo");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->word.parts), "ab");
	input_pop();
	close(fd);
}

Test(input, error_pops_sources_pushed_by_the_parser)
{
	int base = input_depth();
	int st = parse_err("echo `echo $(( `");
	cr_assert_eq(st, 2);
	cr_assert_eq(input_depth(), base);
}

Test(input, prompt_word)
{
	union node *w = parse_word_string("\"$PWD\" $(id) \\$ x", "PS1", 1);
	union node *p = w->word.parts;
	cr_assert_str_eq(lit_text(p), "\"");
	cr_assert_eq(p->head.next->kind, NPARAM);
	cr_assert(p->head.next->param.flags & PF_DQUOTED);
}

Test(structure, patterns_inside_double_quotes_stay_patterns)
{
	union node *t = must_parse("echo \"${v%\\\\b*}\" \"${v-a*}\"");
	union node *p = t->cmd.args->head.next->word.parts->dq.parts;
	union node *a = p->param.arg->word.parts;
	cr_assert_str_eq(lit_text(a), "\\");
	cr_assert_eq(a->lit.quoted, LIT_BSLASH);
	cr_assert_str_eq(lit_text(a->head.next), "b*");
	cr_assert_eq(a->head.next->lit.quoted, LIT_PLAIN);
	p = t->cmd.args->head.next->head.next->word.parts->dq.parts;
	cr_assert_eq(p->param.arg->word.parts->lit.quoted, LIT_DQ);
}

Test(structure, declaration_utilities_get_assignment_tilde)
{
	union node *t = must_parse("export P=~/bin:~/x Q=a R=b:~ ~=x");
	union node *w = t->cmd.args->head.next;
	cr_assert_str_eq(lit_text(w->word.parts), "P=");
	cr_assert_eq(w->word.parts->head.next->kind, NTILDE);
	w = w->head.next;
	cr_assert_str_eq(lit_text(w->word.parts), "Q=a");
	cr_assert_null(w->word.parts->head.next);
	w = w->head.next;
	cr_assert_str_eq(lit_text(w->word.parts), "R=b:");
	cr_assert_eq(w->word.parts->head.next->kind, NTILDE);
	t = must_parse("echo P=~/bin");
	cr_assert_str_eq(lit_text(t->cmd.args->head.next->word.parts), "P=~/bin");
	roundtrip("export P=~/bin:~/x Q=a R=b:~; readonly S=~; local T=~u");
}

Test(printer, function_listing_layout)
{
	union node *t = must_parse("f() { if a; then b; else c & fi; case $x in a|b) d;; esac; }");
	char *s = tree_text(t, 0);
	cr_assert_str_eq(s, "f() {\n"
			    "\tif a; then\n"
			    "\t\tb\n"
			    "\telse\n"
			    "\t\tc &\n"
			    "\tfi\n"
			    "\tcase $x in\n"
			    "\t\t(a | b)\n"
			    "\t\t\td\n"
			    "\t\t\t;;\n"
			    "\tesac\n"
			    "}");
	free(s);
	s = tree_text(t, TREE_ONELINE);
	cr_assert_str_eq(s, "f() { if a; then b; else c & fi; case $x in (a | b) d ;; esac; }");
	free(s);
	t = must_parse("cat <<E >out; echo done\n$x\nE");
	s = tree_text(t, TREE_ONELINE);
	cr_assert_str_eq(s, "cat <<E >out; echo done\n$x\nE\n");
	free(s);
	s = word_text(t->list.items->cmd.redirs->redir.target);
	cr_assert_str_eq(s, "E");
	free(s);
}

static int prompts[8], nprompts;

static void prompt_cb(int level)
{
	if (nprompts < 8)
		prompts[nprompts++] = level;
}

Test(input, verbose_echo_and_prompts_on_an_interactive_fd)
{
	int in[2], err[2];
	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(err), 0);
	const char *text = "echo a\nif x\nthen y; fi\n";
	cr_assert_eq(write(in[1], text, strlen(text)), (ssize_t)strlen(text));
	close(in[1]);
	int saved = dup(2);
	dup2(err[1], 2);
	input_verbose = true;
	input_prompt_hook = prompt_cb;
	/* a shared, unseekable fd is read a byte at a time: still one prompt a line */
	input_push_fd(in[0], NULL, 1, INPUT_INTERACTIVE | INPUT_SYNC);
	union node *t = parse_command(PARSE_INTERACTIVE);
	cr_assert_eq(t->kind, NCMD);
	t = parse_command(PARSE_INTERACTIVE);
	cr_assert_eq(t->kind, NIF);
	cr_assert_null(parse_command(PARSE_INTERACTIVE));
	input_pop();
	input_verbose = false;
	input_prompt_hook = NULL;
	dup2(saved, 2);
	close(err[1]);
	char buf[128] = {0};
	cr_assert_eq(read(err[0], buf, sizeof buf - 1), (ssize_t)strlen(text));
	cr_assert_str_eq(buf, text);
	cr_assert_eq(nprompts, 4);
	cr_assert_eq(prompts[0], 0);
	cr_assert_eq(prompts[1], 0);
	cr_assert_eq(prompts[2], 1);
	cr_assert_eq(prompts[3], 0);
	close(in[0]);
	close(err[0]);
}

Test(structure, operators_split_by_continuation_and_newlines_in_places)
{
	union node *t = must_parse("a |\\\n| b &\\\n& c");
	cr_assert_eq(t->kind, NANDOR);
	cr_assert_eq(t->andor.op, ANDOR_AND);
	cr_assert_eq(t->andor.left->andor.op, ANDOR_OR);
	t = must_parse("a |\n\n b && \n c ||\n d");
	cr_assert_eq(t->kind, NANDOR);
	t = must_parse("cat <\\\n<-E\n\tx\n\tE");
	cr_assert_eq(t->cmd.redirs->redir.op, R_HEREDOC_STRIP);
	t = must_parse("[[ a &&\n b ]]");
	cr_assert_eq(t->dbracket.expr->kind, NTANDOR);
	t = must_parse("[[ 1<2 ]]");
	cr_assert_str_eq(t->dbracket.expr->tbinary.op, "<");
}

Test(structure, keywords_as_plain_words_where_not_reserved)
{
	union node *t = must_parse("for do in do done; do echo $do; done");
	cr_assert_str_eq(t->fors.var, "do");
	cr_assert_str_eq(lit_text(t->fors.words->word.parts), "do");
	t = must_parse("case in in in) echo;; esac");
	cr_assert_str_eq(lit_text(t->cases.word->word.parts), "in");
	cr_assert_str_eq(lit_text(t->cases.items->caseitem.patterns->word.parts), "in");
	t = must_parse("case x in if|then) ;; esac");
	cr_assert_str_eq(lit_text(t->cases.items->caseitem.patterns->word.parts), "if");
}
