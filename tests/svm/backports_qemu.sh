#!/usr/bin/env bash
# A test-only QEMU 10 for the nested-SVM L1: Debian bookworm-backports'
# qemu-system-x86, downloaded with a private apt state and unpacked into a
# cache folder.  The machine's apt sources and installed packages are left
# alone.  Why QEMU 10 and not bookworm's 7.2 (../shared/HOST-NOTES.md and the
# README): its emulated SVM arms debug registers loaded by VMRUN, and L1's
# kernel died under 7.2 in several runs ("TASK stack guard page was hit").
#
#   backports_qemu.sh CACHE_DIR
# Prints three lines: the qemu-system-x86_64 to run, the options it needs (-L
# for its firmware), and its QEMU_MODULE_DIR.  Exit 1, saying why, when it
# cannot be had.
set -uo pipefail
cache=$1/qemu-backports
pkgs=(qemu-system-x86 qemu-system-common qemu-system-data seabios)

mkdir -p "$cache" || { echo "cannot create $cache" >&2; exit 1; }
exec 9>"$cache/lock"
flock 9
root=$cache/root
if [ ! -x "$root/usr/bin/qemu-system-x86_64" ]; then
	state=$cache/apt
	rm -rf "$state" "$root.tmp"
	mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/sources" "$root.tmp"
	# The machine's Debian mirror, with the backports suite.
	mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
	printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$mirror" >"$state/sources/backports.sources"
	apt=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$state/sources"
	     -o Dir::State::Lists="$state/lists" -o Dir::Cache="$state/cache"
	     -o Acquire::Check-Valid-Until=false -o APT::Sandbox::User=root)
	if ! apt-get -q "${apt[@]}" update >"$cache/apt.log" 2>&1 ||
	   ! (cd "$state" && apt-get -q "${apt[@]}" download "${pkgs[@]}") >>"$cache/apt.log" 2>&1; then
		echo "apt-get could not fetch ${pkgs[*]} from bookworm-backports ($mirror): $(grep -m1 -E '^(E|Err):' "$cache/apt.log")" >&2
		exit 1
	fi
	for deb in "$state"/*.deb; do
		dpkg-deb -x "$deb" "$root.tmp" || { echo "cannot unpack $deb" >&2; exit 1; }
	done
	rm -rf "$root" && mv "$root.tmp" "$root" && rm -rf "$state"
fi
echo "$root/usr/bin/qemu-system-x86_64"
echo "-L $root/usr/share/qemu -L $root/usr/share/seabios"
echo "$root/usr/lib/x86_64-linux-gnu/qemu"
