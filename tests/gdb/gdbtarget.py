"""Starting a GDB target (vmscope's stub or QEMU's gdbstub) on the test guest,
and running Debian's gdb against it in batch mode.  Shared by gdb_test.py and
bench/bench_gdb.py."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

QEMU = shutil.which("qemu-system-x86_64")
GDB = shutil.which("gdb")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Target:
    """One guest waiting for GDB at its first instruction."""

    def __init__(self, kind, vmscope, elf, cpus=1, wait=True, tcp=False, extra=()):
        self.kind = kind
        self.elf = elf
        self.wait = wait
        self.tmp = tempfile.mkdtemp(prefix="vmscope-gdb-")
        self.serial = os.path.join(self.tmp, "serial")
        self.log = os.path.join(self.tmp, "log")
        logf = open(self.log, "w")
        if kind == "vmscope":
            if tcp:
                self.port = free_port()
                spec = "tcp=127.0.0.1:%d" % self.port
                self.remote = "127.0.0.1:%d" % self.port
            else:
                self.sock = os.path.join(self.tmp, "gdb.sock")
                spec = "path=" + self.sock
                self.remote = self.sock
            if not wait:
                spec += ",wait=off"
            cmd = [vmscope, "--cpus", "boot=%d" % cpus, "--memory", "size=2G", "--serial", "file=" + self.serial,
                   "--gdb", spec] + [a.replace("{tmp}", self.tmp) for a in extra]
        else:
            self.port = free_port()
            self.remote = "127.0.0.1:%d" % self.port
            cmd = [QEMU, "-M", "microvm,x-option-roms=off,rtc=off", "-accel", "tcg",
                   "-nodefaults", "-no-user-config", "-display", "none", "-m", "2G",
                   "-smp", str(cpus), "-serial", "file:" + self.serial,
                   "-device", "isa-debug-exit,iobase=0x501,iosize=4",
                   "-kernel", elf, "-gdb", "tcp:127.0.0.1:%d" % self.port]
            if wait:
                cmd.append("-S")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        self._wait_listening()

    def _wait_listening(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                if not self.wait:
                    return  # wait=off: the guest may well be done already
                raise RuntimeError("%s exited early: %s" % (self.kind, self.log_text()))
            try:
                if self.remote.startswith("/"):
                    s = socket.socket(socket.AF_UNIX)
                    # Do not connect (it would count as GDB attaching): the socket file is enough.
                    if os.path.exists(self.remote):
                        return
                    time.sleep(0.02)
                    continue
                host, port = self.remote.rsplit(":", 1)
                s = socket.socket()
                s.settimeout(0.2)
                # A probe connect to QEMU or vmscope is harmless only for QEMU; for
                # vmscope the port is bound before its thread runs, so just wait a bit.
                if self.kind == "vmscope":
                    time.sleep(0.2)
                    return
                s.connect((host, int(port)))
                s.close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("%s did not start listening" % self.kind)

    def finish(self, timeout=60):
        """Waits for the guest to end; returns the guest's own exit code (0 = all good)."""
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        if self.kind == "qemu":
            # isa-debug-exit: (code << 1) | 1
            return (rc - 1) // 2 if rc & 1 else -rc
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def serial_text(self):
        try:
            with open(self.serial, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def gdb_args(target, commands):
    args = [GDB, "-batch", "-nx", "-q", "-ex", "set confirm off",
            "-ex", "set pagination off", target.elf,
            "-ex", "target remote " + target.remote]
    for c in commands:
        args += ["-ex", c]
    return args


def run_gdb(target, commands, timeout=90, interrupt_after=None):
    """Runs gdb -batch; with interrupt_after=(text, seconds), sends SIGINT
    (GDB's Ctrl-C) that long after text first appears in its output (text
    None: after gdb starts; gdb's output to a pipe is block-buffered)."""
    p = subprocess.Popen(gdb_args(target, commands), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=interrupt_after is None, start_new_session=True)
    if interrupt_after is None:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            out += "\n[gdb timed out]"
        return out
    text, delay = interrupt_after
    out = ""
    os.set_blocking(p.stdout.fileno(), False)
    deadline = time.time() + timeout
    sent_at = None
    seen_at = None
    while p.poll() is None and time.time() < deadline:
        try:
            chunk = os.read(p.stdout.fileno(), 65536)
        except BlockingIOError:
            chunk = b""
        if chunk:
            out += chunk.decode(errors="replace")
        if seen_at is None and (text is None or text in out):
            seen_at = time.time()
        if seen_at is not None and sent_at is None and time.time() - seen_at >= delay:
            p.send_signal(signal.SIGINT)
            sent_at = time.time()
        time.sleep(0.02)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
        out += "\n[gdb timed out]"
    p.wait()
    os.set_blocking(p.stdout.fileno(), True)
    rest = p.stdout.read()
    if rest:
        out += rest.decode(errors="replace")
    return out


def symbol(elf, name):
    out = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^([0-9a-f]+) \w %s$" % re.escape(name), out, re.M)
    return int(m.group(1), 16) if m else None
