/* SPDX-License-Identifier: ISC */
/* Strict wire checks before protobuf-c decodes a message, and the budgeted bump allocator it decodes with. */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -1;
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

static int check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, const uint8_t *end,
		 int depth, const char **why)
{
	/* quantifier offsets of the oneofs seen at this level */
	unsigned seen[32];
	unsigned n_seen = 0;

	if (depth > PD_WIRE_MAX_DEPTH) {
		*why = "messages nested too deeply";
		return PB_ERR_PROTO;
	}
	while (p < end) {
		uint64_t tag, len;
		if (get_varint(&p, end, &tag) < 0) {
			*why = "truncated field tag";
			return PB_ERR_PROTO;
		}
		uint64_t num = tag >> 3;
		unsigned wt = (unsigned)(tag & 7);
		if (num == 0 || num > 536870911u) {
			*why = "invalid field number";
			return PB_ERR_PROTO;
		}
		const ProtobufCFieldDescriptor *f =
			desc != NULL ? protobuf_c_message_descriptor_get_field(desc, (unsigned)num) : NULL;
		switch (wt) {
		case 0:
			if (get_varint(&p, end, &len) < 0) {
				*why = "truncated varint";
				return PB_ERR_PROTO;
			}
			break;
		case 1:
			if (end - p < 8) {
				*why = "truncated fixed64";
				return PB_ERR_PROTO;
			}
			p += 8;
			break;
		case 5:
			if (end - p < 4) {
				*why = "truncated fixed32";
				return PB_ERR_PROTO;
			}
			p += 4;
			break;
		case 2:
			if (get_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p)) {
				*why = "truncated length-delimited field";
				return PB_ERR_PROTO;
			}
			if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)len) != NULL) {
				*why = "NUL character inside a string";
				return PB_ERR_PROTO;
			}
			if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				int rc = check(f->descriptor, p, p + len, depth + 1, why);
				if (rc < 0)
					return rc;
			}
			p += len;
			break;
		default:
			*why = "unsupported wire type (groups are not used)";
			return PB_ERR_PROTO;
		}
		if (f != NULL && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
			for (unsigned i = 0; i < n_seen; i++) {
				if (seen[i] == f->quantifier_offset) {
					*why = "more than one member of a oneof";
					return PB_ERR_PROTO;
				}
			}
			if (n_seen < sizeof(seen) / sizeof(seen[0]))
				seen[n_seen++] = f->quantifier_offset;
		}
	}
	return 0;
}

int pd_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
		  const char **why)
{
	*why = "";
	return check(desc, buf, buf + len, 0, why);
}

struct ublock {
	struct ublock *next;
	size_t used, cap;
	max_align_t data[];
};

struct pd_unpack_arena {
	ProtobufCAllocator alloc;
	struct ublock *first; /* kept across resets */
	struct ublock *extra; /* freed at reset */
	size_t budget, spent;
};

#define FIRST_BLOCK 65536u

static void *arena_alloc_cb(void *data, size_t size)
{
	struct pd_unpack_arena *a = data;
	const size_t al = sizeof(max_align_t);
	size_t need = (size + al - 1) / al * al;
	if (need == 0)
		need = al;
	if (need > a->budget - a->spent)
		return NULL;
	a->spent += need;
	struct ublock *b = a->first;
	if (b->cap - b->used < need) {
		b = a->extra;
		if (b == NULL || b->cap - b->used < need) {
			size_t cap = need > FIRST_BLOCK ? need : FIRST_BLOCK;
			b = malloc(sizeof(*b) + cap);
			if (b == NULL)
				return NULL;
			b->cap = cap;
			b->used = 0;
			b->next = a->extra;
			a->extra = b;
		}
	}
	void *p = (char *)b->data + b->used;
	b->used += need;
	return p;
}

static void arena_free_cb(void *data, void *ptr)
{
	(void)data;
	(void)ptr;
}

struct pd_unpack_arena *pd_unpack_arena_new(size_t budget)
{
	struct pd_unpack_arena *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->first = malloc(sizeof(*a->first) + FIRST_BLOCK);
	if (a->first == NULL) {
		free(a);
		return NULL;
	}
	a->first->cap = FIRST_BLOCK;
	a->first->used = 0;
	a->first->next = NULL;
	a->budget = budget;
	a->alloc.alloc = arena_alloc_cb;
	a->alloc.free = arena_free_cb;
	a->alloc.allocator_data = a;
	return a;
}

void pd_unpack_arena_reset(struct pd_unpack_arena *a)
{
	struct ublock *b = a->extra;
	while (b != NULL) {
		struct ublock *n = b->next;
		free(b);
		b = n;
	}
	a->extra = NULL;
	a->first->used = 0;
	a->spent = 0;
}

void pd_unpack_arena_free(struct pd_unpack_arena *a)
{
	if (a == NULL)
		return;
	pd_unpack_arena_reset(a);
	free(a->first);
	free(a);
}

ProtobufCAllocator *pd_unpack_arena_allocator(struct pd_unpack_arena *a)
{
	return &a->alloc;
}
