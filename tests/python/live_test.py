#!/usr/bin/env python3
"""The Python binding on a live VM: the embedded test guest under vmscope
--vmi-wait, traced from Python with a hardware breakpoint on its system-call
entry (and a software one where the host intercepts int3), a watchpoint where
the host's KVM stops on one, and a refusal with the probe's reason where not.

usage: live_test.py VMSCOPE GUEST_ELF       exit: 0 pass, 1 fail, 77 skip
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import vmscope  # noqa: E402

fails = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)


def symbol(elf, name):
    out = subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[2] == name:
            return int(f[0], 16)
    raise KeyError(name)


def main():
    vmscope_bin, elf = sys.argv[1], sys.argv[2]
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        if os.environ.get("VMSCOPE_REQUIRE_KVM") == "1":
            print("FAIL: no usable /dev/kvm")
            return 1
        print("SKIP: no usable /dev/kvm")
        return 77
    entry, total = symbol(elf, "tg_syscall_entry"), symbol(elf, "tg_total_syscalls")
    with tempfile.TemporaryDirectory() as d:
        sock, serial = os.path.join(d, "s"), os.path.join(d, "serial")
        proc = subprocess.Popen([vmscope_bin, "--vmi-socket", sock, "--vmi-wait",
                                 "--serial", "file=" + serial], stderr=subprocess.PIPE, text=True)
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        calls, values = [], []
        with vmscope.attach(sock) as vm:
            hw = vm.caps & (1 << vmscope.EV_HW_BREAKPOINT)
            if not hw:
                try:
                    vm.set_hwbp(entry)
                    check(False, "a hardware breakpoint refused where the probe found none")
                except vmscope.VMScopeError as e:
                    check("probed at start" in str(e), "refused with the reason: %s" % e)
            else:
                check(vm.set_hwbp(entry) == 0, "hardware breakpoint in slot 0")

                def on_hit(vm, ev, rsp):
                    if ev.u.hw_bp.type == vmscope.HWBP_EXEC:
                        calls.append(ev.regs.rax)
                    else:  # the write is done: read the new value while the vCPU waits
                        values.append(int.from_bytes(vm.read_pa(total, 8), "little"))
                vm.subscribe(vmscope.EV_HW_BREAKPOINT, on_hit)
                try:
                    vm.set_hwbp(total, "w", 8)
                    watch = True
                except vmscope.VMScopeError as e:
                    watch = False
                    check("watchpoints: this KVM ignores it (probed at start)" in str(e),
                          "watchpoint refused with the probe's reason: %s" % e)
                try:
                    vm.set_hwbp(total, "r", 8)
                    check(False, "a read-only watch accepted")
                except ValueError as e:
                    check("no read-only watch" in str(e), "read-only watch refused: %s" % e)
            vm.resume()
            n = vm.event_loop(30000)
            check(n >= 0, "event loop ended when the guest did (%d events)" % n)
        code = proc.wait(timeout=60)
        check(code == 0, "vmscope exited with %d" % code)
        text = open(serial).read()
        check("all 4 tasks done" in text, "the guest finished")
        if hw:
            # every task: getid (4), 3 yields (2), write (1), exit (3)
            want = {4: 4, 2: 12, 1: 4, 3: 4}
            got = {k: calls.count(k) for k in want}
            check(len(calls) == 24 and got == want, "system calls seen: %r" % got)
            if watch:
                check(values == list(range(1, 25)), "watched values 1..24: %r" % values)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
