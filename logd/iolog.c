/* SPDX-License-Identifier: ISC */
/* sudo I/O log format: timing lines, safe log ids, path templates, and the reader used by pbreplay and restarts. */
#include "iolog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"

#ifdef __linux__
#include <linux/openat2.h>
#endif

static const char *const stream_names[IOLOG_NSTREAMS] = {
	"stdin", "stdout", "stderr", "ttyin", "ttyout",
};

const char *iolog_stream_name(int type)
{
	if (type >= 0 && type < IOLOG_NSTREAMS)
		return stream_names[type];
	if (type == IOLOG_TTYOUT_187)
		return stream_names[IOLOG_TTYOUT];
	return NULL;
}

struct timespec ts_add(struct timespec a, struct timespec b)
{
	struct timespec r = {a.tv_sec + b.tv_sec, a.tv_nsec + b.tv_nsec};
	if (r.tv_nsec >= 1000000000L) {
		r.tv_sec++;
		r.tv_nsec -= 1000000000L;
	}
	return r;
}

int ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

bool ts_valid_delay(int64_t sec, int32_t nsec)
{
	/* A day between two records is generous; it keeps sums far from overflow. */
	return sec >= 0 && sec <= 100L * 365 * 86400 && nsec >= 0 && nsec < 1000000000;
}

/* parse_u64: a decimal number at *p (advanced); false when there is none or it overflows. */
static bool parse_u64(const char **p, const char *end, uint64_t *out, unsigned *ndigits)
{
	uint64_t v = 0;
	unsigned n = 0;
	while (*p < end && **p >= '0' && **p <= '9') {
		unsigned d = (unsigned)(**p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		(*p)++;
		n++;
	}
	*out = v;
	if (ndigits != NULL)
		*ndigits = n;
	return n > 0;
}

static bool expect_space(const char **p, const char *end)
{
	if (*p >= end || **p != ' ')
		return false;
	while (*p < end && **p == ' ')
		(*p)++;
	return true;
}

int iolog_parse_timing(const char *line, size_t n, struct iolog_rec *rec, const char **errstr)
{
	const char *p = line, *end = line + n;
	uint64_t v;
	memset(rec, 0, sizeof(*rec));
	if (!parse_u64(&p, end, &v, NULL) || v >= IOLOG_NTYPES) {
		*errstr = "bad record type";
		return PB_ERR_PROTO;
	}
	rec->type = (int)v;
	if (!expect_space(&p, end)) {
		*errstr = "missing delay";
		return PB_ERR_PROTO;
	}
	/* Delay: seconds, optionally '.' and up to nine digits of fraction (older sudo wrote fewer). */
	uint64_t sec, frac = 0;
	unsigned nd = 0;
	if (!parse_u64(&p, end, &sec, NULL) || sec > INT32_MAX) {
		*errstr = "bad delay";
		return PB_ERR_PROTO;
	}
	if (p < end && *p == '.') {
		p++;
		if (!parse_u64(&p, end, &frac, &nd) || nd > 9) {
			*errstr = "bad delay fraction";
			return PB_ERR_PROTO;
		}
		for (unsigned i = nd; i < 9; i++)
			frac *= 10;
	}
	rec->delay.tv_sec = (time_t)sec;
	rec->delay.tv_nsec = (long)frac;
	if (!expect_space(&p, end)) {
		*errstr = "missing record data";
		return PB_ERR_PROTO;
	}
	switch (rec->type) {
	case IOLOG_WINSIZE: {
		uint64_t rows, cols;
		if (!parse_u64(&p, end, &rows, NULL) || !expect_space(&p, end) ||
		    !parse_u64(&p, end, &cols, NULL) || rows > INT32_MAX || cols > INT32_MAX) {
			*errstr = "bad window size";
			return PB_ERR_PROTO;
		}
		rec->rows = (int)rows;
		rec->cols = (int)cols;
		break;
	}
	case IOLOG_SUSPEND: {
		size_t l = 0;
		while (p + l < end && l < IOLOG_SIG_MAX - 1 &&
		       ((p[l] >= 'A' && p[l] <= 'Z') || (p[l] >= '0' && p[l] <= '9')))
			l++;
		if (l == 0) {
			*errstr = "bad signal name";
			return PB_ERR_PROTO;
		}
		memcpy(rec->signame, p, l);
		rec->signame[l] = '\0';
		p += l;
		break;
	}
	default:
		if (!parse_u64(&p, end, &v, NULL) || v > SIZE_MAX / 2) {
			*errstr = "bad byte count";
			return PB_ERR_PROTO;
		}
		rec->len = (size_t)v;
		break;
	}
	if (p != end) {
		*errstr = "trailing characters";
		return PB_ERR_PROTO;
	}
	return 0;
}

size_t iolog_format_timing(const struct iolog_rec *rec, char *buf, size_t len)
{
	int n;
	switch (rec->type) {
	case IOLOG_WINSIZE:
		n = snprintf(buf, len, "%d %lld.%09ld %d %d\n", rec->type, (long long)rec->delay.tv_sec,
			     rec->delay.tv_nsec, rec->rows, rec->cols);
		break;
	case IOLOG_SUSPEND:
		n = snprintf(buf, len, "%d %lld.%09ld %s\n", rec->type, (long long)rec->delay.tv_sec,
			     rec->delay.tv_nsec, rec->signame);
		break;
	default:
		n = snprintf(buf, len, "%d %lld.%09ld %zu\n", rec->type, (long long)rec->delay.tv_sec,
			     rec->delay.tv_nsec, rec->len);
		break;
	}
	if (n < 0 || (size_t)n >= len)
		return 0;
	return (size_t)n;
}

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '+';
}

