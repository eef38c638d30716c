/* SPDX-License-Identifier: ISC */
/* The daemons' connection server: one event loop (epoll) for TLS, framing, deadlines, limits and signals. */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "debug.h"
#include "err.h"
#include "frame.h"
#include "net.h"

/*
 * Why one thread and epoll: see server.h. Level-triggered epoll keeps the
 * bookkeeping simple: a connection's interest set always says what it
 * waits for (reading frames, flushing output, or whatever TLS asked for),
 * and nothing is lost if a pass stops early.
 *
 * Fairness: a pass reads at most READ_BUDGET bytes from one connection;
 * when it stops with work left (bytes may sit decrypted inside TLS, which
 * epoll cannot see) the connection goes on the ready list, served again
 * after the other events, without blocking in epoll_wait.
 *
 * Callbacks may ask to close any connection or stop the server; those
 * requests are only recorded and carried out once the callback has
 * returned (settle()), and freed connections are reaped at the end of the
 * loop pass, so no callback ever sees its connection vanish under it.
 */

#define READ_BUDGET (256u * 1024u)
#define ACCEPT_BUDGET 64
#define NEVER INT64_MAX
#define OUTQ_KEEP 1024u		/* an idle connection keeps an output buffer up to this size */
#define NOHEAP UINT_MAX
#define LINGER_MS 200		/* after a closing half-close: wait this long for the peer's end, */
#define LINGER_MAX (64u * 1024u) /* discarding at most this much of its input */

/* One peer identity's count of OPEN connections (the per-peer limit). */
struct peer {
	struct peer *next;
	uint32_t hash;
	unsigned n;
	char key[];
};

enum src_kind { SRC_LISTEN, SRC_CONN, SRC_SIGNAL, SRC_WATCH };

struct src {
	enum src_kind kind;
};

/* An extra descriptor watched for readability (pb_server_watch_fd). */
struct watch {
	struct src src;
	int fd;
	bool dead;		/* unwatched: freed at the end of the pass */
	void (*cb)(struct pb_server *s, int fd, void *arg);
	void *arg;
	struct watch *next;
};

struct listener {
	struct src src;
	int fd;
	int port;
	bool paused;		/* out of descriptors: not polled for a moment */
};

struct pb_conn {
	struct src src;
	struct pb_server *srv;
	struct pb_tls *tls;
	int fd;
	uint64_t id;
	enum pb_conn_state st;
	void *state;		/* the handler's, from open_cb */
	bool opened;		/* open_cb accepted it: close_cb is owed */
	bool close_done;	/* close_cb has run */
	bool want_close;	/* close after flush, once the current callback returns */
	int drop_why;		/* != 0: drop without flushing, once the callback returns */
	const char *note;	/* what a timeout was, for the log */
	bool dead;		/* on the dead list, freed at the end of the pass */
	bool on_ready;
	bool more;		/* the read budget ran out with input maybe left */
	bool hs_want_write;	/* the handshake waits for writability */
	bool rd_want_write;	/* TLS read waits for writability */
	bool wr_want_read;	/* TLS write waits for readability */
	bool shut_sent;
	bool lingering;		/* half-closed: discarding input until the peer ends */
	size_t drained;		/* input discarded while lingering */
	uint32_t events;	/* the current epoll interest set */
	struct pb_frame_dec dec;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	int64_t hs_deadline, frame_deadline, idle_deadline, write_deadline, close_deadline;
	int64_t since;
	char addr[PB_NET_ADDRSTRLEN];
	struct peer *peer;	/* counted for the per-peer limit while OPEN */
	unsigned hidx;		/* index in the deadline heap, or NOHEAP */
	int64_t hkey;		/* its key there: the earliest deadline but idle */
	struct pb_conn *lru_prev, *lru_next;	/* OPEN connections, least recently active first */
	bool on_lru;
	struct pb_conn *prev, *next;	/* all live connections */
	struct pb_conn *ready_next;
	struct pb_conn *dead_next;
};

struct pb_server {
	struct src sig_src;
	struct pb_tls_ctx *tls;
	struct pb_server_ops ops;
	void *arg;
	struct pb_server_limits lim;
	int ep;
	int sfd;
	struct listener **ls;
	unsigned nls;
	struct pb_conn *conns;
	struct pb_conn *ready;
	struct pb_conn *dead;
	struct watch *watches;
	struct pb_conn **heap;	/* min-heap of connections by hkey */
	unsigned nheap, heap_cap;
	struct pb_conn *lru_head, *lru_tail;
	struct peer **peers;	/* hash table: peer identity -> OPEN connections */
	unsigned npeer_buckets, npeers;
	unsigned nconns;
	uint64_t next_id;
	int64_t now;
	int64_t next_sweep, next_tick, drain_deadline, accept_resume;
	bool running;
	bool stopping;		/* a graceful stop is under way */
	int stop_req;		/* 0 none, 1 graceful, 2 force: carried out by the loop */
	bool forced;
	bool sigs_blocked;	/* oldmask is to be restored */
	sigset_t oldmask;
	uint8_t rbuf[65536];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static void fill_limits(struct pb_server_limits *l, const struct pb_server_limits *in)
{
	if (in != NULL)
		*l = *in;
	else
		memset(l, 0, sizeof(*l));
	if (l->max_frame == 0)
		l->max_frame = PB_FRAME_MAX_DEFAULT;
	if (l->max_conns == 0)
		l->max_conns = 4096;
	if (l->max_conns_per_peer == 0)
		l->max_conns_per_peer = 256;
	if (l->handshake_ms <= 0)
		l->handshake_ms = 10000;
	if (l->frame_ms <= 0)
		l->frame_ms = 30000;
	if (l->idle_ms == 0)
		l->idle_ms = 3600000;
	if (l->tick_ms < 0)
		l->tick_ms = 0;
	if (l->drain_ms <= 0)
		l->drain_ms = 10000;
	if (l->max_outq == 0)
		l->max_outq = 4 * (size_t)l->max_frame + 65536;
}

static void server_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/* Make sure the loop wakes up by deadline d. */
static void arm(struct pb_server *s, int64_t d)
{
	if (d < s->next_sweep)
		s->next_sweep = d;
}

struct pb_server *pb_server_new(struct pb_tls_ctx *tls, const struct pb_server_ops *ops,
				void *arg, const struct pb_server_limits *lim)
{
	struct pb_server *s;

	if (tls == NULL || ops == NULL || ops->frame_cb == NULL ||
	    pb_tls_ctx_role(tls) != PB_TLS_SERVER)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->sig_src.kind = SRC_SIGNAL;
	s->ops = *ops;
	s->arg = arg;
	fill_limits(&s->lim, lim);
	s->sfd = -1;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0) {
		pb_log(PB_LV_ERROR, "server: epoll: %s", strerror(errno));
		free(s);
		return NULL;
	}
	/* A peer that vanishes must cost an EPIPE, not the whole daemon. */
	signal(SIGPIPE, SIG_IGN);
	{
		sigset_t set;

		/*
		 * Blocked from now on, not only from pb_server_run: a daemon
		 * announces readiness (pidfile) just before running, and a
		 * SIGHUP sent at once must wait for the loop, not kill it.
		 */
		server_sigset(&set);
		if (sigprocmask(SIG_BLOCK, &set, &s->oldmask) == 0)
			s->sigs_blocked = true;
	}
	/* The server's own reference: pb_tls_new takes one per connection the same way. */
	s->tls = tls;
	pb_tls_ctx_ref(tls);
	s->next_id = 1;
	s->now = mono_ms();
	s->next_sweep = NEVER;
	s->next_tick = NEVER;
	s->drain_deadline = NEVER;
	s->accept_resume = NEVER;
	return s;
}

