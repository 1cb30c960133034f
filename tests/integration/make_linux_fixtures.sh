#!/bin/sh
# Makes the Linux guest fixtures the integration tests boot:
#   OUTDIR/bzImage            the Debian kernel (copy of the newest /boot/vmlinuz-*,
#                             or of PACKAGE's)
#   OUTDIR/vmlinux            the ELF kernel extracted from that bzImage
#   OUTDIR/initramfs.cpio.gz  busybox (from busybox-static) with an /init that
#                             prints VMSCOPE-INITRAMFS-OK and the CPUs it sees
#                             ("cpus: N"), loads the kernel's virtio and ACPI
#                             button modules (Debian builds them as modules),
#                             lists them ("module: NAME"), powers off when the
#                             ACPI power button is pressed, and powers off
# Installs the Debian packages it needs when they are missing.  Idempotent:
# files that are already up to date are left alone.
#
# usage: make_linux_fixtures.sh OUTDIR [PACKAGE]
#   PACKAGE: a Debian kernel package (linux-image-6.12-amd64, or a versioned
#   one) to use instead of the installed kernel: downloaded with apt-get
#   download and unpacked into OUTDIR/pkg, never installed.
set -eu

MARKER=VMSCOPE-INITRAMFS-OK

die() { echo "make_linux_fixtures: $*" >&2; exit 1; }
log() { echo "make_linux_fixtures: $*"; }

[ $# -eq 1 ] || [ $# -eq 2 ] || die "usage: $0 OUTDIR [PACKAGE]"
OUT=$1
PACKAGE=${2:-}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# --- packages -------------------------------------------------------------
# apt and dpkg take one process at a time, and the fixtures of two kernels are
# made in parallel: each apt command waits for this lock first.
APT_LOCK=${TMPDIR:-/tmp}/vmscope-fixtures-apt.lock
apt_() { flock "$APT_LOCK" "$@"; }

pkg_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=
for p in linux-image-amd64 busybox-static cpio xz-utils zstd gzip kmod; do
	pkg_installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	command -v apt-get >/dev/null || die "missing packages:$missing (and no apt-get)"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	log "installing$missing"
	apt_ $SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt_ $SUDO apt-get install -y -qq --no-install-recommends $missing \
		|| die "apt-get install$missing failed"
fi

# --- a kernel package, unpacked -------------------------------------------
# The versioned package a meta-package (linux-image-6.12-amd64) stands for.
versioned_package() {
	case $1 in
	linux-image-[0-9]*.[0-9]*.[0-9]*) echo "$1"; return ;; # 6.12.118+deb12-amd64
	esac
	apt-cache depends "$1" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9]*\.[0-9]*\.[0-9][^ ]*\)$/\1/p' | head -n 1
}

