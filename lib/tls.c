/* SPDX-License-Identifier: ISC */
/* TLS client and server connections (OpenSSL 3) with mutual authentication against a private CA. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "debug.h"
#include "err.h"
#include "frame.h"
#include "net.h"

/* Certificates of a client's chain shared between connections (longer chains: the rest is not). */
#define SHARE_CHAIN 4

/* Client sessions kept for resumption: one per server (name + address); a few servers at most. */
#define SESS_MAX 16

struct sess_entry {
	char *key;
	SSL_SESSION *sess;
};

/*
 * A server shares the decoded client certificate between the connections
 * that present the same one (every shell of a host shows the host's
 * certificate). OpenSSL decodes each peer certificate into ~7 KiB of
 * structures kept for the connection's life; with thousands of idle shells
 * that was a third of policyd's memory. Keyed by the SHA-256 of the DER, the
 * encodings compared in full; an entry lives while a connection uses it.
 */
struct cert_share {
	unsigned char md[32];
	X509 *x;		/* the cache's own reference */
	unsigned conns;		/* connections using it */
	struct cert_share *next;
};

struct pb_tls_ctx {
	SSL_CTX *ssl;		/* NULL in plain mode */
	enum pb_tls_role role;
	bool plain;
	unsigned refs;		/* the owner's plus one per connection */
	struct sess_entry sess[SESS_MAX];
	unsigned sess_next;	/* round-robin slot to replace when full */
	bool no_resume;		/* client: full handshakes only */
	struct cert_share **shares;	/* server: hash buckets, nshare_buckets of them */
	size_t nshare_buckets;
	size_t nshares;
};

struct pb_tls {
	struct pb_tls_ctx *ctx;
	SSL *ssl;		/* NULL in plain mode */
	int fd;
	bool done;		/* handshake complete */
	bool shut;		/* close_notify sent */
	bool failed;		/* a TLS or I/O error: the session must not be resumed */
	char *sess_key;		/* client: session cache key */
	struct cert_share *share[SHARE_CHAIN];	/* server: the peer's chain, shared */
	/*
	 * Allocated only when there is something to say: a server holds
	 * thousands of idle connections, and fixed buffers here were a KiB
	 * of each one's memory.
	 */
	char *label;		/* NULL: "peer" */
	char *peer_id;		/* NULL: no identity */
	char *err;		/* NULL: no error */
};

static char errbuf[512];

static const char *seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *seterr(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return errbuf;
}

