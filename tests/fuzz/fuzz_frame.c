/* SPDX-License-Identifier: ISC */
/* Fuzz harness: the incremental frame decoder fed arbitrary bytes in arbitrary splits. */
#include <stdint.h>
#include <stdlib.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_frame_dec d;
	if (size < 1)
		return 0;
	/* First byte picks the split size and a small maximum so oversize paths are reached. */
	size_t step = (size_t)(data[0] % 7) + 1;
	pb_frame_dec_init(&d, 64);
	size_t off = 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		ssize_t used = pb_frame_dec_feed(&d, data + off, n);
		if (used < 0)
			break;
		if (d.complete) {
			size_t len;
			uint8_t *f = pb_frame_dec_take(&d, &len);
			if (f == NULL || len == 0 || len > 64)
				abort();
			free(f);
		}
		off += (size_t)used;
	}
	pb_frame_dec_free(&d);
	return 0;
}
