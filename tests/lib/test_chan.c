/* SPDX-License-Identifier: ISC */
/* Unit tests of lib/chan: whole messages across records, descriptors, errors. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan.h"
#include "err.h"
#include "session.pb-c.h"

static int sv[2];

static void setup(void)
{
	cr_assert_eq(pb_chan_pair(sv), 0);
}

static void teardown(void)
{
	close(sv[0]);
	close(sv[1]);
}

TestSuite(chan, .init = setup, .fini = teardown);

static SessionRequest *recv_req(int *fds, int *nfds)
{
	uint8_t *buf;
	size_t len;
	cr_assert_eq(pb_chan_recv(sv[1], &buf, &len, fds, nfds, 2000, 0), 0);
	SessionRequest *r = session_request__unpack(NULL, len, buf);
	free(buf);
	cr_assert_not_null(r);
	return r;
}

Test(chan, pair_is_cloexec_seqpacket)
{
	int type;
	socklen_t l = sizeof(type);
	cr_assert_eq(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &l), 0);
	cr_assert_eq(type, SOCK_SEQPACKET);
	cr_assert(fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	cr_assert(fcntl(sv[1], F_GETFD) & FD_CLOEXEC);
}

Test(chan, small_message_round_trip)
{
	SessionRequest req = SESSION_REQUEST__INIT;
	PolicyCheck chk = POLICY_CHECK__INIT;
	char *argv[] = {"ls", "-l"};
	chk.command = "/bin/ls";
	chk.n_argv = 2;
	chk.argv = argv;
	req.id = 42;
	req.type_case = SESSION_REQUEST__TYPE_CHECK;
	req.check = &chk;
	cr_assert_eq(pb_chan_send(sv[0], &req.base, NULL, 0, 0), 0);
	int nfds = -1;
	SessionRequest *r = recv_req(NULL, &nfds);
	cr_assert_eq(nfds, 0);
	cr_assert_eq(r->id, 42);
	cr_assert_eq(r->type_case, SESSION_REQUEST__TYPE_CHECK);
	cr_assert_str_eq(r->check->command, "/bin/ls");
	cr_assert_str_eq(r->check->argv[1], "-l");
	session_request__free_unpacked(r, NULL);
}

Test(chan, empty_message_is_one_record)
{
	SessionRequest req = SESSION_REQUEST__INIT;
	cr_assert_eq(pb_chan_send(sv[0], &req.base, NULL, 0, 0), 0);
	SessionRequest *r = recv_req(NULL, NULL);
	cr_assert_eq(r->id, 0);
	cr_assert_eq(r->type_case, SESSION_REQUEST__TYPE__NOT_SET);
	session_request__free_unpacked(r, NULL);
}

Test(chan, large_message_spans_records_in_order)
{
	/* 300 KiB of argv: five records, more than one socket buffer; a reader thread is
	 * not needed because the receiver is drained by a child process. */
	enum { N = 3000 };
	static char words[N][101];
	char *argv[N];
	for (int i = 0; i < N; i++) {
		memset(words[i], 'a' + i % 26, 100);
		words[i][100] = '\0';
		argv[i] = words[i];
	}
	SessionRequest req = SESSION_REQUEST__INIT;
	PolicyCheck chk = POLICY_CHECK__INIT;
	chk.command = "/bin/echo";
	chk.n_argv = N;
	chk.argv = argv;
	req.type_case = SESSION_REQUEST__TYPE_CHECK;
	req.check = &chk;
	pid_t pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		_exit(pb_chan_send(sv[0], &req.base, NULL, 0, 0) == 0 ? 0 : 1);
	}
	SessionRequest *r = recv_req(NULL, NULL);
	cr_assert_eq(r->check->n_argv, N);
	for (int i = 0; i < N; i++)
		cr_assert_str_eq(r->check->argv[i], words[i]);
	session_request__free_unpacked(r, NULL);
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(st, 0);
}

