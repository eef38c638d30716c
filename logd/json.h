/* SPDX-License-Identifier: ISC */
/* A growable JSON writer and a small JSON reader, for the event log, log.json and the tools that read them. */
#ifndef LOGD_JSON_H
#define LOGD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Writer: a malloc'd buffer that grows; a failed allocation sets `oom` and
 * later appends do nothing, so callers check once at the end.
 */
struct jbuf {
	char *s;
	size_t len, cap;
	bool oom;
	bool need_comma;	/* inside an object/array after a member */
};

/* jbuf_reset: empty the buffer (keeps the allocation). */
void jbuf_reset(struct jbuf *b);
/* jbuf_free: release the buffer; the struct may be reused after. */
void jbuf_free(struct jbuf *b);
/* jbuf_raw: append n bytes as they are. */
void jbuf_raw(struct jbuf *b, const char *s, size_t n);
/* jbuf_str: append a JSON string literal for n bytes of s (escaped; invalid UTF-8 bytes become \u00XX). */
void jbuf_str(struct jbuf *b, const char *s, size_t n);
/* Object/array structure; keys are escaped. */
void jbuf_open(struct jbuf *b, char c);		/* '{' or '[' */
void jbuf_close(struct jbuf *b, char c);	/* '}' or ']' */
void jbuf_key(struct jbuf *b, const char *key);
void jbuf_kstr(struct jbuf *b, const char *key, const char *val);
void jbuf_kint(struct jbuf *b, const char *key, int64_t v);
void jbuf_kbool(struct jbuf *b, const char *key, bool v);
/* jbuf_vstr/jbuf_vint: an array element. */
void jbuf_vstr(struct jbuf *b, const char *val);
void jbuf_vint(struct jbuf *b, int64_t v);
/* jbuf_ktime: "key": {"seconds": s, "nanoseconds": ns} as sudo writes times. */
void jbuf_ktime(struct jbuf *b, const char *key, int64_t sec, int32_t nsec);

struct jval;

/*
 * json_pretty_members: write the members of object v one per line in
 * sudo's log.json layout ("    \"key\": value", nested values indented by
 * four more spaces each level, ",\n" between members, no outer braces and
 * no final newline). sudoreplay's parser needs this whitespace.
 */
void json_pretty_members(struct jbuf *b, const struct jval *v);

/* Reader: a parsed value tree; strings are NUL-terminated copies (an embedded NUL ends them). */
enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	bool b;
	double num;
	int64_t inum;	/* num as an integer when it was written without fraction or exponent */
	char *str;
	size_t n;	/* members of an array or object */
	struct jval *items;	/* array elements or object values */
	char **keys;	/* object keys */
};

/*
 * json_parse: parse exactly one JSON value from s[0..len) (whitespace
 * around it allowed). Nesting is limited to 64 levels. Returns a malloc'd
 * tree (free with json_free) or NULL with *errstr (static) and *erroff.
 */
struct jval *json_parse(const char *s, size_t len, const char **errstr, size_t *erroff);
/* json_free: free a tree from json_parse; NULL is accepted. */
void json_free(struct jval *v);
/* json_get: the member key of an object, or NULL (also when v is not an object). */
const struct jval *json_get(const struct jval *v, const char *key);
/* json_str: the string of member key, or NULL when missing or not a string. */
const char *json_str(const struct jval *v, const char *key);
/* json_int: the integer of member key, or dflt. */
int64_t json_int(const struct jval *v, const char *key, int64_t dflt);

#endif
