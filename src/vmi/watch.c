/* The watch mask: which exit kinds the core's hook must see (vcpu_hooks.h). */
#include "vm.h"
#include "vmi/core.h"

void vmi__update_watch(struct vmi_core *core)
{
	unsigned sub = atomic_load(&core->sub_mask);
	unsigned mask = sub;

	if (sub & (1u << VMSCOPE_EV_PAGE_WRITE) || core->nr_prot)
		mask |= 1u << VMSCOPE_EV_MMIO;
	if (sub & (1u << VMSCOPE_EV_BREAKPOINT) || core->nr_bps)
		mask |= 1u << VMSCOPE_EV_INTERNAL_ERROR;
	if (core->usermsr_enabled)
		mask |= 1u << VMSCOPE_EV_MSR_READ | 1u << VMSCOPE_EV_MSR_WRITE;
	/* Debug exits always reach the hook: only we turn single-step on. */
	mask |= 1u << VMSCOPE_EV_SINGLESTEP;
	atomic_store(&core->vm->hooks.watch_mask, mask);
	if (core->hdr) {
		core->hdr->watch_mask = sub;
		core->hdr->sync_mask = atomic_load(&core->sync_mask);
	}
}
