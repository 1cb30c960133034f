#!/usr/bin/env bash
# Boots the Debian kernel under vmscope.
#
# usage: linux_boot_test.sh VMSCOPE FIXTURES_DIR
#   FIXTURES_DIR holds vmlinux, bzImage and initramfs.cpio.gz
#   (tests/integration/make_linux_fixtures.sh FIXTURES_DIR makes them).
#
# On a host with hardware KVM (vmx or svm in /proc/cpuinfo) the kernel boots
# to the initramfs's /init, which prints VMSCOPE-INITRAMFS-OK and the number
# of CPUs it sees, and powers off (ACPI S5): the test expects the marker, as
# many CPUs as --cpus boot=N gave, and vmscope's exit status 0, through the
# vmlinux ELF and through the bzImage, each on 1 and on 2 vCPUs.
#
# On a host whose /dev/kvm emulates guest kernel code (kvm_pvm, see
# /work/shared/HOST-NOTES.md: about 1.5 M instructions/s) a kernel cannot
# finish booting in any reasonable time, so the test boots the vmlinux only
# until its first messages prove that the boot protocol worked, then stops
# vmscope:
#   1. the "Linux version" banner;
#   2. the "Command line:" line starting with exactly the command line given
#      (vmscope may append host-quirk options after it);
#   3. the "BIOS-provided physical RAM map" (e820) whose usable ranges add up
#      to the --memory size minus the reserved legacy area 0x9fc00-0xfffff
#      (src/memmap.c), once with 512M and once with 4G (RAM split around the
#      hole at 3 GiB);
#   4. "Hypervisor detected: KVM": CPUID has the hypervisor bit, so the guest
#      uses KVM's leaves (kvm-clock, paravirtual IPIs).  The full boots check
#      it too, and that the kernel set its clock from the CMOS RTC.
#
# Environment: LINUX_BOOT_TIMEOUT (seconds per boot, default 60 times
# VMSCOPE_TIME_SCALE), LINUX_BOOT_SIZES (default "512M 4G"), LINUX_BOOT_CPUS
# (the vCPU counts of the full boots, default "1 2"; the e820 checks run with 1).
set -uo pipefail

MARKER=VMSCOPE-INITRAMFS-OK
TIMEOUT=${LINUX_BOOT_TIMEOUT:-$((60 * ${VMSCOPE_TIME_SCALE:-1}))}
CPUS=${LINUX_BOOT_CPUS:-1 2}
SIZES=${LINUX_BOOT_SIZES:-512M 4G}
EBDA_START=$((0x9fc00))
HIGH_START=$((0x100000))
HOLE_START=$((0xc0000000))

if [ $# -ne 2 ]; then
	echo "usage: $0 VMSCOPE FIXTURES_DIR" >&2
	exit 2
fi
vmscope=$1 fixtures=$2
for f in vmlinux bzImage initramfs.cpio.gz; do
	if [ ! -s "$fixtures/$f" ]; then
		echo "FAIL: $fixtures/$f is missing: run tests/integration/make_linux_fixtures.sh $fixtures"
		exit 1
	fi
done
if [ ! -x "$vmscope" ]; then
	echo "FAIL: $vmscope is not an executable"
	exit 1
fi

work=$(mktemp -d)
vm_pid=
stop_vm() {
	if [ -n "$vm_pid" ]; then
		kill "$vm_pid" 2>/dev/null # timeout(1) passes the SIGTERM on to vmscope
		wait "$vm_pid" 2>/dev/null
		vm_pid=
	fi
}
cleanup() {
	stop_vm
	rm -rf "$work"
}
trap cleanup EXIT

# "512M" / "4G" / "1024K" / bytes -> bytes
size_bytes() {
	local s=$1 n
	n=${s%[KkMmGg]}
	case $s in
	*[Kk]) echo $((n << 10)) ;;
	*[Mm]) echo $((n << 20)) ;;
	*[Gg]) echo $((n << 30)) ;;
	*) echo "$s" ;;
	esac
}

# Usable RAM the e820 map must show, by the rules of src/memmap.c: RAM up to
# the hole at 3 GiB, the rest above 4 GiB, and 0x9fc00-0xfffff reserved.
expected_usable() {
	local size=$1 low
	low=$((size < HOLE_START ? size : HOLE_START))
	echo $((EBDA_START + (low - HIGH_START) + (size - low)))
}

