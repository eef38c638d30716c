/* SPDX-License-Identifier: ISC */
/* pbsh-monitor: the session monitor a governed pbksh/pbsh starts (DESIGN §8): arguments,
 * environment, signals, then the session. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "debug.h"
#include "err.h"
#include "mon.h"

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: pbsh-monitor --config FILE --shell-pid PID [--adopt] [--debug SPEC]\n"
	                "(started by pbksh and pbsh with their channels on descriptors 3 and 4)\n");
	exit(2);
}

/* is_socket: fd is an open socket (the channels the shell passed). */
static int is_socket(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"shell-pid", required_argument, NULL, 'p'},
	    {"debug", required_argument, NULL, 'd'},
	    {"adopt", no_argument, NULL, 'a'},
	    {NULL, 0, NULL, 0},
	};
	struct mon_args a = {.root_fd = 3, .factory_fd = 4};
	const char *debug = NULL, *errstr = NULL;
	struct pb_conf *conf = NULL;
	struct pb_conf_err cerr;
	int c, raise_sig = 0;

	/* Nothing is taken from the environment: the shell gives an empty one, and we make sure. */
	clearenv();
	umask(077);
	(void)pb_log_open("pbsh-monitor", PB_LOG_STDERR, NULL);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a.config = optarg;
			break;
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end != '\0' || v <= 1)
				usage();
			a.shell_pid = (pid_t)v;
			break;
		}
		case 'd':
			debug = optarg;
			break;
		case 'a':
			a.adopt = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || a.shell_pid == 0)
		usage();
	if (debug != NULL && pb_debug_parse(debug, &errstr) < 0)
		pb_fatal(2, "--debug: %s", errstr);
	a.debug = debug != NULL;
	if (!is_socket(a.root_fd) || !is_socket(a.factory_fd))
		pb_fatal(2, "descriptors 3 and 4 must be the session's channels");
	/* Programs the shell runs never inherit a channel (DESIGN §8); neither do our helpers. */
	for (int fd = 3; fd <= 4; fd++)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	/* The terminal's keyboard signals are the shell's business; the monitor stays. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	if (pb_conf_load(a.config, &conf, &cerr) < 0) {
		/* The channel closes with us: the shell reads EOF and refuses to start. */
		pb_log(PB_LV_ERROR, "%s", cerr.msg);
		exit(1);
	}
	/* Every subshell's channel is a descriptor here. */
	(void)pb_daemon_raise_nofile();
	int status = mon_run(&a, conf, &raise_sig);
	pb_conf_free(conf);
	if (raise_sig > 0) {
		/* End the way the shell ended, so its parent sees the same signal. */
		signal(raise_sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, raise_sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(raise_sig);
	}
	return status;
}
