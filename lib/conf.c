/* SPDX-License-Identifier: ISC */
/* Configuration, settings half: the pbsh.yaml schema table, loader into a fresh copy, and getters. */
#include "conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/auxv.h>
#endif

#include <yaml.h>

#include "err.h"
#include "conf_int.h"

/* ===========================================================================
 * The schema of pbsh.yaml
 * ======================================================================== */

enum ktype {
	T_STR,
	T_PATH, /* absolute path */
	T_BOOL,
	T_INT,       /* min..max */
	T_DURATION,  /* milliseconds, min..max */
	T_SIZE,      /* bytes, min..max */
	T_HOSTPORTS, /* list of host:port, port 1-65535 (servers to connect to) */
	T_LISTEN,    /* list of host:port, port 0 allowed (0: the kernel picks, for tests) */
	T_STRLIST,
	T_MODE,    /* octal */
	T_LOGDEST, /* syslog | stderr | file:/PATH | /PATH */
	T_ENUM,    /* one word of a fixed set, named by its validator (ENUM_CHECK below) */
};


/* How each type is named in listings and the manual. */
#define TN_T_STR "string"
#define TN_T_PATH "path"
#define TN_T_BOOL "bool"
#define TN_T_INT "integer"
#define TN_T_DURATION "duration"
#define TN_T_SIZE "size"
#define TN_T_HOSTPORTS "host:port list"
#define TN_T_LISTEN "host:port list"
#define TN_T_STRLIST "string list"
#define TN_T_MODE "octal mode"
#define TN_T_LOGDEST "log destination"
#define TN_T_ENUM "enum"

/* Validators of single strings (a string value, or each item of a list): NULL when fine, else why
 * not. */
typedef const char *(*check_fn)(const char *s);
static const char *v_debug(const char *s);
static const char *v_account(const char *s);
static const char *v_hostname(const char *s);
static const char *v_ident(const char *s);
static const char *v_template(const char *s);
static const char *check_enum(const char *s, const char *const *choices);

/* ENUM_CHECK(v_name, "a", "b"): the validator of a T_ENUM setting, naming its words. */
#define ENUM_CHECK(fn, ...)                                                                        \
	static const char *fn(const char *s)                                                       \
	{                                                                                          \
		static const char *const choices[] = {__VA_ARGS__, NULL};                          \
		return check_enum(s, choices);                                                     \
	}

ENUM_CHECK(v_hostcheck, "strict", "record")

#define MS_ 1LL
#define SEC_ 1000LL
#define MIN_ (60 * SEC_)
#define HOUR_ (60 * MIN_)
#define DAY_ (24 * HOUR_)
#define KIB_ 1024LL
#define MIB_ (1024 * KIB_)
#define GIB_ (1024 * MIB_)
#define TIB_ (1024 * GIB_)

/*
 * THE SCHEMA: one line per setting; add a setting with a one-line edit here
 * (keep each section's keys together), then document it in man/pbsh.yaml.5
 * and conf/pbsh.yaml and give it a value in tests/conf/test_conf.c's
 * every_key: the unit tests check all three.
 *
 *   key      "section.name" or "name" (sections: tls, timeouts, policyd, logd;
 *            a new section needs nothing else)
 *   type     T_* above
 *   default  as it would be written in the file; lists comma-separated;
 *            NULL: unset (the getter returns NULL / an empty list)
 *   min,max  range for T_INT, T_DURATION (ms), T_SIZE (bytes), T_MODE; else 0, 0
 *   check    validator for strings and list items, or NULL; for T_ENUM the
 *            ENUM_CHECK that lists its words
 *   desc     one line for listings
 */
