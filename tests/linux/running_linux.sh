# Sourced by the tests of a Linux guest that runs while they look at it
# (linux_live_test.sh, linux_gdb_test.sh, linux_trace_test.sh): they need
# hardware-assisted KVM.
# Sets work (a temporary folder, removed on exit), scale, cpus, fails; the
# test sets vmscope and fix (the fixtures folder) before sourcing.

if ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
	echo "SKIP: no hardware virtualization here (kvm_pvm emulates guest kernel code, so a"
	echo "      Linux guest cannot reach its initramfs in a test's time); the svm suites run"
	echo "      this test on hardware-assisted KVM"
	exit 77
fi
work=$(mktemp -d)
vmm='' gdb=''
trap 'kill $vmm $gdb 2>/dev/null; rm -rf "$work"' EXIT
fails=0
scale=${VMSCOPE_TIME_SCALE:-1}
cpus=${LINUX_CPUS:-2} # vCPUs of the guest
linger=${LINUX_LINGER:-10} # seconds the guest ticks at its initramfs (times the scale)

# check WHAT CONDITION: an "ok:" or "FAIL:" line; failures are counted and
# kept in $work/checks, to be repeated at the end.
check() {
	if eval "$2"; then
		echo "ok: $1"
	else
		echo "FAIL: $1" | tee -a "$work/checks"
		fails=$((fails + 1))
	fi
}

# start_linux VMSCOPE-OPTIONS...: Debian's vmlinux on $cpus vCPUs, ticking
# for $linger s (times the scale) once at its initramfs, its console in
# $work/console; returns once it ticks (or gives up: the caller checks).
start_linux() {
	"$vmscope" --kernel "$fix/vmlinux" --initramfs "$fix/initramfs.cpio.gz" --memory size=512M \
		--cpus boot="$cpus" --cmdline "console=ttyS0 vmscope.linger=$((linger * scale))" \
		--console off --serial file="$work/console" "$@" 2>"$work/vmm.err" &
	vmm=$!
	for _ in $(seq $((600 * scale))); do
		grep -q "^tick 1" "$work/console" 2>/dev/null && break
		sleep 0.1
	done
	check "the guest reached its initramfs and ticks" 'grep -q "^tick 1" "$work/console"'
}
