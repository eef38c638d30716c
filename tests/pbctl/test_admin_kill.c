/* SPDX-License-Identifier: ISC */
/* Unit tests of what pbctl added to lib/admin: kill-session dispatch, watched stops, and one log line per request. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "debug.h"
#include "err.h"

struct fake {
	int kills, stops, watches;
	uint64_t id;
	char admin[64], why[256];
	int kill_rc;
	void *watched;
};

static struct fake fk;

static int kill_cb(void *arg, uint64_t id, const char *admin, const char *why, char *err, size_t errlen)
{
	struct fake *f = arg;
	f->kills++;
	f->id = id;
	snprintf(f->admin, sizeof(f->admin), "%s", admin);
	snprintf(f->why, sizeof(f->why), "%s", why);
	(void)err;
	(void)errlen;
	return f->kill_rc;
}

static int stop_cb(void *arg, bool force, unsigned timeout)
{
	struct fake *f = arg;
	(void)force;
	(void)timeout;
	f->stops++;
	return 0;
}

static void stop_watch_cb(void *arg, void *conn)
{
	struct fake *f = arg;
	f->watches++;
	f->watched = conn;
}

static int status_cb(void *arg, AdminStatus *st)
{
	(void)arg;
	st->state = ADMIN_STATE__ADMIN_STATE_ENABLED;
	return 0;
}

static char logpath[] = "/tmp/pbctl-admin-log-XXXXXX";

static struct pb_admin *make(bool with_kill)
{
	struct pb_admin_ops ops = {.arg = &fk, .stop_cb = stop_cb, .stop_watch_cb = stop_watch_cb,
				   .status_cb = status_cb};
	char *admins[] = {(char *)"admin"};
	memset(&fk, 0, sizeof(fk));
	if (with_kill)
		ops.kill_cb = kill_cb;
	struct pb_admin *a = pb_admin_new("testd", "/etc/pbsh.yaml", &ops);
	cr_assert_not_null(a);
	cr_assert_eq(pb_admin_set_admins(a, admins, 1), 0);
	return a;
}

static AdminReply *kill_req(struct pb_admin *a, const char *who, uint64_t id, const char *reason)
{
	AdminRequest r = ADMIN_REQUEST__INIT;
	AdminKillSession k = ADMIN_KILL_SESSION__INIT;
	k.id = id;
	k.reason = (char *)reason;
	r.id = 7;
	r.type_case = ADMIN_REQUEST__TYPE_KILL_SESSION;
	r.kill_session = &k;
	AdminReply *rep = pb_admin_handle(a, who, "127.0.0.1:1", &r);
	cr_assert_not_null(rep);
	cr_assert_eq(rep->id, 7);
	return rep;
}

static char *read_log(void)
{
	static char buf[8192];
	FILE *f = fopen(logpath, "r");
	size_t n = 0;
	if (f != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static void log_to_file(void)
{
	int fd = mkstemp(logpath);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(pb_log_open("test", PB_LOG_FILE, logpath), 0);
}

static void log_done(void)
{
	pb_log_close();
	unlink(logpath);
}

Test(admin_kill, message_names_admin_and_reason)
{
	char buf[128];
	cr_assert_str_eq(pb_admin_kill_message(buf, sizeof(buf), 17, "admin", "maintenance"),
			 "session 17 ended by administrator admin: maintenance");
	cr_assert_str_eq(pb_admin_kill_message(buf, sizeof(buf), 3, "ops1", ""),
			 "session 3 ended by administrator ops1");
	cr_assert_str_eq(pb_admin_kill_message(buf, sizeof(buf), 3, NULL, NULL),
			 "session 3 ended by administrator (no identity)");
}

Test(admin_kill, dispatched_with_id_admin_and_message)
{
	struct pb_admin *a = make(true);
	AdminReply *r = kill_req(a, "admin", 17, "maintenance");
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_DONE);
	cr_assert_str_eq(r->done->message, "session 17 ended by administrator admin: maintenance");
	cr_assert_eq(fk.kills, 1);
	cr_assert_eq(fk.id, 17);
	cr_assert_str_eq(fk.admin, "admin");
	cr_assert_str_eq(fk.why, "session 17 ended by administrator admin: maintenance");
	pb_admin_reply_free(r);
	pb_admin_free(a);
}

Test(admin_kill, refusals)
{
	struct pb_admin *a = make(true);
	AdminReply *r = kill_req(a, "host1.test", 17, "");
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_ERROR);
	cr_assert_eq(r->error->code, PB_ERR_DENIED);
	cr_assert_eq(fk.kills, 0, "a non-admin's request never reaches the daemon");
	pb_admin_reply_free(r);

	r = kill_req(a, "admin", 0, "");
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_ERROR);
	cr_assert_eq(r->error->code, PB_ERR_INVAL);
	cr_assert_eq(fk.kills, 0);
	pb_admin_reply_free(r);

	fk.kill_rc = PB_ERR_NOTFOUND;
	r = kill_req(a, "admin", 99, "");
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_ERROR);
	cr_assert_eq(r->error->code, PB_ERR_NOTFOUND);
	cr_assert_str_eq(r->error->message, "no session 99");
	pb_admin_reply_free(r);
	pb_admin_free(a);

	a = make(false);
	r = kill_req(a, "admin", 5, "");
	cr_assert_eq(r->type_case, ADMIN_REPLY__TYPE_ERROR);
	cr_assert_not_null(strstr(r->error->message, "not supported"));
	pb_admin_reply_free(r);
	pb_admin_free(a);
}

Test(admin_kill, watched_stop_hands_back_the_connection)
{
	struct pb_admin *a = make(true);
	AdminRequest r = ADMIN_REQUEST__INIT;
	AdminStop st = ADMIN_STOP__INIT;
	int conn;
	r.type_case = ADMIN_REQUEST__TYPE_STOP;
	r.stop = &st;
	st.watch = true;
	AdminReply *rep = pb_admin_handle_conn(a, "admin", NULL, &r, &conn);
	cr_assert_eq(rep->type_case, ADMIN_REPLY__TYPE_DONE);
	cr_assert_eq(fk.watches, 1);
	cr_assert_eq(fk.watched, &conn);
	pb_admin_reply_free(rep);
	st.force = true;
	rep = pb_admin_handle_conn(a, "admin", NULL, &r, &conn);
	cr_assert_eq(fk.stops, 2);
	cr_assert_eq(fk.watches, 1, "a forced stop is not watched");
	pb_admin_reply_free(rep);
	pb_admin_free(a);
}

Test(admin_kill, every_request_logged_with_outcome)
{
	struct pb_admin *a = make(true);
	AdminRequest r = ADMIN_REQUEST__INIT;
	AdminEmpty e = ADMIN_EMPTY__INIT;
	char txt[64];

	log_to_file();
	r.type_case = ADMIN_REQUEST__TYPE_STATUS;
	r.status = &e;
	pb_admin_reply_free(pb_admin_handle(a, "admin", "10.0.0.1:5", &r));
	pb_admin_reply_free(kill_req(a, "admin", 17, "x"));
	pb_admin_reply_free(kill_req(a, "mallory", 18, ""));
	fk.kill_rc = PB_ERR_NOTFOUND;
	pb_admin_reply_free(kill_req(a, "admin", 19, ""));
	const char *log = read_log();
	cr_expect_not_null(strstr(log, "admin: status request from admin at 10.0.0.1:5 answered"), "%s", log);
	cr_expect_not_null(strstr(log, "admin: kill-session 17 request from admin at 127.0.0.1:1 done: session 17 ended by administrator admin: x"), "%s", log);
	cr_expect_not_null(strstr(log, "admin: kill-session 18 request from mallory at 127.0.0.1:1 refused: not an administrator"), "%s", log);
	cr_expect_not_null(strstr(log, "admin: kill-session 19 request from admin at 127.0.0.1:1 failed: no session 19"), "%s", log);
	log_done();

	AdminStop st = ADMIN_STOP__INIT;
	st.timeout_s = 30;
	st.watch = true;
	r.type_case = ADMIN_REQUEST__TYPE_STOP;
	r.stop = &st;
	cr_assert_str_eq(pb_admin_request_text(&r, txt, sizeof(txt)), "stop timeout=30s watch");
	pb_admin_free(a);
}
