/*
 * vm.coredump: an ELF64 ET_CORE file as QEMU's dump-guest-memory writes it.
 *
 *   ELF header | program headers: PT_NOTE, PT_LOAD per RAM region
 *   notes: NT_PRSTATUS ("CORE") for vCPU 0..n-1, then QEMUCPUState ("QEMU",
 *          type 0) for vCPU 0..n-1 (the i-th note of each kind is vCPU i)
 *   RAM regions, page-aligned; all-zero blocks are left as file holes.
 */
#include "api/coredump.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvm_ioctl.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define CORE_PAGE 4096u
#define ZERO_BLOCK (64 * 1024u)
#define MSR_KERNEL_GS_BASE 0xc0000102u

/* struct elf_prstatus of x86-64 Linux: 336 bytes, pr_reg at 112. */
struct core_prstatus {
	int32_t si_signo, si_code, si_errno; /* pr_info */
	int16_t cursig;
	uint16_t pad0;
	uint64_t sigpend, sighold;
	int32_t pid, ppid, pgrp, sid;
	uint64_t utime[2], stime[2], cutime[2], cstime[2];
	uint64_t reg[27]; /* user_regs_struct */
	int32_t fpvalid;
	int32_t pad1;
} __attribute__((packed));
_Static_assert(sizeof(struct core_prstatus) == 336, "elf_prstatus");
_Static_assert(offsetof(struct core_prstatus, reg) == 112, "elf_prstatus.pr_reg");

/* QEMU's QEMUCPUSegment and QEMUCPUState (target/i386/arch_dump.c), version 1. */
struct qemu_seg {
	uint32_t selector, limit, flags, pad;
	uint64_t base;
} __attribute__((packed));

struct qemu_cpu_state {
	uint32_t version, size;
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rsp, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	struct qemu_seg cs, ds, es, fs, gs, ss, ldt, tr, gdt, idt;
	uint64_t cr[5];
	uint64_t kernel_gs_base;
} __attribute__((packed));
_Static_assert(sizeof(struct qemu_cpu_state) == 440, "QEMUCPUState");
_Static_assert(offsetof(struct qemu_cpu_state, cs) == 152, "QEMUCPUState.cs");
_Static_assert(offsetof(struct qemu_cpu_state, cr) == 392, "QEMUCPUState.cr");

/* Note header + 8-byte name ("CORE\0" / "QEMU\0" padded to 4: 8 bytes). */
struct note_hdr {
	Elf64_Nhdr nh;
	char name[8];
};

#define NOTE_SIZE(desc) (sizeof(struct note_hdr) + ALIGN_UP((size_t)(desc), 4))

static int failf(char *err, size_t errlen, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int failf(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return e;
}

/* QEMU keeps a segment's attributes as the descriptor's high dword. */
static struct qemu_seg qemu_seg(const struct kvm_segment *s)
{
	return (struct qemu_seg){
		.selector = s->selector,
		.limit = s->limit,
		.flags = (uint32_t)s->type << 8 | (uint32_t)s->s << 12 | (uint32_t)s->dpl << 13 |
			 (uint32_t)s->present << 15 | (uint32_t)s->avl << 20 |
			 (uint32_t)s->l << 21 | (uint32_t)s->db << 22 | (uint32_t)s->g << 23,
		.base = s->base,
	};
}

static uint64_t kernel_gs_base(struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = MSR_KERNEL_GS_BASE };

	return vcpu_ioctl(v, KVM_GET_MSRS, &m) == 1 ? m.e.data : 0;
}

static void put_note(uint8_t **p, const char *name, uint32_t type, const void *desc,
		     size_t len)
{
	struct note_hdr h = { .nh = { .n_namesz = 5, .n_descsz = (Elf64_Word)len,
				      .n_type = type } };

	memcpy(h.name, name, 4);
	memcpy(*p, &h, sizeof(h));
	memcpy(*p + sizeof(h), desc, len);
	*p += NOTE_SIZE(len);
}

