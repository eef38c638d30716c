/* SPDX-License-Identifier: ISC */
/* The policy client: one persistent TLS connection to policyd, failover in order, checks from every
 * channel pipelined by id. */
#include "mon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "debug.h"
#include "err.h"

/* After every server failed, checks within this long fail at once instead of trying again. */
#define RETRY_BACKOFF_MS 2000

/* A check sent and not answered yet. */
struct pend {
	struct pend *next;
	uint64_t id; /* our request id on the connection */
	uint64_t chan, shell_id;
	int64_t deadline;
	PolicyCheck *chk; /* a copy, to send again after a failover */
};

struct mpol {
	const struct mon_net *net;
	const struct pb_hostport *hp;
	size_t nhp;
	int epfd;
	const PolicyShellStart *start;
	const char *client_name;
	mpol_reply_cb cb;
	void (*ended)(void *arg, const char *why);
	void *arg;
	struct pb_tls *t;
	char server[128];
	uint64_t next_id;
	struct pend *pending;
	int64_t retry_after;
	int backoff_ms;
	struct mon_watch w;
};

static void readable_cb(void *arg, uint32_t events);

struct mpol *mpol_new(const struct mon_net *net, const struct pb_hostport *hp, size_t n, int epfd,
                      const PolicyShellStart *start, const char *client_name, mpol_reply_cb cb,
                      void *arg)
{
	struct mpol *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->net = net;
	p->hp = hp;
	p->nhp = n;
	p->epfd = epfd;
	p->start = start;
	p->client_name = client_name;
	p->cb = cb;
	p->arg = arg;
	p->next_id = 1;
	p->backoff_ms = RETRY_BACKOFF_MS;
	p->w.cb = readable_cb;
	p->w.arg = p;
	return p;
}

static void drop_conn(struct mpol *p)
{
	if (p->t == NULL)
		return;
	mon_unwatch(p->epfd, pb_tls_fd(p->t), &p->w);
	pb_tls_free(p->t);
	p->t = NULL;
	p->server[0] = '\0';
}

/* request: send one PolicyRequest and wait for its reply (the session's opening only). */
static PolicyReply *request(struct mpol *p, struct pb_tls *t, PolicyRequest *rq, char *err,
                            size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	rq->id = p->next_id++;
	int rc = mon_send(t, &rq->base, p->net->max, p->net->request_ms);
	if (rc == 0)
		rc = pb_tls_recv_frame(t, p->net->max, p->net->request_ms, &buf, &len);
	if (rc < 0) {
		snprintf(err, errlen, "%s",
		         rc == PB_ERR_TIMEOUT ? "no answer within timeouts.request"
		                              : pb_strerror(rc));
		return NULL;
	}
	PolicyReply *r = policy_reply__unpack(NULL, len, buf);
	free(buf);
	if (r == NULL || r->id != rq->id) {
		snprintf(err, errlen, "%s",
		         r == NULL ? "undecodable reply" : "reply to another request");
		if (r != NULL)
			policy_reply__free_unpacked(r, NULL);
		return NULL;
	}
	return r;
}

/*
 * open_one: Hello and ShellStart on server i. Returns the ShellStart reply
 * (decision or error) with the connection in *tp, or NULL with err.
 */
static PolicyReply *open_one(struct mpol *p, size_t i, struct pb_tls **tp, char *err, size_t errlen)
{
	char e[512];
	PolicyRequest rq = POLICY_REQUEST__INIT;
	PolicyHello h = POLICY_HELLO__INIT;
	PolicyReply *r = NULL;
	struct pb_tls *t = mon_net_connect(p->net, &p->hp[i], e, sizeof(e));
	*tp = NULL;
	if (t == NULL) {
		snprintf(err, errlen, "%s", e);
		return NULL;
	}
	h.version = POLICY_VERSION__POLICY_VERSION_CURRENT;
	h.client_name = (char *)p->client_name;
	h.client_version = (char *)PB_VERSION;
	rq.type_case = POLICY_REQUEST__TYPE_HELLO;
	rq.hello = &h;
	r = request(p, t, &rq, e, sizeof(e));
	if (r == NULL || r->type_case != POLICY_REPLY__TYPE_HELLO) {
		if (r != NULL && r->type_case == POLICY_REPLY__TYPE_ERROR) {
			/* A server that answers with an error has answered: the caller reports it.
			 */
			*tp = t;
			return r;
		}
		snprintf(err, errlen, "%s: hello: %s", p->hp[i].text,
		         r == NULL ? e : "unexpected reply");
		if (r != NULL)
			policy_reply__free_unpacked(r, NULL);
		pb_tls_free(t);
		return NULL;
	}
	policy_reply__free_unpacked(r, NULL);
	rq = (PolicyRequest)POLICY_REQUEST__INIT;
	rq.type_case = POLICY_REQUEST__TYPE_SHELL_START;
	rq.shell_start = (PolicyShellStart *)p->start;
	r = request(p, t, &rq, e, sizeof(e));
	if (r == NULL || (r->type_case != POLICY_REPLY__TYPE_DECISION &&
	                  r->type_case != POLICY_REPLY__TYPE_ERROR)) {
		snprintf(err, errlen, "%s: shell start: %s", p->hp[i].text,
		         r == NULL ? e : "unexpected reply");
		if (r != NULL)
			policy_reply__free_unpacked(r, NULL);
		pb_tls_free(t);
		return NULL;
	}
	*tp = t;
	return r;
}

