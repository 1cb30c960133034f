/*
 * The translation cache (tcache.c): (cr3, virtual page, la57) -> (guest
 * page, page size), with the flush rules of vmscope_translate's contract.
 */
#ifndef LIBVMSCOPE_TCACHE_H
#define LIBVMSCOPE_TCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "pagewalk.h"

#define TC_ENTRIES 4096u  /* translations, direct-mapped */
#define TC_PT_SLOTS 1024u /* open-addressed set of page-table pages */

/* Counters, for tests and benchmarks. */
struct tcache_stats {
	uint64_t hits, misses, flushes;
};

struct tc_entry {
	uint64_t vpn;    /* gva >> page shift, all bits: non-canonical never matches */
	uint64_t key;    /* cr3 table address | size code << 1 | la57 */
	uint64_t gpa;    /* guest-physical base of the page */
	uint32_t gen;    /* valid when equal to tc->gen */
};

/* The last translation found: consecutive accesses to one page hit here. */
struct tcache_last {
	uint64_t key;    /* tcache__key(cr3, la57) */
	uint64_t vpn;    /* gva >> shift */
	uint64_t gpa;    /* guest-physical base of the page */
	uint32_t gen;
	uint32_t shift;  /* 12, 21 or 30 */
};

struct tc_pt_slot {
	uint64_t frame;  /* gpa >> 12 of a page-table page */
	uint32_t gen;
};

struct vmscope_tcache {
	uint32_t gen;    /* entries of other generations are invalid */
	unsigned pt_count;
	struct tcache_last last;
	struct tcache_stats stats;
	struct tc_entry entries[TC_ENTRIES];
	struct tc_pt_slot pt[TC_PT_SLOTS];
};

struct vmscope_tcache *tcache__new(void);
void tcache__free(struct vmscope_tcache *tc);

static inline uint64_t tcache__key(uint64_t cr3, bool la57)
{
	return (cr3 & PAGEWALK_ADDR_MASK) | (la57 ? 1 : 0);
}

/* The table part of tcache__lookup. */
bool tcache__lookup_table(struct vmscope_tcache *tc, uint64_t cr3, uint64_t gva, bool la57,
			  uint64_t *gpa, uint64_t *page_size);

/* Cached translation of gva: true and *gpa, *page_size set on a hit. */
static inline bool tcache__lookup(struct vmscope_tcache *tc, uint64_t cr3, uint64_t gva, bool la57,
				  uint64_t *gpa, uint64_t *page_size)
{
	const struct tcache_last *l = &tc->last;

	if (l->gen == tc->gen && l->key == tcache__key(cr3, la57) && (gva >> l->shift) == l->vpn) {
		tc->stats.hits++;
		*gpa = l->gpa | (gva & ((1ULL << l->shift) - 1));
		*page_size = 1ULL << l->shift;
		return true;
	}
	return tcache__lookup_table(tc, cr3, gva, la57, gpa, page_size);
}

/* Remembers a walk's result, and the table pages it read. */
void tcache__insert(struct vmscope_tcache *tc, uint64_t cr3, uint64_t gva, bool la57,
		    const struct pagewalk *res);

/*
 * Forgets every translation.  The live side calls this on every resume and
 * every response to a synchronous event; vmscope_flush_tlb calls it too.
 */
void tcache__flush(struct vmscope_tcache *tc);

/*
 * The library is about to write guest-physical [gpa, gpa + len): flushes the
 * cache when that range holds a page-table page a cached translation used.
 */
void tcache__written(struct vmscope_tcache *tc, uint64_t gpa, uint64_t len);

void tcache__stats(const struct vmscope_tcache *tc, struct tcache_stats *st);

#endif
