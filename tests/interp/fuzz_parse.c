/* SPDX-License-Identifier: ISC */
/* Fuzz harness: any input parses or fails cleanly, and what parses prints back to an equal tree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "arena.h"
#include "error.h"
#include "input.h"
#include "node.h"
#include "parse.h"
#include "tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static union node *try_parse(const char *text, int *status)
{
	struct sh_jmp j;
	*status = 0;
	sh_push(&j);
	if (setjmp(j.jb) != 0) {
		*status = j.status;
		return NULL;
	}
	union node *t = parse_string(text, "fuzz", 1, 0);
	sh_pop(&j);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		init = true;
		alias_set("ll", "ls -l ", 0);
		alias_set("loop", "loop", 0);
		alias_set("begin", "if true; then ", 0);
	}
	struct arena_mark m;
	arena_mark(&m);
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* Syntax errors are expected: their messages go to /dev/null. */
	FILE *saved = stderr;
	FILE *null = fopen("/dev/null", "w");
	if (null != NULL)
		stderr = null;
	int st;
	union node *t = try_parse(text, &st);
	if (st == 0 && t != NULL) {
		for (int flags = 0; flags <= TREE_ONELINE; flags += TREE_ONELINE) {
			char *s = tree_text(t, flags);
			int st2;
			union node *t2 = try_parse(s, &st2);
			if (st2 != 0 || !node_equal(t, t2)) {
				stderr = saved;
				fprintf(stderr, "round trip failed (status %d)\ninput:\n%s\nprinted:\n%s\n",
					st2, text, s);
				abort();
			}
			free(s);
		}
		union node *c = node_copy(t);
		if (!node_equal(t, c))
			abort();
		node_free(c);
	}
	if (null != NULL) {
		stderr = saved;
		fclose(null);
	}
	free(text);
	arena_reset(&m);
	return 0;
}
