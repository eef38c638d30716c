#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
# pbksh driven through a pseudo-terminal: editing in both modes, history, completion, job control, resize, startup files.
"""tty_tests.py [NAME...]: run the named tests (all by default), one line `ok`/`not ok` each."""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from term import Env, main  # noqa: E402

P = r'P> '


def run(t, cmd, out=None):
	"""Type a command, wait for its output (a regex for a line) and the next prompt."""
	# Without output of its own, a marker is printed: a prompt seen before any output
	# could be libedit redrawing the line being typed, not the next prompt.
	if out is None:
		cmd += '; echo "=$((6*7))="'
		out = r'^=42=$'
	t.line(cmd)
	m = t.expect(out)
	t.expect(P)
	return m


def emacs_edit(env):
	t = env.start()
	run(t, 'set -o', r'^emacs +on$')
	# Left arrow, insert; ^A/^E; ^U kills the line; ^K the rest.
	t.send('echo ab', 'left', 'X', 'enter')
	t.expect(r'^aXb$')
	t.expect(P)
	t.send('echo yz', 'C-a', 'C-f', 'C-f', 'C-f', 'C-f', 'C-f', 'C-f', 'W', 'C-e', '!', 'enter')
	t.expect(r'^yWz!$')
	t.expect(P)
	# ESC DEL and ^W rub out the word before the cursor (as in mksh).
	t.send('echo $((1+1))kept gone', '\x1b\x7f', 'enter')
	t.expect(r'^2kept$')
	t.expect(P)
	t.send('echo $((2+2))new gone', 'C-w', 'enter')
	t.expect(r'^4new$')
	t.expect(P)
	t.send('echo nothing', 'C-u', 'echo fresh', 'enter')
	t.expect(r'^fresh$')
	t.expect(P)
	t.send('echo cut tail', 'C-a', 'C-f', 'C-f', 'C-f', 'C-f', 'C-f', 'C-f', 'C-f', 'C-f', 'C-k', 'enter')
	t.expect(r'^cut$')
	t.expect(P)
	# History: up recalls the previous line, which can be edited; ^P twice goes further back.
	t.send('up', ' more', 'enter')
	t.expect(r'^cut more$')
	t.expect(P)
	t.send('C-p', 'C-p', 'enter')
	t.expect(r'^cut$')
	t.expect(P)


def vi_edit(env):
	t = env.start()
	run(t, 'set -o vi; set -o | grep -E "^(vi|emacs) "', r'^vi +on$')
	# Insert mode, ESC to command mode, move left, insert before the cursor.
	t.send('echo abc', 'esc', 'h', 'iX', 'enter')
	t.expect(r'^aXbc$')
	t.expect(P)
	# Command mode: 0 (start), w (next word), cw (change word), A (append at end).
	t.send('echo one two', 'esc', '0', 'w', 'cwuno', 'esc', 'A!', 'enter')
	t.expect(r'^uno two!$')
	t.expect(P)
	# History in vi mode: ESC k recalls, x deletes the character under the cursor.
	t.send('esc', 'k', '$', 'x', 'enter')
	t.expect(r'^uno two$')
	t.expect(P)
	# TAB completes in insert mode.
	run(t, 'vifunc_abc() { echo vi-$((2+3)); }', None)
	t.send('vifunc_a', 'tab', 'enter')
	t.expect(r'^vi-5$')
	t.expect(P)
	# Back to emacs through set +o vi / set -o emacs.
	run(t, 'set -o emacs', None)
	t.send('echo em', 'C-a', 'C-e', 'acs', 'enter')
	t.expect(r'^emacs$')
	t.expect(P)
	# VISUAL=vi at start chooses vi mode.
	t2 = env.start(VISUAL='/usr/bin/vi')
	run(t2, 'set -o | grep -E "^vi "', r'^vi +on$')


