#!/usr/bin/env python3
"""Makes the real-Linux memory dumps the 'linux' test suite reads.

    make_dump.py OUTDIR [PACKAGE]

Boots Debian's kernel (from tests/integration/make_linux_fixtures.sh: the
bzImage copied from /boot and the vmlinux ELF extracted from it) with a busybox
initramfs under QEMU in software mode, four times:

    OUTDIR/nokaslr.core      booted from vmlinux, "nokaslr" (-M microvm)
    OUTDIR/kaslr.core        booted from bzImage, KASLR on (-M microvm)
    OUTDIR/la57.core         booted from bzImage, KASLR on, -M q35 -cpu max:
                             a PC with 5-level paging (LA57)
    OUTDIR/q35.core          booted from bzImage, KASLR on, -M q35 -cpu
                             max,la57=off: the same PC with 4-level paging
    OUTDIR/<mode>.console    everything the guest printed on its serial port

The guest's /init loads two small modules, starts processes with known names
(copies of busybox run as `sleep`, one of them as uid 1000), then prints what
it sees about itself between VMSCOPE-... markers: its process list read from
/proc/<pid>/stat and status, /proc/modules, a few /proc/kallsyms lines and
/proc/cmdline; then it prints VMSCOPE-READY and blocks in a shell builtin (no
new process).  This script then takes the dump with QMP dump-guest-memory (an
ELF core with CPU state notes) and stops QEMU.

With PACKAGE (a Debian kernel package such as linux-image-6.12-amd64 or
linux-image-cloud-amd64), that kernel is booted instead of the installed one:
make_linux_fixtures.sh downloads and unpacks it, and its modules come from it.

Outputs are cached: nothing is redone when they are newer than this script
and the kernel.  Exits 77 (meson's "skipped") when QEMU is missing.
"""
import fcntl
import gzip
import json
import lzma
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "integration", "make_linux_fixtures.sh")
QEMU = shutil.which("qemu-system-x86_64")
MODULES = ["crc7", "crc-itu-t"]     # small, no dependencies, in every flavour
SLEEPERS = [("vmscope-sleepA", 0), ("vmscope-sleepB", 0), ("vmscope-user", 1000)]
MEM = "256M"
# tsc_early_khz: under TCG the PIT calibration of the TSC sometimes fails and the
# boot then hangs; a fixed frequency avoids it.  The rest keeps TCG happy too.
BASE_CMDLINE = ("console=ttyS0 panic=-1 loglevel=7 printk.time=1 tsc_early_khz=2000000 "
                "noxsave clearcpuid=cx16,xsave,avx,avx2,avx512f nosmap nosmep")

INIT = r"""#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in @MODULES@; do insmod /lib/modules/$m.ko; done
@SLEEPERS@
sleep 1
# Keep late kernel messages off the console while the report is printed.
echo 1 > /proc/sys/kernel/printk
echo "VMSCOPE-CMDLINE $(cat /proc/cmdline)"
echo VMSCOPE-KALLSYMS-BEGIN
grep -E ' (_text|_stext|init_task|sys_call_table|modules|prb|linux_banner|entry_SYSCALL_64)$' /proc/kallsyms
echo VMSCOPE-KALLSYMS-END
echo VMSCOPE-MODULES-BEGIN
cat /proc/modules
echo VMSCOPE-MODULES-END
# Only shell builtins from here on: no process appears or goes away.
echo VMSCOPE-PS-BEGIN
for d in /proc/[0-9]*; do
	read -r line < $d/stat || continue
	pid=${line%% *}
	rest=${line#*\(}
	comm=${rest%\)*}
	after=${rest##*\) }
	state=${after%% *}
	after=${after#* }
	ppid=${after%% *}
	uid=-
	while read -r k a b c d; do
		if [ "$k" = "Uid:" ]; then uid="$a $b $c $d"; break; fi
	done < $d/status
	echo "PS $pid $ppid $state $uid $comm"
done
echo VMSCOPE-PS-END
echo VMSCOPE-READY
while :; do read -r x; done
"""


