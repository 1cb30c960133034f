/*
 * The park: where a vCPU waits while anyone wants it out of the guest (a
 * client's pause, the core's quiesce, a consumer's all-stop or hold, another
 * vCPU's step over a breakpoint), and how the core quiesces every vCPU.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

/* A client's pause, the core's quiesce, a consumer's all-stop or hold: one park for all. */
bool vmi__must_park(struct vmi_core *core, struct vcpu *vcpu)
{
	unsigned stepper = atomic_load_explicit(&core->step_owner, memory_order_relaxed);

	return (stepper && stepper != vcpu->id + 1) ||
	       atomic_load_explicit(&vcpu->vmi->pause_req, memory_order_relaxed) ||
	       atomic_load_explicit(&core->quiesce, memory_order_relaxed) ||
	       atomic_load_explicit(&core->halt, memory_order_relaxed) ||
	       atomic_load_explicit(&vcpu->vmi->hold, memory_order_relaxed);
}

void vmi__park(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi;

	pthread_mutex_lock(&core->lock);
	while (vmi__must_park(core, vcpu) && !vm__stopping(vcpu->vm)) {
		unsigned gen = atomic_load(&vcpu->vmi->pause_gen);

		/*
		 * Each client pause is announced once: before the vCPU counts as
		 * parked, or at once when it finds the vCPU parked already (a
		 * resume and a pause that came before it left its park).
		 */
		if (atomic_load(&vcpu->vmi->pause_req) && gen != vcpu->vmi->pause_announced) {
			struct vmi_ev_ctx c = { 0 };

			vcpu->vmi->pause_announced = gen; /* under the lock: vmi__pause_vcpus() reads it */
			c.ev.u.pause.reason = vcpu->vmi->started ? 0 : 1;
			pthread_mutex_unlock(&core->lock);
			vmi__send(vcpu, VMSCOPE_EV_PAUSE, &c);
			pthread_mutex_lock(&core->lock);
			pthread_cond_broadcast(&core->cond); /* the pause request waits for this */
			continue;
		}
		if (vcpu->vmi->state != VMI_VCPU_PARKED) {
			vcpu->vmi->state = VMI_VCPU_PARKED;
			pthread_cond_broadcast(&core->cond);
		}
		pthread_cond_wait(&core->cond, &core->lock);
	}
	vcpu->vmi->state = VMI_VCPU_RUNNING;
	pthread_mutex_unlock(&core->lock);
}

void vmi__wake(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi;
	uint64_t one = 1;

	pthread_mutex_lock(&core->lock);
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
	if (vcpu->vmi->rsp_efd >= 0)
		(void)!write(vcpu->vmi->rsp_efd, &one, sizeof(one));
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
			all &= vm->vcpus[i]->vmi->state != VMI_VCPU_RUNNING;
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
