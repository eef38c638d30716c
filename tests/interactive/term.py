# SPDX-License-Identifier: ISC
# A small pseudo-terminal driver for the interactive tests: start a shell on a pty, type keys, wait for output patterns with timeouts.
import errno
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import sys
import tempfile
import termios
import time

# Terminal escapes (CSI, OSC, two-byte ESC sequences) and carriage returns are
# dropped from what the shell writes, so patterns see plain text.
_ESC = re.compile(r'\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]|\x1b[=>78NOc]|\r|\x07')

KEYS = {
	'up': '\x1b[A', 'down': '\x1b[B', 'right': '\x1b[C', 'left': '\x1b[D',
	'esc': '\x1b', 'tab': '\t', 'enter': '\r', 'C-a': '\x01', 'C-b': '\x02', 'C-c': '\x03',
	'C-d': '\x04', 'C-e': '\x05', 'C-f': '\x06', 'C-k': '\x0b', 'C-r': '\x12', 'C-u': '\x15',
	'C-w': '\x17', 'C-z': '\x1a', 'C-p': '\x10', 'C-n': '\x0e',
}


class Timeout(Exception):
	pass


class Term:
	"""One shell on a pty. expect() consumes output up to the end of a match."""

	def __init__(self, argv, env, cols=80, rows=24, argv0=None):
		self.buf = ''
		self.pos = 0
		self.raw = b''
		pid, fd = pty.fork()
		if pid == 0:
			try:
				fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
				av = list(argv)
				if argv0:
					av[0] = argv0
				os.execve(argv[0], av, env)
			finally:
				os._exit(127)
		self.pid, self.fd = pid, fd
		self.status = None

	def send(self, *keys):
		"""Type text; names in KEYS (e.g. 'C-c', 'up') are sent as their bytes."""
		for k in keys:
			s = KEYS.get(k, k)
			os.write(self.fd, s.encode())
			# Escape sequences must not be split from what follows by a read boundary,
			# yet a lone ESC (vi) must be seen alone: pause briefly after one.
			if s == '\x1b':
				time.sleep(0.15)

	def line(self, text):
		self.send(text, 'enter')

	def _read(self, timeout):
		r, _, _ = select.select([self.fd], [], [], timeout)
		if not r:
			return False
		try:
			data = os.read(self.fd, 65536)
		except OSError as e:
			if e.errno == errno.EIO:
				data = b''
			else:
				raise
		if not data:
			raise EOFError('shell closed the terminal')
		self.raw += data
		self.buf = _ESC.sub('', self.raw.decode('utf-8', 'replace'))
		return True

	def expect(self, pattern, timeout=20):
		"""Wait until pattern (a regex, MULTILINE) matches the output after the last match."""
		rx = re.compile(pattern, re.M)
		end = time.monotonic() + timeout
		while True:
			m = rx.search(self.buf, self.pos)
			if m:
				self.pos = m.end()
				return m
			left = end - time.monotonic()
			if left <= 0:
				raise Timeout(f'timed out waiting for {pattern!r}; output since last match:\n'
				              f'{self.buf[self.pos:]!r}; raw output: {self.raw[-600:]!r}')
			try:
				self._read(min(left, 0.5))
			except EOFError:
				m = rx.search(self.buf, self.pos)
				if m:
					self.pos = m.end()
					return m
				raise Timeout(f'shell ended waiting for {pattern!r}; output:\n{self.buf[self.pos:]!r}')

	def expect_not(self, pattern, wait):
		"""Fail if pattern shows up within `wait` seconds (used after a positive sync point)."""
		end = time.monotonic() + wait
		rx = re.compile(pattern, re.M)
		while time.monotonic() < end:
			try:
				self._read(0.1)
			except EOFError:
				break
			if rx.search(self.buf, self.pos):
				raise AssertionError(f'unexpected {pattern!r} in {self.buf[self.pos:]!r}')

	def resize(self, cols, rows):
		fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

	def wait_exit(self, timeout=8):
		end = time.monotonic() + timeout
		while time.monotonic() < end:
			try:
				self._read(0.1)
			except EOFError:
				pass
			pid, st = os.waitpid(self.pid, os.WNOHANG)
			if pid:
				self.status = os.waitstatus_to_exitcode(st)
				return self.status
		raise Timeout(f'shell did not exit; output:\n{self.buf[self.pos:]!r}; raw output: {self.raw[-600:]!r}')

	def close(self):
		if self.status is None:
			try:
				os.killpg(self.pid, signal.SIGKILL)
			except OSError:
				pass
			try:
				os.kill(self.pid, signal.SIGKILL)
				os.waitpid(self.pid, 0)
			except OSError:
				pass
		try:
			os.close(self.fd)
		except OSError:
			pass


class Env:
	"""A private HOME (and HISTFILE) per test; every shell started is killed at the end."""

	def __init__(self):
		self.shell = os.environ.get('PBKSH') or os.path.join(
			os.environ.get('PB_BUILD', 'build'), 'shell', 'pbksh')
		self.dir = tempfile.mkdtemp(prefix='pbksh-tty.')
		self.home = os.path.join(self.dir, 'home')
		os.mkdir(self.home)
		# slp: says "started" once it runs in the foreground, then sleeps; a key
		# sent after that message reaches it, never the shell.
		bindir = os.path.join(self.home, 'bin')
		os.mkdir(bindir)
		with open(os.path.join(bindir, 'slp'), 'w') as f:
			f.write('#!/bin/sh\necho started\nexec sleep "$@"\n')
		os.chmod(os.path.join(bindir, 'slp'), 0o755)
		self.terms = []

	def env(self, **extra):
		e = {
			'PATH': self.home + '/bin:/usr/local/bin:/usr/bin:/bin', 'HOME': self.home, 'TERM': 'xterm',
			'HISTFILE': os.path.join(self.home, 'hist'), 'PS1': 'P> ', 'PS2': 'C> ',
			'EDITOR': '', 'VISUAL': '', 'LANG': 'C.UTF-8', 'ENV': '',
		}
		e.update({k: v for k, v in extra.items() if v is not None})
		for k, v in extra.items():
			if v is None:
				e.pop(k, None)
		return e

	def start(self, args=(), argv0=None, cols=80, rows=24, prompt=r'P> ', shell=None, **extra):
		t = Term([shell or self.shell, *args], self.env(**extra), cols=cols, rows=rows, argv0=argv0)
		self.terms.append(t)
		if prompt:
			t.expect(prompt)
		return t

	def cleanup(self):
		for t in self.terms:
			t.close()
		shutil.rmtree(self.dir, ignore_errors=True)


def main(tests):
	"""Run the test named by argv[1] (all when none); exit 0 on success, 1 on failure."""
	names = sys.argv[1:] or list(tests)
	failed = 0
	for name in names:
		env = Env()
		try:
			tests[name](env)
			print(f'ok - {name}')
		except Exception as e:  # report every kind of failure as this test's
			failed += 1
			print(f'not ok - {name}: {type(e).__name__}: {e}')
		finally:
			env.cleanup()
	sys.exit(1 if failed else 0)
