/*
 * The translation cache (tcache.c): (cr3, virtual page, la57) -> (guest
 * page, page size), with the flush rules of vmscope_translate's contract.
 */
#ifndef LIBVMSCOPE_TCACHE_H
#define LIBVMSCOPE_TCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "pagewalk.h"
#include "target.h"

struct vmscope_tcache *tcache__new(void);
void tcache__free(struct vmscope_tcache *tc);

/* Cached translation of gva: true and *gpa, *page_size set on a hit. */
bool tcache__lookup(struct vmscope *vm, uint64_t cr3, uint64_t gva, bool la57, uint64_t *gpa,
		    uint64_t *page_size);
/* Remembers a walk's result, and the table pages it read. */
void tcache__insert(struct vmscope *vm, uint64_t cr3, uint64_t gva, bool la57,
		    const struct pagewalk_result *res);

/*
 * Forgets every translation.  The live side calls this on every resume and
 * every response to a synchronous event; vmscope_flush_tlb calls it too.
 */
void tcache__flush(struct vmscope *vm);

/*
 * The library is about to write guest-physical [gpa, gpa + len): flushes the
 * cache when that range holds a page-table page a cached translation used.
 */
void tcache__written(struct vmscope *vm, uint64_t gpa, uint64_t len);

/* Counters, for tests and benchmarks. */
struct tcache_stats {
	uint64_t hits, misses, flushes;
};
void tcache__stats(const struct vmscope *vm, struct tcache_stats *st);

#endif
