#!/usr/bin/env python3
"""Logs in on a guest's hvc0 as a user at a terminal would, and powers it off.

Runs COMMAND (vmscope with --console tty, or QEMU with its virtconsole on
stdio) with stdin and stdout on a pty that is its controlling terminal, as a
shell would run it; then, on that terminal: waits for the login prompt, types
USER and PASSWORD, runs one command at the shell prompt, and types poweroff.
Keys end with a carriage return, as a terminal's Enter sends them; the guest's
line discipline turns it into a newline, which only works when the host's
terminal is in raw mode.

The command prints one line 'RESULT key=value ...' (the guest's own report);
this script prints those pairs, one 'key=value' a line, then 'vm_exit=N' with
COMMAND's exit status, for the caller to check.  Everything the guest printed
goes to TRANSCRIPT.

usage: linux_login.py TRANSCRIPT BOOT_TIMEOUT USER PASSWORD SHELL_COMMAND -- COMMAND...
Exit: 0 when the dialogue went through and COMMAND ended, 1 with one line saying
which step failed.
"""
import fcntl
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time

PROMPT = b"vmscope# "  # PS1 from the guest image's /etc/profile
STEP_TIMEOUT = 60      # seconds for each step after the login prompt
PASSWORD_DELAY = 1     # seconds
RESULT = rb"^RESULT((?: [a-z_]+=[\w/.:-]+)+)\r*\n"  # a whole line, however many CRs


def take_terminal():
    """In the child: a session of its own whose controlling terminal is stdin."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, argv, transcript):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.STDOUT,
                                     preexec_fn=take_terminal)
        os.close(slave)
        self.transcript = open(transcript, "wb")
        self.seen = b""  # output not yet matched by expect()

    def expect(self, pattern, timeout, step):
        """Reads until pattern (bytes regex) appears; returns the match."""
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            m = regex.search(self.seen)
            if m:
                self.seen = self.seen[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("%s: no %r within %d s" % (step, pattern.decode(), timeout))
            if not select.select([self.master], [], [], left)[0]:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the command has ended and closed the terminal
                data = b""
            if not data:
                raise Failure("%s: the command ended before %r" % (step, pattern.decode()))
            self.transcript.write(data)
            self.transcript.flush()
            self.seen += data

    def type(self, line):
        os.write(self.master, line.encode() + b"\r")

    def wait(self, timeout):
        """COMMAND's exit status; reads on meanwhile, so it never blocks on output."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if select.select([self.master], [], [], 0.1)[0]:
                try:
                    self.transcript.write(os.read(self.master, 4096))
                except OSError:
                    time.sleep(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            raise Failure("poweroff: the command did not end within %d s" % timeout)
        return self.proc.returncode


class Failure(Exception):
    pass


def dialogue(term, boot_timeout, user, password, command):
    term.expect(rb"login: $", boot_timeout, "boot")
    term.type(user)
    term.expect(rb"Password: $", STEP_TIMEOUT, "login")
    # login turns echo off only after printing its prompt: a password typed at
    # once, faster than any person types, would be echoed.
    time.sleep(PASSWORD_DELAY)
    term.type(password)
    term.expect(re.escape(PROMPT), STEP_TIMEOUT, "password")
    term.type(command)
    result = term.expect(RESULT, STEP_TIMEOUT, "command")
    term.expect(re.escape(PROMPT), STEP_TIMEOUT, "command")
    term.type("poweroff")
    return result.group(1).decode().split()


def main():
    args = sys.argv[1:]
    if len(args) < 7 or args[5] != "--":
        print("usage: linux_login.py TRANSCRIPT BOOT_TIMEOUT USER PASSWORD SHELL_COMMAND"
              " -- COMMAND...", file=sys.stderr)
        return 1
    transcript, boot_timeout, user, password, command = args[:5]
    term = Terminal(args[6:], transcript)
    try:
        pairs = dialogue(term, int(boot_timeout), user, password, command)
        status = term.wait(STEP_TIMEOUT)
    except Failure as e:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()
        print("FAIL: %s" % e)
        return 1
    for pair in pairs:
        print(pair)
    print("vm_exit=%d" % status)
    return 0


if __name__ == "__main__":
    sys.exit(main())