/* Builds the notes of every vCPU into buf (sized by the caller). */
static int build_notes(struct vm *vm, uint8_t *buf, char *err, size_t errlen)
{
	uint8_t *p = buf;
	struct kvm_regs *regs = calloc(vm->nr_vcpus, sizeof(*regs));
	struct kvm_sregs *sregs = calloc(vm->nr_vcpus, sizeof(*sregs));
	int r = 0;

	if (!regs || !sregs) {
		r = failf(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_ioctl(vm->vcpus[i], KVM_GET_REGS, &regs[i]) < 0 ||
		    vcpu_ioctl(vm->vcpus[i], KVM_GET_SREGS, &sregs[i]) < 0) {
			r = failf(err, errlen, -errno, "vCPU %u: cannot read its registers: %s", i,
				  strerror(errno));
			goto out;
		}
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct kvm_regs *g = &regs[i];
		const struct kvm_sregs *s = &sregs[i];
		struct core_prstatus pr = {
			.pid = (int32_t)i + 1,
			.reg = {
				g->r15, g->r14, g->r13, g->r12, g->rbp, g->rbx, g->r11, g->r10,
				g->r9, g->r8, g->rax, g->rcx, g->rdx, g->rsi, g->rdi,
				0 /* orig_rax */, g->rip, s->cs.selector, g->rflags, g->rsp,
				s->ss.selector, s->fs.base, s->gs.base, s->ds.selector,
				s->es.selector, s->fs.selector, s->gs.selector,
			},
		};

		put_note(&p, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct kvm_regs *g = &regs[i];
		const struct kvm_sregs *s = &sregs[i];
		struct qemu_cpu_state q = {
			.version = 1, .size = sizeof(q),
			.rax = g->rax, .rbx = g->rbx, .rcx = g->rcx, .rdx = g->rdx,
			.rsi = g->rsi, .rdi = g->rdi, .rsp = g->rsp, .rbp = g->rbp,
			.r8 = g->r8, .r9 = g->r9, .r10 = g->r10, .r11 = g->r11,
			.r12 = g->r12, .r13 = g->r13, .r14 = g->r14, .r15 = g->r15,
			.rip = g->rip, .rflags = g->rflags,
			.cs = qemu_seg(&s->cs), .ds = qemu_seg(&s->ds), .es = qemu_seg(&s->es),
			.fs = qemu_seg(&s->fs), .gs = qemu_seg(&s->gs), .ss = qemu_seg(&s->ss),
			.ldt = qemu_seg(&s->ldt), .tr = qemu_seg(&s->tr),
			.gdt = { .limit = s->gdt.limit, .base = s->gdt.base },
			.idt = { .limit = s->idt.limit, .base = s->idt.base },
			.cr = { s->cr0, 0, s->cr2, s->cr3, s->cr4 },
			.kernel_gs_base = kernel_gs_base(vm->vcpus[i]),
		};

		put_note(&p, "QEMU", 0, &q, sizeof(q));
	}
out:
	free(regs);
	free(sregs);
	return r;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < len / 8; i++)
		if (q[i])
			return false;
	for (size_t i = len & ~(size_t)7; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int coredump__write(struct vm *vm, const char *path, char *err, size_t errlen)
{
	const struct memmap *map = &vm->map;
	unsigned nr_load = map->nr_regions, nr_ph = 1 + nr_load;
	size_t notes_size = vm->nr_vcpus * (NOTE_SIZE(sizeof(struct core_prstatus)) +
					    NOTE_SIZE(sizeof(struct qemu_cpu_state)));
	size_t head_size = sizeof(Elf64_Ehdr) + nr_ph * sizeof(Elf64_Phdr);
	size_t meta_size = head_size + notes_size;
	uint64_t data_off = ALIGN_UP((uint64_t)meta_size, CORE_PAGE), end;
	uint8_t *meta = calloc(1, meta_size);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)meta;
	Elf64_Phdr *ph = (Elf64_Phdr *)(meta + sizeof(*eh));
	int fd = -1, r;

	if (!meta)
		return failf(err, errlen, -ENOMEM, "out of memory");
	r = build_notes(vm, meta + head_size, err, errlen);
	if (r < 0)
		goto out;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh->e_type = ET_CORE;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (Elf64_Half)nr_ph;

	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = head_size,
			      .p_filesz = notes_size, .p_memsz = notes_size, .p_align = 4 };
	end = data_off;
	for (unsigned i = 0; i < nr_load; i++) {
		const struct mem_region *reg = &map->regions[i];

		ph[1 + i] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_flags = PF_R | PF_W | PF_X, .p_offset = end,
			.p_vaddr = 0, .p_paddr = reg->gpa, .p_filesz = reg->size,
			.p_memsz = reg->size, .p_align = CORE_PAGE,
		};
		end += ALIGN_UP(reg->size, CORE_PAGE);
	}

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = failf(err, errlen, -errno, "cannot create '%s': %s", path, strerror(errno));
		goto out;
	}
	r = pwrite_all(fd, meta, meta_size, 0);
	for (unsigned i = 0; r == 0 && i < nr_load; i++) {
		const struct mem_region *reg = &map->regions[i];
		const uint8_t *src = vm->ram + reg->offset;

		for (uint64_t o = 0; r == 0 && o < reg->size; o += ZERO_BLOCK) {
			size_t n = reg->size - o < ZERO_BLOCK ? (size_t)(reg->size - o) : ZERO_BLOCK;

			if (!all_zero(src + o, n))
				r = pwrite_all(fd, src + o, n, (off_t)(ph[1 + i].p_offset + o));
		}
	}
	/* Zero blocks at the end become a hole too. */
	if (r == 0 && ftruncate(fd, (off_t)end) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	if (r < 0)
		failf(err, errlen, r, "writing '%s' failed: %s", path, strerror(-r));
out:
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = failf(err, errlen, -errno, "writing '%s' failed: %s", path, strerror(errno));
	free(meta);
	return r;
}
