#!/usr/bin/env bash
# End-to-end, the VM a Cloud Hypervisor user would run, with the command of
# Cloud Hypervisor's own example and nothing added but an initramfs:
#   vmscope --kernel vmlinux --disk path=IMAGE.raw \
#       --cmdline "console=hvc0 root=/dev/vda1 rw" --cpus boot=2 --memory size=512M \
#       --net "tap=,mac=MAC,ip=IP,mask=MASK" --initramfs INITRAMFS
# A stock Debian kernel boots with its root file system on the first
# partition of a partitioned raw image (virtio-blk over PCI, MSI-X),
# configures its virtio-net interface and pings the host's end of the tap
# that --net creates, and runs a login prompt on hvc0, which Cloud
# Hypervisor's defaults put on the terminal (--console tty, --serial null).
# The test logs in on hvc0 (tests/virtio/linux_login.py drives a pty), runs
# one command that reports what the guest saw, types poweroff, and checks:
#   the guest's report: user=root tty=/dev/hvc0 root=/dev/vda1 ping=ok, the
#     CPUs and the MAC address it was given
#   a file the guest wrote on its root file system is in the image (debugfs)
#   vmscope's exit status 0
#
# The Debian kernel has virtio and ext4 as modules, so an initramfs made here
# loads them (with their dependencies, from /lib/modules of that kernel) and
# switches to the root= the command line names, as a distribution's
# initramfs would.  The root file system (mkfs.ext4 -d, written into the
# image's first partition, made by sfdisk) holds busybox: its init, getty and
# login, with a root account whose password the test knows.
#
# LINUX_VIRTIO_USER=UID runs vmscope as that user, unprivileged: no
# capabilities, no supplementary group but /dev/kvm's; the script (root)
# makes the tap for that user beforehand (ip tuntap add ... user UID), and
# vmscope is given it by name (--net tap=NAME,mac=MAC): everything else as
# above, the disk image owned by that user.
#
# LINUX_VIRTIO_RUNNER=qemu runs the same kernel, initramfs and disk image
# under QEMU (TCG, q35, virtio-blk-pci, virtio-net-pci on a tap made here,
# virtconsole on stdio): it proves the guest side (init, ping, login) on a
# host where vmscope cannot boot Linux in time.
#
# On a host whose /dev/kvm emulates guest kernel code (kvm_pvm: no vmx/svm
# in /proc/cpuinfo, about 1.5 M guest kernel instructions/s, see
# /work/shared/HOST-NOTES.md) a Linux boot under vmscope takes far longer than
# a test may run, so the test says so and skips (exit 77).  The device side is
# tested there from the host instead (tests/virtio/test_virtio_*.c).
#
# usage: linux_virtio_boot_test.sh VMSCOPE FIXTURES_DIR   (FIXTURES_DIR holds vmlinux)
# Environment: LINUX_VIRTIO_RUNNER=vmscope (default) or qemu; LINUX_VIRTIO_TIMEOUT
# (seconds from start to the login prompt, default 120 times VMSCOPE_TIME_SCALE);
# LINUX_VIRTIO_CPUS (default 2, as the example); LINUX_VIRTIO_FORCE=1 runs
# vmscope even on an emulating host; LINUX_VIRTIO_USER=UID (above).
set -uo pipefail

RUNNER=${LINUX_VIRTIO_RUNNER:-vmscope}
AS_USER=${LINUX_VIRTIO_USER:-}
TIMEOUT=${LINUX_VIRTIO_TIMEOUT:-$((120 * ${VMSCOPE_TIME_SCALE:-1}))}
CPUS=${LINUX_VIRTIO_CPUS:-2}
MAC=52:54:00:12:34:56
PASSWORD='vmscope-e2e'
vmscope=${1:?usage: $0 VMSCOPE FIXTURES_DIR} fixtures=${2:?usage: $0 VMSCOPE FIXTURES_DIR}
here=$(cd "$(dirname "$0")" && pwd)

