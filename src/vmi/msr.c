/*
 * MSR events: the KVM MSR filter sends the watched MSRs' reads and writes
 * to user space, where the hook reports them and completes them.
 */
#include <errno.h>
#include <string.h>

#include "kvm_ioctl.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

int vmi__update_msr_filter(struct vmi_core *core)
{
	static uint8_t deny[1]; /* bit 0 clear: the one MSR of the range is denied */
	unsigned sub = atomic_load(&core->sub_mask);
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_ALLOW };
	uint32_t flags = 0;

	if (!core->usermsr_enabled)
		return core->nr_msrs ? -ENOTSUP : 0;
	if (sub & (1u << VMSCOPE_EV_MSR_READ))
		flags |= KVM_MSR_FILTER_READ;
	if (sub & (1u << VMSCOPE_EV_MSR_WRITE))
		flags |= KVM_MSR_FILTER_WRITE;
	for (unsigned i = 0; flags && i < core->nr_msrs && i < KVM_MSR_FILTER_MAX_RANGES; i++)
		f.ranges[i] = (struct kvm_msr_filter_range){
			.flags = flags, .nmsrs = 1, .base = core->msrs[i], .bitmap = deny,
		};
	if (vm_ioctl(core->vm, KVM_X86_SET_MSR_FILTER, &f) < 0)
		return -errno;
	return 0;
}

static bool msr_watched(struct vmi_core *core, uint32_t index)
{
	bool found = false;

	pthread_mutex_lock(&core->lock);
	for (unsigned i = 0; i < core->nr_msrs; i++)
		found |= core->msrs[i] == index;
	pthread_mutex_unlock(&core->lock);
	return found;
}

enum vcpu_verdict vmi__hook_msr(struct vcpu *vcpu, unsigned kind)
{
	struct kvm_run *run = vcpu->run;
	bool write = kind == VMSCOPE_EV_MSR_WRITE;
	struct vmi_ev_ctx c = { 0 };
	uint64_t value = run->msr.data;
	bool sent = false;

	if (!write && vmi__msr_access(vcpu, run->msr.index, &value, false) < 0)
		value = 0;
	if (msr_watched(vcpu->vm->vmi, run->msr.index)) {
		c.ev.u.msr.index = run->msr.index;
		c.ev.u.msr.value = value;
		sent = vmi__send(vcpu, kind, &c);
	}
	if (sent && (c.rsp.flags & VMSCOPE_RSP_SET_REGS))
		vmi__apply_regs_after_exit(vcpu, &c);
	run->msr.error = 0;
	if (write) {
		if (sent && (c.rsp.flags & (VMSCOPE_RSP_DENY | VMSCOPE_RSP_SKIP)))
			return VCPU_HANDLED;
		if (vmi__msr_access(vcpu, run->msr.index, &value, true) < 0)
			run->msr.error = 1; /* the guest gets the #GP it would have had */
	} else {
		if (sent && (c.rsp.flags & VMSCOPE_RSP_SET_DATA))
			memcpy(&value, c.rsp.data, 8);
		run->msr.data = value;
	}
	return VCPU_HANDLED;
}
