/* SPDX-License-Identifier: ISC */
/* Configuration, YAML half: the document tree with file:line:col on every node and its checked conversions. */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/auxv.h>
#endif

#include <yaml.h>

#include "err.h"
#include "conf_int.h"

/* ===========================================================================
 * Memory: every node and string of a document (or configuration) lives in
 * one arena, so a loader that fails half-way frees everything with one call.
 * ======================================================================== */

static void *arena_alloc(struct arena *a, size_t n)
{
	const size_t al = alignof(max_align_t);
	struct chunk *c;

	if (n > SIZE_MAX - al)
		return NULL;
	n = n == 0 ? al : (n + al - 1) & ~(al - 1);
	c = a->head;
	if (c == NULL || c->cap - c->used < n) {
		/* Big blocks get a chunk of their own behind the current one, so
		   the free space of the current chunk is not thrown away. */
		size_t cap = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
		struct chunk *nc = malloc(sizeof(*nc) + cap);
		if (nc == NULL)
			return NULL;
		nc->cap = cap;
		nc->used = 0;
		if (c != NULL && n > ARENA_CHUNK / 4) {
			nc->next = c->next;
			c->next = nc;
		} else {
			nc->next = c;
			a->head = nc;
		}
		c = nc;
	}
	void *p = (unsigned char *)c->data + c->used;
	c->used += n;
	return p;
}

void *conf_arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	if (p != NULL)
		memset(p, 0, n);
	return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *conf_arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void conf_arena_free(struct arena *a)
{
	struct chunk *c = a->head;
	while (c != NULL) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}

/* ===========================================================================
 * Error messages
 * ======================================================================== */

static int verr(struct pb_conf_err *err, int rc, const char *file, unsigned line, unsigned col,
                const char *fmt, va_list ap)
{
	if (err == NULL)
		return rc;
	size_t off = 0;
	if (file != NULL && line > 0)
		off = (size_t)snprintf(err->msg, sizeof(err->msg), "%s:%u:%u: ", file, line, col);
	else if (file != NULL)
		off = (size_t)snprintf(err->msg, sizeof(err->msg), "%s: ", file);
	if (off >= sizeof(err->msg))
		off = sizeof(err->msg) - 1;
	vsnprintf(err->msg + off, sizeof(err->msg) - off, fmt, ap);
	return rc;
}