MODROOT=/
if [ -n "$PACKAGE" ]; then
	pkg=$(versioned_package "$PACKAGE")
	if [ -z "$pkg" ]; then
		log "apt-get update: $PACKAGE is not in the package lists"
		SUDO=
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		apt_ $SUDO apt-get update -qq || die "apt-get update failed"
		pkg=$(versioned_package "$PACKAGE")
	fi
	[ -n "$pkg" ] || die "no Debian kernel package $PACKAGE"
	if [ "$(cat "$OUT/pkg.name" 2>/dev/null)" != "$pkg" ]; then
		rm -rf "$OUT/pkg" "$OUT"/*.deb "$OUT/pkg.name"
		(cd "$OUT" && apt_ apt-get download -q "$pkg" 2>&1 | grep -v "^W: Download is performed unsandboxed") ||
			true
		deb=$(ls "$OUT"/"$pkg"_*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] || die "apt-get download $pkg failed"
		dpkg-deb -x "$deb" "$OUT/pkg" || die "dpkg-deb -x $deb failed"
		rm -f "$deb"
		depmod -b "$OUT/pkg" "${pkg#linux-image-}" || die "depmod for $pkg failed"
		echo "$pkg" >"$OUT/pkg.name"
		log "unpacked $pkg"
	fi
	MODROOT=$OUT/pkg
fi

# --- bzImage --------------------------------------------------------------
KERNEL=$(ls "${MODROOT%/}"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$KERNEL" ] || die "no vmlinuz in ${MODROOT%/}/boot"
[ -r "$KERNEL" ] || die "$KERNEL is not readable"
if ! cmp -s "$KERNEL" "$OUT/bzImage"; then
	cp "$KERNEL" "$OUT/bzImage.tmp"
	mv "$OUT/bzImage.tmp" "$OUT/bzImage"
	rm -f "$OUT/vmlinux"
	log "bzImage: copied $KERNEL"
fi

# --- vmlinux --------------------------------------------------------------
# Little-endian unsigned integer of $2 bytes at offset $1 of file $3.
le() {
	od -An -tu1 -j "$1" -N "$2" "$3" |
		awk '{ for (i = NF; i >= 1; i--) v = v * 256 + $i } END { printf "%d\n", v }'
}
hex_at() { od -An -tx1 -j "$1" -N "$2" "$3" | tr -d ' \n'; }

is_elf() { [ "$(hex_at 0 4 "$1")" = 7f454c46 ]; }

# The boot protocol says where the compressed kernel is: payload_offset
# (0x248) and payload_length (0x24c) from the start of the protected-mode
# code, which follows the (setup_sects + 1) * 512 bytes of setup code.  The
# build appends the uncompressed size (4 bytes, little-endian) to the payload.
extract_vmlinux() {
	bz=$1 dst=$2
	[ "$(hex_at 0x202 4 "$bz")" = 48647253 ] || die "$bz: no HdrS setup header"
	sects=$(le $((0x1f1)) 1 "$bz")
	[ "$sects" -ne 0 ] || sects=4
	poff=$(le $((0x248)) 4 "$bz")
	plen=$(le $((0x24c)) 4 "$bz")
	[ "$plen" -gt 4 ] || die "$bz: no compressed payload (boot protocol before 2.08?)"
	start=$(( (sects + 1) * 512 + poff ))
	want=$(le $((start + plen - 4)) 4 "$bz")
	magic=$(hex_at "$start" 6 "$bz")
	case $magic in
	fd377a585a00*) dec="xz -dc --single-stream" ;;
	28b52ffd*)     dec="zstd -dcq" ;;
	1f8b*)         dec="gzip -dc" ;;
	425a68*)       dec="bzip2 -dc" ;;
	02214c18*)     dec="lz4 -dcq" ;;
	5d0000*)       dec="xz -dc --format=lzma" ;;
	*) die "$bz: unknown compression (payload starts with $magic)" ;;
	esac
	# tail -c +N is 1-based; drop the appended size so decompressors see only their stream.
	tail -c +$((start + 1)) "$bz" | head -c $((plen - 4)) | $dec > "$dst.tmp" ||
		die "$bz: decompressing the payload (${dec%% *}) failed"
	is_elf "$dst.tmp" || die "$bz: the decompressed payload is not an ELF file"
	got=$(wc -c < "$dst.tmp")
	[ "$got" -eq "$want" ] || die "$bz: decompressed $got bytes, the image says $want"
	mv "$dst.tmp" "$dst"
	log "vmlinux: extracted $got bytes (${dec%% *}) from $bz"
}

if [ ! -s "$OUT/vmlinux" ] || ! is_elf "$OUT/vmlinux" || [ "$OUT/bzImage" -nt "$OUT/vmlinux" ]; then
	extract_vmlinux "$OUT/bzImage" "$OUT/vmlinux"
fi

# --- initramfs ------------------------------------------------------------
BUSYBOX=
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && { BUSYBOX=$b; break; }
done
[ -n "$BUSYBOX" ] || die "busybox-static is installed but no busybox binary was found"
if ldd "$BUSYBOX" 2>/dev/null | grep -q '=>'; then
	die "$BUSYBOX is dynamically linked (busybox-static should provide a static one)"
fi

# --- modules --------------------------------------------------------------
# The modules the guest loads, from the same kernel's /lib/modules, each after
# the ones it depends on: virtio (PCI transport, block, net, console, rng) and
# the ACPI button and evdev, which turn the power button into /dev/input/eventN.
KVER=${KERNEL##*/vmlinuz-}
MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio_rng button evdev"
[ -d "${MODROOT%/}/lib/modules/$KVER" ] || die "no ${MODROOT%/}/lib/modules/$KVER for $KERNEL"
MODINFO=$(command -v modinfo || echo /sbin/modinfo)
modinfo_() { "$MODINFO" -b "$MODROOT" -k "$KVER" "$@"; }

