/* SPDX-License-Identifier: ISC */
/* The session monitor's internal interfaces: server connections, policy client, log client, session
 * loop. */
#ifndef MON_H
#define MON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "frame.h"
#include "log.pb-c.h"
#include "policy.pb-c.h"
#include "session.pb-c.h"
#include "spool.pb-c.h"
#include "tls.h"

/* ---- net.c: client connections to policyd and logd ---- */

/* What every client connection of the monitor needs, from pbsh.yaml. */
struct mon_net {
	struct pb_tls_ctx *ctx;
	const char *servername; /* tls.servername, or NULL: each server's host */
	int connect_ms;         /* timeouts.connect: TCP connect and TLS handshake */
	int request_ms;         /* timeouts.request: one reply */
	uint32_t max;           /* max_frame */
	int spool_retry_ms; /* timeouts.spool_retry: a spooling session tries the log servers again
	                     */
};

/*
 * mon_net_init: a client TLS context and the timeouts from conf. Returns 0,
 * or a negative PB_ERR_* with a message in err.
 */
int mon_net_init(struct mon_net *net, const struct pb_conf *conf, char *err, size_t errlen);

/* mon_net_free: release the context. Accepts a zeroed struct. */
void mon_net_free(struct mon_net *net);

/*
 * mon_net_connect: connect to one host:port with TLS (handshake done)
 * within the connect timeout. Returns the connection (caller frees with
 * pb_tls_free) or NULL with the reason in err.
 */
struct pb_tls *mon_net_connect(const struct mon_net *net, const struct pb_hostport *hp, char *err,
                               size_t errlen);

/*
 * mon_send: pack msg as one frame and write it all within timeout_ms.
 * Returns 0 or a negative PB_ERR_*.
 */
int mon_send(struct pb_tls *t, const ProtobufCMessage *msg, uint32_t max, int timeout_ms);

/* mon_now_ms: CLOCK_MONOTONIC in milliseconds. */
int64_t mon_now_ms(void);

/* mon_ts_sub: a - b for timespecs (a >= b expected). */
struct timespec mon_ts_sub(struct timespec a, struct timespec b);

/* mon_ts_add: a + b. */
struct timespec mon_ts_add(struct timespec a, struct timespec b);

/* mon_ts_cmp: <0, 0, >0 as a is before, equal to or after b. */
int mon_ts_cmp(struct timespec a, struct timespec b);

/* mon_uniqueid: 128 random bits in hex (native root decisions). */
void mon_uniqueid(char out[33]);

/* ---- logconn.c: the log protocol's opening, shared by the live client and the forwarder ---- */

/* Extensions of the log protocol the server announced (mon_log_open). */
#define MON_EXT_SUBCMD 1u /* "subcommand-exit": SubcommandExit is understood */
#define MON_EXT_EVACKS 2u /* "event-acks": a session's events are acknowledged (events_stored)       \
	                   */

/*
 * mon_log_open: connect to the first of the n log servers that answers,
 * send ClientHello (naming the extensions we use) and read ServerHello.
 * *exts gets the MON_EXT_* bits of the extensions the server announced;
 * which (may be NULL) gets the index of the server. Returns the connection
 * or NULL with the reason of the last failure in err.
 */
struct pb_tls *mon_log_open(const struct mon_net *net, const struct pb_hostport *hp, size_t n,
                            unsigned *exts, size_t *which, char *err, size_t errlen);

/*
 * mon_log_event: a ClientMessage that logd stores as one event of the
 * session (Accept, Reject, Alert, SubcommandExit, Exit): what events_stored
 * counts.
 */
bool mon_log_event(const Pblog__ClientMessage *cm);

/*
 * mon_log_delay: the delay a ClientMessage adds to its I/O log's elapsed
 * time, and whether it has one at all (I/O buffers, window size, suspend).
 */
bool mon_log_delay(const Pblog__ClientMessage *cm, struct timespec *delay);

/* ---- spool.c: journals ---- */

struct spool_journal;

/*
 * spool_journal_create: a new journal file in the spool directory dir
 * (created 0700 when missing; refused when it is not the effective user's
 * or when others may write it), locked (flock) for the caller's whole use.
 * Returns 0 or a negative PB_ERR_* with err.
 */
int spool_journal_create(const char *dir, struct spool_journal **jp, char *err, size_t errlen);

/* spool_journal_frame: append one serialised ClientMessage (written through at once). */
int spool_journal_frame(struct spool_journal *j, const uint8_t *cm, size_t len);

