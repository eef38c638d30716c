/* SPDX-License-Identifier: ISC */
/* pbctl's admin connection to one daemon: TLS, the daemon's own envelope around AdminRequest/AdminReply. */
#include "pbctl_conn.h"

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.pb-c.h"
#include "net.h"
#include "policy.pb-c.h"

/* Admin replies are small; a sessions list of thousands of shells stays under this. */
#define REPLY_MAX (4u * 1024 * 1024)

struct pbctl_conn {
	struct pb_tls *t;
	enum pbctl_daemon d;
	uint64_t next_id;
};

static void set_err(char *err, size_t errlen, enum pbctl_fail *why, enum pbctl_fail w,
		    const char *what, const char *detail)
{
	*why = w;
	snprintf(err, errlen, "%s%s%s", what, detail != NULL && detail[0] ? ": " : "",
		 detail != NULL ? detail : "");
}

/* A transport failure: the daemon closing on us is told apart, since a stop ends that way. */
static void io_err(struct pbctl_conn *c, int rc, const char *what, enum pbctl_fail *why, char *err,
		   size_t errlen)
{
	if (rc == PB_ERR_EOF || rc == PB_ERR_IO)
		set_err(err, errlen, why, PBCTL_F_CLOSED, "the daemon closed the connection",
			rc == PB_ERR_IO ? pb_strerror(rc) : NULL);
	else if (rc == PB_ERR_TLS)
		set_err(err, errlen, why, PBCTL_F_FAILED, what, pb_tls_errstr(c->t));
	else
		set_err(err, errlen, why, PBCTL_F_FAILED, what, pb_strerror(rc));
}

struct pbctl_conn *pbctl_conn_open(struct pb_tls_ctx *ctx, enum pbctl_daemon d, const char *host,
				   const char *port, int timeout_ms, enum pbctl_fail *why, char *err,
				   size_t errlen)
{
	const char *errstr = NULL;
	struct pbctl_conn *c = NULL;
	uint8_t *msg = NULL;
	size_t len = 0;
	int fd, rc;

	fd = pb_net_connect(host, port, timeout_ms, &errstr);
	if (fd < 0) {
		set_err(err, errlen, why, PBCTL_F_NOTRUNNING, "not running (nothing answers)", errstr);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		set_err(err, errlen, why, PBCTL_F_FAILED, "out of memory", NULL);
		close(fd);
		return NULL;
	}
	c->d = d;
	c->next_id = 1;
	c->t = pb_tls_new(ctx, fd, host, &errstr); /* owns fd from here, also on failure */
	if (c->t == NULL) {
		set_err(err, errlen, why, PBCTL_F_FAILED, "TLS", errstr);
		free(c);
		return NULL;
	}
	rc = pb_tls_handshake_wait(c->t, timeout_ms);
	if (rc < 0) {
		io_err(c, rc, "TLS handshake", why, err, errlen);
		if (*why == PBCTL_F_CLOSED)
			*why = PBCTL_F_FAILED;
		goto fail;
	}
	if (d == PBCTL_D_LOGD) {
		/* logd greets first; its hello says whether it takes admin requests. */
		Pblog__ServerMessage *sm;
		bool admin = false;
		rc = pb_tls_recv_frame(c->t, REPLY_MAX, timeout_ms, &msg, &len);
		if (rc < 0) {
			io_err(c, rc, "no ServerHello", why, err, errlen);
			*why = PBCTL_F_FAILED;
			goto fail;
		}
		sm = pblog__server_message__unpack(NULL, len, msg);
		free(msg);
		if (sm == NULL || sm->type_case != PBLOG__SERVER_MESSAGE__TYPE_HELLO) {
			set_err(err, errlen, why, PBCTL_F_FAILED,
				"not a log server (no ServerHello): is this port policyd's?", NULL);
			if (sm != NULL)
				pblog__server_message__free_unpacked(sm, NULL);
			goto fail;
		}
		for (size_t i = 0; i < sm->hello->n_extensions; i++)
			if (strcmp(sm->hello->extensions[i], "admin") == 0)
				admin = true;
		pblog__server_message__free_unpacked(sm, NULL);
		if (!admin) {
			set_err(err, errlen, why, PBCTL_F_FAILED,
				"this log server does not take admin requests (not logd?)", NULL);
			goto fail;
		}
	}
	*why = PBCTL_F_NONE;
	return c;
fail:
	pbctl_conn_free(c);
	return NULL;
}

/* Pack and send the request in the daemon's envelope. */
static int send_request(struct pbctl_conn *c, AdminRequest *req, int timeout_ms)
{
	PolicyRequest pr = POLICY_REQUEST__INIT;
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	const ProtobufCMessage *m;
	uint8_t *buf;
	size_t len;
	int rc;

	if (c->d == PBCTL_D_POLICYD) {
		pr.id = req->id;
		pr.type_case = POLICY_REQUEST__TYPE_ADMIN;
		pr.admin = req;
		m = &pr.base;
	} else {
		cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ADMIN_REQ;
		cm.admin_req = req;
		m = &cm.base;
	}
	len = protobuf_c_message_get_packed_size(m);
	buf = malloc(len > 0 ? len : 1);
	if (buf == NULL)
		return PB_ERR_NOMEM;
	protobuf_c_message_pack(m, buf);
	rc = pb_tls_send_frame(c->t, buf, len, timeout_ms);
	free(buf);
	return rc;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC ms); at least 1 while any remain. */
