/* SPDX-License-Identifier: ISC */
/* policyd's protocol handler: per-connection state machine, request dispatch with state checks, decisions, admin. */
#include "policyd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit.h"
#include "debug.h"
#include "decide.h"
#include "err.h"
#include "frame.h"
#include "policy.pb-c.h"
#include "wire.h"

/* Bounds on what a ShellStart may make us keep for the whole session. */
#define MAX_GROUPS 1024
#define MAX_SESSION_BYTES 65536

/* Where a connection is in its protocol (sudo logsrvd style: explicit, checked before each handler). */
enum sess_state {
	SS_NEW,	    /* nothing yet: Hello (or admin requests) */
	SS_HELLO,   /* Hello accepted: ShellStart */
	SS_STARTED, /* shell accepted: Checks */
	SS_DONE,    /* refused or failed: nothing more is read */
};

struct session {
	struct pd *d;
	struct pb_conn *c;
	enum sess_state st;
	bool counted; /* counted in d->sessions */
	bool watch;   /* an admin's connection following a normal stop (AdminStop.watch) */
	char *killed; /* kill-session: the message every later request gets, then the close */
	char client[64];
	uint64_t requests;
	int64_t start_time;
	/* From ShellStart, in one allocation (blob) so the per-session cost is bounded. */
	char *blob;
	const char *user, *group, *tty, *shell, *cwd;
	const char **groups;
	size_t n_groups;
	long long uid, gid, pid, ppid;
};

static struct pd_unpack_arena *unpack_arena;

size_t pd_unpack_budget(void)
{
	/* A 2 MiB frame may decode to a little more than itself; three times is ample for real requests. */
	return 3u * PB_FRAME_MAX_DEFAULT;
}

static int send_reply(struct session *s, PolicyReply *r)
{
	int rc = pb_conn_send_msg(s->c, &r->base);
	if (rc < 0)
		PB_TRACE(PB_SS_PROTO, 2, "%s: reply not queued: %s", pb_conn_peer_addr(s->c),
			 pb_strerror(rc));
	return rc;
}

/* Queue an Error and tell the caller to close: every protocol error ends the connection. */
static int fail(struct session *s, uint64_t id, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct session *s, uint64_t id, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	PolicyReply r = POLICY_REPLY__INIT;
	PolicyError e = POLICY_ERROR__INIT;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e.code = code;
	e.message = msg;
	r.id = id;
	r.type_case = POLICY_REPLY__TYPE_ERROR;
	r.error = &e;
	s->d->cnt.errors++;
	pb_log(PB_LV_INFO, "%s (%s): error: %s", pb_conn_peer_addr(s->c),
	       pb_conn_peer_id(s->c)[0] ? pb_conn_peer_id(s->c) : "no identity", msg);
	send_reply(s, &r);
	s->st = SS_DONE;
	return -1;
}

/* The host a request is about is the certificate's identity; a different claim is refused. */
static bool host_ok(struct session *s, const char *claimed)
{
	const char *id = pb_conn_peer_id(s->c);
	if (claimed == NULL || claimed[0] == '\0')
		return true;
	if (id[0] == '\0')
		return true; /* plain test mode: no identity to hold the claim against */
	if (strcasecmp(claimed, id) == 0 || pb_conn_peer_matches(s->c, claimed))
		return true;
	s->d->cnt.host_mismatch++;
	pb_log(PB_LV_WARN, "%s: certificate identity %s claimed to be host %s: refused",
	       pb_conn_peer_addr(s->c), id, claimed);
	return false;
}

static const char *session_host(struct session *s)
{
	return pb_conn_peer_id(s->c);
}

static int handle_hello(struct session *s, uint64_t id, const PolicyHello *h)
{
	PolicyReply r = POLICY_REPLY__INIT;
	PolicyHelloReply hr = POLICY_HELLO_REPLY__INIT;

	if (s->st != SS_NEW)
		return fail(s, id, PB_ERR_PROTO, "Hello sent twice");
	if (h->version != PD_PROTOCOL_VERSION)
		return fail(s, id, PB_ERR_PROTO,
			    "protocol version mismatch: client speaks version %u, server speaks version %u",
			    h->version, PD_PROTOCOL_VERSION);
	if (!host_ok(s, h->host))
		return fail(s, id, PB_ERR_DENIED, "host '%s' does not match the certificate identity '%s'",
			    h->host, pb_conn_peer_id(s->c));
	snprintf(s->client, sizeof(s->client), "%s %s", h->client_name, h->client_version);
	hr.version = PD_PROTOCOL_VERSION;
	hr.server_name = (char *)"policyd";
	hr.server_version = (char *)PB_VERSION;
	r.id = id;
	r.type_case = POLICY_REPLY__TYPE_HELLO;
	r.hello = &hr;
	s->st = SS_HELLO;
	PB_TRACE(PB_SS_PROTO, 4, "%s: hello from %s", pb_conn_peer_addr(s->c), s->client);
	return send_reply(s, &r) < 0 ? -1 : 0;
}

