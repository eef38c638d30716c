/* SPDX-License-Identifier: ISC */
/* The decision function of a governed session: local lists (DESIGN §3.2), then a PolicyCheck to the monitor. */
#include "policy.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "error.h"
#include "gate.h"
#include "match.h"
#include "priv.h"
#include "restrict.h"
#include "session.h"
#include "shell.h"

/* Command patterns match as policyd matches them (policy_load.c): '/' only by '/', extglob on. */
#define LIST_FLAGS (PB_MATCH_EXTGLOB | PB_MATCH_PATHNAME)

static char *last_uid;   /* uniqueid of the last accepted decision (NULL: a list hit) */
static bool last_iolog;

/* The run settings of the last accepted decision, pointed at by priv_run_current (strings owned here). */
static struct priv_run run;
static char *run_user, *run_group;

static bool decision_sets(const PolicyDecision *d, const char *name)
{
	for (size_t i = 0; i < d->n_set; i++)
		if (strcmp(d->set[i], name) == 0)
			return true;
	return false;
}

/* runuser/rungroup/runumask of an accepted decision: the gate's caller applies them to that one action. */
static void take_run_settings(const PolicyDecision *d)
{
	bool user = decision_sets(d, "runuser") && d->runuser && *d->runuser;
	bool group = decision_sets(d, "rungroup") && d->rungroup && *d->rungroup;
	bool mask = decision_sets(d, "runumask");
	if (!user && !group && !mask)
		return;
	free(run_user);
	free(run_group);
	run_user = user ? xstrdup(d->runuser) : NULL;
	run_group = group ? xstrdup(d->rungroup) : NULL;
	run = (struct priv_run){.user = run_user, .group = run_group, .umask = mask ? (int)(d->runumask & 0777) : -1};
	priv_run_current = &run;
}

void policy_accepted(const char **uid, bool *iolog)
{
	*uid = last_uid;
	*iolog = last_iolog;
}

static bool has_magic(const char *p)
{
	return pb_match_has_magic(p, PB_MATCH_EXTGLOB);
}

/* One list: 1 = an exact entry is path, 2 = a pattern matches, 0 = neither. */
static int list_hit(char *const *list, size_t n, const char *path, bool patterns)
{
	for (size_t i = 0; i < n; i++) {
		bool magic = has_magic(list[i]);
		if (!patterns && !magic && strcmp(list[i], path) == 0)
			return 1;
		if (patterns && magic && pb_match(list[i], path, LIST_FLAGS))
			return 2;
	}
	return 0;
}

int policy_lists_decide(const PolicyDecision *d, const char *path)
{
	if (list_hit(d->shellallowedcommands, d->n_shellallowedcommands, path, false))
		return GATE_ALLOW;
	if (list_hit(d->shellforbiddencommands, d->n_shellforbiddencommands, path, false))
		return GATE_DENY;
	if (list_hit(d->shellallowedcommands, d->n_shellallowedcommands, path, true))
		return GATE_ALLOW;
	if (list_hit(d->shellforbiddencommands, d->n_shellforbiddencommands, path, true))
		return GATE_DENY;
	return -1;
}

static enum gate_verdict decide(enum gate_kind kind, const char *name, char *const argv[])
{
	static const PolicyMode modes[] = {
	    [GATE_COMMAND] = POLICY_MODE__POLICY_MODE_SHELL_COMMAND,
	    [GATE_BUILTIN] = POLICY_MODE__POLICY_MODE_SHELL_BUILTIN,
	    [GATE_REDIRECT] = POLICY_MODE__POLICY_MODE_SHELL_REDIRECT,
	};
	const PolicyDecision *sd = session_decision();
	free(last_uid);
	last_uid = NULL;
	last_iolog = false;
	if ((kind == GATE_BUILTIN && !sd->shellcheckbuiltins) || (kind == GATE_REDIRECT && !sd->shellcheckredirections))
		return GATE_ALLOW;
	if (kind == GATE_COMMAND) {
		int l = policy_lists_decide(sd, name);
		if (l == GATE_DENY)
			sh_warnf("%s: forbidden by the shell's command list", name);
		if (l >= 0)
			return (enum gate_verdict)l;
	}
	PolicyCheck chk = POLICY_CHECK__INIT;
	char cwd[PATH_MAX];
	chk.mode = modes[kind];
	chk.command = kind == GATE_REDIRECT ? "" : (char *)name;
	for (chk.n_argv = 0; argv[chk.n_argv]; chk.n_argv++)
		;
	chk.argv = (char **)argv;
	chk.cwd = getcwd(cwd, sizeof cwd) ? cwd : "";
	PolicyDecision *d = NULL;
	const char *err;
	int rc = session_check(&chk, &d, &err);
	if (rc == PB_ERR_DENIED) {
		/* policyd refuses everything of a session an administrator ended (pbctl kill-session). */
		sh_warnf("the session was ended: %s", err);
		sh_unwind(SH_EXIT, 1);
	}
	if (rc < 0) {
		sh_warnf("%s: not run: %s", kind == GATE_COMMAND ? argv[0] : name, err);
		return GATE_DENY;
	}
	enum gate_verdict v = d->accept ? GATE_ALLOW : GATE_DENY;
	if (d->accept) {
		last_uid = d->uniqueid && *d->uniqueid ? xstrdup(d->uniqueid) : NULL;
		last_iolog = d->iolog && *d->iolog && !d->runlocalmode;
		take_run_settings(d);
	} else {
		sh_warnf("%s: %s", kind == GATE_COMMAND ? argv[0] : name,
		         d->reason && *d->reason ? d->reason : "refused by policy");
	}
	policy_decision__free_unpacked(d, NULL);
	return v;
}

bool policy_checks_redirections(void)
{
	const PolicyDecision *d = session_decision();
	return d == NULL || d->shellcheckredirections;
}

void policy_install(void)
{
	const PolicyDecision *sd = session_decision();
	if (!session_on || sd == NULL)
		return;
	gate_set_policy(decide);
	/* The start decision's shell settings, for the whole session (DESIGN §3.3). */
	for (size_t i = 0; i < sd->n_shellreadonly; i++)
		restrict_readonly(sd->shellreadonly[i]);
	if (sd->shellrestricted)
		restrict_pending = true; /* after the profile and ENV files, as -r */
}
