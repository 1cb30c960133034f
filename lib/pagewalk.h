/* x86-64 page-table walks (pagewalk.c). */
#ifndef LIBVMSCOPE_PAGEWALK_H
#define LIBVMSCOPE_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

#include "target.h"

/* Bits 51:12 of CR3 and of table entries: the physical frame. */
#define PAGEWALK_ADDR_MASK 0x000ffffffffff000ULL
#define PAGEWALK_MAX_LEVELS 5

/* What one walk found: the mapping and the table pages it read. */
struct pagewalk_result {
	uint64_t gpa;                               /* translation of the walked address */
	uint64_t page_size;                         /* 4 KiB, 2 MiB or 1 GiB */
	uint64_t tables[PAGEWALK_MAX_LEVELS];       /* gpa of each table page read */
	unsigned nr_tables;
};

/*
 * Walks the tables rooted at cr3 (4-level, or 5-level when la57) for gva,
 * uncached.  0 on success; -EFAULT when gva is non-canonical, an entry is not
 * present, or a table lies outside RAM (the reason is recorded in vm).
 * Always terminates: at most one read per level, whatever the tables say.
 */
int pagewalk__walk(struct vmscope *vm, uint64_t cr3, uint64_t gva, bool la57,
		   struct pagewalk_result *res);

/* True when gva is canonical for 48-bit (or 57-bit when la57) addressing. */
static inline bool pagewalk__canonical(uint64_t gva, bool la57)
{
	unsigned shift = la57 ? 7 : 16; /* 64 - 57, 64 - 48 */

	return (uint64_t)((int64_t)(gva << shift) >> shift) == gva;
}

#endif
