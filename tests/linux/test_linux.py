#!/usr/bin/env python3
"""The 'linux' suite: vmscope's Linux views on real Linux memory dumps.

    test_linux.py DUMPDIR TOOL LIB CHECK [PACKAGE]

DUMPDIR is made (once, cached) by make_dump.py: Debian's kernel (the
installed one, or the kernel package PACKAGE, such as linux-image-6.12-amd64) booted under
QEMU TCG from the vmlinux with nokaslr and from the bzImage with KASLR on
(microvm), and from the bzImage on a q35 PC with 5-level paging (la57) and
with 4-level paging (q35), each
guest having printed on its console what it sees about itself (its
/proc process list, /proc/modules, a few /proc/kallsyms lines).  TOOL is
vmscope-ctl, LIB libvmscope.so (for the Python binding).  The tool is given
the dump and nothing else (except in the vmlinux check: the vmlinux file);
the raw check gives it the same memory as a raw image, with no CPU state.
Exits 77 when QEMU is missing.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ("nokaslr", "kaslr", "la57", "q35")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def console(dump, mode):
    """The guest's own view of itself, from its serial console."""
    text = open(os.path.join(dump, mode + ".console"), "rb").read().decode(errors="replace")
    text = text.replace("\r", "")
    sect = {}
    for name in ("KALLSYMS", "MODULES", "PS"):
        m = re.search(r"^VMSCOPE-%s-BEGIN\n(.*?)^VMSCOPE-%s-END$" % (name, name), text,
                      re.S | re.M)
        if not m:
            fail("%s console has no %s section" % (mode, name))
        # a kernel message printed meanwhile may sit between the lines
        sect[name] = [l for l in m.group(1).split("\n")
                      if l and not re.match(r"^\[ *\d+\.\d{6}\] ", l)]
    ps = {}
    for line in sect["PS"]:
        f = line.split(" ", 9)   # PS pid ppid state uid euid suid fsuid name
        ps[int(f[1])] = dict(ppid=int(f[2]), state=f[3], uid=int(f[4]), euid=int(f[5]),
                             suid=int(f[6]), fsuid=int(f[7]), name=f[8])
    syms = {l.split()[2]: int(l.split()[0], 16) for l in sect["KALLSYMS"]}
    return dict(text=text, ps=ps, modules=sect["MODULES"], syms=syms)


