/* SPDX-License-Identifier: ISC */
/* Shell options: one X-macro table gives the letter, the `set -o` name and the flag of each option. */
#ifndef PB_SH_OPTIONS_H
#define PB_SH_OPTIONS_H

#include <stdbool.h>

/*
 * X(ID, letter, long name): letter 0 means "long name only". The order is the
 * order of `$-` and of `set -o` listings.
 */
#define SH_OPTIONS(X)                         \
	X(ALLEXPORT, 'a', "allexport")        \
	X(NOTIFY, 'b', "notify")              \
	X(NOCLOBBER, 'C', "noclobber")        \
	X(ERREXIT, 'e', "errexit")            \
	X(NOGLOB, 'f', "noglob")              \
	X(HASHALL, 'h', "hashall")            \
	X(INTERACTIVE, 'i', "interactive")    \
	X(MONITOR, 'm', "monitor")            \
	X(NOEXEC, 'n', "noexec")              \
	X(STDIN, 's', "stdin")                \
	X(NOUNSET, 'u', "nounset")            \
	X(VERBOSE, 'v', "verbose")            \
	X(XTRACE, 'x', "xtrace")              \
	X(IGNOREEOF, 0, "ignoreeof")          \
	X(NOLOG, 0, "nolog")                  \
	X(PIPEFAIL, 0, "pipefail")            \
	X(EMACS, 0, "emacs")                  \
	X(VI, 0, "vi")                        \
	X(POSIX, 0, "posix")                  \
	X(RESTRICTED, 'r', "restricted")        \
	X(MARKDIRS, 'X', "markdirs")          \
	X(NOHUP, 0, "nohup")                  \
	X(BGNICE, 0, "bgnice")

enum sh_opt {
#define X(id, letter, name) OPT_##id,
	SH_OPTIONS(X)
#undef X
	OPT_COUNT
};

/* The current value of every option; read directly in hot paths (opt[OPT_XTRACE]). */
extern bool opt[OPT_COUNT];

/* opt_by_letter: the option with this letter, or -1. */
int opt_by_letter(int c);

/* opt_by_name: the option with this long name, or -1. */
int opt_by_name(const char *name);

/* opt_name / opt_letter: the long name and letter (0 when none) of an option. */
const char *opt_name(int o);
int opt_letter(int o);

/* opt_set: set an option, applying its side effects (monitor turns job control on, emacs/vi exclude each other). */
void opt_set(int o, bool on);

/*
 * opt_set_hook: fn is called after opt_set changed an option (set -o, the
 * command line, a ksh function's options restored on return), with the
 * option and its new value; NULL removes it. For the interactive layer
 * (emacs/vi editing modes). One hook.
 */
void opt_set_hook(void (*fn)(int o, bool on));

/*
 * opt_flags: the value of `$-` (static buffer, valid until the next call):
 * the letters of the options that are on, in table order.
 */
const char *opt_flags(void);

/*
 * opt_parse_args: parse leading option words of `set` or of the command
 * line (-abc, +abc, -o name, +o name, --, -). *argvp is advanced past the
 * options. When cmdline is true, also accepts -c, -s and -i and reports
 * -c via *cflag. Returns 0, 1 when `-o`/`+o` alone asked for a listing
 * (listing printed), or -1 after printing a usage error.
 */
int opt_parse_args(char ***argvp, bool cmdline, bool *cflag);

/* opt_list: print options as `set -o` (human) or `set +o` (re-readable) does. */
void opt_list(bool reinput);

#endif