/* Remember why t failed (replacing the previous reason). */
static void terr(struct pb_tls *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void terr(struct pb_tls *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(t->err);
	t->err = strdup(buf);
}

static const char *errs(const struct pb_tls *t)
{
	return t->err != NULL ? t->err : "";
}

static const char *lbl(const struct pb_tls *t)
{
	return t->label != NULL ? t->label : "peer";
}

static void put_err(const char **errstr, const char *s)
{
	if (errstr != NULL)
		*errstr = s;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The oldest error on OpenSSL's queue as text (the queue is then cleared). */
static void ssl_reason(char *buf, size_t sz)
{
	unsigned long e = ERR_peek_error();
	const char *r;

	if (e == 0) {
		snprintf(buf, sz, "unknown TLS error");
		return;
	}
	r = ERR_reason_error_string(e);
	if (r != NULL)
		snprintf(buf, sz, "%s", r);
	else
		ERR_error_string_n(e, buf, sz);
	ERR_clear_error();
}

static bool is_ip_literal(const char *s)
{
	unsigned char b[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/*
 * Certificate verification: OpenSSL has already decided; this only records
 * why a certificate was refused, for the log and for pb_tls_errstr.
 */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl;
	struct pb_tls *t;
	X509 *cert;
	char subj[256] = "?";
	int err;

	if (ok)
		return ok;
	ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	t = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	err = X509_STORE_CTX_get_error(xs);
	cert = X509_STORE_CTX_get_current_cert(xs);
	if (cert != NULL)
		X509_NAME_oneline(X509_get_subject_name(cert), subj, sizeof(subj));
	/* pb_tls_handshake logs it once the handshake has failed. */
	if (t != NULL)
		terr(t, "certificate verify failed: %s (depth %d, %s)",
			 X509_verify_cert_error_string(err), X509_STORE_CTX_get_error_depth(xs),
			 subj);
	return ok;
}

static size_t share_bucket(const struct pb_tls_ctx *ctx, const unsigned char *md)
{
	size_t h;

	memcpy(&h, md, sizeof(h));
	return h & (ctx->nshare_buckets - 1);
}

/* share_grow: double the buckets (start at 64); false when out of memory (sharing then waits). */
static bool share_grow(struct pb_tls_ctx *ctx)
{
	size_t n = ctx->nshare_buckets ? ctx->nshare_buckets * 2 : 64;
	struct cert_share **b = calloc(n, sizeof(*b));
	struct pb_tls_ctx tmp = {.shares = b, .nshare_buckets = n};

	if (b == NULL)
		return false;
	for (size_t i = 0; i < ctx->nshare_buckets; i++) {
		struct cert_share *e, *next;
		for (e = ctx->shares[i]; e != NULL; e = next) {
			size_t k = share_bucket(&tmp, e->md);
			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(ctx->shares);
	ctx->shares = b;
	ctx->nshare_buckets = n;
	return true;
}

/*
 * share_get: the shared certificate equal to x, or a new entry holding a
 * reference to x; its connection count already raised. NULL when out of
 * memory or the digest fails (the connection then keeps its own copy).
 */
static struct cert_share *share_get(struct pb_tls_ctx *ctx, X509 *x)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	struct cert_share *e;

	if (X509_digest(x, EVP_sha256(), md, &mdlen) != 1 || mdlen != sizeof(md))
		return NULL;
	if (ctx->nshares >= ctx->nshare_buckets && !share_grow(ctx) && ctx->nshare_buckets == 0)
		return NULL;
	size_t k = share_bucket(ctx, md);
	for (e = ctx->shares[k]; e != NULL; e = e->next)
		if (memcmp(e->md, md, sizeof(md)) == 0 && X509_cmp(e->x, x) == 0) {
			e->conns++;
			return e;
		}
	e = calloc(1, sizeof(*e));
	if (e == NULL || X509_up_ref(x) != 1) {
		free(e);
		return NULL;
	}
	memcpy(e->md, md, sizeof(md));
	e->x = x;
	e->conns = 1;
	e->next = ctx->shares[k];
	ctx->shares[k] = e;
	ctx->nshares++;
	return e;
}

/* share_release: a connection is done with e; the last one drops the entry. */
static void share_release(struct pb_tls_ctx *ctx, struct cert_share *e)
{
	struct cert_share **pp;

	if (e == NULL || --e->conns > 0)
		return;
	for (pp = &ctx->shares[share_bucket(ctx, e->md)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	ctx->nshares--;
	X509_free(e->x);
	free(e);
}

/*
 * Server certificate verification, with the certificates the client sent
 * swapped for shared copies first. OpenSSL keeps, for the session's life,
 * the stack it passes as "untrusted" (the client's chain: its certificate,
 * often followed by the CA's) and verifies ctx's target, its first element;
 * each element is replaced by the shared object of the same DER and the
 * freshly decoded one released. Verification itself is OpenSSL's,
 * unchanged, on every connection.
 */
static int server_verify_cb(X509_STORE_CTX *xs, void *arg)
{
	struct pb_tls_ctx *ctx = arg;
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct pb_tls *t = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(xs);
	STACK_OF(X509) *sk = X509_STORE_CTX_get0_untrusted(xs);
	int n = sk != NULL ? sk_X509_num(sk) : 0;

	if (t == NULL || t->share[0] != NULL || n == 0 || sk_X509_value(sk, 0) != leaf)
		return X509_verify_cert(xs);
	for (int i = 0; i < n && i < SHARE_CHAIN; i++) {
		X509 *x = sk_X509_value(sk, i);
		struct cert_share *e = share_get(ctx, x);

		if (e == NULL)
			break;
		t->share[i] = e;
		if (e->x != x) {
			X509_up_ref(e->x);
			(void)sk_X509_set(sk, i, e->x);
			if (i == 0)
				X509_STORE_CTX_set_cert(xs, e->x);
			X509_free(x);
		}
	}
	return X509_verify_cert(xs);
}

static void sess_drop(struct sess_entry *e)
{
	free(e->key);
	SSL_SESSION_free(e->sess);
	e->key = NULL;
	e->sess = NULL;
}

/*
 * A client received a session (after the handshake under 1.2, in a ticket
 * after it under 1.3): keep it for the next connection to the same server.
 */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct pb_tls *t = SSL_get_app_data(ssl);
	struct pb_tls_ctx *ctx;
	struct sess_entry *e = NULL;
	unsigned i;
	char *key;

	if (t == NULL || t->sess_key == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	ctx = t->ctx;
	for (i = 0; i < SESS_MAX && e == NULL; i++)
		if (ctx->sess[i].key != NULL && strcmp(ctx->sess[i].key, t->sess_key) == 0)
			e = &ctx->sess[i];
	for (i = 0; i < SESS_MAX && e == NULL; i++)
		if (ctx->sess[i].key == NULL)
			e = &ctx->sess[i];
	if (e == NULL) {
		e = &ctx->sess[ctx->sess_next];
		ctx->sess_next = (ctx->sess_next + 1) % SESS_MAX;
	}
	key = strdup(t->sess_key);
	if (key == NULL)
		return 0;
	sess_drop(e);
	e->key = key;
	e->sess = sess;
	PB_TRACE(PB_SS_TLS, 5, "tls %s: session stored for resumption", lbl(t));
	return 1; /* we keep the reference */
}

static SSL_SESSION *sess_find(struct pb_tls_ctx *ctx, const char *key)
{
	unsigned i;

	for (i = 0; i < SESS_MAX; i++)
		if (ctx->sess[i].key != NULL && strcmp(ctx->sess[i].key, key) == 0)
			return ctx->sess[i].sess;
	return NULL;
}

static void init_openssl(void)
{
	/*
	 * No openssl.cnf: the system configuration could lower or raise what
	 * we ask for below, and reading it costs time at every start.
	 */
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_LOAD_SSL_STRINGS |
				 OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
			 NULL);
}

static bool readable(const char *what, const char *path, const char **errstr)
{
	if (path == NULL || *path == '\0') {
		put_err(errstr, seterr("tls: no %s file configured", what));
		return false;
	}
	if (access(path, R_OK) < 0) {
		put_err(errstr, seterr("tls: %s %s: %s", what, path, strerror(errno)));
		return false;
	}
	return true;
}

struct pb_tls_ctx *pb_tls_ctx_new(enum pb_tls_role role, const struct pb_tls_conf *conf,
				  const char **errstr)
{
	struct pb_tls_ctx *ctx;
	SSL_CTX *sc = NULL;
	char why[256];
	const char *sid;
	STACK_OF(X509_NAME) *cas;
	bool anon;

	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		put_err(errstr, seterr("tls: out of memory"));
		return NULL;
	}
	ctx->role = role;
	ctx->no_resume = conf->no_resume;
	ctx->refs = 1;
	if (conf->plain) {
		ctx->plain = true;
		pb_log(PB_LV_WARN, "WARNING: TLS IS OFF: plain TCP %s for tests only, loopback "
		       "addresses only; never use this in production",
		       role == PB_TLS_SERVER ? "server" : "client");
		return ctx;
	}
	/* A client without a certificate is only useful to show that servers refuse it. */
	anon = role == PB_TLS_CLIENT && conf->cert == NULL && conf->key == NULL;
	if (!readable("ca", conf->ca, errstr) ||
	    (!anon && (!readable("cert", conf->cert, errstr) || !readable("key", conf->key, errstr))))
		goto fail;
	init_openssl();
	ERR_clear_error();
	sc = SSL_CTX_new(role == PB_TLS_SERVER ? TLS_server_method() : TLS_client_method());
	if (sc == NULL) {
		ssl_reason(why, sizeof(why));
		put_err(errstr, seterr("tls: %s", why));
		goto fail;
	}
	SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
	SSL_CTX_set_security_level(sc, 2);
	/* Under 1.2 only forward-secret AEAD suites; 1.3's defaults are all fine. */
	SSL_CTX_set_cipher_list(sc, "ECDHE+AESGCM:ECDHE+CHACHA20");
	/*
	 * An EOF without close_notify is reported as an ordinary end: the
	 * framing above detects a stream cut inside a message, and shells that
	 * exit do not always say goodbye.
	 */
	SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
	/*
	 * Partial writes and a movable buffer let the server write from the
	 * front of a growing output queue; released buffers keep thousands of
	 * idle connections at a few KiB each.
	 */
	SSL_CTX_set_mode(sc, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				     SSL_MODE_RELEASE_BUFFERS);
	if (anon)
		goto no_cert;
	if (SSL_CTX_use_certificate_chain_file(sc, conf->cert) != 1) {
		ssl_reason(why, sizeof(why));
		put_err(errstr, seterr("tls: cert %s: %s", conf->cert, why));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(sc, conf->key, SSL_FILETYPE_PEM) != 1) {
		ssl_reason(why, sizeof(why));
		put_err(errstr, seterr("tls: key %s: %s", conf->key, why));
		goto fail;
	}
	if (SSL_CTX_check_private_key(sc) != 1) {
		ERR_clear_error();
		put_err(errstr, seterr("tls: key %s does not match cert %s", conf->key, conf->cert));
		goto fail;
	}
no_cert:
	/* Only the private CA: never SSL_CTX_set_default_verify_paths (the system store). */
	if (SSL_CTX_load_verify_locations(sc, conf->ca, NULL) != 1) {
		ssl_reason(why, sizeof(why));
		put_err(errstr, seterr("tls: ca %s: %s", conf->ca, why));
		goto fail;
	}
	SSL_CTX_set_verify_depth(sc, 5);
	if (role == PB_TLS_SERVER) {
		int mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT |
			   SSL_VERIFY_CLIENT_ONCE;

		/* Optional, not ignored: a certificate that is sent is still verified. */
		if (conf->no_client_cert)
			mode &= ~SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
		SSL_CTX_set_verify(sc, mode, verify_cb);
		SSL_CTX_set_cert_verify_callback(sc, server_verify_cb, ctx);
		cas = SSL_load_client_CA_file(conf->ca);
		if (cas != NULL)
			SSL_CTX_set_client_CA_list(sc, cas);
		ERR_clear_error();
		sid = conf->sid_ctx != NULL && *conf->sid_ctx ? conf->sid_ctx : "pbsh";
		if (SSL_CTX_set_session_id_context(sc, (const unsigned char *)sid,
						   (unsigned)strlen(sid)) != 1) {
			put_err(errstr, seterr("tls: session id context \"%s\" too long", sid));
			goto fail;
		}
		SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_SERVER);
		/* One ticket per handshake: a client keeps only the newest. */
		SSL_CTX_set_num_tickets(sc, 1);
	} else {
		SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, verify_cb);
		SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_CLIENT |
							   SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(sc, new_session_cb);
	}
	ctx->ssl = sc;
	return ctx;
fail:
	SSL_CTX_free(sc);
	free(ctx);
	return NULL;
}

static void ctx_unref(struct pb_tls_ctx *ctx)
{
	unsigned i;

	if (ctx == NULL || --ctx->refs > 0)
		return;
	for (i = 0; i < SESS_MAX; i++)
		sess_drop(&ctx->sess[i]);
	for (size_t b = 0; b < ctx->nshare_buckets; b++) {
		struct cert_share *e, *next;
		for (e = ctx->shares[b]; e != NULL; e = next) {
			next = e->next;
			X509_free(e->x);
			free(e);
		}
	}
	free(ctx->shares);
	SSL_CTX_free(ctx->ssl);
	free(ctx);
}

void pb_tls_ctx_free(struct pb_tls_ctx *ctx)
{
	ctx_unref(ctx);
}

struct pb_tls_ctx *pb_tls_ctx_ref(struct pb_tls_ctx *ctx)
{
	ctx->refs++;
	return ctx;
}

size_t pb_tls_ctx_peer_certs(const struct pb_tls_ctx *ctx)
{
	return ctx->nshares;
}

bool pb_tls_ctx_plain(const struct pb_tls_ctx *ctx)
{
	return ctx->plain;
}

enum pb_tls_role pb_tls_ctx_role(const struct pb_tls_ctx *ctx)
{
	return ctx->role;
}

struct pb_tls *pb_tls_new(struct pb_tls_ctx *ctx, int fd, const char *servername,
			  const char **errstr)
{
	struct pb_tls *t;
	char addr[PB_NET_ADDRSTRLEN];
	SSL_SESSION *sess;

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		put_err(errstr, seterr("tls: out of memory"));
		goto fail;
	}
	t->fd = fd;
	t->ctx = ctx;
	ctx->refs++;
	if (servername != NULL && *servername != '\0')
		t->label = strdup(servername);
	if (ctx->plain) {
		if (!pb_net_fd_is_loopback(fd)) {
			pb_net_peer_str(fd, addr, sizeof(addr));
			pb_log(PB_LV_ERROR, "plain TCP refused with %s: tests only, loopback only",
			       addr);
			put_err(errstr, seterr("plain TCP refused with %s: loopback only", addr));
			goto fail;
		}
		return t;
	}
	ERR_clear_error();
	t->ssl = SSL_new(ctx->ssl);
	if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1) {
		put_err(errstr, seterr("tls: cannot make a connection (out of memory)"));
		goto fail;
	}
	SSL_set_app_data(t->ssl, t);
	if (ctx->role == PB_TLS_SERVER) {
		SSL_set_accept_state(t->ssl);
		return t;
	}
	if (servername == NULL || *servername == '\0') {
		put_err(errstr, seterr("tls: a client needs the server's name to verify"));
		goto fail;
	}
	if (is_ip_literal(servername)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), servername) != 1) {
			put_err(errstr, seterr("tls: bad server address %s", servername));
			goto fail;
		}
	} else {
		SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(t->ssl, servername) != 1 ||
		    SSL_set_tlsext_host_name(t->ssl, servername) != 1) {
			put_err(errstr, seterr("tls: bad server name %s", servername));
			goto fail;
		}
	}
	/* The cache key holds the address too: policyd and logd on one host differ. */
	pb_net_peer_str(fd, addr, sizeof(addr));
	if (asprintf(&t->sess_key, "%s|%s", servername, addr) < 0) {
		t->sess_key = NULL;
		put_err(errstr, seterr("tls: out of memory"));
		goto fail;
	}
	sess = ctx->no_resume ? NULL : sess_find(ctx, t->sess_key);
	if (sess != NULL && SSL_SESSION_is_resumable(sess)) {
		SSL_set_session(t->ssl, sess);
		PB_TRACE(PB_SS_TLS, 5, "tls %s: offering the saved session", lbl(t));
	}
	SSL_set_connect_state(t->ssl);
	return t;