/* clang-format off */
#define PB_CONF_SCHEMA(K)                                                                        \
	K("policyservers", T_HOSTPORTS, NULL, 0, 0, NULL,                                         \
	  "policy servers (host:port), tried in order; none: no policy server")                  \
	K("logservers", T_HOSTPORTS, NULL, 0, 0, NULL,                                            \
	  "log servers (host:port), tried in order")                                             \
	K("admins", T_STRLIST, NULL, 0, 0, v_ident,                                               \
	  "client certificate identities allowed administrative requests")                      \
	K("max_frame", T_SIZE, "2MiB", 4 * KIB_, 64 * MIB_, NULL,                                 \
	  "largest protocol frame sent or accepted")                                             \
	K("spooldir", T_PATH, PB_LOCALSTATEDIR "/spool/pbsh", 0, 0, NULL,                         \
	  "where events and I/O logs wait while no log server answers")                          \
	K("kshlog", T_PATH, NULL, 0, 0, NULL,                                                     \
	  "file that pbksh --debug traces go to (unset: standard error)")                        \
	K("shlog", T_PATH, NULL, 0, 0, NULL,                                                      \
	  "file that pbsh --debug traces go to (unset: standard error)")                         \
	K("tls.ca", T_PATH, NULL, 0, 0, NULL, "PEM file of the private CA every peer must chain to") \
	K("tls.cert", T_PATH, NULL, 0, 0, NULL, "this host's certificate (PEM)")                  \
	K("tls.key", T_PATH, NULL, 0, 0, NULL, "the private key of tls.cert (PEM)")               \
	K("tls.servername", T_STR, NULL, 0, 0, v_hostname,                                        \
	  "name server certificates must carry (unset: the host of each server)")                \
	K("tls.plaintext_for_tests", T_BOOL, "false", 0, 0, NULL,                                 \
	  "TESTS ONLY: no TLS at all, loopback addresses only")                                  \
	K("timeouts.connect", T_DURATION, "3s", 1 * MS_, 10 * MIN_, NULL,                         \
	  "connecting to one server, TLS handshake included")                                    \
	K("timeouts.request", T_DURATION, "10s", 1 * MS_, 1 * HOUR_, NULL,                        \
	  "waiting for the answer to one request")                                               \
	K("timeouts.spool_retry", T_DURATION, "30s", 100 * MS_, 1 * HOUR_, NULL,                  \
	  "a session logging to the spool tries the log servers again this often")               \
	K("policyd.listen", T_LISTEN, "0.0.0.0:7714", 0, 0, NULL, "addresses policyd listens on") \
	K("policyd.policy", T_PATH, PB_SYSCONFDIR "/pbsh-policy.yaml", 0, 0, NULL,                \
	  "the policy file (policy.yaml(5))")                                                    \
	K("policyd.audit", T_PATH, NULL, 0, 0, NULL,                                              \
	  "JSON Lines file of every decision (unset: none)")                                     \
	K("policyd.pidfile", T_PATH, PB_LOCALSTATEDIR "/run/pbsh-policyd.pid", 0, 0, NULL,        \
	  "pid file, locked while policyd runs")                                                 \
	K("policyd.user", T_STR, NULL, 0, 0, v_account,                                           \
	  "user to run as after binding (unset: stay)")                                          \
	K("policyd.group", T_STR, NULL, 0, 0, v_account,                                          \
	  "group to run as (unset: the user's primary group)")                                   \
	K("policyd.log", T_LOGDEST, NULL, 0, 0, NULL,                                             \
	  "syslog, stderr or file:/PATH (unset: stderr in the foreground, else syslog)")         \
	K("policyd.debug", T_STR, NULL, 0, 0, v_debug, "debug trace levels such as policy@5,tls@2") \
	K("policyd.max_connections", T_INT, "1024", 1, 1000000, NULL,                             \
	  "most simultaneous connections")                                                       \
	K("policyd.max_connections_per_peer", T_INT, "64", 1, 1000000, NULL,                      \
	  "most simultaneous connections from one address")                                      \
	K("policyd.idle_timeout", T_DURATION, "1h", 0, 7 * DAY_, NULL,                            \
	  "close a connection silent this long (0: never)")                                      \
	K("policyd.frame_timeout", T_DURATION, "30s", 100 * MS_, 1 * HOUR_, NULL,                 \
	  "a frame once started must arrive whole within this")                                  \
	K("policyd.handshake_timeout", T_DURATION, "10s", 100 * MS_, 10 * MIN_, NULL,             \
	  "a new connection must finish its TLS handshake within this")                          \
	K("policyd.stop_timeout", T_DURATION, "10s", 0, 1 * HOUR_, NULL,                          \
	  "on a normal stop, wait this long for requests in progress")                           \
	K("logd.listen", T_LISTEN, "0.0.0.0:30344", 0, 0, NULL, "addresses logd listens on")      \
	K("logd.eventlog", T_PATH, PB_LOCALSTATEDIR "/log/pbsh/events.jsonl", 0, 0, NULL,         \
	  "the JSON Lines event log: a file, or a directory of event files")                     \
	K("logd.eventlog_rotate", T_SIZE, "64MiB", 0, 1 * TIB_, NULL,                             \
	  "start a new event file past this size (0: never)")                                    \
	K("logd.iolog_dir", T_PATH, PB_LOCALSTATEDIR "/log/pbsh/io", 0, 0, NULL,                  \
	  "top directory of the I/O logs")                                                       \
	K("logd.iolog_path", T_STR, "%{seq}", 0, 0, v_template,                                   \
	  "I/O log directory under iolog_dir, a template such as %{user}/%{seq}")                \
	K("logd.iolog_mode", T_MODE, "0600", 0, 0777, NULL,                                          \
	  "mode of I/O log files (directories get the matching search bits)")                    \
	K("logd.commit_interval", T_DURATION, "10s", 100 * MS_, 1 * HOUR_, NULL,                  \
	  "how often a client is told what is safely stored")                                    \
	K("logd.pidfile", T_PATH, PB_LOCALSTATEDIR "/run/pbsh-logd.pid", 0, 0, NULL,              \
	  "pid file, locked while logd runs")                                                    \
	K("logd.user", T_STR, NULL, 0, 0, v_account, "user to run as after binding (unset: stay)") \
	K("logd.group", T_STR, NULL, 0, 0, v_account,                                             \
	  "group to run as (unset: the user's primary group)")                                   \
	K("logd.log", T_LOGDEST, NULL, 0, 0, NULL,                                                \
	  "syslog, stderr or file:/PATH (unset: stderr in the foreground, else syslog)")         \
	K("logd.debug", T_STR, NULL, 0, 0, v_debug, "debug trace levels such as log@5,store@9")   \
	K("logd.max_connections", T_INT, "1024", 1, 1000000, NULL,                                \
	  "most simultaneous connections")                                                       \
	K("logd.max_connections_per_peer", T_INT, "64", 1, 1000000, NULL,                         \
	  "most simultaneous connections from one address")                                      \
	K("logd.idle_timeout", T_DURATION, "1h", 0, 7 * DAY_, NULL,                               \
	  "close a connection silent this long (0: never)")                                      \
	K("logd.frame_timeout", T_DURATION, "30s", 100 * MS_, 1 * HOUR_, NULL,                    \
	  "a frame once started must arrive whole within this")                                  \
	K("logd.handshake_timeout", T_DURATION, "10s", 100 * MS_, 10 * MIN_, NULL,                \
	  "a new connection must finish its TLS handshake within this")                          \
	K("logd.stop_timeout", T_DURATION, "10s", 0, 1 * HOUR_, NULL,                             \
	  "on a normal stop, wait this long for sessions to reach a commit point")               \
	K("logd.hostcheck", T_ENUM, "strict", 0, 0, v_hostcheck,                                       \
	  "submithost not covered by the client certificate: strict (refuse) or record")         \
	K("logd.server_id", T_STR, NULL, 0, 0, v_ident,                                           \
	  "name logd gives itself in events (unset: the host name)")
/* clang-format on */

struct keydef {
	const char *key;
	enum ktype type;
	const char *def;
	long long min, max;
	check_fn check;
	const char *desc;
};

#define AS_KEYDEF(k, t, d, lo, hi, chk, desc) {k, t, d, lo, hi, chk, desc},
#define AS_INFO(k, t, d, lo, hi, chk, desc) {k, TN_##t, d, desc},
#define AS_COUNT(k, t, d, lo, hi, chk, desc) +1