def log(msg):
    print("make_dump: " + msg, flush=True)


def newc(name, mode, data=b"", ino=0, rdev=(0, 0), nlink=1):
    n = len(name) + 1
    hdr = "070701" + "".join("%08X" % v for v in (
        ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], n, 0))
    out = hdr.encode() + name.encode() + b"\0"
    out += b"\0" * ((4 - len(out) % 4) % 4)
    out += data
    out += b"\0" * ((4 - len(out) % 4) % 4)
    return out


def module_bytes(modroot, kver, name):
    """name.ko of that kernel (decompressed: busybox insmod takes it as it is)."""
    for root, _, files in os.walk(os.path.join(modroot, "lib/modules", kver, "kernel")):
        for f in (name + ".ko", name + ".ko.xz"):
            if f in files:
                data = open(os.path.join(root, f), "rb").read()
                return lzma.decompress(data) if f.endswith(".xz") else data
    sys.exit("make_dump: module %s.ko not found for %s" % (name, kver))


def build_initramfs(dst, modroot, kver):
    busybox = open("/bin/busybox", "rb").read()
    sleepers = []
    for name, uid in SLEEPERS:
        run = "exec -a sleep /bin/%s 100000" % name
        if uid:
            sleepers.append("su vmuser -c '%s' &" % run)
        else:
            sleepers.append("sh -c '%s' &" % run)
    init = (INIT.replace("@MODULES@", " ".join(MODULES))
            .replace("@SLEEPERS@", "\n".join(sleepers)))
    ents = []
    ino = [100]

    def add(name, mode, data=b"", rdev=(0, 0)):
        ino[0] += 1
        ents.append(newc(name, mode, data, ino[0], rdev))

    for d in ("bin", "dev", "proc", "sys", "etc", "lib", "lib/modules", "tmp"):
        add(d, 0o40755)
    add("bin/busybox", 0o100755, busybox)
    for app in ("sh", "echo", "mount", "cat", "grep", "insmod", "sleep", "su",
                "poweroff", "ps", "lsmod", "dmesg"):
        add("bin/" + app, 0o120777, b"busybox")
    for name, _ in SLEEPERS:
        add("bin/" + name, 0o100755, busybox)
    add("etc/passwd", 0o100644,
        b"root:x:0:0:root:/:/bin/sh\nvmuser:x:1000:1000::/:/bin/sh\n")
    add("etc/group", 0o100644, b"root:x:0:\nvmuser:x:1000:\n")
    for m in MODULES:
        add("lib/modules/%s.ko" % m, 0o100644, module_bytes(modroot, kver, m))
    add("init", 0o100755, init.encode())
    add("dev/console", 0o20600, rdev=(5, 1))
    ents.append(newc("TRAILER!!!", 0, ino=0, nlink=1))
    with open(dst + ".tmp", "wb") as f:
        f.write(gzip.compress(b"".join(ents), compresslevel=6, mtime=0))
    os.replace(dst + ".tmp", dst)


class Qmp:
    def __init__(self, path, deadline):
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.f = self.s.makefile("rwb")
        self.read()  # greeting
        self.cmd("qmp_capabilities")

    def read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("QMP connection closed")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        self.f.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
        self.f.flush()
        r = self.read()
        if "error" in r:
            raise RuntimeError("QMP %s: %s" % (name, r["error"]))
        return r["return"]


