#!/usr/bin/env python3
"""GDB stub benchmark: vmscope's stub and QEMU's gdbstub (TCG), side by side,
on the same test guest and the same GDB (Debian's), in one run.

  bench_gdb.py VMSCOPE GUEST_ELF [--runs N] [--dump-mib M]
  bench_gdb.py BUILD_DIR [--runs N] [--dump-mib M]     (as scripts/bench.sh calls it)

1. Breakpoint hits per second: a breakpoint on the guest's system-call
   handler (tg_syscall, kernel mode), GDB continuing from hit to hit until
   the guest has made all its system calls (24 per boot), N boots.  Each hit
   is a full GDB round: stop reply, breakpoints out, step over, back in, go.
2. Memory read throughput through GDB: `dump binary memory` of M MiB of
   guest RAM from 1 MiB up, at the first instruction.
"""
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "gdb"))
import gdbtarget  # noqa: E402
from gdbtarget import Target, run_gdb  # noqa: E402

HITS_PY = """python
import time
gdb.execute("break tg_syscall", to_string=True)
n = 0
t0 = time.perf_counter()
try:
    while True:
        gdb.execute("continue", to_string=True)
        if not gdb.selected_inferior().pid:
            break
        n += 1
except gdb.error:
    pass
dt = time.perf_counter() - t0
print("BENCH_HITS %d %.6f" % (n, dt))
end"""

DUMP_PY = """python
import time
t0 = time.perf_counter()
gdb.execute("dump binary memory %s 0x100000 0x%x", to_string=True)
dt = time.perf_counter() - t0
print("BENCH_DUMP %%d %%.6f" %% (os.path.getsize("%s"), dt))
end"""


def write_script(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def bench_hits(kind, vmscope, elf, runs, tmp):
    script = write_script(tmp, "hits.gdb", HITS_PY)
    hits, secs = 0, 0.0
    for _ in range(runs):
        t = Target(kind, vmscope, elf)
        try:
            out = run_gdb(t, ["source " + script], timeout=300)
            m = re.search(r"BENCH_HITS (\d+) ([\d.]+)", out)
            if not m:
                raise RuntimeError("%s: no result:\n%s" % (kind, out[-2000:]))
            hits += int(m.group(1))
            secs += float(m.group(2))
            t.finish(timeout=30)
        finally:
            t.cleanup()
    return hits, secs


def bench_dump(kind, vmscope, elf, mib, tmp):
    dump = os.path.join(tmp, "dump-" + kind)
    script = write_script(tmp, "dump.gdb", "python\nimport os\nend\n" +
                          DUMP_PY % (dump, 0x100000 + mib * 1024 * 1024, dump))
    t = Target(kind, vmscope, elf)
    try:
        out = run_gdb(t, ["source " + script, "kill"], timeout=600)
        m = re.search(r"BENCH_DUMP (\d+) ([\d.]+)", out)
        if not m:
            raise RuntimeError("%s: no result:\n%s" % (kind, out[-2000:]))
        return int(m.group(1)), float(m.group(2))
    finally:
        t.cleanup()
        if os.path.exists(dump):
            os.unlink(dump)


def main():
    args = sys.argv[1:]
    if args and os.path.isdir(args[0]):
        args = [os.path.join(args[0], "src", "vmscope"),
                os.path.join(args[0], "guest", "vmscope-guest.elf")] + args[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    vmscope, elf = args[0], args[1]
    runs, mib = 5, 64
    if "--runs" in args:
        runs = int(args[args.index("--runs") + 1])
    if "--dump-mib" in args:
        mib = int(args[args.index("--dump-mib") + 1])
    if not gdbtarget.GDB:
        print("bench_gdb: gdb not installed")
        return 77
    kinds = ["vmscope"] + (["qemu"] if gdbtarget.QEMU else [])
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            hits, secs = bench_hits(kind, vmscope, elf, runs, tmp)
            size, dsecs = bench_dump(kind, vmscope, elf, mib, tmp)
            rows[kind] = (hits, secs, size, dsecs)
    print("GDB stub benchmark: %s, same guest (%s), %d boots, gdb %s" %
          (" vs ".join(kinds), os.path.basename(elf), runs, gdbtarget.GDB))
    print("%-34s" % "" + "".join("%18s" % k for k in kinds))
    print("%-34s" % "breakpoint hits (tg_syscall)" + "".join("%18d" % rows[k][0] for k in kinds))
    print("%-34s" % "breakpoint hits per second" +
          "".join("%18.0f" % (rows[k][0] / rows[k][1]) for k in kinds))
    print("%-34s" % "ms per hit" +
          "".join("%18.2f" % (1000 * rows[k][1] / rows[k][0]) for k in kinds))
    print("%-34s" % ("dump memory, %d MiB, seconds" % mib) +
          "".join("%18.2f" % rows[k][3] for k in kinds))
    print("%-34s" % "memory read through GDB, MiB/s" +
          "".join("%18.1f" % (rows[k][2] / rows[k][3] / 2**20) for k in kinds))
    if "qemu" not in kinds:
        print("(qemu-system-x86_64 not installed: QEMU column missing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
