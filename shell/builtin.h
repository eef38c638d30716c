/* SPDX-License-Identifier: ISC */
/* The builtin table: one entry per builtin with its flags; every builtin is int fn(int argc, char **argv). */
#ifndef PB_SH_BUILTIN_H
#define PB_SH_BUILTIN_H

#include <stdbool.h>

enum {
	BI_SPECIAL = 1,  /* POSIX special builtin: found before functions, errors exit a script, assignments persist */
	BI_REGULAR = 2,  /* regular builtin: found after functions, before PATH */
	BI_ASSIGN = 4,   /* declaration utility (export, readonly, local...) */
	BI_KSH_ONLY = 8, /* only in pbksh */
	BI_PURE = 16,    /* no side effect on the shell: may run in $( ) without a fork */
};

struct builtin {
	const char *name;
	int (*fn)(int argc, char **argv);
	unsigned flags;
};

/* builtin_lookup: the builtin called name, or NULL. */
const struct builtin *builtin_lookup(const char *name);

/* builtin_foreach: call cb for every builtin, in name order (completion lists them). */
void builtin_foreach(void (*cb)(const struct builtin *b, void *ctx), void *ctx);

/*
 * builtin_run: run b with argv, flushing its output; returns its exit
 * status. The policy gate (GATE_BUILTIN) is asked first; a denied builtin
 * does not run and gives 1.
 */
int builtin_run(const struct builtin *b, int argc, char **argv);

/*
 * builtin_flags: parse the leading flag words of a builtin (-abc; "--" ends
 * them) whose flags are the single letters of letters: bit k of *set is set
 * for letters[k]. Returns the index of the first operand, or -1 after
 * "name: -x: unknown option".
 */
int builtin_flags(int argc, char **argv, const char *letters, unsigned *set);

/* The builtins, by file. */
int c_true(int argc, char **argv);
int c_false(int argc, char **argv);
int c_dot(int argc, char **argv);
int c_break(int argc, char **argv);
int c_continue(int argc, char **argv);
int c_eval(int argc, char **argv);
int c_exec(int argc, char **argv);
int c_exit(int argc, char **argv);
int c_export(int argc, char **argv);
int c_readonly(int argc, char **argv);
int c_return(int argc, char **argv);
int c_set(int argc, char **argv);
int c_shift(int argc, char **argv);
int c_times(int argc, char **argv);
int c_unset(int argc, char **argv);
int c_local(int argc, char **argv);
int c_alias(int argc, char **argv);
int c_unalias(int argc, char **argv);
int c_cd(int argc, char **argv);
int c_pwd(int argc, char **argv);
int c_command(int argc, char **argv);
int c_type(int argc, char **argv);
int c_hash(int argc, char **argv);
int c_getopts(int argc, char **argv);
int c_umask(int argc, char **argv);
int c_ulimit(int argc, char **argv);
int c_read(int argc, char **argv);
int c_printf(int argc, char **argv);
int c_echo(int argc, char **argv);
int c_let(int argc, char **argv);
int c_fc(int argc, char **argv);
int c_typeset(int argc, char **argv);
int c_integer(int argc, char **argv);
int c_print(int argc, char **argv);
int c_whence(int argc, char **argv);

/*
 * echo_words (c_printf.c): write the words separated by blanks, with the
 * XSI escapes (\n, \t, \0nnn, \c stops all output) when escapes, and a
 * final newline when nl; returns 0. Shared by echo and print.
 */
int echo_words(char **words, bool escapes, bool nl);

/* hist_add (history.c): remember a command of an interactive shell for fc. */
void hist_add(const char *cmd);
/* hist_number (history.c): the number the next command will get. */
int hist_number(void);

#endif
