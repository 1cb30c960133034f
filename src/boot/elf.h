/*
 * ELF64 x86-64 kernels: a Linux vmlinux, the embedded test guest, any other
 * ELF kernel.  PT_LOAD segments go to their physical addresses (p_paddr);
 * the entry is e_entry (translated through its segment when it is a virtual
 * address) and is entered in 64-bit mode.  Segments may not touch the first
 * MiB: the zero page, boot page tables, command line and MP table live there
 * (boot/layout.h).  For a Linux vmlinux, e_entry is the physical address of
 * startup_64 (the start of .text, the first PT_LOAD: 0x1000000 on Debian's
 * 6.1 kernels), so no translation is needed there.
 */
#ifndef VMSCOPE_BOOT_ELF_H
#define VMSCOPE_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/loader.h"

#define ELF_MAX_PHNUM 1024u /* more program headers than any kernel has: refused */

/* Xen ELF notes (xen/include/public/elfnote.h). */
#define XEN_ELFNOTE_GUEST_OS       6
#define XEN_ELFNOTE_PHYS32_ENTRY   18

struct elf_info {
	uint64_t entry;          /* guest-physical 64-bit entry */
	uint64_t kernel_end;     /* end of the highest segment in low RAM (below the hole) */
	unsigned nr_load;        /* PT_LOAD segments with a non-zero size */
	bool aps_start_at_entry; /* "vmscope" note TG_NOTE_ALL_CPUS_64 */
	bool linux_note;         /* a "Linux" note, or Xen GUEST_OS "linux" */
	bool has_pvh_entry;      /* Xen PVH 32-bit entry note (recorded, not used) */
	uint64_t pvh_entry;
};

/* True when the image starts with the ELF magic. */
bool elf__is_elf(const struct boot_image *img);

/*
 * Validates every header, program header and note of img against its size,
 * and when map is not NULL checks that each segment lies in guest RAM above
 * 1 MiB.  Writes nothing.  Returns 0, or -1 with one line in err.
 */
int elf__parse(const struct boot_image *img, const struct memmap *map, struct elf_info *info,
	       char *err, size_t errlen);

/* elf__parse, then copies the segments into guest RAM and zeroes their bss. */
int elf__load(const struct boot_request *req, struct elf_info *info, char *err, size_t errlen);

/*
 * True for a valid x86-64 ELF that is a Linux kernel: it carries a "Linux"
 * ELF note (every vmlinux since 4.17 has LINUX_ELFNOTE_BUILD_SALT in .notes)
 * or the Xen GUEST_OS "linux" note, or failing both the "Linux version "
 * banner string somewhere in the file.
 */
bool elf__is_linux(const struct boot_image *img);

#endif
