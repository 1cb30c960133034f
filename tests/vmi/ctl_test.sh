#!/usr/bin/env bash
# vmscope-ctl against the embedded test guest: regs, read, translate, tasks,
# stats; then the guest finishes once vmscope-ctl detaches.
#   ctl_test.sh VMSCOPE VMSCOPE_CTL GUEST_ELF
set -u
VMSCOPE=$1 CTL=$2 ELF=$3
if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	[ "${VMSCOPE_REQUIRE_KVM:-}" = 1 ] && { echo "FAIL: no usable /dev/kvm"; exit 1; }
	echo "SKIP: no usable /dev/kvm"; exit 77
fi
dir=$(mktemp -d) || exit 1
trap 'kill $vm 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; cat "$dir/log" 2>/dev/null; exit 1; }

start() {
	rm -f "$dir/s"
	timeout 60 "$VMSCOPE" --serial file="$dir/serial" --memory size=64M \
		--vmi-socket "$dir/s" --vmi-wait "$@" 2>"$dir/log" &
	vm=$!
	for _ in $(seq 100); do [ -S "$dir/s" ] && break; sleep 0.05; done
	[ "$(stat -c %a "$dir/s")" = 600 ] || fail "socket mode is not 0600"
}
finish() {
	wait $vm
	status=$?
	[ $status = 0 ] || fail "vmscope exited with $status"
	grep -q "all 4 tasks done" "$dir/serial" || fail "guest did not finish"
}

# Detaching resumes a --vmi-wait guest, which then runs to its end: one
# command per run.
start
out=$("$CTL" -s "$dir/s" --guest-elf "$ELF" tasks) || fail "tasks: $out"
for n in alpha beta gamma delta; do
	echo "$out" | grep -q " $n " || fail "tasks lacks $n: $out"
done
finish

start
table=$(nm "$ELF" | awk '$3 == "tg_task_table" { print "0x" $1 }')
out=$("$CTL" -s "$dir/s" read "$table" 8) || fail "read: $out"
echo "$out" | grep -q "VMSGTASK" || fail "read of the task table magic: $out"
finish

start
out=$("$CTL" -s "$dir/s" regs) || fail "regs: $out"
echo "$out" | grep -q "^rip " || fail "regs: $out"
finish
# Options stand before or after the command, as in other tools.
start
out=$("$CTL" events io --json --count 2 --socket "$dir/s") || fail "events io --json after the command: $out"
[ "$(echo "$out" | grep -c '^{"kind":"io",')" = 2 ] || fail "want two JSON io events: $out"
finish

# events starts a guest held at its start; without the in-kernel irqchip,
# vCPU 1 parking itself (cli; hlt past tg_park) is an HLT event.
start --irqchip off --cpus boot=2
park=$(printf '0x%x' $((0x$(nm "$ELF" | awk '$3 == "tg_park" { print $1 }') + 2)))
out=$("$CTL" -s "$dir/s" --timeout 20000 events hlt) || fail "events hlt: $out"
[ "$(echo "$out" | grep -c "vcpu 1 .* hlt .*rip $park\$")" = 1 ] ||
	fail "want one HLT event of vCPU 1 at $park: $out"
finish

# On a host that does not single-step user mode (kvm_pvm), a breakpoint on
# sysret could never be stepped over: it is refused, with the reason.
if grep -qwE 'vmx|svm' /proc/cpuinfo; then
	echo "note: hardware virtualization: the sysret breakpoint refusal does not apply"
else
	sysret=$(objdump -d "$ELF" | awk '/\tsysretq/ { sub(":", "", $1); print "0x" $1; exit }')
	[ -n "$sysret" ] || fail "no sysretq in the guest"
	start
	if out=$("$CTL" -s "$dir/s" break "$sysret" 2>&1); then
		fail "a breakpoint on sysret at $sysret was accepted: $out"
	fi
	echo "$out" | grep -q "sysret" || fail "refusal does not say why: $out"
	finish
fi
# A protected page: its writes are printed (and still happen: the guest ends well).
start
frame=$(printf '%x' $((table >> 12)))
out=$("$CTL" -s "$dir/s" protect "$table" --count 2 2>&1) || fail "protect: $out"
[ "$(echo "$out" | grep -cE "page-write rip 0x[0-9a-f]+ gpa 0x$frame[0-9a-f]{3} len [1248]")" = 2 ] ||
	fail "want two writes to the page 0x${frame}000: $out"
finish

# Hardware breakpoint and watchpoint, as the start-up probe says this host's
# KVM allows (kvm_pvm: execute breakpoints yes, data watchpoints never).
sym() { printf '0x%x' $((0x$(nm "$ELF" | awk -v s="$1" '$3 == s { print $1 }'))); }
probe=$("$VMSCOPE" --log-level info --serial null 2>&1 | grep "host KVM:")
entry=$(sym tg_syscall_entry) total=$(sym tg_total_syscalls)
start
if [[ $probe == *"debug-register breakpoints intercepted"* ]]; then
	out=$("$CTL" -s "$dir/s" break --hw "$entry" --count 3 2>&1) || fail "break --hw: $out"
	[ "$(echo "$out" | grep -c "hw-breakpoint rip $entry addr $entry slot 0")" = 3 ] ||
		fail "want three hits at $entry: $out"
else
	out=$("$CTL" -s "$dir/s" break --hw "$entry" 2>&1) && fail "break --hw accepted: $out"
	echo "$out" | grep -q "probed at start" || fail "refusal does not say why: $out"
fi
finish
start
if [[ $probe == *"debug-register watchpoints intercepted"* ]]; then
	out=$("$CTL" -s "$dir/s" watch "$total" 8 --count 3 2>&1) || fail "watch: $out"
	for n in 0 1 2; do
		echo "$out" | grep -q "watch $total (slot 0): 0x$(printf %016x $n) -> 0x$(printf %016x $((n + 1)))\$" ||
			fail "watch: no change from $n to $((n + 1)): $out"
	done
else
	out=$("$CTL" -s "$dir/s" watch "$total" 8 2>&1) && fail "watch accepted: $out"
	echo "$out" | grep -q "watchpoints: this KVM ignores it (probed at start)" ||
		fail "refusal does not say why: $out"
fi
finish
start
out=$("$CTL" -s "$dir/s" watch "$total" 8 r 2>&1) && fail "a read watch accepted: $out"
echo "$out" | grep -q "x86 has no read-only watch" || fail "read watch refusal: $out"
finish
echo "ok"
