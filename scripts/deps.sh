#!/usr/bin/env bash
# Installs the Debian packages vmscope needs, only those missing.
#   scripts/deps.sh build   what building vmscope needs
#   scripts/deps.sh test    that, plus what the test suite drives (QEMU, GDB, a Linux kernel...)
set -euo pipefail

build_pkgs=(gcc meson ninja-build pkg-config libbpf-dev libcapstone-dev acpica-tools
	    libmicrohttpd-dev libjson-c-dev)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev qemu-system-x86 gdb busybox-static cpio
	   xz-utils zstd linux-image-amd64 curl python3 valgrind e2fsprogs)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "vmscope: installing missing Debian packages: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >&2
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
