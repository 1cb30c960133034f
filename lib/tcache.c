/*
 * The translation cache: a direct-mapped table from (cr3, virtual page, la57)
 * to the guest-physical page.  An entry covers the whole page that maps it
 * (4 KiB, 2 MiB or 1 GiB) and is keyed by that page, so a lookup probes at
 * most three slots: 4 KiB, then 2 MiB, then 1 GiB; sequential reads through
 * a large page hit after the first walk.  A flush bumps a generation number,
 * so it costs O(1) however often the live side resumes the guest.  The last
 * translation found is kept aside and checked first (tcache.h), so
 * consecutive accesses to one page cost a few compares.
 *
 * Invalidation on library writes: every table page a cached walk read is
 * recorded in a small hash set (pt_set).  A write through the library that
 * touches one of those pages flushes everything.  When the set is full the
 * cache is flushed before another walk is remembered, so every cached entry's
 * table pages are always in the set.
 */
#include <stdlib.h>
#include <string.h>

#include "pagewalk.h"
#include "tcache.h"

#define PT_MAX (TC_PT_SLOTS / 2) /* load limit of the table-page set */
#define PAGE_SHIFT 12

/* Page sizes, smallest first; the index is the size code in the key. */
static const unsigned tc_shifts[3] = { 12, 21, 30 };

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 32);
}

static inline unsigned tc_index(uint64_t vpn, uint64_t key)
{
	/* Consecutive pages of one address space land in consecutive slots. */
	return (unsigned)(vpn + mix(key)) & (TC_ENTRIES - 1);
}

static inline uint64_t tc_key(uint64_t cr3, bool la57, unsigned size_code)
{
	return tcache__key(cr3, la57) | (uint64_t)size_code << 1;
}

struct vmscope_tcache *tcache__new(void)
{
	struct vmscope_tcache *tc = calloc(1, sizeof(*tc));

	if (tc)
		tc->gen = 1; /* zeroed entries (gen 0) are invalid */
	return tc;
}

void tcache__free(struct vmscope_tcache *tc)
{
	free(tc);
}

void tcache__flush(struct vmscope_tcache *tc)
{

	if (!tc)
		return;
	tc->stats.flushes++;
	tc->pt_count = 0;
	if (++tc->gen == 0) {
		/* Wrapped: old generations could match again; clear for real. */
		memset(tc->entries, 0, sizeof(tc->entries));
		memset(tc->pt, 0, sizeof(tc->pt));
		tc->gen = 1;
	}
}

static inline void remember_last(struct vmscope_tcache *tc, uint64_t cr3, bool la57,
				 unsigned shift, uint64_t vpn, uint64_t gpa)
{
	tc->last = (struct tcache_last){
		.key = tc_key(cr3, la57, 0), .vpn = vpn, .gpa = gpa, .gen = tc->gen, .shift = shift,
	};
}

bool tcache__lookup_table(struct vmscope_tcache *tc, uint64_t cr3, uint64_t gva, bool la57,
			  uint64_t *gpa, uint64_t *page_size)
{

	for (unsigned code = 0; code < 3; code++) {
		unsigned shift = tc_shifts[code];
		uint64_t vpn = gva >> shift, key = tc_key(cr3, la57, code);
		const struct tc_entry *e = &tc->entries[tc_index(vpn, key)];

		if (e->gen == tc->gen && e->vpn == vpn && e->key == key) {
			tc->stats.hits++;
			remember_last(tc, cr3, la57, shift, vpn, e->gpa);
			*gpa = e->gpa | (gva & ((1ULL << shift) - 1));
			*page_size = 1ULL << shift;
			return true;
		}
	}
	tc->stats.misses++;
	return false;
}

/* Index of frame in the set, or of the empty slot where it would go. */
static unsigned pt_find(const struct vmscope_tcache *tc, uint64_t frame)
{
	unsigned i = (unsigned)mix(frame) & (TC_PT_SLOTS - 1);

	while (tc->pt[i].gen == tc->gen && tc->pt[i].frame != frame)
		i = (i + 1) & (TC_PT_SLOTS - 1);
	return i;
}

static bool pt_contains(const struct vmscope_tcache *tc, uint64_t frame)
{
	unsigned i = pt_find(tc, frame);

	return tc->pt[i].gen == tc->gen;
}

void tcache__insert(struct vmscope_tcache *tc, uint64_t cr3, uint64_t gva, bool la57,
		    const struct pagewalk *res)
{
	unsigned shift = (unsigned)__builtin_ctzll(res->page_size);
	unsigned code = shift == 30 ? 2 : shift == 21 ? 1 : 0;
	uint64_t vpn = gva >> shift, key = tc_key(cr3, la57, code);
	struct tc_entry *e;
	unsigned missing = 0;

	for (unsigned i = 0; i < res->nr_tables; i++)
		missing += !pt_contains(tc, res->tables[i] >> PAGE_SHIFT);
	if (tc->pt_count + missing > PT_MAX)
		tcache__flush(tc);
	for (unsigned i = 0; i < res->nr_tables; i++) {
		uint64_t frame = res->tables[i] >> PAGE_SHIFT;
		unsigned slot = pt_find(tc, frame);

		if (tc->pt[slot].gen != tc->gen) {
			tc->pt[slot].frame = frame;
			tc->pt[slot].gen = tc->gen;
			tc->pt_count++;
		}
	}

	e = &tc->entries[tc_index(vpn, key)];
	e->vpn = vpn;
	e->key = key;
	e->gpa = res->gpa & ~((1ULL << shift) - 1);
	remember_last(tc, cr3, la57, shift, vpn, e->gpa);
	e->gen = tc->gen;
}

void tcache__written(struct vmscope_tcache *tc, uint64_t gpa, uint64_t len)
{
	uint64_t first, last;

	if (!tc || tc->pt_count == 0 || len == 0)
		return;
	first = gpa >> PAGE_SHIFT;
	last = (gpa + (len - 1)) >> PAGE_SHIFT;
	if (gpa + (len - 1) < gpa)
		last = UINT64_MAX >> PAGE_SHIFT;

	if (last - first < 64) {
		for (uint64_t f = first;; f++) {
			if (pt_contains(tc, f)) {
				tcache__flush(tc);
				return;
			}
			if (f == last)
				break;
		}
		return;
	}
	for (unsigned i = 0; i < TC_PT_SLOTS; i++) {
		if (tc->pt[i].gen == tc->gen && tc->pt[i].frame >= first &&
		    tc->pt[i].frame <= last) {
			tcache__flush(tc);
			return;
		}
	}
}

void tcache__stats(const struct vmscope_tcache *tc, struct tcache_stats *st)
{
	*st = tc->stats;
}
