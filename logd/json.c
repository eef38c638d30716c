/* SPDX-License-Identifier: ISC */
/* A growable JSON writer and a small recursive-descent JSON reader (no dependencies beyond libc). */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

static void grow(struct jbuf *b, size_t need)
{
	if (b->oom)
		return;
	if (b->len + need + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + need + 1) {
		if (cap > SIZE_MAX / 2) {
			b->oom = true;
			return;
		}
		cap *= 2;
	}
	char *ns = realloc(b->s, cap);
	if (ns == NULL) {
		b->oom = true;
		return;
	}
	b->s = ns;
	b->cap = cap;
}

void jbuf_reset(struct jbuf *b)
{
	b->len = 0;
	b->oom = false;
	b->need_comma = false;
	if (b->s != NULL)
		b->s[0] = '\0';
}

void jbuf_free(struct jbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

void jbuf_raw(struct jbuf *b, const char *s, size_t n)
{
	grow(b, n);
	if (b->oom)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void rawc(struct jbuf *b, char c)
{
	jbuf_raw(b, &c, 1);
}

/* utf8_len: length of a valid UTF-8 sequence at s (max n bytes), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		min = 0x80;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		min = 0x800;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		min = 0x10000;
		c &= 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

void jbuf_str(struct jbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];
	rawc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jbuf_raw(b, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			const char *e = NULL;
			switch (c) {
			case '\n': e = "\\n"; break;
			case '\t': e = "\\t"; break;
			case '\r': e = "\\r"; break;
			default: break;
			}
			if (e != NULL) {
				jbuf_raw(b, e, 2);
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				jbuf_raw(b, esc, 6);
			}
			i++;
		} else if (c < 0x80) {
			rawc(b, (char)c);
			i++;
		} else {
			size_t l = utf8_len(p + i, n - i);
			if (l == 0) {
				/* Not UTF-8: keep the byte visible rather than produce invalid JSON. */
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				jbuf_raw(b, esc, 6);
				i++;
			} else {
				jbuf_raw(b, (const char *)p + i, l);
				i += l;
			}
		}
	}
	rawc(b, '"');
}

static void sep(struct jbuf *b)
{
	if (b->need_comma)
		rawc(b, ',');
	b->need_comma = true;
}

void jbuf_open(struct jbuf *b, char c)
{
	rawc(b, c);
	b->need_comma = false;
}

void jbuf_close(struct jbuf *b, char c)
{
	rawc(b, c);
	b->need_comma = true;
}

void jbuf_key(struct jbuf *b, const char *key)
{
	sep(b);
	jbuf_str(b, key, strlen(key));
	rawc(b, ':');
	b->need_comma = false;
}

void jbuf_kstr(struct jbuf *b, const char *key, const char *val)
{
	jbuf_key(b, key);
	jbuf_str(b, val, strlen(val));
	b->need_comma = true;
}

void jbuf_kint(struct jbuf *b, const char *key, int64_t v)
{
	char num[32];
	jbuf_key(b, key);
	int n = snprintf(num, sizeof(num), "%" PRId64, v);
	jbuf_raw(b, num, (size_t)n);
	b->need_comma = true;
}

void jbuf_kbool(struct jbuf *b, const char *key, bool v)
{
	jbuf_key(b, key);
	if (v)
		jbuf_raw(b, "true", 4);
	else
		jbuf_raw(b, "false", 5);
	b->need_comma = true;
}

void jbuf_vstr(struct jbuf *b, const char *val)
{
	sep(b);
	jbuf_str(b, val, strlen(val));
}

void jbuf_vint(struct jbuf *b, int64_t v)
{
	char num[32];
	sep(b);
	int n = snprintf(num, sizeof(num), "%" PRId64, v);
	jbuf_raw(b, num, (size_t)n);
}

void jbuf_ktime(struct jbuf *b, const char *key, int64_t sec, int32_t nsec)
{
	jbuf_key(b, key);
	jbuf_open(b, '{');
	jbuf_kint(b, "seconds", sec);
	jbuf_kint(b, "nanoseconds", nsec);
	jbuf_close(b, '}');
}

/* ---- reader ---- */

