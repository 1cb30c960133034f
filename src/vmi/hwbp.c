/*
 * Hardware breakpoints and watchpoints: the four x86 debug-register slots,
 * one set per VM that every vCPU loads (KVM_GUESTDBG_USE_HW_BP), each slot
 * with owners like a software breakpoint: the client and in-process
 * consumers share a slot set with the same address, kind and length, and a
 * hit goes to each owner.  Nothing is written to guest memory.
 *
 * An execute breakpoint is a fault: the vCPU stops before the instruction
 * and would stop there again.  For the client the core steps over it, on
 * that vCPU alone, with the slot left out of its DR7 for one instruction
 * (debug registers are per vCPU, so the others keep theirs).  A consumer
 * (GDB) steps over by itself.  Watchpoints are traps: nothing to step over.
 */
#include <errno.h>
#include <string.h>

#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

static struct vmi_hwbp *find(struct vmi_core *core, uint64_t addr, unsigned type, unsigned len)
{
	for (unsigned i = 0; i < VMSCOPE_HWBP_SLOTS; i++) {
		struct vmi_hwbp *h = &core->hwbps[i];

		if (h->owners && h->addr == addr && h->type == type && h->len == len)
			return h;
	}
	return NULL;
}

int vmi__hwbp_add_locked(struct vmi_core *core, uint32_t owner, uint64_t addr, unsigned type,
			 unsigned len, unsigned *slot)
{
	struct vmi_hwbp *h = find(core, addr, type, len);
	const char *why;

	if (type == VMSCOPE_HWBP_EXEC ? !host_debug__hw_bp_ok(&core->vm->host->dbg)
				      : !host_debug__hw_watch_ok(&core->vm->host->dbg))
		return -ENOTSUP;
	if (vmi_msg__check_hwbp(addr, type, len, &why) < 0)
		return -EINVAL;
	if (h) {
		if (h->owners & owner)
			return -EEXIST;
		h->owners |= owner; /* loaded already: one slot, one more owner */
	} else {
		for (unsigned i = 0; i < VMSCOPE_HWBP_SLOTS && !h; i++)
			if (!core->hwbps[i].owners)
				h = &core->hwbps[i];
		if (!h)
			return -ENOSPC;
		*h = (struct vmi_hwbp){ .addr = addr, .owners = owner, .type = (uint8_t)type,
					.len = (uint8_t)len };
		vmi__refresh_dbg(core);
	}
	if (slot)
		*slot = (unsigned)(h - core->hwbps);
	return 0;
}

int vmi__hwbp_remove_locked(struct vmi_core *core, uint32_t owner, uint64_t addr, unsigned type,
			    unsigned len)
{
	struct vmi_hwbp *h = find(core, addr, type, len);

	if (!h || !(h->owners & owner))
		return -ENOENT;
	h->owners &= ~owner;
	if (!h->owners)
		vmi__refresh_dbg(core);
	return 0;
}

unsigned vmi__hwbp_release_locked(struct vmi_core *core, uint32_t owner)
{
	unsigned n = 0;

	for (unsigned i = 0; i < VMSCOPE_HWBP_SLOTS; i++) {
		struct vmi_hwbp *h = &core->hwbps[i];

		if (!(h->owners & owner))
			continue;
		vmi__hwbp_remove_locked(core, owner, h->addr, h->type, h->len);
		n++;
	}
	return n;
}

int vmi__hwbp_add(struct vm *vm, uint32_t owner, uint64_t addr, unsigned type, unsigned len,
		  unsigned *slot)
{
	struct vmi_core *core = vm->vmi;
	int r;

	if (!core)
		return -ENOTSUP;
	pthread_mutex_lock(&core->lock);
	r = vmi__hwbp_add_locked(core, owner, addr, type, len, slot);
	pthread_mutex_unlock(&core->lock);
	return r;
}

int vmi__hwbp_remove(struct vm *vm, uint32_t owner, uint64_t addr, unsigned type, unsigned len)
{
	struct vmi_core *core = vm->vmi;
	int r;

	if (!core)
		return -ENOTSUP;
	pthread_mutex_lock(&core->lock);
	r = vmi__hwbp_remove_locked(core, owner, addr, type, len);
	pthread_mutex_unlock(&core->lock);
	return r;
}

/*
 * Slot `slot` fired on vcpu (DR6 in dr6, the vCPU stopped at pc).  Returns
 * false when it was not ours after all: a stale DR6 bit of an execute slot
 * whose address is not where the vCPU stands.
 */
static bool hit_one(struct vcpu *vcpu, struct vmi_ev_ctx *c, unsigned slot, uint64_t dr6,
		    uint64_t pc)
{
	struct vmi_core *core = vcpu->vm->vmi;
	struct vmi_hwbp h;
	bool moved = false;

	pthread_mutex_lock(&core->lock);
	h = core->hwbps[slot];
	pthread_mutex_unlock(&core->lock);
	if (!h.owners || (h.type == VMSCOPE_HWBP_EXEC && h.addr != pc))
		return false;
	memset(&c->ev.u, 0, sizeof(c->ev.u));
	memset(&c->rsp, 0, sizeof(c->rsp));
	c->ev.u.hw_bp = (struct vmscope_ev_hw_bp){ .addr = h.addr, .dr6 = dr6, .slot = slot,
						   .type = h.type, .len = h.len };
	if ((h.owners & VMI_OWNER_CLIENT) && vmi__send(vcpu, VMSCOPE_EV_HW_BREAKPOINT, c) &&
	    (c->rsp.flags & VMSCOPE_RSP_SET_REGS)) {
		moved = c->rsp.regs.rip != c->ev.regs.rip; /* nothing to step over then */
		vmi__apply_regs(vcpu, c);
	}
	for (unsigned i = 1; i <= core->nr_consumers; i++)
		if ((h.owners & (1u << i)) && core->consumers[i].ops->hw_breakpoint)
			core->consumers[i].ops->hw_breakpoint(core->consumers[i].opaque, vcpu, slot,
							      h.addr, h.type);
	if (h.type == VMSCOPE_HWBP_EXEC && (h.owners & VMI_OWNER_CLIENT) && !moved) {
		vcpu->vmi->hw_skip |= (uint8_t)(1u << slot);
		atomic_store(&vcpu->vmi->dbg_dirty, true);
	}
	return true;
}

bool vmi__hwbp_hit(struct vcpu *vcpu, struct vmi_ev_ctx *c, uint64_t dr6, uint64_t pc)
{
	unsigned hits = (unsigned)dr6 & vcpu->vmi->hw_armed;
	bool any = false;

	for (unsigned i = 0; i < VMSCOPE_HWBP_SLOTS; i++)
		if (hits & (1u << i))
			any |= hit_one(vcpu, c, i, dr6, pc);
	return any;
}

/*
 * Any debug exit ends the step over an execute hit: the single-step trap,
 * or a watchpoint that the stepped instruction set off, also a trap.
 */
bool vmi__hwbp_step_done(struct vcpu *vcpu)
{
	if (!vcpu->vmi->hw_skip)
		return false;
	vcpu->vmi->hw_skip = 0; /* past the instruction: its slots come back */
	atomic_store(&vcpu->vmi->dbg_dirty, true);
	return true;
}
