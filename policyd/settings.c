/* SPDX-License-Identifier: ISC */
/* policyd's view of pbsh.yaml: every key it reads, read in one place into a struct swapped whole on reload. */
#include "policyd.h"

#include <string.h>

#include "err.h"

static int clamp_ms(int64_t ms)
{
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

int pd_settings_load(const char *path, struct pd_settings *s, struct pb_conf_err *err)
{
	struct pb_conf *c = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = pb_conf_load(path, &c, err);
	if (rc < 0)
		return rc;
	s->conf = c;
	s->listen = pb_conf_hostports(c, "policyd.listen", &s->n_listen);
	s->policy = pb_conf_str(c, "policyd.policy");
	s->audit = pb_conf_str(c, "policyd.audit");
	s->pidfile = pb_conf_str(c, "policyd.pidfile");
	s->user = pb_conf_str(c, "policyd.user");
	s->group = pb_conf_str(c, "policyd.group");
	s->log = pb_conf_str(c, "policyd.log");
	s->debug = pb_conf_str(c, "policyd.debug");
	s->plain = pb_conf_bool(c, "tls.plaintext_for_tests");
	s->ca = pb_conf_str(c, "tls.ca");
	s->cert = pb_conf_str(c, "tls.cert");
	s->key = pb_conf_str(c, "tls.key");
	s->admins = (char *const *)pb_conf_list(c, "admins", &s->n_admins);
	s->limits.max_frame = (uint32_t)pb_conf_size(c, "max_frame");
	s->limits.max_conns = (unsigned)pb_conf_int(c, "policyd.max_connections");
	s->limits.max_conns_per_peer = (unsigned)pb_conf_int(c, "policyd.max_connections_per_peer");
	s->limits.handshake_ms = clamp_ms(pb_conf_ms(c, "policyd.handshake_timeout"));
	s->limits.frame_ms = clamp_ms(pb_conf_ms(c, "policyd.frame_timeout"));
	s->limits.idle_ms = clamp_ms(pb_conf_ms(c, "policyd.idle_timeout"));
	if (s->limits.idle_ms == 0)
		s->limits.idle_ms = -1; /* 0 in the file disables the idle timeout */
	s->limits.drain_ms = clamp_ms(pb_conf_ms(c, "policyd.stop_timeout"));
	if (s->policy == NULL || s->policy[0] == '\0') {
		pb_yaml_errf(err, NULL, "%s: policyd.policy: no policy file configured", pb_conf_file(c));
		rc = PB_ERR_CONF;
	} else if (s->n_listen == 0) {
		pb_yaml_errf(err, NULL, "%s: policyd.listen: no listen address configured", pb_conf_file(c));
		rc = PB_ERR_CONF;
	} else if (!s->plain && (s->ca == NULL || s->cert == NULL || s->key == NULL)) {
		pb_yaml_errf(err, NULL, "%s: tls: ca, cert and key are required by policyd", pb_conf_file(c));
		rc = PB_ERR_CONF;
	}
	if (rc < 0)
		pd_settings_free(s);
	return rc;
}

void pd_settings_free(struct pd_settings *s)
{
	pb_conf_free(s->conf);
	memset(s, 0, sizeof(*s));
}
