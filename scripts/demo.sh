#!/usr/bin/env bash
# The main job: builds vmscope, boots the embedded test guest on two vCPUs
# held before its first instruction, attaches an introspection client
# (vmscope-ctl watch) and lets the guest run while the client shows what it
# sees: the system-call entry the guest installs, every system call with the
# task that made it, and the task table walked in guest memory.  The guest's
# own console is shown with "guest |" in front.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

dir=$(mktemp -d)
trap 'kill "$vmm" 2>/dev/null || true; rm -rf "$dir"' EXIT
sock=$dir/vmi.sock

build/src/vmscope --cpus boot=2 --memory size=256M --vmi-socket "$sock" --vmi-wait "$@" \
	> >(sed -u 's/^/guest | /') &
vmm=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
build/tools/vmscope-ctl --socket "$sock" watch
wait "$vmm"
status=$?
sleep 0.1 # let the guest's last console line through
echo "vmscope exited with status $status"
exit $status
