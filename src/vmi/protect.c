/*
 * Protected pages: each in a read-only memory slot of its own, so that a
 * guest write to it exits as MMIO; the hook reports it and completes it.
 */
#include <errno.h>
#include <string.h>

#include "kvm_ioctl.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"
#include "vmi/core.h"

static int set_slot(struct vmi_core *core, unsigned slot, uint64_t gpa, uint64_t size,
		    bool ro)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = ro ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
	};

	if (size) {
		uint8_t *p = vm__gpa_ptr(core->vm, gpa, size);

		if (!p)
			return -EFAULT;
		r.userspace_addr = (uint64_t)(uintptr_t)p;
	}
	return vm_ioctl(core->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* Lays the RAM out again: protected pages in read-only slots, the rest read-write. */
int vmi__rebuild_slots(struct vmi_core *core)
{
	const struct memmap *map = &core->vm->map;
	unsigned n = 0;
	int r = 0;

	for (unsigned i = 0; i < core->nr_slots; i++)
		set_slot(core, i, 0, 0, false);
	for (unsigned i = 0; i < map->nr_regions && r == 0; i++) {
		uint64_t cur = map->regions[i].gpa, end = cur + map->regions[i].size;

		for (unsigned j = 0; j < core->nr_prot && r == 0; j++) {
			uint64_t p = core->prot[j];

			if (p < cur || p >= end)
				continue;
			if (p > cur)
				r = set_slot(core, n++, cur, p - cur, false);
			if (r == 0)
				r = set_slot(core, n++, p, 4096, true);
			cur = p + 4096;
		}
		if (r == 0 && cur < end)
			r = set_slot(core, n++, cur, end - cur, false);
	}
	core->nr_slots = n;
	if (r < 0)
		log_error("vmi: rebuilding the memory slots failed: %s", strerror(-r));
	return r;
}

static bool page_protected(struct vmi_core *core, uint64_t page)
{
	bool found = false;

	pthread_mutex_lock(&core->lock);
	for (unsigned i = 0; i < core->nr_prot; i++)
		found |= core->prot[i] == page;
	pthread_mutex_unlock(&core->lock);
	return found;
}

/* An MMIO exit at a RAM address: a write to a protected page (or a stale one). */
enum vcpu_verdict vmi__hook_ram_access(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t gpa = run->mmio.phys_addr;
	uint32_t len = run->mmio.len;
	uint8_t *p = vm__gpa_ptr(vcpu->vm, gpa, len);
	struct vmi_ev_ctx c = { 0 };

	if (!p || len > 8)
		return VCPU_PASS;
	if (!run->mmio.is_write) {
		memcpy(run->mmio.data, p, len);
		return VCPU_HANDLED;
	}
	if (page_protected(vcpu->vm->vmi, gpa & ~4095ULL)) {
		c.ev.u.page_write.gpa = gpa;
		c.ev.u.page_write.len = len;
		c.ev.u.page_write.page_gpa = gpa & ~4095ULL;
		memcpy(c.ev.u.page_write.data, run->mmio.data, len);
		if (vmi__send(vcpu, VMSCOPE_EV_PAGE_WRITE, &c)) {
			if (c.rsp.flags & VMSCOPE_RSP_SET_REGS)
				vmi__apply_regs(vcpu, &c);
			if (c.rsp.flags & (VMSCOPE_RSP_DENY | VMSCOPE_RSP_SKIP))
				return VCPU_HANDLED;
			if (c.rsp.flags & VMSCOPE_RSP_SET_DATA)
				memcpy(run->mmio.data, c.rsp.data, len);
		}
	}
	memcpy(p, run->mmio.data, len);
	return VCPU_HANDLED;
}