void *pb_server_arg(const struct pb_server *s)
{
	return s->arg;
}

unsigned pb_server_conn_count(const struct pb_server *s)
{
	return s->nconns;
}

bool pb_server_stopping(const struct pb_server *s)
{
	return s->stopping || s->stop_req != 0;
}

int pb_server_set_tls(struct pb_server *s, struct pb_tls_ctx *ctx)
{
	if (ctx == NULL || pb_tls_ctx_role(ctx) != PB_TLS_SERVER ||
	    pb_tls_ctx_plain(ctx) != pb_tls_ctx_plain(s->tls))
		return PB_ERR_INVAL;
	pb_tls_ctx_ref(ctx);
	pb_tls_ctx_free(s->tls);
	s->tls = ctx;
	return 0;
}

void pb_server_set_limits(struct pb_server *s, const struct pb_server_limits *lim)
{
	int old_tick = s->lim.tick_ms;

	fill_limits(&s->lim, lim);
	if (s->lim.tick_ms != old_tick)
		s->next_tick = s->lim.tick_ms > 0 ? mono_ms() + s->lim.tick_ms : NEVER;
}

int pb_server_listen(struct pb_server *s, const char *addr, const char **errstr)
{
	static char ebuf[256];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct listener *l, **nls;
	struct epoll_event ev;
	int fd;

	fd = pb_net_listen(addr, errstr);
	if (fd < 0)
		return fd;
	if (pb_tls_ctx_plain(s->tls) &&
	    (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	     !pb_net_is_loopback((struct sockaddr *)&ss))) {
		snprintf(ebuf, sizeof(ebuf), "listen %s: plain TCP (tests only) is loopback only",
			 addr);
		if (errstr != NULL)
			*errstr = ebuf;
		close(fd);
		return PB_ERR_INVAL;
	}
	l = calloc(1, sizeof(*l));
	nls = realloc(s->ls, (s->nls + 1) * sizeof(*nls));
	if (l == NULL || nls == NULL) {
		free(l);
		if (nls != NULL)
			s->ls = nls;
		close(fd);
		if (errstr != NULL)
			*errstr = "listen: out of memory";
		return PB_ERR_NOMEM;
	}
	s->ls = nls;
	l->src.kind = SRC_LISTEN;
	l->fd = fd;
	l->port = pb_net_local_port(fd);
	ev.events = EPOLLIN;
	ev.data.ptr = &l->src;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		snprintf(ebuf, sizeof(ebuf), "listen %s: epoll: %s", addr, strerror(errno));
		if (errstr != NULL)
			*errstr = ebuf;
		close(fd);
		free(l);
		return PB_ERR_IO;
	}
	s->ls[s->nls++] = l;
	pb_log(PB_LV_INFO, "listening on %s (port %d)%s", addr, l->port,
	       pb_tls_ctx_plain(s->tls) ? " WITHOUT TLS (tests only)" : "");
	return 0;
}

int pb_server_port(const struct pb_server *s, unsigned idx)
{
	if (idx >= s->nls)
		return PB_ERR_NOTFOUND;
	return s->ls[idx]->port;
}

static void close_listeners(struct pb_server *s)
{
	unsigned i;

	for (i = 0; i < s->nls; i++) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, s->ls[i]->fd, NULL);
		close(s->ls[i]->fd);
		free(s->ls[i]);
	}
	free(s->ls);
	s->ls = NULL;
	s->nls = 0;
}

/* ---- deadlines ---- */

/*
 * Deadlines without scanning every connection: the handshake, frame,
 * write and close deadlines live in a min-heap keyed by each connection's
 * earliest one (O(log n) per change, and a sweep looks only at the ones
 * due); the idle timeout is always "last activity + idle_ms", so OPEN
 * connections sit in a list ordered by last activity and a sweep looks
 * only at its oldest end. After pb_server_set_limits changes idle_ms the
 * order is approximate until each connection is active again: a
 * connection may then close up to the difference late, never early.
 */

static int64_t conn_wake(const struct pb_conn *c)
{
	switch (c->st) {
	case PB_CONN_HANDSHAKE:
		return c->hs_deadline;
	case PB_CONN_OPEN:
		return c->frame_deadline < c->write_deadline ? c->frame_deadline
							      : c->write_deadline;
	case PB_CONN_CLOSING:
	default:
		return c->close_deadline;
	}
}

static void heap_put(struct pb_server *s, unsigned i, struct pb_conn *c)
{
	s->heap[i] = c;
	c->hidx = i;
}

static void heap_up(struct pb_server *s, unsigned i)
{
	struct pb_conn *c = s->heap[i];

	while (i > 0) {
		unsigned p = (i - 1) / 2;

		if (s->heap[p]->hkey <= c->hkey)
			break;
		heap_put(s, i, s->heap[p]);
		i = p;
	}
	heap_put(s, i, c);
}

