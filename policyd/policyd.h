/* SPDX-License-Identifier: ISC */
/* policyd's shared state: settings, the running policy, counters, and the entry points between its files. */
#ifndef POLICYD_POLICYD_H
#define POLICYD_POLICYD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "admin.h"
#include "conf.h"
#include "engine.h"
#include "daemon.h"
#include "server.h"

/* The protocol version policyd speaks (PolicyHello.version). */
#define PD_PROTOCOL_VERSION 1u

/* What policyd reads from pbsh.yaml, in one place (settings.c), swapped whole on reload. */
struct pd_settings {
	struct pb_conf *conf; /* owns every string below */
	struct pb_daemon_settings base; /* listen, pidfile, user, log, tls, admins, limits */
	const char *policy;
	const char *audit;	/* NULL: no audit trail */
};

/*
 * pd_settings_load: read the configuration file at path (NULL = default)
 * into s. Returns 0, or a PB_ERR_* with err holding "file:line:col: ...".
 * pd_settings_free releases s->conf.
 */
int pd_settings_load(const char *path, struct pd_settings *s, struct pb_conf_err *err);
void pd_settings_free(struct pd_settings *s);

/* Counters shown by `status`. */
struct pd_counters {
	uint64_t decisions[PE_MODE_COUNT][2]; /* [mode][accept] */
	uint64_t errors;		      /* Error replies sent */
	uint64_t connections;		      /* opened since start */
	uint64_t admin_requests;
	uint64_t admin_refused;
	uint64_t host_mismatch;
	uint64_t audit_failures;
};

struct pd_audit;

/* The daemon. One instance; every callback gets it. */
struct pd {
	char *config_path;
	struct pd_settings set;
	struct pe_policy *policy;
	struct pd_audit *audit;
	struct pb_server *srv;
	struct pb_admin *admin;
	AdminState state;
	time_t started;
	unsigned sessions; /* connections that did a ShellStart */
	bool stop_wait;	   /* a normal admin stop: live sessions may finish (handler.c drain_cb) */
	struct pd_counters cnt;
};

/* pd_server_ops: the callbacks policyd plugs into lib/server (handler.c); arg is the struct pd. */
extern const struct pb_server_ops pd_server_ops;

/* pd_admin_ops: fill the callbacks lib/admin calls (handler.c). */
void pd_admin_ops(struct pd *d, struct pb_admin_ops *ops);

/*
 * pd_reload: re-read configuration and policy; swap them in only when both
 * are valid. Returns 0, or PB_ERR_* with the error (file:line:col) in err;
 * the running configuration and policy then stay. Logged either way.
 */
int pd_reload(struct pd *d, char *err, size_t errlen);

/* pd_test_main: `policyd --test ...` (testmode.c); returns the exit status. */
int pd_test_main(int argc, char **argv);

/* pd_unpack_budget: bytes protobuf decoding of one message may allocate (handler.c). */
size_t pd_unpack_budget(void);

#endif
