/* SPDX-License-Identifier: ISC */
/* Configuration: the pbsh.yaml settings (schema table, getters) and the YAML layer under them. */
#ifndef PB_CONF_H
#define PB_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "debug.h"

/*
 * Two layers live in lib/conf.c, the only file that talks to libyaml
 * (STYLE §10):
 *
 *   pb_yaml_*  a document tree whose every node knows its file, line and
 *              column, with checked conversions whose errors read
 *              "file:line:col: message". policyd's policy.yaml loader is
 *              built on it.
 *   pb_conf_*  the settings file pbsh.yaml (DESIGN §7), read against one
 *              schema table into a fresh struct pb_conf, then read by key
 *              path: pb_conf_str(c, "policyd.policy").
 *
 * Errors go into a caller-provided struct pb_conf_err; functions return 0 or
 * a negative PB_ERR_* (lib/err.h): PB_ERR_CONF for bad content,
 * PB_ERR_NOTFOUND for a missing file, PB_ERR_IO for other system errors,
 * PB_ERR_LIMIT for a document over the size or depth limits, PB_ERR_NOMEM.
 */

/* Limits that keep hostile or broken input cheap (the loaders are fuzzed). */
#define PB_YAML_MAX_BYTES (16u * 1024u * 1024u) /* largest document accepted */
#define PB_YAML_MAX_DEPTH 64u                   /* deepest nesting of sequences/mappings */
#define PB_YAML_MAX_NODES 1000000u              /* most nodes in one document */

/* One error message, already prefixed with "file:line:col: " when a position is known. */
#define PB_CONF_ERRLEN 1024
struct pb_conf_err {
	char msg[PB_CONF_ERRLEN];
};

/* ---------------------------------------------------------------------------
 * YAML document layer
 * ------------------------------------------------------------------------ */

enum pb_yaml_type {
	PB_YAML_SCALAR = 1,
	PB_YAML_SEQUENCE,
	PB_YAML_MAPPING,
};

/* How a scalar was written: only PLAIN scalars can be booleans or null, so `no` and "no" differ. */
enum pb_yaml_style {
	PB_YAML_PLAIN,
	PB_YAML_SINGLE_QUOTED,
	PB_YAML_DOUBLE_QUOTED,
	PB_YAML_LITERAL, /* | block */
	PB_YAML_FOLDED,  /* > block */
};

struct pb_yaml_node;

/* One key: value entry of a mapping; keys are always scalars. */
struct pb_yaml_pair {
	const struct pb_yaml_node *key;
	const struct pb_yaml_node *value;
};

/*
 * A node. Everything it points to is owned by its document and lives until
 * pb_yaml_doc_free(). Read the fields directly; iterate a sequence with
 * items[0..n) and a mapping with pairs[0..n) (document order; duplicate keys
 * were refused at load).
 */
struct pb_yaml_node {
	enum pb_yaml_type type;
	const char *file; /* the name the document was loaded under */
	unsigned line;    /* 1-based */
	unsigned col;     /* 1-based */
	/* PB_YAML_SCALAR: NUL-terminated text (never contains a NUL; refused at load). */
	const char *str;
	size_t len;
	enum pb_yaml_style style;
	/* PB_YAML_SEQUENCE: items; PB_YAML_MAPPING: pairs. n counts either. */
	size_t n;
	const struct pb_yaml_node *const *items;
	const struct pb_yaml_pair *pairs;
};

/* A loaded document (opaque): the node tree and the memory behind it. */
struct pb_yaml_doc;

/*
 * pb_yaml_load_file: read and parse one YAML document from path (at most
 * PB_YAML_MAX_BYTES; a file every user may write is refused, and so is one
 * owned by anyone but root or the effective user in a process with
 * privilege beyond its real user's). Anchors/aliases, tags (!!str, !foo), non-scalar
 * keys, duplicate keys, NUL characters and multiple documents are refused
 * with a positioned error. On success *docp is a new document the caller
 * frees with pb_yaml_doc_free(). Returns 0, PB_ERR_NOTFOUND (no such file),
 * PB_ERR_IO, PB_ERR_CONF, PB_ERR_LIMIT or PB_ERR_NOMEM; err says why.
 */