bool iolog_id_valid(const char *id)
{
	size_t n = strnlen(id, IOLOG_ID_MAX + 1);
	if (n == 0 || n > IOLOG_ID_MAX || id[0] == '/')
		return false;
	const char *comp = id;
	for (size_t i = 0; i <= n; i++) {
		char c = id[i];
		if (c == '/' || c == '\0') {
			size_t cl = (size_t)(id + i - comp);
			if (cl == 0)
				return false;
			if ((cl == 1 && comp[0] == '.') || (cl == 2 && comp[0] == '.' && comp[1] == '.'))
				return false;
			comp = id + i + 1;
			continue;
		}
		if (!id_char(c))
			return false;
	}
	return true;
}

/* append_value: a substituted value, made safe as one path component part. */
static bool append_value(char *out, size_t outlen, size_t *o, const char *val)
{
	if (val == NULL || *val == '\0')
		val = "unknown";
	size_t vl = strlen(val);
	bool dots = strspn(val, ".") == vl;
	for (size_t i = 0; i < vl; i++) {
		if (*o + 1 >= outlen)
			return false;
		char c = val[i];
		/* '/' must not start a new component; dots alone must not form "." or "..". */
		out[(*o)++] = (id_char(c) && !dots) ? c : '_';
	}
	return true;
}

static const char b36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static bool fill_random(char *p, size_t n)
{
	unsigned char rnd[64];
	while (n > 0) {
		size_t k = n < sizeof(rnd) ? n : sizeof(rnd);
		if (getrandom(rnd, k, 0) != (ssize_t)k)
			return false;
		for (size_t i = 0; i < k; i++)
			/* 252 = 7*36: rejection keeps every character equally likely. */
			while (rnd[i] >= 252) {
				if (getrandom(&rnd[i], 1, 0) != 1)
					return false;
			}
		for (size_t i = 0; i < k; i++)
			p[i] = b36[rnd[i] % 36];
		p += k;
		n -= k;
	}
	return true;
}