# add_module NAME DIR: copies NAME (after its dependencies) into DIR and
# appends its file name to DIR/order.
add_module() {
	grep -qx "$1" "$2/names" 2>/dev/null && return 0
	for dep in $(modinfo_ -F depends "$1" | tr ',' ' '); do
		add_module "$dep" "$2"
	done
	file=$(modinfo_ -n "$1") || die "no module $1 for $KVER"
	# busybox insmod takes the module as it is: decompressed here.
	name=$(basename "$file")
	case $file in
	/*.ko.xz) name=${name%.xz}; xz -dc "$file" >"$2/$name" ;;
	/*.ko.zst) name=${name%.zst}; zstd -dcq "$file" >"$2/$name" ;;
	/*.ko.gz) name=${name%.gz}; gzip -dc "$file" >"$2/$name" ;;
	/*) cp "$file" "$2/" ;;
	*) echo "$1" >>"$2/names"; return 0 ;; # built in: nothing to load
	esac
	echo "$name" >>"$2/order"
	echo "$1" >>"$2/names"
}

# One newc cpio entry with no data (device node or trailer), for what an
# unprivileged cpio cannot archive: the /dev/console node the kernel opens
# for init's stdin/stdout before /init runs.
newc_entry() { # name mode rdevmajor rdevminor ino
	n=$(( ${#1} + 1 ))
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		"$5" "$2" 0 0 1 0 0 0 0 "$3" "$4" "$n" 0
	printf '%s\0' "$1"
	pad=$(( (4 - (110 + n) % 4) % 4 ))
	[ "$pad" -eq 0 ] || head -c "$pad" /dev/zero
}

build_initramfs() {
	dst=$1
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/root/bin" "$tmp/root/dev" "$tmp/root/proc" "$tmp/root/sys" \
		"$tmp/root/lib/modules"
	cp "$BUSYBOX" "$tmp/root/bin/busybox"
	for app in sh echo mount cat grep tr sleep poweroff reboot insmod head; do
		ln -s busybox "$tmp/root/bin/$app"
	done
	for m in $MODULES; do
		add_module "$m" "$tmp/root/lib/modules"
	done
	rm -f "$tmp/root/lib/modules/names"
	cat > "$tmp/root/init" <<-EOF
	#!/bin/sh
	# vmscope test initramfs: prove that userspace runs, then power off.
	# It lists its processes ("proc: PID COMM").  With vmscope.linger=N on the
	# command line, it keeps making system calls (a tick line, a cat and a
	# sleep each second) for N seconds first, for tracers and live views.
	# It loads the kernel's virtio and button modules and lists what is loaded
	# ("module: NAME"); a press of the ACPI power button (its input device, as
	# the ACPI button driver makes it) powers it off.
	export PATH=/bin
	mount -t proc proc /proc 2>/dev/null
	echo "$MARKER"
	echo "cmdline: \$(cat /proc/cmdline 2>/dev/null)"
	echo "cpus: \$(grep -c ^processor /proc/cpuinfo)"
	for p in /proc/[0-9]*; do echo "proc: \${p#/proc/} \$(cat \$p/comm 2>/dev/null)"; done
	echo "cmdline1: \$(tr '\\0' ' ' </proc/1/cmdline)"
	echo "kallsyms: \$(grep ' entry_SYSCALL_64\$' /proc/kallsyms)"
	mount -t devtmpfs dev /dev 2>/dev/null
	mount -t sysfs sys /sys 2>/dev/null
	for m in \$(cat /lib/modules/order); do insmod /lib/modules/\$m; done
	while read -r name rest; do echo "module: \$name"; done </proc/modules
	for e in /sys/class/input/event*; do
		[ "\$(cat \$e/device/name 2>/dev/null)" = "Power Button" ] || continue
		(head -c 1 /dev/input/\${e##*/} >/dev/null &&
			echo "power button pressed, powering off" && poweroff -f) &
		echo "power button: /dev/input/\${e##*/}"
	done
	linger=0
	for w in \$(cat /proc/cmdline); do
		case \$w in vmscope.linger=*) linger=\${w#vmscope.linger=} ;; esac
	done
	i=0
	while [ "\$i" -lt "\$linger" ]; do
		echo "tick \$i"
		cat /proc/version > /dev/null
		sleep 1
		i=\$((i + 1))
	done
	poweroff -f
	EOF
	chmod 755 "$tmp/root/init"
	# Fixed timestamps and owners: the same inputs give the same archive.
	find "$tmp/root" -exec touch -h -d @0 {} +
	(
		cd "$tmp/root"
		find . -mindepth 1 | LC_ALL=C sort | sed 's|^\./||' |
			cpio -o -H newc -R 0:0 --reproducible --quiet
		# S_IFCHR | 0600 = 0x2180; 5:1 is /dev/console.
		newc_entry dev/console 0x2180 5 1 900001
		newc_entry TRAILER!!! 0 0 0 0
	) | gzip -9n > "$dst.tmp"
	mv "$dst.tmp" "$dst"
	rm -rf "$tmp"
	trap - EXIT
	log "initramfs: $(wc -c < "$dst") bytes, busybox from $BUSYBOX"
}

if [ ! -s "$OUT/initramfs.cpio.gz" ] || [ "$BUSYBOX" -nt "$OUT/initramfs.cpio.gz" ] ||
	[ "$0" -nt "$OUT/initramfs.cpio.gz" ] || [ "$KERNEL" -nt "$OUT/initramfs.cpio.gz" ]; then
	build_initramfs "$OUT/initramfs.cpio.gz"
fi

log "ready in $OUT: bzImage vmlinux initramfs.cpio.gz"
