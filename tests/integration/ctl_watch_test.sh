#!/usr/bin/env bash
# vmscope-ctl watch (the demo's client) against the embedded guest on two
# vCPUs: it must learn the system-call entry from the guest's LSTAR write
# (the address of tg_syscall_entry in the guest ELF), see every system call
# of every task (6 each), read each write's text through the task's own
# address space exactly as the guest prints it, and see the results the
# guest reports.
# Usage: ctl_watch_test.sh VMSCOPE VMSCOPE_CTL GUEST_ELF
set -uo pipefail
vmscope=$1 ctl=$2 elf=$3
work=$(mktemp -d)
trap 'kill $vmm 2>/dev/null; rm -rf "$work"' EXIT
fails=0
check() { if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi; }

"$vmscope" --cpus boot=2 --memory size=128M --vmi-socket "$work/s" --vmi-wait >"$work/guest" 2>"$work/vmm.err" &
vmm=$!
for _ in $(seq 100); do [ -S "$work/s" ] && break; sleep 0.05; done
timeout 30 "$ctl" --socket "$work/s" --guest-elf "$elf" watch >"$work/watch" 2>&1
ctl_status=$?
wait $vmm
vmm_status=$?

entry=$(python3 - "$elf" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
shoff, = struct.unpack_from("<Q", d, 0x28); shentsize, shnum = struct.unpack_from("<HH", d, 0x3a)
secs = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
for s in secs:
    if s[1] == 2:  # SHT_SYMTAB
        strtab = secs[s[6]]
        for o in range(s[4], s[4] + s[5], 24):
            name, info, other, shndx, value, size = struct.unpack_from("<IBBHQQ", d, o)
            n = d[strtab[4] + name:].split(b"\0", 1)[0]
            if n == b"tg_syscall_entry":
                print(hex(value))
PY
)
# Where this host's KVM lets the guest take int3 (QEMU's emulated SVM; vmscope
# probes it at start-up), watch cannot plant its breakpoint: it must say so,
# and the guest, resumed when watch detaches, must finish unharmed.
probe=$("$vmscope" --log-level info --serial null 2>&1)
if [[ $probe == *"host KVM: int3 not intercepted"* ]]; then
	check "watch exits 1, vmscope 0 ($ctl_status, $vmm_status)" '[ $ctl_status -eq 1 ] && [ $vmm_status -eq 0 ]'
	check "watch says why" 'grep -q "^vmscope-ctl: watch: int3: this KVM lets the guest take it (probed at start)$" "$work/watch"'
	check "the guest finished" 'grep -q "all 4 tasks done" "$work/guest"'
	[ $fails -eq 0 ] || { echo "--- watch output"; cat "$work/watch"; echo "--- guest"; cat "$work/guest" "$work/vmm.err"; }
	exit $((fails > 0))
fi
check "vmscope and vmscope-ctl exit 0 ($vmm_status, $ctl_status)" '[ $vmm_status -eq 0 ] && [ $ctl_status -eq 0 ]'
check "LSTAR write seen with tg_syscall_entry ($entry)" 'grep -q "wrote LSTAR = $entry " "$work/watch"'
check "24 system calls, 4 exits, guest ended" 'grep -q "24 system call(s) seen, 4 task exit(s); the guest has ended" "$work/watch"'
for id in 1 2 3 4; do
	calls=$(grep -c "^watch: vCPU [01] task $id (" "$work/watch")
	check "task $id: 6 system calls ($calls)" '[ "$calls" -eq 6 ]'
	line=$(grep "^task $id (" "$work/guest")
	check "task $id: the write's text read through its CR3 is the guest's line" \
		'[ -n "$line" ] && grep -qF "\"$line\"" "$work/watch"'
	result=${line##* }
	check "task $id: exit carries the result $result" 'grep -q "task $id (.*exit(0, result $result)" "$work/watch"'
	name=$(echo "$line" | sed -E 's/^task [0-9]+ \(([a-z]+)\).*/\1/')
	check "task $id: names from kernel memory and from its own address space agree" \
		'grep -qE "^$id +[a-z]+ +[01] +0x[0-9a-f]+ +$name +$name " "$work/watch"'
done
[ $fails -eq 0 ] || { echo "--- watch output"; cat "$work/watch"; echo "--- guest"; cat "$work/guest" "$work/vmm.err"; }
[ $fails -eq 0 ]