# The host's end of the tap and the guest's address.  QEMU's run uses a subnet
# of its own, away from vmscope's default one that other tests' taps may hold.
case $RUNNER in
vmscope)
	if ! grep -qwE 'vmx|svm' /proc/cpuinfo && [ "${LINUX_VIRTIO_FORCE:-0}" != 1 ]; then
		echo "SKIP: this host's KVM has no hardware virtualization (no vmx/svm; kvm_pvm emulates"
		echo "      guest kernel code at about 1.5 M instructions/s), so a Linux boot to a root"
		echo "      file system on --disk, a network and a login on hvc0 cannot finish within"
		echo "      a test's time; run it on hardware KVM.  LINUX_VIRTIO_RUNNER=qemu checks the"
		echo "      guest side under QEMU; test_virtio_* test the devices from the host side."
		exit 77
	fi
	host_ip=192.168.249.1 guest_ip=192.168.249.2
	;;
qemu)
	command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 is not installed"; exit 77; }
	host_ip=192.168.247.1 guest_ip=192.168.247.2
	;;
*)
	echo "linux_virtio_boot_test: LINUX_VIRTIO_RUNNER=$RUNNER: want vmscope or qemu" >&2
	exit 2
	;;
esac
case $TIMEOUT in
'' | *[!0-9]*) echo "linux_virtio_boot_test: LINUX_VIRTIO_TIMEOUT=$TIMEOUT: want seconds" >&2; exit 2 ;;
esac
# A tap needs CAP_NET_ADMIN, whether vmscope or this script makes it.
if [ "$(id -u)" -ne 0 ] || [ ! -w /dev/net/tun ]; then
	echo "SKIP: a tap device for --net needs root and /dev/net/tun"
	exit 77
fi
for tool in busybox mkfs.ext4 debugfs sfdisk cpio gzip modinfo python3 ip; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
[ -s "$fixtures/vmlinux" ] || { echo "FAIL: $fixtures/vmlinux is missing"; exit 1; }
kver=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
kver=${kver#/boot/vmlinuz-}
[ -d "/lib/modules/$kver" ] || { echo "SKIP: no /lib/modules/$kver for the kernel's modules"; exit 77; }

work=$(mktemp -d)
tap=
cleanup() {
	[ -n "$tap" ] && ip link del "$tap" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Modules with their dependencies, each after what it needs.
declare -A seen=()
order=()
add_module() {
	local m=$1 dep
	[ -n "${seen[$m]:-}" ] && return
	seen[$m]=1
	for dep in $(modinfo -k "$kver" -F depends "$m" 2>/dev/null | tr ',' ' '); do
		add_module "$dep"
	done
	order+=("$m")
}
for m in virtio_pci virtio_blk virtio_net virtio_console crc32c_generic ext4; do
	modinfo -k "$kver" -n "$m" >/dev/null 2>&1 || { echo "SKIP: module $m not found for $kver"; exit 77; }
	add_module "$m"
done

# The initramfs: busybox, the modules, and an /init that mounts /dev/vda.
ird=$work/initramfs
mkdir -p "$ird/bin" "$ird/lib/modules" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/newroot"
cp "$(command -v busybox)" "$ird/bin/busybox"
for m in "${order[@]}"; do
	f=$(modinfo -k "$kver" -n "$m")
	case $f in
	*.xz) xz -dc "$f" >"$ird/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$f" >"$ird/lib/modules/$m.ko" ;;
	*) cp "$f" "$ird/lib/modules/$m.ko" ;;
	esac
