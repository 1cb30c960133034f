"""vmscope: a Python binding over libvmscope (ctypes, standard library only).

    import vmscope
    with vmscope.open_core("guest.core") as vm:
        lx = vm.linux()                      # BTF, kallsyms, KASLR: from the dump
        for t in lx.tasks():
            print(t.pid, t.ppid, t.state, t.uid, t.name)

A live VM (vmscope --vmi-socket PATH) also takes breakpoints, watchpoints
and event callbacks:

    with vmscope.attach("/tmp/vm.sock") as vm:
        vm.set_hwbp(0xffffffff81c00080)      # a debug register: no byte changed
        vm.subscribe(vmscope.EV_HW_BREAKPOINT,
                     lambda vm, ev, rsp: print(ev.vcpu, hex(ev.regs.rip)))
        vm.resume()
        vm.event_loop(5000)

The shared library is found through $VMSCOPE_LIB, then next to this file
(../build/lib, ../lib), then the system's libvmscope.so.
"""
import ctypes
import ctypes.util
import os

__all__ = ["VMScopeError", "VM", "Linux", "Regs", "Event", "Response", "open_core",
           "open_raw", "attach"]

# enum vmscope_event_kind (vmscope/abi.h)
(EV_IO, EV_MMIO, EV_HLT, EV_BREAKPOINT, EV_SINGLESTEP, EV_HYPERCALL, EV_MSR_READ,
 EV_MSR_WRITE, EV_PAGE_WRITE, EV_SHUTDOWN, EV_INTERNAL_ERROR, EV_PAUSE, EV_VCPU_START,
 EV_HW_BREAKPOINT) = range(14)
# hardware breakpoint kinds: execute, write, read or write (x86 has no read-only watch)
HWBP_EXEC, HWBP_WRITE, HWBP_RW = 0, 1, 3
_HWBP_KINDS = {"x": HWBP_EXEC, "w": HWBP_WRITE, "rw": HWBP_RW}
# vmscope_response.flags
RSP_SET_REGS, RSP_TOGGLE_SS, RSP_SKIP, RSP_DENY, RSP_SET_DATA = 1, 2, 4, 8, 16
ALL_VCPUS = 0xffffffff


def _load():
    here = os.path.dirname(os.path.abspath(__file__))
    cands = [os.environ.get("VMSCOPE_LIB")]
    for d in ("../build/lib", "../lib", "../build-linux/lib"):
        cands += [os.path.join(here, d, "libvmscope.so")]
    cands.append(ctypes.util.find_library("vmscope"))
    for c in cands:
        if c and (os.path.exists(c) or "/" not in c):
            try:
                return ctypes.CDLL(c)
            except OSError:
                pass
    raise OSError("libvmscope.so not found (set VMSCOPE_LIB)")


_lib = _load()
_c = ctypes
_vp = _c.c_void_p


class VMScopeError(OSError):
    pass


class Task(_c.Structure):
    """struct vmscope_linux_task"""
    _fields_ = [("pid", _c.c_int32), ("tgid", _c.c_int32), ("ppid", _c.c_int32),
                ("_state", _c.c_char), ("kthread", _c.c_uint8), ("_pad", _c.c_uint8 * 2),
                ("_comm", _c.c_char * 16),
                ("uid", _c.c_uint32), ("euid", _c.c_uint32), ("suid", _c.c_uint32),
                ("fsuid", _c.c_uint32), ("gid", _c.c_uint32), ("egid", _c.c_uint32),
                ("sgid", _c.c_uint32), ("fsgid", _c.c_uint32),
                ("task", _c.c_uint64), ("pgd", _c.c_uint64), ("cr3", _c.c_uint64),
                ("arg_start", _c.c_uint64), ("arg_end", _c.c_uint64),
                ("_name", _c.c_char * 64)]
    state = property(lambda s: s._state.decode())
    comm = property(lambda s: s._comm.decode(errors="replace"))
    name = property(lambda s: s._name.decode(errors="replace"))

    def __repr__(self):
        return "Task(pid=%d, ppid=%d, state=%r, uid=%d, name=%r)" % (
            self.pid, self.ppid, self.state, self.uid, self.name)


