/* Unit tests for memory access (mem.c): physical, virtual, strings, typed reads, writes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "lib_helpers.h"

/*
 * The layout of the multi-region target:
 *   [0, 1 MiB)        region A   (page tables from 512 KiB)
 *   [1 MiB, 2 MiB)    region B   (adjacent to A, separate host buffer)
 *   [2 MiB, 4 MiB)    hole
 *   [4 MiB, 5 MiB)    region C
 */
#define A_SIZE MIB
#define B_GPA MIB
#define C_GPA (4 * MIB)

struct fixture {
	uint8_t *a, *b, *c;
	struct gmem g; /* over a, for the page-table builder */
	uint64_t cr3;
	vmscope_t *vm;
};

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vmscope_region r[3];

	f->a = aligned_alloc(4096, MIB);
	f->b = aligned_alloc(4096, MIB);
	f->c = aligned_alloc(4096, MIB);
	fill(f->a, MIB, 1);
	fill(f->b, MIB, 2);
	fill(f->c, MIB, 3);
	f->g = (struct gmem){ .fd = -1, .mem = f->a, .size = MIB, .next = 512 * KIB };
	f->cr3 = gmem_page(&f->g);
	/* Given out of order: the library sorts. */
	r[0] = (struct vmscope_region){ C_GPA, MIB, f->c };
	r[1] = (struct vmscope_region){ 0, MIB, f->a };
	r[2] = (struct vmscope_region){ B_GPA, MIB, f->b };
	f->vm = writable_target(r, 3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmscope_close(f->vm);
	free(f->a);
	free(f->b);
	free(f->c);
	free(f);
	return 0;
}

static void test_read_pa(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8192];

	assert_int_equal(vmscope_ram_size(f->vm), 3 * MIB);
	assert_int_equal(vmscope_read_pa(f->vm, 0x100, buf, 100), 100);
	assert_memory_equal(buf, f->a + 0x100, 100);
	/* Across the A/B boundary: two host buffers, one read. */
	assert_int_equal(vmscope_read_pa(f->vm, MIB - 4096, buf, 8192), 8192);
	assert_memory_equal(buf, f->a + MIB - 4096, 4096);
	assert_memory_equal(buf + 4096, f->b, 4096);
	/* Into the hole: short. */
	assert_int_equal(vmscope_read_pa(f->vm, 2 * MIB - 100, buf, 8192), 100);
	assert_memory_equal(buf, f->b + MIB - 100, 100);
	/* In the hole, and past the end. */
	assert_int_equal(vmscope_read_pa(f->vm, 3 * MIB, buf, 1), -EFAULT);
	assert_non_null(strstr(vmscope_last_error(f->vm), "not RAM"));
	assert_int_equal(vmscope_read_pa(f->vm, 5 * MIB, buf, 1), -EFAULT);
	assert_int_equal(vmscope_read_pa(f->vm, UINT64_MAX, buf, 16), -EFAULT);
	assert_int_equal(vmscope_read_pa(f->vm, C_GPA + MIB - 1, buf, 16), 1);
	/* Zero length; bad arguments. */
	assert_int_equal(vmscope_read_pa(f->vm, 3 * MIB, buf, 0), 0);
	assert_int_equal(vmscope_read_pa(f->vm, 0, NULL, 1), -EINVAL);
	assert_int_equal(vmscope_read_pa(NULL, 0, buf, 1), -EINVAL);
	assert_int_equal(vmscope_read_pa(f->vm, 0, buf, (size_t)INT64_MAX + 1), -EINVAL);
}

static void test_map_pa(void **state)
{
	struct fixture *f = *state;

	assert_ptr_equal(vmscope_map_pa(f->vm, C_GPA + 10, 100), f->c + 10);
	assert_ptr_equal(vmscope_map_pa(f->vm, C_GPA, MIB), f->c);
	assert_null(vmscope_map_pa(f->vm, C_GPA, MIB + 1));
	/* Adjacent regions are not one host run. */
	assert_null(vmscope_map_pa(f->vm, MIB - 8, 16));
	assert_null(vmscope_map_pa(f->vm, 3 * MIB, 1));
	assert_null(vmscope_map_pa(f->vm, UINT64_MAX, 1));
}

static void test_write_pa(void **state)
{
	struct fixture *f = *state;
	uint8_t data[64], buf[64];

	memset(data, 0xee, sizeof(data));
	assert_int_equal(vmscope_write_pa(f->vm, MIB - 32, data, 64), 64);
	assert_int_equal(f->a[MIB - 1], 0xee);
	assert_int_equal(f->b[31], 0xee);
	assert_int_equal(vmscope_read_pa(f->vm, MIB - 32, buf, 64), 64);
	assert_memory_equal(buf, data, 64);
	/* Short into the hole; refused in it. */
	assert_int_equal(vmscope_write_pa(f->vm, 2 * MIB - 16, data, 64), 16);
	assert_int_equal(vmscope_write_pa(f->vm, 2 * MIB, data, 64), -EFAULT);
}

