/* SPDX-License-Identifier: ISC */
/* pbctl's command line: global options, hosts, one sub-command and its options, checked in one place. */
#include "pbctl_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What each sub-command accepts (bits). */
enum {
	A_LONG = 1u << 0,   /* -l */
	A_STOP = 1u << 1,   /* -f, --cancel, -t */
	A_SPEC = 1u << 2,   /* a required first operand: trace SPEC */
	A_ID = 1u << 3,	    /* a required first operand: kill-session ID, and -m */
	A_LOCAL = 1u << 4,  /* the local host only */
	A_ONEHOST = 1u << 5, /* at most one host */
	A_NODAEMON = 1u << 6, /* about no daemon: a daemon operand is an error */
};

static const struct {
	const char *name;
	enum pbctl_cmd cmd;
	unsigned accepts;
	unsigned daemons; /* the default when no daemon is named */
} commands[] = {
	{"status", PBCTL_STATUS, A_LONG, PBCTL_POLICYD | PBCTL_LOGD},
	{"start", PBCTL_START, A_LOCAL, PBCTL_POLICYD | PBCTL_LOGD},
	{"stop", PBCTL_STOP, A_STOP, PBCTL_POLICYD | PBCTL_LOGD},
	{"reload", PBCTL_RELOAD, 0, PBCTL_POLICYD | PBCTL_LOGD},
	{"enable", PBCTL_ENABLE, 0, PBCTL_POLICYD | PBCTL_LOGD},
	{"disable", PBCTL_DISABLE, 0, PBCTL_POLICYD | PBCTL_LOGD},
	{"trace", PBCTL_TRACE, A_SPEC, PBCTL_POLICYD | PBCTL_LOGD},
	{"sessions", PBCTL_SESSIONS, A_LONG, PBCTL_POLICYD | PBCTL_LOGD},
	/* A session id belongs to one daemon on one host; policyd's session is the shell's. */
	{"kill-session", PBCTL_KILL_SESSION, A_ID | A_ONEHOST, PBCTL_POLICYD},
	/* The spool is this host's; the log server it goes to comes from logservers. */
	{"forward", PBCTL_FORWARD, A_LOCAL | A_NODAEMON, 0},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

const char *pbctl_usage(void)
{
	return "usage: pbctl [-f CONFIG] [--sbindir DIR] [-h HOST[:PORT]...] COMMAND [ARGS]\n"
	       "commands (DAEMON is policyd or logd; without it, both):\n"
	       "  status [-l] [DAEMON]                     state and pid; -l: everything the daemon reports\n"
	       "  start [DAEMON]                           start on this host (systemd unit, else the binary)\n"
	       "  stop [-f | --cancel] [-t SECS] [DAEMON]  let sessions end (at most SECS), then exit;\n"
	       "                                           -f: exit now; --cancel: TERM, KILL after SECS\n"
	       "  reload | enable | disable [DAEMON]\n"
	       "  trace SPEC [DAEMON]                      debug tracing (\"0\", \"5\", \"policy@9,tls@3\")\n"
	       "  sessions [-l] [DAEMON]                   the sessions connected now\n"
	       "  kill-session [-m REASON] ID [DAEMON]     end one session (default daemon: policyd)\n"
	       "  forward                                  send this host's spooled logs to a log server\n";
}

static int err_out(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int err_out(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;
	if (s == NULL || s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

/* "host", "host:port", "[v6]", "[v6]:port", or a bare IPv6 address (more than one colon). */
static int parse_host(const char *s, struct pbctl_host *h, char *err, size_t errlen)
{
	const char *host = s, *port = NULL;
	size_t hlen;
	unsigned long long pn;

	memset(h, 0, sizeof(*h));
	h->text = s;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return err_out(err, errlen, "-h %s: bad address (want [IPv6]:PORT)", s);
		host = s + 1;
		hlen = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
	} else {
		const char *colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			hlen = (size_t)(colon - s);
			port = colon + 1;
		} else {
			hlen = strlen(s);
		}
	}
	if (hlen == 0 || hlen >= sizeof(h->host))
		return err_out(err, errlen, "-h %s: empty or too long host name", s);
	memcpy(h->host, host, hlen);
	h->host[hlen] = '\0';
	if (port != NULL) {
		if (!parse_uint(port, 65535, &pn) || pn == 0)
			return err_out(err, errlen, "-h %s: bad port \"%s\" (want 1-65535)", s, port);
		snprintf(h->port, sizeof(h->port), "%u", (unsigned)(pn & 0xffff));
	}
	return 0;
}

static int daemon_bit(const char *s)
{
	if (strcmp(s, "policyd") == 0)
		return PBCTL_POLICYD;
	if (strcmp(s, "logd") == 0)
		return PBCTL_LOGD;
	return 0;
}

/* The value of an option: "-xVALUE" or "-x VALUE" (also "--long=VALUE" / "--long VALUE"). */
static const char *opt_value(int argc, char **argv, int *i, size_t namelen, char *err, size_t errlen)
{
	const char *a = argv[*i];
	if (a[namelen] == '=' && a[1] == '-')
		return a + namelen + 1;
	if (a[namelen] != '\0' && a[1] != '-')
		return a + namelen;
	if (*i + 1 >= argc) {
		err_out(err, errlen, "option %.*s needs a value", (int)namelen, a);
		return NULL;
	}
	return argv[++*i];
}

static bool is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return false;
	/* "-f" also matches "-fFILE"; "--sbindir" also matches "--sbindir=DIR". */
	return a[n] == '\0' || (name[1] != '-' && n == 2) || a[n] == '=';
}

static int parse_global(int argc, char **argv, struct pbctl_args *a, int *ip, char *err, size_t errlen)
{
	int i = *ip;
	for (; i < argc; i++) {
		const char *s = argv[i];
		if (strcmp(s, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(s, "--help") == 0) {
			a->help = true;
			continue;
		}
		if (s[0] != '-' || s[1] == '\0')
			break;
		if (is_opt(s, "-f")) {
			if ((a->config = opt_value(argc, argv, &i, 2, err, errlen)) == NULL)
				return -1;
		} else if (is_opt(s, "--sbindir")) {
			if ((a->sbindir = opt_value(argc, argv, &i, 9, err, errlen)) == NULL)
				return -1;
		} else if (strcmp(s, "-h") == 0) {
			size_t start = a->n_hosts;
			/* Hosts follow until an option or a command name. */
			while (i + 1 < argc && argv[i + 1][0] != '-' && find_command(argv[i + 1]) < 0) {
				struct pbctl_host *nh = realloc(a->hosts, (a->n_hosts + 1) * sizeof(*nh));
				if (nh == NULL)
					return err_out(err, errlen, "out of memory");
				a->hosts = nh;
				if (parse_host(argv[++i], &a->hosts[a->n_hosts], err, errlen) < 0)
					return -1;
				a->n_hosts++;
			}
			if (a->n_hosts == start)
				return err_out(err, errlen, "-h needs at least one HOST[:PORT]");
		} else {
			return err_out(err, errlen, "unknown option %s", s);
		}
	}
	*ip = i;
	return 0;
}

int pbctl_parse_args(int argc, char **argv, struct pbctl_args *a, char *err, size_t errlen)
{
	int i = 1, ci;
	unsigned acc;
	bool have_first = false;
	unsigned long long v;

	memset(a, 0, sizeof(*a));
	err[0] = '\0';
	if (parse_global(argc, argv, a, &i, err, errlen) < 0)
		return -1;
	if (i >= argc) {
		if (a->help)
			return 0;
		return err_out(err, errlen, "no command given");
	}
	ci = find_command(argv[i]);
	if (ci < 0)
		return err_out(err, errlen, "unknown command \"%s\"", argv[i]);
	a->cmd = commands[ci].cmd;
	a->cmd_name = commands[ci].name;
	acc = commands[ci].accepts;
	a->daemons = commands[ci].daemons;
	for (i++; i < argc; i++) {
		const char *s = argv[i];
		if (strcmp(s, "-l") == 0 && (acc & A_LONG)) {
			a->lng = true;
		} else if (strcmp(s, "-f") == 0 && (acc & A_STOP)) {
			a->force = true;
		} else if (strcmp(s, "--cancel") == 0 && (acc & A_STOP)) {
			a->cancel = true;
		} else if (is_opt(s, "-t") && (acc & A_STOP)) {
			const char *t = opt_value(argc, argv, &i, 2, err, errlen);
			if (t == NULL)
				return -1;
			if (!parse_uint(t, 86400, &v))
				return err_out(err, errlen, "stop -t \"%s\": want seconds, 0-86400", t);
			a->timeout_s = (unsigned)v;
			a->timeout_set = true;
		} else if (is_opt(s, "-m") && (acc & A_ID)) {
			if ((a->reason = opt_value(argc, argv, &i, 2, err, errlen)) == NULL)
				return -1;
		} else if (strcmp(s, "--help") == 0) {
			a->help = true;
		} else if (s[0] == '-' && s[1] != '\0' && !((acc & A_SPEC) && !have_first)) {
			return err_out(err, errlen, "%s: unknown option %s", a->cmd_name, s);
		} else if ((acc & (A_SPEC | A_ID)) && !have_first) {
			have_first = true;
			if (acc & A_SPEC) {
				a->spec = s;
			} else {
				if (!parse_uint(s, UINT64_MAX, &v) || v == 0)
					return err_out(err, errlen, "kill-session: \"%s\" is not a session id (a number from pbctl sessions)", s);
				a->session_id = v;
			}
		} else if (daemon_bit(s) != 0 && !a->daemon_named && !(acc & A_NODAEMON)) {
			a->daemons = (unsigned)daemon_bit(s);
			a->daemon_named = true;
		} else {
			return err_out(err, errlen, "%s: unexpected argument \"%s\"", a->cmd_name, s);
		}
	}
	if (a->help)
		return 0;
	if ((acc & (A_SPEC | A_ID)) && !have_first)
		return err_out(err, errlen, "%s needs %s", a->cmd_name, (acc & A_SPEC) ? "a SPEC" : "a session ID");
	if (a->force && a->cancel)
		return err_out(err, errlen, "stop: -f and --cancel exclude each other");
	if (a->force && a->timeout_set)
		return err_out(err, errlen, "stop: -t has no meaning with -f");
	if (((acc & A_LOCAL) || a->cancel) && a->n_hosts > 0)
		return err_out(err, errlen, "%s acts on the local host only: no -h",
			       a->cancel ? "stop --cancel" : a->cmd_name);
	if ((acc & A_ONEHOST) && a->n_hosts > 1)
		return err_out(err, errlen, "%s: a session id belongs to one host: give one -h HOST", a->cmd_name);
	if (a->daemons == (PBCTL_POLICYD | PBCTL_LOGD))
		for (size_t h = 0; h < a->n_hosts; h++)
			if (a->hosts[h].port[0] != '\0')
				return err_out(err, errlen,
					       "-h %s gives a port: name the daemon (policyd or logd) it belongs to",
					       a->hosts[h].text);
	return 0;
}

void pbctl_args_free(struct pbctl_args *a)
{
	free(a->hosts);
	a->hosts = NULL;
	a->n_hosts = 0;
}
