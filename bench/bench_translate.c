/*
 * bench_translate: vmscope_translate per second, cached and uncached.
 *   cached:            a working set of 1024 4 KiB pages, in a shuffled order
 *                      (every call a table hit, not the last-page shortcut);
 *   cached, same page: consecutive calls in one 2 MiB page (the shortcut);
 *   uncached, flush:   vmscope_flush_tlb before every translation;
 *   uncached, sweep:   65536 distinct 4 KiB pages, 16 times the cache size;
 *   uncached, 5-level: as sweep, under LA57.
 * Guest memory is a memfd opened as a raw image, page tables built here.
 * Figures are medians of RUNS runs; targets: >= 20 M/s cached, >= 2 M/s
 * uncached.
 */
#include "bench_common.h"
#include "target.h"
#include "tcache.h"

#define RUNS 9
#define SWEEP_PAGES 65536u
#define HOT_PAGES 1024u
#define VA4K 0x00007f0000000000ULL
#define VA2M 0xffff888000000000ULL
#define VA57 0xff00000000000000ULL
#define CACHED_TARGET 20e6
#define UNCACHED_TARGET 2e6

enum mode { CACHED, CACHED_SAME_PAGE, FLUSH_EACH, SWEEP, SWEEP_LA57 };

struct ctx {
	vmscope_t *vm;
	uint64_t cr3, cr3_57;
	uint64_t *hot; /* shuffled hot-set addresses */
};

static volatile uint64_t sink;

/* Translations per second for one run of n calls. */
static double run(struct ctx *c, enum mode m, unsigned n)
{
	uint64_t pa, size, acc = 0;
	double t0 = now_sec();

	for (unsigned i = 0; i < n; i++) {
		int err;

		switch (m) {
		case CACHED:
			err = vmscope_translate(c->vm, c->cr3, c->hot[i & (HOT_PAGES - 1)], 0, &pa,
						&size);
			break;
		case CACHED_SAME_PAGE:
			err = vmscope_translate(c->vm, c->cr3, VA2M + (i & 0xfffff) * 2, 0, &pa,
						&size);
			break;
		case FLUSH_EACH:
			vmscope_flush_tlb(c->vm);
			err = vmscope_translate(c->vm, c->cr3,
						VA4K + (uint64_t)(i % SWEEP_PAGES) * 4096, 0, &pa,
						&size);
			break;
		case SWEEP:
			err = vmscope_translate(c->vm, c->cr3,
						VA4K + (uint64_t)(i % SWEEP_PAGES) * 4096, 0, &pa,
						&size);
			break;
		case SWEEP_LA57:
		default:
			err = vmscope_translate(c->vm, c->cr3_57,
						VA57 + (uint64_t)(i % SWEEP_PAGES) * 4096,
						VMSCOPE_PAGING_LA57, &pa, &size);
			break;
		}
		if (err) {
			fprintf(stderr, "translate failed: %s\n", vmscope_last_error(c->vm));
			exit(1);
		}
		acc += pa;
	}
	sink = acc;
	return n / (now_sec() - t0);
}

static int report(struct ctx *c, const char *name, enum mode m, unsigned n, double target)
{
	double rates[RUNS], rate;
	struct tcache_stats a, b;
	int met;

	run(c, m, n / 4); /* warm up */
	tcache__stats(c->vm->tcache, &a);
	for (unsigned r = 0; r < RUNS; r++)
		rates[r] = run(c, m, n);
	tcache__stats(c->vm->tcache, &b);
	rate = median(rates, RUNS);
	met = rate >= target;
	printf("%-26s %8.2f M/s  (%5.1f ns each; cache hits %5.1f%%)\n", name, rate / 1e6,
	       1e9 / rate,
	       100.0 * (double)(b.hits - a.hits) / (double)(b.hits - a.hits + b.misses - a.misses));
	printf("  verdict: %s: %s (%.2f M/s, target >= %.0f M/s)\n", name, met ? "met" : "NOT MET",
	       rate / 1e6, target / 1e6);
	return met;
}

int main(void)
{
	struct bmem g;
	struct ctx c;
	uint64_t seed = 88172645463325252ULL;
	int all = 1;

	/* 64 MiB: the 4 KiB sweep's tables need 65536 PTEs (128 pages) per hierarchy. */
	bmem_init(&g, 64 * MIB, 16 * MIB);
	c.cr3 = bmem_page(&g);
	c.cr3_57 = bmem_page(&g);
	for (unsigned i = 0; i < SWEEP_PAGES; i++) {
		uint64_t pa = (uint64_t)(i % 4096) * 4096;

		bmem_map(&g, c.cr3, VA4K + (uint64_t)i * 4096, pa, 4 * KIB, 0);
		bmem_map(&g, c.cr3_57, VA57 + (uint64_t)i * 4096, pa, 4 * KIB, 1);
	}
	bmem_map(&g, c.cr3, VA2M, 2 * MIB, 2 * MIB, 0);
	c.hot = malloc(HOT_PAGES * sizeof(*c.hot));
	for (unsigned i = 0; i < HOT_PAGES; i++)
		c.hot[i] = VA4K + (uint64_t)i * 4096 + 0x10;
	for (unsigned i = HOT_PAGES - 1; i > 0; i--) {
		unsigned j;
		uint64_t t;

		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		j = (unsigned)(seed % (i + 1));
		t = c.hot[i], c.hot[i] = c.hot[j], c.hot[j] = t;
	}
	c.vm = bmem_open(&g);

	printf("bench_translate: median of %d runs\n", RUNS);
	all &= report(&c, "cached (1024 pages)", CACHED, 8u << 20, CACHED_TARGET);
	all &= report(&c, "cached (same 2M page)", CACHED_SAME_PAGE, 8u << 20, CACHED_TARGET);
	all &= report(&c, "uncached (flush each)", FLUSH_EACH, 1u << 20, UNCACHED_TARGET);
	all &= report(&c, "uncached (65536-page sweep)", SWEEP, 1u << 20, UNCACHED_TARGET);
	all &= report(&c, "uncached (5-level sweep)", SWEEP_LA57, 1u << 20, UNCACHED_TARGET);
	printf("bench_translate: %s\n", all ? "all targets met" : "some targets NOT MET");
	vmscope_close(c.vm);
	free(c.hot);
	return 0;
}