static void heap_down(struct pb_server *s, unsigned i)
{
	struct pb_conn *c = s->heap[i];

	for (;;) {
		unsigned l = 2 * i + 1, m = l;

		if (l >= s->nheap)
			break;
		if (l + 1 < s->nheap && s->heap[l + 1]->hkey < s->heap[l]->hkey)
			m = l + 1;
		if (s->heap[m]->hkey >= c->hkey)
			break;
		heap_put(s, i, s->heap[m]);
		i = m;
	}
	heap_put(s, i, c);
}

static void heap_remove(struct pb_server *s, struct pb_conn *c)
{
	unsigned i = c->hidx;
	struct pb_conn *last;

	if (i == NOHEAP)
		return;
	c->hidx = NOHEAP;
	last = s->heap[--s->nheap];
	if (last == c)
		return;
	heap_put(s, i, last);
	heap_up(s, i);
	heap_down(s, last->hidx);
}

/*
 * Put c where its earliest deadline says, after any deadline or its state
 * changed. Never fails: do_accept keeps room for every connection.
 */
static void resched(struct pb_conn *c)
{
	struct pb_server *s = c->srv;
	int64_t w = c->dead ? NEVER : conn_wake(c);

	if (w == NEVER) {
		heap_remove(s, c);
		return;
	}
	if (c->hidx != NOHEAP && w == c->hkey)
		return;
	c->hkey = w;
	if (c->hidx == NOHEAP) {
		heap_put(s, s->nheap++, c);
		heap_up(s, c->hidx);
	} else {
		heap_up(s, c->hidx);
		heap_down(s, c->hidx);
	}
}

static void lru_unlink(struct pb_conn *c)
{
	struct pb_server *s = c->srv;

	if (!c->on_lru)
		return;
	if (c->lru_prev != NULL)
		c->lru_prev->lru_next = c->lru_next;
	else
		s->lru_head = c->lru_next;
	if (c->lru_next != NULL)
		c->lru_next->lru_prev = c->lru_prev;
	else
		s->lru_tail = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
	c->on_lru = false;
}

/* Activity on an OPEN connection: its idle deadline starts again and it becomes the newest. */
static void touch(struct pb_conn *c)
{
	struct pb_server *s = c->srv;

	if (s->lim.idle_ms <= 0 || c->st != PB_CONN_OPEN || c->dead)
		return;
	c->idle_deadline = s->now + s->lim.idle_ms;
	if (s->lru_tail == c)
		return;
	lru_unlink(c);
	c->lru_prev = s->lru_tail;
	if (s->lru_tail != NULL)
		s->lru_tail->lru_next = c;
	else
		s->lru_head = c;
	s->lru_tail = c;
	c->on_lru = true;
}

/* ---- per-peer counts ---- */

static uint32_t hash_str(const char *k)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *k != '\0'; k++)
		h = (h ^ (uint8_t)*k) * 16777619u;
	return h;
}

static struct peer *peer_find(struct pb_server *s, const char *key, uint32_t h)
{
	struct peer *p;

	if (s->npeer_buckets == 0)
		return NULL;
	for (p = s->peers[h & (s->npeer_buckets - 1)]; p != NULL; p = p->next)
		if (p->hash == h && strcmp(p->key, key) == 0)
			return p;
	return NULL;
}

/* Keep about one peer per bucket; a failed grow only makes chains longer. */
static void peer_grow(struct pb_server *s)
{
	unsigned n = s->npeer_buckets ? s->npeer_buckets * 2 : 64, i;
	struct peer **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return;
	for (i = 0; i < s->npeer_buckets; i++) {
		struct peer *p = s->peers[i], *nx;

		for (; p != NULL; p = nx) {
			nx = p->next;
			p->next = nb[p->hash & (n - 1)];
			nb[p->hash & (n - 1)] = p;
		}
	}
	free(s->peers);
	s->peers = nb;
	s->npeer_buckets = n;
}

/* Count one more OPEN connection for key; NULL when out of memory. */
static struct peer *peer_add(struct pb_server *s, const char *key)
{
	uint32_t h = hash_str(key);
	struct peer *p = peer_find(s, key, h);
	size_t kl;

	if (p != NULL) {
		p->n++;
		return p;
	}
	if (s->npeers >= s->npeer_buckets)
		peer_grow(s);
	if (s->npeer_buckets == 0)
		return NULL;
	kl = strlen(key);
	p = malloc(sizeof(*p) + kl + 1);
	if (p == NULL)
		return NULL;
	memcpy(p->key, key, kl + 1);
	p->hash = h;
	p->n = 1;
	p->next = s->peers[h & (s->npeer_buckets - 1)];
	s->peers[h & (s->npeer_buckets - 1)] = p;
	s->npeers++;
	return p;
}

