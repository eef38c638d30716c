/* SPDX-License-Identifier: ISC */
/* Shell options: the table, `$-`, and the parsing of option words shared by `set` and the command line. */
#include "options.h"

#include <stdio.h>
#include <string.h>

#include "shell.h"
#include "input.h"
#include "jobs.h"
#include "restrict.h"

bool opt[OPT_COUNT];

static const struct {
	char letter;
	const char *name;
} opt_tab[OPT_COUNT] = {
#define X(id, l, n) [OPT_##id] = {l, n},
	SH_OPTIONS(X)
#undef X
};

int opt_by_letter(int c)
{
	for (int i = 0; i < OPT_COUNT; i++)
		if (opt_tab[i].letter == c)
			return i;
	return -1;
}

int opt_by_name(const char *name)
{
	/* ksh's trackall is hashall (every command is remembered after its first PATH search). */
	if (strcmp(name, "trackall") == 0)
		return OPT_HASHALL;
	for (int i = 0; i < OPT_COUNT; i++)
		if (strcmp(opt_tab[i].name, name) == 0)
			return i;
	return -1;
}

const char *opt_name(int o)
{
	return opt_tab[o].name;
}

int opt_letter(int o)
{
	return opt_tab[o].letter;
}

static void (*changed_cb)(int o, bool on);

void opt_set_hook(void (*fn)(int o, bool on))
{
	changed_cb = fn;
}

void opt_set(int o, bool on)
{
	if (o == OPT_EMACS && on)
		opt[OPT_VI] = false;
	if (o == OPT_VI && on)
		opt[OPT_EMACS] = false;
	/* Once restricted, always restricted; turning it on locks the variables too. */
	if (o == OPT_RESTRICTED) {
		if (on && !opt[OPT_RESTRICTED])
			restrict_enable();
		return;
	}
	bool was = opt[o];
	opt[o] = on;
	if (o == OPT_MONITOR && was != on)
		jobs_set_control(on);
	if (o == OPT_VERBOSE)
		input_verbose = on;
	if (changed_cb && was != on)
		changed_cb(o, on);
}

const char *opt_flags(void)
{
	static char buf[OPT_COUNT + 1];
	size_t n = 0;
	for (int i = 0; i < OPT_COUNT; i++)
		if (opt[i] && opt_tab[i].letter)
			buf[n++] = opt_tab[i].letter;
	buf[n] = '\0';
	return buf;
}

static void list_one(const char *name, bool on, bool reinput)
{
	if (reinput)
		out_printf("set %co %s\n", on ? '-' : '+', name);
	else
		out_printf("%-15s %s\n", name, on ? "on" : "off");
}

void opt_list(bool reinput)
{
	for (int i = 0; i < OPT_COUNT; i++) {
		if (i == OPT_INTERACTIVE || i == OPT_STDIN)
			continue;
		list_one(opt_tab[i].name, opt[i], reinput);
	}
	list_one("trackall", opt[OPT_HASHALL], reinput);
}

/*
 * One option word of set or of the command line. -r on the command line is
 * only noted: the restrictions start after the profile and ENV files
 * (sh_main), as in ksh and mksh. Nothing turns the restricted shell off.
 */
static int set_option(int o, bool on, bool cmdline)
{
	if (o == OPT_RESTRICTED) {
		if (!on && opt[OPT_RESTRICTED]) {
			sh_warnf("restricted: cannot be turned off");
			return -1;
		}
		if (cmdline) {
			restrict_pending = on;
			return 0;
		}
	}
	opt_set(o, on);
	return 0;
}

int opt_parse_args(char ***argvp, bool cmdline, bool *cflag)
{
	char **av = *argvp;
	int ret = 0;
	while (*av != NULL) {
		const char *a = *av;
		if ((a[0] != '-' && a[0] != '+') || a[1] == '\0') {
			/* A lone "-" ends options (and, for set, turns off -x -v). */
			if (a[0] == '-' && a[1] == '\0') {
				if (!cmdline) {
					opt[OPT_XTRACE] = opt[OPT_VERBOSE] = false;
				}
				av++;
			}
			break;
		}
		if (a[0] == '-' && a[1] == '-' && a[2] == '\0') {
			av++;
			break;
		}
		bool on = a[0] == '-';
		av++;
		for (const char *p = a + 1; *p; p++) {
			if (*p == 'o') {
				if (*av == NULL || (**av == '-' || **av == '+')) {
					/* `set -o` lists; `set +o` lists re-readably. */
					opt_list(!on);
					ret = 1;
					continue;
				}
				int o = opt_by_name(*av);
				if (o < 0) {
					sh_warnf("%s: unknown option name", *av);
					return -1;
				}
				if (set_option(o, on, cmdline) < 0)
					return -1;
				av++;
				continue;
			}
			if (cmdline && *p == 'c') {
				if (cflag)
					*cflag = on;
				continue;
			}
			int o = opt_by_letter(*p);
			if (o < 0 || (!cmdline && (o == OPT_INTERACTIVE || o == OPT_STDIN))) {
				sh_warnf("%c%c: unknown option", on ? '-' : '+', *p);
				return -1;
			}
			if (set_option(o, on, cmdline) < 0)
				return -1;
		}
	}
	*argvp = av;
	return ret;
}
