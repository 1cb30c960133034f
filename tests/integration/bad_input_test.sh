#!/usr/bin/env bash
# Every kind of bad input gets exactly one line on stderr naming the problem
# and exit status 2: never a crash, a hang or a silent success.
# Usage: bad_input_test.sh VMSCOPE GUEST_ELF
set -uo pipefail
vmscope=$1 guest_elf=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0 count=0

# expect_bad "what" "pattern in the message" vmscope-args...
expect_bad() {
	local what=$1 pattern=$2; shift 2
	local status lines
	count=$((count + 1))
	local quiet=(--serial null)
	[[ " $* " == *" --serial "* ]] && quiet=()
	timeout 20 "$vmscope" "${quiet[@]}" "$@" >"$work/out" 2>"$work/err" </dev/null
	status=$?
	lines=$(wc -l <"$work/err")
	if [ "$status" -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -qiE -- "$pattern" "$work/err"; then
		echo "FAIL: $what: status $status, $lines line(s) on stderr, wanted 2, 1 line matching /$pattern/:"
		sed 's/^/    /' "$work/err" | head -5
		fails=$((fails + 1))
	else
		echo "ok: $what: $(cat "$work/err")"
	fi
}

# Crafted files.
: >"$work/empty"
head -c 4096 /dev/urandom >"$work/garbage"
printf '\x7fELF' >"$work/elf-magic-only"
head -c 100 "$guest_elf" >"$work/truncated.elf"
mkdir "$work/dir"
python3 - "$guest_elf" "$work/outside.elf" <<'PY'
# Moves the first PT_LOAD segment far beyond any RAM.
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
phoff, = struct.unpack_from("<Q", d, 0x20)
phentsize, phnum = struct.unpack_from("<HH", d, 0x36)
for i in range(phnum):
    off = phoff + i * phentsize
    if struct.unpack_from("<I", d, off)[0] == 1:
        struct.pack_into("<QQ", d, off + 0x10, 0x7f0000000000, 0x7f0000000000)
        break
open(sys.argv[2], "wb").write(d)
PY
head -c $((80 * 1024 * 1024)) /dev/zero >"$work/big.initrd"

expect_bad "missing kernel" "cannot open" --kernel "$work/nope"
expect_bad "kernel is a directory" "not a regular file" --kernel "$work/dir"
expect_bad "empty kernel" "empty" --kernel "$work/empty"
expect_bad "garbage kernel" "not an ELF|bzImage|unrecogni" --kernel "$work/garbage"
expect_bad "bare ELF magic" "truncat|too small|short" --kernel "$work/elf-magic-only"
expect_bad "truncated ELF" "truncat|beyond|outside the file|short" --kernel "$work/truncated.elf"
expect_bad "ELF segment outside RAM" "outside.*RAM|RAM" --kernel "$work/outside.elf"
expect_bad "missing initramfs" "cannot open" --initramfs "$work/nope"
expect_bad "empty initramfs" "empty" --initramfs "$work/empty"
expect_bad "initramfs larger than RAM" "initramfs|initrd|fit|too small" \
	--memory size=64M --initramfs "$work/big.initrd"
expect_bad "memory beyond the host" "host" --memory size=65536G
expect_bad "memory not a size" "invalid size" --memory size=12Q
expect_bad "memory too small" "memory" --memory size=1M
expect_bad "no vCPUs" "cpus" --cpus boot=0
expect_bad "more vCPUs than KVM allows" "cpus" --cpus boot=4000
expect_bad "unknown option" "unknown option" --frobnicate
expect_bad "positional argument" "argument|unknown|unexpected" stray
expect_bad "disk without a path" "path" --disk readonly=on
expect_bad "disk option not implemented" "not supported yet" --disk path=/dev/null,num_queues=4
expect_bad "missing disk image" "--disk: cannot open" --disk path="$work/nope"
expect_bad "disk image is a directory" "--disk" --disk path="$work/dir"
expect_bad "serial file in a missing directory" "--serial: cannot open" --serial file="$work/nope/s"
expect_bad "console file in a missing directory" "--console: cannot open" --console file="$work/nope/c"
expect_bad "missing rng source" "--rng: cannot open" --rng src="$work/nope"
expect_bad "later option --fs" "not supported yet" --fs tag=x,socket=/tmp/fs.sock
expect_bad "--api-socket with a bad fd" "invalid fd" --api-socket fd=x
expect_bad "a VM option with --api-socket and no --kernel" "with --api-socket and no --kernel the VM is made by the API" --api-socket path=/tmp/vmscope-bad-api.sock --cpus boot=2
expect_bad "--gdb without a socket" "exactly one of path=SOCKET or tcp=ADDR:PORT" --gdb wait=off
expect_bad "--gdb with a host name" "invalid tcp address" --gdb tcp=localhost:1234
expect_bad "--gdb open to the network" "add allow-remote=on" --gdb tcp=0.0.0.0:1234
expect_bad "--irqchip neither on nor off" "--irqchip: expected on or off" --irqchip maybe
expect_bad "a disk without interrupts" "--disk: a virtio device needs interrupts" \
	--irqchip off --disk path=/dev/null
expect_bad "a console without interrupts" "--console: a virtio device needs interrupts" \
	--irqchip off --console tty

bz=$(ls /boot/vmlinuz-* 2>/dev/null | head -1)
if [ -n "$bz" ]; then
	expect_bad "command line longer than the kernel accepts" "command line" \
		--kernel "$bz" --cmdline "$(head -c 5000 /dev/zero | tr '\0' x)"
	expect_bad "memory too small for the kernel" "memory|RAM|fit|small" \
		--kernel "$bz" --memory size=4M
	expect_bad "APs nobody can start" "--irqchip off: with more than one vCPU" \
		--kernel "$bz" --irqchip off --cpus boot=2
else
	echo "note: no /boot/vmlinuz-*: the kernel command-line and small-memory cases did not run"
fi

echo "$((count - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