done
{
	echo '#!/bin/busybox sh'
	echo '/bin/busybox mount -t proc proc /proc'
	echo '/bin/busybox mount -t sysfs sys /sys'
	echo '/bin/busybox mount -t devtmpfs dev /dev'
	for m in "${order[@]}"; do echo "/bin/busybox insmod /lib/modules/$m.ko"; done
	# The root= of the command line, as a distribution's initramfs takes it.
	echo 'root=; for w in $(/bin/busybox cat /proc/cmdline); do case $w in root=*) root=${w#root=} ;; esac; done'
	echo 'for i in $(/bin/busybox seq 30); do [ -b "$root" ] && break; /bin/busybox sleep 1; done'
	echo '/bin/busybox mount -t ext4 -o rw "$root" /newroot || { echo "VMSCOPE-VIRTIO-NO-ROOT $root" >/dev/console; /bin/busybox poweroff -f; }'
	echo '/bin/busybox umount /proc /sys /dev'
	echo 'exec /bin/busybox switch_root /newroot /sbin/init'
} >"$ird/init"
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"

# The root file system: busybox's init runs rcS (mounts, a file on the disk,
# the network and its ping), then a getty on hvc0; poweroff goes through
# init, which unmounts the disk read-only before powering off.
root=$work/root
mkdir -p "$root/bin" "$root/sbin" "$root/etc/init.d" "$root/proc" "$root/dev" "$root/sys" \
	"$root/run" "$root/root" "$root/tmp"
cp "$(command -v busybox)" "$root/bin/busybox"
for applet in $(busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
ln -s ../bin/busybox "$root/sbin/init"
cat >"$root/etc/inittab" <<'INITTAB'
::sysinit:/etc/init.d/rcS
hvc0::respawn:/bin/getty -L 0 hvc0 vt100
::shutdown:/bin/umount -a -r
INITTAB
cat >"$root/etc/init.d/rcS" <<RCS
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
hostname vmscope-guest
echo "written by the guest" >/proof
sync
# The first network interface that is not the loopback: virtio-net's.
ip link set lo up
dev=\$(ls /sys/class/net | grep -vx lo | head -n 1)
ping=fail
if [ -n "\$dev" ] && ip addr add $guest_ip/24 dev "\$dev" && ip link set "\$dev" up; then
	for i in 1 2 3 4 5 6 7 8 9 10; do
		ping -c 1 -W 1 $host_ip >/dev/null 2>&1 && { ping=ok; break; }
	done
fi
echo \$ping >/run/ping
echo "VMSCOPE-NET dev=\${dev:-none} ping=\$ping"
RCS
chmod +x "$root/etc/init.d/rcS"
echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
echo 'root:x:0:' >"$root/etc/group"
echo "root:$(busybox mkpasswd -m sha512 "$PASSWORD" vmscopee2e):19000:0:99999:7:::" >"$root/etc/shadow"
chmod 600 "$root/etc/shadow"
echo "PS1='vmscope# '" >"$root/etc/profile"
# A partitioned raw image: partition 1 from 1 MiB on holds the root file system.
truncate -s 65M "$work/disk.raw" && echo 'start=2048, type=83' | sfdisk -q "$work/disk.raw" &&
	truncate -s 64M "$work/root.img" && mkfs.ext4 -q -F -d "$root" "$work/root.img" &&
	dd if="$work/root.img" of="$work/disk.raw" bs=1M seek=1 conv=notrunc status=none ||
	{ echo "FAIL: making the partitioned image"; exit 1; }
rm -f "$work/root.img"

# What the test types after logging in: the guest's report, one line.
# shellcheck disable=SC2016 # expanded by the guest's shell
report='echo RESULT user=$(id -un) tty=$(tty) root=$(grep " / " /proc/mounts | tail -n 1 | cut -d " " -f 1) ping=$(cat /run/ping) cpus=$(grep -c ^processor /proc/cpuinfo) mac=$(cat /sys/class/net/$(ls /sys/class/net | grep -vx lo | head -n 1)/address)'

cmdline="console=hvc0 root=/dev/vda1 rw"
case $RUNNER in
vmscope)
	# Cloud Hypervisor's example as written, and the initramfs.
	net="tap=,mac=$MAC,ip=$host_ip,mask=255.255.255.0"
	as=()
	if [ -n "$AS_USER" ]; then
		# The tap the user's vmscope may not create: made for that user, addressed, up.
		tap=vmscu$$
		ip tuntap add dev "$tap" mode tap user "$AS_USER" &&
			ip addr add "$host_ip/24" dev "$tap" && ip link set "$tap" up ||
			{ echo "FAIL: cannot make tap $tap for user $AS_USER"; exit 1; }
		net="tap=$tap,mac=$MAC"
		chown -R "$AS_USER" "$work"
		as=(setpriv --reuid="$AS_USER" --regid="$AS_USER" --groups="$(stat -c %g /dev/kvm)"
			--inh-caps=-all --bounding-set=-all --)
	fi
	run=("${as[@]}" "$vmscope" --kernel "$fixtures/vmlinux" --disk path="$work/disk.raw"
		--cmdline "$cmdline" --cpus boot="$CPUS" --memory size=512M --net "$net"
		--initramfs "$work/initramfs.cpio.gz")
	;;
