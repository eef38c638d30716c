/* SPDX-License-Identifier: ISC */
/* Unit tests of the policy engine, loader, decisions, wire checks and the budgeted decoder. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decide.h"
#include "engine.h"
#include "err.h"
#include "policy.pb-c.h"
#include "policy_load.h"
#include "wire.h"

static struct pe_policy *load(const char *text)
{
	struct pe_policy *p = NULL;
	struct pb_conf_err err;
	int rc = pd_policy_load_buf("t.yaml", text, strlen(text), &p, &err);
	cr_assert_eq(rc, 0, "load failed: %s", err.msg);
	return p;
}

static int load_err(const char *text, char *msg, size_t len)
{
	struct pe_policy *p = NULL;
	struct pb_conf_err err;
	int rc = pd_policy_load_buf("t.yaml", text, strlen(text), &p, &err);
	cr_assert_null(p);
	snprintf(msg, len, "%s", err.msg);
	return rc;
}

static struct pe_request req(enum pe_mode m, const char *user, const char *command,
			     const char *const *argv, size_t argc)
{
	struct pe_request rq;
	memset(&rq, 0, sizeof(rq));
	rq.mode = m;
	rq.host = "host1.test";
	rq.user = user;
	rq.group = "users";
	rq.command = command;
	rq.argv = argv;
	rq.argc = argc;
	rq.cwd = "/";
	rq.tty = "";
	rq.shell = "pbksh";
	rq.uniqueid = "id";
	rq.now = 1763892000; /* 2025-11-23 10:00 UTC, a Sunday */
	return rq;
}

Test(engine, first_decision_wins_and_sets_accumulate)
{
	struct pe_policy *p = load("rules:\n"
				   "  - name: a\n    set: {runuser: one, runumask: '027'}\n"
				   "  - name: b\n    when: {user: alice}\n    set: {runuser: two}\n    accept: true\n"
				   "  - name: c\n    reject: late\n");
	const char *argv[] = {"ls"};
	struct pe_request rq = req(PE_MODE_COMMAND, "alice", "/bin/ls", argv, 1);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	cr_assert(pe_eval(p, &rq, &res));
	cr_assert_eq(res.rule, 1);
	cr_assert_str_eq(res.vars[PE_VAR_RUNUSER]->str, "two");
	cr_assert_eq(res.vars[PE_VAR_RUNUMASK]->num, 027);
	cr_assert_eq(res.n_matched, 2);

	rq.user = "bob";
	cr_assert_not(pe_eval(p, &rq, &res));
	cr_assert_eq(res.rule, 2);
	cr_assert_str_eq(res.reason, "late");
	pe_policy_free(p);
}

Test(engine, no_decision_is_reject)
{
	struct pe_policy *p = load("rules:\n  - name: a\n    set: {runuser: x}\n");
	struct pe_request rq = req(PE_MODE_COMMAND, "alice", "/bin/ls", NULL, 0);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	cr_assert_not(pe_eval(p, &rq, &res));
	cr_assert_eq(res.rule, -1);
	cr_assert_not_null(res.vars[PE_VAR_RUNUSER]);
	pe_policy_free(p);
}

Test(engine, empty_policy_rejects)
{
	struct pe_policy *p = load("# nothing\n");
	struct pe_request rq = req(PE_MODE_COMMAND, "alice", "/bin/ls", NULL, 0);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	cr_assert_not(pe_eval(p, &rq, &res));
	pe_policy_free(p);
}

Test(engine, negation_and_lists)
{
	struct pe_policy *p = load("lists:\n  bad: [mallory, eve]\n"
				   "rules:\n  - name: a\n    when: {user: ['!@bad']}\n    accept: true\n");
	struct pe_request rq = req(PE_MODE_COMMAND, "alice", "/bin/ls", NULL, 0);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	cr_assert(pe_eval(p, &rq, &res));
	rq.user = "eve";
	cr_assert_not(pe_eval(p, &rq, &res));
	pe_policy_free(p);
}

