#!/usr/bin/env bash
# Cloud Hypervisor's API workflow with a Linux guest: vmscope started with
# only --api-socket; vmscope-ctl (ch-remote's verbs) creates the VM from a
# VmConfig JSON file (Debian's vmlinux, its initramfs, the serial port in a
# file, an introspection socket), boots it, and while the guest ticks at its
# initramfs an introspection client reads its process list; vm.pause holds
# the ticks; vm.shutdown ends the VM and vmscope stays (state Created); the
# same VM boots again and reaches its initramfs again; vm.delete forgets it;
# vmm.shutdown ends vmscope with 0.
#
# usage: linux_api_test.sh VMSCOPE VMSCOPE_CTL FIXTURES_DIR
# Needs hardware-assisted KVM (the svm suite runs it in a nested-SVM L1).
set -uo pipefail
vmscope=$1 ctl=$2 fix=$3

LINUX_LINGER=${LINUX_LINGER:-60}
. "$(dirname "$0")/running_linux.sh"

api=$work/api
api_ctl() { "$ctl" --api-socket "$api" "$@"; }
state() { api_ctl info 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null; }
wait_tick() {
	for _ in $(seq $((600 * scale))); do
		grep -q "^tick $1" "$work/console" 2>/dev/null && return 0
		kill -0 $vmm 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

"$vmscope" --api-socket "path=$api" -v 2>"$work/vmm.err" &
vmm=$!
for _ in $(seq 100); do [ -S "$api" ] && break; sleep 0.1; done
check "vmscope waits for vm.create on its API socket" '[ -S "$api" ] && kill -0 $vmm'

cat >"$work/vm.json" <<JSON
{
  "payload": {"kernel": "$fix/vmlinux", "initramfs": "$fix/initramfs.cpio.gz",
              "cmdline": "console=ttyS0 vmscope.linger=$((linger * scale))"},
  "cpus": {"boot_vcpus": $cpus},
  "memory": {"size": $((512 << 20))},
  "serial": {"mode": "File", "file": "$work/console"},
  "console": {"mode": "Off"},
  "vmscope": {"vmi_socket": "$work/vmi"}
}
JSON
api_ctl create "$work/vm.json" >"$work/out" 2>&1
rc=$?
check "create vm.json ($(head -c 200 "$work/out"))" '[ $rc -eq 0 ]'
check "state Created before boot" '[ "$(state)" = Created ]'
api_ctl boot >"$work/out" 2>&1
rc=$?
check "boot ($(head -c 200 "$work/out"))" '[ $rc -eq 0 ]'
wait_tick 1
check "the guest reached its initramfs and ticks" 'grep -q "^tick 1" "$work/console"'
check "state Running" '[ "$(state)" = Running ]'

"$ctl" --socket "$work/vmi" --json ps >"$work/ps.json" 2>"$work/ps.err"
check "ps over the VM's introspection socket has init as pid 1 ($(head -c 200 "$work/ps.err"))" \
	'python3 -c "import json,sys; sys.exit(0 if any(p[\"pid\"] == 1 for p in json.load(open(sys.argv[1]))) else 1)" "$work/ps.json"'

api_ctl pause >/dev/null 2>&1
check "state Paused" '[ "$(state)" = Paused ]'
before=$(grep -c "^tick" "$work/console")
sleep $((3 * scale))
check "no tick while paused" '[ "$(grep -c "^tick" "$work/console")" -eq "$before" ]'
api_ctl resume >/dev/null 2>&1
wait_tick $((before + 1))
check "ticks again after resume" 'grep -q "^tick $((before + 1))" "$work/console"'

api_ctl shutdown >"$work/out" 2>&1
rc=$?
check "shutdown ($(head -c 200 "$work/out"))" '[ $rc -eq 0 ]'
for _ in $(seq 100); do [ "$(state)" = Created ] && break; sleep 0.1; done
check "after shutdown: state Created, vmscope still serving" '[ "$(state)" = Created ] && kill -0 $vmm'
check "the VM's introspection socket is gone" '[ ! -e "$work/vmi" ]'

mv "$work/console" "$work/console.1"
api_ctl boot >"$work/out" 2>&1
rc=$?
check "boot again ($(head -c 200 "$work/out"))" '[ $rc -eq 0 ]'
wait_tick 1
check "the second boot reached its initramfs" 'grep -q "^tick 1" "$work/console"'

api_ctl delete >/dev/null 2>&1
rc=$?
check "delete" '[ $rc -eq 0 ]'
for _ in $(seq 100); do api_ctl info >/dev/null 2>&1 || break; sleep 0.1; done
api_ctl info >"$work/out" 2>&1
check "after delete: no VM (404)" 'grep -q "HTTP 404" "$work/out"'
api_ctl shutdown-vmm >/dev/null 2>&1
for _ in $(seq 100); do kill -0 $vmm 2>/dev/null || break; sleep 0.1; done
wait $vmm
status=$?
vmm=
check "vmscope ended with 0 after shutdown-vmm (status $status)" '[ $status -eq 0 ]'

[ $fails -eq 0 ] || { echo "--- vmscope"; tail -n 20 "$work/vmm.err"; echo "--- guest";
	tr -d '\r' <"$work/console" 2>/dev/null | grep -vE "^\[ *[0-9.]+\] " | tail -n 30; }
[ $fails -eq 0 ]
