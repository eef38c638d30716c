/* SPDX-License-Identifier: ISC */
/* Unit tests of logd's protocol handler through a recording transport: state order, acknowledgements, host checks. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "handler.h"
#include "log.pb-c.h"
#include "syncer.h"

#define MAXMSG 64
static Pblog__ServerMessage *sent[MAXMSG];
static int nsent;
static bool closed;
static bool matches;
static char tmpdir[PATH_MAX];
static struct logd_ctx ctx;

static int rec_send(void *io, const ProtobufCMessage *m)
{
	(void)io;
	uint8_t buf[65536];
	size_t n = protobuf_c_message_pack(m, buf);
	cr_assert_lt(nsent, MAXMSG);
	sent[nsent++] = pblog__server_message__unpack(NULL, n, buf);
	return 0;
}

static void rec_close(void *io)
{
	(void)io;
	closed = true;
}

static bool rec_matches(void *io, const char *name)
{
	(void)io;
	(void)name;
	return matches;
}

static const struct logd_transport tr = {rec_send, rec_close, rec_matches};

static void setup(void)
{
	const char *errstr;
	char path[PATH_MAX + 16];
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/logd-handler.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	memset(&ctx, 0, sizeof(ctx));
	ctx.store = &iolog_sudo_ops;
	ctx.iolog_rootfd = open(tmpdir, O_RDONLY | O_DIRECTORY);
	ctx.seqfd = -1;
	ctx.path_template = strdup("%{user}/%{seq}");
	ctx.iolog_mode = 0600;
	ctx.server_id = strdup("test");
	ctx.enabled = true;
	snprintf(path, sizeof(path), "%s/events/", tmpdir);
	mkdir(path, 0700);
	cr_assert_eq(evlog_open(path, 0, &ctx.ev, &errstr), 0);
	nsent = 0;
	closed = false;
	matches = false;
}

static void teardown(void)
{
	char cmd[PATH_MAX + 16];
	for (int i = 0; i < nsent; i++)
		pblog__server_message__free_unpacked(sent[i], NULL);
	logd_ctx_forget_sessions(&ctx);
	evlog_close(ctx.ev);
	close(ctx.iolog_rootfd);
	free(ctx.path_template);
	free(ctx.server_id);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

/* clear_sent: forget the messages recorded so far. */
static void clear_sent(void)
{
	for (int i = 0; i < nsent; i++)
		pblog__server_message__free_unpacked(sent[i], NULL);
	nsent = 0;
}

static int feed(struct logd_conn *c, Pblog__ClientMessage *m)
{
	uint8_t buf[65536];
	size_t n = pblog__client_message__pack(m, buf);
	return logd_conn_frame(c, buf, n);
}

static Pblog__InfoMessage im[4];
static Pblog__InfoMessage *imp[4];

static Pblog__AcceptMessage make_accept(const char *host, bool io)
{
	static Pblog__TimeSpec ts = PBLOG__TIME_SPEC__INIT;
	static const char *kv[4][2] = {{"command", "/bin/sh"}, {"runuser", "root"}, {"submituser", "eve"},
				       {"submithost", NULL}};
	kv[3][1] = host;
	for (int i = 0; i < 4; i++) {
		pblog__info_message__init(&im[i]);
		im[i].key = (char *)kv[i][0];
		im[i].value_case = PBLOG__INFO_MESSAGE__VALUE_STRVAL;
		im[i].strval = (char *)kv[i][1];
		imp[i] = &im[i];
	}
	Pblog__AcceptMessage am = PBLOG__ACCEPT_MESSAGE__INIT;
	ts.tv_sec = 1700000000;
	am.submit_time = &ts;
	am.n_info_msgs = 4;
	am.info_msgs = imp;
	am.expect_iobufs = io;
	return am;
}

static int send_accept(struct logd_conn *c, const char *host, bool io)
{
	Pblog__AcceptMessage am = make_accept(host, io);
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG;
	m.accept_msg = &am;
	return feed(c, &m);
}

static int send_ttyout(struct logd_conn *c, const char *data)
{
	Pblog__TimeSpec d = PBLOG__TIME_SPEC__INIT;
	Pblog__IoBuffer ib = PBLOG__IO_BUFFER__INIT;
	d.tv_nsec = 1000;
	ib.delay = &d;
	ib.data.data = (uint8_t *)data;
	ib.data.len = strlen(data);
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_TTYOUT_BUF;
	m.ttyout_buf = &ib;
	return feed(c, &m);
}

Test(handler, hello_first, .init = setup, .fini = teardown)
{
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	cr_assert_not_null(c);
	cr_assert_eq(nsent, 1);
	cr_assert_eq(sent[0]->type_case, PBLOG__SERVER_MESSAGE__TYPE_HELLO);
	cr_assert(sent[0]->hello->subcommands);
	cr_assert_eq(sent[0]->hello->n_extensions, 3);
	cr_assert_str_eq(sent[0]->hello->extensions[0], "subcommand-exit");
	cr_assert_str_eq(sent[0]->hello->extensions[2], "event-acks");
	logd_conn_free(c);
}

