/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/frame: split reads of every size, zero length, oversize, truncation, fd helpers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "err.h"
#include "frame.h"

static uint8_t *make_stream(const char *const *msgs, size_t n, size_t *len)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += PB_FRAME_HDR + strlen(msgs[i]);
	uint8_t *buf = malloc(total), *p = buf;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(msgs[i]);
		pb_frame_put_hdr(p, (uint32_t)l);
		memcpy(p + PB_FRAME_HDR, msgs[i], l);
		p += PB_FRAME_HDR + l;
	}
	*len = total;
	return buf;
}

/* Feed the stream in chunks of `step` bytes and check every frame comes out intact. */
static void feed_in_steps(const uint8_t *stream, size_t len, size_t step, const char *const *msgs,
			  size_t nmsgs)
{
	struct pb_frame_dec d;
	size_t got = 0;
	pb_frame_dec_init(&d, 0);
	for (size_t off = 0; off < len;) {
		size_t n = len - off < step ? len - off : step;
		size_t pos = 0;
		while (pos < n) {
			ssize_t used = pb_frame_dec_feed(&d, stream + off + pos, n - pos);
			cr_assert(used >= 0, "feed failed: %s", pb_strerror((int)used));
			pos += (size_t)used;
			if (d.complete) {
				size_t flen;
				uint8_t *f = pb_frame_dec_take(&d, &flen);
				cr_assert_not_null(f);
				cr_assert_lt(got, nmsgs);
				cr_assert_eq(flen, strlen(msgs[got]), "step %zu frame %zu", step, got);
				cr_assert(memcmp(f, msgs[got], flen) == 0);
				free(f);
				got++;
			}
		}
		off += n;
	}
	cr_assert_eq(got, nmsgs, "step %zu: %zu of %zu frames", step, got, nmsgs);
	cr_assert_not(pb_frame_dec_started(&d));
	pb_frame_dec_free(&d);
}

Test(frame, split_reads_of_every_size)
{
	const char *msgs[] = {"a", "hello world", "x", "0123456789abcdef0123456789", "z"};
	size_t len;
	uint8_t *stream = make_stream(msgs, 5, &len);
	for (size_t step = 1; step <= len; step++)
		feed_in_steps(stream, len, step, msgs, 5);
	free(stream);
}

Test(frame, zero_length_rejected)
{
	struct pb_frame_dec d;
	uint8_t hdr[4] = {0, 0, 0, 0};
	pb_frame_dec_init(&d, 0);
	cr_assert_eq(pb_frame_dec_feed(&d, hdr, 3), 3);
	cr_assert(pb_frame_dec_started(&d));
	cr_assert_eq(pb_frame_dec_feed(&d, hdr + 3, 1), PB_ERR_FRAME_ZERO);
	cr_assert_null(d.buf);
	pb_frame_dec_free(&d);
}

Test(frame, oversize_rejected_before_allocation)
{
	struct pb_frame_dec d;
	uint8_t hdr[4];
	pb_frame_dec_init(&d, 1024);
	pb_frame_put_hdr(hdr, 1025);
	cr_assert_eq(pb_frame_dec_feed(&d, hdr, 4), PB_ERR_FRAME_BIG);
	cr_assert_null(d.buf, "nothing may be allocated for an oversized frame");
	pb_frame_dec_free(&d);

	pb_frame_dec_init(&d, 0);
	pb_frame_put_hdr(hdr, 0xffffffffu);
	cr_assert_eq(pb_frame_dec_feed(&d, hdr, 4), PB_ERR_FRAME_BIG);
	cr_assert_null(d.buf);
	pb_frame_put_hdr(hdr, PB_FRAME_MAX_DEFAULT + 1);
	pb_frame_dec_init(&d, 0);
	cr_assert_eq(pb_frame_dec_feed(&d, hdr, 4), PB_ERR_FRAME_BIG);
	pb_frame_dec_free(&d);
}

Test(frame, maximum_is_accepted)
{
	struct pb_frame_dec d;
	uint8_t hdr[4];
	pb_frame_dec_init(&d, 16);
	pb_frame_put_hdr(hdr, 16);
	cr_assert_eq(pb_frame_dec_feed(&d, hdr, 4), 4);
	cr_assert_eq(pb_frame_dec_feed(&d, "0123456789abcdefEXTRA", 21), 16,
		     "the decoder stops at the end of the frame");
	cr_assert(d.complete);
	cr_assert_eq(pb_frame_dec_feed(&d, "E", 1), 0, "no bytes taken while a frame waits");
	size_t l;
	free(pb_frame_dec_take(&d, &l));
	cr_assert_eq(l, 16);
	pb_frame_dec_free(&d);
}

Test(frame, fd_roundtrip_and_truncation)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	cr_assert_eq(pb_frame_write_fd(sv[0], "payload", 7), 0);
	uint8_t *p;
	size_t l;
	cr_assert_eq(pb_frame_read_fd(sv[1], 0, 1000, &p, &l), 0);
	cr_assert_eq(l, 7);
	cr_assert(memcmp(p, "payload", 7) == 0);
	free(p);

	/* Nothing arrives: timeout. */
	cr_assert_eq(pb_frame_read_fd(sv[1], 0, 50, &p, &l), PB_ERR_TIMEOUT);

	/* A header announcing 10 bytes, 3 bytes, then EOF: truncated. */
	uint8_t hdr[4];
	pb_frame_put_hdr(hdr, 10);
	cr_assert_eq(write(sv[0], hdr, 4), 4);
	cr_assert_eq(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	cr_assert_eq(pb_frame_read_fd(sv[1], 0, 1000, &p, &l), PB_ERR_TRUNCATED);
	/* And at a frame boundary: a clean EOF. */
	cr_assert_eq(pb_frame_read_fd(sv[1], 0, 1000, &p, &l), PB_ERR_EOF);
	close(sv[1]);
}

Test(frame, fd_oversize_and_zero)
{
	int sv[2];
	uint8_t hdr[4];
	uint8_t *p;
	size_t l;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pb_frame_put_hdr(hdr, 100);
	cr_assert_eq(write(sv[0], hdr, 4), 4);
	cr_assert_eq(pb_frame_read_fd(sv[1], 64, 1000, &p, &l), PB_ERR_FRAME_BIG);
	pb_frame_put_hdr(hdr, 0);
	cr_assert_eq(write(sv[0], hdr, 4), 4);
	cr_assert_eq(pb_frame_read_fd(sv[1], 64, 1000, &p, &l), PB_ERR_FRAME_ZERO);
	cr_assert_eq(pb_frame_write_fd(sv[0], "", 0), PB_ERR_FRAME_ZERO);
	close(sv[0]);
	close(sv[1]);
}
