/* SPDX-License-Identifier: ISC */
/* Length-prefixed framing: the only place that knows the wire layout of a frame (DESIGN §4). */
#include "frame.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

void pb_frame_dec_init(struct pb_frame_dec *d, uint32_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max ? max : PB_FRAME_MAX_DEFAULT;
}

bool pb_frame_dec_started(const struct pb_frame_dec *d)
{
	return d->hdr_have > 0 && !d->complete;
}

ssize_t pb_frame_dec_feed(struct pb_frame_dec *d, const void *data, size_t n)
{
	const uint8_t *p = data;
	size_t used = 0;

	if (d->complete)
		return 0;
	while (d->hdr_have < PB_FRAME_HDR && used < n)
		d->hdr[d->hdr_have++] = p[used++];
	if (d->hdr_have < PB_FRAME_HDR)
		return (ssize_t)used;
	if (d->buf == NULL) {
		/* The header is checked before a single payload byte is allocated. */
		uint32_t len = (uint32_t)d->hdr[0] << 24 | (uint32_t)d->hdr[1] << 16 |
			       (uint32_t)d->hdr[2] << 8 | (uint32_t)d->hdr[3];
		if (len == 0)
			return PB_ERR_FRAME_ZERO;
		if (len > d->max)
			return PB_ERR_FRAME_BIG;
		d->buf = malloc(len);
		if (d->buf == NULL)
			return PB_ERR_NOMEM;
		d->len = len;
		d->have = 0;
	}
	size_t want = d->len - d->have;
	size_t take = n - used < want ? n - used : want;
	memcpy(d->buf + d->have, p + used, take);
	d->have += take;
	used += take;
	if (d->have == d->len)
		d->complete = true;
	return (ssize_t)used;
}

uint8_t *pb_frame_dec_take(struct pb_frame_dec *d, size_t *len)
{
	if (!d->complete)
		return NULL;
	uint8_t *buf = d->buf;
	*len = d->len;
	uint32_t max = d->max;
	pb_frame_dec_init(d, max);
	return buf;
}

void pb_frame_dec_free(struct pb_frame_dec *d)
{
	free(d->buf);
	pb_frame_dec_init(d, d->max);
}

void pb_frame_put_hdr(uint8_t hdr[PB_FRAME_HDR], uint32_t len)
{
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
}

int pb_frame_pack(const ProtobufCMessage *msg, uint32_t max, uint8_t **out, size_t *outlen)
{
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (max == 0)
		max = PB_FRAME_MAX_DEFAULT;
	/* An empty message still needs a non-empty frame: the peer rejects length 0. */
	if (len > max)
		return PB_ERR_FRAME_BIG;
	if (len == 0)
		return PB_ERR_FRAME_ZERO;
	uint8_t *buf = malloc(PB_FRAME_HDR + len);
	if (buf == NULL)
		return PB_ERR_NOMEM;
	pb_frame_put_hdr(buf, (uint32_t)len);
	protobuf_c_message_pack(msg, buf + PB_FRAME_HDR);
	*out = buf;
	*outlen = PB_FRAME_HDR + len;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = {.fd = fd, .events = POLLOUT};
				(void)poll(&pfd, 1, -1);
				continue;
			}
			return PB_ERR_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int pb_frame_write_fd(int fd, const void *payload, size_t len)
{
	uint8_t hdr[PB_FRAME_HDR];

	if (len == 0)
		return PB_ERR_FRAME_ZERO;
	if (len > UINT32_MAX)
		return PB_ERR_FRAME_BIG;
	pb_frame_put_hdr(hdr, (uint32_t)len);
	int rc = write_all(fd, hdr, sizeof(hdr));
	if (rc == 0)
		rc = write_all(fd, payload, len);
	return rc;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pb_frame_read_fd(int fd, uint32_t max, int timeout_ms, uint8_t **payload, size_t *len)
{
	struct pb_frame_dec d;
	uint8_t chunk[4096];
	long long deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
	int rc;

	pb_frame_dec_init(&d, max);
	for (;;) {
		/* Read no further than the end of this frame: the next one belongs to the next call. */
		size_t want = d.hdr_have < PB_FRAME_HDR ? PB_FRAME_HDR - d.hdr_have : d.len - d.have;
		if (want > sizeof(chunk))
			want = sizeof(chunk);
		if (deadline >= 0) {
			long long left = deadline - now_ms();
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int pr = left > 0 ? poll(&pfd, 1, (int)left) : 0;
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0) {
				rc = PB_ERR_IO;
				goto done;
			}
			if (pr == 0) {
				rc = PB_ERR_TIMEOUT;
				goto done;
			}
		}
		ssize_t r = read(fd, chunk, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = {.fd = fd, .events = POLLIN};
				(void)poll(&pfd, 1, -1);
				continue;
			}
			rc = PB_ERR_IO;
			goto done;
		}
		if (r == 0) {
			rc = d.hdr_have == 0 ? PB_ERR_EOF : PB_ERR_TRUNCATED;
			goto done;
		}
		ssize_t used = pb_frame_dec_feed(&d, chunk, (size_t)r);
		if (used < 0) {
			rc = (int)used;
			goto done;
		}
		if (d.complete) {
			*payload = pb_frame_dec_take(&d, len);
			return 0;
		}
	}
done:
	pb_frame_dec_free(&d);
	return rc;
}
