/* SPDX-License-Identifier: ISC */
/* Session channels: protobuf messages as SOCK_SEQPACKET records, descriptors by SCM_RIGHTS. */
#include "chan.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "frame.h"

int pb_chan_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return PB_ERR_IO;
	return 0;
}

/* send_record: one record (flag byte + data) with descriptors attached to it. */
static int send_record(int sock, uint8_t flag, const uint8_t *data, size_t n, const int *fds,
		       int nfds)
{
	struct iovec iov[2] = {{&flag, 1}, {(void *)data, n}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * PB_CHAN_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = n > 0 ? 2 : 1};

	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	for (;;) {
		ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (r >= 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EPIPE || errno == ECONNRESET ? PB_ERR_EOF : PB_ERR_IO;
	}
}

int pb_chan_send(int sock, const ProtobufCMessage *msg, const int *fds, int nfds, uint32_t max)
{
	if (nfds < 0 || nfds > PB_CHAN_MAX_FDS)
		return PB_ERR_INVAL;
	if (max == 0)
		max = PB_FRAME_MAX_DEFAULT;
	size_t n = protobuf_c_message_get_packed_size(msg);
	if (n > max)
		return PB_ERR_FRAME_BIG;
	uint8_t small[512];
	uint8_t *buf = n <= sizeof(small) ? small : malloc(n);
	if (buf == NULL)
		return PB_ERR_NOMEM;
	protobuf_c_message_pack(msg, buf);

	int rc = 0;
	size_t off = 0;
	do {
		size_t chunk = n - off < PB_CHAN_RECORD ? n - off : PB_CHAN_RECORD;
		uint8_t flag = off + chunk < n ? PB_CHAN_MORE : 0;
		rc = send_record(sock, flag, buf + off, chunk, off == 0 ? fds : NULL,
				 off == 0 ? nfds : 0);
		off += chunk;
	} while (rc == 0 && off < n);
	if (buf != small)
		free(buf);
	return rc;
}

/* wait_readable: poll for input; 0 when readable, PB_ERR_TIMEOUT or PB_ERR_IO. */
static int wait_readable(int sock, int timeout_ms)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r > 0)
			return 0;
		if (r == 0)
			return PB_ERR_TIMEOUT;
		if (errno != EINTR)
			return PB_ERR_IO;
	}
}

/* take_fds: move the descriptors of a control message into out[], closing any beyond room. */
static void take_fds(struct msghdr *mh, int *out, int *count, int room)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*count < room)
				out[(*count)++] = fd;
			else
				close(fd);
		}
	}
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

int pb_chan_recv(int sock, uint8_t **buf, size_t *len, int *fds, int *nfds, int timeout_ms,
		 uint32_t max)
{
	int got[PB_CHAN_MAX_FDS];
	int ngot = 0;
	uint8_t *msg = NULL;
	size_t have = 0;
	uint8_t *rec = malloc(PB_CHAN_RECORD + 1);
	int rc = 0;
	bool more = true;

	*buf = NULL;
	*len = 0;
	if (nfds != NULL)
		*nfds = 0;
	if (max == 0)
		max = PB_FRAME_MAX_DEFAULT;
	if (rec == NULL)
		return PB_ERR_NOMEM;
	/*
	 * With a timeout, a record that is already there is taken at once (the
	 * caller's epoll said so) and poll only waits for one that is not; with
	 * none, recvmsg blocks, bounded by the socket's SO_RCVTIMEO if it has one.
	 */
	int dontwait = timeout_ms >= 0 ? MSG_DONTWAIT : 0;
	while (more) {
		union {
			char b[CMSG_SPACE(sizeof(int) * PB_CHAN_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {rec, PB_CHAN_RECORD + 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b)};
		ssize_t r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | dontwait);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				rc = dontwait ? wait_readable(sock, timeout_ms) : PB_ERR_TIMEOUT;
				if (rc < 0)
					break;
				continue;
			}
			rc = errno == ECONNRESET ? (have > 0 ? PB_ERR_TRUNCATED : PB_ERR_EOF)
						 : PB_ERR_IO;
			break;
		}
		take_fds(&mh, got, &ngot, fds != NULL ? PB_CHAN_MAX_FDS : 0);
		if (r == 0) {
			/* SEQPACKET: 0 is the peer's close (records are never empty). */
			rc = (have > 0 || msg != NULL) ? PB_ERR_TRUNCATED : PB_ERR_EOF;
			break;
		}
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			rc = PB_ERR_FRAME_BIG;
			break;
		}
		size_t n = (size_t)r - 1;
		more = (rec[0] & PB_CHAN_MORE) != 0;
		if (have + n > max) {
			rc = PB_ERR_FRAME_BIG;
			break;
		}
		if (n > 0) {
			uint8_t *grown = realloc(msg, have + n);
			if (grown == NULL) {
				rc = PB_ERR_NOMEM;
				break;
			}
			msg = grown;
			memcpy(msg + have, rec + 1, n);
			have += n;
		}
		if (n == 0 && more) {
			rc = PB_ERR_FRAME_ZERO;
			break;
		}
	}
	free(rec);
	if (rc < 0) {
		free(msg);
		close_all(got, ngot);
		return rc;
	}
	if (msg == NULL) {
		/* An empty message (every field at its default) is one flag byte. */
		msg = malloc(1);
		if (msg == NULL) {
			close_all(got, ngot);
			return PB_ERR_NOMEM;
		}
	}
	*buf = msg;
	*len = have;
	if (fds != NULL)
		memcpy(fds, got, sizeof(int) * (size_t)ngot);
	if (nfds != NULL)
		*nfds = ngot;
	else
		close_all(got, ngot);
	return 0;
}
