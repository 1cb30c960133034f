#!/usr/bin/env bash
# GDB on a running Linux kernel: Debian's vmlinux on $LINUX_CPUS vCPUs (default 2) under vmscope
# with --gdb path=SOCKET,wait=off, its initramfs ticking once a second
# (vmscope.linger).  Stock gdb, given nothing but the socket (Debian's vmlinux
# has no symbols), must: attach (the guest stops), list a thread per vCPU,
# read RIP in the kernel's half of the address space, read memory at it,
# single-step (RIP moves), continue and stop it again with Ctrl-C, detach;
# and the guest then keeps running (ticks again).  Then, given the addresses
# vmscope-ctl finds in the guest's own kallsyms: `hbreak` on a kernel
# function stops there, and `watch` on jiffies stops with GDB's old and new
# values (or both are refused with the probe's reason where the host does not
# stop on debug registers).  The guest powers off (status 0).
#
# usage: linux_gdb_test.sh VMSCOPE VMSCOPE_CTL FIXTURES_DIR
# Needs hardware-assisted KVM (the svm suite runs it in a nested-SVM L1).
set -uo pipefail
vmscope=$1 ctl=$2 fix=$3

. "$(dirname "$0")/running_linux.sh"
command -v gdb >/dev/null || { echo "FAIL: no gdb (scripts/deps.sh test installs it)"; exit 1; }

LINUX_LINGER=${LINUX_LINGER:-16}
start_linux --gdb path="$work/gdb",wait=off --vmi-socket "$work/vmi"

# All commands in one batch; Ctrl-C (SIGINT) comes while 'continue' runs.
gdb -q -nx -batch -ex "set confirm off" -ex "set pagination off" -ex "target remote $work/gdb" \
	-ex "info threads" -ex 'p/x $pc' -ex 'x/4xb $pc' -ex "stepi" -ex 'p/x $pc' -ex "continue" \
	-ex 'p/x $pc' -ex "detach" </dev/null >"$work/gdb.out" 2>&1 &
gdb=$!
sleep $((3 * scale))
kill -INT $gdb
wait $gdb
ticks=$(grep -c "^tick" "$work/console")

threads=$(grep -cE "^\*? +[0-9]+ +Thread" "$work/gdb.out")
check "gdb lists $cpus threads ($threads)" '[ "$threads" -eq "$cpus" ]'
pcs=$(grep -oE '^\$[0-9]+ = 0x[0-9a-f]+' "$work/gdb.out" | awk '{ print $3 }')
check "RIP in the kernel ($(echo $pcs))" '[ "$(echo "$pcs" | grep -c "^0xffffffff")" -eq 3 ]'
check "memory at RIP read" 'grep -qE "^0xffffffff[0-9a-f]+:(\s+0x[0-9a-f]{2}){4}" "$work/gdb.out"'
check "stepi moved RIP" '[ "$(echo "$pcs" | sed -n 1p)" != "$(echo "$pcs" | sed -n 2p)" ]'
check "Ctrl-C stopped the guest" 'grep -q "received signal SIGINT" "$work/gdb.out"'
check "gdb detached" 'grep -q "Inferior 1 .* detached" "$work/gdb.out"'
sleep $((2 * scale))
check "the guest runs on after the detach" '[ "$(grep -c "^tick" "$work/console")" -gt "$ticks" ]'

# Hardware breakpoint and watchpoint, at addresses from the guest's kallsyms.
fn=$("$ctl" --socket "$work/vmi" sym do_syscall_64 2>&1 | grep -oE '0xffffffff[0-9a-f]+' | head -1)
jiffies=$("$ctl" --socket "$work/vmi" sym jiffies_64 2>&1 | grep -oE '0xffffffff[0-9a-f]+' | head -1)
check "do_syscall_64 and jiffies_64 found ($fn, $jiffies)" '[ -n "$fn" ] && [ -n "$jiffies" ]'
probe=$("$vmscope" --log-level info --serial null 2>&1 | grep "host KVM:")
timeout $((60 * scale)) gdb -q -nx -batch -ex "set confirm off" -ex "set pagination off" \
	-ex "target remote $work/gdb" -ex "hbreak *$fn" -ex "continue" -ex 'p/x $pc' -ex "delete" \
	-ex "watch *(unsigned long *)$jiffies" -ex "continue" -ex "delete" -ex "detach" \
	</dev/null >"$work/gdb-hw.out" 2>&1
if [[ $probe == *"debug-register breakpoints intercepted"* ]]; then
	check "hbreak on do_syscall_64 stops there" 'grep -qE "^\\\$[0-9]+ = $fn\$" "$work/gdb-hw.out"'
else
	check "hbreak refused" 'grep -q "Could not insert hardware breakpoint\|Cannot insert hardware breakpoint" "$work/gdb-hw.out"'
fi
if [[ $probe == *"debug-register watchpoints intercepted"* ]]; then
	check "watch jiffies_64: old and new value" 'grep -qE "Old value = [0-9]+" "$work/gdb-hw.out" && grep -qE "New value = [0-9]+" "$work/gdb-hw.out"'
else
	check "watch refused" 'grep -q "Could not insert hardware watchpoint" "$work/gdb-hw.out"'
fi
check "gdb detached again" 'grep -q "Inferior 1 .* detached" "$work/gdb-hw.out"'
wait $vmm
status=$?
check "the guest powered off through ACPI (status $status)" '[ $status -eq 0 ]'
[ $fails -eq 0 ] || { echo "--- gdb"; cat "$work/gdb.out" "$work/gdb-hw.out" 2>/dev/null; echo "--- vmscope"; tail -n 20 "$work/vmm.err"; grep "^FAIL" "$work/checks"; }
[ $fails -eq 0 ]
