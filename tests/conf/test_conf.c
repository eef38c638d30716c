/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/conf: YAML layer, pbsh.yaml schema, getters, errors, docs of every key. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"

/* ---------------------------------------------------------------- helpers */

static struct pb_yaml_doc *ydoc(const char *text)
{
	struct pb_yaml_doc *d = NULL;
	struct pb_conf_err err = {{0}};
	int rc = pb_yaml_load_buf("t.yaml", text, strlen(text), &d, &err);
	cr_assert_eq(rc, 0, "load failed (%d): %s\n--- input ---\n%s", rc, err.msg, text);
	return d;
}

/* Expect a YAML load to fail with rc and an exact message. */
static void yfail(const char *text, int want_rc, const char *want_msg)
{
	struct pb_yaml_doc *d = NULL;
	struct pb_conf_err err = {{0}};
	int rc = pb_yaml_load_buf("t.yaml", text, strlen(text), &d, &err);
	cr_expect_eq(rc, want_rc, "rc %d, want %d (%s) for:\n%s", rc, want_rc, err.msg, text);
	cr_expect_null(d);
	cr_expect(strstr(err.msg, want_msg) != NULL, "message\n  %s\nlacks\n  %s", err.msg,
	          want_msg);
	cr_expect(strchr(err.msg, '\n') == NULL, "one line only: %s", err.msg);
	pb_yaml_doc_free(d);
}

static struct pb_conf *conf_ok(const char *text)
{
	struct pb_conf *c = NULL;
	struct pb_conf_err err = {{0}};
	int rc = pb_conf_load_buf("pbsh.yaml", text, strlen(text), &c, &err);
	cr_assert_eq(rc, 0, "load failed (%d): %s\n--- input ---\n%s", rc, err.msg, text);
	cr_assert_not_null(c);
	return c;
}

/* Expect a configuration to be refused with PB_ERR_CONF and a message containing want (which
   should start with the position "pbsh.yaml:L:C: "). */
static void conf_fail(const char *text, const char *want)
{
	struct pb_conf *c = NULL;
	struct pb_conf_err err = {{0}};
	int rc = pb_conf_load_buf("pbsh.yaml", text, strlen(text), &c, &err);
	cr_expect_eq(rc, PB_ERR_CONF, "rc %d (%s) for:\n%s", rc, err.msg, text);
	cr_expect_null(c, "no partial configuration on failure");
	cr_expect(strstr(err.msg, want) != NULL, "message\n  %s\nlacks\n  %s\n--- input ---\n%s",
	          err.msg, want, text);
	cr_expect(strchr(err.msg, '\n') == NULL, "one line only: %s", err.msg);
	pb_conf_free(c);
}

static char tmpdir[64];

static void mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pbconfXXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", tmpdir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(f);
	fclose(m);
	return buf;
}

/* ---------------------------------------------------------------- YAML layer */

Test(yaml, positions_and_styles)
{
	struct pb_yaml_doc *d = ydoc("# comment\n"
	                             "name: plain\n"
	                             "list:\n"
	                             "  - 'single'\n"
	                             "  - \"double\"\n"
	                             "  - no\n"
	                             "block: |\n"
	                             "  line1\n"
	                             "  line2\n"
	                             "folded: >\n"
	                             "  a\n"
	                             "  b\n");
	const struct pb_yaml_node *r = pb_yaml_doc_root(d);
	cr_assert_eq(r->type, PB_YAML_MAPPING);
	cr_expect_eq(r->n, 4);
	cr_expect_str_eq(r->file, "t.yaml");
	cr_expect_str_eq(pb_yaml_doc_file(d), "t.yaml");
	cr_expect_eq(r->line, 2);
	cr_expect_eq(r->col, 1);
	cr_expect_str_eq(r->pairs[0].key->str, "name");
	cr_expect_eq(r->pairs[0].key->line, 2);
	cr_expect_eq(r->pairs[0].value->col, 7);
	cr_expect_eq(r->pairs[0].value->style, PB_YAML_PLAIN);

	const struct pb_yaml_node *l = pb_yaml_map_get(r, "list");
	cr_assert_not_null(l);
	cr_assert_eq(l->type, PB_YAML_SEQUENCE);
	cr_assert_eq(l->n, 3);
	cr_expect_str_eq(l->items[0]->str, "single");
	cr_expect_eq(l->items[0]->style, PB_YAML_SINGLE_QUOTED);
	cr_expect_eq(l->items[0]->line, 4);
	cr_expect_eq(l->items[0]->col, 5);
	cr_expect_eq(l->items[1]->style, PB_YAML_DOUBLE_QUOTED);
	cr_expect_eq(l->items[2]->style, PB_YAML_PLAIN);
	cr_expect_eq(l->items[2]->len, 2);

	const struct pb_yaml_node *b = pb_yaml_map_get(r, "block");
	cr_expect_str_eq(b->str, "line1\nline2\n");
	cr_expect_eq(b->style, PB_YAML_LITERAL);
	const struct pb_yaml_node *f = pb_yaml_map_get(r, "folded");
	cr_expect_str_eq(f->str, "a b\n");
	cr_expect_eq(f->style, PB_YAML_FOLDED);
	cr_expect_null(pb_yaml_map_get(r, "nosuch"));
	cr_expect_null(pb_yaml_map_get(l, "list"), "a sequence has no keys");
	cr_expect_str_eq(l->str, "", "containers have an empty str, never NULL");
	pb_yaml_doc_free(d);
	pb_yaml_doc_free(NULL);
}

Test(yaml, flow_and_utf8_columns)
{
	struct pb_yaml_doc *d = ydoc("{a: [1, 2], é: {x: y}}\n");
	const struct pb_yaml_node *r = pb_yaml_doc_root(d);
	cr_assert_eq(r->type, PB_YAML_MAPPING);
	const struct pb_yaml_node *a = pb_yaml_map_get(r, "a");
	cr_expect_eq(a->type, PB_YAML_SEQUENCE);
	cr_expect_eq(a->items[1]->col, 9);
	const struct pb_yaml_node *e = pb_yaml_map_get(r, "é");
	cr_assert_not_null(e);
	cr_expect_eq(e->col, 16, "columns count characters, not bytes");
	pb_yaml_doc_free(d);
}

Test(yaml, empty_documents)
{
	struct pb_yaml_doc *d = ydoc("");
	cr_expect_null(pb_yaml_doc_root(d));
	pb_yaml_doc_free(d);
	d = ydoc("# just a comment\n\n");
	cr_expect_null(pb_yaml_doc_root(d));
	pb_yaml_doc_free(d);
	d = ydoc("---\n");
	cr_expect(pb_yaml_is_null(pb_yaml_doc_root(d)), "an explicit empty document is null");
	pb_yaml_doc_free(d);
}

Test(yaml, null_and_describe)
{
	struct pb_yaml_doc *d = ydoc("a:\nb: ~\nc: null\nd: ''\ne: 'null'\nf: \"x\\ty\"\n");
	const struct pb_yaml_node *r = pb_yaml_doc_root(d);
	cr_expect(pb_yaml_is_null(pb_yaml_map_get(r, "a")));
	cr_expect(pb_yaml_is_null(pb_yaml_map_get(r, "b")));
	cr_expect(pb_yaml_is_null(pb_yaml_map_get(r, "c")));
	cr_expect(!pb_yaml_is_null(pb_yaml_map_get(r, "d")), "quoted empty is a string");
	cr_expect(!pb_yaml_is_null(pb_yaml_map_get(r, "e")), "quoted null is a string");
	cr_expect_str_eq(pb_yaml_describe(pb_yaml_map_get(r, "a")), "nothing");
	cr_expect_str_eq(pb_yaml_describe(pb_yaml_map_get(r, "e")), "'null'");
	cr_expect_str_eq(pb_yaml_describe(pb_yaml_map_get(r, "f")), "\"x\\x09y\"",
	                 "control characters are escaped in messages");
	cr_expect_str_eq(pb_yaml_describe(r), "a mapping");
	cr_expect_str_eq(pb_yaml_describe(NULL), "nothing");
	pb_yaml_doc_free(d);

	/* Long values are cut short in messages. */
	char big[400];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	d = ydoc(big);
	cr_expect_lt(strlen(pb_yaml_describe(pb_yaml_doc_root(d))), 80);
	cr_expect(strstr(pb_yaml_describe(pb_yaml_doc_root(d)), "...") != NULL);
	pb_yaml_doc_free(d);

	/* Cut short between characters, never inside one. */
	char wide[2 * 100 + 1] = "";
	for (int k = 0; k < 100; k++)
		strcat(wide, "\xc3\xa9");
	d = ydoc(wide);
	const char *w = pb_yaml_describe(pb_yaml_doc_root(d));
	const char *dots = strstr(w, "...");
	cr_assert_not_null(dots);
	cr_expect_eq((dots - (w + 1)) % 2, 0, "half a character in %s", w);
	pb_yaml_doc_free(d);
}