static const struct keydef schema[] = {PB_CONF_SCHEMA(AS_KEYDEF)};
static const struct pb_conf_keyinfo schema_info[] = {PB_CONF_SCHEMA(AS_INFO)};
enum { NKEYS = 0 PB_CONF_SCHEMA(AS_COUNT) };

/* Sections are whatever comes before a dot in the table. */
static bool is_section(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *dot = strchr(schema[i].key, '.');
		if (dot != NULL && (size_t)(dot - schema[i].key) == len &&
		    strncmp(schema[i].key, name, len) == 0)
			return true;
	}
	return false;
}

static int find_key(const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(schema[i].key, key) == 0)
			return (int)i;
	return -1;
}

static const char *v_debug(const char *s)
{
	/* The syntax of pb_debug_parse, checked without changing any level. */
	const char *p = s;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		const char *at = memchr(p, '@', n);
		const char *lv = at ? at + 1 : p;
		size_t lvn = at ? n - (size_t)(at - p) - 1 : n;
		if (lvn != 1 || lv[0] < '0' || lv[0] > '9')
			return at ? "the level after '@' must be one digit 0-9"
			          : "expected a level 0-9 or subsystem@level, as in policy@5,tls@2";
		if (at != NULL) {
			size_t nl = (size_t)(at - p);
			bool found = nl == 3 && strncmp(p, "all", 3) == 0;
			for (int i = 0; i < PB_SS_COUNT && !found; i++) {
				const char *name = pb_debug_name((enum pb_subsys)i);
				found = strlen(name) == nl && strncmp(name, p, nl) == 0;
			}
			if (!found) {
				static _Thread_local char why[512];
				size_t o = (size_t)snprintf(why, sizeof(why),
				                            "unknown debug subsystem; known: all");
				for (int i = 0; i < PB_SS_COUNT && o < sizeof(why); i++)
					o += (size_t)snprintf(why + o, sizeof(why) - o, ", %s",
					                      pb_debug_name((enum pb_subsys)i));
				return why;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return NULL;
}

static const char *check_enum(const char *s, const char *const *choices)
{
	static _Thread_local char why[256];
	size_t o;

	for (size_t i = 0; choices[i] != NULL; i++)
		if (strcmp(s, choices[i]) == 0)
			return NULL;
	o = (size_t)snprintf(why, sizeof(why), "expected ");
	for (size_t i = 0; choices[i] != NULL && o < sizeof(why); i++)
		o += (size_t)snprintf(why + o, sizeof(why) - o, "%s%s",
		                      i == 0                   ? ""
		                      : choices[i + 1] == NULL ? " or "
		                                               : ", ",
		                      choices[i]);
	return why;
}

static const char *v_account(const char *s)
{
	size_t n = strlen(s);
	if (n > 32)
		return "a user or group name has at most 32 characters";
	if (s[0] == '-')
		return "a user or group name cannot start with '-'";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.' &&
		    !(s[i] == '$' && i == n - 1))
			return "a user or group name has only letters, digits, '_', '-' and '.'";
	return NULL;
}

static const char *v_hostname(const char *s)
{
	if (strlen(s) > 253)
		return "a host name has at most 253 characters";
	for (const char *p = s; *p; p++)
		if (!conf_host_char((unsigned char)*p) && *p != ':')
			return "a host name has only letters, digits, '-', '.', '_' (or an IP "
			       "address)";
	return NULL;
}

static const char *v_ident(const char *s)
{
	if (strlen(s) > 255)
		return "at most 255 characters";
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return "no spaces or control characters allowed";
	return NULL;
}

static const char *v_template(const char *s)
{
	if (s[0] == '/')
		return "must be relative to logd.iolog_dir (no leading '/')";
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return "must not contain a '..' component";
		if (n == 0)
			return "must not contain an empty component ('//' or a trailing '/')";
		p += n;
		if (*p == '/') {
			p++;
			if (*p == '\0')
				return "must not contain an empty component ('//' or a trailing "
				       "'/')";
		}
	}
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "no control characters allowed";
	return NULL;
}

/* ===========================================================================
 * A configuration
 * ======================================================================== */

struct val {
	bool set;           /* written in the file */
	bool have;          /* has a value, from the file or the default */
	unsigned line, col; /* where the file set it, for cross-setting messages */
	const char *text;   /* T_LOGDEST: "syslog", "stderr" or the path */
	union {
		const char *s;
		bool b;
		long long i;
		int64_t ms;
		uint64_t size;
		mode_t mode;
		struct {
			const char **v; /* NULL-terminated */
			size_t n;
		} list;
		struct {
			struct pb_hostport *v;
			size_t n;
		} hp;
		struct {
			enum pb_log_dest dest;
			const char *path;
		} log;
	} u;
};

struct pb_conf {
	struct arena arena;
	const char *file;
	struct val v[NKEYS];
};

static void fmt_duration(char *buf, size_t len, int64_t ms)
{
	static const struct {
		const char *u;
		int64_t ms;
	} units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
	size_t o = 0;
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < 5 && o < len; i++) {
		if (ms >= units[i].ms) {
			o += (size_t)snprintf(buf + o, len - o, "%" PRId64 "%s", ms / units[i].ms,
			                      units[i].u);
			ms %= units[i].ms;
		}
	}
}

