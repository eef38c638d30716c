/* SPDX-License-Identifier: ISC */
/* The decision function of a governed session: the start decision's local lists first, then the monitor. */
#ifndef PB_SH_POLICY_H
#define PB_SH_POLICY_H

#include <stdbool.h>

#include "policy.pb-c.h"

/*
 * policy_install: after session_start() accepted a governed session, put
 * the decision function in the gate (gate_set_policy) and apply the start
 * decision's shellreadonly (at once) and shellrestricted (after the profile
 * and ENV files, as -r). Without a session it does nothing, and the gate
 * allows everything at no cost. An accepted decision's runuser, rungroup
 * and runumask are handed to the gate's caller through priv_run_current.
 */
void policy_install(void);

/*
 * policy_accepted: what the last GATE_ALLOW of this process was settled by.
 * *uid is the decision's uniqueid (owned here, valid until the next check;
 * NULL when a local list settled it: list hits are neither sent nor logged,
 * so they get no FINISH either) and *iolog says the command's own I/O must be
 * relayed through the monitor (iolog set, runlocalmode false).
 */
void policy_accepted(const char **uid, bool *iolog);

/*
 * policy_lists_decide: the start decision's local lists for the program at
 * path (DESIGN §3.2): an exact entry of shellallowedcommands → GATE_ALLOW,
 * an exact one of shellforbiddencommands → GATE_DENY, then a pattern of the
 * allowed list → GATE_ALLOW, a pattern of the forbidden list → GATE_DENY;
 * -1 when no list settles it (the monitor is asked). Patterns match as
 * policyd's command patterns (extglob; '*' does not match '/').
 */
int policy_lists_decide(const PolicyDecision *d, const char *path);

/*
 * policy_checks_redirections: must a redirection's file go through the gate
 * (and its checked open)? False only when a session's start decision left
 * shellcheckredirections off; true for any other decision function.
 */
bool policy_checks_redirections(void);

#endif
