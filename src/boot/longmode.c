#include "boot/longmode.h"

#include <string.h>

#include "boot/layout.h"
#include "util.h"

#define PTE_PRESENT  (1ULL << 0)
#define PTE_WRITE    (1ULL << 1)
#define PTE_LARGE    (1ULL << 7)

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

/* Flat descriptors: 64-bit code at BOOT_CS, data at BOOT_DS, as Linux's boot protocol asks. */
static const uint64_t boot_gdt[] = {
	0,
	0,
	0x00af9b000000ffffULL, /* BOOT_CS: present, DPL0, code exec/read, L=1, G=1 */
	0x00cf93000000ffffULL, /* BOOT_DS: present, DPL0, data read/write, D=1, G=1 */
};

int longmode__write_tables(const struct memmap *map, uint8_t *ram)
{
	uint64_t *gdt = memmap__ptr(map, ram, BOOT_GDT_ADDR, sizeof(boot_gdt));
	uint64_t *pml4 = memmap__ptr(map, ram, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = memmap__ptr(map, ram, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = memmap__ptr(map, ram, BOOT_PD_ADDR, 4 * 4096);

	if (!gdt || !pml4 || !pdpt || !pd)
		return -1;
	memcpy(gdt, boot_gdt, sizeof(boot_gdt));
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_PRESENT | PTE_WRITE;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i * 2 * MiB) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	return 0;
}

static void set_segment(struct kvm_segment *seg, uint16_t selector, uint8_t type, bool code)
{
	*seg = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = type,
		.present = 1, .dpl = 0, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};
}

void longmode__set_sregs(struct kvm_sregs *sregs)
{
	set_segment(&sregs->cs, BOOT_CS, 0xb, true);
	set_segment(&sregs->ds, BOOT_DS, 0x3, false);
	sregs->es = sregs->fs = sregs->gs = sregs->ss = sregs->ds;
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = sizeof(boot_gdt) - 1;
	sregs->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs->cr3 = BOOT_PML4_ADDR;
	sregs->cr4 = CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}
