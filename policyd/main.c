/* SPDX-License-Identifier: ISC */
/* policyd: arguments, configuration and policy, listener, privilege drop, then the event loop. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "audit.h"
#include "daemon.h"
#include "debug.h"
#include "err.h"
#include "policy_load.h"
#include "policyd.h"
#include "tls.h"

static void usage(FILE *f)
{
	fputs("usage: policyd [-tDV] [-f CONFIG] [-d DEBUG] [--port-file FILE]\n"
	      "       policyd --check POLICY\n"
	      "       policyd --test -f POLICY --user USER --host HOST --mode MODE ... [-- ARGV...]\n"
	      "  -f CONFIG   configuration file (default " PB_SYSCONFDIR "/pbsh.yaml)\n"
	      "  -t          check the configuration and the policy, then exit\n"
	      "  -D          stay in the foreground (log to stderr unless configured)\n"
	      "  -d DEBUG    debug spec: 3, policy@9,tls@5, ...\n"
	      "  --port-file FILE  write the bound port there (tests listening on port 0)\n"
	      "  --check POLICY    check a policy file, then exit\n"
	      "  --test ...  decide one described request offline (see policyd(8))\n",
	      f);
}

static int check_policy(const char *path)
{
	struct pe_policy *p = NULL;
	struct pb_conf_err err;
	int rc = pd_policy_load(path, &p, &err);
	if (rc < 0) {
		fprintf(stderr, "policyd: %s\n", err.msg);
		return 2;
	}
	printf("%s: %u rules, %u files, sha256 %s\n", path, p->n_rules, p->n_files, p->hash);
	pe_policy_free(p);
	return 0;
}

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int pd_reload(struct pd *d, char *err, size_t errlen)
{
	struct pd_settings ns;
	struct pe_policy *np = NULL;
	struct pd_audit *na = NULL;
	struct pb_tls_ctx *nt = NULL;
	struct pb_conf_err cerr;
	const char *errstr = NULL;
	bool keep_audit = false;
	int rc;

	pb_daemon_notify("RELOADING=1");
	memset(&ns, 0, sizeof(ns));
	rc = pd_settings_load(d->config_path, &ns, &cerr);
	if (rc < 0) {
		snprintf(err, errlen, "%s", cerr.msg);
		goto fail;
	}
	rc = pd_policy_load(ns.policy, &np, &cerr);
	if (rc < 0) {
		snprintf(err, errlen, "%s", cerr.msg);
		goto fail;
	}
	/*
	 * After a privilege drop the daemon may no longer be able to open
	 * root-only files it opened at start (keys, the audit file). When the
	 * path did not change, keep what is open rather than fail the reload.
	 */
	if (ns.audit != NULL) {
		na = pd_audit_open(ns.audit, &errstr);
		if (na == NULL && !(d->audit != NULL && same(ns.audit, d->set.audit))) {
			snprintf(err, errlen, "%s", errstr);
			rc = PB_ERR_IO;
			goto fail;
		}
		if (na == NULL) {
			pb_log(PB_LV_WARN, "%s; the open audit file is kept", errstr);
			keep_audit = true;
		}
	}
	nt = pb_daemon_tls_new(&ns.base, "pbsh-policyd", &errstr);
	if (nt == NULL) {
		if (!(same(ns.base.ca, d->set.base.ca) && same(ns.base.cert, d->set.base.cert) && same(ns.base.key, d->set.base.key))) {
			snprintf(err, errlen, "%s", errstr);
			rc = PB_ERR_TLS;
			goto fail;
		}
		pb_log(PB_LV_WARN, "%s; the loaded certificates are kept", errstr);
	}
	rc = pb_admin_set_admins(d->admin, ns.base.admins, ns.base.n_admins);
	if (rc < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Everything is valid: swap. */
	if (nt != NULL) {
		pb_server_set_tls(d->srv, nt);
		pb_tls_ctx_free(nt);
	}
	pb_server_set_limits(d->srv, &ns.base.limits);
	if (ns.base.n_listen != d->set.base.n_listen || strcmp(ns.base.listen[0].text, d->set.base.listen[0].text) != 0)
		pb_log(PB_LV_WARN, "listen addresses changed: they take effect at restart");
	if (ns.base.debug != NULL && pb_debug_parse(ns.base.debug, &errstr) < 0)
		pb_log(PB_LV_WARN, "policyd.debug: %s", errstr);
	pe_policy_free(d->policy);
	d->policy = np;
	if (!keep_audit) {
		pd_audit_free(d->audit);
		d->audit = na;
	}
	pd_settings_free(&d->set);
	d->set = ns;
	pb_log(PB_LV_NOTICE, "reloaded %s: policy %s, %u rules, sha256 %s", d->config_path,
	       np->path, np->n_rules, np->hash);
	pb_daemon_notify("READY=1");
	return 0;
fail:
	pb_log(PB_LV_ERROR, "reload failed, running configuration and policy kept: %s", err);
	pe_policy_free(np);
	pd_audit_free(na);
	pb_tls_ctx_free(nt);
	pd_settings_free(&ns);
	pb_daemon_notify("READY=1");
	return rc < 0 ? rc : PB_ERR_CONF;
}

