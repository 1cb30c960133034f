/*
 * ELF64 core dumps as QEMU's dump-guest-memory writes them (and Linux kdump
 * vmcores, which share the layout):
 *   - PT_LOAD segments: p_paddr is the guest-physical address, p_offset /
 *     p_filesz the bytes in the file; p_vaddr (0 or virtual) is ignored;
 *     segments that overlap (the same memory twice) are trimmed, the one
 *     starting lower wins;
 *   - PT_NOTE segments: one "CORE" NT_PRSTATUS per CPU (general registers in
 *     struct elf_prstatus layout) and, from QEMU, one "QEMU" note per CPU
 *     (QEMUCPUState: general registers, segments, GDT/IDT, CR0-4,
 *     KERNEL_GS_BASE).  The i-th note of each kind belongs to CPU i.
 *
 * Every header, offset and size is checked against the file size before use;
 * the file is mapped read-only and the regions point into the mapping.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "elf_file.h"
#include "mem.h"
#include "offline.h"
#include "target.h"

/* struct elf_prstatus on x86-64: pr_reg (user_regs_struct) starts at byte 112. */
#define PRSTATUS_REG_OFFSET 112
#define PRSTATUS_NR_REGS 27
#define PRSTATUS_MIN_SIZE (PRSTATUS_REG_OFFSET + PRSTATUS_NR_REGS * 8)

/* Indices into user_regs_struct. */
enum {
	UR_R15, UR_R14, UR_R13, UR_R12, UR_RBP, UR_RBX, UR_R11, UR_R10, UR_R9, UR_R8,
	UR_RAX, UR_RCX, UR_RDX, UR_RSI, UR_RDI, UR_ORIG_RAX, UR_RIP, UR_CS, UR_EFLAGS,
	UR_RSP, UR_SS, UR_FS_BASE, UR_GS_BASE, UR_DS, UR_ES, UR_FS, UR_GS,
};

/* QEMUCPUState (QEMU's target/i386/arch_dump.c), little-endian, version 1. */
#define QEMU_SEG_SIZE 24 /* u32 selector, limit, flags, pad; u64 base */
#define QEMU_OFF_GPR 8   /* rax rbx rcx rdx rsi rdi rsp rbp r8..r15 rip rflags */
#define QEMU_OFF_SEGS 152 /* cs ds es fs gs ss ldt tr gdt idt */
#define QEMU_OFF_CR 392
#define QEMU_OFF_KGS 432
#define QEMU_MIN_SIZE 432 /* before kernel_gs_base was added */

/* QEMU's segment-cache flags (the descriptor's high dword). */
#define DESC_TYPE_SHIFT 8
#define DESC_S (1u << 12)
#define DESC_DPL_SHIFT 13
#define DESC_P (1u << 15)
#define DESC_L (1u << 21)
#define DESC_B (1u << 22)
#define DESC_G (1u << 23)

#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define CR4_LA57 (1ULL << 12)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

/* The parse state: the file, and what has been found so far. */
struct core {
	struct vmscope *vm;
	const uint8_t *base;
	uint64_t size;
	unsigned nr_prstatus, nr_qemu;
	struct vmscope_regs *regs; /* NULL while counting */
	unsigned nr_regs;
};

