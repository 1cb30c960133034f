/*
 * The introspection hook: which exits it must see (the watch mask), and per
 * exit kind, the event it sends and what the response does to the exit.
 */
#include <string.h>

#include "exit_kind.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

static enum vcpu_verdict hook_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vmi_ev_ctx c = { 0 };
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t size = run->io.size;

	if (!range_within(run->io.data_offset, (uint64_t)size * run->io.count,
			  (uint64_t)vcpu->vm->host->vcpu_mmap_size) || size > 8)
		return VCPU_PASS; /* the device model reports it */
	c.ev.u.io.port = run->io.port;
	c.ev.u.io.size = (uint8_t)size;
	c.ev.u.io.is_write = run->io.direction == KVM_EXIT_IO_OUT;
	c.ev.u.io.count = run->io.count;
	if (c.ev.u.io.is_write)
		memcpy(c.ev.u.io.data, data, size);
	if (!vmi__send(vcpu, VMSCOPE_EV_IO, &c))
		return VCPU_PASS;
	if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
		vmi__apply_regs_after_exit(vcpu, &c);
	if ((c.rsp.flags & VMSCOPE_RSP_SET_DATA) && !c.ev.u.io.is_write) {
		for (uint32_t i = 0; i < run->io.count; i++)
			memcpy(data + i * size, c.rsp.data, size);
		return VCPU_HANDLED;
	}
	return (c.rsp.flags & VMSCOPE_RSP_SKIP) ? VCPU_HANDLED : VCPU_PASS;
}

static enum vcpu_verdict hook_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vmi_ev_ctx c = { 0 };

	if (run->mmio.len > 8)
		return VCPU_PASS;
	if (memmap__offset(&vcpu->vm->map, run->mmio.phys_addr, run->mmio.len) >= 0)
		return vmi__hook_ram_access(vcpu);
	c.ev.u.mmio.gpa = run->mmio.phys_addr;
	c.ev.u.mmio.len = run->mmio.len;
	c.ev.u.mmio.is_write = run->mmio.is_write;
	if (run->mmio.is_write)
		memcpy(c.ev.u.mmio.data, run->mmio.data, run->mmio.len);
	if (!vmi__send(vcpu, VMSCOPE_EV_MMIO, &c))
		return VCPU_PASS;
	if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
		vmi__apply_regs_after_exit(vcpu, &c);
	if ((c.rsp.flags & VMSCOPE_RSP_SET_DATA) && !run->mmio.is_write) {
		memcpy(run->mmio.data, c.rsp.data, run->mmio.len);
		return VCPU_HANDLED;
	}
	return (c.rsp.flags & VMSCOPE_RSP_SKIP) ? VCPU_HANDLED : VCPU_PASS;
}

static enum vcpu_verdict hook_internal(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi;
	struct kvm_run *run = vcpu->run;
	struct vmi_ev_ctx c = { 0 };
	uint32_t ndata = run->internal.ndata;

	if (ndata > ARRAY_SIZE(run->internal.data))
		ndata = ARRAY_SIZE(run->internal.data);
	/*
	 * An emulation failure at a planted breakpoint is its int3 (kvm_pvm),
	 * whatever bytes KVM reports: it copies them after the fact, and another
	 * vCPU stepping over the breakpoint may have put the original back.  Not
	 * so when this vCPU is itself stepping over the original instruction
	 * there: then that instruction is what failed.
	 */
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    vmi__get_regs(vcpu, &c.ev.regs, true) == 0) {
		int64_t gpa = vmi__gva_to_gpa(vcpu->vm, &c.ev.regs, c.ev.regs.rip, NULL);
		bool reported_int3 = ndata >= 2 && (run->internal.data[1] & 0xff) >= 1 &&
				     ((run->internal.data[1] >> 8) & 0xff) == 0xcc;

		c.have_regs = true;
		if (gpa >= 0 && !(vcpu->vmi->stepping_bp && vcpu->vmi->step_gpa == (uint64_t)gpa)) {
			pthread_mutex_lock(&core->lock);
			bool ours = vmi__find_bp(core, (uint64_t)gpa) != NULL;
			const uint8_t *p = vm__gpa_ptr(vcpu->vm, (uint64_t)gpa, 1);
			bool gone = p && *p != 0xcc; /* removed since: run the real instruction */
			pthread_mutex_unlock(&core->lock);
			if (ours)
				return vmi__bp_hit(vcpu, &c, (uint64_t)gpa);
			if (reported_int3 && gone)
				return VCPU_HANDLED;
		}
	}
	c.ev.u.internal.suberror = run->internal.suberror;
	c.ev.u.internal.ndata = ndata;
	memcpy(c.ev.u.internal.data, run->internal.data, ndata * sizeof(uint64_t));
	vmi__send(vcpu, VMSCOPE_EV_INTERNAL_ERROR, &c);
	return VCPU_PASS;
}

