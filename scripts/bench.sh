#!/usr/bin/env bash
# Builds vmscope optimised and runs every benchmark in bench/, each printing
# its figures (medians of repeated runs) and, where a peer or a target
# exists, the ratio to it measured in the same run.  Not part of the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
scripts/deps.sh test
b=build-release
configure "$b" -Dbuildtype=release
build "$b"

section() { printf '\n== %s\n' "$1"; }

section "boot: exec to first byte and to exit, memory beyond guest RAM (vs QEMU microvm)"
"$b/bench/bench_boot" "$b/src/vmscope" "$b/guest/vmscope-guest.elf" 20
section "introspection: exits/s and event round trips (vs bare KVM, vs a unix socket)"
"$b/bench/bench_events"
section "breakpoint hits, software and hardware (vs a bare KVM exit, vs DRAKVUF/SmartVMI)"
"$b/bench/bench_breakpoints"
section "library reads of guest memory (vs memcpy)"
"$b/bench/bench_read"
section "virtual-to-physical translations"
"$b/bench/bench_translate"
section "GDB: breakpoint hits and memory reads (vs QEMU's gdbstub)"
python3 bench/bench_gdb.py "$b"
section "virtio-blk sequential throughput (vs dd on the same image)"
"$b/bench/bench_virtio_blk"
section "Linux: listing processes on a dump (vs one sequential scan)"
python3 tests/linux/make_dump.py "$b/tests/linux/dumps" >/dev/null
"$b/bench/bench_linux_ps" "$b/tests/linux/dumps/kaslr.core"