static int ms_left(int64_t deadline)
{
	struct timespec ts;
	int64_t now;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return deadline > now ? (int)(deadline - now) : 0;
}

static int64_t deadline_in(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + ms;
}

/*
 * Unwrap one frame: *reply gets the AdminReply (taken out of the
 * envelope), or stays NULL for anything else (skipped by the caller).
 * Returns 0, or -1 with err for an undecodable frame or a daemon's error.
 */
static int unwrap(struct pbctl_conn *c, const uint8_t *msg, size_t len, AdminReply **reply,
		  enum pbctl_fail *why, char *err, size_t errlen)
{
	*reply = NULL;
	if (c->d == PBCTL_D_POLICYD) {
		PolicyReply *pr = policy_reply__unpack(NULL, len, msg);
		if (pr == NULL) {
			set_err(err, errlen, why, PBCTL_F_FAILED, "undecodable reply (not policyd?)", NULL);
			return -1;
		}
		if (pr->type_case == POLICY_REPLY__TYPE_ADMIN) {
			*reply = pr->admin;
			pr->admin = NULL;
			pr->type_case = POLICY_REPLY__TYPE__NOT_SET;
		} else if (pr->type_case == POLICY_REPLY__TYPE_ERROR) {
			set_err(err, errlen, why, PBCTL_F_FAILED, "policyd error", pr->error->message);
			policy_reply__free_unpacked(pr, NULL);
			return -1;
		}
		policy_reply__free_unpacked(pr, NULL);
		return 0;
	}
	Pblog__ServerMessage *sm = pblog__server_message__unpack(NULL, len, msg);
	if (sm == NULL) {
		set_err(err, errlen, why, PBCTL_F_FAILED, "undecodable reply (not logd?)", NULL);
		return -1;
	}
	if (sm->type_case == PBLOG__SERVER_MESSAGE__TYPE_ADMIN_REPLY) {
		*reply = sm->admin_reply;
		sm->admin_reply = NULL;
		sm->type_case = PBLOG__SERVER_MESSAGE__TYPE__NOT_SET;
	} else if (sm->type_case == PBLOG__SERVER_MESSAGE__TYPE_ERROR ||
		   sm->type_case == PBLOG__SERVER_MESSAGE__TYPE_ABORT) {
		set_err(err, errlen, why, PBCTL_F_FAILED, "logd error",
			sm->type_case == PBLOG__SERVER_MESSAGE__TYPE_ERROR ? sm->error : sm->abort);
		pblog__server_message__free_unpacked(sm, NULL);
		return -1;
	}
	pblog__server_message__free_unpacked(sm, NULL);
	return 0;
}

AdminReply *pbctl_conn_request(struct pbctl_conn *c, AdminRequest *req, int timeout_ms,
			       enum pbctl_fail *why, char *err, size_t errlen)
{
	int64_t deadline = deadline_in(timeout_ms);
	AdminReply *reply = NULL;
	int rc;

	req->id = c->next_id++;
	rc = send_request(c, req, timeout_ms);
	if (rc < 0) {
		io_err(c, rc, "sending the request", why, err, errlen);
		return NULL;
	}
	/* Skip what is not our answer (a logd commit point, a stale reply). */
	while (reply == NULL) {
		uint8_t *msg = NULL;
		size_t len = 0;
		int left = ms_left(deadline);
		if (left <= 0) {
			set_err(err, errlen, why, PBCTL_F_FAILED, "no answer in time", NULL);
			return NULL;
		}
		rc = pb_tls_recv_frame(c->t, REPLY_MAX, left, &msg, &len);
		if (rc < 0) {
			io_err(c, rc, "reading the answer", why, err, errlen);
			return NULL;
		}
		rc = unwrap(c, msg, len, &reply, why, err, errlen);
		free(msg);
		if (rc < 0)
			return NULL;
		if (reply != NULL && reply->id != req->id) {
			admin_reply__free_unpacked(reply, NULL);
			reply = NULL;
		}
	}
	*why = PBCTL_F_NONE;
	return reply;
}

bool pbctl_conn_wait_close(struct pbctl_conn *c, int timeout_ms)
{
	int64_t deadline = deadline_in(timeout_ms);
	for (;;) {
		uint8_t *msg = NULL;
		size_t len = 0;
		int left = ms_left(deadline);
		if (left <= 0)
			return false;
		int rc = pb_tls_recv_frame(c->t, REPLY_MAX, left, &msg, &len);
		free(msg);
		if (rc == PB_ERR_TIMEOUT)
			return false;
		if (rc < 0)
			return true;
	}
}

void pbctl_conn_free(struct pbctl_conn *c)
{
	if (c == NULL)
		return;
	pb_tls_shutdown(c->t);
	pb_tls_free(c->t);
	free(c);
}