Test(chan, descriptors_travel_and_are_cloexec)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	SessionRequest req = SESSION_REQUEST__INIT;
	SessionChannel ch = SESSION_CHANNEL__INIT;
	ch.pid = 7;
	req.type_case = SESSION_REQUEST__TYPE_CHANNEL;
	req.channel = &ch;
	cr_assert_eq(pb_chan_send(sv[0], &req.base, p, 2, 0), 0);
	int fds[PB_CHAN_MAX_FDS], nfds = 0;
	SessionRequest *r = recv_req(fds, &nfds);
	cr_assert_eq(nfds, 2);
	cr_assert_eq(r->channel->pid, 7);
	cr_assert(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(write(fds[1], "x", 1), 1);
	char c = 0;
	cr_assert_eq(read(p[0], &c, 1), 1);
	cr_assert_eq(c, 'x');
	for (int i = 0; i < 4; i++)
		close(i < 2 ? p[i] : fds[i - 2]);
	session_request__free_unpacked(r, NULL);
}

Test(chan, unexpected_descriptors_are_closed)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	SessionRequest req = SESSION_REQUEST__INIT;
	cr_assert_eq(pb_chan_send(sv[0], &req.base, p, 1, 0), 0);
	close(p[0]);
	SessionRequest *r = recv_req(NULL, NULL);
	session_request__free_unpacked(r, NULL);
	/* The only read end is gone: a write sees EPIPE (SIGPIPE ignored here). */
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(write(p[1], "x", 1), -1);
	close(p[1]);
}

Test(chan, too_many_descriptors_refused)
{
	int fds[PB_CHAN_MAX_FDS + 1] = {0};
	SessionRequest req = SESSION_REQUEST__INIT;
	cr_assert_eq(pb_chan_send(sv[0], &req.base, fds, PB_CHAN_MAX_FDS + 1, 0), PB_ERR_INVAL);
}

Test(chan, over_max_refused_both_ways)
{
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	SessionRequest req = SESSION_REQUEST__INIT;
	PolicyCheck chk = POLICY_CHECK__INIT;
	chk.command = big;
	req.type_case = SESSION_REQUEST__TYPE_CHECK;
	req.check = &chk;
	cr_assert_eq(pb_chan_send(sv[0], &req.base, NULL, 0, 1000), PB_ERR_FRAME_BIG);
	cr_assert_eq(pb_chan_send(sv[0], &req.base, NULL, 0, 0), 0);
	uint8_t *buf = (uint8_t *)"";
	size_t len = 1;
	cr_assert_eq(pb_chan_recv(sv[1], &buf, &len, NULL, NULL, 1000, 1000), PB_ERR_FRAME_BIG);
	cr_assert_null(buf);
}

Test(chan, eof_timeout_truncated_and_empty_record)
{
	uint8_t *buf;
	size_t len;
	cr_assert_eq(pb_chan_recv(sv[1], &buf, &len, NULL, NULL, 50, 0), PB_ERR_TIMEOUT);
	/* A record that promises more, then the sender goes away. */
	uint8_t rec[3] = {PB_CHAN_MORE, 0x08, 0x01};
	cr_assert_eq(send(sv[0], rec, sizeof(rec), 0), 3);
	close(sv[0]);
	cr_assert_eq(pb_chan_recv(sv[1], &buf, &len, NULL, NULL, 1000, 0), PB_ERR_TRUNCATED);
	cr_assert_eq(pb_chan_recv(sv[1], &buf, &len, NULL, NULL, 1000, 0), PB_ERR_EOF);
	cr_assert_eq(pb_chan_pair(sv), 0);
	uint8_t more_only = PB_CHAN_MORE;
	cr_assert_eq(send(sv[0], &more_only, 1, 0), 1);
	cr_assert_eq(pb_chan_recv(sv[1], &buf, &len, NULL, NULL, 1000, 0), PB_ERR_FRAME_ZERO);
}