qemu)
	tap=vmscq$$
	ip tuntap add dev "$tap" mode tap && ip addr add "$host_ip/24" dev "$tap" &&
		ip link set "$tap" up || { echo "FAIL: cannot make tap $tap"; exit 1; }
	# shellcheck disable=SC2054 # QEMU's own commas
	run=(qemu-system-x86_64 -accel tcg -M q35 -m 512M -smp "$CPUS" -nodefaults -no-user-config
		-display none -no-reboot
		-kernel "$fixtures/bzImage" -initrd "$work/initramfs.cpio.gz" -append "$cmdline"
		-drive file="$work/disk.raw",format=raw,if=none,id=root
		-device virtio-blk-pci,drive=root
		-netdev tap,id=net,ifname="$tap",script=no,downscript=no
		-device virtio-net-pci,netdev=net,mac="$MAC"
		-chardev stdio,id=hvc,signal=off -device virtio-serial-pci -device virtconsole,chardev=hvc)
	;;
esac

start=$SECONDS
python3 "$here/linux_login.py" "$work/hvc0.txt" "$TIMEOUT" root "$PASSWORD" "$report" \
	-- "${run[@]}" >"$work/result"
login_status=$?
declare -A got=()
while IFS='=' read -r key value; do got[$key]=$value; done <"$work/result"

fails=0
fail() {
	echo "FAIL: $*"
	fails=1
}
if [ $login_status -ne 0 ]; then
	fail "$(grep '^FAIL: ' "$work/result" | sed 's/^FAIL: //')"
else
	for want in user=root tty=/dev/hvc0 root=/dev/vda1 ping=ok cpus="$CPUS" mac="$MAC"; do
		[ "${got[${want%%=*}]:-}" = "${want#*=}" ] ||
			fail "the guest reports ${want%%=*}=${got[${want%%=*}]:-(nothing)}, want $want"
	done
	[ "${got[vm_exit]:-}" = 0 ] || fail "$RUNNER exited with status ${got[vm_exit]:-?}, wanted 0 (guest powered off)"
fi
[ "$(debugfs -R 'cat /proof' "$work/disk.raw?offset=1048576" 2>/dev/null)" = "written by the guest" ] ||
	fail "the guest's /proof is not in the disk image"
if [ $fails -ne 0 ]; then
	tr -d '\r' <"$work/hvc0.txt" 2>/dev/null | sed 's/^/    hvc0: /' | tail -n 15
	exit 1
fi
echo "ok ($RUNNER${AS_USER:+ as uid $AS_USER, unprivileged}, $((SECONDS - start)) s, $CPUS vCPUs): Linux booted with its root on a partition" \
	"of a virtio-blk disk, pinged the host over virtio-net, took a login on hvc0 and powered off"
