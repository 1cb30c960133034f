/*
 * What this host's KVM does with the three debug facilities, found out by
 * trying each once at start-up in a throw-away VM, since no capability tells:
 * KVM_CAP_GUEST_DEBUG_HW_BPS is never reported on x86, QEMU's emulated SVM
 * accepts KVM_GUESTDBG_USE_SW_BP yet lets the guest take its int3, and
 * kvm_pvm's emulator fails on int3 in kernel mode.
 *
 * The probe runs where vmscope's guests run, in 64-bit kernel mode (real
 * mode would mislead: KVM's emulator handles a real-mode int3 itself), on
 * the boot code's GDT and identity page tables.  Every byte of its RAM that
 * is not a table or the code under test is hlt (0xf4), and every IDT gate
 * leads to a hlt of its own: #DB (1) to PROBE_DB, #BP (3) to PROBE_BP, any
 * other vector to PROBE_OTHER.  Whatever happens, the vCPU halts within a few
 * instructions, and with no in-kernel irqchip KVM hands the HLT to us, so
 * where it halted says who took the event.
 */
#include "host_debug.h"

#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/layout.h"
#include "boot/longmode.h"
#include "kvm_ioctl.h"
#include "log.h"
#include "memmap.h"

#define PROBE_MEM   0x200000 /* the smallest RAM the boot tables fit in */
#define PROBE_IDT   0x10000
#define PROBE_OTHER 0x11000
#define PROBE_DB    0x12000
#define PROBE_BP    0x13000
#define PROBE_CODE  0x20000
#define PROBE_DATA  0x30000 /* what the watchpoint probe writes */
#define PROBE_RUNS  4 /* a probe ends within this many KVM_RUNs, or it is "other" */

enum probe_kind { PROBE_SW_BP, PROBE_SINGLESTEP, PROBE_HW_BP, PROBE_HW_WATCH };

/* Where a halt at rip (just past the hlt) leaves the event. */
static enum host_dbg halted_at(uint64_t rip, uint64_t code_end)
{
	if (rip == PROBE_DB + 1 || rip == PROBE_BP + 1 || rip == PROBE_OTHER + 1)
		return HOST_DBG_TO_GUEST;
	if (rip == code_end)
		return HOST_DBG_IGNORED;
	return HOST_DBG_OTHER;
}

static enum host_dbg probe_once(int kvm_fd, int mmap_size, enum probe_kind kind)
{
	/* nop; int3 (a nop for the other kinds); nop; nop; hlt */
	const uint8_t plain[] = { 0x90, kind == PROBE_SW_BP ? 0xcc : 0x90, 0x90, 0x90, 0xf4 };
	/* nop; mov [PROBE_DATA], al; nop; nop; hlt */
	const uint8_t store[] = { 0x90, 0x88, 0x04, 0x25, PROBE_DATA & 0xff, PROBE_DATA >> 8 & 0xff,
				  PROBE_DATA >> 16 & 0xff, 0, 0x90, 0x90, 0xf4 };
	const uint8_t *code = kind == PROBE_HW_WATCH ? store : plain;
	size_t code_len = kind == PROBE_HW_WATCH ? sizeof(store) : sizeof(plain);
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE };
	struct kvm_userspace_memory_region region = { .memory_size = PROBE_MEM };
	struct kvm_regs regs = { .rip = PROBE_CODE, .rflags = 2, .rsp = PROBE_MEM - 16 };
	struct kvm_sregs sregs;
	struct memmap map;
	enum host_dbg result = HOST_DBG_OTHER;
	struct kvm_run *run = MAP_FAILED;
	int vm = -1, vcpu = -1;
	uint8_t *mem;

	mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return HOST_DBG_OTHER;
	memset(mem, 0xf4, PROBE_MEM);
	if (memmap__init(&map, PROBE_MEM) < 0 || longmode__write_tables(&map, mem) < 0)
		goto out;
	for (unsigned v = 0; v < 256; v++) {
		uint64_t ip = v == 1 ? PROBE_DB : v == 3 ? PROBE_BP : PROBE_OTHER;
		/* A 64-bit interrupt gate: present, DPL 0, type 0xe. */
		uint64_t gate[2] = {
			(ip & 0xffff) | (uint64_t)BOOT_CS << 16 | 0x8eULL << 40 |
				(ip >> 16 & 0xffff) << 48,
			ip >> 32,
		};

		memcpy(mem + PROBE_IDT + 16 * v, gate, sizeof(gate));
	}
	memcpy(mem + PROBE_CODE, code, code_len);

	vm = kvm_ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		goto out;
	region.userspace_addr = (uintptr_t)mem;
	if (kvm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		goto out;
	vcpu = kvm_ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		goto out;
	run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		goto out;

	if (kvm_ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		goto out;
	longmode__set_sregs(&sregs);
	sregs.idt.base = PROBE_IDT;
	sregs.idt.limit = 256 * 16 - 1;
	if (kvm_ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || kvm_ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		goto out;
	if (kind == PROBE_SW_BP)
		dbg.control |= KVM_GUESTDBG_USE_SW_BP;
	if (kind == PROBE_SINGLESTEP)
		dbg.control |= KVM_GUESTDBG_SINGLESTEP;
	if (kind == PROBE_HW_BP) {
		dbg.control |= KVM_GUESTDBG_USE_HW_BP;
		dbg.arch.debugreg[0] = PROBE_CODE + 2;
		dbg.arch.debugreg[7] = 0x1; /* L0: execute, length 1 */
	}
	if (kind == PROBE_HW_WATCH) {
		dbg.control |= KVM_GUESTDBG_USE_HW_BP;
		dbg.arch.debugreg[0] = PROBE_DATA;
		dbg.arch.debugreg[7] = 0x1 | 0x1 << 16; /* L0: write, length 1 */
	}
	if (kvm_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
		result = HOST_DBG_REFUSED;
		goto out;
	}

	for (int i = 0; i < PROBE_RUNS; i++) {
		if (kvm_ioctl(vcpu, KVM_RUN, 0) < 0)
			break;
		if (run->exit_reason == KVM_EXIT_DEBUG) {
			unsigned want = kind == PROBE_SW_BP ? 3 : 1;
			uint64_t at = kind == PROBE_HW_BP ? PROBE_CODE + 2 : 0;
			/* A watchpoint is a trap: after the store, with DR6.B0. */
			bool b0 = kind != PROBE_HW_WATCH || (run->debug.arch.dr6 & 1);

			if (run->debug.arch.exception == want && b0 &&
			    (!at || run->debug.arch.pc == at))
				result = HOST_DBG_INTERCEPTED;
			break;
		}
		if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
			result = HOST_DBG_EMULATION_FAILURE;
			break;
		}
		if (run->exit_reason == KVM_EXIT_HLT) {
			if (kvm_ioctl(vcpu, KVM_GET_REGS, &regs) == 0)
				result = halted_at(regs.rip, PROBE_CODE + code_len);
			break;
		}
		if (run->exit_reason != KVM_EXIT_INTR)
			break;
	}
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)mmap_size);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	munmap(mem, PROBE_MEM);
	return result;
}

