/* SPDX-License-Identifier: ISC */
/* Turning an engine result into a PolicyDecision (templates expanded), its text form and unique ids. */
#include "decide.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Random bytes are read in blocks: one getrandom per 256 decisions, not one each. */
static unsigned char rnd[4096];
static size_t rnd_left;

void pd_uniqueid(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	if (rnd_left < 16) {
		size_t got = 0;
		while (got < sizeof(rnd)) {
			ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				/* No entropy source at all: mix time and pid rather than fail a decision. */
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				for (size_t i = got; i < sizeof(rnd); i++)
					rnd[i] = (unsigned char)((ts.tv_nsec >> (i % 24)) ^ getpid() ^ i);
				break;
			}
			got += (size_t)r;
		}
		rnd_left = sizeof(rnd);
	}
	const unsigned char *p = rnd + sizeof(rnd) - rnd_left;
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[32] = '\0';
	/* Used bytes are wiped so an id never lingers in memory to be reused. */
	memset((void *)p, 0, 16);
	rnd_left -= 16;
}

PolicyMode pd_mode_to_proto(enum pe_mode m)
{
	return (PolicyMode)((int)m + 1);
}

int pd_mode_from_proto(PolicyMode m)
{
	int v = (int)m - 1;
	return v >= 0 && v < PE_MODE_COUNT ? v : -1;
}

static bool is_shell_var(enum pe_var v)
{
	return v >= PE_VAR_SHELLALLOWEDCOMMANDS;
}

void pd_decision_fill(const struct pe_policy *p, const struct pe_request *rq,
		      const struct pe_result *res, PolicyDecision *d, struct pd_decbuf *b)
{
	size_t nset = 0;

	policy_decision__init(d);
	d->accept = res->accept;
	pe_expand(res->reason, rq, b->reason, sizeof(b->reason));
	d->reason = b->reason;
	d->uniqueid = (char *)rq->uniqueid;
	d->rule = res->rule >= 0 ? (char *)p->rules[res->rule].name : (char *)"";
	d->policy_hash = p != NULL ? (char *)p->hash : (char *)"";
	d->mode = pd_mode_to_proto(rq->mode);
	for (int v = 0; v < PE_VAR_COUNT; v++) {
		const struct pe_set *s = res->vars[v];
		if (s == NULL)
			continue;
		if (is_shell_var((enum pe_var)v) && rq->mode != PE_MODE_START)
			continue;
		switch ((enum pe_var)v) {
		case PE_VAR_RUNUSER:
			pe_expand(s->str, rq, b->runuser, sizeof(b->runuser));
			d->runuser = b->runuser;
			break;
		case PE_VAR_RUNGROUP:
			pe_expand(s->str, rq, b->rungroup, sizeof(b->rungroup));
			d->rungroup = b->rungroup;
			break;
		case PE_VAR_RUNUMASK:
			d->runumask = s->num;
			break;
		case PE_VAR_RUNLOCALMODE:
			d->runlocalmode = s->flag;
			break;
		case PE_VAR_IOLOG:
			pe_expand(s->str, rq, b->iolog, sizeof(b->iolog));
			d->iolog = b->iolog;
			break;
		case PE_VAR_LOGSERVERS:
			d->n_logservers = s->n_list;
			d->logservers = (char **)s->list;
			break;
		case PE_VAR_SHELLALLOWEDCOMMANDS:
			d->n_shellallowedcommands = s->n_list;
			d->shellallowedcommands = (char **)s->list;
			break;
		case PE_VAR_SHELLFORBIDDENCOMMANDS:
			d->n_shellforbiddencommands = s->n_list;
			d->shellforbiddencommands = (char **)s->list;
			break;
		case PE_VAR_SHELLCHECKBUILTINS:
			d->shellcheckbuiltins = s->flag;
			break;
		case PE_VAR_SHELLCHECKREDIRECTIONS:
			d->shellcheckredirections = s->flag;
			break;
		case PE_VAR_SHELLLOGINCLUDEFILES:
			d->shelllogincludefiles = s->flag;
			break;
		case PE_VAR_SHELLREADONLY:
			d->n_shellreadonly = s->n_list;
			d->shellreadonly = (char **)s->list;
			break;
		case PE_VAR_SHELLRESTRICTED:
			d->shellrestricted = s->flag;
			break;
		case PE_VAR_COUNT:
			break;
		}
		b->set_names[nset++] = (char *)pe_var_name((enum pe_var)v);
	}
	if (rq->mode == PE_MODE_START) {
		/* DESIGN §3.1: a shell start is always in local mode, whatever a rule said. */
		if (!d->runlocalmode || res->vars[PE_VAR_RUNLOCALMODE] == NULL) {
			bool listed = res->vars[PE_VAR_RUNLOCALMODE] != NULL;
			d->runlocalmode = true;
			if (!listed) {
				/* keep the names in variable order */
				size_t at = 0;
				while (at < nset && pe_var_parse(b->set_names[at]) < PE_VAR_RUNLOCALMODE)
					at++;
				memmove(&b->set_names[at + 1], &b->set_names[at],
					(nset - at) * sizeof(b->set_names[0]));
				b->set_names[at] = (char *)pe_var_name(PE_VAR_RUNLOCALMODE);
				nset++;
			}
		}
	}
	d->n_set = nset;
	d->set = nset > 0 ? b->set_names : NULL;
}

