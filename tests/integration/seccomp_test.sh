#!/usr/bin/env bash
# The system-call filters (--seccomp, src/seccomp_filter.c) are in force on
# every thread, and a forbidden call ends vmscope with SIGSYS and a line that
# names the thread and the call:
#   - every thread of a running vmscope (vCPUs, virtio worker, control socket,
#     GDB stub, main) is filtered (/proc/PID/task/*/status: Seccomp 2);
#   - for each kind of thread, the test-only hook VMSCOPE_SECCOMP_SELFTEST
#     makes that thread call getsid, which no filter allows: killed by
#     SIGSYS (status 159), the line on stderr;
#   - with --seccomp log the same call is let through (the guest runs to its
#     end, status 0), and with --seccomp false there is no filter (Seccomp 0);
#   - a bad --seccomp value is refused in one line (status 2).
# The rest of the test suite runs with the filter on (it is the default).
# Usage: seccomp_test.sh VMSCOPE
set -uo pipefail
vmscope=$1
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
fails=0
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if [ ! -w /dev/kvm ]; then
	[ "${VMSCOPE_REQUIRE_KVM:-0}" = 1 ] && { echo "FAIL: no usable /dev/kvm"; exit 1; }
	echo "SKIP: no usable /dev/kvm"; exit 77
fi

# Every device thread there is: 2 vCPUs, virtio-rng's worker, the control
# socket, the GDB stub; held before the first instruction.
all_threads() {
	exec "$vmscope" --serial null --cpus boot=2 --rng --vmi-socket "$work/vmi.sock" --vmi-wait \
		--gdb "path=$work/gdb.sock,wait=off" "$@"
}

# seccomp_fields PID: how many of its threads have each Seccomp field (2: a filter).
seccomp_fields() {
	for t in /proc/$1/task/*; do sed -n 's/^Seccomp:[[:space:]]*//p' "$t/status"; done | sort | uniq -c |
		awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }'
}

for mode in true false; do
	rm -f "$work/vmi.sock"
	all_threads --seccomp "$mode" 2>"$work/err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$work/vmi.sock" ] && break; sleep 0.05; done
	sleep 0.3 # the threads install their filters as they start
	fields=$(seccomp_fields $pid)
	threads=$(ls /proc/$pid/task | wc -l)
	want=$([ $mode = true ] && echo 2 || echo 0)
	if [ "$threads" -ge 6 ] && [ "$fields" = "$want x$threads" ]; then
		ok "--seccomp $mode: $threads threads, Seccomp field $fields"
	else
		fail "--seccomp $mode: $threads threads (want 6 or more), Seccomp fields: $fields"
	fi
	kill $pid; wait $pid 2>/dev/null; pid=
done

for kind in vmm vcpu virtio vmi gdb; do
	rm -f "$work/vmi.sock"
	VMSCOPE_SECCOMP_SELFTEST=$kind timeout 30 "$vmscope" --serial null --cpus boot=2 --rng \
		--vmi-socket "$work/vmi.sock" --gdb "path=$work/gdb.sock,wait=off" 2>"$work/err"
	status=$?
	line="the $kind thread made a system call its filter forbids: getsid"
	if [ $status -eq 159 ] && grep -q "$line" "$work/err"; then
		ok "$kind: killed by SIGSYS, and said so: $(grep -o "the $kind thread.*getsid ([0-9]*)" "$work/err")"
	else
		fail "$kind: status $status (want 159, SIGSYS); stderr: $(head -c 300 "$work/err")"
	fi
done

VMSCOPE_SECCOMP_SELFTEST=vcpu timeout 30 "$vmscope" --serial file="$work/serial" --seccomp log \
	2>"$work/err"
status=$?
[ $status -eq 0 ] && grep -q "all 4 tasks done" "$work/serial" &&
	ok "--seccomp log: the forbidden call let through, the guest ran to its end" ||
	fail "--seccomp log: status $status; $(head -c 300 "$work/err")"

"$vmscope" --seccomp maybe 2>"$work/err"
status=$?
[ $status -eq 2 ] && grep -q "^vmscope: error: --seccomp: expected true, false or log, not 'maybe'$" "$work/err" &&
	ok "--seccomp maybe refused: $(cat "$work/err")" || fail "--seccomp maybe: status $status, $(cat "$work/err")"

[ $fails -eq 0 ] && echo "all seccomp checks passed"
[ $fails -eq 0 ]
