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

/* pd_audit_free: write what waits, close the file; NULL is accepted. */
void pd_audit_free(struct pd_audit *a);

/*
 * pd_audit_write: one line for decision d of request rq: time, uniqueid,
 * host, user, mode, command, argv, cwd, tty, result, reason, rule,
 * policy_hash. The line waits in memory for pd_audit_flush (the server's
 * loop calls it once a turn, after the answers are written, so that the
 * audit costs no answer its time), or is written with those before it once
 * 64 KiB wait. Returns 0, PB_ERR_IO or PB_ERR_NOMEM (the caller logs; a
 * decision is never held back by it).
 */
int pd_audit_write(struct pd_audit *a, const struct pe_request *rq, const PolicyDecision *d);

/* pd_audit_flush: write the lines waiting, in one write(2) when it takes them all. 0 or PB_ERR_IO. */
int pd_audit_flush(struct pd_audit *a);

/*
 * pd_json_str: append s as a JSON string (quotes, escapes; bytes that are
 * not valid UTF-8 become \u00XX of the byte) to *buf (len/cap grow).
 * Returns 0 or PB_ERR_NOMEM.
 */
int pd_json_str(char **buf, size_t *len, size_t *cap, const char *s);

#endif
