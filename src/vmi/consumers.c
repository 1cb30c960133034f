/*
 * In-process consumers (the GDB stub, the REST API): registration, all-stop,
 * holds and single-steps per consumer, and letting go of all of it
 * (breakpoints of both kinds included).
 */
#include <errno.h>
#include <time.h>

#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"
#include "vmi/requests.h"

int vmi__register_consumer(struct vm *vm, const struct vmi_consumer_ops *ops, void *opaque)
{
	struct vmi_core *core = vm->vmi;
	unsigned c;

	if (!core)
		return -ENOTSUP;
	if (core->nr_consumers == VMI_MAX_CONSUMERS)
		return -ENOSPC;
	c = ++core->nr_consumers;
	core->consumers[c].ops = ops;
	core->consumers[c].opaque = opaque;
	return (int)c;
}

struct vcpu *vmi__vcpu(struct vm *vm, unsigned id)
{
	struct vmi_core *core = vm->vmi;

	if (!core || !atomic_load_explicit(&core->ready, memory_order_acquire) || id >= vm->nr_vcpus)
		return NULL;
	return vm->vcpus[id];
}

static void kick_all(struct vmi_core *core)
{
	if (!atomic_load(&core->ready))
		return; /* a vCPU not started yet sees the flag before its first KVM_RUN */
	for (unsigned i = 0; i < core->vm->nr_vcpus; i++)
		vcpu__kick(core->vm->vcpus[i]);
}

void vmi__halt(struct vm *vm, int c, bool on)
{
	struct vmi_core *core = vm->vmi;

	if (on) {
		atomic_fetch_or(&core->halt, 1u << c);
		kick_all(core);
		return;
	}
	pthread_mutex_lock(&core->lock);
	atomic_fetch_and(&core->halt, ~(1u << c));
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
}

void vmi__hold(struct vm *vm, int c, unsigned id, bool on)
{
	struct vcpu *v = vmi__vcpu(vm, id);
	struct vmi_core *core = vm->vmi;

	if (!v)
		return;
	if (on) {
		atomic_fetch_or(&v->vmi->hold, 1u << c);
		vcpu__kick(v);
		return;
	}
	pthread_mutex_lock(&core->lock);
	atomic_fetch_and(&v->vmi->hold, ~(1u << c));
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
}

int vmi__step(struct vm *vm, int c, unsigned id, bool on)
{
	struct vcpu *v = vmi__vcpu(vm, id);

	if (!v)
		return -ESRCH;
	if (on && !host_debug__step_ok(&vm->host->dbg))
		return -ENOTSUP;
	if (on)
		atomic_fetch_or(&v->vmi->consumer_ss, 1u << c);
	else
		atomic_fetch_and(&v->vmi->consumer_ss, ~(1u << c));
	atomic_store(&v->vmi->dbg_dirty, true); /* loaded when it leaves its park */
	return 0;
}

int vmi__wait_stopped(struct vm *vm, unsigned timeout_ms)
{
	struct vmi_core *core = vm->vmi;
	uint64_t deadline = vmi__now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	int r = 0;

	pthread_mutex_lock(&core->lock);
	for (;;) {
		struct timespec ts;
		bool all = atomic_load(&core->ready);

		for (unsigned i = 0; all && i < vm->nr_vcpus; i++)
			all &= vm->vcpus[i]->vmi->state != VMI_VCPU_RUNNING;
		if (all || vm__stopping(vm))
			break;
		if (vmi__now_ns() >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		/* Short waits: the VM may start or stop without a broadcast. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&core->cond, &core->lock, &ts);
	}
	pthread_mutex_unlock(&core->lock);
	return r;
}

bool vmi__client_paused(struct vm *vm)
{
	if (!vm->vmi || vm->nr_vcpus == 0)
		return false;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (!atomic_load(&vm->vcpus[i]->vmi->pause_req))
			return false;
	return true;
}

void vmi__lift_client_pause(struct vm *vm)
{
	struct vmi_core *core = vm->vmi;

	pthread_mutex_lock(&core->lock);
	vmi__pause_vcpus(core, VMSCOPE_ALL_VCPUS, false, NULL); /* a resume needs no reply */
	pthread_mutex_unlock(&core->lock);
}

void vmi__release_consumer(struct vm *vm, int c)
{
	struct vmi_core *core = vm->vmi;
	uint32_t bit = 1u << c;

	pthread_mutex_lock(&core->lock);
	for (unsigned i = 0; i < core->nr_bps;) {
		if (core->bps[i].owners & bit) {
			uint64_t gpa = core->bps[i].gpa;
			bool last = core->bps[i].owners == bit;

			vmi__bp_remove_locked(core, bit, gpa);
			if (last)
				continue; /* the last entry moved into slot i */
		}
		i++;
	}
	vmi__hwbp_release_locked(core, bit);
	if (atomic_load(&core->ready)) {
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			struct vcpu *v = vm->vcpus[i];

			atomic_fetch_and(&v->vmi->hold, ~bit);
			if (atomic_fetch_and(&v->vmi->consumer_ss, ~bit) & bit)
				atomic_store(&v->vmi->dbg_dirty, true);
		}
	}
	atomic_fetch_and(&core->halt, ~bit);
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
}

void vmi__vcpu_exit(struct vcpu *vcpu)
{
	struct vmi_core *core = vcpu->vm->vmi;

	/* Out of the guest for good: a vCPU stepping over a breakpoint need not wait for it. */
	pthread_mutex_lock(&core->lock);
	vcpu->vmi->state = VMI_VCPU_PARKED;
	pthread_cond_broadcast(&core->cond);
	pthread_mutex_unlock(&core->lock);
	for (unsigned i = 1; i <= core->nr_consumers; i++)
		if (core->consumers[i].ops->vcpu_exit)
			core->consumers[i].ops->vcpu_exit(core->consumers[i].opaque, vcpu);
}
