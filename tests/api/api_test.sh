#!/usr/bin/env bash
# Drives every path of the REST API (--api-socket) with curl --unix-socket.
#
# usage: api_test.sh VMSCOPE VMSCOPE_CTL CORE_CHECK GUEST_ELF
#   VMSCOPE_CTL vmscope-ctl (its --api-socket verbs, tools/ctl_api.c)
#   CORE_CHECK  tests/api/core_check.c: compares a core file with the live VM
#   GUEST_ELF   the test guest, named with --kernel: with --api-socket and no
#               --kernel, vmscope waits for vm.create (workflow_test.py)
#
# The embedded test guest runs for only milliseconds, so it is started with
# --vmi-wait (its vCPUs wait, paused, until resumed); the parts that need a
# guest that is really running boot the Debian kernel (/boot/vmlinuz-*), which
# runs for minutes under this host's emulation (HOST-NOTES.md) and is stopped
# through the API.
set -uo pipefail

if [ $# -ne 4 ]; then
	echo "usage: $0 VMSCOPE VMSCOPE_CTL CORE_CHECK GUEST_ELF" >&2
	exit 2
fi
vmscope=$(realpath "$1") ctl=$(realpath "$2") core_check=$(realpath "$3") guest=$(realpath "$4")
command -v curl > /dev/null || { echo "SKIP: curl is not installed"; exit 77; }
command -v python3 > /dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
[ -r /dev/kvm ] || { echo "SKIP: no /dev/kvm"; exit 77; }

work=$(mktemp -d /tmp/vmscope-api-XXXXXX)
api=$work/api.sock vmi=$work/vmi.sock
vm_pid=
failures=0

cleanup() {
	[ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null && wait "$vm_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	[ -s "$work/vm.log" ] && sed 's/^/  vmscope: /' "$work/vm.log" | tail -5
	failures=$((failures + 1))
}
ok() { echo "ok: $*"; }

# start ARGS...: starts vmscope (with $mem of RAM) in the background and waits
# for the API socket.
mem=64M
start() {
	rm -f "$api" "$vmi"
	"$vmscope" --serial null --memory "size=$mem" --api-socket "path=$api" "$@" \
		> "$work/vm.log" 2>&1 &
	vm_pid=$!
	for _ in $(seq 100); do
		[ -S "$api" ] && return 0
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 0.1
	done
	fail "vmscope $* did not create $api"
	return 1
}

# finish WANT: waits (10 s at most) for vmscope to exit and checks its status.
finish() {
	local want=$1 status
	for _ in $(seq 100); do
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$vm_pid" 2>/dev/null; then
		fail "vmscope still running; killing it"
		kill "$vm_pid"
	fi
	wait "$vm_pid"
	status=$?
	vm_pid=
	[ "$status" -eq "$want" ] && ok "vmscope exited with $want" ||
		fail "vmscope exited with $status, want $want"
	[ -e "$api" ] && fail "the API socket $api was left behind"
}

# req METHOD PATH [BODY] -> sets code and body
req() {
	local args=(-s -o "$work/body" -w '%{http_code}' --unix-socket "$api" -X "$1")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	code=$(curl "${args[@]}" "http://localhost/api/v1/$2")
	body=$(cat "$work/body")
}

# expect METHOD PATH CODE [BODY]
expect() {
	local m=$1 p=$2 want=$3
	shift 3
	req "$m" "$p" "$@"
	[ "$code" = "$want" ] && ok "$m $p -> $want" || fail "$m $p -> $code, want $want ($body)"
}

# json EXPR: evaluates a Python expression over the last body as j.
json() {
	python3 -c "import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if ($1) else 1)" "$body"
}

# ---- A: every path against the paused test guest ---------------------------------
if start --kernel "$guest" --vmi-socket "$vmi" --vmi-wait --cpus boot=2; then
	mode=$(stat -c %a "$api")
	[ "$mode" = 600 ] && ok "socket mode 0600" || fail "socket mode $mode, want 600"

	expect GET vmm.ping 200
	json "j['pid'] == $vm_pid and j['version'] and j['build_version'] and 'acpi' in j['features']" &&
		ok "vmm.ping body" || fail "vmm.ping body: $body"
	expect GET vm.info 200
	json "j['state'] == 'Paused' and j['config']['cpus']['boot_vcpus'] == 2 and
	      j['memory_actual_size'] == 64 << 20 and j['config']['memory']['size'] == 64 << 20" &&
		ok "vm.info body" || fail "vm.info body: $body"
	expect GET vm.counters 200
	json "'exits' in j['vcpu0'] and 'exits' in j['vcpu1'] and 'exits_io' in j['vcpu0'] and
	      'power_button_presses' in j['acpi_pm']" &&
		ok "vm.counters body" || fail "vm.counters body: $body"

	# Malformed requests: the right status, and the server stays up.
	expect GET nonexistent 404
	expect GET ../vmm.ping 404
	expect PUT vmm.ping 405
	expect GET vm.pause 405
	expect DELETE vm.info 405
	allow=$(curl -s -D - -o /dev/null --unix-socket "$api" -X PUT http://localhost/api/v1/vm.info |
		tr -d '\r' | sed -n 's/^Allow: //Ip')
	[ "$allow" = GET ] && ok "405 names the allowed method" || fail "Allow header '$allow'"
	expect PUT vm.coredump 400
	expect PUT vm.coredump 400 '{"destination_url": "file:///tmp/x"'
	expect PUT vm.coredump 400 '[1, 2]'
	expect PUT vm.coredump 400 '{}'
	expect PUT vm.coredump 400 '{"destination_url": 5}'
	expect PUT vm.coredump 400 '{"destination_url": "http://example.com/core"}'
	expect PUT vm.coredump 400 '{"destination_url": "file://relative"}'
	expect PUT vm.coredump 400 '{"destination_url": "file:///tmp/x"} trailing'
	expect PUT vm.coredump 400 $'\xff\xfe'
	python3 -c 'print("{\"destination_url\":\"file:///" + "a" * 70000 + "\"}")' > "$work/big.json"
	code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$api" -X PUT \
		--data-binary @"$work/big.json" http://localhost/api/v1/vm.coredump)
	[ "$code" = 413 ] && ok "70 KB body -> 413" || fail "70 KB body -> $code, want 413"
	# Chunked (no Content-Length) and over the limit: refused after reading.
	code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$api" -X PUT \
		-H 'Transfer-Encoding: chunked' --data-binary @"$work/big.json" \
		http://localhost/api/v1/vm.coredump)
	[ "$code" = 413 ] && ok "70 KB chunked body -> 413" || fail "chunked 70 KB -> $code, want 413"
	raw=$(python3 - "$api" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"GARBAGE\x00\x01 not http\r\n\r\n")
s.settimeout(5)
try:
    print(s.recv(100).split(b"\r\n")[0].decode(errors="replace"))
except Exception as e:
    print("no reply:", e)
PY
)
	case $raw in "HTTP/1."*" 400 "*|"no reply"*|"") ok "garbage request: '$raw'" ;;
	*) fail "garbage request: '$raw'" ;; esac
	# 150 random and mangled requests: whatever the replies, the server stays up.
	# (An incomplete request that the client half-closes waits for the idle timeout.)
	python3 - "$api" <<'PY'