static void test_read_va_across_mappings(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0x7f0000000000ULL;
	uint8_t buf[3 * 4096];

	/* Three virtually consecutive pages in three regions, out of order. */
	gmem_map(&f->g, f->cr3, va, C_GPA + 0x5000, 4 * KIB, false);
	gmem_map(&f->g, f->cr3, va + 0x1000, 0x3000, 4 * KIB, false);
	gmem_map(&f->g, f->cr3, va + 0x2000, B_GPA + 0x1000, 4 * KIB, false);
	assert_int_equal(vmscope_read_va(f->vm, f->cr3, va + 0x800, buf, 0x2000), 0x2000);
	assert_memory_equal(buf, f->c + 0x5800, 0x800);
	assert_memory_equal(buf + 0x800, f->a + 0x3000, 0x1000);
	assert_memory_equal(buf + 0x1800, f->b + 0x1000, 0x800);

	/* Stops at the first unmapped page; fails when it starts there. */
	assert_int_equal(vmscope_read_va(f->vm, f->cr3, va + 0x2f00, buf, 0x1000), 0x100);
	assert_int_equal(vmscope_read_va(f->vm, f->cr3, va + 0x3000, buf, 1), -EFAULT);
	assert_non_null(strstr(vmscope_last_error(f->vm), "not present"));
	assert_int_equal(vmscope_read_va(f->vm, f->cr3, va - 1, buf, 2), -EFAULT);
	/* A mapping to a hole is like an unmapped page. */
	gmem_map(&f->g, f->cr3, va + 0x3000, 3 * MIB, 4 * KIB, false);
	assert_int_equal(vmscope_read_va(f->vm, f->cr3, va + 0x2ff0, buf, 0x100), 0x10);
	assert_int_equal(vmscope_read_va(f->vm, f->cr3, va + 0x3000, buf, 0x100), -EFAULT);
	assert_non_null(strstr(vmscope_last_error(f->vm), "not RAM"));
	/* Non-canonical start. */
	assert_int_equal(vmscope_read_va(f->vm, f->cr3, 0x800000000000ULL, buf, 1), -EFAULT);
}

static void test_read_va_large_page(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0xffffffff81000000ULL;
	uint8_t *buf = malloc(MIB);

	/* A 2 MiB page at gpa 0 covers A and B: one translation, two regions. */
	gmem_map(&f->g, f->cr3, va, 0, 2 * MIB, false);
	assert_int_equal(vmscope_read_va(f->vm, f->cr3, va + MIB - 512 * KIB, buf, MIB), MIB);
	assert_memory_equal(buf, f->a + MIB - 512 * KIB, 512 * KIB);
	assert_memory_equal(buf + 512 * KIB, f->b, 512 * KIB);
	free(buf);
}

static void test_write_va(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0x400000;
	char msg[] = "hello, guest";

	gmem_map(&f->g, f->cr3, va, 0x10000, 4 * KIB, false);
	gmem_map(&f->g, f->cr3, va + 0x1000, C_GPA, 4 * KIB, false);
	assert_int_equal(vmscope_write_va(f->vm, f->cr3, va + 0xffa, msg, sizeof(msg)),
			 sizeof(msg));
	assert_memory_equal(f->a + 0x10ffa, msg, 6);
	assert_memory_equal(f->c, msg + 6, sizeof(msg) - 6);
	/* Short at the unmapped page. */
	assert_int_equal(vmscope_write_va(f->vm, f->cr3, va + 0x1ffe, msg, 4), 2);
	assert_int_equal(vmscope_write_va(f->vm, f->cr3, va + 0x2000, msg, 4), -EFAULT);
}