int conf_errat(struct pb_conf_err *err, int rc,
                                                       const char *file, unsigned line,
                                                       unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(err, rc, file, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

int conf_errnode(struct pb_conf_err *err, int rc, const struct pb_yaml_node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (n != NULL)
		verr(err, rc, n->file, n->line, n->col, fmt, ap);
	else
		verr(err, rc, NULL, 0, 0, fmt, ap);
	va_end(ap);
	return rc;
}

int pb_yaml_errf(struct pb_conf_err *err, const struct pb_yaml_node *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (n != NULL)
		verr(err, PB_ERR_CONF, n->file, n->line, n->col, fmt, ap);
	else
		verr(err, PB_ERR_CONF, NULL, 0, 0, fmt, ap);
	va_end(ap);
	return PB_ERR_CONF;
}

/*
 * Quote user text for a message: about max bytes shown (never half a UTF-8
 * character), control bytes escaped so a hostile file cannot drive the
 * terminal, "..." when cut short.
 */
void conf_quote_text(char *out, size_t outlen, const char *s, size_t len, size_t max, char q)
{
	size_t o = 0, i = 0;
	if (outlen < 8)
		return;
	out[o++] = q;
	for (; i < len && (i < max || ((unsigned char)s[i] & 0xc0) == 0x80); i++) {
		unsigned char ch = (unsigned char)s[i];
		if (o + 8 >= outlen)
			break;
		if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
		} else if (ch == (unsigned char)q || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else {
			out[o++] = (char)ch;
		}
	}
	if (i < len && o + 5 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = q;
	out[o] = '\0';
}

const char *pb_yaml_describe(const struct pb_yaml_node *n)
{
	static _Thread_local char buf[128];

	if (n == NULL || pb_yaml_is_null(n))
		return "nothing";
	switch (n->type) {
	case PB_YAML_MAPPING:
		return "a mapping";
	case PB_YAML_SEQUENCE:
		return "a list";
	case PB_YAML_SCALAR:
		break;
	}
	conf_quote_text(buf, sizeof(buf), n->str, n->len, 60,
	           n->style == PB_YAML_DOUBLE_QUOTED ? '"' : '\'');
	return buf;
}

static const char *type_name(enum pb_yaml_type t)
{
	switch (t) {
	case PB_YAML_MAPPING:
		return "a mapping";
	case PB_YAML_SEQUENCE:
		return "a list";
	case PB_YAML_SCALAR:
		return "a single value";
	}
	return "?";
}

/* ===========================================================================
 * Building a document from libyaml's events
 * ======================================================================== */

struct pb_yaml_doc {
	struct arena arena;
	const char *file;
	const struct pb_yaml_node *root;
};

struct bframe {
	struct pb_yaml_node *node; /* the sequence or mapping being built */
	void *vec;                 /* malloc'd: node pointers or pairs */
	size_t n, cap;
	const struct pb_yaml_node *key; /* mapping: key waiting for its value */
};

struct builder {
	struct pb_yaml_doc *doc;
	const unsigned char *buf; /* the input, for positions of reader errors */
	size_t len;
	struct bframe stack[PB_YAML_MAX_DEPTH];
	size_t depth;
	size_t nodes;
	unsigned docs;
};

static struct pb_yaml_node *new_node(struct builder *b, enum pb_yaml_type t, yaml_mark_t m,
                                     struct pb_conf_err *err, int *rc)
{
	struct pb_yaml_node *n;

	if (++b->nodes > PB_YAML_MAX_NODES) {
		*rc = conf_errat(err, PB_ERR_LIMIT, b->doc->file, (unsigned)m.line + 1,
		            (unsigned)m.column + 1, "more than %u YAML nodes in one document",
		            PB_YAML_MAX_NODES);
		return NULL;
	}
	n = conf_arena_zalloc(&b->doc->arena, sizeof(*n));
	if (n == NULL) {
		*rc = conf_errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
		return NULL;
	}
	n->type = t;
	n->str = ""; /* containers too, so a careless reader of ->str never meets NULL */
	n->file = b->doc->file;
	n->line = (unsigned)m.line + 1;
	n->col = (unsigned)m.column + 1;
	return n;
}

static int vec_push(struct bframe *f, const void *elem, size_t size)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		void *nv = realloc(f->vec, cap * size);
		if (nv == NULL)
			return PB_ERR_NOMEM;
		f->vec = nv;
		f->cap = cap;
	}
	memcpy((char *)f->vec + f->n * size, elem, size);
	f->n++;
	return 0;
}

/* A finished node goes to the root, into its sequence, or into its mapping as key or value. */
static int add_child(struct builder *b, const struct pb_yaml_node *n, struct pb_conf_err *err)
{
	struct bframe *f;
	int rc;

	if (b->depth == 0) {
		b->doc->root = n;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	if (f->node->type == PB_YAML_SEQUENCE) {
		rc = vec_push(f, &n, sizeof(n));
	} else if (f->key == NULL) {
		f->key = n;
		rc = 0;
	} else {
		struct pb_yaml_pair p = {f->key, n};
		f->key = NULL;
		rc = vec_push(f, &p, sizeof(p));
	}
	if (rc != 0)
		return conf_errat(err, rc, b->doc->file, 0, 0, "out of memory");
	return 0;
}

static int anchor_or_tag(struct builder *b, const yaml_event_t *ev, const yaml_char_t *anchor,
                         const yaml_char_t *tag, struct pb_conf_err *err)
{
	unsigned line = (unsigned)ev->start_mark.line + 1,
	         col = (unsigned)ev->start_mark.column + 1;
	char q[96];

	if (anchor != NULL) {
		conf_quote_text(q, sizeof(q), (const char *)anchor, strlen((const char *)anchor), 40,
		           '\'');
		return conf_errat(
		    err, PB_ERR_CONF, b->doc->file, line, col,
		    "anchors and aliases are not supported (anchor %s): write the value out", q);
	}
	if (tag != NULL) {
		conf_quote_text(q, sizeof(q), (const char *)tag, strlen((const char *)tag), 40, '\'');
		return conf_errat(
		    err, PB_ERR_CONF, b->doc->file, line, col,
		    "YAML tags are not supported (tag %s): quote a value to make it a string", q);
	}
	return 0;
}

static int push_container(struct builder *b, const yaml_event_t *ev, enum pb_yaml_type t,
                          struct pb_conf_err *err)
{
	struct pb_yaml_node *n;
	int rc = 0;

	if (b->depth > 0) {
		struct bframe *f = &b->stack[b->depth - 1];
		if (f->node->type == PB_YAML_MAPPING && f->key == NULL)
			return conf_errat(err, PB_ERR_CONF, b->doc->file,
			             (unsigned)ev->start_mark.line + 1,
			             (unsigned)ev->start_mark.column + 1,
			             "a mapping key must be a single value, not %s", type_name(t));
	}
	if (b->depth >= PB_YAML_MAX_DEPTH)
		return conf_errat(err, PB_ERR_LIMIT, b->doc->file, (unsigned)ev->start_mark.line + 1,
		             (unsigned)ev->start_mark.column + 1,
		             "lists and mappings nested deeper than %u levels", PB_YAML_MAX_DEPTH);
	n = new_node(b, t, ev->start_mark, err, &rc);
	if (n == NULL)
		return rc;
	b->stack[b->depth++] = (struct bframe){.node = n};
	return 0;
}

struct keyref {
	const struct pb_yaml_pair *pair;
	size_t index;
};

static int keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->pair->key->str, y->pair->key->str);
	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Duplicate keys, found by sorting (a hostile mapping of many keys stays O(n log n)). */
static int check_duplicates(struct builder *b, const struct pb_yaml_pair *pairs, size_t n,
                            struct pb_conf_err *err)
{
	struct keyref *refs;
	size_t best = SIZE_MAX, first = 0;

	if (n < 2)
		return 0;
	refs = malloc(n * sizeof(*refs));
	if (refs == NULL)
		return conf_errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct keyref){&pairs[i], i};
	qsort(refs, n, sizeof(*refs), keyref_cmp);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(refs[i - 1].pair->key->str, refs[i].pair->key->str) == 0 &&
		    refs[i].index < best) {
			best = refs[i].index;
			first = refs[i - 1].index;
			/* The earliest occurrence of this key is the first of its run. */
			for (size_t j = i - 1; j > 0 && strcmp(refs[j - 1].pair->key->str,
			                                       refs[i].pair->key->str) == 0;
			     j--)
				first = refs[j - 1].index;
		}
	}
	free(refs);
	if (best == SIZE_MAX)
		return 0;
	const struct pb_yaml_node *k = pairs[best].key, *k0 = pairs[first].key;
	char q[96];
	conf_quote_text(q, sizeof(q), k->str, k->len, 60, '\'');
	return conf_errnode(err, PB_ERR_CONF, k, "duplicate key %s (first at line %u, column %u)", q,
	               k0->line, k0->col);
}

