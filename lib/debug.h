/* SPDX-License-Identifier: ISC */
/* Debug tracing and daemon logging: levels 1-9 crossed with subsystems; never to a user's stdout. */
#ifndef PB_DEBUG_H
#define PB_DEBUG_H

#include <stdarg.h>
#include <stdbool.h>

/* Subsystems; "all" in a spec sets every one. Add new ones at the end and in debug.c's table. */
enum pb_subsys {
	PB_SS_MAIN,
	PB_SS_CONF,
	PB_SS_TLS,
	PB_SS_NET,
	PB_SS_FRAME,
	PB_SS_PROTO,
	PB_SS_POLICY,
	PB_SS_LOG,
	PB_SS_STORE,
	PB_SS_ADMIN,
	PB_SS_LEX,
	PB_SS_PARSE,
	PB_SS_EXPAND,
	PB_SS_EXEC,
	PB_SS_JOBS,
	PB_SS_GATE,
	PB_SS_MONITOR,
	PB_SS_EDIT,
	PB_SS_COUNT
};

/* Where messages go. */
enum pb_log_dest {
	PB_LOG_STDERR,
	PB_LOG_SYSLOG,
	PB_LOG_FILE,
};

/* Message levels for pb_log: also the minimum level a trace must have to show. */
enum {
	PB_LV_ERROR = 1,
	PB_LV_WARN = 2,
	PB_LV_NOTICE = 3,
	PB_LV_INFO = 4,
	PB_LV_DEBUG = 6,
	PB_LV_TRACE = 9,
};

/*
 * pb_debug_parse: apply a spec such as "3", "tls@5,policy@9" or "all@2"
 * (a bare number sets every subsystem). Returns 0, or PB_ERR_INVAL with
 * *errstr naming the bad part (static storage).
 */
int pb_debug_parse(const char *spec, const char **errstr);

/* pb_debug_level: the current level of one subsystem (0 = off). */
int pb_debug_level(enum pb_subsys ss);

/* pb_debug_set_all: set every subsystem to level. */
void pb_debug_set_all(int level);

/* pb_debug_name: the subsystem's name in specs. */
const char *pb_debug_name(enum pb_subsys ss);

/*
 * pb_log_open: send messages to dest. ident names the program (syslog
 * ident, and the prefix on stderr). For PB_LOG_FILE, path is opened for
 * append with O_CLOEXEC, mode 0600. Returns 0 or PB_ERR_IO (stderr stays in use).
 * Never writes to fd 1.
 */
int pb_log_open(const char *ident, enum pb_log_dest dest, const char *path);

/* pb_log_close: close a log file or syslog; later messages go to stderr. */
void pb_log_close(void);

/* pb_log_fd: the descriptor of the log file, or -1 (so a shell can move it out of the user's way). */
int pb_log_fd(void);

/*
 * pb_log_move_fd: move the log file's descriptor to minfd or above
 * (close-on-exec), so a shell's redirections cannot reach it. Returns 0 (also
 * when there is no log file) or PB_ERR_IO (errno kept; the old fd stays).
 */
int pb_log_move_fd(int minfd);

/* pb_log: a message of a level (PB_LV_*) that is always written when level <= PB_LV_INFO. */
void pb_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pb_vlog(int level, const char *fmt, va_list ap);

/* pb_trace: written only when subsystem ss is at level or above. Use the PB_TRACE macro. */
void pb_trace(enum pb_subsys ss, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define PB_TRACE(ss, lvl, ...)                                  \
	do {                                                        \
		if (pb_debug_level(ss) >= (lvl))                        \
			pb_trace((ss), (lvl), __VA_ARGS__);             \
	} while (0)

/* Conveniences in the OpenBSD style: warn with errno, warn without, die. */
void pb_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pb_log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void pb_fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