class Module(_c.Structure):
    """struct vmscope_linux_module"""
    _fields_ = [("_name", _c.c_char * 56), ("size", _c.c_uint32), ("refcount", _c.c_int32),
                ("_state", _c.c_char * 12), ("base", _c.c_uint64), ("module", _c.c_uint64)]
    name = property(lambda s: s._name.decode())
    state = property(lambda s: s._state.decode())

    def __repr__(self):
        return "Module(%r, size=%d, refcount=%d, %s, 0x%x)" % (
            self.name, self.size, self.refcount, self.state, self.base)


class Info(_c.Structure):
    """struct vmscope_linux_info"""
    _fields_ = [("release", _c.c_char * 65), ("version", _c.c_char * 256),
                ("text", _c.c_uint64), ("kaslr_offset", _c.c_int64),
                ("kernel_cr3", _c.c_uint64), ("btf_pa", _c.c_uint64),
                ("btf_size", _c.c_uint32), ("nr_symbols", _c.c_uint32),
                ("kaslr_how", _c.c_char * 192), ("btf_how", _c.c_char * 128),
                ("symbols_how", _c.c_char * 128)]


class Syscall(_c.Structure):
    """struct vmscope_linux_syscall"""
    _fields_ = [("nr", _c.c_uint64), ("args", _c.c_uint64 * 6), ("user_rip", _c.c_uint64),
                ("pid", _c.c_int32), ("tgid", _c.c_int32), ("_comm", _c.c_char * 16),
                ("_name", _c.c_char * 48)]
    comm = property(lambda s: s._comm.decode(errors="replace"))
    name = property(lambda s: s._name.decode(errors="replace") or "?")


class LinuxOpts(_c.Structure):
    _fields_ = [("vmlinux", _c.c_char_p), ("system_map", _c.c_char_p), ("flags", _c.c_uint)]


class Segment(_c.Structure):
    """struct vmscope_segment"""
    _fields_ = [("base", _c.c_uint64), ("limit", _c.c_uint32), ("selector", _c.c_uint16),
                ("type", _c.c_uint8), ("flags", _c.c_uint8)]


class Regs(_c.Structure):
    """struct vmscope_regs"""
    _fields_ = ([(n, _c.c_uint64) for n in
                 ("rax rbx rcx rdx rsi rdi rsp rbp r8 r9 r10 r11 r12 r13 r14 r15 "
                  "rip rflags cr0 cr2 cr3 cr4 cr8 efer").split()] +
                [(n, Segment) for n in "cs ds es fs gs ss tr ldt".split()] +
                [("gdt_base", _c.c_uint64), ("idt_base", _c.c_uint64),
                 ("gdt_limit", _c.c_uint16), ("idt_limit", _c.c_uint16),
                 ("_pad0", _c.c_uint32), ("kernel_gs_base", _c.c_uint64)])


class BreakpointData(_c.Structure):
    """struct vmscope_ev_breakpoint"""
    _fields_ = [("gpa", _c.c_uint64), ("gva", _c.c_uint64)]


class HwBreakpointData(_c.Structure):
    """struct vmscope_ev_hw_bp"""
    _fields_ = [("addr", _c.c_uint64), ("dr6", _c.c_uint64), ("slot", _c.c_uint32),
                ("type", _c.c_uint8), ("len", _c.c_uint8), ("_pad", _c.c_uint16)]


class MsrData(_c.Structure):
    """struct vmscope_ev_msr"""
    _fields_ = [("index", _c.c_uint32), ("_pad", _c.c_uint32), ("value", _c.c_uint64)]


class EventData(_c.Union):
    _fields_ = [("bp", BreakpointData), ("hw_bp", HwBreakpointData), ("msr", MsrData),
                ("raw", _c.c_uint8 * 104)]


class Event(_c.Structure):
    """struct vmscope_event: ev.kind, ev.vcpu, ev.regs, and ev.u.bp / .hw_bp / .msr / .raw"""
    _fields_ = [("kind", _c.c_uint32), ("vcpu", _c.c_uint32), ("seq", _c.c_uint64),
                ("flags", _c.c_uint32), ("_pad0", _c.c_uint32), ("_pad1", _c.c_uint64),
                ("u", EventData), ("regs", Regs)]


class Response(_c.Structure):
    """struct vmscope_response: set flags (RSP_*) and regs to change what the vCPU does"""
    _fields_ = [("seq", _c.c_uint64), ("flags", _c.c_uint32), ("_pad0", _c.c_uint32),
                ("data", _c.c_uint8 * 8), ("_pad1", _c.c_uint64), ("regs", Regs)]


