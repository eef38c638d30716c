/* SPDX-License-Identifier: ISC */
/* The audit trail: every decision appended to a JSON Lines file. */
#ifndef POLICYD_AUDIT_H
#define POLICYD_AUDIT_H

#include "engine.h"
#include "policy.pb-c.h"

struct pd_audit;

/*
 * pd_audit_open: open path for appending (created 0600, O_APPEND so
 * concurrent writers never interleave inside a line). Returns a new
 * trail (free with pd_audit_free) or NULL with *errstr (static storage).
 */
struct pd_audit *pd_audit_open(const char *path, const char **errstr);

/* pd_audit_free: close the file; NULL is accepted. */
void pd_audit_free(struct pd_audit *a);

/*
 * pd_audit_write: append one line for decision d of request rq: time,
 * uniqueid, host, user, mode, command, argv, cwd, tty, result, reason,
 * rule, policy_hash. Each line is one write(2). Returns 0, PB_ERR_IO or
 * PB_ERR_NOMEM (the caller logs; a decision is never held back by it).
 */
int pd_audit_write(struct pd_audit *a, const struct pe_request *rq, const PolicyDecision *d);

/*
 * pd_json_str: append s as a JSON string (quotes, escapes; bytes that are
 * not valid UTF-8 become \u00XX of the byte) to *buf (len/cap grow).
 * Returns 0 or PB_ERR_NOMEM.
 */
int pd_json_str(char **buf, size_t *len, size_t *cap, const char *s);

#endif
