# Sourced by the tests that boot the Debian vmlinux under vmscope only until
# a line shows on its serial console (an emulating host cannot finish the
# boot), then look for more lines in that log.
#
# boot_until LINE SECONDS VMSCOPE ARGS...: starts VMSCOPE ARGS... with the
#   serial port in $log, waits up to SECONDS for a line containing LINE (or
#   for vmscope to end), then stops vmscope.  Sets $work (removed on exit),
#   $log and $vm_log.
# want PATTERN [WHAT]: one ok/FAIL line for an extended regex in $log,
#   counting failures in $failures.

failures=0

boot_until() {
	local line=$1 seconds=$2 vmscope=$3 pid
	shift 3
	work=$(mktemp -d)
	log=$work/serial.log
	vm_log=$work/vm.log
	"$vmscope" "$@" --serial "file=$log" >"$vm_log" 2>&1 &
	pid=$!
	# shellcheck disable=SC2064 # pid and work are fixed now
	trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf '$work'" EXIT
	for _ in $(seq "$seconds"); do
		grep -aq "$line" "$log" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 1
	done
	kill $pid 2>/dev/null
}

want() {
	local what=${2:-$1}
	if grep -aqE "$1" "$log"; then
		echo "ok: $what"
	else
		echo "FAIL: $what (no line matching /$1/)"
		failures=$((failures + 1))
	fi
}