Test(yaml, duplicate_keys)
{
	yfail("a: 1\nb: 2\na: 3\n", PB_ERR_CONF,
	      "t.yaml:3:1: duplicate key 'a' (first at line 1, column 1)");
	yfail("top:\n  x: 1\n  y: 2\n  x: 3\n  x: 4\n", PB_ERR_CONF,
	      "t.yaml:4:3: duplicate key 'x' (first at line 2, column 3)");
	yfail("{b: 1, a: 2, b: 3}", PB_ERR_CONF, "t.yaml:1:14: duplicate key 'b'");
	/* Same text, different style, is the same key. */
	yfail("a: 1\n'a': 2\n", PB_ERR_CONF, "duplicate key 'a'");
	/* The same key in different mappings is fine. */
	pb_yaml_doc_free(ydoc("x: {a: 1}\ny: {a: 2}\n"));
}

Test(yaml, aliases_tags_documents_keys)
{
	yfail("a: &anchor 1\nb: *anchor\n", PB_ERR_CONF,
	      "t.yaml:1:4: anchors and aliases are not supported (anchor 'anchor')");
	yfail("a: [*x]\n", PB_ERR_CONF, "anchors and aliases are not supported (alias 'x')");
	yfail("a: !!str yes\n", PB_ERR_CONF, "t.yaml:1:4: YAML tags are not supported");
	yfail("a: !custom {b: 1}\n", PB_ERR_CONF, "YAML tags are not supported");
	yfail("a: 1\n---\nb: 2\n", PB_ERR_CONF,
	      "t.yaml:2:1: a second YAML document starts here; the file must hold one");
	yfail("? [a, b]\n: 1\n", PB_ERR_CONF,
	      "t.yaml:1:3: a mapping key must be a single value, not a list");
	yfail("{{a: 1}: 2}\n", PB_ERR_CONF, "a mapping key must be a single value, not a mapping");
	yfail("a: \"x\\0y\"\n", PB_ERR_CONF, "t.yaml:1:4: a NUL character (\\0) is not allowed");
}

Test(yaml, syntax_errors)
{
	yfail("a: [1, 2\n", PB_ERR_CONF,
	      "t.yaml:2:1: YAML syntax error: did not find expected ',' or ']' while parsing a "
	      "flow sequence that starts at line 1, column 4");
	yfail("a:\n\tb: 1\n", PB_ERR_CONF, "tabs cannot indent YAML, use spaces");
	yfail("a: b: c\n", PB_ERR_CONF,
	      "t.yaml:1:5: YAML syntax error: mapping values are not allowed in this context; "
	      "quote a value");
	yfail("a: 'unclosed\n", PB_ERR_CONF,
	      "while scanning a quoted scalar that starts at line 1, column 4");
	yfail("a:\n  b: 1\n c: 2\n", PB_ERR_CONF, "t.yaml:3:2: YAML syntax error");
	yfail("a: \xff\n", PB_ERR_CONF,
	      "t.yaml:1:4: not valid text: invalid leading UTF-8 octet (byte 0xff)");
	yfail("a: 1\nb: \x01\n", PB_ERR_CONF,
	      "t.yaml:2:4: not valid text: control characters are not allowed");
}

Test(yaml, limits)
{
	char deep[2 * 70 + 2];
	size_t i;
	/* 64 levels load; 65 do not. */
	for (i = 0; i < 64; i++)
		deep[i] = '[';
	for (; i < 128; i++)
		deep[i] = ']';
	deep[i] = '\0';
	pb_yaml_doc_free(ydoc(deep));
	for (i = 0; i < 65; i++)
		deep[i] = '[';
	for (; i < 130; i++)
		deep[i] = ']';
	deep[i] = '\0';
	yfail(deep, PB_ERR_LIMIT, "t.yaml:1:65: lists and mappings nested deeper than 64 levels");

	size_t big = PB_YAML_MAX_BYTES + 1;
	char *buf = malloc(big);
	cr_assert_not_null(buf);
	memset(buf, ' ', big);
	struct pb_yaml_doc *d = NULL;
	struct pb_conf_err err;
	cr_expect_eq(pb_yaml_load_buf("big.yaml", buf, big, &d, &err), PB_ERR_LIMIT);
	cr_expect(strstr(err.msg, "big.yaml: 16777217 bytes is more than the 16 MiB") != NULL, "%s",
	          err.msg);
	free(buf);
}

Test(yaml, files, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	char path[128];
	struct pb_yaml_doc *d = NULL;
	struct pb_conf_err err;

	snprintf(path, sizeof(path), "%s/x.yaml", tmpdir);
	write_file(path, "k: v\n");
	cr_assert_eq(pb_yaml_load_file(path, &d, &err), 0, "%s", err.msg);
	cr_expect_str_eq(pb_yaml_doc_root(d)->file, path);
	cr_expect_str_eq(pb_yaml_doc_root(d)->pairs[0].value->str, "v");
	pb_yaml_doc_free(d);

	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	cr_expect_eq(pb_yaml_load_file(path, &d, &err), PB_ERR_NOTFOUND);
	cr_expect_null(d);
	cr_expect(strstr(err.msg, "missing.yaml: No such file or directory") != NULL, "%s",
	          err.msg);

	cr_expect_eq(pb_yaml_load_file(tmpdir, &d, &err), PB_ERR_IO);
	cr_expect(strstr(err.msg, "is a directory") != NULL, "%s", err.msg);

	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	write_file(path, "a: 1\n  b: 2\n");
	cr_expect_eq(pb_yaml_load_file(path, &d, &err), PB_ERR_CONF);
	char want[160];
	snprintf(want, sizeof(want), "%s:2:4: YAML syntax error", path);
	cr_expect(strstr(err.msg, want) == err.msg, "%s", err.msg);

	if (geteuid() != 0) {
		chmod(path, 0);
		cr_expect_eq(pb_yaml_load_file(path, &d, &err), PB_ERR_IO);
		cr_expect(strstr(err.msg, "Permission denied") != NULL, "%s", err.msg);
	}
}

