/*
 * Guest memory access: physical and virtual reads and writes, zero-copy
 * mapping, strings and typed reads.  Every guest-physical address passes
 * mem__lookup before it touches host memory.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "pagewalk.h"
#include "target.h"
#include "tcache.h"

#define PAGE_SIZE_4K 4096ULL

uint8_t *mem__lookup(const struct vmscope *vm, uint64_t gpa, uint64_t *avail)
{
	const struct vmscope_region *r = vm->regions;
	unsigned lo = 0, hi = vm->nr_regions;

	/* Last region whose start is <= gpa. */
	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;

		if (r[mid].gpa <= gpa)
			lo = mid;
		else
			hi = mid;
	}
	if (lo >= vm->nr_regions || gpa < r[lo].gpa || gpa - r[lo].gpa >= r[lo].size)
		return NULL;
	*avail = r[lo].size - (gpa - r[lo].gpa);
	return r[lo].host + (gpa - r[lo].gpa);
}

static int region_cmp(const void *a, const void *b)
{
	const struct vmscope_region *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

unsigned mem__trim_overlaps(struct vmscope_region *regions, unsigned n)
{
	unsigned kept = 0;
	uint64_t end = 0; /* end of the last kept region; 0 before the first */

	qsort(regions, n, sizeof(*regions), region_cmp);
	for (unsigned i = 0; i < n; i++) {
		struct vmscope_region r = regions[i];

		if (r.size == 0)
			continue;
		if (r.gpa + r.size - 1 < r.gpa) {
			regions[kept++] = r; /* wraps: left for mem__set_regions to refuse */
			continue;
		}
		if (kept && r.gpa < end) {
			uint64_t cut = end - r.gpa;

			if (cut >= r.size)
				continue; /* wholly inside the previous one */
			r.gpa += cut;
			r.host += cut;
			r.size -= cut;
		}
		regions[kept++] = r;
		end = r.gpa + r.size; /* 0 when it reaches the top: nothing can follow */
		if (end == 0)
			break;
	}
	return kept;
}

int mem__set_regions(struct vmscope *vm, struct vmscope_region *regions, unsigned n)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < n; i++) {
		if (regions[i].size == 0)
			continue;
		if (regions[i].gpa + regions[i].size - 1 < regions[i].gpa)
			return target__fail(vm, -EINVAL,
					    "memory region at 0x%llx size 0x%llx wraps around",
					    (unsigned long long)regions[i].gpa,
					    (unsigned long long)regions[i].size);
		regions[kept++] = regions[i];
	}
	qsort(regions, kept, sizeof(*regions), region_cmp);
	for (unsigned i = 1; i < kept; i++) {
		const struct vmscope_region *prev = &regions[i - 1];

		if (regions[i].gpa - prev->gpa < prev->size)
			return target__fail(vm, -EINVAL,
					    "memory regions at 0x%llx and 0x%llx overlap",
					    (unsigned long long)prev->gpa,
					    (unsigned long long)regions[i].gpa);
	}
	free(vm->regions);
	vm->regions = regions;
	vm->nr_regions = kept;
	return 0;
}

/* ---- Physical memory ------------------------------------------------------ */

int mem__scan(const struct vmscope *vm, uint64_t lo, uint64_t hi, const void *needle,
	      size_t nlen, int (*fn)(void *opaque, uint64_t gpa), void *opaque)
{
	const uint8_t first = *(const uint8_t *)needle;

	for (unsigned i = 0; i < vm->nr_regions; i++) {
		const struct vmscope_region *rg = &vm->regions[i];
		uint64_t from = lo > rg->gpa ? lo - rg->gpa : 0;
		uint64_t to = hi - rg->gpa < rg->size ? hi - rg->gpa : rg->size;
		const uint8_t *p, *end;

		if (hi <= rg->gpa || lo >= rg->gpa + rg->size || to - from < nlen)
			continue;
		p = rg->host + from;
		end = rg->host + to - nlen + 1; /* the last place a whole needle starts */
		while (p < end) {
			const uint8_t *m = memchr(p, first, (size_t)(end - p));
			int r;

			if (!m)
				break;
			p = m + 1;
			if (memcmp(m, needle, nlen))
				continue;
			r = fn(opaque, rg->gpa + (uint64_t)(m - rg->host));
			if (r)
				return r < 0 ? r : 1;
		}
	}
	return 0;
}

int mem__scan_first(const struct vmscope *vm, uint64_t first_lo, uint64_t first_hi,
		    const void *needle, size_t nlen, int (*fn)(void *opaque, uint64_t pa),
		    void *opaque)
{
	int r;

	if (!first_hi)
		return mem__scan(vm, 0, UINT64_MAX, needle, nlen, fn, opaque);
	if ((r = mem__scan(vm, first_lo, first_hi, needle, nlen, fn, opaque)) ||
	    (r = mem__scan(vm, 0, first_lo, needle, nlen, fn, opaque)))
		return r;
	return mem__scan(vm, first_hi, UINT64_MAX, needle, nlen, fn, opaque);
}

