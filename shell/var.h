/* SPDX-License-Identifier: ISC */
/* Shell variables: a hashed table of "name=value" strings, export/readonly flags, special variables, local scopes, positional parameters. */
#ifndef PB_SH_VAR_H
#define PB_SH_VAR_H

#include <stdbool.h>
#include <stddef.h>

enum {
	V_EXPORT = 1 << 0,   /* passed to the environment of programs */
	V_READONLY = 1 << 1, /* assignment and unset are errors */
	V_UNSET = 1 << 2,    /* declared (export x / readonly x) but without a value */
	V_INTEGER = 1 << 3,  /* ksh typeset -i: assignments are evaluated arithmetically */
	V_DYNAMIC = 1 << 4,  /* value computed on read (LINENO, RANDOM, SECONDS) */
	V_UPPER = 1 << 5,    /* typeset -u: values are upper-cased */
	V_LOWER = 1 << 6,    /* typeset -l: values are lower-cased */
	V_LJUST = 1 << 7,    /* typeset -L n: left-justified in a field of width */
	V_RJUST = 1 << 8,    /* typeset -R n: right-justified in a field of width */
	V_ZFILL = 1 << 9,    /* typeset -Z n: right-justified, zero-filled */
	V_NAMEREF = 1 << 10, /* typeset -n: the value names another variable */
	V_ARRAY = 1 << 11,   /* has elements other than [0] (arr may be non-NULL) */
};
/* Attributes that transform an assigned value: one test keeps plain scalars on the fast path. */
#define V_CONVERT (V_INTEGER | V_UPPER | V_LOWER | V_LJUST | V_RJUST | V_ZFILL)

/* The elements [1..] of an indexed array, sorted by index (element 0 is the variable's own value). */
struct varray {
	size_t n, cap;
	struct velem {
		long idx;
		char *val; /* malloc'd */
	} *e;
};

struct var {
	struct var *next;  /* hash chain */
	char *text;        /* "name=value", malloc'd; the value is text + nlen + 1 */
	unsigned nlen;     /* length of the name */
	unsigned flags;    /* V_* */
	unsigned hash;
	unsigned char special; /* index into var.c's table of variables with side effects, or 0 */
	unsigned char base;    /* typeset -i base (0 = 10) */
	unsigned short width;  /* field width of -L -R -Z (0 = from the first value) */
	struct varray *arr;    /* elements [1..] of an array, or NULL (always NULL for plain scalars) */
};

/* var_init: create the table from environ and set the shell's own variables (PPID, PWD, IFS, PS1...). */
void var_init(char **environ_);

/* var_lookup: the variable called name (with or without a value), or NULL. */
struct var *var_lookup(const char *name);

/*
 * var_get: the value of a set variable, or NULL when it is unset. The string
 * belongs to the table and is valid until the variable next changes.
 */
const char *var_get(const char *name);

/* var_value: the value of a looked-up variable (NULL when unset); dynamic ones are computed. */
const char *var_value(struct var *v);

/*
 * var_set: assign value (NULL = declare without value) and OR in flags.
 * Raises a shell error (does not return) if the variable is readonly, unless
 * flags has V_NOERR, in which case it returns -1. Returns 0 on success.
 */
#define V_NOERR (1u << 30)
int var_set(const char *name, const char *value, unsigned flags);

/* var_setn: as var_set with a name of length nlen (need not end in NUL). */
int var_setn(const char *name, size_t nlen, const char *value, unsigned flags);

/* var_set_int: assign a decimal integer. */
void var_set_int(const char *name, long long v);

/* var_unset: remove a variable; returns -1 (after a message) if readonly, 0 otherwise. */
int var_unset(const char *name);

/*
 * Indexed arrays (ksh). Element 0 is the variable's value, so $a is ${a[0]}
 * and a scalar is an array of one element. Indexes are 0..INT32_MAX.
 * var_set_elem: assign element idx (conversions of the variable's
 * attributes apply); raises a shell error if readonly or idx is out of range.
 */
