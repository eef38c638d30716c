/* SPDX-License-Identifier: ISC */
/* The policy gate: every command, builtin and redirection passes here just before it happens. */
#include "gate.h"

#include <stddef.h>

#include "debug.h"
#include "priv.h"

/*
 * The policy client (a later issue, DESIGN §8) installs its function here:
 * it sends the request over the process's own SOCK_SEQPACKET channel to the
 * session monitor (never over TLS from this process) and returns the
 * verdict. Until then no policy is configured and nothing is checked: the
 * gate only traces what passes through it.
 */
static gate_fn policy;

void gate_set_policy(gate_fn fn)
{
	policy = fn;
}

enum gate_verdict gate_check(enum gate_kind kind, const char *name, char *const argv[])
{
	static const char *const kind_name[] = {"command", "builtin", "redirect"};
	PB_TRACE(PB_SS_GATE, 5, "gate %s %s", kind_name[kind], name);
	if (policy == NULL)
		return GATE_ALLOW;
	/* The decision for this action says how it runs; nothing is left from an earlier one. */
	priv_run_current = NULL;
	return policy(kind, name, argv);
}
