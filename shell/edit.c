/* SPDX-License-Identifier: ISC */
/* The line editor of pbksh: libedit in emacs or vi mode as the shell's terminal input, with prompts, history recall, completion and window resizes. */
#include "edit.h"

#include <errno.h>
#include <histedit.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "alias.h"
#include "arena.h"
#include "complete.h"
#include "error.h"
#include "exec.h"
#include "history.h"
#include "input.h"
#include "jobs.h"
#include "options.h"
#include "shell.h"
#include "trap.h"
#include "var.h"

static EditLine *el;
static History *hl;
static char *prompt_text;     /* the prompt of the line being read (malloc'd) */
static int cur_vi = -1;       /* the mode libedit is in: 1 vi, 0 emacs, -1 not set yet */
static int cur_histsize = -1; /* the size libedit's history was given */
static volatile sig_atomic_t got_winch;

/* The lines of the command being read, as typed: what the history keeps. */
static struct {
	char *s;
	size_t n, cap;
} cmdtext;

static char *prompt_cb(EditLine *e)
{
	(void)e;
	return prompt_text;
}

/*
 * PS1 is expanded like ksh's: parameters, command substitution and arithmetic, then
 * every `!` becomes the number of the command about to be read (`!!` is a `!`).
 * A byte \001 around terminal escapes marks them as taking no room on the line.
 */
static void set_prompt(int continuation)
{
	const char *p = prompt_expand(continuation ? "PS2" : "PS1", continuation ? "> " : "$ ");
	char num[24];
	int nlen = fmt_ll(num, hist_number());
	size_t cap = strlen(p) + 1;
	for (const char *q = p; *q; q++)
		if (*q == '!')
			cap += (size_t)nlen;
	free(prompt_text);
	prompt_text = xmalloc(cap);
	size_t o = 0;
	for (; *p; p++) {
		if (!continuation && *p == '!') {
			if (p[1] == '!') {
				prompt_text[o++] = '!';
				p++;
				continue;
			}
			memcpy(prompt_text + o, num, (size_t)nlen);
			o += (size_t)nlen;
			continue;
		}
		prompt_text[o++] = *p;
	}
	prompt_text[o] = '\0';
}

/* COLUMNS and LINES follow the terminal, as in mksh (programs run from the shell see them). */
static void set_size_vars(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
		return;
	char buf[24];
	const char *c = var_get("COLUMNS");
	fmt_ll(buf, ws.ws_col);
	if (c == NULL || strcmp(c, buf) != 0)
		var_set("COLUMNS", buf, V_NOERR);
	const char *l = var_get("LINES");
	fmt_ll(buf, ws.ws_row);
	if (ws.ws_row && (l == NULL || strcmp(l, buf) != 0))
		var_set("LINES", buf, V_NOERR);
}

static void winch_cb(int sig)
{
	(void)sig;
	got_winch = 1;
}

/*
 * libedit's reader: one character from the terminal. ppoll() is always interrupted by
 * a signal, so a resize redraws the line at once and ^C abandons it; other signals
 * (trapped ones) wait until the line is done.
 */
static int getc_cb(EditLine *e, wchar_t *wc)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	/* Both signals stay blocked but inside ppoll(), so none arrives unseen between a check and the wait. */
	sigset_t block, orig;
	sigemptyset(&block);
	sigaddset(&block, SIGWINCH);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	int ret = -1;
	for (;;) {
		if (got_winch) {
			got_winch = 0;
			el_resize(e);
			set_size_vars();
			el_set(e, EL_REFRESH);
		}
		if (sh_gotsigint || (trap_pending && trap_lastsig == SIGINT)) {
			errno = EINTR;
			break;
		}
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		if (ppoll(&pfd, 1, NULL, &orig) < 0) {
			if (errno != EINTR)
				break;
			continue;
		}
		unsigned char ch;
		ssize_t r = read(STDIN_FILENO, &ch, 1);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		if (r == 0) {
			ret = 0;
			break;
		}
		char b = (char)ch;
		wchar_t w;
		size_t k = mbrtowc(&w, &b, 1, &st);
		if (k == (size_t)-2)
			continue;
		if (k == (size_t)-1) {
			memset(&st, 0, sizeof st);
			w = (wchar_t)ch;
		}
		*wc = w;
		ret = 1;
		break;
	}
	int e_saved = errno;
	sigprocmask(SIG_SETMASK, &orig, NULL);
	errno = e_saved;
	return ret;
}

