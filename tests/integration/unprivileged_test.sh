#!/usr/bin/env bash
# vmscope as an ordinary user: a uid with no capabilities and no group but
# /dev/kvm's (setpriv), which is all vmscope needs without a tap to create:
#   - the test guest runs to its end;
#   - an introspection client (the same user) reads its registers;
#   - GDB reads its registers over the unix socket;
#   - the REST API creates, boots and stops a VM, and vmscope with it;
#   - a tap made for that user beforehand (by root) is used (--net tap=NAME);
#   - creating a tap is refused in one line that says it needs CAP_NET_ADMIN
#     and what to do instead; so is a tap of another user;
#   - the README's first command, scripts/demo.sh, builds and runs the demo in
#     that user's own copy of the sources (the Debian packages it needs are
#     there already: installing them is the one step that needs root).
# (The svm suite runs a Linux guest with a disk and a network the same way:
# linux_virtio_boot_user_up.)
# Usage: unprivileged_test.sh VMSCOPE VMSCOPE_CTL GUEST_ELF SOURCE_ROOT   (as root)
set -uo pipefail
vmscope=$(realpath "$1") ctl=$(realpath "$2") guest=$(realpath "$3") src=$(realpath "$4")
user=64123 other=64124
work=$(mktemp -d)
tap= pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; [ -n "$tap" ] && ip link del "$tap" 2>/dev/null; rm -rf "$work"' EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root, to become another user and to make that user's tap"; exit 77
fi
if [ ! -e /dev/kvm ]; then
	[ "${VMSCOPE_REQUIRE_KVM:-0}" = 1 ] && { echo "FAIL: no /dev/kvm"; exit 1; }
	echo "SKIP: no /dev/kvm"; exit 77
fi
command -v setpriv >/dev/null || { echo "FAIL: setpriv (util-linux) is missing"; exit 1; }
chown "$user:$user" "$work"
kvm_gid=$(stat -c %g /dev/kvm)
# as [UID] COMMAND...: COMMAND as that user, in /dev/kvm's group only, no capabilities.
as() {
	local uid=$user
	[ "$1" = "$other" ] && { uid=$other; shift; }
	setpriv --reuid="$uid" --regid="$uid" --groups="$kvm_gid" --inh-caps=-all \
		--bounding-set=-all -- "$@"
}
as sh -c 'grep -E "^(Uid|CapEff|CapBnd):" /proc/self/status | tr -s "\t" " " | tr "\n" " "' >"$work/who"
grep -q "Uid: $user $user" "$work/who" && grep -q "CapEff: 0000000000000000" "$work/who" &&
	ok "running as uid $user, no capabilities: $(cat "$work/who")" || fail "not unprivileged: $(cat "$work/who")"

# The test guest.
as "$vmscope" --kernel "$guest" --serial file="$work/serial" --cpus boot=2 2>"$work/err"
st=$?
[ $st -eq 0 ] && grep -q "all 4 tasks done" "$work/serial" && ok "the test guest ran to its end" ||
	fail "the test guest: status $st, $(head -c 300 "$work/err")"

# Introspection: the client reads vCPU 0's registers while the guest waits.
as "$vmscope" --kernel "$guest" --serial null --vmi-socket "$work/vmi" --vmi-wait 2>"$work/err" &
pid=$!
for _ in $(seq 100); do [ -S "$work/vmi" ] && break; sleep 0.05; done
as "$ctl" --socket "$work/vmi" regs >"$work/regs" 2>&1
grep -q "rip [0-9a-f]" "$work/regs" && ok "vmscope-ctl regs as the same user: $(grep -o 'rip [0-9a-f]*' "$work/regs" | head -1)" ||
	fail "vmscope-ctl regs: $(head -c 300 "$work/regs")"
wait $pid; st=$?; pid=
[ $st -eq 0 ] && ok "the guest ran on once the client left" || fail "status $st: $(head -c 300 "$work/err")"

# GDB over the unix socket.
if command -v gdb >/dev/null; then
	as "$vmscope" --kernel "$guest" --serial null --gdb "path=$work/gdb" 2>"$work/err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$work/gdb" ] && break; sleep 0.05; done
	HOME=$work as gdb -nx -batch -ex "target remote $work/gdb" -ex "info registers rip" \
		-ex detach >"$work/gdb.out" 2>&1
	grep -q "^rip " "$work/gdb.out" && ok "GDB as the same user: $(grep '^rip ' "$work/gdb.out" | tr -s ' ')" ||
		fail "GDB: $(tail -c 300 "$work/gdb.out")"
	wait $pid; st=$?; pid=
	[ $st -eq 0 ] && ok "the guest ran on after GDB detached" || fail "status $st: $(head -c 300 "$work/err")"
