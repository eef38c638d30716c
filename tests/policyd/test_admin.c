/* SPDX-License-Identifier: ISC */
/* Unit tests of lib/admin: identity check, status and session replies, dispatch to daemon callbacks. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "debug.h"
#include "err.h"

struct fake {
	int reloads, enables, disables, stops;
	bool force;
	unsigned timeout;
	bool fail_reload;
	char traced[64];
};

static int status_cb(void *arg, AdminStatus *st)
{
	(void)arg;
	st->state = ADMIN_STATE__ADMIN_STATE_ENABLED;
	st->connections = 3;
	cr_assert_eq(pb_admin_status_counter(st, "decisions.accept", 7), 0);
	cr_assert_eq(pb_admin_status_info(st, "policy_hash", "abc"), 0);
	return 0;
}

static int sessions_cb(void *arg, AdminSessions *rows)
{
	struct pb_admin_session s = {.host = "host1.test", .user = "alice", .uid = 1000, .pid = 42,
				     .ppid = 1, .tty = NULL, .shell = "pbksh", .requests = 5};
	AdminSession *r = NULL;
	(void)arg;
	cr_assert_eq(pb_admin_sessions_add(rows, &s, &r), 0);
	cr_assert_eq(pb_admin_session_extra(r, "client", "pbksh 0.1"), 0);
	return 0;
}

static int reload_cb(void *arg, char *err, size_t len)
{
	struct fake *f = arg;
	f->reloads++;
	if (f->fail_reload) {
		snprintf(err, len, "policy.yaml:3:7: unknown key 'usr'");
		return PB_ERR_CONF;
	}
	return 0;
}

static int enable_cb(void *arg, bool on)
{
	struct fake *f = arg;
	if (on)
		f->enables++;
	else
		f->disables++;
	return 0;
}

static int stop_cb(void *arg, bool force, unsigned timeout)
{
	struct fake *f = arg;
	f->stops++;
	f->force = force;
	f->timeout = timeout;
	return 0;
}

static void trace_cb(void *arg, const char *spec)
{
	struct fake *f = arg;
	snprintf(f->traced, sizeof(f->traced), "%s", spec);
}

static struct fake fk;

static struct pb_admin *make(bool full)
{
	struct pb_admin_ops ops = {.arg = &fk};
	char *admins[] = {(char *)"admin", (char *)"ops-*.example.com"};
	memset(&fk, 0, sizeof(fk));
	if (full) {
		ops.status_cb = status_cb;
		ops.sessions_cb = sessions_cb;
		ops.reload_cb = reload_cb;
		ops.enable_cb = enable_cb;
		ops.stop_cb = stop_cb;
		ops.trace_cb = trace_cb;
	}
	struct pb_admin *a = pb_admin_new("testd", "/etc/pbsh.yaml", &ops);
	cr_assert_not_null(a);
	cr_assert_eq(pb_admin_set_admins(a, admins, 2), 0);
	return a;
}

static AdminReply *ask(struct pb_admin *a, const char *who, AdminRequest__TypeCase t)
{
	AdminRequest r = ADMIN_REQUEST__INIT;
	AdminEmpty e = ADMIN_EMPTY__INIT;
	r.id = 99;
	r.type_case = t;
	switch (t) {
	case ADMIN_REQUEST__TYPE_STATUS:
		r.status = &e;
		break;
	case ADMIN_REQUEST__TYPE_SESSIONS:
		r.sessions = &e;
		break;
	case ADMIN_REQUEST__TYPE_RELOAD:
		r.reload = &e;
		break;
	case ADMIN_REQUEST__TYPE_ENABLE:
		r.enable = &e;
		break;
	case ADMIN_REQUEST__TYPE_DISABLE:
		r.disable = &e;
		break;
	default:
		break;
	}
	AdminReply *rep = pb_admin_handle(a, who, "127.0.0.1:1", &r);
	cr_assert_not_null(rep);
	cr_assert_eq(rep->id, 99);
	return rep;
}

Test(admin, identities)
{
	struct pb_admin *a = make(true);
	cr_assert(pb_admin_is_admin(a, "admin"));
	cr_assert(pb_admin_is_admin(a, "ops-1.example.com"));
	cr_assert_not(pb_admin_is_admin(a, "administrator"));
	cr_assert_not(pb_admin_is_admin(a, "host1.test"));
	cr_assert_not(pb_admin_is_admin(a, ""));
	cr_assert_not(pb_admin_is_admin(a, NULL));
	pb_admin_free(a);
	pb_admin_free(NULL);
}

Test(admin, non_admin_refused_and_nothing_dispatched)
{
	struct pb_admin *a = make(true);
	AdminReply *r = ask(a, "host1.test", ADMIN_REQUEST__TYPE_RELOAD);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_ERROR);
	cr_assert_eq(r->error->code, PB_ERR_DENIED);
	cr_assert_eq(fk.reloads, 0);
	pb_admin_reply_free(r);
	pb_admin_free(a);
}

Test(admin, status_generic_and_daemon_fields)
{
	struct pb_admin *a = make(true);
	AdminReply *r = ask(a, "admin", ADMIN_REQUEST__TYPE_STATUS);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_STATUS);
	AdminStatus *st = r->status;
	cr_assert_str_eq(st->program, "testd");
	cr_assert_str_eq(st->version, PB_VERSION);
	cr_assert_str_eq(st->config_path, "/etc/pbsh.yaml");
	cr_assert_eq(st->pid, getpid());
	cr_assert_eq(st->state, ADMIN_STATE__ADMIN_STATE_ENABLED);
	cr_assert_eq(st->connections, 3);
	cr_assert_eq(st->n_counters, 1);
	cr_assert_str_eq(st->counters[0]->name, "decisions.accept");
	cr_assert_eq(st->counters[0]->value, 7);
	cr_assert_str_eq(st->info[0]->value, "abc");
	cr_assert_str_neq(st->debug, "");
	pb_admin_reply_free(r);
	pb_admin_free(a);
}

Test(admin, sessions_rows)
{
	struct pb_admin *a = make(true);
	AdminReply *r = ask(a, "admin", ADMIN_REQUEST__TYPE_SESSIONS);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_SESSIONS);
	cr_assert_eq(r->sessions->n_session, 1);
	AdminSession *s = r->sessions->session[0];
	cr_assert_str_eq(s->host, "host1.test");
	cr_assert_str_eq(s->tty, "");
	cr_assert_eq(s->uid, 1000);
	cr_assert_eq(s->requests, 5);
	cr_assert_str_eq(s->extra[0]->name, "client");
	pb_admin_reply_free(r);
	pb_admin_free(a);
}

Test(admin, reload_enable_disable)
{
	struct pb_admin *a = make(true);
	AdminReply *r = ask(a, "admin", ADMIN_REQUEST__TYPE_RELOAD);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_DONE);
	cr_assert_eq(fk.reloads, 1);
	pb_admin_reply_free(r);
	fk.fail_reload = true;
	r = ask(a, "admin", ADMIN_REQUEST__TYPE_RELOAD);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_ERROR);
	cr_assert_eq(r->error->code, PB_ERR_CONF);
	cr_assert_str_eq(r->error->message, "policy.yaml:3:7: unknown key 'usr'");
	pb_admin_reply_free(r);
	r = ask(a, "admin", ADMIN_REQUEST__TYPE_DISABLE);
	cr_assert_eq(fk.disables, 1);
	pb_admin_reply_free(r);
	r = ask(a, "admin", ADMIN_REQUEST__TYPE_ENABLE);
	cr_assert_eq(fk.enables, 1);
	pb_admin_reply_free(r);
	pb_admin_free(a);
}

Test(admin, stop_and_trace)
{
	struct pb_admin *a = make(true);
	AdminRequest q = ADMIN_REQUEST__INIT;
	AdminStop stop = ADMIN_STOP__INIT;
	AdminTrace tr = ADMIN_TRACE__INIT;
	q.type_case = ADMIN_REQUEST__TYPE_STOP;
	q.stop = &stop;
	stop.force = true;
	stop.timeout_s = 7;
	AdminReply *r = pb_admin_handle(a, "admin", NULL, &q);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_DONE);
	cr_assert(fk.force);
	cr_assert_eq(fk.timeout, 7);
	pb_admin_reply_free(r);

	q.type_case = ADMIN_REQUEST__TYPE_TRACE;
	q.trace = &tr;
	tr.spec = (char *)"policy@7";
	r = pb_admin_handle(a, "admin", NULL, &q);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_DONE);
	cr_assert_eq(pb_debug_level(PB_SS_POLICY), 7);
	cr_assert_str_eq(fk.traced, "policy@7");
	cr_assert(strstr(r->done->message, "policy@7") != NULL, "%s", r->done->message);
	pb_admin_reply_free(r);
	tr.spec = (char *)"nonsense@x";
	r = pb_admin_handle(a, "admin", NULL, &q);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_ERROR);
	cr_assert_eq(r->error->code, PB_ERR_INVAL);
	pb_admin_reply_free(r);
	pb_debug_set_all(0);
	pb_admin_free(a);
}

Test(admin, missing_callbacks_and_empty_request)
{
	struct pb_admin *a = make(false);
	AdminReply *r = ask(a, "admin", ADMIN_REQUEST__TYPE_STATUS);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_ERROR);
	cr_assert_eq(r->error->code, PB_ERR_INVAL);
	pb_admin_reply_free(r);
	r = ask(a, "admin", ADMIN_REQUEST__TYPE__NOT_SET);
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_ERROR);
	cr_assert_eq(r->error->code, PB_ERR_PROTO);
	pb_admin_reply_free(r);
	pb_admin_free(a);
}

Test(admin, state_names_and_error_reply)
{
	cr_assert_str_eq(pb_admin_state_name(ADMIN_STATE__ADMIN_STATE_STOPPING), "STOPPING");
	cr_assert_str_eq(pb_admin_state_name((AdminState)42), "UNKNOWN");
	AdminReply *r = pb_admin_error_reply(5, PB_ERR_LIMIT, NULL);
	cr_assert_str_eq(r->error->message, pb_strerror(PB_ERR_LIMIT));
	pb_admin_reply_free(r);
	char buf[64];
	pb_debug_set_all(0);
	cr_assert_str_eq(pb_admin_debug_spec(buf, sizeof(buf)), "0");
}