Test(yaml, conversions)
{
	struct pb_yaml_doc *d =
	    ydoc("t: yes\nf: Off\nq: 'no'\nx: maybe\n"
	         "i: -42\nbig: 99999999999999999999\nni: 4x\n"
	         "d1: 30s\nd2: 500ms\nd3: 2m\nd4: 1h30m\nd5: 5\nd6: 1m30\nd7: 3w\nd8: 1d\n"
	         "s1: 2MiB\ns2: 64k\ns3: 4096\ns4: 1G\ns5: 1.5M\ns6: 3 MB\ns7: 9zb\n"
	         "m1: 0640\nm2: 750\nm3: 8\nm4: 017777\n"
	         "str: hello\nlist: [a]\nnul:\n");
	const struct pb_yaml_node *r = pb_yaml_doc_root(d);
	struct pb_conf_err err;
	bool b;
	long long i;
	int64_t ms;
	uint64_t sz;
	mode_t m;
	const char *s;

#define N(k) pb_yaml_map_get(r, k)
	cr_expect_eq(pb_yaml_bool(N("t"), "t", &b, &err), 0);
	cr_expect(b);
	cr_expect_eq(pb_yaml_bool(N("f"), "f", &b, &err), 0);
	cr_expect(!b);
	cr_expect_eq(pb_yaml_bool(N("q"), "q", &b, &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:3:4: q: expected true or false, got the quoted string "
	                          "'no' (remove the quotes)");
	cr_expect_eq(pb_yaml_bool(N("x"), "x", &b, &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:4:4: x: expected true or false, got 'maybe'");
	cr_expect_eq(pb_yaml_bool(N("list"), "list", &b, &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:28:7: list: expected true or false, got a list");
	cr_expect_eq(pb_yaml_bool(N("nul"), NULL, &b, &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:29:5: expected true or false, got nothing");

	cr_expect_eq(pb_yaml_int(N("i"), "i", -100, 100, &i, &err), 0);
	cr_expect_eq(i, -42);
	cr_expect_eq(pb_yaml_int(N("i"), "i", 0, 100, &i, &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:5:4: i: '-42' is out of range (0 to 100)");
	cr_expect_eq(pb_yaml_int(N("big"), "big", 0, 100, &i, &err), PB_ERR_CONF);
	cr_expect(strstr(err.msg, "out of range") != NULL, "%s", err.msg);
	cr_expect_eq(pb_yaml_int(N("ni"), "ni", 0, 100, &i, &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:7:5: ni: expected a whole number, got '4x'");

	static const struct {
		const char *k;
		int64_t ms;
	} durs[] = {{"d1", 30000},   {"d2", 500},  {"d3", 120000},
	            {"d4", 5400000}, {"d5", 5000}, {"d8", 86400000}};
	for (size_t j = 0; j < sizeof(durs) / sizeof(durs[0]); j++) {
		cr_expect_eq(pb_yaml_duration(N(durs[j].k), durs[j].k, &ms, &err), 0, "%s",
		             err.msg);
		cr_expect_eq(ms, durs[j].ms, "%s: %lld", durs[j].k, (long long)ms);
	}
	cr_expect_eq(pb_yaml_duration(N("d6"), "d6", &ms, &err), PB_ERR_CONF);
	cr_expect_str_eq(
	    err.msg,
	    "t.yaml:13:5: d6: expected a duration such as 30s, 500ms, 2m or 1h30m, got '1m30'");
	cr_expect_eq(pb_yaml_duration(N("d7"), "d7", &ms, &err), PB_ERR_CONF);
	cr_expect_str_eq(
	    err.msg, "t.yaml:14:5: d7: unknown unit in duration (use ms, s, m, h or d), got '3w'");

	static const struct {
		const char *k;
		uint64_t v;
	} sizes[] = {{"s1", 2u << 20}, {"s2", 64u << 10}, {"s3", 4096}, {"s4", 1u << 30}};
	for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
		cr_expect_eq(pb_yaml_size(N(sizes[j].k), sizes[j].k, &sz, &err), 0, "%s", err.msg);
		cr_expect_eq(sz, sizes[j].v);
	}
	cr_expect_eq(pb_yaml_size(N("s5"), "s5", &sz, &err), PB_ERR_CONF);
	cr_expect_eq(pb_yaml_size(N("s6"), "s6", &sz, &err), PB_ERR_CONF);
	cr_expect_eq(pb_yaml_size(N("s7"), "s7", &sz, &err), PB_ERR_CONF);
	cr_expect(strstr(err.msg, "unknown unit in size") != NULL, "%s", err.msg);

	cr_expect_eq(pb_yaml_mode(N("m1"), "m1", &m, &err), 0);
	cr_expect_eq(m, 0640);
	cr_expect_eq(pb_yaml_mode(N("m2"), "m2", &m, &err), 0);
	cr_expect_eq(m, 0750);
	cr_expect_eq(pb_yaml_mode(N("m3"), "m3", &m, &err), PB_ERR_CONF);
	cr_expect_eq(pb_yaml_mode(N("m4"), "m4", &m, &err), PB_ERR_CONF);
	cr_expect(strstr(err.msg, "expected an octal mode from 0000 to 07777") != NULL, "%s",
	          err.msg);

	cr_expect_eq(pb_yaml_str(N("str"), "str", &s, &err), 0);
	cr_expect_str_eq(s, "hello");
	cr_expect_eq(pb_yaml_str(N("q"), "q", &s, &err), 0);
	cr_expect_str_eq(s, "no");
	cr_expect_eq(pb_yaml_str(N("nul"), "nul", &s, &err), PB_ERR_CONF);
	cr_expect_eq(pb_yaml_str(N("list"), "list", &s, &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:28:7: list: expected a string, got a list");
#undef N
	pb_yaml_doc_free(d);
}

Test(yaml, expect_check_keys_errf)
{
	struct pb_yaml_doc *d = ydoc("rules:\n  - name: r1\n    whn: {user: x}\n");
	const struct pb_yaml_node *r = pb_yaml_doc_root(d);
	struct pb_conf_err err;
	static const char *const allowed[] = {"name", "when", "set", "accept", "reject", NULL};
	const struct pb_yaml_node *rules = pb_yaml_map_get(r, "rules");

	cr_expect_eq(pb_yaml_expect(rules, PB_YAML_SEQUENCE, "rules", &err), 0);
	cr_expect_eq(pb_yaml_expect(rules, PB_YAML_MAPPING, "rules", &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:2:3: rules: expected a mapping, got a list");
	cr_expect_eq(pb_yaml_expect(NULL, PB_YAML_MAPPING, "policy", &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "policy: expected a mapping, got nothing");

	cr_expect_eq(pb_yaml_map_check_keys(rules->items[0], "a rule", allowed, &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:3:5: unknown key 'whn' in a rule (did you mean 'when'?); "
	                          "known keys: name, when, set, accept, reject");
	static const char *const other[] = {"alpha", "beta", NULL};
	cr_expect_eq(pb_yaml_map_check_keys(rules->items[0], NULL, other, &err), PB_ERR_CONF);
	cr_expect_str_eq(err.msg,
	                 "t.yaml:2:5: unknown key 'name' in this mapping; known keys: alpha, beta");
	static const char *const all[] = {"name", "whn", NULL};
	cr_expect_eq(pb_yaml_map_check_keys(rules->items[0], "x", all, &err), 0);

	cr_expect_eq(pb_yaml_errf(&err, rules, "bad %s %d", "thing", 7), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "t.yaml:2:3: bad thing 7");
	cr_expect_eq(pb_yaml_errf(&err, NULL, "no position"), PB_ERR_CONF);
	cr_expect_str_eq(err.msg, "no position");
	cr_expect_eq(pb_yaml_errf(NULL, rules, "no buffer"), PB_ERR_CONF);
	pb_yaml_doc_free(d);
}

Test(yaml, string_parsers)
{
	const char *es;
	int64_t ms;
	uint64_t sz;
	char host[64];
	unsigned port;

	cr_expect_eq(pb_conf_parse_duration("1d2h3m4s5ms", &ms, &es), 0);
	cr_expect_eq(ms, 86400000 + 2 * 3600000 + 3 * 60000 + 4000 + 5);
	cr_expect_eq(pb_conf_parse_duration("0", &ms, &es), 0);
	cr_expect_eq(ms, 0);
	cr_expect_eq(pb_conf_parse_duration("", &ms, &es), PB_ERR_INVAL);
	cr_expect_eq(pb_conf_parse_duration("-1s", &ms, &es), PB_ERR_INVAL);
	cr_expect_eq(pb_conf_parse_duration("1 s", &ms, &es), PB_ERR_INVAL);
	cr_expect_eq(pb_conf_parse_duration("99999999999999999999d", &ms, &es), PB_ERR_INVAL);
	cr_expect_str_eq(es, "duration is too long");
	cr_expect_eq(pb_conf_parse_size("16TiB", &sz, &es), 0);
	cr_expect_eq(sz, 16ULL << 40);
	cr_expect_eq(pb_conf_parse_size("99999999999T", &sz, &es), PB_ERR_INVAL);
	cr_expect_str_eq(es, "size is too large");
	cr_expect_eq(pb_conf_parse_size("k", &sz, &es), PB_ERR_INVAL);

	cr_expect_eq(
	    pb_conf_parse_hostport("pb1.example.org:7714", false, host, sizeof(host), &port, &es),
	    0);
	cr_expect_str_eq(host, "pb1.example.org");
	cr_expect_eq(port, 7714);
	cr_expect_eq(pb_conf_parse_hostport("[::1]:30344", false, host, sizeof(host), &port, &es),
	             0);
	cr_expect_str_eq(host, "::1");
	cr_expect_eq(port, 30344);
	cr_expect_eq(pb_conf_parse_hostport("127.0.0.1:0", true, host, sizeof(host), &port, &es),
	             0);
	cr_expect_eq(port, 0);
	cr_expect_eq(pb_conf_parse_hostport("127.0.0.1:0", false, host, sizeof(host), &port, &es),
	             PB_ERR_INVAL);
	cr_expect_str_eq(es, "the port must be a number from 1 to 65535");
	cr_expect_eq(pb_conf_parse_hostport("::1:7714", false, host, sizeof(host), &port, &es),
	             PB_ERR_INVAL);
	cr_expect_str_eq(es, "an IPv6 address needs brackets, as in [::1]:7714");
	cr_expect_eq(pb_conf_parse_hostport("host", false, host, sizeof(host), &port, &es),
	             PB_ERR_INVAL);
	cr_expect_str_eq(es, "expected host:port (the port is missing)");
	cr_expect_eq(pb_conf_parse_hostport(":7714", false, host, sizeof(host), &port, &es),
	             PB_ERR_INVAL);
	cr_expect_eq(pb_conf_parse_hostport("h:65536", false, host, sizeof(host), &port, &es),
	             PB_ERR_INVAL);
	cr_expect_eq(
	    pb_conf_parse_hostport("h:99999999999999", false, host, sizeof(host), &port, &es),
	    PB_ERR_INVAL);
	cr_expect_eq(pb_conf_parse_hostport("h:http", false, host, sizeof(host), &port, &es),
	             PB_ERR_INVAL);
	cr_expect_eq(pb_conf_parse_hostport("bad host:1", false, host, sizeof(host), &port, &es),
	             PB_ERR_INVAL);
	cr_expect_eq(pb_conf_parse_hostport("[::1]7714", false, host, sizeof(host), &port, &es),
	             PB_ERR_INVAL);
	cr_expect_eq(
	    pb_conf_parse_hostport("averyveryverylonghostname:1", false, host, 8, &port, &es),
	    PB_ERR_INVAL);
}

/* ---------------------------------------------------------------- pbsh.yaml */

/* Every setting, each with a value different from its default. */
static const char every_key[] =
    "policyservers: [\"pol1.example.org:7714\", \"[2001:db8::1]:7714\"]\n"
    "logservers:\n"
    "  - log1.example.org:30344\n"
    "admins: [admin, ops.example.org]\n"
    "max_frame: 1MiB\n"
    "spooldir: /srv/spool\n"
    "kshlog: /var/tmp/pbksh.trace\n"
    "shlog: /var/tmp/pbsh.trace\n"
    "tls:\n"
    "  ca: /etc/pbsh/ca.crt\n"
    "  cert: /etc/pbsh/host.crt\n"
    "  key: /etc/pbsh/host.key\n"
    "  servername: pbsh.example.org\n"
    "  plaintext_for_tests: false\n"
    "timeouts:\n"
    "  connect: 750ms\n"
    "  request: 1m\n"
    "  spool_retry: 5s\n"
    "policyd:\n"
    "  listen: [\"127.0.0.1:0\", \"[::1]:7715\"]\n"
    "  policy: /etc/pbsh/policy.yaml\n"
    "  audit: /var/log/pbsh/decisions.jsonl\n"
    "  pidfile: /run/policyd.pid\n"
    "  user: pbpolicy\n"
    "  group: pbgroup\n"
    "  log: file:/var/log/policyd.log\n"
    "  debug: policy@5,tls@2\n"
    "  max_connections: 100\n"
    "  max_connections_per_peer: 10\n"
    "  idle_timeout: 0\n"
    "  frame_timeout: 5s\n"
    "  handshake_timeout: 2s\n"
    "  stop_timeout: 1m\n"
    "logd:\n"
    "  listen: [\"0.0.0.0:30345\"]\n"
    "  eventlog: /srv/events\n"
    "  eventlog_rotate: 0\n"
    "  iolog_dir: /srv/io\n"
    "  iolog_path: \"%{user}/%{seq}\"\n"
    "  iolog_mode: \"0640\"\n"
    "  commit_interval: 2s\n"
    "  pidfile: /run/logd.pid\n"
    "  user: pblog\n"
    "  group: pblog\n"
    "  log: stderr\n"
    "  debug: \"3\"\n"
    "  max_connections: 200\n"
    "  max_connections_per_peer: 20\n"
    "  idle_timeout: 2h\n"
    "  frame_timeout: 1m\n"
    "  handshake_timeout: 3s\n"
    "  stop_timeout: 0\n"
    "  hostcheck: record\n"
    "  server_id: logd-a\n";

Test(conf, every_key)
{
	struct pb_conf *c = conf_ok(every_key);
	size_t n, nk;
	const struct pb_hostport *hp;

	hp = pb_conf_hostports(c, "policyservers", &n);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(hp[0].host, "pol1.example.org");
	cr_expect_str_eq(hp[0].port, "7714");
	cr_expect_eq(hp[0].portnum, 7714);
	cr_expect_str_eq(hp[0].text, "pol1.example.org:7714");
	cr_expect_str_eq(hp[1].host, "2001:db8::1");
	hp = pb_conf_hostports(c, "logservers", &n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(hp[0].host, "log1.example.org");
	cr_expect_eq(hp[0].portnum, 30344);
	const char *const *adm = pb_conf_list(c, "admins", &n);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(adm[0], "admin");
	cr_expect_str_eq(adm[1], "ops.example.org");
	cr_expect_null(adm[2], "lists are NULL-terminated");
	cr_expect_eq(pb_conf_size(c, "max_frame"), 1u << 20);
	cr_expect_str_eq(pb_conf_str(c, "spooldir"), "/srv/spool");
	cr_expect_str_eq(pb_conf_str(c, "kshlog"), "/var/tmp/pbksh.trace");
	cr_expect_str_eq(pb_conf_str(c, "shlog"), "/var/tmp/pbsh.trace");
	cr_expect_str_eq(pb_conf_str(c, "tls.ca"), "/etc/pbsh/ca.crt");
	cr_expect_str_eq(pb_conf_str(c, "tls.cert"), "/etc/pbsh/host.crt");
	cr_expect_str_eq(pb_conf_str(c, "tls.key"), "/etc/pbsh/host.key");
	cr_expect_str_eq(pb_conf_str(c, "tls.servername"), "pbsh.example.org");
	cr_expect(!pb_conf_bool(c, "tls.plaintext_for_tests"));
	cr_expect_eq(pb_conf_ms(c, "timeouts.connect"), 750);
	cr_expect_eq(pb_conf_ms(c, "timeouts.request"), 60000);
	cr_expect_eq(pb_conf_ms(c, "timeouts.spool_retry"), 5000);

	hp = pb_conf_hostports(c, "policyd.listen", &n);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(hp[0].host, "127.0.0.1");
	cr_expect_eq(hp[0].portnum, 0);
	cr_expect_str_eq(hp[1].host, "::1");
	cr_expect_str_eq(pb_conf_str(c, "policyd.policy"), "/etc/pbsh/policy.yaml");
	cr_expect_str_eq(pb_conf_str(c, "policyd.audit"), "/var/log/pbsh/decisions.jsonl");
	cr_expect_str_eq(pb_conf_str(c, "policyd.pidfile"), "/run/policyd.pid");
	cr_expect_str_eq(pb_conf_str(c, "policyd.user"), "pbpolicy");
	cr_expect_str_eq(pb_conf_str(c, "policyd.group"), "pbgroup");
	enum pb_log_dest dest;
	const char *lpath;
	pb_conf_log(c, "policyd.log", &dest, &lpath);
	cr_expect_eq(dest, PB_LOG_FILE);
	cr_expect_str_eq(lpath, "/var/log/policyd.log");
	cr_expect_str_eq(pb_conf_str(c, "policyd.log"), "/var/log/policyd.log",
	                 "the string form suits pb_daemon_log_setup");
	cr_expect_str_eq(pb_conf_str(c, "policyd.debug"), "policy@5,tls@2");
	cr_expect_eq(pb_conf_int(c, "policyd.max_connections"), 100);
	cr_expect_eq(pb_conf_int(c, "policyd.max_connections_per_peer"), 10);
	cr_expect_eq(pb_conf_ms(c, "policyd.idle_timeout"), 0);
	cr_expect_eq(pb_conf_ms(c, "policyd.frame_timeout"), 5000);
	cr_expect_eq(pb_conf_ms(c, "policyd.handshake_timeout"), 2000);
	cr_expect_eq(pb_conf_ms(c, "policyd.stop_timeout"), 60000);

	hp = pb_conf_hostports(c, "logd.listen", &n);
	cr_assert_eq(n, 1);
	cr_expect_eq(hp[0].portnum, 30345);
	cr_expect_str_eq(pb_conf_str(c, "logd.eventlog"), "/srv/events");
	cr_expect_eq(pb_conf_size(c, "logd.eventlog_rotate"), 0);
	cr_expect_str_eq(pb_conf_str(c, "logd.iolog_dir"), "/srv/io");
	cr_expect_str_eq(pb_conf_str(c, "logd.iolog_path"), "%{user}/%{seq}");
	cr_expect_eq(pb_conf_mode(c, "logd.iolog_mode"), 0640);
	cr_expect_eq(pb_conf_ms(c, "logd.commit_interval"), 2000);
	cr_expect_str_eq(pb_conf_str(c, "logd.pidfile"), "/run/logd.pid");
	cr_expect_str_eq(pb_conf_str(c, "logd.user"), "pblog");
	cr_expect_str_eq(pb_conf_str(c, "logd.group"), "pblog");
	pb_conf_log(c, "logd.log", &dest, &lpath);
	cr_expect_eq(dest, PB_LOG_STDERR);
	cr_expect_null(lpath);
	cr_expect_str_eq(pb_conf_str(c, "logd.log"), "stderr");
	cr_expect_str_eq(pb_conf_str(c, "logd.debug"), "3");
	cr_expect_eq(pb_conf_int(c, "logd.max_connections"), 200);
	cr_expect_eq(pb_conf_int(c, "logd.max_connections_per_peer"), 20);
	cr_expect_eq(pb_conf_ms(c, "logd.idle_timeout"), 7200000);
	cr_expect_eq(pb_conf_ms(c, "logd.frame_timeout"), 60000);
	cr_expect_eq(pb_conf_ms(c, "logd.handshake_timeout"), 3000);
	cr_expect_eq(pb_conf_ms(c, "logd.stop_timeout"), 0);
	cr_expect_str_eq(pb_conf_str(c, "logd.server_id"), "logd-a");
	cr_expect_str_eq(pb_conf_str(c, "logd.hostcheck"), "record");

	/* The text above sets every key of the schema: a new key must be added here too. */
	const struct pb_conf_keyinfo *ki = pb_conf_schema(&nk);
	for (size_t i = 0; i < nk; i++)
		cr_expect(pb_conf_is_set(c, ki[i].key), "every_key does not set %s", ki[i].key);
	cr_expect_str_eq(pb_conf_file(c), "pbsh.yaml");
	pb_conf_free(c);
}

Test(conf, defaults)
{
	struct pb_conf *c = conf_ok("");
	size_t n, nk;

	cr_expect_null(pb_conf_hostports(c, "policyservers", &n));
	cr_expect_eq(n, 0);
	cr_expect_null(pb_conf_hostports(c, "logservers", &n));
	cr_expect_null(pb_conf_list(c, "admins", &n)[0]);
	cr_expect_eq(n, 0);
	cr_expect_eq(pb_conf_size(c, "max_frame"), 2u << 20);
	cr_expect_str_eq(pb_conf_str(c, "spooldir"), PB_LOCALSTATEDIR "/spool/pbsh");
	cr_expect_null(pb_conf_str(c, "kshlog"));
	cr_expect_null(pb_conf_str(c, "shlog"));
	cr_expect_null(pb_conf_str(c, "tls.ca"));
	cr_expect_null(pb_conf_str(c, "tls.cert"));
	cr_expect_null(pb_conf_str(c, "tls.key"));
	cr_expect_null(pb_conf_str(c, "tls.servername"));
	cr_expect(!pb_conf_bool(c, "tls.plaintext_for_tests"));
	cr_expect_eq(pb_conf_ms(c, "timeouts.connect"), 3000);
	cr_expect_eq(pb_conf_ms(c, "timeouts.request"), 10000);
	const struct pb_hostport *hp = pb_conf_hostports(c, "policyd.listen", &n);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(hp[0].host, "0.0.0.0");
	cr_expect_eq(hp[0].portnum, 7714);
	cr_expect_str_eq(pb_conf_str(c, "policyd.policy"), PB_SYSCONFDIR "/pbsh-policy.yaml");
	cr_expect_null(pb_conf_str(c, "policyd.audit"));
	cr_expect_str_eq(pb_conf_str(c, "policyd.pidfile"),
	                 PB_LOCALSTATEDIR "/run/pbsh-policyd.pid");
	cr_expect_null(pb_conf_str(c, "policyd.user"));
	cr_expect_null(pb_conf_str(c, "policyd.log"));
	enum pb_log_dest dest;
	const char *lpath;
	pb_conf_log(c, "policyd.log", &dest, &lpath);
	cr_expect_eq(dest, PB_LOG_STDERR);
	cr_expect_null(lpath);
	cr_expect_null(pb_conf_str(c, "policyd.debug"));
	cr_expect_eq(pb_conf_int(c, "policyd.max_connections"), 1024);
	cr_expect_eq(pb_conf_int(c, "policyd.max_connections_per_peer"), 64);
	cr_expect_eq(pb_conf_ms(c, "policyd.idle_timeout"), 3600000);
	cr_expect_eq(pb_conf_ms(c, "policyd.frame_timeout"), 30000);
	cr_expect_eq(pb_conf_ms(c, "policyd.handshake_timeout"), 10000);
	cr_expect_eq(pb_conf_ms(c, "policyd.stop_timeout"), 10000);
	hp = pb_conf_hostports(c, "logd.listen", &n);
	cr_assert_eq(n, 1);
	cr_expect_eq(hp[0].portnum, 30344);
	cr_expect_str_eq(pb_conf_str(c, "logd.eventlog"),
	                 PB_LOCALSTATEDIR "/log/pbsh/events.jsonl");
	cr_expect_eq(pb_conf_size(c, "logd.eventlog_rotate"), 64u << 20);
	cr_expect_str_eq(pb_conf_str(c, "logd.iolog_dir"), PB_LOCALSTATEDIR "/log/pbsh/io");
	cr_expect_str_eq(pb_conf_str(c, "logd.iolog_path"), "%{seq}");
	cr_expect_eq(pb_conf_mode(c, "logd.iolog_mode"), 0600);
	cr_expect_eq(pb_conf_ms(c, "logd.commit_interval"), 10000);
	cr_expect_str_eq(pb_conf_str(c, "logd.pidfile"), PB_LOCALSTATEDIR "/run/pbsh-logd.pid");
	cr_expect_null(pb_conf_str(c, "logd.server_id"));
	cr_expect_str_eq(pb_conf_str(c, "logd.hostcheck"), "strict");
	cr_expect_eq(pb_conf_ms(c, "logd.stop_timeout"), 10000);

	/* Nothing is "set" by an empty file; every key with a default has it. */
	const struct pb_conf_keyinfo *ki = pb_conf_schema(&nk);
	cr_expect_gt(nk, 40);
	for (size_t i = 0; i < nk; i++) {
		cr_expect(!pb_conf_is_set(c, ki[i].key), "%s", ki[i].key);
		cr_expect_not_null(ki[i].description);
		cr_expect_not_null(ki[i].type);
	}
	pb_conf_free(c);

	/* Comments only, a null document, an empty section: all defaults. */
	pb_conf_free(conf_ok("# nothing here\n"));
	pb_conf_free(conf_ok("---\n"));
	c = conf_ok("policyd:\n  # listen: [127.0.0.1:1]\nlogd:\n");
	cr_expect_eq(pb_conf_int(c, "logd.max_connections"), 1024);
	pb_conf_free(c);
	c = pb_conf_defaults();
	cr_assert_not_null(c);
	cr_expect_str_eq(pb_conf_file(c), "(defaults)");
	cr_expect_eq(pb_conf_ms(c, "timeouts.connect"), 3000);
	pb_conf_free(c);
	pb_conf_free(NULL);
}

Test(conf, partial_sections_keep_other_defaults)
{
	struct pb_conf *c = conf_ok("timeouts:\n  connect: 1s\n");
	cr_expect_eq(pb_conf_ms(c, "timeouts.connect"), 1000);
	cr_expect_eq(pb_conf_ms(c, "timeouts.request"), 10000);
	cr_expect(pb_conf_is_set(c, "timeouts.connect"));
	cr_expect(!pb_conf_is_set(c, "timeouts.request"));
	pb_conf_free(c);
}

Test(conf, unknown_keys)
{
	conf_fail("policyservers: []\npolciyservers: []\n",
	          "pbsh.yaml:2:1: unknown setting 'polciyservers' (did you mean 'policyservers'?)");
	conf_fail(
	    "policyd:\n  lisen: [127.0.0.1:1]\n",
	    "pbsh.yaml:2:3: unknown setting 'policyd.lisen' (did you mean 'policyd.listen'?)");
	conf_fail("listen: [127.0.0.1:1]\n", "pbsh.yaml:1:1: unknown setting 'listen' (did you "
	                                     "mean 'policyd.listen' or 'logd.listen'?)");
	conf_fail("tsl:\n  ca: /x\n", "pbsh.yaml:1:1: unknown setting 'tsl' (did you mean 'tls'?)");
	conf_fail("logd:\n  tls:\n    ca: /x\n",
	          "pbsh.yaml:2:3: unknown setting 'logd.tls' (tls is a section of its own: write "
	          "it at the top level, not indented)");
	conf_fail("frobnicate: 1\n", "pbsh.yaml:1:1: unknown setting 'frobnicate'");
	conf_fail("tls.ca: /etc/ca.crt\n", "pbsh.yaml:1:1: write tls.ca inside its section (tls:, "
	                                   "then the key indented on the next line)");
	/* An unknown key anywhere fails every program, daemon sections included. */
	conf_fail("logd:\n  listen: [127.0.0.1:1]\n  bogus: 1\n",
	          "pbsh.yaml:3:3: unknown setting 'logd.bogus'");
}

Test(conf, wrong_types)
{
	conf_fail(
	    "- a\n- b\n",
	    "pbsh.yaml:1:1: expected the settings as a mapping (key: value lines), got a list");
	conf_fail("just text\n", "expected the settings as a mapping");
	conf_fail("policyservers: pol1:7714\n",
	          "pbsh.yaml:1:16: policyservers: expected a list of host:port, as in "
	          "[pbsh1.example.org:7714] or one '- host:port' line per entry, got 'pol1:7714'");
	conf_fail("policyservers: [[a:1]]\n",
	          "pbsh.yaml:1:17: policyservers: expected host:port, got a list");
	conf_fail("tls: /etc/ca\n",
	          "pbsh.yaml:1:6: tls is a section: expected a mapping of its settings (ca, cert, "
	          "key, servername, plaintext_for_tests), got '/etc/ca'");
	conf_fail("timeouts:\n  connect: [1s]\n",
	          "pbsh.yaml:2:12: timeouts.connect: expected a duration such as 30s, 500ms, 2m or "
	          "1h30m, got a list");
	conf_fail("policyd:\n  max_connections: many\n",
	          "pbsh.yaml:2:20: policyd.max_connections: expected a whole number, got 'many'");
	conf_fail("tls:\n  plaintext_for_tests: \"yes\"\n",
	          "pbsh.yaml:2:24: tls.plaintext_for_tests: expected true or false, got the quoted "
	          "string \"yes\" (remove the quotes)");
	conf_fail("tls:\n  plaintext_for_tests: sometimes\n",
	          "expected true or false, got 'sometimes'");
	conf_fail("admins: admin\n", "pbsh.yaml:1:9: admins: expected a list, as in [a, b] or one "
	                             "'- item' line per entry, got 'admin'");
	conf_fail("admins: [{a: b}]\n", "pbsh.yaml:1:10: admins: expected a string, got a mapping");
	conf_fail("spooldir: [a]\n", "pbsh.yaml:1:11: spooldir: expected a string, got a list");
	conf_fail("max_frame: {a: 1}\n",
	          "max_frame: expected a size such as 4096, 64k or 2MiB, got a mapping");
	conf_fail("logd:\n  iolog_mode: rw-r-----\n",
	          "pbsh.yaml:2:15: logd.iolog_mode: expected an octal mode from 0000 to 07777 such "
	          "as 0640, got 'rw-r-----'");
	conf_fail("policyd:\n  log: [syslog]\n", "policyd.log: expected a string, got a list");
}

Test(conf, bad_values)
{
	conf_fail(
	    "spooldir: var/spool\n",
	    "pbsh.yaml:1:11: spooldir: 'var/spool' is not an absolute path (start it with /)");
	conf_fail("tls:\n  ca: \"\"\n", "pbsh.yaml:2:7: tls.ca: must not be empty");
	conf_fail("timeouts:\n  connect: 0s\n",
	          "pbsh.yaml:2:12: timeouts.connect: 0s is out of range (1ms to 10m)");
	conf_fail("timeouts:\n  request: 2h\n", "timeouts.request: 2h is out of range (1ms to 1h)");
	conf_fail("max_frame: 1k\n",
	          "pbsh.yaml:1:12: max_frame: 1KiB is out of range (4KiB to 64MiB)");
	conf_fail("max_frame: 1G\n", "max_frame: 1GiB is out of range (4KiB to 64MiB)");
	conf_fail("policyd:\n  max_connections: 0\n",
	          "pbsh.yaml:2:20: policyd.max_connections: '0' is out of range (1 to 1000000)");
	conf_fail(
	    "policyservers: [\"pol1:0\"]\n",
	    "pbsh.yaml:1:17: policyservers: \"pol1:0\": the port must be a number from 1 to 65535");
	conf_fail("logservers: [\"::1:30344\"]\n",
	          "logservers: \"::1:30344\": an IPv6 address needs brackets");
	conf_fail("policyd:\n  listen: [\"127.0.0.1:7714\", \"127.0.0.1:7714\"]\n",
	          "pbsh.yaml:2:30: policyd.listen: \"127.0.0.1:7714\" is listed twice");
	conf_fail(
	    "policyd:\n  log: journal\n",
	    "pbsh.yaml:2:8: policyd.log: expected syslog, stderr or file:/PATH, got 'journal'");
	conf_fail("policyd:\n  log: file:relative.log\n",
	          "policyd.log: 'file:relative.log': the file must be an absolute path, as in "
	          "file:/var/log/pbsh.log");
	conf_fail(
	    "policyd:\n  debug: policy@x\n",
	    "pbsh.yaml:2:10: policyd.debug: 'policy@x': the level after '@' must be one digit 0-9");
	conf_fail("logd:\n  debug: bogus@3\n",
	          "logd.debug: 'bogus@3': unknown debug subsystem; known: all, main, conf, tls");
	conf_fail("logd:\n  debug: \"12\"\n", "expected a level 0-9 or subsystem@level");
	conf_fail("logd:\n  iolog_path: ../escape/%{seq}\n",
	          "logd.iolog_path: '../escape/%{seq}': must not contain a '..' component");
	conf_fail("logd:\n  iolog_path: /abs/%{seq}\n",
	          "logd.iolog_path: '/abs/%{seq}': must be relative to logd.iolog_dir");
	conf_fail("logd:\n  iolog_path: a//b\n", "must not contain an empty component");
	conf_fail(
	    "policyd:\n  user: \"bad user\"\n",
	    "pbsh.yaml:2:9: policyd.user: \"bad user\": a user or group name has only letters");
	conf_fail("admins: [\"two words\"]\n",
	          "admins: \"two words\": no spaces or control characters allowed");
	conf_fail("admins: [\"\"]\n", "pbsh.yaml:1:10: admins: must not be empty");
	conf_fail("tls:\n  servername: \"bad/name\"\n",
	          "tls.servername: \"bad/name\": a host name has only letters");
	conf_fail("logd:\n  hostcheck: lax\n",
	          "pbsh.yaml:2:14: logd.hostcheck: 'lax': expected strict or record");
	conf_fail("logd:\n  iolog_mode: 04600\n",
	          "pbsh.yaml:2:15: logd.iolog_mode: 04600 is out of range (0000 to 0777)");
	conf_fail("max_frame: 2 MiB\n", "max_frame: expected a size such as 4096, 64k or 2MiB (no "
	                                "space before the unit), got '2 MiB'");
	conf_fail("timeouts: {request: 3 s}\n",
	          "timeouts.request: expected a duration such as 30s, 500ms, 2m or 1h30m (no space "
	          "before the unit), got '3 s'");
	conf_fail("policyd:listen: [a:1]\n", "pbsh.yaml:1:1: unknown setting 'policyd:listen' (a "
	                                     "space must follow the ':' of 'key: value')");
	{
		char many[300 * 12 + 32] = "admins: [";
		for (int k = 0; k < 257; k++)
			sprintf(many + strlen(many), "%sa%d", k ? ", " : "", k);
		strcat(many, "]\n");
		conf_fail(many, "pbsh.yaml:1:9: admins: 257 entries; at most 256 are allowed");
	}
	conf_fail("logd:\n  eventlog_rotate: 2TiB\n",
	          "logd.eventlog_rotate: 2TiB is out of range (0 to 1TiB)");
}

Test(conf, null_values)
{
	conf_fail(
	    "tls:\n  ca:\n",
	    "pbsh.yaml:2:6: tls.ca has no value: give one, or delete the line to leave it unset");
	conf_fail("timeouts:\n  connect: ~\n",
	          "timeouts.connect has no value: give one, or delete the line to use the default");
	conf_fail("admins:\n", "pbsh.yaml:1:8: admins has no value");
}

Test(conf, cross_checks)
{
	conf_fail("tls:\n  cert: /a.crt\n", "pbsh.yaml:2:9: tls.cert is set but tls.key is not: a "
	                                    "certificate needs its private key");
	conf_fail("tls:\n  key: /a.key\n", "pbsh.yaml:2:8: tls.key is set but tls.cert is not");
	conf_fail("tls:\n  plaintext_for_tests: true\npolicyservers: [\"10.0.0.1:7714\"]\n",
	          "pbsh.yaml:3:16: policyservers: 10.0.0.1:7714 is not a loopback address, and "
	          "tls.plaintext_for_tests is true");
	conf_fail("tls: {plaintext_for_tests: true}\npolicyd: {listen: [\"127.0.0.1:0\"]}\nlogd:\n "
	          " listen: [\"0.0.0.0:0\"]\n",
	          "logd.listen: 0.0.0.0:0 is not a loopback address");
	conf_fail(
	    "tls:\n  plaintext_for_tests: true\npolicyd: {listen: [\"127.0.0.1:0\"]}\n",
	    "pbsh.yaml:2:24: tls.plaintext_for_tests is true, but logd.listen is 0.0.0.0:30344 by "
	    "default, which is not loopback: set logd.listen to an address such as 127.0.0.1:0");
	struct pb_conf *c =
	    conf_ok("tls:\n  plaintext_for_tests: true\npolicyservers: [\"127.0.0.1:7714\", "
	            "\"[::1]:7714\", \"localhost:1\"]\n"
	            "policyd: {listen: [\"127.0.0.1:0\"]}\nlogd: {listen: [\"[::1]:0\"]}\n");
	cr_expect(pb_conf_bool(c, "tls.plaintext_for_tests"));
	pb_conf_free(c);
	conf_fail("policyd:\n  max_connections: 10\n  max_connections_per_peer: 11\n",
	          "pbsh.yaml:3:29: policyd.max_connections_per_peer (11) is more than "
	          "policyd.max_connections (10)");
	conf_fail("logd:\n  max_connections: 10\n", "pbsh.yaml:2:20: logd.max_connections_per_peer "
	                                            "(64) is more than logd.max_connections (10)");
	conf_fail("logd:\n  group: adm\n",
	          "pbsh.yaml:2:10: logd.group is set but logd.user is not");
}

Test(conf, log_destinations)
{
	struct pb_conf *c = conf_ok("policyd: {log: syslog}\nlogd: {log: /var/log/logd.log}\n");
	enum pb_log_dest dest;
	const char *path;
	pb_conf_log(c, "policyd.log", &dest, &path);
	cr_expect_eq(dest, PB_LOG_SYSLOG);
	cr_expect_null(path);
	cr_expect_str_eq(pb_conf_str(c, "policyd.log"), "syslog");
	pb_conf_log(c, "logd.log", &dest, &path);
	cr_expect_eq(dest, PB_LOG_FILE);
	cr_expect_str_eq(path, "/var/log/logd.log");
	pb_conf_free(c);
}

Test(conf, files_and_check, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	char path[128];
	struct pb_conf *c = NULL;
	struct pb_conf_err err;

	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	cr_expect_eq(pb_conf_load(path, &c, &err), PB_ERR_NOTFOUND);
	cr_expect_null(c);
	cr_expect(strstr(err.msg, "missing.yaml: No such file or directory") != NULL, "%s",
	          err.msg);
	cr_expect_eq(pb_conf_check("unit", path), 2);

	snprintf(path, sizeof(path), "%s/empty.yaml", tmpdir);
	write_file(path, "");
	cr_expect_eq(pb_conf_load(path, &c, &err), 0, "%s", err.msg);
	cr_expect_str_eq(pb_conf_file(c), path);
	cr_expect_eq(pb_conf_ms(c, "timeouts.connect"), 3000);
	pb_conf_free(c);
	cr_expect_eq(pb_conf_check("unit", path), 0);

	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	write_file(path, "timeouts:\n  connect: soon\n");
	cr_expect_eq(pb_conf_load(path, &c, &err), PB_ERR_CONF);
	char want[200];
	snprintf(want, sizeof(want), "%s:2:12: timeouts.connect: expected a duration", path);
	cr_expect(strncmp(err.msg, want, strlen(want)) == 0, "%s", err.msg);
	cr_expect_eq(pb_conf_check("unit", path), 2);

	/* A reload that fails leaves the caller's configuration alone: load returns a new one or
	 * nothing. */
	struct pb_conf *old = conf_ok("timeouts: {connect: 1s}\n");
	struct pb_conf *next = old;
	cr_expect_eq(pb_conf_load(path, &next, &err), PB_ERR_CONF);
	cr_expect_null(next);
	cr_expect_eq(pb_conf_ms(old, "timeouts.connect"), 1000);
	pb_conf_free(old);
}

Test(conf, untrusted_files, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	char path[128];
	struct pb_conf *c = NULL;
	struct pb_conf_err err;

	snprintf(path, sizeof(path), "%s/open.yaml", tmpdir);
	write_file(path, "");
	cr_assert_eq(chmod(path, 0666), 0);
	cr_expect_eq(pb_conf_load(path, &c, &err), PB_ERR_CONF);
	cr_expect_null(c);
	cr_expect(strstr(err.msg, "open.yaml: is writable by every user (mode 0666), so it is not "
	                          "trusted; chmod o-w it") != NULL,
	          "%s", err.msg);
	cr_assert_eq(chmod(path, 0664), 0);
	cr_expect_eq(pb_conf_load(path, &c, &err), 0, "group-writable is the admin's choice: %s",
	             err.msg);
	pb_conf_free(c);

	if (geteuid() == 0) {
		/* Privileged (effective group differs): a file owned by a user is refused, root's
		 * is read. */
		gid_t g = getegid();
		cr_assert_eq(chmod(path, 0644), 0);
		cr_assert_eq(chown(path, 65534, 65534), 0);
		cr_assert_eq(setegid(65534), 0);
		int rc = pb_conf_load(path, &c, &err);
		cr_assert_eq(setegid(g), 0);
		cr_expect_eq(rc, PB_ERR_CONF);
		cr_expect(strstr(err.msg,
		                 "is owned by uid 65534, not root, so it is not trusted in a "
		                 "set-user-ID or set-group-ID process") != NULL,
		          "%s", err.msg);
		cr_assert_eq(chown(path, 0, 0), 0);
		cr_assert_eq(setegid(65534), 0);
		rc = pb_conf_load(path, &c, &err);
		cr_assert_eq(setegid(g), 0);
		cr_expect_eq(rc, 0, "%s", err.msg);
		pb_conf_free(c);
	}
}

Test(conf, getter_unknown_key_aborts, .signal = SIGABRT)
{
	struct pb_conf *c = pb_conf_defaults();
	fclose(stderr); /* keep the expected complaint out of the test output */
	pb_conf_str(c, "policyd.lisen");
}

Test(conf, getter_wrong_type_aborts, .signal = SIGABRT)
{
	struct pb_conf *c = pb_conf_defaults();
	fclose(stderr);
	pb_conf_int(c, "timeouts.connect");
}

Test(conf, dump_reads_back)
{
	struct pb_conf *c = conf_ok(every_key);
	char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	FILE *f = open_memstream(&a, &al);
	pb_conf_dump(c, f);
	fclose(f);
	struct pb_conf *c2 = conf_ok(a);
	f = open_memstream(&b, &bl);
	pb_conf_dump(c2, f);
	fclose(f);
	/* Same settings, only the header line names another file. */
	cr_expect_str_eq(strchr(a, '\n'), strchr(b, '\n'));
	cr_expect(strstr(a, "  connect: 750ms\n") != NULL, "%s", a);
	cr_expect(strstr(a, "  iolog_mode: 0640\n") != NULL, "%s", a);
	cr_expect(strstr(a, "  log: \"file:/var/log/policyd.log\"\n") != NULL, "%s", a);
	pb_conf_free(c);
	pb_conf_free(c2);
	free(a);
	free(b);

	/* Values YAML would misread unquoted survive the round trip. */
	c = conf_ok("policyd: {log: \"file:/tmp/a: b #c\", audit: \"/tmp/x: y #z\"}\n"
	            "admins: [\"a#b\", \"[c]\"]\n");
	f = open_memstream(&a, &al);
	pb_conf_dump(c, f);
	fclose(f);
	c2 = conf_ok(a);
	cr_expect_str_eq(pb_conf_str(c2, "policyd.log"), "/tmp/a: b #c");
	cr_expect_str_eq(pb_conf_str(c2, "policyd.audit"), "/tmp/x: y #z");
	cr_expect_str_eq(pb_conf_list(c2, "admins", NULL)[1], "[c]");
	pb_conf_free(c);
	pb_conf_free(c2);
	free(a);

	/* Defaults dump with the unset keys as comments, and read back too. */
	c = pb_conf_defaults();
	f = open_memstream(&a, &al);
	pb_conf_dump(c, f);
	fclose(f);
	cr_expect(strstr(a, "  # ca: (unset)\n") != NULL, "%s", a);
	pb_conf_free(conf_ok(a));
	pb_conf_free(c);
	free(a);
}

Test(conf, schema_listing)
{
	char *a = NULL;
	size_t al = 0, n;
	FILE *f = open_memstream(&a, &al);
	pb_conf_print_schema(f);
	fclose(f);
	const struct pb_conf_keyinfo *ki = pb_conf_schema(&n);
	for (size_t i = 0; i < n; i++) {
		cr_expect(strstr(a, ki[i].key) != NULL, "%s missing from the listing", ki[i].key);
		for (size_t j = 0; j < i; j++)
			cr_expect_str_neq(ki[i].key, ki[j].key, "key listed twice");
	}
	free(a);
}

Test(conf, paths)
{
	const char *es = NULL;
	cr_expect_str_eq(pb_conf_default_path(), PB_SYSCONFDIR "/pbsh.yaml");
	cr_expect(pb_conf_path_allowed(NULL, &es));
	if (getuid() == geteuid() && getgid() == getegid())
		cr_expect(pb_conf_path_allowed("/tmp/test.yaml", &es), "%s", es);
	if (geteuid() == 0) {
		/* Privilege beyond the real user's: a different effective group. */
		gid_t g = getegid();
		cr_assert_eq(setegid(65534), 0);
		cr_expect(!pb_conf_path_allowed("/tmp/test.yaml", &es));
		cr_expect(strstr(es, "set-user-ID or set-group-ID") != NULL, "%s", es);
		cr_expect(strstr(es, PB_SYSCONFDIR "/pbsh.yaml") != NULL, "%s", es);
		cr_expect(pb_conf_path_allowed(NULL, &es), "the default path is always allowed");
		cr_expect(pb_conf_path_allowed(pb_conf_default_path(), &es));
		cr_assert_eq(setegid(g), 0);
	}
}

/* ---------------------------------------------------------------- documentation */

static char *src_file(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", PB_SRC_DIR, rel);
	return slurp(path);
}

Test(docs, sample_config_loads)
{
	char path[1024];
	struct pb_conf *c = NULL;
	struct pb_conf_err err;
	snprintf(path, sizeof(path), "%s/conf/pbsh.yaml", PB_SRC_DIR);
	cr_assert_eq(pb_conf_load(path, &c, &err), 0, "%s", err.msg);
	pb_conf_free(c);
}

/*
 * Every key appears in the sample, set or commented out: a top-level key as
 * "key:" or "# key:" at the start of a line, a section's key as " key:"
 * between its "section:" line and the next top-level line.
 */
Test(docs, sample_names_every_key)
{
	char *text = src_file("conf/pbsh.yaml");
	size_t n;
	const struct pb_conf_keyinfo *ki = pb_conf_schema(&n);
	for (size_t i = 0; i < n; i++) {
		const char *dot = strchr(ki[i].key, '.');
		char want[128];
		if (dot == NULL) {
			char alt[128];
			snprintf(want, sizeof(want), "\n%s:", ki[i].key);
			snprintf(alt, sizeof(alt), "\n# %s:", ki[i].key);
			cr_expect(strstr(text, want) != NULL || strstr(text, alt) != NULL,
			          "conf/pbsh.yaml does not show %s", ki[i].key);
			continue;
		}
		snprintf(want, sizeof(want), "\n%.*s:\n", (int)(dot - ki[i].key), ki[i].key);
		const char *from = strstr(text, want);
		cr_expect_not_null(from, "section of %s not in conf/pbsh.yaml", ki[i].key);
		if (from == NULL)
			continue;
		from += strlen(want);
		const char *end = from;
		while (*end != '\0' && !(end[0] == '\n' && end[1] != ' ' && end[1] != '\n'))
			end++;
		snprintf(want, sizeof(want), " %s:", dot + 1);
		const char *at = strstr(from, want);
		cr_expect(at != NULL && at < end, "conf/pbsh.yaml does not show %s in its section",
		          ki[i].key);
	}
	free(text);
}

/* Every key has an entry in the manual: ".TP", then ".B key". */
Test(docs, manual_documents_every_key)
{
	char *text = src_file("man/pbsh.yaml.5");
	size_t n;
	const struct pb_conf_keyinfo *ki = pb_conf_schema(&n);
	for (size_t i = 0; i < n; i++) {
		char want[160];
		snprintf(want, sizeof(want), "\n.TP\n.B %s\n", ki[i].key);
		cr_expect(strstr(text, want) != NULL, "man/pbsh.yaml.5 has no '.TP/.B %s' entry",
		          ki[i].key);
	}
	free(text);
}

/* Each manual entry names the key's type and its default as the table has them. */
Test(docs, manual_types_and_defaults)
{
	char *text = src_file("man/pbsh.yaml.5");
	size_t n;
	const struct pb_conf_keyinfo *ki = pb_conf_schema(&n);

	/* Read "\-" as "-" so the entries compare with the table's text. */
	for (char *r = text, *w = text;; r++) {
		if (r[0] == '\\' && r[1] == '-')
			r++;
		*w++ = *r;
		if (*r == '\0')
			break;
	}
	for (size_t i = 0; i < n; i++) {
		char want[160];
		snprintf(want, sizeof(want), "\n.TP\n.B %s\n", ki[i].key);
		char *at = strstr(text, want);
		if (at == NULL)
			continue; /* reported by manual_documents_every_key */
		at += strlen(want);
		char *end = at;
		while (*end != '\0' && strncmp(end, "\n.TP\n", 5) != 0 &&
		       strncmp(end, "\n.SS ", 5) != 0 && strncmp(end, "\n.SH ", 5) != 0)
			end++;
		char save = *end;
		*end = '\0';
		cr_expect(strstr(at, ki[i].type) != NULL,
		          "man entry of %s does not say its type (%s)", ki[i].key, ki[i].type);
		if (ki[i].def == NULL) {
			cr_expect(strstr(at, "default: unset") != NULL ||
			              strstr(at, "default: none") != NULL,
			          "man entry of %s does not say it is unset by default", ki[i].key);
		} else {
			const char *d = ki[i].def, *dir = NULL;
			if (strncmp(d, PB_LOCALSTATEDIR "/", strlen(PB_LOCALSTATEDIR) + 1) == 0) {
				dir = "localstatedir";
				d += strlen(PB_LOCALSTATEDIR);
			} else if (strncmp(d, PB_SYSCONFDIR "/", strlen(PB_SYSCONFDIR) + 1) == 0) {
				dir = "sysconfdir";
				d += strlen(PB_SYSCONFDIR);
			}
			cr_expect(strstr(at, "default:") != NULL,
			          "man entry of %s lacks 'default:'", ki[i].key);
			const char *dp = strstr(at, "default:");
			cr_expect(dp != NULL && strstr(dp, d) != NULL &&
			              (dir == NULL || strstr(dp, dir) != NULL),
			          "man entry of %s does not give its default %s%s", ki[i].key,
			          dir ? dir : "", d);
		}
		*end = save;
	}
	free(text);
}

/* ---------------------------------------------------------- tools' settings */

Test(conf, load_optional, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	struct pb_conf *c = NULL;
	struct pb_conf_err err;
	char path[128], missing[128];

	/* A named file must exist and be valid: no silent fallback to defaults. */
	snprintf(missing, sizeof(missing), "%s/none.yaml", tmpdir);
	cr_expect_eq(pb_conf_load_optional(missing, &c, &err), PB_ERR_NOTFOUND);
	cr_expect_null(c);
	snprintf(path, sizeof(path), "%s/pbsh.yaml", tmpdir);
	write_file(path, "logd:\n  iolog_dir: /srv/io\n");
	chmod(path, 0600);
	cr_assert_eq(pb_conf_load_optional(path, &c, &err), 0, "%s", err.msg);
	cr_expect_str_eq(pb_conf_str(c, "logd.iolog_dir"), "/srv/io");
	pb_conf_free(c);
	write_file(path, "logd:\n  iolog_dir: relative\n");
	cr_expect_eq(pb_conf_load_optional(path, &c, &err), PB_ERR_CONF);
	cr_expect_null(c);

	/* No override: the default file, or the defaults when it does not exist. */
	int rc = pb_conf_load_optional(NULL, &c, &err);
	if (access(pb_conf_default_path(), F_OK) != 0) {
		cr_assert_eq(rc, 0, "%s", err.msg);
		cr_expect(!pb_conf_is_set(c, "logd.iolog_dir"), "defaults only");
		cr_expect_not_null(pb_conf_str(c, "logd.iolog_dir"));
	}
	pb_conf_free(c);
}
