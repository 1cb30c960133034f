#!/usr/bin/env python3
"""--console tty puts a terminal on stdin in raw mode while the guest reads it,
and every way out of vmscope gives the terminal its settings back.

vmscope runs the embedded test guest with stdin and stdout on a pty.  While
the guest is held before its first instruction (--vmi-wait), the pty must be
raw (no echo, no canonical mode, no signal characters: a Ctrl-C typed there
goes to the guest and vmscope keeps running); after vmscope ends, by SIGTERM,
SIGINT, the guest's power-off or an error, its settings must equal those from
before.  Where nothing reads stdin for the guest, or vmscope runs in the
background of the terminal, the terminal is left alone.

usage: console_raw_test.py VMSCOPE
Exit: 0 pass, 1 fail.
"""
import fcntl
import os
import pty
import re
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time

LFLAG, IFLAG = 3, 0  # indexes into tcgetattr's list


def is_raw(attrs):
    return not attrs[LFLAG] & (termios.ECHO | termios.ICANON | termios.ISIG | termios.IEXTEN) \
        and not attrs[IFLAG] & (termios.ICRNL | termios.IXON)


def wait_for(cond, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def take_terminal():
    """In the child: a new session whose controlling terminal is stdin, with
    vmscope in its foreground, as in a shell, so that a Ctrl-C typed on a
    terminal not in raw mode would really send SIGINT."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def case_file(workdir, name, suffix):
    return os.path.join(workdir, re.sub(r"\W+", "_", name) + suffix)


class Case:
    """One vmscope run on a fresh pty: its stdin and stdout are the pty's slave."""

    def __init__(self, vmscope, workdir, name, args):
        self.name = name
        self.failures = []
        self.master, self.slave = pty.openpty()
        self.before = termios.tcgetattr(self.slave)
        self.err = open(case_file(workdir, name, ".err"), "w+")
        self.proc = subprocess.Popen([vmscope] + args, stdin=self.slave, stdout=self.slave,
                                     stderr=self.err, preexec_fn=take_terminal)
        # Drain the master so that the guest's output never blocks vmscope.
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        try:
            while os.read(self.master, 4096):
                pass
        except OSError:
            pass

    def attrs(self):
        return termios.tcgetattr(self.slave)

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)

    def finish(self, want_status):
        try:
            status = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
            self.failures.append("vmscope did not end within 20 s")
        self.check(status == want_status, "exit status %d, want %d" % (status, want_status))
        self.check(self.attrs() == self.before, "the terminal's settings were not restored")
        os.close(self.slave)
        os.close(self.master)
        self.err.seek(0)
        stderr = self.err.read()
        self.err.close()
        if self.failures:
            print("FAIL: %s: %s" % (self.name, "; ".join(self.failures)))
            for line in stderr.splitlines()[-10:]:
                print("    vmscope: " + line)
            return False
        print("ok: %s" % self.name)
        return True


# The devices that read stdin for the guest, with the options that make each the reader.
READERS = {
    "console": ["--serial", "null", "--console", "tty"],
    "serial": ["--serial", "tty", "--console", "null"],
}
NO_READER = ["--serial", "null", "--console", "null"]


def held(vmscope, workdir, name, options):
    """vmscope with the guest held by --vmi-wait, so that it is surely still running."""
    return Case(vmscope, workdir, name,
                options + ["--vmi-socket", case_file(workdir, name, ".sock"), "--vmi-wait"])


def stopped_by_signal(vmscope, workdir, reader, sig):
    c = held(vmscope, workdir, "%s: raw until SIG%s" % (reader, sig.name[3:]), READERS[reader])
    c.check(wait_for(lambda: is_raw(c.attrs()), 5), "the terminal is not raw while vmscope runs")
    os.write(c.master, b"\x03")  # Ctrl-C: a byte for the guest, not a SIGINT
    time.sleep(0.3)
    c.check(c.proc.poll() is None, "a typed Ctrl-C stopped vmscope")
    c.proc.send_signal(sig)
    return c.finish(128 + sig)


def in_background(vmscope, workdir, reader):
    """Started with & from a shell with job control, as a user would: vmscope is
    not in the terminal's foreground, so it leaves the terminal alone instead of
    being stopped (SIGTTOU, SIGTTIN), and the guest runs to its power-off."""
    script = 'set -m; "$0" "$@" & wait $!'
    c = Case("/bin/bash", workdir, "%s: in the background, the terminal left alone" % reader,
             ["-c", script, vmscope] + READERS[reader])
    return c.finish(0)


def left_alone(vmscope, workdir):
    c = held(vmscope, workdir, "no reader, no raw mode", NO_READER)
    c.check(wait_for(lambda: os.path.exists(case_file(workdir, c.name, ".sock")), 5),
            "vmscope did not start")
    time.sleep(0.2)  # devices are set up after the socket appears
    c.check(c.attrs() == c.before, "the terminal changed though nothing reads it")
    c.proc.send_signal(signal.SIGTERM)
    return c.finish(128 + signal.SIGTERM)


def main():
    if len(sys.argv) != 2:
        print("usage: %s VMSCOPE" % sys.argv[0], file=sys.stderr)
        return 1
    vmscope = sys.argv[1]
    results = []
    with tempfile.TemporaryDirectory() as workdir:
        garbage = os.path.join(workdir, "not-a-kernel")
        with open(garbage, "wb") as f:
            f.write(b"\x7f" * 4096)
        for reader, options in READERS.items():
            results += [
                stopped_by_signal(vmscope, workdir, reader, signal.SIGTERM),
                stopped_by_signal(vmscope, workdir, reader, signal.SIGINT),
                # The test guest powers off by itself.
                Case(vmscope, workdir, "%s: restored after the guest's power-off" % reader,
                     options).finish(0),
                # The kernel is refused after the devices, the reader among them, are set up.
                Case(vmscope, workdir, "%s: restored after an error" % reader,
                     options + ["--kernel", garbage]).finish(2),
                in_background(vmscope, workdir, reader),
            ]
        results.append(left_alone(vmscope, workdir))
    failed = results.count(False)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
