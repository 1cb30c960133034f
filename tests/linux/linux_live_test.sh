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
#   lsmod     has the modules the guest loaded ("module: NAME"), no others;
#   protect   the page of jiffies_64 (kernel data the timer tick writes): its
#             writes are seen, at jiffies_64's own address among them;
#   pause     stops the guest: no tick while paused, ticks again after;
#   vm.coredump of the paused guest (REST API), opened with --core, has the
#             processes the live ps had (all but the transient cat and sleep);
# and from the guest's first instruction (--vmi-wait), each vCPU's write of
# LSTAR is an MSR event whose value is entry_SYSCALL_64 in /proc/kallsyms;
# and the guest then powers off through ACPI (status 0).
#
# usage: linux_live_test.sh VMSCOPE VMSCOPE_CTL FIXTURES_DIR
# Needs hardware-assisted KVM (the svm suite runs it in a nested-SVM L1): on
# kvm_pvm a Linux kernel does not reach its initramfs in a test's time.
set -uo pipefail
vmscope=$1 ctl=$2 fix=$3

. "$(dirname "$0")/running_linux.sh"

# The first client, there before the guest's first instruction, takes each
# vCPU's LSTAR write and then lets go (the guest runs on).
(
	for _ in $(seq 200); do [ -S "$work/vmi" ] && break; sleep 0.05; done
	timeout $((300 * scale)) "$ctl" --socket "$work/vmi" --json --count "$cpus" \
		events msr-write --msr 0xc0000082 >"$work/lstar" 2>&1
) &
first_client=$!
start_linux --vmi-socket "$work/vmi" --vmi-wait --api-socket "path=$work/api"
wait $first_client
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

entry=$(sed -n 's/^kallsyms: \([0-9a-f]*\) [Tt] entry_SYSCALL_64$/\1/p' "$work/guest")
lstar=$(python3 -c 'import json, sys
print(" ".join("%x" % json.loads(l)["value"] for l in open(sys.argv[1]) if l.startswith("{")))' "$work/lstar")
check "each vCPU wrote LSTAR = entry_SYSCALL_64 ($lstar; kallsyms: $entry)" \
	'[ -n "$entry" ] && [ "$lstar" = "$(for _ in $(seq "$cpus"); do printf "%s " "$entry"; done | sed "s/ \$//")" ]'

"$ctl" --socket "$work/vmi" --json lsmod >"$work/lsmod.json" 2>"$work/lsmod.err"
want=$(sed -n 's/^module: //p' "$work/guest" | LC_ALL=C sort | tr '\n' ' ')
got=$(python3 -c 'import json, sys
print(" ".join(sorted(m["name"] for m in json.load(open(sys.argv[1])))))' "$work/lsmod.json" 2>/dev/null)
check "lsmod is the guest's /proc/modules ($got)" '[ -n "$got" ] && [ "$got " = "$want" ]'

# jiffies_64's page protected: the tick's writes come as page-write events.
jiffies=$("$ctl" --socket "$work/vmi" sym jiffies_64 2>/dev/null | grep -oE '0xffffffff[0-9a-f]+')
cr3=$("$ctl" --socket "$work/vmi" regs 2>/dev/null | sed -n 's/.* cr3 \([0-9a-f]*\) .*/\1/p')
jpa=$("$ctl" --socket "$work/vmi" translate "0x$cr3" "$jiffies" 2>/dev/null | sed -n 's/.* -> \(0x[0-9a-f]*\) .*/\1/p')
timeout $((60 * scale)) "$ctl" --socket "$work/vmi" --json --count 20 protect "$jpa" >"$work/protect" 2>&1
check "writes to jiffies_64 ($jiffies, physical $jpa) seen on its protected page" \
	'[ -n "$jpa" ] && grep -q "\"kind\":\"page-write\".*\"gpa\":$((jpa)),\"len\":8" "$work/protect"'

# Paused for 5 s: no tick may appear meanwhile.
before=$(grep -c "^tick" "$work/console")
timeout 5 "$ctl" --socket "$work/vmi" pause 2>"$work/pause.err"
sleep 0.2
after_pause=$(grep -c "^tick" "$work/console")
sleep $((3 * scale))
after_resume=$(grep -c "^tick" "$work/console")
check "no tick while paused ($before, then $after_pause)" '[ "$after_pause" -le $((before + 1)) ]'
check "ticks again after resume ($after_resume)" '[ "$after_resume" -gt "$after_pause" ]'

# A core of the paused guest has the processes the live ps sees.
"$ctl" --api-socket "$work/api" pause >/dev/null 2>&1
"$ctl" --socket "$work/vmi" --json ps >"$work/ps-live.json" 2>/dev/null
"$ctl" --api-socket "$work/api" coredump "$work/guest.core" >"$work/coredump.err" 2>&1
"$ctl" --core "$work/guest.core" --json ps >"$work/ps-core.json" 2>"$work/ps-core.err"
"$ctl" --api-socket "$work/api" resume >/dev/null 2>&1
same=$(python3 - "$work/ps-live.json" "$work/ps-core.json" <<'PY'
import json, sys
def procs(path):
    return {(p["pid"], p["name"]) for p in json.load(open(path))}
live, core = procs(sys.argv[1]), procs(sys.argv[2])
print("%d live, %d in the core, differing: %s" % (len(live), len(core), sorted(live ^ core)[:6]))
sys.exit(0 if live == core and len(live) >= 10 else 1)
PY
)
same_ok=$?
check "ps on vm.coredump's core is the paused guest's ps ($same)" '[ $same_ok -eq 0 ]'

wait $vmm
status=$?
check "the guest powered off through ACPI (status $status)" '[ $status -eq 0 ]'
if [ $fails -ne 0 ]; then
	for f in lstar info ps.err cmdline lsmod.err protect coredump.err ps-core.err pause.err vmm.err; do echo "--- $f"; head -n 20 "$work/$f"; done
	echo "--- guest"; tr -d '\r' <"$work/console" | grep -vE "^\[ *[0-9.]+\] " | head -n 60
	echo "--- failed"; cat "$work/checks"
fi
[ $fails -eq 0 ]
