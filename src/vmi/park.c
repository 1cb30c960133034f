/*
 * What a vCPU does before each KVM_RUN (vmi__before_run): park while anyone
 * wants it out of the guest (a client's pause, the core's quiesce, a
 * consumer's all-stop or hold, another vCPU's step over a breakpoint), then
 * begin its own step over, announce its start, load its guest-debug flags.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

/* A client's pause, the core's quiesce, a consumer's all-stop or hold: one park for all. */
static bool must_park(struct vmi_core *core, struct vcpu *vcpu)
{
	unsigned stepper = atomic_load_explicit(&core->step_owner, memory_order_relaxed);

	return (stepper && stepper != vcpu->id + 1) ||
	       atomic_load_explicit(&vcpu->vmi.pause_req, memory_order_relaxed) ||
	       atomic_load_explicit(&core->quiesce, memory_order_relaxed) ||
	       atomic_load_explicit(&core->halt, memory_order_relaxed) ||
	       atomic_load_explicit(&vcpu->vmi.hold, memory_order_relaxed);
}

void vmi__park(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;

	pthread_mutex_lock(&core->lock);
	while (must_park(core, vcpu) && !vm__stopping(vcpu->vm)) {
		unsigned gen = atomic_load(&vcpu->vmi.pause_gen);

		/*
		 * Each client pause is announced once: before the vCPU counts as
		 * parked, or at once when it finds the vCPU parked already (a
		 * resume and a pause that came before it left its park).
		 */
		if (atomic_load(&vcpu->vmi.pause_req) && gen != vcpu->vmi.pause_announced) {
			struct vmi_ev_ctx c = { 0 };

			vcpu->vmi.pause_announced = gen; /* under the lock: vmi__pause_vcpus() reads it */
			c.ev.u.pause.reason = vcpu->vmi.started ? 0 : 1;
			pthread_mutex_unlock(&core->lock);
			vmi__send(vcpu, VMSCOPE_EV_PAUSE, &c);
			pthread_mutex_lock(&core->lock);
			pthread_cond_broadcast(&core->cond); /* the pause request waits for this */
			continue;
		}
		if (vcpu->vmi.state != VMI_VCPU_PARKED) {
			vcpu->vmi.state = VMI_VCPU_PARKED;
			pthread_cond_broadcast(&core->cond);
		}
		pthread_cond_wait(&core->cond, &core->lock);
	}
	vcpu->vmi.state = VMI_VCPU_RUNNING;
	pthread_mutex_unlock(&core->lock);
}

void vmi__before_run(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;

	if (!core)
		return;
	if (vcpu->vmi.regs_after_exit) {
		vcpu__complete_exit(vcpu);
		vcpu->vmi.regs_after_exit = false;
		if (vmi__set_regs(vcpu, &vcpu->vmi.regs_pending, false) < 0)
			log_warn("vmi: vCPU %u: setting registers from a response failed", vcpu->id);
	}
	if (must_park(core, vcpu)) {
		/* Whoever reads or writes its registers while it is parked sees them whole. */
		vcpu__complete_exit(vcpu);
		vmi__park(vcpu);
	}
	if (vcpu->vmi.step_pending)
		vmi__step_over_begin(vcpu);
	if (!vcpu->vmi.started) {
		struct vmi_ev_ctx c = { 0 };

		vcpu->vmi.started = true;
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
	if (atomic_exchange(&vcpu->vmi.dbg_dirty, false)) {
		struct kvm_guest_debug dbg;

		pthread_mutex_lock(&core->lock);
		vmi__dbg_fill(vcpu, &dbg);
		pthread_mutex_unlock(&core->lock);
		if (memcmp(&dbg, &vcpu->vmi.dbg, sizeof(dbg)) != 0) {
			if (ioctl(vcpu->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
				log_warn("vmi: vCPU %u: KVM_SET_GUEST_DEBUG: %s", vcpu->id,
					 strerror(errno));
			} else {
				vcpu->vmi.dbg = dbg;
				vcpu->vmi.hw_armed = 0;
				for (unsigned i = 0; i < VMSCOPE_HWBP_SLOTS; i++)
					if (dbg.arch.debugreg[7] & (1ULL << (2 * i)))
						vcpu->vmi.hw_armed |= (uint8_t)(1u << i);
			}
		}
	}
}

void vmi__wake(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi.core;
	uint64_t one = 1;

	if (!core)
		return;
	pthread_mutex_lock(&core->lock);
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
	if (vcpu->vmi.rsp_efd >= 0)
		(void)!write(vcpu->vmi.rsp_efd, &one, sizeof(one));
}

int vmi__quiesce(struct vmi_core *core)
{
	struct vm *vm = core->vm;
	struct timespec ts;

	atomic_store(&core->quiesce, true);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu__kick(vm->vcpus[i]);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	for (;;) {
		bool all = true;

		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			all &= vm->vcpus[i]->vmi.state != VMI_VCPU_RUNNING;
		if (all || vm__stopping(vm))
			return 0;
		if (pthread_cond_timedwait(&core->cond, &core->lock, &ts) == ETIMEDOUT) {
			vmi__unquiesce(core);
			return -ETIMEDOUT;
		}
	}
}

void vmi__unquiesce(struct vmi_core *core)
{
	atomic_store(&core->quiesce, false);
	pthread_cond_broadcast(&core->cond);
}
