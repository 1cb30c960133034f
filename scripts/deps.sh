#!/usr/bin/env bash
# Installs the Debian packages vmscope needs, only those missing.
#   scripts/deps.sh build   what building vmscope needs
#   scripts/deps.sh test    that, plus what the test suite drives (cmocka, QEMU,
#                           GDB, a Linux kernel, mmdebstrap for the fresh-machine test...)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

build_pkgs=(gcc meson ninja-build pkg-config libbpf-dev libcapstone-dev acpica-tools libseccomp-dev
	    libmicrohttpd-dev libjson-c-dev help2man)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev qemu-system-x86 gdb busybox-static cpio
	   xz-utils zstd linux-image-amd64 curl python3 valgrind e2fsprogs fdisk mmdebstrap
	   man-db)

case "${1:-build}" in
build) want=("${build_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
*) die "deps.sh: unknown set '$1' (build or test)" ;;
esac

command -v dpkg-query >/dev/null ||
	die "this is not a Debian system (no dpkg-query): install by hand what scripts/deps.sh lists"

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null ||
		die "missing Debian packages (${missing[*]}), and not root and no sudo to install them: run as root 'apt-get install ${missing[*]}'"
	sudo=(sudo)
fi
echo "vmscope: installing missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/vmscope-apt.XXXXXX)
"${sudo[@]}" apt-get update -q >"$log" 2>&1 ||
	die "apt-get update failed: $(grep -m1 -E '^(E|Err):' "$log" || tail -n1 "$log") (all of its output: $log)"
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
	die "apt-get install failed: $(grep -m1 -E '^E:' "$log" || tail -n1 "$log") (all of its output: $log)"
fi
rm -f "$log"