assert _c.sizeof(Regs) == 352 and _c.sizeof(Event) == 488 and _c.sizeof(Response) == 384

_EventFn = _c.CFUNCTYPE(_c.c_int, _c.c_void_p, _c.POINTER(Event), _c.POINTER(Response),
                        _c.c_void_p)


def _proto(name, res, *args):
    f = getattr(_lib, name)
    f.restype = res
    f.argtypes = list(args)
    return f


_ip = _c.POINTER(_c.c_int)
_open_core = _proto("vmscope_open_core", _vp, _c.c_char_p, _ip)
_open_raw = _proto("vmscope_open_raw", _vp, _c.c_char_p, _ip)
_attach = _proto("vmscope_attach", _vp, _c.c_char_p, _ip)
_close = _proto("vmscope_close", None, _vp)
_last_error = _proto("vmscope_last_error", _c.c_char_p, _vp)
_ram_size = _proto("vmscope_ram_size", _c.c_uint64, _vp)
_read_pa = _proto("vmscope_read_pa", _c.c_int64, _vp, _c.c_uint64, _c.c_void_p, _c.c_size_t)
_read_va = _proto("vmscope_read_va", _c.c_int64, _vp, _c.c_uint64, _c.c_uint64, _c.c_void_p,
                  _c.c_size_t)
_lx_open = _proto("vmscope_linux_open", _vp, _vp, _c.POINTER(LinuxOpts), _ip)
_lx_close = _proto("vmscope_linux_close", None, _vp)
_lx_info = _proto("vmscope_linux_info", _c.c_int, _vp, _c.POINTER(Info))
_lx_symbol = _proto("vmscope_linux_symbol", _c.c_int, _vp, _c.c_char_p, _c.POINTER(_c.c_uint64))
_lx_tasks = _proto("vmscope_linux_tasks", _c.c_int, _vp, _c.POINTER(Task), _c.c_size_t)
_lx_modules = _proto("vmscope_linux_modules", _c.c_int, _vp, _c.POINTER(Module), _c.c_size_t)
_lx_dmesg = _proto("vmscope_linux_dmesg", _c.c_int64, _vp, _c.c_char_p, _c.c_size_t)
_lx_read_task = _proto("vmscope_linux_read_task", _c.c_int64, _vp, _c.c_int32, _c.c_uint64,
                       _c.c_void_p, _c.c_size_t)
_lx_cmdline = _proto("vmscope_linux_cmdline", _c.c_int64, _vp, _c.c_int32, _c.c_char_p,
                     _c.c_size_t)
_lx_sc_count = _proto("vmscope_linux_syscall_count", _c.c_int, _vp)
_lx_sc_entry = _proto("vmscope_linux_syscall_entry", _c.c_int, _vp, _c.POINTER(_c.c_uint64),
                      _c.POINTER(_c.c_uint64))
_lx_sc_decode = _proto("vmscope_linux_syscall_decode", _c.c_int, _vp, _c.POINTER(Regs),
                       _c.POINTER(Syscall))
_lx_sc_name = _proto("vmscope_linux_syscall_name", _c.c_int, _vp, _c.c_uint, _c.c_char_p,
                     _c.c_size_t)


_u64, _uint, _u64p, _uintp = _c.c_uint64, _c.c_uint, _c.POINTER(_c.c_uint64), _c.POINTER(_c.c_uint)
_caps = _proto("vmscope_caps", _u64, _vp)
_pause = _proto("vmscope_pause", _c.c_int, _vp, _uint)
_resume = _proto("vmscope_resume", _c.c_int, _vp, _uint)
_get_regs = _proto("vmscope_get_regs", _c.c_int, _vp, _uint, _c.POINTER(Regs))
_set_bp_pa = _proto("vmscope_set_bp_pa", _c.c_int, _vp, _u64)
_clear_bp_pa = _proto("vmscope_clear_bp_pa", _c.c_int, _vp, _u64)
_set_hwbp = _proto("vmscope_set_hwbp", _c.c_int, _vp, _u64, _uint, _uint, _uintp)
_clear_hwbp = _proto("vmscope_clear_hwbp", _c.c_int, _vp, _u64, _uint, _uint)
_set_hwbp_pa = _proto("vmscope_set_hwbp_pa", _c.c_int, _vp, _u64, _uint, _uint, _u64p, _uintp)
_subscribe = _proto("vmscope_subscribe", _c.c_int, _vp, _uint, _c.c_int, _EventFn, _vp)
_unsubscribe = _proto("vmscope_unsubscribe", _c.c_int, _vp, _uint)
_event_loop = _proto("vmscope_event_loop", _c.c_int, _vp, _c.c_int)
_stop = _proto("vmscope_stop", None, _vp)
_event_name = _proto("vmscope_event_name", _c.c_char_p, _uint)


