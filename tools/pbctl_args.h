/* SPDX-License-Identifier: ISC */
/* pbctl's command line: global options, hosts, one sub-command and its options, checked in one place. */
#ifndef PB_TOOLS_PBCTL_ARGS_H
#define PB_TOOLS_PBCTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses (man/pbctl.8, EXIT STATUS). */
enum {
	PBCTL_EXIT_OK = 0,	  /* every daemon did what was asked */
	PBCTL_EXIT_FAIL = 1,	  /* at least one refused, failed or (except status) was not running */
	PBCTL_EXIT_USAGE = 2,	  /* bad arguments or an unreadable configuration */
	PBCTL_EXIT_NOTRUNNING = 3, /* status: some daemon NOTRUNNING, none FAILED */
};

enum pbctl_cmd {
	PBCTL_STATUS,
	PBCTL_START,
	PBCTL_STOP,
	PBCTL_RELOAD,
	PBCTL_ENABLE,
	PBCTL_DISABLE,
	PBCTL_TRACE,
	PBCTL_SESSIONS,
	PBCTL_KILL_SESSION,
	PBCTL_FORWARD,	/* DESIGN §9: ship this host's spool to a log server */
};

/* Which daemons a command is about (bits). */
enum {
	PBCTL_POLICYD = 1u << 0,
	PBCTL_LOGD = 1u << 1,
};

/* One -h operand: "host", "host:port", "[v6]:port". */
struct pbctl_host {
	char host[256];
	char port[12];	/* "" when none was given: the port from pbsh.yaml */
	const char *text; /* as given (points into argv) */
};

struct pbctl_args {
	const char *config;	/* -f; NULL: the default pbsh.yaml */
	const char *sbindir;	/* --sbindir: where start finds the daemons; NULL: compiled-in */
	struct pbctl_host *hosts; /* -h; n_hosts 0: the local host */
	size_t n_hosts;
	enum pbctl_cmd cmd;
	const char *cmd_name;
	unsigned daemons;	/* PBCTL_POLICYD | PBCTL_LOGD */
	bool daemon_named;	/* a daemon operand was given */
	bool lng;		/* -l */
	bool force;		/* stop -f */
	bool cancel;		/* stop --cancel */
	bool timeout_set;
	unsigned timeout_s;	/* stop -t */
	const char *spec;	/* trace SPEC */
	uint64_t session_id;	/* kill-session ID */
	const char *reason;	/* kill-session -m */
	bool help;		/* --help: print usage, exit 0 */
};

/*
 * pbctl_parse_args: parse argv into a (argv must outlive a). Returns 0, or
 * -1 with a one-line reason in err (the caller prints it and the usage and
 * exits PBCTL_EXIT_USAGE). a->hosts is malloc'd: pbctl_args_free.
 */
int pbctl_parse_args(int argc, char **argv, struct pbctl_args *a, char *err, size_t errlen);

/* pbctl_args_free: release what pbctl_parse_args allocated; a may be parsed again. */
void pbctl_args_free(struct pbctl_args *a);

/* pbctl_usage: the usage text (static). */
const char *pbctl_usage(void);

#endif