struct parser {
	const char *s;
	size_t len, pos;
	const char *err;
};

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static void free_val(struct jval *v)
{
	free(v->str);
	for (size_t i = 0; i < v->n; i++) {
		free_val(&v->items[i]);
		if (v->keys != NULL)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool put_utf8(struct jbuf *out, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	jbuf_raw(out, u, n);
	return !out->oom;
}

static char *parse_string(struct parser *p)
{
	struct jbuf out = {0};
	p->pos++; /* opening quote */
	jbuf_raw(&out, "", 0);
	while (p->pos < p->len) {
		char c = p->s[p->pos++];
		if (c == '"') {
			if (out.oom) {
				p->err = "out of memory";
				jbuf_free(&out);
				return NULL;
			}
			return out.s;
		}
		if ((unsigned char)c < 0x20) {
			p->err = "control character in string";
			break;
		}
		if (c != '\\') {
			jbuf_raw(&out, &c, 1);
			continue;
		}
		if (p->pos >= p->len)
			break;
		c = p->s[p->pos++];
		switch (c) {
		case '"': case '\\': case '/':
			jbuf_raw(&out, &c, 1);
			break;
		case 'n': jbuf_raw(&out, "\n", 1); break;
		case 't': jbuf_raw(&out, "\t", 1); break;
		case 'r': jbuf_raw(&out, "\r", 1); break;
		case 'b': jbuf_raw(&out, "\b", 1); break;
		case 'f': jbuf_raw(&out, "\f", 1); break;
		case 'u': {
			if (p->len - p->pos < 4) {
				p->err = "short \\u escape";
				goto fail;
			}
			unsigned cp = 0;
			for (int i = 0; i < 4; i++) {
				int h = hexval(p->s[p->pos++]);
				if (h < 0) {
					p->err = "bad \\u escape";
					goto fail;
				}
				cp = cp * 16 + (unsigned)h;
			}
			if (cp >= 0xd800 && cp <= 0xdbff && p->len - p->pos >= 6 &&
			    p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
				unsigned lo = 0;
				bool ok = true;
				for (int i = 0; i < 4; i++) {
					int h = hexval(p->s[p->pos + 2 + (size_t)i]);
					if (h < 0)
						ok = false;
					else
						lo = lo * 16 + (unsigned)h;
				}
				if (ok && lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					p->pos += 6;
				}
			}
			put_utf8(&out, cp);
			break;
		}
		default:
			p->err = "bad escape";
			goto fail;
		}
	}
	if (p->err == NULL)
		p->err = "unterminated string";
fail:
	jbuf_free(&out);
	return NULL;
}

static bool parse_value(struct parser *p, struct jval *v, int depth);

static bool append_item(struct parser *p, struct jval *v, size_t *cap, char *key)
{
	if (v->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		struct jval *ni = realloc(v->items, nc * sizeof(*ni));
		if (ni == NULL) {
			p->err = "out of memory";
			free(key);
			return false;
		}
		v->items = ni;
		if (v->type == J_OBJ) {
			char **nk = realloc(v->keys, nc * sizeof(*nk));
			if (nk == NULL) {
				p->err = "out of memory";
				free(key);
				return false;
			}
			v->keys = nk;
		}
		*cap = nc;
	}
	memset(&v->items[v->n], 0, sizeof(v->items[0]));
	if (v->type == J_OBJ)
		v->keys[v->n] = key;
	v->n++;
	return true;
}

static bool parse_container(struct parser *p, struct jval *v, int depth)
{
	char close = v->type == J_OBJ ? '}' : ']';
	size_t cap = 0;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return true;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(p);
		if (v->type == J_OBJ) {
			if (p->pos >= p->len || p->s[p->pos] != '"') {
				p->err = "expected a key";
				return false;
			}
			key = parse_string(p);
			if (key == NULL)
				return false;
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				free(key);
				p->err = "expected ':'";
				return false;
			}
			p->pos++;
		}
		if (!append_item(p, v, &cap, key))
			return false;
		if (!parse_value(p, &v->items[v->n - 1], depth + 1))
			return false;
		skip_ws(p);
		if (p->pos >= p->len) {
			p->err = "unterminated container";
			return false;
		}
		char c = p->s[p->pos++];
		if (c == close)
			return true;
		if (c != ',') {
			p->err = "expected ',' or end of container";
			return false;
		}
	}
}

static bool parse_number(struct parser *p, struct jval *v)
{
	size_t start = p->pos;
	bool integral = true;
	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	size_t digits = p->pos;
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c >= '0' && c <= '9') {
			p->pos++;
		} else if (c == '.' || c == 'e' || c == 'E' || c == '+' || (c == '-' && p->pos > start)) {
			integral = false;
			p->pos++;
		} else {
			break;
		}
	}
	if (p->pos == digits || p->pos - start > 64) {
		p->err = "bad number";
		return false;
	}
	char tmp[72];
	memcpy(tmp, p->s + start, p->pos - start);
	tmp[p->pos - start] = '\0';
	char *end;
	v->type = J_NUM;
	v->num = strtod(tmp, &end);
	if (*end != '\0' || !isfinite(v->num)) {
		p->err = "bad number";
		return false;
	}
	if (integral) {
		v->inum = strtoll(tmp, &end, 10);
	} else {
		v->inum = (v->num > -9.2e18 && v->num < 9.2e18) ? (int64_t)v->num : 0;
	}
	return true;
}