static int pop_container(struct builder *b, struct pb_conf_err *err)
{
	struct bframe *f = &b->stack[b->depth - 1];
	struct pb_yaml_node *n = f->node;
	int rc = 0;

	if (f->n > 0) {
		size_t size = n->type == PB_YAML_SEQUENCE ? sizeof(struct pb_yaml_node *)
		                                          : sizeof(struct pb_yaml_pair);
		void *v = arena_alloc(&b->doc->arena, f->n * size);
		if (v == NULL) {
			rc = conf_errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
			goto done;
		}
		memcpy(v, f->vec, f->n * size);
		if (n->type == PB_YAML_SEQUENCE) {
			n->items = v;
		} else {
			n->pairs = v;
			rc = check_duplicates(b, n->pairs, f->n, err);
			if (rc != 0)
				goto done;
		}
	}
	n->n = f->n;
done:
	free(f->vec);
	f->vec = NULL;
	b->depth--;
	if (rc == 0)
		rc = add_child(b, n, err);
	return rc;
}

static int add_scalar(struct builder *b, const yaml_event_t *ev, struct pb_conf_err *err)
{
	struct pb_yaml_node *n;
	const char *val = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	int rc = 0;

	if (memchr(val, '\0', len) != NULL)
		return conf_errat(err, PB_ERR_CONF, b->doc->file, (unsigned)ev->start_mark.line + 1,
		             (unsigned)ev->start_mark.column + 1,
		             "a NUL character (\\0) is not allowed in a value");
	n = new_node(b, PB_YAML_SCALAR, ev->start_mark, err, &rc);
	if (n == NULL)
		return rc;
	n->str = arena_strndup(&b->doc->arena, val, len);
	if (n->str == NULL)
		return conf_errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
	n->len = len;
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		n->style = PB_YAML_SINGLE_QUOTED;
		break;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		n->style = PB_YAML_DOUBLE_QUOTED;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
		n->style = PB_YAML_LITERAL;
		break;
	case YAML_FOLDED_SCALAR_STYLE:
		n->style = PB_YAML_FOLDED;
		break;
	default:
		n->style = PB_YAML_PLAIN;
		break;
	}
	return add_child(b, n, err);
}

/* The byte at a 1-based line and column (columns count characters, as libyaml's do), or -1. */
static int char_at(const struct builder *b, unsigned line, unsigned col)
{
	size_t i = 0;
	for (unsigned l = 1; l < line; l++) {
		const unsigned char *nl = memchr(b->buf + i, '\n', b->len - i);
		if (nl == NULL)
			return -1;
		i = (size_t)(nl - b->buf) + 1;
	}
	for (unsigned c = 1; c < col && i < b->len && b->buf[i] != '\n'; c++) {
		i++;
		while (i < b->len && (b->buf[i] & 0xc0) == 0x80)
			i++;
	}
	return i < b->len ? b->buf[i] : -1;
}

