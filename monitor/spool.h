/* SPDX-License-Identifier: ISC */
/* Forwarding the session monitor's spool (DESIGN §6, §9): the API `pbctl forward` and the monitor
 * share. */
#ifndef PB_SPOOL_H
#define PB_SPOOL_H

#include <stddef.h>

struct pb_conf;

/*
 * pb_spool_forward: hand every journal under conf's `spooldir` to the first
 * of `logservers` that answers (TLS settings and timeouts from conf), one
 * log session per journal, and delete each journal the server has wholly
 * acknowledged. A journal another process holds (its session still
 * running, or another forwarder) is skipped and counted as pending. What a
 * server acknowledged is recorded in the journal as it arrives, so a
 * forward that stops half-way resumes where it stopped next time (an I/O
 * log restarts at its last commit point). *forwarded and *pending (either
 * may be NULL) get the counts. Returns 0 when nothing is left (also when
 * there is no spool directory), PB_ERR_AGAIN when the only journals left
 * are in use, or the negative PB_ERR_* of the first failure; err says why.
 */
int pb_spool_forward(const struct pb_conf *conf, unsigned *forwarded, unsigned *pending, char *err,
                     size_t errlen);

#endif