/* c no longer counts for its peer (it left OPEN). */
static void peer_release(struct pb_conn *c)
{
	struct pb_server *s = c->srv;
	struct peer *p = c->peer, **pp;

	if (p == NULL)
		return;
	c->peer = NULL;
	if (--p->n > 0)
		return;
	for (pp = &s->peers[p->hash & (s->npeer_buckets - 1)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	s->npeers--;
	free(p);
}

/* ---- connections ---- */

static void mark_ready(struct pb_conn *c)
{
	if (c->on_ready || c->dead)
		return;
	c->on_ready = true;
	c->ready_next = c->srv->ready;
	c->srv->ready = c;
}

static void set_events(struct pb_conn *c)
{
	struct epoll_event ev;
	uint32_t want = 0;
	bool pending_out = c->out_len > c->out_off;

	if (c->dead)
		return;
	if (c->lingering) {
		want = EPOLLIN;
	} else if (c->st == PB_CONN_HANDSHAKE) {
		want = c->hs_want_write ? EPOLLOUT : EPOLLIN;
	} else {
		if (c->st == PB_CONN_OPEN && !c->want_close && !c->rd_want_write)
			want |= EPOLLIN;
		if (c->rd_want_write)
			want |= EPOLLOUT;
		if (pending_out) {
			if (c->wr_want_read)
				want |= EPOLLIN;
			else
				want |= EPOLLOUT;
		}
	}
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.ptr = &c->src;
	if (epoll_ctl(c->srv->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/* Take the connection out of service; memory is freed at the end of the pass. */
static void conn_destroy(struct pb_conn *c)
{
	struct pb_server *s = c->srv;

	if (c->dead)
		return;
	c->dead = true;
	heap_remove(s, c);
	lru_unlink(c);
	peer_release(c);
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->nconns--;
	c->dead_next = s->dead;
	s->dead = c;
	PB_TRACE(PB_SS_NET, 4, "conn %llu %s: closed", (unsigned long long)c->id, c->addr);
}

static void conn_free(struct pb_conn *c)
{
	pb_tls_free(c->tls); /* closes the descriptor */
	pb_frame_dec_free(&c->dec);
	free(c->out);
	free(c);
}

static void run_close_cb(struct pb_conn *c, int why)
{
	if (c->opened && !c->close_done) {
		c->close_done = true;
		if (c->srv->ops.close_cb != NULL)
			c->srv->ops.close_cb(c, c->state, why);
	}
}

/* Discard the peer's input while lingering; close at its end, an error, or LINGER_MAX bytes. */
static void linger_read(struct pb_conn *c)
{
	struct pb_server *s = c->srv;
	int fd = pb_tls_fd(c->tls);

	while (c->drained < LINGER_MAX) {
		size_t want = LINGER_MAX - c->drained;
		ssize_t r = read(fd, s->rbuf, want < sizeof(s->rbuf) ? want : sizeof(s->rbuf));

		if (r > 0) {
			c->drained += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		break;
	}
	conn_destroy(c);
}

/*
 * The last answer is written: send close_notify and half-close, then read
 * and discard what the peer still sends, briefly, before closing. Closing
 * a socket with unread input makes TCP send a reset, and a reset discards
 * what our side has not delivered yet: a client still sending (a pipelined
 * burst, a big message after an error) would lose the error message.
 */
static void linger(struct pb_conn *c)
{
	struct pb_server *s = c->srv;

	if (!c->shut_sent) {
		c->shut_sent = true;
		pb_tls_shutdown(c->tls);
	}
	if (shutdown(pb_tls_fd(c->tls), SHUT_WR) < 0) {
		conn_destroy(c);
		return;
	}
	c->lingering = true;
	c->close_deadline = s->now + LINGER_MS;
	resched(c);
	set_events(c);
	linger_read(c);
}

/*
 * Close c. With flush, queued output is written first (bounded by the frame
 * deadline) and close_notify is sent; without, it goes at once.
 */
static void conn_close(struct pb_conn *c, int why, bool flush)
{
	struct pb_server *s = c->srv;

	if (c->dead)
		return;
	run_close_cb(c, why);
	if (c->st == PB_CONN_OPEN && why != 0 && why != PB_ERR_EOF)
		pb_log(PB_LV_INFO, "conn %llu %s (%s): closing: %s%s%s", (unsigned long long)c->id,
		       c->addr, pb_tls_peer_id(c->tls), pb_strerror(why), c->note ? ": " : "",
		       c->note ? c->note : "");
	c->st = PB_CONN_CLOSING;
	c->want_close = false;
	lru_unlink(c);
	peer_release(c);
	pb_frame_dec_free(&c->dec);
	if (!flush || c->lingering) {
		conn_destroy(c);
		return;
	}
	if (c->out_len == c->out_off) {
		linger(c);
		return;
	}
	c->close_deadline = s->now + s->lim.frame_ms;
	resched(c);
	set_events(c);
}

/* Carry out what callbacks asked for c. Returns false when c is gone or closing. */
static bool settle(struct pb_conn *c)
{
	if (c->dead)
		return false;
	if (c->drop_why != 0) {
		conn_close(c, c->drop_why, false);
		return false;
	}
	if (c->want_close) {
		conn_close(c, 0, true);
		return !c->dead && c->st == PB_CONN_OPEN;
	}
	return c->st != PB_CONN_CLOSING;
}

/* Graceful stop: close c if its handler (or the default rule) lets it. */
static void check_drain(struct pb_conn *c)
{
	struct pb_server *s = c->srv;
	bool ok;

	if (!s->stopping || c->dead || c->st != PB_CONN_OPEN || c->want_close)
		return;
	if (s->ops.drain_cb != NULL)
		ok = s->ops.drain_cb(c, c->state);
	else
		ok = !pb_frame_dec_started(&c->dec) && c->out_len == c->out_off;
	if (ok)
		c->want_close = true;
	settle(c);
}

static void flush_out(struct pb_conn *c)
{
	struct pb_server *s = c->srv;

	while (c->out_len > c->out_off) {
		ssize_t r = pb_tls_write(c->tls, c->out + c->out_off, c->out_len - c->out_off);

		if (r > 0) {
			c->out_off += (size_t)r;
			c->write_deadline = s->now + s->lim.frame_ms;
			touch(c);
			continue;
		}
		c->wr_want_read = r == PB_ERR_WANT_READ;
		if (r == PB_ERR_WANT_READ || r == PB_ERR_WANT_WRITE) {
			resched(c);
			set_events(c);
			return;
		}
		conn_close(c, (int)r, false);
		return;
	}
	c->wr_want_read = false;
	c->write_deadline = NEVER;
	resched(c);
	c->out_off = c->out_len = 0;
	if (c->out_cap > OUTQ_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	if (c->st == PB_CONN_CLOSING) {
		linger(c);
		return;
	}
	check_drain(c);
	set_events(c);
}

static void frame_error(struct pb_conn *c, int err)
{
	if (err == PB_ERR_TIMEOUT)
		c->note = "a frame was not complete in time";
	if (c->srv->ops.frame_error_cb != NULL && c->opened && !c->close_done)
		c->srv->ops.frame_error_cb(c, c->state, err);
	if (c->dead)
		return;
	if (c->drop_why != 0) {
		conn_close(c, c->drop_why, false);
		return;
	}
	conn_close(c, err, true);
}

/* Read and dispatch frames until TLS has no more or the budget runs out. */
static void read_frames(struct pb_conn *c)
{
	struct pb_server *s = c->srv;
	size_t budget = READ_BUDGET;

	c->more = false;
	while (c->st == PB_CONN_OPEN && !c->want_close && !c->dead) {
		ssize_t r;
		size_t left, off = 0;

		if (budget == 0) {
			c->more = true;
			mark_ready(c);
			break;
		}
		r = pb_tls_read(c->tls, s->rbuf, sizeof(s->rbuf) < budget ? sizeof(s->rbuf) : budget);
		c->rd_want_write = r == PB_ERR_WANT_WRITE;
		if (r == PB_ERR_WANT_READ || r == PB_ERR_WANT_WRITE)
			break;
		if (r < 0) {
			if (r == PB_ERR_EOF && pb_frame_dec_started(&c->dec))
				r = PB_ERR_TRUNCATED;
			/* Answers to frames already read still go out if the peer only half-closed. */
			conn_close(c, (int)r, r == PB_ERR_EOF);
			return;
		}
		budget -= (size_t)r;
		touch(c);
		left = (size_t)r;
		while (left > 0) {
			ssize_t used = pb_frame_dec_feed(&c->dec, s->rbuf + off, left);
			uint8_t *msg;
			size_t len;
			int rc;

			if (used < 0) {
				frame_error(c, (int)used);
				return;
			}
			off += (size_t)used;
			left -= (size_t)used;
			if (!c->dec.complete)
				continue;
			c->frame_deadline = NEVER;
			resched(c);
			msg = pb_frame_dec_take(&c->dec, &len);
			PB_TRACE(PB_SS_FRAME, 7, "conn %llu: frame of %zu bytes",
				 (unsigned long long)c->id, len);
			rc = s->ops.frame_cb(c, c->state, msg, len);
			free(msg);
			if (rc < 0)
				c->want_close = true;
			if (!settle(c))
				return;
			/* The rest of this read belongs to frames nobody will answer. */
			if (c->want_close)
				return;
		}
		if (pb_frame_dec_started(&c->dec) && c->frame_deadline == NEVER) {
			c->frame_deadline = s->now + s->lim.frame_ms;
			resched(c);
		}
		/* Whole frames and nothing buffered: the next read would only say "nothing more", and
		 * (level-triggered) epoll says so for free. */
		if (!pb_frame_dec_started(&c->dec) && !pb_tls_buffered(c->tls))
			break;
	}
}

static void open_conn(struct pb_conn *c)
{
	struct pb_server *s = c->srv;
	const char *id = pb_tls_peer_id(c->tls);
	char abuf[PB_NET_ADDRSTRLEN + 8];
	const char *key = id;
	struct peer *p;
	void *st;

	/* Per-peer limit: identities for TLS, the host part of the address in plain mode. */
	if (*id == '\0') {
		char *colon;

		snprintf(abuf, sizeof(abuf), "addr:%s", c->addr);
		colon = strrchr(abuf, ':');
		if (colon != NULL && colon > abuf + 5)
			*colon = '\0';
		key = abuf;
	}
	p = peer_find(s, key, hash_str(key));
	if (p != NULL && p->n >= s->lim.max_conns_per_peer) {
		pb_log(PB_LV_WARN, "conn %llu %s: refused: %s already has %u connections",
		       (unsigned long long)c->id, c->addr, key, s->lim.max_conns_per_peer);
		conn_close(c, PB_ERR_LIMIT, false);
		return;
	}
	c->peer = peer_add(s, key);
	if (c->peer == NULL) {
		conn_close(c, PB_ERR_NOMEM, false);
		return;
	}
	c->st = PB_CONN_OPEN;
	resched(c);
	touch(c);
	pb_log(PB_LV_INFO, "conn %llu %s: %s %s%s", (unsigned long long)c->id, c->addr,
	       *id ? id : "(no identity)", pb_tls_version(c->tls),
	       pb_tls_resumed(c->tls) ? " resumed" : "");
	st = s->ops.open_cb != NULL ? s->ops.open_cb(c, s->arg) : (void *)s;
	if (st == NULL) {
		pb_log(PB_LV_INFO, "conn %llu %s: refused by the handler", (unsigned long long)c->id,
		       c->addr);
		conn_close(c, PB_ERR_DENIED, false);
		return;
	}
	c->state = st;
	c->opened = true;
	if (!settle(c))
		return;
	read_frames(c);
}

static void do_handshake(struct pb_conn *c)
{
	int rc = pb_tls_handshake(c->tls);

	if (rc == PB_ERR_WANT_READ || rc == PB_ERR_WANT_WRITE) {
		c->hs_want_write = rc == PB_ERR_WANT_WRITE;
		set_events(c);
		return;
	}
	if (rc < 0) {
		conn_close(c, rc, false);
		return;
	}
	c->hs_want_write = false;
	open_conn(c);
}

/* One pass of I/O on c: handshake, or read frames and flush output. */
static void conn_io(struct pb_conn *c)
{
	if (c->dead)
		return;
	if (c->lingering) {
		linger_read(c);
		return;
	}
	if (c->st == PB_CONN_HANDSHAKE) {
		do_handshake(c);
		if (c->dead || c->st == PB_CONN_HANDSHAKE)
			return;
	} else if (c->st == PB_CONN_OPEN) {
		read_frames(c);
	}
	if (c->dead)
		return;
	if (c->out_len > c->out_off)
		flush_out(c);
	else if (c->st == PB_CONN_CLOSING)
		conn_close(c, 0, true);
	else
		check_drain(c);
	if (!c->dead)
		set_events(c);
}

static void do_accept(struct pb_server *s, struct listener *l)
{
	static int64_t last_full_log;
	int i;

	for (i = 0; i < ACCEPT_BUDGET; i++) {
		struct epoll_event ev;
		struct pb_conn *c;
		const char *err = NULL;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Out of descriptors: stop polling listeners briefly instead of spinning. */
				pb_log(PB_LV_WARN, "accept: %s; pausing for 100 ms", strerror(errno));
				epoll_ctl(s->ep, EPOLL_CTL_DEL, l->fd, NULL);
				l->paused = true;
				s->accept_resume = s->now + 100;
				arm(s, s->accept_resume);
			}
			return;
		}
		if (s->nconns >= s->lim.max_conns) {
			if (s->now - last_full_log >= 1000) {
				pb_log(PB_LV_WARN, "accept: %u connections, the maximum: refusing",
				       s->nconns);
				last_full_log = s->now;
			}
			close(fd);
			continue;
		}
		if (s->nconns >= s->heap_cap) {
			/* Room in the deadline heap for every connection, so resched never fails. */
			unsigned ncap = s->heap_cap ? s->heap_cap * 2 : 256;
			struct pb_conn **nh = realloc(s->heap, ncap * sizeof(*nh));

			if (nh == NULL) {
				close(fd);
				continue;
			}
			s->heap = nh;
			s->heap_cap = ncap;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->src.kind = SRC_CONN;
		c->srv = s;
		c->hidx = NOHEAP;
		c->fd = fd;
		c->id = s->next_id++;
		c->since = real_s();
		pb_net_peer_str(fd, c->addr, sizeof(c->addr));
		pb_frame_dec_init(&c->dec, s->lim.max_frame);
		c->frame_deadline = c->idle_deadline = c->write_deadline = NEVER;
		c->close_deadline = NEVER;
		c->tls = pb_tls_new(s->tls, fd, NULL, &err);
		if (c->tls == NULL) {
			/* pb_tls_new closed fd and logged why (plain mode off loopback, memory). */
			pb_log(PB_LV_WARN, "conn %s: %s", c->addr, err != NULL ? err : "refused");
			free(c);
			continue;
		}
		pb_tls_set_label(c->tls, c->addr);
		/* One read per arrival instead of two per record: read_frames and the handshake read on
		 * until TLS wants more, so nothing stays in its buffer unseen. */
		pb_tls_read_ahead(c->tls);
		c->st = PB_CONN_HANDSHAKE;
		c->hs_deadline = s->now + s->lim.handshake_ms;
		ev.events = EPOLLIN;
		ev.data.ptr = &c->src;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			pb_log(PB_LV_WARN, "conn %s: epoll: %s", c->addr, strerror(errno));
			conn_free(c);
			continue;
		}
		c->events = EPOLLIN;
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		s->nconns++;
		resched(c);
		PB_TRACE(PB_SS_NET, 4, "conn %llu %s: accepted", (unsigned long long)c->id, c->addr);
		/*
		 * Plain mode has no handshake to wait for: open at once, so a
		 * protocol whose server speaks first (logd's ServerHello) is heard
		 * before the client's first write. Waiting for that write instead
		 * left clients that then send two small messages stalled on a
		 * delayed ACK (~40 ms per connection).
		 */
		if (pb_tls_ctx_plain(s->tls))
			conn_io(c);
	}
}

/* c's earliest heap deadline passed: act on it. */
static void expire(struct pb_conn *c)
{
	struct pb_server *s = c->srv;

	switch (c->st) {
	case PB_CONN_HANDSHAKE:
		pb_log(PB_LV_INFO, "conn %llu %s: TLS handshake timed out",
		       (unsigned long long)c->id, c->addr);
		conn_close(c, PB_ERR_TIMEOUT, false);
		break;
	case PB_CONN_OPEN:
		if (c->frame_deadline <= s->now) {
			frame_error(c, PB_ERR_TIMEOUT);
		} else if (c->write_deadline <= s->now) {
			/* Output has not moved for frame_ms: the peer does not read. */
			c->note = "the peer does not read";
			conn_close(c, PB_ERR_TIMEOUT, false);
		}
		break;
	case PB_CONN_CLOSING:
		conn_close(c, PB_ERR_TIMEOUT, false);
		if (!c->dead)
			conn_destroy(c);
		break;
	}
}

/* When the loop must next call sweep. */
static int64_t next_wake(const struct pb_server *s)
{
	int64_t w = s->next_sweep;

	if (s->nheap > 0 && s->heap[0]->hkey < w)
		w = s->heap[0]->hkey;
	if (s->lim.idle_ms > 0 && s->lru_head != NULL && s->lru_head->idle_deadline < w)
		w = s->lru_head->idle_deadline;
	return w;
}

/* Deadlines: act on the ones that passed (only those are looked at). */
static void sweep(struct pb_server *s)
{
	struct pb_conn *c, *next;
	bool periodic = s->next_sweep <= s->now;
	unsigned i;

	if (s->accept_resume <= s->now) {
		s->accept_resume = NEVER;
		for (i = 0; i < s->nls; i++) {
			struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->ls[i]->src};

			if (s->ls[i]->paused && epoll_ctl(s->ep, EPOLL_CTL_ADD, s->ls[i]->fd, &ev) == 0)
				s->ls[i]->paused = false;
		}
	}
	if (periodic)
		s->next_sweep = s->accept_resume;
	while (s->nheap > 0 && s->heap[0]->hkey <= s->now) {
		c = s->heap[0];
		expire(c);
		if (c->dead)
			continue;
		resched(c);
		if (c->hidx == 0 && c->hkey <= s->now) {
			/* Cannot happen (expire ends or moves every due deadline); never spin. */
			conn_close(c, PB_ERR_TIMEOUT, false);
			if (!c->dead)
				conn_destroy(c);
		}
	}
	while (s->lim.idle_ms > 0 && (c = s->lru_head) != NULL && c->idle_deadline <= s->now) {
		if (pb_frame_dec_started(&c->dec) || c->out_len > c->out_off) {
			/* Busy, not idle: the frame and write deadlines govern it. */
			touch(c);
			continue;
		}
		c->note = "idle";
		conn_close(c, PB_ERR_TIMEOUT, true);
		if (!c->dead && c->on_lru)
			lru_unlink(c);
	}
	/* While draining, look at every connection now and then (drain_cb may change its mind). */
	if (s->stopping && periodic)
		for (c = s->conns; c != NULL; c = next) {
			next = c->next;
			check_drain(c);
		}
}

static void start_stop(struct pb_server *s, bool force)
{
	struct pb_conn *c, *next;

	if (force) {
		if (!s->forced)
			pb_log(PB_LV_NOTICE, "stopping now (%u connections dropped)", s->nconns);
		s->forced = true;
		s->stopping = true;
		close_listeners(s);
		for (c = s->conns; c != NULL; c = next) {
			next = c->next;
			conn_close(c, 0, false);
		}
		return;
	}
	if (s->stopping)
		return;
	pb_log(PB_LV_NOTICE, "stopping: draining %u connections (at most %d ms)", s->nconns,
	       s->lim.drain_ms);
	s->stopping = true;
	s->drain_deadline = s->now + s->lim.drain_ms;
	close_listeners(s);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->st == PB_CONN_HANDSHAKE)
			conn_close(c, 0, false);
		else
			check_drain(c);
	}
}

void pb_server_stop(struct pb_server *s, bool force)
{
	int want = force ? 2 : 1;

	if (want > s->stop_req)
		s->stop_req = want;
}

static void on_signal(struct pb_server *s)
{
	struct signalfd_siginfo si;

	while (read(s->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			pb_log(PB_LV_NOTICE, "SIGHUP: reloading");
			if (s->ops.reload_cb != NULL)
				s->ops.reload_cb(s, s->arg);
			break;
		case SIGTERM:
		case SIGINT:
			/* The second request does not wait any more. */
			pb_server_stop(s, s->stopping || s->stop_req != 0);
			break;
		default:
			break;
		}
	}
}

/* Free unwatched descriptors' records; an event fetched for one in this pass is skipped. */
static void reap_watches(struct pb_server *s)
{
	struct watch **pp = &s->watches;

	while (*pp != NULL) {
		struct watch *w = *pp;

		if (w->dead) {
			*pp = w->next;
			free(w);
		} else {
			pp = &w->next;
		}
	}
}

int pb_server_watch_fd(struct pb_server *s, int fd,
		       void (*cb)(struct pb_server *s, int fd, void *arg), void *arg)
{
	struct epoll_event ev;
	struct watch *w;

	if (fd < 0 || cb == NULL)
		return PB_ERR_INVAL;
	for (w = s->watches; w != NULL; w = w->next)
		if (w->fd == fd && !w->dead)
			return PB_ERR_INVAL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return PB_ERR_NOMEM;
	w->src.kind = SRC_WATCH;
	w->fd = fd;
	w->cb = cb;
	w->arg = arg;
	ev.events = EPOLLIN;
	ev.data.ptr = &w->src;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(w);
		return PB_ERR_IO;
	}
	w->next = s->watches;
	s->watches = w;
	return 0;
}

void pb_server_unwatch_fd(struct pb_server *s, int fd)
{
	struct watch *w;

	for (w = s->watches; w != NULL; w = w->next)
		if (w->fd == fd && !w->dead) {
			w->dead = true;
			epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
			return;
		}
}

static void reap(struct pb_server *s)
{
	struct pb_conn **pp = &s->ready;

	/* A connection may have died after it was put on the ready list. */
	while (*pp != NULL) {
		if ((*pp)->dead)
			*pp = (*pp)->ready_next;
		else
			pp = &(*pp)->ready_next;
	}
	while (s->dead != NULL) {
		struct pb_conn *c = s->dead;

		s->dead = c->dead_next;
		conn_free(c);
	}
	reap_watches(s);
}

static void teardown_signals(struct pb_server *s)
{
	if (s->sfd >= 0) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, s->sfd, NULL);
		close(s->sfd);
		s->sfd = -1;
	}
	if (s->sigs_blocked) {
		sigprocmask(SIG_SETMASK, &s->oldmask, NULL);
		s->sigs_blocked = false;
	}
}

