/* SPDX-License-Identifier: ISC */
/* The monitor's client connections: TLS set-up from pbsh.yaml, connecting, framing, and the log
 * protocol's hello. */
#include "mon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "debug.h"
#include "err.h"
#include "net.h"

int mon_net_init(struct mon_net *net, const struct pb_conf *conf, char *err, size_t errlen)
{
	struct pb_tls_conf tc = {
	    .ca = pb_conf_str(conf, "tls.ca"),
	    .cert = pb_conf_str(conf, "tls.cert"),
	    .key = pb_conf_str(conf, "tls.key"),
	    .plain = pb_conf_bool(conf, "tls.plaintext_for_tests"),
	};
	const char *errstr = NULL;

	memset(net, 0, sizeof(*net));
	net->servername = pb_conf_str(conf, "tls.servername");
	net->connect_ms = (int)pb_conf_ms(conf, "timeouts.connect");
	net->request_ms = (int)pb_conf_ms(conf, "timeouts.request");
	net->max = (uint32_t)pb_conf_size(conf, "max_frame");
	net->spool_retry_ms = (int)pb_conf_ms(conf, "timeouts.spool_retry");
	if (!tc.plain && (tc.ca == NULL || tc.cert == NULL || tc.key == NULL)) {
		snprintf(err, errlen,
		         "%s: tls.ca, tls.cert and tls.key must be set for the servers",
		         pb_conf_file(conf));
		return PB_ERR_CONF;
	}
	net->ctx = pb_tls_ctx_new(PB_TLS_CLIENT, &tc, &errstr);
	if (net->ctx == NULL) {
		snprintf(err, errlen, "%s", errstr ? errstr : "cannot set up TLS");
		return PB_ERR_TLS;
	}
	return 0;
}

void mon_net_free(struct mon_net *net)
{
	pb_tls_ctx_free(net->ctx);
	net->ctx = NULL;
}

struct pb_tls *mon_net_connect(const struct mon_net *net, const struct pb_hostport *hp, char *err,
                               size_t errlen)
{
	const char *errstr = NULL;
	int64_t start = mon_now_ms();
	int fd = pb_net_connect(hp->host, hp->port, net->connect_ms, &errstr);
	if (fd < 0) {
		snprintf(err, errlen, "%s", errstr ? errstr : pb_strerror(fd));
		return NULL;
	}
	struct pb_tls *t =
	    pb_tls_new(net->ctx, fd, net->servername ? net->servername : hp->host, &errstr);
	if (t == NULL) {
		snprintf(err, errlen, "%s: %s", hp->text, errstr ? errstr : "TLS set-up failed");
		return NULL;
	}
	pb_tls_set_label(t, hp->text);
	int left = net->connect_ms - (int)(mon_now_ms() - start);
	int rc = pb_tls_handshake_wait(t, left > 0 ? left : 1);
	if (rc < 0) {
		const char *why = pb_tls_errstr(t);
		snprintf(err, errlen, "%s: TLS handshake: %s", hp->text,
		         why != NULL && why[0] != '\0' ? why : pb_strerror(rc));
		pb_tls_free(t);
		return NULL;
	}
	PB_TRACE(PB_SS_MONITOR, 3, "connected to %s (%s%s)", hp->text, pb_tls_version(t),
	         pb_tls_resumed(t) ? ", resumed" : "");
	return t;
}

int mon_send(struct pb_tls *t, const ProtobufCMessage *msg, uint32_t max, int timeout_ms)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = pb_frame_pack(msg, max, &buf, &len);
	if (rc < 0)
		return rc;
	rc = pb_tls_write_all(t, buf, len, timeout_ms);
	free(buf);
	return rc;
}

int64_t mon_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec mon_ts_sub(struct timespec a, struct timespec b)
{
	struct timespec r = {a.tv_sec - b.tv_sec, a.tv_nsec - b.tv_nsec};
	if (r.tv_nsec < 0) {
		r.tv_sec--;
		r.tv_nsec += 1000000000L;
	}
	if (r.tv_sec < 0)
		r.tv_sec = r.tv_nsec = 0;
	return r;
}

struct timespec mon_ts_add(struct timespec a, struct timespec b)
{
	struct timespec r = {a.tv_sec + b.tv_sec, a.tv_nsec + b.tv_nsec};
	if (r.tv_nsec >= 1000000000L) {
		r.tv_sec++;
		r.tv_nsec -= 1000000000L;
	}
	return r;
}

int mon_ts_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

void mon_uniqueid(char out[33])
{
	uint8_t rnd[16];
	size_t got = 0;
	while (got < sizeof(rnd)) {
		ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			pb_fatal(1, "getrandom: %s", strerror(errno));
		got += (size_t)r;
	}
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
}

