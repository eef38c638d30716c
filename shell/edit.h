/* SPDX-License-Identifier: ISC */
/* The line editor of pbksh (libedit): emacs and vi modes, history recall, completion, prompts. */
#ifndef PB_SH_EDIT_H
#define PB_SH_EDIT_H

#include <stdbool.h>

/*
 * edit_start: when standard input and standard error are terminals, make them the
 * shell's input through libedit: push a line-reader source (input_push_reader),
 * load the history file, and bind TAB to completion. Returns false (and does
 * nothing) when there is no terminal; the caller then reads fd 0 as pbsh does.
 * The editing mode follows `set -o emacs` / `set -o vi` at every new line
 * (emacs unless vi is on).
 */
bool edit_start(void);

#endif
