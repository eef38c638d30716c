/* SPDX-License-Identifier: ISC */
/* Length-prefixed framing (DESIGN §4): a 32-bit big-endian length, then one protobuf message. */
#ifndef PB_FRAME_H
#define PB_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#define PB_FRAME_HDR 4u
#define PB_FRAME_MAX_DEFAULT (2u * 1024u * 1024u)

/*
 * Incremental decoder. Feed it whatever a read returned; it never allocates
 * before the header has been checked against the maximum, and never more
 * than the announced length.
 */
struct pb_frame_dec {
	uint32_t max;		 /* largest accepted payload */
	uint8_t hdr[PB_FRAME_HDR];
	size_t hdr_have;	 /* header bytes seen so far */
	uint32_t len;		 /* payload length once the header is complete */
	size_t have;		 /* payload bytes seen so far */
	uint8_t *buf;		 /* payload, malloc'd once the header is accepted */
	bool complete;		 /* a whole frame is waiting in buf */
};

/* pb_frame_dec_init: set up an empty decoder; max 0 means PB_FRAME_MAX_DEFAULT. */
void pb_frame_dec_init(struct pb_frame_dec *d, uint32_t max);

/*
 * pb_frame_dec_feed: consume bytes. Returns how many bytes were used (it
 * stops at the end of one frame, so call again with the rest), or
 * PB_ERR_FRAME_ZERO / PB_ERR_FRAME_BIG / PB_ERR_NOMEM. After a frame is
 * complete (d->complete), take it before feeding more.
 */
ssize_t pb_frame_dec_feed(struct pb_frame_dec *d, const void *data, size_t n);

/* pb_frame_dec_started: true when part of a frame has arrived (for per-frame deadlines). */
bool pb_frame_dec_started(const struct pb_frame_dec *d);

/*
 * pb_frame_dec_take: hand the completed payload to the caller, who frees it
 * with free(); *len gets its length. Resets the decoder for the next frame.
 * Returns NULL when no frame is complete.
 */
uint8_t *pb_frame_dec_take(struct pb_frame_dec *d, size_t *len);

/* pb_frame_dec_free: release a partial frame; the decoder may be reused after init. */
void pb_frame_dec_free(struct pb_frame_dec *d);

/* pb_frame_put_hdr: write the 4-byte big-endian header for a payload of len bytes. */
void pb_frame_put_hdr(uint8_t hdr[PB_FRAME_HDR], uint32_t len);

/*
 * pb_frame_pack: serialise a protobuf-c message behind its header into one
 * malloc'd buffer (caller frees). Returns 0, PB_ERR_NOMEM, or
 * PB_ERR_FRAME_BIG when the message exceeds max (0 = default).
 */
int pb_frame_pack(const ProtobufCMessage *msg, uint32_t max, uint8_t **out, size_t *outlen);

/*
 * Blocking helpers for byte-stream descriptors (pipes, stream sockets, spool
 * files; not SOCK_SEQPACKET, where one read takes one whole record). pb_frame_write_fd writes header and payload fully (EINTR is
 * retried). pb_frame_read_fd reads one frame; timeout_ms < 0 waits forever.
 * The payload is malloc'd for the caller. Errors: PB_ERR_EOF at a clean end
 * before any byte, PB_ERR_TRUNCATED inside a frame, PB_ERR_TIMEOUT,
 * PB_ERR_FRAME_ZERO, PB_ERR_FRAME_BIG, PB_ERR_IO.
 */
int pb_frame_write_fd(int fd, const void *payload, size_t len);
int pb_frame_read_fd(int fd, uint32_t max, int timeout_ms, uint8_t **payload, size_t *len);

#endif
