/* SPDX-License-Identifier: ISC */
/* Redirections: applied in the shell process, optionally remembering the old descriptors to put them back. */
#ifndef PB_SH_REDIR_H
#define PB_SH_REDIR_H

#include "node.h"

/* Saved descriptors of one redirected command (arena-allocated). */
struct redirsave;

/*
 * redir_apply: perform the chain of NREDIR in order. With save non-NULL,
 * every descriptor changed is first saved (close-on-exec, >= 10) in a
 * record returned in *save, for redir_restore. Each file is passed to the
 * policy gate (GATE_REDIRECT) just before it is opened. Returns 0, or -1
 * after printing a message (the redirections done so far stay applied
 * and are in *save).
 */
int redir_apply(union node *redirs, struct redirsave **save);

/* redir_restore: undo the redirections recorded in save (NULL is fine). */
void redir_restore(struct redirsave *save);

/* redir_heredoc_fd: a readable fd whose contents are text (pipe or unlinked temp file); -1 on error. */
int redir_heredoc_fd(const char *text, size_t len);

#endif
