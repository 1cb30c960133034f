#!/usr/bin/env bash
# Live introspection of a running Linux guest, compared with what the guest
# says of itself: Debian's vmlinux on $LINUX_CPUS vCPUs (default 2) under vmscope with
# --vmi-socket, its initramfs listing its processes ("proc: PID COMM") and
# then printing a tick a second (vmscope.linger).  While it runs:
#   info      finds the kernel (release, KASLR) with no file from the user;
#   ps        has every process the guest listed (its kernel threads and
#             /init), same pid, same name;
#   cmdline 1 is /init's command line as the guest reads it;
#   dmesg     holds the kernel's banner and the command line it was given;
#   pause     stops the guest: no tick while paused, ticks again after;
# and the guest then powers off through ACPI (status 0).
#
# usage: linux_live_test.sh VMSCOPE VMSCOPE_CTL FIXTURES_DIR
# Needs hardware-assisted KVM (the svm suite runs it in a nested-SVM L1): on
# kvm_pvm a Linux kernel does not reach its initramfs in a test's time.
set -uo pipefail
vmscope=$1 ctl=$2 fix=$3

. "$(dirname "$0")/running_linux.sh"

start_linux --vmi-socket "$work/vmi"
tr -d '\r' <"$work/console" >"$work/guest"
check "the guest sees $cpus CPUs" 'grep -q "^cpus: $cpus$" "$work/guest"'

"$ctl" --socket "$work/vmi" info >"$work/info" 2>&1
check "info finds the kernel ($(grep -m1 release: "$work/info"))" \
	'grep -q "^release: *6\." "$work/info" && grep -q "^_text: *0xffffffff" "$work/info"'

"$ctl" --socket "$work/vmi" --json ps >"$work/ps.json" 2>"$work/ps.err"
check "ps answers" '[ -s "$work/ps.json" ]'
# Every process the guest listed but its transient children (cat, the
# subshells of /init) must be there with the same pid and name.
missing=$(python3 - "$work/guest" "$work/ps.json" <<'PY'
import json, re, sys
def stable(name):
    """A kworker's name ends in the workqueue it last ran ("kworker/0:1-events"),
    which moves between the guest's listing and ours: compare the rest."""
    return name.split("-", 1)[0] if name.startswith("kworker/") else name
listed = {}
for line in open(sys.argv[1]):
    m = re.match(r"^proc: (\d+) (.+)$", line.rstrip("\n"))
    if m and m.group(2) != "cat" and (m.group(2) != "init" or m.group(1) == "1"):
        listed[int(m.group(1))] = stable(m.group(2))
# "name" is what /proc/PID/comm shows: a kernel thread's full name.
seen = {p["pid"]: stable(p["name"]) for p in json.load(open(sys.argv[2]))}
bad = ["%d %s (vmscope-ctl: %s)" % (pid, comm, seen.get(pid, "absent"))
       for pid, comm in sorted(listed.items()) if seen.get(pid) != comm]
print("%d listed; " % len(listed) + ("; ".join(bad) if bad else "all found"))
sys.exit(1 if bad or len(listed) < 10 else 0)
PY
)
ps_ok=$?
check "ps has the guest's processes: $missing" '[ $ps_ok -eq 0 ]'

"$ctl" --socket "$work/vmi" cmdline 1 >"$work/cmdline" 2>&1
pid1=$(sed -n 's/^cmdline1: //p' "$work/guest" | sed 's/ *$//')
check "cmdline 1 is what the guest says ($(head -c 60 "$work/cmdline") / $pid1)" \
	'[ -n "$pid1" ] && [ "$(cat "$work/cmdline")" = "$pid1" ]'

"$ctl" --socket "$work/vmi" dmesg >"$work/dmesg" 2>&1
check "dmesg has the banner" 'grep -q "Linux version 6\." "$work/dmesg"'
check "dmesg has the command line" 'grep -q "Command line: console=ttyS0 vmscope.linger=" "$work/dmesg"'

# Paused for 5 s: no tick may appear meanwhile.
before=$(grep -c "^tick" "$work/console")
timeout 5 "$ctl" --socket "$work/vmi" pause 2>"$work/pause.err"
sleep 0.2
after_pause=$(grep -c "^tick" "$work/console")
sleep $((3 * scale))
after_resume=$(grep -c "^tick" "$work/console")
check "no tick while paused ($before, then $after_pause)" '[ "$after_pause" -le $((before + 1)) ]'
check "ticks again after resume ($after_resume)" '[ "$after_resume" -gt "$after_pause" ]'

wait $vmm
status=$?
check "the guest powered off through ACPI (status $status)" '[ $status -eq 0 ]'
if [ $fails -ne 0 ]; then
	for f in info ps.err cmdline pause.err vmm.err; do echo "--- $f"; head -n 20 "$work/$f"; done
	echo "--- guest"; tr -d '\r' <"$work/console" | grep -vE "^\[ *[0-9.]+\] " | head -n 60
	echo "--- failed"; cat "$work/checks"
fi
[ $fails -eq 0 ]
