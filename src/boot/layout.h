/*
 * Where the loaders put things in guest-physical memory.  Everything below
 * 1 MiB is at fixed places, as the Linux x86 boot protocol expects them.
 */
#ifndef VMSCOPE_BOOT_LAYOUT_H
#define VMSCOPE_BOOT_LAYOUT_H

#define BOOT_GDT_ADDR        0x500ULL   /* boot GDT: null, null, __BOOT_CS 0x10, __BOOT_DS 0x18 */
#define BOOT_PARAMS_ADDR     0x7000ULL  /* Linux zero page (struct boot_params) */
#define BOOT_PML4_ADDR       0x9000ULL  /* identity map of the low 4 GiB, 2 MiB pages */
#define BOOT_PDPT_ADDR       0xa000ULL
#define BOOT_PD_ADDR         0xb000ULL  /* four page directories: 0xb000 .. 0xefff */
#define BOOT_CMDLINE_ADDR    0x20000ULL
#define BOOT_CMDLINE_MAX     0x10000ULL /* room reserved; the kernel's own limit is checked too */
#define BOOT_MPTABLE_ADDR    0x9fc00ULL /* inside the EBDA, which e820 reserves */
#define BOOT_KERNEL_DEFAULT  0x100000ULL

#define BOOT_CS 0x10
#define BOOT_DS 0x18

#endif