Test(engine, literal_and_pattern_compiled)
{
	struct pe_policy *p = load("rules:\n  - name: a\n    when: {command: [/bin/ls, '/usr/bin/*', 'a\\*b']}\n    accept: true\n");
	cr_assert(p->rules[0].when.command.v[0].literal);
	cr_assert_not(p->rules[0].when.command.v[1].literal);
	cr_assert_not(p->rules[0].when.command.v[2].literal);
	struct pe_request rq = req(PE_MODE_COMMAND, "alice", "a*b", NULL, 0);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	cr_assert(pe_eval(p, &rq, &res));
	rq.command = "axb";
	cr_assert_not(pe_eval(p, &rq, &res));
	pe_policy_free(p);
}

Test(engine, group_matches_supplementary)
{
	struct pe_policy *p = load("rules:\n  - name: a\n    when: {group: wheel}\n    accept: true\n"
				   "  - name: b\n    when: {group: '!audit'}\n    reject: x\n");
	const char *groups[] = {"audio", "wheel"};
	struct pe_request rq = req(PE_MODE_COMMAND, "alice", "/bin/ls", NULL, 0);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	cr_assert_not(pe_eval(p, &rq, &res));
	cr_assert_eq(res.rule, 1);
	rq.groups = groups;
	rq.n_groups = 2;
	cr_assert(pe_eval(p, &rq, &res));
	pe_policy_free(p);
}

Test(engine, argv_positions_and_missing_args)
{
	struct pe_policy *p = load("rules:\n  - name: a\n    when:\n      argv: {1: '-l', -1: '!*.secret'}\n    accept: true\n");
	const char *a1[] = {"ls", "-l", "x"};
	const char *a2[] = {"ls", "-l", "x.secret"};
	const char *a3[] = {"ls"};
	struct pe_request rq = req(PE_MODE_COMMAND, "u", "/bin/ls", a1, 3);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	cr_assert(pe_eval(p, &rq, &res));
	rq.argv = a2;
	cr_assert_not(pe_eval(p, &rq, &res));
	rq.argv = a3;
	rq.argc = 1;
	cr_assert_not(pe_eval(p, &rq, &res));
	pe_policy_free(p);
}

Test(engine, time_window_over_midnight)
{
	struct pe_policy *p = load("rules:\n  - name: a\n    when: {time: '22:00-06:00'}\n    accept: true\n");
	struct pe_request rq = req(PE_MODE_COMMAND, "u", "/x", NULL, 0);
	struct pe_result res;
	struct tm tm;
	memset(&res, 0, sizeof(res));
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 126;
	tm.tm_mon = 10;
	tm.tm_mday = 23;
	tm.tm_hour = 23;
	tm.tm_isdst = -1;
	rq.now = mktime(&tm);
	cr_assert(pe_eval(p, &rq, &res));
	tm.tm_hour = 5;
	tm.tm_min = 59;
	rq.now = mktime(&tm);
	cr_assert(pe_eval(p, &rq, &res));
	tm.tm_hour = 6;
	tm.tm_min = 0;
	rq.now = mktime(&tm);
	cr_assert_not(pe_eval(p, &rq, &res));
	pe_policy_free(p);
}

Test(engine, expand_templates)
{
	char buf[256];
	struct pe_request rq = req(PE_MODE_BUILTIN, "alice", "/usr/bin/vi", NULL, 0);
	rq.uid = 1000;
	rq.pid = 77;
	pe_expand("%u:%U:%g:%h:%i:%c:%b:%m:%p:%%:%", &rq, buf, sizeof(buf));
	cr_assert_str_eq(buf, "alice:1000:users:host1.test:id:/usr/bin/vi:vi:shell builtin:77:%:%");
	pe_expand("%u%u%u", &rq, buf, 8);
	cr_assert_str_eq(buf, "aliceal");
	cr_assert_null(pe_template_check("a%u%%"));
	cr_assert_not_null(pe_template_check("a%z"));
}

