/*
 * loader__load: tells an ELF from a bzImage, loads it, then writes what
 * every guest gets: the zero page (e820 map, command line, initramfs) at
 * BOOT_PARAMS_ADDR and the MP table.
 *
 * Order: the kernel image is validated and loaded first, then the zero page
 * is filled; nothing below 1 MiB belongs to the kernel (the ELF loader
 * refuses segments there, a bzImage is never loaded there).
 */
#include "boot/loader.h"

#include <inttypes.h>
#include <string.h>

#include "boot/bootparams.h"
#include "boot/bzimage.h"
#include "boot/elf.h"
#include "boot/layout.h"
#include "boot/mptable.h"
#include "log.h"

bool loader__is_linux(const struct boot_image *kernel)
{
	if (!kernel || !kernel->data || kernel->size == 0)
		return false;
	if (elf__is_elf(kernel))
		return elf__is_linux(kernel);
	return bzimage__is_bzimage(kernel);
}

static int load_elf(const struct boot_request *req, struct boot_entry *entry,
		    struct boot_params *bp, char *err, size_t errlen)
{
	struct elf_info info;
	bool is_linux;

	if (elf__load(req, &info, err, errlen) < 0)
		return -1;
	is_linux = info.linux_note || elf__is_linux(&req->kernel);
	bootparams__elf_header(bp);
	if (bootparams__set_cmdline(req, bp, is_linux ? BP_LINUX_CMDLINE_MAX : BOOT_CMDLINE_MAX - 1,
				    err, errlen) < 0)
		return -1;
	if (bootparams__place_initrd(req, bp, info.kernel_end, BP_INITRD_ADDR_MAX_DEFAULT, err,
				     errlen) < 0)
		return -1;
	entry->rip = info.entry;
	entry->aps_start_at_entry = info.aps_start_at_entry;
	entry->is_linux = is_linux;
	log_debug("%s: ELF%s, entry 0x%" PRIx64 "%s", req->kernel.name,
		  is_linux ? " (Linux vmlinux)" : "", info.entry,
		  info.aps_start_at_entry ? ", all vCPUs start at the entry" : "");
	return 0;
}

static int load_bzimage(const struct boot_request *req, struct boot_entry *entry,
			struct boot_params *bp, char *err, size_t errlen)
{
	struct bzimage_info info;

	if (bzimage__load(req, bp, &info, err, errlen) < 0)
		return -1;
	if (bootparams__set_cmdline(req, bp, info.cmdline_max, err, errlen) < 0)
		return -1;
	if (bootparams__place_initrd(req, bp, info.kernel_end, info.initrd_addr_max, err, errlen) < 0)
		return -1;
	entry->rip = info.entry;
	entry->is_linux = true;
	return 0;
}

int loader__load(const struct boot_request *req, struct boot_entry *entry, char *err,
		 size_t errlen)
{
	const struct boot_image *k = &req->kernel;
	struct boot_params *bp;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	memset(entry, 0, sizeof(*entry));
	if (!req->map || !req->ram)
		return boot__err(err, errlen, k->name, "no guest RAM");
	if (!k->data || k->size == 0)
		return boot__err(err, errlen, k->name, "empty file");
	if (req->nr_cpus == 0 || req->nr_cpus > MPTABLE_MAX_CPUS)
		return boot__err(err, errlen, k->name, "%u vCPUs: 1 to %u are supported", req->nr_cpus,
				 MPTABLE_MAX_CPUS);
	if (req->initrd.size && !req->initrd.data)
		return boot__err(err, errlen, req->initrd.name, "no data");

	if (!elf__is_elf(k) && !bzimage__is_bzimage(k)) {
		if (k->size < 4 && memcmp(k->data, "\x7f" "ELF", k->size) == 0)
			return boot__err(err, errlen, k->name, "truncated ELF header (%zu bytes)",
					 k->size);
		return boot__err(err, errlen, k->name,
				 "not an ELF or bzImage kernel (%zu bytes, no ELF magic, no \"HdrS\" "
				 "at 0x202)", k->size);
	}

	bp = bootparams__init(req, err, errlen);
	if (!bp)
		return -1;
	if (elf__is_elf(k))
		ret = load_elf(req, entry, bp, err, errlen);
	else
		ret = load_bzimage(req, entry, bp, err, errlen);
	if (ret < 0)
		return -1;
	if (mptable__write(req->map, req->ram, req->nr_cpus, k->name, err, errlen) < 0)
		return -1;
	entry->rsi = BOOT_PARAMS_ADDR;
	return 0;
}
