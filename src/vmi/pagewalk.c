/*
 * Guest page walks for the introspection hook (breakpoint hits) and its
 * in-process consumers (the GDB stub): the shared walker (common/pagewalk.c)
 * reading guest RAM through vm__gpa_ptr.  KVM_TRANSLATE does not work on
 * every host, so the walk reads guest memory.
 */
#include "pagewalk.h"
#include "vm.h"
#include "vmi/vmi.h"

#define CR0_PG (1ULL << 31)
#define CR4_LA57 (1ULL << 12)

/* The guest may rewrite its tables while we walk them: one atomic load per entry. */
static bool read_entry(void *vm, uint64_t gpa, uint64_t *entry)
{
	const uint64_t *p = vm__gpa_ptr(vm, gpa, sizeof(*entry));

	if (!p)
		return false;
	*entry = __atomic_load_n(p, __ATOMIC_RELAXED);
	return true;
}

int64_t vmi__gva_to_gpa(struct vm *vm, const struct vmscope_regs *regs, uint64_t gva, bool *user)
{
	struct pagewalk w;

	if (user)
		*user = false;
	if (!(regs->cr0 & CR0_PG))
		return (int64_t)gva; /* paging off */
	if (pagewalk__walk(regs->cr3, gva, regs->cr4 & CR4_LA57, read_entry, vm, &w) != PAGEWALK_OK)
		return -1;
	if (user)
		*user = w.user;
	return (int64_t)w.gpa;
}
