/* SPDX-License-Identifier: ISC */
/* policyd load client: decision latency and throughput over persistent mutual-TLS connections, next to a TLS echo floor, and idle-connection memory. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "err.h"
#include "frame.h"
#include "policy.pb-c.h"
#include "server.h"
#include "tls.h"

/*
 * Usage: bench-policyd [-P policyd] [-p pki-dir] [-n round-trips] [-c connections]
 *                      [-d depth] [-t seconds] [-r rules] [-i idle-connections]
 *
 * 1. echo floor: lib/server.c echoing frames in a child process, one
 *    persistent connection, round trips of a Check-sized frame;
 * 2. policyd latency: one session, sequential Checks (the request matches
 *    only the last of the policy's rules, the worst case);
 * 3. policyd throughput: c connections, each keeping `depth` Checks in
 *    flight, for t seconds, driven by one epoll loop;
 * 4. idle: i sessions (Hello + ShellStart) kept open; policyd's RSS. The
 *    sessions are opened by full handshakes, as each shell's monitor (its own
 *    process) does; -R resumes them from one client's saved session instead.
 * Everything runs in one invocation on the same machine, so the ratio of
 * (2) to (1) is meaningful even on a loaded host.
 */

static char pkidir[512];
static const char *policyd_path = POLICYD_PATH;

static const char *pki_file(const char *name)
{
	static char b[8][600];
	static unsigned n;
	char *p = b[n++ % 8];
	snprintf(p, 600, "%s/%s", pkidir, name);
	return p;
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench-policyd: %s: %s\n", what, rc < 0 ? pb_strerror(rc) : "failed");
	exit(1);
}

static int echo_cb(struct pb_conn *c, void *state, const uint8_t *msg, size_t len)
{
	(void)state;
	return pb_conn_send(c, msg, len);
}

static int echo_max_conns = 4096;

static int start_echo(pid_t *pid)
{
	int p[2], port = 0;
	if (pipe(p) < 0)
		return -1;
	*pid = fork();
	if (*pid == 0) {
		struct pb_tls_conf conf = {.ca = pki_file("ca.crt"), .cert = pki_file("server.crt"),
					   .key = pki_file("server.key")};
		struct pb_server_ops ops = {.frame_cb = echo_cb};
		/* as many connections as policyd is allowed in this bench (its default is 256 per peer) */
		struct pb_server_limits lim = {.max_conns = (unsigned)echo_max_conns,
					       .max_conns_per_peer = (unsigned)echo_max_conns};
		const char *err = NULL;
		struct pb_tls_ctx *ctx = pb_tls_ctx_new(PB_TLS_SERVER, &conf, &err);
		struct pb_server *s = ctx ? pb_server_new(ctx, &ops, NULL, &lim) : NULL;
		if (s == NULL || pb_server_listen(s, "127.0.0.1:0", &err) < 0)
			_exit(1);
		port = pb_server_port(s, 0);
		if (write(p[1], &port, sizeof(port)) != sizeof(port))
			_exit(1);
		/* lib/server logs every connection at info level: not into the bench's table */
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (devnull >= 0) {
			dup2(devnull, 2);
			close(devnull);
		}
		close(p[1]);
		_exit(pb_server_run(s) == 0 ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], &port, sizeof(port)) != sizeof(port))
		port = -1;
	close(p[0]);
	return port;
}

static char tmpdir[256];