static void fmt_size(char *buf, size_t len, uint64_t v)
{
	static const char *const u[] = {"TiB", "GiB", "MiB", "KiB"};
	for (unsigned i = 0; i < 4; i++) {
		unsigned shift = 40 - 10 * i;
		if (v != 0 && v % (1ULL << shift) == 0) {
			snprintf(buf, len, "%" PRIu64 "%s", v >> shift, u[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
}

/* Most entries of one list setting: far more than any site needs, and it keeps checks cheap. */
#define LIST_MAX 256u

static bool is_loopback(const char *host)
{
	unsigned char a[16];
	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, host, a) == 1)
		return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0;
	return false;
}

/* One string of a setting (a value or a list item): non-empty, absolute for paths, then the
 * validator. */
static int check_string(const struct keydef *k, const struct pb_yaml_node *n, bool path,
                        struct pb_conf_err *err)
{
	const char *why;
	if (n->len == 0)
		return conf_errnode(err, PB_ERR_CONF, n, "%s: must not be empty", k->key);
	if (path && n->str[0] != '/')
		return conf_errnode(err, PB_ERR_CONF, n,
		               "%s: %s is not an absolute path (start it with /)", k->key,
		               pb_yaml_describe(n));
	if (k->check != NULL && (why = k->check(n->str)) != NULL)
		return conf_errnode(err, PB_ERR_CONF, n, "%s: %s: %s", k->key, pb_yaml_describe(n), why);
	return 0;
}

static int parse_hostports(struct pb_conf *c, const struct keydef *k, const struct pb_yaml_node *n,
                           struct val *v, struct pb_conf_err *err)
{
	bool port0 = k->type == T_LISTEN;

	if (n->type != PB_YAML_SEQUENCE)
		return conf_errnode(err, PB_ERR_CONF, n,
		               "%s: expected a list of host:port, as in [%s] or one '- host:port' "
		               "line per entry, got %s",
		               k->key, port0 ? "127.0.0.1:7714" : "pbsh1.example.org:7714",
		               pb_yaml_describe(n));
	if (n->n > LIST_MAX)
		return conf_errnode(err, PB_ERR_CONF, n, "%s: %zu entries; at most %u are allowed",
		               k->key, n->n, LIST_MAX);
	v->u.hp.n = n->n;
	v->u.hp.v = n->n ? conf_arena_zalloc(&c->arena, n->n * sizeof(struct pb_hostport)) : NULL;
	if (n->n && v->u.hp.v == NULL)
		return conf_errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		const struct pb_yaml_node *it = n->items[i];
		struct pb_hostport *hp = &v->u.hp.v[i];
		char host[256], port[8];
		const char *es;
		unsigned pn;
		int rc = conf_want_scalar(it, k->key, "host:port", err);
		if (rc != 0)
			return rc;
		if (pb_conf_parse_hostport(it->str, port0, host, sizeof(host), &pn, &es) != 0)
			return conf_errnode(err, PB_ERR_CONF, it, "%s: %s: %s", k->key,
			               pb_yaml_describe(it), es);
		for (size_t j = 0; j < i; j++)
			if (v->u.hp.v[j].portnum == pn && strcmp(v->u.hp.v[j].host, host) == 0 &&
			    pn != 0)
				return conf_errnode(err, PB_ERR_CONF, it, "%s: %s is listed twice",
				               k->key, pb_yaml_describe(it));
		snprintf(port, sizeof(port), "%u", pn);
		hp->host = conf_arena_strdup(&c->arena, host);
		hp->port = conf_arena_strdup(&c->arena, port);
		hp->text = conf_arena_strdup(&c->arena, it->str);
		hp->portnum = pn;
		if (hp->host == NULL || hp->port == NULL || hp->text == NULL)
			return conf_errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
	}
	return 0;
}

static int parse_strlist(struct pb_conf *c, const struct keydef *k, const struct pb_yaml_node *n,
                         struct val *v, struct pb_conf_err *err)
{
	if (n->type != PB_YAML_SEQUENCE)
		return conf_errnode(err, PB_ERR_CONF, n,
		               "%s: expected a list, as in [a, b] or one '- item' line per entry, "
		               "got %s",
		               k->key, pb_yaml_describe(n));
	if (n->n > LIST_MAX)
		return conf_errnode(err, PB_ERR_CONF, n, "%s: %zu entries; at most %u are allowed",
		               k->key, n->n, LIST_MAX);
	v->u.list.n = n->n;
	v->u.list.v = conf_arena_zalloc(&c->arena, (n->n + 1) * sizeof(char *));
	if (v->u.list.v == NULL)
		return conf_errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
	for (size_t i = 0; i < n->n; i++) {
		const struct pb_yaml_node *it = n->items[i];
		int rc = conf_want_scalar(it, k->key, "a string", err);
		if (rc == 0)
			rc = check_string(k, it, false, err);
		if (rc != 0)
			return rc;
		v->u.list.v[i] = conf_arena_strdup(&c->arena, it->str);
		if (v->u.list.v[i] == NULL)
			return conf_errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
	}
	return 0;
}

/* Parse one setting's value node (from the file, or a default dressed as a node). */
static int parse_value(struct pb_conf *c, const struct keydef *k, const struct pb_yaml_node *n,
                       struct val *v, struct pb_conf_err *err)
{
	char lo[32], hi[32], got[32];
	int rc;

	if (pb_yaml_is_null(n))
		return conf_errnode(err, PB_ERR_CONF, n,
		               "%s has no value: give one, or delete the line to %s", k->key,
		               k->def ? "use the default" : "leave it unset");
	switch (k->type) {
	case T_STR:
	case T_ENUM:
	case T_PATH: {
		const char *s;
		rc = pb_yaml_str(n, k->key, &s, err);
		if (rc == 0)
			rc = check_string(k, n, k->type == T_PATH, err);
		if (rc != 0)
			return rc;
		v->u.s = conf_arena_strdup(&c->arena, s);
		if (v->u.s == NULL)
			return conf_errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
		break;
	}
	case T_BOOL:
		rc = pb_yaml_bool(n, k->key, &v->u.b, err);
		if (rc != 0)
			return rc;
		break;
	case T_INT:
		rc = pb_yaml_int(n, k->key, k->min, k->max, &v->u.i, err);
		if (rc != 0)
			return rc;
		break;
	case T_DURATION:
		rc = pb_yaml_duration(n, k->key, &v->u.ms, err);
		if (rc != 0)
			return rc;
		if (v->u.ms < k->min || v->u.ms > k->max) {
			fmt_duration(lo, sizeof(lo), k->min);
			fmt_duration(hi, sizeof(hi), k->max);
			fmt_duration(got, sizeof(got), v->u.ms);
			return conf_errnode(err, PB_ERR_CONF, n, "%s: %s is out of range (%s to %s)",
			               k->key, got, lo, hi);
		}
		break;
	case T_SIZE:
		rc = pb_yaml_size(n, k->key, &v->u.size, err);
		if (rc != 0)
			return rc;
		if (v->u.size < (uint64_t)k->min || v->u.size > (uint64_t)k->max) {
			fmt_size(lo, sizeof(lo), (uint64_t)k->min);
			fmt_size(hi, sizeof(hi), (uint64_t)k->max);
			fmt_size(got, sizeof(got), v->u.size);
			return conf_errnode(err, PB_ERR_CONF, n, "%s: %s is out of range (%s to %s)",
			               k->key, got, lo, hi);
		}
		break;
	case T_MODE:
		rc = pb_yaml_mode(n, k->key, &v->u.mode, err);
		if (rc != 0)
			return rc;
		if ((long long)v->u.mode < k->min || (long long)v->u.mode > k->max)
			return conf_errnode(err, PB_ERR_CONF, n,
			               "%s: 0%o is out of range (%04llo to %04llo)", k->key,
			               (unsigned)v->u.mode, k->min, k->max);
		break;
	case T_HOSTPORTS:
	case T_LISTEN:
		rc = parse_hostports(c, k, n, v, err);
		if (rc != 0)
			return rc;
		break;
	case T_STRLIST:
		rc = parse_strlist(c, k, n, v, err);
		if (rc != 0)
			return rc;
		break;
	case T_LOGDEST: {
		const char *s, *path = NULL;
		rc = pb_yaml_str(n, k->key, &s, err);
		if (rc != 0)
			return rc;
		if (strcmp(s, "syslog") == 0) {
			v->u.log.dest = PB_LOG_SYSLOG;
		} else if (strcmp(s, "stderr") == 0) {
			v->u.log.dest = PB_LOG_STDERR;
		} else if (strncmp(s, "file:", 5) == 0 || s[0] == '/') {
			path = s[0] == '/' ? s : s + 5;
			if (path[0] != '/')
				return conf_errnode(err, PB_ERR_CONF, n,
				               "%s: %s: the file must be an absolute path, as in "
				               "file:/var/log/pbsh.log",
				               k->key, pb_yaml_describe(n));
			v->u.log.dest = PB_LOG_FILE;
		} else {
			return conf_errnode(err, PB_ERR_CONF, n,
			               "%s: expected syslog, stderr or file:/PATH, got %s", k->key,
			               pb_yaml_describe(n));
		}
		v->text = conf_arena_strdup(&c->arena, path ? path : s);
		if (v->text == NULL)
			return conf_errnode(err, PB_ERR_NOMEM, NULL, "out of memory");
		v->u.log.path = path ? v->text : NULL;
		break;
	}
	}
	v->have = true;
	return 0;
}

/* A default, dressed as the nodes the file would have held, so it goes through the same checks. */
static int apply_default(struct pb_conf *c, const struct keydef *k, struct val *v,
                         struct pb_conf_err *err)
{
	enum { MAXITEMS = 8 };
	struct pb_yaml_node items[MAXITEMS], seq, one;
	const struct pb_yaml_node *ptrs[MAXITEMS];
	char buf[256];
	const struct pb_yaml_node *n = &one;
	int rc;

	memset(&one, 0, sizeof(one));
	one.type = PB_YAML_SCALAR;
	one.file = "(built-in default)";
	one.style = PB_YAML_PLAIN;
	if (k->type == T_HOSTPORTS || k->type == T_LISTEN || k->type == T_STRLIST) {
		seq = one;
		seq.type = PB_YAML_SEQUENCE;
		seq.items = ptrs;
		if (k->def != NULL) {
			snprintf(buf, sizeof(buf), "%s", k->def);
			for (char *save = NULL, *t = strtok_r(buf, ",", &save);
			     t != NULL && seq.n < MAXITEMS; t = strtok_r(NULL, ",", &save)) {
				items[seq.n] = one;
				items[seq.n].str = t;
				items[seq.n].len = strlen(t);
				ptrs[seq.n] = &items[seq.n];
				seq.n++;
			}
		}
		n = &seq;
	} else {
		one.str = k->def;
		one.len = strlen(k->def);
	}
	rc = parse_value(c, k, n, v, err);
	if (rc != 0 && rc != PB_ERR_NOMEM) {
		/* A bad built-in default is a bug in the table above; the unit tests load an empty
		 * file. */
		char why[PB_CONF_ERRLEN];
		snprintf(why, sizeof(why), "%s", err ? err->msg : "");
		return conf_errat(err, PB_ERR_CONF, NULL, 0, 0, "internal error: bad default for %s: %s",
		             k->key, why);
	}
	return rc;
}

/*
 * Suggestions for an unknown key: a close spelling in the same section, the
 * same name in another section, or a close section name; best first.
 */
static void suggest(const char *path, char *out, size_t len)
{
	static _Thread_local char secbuf[NKEYS][32];
	const char *dot = strrchr(path, '.');
	const char *leaf = dot ? dot + 1 : path;
	size_t sl = dot ? (size_t)(dot - path) : 0;
	struct cand {
		const char *name;
		unsigned d;
	} c[NKEYS + 4];
	size_t nc = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NKEYS; i++) {
		const char *k = schema[i].key, *kd = strchr(k, '.');
		const char *kl = kd ? kd + 1 : k;
		size_t ksl = kd ? (size_t)(kd - k) : 0;
		if (strcmp(kl, leaf) == 0)
			c[nc++] = (struct cand){k, 0};
		else if (ksl == sl && strncmp(k, path, sl) == 0 && conf_close_enough(leaf, kl))
			c[nc++] = (struct cand){k, conf_edit_distance(leaf, kl)};
	}
	/* A misspelt section name: sections are what comes before the dots of the table. */
	for (size_t i = 0; dot == NULL && i < NKEYS; i++) {
		const char *kd = strchr(schema[i].key, '.');
		size_t ksl = kd ? (size_t)(kd - schema[i].key) : 0;
		if (ksl == 0 || ksl >= sizeof(secbuf[0]) ||
		    (i > 0 && strncmp(schema[i - 1].key, schema[i].key, ksl + 1) == 0))
			continue;
		snprintf(secbuf[i], sizeof(secbuf[i]), "%.*s", (int)ksl, schema[i].key);
		if (conf_close_enough(path, secbuf[i]))
			c[nc++] = (struct cand){secbuf[i], conf_edit_distance(path, secbuf[i])};
	}
	if (nc == 0)
		return;
	unsigned best = UINT_MAX;
	for (size_t i = 0; i < nc; i++)
		if (c[i].d < best)
			best = c[i].d;
	const char *pick[3];
	size_t np = 0;
	for (size_t i = 0; i < nc && np < 3; i++)
		if (c[i].d == best)
			pick[np++] = c[i].name;
	if (np == 1)
		snprintf(out, len, " (did you mean '%s'?)", pick[0]);
	else if (np == 2)
		snprintf(out, len, " (did you mean '%s' or '%s'?)", pick[0], pick[1]);
	else
		snprintf(out, len, " (did you mean '%s', '%s' or '%s'?)", pick[0], pick[1],
		         pick[2]);
}

