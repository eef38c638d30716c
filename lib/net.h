/* SPDX-License-Identifier: ISC */
/* TCP sockets: "host:port" parsing, listening and connecting with a timeout (IPv4 and IPv6). */
#ifndef PB_NET_H
#define PB_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Room for any address pb_net_addr_str writes: "[v6%scope]:65535". */
#define PB_NET_ADDRSTRLEN 80

/*
 * Every *errstr these functions set points to static storage that is
 * overwritten by the next call; it names the address and the reason
 * ("connect 127.0.0.1:4343: Connection refused").
 */

/*
 * pb_net_split: split "host:port", "[v6addr]:port" or "*:port" (any
 * address) into host and port. The port is required (a number or a service
 * name). host gets "" for "*" or an empty host. Returns 0, or PB_ERR_INVAL
 * with *errstr when the spec is malformed or a part does not fit its buffer.
 */
int pb_net_split(const char *spec, char *host, size_t hostsz, char *port, size_t portsz,
		 const char **errstr);

/*
 * pb_net_listen: bind and listen on spec ("127.0.0.1:0" gets an ephemeral
 * port: read it with pb_net_local_port; "*:port" or ":port" listens on every
 * address, IPv6 and IPv4 when the system allows). The socket is
 * non-blocking and close-on-exec, with SO_REUSEADDR. Returns the
 * descriptor (caller closes), or a negative PB_ERR_* (PB_ERR_INVAL for a
 * bad spec, PB_ERR_IO for a system error) with *errstr.
 */
int pb_net_listen(const char *spec, const char **errstr);

/* pb_net_local_port: the port a socket is bound to, or a negative PB_ERR_IO. */
int pb_net_local_port(int fd);

/*
 * pb_net_connect: connect to host:port (each address getaddrinfo gives, in
 * turn) within timeout_ms overall (< 0: no limit). Returns a connected
 * socket (caller closes) that is non-blocking, close-on-exec, with
 * TCP_NODELAY, or PB_ERR_TIMEOUT / PB_ERR_IO / PB_ERR_INVAL /
 * PB_ERR_NOTFOUND (name does not resolve) with *errstr.
 */
int pb_net_connect(const char *host, const char *port, int timeout_ms, const char **errstr);

/* pb_net_connect_spec: pb_net_connect for a "host:port" spec. */
int pb_net_connect_spec(const char *spec, int timeout_ms, const char **errstr);

/*
 * pb_net_addr_str: format an address as "1.2.3.4:port", "[::1]:port" or
 * "unix" into buf; returns buf (truncated if sz is short).
 */
char *pb_net_addr_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t sz);

/* pb_net_peer_str / pb_net_local_str: pb_net_addr_str of a socket's peer / own address ("?" on error). */
char *pb_net_peer_str(int fd, char *buf, size_t sz);
char *pb_net_local_str(int fd, char *buf, size_t sz);

/* pb_net_is_loopback: true for 127.0.0.0/8, ::1, ::ffff:127.x.y.z and AF_UNIX. */
bool pb_net_is_loopback(const struct sockaddr *sa);

/* pb_net_fd_is_loopback: true when both ends of a connected socket are loopback (or AF_UNIX). */
bool pb_net_fd_is_loopback(int fd);

/* pb_net_set_nonblock: set or clear O_NONBLOCK; 0 or PB_ERR_IO. */
int pb_net_set_nonblock(int fd, bool on);

#endif
