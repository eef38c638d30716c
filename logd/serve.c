/* SPDX-License-Identifier: ISC */
/* logd's glue to lib/server (connections, commit ticks, reload) and lib/admin (status, sessions, stop ...). */
#include "logd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "debug.h"
#include "err.h"
#include "log.pb-c.h"
#include "tls.h"

/* ---- transport: handler -> pb_conn ---- */

static int tr_send(void *io, const ProtobufCMessage *m)
{
	return pb_conn_send_msg(io, m);
}

static void tr_close(void *io)
{
	pb_conn_close_after_flush(io);
}

static bool tr_peer_matches(void *io, const char *name)
{
	return pb_conn_peer_matches(io, name);
}

static const struct logd_transport conn_transport = {
	.send = tr_send,
	.close = tr_close,
	.peer_matches = tr_peer_matches,
};

/* ---- server callbacks ---- */

static void *open_cb(struct pb_conn *c, void *arg)
{
	struct logd *d = arg;
	struct logd_conn *lc = logd_conn_new(&d->ctx, &conn_transport, c, pb_conn_peer_id(c),
					     pb_conn_peer_addr(c));
	if (lc == NULL)
		pb_log(PB_LV_ERROR, "logd: %s: out of memory", pb_conn_peer_addr(c));
	else
		PB_TRACE(PB_SS_NET, 3, "logd: connection from %s (%s)", pb_conn_peer_addr(c),
			 pb_conn_peer_id(c)[0] ? pb_conn_peer_id(c) : "plain");
	return lc;
}

static int frame_cb(struct pb_conn *c, void *state, const uint8_t *msg, size_t len)
{
	(void)c;
	return logd_conn_frame(state, msg, len);
}

static void frame_error_cb(struct pb_conn *c, void *state, int err)
{
	(void)c;
	logd_conn_frame_error(state, err);
}

static void close_cb(struct pb_conn *c, void *state, int why)
{
	(void)c;
	if (why != 0 && why != PB_ERR_EOF)
		PB_TRACE(PB_SS_NET, 3, "logd: %s closed: %s", logd_conn_addr(state), pb_strerror(why));
	logd_conn_free(state);
}

static void tick_cb(struct pb_server *s, void *arg)
{
	(void)s;
	struct logd *d = arg;
	logd_ctx_tick(&d->ctx);
}

static void reload_cb(struct pb_server *s, void *arg)
{
	(void)s;
	char err[PB_CONF_ERRLEN];
	logd_reload(arg, err, sizeof(err));
}

static bool drain_cb(struct pb_conn *c, void *state)
{
	(void)c;
	return logd_conn_idle(state);
}

const struct pb_server_ops logd_server_ops = {
	.open_cb = open_cb,
	.frame_cb = frame_cb,
	.frame_error_cb = frame_error_cb,
	.close_cb = close_cb,
	.tick_cb = tick_cb,
	.reload_cb = reload_cb,
	.drain_cb = drain_cb,
};

/* ---- reload ---- */