static bool parse_value(struct parser *p, struct jval *v, int depth)
{
	if (depth > JSON_MAX_DEPTH) {
		p->err = "nesting too deep";
		return false;
	}
	skip_ws(p);
	if (p->pos >= p->len) {
		p->err = "unexpected end";
		return false;
	}
	char c = p->s[p->pos];
	switch (c) {
	case '{':
		v->type = J_OBJ;
		return parse_container(p, v, depth);
	case '[':
		v->type = J_ARR;
		return parse_container(p, v, depth);
	case '"':
		v->type = J_STR;
		v->str = parse_string(p);
		return v->str != NULL;
	case 't':
		if (p->len - p->pos >= 4 && memcmp(p->s + p->pos, "true", 4) == 0) {
			v->type = J_BOOL;
			v->b = true;
			p->pos += 4;
			return true;
		}
		break;
	case 'f':
		if (p->len - p->pos >= 5 && memcmp(p->s + p->pos, "false", 5) == 0) {
			v->type = J_BOOL;
			p->pos += 5;
			return true;
		}
		break;
	case 'n':
		if (p->len - p->pos >= 4 && memcmp(p->s + p->pos, "null", 4) == 0) {
			v->type = J_NULL;
			p->pos += 4;
			return true;
		}
		break;
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p, v);
		break;
	}
	p->err = "unexpected character";
	return false;
}

struct jval *json_parse(const char *s, size_t len, const char **errstr, size_t *erroff)
{
	struct parser p = {.s = s, .len = len};
	struct jval *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		*errstr = "out of memory";
		*erroff = 0;
		return NULL;
	}
	if (parse_value(&p, v, 0)) {
		skip_ws(&p);
		if (p.pos == p.len)
			return v;
		p.err = "trailing characters";
	}
	*errstr = p.err;
	*erroff = p.pos;
	json_free(v);
	return NULL;
}

void json_free(struct jval *v)
{
	if (v == NULL)
		return;
	free_val(v);
	free(v);
}

const struct jval *json_get(const struct jval *v, const char *key)
{
	if (v == NULL || v->type != J_OBJ)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->keys[i], key) == 0)
			return &v->items[i];
	return NULL;
}

const char *json_str(const struct jval *v, const char *key)
{
	const struct jval *m = json_get(v, key);
	return m != NULL && m->type == J_STR ? m->str : NULL;
}

int64_t json_int(const struct jval *v, const char *key, int64_t dflt)
{
	const struct jval *m = json_get(v, key);
	return m != NULL && m->type == J_NUM ? m->inum : dflt;
}

static void indent(struct jbuf *b, int level)
{
	static const char sp[] = "                                                                ";
	size_t n = (size_t)level * 4;
	while (n > 0) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;
		jbuf_raw(b, sp, k);
		n -= k;
	}
}

static void pretty_value(struct jbuf *b, const struct jval *v, int level)
{
	char num[40];
	int l;
	switch (v->type) {
	case J_NULL:
		jbuf_raw(b, "null", 4);
		break;
	case J_BOOL:
		if (v->b)
			jbuf_raw(b, "true", 4);
		else
			jbuf_raw(b, "false", 5);
		break;
	case J_NUM:
		if ((double)v->inum == v->num)
			l = snprintf(num, sizeof(num), "%" PRId64, v->inum);
		else
			l = snprintf(num, sizeof(num), "%.17g", v->num);
		jbuf_raw(b, num, (size_t)l);
		break;
	case J_STR:
		jbuf_str(b, v->str, strlen(v->str));
		break;
	case J_ARR:
	case J_OBJ:
		jbuf_raw(b, v->type == J_ARR ? "[" : "{", 1);
		for (size_t i = 0; i < v->n; i++) {
			jbuf_raw(b, i ? ",\n" : "\n", i ? 2 : 1);
			indent(b, level + 1);
			if (v->type == J_OBJ) {
				jbuf_str(b, v->keys[i], strlen(v->keys[i]));
				jbuf_raw(b, ": ", 2);
			}
			pretty_value(b, &v->items[i], level + 1);
		}
		if (v->n > 0) {
			jbuf_raw(b, "\n", 1);
			indent(b, level);
		}
		jbuf_raw(b, v->type == J_ARR ? "]" : "}", 1);
		break;
	}
}

void json_pretty_members(struct jbuf *b, const struct jval *v)
{
	if (v == NULL || v->type != J_OBJ)
		return;
	for (size_t i = 0; i < v->n; i++) {
		if (i > 0)
			jbuf_raw(b, ",\n", 2);
		indent(b, 1);
		jbuf_str(b, v->keys[i], strlen(v->keys[i]));
		jbuf_raw(b, ": ", 2);
		pretty_value(b, &v->items[i], 1);
	}
}
