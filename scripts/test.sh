#!/usr/bin/env bash
# Builds vmscope and runs the whole test suite twice: a normal build (all
# suites), then an AddressSanitizer + UndefinedBehaviorSanitizer build (the
# suites that exercise vmscope's own code: unit, kvm, fuzz).
#   scripts/test.sh              every suite but svm-more (the svm suite's tests
#                                on their other vCPU count or kernel, for time)
#   scripts/test.sh SUITE...     only these (the sanitizer run takes those of
#                                unit, kvm and fuzz among them)
# Installs missing Debian packages first.  Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

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

# A failed configure or build is counted as a failure and the other build
# still runs (configure and build die in a subshell).
built() { # dir, meson options...
	(configure "$@" && build "$1")
}

normal=() asan=()
for s in "$@"; do
	normal+=(--suite "$s")
	case $s in unit|kvm|fuzz) asan+=(--suite "$s") ;; esac
done
[ $# -gt 0 ] || normal=(--no-suite svm-more) asan=(--suite unit --suite kvm --suite fuzz)

if built build; then
	run build "${normal[@]}"
else
	status=1 failed=$((failed + 1))
fi

if [ ${#asan[@]} -gt 0 ]; then
	if built build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug; then
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			run build-asan "${asan[@]}"
	else
		status=1 failed=$((failed + 1))
	fi
fi

[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
