/* SPDX-License-Identifier: ISC */
/* Internal interface between the lexer (lex.c) and the parser (parse.c); not for the back end. */
#ifndef PBSH_LEX_H
#define PBSH_LEX_H

#include <stdbool.h>

#include "node.h"

enum tok {
	T_EOF,
	T_NEWLINE,
	T_WORD,     /* p->word */
	T_IONUM,    /* p->ionum (and p->word, for [[ ]]) */
	T_ARITH,    /* (( expr )) in command position: p->word is the expression */
	T_SEMI,     /* ; */
	T_AMP,      /* & */
	T_PIPE,     /* | */
	T_AND_IF,   /* && */
	T_OR_IF,    /* || */
	T_DSEMI,    /* ;; */
	T_SEMIAMP,  /* ;& */
	T_PIPEAMP,  /* |& */
	T_LPAREN,   /* ( */
	T_RPAREN,   /* ) */
	T_LESS,     /* < */
	T_GREAT,    /* > */
	T_DGREAT,   /* >> */
	T_DLESS,    /* << */
	T_DLESSDASH,/* <<- */
	T_LESSAND,  /* <& */
	T_GREATAND, /* >& */
	T_LESSGREAT,/* <> */
	T_CLOBBER,  /* >| */
	/* reserved words: only produced by parse.c's keyword check of a T_WORD */
	K_IF, K_THEN, K_ELSE, K_ELIF, K_FI, K_DO, K_DONE, K_CASE, K_ESAC, K_WHILE,
	K_UNTIL, K_FOR, K_IN, K_LBRACE, K_RBRACE, K_BANG, K_FUNCTION, K_SELECT,
	K_TIME, K_DLBRACKET, K_DRBRACKET,
	T_COUNT
};

/* A here-document whose body is still to be read (after the next newline token). */
struct heredoc {
	struct heredoc *next;
	union node *redir; /* NREDIR to complete */
	char *delim;       /* delimiter after quote removal */
};

/* The parser's state; lives in the arena for one parse. */
struct parser {
	int flags;            /* PARSE_* */
	enum tok tok;         /* current token (raw: words are T_WORD) */
	union node *word;     /* T_WORD, T_IONUM, T_ARITH */
	int ionum;
	int tokline;          /* line where the current token starts */
	bool pushed;          /* tok is pushed back: next_tok returns it again */
	bool alias_next;      /* the last alias text ended in a blank */
	int depth;            /* nesting, against PARSE_MAX_DEPTH */
	struct heredoc *heredocs, **hd_tail; /* pending here-documents */
};

/* lex modes */
enum {
	LX_CMD = 1,   /* command position: `((` may start an arithmetic command */
	LX_REGEX = 2, /* the operand of [[ =~ ]]: parentheses and | inside them are part of the word */
};

/* lex_next: read the next token into p (tok, word, ionum, tokline). */
enum tok lex_next(struct parser *p, int mode);

/* lex_heredoc_add: remember redir (an NREDIR << or <<-) whose body follows the next
 * newline; its target word gives the delimiter. */
void lex_heredoc_add(struct parser *p, union node *redir);

/* lex_word_string: lex all of the current (string) source as a here-document body
 * or prompt: double-quote rules without the quotes, `"` literal unless dq_quotes. */
union node *lex_word_string(struct parser *p, bool heredoc);

/* lex_next_is_lparen: is the next input character (right after the last token) a '('? */
bool lex_next_is_lparen(void);

/* lex_enter / lex_leave: count nesting; error past PARSE_MAX_DEPTH. */
void lex_enter(struct parser *p);
void lex_leave(struct parser *p);

/* lex_assign_tilde: tilde prefixes in an assignment value (after = and unquoted :),
 * in place. */
void lex_assign_tilde(union node *word);

/* Provided by parse.c for the lexer: parse a command substitution's list from the
 * current input up to and including its `)` (dollar_paren) or all of the current
 * source (backquote text). Returns the tree (NULL when empty). */
union node *parse_subst(struct parser *p, bool dollar_paren);

/* Provided by parse.c: the delimiter of a here-document word (quote removal). */
char *parse_heredoc_delim(union node *word, int *quoted);

#endif