Test(handler, iobuf_before_accept, .init = setup, .fini = teardown)
{
	ctx.plain = true;
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	cr_assert_lt(send_ttyout(c, "x"), 0);
	cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_ERROR);
	cr_assert_not_null(strstr(sent[nsent - 1]->error, "not allowed in state init"));
	/* Nothing more is taken after an error. */
	cr_assert_lt(send_accept(c, "h", true), 0);
	logd_conn_free(c);
}

Test(handler, session_and_commit, .init = setup, .fini = teardown)
{
	ctx.plain = true;
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	cr_assert_eq(send_accept(c, "hostA", true), 0);
	cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_LOG_ID);
	cr_assert_eq(strncmp(sent[nsent - 1]->log_id, "eve/00/00/01-", 13), 0);
	cr_assert_eq(send_ttyout(c, "hello"), 0);
	cr_assert_eq(send_ttyout(c, "world"), 0);
	int before = nsent;
	logd_ctx_tick(&ctx);
	cr_assert_eq(nsent, before + 1);
	cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT);
	/* Announced up to the record before the last one with a delay (zero-delay records may follow). */
	cr_assert_eq(sent[nsent - 1]->commit_point->tv_nsec, 1000);
	logd_ctx_tick(&ctx);
	cr_assert_eq(nsent, before + 1, "a commit point without new records");
	cr_assert_eq(send_ttyout(c, "!"), 0);
	Pblog__ExitMessage em = PBLOG__EXIT_MESSAGE__INIT;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG;
	m.exit_msg = &em;
	cr_assert_eq(feed(c, &m), PB_ERR_EOF);
	cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT);
	cr_assert_eq(sent[nsent - 1]->commit_point->tv_nsec, 3000);
	cr_assert_eq(ctx.n_accept, 1);
	cr_assert_eq(ctx.n_exit, 1);
	logd_conn_free(c);
}

/* sync_wait: wait for the worker to finish what was submitted, then acknowledge, as the event loop would. */
static void sync_wait(void)
{
	while (logd_syncer_pending(ctx.syncer) > 0) {
		struct pollfd p = {.fd = logd_syncer_fd(ctx.syncer), .events = POLLIN};
		cr_assert_eq(poll(&p, 1, 5000), 1, "the sync worker did not finish");
		logd_ctx_sync_done(&ctx);
	}
}

static int send_exit(struct logd_conn *c)
{
	Pblog__ExitMessage em = PBLOG__EXIT_MESSAGE__INIT;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_EXIT_MSG;
	m.exit_msg = &em;
	return feed(c, &m);
}

Test(handler, commit_through_syncer, .init = setup, .fini = teardown)
{
	ctx.plain = true;
	cr_assert_eq(logd_syncer_new(&ctx.syncer), 0);
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	int n0 = nsent;
	cr_assert_eq(send_accept(c, "hostA", true), 0);
	/* The log id is an acknowledgement too: it waits for the worker's sync. */
	cr_assert_eq(nsent, n0, "log id sent before the log is durable");
	sync_wait();
	cr_assert_eq(nsent, n0 + 1);
	cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_LOG_ID);
	char timing[PATH_MAX + 64];
	snprintf(timing, sizeof(timing), "%s/%s", tmpdir, sent[nsent - 1]->log_id);
	cr_assert_eq(send_ttyout(c, "hello"), 0);
	cr_assert_eq(send_ttyout(c, "world"), 0);
	int before = nsent;
	logd_ctx_tick(&ctx);
	/* Nothing is acknowledged before the worker has synced it. */
	cr_assert_eq(nsent, before);
	cr_assert_not(logd_conn_idle(c));
	sync_wait();
	cr_assert_eq(nsent, before + 1);
	cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT);
	cr_assert_eq(sent[nsent - 1]->commit_point->tv_nsec, 1000);
	logd_ctx_tick(&ctx);
	sync_wait();
	cr_assert_eq(nsent, before + 1, "a commit point without new records");
	cr_assert_eq(send_ttyout(c, "!"), 0);
	/* The Exit is answered by the worker's finish: the connection stays open until then. */
	cr_assert_eq(send_exit(c), 0);
	cr_assert_eq(nsent, before + 1);
	cr_assert_not(closed);
	cr_assert_not(logd_conn_idle(c));
	sync_wait();
	cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT);
	cr_assert_eq(sent[nsent - 1]->commit_point->tv_nsec, 3000);
	cr_assert(closed, "not closed after the final commit point");
	cr_assert(logd_conn_idle(c));
	cr_assert(iolog_is_complete(timing), "log not marked complete");
	logd_conn_free(c);
	logd_syncer_free(ctx.syncer);
	ctx.syncer = NULL;
}