def boot_and_dump(out, mode, kernel, initrd, cmdline, machine):
    core = os.path.join(out, mode + ".core")
    console = os.path.join(out, mode + ".console")
    tmp = tempfile.mkdtemp(prefix="vmscope-dump-")
    qmp_path = os.path.join(tmp, "qmp")
    log_path = os.path.join(tmp, "console")
    args = [QEMU, "-accel", "tcg"] + machine + ["-m", MEM, "-smp", "1",
            "-nodefaults", "-no-user-config", "-display", "none",
            "-serial", "file:" + log_path,
            "-qmp", "unix:%s,server=on,wait=off" % qmp_path,
            "-kernel", kernel, "-initrd", initrd, "-append", cmdline]
    t0 = time.time()
    q = subprocess.Popen(args, stdin=subprocess.DEVNULL)
    try:
        deadline = t0 + 60
        qmp = Qmp(qmp_path, deadline)
        while True:
            if q.poll() is not None:
                raise RuntimeError("QEMU exited (%d) before VMSCOPE-READY" % q.returncode)
            try:
                text = open(log_path, "rb").read()
            except OSError:
                text = b""
            if b"VMSCOPE-READY" in text:
                break
            if time.time() > deadline:
                raise RuntimeError("no VMSCOPE-READY within 60 s")
            time.sleep(0.1)
        t1 = time.time()
        qmp.cmd("stop")
        qmp.cmd("dump-guest-memory", paging=False, protocol="file:" + core + ".tmp")
        qmp.cmd("quit")
        q.wait(30)
        shutil.copy(log_path, console + ".tmp")
        os.replace(console + ".tmp", console)
        os.replace(core + ".tmp", core)
        log("%s: booted in %.1f s, dumped %d bytes to %s" %
            (mode, t1 - t0, os.path.getsize(core), core))
    finally:
        if q.poll() is None:
            q.kill()
            q.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: make_dump.py OUTDIR [PACKAGE]")
    if not QEMU:
        print("make_dump: qemu-system-x86_64 not found", file=sys.stderr)
        sys.exit(77)
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    # Tests run in parallel: one makes the dumps, the others wait for it.
    lock = open(os.path.join(out, ".lock"), "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    fix = os.path.join(out, "fixtures")
    subprocess.run(["sh", FIXTURES, fix] + sys.argv[2:], check=True, stdout=subprocess.DEVNULL)
    modroot = os.path.join(fix, "pkg") if len(sys.argv) == 3 else "/"
    kver = None
    for k in sorted(os.listdir(os.path.join(modroot, "boot"))):
        if k.startswith("vmlinuz-"):
            kver = k[len("vmlinuz-"):]
    bz = os.path.join(fix, "bzImage")
    vmlinux = os.path.join(fix, "vmlinux")
    initrd = os.path.join(out, "initramfs.cpio.gz")
    stamp = os.path.join(out, "dumps.stamp")
    me = os.path.abspath(__file__)
    newest_input = max(os.path.getmtime(p) for p in (me, bz, vmlinux))
    if os.path.exists(stamp) and os.path.getmtime(stamp) >= newest_input and all(
            os.path.exists(os.path.join(out, f)) for f in
            [m + ext for m in ("nokaslr", "kaslr", "la57", "q35") for ext in (".core", ".console")]):
        log("cached in " + out)
        return
    build_initramfs(initrd, modroot, kver)
    # TCG timing is loose: one retry when a boot does not reach /init.
    microvm, q35 = ["-M", "microvm"], ["-M", "q35", "-cpu"]
    for mode, kernel, cmdline, machine in (("nokaslr", vmlinux, BASE_CMDLINE + " nokaslr", microvm),
                                           ("kaslr", bz, BASE_CMDLINE, microvm),
                                           ("la57", bz, BASE_CMDLINE, q35 + ["max"]),
                                           ("q35", bz, BASE_CMDLINE, q35 + ["max,la57=off"])):
        try:
            boot_and_dump(out, mode, kernel, initrd, cmdline, machine)
        except RuntimeError as e:
            log("%s: %s; trying once more" % (mode, e))
            boot_and_dump(out, mode, kernel, initrd, cmdline, machine)
    open(stamp, "w").write("ok\n")


if __name__ == "__main__":
    main()
