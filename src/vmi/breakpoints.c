/*
 * Software breakpoints with owners (the client, in-process consumers): one
 * planted int3 per address, however many own it; a hit goes to each owner.
 */
#include <errno.h>

#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

struct vmi_bp *vmi__find_bp(struct vmi_core *core, uint64_t gpa)
{
	for (unsigned i = 0; i < core->nr_bps; i++)
		if (core->bps[i].gpa == gpa)
			return &core->bps[i];
	return NULL;
}

int vmi__bp_add_locked(struct vmi_core *core, uint32_t owner, uint64_t gpa)
{
	struct vmi_bp *bp = vmi__find_bp(core, gpa);
	uint8_t *p = vm__gpa_ptr(core->vm, gpa, 1);

	if (!p)
		return -EFAULT;
	if (!host_debug__sw_bp_ok(&core->vm->host->dbg))
		return -ENOTSUP; /* the int3 would reach the guest */
	if (bp) {
		if (bp->owners & owner)
			return -EEXIST;
		bp->owners |= owner; /* planted already: one byte, one more owner */
		return 0;
	}
	if (core->nr_bps == VMI_MAX_BPS)
		return -ENOSPC;
	core->bps[core->nr_bps++] = (struct vmi_bp){ .gpa = gpa, .orig = *p, .owners = owner };
	*p = 0xcc;
	vmi__update_watch(core);
	if (!core->vm->host->emulated)
		vmi__refresh_dbg(core);
	return 0;
}

int vmi__bp_remove_locked(struct vmi_core *core, uint32_t owner, uint64_t gpa)
{
	struct vmi_bp *bp = vmi__find_bp(core, gpa);
	uint8_t *p;

	if (!bp || !(bp->owners & owner))
		return -ENOENT;
	bp->owners &= ~owner;
	if (bp->owners)
		return 0; /* another owner keeps it planted */
	p = vm__gpa_ptr(core->vm, gpa, 1);
	if (p && *p == 0xcc)
		*p = bp->orig;
	*bp = core->bps[--core->nr_bps];
	vmi__update_watch(core);
	if (!core->vm->host->emulated)
		vmi__refresh_dbg(core);
	return 0;
}

int vmi__bp_add(struct vm *vm, uint32_t owner, uint64_t gpa)
{
	struct vmi_core *core = vm->vmi;
	int r;

	if (!core)
		return -ENOTSUP;
	pthread_mutex_lock(&core->lock);
	r = vmi__bp_add_locked(core, owner, gpa);
	pthread_mutex_unlock(&core->lock);
	return r;
}

int vmi__bp_remove(struct vm *vm, uint32_t owner, uint64_t gpa)
{
	struct vmi_core *core = vm->vmi;
	int r;

	if (!core)
		return -ENOTSUP;
	pthread_mutex_lock(&core->lock);
	r = vmi__bp_remove_locked(core, owner, gpa);
	pthread_mutex_unlock(&core->lock);
	return r;
}

/*
 * A planted breakpoint was hit at rip (gpa): the client gets its event when
 * it owns it, each owning consumer its callback.  The core steps over it only
 * for the client: a consumer (GDB) stops the guest and steps over by itself.
 */
enum vcpu_verdict vmi__bp_hit(struct vcpu *vcpu, struct vmi_ev_ctx *c, uint64_t gpa)
{
	struct vmi_core *core = vcpu->vm->vmi;
	uint64_t rip = c->ev.regs.rip;
	bool moved = false;
	uint32_t owners;

	pthread_mutex_lock(&core->lock);
	struct vmi_bp *bp = vmi__find_bp(core, gpa);
	owners = bp ? bp->owners : 0;
	pthread_mutex_unlock(&core->lock);
	c->ev.u.bp.gpa = gpa;
	c->ev.u.bp.gva = rip;
	if ((owners & VMI_OWNER_CLIENT) && vmi__send(vcpu, VMSCOPE_EV_BREAKPOINT, c) &&
	    (c->rsp.flags & VMSCOPE_RSP_SET_REGS)) {
		vmi__apply_regs(vcpu, c);
		moved = c->rsp.regs.rip != rip; /* the client moved on: nothing to step over */
	}
	for (unsigned i = 1; i <= core->nr_consumers; i++)
		if ((owners & (1u << i)) && core->consumers[i].ops->breakpoint)
			core->consumers[i].ops->breakpoint(core->consumers[i].opaque, vcpu, gpa);
	if (!(owners & VMI_OWNER_CLIENT) || moved)
		return VCPU_HANDLED;
	/* Step over it before the next KVM_RUN (vmi__step_over_begin, step.c). */
	vcpu->vmi->step_pending = true;
	vcpu->vmi->step_gpa = gpa;
	return VCPU_HANDLED;
}
