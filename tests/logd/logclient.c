/* SPDX-License-Identifier: ISC */
/* Test client for logd: sends an I/O log directory record by record, stops early, or resumes after a lost server. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "frame.h"
#include "iolog.h"
#include "json.h"
#include "log.pb-c.h"
#include "tls.h"

/*
 * usage: logclient [-c ca,cert,key] -p port [-n N] [-R] [-x uniqueid] DIR
 *
 * Prints to stdout, one line each, flushed: "log_id ID", "commit S.NNNNNNNNN"
 * for every commit point, "done S.N" after the final one, "error TEXT" for an
 * error from the server.
 *   -n N   send only the first N records, wait for the commit point that
 *          covers them, then leave without an Exit (an interrupted client)
 *   -R     resume: when the connection breaks, reconnect (for up to 20 s) and
 *          send a Restart from the last commit point, then go on
 *   -r ID,S,N  start with a Restart of log ID at S.N instead of an Accept
 *   -d MS  sleep MS milliseconds between records (a slow stream)
 *   -x ID  also send a sub-command accept and its SubcommandExit (uniqueid ID)
 *   -H host  the submithost to claim (default: the log's)
 */

struct rec {
	struct iolog_rec r;
	char *data;
	struct timespec cum;	/* elapsed after this record */
};

static struct rec *recs;
static size_t nrecs;
static struct pb_tls_ctx *ctx;
static const char *port;
static struct pb_tls *conn;
static char log_id[IOLOG_ID_MAX + 1];
static struct timespec last_commit;
static bool have_commit;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "logclient: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void load(const char *dir)
{
	struct iolog_reader *r;
	const char *errstr;
	if (iolog_reader_open(dir, &r, &errstr) < 0)
		die("%s: %s", dir, errstr);
	size_t cap = 0;
	struct timespec cum = {0, 0};
	struct iolog_rec ir;
	int rc;
	while ((rc = iolog_reader_next(r, &ir, &errstr, NULL)) == 1) {
		if (nrecs == cap) {
			cap = cap ? cap * 2 : 256;
			recs = realloc(recs, cap * sizeof(*recs));
			if (recs == NULL)
				die("out of memory");
		}
		struct rec *x = &recs[nrecs++];
		x->r = ir;
		x->data = NULL;
		if (iolog_stream_name(ir.type) != NULL) {
			x->data = malloc(ir.len + 1);
			if (x->data == NULL || iolog_reader_data(r, &ir, x->data) != (ssize_t)ir.len)
				die("%s: short stream file", dir);
		}
		cum = ts_add(cum, ir.delay);
		x->cum = cum;
	}
	if (rc < 0)
		die("%s: %s", dir, errstr);
	iolog_reader_close(r);
}

static void connect_server(int timeout_ms)
{
	const char *errstr = NULL;
	conn = pb_tls_connect(ctx, "localhost", port, timeout_ms, &errstr);
	if (conn == NULL)
		die("connect: %s", errstr);
}

static int send_msg(Pblog__ClientMessage *m)
{
	size_t len = pblog__client_message__get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL)
		die("out of memory");
	pblog__client_message__pack(m, buf);
	int rc = pb_tls_send_frame(conn, buf, len, 10000);
	free(buf);
	return rc;
}

/* recv_one: one server message (timeout_ms); handles hello/log_id/commit/error. Returns the type or <0. */
static int recv_one(int timeout_ms)
{
	uint8_t *payload;
	size_t len;
	int rc = pb_tls_recv_frame(conn, 0, timeout_ms, &payload, &len);
	if (rc < 0)
		return rc;
	Pblog__ServerMessage *sm = pblog__server_message__unpack(NULL, len, payload);
	free(payload);
	if (sm == NULL)
		die("undecodable server message");
	int type = sm->type_case;
	switch (sm->type_case) {
	case PBLOG__SERVER_MESSAGE__TYPE_HELLO:
		break;
	case PBLOG__SERVER_MESSAGE__TYPE_LOG_ID:
		snprintf(log_id, sizeof(log_id), "%s", sm->log_id);
		printf("log_id %s\n", log_id);
		break;
	case PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT:
		last_commit.tv_sec = (time_t)sm->commit_point->tv_sec;
		last_commit.tv_nsec = sm->commit_point->tv_nsec;
		have_commit = true;
		printf("commit %lld.%09ld\n", (long long)last_commit.tv_sec, last_commit.tv_nsec);
		break;
	case PBLOG__SERVER_MESSAGE__TYPE_ERROR:
		printf("error %s\n", sm->error);
		break;
	case PBLOG__SERVER_MESSAGE__TYPE_ABORT:
		printf("abort %s\n", sm->abort);
		break;
	default:
		break;
	}
	fflush(stdout);
	pblog__server_message__free_unpacked(sm, NULL);
	return type;
}

