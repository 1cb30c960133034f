#!/usr/bin/env bash
# Runs one command on hardware-assisted KVM, on a machine that has none.
#
# QEMU in software mode (TCG) with -cpu max offers AMD SVM with nested paging
# to its guest.  This boots such a guest ("L1") on this machine's own Debian
# kernel, loads kvm_amd there, so that /dev/kvm in L1 is the KVM of an AMD-V
# machine, and runs COMMAND in L1 as root: same paths, same build trees (this
# machine's root file system, /tmp included, read-only through 9p under a
# tmpfs overlay), the same working directory and the VMSCOPE_* environment.
#
#   l1.sh [-c CPUS] [-m MiB] [-t SECONDS] -- COMMAND [ARGS...]
#
# Exit status: COMMAND's own (so 77 is a skip, as meson reads it), or
#   99  L1 itself failed: its kernel died, kvm_amd gave no /dev/kvm, or no
#       result came within SECONDS.  Said in one line that begins "L1 failed:",
#       distinct from a failure of COMMAND; the console is kept (below).
#   77  this machine cannot boot an L1 (no QEMU or kernel), when
#       VMSCOPE_REQUIRE_KVM is not 1; with it, 99.
# The L1 console is written to $VMSCOPE_L1_CONSOLE when set, and its last
# lines are printed when L1 fails.  QEMU is bookworm-backports' QEMU 10,
# fetched once into the cache (backports_qemu.sh), unless $VMSCOPE_L1_QEMU
# names another (with $VMSCOPE_L1_QEMU_ARGS, e.g. -L for its firmware).  The
# cache is $VMSCOPE_L1_CACHE (default /var/tmp/vmscope-l1).
# An L1 whose kernel dies is booted once more, saying so: that is QEMU's or
# L1's failure, not the command's; every other outcome is final.
set -uo pipefail

cpus=2 mem=6144 tmo=900
while getopts c:m:t: o; do
	case $o in
	c) cpus=$OPTARG ;; m) mem=$OPTARG ;; t) tmo=$OPTARG ;;
	*) echo "usage: l1.sh [-c CPUS] [-m MiB] [-t SECONDS] -- COMMAND..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: l1.sh [-c CPUS] [-m MiB] [-t SECONDS] -- COMMAND..." >&2; exit 2; }

l1_failed() { echo "L1 failed: $*"; exit 99; }
cannot() {
	[ "${VMSCOPE_REQUIRE_KVM:-}" = 1 ] && l1_failed "$*"
	echo "SKIP: $*"; exit 77
}

# QEMU: $VMSCOPE_L1_QEMU if given, else bookworm-backports' QEMU 10 unpacked
# into the cache (backports_qemu.sh says why), else Debian's own.
cache_root=${VMSCOPE_L1_CACHE:-/var/tmp/vmscope-l1}
qemu_args=${VMSCOPE_L1_QEMU_ARGS:-}
if [ -n "${VMSCOPE_L1_QEMU:-}" ]; then
	qemu=$VMSCOPE_L1_QEMU
elif bpo=$("$(dirname "$0")/backports_qemu.sh" "$cache_root" 2>"/tmp/vmscope-l1-bpo.$$"); then
	{ read -r qemu; read -r qemu_args; read -r QEMU_MODULE_DIR; } <<<"$bpo"
	export QEMU_MODULE_DIR
else
	echo "note: $(cat "/tmp/vmscope-l1-bpo.$$"); using Debian's QEMU (debug registers are not armed in its L1)"
	qemu=qemu-system-x86_64
fi
rm -f "/tmp/vmscope-l1-bpo.$$"
command -v "$qemu" >/dev/null || cannot "no $qemu (apt-get install qemu-system-x86)"
command -v busybox >/dev/null || [ -x /bin/busybox ] || cannot "no busybox (apt-get install busybox-static)"
kver=$(ls /lib/modules 2>/dev/null | sort -V | tail -n1)
kernel=/boot/vmlinuz-$kver
[ -n "$kver" ] && [ -r "$kernel" ] || cannot "no Debian kernel to boot L1 on (apt-get install linux-image-amd64)"