int iolog_expand_path(const char *tmpl, const struct iolog_vars *v, char *out, size_t outlen,
		      const char **errstr)
{
	size_t o = 0;
	struct tm tm;
	time_t when = v->when ? v->when : time(NULL);
	localtime_r(&when, &tm);
	if (outlen < 32) {
		*errstr = "output buffer too small";
		return PB_ERR_INVAL;
	}
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (o + 1 >= outlen)
			goto toolong;
		if (*p != '%') {
			if (*p != '/' && !id_char(*p)) {
				*errstr = "character not allowed in the path template";
				return PB_ERR_INVAL;
			}
			out[o++] = *p;
			continue;
		}
		p++;
		const char *val = NULL;
		bool have = true;
		if (*p == '{') {
			const char *close = strchr(p, '}');
			if (close == NULL) {
				*errstr = "unterminated %{ in the path template";
				return PB_ERR_INVAL;
			}
			size_t kl = (size_t)(close - p - 1);
			const char *k = p + 1;
#define KEY(s) (kl == sizeof(s) - 1 && memcmp(k, s, kl) == 0)
			if (KEY("seq")) {
				/* sudo's sequence layout: base 36, two digits per directory. */
				char sq[9];
				uint64_t n = v->seq % (36ULL * 36 * 36 * 36 * 36 * 36);
				for (int d = 5; d >= 0; d--) {
					sq[d + d / 2] = b36[n % 36];
					n /= 36;
				}
				sq[2] = sq[5] = '/';
				sq[8] = '\0';
				if (o + 8 >= outlen)
					goto toolong;
				memcpy(out + o, sq, 8);
				o += 8;
				p = close;
				continue;
			} else if (KEY("user"))
				val = v->user;
			else if (KEY("group"))
				val = v->group;
			else if (KEY("runas_user"))
				val = v->runuser;
			else if (KEY("runas_group"))
				val = v->rungroup;
			else if (KEY("hostname") || KEY("host"))
				val = v->host;
			else if (KEY("command"))
				val = v->command;
			else {
				*errstr = "unknown %{...} escape in the path template";
				return PB_ERR_INVAL;
			}
#undef KEY
			p = close;
		} else {
			switch (*p) {
			case 'u': val = v->user; break;
			case 'g': val = v->group; break;
			case 'U': val = v->runuser; break;
			case 'G': val = v->rungroup; break;
			case 'h': val = v->host; break;
			case 'c': val = v->command; break;
			case '%':
				out[o++] = '%';
				have = false;
				break;
			case '\0':
				*errstr = "template ends with %";
				return PB_ERR_INVAL;
			default: {
				char fmt[3] = {'%', *p, '\0'};
				char tbuf[128];
				size_t tl = strftime(tbuf, sizeof(tbuf), fmt, &tm);
				for (size_t i = 0; i < tl; i++)
					if (!id_char(tbuf[i]))
						tbuf[i] = '_';
				tbuf[tl] = '\0';
				if (!append_value(out, outlen, &o, tl ? tbuf : "_"))
					goto toolong;
				have = false;
				break;
			}
			}
		}
		/* A command is named by its base name, as sudo's %{command}. */
		if (have && val != NULL && val == v->command && strrchr(val, '/') != NULL)
			val = strrchr(val, '/') + 1;
		if (have && !append_value(out, outlen, &o, val))
			goto toolong;
	}
	out[o] = '\0';
	/* The unguessable part: a trailing XXXXXX run, or sixteen random characters added. */
	size_t xs = 0;
	while (xs < o && out[o - 1 - xs] == 'X')
		xs++;
	if (xs < 6) {
		if (o + 18 >= outlen)
			goto toolong;
		out[o++] = '-';
		memset(out + o, 'X', 16);
		o += 16;
		out[o] = '\0';
		xs = 16;
	}
	if (!fill_random(out + o - xs, xs)) {
		*errstr = "no random numbers";
		return PB_ERR_IO;
	}
	if (!iolog_id_valid(out)) {
		*errstr = "the path template does not give a valid relative path";
		return PB_ERR_INVAL;
	}
	return 0;
toolong:
	*errstr = "expanded path too long";
	return PB_ERR_INVAL;
}