/*
 * The physical-address loop shared by read_pa and write_pa: region by
 * region, stopping at the first byte that is not RAM or at a wrap.
 */
static int64_t copy_pa(vmscope_t *vm, uint64_t gpa, uint8_t *buf, size_t len, bool write)
{
	const char *what = write ? "write_pa" : "read_pa";
	size_t done = 0;

	if (len > INT64_MAX)
		return target__fail(vm, -EINVAL, "%s: length %zu too large", what, len);
	while (done < len) {
		uint64_t avail, addr = gpa + done;
		uint8_t *p;
		size_t n;

		if (addr < gpa) /* wrapped past the top of the address space */
			break;
		p = mem__lookup(vm, addr, &avail);
		if (!p)
			break;
		n = avail < len - done ? avail : len - done;
		if (write) {
			tcache__written(vm->tcache, addr, n);
			memcpy(p, buf + done, n);
		} else {
			memcpy(buf + done, p, n);
		}
		done += n;
	}
	if (done == 0 && len)
		return target__fail(vm, -EFAULT, "%s: 0x%llx is not RAM", what,
				    (unsigned long long)gpa);
	return (int64_t)done;
}

int64_t vmscope_read_pa(vmscope_t *vm, uint64_t gpa, void *buf, size_t len)
{
	if (!vm || (!buf && len))
		return -EINVAL;
	return copy_pa(vm, gpa, buf, len, false);
}

int64_t vmscope_write_pa(vmscope_t *vm, uint64_t gpa, const void *buf, size_t len)
{
	if (!vm || (!buf && len))
		return -EINVAL;
	if (!vm->writable)
		return target__fail(vm, -EROFS, "write_pa: target is read-only");
	/* copy_pa only reads buf when writing. */
	return copy_pa(vm, gpa, (uint8_t *)buf, len, true);
}

void *vmscope_map_pa(vmscope_t *vm, uint64_t gpa, size_t len)
{
	uint64_t avail;
	uint8_t *p;

	if (!vm)
		return NULL;
	p = mem__lookup(vm, gpa, &avail);
	if (!p || len > avail) {
		target__fail(vm, -EFAULT, "map_pa: [0x%llx, +0x%zx) is not one run of RAM",
			     (unsigned long long)gpa, len);
		return NULL;
	}
	return p;
}

/* ---- Virtual memory ------------------------------------------------------- */

/* The walker's read function (pagewalk_read_fn) over the target's regions. */
static bool read_entry(void *vm, uint64_t gpa, uint64_t *entry)
{
	uint64_t avail;
	const uint8_t *p = mem__lookup(vm, gpa, &avail);

	if (!p || avail < sizeof(*entry))
		return false;
	/* One 8-byte load on x86-64: a racing guest write is seen whole or not at all. */
	memcpy(entry, p, sizeof(*entry));
	return true;
}

/* An uncached walk (common/pagewalk.c); -EFAULT with the reason recorded in vm. */
static int walk(struct vmscope *vm, uint64_t cr3, uint64_t gva, bool la57, struct pagewalk *w)
{
	enum pagewalk_status st = pagewalk__walk(cr3, gva, la57, read_entry, vm, w);

	if (st == PAGEWALK_OK)
		return 0;
	if (st == PAGEWALK_NON_CANONICAL)
		return target__fail(vm, -EFAULT, "va 0x%llx is not canonical (%u-bit)",
				    (unsigned long long)gva, la57 ? 57 : 48);
	if (st == PAGEWALK_NOT_PRESENT)
		return target__fail(vm, -EFAULT, "va 0x%llx: %s not present",
				    (unsigned long long)gva, pagewalk__level_name(w->level));
	return target__fail(vm, -EFAULT, "va 0x%llx: %s table at 0x%llx is outside RAM",
			    (unsigned long long)gva, pagewalk__level_name(w->level),
			    (unsigned long long)w->tables[w->nr_tables - 1]);
}

/* Translation for the library's own accesses: the cache, else a walk. */
static inline int translate(struct vmscope *vm, uint64_t cr3, uint64_t gva, bool la57,
			    uint64_t *gpa, uint64_t *page_size)
{
	struct pagewalk w;
	int err;

	if (tcache__lookup(vm->tcache, cr3, gva, la57, gpa, page_size))
		return 0;
	err = walk(vm, cr3, gva, la57, &w);
	if (err)
		return err;
	tcache__insert(vm->tcache, cr3, gva, la57, &w);
	*gpa = w.gpa;
	*page_size = w.page_size;
	return 0;
}

