#!/bin/sh
# Makes the Linux guest fixtures the integration tests boot:
#   OUTDIR/bzImage            the Debian kernel (copy of the newest /boot/vmlinuz-*)
#   OUTDIR/vmlinux            the ELF kernel extracted from that bzImage
#   OUTDIR/initramfs.cpio.gz  busybox (from busybox-static) with an /init that
#                             prints VMSCOPE-INITRAMFS-OK and the CPUs it sees
#                             ("cpus: N"), and powers off
# Installs the Debian packages it needs when they are missing.  Idempotent:
# files that are already up to date are left alone.
#
# usage: make_linux_fixtures.sh OUTDIR
set -eu

MARKER=VMSCOPE-INITRAMFS-OK

die() { echo "make_linux_fixtures: $*" >&2; exit 1; }
log() { echo "make_linux_fixtures: $*"; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# --- packages -------------------------------------------------------------
pkg_installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=
for p in linux-image-amd64 busybox-static cpio xz-utils zstd gzip; do
	pkg_installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	command -v apt-get >/dev/null || die "missing packages:$missing (and no apt-get)"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	log "installing$missing"
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing \
		|| die "apt-get install$missing failed"
fi

# --- bzImage --------------------------------------------------------------
KERNEL=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
[ -n "$KERNEL" ] || die "no /boot/vmlinuz-* after installing linux-image-amd64"
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
	mkdir -p "$tmp/root/bin" "$tmp/root/dev" "$tmp/root/proc" "$tmp/root/sys"
	cp "$BUSYBOX" "$tmp/root/bin/busybox"
	for app in sh echo mount cat grep tr sleep poweroff reboot; do
		ln -s busybox "$tmp/root/bin/$app"
	done
	cat > "$tmp/root/init" <<-EOF
	#!/bin/sh
	# vmscope test initramfs: prove that userspace runs, then power off.
	# It lists its processes ("proc: PID COMM").  With vmscope.linger=N on the
	# command line, it keeps making system calls (a tick line, a cat and a
	# sleep each second) for N seconds first, for tracers and live views.
	export PATH=/bin
	mount -t proc proc /proc 2>/dev/null
	echo "$MARKER"
	echo "cmdline: \$(cat /proc/cmdline 2>/dev/null)"
	echo "cpus: \$(grep -c ^processor /proc/cpuinfo)"
	for p in /proc/[0-9]*; do echo "proc: \${p#/proc/} \$(cat \$p/comm 2>/dev/null)"; done
	echo "cmdline1: \$(tr '\\0' ' ' </proc/1/cmdline)"
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
	[ "$0" -nt "$OUT/initramfs.cpio.gz" ]; then
	build_initramfs "$OUT/initramfs.cpio.gz"
fi

log "ready in $OUT: bzImage vmlinux initramfs.cpio.gz"
