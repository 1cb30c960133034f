/*
 * Unit tests of the guest loaders (src/boot): ELF and bzImage images are
 * built in memory, loaded into a plain host buffer described by a memmap,
 * and what the loader wrote is checked.  No KVM needed.
 *
 * The real Debian kernel is loaded too when it is present: the bzImage from
 * $VMSCOPE_BZIMAGE or /boot/vmlinuz-*, the vmlinux ELF from $VMSCOPE_VMLINUX
 * or $VMSCOPE_LINUX_FIXTURES/vmlinux (tests/integration/make_linux_fixtures.sh
 * makes it); those cases are skipped with a message when the files are absent.
 */
#include <elf.h>
#include <glob.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "boot/bootparams.h"
#include "boot/bzimage.h"
#include "boot/elf.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "boot/mptable.h"
#include "memmap.h"
#include "util.h"
#include "vmscope/testguest.h"

/* ---------------------------------------------------------------- guest RAM */

struct guest {
	struct memmap map;
	uint8_t *ram;
	size_t len;
};

/* Guest RAM is mmap'd with MAP_NORESERVE: a 4 GiB guest costs only the pages touched. */
static void guest_init(struct guest *g, uint64_t size)
{
	assert_int_equal(memmap__init(&g->map, size), 0);
	g->len = size;
	g->ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(g->ram != MAP_FAILED);
}

static void guest_fini(struct guest *g)
{
	munmap(g->ram, g->len);
}

static void *gptr(struct guest *g, uint64_t gpa, uint64_t len)
{
	void *p = memmap__ptr(&g->map, g->ram, gpa, len);

	assert_non_null(p);
	return p;
}

static struct boot_params *zero_page(struct guest *g)
{
	return gptr(g, BOOT_PARAMS_ADDR, sizeof(struct boot_params));
}

static struct boot_request request(struct guest *g, const uint8_t *data, size_t size)
{
	return (struct boot_request){
		.map = &g->map,
		.ram = g->ram,
		.kernel = { .data = data, .size = size, .name = "kernel.img" },
		.initrd = { .data = NULL, .size = 0, .name = "initrd.img" },
		.cmdline = "console=ttyS0",
		.nr_cpus = 1,
	};
}

/* Loads and expects failure with one line naming `name` and containing `what`. */
static void expect_error(const struct boot_request *req, const char *name, const char *what)
{
	struct boot_entry entry;
	char err[512];

	memset(err, 0, sizeof(err));
	assert_int_equal(loader__load(req, &entry, err, sizeof(err)), -1);
	if (!strstr(err, what) || strncmp(err, name, strlen(name)) != 0)
		print_message("unexpected error message: \"%s\" (wanted \"%s\" from %s)\n", err, what,
			      name);
	assert_non_null(strstr(err, what));
	assert_int_equal(strncmp(err, name, strlen(name)), 0);
	assert_null(strchr(err, '\n'));
}

static void expect_load(const struct boot_request *req, struct boot_entry *entry)
{
	char err[512] = "";
	int ret = loader__load(req, entry, err, sizeof(err));

	if (ret != 0)
		print_message("loader__load failed: %s\n", err);
	assert_int_equal(ret, 0);
	assert_int_equal(entry->rsi, BOOT_PARAMS_ADDR);
}

/* ---------------------------------------------------------------- ELF builder */

struct seg {
	uint32_t type;
	uint64_t paddr, vaddr;
	uint64_t filesz, memsz;
	const void *data; /* filesz bytes; NULL: a pattern */
	uint64_t align;
};

struct image {
	uint8_t *data;
	size_t size;
};

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + 3);
}

/* ELF header, program headers right after it, then each segment's bytes. */
static struct image make_elf(const struct seg *segs, unsigned n, uint64_t entry)
{
	size_t off = sizeof(Elf64_Ehdr) + n * sizeof(Elf64_Phdr), total = off;
	struct image img;
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = entry,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = (uint16_t)n,
	};

	for (unsigned i = 0; i < n; i++)
		total = ALIGN_UP(total, 16) + segs[i].filesz;
	img.size = total;
	img.data = calloc(1, total);
	assert_non_null(img.data);
	memcpy(img.data, &eh, sizeof(eh));
	for (unsigned i = 0; i < n; i++) {
		Elf64_Phdr ph = {
			.p_type = segs[i].type,
			.p_flags = PF_R | PF_W | PF_X,
			.p_offset = ALIGN_UP(off, 16),
			.p_vaddr = segs[i].vaddr ? segs[i].vaddr : segs[i].paddr,
			.p_paddr = segs[i].paddr,
			.p_filesz = segs[i].filesz,
			.p_memsz = segs[i].memsz,
			.p_align = segs[i].align ? segs[i].align : 16,
		};
		off = ph.p_offset;
		if (segs[i].data)
			memcpy(img.data + off, segs[i].data, segs[i].filesz);
		else
			for (uint64_t j = 0; j < segs[i].filesz; j++)
				img.data[off + j] = pattern(j + i);
		memcpy(img.data + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		off += segs[i].filesz;
	}
	return img;
}

static Elf64_Ehdr *ehdr(struct image *img)
{
	return (Elf64_Ehdr *)img->data;
}