Test(handler, close_while_syncing, .init = setup, .fini = teardown)
{
	ctx.plain = true;
	cr_assert_eq(logd_syncer_new(&ctx.syncer), 0);
	/* One connection goes away with a commit in flight, another with its finish in flight. */
	struct logd_conn *a = logd_conn_new(&ctx, &tr, NULL, "", "a");
	struct logd_conn *b = logd_conn_new(&ctx, &tr, NULL, "", "b");
	char da[PATH_MAX + 64], db[PATH_MAX + 64];
	cr_assert_eq(send_accept(a, "hostA", true), 0);
	sync_wait();
	snprintf(da, sizeof(da), "%s/%s", tmpdir, sent[nsent - 1]->log_id);
	cr_assert_eq(send_accept(b, "hostB", true), 0);
	sync_wait();
	snprintf(db, sizeof(db), "%s/%s", tmpdir, sent[nsent - 1]->log_id);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(send_ttyout(a, "data"), 0);
		cr_assert_eq(send_ttyout(b, "data"), 0);
	}
	logd_ctx_tick(&ctx);
	cr_assert_eq(send_exit(b), 0);
	int before = nsent;
	logd_conn_free(a);
	logd_conn_free(b);
	sync_wait();
	cr_assert_eq(nsent, before, "acknowledged to a connection that is gone");
	/* b's log was finished all the same; a's can be restarted from its durable records. */
	cr_assert(iolog_is_complete(db));
	cr_assert_not(iolog_is_complete(da));
	logd_syncer_free(ctx.syncer);
	ctx.syncer = NULL;
}

Test(handler, records_before_log_id, .init = setup, .fini = teardown)
{
	ctx.plain = true;
	cr_assert_eq(logd_syncer_new(&ctx.syncer), 0);
	/* A client that streams and exits before the log id arrives: id first, then the final point. */
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	int n0 = nsent;
	cr_assert_eq(send_accept(c, "hostA", true), 0);
	cr_assert_eq(send_ttyout(c, "hello"), 0);
	logd_ctx_tick(&ctx);
	cr_assert_eq(send_ttyout(c, "world"), 0);
	cr_assert_eq(send_exit(c), 0);
	cr_assert_eq(nsent, n0, "acknowledged before the worker synced");
	sync_wait();
	cr_assert_eq(nsent, n0 + 2);
	cr_assert_eq(sent[n0]->type_case, PBLOG__SERVER_MESSAGE__TYPE_LOG_ID);
	cr_assert_eq(sent[n0 + 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT);
	cr_assert_eq(sent[n0 + 1]->commit_point->tv_nsec, 2000);
	cr_assert(closed);
	char timing[PATH_MAX + 64];
	snprintf(timing, sizeof(timing), "%s/%s", tmpdir, sent[n0]->log_id);
	cr_assert(iolog_is_complete(timing), "log not marked complete");
	logd_conn_free(c);
	logd_syncer_free(ctx.syncer);
	ctx.syncer = NULL;
}

Test(handler, host_check, .init = setup, .fini = teardown)
{
	ctx.plain = false;
	ctx.hostcheck = LOGD_HOSTCHECK_STRICT;
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, "host1.test", "test");
	cr_assert_lt(send_accept(c, "host2.test", false), 0);
	cr_assert_not_null(strstr(sent[nsent - 1]->error, "does not match"));
	logd_conn_free(c);
	c = logd_conn_new(&ctx, &tr, NULL, "host1.test", "test");
	cr_assert_eq(send_accept(c, "host1", false), 0, "short name refused");
	logd_conn_free(c);
	ctx.hostcheck = LOGD_HOSTCHECK_RECORD;
	c = logd_conn_new(&ctx, &tr, NULL, "host1.test", "test");
	cr_assert_eq(send_accept(c, "elsewhere", false), 0);
	logd_conn_free(c);
	cr_assert_eq(evlog_sync(ctx.ev), 0);
	char cmd[PATH_MAX + 128];
	snprintf(cmd, sizeof(cmd),
		 "grep -q '\"claimedhost\":\"elsewhere\".*\"submithost\":\"host1.test\"' %s/events/*.jsonl", tmpdir);
	cr_assert_eq(system(cmd), 0, "recorded claim missing");
}