import random, socket, sys
random.seed(6)
good = b"PUT /api/v1/vm.coredump HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n{\"destination_url\": \"file:///\"}"
for i in range(150):
    if i % 3 == 0:
        data = bytes(random.getrandbits(8) for _ in range(random.randrange(1, 400)))
    else:
        data = bytearray(good)
        for _ in range(random.randrange(1, 8)):
            data[random.randrange(len(data))] = random.getrandbits(8)
        data = bytes(data[:random.randrange(1, len(data) + 1)])
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(0.1)
    s.connect(sys.argv[1])
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(4096)
    except OSError:
        pass
    s.close()
PY
	expect GET vmm.ping 200
	# A client that sends half a request and waits does not hold up the others.
	python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"PUT /api/v1/vm.coredump HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
time.sleep(3)' "$api" &
	slow=$!
	sleep 0.5
	expect GET vm.info 200
	kill $slow 2>/dev/null; wait $slow 2>/dev/null

	expect PUT vm.pause 405 # --vmi-wait: already paused (Cloud Hypervisor's code)
	expect PUT vm.power-button 204
	expect GET vm.counters 200
	json "j['acpi_pm']['power_button_presses'] == 1" && ok "power button counted" ||
		fail "power button not counted: $body"

	# vmscope-ctl's verbs (tools/ctl_api.c).
	"$ctl" --api-socket "$api" ping > "$work/out" && grep -q '"pid"' "$work/out" && ok "ctl ping" ||
		fail "ctl ping: $(cat "$work/out")"
	"$ctl" --api-socket "$api" info > "$work/out" && grep -q '"state":"Paused"' "$work/out" &&
		ok "ctl info" || fail "ctl info: $(cat "$work/out")"
	"$ctl" --api-socket "$api" counters > "$work/out" && grep -q '"vcpu1"' "$work/out" && ok "ctl counters" ||
		fail "ctl counters: $(cat "$work/out")"
	"$ctl" --api-socket "$api" power-button && ok "ctl power-button" || fail "ctl power-button"
	"$ctl" --api-socket "$api" pause 2> "$work/err"; st=$?
	[ $st = 1 ] && grep -q "HTTP 405" "$work/err" && ok "ctl pause on a paused VM: 405" ||
		fail "ctl pause: status $st, $(cat "$work/err")"
	"$ctl" --api-socket "$api" bogus 2> /dev/null; [ $? = 2 ] && ok "ctl unknown verb" || fail "ctl unknown verb"

	expect PUT vm.coredump 204 "{\"destination_url\": \"file://$work/a.core\"}"
	[ "$(stat -c %a "$work/a.core" 2>/dev/null)" = 600 ] && ok "core file 0600" ||
		fail "core file mode $(stat -c %a "$work/a.core" 2>/dev/null)"
	(cd "$work" && "$ctl" --api-socket "$api" coredump b.core) && [ -s "$work/b.core" ] && ok "ctl coredump" ||
		fail "ctl coredump"
	expect PUT vm.coredump 500 '{"destination_url": "file:///nonexistent-dir/core"}'
	# The offline reader opens the core and finds the live VM's registers and RAM.
	# Detaching the live client lifts --vmi-wait's pause: the test guest then runs and exits 0.
	if "$core_check" "$work/a.core" "$vmi" > "$work/out" 2>&1; then
		ok "$(cat "$work/out")"
	else
		fail "core_check: $(cat "$work/out")"
	fi
	# The test guest is no Linux: the Linux views say so in one line, status 1.
	"$ctl" --core "$work/a.core" ps > "$work/out" 2> "$work/err"; st=$?
	[ $st = 1 ] && [ ! -s "$work/out" ] && [ "$(wc -l < "$work/err")" = 1 ] &&
		grep -q "no Linux kernel found: no kallsyms tables in guest memory" "$work/err" &&
		ok "ps on a core of a guest that is not Linux: $(cat "$work/err")" ||
		fail "ps on a core of a guest that is not Linux: status $st, $(cat "$work/err")"
	finish 0