fail:
	ERR_clear_error();
	if (t == NULL)
		close(fd);
	pb_tls_free(t);
	return NULL;
}

void pb_tls_free(struct pb_tls *t)
{
	if (t == NULL)
		return;
	/*
	 * OpenSSL retires the session of a connection freed without
	 * close_notify, as if it had failed. A healthy connection we simply
	 * drop keeps its session resumable.
	 */
	if (t->ssl != NULL && t->done && !t->failed)
		SSL_set_shutdown(t->ssl, SSL_get_shutdown(t->ssl) | SSL_SENT_SHUTDOWN);
	SSL_free(t->ssl);
	for (int i = 0; i < SHARE_CHAIN; i++)
		share_release(t->ctx, t->share[i]);
	if (t->fd >= 0)
		close(t->fd);
	free(t->sess_key);
	free(t->label);
	free(t->peer_id);
	free(t->err);
	ctx_unref(t->ctx);
	free(t);
}

int pb_tls_fd(const struct pb_tls *t)
{
	return t->fd;
}

void pb_tls_set_label(struct pb_tls *t, const char *label)
{
	free(t->label);
	t->label = label != NULL ? strdup(label) : NULL;
}

/*
 * Map the result of an SSL_* call to PB_ERR_*; on a failure remember and
 * (for the handshake) log the reason. what names the operation.
 */