/* drain: read every server message already waiting. */
static int drain(void)
{
	for (;;) {
		struct pollfd p = {pb_tls_fd(conn), POLLIN, 0};
		if (pb_tls_pending(conn) == 0 && poll(&p, 1, 0) <= 0)
			return 0;
		int t = recv_one(1000);
		if (t < 0)
			return t;
		if (t == PBLOG__SERVER_MESSAGE__TYPE_ERROR)
			exit(3);
	}
}

static void hello(void)
{
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__ClientHello h = PBLOG__CLIENT_HELLO__INIT;
	h.client_id = "pbsh logclient (tests)";
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_HELLO_MSG;
	m.hello_msg = &h;
	if (send_msg(&m) < 0 || recv_one(10000) != PBLOG__SERVER_MESSAGE__TYPE_HELLO)
		die("no ServerHello");
}

/* ---- accept from log.json ---- */

static Pblog__InfoMessage *info_str(const char *k, const char *v)
{
	Pblog__InfoMessage *m = calloc(1, sizeof(*m));
	pblog__info_message__init(m);
	m->key = (char *)k;
	m->value_case = PBLOG__INFO_MESSAGE__VALUE_STRVAL;
	m->strval = (char *)v;
	return m;
}

static void send_accept(const char *dir, const char *host, bool iobufs, const char *uniqueid)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/log.json", dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	static char text[65536];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	const char *errstr;
	size_t off;
	struct jval *v = json_parse(text, n, &errstr, &off);
	if (v == NULL)
		die("%s: %s", path, errstr);
	Pblog__InfoMessage *info[16];
	size_t ni = 0;
	static const char *const keys[] = {"command", "runuser", "submituser", "submitcwd", "ttyname"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_str(v, keys[i]) != NULL)
			info[ni++] = info_str(keys[i], json_str(v, keys[i]));
	info[ni++] = info_str("submithost", host != NULL ? host : json_str(v, "submithost"));
	static Pblog__InfoMessage__StringList argl = PBLOG__INFO_MESSAGE__STRING_LIST__INIT;
	const struct jval *av = json_get(v, "runargv");
	if (av != NULL && av->type == J_ARR && av->n > 0) {
		argl.n_strings = av->n;
		argl.strings = calloc(av->n, sizeof(char *));
		for (size_t i = 0; i < av->n; i++)
			argl.strings[i] = av->items[i].type == J_STR ? av->items[i].str : "";
		Pblog__InfoMessage *a = info_str("runargv", NULL);
		a->value_case = PBLOG__INFO_MESSAGE__VALUE_STRLISTVAL;
		a->strlistval = &argl;
		info[ni++] = a;
	}
	if (uniqueid != NULL) {
		info[ni++] = info_str("uniqueid", uniqueid);
		info[ni++] = info_str("pbclientmode", "shell command");
	}
	Pblog__TimeSpec ts = PBLOG__TIME_SPEC__INIT;
	ts.tv_sec = json_int(json_get(v, "timestamp"), "seconds", 0);
	Pblog__AcceptMessage am = PBLOG__ACCEPT_MESSAGE__INIT;
	am.submit_time = &ts;
	am.n_info_msgs = ni;
	am.info_msgs = info;
	am.expect_iobufs = iobufs;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG;
	m.accept_msg = &am;
	if (send_msg(&m) < 0)
		die("send accept");
	for (size_t i = 0; i < ni; i++)
		free(info[i]);
	free(argl.strings);
	argl.strings = NULL;
	argl.n_strings = 0;
	json_free(v);
	if (iobufs) {
		int t;
		do
			t = recv_one(10000);
		while (t == PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT);
		if (t != PBLOG__SERVER_MESSAGE__TYPE_LOG_ID)
			die("no log_id (got %d)", t);
	}
}

static void send_subexit(const char *uniqueid)
{
	Pblog__SubcommandExit se = PBLOG__SUBCOMMAND_EXIT__INIT;
	Pblog__TimeSpec rt = PBLOG__TIME_SPEC__INIT;
	rt.tv_nsec = 1234567;
	se.uniqueid = (char *)uniqueid;
	se.run_time = &rt;
	se.exit_value = 3;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_SUBCMD_EXIT;
	m.subcmd_exit = &se;
	if (send_msg(&m) < 0)
		die("send SubcommandExit");
}

