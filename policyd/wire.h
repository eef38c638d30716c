/* SPDX-License-Identifier: ISC */
/* Strict checks of a protobuf message's wire form before protobuf-c decodes it. */
#ifndef POLICYD_WIRE_H
#define POLICYD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Deepest message nesting accepted. */
#define PD_WIRE_MAX_DEPTH 16

/*
 * pd_wire_check: walk buf as a message of type desc and refuse what
 * protobuf-c would accept silently but policyd must not: a NUL byte inside
 * a string (C code would see a shorter string than was sent), two members
 * of one oneof (protobuf keeps the last; we refuse the ambiguity), group
 * wire types, field number 0, truncated fields and nesting beyond
 * PD_WIRE_MAX_DEPTH. Unknown fields are skipped. Returns 0, or
 * PB_ERR_PROTO with *why (static text).
 */
int pd_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
		  const char **why);

/*
 * A bump allocator for protobuf_c_message_unpack with a byte budget: a
 * hostile message (a million empty repeated strings) fails to decode
 * instead of costing a hundred megabytes, and decoding does no malloc per
 * field. free is a no-op; pd_unpack_arena_reset releases everything.
 */
struct pd_unpack_arena;

/* pd_unpack_arena_new: an arena that hands out at most budget bytes between resets; NULL on ENOMEM. */
struct pd_unpack_arena *pd_unpack_arena_new(size_t budget);

/* pd_unpack_arena_free: release it; NULL is accepted. */
void pd_unpack_arena_free(struct pd_unpack_arena *a);

/* pd_unpack_arena_allocator: the ProtobufCAllocator drawing from a (valid while a lives). */
ProtobufCAllocator *pd_unpack_arena_allocator(struct pd_unpack_arena *a);

/* pd_unpack_arena_reset: forget every allocation (keeps the first block for reuse). */
void pd_unpack_arena_reset(struct pd_unpack_arena *a);

#endif
