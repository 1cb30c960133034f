/*
 * bzImage loader (Documentation/arch/x86/boot.rst, 64-bit boot protocol).
 */
#include "boot/bzimage.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define ERR(...) boot__err(err, errlen, img->name, __VA_ARGS__)

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool bzimage__is_bzimage(const struct boot_image *img)
{
	return img->data && img->size >= BP_OFF(header) + 4 &&
	       rd32(img->data + BP_OFF(header)) == BP_HDR_MAGIC;
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

int bzimage__parse(const struct boot_image *img, const struct memmap *map,
		   struct bzimage_info *info, char *err, size_t errlen)
{
	const uint8_t *data = img->data;
	uint64_t size = img->size, hdr_end, need, addr, align;
	struct setup_header hdr;

	memset(info, 0, sizeof(*info));
	if (!data || size == 0)
		return ERR("empty file");
	if (!bzimage__is_bzimage(img))
		return ERR("not a bzImage (no \"HdrS\" at 0x202)");
	/* The header ends where the 2-byte jump at 0x200 lands: 0x202 + its displacement. */
	if (data[BP_OFF(jump)] != 0xeb)
		return ERR("bad setup header: no short jump at 0x200");
	hdr_end = 0x202u + data[BP_OFF(jump) + 1];
	if (hdr_end > size)
		return ERR("truncated: the setup header ends at 0x%" PRIx64 ", the file has %" PRIu64
			   " bytes", hdr_end, size);
	memset(&hdr, 0, sizeof(hdr));
	memcpy(&hdr, data + BZ_HDR_START,
	       (hdr_end < BZ_HDR_START + sizeof(hdr) ? hdr_end : BZ_HDR_START + sizeof(hdr)) -
		       BZ_HDR_START);
	info->version = hdr.version;
	if (hdr.version < BZ_MIN_VERSION)
		return ERR("boot protocol %u.%02u is too old: 2.12 or later (64-bit entry) is needed",
			   hdr.version >> 8, hdr.version & 0xff);
	if (hdr_end < BP_OFF(init_size) + 4)
		return ERR("setup header ends at 0x%" PRIx64 ", too short for boot protocol %u.%02u",
			   hdr_end, hdr.version >> 8, hdr.version & 0xff);
	if (hdr.boot_flag != BP_BOOT_FLAG)
		return ERR("bad boot_flag 0x%04x (expected 0xaa55)", hdr.boot_flag);
	if (!(hdr.xloadflags & BP_XLF_KERNEL_64))
		return ERR("the kernel has no 64-bit entry point (XLF_KERNEL_64 is not set)");
	if (!(hdr.loadflags & BP_LOADED_HIGH))
		return ERR("a zImage (not LOADED_HIGH) cannot be loaded");
	info->hdr_len = (hdr_end < BZ_HDR_COPY_END ? hdr_end : BZ_HDR_COPY_END) - BZ_HDR_START;

	info->setup_size = ((uint64_t)(hdr.setup_sects ? hdr.setup_sects : 4) + 1) * 512;
	if (info->setup_size >= size)
		return ERR("truncated: the setup code (%" PRIu64 " bytes) leaves no kernel in the file "
			   "(%" PRIu64 " bytes)", info->setup_size, size);
	info->kernel_size = size - info->setup_size;
	if ((uint64_t)hdr.syssize * 16 > info->kernel_size)
		return ERR("truncated: the header says the protected-mode kernel is %" PRIu64
			   " bytes, the file holds %" PRIu64 " after the setup code",
			   (uint64_t)hdr.syssize * 16, info->kernel_size);
	if (hdr.payload_length &&
	    !range_within(hdr.payload_offset, hdr.payload_length, info->kernel_size))
		return ERR("truncated: the compressed payload (offset 0x%x, %u bytes) goes past the "
			   "end of the file", hdr.payload_offset, hdr.payload_length);
	need = hdr.init_size > info->kernel_size ? hdr.init_size : info->kernel_size;

	info->cmdline_max = hdr.cmdline_size;
	info->initrd_addr_max = hdr.initrd_addr_max ? hdr.initrd_addr_max : 0x37ffffff;

	/* Where the kernel goes: its preferred address, else 16 MiB, kernel_alignment-aligned. */
	addr = hdr.pref_address;
	align = hdr.kernel_alignment;
	if (hdr.relocatable_kernel) {
		if (!is_pow2(align) || align > 1 * GiB)
			return ERR("bad kernel_alignment 0x%" PRIx64, align);
		if (addr < MEMMAP_HIGH_START)
			addr = BZ_DEFAULT_LOAD;
		if (addr > UINT64_MAX - align)
			return ERR("bad preferred load address 0x%" PRIx64, addr);
		addr = ALIGN_UP(addr, align);
	} else if (addr < MEMMAP_HIGH_START) {
		return ERR("non-relocatable kernel with preferred address 0x%" PRIx64
			   " below 1 MiB cannot be loaded", addr);
	}
	if (addr + need < addr || addr + need > 4 * GiB)
		return ERR("load address 0x%" PRIx64 " + init_size 0x%" PRIx64 " is beyond 4 GiB", addr,
			   need);
	info->load_addr = addr;
	info->entry = addr + BZ_ENTRY64_OFFSET;
	info->kernel_end = addr + need;

	if (map && (memmap__offset(map, addr, need) < 0 || addr + need > memmap__low_end(map))) {
		char ram[96], mem[32];

		bootparams__describe_ram(map, ram, sizeof(ram));
		if (map->ram_size % MiB == 0)
			snprintf(mem, sizeof(mem), "%" PRIu64 " MiB", (uint64_t)(map->ram_size / MiB));
		else
			snprintf(mem, sizeof(mem), "%" PRIu64 " bytes", map->ram_size);
		return ERR("memory size %s is too small for the kernel: it needs 0x%" PRIx64
			   "-0x%" PRIx64 " (init_size 0x%x) and RAM is %s",
			   mem, addr, addr + need - 1, hdr.init_size, ram);
	}
	return 0;
}

int bzimage__load(const struct boot_request *req, struct boot_params *bp,
		  struct bzimage_info *info, char *err, size_t errlen)
{
	const struct boot_image *img = &req->kernel;
	uint8_t *dst;

	if (bzimage__parse(img, req->map, info, err, errlen) < 0)
		return -1;
	dst = memmap__ptr(req->map, req->ram, info->load_addr, info->kernel_size);
	if (!dst)
		return ERR("load address 0x%" PRIx64 " is outside guest RAM", info->load_addr);
	memcpy(dst, img->data + info->setup_size, info->kernel_size);

	memcpy((uint8_t *)bp + BZ_HDR_START, img->data + BZ_HDR_START, info->hdr_len);
	bp->hdr.type_of_loader = BP_LOADER_UNDEFINED;
	bp->hdr.loadflags |= BP_LOADED_HIGH | BP_CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = BZ_HEAP_END;
	bp->hdr.vid_mode = BP_VID_MODE_NORMAL;
	bp->hdr.code32_start = (uint32_t)info->load_addr;
	bp->hdr.ramdisk_image = 0;
	bp->hdr.ramdisk_size = 0;
	bp->hdr.cmd_line_ptr = 0;
	bp->hdr.setup_data = 0;
	log_debug("%s: bzImage protocol %u.%02u, %" PRIu64 " bytes loaded at 0x%" PRIx64
		  ", 64-bit entry 0x%" PRIx64, img->name, info->version >> 8, info->version & 0xff,
		  info->kernel_size, info->load_addr, info->entry);
	return 0;
}
