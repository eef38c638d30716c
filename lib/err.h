/* SPDX-License-Identifier: ISC */
/* Error codes shared by lib/, policyd/ and logd/: 0 is success, PB_ERR_* are negative. */
#ifndef PB_ERR_H
#define PB_ERR_H

enum pb_err {
	PB_OK = 0,
	PB_ERR_NOMEM = -1,	/* allocation failed or a memory budget was exceeded */
	PB_ERR_IO = -2,		/* a system call failed; errno says why */
	PB_ERR_EOF = -3,	/* the peer closed the stream */
	PB_ERR_TIMEOUT = -4,	/* a deadline passed */
	PB_ERR_AGAIN = -5,	/* would block: try again when the fd is ready */
	PB_ERR_WANT_READ = -6,	/* TLS: wait until the fd is readable */
	PB_ERR_WANT_WRITE = -7, /* TLS: wait until the fd is writable */
	PB_ERR_FRAME_ZERO = -8, /* a frame announced a length of 0 */
	PB_ERR_FRAME_BIG = -9,	/* a frame announced a length over the maximum */
	PB_ERR_TRUNCATED = -10, /* the stream ended inside a frame */
	PB_ERR_PROTO = -11,	/* a message could not be decoded or was out of order */
	PB_ERR_TLS = -12,	/* TLS failure (handshake, verification, record) */
	PB_ERR_CONF = -13,	/* configuration or policy error */
	PB_ERR_INVAL = -14,	/* a caller passed an invalid argument */
	PB_ERR_DENIED = -15,	/* the peer is not allowed to do this */
	PB_ERR_LIMIT = -16,	/* a configured limit was reached */
	PB_ERR_NOTFOUND = -17,	/* no such object */
	PB_ERR_EXISTS = -18,	/* the object already exists */
	PB_ERR_NOSPC = -19,	/* the disk is full */
};

/* pb_strerror: a static English text for an error code (never NULL). */
const char *pb_strerror(int err);

#endif
