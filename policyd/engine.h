/* SPDX-License-Identifier: ISC */
/* The policy engine: compiled rules and their pure evaluation (no I/O, no allocation per rule). */
#ifndef POLICYD_ENGINE_H
#define POLICYD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Request kinds (DESIGN §3.1), in the order of their names in pe_mode_name. */
enum pe_mode {
	PE_MODE_START,
	PE_MODE_COMMAND,
	PE_MODE_BUILTIN,
	PE_MODE_REDIRECT,
	PE_MODE_COUNT
};

/* Variables a decision may carry (DESIGN §3.3), in output order. */
enum pe_var {
	PE_VAR_RUNUSER,
	PE_VAR_RUNGROUP,
	PE_VAR_RUNUMASK,
	PE_VAR_RUNLOCALMODE,
	PE_VAR_IOLOG,
	PE_VAR_LOGSERVERS,
	PE_VAR_SHELLALLOWEDCOMMANDS,
	PE_VAR_SHELLFORBIDDENCOMMANDS,
	PE_VAR_SHELLCHECKBUILTINS,
	PE_VAR_SHELLCHECKREDIRECTIONS,
	PE_VAR_SHELLLOGINCLUDEFILES,
	PE_VAR_SHELLREADONLY,
	PE_VAR_SHELLRESTRICTED,
	PE_VAR_COUNT
};

/* How a variable's value is written in the policy. */
enum pe_vartype {
	PE_VT_STRING, /* a template (%u %h %i %T ...) expanded per decision */
	PE_VT_UMASK,  /* octal 000-777 */
	PE_VT_BOOL,
	PE_VT_LIST,   /* a list of strings; named lists allowed */
};

/* How a pattern is matched, decided once at load. */
enum pe_patkind {
	PE_PAT_LITERAL, /* no magic: string comparison */
	PE_PAT_PREFIX,	/* a literal then one final '*': prefix comparison */
	PE_PAT_GLOB,	/* anything else: pb_match, after a literal-prefix precheck */
};

/* One compiled pattern. */
struct pe_pat {
	const char *s;
	uint32_t plen; /* length of the literal text before the first magic character */
	uint8_t kind;  /* enum pe_patkind */
	bool literal;  /* kind == PE_PAT_LITERAL (kept for readers) */
	bool neg;      /* written with a leading '!' */
};

/* pe_pat_compile: classify pattern s for the match flags (fills every field but neg). */
void pe_pat_compile(struct pe_pat *p, const char *s, int flags);

/*
 * A condition value: a list of patterns. It holds when no negative
 * pattern matches and (there is no positive pattern or one matches).
 * n == 0 means the condition is absent.
 */
struct pe_patlist {
	struct pe_pat *v;
	uint32_t n;
	int flags; /* PB_MATCH_* */
	/*
	 * First bytes a subject may start with for the list to hold (256
	 * bits), or NULL when that cannot be known: a cheap reject that makes
	 * most non-matching rules cost one bit test. Set by pe_patlist_index.
	 */
	const uint64_t *first;
};

/*
 * pe_patlist_index: compute l->first from the positive patterns (each must
 * start with literal text, or be an empty literal); bits is 4 words of the
 * caller's (arena) memory. Returns true when the index applies and was
 * stored, false when the list cannot be indexed (l->first stays NULL).
 */
bool pe_patlist_index(struct pe_patlist *l, uint64_t *bits);

/* argv position condition; pos < 0 counts from the end (-1 = last). */
struct pe_argcond {
	int pos;
	struct pe_patlist pats;
};

/* A time window in minutes after midnight; end < start wraps over midnight. */
struct pe_window {
	uint16_t start;
	uint16_t end;
};

/* The conditions of a rule's `when` (and of each `not:` block inside it). */
struct pe_when {
	uint8_t modes;	  /* bit per enum pe_mode; 0 = any */
	uint8_t weekdays; /* bit per tm_wday; 0 = any */
	struct pe_patlist user, uid, group, host, command, cwd, tty, shell, argline, anyarg;
	struct pe_argcond *argv;
	uint32_t n_argv;
	int argc_min, argc_max; /* -1 = no bound */
	struct pe_window *times;
	uint32_t n_times;
	struct pe_when *nots; /* each must NOT hold */
	uint32_t n_nots;
};