static int syntax_error(struct builder *b, const yaml_parser_t *p, struct pb_conf_err *err)
{
	const char *file = b->doc->file;
	const char *problem = p->problem ? p->problem : "unknown error";

	if (p->error == YAML_MEMORY_ERROR)
		return conf_errat(err, PB_ERR_NOMEM, file, 0, 0, "out of memory while reading YAML");
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset; turn it into a position. */
		unsigned line = 1, col = 1;
		size_t off = p->problem_offset < b->len ? p->problem_offset : b->len;
		for (size_t i = 0; i < off; i++) {
			if (b->buf[i] == '\n') {
				line++;
				col = 1;
			} else if ((b->buf[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		if (p->problem_value != -1)
			return conf_errat(err, PB_ERR_CONF, file, line, col,
			             "not valid text: %s (byte 0x%02x); the file must be UTF-8",
			             problem, (unsigned)p->problem_value & 0xffu);
		return conf_errat(err, PB_ERR_CONF, file, line, col, "not valid text: %s", problem);
	}

	unsigned line = (unsigned)p->problem_mark.line + 1;
	unsigned col = (unsigned)p->problem_mark.column + 1;
	const char *hint = "";
	int ch = char_at(b, line, col);
	if (ch == '\t')
		hint = "; tabs cannot indent YAML, use spaces";
	else if (strstr(problem, "mapping values are not allowed") != NULL)
		hint = "; quote a value that contains ': ', or check the indentation";
	else if (strstr(problem, "did not find expected key") != NULL)
		hint = "; check the indentation";
	if (p->context != NULL) {
		unsigned cl = (unsigned)p->context_mark.line + 1;
		unsigned cc = (unsigned)p->context_mark.column + 1;
		if (cl != line || cc != col)
			return conf_errat(err, PB_ERR_CONF, file, line, col,
			             "YAML syntax error: %s %s that starts at line %u, column %u%s",
			             problem, p->context, cl, cc, hint);
		return conf_errat(err, PB_ERR_CONF, file, line, col, "YAML syntax error: %s %s%s",
		             problem, p->context, hint);
	}
	return conf_errat(err, PB_ERR_CONF, file, line, col, "YAML syntax error: %s%s", problem, hint);
}

static int parse_events(struct builder *b, struct pb_conf_err *err)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return conf_errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
	yaml_parser_set_input_string(&p, b->buf, b->len);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_error(b, &p, err);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++b->docs > 1)
				rc = conf_errat(
				    err, PB_ERR_CONF, b->doc->file,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "a second YAML document starts here; the file must hold one");
			break;
		case YAML_ALIAS_EVENT: {
			char q[96];
			const char *a = (const char *)ev.data.alias.anchor;
			conf_quote_text(q, sizeof(q), a, strlen(a), 40, '\'');
			rc = conf_errat(
			    err, PB_ERR_CONF, b->doc->file, (unsigned)ev.start_mark.line + 1,
			    (unsigned)ev.start_mark.column + 1,
			    "anchors and aliases are not supported (alias %s): write the value out",
			    q);
			break;
		}
		case YAML_SCALAR_EVENT:
			rc = anchor_or_tag(b, &ev, ev.data.scalar.anchor, ev.data.scalar.tag, err);
			if (rc == 0)
				rc = add_scalar(b, &ev, err);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = anchor_or_tag(b, &ev, ev.data.sequence_start.anchor,
			                   ev.data.sequence_start.tag, err);
			if (rc == 0)
				rc = push_container(b, &ev, PB_YAML_SEQUENCE, err);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = anchor_or_tag(b, &ev, ev.data.mapping_start.anchor,
			                   ev.data.mapping_start.tag, err);
			if (rc == 0)
				rc = push_container(b, &ev, PB_YAML_MAPPING, err);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (b->depth > 0)
				rc = pop_container(b, err);
			break;
		default:
			break;
		}
		bool end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (rc != 0 || end)
			break;
	}
	yaml_parser_delete(&p);
	while (b->depth > 0) {
		free(b->stack[b->depth - 1].vec);
		b->depth--;
	}
	return rc;
}

int pb_yaml_load_buf(const char *name, const void *buf, size_t len, struct pb_yaml_doc **docp,
                     struct pb_conf_err *err)
{
	struct pb_yaml_doc *doc;
	struct builder *b = NULL;
	int rc;