def event_name(kind):
    """"breakpoint", "hw-breakpoint", ... for an EV_* kind."""
    return _event_name(kind).decode()


def _hw_kind(kind):
    if kind not in _HWBP_KINDS:
        raise ValueError("kind must be 'x' (execute), 'w' (write) or 'rw' (read or write); "
                         "x86 has no read-only watch")
    return _HWBP_KINDS[kind]


def _fail(err, what):
    e = -err if err < 0 else err
    raise VMScopeError(e, "%s: %s" % (what, os.strerror(e)))


class VM:
    """A target: a live guest or a memory image."""

    def __init__(self, handle):
        self._h = handle

    def close(self):
        if self._h:
            _close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _check(self, r, what):
        if r < 0:
            raise VMScopeError(-r, "%s: %s" % (what, _last_error(self._h).decode()))
        return r

    @property
    def ram_size(self):
        return _ram_size(self._h)

    def read_pa(self, gpa, n):
        buf = _c.create_string_buffer(n)
        got = self._check(_read_pa(self._h, gpa, buf, n), "read_pa")
        return buf.raw[:got]

    def read_va(self, cr3, gva, n):
        buf = _c.create_string_buffer(n)
        got = self._check(_read_va(self._h, cr3, gva, buf, n), "read_va")
        return buf.raw[:got]

    def linux(self, vmlinux=None, system_map=None):
        return Linux(self, vmlinux, system_map)

    # ---- live targets ----

    @property
    def caps(self):
        """Bit per EV_* kind that this host can deliver."""
        return _caps(self._h)

    def pause(self, vcpu=ALL_VCPUS):
        self._check(_pause(self._h, vcpu), "pause")

    def resume(self, vcpu=ALL_VCPUS):
        self._check(_resume(self._h, vcpu), "resume")

    def regs(self, vcpu=0):
        """Registers of a paused vCPU (or one held by a synchronous event)."""
        r = Regs()
        self._check(_get_regs(self._h, vcpu, _c.byref(r)), "get_regs")
        return r

    def set_bp(self, gpa):
        """A software breakpoint (int3) at a guest-physical address."""
        self._check(_set_bp_pa(self._h, gpa), "set_bp")

    def clear_bp(self, gpa):
        self._check(_clear_bp_pa(self._h, gpa), "clear_bp")

    def set_hwbp(self, gva, kind="x", length=1):
        """A debug-register breakpoint ('x') or watchpoint ('w', 'rw') at a virtual
        address; returns its slot (0-3).  Guest memory is not touched."""
        slot = _c.c_uint()
        self._check(_set_hwbp(self._h, gva, _hw_kind(kind), length, _c.byref(slot)),
                    "set_hwbp")
        return slot.value

    def clear_hwbp(self, gva, kind="x", length=1):
        self._check(_clear_hwbp(self._h, gva, _hw_kind(kind), length), "clear_hwbp")

    def set_hwbp_pa(self, gpa, kind="x", length=1):
        """The same by guest-physical address (looked up in vCPU 0's page tables);
        returns (virtual address used, slot)."""
        gva, slot = _c.c_uint64(), _c.c_uint()
        self._check(_set_hwbp_pa(self._h, gpa, _hw_kind(kind), length, _c.byref(gva),
                                 _c.byref(slot)), "set_hwbp_pa")
        return gva.value, slot.value

    def subscribe(self, kind, fn, sync=True):
        """Calls fn(vm, event, response) for each event of kind (EV_*) while
        event_loop runs; a synchronous event waits for fn, which may edit the
        response (flags RSP_*, regs).  fn returning True ends event_loop."""
        def trampoline(h, ev, rsp, opaque):
            try:
                return 1 if fn(self, ev.contents, rsp.contents) else 0
            except BaseException as e:  # noqa: BLE001: kept for event_loop to raise
                self._error = e
                return 1
        cb = _EventFn(trampoline)
        self._check(_subscribe(self._h, kind, 1 if sync else 0, cb, None), "subscribe")
        if not hasattr(self, "_callbacks"):
            self._callbacks = {}
        self._callbacks[kind] = cb  # ctypes keeps no reference of its own

    def unsubscribe(self, kind):
        self._check(_unsubscribe(self._h, kind), "unsubscribe")
        getattr(self, "_callbacks", {}).pop(kind, None)

    def event_loop(self, timeout_ms=-1):
        """Delivers events until timeout_ms passes (-1: none), a callback returns
        True, stop() is called or the VM goes away.  Returns how many."""
        self._error = None
        n = _event_loop(self._h, timeout_ms)
        if self._error is not None:
            raise self._error
        if n == -104:  # -ECONNRESET: the hypervisor went away
            return 0
        return self._check(n, "event_loop")

    def stop(self):
        """Makes event_loop return soon (any thread)."""
        _stop(self._h)