# Complete lines of the serial log so far, without CRs.
snapshot() {
	local out=$1 snap=$2
	cp "$out" "$snap" 2>/dev/null || : >"$snap"
	if [ -s "$snap" ] && [ "$(tail -c 1 "$snap" | od -An -tx1 | tr -d ' ')" != 0a ]; then
		sed -i '$d' "$snap" # the last line is still being written
	fi
	tr -d '\r' <"$snap" >"$snap.lf" && mv "$snap.lf" "$snap"
}

# Prints "banner cmdline e820_done usable hypervisor" for a serial log.
check_log() {
	awk -v want="$2" '
	function hex(s,    i, c, v) {
		v = 0
		s = tolower(s)
		for (i = 1; i <= length(s); i++) {
			c = index("0123456789abcdef", substr(s, i, 1))
			if (c == 0) return -1
			v = v * 16 + c - 1
		}
		return v
	}
	BEGIN { banner = 0; cmd = 0; state = 0; usable = 0; kvm = 0 }
	/Linux version / { banner = 1 }
	/Hypervisor detected: KVM/ { kvm = 1 }
	/(^|\] )Command line: / {
		rest = $0
		sub(/^.*Command line: /, "", rest)
		if (rest == want || index(rest, want " ") == 1) cmd = 1
		else cmd = -1
	}
	state == 1 && /BIOS-e820: \[mem 0x[0-9a-fA-F]+-0x[0-9a-fA-F]+\]/ {
		line = $0
		sub(/^.*BIOS-e820: \[mem 0x/, "", line)
		split(line, p, /[-\] ]+/)
		start = hex(p[1]); sub(/^0x/, "", p[2]); end = hex(p[2])
		if ($0 ~ /\] usable$/ || $0 ~ /\] usable /) usable += end - start + 1
		seen = 1
		next
	}
	state == 1 && seen { state = 2 }
	/BIOS-provided physical RAM map:/ && state == 0 { state = 1; seen = 0 }
	END { printf "%d %d %d %.0f %d\n", banner, cmd, state == 2, usable, kvm }
	' "$1"
}

# boot_until_e820 KERNEL SIZE: the emulated-host check.
boot_until_e820() {
	local kernel=$1 size=$2 bytes want cmdline out status result
	local banner cmd e820 usable kvm start now
	bytes=$(size_bytes "$size")
	want=$(expected_usable "$bytes")
	cmdline="console=ttyS0 earlyprintk=ttyS0 VMSCOPE-LINUX-BOOT-$size"
	out=$work/serial-$size.log
	: >"$out"
	echo "booting $(basename "$kernel") with --memory size=$size (until the e820 map)"
	timeout "$TIMEOUT" "$vmscope" --kernel "$kernel" --initramfs "$fixtures/initramfs.cpio.gz" \
		--cmdline "$cmdline" --memory size="$size" --serial file="$out" \
		</dev/null >"$work/stdout-$size" 2>"$work/stderr-$size" &
	vm_pid=$!
	start=$(date +%s)
	while :; do
		snapshot "$out" "$work/snap"
		read -r banner cmd e820 usable kvm < <(check_log "$work/snap" "$cmdline")
		if [ "$cmd" = -1 ]; then
			echo "FAIL ($size): the kernel's command line is not the one given:"
			grep -a 'Command line:' "$work/snap" | sed 's/^/    /'
			echo "    wanted it to start with: $cmdline"
			stop_vm
			return 1
		fi
		if [ "$banner" = 1 ] && [ "$cmd" = 1 ] && [ "$e820" = 1 ] && [ "$kvm" = 1 ]; then
			now=$(date +%s)
			if [ "$usable" != "$want" ]; then
				echo "FAIL ($size): e820 usable RAM is $usable bytes, expected $want:"
				grep -a -A8 'BIOS-provided physical RAM map' "$work/snap" | sed 's/^/    /'
				stop_vm
				return 1
			fi
			echo "ok ($size): banner, command line, e820 ($usable usable bytes) and KVM detected after $((now - start)) s"
			grep -a -E 'Linux version|Command line:|BIOS-e820|Hypervisor detected' "$work/snap" | sed 's/^/    /'
			stop_vm
			return 0
		fi
		if ! kill -0 "$vm_pid" 2>/dev/null; then
			wait "$vm_pid"
			status=$?
			vm_pid=
			if [ "$status" -eq 124 ]; then
				result="timed out after $TIMEOUT s"
			else
				result="exited with status $status"
			fi
			snapshot "$out" "$work/snap"
			read -r banner cmd e820 usable kvm < <(check_log "$work/snap" "$cmdline")
			echo "FAIL ($size): vmscope $result before the kernel showed" \
				"$([ "$banner" = 1 ] || echo "[the Linux version banner] ")$([ "$cmd" = 1 ] || echo "[its command line] ")$([ "$e820" = 1 ] || echo "[the e820 map] ")$([ "$kvm" = 1 ] || echo "[Hypervisor detected: KVM]")"
			echo "  vmscope stderr (last lines):"
			tail -n 15 "$work/stderr-$size" | sed 's/^/    /'
			echo "  serial output (last lines):"
			tail -n 15 "$work/snap" | sed 's/^/    /'
			return 1
		fi
		sleep 0.2
	done
}

