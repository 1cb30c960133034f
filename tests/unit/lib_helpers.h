/*
 * Helpers for libvmscope's unit tests: guest memory in a memfd (opened as a
 * raw image through /proc/self/fd, so the test can still change it behind
 * the library's back), a page-table builder, and a writable target over a
 * plain buffer built with the library's internal constructor.
 */
#ifndef VMSCOPE_TESTS_LIB_HELPERS_H
#define VMSCOPE_TESTS_LIB_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem.h"
#include "offline.h"
#include "target.h"
#include "vmscope/vmscope.h"

#define KIB 1024ULL
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

#define PTE_P (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)
#define PTE_NX (1ULL << 63)
#define ADDR_MASK 0x000ffffffffff000ULL

/* Guest-physical memory the test owns. */
struct gmem {
	int fd;           /* memfd, or -1 for a plain buffer */
	uint8_t *mem;
	uint64_t size;
	uint64_t next;    /* bump allocator for page-table pages */
	char path[64];
};

static inline void gmem_init(struct gmem *g, uint64_t size, uint64_t alloc_from)
{
	g->fd = memfd_create("vmscope-test", MFD_CLOEXEC);
	if (g->fd < 0 || ftruncate(g->fd, (off_t)size) < 0)
		abort();
	g->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	if (g->mem == MAP_FAILED)
		abort();
	g->size = size;
	g->next = alloc_from;
	snprintf(g->path, sizeof(g->path), "/proc/self/fd/%d", g->fd);
}

static inline void gmem_fini(struct gmem *g)
{
	munmap(g->mem, g->size);
	if (g->fd >= 0)
		close(g->fd);
}

static inline uint64_t gmem_page(struct gmem *g)
{
	uint64_t p = g->next;

	if (p + 4096 > g->size)
		abort();
	g->next += 4096;
	memset(g->mem + p, 0, 4096);
	return p;
}

static inline uint64_t gmem_get64(struct gmem *g, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, g->mem + gpa, 8);
	return v;
}

static inline void gmem_set64(struct gmem *g, uint64_t gpa, uint64_t v)
{
	memcpy(g->mem + gpa, &v, 8);
}

/* Address of the entry for va at level (1 = PTE ... 5 = PML5E), creating tables above it. */
static inline uint64_t gmem_slot(struct gmem *g, uint64_t cr3, uint64_t va, bool la57,
				 unsigned target_level)
{
	uint64_t table = cr3 & ADDR_MASK;

	for (unsigned level = la57 ? 5 : 4;; level--) {
		uint64_t slot = table + ((va >> (12 + 9 * (level - 1))) & 511) * 8;
		uint64_t e;

		if (level == target_level)
			return slot;
		e = gmem_get64(g, slot);
		if (!(e & PTE_P)) {
			e = gmem_page(g) | PTE_P | PTE_RW;
			gmem_set64(g, slot, e);
		}
		table = e & ADDR_MASK;
	}
}

/* Maps va -> pa with a page of page_size (4 KiB, 2 MiB or 1 GiB). */
static inline void gmem_map(struct gmem *g, uint64_t cr3, uint64_t va, uint64_t pa,
			    uint64_t page_size, bool la57)
{
	unsigned level = page_size == GIB ? 3 : page_size == 2 * MIB ? 2 : 1;
	uint64_t slot = gmem_slot(g, cr3, va, la57, level);

	gmem_set64(g, slot, pa | PTE_P | PTE_RW | (level > 1 ? PTE_PS : 0));
}

static inline vmscope_t *gmem_open(struct gmem *g)
{
	int err = 0;
	vmscope_t *vm = vmscope_open_raw(g->path, &err);

	if (!vm || err) {
		fprintf(stderr, "open_raw(%s): %d %s\n", g->path, err, vmscope_last_error(NULL));
		abort();
	}
	return vm;
}

/*
 * A writable target over host buffers, as the live side builds one: regions
 * given as (gpa, size, host) triples; the buffers stay the caller's.
 */
static inline vmscope_t *writable_target(const struct vmscope_region *regions, unsigned n)
{
	struct vmscope *vm = target__new(&offline_raw_ops);
	struct vmscope_region *copy = malloc(n * sizeof(*copy));

	if (!vm || !copy)
		abort();
	memcpy(copy, regions, n * sizeof(*copy));
	if (mem__set_regions(vm, copy, n))
		abort();
	vm->writable = true;
	return vm;
}

#endif
