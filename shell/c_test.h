/* SPDX-License-Identifier: ISC */
/* test / [: the primaries, exposed so the ksh [[ ]] evaluator can share them. */
#ifndef PB_SH_C_TEST_H
#define PB_SH_C_TEST_H

#include <stdbool.h>

/* test_unary_op: is op ("-f", "-z"...) a unary primary? */
bool test_unary_op(const char *op);
/* test_binary_op: is op ("=", "-eq", "-nt"...) a binary primary? */
bool test_binary_op(const char *op);
/*
 * test_unary / test_binary: evaluate one primary. Integer operands that
 * are not integers set *err (after a message naming who) and return false.
 */
bool test_unary(const char *who, const char *op, const char *arg, bool *err);
bool test_binary(const char *who, const char *l, const char *op, const char *r, bool *err);

int c_test(int argc, char **argv);

#endif
