/* Shared by the libvmscope benchmarks: timing, medians, guest memory in a memfd. */
#ifndef VMSCOPE_BENCH_COMMON_H
#define VMSCOPE_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmscope/vmscope.h"

#define KIB 1024ULL
#define MIB (1024 * KIB)

#define PTE_P 1ULL
#define PTE_RW 2ULL
#define PTE_PS 0x80ULL
#define ADDR_MASK 0x000ffffffffff000ULL

static inline double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static inline double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Guest memory: a memfd the benchmark writes page tables into, opened as a raw image. */
struct bmem {
	int fd;
	uint8_t *mem;
	uint64_t size, next;
	char path[64];
};

static inline void bmem_init(struct bmem *g, uint64_t size, uint64_t tables_from)
{
	g->fd = memfd_create("vmscope-bench", MFD_CLOEXEC);
	if (g->fd < 0 || ftruncate(g->fd, (off_t)size) < 0) {
		perror("memfd");
		exit(1);
	}
	g->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	if (g->mem == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	g->size = size;
	g->next = tables_from;
	snprintf(g->path, sizeof(g->path), "/proc/self/fd/%d", g->fd);
}

static inline uint64_t bmem_page(struct bmem *g)
{
	uint64_t p = g->next;

	if (p + 4096 > g->size) {
		fprintf(stderr, "out of page-table memory\n");
		exit(1);
	}
	g->next += 4096;
	memset(g->mem + p, 0, 4096);
	return p;
}

/* Maps va -> pa with a page of page_size (4 KiB or 2 MiB); 4- or 5-level. */
static inline void bmem_map(struct bmem *g, uint64_t cr3, uint64_t va, uint64_t pa,
			    uint64_t page_size, int la57)
{
	unsigned target = page_size == 2 * MIB ? 2 : 1;
	uint64_t table = cr3;

	for (unsigned level = la57 ? 5 : 4;; level--) {
		uint64_t slot = table + ((va >> (12 + 9 * (level - 1))) & 511) * 8, e;

		if (level == target) {
			e = pa | PTE_P | PTE_RW | (target > 1 ? PTE_PS : 0);
			memcpy(g->mem + slot, &e, 8);
			return;
		}
		memcpy(&e, g->mem + slot, 8);
		if (!(e & PTE_P)) {
			e = bmem_page(g) | PTE_P | PTE_RW;
			memcpy(g->mem + slot, &e, 8);
		}
		table = e & ADDR_MASK;
	}
}

static inline vmscope_t *bmem_open(struct bmem *g)
{
	int err;
	vmscope_t *vm = vmscope_open_raw(g->path, &err);

	if (!vm) {
		fprintf(stderr, "open_raw: %d %s\n", err, vmscope_last_error(NULL));
		exit(1);
	}
	return vm;
}

#endif
