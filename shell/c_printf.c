/* SPDX-License-Identifier: ISC */
/* printf and echo: POSIX printf (formats reused until arguments run out, %b, 'c constants) and XSI echo. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "shell.h"

/*
 * Decode one backslash escape at *pp (after the backslash). For %b and
 * echo, octal is \0nnn; for the format string, \nnn. Sets *stop at \c.
 * Appends the result to the output; advances *pp.
 */
static void put_escape(const char **pp, bool bmode, bool *stop)
{
	const char *p = *pp;
	char c = *p;
	int v;
	switch (c) {
	case 'a': out_char('\a'); p++; break;
	case 'b': out_char('\b'); p++; break;
	case 'f': out_char('\f'); p++; break;
	case 'n': out_char('\n'); p++; break;
	case 'r': out_char('\r'); p++; break;
	case 't': out_char('\t'); p++; break;
	case 'v': out_char('\v'); p++; break;
	case 'e': out_char('\033'); p++; break;
	case '\\': out_char('\\'); p++; break;
	case 'c':
		if (bmode) {
			*stop = true;
			p++;
			break;
		}
		out_char('\\');
		break;
	case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
		int max = 3;
		if (bmode && c == '0') {
			p++;
		} else if (bmode) {
			/* %b and echo take \0nnn; \1.. is not an escape for them. */
			out_char('\\');
			break;
		}
		v = 0;
		for (int i = 0; i < max && *p >= '0' && *p <= '7'; i++)
			v = v * 8 + (*p++ - '0');
		out_char(v & 0xff);
		break;
	}
	case 'x': {
		if (bmode) {
			out_char('\\');
			break;
		}
		p++;
		v = 0;
		int i = 0;
		for (; i < 2; i++) {
			int d;
			if (*p >= '0' && *p <= '9') d = *p - '0';
			else if (*p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
			else if (*p >= 'A' && *p <= 'F') d = *p - 'A' + 10;
			else break;
			v = v * 16 + d;
			p++;
		}
		if (i == 0) {
			out_str("\\x");
			break;
		}
		out_char(v);
		break;
	}
	case '\0':
		out_char('\\');
		break;
	default:
		if (bmode || c != '"') {
			out_char('\\');
			out_char(c);
		} else {
			out_char(c);
		}
		p++;
		break;
	}
	*pp = p;
}

/* Numbers for %d and friends: 'c and "c give the character's code; others must be whole integers. */
static intmax_t get_int(const char *s, int *rc)
{
	if (s[0] == '\'' || s[0] == '"')
		return (unsigned char)s[1];
	char *end;
	errno = 0;
	intmax_t v;
	const char *q = s;
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q == '-')
		v = strtoimax(s, &end, 0);
	else
		v = (intmax_t)strtoumax(s, &end, 0);
	if (end == s || *s == '\0') {
		if (*s) {
			sh_warnf("printf: %s: expected numeric value", s);
			*rc = 1;
		}
		return 0;
	}
	if (*end) {
		sh_warnf("printf: %s: not completely converted", s);
		*rc = 1;
	} else if (errno == ERANGE) {
		sh_warnf("printf: %s: %s", s, strerror(ERANGE));
		*rc = 1;
	}
	return v;
}

/* Widths and precisions beyond this are refused: a typo must not make printf allocate gigabytes. */
#define MAX_WIDTH 1000000

static int clamp_width(intmax_t v, int *rc)
{
	if (v > MAX_WIDTH || v < -MAX_WIDTH) {
		sh_warnf("printf: %jd: field width or precision too large", v);
		*rc = 1;
		return 0;
	}
	return (int)v;
}

static double get_float(const char *s, int *rc)
{
	if (s[0] == '\'' || s[0] == '"')
		return (unsigned char)s[1];
	char *end;
	double v = strtod(s, &end);
	if (*s && (end == s || *end)) {
		sh_warnf("printf: %s: %s", s, end == s ? "expected numeric value" : "not completely converted");
		*rc = 1;
	}
	return v;
}

