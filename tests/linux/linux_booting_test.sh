#!/usr/bin/env bash
# The Linux views on a kernel that is still booting, live: Debian's vmlinux
# under vmscope with --vmi-socket, looked at while its start_kernel runs.
# Meant for kvm_pvm, where guest kernel mode is emulated and a Linux kernel
# spends minutes in its early boot (it never reaches its initcalls' end); on
# hardware-assisted KVM the same checks hold wherever the kernel has got to.
#   - before the kernel can be found, a view fails in one line with status 1
#     (never a crash, a hang or an empty success);
#   - then info finds it with no file from the user, the page tables and
#     kallsyms agreeing on where the kernel is, BTF and symbols from memory;
#   - dmesg starts with the banner info reports, and has the command line
#     vmscope gave the kernel;
#   - syscalls names the first system calls;
#   - ps lists what exists so far: distinct pids, no page tables for kernel
#     threads;
#   - a core dump taken then (vm.coredump) shows the same kernel and log;
#   - a later dmesg has grown past the first one: these are live reads.
#
# usage: linux_booting_test.sh VMSCOPE VMSCOPE_CTL FIXTURES_DIR
set -uo pipefail
vmscope=$1 ctl=$2 fix=$3
scale=${VMSCOPE_TIME_SCALE:-1}
work=$(mktemp -d)
vmm=''
trap 'kill $vmm 2>/dev/null; rm -rf "$work"' EXIT
fails=0
check() {
	if eval "$2"; then
		echo "ok: $1"
	else
		echo "FAIL: $1"
		fails=$((fails + 1))
	fi
}
view() { timeout $((60 * scale)) "$ctl" --socket "$work/vmi" "$@"; }

# kvm_pvm: the vmlinux (a bzImage's decompressor alone takes minutes there);
# hardware-assisted KVM: the bzImage, whose decompressor moves the kernel
# while the views look for it, and KASLR on.
image=vmlinux
grep -qwE 'vmx|svm' /proc/cpuinfo && image=bzImage
"$vmscope" --kernel "$fix/$image" --memory size=512M --cpus boot=1 \
	--cmdline "console=ttyS0 vmscope.booting=1" --console off --serial file="$work/console" \
	--vmi-socket "$work/vmi" --api-socket "path=$work/api" 2>"$work/vmm.err" &
vmm=$!

# Poll until dmesg answers with the banner; every refusal before that must be
# one line with status 1.
found=0 refusals=0
for _ in $(seq $((240 * scale))); do
	if ! kill -0 $vmm 2>/dev/null; then
		echo "FAIL: vmscope ended: $(tail -3 "$work/vmm.err")"
		exit 1
	fi
	if [ -S "$work/vmi" ]; then
		view dmesg >"$work/dmesg1" 2>"$work/err"; st=$?
		# found, and the kernel has printed its banner and more (an empty log is no refusal)
		if [ $st = 0 ] && grep -q "Linux version" "$work/dmesg1" && [ "$(wc -l <"$work/dmesg1")" -ge 2 ]; then
			found=1
			break
		fi
		[ $st = 0 ] && { sleep 0.5; continue; }
		if [ $st != 1 ] || [ "$(wc -l <"$work/err")" != 1 ] || [ -s "$work/dmesg1" ]; then
			echo "FAIL: a refusal before the kernel was found: status $st, $(cat "$work/err")"
			exit 1
		fi
		refusals=$((refusals + 1))
		cp "$work/err" "$work/last_refusal"
	fi
	sleep 0.5
done
check "the kernel and its banner were found while it boots (after $refusals refusals in one line each)" \
	'[ $found = 1 ]'
[ $found = 1 ] || exit 1
[ -s "$work/last_refusal" ] && echo "   last refusal: $(cat "$work/last_refusal")"

# While the kernel rebuilds its page tables a view may be refused (one line,
# status 1) and answer a moment later.
for _ in $(seq 20); do
	view --json info >"$work/info" 2>"$work/err"; st=$?
	[ $st = 1 ] && [ "$(wc -l <"$work/err")" = 1 ] || break
	echo "   info refused for now: $(cat "$work/err")"
	sleep 0.5