/* hello_one: ClientHello on a fresh connection, then the ServerHello. */
static int hello_one(const struct mon_net *net, struct pb_tls *t, unsigned *exts, char *err,
                     size_t errlen)
{
	static char *const ours[] = {"event-acks"};
	Pblog__ClientHello ch = PBLOG__CLIENT_HELLO__INIT;
	Pblog__ClientMessage cm = PBLOG__CLIENT_MESSAGE__INIT;
	uint8_t *buf = NULL;
	size_t len = 0;
	ch.client_id = (char *)"pbsh-monitor " PB_VERSION;
	/* Sent before the server's hello is read: a server without them skips the field. */
	ch.n_extensions = sizeof(ours) / sizeof(ours[0]);
	ch.extensions = (char **)ours;
	cm.type_case = PBLOG__CLIENT_MESSAGE__TYPE_HELLO_MSG;
	cm.hello_msg = &ch;
	int rc = mon_send(t, &cm.base, net->max, net->request_ms);
	if (rc == 0)
		rc = pb_tls_recv_frame(t, net->max, net->request_ms, &buf, &len);
	if (rc < 0) {
		snprintf(err, errlen, "hello: %s", pb_strerror(rc));
		return rc;
	}
	Pblog__ServerMessage *sm = pblog__server_message__unpack(NULL, len, buf);
	free(buf);
	if (sm == NULL || sm->type_case != PBLOG__SERVER_MESSAGE__TYPE_HELLO) {
		snprintf(err, errlen, "the server did not answer with a ServerHello%s%s",
		         sm && sm->type_case == PBLOG__SERVER_MESSAGE__TYPE_ERROR ? ": " : "",
		         sm && sm->type_case == PBLOG__SERVER_MESSAGE__TYPE_ERROR ? sm->error : "");
		if (sm != NULL)
			pblog__server_message__free_unpacked(sm, NULL);
		return PB_ERR_PROTO;
	}
	*exts = 0;
	for (size_t i = 0; i < sm->hello->n_extensions; i++) {
		if (strcmp(sm->hello->extensions[i], "subcommand-exit") == 0)
			*exts |= MON_EXT_SUBCMD;
		else if (strcmp(sm->hello->extensions[i], "event-acks") == 0)
			*exts |= MON_EXT_EVACKS;
	}
	pblog__server_message__free_unpacked(sm, NULL);
	return 0;
}

struct pb_tls *mon_log_open(const struct mon_net *net, const struct pb_hostport *hp, size_t n,
                            unsigned *exts, size_t *which, char *err, size_t errlen)
{
	snprintf(err, errlen, "no log server configured");
	for (size_t i = 0; i < n; i++) {
		char e[512];
		struct pb_tls *t = mon_net_connect(net, &hp[i], e, sizeof(e));
		if (t != NULL && hello_one(net, t, exts, e, sizeof(e)) < 0) {
			pb_tls_free(t);
			t = NULL;
		}
		if (t != NULL) {
			if (which != NULL)
				*which = i;
			return t;
		}
		snprintf(err, errlen, "log server %s: %s", hp[i].text, e);
		PB_TRACE(PB_SS_MONITOR, 2, "%s", err);
	}
	return NULL;
}

bool mon_log_event(const Pblog__ClientMessage *cm)
{
	switch (cm->type_case) {
	case PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG:
	case PBLOG__CLIENT_MESSAGE__TYPE_REJECT_MSG:
	case PBLOG__CLIENT_MESSAGE__TYPE_ALERT_MSG:
	case PBLOG__CLIENT_MESSAGE__TYPE_SUBCMD_EXIT:
	case PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG:
		return true;
	default:
		return false;
	}
}

bool mon_log_delay(const Pblog__ClientMessage *cm, struct timespec *delay)
{
	const Pblog__TimeSpec *d = NULL;
	switch (cm->type_case) {
	case PBLOG__CLIENT_MESSAGE__TYPE_TTYIN_BUF:
		d = cm->ttyin_buf->delay;
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_TTYOUT_BUF:
		d = cm->ttyout_buf->delay;
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_STDIN_BUF:
		d = cm->stdin_buf->delay;
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_STDOUT_BUF:
		d = cm->stdout_buf->delay;
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_STDERR_BUF:
		d = cm->stderr_buf->delay;
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_WINSIZE_EVENT:
		d = cm->winsize_event->delay;
		break;
	case PBLOG__CLIENT_MESSAGE__TYPE_SUSPEND_EVENT:
		d = cm->suspend_event->delay;
		break;
	default:
		return false;
	}
	delay->tv_sec = d ? (time_t)d->tv_sec : 0;
	delay->tv_nsec = d ? d->tv_nsec : 0;
	return true;
}
