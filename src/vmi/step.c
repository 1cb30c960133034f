/*
 * Guest debugging: the guest-debug flags of a vCPU, debug exits (int3 on
 * hardware KVM, single-steps), stepping over a breakpoint with the other
 * vCPUs out of the guest, and the instructions a step would leave the
 * kernel through.
 */
#include <sys/ioctl.h>
#include <time.h>

#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

/*
 * The one KVM_SET_GUEST_DEBUG value of a vCPU: the core's own step-over, the
 * client's single-step and every in-process consumer's, software breakpoints.
 */
uint32_t vmi__dbg_control(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	uint32_t ctl = 0;

	if (vcpu->vmi.client_ss || vcpu->vmi.stepping_bp || atomic_load(&vcpu->vmi.consumer_ss))
		ctl |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	/* kvm_pvm reports int3 as an emulation failure whatever the flags say. */
	if (core && core->nr_bps && !vcpu->vm->host->emulated)
		ctl |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
	return ctl;
}

void vmi__refresh_dbg(struct vmi_core *core)
{
	if (!atomic_load(&core->ready))
		return; /* every vCPU loads its flags before its first KVM_RUN */
	for (unsigned i = 0; i < core->vm->nr_vcpus; i++) {
		atomic_store(&core->vm->vcpus[i]->vmi.dbg_dirty, true);
		/* A kick of a stopping VM wakes the vCPU through this (held) lock. */
		if (!vm__stopping(core->vm))
			vcpu__kick(core->vm->vcpus[i]);
	}
}

/* True while every vCPU but self is out of the guest (parked or held in an event). */
static bool others_out_of_guest(struct vcpu *self)
{
	struct vm *vm = self->vm;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] != self && vm->vcpus[i]->vmi.state == VMI_VCPU_RUNNING)
			return false;
	return true;
}

/*
 * Steps over the breakpoint just hit: the original byte goes back for one
 * instruction (re-planted by vmi__hook_debug).  Meanwhile every other vCPU
 * stays out of the guest, or it could run through the restored byte unseen;
 * one vCPU steps at a time, the others wait in the park.
 */
void vmi__step_over_begin(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	unsigned me = vcpu->id + 1, none = 0;
	struct vmi_bp *bp;
	uint8_t *p;

	vcpu->vmi.step_pending = false;
	while (!atomic_compare_exchange_strong(&core->step_owner, &none, me)) {
		none = 0;
		vmi__park(vcpu); /* must_park holds it while another vCPU steps */
		if (vm__stopping(vcpu->vm))
			return;
	}
	for (unsigned i = 0; i < vcpu->vm->nr_vcpus; i++)
		if (vcpu->vm->vcpus[i] != vcpu)
			vcpu__kick(vcpu->vm->vcpus[i]);
	pthread_mutex_lock(&core->lock);
	while (!others_out_of_guest(vcpu) && !vm__stopping(vcpu->vm)) {
		/* Timed: a VM that stops says so through vm__stopping, not the condition. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&core->cond, &core->lock, &ts);
	}
	p = vm__gpa_ptr(vcpu->vm, vcpu->vmi.step_gpa, 1);
	bp = vmi__find_bp(core, vcpu->vmi.step_gpa);
	if (bp && p) {
		*p = bp->orig;
		vcpu->vmi.stepping_bp = true;
		atomic_store(&vcpu->vmi.dbg_dirty, true);
	} else {
		atomic_store(&core->step_owner, 0); /* removed meanwhile: nothing to step over */
		pthread_cond_broadcast(&core->cond);
	}
	pthread_mutex_unlock(&core->lock);
}

enum vmi_verdict vmi__hook_debug(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	struct kvm_run *run = vcpu->run;
	struct vmi_ev_ctx c = { 0 };

	if (run->debug.arch.exception == 3) { /* hardware KVM, KVM_GUESTDBG_USE_SW_BP */
		int64_t gpa;

		if (vmi__get_regs(vcpu, &c.ev.regs, false) < 0)
			return VMI_HANDLED;
		c.have_regs = true;
		gpa = vmi__gva_to_gpa(vcpu->vm, &c.ev.regs, c.ev.regs.rip, NULL);
		pthread_mutex_lock(&core->lock);
		bool ours = gpa >= 0 && vmi__find_bp(core, (uint64_t)gpa);
		pthread_mutex_unlock(&core->lock);
		if (ours)
			return vmi__bp_hit(vcpu, &c, (uint64_t)gpa);
		/* Not ours: give the guest its #BP. */
		struct kvm_vcpu_events ev;
		if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
			ev.exception.injected = 1;
			ev.exception.nr = 3;
			ev.exception.has_error_code = 0;
			ev.flags = 0;
			c.ev.regs.rip++;
			struct kvm_regs r;
			if (ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0) {
				r.rip++;
				ioctl(vcpu->fd, KVM_SET_REGS, &r);
			}
			ioctl(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev);
		}
		return VMI_HANDLED;
	}
	if (vcpu->vmi.stepping_bp) {
		pthread_mutex_lock(&core->lock);
		uint8_t *p = vm__gpa_ptr(vcpu->vm, vcpu->vmi.step_gpa, 1);
		/* Past the original instruction: re-plant, and let the other vCPUs run. */
		if (p && vmi__find_bp(core, vcpu->vmi.step_gpa))
			*p = 0xcc;
		vcpu->vmi.stepping_bp = false;
		atomic_store(&core->step_owner, 0);
		pthread_cond_broadcast(&core->cond);
		atomic_store(&vcpu->vmi.dbg_dirty, true);
		pthread_mutex_unlock(&core->lock);
	}
	if (vcpu->vmi.client_ss && vmi__send(vcpu, VMSCOPE_EV_SINGLESTEP, &c) &&
	    (c.rsp.flags & VMSCOPE_RSP_SET_REGS))
		vmi__apply_regs(vcpu, &c);
	/* Each consumer's step is one instruction: done now, delivered to it alone. */
	uint32_t steps = atomic_exchange(&vcpu->vmi.consumer_ss, 0);
	if (steps) {
		atomic_store(&vcpu->vmi.dbg_dirty, true);
		for (unsigned i = 1; i <= core->nr_consumers; i++)
			if ((steps & (1u << i)) && core->consumers[i].ops->singlestep)
				core->consumers[i].ops->singlestep(core->consumers[i].opaque, vcpu);
	}
	return VMI_HANDLED;
}

enum vmi_user_return vmi__user_return(const uint8_t insn[3], unsigned *iret_cs)
{
	const uint8_t *p = (insn[0] & 0xf0) == 0x40 ? insn + 1 : insn;

	if (p[0] == 0x0f && (p[1] == 0x07 || p[1] == 0x35))
		return VMI_RET_USER;
	if (p[0] != 0xcf)
		return VMI_RET_NONE;
	if (iret_cs)
		*iret_cs = (insn[0] & 0xf8) == 0x48 ? 8 : 4; /* REX.W: iretq pops 8-byte slots */
	return VMI_RET_IRET;
}