static int set_from_file(struct pb_conf *c, const char *path, const struct pb_yaml_node *key,
                         const struct pb_yaml_node *value, struct pb_conf_err *err)
{
	int i = find_key(path);
	char hint[160], q[160];

	if (i < 0) {
		suggest(path, hint, sizeof(hint));
		conf_quote_text(q, sizeof(q), path, strlen(path), 120, '\'');
		const char *leaf = strrchr(path, '.');
		if (hint[0] == '\0' && leaf != NULL && is_section(leaf + 1, strlen(leaf + 1)))
			snprintf(hint, sizeof(hint),
			         " (%s is a section of its own: write it at the top level, not "
			         "indented)",
			         leaf + 1);
		if (hint[0] == '\0' && strchr(path, ':') != NULL)
			snprintf(hint, sizeof(hint),
			         " (a space must follow the ':' of 'key: value')");
		return conf_errnode(err, PB_ERR_CONF, key, "unknown setting %s%s", q, hint);
	}
	c->v[i].set = true;
	c->v[i].line = value->line;
	c->v[i].col = value->col;
	return parse_value(c, &schema[i], value, &c->v[i], err);
}

static int read_section(struct pb_conf *c, const struct pb_yaml_node *key,
                        const struct pb_yaml_node *sec, struct pb_conf_err *err)
{
	char path[160];

	if (pb_yaml_is_null(sec))
		return 0; /* every line of the section commented out */
	if (sec->type != PB_YAML_MAPPING) {
		char names[400];
		size_t o = 0;
		names[0] = '\0';
		for (size_t i = 0; i < NKEYS && o < sizeof(names); i++)
			if (strncmp(schema[i].key, key->str, key->len) == 0 &&
			    schema[i].key[key->len] == '.')
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
				                      o ? ", " : "", schema[i].key + key->len + 1);
		return conf_errnode(err, PB_ERR_CONF, sec,
		               "%s is a section: expected a mapping of its settings (%s), got %s",
		               key->str, names, pb_yaml_describe(sec));
	}
	for (size_t i = 0; i < sec->n; i++) {
		const struct pb_yaml_pair *p = &sec->pairs[i];
		snprintf(path, sizeof(path), "%s.%.100s", key->str, p->key->str);
		int rc = set_from_file(c, path, p->key, p->value, err);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Plain TCP is for tests on one machine: every address of the effective
 * configuration, defaults included, must be loopback (lib/tls refuses other
 * sockets at run time too; this says so at -t time).
 */
static int check_loopback(const struct pb_conf *c, const char *file, const char *key,
                          struct pb_conf_err *err)
{
	const struct val *v = &c->v[find_key(key)];
	const struct val *pt = &c->v[find_key("tls.plaintext_for_tests")];

	for (size_t j = 0; j < v->u.hp.n; j++) {
		if (is_loopback(v->u.hp.v[j].host))
			continue;
		if (v->set)
			return conf_errat(
			    err, PB_ERR_CONF, file, v->line, v->col,
			    "%s: %s is not a loopback address, and tls.plaintext_for_tests "
			    "is true (plain TCP is for tests on 127.0.0.1, ::1 or localhost only)",
			    key, v->u.hp.v[j].text);
		return conf_errat(
		    err, PB_ERR_CONF, file, pt->line, pt->col,
		    "tls.plaintext_for_tests is true, but %s is %s by default, which is not "
		    "loopback: set %s to an address such as 127.0.0.1:0",
		    key, v->u.hp.v[j].text, key);
	}
	return 0;
}

/* Rules between settings, checked once every value and default is in place. */
static int cross_check(const struct pb_conf *c, const char *file, struct pb_conf_err *err)
{
	static const char *const daemons[] = {"policyd", "logd"};
	const struct val *cert = &c->v[find_key("tls.cert")], *key = &c->v[find_key("tls.key")];
	int rc;

	if (cert->have != key->have) {
		const struct val *s = cert->have ? cert : key;
		return conf_errat(err, PB_ERR_CONF, file, s->line, s->col,
		             "%s is set but %s is not: a certificate needs its private key",
		             cert->have ? "tls.cert" : "tls.key",
		             cert->have ? "tls.key" : "tls.cert");
	}
	if (c->v[find_key("tls.plaintext_for_tests")].u.b) {
		static const char *const lists[] = {"policyservers", "logservers", "policyd.listen",
		                                    "logd.listen"};
		for (size_t i = 0; i < 4; i++)
			if ((rc = check_loopback(c, file, lists[i], err)) != 0)
				return rc;
	}
	for (size_t d = 0; d < 2; d++) {
		char k1[64], k2[64];
		snprintf(k1, sizeof(k1), "%s.max_connections_per_peer", daemons[d]);
		snprintf(k2, sizeof(k2), "%s.max_connections", daemons[d]);
		const struct val *per = &c->v[find_key(k1)], *all = &c->v[find_key(k2)];
		if (per->u.i > all->u.i) {
			const struct val *s = per->set ? per : all;
			return conf_errat(err, PB_ERR_CONF, file, s->line, s->col,
			             "%s (%lld) is more than %s (%lld)", k1, per->u.i, k2,
			             all->u.i);
		}
		snprintf(k1, sizeof(k1), "%s.group", daemons[d]);
		snprintf(k2, sizeof(k2), "%s.user", daemons[d]);
		const struct val *grp = &c->v[find_key(k1)], *usr = &c->v[find_key(k2)];
		if (grp->have && !usr->have)
			return conf_errat(
			    err, PB_ERR_CONF, file, grp->line, grp->col,
			    "%s is set but %s is not: the group is only taken with the user", k1,
			    k2);
	}
	return 0;
}

/* Fields unset, then the file, then defaults in one place, then the rules between settings. */
static int conf_build(const char *file, const struct pb_yaml_node *root, struct pb_conf **confp,
                      struct pb_conf_err *err)
{
	struct pb_conf *c;
	int rc = 0;

	*confp = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return conf_errat(err, PB_ERR_NOMEM, file, 0, 0, "out of memory");
	c->file = conf_arena_strdup(&c->arena, file);
	if (c->file == NULL) {
		rc = conf_errat(err, PB_ERR_NOMEM, file, 0, 0, "out of memory");
		goto done;
	}
	if (root != NULL && !pb_yaml_is_null(root)) {
		if (root->type != PB_YAML_MAPPING) {
			rc =
			    conf_errnode(err, PB_ERR_CONF, root,
			            "expected the settings as a mapping (key: value lines), got %s",
			            pb_yaml_describe(root));
			goto done;
		}
		for (size_t i = 0; i < root->n; i++) {
			const struct pb_yaml_pair *p = &root->pairs[i];
			if (is_section(p->key->str, p->key->len))
				rc = read_section(c, p->key, p->value, err);
			else if (strchr(p->key->str, '.') != NULL && find_key(p->key->str) >= 0)
				rc = conf_errnode(err, PB_ERR_CONF, p->key,
				             "write %s inside its section (%.*s:, then the key "
				             "indented on the next line)",
				             p->key->str, (int)strcspn(p->key->str, "."),
				             p->key->str);
			else
				rc = set_from_file(c, p->key->str, p->key, p->value, err);
			if (rc != 0)
				goto done;
		}
	}
	for (size_t i = 0; i < NKEYS; i++) {
		if (c->v[i].have || schema[i].def == NULL)
			continue;
		if ((rc = apply_default(c, &schema[i], &c->v[i], err)) != 0)
			goto done;
	}
	rc = cross_check(c, file, err);
done:
	if (rc != 0) {
		pb_conf_free(c);
		return rc;
	}
	*confp = c;
	return 0;
}

int pb_conf_load_buf(const char *name, const void *buf, size_t len, struct pb_conf **confp,
                     struct pb_conf_err *err)
{
	struct pb_yaml_doc *doc;
	int rc;

	*confp = NULL;
	if (name == NULL)
		name = "(buffer)";
	rc = pb_yaml_load_buf(name, buf, len, &doc, err);
	if (rc != 0)
		return rc;
	rc = conf_build(name, pb_yaml_doc_root(doc), confp, err);
	pb_yaml_doc_free(doc);
	return rc;
}

int pb_conf_load(const char *path, struct pb_conf **confp, struct pb_conf_err *err)
{
	struct pb_yaml_doc *doc;
	int rc;

	*confp = NULL;
	if (path == NULL)
		path = pb_conf_default_path();
	rc = pb_yaml_load_file(path, &doc, err);
	if (rc != 0)
		return rc;
	rc = conf_build(path, pb_yaml_doc_root(doc), confp, err);
	pb_yaml_doc_free(doc);
	return rc;
}

int pb_conf_load_optional(const char *override, struct pb_conf **confp, struct pb_conf_err *err)
{
	const char *why;
	int rc;

	*confp = NULL;
	if (!pb_conf_path_allowed(override, &why)) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s", override, why);
		return PB_ERR_DENIED;
	}
	rc = pb_conf_load(override, confp, err);
	if (rc != PB_ERR_NOTFOUND || override != NULL)
		return rc;
	*confp = pb_conf_defaults();
	if (*confp == NULL) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return PB_ERR_NOMEM;
	}
	return 0;
}