/* Decide rq, count, audit and answer; *accepted (may be NULL) gets the result. */
static int decide(struct session *s, uint64_t id, struct pe_request *rq, bool *accepted)
{
	struct pd *d = s->d;
	PolicyReply r = POLICY_REPLY__INIT;
	PolicyDecision dec;
	struct pd_decbuf b;
	struct pe_result res;
	uint32_t matched[8];

	memset(&res, 0, sizeof(res));
	res.matched = matched;
	res.matched_cap = 8;
	pd_uniqueid(b.uniqueid);
	rq->uniqueid = b.uniqueid;
	rq->now = time(NULL);
	pe_eval(d->policy, rq, &res);
	pd_decision_fill(d->policy, rq, &res, &dec, &b);
	d->cnt.decisions[rq->mode][dec.accept ? 1 : 0]++;
	s->requests++;
	PB_TRACE(PB_SS_POLICY, 3, "%s %s %s %s: %s by rule '%s' (%s)", rq->host, rq->user,
		 pe_mode_name(rq->mode), rq->command, dec.accept ? "accept" : "reject", dec.rule,
		 dec.uniqueid);
	if (d->audit != NULL && pd_audit_write(d->audit, rq, &dec) < 0) {
		if (d->cnt.audit_failures++ % 1000 == 0)
			pb_log_warn("audit trail write failed");
	}
	r.id = id;
	r.type_case = POLICY_REPLY__TYPE_DECISION;
	r.decision = &dec;
	if (accepted != NULL)
		*accepted = dec.accept;
	return send_reply(s, &r) < 0 ? -1 : 0;
}

static void request_from_session(struct session *s, struct pe_request *rq)
{
	memset(rq, 0, sizeof(*rq));
	rq->host = session_host(s);
	rq->user = s->user;
	rq->uid = s->uid;
	rq->group = s->group;
	rq->groups = s->groups;
	rq->n_groups = s->n_groups;
	rq->tty = s->tty;
	rq->shell = s->shell;
	rq->cwd = s->cwd;
	rq->pid = s->pid;
}

/* Copy what the session keeps from ShellStart into one bounded allocation. */
static int keep_session(struct session *s, const PolicyShellStart *ss)
{
	const char *strs[5] = {ss->user, ss->group, ss->tty, ss->shell, ss->cwd};
	size_t total = 0;
	char *p;

	if (ss->n_groups > MAX_GROUPS)
		return PB_ERR_LIMIT;
	for (int i = 0; i < 5; i++)
		total += strlen(strs[i]) + 1;
	for (size_t i = 0; i < ss->n_groups; i++)
		total += strlen(ss->groups[i]) + 1;
	if (total > MAX_SESSION_BYTES)
		return PB_ERR_LIMIT;
	s->blob = malloc(total + ss->n_groups * sizeof(char *) + sizeof(char *));
	if (s->blob == NULL)
		return PB_ERR_NOMEM;
	s->groups = (const char **)(void *)s->blob;
	p = s->blob + ss->n_groups * sizeof(char *) + sizeof(char *);
	const char **dst[5] = {&s->user, &s->group, &s->tty, &s->shell, &s->cwd};
	for (int i = 0; i < 5; i++) {
		size_t l = strlen(strs[i]) + 1;
		memcpy(p, strs[i], l);
		*dst[i] = p;
		p += l;
	}
	for (size_t i = 0; i < ss->n_groups; i++) {
		size_t l = strlen(ss->groups[i]) + 1;
		memcpy(p, ss->groups[i], l);
		s->groups[i] = p;
		p += l;
	}
	s->n_groups = ss->n_groups;
	s->uid = ss->uid;
	s->gid = ss->gid;
	s->pid = ss->pid;
	s->ppid = ss->ppid;
	return 0;
}