def _opener(fn, what):
    def open_(path):
        err = _c.c_int(0)
        h = fn(os.fsencode(path), _c.byref(err))
        if not h:
            msg = _last_error(None).decode()
            raise VMScopeError(-err.value, "%s %s: %s" % (what, path, msg))
        return VM(h)
    return open_


open_core = _opener(_open_core, "open_core")
open_raw = _opener(_open_raw, "open_raw")
attach = _opener(_attach, "attach")


class Linux:
    """The Linux kernel inside a VM, learnt from the VM itself."""

    def __init__(self, vm, vmlinux=None, system_map=None):
        self.vm = vm
        opts = LinuxOpts(os.fsencode(vmlinux) if vmlinux else None,
                         os.fsencode(system_map) if system_map else None, 0)
        err = _c.c_int(0)
        self._h = _lx_open(vm._h, _c.byref(opts), _c.byref(err))
        if not self._h:
            raise VMScopeError(-err.value, "no Linux kernel found: " +
                               _last_error(vm._h).decode())

    def close(self):
        if self._h:
            _lx_close(self._h)
            self._h = None

    def __del__(self):
        self.close()

    def info(self):
        i = Info()
        _lx_info(self._h, _c.byref(i))
        return {f: (v.decode() if isinstance(v, bytes) else v)
                for f, v in ((f[0], getattr(i, f[0])) for f in Info._fields_)}

    def symbol(self, name):
        a = _c.c_uint64()
        self.vm._check(_lx_symbol(self._h, name.encode(), _c.byref(a)), "symbol " + name)
        return a.value

    def _array(self, fn, cls, what):
        n = self.vm._check(fn(self._h, None, 0), what)
        arr = (cls * (n + 16))()
        n = self.vm._check(fn(self._h, arr, n + 16), what)
        return list(arr[:n])

    def tasks(self):
        return self._array(_lx_tasks, Task, "tasks")

    def modules(self):
        return self._array(_lx_modules, Module, "modules")

    def dmesg(self):
        n = self.vm._check(_lx_dmesg(self._h, None, 0), "dmesg")
        buf = _c.create_string_buffer(n + 1)
        self.vm._check(_lx_dmesg(self._h, buf, n + 1), "dmesg")
        return buf.value.decode(errors="replace")

    def read_task(self, pid, va, n):
        buf = _c.create_string_buffer(n)
        got = self.vm._check(_lx_read_task(self._h, pid, va, buf, n), "read_task")
        return buf.raw[:got]

    def cmdline(self, pid):
        buf = _c.create_string_buffer(4096)
        self.vm._check(_lx_cmdline(self._h, pid, buf, 4096), "cmdline")
        return buf.value.decode(errors="replace")

    def syscall_entry(self):
        """(virtual, physical) address of entry_SYSCALL_64, for a tracer's breakpoint."""
        va, pa = _c.c_uint64(), _c.c_uint64()
        self.vm._check(_lx_sc_entry(self._h, _c.byref(va), _c.byref(pa)), "syscall_entry")
        return va.value, pa.value

    def syscall(self, regs):
        """The system call that regs, taken at entry_SYSCALL_64, are making."""
        sc = Syscall()
        self.vm._check(_lx_sc_decode(self._h, _c.byref(regs), _c.byref(sc)), "syscall")
        return sc

    def syscalls(self):
        n = self.vm._check(_lx_sc_count(self._h), "syscalls")
        out = []
        buf = _c.create_string_buffer(128)
        for i in range(n):
            out.append(buf.value.decode() if _lx_sc_name(self._h, i, buf, 128) == 0 else "?")
        return out