Test(handler, policy_template, .init = setup, .fini = teardown)
{
	ctx.plain = true;
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	Pblog__AcceptMessage am = make_accept("h", true);
	Pblog__InfoMessage extra = PBLOG__INFO_MESSAGE__INIT;
	Pblog__InfoMessage *all[5] = {imp[0], imp[1], imp[2], imp[3], &extra};
	extra.key = "iolog";
	extra.value_case = PBLOG__INFO_MESSAGE__VALUE_STRVAL;
	extra.strval = "audit/%u/../x";
	am.n_info_msgs = 5;
	am.info_msgs = all;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ACCEPT_MSG;
	m.accept_msg = &am;
	cr_assert_lt(feed(c, &m), 0, "a template with .. was used");
	logd_conn_free(c);
	c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	extra.strval = "audit/%u/XXXXXXXX";
	cr_assert_eq(feed(c, &m), 0);
	cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_LOG_ID);
	cr_assert_eq(strncmp(sent[nsent - 1]->log_id, "audit/eve/", 10), 0, "%s", sent[nsent - 1]->log_id);
	cr_assert_eq(strlen(sent[nsent - 1]->log_id), 18);
	logd_conn_free(c);
}

Test(handler, alert_subcommands_servers, .init = setup, .fini = teardown)
{
	char *servers[] = {"logb.example:30344", "logc.example:30344"};
	ctx.plain = true;
	ctx.servers = servers;
	ctx.nservers = 2;
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	cr_assert_eq(sent[0]->hello->n_servers, 2);
	cr_assert_str_eq(sent[0]->hello->servers[1], "logc.example:30344");
	ctx.servers = NULL;
	ctx.nservers = 0;
	cr_assert_eq(send_accept(c, "h", true), 0);
	/* A sub-command: accept without I/O inside the session, then its finish. */
	cr_assert_eq(send_accept(c, "h", false), 0);
	Pblog__SubcommandExit se = PBLOG__SUBCOMMAND_EXIT__INIT;
	se.uniqueid = "u-1";
	se.signal = "KILL";
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_SUBCMD_EXIT;
	m.subcmd_exit = &se;
	cr_assert_eq(feed(c, &m), 0);
	Pblog__AlertMessage al = PBLOG__ALERT_MESSAGE__INIT;
	Pblog__TimeSpec t = PBLOG__TIME_SPEC__INIT;
	t.tv_sec = 5;
	al.alert_time = &t;
	al.reason = "tampering";
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ALERT_MSG;
	m.alert_msg = &al;
	cr_assert_eq(feed(c, &m), 0);
	/* A second I/O log in one session is refused. */
	cr_assert_lt(send_accept(c, "h", true), 0);
	logd_conn_free(c);
	cr_assert_eq(ctx.n_accept, 2);
	cr_assert_eq(ctx.n_finish, 1);
	cr_assert_eq(ctx.n_alert, 1);
	cr_assert_eq(evlog_sync(ctx.ev), 0);
	char cmd[3 * PATH_MAX + 512];
	snprintf(cmd, sizeof(cmd),
		 "grep -q '\"event\":\"finish\".*\"uniqueid\":\"u-1\".*\"signal\":\"KILL\"' %s/events/*.jsonl && "
		 "grep -q '\"event\":\"alert\".*\"reason\":\"tampering\"' %s/events/*.jsonl && "
		 "grep -q '\"event\":\"accept\".*\"subcommand\":true' %s/events/*.jsonl",
		 tmpdir, tmpdir, tmpdir);
	cr_assert_eq(system(cmd), 0, "finish/alert/subcommand events missing");
}

Test(handler, disabled, .init = setup, .fini = teardown)
{
	ctx.plain = true;
	ctx.enabled = false;
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	cr_assert_lt(send_accept(c, "h", true), 0);
	cr_assert_not_null(strstr(sent[nsent - 1]->error, "disabled"));
	logd_conn_free(c);
}

/* ---- extension event-acks: events-only sessions acknowledged and restarted exactly ---- */

static struct logd_conn *evacks_conn(const char *peer)
{
	struct logd_conn *c = logd_conn_new(&ctx, &tr, NULL, peer, "test");
	char *exts[] = {"event-acks"};
	Pblog__ClientHello h = PBLOG__CLIENT_HELLO__INIT;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	cr_assert_not_null(c);
	h.client_id = "test";
	h.n_extensions = 1;
	h.extensions = exts;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_HELLO_MSG;
	m.hello_msg = &h;
	cr_assert_eq(feed(c, &m), 0);
	return c;
}

static int send_alert(struct logd_conn *c, const char *reason)
{
	Pblog__AlertMessage al = PBLOG__ALERT_MESSAGE__INIT;
	Pblog__TimeSpec t = PBLOG__TIME_SPEC__INIT;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	t.tv_sec = 5;
	al.alert_time = &t;
	al.reason = (char *)reason;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_ALERT_MSG;
	m.alert_msg = &al;
	return feed(c, &m);
}