struct pb_conf *pb_conf_defaults(void)
{
	struct pb_conf *c;
	if (conf_build("(defaults)", NULL, &c, NULL) != 0)
		return NULL;
	return c;
}

void pb_conf_free(struct pb_conf *c)
{
	if (c == NULL)
		return;
	conf_arena_free(&c->arena);
	free(c);
}

const char *pb_conf_file(const struct pb_conf *c)
{
	return c->file;
}

const char *pb_conf_default_path(void)
{
	return PB_SYSCONFDIR "/pbsh.yaml";
}

/* A process with privilege beyond its real user's: set-ID, or marked so by the kernel. */
bool conf_started_privileged(const char **why)
{
	if (getuid() != geteuid() || getgid() != getegid()) {
		*why = "a set-user-ID or set-group-ID process";
		return true;
	}
#if defined(__linux__) && defined(AT_SECURE)
	if (getauxval(AT_SECURE) != 0) {
		*why = "a process started with privilege (AT_SECURE)";
		return true;
	}
#elif defined(__OpenBSD__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__APPLE__)
	if (issetugid()) {
		*why = "a process started with privilege (issetugid)";
		return true;
	}
#endif
	return false;
}

bool pb_conf_path_allowed(const char *override, const char **errstr)
{
	static _Thread_local char msg[160];
	const char *why;

	if (override == NULL || strcmp(override, pb_conf_default_path()) == 0)
		return true;
	if (conf_started_privileged(&why)) {
		snprintf(msg, sizeof(msg), "a settings file other than %s is refused in %s",
		         pb_conf_default_path(), why);
		*errstr = msg;
		return false;
	}
	return true;
}

