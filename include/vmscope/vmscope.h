/*
 * libvmscope: look inside a virtual machine from outside.
 *
 * A `vmscope_t` is a target: a live VM run by the vmscope hypervisor
 * (vmscope_attach, through its --vmi-socket), or an offline memory image
 * (vmscope_open_core for an ELF core dump such as QEMU's dump-guest-memory
 * writes, vmscope_open_raw for a raw physical-memory image).  Reads and
 * translations work the same on both; writes, registers changes, breakpoints
 * and events need a live target and fail with -EROFS / -ENOTSUP otherwise.
 *
 * Errors: functions return 0 or a positive count on success and a negative
 * errno on failure; vmscope_strerror() and vmscope_last_error() give a one-line
 * reason.  The library never prints.
 *
 * Threads: one vmscope_t may be used by one thread at a time; distinct
 * handles are independent.  Memory reads of a live target race with the
 * running guest unless it is paused, exactly as a DMA engine would.
 */
#ifndef VMSCOPE_VMSCOPE_H
#define VMSCOPE_VMSCOPE_H

#include <stddef.h>
#include <stdint.h>

#include "vmscope/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vmscope vmscope_t;

/* ---- Opening and closing targets ---------------------------------------- */

/* Attaches to the hypervisor listening on socket_path; NULL with *err set on failure. */
vmscope_t *vmscope_attach(const char *socket_path, int *err);
/* Opens an ELF core dump (PT_LOAD segments are guest-physical memory; CPU state from notes). */
vmscope_t *vmscope_open_core(const char *path, int *err);
/* Opens a raw image of guest-physical memory starting at address 0. */
vmscope_t *vmscope_open_raw(const char *path, int *err);
/* Detaches (live: hooks removed, breakpoints restored, guest resumed) and frees. */
void vmscope_close(vmscope_t *vm);

/*
 * One line describing the last error on this handle ("" when none).  With
 * vm NULL: why the last vmscope_open_* or vmscope_attach on this thread
 * failed.
 */
const char *vmscope_last_error(const vmscope_t *vm);
/* The text for a negative errno these functions return ("Bad address" for -EFAULT). */
const char *vmscope_strerror(int err);

/* Number of vCPUs (live), or CPUs with saved state (core dump; 0 for a raw image). */
unsigned vmscope_vcpu_count(const vmscope_t *vm);
/* Bytes of guest RAM. */
uint64_t vmscope_ram_size(const vmscope_t *vm);

/* ---- Physical memory ------------------------------------------------------ */

/*
 * Reads len bytes at guest-physical gpa into buf.  Returns the number of bytes
 * read: len, or fewer when the range runs into a hole (then at least one byte
 * was not RAM); -EFAULT when gpa itself is not RAM.
 */
int64_t vmscope_read_pa(vmscope_t *vm, uint64_t gpa, void *buf, size_t len);
int64_t vmscope_write_pa(vmscope_t *vm, uint64_t gpa, const void *buf, size_t len);
/*
 * Direct pointer to guest-physical [gpa, gpa + len) in the mapped RAM
 * (zero-copy), or NULL when any of it is not RAM or it spans two separately
 * mapped regions.  Valid until vmscope_close.  Writes through it (live
 * targets) bypass the translation cache's invalidation rule.
 */
void *vmscope_map_pa(vmscope_t *vm, uint64_t gpa, size_t len);

/* ---- Virtual memory ------------------------------------------------------- */

/*
 * Translates gva through the page tables rooted at cr3 (4-level, or 5-level
 * when VMSCOPE_PAGING_LA57 is set in flags), honouring 2 MiB and 1 GiB pages.
 * Returns 0 and sets *gpa; -EFAULT when not mapped.  *page_size, when not
 * NULL, receives the size of the page that maps it.
 *
 * Translations are cached per (cr3, page).  The cache is flushed by
 * vmscope_flush_tlb, by every resume of a paused VM, by every response to a
 * synchronous event, and by any write through this library to a page that
 * holds a page-table entry the cache used.  A caller who watches the guest
 * rewrite its page tables while paused must flush it, as the guest's own
 * TLB would have to be.
 */
#define VMSCOPE_PAGING_LA57 1u
int vmscope_translate(vmscope_t *vm, uint64_t cr3, uint64_t gva, unsigned flags, uint64_t *gpa,
		      uint64_t *page_size);
void vmscope_flush_tlb(vmscope_t *vm);

/*
 * Paging flags (VMSCOPE_PAGING_LA57) used by the accesses below, which take
 * no flags argument.  0 (4-level) by default; a core dump sets LA57 when CPU
 * 0's saved CR4 has it.  -EINVAL for unknown flags.
 */
