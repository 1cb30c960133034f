/*
 * vmscope-ctl's knowledge of the embedded test guest (tools/ctl_testguest.c):
 * where its task table is (from the guest ELF's symbol table, as a symbol
 * file would say) and how to show it.
 */
#ifndef VMSCOPE_TOOLS_CTL_TESTGUEST_H
#define VMSCOPE_TOOLS_CTL_TESTGUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "vmscope/testguest.h"
#include "vmscope/vmscope.h"

/* The guest ELF next to the build, else the installed one. */
const char *testguest__default_elf(void);

/* Address of symbol name in the ELF at path: virtual, and physical from its PT_LOAD. */
int testguest__symbol(const char *path, const char *name, uint64_t *va, uint64_t *pa);

/* Reads the task table at guest-physical pa; -EFAULT, or -EINVAL when it is not one. */
int testguest__read_tasks(vmscope_t *vm, uint64_t pa, struct tg_task_table *tt);

/*
 * Prints the table: each task's name from kernel memory and again from its
 * own address space (user_name_va through its CR3).  As JSON with json.
 */
void testguest__print_tasks(vmscope_t *vm, const struct tg_task_table *tt, bool json);

/* The task whose address space is cr3, or NULL. */
const struct tg_task *testguest__task_by_cr3(const struct tg_task_table *tt, uint64_t cr3);

#endif
