#!/usr/bin/env bash
# The REST API's vm.power-button on a running Linux guest: Debian's vmlinux
# under vmscope with --api-socket, its initramfs ticking and waiting on the
# ACPI power button's input device (the button module loaded).  `vmscope-ctl --api-socket PATH
# power-button` must make the guest's own handler power it off: its line is
# on the console, long before the guest would have stopped ticking by itself,
# and vmscope ends with 0.
#
# usage: linux_power_button_test.sh VMSCOPE VMSCOPE_CTL FIXTURES_DIR
# Needs hardware-assisted KVM (the svm suite runs it in a nested-SVM L1).
set -uo pipefail
vmscope=$1 ctl=$2 fix=$3

LINUX_LINGER=${LINUX_LINGER:-30}
. "$(dirname "$0")/running_linux.sh"

start_linux --api-socket "path=$work/api"
check "the button module is loaded" 'grep -q "^module: button" "$work/console"'
check "the guest waits on the power button" 'grep -q "^power button: /dev/input/event" "$work/console"'
"$ctl" --api-socket "$work/api" power-button >"$work/ctl.out" 2>&1
pressed=$?
check "power-button accepted ($(head -c 100 "$work/ctl.out"))" '[ $pressed -eq 0 ]'
for _ in $(seq $((200 * scale))); do
	kill -0 $vmm 2>/dev/null || break
	sleep 0.1
done
kill -0 $vmm 2>/dev/null && { echo "FAIL: still running 20 s (times the scale) after the button"; kill $vmm; }
wait $vmm
status=$?
ticks=$(grep -c "^tick" "$work/console")
check "the guest's handler powered it off" 'grep -q "power button pressed, powering off" "$work/console"'
check "before its own time ($ticks of $((linger * scale)) ticks)" '[ "$ticks" -lt $((linger * scale)) ]'
check "vmscope ended with 0 (status $status)" '[ $status -eq 0 ]'
[ $fails -eq 0 ] || { echo "--- vmscope"; tail -n 20 "$work/vmm.err"; echo "--- guest";
	tr -d '\r' <"$work/console" | grep -vE "^\[ *[0-9.]+\] " | tail -n 30; }
[ $fails -eq 0 ]