done
check "info: $(grep -o '"kaslr_how":"[^"]*"' "$work/info")" \
	'grep -q "kallsyms _text agrees" "$work/info"'
[ $image = vmlinux ] && check "info: KASLR offset 0 (vmlinux is not relocated)" \
	'grep -q "\"kaslr_offset\":\"0x0\"" "$work/info"'
check "info: BTF and symbols from guest memory" \
	'grep -q "\"btf_how\":\"guest memory" "$work/info" &&
	 grep -q "\"symbols_how\":\"kallsyms in guest memory" "$work/info"'

version=$(sed -n 's/.*"version":"\([^"]*\)".*/\1/p' "$work/info")
check "dmesg starts with the banner info reports" \
	'[ -n "$version" ] && head -1 "$work/dmesg1" | grep -qF "$version"'
check "dmesg has the command line vmscope gave" \
	'grep -q "Command line: console=ttyS0 vmscope.booting=1" "$work/dmesg1"'

view --json syscalls >"$work/syscalls" 2>&1
check "syscalls: 0 read, 1 write, 59 execve" \
	'grep -q "{\"nr\":0,\"name\":\"read\"}" "$work/syscalls" &&
	 grep -q "{\"nr\":1,\"name\":\"write\"}" "$work/syscalls" &&
	 grep -q "{\"nr\":59,\"name\":\"execve\"}" "$work/syscalls"'

view --json ps >"$work/ps" 2>"$work/err"; st=$?
check "ps: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$work/ps" 2>/dev/null) tasks so far, distinct pids, kernel threads without page tables" \
	'[ $st = 0 ] && python3 - "$work/ps" <<-"EOF"
	import json, sys
	tasks = json.load(open(sys.argv[1]))
	pids = [t["pid"] for t in tasks]
	sys.exit(len(pids) != len(set(pids)) or any(p <= 0 for p in pids) or
	         any(t["cr3"] != "0x0" for t in tasks if t["kthread"]))
	EOF'

# A core dump of the booting kernel (paused, vm.coredump) shows the same kernel and log.
"$ctl" --api-socket "$work/api" pause && "$ctl" --api-socket "$work/api" coredump "$work/guest.core" &&
	"$ctl" --api-socket "$work/api" resume || echo "FAIL: pause, vm.coredump, resume"
"$ctl" --core "$work/guest.core" --json info >"$work/core_info" 2>&1
check "vm.coredump while it boots: the core's info has the same _text and kernel CR3" \
	'[ "$(grep -o "\"text\":\"[^\"]*\"" "$work/info")" = \
	   "$(grep -o "\"text\":\"[^\"]*\"" "$work/core_info")" ] &&
	 [ "$(grep -o "\"kernel_cr3\":\"[^\"]*\"" "$work/info")" = \
	   "$(grep -o "\"kernel_cr3\":\"[^\"]*\"" "$work/core_info")" ]'
"$ctl" --core "$work/guest.core" dmesg >"$work/core_dmesg" 2>&1
# Every line but the last, which pr_cont may still extend, stays as it was.
head -n -1 "$work/dmesg1" >"$work/settled"
check "the core's dmesg holds the live one's lines" \
	'[ -s "$work/settled" ] && ! grep -vxFf "$work/core_dmesg" "$work/settled"'
rm -f "$work/guest.core"

# The kernel goes on printing while it boots: a later read has more.
grown=0
for _ in $(seq $((120 * scale))); do
	view dmesg >"$work/dmesg2" 2>/dev/null
	if [ "$(wc -l <"$work/dmesg2")" -gt "$(wc -l <"$work/dmesg1")" ]; then
		grown=1
		break
	fi
	sleep 0.5
done
check "a later dmesg has grown ($(wc -l <"$work/dmesg1") lines, then $(wc -l <"$work/dmesg2")), with the first one's lines" \
	'[ $grown = 1 ] && ! grep -vxFf "$work/dmesg2" "$work/settled"'

[ $fails = 0 ] || { echo "vmscope's log:"; tail -5 "$work/vmm.err"; exit 1; }