else
	fail "gdb is not installed"
fi

# The REST API.
as "$vmscope" --api-socket "path=$work/api" 2>"$work/err" &
pid=$!
for _ in $(seq 100); do [ -S "$work/api" ] && break; sleep 0.05; done
printf '{"payload": {"kernel": "%s"}, "serial": {"mode": "Null"}, "console": {"mode": "Off"},
  "vmscope": {"vmi_socket": "%s", "vmi_wait": true}}' "$guest" "$work/vmi2" >"$work/vm.json"
chown "$user" "$work/vm.json"
as "$ctl" --api-socket "$work/api" create "$work/vm.json" && as "$ctl" --api-socket "$work/api" boot &&
	as "$ctl" --api-socket "$work/api" info >"$work/info" && grep -q '"state":"Paused"' "$work/info" &&
	as "$ctl" --api-socket "$work/api" shutdown-vmm
st=$?
wait $pid; vst=$?; pid=
[ $st -eq 0 ] && [ $vst -eq 0 ] && ok "REST API: create, boot, info (Paused), shutdown-vmm" ||
	fail "REST API: status $st/$vst, $(cat "$work/info" 2>/dev/null | head -c 200) $(head -c 300 "$work/err")"

# Network: a tap made for the user is used; creating one, or another's, is refused.
tap=vmsu$$
if ip tuntap add dev "$tap" mode tap user "$user" && ip link set "$tap" up; then
	as "$vmscope" --kernel "$guest" --serial null --net "tap=$tap" -v 2>"$work/err"
	st=$?
	[ $st -eq 0 ] && grep -q "virtio-net: $tap" "$work/err" && ok "--net tap=$tap (the user's own) used" ||
		fail "--net tap=$tap: status $st, $(head -c 300 "$work/err")"
	as "$other" "$vmscope" --kernel "$guest" --serial null --net "tap=$tap" 2>"$work/err"
	st=$?
	[ $st -eq 2 ] && grep -q "tap '$tap' belongs to another user" "$work/err" &&
		ok "another user's tap refused: $(cat "$work/err")" || fail "another user's tap: status $st, $(cat "$work/err")"
else
	fail "root cannot make a tap here (ip tuntap add)"
fi
as "$vmscope" --kernel "$guest" --serial null --net "tap=" 2>"$work/err"
st=$?
[ $st -eq 2 ] && [ "$(wc -l <"$work/err")" -eq 1 ] &&
	grep -q "creating a tap device needs CAP_NET_ADMIN.*ip tuntap add dev tap0 mode tap user $user" "$work/err" &&
	ok "creating a tap refused in one line: $(cat "$work/err")" || fail "creating a tap: status $st, $(cat "$work/err")"

# The demo, built and run by the user from a copy of the sources (not in the
# nested-SVM L1, where compiling under QEMU's emulation takes too long: the
# rest above runs there).
if [ "${VMSCOPE_IN_L1:-0}" = 1 ]; then
	echo "note: in the L1 the demo is not built again (the checks above ran on this KVM)"
elif git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
	mkdir "$work/src"
	git -C "$src" ls-files -z | (cd "$src" && xargs -0 cp --parents -t "$work/src")
	chown -R "$user:$user" "$work/src"
	(cd "$work/src" && HOME=$work timeout 600 setpriv --reuid="$user" --regid="$user" \
		--groups="$kvm_gid" --inh-caps=-all --bounding-set=-all -- scripts/demo.sh) \
		>"$work/demo.out" 2>&1
	st=$?
	[ $st -eq 0 ] && grep -q "the guest has ended" "$work/demo.out" &&
		ok "scripts/demo.sh as uid $user: $(grep -m1 'system call(s) seen' "$work/demo.out")" ||
		fail "scripts/demo.sh as uid $user: status $st; $(tail -n 5 "$work/demo.out")"
else
	echo "note: $src is not a git checkout: the demo is not run from a copy"
fi

[ $fails -eq 0 ] && echo "all unprivileged checks passed"
[ $fails -eq 0 ]