def multiline_prompts(env):
	t = env.start(PS1='[!]$(echo sub)${V}!!> ', V='val', prompt=r'\[1\]subval!> ')
	t.line('for i in 1 2')
	t.expect(r'C> ')
	t.line('do echo x$i; done')
	t.expect(r'^x1$')
	t.expect(r'^x2$')
	t.expect(r'\[2\]subval!> ')
	t.line('V=new')
	t.expect(r'\[3\]subnew!> ')
	# The multi-line command is one history entry, as typed.
	t.line('fc -l 1 1')
	t.expect(r'^1\tfor i in 1 2\n\tdo echo x\$i; done$')


def history_file(env):
	hist = os.path.join(env.home, 'hist')
	t = env.start()
	run(t, 'echo first-$((40+2))', r'^first-42$')
	run(t, 'echo "two\nlines"', r'^lines"?$')
	t.line('exit')
	t.wait_exit()
	with open(hist) as f:
		text = f.read()
	assert 'echo first-$((40+2))\n' in text, text
	assert 'echo "two\n\tlines"\n' in text, text
	# A second session reads it: fc -l lists it, the up arrow recalls it.
	t = env.start()
	run(t, 'fc -l', r'^\d+\techo first-\$\(\(40\+2\)\)$')
	# Newest first: fc -l, then the first session's exit, the two-line echo, echo first.
	t.send('up', 'up', 'up', 'up', 'enter')
	t.expect(r'^first-42$')
	t.expect(P)
	# Two live sessions append to the same file; both commands end up in it, whole.
	a = env.start()
	b = env.start()
	for i in range(5):
		run(a, f'echo a-{i}', rf'^a-{i}$')
		run(b, f'echo b-{i}', rf'^b-{i}$')
	with open(hist) as f:
		lines = f.read().splitlines()
	for i in range(5):
		assert f'echo a-{i}' in lines and f'echo b-{i}' in lines, lines
	# Without HISTFILE the history goes to ~/.sh_history; HISTFILE= keeps none.
	d = env.start(HISTFILE=None)
	run(d, 'echo default-file', r'^default-file$')
	with open(os.path.join(env.home, '.sh_history')) as f:
		assert 'echo default-file\n' in f.read()
	e = env.start(HISTFILE='')
	run(e, 'echo no-file', r'^no-file$')
	with open(os.path.join(env.home, '.sh_history')) as f:
		assert 'no-file' not in f.read()
	# HISTSIZE bounds what a new session keeps.
	c = env.start(HISTSIZE='3')
	c.line('fc -l 1 99')
	m = c.expect(r'((?:^\d+\t.*\n)+)P> ')
	assert len(m.group(1).splitlines()) == 3, m.group(1)


def fc_and_r(env):
	t = env.start()
	run(t, 'echo foo', r'^foo$')
	run(t, 'r foo=bar', r'^bar$')
	run(t, 'fc -s bar=baz echo', r'^baz$')
	run(t, 'fc -e - baz=qux', r'^qux$')
	t.line('fc -l -4')
	t.expect(r'^\d+\techo bar$')
	t.expect(r'^\d+\techo baz$')
	t.expect(P)
	# fc -e with an editor: the edited text runs.
	run(t, 'fc -e "sed -i s/qux/edited/" echo', r'^edited$')


def completion(env):
	os.mkdir(os.path.join(env.home, 'alpine'))
	open(os.path.join(env.home, 'alpha file'), 'w').close()
	open(os.path.join(env.home, 'alpine', 'inner.txt'), 'w').close()
	t = env.start()
	run(t, 'cd "$HOME"; myfunc_xyz() { echo called-$1; }; MYVAR_ABC=42; alias myal_q="echo aliased"', None)
	# A function, an alias, a builtin and a PATH program in command position.
	t.send('myfunc_x', 'tab', 'arg', 'enter')
	t.expect(r'^called-arg$')
	t.expect(P)
	t.send('myal_', 'tab', 'enter')
	t.expect(r'^aliased$')
	t.expect(P)
	t.send('typese', 'tab', '-p MYVAR_ABC >/dev/null; echo built', 'enter')
	t.expect(r'^built$')
	t.expect(P)
	t.send('printen', 'tab', 'MYVAR_ABC; echo path-ok', 'enter')
	t.expect(r'^path-ok$')
	t.expect(P)
	# A variable.
	t.send('echo $MYVAR_A', 'tab', 'enter')
	t.expect(r'^42$')
	t.expect(P)
	# Files: the common prefix first, then the list, then a unique one (quoted).
	t.send('echo al', 'tab')
	t.expect(r'alp')
	t.send('tab')
	t.expect(r'alpha file +alpine/')
	t.send('h', 'tab', 'enter')
	t.expect(r'^alpha file$')
	t.expect(P)
	t.send('ls alpi', 'tab', 'inn', 'tab', 'enter')
	t.expect(r'^alpine/inner\.txt$')
	t.expect(P)


