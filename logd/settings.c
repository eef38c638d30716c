/* SPDX-License-Identifier: ISC */
/* logd's view of pbsh.yaml: every key it reads, read in one place and checked, and applied to the handler context. */
#include "logd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

int logd_settings_load(const char *path, struct logd_settings *s, struct pb_conf_err *err)
{
	struct pb_conf *c = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = pb_conf_load(path, &c, err);
	if (rc < 0)
		return rc;
	s->conf = c;
	s->eventlog = pb_conf_str(c, "logd.eventlog");
	s->eventlog_rotate = pb_conf_size(c, "logd.eventlog_rotate");
	s->iolog_dir = pb_conf_str(c, "logd.iolog_dir");
	s->iolog_path = pb_conf_str(c, "logd.iolog_path");
	s->iolog_mode = pb_conf_mode(c, "logd.iolog_mode");
	s->server_id = pb_conf_str(c, "logd.server_id");
	s->servers = pb_conf_hostports(c, "logservers", &s->n_servers);
	rc = pb_daemon_settings_read(c, "logd", &s->base, err);
	if (rc < 0)
		goto done;
	int64_t tick = pb_conf_ms(c, "logd.commit_interval");
	s->base.limits.tick_ms = tick > 0x7fffffff ? 0x7fffffff : (int)tick;

	const char *hc = pb_conf_str(c, "logd.hostcheck");
	if (strcmp(hc, "strict") == 0) {
		s->hostcheck = LOGD_HOSTCHECK_STRICT;
	} else if (strcmp(hc, "record") == 0) {
		s->hostcheck = LOGD_HOSTCHECK_RECORD;
	} else {
		pb_yaml_errf(err, NULL, "%s: logd.hostcheck: expected strict or record, got '%s'",
			     pb_conf_file(c), hc);
		rc = PB_ERR_CONF;
		goto done;
	}
	if (s->iolog_dir == NULL || s->iolog_dir[0] != '/' || s->eventlog == NULL || s->eventlog[0] != '/') {
		pb_yaml_errf(err, NULL, "%s: logd.iolog_dir and logd.eventlog must be absolute paths",
			     pb_conf_file(c));
		rc = PB_ERR_CONF;
		goto done;
	}
	/* A template that cannot expand would only fail at the first session: try it now. */
	{
		struct iolog_vars v = {.user = "u", .host = "h", .command = "/c", .seq = 1};
		char id[IOLOG_ID_MAX + 1];
		const char *why;
		if (iolog_expand_path(s->iolog_path, &v, id, sizeof(id), &why) < 0) {
			pb_yaml_errf(err, NULL, "%s: logd.iolog_path: %s", pb_conf_file(c), why);
			rc = PB_ERR_CONF;
			goto done;
		}
	}
done:
	if (rc < 0)
		logd_settings_free(s);
	return rc;
}

void logd_settings_free(struct logd_settings *s)
{
	pb_conf_free(s->conf);
	memset(s, 0, sizeof(*s));
}

/* mkdir_p: create path and its parents (0700) when missing. */
static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return PB_ERR_INVAL;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return PB_ERR_IO;
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return PB_ERR_IO;
	return 0;
}

int logd_storage_open(struct logd_ctx *ctx, const struct logd_settings *s, const char **errstr)
{
	char dir[PATH_MAX], prefix[128];
	int rc;
	ctx->iolog_rootfd = -1;
	ctx->seqfd = -1;
	if (mkdir_p(s->iolog_dir) < 0) {
		*errstr = "cannot create logd.iolog_dir";
		return PB_ERR_IO;
	}
	ctx->iolog_rootfd = open(s->iolog_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ctx->iolog_root = strdup(s->iolog_dir);
	if (ctx->iolog_rootfd < 0 || ctx->iolog_root == NULL) {
		*errstr = "cannot open logd.iolog_dir";
		logd_storage_close(ctx);
		return PB_ERR_IO;
	}
	/* %{seq} goes on where the last run stopped. */
	ctx->seqfd = openat(ctx->iolog_rootfd, "seq", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (ctx->seqfd >= 0) {
		char buf[32] = "";
		ssize_t n = pread(ctx->seqfd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			ctx->seq = strtoull(buf, NULL, 10);
		}
	}
	if (evlog_split(s->eventlog, dir, sizeof(dir), prefix, sizeof(prefix)) && mkdir_p(dir) < 0) {
		*errstr = "cannot create the directory of logd.eventlog";
		logd_storage_close(ctx);
		return PB_ERR_IO;
	}
	rc = evlog_open(s->eventlog, s->eventlog_rotate, &ctx->ev, errstr);
	if (rc < 0) {
		logd_storage_close(ctx);
		return rc;
	}
	return 0;
}

void logd_storage_close(struct logd_ctx *ctx)
{
	logd_ctx_forget_sessions(ctx);
	evlog_close(ctx->ev);
	ctx->ev = NULL;
	if (ctx->iolog_rootfd >= 0)
		close(ctx->iolog_rootfd);
	ctx->iolog_rootfd = -1;
	if (ctx->seqfd >= 0)
		close(ctx->seqfd);
	ctx->seqfd = -1;
	free(ctx->iolog_root);
	ctx->iolog_root = NULL;
}

static void free_servers(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int logd_apply(struct logd_ctx *ctx, const struct logd_settings *s)
{
	char host[256];
	char *tmpl = strdup(s->iolog_path);
	char **servers = calloc(s->n_servers + 1, sizeof(*servers));
	char *sid;
	if (s->server_id != NULL) {
		sid = strdup(s->server_id);
	} else {
		/* Like sudo's "Sudo Audit Server <version>": name and version, plus the host. */
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "unknown");
		host[sizeof(host) - 1] = '\0';
		size_t l = strlen("pbsh logd ") + strlen(PB_VERSION) + strlen(host) + 8;
		sid = malloc(l);
		if (sid != NULL)
			snprintf(sid, l, "pbsh logd %s on %s", PB_VERSION, host);
	}
	bool ok = tmpl != NULL && servers != NULL && sid != NULL;
	for (size_t i = 0; ok && i < s->n_servers; i++)
		ok = (servers[i] = strdup(s->servers[i].text)) != NULL;
	if (!ok) {
		free(tmpl);
		free(sid);
		if (servers != NULL)
			free_servers(servers, s->n_servers);
		return PB_ERR_NOMEM;
	}
	free(ctx->path_template);
	ctx->path_template = tmpl;
	free(ctx->server_id);
	ctx->server_id = sid;
	free_servers(ctx->servers, ctx->nservers);
	ctx->servers = servers;
	ctx->nservers = s->n_servers;
	ctx->iolog_mode = s->iolog_mode;
	ctx->hostcheck = s->hostcheck;
	ctx->plain = s->base.plain;
	return 0;
}
