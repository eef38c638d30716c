/* SPDX-License-Identifier: ISC */
/* Loading policy.yaml (and its includes) into a compiled struct pe_policy. */
#ifndef POLICYD_POLICY_LOAD_H
#define POLICYD_POLICY_LOAD_H

#include <stddef.h>

#include "conf.h"
#include "engine.h"

/* Most files one policy may read (main file and includes). */
#define PD_POLICY_MAX_FILES 64
/* Deepest include nesting. */
#define PD_POLICY_MAX_DEPTH 8

/*
 * pd_policy_load: read the policy at path with every file it includes,
 * check it completely and compile it. On success *out is a new policy
 * (free with pe_policy_free) whose hash is the SHA-256 of the text of
 * every file read, in reading order. On failure nothing is returned and
 * err holds "file:line:col: message". Returns 0, PB_ERR_NOTFOUND,
 * PB_ERR_IO, PB_ERR_CONF, PB_ERR_LIMIT or PB_ERR_NOMEM.
 */
int pd_policy_load(const char *path, struct pe_policy **out, struct pb_conf_err *err);

/*
 * pd_policy_load_buf: the same from memory, under name. `include:` is
 * refused (a buffer has no directory), which makes it safe for fuzzing.
 */
int pd_policy_load_buf(const char *name, const void *buf, size_t len, struct pe_policy **out,
		       struct pb_conf_err *err);

#endif
