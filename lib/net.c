/* SPDX-License-Identifier: ISC */
/* TCP sockets: "host:port" parsing, listening and connecting with a timeout (IPv4 and IPv6). */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

/* One message buffer for *errstr: single-threaded callers, overwritten by the next call. */
static char errbuf[256];

static const char *seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
}

static void put_err(const char **errstr, const char *s)
{
	if (errstr != NULL)
		*errstr = s;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pb_net_split(const char *spec, char *host, size_t hostsz, char *port, size_t portsz,
		 const char **errstr)
{
	const char *h, *hend, *p;
	size_t hl, pl;

	if (spec == NULL || *spec == '\0') {
		put_err(errstr, seterr("empty address (want host:port)"));
		return PB_ERR_INVAL;
	}
	if (spec[0] == '[') {
		h = spec + 1;
		hend = strchr(h, ']');
		if (hend == NULL || hend[1] != ':') {
			put_err(errstr, seterr("%s: bad address (want [v6addr]:port)", spec));
			return PB_ERR_INVAL;
		}
		p = hend + 2;
	} else {
		/* A bare IPv6 address has several colons and is ambiguous without brackets. */
		h = spec;
		hend = strrchr(spec, ':');
		if (hend == NULL || memchr(spec, ':', (size_t)(hend - spec)) != NULL) {
			put_err(errstr, seterr("%s: bad address (want host:port or [v6addr]:port)",
					       spec));
			return PB_ERR_INVAL;
		}
		p = hend + 1;
	}
	hl = (size_t)(hend - h);
	pl = strlen(p);
	if (pl == 0) {
		put_err(errstr, seterr("%s: missing port", spec));
		return PB_ERR_INVAL;
	}
	if (hl == 1 && h[0] == '*')
		hl = 0;
	if (hl >= hostsz || pl >= portsz) {
		put_err(errstr, seterr("%s: address too long", spec));
		return PB_ERR_INVAL;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, p, pl + 1);
	return 0;
}

int pb_net_set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return PB_ERR_IO;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	if (fcntl(fd, F_SETFL, fl) < 0)
		return PB_ERR_IO;
	return 0;
}

static int resolve(const char *host, const char *port, bool passive, struct addrinfo **res,
		   const char **errstr)
{
	struct addrinfo hints;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = AI_ADDRCONFIG | (passive ? AI_PASSIVE : 0);
	rc = getaddrinfo(host != NULL && *host != '\0' ? host : NULL, port, &hints, res);
	if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME || rc == EAI_NODATA) {
		/* AI_ADDRCONFIG hides loopback-only families on hosts without other addresses. */
		hints.ai_flags &= ~AI_ADDRCONFIG;
		rc = getaddrinfo(host != NULL && *host != '\0' ? host : NULL, port, &hints, res);
	}
	if (rc != 0) {
		put_err(errstr, seterr("%s:%s: %s", host != NULL && *host ? host : "*", port,
				       rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc)));
		return rc == EAI_SYSTEM ? PB_ERR_IO : PB_ERR_NOTFOUND;
	}
	return 0;
}

int pb_net_listen(const char *spec, const char **errstr)
{
	char host[256], port[32], as[PB_NET_ADDRSTRLEN];
	struct addrinfo *res = NULL, *ai, *pick = NULL;
	int fd = -1, rc, one = 1, zero = 0;

	rc = pb_net_split(spec, host, sizeof(host), port, sizeof(port), errstr);
	if (rc < 0)
		return rc;
	rc = resolve(host, port, true, &res, errstr);
	if (rc < 0)
		return rc == PB_ERR_NOTFOUND ? PB_ERR_INVAL : rc;
	/* For "any", one dual-stack IPv6 socket serves both families; else the first answer. */
	for (ai = res; ai != NULL && host[0] == '\0'; ai = ai->ai_next)
		if (ai->ai_family == AF_INET6) {
			pick = ai;
			break;
		}
	if (pick == NULL)
		pick = res;
	put_err(errstr, seterr("listen %s: no usable address", spec));
	for (ai = pick; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6 && host[0] == '\0')
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 512) == 0)
			break;
		rc = errno;
		pb_net_addr_str(ai->ai_addr, ai->ai_addrlen, as, sizeof(as));
		put_err(errstr, seterr("listen %s: %s", as, strerror(rc)));
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		rc = PB_ERR_IO;
		goto done;
	}
	rc = fd;