	*docp = NULL;
	if (name == NULL)
		name = "(buffer)";
	if (len > PB_YAML_MAX_BYTES)
		return conf_errat(err, PB_ERR_LIMIT, name, 0, 0,
		             "%zu bytes is more than the %u MiB a YAML document may hold", len,
		             PB_YAML_MAX_BYTES >> 20);
	doc = calloc(1, sizeof(*doc));
	if (doc == NULL)
		return conf_errat(err, PB_ERR_NOMEM, name, 0, 0, "out of memory");
	doc->file = conf_arena_strdup(&doc->arena, name);
	b = calloc(1, sizeof(*b));
	if (doc->file == NULL || b == NULL) {
		rc = conf_errat(err, PB_ERR_NOMEM, name, 0, 0, "out of memory");
		goto done;
	}
	b->doc = doc;
	b->buf = len ? buf : (const unsigned char *)"";
	b->len = len;
	rc = parse_events(b, err);
done:
	free(b);
	if (rc != 0) {
		pb_yaml_doc_free(doc);
		return rc;
	}
	*docp = doc;
	return 0;
}

/*
 * Read a whole file, refusing more than PB_YAML_MAX_BYTES, a file every user
 * may write, and in a privileged process a file owned by anyone but root or
 * the effective user. *bufp is malloc'd.
 */
