/* SPDX-License-Identifier: ISC */
/* Time arguments of the log tools. */
#ifndef PB_TOOLS_TIMEARG_H
#define PB_TOOLS_TIMEARG_H

#include <stdbool.h>
#include <stdint.h>

/*
 * tool_parse_time: "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]", "YYYY-MM-DDTHH:MM:SS"
 * (local time), "@epoch" seconds, or "-N[smhd]" (that long before now) into
 * *out as epoch seconds. Returns false, leaving *out alone, for anything else.
 */
bool tool_parse_time(const char *s, int64_t *out);

#endif