Test(loader, errors_have_positions)
{
	char msg[PB_CONF_ERRLEN];
	cr_assert_eq(load_err("rules:\n  - name: a\n    when: {modez: x}\n", msg, sizeof(msg)), PB_ERR_CONF);
	cr_assert(strncmp(msg, "t.yaml:3:", 9) == 0, "%s", msg);
	load_err("rules:\n  - name: a\n    set: {iolog: '%Q'}\n", msg, sizeof(msg));
	cr_assert(strstr(msg, "t.yaml:3:") != NULL && strstr(msg, "%Q") != NULL, "%s", msg);
	load_err("include: x.yaml\n", msg, sizeof(msg));
	cr_assert(strstr(msg, "include: not allowed") != NULL, "%s", msg);
	load_err("lists: {a: ['@b'], b: ['@a']}\n", msg, sizeof(msg));
	cr_assert(strstr(msg, "includes itself") != NULL, "%s", msg);
}

Test(loader, hash_changes_with_text)
{
	struct pe_policy *a = load("rules: []\n");
	struct pe_policy *b = load("rules: [] \n");
	cr_assert_eq(strlen(a->hash), 64);
	cr_assert_str_neq(a->hash, b->hash);
	/* SHA-256("rules: []\n") */
	cr_assert_str_eq(a->hash, "e0dfa70eb69d47fe9cb2be8a4fcd53e74cf7fe26fcbb1f06912b57a9c028e4e0");
	pe_policy_free(a);
	pe_policy_free(b);
}

Test(decide, shell_start_forces_local_mode_and_filters_shell_vars)
{
	struct pe_policy *p = load("rules:\n  - name: a\n    set: {runlocalmode: false, shellrestricted: true, runuser: '%u'}\n    accept: true\n");
	struct pe_request rq = req(PE_MODE_START, "alice", "pbksh", NULL, 0);
	struct pe_result res;
	struct pd_decbuf b;
	PolicyDecision d;
	memset(&res, 0, sizeof(res));
	pe_eval(p, &rq, &res);
	pd_decision_fill(p, &rq, &res, &d, &b);
	cr_assert(d.runlocalmode);
	cr_assert(d.shellrestricted);
	cr_assert_str_eq(d.runuser, "alice");
	cr_assert_eq(d.mode, POLICY_MODE__POLICY_MODE_SHELL_START);

	rq.mode = PE_MODE_COMMAND;
	pe_eval(p, &rq, &res);
	pd_decision_fill(p, &rq, &res, &d, &b);
	cr_assert_not(d.runlocalmode);
	cr_assert_not(d.shellrestricted);
	cr_assert_eq(d.n_set, 2); /* runuser, runlocalmode */
	pe_policy_free(p);
}

Test(decide, uniqueids_differ)
{
	char a[33], b[33];
	pd_uniqueid(a);
	pd_uniqueid(b);
	cr_assert_eq(strlen(a), 32);
	cr_assert_str_neq(a, b);
}

static size_t pack_req(PolicyRequest *r, uint8_t **out)
{
	size_t n = policy_request__get_packed_size(r);
	*out = malloc(n ? n : 1);
	policy_request__pack(r, *out);
	return n;
}

