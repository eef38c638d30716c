/* SPDX-License-Identifier: ISC */
/* Signals and traps: the trap table, the signal handler, and running trap actions between commands. */
#include "trap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eval.h"
#include "options.h"
#include "shell.h"

volatile sig_atomic_t trap_pending;
volatile sig_atomic_t sh_gotsigint;
volatile sig_atomic_t trap_lastsig;
static volatile sig_atomic_t sig_got[SH_NSIG];

static char *trap_action[SH_NTRAP]; /* NULL default, "" ignore, else a command */
/* What the signal was when the shell started: signals ignored on entry stay ignored (POSIX). */
static bool ignored_on_entry[SH_NTRAP];
static bool entry_known[SH_NTRAP];  /* ignored_on_entry[s] was looked up (lazily: start-up stays cheap) */
static bool caught[SH_NSIG];       /* our handler is installed */
static bool in_trap;
/* A subshell lists its parent's traps until it sets one itself (POSIX 2024: $(trap) works). */
static char *inherited[SH_NTRAP];
static bool show_inherited;
static bool exit_trap_done;

static const struct {
	int sig;
	const char *name;
} sigtab[] = {
	{SIGHUP, "HUP"}, {SIGINT, "INT"}, {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},
	{SIGTRAP, "TRAP"}, {SIGABRT, "ABRT"}, {SIGBUS, "BUS"}, {SIGFPE, "FPE"},
	{SIGKILL, "KILL"}, {SIGUSR1, "USR1"}, {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"},
	{SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},
#ifdef SIGSTKFLT
	{SIGSTKFLT, "STKFLT"},
#endif
	{SIGCHLD, "CHLD"}, {SIGCONT, "CONT"}, {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},
	{SIGTTIN, "TTIN"}, {SIGTTOU, "TTOU"}, {SIGURG, "URG"}, {SIGXCPU, "XCPU"},
	{SIGXFSZ, "XFSZ"}, {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"},
#ifdef SIGIO
	{SIGIO, "IO"},
#endif
#ifdef SIGPWR
	{SIGPWR, "PWR"},
#endif
	{SIGSYS, "SYS"},
};

const char *sig_name(int sig)
{
	static char buf[16];
	if (sig == 0)
		return "EXIT";
	if (sig == TRAP_ERR)
		return "ERR";
	for (size_t i = 0; i < sizeof sigtab / sizeof sigtab[0]; i++)
		if (sigtab[i].sig == sig)
			return sigtab[i].name;
#ifdef SIGRTMIN
	if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		snprintf(buf, sizeof buf, "RTMIN+%d", sig - SIGRTMIN);
		return buf;
	}
#endif
	(void)buf;
	return NULL;
}

int sig_number(const char *s)
{
	if (*s >= '0' && *s <= '9') {
		char *end;
		long n = strtol(s, &end, 10);
		if (*end || n < 0 || n >= SH_NSIG)
			return -1;
		return (int)n;
	}
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	if (strcasecmp(s, "EXIT") == 0)
		return 0;
	if (strcmp(s, "ERR") == 0)
		return TRAP_ERR;
	for (size_t i = 0; i < sizeof sigtab / sizeof sigtab[0]; i++)
		if (strcasecmp(sigtab[i].name, s) == 0)
			return sigtab[i].sig;
	return -1;
}

static void on_signal(int sig)
{
	if (sig == SIGINT && trap_action[SIGINT] == NULL)
		sh_gotsigint = 1;
	sig_got[sig] = 1;
	trap_lastsig = sig;
	trap_pending = 1;
}

/* Install our handler (without SA_RESTART, so a blocking wait or read returns EINTR and traps run promptly). */
static void catch_sig(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	caught[sig] = true;
}

static void set_disp(int sig, void (*h)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	caught[sig] = false;
}

/* Was the signal ignored when the shell started? Asked before the shell first changes it. */
static bool was_ignored(int s)
{
	if (!entry_known[s] && s < SH_NSIG) {
		struct sigaction old;
		entry_known[s] = true;
		if (s != SIGKILL && s != SIGSTOP && sigaction(s, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			ignored_on_entry[s] = true;
	}
	return ignored_on_entry[s];
}

void trap_init(void)
{
	if (opt[OPT_INTERACTIVE]) {
		was_ignored(SIGQUIT);
		was_ignored(SIGTERM);
		catch_sig(SIGINT);
		set_disp(SIGQUIT, SIG_IGN);
		set_disp(SIGTERM, SIG_IGN);
	}
	/* Writes to a closed pipe are reported as EPIPE by the builtins; the signal is for programs. */
}

/* Apply the disposition a trap action implies. */
static void apply_trap(int sig)
{
	if (sig == 0 || sig == SIGKILL || sig == SIGSTOP || sig >= SH_NSIG)
		return;
	if (trap_action[sig] == NULL) {
		if (opt[OPT_INTERACTIVE] && (sig == SIGINT))
			catch_sig(sig);
		else if (opt[OPT_INTERACTIVE] && (sig == SIGQUIT || sig == SIGTERM))
			set_disp(sig, SIG_IGN);
		else if (opt[OPT_MONITOR] && (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU))
			set_disp(sig, SIG_IGN);
		else
			set_disp(sig, SIG_DFL);
	} else if (trap_action[sig][0] == '\0') {
		set_disp(sig, SIG_IGN);
	} else {
		catch_sig(sig);
	}
}

bool trap_is_ignored(int sig)
{
	return sig > 0 && sig < SH_NSIG && trap_action[sig] && trap_action[sig][0] == '\0';
}

void trap_run_pending(void)
{
	if (in_trap)
		return;
	/* ^C in an interactive shell with no INT trap abandons the command line. */
	if (sh_gotsigint && opt[OPT_INTERACTIVE]) {
		sh_gotsigint = 0;
		sig_got[SIGINT] = 0;
		sh_unwind(SH_INTERRUPT, 130);
	}
	while (trap_pending) {
		trap_pending = 0;
		for (int s = 1; s < SH_NSIG; s++) {
			if (!sig_got[s])
				continue;
			sig_got[s] = 0;
			if (trap_action[s] == NULL || trap_action[s][0] == '\0')
				continue;
			int saved = sh_exitstatus;
			/* A copy, since the action may reset its own trap; static so an exit in it leaks nothing. */
			static char *cmd;
			free(cmd);
			cmd = xstrdup(trap_action[s]);
			in_trap = true;
			eval_string_trap(cmd);
			in_trap = false;
			sh_exitstatus = saved;
		}
	}
}

void trap_run_exit(void)
{
	if (exit_trap_done || trap_action[0] == NULL)
		return;
	exit_trap_done = true;
	/* Kept reachable while it runs: an `exit` inside the EXIT trap unwinds past us. */
	static char *cmd;
	cmd = trap_action[0];
	trap_action[0] = NULL;
	if (cmd[0] != '\0') {
		int saved = sh_exitstatus;
		eval_string_trap(cmd);
		sh_exitstatus = saved;
	}
	free(cmd);
	cmd = NULL;
}

void trap_run_err(int st)
{
	const char *a = trap_action[TRAP_ERR];
	if (a == NULL || a[0] == '\0' || in_trap)
		return;
	/* A copy, since the action may reset its own trap; static so an exit in it leaks nothing. */
	static char *cmd;
	free(cmd);
	cmd = xstrdup(a);
	in_trap = true;
	sh_exitstatus = st;
	eval_string_trap(cmd);
	in_trap = false;
	sh_exitstatus = st;
}

char *trap_enter_function(void)
{
	char *saved = trap_action[0];
	trap_action[0] = NULL;
	return saved;
}

void trap_leave_function(char *saved)
{
	char *mine = trap_action[0];
	trap_action[0] = saved;
	if (mine && mine[0] != '\0') {
		int st = sh_exitstatus;
		eval_string_trap(mine);
		sh_exitstatus = st;
	}
	free(mine);
}

void trap_subshell(void)
{
	for (int s = 0; s < SH_NTRAP; s++) {
		free(inherited[s]);
		inherited[s] = trap_action[s] ? xstrdup(trap_action[s]) : NULL;
		if (trap_action[s] && trap_action[s][0] != '\0') {
			free(trap_action[s]);
			trap_action[s] = NULL;
			if (s && s < SH_NSIG)
				set_disp(s, SIG_DFL);
		}
	}
	show_inherited = true;
	exit_trap_done = false;
	if (opt[OPT_INTERACTIVE]) {
		/* A subshell of an interactive shell is not interactive. */
		set_disp(SIGINT, SIG_DFL);
		set_disp(SIGQUIT, SIG_DFL);
		set_disp(SIGTERM, SIG_DFL);
	}
}

/* Set a disposition without touching the shell's memory (safe in a vfork child). */
static void raw_disp(int sig, void (*h)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

void trap_child(bool bg)
{
	for (int s = 1; s < SH_NSIG; s++)
		if (caught[s])
			raw_disp(s, SIG_DFL);
	if (opt[OPT_INTERACTIVE] || opt[OPT_MONITOR]) {
		if (!trap_is_ignored(SIGQUIT) && !ignored_on_entry[SIGQUIT])
			raw_disp(SIGQUIT, SIG_DFL);
		if (!trap_is_ignored(SIGTERM) && !ignored_on_entry[SIGTERM])
			raw_disp(SIGTERM, SIG_DFL);
		if (!trap_is_ignored(SIGTSTP))
			raw_disp(SIGTSTP, SIG_DFL);
		if (!trap_is_ignored(SIGTTIN))
			raw_disp(SIGTTIN, SIG_DFL);
		if (!trap_is_ignored(SIGTTOU))
			raw_disp(SIGTTOU, SIG_DFL);
	}
	if (bg && !opt[OPT_MONITOR]) {
		raw_disp(SIGINT, SIG_IGN);
		raw_disp(SIGQUIT, SIG_IGN);
	}
}

bool trap_any(void)
{
	for (int s = 0; s < SH_NTRAP; s++)
		if (trap_action[s] && trap_action[s][0] != '\0')
			return true;
	return false;
}

static void print_trap(int s, const char *a)
{
	out_printf("trap -- '");
	for (; *a; a++) {
		if (*a == '\'')
			out_str("'\\''");
		else
			out_char(*a);
	}
	out_printf("' %s\n", sig_name(s));
}

int c_trap(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i < argc && strcmp(argv[i], "-p") == 0)
		i++;
	if (i >= argc) {
		char **tab = show_inherited ? inherited : trap_action;
		for (int s = 0; s < SH_NTRAP; s++)
			if (tab[s] && sig_name(s))
				print_trap(s, tab[s]);
		return 0;
	}
	if (argc - i == 1 && i == 2 && strcmp(argv[1], "-p") == 0) {
		/* trap -p SIG... */
	}
	const char *action = argv[i];
	/* A first operand that is an unsigned integer means "reset these signals" (POSIX). */
	bool reset = strcmp(action, "-") == 0;
	if (!reset && sig_number(action) >= 0 && action[0] >= '0' && action[0] <= '9') {
		reset = true;
		i--;
	}
	if (argc - i == 1 && !reset) {
		/* trap SIG: with a single operand, reset that signal. */
		reset = true;
		i--;
	}
	int ret = 0;
	if (show_inherited) {
		show_inherited = false;
		for (int s = 0; s < SH_NTRAP; s++) {
			free(inherited[s]);
			inherited[s] = NULL;
		}
	}
	for (i++; i < argc; i++) {
		int s = sig_number(argv[i]);
		if (s < 0) {
			sh_warnf("trap: %s: bad trap", argv[i]);
			ret = 1;
			continue;
		}
		if (s == SIGKILL || s == SIGSTOP) {
			sh_warnf("trap: %s: cannot be trapped", argv[i]);
			ret = 1;
			continue;
		}
		/* A non-interactive shell may not trap signals ignored on entry. */
		if (s && was_ignored(s) && !opt[OPT_INTERACTIVE])
			continue;
		free(trap_action[s]);
		trap_action[s] = reset ? NULL : xstrdup(action);
		apply_trap(s);
	}
	return ret;
}
