/*
 * bench_read: libvmscope read throughput against a plain memcpy of the same
 * bytes, in the same run.  64 MiB of guest memory (a memfd, opened as a raw
 * image), read by physical address in 1 MiB and 4 KiB chunks, and by virtual
 * address in the same chunks through two mappings of it: one of 2 MiB pages,
 * one of 4 KiB pages (16384 of them, four times what the translation cache
 * holds, so every page is walked in every pass).  Each case alternates with
 * its memcpy baseline (same source pages, same destination, same chunk size);
 * figures are medians of RUNS runs.  Target: >= 0.8 of memcpy, except through
 * 4 KiB pages, where the figure shows what uncached walks cost.
 */
#include "bench_common.h"

#define TOTAL (64 * MIB)
#define RUNS 11
#define TARGET_RATIO 0.8
#define KVA_2M 0xffff888000000000ULL /* a direct map, as Linux has one */
#define KVA_4K 0xffffc90000000000ULL /* the same bytes in 4 KiB pages, as vmalloc maps them */

enum how { MEMCPY, READ_PA, READ_VA };

struct ctx {
	vmscope_t *vm;
	uint64_t cr3, kva; /* the mapping READ_VA reads through */
	const uint8_t *src; /* the library's own mapping of guest-physical 0 */
	uint8_t *dst;
};

/* One pass over TOTAL bytes in chunks of chunk; returns seconds. */
static double pass(struct ctx *c, enum how how, size_t chunk)
{
	double t0 = now_sec();

	for (uint64_t off = 0; off < TOTAL; off += chunk) {
		int64_t n = (int64_t)chunk;

		switch (how) {
		case MEMCPY:
			memcpy(c->dst + off, c->src + off, chunk);
			break;
		case READ_PA:
			n = vmscope_read_pa(c->vm, off, c->dst + off, chunk);
			break;
		case READ_VA:
			n = vmscope_read_va(c->vm, c->cr3, c->kva + off, c->dst + off, chunk);
			break;
		}
		if (n != (int64_t)chunk) {
			fprintf(stderr, "short read at 0x%llx: %lld (%s)\n", (unsigned long long)off,
				(long long)n, vmscope_last_error(c->vm));
			exit(1);
		}
	}
	return now_sec() - t0;
}

/* Prints the medians; returns 0 when a target (> 0) is not met. */
static int run_case(struct ctx *c, const char *name, enum how how, size_t chunk, double target)
{
	double lib[RUNS], base[RUNS], ratio[RUNS], mlib, mbase, mratio;
	int met;

	pass(c, how, chunk); /* warm up */
	pass(c, MEMCPY, chunk);
	for (unsigned r = 0; r < RUNS; r++) {
		base[r] = pass(c, MEMCPY, chunk);
		lib[r] = pass(c, how, chunk);
		ratio[r] = base[r] / lib[r];
	}
	mlib = (double)TOTAL / MIB / median(lib, RUNS);
	mbase = (double)TOTAL / MIB / median(base, RUNS);
	mratio = median(ratio, RUNS);
	printf("%-28s %8.0f MB/s   memcpy %8.0f MB/s   ratio %.2f\n", name, mlib, mbase, mratio);
	if (target <= 0)
		return 1;
	met = mratio >= target;
	printf("  verdict: %s: %s (%.2f of memcpy, target >= %.2f)\n", name,
	       met ? "met" : "NOT MET", mratio, target);
	return met;
}

int main(void)
{
	struct bmem g;
	struct ctx c;
	int all = 1;

	/* Guest RAM: 64 MiB of data, then page tables. */
	bmem_init(&g, TOTAL + 4 * MIB, TOTAL);
	for (uint64_t i = 0; i < TOTAL; i += 8) {
		uint64_t v = i * 0x9e3779b97f4a7c15ULL;

		memcpy(g.mem + i, &v, 8);
	}
	c.cr3 = bmem_page(&g);
	for (uint64_t off = 0; off < TOTAL; off += 2 * MIB)
		bmem_map(&g, c.cr3, KVA_2M + off, off, 2 * MIB, 0);
	for (uint64_t off = 0; off < TOTAL; off += 4 * KIB)
		bmem_map(&g, c.cr3, KVA_4K + off, off, 4 * KIB, 0);
	c.vm = bmem_open(&g);
	c.src = vmscope_map_pa(c.vm, 0, TOTAL);
	c.dst = malloc(TOTAL);
	if (!c.src || !c.dst) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	memset(c.dst, 0, TOTAL);

	printf("bench_read: %llu MiB per pass, median of %d runs (MB = MiB)\n",
	       (unsigned long long)(TOTAL / MIB), RUNS);
	all &= run_case(&c, "read_pa 1 MiB chunks", READ_PA, MIB, TARGET_RATIO);
	all &= run_case(&c, "read_pa 4 KiB chunks", READ_PA, 4 * KIB, TARGET_RATIO);
	c.kva = KVA_2M;
	all &= run_case(&c, "read_va 1 MiB chunks (2M pg)", READ_VA, MIB, TARGET_RATIO);
	all &= run_case(&c, "read_va 4 KiB chunks (2M pg)", READ_VA, 4 * KIB, TARGET_RATIO);
	c.kva = KVA_4K;
	all &= run_case(&c, "read_va 1 MiB chunks (4K pg)", READ_VA, MIB, 0);
	all &= run_case(&c, "read_va 4 KiB chunks (4K pg)", READ_VA, 4 * KIB, 0);
	if (memcmp(c.dst, c.src, TOTAL) != 0) {
		fprintf(stderr, "data mismatch\n");
		return 1;
	}
	printf("bench_read: %s\n", all ? "all targets met" : "some targets NOT MET");
	vmscope_close(c.vm);
	free(c.dst);
	return 0;
}
