#!/usr/bin/env bash
# libvmscope on a real QEMU core dump: boots Debian's kernel under QEMU
# (TCG, microvm, 256 MiB, no initramfs: it panics at the root mount and stays
# there), takes a dump with QMP dump-guest-memory (paging off: an ELF core
# with PT_LOADs at guest-physical addresses, NT_PRSTATUS and QEMU CPU notes),
# and runs core_check on it (regions, CPU state, kernel text and banner
# through CR3, direct map).
#
#     qemu_core_test.sh CORE_CHECK
#
# Exits 77 (skipped) without qemu-system-x86_64, python3 or /boot/vmlinuz-*.
# VMSCOPE_KEEP_CORE=path keeps the dump there for a closer look.
set -euo pipefail

check=${1:?usage: qemu_core_test.sh CORE_CHECK}
qemu=$(command -v qemu-system-x86_64 || true)
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$qemu" ] || [ -z "$kernel" ] || ! command -v python3 >/dev/null; then
	echo "qemu_core_test: SKIP (needs qemu-system-x86_64, python3 and /boot/vmlinuz-*)"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmscope-core.XXXXXX")
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# tsc_early_khz: under TCG the TSC calibration sometimes fails and the boot hangs.
"$qemu" -accel tcg -M microvm -m 256M -smp 2 -nodefaults -no-user-config -display none \
	-serial "file:$tmp/console" -qmp "unix:$tmp/qmp,server=on,wait=off" \
	-kernel "$kernel" -append "console=ttyS0 nokaslr tsc_early_khz=2000000" \
	</dev/null >"$tmp/qemu.log" 2>&1 &
qpid=$!

# Wait for the panic at the root mount: the kernel is up, paging and all.
for _ in $(seq 1 240); do
	if ! kill -0 "$qpid" 2>/dev/null; then
		echo "qemu_core_test: FAIL: QEMU exited early"; cat "$tmp/qemu.log"; exit 1
	fi
	grep -q "Kernel panic" "$tmp/console" 2>/dev/null && break
	sleep 0.5
done
if ! grep -q "Kernel panic" "$tmp/console" 2>/dev/null; then
	echo "qemu_core_test: FAIL: no kernel panic on the console after 120 s"
	tail -n 20 "$tmp/console" 2>/dev/null || true
	exit 1
fi

python3 - "$tmp/qmp" "$tmp/guest.core" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(120)
s.connect(sys.argv[1])
f = s.makefile("rwb")
def reply():
    while True:
        line = f.readline()
        if not line:
            sys.exit("qemu_core_test: QMP connection closed")
        msg = json.loads(line)
        if "event" not in msg:
            return msg
reply()  # greeting
for cmd in ({"execute": "qmp_capabilities"},
            {"execute": "dump-guest-memory",
             "arguments": {"paging": False, "protocol": "file:" + sys.argv[2]}}):
    f.write(json.dumps(cmd).encode() + b"\n")
    f.flush()
    r = reply()
    if "error" in r:
        sys.exit("qemu_core_test: QMP %s: %s" % (cmd["execute"], r["error"]))
PY
kill "$qpid"; wait "$qpid" 2>/dev/null || true; qpid=

echo "qemu_core_test: $(basename "$kernel"), dump of $(stat -c %s "$tmp/guest.core") bytes"
[ -n "${VMSCOPE_KEEP_CORE:-}" ] && cp "$tmp/guest.core" "$VMSCOPE_KEEP_CORE"
"$check" "$tmp/guest.core" --nokaslr
