#include "memmap.h"

#include <errno.h>

#include "util.h"

int memmap__init(struct memmap *map, uint64_t ram_size)
{
	uint64_t low;

	if (ram_size < MEMMAP_MIN_RAM || ram_size % (4 * KiB) != 0)
		return -EINVAL;
	/* Stay far below the 57-bit physical-address limit of any x86 host. */
	if (ram_size > (1ULL << 46))
		return -E2BIG;

	low = ram_size < MEMMAP_HOLE_START ? ram_size : MEMMAP_HOLE_START;
	map->ram_size = ram_size;
	map->nr_regions = 1;
	map->regions[0] = (struct mem_region){ .gpa = 0, .size = low, .offset = 0 };
	if (ram_size > low) {
		map->regions[1] = (struct mem_region){
			.gpa = MEMMAP_HOLE_END, .size = ram_size - low, .offset = low,
		};
		map->nr_regions = 2;
	}
	return 0;
}

int64_t memmap__offset(const struct memmap *map, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < map->nr_regions; i++) {
		const struct mem_region *r = &map->regions[i];

		if (gpa >= r->gpa && range_within(gpa - r->gpa, len, r->size))
			return (int64_t)(r->offset + (gpa - r->gpa));
	}
	return -1;
}

void *memmap__ptr(const struct memmap *map, uint8_t *ram, uint64_t gpa, uint64_t len)
{
	int64_t off = memmap__offset(map, gpa, len);

	return off < 0 ? NULL : ram + off;
}

uint64_t memmap__low_end(const struct memmap *map)
{
	return map->regions[0].size;
}

unsigned memmap__e820(const struct memmap *map, struct e820_range *out, unsigned max)
{
	uint64_t low = memmap__low_end(map);
	struct e820_range all[4];
	unsigned n = 0, i;

	all[n++] = (struct e820_range){ 0, MEMMAP_EBDA_START, E820_RAM };
	all[n++] = (struct e820_range){ MEMMAP_EBDA_START, MEMMAP_HIGH_START - MEMMAP_EBDA_START,
					E820_RESERVED };
	if (low > MEMMAP_HIGH_START)
		all[n++] = (struct e820_range){ MEMMAP_HIGH_START, low - MEMMAP_HIGH_START, E820_RAM };
	if (map->nr_regions > 1)
		all[n++] = (struct e820_range){ map->regions[1].gpa, map->regions[1].size, E820_RAM };
	for (i = 0; i < n && i < max; i++)
		out[i] = all[i];
	return i;
}
