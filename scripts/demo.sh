#!/usr/bin/env bash
# The main job: builds vmscope, boots the embedded test guest on two vCPUs
# held before its first instruction, attaches an introspection client
# (vmscope-ctl watch) and lets the guest run while the client shows what it
# sees: the system-call entry the guest installs, every system call with the
# task that made it, and the task table walked in guest memory.  The guest's
# own console is shown with "guest |" in front.  Extra arguments go to vmscope.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

scripts/deps.sh build
configure build
build build src/vmscope tools/vmscope-ctl # not the tests' Linux fixtures

[ -e /dev/kvm ] || die "no /dev/kvm: vmscope needs KVM (load kvm_intel or kvm_amd, or run on a machine that has it)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] ||
	die "/dev/kvm is not readable and writable by $(id -un): add the user to the group that owns it ($(stat -c %G /dev/kvm))"

dir=$(mktemp -d)
trap 'kill "$vmm" 2>/dev/null || true; rm -rf "$dir"' EXIT
sock=$dir/vmi.sock

build/src/vmscope --cpus boot=2 --memory size=256M --vmi-socket "$sock" --vmi-wait "$@" \
	> >(sed -u 's/^/guest | /') &
vmm=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	kill -0 "$vmm" 2>/dev/null || break
	sleep 0.05
done
if [ ! -S "$sock" ]; then
	status=0
	wait "$vmm" || status=$?
	die "vmscope did not open its introspection socket (exit status $status; its error is above)"
fi
watch_status=0
build/tools/vmscope-ctl --socket "$sock" watch || watch_status=$?
status=0
wait "$vmm" || status=$?
sleep 0.1 # let the guest's last console line through
echo "vmscope exited with status $status"
[ "$watch_status" -eq 0 ] || die "vmscope-ctl watch failed with status $watch_status (its error is above)"
exit $status
