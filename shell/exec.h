/* SPDX-License-Identifier: ISC */
/* Command dispatch: lookup (builtins, functions, PATH with a hash table), the policy gate, and running programs. */
#ifndef PB_SH_EXEC_H
#define PB_SH_EXEC_H

#include <stdbool.h>

#include "builtin.h"
#include "node.h"

/* A shell function: its body is a permanent copy of the definition's tree. */
struct func {
	struct func *next;
	char *name;
	union node *body;
	int refs;       /* calls in progress + 1 while defined */
	bool ksh;       /* defined as `function name`: $0, OPTIND, options and traps are its own */
};

enum cmd_kind { CMD_NOTFOUND, CMD_BUILTIN, CMD_FUNCTION, CMD_EXTERNAL };

struct cmdentry {
	enum cmd_kind kind;
	const struct builtin *bi;
	struct func *fn;
	const char *path; /* CMD_EXTERNAL: full path (arena or hash table); NOTFOUND with EACCES: the path found */
};

enum {
	FC_NOFUNC = 1,   /* `command name`: skip functions */
	FC_DEFPATH = 2,  /* `command -p`: search the default PATH */
};

/* find_command: resolve name as POSIX orders it: special builtin, function, regular builtin, PATH. */
void find_command(const char *name, struct cmdentry *ce, int flags);

/* path_search: the first executable called name in path (":"-separated); arena string or NULL. */
char *path_search(const char *name, const char *path);

/* exec_simple: run one simple command node; returns its exit status. flags: EV_* (eval.h). */
int exec_simple(union node *cmd, int flags);

/*
 * exec_argv: dispatch an already expanded argument vector (used by `command`
 * and `exec`): flags as find_command; with replace, programs are exec'd in
 * place of the shell. Returns the exit status.
 */
int exec_argv(int argc, char **argv, int fcflags, bool replace);

/* func_define: define or replace a function (the body is copied to the heap). */
void func_define(const char *name, union node *body, bool ksh);
/* func_foreach: call fn for every function (in no particular order). */
void func_foreach(void (*fn)(struct func *f, void *ctx), void *ctx);
/* func_print: print f's definition as shell text (typeset -f). */
void func_print(struct func *f);
/* func_lookup: the function called name, or NULL. */
struct func *func_lookup(const char *name);
/* func_unset: remove a function; 0, or -1 if there was none. */
int func_unset(const char *name);

/* hash_clear: forget remembered command paths; hash_print lists them. */
void hash_clear(void);
void hash_print(void);
/* hash_add: look name up in PATH now and remember it; -1 if not found. */
int hash_add(const char *name);

/*
 * hash_prefetch: if cmd is a simple command naming a program by a plain
 * word, look it up in PATH now, so children forked for a pipeline or a
 * background job find it in the table they inherit.
 */
void hash_prefetch(union node *cmd);

/* The coprocess's descriptors (cmd |&): print -p / >&p write to coproc_wfd, read -p / <&p read coproc_rfd; -1 when none. */
extern int coproc_wfd, coproc_rfd;

/* The path of the running shell binary (for scripts without #!). */
extern const char *sh_self_path;

/* Current depth of function calls and of loops (break/continue). */
extern int sh_funcdepth;
extern int sh_loopdepth;

/* prompt_expand: the value of PS1/PS2/PS4 (var) after parameter, command and arithmetic expansion (arena), or dflt if unset. */
const char *prompt_expand(const char *var, const char *dflt);

/* sh_lastarg: $_, the last argument of the previous simple command. */
extern char *sh_lastarg;

/* The EV_* flags of the command running the current builtin (eval and . pass EV_TESTED on). */
extern int sh_builtin_flags;

/* describe_command: for type / command -v / -V (fcflags: FC_DEFPATH for -p); prints and returns 0, or 1 if not found. */
int describe_command(const char *name, int mode, int fcflags);

#endif
