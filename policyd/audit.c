/* SPDX-License-Identifier: ISC */
/* The audit trail: every decision appended to a JSON Lines file; the lines of a turn of the server's loop in one write(2), after its answers. */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

/* Lines waiting past this are written at once, whatever the turn. */
#define AUDIT_PENDING_MAX 65536

struct pd_audit {
	int fd;
	char *buf; /* the lines not yet written, whole lines only */
	size_t len, cap;
};

struct pd_audit *pd_audit_open(const char *path, const char **errstr)
{
	static char msg[512];
	struct pd_audit *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		*errstr = "out of memory";
		return NULL;
	}
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		snprintf(msg, sizeof(msg), "audit file %s: %s", path, strerror(errno));
		*errstr = msg;
		free(a);
		return NULL;
	}
	return a;
}

void pd_audit_free(struct pd_audit *a)
{
	if (a == NULL)
		return;
	(void)pd_audit_flush(a);
	close(a->fd);
	free(a->buf);
	free(a);
}

static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap : 512;
		while (*len + n + 1 > nc)
			nc *= 2;
		char *nb = realloc(*buf, nc);
		if (nb == NULL)
			return PB_ERR_NOMEM;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* Length of a valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] >= 0xc2 && s[0] <= 0xdf && (s[1] & 0xc0) == 0x80)
		return 2;
	if (s[0] >= 0xe0 && s[0] <= 0xef && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80 &&
	    (s[3] & 0xc0) == 0x80) {
		if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

int pd_json_str(char **buf, size_t *len, size_t *cap, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	char esc[8];
	if (put(buf, len, cap, "\"", 1) < 0)
		return PB_ERR_NOMEM;
	while (*p) {
		const unsigned char *run = p;
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run && put(buf, len, cap, (const char *)run, (size_t)(p - run)) < 0)
			return PB_ERR_NOMEM;
		if (*p == '\0')
			break;
		size_t u = *p >= 0x80 ? utf8_len(p) : 0;
		if (u > 0) {
			if (put(buf, len, cap, (const char *)p, u) < 0)
				return PB_ERR_NOMEM;
			p += u;
			continue;
		}
		switch (*p) {
		case '"':
			strcpy(esc, "\\\"");
			break;
		case '\\':
			strcpy(esc, "\\\\");
			break;
		case '\n':
			strcpy(esc, "\\n");
			break;
		case '\t':
			strcpy(esc, "\\t");
			break;
		case '\r':
			strcpy(esc, "\\r");
			break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			break;
		}
		if (put(buf, len, cap, esc, strlen(esc)) < 0)
			return PB_ERR_NOMEM;
		p++;
	}
	return put(buf, len, cap, "\"", 1);
}

int pd_audit_write(struct pd_audit *a, const struct pe_request *rq, const PolicyDecision *d)
{
	size_t len = a->len;
	char ts[64];
	struct tm tm;
	time_t t = rq->now;
	int rc = 0;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
#define KEY(k) (rc = rc < 0 ? rc : put(&a->buf, &len, &a->cap, k, strlen(k)))
#define STR(v) (rc = rc < 0 ? rc : pd_json_str(&a->buf, &len, &a->cap, v))
	KEY("{\"time\":");
	STR(ts);
	KEY(",\"uniqueid\":");
	STR(d->uniqueid);
	KEY(",\"host\":");
	STR(rq->host);
	KEY(",\"user\":");
	STR(rq->user);
	KEY(",\"mode\":");
	STR(pe_mode_name(rq->mode));
	KEY(",\"command\":");
	STR(rq->command);
	KEY(",\"argv\":[");
	for (size_t i = 0; i < rq->argc; i++) {
		if (i > 0)
			KEY(",");
		STR(rq->argv[i]);
	}
	KEY("],\"cwd\":");
	STR(rq->cwd);
	KEY(",\"tty\":");
	STR(rq->tty);
	KEY(",\"result\":");
	STR(d->accept ? "accept" : "reject");
	KEY(",\"reason\":");
	STR(d->reason);
	KEY(",\"rule\":");
	STR(d->rule);
	KEY(",\"policy_hash\":");
	STR(d->policy_hash);
	KEY("}\n");
#undef KEY
#undef STR
	if (rc < 0)
		return rc; /* the part line is dropped: a->len still ends the last whole line */
	a->len = len;
	if (a->len >= AUDIT_PENDING_MAX)
		return pd_audit_flush(a);
	return 0;
}

int pd_audit_flush(struct pd_audit *a)
{
	if (a == NULL || a->len == 0)
		return 0;
	size_t off = 0;
	int rc = 0;
	while (off < a->len) {
		ssize_t w = write(a->fd, a->buf + off, a->len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = PB_ERR_IO;
			break;
		}
		off += (size_t)w;
	}
	a->len = 0;
	/* A huge argv grew the buffer: give the memory back rather than keep 2 MiB per daemon. */
	if (a->cap > 2 * AUDIT_PENDING_MAX) {
		free(a->buf);
		a->buf = NULL;
		a->cap = 0;
	}
	return rc;
}