# boot_to_init KERNEL CPUS: the hardware-KVM check, a whole boot to /init and power-off.
boot_to_init() {
	local kernel=$1 cpus=$2 name out status seen
	name=$(basename "$kernel")-$cpus
	out=$work/serial-$name.log
	: >"$out"
	echo "booting $(basename "$kernel") on $cpus vCPU(s) to the initramfs"
	timeout "$TIMEOUT" "$vmscope" --kernel "$kernel" --initramfs "$fixtures/initramfs.cpio.gz" \
		--cmdline "console=ttyS0 earlyprintk=ttyS0 VMSCOPE-LINUX-BOOT-$name" --memory size=512M \
		--cpus boot="$cpus" --serial file="$out" </dev/null >"$work/stdout-$name" 2>"$work/stderr-$name"
	status=$?
	seen=$(tr -d '\r' <"$out" | sed -n 's/^cpus: \([0-9]*\)$/\1/p' | head -n1)
	if grep -qa "$MARKER" "$out" && [ "$status" -eq 0 ] && [ "$seen" = "$cpus" ]; then
		if ! grep -qa 'Hypervisor detected: KVM' "$out"; then
			echo "FAIL ($name): the guest booted but did not detect KVM (no \"Hypervisor detected: KVM\")"
			return 1
		fi
		# The CMOS clock: rtc_cmos takes it, and the kernel sets its clock from it.
		if ! grep -qa "rtc_cmos rtc_cmos: setting system clock to $(date -u +%Y)-" "$out"; then
			echo "FAIL ($name): the kernel did not set its clock from the CMOS RTC to this year:"
			grep -a 'rtc' "$out" | tr -d '\r' | sed 's/^/    /'
			return 1
		fi
		echo "ok ($name): KVM detected, clock set from the RTC, /init printed $MARKER," \
			"saw $seen CPU(s), and vmscope exited 0"
		return 0
	fi
	if [ "$status" -eq 124 ]; then
		echo "FAIL ($name): timed out after $TIMEOUT s"
	else
		echo "FAIL ($name): vmscope exited with status $status," \
			"$(grep -qa "$MARKER" "$out" && echo "marker seen" || echo "no $MARKER on the serial port")," \
			"the guest saw ${seen:-no} CPUs (want $cpus)"
	fi
	echo "  vmscope stderr (last lines):"
	tail -n 15 "$work/stderr-$name" | sed 's/^/    /'
	echo "  serial output (last lines):"
	tr -d '\r' <"$out" | tail -n 25 | sed 's/^/    /'
	return 1
}

fails=0
if grep -qwE 'vmx|svm' /proc/cpuinfo; then
	echo "hardware virtualization present: full boots"
	for kernel in vmlinux bzImage; do
		for cpus in $CPUS; do
			boot_to_init "$fixtures/$kernel" "$cpus" || fails=$((fails + 1))
		done
	done
	if [[ " $CPUS " == *" 1 "* ]]; then
		for size in $SIZES; do
			boot_until_e820 "$fixtures/vmlinux" "$size" || fails=$((fails + 1))
		done
	fi
elif [[ " $CPUS " != *" 1 "* ]]; then
	echo "SKIP: no vmx/svm in /proc/cpuinfo: this host's KVM emulates guest kernel code, so a"
	echo "      boot on $CPUS vCPUs to /init was not tried (the svm suites run it on hardware KVM)"
	exit 77
else
	for size in $SIZES; do
		boot_until_e820 "$fixtures/vmlinux" "$size" || fails=$((fails + 1))
	done
	echo "note: no vmx/svm in /proc/cpuinfo: this host's KVM emulates guest kernel code" \
		"(about 1.5 M instructions/s), so booting to /init ($MARKER, exit status 0) was not" \
		"tried, and the bzImage (whose decompressor alone takes minutes here) was not booted"
fi
[ "$fails" -eq 0 ] && echo "linux boot: passed" || echo "linux boot: $fails failed"
[ "$fails" -eq 0 ]