int main(int argc, char **argv)
{
	enum { O_CHECK = 256, O_PORTFILE, O_TEST };
	static const struct option opts[] = {
		{"check", required_argument, NULL, O_CHECK},
		{"port-file", required_argument, NULL, O_PORTFILE},
		{"test", no_argument, NULL, O_TEST},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pd d;
	struct pb_conf_err cerr;
	struct pb_admin_ops aops;
	struct pb_tls_ctx *tls = NULL;
	const char *config = NULL, *portfile = NULL, *errstr = NULL;
	bool check_only = false, foreground = false;
	int c, rc, status = 1;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--test") == 0)
			return pd_test_main(argc, argv);

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
				fprintf(stderr, "policyd: -d %s: %s\n", optarg, errstr);
				return 2;
			}
			break;
		case 'V':
			printf("policyd %s\n", PB_VERSION);
			return 0;
		case O_CHECK:
			return check_policy(optarg);
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
		fprintf(stderr, "policyd: -f %s: %s\n", config, errstr);
		return 2;
	}

	memset(&d, 0, sizeof(d));
	d.state = ADMIN_STATE__ADMIN_STATE_STARTING;
	d.started = time(NULL);
	/* Absolute, so a reload still finds it once the daemon has moved to "/". */
	d.config_path = realpath(config != NULL ? config : pb_conf_default_path(), NULL);
	if (d.config_path == NULL) {
		fprintf(stderr, "policyd: %s: %s\n", config != NULL ? config : pb_conf_default_path(),
			strerror(errno));
		return 2;
	}
	status = 2; /* a bad configuration or policy never starts a daemon half-way */
	rc = pd_settings_load(d.config_path, &d.set, &cerr);
	if (rc < 0) {
		fprintf(stderr, "policyd: %s\n", cerr.msg);
		goto out;
	}
	rc = pd_policy_load(d.set.policy, &d.policy, &cerr);
	if (rc < 0) {
		fprintf(stderr, "policyd: %s\n", cerr.msg);
		goto out;
	}
	tls = pb_daemon_tls_new(&d.set.base, "pbsh-policyd", &errstr);
	if (tls == NULL) {
		fprintf(stderr, "policyd: %s\n", errstr);
		goto out;
	}
	if (d.set.base.debug != NULL && pb_debug_parse(d.set.base.debug, &errstr) < 0) {
		fprintf(stderr, "policyd: policyd.debug: %s\n", errstr);
		goto out;
	}
	if (check_only) {
		printf("policyd: %s ok; policy %s ok (%u rules, sha256 %s)\n", d.config_path,
		       d.policy->path, d.policy->n_rules, d.policy->hash);
		status = 0;
		goto out;
	}

	if (pb_daemon_log_setup("policyd", d.set.base.log, foreground, &errstr) < 0) {
		fprintf(stderr, "policyd: log: %s\n", errstr);
		goto out;
	}
	status = 1; /* from here on a failure is the system's, not the configuration's */
	if (pb_daemon_pidfile_lock(d.set.base.pidfile, &errstr) < 0) {
		pb_log(PB_LV_ERROR, "%s", errstr);
		goto out;
	}
	if (!foreground && pb_daemon_detach() < 0) {
		pb_log(PB_LV_ERROR, "cannot detach");
		goto out;
	}
	pb_daemon_raise_nofile();
	if (d.set.audit != NULL) {
		d.audit = pd_audit_open(d.set.audit, &errstr);
		if (d.audit == NULL) {
			pb_log(PB_LV_ERROR, "%s", errstr);
			goto out;
		}
	}
	pd_admin_ops(&d, &aops);
	d.admin = pb_admin_new("policyd", d.config_path, &aops);
	if (d.admin == NULL || pb_admin_set_admins(d.admin, d.set.base.admins, d.set.base.n_admins) < 0) {
		pb_log(PB_LV_ERROR, "out of memory");
		goto out;
	}
	d.srv = pb_server_new(tls, &pd_server_ops, &d, &d.set.base.limits);
	if (d.srv == NULL) {
		pb_log(PB_LV_ERROR, "cannot create the server");
		goto out;
	}
	if (pb_daemon_listen(d.srv, d.set.base.listen, d.set.base.n_listen, portfile) < 0)
		goto out;
	if (pb_daemon_drop_privs(d.set.base.user, d.set.base.group, &errstr) < 0) {
		pb_log(PB_LV_ERROR, "privileges: %s", errstr);
		goto out;
	}
	d.state = ADMIN_STATE__ADMIN_STATE_ENABLED;
	pb_log(PB_LV_NOTICE, "policyd %s: listening on %s (port %d), policy %s (%u rules, sha256 %s)",
	       PB_VERSION, d.set.base.listen[0].text, pb_server_port(d.srv, 0), d.policy->path, d.policy->n_rules,
	       d.policy->hash);
	pb_daemon_ready();
	rc = pb_server_run(d.srv);
	pb_daemon_stopping();
	pb_log(PB_LV_NOTICE, "stopped");
	status = rc < 0 ? 1 : 0;
out:
	pb_server_free(d.srv);
	pb_admin_free(d.admin);
	pb_tls_ctx_free(tls);
	pd_audit_free(d.audit);
	pe_policy_free(d.policy);
	pd_settings_free(&d.set);
	free(d.config_path);
	pb_daemon_cleanup();
	return status;
}