static int send_rec(const struct rec *x)
{
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	Pblog__TimeSpec d = PBLOG__TIME_SPEC__INIT;
	Pblog__IoBuffer ib = PBLOG__IO_BUFFER__INIT;
	Pblog__ChangeWindowSize ws = PBLOG__CHANGE_WINDOW_SIZE__INIT;
	Pblog__CommandSuspend cs = PBLOG__COMMAND_SUSPEND__INIT;
	d.tv_sec = x->r.delay.tv_sec;
	d.tv_nsec = (int32_t)x->r.delay.tv_nsec;
	switch (x->r.type) {
	case IOLOG_WINSIZE:
		ws.delay = &d;
		ws.rows = x->r.rows;
		ws.cols = x->r.cols;
		m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_WINSIZE_EVENT;
		m.winsize_event = &ws;
		break;
	case IOLOG_SUSPEND:
		cs.delay = &d;
		cs.signal = (char *)x->r.signame;
		m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_SUSPEND_EVENT;
		m.suspend_event = &cs;
		break;
	default:
		ib.delay = &d;
		ib.data.data = (uint8_t *)x->data;
		ib.data.len = x->r.len;
		switch (x->r.type) {
		case IOLOG_STDIN: m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_STDIN_BUF; m.stdin_buf = &ib; break;
		case IOLOG_STDOUT: m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_STDOUT_BUF; m.stdout_buf = &ib; break;
		case IOLOG_STDERR: m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_STDERR_BUF; m.stderr_buf = &ib; break;
		case IOLOG_TTYIN: m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_TTYIN_BUF; m.ttyin_buf = &ib; break;
		default: m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_TTYOUT_BUF; m.ttyout_buf = &ib; break;
		}
		break;
	}
	return send_msg(&m);
}

static int send_restart(const char *id, struct timespec at)
{
	Pblog__RestartMessage rm = PBLOG__RESTART_MESSAGE__INIT;
	Pblog__TimeSpec t = PBLOG__TIME_SPEC__INIT;
	t.tv_sec = at.tv_sec;
	t.tv_nsec = (int32_t)at.tv_nsec;
	rm.log_id = (char *)id;
	rm.resume_point = &t;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG;
	m.restart_msg = &rm;
	return send_msg(&m);
}

/* first_after: index of the first record past elapsed time t. */
static size_t first_after(struct timespec t)
{
	size_t i = 0;
	while (i < nrecs && ts_cmp(recs[i].cum, t) <= 0)
		i++;
	return i;
}

