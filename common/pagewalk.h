/*
 * The x86-64 guest page-table walker (pagewalk.c), compiled into both the
 * hypervisor (src/vmi/pagewalk.c) and libvmscope (lib/mem.c).  It knows
 * nothing of either: guest-physical memory is read through a callback.
 */
#ifndef VMSCOPE_PAGEWALK_H
#define VMSCOPE_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

/* Bits 51:12 of CR3 and of table entries: the physical frame. */
#define PAGEWALK_ADDR_MASK 0x000ffffffffff000ULL
#define PAGEWALK_MAX_LEVELS 5

/*
 * Reads the 64-bit little-endian entry at guest-physical gpa in one load;
 * returns false when gpa is not RAM.
 */
typedef bool (*pagewalk_read_fn)(void *opaque, uint64_t gpa, uint64_t *entry);

enum pagewalk_status {
	PAGEWALK_OK,
	PAGEWALK_NON_CANONICAL,
	PAGEWALK_NOT_PRESENT,  /* the entry at level is not present */
	PAGEWALK_OUTSIDE_RAM,  /* the table at level is not RAM */
};

/* What one walk found: the mapping, and the table pages it read. */
struct pagewalk {
	uint64_t gpa;                         /* translation of the walked address */
	uint64_t page_size;                   /* 4 KiB, 2 MiB or 1 GiB */
	bool user;                            /* U/S set at every level: CPL3 may use it */
	unsigned level;                       /* 1 (PTE) .. 5 (PML5E): where the walk ended */
	uint64_t tables[PAGEWALK_MAX_LEVELS]; /* gpa of each table page read */
	unsigned nr_tables;
};

/*
 * Walks the tables rooted at cr3 (4-level, or 5-level when la57) for gva.
 * gpa, page_size and user are set only on PAGEWALK_OK; level and tables
 * always.  At most one read per level, whatever the tables say.
 */
enum pagewalk_status pagewalk__walk(uint64_t cr3, uint64_t gva, bool la57, pagewalk_read_fn read,
				    void *opaque, struct pagewalk *res);

/* "PTE", "PDE", "PDPTE", "PML4E" or "PML5E": the entry read at level (1..5). */
const char *pagewalk__level_name(unsigned level);

/* True when gva is canonical for 48-bit (or 57-bit when la57) addressing. */
static inline bool pagewalk__canonical(uint64_t gva, bool la57)
{
	unsigned shift = la57 ? 7 : 16; /* 64 - 57, 64 - 48 */

	return (uint64_t)((int64_t)(gva << shift) >> shift) == gva;
}

#endif
