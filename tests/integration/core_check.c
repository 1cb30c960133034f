/*
 * core_check: checks libvmscope's reading of a real QEMU dump-guest-memory
 * core of a Linux guest (qemu_core_test.sh makes one).  Public API only.
 *
 *     core_check CORE [--nokaslr]
 *
 * Prints what it finds as "key value" lines and "FAIL: ..." for each check
 * that does not hold; exits 0 when all hold, 1 otherwise, 2 on bad usage.
 *   - at least one CPU; RAM >= 200 MiB (the guest had 256 MiB);
 *   - every CPU in the kernel (RIP, CR3), each with its own per-CPU GS base;
 *   - CPU 0 in long mode with paging: CR0.PG, CR4.PAE, CR3 != 0, RIP in the
 *     kernel's half, CS a 64-bit code segment, also in the GDT in memory;
 *   - the kernel text VA 0xffffffff81000000 translates through CR3 (to
 *     0x1000000 with --nokaslr) and reads the same by VA as by PA;
 *   - the "Linux version" banner found in physical memory reads the same
 *     through the kernel-image mapping;
 *   - with --nokaslr, the direct map (0xffff888000000000) maps the same page.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmscope/vmscope.h"

#define KTEXT 0xffffffff81000000ULL
#define DIRECT_MAP 0xffff888000000000ULL /* page_offset_base without KASLR */
#define NOKASLR_TEXT_PA 0x1000000ULL     /* CONFIG_PHYSICAL_START */
#define MIB (1024ULL * 1024)

static int failures;

#define CHECK(cond, ...)                                  \
	do {                                              \
		if (!(cond)) {                            \
			printf("FAIL: " __VA_ARGS__);     \
			printf("\n");                     \
			failures++;                       \
		}                                         \
	} while (0)