int pb_yaml_load_file(const char *path, struct pb_yaml_doc **docp, struct pb_conf_err *err);

/*
 * pb_yaml_load_buf: the same from memory; name is what error messages and
 * node->file show (copied). buf need not be NUL-terminated.
 */
int pb_yaml_load_buf(const char *name, const void *buf, size_t len, struct pb_yaml_doc **docp,
                     struct pb_conf_err *err);

/* pb_yaml_doc_free: release a document and every node in it. Accepts NULL. */
void pb_yaml_doc_free(struct pb_yaml_doc *doc);

/* pb_yaml_doc_root: the top node, or NULL for an empty document (only comments or nothing). */
const struct pb_yaml_node *pb_yaml_doc_root(const struct pb_yaml_doc *doc);

/* pb_yaml_doc_file: the name the document was loaded under (owned by doc). */
const char *pb_yaml_doc_file(const struct pb_yaml_doc *doc);

/*
 * pb_yaml_errf: write "file:line:col: " (when n is not NULL) and the
 * formatted message into err (err may be NULL). Returns PB_ERR_CONF so a
 * loader can `return pb_yaml_errf(err, n, "...")`.
 */
int pb_yaml_errf(struct pb_conf_err *err, const struct pb_yaml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * pb_yaml_describe: n for a message: "a mapping", "a list", "nothing" (NULL
 * or null), or the value quoted as written ('x' or "x"), escaped and cut at
 * about 60 bytes. Static or thread-local storage, valid until the next call
 * in the same thread: use it once per message.
 */
const char *pb_yaml_describe(const struct pb_yaml_node *n);

/* pb_yaml_is_null: true for a PLAIN scalar that is empty, "~" or null/Null/NULL (`key:` with no
 * value). */
bool pb_yaml_is_null(const struct pb_yaml_node *n);

/* pb_yaml_map_get: the value under key in a mapping, or NULL (absent, or n is not a mapping). */
const struct pb_yaml_node *pb_yaml_map_get(const struct pb_yaml_node *map, const char *key);

/*
 * pb_yaml_map_check_keys: fail on the first key of map that is not in the
 * NULL-terminated list allowed ("unknown key 'x' in <what> (did you mean
 * 'y'?)", at the key). Returns 0 or PB_ERR_CONF.
 */
int pb_yaml_map_check_keys(const struct pb_yaml_node *map, const char *what,
                           const char *const *allowed, struct pb_conf_err *err);

/*
 * pb_yaml_expect: 0 when n has type t, else PB_ERR_CONF with "file:l:c:
 * <what>: expected a mapping, got a sequence". n NULL is an error without position.
 */
int pb_yaml_expect(const struct pb_yaml_node *n, enum pb_yaml_type t, const char *what,
                   struct pb_conf_err *err);

/*
 * Typed conversions of a scalar node. what names the setting in the error
 * (may be NULL). Each returns 0 and stores into *out, or PB_ERR_CONF with a
 * positioned message; *out is untouched on failure.
 *
 * pb_yaml_str:      any non-null scalar (plain or quoted); *out is owned by the document.
 * pb_yaml_bool:     PLAIN true/false/yes/no/on/off (any case); "no" quoted is a string, an error
 * here. pb_yaml_int:      decimal integer (optional sign) within [min, max]. pb_yaml_duration:
 * non-negative duration in milliseconds: 30s, 500ms, 2m, 1h, 1d, combinations such as 1m30s; a bare
 * number means seconds. pb_yaml_size:     byte count: 4096, 64k, 2MiB, 1G (k/M/G/T and their KiB/KB
 * forms are all powers of 1024; case-insensitive). pb_yaml_mode:     octal file mode such as 0640
 * or 750 (at most 07777).
 */
int pb_yaml_str(const struct pb_yaml_node *n, const char *what, const char **out,
                struct pb_conf_err *err);
int pb_yaml_bool(const struct pb_yaml_node *n, const char *what, bool *out,
                 struct pb_conf_err *err);
int pb_yaml_int(const struct pb_yaml_node *n, const char *what, long long min, long long max,
                long long *out, struct pb_conf_err *err);
int pb_yaml_duration(const struct pb_yaml_node *n, const char *what, int64_t *ms,
                     struct pb_conf_err *err);
int pb_yaml_size(const struct pb_yaml_node *n, const char *what, uint64_t *bytes,
                 struct pb_conf_err *err);
int pb_yaml_mode(const struct pb_yaml_node *n, const char *what, mode_t *out,
                 struct pb_conf_err *err);

/*
 * String parsers behind the conversions, for command-line options. Each
 * returns 0 or PB_ERR_INVAL with *errstr (static text) saying what was
 * expected.
 */
int pb_conf_parse_duration(const char *s, int64_t *ms, const char **errstr);
int pb_conf_parse_size(const char *s, uint64_t *bytes, const char **errstr);

/*
 * pb_conf_parse_hostport: split "host:port", "[v6addr]:port" into host
 * (brackets removed, written into host[hostlen]) and a numeric port
 * (1-65535, or 0 too when allow_port0). Returns 0 or PB_ERR_INVAL.
 */
int pb_conf_parse_hostport(const char *s, bool allow_port0, char *host, size_t hostlen,
                           unsigned *port, const char **errstr);

/* ---------------------------------------------------------------------------
 * The settings file pbsh.yaml
 * ------------------------------------------------------------------------ */

/* A loaded, validated and defaulted configuration (opaque). Never changed after load. */
struct pb_conf;

/* One entry of a host:port list (owned by the configuration). */
struct pb_hostport {
	const char *host; /* without [] for IPv6 */
	const char *port; /* decimal text, for getaddrinfo */
	unsigned portnum;
	const char *text; /* as written: "host:port" */
};

/* pb_conf_default_path: the compiled-in settings file, PB_SYSCONFDIR "/pbsh.yaml" (static). */
const char *pb_conf_default_path(void);

/*
 * pb_conf_path_allowed: may this process read a settings file other than
 * the default (a test's --config)? Refuses when the process has privilege
 * beyond its real user's: getuid() != geteuid(), getgid() != getegid(), or
 * the kernel's AT_SECURE flag (setuid/setgid/file capabilities). override
 * NULL, or the default path itself, is always allowed. Returns true, or false with *errstr (static
 * text). Configuration paths are never taken from the environment.
 */
bool pb_conf_path_allowed(const char *override, const char **errstr);

/*
 * pb_conf_load: read the settings file at path (NULL = the default path)
 * into a NEW configuration: every setting of every section is checked
 * (the file is shared by all programs, so any error fails every program),
 * unset ones get their defaults, then cross-setting rules are checked. On
 * success *confp is the caller's, freed with pb_conf_free(). On failure
 * nothing is returned and err holds ONE message "file:line:col: ..."; a
 * daemon reloading keeps its old configuration. Returns 0, PB_ERR_NOTFOUND
 * (the file does not exist), PB_ERR_IO, PB_ERR_CONF, PB_ERR_LIMIT or PB_ERR_NOMEM.
 */
int pb_conf_load(const char *path, struct pb_conf **confp, struct pb_conf_err *err);

/*
 * pb_conf_load_optional: the settings of a tool that also works without a
 * settings file (pblog, pbreplay): the override, refused unless
 * pb_conf_path_allowed() accepts it, else the default path; when no override
 * was given and the default file does not exist, the defaults. Returns as
 * pb_conf_load (PB_ERR_DENIED for a refused override, the reason in err).
 */
int pb_conf_load_optional(const char *override, struct pb_conf **confp, struct pb_conf_err *err);

/* pb_conf_load_buf: the same from memory (tests, fuzzing); name is used in messages. */
int pb_conf_load_buf(const char *name, const void *buf, size_t len, struct pb_conf **confp,
                     struct pb_conf_err *err);

/* pb_conf_defaults: a configuration of defaults only (as from an empty file); NULL on ENOMEM. Free
 * with pb_conf_free(). */
struct pb_conf *pb_conf_defaults(void);

/* pb_conf_free: release a configuration. Accepts NULL. */
void pb_conf_free(struct pb_conf *c);

/* pb_conf_file: the file it was loaded from ("(defaults)" for pb_conf_defaults). Owned by c. */
const char *pb_conf_file(const struct pb_conf *c);

/*
 * Getters by key path ("tls.ca", "policyd.listen"). A key that is not in the
 * schema, or asked for with the wrong type, is a programming error: the
 * getter writes the key to stderr and aborts, so a typo shows on the first
 * test run. Returned pointers are owned by c.
 *
 * pb_conf_str:       string, path, enum and log destination keys; NULL when unset with no
 *                    default. A log destination reads "syslog", "stderr" or its absolute
 *                    path: the form pb_daemon_log_setup() takes.
 * pb_conf_bool:      bool keys.
 * pb_conf_int:       integer keys.
 * pb_conf_ms:        duration keys, in milliseconds (0 where the text says it disables).
 * pb_conf_size:      size keys, in bytes.
 * pb_conf_mode:      octal mode keys.
 * pb_conf_list:      string-list keys: a NULL-terminated array, *n its length (n may be NULL).
 * pb_conf_hostports: host:port list keys: an array of *n entries (NULL when empty; n may be NULL).
 * pb_conf_log:       log destination keys: *dest, and *path for PB_LOG_FILE (else NULL);
 *                    an unset key gives PB_LOG_STDERR (pb_conf_str() is NULL then, so a
 *                    daemon can pick syslog when detached).
 * pb_conf_is_set:    true when the file itself set the key (any type).
 */
const char *pb_conf_str(const struct pb_conf *c, const char *key);
bool pb_conf_bool(const struct pb_conf *c, const char *key);
long long pb_conf_int(const struct pb_conf *c, const char *key);
int64_t pb_conf_ms(const struct pb_conf *c, const char *key);
uint64_t pb_conf_size(const struct pb_conf *c, const char *key);
mode_t pb_conf_mode(const struct pb_conf *c, const char *key);
const char *const *pb_conf_list(const struct pb_conf *c, const char *key, size_t *n);
const struct pb_hostport *pb_conf_hostports(const struct pb_conf *c, const char *key, size_t *n);
void pb_conf_log(const struct pb_conf *c, const char *key, enum pb_log_dest *dest,
                 const char **path);
bool pb_conf_is_set(const struct pb_conf *c, const char *key);

/* One row of the schema, for --help style listings and the documentation tests. */
struct pb_conf_keyinfo {
	const char *key;         /* "policyd.listen" */
	const char *type;        /* "duration", "path", "host:port list", ... */
	const char *def;         /* default as written in the file, or NULL */
	const char *description; /* one line */
};

/* pb_conf_schema: the whole schema in table order; *n gets the count. Static storage. */
const struct pb_conf_keyinfo *pb_conf_schema(size_t *n);

/* pb_conf_print_schema: list every setting (key, type, default, description) to f. */
void pb_conf_print_schema(FILE *f);

/* pb_conf_dump: print the effective configuration (defaults included) as YAML to f, e.g. for -T. */
void pb_conf_dump(const struct pb_conf *c, FILE *f);

/*
 * pb_conf_check: the common `-t` of every program. Loads path (NULL =
 * default), prints "<prog>: <message>" to stderr on failure. Returns the
 * exit status: 0 valid, 2 invalid or unreadable (DESIGN: a malformed
 * configuration exits 2 with one message).
 */
int pb_conf_check(const char *prog, const char *path);

#endif
