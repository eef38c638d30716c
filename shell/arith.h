/* SPDX-License-Identifier: ISC */
/* Arithmetic expansion: evaluates an already-expanded expression with the C operators on 64-bit integers. */
#ifndef PB_SH_ARITH_H
#define PB_SH_ARITH_H

/*
 * arith_evaluate: evaluate expr (variables are read and assigned through
 * var.c). Returns 0 and sets *out, or -1 and sets *errmsg to a message in
 * a static buffer that names the expression. Never unwinds, so a fuzzer
 * can call it directly.
 */
int arith_evaluate(const char *expr, long long *out, const char **errmsg);

/* arith_eval: as arith_evaluate, but an error is a shell error (unwinds; exit status 2 in a script). */
long long arith_eval(const char *expr);

#endif