static void use_conn(struct mpol *p, struct pb_tls *t, size_t i)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &p->w};
	p->t = t;
	/* A reply is one TLS record: one read each (readable_cb reads on while TLS holds more). */
	pb_tls_read_ahead(t);
	snprintf(p->server, sizeof(p->server), "%s", p->hp[i].text);
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, pb_tls_fd(t), &ev) < 0)
		pb_log(PB_LV_ERROR, "epoll: %s", strerror(errno));
}

PolicyReply *mpol_start(struct mpol *p, char *err, size_t errlen)
{
	snprintf(err, errlen, "no policy server configured");
	for (size_t i = 0; i < p->nhp; i++) {
		struct pb_tls *t = NULL;
		char e[768];
		PolicyReply *r = open_one(p, i, &t, e, sizeof(e));
		if (r != NULL) {
			use_conn(p, t, i);
			return r;
		}
		snprintf(err, errlen, "policy server %s", e);
		PB_TRACE(PB_SS_MONITOR, 1, "%s", err);
	}
	p->retry_after = mon_now_ms() + p->backoff_ms;
	return NULL;
}

/*
 * reconnect: the connection broke mid-session: open the session again on
 * the first server that answers and accepts it. Returns 0, or an error
 * with err.
 */
static int reconnect(struct mpol *p, char *err, size_t errlen)
{
	int64_t now = mon_now_ms();
	if (now < p->retry_after) {
		snprintf(err, errlen, "no policy server answered (retrying in a moment)");
		return PB_ERR_AGAIN;
	}
	snprintf(err, errlen, "no policy server configured");
	for (size_t i = 0; i < p->nhp; i++) {
		struct pb_tls *t = NULL;
		char e[768];
		PolicyReply *r = open_one(p, i, &t, e, sizeof(e));
		if (r == NULL) {
			snprintf(err, errlen, "policy server %s", e);
			PB_TRACE(PB_SS_MONITOR, 1, "%s", err);
			continue;
		}
		bool ok = r->type_case == POLICY_REPLY__TYPE_DECISION && r->decision->accept;
		if (!ok)
			snprintf(err, errlen, "policy server %s refused the session: %s",
			         p->hp[i].text,
			         r->type_case == POLICY_REPLY__TYPE_ERROR ? r->error->message
			                                                  : r->decision->reason);
		policy_reply__free_unpacked(r, NULL);
		if (!ok) {
			pb_tls_free(t);
			continue;
		}
		use_conn(p, t, i);
		pb_log(PB_LV_NOTICE, "policy server %s took over the session", p->server);
		return 0;
	}
	p->retry_after = mon_now_ms() + p->backoff_ms;
	return PB_ERR_IO;
}

static int send_pend(struct mpol *p, struct pend *q)
{
	PolicyRequest rq = POLICY_REQUEST__INIT;
	q->id = p->next_id++;
	q->deadline = mon_now_ms() + p->net->request_ms;
	rq.id = q->id;
	rq.type_case = POLICY_REQUEST__TYPE_CHECK;
	rq.check = q->chk;
	return mon_send(p->t, &rq.base, p->net->max, p->net->request_ms);
}

static void pend_free(struct pend *q)
{
	if (q->chk != NULL)
		policy_check__free_unpacked(q->chk, NULL);
	free(q);
}

/* fail_all: no server answers: every waiting check gets the failure. */
static void fail_all(struct mpol *p, const char *why)
{
	struct pend *q = p->pending;
	p->pending = NULL;
	while (q != NULL) {
		struct pend *nx = q->next;
		p->cb(p->arg, q->chan, q->shell_id, q->chk, NULL, why);
		pend_free(q);
		q = nx;
	}
}

/*
 * broken: the connection failed or a reply is overdue: fail over and send
 * every unanswered check again; when no server takes the session, the
 * checks fail.
 */
