/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/match: POSIX patterns, brackets, escapes, pathname and period rules, extglob. */
#include <criterion/criterion.h>
#include <string.h>

#include "match.h"

struct row {
	const char *pat, *str;
	int flags;
	bool want;
};

static void check(const struct row *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(pb_match(r[i].pat, r[i].str, r[i].flags), r[i].want,
			     "pb_match(\"%s\", \"%s\", %#x) should be %s", r[i].pat, r[i].str,
			     r[i].flags, r[i].want ? "true" : "false");
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

Test(match, basics)
{
	static const struct row r[] = {
		{"", "", 0, true},	     {"", "a", 0, false},	{"a", "a", 0, true},
		{"a", "b", 0, false},	     {"*", "", 0, true},	{"*", "anything", 0, true},
		{"?", "", 0, false},	     {"?", "x", 0, true},	{"??", "x", 0, false},
		{"a*b", "ab", 0, true},	     {"a*b", "axxb", 0, true},	{"a*b", "axxbc", 0, false},
		{"*a*b*", "xaxbx", 0, true}, {"*.c", "main.c", 0, true}, {"*.c", "main.h", 0, false},
		{"a**b", "ab", 0, true},     {"*x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaay", 0, false},
		{"/usr/bin/*", "/usr/bin/ls", 0, true},
		{"/usr/bin/*", "/usr/sbin/ls", 0, false},
	};
	check(r, N(r));
}

Test(match, brackets)
{
	static const struct row r[] = {
		{"[abc]", "b", 0, true},	{"[abc]", "d", 0, false},   {"[a-c]", "b", 0, true},
		{"[!a-c]", "b", 0, false},	{"[!a-c]", "d", 0, true},   {"[^a-c]", "d", 0, true},
		{"[]]", "]", 0, true},		{"[]a]", "a", 0, true},	    {"[!]]", "]", 0, false},
		{"[a-]", "-", 0, true},		{"[[:digit:]]", "7", 0, true},
		{"[[:digit:]]", "x", 0, false}, {"[[:alpha:][:digit:]]", "q", 0, true},
		{"[[:upper:]]", "a", 0, false}, {"[[:space:]]", " ", 0, true},
		{"[", "[", 0, true},		{"[a", "[a", 0, true},	    {"a[", "a[", 0, true},
		{"[\\]]", "]", 0, true},	{"[[.a.]]", "a", 0, true},  {"[[=b=]]", "b", 0, true},
		{"[x-z]*", "yes", 0, true},
	};
	check(r, N(r));
}

Test(match, escapes)
{
	static const struct row r[] = {
		{"\\*", "*", 0, true},
		{"\\*", "a", 0, false},
		{"\\?", "?", 0, true},
		{"a\\", "a\\", 0, true},
		{"\\a", "a", 0, true},
		/* With NOESCAPE the backslash is literal and '*' is a wildcard again. */
		{"\\*", "\\x", PB_MATCH_NOESCAPE, true},
		{"\\*", "*", PB_MATCH_NOESCAPE, false},
	};
	check(r, N(r));
}

Test(match, pathname_and_period)
{
	static const struct row r[] = {
		{"*", "a/b", 0, true},
		{"*", "a/b", PB_MATCH_PATHNAME, false},
		{"*/*", "a/b", PB_MATCH_PATHNAME, true},
		{"a?b", "a/b", PB_MATCH_PATHNAME, false},
		{"a[/]b", "a/b", PB_MATCH_PATHNAME, false},
		{"*", ".hidden", PB_MATCH_PERIOD, false},
		{".*", ".hidden", PB_MATCH_PERIOD, true},
		{"?hidden", ".hidden", PB_MATCH_PERIOD, false},
		{"[.]hidden", ".hidden", PB_MATCH_PERIOD, false},
		{"*", ".hidden", 0, true},
		{"a/*", "a/.b", PB_MATCH_PATHNAME | PB_MATCH_PERIOD, false},
		{"a/.*", "a/.b", PB_MATCH_PATHNAME | PB_MATCH_PERIOD, true},
		{"a*", "a.b", PB_MATCH_PERIOD, true},
	};
	check(r, N(r));
}

Test(match, casefold)
{
	cr_expect(pb_match("HELLO*", "hello world", PB_MATCH_CASEFOLD));
	cr_expect(pb_match("[A-Z]", "q", PB_MATCH_CASEFOLD));
	cr_expect_not(pb_match("HELLO*", "hello world", 0));
}

Test(match, extglob)
{
	static const struct row r[] = {
		{"@(foo|bar)", "foo", PB_MATCH_EXTGLOB, true},
		{"@(foo|bar)", "baz", PB_MATCH_EXTGLOB, false},
		{"?(x)y", "y", PB_MATCH_EXTGLOB, true},
		{"?(x)y", "xy", PB_MATCH_EXTGLOB, true},
		{"?(x)y", "xxy", PB_MATCH_EXTGLOB, false},
		{"*(ab)", "", PB_MATCH_EXTGLOB, true},
		{"*(ab)", "ababab", PB_MATCH_EXTGLOB, true},
		{"*(ab)", "aba", PB_MATCH_EXTGLOB, false},
		{"+(ab)", "", PB_MATCH_EXTGLOB, false},
		{"+(ab|c)", "abcab", PB_MATCH_EXTGLOB, true},
		{"!(*.c)", "main.h", PB_MATCH_EXTGLOB, true},
		{"!(*.c)", "main.c", PB_MATCH_EXTGLOB, false},
		{"*.@(c|h)", "x.h", PB_MATCH_EXTGLOB, true},
		{"@(a|b)*", "bzz", PB_MATCH_EXTGLOB, true},
		{"@(a|b)", "@(a|b)", 0, true},
		{"x@(a|@(b|c))y", "xcy", PB_MATCH_EXTGLOB, true},
	};
	check(r, N(r));
}

Test(match, prefix_suffix)
{
	/* ${x#p} ${x##p} ${x%p} ${x%%p} on x=/usr/local/bin/ls */
	const char *x = "/usr/local/bin/ls";
	cr_expect_eq(pb_match_prefix("*/", x, false, 0), 1);
	cr_expect_eq(pb_match_prefix("*/", x, true, 0), 15);
	cr_expect_eq(pb_match_suffix("/*", x, false, 0), 14);
	cr_expect_eq(pb_match_suffix("/*", x, true, 0), 0);
	cr_expect_eq(pb_match_prefix("x*", x, false, 0), -1);
	cr_expect_eq(pb_match_prefix("", x, false, 0), 0);
	cr_expect_eq(pb_match_suffix("", x, false, 0), 17);
}

Test(match, has_magic)
{
	cr_expect(pb_match_has_magic("*.c", 0));
	cr_expect(pb_match_has_magic("a?", 0));
	cr_expect(pb_match_has_magic("[ab]", 0));
	cr_expect_not(pb_match_has_magic("[ab", 0));
	cr_expect_not(pb_match_has_magic("\\*", 0));
	cr_expect_not(pb_match_has_magic("plain", 0));
	cr_expect(pb_match_has_magic("@(a)", PB_MATCH_EXTGLOB));
	cr_expect_not(pb_match_has_magic("@(a)", 0));
}

Test(match, n_bounded)
{
	cr_expect(pb_match_n("ab*", "abcdef", 2, 0));
	cr_expect_not(pb_match_n("abc", "abcdef", 2, 0));
	cr_expect(pb_match_n("a?", "abcdef", 2, 0));
}

Test(match, hostile_is_bounded)
{
	/* Many stars against a long non-matching string stays linear-ish (plain path). */
	char s[20001];
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	cr_expect_not(pb_match("*a*a*a*a*a*a*a*a*a*a*b", s, 0));
	/* Nested extglob: must return (budget), whatever the verdict. */
	(void)pb_match("*(*(*(a)))b", s + 19900, PB_MATCH_EXTGLOB);
}
