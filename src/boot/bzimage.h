/*
 * Linux bzImage through the 64-bit boot protocol (boot protocol 2.12 or
 * later, XLF_KERNEL_64): the protected-mode kernel is copied to its load
 * address and entered at load address + 0x200 in 64-bit mode, with rsi
 * pointing at a zero page whose setup header is copied from the file.
 */
#ifndef VMSCOPE_BOOT_BZIMAGE_H
#define VMSCOPE_BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bootparams.h"
#include "boot/loader.h"

#define BZ_MIN_VERSION      0x020cu           /* 2.12: xloadflags, XLF_KERNEL_64 */
#define BZ_ENTRY64_OFFSET   0x200u
#define BZ_DEFAULT_LOAD     (16ULL << 20)     /* LOAD_PHYSICAL_ADDR of x86-64 kernels */
#define BZ_HEAP_END         0xfe00u           /* heap_end_ptr: setup code's heap, unused on the 64-bit path */
#define BZ_HDR_START        0x1f1u
#define BZ_HDR_COPY_END     0x290u            /* the setup header can grow up to here */

struct bzimage_info {
	uint16_t version;
	uint64_t setup_size;     /* (setup_sects + 1) * 512: where the protected-mode kernel starts */
	uint64_t kernel_size;    /* bytes of protected-mode kernel in the file */
	uint64_t hdr_len;        /* bytes of setup header copied from 0x1f1 */
	uint64_t load_addr;
	uint64_t entry;          /* load_addr + 0x200 */
	uint64_t kernel_end;     /* load_addr + max(init_size, kernel_size) */
	uint64_t cmdline_max;    /* cmdline_size */
	uint64_t initrd_addr_max;
};

/* True when the image carries the "HdrS" setup header magic at 0x202. */
bool bzimage__is_bzimage(const struct boot_image *img);

/*
 * Validates the setup header against the file size and the boot protocol
 * needs, and when map is not NULL chooses the load address and checks that
 * the kernel's init_size fits in RAM there.  Writes nothing.
 */
int bzimage__parse(const struct boot_image *img, const struct memmap *map,
		   struct bzimage_info *info, char *err, size_t errlen);

/*
 * bzimage__parse, then copies the protected-mode kernel to its load address
 * and the setup header into bp->hdr with the loader's fields filled in
 * (command line and initramfs are the caller's, through bootparams__*).
 */
int bzimage__load(const struct boot_request *req, struct boot_params *bp,
		  struct bzimage_info *info, char *err, size_t errlen);

#endif
