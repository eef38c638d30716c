/* SPDX-License-Identifier: ISC */
/* The decision function of a governed session: the start decision's local lists first, then the monitor. */
#ifndef PB_SH_POLICY_H
#define PB_SH_POLICY_H

#include <stdbool.h>

/*
 * policy_install: after session_start() accepted a governed session, put
 * the decision function in the gate (gate_set_policy). Without a session it
 * does nothing, and the gate allows everything at no cost.
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
 * policy_checks_redirections: must a redirection's file go through the gate
 * (and its checked open)? False only when a session's start decision left
 * shellcheckredirections off; true for any other decision function.
 */
bool policy_checks_redirections(void);

#endif