/* send_restart_where: a restart after acked events, with the events_where of that acknowledgement (or NULL). */
static int send_restart_where(struct logd_conn *c, const char *id, uint64_t acked, const char *where)
{
	Pblog__RestartMessage rm = PBLOG__RESTART_MESSAGE__INIT;
	Pblog__TimeSpec t = PBLOG__TIME_SPEC__INIT;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	rm.log_id = (char *)id;
	rm.resume_point = &t;
	rm.events_acked = acked;
	rm.events_where = (char *)where;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG;
	m.restart_msg = &rm;
	return feed(c, &m);
}

static int send_restart(struct logd_conn *c, const char *id, uint64_t acked)
{
	return send_restart_where(c, id, acked, NULL);
}

/* last_events: the last events_stored sent, or -1 when the last message is something else. */
static int64_t last_events(void)
{
	if (nsent == 0 || sent[nsent - 1]->type_case != PBLOG__SERVER_MESSAGE__TYPE_EVENTS_STORED)
		return -1;
	return (int64_t)sent[nsent - 1]->events_stored;
}

/* count_lines: event log lines holding needle. */
static int count_lines(const char *needle)
{
	char cmd[2 * PATH_MAX + 256];
	cr_assert_eq(evlog_sync(ctx.ev), 0);
	snprintf(cmd, sizeof(cmd), "exit $(cat %s/events/*.jsonl | grep -cF -- '%s')", tmpdir, needle);
	int st = system(cmd);
	return WEXITSTATUS(st);
}

/* An events-only session (accept, alert, alert, ...) with id in *id; the connection is returned open. */
static struct logd_conn *evacks_session(char *id, size_t idlen, int alerts)
{
	struct logd_conn *c = evacks_conn("");
	cr_assert_eq(send_accept(c, "h", false), 0);
	cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_LOG_ID, "no log id for the events session");
	cr_assert_eq(sent[nsent - 1]->log_id[0], '@');
	snprintf(id, idlen, "%s", sent[nsent - 1]->log_id);
	for (int i = 0; i < alerts; i++)
		cr_assert_eq(send_alert(c, "a"), 0);
	return c;
}

Test(handler, evacks_live, .init = setup, .fini = teardown)
{
	char id[64];
	ctx.plain = true;
	struct logd_conn *c = evacks_session(id, sizeof(id), 2);
	int before = nsent;
	logd_ctx_tick(&ctx);
	cr_assert_eq(nsent, before + 1);
	cr_assert_eq(last_events(), 3, "the tick acknowledges the three events stored");
	logd_ctx_tick(&ctx);
	cr_assert_eq(nsent, before + 1, "nothing new: no acknowledgement");
	cr_assert_eq(send_exit(c), PB_ERR_EOF);
	cr_assert_eq(last_events(), 4, "the exit is acknowledged before the close");
	logd_conn_free(c);
	cr_assert_eq(count_lines(id), 4);

	/* A client without the extension (sudo) gets neither a log id nor acknowledgements. */
	clear_sent();
	c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	cr_assert_eq(send_accept(c, "h", false), 0);
	logd_ctx_tick(&ctx);
	cr_assert_eq(send_exit(c), PB_ERR_EOF);
	cr_assert_eq(nsent, 1, "only the hello went to a client without event-acks");
	logd_conn_free(c);
}

Test(handler, evacks_through_syncer, .init = setup, .fini = teardown)
{
	char id[64];
	ctx.plain = true;
	cr_assert_eq(logd_syncer_new(&ctx.syncer), 0);
	struct logd_conn *c = evacks_session(id, sizeof(id), 1);
	logd_ctx_tick(&ctx);
	sync_wait();
	cr_assert_eq(last_events(), 2);
	cr_assert_eq(send_exit(c), 0, "the end waits for its sync");
	cr_assert_not(closed);
	sync_wait();
	cr_assert_eq(last_events(), 3);
	cr_assert(closed, "closed once the end is acknowledged");
	logd_conn_free(c);
	logd_syncer_free(ctx.syncer);
	ctx.syncer = NULL;
}

/*
 * The restarts of one session: known to logd (its table), or read from the
 * event log as after a restart of logd (forget: the table dropped first).
 */
