#!/usr/bin/env bash
# meson install into a temporary prefix puts everything a user needs in
# place: the programs, their man pages, the test guest, the library with its
# header and pkg-config file, and the Python binding.  A client is then built
# against the installed pkg-config file alone and run against the installed
# vmscope.
#   install_test.sh BUILD_DIR CLIENT_C
set -u
BUILD=$1 CLIENT=$2
dest=$(mktemp -d) || exit 1
trap 'kill $vm 2>/dev/null; rm -rf "$dest"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

meson install -C "$BUILD" --destdir "$dest" --no-rebuild --quiet >"$dest.log" 2>&1 ||
	{ cat "$dest.log"; rm -f "$dest.log"; fail "meson install"; }
rm -f "$dest.log"
prefix=$(meson introspect --buildoptions "$BUILD" |
	python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
root=$dest$prefix

for f in bin/vmscope bin/vmscope-ctl include/vmscope/vmscope.h include/vmscope/abi.h \
	 include/vmscope/linux.h share/man/man1/vmscope.1 share/man/man1/vmscope-ctl.1 \
	 libexec/vmscope/vmscope-guest.elf; do
	[ -e "$root/$f" ] || fail "not installed: $prefix/$f"
done
pc=$(find "$root" -name libvmscope.pc | head -n1)
[ -n "$pc" ] || fail "no libvmscope.pc installed"
py=$(find "$root" -name vmscope.py | head -n1)
[ -n "$py" ] || fail "the Python binding (vmscope.py) is not installed"
for page in vmscope vmscope-ctl; do
	man -l "$root/share/man/man1/$page.1" 2>/dev/null | grep -q "^EXAMPLES" ||
		fail "man page $page.1 has no EXAMPLES section"
done

# A client built as a user would, through pkg-config; the sysroot maps the
# .pc file's prefix into the temporary one.
flags=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$(dirname "$pc") \
	pkg-config --cflags --libs libvmscope) || fail "pkg-config libvmscope"
cc -std=c17 -Wall -Wextra -Werror -o "$dest/client" "$CLIENT" $flags || fail "building the client with: $flags"
libdir=$(dirname "$(find "$root" -name 'libvmscope.so' | head -n1)")
VMSCOPE_LIB=$libdir/libvmscope.so PYTHONPATH=$(dirname "$py") python3 -c \
	'import sys, vmscope; sys.exit(0 if vmscope.__file__.startswith(sys.argv[1]) else 1)' "$dest" ||
	fail "the installed Python binding does not import"

if ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	[ "${VMSCOPE_REQUIRE_KVM:-}" = 1 ] && fail "no usable /dev/kvm"
	echo "SKIP: installed files checked; no usable /dev/kvm to run them"; exit 77
fi
sock=$dest/vmi.sock
timeout 60 "$root/bin/vmscope" --serial file="$dest/serial" --memory size=64M \
	--vmi-socket "$sock" --vmi-wait 2>"$dest/vmscope.log" &
vm=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
out=$(LD_LIBRARY_PATH=$libdir "$dest/client" "$sock") || fail "client: $out"
echo "client: $out"
[[ $out =~ ^vcpus=1\ paused=1\ rip=0x[0-9a-f]+$ ]] || fail "client saw: $out"
wait $vm
status=$?
[ $status = 0 ] || { cat "$dest/vmscope.log"; fail "installed vmscope exited with $status"; }
grep -q "all 4 tasks done" "$dest/serial" || fail "the guest did not finish after the client detached"
echo ok