static int read_file(const char *path, char **bufp, size_t *lenp, struct pb_conf_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd, rc = 0;

	*bufp = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return conf_errat(err, errno == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO, path, 0, 0, "%s",
		             strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = conf_errat(err, PB_ERR_IO, path, 0, 0, "%s", strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = conf_errat(err, PB_ERR_IO, path, 0, 0, "is a directory, not a YAML file");
		goto done;
	}
	/* As sudo with sudoers: a file anyone may change decides nothing. */
	if (S_ISREG(st.st_mode) && (st.st_mode & S_IWOTH) != 0) {
		rc = conf_errat(err, PB_ERR_CONF, path, 0, 0,
		           "is writable by every user (mode 0%03o), so it is not trusted; "
		           "chmod o-w it",
		           (unsigned)(st.st_mode & 0777));
		goto done;
	}
	const char *why;
	if (conf_started_privileged(&why) && st.st_uid != 0 && st.st_uid != geteuid()) {
		rc = conf_errat(err, PB_ERR_CONF, path, 0, 0,
		           "is owned by uid %ju, not root, so it is not trusted in %s",
		           (uintmax_t)st.st_uid, why);
		goto done;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > PB_YAML_MAX_BYTES) {
		rc = conf_errat(err, PB_ERR_LIMIT, path, 0, 0,
		           "%jd bytes is more than the %u MiB a YAML document may hold",
		           (intmax_t)st.st_size, PB_YAML_MAX_BYTES >> 20);
		goto done;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(cap);
	if (buf == NULL) {
		rc = conf_errat(err, PB_ERR_NOMEM, path, 0, 0, "out of memory");
		goto done;
	}
	for (;;) {
		if (len == cap) {
			if (cap > PB_YAML_MAX_BYTES) {
				rc = conf_errat(err, PB_ERR_LIMIT, path, 0, 0,
				           "more than the %u MiB a YAML document may hold",
				           PB_YAML_MAX_BYTES >> 20);
				goto done;
			}
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				rc = conf_errat(err, PB_ERR_NOMEM, path, 0, 0, "out of memory");
				goto done;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = conf_errat(err, PB_ERR_IO, path, 0, 0, "%s", strerror(errno));
			goto done;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len > PB_YAML_MAX_BYTES) {
		rc =
		    conf_errat(err, PB_ERR_LIMIT, path, 0, 0,
		          "more than the %u MiB a YAML document may hold", PB_YAML_MAX_BYTES >> 20);
		goto done;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL;
done:
	free(buf);
	close(fd);
	return rc;
}

int pb_yaml_load_file(const char *path, struct pb_yaml_doc **docp, struct pb_conf_err *err)
{
	char *buf;
	size_t len = 0;
	int rc;

	*docp = NULL;
	rc = read_file(path, &buf, &len, err);
	if (rc != 0)
		return rc;
	rc = pb_yaml_load_buf(path, buf, len, docp, err);
	free(buf);
	return rc;
}

void pb_yaml_doc_free(struct pb_yaml_doc *doc)
{
	if (doc == NULL)
		return;
	conf_arena_free(&doc->arena);
	free(doc);
}

const struct pb_yaml_node *pb_yaml_doc_root(const struct pb_yaml_doc *doc)
{
	return doc->root;
}

const char *pb_yaml_doc_file(const struct pb_yaml_doc *doc)
{
	return doc->file;
}

/* ===========================================================================
 * Node helpers and typed conversions
 * ======================================================================== */

bool pb_yaml_is_null(const struct pb_yaml_node *n)
{
	if (n == NULL || n->type != PB_YAML_SCALAR || n->style != PB_YAML_PLAIN)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const struct pb_yaml_node *pb_yaml_map_get(const struct pb_yaml_node *map, const char *key)
{
	if (map == NULL || map->type != PB_YAML_MAPPING)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->pairs[i].key->str, key) == 0)
			return map->pairs[i].value;
	return NULL;
}

/* Edit distance (insert, delete, substitute, swap neighbours), for "did you mean". */
unsigned conf_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned d[3][65];

	if (la > 64 || lb > 64)
		return UINT_MAX;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned *cur = d[i % 3], *prev = d[(i - 1) % 3], *prev2 = d[(i + 1) % 3];
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] != b[j - 1];
			unsigned v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (prev[j - 1] + cost < v)
				v = prev[j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
	}
	return d[la % 3][lb];
}

/* Threshold for a plausible typo: about one edit per four characters, at least one. */
bool conf_close_enough(const char *typed, const char *known)
{
	size_t l = strlen(known);
	unsigned max = l < 4 ? 1 : l < 12 ? 2 : 3;
	return conf_edit_distance(typed, known) <= max;
}

int pb_yaml_map_check_keys(const struct pb_yaml_node *map, const char *what,
                           const char *const *allowed, struct pb_conf_err *err)
{
	if (map == NULL || map->type != PB_YAML_MAPPING)
		return 0;
	for (size_t i = 0; i < map->n; i++) {
		const struct pb_yaml_node *k = map->pairs[i].key;
		const char *best = NULL;
		unsigned bestd = UINT_MAX;
		bool ok = false;
		char list[512];
		size_t o = 0;

		for (size_t j = 0; allowed[j] != NULL; j++) {
			if (strcmp(k->str, allowed[j]) == 0) {
				ok = true;
				break;
			}
			unsigned d = conf_edit_distance(k->str, allowed[j]);
			if (conf_close_enough(k->str, allowed[j]) && d < bestd) {
				bestd = d;
				best = allowed[j];
			}
		}
		if (ok)
			continue;
		list[0] = '\0';
		for (size_t j = 0; allowed[j] != NULL && o < sizeof(list); j++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", j ? ", " : "",
			                      allowed[j]);
		char q[96];
		conf_quote_text(q, sizeof(q), k->str, k->len, 60, '\'');
		if (best != NULL)
			return conf_errnode(err, PB_ERR_CONF, k,
			               "unknown key %s in %s (did you mean '%s'?); known keys: %s",
			               q, what ? what : "this mapping", best, list);
		return conf_errnode(err, PB_ERR_CONF, k, "unknown key %s in %s; known keys: %s", q,
		               what ? what : "this mapping", list);
	}
	return 0;
}

int pb_yaml_expect(const struct pb_yaml_node *n, enum pb_yaml_type t, const char *what,
                   struct pb_conf_err *err)
{
	if (n != NULL && n->type == t && !(t == PB_YAML_SCALAR && pb_yaml_is_null(n)))
		return 0;
	if (n != NULL && n->type == t)
		return conf_errnode(err, PB_ERR_CONF, n, "%s%shas no value", what ? what : "",
		               what ? " " : "");
	return conf_errnode(err, PB_ERR_CONF, n, "%s%sexpected %s, got %s", what ? what : "",
	               what ? ": " : "", type_name(t), pb_yaml_describe(n));
}

/* Common start of every scalar conversion: a non-null scalar. */
int conf_want_scalar(const struct pb_yaml_node *n, const char *what, const char *expected,
                       struct pb_conf_err *err)
{
	if (n != NULL && n->type == PB_YAML_SCALAR && !pb_yaml_is_null(n))
		return 0;
	return conf_errnode(err, PB_ERR_CONF, n, "%s%sexpected %s, got %s", what ? what : "",
	               what ? ": " : "", expected, pb_yaml_describe(n));
}

int pb_yaml_str(const struct pb_yaml_node *n, const char *what, const char **out,
                struct pb_conf_err *err)
{
	int rc = conf_want_scalar(n, what, "a string", err);
	if (rc == 0)
		*out = n->str;
	return rc;
}

static int text_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return PB_ERR_INVAL;
}