static void restarts(bool forget)
{
	char id[64];
	ctx.plain = true;
	/* Three events stored, the client saw an acknowledgement of one: the connection is lost. */
	struct logd_conn *c = evacks_session(id, sizeof(id), 2);
	logd_conn_free(c);
	if (forget)
		logd_ctx_forget_sessions(&ctx);
	clear_sent();
	c = evacks_conn("");
	cr_assert_eq(send_restart(c, id, 1), 0);
	cr_assert_eq(last_events(), -1, "nothing acknowledged before a sync");
	logd_ctx_tick(&ctx);
	cr_assert_eq(last_events(), 3, "the next tick acknowledges the count stored");
	/* The client resends everything after its one acknowledged: the two alerts are dropped. */
	cr_assert_eq(send_alert(c, "a"), 0);
	cr_assert_eq(send_alert(c, "a"), 0);
	cr_assert_eq(count_lines(id), 3, "resent events are not stored twice");
	cr_assert_eq(send_alert(c, "new"), 0);
	cr_assert_eq(send_exit(c), PB_ERR_EOF);
	cr_assert_eq(last_events(), 5);
	logd_conn_free(c);
	cr_assert_eq(count_lines(id), 5);
	cr_assert_eq(count_lines("\"reason\":\"new\""), 1);
	cr_assert_eq(count_lines("\"event\":\"exit\""), 1);
	cr_assert_eq(ctx.n_restart, 1);

	/* The session has ended: a restart resending its end is acknowledged and closed, once. */
	if (forget)
		logd_ctx_forget_sessions(&ctx);
	clear_sent();
	c = evacks_conn("");
	cr_assert_eq(send_restart(c, id, 4), 0);
	cr_assert_eq(send_exit(c), PB_ERR_EOF, "the resent end is stored already");
	cr_assert_eq(last_events(), 5, "acknowledged before the close");
	logd_conn_free(c);
	cr_assert_eq(count_lines("\"event\":\"exit\""), 1);
	if (forget)
		logd_ctx_forget_sessions(&ctx);
	clear_sent();
	c = evacks_conn("");
	cr_assert_eq(send_restart(c, id, 5), PB_ERR_EOF, "all acknowledged and ended: nothing to take");
	cr_assert_eq(last_events(), -1, "nothing new to acknowledge");
	logd_conn_free(c);
	c = evacks_conn("");
	cr_assert_eq(send_restart(c, id, 3), 0);
	cr_assert_eq(send_alert(c, "new"), 0);
	cr_assert_eq(send_exit(c), PB_ERR_EOF);
	cr_assert_eq(last_events(), 5);
	cr_assert_lt(send_exit(c), 0, "nothing after the end");
	logd_conn_free(c);
	cr_assert_eq(count_lines(id), 5);
}

Test(handler, evacks_restart, .init = setup, .fini = teardown)
{
	restarts(false);
}

Test(handler, evacks_restart_read, .init = setup, .fini = teardown)
{
	restarts(true);
}

/*
 * After a restart of logd, a session's restart that sends back the
 * events_where of its last acknowledgement is counted from there: the
 * event log before it is not read again (here it is made unreadable for the
 * session, so that a count from the session's first event would come out
 * short and be refused), except the session's first event (whose it is).
 */
Test(handler, evacks_restart_from_where, .init = setup, .fini = teardown)
{
	char id[64], where[64];
	ctx.plain = true;
	struct logd_conn *c = evacks_session(id, sizeof(id), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(send_alert(c, "early"), 0);
	logd_ctx_tick(&ctx);
	cr_assert_eq(last_events(), 4);
	const char *w = sent[nsent - 1]->events_where;
	cr_assert(w != NULL && strlen(w) > 10 && strlen(w) < sizeof(where), "events_stored comes with events_where");
	snprintf(where, sizeof(where), "%s", w);
	cr_assert_eq(send_alert(c, "late"), 0);
	cr_assert_eq(send_alert(c, "late"), 0);
	logd_conn_free(c); /* events 5 and 6 stored, not acknowledged: the connection is lost */
	logd_ctx_forget_sessions(&ctx); /* as after a restart of logd */
	cr_assert_eq(count_lines(id), 6);
	/* The session's events before the place, but its first, no longer name it: their id's last digit is
	 * overwritten in the file logd has open (same length, same inode). */
	cr_assert_eq(evlog_sync(ctx.ev), 0);
	int fd = open(evlog_path(ctx.ev), O_RDWR);
	cr_assert_geq(fd, 0);
	static char text[1 << 16];
	ssize_t len = pread(fd, text, sizeof(text) - 1, 0);
	cr_assert_gt(len, 0);
	text[len] = '\0';
	for (char *line = text, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		char *at = strstr(line, id);
		if (at != NULL && strstr(line, "\"early\"") != NULL)
			cr_assert_eq(pwrite(fd, "X", 1, (at - text) + (off_t)strlen(id) - 1), 1);
		*nl = '\n';
	}
	close(fd);
	cr_assert_eq(count_lines(id), 3);

	/* Without the place (or with one before the session's start, or past the log's end): counted from the
	 * session's first event, 3 found, fewer than the 4 acknowledged: refused. */
	const char *bad[] = {NULL, "00000000.0.0", "99999999.0.0", "garbage"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_sent();
		c = evacks_conn("");
		cr_assert_lt(send_restart_where(c, id, 4, bad[i]), 0, "where %s", bad[i] ? bad[i] : "(none)");
		cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_ERROR);
		cr_assert(strstr(sent[nsent - 1]->error, "is more than the 3 events stored") != NULL, "%s",
			  sent[nsent - 1]->error);
		logd_conn_free(c);
		logd_ctx_forget_sessions(&ctx);
	}
	/* With it: 4 acknowledged + the 2 found after it = 6 stored; the 2 resent are dropped. */
	clear_sent();
	c = evacks_conn("");
	cr_assert_eq(send_restart_where(c, id, 4, where), 0);
	logd_ctx_tick(&ctx);
	cr_assert_eq(last_events(), 6, "the count: acknowledged before the place, found after it");
	cr_assert_eq(send_alert(c, "late"), 0);
	cr_assert_eq(send_alert(c, "late"), 0);
	cr_assert_eq(send_alert(c, "new"), 0);
	cr_assert_eq(send_exit(c), PB_ERR_EOF);
	cr_assert_eq(last_events(), 8);
	logd_conn_free(c);
	cr_assert_eq(count_lines("\"reason\":\"late\""), 2, "resent events are not stored twice");
	cr_assert_eq(count_lines("\"reason\":\"new\""), 1);
}