fi

# ---- B: vm.resume lets the paused test guest run to its own end (status 0) ------
if start --kernel "$guest" --vmi-socket "$vmi" --vmi-wait; then
	"$ctl" --api-socket "$api" resume && ok "ctl resume" || fail "ctl resume"
	finish 0
fi

# ---- B2: without interrupts (--irqchip off) there is no power button to press -----
if start --kernel "$guest" --vmi-socket "$vmi" --vmi-wait --irqchip off; then
	expect PUT vm.power-button 409
	echo "$body" | grep -q "irqchip off" && ok "power-button says why" ||
		fail "power-button reply: $body"
	expect PUT vm.resume 204
	finish 0
fi

# ---- C, D, E: vm.shutdown (the VMM stays), vm.reboot, vmm.shutdown ------------------
if start --kernel "$guest" --vmi-socket "$vmi" --vmi-wait; then
	expect PUT vm.shutdown 204
	for _ in $(seq 50); do
		req GET vm.info
		json "j['state'] == 'Created'" && break
		sleep 0.1
	done
	json "j['state'] == 'Created' and j['config']['payload']['kernel'] == '$guest'" &&
		ok "after vm.shutdown: Created, the command line's config kept" ||
		fail "after vm.shutdown: $body"
	expect PUT vm.shutdown 405
	expect PUT vmm.shutdown 204
	finish 0
fi
for case in "vm.reboot 4" "vmm.shutdown 0"; do
	set -- $case
	if start --kernel "$guest" --vmi-socket "$vmi" --vmi-wait; then
		expect PUT "$1" 204
		finish "$2"
	fi
