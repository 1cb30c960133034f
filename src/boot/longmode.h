/* The state a vCPU starts in for a 64-bit entry: boot GDT, identity page tables, registers. */
#ifndef VMSCOPE_BOOT_LONGMODE_H
#define VMSCOPE_BOOT_LONGMODE_H

#include <linux/kvm.h>
#include <stdint.h>

#include "memmap.h"

/* Writes the boot GDT and page tables identity-mapping the low 4 GiB; -1 if RAM is too small. */
int longmode__write_tables(const struct memmap *map, uint8_t *ram);

/* Sets segment, control and descriptor-table registers for 64-bit mode with those tables. */
void longmode__set_sregs(struct kvm_sregs *sregs);

#endif