static void broken(struct mpol *p, const char *why)
{
	char err[1024];
	pb_log(PB_LV_WARN, "policy server %s: %s", p->server[0] ? p->server : "?", why);
	drop_conn(p);
	for (int attempt = 0; attempt < 2 && p->pending != NULL; attempt++) {
		if (reconnect(p, err, sizeof(err)) < 0) {
			fail_all(p, err);
			return;
		}
		bool ok = true;
		for (struct pend *q = p->pending; q != NULL && ok; q = q->next)
			ok = send_pend(p, q) == 0;
		if (ok)
			return;
		drop_conn(p);
	}
	fail_all(p, why);
}

void mpol_check(struct mpol *p, uint64_t chan, uint64_t shell_id, PolicyCheck *chk)
{
	char err[1024];
	struct pend *q = calloc(1, sizeof(*q));
	if (q == NULL) {
		p->cb(p->arg, chan, shell_id, chk, NULL, "out of memory");
		policy_check__free_unpacked(chk, NULL);
		return;
	}
	q->chk = chk;
	q->chan = chan;
	q->shell_id = shell_id;
	if (p->t == NULL && reconnect(p, err, sizeof(err)) < 0) {
		p->cb(p->arg, chan, shell_id, chk, NULL, err);
		pend_free(q); /* and chk with it */
		return;
	}
	/* Appended at the end: a failover sends them again in the order they came. */
	struct pend **tail = &p->pending;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = q;
	if (send_pend(p, q) < 0)
		broken(p, "cannot send");
}

void mpol_on_ended(struct mpol *p, void (*fn)(void *arg, const char *why))
{
	p->ended = fn;
}

static void handle_reply(struct mpol *p, PolicyReply *r)
{
	/* Unasked: an administrator ended the session (the connection stays, refusing everything). */
	if (r->id == 0 && r->type_case == POLICY_REPLY__TYPE_ERROR && r->error != NULL &&
	    r->error->code == PB_ERR_DENIED) {
		if (p->ended != NULL)
			p->ended(p->arg, r->error->message && *r->error->message ? r->error->message
			                                                          : "ended by an administrator");
		return;
	}
	for (struct pend **pp = &p->pending; *pp != NULL; pp = &(*pp)->next) {
		struct pend *q = *pp;
		if (q->id != r->id)
			continue;
		*pp = q->next;
		p->cb(p->arg, q->chan, q->shell_id, q->chk, r, NULL);
		pend_free(q);
		return;
	}
	/* A reply to nothing we asked is dropped: a reply answers only its own request. */
	pb_log(PB_LV_WARN, "policy server %s: reply to unknown request %llu dropped", p->server,
	       (unsigned long long)r->id);
}

static void readable_cb(void *arg, uint32_t events)
{
	struct mpol *p = arg;
	do {
		uint8_t *buf = NULL;
		size_t len = 0;
		int rc = pb_tls_recv_frame(p->t, p->net->max, p->net->request_ms, &buf, &len);
		if (rc < 0) {
			if (p->pending == NULL) {
				/* Idle: reconnect lazily at the next check. */
				pb_log(PB_LV_NOTICE, "policy server %s closed the connection (%s)",
				       p->server, pb_strerror(rc));
				drop_conn(p);
			} else {
				broken(p, pb_strerror(rc));
			}
			return;
		}
		PolicyReply *r = policy_reply__unpack(NULL, len, buf);
		free(buf);
		if (r == NULL) {
			broken(p, "undecodable reply");
			return;
		}
		handle_reply(p, r);
		policy_reply__free_unpacked(r, NULL);
	} while (p->t != NULL && pb_tls_buffered(p->t));
}

int mpol_timeout(const struct mpol *p)
{
	int64_t first = -1;
	for (const struct pend *q = p->pending; q != NULL; q = q->next)
		if (first < 0 || q->deadline < first)
			first = q->deadline;
	if (first < 0)
		return -1;
	int64_t left = first - mon_now_ms();
	return left < 0 ? 0 : (int)left;
}

void mpol_tick(struct mpol *p)
{
	int64_t now = mon_now_ms();
	for (const struct pend *q = p->pending; q != NULL; q = q->next)
		if (q->deadline <= now) {
			broken(p, "no answer within timeouts.request");
			return;
		}
}

void mpol_close(struct mpol *p)
{
	drop_conn(p);
}

void mpol_backoff(struct mpol *p, int ms)
{
	p->backoff_ms = ms > 0 ? ms : RETRY_BACKOFF_MS;
	/* Called right after every server failed: the pause starts now. */
	p->retry_after = ms > 0 && p->t == NULL ? mon_now_ms() + ms : 0;
}

const char *mpol_server(const struct mpol *p)
{
	return p->server;
}

void mpol_free(struct mpol *p)
{
	if (p == NULL)
		return;
	drop_conn(p);
	while (p->pending != NULL) {
		struct pend *q = p->pending;
		p->pending = q->next;
		pend_free(q);
	}
	free(p);
}