def ctrl_c(env):
	t = env.start()
	t.line('slp 30')
	t.expect(r'^started$')
	t0 = time.monotonic()
	t.send('C-c')
	t.expect(P)
	assert time.monotonic() - t0 < 5
	run(t, 'echo st=$?', r'^st=130$')
	# ^C on a half-typed line drops it; the shell is still there.
	t.send('echo never')
	t.send('C-c')
	t.expect(P)
	run(t, 'echo alive', r'^alive$')
	t.expect_not(r'^never$', 0.3)
	# ^C at the PS2 prompt abandons the whole command.
	t.line('for i in 1 2')
	t.expect(r'C> ')
	t.send('C-c')
	t.expect(P)
	run(t, 'echo fresh-$((3*3))', r'^fresh-9$')
	# A loop of programs stops as a whole.
	t.line('while :; do slp 1; done')
	t.expect(r'^started$')
	t.send('C-c')
	t.expect(P)
	run(t, 'echo still-here', r'^still-here$')


def job_control(env):
	t = env.start()
	t.line('slp 30')
	t.expect(r'^started$')
	t.send('C-z')
	t.expect(r'\[1\]\+ +Stopped +slp 30')
	t.expect(P)
	run(t, 'jobs -l', r'^\[1\]\+ \d+ Stopped +slp 30$')
	pid = run(t, 'jobs -p', r'^(\d+)$').group(1)
	run(t, 'ps -o stat= -p ' + pid, r'^T')
	t.line('fg %1')
	t.expect(r'^slp 30$')
	t.send('C-z')
	t.expect(r'Stopped')
	t.expect(P)
	run(t, 'bg %sl', r'^\[1\] slp 30$')
	run(t, 'ps -o stat= -p ' + pid, r'^S')
	run(t, 'sleep 31 &', r'^\[2\] \d+$')
	run(t, 'jobs', r'^\[2\]\+ +Running +sleep 31$')
	run(t, 'kill %?31; wait %2; echo w=$?', r'^w=143$')
	run(t, 'kill %-', None)
	# A finished background job is reported before the next prompt.
	run(t, 'sleep 0.1 &', r'^\[\d\] \d+$')
	t.line('sleep 1')
	t.expect(r'^\[\d\][+-]? +Done +sleep 0\.1$')
	t.expect(P)
	# A stopped pipeline comes back as a whole; ^C then ends all of it.
	t.line('slp 30 | cat')
	t.expect(r'^started$')
	t.send('C-z')
	t.expect(r'Stopped +slp 30 \| cat')
	t.expect(P)
	t.line('fg')
	t.expect(r'^slp 30 \| cat$')
	t.send('C-c')
	t.expect(P)
	run(t, 'echo st=$?', r'^st=130$')
	# kill continues a stopped job so that it sees the signal.
	t.line('slp 33')
	t.expect(r'^started$')
	t.send('C-z')
	t.expect(r'Stopped +slp 33')
	t.expect(P)
	run(t, 'kill %?33; wait %?33; echo k=$?', r'^k=143$')
	# exit with a stopped job warns once, then leaves.
	t.line('slp 32')
	t.expect(r'^started$')
	t.send('C-z')
	t.expect(r'Stopped')
	t.expect(P)
	t.line('exit')
	t.expect(r'You have stopped jobs\.')
	t.expect(P)
	t.line('exit 3')
	assert t.wait_exit() == 3