static Elf64_Phdr *phdr(struct image *img, unsigned i)
{
	return (Elf64_Phdr *)(img->data + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

/* Appends one ELF note (4-byte aligned fields) to buf. */
static size_t add_note(uint8_t *buf, size_t off, const char *name, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;

	memcpy(buf + off, &namesz, 4);
	memcpy(buf + off + 4, &descsz, 4);
	memcpy(buf + off + 8, &type, 4);
	off += 12;
	memcpy(buf + off, name, namesz);
	off = ALIGN_UP(off + namesz, 4);
	memcpy(buf + off, desc, descsz);
	return ALIGN_UP(off + descsz, 4);
}

#define TEXT_ADDR 0x100000ULL
#define DATA_ADDR 0x200000ULL

/* A plain two-segment ELF kernel: text at 1 MiB, data + bss at 2 MiB. */
static struct image simple_elf(void)
{
	struct seg segs[] = {
		{ .type = PT_LOAD, .paddr = TEXT_ADDR, .filesz = 0x1000, .memsz = 0x1000 },
		{ .type = PT_LOAD, .paddr = DATA_ADDR, .filesz = 0x800, .memsz = 0x3000 },
	};
	return make_elf(segs, 2, TEXT_ADDR + 0x10);
}

/* An ELF with a note segment holding the given notes. */
static struct image elf_with_notes(const uint8_t *notes, size_t len)
{
	struct seg segs[] = {
		{ .type = PT_LOAD, .paddr = TEXT_ADDR, .filesz = 0x1000, .memsz = 0x1000 },
		{ .type = PT_NOTE, .paddr = 0, .filesz = len, .memsz = 0, .data = notes, .align = 4 },
	};
	return make_elf(segs, 2, TEXT_ADDR);
}

static void check_e820(struct guest *g)
{
	struct boot_params *bp = zero_page(g);
	struct e820_range want[8];
	unsigned n = memmap__e820(&g->map, want, 8);

	assert_int_equal(bp->e820_entries, n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(bp->e820_table[i].addr, want[i].addr);
		assert_int_equal(bp->e820_table[i].size, want[i].size);
		assert_int_equal(bp->e820_table[i].type, want[i].type);
	}
	/* And straight from the raw bytes at the documented offsets. */
	const uint8_t *raw = (const uint8_t *)bp;
	uint64_t addr0;
	assert_int_equal(raw[0x1e8], n);
	memcpy(&addr0, raw + 0x2d0 + 20 * (n - 1), 8);
	assert_int_equal(addr0, want[n - 1].addr);
}

/* ---------------------------------------------------------------- ELF tests */

static void test_elf_segments_bss_entry(void **state)
{
	struct guest g;
	struct image img = simple_elf();
	struct boot_request req;
	struct boot_entry entry;
	uint8_t *p;

	(void)state;
	guest_init(&g, 64 * MiB);
	memset(gptr(&g, DATA_ADDR, 0x3000), 0xcc, 0x3000); /* garbage where bss goes */
	req = request(&g, img.data, img.size);
	expect_load(&req, &entry);
	assert_int_equal(entry.rip, TEXT_ADDR + 0x10);
	assert_false(entry.aps_start_at_entry);
	assert_false(entry.is_linux);
	assert_false(loader__is_linux(&req.kernel));

	p = gptr(&g, TEXT_ADDR, 0x1000);
	for (unsigned j = 0; j < 0x1000; j++)
		assert_int_equal(p[j], pattern(j));
	p = gptr(&g, DATA_ADDR, 0x3000);
	for (unsigned j = 0; j < 0x800; j++)
		assert_int_equal(p[j], pattern(j + 1));
	for (unsigned j = 0x800; j < 0x3000; j++)
		assert_int_equal(p[j], 0);

	struct boot_params *bp = zero_page(&g);
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	assert_memory_equal(&bp->hdr.header, "HdrS", 4);
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_true(bp->hdr.loadflags & BP_LOADED_HIGH);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)gptr(&g, BOOT_CMDLINE_ADDR, 14), "console=ttyS0");
	assert_int_equal(bp->hdr.ramdisk_image, 0);
	assert_int_equal(bp->hdr.ramdisk_size, 0);
	assert_int_equal(bp->sentinel, 0);
	check_e820(&g);
	guest_fini(&g);
	free(img.data);
}

static void test_elf_vmscope_note(void **state)
{
	uint8_t notes[256];
	uint32_t one = 1;
	size_t len = add_note(notes, 0, "GNU", 3, "abcdefgh", 8);
	struct guest g;
	struct boot_entry entry;

	(void)state;
	len = add_note(notes, len, TG_NOTE_NAME, TG_NOTE_ALL_CPUS_64, &one, 4);
	struct image img = elf_with_notes(notes, len);
	guest_init(&g, 64 * MiB);
	struct boot_request req = request(&g, img.data, img.size);
	req.nr_cpus = 2;
	expect_load(&req, &entry);
	assert_true(entry.aps_start_at_entry);
	assert_false(entry.is_linux);
	assert_int_equal(entry.rip, TEXT_ADDR);

	/* The same note name with another type does not ask for it. */
	len = add_note(notes, 0, TG_NOTE_NAME, TG_NOTE_ALL_CPUS_64 + 1, &one, 4);
	free(img.data);
	img = elf_with_notes(notes, len);
	req = request(&g, img.data, img.size);
	expect_load(&req, &entry);
	assert_false(entry.aps_start_at_entry);
	guest_fini(&g);
	free(img.data);
}

static void test_elf_linux_notes_and_pvh(void **state)
{
	uint8_t notes[256];
	uint32_t salt = 0, pvh = 0x1000850;
	size_t len;
	struct elf_info info;
	char err[256];
	struct guest g;
	struct boot_entry entry;

	(void)state;
	len = add_note(notes, 0, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &pvh, 4);
	len = add_note(notes, len, "Linux", 0x100, &salt, 4);
	struct image img = elf_with_notes(notes, len);
	struct boot_image bi = { img.data, img.size, "vmlinux" };
	assert_int_equal(elf__parse(&bi, NULL, &info, err, sizeof(err)), 0);
	assert_true(info.linux_note);
	assert_true(info.has_pvh_entry);
	assert_int_equal(info.pvh_entry, 0x1000850);
	assert_true(loader__is_linux(&bi));

	guest_init(&g, 64 * MiB);
	struct boot_request req = request(&g, img.data, img.size);
	expect_load(&req, &entry);
	assert_true(entry.is_linux);
	assert_int_equal(entry.rip, TEXT_ADDR); /* the 64-bit entry, not the PVH one */
	guest_fini(&g);
	free(img.data);

	/* Xen GUEST_OS "linux" alone also marks a Linux kernel. */
	len = add_note(notes, 0, "Xen", XEN_ELFNOTE_GUEST_OS, "linux", 6);
	img = elf_with_notes(notes, len);
	bi = (struct boot_image){ img.data, img.size, "vmlinux" };
	assert_true(loader__is_linux(&bi));
	free(img.data);
}

static void test_elf_linux_banner(void **state)
{
	static const char text[] = "\x90\x90Linux version 6.1.0-test (gcc) #1 SMP";
	struct seg segs[] = {
		{ .type = PT_LOAD, .paddr = TEXT_ADDR, .filesz = sizeof(text), .memsz = 0x1000,
		  .data = text },
	};
	struct image img = make_elf(segs, 1, TEXT_ADDR);
	struct boot_image bi = { img.data, img.size, "vmlinux" };

	(void)state;
	assert_true(loader__is_linux(&bi));
	free(img.data);
}

