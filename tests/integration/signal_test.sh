#!/usr/bin/env bash
# SIGINT and SIGTERM stop a running guest cleanly: vmscope says so, joins
# its vCPUs and exits with 128 + the signal's number, as a shell would report.
# The guest is held before its first instruction (--vmi-wait), so it is
# certainly still running when the signal arrives.
# Usage: signal_test.sh VMSCOPE
set -uo pipefail
vmscope=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0

for sig in INT TERM; do
	"$vmscope" --serial null --log-level info --vmi-socket "$work/vmi-$sig.sock" --vmi-wait \
		2>"$work/err" &
	pid=$!
	for _ in $(seq 100); do [ -S "$work/vmi-$sig.sock" ] && break; sleep 0.05; done
	kill -s "$sig" "$pid"
	timeout 10 tail --pid="$pid" -f /dev/null
	wait "$pid"
	status=$?
	want=$((128 + $(kill -l "$sig")))
	if [ "$status" -ne "$want" ] || ! grep -q "stopping the guest on signal" "$work/err"; then
		echo "FAIL: SIG$sig: status $status (want $want); stderr:"; sed 's/^/    /' "$work/err"
		fails=$((fails + 1))
	else
		echo "ok: SIG$sig: exit status $status"
	fi
	[ -e "$work/vmi-$sig.sock" ] && { echo "FAIL: SIG$sig: the socket was left behind"; fails=$((fails + 1)); }
done
echo "$((2 - fails)) passed, $fails failed"
[ "$fails" -eq 0 ]
