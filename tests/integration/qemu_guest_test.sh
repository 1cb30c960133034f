#!/bin/sh
# Boot the embedded test guest under QEMU (TCG, -M microvm, through the
# guest's Xen PVH note) and check what it prints against the host's own
# computation of every task's result (guest/work.c compiled for the host).
#
# Usage: qemu_guest_test.sh [path/to/vmscope-guest.elf]
#   (or VMSCOPE_GUEST_ELF=...; default: $MESON_BUILD_ROOT/guest/ or build/guest/)
# Exit: 0 pass, 1 fail, 77 skip (no qemu-system-x86_64).
set -u

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

qemu=$(command -v qemu-system-x86_64 || true)
if [ -z "$qemu" ]; then
	echo "SKIP: qemu-system-x86_64 not installed"
	exit 77
fi

elf=${1:-${VMSCOPE_GUEST_ELF:-}}
if [ -z "$elf" ]; then
	for d in "${MESON_BUILD_ROOT:-}" "$src/build"; do
		if [ -n "$d" ] && [ -f "$d/guest/vmscope-guest.elf" ]; then
			elf="$d/guest/vmscope-guest.elf"
			break
		fi
	done
fi
if [ -z "$elf" ] || [ ! -f "$elf" ]; then
	echo "FAIL: vmscope-guest.elf not found (pass its path as the first argument)"
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() {
	echo "FAIL: $*"
	echo "--- serial output ---"
	cat "$tmp/serial" 2>/dev/null
	exit 1
}

start=$(date +%s%N)
timeout 25 "$qemu" -M microvm,x-option-roms=off,rtc=off -accel tcg \
	-nodefaults -no-user-config -display none -m 64M \
	-serial "file:$tmp/serial" \
	-device isa-debug-exit,iobase=0x501,iosize=4 \
	-kernel "$elf" </dev/null >"$tmp/qemu.log" 2>&1
status=$?
end=$(date +%s%N)
echo "qemu ran for $(( (end - start) / 1000000 )) ms, exit status $status"

# isa-debug-exit: status = (code << 1) | 1, so guest code 0 -> 1.
[ "$status" -eq 124 ] && fail "QEMU timed out"
if [ "$status" -ne 1 ]; then
	cat "$tmp/qemu.log"
	fail "guest exit status $status (guest code $(( (status - 1) / 2 )), want 0)"
fi

out="$tmp/serial"
grep -q '^vmscope test guest: 1 CPU(s)$' "$out" || fail "no banner"
grep -q '^all 4 tasks done$' "$out" || fail "no final line"
grep -q 'FAIL' "$out" && fail "guest reported a failure"

# Expected results from the same workload compiled for the host.
cc=${CC:-cc}
cat >"$tmp/expect.c" <<'EOC'
#include <stdio.h>
#include "work.h"
int main(void)
{
	for (unsigned id = 1; id <= 4; id++)
		printf("%u 0x%016llx\n", id, (unsigned long long)tg_work(id));
	return 0;
}
EOC
have_expect=0
if "$cc" -O2 -I"$src/guest" "$tmp/expect.c" "$src/guest/work.c" -o "$tmp/expect" 2>"$tmp/cc.log" &&
   "$tmp/expect" >"$tmp/expected"; then
	have_expect=1
else
	echo "note: no host compiler ($cc), checking the task lines' format only"
fi

for task in "1 alpha" "2 beta" "3 gamma" "4 delta"; do
	set -- $task
	line=$(grep "^task $1 ($2): result 0x[0-9a-f]\{16\}\$" "$out")
	[ -n "$line" ] || fail "no result line for task $1 ($2)"
	[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || fail "task $1 reported more than once"
	got=${line##* }
	if [ "$have_expect" -eq 1 ]; then
		want=$(awk -v id="$1" '$1 == id { print $2 }' "$tmp/expected")
		[ "$got" = "$want" ] || fail "task $1 ($2): result $got, host computes $want"
	fi
done

echo "PASS: banner, 4 task results$( [ "$have_expect" -eq 1 ] && echo ' (equal to the host computation)'), all done"
exit 0