static void test_elf_virtual_entry(void **state)
{
	struct seg segs[] = {
		{ .type = PT_LOAD, .paddr = 0x1000000, .vaddr = 0xffffffff81000000ULL, .filesz = 0x2000,
		  .memsz = 0x2000 },
		{ .type = PT_LOAD, .paddr = 0x1200000, .vaddr = 0, .filesz = 0x100, .memsz = 0x1000 },
	};
	struct image img = make_elf(segs, 2, 0xffffffff81000040ULL);
	struct guest g;
	struct boot_entry entry;

	(void)state;
	guest_init(&g, 64 * MiB);
	struct boot_request req = request(&g, img.data, img.size);
	expect_load(&req, &entry);
	assert_int_equal(entry.rip, 0x1000040);

	/* A physical e_entry is used as it is. */
	ehdr(&img)->e_entry = 0x1000100;
	expect_load(&req, &entry);
	assert_int_equal(entry.rip, 0x1000100);
	guest_fini(&g);
	free(img.data);
}

static uint8_t *make_initrd(size_t size)
{
	uint8_t *p = malloc(size);

	assert_non_null(p);
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	return p;
}

static void check_initrd(struct guest *g, const uint8_t *data, size_t size, uint64_t kernel_end,
			 uint64_t addr_max)
{
	struct boot_params *bp = zero_page(g);
	uint64_t addr = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;
	uint64_t top = memmap__low_end(&g->map) < addr_max + 1 ? memmap__low_end(&g->map)
								: addr_max + 1;

	assert_int_equal(bp->hdr.ramdisk_size, size);
	assert_int_equal(bp->ext_ramdisk_size, 0);
	assert_int_equal(addr % 4096, 0);
	assert_true(addr >= kernel_end);
	assert_true(addr + size <= top);
	assert_true(addr + size + 4096 > (top & ~4095ULL)); /* as high as possible */
	assert_memory_equal(gptr(g, addr, size), data, size);
}

