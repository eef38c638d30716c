/* SPDX-License-Identifier: ISC */
/* Fuzz harness for shell arithmetic: any text must evaluate or fail with a message, never crash or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arith.h"
#include "var.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		char *env[] = {NULL};
		var_init(env);
		ready = 1;
	}
	/* Variables the expressions can read, including one holding an expression and one naming itself. */
	var_set("x", "5", V_NOERR);
	var_set("y", "x*2+1", V_NOERR);
	var_set("self", "self+1", V_NOERR);
	var_set("big", "9223372036854775807", V_NOERR);
	if (size > 4096)
		size = 4096;
	char *expr = malloc(size + 1);
	if (expr == NULL)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	long long v;
	const char *err;
	(void)arith_evaluate(expr, &v, &err);
	free(expr);
	return 0;
}