int vmscope_set_va_flags(vmscope_t *vm, unsigned flags);
unsigned vmscope_va_flags(const vmscope_t *vm);

/*
 * Reads or writes through cr3; short counts at the first unmapped page (or
 * page mapped to a hole), as read_pa; -EFAULT when the first byte is.
 */
int64_t vmscope_read_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, void *buf, size_t len);
int64_t vmscope_write_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, const void *buf, size_t len);
/*
 * Reads a NUL-terminated string of at most max - 1 bytes; returns its length.
 * buf is always terminated: a longer string is cut to max - 1 bytes (and
 * max - 1 returned); one that runs into an unmapped page before its NUL
 * gives -EFAULT, with the bytes before the page in buf.  max 0: -EINVAL.
 */
int64_t vmscope_read_str_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, char *buf, size_t max);

/* Typed helpers over vmscope_read_va: 0 or -errno (-EFAULT when not all bytes are mapped). */
int vmscope_read_u32_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, uint32_t *out);
int vmscope_read_u64_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, uint64_t *out);

/* ---- Registers ------------------------------------------------------------ */

/*
 * Registers of a vCPU.  Live targets: the vCPU must be paused or held by a
 * synchronous event.  Core dumps: the saved state (from QEMU's per-CPU
 * "QEMU" note when present, else NT_PRSTATUS: general registers, selectors
 * and fs/gs bases only, CR3 0).  EFER is not in core dumps: LME|LMA are set
 * when CR0.PG, CR4.PAE and CS.L show long mode, other bits read 0.
 * -EINVAL for a vCPU out of range, -ENODATA for a target without CPU state
 * (raw images).
 */
int vmscope_get_regs(vmscope_t *vm, unsigned vcpu, struct vmscope_regs *regs);
/*
 * The same, but a running vCPU of a live target is paused for the read and
 * resumed: a sample of where it was.  Other targets: vmscope_get_regs.
 */
int vmscope_sample_regs(vmscope_t *vm, unsigned vcpu, struct vmscope_regs *regs);

/* ---- Live targets: control (vmscope_attach only) --------------------------
 *
 * Every call below sends one request on the control socket and waits for its
 * reply; they fail with -ENOTSUP on offline targets.  vcpu may be
 * VMSCOPE_ALL_VCPUS where noted.  Registers, MSRs and exception injection
 * need the vCPU paused or held by a synchronous event (-EBUSY otherwise).
 *
 * Threads (live part): one thread at a time may use a handle, as above,
 * with one exception: vmscope_stop() may be called from any thread or a
 * signal handler.  Event callbacks run on the thread inside
 * vmscope_event_loop() and may call any function of this handle.
 */

/* Bit per enum vmscope_event_kind: what this host can deliver. */
uint64_t vmscope_caps(const vmscope_t *vm);
/* VMSCOPE_ATTACH_* flags from the attach reply (paused at start, emulated host). */
unsigned vmscope_attach_flags(const vmscope_t *vm);

int vmscope_pause(vmscope_t *vm, unsigned vcpu);   /* returns once they are stopped */
int vmscope_resume(vmscope_t *vm, unsigned vcpu);
/* Sets all of struct vmscope_regs (general, control and segment registers). */
int vmscope_set_regs(vmscope_t *vm, unsigned vcpu, const struct vmscope_regs *regs);
int vmscope_get_msr(vmscope_t *vm, unsigned vcpu, uint32_t index, uint64_t *value);
int vmscope_set_msr(vmscope_t *vm, unsigned vcpu, uint32_t index, uint64_t value);
int vmscope_inject(vmscope_t *vm, unsigned vcpu, unsigned vector, int has_error,
		   uint32_t error_code);

/*
 * Software breakpoints.  The hypervisor plants int3 at gpa and keeps the
 * original byte; a hit is a VMSCOPE_EV_BREAKPOINT event (subscribe to it),
 * after which the vCPU steps over the original instruction.  _va translates
 * gva through cr3 first (*gpa_out, when not NULL, receives the address).
 * On a host without hardware virtualization (VMSCOPE_ATTACH_EMULATED) only
 * breakpoints in guest kernel-mode code are seen.
 */
int vmscope_set_bp_pa(vmscope_t *vm, uint64_t gpa);
int vmscope_clear_bp_pa(vmscope_t *vm, uint64_t gpa);
int vmscope_set_bp_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, uint64_t *gpa_out);
int vmscope_clear_bp_va(vmscope_t *vm, uint64_t cr3, uint64_t gva);