def tool(args, *extra):
    cmd = [args.tool, args.kind, args.core] + list(extra)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if r.returncode:
        fail("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr.decode()))
    return r.stdout.decode()


def stable_name(name):
    """A kworker's name ends in the workqueue it last ran ("kworker/0:1-events"),
    which moves between the guest's own listing and the dump: compare the rest."""
    return name.split("-", 1)[0] if name.startswith("kworker/") else name


def check_ps(args, guest):
    tasks = json.loads(tool(args, "--json", "ps"))
    mine = {t["pid"]: t for t in tasks}
    if sorted(mine) != sorted(guest["ps"]):
        fail("pids differ: tool %s, guest %s" % (sorted(mine), sorted(guest["ps"])))
    for pid, g in guest["ps"].items():
        t = mine[pid]
        got = dict(ppid=t["ppid"], state=t["state"], uid=t["uid"], euid=t["euid"],
                   suid=t["suid"], fsuid=t["fsuid"], name=stable_name(t["name"]))
        want = dict(g, name=stable_name(g["name"]))
        if pid == 1:
            # /init printed the list itself: it was running (R) then; asleep in the dump
            got.pop("state"), want.pop("state")
        if got != want:
            fail("pid %d: tool %s, guest %s" % (pid, got, want))
    for name, uid in (("vmscope-sleepA", 0), ("vmscope-sleepB", 0), ("vmscope-user", 1000)):
        t = [t for t in tasks if t["name"] == name]
        if len(t) != 1 or t[0]["uid"] != uid or t[0]["state"] != "S" or t[0]["ppid"] != 1:
            fail("%s: %s" % (name, t))
    user = [t for t in tasks if not t["kthread"]]
    roots = {t["cr3"] for t in user}
    if len(roots) != len(user) or "0x0" in roots:
        fail("page-table roots of user processes are not distinct: %s" % roots)
    if any(t["cr3"] != "0x0" for t in tasks if t["kthread"]):
        fail("a kernel thread has a page-table root")
    print("ps: %d processes match the guest's /proc (pid, ppid, state, uids, name)" % len(tasks))


def check_lsmod(args, guest):
    lines = tool(args, "lsmod").splitlines()
    if lines != guest["modules"]:
        fail("lsmod:\n%s\nguest /proc/modules:\n%s" % ("\n".join(lines),
                                                      "\n".join(guest["modules"])))
    mods = json.loads(tool(args, "--json", "lsmod"))
    if [m["name"] for m in mods] != [l.split()[0] for l in guest["modules"]]:
        fail("lsmod --json names differ")
    print("lsmod: %d modules, identical to /proc/modules" % len(lines))


def check_kaslr(args, guest):
    info = json.loads(tool(args, "--json", "info"))
    text = int(info["text"], 16)
    if text != guest["syms"]["_text"]:
        fail("_text 0x%x, guest says 0x%x" % (text, guest["syms"]["_text"]))
    off = text - 0xffffffff81000000
    if (args.mode == "nokaslr") != (off == 0):
        fail("%s: KASLR offset 0x%x" % (args.mode, off))
    for name, addr in guest["syms"].items():
        got = json.loads(tool(args, "--json", "sym", name))
        if int(got["addr"], 16) != addr:
            fail("%s: 0x%s, guest 0x%x" % (name, got["addr"], addr))
    if "guest memory" not in info["btf_how"] or "kallsyms in guest memory" not in \
            info["symbols_how"]:
        fail("BTF/symbols not from guest memory: %s" % info)
    print("kaslr: offset 0x%x found by %s; %d symbols agree with /proc/kallsyms" % (
        off, info["kaslr_how"], len(guest["syms"])))


def check_dmesg(args, guest):
    log = tool(args, "dmesg").splitlines()
    kernel = [l for l in guest["text"].split("\n") if re.match(r"^\[ *\d+\.\d{6}\] ", l)]
    have = set(log)
    missing = [l for l in kernel if l not in have]
    if not any("Linux version" in l for l in log):
        fail("no 'Linux version' line in dmesg")
    # the console may interleave a user-space line into a kernel one: allow 2 %
    if len(missing) > len(kernel) // 50:
        fail("%d of %d console kernel lines not in dmesg, e.g. %s" % (
            len(missing), len(kernel), missing[:3]))
    js = json.loads(tool(args, "--json", "dmesg"))
    if js != log:
        fail("dmesg --json differs from dmesg")
    print("dmesg: %d lines; %d of %d console kernel lines found" % (
        len(log), len(kernel) - len(missing), len(kernel)))


def check_memory(args, guest):
    tasks = json.loads(tool(args, "--json", "ps"))
    for t in tasks:
        if t["name"].startswith("vmscope-"):
            line = json.loads(tool(args, "--json", "cmdline", str(t["pid"])))["cmdline"]
            if line != "sleep 100000":
                fail("pid %d cmdline %r" % (t["pid"], line))
            # the same bytes read from its memory by address (ps gives where)
            start, end = int(t["arg_start"], 16), int(t["arg_end"], 16)
            got = json.loads(tool(args, "--json", "read", str(t["pid"]), hex(start),
                                  str(end - start)))
            if bytes.fromhex(got["hex"]) != b"sleep\x00100000\x00":
                fail("pid %d: read of its arguments at 0x%x: %r" % (t["pid"], start, got))
    init = json.loads(tool(args, "--json", "cmdline", "1"))["cmdline"]
    if not init.startswith("/bin/sh /init"):
        fail("init cmdline %r" % init)
    sc = {s["nr"]: s["name"] for s in json.loads(tool(args, "--json", "syscalls"))}
    want = {0: "read", 1: "write", 57: "fork", 59: "execve", 60: "exit", 231: "exit_group"}
    for nr, name in want.items():
        if sc.get(nr) != name:
            fail("syscall %d is %r, want %r" % (nr, sc.get(nr), name))
    print("memory: command lines read from process memory, also by address; %d system calls "
          "named" % len(sc))


def check_vmlinux(args, guest):
    args.core = os.path.join(args.dump, "nokaslr.core")
    vmlinux = os.path.join(args.dump, "fixtures", "vmlinux")
    info = json.loads(tool(args, "--vmlinux", vmlinux, "--json", "info"))
    if not info["btf_how"].startswith("file "):
        fail("BTF not taken from the vmlinux: %s" % info["btf_how"])
    check_ps(args, guest)
    print("vmlinux: BTF from %s" % vmlinux)


def core_loads(path):
    """(paddr, file offset, size) of each PT_LOAD of an ELF core."""
    import struct
    with open(path, "rb") as f:
        h = f.read(64)
        phoff, = struct.unpack_from("<Q", h, 32)
        phentsize, phnum = struct.unpack_from("<HH", h, 54)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    loads = []
    for i in range(phnum):
        ptype, _, off, _, paddr, filesz = struct.unpack_from("<IIQQQQ", ph, i * phentsize)
        if ptype == 1:
            loads.append((paddr, off, filesz))
    return loads


def damaged(args, tmp, name, pa, length):
    """A copy of the dump with guest-physical [pa, pa + length) zeroed."""
    import shutil
    out = os.path.join(tmp, name)
    shutil.copyfile(args.core, out)
    with open(out, "r+b") as f:
        for paddr, off, size in core_loads(out):
            lo, hi = max(pa, paddr), min(pa + length, paddr + size)
            if lo < hi:
                f.seek(off + lo - paddr)
                f.write(bytes(hi - lo))
    return out


def refused(args, core, want, what):
    """info on a bad dump: exit status 1 (no crash, no hang) and the reason."""
    r = subprocess.run([args.tool, "--core", core, "info"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    err = r.stderr.decode(errors="replace")
    if r.returncode != 1 or not re.search(want, err):
        fail("%s: exit %d, stderr %r; want status 1 and /%s/" % (what, r.returncode, err, want))


def check_bad(args, guest):
    """Bad dumps: its kallsyms tables or its BTF zeroed, or cut short: a clear error."""
    import tempfile
    info = tool(args, "info")
    table = int(re.search(r"token table at physical (0x[0-9a-f]+)", info).group(1), 16)
    btf = re.search(r"\.BTF at physical (0x[0-9a-f]+), (\d+) bytes", info)
    with tempfile.TemporaryDirectory() as tmp:
        refused(args, damaged(args, tmp, "nokallsyms.core", table - (4 << 20), 8 << 20),
                r"no kallsyms tables in guest memory.*(--system-map|--vmlinux)", "kallsyms zeroed")
        os.unlink(os.path.join(tmp, "nokallsyms.core"))
        refused(args, damaged(args, tmp, "nobtf.core", int(btf.group(1), 16), int(btf.group(2))),
                r"no kernel BTF in guest memory.*give the vmlinux", "BTF zeroed")
        os.unlink(os.path.join(tmp, "nobtf.core"))
        short = os.path.join(tmp, "short.core")
        with open(args.core, "rb") as src, open(short, "wb") as dst:
            dst.write(src.read(64 << 20))
        r = subprocess.run([args.tool, "--core", short, "info"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if r.returncode != 1 or not r.stderr.strip() or b"\n" in r.stderr.strip():
            fail("cut short: exit %d, stderr %r; want status 1 and one line" %
                 (r.returncode, r.stderr))
    print("bad: zeroed kallsyms, zeroed BTF and a cut-short dump each refused in one line")


def raw_image(core, out):
    """The dump's guest-physical memory as one flat file, what QEMU's pmemsave
    or LiME's raw format give: each PT_LOAD at its physical address, the holes
    sparse, and no CPU state."""
    with open(core, "rb") as src, open(out, "wb") as dst:
        for paddr, off, size in core_loads(core):
            src.seek(off)
            dst.seek(paddr)
            while size:
                chunk = src.read(min(size, 4 << 20))
                if not chunk:
                    fail("%s: a PT_LOAD runs past the end of the file" % core)
                dst.write(chunk)
                size -= len(chunk)


def check_raw(args, guest):
    """A raw image of the same guest: the kernel placed with no CPU state."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        raw_image(args.core, os.path.join(tmp, "guest.raw"))
        args.kind, args.core = "--raw", os.path.join(tmp, "guest.raw")
        info = json.loads(tool(args, "--json", "info"))
        if "(no CPU state maps the kernel)" not in info["kaslr_how"]:
            fail("raw image placed by %r" % info["kaslr_how"])
        for check in (check_kaslr, check_ps, check_lsmod, check_dmesg, check_memory):
            check(args, guest)
    print("raw: the same views from a raw image; %s" % info["kaslr_how"])


def check_python(args, guest):
    env = dict(os.environ, VMSCOPE_LIB=args.lib)
    ex = os.path.join(HERE, "..", "..", "python", "examples", "ps.py")
    out = subprocess.run([sys.executable, ex, args.core], env=env, stdout=subprocess.PIPE,
                         check=True, timeout=120).stdout.decode().splitlines()
    got = {int(l.split()[0]): stable_name(l.split()[-1]) for l in out[1:]}
    want = {pid: stable_name(g["name"]) for pid, g in guest["ps"].items()}
    if got != want:
        fail("python ps: %s\nguest: %s" % (got, want))
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
    os.environ["VMSCOPE_LIB"] = args.lib
    import vmscope
    with vmscope.open_core(args.core) as vm:
        lx = vm.linux()
        mods = ["%s %d %d - %s 0x%016x" % (m.name, m.size, m.refcount, m.state, m.base)
                for m in lx.modules()]
        if mods != guest["modules"]:
            fail("python modules %s" % mods)
        if "Linux version" not in lx.dmesg():
            fail("python dmesg")
    print("python: ps.py and the binding agree with the guest")


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)

    class A:
        pass
    args = A()
    args.dump, args.tool, args.lib, check = sys.argv[1:5]
    r = subprocess.run([sys.executable, os.path.join(HERE, "make_dump.py"), args.dump] +
                       sys.argv[5:])
    if r.returncode == 77:
        print("SKIP: qemu-system-x86_64 not found")
        sys.exit(77)
    if r.returncode:
        fail("make_dump.py failed")
    name, _, mode = check.partition(":")
    for m in ([mode] if mode else MODES):
        args.mode = m
        args.kind, args.core = "--core", os.path.join(args.dump, m + ".core")
        guest = console(args.dump, m)
        globals()["check_" + name](args, guest)


if __name__ == "__main__":
    main()
