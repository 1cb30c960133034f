/*
 * Unit tests for offline targets: ELF core dumps as QEMU's dump-guest-memory
 * writes them (offline_core.c), built here byte by byte, good and broken.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>

#include "lib_helpers.h"

/* ---- A small ELF core writer ---------------------------------------------- */

struct seg {
	uint32_t type;       /* PT_LOAD or PT_NOTE */
	uint64_t paddr;
	const void *data;
	uint64_t size;
};

struct blob {
	uint8_t *p;
	size_t len;
};

static void blob_put(struct blob *b, const void *data, size_t n)
{
	b->p = realloc(b->p, b->len + n + 8);
	memcpy(b->p + b->len, data, n);
	b->len += n;
	while (b->len % 4)
		b->p[b->len++] = 0;
}

static void note_put(struct blob *b, const char *name, uint32_t type, const void *desc,
		     uint32_t descsz)
{
	uint32_t hdr[3] = { (uint32_t)strlen(name) + 1, descsz, type };

	blob_put(b, hdr, sizeof(hdr));
	blob_put(b, name, hdr[0]);
	blob_put(b, desc, descsz);
}

/* The core file: ELF header, program headers, then each segment's bytes. */
static struct blob core_build(const struct seg *segs, unsigned n)
{
	struct blob out = { 0 };
	Elf64_Ehdr eh = { 0 };
	size_t off = sizeof(eh) + n * sizeof(Elf64_Phdr);

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (uint16_t)n;

