/* SPDX-License-Identifier: ISC */
/* Fuzz harness: arbitrary bytes through the YAML layer, all conversions, the pbsh.yaml loader. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned walk(const struct pb_yaml_node *n, unsigned depth)
{
	struct pb_conf_err err;
	unsigned count = 1;
	bool b;
	long long i;
	int64_t ms;
	uint64_t sz;
	mode_t m;
	const char *s;

	/* Invariants every consumer relies on. */
	if (n == NULL || n->file == NULL || n->line < 1 || n->col < 1 || n->str == NULL ||
	    depth > PB_YAML_MAX_DEPTH)
		abort();
	(void)pb_yaml_describe(n);
	switch (n->type) {
	case PB_YAML_SCALAR:
		if (strlen(n->str) != n->len)
			abort();
		(void)pb_yaml_str(n, "x", &s, &err);
		(void)pb_yaml_bool(n, "x", &b, &err);
		(void)pb_yaml_int(n, "x", -5, 5, &i, &err);
		(void)pb_yaml_duration(n, NULL, &ms, &err);
		(void)pb_yaml_size(n, NULL, &sz, &err);
		(void)pb_yaml_mode(n, NULL, &m, &err);
		break;
	case PB_YAML_SEQUENCE:
		for (size_t k = 0; k < n->n; k++)
			count += walk(n->items[k], depth + 1);
		break;
	case PB_YAML_MAPPING: {
		static const char *const allowed[] = {"name", "when", "set", "accept", NULL};
		(void)pb_yaml_map_check_keys(n, "fuzz", allowed, &err);
		for (size_t k = 0; k < n->n; k++) {
			if (n->pairs[k].key->type != PB_YAML_SCALAR)
				abort();
			if (pb_yaml_map_get(n, n->pairs[k].key->str) == NULL)
				abort();
			count += walk(n->pairs[k].key, depth + 1);
			count += walk(n->pairs[k].value, depth + 1);
		}
		break;
	}
	default:
		abort();
	}
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_yaml_doc *doc = NULL;
	struct pb_conf *c = NULL;
	struct pb_conf_err err;

	if (pb_yaml_load_buf("fuzz.yaml", data, size, &doc, &err) == 0) {
		if (pb_yaml_doc_root(doc) != NULL)
			walk(pb_yaml_doc_root(doc), 0);
		pb_yaml_doc_free(doc);
	} else if (doc != NULL || memchr(err.msg, '\0', sizeof(err.msg)) == NULL) {
		abort();
	}

	if (pb_conf_load_buf("fuzz.yaml", data, size, &c, &err) == 0) {
		/* An accepted configuration dumps to text that loads back to the same dump. */
		char *a = NULL, *b = NULL;
		size_t al = 0, bl = 0;
		struct pb_conf *c2 = NULL;
		FILE *f = open_memstream(&a, &al);
		if (f == NULL)
			abort();
		pb_conf_dump(c, f);
		fclose(f);
		if (pb_conf_load_buf("dump.yaml", a, al, &c2, &err) != 0) {
			fprintf(stderr, "dump does not load back: %s\n%s", err.msg, a);
			abort();
		}
		f = open_memstream(&b, &bl);
		if (f == NULL)
			abort();
		pb_conf_dump(c2, f);
		fclose(f);
		if (strcmp(strchr(a, '\n'), strchr(b, '\n')) != 0)
			abort();
		free(a);
		free(b);
		pb_conf_free(c2);
		pb_conf_free(c);
	} else if (c != NULL) {
		abort();
	}
	return 0;
}
