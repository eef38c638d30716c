/* SPDX-License-Identifier: ISC */
/* Syntax tree types generated from node.def, and the operations on whole trees. */
#ifndef PBSH_NODE_H
#define PBSH_NODE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Trees and words
 * ---------------
 * The parser builds a tree of `union node` in the per-command arena (arena.h); it is
 * valid until the read-eval loop resets the arena. Anything that must outlive the
 * command (function bodies, traps kept as trees) is copied to the permanent heap with
 * node_copy() and released with node_free().
 *
 * Every node starts with the same head: `kind`, `line` (the source line where it
 * starts, for $LINENO and messages) and `next`, which links siblings in whatever list
 * holds the node (the words of a command, the parts of a word, the items of a list,
 * the commands of a pipeline, the redirections of a command, case items...).
 * A child field (F_NODE in node.def) is therefore either one node or a chain.
 *
 * A word (NWORD) is a chain of parts, never a string with magic bytes:
 *   NLIT    literal text plus how it was quoted (LIT_PLAIN = unquoted: may glob and
 *           acts as a pattern; anything else is quoted: literal, matches literally).
 *           Quote removal has already happened: the text is what the word means.
 *   NDQ     a "..." group; its parts are the expansions and LIT_DQ literals inside.
 *           The back end uses it to recognise "$@" (and "${a[@]}") and to keep `""`
 *           as one empty field. Parts inside an NDQ also carry their own
 *           "inside double quotes" flag (PF_DQUOTED, CS_DQUOTED, arith.dquoted).
 *   NPARAM  $x, ${x}, ${x op word}: the operator's word is itself an NWORD.
 *   NCMDSUB $(...) or `...`: the command is already parsed (cmdsub.tree).
 *   NARITH  $((...)): its expression is an NWORD to expand, then evaluate.
 *   NTILDE  ~ / ~user / ~+ / ~- prefix (only ever the first part, or in an
 *           assignment value right after = or an unquoted :; also in the
 *           NAME=value operands of export, readonly, typeset and local, whose
 *           word then starts with the literal "NAME=" part).
 * So for splitting: only the results of unquoted NPARAM/NCMDSUB/NARITH are split;
 * for globbing and patterns: LIT_PLAIN text and unquoted expansion results are
 * pattern text, every quoted character matches itself.
 *
 * Example: a"b$c"'*'${d:-e f} is
 *   NWORD{ NLIT("a",PLAIN), NDQ{ NLIT("b",DQ), NPARAM(c,DQUOTED) },
 *          NLIT("*",SQ), NPARAM(d, op PO_MINUS, flags PF_COLON|PF_BRACED,
 *                              arg NWORD{NLIT("e f" ... )}) }
 * (a backslash-escaped character outside quotes becomes its own NLIT with
 * quoted = LIT_BSLASH).
 */

/* Kinds: NCMD, NPIPE, ... in node.def order. */
enum node_kind {
#define NODE(k, m) k,
#define F_NODE(m, f)
#define F_STR(m, f)
#define F_INT(m, f)
#define END(m)
#include "node.def"
#undef NODE
#undef F_NODE
#undef F_STR
#undef F_INT
#undef END
	NODE_KIND_COUNT
};

union node;

/* The head every node starts with. */
#define NODE_HEAD         \
	enum node_kind kind; \
	int line;            \
	union node *next;

struct n_head {
	NODE_HEAD
};

/* struct n_cmd, struct n_pipe, ... one per kind. */
#define NODE(k, m) struct n_##m { NODE_HEAD
#define F_NODE(m, f) union node *f;
#define F_STR(m, f) char *f;
#define F_INT(m, f) int f;
#define END(m) };
#include "node.def"
#undef NODE
#undef F_NODE
#undef F_STR
#undef F_INT
#undef END

/* A node of any kind: n->kind, n->line, n->next are always valid (common head). */
union node {
	enum node_kind kind;
	struct n_head head;
#define NODE(k, m) struct n_##m m;
#define F_NODE(m, f)
#define F_STR(m, f)
#define F_INT(m, f)
#define END(m)
#include "node.def"
#undef NODE
#undef F_NODE
#undef F_STR
#undef F_INT
#undef END
};

