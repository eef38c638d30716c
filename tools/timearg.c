/* SPDX-License-Identifier: ISC */
/* Time arguments of the log tools (pblog -S/-U, pbreplay's from/to filters), parsed one way. */
#include "timearg.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

bool tool_parse_time(const char *s, int64_t *out)
{
	char *end;
	if (s[0] == '@') {
		long long v = strtoll(s + 1, &end, 10);
		if (*end != '\0' || end == s + 1)
			return false;
		*out = v;
		return true;
	}
	if (s[0] == '-') {
		long long v = strtoll(s + 1, &end, 10);
		if (end == s + 1 || v < 0)
			return false;
		long long mul = 1;
		switch (*end) {
		case '\0': case 's': break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return false;
		}
		if (*end != '\0' && end[1] != '\0')
			return false;
		*out = (int64_t)time(NULL) - v * mul;
		return true;
	}
	static const char *const fmts[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
					   "%Y-%m-%d"};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *e = strptime(s, fmts[i], &tm);
		if (e != NULL && *e == '\0') {
			tm.tm_isdst = -1;
			*out = (int64_t)mktime(&tm);
			return true;
		}
	}
	return false;
}
