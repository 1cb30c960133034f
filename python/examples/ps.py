#!/usr/bin/env python3
"""ps for a Linux guest, from outside: python3 ps.py guest.core [vmlinux]"""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vmscope

with vmscope.open_core(sys.argv[1]) as vm:
    lx = vm.linux(vmlinux=sys.argv[2] if len(sys.argv) > 2 else None)
    print("%7s %7s S %6s %18s %s" % ("PID", "PPID", "UID", "PGD(phys)", "NAME"))
    for t in lx.tasks():
        print("%7d %7d %s %6d %18s %s" % (t.pid, t.ppid, t.state, t.uid,
                                          hex(t.cr3) if t.cr3 else "-", t.name))