int logd_reload(struct logd *d, char *err, size_t errlen)
{
	struct logd_settings ns;
	struct pb_conf_err cerr;
	struct pb_tls_ctx *nt = NULL;
	struct evlog *nev = NULL;
	const char *errstr = NULL;
	int rc;

	pb_daemon_notify("RELOADING=1");
	rc = logd_settings_load(d->config_path, &ns, &cerr);
	if (rc < 0) {
		snprintf(err, errlen, "%s", cerr.msg);
		goto fail;
	}
	if (strcmp(ns.iolog_dir, d->set.iolog_dir) != 0 || ns.base.plain != d->set.base.plain) {
		rc = PB_ERR_CONF;
		snprintf(err, errlen, "logd.iolog_dir and tls.plaintext_for_tests change only at restart");
		goto fail;
	}
	nt = pb_daemon_tls_new(&ns.base, "pbsh-logd", &errstr);
	if (nt == NULL) {
		snprintf(err, errlen, "%s", errstr);
		rc = PB_ERR_TLS;
		goto fail;
	}
	/* A new event log opens the file again: that is the rotation SIGHUP asks for. */
	rc = evlog_open(ns.eventlog, ns.eventlog_rotate, &nev, &errstr);
	if (rc < 0) {
		snprintf(err, errlen, "logd.eventlog %s: %s", ns.eventlog, errstr);
		goto fail;
	}
	if ((rc = pb_admin_set_admins(d->admin, ns.base.admins, ns.base.n_admins)) < 0 ||
	    (rc = logd_apply(&d->ctx, &ns)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Everything is valid: swap. */
	pb_server_set_tls(d->srv, nt);
	pb_tls_ctx_free(nt);
	pb_server_set_limits(d->srv, &ns.base.limits);
	evlog_close(d->ctx.ev);
	d->ctx.ev = nev;
	d->ctx.ev_error = 0; /* a failed sync concerned the file just closed */
	if (ns.base.debug != NULL && pb_debug_parse(ns.base.debug, &errstr) < 0)
		pb_log(PB_LV_WARN, "logd: logd.debug: %s", errstr);
	if (ns.base.n_listen != d->set.base.n_listen || strcmp(ns.base.listen[0].text, d->set.base.listen[0].text) != 0)
		pb_log(PB_LV_WARN, "logd: listen addresses changed: they take effect at restart");
	logd_settings_free(&d->set);
	d->set = ns;
	pb_log(PB_LV_NOTICE, "logd: reloaded %s; event log %s", d->config_path, evlog_path(d->ctx.ev));
	pb_daemon_notify("READY=1");
	return 0;
fail:
	pb_log(PB_LV_ERROR, "logd: reload failed, running configuration kept: %s", err);
	pb_tls_ctx_free(nt);
	evlog_close(nev);
	if (ns.conf != NULL)
		logd_settings_free(&ns);
	pb_daemon_notify("READY=1");
	return rc < 0 ? rc : PB_ERR_CONF;
}

/* ---- admin ---- */

static void count_cb(struct pb_conn *c, void *state, void *arg)
{
	(void)c;
	if (logd_conn_user(state)[0] != '\0')
		(*(uint64_t *)arg)++;
}

static int status_cb(void *arg, AdminStatus *st)
{
	struct logd *d = arg;
	struct logd_ctx *x = &d->ctx;
	uint64_t sessions = 0;
	pb_server_foreach_conn(d->srv, count_cb, &sessions);
	st->sessions = sessions;
	st->state = pb_server_stopping(d->srv) ? ADMIN_STATE__ADMIN_STATE_STOPPING
		    : x->enabled		   ? ADMIN_STATE__ADMIN_STATE_ENABLED
						   : ADMIN_STATE__ADMIN_STATE_DISABLED;
	st->connections = pb_server_conn_count(d->srv);
	int rc = 0;
	struct {
		const char *name;
		uint64_t v;
	} cnt[] = {
		{"connections.total", x->n_conns_total}, {"events.accept", x->n_accept},
		{"events.reject", x->n_reject},		 {"events.alert", x->n_alert},
		{"events.exit", x->n_exit},		 {"events.finish", x->n_finish},
		{"iologs.created", x->n_iologs},	 {"iologs.restarted", x->n_restart},
		{"iolog.records", x->n_records},	 {"iolog.bytes", x->n_bytes},
		{"commit_points", x->n_commits},	 {"errors", x->n_errors},
	};
	for (size_t i = 0; rc == 0 && i < sizeof(cnt) / sizeof(cnt[0]); i++)
		rc = pb_admin_status_counter(st, cnt[i].name, cnt[i].v);
	if (rc == 0)
		rc = pb_admin_status_info(st, "iolog_dir", x->iolog_root);
	if (rc == 0)
		rc = pb_admin_status_info(st, "eventlog", evlog_path(x->ev));
	if (rc == 0)
		rc = pb_admin_status_info(st, "server_id", x->server_id);
	return rc;
}

struct rows_arg {
	AdminSessions *rows;
	int rc;
};

static void row_cb(struct pb_conn *c, void *state, void *arg)
{
	struct rows_arg *ra = arg;
	struct logd_conn *lc = state;
	AdminSession *row = NULL;
	if (ra->rc < 0 || !logd_conn_is_session(lc))
		return;
	struct pb_admin_session s = {
		.id = pb_conn_id(c),
		.host = logd_conn_peer(lc)[0] ? logd_conn_peer(lc) : logd_conn_host(lc),
		.address = logd_conn_addr(lc),
		.user = logd_conn_user(lc),
		.start_time = logd_conn_start(lc),
		.requests = logd_conn_messages(lc),
	};
	ra->rc = pb_admin_sessions_add(ra->rows, &s, &row);
	if (ra->rc == 0 && row != NULL) {
		ra->rc = pb_admin_session_extra(row, "state", logd_conn_state_name(lc));
		if (ra->rc == 0 && logd_conn_log_id(lc)[0] != '\0')
			ra->rc = pb_admin_session_extra(row, "log_id", logd_conn_log_id(lc));
		if (ra->rc == 0 && logd_conn_command(lc)[0] != '\0')
			ra->rc = pb_admin_session_extra(row, "command", logd_conn_command(lc));
	}
}

static int sessions_cb(void *arg, AdminSessions *rows)
{
	struct logd *d = arg;
	struct rows_arg ra = {rows, 0};
	pb_server_foreach_conn(d->srv, row_cb, &ra);
	return ra.rc;
}

static int reload_admin_cb(void *arg, char *err, size_t errlen)
{
	return logd_reload(arg, err, errlen);
}

static int enable_cb(void *arg, bool enable)
{
	struct logd *d = arg;
	d->ctx.enabled = enable;
	return 0;
}

static void stop_watch_cb(void *arg, void *conn_arg)
{
	(void)arg;
	logd_conn_set_watch(conn_arg);
}

struct kill_arg {
	uint64_t id;
	struct logd_conn *found;
};

static void find_conn_cb(struct pb_conn *c, void *state, void *arg)
{
	struct kill_arg *k = arg;
	if (pb_conn_id(c) == k->id)
		k->found = state;
}

static int kill_cb(void *arg, uint64_t id, const char *admin, const char *why, char *err,
		   size_t errlen)
{
	struct logd *d = arg;
	struct kill_arg k = {id, NULL};
	(void)admin;
	pb_server_foreach_conn(d->srv, find_conn_cb, &k);
	if (k.found == NULL || logd_conn_kill(k.found, why) < 0) {
		snprintf(err, errlen, "no log session %llu", (unsigned long long)id);
		return PB_ERR_NOTFOUND;
	}
	return 0;
}

static int stop_cb(void *arg, bool force, unsigned timeout_s)
{
	struct logd *d = arg;
	struct pb_server_limits lim = d->set.base.limits;
	/*
	 * Even a forced stop drains briefly, so this reply and the last commit
	 * points are written; open I/O logs are committed as connections close.
	 */
	if (force)
		lim.drain_ms = 200;
	else if (timeout_s > 0)
		lim.drain_ms = (int)(timeout_s > 3600 ? 3600000 : timeout_s * 1000);
	pb_server_set_limits(d->srv, &lim);
	pb_server_stop(d->srv, false);
	return 0;
}

static void trace_cb(void *arg, const char *spec)
{
	(void)arg;
	pb_log(PB_LV_NOTICE, "logd: debug tracing now %s", spec);
}

void logd_admin_ops(struct logd *d, struct pb_admin_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->arg = d;
	ops->status_cb = status_cb;
	ops->sessions_cb = sessions_cb;
	ops->reload_cb = reload_admin_cb;
	ops->enable_cb = enable_cb;
	ops->stop_cb = stop_cb;
	ops->trace_cb = trace_cb;
	ops->stop_watch_cb = stop_watch_cb;
	ops->kill_cb = kill_cb;
}
