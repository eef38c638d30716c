/* SPDX-License-Identifier: ISC */
/* pbsh (and pbksh, built with -DPBKSH): a thin main around the interpreter core library. */
#include "priv.h"
#include "shell.h"

#ifdef PBKSH
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "edit.h"

/*
 * `-l` makes a login shell, like a name starting with '-': the flag is taken out of
 * the option words and the core is told through argv[0], its one test for login.
 * Option words end at the first operand, "--" or "-"; `-o name` takes its argument.
 */
static void login_flag(int argc, char **argv)
{
	bool login = false;
	int o = 1;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (strncmp(a, "--", 2) == 0 && a[2]) {
			/* --config FILE, --debug=SPEC: the core's (session.c); kept with their argument. */
			argv[o++] = a;
			if (strchr(a, '=') == NULL && i + 1 < argc)
				argv[o++] = argv[++i];
			continue;
		}
		bool opt_word = (a[0] == '-' || a[0] == '+') && a[1] != '\0' && strcmp(a, "--") != 0;
		if (!opt_word) {
			while (i < argc)
				argv[o++] = argv[i++];
			break;
		}
		if (a[0] == '-' && strchr(a, 'l') != NULL) {
			char *w = xstrdup(a);
			char *d = w;
			for (const char *s = w; *s; s++)
				if (*s != 'l')
					*d++ = *s;
			*d = '\0';
			login = true;
			a = w;
		}
		if (strcmp(a, "-") != 0)
			argv[o++] = a;
		if (strchr(a + 1, 'o') != NULL && i + 1 < argc)
			argv[o++] = argv[++i];
	}
	argv[o] = NULL;
	if (login) {
		const char *base = strrchr(argv[0], '/');
		base = base ? base + 1 : argv[0];
		if (base[0] != '-')
			argv[0] = xasprintf("-%s", base);
	}
}
#endif

extern char **environ;

int main(int argc, char **argv)
{
	/* Before anything else: the user's ids, root only as the saved uid (setuid install). */
	priv_init();
#ifdef PBKSH
	login_flag(argc, argv);
	sh_edit_hook = edit_start;
	for (argc = 0; argv[argc]; argc++)
		;
#endif
	sh_main(argc, argv, environ);
}
