/*
 * The zero page shared by every load path: e820 map, command line, initramfs.
 */
#include "boot/bootparams.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "acpi/acpi.h"
#include "boot/layout.h"
#include "util.h"

#define PAGE_SIZE 4096ULL

int boot__err(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || errlen == 0)
		return -1;
	n = snprintf(err, errlen, "%s: ", name && *name ? name : "kernel");
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* One line: never let a file name carry a newline into the message. */
	for (char *p = err; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return -1;
}

void bootparams__describe_ram(const struct memmap *map, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (unsigned i = 0; i < map->nr_regions && i < MEMMAP_MAX_REGIONS && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s0x%" PRIx64 "-0x%" PRIx64, i ? ", " : "",
				 map->regions[i].gpa, map->regions[i].gpa + map->regions[i].size - 1);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

struct boot_params *bootparams__init(const struct boot_request *req, char *err, size_t errlen)
{
	struct e820_range ranges[BP_E820_MAX_ENTRIES];
	struct boot_params *bp;
	unsigned n;

	bp = memmap__ptr(req->map, req->ram, BOOT_PARAMS_ADDR, sizeof(*bp));
	if (!bp) {
		boot__err(err, errlen, req->kernel.name,
			  "guest RAM has no room for the zero page at 0x%llx", BOOT_PARAMS_ADDR);
		return NULL;
	}
	memset(bp, 0, sizeof(*bp));
	n = memmap__e820(req->map, ranges, BP_E820_MAX_ENTRIES);
	for (unsigned i = 0; i < n; i++) {
		bp->e820_table[i].addr = ranges[i].addr;
		bp->e820_table[i].size = ranges[i].size;
		bp->e820_table[i].type = ranges[i].type;
	}
	bp->e820_entries = (uint8_t)n;
	/* The ACPI tables (written by src/devices/acpi_pm.c when the VM is created). */
	bp->acpi_rsdp_addr = ACPI_RSDP_ADDR;
	return bp;
}

void bootparams__elf_header(struct boot_params *bp)
{
	bp->hdr.boot_flag = BP_BOOT_FLAG;
	bp->hdr.header = BP_HDR_MAGIC;
	bp->hdr.version = 0x020f;
	bp->hdr.type_of_loader = BP_LOADER_UNDEFINED;
	bp->hdr.loadflags = BP_LOADED_HIGH;
	bp->hdr.vid_mode = BP_VID_MODE_NORMAL;
	bp->hdr.initrd_addr_max = BP_INITRD_ADDR_MAX_DEFAULT;
	bp->hdr.cmdline_size = BP_LINUX_CMDLINE_MAX;
}

int bootparams__set_cmdline(const struct boot_request *req, struct boot_params *bp,
			    uint64_t max_len, char *err, size_t errlen)
{
	const char *cmdline = req->cmdline ? req->cmdline : "";
	size_t len = strlen(cmdline);
	char *dst;

	if (max_len > BOOT_CMDLINE_MAX - 1)
		max_len = BOOT_CMDLINE_MAX - 1;
	if (len > max_len)
		return boot__err(err, errlen, req->kernel.name,
				 "command line is %zu bytes, the kernel accepts at most %" PRIu64, len,
				 max_len);
	dst = memmap__ptr(req->map, req->ram, BOOT_CMDLINE_ADDR, len + 1);
	if (!dst)
		return boot__err(err, errlen, req->kernel.name,
				 "guest RAM has no room for the command line at 0x%llx",
				 BOOT_CMDLINE_ADDR);
	memcpy(dst, cmdline, len + 1);
	bp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = (uint32_t)(BOOT_CMDLINE_ADDR >> 32);
	return 0;
}

static void describe_size(uint64_t size, char *buf, size_t len)
{
	if (size % MiB == 0)
		snprintf(buf, len, "%" PRIu64 " MiB", (uint64_t)(size / MiB));
	else
		snprintf(buf, len, "%" PRIu64 " bytes", size);
}

int bootparams__place_initrd(const struct boot_request *req, struct boot_params *bp,
			     uint64_t kernel_end, uint64_t addr_max, char *err, size_t errlen)
{
	const char *name = req->initrd.name ? req->initrd.name : "initramfs";
	uint64_t size = req->initrd.size, top, bottom, addr;
	char mem[32];
	void *dst;

	if (size == 0)
		return 0;
	if (!req->initrd.data)
		return boot__err(err, errlen, name, "no data");
	describe_size(req->map->ram_size, mem, sizeof(mem));
	if (size > UINT32_MAX)
		return boot__err(err, errlen, name,
				 "initramfs is %" PRIu64 " bytes, the boot protocol allows at most 4 GiB",
				 size);
	top = memmap__low_end(req->map);
	if (addr_max < UINT64_MAX && top > addr_max + 1)
		top = addr_max + 1;
	top &= ~(PAGE_SIZE - 1);
	bottom = kernel_end < MEMMAP_HIGH_START ? MEMMAP_HIGH_START : kernel_end;
	if (bottom > UINT64_MAX - PAGE_SIZE)
		bottom = UINT64_MAX - PAGE_SIZE;
	bottom = ALIGN_UP(bottom, PAGE_SIZE);
	if (top < bottom || size > top - bottom)
		return boot__err(err, errlen, name,
				 "memory size %s is too small for kernel and initramfs: the initramfs "
				 "(%" PRIu64 " bytes) must fit between the kernel end 0x%" PRIx64
				 " and 0x%" PRIx64,
				 mem, size, bottom, top);
	addr = (top - size) & ~(PAGE_SIZE - 1);
	dst = memmap__ptr(req->map, req->ram, addr, size);
	if (!dst)
		return boot__err(err, errlen, name,
				 "memory size %s is too small for kernel and initramfs", mem);
	memcpy(dst, req->initrd.data, size);
	bp->hdr.ramdisk_image = (uint32_t)addr;
	bp->hdr.ramdisk_size = (uint32_t)size;
	bp->ext_ramdisk_image = (uint32_t)(addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(size >> 32);
	return 0;
}
