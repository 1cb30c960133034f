#!/usr/bin/env bash
# Builds vmscope and runs the whole test suite twice: a normal build (all
# suites), then an AddressSanitizer + UndefinedBehaviorSanitizer build (the
# suites that exercise vmscope's own code: unit, kvm, fuzz).
# Installs missing Debian packages first.  Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh test || exit 1

summary() { # testlog.json -> "passed failed skipped"
	python3 - "$1" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
}

setup() { # dir, options...
	local dir=$1; shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

status=0
passed=0 failed=0 skipped=0

run() { # dir, meson test args...
	local dir=$1; shift
	meson test -C "$dir" --print-errorlogs "$@" || status=1
	if [ -f "$dir/meson-logs/testlog.json" ]; then
		read -r p f s < <(summary "$dir/meson-logs/testlog.json")
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	fi
}

if setup build && ninja -C build; then
	run build
else
	echo "vmscope: the normal build failed" >&2; status=1; failed=$((failed + 1))
fi

if setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug &&
   ninja -C build-asan; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		run build-asan --suite unit --suite kvm --suite fuzz
else
	echo "vmscope: the sanitizer build failed" >&2; status=1; failed=$((failed + 1))
fi

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
