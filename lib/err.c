/* SPDX-License-Identifier: ISC */
/* Texts for the PB_ERR_* codes. */
#include "err.h"

const char *pb_strerror(int err)
{
	switch ((enum pb_err)err) {
	case PB_OK: return "success";
	case PB_ERR_NOMEM: return "out of memory";
	case PB_ERR_IO: return "input/output error";
	case PB_ERR_EOF: return "connection closed by peer";
	case PB_ERR_TIMEOUT: return "timed out";
	case PB_ERR_AGAIN: return "resource temporarily unavailable";
	case PB_ERR_WANT_READ: return "TLS wants to read";
	case PB_ERR_WANT_WRITE: return "TLS wants to write";
	case PB_ERR_FRAME_ZERO: return "frame of length zero";
	case PB_ERR_FRAME_BIG: return "frame longer than the maximum";
	case PB_ERR_TRUNCATED: return "stream ended inside a frame";
	case PB_ERR_PROTO: return "protocol error";
	case PB_ERR_TLS: return "TLS error";
	case PB_ERR_CONF: return "configuration error";
	case PB_ERR_INVAL: return "invalid argument";
	case PB_ERR_DENIED: return "permission denied";
	case PB_ERR_LIMIT: return "limit reached";
	case PB_ERR_NOTFOUND: return "not found";
	case PB_ERR_EXISTS: return "already exists";
	case PB_ERR_NOSPC: return "no space left on device";
	}
	return "unknown error";
}