Test(wire, accepts_a_normal_check_and_refuses_nul_in_strings)
{
	PolicyRequest r = POLICY_REQUEST__INIT;
	PolicyCheck ck = POLICY_CHECK__INIT;
	char *argv[] = {(char *)"ls", (char *)"-l"};
	uint8_t *buf;
	const char *why;
	r.id = 7;
	r.type_case = POLICY_REQUEST__TYPE_CHECK;
	r.check = &ck;
	ck.mode = POLICY_MODE__POLICY_MODE_SHELL_COMMAND;
	ck.command = (char *)"/bin/ls";
	ck.n_argv = 2;
	ck.argv = argv;
	size_t n = pack_req(&r, &buf);
	cr_assert_eq(pd_wire_check(&policy_request__descriptor, buf, n, &why), 0);
	/* Replace the 's' of the argv element "ls" with a NUL. */
	uint8_t *hit = memmem(buf, n, "\x1a\x02ls", 4);
	cr_assert_not_null(hit);
	hit[3] = 0;
	cr_assert_eq(pd_wire_check(&policy_request__descriptor, buf, n, &why), PB_ERR_PROTO);
	cr_assert(strstr(why, "NUL") != NULL);
	free(buf);
}

Test(wire, refuses_two_oneof_members_and_truncation)
{
	/* id=1, hello {} , check {} */
	const uint8_t two[] = {0x08, 0x01, 0x12, 0x00, 0x22, 0x00};
	const uint8_t trunc[] = {0x08, 0x01, 0x22, 0x05, 0x0a};
	const uint8_t group[] = {0x0b};
	const char *why;
	cr_assert_eq(pd_wire_check(&policy_request__descriptor, two, sizeof(two), &why), PB_ERR_PROTO);
	cr_assert(strstr(why, "oneof") != NULL, "%s", why);
	cr_assert_eq(pd_wire_check(&policy_request__descriptor, trunc, sizeof(trunc), &why), PB_ERR_PROTO);
	cr_assert_eq(pd_wire_check(&policy_request__descriptor, group, sizeof(group), &why), PB_ERR_PROTO);
}

Test(wire, budget_stops_a_flood_of_empty_repeated_strings)
{
	/* A Check whose argv is 2 MiB of empty strings: about 1M elements. */
	size_t inner = 2 * 1024 * 1024 - 16;
	size_t elems = inner / 2;
	size_t cap = inner + 32;
	uint8_t *buf = malloc(cap), *p = buf;
	const char *why;
	*p++ = 0x22; /* field 4 (check), length-delimited */
	size_t l = elems * 2;
	while (l >= 0x80) {
		*p++ = (uint8_t)(l | 0x80);
		l >>= 7;
	}
	*p++ = (uint8_t)l;
	for (size_t i = 0; i < elems; i++) {
		*p++ = 0x1a; /* argv (field 3), empty */
		*p++ = 0x00;
	}
	size_t n = (size_t)(p - buf);
	cr_assert_eq(pd_wire_check(&policy_request__descriptor, buf, n, &why), 0);
	struct pd_unpack_arena *a = pd_unpack_arena_new(3u * 2 * 1024 * 1024);
	PolicyRequest *r = policy_request__unpack(pd_unpack_arena_allocator(a), n, buf);
	cr_assert_null(r, "a million empty strings must not fit the budget");
	pd_unpack_arena_reset(a);
	/* A normal request still decodes in the same arena afterwards. */
	const uint8_t ok[] = {0x08, 0x05, 0x12, 0x02, 0x08, 0x01};
	r = policy_request__unpack(pd_unpack_arena_allocator(a), sizeof(ok), ok);
	cr_assert_not_null(r);
	cr_assert_eq(r->id, 5);
	cr_assert_eq(r->type_case, POLICY_REQUEST__TYPE_HELLO);
	cr_assert_eq(r->hello->version, 1);
	pd_unpack_arena_free(a);
	free(buf);
}