/* reconnect: the server went away: connect again (it may be restarting) and resume. */
static size_t reconnect(void)
{
	pb_tls_free(conn);
	conn = NULL;
	if (!have_commit || log_id[0] == '\0')
		die("connection lost before any commit point");
	for (int tries = 0; tries < 200; tries++) {
		const char *errstr = NULL;
		conn = pb_tls_connect(ctx, "localhost", port, 1000, &errstr);
		if (conn != NULL)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (conn == NULL)
		die("server did not come back");
	hello();
	if (send_restart(log_id, last_commit) < 0)
		die("send restart");
	printf("restart %lld.%09ld\n", (long long)last_commit.tv_sec, last_commit.tv_nsec);
	fflush(stdout);
	return first_after(last_commit);
}

int main(int argc, char **argv)
{
	const char *tlsarg = NULL, *host = NULL, *uniqueid = NULL, *restart = NULL;
	long limit = -1, delay_ms = 0;
	bool resume = false;
	int ch;
	while ((ch = getopt(argc, argv, "c:p:n:Rr:d:x:H:")) != -1) {
		switch (ch) {
		case 'c': tlsarg = optarg; break;
		case 'p': port = optarg; break;
		case 'n': limit = strtol(optarg, NULL, 10); break;
		case 'R': resume = true; break;
		case 'r': restart = optarg; break;
		case 'd': delay_ms = strtol(optarg, NULL, 10); break;
		case 'x': uniqueid = optarg; break;
		case 'H': host = optarg; break;
		default: die("bad option");
		}
	}
	if (optind + 1 != argc || port == NULL)
		die("usage: logclient [-c ca,cert,key] -p port [-n N] [-R] [-r ID,S,N] [-d ms] [-x uid] [-H host] DIR");
	const char *dir = argv[optind];
	struct pb_tls_conf tc;
	memset(&tc, 0, sizeof(tc));
	char tbuf[4096];
	if (tlsarg != NULL) {
		snprintf(tbuf, sizeof(tbuf), "%s", tlsarg);
		tc.ca = strtok(tbuf, ",");
		tc.cert = strtok(NULL, ",");
		tc.key = strtok(NULL, ",");
	} else {
		tc.plain = true;
	}
	const char *errstr = NULL;
	ctx = pb_tls_ctx_new(PB_TLS_CLIENT, &tc, &errstr);
	if (ctx == NULL)
		die("tls: %s", errstr);
	load(dir);
	connect_server(5000);
	hello();
	size_t start = 0;
	if (restart != NULL) {
		char id[IOLOG_ID_MAX + 1];
		long long s = 0;
		long ns = 0;
		if (sscanf(restart, "%1024[^,],%lld,%ld", id, &s, &ns) != 3)
			die("-r ID,SEC,NSEC");
		snprintf(log_id, sizeof(log_id), "%s", id);
		struct timespec at = {(time_t)s, ns};
		last_commit = at;
		have_commit = true;
		if (send_restart(id, at) < 0)
			die("send restart");
		/* A refused restart is answered at once; wait for it so it is not lost in a reset. */
		int t = recv_one(300);
		if (t == PBLOG__SERVER_MESSAGE__TYPE_ERROR)
			return 3;
		if (t < 0 && t != PB_ERR_TIMEOUT)
			die("connection lost after restart");
		start = first_after(at);
	} else {
		send_accept(dir, host, true, NULL);
		if (uniqueid != NULL) {
			send_accept(dir, host, false, uniqueid);
			send_subexit(uniqueid);
		}
	}
	size_t end = limit >= 0 && (size_t)limit < nrecs ? (size_t)limit : nrecs;
	for (size_t i = start; i < end;) {
		if (send_rec(&recs[i]) < 0 || drain() < 0) {
			if (!resume) {
				/* Show why: the server's error is usually still waiting to be read. */
				int t;
				while ((t = recv_one(500)) >= 0)
					if (t == PBLOG__SERVER_MESSAGE__TYPE_ERROR)
						exit(3);
				die("connection lost");
			}
			i = reconnect();
			continue;
		}
		i++;
		if (delay_ms > 0) {
			struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	if (end < nrecs) {
		/*
		 * An interrupted client: wait until what was sent is committed, then
		 * vanish. The server announces a point only between two records
		 * with positive delays: the last such point among those sent.
		 */
		struct timespec want = {0, 0};
#define POSITIVE(x) ((x).r.delay.tv_sec > 0 || (x).r.delay.tv_nsec > 0)
		for (size_t i = 1; i < end; i++)
			if (POSITIVE(recs[i]) && POSITIVE(recs[i - 1]))
				want = recs[i - 1].cum;
#undef POSITIVE
		while ((want.tv_sec > 0 || want.tv_nsec > 0) && (!have_commit || ts_cmp(last_commit, want) < 0)) {
			int t = recv_one(30000);
			if (t < 0)
				die("no commit point for the first %zu records", end);
			if (t == PBLOG__SERVER_MESSAGE__TYPE_ERROR)
				return 3;
		}
		pb_tls_free(conn);
		return 0;
	}
	for (;;) {
		Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
		Pblog__ExitMessage em = PBLOG__EXIT_MESSAGE__INIT;
		Pblog__TimeSpec rt = PBLOG__TIME_SPEC__INIT;
		struct timespec total = nrecs ? recs[nrecs - 1].cum : (struct timespec){0, 0};
		rt.tv_sec = total.tv_sec;
		rt.tv_nsec = (int32_t)total.tv_nsec;
		em.run_time = &rt;
		m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG;
		m.exit_msg = &em;
		if (send_msg(&m) < 0) {
			if (!resume)
				die("connection lost at exit");
			size_t i = reconnect();
			for (; i < nrecs; i++)
				if (send_rec(&recs[i]) < 0)
					die("connection lost again");
			continue;
		}
		/* Read to the server's close: the final commit point comes before it. */
		int t;
		bool lost = false;
		for (;;) {
			t = recv_one(30000);
			if (t == PBLOG__SERVER_MESSAGE__TYPE_ERROR)
				return 3;
			if (t == PB_ERR_EOF && have_commit && ts_cmp(last_commit, total) == 0)
				break;
			if (t < 0) {
				lost = true;
				break;
			}
		}
		if (lost) {
			if (!resume)
				die("no final commit point");
			size_t i = reconnect();
			for (; i < nrecs; i++)
				if (send_rec(&recs[i]) < 0)
					die("connection lost again");
			continue;
		}
		printf("done %lld.%09ld\n", (long long)last_commit.tv_sec, last_commit.tv_nsec);
		break;
	}
	pb_tls_shutdown(conn);
	pb_tls_free(conn);
	pb_tls_ctx_free(ctx);
	return 0;
}