int iolog_open_beneath(int rootfd, const char *id, int flags)
{
	if (!iolog_id_valid(id))
		return -EINVAL;
#if defined(__linux__) && defined(SYS_openat2)
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, id, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -errno;
#endif
	/* No openat2: walk component by component, refusing symlinks at each step. */
	char buf[IOLOG_ID_MAX + 1];
	snprintf(buf, sizeof(buf), "%s", id);
	int dfd = dup(rootfd);
	if (dfd < 0)
		return -errno;
	char *save = NULL;
	char *comp = strtok_r(buf, "/", &save);
	while (comp != NULL) {
		char *next = strtok_r(NULL, "/", &save);
		int fl = next != NULL ? (O_RDONLY | O_DIRECTORY) : flags;
		int nfd = openat(dfd, comp, fl | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(dfd);
		if (nfd < 0)
			return -e;
		dfd = nfd;
		comp = next;
	}
	return dfd;
}

/* ---- reader ---- */

struct iolog_reader {
	int dirfd;
	FILE *timing;		/* NULL when reading from memory */
	const char *mem;
	size_t memlen, mempos;
	int fds[IOLOG_NSTREAMS];
	char *line;
	size_t linecap;
	unsigned lineno;
};

int iolog_reader_open(const char *dir, struct iolog_reader **out, const char **errstr)
{
	struct iolog_reader *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		*errstr = "out of memory";
		return PB_ERR_NOMEM;
	}
	for (int i = 0; i < IOLOG_NSTREAMS; i++)
		r->fds[i] = -1;
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0) {
		*errstr = strerror(errno);
		iolog_reader_close(r);
		return errno == ENOENT ? PB_ERR_NOTFOUND : PB_ERR_IO;
	}
	int tfd = openat(r->dirfd, "timing", O_RDONLY | O_CLOEXEC);
	if (tfd < 0 || (r->timing = fdopen(tfd, "r")) == NULL) {
		*errstr = "cannot open the timing file";
		if (tfd >= 0)
			close(tfd);
		iolog_reader_close(r);
		return PB_ERR_NOTFOUND;
	}
	for (int i = 0; i < IOLOG_NSTREAMS; i++)
		r->fds[i] = openat(r->dirfd, stream_names[i], O_RDONLY | O_CLOEXEC);
	*out = r;
	return 0;
}

int iolog_reader_mem(const char *timing, size_t len, struct iolog_reader **out)
{
	struct iolog_reader *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return PB_ERR_NOMEM;
	r->dirfd = -1;
	for (int i = 0; i < IOLOG_NSTREAMS; i++)
		r->fds[i] = -1;
	r->mem = timing;
	r->memlen = len;
	*out = r;
	return 0;
}

void iolog_reader_close(struct iolog_reader *r)
{
	if (r == NULL)
		return;
	if (r->timing != NULL)
		fclose(r->timing);
	for (int i = 0; i < IOLOG_NSTREAMS; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	if (r->dirfd >= 0)
		close(r->dirfd);
	free(r->line);
	free(r);
}

int iolog_reader_next(struct iolog_reader *r, struct iolog_rec *rec, const char **errstr,
		      unsigned *lineno)
{
	const char *line;
	size_t n;
	if (r->timing != NULL) {
		ssize_t got = getline(&r->line, &r->linecap, r->timing);
		if (got <= 0)
			return 0;
		if (r->line[got - 1] != '\n')
			return 0; /* a partial last line: never acknowledged, so not part of the log */
		line = r->line;
		n = (size_t)got - 1;
	} else {
		if (r->mempos >= r->memlen)
			return 0;
		const char *start = r->mem + r->mempos;
		const char *nl = memchr(start, '\n', r->memlen - r->mempos);
		if (nl == NULL)
			return 0;
		line = start;
		n = (size_t)(nl - start);
		r->mempos += n + 1;
	}
	r->lineno++;
	if (lineno != NULL)
		*lineno = r->lineno;
	if (memchr(line, '\0', n) != NULL) {
		*errstr = "NUL byte in timing line";
		return PB_ERR_PROTO;
	}
	int rc = iolog_parse_timing(line, n, rec, errstr);
	return rc < 0 ? rc : 1;
}

static int stream_index(int type)
{
	if (type == IOLOG_TTYOUT_187)
		return IOLOG_TTYOUT;
	return type >= 0 && type < IOLOG_NSTREAMS ? type : -1;
}

ssize_t iolog_reader_data(struct iolog_reader *r, const struct iolog_rec *rec, void *buf)
{
	int s = stream_index(rec->type);
	if (s < 0 || r->fds[s] < 0)
		return 0;
	size_t done = 0;
	while (done < rec->len) {
		ssize_t k = read(r->fds[s], (char *)buf + done, rec->len - done);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return PB_ERR_IO;
		}
		if (k == 0)
			break;
		done += (size_t)k;
	}
	return (ssize_t)done;
}

int iolog_reader_skip(struct iolog_reader *r, const struct iolog_rec *rec)
{
	int s = stream_index(rec->type);
	if (s < 0 || r->fds[s] < 0)
		return 0;
	if (lseek(r->fds[s], (off_t)rec->len, SEEK_CUR) < 0)
		return PB_ERR_IO;
	return 0;
}

bool iolog_is_complete(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/timing", dir);
	if (stat(path, &st) != 0)
		return false;
	return (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0;
}
