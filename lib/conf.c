/* SPDX-License-Identifier: ISC */
/* Configuration: YAML as positioned node trees, and pbsh.yaml read against one schema table. */
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

/* ===========================================================================
 * Memory: every node and string of a document (or configuration) lives in
 * one arena, so a loader that fails half-way frees everything with one call.
 * ======================================================================== */

#define ARENA_CHUNK 16384u

struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct chunk *head;
};

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

static void *arena_zalloc(struct arena *a, size_t n)
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

static char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

static void arena_free(struct arena *a)
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

__attribute__((format(printf, 6, 7))) static int errat(struct pb_conf_err *err, int rc,
                                                       const char *file, unsigned line,
                                                       unsigned col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(err, rc, file, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

__attribute__((format(printf, 4, 5))) static int
errnode(struct pb_conf_err *err, int rc, const struct pb_yaml_node *n, const char *fmt, ...)
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
static void quote_text(char *out, size_t outlen, const char *s, size_t len, size_t max, char q)
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
	quote_text(buf, sizeof(buf), n->str, n->len, 60,
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
		*rc = errat(err, PB_ERR_LIMIT, b->doc->file, (unsigned)m.line + 1,
		            (unsigned)m.column + 1, "more than %u YAML nodes in one document",
		            PB_YAML_MAX_NODES);
		return NULL;
	}
	n = arena_zalloc(&b->doc->arena, sizeof(*n));
	if (n == NULL) {
		*rc = errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
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
		return errat(err, rc, b->doc->file, 0, 0, "out of memory");
	return 0;
}

static int anchor_or_tag(struct builder *b, const yaml_event_t *ev, const yaml_char_t *anchor,
                         const yaml_char_t *tag, struct pb_conf_err *err)
{
	unsigned line = (unsigned)ev->start_mark.line + 1,
	         col = (unsigned)ev->start_mark.column + 1;
	char q[96];

	if (anchor != NULL) {
		quote_text(q, sizeof(q), (const char *)anchor, strlen((const char *)anchor), 40,
		           '\'');
		return errat(
		    err, PB_ERR_CONF, b->doc->file, line, col,
		    "anchors and aliases are not supported (anchor %s): write the value out", q);
	}
	if (tag != NULL) {
		quote_text(q, sizeof(q), (const char *)tag, strlen((const char *)tag), 40, '\'');
		return errat(
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
			return errat(err, PB_ERR_CONF, b->doc->file,
			             (unsigned)ev->start_mark.line + 1,
			             (unsigned)ev->start_mark.column + 1,
			             "a mapping key must be a single value, not %s", type_name(t));
	}
	if (b->depth >= PB_YAML_MAX_DEPTH)
		return errat(err, PB_ERR_LIMIT, b->doc->file, (unsigned)ev->start_mark.line + 1,
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
		return errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
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
	quote_text(q, sizeof(q), k->str, k->len, 60, '\'');
	return errnode(err, PB_ERR_CONF, k, "duplicate key %s (first at line %u, column %u)", q,
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
			rc = errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
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
		return errat(err, PB_ERR_CONF, b->doc->file, (unsigned)ev->start_mark.line + 1,
		             (unsigned)ev->start_mark.column + 1,
		             "a NUL character (\\0) is not allowed in a value");
	n = new_node(b, PB_YAML_SCALAR, ev->start_mark, err, &rc);
	if (n == NULL)
		return rc;
	n->str = arena_strndup(&b->doc->arena, val, len);
	if (n->str == NULL)
		return errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
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
		return errat(err, PB_ERR_NOMEM, file, 0, 0, "out of memory while reading YAML");
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
			return errat(err, PB_ERR_CONF, file, line, col,
			             "not valid text: %s (byte 0x%02x); the file must be UTF-8",
			             problem, (unsigned)p->problem_value & 0xffu);
		return errat(err, PB_ERR_CONF, file, line, col, "not valid text: %s", problem);
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
			return errat(err, PB_ERR_CONF, file, line, col,
			             "YAML syntax error: %s %s that starts at line %u, column %u%s",
			             problem, p->context, cl, cc, hint);
		return errat(err, PB_ERR_CONF, file, line, col, "YAML syntax error: %s %s%s",
		             problem, p->context, hint);
	}
	return errat(err, PB_ERR_CONF, file, line, col, "YAML syntax error: %s%s", problem, hint);
}

static int parse_events(struct builder *b, struct pb_conf_err *err)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		return errat(err, PB_ERR_NOMEM, b->doc->file, 0, 0, "out of memory");
	yaml_parser_set_input_string(&p, b->buf, b->len);
	for (;;) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_error(b, &p, err);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++b->docs > 1)
				rc = errat(
				    err, PB_ERR_CONF, b->doc->file,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "a second YAML document starts here; the file must hold one");
			break;
		case YAML_ALIAS_EVENT: {
			char q[96];
			const char *a = (const char *)ev.data.alias.anchor;
			quote_text(q, sizeof(q), a, strlen(a), 40, '\'');
			rc = errat(
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
		return errat(err, PB_ERR_LIMIT, name, 0, 0,
		             "%zu bytes is more than the %u MiB a YAML document may hold", len,
		             PB_YAML_MAX_BYTES >> 20);
	doc = calloc(1, sizeof(*doc));
	if (doc == NULL)
		return errat(err, PB_ERR_NOMEM, name, 0, 0, "out of memory");
	doc->file = arena_strdup(&doc->arena, name);
	b = calloc(1, sizeof(*b));
	if (doc->file == NULL || b == NULL) {
		rc = errat(err, PB_ERR_NOMEM, name, 0, 0, "out of memory");
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

static bool started_privileged(const char **why);

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
		return errat(err, errno == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO, path, 0, 0, "%s",
		             strerror(errno));
	if (fstat(fd, &st) != 0) {
		rc = errat(err, PB_ERR_IO, path, 0, 0, "%s", strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = errat(err, PB_ERR_IO, path, 0, 0, "is a directory, not a YAML file");
		goto done;
	}
	/* As sudo with sudoers: a file anyone may change decides nothing. */
	if (S_ISREG(st.st_mode) && (st.st_mode & S_IWOTH) != 0) {
		rc = errat(err, PB_ERR_CONF, path, 0, 0,
		           "is writable by every user (mode 0%03o), so it is not trusted; "
		           "chmod o-w it",
		           (unsigned)(st.st_mode & 0777));
		goto done;
	}
	const char *why;
	if (started_privileged(&why) && st.st_uid != 0 && st.st_uid != geteuid()) {
		rc = errat(err, PB_ERR_CONF, path, 0, 0,
		           "is owned by uid %ju, not root, so it is not trusted in %s",
		           (uintmax_t)st.st_uid, why);
		goto done;
	}
	if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > PB_YAML_MAX_BYTES) {
		rc = errat(err, PB_ERR_LIMIT, path, 0, 0,
		           "%jd bytes is more than the %u MiB a YAML document may hold",
		           (intmax_t)st.st_size, PB_YAML_MAX_BYTES >> 20);
		goto done;
	}
	cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
	buf = malloc(cap);
	if (buf == NULL) {
		rc = errat(err, PB_ERR_NOMEM, path, 0, 0, "out of memory");
		goto done;
	}
	for (;;) {
		if (len == cap) {
			if (cap > PB_YAML_MAX_BYTES) {
				rc = errat(err, PB_ERR_LIMIT, path, 0, 0,
				           "more than the %u MiB a YAML document may hold",
				           PB_YAML_MAX_BYTES >> 20);
				goto done;
			}
			char *nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				rc = errat(err, PB_ERR_NOMEM, path, 0, 0, "out of memory");
				goto done;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = errat(err, PB_ERR_IO, path, 0, 0, "%s", strerror(errno));
			goto done;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len > PB_YAML_MAX_BYTES) {
		rc =
		    errat(err, PB_ERR_LIMIT, path, 0, 0,
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
	arena_free(&doc->arena);
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
static unsigned edit_distance(const char *a, const char *b)
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
static bool close_enough(const char *typed, const char *known)
{
	size_t l = strlen(known);
	unsigned max = l < 4 ? 1 : l < 12 ? 2 : 3;
	return edit_distance(typed, known) <= max;
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
			unsigned d = edit_distance(k->str, allowed[j]);
			if (close_enough(k->str, allowed[j]) && d < bestd) {
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
		quote_text(q, sizeof(q), k->str, k->len, 60, '\'');
		if (best != NULL)
			return errnode(err, PB_ERR_CONF, k,
			               "unknown key %s in %s (did you mean '%s'?); known keys: %s",
			               q, what ? what : "this mapping", best, list);
		return errnode(err, PB_ERR_CONF, k, "unknown key %s in %s; known keys: %s", q,
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
		return errnode(err, PB_ERR_CONF, n, "%s%shas no value", what ? what : "",
		               what ? " " : "");
	return errnode(err, PB_ERR_CONF, n, "%s%sexpected %s, got %s", what ? what : "",
	               what ? ": " : "", type_name(t), pb_yaml_describe(n));
}

/* Common start of every scalar conversion: a non-null scalar. */
static int want_scalar(const struct pb_yaml_node *n, const char *what, const char *expected,
                       struct pb_conf_err *err)
{
	if (n != NULL && n->type == PB_YAML_SCALAR && !pb_yaml_is_null(n))
		return 0;
	return errnode(err, PB_ERR_CONF, n, "%s%sexpected %s, got %s", what ? what : "",
	               what ? ": " : "", expected, pb_yaml_describe(n));
}

int pb_yaml_str(const struct pb_yaml_node *n, const char *what, const char **out,
                struct pb_conf_err *err)
{
	int rc = want_scalar(n, what, "a string", err);
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
	int rc = want_scalar(n, what, expected, err);
	if (rc != 0)
		return rc;
	if (n->style != PB_YAML_PLAIN) {
		bool looks = text_bool(n->str, &b) == 0;
		return errnode(err, PB_ERR_CONF, n, "%s%sexpected %s, got the quoted string %s%s",
		               what ? what : "", what ? ": " : "", expected, pb_yaml_describe(n),
		               looks ? " (remove the quotes)" : "");
	}
	if (text_bool(n->str, &b) != 0)
		return errnode(err, PB_ERR_CONF, n, "%s%sexpected %s, got %s", what ? what : "",
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
	int rc = want_scalar(n, what, "a whole number", err);
	if (rc != 0)
		return rc;
	rc = text_int(n->str, &v);
	if (rc == PB_ERR_INVAL)
		return errnode(err, PB_ERR_CONF, n, "%s%sexpected a whole number, got %s",
		               what ? what : "", what ? ": " : "", pb_yaml_describe(n));
	if (rc != 0 || v < min || v > max)
		return errnode(err, PB_ERR_CONF, n, "%s%s%s is out of range (%lld to %lld)",
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
	int rc = want_scalar(n, what, "a duration such as 30s, 500ms, 2m or 1h30m", err);
	if (rc != 0)
		return rc;
	if (pb_conf_parse_duration(n->str, &v, &es) != 0)
		return errnode(err, PB_ERR_CONF, n, "%s%s%s, got %s", what ? what : "",
		               what ? ": " : "", es, pb_yaml_describe(n));
	*ms = v;
	return 0;
}

int pb_yaml_size(const struct pb_yaml_node *n, const char *what, uint64_t *bytes,
                 struct pb_conf_err *err)
{
	const char *es;
	uint64_t v;
	int rc = want_scalar(n, what, "a size such as 4096, 64k or 2MiB", err);
	if (rc != 0)
		return rc;
	if (pb_conf_parse_size(n->str, &v, &es) != 0)
		return errnode(err, PB_ERR_CONF, n, "%s%s%s, got %s", what ? what : "",
		               what ? ": " : "", es, pb_yaml_describe(n));
	*bytes = v;
	return 0;
}

int pb_yaml_mode(const struct pb_yaml_node *n, const char *what, mode_t *out,
                 struct pb_conf_err *err)
{
	unsigned long v = 0;
	int rc = want_scalar(n, what, "an octal mode such as 0640", err);
	if (rc != 0)
		return rc;
	const char *p = n->str;
	for (; *p >= '0' && *p <= '7' && v <= 07777; p++)
		v = v * 8 + (unsigned long)(*p - '0');
	if (*p != '\0' || p == n->str || v > 07777)
		return errnode(err, PB_ERR_CONF, n,
		               "%s%sexpected an octal mode from 0000 to 07777 such as 0640, got %s",
		               what ? what : "", what ? ": " : "", pb_yaml_describe(n));
	*out = (mode_t)v;
	return 0;
}

static bool host_char(unsigned char ch)
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
			if (!host_char((unsigned char)h[i])) {
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

/* ===========================================================================
 * The schema of pbsh.yaml
 * ======================================================================== */

enum ktype {
	T_STR,
	T_PATH, /* absolute path */
	T_BOOL,
	T_INT,       /* min..max */
	T_DURATION,  /* milliseconds, min..max */
	T_SIZE,      /* bytes, min..max */
	T_HOSTPORTS, /* list of host:port, port 1-65535 (servers to connect to) */
	T_LISTEN,    /* list of host:port, port 0 allowed (0: the kernel picks, for tests) */
	T_STRLIST,
	T_MODE,    /* octal */
	T_LOGDEST, /* syslog | stderr | file:/PATH | /PATH */
	T_ENUM,    /* one word of a fixed set, named by its validator (ENUM_CHECK below) */
};

/* How each type is named in listings and the manual. */
#define TN_T_STR "string"
#define TN_T_PATH "path"
#define TN_T_BOOL "bool"
#define TN_T_INT "integer"
#define TN_T_DURATION "duration"
#define TN_T_SIZE "size"
#define TN_T_HOSTPORTS "host:port list"
#define TN_T_LISTEN "host:port list"
#define TN_T_STRLIST "string list"
#define TN_T_MODE "octal mode"
#define TN_T_LOGDEST "log destination"
#define TN_T_ENUM "enum"

/* Validators of single strings (a string value, or each item of a list): NULL when fine, else why
 * not. */
typedef const char *(*check_fn)(const char *s);
static const char *v_debug(const char *s);
static const char *v_account(const char *s);
static const char *v_hostname(const char *s);
static const char *v_ident(const char *s);
static const char *v_template(const char *s);
static const char *check_enum(const char *s, const char *const *choices);

/* ENUM_CHECK(v_name, "a", "b"): the validator of a T_ENUM setting, naming its words. */
#define ENUM_CHECK(fn, ...)                                                                        \
	static const char *fn(const char *s)                                                       \
	{                                                                                          \
		static const char *const choices[] = {__VA_ARGS__, NULL};                          \
		return check_enum(s, choices);                                                     \
	}

ENUM_CHECK(v_hostcheck, "strict", "record")

#define MS_ 1LL
#define SEC_ 1000LL
#define MIN_ (60 * SEC_)
#define HOUR_ (60 * MIN_)
#define DAY_ (24 * HOUR_)
#define KIB_ 1024LL
#define MIB_ (1024 * KIB_)
#define GIB_ (1024 * MIB_)
#define TIB_ (1024 * GIB_)

/*
 * THE SCHEMA: one line per setting; add a setting with a one-line edit here
 * (keep each section's keys together), then document it in man/pbsh.yaml.5
 * and conf/pbsh.yaml and give it a value in tests/conf/test_conf.c's
 * every_key: the unit tests check all three.
 *
 *   key      "section.name" or "name" (sections: tls, timeouts, policyd, logd;
 *            a new section needs nothing else)
 *   type     T_* above
 *   default  as it would be written in the file; lists comma-separated;
 *            NULL: unset (the getter returns NULL / an empty list)
 *   min,max  range for T_INT, T_DURATION (ms), T_SIZE (bytes), T_MODE; else 0, 0
 *   check    validator for strings and list items, or NULL; for T_ENUM the
 *            ENUM_CHECK that lists its words
 *   desc     one line for listings
 */
/* clang-format off */
#define PB_CONF_SCHEMA(K)                                                                        \
	K("policyservers", T_HOSTPORTS, NULL, 0, 0, NULL,                                         \
	  "policy servers (host:port), tried in order; none: no policy server")                  \
	K("logservers", T_HOSTPORTS, NULL, 0, 0, NULL,                                            \
	  "log servers (host:port), tried in order")                                             \
	K("admins", T_STRLIST, NULL, 0, 0, v_ident,                                               \
	  "client certificate identities allowed administrative requests")                      \
	K("max_frame", T_SIZE, "2MiB", 4 * KIB_, 64 * MIB_, NULL,                                 \
	  "largest protocol frame sent or accepted")                                             \
	K("spooldir", T_PATH, PB_LOCALSTATEDIR "/spool/pbsh", 0, 0, NULL,                         \
	  "where events and I/O logs wait while no log server answers")                          \
	K("kshlog", T_PATH, NULL, 0, 0, NULL,                                                     \
	  "file that pbksh --debug traces go to (unset: standard error)")                        \
	K("shlog", T_PATH, NULL, 0, 0, NULL,                                                      \
	  "file that pbsh --debug traces go to (unset: standard error)")                         \
	K("tls.ca", T_PATH, NULL, 0, 0, NULL, "PEM file of the private CA every peer must chain to") \
	K("tls.cert", T_PATH, NULL, 0, 0, NULL, "this host's certificate (PEM)")                  \
	K("tls.key", T_PATH, NULL, 0, 0, NULL, "the private key of tls.cert (PEM)")               \
	K("tls.servername", T_STR, NULL, 0, 0, v_hostname,                                        \
	  "name server certificates must carry (unset: the host of each server)")                \
	K("tls.plaintext_for_tests", T_BOOL, "false", 0, 0, NULL,                                 \
	  "TESTS ONLY: no TLS at all, loopback addresses only")                                  \
	K("timeouts.connect", T_DURATION, "3s", 1 * MS_, 10 * MIN_, NULL,                         \
	  "connecting to one server, TLS handshake included")                                    \
	K("timeouts.request", T_DURATION, "10s", 1 * MS_, 1 * HOUR_, NULL,                        \
	  "waiting for the answer to one request")                                               \
	K("policyd.listen", T_LISTEN, "0.0.0.0:7714", 0, 0, NULL, "addresses policyd listens on") \
	K("policyd.policy", T_PATH, PB_SYSCONFDIR "/pbsh-policy.yaml", 0, 0, NULL,                \
	  "the policy file (policy.yaml(5))")                                                    \
	K("policyd.audit", T_PATH, NULL, 0, 0, NULL,                                              \
	  "JSON Lines file of every decision (unset: none)")                                     \
	K("policyd.pidfile", T_PATH, PB_LOCALSTATEDIR "/run/pbsh-policyd.pid", 0, 0, NULL,        \
	  "pid file, locked while policyd runs")                                                 \
	K("policyd.user", T_STR, NULL, 0, 0, v_account,                                           \
	  "user to run as after binding (unset: stay)")                                          \
	K("policyd.group", T_STR, NULL, 0, 0, v_account,                                          \
	  "group to run as (unset: the user's primary group)")                                   \
	K("policyd.log", T_LOGDEST, NULL, 0, 0, NULL,                                             \
	  "syslog, stderr or file:/PATH (unset: stderr in the foreground, else syslog)")         \
	K("policyd.debug", T_STR, NULL, 0, 0, v_debug, "debug trace levels such as policy@5,tls@2") \
	K("policyd.max_connections", T_INT, "1024", 1, 1000000, NULL,                             \
	  "most simultaneous connections")                                                       \
	K("policyd.max_connections_per_peer", T_INT, "64", 1, 1000000, NULL,                      \
	  "most simultaneous connections from one address")                                      \
	K("policyd.idle_timeout", T_DURATION, "1h", 0, 7 * DAY_, NULL,                            \
	  "close a connection silent this long (0: never)")                                      \
	K("policyd.frame_timeout", T_DURATION, "30s", 100 * MS_, 1 * HOUR_, NULL,                 \
	  "a frame once started must arrive whole within this")                                  \
	K("policyd.handshake_timeout", T_DURATION, "10s", 100 * MS_, 10 * MIN_, NULL,             \
	  "a new connection must finish its TLS handshake within this")                          \
	K("policyd.stop_timeout", T_DURATION, "10s", 0, 1 * HOUR_, NULL,                          \
	  "on a normal stop, wait this long for requests in progress")                           \
	K("logd.listen", T_LISTEN, "0.0.0.0:30344", 0, 0, NULL, "addresses logd listens on")      \
	K("logd.eventlog", T_PATH, PB_LOCALSTATEDIR "/log/pbsh/events.jsonl", 0, 0, NULL,         \
	  "the JSON Lines event log: a file, or a directory of event files")                     \
	K("logd.eventlog_rotate", T_SIZE, "64MiB", 0, 1 * TIB_, NULL,                             \
	  "start a new event file past this size (0: never)")                                    \
	K("logd.iolog_dir", T_PATH, PB_LOCALSTATEDIR "/log/pbsh/io", 0, 0, NULL,                  \
	  "top directory of the I/O logs")                                                       \
	K("logd.iolog_path", T_STR, "%{seq}", 0, 0, v_template,                                   \
	  "I/O log directory under iolog_dir, a template such as %{user}/%{seq}")                \
	K("logd.iolog_mode", T_MODE, "0600", 0, 0777, NULL,                                          \
	  "mode of I/O log files (directories get the matching search bits)")                    \
	K("logd.commit_interval", T_DURATION, "10s", 100 * MS_, 1 * HOUR_, NULL,                  \
	  "how often a client is told what is safely stored")                                    \
	K("logd.pidfile", T_PATH, PB_LOCALSTATEDIR "/run/pbsh-logd.pid", 0, 0, NULL,              \
	  "pid file, locked while logd runs")                                                    \
	K("logd.user", T_STR, NULL, 0, 0, v_account, "user to run as after binding (unset: stay)") \
	K("logd.group", T_STR, NULL, 0, 0, v_account,                                             \
	  "group to run as (unset: the user's primary group)")                                   \
	K("logd.log", T_LOGDEST, NULL, 0, 0, NULL,                                                \
	  "syslog, stderr or file:/PATH (unset: stderr in the foreground, else syslog)")         \
	K("logd.debug", T_STR, NULL, 0, 0, v_debug, "debug trace levels such as log@5,store@9")   \
	K("logd.max_connections", T_INT, "1024", 1, 1000000, NULL,                                \
	  "most simultaneous connections")                                                       \
	K("logd.max_connections_per_peer", T_INT, "64", 1, 1000000, NULL,                         \
	  "most simultaneous connections from one address")                                      \
	K("logd.idle_timeout", T_DURATION, "1h", 0, 7 * DAY_, NULL,                               \
	  "close a connection silent this long (0: never)")                                      \
	K("logd.frame_timeout", T_DURATION, "30s", 100 * MS_, 1 * HOUR_, NULL,                    \
	  "a frame once started must arrive whole within this")                                  \
	K("logd.handshake_timeout", T_DURATION, "10s", 100 * MS_, 10 * MIN_, NULL,                \
	  "a new connection must finish its TLS handshake within this")                          \
	K("logd.stop_timeout", T_DURATION, "10s", 0, 1 * HOUR_, NULL,                             \
	  "on a normal stop, wait this long for sessions to reach a commit point")               \
	K("logd.hostcheck", T_ENUM, "strict", 0, 0, v_hostcheck,                                       \
	  "submithost not covered by the client certificate: strict (refuse) or record")         \
	K("logd.server_id", T_STR, NULL, 0, 0, v_ident,                                           \
	  "name logd gives itself in events (unset: the host name)")
/* clang-format on */

struct keydef {
	const char *key;
	enum ktype type;
	const char *def;
	long long min, max;
	check_fn check;
	const char *desc;
};

#define AS_KEYDEF(k, t, d, lo, hi, chk, desc) {k, t, d, lo, hi, chk, desc},
#define AS_INFO(k, t, d, lo, hi, chk, desc) {k, TN_##t, d, desc},
#define AS_COUNT(k, t, d, lo, hi, chk, desc) +1

static const struct keydef schema[] = {PB_CONF_SCHEMA(AS_KEYDEF)};
static const struct pb_conf_keyinfo schema_info[] = {PB_CONF_SCHEMA(AS_INFO)};
enum { NKEYS = 0 PB_CONF_SCHEMA(AS_COUNT) };

/* Sections are whatever comes before a dot in the table. */
static bool is_section(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *dot = strchr(schema[i].key, '.');
		if (dot != NULL && (size_t)(dot - schema[i].key) == len &&
		    strncmp(schema[i].key, name, len) == 0)
			return true;
	}
	return false;
}

static int find_key(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(schema[i].key, key) == 0)
			return (int)i;
	return -1;
}

static const char *v_debug(const char *s)
{
	/* The syntax of pb_debug_parse, checked without changing any level. */
	const char *p = s;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *at = memchr(p, '@', n);
		const char *lv = at ? at + 1 : p;
		size_t lvn = at ? n - (size_t)(at - p) - 1 : n;
		if (lvn != 1 || lv[0] < '0' || lv[0] > '9')
			return at ? "the level after '@' must be one digit 0-9"
			          : "expected a level 0-9 or subsystem@level, as in policy@5,tls@2";
		if (at != NULL) {
			size_t nl = (size_t)(at - p);
			bool found = nl == 3 && strncmp(p, "all", 3) == 0;
			for (int i = 0; i < PB_SS_COUNT && !found; i++) {
				const char *name = pb_debug_name((enum pb_subsys)i);
				found = strlen(name) == nl && strncmp(name, p, nl) == 0;
			}
			if (!found) {
				static _Thread_local char why[512];
				size_t o = (size_t)snprintf(why, sizeof(why),
				                            "unknown debug subsystem; known: all");
				for (int i = 0; i < PB_SS_COUNT && o < sizeof(why); i++)
					o += (size_t)snprintf(why + o, sizeof(why) - o, ", %s",
					                      pb_debug_name((enum pb_subsys)i));
				return why;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return NULL;
}

static const char *check_enum(const char *s, const char *const *choices)
{
	static _Thread_local char why[256];
	size_t o;

	for (size_t i = 0; choices[i] != NULL; i++)
		if (strcmp(s, choices[i]) == 0)
			return NULL;
	o = (size_t)snprintf(why, sizeof(why), "expected ");
	for (size_t i = 0; choices[i] != NULL && o < sizeof(why); i++)
		o += (size_t)snprintf(why + o, sizeof(why) - o, "%s%s",
		                      i == 0                   ? ""
		                      : choices[i + 1] == NULL ? " or "
		                                               : ", ",
		                      choices[i]);
	return why;
}

static const char *v_account(const char *s)
{
	size_t n = strlen(s);
	if (n > 32)
		return "a user or group name has at most 32 characters";
	if (s[0] == '-')
		return "a user or group name cannot start with '-'";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.' &&
		    !(s[i] == '$' && i == n - 1))
			return "a user or group name has only letters, digits, '_', '-' and '.'";
	return NULL;
}

static const char *v_hostname(const char *s)
{
	if (strlen(s) > 253)
		return "a host name has at most 253 characters";
	for (const char *p = s; *p; p++)
		if (!host_char((unsigned char)*p) && *p != ':')
			return "a host name has only letters, digits, '-', '.', '_' (or an IP "
			       "address)";
	return NULL;
}

static const char *v_ident(const char *s)
{
	if (strlen(s) > 255)
		return "at most 255 characters";
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return "no spaces or control characters allowed";
	return NULL;
}

static const char *v_template(const char *s)
{
	if (s[0] == '/')
		return "must be relative to logd.iolog_dir (no leading '/')";
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "must not contain a '..' component";
		if (n == 0)
			return "must not contain an empty component ('//' or a trailing '/')";
		p += n;
		if (*p == '/') {
			p++;
			if (*p == '\0')
				return "must not contain an empty component ('//' or a trailing "
				       "'/')";
		}
	}
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "no control characters allowed";
	return NULL;
}

/* ===========================================================================
 * A configuration
 * ======================================================================== */

struct val {
	bool set;           /* written in the file */
	bool have;          /* has a value, from the file or the default */
	unsigned line, col; /* where the file set it, for cross-setting messages */
	const char *text;   /* T_LOGDEST: "syslog", "stderr" or the path */
	union {
		const char *s;
		bool b;
		long long i;
		int64_t ms;
		uint64_t size;
		mode_t mode;
		struct {
			const char **v; /* NULL-terminated */
			size_t n;
		} list;
		struct {
			struct pb_hostport *v;
			size_t n;
		} hp;
		struct {
			enum pb_log_dest dest;
			const char *path;
		} log;
	} u;
};

struct pb_conf {
	struct arena arena;
	const char *file;
	struct val v[NKEYS];
};

static void fmt_duration(char *buf, size_t len, int64_t ms)
{
	static const struct {
		const char *u;
		int64_t ms;
	} units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
	size_t o = 0;
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < 5 && o < len; i++) {
		if (ms >= units[i].ms) {
			o += (size_t)snprintf(buf + o, len - o, "%" PRId64 "%s", ms / units[i].ms,
			                      units[i].u);
			ms %= units[i].ms;
		}
	}
}

static void fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char *const u[] = {"TiB", "GiB", "MiB", "KiB"};
	for (unsigned i = 0; i < 4; i++) {
		unsigned shift = 40 - 10 * i;
		if (v != 0 && v % (1ULL << shift) == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", v >> shift, u[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
}

/* Most entries of one list setting: far more than any site needs, and it keeps checks cheap. */
#define LIST_MAX 256u

static bool is_loopback(const char *host)
{
	unsigned char a[16];
	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1)
		return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
	return false;
}

/* One string of a setting (a value or a list item): non-empty, absolute for paths, then the
 * validator. */
static int check_string(const struct keydef *k, const struct pb_yaml_node *n, bool path,
                        struct pb_conf_err *err)
{
	const char *why;
	if (n->len == 0)
		return errnode(err, PB_ERR_CONF, n, "%s: must not be empty", k->key);
	if (path && n->str[0] != '/')
		return errnode(err, PB_ERR_CONF, n,
		               "%s: %s is not an absolute path (start it with /)", k->key,
		               pb_yaml_describe(n));
	if (k->check != NULL && (why = k->check(n->str)) != NULL)
		return errnode(err, PB_ERR_CONF, n, "%s: %s: %s", k->key, pb_yaml_describe(n), why);
	return 0;
}

static int parse_hostports(struct pb_conf *c, const struct keydef *k, const struct pb_yaml_node *n,
                           struct val *v, struct pb_conf_err *err)
{
	bool port0 = k->type == T_LISTEN;

	if (n->type != PB_YAML_SEQUENCE)
		return errnode(err, PB_ERR_CONF, n,
		               "%s: expected a list of host:port, as in [%s] or one '- host:port' "
		               "line per entry, got %s",
		               k->key, port0 ? "127.0.0.1:7714" : "pbsh1.example.org:7714",
		               pb_yaml_describe(n));
	if (n->n > LIST_MAX)
		return errnode(err, PB_ERR_CONF, n, "%s: %zu entries; at most %u are allowed",
		               k->key, n->n, LIST_MAX);
	v->u.hp.n = n->n;
	v->u.hp.v = n->n ? arena_zalloc(&c->arena, n->n * sizeof(struct pb_hostport)) : NULL;
	if (n->n && v->u.hp.v == NULL)
		return errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		const struct pb_yaml_node *it = n->items[i];
		struct pb_hostport *hp = &v->u.hp.v[i];
		char host[256], port[8];
		const char *es;
		unsigned pn;
		int rc = want_scalar(it, k->key, "host:port", err);
		if (rc != 0)
			return rc;
		if (pb_conf_parse_hostport(it->str, port0, host, sizeof(host), &pn, &es) != 0)
			return errnode(err, PB_ERR_CONF, it, "%s: %s: %s", k->key,
			               pb_yaml_describe(it), es);
		for (size_t j = 0; j < i; j++)
			if (v->u.hp.v[j].portnum == pn && strcmp(v->u.hp.v[j].host, host) == 0 &&
			    pn != 0)
				return errnode(err, PB_ERR_CONF, it, "%s: %s is listed twice",
				               k->key, pb_yaml_describe(it));
		snprintf(port, sizeof(port), "%u", pn);
		hp->host = arena_strdup(&c->arena, host);
		hp->port = arena_strdup(&c->arena, port);
		hp->text = arena_strdup(&c->arena, it->str);
		hp->portnum = pn;
		if (hp->host == NULL || hp->port == NULL || hp->text == NULL)
			return errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
	}
	return 0;
}

static int parse_strlist(struct pb_conf *c, const struct keydef *k, const struct pb_yaml_node *n,
                         struct val *v, struct pb_conf_err *err)
{
	if (n->type != PB_YAML_SEQUENCE)
		return errnode(err, PB_ERR_CONF, n,
		               "%s: expected a list, as in [a, b] or one '- item' line per entry, "
		               "got %s",
		               k->key, pb_yaml_describe(n));
	if (n->n > LIST_MAX)
		return errnode(err, PB_ERR_CONF, n, "%s: %zu entries; at most %u are allowed",
		               k->key, n->n, LIST_MAX);
	v->u.list.n = n->n;
	v->u.list.v = arena_zalloc(&c->arena, (n->n + 1) * sizeof(char *));
	if (v->u.list.v == NULL)
		return errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		const struct pb_yaml_node *it = n->items[i];
		int rc = want_scalar(it, k->key, "a string", err);
		if (rc == 0)
			rc = check_string(k, it, false, err);
		if (rc != 0)
			return rc;
		v->u.list.v[i] = arena_strdup(&c->arena, it->str);
		if (v->u.list.v[i] == NULL)
			return errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
	}
	return 0;
}

/* Parse one setting's value node (from the file, or a default dressed as a node). */
static int parse_value(struct pb_conf *c, const struct keydef *k, const struct pb_yaml_node *n,
                       struct val *v, struct pb_conf_err *err)
{
	char lo[32], hi[32], got[32];
	int rc;

	if (pb_yaml_is_null(n))
		return errnode(err, PB_ERR_CONF, n,
		               "%s has no value: give one, or delete the line to %s", k->key,
		               k->def ? "use the default" : "leave it unset");
	switch (k->type) {
	case T_STR:
	case T_ENUM:
	case T_PATH: {
		const char *s;
		rc = pb_yaml_str(n, k->key, &s, err);
		if (rc == 0)
			rc = check_string(k, n, k->type == T_PATH, err);
		if (rc != 0)
			return rc;
		v->u.s = arena_strdup(&c->arena, s);
		if (v->u.s == NULL)
			return errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
		break;
	}
	case T_BOOL:
		rc = pb_yaml_bool(n, k->key, &v->u.b, err);
		if (rc != 0)
			return rc;
		break;
	case T_INT:
		rc = pb_yaml_int(n, k->key, k->min, k->max, &v->u.i, err);
		if (rc != 0)
			return rc;
		break;
	case T_DURATION:
		rc = pb_yaml_duration(n, k->key, &v->u.ms, err);
		if (rc != 0)
			return rc;
		if (v->u.ms < k->min || v->u.ms > k->max) {
			fmt_duration(lo, sizeof(lo), k->min);
			fmt_duration(hi, sizeof(hi), k->max);
			fmt_duration(got, sizeof(got), v->u.ms);
			return errnode(err, PB_ERR_CONF, n, "%s: %s is out of range (%s to %s)",
			               k->key, got, lo, hi);
		}
		break;
	case T_SIZE:
		rc = pb_yaml_size(n, k->key, &v->u.size, err);
		if (rc != 0)
			return rc;
		if (v->u.size < (uint64_t)k->min || v->u.size > (uint64_t)k->max) {
			fmt_size(lo, sizeof(lo), (uint64_t)k->min);
			fmt_size(hi, sizeof(hi), (uint64_t)k->max);
			fmt_size(got, sizeof(got), v->u.size);
			return errnode(err, PB_ERR_CONF, n, "%s: %s is out of range (%s to %s)",
			               k->key, got, lo, hi);
		}
		break;
	case T_MODE:
		rc = pb_yaml_mode(n, k->key, &v->u.mode, err);
		if (rc != 0)
			return rc;
		if ((long long)v->u.mode < k->min || (long long)v->u.mode > k->max)
			return errnode(err, PB_ERR_CONF, n,
			               "%s: 0%o is out of range (%04llo to %04llo)", k->key,
			               (unsigned)v->u.mode, k->min, k->max);
		break;
	case T_HOSTPORTS:
	case T_LISTEN:
		rc = parse_hostports(c, k, n, v, err);
		if (rc != 0)
			return rc;
		break;
	case T_STRLIST:
		rc = parse_strlist(c, k, n, v, err);
		if (rc != 0)
			return rc;
		break;
	case T_LOGDEST: {
		const char *s, *path = NULL;
		rc = pb_yaml_str(n, k->key, &s, err);
		if (rc != 0)
			return rc;
		if (strcmp(s, "syslog") == 0) {
			v->u.log.dest = PB_LOG_SYSLOG;
		} else if (strcmp(s, "stderr") == 0) {
			v->u.log.dest = PB_LOG_STDERR;
		} else if (strncmp(s, "file:", 5) == 0 || s[0] == '/') {
			path = s[0] == '/' ? s : s + 5;
			if (path[0] != '/')
				return errnode(err, PB_ERR_CONF, n,
				               "%s: %s: the file must be an absolute path, as in "
				               "file:/var/log/pbsh.log",
				               k->key, pb_yaml_describe(n));
			v->u.log.dest = PB_LOG_FILE;
		} else {
			return errnode(err, PB_ERR_CONF, n,
			               "%s: expected syslog, stderr or file:/PATH, got %s", k->key,
			               pb_yaml_describe(n));
		}
		v->text = arena_strdup(&c->arena, path ? path : s);
		if (v->text == NULL)
			return errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
		v->u.log.path = path ? v->text : NULL;
		break;
	}
	}
	v->have = true;
	return 0;
}

/* A default, dressed as the nodes the file would have held, so it goes through the same checks. */
static int apply_default(struct pb_conf *c, const struct keydef *k, struct val *v,
                         struct pb_conf_err *err)
{
	enum { MAXITEMS = 8 };
	struct pb_yaml_node items[MAXITEMS], seq, one;
	const struct pb_yaml_node *ptrs[MAXITEMS];
	char buf[256];
	const struct pb_yaml_node *n = &one;
	int rc;

	memset(&one, 0, sizeof(one));
	one.type = PB_YAML_SCALAR;
	one.file = "(built-in default)";
	one.style = PB_YAML_PLAIN;
	if (k->type == T_HOSTPORTS || k->type == T_LISTEN || k->type == T_STRLIST) {
		seq = one;
		seq.type = PB_YAML_SEQUENCE;
		seq.items = ptrs;
		if (k->def != NULL) {
			snprintf(buf, sizeof(buf), "%s", k->def);
			for (char *save = NULL, *t = strtok_r(buf, ",", &save);
			     t != NULL && seq.n < MAXITEMS; t = strtok_r(NULL, ",", &save)) {
				items[seq.n] = one;
				items[seq.n].str = t;
				items[seq.n].len = strlen(t);
				ptrs[seq.n] = &items[seq.n];
				seq.n++;
			}
		}
		n = &seq;
	} else {
		one.str = k->def;
		one.len = strlen(k->def);
	}
	rc = parse_value(c, k, n, v, err);
	if (rc != 0 && rc != PB_ERR_NOMEM) {
		/* A bad built-in default is a bug in the table above; the unit tests load an empty
		 * file. */
		char why[PB_CONF_ERRLEN];
		snprintf(why, sizeof(why), "%s", err ? err->msg : "");
		return errat(err, PB_ERR_CONF, NULL, 0, 0, "internal error: bad default for %s: %s",
		             k->key, why);
	}
	return rc;
}

/*
 * Suggestions for an unknown key: a close spelling in the same section, the
 * same name in another section, or a close section name; best first.
 */
static void suggest(const char *path, char *out, size_t len)
{
	static _Thread_local char secbuf[NKEYS][32];
	const char *dot = strrchr(path, '.');
	const char *leaf = dot ? dot + 1 : path;
	size_t sl = dot ? (size_t)(dot - path) : 0;
	struct cand {
		const char *name;
		unsigned d;
	} c[NKEYS + 4];
	size_t nc = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		const char *k = schema[i].key, *kd = strchr(k, '.');
		const char *kl = kd ? kd + 1 : k;
		size_t ksl = kd ? (size_t)(kd - k) : 0;
		if (strcmp(kl, leaf) == 0)
			c[nc++] = (struct cand){k, 0};
		else if (ksl == sl && strncmp(k, path, sl) == 0 && close_enough(leaf, kl))
			c[nc++] = (struct cand){k, edit_distance(leaf, kl)};
	}
	/* A misspelt section name: sections are what comes before the dots of the table. */
	for (size_t i = 0; dot == NULL && i < NKEYS; i++) {
		const char *kd = strchr(schema[i].key, '.');
		size_t ksl = kd ? (size_t)(kd - schema[i].key) : 0;
		if (ksl == 0 || ksl >= sizeof(secbuf[0]) ||
		    (i > 0 && strncmp(schema[i - 1].key, schema[i].key, ksl + 1) == 0))
			continue;
		snprintf(secbuf[i], sizeof(secbuf[i]), "%.*s", (int)ksl, schema[i].key);
		if (close_enough(path, secbuf[i]))
			c[nc++] = (struct cand){secbuf[i], edit_distance(path, secbuf[i])};
	}
	if (nc == 0)
		return;
	unsigned best = UINT_MAX;
	for (size_t i = 0; i < nc; i++)
		if (c[i].d < best)
			best = c[i].d;
	const char *pick[3];
	size_t np = 0;
	for (size_t i = 0; i < nc && np < 3; i++)
		if (c[i].d == best)
			pick[np++] = c[i].name;
	if (np == 1)
		snprintf(out, len, " (did you mean '%s'?)", pick[0]);
	else if (np == 2)
		snprintf(out, len, " (did you mean '%s' or '%s'?)", pick[0], pick[1]);
	else
		snprintf(out, len, " (did you mean '%s', '%s' or '%s'?)", pick[0], pick[1],
		         pick[2]);
}

static int set_from_file(struct pb_conf *c, const char *path, const struct pb_yaml_node *key,
                         const struct pb_yaml_node *value, struct pb_conf_err *err)
{
	int i = find_key(path);
	char hint[160], q[160];

	if (i < 0) {
		suggest(path, hint, sizeof(hint));
		quote_text(q, sizeof(q), path, strlen(path), 120, '\'');
		const char *leaf = strrchr(path, '.');
		if (hint[0] == '\0' && leaf != NULL && is_section(leaf + 1, strlen(leaf + 1)))
			snprintf(hint, sizeof(hint),
			         " (%s is a section of its own: write it at the top level, not "
			         "indented)",
			         leaf + 1);
		if (hint[0] == '\0' && strchr(path, ':') != NULL)
			snprintf(hint, sizeof(hint),
			         " (a space must follow the ':' of 'key: value')");
		return errnode(err, PB_ERR_CONF, key, "unknown setting %s%s", q, hint);
	}
	c->v[i].set = true;
	c->v[i].line = value->line;
	c->v[i].col = value->col;
	return parse_value(c, &schema[i], value, &c->v[i], err);
}

static int read_section(struct pb_conf *c, const struct pb_yaml_node *key,
                        const struct pb_yaml_node *sec, struct pb_conf_err *err)
{
	char path[160];

	if (pb_yaml_is_null(sec))
		return 0; /* every line of the section commented out */
	if (sec->type != PB_YAML_MAPPING) {
		char names[400];
		size_t o = 0;
		names[0] = '\0';
		for (size_t i = 0; i < NKEYS && o < sizeof(names); i++)
			if (strncmp(schema[i].key, key->str, key->len) == 0 &&
			    schema[i].key[key->len] == '.')
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
				                      o ? ", " : "", schema[i].key + key->len + 1);
		return errnode(err, PB_ERR_CONF, sec,
		               "%s is a section: expected a mapping of its settings (%s), got %s",
		               key->str, names, pb_yaml_describe(sec));
	}
	for (size_t i = 0; i < sec->n; i++) {
		const struct pb_yaml_pair *p = &sec->pairs[i];
		snprintf(path, sizeof(path), "%s.%.100s", key->str, p->key->str);
		int rc = set_from_file(c, path, p->key, p->value, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Plain TCP is for tests on one machine: every address of the effective
 * configuration, defaults included, must be loopback (lib/tls refuses other
 * sockets at run time too; this says so at -t time).
 */
static int check_loopback(const struct pb_conf *c, const char *file, const char *key,
                          struct pb_conf_err *err)
{
	const struct val *v = &c->v[find_key(key)];
	const struct val *pt = &c->v[find_key("tls.plaintext_for_tests")];

	for (size_t j = 0; j < v->u.hp.n; j++) {
		if (is_loopback(v->u.hp.v[j].host))
			continue;
		if (v->set)
			return errat(
			    err, PB_ERR_CONF, file, v->line, v->col,
			    "%s: %s is not a loopback address, and tls.plaintext_for_tests "
			    "is true (plain TCP is for tests on 127.0.0.1, ::1 or localhost only)",
			    key, v->u.hp.v[j].text);
		return errat(
		    err, PB_ERR_CONF, file, pt->line, pt->col,
		    "tls.plaintext_for_tests is true, but %s is %s by default, which is not "
		    "loopback: set %s to an address such as 127.0.0.1:0",
		    key, v->u.hp.v[j].text, key);
	}
	return 0;
}

/* Rules between settings, checked once every value and default is in place. */
static int cross_check(const struct pb_conf *c, const char *file, struct pb_conf_err *err)
{
	static const char *const daemons[] = {"policyd", "logd"};
	const struct val *cert = &c->v[find_key("tls.cert")], *key = &c->v[find_key("tls.key")];
	int rc;

	if (cert->have != key->have) {
		const struct val *s = cert->have ? cert : key;
		return errat(err, PB_ERR_CONF, file, s->line, s->col,
		             "%s is set but %s is not: a certificate needs its private key",
		             cert->have ? "tls.cert" : "tls.key",
		             cert->have ? "tls.key" : "tls.cert");
	}
	if (c->v[find_key("tls.plaintext_for_tests")].u.b) {
		static const char *const lists[] = {"policyservers", "logservers", "policyd.listen",
		                                    "logd.listen"};
		for (size_t i = 0; i < 4; i++)
			if ((rc = check_loopback(c, file, lists[i], err)) != 0)
				return rc;
	}
	for (size_t d = 0; d < 2; d++) {
		char k1[64], k2[64];
		snprintf(k1, sizeof(k1), "%s.max_connections_per_peer", daemons[d]);
		snprintf(k2, sizeof(k2), "%s.max_connections", daemons[d]);
		const struct val *per = &c->v[find_key(k1)], *all = &c->v[find_key(k2)];
		if (per->u.i > all->u.i) {
			const struct val *s = per->set ? per : all;
			return errat(err, PB_ERR_CONF, file, s->line, s->col,
			             "%s (%lld) is more than %s (%lld)", k1, per->u.i, k2,
			             all->u.i);
		}
		snprintf(k1, sizeof(k1), "%s.group", daemons[d]);
		snprintf(k2, sizeof(k2), "%s.user", daemons[d]);
		const struct val *grp = &c->v[find_key(k1)], *usr = &c->v[find_key(k2)];
		if (grp->have && !usr->have)
			return errat(
			    err, PB_ERR_CONF, file, grp->line, grp->col,
			    "%s is set but %s is not: the group is only taken with the user", k1,
			    k2);
	}
	return 0;
}

/* Fields unset, then the file, then defaults in one place, then the rules between settings. */
static int conf_build(const char *file, const struct pb_yaml_node *root, struct pb_conf **confp,
                      struct pb_conf_err *err)
{
	struct pb_conf *c;
	int rc = 0;

	*confp = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return errat(err, PB_ERR_NOMEM, file, 0, 0, "out of memory");
	c->file = arena_strdup(&c->arena, file);
	if (c->file == NULL) {
		rc = errat(err, PB_ERR_NOMEM, file, 0, 0, "out of memory");
		goto done;
	}
	if (root != NULL && !pb_yaml_is_null(root)) {
		if (root->type != PB_YAML_MAPPING) {
			rc =
			    errnode(err, PB_ERR_CONF, root,
			            "expected the settings as a mapping (key: value lines), got %s",
			            pb_yaml_describe(root));
			goto done;
		}
		for (size_t i = 0; i < root->n; i++) {
			const struct pb_yaml_pair *p = &root->pairs[i];
			if (is_section(p->key->str, p->key->len))
				rc = read_section(c, p->key, p->value, err);
			else if (strchr(p->key->str, '.') != NULL && find_key(p->key->str) >= 0)
				rc = errnode(err, PB_ERR_CONF, p->key,
				             "write %s inside its section (%.*s:, then the key "
				             "indented on the next line)",
				             p->key->str, (int)strcspn(p->key->str, "."),
				             p->key->str);
			else
				rc = set_from_file(c, p->key->str, p->key, p->value, err);
			if (rc != 0)
				goto done;
		}
	}
	for (size_t i = 0; i < NKEYS; i++) {
		if (c->v[i].have || schema[i].def == NULL)
			continue;
		if ((rc = apply_default(c, &schema[i], &c->v[i], err)) != 0)
			goto done;
	}
	rc = cross_check(c, file, err);
done:
	if (rc != 0) {
		pb_conf_free(c);
		return rc;
	}
	*confp = c;
	return 0;
}

int pb_conf_load_buf(const char *name, const void *buf, size_t len, struct pb_conf **confp,
                     struct pb_conf_err *err)
{
	struct pb_yaml_doc *doc;
	int rc;

	*confp = NULL;
	if (name == NULL)
		name = "(buffer)";
	rc = pb_yaml_load_buf(name, buf, len, &doc, err);
	if (rc != 0)
		return rc;
	rc = conf_build(name, doc->root, confp, err);
	pb_yaml_doc_free(doc);
	return rc;
}

int pb_conf_load(const char *path, struct pb_conf **confp, struct pb_conf_err *err)
{
	struct pb_yaml_doc *doc;
	int rc;

	*confp = NULL;
	if (path == NULL)
		path = pb_conf_default_path();
	rc = pb_yaml_load_file(path, &doc, err);
	if (rc != 0)
		return rc;
	rc = conf_build(path, doc->root, confp, err);
	pb_yaml_doc_free(doc);
	return rc;
}

struct pb_conf *pb_conf_defaults(void)
{
	struct pb_conf *c;
	if (conf_build("(defaults)", NULL, &c, NULL) != 0)
		return NULL;
	return c;
}

void pb_conf_free(struct pb_conf *c)
{
	if (c == NULL)
		return;
	arena_free(&c->arena);
	free(c);
}

const char *pb_conf_file(const struct pb_conf *c)
{
	return c->file;
}

const char *pb_conf_default_path(void)
{
	return PB_SYSCONFDIR "/pbsh.yaml";
}

/* A process with privilege beyond its real user's: set-ID, or marked so by the kernel. */
static bool started_privileged(const char **why)
{
	if (getuid() != geteuid() || getgid() != getegid()) {
		*why = "a set-user-ID or set-group-ID process";
		return true;
	}
#if defined(__linux__) && defined(AT_SECURE)
	if (getauxval(AT_SECURE) != 0) {
		*why = "a process started with privilege (AT_SECURE)";
		return true;
	}
#elif defined(__OpenBSD__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__APPLE__)
	if (issetugid()) {
		*why = "a process started with privilege (issetugid)";
		return true;
	}
#endif
	return false;
}

bool pb_conf_path_allowed(const char *override, const char **errstr)
{
	static _Thread_local char msg[160];
	const char *why;

	if (override == NULL || strcmp(override, pb_conf_default_path()) == 0)
		return true;
	if (started_privileged(&why)) {
		snprintf(msg, sizeof(msg), "a settings file other than %s is refused in %s",
		         pb_conf_default_path(), why);
		*errstr = msg;
		return false;
	}
	return true;
}

/* ===========================================================================
 * Getters
 * ======================================================================== */

static const struct val *get(const struct pb_conf *c, const char *key, unsigned types,
                             const char *getter)
{
	int i = find_key(key);
	if (i < 0) {
		fprintf(stderr, "pbsh: %s(\"%s\"): no such setting in lib/conf.c's schema\n",
		        getter, key);
		abort();
	}
	if (!(types & (1u << schema[i].type))) {
		fprintf(stderr, "pbsh: %s(\"%s\"): the setting is of type %s\n", getter, key,
		        schema_info[i].type);
		abort();
	}
	return &c->v[i];
}

#define TB(t) (1u << (t))

const char *pb_conf_str(const struct pb_conf *c, const char *key)
{
	const struct val *v =
	    get(c, key, TB(T_STR) | TB(T_PATH) | TB(T_ENUM) | TB(T_LOGDEST), __func__);
	if (!v->have)
		return NULL;
	return schema[find_key(key)].type == T_LOGDEST ? v->text : v->u.s;
}

bool pb_conf_bool(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_BOOL), __func__)->u.b;
}

long long pb_conf_int(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_INT), __func__)->u.i;
}

int64_t pb_conf_ms(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_DURATION), __func__)->u.ms;
}

uint64_t pb_conf_size(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_SIZE), __func__)->u.size;
}

mode_t pb_conf_mode(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_MODE), __func__)->u.mode;
}

