/* SPDX-License-Identifier: ISC */
/* Fuzz harness: the I/O log reader pbreplay uses (timing lines), the JSON reader (log.json, events) and log id checks. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iolog.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool stays_beneath(const char *id)
{
	if (id[0] == '/')
		return false;
	for (const char *c = id; *c != '\0';) {
		size_t n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.') || n == 0)
			return false;
		c += n;
		if (*c == '/')
			c++;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iolog_reader *r;
	struct iolog_rec rec;
	const char *errstr;
	unsigned lineno;
	char out[IOLOG_NSTREAMS * 64];
	if (iolog_reader_mem((const char *)data, size, &r) == 0) {
		int rc;
		while ((rc = iolog_reader_next(r, &rec, &errstr, &lineno)) != 0) {
			if (rc < 0)
				continue; /* pbreplay stops at a bad line; keep parsing to cover more */
			char line[96];
			size_t n = iolog_format_timing(&rec, line, sizeof(line));
			struct iolog_rec back;
			/* Whatever parses must format and parse back to the same record. */
			if (n > 0 && iolog_parse_timing(line, n - 1, &back, &errstr) == 0 &&
			    (back.type != rec.type || back.len != rec.len || back.delay.tv_sec != rec.delay.tv_sec ||
			     back.delay.tv_nsec != rec.delay.tv_nsec))
				abort();
			if (iolog_stream_name(rec.type) != NULL && rec.len <= sizeof(out))
				(void)iolog_reader_data(r, &rec, out);
		}
		iolog_reader_close(r);
	}
	size_t off;
	struct jval *v = json_parse((const char *)data, size, &errstr, &off);
	if (v != NULL) {
		struct jbuf b = {0};
		json_pretty_members(&b, v);
		(void)json_str(v, "submituser");
		(void)json_int(json_get(v, "timestamp"), "seconds", 0);
		jbuf_free(&b);
		json_free(v);
	}
	char *s = malloc(size + 1);
	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
		/* A valid id never climbs out: no leading '/', no "." or ".." component. */
		if (iolog_id_valid(s) && !stays_beneath(s))
			abort();
		char id[IOLOG_ID_MAX + 1];
		struct iolog_vars vars = {.user = s, .host = "h", .command = s, .seq = size, .when = 1};
		if (iolog_expand_path(s, &vars, id, sizeof(id), &errstr) == 0 && !iolog_id_valid(id))
			abort();
		if (iolog_expand_path("%u/%c/%{seq}", &vars, id, sizeof(id), &errstr) == 0 && !iolog_id_valid(id))
			abort();
		free(s);
	}
	return 0;
}
