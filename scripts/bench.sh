#!/usr/bin/env bash
# Builds vmscope (optimised) and runs every benchmark in bench/, printing their figures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
[ -f build-release/build.ninja ] || meson setup build-release -Dbuildtype=release >/dev/null
ninja -C build-release >/dev/null
b=build-release
echo "== boot"; "$b/bench/bench_boot" "$b/src/vmscope" "$b/guest/vmscope-guest.elf" 20
for x in "$b"/bench/bench_*; do
	case "$x" in */bench_boot) continue ;; esac
	[ -x "$x" ] || continue
	echo "== ${x##*/bench_}"; "$x" "$b"
done