static int setup_signals(struct pb_server *s)
{
	struct epoll_event ev;
	sigset_t set;

	server_sigset(&set);
	if (!s->sigs_blocked) {
		if (sigprocmask(SIG_BLOCK, &set, &s->oldmask) < 0)
			return PB_ERR_IO;
		s->sigs_blocked = true;
	}
	s->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sfd < 0) {
		teardown_signals(s);
		return PB_ERR_IO;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &s->sig_src;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->sfd, &ev) < 0) {
		teardown_signals(s);
		return PB_ERR_IO;
	}
	return 0;
}

int pb_server_run(struct pb_server *s)
{
	struct epoll_event evs[64];
	int rc = 0;

	if (s->running)
		return PB_ERR_INVAL;
	if (setup_signals(s) < 0) {
		pb_log(PB_LV_ERROR, "server: signalfd: %s", strerror(errno));
		return PB_ERR_IO;
	}
	s->running = true;
	s->now = mono_ms();
	if (s->lim.tick_ms > 0)
		s->next_tick = s->now + s->lim.tick_ms;
	for (;;) {
		int64_t wake;
		int timeout, n, i;

		if (s->stop_req != 0) {
			int req = s->stop_req;

			s->stop_req = 0;
			start_stop(s, req == 2);
		}
		if (s->stopping && s->drain_deadline <= s->now && !s->forced) {
			pb_log(PB_LV_WARN, "stopping: drain time is over");
			start_stop(s, true);
		}
		reap(s);
		if (s->stopping && s->nconns == 0)
			break;
		wake = next_wake(s);
		if (s->next_tick < wake)
			wake = s->next_tick;
		if (s->stopping && s->drain_deadline < wake)
			wake = s->drain_deadline;
		if (s->ready != NULL)
			timeout = 0;
		else if (wake == NEVER)
			timeout = -1;
		else if (wake <= s->now)
			timeout = 0;
		else
			timeout = wake - s->now > 60000 ? 60000 : (int)(wake - s->now);
		n = epoll_wait(s->ep, evs, 64, timeout);
		s->now = mono_ms();
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pb_log(PB_LV_ERROR, "server: epoll_wait: %s", strerror(errno));
			rc = PB_ERR_IO;
			break;
		}
		for (i = 0; i < n; i++) {
			struct src *src = evs[i].data.ptr;

			if (src->kind == SRC_SIGNAL) {
				on_signal(s);
			} else if (src->kind == SRC_WATCH) {
				struct watch *w = (struct watch *)src;

				if (!w->dead)
					w->cb(s, w->fd, w->arg);
			} else if (src->kind == SRC_LISTEN) {
				if (!s->stopping)
					do_accept(s, (struct listener *)src);
			} else {
				struct pb_conn *c = (struct pb_conn *)src;

				if (c->dead)
					continue;
				/* Hang-up with nothing to do would repeat forever: try I/O, which sees it. */
				conn_io(c);
			}
		}
		/*
		 * Connections with input left over (budget), output queued from
		 * other callbacks, or close requests. One pass: the ones added
		 * meanwhile come after the next epoll_wait (which then does not block).
		 */
		if (s->ready != NULL) {
			struct pb_conn *c = s->ready;

			s->ready = NULL;
			while (c != NULL) {
				struct pb_conn *nx = c->ready_next;

				c->on_ready = false;
				c->ready_next = NULL;
				if (c->dead) {
					/* reaped below */
				} else if (!settle(c)) {
					if (!c->dead && c->out_len > c->out_off)
						flush_out(c);
				} else if (c->more) {
					conn_io(c);
				} else if (c->out_len > c->out_off) {
					flush_out(c);
				}
				c = nx;
			}
		}
		if (s->ops.round_cb != NULL)
			s->ops.round_cb(s, s->arg);
		/* While draining, look at every connection now and then (drain_cb may change its mind). */
		if (s->stopping)
			arm(s, s->now + 100);
		if (s->next_tick <= s->now) {
			s->next_tick += s->lim.tick_ms;
			if (s->next_tick <= s->now)
				s->next_tick = s->now + s->lim.tick_ms;
			if (s->ops.tick_cb != NULL)
				s->ops.tick_cb(s, s->arg);
			if (s->lim.tick_ms <= 0)
				s->next_tick = NEVER;
		}
		if (next_wake(s) <= s->now)
			sweep(s);
	}
	teardown_signals(s);
	reap(s);
	s->running = false;
	return rc;
}