static int ssl_result(struct pb_tls *t, int ret, const char *what)
{
	int e = SSL_get_error(t->ssl, ret);
	char why[256];

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return PB_ERR_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return PB_ERR_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return PB_ERR_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && errno == 0)
			return PB_ERR_EOF;
		if (errno == EPIPE || errno == ECONNRESET) {
			ERR_clear_error();
			terr(t, "%s: %s", what, strerror(errno));
			return PB_ERR_EOF;
		}
		terr(t, "%s: %s", what, strerror(errno));
		ERR_clear_error();
		t->failed = true;
		return PB_ERR_IO;
	default:
		t->failed = true;
		ssl_reason(why, sizeof(why));
		/* A refused certificate already said why in verify_cb; keep that text. */
		if (strncmp(errs(t), "certificate verify failed", 25) != 0)
			terr(t, "%s: %s", what, why);
		return PB_ERR_TLS;
	}
}

int pb_tls_handshake(struct pb_tls *t)
{
	int ret, rc;

	if (t->done)
		return 0;
	if (t->ssl == NULL) {
		t->done = true;
		return 0;
	}
	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(t->ssl);
	if (ret == 1) {
		X509 *peer;

		t->done = true;
		free(t->err);
		t->err = NULL;
		peer = SSL_get1_peer_certificate(t->ssl);
		if (peer != NULL) {
			X509_NAME *n = X509_get_subject_name(peer);
			int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
			unsigned char *u = NULL;
			int ul = -1;

			if (i >= 0)
				ul = ASN1_STRING_to_UTF8(
					&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
			if (ul <= 0) {
				GENERAL_NAMES *gens =
					X509_get_ext_d2i(peer, NID_subject_alt_name, NULL, NULL);
				int k;

				OPENSSL_free(u);
				u = NULL;
				for (k = 0; gens != NULL && k < sk_GENERAL_NAME_num(gens); k++) {
					GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, k);

					if (g->type == GEN_DNS) {
						ul = ASN1_STRING_to_UTF8(&u, g->d.dNSName);
						break;
					}
				}
				GENERAL_NAMES_free(gens);
			}
			if (ul > 0) {
				size_t j, m = (size_t)ul < 255 ? (size_t)ul : 255;

				free(t->peer_id);
				t->peer_id = malloc(m + 1);
				/* An identity goes into logs and comparisons: no control bytes. */
				for (j = 0; t->peer_id != NULL && j < m; j++)
					t->peer_id[j] = (u[j] < 0x20 || u[j] == 0x7f) ? '?'
										     : (char)u[j];
				if (t->peer_id != NULL)
					t->peer_id[m] = '\0';
			}
			OPENSSL_free(u);
			X509_free(peer);
		}
		PB_TRACE(PB_SS_TLS, 3, "tls %s: %s %s, peer \"%s\"", lbl(t),
			 SSL_get_version(t->ssl), SSL_session_reused(t->ssl) ? "resumed" : "full",
			 pb_tls_peer_id(t));
		ERR_clear_error();
		return 0;
	}
	rc = ssl_result(t, ret, "handshake");
	if (rc == PB_ERR_EOF && t->err == NULL)
		terr(t, "handshake: connection closed by peer");
	if (rc == PB_ERR_TLS && strncmp(errs(t), "certificate verify failed", 25) == 0)
		pb_log(PB_LV_WARN, "tls %s: refused the %s's certificate: %s", lbl(t),
		       t->ctx->role == PB_TLS_SERVER ? "client" : "server", errs(t));
	else if (rc != PB_ERR_WANT_READ && rc != PB_ERR_WANT_WRITE)
		pb_log(rc == PB_ERR_EOF ? PB_LV_INFO : PB_LV_WARN, "tls %s: %s", lbl(t), errs(t));
	return rc;
}