int pb_yaml_bool(const struct pb_yaml_node *n, const char *what, bool *out, struct pb_conf_err *err)
{
	static const char expected[] = "true or false";
	bool b;
	int rc = conf_want_scalar(n, what, expected, err);
	if (rc != 0)
		return rc;
	if (n->style != PB_YAML_PLAIN) {
		bool looks = text_bool(n->str, &b) == 0;
		return conf_errnode(err, PB_ERR_CONF, n, "%s%sexpected %s, got the quoted string %s%s",
		               what ? what : "", what ? ": " : "", expected, pb_yaml_describe(n),
		               looks ? " (remove the quotes)" : "");
	}
	if (text_bool(n->str, &b) != 0)
		return conf_errnode(err, PB_ERR_CONF, n, "%s%sexpected %s, got %s", what ? what : "",
		               what ? ": " : "", expected, pb_yaml_describe(n));
	*out = b;
	return 0;
}

static int text_int(const char *s, long long *out)
{
	const char *p = s;
	char *end;

	if (*p == '+' || *p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return PB_ERR_INVAL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*end != '\0')
		return PB_ERR_INVAL;
	if (errno == ERANGE)
		return PB_ERR_LIMIT;
	*out = v;
	return 0;
}

int pb_yaml_int(const struct pb_yaml_node *n, const char *what, long long min, long long max,
                long long *out, struct pb_conf_err *err)
{
	long long v;
	int rc = conf_want_scalar(n, what, "a whole number", err);
	if (rc != 0)
		return rc;
	rc = text_int(n->str, &v);
	if (rc == PB_ERR_INVAL)
		return conf_errnode(err, PB_ERR_CONF, n, "%s%sexpected a whole number, got %s",
		               what ? what : "", what ? ": " : "", pb_yaml_describe(n));
	if (rc != 0 || v < min || v > max)
		return conf_errnode(err, PB_ERR_CONF, n, "%s%s%s is out of range (%lld to %lld)",
		               what ? what : "", what ? ": " : "", pb_yaml_describe(n), min, max);
	*out = v;
	return 0;
}

int pb_conf_parse_duration(const char *s, int64_t *ms, const char **errstr)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
	    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	const char *p = s;
	int64_t total = 0;
	bool any = false;

	*errstr = "expected a duration such as 30s, 500ms, 2m or 1h30m";
	if (s == NULL || *s == '\0')
		return PB_ERR_INVAL;
	if (strchr(s, ' ') != NULL && isdigit((unsigned char)*s)) {
		*errstr = "expected a duration such as 30s, 500ms, 2m or 1h30m (no space before "
		          "the unit)";
		return PB_ERR_INVAL;
	}
	while (*p != '\0') {
		uint64_t v = 0;
		size_t ul;
		int64_t mult = -1;

		if (!isdigit((unsigned char)*p))
			return PB_ERR_INVAL;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (uint64_t)(*p++ - '0');
			if (v > (uint64_t)INT64_MAX / 86400000) {
				*errstr = "duration is too long";
				return PB_ERR_INVAL;
			}
		}
		ul = 0;
		while (isalpha((unsigned char)p[ul]))
			ul++;
		if (ul == 0) {
			/* A bare number means seconds, but only on its own: "1m30" is a typo. */
			if (any || *p != '\0')
				return PB_ERR_INVAL;
			mult = 1000;
		} else {
			for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (strlen(units[i].unit) == ul &&
				    strncmp(p, units[i].unit, ul) == 0)
					mult = units[i].ms;
			if (mult < 0) {
				*errstr = "unknown unit in duration (use ms, s, m, h or d)";
				return PB_ERR_INVAL;
			}
			p += ul;
		}
		if ((int64_t)v * mult > INT64_MAX / 4 - total) {
			*errstr = "duration is too long";
			return PB_ERR_INVAL;
		}
		total += (int64_t)v * mult;
		any = true;
	}
	*ms = total;
	*errstr = NULL;
	return 0;
}

int pb_conf_parse_size(const char *s, uint64_t *bytes, const char **errstr)
{
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = {
	    {"", 0},     {"b", 0},  {"k", 10},  {"kb", 10},  {"kib", 10}, {"m", 20},  {"mb", 20},
	    {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},   {"tb", 40}, {"tib", 40},
	};
	const char *p = s;
	uint64_t v = 0;

	*errstr = "expected a size such as 4096, 64k or 2MiB";
	if (s == NULL || !isdigit((unsigned char)*p))
		return PB_ERR_INVAL;
	if (strchr(s, ' ') != NULL) {
		*errstr = "expected a size such as 4096, 64k or 2MiB (no space before the unit)";
		return PB_ERR_INVAL;
	}
	while (isdigit((unsigned char)*p)) {
		if (v > (UINT64_MAX - 9) / 10) {
			*errstr = "size is too large";
			return PB_ERR_INVAL;
		}
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].unit) != 0)
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift)) {
			*errstr = "size is too large";
			return PB_ERR_INVAL;
		}
		*bytes = v << units[i].shift;
		*errstr = NULL;
		return 0;
	}
	*errstr = "unknown unit in size (use k, M, G, T, or KiB, MiB, GiB, TiB)";
	return PB_ERR_INVAL;
}

