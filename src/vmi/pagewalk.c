/*
 * The hypervisor's one guest page-table walker, used by the introspection
 * hook (breakpoint hits) and its in-process consumers (the GDB stub).
 * KVM_TRANSLATE does not work on every host, so the walk reads guest memory.
 */
#include "vm.h"
#include "vmi/vmi.h"

#define PTE_ADDR 0x000ffffffffff000ULL
#define CR0_PG (1ULL << 31)
#define CR4_LA57 (1ULL << 12)

int64_t vmi__gva_to_gpa(struct vm *vm, const struct vmscope_regs *regs, uint64_t gva, bool *user)
{
	uint64_t table = regs->cr3 & PTE_ADDR;
	int levels = (regs->cr4 & CR4_LA57) ? 5 : 4;
	bool u = true;

	if (user)
		*user = false;
	if (!(regs->cr0 & CR0_PG))
		return (int64_t)gva; /* paging off */
	for (int level = levels - 1; level >= 0; level--) {
		unsigned idx = (gva >> (12 + 9 * level)) & 511;
		const uint64_t *pte = vm__gpa_ptr(vm, table + idx * 8, 8);
		uint64_t e;

		if (!pte)
			return -1;
		e = __atomic_load_n(pte, __ATOMIC_RELAXED);
		if (!(e & 1))
			return -1;
		u &= (e & 4) != 0;
		if ((level == 1 || level == 2) && (e & 0x80)) {
			uint64_t size = 1ULL << (12 + 9 * level);

			if (user)
				*user = u;
			return (int64_t)((e & PTE_ADDR & ~(size - 1)) | (gva & (size - 1)));
		}
		table = e & PTE_ADDR;
	}
	if (user)
		*user = u;
	return (int64_t)(table | (gva & 4095));
}