/* spool_journal_end: append the end mark: the session is complete. */
int spool_journal_end(struct spool_journal *j);

/*
 * spool_journal_forward: try to hand a complete journal to a log server
 * now (the session's own, still locked). Deleted when acknowledged. Returns
 * 0 when forwarded, or a negative PB_ERR_* (the journal stays) with err.
 */
int spool_journal_forward(struct spool_journal *j, const struct mon_net *net,
                          const struct pb_hostport *hp, size_t n, char *err, size_t errlen);

/*
 * spool_journal_frames: call cb with every ClientMessage of the journal,
 * in order (borrowed for the call). Returns 0 or a negative PB_ERR_*.
 */
int spool_journal_frames(struct spool_journal *j,
                         void (*cb)(void *arg, const uint8_t *cm, size_t len), void *arg);

/* spool_journal_discard: delete and close a journal whose content went elsewhere. Accepts NULL. */
void spool_journal_discard(struct spool_journal *j);

/* spool_journal_path: the journal's file name (owned by j). */
const char *spool_journal_path(const struct spool_journal *j);

/* spool_journal_close: unlock and close (the file stays unless forwarded). Accepts NULL. */
void spool_journal_close(struct spool_journal *j);

#endif

/* ---- loop: what the session's epoll set calls back ---- */

struct mon_watch {
	void (*cb)(void *arg, uint32_t events);
	void *arg;
};

struct epoll_event;

/* mon_dispatch: call the watch of each event of one epoll_wait batch (loop.c). */
void mon_dispatch(struct epoll_event *evs, int n);

/*
 * mon_unwatch: take fd (watched by w) out of the epoll set epfd; an event of w
 * still waiting in the batch being dispatched is dropped, so w's owner may be
 * freed at once. Every watch leaves the set through here.
 */
void mon_unwatch(int epfd, int fd, struct mon_watch *w);

/* ---- logclient.c: the session's log, live to logd or spooled ---- */

struct mlog;

/*
 * mlog_new: a log client for one session: servers hp[0..n), journals under
 * spooldir, epfd the loop's epoll set (the client registers its own
 * connection there). Returns NULL when out of memory.
 */
struct mlog *mlog_new(const struct mon_net *net, const struct pb_hostport *hp, size_t n,
                      const char *spooldir, int epfd);

/*
 * mlog_begin: open the session's log with its first message (the start's
 * AcceptMessage or RejectMessage): the first log server that answers, else
 * the spool. Returns "host:port", "spool", or "" when no log server is
 * configured (nothing is logged). Static or owned by l.
 */
const char *mlog_begin(struct mlog *l, const Pblog__ClientMessage *first);

/* mlog_send: queue one message of the session (never blocks on the server). */
void mlog_send(struct mlog *l, const Pblog__ClientMessage *cm);

/*
 * mlog_timeout: milliseconds until the spooling session should try the log
 * servers again (mlog_tick), -1 when it need not.
 */
int mlog_timeout(const struct mlog *l);

/*
 * mlog_tick: a spooling session whose retry time has come tries the log
 * servers; when one answers, the journal so far is sent to it, the rest of
 * the session follows live, and the journal is deleted.
 */
void mlog_tick(struct mlog *l);

/* mlog_subcmd_exit: may SubcommandExit be sent (live server announced it, or spooling)? */
bool mlog_subcmd_exit(const struct mlog *l);

/*
 * mlog_finish: the session is over (its last message queued): deliver
 * everything within the request timeout, else spool it; a spooled session
 * is forwarded now if a log server answers.
 */
void mlog_finish(struct mlog *l);

/* mlog_free: close everything. Accepts NULL. */
void mlog_free(struct mlog *l);

/* ---- policy.c: the policy client ---- */

struct mpol;

/*
 * A check's outcome: reply is policyd's (borrowed for the call), or NULL
 * when no policy server could answer (why says what failed).
 */
typedef void (*mpol_reply_cb)(void *arg, uint64_t chan, uint64_t shell_id, const PolicyCheck *chk,
                              const PolicyReply *reply, const char *why);

/*
 * mpol_new: a policy client for servers hp[0..n); start is the session's
 * PolicyShellStart (borrowed for the client's life, sent again on every
 * reconnection). Replies to checks go to cb. NULL when out of memory.
 */
struct mpol *mpol_new(const struct mon_net *net, const struct pb_hostport *hp, size_t n, int epfd,
                      const PolicyShellStart *start, const char *client_name, mpol_reply_cb cb,
                      void *arg);

