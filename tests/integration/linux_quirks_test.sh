#!/usr/bin/env bash
# The Debian vmlinux under vmscope on a host whose KVM emulates guest kernel
# code (kvm_pvm): its emulator refuses instructions Linux runs early, and
# vmscope's host quirks get the kernel past each of them.  The boot runs
# until "devtmpfs: initialized", past
#   - the int3 self-test (int3 in kernel mode: vmscope delivers #BP),
#   - popcnt, patched in through alternatives (cleared by clearcpuid=popcnt),
#   - the first fwait (vmscope steps over it),
# then vmscope is stopped.  Without the quirks the same boot ends in a KVM
# internal error at the first of them.  On hardware KVM none of this
# applies: the test says so and skips (linux_boot boots to the initramfs there).
#
# usage: linux_quirks_test.sh VMSCOPE FIXTURES_DIR   (make_linux_fixtures.sh output)
# Environment: LINUX_QUIRKS_TIMEOUT (seconds, default 480).
set -uo pipefail

vmscope=$1 fixtures=$2
timeout=${LINUX_QUIRKS_TIMEOUT:-480}
if grep -qwE 'vmx|svm' /proc/cpuinfo; then
	echo "SKIP: hardware virtualization: no host quirks to test"
	exit 77
fi
if [ ! -s "$fixtures/vmlinux" ]; then
	echo "FAIL: $fixtures/vmlinux is missing (tests/integration/make_linux_fixtures.sh)"
	exit 1
fi

. "$(dirname "$0")/linux_serial.sh"
start=$SECONDS
boot_until "devtmpfs: initialized" "$timeout" "$vmscope" --kernel "$fixtures/vmlinux" \
	--memory size=256M --cmdline "console=ttyS0"

want "Freeing SMP alternatives memory" "the int3 self-test passed"
want "smpboot: Total of 1 processors activated" "past popcnt"
want "devtmpfs: initialized" "past the first fwait"
if grep -q "internal error" "$vm_log"; then
	echo "FAIL: vmscope stopped the guest on an instruction KVM refused:"
	sed 's/^/    /' "$vm_log"
	failures=$((failures + 1))
fi
if [ $failures -ne 0 ]; then
	echo "--- the end of the serial log ---"
	tail -n 15 "$log"
	exit 1
fi
echo "Linux ran past its refused instructions in $((SECONDS - start)) s"
