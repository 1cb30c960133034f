/*
 * The guest-physical memory map, described once.  RAM is one memfd; the part
 * that does not fit below the 32-bit hole continues at 4 GiB.  The loaders,
 * the e820 table and the KVM memory slots all read this description.
 */
#ifndef VMSCOPE_MEMMAP_H
#define VMSCOPE_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

/* Start of the hole under 4 GiB that holds the LAPIC, IOAPIC and device MMIO. */
#define MEMMAP_HOLE_START 0xc0000000ULL
#define MEMMAP_HOLE_END   0x100000000ULL

/* Legacy area that e820 reports as reserved (EBDA, VGA, BIOS ROM). */
#define MEMMAP_EBDA_START 0x9fc00ULL
#define MEMMAP_HIGH_START 0x100000ULL

#define MEMMAP_MIN_RAM    (2ULL << 20)
#define MEMMAP_MAX_REGIONS 2

struct mem_region {
	uint64_t gpa;    /* guest-physical start */
	uint64_t size;
	uint64_t offset; /* offset of this region inside the RAM memfd */
};

struct memmap {
	uint64_t ram_size;
	unsigned nr_regions;
	struct mem_region regions[MEMMAP_MAX_REGIONS];
};

enum e820_type { E820_RAM = 1, E820_RESERVED = 2 };

struct e820_range {
	uint64_t addr, size;
	uint32_t type;
};

/* Lays out ram_size bytes of RAM; returns -EINVAL when it is too small. */
int memmap__init(struct memmap *map, uint64_t ram_size);

/*
 * Offset in the RAM memfd of the guest-physical range [gpa, gpa + len), or -1
 * when any byte of it is not RAM or the range wraps.  Every conversion of a
 * guest address to a host address goes through here.
 */
int64_t memmap__offset(const struct memmap *map, uint64_t gpa, uint64_t len);

/* Host pointer into ram (the mapping of the whole memfd) for [gpa, gpa + len), or NULL. */
void *memmap__ptr(const struct memmap *map, uint8_t *ram, uint64_t gpa, uint64_t len);

/* Highest RAM address + 1 below the 32-bit hole. */
uint64_t memmap__low_end(const struct memmap *map);

/* Fills at most max entries of the e820 table; returns how many. */
unsigned memmap__e820(const struct memmap *map, struct e820_range *out, unsigned max);

#endif
