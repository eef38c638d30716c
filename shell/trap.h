/* SPDX-License-Identifier: ISC */
/* Signals and traps: handlers only record a signal; trap actions run between commands, from the eval loop. */
#ifndef PB_SH_TRAP_H
#define PB_SH_TRAP_H

#include <signal.h>
#include <stdbool.h>

#define SH_NSIG 65
/* The ksh ERR pseudo-signal: its action runs after a command fails where set -e would apply. */
#define TRAP_ERR SH_NSIG
#define SH_NTRAP (SH_NSIG + 1)

/* Non-zero when a trapped signal arrived and its action has not run yet. */
extern volatile sig_atomic_t trap_pending;
/* The last signal caught (for `wait` interrupted by a trap: 128+n). */
extern volatile sig_atomic_t trap_lastsig;
/* The last SIGINT arrived with no trap set (the interactive layer resets its line on it). */
extern volatile sig_atomic_t sh_gotsigint;

/* trap_init: the signal dispositions of a new shell (interactive shells ignore TERM/QUIT, handle INT). */
void trap_init(void);

/* trap_run_pending: run the actions of the signals that arrived, preserving $?. Safe to call often. */
void trap_run_pending(void);

/* trap_run_exit: run the EXIT trap once (on exit of the shell or a subshell). */
void trap_run_exit(void);

/* trap_subshell: in a forked subshell: traps set to an action revert to default, ignored stay ignored. */
void trap_subshell(void);

/*
 * trap_child: in a child about to exec a program (also a vfork child:
 * it only makes system calls): restore default
 * dispositions for everything the shell caught; bg true makes a
 * non-interactive shell's background job ignore SIGINT and SIGQUIT.
 */
void trap_child(bool bg);

/* trap_any: is any trap (EXIT or a signal) set to an action? Then the shell cannot exec its last command in place. */
bool trap_any(void);

/* sig_number: "INT", "SIGINT", "2" or "EXIT"/"0" to a number (0 = EXIT, TRAP_ERR for ERR); -1 if unknown. */
int sig_number(const char *s);

/* sig_name: the name without SIG of a signal ("EXIT" for 0), or NULL. */
const char *sig_name(int sig);

/* trap_is_ignored: is the signal's trap the empty string (ignored)? */
bool trap_is_ignored(int sig);

/* trap_run_err: run the ERR trap (if set) after a command failed with status st, preserving $?. */
void trap_run_err(int st);

/*
 * trap_enter_function / trap_leave_function: a ksh `function` has its own
 * EXIT trap, run when it returns. enter returns the caller's EXIT action
 * (owned by the caller until leave, which takes it back).
 */
char *trap_enter_function(void);
void trap_leave_function(char *saved);

/* The builtin. */
int c_trap(int argc, char **argv);

#endif
