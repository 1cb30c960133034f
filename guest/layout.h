/*
 * Memory layout and constants of the embedded test guest, shared by its C
 * and assembly files (and readable by host tests).  Kernel addresses are
 * physical == virtual (identity mapped, supervisor-only); user addresses
 * are the same in every task but backed by per-task pages.
 */
#ifndef TG_LAYOUT_H
#define TG_LAYOUT_H

#define TG_KERNEL_BASE      0x100000    /* load address, 1 MiB */
#define TG_KERNEL_MAP_SIZE  0x40000000  /* kernel identity map: 0..1 GiB, 2 MiB pages */

/* vmscope's PCI BAR window (src/pci/pci.h), mapped uncached by data.S. */
#define TG_PCI_MMIO_START   0xe0000000
#define TG_PCI_MMIO_SIZE    0x10000000

#define TG_NR_TASKS         4
#define TG_MAX_CPUS         8

/* User address space: one 2 MiB window, one page table per task. */
#define TG_USER_BASE        0x40000000  /* 1 GiB */
#define TG_USER_TEXT_VA     0x40000000  /* user code + rodata, shared, read-only */
#define TG_USER_TEXT_PAGES  4
#define TG_USER_PAGE_VA     0x40100000  /* struct tg_upage, private to each task */
#define TG_USER_STACK_PAGES 8
#define TG_USER_STACK_TOP   0x40200000  /* private stack below this */
#define TG_USER_END         0x40200000

#define TG_KSTACK_SIZE      4096        /* per task and per CPU kernel stacks */

/*
 * GDT selectors: vmscope's boot selectors for the kernel and Linux's layout
 * for user mode (PVM insists that STAR's user CS is the host's __USER_CS).
 */
#define TG_SEL_KCODE        0x10        /* GDT index 2 */
#define TG_SEL_KDATA        0x18        /* GDT index 3 */
#define TG_SEL_UCODE32      0x23        /* GDT index 4, RPL 3 (sysret base) */
#define TG_SEL_UDATA        0x2b        /* GDT index 5, RPL 3 */
#define TG_SEL_UCODE        0x33        /* GDT index 6, RPL 3 */
#define TG_SEL_TSS          0x38        /* GDT index 7-8 */
#define TG_GDT_TEMPLATE     7           /* constant entries before the TSS */
#define TG_GDT_ENTRIES      10

/* struct tg_percpu offsets used by the syscall entry (checked in kernel.c). */
#define TG_PC_SELF          0
#define TG_PC_KSTACK_TOP    8
#define TG_PC_USER_RSP      16

/* testguest.h is C-only: its note type, mirrored for data.S (checked in kernel.c). */
#define TG_LAYOUT_NOTE_ALL_CPUS_64 1

/* Debug-exit codes. */
#define TG_EXIT_OK          0
#define TG_EXIT_FAIL        2   /* a check failed (TG_UCALL_FAIL says which) */
#define TG_EXIT_EXCEPTION   3   /* an unexpected CPU exception */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* The page at TG_USER_PAGE_VA in each task (its name is at offset 0). */
struct tg_upage {
	char name[16];        /* copied from the task table by the kernel */
	uint32_t id;          /* set by the kernel */
	uint32_t phase;       /* user-side progress: 1 started, 2.. yields, 9 done */
	uint64_t result;      /* tg_work() result, once computed */
};
#endif

#endif
