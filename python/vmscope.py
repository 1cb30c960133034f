"""vmscope: a Python binding over libvmscope (ctypes, standard library only).

    import vmscope
    with vmscope.open_core("guest.core") as vm:
        lx = vm.linux()                      # BTF, kallsyms, KASLR: from the dump
        for t in lx.tasks():
            print(t.pid, t.ppid, t.state, t.uid, t.name)

The shared library is found through $VMSCOPE_LIB, then next to this file
(../build/lib, ../lib), then the system's libvmscope.so.
"""
import ctypes
import ctypes.util
import os

__all__ = ["VMScopeError", "VM", "Linux", "open_core", "open_raw", "attach"]


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
    _fields_ = [("release", _c.c_char * 65), ("version", _c.c_char * 160),
                ("text", _c.c_uint64), ("kaslr_offset", _c.c_int64),
                ("kernel_cr3", _c.c_uint64), ("btf_pa", _c.c_uint64),
                ("btf_size", _c.c_uint32), ("nr_symbols", _c.c_uint32),
                ("kaslr_how", _c.c_char * 192), ("btf_how", _c.c_char * 128),
                ("symbols_how", _c.c_char * 128)]


class LinuxOpts(_c.Structure):
    _fields_ = [("vmlinux", _c.c_char_p), ("system_map", _c.c_char_p), ("flags", _c.c_uint)]


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
_lx_sc_name = _proto("vmscope_linux_syscall_name", _c.c_int, _vp, _c.c_uint, _c.c_char_p,
                     _c.c_size_t)


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

    def syscalls(self):
        n = self.vm._check(_lx_sc_count(self._h), "syscalls")
        out = []
        buf = _c.create_string_buffer(128)
        for i in range(n):
            out.append(buf.value.decode() if _lx_sc_name(self._h, i, buf, 128) == 0 else "?")
        return out
