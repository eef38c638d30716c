/* SPDX-License-Identifier: ISC */
/* logd's daemon state: settings read from pbsh.yaml (swapped whole on reload), server, admin and storage. */
#ifndef LOGD_LOGD_H
#define LOGD_LOGD_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "admin.h"
#include "conf.h"
#include "daemon.h"
#include "handler.h"
#include "server.h"

/* Every key logd reads, in one struct; strings are owned by conf. */
struct logd_settings {
	struct pb_conf *conf;
	struct pb_daemon_settings base; /* listen, pidfile, user, log, tls, admins, limits (tick_ms = logd.commit_interval) */
	const char *eventlog;
	uint64_t eventlog_rotate;
	const char *iolog_dir;
	const char *iolog_path;
	mode_t iolog_mode;
	const char *server_id;
	enum logd_hostcheck hostcheck;
	const struct pb_hostport *servers;	/* logservers, announced in ServerHello */
	size_t n_servers;
};

/*
 * logd_settings_load: read path (NULL: the default file) into s. Returns 0,
 * or PB_ERR_* with err set ("file:line:col: ..." or "file: key: ...").
 */
int logd_settings_load(const char *path, struct logd_settings *s, struct pb_conf_err *err);

/* logd_settings_free: release what load made; s may be loaded again. */
void logd_settings_free(struct logd_settings *s);

/* The running daemon. */
struct logd {
	char *config_path;
	struct logd_settings set;
	struct logd_ctx ctx;
	struct pb_server *srv;
	struct pb_admin *admin;
	AdminState state;
	time_t started;
};

/*
 * logd_storage_open: open the I/O log root (created 0700 if missing), its
 * seq file and the event log for settings s into ctx. Returns 0 or PB_ERR_*
 * with *errstr.
 */
int logd_storage_open(struct logd_ctx *ctx, const struct logd_settings *s, const char **errstr);

/* logd_storage_close: close what logd_storage_open opened. */
void logd_storage_close(struct logd_ctx *ctx);

/*
 * logd_apply: copy settings s into ctx (template, mode, host check, server
 * id, servers list). Returns 0 or PB_ERR_NOMEM (ctx then unchanged).
 */
int logd_apply(struct logd_ctx *ctx, const struct logd_settings *s);

/* logd_reload: re-read the configuration; on failure the running one stays (err says why). */
int logd_reload(struct logd *d, char *err, size_t errlen);

/* The lib/server and lib/admin callbacks (daemon.c). */
extern const struct pb_server_ops logd_server_ops;
void logd_admin_ops(struct logd *d, struct pb_admin_ops *ops);

#endif
