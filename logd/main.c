/* SPDX-License-Identifier: ISC */
/* logd: arguments, configuration, storage, listener, privilege drop, then the event loop. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "daemon.h"
#include "debug.h"
#include "err.h"
#include "logd.h"
#include "syncer.h"
#include "tls.h"

static void usage(FILE *f)
{
	fputs("usage: logd [-tDV] [-f CONFIG] [-d DEBUG] [--port-file FILE]\n"
	      "  -f CONFIG   configuration file (default " PB_SYSCONFDIR "/pbsh.yaml)\n"
	      "  -t          check the configuration, then exit\n"
	      "  -D          stay in the foreground (log to stderr unless configured)\n"
	      "  -d DEBUG    debug spec: 3, log@9,store@5, ...\n"
	      "  --port-file FILE  write the bound port there (tests listening on port 0)\n",
	      f);
}

/* sync_cb: the sync worker finished jobs: acknowledge what is durable now. */
static void sync_cb(struct pb_server *s, int fd, void *arg)
{
	(void)s;
	(void)fd;
	logd_ctx_sync_done(arg);
}

int main(int argc, char **argv)
{
	enum { O_PORTFILE = 256 };
	static const struct option opts[] = {
		{"port-file", required_argument, NULL, O_PORTFILE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct logd d;
	struct pb_conf_err cerr;
	struct pb_admin_ops aops;
	struct pb_tls_ctx *tls = NULL;
	const char *config = NULL, *portfile = NULL, *errstr = NULL;
	bool check_only = false, foreground = false, storage_open = false;
	int c, rc, status = 1;

	while ((c = getopt_long(argc, argv, "f:tDd:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			config = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'D':
			foreground = true;
			break;
		case 'd':
			if (pb_debug_parse(optarg, &errstr) < 0) {
				fprintf(stderr, "logd: -d %s: %s\n", optarg, errstr);
				return 2;
			}
			break;
		case 'V':
			printf("logd %s\n", PB_VERSION);
			return 0;
		case O_PORTFILE:
			portfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!pb_conf_path_allowed(config, &errstr)) {
		fprintf(stderr, "logd: -f %s: %s\n", config, errstr);
		return 2;
	}

	memset(&d, 0, sizeof(d));
	d.ctx.iolog_rootfd = -1;
	d.ctx.seqfd = -1;
	d.ctx.store = &iolog_sudo_ops;
	d.ctx.enabled = true;
	d.state = ADMIN_STATE__ADMIN_STATE_STARTING;
	d.started = time(NULL);
	d.config_path = strdup(config != NULL ? config : pb_conf_default_path());
	if (d.config_path == NULL)
		pb_fatal(1, "logd: out of memory");
	rc = logd_settings_load(d.config_path, &d.set, &cerr);
	if (rc < 0) {
		fprintf(stderr, "logd: %s\n", cerr.msg);
		free(d.config_path);
		return 2;
	}
	tls = pb_daemon_tls_new(&d.set.base, "pbsh-logd", &errstr);
	if (tls == NULL) {
		fprintf(stderr, "logd: %s\n", errstr);
		status = 2;
		goto out;
	}
	if (d.set.base.debug != NULL && pb_debug_parse(d.set.base.debug, &errstr) < 0) {
		fprintf(stderr, "logd: logd.debug: %s\n", errstr);
		status = 2;
		goto out;
	}
	if (check_only) {
		printf("logd: %s ok\n", d.config_path);
		status = 0;
		goto out;
	}

	if (pb_daemon_log_setup("logd", d.set.base.log, foreground, &errstr) < 0) {
		fprintf(stderr, "logd: log: %s\n", errstr);
		status = 2;
		goto out;
	}
	if (pb_daemon_pidfile_lock(d.set.base.pidfile, &errstr) < 0) {
		pb_log(PB_LV_ERROR, "logd: %s", errstr);
		goto out;
	}
	if (!foreground && pb_daemon_detach() < 0) {
		pb_log(PB_LV_ERROR, "logd: cannot detach");
		goto out;
	}
	pb_daemon_raise_nofile();
	/* Storage is opened before the privilege drop; logd.user must own iolog_dir for later files. */
	if (logd_storage_open(&d.ctx, &d.set, &errstr) < 0) {
		pb_log(PB_LV_ERROR, "logd: storage: %s", errstr);
		goto out;
	}
	storage_open = true;
	if (logd_apply(&d.ctx, &d.set) < 0) {
		pb_log(PB_LV_ERROR, "logd: out of memory");
		goto out;
	}
	logd_admin_ops(&d, &aops);
	d.admin = pb_admin_new("logd", d.config_path, &aops);
	if (d.admin == NULL || pb_admin_set_admins(d.admin, d.set.base.admins, d.set.base.n_admins) < 0) {
		pb_log(PB_LV_ERROR, "logd: out of memory");
		goto out;
	}
	d.ctx.admin = d.admin;
	d.srv = pb_server_new(tls, &logd_server_ops, &d, &d.set.base.limits);
	if (d.srv == NULL) {
		pb_log(PB_LV_ERROR, "logd: cannot create the server");
		goto out;
	}
	if (pb_daemon_listen(d.srv, d.set.base.listen, d.set.base.n_listen, portfile) < 0)
		goto out;
	if (pb_daemon_drop_privs(d.set.base.user, d.set.base.group, &errstr) < 0) {
		pb_log(PB_LV_ERROR, "logd: privileges: %s", errstr);
		goto out;
	}
	/* After the fork of detach and the privilege drop: the worker thread must live in this process. */
	if (logd_syncer_new(&d.ctx.syncer) < 0 ||
	    pb_server_watch_fd(d.srv, logd_syncer_fd(d.ctx.syncer), sync_cb, &d.ctx) < 0) {
		pb_log(PB_LV_ERROR, "logd: cannot start the sync worker");
		goto out;
	}
	d.state = ADMIN_STATE__ADMIN_STATE_ENABLED;
	pb_log(PB_LV_NOTICE, "logd %s: listening on %s (port %d), I/O logs in %s, events in %s", PB_VERSION,
	       d.set.base.listen[0].text, pb_server_port(d.srv, 0), d.ctx.iolog_root, evlog_path(d.ctx.ev));
	pb_daemon_ready();
	rc = pb_server_run(d.srv);
	pb_daemon_stopping();
	pb_log(PB_LV_NOTICE, "logd: stopped");
	status = rc < 0 ? 1 : 0;
out:
	pb_server_free(d.srv);
	/* After the connections closed (their jobs detached): the worker finishes what is queued. */
	logd_syncer_free(d.ctx.syncer);
	d.ctx.syncer = NULL;
	pb_admin_free(d.admin);
	pb_tls_ctx_free(tls);
	if (storage_open)
		logd_storage_close(&d.ctx);
	free(d.ctx.path_template);
	free(d.ctx.server_id);
	for (size_t i = 0; i < d.ctx.nservers; i++)
		free(d.ctx.servers[i]);
	free(d.ctx.servers);
	logd_settings_free(&d.set);
	free(d.config_path);
	pb_daemon_cleanup();
	return status;
}
