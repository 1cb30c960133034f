#!/usr/bin/env bash
# End-to-end: a stock Debian kernel boots with its root file system on a
# --disk (virtio-blk over PCI, found through configuration mechanism #1, MSI-X
# interrupts), prints a marker on hvc0 (--console file=), writes a file on its
# root file system and powers off.  The test checks the marker, the file in
# the image (debugfs) and vmscope's exit status 0.
#
# The Debian kernel has virtio and ext4 as modules, so an initramfs made here
# loads them (with their dependencies, from /lib/modules of that kernel) and
# switches to the root on /dev/vda, as a distribution's initramfs would.
#
# On a host whose /dev/kvm emulates guest kernel code (kvm_pvm: no vmx/svm
# in /proc/cpuinfo, about 1.5 M guest kernel instructions/s, see
# /work/shared/HOST-NOTES.md) a Linux boot takes far longer than a test may
# run, so the test says so and skips (exit 77).  The device side is tested
# there from the host instead (tests/virtio/test_virtio_*.c).
#
# usage: linux_virtio_boot_test.sh VMSCOPE FIXTURES_DIR   (FIXTURES_DIR holds bzImage)
# Environment: LINUX_VIRTIO_TIMEOUT (seconds, default 120), LINUX_VIRTIO_FORCE=1 runs
# even on an emulating host.
set -uo pipefail

MARKER=VMSCOPE-VIRTIO-ROOT-OK
TIMEOUT=${LINUX_VIRTIO_TIMEOUT:-120}
vmscope=${1:?usage: $0 VMSCOPE FIXTURES_DIR} fixtures=${2:?usage: $0 VMSCOPE FIXTURES_DIR}

if ! grep -qwE 'vmx|svm' /proc/cpuinfo && [ "${LINUX_VIRTIO_FORCE:-0}" != 1 ]; then
	echo "SKIP: this host's KVM has no hardware virtualization (no vmx/svm; kvm_pvm emulates"
	echo "      guest kernel code at about 1.5 M instructions/s), so a Linux boot to a root"
	echo "      file system on --disk cannot finish within a test's time; run it on hardware KVM."
	echo "      virtio-pci and virtio-blk are tested from the host side by test_virtio_blk."
	exit 77
fi
for tool in busybox mkfs.ext4 debugfs cpio gzip modinfo; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
[ -s "$fixtures/bzImage" ] || { echo "FAIL: $fixtures/bzImage is missing"; exit 1; }
kver=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
kver=${kver#/boot/vmlinuz-}
[ -d "/lib/modules/$kver" ] || { echo "SKIP: no /lib/modules/$kver for the kernel's modules"; exit 77; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

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
for m in virtio_pci virtio_blk virtio_console crc32c_generic ext4; do
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
	echo 'for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; /bin/busybox sleep 1; done'
	echo '/bin/busybox mount -t ext4 -o rw /dev/vda /newroot || { echo "VMSCOPE-VIRTIO-NO-ROOT" >/dev/console; /bin/busybox poweroff -f; }'
	echo '/bin/busybox umount /proc /sys /dev'
	echo 'exec /bin/busybox switch_root /newroot /sbin/init'
} >"$ird/init"
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.cpio.gz"

# The root file system: busybox and an init that proves it runs from the disk.
root=$work/root
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/dev" "$root/sys"
cp "$(command -v busybox)" "$root/bin/busybox"
cat >"$root/sbin/init" <<INIT
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
echo "$MARKER root=\$(/bin/busybox awk '\$2 == "/" { print \$1 }' /proc/mounts | /bin/busybox tail -n 1)" >/dev/hvc0
echo "written by the guest" >/proof
/bin/busybox sync
/bin/busybox poweroff -f
INIT
chmod +x "$root/sbin/init"
mkfs.ext4 -q -F -d "$root" "$work/root.img" 64M || { echo "FAIL: mkfs.ext4"; exit 1; }

timeout "$TIMEOUT" "$vmscope" --kernel "$fixtures/bzImage" --initramfs "$work/initramfs.cpio.gz" \
	--cmdline "console=hvc0 root=/dev/vda rw" --memory size=512M --cpus boot=1 \
	--disk path="$work/root.img" --console file="$work/hvc0.txt" \
	--serial file="$work/serial.txt" >"$work/out" 2>&1
status=$?
fails=0
if ! grep -q "$MARKER root=/dev/vda" "$work/hvc0.txt" 2>/dev/null; then
	echo "FAIL: no '$MARKER root=/dev/vda' on hvc0 (vmscope exit status $status)"
	sed 's/^/    serial: /' "$work/serial.txt" 2>/dev/null | tail -n 20
	sed 's/^/    hvc0: /' "$work/hvc0.txt" 2>/dev/null | tail -n 5
	sed 's/^/    vmscope: /' "$work/out" | tail -n 5
	fails=1
fi
if [ "$(debugfs -R 'cat /proof' "$work/root.img" 2>/dev/null)" != "written by the guest" ]; then
	echo "FAIL: the guest's /proof is not in the disk image"
	fails=1
fi
if [ "$status" -ne 0 ]; then
	echo "FAIL: vmscope exited with status $status, wanted 0 (guest powered off)"
	fails=1
fi
[ $fails -eq 0 ] && echo "ok: Linux booted with its root on virtio-blk, wrote to it, powered off"
exit $fails