/* andor.op, tandor.op */
enum { ANDOR_AND = 0, ANDOR_OR = 1 };

/* redir.op */
enum redir_op {
	R_IN,           /* <   default fd 0 */
	R_OUT,          /* >   default fd 1 */
	R_APPEND,       /* >>  default fd 1 */
	R_RDWR,         /* <>  default fd 0 */
	R_CLOBBER,      /* >|  default fd 1 */
	R_DUPIN,        /* <&  default fd 0; target: digits or - */
	R_DUPOUT,       /* >&  default fd 1; target: digits or - */
	R_HEREDOC,      /* <<  default fd 0 */
	R_HEREDOC_STRIP /* <<- default fd 0 (leading tabs already stripped from the body) */
};

/* lit.quoted */
enum lit_quote {
	LIT_PLAIN = 0, /* unquoted source text */
	LIT_BSLASH,    /* one character escaped by a backslash outside double quotes */
	LIT_SQ,        /* '...' or $'...' (escapes already decoded) */
	LIT_DQ,        /* literal text inside "..." (or a here-document body escape) */
};

/* param.op */
enum param_op {
	PO_NONE,      /* $x ${x} */
	PO_MINUS,     /* ${x-w}  ${x:-w} (PF_COLON) */
	PO_ASSIGN,    /* ${x=w}  ${x:=w} */
	PO_QUESTION,  /* ${x?w}  ${x:?w}  (${x?}: arg is a word with no parts: default message) */
	PO_PLUS,      /* ${x+w}  ${x:+w} */
	PO_LENGTH,    /* ${#x} */
	PO_TRIM_SS,   /* ${x#p}  remove smallest prefix */
	PO_TRIM_LS,   /* ${x##p} remove largest prefix */
	PO_TRIM_SP,   /* ${x%p}  remove smallest suffix */
	PO_TRIM_LP,   /* ${x%%p} remove largest suffix */
	PO_SUBSTR,    /* ${x:off} ${x:off:len} (ksh): arg = off, arg2 = len or NULL */
	PO_REPL,      /* ${x/p/r}  first match (ksh); arg2 NULL when there is no /r */
	PO_REPL_ALL,  /* ${x//p/r} every match */
	PO_REPL_PFX,  /* ${x/#p/r} match anchored at the start */
	PO_REPL_SFX,  /* ${x/%p/r} match anchored at the end */
};

/* param.flags */
enum {
	PF_COLON = 1,   /* the :- := :? :+ form (unset or null) */
	PF_DQUOTED = 2, /* inside double quotes */
	PF_BRACED = 4,  /* written with braces (display only) */
	PF_BANG = 8,    /* ksh ${!name} (the name a reference leads to) or ${!a[@]} (the indexes) */
};

/* cmdsub.flags */
enum {
	CS_BACKQUOTE = 1, /* written `...` */
	CS_DQUOTED = 2,   /* inside double quotes */
};

/*
 * node_new: a zeroed node of the given kind, allocated in the per-command arena,
 * with line set to `line`. Never fails (the arena dies cleanly on ENOMEM).
 */
union node *node_new(enum node_kind kind, int line);

/*
 * node_copy: deep copy of n AND of its whole `next` chain to the permanent heap
 * (xmalloc). NULL gives NULL. Release with node_free().
 */
union node *node_copy(const union node *n);

/*
 * node_free: free a tree made by node_copy(), following the `next` chain. Accepts
 * NULL. Never call it on an arena tree.
 */
void node_free(union node *n);

/* node_equal: true when the two chains have the same shape and content; line numbers
 * are ignored (used by the round-trip tests). */
bool node_equal(const union node *a, const union node *b);

/* node_name: "NCMD", "NPIPE", ... (static storage); "?" for an invalid kind. */
const char *node_name(enum node_kind kind);

/* node_size: sizeof the struct for a kind. */
size_t node_size(enum node_kind kind);

#endif
