/* SPDX-License-Identifier: ISC */
/* Turning an engine result into a PolicyDecision (templates expanded), its text form and unique ids. */
#ifndef POLICYD_DECIDE_H
#define POLICYD_DECIDE_H

#include <stdio.h>

#include "engine.h"
#include "policy.pb-c.h"

/* Storage for the expanded strings of one decision; lives as long as the decision is used. */
struct pd_decbuf {
	char uniqueid[33];
	char reason[1024];
	char runuser[256];
	char rungroup[256];
	char iolog[4096];
	char *set_names[PE_VAR_COUNT];
};

/* pd_uniqueid: 128 random bits as 32 hex digits into out (from getrandom, buffered). */
void pd_uniqueid(char out[33]);

/*
 * pd_decision_fill: fill d (initialised here) from the result res of rq
 * under p. Strings point into b (expanded templates) or into p (lists),
 * so d must be used (packed, printed) before b or p go; nothing is
 * allocated. rq->uniqueid must point at b->uniqueid or another string that
 * lives as long. For "shell start", runlocalmode is always set true;
 * the shell* variables are sent only with "shell start".
 */
void pd_decision_fill(const struct pe_policy *p, const struct pe_request *rq,
		      const struct pe_result *res, PolicyDecision *d, struct pd_decbuf *b);

/* pd_mode_to_proto / pd_mode_from_proto: between enum pe_mode and PolicyMode; from returns -1 for a bad value. */
PolicyMode pd_mode_to_proto(enum pe_mode m);
int pd_mode_from_proto(PolicyMode m);

/*
 * pd_decision_print: the --test report: decision, rule, reason, mode,
 * uniqueid, policy hash, every matched rule (file:line:col) and every
 * variable set, one per line.
 */
void pd_decision_print(FILE *f, const struct pe_policy *p, const struct pe_result *res,
		       const PolicyDecision *d);

#endif
