/* SPDX-License-Identifier: ISC */
/* The interactive shell's command history: entries in memory, the file shared by sessions, hooks for the line editor. */
#ifndef PB_SH_HISTORY_H
#define PB_SH_HISTORY_H

/*
 * hist_add: remember a command just parsed (cmd: its text as re-printed from the
 * tree; when hist_text_hook gives the lines as typed, those are kept instead). Once
 * hist_load() ran, the entry is also appended to the history file.
 * Declared in builtin.h as well, where the interpreter core finds it.
 */
void hist_add(const char *cmd);

/*
 * hist_load: read the history file ($HISTFILE; unset: ~/.sh_history; empty: none)
 * and keep its newest $HISTSIZE entries; from then on every command is appended to
 * it under an exclusive lock (flock), so sessions sharing it never mix entries.
 * A file holding more than twice $HISTSIZE entries is cut back in place.
 * Failures (no HOME, unreadable file) leave the history in memory only.
 */
void hist_load(void);

/* hist_number: the number the next command will get (the `!` of PS1). */
int hist_number(void);

/* hist_text_hook: if set, returns the text of the command being added as typed (or NULL). */
extern const char *(*hist_text_hook)(void);

/* hist_added_hook: if set, called with each entry kept (also those loaded from the file). */
extern void (*hist_added_hook)(const char *entry);

#endif