Test(handler, evacks_takeover, .init = setup, .fini = teardown)
{
	char id[64];
	ctx.plain = true;
	/* The client lost the connection first: logd still has it when the restart comes. */
	struct logd_conn *old = evacks_session(id, sizeof(id), 1);
	struct logd_conn *c = evacks_conn("");
	cr_assert_eq(send_restart(c, id, 0), 0);
	logd_ctx_tick(&ctx);
	cr_assert_eq(last_events(), 2);
	cr_assert(closed, "the old connection is closed");
	cr_assert_lt(send_alert(old, "late"), 0, "and takes nothing more");
	logd_conn_free(old);
	cr_assert_eq(send_accept(c, "h", false), 0);
	cr_assert_eq(send_alert(c, "a"), 0);
	cr_assert_eq(send_exit(c), PB_ERR_EOF);
	cr_assert_eq(last_events(), 3);
	logd_conn_free(c);
	cr_assert_eq(count_lines(id), 3);
}

Test(handler, evacks_restart_errors, .init = setup, .fini = teardown)
{
	char id[64], other[80];
	static const struct {
		const char *id;
		uint64_t acked;
		const char *msg;
	} bad[] = {
		{"@x", 0, "RestartMessage: invalid log_id"},
		{"@20260101.0.0.0123456789abcdeg", 0, "RestartMessage: invalid log_id"},
		{"@20260101.0.99999999999999999999999.0123456789abcdef", 0, "RestartMessage: invalid log_id"},
		{"@20260101.0.0.0123456789abcdef", 0, "RestartMessage: unknown log_id"},
		{NULL, 3, "RestartMessage: events_acked 3 is more than the 2 events stored"},
		{"eve/00/00/01", 2, "cannot restart log eve/00/00/01: unknown log id"},
	};
	ctx.plain = true;
	struct logd_conn *c = evacks_session(id, sizeof(id), 1);
	logd_conn_free(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		clear_sent();
		c = evacks_conn("");
		cr_assert_lt(send_restart(c, bad[i].id ? bad[i].id : id, bad[i].acked), 0, "%zu", i);
		cr_assert_eq(sent[nsent - 1]->type_case, PBLOG__SERVER_MESSAGE__TYPE_ERROR, "%zu", i);
		cr_assert_not_null(strstr(sent[nsent - 1]->error, bad[i].msg), "%zu: %s", i, sent[nsent - 1]->error);
		logd_conn_free(c);
	}
	/* Without the extension, an events-only id is refused. */
	clear_sent();
	c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	cr_assert_lt(send_restart(c, id, 0), 0);
	cr_assert_not_null(strstr(sent[nsent - 1]->error, "event-acks"));
	logd_conn_free(c);
	/* The session of another client. */
	ctx.plain = false;
	matches = true;
	clear_sent();
	c = evacks_conn("mallory.test");
	cr_assert_lt(send_restart(c, id, 0), 0);
	cr_assert_not_null(strstr(sent[nsent - 1]->error, "belongs to another client"), "%s", sent[nsent - 1]->error);
	logd_conn_free(c);
	/* An id pointing past its session's first event finds nothing of it. */
	const char *hex = strrchr(id, '.');
	snprintf(other, sizeof(other), "%.12s99999999%s", id, hex);
	clear_sent();
	ctx.plain = true;
	c = evacks_conn("");
	cr_assert_lt(send_restart(c, other, 0), 0);
	logd_conn_free(c);
	cr_assert_eq(count_lines(id), 2);
}

/* io_restart: restart I/O log id at resume (ns) after acked events. */
static int io_restart(struct logd_conn *c, const char *id, long resume, uint64_t acked)
{
	Pblog__RestartMessage rm = PBLOG__RESTART_MESSAGE__INIT;
	Pblog__TimeSpec t = PBLOG__TIME_SPEC__INIT;
	Pblog__ClientMessage m = PBLOG__CLIENT_MESSAGE__INIT;
	t.tv_nsec = (int32_t)resume;
	rm.log_id = (char *)id;
	rm.resume_point = &t;
	rm.events_acked = acked;
	m.type_case = PBLOG__CLIENT_MESSAGE__TYPE_RESTART_MSG;
	m.restart_msg = &rm;
	return feed(c, &m);
}

