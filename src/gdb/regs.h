/*
 * The x86-64 register file as GDB sees it through our target description
 * (target_xml.c): GDB's 64bit-core, 64bit-sse and 64bit-segments features,
 * plus the system registers a kernel debugger needs (k_gs_base, cr0-cr8,
 * efer).  Register n of 'p n' / 'P n' is entry n of gdb_reg_table, and the
 * 'g' packet is all of them, in this order, little-endian.
 */
#ifndef VMSCOPE_GDB_REGS_H
#define VMSCOPE_GDB_REGS_H

#include <stddef.h>
#include <stdint.h>

/* GPR order is GDB's: rax rbx rcx rdx rsi rdi rbp rsp r8..r15. */
enum { GDB_RAX, GDB_RBX, GDB_RCX, GDB_RDX, GDB_RSI, GDB_RDI, GDB_RBP, GDB_RSP };
enum { GDB_CS, GDB_SS, GDB_DS, GDB_ES, GDB_FS, GDB_GS };

struct gdb_regs {
	uint64_t gpr[16];
	uint64_t rip;
	uint32_t eflags;
	uint32_t seg[6];
	uint8_t st[8][10];
	uint32_t fctrl, fstat, ftag, fiseg, fioff, foseg, fooff, fop;
	uint8_t xmm[16][16];
	uint32_t mxcsr;
	uint64_t fs_base, gs_base;
	uint64_t k_gs_base, cr0, cr2, cr3, cr4, cr8, efer;
};

struct gdb_reg_desc {
	const char *name;
	uint16_t offset; /* in struct gdb_regs */
	uint16_t size;   /* bytes */
};

extern const struct gdb_reg_desc gdb_reg_table[];
extern const unsigned gdb_nr_regs;
extern const size_t gdb_regs_g_size; /* bytes in a 'g' reply (sum of sizes) */

/* The target description served as qXfer:features:read:target.xml. */
extern const char gdb_target_xml[];

#endif
