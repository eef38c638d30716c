/* SPDX-License-Identifier: ISC */
/* Session channels (DESIGN §8): protobuf messages over AF_UNIX SOCK_SEQPACKET, with fds. */
#ifndef PB_CHAN_H
#define PB_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/*
 * A message is sent as one or more records. Each record starts with one flag
 * byte: PB_CHAN_MORE when further records of the same message follow. File
 * descriptors, if any, travel with the first record. A channel is used by one
 * process at a time (DESIGN §8), so records of two messages never interleave.
 */
#define PB_CHAN_MORE 0x01u
#define PB_CHAN_RECORD (64u * 1024u)	/* payload bytes per record */
#define PB_CHAN_MAX_FDS 4

/*
 * pb_chan_pair: a connected SOCK_SEQPACKET pair, both ends close-on-exec.
 * Returns 0 or PB_ERR_IO (errno kept).
 */
int pb_chan_pair(int sv[2]);

/*
 * pb_chan_send: serialise msg and send it on sock with nfds descriptors
 * (0..PB_CHAN_MAX_FDS; the caller keeps its copies). Blocks until sent;
 * EINTR is retried. max bounds the message (0 = PB_FRAME_MAX_DEFAULT).
 * Returns 0, PB_ERR_FRAME_BIG, PB_ERR_NOMEM, PB_ERR_INVAL (too many fds),
 * PB_ERR_EOF (peer gone) or PB_ERR_IO (errno kept).
 */
int pb_chan_send(int sock, const ProtobufCMessage *msg, const int *fds, int nfds, uint32_t max);

/*
 * pb_chan_recv: receive one whole message from sock. *buf gets a malloc'd
 * copy of the serialised message (caller frees) and *len its length; up to
 * PB_CHAN_MAX_FDS received descriptors are stored in fds (close-on-exec) and
 * their count in *nfds (fds may be NULL when none are expected: received
 * descriptors are then closed, *nfds may be NULL too). timeout_ms < 0 blocks
 * in recvmsg, as long as the socket's SO_RCVTIMEO allows (none: forever);
 * else it bounds the wait for each record (a record already there costs no
 * poll). Returns 0, PB_ERR_EOF (peer
 * closed before a message began), PB_ERR_TRUNCATED (closed inside one),
 * PB_ERR_TIMEOUT, PB_ERR_FRAME_BIG (over max; 0 = PB_FRAME_MAX_DEFAULT),
 * PB_ERR_FRAME_ZERO (an empty record), PB_ERR_NOMEM or PB_ERR_IO. On error no
 * descriptor stays open and *buf is NULL.
 */
int pb_chan_recv(int sock, uint8_t **buf, size_t *len, int *fds, int *nfds, int timeout_ms,
		 uint32_t max);

#endif