/* RIP is past the HLT already; skipping it means going on instead of halting. */
static enum vcpu_verdict hook_hlt(struct vcpu *vcpu)
{
	struct vmi_ev_ctx c = { 0 };

	if (!vmi__send(vcpu, VMSCOPE_EV_HLT, &c))
		return VCPU_PASS;
	if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
		vmi__apply_regs(vcpu, &c);
	return (c.rsp.flags & VMSCOPE_RSP_SKIP) ? VCPU_HANDLED : VCPU_PASS;
}

static enum vcpu_verdict hook_hypercall(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vmi_ev_ctx c = { 0 };

	c.ev.u.hypercall.nr = run->hypercall.nr;
	memcpy(c.ev.u.hypercall.args, run->hypercall.args, sizeof(c.ev.u.hypercall.args));
	run->hypercall.ret = (uint64_t)-1000; /* -KVM_ENOSYS unless the client says */
	if (vmi__send(vcpu, VMSCOPE_EV_HYPERCALL, &c)) {
		if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
			vmi__apply_regs_after_exit(vcpu, &c);
		if (c.rsp.flags & VMSCOPE_RSP_SET_DATA)
			memcpy(&run->hypercall.ret, c.rsp.data, 8);
	}
	return VCPU_HANDLED;
}

enum vcpu_verdict vmi__hook(struct vcpu *vcpu, unsigned kind)
{
	struct vmi_ev_ctx c = { 0 };

	switch (kind) {
	case VMSCOPE_EV_IO:
		return hook_io(vcpu);
	case VMSCOPE_EV_MMIO:
		return hook_mmio(vcpu);
	case VMSCOPE_EV_SINGLESTEP:
		return vmi__hook_debug(vcpu);
	case VMSCOPE_EV_INTERNAL_ERROR:
		return hook_internal(vcpu);
	case VMSCOPE_EV_MSR_READ:
	case VMSCOPE_EV_MSR_WRITE:
		return vmi__hook_msr(vcpu, kind);
	case VMSCOPE_EV_HYPERCALL:
		return hook_hypercall(vcpu);
	case VMSCOPE_EV_HLT:
		return hook_hlt(vcpu);
	case VMSCOPE_EV_SHUTDOWN:
		if (vcpu->vm->host->svm)
			c.ev.flags = VMSCOPE_EVF_REGS_RESET;
		vmi__send(vcpu, kind, &c);
		return VCPU_PASS;
	}
	return VCPU_PASS;
}

/* Exits that exist only because of us, of kinds the hook was not shown (after a detach). */
bool vmi__unclaimed(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		vmi__hook_msr(vcpu, run->exit_reason == KVM_EXIT_X86_WRMSR ? VMSCOPE_EV_MSR_WRITE
								  : VMSCOPE_EV_MSR_READ);
		return true;
	case KVM_EXIT_DEBUG:
	case KVM_EXIT_INTERNAL_ERROR:
		return vmi__hook(vcpu, exit_kind(run->exit_reason)) == VCPU_HANDLED;
	case KVM_EXIT_MMIO:
		if (run->mmio.len <= 8 &&
		    memmap__offset(&vcpu->vm->map, run->mmio.phys_addr, run->mmio.len) >= 0) {
			vmi__hook_ram_access(vcpu);
			return true;
		}
		return false;
	}
	return false;
}