const char *const *pb_conf_list(const struct pb_conf *c, const char *key, size_t *n)
{
	static const char *const empty[] = {NULL};
	const struct val *v = get(c, key, TB(T_STRLIST), __func__);
	if (n != NULL)
		*n = v->have ? v->u.list.n : 0;
	return v->have ? v->u.list.v : empty;
}

const struct pb_hostport *pb_conf_hostports(const struct pb_conf *c, const char *key, size_t *n)
{
	const struct val *v = get(c, key, TB(T_HOSTPORTS) | TB(T_LISTEN), __func__);
	if (n != NULL)
		*n = v->have ? v->u.hp.n : 0;
	return v->have && v->u.hp.n ? v->u.hp.v : NULL;
}

void pb_conf_log(const struct pb_conf *c, const char *key, enum pb_log_dest *dest,
                 const char **path)
{
	const struct val *v = get(c, key, TB(T_LOGDEST), __func__);
	*dest = v->have ? v->u.log.dest : PB_LOG_STDERR;
	*path = v->have ? v->u.log.path : NULL;
}

bool pb_conf_is_set(const struct pb_conf *c, const char *key)
{
	return get(c, key, ~0u, __func__)->set;
}

const struct pb_conf_keyinfo *pb_conf_schema(size_t *n)
{
	*n = NKEYS;
	return schema_info;
}