ssize_t pb_tls_read(struct pb_tls *t, void *buf, size_t n)
{
	size_t got = 0;
	int ret, tries;

	if (n == 0)
		return 0;
	if (t->ssl == NULL) {
		for (;;) {
			ssize_t r = read(t->fd, buf, n);

			if (r > 0)
				return r;
			if (r == 0)
				return PB_ERR_EOF;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return PB_ERR_WANT_READ;
			if (errno == ECONNRESET)
				return PB_ERR_EOF;
			terr(t, "read: %s", strerror(errno));
			return PB_ERR_IO;
		}
	}
	for (tries = 0;; tries++) {
		int rc;

		ERR_clear_error();
		errno = 0;
		ret = SSL_read_ex(t->ssl, buf, n, &got);
		if (ret == 1)
			return (ssize_t)got;
		rc = ssl_result(t, ret, "read");
		if (rc == PB_ERR_IO && errno == EINTR && tries < 8)
			continue;
		return rc;
	}
}

ssize_t pb_tls_write(struct pb_tls *t, const void *buf, size_t n)
{
	size_t put = 0;
	int ret, tries;

	if (n == 0)
		return 0;
	if (t->ssl == NULL) {
		for (;;) {
			/* send(MSG_NOSIGNAL): a plain socket never raises SIGPIPE. */
			ssize_t r = send(t->fd, buf, n, MSG_NOSIGNAL);

			if (r >= 0)
				return r;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return PB_ERR_WANT_WRITE;
			if (errno == EPIPE || errno == ECONNRESET)
				return PB_ERR_EOF;
			terr(t, "write: %s", strerror(errno));
			return PB_ERR_IO;
		}
	}
	for (tries = 0;; tries++) {
		int rc;

		ERR_clear_error();
		errno = 0;
		ret = SSL_write_ex(t->ssl, buf, n, &put);
		if (ret == 1)
			return (ssize_t)put;
		rc = ssl_result(t, ret, "write");
		if (rc == PB_ERR_IO && errno == EINTR && tries < 8)
			continue;
		return rc;
	}
}