/* ===========================================================================
 * Getters
 * ======================================================================== */

static const struct val *get(const struct pb_conf *c, const char *key, unsigned types,
                             const char *getter)
{
	int i = find_key(key);
	if (i < 0) {
		fprintf(stderr, "pbsh: %s(\"%s\"): no such setting in lib/conf.c's schema\n",
		        getter, key);
		abort();
	}
	if (!(types & (1u << schema[i].type))) {
		fprintf(stderr, "pbsh: %s(\"%s\"): the setting is of type %s\n", getter, key,
		        schema_info[i].type);
		abort();
	}
	return &c->v[i];
}

#define TB(t) (1u << (t))

const char *pb_conf_str(const struct pb_conf *c, const char *key)
{
	const struct val *v =
	    get(c, key, TB(T_STR) | TB(T_PATH) | TB(T_ENUM) | TB(T_LOGDEST), __func__);
	if (!v->have)
		return NULL;
	return schema[find_key(key)].type == T_LOGDEST ? v->text : v->u.s;
}

bool pb_conf_bool(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_BOOL), __func__)->u.b;
}

long long pb_conf_int(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_INT), __func__)->u.i;
}

int64_t pb_conf_ms(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_DURATION), __func__)->u.ms;
}

uint64_t pb_conf_size(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_SIZE), __func__)->u.size;
}

