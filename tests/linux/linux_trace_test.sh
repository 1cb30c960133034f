#!/usr/bin/env bash
# Live system-call tracing of a Linux guest (vmscope-ctl trace): a breakpoint
# on the kernel's system-call entry, found through the guest's own kallsyms,
# each call decoded against the kernel's own system-call table.
#
# usage: linux_trace_test.sh VMSCOPE VMSCOPE_CTL FIXTURES_DIR
#
# Needs a Linux guest running at a usable speed, that is hardware KVM: on a
# host whose KVM emulates guest kernel code (kvm_pvm) the kernel cannot reach
# its initramfs in a test's time, so the test says so and skips.  The same
# breakpoint-on-the-entry mechanism is tested on the embedded test guest by
# vmi_breakpoint and ctl_watch, and the Linux decoding on dumps by the
# linux suite.
set -uo pipefail
vmscope=$1 ctl=$2 fix=$3

. "$(dirname "$0")/running_linux.sh"

# The fixtures' /init keeps running cat and sleep while it ticks.
start_linux --vmi-socket "$work/vmi"
# Where this host's KVM lets the guest take int3 (QEMU's emulated SVM; vmscope
# probes it at start-up), trace takes a debug-register breakpoint by itself,
# or, where those do not stop the guest either (QEMU 7.2), must say why.
probe=$("$vmscope" --log-level info --serial null 2>&1)
int3=yes hw=yes
[[ $probe == *"host KVM: int3 not intercepted"* ]] && int3=no
[[ $probe == *"debug-register breakpoints intercepted"* ]] || hw=no
if [ $int3 = no ] && [ $hw = no ]; then
	timeout 60 "$ctl" --socket "$work/vmi" trace 5 >"$work/trace" 2>"$work/trace.err"
	status=$?
	check "trace refused (status $status)" '[ $status -eq 1 ]'
	check "trace says why ($(head -c 200 "$work/trace.err"))" 'grep -q "int3: this KVM lets the guest take it" "$work/trace.err"'
	wait $vmm
	status=$?
	check "the guest powered off through ACPI (status $status)" '[ $status -eq 0 ]'
	exit $((fails > 0))
fi
timeout 60 "$ctl" --socket "$work/vmi" --json trace 5 >"$work/trace" 2>"$work/trace.err"
check "trace ran (status $?)" '[ -s "$work/trace" ]'
# (busybox cat copies with sendfile, not read)
for name in execve openat close wait4; do
	check "a $name call seen" 'grep -q "\"name\":\"$name\"" "$work/trace"'
done
check "sleep's nanosleep seen" 'grep -qE "\"name\":\"(clock_)?nanosleep\"" "$work/trace"'

check "cat seen by name, from the task's own comm" 'grep -q "\"comm\":\"cat\"" "$work/trace"'
if [ $int3 = no ]; then
	check "a debug-register breakpoint taken by itself" 'grep -q "tracing with a debug-register breakpoint" "$work/trace.err"'
fi

# --hw: the same with a debug register, and the kernel text around the entry
# is byte for byte what it was (an int3 would have been planted in it).
if [ $hw = yes ]; then
	entry_pa=$(sed -n 's/.*entry_SYSCALL_64 0x[0-9a-f]* (physical \(0x[0-9a-f]*\)).*/\1/p' "$work/trace.err")
	page=$(printf '0x%x' $((entry_pa & ~4095)))
	text_sum() { "$ctl" --socket "$work/vmi" read "$page" 4096 | md5sum; }
	before=$(text_sum)
	timeout 60 "$ctl" --socket "$work/vmi" --json trace --hw 3 >"$work/trace-hw" 2>"$work/trace-hw.err"
	check "trace --hw ran with a debug register" 'grep -q "with a debug-register breakpoint" "$work/trace-hw.err"'
	check "trace --hw saw system calls" 'grep -q "\"name\":\"openat\"" "$work/trace-hw"'
	after=$(text_sum)
	check "the kernel text page of entry_SYSCALL_64 ($page) unchanged" '[ -n "$entry_pa" ] && [ "$before" = "$after" ]'
fi
wait $vmm
status=$?
check "the guest powered off through ACPI (status $status)" '[ $status -eq 0 ]'
[ $fails -eq 0 ] || { echo "--- trace (first 40 lines)"; head -40 "$work/trace"; echo "--- trace stderr"; cat "$work/trace.err" "$work/trace-hw.err" 2>/dev/null; echo "--- vmscope"; cat "$work/vmm.err"; }
[ $fails -eq 0 ]