static void test_elf_initrd_and_cmdline(void **state)
{
	struct image img = simple_elf();
	size_t isize = 3 * MiB + 123;
	uint8_t *initrd = make_initrd(isize);
	struct guest g;
	struct boot_entry entry;

	(void)state;
	guest_init(&g, 64 * MiB);
	struct boot_request req = request(&g, img.data, img.size);
	req.initrd.data = initrd;
	req.initrd.size = isize;
	req.cmdline = "";
	expect_load(&req, &entry);
	check_initrd(&g, initrd, isize, DATA_ADDR + 0x3000, 0x7fffffff);
	assert_int_equal(zero_page(&g)->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(*(char *)gptr(&g, BOOT_CMDLINE_ADDR, 1), '\0');

	/* A non-Linux ELF takes a command line longer than Linux's 2047 bytes. */
	char *longline = malloc(3000);
	memset(longline, 'x', 2999);
	longline[2999] = '\0';
	req.cmdline = longline;
	expect_load(&req, &entry);
	assert_string_equal((char *)gptr(&g, BOOT_CMDLINE_ADDR, 3000), longline);
	free(longline);
	guest_fini(&g);
	free(initrd);
	free(img.data);
}

static void test_elf_cmdline_too_long_linux(void **state)
{
	uint8_t notes[64];
	uint32_t salt = 0;
	size_t len = add_note(notes, 0, "Linux", 0x100, &salt, 4);
	struct image img = elf_with_notes(notes, len);
	struct guest g;
	struct boot_entry entry;
	char line[2049];

	(void)state;
	guest_init(&g, 64 * MiB);
	memset(line, 'a', 2048);
	line[2048] = '\0';
	struct boot_request req = request(&g, img.data, img.size);
	req.kernel.name = "vmlinux";
	req.cmdline = line;
	expect_error(&req, "vmlinux", "command line is 2048 bytes, the kernel accepts at most 2047");
	line[2047] = '\0';
	expect_load(&req, &entry);
	guest_fini(&g);
	free(img.data);
}

static void test_elf_errors(void **state)
{
	struct guest g;
	struct image img;
	struct boot_request req;

	(void)state;
	guest_init(&g, 64 * MiB);

	/* empty */
	req = request(&g, (const uint8_t *)"", 0);
	expect_error(&req, "kernel.img", "empty file");

	/* garbage */
	req = request(&g, (const uint8_t *)"garbage garbage garbage", 23);
	expect_error(&req, "kernel.img", "not an ELF or bzImage");
	req = request(&g, (const uint8_t *)"\x7f" "EL", 3);
	expect_error(&req, "kernel.img", "truncated");

	/* truncated ELF header */
	img = simple_elf();
	req = request(&g, img.data, 40);
	expect_error(&req, "kernel.img", "truncated ELF header");

	/* truncated program headers */
	req = request(&g, img.data, sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 10);
	expect_error(&req, "kernel.img", "program headers");

	/* segment data beyond the end of the file */
	req = request(&g, img.data, img.size - 1);
	expect_error(&req, "kernel.img", "truncated: segment 1");

	/* segment outside RAM */
	req = request(&g, img.data, img.size);
	phdr(&img, 1)->p_paddr = 100 * MiB;
	expect_error(&req, "kernel.img", "segment 1 at 0x6400000 (size 0x3000) is outside guest RAM");
	phdr(&img, 1)->p_paddr = 64 * MiB - 0x1000; /* straddles the end of RAM */
	expect_error(&req, "kernel.img", "is outside guest RAM");
	phdr(&img, 1)->p_paddr = 0xbffff000; /* with 3 GiB+ RAM: straddles the hole */
	{
		struct guest big;

		guest_init(&big, 4 * GiB);
		struct boot_request r2 = request(&big, img.data, img.size);
		expect_error(&r2, "kernel.img", "is outside guest RAM");
		guest_fini(&big);
	}
	phdr(&img, 1)->p_paddr = 0xfffffffffffff000ULL; /* wraps */
	expect_error(&req, "kernel.img", "wraps around");
	phdr(&img, 1)->p_paddr = 0x7000; /* on the zero page */
	expect_error(&req, "kernel.img", "below 1 MiB");
	phdr(&img, 1)->p_paddr = TEXT_ADDR + 0x800; /* overlaps segment 0 */
	expect_error(&req, "kernel.img", "segments 0 and 1 overlap");
	phdr(&img, 1)->p_paddr = DATA_ADDR;

	/* p_filesz > p_memsz */
	phdr(&img, 1)->p_memsz = 0x100;
	expect_error(&req, "kernel.img", "larger than its memory size");
	phdr(&img, 1)->p_memsz = 0x3000;

	/* file offset that wraps */
	uint64_t saved = phdr(&img, 1)->p_offset;
	phdr(&img, 1)->p_offset = UINT64_MAX - 0x10;
	expect_error(&req, "kernel.img", "truncated: segment 1");
	phdr(&img, 1)->p_offset = saved;

	/* entry outside every segment */
	ehdr(&img)->e_entry = 0x5000000;
	expect_error(&req, "kernel.img", "entry point 0x5000000 is in no loadable segment");
	ehdr(&img)->e_entry = TEXT_ADDR;

	/* no PT_LOAD */
	phdr(&img, 0)->p_type = PT_NULL;
	phdr(&img, 1)->p_type = PT_NOTE;
	phdr(&img, 1)->p_filesz = 0; /* an empty note segment */
	expect_error(&req, "kernel.img", "no loadable (PT_LOAD) segment");
	free(img.data);

	/* bad magic, 32-bit, wrong machine, other header fields */
	img = simple_elf();
	req = request(&g, img.data, img.size);
	img.data[1] = 'X';
	expect_error(&req, "kernel.img", "not an ELF or bzImage");
	img.data[1] = 'E';
	img.data[EI_CLASS] = ELFCLASS32;
	expect_error(&req, "kernel.img", "32-bit ELF");
	img.data[EI_CLASS] = 7;
	expect_error(&req, "kernel.img", "bad ELF class");
	img.data[EI_CLASS] = ELFCLASS64;
	img.data[EI_DATA] = ELFDATA2MSB;
	expect_error(&req, "kernel.img", "big-endian");
	img.data[EI_DATA] = ELFDATA2LSB;
	ehdr(&img)->e_machine = EM_AARCH64;
	expect_error(&req, "kernel.img", "wrong architecture: ELF machine 183 (AArch64)");
	ehdr(&img)->e_machine = EM_386;
	expect_error(&req, "kernel.img", "wrong architecture");
	ehdr(&img)->e_machine = EM_X86_64;
	ehdr(&img)->e_type = ET_REL;
	expect_error(&req, "kernel.img", "not an executable");
	ehdr(&img)->e_type = ET_EXEC;
	ehdr(&img)->e_phentsize = 32;
	expect_error(&req, "kernel.img", "bad program header size");
	ehdr(&img)->e_phentsize = sizeof(Elf64_Phdr);
	ehdr(&img)->e_phnum = 0;
	expect_error(&req, "kernel.img", "no program headers");
	ehdr(&img)->e_phnum = PN_XNUM;
	expect_error(&req, "kernel.img", "program headers");
	ehdr(&img)->e_phnum = 2;
	ehdr(&img)->e_phoff = UINT64_MAX - 8;
	expect_error(&req, "kernel.img", "truncated: 2 program headers");
	ehdr(&img)->e_phoff = sizeof(Elf64_Ehdr);
	phdr(&img, 1)->p_type = PT_INTERP;
	expect_error(&req, "kernel.img", "dynamically linked");
	free(img.data);

	/* malformed notes */
	uint8_t notes[64];
	size_t len = add_note(notes, 0, "Linux", 0x100, "abcd", 4);
	img = elf_with_notes(notes, len);
	req = request(&g, img.data, img.size);
	uint32_t huge = 0xfffffff0;
	memcpy(img.data + phdr(&img, 1)->p_offset + 4, &huge, 4); /* descsz */
	expect_error(&req, "kernel.img", "malformed ELF note");
	memcpy(img.data + phdr(&img, 1)->p_offset, &huge, 4); /* namesz */
	expect_error(&req, "kernel.img", "malformed ELF note");
	phdr(&img, 1)->p_filesz = 7; /* a note header cut short */
	expect_error(&req, "kernel.img", "malformed ELF note");
	phdr(&img, 1)->p_filesz = img.size; /* a note segment past the file end */
	expect_error(&req, "kernel.img", "truncated: note segment 1");
	free(img.data);

	/* no vCPU */
	img = simple_elf();
	req = request(&g, img.data, img.size);
	req.nr_cpus = 0;
	expect_error(&req, "kernel.img", "vCPUs");
	req.nr_cpus = 255;
	expect_error(&req, "kernel.img", "vCPUs");
	free(img.data);
	guest_fini(&g);
}

static void test_elf_initrd_too_big(void **state)
{
	struct image img = simple_elf();
	size_t isize = 63 * MiB;
	uint8_t *initrd = calloc(1, isize);
	struct guest g;

	(void)state;
	guest_init(&g, 64 * MiB);
	struct boot_request req = request(&g, img.data, img.size);
	req.initrd.data = initrd;
	req.initrd.size = isize;
	expect_error(&req, "initrd.img", "memory size 64 MiB is too small for kernel and initramfs");
	free(initrd);
	free(img.data);
	guest_fini(&g);
}

/* ---------------------------------------------------------------- bzImage */

struct bz_opts {
	uint8_t setup_sects;
	uint16_t version;
	uint64_t kernel_size;
	uint32_t init_size;
	uint64_t pref_address;
	uint32_t kernel_alignment;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	uint16_t xloadflags;
	uint8_t loadflags;
};

static const struct bz_opts bz_default = {
	.setup_sects = 4,
	.version = 0x020f,
	.kernel_size = 64 * KiB,
	.init_size = 4 * MiB,
	.pref_address = 16 * MiB,
	.kernel_alignment = 2 * MiB,
	.cmdline_size = 2047,
	.initrd_addr_max = 0x7fffffff,
	.xloadflags = BP_XLF_KERNEL_64 | BP_XLF_CAN_BE_LOADED_ABOVE_4G,
	.loadflags = BP_LOADED_HIGH,
};

static uint64_t bz_setup_size(const struct bz_opts *o)
{
	return ((uint64_t)(o->setup_sects ? o->setup_sects : 4) + 1) * 512;
}

static struct image make_bzimage(const struct bz_opts *o)
{
	uint64_t setup = bz_setup_size(o);
	struct image img = { .size = setup + o->kernel_size };
	struct setup_header h = {
		.setup_sects = o->setup_sects,
		.syssize = (uint32_t)(o->kernel_size / 16),
		.vid_mode = 0xfffd,
		.boot_flag = 0xaa55,
		.jump = 0x6aeb, /* jmp 0x26c */
		.header = BP_HDR_MAGIC,
		.version = o->version,
		.kernel_version = 0x1234,
		.loadflags = o->loadflags | BP_QUIET_FLAG,
		.code32_start = 0x100000,
		.initrd_addr_max = o->initrd_addr_max,
		.kernel_alignment = o->kernel_alignment,
		.relocatable_kernel = 1,
		.min_alignment = 21,
		.xloadflags = o->xloadflags,
		.cmdline_size = o->cmdline_size,
		.payload_offset = 0x100,
		.payload_length = 0x200,
		.pref_address = o->pref_address,
		.init_size = o->init_size,
		.handover_offset = 0x190,
		.kernel_info_offset = 0x300,
	};

	img.data = calloc(1, img.size);
	assert_non_null(img.data);
	img.data[0] = 0x4d; /* "MZ" */
	img.data[1] = 0x5a;
	memcpy(img.data + 0x1f1, &h, sizeof(h));
	for (uint64_t i = 0; i < o->kernel_size; i++)
		img.data[setup + i] = pattern(i);
	return img;
}

static void test_bz_load(void **state)
{
	struct bz_opts o = bz_default;
	struct image img = make_bzimage(&o);
	size_t isize = 1 * MiB + 5;
	uint8_t *initrd = make_initrd(isize);
	struct guest g;
	struct boot_entry entry;

	(void)state;
	guest_init(&g, 64 * MiB);
	struct boot_request req = request(&g, img.data, img.size);
	req.initrd.data = initrd;
	req.initrd.size = isize;
	req.cmdline = "console=ttyS0 earlyprintk=ttyS0 root=/dev/vda";
	req.nr_cpus = 2;
	assert_true(loader__is_linux(&req.kernel));
	expect_load(&req, &entry);
	assert_int_equal(entry.rip, 16 * MiB + 0x200);
	assert_true(entry.is_linux);
	assert_false(entry.aps_start_at_entry);
	assert_memory_equal(gptr(&g, 16 * MiB, o.kernel_size), img.data + bz_setup_size(&o),
			    o.kernel_size);

	struct boot_params *bp = zero_page(&g);
	const uint8_t *raw = (const uint8_t *)bp;
	/* Copied from the file: compare the fields the loader leaves alone. */
	assert_memory_equal(raw + 0x1f1, img.data + 0x1f1, 0x1fa - 0x1f1); /* up to vid_mode */
	assert_memory_equal(raw + 0x1fc, img.data + 0x1fc, 0x210 - 0x1fc); /* root_dev .. kernel_version */
	assert_memory_equal(raw + 0x22c, img.data + 0x22c, 0x250 - 0x22c); /* initrd_addr_max .. payload */
	assert_memory_equal(raw + 0x258, img.data + 0x258, 0x26c - 0x258); /* pref_address .. kernel_info */
	assert_int_equal(bp->hdr.version, 0x020f);
	assert_int_equal(bp->hdr.init_size, 4 * MiB);
	assert_int_equal(bp->hdr.boot_flag, 0xaa55);
	/* Filled by the loader. */
	assert_int_equal(raw[0x210], 0xff);
	assert_int_equal(bp->hdr.loadflags & (BP_LOADED_HIGH | BP_CAN_USE_HEAP),
			 BP_LOADED_HIGH | BP_CAN_USE_HEAP);
	assert_true(bp->hdr.loadflags & BP_QUIET_FLAG); /* the kernel's own flags kept */
	assert_int_equal(bp->hdr.heap_end_ptr, BZ_HEAP_END);
	assert_int_equal(bp->hdr.vid_mode, 0xffff);
	assert_int_equal(bp->hdr.code32_start, 16 * MiB);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	assert_int_equal(bp->ext_cmd_line_ptr, 0);
	assert_string_equal((char *)gptr(&g, BOOT_CMDLINE_ADDR, 64), req.cmdline);
	check_initrd(&g, initrd, isize, 20 * MiB, o.initrd_addr_max);
	check_e820(&g);
	free(initrd);
	free(img.data);
	guest_fini(&g);
}

static void test_bz_setup_sects_zero_and_alignment(void **state)
{
	struct bz_opts o = bz_default;
	struct image img;
	struct guest g;
	struct boot_entry entry;

	(void)state;
	guest_init(&g, 64 * MiB);
	o.setup_sects = 0; /* means 4 */
	o.pref_address = 0x1100000; /* misaligned for 2 MiB: goes up to 18 MiB */
	img = make_bzimage(&o);
	assert_int_equal(bz_setup_size(&o), 5 * 512);
	struct boot_request req = request(&g, img.data, img.size);
	expect_load(&req, &entry);
	assert_int_equal(entry.rip, 18 * MiB + 0x200);
	assert_memory_equal(gptr(&g, 18 * MiB, o.kernel_size), img.data + 5 * 512, o.kernel_size);
	free(img.data);

	o.pref_address = 0; /* no preference: 16 MiB */
	o.setup_sects = 30;
	img = make_bzimage(&o);
	req = request(&g, img.data, img.size);
	expect_load(&req, &entry);
	assert_int_equal(entry.rip, 16 * MiB + 0x200);
	assert_memory_equal(gptr(&g, 16 * MiB, o.kernel_size), img.data + 31 * 512, o.kernel_size);
	free(img.data);
	guest_fini(&g);
}

static void test_bz_initrd_addr_max(void **state)
{
	struct bz_opts o = bz_default;
	struct image img;
	size_t isize = 2 * MiB;
	uint8_t *initrd = make_initrd(isize);
	struct guest g;
	struct boot_entry entry;

	(void)state;
	guest_init(&g, 1 * GiB);
	o.initrd_addr_max = 0x1fffffff;
	img = make_bzimage(&o);
	struct boot_request req = request(&g, img.data, img.size);
	req.initrd.data = initrd;
	req.initrd.size = isize;
	expect_load(&req, &entry);
	check_initrd(&g, initrd, isize, 20 * MiB, 0x1fffffff);
	assert_int_equal(zero_page(&g)->hdr.ramdisk_image, 0x20000000 - 2 * MiB);

	/* No room between the kernel's init_size and initrd_addr_max. */
	free(img.data);
	o.initrd_addr_max = 16 * MiB + 4 * MiB + 1 * MiB - 1;
	img = make_bzimage(&o);
	req.kernel.data = img.data;
	expect_error(&req, "initrd.img", "too small for kernel and initramfs");
	free(img.data);
	free(initrd);
	guest_fini(&g);
}

static void test_bz_errors(void **state)
{
	struct bz_opts o = bz_default;
	struct image img;
	struct guest g;
	struct boot_request req;

	(void)state;
	guest_init(&g, 64 * MiB);

	o.version = 0x020b;
	img = make_bzimage(&o);
	req = request(&g, img.data, img.size);
	expect_error(&req, "kernel.img", "boot protocol 2.11 is too old");
	free(img.data);

	o = bz_default;
	o.xloadflags = 0;
	img = make_bzimage(&o);
	req = request(&g, img.data, img.size);
	expect_error(&req, "kernel.img", "no 64-bit entry point");
	free(img.data);

	o = bz_default;
	o.loadflags = 0;
	img = make_bzimage(&o);
	req = request(&g, img.data, img.size);
	expect_error(&req, "kernel.img", "zImage");
	free(img.data);

	o = bz_default;
	img = make_bzimage(&o);
	req = request(&g, img.data, img.size);
	/* truncated: header cut, protected-mode kernel cut, setup sectors past the end */
	req.kernel.size = 0x230;
	expect_error(&req, "kernel.img", "truncated: the setup header ends at 0x26c");
	req.kernel.size = img.size - 16;
	expect_error(&req, "kernel.img", "truncated: the header says the protected-mode kernel");
	req.kernel.size = bz_setup_size(&o);
	expect_error(&req, "kernel.img", "truncated: the setup code");
	req.kernel.size = img.size;
	img.data[0x1f1] = 200;
	expect_error(&req, "kernel.img", "truncated: the setup code");
	img.data[0x1f1] = 4;
	/* header too short for the fields we need */
	img.data[0x201] = 0x20;
	expect_error(&req, "kernel.img", "too short for boot protocol");
	img.data[0x201] = 0x6a;
	/* bad boot flag, jump, alignment, payload */
	img.data[0x1fe] = 0;
	expect_error(&req, "kernel.img", "bad boot_flag");
	img.data[0x1fe] = 0x55;
	img.data[0x200] = 0xe9;
	expect_error(&req, "kernel.img", "no short jump");
	img.data[0x200] = 0xeb;
	((struct setup_header *)(img.data + 0x1f1))->kernel_alignment = 3 * MiB;
	expect_error(&req, "kernel.img", "bad kernel_alignment");
	((struct setup_header *)(img.data + 0x1f1))->kernel_alignment = 2 * MiB;
	((struct setup_header *)(img.data + 0x1f1))->payload_offset = 0xfffffff0;
	expect_error(&req, "kernel.img", "compressed payload");
	((struct setup_header *)(img.data + 0x1f1))->payload_offset = 0x100;
	((struct setup_header *)(img.data + 0x1f1))->pref_address = 0xfffffffffff00000ULL;
	expect_error(&req, "kernel.img", "load address");
	((struct setup_header *)(img.data + 0x1f1))->pref_address = 16 * MiB;

	/* command line too long for cmdline_size */
	((struct setup_header *)(img.data + 0x1f1))->cmdline_size = 255;
	char line[300];
	memset(line, 'c', 299);
	line[299] = '\0';
	req.cmdline = line;
	expect_error(&req, "kernel.img", "command line is 299 bytes, the kernel accepts at most 255");
	req.cmdline = "console=ttyS0";
	free(img.data);

	/* RAM too small for init_size at 16 MiB */
	o = bz_default;
	o.init_size = 64 * MiB;
	img = make_bzimage(&o);
	req = request(&g, img.data, img.size);
	expect_error(&req, "kernel.img", "memory size 64 MiB is too small for the kernel");
	free(img.data);

	/* initramfs too big */
	o = bz_default;
	img = make_bzimage(&o);
	req = request(&g, img.data, img.size);
	size_t isize = 45 * MiB;
	uint8_t *initrd = calloc(1, isize);
	req.initrd.data = initrd;
	req.initrd.size = isize;
	expect_error(&req, "initrd.img", "memory size 64 MiB is too small for kernel and initramfs");
	req.initrd.size = 44 * MiB; /* 20 MiB kernel end + 44 MiB = 64 MiB: just fits */
	struct boot_entry entry;
	expect_load(&req, &entry);
	assert_int_equal(zero_page(&g)->hdr.ramdisk_image, 20 * MiB);
	free(initrd);
	free(img.data);
	guest_fini(&g);
}

/* ---------------------------------------------------------------- e820, MP table */

static void test_e820_4g(void **state)
{
	struct image img = simple_elf();
	struct guest g;
	struct boot_entry entry;

	(void)state;
	guest_init(&g, 4 * GiB);
	struct boot_request req = request(&g, img.data, img.size);
	expect_load(&req, &entry);
	check_e820(&g);
	struct boot_params *bp = zero_page(&g);
	assert_int_equal(bp->e820_entries, 4);
	assert_int_equal(bp->e820_table[2].addr, 1 * MiB);
	assert_int_equal(bp->e820_table[2].addr + bp->e820_table[2].size, 3 * GiB);
	assert_int_equal(bp->e820_table[3].addr, 4 * GiB);
	assert_int_equal(bp->e820_table[3].size, 1 * GiB);
	assert_int_equal(bp->e820_table[3].type, E820_RAM);
	uint64_t usable = 0;
	for (unsigned i = 0; i < bp->e820_entries; i++)
		if (bp->e820_table[i].type == E820_RAM)
			usable += bp->e820_table[i].size;
	assert_int_equal(usable, 4 * GiB - (MEMMAP_HIGH_START - MEMMAP_EBDA_START));

	/* An initramfs still goes high in low RAM, under 3 GiB and initrd_addr_max. */
	size_t isize = 4096 * 3;
	uint8_t *initrd = make_initrd(isize);
	req.initrd.data = initrd;
	req.initrd.size = isize;
	expect_load(&req, &entry);
	check_initrd(&g, initrd, isize, DATA_ADDR + 0x3000, 0x7fffffff);
	assert_int_equal(bp->hdr.ramdisk_image, 0x80000000 - isize);
	free(initrd);
	free(img.data);
	guest_fini(&g);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void check_mptable(struct guest *g, unsigned nr_cpus)
{
	const struct mpf_intel *mpf = gptr(g, BOOT_MPTABLE_ADDR, sizeof(*mpf));
	unsigned cpus = 0, buses = 0, ioapics = 0, intsrc = 0, lint = 0;

	assert_memory_equal(mpf->signature, "_MP_", 4);
	assert_int_equal(mpf->length, 1);
	assert_int_equal(mpf->specification, 4);
	assert_int_equal(sum((const uint8_t *)mpf, 16), 0);
	assert_int_equal(mpf->feature1, 0);

	const struct mpc_table *mpc = gptr(g, mpf->physptr, sizeof(*mpc));
	assert_memory_equal(mpc->signature, "PCMP", 4);
	assert_int_equal(mpc->spec, 4);
	assert_int_equal(mpc->lapic, 0xfee00000);
	assert_true(mpf->physptr + mpc->length <= MEMMAP_HIGH_START);
	assert_int_equal(mpc->length, mptable__size(nr_cpus) - 16);
	assert_int_equal(sum((const uint8_t *)mpc, mpc->length), 0);

	const uint8_t *p = (const uint8_t *)(mpc + 1), *end = (const uint8_t *)mpc + mpc->length;
	for (unsigned i = 0; i < mpc->oemcount; i++) {
		assert_true(p < end);
		switch (p[0]) {
		case MP_PROCESSOR: {
			const struct mpc_cpu *c = (const void *)p;
			assert_int_equal(c->apicid, cpus);
			assert_true(c->cpuflag & MPC_CPU_ENABLED);
			assert_int_equal(!!(c->cpuflag & MPC_CPU_BSP), cpus == 0);
			cpus++;
			p += sizeof(*c);
			break;
		}
		case MP_BUS:
			assert_memory_equal(((const struct mpc_bus *)p)->bustype, "ISA   ", 6);
			buses++;
			p += 8;
			break;
		case MP_IOAPIC: {
			const struct mpc_ioapic *io = (const void *)p;
			assert_int_equal(io->apicid, nr_cpus);
			assert_int_equal(io->apicaddr, 0xfec00000);
			assert_true(io->flags & MPC_APIC_USABLE);
			ioapics++;
			p += 8;
			break;
		}
		case MP_INTSRC: {
			const struct mpc_intsrc *s = (const void *)p;
			assert_int_equal(s->srcbusirq, intsrc);
			assert_int_equal(s->dstirq, intsrc);
			assert_int_equal(s->dstapic, nr_cpus);
			intsrc++;
			p += 8;
			break;
		}
		case MP_LINTSRC:
			lint++;
			p += 8;
			break;
		default:
			fail_msg("unknown MP entry type %u", p[0]);
		}
	}
	assert_ptr_equal(p, end);
	assert_int_equal(cpus, nr_cpus);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(intsrc, 16);
	assert_int_equal(lint, 2);
}

static void test_mptable(void **state)
{
	struct image img = simple_elf();
	struct guest g;
	struct boot_entry entry;
	static const unsigned counts[] = { 1, 2, 8, 64, MPTABLE_MAX_CPUS };

	(void)state;
	guest_init(&g, 64 * MiB);
	for (unsigned i = 0; i < ARRAY_SIZE(counts); i++) {
		struct boot_request req = request(&g, img.data, img.size);
		req.nr_cpus = counts[i];
		expect_load(&req, &entry);
		check_mptable(&g, counts[i]);
	}
	free(img.data);
	guest_fini(&g);
}

static void test_small_ram(void **state)
{
	struct image img = simple_elf();
	struct guest g;
	struct boot_entry entry;

	(void)state;
	guest_init(&g, MEMMAP_MIN_RAM); /* 2 MiB: the ELF's data at 2 MiB does not fit */
	struct boot_request req = request(&g, img.data, img.size);
	expect_error(&req, "kernel.img", "is outside guest RAM (RAM: 0x0-0x1fffff)");
	phdr(&img, 1)->p_paddr = TEXT_ADDR + 0x1000;
	expect_load(&req, &entry);
	check_e820(&g);
	free(img.data);
	guest_fini(&g);
}

/* ---------------------------------------------------------------- fuzz */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * Random corruption of valid images (bytes in the headers, truncation):
 * the loader must never crash (ASan/UBSan watch) and must either load or
 * fail with one line that names the file.
 */
static void fuzz_one(struct guest *g, const struct image *orig, size_t hot_len, unsigned iters)
{
	uint8_t *buf = malloc(orig->size);
	unsigned ok = 0, failed = 0;

	for (unsigned it = 0; it < iters; it++) {
		size_t size = orig->size;
		char err[512];
		struct boot_entry entry;

		memcpy(buf, orig->data, orig->size);
		unsigned flips = 1 + rnd() % 6;
		for (unsigned f = 0; f < flips; f++) {
			size_t at = rnd() % hot_len;
			switch (rnd() % 4) {
			case 0: buf[at] = (uint8_t)rnd(); break;
			case 1: buf[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
			case 2: buf[at] = 0xff; break;
			default: buf[at] = 0; break;
			}
		}
		if (rnd() % 4 == 0)
			size = rnd() % (orig->size + 1);
		struct boot_request req = request(g, buf, size);
		req.cmdline = "x";
		err[0] = '\0';
		if (loader__load(&req, &entry, err, sizeof(err)) == 0) {
			ok++;
			assert_true(entry.rip < 4 * GiB);
		} else {
			failed++;
			assert_true(strncmp(err, "kernel.img: ", 12) == 0);
			assert_null(strchr(err, '\n'));
		}
		(void)loader__is_linux(&req.kernel);
	}
	print_message("fuzz: %u loaded, %u refused\n", ok, failed);
	free(buf);
}

static void test_fuzz(void **state)
{
	struct guest g;
	uint8_t notes[128];
	uint32_t v = 1;
	size_t len;

	(void)state;
	guest_init(&g, 64 * MiB);
	len = add_note(notes, 0, "Linux", 0x100, &v, 4);
	len = add_note(notes, len, TG_NOTE_NAME, TG_NOTE_ALL_CPUS_64, &v, 4);
	len = add_note(notes, len, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &v, 4);
	struct seg segs[] = {
		{ .type = PT_LOAD, .paddr = TEXT_ADDR, .filesz = 0x100, .memsz = 0x1000 },
		{ .type = PT_NOTE, .filesz = len, .data = notes, .align = 4 },
		{ .type = PT_LOAD, .paddr = DATA_ADDR, .filesz = 0x40, .memsz = 0x2000 },
	};
	struct image elf = make_elf(segs, 3, TEXT_ADDR);
	fuzz_one(&g, &elf, elf.size, 20000);
	free(elf.data);

	struct bz_opts o = bz_default;
	o.init_size = 1 * MiB;
	o.kernel_size = 4096;
	struct image bz = make_bzimage(&o);
	/* Corrupt only the setup header area: the rest is opaque kernel bytes. */
	fuzz_one(&g, &bz, 0x270, 20000);
	free(bz.data);
	guest_fini(&g);
}

/* ---------------------------------------------------------------- the real kernel */

static uint8_t *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) < 0 || st.st_size <= 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*size = (size_t)st.st_size;
	return buf;
}

static const char *real_bzimage_path(char *buf, size_t len)
{
	const char *env = getenv("VMSCOPE_BZIMAGE");
	glob_t gl;

	if (env && *env)
		return env;
	if (glob("/boot/vmlinuz-*", 0, NULL, &gl) != 0)
		return NULL;
	snprintf(buf, len, "%s", gl.gl_pathv[gl.gl_pathc - 1]);
	globfree(&gl);
	return buf;
}

static const char *real_vmlinux_path(char *buf, size_t len)
{
	const char *env = getenv("VMSCOPE_VMLINUX");
	const char *dir = getenv("VMSCOPE_LINUX_FIXTURES");

	if (env && *env)
		return env;
	snprintf(buf, len, "%s/vmlinux", dir && *dir ? dir : "tests/work/linux-fixtures");
	return buf;
}

static const char *real_cmdline =
	"console=ttyS0 earlyprintk=ttyS0 VMSCOPE-TEST noxsave clearcpuid=cx16,xsave";

static void test_real_bzimage(void **state)
{
	char pathbuf[512];
	const char *path = real_bzimage_path(pathbuf, sizeof(pathbuf));
	size_t size = 0;
	uint8_t *data = path ? read_file(path, &size) : NULL;
	struct guest g;
	struct boot_entry entry;

	(void)state;
	if (!data) {
		print_message("skipped: no readable bzImage (/boot/vmlinuz-* or $VMSCOPE_BZIMAGE)\n");
		skip();
	}
	guest_init(&g, 512 * MiB);
	struct boot_request req = request(&g, data, size);
	req.kernel.name = path;
	req.cmdline = real_cmdline;
	uint8_t fake_initrd[8192];
	memset(fake_initrd, 0x5a, sizeof(fake_initrd));
	req.initrd.data = fake_initrd;
	req.initrd.size = sizeof(fake_initrd);
	req.nr_cpus = 2;
	assert_true(loader__is_linux(&req.kernel));
	expect_load(&req, &entry);

	struct bzimage_info info;
	char err[256];
	assert_int_equal(bzimage__parse(&req.kernel, &g.map, &info, err, sizeof(err)), 0);
	struct boot_params *bp = zero_page(&g);
	print_message("%s: protocol %u.%02u, load 0x%" PRIx64 ", init_size 0x%x, entry 0x%" PRIx64
		      ", cmdline_size %u, initrd at 0x%x\n",
		      path, bp->hdr.version >> 8, bp->hdr.version & 0xff, info.load_addr,
		      bp->hdr.init_size, entry.rip, bp->hdr.cmdline_size, bp->hdr.ramdisk_image);
	assert_int_equal(entry.rip, info.load_addr + 0x200);
	assert_int_equal(info.load_addr, bp->hdr.pref_address);
	assert_true(entry.is_linux);
	assert_true(bp->hdr.version >= 0x020c);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_string_equal((char *)gptr(&g, bp->hdr.cmd_line_ptr, strlen(real_cmdline) + 1),
			    real_cmdline);
	assert_true(bp->hdr.ramdisk_image >= info.load_addr + bp->hdr.init_size);
	assert_memory_equal(gptr(&g, info.load_addr, info.kernel_size), data + info.setup_size,
			    info.kernel_size);
	check_e820(&g);
	check_mptable(&g, 2);

	/* 64 MiB is less than 16 MiB + init_size of a distribution kernel. */
	struct guest small;
	guest_init(&small, 64 * MiB);
	struct boot_request r2 = request(&small, data, size);
	r2.kernel.name = path;
	expect_error(&r2, path, "is too small for the kernel");
	guest_fini(&small);
	free(data);
	guest_fini(&g);
}

static void test_real_vmlinux(void **state)
{
	char pathbuf[512];
	const char *path = real_vmlinux_path(pathbuf, sizeof(pathbuf));
	size_t size = 0;
	uint8_t *data = read_file(path, &size);
	struct guest g;
	struct boot_entry entry;

	(void)state;
	if (!data) {
		print_message("skipped: no %s (make it with tests/integration/make_linux_fixtures.sh "
			      "tests/work/linux-fixtures, or set VMSCOPE_VMLINUX)\n", path);
		skip();
	}
	guest_init(&g, 512 * MiB);
	struct boot_request req = request(&g, data, size);
	req.kernel.name = path;
	req.cmdline = real_cmdline;
	req.nr_cpus = 2;
	assert_true(loader__is_linux(&req.kernel));
	expect_load(&req, &entry);
	assert_true(entry.is_linux);
	assert_false(entry.aps_start_at_entry);

	/* e_entry is the physical address of startup_64, the start of the first PT_LOAD. */
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	memcpy(&eh, data, sizeof(eh));
	memcpy(&ph, data + eh.e_phoff, sizeof(ph));
	print_message("%s: e_entry 0x%" PRIx64 ", first PT_LOAD paddr 0x%" PRIx64 " vaddr 0x%" PRIx64
		      ", 64-bit entry 0x%" PRIx64 "\n",
		      path, (uint64_t)eh.e_entry, (uint64_t)ph.p_paddr, (uint64_t)ph.p_vaddr, entry.rip);
	assert_int_equal(entry.rip, eh.e_entry);
	assert_int_equal(eh.e_entry, ph.p_paddr);
	assert_memory_equal(gptr(&g, entry.rip, 64), data + ph.p_offset, 64);

	struct elf_info info;
	char err[256];
	assert_int_equal(elf__parse(&req.kernel, &g.map, &info, err, sizeof(err)), 0);
	assert_true(info.linux_note);
	print_message("%s: PVH entry %s0x%" PRIx64 ", kernel end 0x%" PRIx64 "\n", path,
		      info.has_pvh_entry ? "" : "(none) ", info.pvh_entry, info.kernel_end);

	struct boot_params *bp = zero_page(&g);
	assert_memory_equal(&bp->hdr.header, "HdrS", 4);
	assert_int_equal(bp->hdr.cmd_line_ptr, BOOT_CMDLINE_ADDR);
	check_e820(&g);
	check_mptable(&g, 2);

	char *longline = malloc(2100);
	memset(longline, 'q', 2099);
	longline[2099] = '\0';
	req.cmdline = longline;
	expect_error(&req, path, "command line is 2099 bytes, the kernel accepts at most 2047");
	free(longline);
	free(data);
	guest_fini(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_segments_bss_entry),
		cmocka_unit_test(test_elf_vmscope_note),
		cmocka_unit_test(test_elf_linux_notes_and_pvh),
		cmocka_unit_test(test_elf_linux_banner),
		cmocka_unit_test(test_elf_virtual_entry),
		cmocka_unit_test(test_elf_initrd_and_cmdline),
		cmocka_unit_test(test_elf_cmdline_too_long_linux),
		cmocka_unit_test(test_elf_errors),
		cmocka_unit_test(test_elf_initrd_too_big),
		cmocka_unit_test(test_bz_load),
		cmocka_unit_test(test_bz_setup_sects_zero_and_alignment),
		cmocka_unit_test(test_bz_initrd_addr_max),
		cmocka_unit_test(test_bz_errors),
		cmocka_unit_test(test_e820_4g),
		cmocka_unit_test(test_mptable),
		cmocka_unit_test(test_small_ram),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_real_bzimage),
		cmocka_unit_test(test_real_vmlinux),
	};

	return cmocka_run_group_tests_name("loaders", tests, NULL, NULL);
}