size_t pb_tls_pending(const struct pb_tls *t)
{
	return t->ssl != NULL ? (size_t)SSL_pending(t->ssl) : 0;
}

void pb_tls_read_ahead(struct pb_tls *t)
{
	if (t->ssl != NULL)
		SSL_set_read_ahead(t->ssl, 1);
}

bool pb_tls_buffered(const struct pb_tls *t)
{
	return t->ssl != NULL && SSL_has_pending(t->ssl) == 1;
}

int pb_tls_shutdown(struct pb_tls *t)
{
	int ret;

	if (t->shut)
		return 0;
	t->shut = true;
	if (t->ssl == NULL) {
		shutdown(t->fd, SHUT_WR);
		return 0;
	}
	if (!t->done)
		return 0;
	ERR_clear_error();
	ret = SSL_shutdown(t->ssl);
	ERR_clear_error();
	return ret >= 0 ? 0 : PB_ERR_TLS;
}

const char *pb_tls_peer_id(const struct pb_tls *t)
{
	return t->peer_id != NULL ? t->peer_id : "";
}

bool pb_tls_peer_matches(const struct pb_tls *t, const char *name)
{
	X509 *peer;
	int r;

	if (t->ssl == NULL || !t->done || name == NULL || *name == '\0')
		return false;
	peer = SSL_get1_peer_certificate(t->ssl);
	if (peer == NULL)
		return false;
	if (is_ip_literal(name))
		r = X509_check_ip_asc(peer, name, 0);
	else
		r = X509_check_host(peer, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL);
	X509_free(peer);
	ERR_clear_error();
	return r == 1;
}