done

# ---- F, G: a running Linux guest --------------------------------------------------
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | head -1)
if [ -z "$kernel" ]; then
	echo "note: no /boot/vmlinuz-*: skipping the running-guest parts"
elif [ ! -r "$kernel" ]; then
	echo "note: $kernel is not readable: skipping the running-guest parts"
else
	mem=256M # the kernel's init_size is about 64M
	# F: --api-socket alone (no --vmi-socket, no --gdb): pause, dump, resume work.
	if start --kernel "$kernel"; then
		expect GET vm.info 200
		json "j['state'] == 'Running'" && ok "state Running" || fail "state: $body"
		expect PUT vm.coredump 409 "{\"destination_url\": \"file://$work/c.core\"}"
		expect PUT vm.resume 405
		expect PUT vm.pause 204
		expect GET vm.info 200
		json "j['state'] == 'Paused'" && ok "state Paused" || fail "state: $body"
		expect PUT vm.coredump 204 "{\"destination_url\": \"file://$work/c.core\"}"
		[ -s "$work/c.core" ] && ok "coredump with --api-socket alone" || fail "no core file"
		expect PUT vm.resume 204
		expect GET vm.info 200
		json "j['state'] == 'Running'" && ok "state Running again" || fail "state: $body"
		expect PUT vm.power-button 204
		expect PUT vm.shutdown 204
		expect PUT vmm.shutdown 204
		finish 0
	fi
	# G: pause a running guest, dump it, compare, resume.
	if start --kernel "$kernel" --vmi-socket "$vmi" --cpus boot=2; then
		sleep 1
		expect GET vm.info 200
		json "j['state'] == 'Running'" && ok "state Running" || fail "state: $body"
		expect PUT vm.resume 405
		expect PUT vm.pause 204
		expect GET vm.info 200
		json "j['state'] == 'Paused'" && ok "state Paused" || fail "state: $body"
		expect PUT vm.coredump 204 "{\"destination_url\": \"file://$work/d.core\"}"
		if "$core_check" "$work/d.core" "$vmi" > "$work/out" 2>&1; then
			ok "running guest: $(cat "$work/out")"
		else
			fail "core_check: $(cat "$work/out")"
		fi
		# A control-socket client's detach does not undo vm.pause.
		expect GET vm.info 200
		json "j['state'] == 'Paused'" && ok "still Paused after the client left" ||
			fail "state after the client left: $body"
		expect PUT vm.pause 405
		expect PUT vm.resume 204
		expect GET vm.info 200
		json "j['state'] == 'Running'" && ok "state Running again" || fail "state: $body"
		expect PUT vm.pause 204
		expect PUT vm.resume 204
		expect GET vm.counters 200
		json "isinstance(j['vcpu0']['exits'], int) and j['vcpu1']['exits'] >= 0" && ok "vCPU exit counters" || fail "counters: $body"
		expect PUT vmm.shutdown 204
		finish 0
	fi
	mem=64M
fi

# ---- H: --api-socket fd=N (a socket the caller created and passes down) ----------
python3 - "$vmscope" "$work" "$guest" <<'PY' && ok "fd= socket: ping and vmm.shutdown" || fail "fd= socket"
import os, socket, subprocess, sys, http.client, time
vmscope, work, guest = sys.argv[1], sys.argv[2], sys.argv[3]
path = os.path.join(work, "fd.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(4)
vmi = os.path.join(work, "fd-vmi.sock")
p = subprocess.Popen([vmscope, "--kernel", guest, "--serial", "null", "--memory", "size=64M",
                      "--vmi-socket", vmi,
                      "--vmi-wait", "--api-socket", "fd=%d" % s.fileno()], pass_fds=[s.fileno()])
s.close()

class UnixHTTP(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)

def call(method, url):
    c = UnixHTTP("localhost", timeout=10)
    c.request(method, url)
    r = c.getresponse()
    return r.status, r.read()

st, body = call("GET", "/api/v1/vmm.ping")
assert st == 200 and b'"pid":%d' % p.pid in body, (st, body)
st, _ = call("PUT", "/api/v1/vmm.shutdown")
assert st == 204, st
assert p.wait(timeout=10) == 0
PY

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)"
	exit 1
fi
echo "all API checks passed"