/* TAB: complete the word under the cursor; list the candidates when nothing can be added. */
static unsigned char complete_fn(EditLine *e, int ch)
{
	(void)ch;
	const LineInfo *li = el_line(e);
	size_t cursor = (size_t)(li->cursor - li->buffer);
	struct completion c;
	complete_line(li->buffer, cursor, &c);
	unsigned char ret = CC_REFRESH;
	size_t plen = strlen(c.prefix);
	size_t common = complete_common(&c);
	if (c.n == 0) {
		ret = CC_REFRESH_BEEP;
	} else if (common > plen) {
		char *add = xstrndup(c.v[0] + plen, common - plen);
		/* Inside quotes the user's own quoting applies; outside, escape what the shell would interpret. */
		bool quoted = memchr(li->buffer + c.start, '\'', cursor - c.start) != NULL ||
		              memchr(li->buffer + c.start, '"', cursor - c.start) != NULL;
		if (c.kind != COMPLETE_VARIABLE && !quoted) {
			char *q = complete_quote(add);
			free(add);
			add = q;
		}
		el_insertstr(e, add);
		free(add);
	} else if (c.n > 1) {
		size_t width = 0;
		for (size_t i = 0; i < c.n; i++) {
			size_t l = strlen(c.v[i]);
			width = l > width ? l : width;
		}
		width += 2;
		const char *cols_s = var_get("COLUMNS");
		long cols = cols_s ? strtol(cols_s, NULL, 10) : 80;
		size_t per = cols > 0 && (size_t)cols >= width ? (size_t)cols / width : 1;
		fputc('\n', stderr);
		for (size_t i = 0; i < c.n; i++) {
			const char *w = c.v[i];
			size_t l = strlen(w);
			if (l > 0 && w[l - 1] == ' ')
				l--;
			bool last = (i + 1) % per == 0 || i + 1 == c.n;
			if (last)
				fprintf(stderr, "%.*s\n", (int)l, w);
			else
				fprintf(stderr, "%-*.*s", (int)width, (int)l, w);
		}
		ret = CC_REDISPLAY;
	}
	complete_free(&c);
	return ret;
}

/* Bindings of ours, set again after every mode switch (a mode switch resets libedit's keymap). */
static void bind_keys(void)
{
	el_set(el, EL_BIND, "^I", "pb-complete", NULL);
	/* As in mksh: ^W rubs out the word before the cursor (the terminal's WERASE), not libedit's kill-region. */
	if (cur_vi == 0)
		el_set(el, EL_BIND, "^W", "ed-delete-prev-word", NULL);
}

/* The mode follows `set -o vi` / `set -o emacs` (emacs unless vi is on). */
static void sync_mode(void)
{
	int vi = opt[OPT_VI] ? 1 : 0;
	if (vi == cur_vi)
		return;
	el_set(el, EL_EDITOR, vi ? "vi" : "emacs");
	cur_vi = vi;
	bind_keys();
}

static void sync_histsize(void)
{
	const char *s = var_get("HISTSIZE");
	long n = s ? strtol(s, NULL, 10) : 0;
	int size = n > 0 && n < 100000 ? (int)n : 128;
	if (size == cur_histsize)
		return;
	HistEvent ev;
	history(hl, &ev, H_SETSIZE, size);
	cur_histsize = size;
}

static void hist_added(const char *entry)
{
	HistEvent ev;
	history(hl, &ev, H_ENTER, entry);
}

static const char *cmd_text(void)
{
	return cmdtext.n ? cmdtext.s : NULL;
}