def resize(env):
	t = env.start(cols=80, rows=24)
	run(t, 'echo $COLUMNS x $LINES', r'^80 x 24$')
	# A resize while a line is being typed: the line survives, the size is seen.
	t.send('echo $COLU')
	t.resize(100, 30)
	t.send('MNS x $LINES', 'enter')
	t.expect(r'^100 x 30$')
	t.expect(P)
	# A program started from the shell sees the new size too.
	t.resize(132, 40)
	run(t, 'stty size', r'^40 132$')
	run(t, 'echo $COLUMNS', r'^132$')


def login_and_env(env):
	with open(os.path.join(env.home, '.profile'), 'w') as f:
		f.write('FROM_PROFILE=yes; export ENV="$HOME/envfile"; PS1="P> "\n')
	with open(os.path.join(env.home, 'envfile'), 'w') as f:
		f.write('FROM_ENV=${FROM_PROFILE}-env\n')
	t = env.start(['-l'])
	run(t, 'echo $FROM_PROFILE $FROM_ENV', r'^yes yes-env$')
	t2 = env.start(argv0='-pbksh')
	run(t2, 'echo $FROM_PROFILE $FROM_ENV', r'^yes yes-env$')
	# Not a login shell: no .profile; ENV is parameter-expanded.
	# A login shell running -c reads the profile too (as mksh, bash and dash do); ENV is for interactive shells.
	r = subprocess.run([env.shell, '-l', '-c', 'echo "$FROM_PROFILE:$FROM_ENV"'], capture_output=True,
	                   text=True, env=env.env(), timeout=10)
	assert r.stdout == 'yes:\n', r
	t3 = env.start(ENV='$HOME/envfile', FROM_PROFILE='given')
	run(t3, 'echo ${FROM_PROFILE} ${FROM_ENV}', r'^given given-env$')


def ignoreeof(env):
	t = env.start()
	run(t, 'set -o ignoreeof', None)
	t.send('C-d')
	t.expect(r"Use 'exit' to leave the shell\.")
	t.expect(P)
	run(t, 'echo alive', r'^alive$')
	run(t, 'set +o ignoreeof', None)
	t.send('C-d')
	assert t.wait_exit() == 0
	# pbsh -i on a terminal (no line editor) honours it too.
	pbsh = os.environ.get('PBSH') or os.path.join(os.path.dirname(env.shell), 'pbsh')
	t = env.start(['-i'], shell=pbsh)
	run(t, 'set -o ignoreeof', None)
	t.send('C-d')
	t.expect(r"Use 'exit' to leave the shell\.")
	t.expect(P)
	run(t, 'echo alive', r'^alive$')
	run(t, 'set +o ignoreeof', None)
	t.send('C-d')
	assert t.wait_exit() == 0


def not_a_tty(env):
	# -i on a pipe: one prompt per command (not per byte), output as pbsh's.
	r = subprocess.run([env.shell, '-i'], input='echo hi\necho there\n', capture_output=True,
	                   text=True, env=env.env(PS1='P>'), timeout=10)
	assert r.stdout == 'hi\nthere\n', r
	assert r.stderr.count('P>') == 3, r.stderr
	# -c and scripts behave like pbsh: no prompt, no history file.
	r = subprocess.run([env.shell, '-c', 'echo $0; set -o | grep -c "^emacs *on"'], capture_output=True,
	                   text=True, env=env.env(), timeout=10)
	assert r.stdout.splitlines()[1] == '0', r
	assert not os.path.exists(os.path.join(env.home, 'hist'))


TESTS = {f.__name__: f for f in (emacs_edit, vi_edit, multiline_prompts, history_file, fc_and_r,
                                  completion, ctrl_c, job_control, resize, login_and_env, ignoreeof,
                                  not_a_tty)}

if __name__ == '__main__':
	main(TESTS)
