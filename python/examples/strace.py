#!/usr/bin/env python3
"""strace for a whole running Linux guest, from outside, with a hardware
breakpoint (no byte of the kernel changed): python3 strace.py SOCKET [SECONDS]
(vmscope started with --vmi-socket SOCKET)."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vmscope

with vmscope.attach(sys.argv[1]) as vm:
    vm.pause()                                   # learn the kernel from a still picture
    lx = vm.linux()
    entry, _ = lx.syscall_entry()
    vm.set_hwbp(entry)                           # a debug register on entry_SYSCALL_64

    def on_call(vm, ev, rsp):
        sc = lx.syscall(ev.regs)
        print("%5d %-15s %s(%s)" % (sc.pid, sc.comm, sc.name,
                                    ", ".join(hex(a) for a in sc.args[:3])), flush=True)

    vm.subscribe(vmscope.EV_HW_BREAKPOINT, on_call)
    vm.resume()
    vm.event_loop(int(sys.argv[2]) * 1000 if len(sys.argv) > 2 else -1)