/*
 * Hardware breakpoints and watchpoints: the four x86 debug-register slots,
 * shared by every vCPU and by the GDB stub.  Guest memory is not touched,
 * so a guest that checks its own code cannot see them.  type is
 * VMSCOPE_HWBP_EXEC (len 1), _WRITE or _RW (len 1, 2, 4 or 8, gva aligned
 * to it); x86 has no read-only watch.  A hit is a VMSCOPE_EV_HW_BREAKPOINT
 * event (subscribe to it): an execute hit stops before the instruction and
 * the vCPU steps over it after the response (unless the response moved
 * RIP); a watch hit stops after the instruction that made the access.
 * *slot (when not NULL) receives the slot, 0-3.  -ENOSPC: all four are
 * taken; -EEXIST: this client has this one already; -ENOTSUP: the host's
 * KVM does not stop on them (probed at start; vmscope_caps lacks the kind).
 * The guest's own use of its debug registers is suspended while any slot
 * is set (KVM loads vmscope's instead).
 */
int vmscope_set_hwbp(vmscope_t *vm, uint64_t gva, unsigned type, unsigned len, unsigned *slot);
int vmscope_clear_hwbp(vmscope_t *vm, uint64_t gva, unsigned type, unsigned len);
/*
 * The same by guest-physical address.  A debug register watches a linear
 * address, so gpa is looked up in vCPU 0's current page tables, and of the
 * mappings that allow the access (executable for exec, writable otherwise)
 * the one with the highest address is used, returned in *gva_out: for a
 * Linux guest, the kernel image's own mapping rather than the direct map.
 * Accesses through other mappings of that memory are not seen.  -ENOENT
 * when no mapping fits.  Clear it with vmscope_clear_hwbp(*gva_out).
 */
int vmscope_set_hwbp_pa(vmscope_t *vm, uint64_t gpa, unsigned type, unsigned len,
			uint64_t *gva_out, unsigned *slot);

/* Single-step on one vCPU: each instruction is a VMSCOPE_EV_SINGLESTEP event. */
int vmscope_singlestep(vmscope_t *vm, unsigned vcpu, int enable);

/* Page protection: writes to the page become VMSCOPE_EV_PAGE_WRITE events. */
int vmscope_protect_page(vmscope_t *vm, uint64_t gpa);
int vmscope_unprotect_page(vmscope_t *vm, uint64_t gpa);

/* The MSRs that VMSCOPE_EV_MSR_READ / _WRITE are for (at most VMSCOPE_MAX_WATCHED_MSRS). */
int vmscope_watch_msrs(vmscope_t *vm, const uint32_t *index, unsigned n);

/* ---- Live targets: events ------------------------------------------------------
 *
 * A callback gets the event and, for a synchronous one, a response already
 * set to "continue" with rsp->regs = ev->regs: to change registers, edit
 * rsp->regs and set VMSCOPE_RSP_SET_REGS in rsp->flags; the response is sent
 * when the callback returns.  Returning non-zero ends vmscope_event_loop
 * after this event.
 */
typedef int (*vmscope_event_fn)(vmscope_t *vm, const struct vmscope_event *ev,
				struct vmscope_response *rsp, void *opaque);

/* Subscribes to kind (sync: the vCPU waits for the response); replaces the callback. */
int vmscope_subscribe(vmscope_t *vm, unsigned kind, int sync, vmscope_event_fn fn,
		      void *opaque);
int vmscope_unsubscribe(vmscope_t *vm, unsigned kind);

/*
 * Delivers events until timeout_ms passes (-1: no timeout), a callback
 * returns non-zero, vmscope_stop() is called or the hypervisor goes away
 * (-ECONNRESET).  Returns the number of events delivered, or -errno.
 */
int vmscope_event_loop(vmscope_t *vm, int timeout_ms);
/* Makes vmscope_event_loop return soon.  Any thread, async-signal-safe. */
void vmscope_stop(vmscope_t *vm);

/* Events dropped because a vCPU's ring was full (asynchronous kinds), per vCPU. */
uint64_t vmscope_event_overflow(const vmscope_t *vm, unsigned vcpu);
/*
 * Exit counts of a vCPU by kind (VMSCOPE_EV_NR entries, then "other"):
 * counts[VMSCOPE_EV_NR + 1] entries are written.
 */
int vmscope_exit_stats(const vmscope_t *vm, unsigned vcpu, uint64_t *counts);
/* Short name of an event kind ("io", "mmio", "breakpoint", ...). */
const char *vmscope_event_name(unsigned kind);


#ifdef __cplusplus
}
#endif

/* ---- Linux awareness (issue 5): processes, modules, kernel log, system calls. ---- */
#include "vmscope/linux.h"

#endif
