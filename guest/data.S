/*
 * Statically built kernel data: GDT template, IDT, page tables, ELF notes.
 * Nothing here costs an emulated instruction at boot.
 */
#include "layout.h"

	.section .rodata, "a"
	.balign 16
/* null, unused, kernel code 64, kernel data, user code 32, user data, user code 64 */
	.globl tg_gdt_template
tg_gdt_template:
	.quad 0
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0x00cffa000000ffff
	.quad 0x00cff2000000ffff
	.quad 0x00affa000000ffff
tg_gdt_template_end:

	.balign 16
	.globl tg_boot_gdtr
tg_boot_gdtr:                           /* read as 6 bytes in 32-bit mode */
	.word tg_gdt_template_end - tg_gdt_template - 1
	.quad tg_gdt_template

	.balign 16
	.globl tg_idtr
tg_idtr:
	.word 32 * 16 - 1
	.quad tg_idt

/* IDT: 32 interrupt gates to the stubs at TG_KERNEL_BASE + 16 * vector. */
	.balign 16
	.globl tg_idt
tg_idt:
	.set vec, 0
	.rept 32
	.set addr, TG_KERNEL_BASE + vec * 16
	.word addr & 0xffff
	.word TG_SEL_KCODE
	.byte ((vec == 8) & 1)          /* #DF on IST1 */
	.byte 0x8e                      /* present, DPL 0, interrupt gate */
	.word (addr >> 16) & 0xffff
	.long addr >> 32
	.long 0
	.set vec, vec + 1
	.endr

/* The task's private page, at the same VA in every task (an absolute symbol). */
	.globl tg_upage
	.set tg_upage, TG_USER_PAGE_VA
	.globl tg_layout_user_text_va
	.set tg_layout_user_text_va, TG_USER_TEXT_VA
	.globl tg_layout_user_text_size
	.set tg_layout_user_text_size, TG_USER_TEXT_PAGES * 4096

/*
 * Page tables.  Kernel: 0..1 GiB identity with 2 MiB pages, supervisor only.
 * Task n: PML4 -> PDPT[0] = kernel PD (supervisor), PDPT[1] -> PD -> PT
 * for TG_USER_BASE..+2 MiB: user text (shared, read-only), the private
 * page at TG_USER_PAGE_VA, the private stack below TG_USER_STACK_TOP.
 */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl tg_kernel_pml4
tg_kernel_pml4:
	.quad tg_kernel_pdpt + 0x3
	.fill 511, 8, 0
tg_kernel_pdpt:
	.quad tg_kernel_pd + 0x3
	.fill 2, 8, 0
	.quad tg_kernel_pd_mmio + 0x3   /* 3..4 GiB: only the PCI BAR window */
	.fill 508, 8, 0
	.globl tg_kernel_pd
tg_kernel_pd:
	.set i, 0
	.rept 512
	.quad (i << 21) + 0x83          /* present, writable, 2 MiB */
	.set i, i + 1
	.endr

#define PT_TEXT   0x5   /* present, user */
#define PT_URW    0x7   /* present, writable, user */
#define PT_KRW    0x3   /* present, writable */
#define UPAGE_IDX ((TG_USER_PAGE_VA - TG_USER_BASE) >> 12)
#define STACK_IDX (((TG_USER_STACK_TOP - TG_USER_BASE) >> 12) - TG_USER_STACK_PAGES)

	.macro TASK_TABLES n
	.balign 4096
	.globl tg_task\n\()_pml4
tg_task\n\()_pml4:
	.quad tg_task\n\()_pdpt + PT_URW
	.fill 511, 8, 0
tg_task\n\()_pdpt:
	.quad tg_kernel_pd + PT_KRW
	.quad tg_task\n\()_pd + PT_URW
	.fill 510, 8, 0
tg_task\n\()_pd:
	.quad tg_task\n\()_pt + PT_URW
	.fill 511, 8, 0
tg_task\n\()_pt:
	.set i, 0
	.rept TG_USER_TEXT_PAGES
	.quad __utext_lma + i * 4096 + PT_TEXT
	.set i, i + 1
	.endr
	.fill UPAGE_IDX - TG_USER_TEXT_PAGES, 8, 0
	.quad tg_upages + \n * 4096 + PT_URW
	.fill STACK_IDX - UPAGE_IDX - 1, 8, 0
	.set i, 0
	.rept TG_USER_STACK_PAGES
	.quad tg_ustacks + (\n * TG_USER_STACK_PAGES + i) * 4096 + PT_URW
	.set i, i + 1
	.endr
	.endm

	TASK_TABLES 0
	TASK_TABLES 1
	TASK_TABLES 2
	TASK_TABLES 3

/* 3..4 GiB: the PCI BAR window 0xe0000000..0xefffffff, uncached (PCD|PWT), supervisor. */
	.balign 4096
tg_kernel_pd_mmio:
	.fill (TG_PCI_MMIO_START - 0xc0000000) >> 21, 8, 0
	.set i, 0
	.rept TG_PCI_MMIO_SIZE >> 21
	.quad TG_PCI_MMIO_START + (i << 21) + 0x9b  /* present, writable, PWT, PCD, 2 MiB */
	.set i, i + 1
	.endr
	.fill (0x100000000 - TG_PCI_MMIO_START - TG_PCI_MMIO_SIZE) >> 21, 8, 0

/* ELF notes (PT_NOTE, 4-byte aligned). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4                         /* namesz: "Xen\0" */
	.long 8                         /* descsz */
	.long 18                        /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.quad tg_pvh_entry

	.section .note.vmscope, "a", @note
	.balign 4
	.long 8                         /* namesz: "vmscope\0" */
	.long 4                         /* descsz */
	.long TG_LAYOUT_NOTE_ALL_CPUS_64  /* TG_NOTE_ALL_CPUS_64 */
	.asciz "vmscope"
	.balign 4
	.long 1                         /* desc: version */

	.section .note.GNU-stack, "", @progbits