done:
	freeaddrinfo(res);
	return rc;
}

int pb_net_local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return PB_ERR_IO;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return PB_ERR_IO;
}

/* Wait for a non-blocking connect; returns 0, PB_ERR_TIMEOUT or PB_ERR_IO (errno set). */
static int wait_connect(int fd, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int err = 0, n;
	socklen_t el = sizeof(err);

	for (;;) {
		int left = -1;

		if (deadline >= 0) {
			int64_t d = deadline - now_ms();

			if (d <= 0)
				return PB_ERR_TIMEOUT;
			left = d > 1000000 ? 1000000 : (int)d;
		}
		n = poll(&pfd, 1, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return PB_ERR_IO;
		if (n == 0)
			continue; /* the loop re-checks the deadline */
		break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		return PB_ERR_IO;
	if (err != 0) {
		errno = err;
		return PB_ERR_IO;
	}
	return 0;
}

int pb_net_connect(const char *host, const char *port, int timeout_ms, const char **errstr)
{
	struct addrinfo *res = NULL, *ai;
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int fd = -1, rc, one = 1;
	char as[PB_NET_ADDRSTRLEN];

	if (host == NULL || *host == '\0' || port == NULL || *port == '\0') {
		put_err(errstr, seterr("connect: host and port are required"));
		return PB_ERR_INVAL;
	}
	rc = resolve(host, port, false, &res, errstr);
	if (rc < 0)
		return rc;
	rc = PB_ERR_IO;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		pb_net_addr_str(ai->ai_addr, ai->ai_addrlen, as, sizeof(as));
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			put_err(errstr, seterr("connect %s: %s", as, strerror(errno)));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			rc = 0;
		else if (errno == EINPROGRESS)
			rc = wait_connect(fd, deadline);
		else
			rc = PB_ERR_IO;
		if (rc == 0)
			break;
		if (rc == PB_ERR_TIMEOUT)
			put_err(errstr, seterr("connect %s: timed out after %d ms", as, timeout_ms));
		else
			put_err(errstr, seterr("connect %s: %s", as, strerror(errno)));
		close(fd);
		fd = -1;
		if (rc == PB_ERR_TIMEOUT)
			break;
	}
	if (fd < 0)
		goto done;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = fd;
done:
	freeaddrinfo(res);
	return rc;
}

int pb_net_connect_spec(const char *spec, int timeout_ms, const char **errstr)
{
	char host[256], port[32];
	int rc;

	rc = pb_net_split(spec, host, sizeof(host), port, sizeof(port), errstr);
	if (rc < 0)
		return rc;
	if (host[0] == '\0') {
		put_err(errstr, seterr("%s: connect needs a host", spec));
		return PB_ERR_INVAL;
	}
	return pb_net_connect(host, port, timeout_ms, errstr);
}

char *pb_net_addr_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t sz)
{
	char h[INET6_ADDRSTRLEN];

	if (sz == 0)
		return buf;
	if (sa == NULL) {
		snprintf(buf, sz, "?");
	} else if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
		snprintf(buf, sz, "%s:%u", h, ntohs(s4->sin_port));
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
		if (s6->sin6_scope_id != 0)
			snprintf(buf, sz, "[%s%%%u]:%u", h, (unsigned)s6->sin6_scope_id,
				 ntohs(s6->sin6_port));
		else
			snprintf(buf, sz, "[%s]:%u", h, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		snprintf(buf, sz, "unix");
	} else {
		snprintf(buf, sz, "?");
	}
	return buf;
}

char *pb_net_peer_str(int fd, char *buf, size_t sz)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(buf, sz, "?");
		return buf;
	}
	return pb_net_addr_str((struct sockaddr *)&ss, len, buf, sz);
}

char *pb_net_local_str(int fd, char *buf, size_t sz)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(buf, sz, "?");
		return buf;
	}
	return pb_net_addr_str((struct sockaddr *)&ss, len, buf, sz);
}

bool pb_net_is_loopback(const struct sockaddr *sa)
{
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_UNIX)
		return true;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

bool pb_net_fd_is_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    !pb_net_is_loopback((struct sockaddr *)&ss))
		return false;
	if (ss.ss_family == AF_UNIX)
		return true;
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	return pb_net_is_loopback((struct sockaddr *)&ss);
}
