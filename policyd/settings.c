/* SPDX-License-Identifier: ISC */
/* policyd's view of pbsh.yaml: every key it reads, read in one place into a struct swapped whole on reload. */
#include "policyd.h"

#include <string.h>

#include "err.h"

int pd_settings_load(const char *path, struct pd_settings *s, struct pb_conf_err *err)
{
	struct pb_conf *c = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = pb_conf_load(path, &c, err);
	if (rc < 0)
		return rc;
	s->conf = c;
	s->policy = pb_conf_str(c, "policyd.policy");
	s->audit = pb_conf_str(c, "policyd.audit");
	if (s->policy == NULL || s->policy[0] == '\0') {
		pb_yaml_errf(err, NULL, "%s: policyd.policy: no policy file configured", pb_conf_file(c));
		rc = PB_ERR_CONF;
	} else {
		rc = pb_daemon_settings_read(c, "policyd", &s->base, err);
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