void pb_conf_print_schema(FILE *f)
{
	int wk = 0, wt = 0, wd = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct pb_conf_keyinfo *k = &schema_info[i];
		int lk = (int)strlen(k->key), lt = (int)strlen(k->type);
		int ld = k->def ? (int)strlen(k->def) : 1;
		wk = lk > wk ? lk : wk;
		wt = lt > wt ? lt : wt;
		wd = ld > wd ? ld : wd;
	}
	for (size_t i = 0; i < NKEYS; i++)
		fprintf(f, "%-*s  %-*s  %-*s  %s\n", wk, schema_info[i].key, wt,
		        schema_info[i].type, wd, schema_info[i].def ? schema_info[i].def : "-",
		        schema_info[i].description);
}

/* A YAML double-quoted string that reads back as s. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void pb_conf_dump(const struct pb_conf *c, FILE *f)
{
	char section[32] = "";
	char buf[64];

	fprintf(f, "# effective settings from %s\n", c->file);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct keydef *k = &schema[i];
		const struct val *v = &c->v[i];
		const char *dot = strchr(k->key, '.');
		const char *name = dot ? dot + 1 : k->key;
		const char *indent = dot ? "  " : "";
		size_t sl = dot ? (size_t)(dot - k->key) : 0;

		if (sl != strlen(section) || strncmp(section, k->key, sl) != 0) {
			snprintf(section, sizeof(section), "%.*s", (int)sl, k->key);
			if (sl > 0)
				fprintf(f, "%s:\n", section);
		}
		if (!v->have) {
			fprintf(f, "%s# %s: (unset)\n", indent, name);
			continue;
		}
		fprintf(f, "%s%s: ", indent, name);
		switch (k->type) {
		case T_STR:
		case T_ENUM:
		case T_PATH:
			put_quoted(f, v->u.s);
			break;
		case T_LOGDEST:
			if (v->u.log.dest == PB_LOG_FILE) {
				/* Quoted: a path may hold ": " or " #". */
				char *fp = NULL;
				if (asprintf(&fp, "file:%s", v->text) < 0) {
					fputs("stderr", f);
					break;
				}
				put_quoted(f, fp);
				free(fp);
			} else {
				fputs(v->text, f);
			}
			break;
		case T_BOOL:
			fputs(v->u.b ? "true" : "false", f);
			break;
		case T_INT:
			fprintf(f, "%lld", v->u.i);
			break;
		case T_DURATION:
			fmt_duration(buf, sizeof(buf), v->u.ms);
			fputs(buf, f);
			break;
		case T_SIZE:
			fmt_size(buf, sizeof(buf), v->u.size);
			fputs(buf, f);
			break;
		case T_MODE:
			fprintf(f, "0%03o", (unsigned)v->u.mode);
			break;
		case T_HOSTPORTS:
		case T_LISTEN:
			fputc('[', f);
			for (size_t j = 0; j < v->u.hp.n; j++) {
				if (j)
					fputs(", ", f);
				put_quoted(f, v->u.hp.v[j].text);
			}
			fputc(']', f);
			break;
		case T_STRLIST:
			fputc('[', f);
			for (size_t j = 0; j < v->u.list.n; j++) {
				if (j)
					fputs(", ", f);
				put_quoted(f, v->u.list.v[j]);
			}
			fputc(']', f);
			break;
		}
		fputc('\n', f);
	}
}

int pb_conf_check(const char *prog, const char *path)
{
	struct pb_conf_err err;
	struct pb_conf *c;

	if (pb_conf_load(path, &c, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return 2;
	}
	pb_conf_free(c);
	return 0;
}
