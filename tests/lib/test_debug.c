/* SPDX-License-Identifier: ISC */
/* Unit tests for lib/debug: specs, levels, file logging. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debug.h"
#include "err.h"

Test(debug, specs)
{
	const char *err = NULL;
	pb_debug_set_all(0);
	cr_assert_eq(pb_debug_parse("3", &err), 0);
	cr_expect_eq(pb_debug_level(PB_SS_TLS), 3);
	cr_assert_eq(pb_debug_parse("tls@5,policy@9", &err), 0);
	cr_expect_eq(pb_debug_level(PB_SS_TLS), 5);
	cr_expect_eq(pb_debug_level(PB_SS_POLICY), 9);
	cr_expect_eq(pb_debug_level(PB_SS_MAIN), 3);
	cr_assert_eq(pb_debug_parse("all@1", &err), 0);
	cr_expect_eq(pb_debug_level(PB_SS_POLICY), 1);
}

Test(debug, bad_specs_change_nothing)
{
	const char *err = NULL;
	pb_debug_set_all(2);
	cr_expect_eq(pb_debug_parse("tls@5,nosuch@3", &err), PB_ERR_INVAL);
	cr_expect_not_null(err);
	cr_expect_eq(pb_debug_level(PB_SS_TLS), 2, "a bad spec must not apply its good part");
	cr_expect_eq(pb_debug_parse("tls@x", &err), PB_ERR_INVAL);
	cr_expect_eq(pb_debug_parse("12", &err), PB_ERR_INVAL);
	cr_expect_eq(pb_debug_parse("", &err), PB_ERR_INVAL);
}

Test(debug, file_log)
{
	char dir[] = "/tmp/pbdebugXXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/trace.log", dir);
	pb_debug_set_all(0);
	const char *err;
	cr_assert_eq(pb_debug_parse("exec@4", &err), 0);
	cr_assert_eq(pb_log_open("unit", PB_LOG_FILE, path), 0);
	cr_expect_gt(pb_log_fd(), 2, "the log must not sit on a standard descriptor");
	PB_TRACE(PB_SS_EXEC, 4, "shown %d", 1);
	PB_TRACE(PB_SS_EXEC, 5, "hidden %d", 2);
	PB_TRACE(PB_SS_TLS, 1, "hidden %d", 3);
	pb_log(PB_LV_WARN, "warned");
	pb_log_close();
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f);
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	cr_expect_not_null(strstr(buf, "[exec] debug: shown 1"), "log was: %s", buf);
	cr_expect_null(strstr(buf, "hidden"));
	cr_expect_not_null(strstr(buf, "warning: warned"));
	unlink(path);
	rmdir(dir);
}