void var_set_elem(const char *name, long idx, const char *value);
/* var_get_elem: the value of element idx of v (NULL when unset; v may be NULL). */
const char *var_get_elem(struct var *v, long idx);
/* var_unset_elem: unset element idx of name (unset a[i]); -1 after a message if readonly. */
int var_unset_elem(const char *name, long idx);
/* var_array_count: the number of set elements of v (0 for NULL, 1 for a set scalar). */
size_t var_array_count(struct var *v);
/*
 * var_array_nth: the i-th set element of v in index order (0 <= i <
 * var_array_count(v)), its index in *idx. Table-owned string.
 */
const char *var_array_nth(struct var *v, size_t i, long *idx);
/* var_set_array: set -A / read -A: name becomes vals[0..n-1] (after clearing it when clear). */
void var_set_array(const char *name, char **vals, int n, bool clear);
/* var_check_index: evaluate an array subscript (arithmetic) and check its range; shell error if bad. */
long var_check_index(long long idx);

/*
 * var_set_attrs: typeset: turn on the attributes on, off the attributes off
 * (V_* from V_EXPORT to V_NAMEREF), with a -L/-R/-Z width or -i base (0 =
 * keep). The current value (and elements) are converted again. Returns 0,
 * or -1 after a message when a readonly variable would change.
 */
int var_set_attrs(const char *name, unsigned on, unsigned off, int width, int base);

/*
 * var_raw_lookup: as var_lookup, but a name reference (typeset -n) is
 * returned itself instead of the variable it names.
 */
struct var *var_raw_lookup(const char *name);

/* var_print_value: print s quoted so the shell reads it back unchanged (through out_*). */
void var_print_value(const char *s);

/* var_foreach: call fn for every variable, sorted by name. */
void var_foreach(void (*fn)(struct var *v, void *ctx), void *ctx);

/* var_valid_name: is s (first n bytes, or up to NUL when n is (size_t)-1) a valid variable name? */
bool var_valid_name(const char *s, size_t n);

/*
 * var_environ: the environment for a program, NULL-terminated. The array
 * is cached and rebuilt only after an exported variable changes; callers
 * must not free or keep it across variable changes.
 */
char **var_environ(void);

/* var_list: print variables: mode 0 `set` (all), 'x' `export -p`, 'r' `readonly -p`. */
void var_list(int mode);


/* Local scopes for functions (`local`, ksh `typeset` in a function). */
void var_push_scope(void);
void var_pop_scope(void);
/*
 * var_make_local: save the variable's current state to be restored when the
 * scope ends; true if it was not already local to the innermost scope.
 * A read-only variable is never made local (false): it stays itself.
 */
bool var_make_local(const char *name);
/* var_in_function: is a local scope open? */
bool var_in_function(void);

/* The IFS in force, and whether a character is IFS white space; cached by IFS's hook. */
extern const char *sh_ifs;
static inline bool ifs_white(int c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/* Positional parameters $1..$n; $0 is sh_arg0. */
struct posparams {
	int n;
	char **v;     /* v[0..n-1] are $1..$n, NULL-terminated */
	bool owned;   /* v and its strings are malloc'd by us */
};
extern struct posparams sh_pos;
extern char *sh_arg0;

/* pos_set: replace the positional parameters by a copy of argv (count n). */
void pos_set(char **argv, int n);
/* pos_save / pos_restore: swap in new parameters for a function call and put back the old ones. */
void pos_save(struct posparams *saved, char **argv, int n);
void pos_restore(struct posparams *saved);
/* pos_free: free parameters we own. */
void pos_free(struct posparams *p);

/* getopts state reset when OPTIND is assigned. */
extern int getopts_offset;

/* var_set_lineno: the line number $LINENO reports. */
extern int sh_lineno;

/* var_path_changed: generation counter bumped whenever PATH changes (the command hash table watches it). */
extern unsigned var_path_gen;

#endif
