#!/usr/bin/env python3
"""Cloud Hypervisor's API workflow on the embedded test guest: vmscope started
with only --api-socket, driven by curl --unix-socket and by vmscope-ctl's
ch-remote verbs: create from a JSON file, boot, introspect with a client,
shutdown, delete, create again, boot, vmm.shutdown; then a VM created with a
disk and a serial file that runs to its end; and bad bodies, each refused with
400 and the field named.

usage: workflow_test.py VMSCOPE VMSCOPE_CTL GUEST_ELF    exit: 0 pass, 1 fail, 77 skip
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
import vmscope  # noqa: E402

fails = []
DISK_PATTERN = 0x5644534B_00000000  # TG_DISK_PATTERN, include/vmscope/testguest.h


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        fails.append(what)
    return cond


class Api:
    def __init__(self, vmscope_bin, ctl, sock):
        self.ctl, self.sock = ctl, sock
        self.log = sock + ".log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([vmscope_bin, "--api-socket", "path=" + sock, "-v"],
                                         stderr=log)
        for _ in range(200):
            if os.path.exists(sock):
                return
            time.sleep(0.05)
        raise RuntimeError("vmscope did not open " + sock)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if fails:
            print("vmscope's log:\n" + open(self.log).read())

    def curl(self, method, path, body=None):
        """(status, body text) of one request."""
        cmd = ["curl", "-s", "-w", "\n%{http_code}", "--unix-socket", self.sock,
               "-X", method, "http://localhost/api/v1/" + path]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", body]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        text, _, code = out.rpartition("\n")
        return int(code or 0), text

    def ctl_run(self, *args):
        r = subprocess.run([self.ctl, "--api-socket", self.sock] + list(args),
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def state(self):
        code, text = self.curl("GET", "vm.info")
        return json.loads(text)["state"] if code == 200 else code

    def wait_state(self, want, seconds=10):
        for _ in range(seconds * 20):
            if self.state() == want:
                return True
            time.sleep(0.05)
        return False


def elf_load_segments(path):
    """(paddr, file bytes) of each PT_LOAD of an ELF64 file."""
    data = open(path, "rb").read()
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    segs = []
    for i in range(phnum):
        p_type, _, off, _, paddr, filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 1 and filesz:
            segs.append((paddr, data[off:off + filesz]))
    return segs


def bad_bodies(api, elf):
    """Bodies vm.create must refuse with 400, and what the reply must name."""
    cases = [
        ('{"cpus": {"boot_vcpus": 1, "bogus": 2}}', "cpus.bogus: unknown field"),
        ('{"payload": {"kernel": 5}}', "payload.kernel: must be a string"),
        ('{"cpus": {"boot_vcpus": "2"}}', "cpus.boot_vcpus: must be a whole number"),
        ('{"cpus": {"boot_vcpus": 100000}}', "cpus:"),
        ('{"memory": {"size": 18446744073709551615}}', "memory:"),
        ('{"memory": {"size": -4096}}', "memory.size: must not be negative"),
        ('{"memory": {"size": 12345}}', "not a multiple of 4K"),
        ('{"cpus": {"boot_vcpus": 2', "invalid JSON"),
        ('{"cpus": {"boot_vcpus": 2}} x', "invalid JSON"),
        ('[1, 2]', "must be a JSON object"),
        ('{"disks": [{"readonly": true}]}', "disks[0]: 'path' is required"),
        ('{"disks": {"path": "/x"}}', "disks: must be a JSON array"),
        ('{"net": [{"mac": "01:00:00:00:00:01"}]}', "net[0]: invalid MAC address"),
        ('{"serial": {"mode": "Pty"}}', "serial.mode: Pty is not supported by vmscope yet"),
        ('{"serial": {"mode": "File"}}', "serial.file: is required with mode File"),
        ('{"fs": [{"tag": "t", "socket": "/s"}]}', "fs: not supported by vmscope yet"),
        ('{"vmscope": {"gdb": {"tcp": "0.0.0.0:1234"}}}', "allow-remote=on"),
        ('{"vmscope": {"vmi_wait": true}}', "needs --vmi-socket"),
        ('{"payload": {"kernel": "a\\u0000b"}}', "payload.kernel: holds a NUL character"),
    ]
    for body, want in cases:
        code, text = api.curl("PUT", "vm.create", body)
        check(code == 400 and want in text, "vm.create %s -> %d %s" % (body[:48], code, text.strip()))
        check(api.curl("GET", "vm.info")[0] == 404, "nothing was created by a bad body")
    # Accepted: Cloud Hypervisor's defaults for features vmscope lacks.
    code, text = api.curl("PUT", "vm.create", '{"fs": [], "iommu": false, "watchdog": null, '
                          '"payload": {"kernel": "%s"}}' % elf)
    check(code == 204, "absent features (null, false, []) accepted: %d %s" % (code, text.strip()))
    code, text = api.curl("PUT", "vm.delete")
    check(code == 204, "vm.delete of a created VM")
    # A configuration that parses but cannot be built: vm.boot says why.
    api.curl("PUT", "vm.create", '{"payload": {"kernel": "/nonexistent/vmlinux"}}')
    code, text = api.curl("PUT", "vm.boot")
    check(code == 500 and "/nonexistent/vmlinux" in text, "vm.boot of a missing kernel: %d %s"
          % (code, text.strip()))
    check(api.state() == "Created", "still created after the failed boot")
    api.curl("PUT", "vm.delete")


def workflow(api, work, elf):
    vmi = os.path.join(work, "vmi.sock")
    cfg = {
        "payload": {"kernel": elf},
        "cpus": {"boot_vcpus": 2},
        "memory": {"size": 256 << 20},
        "serial": {"mode": "Null"},
        "console": {"mode": "Off"},
        "vmscope": {"vmi_socket": vmi, "vmi_wait": True},
    }
    cfg_file = os.path.join(work, "vm.json")
    with open(cfg_file, "w") as f:
        json.dump(cfg, f)

    code, text = api.curl("GET", "vmm.ping")
    check(code == 200 and '"pid"' in text, "vmm.ping with no VM")
    check(api.curl("GET", "vm.info")[0] == 404, "vm.info with no VM: 404")
    for path in ("vm.boot", "vm.pause", "vm.shutdown", "vm.resume"):
        code, _ = api.curl("PUT", path)
        check(code == 404, "%s with no VM: 404 (%d)" % (path, code))
    code, text = api.curl("PUT", "vm.snapshot", '{"destination_url": "file:///tmp/x"}')
    check(code == 501 and "vm.snapshot" in text, "vm.snapshot: 501 naming it (%d %s)"
          % (code, text.strip()))

    bad_bodies(api, elf)

    code, text = api.curl("PUT", "vm.create", open(cfg_file).read())
    check(code == 204, "vm.create from %s (%d %s)" % (cfg_file, code, text.strip()))
    code, text = api.curl("GET", "vm.info")
    info = json.loads(text) if code == 200 else {}
    check(info.get("state") == "Created", "state Created")
    check(info.get("config") == cfg, "vm.info's config is what was given")
    check(info.get("memory_actual_size") == 256 << 20, "memory_actual_size 256M")
    check(api.curl("PUT", "vm.create", "{}")[0] == 409, "a second vm.create: 409")
    check(api.curl("PUT", "vm.pause")[0] == 405, "vm.pause of a VM not booted: 405")

    rc, out = api.ctl_run("boot")
    check(rc == 0, "vmscope-ctl boot (%s)" % out.strip())
    check(api.wait_state("Paused"), "booted, held by --vmi-wait: Paused")
    check(api.curl("PUT", "vm.boot")[0] == 409, "vm.boot when booted: 409")
    code, text = api.curl("GET", "vm.counters")
    check(code == 200 and '"vcpu1"' in text, "vm.counters of 2 vCPUs")

    with vmscope.attach(vmi) as vm:
        check(vm.ram_size == 256 << 20, "the client maps 256M of guest RAM")
        for paddr, data in elf_load_segments(elf)[:2]:
            check(vm.read_pa(paddr, len(data)) == data,
                  "guest memory at 0x%x holds the ELF's segment" % paddr)
        rip = vm.regs(1).rip
        entry, = struct.unpack_from("<Q", open(elf, "rb").read(), 24)
        check(rip == entry, "vCPU 1 waits at the ELF entry 0x%x (rip 0x%x)" % (entry, rip))
        rc, out = api.ctl_run("shutdown")
        check(rc == 0, "vmscope-ctl shutdown with the client attached (%s)" % out.strip())
        check(api.wait_state("Created"), "after vm.shutdown: Created, the VMM still serves")
    check(not os.path.exists(vmi), "the VM's introspection socket is gone")

    check(api.curl("PUT", "vm.boot")[0] == 204, "vm.boot again after vm.shutdown")
    check(api.wait_state("Paused"), "the second boot is held again")
    code, _ = api.curl("PUT", "vm.delete")
    check(code == 204, "vm.delete of a booted VM")
    for _ in range(100):
        if api.curl("GET", "vm.info")[0] == 404:
            break
        time.sleep(0.05)
    check(api.curl("GET", "vm.info")[0] == 404, "after vm.delete: no VM (404)")

    rc, out = api.ctl_run("create", cfg_file)
    check(rc == 0, "vmscope-ctl create FILE after the delete (%s)" % out.strip())
    rc, out = api.ctl_run("boot")
    check(rc == 0 and api.wait_state("Paused"), "booted once more")
    rc, out = api.ctl_run("shutdown-vmm")
    check(rc == 0, "vmscope-ctl shutdown-vmm (%s)" % out.strip())
    code = api.proc.wait(timeout=30)
    check(code == 0, "vmscope exited 0 after vmm.shutdown (%d)" % code)
    check(not os.path.exists(api.sock), "the API socket is removed")


def run_to_end(api, work, elf):
    """A VM with a disk and a serial file, booted by the API, runs to its end."""
    disk, serial = os.path.join(work, "disk.img"), os.path.join(work, "serial.log")
    with open(disk, "wb") as f:
        f.write(b"\xa5" * 512 + bytes(512 * 7))
    body = json.dumps({
        "payload": {"kernel": elf},
        "cpus": {"boot_vcpus": 1},
        "disks": [{"path": disk, "readonly": False}],
        "serial": {"mode": "File", "file": serial},
        "console": {"mode": "Off"},
    })
    check(api.curl("PUT", "vm.create", body)[0] == 204, "vm.create with a disk and a serial file")
    check(api.curl("PUT", "vm.boot")[0] == 204, "vm.boot")
    code = api.proc.wait(timeout=60)
    check(code == 0, "the guest ran to its end, and vmscope with it (%d)" % code)
    text = open(serial).read() if os.path.exists(serial) else ""
    check("all 4 tasks done" in text, "the serial file has the guest's output")
    check("disk: read sector 0 (0xa5a5a5a5a5a5a5a5)" in text, "the guest read the disk")
    sector1 = open(disk, "rb").read()[512:520]
    check(struct.unpack("<Q", sector1)[0] == DISK_PATTERN, "the guest wrote sector 1")


def main():
    vmscope_bin, ctl, elf = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        if os.environ.get("VMSCOPE_REQUIRE_KVM") == "1":
            print("FAIL: no usable /dev/kvm")
            return 1
        print("SKIP: no usable /dev/kvm")
        return 77
    with tempfile.TemporaryDirectory() as work:
        api = Api(vmscope_bin, ctl, os.path.join(work, "api.sock"))
        try:
            workflow(api, work, elf)
        finally:
            api.stop()
        api = Api(vmscope_bin, ctl, os.path.join(work, "api2.sock"))
        try:
            run_to_end(api, work, elf)
        finally:
            api.stop()
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
