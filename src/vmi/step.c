/*
 * Guest debugging: debug exits (int3 on hardware KVM, single-steps), stepping over a breakpoint with the other
 * vCPUs out of the guest, and the instructions a step would leave the
 * kernel through.
 */
#include <string.h>
#include <time.h>

#include "kvm_ioctl.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

/* True while every vCPU but self is out of the guest (parked or held in an event). */
static bool others_out_of_guest(struct vcpu *self)
{
	struct vm *vm = self->vm;

	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] != self && vm->vcpus[i]->vmi->state == VMI_VCPU_RUNNING)
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
	struct vmi_core *core = vcpu->vm->vmi;
	unsigned me = vcpu->id + 1, none = 0;
	struct vmi_bp *bp;
	uint8_t *p;

	vcpu->vmi->step_pending = false;
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
	p = vm__gpa_ptr(vcpu->vm, vcpu->vmi->step_gpa, 1);
	bp = vmi__find_bp(core, vcpu->vmi->step_gpa);
	if (bp && p) {
		*p = bp->orig;
		vcpu->vmi->stepping_bp = true;
		atomic_store(&vcpu->vmi->dbg_dirty, true);
	} else {
		atomic_store(&core->step_owner, 0); /* removed meanwhile: nothing to step over */
		pthread_cond_broadcast(&core->cond);
	}
	pthread_mutex_unlock(&core->lock);
}

#define DR6_BS (1ULL << 14) /* the #DB is a single-step trap */

/* Whether a single-step of ours (the core's, the client's, a consumer's) is under way. */
static bool ours_to_step(struct vcpu *vcpu)
{
	return vcpu->vmi->client_ss || vcpu->vmi->stepping_bp || vcpu->vmi->hw_skip ||
	       atomic_load(&vcpu->vmi->consumer_ss);
}

/*
 * A #DB none of us asked for while our debug registers are loaded (the
 * guest's own single-step or breakpoint, which KVM hands to us while
 * USE_HW_BP is on): the guest gets it, with its DR6.
 */
static void give_guest_db(struct vcpu *vcpu, uint64_t dr6)
{
	struct kvm_vcpu_events ev;
	struct kvm_debugregs dr;

	if (vcpu_ioctl(vcpu, KVM_GET_DEBUGREGS, &dr) == 0) {
		dr.dr6 = dr6;
		vcpu_ioctl(vcpu, KVM_SET_DEBUGREGS, &dr);
	}
	if (vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return;
	ev.exception.injected = 1;
	ev.exception.nr = 1;
	ev.exception.has_error_code = 0;
	ev.flags = 0;
	vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &ev);
}

enum vcpu_verdict vmi__hook_debug(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi;
	struct kvm_run *run = vcpu->run;
	struct vmi_ev_ctx c = { 0 };

	if (run->debug.arch.exception == 3) { /* hardware KVM, KVM_GUESTDBG_USE_SW_BP */
		int64_t gpa;

		if (vmi__get_regs(vcpu, &c.ev.regs, true) < 0)
			return VCPU_HANDLED;
		c.have_regs = true;
		gpa = vmi__gva_to_gpa(vcpu->vm, &c.ev.regs, c.ev.regs.rip, NULL);
		pthread_mutex_lock(&core->lock);
		bool ours = gpa >= 0 && vmi__find_bp(core, (uint64_t)gpa);
		pthread_mutex_unlock(&core->lock);
		if (ours)
			return vmi__bp_hit(vcpu, &c, (uint64_t)gpa);
		/* Not ours: give the guest its #BP. */
		struct kvm_vcpu_events ev;
		if (vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &ev) == 0) {
			ev.exception.injected = 1;
			ev.exception.nr = 3;
			ev.exception.has_error_code = 0;
			ev.flags = 0;
			c.ev.regs.rip++;
			struct kvm_regs r;
			if (vcpu_ioctl(vcpu, KVM_GET_REGS, &r) == 0) {
				r.rip++;
				vcpu_ioctl(vcpu, KVM_SET_REGS, &r);
			}
			vcpu_ioctl(vcpu, KVM_SET_VCPU_EVENTS, &ev);
		}
		return VCPU_HANDLED;
	}
	if (run->debug.arch.exception == 1 && (vcpu->vmi->dbg.control & KVM_GUESTDBG_USE_HW_BP) &&
	    !ours_to_step(vcpu) && !(run->debug.arch.dr6 & vcpu->vmi->hw_armed)) {
		give_guest_db(vcpu, run->debug.arch.dr6);
		return VCPU_HANDLED;
	}
	if (run->debug.arch.dr6 & vcpu->vmi->hw_armed) {
		bool hit = false;

		if (vmi__get_regs(vcpu, &c.ev.regs, true) == 0) {
			c.have_regs = true;
			hit = vmi__hwbp_hit(vcpu, &c, run->debug.arch.dr6, run->debug.arch.pc);
		}
		/* A hit alone completed no step: DR6.BS says when one did too. */
		if (hit && !(run->debug.arch.dr6 & DR6_BS))
			return VCPU_HANDLED;
		memset(&c, 0, sizeof(c));
	}
	vmi__hwbp_step_done(vcpu);
	if (vcpu->vmi->stepping_bp) {
		pthread_mutex_lock(&core->lock);
		uint8_t *p = vm__gpa_ptr(vcpu->vm, vcpu->vmi->step_gpa, 1);
		/* Past the original instruction: re-plant, and let the other vCPUs run. */
		if (p && vmi__find_bp(core, vcpu->vmi->step_gpa))
			*p = 0xcc;
		vcpu->vmi->stepping_bp = false;
		atomic_store(&core->step_owner, 0);
		pthread_cond_broadcast(&core->cond);
		atomic_store(&vcpu->vmi->dbg_dirty, true);
		pthread_mutex_unlock(&core->lock);
	}
	if (vcpu->vmi->client_ss && vmi__send(vcpu, VMSCOPE_EV_SINGLESTEP, &c) &&
	    (c.rsp.flags & VMSCOPE_RSP_SET_REGS))
		vmi__apply_regs(vcpu, &c);
	/* Each consumer's step is one instruction: done now, delivered to it alone. */
	uint32_t steps = atomic_exchange(&vcpu->vmi->consumer_ss, 0);
	if (steps) {
		atomic_store(&vcpu->vmi->dbg_dirty, true);
		for (unsigned i = 1; i <= core->nr_consumers; i++)
			if ((steps & (1u << i)) && core->consumers[i].ops->singlestep)
				core->consumers[i].ops->singlestep(core->consumers[i].opaque, vcpu);
	}
	return VCPU_HANDLED;
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
