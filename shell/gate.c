/* SPDX-License-Identifier: ISC */
/* The policy gate: every command, builtin and redirection passes here just before it happens. */
#include "gate.h"

#include <stddef.h>

#include "debug.h"
#include "priv.h"

/*
 * The policy client (policy.c) installs its function here in a governed
 * session: local lists, then a request over the process's own
 * SOCK_SEQPACKET channel to the session monitor (never over TLS from this
 * process). Without a session nothing is checked: the gate only traces what
 * passes through it.
 */
gate_fn gate_policy;

void gate_set_policy(gate_fn fn)
{
	gate_policy = fn;
}

enum gate_verdict gate_check(enum gate_kind kind, const char *name, char *const argv[])
{
	static const char *const kind_name[] = {"command", "builtin", "redirect"};
	PB_TRACE(PB_SS_GATE, 5, "gate %s %s", kind_name[kind], name);
	if (gate_policy == NULL)
		return GATE_ALLOW;
	/* The decision for this action says how it runs; nothing is left from an earlier one. */
	priv_run_current = NULL;
	return gate_policy(kind, name, argv);
}