void pb_server_free(struct pb_server *s)
{
	struct pb_conn *c, *next;
	struct watch *w;
	unsigned i;

	if (s == NULL)
		return;
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		conn_close(c, 0, false);
	}
	reap(s);
	for (w = s->watches; w != NULL; w = w->next)
		if (!w->dead)
			pb_server_unwatch_fd(s, w->fd);
	reap_watches(s);
	close_listeners(s);
	teardown_signals(s);
	if (s->ep >= 0)
		close(s->ep);
	free(s->heap);
	for (i = 0; i < s->npeer_buckets; i++) {
		struct peer *p, *nx;

		for (p = s->peers[i]; p != NULL; p = nx) {
			nx = p->next;
			free(p);
		}
	}
	free(s->peers);
	pb_tls_ctx_free(s->tls);
	free(s);
}

void pb_server_foreach_conn(struct pb_server *s,
			    void (*cb)(struct pb_conn *c, void *state, void *arg), void *arg)
{
	struct pb_conn *c, *next;

	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->st == PB_CONN_OPEN && c->opened && !c->close_done)
			cb(c, c->state, arg);
	}
}

/* Room for n more bytes at the end of the output queue. */
static int out_reserve(struct pb_conn *c, size_t n)
{
	size_t need, cap;
	uint8_t *p;

	if (c->out_off > 0 && (c->out_off >= c->out_len || c->out_off > c->out_cap / 2)) {
		/* Moving what is left is fine: TLS was told the buffer may move. */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + n;
	if (need <= c->out_cap)
		return 0;
	cap = c->out_cap ? c->out_cap : OUTQ_KEEP;
	while (cap < need)
		cap *= 2;
	p = realloc(c->out, cap);
	if (p == NULL)
		return PB_ERR_NOMEM;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

/* After queueing: enforce max_outq and make sure the bytes get written. */
static int out_queued(struct pb_conn *c)
{
	struct pb_server *s = c->srv;

	if (c->write_deadline == NEVER) {
		c->write_deadline = s->now + s->lim.frame_ms;
		resched(c);
	}
	if (c->out_len - c->out_off > s->lim.max_outq) {
		pb_log(PB_LV_WARN, "conn %llu %s (%s): %zu bytes queued, over the limit: dropping",
		       (unsigned long long)c->id, c->addr, pb_tls_peer_id(c->tls),
		       c->out_len - c->out_off);
		c->drop_why = PB_ERR_LIMIT;
		mark_ready(c);
		return PB_ERR_LIMIT;
	}
	mark_ready(c);
	return 0;
}

static bool can_send(const struct pb_conn *c)
{
	return !c->dead && c->drop_why == 0 && !c->close_done &&
	       (c->st == PB_CONN_OPEN || c->st == PB_CONN_HANDSHAKE);
}

int pb_conn_send(struct pb_conn *c, const void *payload, size_t len)
{
	int rc;

	if (!can_send(c))
		return PB_ERR_EOF;
	if (len == 0 || len > c->srv->lim.max_frame)
		return PB_ERR_INVAL;
	rc = out_reserve(c, PB_FRAME_HDR + len);
	if (rc < 0)
		return rc;
	pb_frame_put_hdr(c->out + c->out_len, (uint32_t)len);
	memcpy(c->out + c->out_len + PB_FRAME_HDR, payload, len);
	c->out_len += PB_FRAME_HDR + len;
	return out_queued(c);
}

int pb_conn_send_msg(struct pb_conn *c, const ProtobufCMessage *m)
{
	size_t len;
	int rc;

	if (!can_send(c))
		return PB_ERR_EOF;
	len = protobuf_c_message_get_packed_size(m);
	if (len == 0 || len > c->srv->lim.max_frame)
		return PB_ERR_INVAL;
	rc = out_reserve(c, PB_FRAME_HDR + len);
	if (rc < 0)
		return rc;
	pb_frame_put_hdr(c->out + c->out_len, (uint32_t)len);
	protobuf_c_message_pack(m, c->out + c->out_len + PB_FRAME_HDR);
	c->out_len += PB_FRAME_HDR + len;
	return out_queued(c);
}

void pb_conn_close_after_flush(struct pb_conn *c)
{
	if (c->dead || c->st == PB_CONN_CLOSING)
		return;
	c->want_close = true;
	mark_ready(c);
}

const char *pb_conn_peer_id(const struct pb_conn *c)
{
	return pb_tls_peer_id(c->tls);
}

const char *pb_conn_peer_addr(const struct pb_conn *c)
{
	return c->addr;
}

bool pb_conn_peer_matches(const struct pb_conn *c, const char *name)
{
	return pb_tls_peer_matches(c->tls, name);
}

void *pb_conn_state(const struct pb_conn *c)
{
	return c->state;
}

struct pb_server *pb_conn_server(const struct pb_conn *c)
{
	return c->srv;
}

uint64_t pb_conn_id(const struct pb_conn *c)
{
	return c->id;
}

enum pb_conn_state pb_conn_conn_state(const struct pb_conn *c)
{
	return c->st;
}

int64_t pb_conn_since(const struct pb_conn *c)
{
	return c->since;
}

bool pb_conn_resumed(const struct pb_conn *c)
{
	return pb_tls_resumed(c->tls);
}

size_t pb_conn_outq(const struct pb_conn *c)
{
	return c->out_len - c->out_off;
}

bool pb_conn_receiving(const struct pb_conn *c)
{
	return pb_frame_dec_started(&c->dec);
}