Test(handler, evacks_iolog, .init = setup, .fini = teardown)
{
	char id[256];
	ctx.plain = true;
	struct logd_conn *c = evacks_conn("");
	cr_assert_eq(send_accept(c, "h", true), 0);
	cr_assert_eq(last_events(), 1, "the accept is acknowledged");
	cr_assert_eq(sent[nsent - 2]->type_case, PBLOG__SERVER_MESSAGE__TYPE_LOG_ID, "after the log id");
	snprintf(id, sizeof(id), "%s", sent[nsent - 2]->log_id);
	cr_assert_eq(send_ttyout(c, "one"), 0);
	cr_assert_eq(send_alert(c, "a"), 0);
	logd_ctx_tick(&ctx);
	cr_assert_eq(last_events(), 2, "a tick: the events acknowledged once synced");
	cr_assert_eq(send_alert(c, "b"), 0);
	logd_ctx_tick(&ctx);
	cr_assert_eq(last_events(), 3, "a tick without I/O records: the events alone");
	cr_assert_eq(send_alert(c, "c"), 0); /* stored, not acknowledged */
	logd_conn_free(c);
	cr_assert_eq(count_lines(id), 4);

	/* Refused: a count above the stored one, and a count without the extension. */
	clear_sent();
	c = evacks_conn("");
	cr_assert_lt(io_restart(c, id, 1000, 5), 0);
	cr_assert_not_null(strstr(sent[nsent - 1]->error, "events_acked 5 is more than the 4 events stored"), "%s",
			   sent[nsent - 1]->error);
	logd_conn_free(c);
	clear_sent();
	c = logd_conn_new(&ctx, &tr, NULL, "", "test");
	cr_assert_lt(io_restart(c, id, 1000, 3), 0);
	cr_assert_not_null(strstr(sent[nsent - 1]->error, "events_acked needs the client's event-acks"), "%s",
			   sent[nsent - 1]->error);
	logd_conn_free(c);

	/* 3 of 4 acknowledged: the resent "c" is dropped, "d" is the fifth, the exit the sixth. */
	clear_sent();
	c = evacks_conn("");
	cr_assert_eq(io_restart(c, id, 1000, 3), 0);
	cr_assert_eq(send_alert(c, "c"), 0);
	cr_assert_eq(send_ttyout(c, "two"), 0);
	cr_assert_eq(send_alert(c, "d"), 0);
	logd_ctx_tick(&ctx);
	cr_assert_eq(last_events(), 5);
	cr_assert_eq(send_exit(c), PB_ERR_EOF);
	cr_assert_eq(last_events(), 6, "the final count after the final commit point");
	cr_assert_eq(sent[nsent - 2]->type_case, PBLOG__SERVER_MESSAGE__TYPE_COMMIT_POINT);
	logd_conn_free(c);
	cr_assert_eq(count_lines(id), 6);
	cr_assert_eq(count_lines("\"reason\":\"c\""), 1, "the resent event is stored once");
}

Test(handler, evacks_iolog_exit_stored, .init = setup, .fini = teardown)
{
	char id[256];
	ctx.plain = true;
	struct logd_conn *c = evacks_conn("");
	cr_assert_eq(send_accept(c, "h", true), 0);
	snprintf(id, sizeof(id), "%s", sent[nsent - 2]->log_id);
	cr_assert_eq(send_ttyout(c, "one"), 0);
	logd_ctx_tick(&ctx);
	/* The exit event is stored, but the log not finished (as after a crash between the two). */
	char cmd[2 * PATH_MAX + 600];
	logd_conn_free(c);
	int n = snprintf(cmd, sizeof(cmd),
		 "printf '{\"event\":\"exit\",\"session\":\"%s\",\"log_id\":\"%s\",\"peer\":\"\"}\\n' >>%s/events/$(ls %s/events | tail -1)",
		 id, id, tmpdir, tmpdir);
	cr_assert(n > 0 && (size_t)n < sizeof(cmd));
	cr_assert_eq(system(cmd), 0);
	clear_sent();
	c = evacks_conn("");
	cr_assert_eq(io_restart(c, id, 1000, 1), 0);
	cr_assert_eq(send_exit(c), PB_ERR_EOF, "the resent exit completes the log");
	cr_assert_eq(last_events(), 2);
	logd_conn_free(c);
	cr_assert_eq(count_lines("\"event\":\"exit\""), 1, "and is not stored twice");
	char path[PATH_MAX + 300];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, id);
	cr_assert(iolog_is_complete(path), "the log is complete");
}