static int handle_shell_start(struct session *s, uint64_t id, const PolicyShellStart *ss)
{
	struct pd *d = s->d;
	struct pe_request rq;
	int rc;

	if (s->st == SS_NEW)
		return fail(s, id, PB_ERR_PROTO, "ShellStart before Hello");
	if (s->st != SS_HELLO)
		return fail(s, id, PB_ERR_PROTO, "ShellStart sent twice");
	if (d->state == ADMIN_STATE__ADMIN_STATE_DISABLED)
		return fail(s, id, PB_ERR_DENIED, "policyd is disabled: new shells are refused");
	if (d->state == ADMIN_STATE__ADMIN_STATE_STOPPING || pb_server_stopping(d->srv))
		return fail(s, id, PB_ERR_DENIED, "policyd is shutting down: new shells are refused");
	if (!host_ok(s, ss->host))
		return fail(s, id, PB_ERR_DENIED, "host '%s' does not match the certificate identity '%s'",
			    ss->host, pb_conn_peer_id(s->c));
	if (ss->user[0] == '\0')
		return fail(s, id, PB_ERR_PROTO, "ShellStart without a user");
	rc = keep_session(s, ss);
	if (rc < 0)
		return fail(s, id, rc, "ShellStart too large (at most %d groups, %d bytes of names)",
			    MAX_GROUPS, MAX_SESSION_BYTES);
	s->start_time = time(NULL);
	request_from_session(s, &rq);
	rq.mode = PE_MODE_START;
	rq.command = ss->shell;
	rq.argv = (const char *const *)ss->argv;
	rq.argc = ss->n_argv;
	bool accepted = false;
	rc = decide(s, id, &rq, &accepted);
	if (rc < 0 || !accepted) {
		/* A refused shell does not start: nothing more is decided on this connection. */
		s->st = SS_DONE;
		return -1;
	}
	s->st = SS_STARTED;
	s->counted = true;
	d->sessions++;
	return 0;
}

static int handle_check(struct session *s, uint64_t id, const PolicyCheck *ck)
{
	struct pe_request rq;
	int mode;

	if (s->st != SS_STARTED)
		return fail(s, id, PB_ERR_PROTO, "Check before %s", s->st == SS_NEW ? "Hello" : "ShellStart");
	mode = pd_mode_from_proto(ck->mode);
	if (mode < 0 || mode == PE_MODE_START)
		return fail(s, id, PB_ERR_PROTO, "Check with mode %d: expected shell command, builtin or redirect",
			    (int)ck->mode);
	if (mode == PE_MODE_REDIRECT &&
	    (ck->command[0] != '\0' || ck->n_argv != 2 ||
	     (strcmp(ck->argv[0], "shell redirect read") != 0 &&
	      strcmp(ck->argv[0], "shell redirect write") != 0)))
		return fail(s, id, PB_ERR_PROTO,
			    "a shell redirect Check has command \"\" and argv [\"shell redirect read|write\", path]");
	if (mode != PE_MODE_REDIRECT && ck->command[0] == '\0')
		return fail(s, id, PB_ERR_PROTO, "Check without a command");
	request_from_session(s, &rq);
	rq.mode = (enum pe_mode)mode;
	rq.command = ck->command;
	rq.argv = (const char *const *)ck->argv;
	rq.argc = ck->n_argv;
	if (ck->cwd[0] != '\0')
		rq.cwd = ck->cwd;
	return decide(s, id, &rq, NULL);
}

static int handle_admin(struct session *s, uint64_t id, const AdminRequest *ar)
{
	struct pd *d = s->d;
	PolicyReply r = POLICY_REPLY__INIT;
	AdminReply *a;
	int rc;

	d->cnt.admin_requests++;
	if (!pb_admin_is_admin(d->admin, pb_conn_peer_id(s->c)))
		d->cnt.admin_refused++;
	a = pb_admin_handle_conn(d->admin, pb_conn_peer_id(s->c), pb_conn_peer_addr(s->c), ar, s);
	if (a == NULL)
		return fail(s, id, PB_ERR_NOMEM, "out of memory");
	r.id = id;
	r.type_case = POLICY_REPLY__TYPE_ADMIN;
	r.admin = a;
	rc = send_reply(s, &r);
	pb_admin_reply_free(a);
	return rc < 0 ? -1 : 0;
}

static void *open_cb(struct pb_conn *c, void *arg)
{
	struct pd *d = arg;
	struct session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->d = d;
	s->c = c;
	s->st = SS_NEW;
	s->user = s->group = s->tty = s->shell = s->cwd = "";
	s->uid = s->gid = s->pid = s->ppid = -1;
	d->cnt.connections++;
	PB_TRACE(PB_SS_NET, 4, "%s: connected as '%s'", pb_conn_peer_addr(c), pb_conn_peer_id(c));
	return s;
}

