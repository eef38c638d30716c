/* SPDX-License-Identifier: ISC */
/* Builtins about the process: times, umask, ulimit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <unistd.h>

#include "builtin.h"
#include "shell.h"

static void put_time(clock_t t, long hz)
{
	double s = (double)t / (double)hz;
	int m = (int)(s / 60);
	out_printf("%dm%.2fs", m, s - 60.0 * m);
}

int c_times(int argc, char **argv)
{
	struct tms t;
	long hz = sysconf(_SC_CLK_TCK);
	times(&t);
	put_time(t.tms_utime, hz);
	out_char(' ');
	put_time(t.tms_stime, hz);
	out_char('\n');
	put_time(t.tms_cutime, hz);
	out_char(' ');
	put_time(t.tms_cstime, hz);
	out_char('\n');
	return 0;
}

/* Apply a symbolic mode such as u=rwx,g+w,o-x to the mask (bits set = permissions denied). */
static int symbolic_umask(const char *s, mode_t *mask)
{
	mode_t perm = ~*mask & 0777;
	while (*s) {
		mode_t who = 0;
		for (; *s && strchr("ugoa", *s); s++)
			who |= *s == 'u' ? 0700 : *s == 'g' ? 070 : *s == 'o' ? 07 : 0777;
		if (who == 0)
			who = 0777;
		if (!*s || !strchr("+-=", *s))
			return -1;
		while (*s && strchr("+-=", *s)) {
			char op = *s++;
			mode_t bits = 0;
			for (; *s && strchr("rwxXst", *s); s++) {
				if (*s == 'r')
					bits |= 0444;
				else if (*s == 'w')
					bits |= 0222;
				else if (*s == 'x' || *s == 'X')
					bits |= 0111;
			}
			/* Permissions named by another class (u=g) are not supported by POSIX umask either. */
			bits &= who;
			if (op == '+')
				perm |= bits;
			else if (op == '-')
				perm &= ~bits;
			else
				perm = (perm & ~who) | bits;
		}
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	*mask = ~perm & 0777;
	return 0;
}

int c_umask(int argc, char **argv)
{
	bool sym = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-S") == 0)
			sym = true;
		else {
			sh_warnf("umask: %s: bad option", argv[i]);
			return 2;
		}
	}
	mode_t mask = umask(0);
	umask(mask);
	if (i >= argc) {
		if (sym) {
			mode_t p = ~mask & 0777;
			const char *who = "ugo";
			for (int k = 0; k < 3; k++) {
				mode_t b = (p >> (6 - 3 * k)) & 7;
				out_printf("%s%c=%s%s%s", k ? "," : "", who[k], (b & 4) ? "r" : "", (b & 2) ? "w" : "", (b & 1) ? "x" : "");
			}
			out_char('\n');
		} else {
			out_printf("%04o\n", (unsigned)mask);
		}
		return 0;
	}
	const char *m = argv[i];
	if (m[0] >= '0' && m[0] <= '7') {
		char *end;
		long v = strtol(m, &end, 8);
		if (*end || v > 0777) {
			sh_warnf("umask: %s: bad mask", m);
			return 1;
		}
		mask = (mode_t)v;
	} else if (symbolic_umask(m, &mask) < 0) {
		sh_warnf("umask: %s: bad mask", m);
		return 1;
	}
	umask(mask);
	return 0;
}

static const struct {
	char opt;
	int res;
	int unit;          /* bytes per unit of the value shown */
	const char *desc;
} limits[] = {
	{'t', RLIMIT_CPU, 1, "time(seconds)"},
	{'f', RLIMIT_FSIZE, 512, "file(blocks)"},
	{'d', RLIMIT_DATA, 1024, "data(kbytes)"},
	{'s', RLIMIT_STACK, 1024, "stack(kbytes)"},
	{'c', RLIMIT_CORE, 512, "coredump(blocks)"},
#ifdef RLIMIT_RSS
	{'m', RLIMIT_RSS, 1024, "memory(kbytes)"},
#endif
#ifdef RLIMIT_MEMLOCK
	{'l', RLIMIT_MEMLOCK, 1024, "locked memory(kbytes)"},
#endif
#ifdef RLIMIT_NPROC
	{'u', RLIMIT_NPROC, 1, "process"},
#endif
	{'n', RLIMIT_NOFILE, 1, "nofiles"},
	{'v', RLIMIT_AS, 1024, "vmemory(kbytes)"},
#ifdef RLIMIT_LOCKS
	{'w', RLIMIT_LOCKS, 1, "locks"},
#endif
#ifdef RLIMIT_RTPRIO
	{'r', RLIMIT_RTPRIO, 1, "rtprio"},
#endif
};

static void print_limit(rlim_t v, int unit)
{
	if (v == RLIM_INFINITY)
		out_str("unlimited\n");
	else
		out_printf("%llu\n", (unsigned long long)(v / (rlim_t)unit));
}

int c_ulimit(int argc, char **argv)
{
	bool hard = false, soft = false, all = false;
	int which = -1;
	int i = 1;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		for (const char *p = argv[i] + 1; *p; p++) {
			if (*p == 'H')
				hard = true;
			else if (*p == 'S')
				soft = true;
			else if (*p == 'a')
				all = true;
			else {
				int k = -1;
				for (size_t n = 0; n < sizeof limits / sizeof limits[0]; n++)
					if (limits[n].opt == *p)
						k = (int)n;
				if (k < 0) {
					sh_warnf("ulimit: -%c: bad option", *p);
					return 2;
				}
				which = k;
			}
		}
	}
	if (which < 0)
		which = 1; /* -f */
	if (all) {
		for (size_t n = 0; n < sizeof limits / sizeof limits[0]; n++) {
			struct rlimit rl;
			getrlimit(limits[n].res, &rl);
			out_printf("-%c: %-24s", limits[n].opt, limits[n].desc);
			print_limit(hard ? rl.rlim_max : rl.rlim_cur, limits[n].unit);
		}
		return 0;
	}
	struct rlimit rl;
	if (getrlimit(limits[which].res, &rl) < 0) {
		sh_warnf("ulimit: %s", strerror(errno));
		return 1;
	}
	if (i >= argc) {
		print_limit(hard ? rl.rlim_max : rl.rlim_cur, limits[which].unit);
		return 0;
	}
	rlim_t v;
	if (strcmp(argv[i], "unlimited") == 0) {
		v = RLIM_INFINITY;
	} else {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(argv[i], &end, 10);
		if (*end || errno || argv[i][0] == '-' || argv[i][0] == '\0') {
			sh_warnf("ulimit: %s: bad number", argv[i]);
			return 1;
		}
		v = (rlim_t)n * (rlim_t)limits[which].unit;
	}
	/* Neither -H nor -S sets both, as POSIX says. */
	if (hard || !soft)
		rl.rlim_max = v;
	if (soft || !hard)
		rl.rlim_cur = v;
	if (setrlimit(limits[which].res, &rl) < 0) {
		sh_warnf("ulimit: %s", strerror(errno));
		return 1;
	}
	return 0;
}