/*
 * mpol_start: connect to the first policy server that answers (in order,
 * each within the timeouts), Hello then ShellStart. Returns the server's
 * reply (a decision or an error; caller frees with
 * policy_reply__free_unpacked), or NULL with err when none answered.
 */
PolicyReply *mpol_start(struct mpol *p, char *err, size_t errlen);

/*
 * mpol_check: forward a check for the shell's request shell_id on channel
 * chan; the outcome comes through the callback (perhaps before this
 * returns, when no server answers). Takes chk, an unpacked message of its
 * own (kept to be sent again after a failover, then freed with
 * policy_check__free_unpacked): no copy on the way to the server.
 */
void mpol_check(struct mpol *p, uint64_t chan, uint64_t shell_id, PolicyCheck *chk);

/*
 * mpol_on_ended: fn is called when the policy server says, unasked, that
 * an administrator ended the session (pbctl kill-session), with its message.
 */
void mpol_on_ended(struct mpol *p, void (*fn)(void *arg, const char *why));

/* mpol_timeout: milliseconds until the oldest request's deadline, -1 when none waits. */
int mpol_timeout(const struct mpol *p);

/* mpol_tick: fail over when a request's deadline has passed. */
void mpol_tick(struct mpol *p);

/* mpol_close: let go of the server in use (the next check connects again). */
void mpol_close(struct mpol *p);

/*
 * mpol_backoff: after every server failed, checks within ms fail at once
 * instead of trying the servers again (0: the default, 2 s). Without a
 * connection, the pause starts now.
 */
void mpol_backoff(struct mpol *p, int ms);

/* mpol_server: "host:port" of the server in use ("" when none). Owned by p. */
const char *mpol_server(const struct mpol *p);

/* mpol_free: close and free; pending requests are dropped. Accepts NULL. */
void mpol_free(struct mpol *p);

/* ---- pty.c: relaying a terminal through a pty ---- */

struct relay;

/* What a relay reports: data read from either side, size changes, the end. */
struct relay_ops {
	/* input true: from the user towards the program; false: the program's output. */
	void (*data)(void *arg, bool input, const uint8_t *buf, size_t n);
	void (*winsize)(void *arg, int rows, int cols);
	/* the program side closed (EIO on the master): no more output. */
	void (*done)(void *arg);
};

/*
 * relay_open: a pty whose slave (*slave, the caller sends it and closes
 * it) takes the place of in_fd/out_fd. With tty true, in_fd is the user's
 * terminal: its modes and size are copied to the pty and it is put in raw
 * mode until relay_free (also restored at exit). Returns 0 or a negative
 * PB_ERR_* with err.
 */
int relay_open(struct relay **rp, int epfd, int in_fd, int out_fd, bool tty,
               const struct relay_ops *ops, void *arg, int *slave, char *err, size_t errlen);

/* relay_winch: the user's terminal changed size: pass it on (and report it). */
void relay_winch(struct relay *r);

/* relay_size: the current rows and columns of the relayed terminal (0 when unknown). */
void relay_size(const struct relay *r, int *rows, int *cols);

/* relay_drain: copy what the program still wrote, until EIO or ms of quiet. */
void relay_drain(struct relay *r, int ms);

/* relay_free: stop relaying, restore the user's terminal. Accepts NULL. */
void relay_free(struct relay *r);

/* ---- procs.c: a session's processes ---- */

/*
 * mon_procs_signal: sig to every living process descended from root (root
 * and spare themselves aside), except those in skip[0..nskip) and what
 * descends from them. Returns how many were signalled; sig 0 counts them.
 */
size_t mon_procs_signal(pid_t root, pid_t spare, const pid_t *skip, size_t nskip, int sig);

/* ---- session.c: the monitor's session (main.c parses arguments and calls it) ---- */

struct mon_args {
	const char *config; /* --config (NULL: the compiled-in path) */
	pid_t shell_pid;    /* --shell-pid */
	int root_fd;        /* the root channel (3) */
	int factory_fd;     /* the factory socket (4) */
	bool debug;         /* --debug given: traces go where the shell's go (kshlog/shlog) */
	bool adopt;         /* --adopt: the shell is not our child (a root session's first monitor ended) */
};

/*
 * mon_run: serve the session until the shell ends. Returns the exit status
 * for main (the shell's status, or 128 + signal when the caller should
 * re-raise: *raise_sig is set then, 0 otherwise).
 */
int mon_run(const struct mon_args *a, struct pb_conf *conf, int *raise_sig);