mode_t pb_conf_mode(const struct pb_conf *c, const char *key)
{
	return get(c, key, TB(T_MODE), __func__)->u.mode;
}

const char *const *pb_conf_list(const struct pb_conf *c, const char *key, size_t *n)
{
	static const char *const empty[] = {NULL};
	const struct val *v = get(c, key, TB(T_STRLIST), __func__);
	if (n != NULL)
		*n = v->have ? v->u.list.n : 0;
	return v->have ? v->u.list.v : empty;
}

const struct pb_hostport *pb_conf_hostports(const struct pb_conf *c, const char *key, size_t *n)
{
	const struct val *v = get(c, key, TB(T_HOSTPORTS) | TB(T_LISTEN), __func__);
	if (n != NULL)
		*n = v->have ? v->u.hp.n : 0;
	return v->have && v->u.hp.n ? v->u.hp.v : NULL;
}

void pb_conf_log(const struct pb_conf *c, const char *key, enum pb_log_dest *dest,
                 const char **path)
{
	const struct val *v = get(c, key, TB(T_LOGDEST), __func__);
	*dest = v->have ? v->u.log.dest : PB_LOG_STDERR;
	*path = v->have ? v->u.log.path : NULL;
}

bool pb_conf_is_set(const struct pb_conf *c, const char *key)
{
	return get(c, key, ~0u, __func__)->set;
}

const struct pb_conf_keyinfo *pb_conf_schema(size_t *n)
{
	*n = NKEYS;
	return schema_info;
}

void pb_conf_print_schema(FILE *f)
{
	int wk = 0, wt = 0, wd = 0;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct pb_conf_keyinfo *k = &schema_info[i];
		int lk = (int)strlen(k->key), lt = (int)strlen(k->type);
		int ld = k->def ? (int)strlen(k->def) : 1;
		wk = lk > wk ? lk : wk;
		wt = lt > wt ? lt : wt;
		wd = ld > wd ? ld : wd;
	}
	for (size_t i = 0; i < NKEYS; i++)
		fprintf(f, "%-*s  %-*s  %-*s  %s\n", wk, schema_info[i].key, wt,
		        schema_info[i].type, wd, schema_info[i].def ? schema_info[i].def : "-",
		        schema_info[i].description);
}

/* A YAML double-quoted string that reads back as s. */
static void put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

void pb_conf_dump(const struct pb_conf *c, FILE *f)
{
	char section[32] = "";
	char buf[64];

	fprintf(f, "# effective settings from %s\n", c->file);
	for (size_t i = 0; i < NKEYS; i++) {
		const struct keydef *k = &schema[i];
		const struct val *v = &c->v[i];
		const char *dot = strchr(k->key, '.');
		const char *name = dot ? dot + 1 : k->key;
		const char *indent = dot ? "  " : "";
		size_t sl = dot ? (size_t)(dot - k->key) : 0;

		if (sl != strlen(section) || strncmp(section, k->key, sl) != 0) {
			snprintf(section, sizeof(section), "%.*s", (int)sl, k->key);
			if (sl > 0)
				fprintf(f, "%s:\n", section);
		}
		if (!v->have) {
			fprintf(f, "%s# %s: (unset)\n", indent, name);
			continue;
		}
		fprintf(f, "%s%s: ", indent, name);
		switch (k->type) {
		case T_STR:
		case T_ENUM:
		case T_PATH:
			put_quoted(f, v->u.s);
			break;
		case T_LOGDEST:
			if (v->u.log.dest == PB_LOG_FILE) {
				/* Quoted: a path may hold ": " or " #". */
				char *fp = NULL;
				if (asprintf(&fp, "file:%s", v->text) < 0) {
					fputs("stderr", f);
					break;
				}
				put_quoted(f, fp);
				free(fp);
			} else {
				fputs(v->text, f);
			}
			break;
		case T_BOOL:
			fputs(v->u.b ? "true" : "false", f);
			break;
		case T_INT:
			fprintf(f, "%lld", v->u.i);
			break;
		case T_DURATION:
			fmt_duration(buf, sizeof(buf), v->u.ms);
			fputs(buf, f);
			break;
		case T_SIZE:
			fmt_size(buf, sizeof(buf), v->u.size);
			fputs(buf, f);
			break;
		case T_MODE:
			fprintf(f, "0%03o", (unsigned)v->u.mode);
			break;
		case T_HOSTPORTS:
		case T_LISTEN:
			fputc('[', f);
			for (size_t j = 0; j < v->u.hp.n; j++) {
				if (j)
					fputs(", ", f);
				put_quoted(f, v->u.hp.v[j].text);
			}
			fputc(']', f);
			break;
		case T_STRLIST:
			fputc('[', f);
			for (size_t j = 0; j < v->u.list.n; j++) {
				if (j)
					fputs(", ", f);
				put_quoted(f, v->u.list.v[j]);
			}
			fputc(']', f);
			break;
		}
		fputc('\n', f);
	}
}

int pb_conf_check(const char *prog, const char *path)
{
	struct pb_conf_err err;
	struct pb_conf *c;

	if (pb_conf_load(path, &c, &err) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		return 2;
	}
	pb_conf_free(c);
	return 0;
}