static int frame_cb(struct pb_conn *c, void *state, const uint8_t *msg, size_t len)
{
	struct session *s = state;
	PolicyRequest *req;
	const char *why;
	int rc;

	if (s->st == SS_DONE)
		return -1;
	if (unpack_arena == NULL) {
		unpack_arena = pd_unpack_arena_new(pd_unpack_budget());
		if (unpack_arena == NULL)
			return fail(s, 0, PB_ERR_NOMEM, "out of memory");
	}
	if (pd_wire_check(&policy_request__descriptor, msg, len, &why) < 0)
		return fail(s, 0, PB_ERR_PROTO, "malformed request: %s", why);
	req = policy_request__unpack(pd_unpack_arena_allocator(unpack_arena), len, msg);
	if (req == NULL) {
		pd_unpack_arena_reset(unpack_arena);
		return fail(s, 0, PB_ERR_PROTO, "malformed request: not a PolicyRequest (or over the %zu byte decoding budget)",
			    pd_unpack_budget());
	}
	if (s->killed != NULL) {
		/* Ended by an administrator: whatever comes next is refused with the reason, then we close. */
		rc = fail(s, req->id, PB_ERR_DENIED, "%s", s->killed);
		pd_unpack_arena_reset(unpack_arena);
		return rc;
	}
	switch (req->type_case) {
	case POLICY_REQUEST__TYPE_HELLO:
		rc = handle_hello(s, req->id, req->hello);
		break;
	case POLICY_REQUEST__TYPE_SHELL_START:
		rc = handle_shell_start(s, req->id, req->shell_start);
		break;
	case POLICY_REQUEST__TYPE_CHECK:
		rc = handle_check(s, req->id, req->check);
		break;
	case POLICY_REQUEST__TYPE_ADMIN:
		rc = handle_admin(s, req->id, req->admin);
		break;
	default:
		rc = fail(s, req->id, PB_ERR_PROTO, "empty or unknown request type");
		break;
	}
	pd_unpack_arena_reset(unpack_arena);
	(void)c;
	return rc;
}

static void frame_error_cb(struct pb_conn *c, void *state, int err)
{
	struct session *s = state;
	(void)c;
	switch (err) {
	case PB_ERR_FRAME_ZERO:
		fail(s, 0, err, "frame of length 0");
		break;
	case PB_ERR_FRAME_BIG:
		fail(s, 0, err, "frame longer than the %u byte maximum",
		     s->d->set.base.limits.max_frame ? s->d->set.base.limits.max_frame : PB_FRAME_MAX_DEFAULT);
		break;
	case PB_ERR_TIMEOUT:
		fail(s, 0, err, "frame not complete before the deadline");
		break;
	default:
		fail(s, 0, err, "framing error: %s", pb_strerror(err));
		break;
	}
}

static void close_cb(struct pb_conn *c, void *state, int why)
{
	struct session *s = state;
	PB_TRACE(PB_SS_NET, 4, "%s: closed (%s) after %llu requests", pb_conn_peer_addr(c),
		 why ? pb_strerror(why) : "normal", (unsigned long long)s->requests);
	if (s->counted && s->d->sessions > 0)
		s->d->sessions--;
	free(s->killed);
	free(s->blob);
	free(s);
}

static void reload_cb(struct pb_server *srv, void *arg)
{
	char err[PB_CONF_ERRLEN];
	(void)srv;
	pd_reload(arg, err, sizeof(err));
}

/* A live shell session: started and not ended by an administrator. */
static bool live_session(const struct session *s)
{
	return s != NULL && s->st == SS_STARTED && s->killed == NULL;
}

static void count_live_cb(struct pb_conn *c, void *state, void *arg)
{
	(void)c;
	if (live_session(state))
		(*(unsigned *)arg)++;
}

/*
 * Graceful stop. After a normal stop asked by an admin, live shell sessions
 * are served until they end (bounded by the drain timeout), and an admin
 * connection that asked to watch stays until the last of them is gone. A
 * stop by signal keeps the server's default: close each connection once no
 * frame is being received and its output is written.
 */
