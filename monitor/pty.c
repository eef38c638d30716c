/* SPDX-License-Identifier: ISC */
/* The pty relay of an I/O-logged session or command: the user's side and the program's side, both
 * ways, with window sizes. */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "debug.h"
#include "err.h"

struct relay {
	int epfd;
	int master;
	int in_fd, out_fd;
	bool tty;
	bool in_open; /* still reading the user's side */
	bool done;
	const struct relay_ops *ops;
	void *arg;
	struct mon_watch win, wmaster;
	int rows, cols;
};

/* The user's terminal modes, restored at the relay's end or the process's exit. */
static struct termios saved_tio;
static int saved_fd = -1;

static void restore_tty(void)
{
	if (saved_fd >= 0) {
		(void)tcsetattr(saved_fd, TCSAFLUSH, &saved_tio);
		saved_fd = -1;
	}
}

/* write_all: blocking write of n bytes to fd (which may be non-blocking). */
static int write_all(int fd, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			(void)poll(&p, 1, 1000);
			continue;
		}
		if (w <= 0)
			return PB_ERR_IO;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* from_master: the program's output to the user. Returns false at its end. */
static bool from_master(struct relay *r)
{
	uint8_t buf[8192];
	ssize_t n = read(r->master, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (n <= 0) {
		/* EIO: every slave descriptor is closed. */
		if (!r->done) {
			r->done = true;
			mon_unwatch(r->epfd, r->master, &r->wmaster);
			if (r->ops->done)
				r->ops->done(r->arg);
		}
		return false;
	}
	r->ops->data(r->arg, false, buf, (size_t)n);
	(void)write_all(r->out_fd, buf, (size_t)n);
	return true;
}

static void master_cb(void *arg, uint32_t events)
{
	(void)from_master(arg);
}

static void in_cb(void *arg, uint32_t events)
{
	struct relay *r = arg;
	uint8_t buf[4096];
	ssize_t n = read(r->in_fd, buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The user's side ended (hang-up, end of a pipe): stop reading it. */
		mon_unwatch(r->epfd, r->in_fd, &r->win);
		r->in_open = false;
		if (!r->tty && !r->done) {
			/* End of input for a command: pass the EOF character on. */
			struct termios t;
			if (tcgetattr(r->master, &t) == 0) {
				uint8_t eof = t.c_cc[VEOF];
				(void)write_all(r->master, &eof, 1);
			}
		}
		return;
	}
	r->ops->data(r->arg, true, buf, (size_t)n);
	if (!r->done)
		(void)write_all(r->master, buf, (size_t)n);
}

int relay_open(struct relay **rp, int epfd, int in_fd, int out_fd, bool tty,
               const struct relay_ops *ops, void *arg, int *slave, char *err, size_t errlen)
{
	struct relay *r = calloc(1, sizeof(*r));
	struct termios tio;
	struct winsize ws;
	bool have_tio = tcgetattr(in_fd, &tio) == 0;
	*rp = NULL;
	*slave = -1;
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return PB_ERR_NOMEM;
	}
	r->epfd = epfd;
	r->in_fd = in_fd;
	r->out_fd = out_fd;
	r->tty = tty;
	r->ops = ops;
	r->arg = arg;
	r->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->master < 0 || grantpt(r->master) < 0 || unlockpt(r->master) < 0) {
		snprintf(err, errlen, "cannot allocate a pty: %s", strerror(errno));
		goto fail;
	}
	const char *name = ptsname(r->master);
	*slave = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
	if (*slave < 0) {
		snprintf(err, errlen, "cannot open the pty slave: %s", strerror(errno));
		goto fail;
	}
	if (have_tio)
		(void)tcsetattr(*slave, TCSANOW, &tio);
	if (ioctl(in_fd, TIOCGWINSZ, &ws) == 0 || ioctl(out_fd, TIOCGWINSZ, &ws) == 0) {
		(void)ioctl(*slave, TIOCSWINSZ, &ws);
		r->rows = ws.ws_row;
		r->cols = ws.ws_col;
	}
	(void)fcntl(r->master, F_SETFL, fcntl(r->master, F_GETFL) | O_NONBLOCK);
	if (tty && have_tio) {
		struct termios raw = tio;
		if (saved_fd < 0) {
			saved_tio = tio;
			saved_fd = in_fd;
			atexit(restore_tty);
		}
		cfmakeraw(&raw);
		(void)tcsetattr(in_fd, TCSAFLUSH, &raw);
	}
	r->wmaster.cb = master_cb;
	r->wmaster.arg = r;
	r->win.cb = in_cb;
	r->win.arg = r;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &r->wmaster};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, r->master, &ev) < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		goto fail;
	}
	ev.data.ptr = &r->win;
	r->in_open = epoll_ctl(epfd, EPOLL_CTL_ADD, in_fd, &ev) == 0;
	*rp = r;
	return 0;
fail:
	if (*slave >= 0)
		close(*slave);
	*slave = -1;
	relay_free(r);
	return PB_ERR_IO;
}

void relay_winch(struct relay *r)
{
	struct winsize ws;
	if (ioctl(r->in_fd, TIOCGWINSZ, &ws) < 0)
		return;
	if (ws.ws_row == r->rows && ws.ws_col == r->cols)
		return;
	r->rows = ws.ws_row;
	r->cols = ws.ws_col;
	/* The kernel sends SIGWINCH to the pty's foreground process group. */
	(void)ioctl(r->master, TIOCSWINSZ, &ws);
	if (r->ops->winsize)
		r->ops->winsize(r->arg, r->rows, r->cols);
}

void relay_size(const struct relay *r, int *rows, int *cols)
{
	*rows = r->rows;
	*cols = r->cols;
}

void relay_drain(struct relay *r, int ms)
{
	while (r != NULL && !r->done) {
		struct pollfd p = {.fd = r->master, .events = POLLIN};
		if (poll(&p, 1, ms) <= 0)
			break;
		if (!from_master(r))
			break;
	}
}

void relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->master >= 0) {
		mon_unwatch(r->epfd, r->master, &r->wmaster);
		close(r->master);
	}
	if (r->in_open)
		mon_unwatch(r->epfd, r->in_fd, &r->win);
	if (r->tty && saved_fd == r->in_fd)
		restore_tty();
	free(r);
}