int vmscope_translate(vmscope_t *vm, uint64_t cr3, uint64_t gva, unsigned flags, uint64_t *gpa,
		      uint64_t *page_size)
{
	uint64_t size;
	int err;

	if (!vm || !gpa)
		return -EINVAL;
	if (flags & ~VMSCOPE_PAGING_LA57)
		return target__fail(vm, -EINVAL, "translate: unknown flags 0x%x", flags);
	err = translate(vm, cr3, gva, flags & VMSCOPE_PAGING_LA57, gpa, &size);
	if (!err && page_size)
		*page_size = size;
	return err;
}

int vmscope_set_va_flags(vmscope_t *vm, unsigned flags)
{
	if (!vm)
		return -EINVAL;
	if (flags & ~VMSCOPE_PAGING_LA57)
		return target__fail(vm, -EINVAL, "set_va_flags: unknown flags 0x%x", flags);
	vm->va_flags = flags;
	return 0;
}

unsigned vmscope_va_flags(const vmscope_t *vm)
{
	return vm ? vm->va_flags : 0;
}

void vmscope_flush_tlb(vmscope_t *vm)
{
	if (vm)
		tcache__flush(vm->tcache);
}

/*
 * Translates gva and returns how many bytes from there (at most want) are
 * contiguous both virtually and in one region of RAM, with their guest-physical
 * and host addresses; 0 when gva is unmapped or not backed by RAM.
 */
static size_t va_span(vmscope_t *vm, uint64_t cr3, uint64_t gva, size_t want, uint64_t *gpa,
		      uint8_t **host)
{
	uint64_t page_size, avail, n;

	if (translate(vm, cr3, gva, vm->va_flags & VMSCOPE_PAGING_LA57, gpa, &page_size))
		return 0;
	*host = mem__lookup(vm, *gpa, &avail);
	if (!*host) {
		target__fail(vm, -EFAULT, "va 0x%llx maps to 0x%llx, which is not RAM",
			     (unsigned long long)gva, (unsigned long long)*gpa);
		return 0;
	}
	n = page_size - (gva & (page_size - 1));
	if (n > avail)
		n = avail;
	return n < want ? n : want;
}

/* The address-space walk shared by read_va and write_va. */
static int64_t copy_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, uint8_t *buf, size_t len,
		       bool write)
{
	size_t done = 0;

	if (len > INT64_MAX)
		return target__fail(vm, -EINVAL, "va access: length %zu too large", len);
	while (done < len) {
		uint64_t gpa, addr = gva + done;
		uint8_t *host;
		size_t n;

		if (addr < gva)
			break;
		n = va_span(vm, cr3, addr, len - done, &gpa, &host);
		if (n == 0)
			break;
		if (write) {
			tcache__written(vm->tcache, gpa, n);
			memcpy(host, buf + done, n);
		} else {
			memcpy(buf + done, host, n);
		}
		done += n;
	}
	if (done == 0 && len)
		return -EFAULT; /* the reason was recorded by the translation */
	return (int64_t)done;
}

int64_t vmscope_read_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, void *buf, size_t len)
{
	if (!vm || (!buf && len))
		return -EINVAL;
	return copy_va(vm, cr3, gva, buf, len, false);
}

int64_t vmscope_write_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, const void *buf, size_t len)
{
	if (!vm || (!buf && len))
		return -EINVAL;
	if (!vm->writable)
		return target__fail(vm, -EROFS, "write_va: target is read-only");
	return copy_va(vm, cr3, gva, (uint8_t *)buf, len, true);
}

int64_t vmscope_read_str_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, char *buf, size_t max)
{
	size_t done = 0, limit;

	if (!vm || !buf || max == 0)
		return -EINVAL;
	if (max - 1 > INT64_MAX)
		return target__fail(vm, -EINVAL, "read_str_va: max %zu too large", max);
	limit = max - 1;
	while (done < limit) {
		uint64_t gpa, addr = gva + done;
		const uint8_t *nul;
		uint8_t *host;
		size_t n;

		if (addr < gva)
			break;
		n = va_span(vm, cr3, addr, limit - done, &gpa, &host);
		if (n == 0)
			break;
		nul = memchr(host, '\0', n);
		if (nul)
			n = (size_t)(nul - host);
		memcpy(buf + done, host, n);
		done += n;
		if (nul) {
			buf[done] = '\0';
			return (int64_t)done;
		}
	}
	buf[done] = '\0';
	if (done < limit)
		return -EFAULT; /* unmapped before the terminator; reason recorded */
	return (int64_t)done; /* truncated at max - 1 */
}

int vmscope_read_u32_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, uint32_t *out)
{
	int64_t n = vmscope_read_va(vm, cr3, gva, out, sizeof(*out));

	if (n < 0)
		return (int)n;
	return n == sizeof(*out) ? 0 : -EFAULT;
}

int vmscope_read_u64_va(vmscope_t *vm, uint64_t cr3, uint64_t gva, uint64_t *out)
{
	int64_t n = vmscope_read_va(vm, cr3, gva, out, sizeof(*out));

	if (n < 0)
		return (int)n;
	return n == sizeof(*out) ? 0 : -EFAULT;
}