static bool drain_cb(struct pb_conn *c, void *state)
{
	struct session *s = state;
	unsigned live = 0;
	/* Never cut a request in half or drop an answer not yet written (the server's default rule). */
	if (pb_conn_receiving(c) || pb_conn_outq(c) > 0)
		return false;
	if (!s->d->stop_wait)
		return true;
	if (live_session(s))
		return false;
	if (!s->watch)
		return true;
	pb_server_foreach_conn(s->d->srv, count_live_cb, &live);
	return live == 0;
}

/* After a turn's answers: its audit lines, in one write. */
static void round_cb(struct pb_server *s, void *arg)
{
	(void)s;
	struct pd *d = arg;
	if (d->audit != NULL && pd_audit_flush(d->audit) < 0) {
		if (d->cnt.audit_failures++ % 1000 == 0)
			pb_log_warn("audit trail write failed");
	}
}

const struct pb_server_ops pd_server_ops = {
	.open_cb = open_cb,
	.frame_cb = frame_cb,
	.frame_error_cb = frame_error_cb,
	.close_cb = close_cb,
	.reload_cb = reload_cb,
	.drain_cb = drain_cb,
	.round_cb = round_cb,
};

/* --- admin callbacks --- */

static int status_cb(void *arg, AdminStatus *st)
{
	static const char *const modes[PE_MODE_COUNT] = {"start", "command", "builtin", "redirect"};
	struct pd *d = arg;
	char name[64];
	int rc = 0;

	st->state = d->state;
	if (pb_server_stopping(d->srv))
		st->state = ADMIN_STATE__ADMIN_STATE_STOPPING;
	st->connections = pb_server_conn_count(d->srv);
	st->sessions = d->sessions;
	for (int m = 0; m < PE_MODE_COUNT && rc == 0; m++) {
		snprintf(name, sizeof(name), "decisions.%s.accept", modes[m]);
		rc = pb_admin_status_counter(st, name, d->cnt.decisions[m][1]);
		snprintf(name, sizeof(name), "decisions.%s.reject", modes[m]);
		if (rc == 0)
			rc = pb_admin_status_counter(st, name, d->cnt.decisions[m][0]);
	}
	if (rc == 0)
		rc = pb_admin_status_counter(st, "errors", d->cnt.errors);
	if (rc == 0)
		rc = pb_admin_status_counter(st, "connections.total", d->cnt.connections);
	if (rc == 0)
		rc = pb_admin_status_counter(st, "admin.requests", d->cnt.admin_requests);
	if (rc == 0)
		rc = pb_admin_status_counter(st, "admin.refused", d->cnt.admin_refused);
	if (rc == 0)
		rc = pb_admin_status_counter(st, "host.mismatch", d->cnt.host_mismatch);
	if (rc == 0)
		rc = pb_admin_status_counter(st, "audit.failures", d->cnt.audit_failures);
	if (rc == 0)
		rc = pb_admin_status_counter(st, "policy.rules", d->policy->n_rules);
	if (rc == 0)
		rc = pb_admin_status_info(st, "policy_path", d->policy->path);
	if (rc == 0)
		rc = pb_admin_status_info(st, "policy_hash", d->policy->hash);
	if (rc == 0)
		rc = pb_admin_status_info(st, "listen", d->set.base.listen[0].text);
	if (rc == 0 && d->set.audit != NULL)
		rc = pb_admin_status_info(st, "audit", d->set.audit);
	return rc;
}

struct rows_ctx {
	AdminSessions *rows;
	int rc;
	size_t bytes;	/* packed size so far, to stay under the frame cap */
	size_t left_out;
};

/* Room kept in a sessions reply for the envelope; rows past it are counted, not sent. */
#define SESSIONS_REPLY_MAX (PB_FRAME_MAX_DEFAULT - 64 * 1024)

static void session_row_cb(struct pb_conn *c, void *state, void *arg)
{
	struct rows_ctx *x = arg;
	struct session *s = state;
	struct pb_admin_session row;
	AdminSession *r;

	if (x->rc < 0 || s == NULL || s->st != SS_STARTED)
		return;
	if (x->bytes > SESSIONS_REPLY_MAX) {
		x->left_out++;
		return;
	}
	memset(&row, 0, sizeof(row));
	row.host = pb_conn_peer_id(c);
	row.address = pb_conn_peer_addr(c);
	row.user = s->user;
	row.uid = s->uid;
	row.pid = s->pid;
	row.ppid = s->ppid;
	row.tty = s->tty;
	row.shell = s->shell;
	row.start_time = s->start_time;
	row.requests = s->requests;
	row.id = pb_conn_id(c);
	x->rc = pb_admin_sessions_add(x->rows, &row, &r);
	if (x->rc == 0 && s->client[0] != '\0')
		x->rc = pb_admin_session_extra(r, "client", s->client);
	if (x->rc == 0)
		x->rc = pb_admin_session_extra(r, "group", s->group);
	if (x->rc == 0 && s->killed != NULL)
		x->rc = pb_admin_session_extra(r, "ended", s->killed);
	if (x->rc == 0)
		x->bytes += admin_session__get_packed_size(r) + 8;
}

