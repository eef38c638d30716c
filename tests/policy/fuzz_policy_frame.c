/* SPDX-License-Identifier: ISC */
/* Fuzz harness: frames → wire checks → budgeted protobuf decoding, as policyd reads a connection. */
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"
#include "policy.pb-c.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pd_unpack_arena *a;
	struct pb_frame_dec dec;
	size_t off = 0;

	if (a == NULL)
		a = pd_unpack_arena_new(3u * PB_FRAME_MAX_DEFAULT);
	pb_frame_dec_init(&dec, 0);
	while (off < size) {
		ssize_t used = pb_frame_dec_feed(&dec, data + off, size - off);
		if (used < 0)
			break;
		off += (size_t)used;
		if (dec.complete) {
			size_t len;
			const char *why;
			uint8_t *msg = pb_frame_dec_take(&dec, &len);
			if (msg != NULL && pd_wire_check(&policy_request__descriptor, msg, len, &why) == 0) {
				PolicyRequest *r = policy_request__unpack(pd_unpack_arena_allocator(a), len, msg);
				(void)r;
				pd_unpack_arena_reset(a);
			}
			free(msg);
		} else if (used == 0) {
			break;
		}
	}
	pb_frame_dec_free(&dec);
	return 0;
}