/* Write a policy of `rules` rules (the bench request matches only the last) and a configuration. */
static void write_files(int rules, int maxconns)
{
	char path[600];
	FILE *f;
	snprintf(path, sizeof(path), "%s/policy.yaml", tmpdir);
	f = fopen(path, "w");
	if (f == NULL)
		die("policy.yaml", PB_ERR_IO);
	fprintf(f, "rules:\n  - name: start\n    when: {mode: shell start}\n    accept: true\n");
	for (int i = 0; i < rules - 2; i++)
		fprintf(f, "  - name: r%d\n    when: {user: [u%d, 'x%d*'], command: '/opt/app%d/*', argv: {1: '-v'}}\n"
			   "    set: {runuser: root}\n    accept: true\n",
			i, i, i, i);
	fprintf(f, "  - name: last\n    when: {mode: shell command, command: /bin/ls, user: '@users'}\n"
		   "    set: {iolog: '%%h/%%u/%%i'}\n    accept: true\n");
	fprintf(f, "lists:\n  users: [alice, bob]\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/pbsh.yaml", tmpdir);
	f = fopen(path, "w");
	if (f == NULL)
		die("pbsh.yaml", PB_ERR_IO);
	fprintf(f,
		"tls: {ca: %s, cert: %s, key: %s}\n"
		"policyd:\n  listen: [127.0.0.1:0]\n  policy: %s/policy.yaml\n  pidfile: %s/policyd.pid\n"
		"  log: %s/policyd.log\n  max_connections: %d\n  max_connections_per_peer: %d\n",
		pki_file("ca.crt"), pki_file("server.crt"), pki_file("server.key"), tmpdir, tmpdir,
		tmpdir, maxconns, maxconns);
	fclose(f);
}

static pid_t policyd_pid;