static int sessions_cb(void *arg, AdminSessions *rows)
{
	struct pd *d = arg;
	struct rows_ctx x = {rows, 0, 0, 0};
	pb_server_foreach_conn(d->srv, session_row_cb, &x);
	if (x.left_out > 0)
		pb_log(PB_LV_WARN, "sessions reply cut to %zu rows: %zu more would pass the frame cap",
		       rows->n_session, x.left_out);
	return x.rc;
}

static int admin_reload_cb(void *arg, char *err, size_t errlen)
{
	return pd_reload(arg, err, errlen);
}

static int enable_cb(void *arg, bool enable)
{
	struct pd *d = arg;
	if (d->state == ADMIN_STATE__ADMIN_STATE_STOPPING || pb_server_stopping(d->srv))
		return PB_ERR_INVAL;
	d->state = enable ? ADMIN_STATE__ADMIN_STATE_ENABLED : ADMIN_STATE__ADMIN_STATE_DISABLED;
	return 0;
}

static int stop_cb(void *arg, bool force, unsigned timeout_s)
{
	struct pd *d = arg;
	if (timeout_s > 0) {
		struct pb_server_limits lim = d->set.base.limits;
		lim.drain_ms = timeout_s > 86400 ? 86400000 : (int)timeout_s * 1000;
		pb_server_set_limits(d->srv, &lim);
	}
	d->state = ADMIN_STATE__ADMIN_STATE_STOPPING;
	d->stop_wait = !force;
	pb_server_stop(d->srv, force);
	return 0;
}

static void stop_watch_cb(void *arg, void *conn_arg)
{
	struct session *s = conn_arg;
	(void)arg;
	s->watch = true;
}

struct kill_ctx {
	uint64_t id;
	struct session *found;
};

static void find_conn_cb(struct pb_conn *c, void *state, void *arg)
{
	struct kill_ctx *k = arg;
	if (pb_conn_id(c) == k->id)
		k->found = state;
}

static int kill_cb(void *arg, uint64_t id, const char *admin, const char *why, char *err,
		   size_t errlen)
{
	struct pd *d = arg;
	struct kill_ctx k = {id, NULL};
	struct session *s;

	pb_server_foreach_conn(d->srv, find_conn_cb, &k);
	s = k.found;
	if (s == NULL || s->st != SS_STARTED) {
		snprintf(err, errlen, "no shell session %llu", (unsigned long long)id);
		return PB_ERR_NOTFOUND;
	}
	if (s->killed != NULL) {
		snprintf(err, errlen, "session %llu was already ended: %s", (unsigned long long)id, s->killed);
		return PB_ERR_EXISTS;
	}
	s->killed = strdup(why);
	if (s->killed == NULL)
		return PB_ERR_NOMEM;
	/*
	 * The session's monitor hears it now (an Error with id 0), so that a
	 * shell idle at its prompt, or running only what its lists allow, ends
	 * at once. The connection stays open so any later request gets the
	 * reason too (a bare close would read as a server failure, and the
	 * shell would fail over to another server instead of ending).
	 */
	PolicyReply r = POLICY_REPLY__INIT;
	PolicyError e = POLICY_ERROR__INIT;
	e.code = PB_ERR_DENIED;
	e.message = s->killed;
	r.type_case = POLICY_REPLY__TYPE_ERROR;
	r.error = &e;
	(void)send_reply(s, &r);
	pb_log(PB_LV_NOTICE, "session %llu of %s (user %s, pid %lld) ended by administrator %s",
	       (unsigned long long)id, pb_conn_peer_id(s->c), s->user, s->pid, admin);
	return 0;
}

void pd_admin_ops(struct pd *d, struct pb_admin_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->arg = d;
	ops->status_cb = status_cb;
	ops->sessions_cb = sessions_cb;
	ops->reload_cb = admin_reload_cb;
	ops->enable_cb = enable_cb;
	ops->stop_cb = stop_cb;
	ops->stop_watch_cb = stop_watch_cb;
	ops->kill_cb = kill_cb;
}