bool pb_tls_resumed(const struct pb_tls *t)
{
	return t->ssl != NULL && t->done && SSL_session_reused(t->ssl) == 1;
}

const char *pb_tls_version(const struct pb_tls *t)
{
	return t->ssl != NULL ? SSL_get_version(t->ssl) : "plain";
}

const char *pb_tls_errstr(const struct pb_tls *t)
{
	return errs(t);
}

/* Wait until t can go on after rc (WANT_READ/WANT_WRITE); 0, PB_ERR_TIMEOUT or PB_ERR_IO. */
static int wait_for(struct pb_tls *t, int rc, int64_t deadline)
{
	struct pollfd pfd = {.fd = t->fd, .events = rc == PB_ERR_WANT_WRITE ? POLLOUT : POLLIN};

	for (;;) {
		int left = -1, n;

		if (deadline >= 0) {
			int64_t d = deadline - now_ms();

			if (d <= 0) {
				terr(t, "timed out");
				return PB_ERR_TIMEOUT;
			}
			left = d > 1000000 ? 1000000 : (int)d;
		}
		n = poll(&pfd, 1, left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			terr(t, "poll: %s", strerror(errno));
			return PB_ERR_IO;
		}
	}
}

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

static int handshake_until(struct pb_tls *t, int64_t deadline)
{
	for (;;) {
		int rc = pb_tls_handshake(t);

		if (rc != PB_ERR_WANT_READ && rc != PB_ERR_WANT_WRITE)
			return rc;
		rc = wait_for(t, rc, deadline);
		if (rc < 0)
			return rc;
	}
}