	for (unsigned i = 0; i < n; i++)
		off += segs[i].size + 8;
	out.p = calloc(1, off + 4096);
	out.len = sizeof(eh) + n * sizeof(Elf64_Phdr);
	memcpy(out.p, &eh, sizeof(eh));
	for (unsigned i = 0; i < n; i++) {
		Elf64_Phdr ph = {
			.p_type = segs[i].type,
			.p_offset = out.len,
			.p_paddr = segs[i].paddr,
			.p_filesz = segs[i].size,
			.p_memsz = segs[i].size,
			.p_align = segs[i].type == PT_NOTE ? 4 : 1,
		};

		memcpy(out.p + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
		memcpy(out.p + out.len, segs[i].data, segs[i].size);
		out.len += segs[i].size;
		/* Odd offsets on purpose: the reader must not assume alignment. */
		out.len += 3;
	}
	return out;
}

static Elf64_Phdr *phdr(struct blob *b, unsigned i)
{
	return (Elf64_Phdr *)(b->p + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

static vmscope_t *open_blob(const struct blob *b, size_t len, int *err)
{
	char path[64];
	vmscope_t *vm;
	int fd = memfd_create("vmscope-core", MFD_CLOEXEC);

	if (fd < 0 || write(fd, b->p, len) != (ssize_t)len)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	vm = vmscope_open_core(path, err);
	close(fd); /* the mapping keeps the file */
	return vm;
}

/* ---- CPU state notes ------------------------------------------------------ */

#define PRSTATUS_SIZE 336
#define QEMU_STATE_SIZE 440

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* NT_PRSTATUS for cpu: distinctive values per register. */
static void make_prstatus(uint8_t *d, unsigned cpu)
{
	uint8_t *r = d + 112; /* pr_reg */

	memset(d, 0, PRSTATUS_SIZE);
	put32(d + 32, 100 + cpu); /* pr_pid */
	for (unsigned i = 0; i < 27; i++)
		put64(r + i * 8, 0x1000 * (cpu + 1) + i);
	put64(r + 16 * 8, 0xffffffff81000000ULL + cpu); /* rip */
	put64(r + 17 * 8, 0x10);                        /* cs */
	put64(r + 20 * 8, 0x18);                        /* ss */
	put64(r + 21 * 8, 0x7f0000001000ULL);           /* fs_base */
	put64(r + 22 * 8, 0xffff888000000000ULL + cpu); /* gs_base */
}

/* QEMUCPUState for cpu (version 1, size as given). */
static void make_qemu_state(uint8_t *d, unsigned cpu, uint32_t size, uint64_t cr3)
{
	memset(d, 0, QEMU_STATE_SIZE);
	put32(d, 1);
	put32(d + 4, size);
	for (unsigned i = 0; i < 16; i++)
		put64(d + 8 + i * 8, 0xa000 * (cpu + 1) + i); /* rax..r15 */
	put64(d + 136, 0xffffffff81234567ULL + cpu);      /* rip */
	put64(d + 144, 0x246);                             /* rflags */
	/* cs: selector 0x10, P | S | L | DPL 0, type 0xb */
	put32(d + 152, 0x10);
	put32(d + 156, 0xffffffff);
	put32(d + 160, (1u << 15) | (1u << 12) | (1u << 21) | (0xbu << 8) | (1u << 23));
	put64(d + 168, 0);
	/* gs (index 4): base */
	put32(d + 152 + 4 * 24, 0);
	put64(d + 152 + 4 * 24 + 16, 0xffff888007a00000ULL + cpu);
	/* tr (index 7) */
	put32(d + 152 + 7 * 24, 0x40);
	put32(d + 152 + 7 * 24 + 8, (1u << 15) | (0xbu << 8));
	/* gdt (8), idt (9) */
	put32(d + 152 + 8 * 24 + 4, 0x7f);
	put64(d + 152 + 8 * 24 + 16, 0xfffffe0000001000ULL);
	put32(d + 152 + 9 * 24 + 4, 0xfff);
	put64(d + 152 + 9 * 24 + 16, 0xfffffe0000000000ULL);
	/* cr0, cr1, cr2, cr3, cr4 */
	put64(d + 392, 0x80050033);
	put64(d + 408, 0xdead000);
	put64(d + 416, cr3);
	put64(d + 424, 0x3606f0);
	put64(d + 432, 0xffff888007b00000ULL);
}

/* ---- Fixture: a two-CPU core with page tables ----------------------------- */

#define LOW_SIZE (256 * KIB) /* gpa 0: page tables from 64 KiB */
#define HIGH_GPA MIB
#define HIGH_SIZE (64 * KIB)
#define KTEXT 0xffffffff81000000ULL

struct core_image {
	struct gmem low;    /* the low memory, built with the page-table builder */
	uint8_t *high;
	uint64_t cr3;
	struct blob notes;
	struct blob file;
	size_t nr_segs;
};

static void image_build(struct core_image *ci, bool with_qemu, uint32_t qemu_size)
{
	uint8_t desc[512];
	struct seg segs[3];

	ci->low = (struct gmem){ .fd = -1, .mem = calloc(1, LOW_SIZE), .size = LOW_SIZE,
				 .next = 64 * KIB };
	ci->high = malloc(HIGH_SIZE);
	for (size_t i = 0; i < HIGH_SIZE; i++)
		ci->high[i] = (uint8_t)(i * 13 + 5);
	ci->cr3 = gmem_page(&ci->low);
	gmem_map(&ci->low, ci->cr3, KTEXT, HIGH_GPA, 4 * KIB, false);
	gmem_map(&ci->low, ci->cr3, KTEXT + 0x1000, 0x2000, 4 * KIB, false);
	memcpy(ci->low.mem + 0x2000, "linux_banner", 13);

	ci->notes = (struct blob){ 0 };
	for (unsigned cpu = 0; cpu < 2; cpu++) {
		make_prstatus(desc, cpu);
		note_put(&ci->notes, "CORE", NT_PRSTATUS, desc, PRSTATUS_SIZE);
	}
	note_put(&ci->notes, "VMCOREINFO", 0, "OSRELEASE=6.1\n", 14);
	if (with_qemu) {
		for (unsigned cpu = 0; cpu < 2; cpu++) {
			make_qemu_state(desc, cpu, qemu_size, ci->cr3 | (cpu ? 0x1 : 0));
			note_put(&ci->notes, "QEMU", 0, desc, qemu_size);
		}
	}
	/* Notes first, then memory out of order (high before low). */
	segs[0] = (struct seg){ PT_NOTE, 0, ci->notes.p, ci->notes.len };
	segs[1] = (struct seg){ PT_LOAD, HIGH_GPA, ci->high, HIGH_SIZE };
	segs[2] = (struct seg){ PT_LOAD, 0, ci->low.mem, LOW_SIZE };
	ci->nr_segs = 3;
	ci->file = core_build(segs, 3);
}

static void image_free(struct core_image *ci)
{
	free(ci->low.mem);
	free(ci->high);
	free(ci->notes.p);
	free(ci->file.p);
}

static void test_core_regions_and_regs(void **state)
{
	(void)state;
	struct core_image ci;
	struct vmscope_regs r;
	uint8_t buf[64];
	int err = 1;
	vmscope_t *vm;

	image_build(&ci, true, QEMU_STATE_SIZE);
	vm = open_blob(&ci.file, ci.file.len, &err);
	assert_non_null(vm);
	assert_int_equal(err, 0);

	assert_int_equal(vmscope_ram_size(vm), LOW_SIZE + HIGH_SIZE);
	assert_int_equal(vmscope_read_pa(vm, HIGH_GPA + 100, buf, 64), 64);
	assert_memory_equal(buf, ci.high + 100, 64);
	assert_int_equal(vmscope_read_pa(vm, 0x2000, buf, 13), 13);
	assert_string_equal((char *)buf, "linux_banner");
	/* The hole between the segments. */
	assert_int_equal(vmscope_read_pa(vm, LOW_SIZE - 10, buf, 64), 10);
	assert_int_equal(vmscope_read_pa(vm, LOW_SIZE, buf, 1), -EFAULT);
	assert_int_equal(vmscope_write_pa(vm, 0, buf, 1), -EROFS);

	assert_int_equal(vmscope_vcpu_count(vm), 2);
	assert_int_equal(vmscope_get_regs(vm, 1, &r), 0);
	/* General registers from the QEMU note. */
	assert_int_equal(r.rax, 0xa000 * 2 + 0);
	assert_int_equal(r.r15, 0xa000 * 2 + 15);
	assert_int_equal(r.rip, 0xffffffff81234568ULL);
	assert_int_equal(r.rflags, 0x246);
	assert_int_equal(r.cs.selector, 0x10);
	assert_int_equal(r.cs.type, 0xb);
	assert_int_equal(r.cs.flags, 1 | 2 | 4 | 16); /* present, S, L, G; DPL 0 */
	assert_int_equal(r.cs.limit, 0xffffffff);
	assert_int_equal(r.gs.base, 0xffff888007a00001ULL);
	assert_int_equal(r.tr.selector, 0x40);
	assert_int_equal(r.tr.flags, 1);
	assert_int_equal(r.gdt_base, 0xfffffe0000001000ULL);
	assert_int_equal(r.gdt_limit, 0x7f);
	assert_int_equal(r.idt_base, 0xfffffe0000000000ULL);
	assert_int_equal(r.idt_limit, 0xfff);
	assert_int_equal(r.cr0, 0x80050033);
	assert_int_equal(r.cr2, 0xdead000);
	assert_int_equal(r.cr3, ci.cr3 | 1);
	assert_int_equal(r.cr4, 0x3606f0);
	assert_int_equal(r.kernel_gs_base, 0xffff888007b00000ULL);
	assert_int_equal(r.efer, (1 << 8) | (1 << 10)); /* inferred: long mode */
	/* fs base from NT_PRSTATUS is kept where the QEMU note has it 0. */
	assert_int_equal(vmscope_get_regs(vm, 0, &r), 0);
	assert_int_equal(r.rip, 0xffffffff81234567ULL);
	assert_int_equal(vmscope_get_regs(vm, 2, &r), -EINVAL);
	assert_non_null(strstr(vmscope_last_error(vm), "out of range"));
	vmscope_close(vm);
	image_free(&ci);
}

static void test_core_prstatus_only(void **state)
{
	(void)state;
	struct core_image ci;
	struct vmscope_regs r;
	int err;
	vmscope_t *vm;

	image_build(&ci, false, 0);
	vm = open_blob(&ci.file, ci.file.len, &err);
	assert_non_null(vm);
	assert_int_equal(vmscope_vcpu_count(vm), 2);
	assert_int_equal(vmscope_get_regs(vm, 1, &r), 0);
	assert_int_equal(r.r15, 0x2000 + 0);
	assert_int_equal(r.rax, 0x2000 + 10);
	assert_int_equal(r.rdi, 0x2000 + 14);
	assert_int_equal(r.rip, 0xffffffff81000001ULL);
	assert_int_equal(r.rflags, 0x2000 + 18);
	assert_int_equal(r.rsp, 0x2000 + 19);
	assert_int_equal(r.cs.selector, 0x10);
	assert_int_equal(r.ss.selector, 0x18);
	assert_int_equal(r.fs.base, 0x7f0000001000ULL);
	assert_int_equal(r.gs.base, 0xffff888000000001ULL);
	assert_int_equal(r.cr3, 0); /* not in NT_PRSTATUS */
	assert_int_equal(r.efer, 0);
	vmscope_close(vm);
	image_free(&ci);
}

static void test_core_old_qemu_state(void **state)
{
	(void)state;
	struct core_image ci;
	struct vmscope_regs r;
	int err;
	vmscope_t *vm;

	/* QEMU before kernel_gs_base: 432 bytes. */
	image_build(&ci, true, 432);
	vm = open_blob(&ci.file, ci.file.len, &err);
	assert_non_null(vm);
	assert_int_equal(vmscope_get_regs(vm, 0, &r), 0);
	assert_int_equal(r.cr3, ci.cr3);
	assert_int_equal(r.kernel_gs_base, 0);
	vmscope_close(vm);
	image_free(&ci);
}

static void test_core_translate(void **state)
{
	(void)state;
	struct core_image ci;
	struct vmscope_regs r;
	uint64_t pa, size;
	char s[32];
	uint8_t buf[32];
	int err;
	vmscope_t *vm;

	image_build(&ci, true, QEMU_STATE_SIZE);
	vm = open_blob(&ci.file, ci.file.len, &err);
	assert_non_null(vm);
	assert_int_equal(vmscope_get_regs(vm, 0, &r), 0);
	assert_int_equal(vmscope_translate(vm, r.cr3, KTEXT + 0x10, 0, &pa, &size), 0);
	assert_int_equal(pa, HIGH_GPA + 0x10);
	assert_int_equal(size, 4 * KIB);
	assert_int_equal(vmscope_read_va(vm, r.cr3, KTEXT + 0x10, buf, 32), 32);
	assert_memory_equal(buf, ci.high + 0x10, 32);
	assert_int_equal(vmscope_read_str_va(vm, r.cr3, KTEXT + 0x1000, s, sizeof(s)), 12);
	assert_string_equal(s, "linux_banner");
	vmscope_close(vm);
	image_free(&ci);
}

/* Segments that overlap are the same memory twice: the lower-starting one wins. */
static void test_core_overlapping_segments(void **state)
{
	(void)state;
	uint8_t *a = malloc(64 * KIB), *b = malloc(16 * KIB), *c = malloc(8 * KIB);
	struct seg segs[3] = {
		{ PT_LOAD, 0x100000, a, 64 * KIB },         /* [1M, 1M + 64K) */
		{ PT_LOAD, 0x108000, b, 16 * KIB },         /* inside it */
		{ PT_LOAD, 0x10f000, c, 8 * KIB },          /* straddles its end */
	};
	struct blob f;
	uint8_t buf[16 * KIB];
	int err;
	vmscope_t *vm;

	memset(a, 0xaa, 64 * KIB);
	memset(b, 0xbb, 16 * KIB);
	memset(c, 0xcc, 8 * KIB);
	f = core_build(segs, 3);
	vm = open_blob(&f, f.len, &err);
	assert_non_null(vm);
	assert_int_equal(vmscope_ram_size(vm), 64 * KIB + 4 * KIB);
	assert_int_equal(vmscope_read_pa(vm, 0x108000, buf, 16), 16);
	assert_int_equal(buf[0], 0xaa);
	assert_int_equal(vmscope_read_pa(vm, 0x10f000, buf, 0x2000), 0x2000);
	assert_int_equal(buf[0], 0xaa);        /* 0x10f000: still a's */
	assert_int_equal(buf[0x1000], 0xcc);   /* 0x110000: the rest of c */
	assert_int_equal(vmscope_read_pa(vm, 0x111000, buf, 1), -EFAULT);
	vmscope_close(vm);
	free(f.p);
	free(a);
	free(b);
	free(c);
}

/* CPU 0's CR4.LA57 makes the *_va accesses use 5-level paging. */
static void test_core_la57(void **state)
{
	(void)state;
	struct core_image ci;
	size_t q;
	uint64_t cr4;
	int err;
	vmscope_t *vm;

	image_build(&ci, true, QEMU_STATE_SIZE);
	q = (size_t)phdr(&ci.file, 0)->p_offset + 2 * (12 + 8 + PRSTATUS_SIZE) + (12 + 12 + 16);
	assert_memory_equal(ci.file.p + q + 12, "QEMU", 5);
	memcpy(&cr4, ci.file.p + q + 20 + 424, 8);
	cr4 |= 1ULL << 12;
	memcpy(ci.file.p + q + 20 + 424, &cr4, 8);
	vm = open_blob(&ci.file, ci.file.len, &err);
	assert_non_null(vm);
	assert_int_equal(vmscope_va_flags(vm), VMSCOPE_PAGING_LA57);
	assert_int_equal(vmscope_set_va_flags(vm, 0), 0);
	assert_int_equal(vmscope_va_flags(vm), 0);
	assert_int_equal(vmscope_set_va_flags(vm, 4), -EINVAL);
	vmscope_close(vm);
	image_free(&ci);
}

static void test_core_pn_xnum(void **state)
{
	(void)state;
	struct core_image ci;
	Elf64_Ehdr *eh;
	Elf64_Shdr sh = { 0 };
	int err;
	vmscope_t *vm;
	size_t len;

	image_build(&ci, true, QEMU_STATE_SIZE);
	/* Append section header 0 holding the real count. */
	len = ci.file.len;
	ci.file.p = realloc(ci.file.p, len + sizeof(sh));
	sh.sh_info = (uint32_t)ci.nr_segs;
	memcpy(ci.file.p + len, &sh, sizeof(sh));
	eh = (Elf64_Ehdr *)ci.file.p;
	eh->e_phnum = PN_XNUM;
	eh->e_shoff = len;
	eh->e_shentsize = sizeof(sh);
	eh->e_shnum = 0;
	vm = open_blob(&ci.file, len + sizeof(sh), &err);
	assert_non_null(vm);
	assert_int_equal(vmscope_vcpu_count(vm), 2);
	vmscope_close(vm);

	/* A bad section header offset. */
	eh = (Elf64_Ehdr *)ci.file.p;
	eh->e_shoff = len + 1;
	assert_null(open_blob(&ci.file, len + sizeof(sh), &err));
	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(vmscope_last_error(NULL), "PN_XNUM"));
	image_free(&ci);
}

static void test_core_no_notes(void **state)
{
	(void)state;
	uint8_t mem[4096] = { 1, 2, 3 };
	struct seg seg = { PT_LOAD, 0x10000, mem, sizeof(mem) };
	struct blob b = core_build(&seg, 1);
	struct vmscope_regs r;
	int err;
	vmscope_t *vm = open_blob(&b, b.len, &err);

	assert_non_null(vm);
	assert_int_equal(vmscope_vcpu_count(vm), 0);
	assert_int_equal(vmscope_get_regs(vm, 0, &r), -ENODATA);
	assert_int_equal(vmscope_ram_size(vm), 4096);
	assert_non_null(vmscope_map_pa(vm, 0x10000, 4096));
	vmscope_close(vm);
	free(b.p);
}

/* ---- Broken cores ----------------------------------------------------------- */

enum breakage {
	BREAK_TRUNCATED_EHDR, BREAK_MAGIC, BREAK_CLASS32, BREAK_BIG_ENDIAN, BREAK_TYPE,
	BREAK_MACHINE, BREAK_VERSION, BREAK_PHENTSIZE, BREAK_PHOFF, BREAK_PHNUM_ZERO,
	BREAK_PHNUM_HUGE, BREAK_LOAD_PAST_END, BREAK_LOAD_OFFSET_WRAP, BREAK_LOAD_GPA_WRAP, BREAK_FILESZ_GT_MEMSZ, BREAK_NOTE_PAST_END, BREAK_NOTE_NAMESZ,
	BREAK_NOTE_DESCSZ, BREAK_NOTE_HEADER, BREAK_PRSTATUS_SHORT, BREAK_QEMU_SHORT,
	BREAK_NO_LOAD, BREAK_TRUNCATED_FILE, BREAK_COUNT
};

static const struct {
	const char *name;
	int err;
	const char *why; /* expected in vmscope_last_error(NULL) */
} breakages[BREAK_COUNT] = {
	[BREAK_TRUNCATED_EHDR] = { "truncated ehdr", -EINVAL, "too small" },
	[BREAK_MAGIC] = { "magic", -EINVAL, "not an ELF" },
	[BREAK_CLASS32] = { "ELF32", -ENOTSUP, "ELF32" },
	[BREAK_BIG_ENDIAN] = { "big endian", -ENOTSUP, "little-endian" },
	[BREAK_TYPE] = { "ET_EXEC", -EINVAL, "ET_CORE" },
	[BREAK_MACHINE] = { "EM_386", -ENOTSUP, "x86-64" },
	[BREAK_VERSION] = { "version", -EINVAL, "version" },
	[BREAK_PHENTSIZE] = { "phentsize", -EINVAL, "program header size" },
	[BREAK_PHOFF] = { "phoff", -EINVAL, "run past the file" },
	[BREAK_PHNUM_ZERO] = { "phnum 0", -EINVAL, "no program headers" },
	[BREAK_PHNUM_HUGE] = { "phnum huge", -EINVAL, "run past the file" },
	[BREAK_LOAD_PAST_END] = { "load past end", -EINVAL, "runs past the file" },
	[BREAK_LOAD_OFFSET_WRAP] = { "load offset wrap", -EINVAL, "runs past the file" },
	[BREAK_LOAD_GPA_WRAP] = { "gpa wrap", -EINVAL, "wraps" },
	[BREAK_FILESZ_GT_MEMSZ] = { "filesz > memsz", -EINVAL, "p_filesz > p_memsz" },
	[BREAK_NOTE_PAST_END] = { "note past end", -EINVAL, "runs past the file" },
	[BREAK_NOTE_NAMESZ] = { "note namesz", -EINVAL, "runs past its segment" },
	[BREAK_NOTE_DESCSZ] = { "note descsz", -EINVAL, "runs past its segment" },
	[BREAK_NOTE_HEADER] = { "note header", -EINVAL, "truncated note header" },
	[BREAK_PRSTATUS_SHORT] = { "short prstatus", -EINVAL, "NT_PRSTATUS" },
	[BREAK_QEMU_SHORT] = { "short QEMU state", -EINVAL, "QEMU CPU state" },
	[BREAK_NO_LOAD] = { "no PT_LOAD", -EINVAL, "no memory" },
	[BREAK_TRUNCATED_FILE] = { "truncated file", -EINVAL, "runs past the file" },
};

/* Index of the first note's descsz in the file (the notes segment is segment 0). */
static size_t first_note(struct blob *b)
{
	return (size_t)phdr(b, 0)->p_offset;
}

static size_t apply_breakage(struct core_image *ci, enum breakage k)
{
	struct blob *b = &ci->file;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b->p;
	size_t len = b->len, note = first_note(b);

	switch (k) {
	case BREAK_TRUNCATED_EHDR: len = 40; break;
	case BREAK_MAGIC: eh->e_ident[1] = 'X'; break;
	case BREAK_CLASS32: eh->e_ident[EI_CLASS] = ELFCLASS32; break;
	case BREAK_BIG_ENDIAN: eh->e_ident[EI_DATA] = ELFDATA2MSB; break;
	case BREAK_TYPE: eh->e_type = ET_EXEC; break;
	case BREAK_MACHINE: eh->e_machine = EM_386; break;
	case BREAK_VERSION: eh->e_version = 7; break;
	case BREAK_PHENTSIZE: eh->e_phentsize = 32; break;
	case BREAK_PHOFF: eh->e_phoff = len - 10; break;
	case BREAK_PHNUM_ZERO: eh->e_phnum = 0; break;
	case BREAK_PHNUM_HUGE: eh->e_phnum = 0xfff0; break;
	case BREAK_LOAD_PAST_END:
		phdr(b, 1)->p_filesz = phdr(b, 1)->p_memsz = len - phdr(b, 1)->p_offset + 1;
		break;
	case BREAK_LOAD_OFFSET_WRAP: phdr(b, 1)->p_offset = UINT64_MAX - 8; break;
	case BREAK_LOAD_GPA_WRAP: phdr(b, 1)->p_paddr = UINT64_MAX - 4096; break;
	case BREAK_FILESZ_GT_MEMSZ: phdr(b, 1)->p_memsz = 16; break;
	case BREAK_NOTE_PAST_END: phdr(b, 0)->p_filesz = len; break;
	case BREAK_NOTE_NAMESZ: put32(b->p + note, 0xfffffffe); break;
	case BREAK_NOTE_DESCSZ: put32(b->p + note + 4, 0xfffffff0); break;
	case BREAK_NOTE_HEADER: phdr(b, 0)->p_filesz = 8; break;
	case BREAK_PRSTATUS_SHORT:
		/* Shrink the first NT_PRSTATUS to 100 bytes; its padding becomes junk notes... */
		put32(b->p + note + 4, 100);
		phdr(b, 0)->p_filesz = 12 + 8 + 100;
		break;
	case BREAK_QEMU_SHORT: {
		/* The first QEMU note's size field: 3 notes (2 x 336+20, VMCOREINFO) before it. */
		size_t q = note + 2 * (12 + 8 + PRSTATUS_SIZE) + (12 + 12 + 16);

		assert_memory_equal(b->p + q + 12, "QEMU", 5);
		put32(b->p + q + 4, 100);
		phdr(b, 0)->p_filesz = q - note + 12 + 8 + 100;
		break;
	}
	case BREAK_NO_LOAD:
		phdr(b, 1)->p_type = PT_NULL;
		phdr(b, 2)->p_filesz = 0;
		break;
	case BREAK_TRUNCATED_FILE: len -= 100; break;
	case BREAK_COUNT: break;
	}
	return len;
}

static void test_core_malformed(void **state)
{
	(void)state;

	for (unsigned k = 0; k < BREAK_COUNT; k++) {
		struct core_image ci;
		size_t len;
		int err = 0;
		vmscope_t *vm;

		image_build(&ci, true, QEMU_STATE_SIZE);
		len = apply_breakage(&ci, k);
		vm = open_blob(&ci.file, len, &err);
		if (vm || err != breakages[k].err ||
		    !strstr(vmscope_last_error(NULL), breakages[k].why))
			fail_msg("%s: vm %p err %d (want %d), reason \"%s\" (want \"%s\")",
				 breakages[k].name, (void *)vm, err, breakages[k].err,
				 vmscope_last_error(NULL), breakages[k].why);
		image_free(&ci);
	}
}

/* Random corruption of the headers and notes: fail cleanly or work, never crash. */
static void test_core_fuzz(void **state)
{
	(void)state;
	struct core_image ci;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t hdr_len;
	uint8_t *orig;
	unsigned opened = 0;

	image_build(&ci, true, QEMU_STATE_SIZE);
	hdr_len = first_note(&ci.file) + ci.notes.len;
	orig = malloc(ci.file.len);
	memcpy(orig, ci.file.p, ci.file.len);
	for (unsigned iter = 0; iter < 3000; iter++) {
		unsigned flips = 1 + iter % 4;
		struct vmscope_regs r;
		uint8_t buf[256];
		int err;
		vmscope_t *vm;

		memcpy(ci.file.p, orig, ci.file.len);
		for (unsigned i = 0; i < flips; i++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			ci.file.p[(seed >> 8) % hdr_len] ^= (uint8_t)(1u << (seed & 7));
			if (seed & 0x100000) /* sometimes a whole random byte */
				ci.file.p[(seed >> 24) % hdr_len] = (uint8_t)(seed >> 40);
		}
		vm = open_blob(&ci.file, ci.file.len, &err);
		if (!vm) {
			assert_true(err < 0);
			continue;
		}
		opened++;
		for (unsigned c = 0; c < vmscope_vcpu_count(vm); c++) {
			assert_int_equal(vmscope_get_regs(vm, c, &r), 0);
			vmscope_read_va(vm, r.cr3, r.rip, buf, sizeof(buf));
		}
		vmscope_read_pa(vm, 0, buf, sizeof(buf));
		vmscope_read_pa(vm, HIGH_GPA, buf, sizeof(buf));
		vmscope_close(vm);
	}
	assert_true(opened > 0);
	free(orig);
	image_free(&ci);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_regions_and_regs),
		cmocka_unit_test(test_core_prstatus_only),
		cmocka_unit_test(test_core_old_qemu_state),
		cmocka_unit_test(test_core_translate),
		cmocka_unit_test(test_core_overlapping_segments),
		cmocka_unit_test(test_core_la57),
		cmocka_unit_test(test_core_pn_xnum),
		cmocka_unit_test(test_core_no_notes),
		cmocka_unit_test(test_core_malformed),
		cmocka_unit_test(test_core_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
