/*
 * Loading a guest: a Linux vmlinux ELF, a Linux bzImage, or any ELF kernel
 * (the embedded test guest is one), with initramfs, command line, e820 map
 * and MP table.  Loaders only write guest RAM through memmap__ptr, so unit
 * tests run them on plain host memory without KVM.
 */
#ifndef VMSCOPE_BOOT_LOADER_H
#define VMSCOPE_BOOT_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memmap.h"

/* How the vCPUs start, decided by the loader. */
struct boot_entry {
	uint64_t rip;            /* 64-bit entry, guest-physical (paging identity-maps low 4 GiB) */
	uint64_t rsi;            /* boot_params address */
	bool aps_start_at_entry; /* the ELF asked (vmscope note): every vCPU starts at rip,
				    rdi = its index, rdx = the vCPU count */
	bool is_linux;
};

struct boot_image {
	const uint8_t *data;
	size_t size;
	const char *name; /* for messages: the file path or "embedded test guest" */
};

struct boot_request {
	const struct memmap *map;
	uint8_t *ram;               /* host mapping of all guest RAM (memfd offset 0) */
	struct boot_image kernel;
	struct boot_image initrd;   /* size 0: none */
	const char *cmdline;        /* final command line; "" for none */
	unsigned nr_cpus;
};

/*
 * Loads the kernel and everything it needs into guest RAM and fills entry.
 * Returns 0, or -1 with one line in err naming the problem (bad input: the
 * caller exits with status 2).
 */
int loader__load(const struct boot_request *req, struct boot_entry *entry, char *err,
		 size_t errlen);

/* True when the image looks like a Linux kernel (vmlinux ELF or bzImage), not another ELF. */
bool loader__is_linux(const struct boot_image *kernel);

#endif