static int start_policyd(void)
{
	char conf[600], portfile[600];
	snprintf(conf, sizeof(conf), "%s/pbsh.yaml", tmpdir);
	snprintf(portfile, sizeof(portfile), "%s/port", tmpdir);
	policyd_pid = fork();
	if (policyd_pid == 0) {
		execl(policyd_path, "policyd", "-D", "-f", conf, "--port-file", portfile, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		FILE *f = fopen(portfile, "r");
		int port = 0;
		if (f != NULL) {
			if (fscanf(f, "%d", &port) != 1)
				port = 0;
			fclose(f);
			if (port > 0)
				return port;
		}
		if (waitpid(policyd_pid, NULL, WNOHANG) == policyd_pid)
			break;
		usleep(25000);
	}
	die("policyd did not start (see its log in the temporary folder)", PB_ERR_IO);
	return -1;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = strtol(line + 6, NULL, 10);
	fclose(f);
	return kib;
}

/* CPU seconds (user + system) a process has used, from /proc; -1 when unknown. */
static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	/* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/*
 * no_resume: full handshakes only. Each governed session's monitor is its own
 * process and connects once, so the sessions policyd holds were made by full
 * handshakes; the idle measure opens its sessions that way.
 */
static struct pb_tls_ctx *client_ctx(bool no_resume)
{
	struct pb_tls_conf conf = {.ca = pki_file("ca.crt"), .cert = pki_file("host1.crt"),
				   .key = pki_file("host1.key"), .no_resume = no_resume};
	const char *err = NULL;
	struct pb_tls_ctx *ctx = pb_tls_ctx_new(PB_TLS_CLIENT, &conf, &err);
	if (ctx == NULL) {
		fprintf(stderr, "bench-policyd: %s\n", err);
		exit(1);
	}
	return ctx;
}

static size_t pack(const PolicyRequest *r, uint8_t **out)
{
	size_t n = policy_request__get_packed_size(r);
	*out = malloc(n);
	policy_request__pack(r, *out);
	return n;
}

static size_t check_msg(uint8_t **out)
{
	static char *argv[] = {(char *)"ls", (char *)"-l", (char *)"/tmp"};
	PolicyRequest r = POLICY_REQUEST__INIT;
	PolicyCheck ck = POLICY_CHECK__INIT;
	r.id = 3;
	r.type_case = POLICY_REQUEST__TYPE_CHECK;
	r.check = &ck;
	ck.mode = POLICY_MODE__POLICY_MODE_SHELL_COMMAND;
	ck.command = (char *)"/bin/ls";
	ck.argv = argv;
	ck.n_argv = 3;
	ck.cwd = (char *)"/home/alice";
	return pack(&r, out);
}

/* Connect and open a session (Hello, ShellStart) with blocking helpers. */
static struct pb_tls *session(struct pb_tls_ctx *ctx, const char *port)
{
	const char *err = NULL;
	struct pb_tls *t = pb_tls_connect(ctx, "127.0.0.1", port, 10000, &err);
	PolicyRequest r = POLICY_REQUEST__INIT;
	PolicyHello h = POLICY_HELLO__INIT;
	PolicyShellStart ss = POLICY_SHELL_START__INIT;
	char *argv[] = {(char *)"pbksh"};
	uint8_t *buf, *rep;
	size_t n, rl;
	if (t == NULL) {
		fprintf(stderr, "bench-policyd: connect: %s\n", err);
		exit(1);
	}
	r.id = 1;
	r.type_case = POLICY_REQUEST__TYPE_HELLO;
	r.hello = &h;
	h.version = 1;
	h.client_name = (char *)"bench";
	n = pack(&r, &buf);
	if (pb_tls_send_frame(t, buf, n, 10000) < 0)
		die("send hello", PB_ERR_IO);
	free(buf);
	r.id = 2;
	r.type_case = POLICY_REQUEST__TYPE_SHELL_START;
	r.shell_start = &ss;
	ss.user = (char *)"alice";
	ss.uid = 1000;
	ss.group = (char *)"users";
	ss.shell = (char *)"pbksh";
	ss.argv = argv;
	ss.n_argv = 1;
	ss.tty = (char *)"/dev/pts/1";
	n = pack(&r, &buf);
	if (pb_tls_send_frame(t, buf, n, 10000) < 0)
		die("send shell start", PB_ERR_IO);
	free(buf);
	for (int i = 0; i < 2; i++) {
		int rc = pb_tls_recv_frame(t, 0, 10000, &rep, &rl);
		if (rc < 0)
			die("session reply", rc);
		PolicyReply *pr = policy_reply__unpack(NULL, rl, rep);
		if (pr == NULL || pr->type_case == POLICY_REPLY__TYPE_ERROR)
			die(pr ? pr->error->message : "bad reply", PB_ERR_PROTO);
		policy_reply__free_unpacked(pr, NULL);
		free(rep);
	}
	return t;
}

static void latency(const char *name, struct pb_tls *t, const uint8_t *req, size_t len, size_t n,
		    struct pb_bench_stats *st)
{
	double *v = calloc(n, sizeof(*v));
	size_t warm = n / 10 + 10;
	double *w = calloc(warm, sizeof(*w));
	int rc = pb_bench_rtt(t, req, len, warm, w);
	if (rc == 0)
		rc = pb_bench_rtt(t, req, len, n, v);
	if (rc < 0)
		die(name, rc);
	pb_bench_stats(v, n, st);
	pb_bench_print(name, "us", st);
	free(v);
	free(w);
}

struct lconn {
	struct pb_tls *t;
	uint8_t in[65536];
	size_t have;
	uint8_t *out;
	size_t out_len, out_cap;
	uint64_t done;
};

static int queue_reqs(struct lconn *c, const uint8_t *frame, size_t flen, unsigned k)
{
	if (c->out_len + flen * k > c->out_cap) {
		size_t nc = (c->out_len + flen * k) * 2;
		uint8_t *nb = realloc(c->out, nc);
		if (nb == NULL)
			return PB_ERR_NOMEM;
		c->out = nb;
		c->out_cap = nc;
	}
	for (unsigned i = 0; i < k; i++) {
		memcpy(c->out + c->out_len, frame, flen);
		c->out_len += flen;
	}
	return 0;
}

static int flush_out(struct lconn *c)
{
	while (c->out_len > 0) {
		ssize_t w = pb_tls_write(c->t, c->out, c->out_len);
		if (w == PB_ERR_WANT_WRITE || w == PB_ERR_WANT_READ)
			return 0;
		if (w < 0)
			return (int)w;
		memmove(c->out, c->out + w, c->out_len - (size_t)w);
		c->out_len -= (size_t)w;
	}
	return 0;
}

/* Read what is there; count whole reply frames; queue one new request per reply. */
static int pump(struct lconn *c, const uint8_t *frame, size_t flen)
{
	for (;;) {
		ssize_t r = pb_tls_read(c->t, c->in + c->have, sizeof(c->in) - c->have);
		if (r == PB_ERR_WANT_READ || r == PB_ERR_WANT_WRITE)
			break;
		if (r < 0)
			return (int)r;
		c->have += (size_t)r;
		size_t off = 0;
		unsigned replies = 0;
		while (c->have - off >= 4) {
			uint32_t len = (uint32_t)c->in[off] << 24 | (uint32_t)c->in[off + 1] << 16 |
				       (uint32_t)c->in[off + 2] << 8 | c->in[off + 3];
			if (c->have - off < 4 + (size_t)len)
				break;
			off += 4 + len;
			replies++;
		}
		memmove(c->in, c->in + off, c->have - off);
		c->have -= off;
		c->done += replies;
		if (replies > 0 && queue_reqs(c, frame, flen, replies) < 0)
			return PB_ERR_NOMEM;
	}
	return flush_out(c);
}

static double throughput(struct pb_tls_ctx *ctx, const char *port, int nconn, unsigned depth,
			 double seconds, const uint8_t *req, size_t len)
{
	struct lconn *cs = calloc((size_t)nconn, sizeof(*cs));
	uint8_t *frame = malloc(len + 4);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	pb_frame_put_hdr(frame, (uint32_t)len);
	memcpy(frame + 4, req, len);
	for (int i = 0; i < nconn; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i};
		cs[i].t = session(ctx, port);
		epoll_ctl(ep, EPOLL_CTL_ADD, pb_tls_fd(cs[i].t), &ev);
	}
	for (int i = 0; i < nconn; i++) {
		queue_reqs(&cs[i], frame, len + 4, depth);
		flush_out(&cs[i]);
	}
	int64_t start = pb_bench_now_ns(), warm_end = start + 500000000LL;
	int64_t end = warm_end + (int64_t)(seconds * 1e9);
	uint64_t at_warm = 0;
	bool warmed = false;
	struct epoll_event evs[256];
	for (;;) {
		int64_t now = pb_bench_now_ns();
		if (!warmed && now >= warm_end) {
			for (int i = 0; i < nconn; i++)
				at_warm += cs[i].done;
			warmed = true;
			start = now;
		}
		if (now >= end)
			break;
		int k = epoll_wait(ep, evs, 256, 100);
		for (int e = 0; e < k; e++) {
			struct lconn *c = &cs[evs[e].data.u32];
			int rc = pump(c, frame, len + 4);
			if (rc < 0)
				die("throughput connection", rc);
		}
		/* Edge-triggered: data buffered inside TLS shows no readiness, so drain those too. */
		for (int i = 0; i < nconn; i++)
			if (pb_tls_pending(cs[i].t) > 0 && pump(&cs[i], frame, len + 4) < 0)
				die("throughput connection", PB_ERR_IO);
	}
	uint64_t total = 0;
	for (int i = 0; i < nconn; i++) {
		total += cs[i].done;
		pb_tls_free(cs[i].t);
		free(cs[i].out);
	}
	double rate = (double)(total - at_warm) / ((double)(pb_bench_now_ns() - start) / 1e9);
	close(ep);
	free(cs);
	free(frame);
	return rate;
}