static inline bool within(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void prstatus_regs(const uint8_t *desc, struct vmscope_regs *r)
{
	uint64_t u[PRSTATUS_NR_REGS];

	memcpy(u, desc + PRSTATUS_REG_OFFSET, sizeof(u));
	r->r15 = u[UR_R15], r->r14 = u[UR_R14], r->r13 = u[UR_R13], r->r12 = u[UR_R12];
	r->rbp = u[UR_RBP], r->rbx = u[UR_RBX], r->r11 = u[UR_R11], r->r10 = u[UR_R10];
	r->r9 = u[UR_R9], r->r8 = u[UR_R8], r->rax = u[UR_RAX], r->rcx = u[UR_RCX];
	r->rdx = u[UR_RDX], r->rsi = u[UR_RSI], r->rdi = u[UR_RDI];
	r->rip = u[UR_RIP], r->rflags = u[UR_EFLAGS], r->rsp = u[UR_RSP];
	r->cs.selector = (uint16_t)u[UR_CS], r->ss.selector = (uint16_t)u[UR_SS];
	r->ds.selector = (uint16_t)u[UR_DS], r->es.selector = (uint16_t)u[UR_ES];
	r->fs.selector = (uint16_t)u[UR_FS], r->gs.selector = (uint16_t)u[UR_GS];
	r->fs.base = u[UR_FS_BASE], r->gs.base = u[UR_GS_BASE];
}

static void qemu_segment(const uint8_t *p, struct vmscope_segment *s)
{
	uint32_t flags = get32(p + 8);

	s->selector = (uint16_t)get32(p);
	s->limit = get32(p + 4);
	s->base = get64(p + 16);
	s->type = (flags >> DESC_TYPE_SHIFT) & 0xf;
	s->flags = (uint8_t)((flags & DESC_P ? 1u : 0) | (flags & DESC_S ? 2u : 0) |
			     (flags & DESC_L ? 4u : 0) | (flags & DESC_B ? 8u : 0) |
			     (flags & DESC_G ? 16u : 0) | ((flags >> DESC_DPL_SHIFT) & 3) << 6);
}

static void qemu_regs(const uint8_t *desc, uint32_t size, struct vmscope_regs *r)
{
	uint64_t g[18];
	struct vmscope_segment *segs[] = { &r->cs, &r->ds, &r->es, &r->fs, &r->gs,
					   &r->ss, &r->ldt, &r->tr };
	struct vmscope_segment gdt, idt;

	memcpy(g, desc + QEMU_OFF_GPR, sizeof(g));
	r->rax = g[0], r->rbx = g[1], r->rcx = g[2], r->rdx = g[3];
	r->rsi = g[4], r->rdi = g[5], r->rsp = g[6], r->rbp = g[7];
	r->r8 = g[8], r->r9 = g[9], r->r10 = g[10], r->r11 = g[11];
	r->r12 = g[12], r->r13 = g[13], r->r14 = g[14], r->r15 = g[15];
	r->rip = g[16], r->rflags = g[17];
	for (unsigned i = 0; i < 8; i++)
		qemu_segment(desc + QEMU_OFF_SEGS + i * QEMU_SEG_SIZE, segs[i]);
	qemu_segment(desc + QEMU_OFF_SEGS + 8 * QEMU_SEG_SIZE, &gdt);
	qemu_segment(desc + QEMU_OFF_SEGS + 9 * QEMU_SEG_SIZE, &idt);
	r->gdt_base = gdt.base, r->gdt_limit = (uint16_t)gdt.limit;
	r->idt_base = idt.base, r->idt_limit = (uint16_t)idt.limit;
	r->cr0 = get64(desc + QEMU_OFF_CR);
	r->cr2 = get64(desc + QEMU_OFF_CR + 16);
	r->cr3 = get64(desc + QEMU_OFF_CR + 24);
	r->cr4 = get64(desc + QEMU_OFF_CR + 32);
	if (size >= QEMU_OFF_KGS + 8)
		r->kernel_gs_base = get64(desc + QEMU_OFF_KGS);
	/*
	 * EFER is not in the dump.  A CPU with paging, PAE and a 64-bit code
	 * segment is in long mode, so LME and LMA must be set; other bits
	 * (SCE, NXE) stay unknown and read as 0.
	 */
	if ((r->cr0 & CR0_PG) && (r->cr4 & CR4_PAE) && (r->cs.flags & (1u << 2)))
		r->efer = EFER_LME | EFER_LMA;
}

static bool name_is(const uint8_t *name, uint32_t namesz, const char *want)
{
	size_t n = strlen(want);

	/* The name includes its terminator; some writers omit it. */
	return (namesz == n + 1 && memcmp(name, want, n + 1) == 0) ||
	       (namesz == n && memcmp(name, want, n) == 0);
}

static int core_note(struct core *c, uint32_t type, const uint8_t *name, uint32_t namesz,
		     const uint8_t *desc, uint32_t descsz)
{
	if (name_is(name, namesz, "CORE") && type == NT_PRSTATUS) {
		if (descsz < PRSTATUS_MIN_SIZE)
			return target__fail(c->vm, -EINVAL,
					    "core: NT_PRSTATUS note of %u bytes, want >= %u",
					    descsz, PRSTATUS_MIN_SIZE);
		if (c->regs && c->nr_prstatus < c->nr_regs)
			prstatus_regs(desc, &c->regs[c->nr_prstatus]);
		c->nr_prstatus++;
	} else if (name_is(name, namesz, "QEMU") && type == 0) {
		uint32_t size;

		if (descsz < 8)
			return target__fail(c->vm, -EINVAL, "core: QEMU note of %u bytes", descsz);
		size = get32(desc + 4);
		if (size > descsz)
			size = descsz;
		if (size < QEMU_MIN_SIZE)
			return target__fail(c->vm, -EINVAL,
					    "core: QEMU CPU state of %u bytes, want >= %u", size,
					    QEMU_MIN_SIZE);
		if (c->regs && c->nr_qemu < c->nr_regs)
			qemu_regs(desc, size, &c->regs[c->nr_qemu]);
		c->nr_qemu++;
	}
	/* Other notes (NT_PRFPREG, VMCOREINFO, ...) are skipped. */
	return 0;
}

/* Walks the notes in [off, off + len) of the file. */
static int core_notes(struct core *c, uint64_t off, uint64_t len)
{
	const uint8_t *p = c->base + off;
	uint64_t pos = 0;

	while (pos < len) {
		uint32_t namesz, descsz, type;
		uint64_t name_off, desc_off, next;
		int err;

		if (len - pos < 12)
			return target__fail(c->vm, -EINVAL, "core: truncated note header at 0x%llx",
					    (unsigned long long)(off + pos));
		namesz = get32(p + pos);
		descsz = get32(p + pos + 4);
		type = get32(p + pos + 8);
		name_off = pos + 12;
		desc_off = name_off + (((uint64_t)namesz + 3) & ~3ULL);
		next = desc_off + (((uint64_t)descsz + 3) & ~3ULL);
		if (desc_off > len || descsz > len - desc_off)
			return target__fail(c->vm, -EINVAL,
					    "core: note at 0x%llx runs past its segment",
					    (unsigned long long)(off + pos));
		err = core_note(c, type, p + name_off, namesz, p + desc_off, descsz);
		if (err)
			return err;
		pos = next < len ? next : len;
	}
	return 0;
}

/* The ELF checks every file gets (elf_file.h), then that it is a core. */
static int core_open_elf(struct core *c, struct elf_file *f)
{
	char why[200];
	int err = elf_file__open(f, c->base, c->size, why, sizeof(why));

	if (err)
		return target__fail(c->vm, err, "core: %s", why);
	if (f->eh.e_type != ET_CORE)
		return target__fail(c->vm, -EINVAL, "core: ELF type %u is not ET_CORE", f->eh.e_type);
	return 0;
}

static int core_parse(struct core *c)
{
	struct vmscope_region *regions = NULL;
	unsigned nr_regions = 0, cap;
	struct elf_file f;
	int err;

	err = core_open_elf(c, &f);
	if (err)
		return err;

	/* Pass 1: check every header, count segments and CPUs. */
	for (uint64_t i = 0; i < f.phnum; i++) {
		Elf64_Phdr ph = elf_file__phdr(&f, i);

		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (!within(ph.p_offset, ph.p_filesz, c->size))
			return target__fail(c->vm, -EINVAL,
					    "core: segment %llu [0x%llx, +0x%llx) runs past the "
					    "file (0x%llx bytes)",
					    (unsigned long long)i, (unsigned long long)ph.p_offset,
					    (unsigned long long)ph.p_filesz,
					    (unsigned long long)c->size);
		if (ph.p_type == PT_NOTE) {
			err = core_notes(c, ph.p_offset, ph.p_filesz);
			if (err)
				return err;
		} else if (ph.p_filesz) {
			if (ph.p_filesz > ph.p_memsz)
				return target__fail(c->vm, -EINVAL,
						    "core: segment %llu has p_filesz > p_memsz",
						    (unsigned long long)i);
			if (nr_regions == UINT32_MAX)
				return target__fail(c->vm, -EINVAL, "core: too many segments");
			nr_regions++;
		}
	}
	if (nr_regions == 0)
		return target__fail(c->vm, -EINVAL, "core: no memory (no PT_LOAD with data)");

	/*
	 * Pass 2: collect.  The checks are repeated, bounded by pass 1's counts:
	 * the mapping is of a file someone else could change meanwhile.
	 */
	cap = nr_regions;
	regions = calloc(cap, sizeof(*regions));
	c->nr_regs = c->nr_prstatus > c->nr_qemu ? c->nr_prstatus : c->nr_qemu;
	if (c->nr_regs) {
		c->regs = calloc(c->nr_regs, sizeof(*c->regs));
		if (!c->regs) {
			free(regions);
			return target__fail(c->vm, -ENOMEM, "core: out of memory");
		}
	}
	if (!regions)
		return target__fail(c->vm, -ENOMEM, "core: out of memory");
	nr_regions = 0;
	c->nr_prstatus = c->nr_qemu = 0;
	for (uint64_t i = 0; i < f.phnum; i++) {
		Elf64_Phdr ph = elf_file__phdr(&f, i);

		if (ph.p_type == PT_NOTE && within(ph.p_offset, ph.p_filesz, c->size)) {
			/* QEMU notes come after NT_PRSTATUS and refine them. */
			core_notes(c, ph.p_offset, ph.p_filesz);
		} else if (ph.p_type == PT_LOAD && ph.p_filesz && nr_regions < cap &&
			   within(ph.p_offset, ph.p_filesz, c->size)) {
			regions[nr_regions++] = (struct vmscope_region){
				.gpa = ph.p_paddr,
				.size = ph.p_filesz,
				.host = (uint8_t *)c->base + ph.p_offset,
			};
		}
	}
	/*
	 * Overlapping segments describe the same memory twice (kdump's kernel
	 * text segment; QEMU with paging on): the first copy is used.
	 */
	nr_regions = mem__trim_overlaps(regions, nr_regions);
	err = mem__set_regions(c->vm, regions, nr_regions);
	if (err) {
		free(regions);
		return err;
	}
	return 0;
}

static const struct target_ops offline_core_ops = { .kind = "core dump", .get_regs = target__saved_regs };

vmscope_t *vmscope_open_core(const char *path, int *err)
{
	struct core c = { 0 };
	struct vmscope *vm = offline__open(&offline_core_ops, path, err);
	int e;

	if (!vm)
		return NULL;
	c.vm = vm;
	c.base = vm->map_base;
	c.size = vm->map_size;
	e = core_parse(&c);
	if (e)
		goto fail;
	vm->saved_regs = c.regs;
	vm->nr_vcpus = c.nr_regs;
	if (c.nr_regs && (c.regs[0].cr4 & CR4_LA57))
		vm->va_flags = VMSCOPE_PAGING_LA57;
	if (err)
		*err = 0;
	return vm;
fail:
	free(c.regs);
	if (err)
		*err = e;
	target__abandon(vm);
	return NULL;
}
