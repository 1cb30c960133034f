#!/usr/bin/env bash
# Builds vmscope and boots the embedded test guest, showing its console.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec build/src/vmscope --cpus boot=2 --memory size=256M "$@"