static void test_read_str_va(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0x600000;
	char buf[64];

	gmem_map(&f->g, f->cr3, va, 0x20000, 4 * KIB, false);
	gmem_map(&f->g, f->cr3, va + 0x1000, B_GPA + 0x8000, 4 * KIB, false);
	memcpy(f->a + 0x20ffc, "swap", 4);
	memcpy(f->b + 0x8000, "per\0junk", 8);
	/* Across a page boundary with different mappings. */
	assert_int_equal(vmscope_read_str_va(f->vm, f->cr3, va + 0xffc, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "swapper");
	/* Truncated to max - 1, always terminated. */
	assert_int_equal(vmscope_read_str_va(f->vm, f->cr3, va + 0xffc, buf, 5), 4);
	assert_string_equal(buf, "swap");
	assert_int_equal(vmscope_read_str_va(f->vm, f->cr3, va + 0xffc, buf, 1), 0);
	assert_string_equal(buf, "");
	/* Empty string. */
	assert_int_equal(vmscope_read_str_va(f->vm, f->cr3, va + 0x1003, buf, sizeof(buf)), 0);
	/* Unmapped before the terminator: -EFAULT, what was read is kept, terminated. */
	memset(f->b + 0x8ff0, 'x', 16);
	assert_int_equal(vmscope_read_str_va(f->vm, f->cr3, va + 0x1ff0, buf, sizeof(buf)),
			 -EFAULT);
	assert_string_equal(buf, "xxxxxxxxxxxxxxxx");
	assert_int_equal(vmscope_read_str_va(f->vm, f->cr3, va + 0x1ff0, buf, 17), 16);
	assert_int_equal(vmscope_read_str_va(f->vm, f->cr3, va + 0x2000, buf, sizeof(buf)),
			 -EFAULT);
	assert_int_equal(vmscope_read_str_va(f->vm, f->cr3, va, buf, 0), -EINVAL);
}

static void test_typed_reads(void **state)
{
	struct fixture *f = *state;
	uint64_t va = 0x800000, v64;
	uint32_t v32;

	gmem_map(&f->g, f->cr3, va, 0x30000, 4 * KIB, false);
	gmem_map(&f->g, f->cr3, va + 0x1000, C_GPA + 0x2000, 4 * KIB, false);
	memcpy(f->a + 0x30ffc, (uint8_t[]){ 0x11, 0x22, 0x33, 0x44 }, 4);
	memcpy(f->c + 0x2000, (uint8_t[]){ 0x55, 0x66, 0x77, 0x88 }, 4);
	assert_int_equal(vmscope_read_u32_va(f->vm, f->cr3, va + 0xffc, &v32), 0);
	assert_int_equal(v32, 0x44332211);
	assert_int_equal(vmscope_read_u64_va(f->vm, f->cr3, va + 0xffc, &v64), 0);
	assert_int_equal(v64, 0x8877665544332211ULL);
	/* Half of it unmapped. */
	assert_int_equal(vmscope_read_u64_va(f->vm, f->cr3, va + 0x1ffc, &v64), -EFAULT);
	assert_int_equal(vmscope_read_u32_va(f->vm, f->cr3, va + 0x2000, &v32), -EFAULT);
}

static void test_raw_is_read_only(void **state)
{
	(void)state;
	struct gmem g;
	vmscope_t *vm;
	struct vmscope_regs regs;
	uint8_t b = 0;

	gmem_init(&g, 64 * KIB, 0);
	g.mem[0x1234] = 0x5a;
	vm = gmem_open(&g);
	assert_int_equal(vmscope_ram_size(vm), 64 * KIB);
	assert_int_equal(vmscope_vcpu_count(vm), 0);
	assert_int_equal(vmscope_read_pa(vm, 0x1234, &b, 1), 1);
	assert_int_equal(b, 0x5a);
	assert_int_equal(vmscope_write_pa(vm, 0x1234, &b, 1), -EROFS);
	assert_non_null(strstr(vmscope_last_error(vm), "read-only"));
	assert_int_equal(vmscope_write_va(vm, 0, 0x1234, &b, 1), -EROFS);
	assert_int_equal(vmscope_get_regs(vm, 0, &regs), -ENODATA);
	/* Reads past the end of the file. */
	assert_int_equal(vmscope_read_pa(vm, 64 * KIB - 1, &b, 2), 1);
	assert_int_equal(vmscope_read_pa(vm, 64 * KIB, &b, 1), -EFAULT);
	vmscope_close(vm);
	gmem_fini(&g);
}

static void test_open_raw_errors(void **state)
{
	(void)state;
	int err = 0;
	struct gmem g;
	char path[64];

	assert_null(vmscope_open_raw("/nonexistent/vmscope-image", &err));
	assert_int_equal(err, -ENOENT);
	assert_non_null(strstr(vmscope_last_error(NULL), "/nonexistent/vmscope-image"));
	assert_null(vmscope_open_raw("/", &err));
	assert_int_equal(err, -EINVAL);
	assert_null(vmscope_open_raw(NULL, &err));
	assert_int_equal(err, -EINVAL);
	/* Empty file. */
	gmem_init(&g, 4096, 0);
	assert_int_equal(ftruncate(g.fd, 0), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", g.fd);
	assert_null(vmscope_open_raw(path, &err));
	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(vmscope_last_error(NULL), "empty"));
	/* NULL err is allowed. */
	assert_null(vmscope_open_raw(path, NULL));
	gmem_fini(&g);
	vmscope_close(NULL);
	assert_non_null(vmscope_last_error(NULL));
	assert_string_equal(vmscope_strerror(-EFAULT), "Bad address");
	assert_string_equal(vmscope_strerror(-EROFS), "Read-only file system");
	assert_string_equal(vmscope_strerror(-99999), "Unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_pa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_pa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_pa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_va_across_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_va_large_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_va, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_str_va, setup, teardown),
		cmocka_unit_test_setup_teardown(test_typed_reads, setup, teardown),
		cmocka_unit_test(test_raw_is_read_only),
		cmocka_unit_test(test_open_raw_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