/* One `set` entry. */
struct pe_set {
	enum pe_var var;
	const char *str; /* PE_VT_STRING template */
	unsigned num;	 /* PE_VT_UMASK */
	bool flag;	 /* PE_VT_BOOL */
	const char **list; /* PE_VT_LIST */
	uint32_t n_list;
};

enum pe_decision {
	PE_NONE,
	PE_ACCEPT,
	PE_REJECT
};

struct pe_rule {
	const char *name;
	const char *file; /* where the rule starts, for messages and --test */
	int line, col;
	struct pe_when when;
	struct pe_set *sets;
	uint32_t n_sets;
	enum pe_decision decision;
	const char *reason; /* template; may be NULL */
};

struct pe_arena;

/* A loaded policy: immutable once built, shared read-only by every evaluation. */
struct pe_policy {
	struct pe_rule *rules;
	uint32_t n_rules;
	bool uses_time; /* some rule has weekday/time conditions */
	bool uses_argline;
	char hash[65]; /* SHA-256 of the policy text with its includes, hex */
	char *path;
	char **files; /* every file read, main first */
	uint32_t n_files;
	struct pe_arena *arena; /* owns everything above */
};

/* A request to decide. Strings must not be NULL ("" when unknown). */
struct pe_request {
	enum pe_mode mode;
	const char *host; /* the peer's certificate identity */
	const char *user;
	long long uid;
	const char *group;		 /* primary group */
	const char *const *groups;	 /* supplementary groups */
	size_t n_groups;
	const char *command;
	const char *const *argv;
	size_t argc;
	const char *cwd;
	const char *tty;
	const char *shell;
	long long pid;
	time_t now;
	const char *uniqueid;
};

/* The outcome; pointers refer into the policy (valid while it lives). */
struct pe_result {
	bool accept;
	int rule;			     /* deciding rule index, -1 = default deny */
	const char *reason;		     /* template from the rule, or a fixed text */
	const struct pe_set *vars[PE_VAR_COUNT]; /* last set of each variable, NULL = unset */
	uint32_t *matched;		     /* caller's array for matching rule indexes, may be NULL */
	uint32_t matched_cap;
	uint32_t n_matched;		     /* all matches (may exceed matched_cap) */
};

/* pe_mode_name: "shell start", "shell command", ... (static), or NULL for a bad mode. */
const char *pe_mode_name(enum pe_mode m);

/* pe_mode_parse: the mode named s, or -1. */
int pe_mode_parse(const char *s);

/* pe_var_name / pe_var_type: a variable's name in policies and its kind. */
const char *pe_var_name(enum pe_var v);
enum pe_vartype pe_var_type(enum pe_var v);

/* pe_var_parse: the variable named s, or -1. */
int pe_var_parse(const char *s);

/*
 * pe_eval: decide rq under p. Fills *res (res->matched/matched_cap are the
 * caller's and kept). Pure: no I/O, no allocation except one buffer for
 * the whole argv line when some rule has an argline condition (then a
 * failure to allocate makes that condition false). Returns true on accept.
 */
bool pe_eval(const struct pe_policy *p, const struct pe_request *rq, struct pe_result *res);

/*
 * pe_expand: expand a template for rq into buf (always NUL-terminated,
 * truncated to len). %u user, %U uid, %g group, %h host, %i uniqueid,
 * %T time YYYYmmdd-HHMMSS, %D date YYYYmmdd, %c command, %b command's
 * basename, %m mode, %p pid, %% a percent sign. Returns the length written.
 */
size_t pe_expand(const char *tmpl, const struct pe_request *rq, char *buf, size_t len);

/* pe_template_check: NULL when every %x in tmpl is known, else a pointer to the bad '%'. */
const char *pe_template_check(const char *tmpl);

/* pe_policy_free: release a policy; NULL is accepted. */
void pe_policy_free(struct pe_policy *p);

/* Arena used by the loader: all of a policy's memory, freed at once. */
struct pe_arena *pe_arena_new(void);
void pe_arena_free(struct pe_arena *a);
/* pe_arena_alloc: zeroed memory that lives as long as the arena; NULL when out of memory. */
void *pe_arena_alloc(struct pe_arena *a, size_t size);
/* pe_arena_strdup: a copy of s in the arena; NULL when out of memory. */
char *pe_arena_strdup(struct pe_arena *a, const char *s);

#endif