/* 200 rules, most failing on user or command: the engine must stay far above 50k decisions/s. */
Test(perf, two_hundred_rules)
{
	size_t cap = 200 * 200 + 256, len = 0;
	char *text = malloc(cap);
	len += (size_t)snprintf(text + len, cap - len, "rules:\n");
	for (int i = 0; i < 199; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"  - name: r%d\n    when: {user: [u%d, 'x%d*'], command: '/opt/app%d/*'}\n    accept: true\n",
					i, i, i, i);
	snprintf(text + len, cap - len, "  - name: last\n    when: {command: /bin/ls}\n    accept: true\n");
	struct pe_policy *p = load(text);
	cr_assert_eq(p->n_rules, 200);
	const char *argv[] = {"ls", "-l"};
	struct pe_request rq = req(PE_MODE_COMMAND, "alice", "/bin/ls", argv, 2);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	struct timespec t0, t1;
	int n = 20000;
	/* CPU time, not wall time: the test host is shared and often loaded. */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	int accepted = 0;
	for (int i = 0; i < n; i++)
		accepted += pe_eval(p, &rq, &res);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_eq(accepted, n);
	cr_assert_eq(res.rule, 199);
	cr_log_info("200-rule evaluation: %.2f us each, %.0f/s", s / n * 1e6, n / s);
	fprintf(stderr, "# 200-rule evaluation: %.2f us each, %.0f/s\n", s / n * 1e6, n / s);
#if !defined(__SANITIZE_ADDRESS__)
	/* Generous floor (a loaded 2-core host): 50k/s needs 20 us. Sanitizer builds are not timed. */
	cr_assert_lt(s / n, 20e-6, "%.2f us per decision", s / n * 1e6);
#endif
	pe_policy_free(p);
	free(text);
}

Test(engine, first_byte_index_never_changes_a_result)
{
	struct pe_policy *p = load("rules:\n"
				   "  - name: host\n    when: {host: [HOST1.test], command: /a}\n    accept: true\n"
				   "  - name: neg\n    when: {user: ['!bob'], command: /b}\n    accept: true\n"
				   "  - name: magic\n    when: {user: ['*ce', '[a]x'], command: /c}\n    accept: true\n"
				   "  - name: empty\n    when: {tty: ['', '/dev/pts/*'], command: /d}\n    accept: true\n");
	cr_assert_not_null(p->rules[0].when.host.first);
	cr_assert_null(p->rules[1].when.user.first);
	cr_assert_null(p->rules[2].when.user.first);
	cr_assert_not_null(p->rules[3].when.tty.first);
	struct pe_request rq = req(PE_MODE_COMMAND, "alice", "/a", NULL, 0);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	cr_assert(pe_eval(p, &rq, &res), "host matched regardless of case");
	rq.command = "/b";
	cr_assert(pe_eval(p, &rq, &res));
	rq.user = "bob";
	cr_assert_not(pe_eval(p, &rq, &res));
	rq.command = "/c";
	rq.user = "alice";
	cr_assert(pe_eval(p, &rq, &res));
	rq.command = "/d";
	rq.tty = "";
	cr_assert(pe_eval(p, &rq, &res));
	rq.tty = "/dev/tty1";
	cr_assert_not(pe_eval(p, &rq, &res));
	pe_policy_free(p);
}

Test(engine, shell_by_path_or_name_and_negation)
{
	struct pe_policy *p = load("rules:\n"
				   "  - name: not-pbsh\n    when: {shell: '!pbsh', command: /a}\n    accept: true\n"
				   "  - name: pbksh\n    when: {shell: pbksh, command: /b}\n    accept: true\n");
	struct pe_request rq = req(PE_MODE_COMMAND, "alice", "/a", NULL, 0);
	struct pe_result res;
	memset(&res, 0, sizeof(res));
	rq.shell = "/usr/bin/pbsh";
	cr_assert_not(pe_eval(p, &rq, &res), "!pbsh refuses the path too");
	rq.shell = "/usr/bin/pbksh";
	cr_assert(pe_eval(p, &rq, &res));
	rq.command = "/b";
	cr_assert(pe_eval(p, &rq, &res), "pbksh matches by last component");
	rq.shell = "pbksh";
	cr_assert(pe_eval(p, &rq, &res));
	rq.shell = "/usr/bin/pbksh-old";
	cr_assert_not(pe_eval(p, &rq, &res));
	pe_policy_free(p);
}