int c_printf(int argc, char **argv)
{
	int i = 1;
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		sh_warnf("printf: usage: printf format [arguments]");
		return 2;
	}
	const char *fmt = argv[i++];
	char **args = argv + i;
	int nargs = argc - i, ai = 0;
	int rc = 0;
	bool stop = false;
	char spec[64];
	do {
		bool used_arg = false;
		for (const char *p = fmt; *p && !stop;) {
			if (*p == '\\') {
				p++;
				put_escape(&p, false, &stop);
				continue;
			}
			if (*p != '%') {
				const char *q = p;
				while (*q && *q != '%' && *q != '\\')
					q++;
				out_write(p, (size_t)(q - p));
				p = q;
				continue;
			}
			if (p[1] == '%') {
				out_char('%');
				p += 2;
				continue;
			}
			/* Collect the conversion: flags, width, precision, letter. */
			size_t n = 0;
			spec[n++] = *p++;
			while (*p && strchr("-+ #0", *p) && n < 40)
				spec[n++] = *p++;
			int star[2], ns = 0;
			if (*p == '*') {
				star[ns++] = ai < nargs ? clamp_width(get_int(args[ai++], &rc), &rc) : 0;
				used_arg = true;
				spec[n++] = '*';
				p++;
			} else
				while (*p >= '0' && *p <= '9' && n < 50)
					spec[n++] = *p++;
			if (*p == '.') {
				spec[n++] = *p++;
				if (*p == '*') {
					star[ns++] = ai < nargs ? clamp_width(get_int(args[ai++], &rc), &rc) : 0;
					used_arg = true;
					spec[n++] = '*';
					p++;
				} else
					while (*p >= '0' && *p <= '9' && n < 58)
						spec[n++] = *p++;
			}
			/* Length modifiers are accepted and ignored. */
			while (*p && strchr("hlLjzt", *p))
				p++;
			/* Literal widths and precisions are bounded like * ones. */
			for (size_t k = 1; k < n; k++) {
				if (spec[k] >= '1' && spec[k] <= '9') {
					long w = strtol(spec + k, NULL, 10);
					if (w > MAX_WIDTH) {
						sh_warnf("printf: %ld: field width or precision too large", w);
						return 1;
					}
					while (k + 1 < n && spec[k + 1] >= '0' && spec[k + 1] <= '9')
						k++;
				}
			}
			char conv = *p;
			if (conv == '\0') {
				sh_warnf("printf: %s: invalid conversion", spec);
				return 1;
			}
			p++;
			const char *arg = NULL;
			if (strchr("diouxXcsbeEfFgGaA", conv)) {
				if (ai < nargs)
					arg = args[ai++];
				used_arg = true;
			} else {
				spec[n] = '\0';
				sh_warnf("printf: %%%c: invalid directive", conv);
				return 1;
			}
			char *out = NULL;
			int len = -1;
			switch (conv) {
			case 'd': case 'i': {
				intmax_t v = arg ? get_int(arg, &rc) : 0;
				memcpy(spec + n, "jd", 3);
				spec[n + 1] = conv;
				len = ns == 2 ? asprintf(&out, spec, star[0], star[1], v) : ns == 1 ? asprintf(&out, spec, star[0], v) : asprintf(&out, spec, v);
				break;
			}
			case 'o': case 'u': case 'x': case 'X': {
				uintmax_t v = arg ? (uintmax_t)get_int(arg, &rc) : 0;
				spec[n] = 'j';
				spec[n + 1] = conv;
				spec[n + 2] = '\0';
				len = ns == 2 ? asprintf(&out, spec, star[0], star[1], v) : ns == 1 ? asprintf(&out, spec, star[0], v) : asprintf(&out, spec, v);
				break;
			}
			case 'e': case 'E': case 'f': case 'F': case 'g': case 'G': case 'a': case 'A': {
				double v = arg ? get_float(arg, &rc) : 0;
				spec[n] = conv;
				spec[n + 1] = '\0';
				len = ns == 2 ? asprintf(&out, spec, star[0], star[1], v) : ns == 1 ? asprintf(&out, spec, star[0], v) : asprintf(&out, spec, v);
				break;
			}
			case 'c':
			case 's':
			case 'b': {
				const char *s = arg ? arg : "";
				char cbuf[2] = {0, 0};
				if (conv == 'c') {
					cbuf[0] = s[0];
					s = cbuf;
				}
				if (conv == 'b') {
					/* Expand escapes into a temporary buffer, then format it as %s. */
					struct outbuf tmp = {0}, *saved = sh_out;
					tmp.fd = -1;
					sh_out = &tmp;
					for (const char *q = s; *q && !stop;) {
						if (*q == '\\') {
							q++;
							put_escape(&q, true, &stop);
						} else {
							out_char(*q++);
						}
					}
					out_char('\0');
					sh_out = saved;
					spec[n] = 's';
					spec[n + 1] = '\0';
					len = ns == 2 ? asprintf(&out, spec, star[0], star[1], tmp.buf) : ns == 1 ? asprintf(&out, spec, star[0], tmp.buf) : asprintf(&out, spec, tmp.buf);
					free(tmp.buf);
					break;
				}
				spec[n] = 's';
				spec[n + 1] = '\0';
				if (conv == 'c' && cbuf[0] == '\0' && arg && arg[0] == '\0') {
					len = 0;
					out = xstrdup("");
					break;
				}
				len = ns == 2 ? asprintf(&out, spec, star[0], star[1], s) : ns == 1 ? asprintf(&out, spec, star[0], s) : asprintf(&out, spec, s);
				break;
			}
			}
			if (len > 0)
				out_write(out, (size_t)len);
			free(out);
		}
		if (!used_arg)
			break;
	} while (ai < nargs && !stop);
	return rc;
}

int echo_words(char **words, bool escapes, bool nl)
{
	bool stop = false;
	for (char **w = words; *w && !stop; w++) {
		const char *s = *w;
		const char *q = s;
		while (*q && *q != '\\')
			q++;
		if (!escapes)
			q += strlen(q);
		out_write(s, (size_t)(q - s));
		while (*q && !stop) {
			if (*q == '\\') {
				q++;
				put_escape(&q, true, &stop);
			} else
				out_char(*q++);
		}
		if (w[1] && !stop)
			out_char(' ');
	}
	if (nl && !stop)
		out_char('\n');
	return 0;
}

int c_echo(int argc, char **argv)
{
	int i = 1;
	bool nl = true;
	/* XSI echo: only -n is an option; escapes are always interpreted (as dash does). */
	if (i < argc && strcmp(argv[i], "-n") == 0) {
		nl = false;
		i++;
	}
	return echo_words(argv + i, true, nl);
}
