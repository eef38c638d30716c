/* SPDX-License-Identifier: ISC */
/* Offline policy test (`policyd --test`): decide one described request and print why, without a network. */
#include "policyd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decide.h"
#include "err.h"
#include "policy_load.h"

static void usage(FILE *f)
{
	fputs("usage: policyd --test -f POLICY --user USER [--uid N] [--group GROUP]...\n"
	      "               --host HOST --mode MODE [--command PATH] [--cwd DIR] [--tty TTY]\n"
	      "               [--shell SHELL] [--pid N] [--time 'YYYY-mm-dd HH:MM[:SS]']\n"
	      "               [--uniqueid ID] [-- ARGV...]\n"
	      "MODE is 'shell start', 'shell command', 'shell builtin' or 'shell redirect'.\n"
	      "The first --group is the primary group, later ones supplementary groups.\n"
	      "Exit status: 0 accept, 1 reject, 2 bad policy or usage.\n",
	      f);
}

static int parse_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (end == NULL || *end != '\0') {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d %H:%M", &tm);
	}
	if (end == NULL || *end != '\0')
		return -1;
	tm.tm_isdst = -1;
	*out = mktime(&tm);
	return 0;
}

int pd_test_main(int argc, char **argv)
{
	enum { O_TEST = 256, O_USER, O_UID, O_GROUP, O_HOST, O_MODE, O_COMMAND, O_CWD, O_TTY,
	       O_SHELL, O_PID, O_TIME, O_UNIQUEID };
	static const struct option opts[] = {
		{"test", no_argument, NULL, O_TEST},
		{"file", required_argument, NULL, 'f'},
		{"user", required_argument, NULL, O_USER},
		{"uid", required_argument, NULL, O_UID},
		{"group", required_argument, NULL, O_GROUP},
		{"host", required_argument, NULL, O_HOST},
		{"mode", required_argument, NULL, O_MODE},
		{"command", required_argument, NULL, O_COMMAND},
		{"cwd", required_argument, NULL, O_CWD},
		{"tty", required_argument, NULL, O_TTY},
		{"shell", required_argument, NULL, O_SHELL},
		{"pid", required_argument, NULL, O_PID},
		{"time", required_argument, NULL, O_TIME},
		{"uniqueid", required_argument, NULL, O_UNIQUEID},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *policy = NULL, *mode = NULL;
	const char *groups[256];
	size_t n_groups = 0;
	struct pe_request rq;
	struct pe_policy *p = NULL;
	struct pb_conf_err err;
	struct pe_result res;
	struct pd_decbuf b;
	PolicyDecision d;
	uint32_t matched[1024];
	int c, m, status = 2;

	memset(&rq, 0, sizeof(rq));
	rq.host = rq.user = rq.group = rq.command = rq.cwd = rq.tty = rq.shell = "";
	rq.uid = -1;
	rq.now = time(NULL);
	pd_uniqueid(b.uniqueid);
	rq.uniqueid = b.uniqueid;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case O_TEST:
			break;
		case 'f':
			policy = optarg;
			break;
		case O_USER:
			rq.user = optarg;
			break;
		case O_UID:
			rq.uid = strtoll(optarg, NULL, 10);
			break;
		case O_GROUP:
			if (rq.group[0] == '\0') {
				rq.group = optarg;
			} else if (n_groups < sizeof(groups) / sizeof(groups[0])) {
				groups[n_groups++] = optarg;
			} else {
				fprintf(stderr, "policyd: too many --group options\n");
				return 2;
			}
			break;
		case O_HOST:
			rq.host = optarg;
			break;
		case O_MODE:
			mode = optarg;
			break;
		case O_COMMAND:
			rq.command = optarg;
			break;
		case O_CWD:
			rq.cwd = optarg;
			break;
		case O_TTY:
			rq.tty = optarg;
			break;
		case O_SHELL:
			rq.shell = optarg;
			break;
		case O_PID:
			rq.pid = strtoll(optarg, NULL, 10);
			break;
		case O_TIME:
			if (parse_time(optarg, &rq.now) < 0) {
				fprintf(stderr, "policyd: --time '%s': expected 'YYYY-mm-dd HH:MM[:SS]'\n",
					optarg);
				return 2;
			}
			break;
		case O_UNIQUEID:
			rq.uniqueid = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (policy == NULL || mode == NULL || rq.user[0] == '\0' || rq.host[0] == '\0') {
		fprintf(stderr, "policyd: --test needs -f POLICY, --user, --host and --mode\n");
		usage(stderr);
		return 2;
	}
	m = pe_mode_parse(mode);
	if (m < 0) {
		fprintf(stderr,
			"policyd: --mode '%s': expected 'shell start', 'shell command', 'shell builtin' or 'shell redirect'\n",
			mode);
		return 2;
	}
	rq.mode = (enum pe_mode)m;
	rq.groups = groups;
	rq.n_groups = n_groups;
	rq.argv = (const char *const *)(argv + optind);
	rq.argc = (size_t)(argc - optind);
	if (rq.mode == PE_MODE_START && rq.shell[0] == '\0')
		rq.shell = rq.command;
	if (rq.mode == PE_MODE_REDIRECT &&
	    (rq.command[0] != '\0' || rq.argc != 2 ||
	     (strcmp(rq.argv[0], "shell redirect read") != 0 &&
	      strcmp(rq.argv[0], "shell redirect write") != 0))) {
		fprintf(stderr, "policyd: a 'shell redirect' request has no --command and the argv "
				"'shell redirect read|write' PATH\n");
		return 2;
	}
	int rc = pd_policy_load(policy, &p, &err);
	if (rc < 0) {
		fprintf(stderr, "policyd: %s\n", err.msg);
		return 2;
	}
	memset(&res, 0, sizeof(res));
	res.matched = matched;
	res.matched_cap = sizeof(matched) / sizeof(matched[0]);
	pe_eval(p, &rq, &res);
	pd_decision_fill(p, &rq, &res, &d, &b);
	pd_decision_print(stdout, p, &res, &d);
	status = d.accept ? 0 : 1;
	pe_policy_free(p);
	return fflush(stdout) == 0 ? status : 2;
}