int pb_yaml_duration(const struct pb_yaml_node *n, const char *what, int64_t *ms,
                     struct pb_conf_err *err)
{
	const char *es;
	int64_t v;
	int rc = conf_want_scalar(n, what, "a duration such as 30s, 500ms, 2m or 1h30m", err);
	if (rc != 0)
		return rc;
	if (pb_conf_parse_duration(n->str, &v, &es) != 0)
		return conf_errnode(err, PB_ERR_CONF, n, "%s%s%s, got %s", what ? what : "",
		               what ? ": " : "", es, pb_yaml_describe(n));
	*ms = v;
	return 0;
}

int pb_yaml_size(const struct pb_yaml_node *n, const char *what, uint64_t *bytes,
                 struct pb_conf_err *err)
{
	const char *es;
	uint64_t v;
	int rc = conf_want_scalar(n, what, "a size such as 4096, 64k or 2MiB", err);
	if (rc != 0)
		return rc;
	if (pb_conf_parse_size(n->str, &v, &es) != 0)
		return conf_errnode(err, PB_ERR_CONF, n, "%s%s%s, got %s", what ? what : "",
		               what ? ": " : "", es, pb_yaml_describe(n));
	*bytes = v;
	return 0;
}

int pb_yaml_mode(const struct pb_yaml_node *n, const char *what, mode_t *out,
                 struct pb_conf_err *err)
{
	unsigned long v = 0;
	int rc = conf_want_scalar(n, what, "an octal mode such as 0640", err);
	if (rc != 0)
		return rc;
	const char *p = n->str;
	for (; *p >= '0' && *p <= '7' && v <= 07777; p++)
		v = v * 8 + (unsigned long)(*p - '0');
	if (*p != '\0' || p == n->str || v > 07777)
		return conf_errnode(err, PB_ERR_CONF, n,
		               "%s%sexpected an octal mode from 0000 to 07777 such as 0640, got %s",
		               what ? what : "", what ? ": " : "", pb_yaml_describe(n));
	*out = (mode_t)v;
	return 0;
}

bool conf_host_char(unsigned char ch)
{
	return isalnum(ch) || ch == '-' || ch == '.' || ch == '_';
}

int pb_conf_parse_hostport(const char *s, bool allow_port0, char *host, size_t hostlen,
                           unsigned *port, const char **errstr)
{
	const char *h, *colon;
	size_t hl;
	unsigned long p = 0;

	if (s == NULL || *s == '\0') {
		*errstr = "expected host:port";
		return PB_ERR_INVAL;
	}
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':') {
			*errstr = "expected [IPv6-address]:port";
			return PB_ERR_INVAL;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
		for (size_t i = 0; i < hl; i++)
			if (!isalnum((unsigned char)h[i]) && h[i] != ':' && h[i] != '.' &&
			    h[i] != '%') {
				*errstr = "bad character in the IPv6 address";
				return PB_ERR_INVAL;
			}
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			*errstr = "expected host:port (the port is missing)";
			return PB_ERR_INVAL;
		}
		h = s;
		hl = (size_t)(colon - s);
		if (memchr(h, ':', hl) != NULL) {
			*errstr = "an IPv6 address needs brackets, as in [::1]:7714";
			return PB_ERR_INVAL;
		}
		for (size_t i = 0; i < hl; i++)
			if (!conf_host_char((unsigned char)h[i])) {
				*errstr = "bad character in the host name";
				return PB_ERR_INVAL;
			}
	}
	if (hl == 0) {
		*errstr = "expected host:port (the host is missing)";
		return PB_ERR_INVAL;
	}
	if (hl >= hostlen) {
		*errstr = "host name too long";
		return PB_ERR_INVAL;
	}
	colon++;
	if (*colon == '\0') {
		*errstr = "expected host:port (the port is missing)";
		return PB_ERR_INVAL;
	}
	for (const char *q = colon; *q; q++) {
		if (!isdigit((unsigned char)*q) || p > 65535) {
			*errstr = "the port must be a number from 1 to 65535";
			return PB_ERR_INVAL;
		}
		p = p * 10 + (unsigned long)(*q - '0');
	}
	if (p > 65535 || (p == 0 && !allow_port0)) {
		*errstr = allow_port0 ? "the port must be a number from 0 to 65535"
		                      : "the port must be a number from 1 to 65535";
		return PB_ERR_INVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned)p;
	*errstr = NULL;
	return 0;
}

