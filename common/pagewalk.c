/*
 * x86-64 page walks: 4-level (48-bit) and 5-level (LA57, 57-bit) paging,
 * 4 KiB pages, 2 MiB pages (PS in a PDE) and 1 GiB pages (PS in a PDPTE).
 *
 * What the walker trusts: nothing.  Every entry comes through the caller's
 * read function, so a table pointer outside RAM ends the walk; the walk reads
 * exactly one entry per level, so tables that point at themselves (recursive
 * mappings, loops) cannot make it run longer.  Bits the architecture reserves
 * are ignored, not trusted: only bits 51:12 of an entry are used as an
 * address, bits 62:52 (software, protection keys) and 63 (NX) are masked off,
 * and PS is honoured only where it means a large page (levels 2 and 3); in a
 * PML4E or PML5E it is ignored.  R/W and NX do not affect a translation, as
 * for a debugger's view of memory; U/S is reported, not enforced.
 */
#include "pagewalk.h"

#define PTE_PRESENT (1ULL << 0)
#define PTE_USER (1ULL << 2)
#define PTE_PS (1ULL << 7)

const char *pagewalk__level_name(unsigned level)
{
	static const char *const names[] = { "", "PTE", "PDE", "PDPTE", "PML4E", "PML5E" };

	return level <= PAGEWALK_MAX_LEVELS ? names[level] : "";
}

enum pagewalk_status pagewalk__walk(uint64_t cr3, uint64_t gva, bool la57, pagewalk_read_fn read,
				    void *opaque, struct pagewalk *res)
{
	uint64_t table = cr3 & PAGEWALK_ADDR_MASK;
	bool user = true;

	res->nr_tables = 0;
	res->level = la57 ? 5 : 4;
	if (!pagewalk__canonical(gva, la57))
		return PAGEWALK_NON_CANONICAL;
	for (;; res->level--) {
		unsigned shift = 12 + 9 * (res->level - 1);
		uint64_t entry;

		res->tables[res->nr_tables++] = table;
		if (!read(opaque, table + ((gva >> shift) & 511) * 8, &entry))
			return PAGEWALK_OUTSIDE_RAM;
		if (!(entry & PTE_PRESENT))
			return PAGEWALK_NOT_PRESENT;
		user &= (entry & PTE_USER) != 0;
		if (res->level == 1 || (res->level <= 3 && (entry & PTE_PS))) {
			uint64_t size = 1ULL << shift;

			/* For large pages this also drops the PAT bit (12). */
			res->gpa = ((entry & PAGEWALK_ADDR_MASK) & ~(size - 1)) | (gva & (size - 1));
			res->page_size = size;
			res->user = user;
			return PAGEWALK_OK;
		}
		table = entry & PAGEWALK_ADDR_MASK;
	}
}