static void keep_text(const char *line, size_t n)
{
	if (cmdtext.n + n + 1 > cmdtext.cap) {
		cmdtext.cap = (cmdtext.n + n + 1) * 2;
		cmdtext.s = xrealloc(cmdtext.s, cmdtext.cap);
	}
	memcpy(cmdtext.s + cmdtext.n, line, n);
	cmdtext.n += n;
	cmdtext.s[cmdtext.n] = '\0';
}

/* ^C at the prompt: the line is dropped (and an INT trap runs), the shell reads a new one. */
static _Noreturn void interrupted(void)
{
	fputc('\n', stderr);
	trap_run_pending();
	sh_unwind(SH_INTERRUPT, 130);
}

/* The input source of the interactive shell: a line from libedit, NULL at end of input. */
static char *read_cb(void *ctx, int continuation)
{
	(void)ctx;
	if (!continuation) {
		jobs_notify();
		cmdtext.n = 0;
		set_size_vars();
		sync_histsize();
	}
	for (;;) {
		set_prompt(continuation);
		sync_mode();
		out_flush();
		/*
		 * Raw mode before the prompt is drawn: libedit would set it only at the first
		 * key, and a key typed in between would be echoed by the terminal, or lost
		 * altogether for ^D (an end-of-file in cooked mode).
		 */
		el_set(el, EL_PREP_TERM, 1);
		int count = 0;
		errno = 0;
		const char *line = el_gets(el, &count);
		if (line != NULL && count > 0) {
			keep_text(line, (size_t)count);
			return xstrndup(line, (size_t)count);
		}
		if (count < 0 && errno == EINTR)
			interrupted();
		if (count < 0 && errno != 0 && errno != EINTR)
			return NULL;
		/* ^D on an empty line. */
		if (continuation)
			return NULL;
		if (opt[OPT_IGNOREEOF]) {
			fputs("Use 'exit' to leave the shell.\n", stderr);
			continue;
		}
		if (jobs_exit_blocked(hist_number()))
			continue;
		return NULL;
	}
}

/* $VISUAL (or else $EDITOR) ending in "vi" chooses vi mode, as in ksh; emacs otherwise. */
static void initial_mode(void)
{
	if (opt[OPT_VI] || opt[OPT_EMACS])
		return;
	const char *ed = var_get("VISUAL");
	if (ed == NULL || *ed == '\0')
		ed = var_get("EDITOR");
	size_t n = ed ? strlen(ed) : 0;
	opt_set(n >= 2 && strcmp(ed + n - 2, "vi") == 0 ? OPT_VI : OPT_EMACS, true);
}

bool edit_start(void)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
		return false;
	/* Wide characters in the line editor follow the user's locale. */
	setlocale(LC_CTYPE, "");
	el = el_init(sh_name ? sh_name : "pbksh", stdin, stderr, stderr);
	if (el == NULL)
		return false;
	hl = history_init();
	if (hl == NULL) {
		el_end(el);
		el = NULL;
		return false;
	}
	el_set(el, EL_SIGNAL, 0);
	el_set(el, EL_GETCFN, getc_cb);
	el_set(el, EL_PROMPT_ESC, prompt_cb, '\001');
	el_set(el, EL_HIST, history, hl);
	el_set(el, EL_ADDFN, "pb-complete", "complete the word before the cursor", complete_fn);
	initial_mode();
	sync_mode();
	sync_histsize();
	/* ~/.editrc (or $EDITRC) may rebind keys, as for other libedit programs. */
	el_source(el, NULL);
	bind_keys();

	/* A resize restarts other system calls (SA_RESTART) but interrupts the ppoll() of getc_cb. */
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = winch_cb;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGWINCH, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		sigaction(SIGWINCH, &sa, NULL);

	/* ksh's predefined aliases for the history. */
	if (alias_lookup("r") == NULL)
		alias_set("r", "fc -s", 0);
	if (alias_lookup("history") == NULL)
		alias_set("history", "fc -l", 0);

	hist_added_hook = hist_added;
	hist_text_hook = cmd_text;
	hist_load();
	input_push_reader(read_cb, NULL, NULL, 1, INPUT_INTERACTIVE);
	return true;
}
