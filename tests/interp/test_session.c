/* SPDX-License-Identifier: ISC */
/* Unit tests of the governed session's local decisions: list precedence and the --debug directory rule. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gate.h"
#include "policy.h"
#include "session.h"

static PolicyDecision lists(char **allowed, size_t na, char **forbidden, size_t nf)
{
	PolicyDecision d = POLICY_DECISION__INIT;
	d.shellallowedcommands = allowed;
	d.n_shellallowedcommands = na;
	d.shellforbiddencommands = forbidden;
	d.n_shellforbiddencommands = nf;
	return d;
}

Test(lists, exact_before_pattern_allowed_before_forbidden)
{
	char *allowed[] = {"/usr/bin/true", "/usr/bin/e*"};
	char *forbidden[] = {"/usr/bin/echo", "/usr/bin/*", "/usr/bin/true"};
	PolicyDecision d = lists(allowed, 2, forbidden, 3);
	cr_expect_eq(policy_lists_decide(&d, "/usr/bin/true"), GATE_ALLOW, "exact allowed beats exact forbidden");
	cr_expect_eq(policy_lists_decide(&d, "/usr/bin/echo"), GATE_DENY, "exact forbidden beats an allowed pattern");
	cr_expect_eq(policy_lists_decide(&d, "/usr/bin/env"), GATE_ALLOW, "allowed pattern beats forbidden pattern");
	cr_expect_eq(policy_lists_decide(&d, "/usr/bin/ls"), GATE_DENY, "a forbidden pattern");
	cr_expect_eq(policy_lists_decide(&d, "/usr/sbin/ls"), -1, "no list: ask the server");
}

Test(lists, patterns_match_as_policyd_does)
{
	char *allowed[] = {"/opt/*/bin/@(a|b)"};
	char *forbidden[] = {"/usr/*"};
	PolicyDecision d = lists(allowed, 1, forbidden, 1);
	cr_expect_eq(policy_lists_decide(&d, "/opt/x/bin/a"), GATE_ALLOW, "extglob");
	cr_expect_eq(policy_lists_decide(&d, "/opt/x/bin/c"), -1);
	cr_expect_eq(policy_lists_decide(&d, "/opt/x/y/bin/a"), -1, "'*' does not match '/'");
	cr_expect_eq(policy_lists_decide(&d, "/usr/bin/ls"), -1, "'/usr/*' is not '/usr/bin/ls'");
	cr_expect_eq(policy_lists_decide(&d, "/usr/ls"), GATE_DENY);
}

Test(lists, empty_lists_settle_nothing)
{
	PolicyDecision d = lists(NULL, 0, NULL, 0);
	cr_expect_eq(policy_lists_decide(&d, "/usr/bin/true"), -1);
}

Test(trace, directory_must_be_roots_alone)
{
	char dir[] = "/tmp/pbsh-trace-XXXXXX", file[64];
	cr_assert(mkdtemp(dir) != NULL);
	snprintf(file, sizeof file, "%s/sh.log", dir);
	cr_assert(chmod(dir, 0755) == 0);
	cr_expect_eq(session_trace_dir_ok(file), getuid() == 0, "0755, owned by us (root: allowed)");
	cr_assert(chmod(dir, 0775) == 0);
	cr_expect_not(session_trace_dir_ok(file), "group-writable");
	cr_assert(chmod(dir, 0757) == 0);
	cr_expect_not(session_trace_dir_ok(file), "writable by others");
	cr_assert(chmod(dir, 0755) == 0);
	if (getuid() == 0) {
		cr_assert(chown(dir, 65534, 0) == 0);
		cr_expect_not(session_trace_dir_ok(file), "owned by another user");
	}
	cr_expect_not(session_trace_dir_ok("/nonexistent-dir/sh.log"), "missing");
	cr_expect(session_trace_dir_ok("/sh.log"), "/ belongs to root alone");
	rmdir(dir);
}
