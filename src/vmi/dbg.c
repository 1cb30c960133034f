/*
 * The guest-debug flags of a vCPU (KVM_SET_GUEST_DEBUG): what every owner's
 * single-steps, software breakpoints and debug-register slots add up to, and
 * telling every vCPU to reload them.
 */
#include <string.h>

#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

/* DR7's LEN field for a length in bytes (8 is 10b, 4 is 11b). */
static uint64_t len_bits(unsigned len)
{
	switch (len) {
	case 2: return 1;
	case 8: return 2;
	case 4: return 3;
	}
	return 0;
}

void vmi__hwbp_fill(struct vmi_core *core, uint8_t skip, struct kvm_guest_debug *dbg)
{
	uint64_t dr7 = 0;

	for (unsigned i = 0; i < VMSCOPE_HWBP_SLOTS; i++) {
		const struct vmi_hwbp *h = &core->hwbps[i];

		if (!h->owners || (skip & (1u << i)))
			continue;
		dbg->arch.debugreg[i] = h->addr;
		/* Li enables slot i; its R/W and LEN fields are 4 bits at 16 + 4i. */
		dr7 |= 1ULL << (2 * i) | ((uint64_t)h->type | len_bits(h->len) << 2) << (16 + 4 * i);
	}
	if (!dr7)
		return;
	dbg->arch.debugreg[7] = dr7 | 1ULL << 10; /* bit 10 reads as 1 */
	dbg->control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
}

/*
 * The one KVM_SET_GUEST_DEBUG of a vCPU: the core's own step-overs, the
 * client's single-step and every in-process consumer's, software
 * breakpoints, and the debug-register slots (but those it steps over).
 */
void vmi__dbg_fill(struct vcpu *vcpu, struct kvm_guest_debug *dbg)
{
	struct vmi_core *core = vcpu->vm->vmi;

	memset(dbg, 0, sizeof(*dbg));
	if (vcpu->vmi->client_ss || vcpu->vmi->stepping_bp || vcpu->vmi->hw_skip ||
	    atomic_load(&vcpu->vmi->consumer_ss))
		dbg->control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	/* kvm_pvm reports int3 as an emulation failure whatever the flags say. */
	if (core->nr_bps && !vcpu->vm->host->emulated)
		dbg->control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
	vmi__hwbp_fill(core, vcpu->vmi->hw_skip, dbg);
}

void vmi__refresh_dbg(struct vmi_core *core)
{
	if (!atomic_load(&core->ready))
		return; /* every vCPU loads its flags before its first KVM_RUN */
	for (unsigned i = 0; i < core->vm->nr_vcpus; i++) {
		atomic_store(&core->vm->vcpus[i]->vmi->dbg_dirty, true);
		/* A kick of a stopping VM wakes the vCPU through this (held) lock. */
		if (!vm__stopping(core->vm))
			vcpu__kick(core->vm->vcpus[i]);
	}
}