int main(int argc, char **argv)
{
	size_t n = 20000;
	int nconn = 100, rules = 200, idle = 10000, waitsec = 0, c;
	bool echo_idle = false, idle_resumed = false;
	unsigned depth = 8;
	double seconds = 3.0;
	const char *pki = NULL;
	char port[16];
	pid_t echo_pid;
	struct pb_bench_stats echo_st, pd_st;

	while ((c = getopt(argc, argv, "P:p:n:c:d:t:r:i:w:ER")) != -1) {
		switch (c) {
		case 'P':
			policyd_path = optarg;
			break;
		case 'p':
			pki = optarg;
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'c':
			nconn = atoi(optarg);
			break;
		case 'd':
			depth = (unsigned)atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'r':
			rules = atoi(optarg);
			break;
		case 'i':
			idle = atoi(optarg);
			break;
		case 'w':
			waitsec = atoi(optarg);
			break;
		case 'R':
			idle_resumed = true;
			break;
		case 'E':
			echo_idle = true;
			break;
		default:
			fprintf(stderr, "usage: bench-policyd [-P policyd] [-p pki] [-n n] [-c conns] [-d depth] [-t s] [-r rules] [-i idle] [-w wait-s] [-E] [-R]\n");
			return 2;
		}
	}
	if (getenv("POLICYD") != NULL && policyd_path == (const char *)POLICYD_PATH)
		policyd_path = getenv("POLICYD");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bench-policyd-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp", PB_ERR_IO);
	if (pki != NULL) {
		snprintf(pkidir, sizeof(pkidir), "%s", pki);
	} else {
		char cmd[1200];
		snprintf(pkidir, sizeof(pkidir), "%s/pki", tmpdir);
		snprintf(cmd, sizeof(cmd), "sh '%s' '%s' >/dev/null 2>&1", PKI_SH, pkidir);
		if (system(cmd) != 0)
			die("tests/pki.sh", PB_ERR_IO);
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if ((long)rl.rlim_cur < idle + 100) {
			fprintf(stderr, "bench-policyd: only %ld descriptors: idle test reduced\n", (long)rl.rlim_cur);
			idle = (int)rl.rlim_cur / 2 - 100;
		}
	}
	write_files(rules, idle + nconn + 100);
	echo_max_conns = idle + nconn + 100;
	printf("policyd bench: %d rules, %zu round trips, %d connections x depth %u for %.1f s, %d idle sessions\n",
	       rules, n, nconn, depth, seconds, idle);

	uint8_t *req;
	size_t len = check_msg(&req);

	/* 1. echo floor */
	int eport = start_echo(&echo_pid);
	if (eport <= 0)
		die("echo server", PB_ERR_IO);
	snprintf(port, sizeof(port), "%d", eport);
	struct pb_tls_ctx *ctx = client_ctx(false);
	const char *err = NULL;
	struct pb_tls *t = pb_tls_connect(ctx, "127.0.0.1", port, 10000, &err);
	if (t == NULL)
		die(err, PB_ERR_TLS);
	latency("tls echo round trip", t, req, len, n, &echo_st);
	pb_tls_free(t);
	long echo_rss = -1;
	if (echo_idle && idle > 0) {
		/* The memory floor: the same number of idle TLS connections on the bare echo server. */
		struct pb_tls **ts = calloc((size_t)idle, sizeof(*ts));
		long r0 = rss_kib(echo_pid);
		double us;
		for (int i = 0; i < idle; i++) {
			ts[i] = pb_tls_connect(ctx, "127.0.0.1", port, 10000, &err);
			if (ts[i] == NULL || pb_bench_rtt(ts[i], "x", 1, 1, &us) < 0)
				die("echo idle connection", PB_ERR_IO);
		}
		usleep(200000);
		echo_rss = rss_kib(echo_pid);
		printf("%-28s %d connections; echo server RSS %.1f MiB (%.1f MiB before, %.1f KiB each)\n",
		       "echo idle connections", idle, echo_rss / 1024.0, r0 / 1024.0,
		       (double)(echo_rss - r0) / idle);
		for (int i = 0; i < idle; i++)
			pb_tls_free(ts[i]);
		free(ts);
	}
	kill(echo_pid, SIGTERM);
	waitpid(echo_pid, NULL, 0);

	/* 2. policyd latency */
	int pport = start_policyd();
	snprintf(port, sizeof(port), "%d", pport);
	t = session(ctx, port);
	latency("policyd check round trip", t, req, len, n, &pd_st);
	pb_tls_free(t);

	/* 3. throughput; policyd's own CPU time gives a figure that a loaded host does not distort */
	double cpu0 = cpu_seconds(policyd_pid);
	int64_t w0 = pb_bench_now_ns();
	double rate = throughput(ctx, port, nconn, depth, seconds, req, len);
	double cpu = cpu_seconds(policyd_pid) - cpu0;
	double wall = (double)(pb_bench_now_ns() - w0) / 1e9;
	double per_cpu = cpu > 0 ? rate * wall / cpu : 0;
	printf("%-28s %.0f decisions/s (%d connections, depth %u); policyd used %.2f CPU-s in %.2f s: %.0f decisions per CPU-second\n",
	       "policyd throughput", rate, nconn, depth, cpu, wall, per_cpu);

	/* 4. idle sessions */
	long rss0 = rss_kib(policyd_pid);
	struct pb_tls **idles = calloc((size_t)(idle > 0 ? idle : 1), sizeof(*idles));
	struct pb_tls_ctx *ictx = client_ctx(!idle_resumed);
	int64_t t0 = pb_bench_now_ns();
	for (int i = 0; i < idle; i++)
		idles[i] = session(ictx, port);
	double secs = (double)(pb_bench_now_ns() - t0) / 1e9;
	usleep(200000);
	long rss1 = rss_kib(policyd_pid);
	printf("%-28s %d sessions opened (%s) in %.1f s; policyd RSS %.1f MiB (%.1f MiB before, %.1f KiB each)\n",
	       "policyd idle sessions", idle,
	       idle_resumed ? "resumed handshakes" : "full handshakes, as one per shell", secs, rss1 / 1024.0, rss0 / 1024.0,
	       idle > 0 ? (double)(rss1 - rss0) / idle : 0.0);
	if (waitsec > 0) {
		printf("%-28s policyd pid %d; waiting %d s\n", "", (int)policyd_pid, waitsec);
		fflush(stdout);
		sleep((unsigned)waitsec);
		printf("%-28s policyd RSS %.1f MiB after %d s\n", "", rss_kib(policyd_pid) / 1024.0, waitsec);
	}
	for (int i = 0; i < idle; i++)
		pb_tls_free(idles[i]);
	free(idles);

	printf("\n| measure | value | target |\n|---|---|---|\n");
	printf("| TLS echo p50 / p99 | %.1f / %.1f us | floor |\n", echo_st.p50, echo_st.p99);
	printf("| policyd Check p50 / p99 | %.1f / %.1f us | p50 <= 2x echo (%.1f us) |\n", pd_st.p50,
	       pd_st.p99, 2 * echo_st.p50);
	printf("| p50 ratio to echo | %.2fx | <= 2x |\n", pd_st.p50 / echo_st.p50);
	printf("| throughput, %d conns, %d rules | %.0f decisions/s | >= 50000 |\n", nconn, rules, rate);
	printf("| policyd decisions per CPU-second | %.0f | one core's worth |\n", per_cpu);
	printf("| RSS with %d idle sessions | %.1f MiB | < 200 MiB |\n", idle, rss1 / 1024.0);
	if (echo_rss >= 0)
		printf("| echo server RSS, %d idle connections | %.1f MiB | floor |\n", idle, echo_rss / 1024.0);

	kill(policyd_pid, SIGTERM);
	waitpid(policyd_pid, NULL, 0);
	pb_tls_ctx_free(ictx);
	pb_tls_ctx_free(ctx);
	free(req);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench-policyd: could not remove %s\n", tmpdir);
	return 0;
}