/* First "Linux version " in [from, from + span) of guest-physical memory. */
static uint64_t find_banner(vmscope_t *vm, uint64_t from, uint64_t span)
{
	static const char needle[] = "Linux version ";
	const size_t chunk = MIB, overlap = sizeof(needle);
	char *buf = malloc(chunk + overlap);

	for (uint64_t pa = from; pa < from + span; pa += chunk) {
		int64_t n = vmscope_read_pa(vm, pa, buf, chunk + overlap);
		char *hit;

		if (n <= 0)
			break;
		hit = memmem(buf, (size_t)n, needle, sizeof(needle) - 1);
		if (hit) {
			uint64_t found = pa + (uint64_t)(hit - buf);

			free(buf);
			return found;
		}
	}
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct vmscope_regs r;
	uint64_t text_pa = 0, size = 0, gdte = 0, banner_pa, pa;
	uint8_t by_va[64], by_pa[64];
	char banner_p[160], banner_v[160];
	bool nokaslr = argc > 2 && strcmp(argv[2], "--nokaslr") == 0;
	unsigned flags;
	vmscope_t *vm;
	int err;

	if (argc < 2 || (argc > 2 && !nokaslr) || argc > 3) {
		fprintf(stderr, "usage: core_check CORE [--nokaslr]\n");
		return 2;
	}
	vm = vmscope_open_core(argv[1], &err);
	if (!vm) {
		printf("FAIL: open %s: %d %s\n", argv[1], err, vmscope_last_error(NULL));
		return 1;
	}
	flags = vmscope_va_flags(vm);
	printf("ram_size 0x%" PRIx64 "\nvcpus %u\nva_flags %u\n", vmscope_ram_size(vm),
	       vmscope_vcpu_count(vm), flags);
	CHECK(vmscope_vcpu_count(vm) >= 1, "no CPU state in the core");
	CHECK(vmscope_ram_size(vm) >= 200 * MIB, "RAM 0x%" PRIx64 " < 200 MiB",
	      vmscope_ram_size(vm));
	if (vmscope_get_regs(vm, 0, &r) != 0) {
		printf("FAIL: get_regs(0): %s\n", vmscope_last_error(vm));
		vmscope_close(vm);
		return 1;
	}
	printf("rip 0x%" PRIx64 "\nrsp 0x%" PRIx64 "\ncr0 0x%" PRIx64 "\ncr3 0x%" PRIx64
	       "\ncr4 0x%" PRIx64 "\nefer 0x%" PRIx64 "\ncs 0x%x flags 0x%x\ngdt 0x%" PRIx64
	       " limit 0x%x\nkernel_gs_base 0x%" PRIx64 "\ngs_base 0x%" PRIx64 "\n",
	       r.rip, r.rsp, r.cr0, r.cr3, r.cr4, r.efer, r.cs.selector, r.cs.flags, r.gdt_base,
	       r.gdt_limit, r.kernel_gs_base, r.gs.base);
	CHECK(r.cr0 & (1ULL << 31), "CR0.PG clear");
	CHECK(r.cr4 & (1ULL << 5), "CR4.PAE clear");
	CHECK((r.cr3 & ~0xfffULL) != 0, "CR3 is 0");
	CHECK(r.rip >= 0xffffffff80000000ULL, "RIP 0x%" PRIx64 " not in the kernel image", r.rip);
	CHECK(r.cs.flags & 4, "CS is not a 64-bit code segment (flags 0x%x)", r.cs.flags);
	CHECK(r.efer & (1ULL << 10), "EFER.LMA not inferred");

	/* Every CPU is in the kernel with the kernel's page tables. */
	for (unsigned c = 1; c < vmscope_vcpu_count(vm); c++) {
		struct vmscope_regs o;

		CHECK(vmscope_get_regs(vm, c, &o) == 0, "get_regs(%u): %s", c,
		      vmscope_last_error(vm));
		printf("cpu%u rip 0x%" PRIx64 " cr3 0x%" PRIx64 " gs_base 0x%" PRIx64 "\n", c, o.rip,
		       o.cr3, o.gs.base);
		CHECK((o.cr3 & ~0xfffULL) != 0 && o.rip >= 0xffffffff80000000ULL,
		      "CPU %u: rip 0x%" PRIx64 " cr3 0x%" PRIx64, c, o.rip, o.cr3);
		CHECK(o.gs.base != r.gs.base, "CPU %u has CPU 0's per-CPU base", c);
	}

	/* The CS descriptor in the GDT, read through CR3, agrees with the saved CS. */
	err = vmscope_read_u64_va(vm, r.cr3, r.gdt_base + (r.cs.selector & ~7u), &gdte);
	printf("gdt[cs] 0x%016" PRIx64 "\n", gdte);
	CHECK(err == 0, "GDT entry for CS unreadable: %s", vmscope_last_error(vm));
	CHECK(err || (gdte >> 53 & 1), "GDT entry for CS has L clear");

	/* Kernel text. */
	err = vmscope_translate(vm, r.cr3, KTEXT, flags, &text_pa, &size);
	printf("ktext_pa 0x%" PRIx64 " page_size 0x%" PRIx64 "\n", text_pa, size);
	CHECK(err == 0, "translate 0x%llx: %s", KTEXT, vmscope_last_error(vm));
	if (nokaslr)
		CHECK(text_pa == NOKASLR_TEXT_PA, "kernel text at 0x%" PRIx64 ", want 0x%llx",
		      text_pa, NOKASLR_TEXT_PA);
	CHECK(vmscope_read_va(vm, r.cr3, KTEXT, by_va, sizeof(by_va)) == sizeof(by_va),
	      "read_va of the kernel text: %s", vmscope_last_error(vm));
	CHECK(vmscope_read_pa(vm, text_pa, by_pa, sizeof(by_pa)) == sizeof(by_pa),
	      "read_pa of the kernel text: %s", vmscope_last_error(vm));
	CHECK(memcmp(by_va, by_pa, sizeof(by_va)) == 0, "kernel text differs by VA and PA");

	/* The banner, found physically, read virtually. */
	banner_pa = err ? 0 : find_banner(vm, text_pa, 64 * MIB);
	CHECK(banner_pa != 0, "no \"Linux version\" in the 64 MiB from the kernel text");
	if (banner_pa) {
		uint64_t va = KTEXT + (banner_pa - text_pa);
		int64_t n;

		vmscope_read_pa(vm, banner_pa, banner_p, sizeof(banner_p) - 1);
		banner_p[sizeof(banner_p) - 1] = '\0';
		banner_p[strcspn(banner_p, "\n")] = '\0';
		n = vmscope_read_str_va(vm, r.cr3, va, banner_v, sizeof(banner_v));
		banner_v[strcspn(banner_v, "\n")] = '\0';
		printf("banner_va 0x%" PRIx64 "\nbanner %s\n", va, banner_v);
		CHECK(n > 0, "read_str_va of the banner: %s", vmscope_last_error(vm));
		CHECK(strcmp(banner_p, banner_v) == 0, "banner differs by VA (\"%s\") and PA",
		      banner_v);
	}

	/* The direct map. */
	if (nokaslr) {
		err = vmscope_translate(vm, r.cr3, DIRECT_MAP + NOKASLR_TEXT_PA, flags, &pa, &size);
		printf("direct_map_pa 0x%" PRIx64 " page_size 0x%" PRIx64 "\n", pa, size);
		CHECK(err == 0 && pa == NOKASLR_TEXT_PA, "direct map of 0x%llx: %s",
		      NOKASLR_TEXT_PA, err ? vmscope_last_error(vm) : "wrong address");
	}
	vmscope_close(vm);
	printf("%s\n", failures ? "core_check: FAILED" : "core_check: ok");
	return failures ? 1 : 0;
}