int pb_tls_handshake_wait(struct pb_tls *t, int timeout_ms)
{
	return handshake_until(t, deadline_of(timeout_ms));
}

static int write_until(struct pb_tls *t, const void *buf, size_t n, int64_t deadline)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t r = pb_tls_write(t, p, n);

		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r != PB_ERR_WANT_READ && r != PB_ERR_WANT_WRITE)
			return (int)r;
		r = wait_for(t, (int)r, deadline);
		if (r < 0)
			return (int)r;
	}
	return 0;
}

int pb_tls_write_all(struct pb_tls *t, const void *buf, size_t n, int timeout_ms)
{
	return write_until(t, buf, n, deadline_of(timeout_ms));
}

int pb_tls_send_frame(struct pb_tls *t, const void *payload, size_t len, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	uint8_t small[PB_FRAME_HDR + 4096];
	uint8_t hdr[PB_FRAME_HDR];
	int rc;

	if (len == 0 || len > UINT32_MAX)
		return PB_ERR_INVAL;
	/* A small frame goes in one write, hence one TLS record. */
	if (len <= sizeof(small) - PB_FRAME_HDR) {
		pb_frame_put_hdr(small, (uint32_t)len);
		memcpy(small + PB_FRAME_HDR, payload, len);
		return write_until(t, small, PB_FRAME_HDR + len, deadline);
	}
	pb_frame_put_hdr(hdr, (uint32_t)len);
	rc = write_until(t, hdr, sizeof(hdr), deadline);
	if (rc < 0)
		return rc;
	return write_until(t, payload, len, deadline);
}

int pb_tls_recv_frame(struct pb_tls *t, uint32_t max, int timeout_ms, uint8_t **payload,
		      size_t *len)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct pb_frame_dec d;
	uint8_t buf[16384];
	int rc;

	*payload = NULL;
	*len = 0;
	pb_frame_dec_init(&d, max);
	while (!d.complete) {
		/* Read only what this frame still needs: the next frame stays in TLS. */
		size_t want = d.hdr_have < PB_FRAME_HDR ? PB_FRAME_HDR - d.hdr_have : d.len - d.have;
		ssize_t r, used;

		if (want > sizeof(buf))
			want = sizeof(buf);
		r = pb_tls_read(t, buf, want);
		if (r == PB_ERR_WANT_READ || r == PB_ERR_WANT_WRITE) {
			rc = wait_for(t, (int)r, deadline);
			if (rc < 0)
				goto done;
			continue;
		}
		if (r < 0) {
			rc = (int)r;
			if (rc == PB_ERR_EOF && pb_frame_dec_started(&d))
				rc = PB_ERR_TRUNCATED;
			goto done;
		}
		used = pb_frame_dec_feed(&d, buf, (size_t)r);
		if (used < 0) {
			rc = (int)used;
			goto done;
		}
	}
	*payload = pb_frame_dec_take(&d, len);
	rc = 0;
done:
	pb_frame_dec_free(&d);
	return rc;
}

struct pb_tls *pb_tls_connect(struct pb_tls_ctx *ctx, const char *host, const char *port,
			      int timeout_ms, const char **errstr)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct pb_tls *t;
	int fd, rc;

	fd = pb_net_connect(host, port, timeout_ms, errstr);
	if (fd < 0)
		return NULL;
	t = pb_tls_new(ctx, fd, host, errstr);
	if (t == NULL)
		return NULL;
	rc = handshake_until(t, deadline);
	if (rc < 0) {
		put_err(errstr, seterr("%s:%s: %s", host, port,
				       t->err != NULL ? t->err : pb_strerror(rc)));
		pb_tls_free(t);
		return NULL;
	}
	return t;
}