static void print_list(FILE *f, char **v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", v[i]);
	fputs("]\n", f);
}

void pd_decision_print(FILE *f, const struct pe_policy *p, const struct pe_result *res,
		       const PolicyDecision *d)
{
	const struct pe_rule *r = res->rule >= 0 ? &p->rules[res->rule] : NULL;
	int mode = pd_mode_from_proto(d->mode);

	fprintf(f, "decision: %s\n", d->accept ? "accept" : "reject");
	if (r != NULL)
		fprintf(f, "rule: %s (%s:%d:%d)\n", r->name, r->file, r->line, r->col);
	else
		fprintf(f, "rule: (none: default deny)\n");
	fprintf(f, "reason: %s\n", d->reason);
	fprintf(f, "mode: %s\n", mode >= 0 ? pe_mode_name((enum pe_mode)mode) : "?");
	fprintf(f, "uniqueid: %s\n", d->uniqueid);
	fprintf(f, "policy: %s\n", d->policy_hash);
	for (uint32_t i = 0; i < res->n_matched && i < res->matched_cap; i++) {
		const struct pe_rule *m = &p->rules[res->matched[i]];
		fprintf(f, "matched: %s (%s:%d:%d)%s\n", m->name, m->file, m->line, m->col,
			(int)res->matched[i] == res->rule ? " decides" : "");
	}
	if (res->n_matched > res->matched_cap)
		fprintf(f, "matched: ... %u more\n", res->n_matched - res->matched_cap);
	for (size_t i = 0; i < d->n_set; i++) {
		int v = pe_var_parse(d->set[i]);
		fprintf(f, "set %s: ", d->set[i]);
		switch ((enum pe_var)v) {
		case PE_VAR_RUNUSER:
			fprintf(f, "%s\n", d->runuser);
			break;
		case PE_VAR_RUNGROUP:
			fprintf(f, "%s\n", d->rungroup);
			break;
		case PE_VAR_RUNUMASK:
			fprintf(f, "%04o\n", d->runumask);
			break;
		case PE_VAR_RUNLOCALMODE:
			fprintf(f, "%s\n", d->runlocalmode ? "true" : "false");
			break;
		case PE_VAR_IOLOG:
			fprintf(f, "%s\n", d->iolog);
			break;
		case PE_VAR_LOGSERVERS:
			print_list(f, d->logservers, d->n_logservers);
			break;
		case PE_VAR_SHELLALLOWEDCOMMANDS:
			print_list(f, d->shellallowedcommands, d->n_shellallowedcommands);
			break;
		case PE_VAR_SHELLFORBIDDENCOMMANDS:
			print_list(f, d->shellforbiddencommands, d->n_shellforbiddencommands);
			break;
		case PE_VAR_SHELLCHECKBUILTINS:
			fprintf(f, "%s\n", d->shellcheckbuiltins ? "true" : "false");
			break;
		case PE_VAR_SHELLCHECKREDIRECTIONS:
			fprintf(f, "%s\n", d->shellcheckredirections ? "true" : "false");
			break;
		case PE_VAR_SHELLLOGINCLUDEFILES:
			fprintf(f, "%s\n", d->shelllogincludefiles ? "true" : "false");
			break;
		case PE_VAR_SHELLREADONLY:
			print_list(f, d->shellreadonly, d->n_shellreadonly);
			break;
		case PE_VAR_SHELLRESTRICTED:
			fprintf(f, "%s\n", d->shellrestricted ? "true" : "false");
			break;
		default:
			fputs("?\n", f);
			break;
		}
	}
}
