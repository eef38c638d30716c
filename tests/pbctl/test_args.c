/* SPDX-License-Identifier: ISC */
/* Unit tests of pbctl's command line: hosts, sub-commands, their options and the refusals. */
#include <criterion/criterion.h>
#include <string.h>

#include "pbctl_args.h"

static char err[256];

/* Parse a NULL-terminated list of words after "pbctl". */
static int parse(struct pbctl_args *a, const char *const *words)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)"pbctl";
	for (; *words != NULL; words++)
		argv[argc++] = (char *)*words;
	argv[argc] = NULL;
	return pbctl_parse_args(argc, argv, a, err, sizeof(err));
}

#define PARSE(a, ...) parse((a), (const char *const[]){__VA_ARGS__, NULL})

Test(args, status_defaults_to_both_daemons_on_the_local_host)
{
	struct pbctl_args a;
	cr_assert_eq(PARSE(&a, "status"), 0, "%s", err);
	cr_assert_eq(a.cmd, PBCTL_STATUS);
	cr_assert_eq(a.daemons, PBCTL_POLICYD | PBCTL_LOGD);
	cr_assert_eq(a.n_hosts, 0);
	cr_assert_not(a.lng);
	cr_assert_null(a.config);
	pbctl_args_free(&a);
}

Test(args, config_hosts_long_and_daemon)
{
	struct pbctl_args a;
	cr_assert_eq(PARSE(&a, "-f", "/x/pbsh.yaml", "-h", "alpha", "beta:7714", "[::1]:99", "::1", "status",
			   "-l", "logd"), 0, "%s", err);
	cr_assert_str_eq(a.config, "/x/pbsh.yaml");
	cr_assert_eq(a.n_hosts, 4);
	cr_assert_str_eq(a.hosts[0].host, "alpha");
	cr_assert_str_eq(a.hosts[0].port, "");
	cr_assert_str_eq(a.hosts[1].host, "beta");
	cr_assert_str_eq(a.hosts[1].port, "7714");
	cr_assert_str_eq(a.hosts[2].host, "::1");
	cr_assert_str_eq(a.hosts[2].port, "99");
	cr_assert_str_eq(a.hosts[3].host, "::1");
	cr_assert_str_eq(a.hosts[3].port, "");
	cr_assert(a.lng);
	cr_assert_eq(a.daemons, PBCTL_LOGD);
	cr_assert(a.daemon_named);
	pbctl_args_free(&a);
}

Test(args, repeated_h_and_attached_values)
{
	struct pbctl_args a;
	cr_assert_eq(PARSE(&a, "-fconf.yaml", "--sbindir=/opt/sbin", "-h", "a", "-h", "b", "reload"), 0, "%s", err);
	cr_assert_str_eq(a.config, "conf.yaml");
	cr_assert_str_eq(a.sbindir, "/opt/sbin");
	cr_assert_eq(a.n_hosts, 2);
	cr_assert_eq(a.cmd, PBCTL_RELOAD);
	pbctl_args_free(&a);
}

Test(args, stop_modes)
{
	struct pbctl_args a;
	cr_assert_eq(PARSE(&a, "stop", "-t", "30", "policyd"), 0, "%s", err);
	cr_assert(a.timeout_set);
	cr_assert_eq(a.timeout_s, 30);
	cr_assert_not(a.force);
	cr_assert_eq(a.daemons, PBCTL_POLICYD);
	pbctl_args_free(&a);
	cr_assert_eq(PARSE(&a, "stop", "-f"), 0, "%s", err);
	cr_assert(a.force);
	pbctl_args_free(&a);
	cr_assert_eq(PARSE(&a, "stop", "--cancel", "-t5"), 0, "%s", err);
	cr_assert(a.cancel);
	cr_assert_eq(a.timeout_s, 5);
	pbctl_args_free(&a);
}

Test(args, trace_and_kill_session_operands)
{
	struct pbctl_args a;
	cr_assert_eq(PARSE(&a, "trace", "policy@9,tls@3", "policyd"), 0, "%s", err);
	cr_assert_str_eq(a.spec, "policy@9,tls@3");
	cr_assert_eq(a.daemons, PBCTL_POLICYD);
	pbctl_args_free(&a);
	cr_assert_eq(PARSE(&a, "kill-session", "-m", "maintenance window", "17"), 0, "%s", err);
	cr_assert_eq(a.session_id, 17);
	cr_assert_str_eq(a.reason, "maintenance window");
	cr_assert_eq(a.daemons, PBCTL_POLICYD, "a session is policyd's unless logd is named");
	pbctl_args_free(&a);
	cr_assert_eq(PARSE(&a, "-h", "web1", "kill-session", "4", "logd"), 0, "%s", err);
	cr_assert_eq(a.daemons, PBCTL_LOGD);
	pbctl_args_free(&a);
}

Test(args, help)
{
	struct pbctl_args a;
	cr_assert_eq(PARSE(&a, "--help"), 0, "%s", err);
	cr_assert(a.help);
	pbctl_args_free(&a);
	cr_assert_not_null(strstr(pbctl_usage(), "kill-session"));
}

/* Each of these is refused with a message containing the given text. */
static const struct {
	const char *words[8];
	const char *want;
} bad[] = {
	{{NULL}, "no command"},
	{{"frobnicate"}, "unknown command"},
	{{"-x", "status"}, "unknown option -x"},
	{{"-h", "status"}, "at least one HOST"},
	{{"-h", "a:0", "status", "policyd"}, "bad port"},
	{{"-h", "a:70000", "status", "policyd"}, "bad port"},
	{{"-h", "[::1", "status", "policyd"}, "bad address"},
	{{"-h", "a:7714", "status"}, "name the daemon"},
	{{"status", "-f"}, "unknown option -f"},
	{{"status", "nfsd"}, "unexpected argument"},
	{{"status", "policyd", "logd"}, "unexpected argument"},
	{{"stop", "-f", "--cancel"}, "exclude"},
	{{"stop", "-f", "-t", "3"}, "no meaning"},
	{{"stop", "-t", "soon"}, "want seconds"},
	{{"stop", "-t"}, "needs a value"},
	{{"-h", "x", "start"}, "local host only"},
	{{"-h", "x", "stop", "--cancel"}, "local host only"},
	{{"trace"}, "needs a SPEC"},
	{{"kill-session"}, "needs a session ID"},
	{{"kill-session", "0"}, "not a session id"},
	{{"kill-session", "12x"}, "not a session id"},
	{{"-h", "a", "b", "kill-session", "3"}, "one host"},
	{{"-f"}, "needs a value"},
	{{"forward", "logd"}, "unexpected argument"},
	{{"-h", "x", "forward"}, "local host only"},
	{{"forward", "-l"}, "unknown option -l"},
};

Test(args, forward_is_local_and_about_no_daemon)
{
	struct pbctl_args a;
	cr_assert_eq(PARSE(&a, "-f", "/etc/x.yaml", "forward"), 0, "%s", err);
	cr_assert_eq(a.cmd, PBCTL_FORWARD);
	cr_assert_eq(a.daemons, 0);
	cr_assert_eq(a.n_hosts, 0);
	cr_assert_str_eq(a.config, "/etc/x.yaml");
	pbctl_args_free(&a);
}

Test(args, refusals)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pbctl_args a;
		cr_expect_eq(parse(&a, bad[i].words), -1, "case %zu accepted", i);
		cr_expect_not_null(strstr(err, bad[i].want), "case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].want);
		pbctl_args_free(&a);
	}
}
