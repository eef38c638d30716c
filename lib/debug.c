/* SPDX-License-Identifier: ISC */
/* Debug levels per subsystem and the one logging path of every program (never the user's stdout). */
#include "debug.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

static const char *const names[PB_SS_COUNT] = {
	[PB_SS_MAIN] = "main",	   [PB_SS_CONF] = "conf",	[PB_SS_TLS] = "tls",
	[PB_SS_NET] = "net",	   [PB_SS_FRAME] = "frame",	[PB_SS_PROTO] = "proto",
	[PB_SS_POLICY] = "policy", [PB_SS_LOG] = "log",		[PB_SS_STORE] = "store",
	[PB_SS_ADMIN] = "admin",   [PB_SS_LEX] = "lex",		[PB_SS_PARSE] = "parse",
	[PB_SS_EXPAND] = "expand", [PB_SS_EXEC] = "exec",	[PB_SS_JOBS] = "jobs",
	[PB_SS_GATE] = "gate",	   [PB_SS_MONITOR] = "monitor", [PB_SS_EDIT] = "edit",
};

static int levels[PB_SS_COUNT];
static enum pb_log_dest dest = PB_LOG_STDERR;
static int log_fd = -1;
static char ident[64] = "pbsh";

const char *pb_debug_name(enum pb_subsys ss)
{
	return (unsigned)ss < PB_SS_COUNT ? names[ss] : "?";
}

int pb_debug_level(enum pb_subsys ss)
{
	return (unsigned)ss < PB_SS_COUNT ? levels[ss] : 0;
}

void pb_debug_set_all(int level)
{
	for (int i = 0; i < PB_SS_COUNT; i++)
		levels[i] = level;
}

static int parse_level(const char *s, size_t n)
{
	if (n != 1 || s[0] < '0' || s[0] > '9')
		return -1;
	return s[0] - '0';
}

int pb_debug_parse(const char *spec, const char **errstr)
{
	int next[PB_SS_COUNT];
	const char *p = spec;

	/* Work on a copy so a bad spec changes nothing. */
	memcpy(next, levels, sizeof(next));
	if (spec == NULL || *spec == '\0') {
		*errstr = "empty debug specification";
		return PB_ERR_INVAL;
	}
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *at = memchr(p, '@', n);
		if (at == NULL) {
			int lv = parse_level(p, n);
			if (lv < 0) {
				*errstr = "debug level must be a digit 0-9, or subsystem@level";
				return PB_ERR_INVAL;
			}
			for (int i = 0; i < PB_SS_COUNT; i++)
				next[i] = lv;
		} else {
			size_t nl = (size_t)(at - p);
			int lv = parse_level(at + 1, n - nl - 1);
			if (lv < 0) {
				*errstr = "debug level after '@' must be a digit 0-9";
				return PB_ERR_INVAL;
			}
			bool found = false;
			for (int i = 0; i < PB_SS_COUNT; i++) {
				if ((nl == 3 && memcmp(p, "all", 3) == 0) ||
				    (strlen(names[i]) == nl && memcmp(names[i], p, nl) == 0)) {
					next[i] = lv;
					found = true;
				}
			}
			if (!found) {
				*errstr = "unknown debug subsystem";
				return PB_ERR_INVAL;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	memcpy(levels, next, sizeof(levels));
	return 0;
}

int pb_log_open(const char *id, enum pb_log_dest d, const char *path)
{
	pb_log_close();
	snprintf(ident, sizeof(ident), "%s", id ? id : "pbsh");
	switch (d) {
	case PB_LOG_SYSLOG:
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
		dest = PB_LOG_SYSLOG;
		return 0;
	case PB_LOG_FILE: {
		int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return PB_ERR_IO;
		/* Keep the log off the standard descriptors a user's command inherits. */
		if (fd <= 2) {
			int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 10);
			close(fd);
			if (nfd < 0)
				return PB_ERR_IO;
			fd = nfd;
		}
		log_fd = fd;
		dest = PB_LOG_FILE;
		return 0;
	}
	case PB_LOG_STDERR:
		dest = PB_LOG_STDERR;
		return 0;
	}
	return PB_ERR_INVAL;
}

void pb_log_close(void)
{
	if (dest == PB_LOG_SYSLOG)
		closelog();
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	dest = PB_LOG_STDERR;
}

int pb_log_fd(void)
{
	return log_fd;
}

int pb_log_move_fd(int minfd)
{
	if (log_fd < 0 || log_fd >= minfd)
		return 0;
	int fd = fcntl(log_fd, F_DUPFD_CLOEXEC, minfd);
	if (fd < 0)
		return PB_ERR_IO;
	close(log_fd);
	log_fd = fd;
	return 0;
}

static const char *level_name(int level)
{
	switch (level) {
	case PB_LV_ERROR: return "error";
	case PB_LV_WARN: return "warning";
	case PB_LV_NOTICE: return "notice";
	case PB_LV_INFO: return "info";
	default: return "debug";
	}
}

static int syslog_prio(int level)
{
	switch (level) {
	case PB_LV_ERROR: return LOG_ERR;
	case PB_LV_WARN: return LOG_WARNING;
	case PB_LV_NOTICE: return LOG_NOTICE;
	case PB_LV_INFO: return LOG_INFO;
	default: return LOG_DEBUG;
	}
}

/* One formatted line, written with a single write(2) so concurrent writers do not interleave. */
static void emit(int level, const char *sub, const char *fmt, va_list ap)
{
	char msg[2048];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (dest == PB_LOG_SYSLOG) {
		if (sub)
			syslog(syslog_prio(level), "[%s] %s", sub, msg);
		else
			syslog(syslog_prio(level), "%s", msg);
		errno = saved;
		return;
	}
	char line[2300];
	int n;
	if (dest == PB_LOG_FILE) {
		struct timespec ts;
		struct tm tm;
		char when[32];
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld] %s%s%s%s: %s\n", when,
			     ts.tv_nsec / 1000000, ident, (long)getpid(), sub ? "[" : "",
			     sub ? sub : "", sub ? "] " : "", level_name(level), msg);
	} else {
		n = snprintf(line, sizeof(line), "%s: %s%s%s%s\n", ident, sub ? "[" : "",
			     sub ? sub : "", sub ? "] " : "",
			     msg);
	}
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	int fd = dest == PB_LOG_FILE ? log_fd : 2;
	ssize_t w;
	do
		w = write(fd, line, (size_t)n);
	while (w < 0 && errno == EINTR);
	errno = saved;
}

void pb_vlog(int level, const char *fmt, va_list ap)
{
	if (level > PB_LV_INFO && pb_debug_level(PB_SS_MAIN) < level)
		return;
	emit(level, NULL, fmt, ap);
}

void pb_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pb_vlog(level, fmt, ap);
	va_end(ap);
}

void pb_trace(enum pb_subsys ss, int level, const char *fmt, ...)
{
	va_list ap;
	if (pb_debug_level(ss) < level)
		return;
	va_start(ap, fmt);
	emit(PB_LV_DEBUG, pb_debug_name(ss), fmt, ap);
	va_end(ap);
}

void pb_log_warn(const char *fmt, ...)
{
	char msg[1800];
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pb_log(PB_LV_WARN, "%s: %s", msg, strerror(saved));
}

void pb_log_warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pb_vlog(PB_LV_WARN, fmt, ap);
	va_end(ap);
}

void pb_fatal(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pb_vlog(PB_LV_ERROR, fmt, ap);
	va_end(ap);
	exit(status);
}
