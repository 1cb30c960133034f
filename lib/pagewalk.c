/*
 * x86-64 page walks: 4-level (48-bit) and 5-level (LA57, 57-bit) paging,
 * 4 KiB pages, 2 MiB pages (PS in a PDE) and 1 GiB pages (PS in a PDPTE).
 *
 * What the walker trusts: nothing.  Every entry is read through
 * mem__read_u64, so a table pointer outside RAM ends the walk with -EFAULT;
 * the walk reads exactly one entry per level, so tables that point at
 * themselves (recursive mappings, loops) cannot make it run longer.  Bits the
 * architecture reserves are ignored, not trusted: only bits 51:12 of an entry
 * are used as an address, bits 62:52 (software, protection keys) and 63 (NX)
 * are masked off, and PS is honoured only where it means a large page (levels
 * 2 and 3); in a PML4E or PML5E it is ignored.  Permission bits (R/W, U/S, NX)
 * do not affect a translation, as for a debugger's view of memory.
 */
#include <errno.h>

#include "mem.h"
#include "pagewalk.h"
#include "target.h"

#define PTE_PRESENT (1ULL << 0)
#define PTE_PS (1ULL << 7)

static const char *const level_name[] = { "", "PTE", "PDE", "PDPTE", "PML4E", "PML5E" };

int pagewalk__walk(struct vmscope *vm, uint64_t cr3, uint64_t gva, bool la57,
		   struct pagewalk_result *res)
{
	unsigned levels = la57 ? 5 : 4;
	uint64_t table = cr3 & PAGEWALK_ADDR_MASK;

	res->nr_tables = 0;
	if (!pagewalk__canonical(gva, la57))
		return target__fail(vm, -EFAULT, "va 0x%llx is not canonical (%u-bit)",
				    (unsigned long long)gva, la57 ? 57 : 48);

	for (unsigned level = levels; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t slot = table + ((gva >> shift) & 511) * 8;
		uint64_t entry;

		res->tables[res->nr_tables++] = table;
		if (mem__read_u64(vm, slot, &entry))
			return target__fail(vm, -EFAULT,
					    "va 0x%llx: %s table at 0x%llx is outside RAM",
					    (unsigned long long)gva, level_name[level],
					    (unsigned long long)table);
		if (!(entry & PTE_PRESENT))
			return target__fail(vm, -EFAULT, "va 0x%llx: %s not present",
					    (unsigned long long)gva, level_name[level]);
		if (level == 1 || (level <= 3 && (entry & PTE_PS))) {
			uint64_t size = 1ULL << shift;

			/* For large pages this also drops the PAT bit (12). */
			res->page_size = size;
			res->gpa = ((entry & PAGEWALK_ADDR_MASK) & ~(size - 1)) | (gva & (size - 1));
			return 0;
		}
		table = entry & PAGEWALK_ADDR_MASK;
	}
	/* Not reached: level 1 always returns. */
	return target__fail(vm, -EFAULT, "va 0x%llx: walk did not end", (unsigned long long)gva);
}