# ---- The L1 initramfs: busybox, the modules L1 needs, and an init ----------
cache=$cache_root/$kver
initrd=$cache/l1.cpio.gz
if [ ! -s "$initrd" ] || [ "$initrd" -ot "$0" ]; then
	mkdir -p "$cache" || cannot "cannot create $cache"
	r=$(mktemp -d "$cache/root.XXXXXX") || exit 99
	mkdir -p "$r"/{bin,proc,sys,dev,host,rw,newroot,mods}
	cp "$(command -v busybox || echo /bin/busybox)" "$r/bin/busybox"
	# The modules and their dependencies, in load order, as modprobe resolves them.
	n=0
	for m in virtio_pci 9pnet_virtio 9p overlay kvm_amd tun; do
		modprobe -S "$kver" --show-depends "$m" 2>/dev/null | awk '$1 == "insmod" { print $2 }'
	done | awk '!seen[$0]++' | while read -r ko; do
		n=$((n + 1))
		dst=$r/mods/$(printf '%02d' "$n")-$(basename "${ko%%.ko*}").ko
		case $ko in
		*.xz) xz -dc "$ko" >"$dst" ;;
		*.zst) zstd -qdc "$ko" >"$dst" ;;
		*) cp "$ko" "$dst" ;;
		esac
	done
	ls "$r"/mods/*kvm_amd.ko >/dev/null 2>&1 || ls "$r"/mods/*kvm-amd.ko >/dev/null 2>&1 ||
		cannot "kvm_amd is not among $kver's modules"
	cat >"$r/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
# What udev would add, and bash's process substitution needs.
ln -s /proc/self/fd /dev/fd; ln -s fd/0 /dev/stdin; ln -s fd/1 /dev/stdout; ln -s fd/2 /dev/stderr
for m in /mods/*.ko; do insmod "$m" || echo "L1: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host
mount -t tmpfs tmpfs /rw && mkdir -p /rw/up /rw/work
mount -t overlay overlay -o lowerdir=/host,upperdir=/rw/up,workdir=/rw/work /newroot
mkdir -p /newroot/l1-job
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 job /newroot/l1-job
if [ -c /dev/kvm ]; then
	# As Debian's udev rules leave them: /dev/kvm for the kvm group, /dev/net/tun for all.
	kvm_gid=$(sed -n 's/^kvm:[^:]*:\([0-9]*\):.*/\1/p' /newroot/etc/group)
	[ -n "$kvm_gid" ] && chown "0:$kvm_gid" /dev/kvm && chmod 0660 /dev/kvm
	[ -c /dev/net/tun ] && chmod 0666 /dev/net/tun
	for d in proc sys dev; do mount --bind /$d /newroot/$d; done
	mkdir -p /newroot/dev/pts /newroot/dev/shm
	mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /newroot/dev/pts
	mount -t tmpfs tmpfs /newroot/dev/shm
	echo "L1: ready, kvm_amd loaded"
	chroot /newroot /bin/bash /l1-job/run.sh
else
	echo "no /dev/kvm after loading kvm_amd" > /newroot/l1-job/nokvm
fi
sync
poweroff -f
INIT
	chmod +x "$r/init"
	(cd "$r" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$initrd.tmp") &&
		mv "$initrd.tmp" "$initrd" || { rm -rf "$r"; cannot "cannot build the L1 initramfs"; }
	rm -rf "$r"
fi

# ---- The job: what L1 runs, and where it leaves its result ------------------
job=$(mktemp -d /tmp/vmscope-l1-job.XXXXXX) || exit 99
trap 'rm -rf "$job"' EXIT
{
	echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root'
	# Everything in L1 is emulated, 10-30x slower: tests with fixed delays scale them.
	echo 'export VMSCOPE_IN_L1=1 VMSCOPE_TIME_SCALE=10'
	env | grep -E '^(VMSCOPE_[A-Z0-9_]+|ASAN_OPTIONS|UBSAN_OPTIONS|MALLOC_PERTURB_)=' |
		while IFS='=' read -r k v; do printf 'export %s=%q\n' "$k" "$v"; done
	printf 'cd %q || { echo "L1: cannot cd to %q" >/l1-job/out; echo 1 >/l1-job/rc; exit; }\n' "$PWD" "$PWD"
	printf '%q ' "$@"
	echo '>/l1-job/out 2>&1 </dev/null; echo $? >/l1-job/rc'
} >"$job/run.sh"

console=${VMSCOPE_L1_CONSOLE:-$job/console}
l1_died() { grep -qE 'Kernel panic|stack guard page|BUG:|general protection fault|Oops' "$console"; }
for attempt in 1 2; do
	rm -f "$job/out" "$job/rc" "$job/nokvm"
	t0=$SECONDS
	# shellcheck disable=SC2086 # qemu_args is a list of words
	timeout "$tmo" "$qemu" $qemu_args -accel tcg -cpu max -M q35 -m "$mem" -smp "$cpus" \
		-nographic -no-reboot -nodefaults -serial stdio \
		-kernel "$kernel" -initrd "$initrd" -append "console=ttyS0 quiet panic=-1 oops=panic" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs local,path="$job",mount_tag=job,security_model=none >"$console" 2>&1 </dev/null
	qemu_status=$?
	secs=$((SECONDS - t0))
	[ -s "$job/rc" ] || ! l1_died || [ $attempt = 2 ] && break
	keep=/tmp/vmscope-l1-died.$$.$attempt.log
	cp "$console" "$keep"
	echo "L1 died after ${secs} s ($(grep -m1 -E 'Kernel panic|stack guard page|BUG:|general protection fault|Oops' "$console" | tr -d '\r')); console kept in $keep; running the command again in a new L1"
done

[ -f "$job/out" ] && cat "$job/out"
if [ -s "$job/rc" ]; then
	echo "(L1: ${secs} s, $cpus CPUs, QEMU $("$qemu" --version | head -n1 | awk '{ print $4 }'))"
	exit "$(cat "$job/rc")"
fi
# No result: say why, from the console, and keep it.
why="no result"
if [ -f "$job/nokvm" ]; then
	why="kvm_amd loaded but there is no /dev/kvm (does this QEMU offer SVM?)"
elif l1_died; then
	why="L1's kernel died: $(grep -m1 -E 'Kernel panic|stack guard page|BUG:|general protection fault|Oops' "$console" | tr -d '\r')"
elif [ $qemu_status = 124 ]; then
	why="no result within $tmo s"
else
	why="QEMU exited with status $qemu_status and no result"
fi
if [ -z "${VMSCOPE_L1_CONSOLE:-}" ]; then
	keep=/tmp/vmscope-l1-console.$$.log
	cp "$console" "$keep" && console=$keep
fi
echo "--- last lines of the L1 console (all of it: $console)"
tail -n 25 "$console" | tr -d '\r'
l1_failed "$why (after ${secs} s)"