void host_debug__probe(int kvm_fd, int vcpu_mmap_size, bool cap_guest_debug,
		       struct host_debug *out)
{
	if (!cap_guest_debug) {
		out->sw_bp = out->singlestep = out->hw_bp = out->hw_watch = HOST_DBG_REFUSED;
		return;
	}
	out->sw_bp = probe_once(kvm_fd, vcpu_mmap_size, PROBE_SW_BP);
	out->singlestep = probe_once(kvm_fd, vcpu_mmap_size, PROBE_SINGLESTEP);
	out->hw_bp = probe_once(kvm_fd, vcpu_mmap_size, PROBE_HW_BP);
	out->hw_watch = probe_once(kvm_fd, vcpu_mmap_size, PROBE_HW_WATCH);
	log_info("host KVM: int3 %s; single-step %s; debug-register breakpoints %s; "
		 "debug-register watchpoints %s",
		 host_debug__name(out->sw_bp), host_debug__name(out->singlestep),
		 host_debug__name(out->hw_bp), host_debug__name(out->hw_watch));
}

const char *host_debug__name(enum host_dbg d)
{
	switch (d) {
	case HOST_DBG_INTERCEPTED: return "intercepted";
	case HOST_DBG_EMULATION_FAILURE: return "ends in an emulation failure";
	case HOST_DBG_TO_GUEST: return "not intercepted (the guest takes the exception)";
	case HOST_DBG_IGNORED: return "not armed (the guest runs past it)";
	case HOST_DBG_REFUSED: return "refused by KVM_SET_GUEST_DEBUG";
	case HOST_DBG_OTHER: break;
	}
	return "not understood (the probe saw an unexpected exit)";
}

bool host_debug__sw_bp_ok(const struct host_debug *d)
{
	return d->sw_bp == HOST_DBG_INTERCEPTED || d->sw_bp == HOST_DBG_EMULATION_FAILURE;
}

bool host_debug__hw_bp_ok(const struct host_debug *d)
{
	return d->hw_bp == HOST_DBG_INTERCEPTED;
}

bool host_debug__hw_watch_ok(const struct host_debug *d)
{
	return d->hw_watch == HOST_DBG_INTERCEPTED;
}

bool host_debug__step_ok(const struct host_debug *d)
{
	return d->singlestep == HOST_DBG_INTERCEPTED;
}

const char *host_debug__why(enum host_dbg d)
{
	switch (d) {
	case HOST_DBG_TO_GUEST: return "this KVM lets the guest take it (probed at start)";
	case HOST_DBG_IGNORED: return "this KVM ignores it (probed at start)";
	case HOST_DBG_REFUSED: return "KVM_SET_GUEST_DEBUG is absent or refused";
	case HOST_DBG_INTERCEPTED:
	case HOST_DBG_EMULATION_FAILURE:
	case HOST_DBG_OTHER: break;
	}
	return "this KVM does not stop on it (probed at start)";
}
