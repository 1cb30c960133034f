/*
 * Hardware breakpoints and watchpoints of a live target: setting and
 * clearing debug-register slots by linear address, and by guest-physical
 * address through a reverse walk of vCPU 0's page tables.
 */
#include <errno.h>

#include "live.h"
#include "mem.h"
#include "target.h"

#define PTE_P   1ULL
#define PTE_RW  2ULL
#define PTE_PS  0x80ULL
#define PTE_NX  (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL
#define MAX_TABLES 65536 /* a reverse walk looks at no more page tables than this */

static int hwbp_req(vmscope_t *vm, uint32_t type, uint64_t gva, unsigned kind, unsigned len,
		    unsigned *slot)
{
	struct vmscope_msg_hwbp m = { .addr = gva, .type = (uint8_t)kind, .len = (uint8_t)len };
	struct vmscope_msg_hwbp out;
	int r;

	if (kind > 255 || len > 255)
		return target__fail(vm, -EINVAL, "bad type or length");
	if (type == VMSCOPE_MSG_CLEAR_HWBP)
		return live__request(vm, type, &m, sizeof(m), NULL, 0);
	r = live__request(vm, type, &m, sizeof(m), &out, sizeof(out));
	if (r == 0 && slot)
		*slot = out.slot;
	return r;
}

int vmscope_set_hwbp(vmscope_t *vm, uint64_t gva, unsigned type, unsigned len, unsigned *slot)
{
	return hwbp_req(vm, VMSCOPE_MSG_SET_HWBP, gva, type, len, slot);
}

int vmscope_clear_hwbp(vmscope_t *vm, uint64_t gva, unsigned type, unsigned len)
{
	return hwbp_req(vm, VMSCOPE_MSG_CLEAR_HWBP, gva, type, len, NULL);
}

/* A reverse page walk: which linear addresses map one guest-physical address. */
struct rwalk {
	vmscope_t *vm;
	uint64_t gpa;
	unsigned type;      /* VMSCOPE_HWBP_*: the access the mapping must allow */
	unsigned va_bits;   /* 48 or 57 */
	unsigned tables;    /* looked at so far */
	uint64_t best;
	bool found;
};

static uint64_t canonical(uint64_t va, unsigned bits)
{
	return va & (1ULL << (bits - 1)) ? va | ~((1ULL << bits) - 1) : va;
}

static void walk(struct rwalk *w, uint64_t table, unsigned level, uint64_t base, bool nx, bool rw)
{
	unsigned shift = 12 + 9 * (level - 1);
	const uint64_t *t = vmscope_map_pa(w->vm, table, 4096);

	if (!t || ++w->tables > MAX_TABLES)
		return;
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t e = t[i], va = base | i << shift, size = 1ULL << shift, frame;
		bool e_nx = nx || (e & PTE_NX), e_rw = rw && (e & PTE_RW);

		if (!(e & PTE_P))
			continue;
		if (level > 1 && !(level <= 3 && (e & PTE_PS))) {
			walk(w, e & PTE_ADDR, level - 1, va, e_nx, e_rw);
			continue;
		}
		frame = e & PTE_ADDR & ~(size - 1);
		if (w->gpa < frame || w->gpa - frame >= size)
			continue;
		if ((w->type == VMSCOPE_HWBP_EXEC && e_nx) || (w->type != VMSCOPE_HWBP_EXEC && !e_rw))
			continue;
		va = canonical(va + (w->gpa - frame), w->va_bits);
		if (!w->found || va > w->best)
			w->best = va;
		w->found = true;
	}
}

int vmscope_set_hwbp_pa(vmscope_t *vm, uint64_t gpa, unsigned type, unsigned len,
			uint64_t *gva_out, unsigned *slot)
{
	struct vmscope_regs regs;
	struct rwalk w = { .vm = vm, .gpa = gpa, .type = type };
	int r;

	if (!vm || !vm->live)
		return target__fail(vm, -ENOTSUP, "not a live target: a %s", target__kind(vm));
	r = vmscope_sample_regs(vm, 0, &regs);
	if (r < 0)
		return r;
	if (!(regs.cr0 & (1ULL << 31))) {
		w.best = gpa; /* paging off: linear is physical */
		w.found = true;
	} else {
		bool la57 = regs.cr4 & (1ULL << 12);

		w.va_bits = la57 ? 57 : 48;
		walk(&w, regs.cr3 & PTE_ADDR, la57 ? 5 : 4, 0, false, true);
	}
	if (!w.found)
		return target__fail(vm, -ENOENT,
				    "no %s mapping of 0x%llx in vCPU 0's page tables (CR3 0x%llx)",
				    type == VMSCOPE_HWBP_EXEC ? "executable" : "writable",
				    (unsigned long long)gpa, (unsigned long long)regs.cr3);
	if (gva_out)
		*gva_out = w.best;
	return vmscope_set_hwbp(vm, w.best, type, len, slot);
}
