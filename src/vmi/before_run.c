/*
 * What a vCPU does before each KVM_RUN (a vCPU hook): set the registers a
 * response gave once its exit is complete, park while anyone wants it out
 * of the guest (park.c), begin its own step over a breakpoint, announce its
 * start, load its guest-debug flags.
 */
#include <errno.h>
#include <string.h>

#include "kvm_ioctl.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

void vmi__before_run(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi;

	if (vcpu->vmi->regs_after_exit) {
		vcpu__complete_exit(vcpu);
		vcpu->vmi->regs_after_exit = false;
		if (vmi__set_regs(vcpu, &vcpu->vmi->regs_pending, false) < 0)
			log_warn("vmi: vCPU %u: setting registers from a response failed", vcpu->id);
	}
	if (vmi__must_park(core, vcpu)) {
		/* Whoever reads or writes its registers while it is parked sees them whole. */
		vcpu__complete_exit(vcpu);
		vmi__park(vcpu);
	}
	if (vcpu->vmi->step_pending)
		vmi__step_over_begin(vcpu);
	if (!vcpu->vmi->started) {
		struct vmi_ev_ctx c = { 0 };

		vcpu->vmi->started = true;
		vmi__send(vcpu, VMSCOPE_EV_VCPU_START, &c);
		if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
			vmi__apply_regs(vcpu, &c);
	}
	/* Event snapshots come with the exit (KVM_CAP_SYNC_REGS) while a client subscribes. */
	if (core->sync_regs) {
		uint64_t want = atomic_load_explicit(&core->sub_mask, memory_order_relaxed)
					? KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS : 0;

		if (vcpu->run->kvm_valid_regs != want)
			vcpu->run->kvm_valid_regs = want;
	}
	if (atomic_exchange(&vcpu->vmi->dbg_dirty, false)) {
		struct kvm_guest_debug dbg;

		pthread_mutex_lock(&core->lock);
		vmi__dbg_fill(vcpu, &dbg);
		pthread_mutex_unlock(&core->lock);
		if (memcmp(&dbg, &vcpu->vmi->dbg, sizeof(dbg)) != 0) {
			if (vcpu_ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
				log_warn("vmi: vCPU %u: %s", vcpu->id, kvm_ioctl__why());
			} else {
				vcpu->vmi->dbg = dbg;
				vcpu->vmi->hw_armed = 0;
				for (unsigned i = 0; i < VMSCOPE_HWBP_SLOTS; i++)
					if (dbg.arch.debugreg[7] & (1ULL << (2 * i)))
						vcpu->vmi->hw_armed |= (uint8_t)(1u << i);
			}
		}
	}
}
