/* SPDX-License-Identifier: ISC */
/* Shared handling of administration requests: identity check, status and session replies, dispatch to daemon callbacks. */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "debug.h"
#include "err.h"
#include "match.h"

struct pb_admin {
	char *program;
	char *config_path;
	struct pb_admin_ops ops;
	char **admins;
	size_t n_admins;
	time_t started;
};

static char *xstrdup(const char *s)
{
	return strdup(s != NULL ? s : "");
}

struct pb_admin *pb_admin_new(const char *program, const char *config_path,
			      const struct pb_admin_ops *ops)
{
	struct pb_admin *adm = calloc(1, sizeof(*adm));
	if (adm == NULL)
		return NULL;
	adm->program = xstrdup(program);
	adm->config_path = xstrdup(config_path);
	if (adm->program == NULL || adm->config_path == NULL) {
		pb_admin_free(adm);
		return NULL;
	}
	if (ops != NULL)
		adm->ops = *ops;
	adm->started = time(NULL);
	return adm;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void pb_admin_free(struct pb_admin *adm)
{
	if (adm == NULL)
		return;
	free(adm->program);
	free(adm->config_path);
	free_list(adm->admins, adm->n_admins);
	free(adm);
}

int pb_admin_set_admins(struct pb_admin *adm, char *const *admins, size_t n)
{
	char **list = NULL;
	size_t i = 0;
	int rc = PB_ERR_NOMEM;

	if (n > 0) {
		list = calloc(n, sizeof(*list));
		if (list == NULL)
			goto done;
		for (i = 0; i < n; i++) {
			list[i] = xstrdup(admins[i]);
			if (list[i] == NULL)
				goto done;
		}
	}
	free_list(adm->admins, adm->n_admins);
	adm->admins = list;
	adm->n_admins = n;
	list = NULL;
	rc = 0;
done:
	if (list != NULL)
		free_list(list, i);
	return rc;
}

int pb_admin_set_config_path(struct pb_admin *adm, const char *config_path)
{
	char *p = xstrdup(config_path);
	if (p == NULL)
		return PB_ERR_NOMEM;
	free(adm->config_path);
	adm->config_path = p;
	return 0;
}

bool pb_admin_is_admin(const struct pb_admin *adm, const char *identity)
{
	if (adm == NULL || identity == NULL || identity[0] == '\0')
		return false;
	for (size_t i = 0; i < adm->n_admins; i++) {
		const char *a = adm->admins[i];
		if (strcmp(a, identity) == 0)
			return true;
		if (pb_match_has_magic(a, 0) && pb_match(a, identity, 0))
			return true;
	}
	return false;
}

const char *pb_admin_state_name(AdminState state)
{
	switch (state) {
	case ADMIN_STATE__ADMIN_STATE_STARTING:
		return "STARTING";
	case ADMIN_STATE__ADMIN_STATE_ENABLED:
		return "ENABLED";
	case ADMIN_STATE__ADMIN_STATE_DISABLED:
		return "DISABLED";
	case ADMIN_STATE__ADMIN_STATE_STOPPING:
		return "STOPPING";
	default:
		return "UNKNOWN";
	}
}

char *pb_admin_debug_spec(char *buf, size_t len)
{
	size_t used = 0;
	int first = -1;
	bool uniform = true;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (int ss = 0; ss < PB_SS_COUNT; ss++) {
		int lv = pb_debug_level((enum pb_subsys)ss);
		if (first < 0)
			first = lv;
		else if (lv != first)
			uniform = false;
	}
	if (uniform) {
		snprintf(buf, len, "%d", first < 0 ? 0 : first);
		return buf;
	}
	for (int ss = 0; ss < PB_SS_COUNT; ss++) {
		int lv = pb_debug_level((enum pb_subsys)ss);
		if (lv == 0)
			continue;
		int w = snprintf(buf + used, len - used, "%s%s@%d", used ? "," : "",
				 pb_debug_name((enum pb_subsys)ss), lv);
		if (w < 0 || (size_t)w >= len - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)w;
	}
	return buf;
}

void pb_admin_reply_free(AdminReply *reply)
{
	if (reply != NULL)
		protobuf_c_message_free_unpacked(&reply->base, NULL);
}

static AdminReply *reply_new(uint64_t id)
{
	AdminReply *r = malloc(sizeof(*r));
	if (r == NULL)
		return NULL;
	admin_reply__init(r);
	r->id = id;
	return r;
}

AdminReply *pb_admin_error_reply(uint64_t id, int code, const char *message)
{
	AdminReply *r = reply_new(id);
	AdminError *e = NULL;
	if (r == NULL)
		return NULL;
	e = malloc(sizeof(*e));
	if (e == NULL)
		goto fail;
	admin_error__init(e);
	r->type_case = ADMIN_REPLY__TYPE_ERROR;
	r->error = e;
	e->code = code;
	e->message = xstrdup(message != NULL ? message : pb_strerror(code));
	if (e->message == NULL)
		goto fail;
	return r;
fail:
	if (e != NULL)
		e->message = (char *)protobuf_c_empty_string;
	pb_admin_reply_free(r);
	return NULL;
}

static AdminReply *done_reply(uint64_t id, const char *message)
{
	AdminReply *r = reply_new(id);
	AdminDone *d;
	if (r == NULL)
		return NULL;
	d = malloc(sizeof(*d));
	if (d == NULL) {
		pb_admin_reply_free(r);
		return NULL;
	}
	admin_done__init(d);
	r->type_case = ADMIN_REPLY__TYPE_DONE;
	r->done = d;
	d->message = xstrdup(message);
	if (d->message == NULL) {
		d->message = (char *)protobuf_c_empty_string;
		pb_admin_reply_free(r);
		return NULL;
	}
	return r;
}

/* Grow a protobuf-c repeated field of pointers by one slot. */
static int grow(void ***arr, size_t *n)
{
	void **na = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (na == NULL)
		return PB_ERR_NOMEM;
	*arr = na;
	return 0;
}

int pb_admin_status_counter(AdminStatus *st, const char *name, uint64_t value)
{
	AdminCounter *c = malloc(sizeof(*c));
	if (c == NULL)
		return PB_ERR_NOMEM;
	admin_counter__init(c);
	c->name = xstrdup(name);
	c->value = value;
	if (c->name == NULL || grow((void ***)&st->counters, &st->n_counters) < 0) {
		free(c->name);
		free(c);
		return PB_ERR_NOMEM;
	}
	st->counters[st->n_counters++] = c;
	return 0;
}

static int field_append(AdminField ***arr, size_t *n, const char *name, const char *value)
{
	AdminField *f = malloc(sizeof(*f));
	if (f == NULL)
		return PB_ERR_NOMEM;
	admin_field__init(f);
	f->name = xstrdup(name);
	f->value = xstrdup(value);
	if (f->name == NULL || f->value == NULL || grow((void ***)arr, n) < 0) {
		free(f->name);
		free(f->value);
		free(f);
		return PB_ERR_NOMEM;
	}
	(*arr)[(*n)++] = f;
	return 0;
}

int pb_admin_status_info(AdminStatus *st, const char *name, const char *value)
{
	return field_append(&st->info, &st->n_info, name, value);
}

int pb_admin_session_extra(AdminSession *row, const char *name, const char *value)
{
	return field_append(&row->extra, &row->n_extra, name, value);
}

int pb_admin_sessions_add(AdminSessions *rows, const struct pb_admin_session *s, AdminSession **out)
{
	AdminSession *r = malloc(sizeof(*r));
	if (r == NULL)
		return PB_ERR_NOMEM;
	admin_session__init(r);
	r->host = xstrdup(s->host);
	r->address = xstrdup(s->address);
	r->user = xstrdup(s->user);
	r->tty = xstrdup(s->tty);
	r->shell = xstrdup(s->shell);
	r->uid = s->uid;
	r->pid = s->pid;
	r->ppid = s->ppid;
	r->start_time = s->start_time;
	r->requests = s->requests;
	r->id = s->id;
	if (r->host == NULL || r->address == NULL || r->user == NULL || r->tty == NULL ||
	    r->shell == NULL || grow((void ***)&rows->session, &rows->n_session) < 0) {
		free(r->host);
		free(r->address);
		free(r->user);
		free(r->tty);
		free(r->shell);
		free(r);
		return PB_ERR_NOMEM;
	}
	rows->session[rows->n_session++] = r;
	if (out != NULL)
		*out = r;
	return 0;
}

static AdminReply *handle_status(struct pb_admin *adm, uint64_t id)
{
	char dbg[256];
	AdminReply *r = reply_new(id);
	AdminStatus *st;
	int rc;

	if (r == NULL)
		return NULL;
	st = malloc(sizeof(*st));
	if (st == NULL) {
		pb_admin_reply_free(r);
		return NULL;
	}
	admin_status__init(st);
	r->type_case = ADMIN_REPLY__TYPE_STATUS;
	r->status = st;
	st->program = xstrdup(adm->program);
	st->version = xstrdup(PB_VERSION);
	st->config_path = xstrdup(adm->config_path);
	st->debug = xstrdup(pb_admin_debug_spec(dbg, sizeof(dbg)));
	if (st->program == NULL || st->version == NULL || st->config_path == NULL ||
	    st->debug == NULL) {
		pb_admin_reply_free(r);
		return NULL;
	}
	st->pid = (int64_t)getpid();
	st->start_time = (int64_t)adm->started;
	time_t now = time(NULL);
	st->uptime_s = now > adm->started ? (uint64_t)(now - adm->started) : 0;
	rc = adm->ops.status_cb(adm->ops.arg, st);
	if (rc < 0) {
		pb_admin_reply_free(r);
		return pb_admin_error_reply(id, rc, NULL);
	}
	return r;
}

static AdminReply *handle_sessions(struct pb_admin *adm, uint64_t id)
{
	AdminReply *r = reply_new(id);
	AdminSessions *rows;
	int rc;

	if (r == NULL)
		return NULL;
	rows = malloc(sizeof(*rows));
	if (rows == NULL) {
		pb_admin_reply_free(r);
		return NULL;
	}
	admin_sessions__init(rows);
	r->type_case = ADMIN_REPLY__TYPE_SESSIONS;
	r->sessions = rows;
	rc = adm->ops.sessions_cb(adm->ops.arg, rows);
	if (rc < 0) {
		pb_admin_reply_free(r);
		return pb_admin_error_reply(id, rc, NULL);
	}
	return r;
}

static const char *request_name(const AdminRequest *req)
{
	switch (req->type_case) {
	case ADMIN_REQUEST__TYPE_STATUS:
		return "status";
	case ADMIN_REQUEST__TYPE_SESSIONS:
		return "sessions";
	case ADMIN_REQUEST__TYPE_RELOAD:
		return "reload";
	case ADMIN_REQUEST__TYPE_ENABLE:
		return "enable";
	case ADMIN_REQUEST__TYPE_DISABLE:
		return "disable";
	case ADMIN_REQUEST__TYPE_STOP:
		return "stop";
	case ADMIN_REQUEST__TYPE_TRACE:
		return "trace";
	case ADMIN_REQUEST__TYPE_KILL_SESSION:
		return "kill-session";
	default:
		return "unknown";
	}
}

char *pb_admin_request_text(const AdminRequest *req, char *buf, size_t len)
{
	const char *what = request_name(req);
	switch (req->type_case) {
	case ADMIN_REQUEST__TYPE_STOP:
		if (req->stop != NULL && req->stop->force)
			snprintf(buf, len, "%s force", what);
		else
			snprintf(buf, len, "%s timeout=%us%s", what,
				 req->stop != NULL ? req->stop->timeout_s : 0,
				 req->stop != NULL && req->stop->watch ? " watch" : "");
		break;
	case ADMIN_REQUEST__TYPE_TRACE:
		snprintf(buf, len, "%s \"%s\"", what, req->trace != NULL ? req->trace->spec : "");
		break;
	case ADMIN_REQUEST__TYPE_KILL_SESSION:
		snprintf(buf, len, "%s %llu", what,
			 (unsigned long long)(req->kill_session != NULL ? req->kill_session->id : 0));
		break;
	default:
		snprintf(buf, len, "%s", what);
		break;
	}
	return buf;
}

char *pb_admin_kill_message(char *buf, size_t len, uint64_t id, const char *admin,
			    const char *reason)
{
	snprintf(buf, len, "session %llu ended by administrator %s%s%s", (unsigned long long)id,
		 admin != NULL && admin[0] != '\0' ? admin : "(no identity)",
		 reason != NULL && reason[0] != '\0' ? ": " : "", reason != NULL ? reason : "");
	return buf;
}

/* Dispatch an admitted request to the daemon's callbacks. NULL only when memory ran out. */
static AdminReply *dispatch(struct pb_admin *adm, const char *who, const AdminRequest *req,
			    void *conn_arg)
{
	char err[512];
	int rc;

	switch (req->type_case) {
	case ADMIN_REQUEST__TYPE_STATUS:
		if (adm->ops.status_cb == NULL)
			break;
		return handle_status(adm, req->id);
	case ADMIN_REQUEST__TYPE_SESSIONS:
		if (adm->ops.sessions_cb == NULL)
			break;
		return handle_sessions(adm, req->id);
	case ADMIN_REQUEST__TYPE_RELOAD:
		if (adm->ops.reload_cb == NULL)
			break;
		err[0] = '\0';
		rc = adm->ops.reload_cb(adm->ops.arg, err, sizeof(err));
		if (rc < 0)
			return pb_admin_error_reply(req->id, rc, err[0] ? err : NULL);
		return done_reply(req->id, "reloaded");
	case ADMIN_REQUEST__TYPE_ENABLE:
	case ADMIN_REQUEST__TYPE_DISABLE: {
		bool on = req->type_case == ADMIN_REQUEST__TYPE_ENABLE;
		if (adm->ops.enable_cb == NULL)
			break;
		rc = adm->ops.enable_cb(adm->ops.arg, on);
		if (rc < 0)
			return pb_admin_error_reply(req->id, rc, NULL);
		return done_reply(req->id, on ? "enabled" : "disabled");
	}
	case ADMIN_REQUEST__TYPE_STOP: {
		bool force = req->stop != NULL && req->stop->force;
		unsigned tmo = req->stop != NULL ? req->stop->timeout_s : 0;
		if (adm->ops.stop_cb == NULL)
			break;
		rc = adm->ops.stop_cb(adm->ops.arg, force, tmo);
		if (rc < 0)
			return pb_admin_error_reply(req->id, rc, NULL);
		if (!force && req->stop->watch && adm->ops.stop_watch_cb != NULL && conn_arg != NULL)
			adm->ops.stop_watch_cb(adm->ops.arg, conn_arg);
		return done_reply(req->id, force ? "stopping now" : "stopping");
	}
	case ADMIN_REQUEST__TYPE_TRACE: {
		const char *spec = req->trace != NULL ? req->trace->spec : "";
		const char *errstr = NULL;
		if (spec == NULL || spec[0] == '\0')
			spec = "0";
		if (pb_debug_parse(spec, &errstr) < 0) {
			snprintf(err, sizeof(err), "bad trace spec \"%s\": %s", spec,
				 errstr != NULL ? errstr : "invalid");
			return pb_admin_error_reply(req->id, PB_ERR_INVAL, err);
		}
		if (adm->ops.trace_cb != NULL)
			adm->ops.trace_cb(adm->ops.arg, spec);
		return done_reply(req->id, pb_admin_debug_spec(err, sizeof(err)));
	}
	case ADMIN_REQUEST__TYPE_KILL_SESSION: {
		char why[512];
		const AdminKillSession *k = req->kill_session;
		if (adm->ops.kill_cb == NULL)
			break;
		if (k == NULL || k->id == 0)
			return pb_admin_error_reply(req->id, PB_ERR_INVAL, "kill-session needs a session id");
		pb_admin_kill_message(why, sizeof(why), k->id, who, k->reason);
		err[0] = '\0';
		rc = adm->ops.kill_cb(adm->ops.arg, k->id, who, why, err, sizeof(err));
		if (rc == PB_ERR_NOTFOUND && err[0] == '\0')
			snprintf(err, sizeof(err), "no session %llu", (unsigned long long)k->id);
		if (rc < 0)
			return pb_admin_error_reply(req->id, rc, err[0] ? err : NULL);
		return done_reply(req->id, why);
	}
	default:
		return pb_admin_error_reply(req->id, PB_ERR_PROTO, "empty or unknown admin request");
	}
	return pb_admin_error_reply(req->id, PB_ERR_INVAL, "not supported by this daemon");
}

AdminReply *pb_admin_handle_conn(struct pb_admin *adm, const char *identity, const char *address,
				 const AdminRequest *req, void *conn_arg)
{
	const char *who = identity != NULL && identity[0] != '\0' ? identity : "(no identity)";
	const char *where = address != NULL ? address : "?";
	char what[128];
	AdminReply *r;

	pb_admin_request_text(req, what, sizeof(what));
	if (!pb_admin_is_admin(adm, identity)) {
		pb_log(PB_LV_WARN, "admin: %s request from %s at %s refused: not an administrator",
		       what, who, where);
		return pb_admin_error_reply(req->id, PB_ERR_DENIED, "permission denied: not an administrator");
	}
	r = dispatch(adm, who, req, conn_arg);
	/* One line per action, with its outcome: the daemon's log is the record of who did what. */
	if (r == NULL)
		pb_log(PB_LV_WARN, "admin: %s request from %s at %s failed: out of memory", what, who, where);
	else if (r->type_case == ADMIN_REPLY__TYPE_ERROR)
		pb_log(PB_LV_WARN, "admin: %s request from %s at %s failed: %s", what, who, where,
		       r->error->message);
	else if (r->type_case == ADMIN_REPLY__TYPE_DONE)
		pb_log(PB_LV_NOTICE, "admin: %s request from %s at %s done: %s", what, who, where,
		       r->done->message);
	else
		pb_log(PB_LV_INFO, "admin: %s request from %s at %s answered", what, who, where);
	return r;
}

AdminReply *pb_admin_handle(struct pb_admin *adm, const char *identity, const char *address,
			    const AdminRequest *req)
{
	return pb_admin_handle_conn(adm, identity, address, req, NULL);
}
