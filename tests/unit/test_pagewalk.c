/*
 * Unit tests for page walks (common/pagewalk.c, directly and through
 * vmscope_translate) and the translation cache (tcache.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "lib_helpers.h"
#include "pagewalk.h"
#include "tcache.h"

#define RAM (16 * MIB)
#define PT_BASE (8 * MIB) /* page tables are allocated from here */

struct fixture {
	struct gmem g;
	uint64_t cr3;
	vmscope_t *vm;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	gmem_init(&f->g, RAM, PT_BASE);
	f->cr3 = gmem_page(&f->g);
	f->vm = gmem_open(&f->g);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmscope_close(f->vm);
	gmem_fini(&f->g);
	free(f);
	return 0;
}

static int translate(struct fixture *f, uint64_t cr3, uint64_t va, unsigned flags, uint64_t *pa,
		     uint64_t *size)
{
	return vmscope_translate(f->vm, cr3, va, flags, pa, size);
}

static void test_4k_page(void **state)
{
	struct fixture *f = *state;
	uint64_t pa, size;

	gmem_map(&f->g, f->cr3, 0x400000, 0x123000, 4 * KIB, false);
	assert_int_equal(translate(f, f->cr3, 0x400abc, 0, &pa, &size), 0);
	assert_int_equal(pa, 0x123abc);
	assert_int_equal(size, 4 * KIB);
	/* The neighbour page is not mapped. */
	assert_int_equal(translate(f, f->cr3, 0x401000, 0, &pa, &size), -EFAULT);
	assert_non_null(strstr(vmscope_last_error(f->vm), "PTE not present"));
	/* page_size may be NULL. */
	assert_int_equal(translate(f, f->cr3, 0x400001, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x123001);
}

static void test_2m_page(void **state)
{
	struct fixture *f = *state;
	uint64_t pa, size, slot;

	gmem_map(&f->g, f->cr3, 0xffffffff80000000ULL, 0x200000, 2 * MIB, false);
	assert_int_equal(translate(f, f->cr3, 0xffffffff801fffffULL, 0, &pa, &size), 0);
	assert_int_equal(pa, 0x3fffff);
	assert_int_equal(size, 2 * MIB);

	/* PAT (bit 12) in a large-page entry is not an address bit. */
	slot = gmem_slot(&f->g, f->cr3, 0xffffffff80200000ULL, false, 2);
	gmem_set64(&f->g, slot, 0x400000 | PTE_P | PTE_PS | (1ULL << 12));
	assert_int_equal(translate(f, f->cr3, 0xffffffff80200010ULL, 0, &pa, &size), 0);
	assert_int_equal(pa, 0x400010);
}

static void test_1g_page(void **state)
{
	struct fixture *f = *state;
	uint64_t pa, size;

	/* A 1 GiB page at guest-physical 1 GiB: translation does not need RAM there. */
	gmem_map(&f->g, f->cr3, 0x7f0040000000ULL, GIB, GIB, false);
	assert_int_equal(translate(f, f->cr3, 0x7f0040000000ULL + 0x12345678, 0, &pa, &size), 0);
	assert_int_equal(pa, GIB + 0x12345678);
	assert_int_equal(size, GIB);
}

static void test_5_level(void **state)
{
	struct fixture *f = *state;
	uint64_t pa, size, cr3_57 = gmem_page(&f->g);
	uint64_t va = 0xff11223344556000ULL; /* canonical only with 57 bits */

	gmem_map(&f->g, cr3_57, va, 0x5000, 4 * KIB, true);
	gmem_map(&f->g, cr3_57, 0x00ff000000200000ULL, 0x600000, 2 * MIB, true);
	gmem_map(&f->g, cr3_57, 0x0100000000000000ULL - GIB, 0, GIB, true);

	assert_int_equal(translate(f, cr3_57, va + 7, VMSCOPE_PAGING_LA57, &pa, &size), 0);
	assert_int_equal(pa, 0x5007);
	assert_int_equal(size, 4 * KIB);
	assert_int_equal(translate(f, cr3_57, 0x00ff000000212345ULL, VMSCOPE_PAGING_LA57, &pa,
				   &size), 0);
	assert_int_equal(pa, 0x612345);
	assert_int_equal(size, 2 * MIB);
	assert_int_equal(translate(f, cr3_57, 0x0100000000000000ULL - 1, VMSCOPE_PAGING_LA57, &pa,
				   &size), 0);
	assert_int_equal(pa, GIB - 1);
	assert_int_equal(size, GIB);

	/* The same address under 4-level paging is not canonical. */
	assert_int_equal(translate(f, cr3_57, va, 0, &pa, &size), -EFAULT);
	assert_non_null(strstr(vmscope_last_error(f->vm), "not canonical"));
	/* And non-canonical under 5-level paging too. */
	assert_int_equal(translate(f, cr3_57, 0x0100000000000000ULL, VMSCOPE_PAGING_LA57, &pa,
				   &size), -EFAULT);
	/* Unknown flags are refused. */
	assert_int_equal(translate(f, cr3_57, va, 2, &pa, &size), -EINVAL);

	/* The *_va accesses follow vmscope_set_va_flags. */
	{
		uint32_t v = 0;

		memcpy(f->g.mem + 0x5008, "\x78\x56\x34\x12", 4);
		assert_int_equal(vmscope_read_u32_va(f->vm, cr3_57, va + 8, &v), -EFAULT);
		assert_int_equal(vmscope_set_va_flags(f->vm, VMSCOPE_PAGING_LA57), 0);
		assert_int_equal(vmscope_read_u32_va(f->vm, cr3_57, va + 8, &v), 0);
		assert_int_equal(v, 0x12345678);
	}
}

static void test_la57_is_part_of_the_key(void **state)
{
	struct fixture *f = *state;
	uint64_t pa;

	/* One cr3, read as a PML4 or as a PML5, gives different answers for one va. */
	gmem_map(&f->g, f->cr3, 0x1000, 0xa000, 4 * KIB, false);
	assert_int_equal(translate(f, f->cr3, 0x1000, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0xa000);
	/* As a PML5, entry 0 points to the PDPT, which it takes for a PML4 ... -> not present. */
	assert_int_equal(translate(f, f->cr3, 0x1000, VMSCOPE_PAGING_LA57, &pa, NULL), -EFAULT);
	assert_int_equal(translate(f, f->cr3, 0x1000, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0xa000);
}

static void test_not_present_each_level(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "", "PTE", "PDE", "PDPTE", "PML4E" };
	uint64_t va = 0x0000123456789000ULL, pa;

	gmem_map(&f->g, f->cr3, va, 0x7000, 4 * KIB, false);
	assert_int_equal(translate(f, f->cr3, va, 0, &pa, NULL), 0);
	for (unsigned level = 1; level <= 4; level++) {
		uint64_t slot = gmem_slot(&f->g, f->cr3, va, false, level);
		uint64_t saved = gmem_get64(&f->g, slot);

		gmem_set64(&f->g, slot, saved & ~PTE_P);
		vmscope_flush_tlb(f->vm);
		assert_int_equal(translate(f, f->cr3, va, 0, &pa, NULL), -EFAULT);
		assert_non_null(strstr(vmscope_last_error(f->vm), names[level]));
		gmem_set64(&f->g, slot, saved);
	}
	vmscope_flush_tlb(f->vm);
	assert_int_equal(translate(f, f->cr3, va, 0, &pa, NULL), 0);
}

static void test_non_canonical(void **state)
{
	struct fixture *f = *state;
	uint64_t pa;

	assert_int_equal(translate(f, f->cr3, 0x0000800000000000ULL, 0, &pa, NULL), -EFAULT);
	assert_int_equal(translate(f, f->cr3, 0xffff7fffffffffffULL, 0, &pa, NULL), -EFAULT);
	assert_int_equal(translate(f, f->cr3, 0x8000000000000000ULL, 0, &pa, NULL), -EFAULT);
	assert_non_null(strstr(vmscope_last_error(f->vm), "not canonical"));
}

static void test_table_outside_ram(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0x40000000, pa, slot;

	gmem_map(&f->g, f->cr3, va, 0x1000, 4 * KIB, false);
	/* PDE pointing past the end of RAM. */
	slot = gmem_slot(&f->g, f->cr3, va, false, 2);
	gmem_set64(&f->g, slot, (RAM + 0x1000) | PTE_P | PTE_RW);
	assert_int_equal(translate(f, f->cr3, va, 0, &pa, NULL), -EFAULT);
	assert_non_null(strstr(vmscope_last_error(f->vm), "outside RAM"));
	/* Top of the physical address space. */
	gmem_set64(&f->g, slot, ADDR_MASK | PTE_P);
	assert_int_equal(translate(f, f->cr3, va, 0, &pa, NULL), -EFAULT);
	/* cr3 itself outside RAM. */
	assert_int_equal(translate(f, 0xfffff000, va, 0, &pa, NULL), -EFAULT);
	assert_int_equal(translate(f, 0x000ffffffffff000ULL, va, VMSCOPE_PAGING_LA57, &pa, NULL),
			 -EFAULT);
}

static void test_self_referencing(void **state)
{
	struct fixture *f = *state;
	uint64_t pa, size;

	/* Recursive slot 511: the classic self map. */
	gmem_set64(&f->g, f->cr3 + 511 * 8, f->cr3 | PTE_P | PTE_RW);
	/* va with every index 511 names the PML4 page itself. */
	assert_int_equal(translate(f, f->cr3, 0xfffffffffffff008ULL, 0, &pa, &size), 0);
	assert_int_equal(pa, f->cr3 + 8);
	assert_int_equal(size, 4 * KIB);

	/* Slot 0 pointing to itself at every level: the walk ends after four reads. */
	gmem_set64(&f->g, f->cr3, f->cr3 | PTE_P);
	assert_int_equal(translate(f, f->cr3, 0x10, 0, &pa, &size), 0);
	assert_int_equal(pa, f->cr3 + 0x10);
	assert_int_equal(translate(f, f->cr3, 0x10, VMSCOPE_PAGING_LA57, &pa, &size), 0);
	assert_int_equal(pa, f->cr3 + 0x10);

	/* A self-referencing entry with PS set at the PDPT level is a 1 GiB page. */
	gmem_set64(&f->g, f->cr3, f->cr3 | PTE_P | PTE_PS);
	vmscope_flush_tlb(f->vm);
	assert_int_equal(translate(f, f->cr3, 0x10, 0, &pa, &size), 0);
	assert_int_equal(size, GIB);
	assert_int_equal(pa, 0x10); /* f->cr3 rounded down to 1 GiB */
}

static void test_ignored_bits(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0x7fffdead0000ULL, pa;
	uint64_t high = PTE_NX | (0x7ffULL << 52); /* NX, protection keys, software bits */

	gmem_map(&f->g, f->cr3, va, 0x9000, 4 * KIB, false);
	for (unsigned level = 1; level <= 4; level++) {
		uint64_t slot = gmem_slot(&f->g, f->cr3, va, false, level);

		gmem_set64(&f->g, slot, gmem_get64(&f->g, slot) | high);
	}
	/* PS in a PML4E is reserved: ignored, the entry is still a table pointer. */
	{
		uint64_t slot = gmem_slot(&f->g, f->cr3, va, false, 4);

		gmem_set64(&f->g, slot, gmem_get64(&f->g, slot) | PTE_PS);
	}
	/* CR3 with PCID bits and the no-flush bit. */
	assert_int_equal(translate(f, f->cr3 | 0x5a5 | (1ULL << 63), va + 0x10, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x9010);
}

#define PTE_US (1ULL << 2)

/* The walker's read callback over a test's guest memory, refusing what lies outside it. */
static bool gmem_read_entry(void *g, uint64_t gpa, uint64_t *entry)
{
	struct gmem *m = g;

	if (gpa >= m->size || m->size - gpa < 8)
		return false;
	*entry = gmem_get64(m, gpa);
	return true;
}

/* The walker alone: its status, the level it stopped at, and the U/S bit of the whole path. */
static void test_walker(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0x7f1234567000ULL, slot;
	struct pagewalk w;

	gmem_map(&f->g, f->cr3, va, 0x8000, 4 * KIB, false);
	assert_int_equal(pagewalk__walk(f->cr3, va + 3, false, gmem_read_entry, &f->g, &w),
			 PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x8003);
	assert_int_equal(w.page_size, 4 * KIB);
	assert_int_equal(w.level, 1);
	assert_int_equal(w.nr_tables, 4);
	assert_false(w.user);

	for (unsigned level = 1; level <= 4; level++) {
		slot = gmem_slot(&f->g, f->cr3, va, false, level);
		gmem_set64(&f->g, slot, gmem_get64(&f->g, slot) | PTE_US);
	}
	assert_int_equal(pagewalk__walk(f->cr3, va, false, gmem_read_entry, &f->g, &w), PAGEWALK_OK);
	assert_true(w.user);
	/* Supervisor-only at one level makes the page supervisor-only. */
	slot = gmem_slot(&f->g, f->cr3, va, false, 3);
	gmem_set64(&f->g, slot, gmem_get64(&f->g, slot) & ~PTE_US);
	assert_int_equal(pagewalk__walk(f->cr3, va, false, gmem_read_entry, &f->g, &w), PAGEWALK_OK);
	assert_false(w.user);

	/* Not present at the PDE. */
	slot = gmem_slot(&f->g, f->cr3, va, false, 2);
	gmem_set64(&f->g, slot, gmem_get64(&f->g, slot) & ~PTE_P);
	assert_int_equal(pagewalk__walk(f->cr3, va, false, gmem_read_entry, &f->g, &w),
			 PAGEWALK_NOT_PRESENT);
	assert_int_equal(w.level, 2);
	assert_string_equal(pagewalk__level_name(w.level), "PDE");

	/* A PDE pointing outside guest RAM: the walk ends there, nothing is read beyond. */
	gmem_set64(&f->g, slot, 0x000fffffdead0000ULL | PTE_P);
	assert_int_equal(pagewalk__walk(f->cr3, va, false, gmem_read_entry, &f->g, &w),
			 PAGEWALK_OUTSIDE_RAM);
	assert_int_equal(w.level, 1);
	assert_int_equal(w.tables[w.nr_tables - 1], 0x000fffffdead0000ULL);

	assert_int_equal(pagewalk__walk(f->cr3, 0x0000800000000000ULL, false, gmem_read_entry,
					&f->g, &w), PAGEWALK_NON_CANONICAL);
	assert_int_equal(w.nr_tables, 0);
}

/* read_va through a large page copies it in one piece: one translation, not one per 4 KiB. */
static void test_read_va_one_translation_per_large_page(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0xffff888000000000ULL;
	struct tcache_stats a, b;
	uint8_t *buf = malloc(4 * MIB);

	gmem_map(&f->g, f->cr3, va, 0, 2 * MIB, false);
	gmem_map(&f->g, f->cr3, va + 2 * MIB, 4 * MIB, 2 * MIB, false);
	tcache__stats(f->vm->tcache, &a);
	assert_int_equal(vmscope_read_va(f->vm, f->cr3, va + 4 * KIB, buf, 4 * MIB - 8 * KIB),
			 4 * MIB - 8 * KIB);
	tcache__stats(f->vm->tcache, &b);
	assert_int_equal((b.hits + b.misses) - (a.hits + a.misses), 2);
	assert_memory_equal(buf, f->g.mem + 4 * KIB, 2 * MIB - 4 * KIB);
	assert_memory_equal(buf + 2 * MIB - 4 * KIB, f->g.mem + 4 * MIB, 2 * MIB - 4 * KIB);
	free(buf);
}

/* A 1 GiB page over a hole in RAM: each piece stops at the end of its run of RAM. */
static void test_read_va_large_page_over_hole(void **state)
{
	(void)state;
	uint8_t *low = aligned_alloc(4096, 4 * MIB), *high = aligned_alloc(4096, 4 * MIB);
	struct vmscope_region r[2] = {
		{ .gpa = 0, .size = 4 * MIB, .host = low },
		{ .gpa = 8 * MIB, .size = 4 * MIB, .host = high },
	};
	struct gmem g = { .fd = -1, .mem = low, .size = 4 * MIB, .next = 2 * MIB };
	uint64_t cr3, va = 0x40000000;
	uint8_t *buf = malloc(8 * MIB);
	vmscope_t *vm;

	memset(low, 0x11, 4 * MIB);
	memset(high, 0x22, 4 * MIB);
	cr3 = gmem_page(&g);
	gmem_map(&g, cr3, va, 0, GIB, false);
	vm = writable_target(r, 2);

	assert_int_equal(vmscope_read_va(vm, cr3, va + 3 * MIB, buf, 2 * MIB), MIB);
	assert_int_equal(buf[MIB - 1], 0x11);
	assert_int_equal(vmscope_read_va(vm, cr3, va + 5 * MIB, buf, 1), -EFAULT);
	assert_non_null(strstr(vmscope_last_error(vm), "not RAM"));
	assert_int_equal(vmscope_read_va(vm, cr3, va + 8 * MIB, buf, 8 * MIB), 4 * MIB);
	assert_int_equal(buf[0], 0x22);
	assert_int_equal(buf[4 * MIB - 1], 0x22);

	vmscope_close(vm);
	free(buf);
	free(high);
	free(low);
}

static void test_cache_hit_and_flush(void **state)
{
	struct fixture *f = *state;
	struct tcache_stats a, b;
	uint64_t va = 0x555555554000ULL, pa, slot;

	gmem_map(&f->g, f->cr3, va, 0x3000, 4 * KIB, false);
	assert_int_equal(translate(f, f->cr3, va, 0, &pa, NULL), 0);
	tcache__stats(f->vm->tcache, &a);
	assert_int_equal(translate(f, f->cr3, va + 0x800, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x3800);
	tcache__stats(f->vm->tcache, &b);
	assert_int_equal(b.hits, a.hits + 1);
	assert_int_equal(b.misses, a.misses);

	/* The guest rewrites its PTE behind the library's back: stale until a flush. */
	slot = gmem_slot(&f->g, f->cr3, va, false, 1);
	gmem_set64(&f->g, slot, 0x4000 | PTE_P);
	assert_int_equal(translate(f, f->cr3, va, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x3000);
	vmscope_flush_tlb(f->vm);
	assert_int_equal(translate(f, f->cr3, va, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x4000);

	/* Failed walks are not cached. */
	assert_int_equal(translate(f, f->cr3, va + 0x1000, 0, &pa, NULL), -EFAULT);
	gmem_map(&f->g, f->cr3, va + 0x1000, 0x6000, 4 * KIB, false);
	assert_int_equal(translate(f, f->cr3, va + 0x1000, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x6000);
}

static void test_cache_per_cr3(void **state)
{
	struct fixture *f = *state;
	uint64_t cr3b = gmem_page(&f->g), pa;

	gmem_map(&f->g, f->cr3, 0x400000, 0x10000, 4 * KIB, false);
	gmem_map(&f->g, cr3b, 0x400000, 0x20000, 4 * KIB, false);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(translate(f, f->cr3, 0x400004, 0, &pa, NULL), 0);
		assert_int_equal(pa, 0x10004);
		assert_int_equal(translate(f, cr3b, 0x400004, 0, &pa, NULL), 0);
		assert_int_equal(pa, 0x20004);
	}
}

/* Writes through the library to a page-table page invalidate; others do not. */
static void test_write_invalidates(void **state)
{
	(void)state;
	uint8_t *buf = aligned_alloc(4096, 4 * MIB);
	struct vmscope_region r = { .gpa = 0, .size = 4 * MIB, .host = buf };
	struct gmem g = { .fd = -1, .mem = buf, .size = 4 * MIB, .next = 2 * MIB };
	struct tcache_stats a, b;
	uint64_t cr3, va = 0x7000000000ULL, pa, pte_slot, pde_slot, entry;
	vmscope_t *vm;

	memset(buf, 0, 4 * MIB);
	cr3 = gmem_page(&g);
	gmem_map(&g, cr3, va, 0x1000, 4 * KIB, false);
	gmem_map(&g, cr3, va + 2 * MIB, 0x200000, 2 * MIB, false);
	vm = writable_target(&r, 1);

	assert_int_equal(vmscope_translate(vm, cr3, va, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x1000);
	assert_int_equal(vmscope_translate(vm, cr3, va + 2 * MIB, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x200000);

	/* An unrelated write leaves the cache alone. */
	tcache__stats(vm->tcache, &a);
	assert_int_equal(vmscope_write_pa(vm, 0x1000, "x", 1), 1);
	assert_int_equal(vmscope_write_pa(vm, 0x100000, buf, 64 * KIB), 64 * KIB);
	tcache__stats(vm->tcache, &b);
	assert_int_equal(b.flushes, a.flushes);

	/* Rewriting the PTE through write_pa: the next translation sees it. */
	pte_slot = gmem_slot(&g, cr3, va, false, 1);
	entry = 0x5000 | PTE_P;
	assert_int_equal(vmscope_write_pa(vm, pte_slot, &entry, 8), 8);
	assert_int_equal(vmscope_translate(vm, cr3, va, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x5000);

	/* A large write spanning the page tables (set scan path). */
	assert_int_equal(vmscope_translate(vm, cr3, va + 2 * MIB, 0, &pa, NULL), 0);
	tcache__stats(vm->tcache, &a);
	assert_int_equal(vmscope_write_pa(vm, 2 * MIB, buf + 2 * MIB, 1 * MIB), 1 * MIB);
	tcache__stats(vm->tcache, &b);
	assert_int_equal(b.flushes, a.flushes + 1);

	/* Rewriting the PDE through write_va, via a mapping of the table page itself. */
	pde_slot = gmem_slot(&g, cr3, va + 2 * MIB, false, 2);
	gmem_map(&g, cr3, 0x10000000, pde_slot & ~0xfffULL, 4 * KIB, false);
	assert_int_equal(vmscope_translate(vm, cr3, va + 2 * MIB, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x200000);
	entry = 0x600000 | PTE_P | PTE_PS;
	assert_int_equal(vmscope_write_va(vm, cr3, 0x10000000 + (pde_slot & 0xfff), &entry, 8), 8);
	assert_int_equal(vmscope_translate(vm, cr3, va + 2 * MIB + 5, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0x600005);

	vmscope_close(vm);
	free(buf);
}

/*
 * More table pages than the cache tracks: the cache must stay correct (an
 * overflow flushes), and a write to any table page a cached entry used still
 * invalidates it.
 */
static void test_many_tables(void **state)
{
	(void)state;
	const unsigned n = 1500; /* distinct page tables, more than the set holds */
	uint8_t *buf = aligned_alloc(4096, 16 * MIB);
	struct vmscope_region r = { .gpa = 0, .size = 16 * MIB, .host = buf };
	struct gmem g = { .fd = -1, .mem = buf, .size = 16 * MIB, .next = 4 * MIB };
	uint64_t cr3, pa, entry;
	vmscope_t *vm;

	memset(buf, 0, 16 * MIB);
	cr3 = gmem_page(&g);
	for (unsigned i = 0; i < n; i++)
		gmem_map(&g, cr3, (uint64_t)i * 2 * MIB, (uint64_t)(i % 1000) * 4096, 4 * KIB,
			 false);
	vm = writable_target(&r, 1);
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < n; i++) {
			assert_int_equal(vmscope_translate(vm, cr3, (uint64_t)i * 2 * MIB + 1, 0,
							   &pa, NULL), 0);
			assert_int_equal(pa, (uint64_t)(i % 1000) * 4096 + 1);
		}
	}
	/* The last ones are cached; rewrite one PTE through the library. */
	entry = 0xabc000 | PTE_P;
	assert_int_equal(vmscope_write_pa(vm, gmem_slot(&g, cr3, (uint64_t)(n - 1) * 2 * MIB, false,
							1), &entry, 8), 8);
	assert_int_equal(vmscope_translate(vm, cr3, (uint64_t)(n - 1) * 2 * MIB, 0, &pa, NULL), 0);
	assert_int_equal(pa, 0xabc000);
	vmscope_close(vm);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_4k_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_2m_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_1g_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_5_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_la57_is_part_of_the_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_present_each_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_canonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_referencing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_va_one_translation_per_large_page, setup,
						teardown),
		cmocka_unit_test(test_read_va_large_page_over_hole),
		cmocka_unit_test_setup_teardown(test_cache_hit_and_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_per_cr3, setup, teardown),
		cmocka_unit_test(test_write_invalidates),
		cmocka_unit_test(test_many_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
